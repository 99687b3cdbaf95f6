//! Every test vector of `/work/shared/morello/FACTS.md` §1 run through the capability
//! model: the cheri-compressed-cap vectors #1..#20 (§1.9), the computed set-bounds table,
//! the complete 128-bit capabilities, the RRMASK/RRLEN table (§1.7) and the
//! representable-region example (§1.6).

use intravisor::capability::{
    representable_length, representable_mask, required_alignment, Cap, Permissions, SealForm,
};

/// 2^64, for 65-bit tops written `1_xxxx` in FACTS.
const TOP: u128 = 1 << 64;

/// Object type bits (109:95) inside the metadata word.
const OTYPE_BITS: u64 = 0x7FFF << 31;

/// A tagged, all-permission capability `[base, base + length)` with value `address`,
/// derived from the root exactly.
fn bounded(base: u64, length: u64, address: u64) -> Cap {
    let cap = Cap::root().set_value(base).set_bounds_exact(length).set_value(address);
    assert!(cap.tag(), "could not derive [{base:#x}, +{length:#x}) @ {address:#x}");
    assert_eq!((cap.base(), cap.length()), (base, u128::from(length)));
    cap
}

/// Asserts the decoded bounds and exponent of `pesbt`/`address`.
fn decoded(pesbt: u64, address: u64, base: u64, top: u128, exponent: u32) -> Cap {
    let cap = Cap::from_parts(false, pesbt, address);
    let bounds = cap.bounds();
    assert_eq!((bounds.base, bounds.top, bounds.valid), (base, top, true), "{cap:?}");
    assert_eq!(cap.exponent(), exponent);
    cap
}

/// The CCC `checkRepCheckFails` helper: both checks refuse `new_address` and the same
/// metadata decodes to other bounds there.
fn check_not_representable(cap: Cap, new_address: u64) {
    assert!(!cap.is_representable_fast(new_address.wrapping_sub(cap.value())));
    assert!(!cap.is_representable_precise(new_address));
    let moved = Cap::from_parts(false, cap.metadata(), new_address).bounds();
    assert!(moved.base != cap.base() || moved.top != cap.top());
}

/// The CCC `checkFastRepCheckSucceeds` helper: the fast check passes; the precise one
/// too when the bounds are valid; the same metadata decodes to the same bounds at
/// `new_address`; and on a tagged, unsealed copy both SCVALUE and ADD keep the tag (and
/// the bounds) exactly when `retain` says so.
fn check_fast_representable(cap: Cap, new_address: u64, retain: bool) {
    let increment = new_address.wrapping_sub(cap.value());
    assert!(cap.is_representable_fast(increment));
    if cap.bounds().valid {
        assert!(cap.is_representable_precise(new_address));
    }
    let moved = Cap::from_parts(false, cap.metadata(), new_address).bounds();
    assert_eq!((moved.base, moved.top), (cap.base(), cap.top()));
    let tagged = Cap::from_parts(true, cap.metadata() & !OTYPE_BITS, cap.value());
    for updated in [tagged.set_value(new_address), tagged.add(increment)] {
        assert_eq!(updated.value(), new_address);
        assert_eq!(updated.tag(), retain, "{updated:?}");
        if retain {
            assert_eq!((updated.base(), updated.top()), (cap.base(), cap.top()));
        }
    }
}

#[test]
fn vector_01_fast_check_sign_extended() {
    let cap = decoded(
        0x0a1a_04ff_bffa_ff07,
        0x01a4_fe02_4100_01ff,
        0xfeff_0000_0000_0000,
        0xff3f_f800_0000_0000,
        40,
    );
    assert_eq!(cap.object_type(), 2559);
    check_not_representable(cap, 0);
}

#[test]
fn vector_02_zero_length() {
    let cap = decoded(
        0x0aff_0000_4007_0007,
        0x0080_0000_0080_0000,
        0xff80_0000_0080_0007,
        0xff80_0000_0080_0007,
        0,
    );
    check_not_representable(cap, 0);
}

#[test]
fn vector_03_zero_length_no_sign_change() {
    let cap = decoded(
        0xffff_0000_4007_0007,
        0x0029_ffff_ff85_ffff,
        0x0029_ffff_ff86_0007,
        0x0029_ffff_ff86_0007,
        0,
    );
    check_not_representable(cap, 0);
}

