//! Decodes every encoder's words back with the mask/value rows of FACTS Appendix A (the
//! Sail decode clauses): each word must select exactly the form it was meant to be, and
//! none of its neighbours: in particular not the forms the FACTS §2.5 "decoder pitfall"
//! says share its opcode space (BRS/CHKSS, BLRS/CHKEQ, BR/CHKSLD, BLR/CHKTGD, and the
//! BR/BRS/BRR families that differ only in bits 4:0).

use super::*;

/// One row of Appendix A: `word & mask == value` selects the form.
struct Form {
    name: &'static str,
    value: u32,
    mask: u32,
}

/// Shorthand for a row.
const fn form(name: &'static str, value: u32, mask: u32) -> Form {
    Form { name, value, mask }
}

/// The rows of Appendix A for the encoded forms and their neighbours, plus the two base
/// A64 system-register moves of FACTS §2.2 (not Morello-specific, so not in Appendix A).
const FORMS: &[Form] = &[
    form("MRS_C_I_C", 0xC2900000, 0xFFF00000),
    form("MSR_C_I_C", 0xC2800000, 0xFFF00000),
    form("A64 MRS (register)", 0xD5300000, 0xFFF00000),
    form("A64 MSR (register)", 0xD5100000, 0xFFF00000),
    form("ADD_C_CIS_C", 0x02000000, 0xFF800000),
    form("SUB_C_CIS_C", 0x02800000, 0xFF800000),
    form("ADD_C_CRI_C", 0xC2A00000, 0xFFE00000),
    form("ALIGND_C_CI_C", 0xC2C01800, 0xFFE07C00),
    form("ALIGNU_C_CI_C", 0xC2C05800, 0xFFE07C00),
    form("SCBNDS_C_CR_C", 0xC2C00000, 0xFFE0FC00),
    form("SCBNDSE_C_CR_C", 0xC2C02000, 0xFFE0FC00),
    form("SCBNDS_C_CI_C", 0xC2C03800, 0xFFE07C00),
    form("SCBNDS_C_CI_S", 0xC2C07800, 0xFFE07C00),
    form("SCVALUE_C_CR_C", 0xC2C04000, 0xFFE0FC00),
    form("SCOFF_C_CR_C", 0xC2C06000, 0xFFE0FC00),
    form("SCTAG_C_CR_C", 0xC2C08000, 0xFFE0FC00),
    form("SCFLGS_C_CR_C", 0xC2C0E000, 0xFFE0FC00),
    form("CTHI_C_CR_C", 0xC2C0E800, 0xFFE0FC00),
    form("CLRPERM_C_CR_C", 0xC2C0A000, 0xFFE0FC00),
    form("CLRPERM_C_CI_C", 0xC2C61000, 0xFFFF1C00),
    form("CLRTAG_C_C_C", 0xC2C19000, 0xFFFFFC00),
    form("CPY_C_C_C", 0xC2C1D000, 0xFFFFFC00),
    form("GCBASE_R_C_C", 0xC2C01000, 0xFFFFFC00),
    form("GCLEN_R_C_C", 0xC2C03000, 0xFFFFFC00),
    form("GCVALUE_R_C_C", 0xC2C05000, 0xFFFFFC00),
    form("GCOFF_R_C_C", 0xC2C07000, 0xFFFFFC00),
    form("GCTAG_R_C_C", 0xC2C09000, 0xFFFFFC00),
    form("GCSEAL_R_C_C", 0xC2C0B000, 0xFFFFFC00),
    form("GCPERM_R_C_C", 0xC2C0D000, 0xFFFFFC00),
    form("GCTYPE_R_C_C", 0xC2C0F000, 0xFFFFFC00),
    form("GCLIM_R_C_C", 0xC2C11000, 0xFFFFFC00),
    form("GCFLGS_R_C_C", 0xC2C13000, 0xFFFFFC00),
    form("CFHI_R_C_C", 0xC2C15000, 0xFFFFFC00),
    form("RRLEN_R_R_C", 0xC2C71000, 0xFFFFFC00),
    form("RRMASK_R_R_C", 0xC2C73000, 0xFFFFFC00),
    form("SUBS_R_CC_C", 0xC2E09800, 0xFFE0FC00),
    form("CSEL_C_CI_C", 0xC2C00C00, 0xFFE00C00),
    form("SEAL_C_CC_C", 0xC2C00800, 0xFFE0FC00),
    form("SEAL_C_CI_C", 0xC2C31000, 0xFFFF9C00),
    form("UNSEAL_C_CC_C", 0xC2C04800, 0xFFE0FC00),
    form("CSEAL_C_C_C", 0xC2C04400, 0xFFE0FC00),
    form("CPYTYPE_C_C_C", 0xC2C02400, 0xFFE0FC00),
    form("CPYVALUE_C_C_C", 0xC2C06400, 0xFFE0FC00),
    form("BUILD_C_C_C", 0xC2C00400, 0xFFE0FC00),
    form("CHKSSU_C_CC_C", 0xC2C08800, 0xFFE0FC00),
    form("CHKSS___CC_C", 0xC2C08401, 0xFFE0FC1F),
    form("CHKEQ___CC_C", 0xC2C0A401, 0xFFE0FC1F),
    form("CHKSLD_C_C", 0xC2C21001, 0xFFFFFC1F),
    form("CHKTGD_C_C", 0xC2C23001, 0xFFFFFC1F),
    form("CVTP_C_R_C", 0xC2C5B000, 0xFFFFFC00),
    form("CVTD_C_R_C", 0xC2C59000, 0xFFFFFC00),
    form("CVTPZ_C_R_C", 0xC2C5F000, 0xFFFFFC00),
    form("CVTDZ_C_R_C", 0xC2C5D000, 0xFFFFFC00),
    form("CVT_C_CR_C", 0xC2E01800, 0xFFE0FC00),
    form("CVTZ_C_CR_C", 0xC2E05800, 0xFFE0FC00),
    form("CVTP_R_C_C", 0xC2C53000, 0xFFFFFC00),
    form("CVTD_R_C_C", 0xC2C51000, 0xFFFFFC00),
    form("CVT_R_CC_C", 0xC2C0C000, 0xFFE0FC00),
    form("BR_C_C", 0xC2C21000, 0xFFFFFC1F),
    form("BLR_C_C", 0xC2C23000, 0xFFFFFC1F),
    form("RET_C_C", 0xC2C25000, 0xFFFFFC1F),
    form("BRR_C_C", 0xC2C21003, 0xFFFFFC1F),
    form("BLRR_C_C", 0xC2C23003, 0xFFFFFC1F),
    form("RETR_C_C", 0xC2C25003, 0xFFFFFC1F),
    form("BRS_C_C", 0xC2C21002, 0xFFFFFC1F),
    form("BLRS_C_C", 0xC2C23002, 0xFFFFFC1F),
    form("RETS_C_C", 0xC2C25002, 0xFFFFFC1F),
    form("BRS_C_C_C", 0xC2C08400, 0xFFE0FC1F),
    form("BLRS_C_C_C", 0xC2C0A400, 0xFFE0FC1F),
    form("RETS_C_C_C", 0xC2C0C400, 0xFFE0FC1F),
    form("BX___C", 0xC2C273E0, 0xFFFFFFFF),
    form("LDPBR_C_C_C", 0xC2C41000, 0xFFFFFC00),
    form("LDPBLR_C_C_C", 0xC2C43000, 0xFFFFFC00),
    form("BR_CI_C", 0xC2D01000, 0xFFF01C1F),
    form("BLR_CI_C", 0xC2D01001, 0xFFF01C1F),
    form("LDR_C_RUIB_C", 0xC2400000, 0xFFC00000),
    form("STR_C_RUIB_C", 0xC2000000, 0xFFC00000),
    form("LDR_C_RIBW_C", 0xA2400C00, 0xFFE00C00),
    form("STR_C_RIBW_C", 0xA2000C00, 0xFFE00C00),
    form("LDR_C_RIAW_C", 0xA2400400, 0xFFE00C00),
    form("STR_C_RIAW_C", 0xA2000400, 0xFFE00C00),
    form("LDTR_C_RIB_C", 0xA2400800, 0xFFE00C00),
    form("STTR_C_RIB_C", 0xA2000800, 0xFFE00C00),
    form("LDUR_C_RI_C", 0xA2400000, 0xFFE00C00),
    form("STUR_C_RI_C", 0xA2000000, 0xFFE00C00),
    form("LDR_C_RRB_C", 0xA2604800, 0xFFE04C00),
    form("STR_C_RRB_C", 0xA2204800, 0xFFE04C00),
    form("LDP_C_RIB_C", 0x42C00000, 0xFFC00000),
    form("STP_C_RIB_C", 0x42800000, 0xFFC00000),
    form("LDP_C_RIBW_C", 0x62C00000, 0xFFC00000),
    form("STP_C_RIBW_C", 0x62800000, 0xFFC00000),
    form("LDP_CC_RIAW_C", 0x22C00000, 0xFFC00000),
    form("STP_CC_RIAW_C", 0x22800000, 0xFFC00000),
    form("LDNP_C_RIB_C", 0x62400000, 0xFFC00000),
    form("STNP_C_RIB_C", 0x62000000, 0xFFC00000),
    form("LDR_C_I_C", 0x82000000, 0xFFC00000),
    form("ALDR_C_RUI_C", 0x82600000, 0xFFE00C00),
    form("ASTR_C_RUI_C", 0x82400000, 0xFFE00C00),
    form("ALDR_R_RUI_64", 0x82600C00, 0xFFE00C00),
    form("ASTR_R_RUI_64", 0x82400C00, 0xFFE00C00),
    form("ALDR_R_RUI_32", 0x82600800, 0xFFE00C00),
    form("ASTR_R_RUI_32", 0x82400800, 0xFFE00C00),
    form("ALDRB_R_RUI_B", 0x82600400, 0xFFE00C00),
    form("ASTRB_R_RUI_B", 0x82400400, 0xFFE00C00),
    form("LDCT_R_R__", 0xC2C4B000, 0xFFFFFC00),
    form("STCT_R_R__", 0xC2C49000, 0xFFFFFC00),
];

