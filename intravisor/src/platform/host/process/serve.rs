//! Serving a cVM's process: one intravisor thread answers the hostcalls of every thread
//! of the cVM, sleeping on all their slots at once (`futex_waitv`), and the thread that
//! started the process waits for it to end.
//!
//! One serving thread per cVM, not one per cVM thread: the process makes a cVM's futex
//! waits and wakes, its clock reads and its reads of granted files itself (`shim.c`), so
//! what reaches the intravisor is rare (opens, writes, thread starts), and a serving
//! thread per cVM thread held 16 KiB of resident stack each for nothing (1 MB at 8
//! transcoders of 8 threads). Requests are answered slot by slot in turn, one per slot
//! per pass, so no thread of the cVM can keep the others' requests waiting for long.
//!
//! The cVM ends when one of its threads exits it, faults or (the first) returns, when
//! its last thread has ended, or when the process dies (a fault, a forbidden system
//! call, a limit). Then the process is killed, the serving thread leaves (the word it
//! also sleeps on is changed and woken) and is joined before the region is torn down.
//!
//! A thread that ends (`ExitThread`, or its entry function returned) is answered, and
//! its slot is given back only once the kernel has cleared the slot's thread id (the
//! thread has left its stack): only then is the word the cVM asked to be cleared written
//! and woken, so a thread joining it may free that stack.
//!
//! The process makes a cVM's futex waits and wakes itself (`shim.c`): the intravisor's
//! wakes of the cVM's words are the kernel's shared ones, which meet them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use abi::{Errno, Hostcall};

use super::super::futex::{self, Waiters};
use super::super::switch::{CvmStop, HostcallHandler, HostcallOutcome, ThreadStart};
use super::gate::{slot, slot_state, Action, Gate, RETURNED, SLOTS, UNSHARE};

/// The longest the serving thread sleeps before it looks at its slots again: a safety
/// net only, since `Served::end` changes and wakes a word it sleeps on.
const WAIT_SLICE: Duration = Duration::from_secs(1);
/// Futex operations on words the cVM process also waits on: shared ones (not private).
const SHARED: libc::c_int = 0;
/// Page size.
const PAGE: u64 = 4096;

/// What a hostcall slot is to the serving thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotUse {
    Free,
    /// A thread of the cVM makes its hostcalls there (or is about to start).
    Serving,
    /// Its thread was told to end, or never started: the slot is given back once the
    /// kernel has cleared its thread id.
    Leaving,
}

/// The cVM's threads, by slot: the serving thread's own.
#[derive(Debug)]
struct Threads {
    uses: [SlotUse; SLOTS],
    /// The id the cVM knows each thread by.
    ids: [u64; SLOTS],
    /// The word to clear and wake when each thread ends (0: none).
    clear: [u64; SLOTS],
    next_id: u64,
}

impl Threads {
    /// The first thread, in slot 0, with id 1.
    fn first() -> Self {
        let mut threads =
            Self { uses: [SlotUse::Free; SLOTS], ids: [0; SLOTS], clear: [0; SLOTS], next_id: 2 };
        threads.uses[0] = SlotUse::Serving;
        threads.ids[0] = 1;
        threads
    }

    /// Threads started and not yet given back (a slot in use each).
    fn alive(&self) -> usize {
        self.uses.iter().filter(|&&used| used != SlotUse::Free).count()
    }
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
    /// A word of the intravisor's own that the serving thread also sleeps on: 1 once
    /// the cVM is ending.
    ending_word: AtomicU32,
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
        Self {
            gate,
            handler,
            pidfd,
            ended,
            stop: Mutex::new(None),
            ending: AtomicBool::new(false),
            ending_word: AtomicU32::new(0),
            started: AtomicU64::new(1),
            direct_grants,
        }
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