#[test]
fn vector_04_fast_check_mismatch_1() {
    let cap = decoded(
        0x8100_0100_bfe9_ffd5,
        0x0045_0000_0000_0000,
        0xff40_0000_0000_0000,
        0xffa0_0000_0000_0000,
        50,
    );
    check_fast_representable(cap, 0, true);
}

#[test]
fn vector_05_fast_check_mismatch_2() {
    let cap = decoded(
        0x9a9a_6566_2562_9a9d,
        0x0010_0a9a_9a9a_9a9a,
        0xfe6a_6000_0000_0000,
        0xff95_8000_0000_0000,
        42,
    );
    check_fast_representable(cap, 0, true);
}

#[test]
fn vector_06_set_value_clears_tag_on_invalid_exponent() {
    let cap = Cap::from_parts(false, 0x0000_0000_0001_0004, 0x3f_ffca);
    let bounds = cap.bounds();
    assert_eq!((bounds.base, bounds.top, bounds.valid), (0, TOP, false));
    assert_eq!(cap.exponent(), 51);
    assert!(cap.is_exponent_out_of_range());
    check_fast_representable(cap, 0x3f_ffca, false);
}

#[test]
fn vector_07_zero_exponent_sign_changing_address() {
    let cap = decoded(0x8000_0000_6002_0484, 0, 0x484, 0x2002, 0);
    assert!(cap.is_representable_precise(0x00ff_ffff_ffff_e484));
    check_fast_representable(cap, 0x00ff_ffff_ffff_e484, false);
}

#[test]
fn vector_08_large_exponent_fast_check() {
    let cap = decoded(0x8000_0000_0001_0007, 0x40_f0e0, 0, 0x4000_0000_0000_0000, 48);
    check_fast_representable(cap, u64::MAX, true);
}

#[test]
fn vector_09_invalid_exponent_never_representable() {
    let cap = Cap::from_parts(false, 0x4, 0);
    let bounds = cap.bounds();
    assert_eq!((bounds.base, bounds.top, bounds.valid), (0, TOP, false));
    assert_eq!(cap.exponent(), 59);
    assert!(!cap.is_representable_precise(0));
    check_fast_representable(cap, 0, false);
    let tagged = Cap::from_parts(true, 0x4, 0);
    assert!(!tagged.set_value(0).tag());
    assert!(!tagged.add(0).tag());
    assert!(!tagged.set_offset(0).tag());
}

#[test]
fn vector_10_invalid_new_address_changes_bounds() {
    let cap = decoded(
        0x0030_0000_0002_23ff,
        0xff2b_55fe_ff39_ffff,
        0x0023_f800_0000_0000,
        0x0080_0000_0000_0000,
        40,
    );
    let new_address: u64 = 0x9090_9090_9090_ff16;
    // The fast check alone passes; the bit-55 rule is what rejects the move.
    assert!(cap.is_representable_fast(new_address.wrapping_sub(cap.value())));
    assert!(!cap.is_representable_precise(new_address));
    let moved = Cap::from_parts(false, cap.metadata(), new_address);
    assert_eq!((moved.base(), moved.top()), (0xff23_f800_0000_0000, 0xff80_0000_0000_0000));
    assert_eq!(moved.exponent(), 40);
    let tagged = Cap::from_parts(true, cap.metadata(), cap.value());
    assert!(!tagged.set_value(new_address).tag());
    assert!(!tagged.add(new_address.wrapping_sub(cap.value())).tag());
}

#[test]
fn vector_11_set_bounds_with_high_bits() {
    let cap = Cap::root().set_value(0xFF00_0000_0000_0944);
    assert!(cap.tag());
    let result = cap.set_bounds(16, false);
    assert!(result.exact);
    assert_eq!(result.cap.value(), 0xFF00_0000_0000_0944);
    assert_eq!((result.cap.base(), result.cap.top(), result.cap.length()), (0x944, 0x954, 16));
    assert!(!result.cap.tag(), "the large-to-small flags rule clears the tag");
}

#[test]
fn vector_12_fuzzer_behaviour_difference() {
    // All permissions, no internal exponent, B = 0xbef8, T[13:0] = 0x00f8.
    let cap = decoded(0xFFFF_C000_40F8_BEF8, 0xff00_01ff_ffff_0011, 0x1ff_fffe_bef8, 0x1ff_fffe_c0f8, 0);
    assert!(!cap.is_internal_exponent());
    let result = cap.set_bounds(0xffff_ff72_7272_7272, false);
    assert_eq!(result.cap.value(), 0xff00_01ff_ffff_0011);
    assert_eq!((result.cap.base(), result.cap.top()), (0, TOP | 0x0020_0000_0000_0000));
    assert_eq!(result.cap.length(), TOP | 0x0020_0000_0000_0000);
    assert_eq!(result.cap.exponent(), 50);
    assert!(!result.exact);
    assert!(!result.cap.tag());
}

