//! `cls-pass`: the LLVM pass plugin that gives every cVM its own copy of the writable
//! globals of shared code objects ("compartment-local storage", ARCHITECTURE §4).
//!
//! Load it with `opt -load-pass-plugin=libcls_pass.so -passes=cls` or
//! `clang -fpass-plugin=libcls_pass.so` (it runs last at every `-O` level). It
//!
//! - classifies the CLS globals (`classify`): writable, non-thread-local globals,
//!   defined or external, constants whose initializers point at CLS data, and
//!   constants and aliases that may hold a pointer and be defined by another object
//!   (declarations, `weak`/`linkonce` definitions);
//! - places the defined ones in the template sections `.cls.data` / `.cls.bss`
//!   (`placement`);
//! - rewrites every use in every function into a use of the result of one
//!   `__cls_get_addr(&template)` call per global in the entry block (`rewrite`,
//!   `expand`), declared `nounwind readnone willreturn` (`runtime_function`);
//! - refuses, with an error naming the function and the global, everything it cannot
//!   rewrite (`diagnostics`, `audit`).
//!
//! It trusts the LLVM that loads it to be the version it was built for, and checks
//! that first (`version_guard`). All `unsafe` code that touches IR is in `ir`.

mod audit;
mod classify;
mod constant_scan;
mod diagnostics;
mod expand;
mod inline_asm;
mod ir;
mod pass;
mod placement;
mod plugin;
mod rewrite;
mod runtime_function;
mod version_guard;
