//! The bare-metal side of one cVM's hostcalls: what `crate::hostcall` decodes and
//! checks, served with the image's files, the console, the generic timer's clocks and
//! the scheduler of the cVM's threads (`threads`), which the end of a time slice also
//! runs; a cVM past its processor time limit is ended there. A trapped WFI or WFE ends
//! the cVM as a fault.
//!
//! Every buffer a cVM hands over is checked before a byte moves: on Morello by loads and
//! stores through the cVM's own DDC (a faulting one answers `-EFAULT`), elsewhere
//! against its software capability and page protections.

use alloc::string::String;

use abi::Errno;

use super::boot::{TrapFrame, TrapHandler, TrapOutcome};
use super::clock;
use super::console::write_bytes;
use super::files::FileTable;
use super::mmu::Arena;
use super::threads::{NoneRunnable, Threads};
use crate::guest::{Access, GuestFault, GuestMemory};
use crate::hostcall::{ConsoleLines, Environment, Files, HostcallOutcome, OverLimit, WriteBudget};

/// Reasons `run_el0` returns with.
pub const LEFT_EXITED: u64 = 1;
pub const LEFT_FAULTED: u64 = 2;
/// The cVM gave up the core to the others: its slice is over, or none of its threads
/// can run before a deadline ([`Services::waits_until`]).
pub const LEFT_PAUSED: u64 = 3;

/// Why a cVM given the core back cannot run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    /// None of its threads can run before this monotonic time.
    WaitsUntil(u64),
    /// It has ended: `run_el0`'s reason.
    Left(u64),
}

/// The hostcalls of one cVM, bare metal.
#[derive(Debug)]
pub struct Services<'a> {
    name: &'a str,
    arena: &'a Arena,
    memory: GuestMemory,
    files: FileTable<'a>,
    console: ConsoleLines,
    threads: Threads,
    /// Random state: SplitMix64 seeded with both clocks.
    random: u64,
    /// When it last got the core, on the monotonic clock.
    on_core_since: u64,
    /// The time it held the core before that.
    held_core: u64,
    /// The processor time it may use, in nanoseconds.
    processor_limit: Option<u64>,
    /// Its own code in its region (where, on Morello, its PCC is its own).
    code: core::ops::Range<u64>,
    /// Until when none of its threads can run, when it gave up the core for that.
    waits_until: Option<u64>,
    /// What it may still write (the defaults: the image does not carry limits).
    write_budget: WriteBudget,
    /// Its exit status, once it exited.
    pub status: i32,
    /// What ended it, if it faulted.
    pub fault: Option<String>,
    /// The limit it was ended at, if it was killed at one (`at its ... limit (...)`).
    pub killed: Option<String>,
}

impl<'a> Services<'a> {
    /// Services for cVM `name` with `memory` and its own `code`, in `arena`, over its
    /// `files`.
    pub fn new(
        name: &'a str,
        arena: &'a Arena,
        memory: GuestMemory,
        code: core::ops::Range<u64>,
        files: FileTable<'a>,
    ) -> Self {
        Self {
            name,
            arena,
            memory,
            files,
            console: ConsoleLines::default(),
            threads: Threads::new(),
            random: clock::monotonic_nanoseconds() ^ clock::wall_nanoseconds().rotate_left(32),
            on_core_since: 0,
            held_core: 0,
            processor_limit: None,
            code,
            waits_until: None,
            write_budget: WriteBudget::default(),
            status: 0,
            fault: None,
            killed: None,
        }
    }

    /// Ends the cVM once it has used `seconds` of processor time (checked at every
    /// time slice's end: `interrupts`).
    pub fn limit_processor_time(&mut self, seconds: u64) {
        self.processor_limit = Some(seconds.saturating_mul(1_000_000_000));
    }

