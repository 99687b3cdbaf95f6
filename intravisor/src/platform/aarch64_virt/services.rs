//! The hostcalls of one bare-metal cVM: console lines, clocks, exit, the thread
//! pointer, its files (`files`), and its threads and futexes (`threads`). Console output
//! is kept until its newline, at most `LONGEST_LINE` bytes (then written out, as on the
//! host). A trapped WFI or WFE ends the cVM as a fault.
//!
//! Every buffer a cVM hands over is checked before a byte moves: on Morello by loads and
//! stores through the cVM's own DDC (a faulting one answers `-EFAULT`), elsewhere
//! against its software capability and page protections.

use alloc::string::String;
use alloc::vec::Vec;

use abi::{Errno, Hostcall, OpenMode, STDERR, STDOUT};

use super::boot::{TrapFrame, TrapHandler, TrapOutcome};
use super::clock;
use super::console::write_bytes;
use super::files::FileTable;
use super::mmu::Arena;
use super::threads::{NoneRunnable, Threads};
use crate::guest::{Access, GuestMemory};

/// Reasons `run_el0` returns with.
pub const LEFT_EXITED: u64 = 1;
pub const LEFT_FAULTED: u64 = 2;

/// The most bytes one hostcall moves at a time.
const CHUNK: usize = 64 * 1024;
/// The longest file name a cVM may pass.
const LONGEST_NAME: u64 = 255;
/// Bytes below a new thread's stack top that must be writable by the cVM.
const LEAST_THREAD_STACK: u64 = 1024;
/// The longest console line kept before it is written out anyway (as on the host).
const LONGEST_LINE: usize = 4096;

/// The hostcalls of one cVM, bare metal.
#[derive(Debug)]
pub struct Services<'a> {
    name: &'a str,
    arena: &'a Arena,
    memory: GuestMemory,
    files: FileTable<'a>,
    pending: Vec<u8>,
    threads: Threads,
    /// Its exit status, once it exited.
    pub status: i32,
    /// What ended it, if it faulted.
    pub fault: Option<String>,
}

impl<'a> Services<'a> {
    /// Services for cVM `name` with `memory`, in `arena`, over its `files`.
    pub fn new(name: &'a str, arena: &'a Arena, memory: GuestMemory, files: FileTable<'a>) -> Self {
        Self {
            name,
            arena,
            memory,
            files,
            pending: Vec::with_capacity(LONGEST_LINE),
            threads: Threads::new(),
            status: 0,
            fault: None,
        }
    }

    fn line(&mut self) {
        write_bytes(b"[");
        write_bytes(self.name.as_bytes());
        write_bytes(b"] ");
        write_bytes(&self.pending);
        write_bytes(b"\n");
        self.pending.clear();
    }

