//! Narrowing bounds: SCBNDS/SCBNDSE (Sail `CapSetBounds`, FACTS §1.7) and the alignment
//! helpers RRMASK/RRLEN (Sail `CapGetRepresentableMask`) and `required_alignment`
//! (LLVM `getMorelloRequiredAlignment`).
//!
//! `set_bounds` follows the Sail function step by step in 66-bit arithmetic (held in
//! `u128`): exponent from the length, the 13-bit mantissas, lostTop/lostBottom, the E+1
//! bump, the field write, and the four tag-clearing rules.

use super::encoding::{
    bounds_address, layout, Cap, MANTISSA_WIDTH, MAX_EXPONENT, TOP_MAX, VALUE_EXPONENT_LIMIT,
};

/// The result of `Cap::set_bounds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetBoundsResult {
    /// The new capability (value unchanged, new bounds, tag per the Sail rules).
    pub cap: Cap,
    /// True if no bit was lost to rounding: the new bounds are exactly
    /// `[value, value + length)` (taking the value as the bounds address).
    pub exact: bool,
}

/// The 13-bit mantissa mask used with an internal exponent.
const MANTISSA_IE_MASK: u128 = 0x1FFF;

impl Cap {
    /// SCBNDS (`exact == false`) or SCBNDSE (`exact == true`) with a 64-bit length.
    ///
    /// The new bounds start at the value and are `length` long, rounded outwards (base
    /// down, top up) to multiples of 2^(E+3) when the length needs an internal exponent.
    /// The tag is cleared if the requested (unrounded) range is not inside the old
    /// bounds or the old bounds are invalid, if the Morello flags rule fires, if `exact`
    /// is set and rounding happened, or if the input is sealed.
    #[must_use]
    pub fn set_bounds(&self, length: u64, exact: bool) -> SetBoundsResult {
        self.set_bounds_wide(u128::from(length), exact)
    }

    /// SCBNDSE: exact bounds or an untagged result. Returns the new capability.
    #[must_use]
    pub fn set_bounds_exact(&self, length: u64) -> Cap {
        self.set_bounds(length, true).cap
    }

    /// SCBNDS: bounds rounded outwards as needed. Returns the new capability.
    #[must_use]
    pub fn set_bounds_rounded(&self, length: u64) -> Cap {
        self.set_bounds(length, false).cap
    }

    /// `set_bounds` with the 65-bit length of the Sail function, so that a length of
    /// 2^64 can be requested (no instruction can, since Xm is 64 bits). Lengths above
    /// 2^64, which Sail rules out by assertion, are treated as 2^64.
    #[must_use]
    pub fn set_bounds_wide(&self, length: u128, exact: bool) -> SetBoundsResult {
        let length = length.min(TOP_MAX);
        // Step 1: E = 50 - CLZ(L[64:15]), i.e. msb(L) - 14 for L >= 2^15.
        let mut exponent =
            if length >> (MANTISSA_WIDTH - 1) == 0 { 0 } else { length.ilog2() - (MANTISSA_WIDTH - 2) };
        // Step 2: an internal exponent is needed unless E == 0 and L[14] == 0.
        let internal = exponent != 0 || length & (1 << (MANTISSA_WIDTH - 2)) != 0;
        // Step 3: the requested range, in 66-bit arithmetic.
        let uses_value = self.exponent() < VALUE_EXPONENT_LIMIT;
        let value = self.value;
        let base_address = if uses_value { bounds_address(value) } else { value };
        let req_base = u128::from(base_address);
        let req_top = req_base + length;
        // Steps 4 and 5: the mantissas.
        let mut bottom_bits = req_base & 0xFFFF;
        let mut top_bits = req_top & 0xFFFF;
        let mut lost_bottom = false;
        let mut lost_top = false;
        if internal {
            let mut b_ie = (req_base >> (exponent + 3)) & MANTISSA_IE_MASK;
            let mut t_ie = (req_top >> (exponent + 3)) & MANTISSA_IE_MASK;
            let mask_low = (1u128 << (exponent + 3)) - 1;
            lost_bottom = req_base & mask_low != 0;
            lost_top = req_top & mask_low != 0;
            if lost_top {
                t_ie = (t_ie + 1) & MANTISSA_IE_MASK;
            }
            let l_ie = t_ie.wrapping_sub(b_ie) & MANTISSA_IE_MASK;
            if l_ie & (1 << (MANTISSA_WIDTH - 4)) != 0 {
                // The rounded length overflowed the mantissa: one more exponent step.
                // (A bump implies a bit was already lost, so the lostBottom update never
                // changes `exact`; the lostTop one can change the rounded top.)
                lost_bottom |= b_ie & 1 != 0;
                lost_top |= t_ie & 1 != 0;
                b_ie = (req_base >> (exponent + 4)) & MANTISSA_IE_MASK;
                t_ie = (req_top >> (exponent + 4)) & MANTISSA_IE_MASK;
                if lost_top {
                    t_ie = (t_ie + 1) & MANTISSA_IE_MASK;
                }
                exponent += 1;
            }
            bottom_bits = b_ie << 3;
            top_bits = t_ie << 3;
        }
        debug_assert!(exponent <= MAX_EXPONENT);

        // Step 7, first rule: the requested range must lie in the old, valid bounds.
        let old = self.bounds();
        let inside = req_base >= u128::from(old.base) && req_top <= old.top && old.valid;

        // Step 6: write the fields; everything else (value, permissions, otype) is kept.
        let bottom_bits = bottom_bits as u64;
        let top_bits = top_bits as u64;
        let mut metadata =
            self.metadata & !(layout::IE_BIT | (layout::T_MASK << layout::T_SHIFT) | layout::B_MASK);
        let (low_three_b, low_three_t) = if internal {
            let inverted = !u64::from(exponent);
            (inverted & 0b111, (inverted >> 3) & 0b111)
        } else {
            metadata |= layout::IE_BIT;
            (bottom_bits & 0b111, top_bits & 0b111)
        };
        metadata |= (bottom_bits & 0xFFF8) | low_three_b;
        metadata |= ((top_bits & 0x3FF8) | low_three_t) << layout::T_SHIFT;

        // Step 7, second rule: going from large (E >= 48) to small (E < 48) bounds
        // needs a value whose flags byte is the sign-extension of bit 55.
        let to_small = exponent < VALUE_EXPONENT_LIMIT;
        let flags_ok = uses_value || !to_small || bounds_address(value) == value;
        let exact_result = !(lost_bottom || lost_top);
        let keep = inside && flags_ok && (exact_result || !exact) && !self.is_sealed();
        SetBoundsResult {
            cap: Cap::from_parts(self.tag, metadata, value).keep_tag_if(keep),
            exact: exact_result,
        }
    }
}

