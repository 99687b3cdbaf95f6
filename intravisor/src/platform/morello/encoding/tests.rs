//! Every encoded example of FACTS §2 (the ✓ ones verified against the Morello generated
//! tests, and the others built from the templates) and every word of FACTS Appendix B
//! (seen executing on a Morello QEMU), plus the compile-time range checks.

use super::*;

/// Capability register `index`.
const fn c(index: u8) -> C {
    C::new(index)
}

/// General-purpose register `index`.
const fn x(index: u8) -> X {
    X::new(index)
}

/// Asserts each (encoded, expected, assembler text) row.
fn assert_words(rows: &[(u32, u32, &str)]) {
    for &(encoded, expected, text) in rows {
        assert_eq!(encoded, expected, "`{text}`: encoded {encoded:#010x}, FACTS says {expected:#010x}");
    }
}

#[test]
fn capability_system_registers_match_facts_2_2() {
    use CapabilityRegister as R;
    assert_words(&[
        (mrs(c(0), R::Ddc), 0xC29B4120, "mrs c0, DDC"),
        (msr(R::Ddc, c(0)), 0xC28B4120, "msr DDC, c0"),
        (msr(R::Ddc, c(19)), 0xC28B4133, "msr DDC, c19 ✓"),
        (msr(R::Ddc, c(2)), 0xC28B4122, "msr DDC, c2"),
        (msr(R::DdcEl0, c(1)), 0xC2884121, "msr DDC_EL0, c1"),
        (msr(R::DdcEl1, c(1)), 0xC28C4121, "msr DDC_EL1, c1"),
        (msr(R::DdcEl2, c(1)), 0xC28E4121, "msr DDC_EL2, c1"),
        (msr(R::RddcEl0, c(1)), 0xC28B4321, "msr RDDC_EL0, c1"),
        (msr(R::CtpidrEl0, c(2)), 0xC28BD042, "msr CTPIDR_EL0, c2"),
        (mrs(c(2), R::CtpidrEl0), 0xC29BD042, "mrs c2, CTPIDR_EL0"),
        (msr(R::CtpidrEl0, c(6)), 0xC28BD046, "msr CTPIDR_EL0, c6"),
        (msr(R::CtpidrEl1, c(2)), 0xC288D082, "msr CTPIDR_EL1, c2"),
        (msr(R::CidEl0, c(3)), 0xC28BD0E3, "msr CID_EL0, c3"),
        (mrs(c(3), R::CidEl0), 0xC29BD0E3, "mrs c3, CID_EL0"),
        (msr(R::CelrEl1, c(30)), 0xC288403E, "msr CELR_EL1, c30"),
        (mrs(c(30), R::CelrEl1), 0xC298403E, "mrs c30, CELR_EL1"),
        (msr(R::CelrEl2, c(30)), 0xC28C403E, "msr CELR_EL2, c30"),
        (msr(R::CvbarEl1, c(1)), 0xC288C001, "msr CVBAR_EL1, c1 ✓"),
        (msr(R::CvbarEl2, c(1)), 0xC28CC001, "msr CVBAR_EL2, c1"),
        (msr(R::CvbarEl3, c(1)), 0xC28EC001, "msr CVBAR_EL3, c1 ✓"),
        (mrs(c(1), R::CspEl0), 0xC2984101, "mrs c1, CSP_EL0"),
        (msr(R::CspEl1, c(1)), 0xC28C4101, "msr CSP_EL1, c1"),
        (msr(R::RcspEl0, c(1)), 0xC28F4161, "msr RCSP_EL0, c1"),
        (msr(R::RctpidrEl0, c(1)), 0xC28BD081, "msr RCTPIDR_EL0, c1"),
    ]);
}

