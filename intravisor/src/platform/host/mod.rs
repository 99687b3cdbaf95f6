//! The host platform: cVMs as threads of one Linux process.
//!
//! Isolation here is the software capability model: the intravisor checks every
//! hostcall argument against the calling cVM's capabilities, and a fault on a cVM's
//! thread ends that cVM only. cVM code itself is not bounds-checked (ARCHITECTURE §5).
//!
//! - `arena`: the one reserved address range cVM regions are carved from, and every
//!   raw read and write of cVM memory;
//! - `switch`: entering a cVM on its own stack, the hostcall trampoline, and coming
//!   back (x86-64 and AArch64 assembly);
//! - `group`: a cVM's threads, stopping them all when the cVM ends, their futexes;
//! - `signals`: turning a fault on a cVM's thread into a value, and stopping a thread.

mod arena;
mod group;
mod signals;
mod switch;
mod usage;

pub use arena::{Arena, ArenaError};
pub use signals::Fault;
pub use switch::{
    hostcall_entry_address, run_cvm, CvmEntry, CvmStop, HostcallHandler, HostcallOutcome, ThreadStart,
};
pub use usage::{kernel_memory, sample_peaks};
