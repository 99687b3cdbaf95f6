//! The host's side of one cVM's hostcalls: what `crate::hostcall` decodes and checks,
//! served with the host's files, console sink, clocks and random source.
//!
//! A cVM's threads share one handler: its console, file table and log budget are
//! behind a lock, taken for one operation at a time and never while a thread waits.
//! What a cVM can make the intravisor log is rate-limited. Thread starts and futex
//! operations are carried out by the platform (`HostcallOutcome`).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use abi::Errno;

use super::console::{Console, OutputSink};
use super::files::FileTable;
use crate::config::FileGrant;
use crate::guest::GuestMemory;
use crate::hostcall::{Environment, Files, OverLimit, WriteBudget};
use crate::platform::clock;
use crate::platform::{Arena, HostcallHandler, HostcallOutcome, RegionMerge};

/// The status a cVM ended at a limit exits with (128 + SIGKILL, as a shell reports a
/// killed process); its report says killed.
const KILLED_STATUS: i32 = 137;

/// Threads a cVM may have at once when its deployment names no limit (and the most).
pub const DEFAULT_THREADS: usize = 64;

/// Log lines one cVM may cause before the rest are dropped.
const LOG_BUDGET: u32 = 16;

/// Serves the hostcalls of one cVM, for all its threads.
#[derive(Debug)]
pub struct CvmServices<'a> {
    name: &'a str,
    arena: &'a Arena,
    memory: GuestMemory,
    state: Mutex<State<'a>>,
    /// Its run-time sharing, when its tenant opted in: pages are unshared before the
    /// intravisor writes into them.
    merge: Option<Arc<RegionMerge>>,
    /// The most threads it may have at once (`isolation.threads`).
    thread_limit: usize,
}

/// What the hostcalls of a cVM change.
#[derive(Debug)]
struct State<'a> {
    console: Console<'a>,
    files: FileTable,
    log_budget: u32,
    write_budget: WriteBudget,
    /// The limit it asked to write past, which ended it.
    over_limit: Option<OverLimit>,
}

impl<'a> CvmServices<'a> {
    /// Services for cVM `name`, whose memory is `memory` inside `arena`.
    pub fn new(
        name: &'a str,
        arena: &'a Arena,
        memory: GuestMemory,
        sink: &'a OutputSink,
        grants: Vec<FileGrant>,
        output: Option<PathBuf>,
    ) -> Self {
        let state = State {
            console: Console::new(name, sink),
            files: FileTable::new(grants, output),
            log_budget: LOG_BUDGET,
            write_budget: WriteBudget::default(),
            over_limit: None,
        };
        Self { name, arena, memory, state: Mutex::new(state), merge: None, thread_limit: DEFAULT_THREADS }
    }

    /// The same, with the cVM's run-time sharing.
    pub fn with_run_time_sharing(mut self, merge: Option<Arc<RegionMerge>>) -> Self {
        self.merge = merge;
        self
    }

    fn state(&self) -> MutexGuard<'_, State<'a>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `write` once the merged pages of `[start, start + length)` are the cVM's
    /// own again, with their bytes (`keep`) or as zeros (run-time sharing).
    fn with_own_pages<R>(&self, start: u64, length: u64, keep: bool, write: impl FnOnce() -> R) -> R {
        match &self.merge {
            Some(merge) => merge.with_own_pages(start, start.saturating_add(length), keep, write),
            None => write(),
        }
    }

    /// What the cVM may write to its console and into its output directory.
    pub fn with_write_budget(self, budget: WriteBudget) -> Self {
        self.state().write_budget = budget;
        self
    }

    /// At most `limit` threads at once, its first included.
    pub fn with_threads(mut self, limit: usize) -> Self {
        self.thread_limit = limit;
        self
    }

    /// At most `limit` files open at once.
    pub fn with_open_files(self, limit: usize) -> Self {
        self.state().files.limit_open(limit);
        self
    }

    /// The limit the cVM asked to write past, which ended it.
    pub fn over_limit(&self) -> Option<OverLimit> {
        self.state().over_limit
    }

    /// Writes out unfinished console lines; called when the cVM has stopped.
    pub fn finish(&self) {
        self.state().console.flush();
    }

