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
//!    fixpoint: a constant pointing at such a constant is CLS too).
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
        if !is_intrinsic_global(global)
            && !global.is_thread_local()
            && !global.is_global_constant()
            && in_default_address_space(global, errors)
        {
            classification.add(global);
            worklist.push(global);
        }
    }

    let mut climbed_constants = HashSet::new();
    let mut reported_thread_locals = HashSet::new();
    while let Some(symbol) = worklist.pop() {
        let mut containers = Vec::new();
        containers_of(symbol, &mut climbed_constants, &mut containers);
        for container in containers {
            if classification.is_symbol(container) || is_intrinsic_global(container) {
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
            classification.add(container);
            worklist.push(container);
        }
    }
    classification
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
