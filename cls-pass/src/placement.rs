//! Puts the CLS globals into the template sections.
//!
//! Every *defined* CLS global variable (but the constants whose uses alone are
//! rewritten, point 3 of [`crate::classify`]) goes to
//!
//! - `.cls.bss` when its initializer is all zeros (or `undef`),
//! - `.cls.data` otherwise,
//!
//! keeping its alignment and its initializer: pointers in initializers stay template
//! addresses and become ordinary dynamic relocations inside the template sections,
//! which the intravisor applies to every instance. Promoted constants (see
//! [`crate::classify`]) lose their `constant` flag, since each cVM's copy is written
//! by those relocations.
//!
//! `common` symbols cannot carry a section, so they become `weak` definitions with the
//! same zero initializer and alignment: several tentative definitions across objects
//! still link into one object without error, as with `common`; unlike `common`, the
//! linker keeps the first definition instead of the largest, which only matters when
//! translation units disagree on the object's size (already undefined behaviour in C).
//!
//! A global that already has a section keeps it if the name starts with `.cls`;
//! any other explicit section is an error (the data would not be per cVM).

use crate::classify::Classification;
use crate::diagnostics::ClsError;
use crate::ir::sys::LLVMLinkage;
use crate::ir::Value;

/// Section of CLS templates with a non-zero initializer.
pub(crate) const DATA_SECTION: &std::ffi::CStr = c".cls.data";
/// Section of zero-initialised CLS templates.
pub(crate) const BSS_SECTION: &std::ffi::CStr = c".cls.bss";
/// Prefix every CLS section name has.
pub(crate) const SECTION_PREFIX: &str = ".cls";

/// Checks every CLS symbol and places the defined CLS variables; problems go to
/// `errors`.
pub(crate) fn place(classification: &Classification, errors: &mut Vec<ClsError>) {
    for &variable in &classification.variables {
        if classification.uses_only.contains(&variable) {
            continue;
        }
        if classification.promoted.contains(&variable) {
            variable.set_global_constant(false);
        }
        if let Some(initializer) = variable.initializer() {
            place_definition(variable, initializer, errors);
        }
    }
}

/// Places one defined CLS variable.
fn place_definition(variable: Value, initializer: Value, errors: &mut Vec<ClsError>) {
    let alignment = variable.alignment();
    if variable.linkage() == Some(LLVMLinkage::LLVMCommonLinkage) {
        variable.set_linkage(LLVMLinkage::LLVMWeakAnyLinkage);
    }
    match variable.section() {
        Some(section) if section.starts_with(SECTION_PREFIX) => {}
        Some(section) => errors.push(ClsError::ForeignSection { global: variable.display_name(), section }),
        None => {
            let zero = initializer.is_null_constant() || initializer.is_undef_or_poison();
            variable.set_section(if zero { BSS_SECTION } else { DATA_SECTION });
        }
    }
    if alignment != 0 {
        variable.set_alignment(alignment);
    }
}
