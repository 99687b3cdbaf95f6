//! Serving a cVM's process: one intravisor thread per thread of the cVM answers the
//! hostcalls of that thread's slot, and the thread that started the process waits for
//! it to end.
//!
//! The cVM ends when one of its threads exits it, faults or (the first) returns, when
//! its last thread has ended, or when the process dies (a fault, a forbidden system
//! call, a limit). Then the process is killed, every serving thread leaves (a futex wait
//! of a hostcall ends early) and is joined before the region is torn down.
//!
//! A thread that ends (`ExitThread`, or its entry function returned) is answered, and
//! its slot is given back only once the kernel has cleared the slot's thread id (the
//! thread has left its stack): only then is the word the cVM asked to be cleared written
//! and woken, so a thread joining it may free that stack.
//!
//! The process makes a cVM's futex waits and wakes itself (`shim.c`): the intravisor's
//! wakes of the cVM's words are the kernel's shared ones, which meet them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::Scope;
use std::time::Duration;

use abi::{Errno, Hostcall};

use super::super::futex;
use super::super::switch::{CvmStop, HostcallHandler, HostcallOutcome, ThreadStart};
use super::gate::{slot, slot_state, Action, Gate, RETURNED, SLOTS, UNSHARE};

/// The longest a serving thread sleeps before it looks whether its cVM is ending: a
/// safety net only, since `Served::end` changes and wakes every word one waits on. (At
/// 100 ms, 640 serving threads of 64 transcoders woke 6,400 times a second for nothing.)
const WAIT_SLICE: Duration = Duration::from_secs(1);
/// Futex operations on words the cVM process also waits on: shared ones (not private).
const SHARED: libc::c_int = 0;
/// Page size.
const PAGE: u64 = 4096;
/// The intravisor's stack for a serving thread.
const SERVER_STACK: usize = 256 * 1024;

/// The cVM's threads, by slot.
#[derive(Debug)]
struct Threads {
    used: [bool; SLOTS],
    /// The id the cVM knows each thread by.
    ids: [u64; SLOTS],
    /// The word to clear and wake when each thread ends (0: none).
    clear: [u64; SLOTS],
    alive: usize,
    next_id: u64,
}

/// One cVM's process as the intravisor serves it.
pub(super) struct Served<'a> {
    gate: &'a Gate,
    handler: &'a (dyn HostcallHandler + 'a),
    /// Kills the process (a pidfd: never another process, even once it is reaped).
    pidfd: libc::c_int,
    /// An eventfd written when the cVM ends, for the thread waiting for that.
    ended: libc::c_int,
    stop: Mutex<Option<CvmStop>>,
    ending: AtomicBool,
    threads: Mutex<Threads>,
    started: AtomicU64,
    /// The grants (their indices) the process was handed to read itself, in the order
    /// of its descriptors.
    direct_grants: Vec<usize>,
}