#[test]
fn every_capability_register_has_the_tuple_of_facts_2_2() {
    use CapabilityRegister as R;
    let table: [(R, [u8; 5]); 26] = [
        (R::Ddc, [3, 3, 4, 1, 1]),
        (R::DdcEl0, [3, 0, 4, 1, 1]),
        (R::DdcEl1, [3, 4, 4, 1, 1]),
        (R::DdcEl2, [3, 6, 4, 1, 1]),
        (R::RddcEl0, [3, 3, 4, 3, 1]),
        (R::CspEl0, [3, 0, 4, 1, 0]),
        (R::CspEl1, [3, 4, 4, 1, 0]),
        (R::CspEl2, [3, 6, 4, 1, 0]),
        (R::RcspEl0, [3, 7, 4, 1, 3]),
        (R::CelrEl1, [3, 0, 4, 0, 1]),
        (R::CelrEl2, [3, 4, 4, 0, 1]),
        (R::CelrEl3, [3, 6, 4, 0, 1]),
        (R::CelrEl12, [3, 5, 4, 0, 1]),
        (R::CvbarEl1, [3, 0, 12, 0, 0]),
        (R::CvbarEl2, [3, 4, 12, 0, 0]),
        (R::CvbarEl3, [3, 6, 12, 0, 0]),
        (R::CvbarEl12, [3, 5, 12, 0, 0]),
        (R::CtpidrEl0, [3, 3, 13, 0, 2]),
        (R::CtpidrroEl0, [3, 3, 13, 0, 3]),
        (R::RctpidrEl0, [3, 3, 13, 0, 4]),
        (R::CtpidrEl1, [3, 0, 13, 0, 4]),
        (R::CtpidrEl2, [3, 4, 13, 0, 2]),
        (R::CtpidrEl3, [3, 6, 13, 0, 2]),
        (R::CidEl0, [3, 3, 13, 0, 7]),
        (R::CdlrEl0, [3, 3, 4, 5, 1]),
        (R::CdbgdtrEl0, [2, 3, 0, 4, 0]),
    ];
    for (register, [op0, op1, crn, crm, op2]) in table {
        let encoding = register.encoding();
        assert_eq!(encoding, SystemRegisterEncoding { op0, op1, crn, crm, op2 }, "{}", register.name());
        assert_eq!(
            CapabilityRegister::from_encoding(encoding),
            Some(register),
            "unique: {}",
            register.name()
        );
    }
    assert_eq!(table.map(|(register, _)| register), CapabilityRegister::ALL);
    // op0 = 2 clears o0 (bit 19): CDBGDTR_EL0 is the only register that shows it.
    assert_eq!(msr(R::CdbgdtrEl0, c(0)) & (1 << 19), 0);
}

#[test]
fn control_registers_match_facts_2_2() {
    use ControlRegister as R;
    assert_words(&[
        (msr_control(R::CctlrEl0, x(0)), 0xD51B1240, "msr CCTLR_EL0, x0"),
        (mrs_control(x(0), R::CctlrEl0), 0xD53B1240, "mrs x0, CCTLR_EL0"),
        (msr_control(R::CctlrEl1, x(0)), 0xD5181240, "msr CCTLR_EL1, x0"),
        (mrs_control(x(0), R::CctlrEl1), 0xD5381240, "mrs x0, CCTLR_EL1"),
        (msr_control(R::CctlrEl2, x(0)), 0xD51C1240, "msr CCTLR_EL2, x0"),
        (mrs_control(x(0), R::CctlrEl2), 0xD53C1240, "mrs x0, CCTLR_EL2"),
        (msr_control(R::CctlrEl3, x(0)), 0xD51E1240, "msr CCTLR_EL3, x0"),
        (mrs_control(x(0), R::CctlrEl3), 0xD53E1240, "mrs x0, CCTLR_EL3"),
        (msr_control(R::ChcrEl2, x(0)), 0xD51C1260, "msr CHCR_EL2, x0"),
        (mrs_control(x(0), R::ChcrEl2), 0xD53C1260, "mrs x0, CHCR_EL2"),
        (msr_control(R::CscrEl3, x(0)), 0xD51E1260, "msr CSCR_EL3, x0"),
        (mrs_control(x(0), R::CscrEl3), 0xD53E1260, "mrs x0, CSCR_EL3"),
    ]);
    assert_eq!(R::CctlrEl12.encoding(), SystemRegisterEncoding::new(3, 5, 1, 2, 2));
    for register in R::ALL {
        assert_eq!(R::from_encoding(register.encoding()), Some(register), "{}", register.name());
    }
}

