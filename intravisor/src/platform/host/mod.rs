//! The host platform: each cVM a sandboxed process of its own (`process`), or, in the
//! in-process mode that does not isolate (trusted code, benchmarks), cVMs as threads of
//! the intravisor's process.
//!
//! In both, the intravisor checks every hostcall argument against the calling cVM's
//! capabilities, and a fault ends that cVM only. Only a cVM process is confined by the
//! kernel: its address space holds its region and the objects it uses, nothing else,
//! and its system calls are limited to the hostcall gate's (ARCHITECTURE §5).
//!
//! - `process`: a cVM's process, its sandbox and its hostcall gate;
//! - `futex`: futex waits and wakes on cVM words, for both modes;
//! - `arena`: the one reserved address range cVM regions are carved from, and every
//!   raw read and write of cVM memory;
//! - `switch`: entering a cVM on its own stack, the hostcall trampoline, and coming
//!   back (x86-64 and AArch64 assembly);
//! - `group`: a cVM's threads, stopping them all when the cVM ends, their futexes;
//! - `signals`: turning a fault on a cVM's thread into a value, and stopping a thread;
//! - `merge`: run-time sharing of pages cVMs of one tenant filled identically;
//! - `clock`: the clocks cVMs read.

mod arena;
pub mod clock;
mod futex;
mod group;
mod memory_file;
mod merge;
mod process;
mod signals;
mod switch;
mod usage;

pub use arena::{objects_directory, Arena, ArenaError};
pub use merge::{identical_pages, run_ahead_of_cvms, MergeFiles, MergeGroup, RegionMerge};
pub use process::{
    remove_cgroups, run_cvm_process, CvmProcess, ProcessControl, ProcessEnd, ProcessStart, TenantLimits,
};
pub use signals::Fault;
pub use switch::{
    hostcall_entry_address, run_cvm, CvmEntry, CvmStop, HostcallHandler, HostcallOutcome, Limit, ThreadStart,
};
pub use usage::{
    drop_code_pages, give_back_free_memory, kernel_memory, limit_allocator_arenas, process_memory,
    process_tree_memory, sample_peaks, without_thread_stack_cache, ProcessMemory, TreeMemory,
};
