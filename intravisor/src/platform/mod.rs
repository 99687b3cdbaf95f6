//! Platform backends: the only code that touches raw memory, signals, or switches into
//! and out of a cVM.
//!
//! Every backend offers the same names: an arena of memory cVM regions are carved from
//! (`Arena`), and `run_cvm`, which enters a cVM and comes back with why it stopped. The
//! host backend runs on Linux with a software capability model; the bare-metal backends
//! (`aarch64-virt`, `morello`) come with the Morello issue.

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod aarch64_virt;
#[cfg(feature = "std")]
pub mod host;
pub mod morello;

#[cfg(feature = "std")]
pub use host::{
    hostcall_entry_address, kernel_memory, run_cvm, sample_peaks, Arena, ArenaError, CvmEntry, CvmStop,
    Fault, HostcallHandler, HostcallOutcome,
};