    /// The processor time the cVM used: the time it held the core, but what the core
    /// spent idle waiting for one of its threads' deadlines.
    fn processor_time(&self) -> u64 {
        let now = clock::monotonic_nanoseconds();
        (self.held_core + now.saturating_sub(self.on_core_since))
            .saturating_sub(self.threads.idle_nanoseconds())
    }

    /// The cVM gets the core; `shared`: other cVMs wait for it, so the cVM gives it up at
    /// the end of its slice, or when none of its threads can run.
    pub fn take_core(&mut self, shared: bool) {
        self.on_core_since = clock::monotonic_nanoseconds();
        self.threads.shares_core = shared;
    }

    /// The cVM leaves the core.
    pub fn leave_core(&mut self) {
        let now = clock::monotonic_nanoseconds();
        self.held_core += now.saturating_sub(self.on_core_since);
        self.on_core_since = now;
    }

    /// The registers and thread pointer of the thread that runs when the cVM gets the
    /// core back, or why none can (it ended, or until when it waits).
    pub fn resume(&mut self, frame: &mut TrapFrame) -> Result<u64, Paused> {
        match self.threads.resume(frame) {
            Ok(thread_pointer) => Ok(thread_pointer),
            Err(none) => match self.after_switch(Err(none)) {
                TrapOutcome::Leave(LEFT_PAUSED) => Err(Paused::WaitsUntil(self.waits_until.unwrap_or(0))),
                TrapOutcome::Leave(reason) => Err(Paused::Left(reason)),
                TrapOutcome::Resume => Err(Paused::WaitsUntil(0)),
            },
        }
    }

    /// Until when no thread of the cVM can run, if it gave up the core for that.
    pub fn waits_until(&self) -> Option<u64> {
        self.waits_until
    }

    /// Prints unfinished console lines and closes the files; the cVM has ended.
    pub fn finish(&mut self) {
        let name = self.name;
        self.console.flush(|error, line| print_line(name, error, line));
        self.files.close_all();
    }

    /// How many threads the cVM has run.
    pub fn thread_count(&self) -> u64 {
        self.threads.count()
    }

    /// Carries out what a checked hostcall comes to.
    fn carry_out(&mut self, frame: &mut TrapFrame, outcome: HostcallOutcome) -> TrapOutcome {
        let answer = match outcome {
            HostcallOutcome::Return(value) => Ok(value as u64),
            HostcallOutcome::Exit(status) => {
                self.status = status;
                return TrapOutcome::Leave(LEFT_EXITED);
            }
            HostcallOutcome::ExitThread => return self.end_thread(frame),
            HostcallOutcome::OverLimit(over) => {
                self.killed = Some(alloc::format!("at {over}"));
                return TrapOutcome::Leave(LEFT_FAULTED);
            }
            HostcallOutcome::StartThread(start) => self
                .threads
                .start(
                    frame,
                    (start.entry, start.stack_top, start.argument),
                    start.thread_pointer,
                    start.clear_address,
                )
                .ok_or(Errno::Again),
            HostcallOutcome::FutexWait { address, expected, timeout } => {
                match self.futex_wait(frame, address, expected, timeout) {
                    Ok(outcome) => return outcome,
                    Err(errno) => Err(errno),
                }
            }
            HostcallOutcome::FutexWake { address, count } => Ok(self.threads.wake(address, u64::from(count))),
            HostcallOutcome::ThreadId => Ok(self.threads.current_id()),
            HostcallOutcome::SetClearAddress(address) => {
                self.threads.set_clear_address(address);
                Ok(self.threads.current_id())
            }
            HostcallOutcome::SetThreadPointer(value) => {
                super::boot::set_cvm_thread_pointer(value);
                Ok(0)
            }
        };
        frame.registers[0] = match answer {
            Ok(value) => value,
            Err(errno) => errno.as_return() as u64,
        };
        TrapOutcome::Resume
    }