    /// Logs something this cVM caused, within its budget.
    fn note(&self, message: std::fmt::Arguments<'_>) {
        let mut state = self.state();
        match state.log_budget {
            0 => {}
            1 => {
                log::warn!(
                    "cVM `{}`: {message} (further hostcall messages of this cVM are suppressed)",
                    self.name
                );
                state.log_budget = 0;
            }
            _ => {
                log::warn!("cVM `{}`: {message}", self.name);
                state.log_budget -= 1;
            }
        }
    }
}

/// One hostcall's view of the services: each operation takes the state's lock for
/// itself, so no lock is held while data is copied or a thread waits.
struct Serving<'s, 'a>(&'s CvmServices<'a>);

impl Environment for Serving<'_, '_> {
    fn memory(&self) -> &GuestMemory {
        &self.0.memory
    }

    fn copy_from_cvm(&self, address: u64, buffer: &mut [u8]) -> Result<(), Errno> {
        let read_own =
            |address, buffer: &mut [u8]| self.0.arena.read(address, buffer).map_err(|_| Errno::Fault);
        match &self.0.merge {
            Some(merge) => merge.read(address, buffer, read_own),
            None => read_own(address, buffer),
        }
    }

    fn copy_to_cvm(&self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        let write = || self.0.arena.write(address, bytes).map_err(|_| Errno::Fault);
        self.0.with_own_pages(address, bytes.len() as u64, true, write)
    }

    fn console(&mut self, error: bool, bytes: &[u8]) {
        self.0.state().console.write(error, bytes);
    }

    fn spend_write_budget(&mut self, console: bool, bytes: u64) -> Result<(), OverLimit> {
        self.0.state().write_budget.spend(console, bytes)
    }

    fn files<R>(&mut self, operation: impl FnOnce(&mut dyn Files) -> R) -> R {
        operation(&mut self.0.state().files)
    }

    fn random(&mut self, buffer: &mut [u8]) -> Result<(), Errno> {
        getrandom(buffer)
    }

    fn monotonic_nanoseconds(&self) -> u64 {
        clock::monotonic_nanoseconds()
    }

    fn wall_nanoseconds(&self) -> u64 {
        clock::wall_nanoseconds()
    }

    fn processor_count(&self) -> u64 {
        std::thread::available_parallelism().map_or(1, |count| count.get() as u64)
    }

    fn discard(&mut self, address: u64, length: u64) -> Result<(), Errno> {
        let discard = || self.0.arena.discard(address, address + length).map_err(|_| Errno::Fault);
        self.0.with_own_pages(address, length, false, discard)
    }

    fn note(&mut self, message: std::fmt::Arguments<'_>) {
        self.0.note(message);
    }
}

/// Fills `buffer` from the kernel's random source.
fn getrandom(buffer: &mut [u8]) -> Result<(), Errno> {
    let mut filled = 0;
    while filled < buffer.len() {
        let rest = &mut buffer[filled..];
        // SAFETY: the kernel writes at most `rest.len()` bytes into `rest`.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got <= 0 {
            return Err(Errno::Io);
        }
        filled += got as usize;
    }
    Ok(())
}

impl HostcallHandler for CvmServices<'_> {
    /// A write past a limit ends the cVM as an exit would; the runner reports it killed
    /// at that limit (`over_limit`).
    fn hostcall(&self, number: u64, arguments: [u64; 5]) -> HostcallOutcome {
        match crate::hostcall::serve(&mut Serving(self), number, arguments) {
            HostcallOutcome::OverLimit(over) => {
                self.state().over_limit.get_or_insert(over);
                HostcallOutcome::Exit(KILLED_STATUS)
            }
            outcome => outcome,
        }
    }

    fn with_own_pages(&self, start: u64, length: u64, write: &mut dyn FnMut()) {
        CvmServices::with_own_pages(self, start, length, true, write);
    }

    fn thread_limit(&self) -> usize {
        self.thread_limit
    }

    fn regular_grants(&self, most: usize) -> Vec<(usize, OwnedFd)> {
        self.state().files.regular_grants(most)
    }

    fn grant_read_by(&self, handle: u64) -> Option<usize> {
        self.state().files.grant_read_by(handle)
    }
}
