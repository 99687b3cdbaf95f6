//! Everything the pass refuses to compile, and how it tells the user.
//!
//! The pass never skips a use it cannot rewrite: it collects one [`ClsError`] per
//! problem, then stops the compilation ([`fail`]): every error on its own line of
//! standard error, starting with `cls-pass: error:`, naming the function and the
//! global and saying how to fix the source; then exit status 1, with the tool's
//! temporary output files removed.

use std::io::Write;

/// One reason why the pass cannot give a module compartment-local storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ClsError {
    /// A CLS global sits in a section that the intravisor would not copy per cVM.
    #[error(
        "global `{global}` is writable but has the explicit section `{section}`; cls-pass must place \
         writable globals in `.cls.data` or `.cls.bss` so that every cVM gets its own copy: remove the \
         section attribute, make the global `const`, or name a section that starts with `.cls`"
    )]
    ForeignSection { global: String, section: String },

    /// A CLS global is not in address space 0, which `__cls_get_addr` takes.
    #[error(
        "global `{global}` is in address space {space}; `__cls_get_addr` only maps address-space-0 \
         templates: move the global to the default address space"
    )]
    AddressSpace { global: String, space: u32 },

    /// A thread-local global is initialised with the address of CLS data.
    #[error(
        "thread-local global `{thread_local}` is initialised with the address of CLS global `{global}`; \
         every thread's copy would point at the shared template instead of its cVM's instance: assign \
         the address at run time instead"
    )]
    ThreadLocalInitializer { thread_local: String, global: String },

    /// An alias into CLS data whose aliasee is not an address inside a global.
    #[error(
        "alias `{alias}` of CLS global `{global}` is `{aliasee}`, which is not an address inside the \
         global; cls-pass cannot rewrite it: alias the global itself or a field of it"
    )]
    AliasShape { alias: String, global: String, aliasee: String },

    /// A use in an inline-asm operand that needs a link-time constant.
    #[error(
        "function `{function}` uses global `{global}` in an inline-asm operand with constraint \
         `{constraint}`; that operand needs a link-time constant, but CLS data has a different address \
         in every cVM: pass the address in a register (\"r\") or as a memory operand (\"m\") instead"
    )]
    InlineAsmOperand { function: String, global: String, constraint: String },

    /// A use in an exception-handling pad, whose operands must stay constants.
    #[error(
        "function `{function}` uses global `{global}` in exception-handling clause `{instruction}`; \
         clauses must be link-time constants, but CLS data has a different address in every cVM: make \
         the type information `const`"
    )]
    ExceptionPad { function: String, global: String, instruction: String },

    /// A constant expression that the expander cannot turn into instructions.
    #[error(
        "function `{function}` uses global `{global}` in constant expression `{constant}`, which \
         cls-pass cannot turn into instructions; compute the value at run time instead"
    )]
    Unexpandable { function: String, global: String, constant: String },

    /// A use that is still there after the rewrite (nothing should be).
    #[error(
        "function `{function}` uses global `{global}` in `{user}`, a use cls-pass did not rewrite; this \
         is a cls-pass bug: report it with the IR (`clang -S -emit-llvm`)"
    )]
    Unrewritten { function: String, global: String, user: String },

    /// A reference from a function's prefix data, prologue data or personality.
    #[error(
        "function `{function}` refers to global `{global}` outside its body (prefix data, prologue data \
         or personality); cls-pass cannot rewrite that: refer to a `const` object instead"
    )]
    OutsideBody { function: String, global: String },

    /// A user of a CLS global of a kind the pass does not know.
    #[error(
        "global `{global}` is used by `{user}`, which cls-pass does not recognise; refusing to leave a \
         use of the shared template: report it with the IR"
    )]
    UnknownUser { global: String, user: String },

    /// The module declares `__cls_get_addr` with another type.
    #[error(
        "`__cls_get_addr` is declared as `{found}`, but the CLS ABI needs `void *__cls_get_addr(const \
         void *)`: remove the conflicting declaration"
    )]
    RuntimeDeclaration { found: String },

    /// The pass itself panicked.
    #[error("internal error: {message}; this is a cls-pass bug: report it with the IR")]
    Internal { message: String },
}

/// The text printed for `errors`: one `cls-pass: error: ...` line per error.
pub(crate) fn render(errors: &[ClsError]) -> String {
    errors.iter().map(|error| format!("cls-pass: error: {error}")).collect::<Vec<_>>().join("\n")
}

extern "C" {
    /// `void llvm::sys::RunInterruptHandlers()`, exported by libLLVM in every version this
    /// plugin supports: removes the files the tool registered for removal on failure
    /// (clang's temporary output files).
    #[link_name = "_ZN4llvm3sys20RunInterruptHandlersEv"]
    fn llvm_run_interrupt_handlers();
}

/// Stops the compilation with `errors`: prints them, lets LLVM remove the tool's
/// temporary output files, and exits with status 1.
///
/// This is what LLVM's own `report_fatal_error` does in the tools that install a
/// fatal-error handler; it is not called directly because without a handler (in
/// `opt`) LLVM 14 aborts with a crash report, and because clang's handler may
/// `longjmp` out of the pass, over the Rust frames. `exit` leaves them cleanly.
pub(crate) fn fail(errors: &[ClsError]) -> ! {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", render(errors));
    let _ = stderr.flush();
    // SAFETY: a function without arguments or result that only deletes files the
    // tool registered; it is safe to call at any time from the tool's thread.
    unsafe { llvm_run_interrupt_handlers() };
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_carries_the_prefix_and_names_function_and_global() {
        let errors = [
            ClsError::InlineAsmOperand { function: "f".into(), global: "g".into(), constraint: "i".into() },
            ClsError::ForeignSection { global: "h".into(), section: ".mine".into() },
        ];
        let text = render(&errors);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("cls-pass: error: function `f` uses global `g` in an inline-asm"));
        assert!(lines[1].starts_with("cls-pass: error: global `h` is writable"));
        assert!(lines.iter().all(|line| line.contains(": ") && line.contains("; ")));
    }
}
