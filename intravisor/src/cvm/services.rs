//! The hostcall handler of one cVM.
//!
//! Every pointer argument is checked with [`GuestMemory::check`] against the cVM's data
//! capability and page protections before a byte is copied; a range that fails returns
//! `-EFAULT` to the cVM. Data crosses in bounded chunks through intravisor buffers, so
//! a cVM can neither make the intravisor fault nor make it hold more than a chunk.
//! What a cVM can make the intravisor log is rate-limited.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use abi::{Errno, Hostcall, OpenMode, STDERR, STDOUT};

use super::console::{Console, OutputSink};
use super::files::FileTable;
use crate::config::FileGrant;
use crate::guest::{Access, GuestMemory};
use crate::platform::{Arena, HostcallHandler, HostcallOutcome};

/// The most bytes one read or write hostcall moves.
const CHUNK: usize = 64 * 1024;
/// The longest file name a cVM may pass.
const LONGEST_NAME: u64 = 255;
/// Log lines one cVM may cause before the rest are dropped.
const LOG_BUDGET: u32 = 16;

/// Serves the hostcalls of one cVM.
#[derive(Debug)]
pub struct CvmServices<'a> {
    name: &'a str,
    arena: &'a Arena,
    memory: GuestMemory,
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
        Self {
            name,
            arena,
            memory,
            console: Console::new(name, sink),
            files: FileTable::new(grants, output),
            log_budget: LOG_BUDGET,
        }
    }

    /// Writes out unfinished console lines; called when the cVM has stopped.
    pub fn finish(&mut self) {
        self.console.flush();
    }

    /// Logs something this cVM caused, within its budget.
    fn note(&mut self, message: std::fmt::Arguments<'_>) {
        match self.log_budget {
            0 => {}
            1 => {
                log::warn!(
                    "cVM `{}`: {message} (further hostcall messages of this cVM are suppressed)",
                    self.name
                );
                self.log_budget = 0;
            }
            _ => {
                log::warn!("cVM `{}`: {message}", self.name);
                self.log_budget -= 1;
            }
        }
    }

    /// Checks a range the cVM handed over, logging a refusal.
    fn check(&mut self, call: Hostcall, address: u64, length: u64, access: Access) -> Result<(), Errno> {
        self.memory.check(address, length, access).map_err(|fault| {
            self.note(format_args!("{call:?} hostcall refused: {fault}"));
            Errno::Fault
        })
    }

    fn write(&mut self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        self.check(Hostcall::Write, address, length, Access::Read)?;
        let mut buffer = vec![0; (length as usize).min(CHUNK)];
        let mut done = 0u64;
        while done < length {
            let chunk = ((length - done) as usize).min(CHUNK);
            self.arena.read(address + done, &mut buffer[..chunk]).map_err(|_| Errno::Fault)?;
            match handle {
                STDOUT | STDERR => self.console.write(handle == STDERR, &buffer[..chunk]),
                _ => {
                    self.files.write(handle, &buffer[..chunk])?;
                }
            }
            done += chunk as u64;
        }
        Ok(length)
    }

    fn read(&mut self, handle: u64, address: u64, length: u64) -> Result<u64, Errno> {
        self.check(Hostcall::Read, address, length, Access::Write)?;
        let mut buffer = vec![0; (length as usize).min(CHUNK)];
        let count = self.files.read(handle, &mut buffer)?;
        self.arena.write(address, &buffer[..count]).map_err(|_| Errno::Fault)?;
        Ok(count as u64)
    }

    fn random(&mut self, address: u64, length: u64) -> Result<u64, Errno> {
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

    fn open(&mut self, address: u64, length: u64, mode: u64) -> Result<u64, Errno> {
        let mode = OpenMode::from_number(mode).ok_or(Errno::Invalid)?;
        if length > LONGEST_NAME {
            return Err(Errno::NameTooLong);
        }
        self.check(Hostcall::Open, address, length, Access::Read)?;
        let mut name = vec![0; length as usize];
        self.arena.read(address, &mut name).map_err(|_| Errno::Fault)?;
        let name = String::from_utf8(name).map_err(|_| Errno::Invalid)?;
        self.files.open(&name, mode)
    }

    fn dispatch(&mut self, call: Hostcall, arguments: [u64; 5]) -> Result<u64, Errno> {
        let [a0, a1, a2, _, _] = arguments;
        match call {
            Hostcall::Write => self.write(a0, a1, a2),
            Hostcall::Read => self.read(a0, a1, a2),
            Hostcall::Open => self.open(a0, a1, a2),
            Hostcall::Close => self.files.close(a0).map(|()| 0),
            Hostcall::Seek => self.files.seek(a0, a1 as i64, a2),
            Hostcall::FileSize => self.files.size(a0),
            Hostcall::Random => self.random(a0, a1),
            Hostcall::ClockMonotonic => Ok(monotonic_nanoseconds()),
            Hostcall::ClockWall => Ok(wall_nanoseconds()),
            // Handled by `hostcall` before dispatch.
            Hostcall::Exit => Err(Errno::Invalid),
            // The host's switch serves it before the handler is asked.
            Hostcall::SetThreadPointer => Err(Errno::NoSys),
        }
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
    fn hostcall(&mut self, number: u64, arguments: [u64; 5]) -> HostcallOutcome {
        let Some(call) = Hostcall::from_number(number) else {
            self.note(format_args!("unknown hostcall {number}: answered ENOSYS"));
            return HostcallOutcome::Return(Errno::NoSys.as_return());
        };
        if call == Hostcall::Exit {
            return HostcallOutcome::Exit(arguments[0] as u32 as i32);
        }
        match self.dispatch(call, arguments) {
            Ok(value) => HostcallOutcome::Return(value as i64),
            Err(errno) => HostcallOutcome::Return(errno.as_return()),
        }
    }
}

fn monotonic_nanoseconds() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn wall_nanoseconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