#[test]
fn vector_13_fuzzer_incorrect_exact_result() {
    let cap = Cap::from_parts(true, 0x27ff_0000_3ff1_fe07, 0xfe00_0000_0000_0000);
    assert_eq!(
        (cap.base(), cap.top(), cap.exponent()),
        (0xfe00_0000_0000_0000, TOP | 0x3ff0_0000_0000_0000, 48)
    );
    let result = cap.set_bounds(0x2300_0000_0000_0000, false);
    assert!(result.exact);
    assert!(!result.cap.tag(), "the requested top is above 2^64 + the old top's low bits");
    assert_eq!(result.cap.metadata(), 0x27ff_0000_0202_fc00);
    assert_eq!(result.cap.exponent(), 47);
    assert!(result.cap.is_internal_exponent());
    assert_eq!((result.cap.base(), result.cap.top()), (0xfe00_0000_0000_0000, TOP | 0x2100_0000_0000_0000));
}

#[test]
fn vector_14_rounded_top_above_existing_top() {
    let cap = Cap::root().set_value(0x3eff_ffff_0000_0000);
    let result = cap.set_bounds(0x3723_2b00_00f6, false);
    assert!(!result.cap.tag());
    assert_eq!(result.cap.value(), 0x3eff_ffff_0000_0000);
    assert_eq!((result.cap.base(), result.cap.top()), (0xffff_fffc_0000_0000, TOP | 0x3724_0000_0000));
    assert_eq!(result.cap.exponent(), 31);
    assert!(!result.exact);
}

#[test]
fn vector_15_set_value_to_base() {
    let cap = decoded(
        0xa98a_a9a9_bf79_a9ae,
        0xada9_a9a9_a9e9_a9f4,
        0x5350_0000_0000_0000,
        TOP | 0xfef0_0000_0000_0000,
        49,
    );
    assert!(cap.is_representable_precise(0x5350_0000_0000_0000));
    check_fast_representable(cap, 0x5350_0000_0000_0000, true);
}

#[test]
fn vector_16_zero_length_at_top() {
    let cap = bounded(12345, 1, 12346);
    let result = cap.set_bounds(0, false);
    assert!(result.exact);
    assert!(result.cap.tag());
    assert_eq!((result.cap.base(), result.cap.top()), (12346, 12346));
}

#[test]
fn vector_17_set_bounds_beyond_zero_length() {
    let cap = bounded(0x10_3060, 0, 0x10_3060);
    let result = cap.set_bounds(8, false);
    assert!(result.exact);
    assert!(!result.cap.tag());
    assert_eq!((result.cap.base(), result.cap.top()), (0x10_3060, 0x10_3068));
}

#[test]
fn vector_18_set_bounds_creating_larger_cap() {
    let cap = bounded(0x401b_d000, 0x1000, 0x401b_dfe0);
    let result = cap.set_bounds(0xc0, false);
    assert!(result.exact);
    assert!(!result.cap.tag());
    assert_eq!((result.cap.base(), result.cap.top()), (0x401b_dfe0, 0x401b_e0a0));
}

#[test]
fn vector_19_max_size_representability() {
    let exact = |base: u64, length: u128| Cap::root().set_value(base).set_bounds_wide(length, false).exact;
    assert!(exact(0, TOP));
    assert!(exact(0, 0));
    assert!(!exact(0, TOP - 1));
    assert!(!exact(0xffff_ffff_ff00_0000, 0xff_ffff));
    let whole = Cap::root().set_bounds_wide(TOP, true).cap;
    assert!(whole.tag());
    assert_eq!((whole.base(), whole.top()), (0, TOP));
}

#[test]
fn vector_20_null() {
    let null = Cap::null();
    assert_eq!((null.base(), null.length(), null.top()), (0, TOP, TOP));
    assert!(null.bounds().valid);
    assert_eq!(null.permissions(), Permissions::EMPTY);
    assert_eq!(null.object_type(), 0);
    assert_eq!(null.exponent(), 63);
    assert_eq!((null.metadata(), null.value(), null.tag()), (0, 0, false));
    assert_eq!(null.to_bytes(), [0; 16]);
    assert_eq!(Cap::from_bytes([0; 16], false), null);
}

