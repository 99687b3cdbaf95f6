//! The hostcall handler of one cVM.
//!
//! Every pointer argument is checked with [`GuestMemory::check`] against the cVM's data
//! capability and page protections before a byte is copied; a range that fails returns
//! `-EFAULT` to the cVM. Data crosses in bounded chunks through intravisor buffers, so
//! a cVM can neither make the intravisor fault nor make it hold more than a chunk.
//! What a cVM can make the intravisor log is rate-limited.
//!
//! A cVM's threads share one handler: its console, file table and log budget are
//! behind a lock, taken for one hostcall at a time and never while a thread waits.
//! Thread starts and futex operations are checked here and carried out by the
//! platform (`HostcallOutcome`).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use abi::{Errno, Hostcall, OpenMode, STDERR, STDOUT};

use super::console::{Console, OutputSink};
use super::files::FileTable;
use crate::config::FileGrant;
use crate::guest::{Access, GuestMemory};
use crate::platform::{Arena, HostcallHandler, HostcallOutcome, ThreadStart};

/// The most bytes one read or write hostcall moves.
const CHUNK: usize = 64 * 1024;
/// The longest file name a cVM may pass.
const LONGEST_NAME: u64 = 255;
/// Log lines one cVM may cause before the rest are dropped.
const LOG_BUDGET: u32 = 16;
/// Bytes below a new thread's stack top that must be writable by the cVM.
const LEAST_THREAD_STACK: u64 = 1024;
/// Bytes of cVM memory a thread pointer must name: its thread control block.
const THREAD_POINTER_BLOCK: u64 = 16;

/// Serves the hostcalls of one cVM, for all its threads.
#[derive(Debug)]
pub struct CvmServices<'a> {
    name: &'a str,
    arena: &'a Arena,
    memory: GuestMemory,
    state: Mutex<State<'a>>,
}

