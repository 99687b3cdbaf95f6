//! The library OS inside every cVM.
//!
//! Built into the shared object `libcvm.so`, an ORC object loaded once for all cVMs, it
//! is the only code in a cVM that speaks to the intravisor. It owns the entry glue
//! (`__cvm_start`, called by each program's `_start` in `c/start.c`: check the boot
//! block, set up the heap, call `main`, exit with its status), `__cls_get_addr`, the
//! heap inside the cVM's region, and the C functions declared in `include/cvm.h`
//! (console, exit, clocks, files), and the system calls of the C library (`syscall`,
//! with `__cvm_libc_arguments` starting a program on it). Its own statics are
//! compartment-local (`cls`). It
//! trusts the boot block the intravisor wrote and nothing else; the intravisor, in
//! turn, trusts nothing this library hands it.
#![no_std]

mod cls;
mod entry;
mod heap;
pub mod hostcall;
mod interface;
mod syscall;
mod tls;

pub use cls::__cls_get_addr;
pub use hostcall::HostcallError;
