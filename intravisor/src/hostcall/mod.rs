//! One cVM's hostcalls, decoded and checked once for every platform.
//!
//! [`serve`] takes a hostcall's number and five raw arguments and either answers it
//! (console and files, clocks, random bytes) or returns what the platform must carry out
//! (exits, threads, futexes, the thread pointer) once every argument has been checked.
//! The platform provides the rest through [`Environment`]: how the cVM's memory is
//! checked and copied, where its console lines and files go, its clocks.
//!
//! Every pointer argument is checked against the cVM's capabilities and page protections
//! before a byte is copied; a range that fails answers `-EFAULT`. Data crosses in bounded
//! chunks through intravisor buffers, so a cVM can neither make the intravisor fault nor
//! make it hold more than a chunk. What a cVM hands over that becomes machine state (a
//! thread's entry, stack and thread pointer; a futex word) must name the cVM's own memory.

mod console;

use alloc::string::String;
use alloc::vec;
use core::fmt;
use core::time::Duration;

use abi::{Errno, Hostcall, OpenMode, STDERR, STDOUT};

use crate::guest::{Access, GuestFault, GuestMemory};

pub use console::{ConsoleLines, LONGEST_LINE};

/// The most bytes one read, write or random hostcall moves at a time.
const CHUNK: usize = 64 * 1024;
/// The most bytes one read hostcall gives (a read may be short, as POSIX allows): a
/// serving thread, or the one core of a bare-metal intravisor, is never held longer.
const LONGEST_READ: u64 = 16 * 1024 * 1024;
/// The page size of every platform.
const PAGE_SIZE: u64 = crate::region::PAGE_SIZE;
/// The longest file name a cVM may pass.
const LONGEST_NAME: u64 = 255;
/// Bytes below a new thread's stack top that must be writable by the cVM.
const LEAST_THREAD_STACK: u64 = 1024;
/// Bytes of cVM memory a thread pointer must name: its thread control block.
const THREAD_POINTER_BLOCK: u64 = 16;

/// What a hostcall comes to once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostcallOutcome {
    /// Return this value to the cVM.
    Return(i64),
    /// End the whole cVM with this status; do not return to it.
    Exit(i32),
    /// End the calling thread only; do not return to it.
    ExitThread,
    /// Start another thread of the cVM (checked); return its id.
    StartThread(ThreadStart),
    /// Wait on a futex word (checked: aligned, readable by the cVM).
    FutexWait {
        /// The word's address.
        address: u64,
        /// The value it must hold for the thread to sleep.
        expected: u32,
        /// How long at most; `None`: until woken.
        timeout: Option<Duration>,
    },
    /// The word to clear and wake when the calling thread ends (checked: 0, or aligned
    /// and writable by the cVM); return the thread's id.
    SetClearAddress(u64),
    /// Set the calling thread's C library thread pointer (checked: 0, or an address of
    /// the cVM's own memory); return 0.
    SetThreadPointer(u64),
    /// Wake threads waiting on a futex word (checked).
    FutexWake {
        /// The word's address.
        address: u64,
        /// How many at most.
        count: u32,
    },
    /// Return the calling thread's id, which only the platform knows.
    ThreadId,
    /// End the whole cVM: it asked to write past one of its limits.
    OverLimit(OverLimit),
}

/// A limit on what a cVM writes, which ends it when it would go past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Bytes to its standard output and error together.
    ConsoleBytes(u64),
    /// Bytes into the files of its output directory together.
    OutputBytes(u64),
}

impl fmt::Display for OverLimit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConsoleBytes(bytes) => {
                write!(formatter, "its console limit ({bytes} bytes, isolation.console_bytes)")
            }
            Self::OutputBytes(bytes) => {
                write!(formatter, "its output limit ({bytes} bytes, isolation.output_bytes)")
            }
        }
    }
}

/// What a cVM may still write to its console and into its output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBudget {
    console: u64,
    output: u64,
    console_left: u64,
    output_left: u64,
}

impl WriteBudget {
    /// The console limit a cVM gets when its deployment names none: 64 MiB.
    pub const DEFAULT_CONSOLE_BYTES: u64 = 64 << 20;
    /// The output limit a cVM gets when its deployment names none: 1 GiB.
    pub const DEFAULT_OUTPUT_BYTES: u64 = 1 << 30;

    /// A budget of `console` bytes to the console and `output` bytes of output files.
    pub const fn new(console: u64, output: u64) -> Self {
        Self { console, output, console_left: console, output_left: output }
    }

    /// Takes `bytes` from the console's budget or the output's; the limit when they do
    /// not fit (nothing is taken then).
    pub fn spend(&mut self, console: bool, bytes: u64) -> Result<(), OverLimit> {
        let (left, over) = if console {
            (&mut self.console_left, OverLimit::ConsoleBytes(self.console))
        } else {
            (&mut self.output_left, OverLimit::OutputBytes(self.output))
        };
        *left = left.checked_sub(bytes).ok_or(over)?;
        Ok(())
    }
}

