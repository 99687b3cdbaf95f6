//! Representability checks (FACTS §1.6): can the value move while the compressed bounds
//! still decode to the same region?
//!
//! Two checks exist in the architecture and both are modelled bit for bit: the precise
//! one (Sail `CapIsRepresentable`, used by SCVALUE) re-decodes with the new value, the
//! fast one (Sail `CapIsRepresentableFast`, used by CapAdd: ADD, SUB, SCOFF) looks only at
//! the increment and the top three mantissa bits. Neither includes the Morello bit-55
//! rule; the operations in `derive.rs` apply it on top.

use super::encoding::{bounds_address, Cap, MANTISSA_WIDTH, MAX_EXPONENT};

impl Cap {
    /// Precise check (Sail `CapIsRepresentable`): true if the capability with its value
    /// replaced by `new_value` decodes to the same bounds, and both decodes are valid.
    ///
    /// So a capability with an out-of-range exponent is never representable, not even
    /// at its current value.
    #[must_use]
    pub fn is_representable_precise(&self, new_value: u64) -> bool {
        let old = self.bounds();
        let moved = Cap::from_parts(self.tag, self.metadata, new_value).bounds();
        old.base == moved.base && old.top == moved.top && old.valid && moved.valid
    }

    /// Fast check (Sail `CapIsRepresentableFast`) for `value + increment`.
    ///
    /// It always passes when the exponent is 48 or more (including the out-of-range
    /// exponents, which `add` rejects separately). Otherwise the increment and the value
    /// are read as bounds addresses (flags byte ignored, sign at bit 55) and compared
    /// against the representable-region edge `R = (B[15:13] - 1) << 13` in units of 2^E.
    #[must_use]
    pub fn is_representable_fast(&self, increment: u64) -> bool {
        let exponent = self.exponent();
        if exponent >= MAX_EXPONENT - 2 {
            return true;
        }
        let address = bounds_address(self.value);
        let increment = bounds_address(increment);
        let i_top = (increment as i64) >> (exponent + MANTISSA_WIDTH);
        let i_mid = (increment >> exponent) & 0xFFFF;
        let a_mid = (address >> exponent) & 0xFFFF;
        let b3 = self.bottom_field() >> 13;
        let r3 = b3.wrapping_sub(1) & 0b111;
        let r = r3 << 13;
        let diff = r.wrapping_sub(a_mid) & 0xFFFF;
        let diff1 = diff.wrapping_sub(1) & 0xFFFF;
        match i_top {
            0 => i_mid < diff1,
            -1 => i_mid >= diff && r != a_mid,
            _ => false,
        }
    }
}