#[test]
fn bounds_value_and_permission_instructions_match_facts_2_3() {
    assert_words(&[
        (scbnds(c(0), c(1), x(2)), 0xC2C20020, "scbnds c0, c1, x2"),
        (scbndse(c(0), c(1), x(2)), 0xC2C22020, "scbndse c0, c1, x2"),
        (scbnds_immediate(c(0), c(1), 16), 0xC2C83820, "scbnds c0, c1, #16"),
        (scbnds_immediate(c(2), c(22), 60 * 16), 0xC2DE7AC2, "scbnds c2, c22, #60, lsl #4 ✓"),
        (scvalue(c(1), c(1), x(0)), 0xC2C04021, "scvalue c1, c1, x0 ✓"),
        (scvalue(c(2), c(16), x(16)), 0xC2D04202, "scvalue c2, c16, x16 ✓"),
        (scoff(c(0), c(1), x(2)), 0xC2C26020, "scoff c0, c1, x2"),
        (clrperm(c(1), c(15), x(7)), 0xC2C7A1E1, "clrperm c1, c15, x7 ✓"),
        (clrperm_immediate(c(0), c(1), RwxPermissions::EXECUTE), 0xC2C63020, "clrperm c0, c1, x"),
        (clrperm_immediate(c(0), c(1), RwxPermissions::ALL), 0xC2C6F020, "clrperm c0, c1, rwx"),
        (cthi(c(0), c(1), x(2)), 0xC2C2E820, "cthi c0, c1, x2"),
        (scflgs(c(0), c(1), x(2)), 0xC2C2E020, "scflgs c0, c1, x2"),
        (sctag(c(3), c(3), x(1)), 0xC2C18063, "sctag c3, c3, x1 ✓"),
        (clrtag(c(0), c(1)), 0xC2C19020, "clrtag c0, c1"),
        (mov(C::CSP, c(0)), 0xC2C1D01F, "mov csp, c0 ✓"),
        (cpy(c(0), C::CSP), 0xC2C1D3E0, "mov c0, csp"),
        (add_immediate(c(0), c(1), 16), 0x02004020, "add c0, c1, #16"),
        (add_immediate(C::CSP, C::CSP, 256), 0x020403FF, "add csp, csp, #256"),
        (sub_immediate(c(0), c(1), 16), 0x02804020, "sub c0, c1, #16"),
        (add_extended(c(0), c(1), x(2), Extend::Uxtx, 0), 0xC2A26020, "add c0, c1, x2, uxtx"),
        (alignd(c(0), c(1), 4), 0xC2C21820, "alignd c0, c1, #4"),
        (rrlen(x(0), x(1)), 0xC2C71020, "rrlen x0, x1"),
        (rrmask(x(0), x(1)), 0xC2C73020, "rrmask x0, x1"),
        (subs(x(0), c(1), c(2)), 0xC2E29820, "subs x0, c1, c2"),
        (csel(c(0), c(1), c(2), Condition::Equal), 0xC2C20C20, "csel c0, c1, c2, eq"),
    ]);
    // Shifted immediates and the fields the examples leave at zero.
    assert_eq!(add_immediate(c(0), c(1), 0x3000), 0x02400C20, "add c0, c1, #3, lsl #12");
    assert_eq!(cmp(c(1), c(2)), subs(X::ZR, c(1), c(2)));
    assert_eq!(alignu(c(0), c(1), 4), 0xC2C25820, "alignu c0, c1, #4");
    let read_write = RwxPermissions::READ.union(RwxPermissions::WRITE);
    assert_eq!(clrperm_immediate(c(0), c(1), read_write), 0xC2C6D020, "clrperm c0, c1, rw");
    assert_eq!(csel(c(0), c(1), c(2), Condition::Always), 0xC2C2EC20, "csel c0, c1, c2, al");
}

