//! Capability arithmetic, queries, sealing, checks and conversions (FACTS §2.3, §2.4,
//! §2.7). Semantics in one line each; the rules are in FACTS §1.
//!
//! Operand positions where register 31 is CSP (marked † in FACTS) take [`C::CSP`]; in the
//! others 31 is [`C::CZR`].

use super::operand::{unsigned_scaled, Condition, Extend, RwxPermissions, SealForm, C, X};

/// A word with Rm/Cm at 20:16, Cn/Rn at 9:5 and Cd/Rd at 4:0.
const fn three(template: u32, m: u32, n: u32, d: u32) -> u32 {
    template | (m << 16) | (n << 5) | d
}

/// A word with Cn/Rn at 9:5 and Cd/Rd at 4:0.
const fn two(template: u32, n: u32, d: u32) -> u32 {
    template | (n << 5) | d
}

// ---- bounds, value, permissions -------------------------------------------------------

/// `scbnds Cd†, Cn†, Xm`: bounds [value, value + Xm), rounded outwards if not exact.
pub const fn scbnds(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C00000, xm.at(0), cn.at(0), cd.at(0))
}

/// `scbndse Cd†, Cn†, Xm`: as `scbnds`, but an inexact result loses its tag.
pub const fn scbndse(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C02000, xm.at(0), cn.at(0), cd.at(0))
}

/// `scbnds Cd†, Cn†, #length`: exact bounds of an immediate length, 0..=63 or a multiple
/// of 16 up to 1008 (`#imm6, lsl #4`).
pub const fn scbnds_immediate(cd: C, cn: C, length: u32) -> u32 {
    let (imm6, scaled) = if length <= 63 {
        (length, 0)
    } else {
        assert!(
            length.is_multiple_of(16) && length / 16 <= 63,
            "scbnds #imm takes 0..=63, or a multiple of 16 up to 1008"
        );
        (length / 16, 1)
    };
    two(0xC2C03800 | (imm6 << 15) | (scaled << 14), cn.at(0), cd.at(0))
}

/// `scvalue Cd†, Cn†, Xm`: value := Xm (precise representability check).
pub const fn scvalue(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C04000, xm.at(0), cn.at(0), cd.at(0))
}

/// `scoff Cd†, Cn†, Xm`: value := base + Xm (fast representability check).
pub const fn scoff(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C06000, xm.at(0), cn.at(0), cd.at(0))
}

/// `clrperm Cd†, Cn†, Xm`: clear permission i for every bit i set in Xm[17:0].
pub const fn clrperm(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C0A000, xm.at(0), cn.at(0), cd.at(0))
}

/// `clrperm Cd†, Cn†, <r|w|x…>`: clear Load (r), Store (w) and/or Execute (x).
pub const fn clrperm_immediate(cd: C, cn: C, permissions: RwxPermissions) -> u32 {
    two(0xC2C61000 | (permissions.bits() << 13), cn.at(0), cd.at(0))
}

/// `cthi Cd†, Cn, Xm`: Cd := Cn with bits 127:64 := Xm, tag cleared.
pub const fn cthi(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C0E800, xm.at(0), cn.at(0), cd.at(0))
}

/// `scflgs Cd†, Cn†, Xm`: flags (value bits 63:56) := Xm[63:56].
pub const fn scflgs(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C0E000, xm.at(0), cn.at(0), cd.at(0))
}

/// `sctag Cd†, Cn†, Xm`: tag := Xm[0] (EL1 and up, PCC needs System).
pub const fn sctag(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2C08000, xm.at(0), cn.at(0), cd.at(0))
}

/// `clrtag Cd†, Cn†`: Cd := Cn untagged.
pub const fn clrtag(cd: C, cn: C) -> u32 {
    two(0xC2C19000, cn.at(0), cd.at(0))
}

/// `cpy Cd†, Cn†`: Cd := Cn, all 129 bits.
pub const fn cpy(cd: C, cn: C) -> u32 {
    two(0xC2C1D000, cn.at(0), cd.at(0))
}

/// `mov Cd†, Cn†`: the preferred alias of [`cpy`].
pub const fn mov(cd: C, cn: C) -> u32 {
    cpy(cd, cn)
}

/// The ADD/SUB immediate: `value` below 4096, or a multiple of 4096 below 2^24
/// (`#imm12, lsl #12`).
const fn add_or_subtract_immediate(template: u32, cd: C, cn: C, value: u32) -> u32 {
    let (imm12, shifted) = if value < 4096 {
        (value, 0)
    } else {
        assert!(
            value.is_multiple_of(4096) && value / 4096 < 4096,
            "add/sub #imm takes 0..=4095, or a multiple of 4096 below 2^24"
        );
        (value / 4096, 1)
    };
    two(template | (shifted << 22) | (imm12 << 10), cn.at(0), cd.at(0))
}

/// `add Cd†, Cn†, #value`: value += an immediate (fast representability check).
pub const fn add_immediate(cd: C, cn: C, value: u32) -> u32 {
    add_or_subtract_immediate(0x02000000, cd, cn, value)
}

