//! Capability branches (FACTS §2.5).
//!
//! Every capability branch unseals an RB sentry target, untags any other sealed target,
//! sets PSTATE.C64 from bit 0 of the target and, in Executive mode, untags a target
//! without Executive. The forms differ only in bits 4:0 of a shared opcode, which the
//! check instructions also use (see the decoder pitfall in FACTS §2.5).

use super::operand::{signed_scaled, C};

/// A word with Cn at 9:5.
const fn with_target(template: u32, cn: C) -> u32 {
    template | cn.at(5)
}

/// `br Cn`: jump to Cn.
pub const fn br(cn: C) -> u32 {
    with_target(0xC2C21000, cn)
}

/// `blr Cn`: call Cn; c30 := the link (PCC + 4, + 1 in C64).
pub const fn blr(cn: C) -> u32 {
    with_target(0xC2C23000, cn)
}

/// `ret Cn`: return to Cn (usually [`C::LINK`]).
pub const fn ret(cn: C) -> u32 {
    with_target(0xC2C25000, cn)
}

/// `brr Cn`: jump to Cn, entering Restricted mode if it lacks Executive (Executive only).
pub const fn brr(cn: C) -> u32 {
    with_target(0xC2C21003, cn)
}

/// `blrr Cn`: call Cn, entering Restricted mode if it lacks Executive (Executive only).
pub const fn blrr(cn: C) -> u32 {
    with_target(0xC2C23003, cn)
}

/// `retr Cn`: return to Cn, entering Restricted mode if it lacks Executive.
pub const fn retr(cn: C) -> u32 {
    with_target(0xC2C25003, cn)
}

/// `brs Cn`: as `br`, but with CCTLR.SBL a non-sentry target loses its tag.
pub const fn brs(cn: C) -> u32 {
    with_target(0xC2C21002, cn)
}

/// `blrs Cn`: as `blr`, but with CCTLR.SBL a non-sentry target loses its tag.
pub const fn blrs(cn: C) -> u32 {
    with_target(0xC2C23002, cn)
}

/// `rets Cn`: as `ret`, but with CCTLR.SBL a non-sentry target loses its tag.
pub const fn rets(cn: C) -> u32 {
    with_target(0xC2C25002, cn)
}

/// A sealed-pair word: Cm at 20:16, Cn at 9:5, bits 4:0 = 0 (01 would be a check).
const fn sealed_pair(template: u32, code: C, data: C) -> u32 {
    template | data.at(16) | code.at(5)
}

/// `brs c29, Cn, Cm`: jump to unseal(Cn) with c29 := unseal(Cm), if Cn and Cm are a
/// code/data pair sealed with the same type > 3 (FACTS §1.4).
pub const fn brs_sealed_pair(code: C, data: C) -> u32 {
    sealed_pair(0xC2C08400, code, data)
}

/// `blrs c29, Cn, Cm`: as [`brs_sealed_pair`], plus the link in c30 (the domain call).
pub const fn blrs_sealed_pair(code: C, data: C) -> u32 {
    sealed_pair(0xC2C0A400, code, data)
}

/// `rets c29, Cn, Cm`: as [`brs_sealed_pair`], as a return.
pub const fn rets_sealed_pair(code: C, data: C) -> u32 {
    sealed_pair(0xC2C0C400, code, data)
}

/// `bx #4`: continue at the next instruction in the other state (A64 ↔ C64).
pub const fn bx_4() -> u32 {
    0xC2C273E0
}

/// `ldpbr Ct, [Cn†]`: Ct := [Cn], then jump to [Cn + 16]. With Ct = c29 an LPB-sealed Cn
/// is unsealed first.
pub const fn ldpbr(ct: C, cn: C) -> u32 {
    0xC2C41000 | cn.at(5) | ct.at(0)
}

/// `ldpblr Ct, [Cn†]`: as [`ldpbr`], plus the link in c30.
pub const fn ldpblr(ct: C, cn: C) -> u32 {
    0xC2C43000 | cn.at(5) | ct.at(0)
}

/// `br [Cn†, #offset]`: jump to the capability at Cn + offset, a multiple of 16 in
/// -1024..=1008. An LB-sealed c29 base is unsealed first.
pub const fn br_loaded(cn: C, offset: i32) -> u32 {
    0xC2D01000 | (signed_scaled(offset, 16, 7) << 13) | cn.at(5)
}

/// `blr [Cn†, #offset]`: as [`br_loaded`], plus the link in c30.
pub const fn blr_loaded(cn: C, offset: i32) -> u32 {
    0xC2D01001 | (signed_scaled(offset, 16, 7) << 13) | cn.at(5)
}