/// RRMASK (Sail `CapGetRepresentableMask`): the alignment mask for the base of a region
/// of `length` bytes so that SCBNDSE can make it exact when `length` is also rounded
/// with `representable_length`.
///
/// Computed as the instruction does: set bounds, not exact, on NULL whose value is the
/// worst-case base `!length`, then `!0 << (E + 3)` if the result has an internal
/// exponent, all ones otherwise.
#[must_use]
pub fn representable_mask(length: u64) -> u64 {
    let probe = Cap::from_parts(false, 0, !length).set_bounds(length, false).cap;
    if probe.is_internal_exponent() {
        u64::MAX << (probe.exponent() + 3)
    } else {
        u64::MAX
    }
}

/// RRLEN: `length` rounded up to a multiple of the RRMASK alignment, modulo 2^64
/// (so the largest lengths wrap to 0, as on the hardware).
#[must_use]
pub fn representable_length(length: u64) -> u64 {
    let mask = representable_mask(length);
    length.wrapping_add(!mask) & mask
}

/// The alignment (a power of two) that base and top must both have for a region of
/// `length` bytes to get exact bounds, per LLVM `getMorelloRequiredAlignment`.
///
/// This is tighter than RRMASK for lengths whose top twelve bits are all ones and whose
/// low bits are already aligned (for 0xFFF0 it is 0x10, RRMASK asks for 0x20): when the
/// region's base and top are both multiples of it, `set_bounds_exact` is exact. The
/// length is rounded in 128-bit arithmetic so that lengths near 2^64 do not wrap.
#[must_use]
pub fn required_alignment(length: u64) -> u64 {
    let exponent_of = |length: u128| -> u32 {
        if length >> (MANTISSA_WIDTH - 1) == 0 {
            0
        } else {
            length.ilog2() - (MANTISSA_WIDTH - 2)
        }
    };
    let length = u128::from(length);
    let exponent = exponent_of(length);
    if exponent == 0 && length & (1 << (MANTISSA_WIDTH - 2)) == 0 {
        return 1;
    }
    let step = 1u128 << (exponent + 3);
    let rounded = (length + step - 1) & !(step - 1);
    1u64 << (exponent_of(rounded) + 3)
}

#[cfg(test)]
mod tests {
    use super::{representable_mask, required_alignment};

    /// The closed form of FACTS §1.7 (derived there from the Sail port).
    fn closed_form_mask(length: u64) -> u64 {
        if length < 1 << 14 {
            return u64::MAX;
        }
        let mut shift = (63 - length.leading_zeros()) - 11;
        if length >> shift == 0xFFF {
            shift += 1;
        }
        u64::MAX << shift
    }

    #[test]
    fn mask_matches_the_closed_form() {
        let mut length: u64 = 0x9E37_79B9_7F4A_7C15;
        for shift in 0..64 {
            for low in [0u64, 1, 7, 8, 0x3FFF, 0x4000] {
                for candidate in [1u64 << shift, (1u64 << shift).wrapping_sub(1), length >> shift] {
                    let probe = candidate.wrapping_add(low);
                    assert_eq!(representable_mask(probe), closed_form_mask(probe), "{probe:#x}");
                }
            }
            length = length.rotate_left(7) ^ 0x5851_F42D_4C95_7F2D;
        }
    }

    #[test]
    fn alignment_of_small_and_large_lengths() {
        assert_eq!(required_alignment(0), 1);
        assert_eq!(required_alignment(0x3FFF), 1);
        assert_eq!(required_alignment(0x4000), 8);
        assert_eq!(required_alignment(0xFFF0), 0x10);
        assert_eq!(required_alignment(0xFFF9), 0x20);
        assert_eq!(required_alignment(0x20_0000), 0x400);
        assert_eq!(required_alignment(u64::MAX), 1 << 53);
    }
}
