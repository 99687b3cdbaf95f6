//! The fault status code of an instruction or data abort (DFSC/IFSC, ISS[5:0]), with
//! Morello's capability faults 0x28..=0x2C (FACTS §4.3; the other codes are the A64 ones,
//! as Sail `EncodeLDFSC` produces them).

use core::fmt;

/// A Morello capability fault (DFSC/IFSC 0x28..=0x2C), in the order the hardware checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapabilityFault {
    /// 0x28: the authorising capability (Cn, DDC or PCC) is untagged.
    Tag,
    /// 0x29: the authorising capability is sealed.
    Sealed,
    /// 0x2A: the access is outside the bounds, or the bounds are invalid.
    Bounds,
    /// 0x2B: a required permission is missing.
    Permission,
    /// 0x2C: the page-table capability bits forbid a tag load or store.
    PagePermission,
}

impl CapabilityFault {
    /// The fault of a status code, if it is a capability one.
    pub const fn from_status_code(code: u8) -> Option<CapabilityFault> {
        match code {
            0x28 => Some(CapabilityFault::Tag),
            0x29 => Some(CapabilityFault::Sealed),
            0x2A => Some(CapabilityFault::Bounds),
            0x2B => Some(CapabilityFault::Permission),
            0x2C => Some(CapabilityFault::PagePermission),
            _ => None,
        }
    }

    /// The 6-bit status code.
    pub const fn status_code(self) -> u8 {
        match self {
            CapabilityFault::Tag => 0x28,
            CapabilityFault::Sealed => 0x29,
            CapabilityFault::Bounds => 0x2A,
            CapabilityFault::Permission => 0x2B,
            CapabilityFault::PagePermission => 0x2C,
        }
    }
}

impl fmt::Display for CapabilityFault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            CapabilityFault::Tag => "capability tag fault",
            CapabilityFault::Sealed => "capability sealed fault",
            CapabilityFault::Bounds => "capability bounds fault",
            CapabilityFault::Permission => "capability permission fault",
            CapabilityFault::PagePermission => "capability page permission fault",
        })
    }
}

/// The fault status code of an abort (DFSC/IFSC, ISS[5:0]); `level` is the translation
/// table level, 0..=3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultStatus {
    /// 0b0000ll: the address is wider than the configured size.
    AddressSize { level: u8 },
    /// 0b0001ll: no valid translation.
    Translation { level: u8 },
    /// 0b0010ll: the access flag is clear.
    AccessFlag { level: u8 },
    /// 0b0011ll: the page permissions forbid the access.
    Permission { level: u8 },
    /// 0b010000: synchronous external abort.
    SynchronousExternal,
    /// 0b0101ll: synchronous external abort on a translation table walk.
    SynchronousExternalOnWalk { level: u8 },
    /// 0b011000: synchronous parity or ECC error.
    SynchronousParity,
    /// 0b0111ll: synchronous parity or ECC error on a translation table walk.
    SynchronousParityOnWalk { level: u8 },
    /// 0b100001: alignment fault.
    Alignment,
    /// 0b100010: debug exception.
    Debug,
    /// 0b110000: TLB conflict.
    TlbConflict,
    /// 0b110001: unsupported atomic hardware update.
    UnsupportedAtomicUpdate,
    /// 0b110100: lockdown (IMPLEMENTATION DEFINED).
    Lockdown,
    /// 0b110101: unsupported exclusive or atomic access.
    UnsupportedExclusive,
    /// 0x28..=0x2C: a Morello capability fault.
    Capability(CapabilityFault),
    /// Any other code.
    Other(u8),
}

impl FaultStatus {
    /// The status of a 6-bit code.
    pub const fn from_code(code: u8) -> FaultStatus {
        let level = code & 0b11;
        if let Some(fault) = CapabilityFault::from_status_code(code) {
            return FaultStatus::Capability(fault);
        }
        match code {
            0x00..=0x03 => FaultStatus::AddressSize { level },
            0x04..=0x07 => FaultStatus::Translation { level },
            0x08..=0x0B => FaultStatus::AccessFlag { level },
            0x0C..=0x0F => FaultStatus::Permission { level },
            0x10 => FaultStatus::SynchronousExternal,
            0x14..=0x17 => FaultStatus::SynchronousExternalOnWalk { level },
            0x18 => FaultStatus::SynchronousParity,
            0x1C..=0x1F => FaultStatus::SynchronousParityOnWalk { level },
            0x21 => FaultStatus::Alignment,
            0x22 => FaultStatus::Debug,
            0x30 => FaultStatus::TlbConflict,
            0x31 => FaultStatus::UnsupportedAtomicUpdate,
            0x34 => FaultStatus::Lockdown,
            0x35 => FaultStatus::UnsupportedExclusive,
            other => FaultStatus::Other(other),
        }
    }
}

impl fmt::Display for FaultStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FaultStatus::AddressSize { level } => write!(formatter, "address size fault at level {level}"),
            FaultStatus::Translation { level } => write!(formatter, "translation fault at level {level}"),
            FaultStatus::AccessFlag { level } => write!(formatter, "access flag fault at level {level}"),
            FaultStatus::Permission { level } => write!(formatter, "permission fault at level {level}"),
            FaultStatus::SynchronousExternal => formatter.write_str("synchronous external abort"),
            FaultStatus::SynchronousExternalOnWalk { level } => {
                write!(formatter, "synchronous external abort on a table walk at level {level}")
            }
            FaultStatus::SynchronousParity => formatter.write_str("parity or ECC error"),
            FaultStatus::SynchronousParityOnWalk { level } => {
                write!(formatter, "parity or ECC error on a table walk at level {level}")
            }
            FaultStatus::Alignment => formatter.write_str("alignment fault"),
            FaultStatus::Debug => formatter.write_str("debug exception"),
            FaultStatus::TlbConflict => formatter.write_str("TLB conflict abort"),
            FaultStatus::UnsupportedAtomicUpdate => formatter.write_str("unsupported atomic update fault"),
            FaultStatus::Lockdown => formatter.write_str("lockdown abort"),
            FaultStatus::UnsupportedExclusive => {
                formatter.write_str("unsupported exclusive or atomic access")
            }
            FaultStatus::Capability(fault) => fault.fmt(formatter),
            FaultStatus::Other(code) => write!(formatter, "fault status {code:#04x}"),
        }
    }
}
