//! Capability loads and stores (FACTS §2.6).
//!
//! The normal forms take the base from Xn|SP in A64 (checked against DDC) and from Cn|CSP
//! in C64: the same word means either, so the encoders take an [`X`] base and the caller
//! knows the state. The alternate-base forms swap the two (Cn in A64); hybrid A64 code
//! uses them to load and store through a capability. Offsets are in bytes and must be
//! multiples of the access size.

use super::operand::{signed_scaled, unsigned_scaled, C, X};

/// A word with Rn/Cn at 9:5 and Ct/Rt at 4:0.
const fn base_and_target(template: u32, base: u32, target: u32) -> u32 {
    template | (base << 5) | target
}

/// Writeback to a base that is also a transfer register is CONSTRAINED UNPREDICTABLE
/// (Sail `WBOVERLAPLD`/`WBOVERLAPST`) unless the base is SP.
const fn check_writeback(base: X, transferred: C) {
    assert!(
        base.index() == 31 || base.index() != transferred.index(),
        "writeback to a base register that is also transferred is unpredictable"
    );
}

/// `ldr Ct, [Xn|SP, #offset]`: offset a multiple of 16 in 0..=65520.
pub const fn ldr_capability(ct: C, xn: X, offset: u32) -> u32 {
    base_and_target(0xC2400000 | (unsigned_scaled(offset, 16, 12) << 10), xn.at(0), ct.at(0))
}

/// `str Ct, [Xn|SP, #offset]`: offset a multiple of 16 in 0..=65520.
pub const fn str_capability(ct: C, xn: X, offset: u32) -> u32 {
    base_and_target(0xC2000000 | (unsigned_scaled(offset, 16, 12) << 10), xn.at(0), ct.at(0))
}

/// `ldr Ct, [Xn|SP, #offset]!`: pre-index, offset a multiple of 16 in -4096..=4080.
pub const fn ldr_capability_pre_index(ct: C, xn: X, offset: i32) -> u32 {
    check_writeback(xn, ct);
    base_and_target(0xA2400C00 | (signed_scaled(offset, 16, 9) << 12), xn.at(0), ct.at(0))
}

/// `str Ct, [Xn|SP, #offset]!`: pre-index, offset a multiple of 16 in -4096..=4080.
pub const fn str_capability_pre_index(ct: C, xn: X, offset: i32) -> u32 {
    check_writeback(xn, ct);
    base_and_target(0xA2000C00 | (signed_scaled(offset, 16, 9) << 12), xn.at(0), ct.at(0))
}

/// `ldr Ct, [Xn|SP], #offset`: post-index, offset a multiple of 16 in -4096..=4080.
pub const fn ldr_capability_post_index(ct: C, xn: X, offset: i32) -> u32 {
    check_writeback(xn, ct);
    base_and_target(0xA2400400 | (signed_scaled(offset, 16, 9) << 12), xn.at(0), ct.at(0))
}

/// `str Ct, [Xn|SP], #offset`: post-index, offset a multiple of 16 in -4096..=4080.
pub const fn str_capability_post_index(ct: C, xn: X, offset: i32) -> u32 {
    check_writeback(xn, ct);
    base_and_target(0xA2000400 | (signed_scaled(offset, 16, 9) << 12), xn.at(0), ct.at(0))
}

/// `ldur Ct, [Xn|SP, #offset]`: unscaled, offset in -256..=255 bytes.
pub const fn ldur_capability(ct: C, xn: X, offset: i32) -> u32 {
    base_and_target(0xA2400000 | (signed_scaled(offset, 1, 9) << 12), xn.at(0), ct.at(0))
}

/// `stur Ct, [Xn|SP, #offset]`: unscaled, offset in -256..=255 bytes.
pub const fn stur_capability(ct: C, xn: X, offset: i32) -> u32 {
    base_and_target(0xA2000000 | (signed_scaled(offset, 1, 9) << 12), xn.at(0), ct.at(0))
}

/// A load/store pair: imm7 at 21:15, Ct2 at 14:10, Rn at 9:5, Ct at 4:0.
const fn pair(template: u32, ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    template | (signed_scaled(offset, 16, 7) << 15) | ct2.at(10) | xn.at(5) | ct.at(0)
}

/// A load pair into the same register twice is CONSTRAINED UNPREDICTABLE (`LDPOVERLAP`).
const fn check_load_pair(ct: C, ct2: C) {
    assert!(ct.index() != ct2.index(), "a load pair into one register twice is unpredictable");
}