/// The names of the rows `word` matches.
fn decode(word: u32) -> Vec<&'static str> {
    FORMS.iter().filter(|form| word & form.mask == form.value).map(|form| form.name).collect()
}

/// An encoder of one form, driven by a register number 0..=31 (the other registers and
/// the immediates are derived from it, so every field takes many values).
type Encoder = fn(u8) -> u32;

/// Capability register `r + offset`, wrapping at 32.
fn c(r: u8, offset: u8) -> C {
    C::new((r + offset) % 32)
}

/// General-purpose register `r + offset`, wrapping at 32.
fn x(r: u8, offset: u8) -> X {
    X::new((r + offset) % 32)
}

/// A signed scaled offset that sweeps both signs as `r` goes 0..=31.
fn signed(r: u8, scale: i32, step: i32) -> i32 {
    (i32::from(r) - 16) * step * scale
}

/// Every encoder with the Appendix A form its words must decode to.
fn cases() -> Vec<(&'static str, Encoder)> {
    use CapabilityRegister as R;
    use ControlRegister as K;
    vec![
        ("MRS_C_I_C", |r| mrs(c(r, 0), R::ALL[usize::from(r) % R::ALL.len()])),
        ("MSR_C_I_C", |r| msr(R::ALL[usize::from(r) % R::ALL.len()], c(r, 0))),
        ("A64 MRS (register)", |r| mrs_control(x(r, 0), K::ALL[usize::from(r) % K::ALL.len()])),
        ("A64 MSR (register)", |r| msr_control(K::ALL[usize::from(r) % K::ALL.len()], x(r, 0))),
        ("SCBNDS_C_CR_C", |r| scbnds(c(r, 0), c(r, 1), x(r, 2))),
        ("SCBNDSE_C_CR_C", |r| scbndse(c(r, 0), c(r, 1), x(r, 2))),
        ("SCBNDS_C_CI_C", |r| scbnds_immediate(c(r, 0), c(r, 1), u32::from(r) * 2)),
        ("SCBNDS_C_CI_S", |r| scbnds_immediate(c(r, 0), c(r, 1), 64 + u32::from(r) * 16)),
        ("SCVALUE_C_CR_C", |r| scvalue(c(r, 0), c(r, 1), x(r, 2))),
        ("SCOFF_C_CR_C", |r| scoff(c(r, 0), c(r, 1), x(r, 2))),
        ("CLRPERM_C_CR_C", |r| clrperm(c(r, 0), c(r, 1), x(r, 2))),
        ("CLRPERM_C_CI_C", |r| {
            let all = [RwxPermissions::EXECUTE, RwxPermissions::WRITE, RwxPermissions::READ];
            clrperm_immediate(c(r, 0), c(r, 1), all[usize::from(r) % 3].union(RwxPermissions::EXECUTE))
        }),
        ("CTHI_C_CR_C", |r| cthi(c(r, 0), c(r, 1), x(r, 2))),
        ("SCFLGS_C_CR_C", |r| scflgs(c(r, 0), c(r, 1), x(r, 2))),
        ("SCTAG_C_CR_C", |r| sctag(c(r, 0), c(r, 1), x(r, 2))),
        ("CLRTAG_C_C_C", |r| clrtag(c(r, 0), c(r, 1))),
        ("CPY_C_C_C", |r| mov(c(r, 0), c(r, 1))),
        ("CPY_C_C_C", |r| cpy(c(r, 1), c(r, 0))),
        ("ADD_C_CIS_C", |r| add_immediate(c(r, 0), c(r, 1), u32::from(r) * 127)),
        ("ADD_C_CIS_C", |r| add_immediate(c(r, 0), c(r, 1), (u32::from(r) * 127 + 1) << 12)),
        ("SUB_C_CIS_C", |r| sub_immediate(c(r, 0), c(r, 1), u32::from(r) * 127)),
        ("SUB_C_CIS_C", |r| sub_immediate(c(r, 0), c(r, 1), (u32::from(r) * 127 + 1) << 12)),
        ("ADD_C_CRI_C", |r| {
            let extend = [Extend::Uxtb, Extend::Uxtw, Extend::Uxtx, Extend::Sxtw, Extend::Sxtx];
            add_extended(c(r, 0), c(r, 1), x(r, 2), extend[usize::from(r) % 5], u32::from(r) % 5)
        }),
        ("ALIGND_C_CI_C", |r| alignd(c(r, 0), c(r, 1), u32::from(r) * 2)),
        ("ALIGNU_C_CI_C", |r| alignu(c(r, 0), c(r, 1), u32::from(r) * 2 + 1)),
        ("GCBASE_R_C_C", |r| gcbase(x(r, 0), c(r, 1))),
        ("GCLEN_R_C_C", |r| gclen(x(r, 0), c(r, 1))),
        ("GCVALUE_R_C_C", |r| gcvalue(x(r, 0), c(r, 1))),
        ("GCOFF_R_C_C", |r| gcoff(x(r, 0), c(r, 1))),
        ("GCTAG_R_C_C", |r| gctag(x(r, 0), c(r, 1))),
        ("GCSEAL_R_C_C", |r| gcseal(x(r, 0), c(r, 1))),
        ("GCPERM_R_C_C", |r| gcperm(x(r, 0), c(r, 1))),
        ("GCTYPE_R_C_C", |r| gctype(x(r, 0), c(r, 1))),
        ("GCLIM_R_C_C", |r| gclim(x(r, 0), c(r, 1))),
        ("GCFLGS_R_C_C", |r| gcflgs(x(r, 0), c(r, 1))),
        ("CFHI_R_C_C", |r| cfhi(x(r, 0), c(r, 1))),
        ("RRLEN_R_R_C", |r| rrlen(x(r, 0), x(r, 1))),
        ("RRMASK_R_R_C", |r| rrmask(x(r, 0), x(r, 1))),
        ("SUBS_R_CC_C", |r| subs(x(r, 0), c(r, 1), c(r, 2))),
        ("SUBS_R_CC_C", |r| cmp(c(r, 1), c(r, 2))),
        ("CSEL_C_CI_C", |r| {
            let condition = [Condition::Equal, Condition::CarryClear, Condition::LessThan, Condition::Always];
            csel(c(r, 0), c(r, 1), c(r, 2), condition[usize::from(r) % 4])
        }),
        ("SEAL_C_CC_C", |r| seal(c(r, 0), c(r, 1), c(r, 2))),
        ("SEAL_C_CI_C", |r| {
            let forms = [SealForm::RestrictedBranch, SealForm::LoadPairBranch, SealForm::LoadBranch];
            seal_immediate(c(r, 0), c(r, 1), forms[usize::from(r) % 3])
        }),
        ("UNSEAL_C_CC_C", |r| unseal(c(r, 0), c(r, 1), c(r, 2))),
        ("CSEAL_C_C_C", |r| cseal(c(r, 0), c(r, 1), c(r, 2))),
        ("CPYTYPE_C_C_C", |r| cpytype(c(r, 0), c(r, 1), c(r, 2))),
        ("CPYVALUE_C_C_C", |r| cpyvalue(c(r, 0), c(r, 1), c(r, 2))),
        ("BUILD_C_C_C", |r| build(c(r, 0), c(r, 1), c(r, 2))),
        ("CHKSSU_C_CC_C", |r| chkssu(c(r, 0), c(r, 1), c(r, 2))),
        ("CHKSS___CC_C", |r| chkss(c(r, 0), c(r, 1))),
        ("CHKEQ___CC_C", |r| chkeq(c(r, 0), c(r, 1))),
        ("CHKSLD_C_C", |r| chksld(c(r, 0))),
        ("CHKTGD_C_C", |r| chktgd(c(r, 0))),
        ("CVTP_C_R_C", |r| cvtp_from_address(c(r, 0), x(r, 1))),
        ("CVTD_C_R_C", |r| cvtd_from_address(c(r, 0), x(r, 1))),
        ("CVTPZ_C_R_C", |r| cvtpz_from_address(c(r, 0), x(r, 1))),
        ("CVTDZ_C_R_C", |r| cvtdz_from_address(c(r, 0), x(r, 1))),
        ("CVT_C_CR_C", |r| cvt_from_address(c(r, 0), c(r, 1), x(r, 2))),
        ("CVTZ_C_CR_C", |r| cvtz_from_address(c(r, 0), c(r, 1), x(r, 2))),
        ("CVTP_R_C_C", |r| cvtp_to_address(x(r, 0), c(r, 1))),
        ("CVTD_R_C_C", |r| cvtd_to_address(x(r, 0), c(r, 1))),
        ("CVT_R_CC_C", |r| cvt_to_address(x(r, 0), c(r, 1), c(r, 2))),
        ("BR_C_C", |r| br(c(r, 0))),
        ("BLR_C_C", |r| blr(c(r, 0))),
        ("RET_C_C", |r| ret(c(r, 0))),
        ("BRR_C_C", |r| brr(c(r, 0))),
        ("BLRR_C_C", |r| blrr(c(r, 0))),
        ("RETR_C_C", |r| retr(c(r, 0))),
        ("BRS_C_C", |r| brs(c(r, 0))),
        ("BLRS_C_C", |r| blrs(c(r, 0))),
        ("RETS_C_C", |r| rets(c(r, 0))),
        ("BRS_C_C_C", |r| brs_sealed_pair(c(r, 0), c(r, 1))),
        ("BLRS_C_C_C", |r| blrs_sealed_pair(c(r, 0), c(r, 1))),
        ("RETS_C_C_C", |r| rets_sealed_pair(c(r, 0), c(r, 1))),
        ("BX___C", |_| bx_4()),
        ("LDPBR_C_C_C", |r| ldpbr(c(r, 0), c(r, 1))),
        ("LDPBLR_C_C_C", |r| ldpblr(c(r, 0), c(r, 1))),
        ("BR_CI_C", |r| br_loaded(c(r, 0), signed(r, 16, 4))),
        ("BLR_CI_C", |r| blr_loaded(c(r, 0), signed(r, 16, 4))),
        ("LDR_C_RUIB_C", |r| ldr_capability(c(r, 0), x(r, 1), u32::from(r) * 16 * 127)),
        ("STR_C_RUIB_C", |r| str_capability(c(r, 0), x(r, 1), u32::from(r) * 16 * 127)),
        ("LDR_C_RIBW_C", |r| ldr_capability_pre_index(c(r, 0), x(r, 1), signed(r, 16, 16))),
        ("STR_C_RIBW_C", |r| str_capability_pre_index(c(r, 0), x(r, 1), signed(r, 16, 16))),
        ("LDR_C_RIAW_C", |r| ldr_capability_post_index(c(r, 0), x(r, 1), signed(r, 16, 16))),
        ("STR_C_RIAW_C", |r| str_capability_post_index(c(r, 0), x(r, 1), signed(r, 16, 16))),
        ("LDUR_C_RI_C", |r| ldur_capability(c(r, 0), x(r, 1), signed(r, 1, 16))),
        ("STUR_C_RI_C", |r| stur_capability(c(r, 0), x(r, 1), signed(r, 1, 16))),
        ("LDP_C_RIB_C", |r| ldp_capability(c(r, 0), c(r, 1), x(r, 2), signed(r, 16, 4))),
        ("STP_C_RIB_C", |r| stp_capability(c(r, 0), c(r, 1), x(r, 2), signed(r, 16, 4))),
        ("LDP_C_RIBW_C", |r| ldp_capability_pre_index(c(r, 0), c(r, 1), x(r, 2), signed(r, 16, 4))),
        ("STP_C_RIBW_C", |r| stp_capability_pre_index(c(r, 0), c(r, 1), x(r, 2), signed(r, 16, 4))),
        ("LDP_CC_RIAW_C", |r| ldp_capability_post_index(c(r, 0), c(r, 1), x(r, 2), signed(r, 16, 4))),
        ("STP_CC_RIAW_C", |r| stp_capability_post_index(c(r, 0), c(r, 1), x(r, 2), signed(r, 16, 4))),
        ("ALDR_C_RUI_C", |r| ldr_capability_alternate_base(c(r, 0), c(r, 1), u32::from(r) * 16 * 16)),
        ("ASTR_C_RUI_C", |r| str_capability_alternate_base(c(r, 0), c(r, 1), u32::from(r) * 16 * 16)),
        ("ALDR_R_RUI_64", |r| ldr_x_alternate_base(x(r, 0), c(r, 1), u32::from(r) * 8 * 16)),
        ("ASTR_R_RUI_64", |r| str_x_alternate_base(x(r, 0), c(r, 1), u32::from(r) * 8 * 16)),
        ("ALDRB_R_RUI_B", |r| ldrb_alternate_base(x(r, 0), c(r, 1), u32::from(r) * 16)),
        ("ASTRB_R_RUI_B", |r| strb_alternate_base(x(r, 0), c(r, 1), u32::from(r) * 16)),
        ("LDCT_R_R__", |r| ldct(x(r, 0), x(r, 1))),
        ("STCT_R_R__", |r| stct(x(r, 0), x(r, 1))),
    ]
}