#[test]
fn root_is_cmax() {
    let root = Cap::root();
    assert!(root.tag());
    assert_eq!((root.metadata(), root.value()), (0xFFFF_C000_0001_0005, 0));
    assert_eq!(root.permissions(), Permissions::ALL);
    assert_eq!((root.exponent(), root.is_internal_exponent()), (50, true));
    assert_eq!((root.base(), root.top()), (0, TOP));
    assert!(!root.is_sealed());
}

#[test]
fn generated_test_harness_pcc() {
    let bytes = 0x2000_8000_0001_0007_0000_0000_0040_0000u128.to_le_bytes();
    let cap = Cap::from_bytes(bytes, true);
    assert_eq!(cap.permissions(), Permissions::EXECUTE | Permissions::EXECUTIVE);
    assert_eq!(cap.exponent(), 48);
    assert_eq!((cap.base(), cap.top(), cap.value()), (0, 1 << 62, 0x40_0000));
    assert_eq!(cap.to_bytes(), bytes);
}

/// A row of the computed set-bounds table.
type ComputedRow = (u64, u64, bool, u64, u32, bool, u64, u128);

/// FACTS §1.9 "Computed vectors": (base, length, exact, pesbt, E, IE, new base, new top).
#[rustfmt::skip]
const COMPUTED: [ComputedRow; 17] = [
    (0x1000, 0, true, 0xffffc00050001000, 0, false, 0x1000, 0x1000),
    (0x1000, 0x10, true, 0xffffc00050101000, 0, false, 0x1000, 0x1010),
    (0x1000, 0x100, true, 0xffffc00051001000, 0, false, 0x1000, 0x1100),
    (0x1000, 0x3fff, true, 0xffffc0004fff1000, 0, false, 0x1000, 0x4fff),
    (0x1000, 0x4000, true, 0xffffc00010071007, 0, true, 0x1000, 0x5000),
    (0x1000, 0x4001, false, 0xffffc000100f1007, 0, true, 0x1000, 0x5008),
    (0x1001, 0x4000, false, 0xffffc000100f1007, 0, true, 0x1000, 0x5008),
    (0x1008, 0x4000, true, 0xffffc000100f100f, 0, true, 0x1008, 0x5008),
    (0x1000, 0x8000, true, 0xffffc00008070806, 1, true, 0x1000, 0x9000),
    (0x1000, 0xfff9, false, 0xffffc00004070405, 2, true, 0x1000, 0x11000),
    (0x1000, 0x12345, false, 0xffffc0000cdf0405, 2, true, 0x1000, 0x13360),
    (0x1000, 0x100000, true, 0xffffc00000470041, 6, true, 0x1000, 0x101000),
    (0x1000, 0x1000001, false, 0xffffc000000e0005, 10, true, 0x0, 0x1002000),
    (0x80001234, 0x10000, false, 0xffffc0000497048d, 2, true, 0x80001220, 0x80011240),
    (0x80000000, 0x10000, true, 0xffffc00000070005, 2, true, 0x80000000, 0x80010000),
    (0x40001000, 0x123456, false, 0xffffc000091f0041, 6, true, 0x40001000, 0x40124600),
    (0x10000, 0xffff, false, 0xffffc00000074005, 2, true, 0x10000, 0x20000),
];

/// FACTS §1.7 RRMASK/RRLEN table: (length, RRMASK, RRLEN).
#[rustfmt::skip]
const RRMASK_RRLEN: [(u64, u64, u64); 14] = [
    (0, 0xFFFFFFFFFFFFFFFF, 0),
    (0x3FFF, 0xFFFFFFFFFFFFFFFF, 0x3FFF),
    (0x4000, 0xFFFFFFFFFFFFFFF8, 0x4000),
    (0x4001, 0xFFFFFFFFFFFFFFF8, 0x4008),
    (0x7FF8, 0xFFFFFFFFFFFFFFF0, 0x8000),
    (0x7FFF, 0xFFFFFFFFFFFFFFF0, 0x8000),
    (0x8000, 0xFFFFFFFFFFFFFFF0, 0x8000),
    (0xFFF0, 0xFFFFFFFFFFFFFFE0, 0x10000),
    (0xFFF9, 0xFFFFFFFFFFFFFFE0, 0x10000),
    (0x10000, 0xFFFFFFFFFFFFFFE0, 0x10000),
    (0x12345, 0xFFFFFFFFFFFFFFE0, 0x12360),
    (0x1000001, 0xFFFFFFFFFFFFE000, 0x1002000),
    (0x123456789, 0xFFFFFFFFFFE00000, 0x123600000),
    (0xFFFFFFFFFFFFFFFF, 0xFFE0000000000000, 0),
];

