//! Which globals are compartment-local storage (CLS).
//!
//! A global variable is CLS data when every cVM needs its own copy of it:
//!
//! 1. it is writable (not `constant`), not `thread_local`, and not one of LLVM's own
//!    `llvm.*` globals — whether defined here (any linkage, including function-local
//!    statics, `common` and `weak`) or only declared (`extern`);
//! 2. or it is `constant` but its initializer holds, directly or through constant
//!    expressions, arrays and structs, the address of CLS data: its per-cVM copy must
//!    point at the cVM's instance, so it becomes writable CLS data itself (to a
//!    fixpoint: a constant pointing at such a constant is CLS too);
//! 3. or it is a `constant` (or an alias) whose final definition may be another
//!    object's, and whose type may hold a pointer (a pointer, or an array, vector or
//!    struct with one inside, or an opaque struct): a declaration (`external`,
//!    `extern_weak`), or a definition the linker may replace (`weak`, `linkonce`).
//!    That other definition may be one that point 2 made CLS data — musl's
//!    `FILE *const stdout = &f;` seen as `extern FILE *const stdout;`, or the
//!    `volatile int *const __atexit_lockptr = lock;` that overrides fork.c's
//!    `weak_alias(dummy_lockptr, __atexit_lockptr)` — and a read of the shared
//!    template would yield the template's pointer. Such a symbol stays `constant` and
//!    where it is (no section); only its uses go through `__cls_get_addr`, which
//!    returns an address outside every template unchanged, so when the definition was
//!    not promoted it only costs a call. A definition among them that does point at
//!    CLS data is promoted by point 2 like any other.
//!
//! An alias whose aliasee is an address inside CLS data is a CLS *symbol* as well:
//! code reaches the data through it, so its uses are rewritten the same way.
//!
//! Classification only reads the module; [`crate::placement`] applies the result.

use std::collections::HashSet;

use crate::diagnostics::ClsError;
use crate::ir::sys::LLVMLinkage;
use crate::ir::sys::LLVMOpcode;
use crate::ir::{Module, Value};

/// The CLS globals and aliases of a module.
#[derive(Debug, Default)]
pub(crate) struct Classification {
    /// CLS global variables, in the order they were found.
    pub(crate) variables: Vec<Value>,
    /// The subset of `variables` that were `constant` and point at CLS data.
    pub(crate) promoted: HashSet<Value>,
    /// Aliases of CLS data.
    pub(crate) aliases: Vec<Value>,
    /// Variables and aliases together: the symbols whose uses are rewritten.
    pub(crate) symbols: HashSet<Value>,
    /// The symbols of point 3 that point 2 did not promote: their uses are rewritten,
    /// but they stay constant and in place.
    pub(crate) uses_only: HashSet<Value>,
}

impl Classification {
    pub(crate) fn is_symbol(&self, value: Value) -> bool {
        self.symbols.contains(&value)
    }

    fn add(&mut self, value: Value) -> bool {
        if !self.symbols.insert(value) {
            return false;
        }
        if value.is_global_alias() {
            self.aliases.push(value);
        } else {
            self.variables.push(value);
        }
        true
    }
}

/// Whether the pass leaves `global` alone whatever it holds: LLVM's own globals
/// (`llvm.used`, `llvm.global_ctors`, ...) and `appending` arrays.
pub(crate) fn is_intrinsic_global(global: Value) -> bool {
    global.name().starts_with("llvm.") || global.linkage() == Some(LLVMLinkage::LLVMAppendingLinkage)
}