/// What the hostcalls of a cVM change.
#[derive(Debug)]
struct State<'a> {
    console: Console<'a>,
    files: FileTable,
    log_budget: u32,
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
        };
        Self { name, arena, memory, state: Mutex::new(state) }
    }

    fn state(&self) -> MutexGuard<'_, State<'a>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// Checks a range the cVM handed over, logging a refusal.
    fn check(&self, call: Hostcall, address: u64, length: u64, access: Access) -> Result<(), Errno> {
        self.memory.check(address, length, access).map_err(|fault| {
            self.note(format_args!("{call:?} hostcall refused: {fault}"));
            Errno::Fault
        })
    }

    /// Checks an aligned 32-bit word the cVM handed over.
    fn check_word(&self, call: Hostcall, address: u64, access: Access) -> Result<(), Errno> {
        if !address.is_multiple_of(4) {
            self.note(format_args!("{call:?} hostcall refused: {address:#x} is not 4-byte aligned"));
            return Err(Errno::Invalid);
        }
        self.check(call, address, 4, access)
    }

    fn write(&self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        self.check(Hostcall::Write, address, length, Access::Read)?;
        let mut buffer = vec![0; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = ((length - done) as usize).min(CHUNK);
            self.arena.read(address + done, &mut buffer[..chunk]).map_err(|_| Errno::Fault)?;
            let mut state = self.state();
            match handle {
                STDOUT | STDERR => state.console.write(handle == STDERR, &buffer[..chunk]),
                _ => {
                    state.files.write(handle, &buffer[..chunk])?;
                }
            }
            done += chunk as u64;
        }
        Ok(length)
    }

    fn read(&self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        self.check(Hostcall::Read, address, length, Access::Write)?;
        let mut buffer = vec![0; (length as usize).min(CHUNK)];
        let count = self.state().files.read(handle, &mut buffer)?;
        self.arena.write(address, &buffer[..count]).map_err(|_| Errno::Fault)?;
        Ok(count as u64)
    }

    /// Checks a thread the cVM asks for: it starts in the cVM's code, on a stack of its
    /// own, and the word cleared when it ends is the cVM's.
    fn thread_start(&self, arguments: [u64; 5]) -> Result<ThreadStart, Errno> {
        let [entry, stack_top, argument, thread_pointer, clear_address] = arguments;
        self.check(Hostcall::ThreadCreate, entry, 1, Access::Execute)?;
        if !stack_top.is_multiple_of(16) || stack_top < LEAST_THREAD_STACK {
            self.note(format_args!(
                "ThreadCreate hostcall refused: stack top {stack_top:#x} is not 16-byte aligned"
            ));
            return Err(Errno::Invalid);
        }
        self.check(
            Hostcall::ThreadCreate,
            stack_top - LEAST_THREAD_STACK,
            LEAST_THREAD_STACK,
            Access::Write,
        )?;
        if clear_address != 0 {
            self.check_word(Hostcall::ThreadCreate, clear_address, Access::Write)?;
        }
        self.check_thread_pointer(Hostcall::ThreadCreate, thread_pointer)?;
        Ok(ThreadStart { entry, stack_top, argument, thread_pointer, clear_address })
    }

    /// A C library's thread pointer becomes machine state (the `fs` base, TPIDR_EL0):
    /// 0 (none), or the address of 16 bytes of the cVM's own memory (its thread control
    /// block; cvm-libos reads the word at offset 8 on AArch64). Anything else, such as a
    /// non-canonical address that `wrfsbase` would refuse, is refused here.
    fn check_thread_pointer(&self, call: Hostcall, thread_pointer: u64) -> Result<(), Errno> {
        if thread_pointer == 0 {
            return Ok(());
        }
        self.check(call, thread_pointer, THREAD_POINTER_BLOCK, Access::Read)
    }

    fn random(&self, address: u64, length: u64) -> Result<u64, Errno> {
        self.check(Hostcall::Random, address, length, Access::Write)?;
        let mut buffer = vec![0u8; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = ((length - done) as usize).min(CHUNK);
            getrandom(&mut buffer[..chunk])?;
            self.arena.write(address + done, &buffer[..chunk]).map_err(|_| Errno::Fault)?;
            done += chunk as u64;
        }
        Ok(length)
    }

    fn open(&self, address: u64, length: u64, mode: u64) -> Result<u64, Errno> {
        let mode = OpenMode::from_number(mode).ok_or(Errno::Invalid)?;
        if length > LONGEST_NAME {
            return Err(Errno::NameTooLong);
        }
        self.check(Hostcall::Open, address, length, Access::Read)?;
        let mut name = vec![0; length as usize];
        self.arena.read(address, &mut name).map_err(|_| Errno::Fault)?;
        let name = String::from_utf8(name).map_err(|_| Errno::Invalid)?;
        self.state().files.open(&name, mode)
    }

    fn dispatch(&self, call: Hostcall, arguments: [u64; 5]) -> Result<u64, Errno> {
        let [a0, a1, a2, _, _] = arguments;
        match call {
            Hostcall::Write => self.write(a0, a1, a2),
            Hostcall::Read => self.read(a0, a1, a2),
            Hostcall::Open => self.open(a0, a1, a2),
            Hostcall::Close => self.state().files.close(a0).map(|()| 0),
            Hostcall::Seek => self.state().files.seek(a0, a1 as i64, a2),
            Hostcall::FileSize => self.state().files.size(a0),
            Hostcall::Random => self.random(a0, a1),
            Hostcall::ClockMonotonic => Ok(monotonic_nanoseconds()),
            Hostcall::ClockWall => Ok(wall_nanoseconds()),
            Hostcall::ProcessorCount => {
                Ok(std::thread::available_parallelism().map_or(1, |count| count.get() as u64))
            }
            // Handled by `hostcall` before dispatch.
            Hostcall::Exit
            | Hostcall::ThreadExit
            | Hostcall::ThreadCreate
            | Hostcall::FutexWait
            | Hostcall::FutexWake
            | Hostcall::SetClearAddress => Err(Errno::Invalid),
            Hostcall::SetThreadPointer => Err(Errno::Invalid),
            // The host's switch serves it before the handler is asked.
            Hostcall::ThreadId => Err(Errno::NoSys),
        }
    }

    /// The hostcalls the platform carries out once they are checked here.
    fn threads(&self, call: Hostcall, arguments: [u64; 5]) -> Result<HostcallOutcome, Errno> {
        let [a0, a1, a2, ..] = arguments;
        Ok(match call {
            Hostcall::Exit => HostcallOutcome::Exit(a0 as u32 as i32),
            Hostcall::ThreadExit => HostcallOutcome::ExitThread,
            Hostcall::ThreadCreate => HostcallOutcome::StartThread(self.thread_start(arguments)?),
            Hostcall::FutexWait => {
                self.check_word(call, a0, Access::Read)?;
                let timeout = (a2 != u64::MAX).then(|| Duration::from_nanos(a2));
                HostcallOutcome::FutexWait { address: a0, expected: a1 as u32, timeout }
            }
            Hostcall::SetThreadPointer => {
                self.check_thread_pointer(call, a0)?;
                HostcallOutcome::SetThreadPointer(a0)
            }
            Hostcall::SetClearAddress => {
                if a0 != 0 {
                    self.check_word(call, a0, Access::Write)?;
                }
                HostcallOutcome::SetClearAddress(a0)
            }
            Hostcall::FutexWake => {
                self.check_word(call, a0, Access::Read)?;
                HostcallOutcome::FutexWake { address: a0, count: a1.min(u64::from(u32::MAX)) as u32 }
            }
            _ => HostcallOutcome::Return(match self.dispatch(call, arguments) {
                Ok(value) => value as i64,
                Err(errno) => errno.as_return(),
            }),
        })
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
    fn hostcall(&self, number: u64, arguments: [u64; 5]) -> HostcallOutcome {
        let Some(call) = Hostcall::from_number(number) else {
            self.note(format_args!("unknown hostcall {number}: answered ENOSYS"));
            return HostcallOutcome::Return(Errno::NoSys.as_return());
        };
        self.threads(call, arguments).unwrap_or_else(|errno| HostcallOutcome::Return(errno.as_return()))
    }
}

fn monotonic_nanoseconds() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn wall_nanoseconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
