//! Using a capability: the data-access check (Sail `CheckCapability`) with its fault
//! kinds, and the subset test of CHKSS (Sail `CapIsSubSetOf`).
//!
//! The checks run in the hardware's order: tag, seal, permissions, bounds. The first
//! failing one names the fault, as the capability fault status code would.

use core::fmt;

use super::encoding::Cap;
use super::permissions::Permissions;

/// Why a capability does not authorise an access (the Morello capability fault kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapFault {
    /// The capability's tag is clear.
    Tag,
    /// The capability is sealed.
    Sealed,
    /// The access is not inside the bounds, or the bounds are invalid.
    Bounds,
    /// A needed permission is missing.
    Permission,
}

impl fmt::Display for CapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapFault::Tag => "capability tag fault: the capability is not valid",
            CapFault::Sealed => "capability sealed fault: the capability is sealed",
            CapFault::Bounds => "capability bounds fault: the access is outside the bounds",
            CapFault::Permission => "capability permission fault: a needed permission is missing",
        })
    }
}

impl Cap {
    /// Checks a data access of `length` bytes at `address` needing `needed`, the way
    /// Sail `CheckCapability` does: tag clear → `Tag`; sealed → `Sealed`; a permission
    /// of `needed` missing → `Permission`; `[address, address + length)` (65-bit sum)
    /// not inside `[base, top)`, or invalid bounds → `Bounds`.
    ///
    /// `address` is used as given: the model has no top-byte-ignore, so a caller that
    /// enables TBI must strip the top byte first.
    ///
    /// # Errors
    ///
    /// The first failing check, as a [`CapFault`].
    pub fn check_access(&self, address: u64, length: u64, needed: Permissions) -> Result<(), CapFault> {
        if !self.tag {
            return Err(CapFault::Tag);
        }
        if self.is_sealed() {
            return Err(CapFault::Sealed);
        }
        if !self.permissions().contains(needed) {
            return Err(CapFault::Permission);
        }
        let bounds = self.bounds();
        let start = u128::from(address);
        let end = start + u128::from(length);
        if !bounds.valid || start < u128::from(bounds.base) || end > bounds.top {
            return Err(CapFault::Bounds);
        }
        Ok(())
    }

    /// True if `self`'s bounds lie within `other`'s, `self`'s permissions are a subset of
    /// `other`'s, and both bounds are valid (Sail `CapIsSubSetOf`). Tags are not compared:
    /// CHKSS additionally requires `self.tag() == other.tag()`.
    #[must_use]
    pub fn is_subset_of(&self, other: &Cap) -> bool {
        let mine = self.bounds();
        let theirs = other.bounds();
        mine.base >= theirs.base
            && mine.top <= theirs.top
            && other.permissions().contains(self.permissions())
            && mine.valid
            && theirs.valid
    }
}
