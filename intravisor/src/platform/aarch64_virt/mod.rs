//! The `aarch64-virt` platform: the intravisor bare metal at EL1 (entered at EL3, EL2 or
//! EL1), with cVMs at EL0, on the board the image is built for (QEMU's `-M virt`, the
//! Morello FVP or board).
//!
//! Isolation here is the software capability model, as on the host: hostcall pointers
//! are checked against the cVM's capabilities; in addition the MMU gives every page of a
//! cVM's region its protection, so a wild access faults. A fault in a cVM ends that cVM,
//! with a report; the run ends with a semihosting exit code.
//!
//! - `boot`: the entry point (dropping to EL1), the exception vectors, entering EL0 and coming back;
//! - `console`: the PL011 UART, and semihosting or PSCI to end the run;
//! - `mmu`: the identity map and the per-page protections of cVM memory;
//! - `clock`: the generic timer and the PL031 real-time clock;
//! - `interrupts`: the GICv3 and the timer's interrupt that ends a thread's time slice;
//! - `run`: preparing and running the image's cVMs; `services`: their hostcalls;
//!   `threads`: a cVM's threads, taking turns on the core;
//! - `files`: a cVM's granted inputs (packed in the image) and outputs (on the host,
//!   through `semihosting`).

pub mod boot;
pub mod clock;
pub mod console;
pub mod files;
pub mod interrupts;
pub mod mmu;
pub mod run;
pub mod semihosting;
pub mod services;
pub mod threads;
