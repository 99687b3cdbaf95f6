//! The ABI between the intravisor and the code inside a cVM.
//!
//! Everything a cVM and the intravisor must agree on lives here and nowhere else: the
//! hostcall numbers, the error codes a hostcall returns, and the layout of the boot
//! information block the intravisor writes into a cVM's region before entering it.
//! The crate is `no_std`, has no dependencies, and holds no code that could disagree
//! between the two sides: only numbers and `#[repr(C)]` layouts.
//!
//! A hostcall takes a number and up to five word-sized arguments and returns one
//! signed word: zero or a positive value on success, the negation of an [`Errno`]
//! on failure. Pointer arguments are addresses inside the calling cVM's region; the
//! intravisor treats them as allegations and checks each one against the cVM's
//! capabilities before touching memory.
#![no_std]

mod boot;
mod cls;
mod errno;
mod hostcall;

pub use boot::{BootInfo, EntryPoint, Initializer, TlsModule, BOOT_MAGIC, VERSION};
pub use cls::{ClsSlot, ClsTable};
pub use errno::Errno;
pub use hostcall::{Hostcall, OpenMode, STDERR, STDOUT};