#[test]
fn queries_match_facts_2_3() {
    assert_words(&[
        (gcbase(x(0), c(1)), 0xC2C01020, "gcbase x0, c1"),
        (gclen(x(0), c(1)), 0xC2C03020, "gclen x0, c1"),
        (gcvalue(x(0), c(1)), 0xC2C05020, "gcvalue x0, c1"),
        (gcoff(x(0), c(1)), 0xC2C07020, "gcoff x0, c1"),
        (gctag(x(2), c(2)), 0xC2C09042, "gctag x2, c2 ✓"),
        (gcseal(x(28), c(1)), 0xC2C0B03C, "gcseal x28, c1 ✓"),
        (gcperm(x(0), c(1)), 0xC2C0D020, "gcperm x0, c1"),
        (gctype(x(0), c(1)), 0xC2C0F020, "gctype x0, c1"),
        (gclim(x(0), c(1)), 0xC2C11020, "gclim x0, c1"),
        (gcflgs(x(0), c(1)), 0xC2C13020, "gcflgs x0, c1"),
        (cfhi(x(0), c(1)), 0xC2C15020, "cfhi x0, c1"),
    ]);
}

#[test]
fn sealing_and_checks_match_facts_2_4() {
    assert_words(&[
        (seal(c(0), c(1), c(2)), 0xC2C20820, "seal c0, c1, c2"),
        (seal_immediate(c(0), c(1), SealForm::RestrictedBranch), 0xC2C33020, "seal c0, c1, rb"),
        (seal_immediate(c(0), c(1), SealForm::LoadPairBranch), 0xC2C35020, "seal c0, c1, lpb"),
        (seal_immediate(c(0), c(1), SealForm::LoadBranch), 0xC2C37020, "seal c0, c1, lb"),
        (unseal(c(0), c(1), c(2)), 0xC2C24820, "unseal c0, c1, c2"),
        (cseal(c(0), c(1), c(2)), 0xC2C24420, "cseal c0, c1, c2"),
        (cpytype(c(0), c(1), c(2)), 0xC2C22420, "cpytype c0, c1, c2"),
        (cpyvalue(c(0), c(1), c(2)), 0xC2C26420, "cpyvalue c0, c1, c2"),
        (build(c(0), c(1), c(2)), 0xC2C20420, "build c0, c1, c2"),
        (chkssu(c(0), c(1), c(2)), 0xC2C28820, "chkssu c0, c1, c2"),
        (chkss(c(1), c(2)), 0xC2C28421, "chkss c1, c2"),
        (chkeq(c(1), c(2)), 0xC2C2A421, "chkeq c1, c2"),
        (chktgd(c(3)), 0xC2C23061, "chktgd c3 ✓"),
        (chksld(c(3)), 0xC2C21061, "chksld c3"),
    ]);
}

#[test]
fn branches_match_facts_2_5() {
    assert_words(&[
        (br(c(9)), 0xC2C21120, "br c9 ✓"),
        (blr(c(0)), 0xC2C23000, "blr c0 ✓"),
        (blr(c(1)), 0xC2C23020, "blr c1"),
        (ret(C::LINK), 0xC2C253C0, "ret c30 ✓"),
        (brr(c(1)), 0xC2C21023, "brr c1"),
        (blrr(c(1)), 0xC2C23023, "blrr c1"),
        (retr(c(0)), 0xC2C25003, "retr c0 ✓"),
        (brs(c(0)), 0xC2C21002, "brs c0 ✓"),
        (blrs(c(1)), 0xC2C23022, "blrs c1 ✓"),
        (brs_sealed_pair(c(1), c(2)), 0xC2C28420, "brs c29, c1, c2"),
        (blrs_sealed_pair(c(0), c(1)), 0xC2C1A400, "blrs c29, c0, c1 ✓"),
        (blrs_sealed_pair(c(22), c(23)), 0xC2D7A6C0, "blrs c29, c22, c23"),
        (rets_sealed_pair(c(1), c(2)), 0xC2C2C420, "rets c29, c1, c2"),
        (ldpbr(C::SEALED_PAIR_DATA, c(1)), 0xC2C4103D, "ldpbr c29, [c1]"),
        (ldpblr(C::SEALED_PAIR_DATA, c(1)), 0xC2C4303D, "ldpblr c29, [c1]"),
        (br_loaded(c(1), 32), 0xC2D05020, "br [c1, #32]"),
        (blr_loaded(c(1), 0), 0xC2D01021, "blr [c1, #0]"),
        (bx_4(), 0xC2C273E0, "bx #4 ✓"),
    ]);
    assert_eq!(rets(c(0)), 0xC2C25002, "rets c0");
    assert_eq!(br_loaded(c(1), -16), 0xC2DFF020, "br [c1, #-16]");
}