/// `ldp Ct, Ct2, [Xn|SP, #offset]`: offset a multiple of 16 in -1024..=1008.
pub const fn ldp_capability(ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    check_load_pair(ct, ct2);
    pair(0x42C00000, ct, ct2, xn, offset)
}

/// `stp Ct, Ct2, [Xn|SP, #offset]`: offset a multiple of 16 in -1024..=1008.
pub const fn stp_capability(ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    pair(0x42800000, ct, ct2, xn, offset)
}

/// `ldp Ct, Ct2, [Xn|SP, #offset]!`: pre-index.
pub const fn ldp_capability_pre_index(ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    check_load_pair(ct, ct2);
    check_writeback(xn, ct);
    check_writeback(xn, ct2);
    pair(0x62C00000, ct, ct2, xn, offset)
}

/// `stp Ct, Ct2, [Xn|SP, #offset]!`: pre-index (the usual frame push).
pub const fn stp_capability_pre_index(ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    check_writeback(xn, ct);
    check_writeback(xn, ct2);
    pair(0x62800000, ct, ct2, xn, offset)
}

/// `ldp Ct, Ct2, [Xn|SP], #offset`: post-index (the usual frame pop).
pub const fn ldp_capability_post_index(ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    check_load_pair(ct, ct2);
    check_writeback(xn, ct);
    check_writeback(xn, ct2);
    pair(0x22C00000, ct, ct2, xn, offset)
}

/// `stp Ct, Ct2, [Xn|SP], #offset`: post-index.
pub const fn stp_capability_post_index(ct: C, ct2: C, xn: X, offset: i32) -> u32 {
    check_writeback(xn, ct);
    check_writeback(xn, ct2);
    pair(0x22800000, ct, ct2, xn, offset)
}

/// `ldr Ct, [Cn|CSP, #offset]` in A64 (alternate base): offset a multiple of 16 in
/// 0..=8176.
pub const fn ldr_capability_alternate_base(ct: C, cn: C, offset: u32) -> u32 {
    base_and_target(0x82600000 | (unsigned_scaled(offset, 16, 9) << 12), cn.at(0), ct.at(0))
}

/// `str Ct, [Cn|CSP, #offset]` in A64 (alternate base): offset a multiple of 16 in
/// 0..=8176.
pub const fn str_capability_alternate_base(ct: C, cn: C, offset: u32) -> u32 {
    base_and_target(0x82400000 | (unsigned_scaled(offset, 16, 9) << 12), cn.at(0), ct.at(0))
}

/// `ldr Xt, [Cn|CSP, #offset]` in A64 (alternate base): offset a multiple of 8 in 0..=4088.
pub const fn ldr_x_alternate_base(xt: X, cn: C, offset: u32) -> u32 {
    base_and_target(0x82600C00 | (unsigned_scaled(offset, 8, 9) << 12), cn.at(0), xt.at(0))
}

/// `str Xt, [Cn|CSP, #offset]` in A64 (alternate base): offset a multiple of 8 in 0..=4088.
pub const fn str_x_alternate_base(xt: X, cn: C, offset: u32) -> u32 {
    base_and_target(0x82400C00 | (unsigned_scaled(offset, 8, 9) << 12), cn.at(0), xt.at(0))
}

/// `ldrb Wt, [Cn|CSP, #offset]` in A64 (alternate base): offset 0..=511. The access is
/// checked against Cn's tag, bounds and Load permission, not against DDC.
pub const fn ldrb_alternate_base(wt: X, cn: C, offset: u32) -> u32 {
    base_and_target(0x82600400 | (unsigned_scaled(offset, 1, 9) << 12), cn.at(0), wt.at(0))
}

/// `strb Wt, [Cn|CSP, #offset]` in A64 (alternate base): offset 0..=511.
pub const fn strb_alternate_base(wt: X, cn: C, offset: u32) -> u32 {
    base_and_target(0x82400400 | (unsigned_scaled(offset, 1, 9) << 12), cn.at(0), wt.at(0))
}

/// `ldct Xt, [Xn|SP]`: Xt[3:0] := the tags of the four capabilities at the 64-byte aligned
/// Xn.
pub const fn ldct(xt: X, xn: X) -> u32 {
    base_and_target(0xC2C4B000, xn.at(0), xt.at(0))
}

/// `stct Xt, [Xn|SP]`: the tags of the four capabilities at Xn := Xt[3:0] (EL1 and up;
/// tags are only set with PCC System).
pub const fn stct(xt: X, xn: X) -> u32 {
    base_and_target(0xC2C49000, xn.at(0), xt.at(0))
}
