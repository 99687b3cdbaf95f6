//! The 18 Morello permission bits (FACTS §1.3) as a `Permissions` newtype over `u32`.
//!
//! Permission `i` lives at bit `110 + i` of the 128-bit capability, which is bit `46 + i`
//! of the metadata word; `Permissions::bits()` returns them right-aligned, exactly as
//! GCPERM does. The set can only be narrowed by the capability operations (CLRPERM,
//! UNSEAL without Global); nothing here grants authority by itself.

use core::fmt;
use core::ops::{BitAnd, BitOr};

/// A set of Morello capability permissions (bit `i` = permission `i`, 18 bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u32);

/// Names of the permission bits, indexed by bit number, used by `Debug`.
const NAMES: [&str; 18] = [
    "GLOBAL",
    "EXECUTIVE",
    "USER0",
    "USER1",
    "USER2",
    "USER3",
    "MUTABLE_LOAD",
    "COMPARTMENT_ID",
    "BRANCH_SEALED_PAIR",
    "SYSTEM",
    "UNSEAL",
    "SEAL",
    "STORE_LOCAL_CAP",
    "STORE_CAP",
    "LOAD_CAP",
    "EXECUTE",
    "STORE",
    "LOAD",
];

impl Permissions {
    /// No permission at all.
    pub const EMPTY: Self = Self(0);
    /// Global (bit 0): the capability may be stored through a capability lacking
    /// StoreLocalCap; cleared on UNSEAL by an authority that lacks it.
    pub const GLOBAL: Self = Self(1 << 0);
    /// Executive (bit 1): PCC with it runs in Executive rather than Restricted mode.
    pub const EXECUTIVE: Self = Self(1 << 1);
    /// User (software-defined) permission 0 (bit 2).
    pub const USER0: Self = Self(1 << 2);
    /// User (software-defined) permission 1 (bit 3).
    pub const USER1: Self = Self(1 << 3);
    /// User (software-defined) permission 2 (bit 4).
    pub const USER2: Self = Self(1 << 4);
    /// User (software-defined) permission 3 (bit 5).
    pub const USER3: Self = Self(1 << 5);
    /// MutableLoad (bit 6): capabilities loaded through it keep their store permissions.
    pub const MUTABLE_LOAD: Self = Self(1 << 6);
    /// CompartmentID (bit 7).
    pub const COMPARTMENT_ID: Self = Self(1 << 7);
    /// BranchSealedPair (bit 8): needed by both operands of BRS/BLRS/RETS.
    pub const BRANCH_SEALED_PAIR: Self = Self(1 << 8);
    /// System (bit 9): access to system registers (together with Execute on PCC).
    pub const SYSTEM: Self = Self(1 << 9);
    /// Unseal (bit 10): the authority of UNSEAL.
    pub const UNSEAL: Self = Self(1 << 10);
    /// Seal (bit 11): the authority of SEAL.
    pub const SEAL: Self = Self(1 << 11);
    /// StoreLocalCap (bit 12): store a tagged local (non-Global) capability.
    pub const STORE_LOCAL_CAP: Self = Self(1 << 12);
    /// StoreCap (bit 13): store a tagged capability.
    pub const STORE_CAP: Self = Self(1 << 13);
    /// LoadCap (bit 14): load a capability with its tag.
    pub const LOAD_CAP: Self = Self(1 << 14);
    /// Execute (bit 15): instruction fetch.
    pub const EXECUTE: Self = Self(1 << 15);
    /// Store (bit 16): data store.
    pub const STORE: Self = Self(1 << 16);
    /// Load (bit 17): data load.
    pub const LOAD: Self = Self(1 << 17);
    /// All 18 permissions (0x3FFFF).
    pub const ALL: Self = Self((1 << 18) - 1);

    /// The raw permission bits, right-aligned (what GCPERM returns).
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Builds a set from raw bits, dropping any bit above bit 17.
    #[must_use]
    pub const fn from_bits_truncate(bits: u32) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// True if every permission in `other` is also in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permissions in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The permissions in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The permissions of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// True if no permission is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Permissions {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        self.union(other)
    }
}

impl BitAnd for Permissions {
    type Output = Self;

    fn bitand(self, other: Self) -> Self {
        self.intersection(other)
    }
}

impl fmt::Debug for Permissions {
    /// Prints the names of the set bits, e.g. `Permissions(STORE | LOAD)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permissions(")?;
        if self.is_empty() {
            f.write_str("EMPTY")?;
        }
        let mut first = true;
        for (index, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << index) != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::Permissions;
    use alloc::format;

    #[test]
    fn constants_match_the_architecture_table() {
        assert_eq!(Permissions::ALL.bits(), 0x3FFFF);
        assert_eq!(Permissions::LOAD.bits(), 0x20000);
        assert_eq!(Permissions::STORE_LOCAL_CAP.bits(), 0x01000);
        let user = Permissions::USER0 | Permissions::USER1 | Permissions::USER2 | Permissions::USER3;
        assert_eq!(user.bits(), 0x3C);
    }

    #[test]
    fn set_operations() {
        let rw = Permissions::LOAD | Permissions::STORE;
        assert!(rw.contains(Permissions::LOAD));
        assert!(!Permissions::LOAD.contains(rw));
        assert_eq!(rw.difference(Permissions::STORE), Permissions::LOAD);
        assert_eq!(Permissions::from_bits_truncate(u32::MAX), Permissions::ALL);
        assert!(Permissions::EMPTY.is_empty());
    }

    #[test]
    fn debug_names_the_set_bits() {
        let rw = Permissions::LOAD | Permissions::STORE | Permissions::GLOBAL;
        assert_eq!(format!("{rw:?}"), "Permissions(GLOBAL | STORE | LOAD)");
        assert_eq!(format!("{:?}", Permissions::EMPTY), "Permissions(EMPTY)");
    }
}
