//! Operands of the encoder: typed registers, condition codes, register extensions, the
//! permission set of `CLRPERM #imm` and the fixed object types of `SEAL #imm`, plus the
//! helpers that place them in a word and check immediates.
//!
//! Every check is an `assert!` inside a `const fn`: evaluated in a `const` context (an
//! `asm!` `const` operand, a `const` item) a bad operand is a compile error; called at run
//! time it panics.

/// A capability register, c0..c30, or 31.
///
/// What 31 means depends on the operand position: the encodings marked † in FACTS §2 read
/// it as CSP (the capability stack pointer), the others as CZR (the null capability when
/// read, discarded when written). [`C::CSP`] and [`C::CZR`] are the same number and only
/// say which one the caller means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct C(u8);

impl C {
    /// Register 31 where the encoding reads it as the capability stack pointer.
    pub const CSP: C = C(31);
    /// Register 31 where the encoding reads it as the null capability.
    pub const CZR: C = C(31);
    /// c29: the data capability of the sealed-pair branches and of `LDPBR`/`LDPBLR`.
    pub const SEALED_PAIR_DATA: C = C(29);
    /// c30: the capability link register.
    pub const LINK: C = C(30);

    /// Capability register `index` (0..=31).
    ///
    /// ```
    /// use intravisor::platform::morello::encoding::C;
    /// const STACK: C = C::new(31);
    /// assert_eq!(STACK, C::CSP);
    /// ```
    ///
    /// ```compile_fail
    /// use intravisor::platform::morello::encoding::C;
    /// const NONE: C = C::new(32);
    /// let _ = NONE;
    /// ```
    pub const fn new(index: u8) -> C {
        assert!(index <= 31, "capability registers are numbered 0..=31");
        C(index)
    }

    /// The register number, 0..=31.
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The register number shifted to the field that starts at bit `lsb`.
    pub(super) const fn at(self, lsb: u32) -> u32 {
        (self.0 as u32) << lsb
    }
}

/// A 64-bit general-purpose register, x0..x30, or 31.
///
/// 31 is SP in base-register positions (`[Xn|SP, …]`) and XZR elsewhere; [`X::SP`] and
/// [`X::ZR`] are the same number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct X(u8);

impl X {
    /// Register 31 as the stack pointer of a base-register position.
    pub const SP: X = X(31);
    /// Register 31 as the zero register.
    pub const ZR: X = X(31);

    /// General-purpose register `index` (0..=31).
    pub const fn new(index: u8) -> X {
        assert!(index <= 31, "general-purpose registers are numbered 0..=31");
        X(index)
    }

    /// The register number, 0..=31.
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The register number shifted to the field that starts at bit `lsb`.
    pub(super) const fn at(self, lsb: u32) -> u32 {
        (self.0 as u32) << lsb
    }
}

/// An A64 condition code (the `cond` field of `CSEL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `eq`: Z set.
    Equal = 0,
    /// `ne`: Z clear.
    NotEqual = 1,
    /// `hs`/`cs`: C set.
    CarrySet = 2,
    /// `lo`/`cc`: C clear.
    CarryClear = 3,
    /// `mi`: N set.
    Minus = 4,
    /// `pl`: N clear.
    Plus = 5,
    /// `vs`: V set.
    Overflow = 6,
    /// `vc`: V clear.
    NoOverflow = 7,
    /// `hi`: C set and Z clear.
    Higher = 8,
    /// `ls`: C clear or Z set.
    LowerOrSame = 9,
    /// `ge`: N equals V.
    GreaterOrEqual = 10,
    /// `lt`: N differs from V.
    LessThan = 11,
    /// `gt`: Z clear and N equals V.
    GreaterThan = 12,
    /// `le`: Z set or N differs from V.
    LessOrEqual = 13,
    /// `al`: always.
    Always = 14,
}

/// How `ADD Cd, Cn, Xm, <extend> #amount` widens Xm (the `option` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extend {
    /// Zero-extend the low byte.
    Uxtb = 0,
    /// Zero-extend the low halfword.
    Uxth = 1,
    /// Zero-extend the low word.
    Uxtw = 2,
    /// The whole doubleword (`lsl`).
    Uxtx = 3,
    /// Sign-extend the low byte.
    Sxtb = 4,
    /// Sign-extend the low halfword.
    Sxth = 5,
    /// Sign-extend the low word.
    Sxtw = 6,
    /// The whole doubleword, signed.
    Sxtx = 7,
}

/// The permissions `CLRPERM Cd, Cn, <r|w|x…>` clears (the 3-bit `perm` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RwxPermissions(u8);

impl RwxPermissions {
    /// `x`: the Execute permission (field bit 0).
    pub const EXECUTE: RwxPermissions = RwxPermissions(0b001);
    /// `w`: the Store permission (field bit 1).
    pub const WRITE: RwxPermissions = RwxPermissions(0b010);
    /// `r`: the Load permission (field bit 2).
    pub const READ: RwxPermissions = RwxPermissions(0b100);
    /// `rwx`: all three.
    pub const ALL: RwxPermissions = RwxPermissions(0b111);

    /// Both sets together.
    pub const fn union(self, other: RwxPermissions) -> RwxPermissions {
        RwxPermissions(self.0 | other.0)
    }

    /// The 3-bit field value.
    pub const fn bits(self) -> u32 {
        self.0 as u32
    }
}

/// The fixed object types `SEAL Cd, Cn, <form>` seals with (FACTS §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealForm {
    /// `rb`, object type 1: a sentry, unsealed by any capability branch to it.
    RestrictedBranch = 1,
    /// `lpb`, object type 2: unsealed by `LDPBR`/`LDPBLR c29, [Cn]` before the load.
    LoadPairBranch = 2,
    /// `lb`, object type 3: unsealed by `BR`/`BLR [c29, #imm]` before the load.
    LoadBranch = 3,
}

/// `offset` divided by `scale`, checked to be a multiple of `scale` that fits `bits`
/// unsigned bits.
pub(super) const fn unsigned_scaled(offset: u32, scale: u32, bits: u32) -> u32 {
    assert!(offset.is_multiple_of(scale), "the offset must be a multiple of the access size");
    let scaled = offset / scale;
    assert!(scaled < (1 << bits), "the offset is out of range for this encoding");
    scaled
}

/// `offset` divided by `scale` as a `bits`-wide two's-complement field, checked to be a
/// multiple of `scale` that fits.
pub(super) const fn signed_scaled(offset: i32, scale: i32, bits: u32) -> u32 {
    assert!(offset % scale == 0, "the offset must be a multiple of the access size");
    let scaled = offset / scale;
    let limit = 1i32 << (bits - 1);
    assert!(scaled >= -limit && scaled < limit, "the offset is out of range for this encoding");
    (scaled as u32) & ((1u32 << bits) - 1)
}
