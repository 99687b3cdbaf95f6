//! After the rewrite: checks that no function still uses a CLS template directly.
//!
//! Every remaining use of a CLS symbol must be one of
//!
//! - the argument of a `__cls_get_addr` call (through a constant cast or not),
//! - the initializer of a global variable or the aliasee of an alias (templates hold
//!   template addresses by design; the intravisor relocates them per instance),
//! - a constant that nothing uses any more (left over by the rewrite),
//! - the distance between two of this module's own templates (`sub (ptrtoint @b),
//!   (ptrtoint @a)`), which the rewrite adds to one template's per-cVM address to find
//!   the other's: it is the same in every cVM, and no address.
//!
//! Anything else is an error, so that a use the pass missed can never run against the
//! shared template silently.

use std::collections::HashSet;

use crate::classify::Classification;
use crate::diagnostics::ClsError;
use crate::ir::sys::LLVMOpcode;
use crate::ir::Value;
use crate::rewrite::is_own_template;
use crate::runtime_function;

/// Checks the remaining uses of every CLS symbol; problems go to `errors`.
pub(crate) fn audit(classification: &Classification, errors: &mut Vec<ClsError>) {
    let mut visited = HashSet::new();
    for &symbol in classification.variables.iter().chain(&classification.aliases) {
        check_users(symbol, symbol, &mut visited, errors);
    }
}

/// Whether `instruction` calls `__cls_get_addr` (declared by this run or an earlier
/// one).
fn calls_runtime(instruction: Value) -> bool {
    instruction.called_value().is_some_and(|callee| callee.name() == runtime_function::NAME)
}

/// Checks the users of `value` (the symbol or a constant containing it).
fn check_users(
    value: Value,
    symbol: Value,
    visited: &mut HashSet<(Value, Value)>,
    errors: &mut Vec<ClsError>,
) {
    for user in value.users() {
        if user.is_instruction() {
            let function = user.function();
            let in_runtime = function.is_some_and(|function| function.name() == runtime_function::NAME);
            if !calls_runtime(user) && !in_runtime {
                errors.push(ClsError::Unrewritten {
                    function: function.map(Value::display_name).unwrap_or_default(),
                    global: symbol.display_name(),
                    user: user.describe(),
                });
            }
        } else if user.is_global_variable() || user.is_global_alias() {
            // An initializer or aliasee: a template address, relocated per instance.
        } else if user.is_function() {
            errors
                .push(ClsError::OutsideBody { function: user.display_name(), global: symbol.display_name() });
        } else if is_distance_between_own_templates(user) {
            // The same in the template and in every instance.
        } else if user.is_constant() && !user.is_global_value() {
            if visited.insert((user, symbol)) {
                check_users(user, symbol, visited, errors);
            }
        } else {
            errors.push(ClsError::UnknownUser { global: symbol.display_name(), user: user.describe() });
        }
    }
}

/// Whether `value` is `sub (ptrtoint @b), (ptrtoint @a)` for two of this module's own
/// templates.
fn is_distance_between_own_templates(value: Value) -> bool {
    let own_template_address = |operand: Option<Value>| {
        operand.is_some_and(|operand| {
            operand.constant_opcode() == Some(LLVMOpcode::LLVMPtrToInt)
                && operand.operand(0).is_some_and(is_own_template)
        })
    };
    value.constant_opcode() == Some(LLVMOpcode::LLVMSub)
        && own_template_address(value.operand(0))
        && own_template_address(value.operand(1))
}