#[test]
fn every_encoder_decodes_to_exactly_its_form() {
    for (expected, encode) in cases() {
        assert!(FORMS.iter().any(|form| form.name == expected), "{expected} is not in the table");
        for r in 0..32 {
            let word = encode(r);
            assert_eq!(decode(word), [expected], "{word:#010x} (register {r}) should be {expected} only");
        }
    }
}

#[test]
fn range_limits_decode_to_their_forms() {
    let limits: [(&str, u32); 16] = [
        ("SCBNDS_C_CI_C", scbnds_immediate(C::CSP, C::CSP, 63)),
        ("SCBNDS_C_CI_S", scbnds_immediate(C::CSP, C::CSP, 1008)),
        ("ADD_C_CIS_C", add_immediate(C::CSP, C::CSP, 4095 << 12)),
        ("SUB_C_CIS_C", sub_immediate(C::CSP, C::CSP, 4095)),
        ("ALIGNU_C_CI_C", alignu(C::CSP, C::CSP, 63)),
        ("BR_CI_C", br_loaded(C::CSP, -1024)),
        ("BLR_CI_C", blr_loaded(C::CSP, 1008)),
        ("LDR_C_RUIB_C", ldr_capability(C::CZR, X::SP, 65520)),
        ("STR_C_RIBW_C", str_capability_pre_index(C::CZR, X::SP, -4096)),
        ("LDR_C_RIAW_C", ldr_capability_post_index(C::CZR, X::SP, 4080)),
        ("LDUR_C_RI_C", ldur_capability(C::CZR, X::SP, -256)),
        ("STP_C_RIBW_C", stp_capability_pre_index(C::CZR, C::new(0), X::SP, -1024)),
        ("LDP_CC_RIAW_C", ldp_capability_post_index(C::CZR, C::new(0), X::SP, 1008)),
        ("ALDR_C_RUI_C", ldr_capability_alternate_base(C::CZR, C::CSP, 8176)),
        ("ASTR_R_RUI_64", str_x_alternate_base(X::ZR, C::CSP, 4088)),
        ("CLRPERM_C_CI_C", clrperm_immediate(C::CSP, C::CSP, RwxPermissions::ALL)),
    ];
    for (expected, word) in limits {
        assert_eq!(decode(word), [expected], "{word:#010x} should be {expected} only");
    }
}