    /// Prints an unfinished console line and closes the files; the cVM has ended.
    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            self.line();
        }
        self.files.close_all();
    }

    fn write(&mut self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        let console = handle == STDOUT || handle == STDERR;
        if !console && !self.files.is_output(handle) {
            return Err(Errno::BadHandle);
        }
        self.check_readable(address, length)?;
        let mut buffer = alloc::vec![0u8; (length as usize).min(CHUNK)];
        let mut done = 0;
        while done < length {
            let chunk = ((length - done) as usize).min(buffer.len());
            self.read(address + done, &mut buffer[..chunk])?;
            if console {
                for &byte in &buffer[..chunk] {
                    if byte == b'\n' {
                        self.line();
                    } else {
                        self.pending.push(byte);
                        if self.pending.len() >= LONGEST_LINE {
                            self.line();
                        }
                    }
                }
            } else {
                self.files.write(handle, &buffer[..chunk])?;
            }
            done += chunk as u64;
        }
        Ok(length)
    }

    fn read_file(&mut self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        let bytes = self.files.read(handle, length.min(CHUNK as u64))?;
        self.write_to_cvm(address, bytes)?;
        Ok(bytes.len() as u64)
    }

    fn open(&mut self, address: u64, length: u64, mode: u64) -> Result<u64, Errno> {
        let mode = OpenMode::from_number(mode).ok_or(Errno::Invalid)?;
        if length > LONGEST_NAME {
            return Err(Errno::NameTooLong);
        }
        self.check_readable(address, length)?;
        let mut name = alloc::vec![0u8; length as usize];
        self.read(address, &mut name)?;
        let name = String::from_utf8(name).map_err(|_| Errno::Invalid)?;
        self.files.open(&name, mode)
    }

    /// Random bytes from SplitMix64 seeded with both clocks: there is no entropy source
    /// on QEMU's virt machine without a driver, so not for secrets.
    fn random(&mut self, address: u64, length: u64) -> Result<u64, Errno> {
        let mut state = clock::monotonic_nanoseconds() ^ clock::wall_nanoseconds().rotate_left(32);
        let mut buffer = alloc::vec![0u8; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = ((length - done) as usize).min(CHUNK);
            for bytes in buffer[..chunk].chunks_mut(8) {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut mixed = state;
                mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                mixed ^= mixed >> 31;
                bytes.copy_from_slice(&mixed.to_le_bytes()[..bytes.len()]);
            }
            self.write_to_cvm(address + done, &buffer[..chunk])?;
            done += chunk as u64;
        }
        Ok(length)
    }

    /// Checks an aligned 32-bit word the cVM handed over for `access`.
    fn check_word(&self, address: u64, access: Access) -> Result<(), Errno> {
        if !address.is_multiple_of(4) {
            return Err(Errno::Invalid);
        }
        self.memory.check(address, 4, access).map_err(|_| Errno::Fault)
    }

    /// `thread_create(entry, stack_top, argument, thread_pointer, clear_address)`,
    /// checked as on the host: code to run, a stack of its own, a word it may write.
    fn start_thread(&mut self, frame: &TrapFrame, arguments: [u64; 5]) -> Result<u64, Errno> {
        let [entry, stack_top, argument, thread_pointer, clear_address] = arguments;
        self.memory.check(entry, 1, Access::Execute).map_err(|_| Errno::Fault)?;
        if !stack_top.is_multiple_of(16) || stack_top < LEAST_THREAD_STACK {
            return Err(Errno::Invalid);
        }
        self.memory
            .check(stack_top - LEAST_THREAD_STACK, LEAST_THREAD_STACK, Access::Write)
            .map_err(|_| Errno::Fault)?;
        if clear_address != 0 {
            self.check_word(clear_address, Access::Write)?;
        }
        self.threads
            .start(frame, (entry, stack_top, argument), thread_pointer, clear_address)
            .ok_or(Errno::Again)
    }

    /// `futex_wait(address, expected, timeout)`: `Ok(None)` when this thread sleeps and
    /// another was switched in (or the cVM ends: `Ok(Some(outcome))`).
    fn futex_wait(
        &mut self,
        frame: &mut TrapFrame,
        address: u64,
        expected: u64,
        timeout: u64,
    ) -> Result<TrapOutcome, Errno> {
        self.check_word(address, Access::Read)?;
        let mut word = [0u8; 4];
        self.read(address, &mut word)?;
        if u32::from_le_bytes(word) != expected as u32 {
            return Err(Errno::Again);
        }
        let deadline = (timeout != u64::MAX).then(|| clock::monotonic_nanoseconds().saturating_add(timeout));
        let switched = self.threads.wait(frame, address, deadline);
        Ok(self.after_switch(switched))
    }

    /// Ends the running thread: clears and wakes its word, and switches to another.
    fn end_thread(&mut self, frame: &mut TrapFrame) -> TrapOutcome {
        let clear_address = self.threads.end_current();
        if clear_address != 0 && self.write_to_cvm(clear_address, &0u32.to_le_bytes()).is_ok() {
            self.threads.wake(clear_address, u64::MAX);
        }
        let switched = self.threads.switch(frame);
        self.after_switch(switched)
    }

    /// Resumes the thread switched in, or ends the cVM when none can run.
    fn after_switch(&mut self, switched: Result<(), NoneRunnable>) -> TrapOutcome {
        match switched {
            Ok(()) => TrapOutcome::Resume,
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

    /// How many threads the cVM has run.
    pub fn thread_count(&self) -> u64 {
        self.threads.count()
    }

    /// Checks that the cVM may hand over `[address, address + length)` for reading: on
    /// Morello by loads through its own DDC, elsewhere against its software capability.
    fn check_readable(&self, address: u64, length: u64) -> Result<(), Errno> {
        if cfg!(feature = "morello") {
            #[cfg(feature = "morello")]
            return super::boot::probe_cvm(address, length).map_err(|_| Errno::Fault);
        }
        self.memory.check(address, length, Access::Read).map_err(|_| Errno::Fault)
    }

    /// Reads the cVM's bytes at `address`, checked as [`Self::check_readable`] checks.
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), Errno> {
        if cfg!(feature = "morello") {
            #[cfg(feature = "morello")]
            return super::boot::copy_from_cvm(address, buffer).map_err(|_| Errno::Fault);
        }
        self.arena.read(address, buffer).map_err(|_| Errno::Fault)
    }

    /// Writes `bytes` into the cVM's memory at `address`: on Morello by stores through
    /// its own DDC, elsewhere after checking its software capability for writing.
    fn write_to_cvm(&self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        if cfg!(feature = "morello") {
            #[cfg(feature = "morello")]
            return super::boot::copy_to_cvm(address, bytes).map_err(|_| Errno::Fault);
        }
        self.memory.check(address, bytes.len() as u64, Access::Write).map_err(|_| Errno::Fault)?;
        self.arena.write(address, bytes).map_err(|_| Errno::Fault)
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
        let arguments = [
            frame.registers[0],
            frame.registers[1],
            frame.registers[2],
            frame.registers[3],
            frame.registers[4],
        ];
        let [a0, a1, a2, ..] = arguments;
        let answer = match Hostcall::from_number(frame.registers[8]) {
            Some(Hostcall::Exit) => {
                self.status = a0 as u32 as i32;
                return TrapOutcome::Leave(LEFT_EXITED);
            }
            Some(Hostcall::ThreadExit) => return self.end_thread(frame),
            Some(Hostcall::FutexWait) => match self.futex_wait(frame, a0, a1, a2) {
                Ok(outcome) => return outcome,
                Err(errno) => Err(errno),
            },
            Some(Hostcall::ThreadCreate) => self.start_thread(frame, arguments),
            Some(Hostcall::FutexWake) => {
                self.check_word(a0, Access::Read).map(|()| self.threads.wake(a0, a1))
            }
            Some(Hostcall::ThreadId) => Ok(self.threads.current_id()),
            Some(Hostcall::SetClearAddress) => {
                let checked = if a0 == 0 { Ok(()) } else { self.check_word(a0, Access::Write) };
                checked.map(|()| {
                    self.threads.set_clear_address(a0);
                    self.threads.current_id()
                })
            }
            Some(Hostcall::ProcessorCount) => Ok(1),
            Some(Hostcall::Write) => self.write(a0, a1, a2),
            Some(Hostcall::ClockMonotonic) => Ok(clock::monotonic_nanoseconds()),
            Some(Hostcall::ClockWall) => Ok(clock::wall_nanoseconds()),
            Some(Hostcall::Open) => self.open(a0, a1, a2),
            Some(Hostcall::Read) => self.read_file(a0, a1, a2),
            Some(Hostcall::Close) => self.files.close(a0).map(|()| 0),
            Some(Hostcall::Seek) => self.files.seek(a0, a1 as i64, a2),
            Some(Hostcall::FileSize) => self.files.size(a0),
            Some(Hostcall::Random) => self.random(a0, a1),
            Some(Hostcall::SetThreadPointer) => {
                super::boot::set_cvm_thread_pointer(a0);
                Ok(0)
            }
            None => Err(Errno::NoSys),
        };
        frame.registers[0] = match answer {
            Ok(value) => value,
            Err(errno) => errno.as_return() as u64,
        };
        TrapOutcome::Resume
    }
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