/// `sub Cd†, Cn†, #value`: value -= an immediate.
pub const fn sub_immediate(cd: C, cn: C, value: u32) -> u32 {
    add_or_subtract_immediate(0x02800000, cd, cn, value)
}

/// `add Cd†, Cn†, Xm, <extend> #shift`: value += extend(Xm) << shift, shift 0..=4.
pub const fn add_extended(cd: C, cn: C, xm: X, extend: Extend, shift: u32) -> u32 {
    assert!(shift <= 4, "the extended-register shift is 0..=4");
    three(0xC2A00000 | ((extend as u32) << 13) | (shift << 10), xm.at(0), cn.at(0), cd.at(0))
}

/// `alignd Cd†, Cn†, #bits`: clear the low `bits` bits of the value (0..=63).
pub const fn alignd(cd: C, cn: C, bits: u32) -> u32 {
    two(0xC2C01800 | (unsigned_scaled(bits, 1, 6) << 15), cn.at(0), cd.at(0))
}

/// `alignu Cd†, Cn†, #bits`: round the value up to a multiple of 2^`bits` (0..=63).
pub const fn alignu(cd: C, cn: C, bits: u32) -> u32 {
    two(0xC2C05800 | (unsigned_scaled(bits, 1, 6) << 15), cn.at(0), cd.at(0))
}

// ---- queries ----------------------------------------------------------------------------

/// `gcbase Xd, Cn†`: the base.
pub const fn gcbase(xd: X, cn: C) -> u32 {
    two(0xC2C01000, cn.at(0), xd.at(0))
}

/// `gclen Xd, Cn†`: the length, saturated to 2^64 - 1.
pub const fn gclen(xd: X, cn: C) -> u32 {
    two(0xC2C03000, cn.at(0), xd.at(0))
}

/// `gcvalue Xd, Cn†`: the value (address).
pub const fn gcvalue(xd: X, cn: C) -> u32 {
    two(0xC2C05000, cn.at(0), xd.at(0))
}

/// `gcoff Xd, Cn†`: value - base.
pub const fn gcoff(xd: X, cn: C) -> u32 {
    two(0xC2C07000, cn.at(0), xd.at(0))
}

/// `gctag Xd, Cn†`: the tag, 0 or 1.
pub const fn gctag(xd: X, cn: C) -> u32 {
    two(0xC2C09000, cn.at(0), xd.at(0))
}

/// `gcseal Xd, Cn†`: 1 if sealed.
pub const fn gcseal(xd: X, cn: C) -> u32 {
    two(0xC2C0B000, cn.at(0), xd.at(0))
}

/// `gcperm Xd, Cn†`: the 18 permission bits.
pub const fn gcperm(xd: X, cn: C) -> u32 {
    two(0xC2C0D000, cn.at(0), xd.at(0))
}

/// `gctype Xd, Cn†`: the object type.
pub const fn gctype(xd: X, cn: C) -> u32 {
    two(0xC2C0F000, cn.at(0), xd.at(0))
}

/// `gclim Xd, Cn†`: the top, saturated to 2^64 - 1.
pub const fn gclim(xd: X, cn: C) -> u32 {
    two(0xC2C11000, cn.at(0), xd.at(0))
}

/// `gcflgs Xd, Cn†`: the flags byte (value bits 63:56) in place.
pub const fn gcflgs(xd: X, cn: C) -> u32 {
    two(0xC2C13000, cn.at(0), xd.at(0))
}

/// `cfhi Xd, Cn†`: bits 127:64 (the metadata half).
pub const fn cfhi(xd: X, cn: C) -> u32 {
    two(0xC2C15000, cn.at(0), xd.at(0))
}

/// `rrlen Xd, Xn`: the length a capability of length Xn will really get.
pub const fn rrlen(xd: X, xn: X) -> u32 {
    two(0xC2C71000, xn.at(0), xd.at(0))
}

/// `rrmask Xd, Xn`: the alignment mask a base needs for exact bounds of length Xn.
pub const fn rrmask(xd: X, xn: X) -> u32 {
    two(0xC2C73000, xn.at(0), xd.at(0))
}

/// `subs Xd, Cn, Cm`: Xd := Cn.value - Cm.value, flags set.
pub const fn subs(xd: X, cn: C, cm: C) -> u32 {
    three(0xC2E09800, cm.at(0), cn.at(0), xd.at(0))
}

/// `cmp Cn, Cm`: the alias of `subs xzr, Cn, Cm`.
pub const fn cmp(cn: C, cm: C) -> u32 {
    subs(X::ZR, cn, cm)
}

/// `csel Cd, Cn, Cm, <condition>`: Cd := condition ? Cn : Cm.
pub const fn csel(cd: C, cn: C, cm: C, condition: Condition) -> u32 {
    three(0xC2C00C00 | ((condition as u32) << 12), cm.at(0), cn.at(0), cd.at(0))
}

// ---- sealing and checks -------------------------------------------------------------------

/// `seal Cd, Cn, Cm`: seal Cn with object type Cm.value (Cm is the authority).
pub const fn seal(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C00800, cm.at(0), cn.at(0), cd.at(0))
}