/// Finds the CLS globals and aliases of `module`; problems go to `errors`.
pub(crate) fn classify(module: &Module, errors: &mut Vec<ClsError>) -> Classification {
    let mut classification = Classification::default();
    let mut worklist = Vec::new();
    for global in module.global_variables() {
        if is_intrinsic_global(global) || global.is_thread_local() {
            continue;
        }
        let writable = !global.is_global_constant();
        if (writable || may_be_defined_elsewhere(global)) && in_default_address_space(global, errors) {
            if !writable {
                classification.uses_only.insert(global);
            }
            classification.add(global);
            worklist.push(global);
        }
    }
    for alias in module.global_aliases() {
        if may_be_defined_elsewhere(alias) && in_default_address_space(alias, errors) {
            classification.uses_only.insert(alias);
            classification.add(alias);
            worklist.push(alias);
        }
    }

    let mut climbed_constants = HashSet::new();
    let mut reported_thread_locals = HashSet::new();
    while let Some(symbol) = worklist.pop() {
        let mut containers = Vec::new();
        containers_of(symbol, &mut climbed_constants, &mut containers);
        for container in containers {
            if is_intrinsic_global(container) {
                continue;
            }
            // A symbol of point 3 that holds CLS data after all is promoted (or, for an
            // alias, checked) like any other container; it is on the worklist already.
            let known = classification.is_symbol(container);
            if known && !classification.uses_only.remove(&container) {
                continue;
            }
            if container.is_thread_local() {
                if reported_thread_locals.insert(container) {
                    errors.push(ClsError::ThreadLocalInitializer {
                        thread_local: container.display_name(),
                        global: symbol.display_name(),
                    });
                }
                continue;
            }
            if !in_default_address_space(container, errors) {
                continue;
            }
            if container.is_global_alias() {
                check_alias_shape(container, symbol, errors);
            } else if container.is_global_constant() {
                classification.promoted.insert(container);
            }
            if !known {
                classification.add(container);
                worklist.push(container);
            }
        }
    }
    classification
}

/// Whether `global`, a constant or an alias, may hold a pointer and have its final
/// definition in another object (point 3 above): declared only, or replaceable by the
/// linker. `weak_odr`/`linkonce_odr` definitions are all alike, so they are not.
fn may_be_defined_elsewhere(global: Value) -> bool {
    let replaceable = matches!(
        global.linkage(),
        Some(LLVMLinkage::LLVMWeakAnyLinkage | LLVMLinkage::LLVMLinkOnceAnyLinkage)
    );
    let declared = global.is_global_variable() && global.initializer().is_none();
    (declared || replaceable)
        && global.global_value_type().is_some_and(|value_type| value_type.may_hold_pointer())
}

/// Whether `global` is in address space 0, the only one `__cls_get_addr` maps;
/// reports it otherwise (and the pass then leaves it alone).
fn in_default_address_space(global: Value, errors: &mut Vec<ClsError>) -> bool {
    match global.type_of().address_space() {
        Some(space) if space != 0 => {
            errors.push(ClsError::AddressSpace { global: global.display_name(), space });
            false
        }
        _ => true,
    }
}

/// The global variables whose initializer holds `value`, and the aliases whose
/// aliasee holds it, found by climbing through the constants that contain it.
/// Constants already climbed (from another symbol) are not climbed again: everything
/// above them was classified then.
fn containers_of(value: Value, climbed: &mut HashSet<Value>, containers: &mut Vec<Value>) {
    for user in value.users() {
        if user.is_global_variable() || user.is_global_alias() {
            containers.push(user);
        } else if user.is_constant() && !user.is_global_value() && climbed.insert(user) {
            containers_of(user, climbed, containers);
        }
    }
}

/// An alias into CLS data must denote an address inside it: the aliasee is the
/// symbol, possibly under casts and `getelementptr`s.
fn check_alias_shape(alias: Value, symbol: Value, errors: &mut Vec<ClsError>) {
    let Some(aliasee) = alias.aliasee() else { return };
    let mut current = aliasee;
    loop {
        if current == symbol || current.is_global_value() {
            return;
        }
        let address_preserving = matches!(
            current.constant_opcode(),
            Some(LLVMOpcode::LLVMBitCast | LLVMOpcode::LLVMAddrSpaceCast | LLVMOpcode::LLVMGetElementPtr)
        );
        match current.operand(0) {
            Some(base) if address_preserving => current = base,
            _ => break,
        }
    }
    errors.push(ClsError::AliasShape {
        alias: alias.display_name(),
        global: symbol.display_name(),
        aliasee: aliasee.describe(),
    });
}