    /// Sleeps on a futex word (checked) while it holds `expected`: another thread is
    /// switched in, or the cVM ends.
    fn futex_wait(
        &mut self,
        frame: &mut TrapFrame,
        address: u64,
        expected: u32,
        timeout: Option<core::time::Duration>,
    ) -> Result<TrapOutcome, Errno> {
        let mut word = [0u8; 4];
        self.copy_from_cvm(address, &mut word)?;
        if u32::from_le_bytes(word) != expected {
            return Err(Errno::Again);
        }
        let deadline = timeout.map(|timeout| {
            clock::monotonic_nanoseconds()
                .saturating_add(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX))
        });
        let switched = self.threads.wait(frame, address, deadline);
        Ok(self.after_switch(switched))
    }

    /// Ends the running thread: clears and wakes its word, and switches to another.
    fn end_thread(&mut self, frame: &mut TrapFrame) -> TrapOutcome {
        let clear_address = self.threads.end_current();
        if clear_address != 0 && self.copy_to_cvm(clear_address, &0u32.to_le_bytes()).is_ok() {
            self.threads.wake(clear_address, u64::MAX);
        }
        let switched = self.threads.switch(frame);
        self.after_switch(switched)
    }

    /// Resumes the thread switched in, or ends the cVM when none can run.
    fn after_switch(&mut self, switched: Result<(), NoneRunnable>) -> TrapOutcome {
        self.waits_until = None;
        match switched {
            Ok(()) => TrapOutcome::Resume,
            Err(NoneRunnable::WaitsUntil(deadline)) => {
                self.waits_until = Some(deadline);
                TrapOutcome::Leave(LEFT_PAUSED)
            }
            Err(NoneRunnable::AllEnded) => {
                self.status = 0;
                TrapOutcome::Leave(LEFT_EXITED)
            }
            Err(NoneRunnable::Deadlocked) => {
                self.fault = Some(String::from(
                    "deadlocked: every thread waits on a futex word, with no deadline and no thread left to wake it",
                ));
                TrapOutcome::Leave(LEFT_FAULTED)
            }
        }
    }
}

impl Environment for Services<'_> {
    fn memory(&self) -> &GuestMemory {
        &self.memory
    }

    /// On Morello, what the cVM hands over for reading is probed by loads through its
    /// own DDC; everything else is checked against its software capability.
    fn check(&self, address: u64, length: u64, access: Access) -> Result<(), GuestFault> {
        #[cfg(feature = "morello")]
        if access == Access::Read {
            return super::boot::probe_cvm(address, length).map_err(|_| GuestFault::Page { address, access });
        }
        self.memory.check(address, length, access)
    }

    fn copy_from_cvm(&self, address: u64, buffer: &mut [u8]) -> Result<(), Errno> {
        if cfg!(feature = "morello") {
            #[cfg(feature = "morello")]
            return super::boot::copy_from_cvm(address, buffer).map_err(|_| Errno::Fault);
        }
        self.arena.read(address, buffer).map_err(|_| Errno::Fault)
    }

    /// On Morello by stores through the cVM's own DDC, elsewhere after checking its
    /// software capability for writing.
    fn copy_to_cvm(&self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        if cfg!(feature = "morello") {
            #[cfg(feature = "morello")]
            return super::boot::copy_to_cvm(address, bytes).map_err(|_| Errno::Fault);
        }
        self.memory.check(address, bytes.len() as u64, Access::Write).map_err(|_| Errno::Fault)?;
        self.arena.write(address, bytes).map_err(|_| Errno::Fault)
    }

    fn console(&mut self, error: bool, bytes: &[u8]) {
        let name = self.name;
        self.console.write(error, bytes, |error, line| print_line(name, error, line));
    }

    fn spend_write_budget(&mut self, console: bool, bytes: u64) -> Result<(), OverLimit> {
        self.write_budget.spend(console, bytes)
    }

    fn files<R>(&mut self, operation: impl FnOnce(&mut dyn Files) -> R) -> R {
        operation(&mut self.files)
    }

    /// SplitMix64 seeded with both clocks: there is no entropy source on QEMU's virt
    /// machine without a driver, so not for secrets.
    fn random(&mut self, buffer: &mut [u8]) -> Result<(), Errno> {
        for bytes in buffer.chunks_mut(8) {
            self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = self.random;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            mixed ^= mixed >> 31;
            bytes.copy_from_slice(&mixed.to_le_bytes()[..bytes.len()]);
        }
        Ok(())
    }

    fn monotonic_nanoseconds(&self) -> u64 {
        clock::monotonic_nanoseconds()
    }

    fn wall_nanoseconds(&self) -> u64 {
        clock::wall_nanoseconds()
    }

    /// cVMs run on one core, one at a time.
    fn processor_count(&self) -> u64 {
        1
    }
}

