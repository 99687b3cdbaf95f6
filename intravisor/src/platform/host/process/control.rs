//! Ending a running cVM process from outside its run, and naming its process while it
//! runs: what a node's `kill`, `pids` and `stats` need of a cVM that `run_cvm_process`
//! holds on a thread of its own.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use crate::platform::host::usage::{process_memory, ProcessMemory};

/// A handle on one cVM's process: its pid while it runs, and a way to end it.
#[derive(Debug)]
pub struct ProcessControl {
    /// Written when the cVM is to end (an eventfd the run polls).
    end: OwnedFd,
    /// The signal it was ended with, the first asked for (0: none yet).
    signal: AtomicI32,
    /// Its process while the cVM runs (0: not started, or ended).
    pid: AtomicU32,
}

impl ProcessControl {
    /// A handle for a cVM not yet started.
    pub fn new() -> std::io::Result<Self> {
        // SAFETY: eventfd makes a new descriptor.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let end = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { end, signal: AtomicI32::new(0), pid: AtomicU32::new(0) })
    }

    /// Ends the cVM, reported as ended by `signal` (its process is killed whatever the
    /// signal: a cVM has no handlers of its own). Asked before it starts, it ends as soon
    /// as it starts. Only the first signal asked for is reported.
    pub fn kill(&self, signal: i32) {
        let _ = self.signal.compare_exchange(0, signal.max(1), Ordering::AcqRel, Ordering::Acquire);
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from `one` to the eventfd this handle owns.
        let _ = unsafe { libc::write(self.end.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// The signal it was ended with, if it was.
    pub fn killed_by(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::Acquire)).filter(|&signal| signal != 0)
    }

    /// Its process, while the cVM runs.
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Acquire)).filter(|&pid| pid != 0)
    }

    /// Its process's memory now, as the kernel counts it, while the cVM runs.
    pub fn memory(&self) -> Option<ProcessMemory> {
        process_memory(self.pid()?)
    }

    pub(super) fn started(&self, pid: u32) {
        self.pid.store(pid, Ordering::Release);
    }

    pub(super) fn ended(&self) {
        self.pid.store(0, Ordering::Release);
    }

    /// The descriptor that becomes readable when the cVM is to end.
    pub(super) fn end_descriptor(&self) -> RawFd {
        self.end.as_raw_fd()
    }
}