/// `seal Cd, Cn, rb|lpb|lb`: seal Cn with a fixed object type, no authority needed.
pub const fn seal_immediate(cd: C, cn: C, form: SealForm) -> u32 {
    two(0xC2C31000 | ((form as u32) << 13), cn.at(0), cd.at(0))
}

/// `unseal Cd, Cn, Cm`: unseal Cn with authority Cm (Cm.value must equal Cn's type).
pub const fn unseal(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C04800, cm.at(0), cn.at(0), cd.at(0))
}

/// `cseal Cd†, Cn†, Cm†`: conditional seal; NZCV says whether it sealed.
pub const fn cseal(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C04400, cm.at(0), cn.at(0), cd.at(0))
}

/// `cpytype Cd, Cn, Cm`: Cd := Cn with value := Cm's object type (-1 if unsealed).
pub const fn cpytype(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C02400, cm.at(0), cn.at(0), cd.at(0))
}

/// `cpyvalue Cd, Cn, Cm`: Cd := Cn with value := Cm.value.
pub const fn cpyvalue(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C06400, cm.at(0), cn.at(0), cd.at(0))
}

/// `build Cd†, Cn†, Cm†`: re-derive Cn from the authority Cm (tag set if Cn ⊆ Cm).
pub const fn build(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C00400, cm.at(0), cn.at(0), cd.at(0))
}

/// `chkssu Cd, Cn†, Cm†`: subset check that also unseals Cn when it passes.
pub const fn chkssu(cd: C, cn: C, cm: C) -> u32 {
    three(0xC2C08800, cm.at(0), cn.at(0), cd.at(0))
}

/// `chkss Cn†, Cm†`: N := Cn ⊆ Cm. Shares its space with `brs c29, Cn, Cm` (bits 4:0).
pub const fn chkss(cn: C, cm: C) -> u32 {
    three(0xC2C08401, cm.at(0), cn.at(0), 0)
}

/// `chkeq Cn†, Cm`: Z := all 129 bits equal. Shares its space with `blrs c29, Cn, Cm`.
pub const fn chkeq(cn: C, cm: C) -> u32 {
    three(0xC2C0A401, cm.at(0), cn.at(0), 0)
}

/// `chktgd Cn†`: C := tag. In the space of `blr Cn` (bits 4:0 = 00001).
pub const fn chktgd(cn: C) -> u32 {
    two(0xC2C23001, cn.at(0), 0)
}

/// `chksld Cn†`: V := sealed. In the space of `br Cn` (bits 4:0 = 00001).
pub const fn chksld(cn: C) -> u32 {
    two(0xC2C21001, cn.at(0), 0)
}

// ---- conversions between X and C ------------------------------------------------------------

/// `cvtp Cd, Xn`: Cd := PCC with value := Xn (or PCC.base + Xn with CCTLR.PCCBO).
pub const fn cvtp_from_address(cd: C, xn: X) -> u32 {
    two(0xC2C5B000, xn.at(0), cd.at(0))
}

/// `cvtd Cd, Xn`: Cd := DDC with value := Xn (or DDC.base + Xn with CCTLR.DDCBO).
pub const fn cvtd_from_address(cd: C, xn: X) -> u32 {
    two(0xC2C59000, xn.at(0), cd.at(0))
}

/// `cvtpz Cd, Xn`: as `cvtp`, but Xn = 0 gives the null capability.
pub const fn cvtpz_from_address(cd: C, xn: X) -> u32 {
    two(0xC2C5F000, xn.at(0), cd.at(0))
}

/// `cvtdz Cd, Xn`: as `cvtd`, but Xn = 0 gives the null capability.
pub const fn cvtdz_from_address(cd: C, xn: X) -> u32 {
    two(0xC2C5D000, xn.at(0), cd.at(0))
}

/// `cvt Cd, Cn†, Xm`: Cd := Cn with value := Xm (or Cn.base + Xm).
pub const fn cvt_from_address(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2E01800, xm.at(0), cn.at(0), cd.at(0))
}

/// `cvtz Cd, Cn†, Xm`: as `cvt`, but Xm = 0 gives the null capability.
pub const fn cvtz_from_address(cd: C, cn: C, xm: X) -> u32 {
    three(0xC2E05800, xm.at(0), cn.at(0), cd.at(0))
}

/// `cvtp Xd, Cn†`: Xd := Cn.value (- PCC.base with PCCBO) if tagged, else 0.
pub const fn cvtp_to_address(xd: X, cn: C) -> u32 {
    two(0xC2C53000, cn.at(0), xd.at(0))
}

/// `cvtd Xd, Cn†`: Xd := Cn.value (- DDC.base with DDCBO) if tagged, else 0.
pub const fn cvtd_to_address(xd: X, cn: C) -> u32 {
    two(0xC2C51000, cn.at(0), xd.at(0))
}

/// `cvt Xd, Cn†, Cm`: Xd := Cn.value (- Cm.base with CCTLR.DDCBO) if tagged, else 0.
pub const fn cvt_to_address(xd: X, cn: C, cm: C) -> u32 {
    three(0xC2C0C000, cm.at(0), cn.at(0), xd.at(0))
}