impl Default for WriteBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CONSOLE_BYTES, Self::DEFAULT_OUTPUT_BYTES)
    }
}

/// A thread a cVM asked for, its addresses checked against the cVM's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadStart {
    /// Executable code of the cVM where the thread starts.
    pub entry: u64,
    /// The 16-byte-aligned top of its stack, writable by the cVM.
    pub stack_top: u64,
    /// The entry function's first argument.
    pub argument: u64,
    /// The C library's thread pointer for it (0: none).
    pub thread_pointer: u64,
    /// A writable, aligned 32-bit word cleared and woken when the thread ends (0: none).
    pub clear_address: u64,
}

/// A cVM's open files: the granted inputs it reads, the outputs it creates.
pub trait Files {
    /// Opens a granted input, or creates an output.
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<u64, Errno>;
    /// Whether `handle` is an open output.
    fn is_output(&mut self, handle: u64) -> bool;
    /// Reads from an input at its position into `buffer`; the count read.
    fn read(&mut self, handle: u64, buffer: &mut [u8]) -> Result<usize, Errno>;
    /// Writes all of `bytes` to an output at its position.
    fn write(&mut self, handle: u64, bytes: &[u8]) -> Result<(), Errno>;
    /// Moves a file's position (`whence` 0: from the start, 1: from the position, 2:
    /// from the end); the new position.
    fn seek(&mut self, handle: u64, offset: i64, whence: u64) -> Result<u64, Errno>;
    /// A file's size.
    fn size(&mut self, handle: u64) -> Result<u64, Errno>;
    /// Closes a file.
    fn close(&mut self, handle: u64) -> Result<(), Errno>;
    /// Cuts an output to `length` bytes, at most its size; platforms whose outputs
    /// cannot be cut refuse.
    fn truncate(&mut self, handle: u64, length: u64) -> Result<(), Errno> {
        let _ = (handle, length);
        Err(Errno::Invalid)
    }
    /// Deletes a file of the output directory; platforms that cannot refuse.
    fn remove(&mut self, name: &str) -> Result<(), Errno> {
        let _ = name;
        Err(Errno::Access)
    }
}

/// What a platform provides to serve one cVM's hostcalls.
pub trait Environment {
    /// The cVM's memory as its capabilities and page protections describe it.
    fn memory(&self) -> &GuestMemory;
    /// Checks that the cVM may hand over `length` bytes at `address` for `access`; by
    /// default against its capabilities and page protections.
    fn check(&self, address: u64, length: u64, access: Access) -> Result<(), GuestFault> {
        self.memory().check(address, length, access)
    }
    /// Copies the cVM's bytes at `address` (checked readable) into `buffer`.
    fn copy_from_cvm(&self, address: u64, buffer: &mut [u8]) -> Result<(), Errno>;
    /// Copies `bytes` into the cVM's memory at `address` (checked writable).
    fn copy_to_cvm(&self, address: u64, bytes: &[u8]) -> Result<(), Errno>;
    /// Takes bytes the cVM wrote to standard output (`error == false`) or error.
    fn console(&mut self, error: bool, bytes: &[u8]);
    /// Takes `bytes` about to be written to the console (`console`) or an output file
    /// from the cVM's [`WriteBudget`]; the limit it would pass otherwise.
    fn spend_write_budget(&mut self, console: bool, bytes: u64) -> Result<(), OverLimit>;
    /// Runs `operation` on the cVM's files.
    fn files<R>(&mut self, operation: impl FnOnce(&mut dyn Files) -> R) -> R;
    /// Fills `buffer` with random bytes.
    fn random(&mut self, buffer: &mut [u8]) -> Result<(), Errno>;
    /// Nanoseconds of a clock that never goes back.
    fn monotonic_nanoseconds(&self) -> u64;
    /// Nanoseconds since the Unix epoch.
    fn wall_nanoseconds(&self) -> u64;
    /// The processors the cVM's threads may run on at once.
    fn processor_count(&self) -> u64;
    /// Makes the cVM's pages `[address, address + length)` (checked: page-aligned and
    /// writable by it) read as zero; by default by writing zeros, where a platform can
    /// give the memory back instead, it does.
    fn discard(&mut self, address: u64, length: u64) -> Result<(), Errno> {
        let zeros = vec![0u8; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = &zeros[..((length - done) as usize).min(CHUNK)];
            self.copy_to_cvm(address + done, chunk)?;
            done += chunk.len() as u64;
        }
        Ok(())
    }
    /// Notes something the cVM caused (a refused hostcall); a platform that logs it
    /// must rate-limit it.
    fn note(&mut self, message: fmt::Arguments<'_>) {
        let _ = message;
    }
}

