//! The library OS inside every cVM.
//!
//! Linked into each cVM program, it is the only code there that speaks to the
//! intravisor. It owns the entry glue (`_start`: check the boot block, set up the heap,
//! call `main`, exit with its status), the heap inside the cVM's region, and the C
//! functions declared in `include/cvm.h` (console, exit, clocks, files). It trusts the
//! boot block the intravisor wrote and nothing else; the intravisor, in turn, trusts
//! nothing this library hands it.
#![no_std]

mod entry;
mod heap;
pub mod hostcall;
mod interface;

pub use hostcall::HostcallError;