/// FACTS §1.9 "Computed vectors": root, value := base, SCBNDS length.
#[test]
fn computed_set_bounds_vectors() {
    for (base, length, exact, pesbt, exponent, internal, new_base, new_top) in COMPUTED {
        let start = Cap::root().set_value(base);
        let result = start.set_bounds(length, false);
        let cap = result.cap;
        let row = format!("base {base:#x} length {length:#x}: {cap:?}");
        assert_eq!(result.exact, exact, "{row}");
        assert_eq!(cap.metadata(), pesbt, "{row}");
        assert_eq!((cap.exponent(), cap.is_internal_exponent()), (exponent, internal), "{row}");
        assert_eq!((cap.base(), cap.top()), (new_base, new_top), "{row}");
        assert_eq!(cap.value(), base, "{row}");
        assert!(cap.tag(), "{row}");
        assert_eq!(cap.permissions(), Permissions::ALL, "{row}");
        // SCBNDSE keeps the same bits and keeps the tag only when exact.
        let strict = start.set_bounds(length, true);
        assert_eq!((strict.cap.metadata(), strict.cap.tag()), (pesbt, exact), "{row}");
    }
}

/// Lengths whose rounding overflows the mantissa, so SCBNDS bumps E by one (FACTS §1.7
/// step 5): (base, length, result pesbt), results from the Sail-generated C model. In
/// the first row only the bottom lost bits before the bump; the old T_ie[0] then sets
/// lostTop, which rounds the top up to 0x10020 to cover the requested 0x10010.
#[rustfmt::skip]
const EXPONENT_BUMP: [(u64, u64, u64); 7] = [
    (0x11, 0xffff, 0xffffc000000f0005),
    (0x1000, 0xfff8, 0xffffc00004070405),
    (0x1, 0xffff, 0xffffc00000070005),
    (0x3, 0x7fff, 0xffffc000000f0006),
    (0x8000_0011, 0xffff, 0xffffc000000f0005),
    (0x9, 0x3ffff, 0xffffc000000f0003),
    (0x12345, 0x1fffff, 0xffffc000024f0240),
];

#[test]
fn set_bounds_exponent_bump() {
    for (base, length, pesbt) in EXPONENT_BUMP {
        let start = Cap::root().set_value(base);
        let result = start.set_bounds(length, false);
        let row = format!("base {base:#x} length {length:#x}: {:?}", result.cap);
        assert_eq!(result.cap.metadata(), pesbt, "{row}");
        assert!(!result.exact && result.cap.tag(), "{row}");
        assert!(result.cap.base() <= base, "{row}");
        assert!(result.cap.top() >= u128::from(base) + u128::from(length), "{row}");
        assert!(!start.set_bounds_exact(length).tag(), "{row}");
    }
    let first = Cap::root().set_value(0x11).set_bounds_rounded(0xffff);
    assert_eq!((first.base(), first.top(), first.exponent()), (0, 0x10020, 2));
}