impl<'a> Served<'a> {
    /// Serving the process behind `pidfd`, whose first thread is in slot 0, and which
    /// reads the grants `direct_grants` itself.
    pub(super) fn new(
        gate: &'a Gate,
        handler: &'a (dyn HostcallHandler + 'a),
        pidfd: libc::c_int,
        ended: libc::c_int,
        direct_grants: Vec<usize>,
    ) -> Self {
        let mut threads =
            Threads { used: [false; SLOTS], ids: [0; SLOTS], clear: [0; SLOTS], alive: 1, next_id: 2 };
        threads.used[0] = true;
        threads.ids[0] = 1;
        Self {
            gate,
            handler,
            pidfd,
            ended,
            stop: Mutex::new(None),
            ending: AtomicBool::new(false),
            threads: Mutex::new(threads),
            started: AtomicU64::new(1),
            direct_grants,
        }
    }

    fn threads(&self) -> MutexGuard<'_, Threads> {
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the cVM is ending.
    pub(super) fn ending(&self) -> bool {
        self.ending.load(Ordering::Acquire)
    }

    /// Threads the cVM ran, the first included.
    pub(super) fn thread_count(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Why the cVM stopped, if the intravisor decided it.
    pub(super) fn take_stop(&self) -> Option<CvmStop> {
        self.stop.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Ends the cVM (the first reason given stays): kills its process and sends every
    /// serving thread away.
    pub(super) fn end(&self, stop: Option<CvmStop>) {
        if let Some(stop) = stop {
            self.stop.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(stop);
        }
        if self.ending.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: pidfd_send_signal on our own pidfd; the descriptor names the cVM's
        // process only, even after it died. The eventfd write adds 1 to its counter.
        unsafe {
            libc::syscall(libc::SYS_pidfd_send_signal, self.pidfd, libc::SIGKILL, 0usize, 0u32);
            libc::write(self.ended, (&1u64 as *const u64).cast(), 8);
        }
        // Only slots in use have a serving thread to send away (one that starts after
        // this sees `ending` before it waits). Each word a serving thread waits on is
        // changed, then woken: a thread that read it before the change finds it changed
        // when it waits, one that read it after sees `ending` (`serve`, `thread_ended`).
        let used = self.threads().used;
        for index in (0..SLOTS).filter(|&index| used[index]) {
            for (word, value) in [(slot::STATE, slot_state::ENDED), (slot::TID, 0)] {
                let half = self.gate.slot_half(index, word);
                half.store(value, Ordering::Release);
                futex::wake(half.as_ptr() as u64, u32::MAX, 0);
            }
        }
    }

    /// Serves the hostcalls of slot `index` until its thread or the cVM ends.
    pub(super) fn serve<'scope>(&'scope self, scope: &'scope Scope<'scope, '_>, index: usize) {
        let state = self.gate.slot_half(index, slot::STATE);
        loop {
            if self.ending() {
                return;
            }
            let now = state.load(Ordering::Acquire);
            if now == slot_state::ABANDONED {
                self.thread_ended(index);
                return;
            }
            // No spinning for the next request here: on a busy machine that only takes
            // the core from the cVMs (the caller waits a little for its answer instead).
            if now != slot_state::REQUEST {
                // Read after `now`: `end` set it before it changed the word.
                if self.ending() {
                    return;
                }
                let _ = futex::wait_raw(state.as_ptr() as u64, now, 0, WAIT_SLICE);
                continue;
            }
            let number = self.gate.slot_get(index, slot::NUMBER);
            let arguments: [u64; 5] =
                core::array::from_fn(|at| self.gate.slot_get(index, slot::ARGUMENTS + at));
            let Some((action, result, value)) = self.answer(scope, index, number, arguments) else {
                self.end(None);
                return;
            };
            self.gate.slot_set(index, slot::RESULT, result as u64);
            self.gate.slot_set(index, slot::ACTION, action as u64);
            self.gate.slot_set(index, slot::VALUE, value);
            state.store(slot_state::RESPONSE, Ordering::Release);
            futex::wake(state.as_ptr() as u64, 1, 0);
            if action == Action::ExitThread {
                self.thread_ended(index);
                return;
            }
        }
    }

    /// The answer to one request of slot `index`: what the process does, the result and
    /// a value; `None` when the cVM ends (its reason recorded).
    fn answer<'scope>(
        &'scope self,
        scope: &'scope Scope<'scope, '_>,
        index: usize,
        number: u64,
        arguments: [u64; 5],
    ) -> Option<(Action, i64, u64)> {
        if number == RETURNED {
            if index == 0 {
                self.end(Some(CvmStop::Returned(arguments[0])));
                return None;
            }
            return Some((Action::ExitThread, 0, 0));
        }
        if number == UNSHARE {
            // A write of the cVM faulted on a merged page (run-time sharing): it gets its
            // own copy, which its process maps again before the write is made again.
            let page = arguments[0] & !(PAGE - 1);
            let outcome =
                catch_unwind(AssertUnwindSafe(|| self.handler.with_own_pages(page, PAGE, &mut || {})));
            return match outcome {
                Ok(()) => Some((Action::Return, 0, 0)),
                Err(_) => {
                    self.end(Some(CvmStop::HandlerPanicked));
                    None
                }
            };
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| self.handler.hostcall(number, arguments)));
        Some(match outcome {
            Ok(HostcallOutcome::Return(value)) => self.returned(number, value),
            Ok(HostcallOutcome::SetThreadPointer(value)) => (Action::SetThreadPointer, 0, value),
            Ok(HostcallOutcome::Exit(status)) => {
                self.end(Some(CvmStop::Exited(status)));
                return None;
            }
            // The services turn a write past a limit into an exit, and report it.
            Ok(HostcallOutcome::OverLimit(_)) => {
                self.end(Some(CvmStop::Exited(-1)));
                return None;
            }
            Ok(HostcallOutcome::ExitThread) => (Action::ExitThread, 0, 0),
            Ok(HostcallOutcome::StartThread(start)) => match self.start_thread(scope, start) {
                Ok((slot, id)) => (Action::StartThread, id as i64, slot as u64),
                Err(errno) => (Action::Return, errno.as_return(), 0),
            },
            Ok(HostcallOutcome::FutexWait { address, expected, timeout }) => {
                (Action::Return, futex::wait(address, expected, timeout, SHARED, &|| self.ending()), 0)
            }
            Ok(HostcallOutcome::FutexWake { address, count }) => {
                (Action::Return, futex::wake(address, count, SHARED), 0)
            }
            Ok(HostcallOutcome::ThreadId) => (Action::Return, self.threads().ids[index] as i64, 0),
            Ok(HostcallOutcome::SetClearAddress(address)) => {
                let mut threads = self.threads();
                threads.clear[index] = address;
                (Action::Return, threads.ids[index] as i64, 0)
            }
            Err(_) => {
                self.end(Some(CvmStop::HandlerPanicked));
                return None;
            }
        })
    }

    /// The answer that returns `value` from hostcall `number`: an open of a grant the
    /// process was handed also tells it which of its descriptors reads that file (the
    /// process then reads and seeks it itself, `shim.c`).
    fn returned(&self, number: u64, value: i64) -> (Action, i64, u64) {
        if number == Hostcall::Open as u64 && value >= 0 {
            let grant = self.handler.grant_read_by(value as u64);
            let handed = grant.and_then(|grant| self.direct_grants.iter().position(|&given| given == grant));
            if let Some(descriptor) = handed {
                return (Action::ReadDirectly, value, descriptor as u64);
            }
        }
        (Action::Return, value, 0)
    }

    /// Takes a slot for a thread the handler allowed and starts its serving thread; the
    /// process makes the thread when it reads the answer. Returns the slot and the id.
    fn start_thread<'scope>(
        &'scope self,
        scope: &'scope Scope<'scope, '_>,
        start: ThreadStart,
    ) -> Result<(usize, u64), Errno> {
        let (index, id) = {
            let mut threads = self.threads();
            if threads.alive >= self.handler.thread_limit() {
                return Err(Errno::Again);
            }
            let index = threads.used.iter().position(|used| !used).ok_or(Errno::Again)?;
            let id = threads.next_id;
            threads.next_id += 1;
            threads.used[index] = true;
            threads.ids[index] = id;
            threads.clear[index] = start.clear_address;
            threads.alive += 1;
            (index, id)
        };
        for (word, value) in [
            (slot::TID, 0),
            (slot::STATE, u64::from(slot_state::IDLE)),
            (slot::THREAD_ENTRY, start.entry),
            (slot::THREAD_STACK, start.stack_top),
            (slot::THREAD_ARGUMENT, start.argument),
            (slot::THREAD_POINTER, start.thread_pointer),
        ] {
            self.gate.slot_set(index, word, value);
        }
        let spawned = std::thread::Builder::new()
            .name(format!("cvm-thread-{id}"))
            .stack_size(SERVER_STACK)
            .spawn_scoped(scope, move || self.serve(scope, index));
        if spawned.is_err() {
            let mut threads = self.threads();
            threads.used[index] = false;
            threads.alive -= 1;
            return Err(Errno::Again);
        }
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok((index, id))
    }

    /// Slot `index`'s thread was told to end, or never started: once the kernel cleared
    /// its id, clears and wakes the word the cVM named, gives the slot back, and ends
    /// the cVM with 0 if it was the last thread.
    fn thread_ended(&self, index: usize) {
        let tid = self.gate.slot_half(index, slot::TID);
        loop {
            let now = tid.load(Ordering::Acquire);
            if now == 0 || self.ending() {
                break;
            }
            let _ = futex::wait_raw(tid.as_ptr() as u64, now, 0, WAIT_SLICE);
        }
        let clear = {
            let mut threads = self.threads();
            threads.used[index] = false;
            threads.alive -= 1;
            if threads.alive == 0 {
                drop(threads);
                self.end(Some(CvmStop::Exited(0)));
                return;
            }
            core::mem::take(&mut threads.clear[index])
        };
        if clear != 0 && !self.ending() {
            // A merged page becomes the cVM's own again before the intravisor writes it.
            self.handler.with_own_pages(clear, 4, &mut || {
                // SAFETY: the handler checked that the word is aligned and writable by the
                // cVM: it lies in the cVM's region, which the intravisor maps at the same
                // address (read-write: the page is the cVM's own) until every serving
                // thread is joined.
                unsafe { (*(clear as *const core::sync::atomic::AtomicU32)).store(0, Ordering::Release) };
            });
            futex::wake(clear, u32::MAX, SHARED);
        }
    }
}
