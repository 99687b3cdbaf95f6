//! A bare-metal cVM's threads, taking turns on the one core.
//!
//! The intravisor runs one cVM at a time. A thread runs until it waits on a futex word,
//! ends, or its time slice is over (`interrupts`; on a core without a GICv3 a thread
//! that computes without a blocking hostcall keeps the core); then the next runnable
//! thread of the cVM (round robin) resumes, its saved registers put into the trap
//! frame the exception return restores, its thread pointer into TPIDR_EL0. A wake makes
//! waiters runnable without switching. A wait that times out makes its thread runnable
//! again when its deadline has passed; when no thread can run but one waits with a
//! deadline, the core idles until then (time the cVM is not charged for). When every
//! thread left waits with no deadline, nothing can wake them: the cVM is deadlocked and
//! ended.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::boot::{cvm_thread_pointer, set_cvm_thread_pointer, TrapFrame};
use super::clock;

/// The most threads a cVM may have at once.
pub(super) const MOST_THREADS: usize = 64;
/// `-ETIMEDOUT`, what a wait answers when its deadline passed.
const TIMED_OUT: u64 = (-110i64) as u64;

/// Why no thread of the cVM can go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoneRunnable {
    /// Every thread has ended: the cVM ends with status 0.
    AllEnded,
    /// Every thread left waits on a futex word with no deadline.
    Deadlocked,
    /// No thread can run before this monotonic time, and the core has other cVMs to
    /// run meanwhile.
    WaitsUntil(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Running now, or ready to.
    Runnable,
    /// Waiting on the word at `address` until a wake, or the monotonic `deadline`.
    Waiting {
        address: u64,
        deadline: Option<u64>,
    },
    Ended,
}

#[derive(Debug)]
struct Thread {
    id: u64,
    state: State,
    /// Its registers while another thread runs (`None` for the one running).
    saved: Option<Box<TrapFrame>>,
    thread_pointer: u64,
    /// The word cleared and woken when it ends (0: none).
    clear_address: u64,
}

/// The threads of the cVM running now.
#[derive(Debug)]
pub struct Threads {
    threads: Vec<Thread>,
    current: usize,
    /// How many threads the cVM has run; the last one's id.
    started: u64,
    /// Time the core spent idle for the cVM, waiting for a deadline.
    idle: u64,
    /// Whether other cVMs share the core: then no thread of this one idles it.
    pub shares_core: bool,
}

impl Default for Threads {
    fn default() -> Self {
        Self::new()
    }
}

impl Threads {
    /// A cVM's threads: its first one, running.
    pub fn new() -> Self {
        let first =
            Thread { id: 1, state: State::Runnable, saved: None, thread_pointer: 0, clear_address: 0 };
        Self { threads: alloc::vec![first], current: 0, started: 1, idle: 0, shares_core: false }
    }

    /// How many threads the cVM has run.
    pub fn count(&self) -> u64 {
        self.started
    }

    /// Nanoseconds the core spent idle for the cVM, waiting for a deadline.
    pub fn idle_nanoseconds(&self) -> u64 {
        self.idle
    }

    /// The running thread's id.
    pub fn current_id(&self) -> u64 {
        self.threads[self.current].id
    }

    /// Sets the running thread's clear address (checked by the caller).
    pub fn set_clear_address(&mut self, address: u64) {
        self.threads[self.current].clear_address = address;
    }

    /// Adds a runnable thread starting at `entry(argument)` on `stack` with
    /// `thread_pointer` (all checked by the caller); returns its id, or `None` when the
    /// cVM has [`MOST_THREADS`] threads that have not ended.
    pub fn start(
        &mut self,
        frame: &TrapFrame,
        (entry, stack, argument): (u64, u64, u64),
        thread_pointer: u64,
        clear_address: u64,
    ) -> Option<u64> {
        if self.threads.iter().filter(|thread| thread.state != State::Ended).count() >= MOST_THREADS {
            return None;
        }
        self.started += 1;
        let id = self.started;
        let saved = Some(Box::new(frame.started(entry, stack, argument)));
        let thread = Thread { id, state: State::Runnable, saved, thread_pointer, clear_address };
        // An ended thread's slot is taken again, so short threads do not grow the list.
        match self.threads.iter().position(|thread| thread.state == State::Ended) {
            Some(slot) => self.threads[slot] = thread,
            None => self.threads.push(thread),
        }
        Some(id)
    }