/// FACTS §1.9 "Complete 128-bit capabilities", built by derivation and decoded back.
#[test]
fn complete_capabilities() {
    let rw_perms = Permissions::from_bits_truncate(0x37041);
    let ro_perms = Permissions::from_bits_truncate(0x24041);
    let code_perms = Permissions::from_bits_truncate(0x2C243);
    assert_eq!(
        rw_perms,
        Permissions::LOAD
            | Permissions::STORE
            | Permissions::LOAD_CAP
            | Permissions::STORE_CAP
            | Permissions::STORE_LOCAL_CAP
            | Permissions::MUTABLE_LOAD
            | Permissions::GLOBAL
    );
    let data = bounded(0x8000_1000, 0x100, 0x8000_1000);
    let rw = data.clear_permissions(Permissions::ALL.difference(rw_perms));
    let ro = data.clear_permissions(Permissions::ALL.difference(ro_perms)).add(0x10);
    let code = bounded(0x4000_0000, 0x20_0000, 0x4000_0000)
        .clear_permissions(Permissions::ALL.difference(code_perms))
        .set_value(0x4000_0001);
    let sentry = code.seal_entry(SealForm::Rb);
    let sealer = Cap::root().set_value(5);
    let typed = bounded(0x1000, 0x20, 0x1000).seal(&sealer);
    let tebi = Cap::root().set_bounds_exact(1 << 40);
    // (capability, mem[15:8], mem[7:0], base, top, E)
    let table = [
        (rw, 0xdc10400051001000, 0x80001000, 0x80001000, 0x80001100, 0),
        (ro, 0x9010400051001000, 0x80001010, 0x80001000, 0x80001100, 0),
        (code, 0xb090c00000070000, 0x40000001, 0x40000000, 0x40200000, 7),
        (sentry, 0xb090c00080070000, 0x40000001, 0x40000000, 0x40200000, 7),
        (typed, 0xffffc002d0201000, 0x1000, 0x1000, 0x1020, 0),
        (tebi, 0xffffc00000040005, 0, 0, 1 << 40, 26),
    ];
    for (cap, metadata, value, base, top, exponent) in table {
        assert!(cap.tag(), "{cap:?}");
        assert_eq!((cap.metadata(), cap.value()), (metadata, value), "{cap:?}");
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&value.to_le_bytes());
        bytes[8..].copy_from_slice(&metadata.to_le_bytes());
        assert_eq!(cap.to_bytes(), bytes);
        let loaded = Cap::from_bytes(bytes, true);
        assert_eq!(loaded, cap);
        assert_eq!((loaded.base(), loaded.top(), loaded.exponent()), (base, top, exponent));
    }
    assert_eq!(sentry.object_type(), 1);
    assert_eq!(typed.object_type(), 5);
    assert_eq!(ro.permissions(), ro_perms);
}

/// FACTS §1.7 RRMASK/RRLEN table.
#[test]
fn representable_mask_and_length() {
    for (length, mask, rounded) in RRMASK_RRLEN {
        assert_eq!(representable_mask(length), mask, "RRMASK {length:#x}");
        assert_eq!(representable_length(length), rounded, "RRLEN {length:#x}");
    }
    // Where the library (LLVM) alignment is tighter than RRMASK.
    assert_eq!(required_alignment(0xFFF0), 0x10);
    assert_eq!(required_alignment(0x7FF8), 0x8);
    assert_eq!(required_alignment(0xFF_F000), 0x1000);
}

/// `required_alignment` is sufficient: an aligned base and top give exact bounds.
#[test]
fn required_alignment_gives_exact_bounds() {
    for length in
        [0x4000u64, 0x4001, 0x7FF8, 0xFFF0, 0xFFF9, 0x12345, 0x20_0000, 0x123_4567, 0xFFF0_0000_0000]
    {
        let align = required_alignment(length);
        let rounded = length.div_ceil(align) * align;
        let base = 0x40_0000_0000 - 3 * align;
        let result = Cap::root().set_value(base).set_bounds(rounded, true);
        assert!(result.exact && result.cap.tag(), "length {length:#x} align {align:#x}");
    }
}

/// FACTS §1.6: base 0x80001220, E = 2 gives the region [0x7FFF8000, 0x80038000).
#[test]
fn representable_region_example() {
    let cap = Cap::root().set_value(0x8000_1234).set_bounds_rounded(0x10000);
    assert_eq!((cap.base(), cap.exponent()), (0x8000_1220, 2));
    for (address, inside) in
        [(0x7FFF_7FFF, false), (0x8003_8000, false), (0x7FFF_8000u64, true), (0x8003_7FFF, true)]
    {
        assert_eq!(cap.is_representable_precise(address), inside, "{address:#x}");
        assert_eq!(cap.set_value(address).tag(), inside, "{address:#x}");
    }
    // The fast check (ADD) is stricter at the top: it stops one 2^E unit short
    // (`i_mid < diff - 1`); these outcomes are those of the Sail-generated C model.
    for (address, fast) in
        [(0x7FFF_8000u64, true), (0x8003_7FFB, true), (0x8003_7FFC, false), (0x8003_7FFF, false)]
    {
        let increment = address.wrapping_sub(cap.value());
        assert_eq!(cap.is_representable_fast(increment), fast, "{address:#x}");
        assert_eq!(cap.add(increment).tag(), fast, "{address:#x}");
    }
}