#[test]
fn loads_and_stores_match_facts_2_6() {
    assert_words(&[
        (ldr_capability(c(3), x(2), 0), 0xC2400043, "ldr c3, [x2, #0] ✓"),
        (ldr_capability(c(2), x(1), 32), 0xC2400822, "ldr c2, [x1, #32]"),
        // The same word is `ldr c0, [c0, #880]` in C64 (lld tests).
        (ldr_capability(c(0), x(0), 880), 0xC240DC00, "ldr c0, [c0, #880]"),
        (str_capability(c(3), x(2), 0), 0xC2000043, "str c3, [x2, #0] ✓"),
        (str_capability(c(0), X::SP, 32), 0xC2000BE0, "str c0, [sp, #32]"),
        (ldur_capability(c(0), x(1), -16), 0xA25F0020, "ldur c0, [x1, #-16]"),
        (ldp_capability(c(0), c(1), x(2), 32), 0x42C10440, "ldp c0, c1, [x2, #32]"),
        (stp_capability_pre_index(c(29), c(30), X::SP, -32), 0x62BF7BFD, "stp c29, c30, [sp, #-32]!"),
        (ldp_capability_post_index(c(29), c(30), X::SP, 32), 0x22C17BFD, "ldp c29, c30, [sp], #32"),
        (ldr_capability_alternate_base(c(0), c(1), 16), 0x82601020, "ldr c0, [c1, #16]"),
        (str_capability_alternate_base(c(0), c(1), 16), 0x82401020, "str c0, [c1, #16]"),
        (ldr_x_alternate_base(x(4), c(9), 0), 0x82600D24, "ldr x4, [c9]"),
        (str_x_alternate_base(x(4), c(9), 0), 0x82400D24, "str x4, [c9]"),
        (ldct(x(0), x(1)), 0xC2C4B020, "ldct x0, [x1]"),
        (stct(x(0), x(1)), 0xC2C49020, "stct x0, [x1]"),
    ]);
    // The forms with a template but no example: the fields at their documented places.
    assert_eq!(ldr_capability_pre_index(c(0), X::SP, -16), 0xA25FFFE0, "ldr c0, [sp, #-16]!");
    assert_eq!(str_capability_pre_index(c(0), X::SP, -16), 0xA21FFFE0, "str c0, [sp, #-16]!");
    assert_eq!(ldr_capability_post_index(c(0), X::SP, 16), 0xA24017E0, "ldr c0, [sp], #16");
    assert_eq!(str_capability_post_index(c(0), X::SP, 16), 0xA20017E0, "str c0, [sp], #16");
    assert_eq!(stur_capability(c(0), x(1), 255), 0xA20FF020, "stur c0, [x1, #255]");
    assert_eq!(stp_capability(c(0), c(1), x(2), -1024), 0x42A00440, "stp c0, c1, [x2, #-1024]");
    assert_eq!(ldp_capability_pre_index(c(0), c(1), X::SP, 1008), 0x62DF87E0, "ldp c0, c1, [sp, #1008]!");
    assert_eq!(stp_capability_post_index(c(0), c(1), X::SP, 16), 0x228087E0, "stp c0, c1, [sp], #16");
    assert_eq!(ldr_capability(c(0), x(1), 65520), 0xC27FFC20, "ldr c0, [x1, #65520]");
    assert_eq!(ldr_x_alternate_base(x(0), c(1), 4088), 0x827FFC20, "ldr x0, [c1, #4088]");
}

