//! The `Cap` type: the 129-bit Morello capability stored as its own encoding (FACTS §1.1,
//! §1.2), its field accessors, and bounds decoding (§1.5, Sail `CapGetBounds`).
//!
//! A `Cap` is the tag plus the two 64-bit halves of the 128-bit pattern: `metadata`
//! (bits 127:64, "pesbt") and `value` (bits 63:0). Nothing is cached, so the bytes that
//! go in come out unchanged and every derived property (bounds, exponent, permissions)
//! is computed from them the way the hardware does.

use core::fmt;

use super::permissions::Permissions;

/// Bit positions inside the metadata word (capability bit `64 + n` is metadata bit `n`).
pub(crate) mod layout {
    /// Lowest metadata bit of the 18-bit permission field (capability bit 110).
    pub(crate) const PERMS_SHIFT: u32 = 46;
    /// Lowest metadata bit of the 15-bit object type (capability bit 95).
    pub(crate) const OTYPE_SHIFT: u32 = 31;
    /// Mask of the object type once shifted down.
    pub(crate) const OTYPE_MASK: u64 = 0x7FFF;
    /// The IE bit (capability bit 94): 0 means an internal exponent is present.
    pub(crate) const IE_BIT: u64 = 1 << 30;
    /// Lowest metadata bit of the T field (capability bit 80).
    pub(crate) const T_SHIFT: u32 = 16;
    /// The 14-bit T field once shifted down.
    pub(crate) const T_MASK: u64 = 0x3FFF;
    /// The 16-bit B field (capability bits 79:64).
    pub(crate) const B_MASK: u64 = 0xFFFF;
    /// The three low bits of B or T that hold half of the inverted exponent when IE.
    pub(crate) const EXP_HALF_MASK: u64 = 0b111;
}

/// Mantissa width (Sail `CAP_MW`).
pub(crate) const MANTISSA_WIDTH: u32 = 16;
/// Largest exponent that decodes to valid, value-relative bounds (Sail `CAP_MAX_EXPONENT`).
pub(crate) const MAX_EXPONENT: u32 = 50;
/// The exponent meaning "whole address space, valid" (Sail `CAP_MAX_ENCODEABLE_EXPONENT`).
pub(crate) const MAX_ENCODABLE_EXPONENT: u32 = 63;
/// Exponents below this take the upper bound bits from the value (Sail `CapBoundsUsesValue`).
pub(crate) const VALUE_EXPONENT_LIMIT: u32 = 64 - MANTISSA_WIDTH;
/// 2^64, the largest top.
pub(crate) const TOP_MAX: u128 = 1 << 64;
/// Mask of a 65-bit quantity (tops and lengths).
pub(crate) const MASK_65: u128 = (1 << 65) - 1;
/// The largest object type (Sail `CAP_MAX_OBJECT_TYPE`).
pub const MAX_OBJECT_TYPE: u64 = 0x7FFF;

/// Metadata of CMAX, the reset PCC/DDC (FACTS §1.8).
const ROOT_METADATA: u64 = 0xFFFF_C000_0001_0005;

/// Decoded bounds of a capability: `[base, top)` with a 65-bit top.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// Lowest address the capability authorises.
    pub base: u64,
    /// One past the highest address; at most 2^64.
    pub top: u128,
    /// False when the exponent is out of range (51..=62): the bounds then read as
    /// `[0, 2^64)` but authorise nothing.
    pub valid: bool,
}

/// A Morello capability: tag, metadata (bits 127:64) and value (bits 63:0).
///
/// The stored bits are the architectural encoding, so `from_bytes`/`to_bytes` and
/// `from_parts`/`metadata`/`value` are exact inverses. All operations return a new
/// `Cap` and clear the tag where the architecture does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cap {
    pub(crate) tag: bool,
    pub(crate) metadata: u64,
    pub(crate) value: u64,
}

/// Sign-extends bits 55:0 of a value, ignoring the flags byte (Sail `CapBoundsAddress`).
#[must_use]
pub(crate) const fn bounds_address(value: u64) -> u64 {
    (((value << 8) as i64) >> 8) as u64
}

/// Bit 55 of a value, the bit that acts as the sign of the bounds address.
#[must_use]
pub(crate) const fn sign_bit(value: u64) -> bool {
    value & (1 << 55) != 0
}

