//! Queries and updates on global variables and aliases: constness, thread-locality,
//! initializer, section, alignment, linkage, aliasee.
//!
//! Same rules as [`super::value`]: each method checks the kind of value first.

use std::ffi::CStr;

use super::sys::core as llvm;
use super::sys::{LLVMLinkage, LLVMVisibility};
use super::Value;

impl Value {
    /// For a global variable: whether it is marked `constant`.
    pub(crate) fn is_global_constant(self) -> bool {
        // SAFETY: `LLVMIsGlobalConstant` needs a `GlobalVariable`, checked first.
        self.is_global_variable() && unsafe { llvm::LLVMIsGlobalConstant(self.raw()) != 0 }
    }

    /// For a global variable: marks it `constant` or not. No-op on other values.
    pub(crate) fn set_global_constant(self, constant: bool) {
        if self.is_global_variable() {
            // SAFETY: checked above that the value is a `GlobalVariable`.
            unsafe { llvm::LLVMSetGlobalConstant(self.raw(), i32::from(constant)) }
        }
    }

    /// For a global variable: whether it is `thread_local`.
    pub(crate) fn is_thread_local(self) -> bool {
        // SAFETY: `LLVMIsThreadLocal` needs a `GlobalVariable`, checked first.
        self.is_global_variable() && unsafe { llvm::LLVMIsThreadLocal(self.raw()) != 0 }
    }

    /// For a defined global variable: its initializer.
    pub(crate) fn initializer(self) -> Option<Value> {
        if !self.is_global_variable() {
            return None;
        }
        // SAFETY: checked above that the value is a `GlobalVariable`;
        // `LLVMGetInitializer` returns null for a declaration.
        unsafe { Value::from_raw(llvm::LLVMGetInitializer(self.raw())) }
    }

    /// For a global value: its explicit section, if it has one.
    pub(crate) fn section(self) -> Option<String> {
        if !self.is_global_value() {
            return None;
        }
        // SAFETY: checked above that the value is a `GlobalValue`; the result is null
        // or a NUL-terminated string owned by the module.
        let pointer = unsafe { llvm::LLVMGetSection(self.raw()) };
        if pointer.is_null() {
            return None;
        }
        // SAFETY: non-null (checked) NUL-terminated string owned by the module.
        let section = unsafe { CStr::from_ptr(pointer) }.to_string_lossy().into_owned();
        (!section.is_empty()).then_some(section)
    }

    /// For a global variable: places it in `section`. No-op on other values.
    pub(crate) fn set_section(self, section: &CStr) {
        if self.is_global_variable() {
            // SAFETY: checked above that the value is a `GlobalVariable` (a
            // `GlobalObject`); LLVM copies the NUL-terminated name.
            unsafe { llvm::LLVMSetSection(self.raw(), section.as_ptr()) }
        }
    }

    /// For a global variable: its explicit alignment in bytes (0 if none).
    pub(crate) fn alignment(self) -> u32 {
        if !self.is_global_variable() {
            return 0;
        }
        // SAFETY: checked above that the value is a `GlobalVariable`, one of the kinds
        // `LLVMGetAlignment` accepts.
        unsafe { llvm::LLVMGetAlignment(self.raw()) }
    }

    /// For a global variable: sets its alignment in bytes. No-op on other values.
    pub(crate) fn set_alignment(self, bytes: u32) {
        if self.is_global_variable() {
            // SAFETY: checked above that the value is a `GlobalVariable`.
            unsafe { llvm::LLVMSetAlignment(self.raw(), bytes) }
        }
    }

    /// For a global value: its linkage.
    pub(crate) fn linkage(self) -> Option<LLVMLinkage> {
        if !self.is_global_value() {
            return None;
        }
        // SAFETY: checked above that the value is a `GlobalValue`; LLVM only returns
        // linkages that the `LLVMLinkage` enum lists.
        Some(unsafe { llvm::LLVMGetLinkage(self.raw()) })
    }

    /// For a global value: whether every reference in this module reaches this
    /// definition (no other object can interpose one of its own, and the linker cannot
    /// replace it with another translation unit's): a defined global with internal or
    /// private linkage, or a strong (external) definition with hidden or protected
    /// visibility. Weak, common and `linkonce` definitions are not.
    pub(crate) fn is_local_definition(self) -> bool {
        if self.initializer().is_none() {
            return false;
        }
        match self.linkage() {
            Some(LLVMLinkage::LLVMInternalLinkage | LLVMLinkage::LLVMPrivateLinkage) => true,
            Some(LLVMLinkage::LLVMExternalLinkage) => {
                // SAFETY: a defined global variable (checked above) is a `GlobalValue`.
                let visibility = unsafe { llvm::LLVMGetVisibility(self.raw()) };
                matches!(
                    visibility,
                    LLVMVisibility::LLVMHiddenVisibility | LLVMVisibility::LLVMProtectedVisibility
                )
            }
            _ => false,
        }
    }

    /// For a global value: sets its linkage. No-op on other values.
    pub(crate) fn set_linkage(self, linkage: LLVMLinkage) {
        if self.is_global_value() {
            // SAFETY: checked above that the value is a `GlobalValue`.
            unsafe { llvm::LLVMSetLinkage(self.raw(), linkage) }
        }
    }

    /// For a global alias: the constant it stands for.
    pub(crate) fn aliasee(self) -> Option<Value> {
        if !self.is_global_alias() {
            return None;
        }
        // SAFETY: checked above that the value is a `GlobalAlias`.
        unsafe { Value::from_raw(llvm::LLVMAliasGetAliasee(self.raw())) }
    }
}