#[test]
fn conversions_match_facts_2_7() {
    assert_words(&[
        (cvtp_from_address(c(1), x(0)), 0xC2C5B001, "cvtp c1, x0 ✓"),
        (cvtd_from_address(c(1), x(0)), 0xC2C59001, "cvtd c1, x0"),
        (cvtpz_from_address(c(1), x(0)), 0xC2C5F001, "cvtpz c1, x0 ✓"),
        (cvtdz_from_address(c(1), x(0)), 0xC2C5D001, "cvtdz c1, x0 ✓"),
        (cvt_from_address(c(4), c(2), x(2)), 0xC2E21844, "cvt c4, c2, x2 ✓"),
        (cvtp_to_address(x(5), c(27)), 0xC2C53365, "cvtp x5, c27 ✓"),
        (cvtd_to_address(x(0), c(1)), 0xC2C51020, "cvtd x0, c1"),
        (cvt_to_address(x(0), c(1), c(2)), 0xC2C2C020, "cvt x0, c1, c2"),
    ]);
    assert_eq!(cvtz_from_address(c(4), c(2), x(2)), 0xC2E25844, "cvtz c4, c2, x2");
}

#[test]
fn appendix_b_words_seen_on_qemu() {
    use CapabilityRegister as R;
    assert_words(&[
        (mrs(c(0), R::Ddc), 0xC29B4120, "mrs c0, ddc"),
        (msr(R::CvbarEl1, c(1)), 0xC288C001, "msr CVBAR_EL1, c1"),
        (msr(R::CvbarEl2, c(1)), 0xC28CC001, "msr CVBAR_EL2, c1"),
        (msr(R::CvbarEl3, c(1)), 0xC28EC001, "msr CVBAR_EL3, c1"),
        (gcbase(x(2), c(0)), 0xC2C01002, "gcbase x2, c0"),
        (cvtp_from_address(c(8), x(9)), 0xC2C5B128, "cvtp c8, x9"),
        (scvalue(c(12), c(0), x(9)), 0xC2C9400C, "scvalue c12, c0, x9"),
        (scbnds(c(0), c(0), x(10)), 0xC2CA0000, "scbnds c0, c0, x10"),
        (scbnds_immediate(c(12), c(12), 16), 0xC2C8398C, "scbnds c12, c12, #16"),
    ]);
    // The templates, over every register number.
    type Query = fn(X, C) -> u32;
    let queries: [(Query, u32); 8] = [
        (gcbase, 0xC2C01000),
        (gclen, 0xC2C03000),
        (gcvalue, 0xC2C05000),
        (gcoff, 0xC2C07000),
        (gctag, 0xC2C09000),
        (gcseal, 0xC2C0B000),
        (gcperm, 0xC2C0D000),
        (gctype, 0xC2C0F000),
    ];
    for t in 0..32u32 {
        let (ct, xt) = (C::new(t as u8), X::new(t as u8));
        let (n, m, d) = (t, 31 - t, (t + 7) % 32);
        let (cn, cd, xm) = (C::new(n as u8), C::new(d as u8), X::new(m as u8));
        assert_eq!(mrs(ct, R::Ddc), 0xC29B4120 | t);
        assert_eq!(msr(R::Ddc, ct), 0xC28B4120 | t);
        for (query, template) in queries {
            assert_eq!(query(X::new(d as u8), cn), template | (n << 5) | d);
        }
        assert_eq!(cvtp_from_address(cd, X::new(n as u8)), 0xC2C5B000 | (n << 5) | d);
        assert_eq!(scvalue(cd, cn, xm), 0xC2C04000 | (m << 16) | (n << 5) | d);
        assert_eq!(scbnds(cd, cn, xm), 0xC2C00000 | (m << 16) | (n << 5) | d);
        assert_eq!(scbnds_immediate(cd, cn, m & 63), 0xC2C03800 | ((m & 63) << 15) | (n << 5) | d);
        assert_eq!(clrtag(cd, cn), 0xC2C19000 | (n << 5) | d);
        let offset = 8 * (m * 16 + 3);
        assert_eq!(str_x_alternate_base(xt, cn, offset), 0x82400C00 | ((offset / 8) << 12) | (n << 5) | t);
        assert_eq!(ldr_x_alternate_base(xt, cn, offset), 0x82600C00 | ((offset / 8) << 12) | (n << 5) | t);
        assert_eq!(str_capability_alternate_base(ct, cn, 0), 0x82400000 | (n << 5) | t);
        assert_eq!(ldr_capability_alternate_base(ct, cn, 0), 0x82600000 | (n << 5) | t);
    }
}