impl Cap {
    /// Builds a capability from its three parts, exactly as given.
    #[must_use]
    pub const fn from_parts(tag: bool, metadata: u64, value: u64) -> Self {
        Self { tag, metadata, value }
    }

    /// Builds a capability from its 16-byte memory image (bytes 0..8 = value,
    /// bytes 8..16 = metadata, both little-endian) and the out-of-band tag.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 16], tag: bool) -> Self {
        let mut value = [0u8; 8];
        let mut metadata = [0u8; 8];
        value.copy_from_slice(&bytes[..8]);
        metadata.copy_from_slice(&bytes[8..]);
        Self::from_parts(tag, u64::from_le_bytes(metadata), u64::from_le_bytes(value))
    }

    /// The 16-byte memory image of the capability (the tag is kept out of band).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.value.to_le_bytes());
        bytes[8..].copy_from_slice(&self.metadata.to_le_bytes());
        bytes
    }

    /// The NULL capability: all 129 bits zero (bounds `[0, 2^64)`, no permissions).
    #[must_use]
    pub const fn null() -> Self {
        Self::from_parts(false, 0, 0)
    }

    /// CMAX, the maximum capability: tagged, all permissions, unsealed, `[0, 2^64)`,
    /// value 0. Every capability the intravisor hands out is derived from it.
    #[must_use]
    pub const fn root() -> Self {
        Self::from_parts(true, ROOT_METADATA, 0)
    }

    /// The validity tag.
    #[must_use]
    pub const fn tag(&self) -> bool {
        self.tag
    }

    /// Bits 127:64 of the capability ("pesbt").
    #[must_use]
    pub const fn metadata(&self) -> u64 {
        self.metadata
    }

    /// Bits 63:0 of the capability: the address, including the flags byte 63:56.
    #[must_use]
    pub const fn value(&self) -> u64 {
        self.value
    }

    /// The 18 permission bits.
    #[must_use]
    pub const fn permissions(&self) -> Permissions {
        Permissions::from_bits_truncate((self.metadata >> layout::PERMS_SHIFT) as u32)
    }

    /// The 15-bit object type; 0 means unsealed.
    #[must_use]
    pub const fn object_type(&self) -> u16 {
        ((self.metadata >> layout::OTYPE_SHIFT) & layout::OTYPE_MASK) as u16
    }

    /// True if the object type is not zero.
    #[must_use]
    pub const fn is_sealed(&self) -> bool {
        self.object_type() != 0
    }

    /// True if the bounds carry an internal exponent (bit 94 clear).
    #[must_use]
    pub const fn is_internal_exponent(&self) -> bool {
        self.metadata & layout::IE_BIT == 0
    }

    /// The exponent E (0..=63): the inverted split field when IE, otherwise 0.
    #[must_use]
    pub const fn exponent(&self) -> u32 {
        if !self.is_internal_exponent() {
            return 0;
        }
        let high = (self.metadata >> layout::T_SHIFT) & layout::EXP_HALF_MASK;
        let low = self.metadata & layout::EXP_HALF_MASK;
        (!((high << 3) | low) & 0x3F) as u32
    }

    /// True for exponents 51..=62, whose bounds are invalid.
    #[must_use]
    pub const fn is_exponent_out_of_range(&self) -> bool {
        let exponent = self.exponent();
        exponent > MAX_EXPONENT && exponent < MAX_ENCODABLE_EXPONENT
    }

    /// The 16-bit bottom mantissa B (Sail `CapGetBottom`).
    #[must_use]
    pub(crate) const fn bottom_field(&self) -> u64 {
        let b = self.metadata & layout::B_MASK;
        if self.is_internal_exponent() {
            b & !layout::EXP_HALF_MASK
        } else {
            b
        }
    }

    /// The 16-bit top mantissa T with its two reconstructed top bits (Sail `CapGetTop`).
    #[must_use]
    pub(crate) const fn top_field(&self) -> u64 {
        let bottom = self.bottom_field();
        let raw = (self.metadata >> layout::T_SHIFT) & layout::T_MASK;
        let (t, msb) = if self.is_internal_exponent() { (raw & !layout::EXP_HALF_MASK, 1) } else { (raw, 0) };
        let carry = if t < bottom & 0x3FFF { 1 } else { 0 };
        let high = ((bottom >> 14) + msb + carry) & 0b11;
        (high << 14) | t
    }

    /// Decodes the bounds exactly as Sail `CapGetBounds` (FACTS §1.5).
    #[must_use]
    pub fn bounds(&self) -> Bounds {
        let exponent = self.exponent();
        if exponent == MAX_ENCODABLE_EXPONENT {
            return Bounds { base: 0, top: TOP_MAX, valid: true };
        }
        if exponent > MAX_EXPONENT {
            return Bounds { base: 0, top: TOP_MAX, valid: false };
        }
        let bottom = self.bottom_field();
        let top = self.top_field();
        // 66-bit arithmetic in u128; E + 16 <= 66 here.
        let mut base = u128::from(bottom) << exponent;
        let mut limit = u128::from(top) << exponent;
        let address = u128::from(bounds_address(self.value));
        let a3 = (address >> (exponent + 13)) & 0b111;
        let b3 = u128::from(bottom >> 13);
        let t3 = u128::from(top >> 13);
        let r3 = b3.wrapping_sub(1) & 0b111;
        let a_hi = i64::from(a3 < r3);
        let correction_base = i64::from(b3 < r3) - a_hi;
        let correction_limit = i64::from(t3 < r3) - a_hi;
        if exponent < MAX_EXPONENT {
            let shift = exponent + MANTISSA_WIDTH;
            let width_mask = (1u128 << (66 - shift)) - 1;
            let low_mask = (1u128 << shift) - 1;
            let a_top = address >> shift;
            let base_hi = a_top.wrapping_add_signed(i128::from(correction_base)) & width_mask;
            let limit_hi = a_top.wrapping_add_signed(i128::from(correction_limit)) & width_mask;
            base = (base & low_mask) | (base_hi << shift);
            limit = (limit & low_mask) | (limit_hi << shift);
        }
        let l2 = (limit >> 63) & 0b11;
        let b2 = (base >> 63) & 0b1;
        if exponent < MAX_EXPONENT - 1 && (l2.wrapping_sub(b2) & 0b11) > 1 {
            limit ^= 1 << 64;
        }
        Bounds { base: base as u64, top: limit & MASK_65, valid: true }
    }

    /// The decoded base (GCBASE).
    #[must_use]
    pub fn base(&self) -> u64 {
        self.bounds().base
    }

    /// The decoded 65-bit top.
    #[must_use]
    pub fn top(&self) -> u128 {
        self.bounds().top
    }

    /// `top - base` in 65-bit arithmetic (Sail `CapGetLength`; GCLEN saturates it to
    /// 2^64 - 1).
    #[must_use]
    pub fn length(&self) -> u128 {
        let bounds = self.bounds();
        bounds.top.wrapping_sub(u128::from(bounds.base)) & MASK_65
    }

    /// `value - base`, modulo 2^64 (GCOFF).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.value.wrapping_sub(self.base())
    }

    /// True if the value lies in `[base, top)` and the bounds are valid (Sail
    /// `CapIsInBounds`).
    #[must_use]
    pub fn is_value_in_bounds(&self) -> bool {
        let bounds = self.bounds();
        bounds.valid && self.value >= bounds.base && u128::from(self.value) < bounds.top
    }

    /// The same bits with the tag cleared.
    #[must_use]
    pub const fn clear_tag(&self) -> Self {
        Self::from_parts(false, self.metadata, self.value)
    }

    /// The same bits with the tag cleared when `keep` is false.
    #[must_use]
    pub(crate) const fn keep_tag_if(self, keep: bool) -> Self {
        Self::from_parts(self.tag && keep, self.metadata, self.value)
    }
}

impl fmt::Debug for Cap {
    /// Shows the raw parts and the decoded fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bounds = self.bounds();
        f.debug_struct("Cap")
            .field("tag", &self.tag)
            .field("metadata", &format_args!("{:#018x}", self.metadata))
            .field("value", &format_args!("{:#018x}", self.value))
            .field("base", &format_args!("{:#x}", bounds.base))
            .field("top", &format_args!("{:#x}", bounds.top))
            .field("valid", &bounds.valid)
            .field("exponent", &self.exponent())
            .field("object_type", &self.object_type())
            .field("permissions", &self.permissions())
            .finish()
    }
}