    /// Makes at most `count` threads waiting on `address` runnable (their wait answers
    /// 0); returns how many.
    pub fn wake(&mut self, address: u64, count: u64) -> u64 {
        let mut woken = 0;
        for thread in &mut self.threads {
            if woken == count {
                break;
            }
            if matches!(thread.state, State::Waiting { address: waiting, .. } if waiting == address) {
                thread.state = State::Runnable;
                if let Some(saved) = thread.saved.as_mut() {
                    saved.registers[0] = 0;
                }
                woken += 1;
            }
        }
        woken
    }

    /// The running thread waits on `address` (the caller saw it hold the expected
    /// value) until a wake or `deadline`; another thread is switched in.
    pub fn wait(
        &mut self,
        frame: &mut TrapFrame,
        address: u64,
        deadline: Option<u64>,
    ) -> Result<(), NoneRunnable> {
        let running = &mut self.threads[self.current];
        running.state = State::Waiting { address, deadline };
        running.saved = Some(Box::new(frame.clone()));
        self.switch(frame)
    }

    /// The running thread ends; returns its clear address (the caller clears the word
    /// and wakes it), and switches another thread in.
    pub fn end_current(&mut self) -> u64 {
        let thread = &mut self.threads[self.current];
        thread.state = State::Ended;
        core::mem::take(&mut thread.clear_address)
    }

    /// Saves the running thread into its slot and restores the next runnable one into
    /// `frame`, idling until a deadline if none can run yet (or, when the core is
    /// shared, saying until when none can).
    pub fn switch(&mut self, frame: &mut TrapFrame) -> Result<(), NoneRunnable> {
        let running = &mut self.threads[self.current];
        if running.saved.is_none() && running.state != State::Ended {
            running.saved = Some(Box::new(frame.clone()));
        }
        let next = match self.next_runnable() {
            Ok(next) => next,
            Err(none) => {
                // Resumed later by `resume`, which sets the thread pointer it had.
                self.threads[self.current].thread_pointer = cvm_thread_pointer();
                return Err(none);
            }
        };
        if next != self.current {
            self.threads[self.current].thread_pointer = cvm_thread_pointer();
            self.current = next;
            set_cvm_thread_pointer(self.threads[next].thread_pointer);
        }
        if let Some(saved) = self.threads[next].saved.take() {
            *frame = *saved;
        }
        Ok(())
    }

    /// The running thread's slice is over and the core goes to another cVM: it is saved,
    /// runnable, with its thread pointer.
    pub fn preempt(&mut self, frame: &TrapFrame) {
        let running = &mut self.threads[self.current];
        running.saved = Some(Box::new(frame.clone()));
        running.thread_pointer = cvm_thread_pointer();
    }

    /// The cVM gets the core back: the next runnable thread's registers into `frame`;
    /// returns its thread pointer (the core's register holds another cVM's now).
    pub fn resume(&mut self, frame: &mut TrapFrame) -> Result<u64, NoneRunnable> {
        let next = self.next_runnable()?;
        self.current = next;
        if let Some(saved) = self.threads[next].saved.take() {
            *frame = *saved;
        }
        Ok(self.threads[next].thread_pointer)
    }

    /// The next runnable thread after the running one (round robin), after waking the
    /// waits whose deadline passed; idles until the earliest deadline if none is, unless
    /// the core is shared.
    fn next_runnable(&mut self) -> Result<usize, NoneRunnable> {
        loop {
            let now = clock::monotonic_nanoseconds();
            let mut earliest: Option<u64> = None;
            for thread in &mut self.threads {
                if let State::Waiting { deadline: Some(deadline), .. } = thread.state {
                    if deadline <= now {
                        thread.state = State::Runnable;
                        if let Some(saved) = thread.saved.as_mut() {
                            saved.registers[0] = TIMED_OUT;
                        }
                    } else {
                        earliest = Some(earliest.map_or(deadline, |earliest| earliest.min(deadline)));
                    }
                }
            }
            let count = self.threads.len();
            let runnable = (1..=count)
                .map(|step| (self.current + step) % count)
                .find(|&index| self.threads[index].state == State::Runnable);
            match (runnable, earliest) {
                (Some(index), _) => return Ok(index),
                (None, Some(deadline)) if self.shares_core => return Err(NoneRunnable::WaitsUntil(deadline)),
                (None, Some(deadline)) => {
                    while clock::monotonic_nanoseconds() < deadline {
                        core::hint::spin_loop();
                    }
                    self.idle += clock::monotonic_nanoseconds().saturating_sub(now);
                }
                (None, None) if self.threads.iter().all(|thread| thread.state == State::Ended) => {
                    return Err(NoneRunnable::AllEnded)
                }
                (None, None) => return Err(NoneRunnable::Deadlocked),
            }
        }
    }
}