#[test]
fn encoders_are_usable_as_constants() {
    const INSTALL_DDC: u32 = msr(CapabilityRegister::Ddc, C::new(2));
    const CALL: u32 = blrs_sealed_pair(C::new(0), C::new(1));
    assert_eq!((INSTALL_DDC, CALL), (0xC28B4122, 0xC2C1A400));
}

/// Calls `encode` with run-time operands and says whether it panicked.
fn panics(encode: impl FnOnce() -> u32 + std::panic::UnwindSafe) -> bool {
    std::panic::catch_unwind(encode).is_err()
}

#[test]
fn out_of_range_operands_are_rejected() {
    use std::hint::black_box as value;
    assert!(panics(|| C::new(value(32)).index() as u32));
    assert!(panics(|| X::new(value(255)).index() as u32));
    assert!(panics(|| scbnds_immediate(c(0), c(1), value(65))));
    assert!(panics(|| scbnds_immediate(c(0), c(1), value(1024))));
    assert!(panics(|| add_immediate(c(0), c(1), value(4097))));
    assert!(panics(|| sub_immediate(c(0), c(1), value(1 << 24))));
    assert!(panics(|| add_extended(c(0), c(1), x(2), Extend::Uxtx, value(5))));
    assert!(panics(|| alignd(c(0), c(1), value(64))));
    assert!(panics(|| ldr_capability(c(0), x(1), value(8))));
    assert!(panics(|| ldr_capability(c(0), x(1), value(65536))));
    assert!(panics(|| str_capability_pre_index(c(0), X::SP, value(-4112))));
    assert!(panics(|| ldur_capability(c(0), x(1), value(256))));
    assert!(panics(|| ldp_capability(c(0), c(1), x(2), value(1024))));
    assert!(panics(|| ldp_capability(c(0), c(1), x(2), value(24))));
    assert!(panics(|| ldr_capability_alternate_base(c(0), c(1), value(8192))));
    assert!(panics(|| str_x_alternate_base(x(0), c(1), value(4))));
    assert!(panics(|| br_loaded(c(1), value(1024))));
    assert!(panics(|| SystemRegisterEncoding::new(value(1), 0, 0, 0, 0).fields()));
    // Constrained-unpredictable combinations.
    assert!(panics(|| ldp_capability(c(3), c(3), x(2), value(0))));
    assert!(panics(|| ldr_capability_post_index(c(2), x(2), value(16))));
    assert!(panics(|| stp_capability_pre_index(c(0), c(2), x(2), value(-32))));
    // The limits themselves are accepted.
    assert!(!panics(|| scbnds_immediate(c(0), c(1), value(1008))));
    assert!(!panics(|| add_immediate(c(0), c(1), value(4095 << 12))));
    assert!(!panics(|| str_capability_pre_index(c(0), X::SP, value(-4096))));
    assert!(!panics(|| ldur_capability(c(0), x(1), value(-256))));
    assert!(!panics(|| br_loaded(c(1), value(-1024))));
    assert!(!panics(|| stp_capability_pre_index(c(0), c(1), X::SP, value(-32))));
}