/// Serves hostcall `number` with its five raw arguments.
pub fn serve(environment: &mut impl Environment, number: u64, arguments: [u64; 5]) -> HostcallOutcome {
    let Some(call) = Hostcall::from_number(number) else {
        environment.note(format_args!("unknown hostcall {number}: answered ENOSYS"));
        return HostcallOutcome::Return(Errno::NoSys.as_return());
    };
    let mut checked = Checked { environment, call };
    checked.serve(arguments).unwrap_or_else(|errno| HostcallOutcome::Return(errno.as_return()))
}

/// One hostcall being served.
struct Checked<'e, E> {
    environment: &'e mut E,
    call: Hostcall,
}

impl<E: Environment> Checked<'_, E> {
    fn serve(&mut self, arguments: [u64; 5]) -> Result<HostcallOutcome, Errno> {
        let [a0, a1, a2, ..] = arguments;
        let answer = match self.call {
            Hostcall::Exit => return Ok(HostcallOutcome::Exit(a0 as u32 as i32)),
            Hostcall::ThreadExit => return Ok(HostcallOutcome::ExitThread),
            Hostcall::ThreadId => return Ok(HostcallOutcome::ThreadId),
            Hostcall::ThreadCreate => return Ok(HostcallOutcome::StartThread(self.thread_start(arguments)?)),
            Hostcall::FutexWait => {
                self.check_word(a0, Access::Read)?;
                let timeout = (a2 != u64::MAX).then(|| Duration::from_nanos(a2));
                return Ok(HostcallOutcome::FutexWait { address: a0, expected: a1 as u32, timeout });
            }
            Hostcall::FutexWake => {
                self.check_word(a0, Access::Read)?;
                let count = a1.min(u64::from(u32::MAX)) as u32;
                return Ok(HostcallOutcome::FutexWake { address: a0, count });
            }
            Hostcall::SetThreadPointer => {
                self.check_thread_pointer(a0)?;
                return Ok(HostcallOutcome::SetThreadPointer(a0));
            }
            Hostcall::SetClearAddress => {
                if a0 != 0 {
                    self.check_word(a0, Access::Write)?;
                }
                return Ok(HostcallOutcome::SetClearAddress(a0));
            }
            Hostcall::Write => {
                // A bad handle or buffer is answered; only a write that could be made
                // counts against the cVM's limits.
                let console = self.writable(a0, a1, a2)?;
                if let Err(over) = self.environment.spend_write_budget(console, a2) {
                    return Ok(HostcallOutcome::OverLimit(over));
                }
                self.write(console, a0, a1, a2)
            }
            Hostcall::Read => self.read(a0, a1, a2),
            Hostcall::Open => self.open(a0, a1, a2),
            Hostcall::Close => self.environment.files(|files| files.close(a0)).map(|()| 0),
            Hostcall::Seek => self.environment.files(|files| files.seek(a0, a1 as i64, a2)),
            Hostcall::FileSize => self.environment.files(|files| files.size(a0)),
            Hostcall::Random => self.random(a0, a1),
            Hostcall::ClockMonotonic => Ok(self.environment.monotonic_nanoseconds()),
            Hostcall::ClockWall => Ok(self.environment.wall_nanoseconds()),
            Hostcall::ProcessorCount => Ok(self.environment.processor_count()),
            Hostcall::DiscardPages => self.discard(a0, a1),
            Hostcall::Truncate => self.environment.files(|files| files.truncate(a0, a1)).map(|()| 0),
            Hostcall::Remove => {
                let name = self.name(a0, a1)?;
                self.environment.files(|files| files.remove(&name)).map(|()| 0)
            }
        };
        answer.map(|value| HostcallOutcome::Return(value as i64))
    }

    /// Checks a range the cVM handed over, noting a refusal.
    fn check(&mut self, address: u64, length: u64, access: Access) -> Result<(), Errno> {
        let call = self.call;
        self.environment.check(address, length, access).map_err(|fault| {
            self.environment.note(format_args!("{call:?} hostcall refused: {fault}"));
            Errno::Fault
        })
    }

    /// Checks an aligned 32-bit word the cVM handed over.
    fn check_word(&mut self, address: u64, access: Access) -> Result<(), Errno> {
        if !address.is_multiple_of(4) {
            let call = self.call;
            self.environment
                .note(format_args!("{call:?} hostcall refused: {address:#x} is not 4-byte aligned"));
            return Err(Errno::Invalid);
        }
        self.check(address, 4, access)
    }

    /// A C library's thread pointer becomes machine state (the `fs` base, TPIDR_EL0):
    /// 0 (none), or the address of 16 bytes of the cVM's own memory (its thread control
    /// block; cvm-libos reads the word at offset 8 on AArch64). Anything else, such as a
    /// non-canonical address that `wrfsbase` would refuse, is refused here.
    fn check_thread_pointer(&mut self, thread_pointer: u64) -> Result<(), Errno> {
        if thread_pointer == 0 {
            return Ok(());
        }
        self.check(thread_pointer, THREAD_POINTER_BLOCK, Access::Read)
    }

    /// Checks a thread the cVM asks for: it starts in the cVM's code, on a stack of its
    /// own, and the word cleared when it ends is the cVM's.
    fn thread_start(&mut self, arguments: [u64; 5]) -> Result<ThreadStart, Errno> {
        let [entry, stack_top, argument, thread_pointer, clear_address] = arguments;
        self.check(entry, 1, Access::Execute)?;
        if !stack_top.is_multiple_of(16) || stack_top < LEAST_THREAD_STACK {
            self.environment.note(format_args!(
                "ThreadCreate hostcall refused: stack top {stack_top:#x} is not 16-byte aligned"
            ));
            return Err(Errno::Invalid);
        }
        self.check(stack_top - LEAST_THREAD_STACK, LEAST_THREAD_STACK, Access::Write)?;
        if clear_address != 0 {
            self.check_word(clear_address, Access::Write)?;
        }
        self.check_thread_pointer(thread_pointer)?;
        Ok(ThreadStart { entry, stack_top, argument, thread_pointer, clear_address })
    }

    /// Checks a write of `length` bytes at `address` to `handle`: an open output or the
    /// console (returns which), and a buffer the cVM may read.
    fn writable(&mut self, handle: u64, address: u64, length: u64) -> Result<bool, Errno> {
        let console = handle == STDOUT || handle == STDERR;
        if !console && !self.environment.files(|files| files.is_output(handle)) {
            return Err(Errno::BadHandle);
        }
        self.check(address, length, Access::Read)?;
        Ok(console)
    }

    /// Writes a checked buffer (`writable`) to the console or the output `handle`.
    fn write(&mut self, console: bool, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        let mut buffer = vec![0; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = &mut buffer[..((length - done) as usize).min(CHUNK)];
            self.environment.copy_from_cvm(address + done, chunk)?;
            if console {
                self.environment.console(handle == STDERR, chunk);
            } else {
                self.environment.files(|files| files.write(handle, chunk))?;
            }
            done += chunk.len() as u64;
        }
        Ok(length)
    }

    /// Reads up to [`LONGEST_READ`] bytes in one hostcall, [`CHUNK`] at a time, until
    /// the file gives fewer than asked (its end): a 1280x720 frame (1.4 MB) is one round
    /// trip, as it is one `read` natively, not 22.
    fn read(&mut self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        let length = length.min(LONGEST_READ);
        self.check(address, length, Access::Write)?;
        let mut buffer = vec![0; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let wanted = ((length - done) as usize).min(CHUNK);
            let count = match self.environment.files(|files| files.read(handle, &mut buffer[..wanted])) {
                Ok(count) => count,
                // What was read before the error is the cVM's: the error shows next time.
                Err(_) if done > 0 => break,
                Err(error) => return Err(error),
            };
            self.environment.copy_to_cvm(address + done, &buffer[..count])?;
            done += count as u64;
            if count < wanted {
                break;
            }
        }
        Ok(done)
    }

    fn open(&mut self, address: u64, length: u64, mode: u64) -> Result<u64, Errno> {
        let mode = OpenMode::from_number(mode).ok_or(Errno::Invalid)?;
        let name = self.name(address, length)?;
        self.environment.files(|files| files.open(&name, mode))
    }

    /// A file name the cVM handed over: at most [`LONGEST_NAME`] bytes of UTF-8 in its
    /// own memory.
    fn name(&mut self, address: u64, length: u64) -> Result<String, Errno> {
        if length > LONGEST_NAME {
            return Err(Errno::NameTooLong);
        }
        self.check(address, length, Access::Read)?;
        let mut name = vec![0; length as usize];
        self.environment.copy_from_cvm(address, &mut name)?;
        String::from_utf8(name).map_err(|_| Errno::Invalid)
    }

    fn discard(&mut self, address: u64, length: u64) -> Result<u64, Errno> {
        if !address.is_multiple_of(PAGE_SIZE) || !length.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::Invalid);
        }
        if length == 0 {
            return Ok(0);
        }
        self.check(address, length, Access::Write)?;
        self.environment.discard(address, length)?;
        Ok(0)
    }

    fn random(&mut self, address: u64, length: u64) -> Result<u64, Errno> {
        self.check(address, length, Access::Write)?;
        let mut buffer = vec![0u8; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = &mut buffer[..((length - done) as usize).min(CHUNK)];
            self.environment.random(chunk)?;
            self.environment.copy_to_cvm(address + done, chunk)?;
            done += chunk.len() as u64;
        }
        Ok(length)
    }
}
