//! Checked wrappers around the parts of the LLVM C API (`llvm-sys`) that the pass uses.
//!
//! inkwell has no API for constant-expression surgery, so the pass speaks to LLVM
//! through `llvm_sys` directly. All `unsafe` code of the crate that touches IR lives in
//! this module. The invariant that makes it sound is the same everywhere:
//!
//! - a [`Value`], [`Type`] or [`Block`] only ever holds a pointer that LLVM handed out
//!   while the pass runs on a live module, and the pass deletes no IR, so every such
//!   pointer stays valid until the pass returns (none is kept after that);
//! - each wrapper checks the kind of value an LLVM function expects (global variable,
//!   instruction, constant expression, ...) before calling it, because the C API casts
//!   without checking.

mod builder;
mod global;
mod module;
mod value;

pub(crate) use builder::{is_binary, is_cast, Builder};
pub(crate) use module::Module;
pub(crate) use value::{Block, Type, Value};

/// The `llvm-sys` crate of the LLVM version this plugin is built for.
pub(crate) use llvm_plugin::inkwell::llvm_sys as sys;

/// Turns an LLVM-owned message (from `LLVMPrint...ToString`) into a `String` and frees it.
///
/// # Safety
/// `message` must be null or a string returned by an `LLVMPrint...ToString` function
/// that has not been freed yet.
unsafe fn take_message(message: *mut std::ffi::c_char) -> String {
    if message.is_null() {
        return String::new();
    }
    // SAFETY: the caller promises a live NUL-terminated string from LLVM (checked
    // non-null above).
    let text = unsafe { std::ffi::CStr::from_ptr(message) }.to_string_lossy().into_owned();
    // SAFETY: the string came from LLVM's allocator and is freed exactly once here.
    unsafe { sys::core::LLVMDisposeMessage(message) };
    text
}
