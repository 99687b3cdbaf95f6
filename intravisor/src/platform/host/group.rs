//! The threads of one cVM on the host, and the futexes they wait on.
//!
//! A cVM's first thread runs on the thread that called `run_cvm`; each thread it starts
//! (`HostcallOutcome::StartThread`) runs on a host thread of its own, with its own switch
//! context and alternate signal stack. The cVM ends when one of its threads exits it,
//! faults or (the first) returns, or when its last thread has ended. Then the others
//! are stopped: a thread in cVM code by [`signals::stop_signal`], which sends it back
//! to the intravisor; a thread in a hostcall when the hostcall returns; a waiting
//! thread at once (the signal ends its wait). The signal is sent again until every
//! thread has left, and every thread is joined before `run_cvm` returns, so none
//! outlives the cVM's memory.
//!
//! Futexes are the kernel's, on the cVM's own words (the handler has checked that they
//! lie in the cVM's memory): the cVM's threads are host threads.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use abi::Errno;

use super::futex;
use super::signals;
use super::switch::{run_thread, CvmStop, HostcallHandler, ThreadEnd, ThreadSeed, ThreadStart};

/// The most threads a cVM may have at once, the first included.
const MOST_THREADS: usize = 64;
/// Host stack of a thread the cVM starts: the intravisor's side only (the cVM's stack is
/// in its region).
const HOST_STACK: usize = 256 * 1024;
/// How often the threads of an ending cVM are signalled again, and how often an idle
/// first thread looks whether the others have ended.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// One cVM's threads.
pub(super) struct Group {
    handler: *const (dyn HostcallHandler + 'static),
    cls_table: u64,
    stopping: AtomicBool,
    stop: Mutex<Option<CvmStop>>,
    next_id: AtomicU64,
    members: Mutex<Vec<Member>>,
}

// SAFETY: the handler is `Sync` (the trait requires it) and outlives the group (see
// `Group::new`); every other field is an atomic or behind a mutex.
unsafe impl Sync for Group {}

/// A thread of the group.
struct Member {
    /// Its host thread id while it runs cVM code or hostcalls (0 before and after).
    host_thread: u64,
    /// Whether it has not ended yet.
    running: bool,
    /// Its host thread, for a thread the cVM started.
    join: Option<JoinHandle<()>>,
}

/// The group, handed to a thread it starts.
struct GroupPointer(*const Group);

// SAFETY: the group is `Sync` and outlives every thread it starts (`finish` joins them).
unsafe impl Send for GroupPointer {}

impl Group {
    /// The group of a cVM whose first thread is the calling one.
    ///
    /// # Safety
    /// `handler` outlives the group's last thread: `finish` is called before it is
    /// dropped, and joins them all.
    pub(super) unsafe fn new(handler: &(dyn HostcallHandler + '_), cls_table: u64) -> Self {
        // SAFETY: only the lifetime is erased; the contract keeps the handler alive.
        let handler: *const (dyn HostcallHandler + 'static) = unsafe { core::mem::transmute(handler) };
        let first = Member { host_thread: host_thread_id(), running: true, join: None };
        Self {
            handler,
            cls_table,
            stopping: AtomicBool::new(false),
            stop: Mutex::new(None),
            next_id: AtomicU64::new(2),
            members: Mutex::new(vec![first]),
        }
    }

    /// The cVM's hostcall handler.
    pub(super) fn handler(&self) -> &(dyn HostcallHandler + '_) {
        // SAFETY: `new`'s contract: the handler outlives the group.
        unsafe { &*self.handler }
    }

    /// The cVM's CLS table.
    pub(super) fn cls_table(&self) -> u64 {
        self.cls_table
    }

    /// How many threads the cVM has run, the first included.
    pub(super) fn thread_count(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - 1
    }

    /// Whether the cVM is ending: no thread may go back into its code.
    pub(super) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    fn members(&self) -> MutexGuard<'_, Vec<Member>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a thread the handler checked; returns its id, or `-EAGAIN` when the cVM is
    /// ending, has [`MOST_THREADS`] threads, or the host has no thread for it.
    pub(super) fn start(&self, start: ThreadStart) -> i64 {
        if self.stopping() {
            return Errno::Again.as_return();
        }
        let mut members = self.members();
        let limit = self.handler().thread_limit().min(MOST_THREADS);
        if members.iter().filter(|member| member.running).count() >= limit {
            return Errno::Again.as_return();
        }
        let thread_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let seed = ThreadSeed {
            entry: start.entry,
            stack_top: start.stack_top,
            argument: start.argument,
            thread_pointer: start.thread_pointer,
            thread_id,
            clear_address: start.clear_address,
        };
        // Threads that have ended are joined here, and their slots taken again, so a cVM
        // that keeps starting short threads does not grow the group.
        let mut free_slot = None;
        for (index, member) in members.iter_mut().enumerate().skip(1) {
            if !member.running {
                if let Some(ended) = member.join.take() {
                    // It has left the cVM and the group's lock: it is returning.
                    let _ = ended.join();
                }
                free_slot.get_or_insert(index);
            }
        }
        let fresh = Member { host_thread: 0, running: true, join: None };
        let index = match free_slot {
            Some(index) => {
                members[index] = fresh;
                index
            }
            None => {
                members.push(fresh);
                members.len() - 1
            }
        };
        let group = GroupPointer(self);
        let name = std::thread::current()
            .name()
            .map_or_else(|| format!("thread {thread_id}"), |name| format!("{name}/{thread_id}"));
        let spawned = std::thread::Builder::new().name(name).stack_size(HOST_STACK).spawn(move || {
            let group = group;
            // SAFETY: `GroupPointer`: the group outlives this thread.
            unsafe { (*group.0).run_member(index, seed) }
        });
        match spawned {
            Ok(join) => {
                members[index].join = Some(join);
                thread_id as i64
            }
            Err(error) => {
                members[index].running = false;
                log::warn!("no host thread for a cVM thread: {error}");
                Errno::Again.as_return()
            }
        }
    }

    /// Body of a thread the cVM started.
    ///
    /// # Safety
    /// The handler checked the seed (executable entry, writable stack, clear address).
    unsafe fn run_member(&self, index: usize, seed: ThreadSeed) {
        self.members()[index].host_thread = host_thread_id();
        // SAFETY: forwarded from this function's contract; the group outlives the call.
        let ended = unsafe { run_thread(self, seed, false) };
        self.record(ended);
        let mut members = self.members();
        members[index].running = false;
        members[index].host_thread = 0;
    }

    /// Takes note of how a thread ended: clears and wakes its word, as Linux does for
    /// `CLONE_CHILD_CLEARTID` (musl's thread-list lock), and ends the cVM if the thread
    /// ended it.
    fn record(&self, (end, clear_address): (ThreadEnd, u64)) {
        if clear_address != 0 {
            // SAFETY: an aligned word the cVM may write (checked by the handler), in its
            // region, which stays mapped until `finish` has joined every thread.
            unsafe { AtomicU32::from_ptr(clear_address as *mut u32) }.store(0, Ordering::SeqCst);
            self.futex_wake(clear_address, i32::MAX as u32);
        }
        if let ThreadEnd::Cvm(stop) = end {
            self.stop.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(stop);
            self.stopping.store(true, Ordering::Release);
            self.signal_running();
        }
    }

    /// Sends the stop signal to every other thread that runs.
    fn signal_running(&self) {
        let own = host_thread_id();
        for member in self.members().iter() {
            if member.running && member.host_thread != 0 && member.host_thread != own {
                // SAFETY: tgkill to a thread of this process that is running (it marks
                // itself ended under the same lock before it exits, so the id is live).
                unsafe {
                    libc::syscall(
                        libc::SYS_tgkill,
                        libc::getpid(),
                        member.host_thread,
                        signals::stop_signal(),
                    )
                };
            }
        }
    }

    /// Called by the first thread when it has left the cVM: waits for the others (until
    /// they end, or stops them if the cVM is ending) and joins them. Returns why the cVM
    /// stopped: the first thread that ended it, else `Exited(0)` when the last ended.
    pub(super) fn finish(&self, first: (ThreadEnd, u64)) -> CvmStop {
        self.record(first);
        {
            let mut members = self.members();
            members[0].running = false;
            members[0].host_thread = 0;
        }
        loop {
            let (ended, running) = {
                let mut members = self.members();
                let ended: Vec<JoinHandle<()>> = members
                    .iter_mut()
                    .filter(|member| !member.running)
                    .filter_map(|member| member.join.take())
                    .collect();
                (ended, members.iter().any(|member| member.running))
            };
            for thread in ended {
                let _ = thread.join();
            }
            if !running {
                break;
            }
            if self.stopping() {
                self.signal_running();
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        self.stop.lock().unwrap_or_else(PoisonError::into_inner).take().unwrap_or(CvmStop::Exited(0))
    }

    /// Sleeps while the word at `address` (checked by the handler) holds `expected`: 0
    /// when woken or when the cVM is ending, `-EAGAIN`, `-ETIMEDOUT`.
    pub(super) fn futex_wait(&self, address: u64, expected: u32, timeout: Option<Duration>) -> i64 {
        futex::wait(address, expected, timeout, libc::FUTEX_PRIVATE_FLAG, &|| self.stopping())
    }

    /// Wakes at most `count` threads waiting on the word at `address`; returns how many.
    pub(super) fn futex_wake(&self, address: u64, count: u32) -> i64 {
        futex::wake(address, count, libc::FUTEX_PRIVATE_FLAG)
    }
}

/// The calling thread's host id.
fn host_thread_id() -> u64 {
    // SAFETY: gettid has no arguments and no side effects.
    unsafe { libc::syscall(libc::SYS_gettid) as u64 }
}
