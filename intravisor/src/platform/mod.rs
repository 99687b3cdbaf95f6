//! Platform backends: the only code that touches raw memory, signals, or switches into
//! and out of a cVM.
//!
//! Every backend provides an arena of cVM memory (implementing
//! [`crate::memory::RegionMemory`], so instantiation and the object store are shared) and a
//! way to enter a cVM and come back with why it stopped. `host` runs each cVM as a
//! sandboxed Linux process (or, in a mode that does not isolate, as threads of the
//! intravisor's process); `aarch64_virt` is the bare-metal
//! intravisor (with the `morello` feature, the same with hardware capabilities); `morello`
//! holds the Morello instruction encoder and fault decoding, pure code tested on the host;
//! `board` describes the machines a bare-metal image can be built for.

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod aarch64_virt;
pub mod board;
#[cfg(feature = "std")]
pub mod host;
pub mod morello;

#[cfg(feature = "std")]
pub use host::clock;
#[cfg(feature = "std")]
pub use host::{
    drop_code_pages, give_back_free_memory, hostcall_entry_address, identical_pages, kernel_memory,
    limit_allocator_arenas, objects_directory, process_tree_memory, remove_cgroups, run_ahead_of_cvms,
    run_cvm, run_cvm_process, sample_peaks, without_thread_stack_cache, Arena, ArenaError, CvmEntry,
    CvmProcess, CvmStop, Fault, HostcallHandler, HostcallOutcome, Limit, MergeFiles, MergeGroup,
    ProcessControl, ProcessEnd, ProcessMemory, ProcessStart, RegionMerge, TenantLimits, ThreadStart,
    TreeMemory,
};