    /// Ends the cVM (the first reason given stays): kills its process and sends the
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
        // The serving thread sleeps on this word, expecting 0, whenever it sleeps: it
        // finds it changed if it reads it after this, and is woken if it sleeps already.
        self.ending_word.store(1, Ordering::Release);
        futex::wake(self.ending_word.as_ptr() as u64, u32::MAX, libc::FUTEX_PRIVATE_FLAG);
    }

    /// Serves the hostcalls of every thread of the cVM until the cVM ends.
    pub(super) fn serve(&self) {
        let mut threads = Threads::first();
        let mut waiters = Waiters::new();
        loop {
            if self.ending() {
                return;
            }
            waiters.clear();
            waiters.push(&self.ending_word, 0, true);
            let mut served = false;
            for index in 0..SLOTS {
                match threads.uses[index] {
                    SlotUse::Free => {}
                    SlotUse::Serving => {
                        let state = self.gate.slot_half(index, slot::STATE);
                        let now = state.load(Ordering::Acquire);
                        if now == slot_state::ABANDONED {
                            threads.uses[index] = SlotUse::Leaving;
                            served = true;
                        } else if now == slot_state::REQUEST {
                            if !self.respond(&mut threads, index) {
                                return;
                            }
                            served = true;
                        } else {
                            // No spinning for the next request here: on a busy machine
                            // that only takes the core from the cVMs.
                            waiters.push(state, now, false);
                        }
                    }
                    SlotUse::Leaving => {
                        let tid = self.gate.slot_half(index, slot::TID);
                        let now = tid.load(Ordering::Acquire);
                        if now == 0 {
                            if !self.thread_ended(&mut threads, index) {
                                return;
                            }
                            served = true;
                        } else {
                            waiters.push(tid, now, false);
                        }
                    }
                }
            }
            // Something was answered or changed: look again before sleeping (a request
            // made meanwhile in a slot looked at earlier is not missed either way: its
            // word no longer holds the value it is expected to).
            if !served {
                waiters.wait(WAIT_SLICE);
            }
        }
    }

    /// Answers the request in slot `index`; false when the cVM ends.
    fn respond(&self, threads: &mut Threads, index: usize) -> bool {
        let number = self.gate.slot_get(index, slot::NUMBER);
        let arguments: [u64; 5] = core::array::from_fn(|at| self.gate.slot_get(index, slot::ARGUMENTS + at));
        let Some((action, result, value)) = self.answer(threads, index, number, arguments) else {
            self.end(None);
            return false;
        };
        self.gate.slot_set(index, slot::RESULT, result as u64);
        self.gate.slot_set(index, slot::ACTION, action as u64);
        self.gate.slot_set(index, slot::VALUE, value);
        let state = self.gate.slot_half(index, slot::STATE);
        state.store(slot_state::RESPONSE, Ordering::Release);
        futex::wake(state.as_ptr() as u64, 1, SHARED);
        if action == Action::ExitThread {
            threads.uses[index] = SlotUse::Leaving;
        }
        true
    }

    /// The answer to one request of slot `index`: what the process does, the result and
    /// a value; `None` when the cVM ends (its reason recorded).
    fn answer(
        &self,
        threads: &mut Threads,
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
            Ok(HostcallOutcome::StartThread(start)) => match self.start_thread(threads, start) {
                Ok((slot, id)) => (Action::StartThread, id as i64, slot as u64),
                Err(errno) => (Action::Return, errno.as_return(), 0),
            },
            // The process waits itself (`shim.c`): a wait that reaches the gate was
            // written into the slot by hand. It is answered at once, as a spurious wake
            // (which the ABI allows), so that no thread keeps the cVM's other threads'
            // requests waiting.
            Ok(HostcallOutcome::FutexWait { .. }) => (Action::Return, 0, 0),
            Ok(HostcallOutcome::FutexWake { address, count }) => {
                (Action::Return, futex::wake(address, count, SHARED), 0)
            }
            Ok(HostcallOutcome::ThreadId) => (Action::Return, threads.ids[index] as i64, 0),
            Ok(HostcallOutcome::SetClearAddress(address)) => {
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

    /// Takes a slot for a thread the handler allowed, which the serving thread looks at
    /// from now on; the process makes the thread when it reads the answer. Returns the
    /// slot and the id.
    fn start_thread(&self, threads: &mut Threads, start: ThreadStart) -> Result<(usize, u64), Errno> {
        if threads.alive() >= self.handler.thread_limit() {
            return Err(Errno::Again);
        }
        let index = threads.uses.iter().position(|&used| used == SlotUse::Free).ok_or(Errno::Again)?;
        let id = threads.next_id;
        threads.next_id += 1;
        threads.uses[index] = SlotUse::Serving;
        threads.ids[index] = id;
        threads.clear[index] = start.clear_address;
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
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok((index, id))
    }

    /// Slot `index`'s thread has ended (the kernel cleared its id): clears and wakes the
    /// word the cVM named, gives the slot back, and ends the cVM with 0 if it was the
    /// last thread (then returns false).
    fn thread_ended(&self, threads: &mut Threads, index: usize) -> bool {
        threads.uses[index] = SlotUse::Free;
        if threads.alive() == 0 {
            self.end(Some(CvmStop::Exited(0)));
            return false;
        }
        let clear = core::mem::take(&mut threads.clear[index]);
        if clear != 0 && !self.ending() {
            // A merged page becomes the cVM's own again before the intravisor writes it.
            self.handler.with_own_pages(clear, 4, &mut || {
                // SAFETY: the handler checked that the word is aligned and writable by the
                // cVM: it lies in the cVM's region, which the intravisor maps at the same
                // address (read-write: the page is the cVM's own) until the serving
                // thread is joined.
                unsafe { (*(clear as *const core::sync::atomic::AtomicU32)).store(0, Ordering::Release) };
            });
            futex::wake(clear, u32::MAX, SHARED);
        }
        true
    }
}
