//! The declaration of `__cls_get_addr`, the one run-time function the rewritten code
//! calls: `void *__cls_get_addr(const void *template)` returns the address at the same
//! offset inside the current cVM's instance of the template that holds `template`.
//!
//! In IR: `declare i8* @__cls_get_addr(i8*) nounwind readnone willreturn` (`ptr` and
//! `memory(none)` in LLVM 16). For one cVM the result only depends on the argument,
//! so LLVM may merge, hoist or drop calls; it cannot move a call after a use of its
//! result, since the use depends on the result.

use crate::diagnostics::ClsError;
use crate::ir::{Module, Type, Value};

/// The run-time function's name.
pub(crate) const NAME: &str = "__cls_get_addr";

/// The declared run-time function and its types.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuntimeFunction {
    pub(crate) function: Value,
    pub(crate) function_type: Type,
    /// `i8*` (or `ptr`): its parameter and result type.
    pub(crate) pointer_type: Type,
}

/// Declares `__cls_get_addr` (or checks an existing declaration) and gives it its
/// attributes.
pub(crate) fn declare(module: &Module) -> Result<RuntimeFunction, ClsError> {
    let pointer_type = module.byte_pointer_type();
    let function_type = module.function_type(pointer_type, &[pointer_type]);
    let function = match module.named_function(NAME) {
        Some(existing) => {
            let matches = module.signature(existing).is_some_and(|(found_type, result, parameters)| {
                found_type == function_type && result == pointer_type && parameters == [pointer_type]
            });
            if !matches {
                let found = existing.global_value_type().map(Type::describe).unwrap_or_default();
                return Err(ClsError::RuntimeDeclaration { found });
            }
            existing
        }
        None => module
            .add_function(NAME, function_type)
            .ok_or(ClsError::RuntimeDeclaration { found: String::new() })?,
    };
    module.add_function_attribute(function, "nounwind", 0);
    module.add_function_attribute(function, "willreturn", 0);
    // LLVM 16 spells "reads and writes no memory" `memory(none)` (payload 0); LLVM 14
    // has no `memory` attribute and spells it `readnone`.
    if !module.add_function_attribute(function, "memory", 0) {
        module.add_function_attribute(function, "readnone", 0);
    }
    Ok(RuntimeFunction { function, function_type, pointer_type })
}
