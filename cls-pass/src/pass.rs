//! The `cls` module pass: classify, place, rewrite, audit.
//!
//! 1. [`classify`]: find the CLS globals (writable ones, and constants that point at
//!    CLS data) and the aliases into them;
//! 2. [`place`]: put the defined ones into `.cls.data` / `.cls.bss`;
//! 3. [`Rewriter`]: in every function body, route every use through one
//!    `__cls_get_addr` call per global in the entry block;
//! 4. [`audit`]: make sure no function still touches a template directly.
//!
//! Errors from every step are collected, so one compilation reports them all.

use crate::audit::audit;
use crate::classify::classify;
use crate::constant_scan::ConstantScanner;
use crate::diagnostics::ClsError;
use crate::ir::Module;
use crate::placement::place;
use crate::rewrite::Rewriter;

/// Transforms `module`; `Ok(true)` if it changed.
pub(crate) fn transform(module: &Module) -> Result<bool, Vec<ClsError>> {
    let mut errors = Vec::new();
    let classification = classify(module, &mut errors);
    if classification.symbols.is_empty() {
        return if errors.is_empty() { Ok(false) } else { Err(errors) };
    }
    place(&classification, &mut errors);

    let mut rewriter = Rewriter::new(module, ConstantScanner::new(&classification));
    for function in module.functions() {
        rewriter.rewrite_function(function);
    }
    let rewrite_errors = rewriter.finish();
    errors.extend(rewrite_errors);

    if errors.is_empty() {
        audit(&classification, &mut errors);
    }
    if errors.is_empty() {
        Ok(true)
    } else {
        Err(errors)
    }
}