impl TrapHandler for Services<'_> {
    fn trap(&mut self, frame: &mut TrapFrame, esr: u64, far: u64) -> TrapOutcome {
        const SUPERVISOR_CALL: u64 = 0x15;
        const WAIT_INSTRUCTION: u64 = 0x01;
        if esr >> 26 == WAIT_INSTRUCTION {
            self.fault = Some(describe_wait(esr, frame.exception_link));
            return TrapOutcome::Leave(LEFT_FAULTED);
        }
        if esr >> 26 != SUPERVISOR_CALL {
            self.fault = Some(describe_fault(esr, far, frame.exception_link));
            return TrapOutcome::Leave(LEFT_FAULTED);
        }
        let registers = &frame.registers;
        let arguments = [registers[0], registers[1], registers[2], registers[3], registers[4]];
        let outcome = crate::hostcall::serve(self, registers[8], arguments);
        self.carry_out(frame, outcome)
    }

    /// The running thread's slice is over: the cVM ends if it used its processor time,
    /// and otherwise its next runnable thread takes the core (round robin). A thread
    /// interrupted outside the cVM's own code (on Morello, in an entered C64 object,
    /// under that object's PCC, which the frame's capability slot holds and a switch
    /// would hand to the next thread) keeps the core until it returns there.
    fn slice_over(&mut self, frame: &mut TrapFrame) -> TrapOutcome {
        if let Some(limit) = self.processor_limit {
            if self.processor_time() >= limit {
                self.killed = Some(alloc::format!(
                    "at its processor time limit ({} s, isolation.cpu_seconds)",
                    limit / 1_000_000_000
                ));
                return TrapOutcome::Leave(LEFT_FAULTED);
            }
        }
        if cfg!(feature = "morello") && !self.code.contains(&frame.exception_link) {
            return TrapOutcome::Resume;
        }
        if self.threads.shares_core {
            self.threads.preempt(frame);
            self.waits_until = None;
            return TrapOutcome::Leave(LEFT_PAUSED);
        }
        let switched = self.threads.switch(frame);
        self.after_switch(switched)
    }
}

/// Writes one console line of cVM `name`, prefixed as on the host.
fn print_line(name: &str, error: bool, line: &[u8]) {
    write_bytes(b"[");
    write_bytes(name.as_bytes());
    write_bytes(if error { b":err] " } else { b"] " });
    write_bytes(line);
    write_bytes(b"\n");
}

/// A trapped WFI or WFE (or WFIT, WFET) in words: nothing would wake the core, which
/// runs one cVM at a time with no interrupt for it, so the cVM is ended.
fn describe_wait(esr: u64, elr: u64) -> String {
    let instruction = ["WFI", "WFE", "WFIT", "WFET"][(esr & 3) as usize];
    alloc::format!(
        "{instruction} at EL0: a cVM may not wait for interrupts or events on the core \
         (instruction at {elr:#x}, ESR {esr:#x})"
    )
}

/// A fault in words, from its syndrome (the decoding is the Morello platform's, which
/// covers the base architecture's classes too).
fn describe_fault(esr: u64, far: u64, elr: u64) -> String {
    alloc::format!("{}", crate::platform::morello::exception::Syndrome::from_esr(esr).describe(far, elr))
}
