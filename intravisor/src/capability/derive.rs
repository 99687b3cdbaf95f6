//! Deriving capabilities by value, permission and seal changes: SCVALUE (`set_value`),
//! ADD/SUB (`add`), SCOFF (`set_offset`), CLRPERM (`clear_permissions`), SEAL with an
//! authority or a fixed form (`seal`, `seal_entry`) and UNSEAL (`unseal`).
//!
//! Each follows its Sail execute function (FACTS §1.3, §1.4, §1.6). Every operation here
//! except `unseal` clears the tag when its input is sealed, as the instructions do.

use super::encoding::{sign_bit, Cap, MAX_OBJECT_TYPE, VALUE_EXPONENT_LIMIT};
use super::permissions::Permissions;

/// The three fixed object types that `SEAL Cd, Cn, <form>` can set without an authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealForm {
    /// Object type 1, the sentry: a branch to it unseals it.
    Rb,
    /// Object type 2, load pair and branch (LDPBR/LDPBLR through c29).
    Lpb,
    /// Object type 3, load and branch (`BR [c29, #imm]`).
    Lb,
}

impl SealForm {
    /// The object type this form seals with.
    #[must_use]
    pub const fn object_type(self) -> u16 {
        match self {
            SealForm::Rb => 1,
            SealForm::Lpb => 2,
            SealForm::Lb => 3,
        }
    }
}

impl Cap {
    /// The same metadata with a new value and no tag change (the raw field write).
    const fn with_value(self, value: u64) -> Self {
        Cap::from_parts(self.tag, self.metadata, value)
    }

    /// The same capability with a new object type (low 15 bits of `object_type`).
    const fn with_object_type(self, object_type: u64) -> Self {
        use super::encoding::layout::{OTYPE_MASK, OTYPE_SHIFT};
        let metadata =
            (self.metadata & !(OTYPE_MASK << OTYPE_SHIFT)) | ((object_type & OTYPE_MASK) << OTYPE_SHIFT);
        Cap::from_parts(self.tag, metadata, self.value)
    }

    /// True if the bit-55 rule lets the value change from `self.value` to `new_value`:
    /// with E < 48 the bounds use the value, so bit 55 must not change.
    fn sign_rule_allows(&self, new_value: u64) -> bool {
        self.exponent() >= VALUE_EXPONENT_LIMIT || sign_bit(new_value) == sign_bit(self.value)
    }

    /// SCVALUE (Sail `CapSetValue`): sets the value to `new_value`.
    ///
    /// The tag is cleared if the precise representability check fails (always the case
    /// for an out-of-range exponent), if E < 48 and bit 55 changes, or if the input is
    /// sealed. The metadata is kept, so an untagged result may decode to other bounds.
    #[must_use]
    pub fn set_value(&self, new_value: u64) -> Cap {
        let keep =
            self.is_representable_precise(new_value) && self.sign_rule_allows(new_value) && !self.is_sealed();
        self.with_value(new_value).keep_tag_if(keep)
    }

    /// ADD/SUB Cd, Cn (Sail `CapAdd`): adds `increment` to the value, modulo 2^64.
    ///
    /// The tag is cleared if the fast representability check fails, if the exponent is
    /// out of range, if E < 48 and bit 55 changes, or if the input is sealed.
    #[must_use]
    pub fn add(&self, increment: u64) -> Cap {
        let new_value = self.value.wrapping_add(increment);
        let keep = self.is_representable_fast(increment)
            && !self.is_exponent_out_of_range()
            && self.sign_rule_allows(new_value)
            && !self.is_sealed();
        self.with_value(new_value).keep_tag_if(keep)
    }

    /// SCOFF (Sail `CapSetOffset`): value := base + `offset`, done as `add` of the
    /// difference, so the fast check and the `add` rules apply.
    #[must_use]
    pub fn set_offset(&self, offset: u64) -> Cap {
        let new_value = self.base().wrapping_add(offset);
        self.add(new_value.wrapping_sub(self.value))
    }

    /// CLRPERM: removes the permissions in `mask`. Clears the tag if the input is sealed.
    #[must_use]
    pub fn clear_permissions(&self, mask: Permissions) -> Cap {
        use super::encoding::layout::PERMS_SHIFT;
        let kept = self.permissions().difference(mask);
        let metadata = (self.metadata & !(u64::from(Permissions::ALL.bits()) << PERMS_SHIFT))
            | (u64::from(kept.bits()) << PERMS_SHIFT);
        Cap::from_parts(self.tag, metadata, self.value).keep_tag_if(!self.is_sealed())
    }

    /// SEAL Cd, Cn, Cm: seals `self` with object type `authority.value()`.
    ///
    /// The tag is kept only if both are tagged and unsealed, the authority has Seal, its
    /// value is within its bounds and at most 0x7FFF. The object type field takes the
    /// low 15 bits of the authority's value either way.
    #[must_use]
    pub fn seal(&self, authority: &Cap) -> Cap {
        let object_type = authority.value;
        let keep = self.tag
            && authority.tag
            && !self.is_sealed()
            && !authority.is_sealed()
            && authority.permissions().contains(Permissions::SEAL)
            && authority.is_value_in_bounds()
            && object_type <= MAX_OBJECT_TYPE;
        self.with_object_type(object_type).keep_tag_if(keep)
    }

    /// SEAL Cd, Cn, rb|lpb|lb: seals `self` with a fixed object type, no authority
    /// needed. The tag is kept only if `self` is tagged and unsealed.
    #[must_use]
    pub fn seal_entry(&self, form: SealForm) -> Cap {
        let keep = self.tag && !self.is_sealed();
        self.with_object_type(u64::from(form.object_type())).keep_tag_if(keep)
    }

    /// UNSEAL Cd, Cn, Cm: sets the object type to 0, clearing Global if the authority
    /// lacks Global.
    ///
    /// The tag is kept only if `self` is tagged and sealed, the authority is tagged,
    /// unsealed, has Unseal, its value is within its bounds and equals `self`'s object
    /// type.
    #[must_use]
    pub fn unseal(&self, authority: &Cap) -> Cap {
        let mut result = self.with_object_type(0);
        if !authority.permissions().contains(Permissions::GLOBAL) {
            result = result.clear_permissions(Permissions::GLOBAL);
        }
        let keep = self.tag
            && authority.tag
            && self.is_sealed()
            && !authority.is_sealed()
            && authority.permissions().contains(Permissions::UNSEAL)
            && authority.is_value_in_bounds()
            && authority.value == u64::from(self.object_type());
        result.keep_tag_if(keep)
    }
}