#[test]
fn decoder_pitfalls_are_told_apart_by_bits_4_to_0() {
    // (form, its neighbour): same mask, values differing only in bits 4:0 (FACTS §2.5).
    let pitfalls = [
        ("BRS_C_C_C", "CHKSS___CC_C"),
        ("BLRS_C_C_C", "CHKEQ___CC_C"),
        ("BR_C_C", "CHKSLD_C_C"),
        ("BLR_C_C", "CHKTGD_C_C"),
        ("BR_C_C", "BRS_C_C"),
        ("BR_C_C", "BRR_C_C"),
        ("BLR_C_C", "BLRS_C_C"),
        ("BLR_C_C", "BLRR_C_C"),
        ("RET_C_C", "RETS_C_C"),
        ("RET_C_C", "RETR_C_C"),
    ];
    let row = |name: &str| FORMS.iter().find(|form| form.name == name).expect("row in the table");
    for (form, neighbour) in pitfalls {
        let (form, neighbour) = (row(form), row(neighbour));
        assert_eq!(form.mask, neighbour.mask);
        assert_eq!(form.value & !0x1F, neighbour.value & !0x1F);
        assert_ne!(form.value & 0x1F, neighbour.value & 0x1F);
    }
    for r in 0..32 {
        let (cn, cm) = (C::new(r), C::new((r + 1) % 32));
        assert_eq!(decode(brs_sealed_pair(cn, cm)), ["BRS_C_C_C"]);
        assert_eq!(decode(chkss(cn, cm)), ["CHKSS___CC_C"]);
        assert_eq!(decode(blrs_sealed_pair(cn, cm)), ["BLRS_C_C_C"]);
        assert_eq!(decode(chkeq(cn, cm)), ["CHKEQ___CC_C"]);
        assert_eq!(decode(br(cn)), ["BR_C_C"]);
        assert_eq!(decode(chksld(cn)), ["CHKSLD_C_C"]);
        assert_eq!(decode(blr(cn)), ["BLR_C_C"]);
        assert_eq!(decode(chktgd(cn)), ["CHKTGD_C_C"]);
    }
}
