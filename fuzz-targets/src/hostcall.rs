//! `hostcall`: a sequence of hostcalls with arbitrary numbers and arguments, served by
//! the decoder every platform shares against a cVM of 64 KiB (code, read-only data,
//! data), one granted file and an output directory held in memory. Whatever the
//! arguments, the intravisor touches only what the cVM's capability and pages allow,
//! and what becomes machine state names the cVM's own memory.

use std::collections::BTreeMap;
use std::fmt;

use abi::{Errno, OpenMode};
use intravisor::capability::{Cap, Permissions};
use intravisor::guest::{Access, GuestMemory, Mapping, Protection};
use intravisor::hostcall::{serve, Environment, Files, HostcallOutcome, OverLimit, WriteBudget};

/// The cVM's region.
const BASE: u64 = 0x10_0000;
const SIZE: u64 = 0x1_0000;
const PAGE: u64 = 0x1000;
/// One hostcall of the input: its number, then five little-endian arguments.
const RECORD: usize = 1 + 5 * 8;
/// The granted file's name and bytes.
const GRANTED: &str = "input.txt";
const GRANTED_BYTES: &[u8] = b"granted bytes, the only file this cVM may read\n";
/// What the cVM may write: small, so a fuzzed write loop stays cheap.
const CONSOLE_LIMIT: u64 = 256 * 1024;
const OUTPUT_LIMIT: u64 = 256 * 1024;
/// Open files at once, as `isolation.open_files` would allow.
const OPEN_FILES: usize = 8;

pub(crate) fn run(data: &[u8]) {
    let mut cvm = FuzzedCvm::new();
    for record in data.chunks_exact(RECORD) {
        let number = u64::from(record[0] % 24);
        let mut arguments = [0u64; 5];
        for (argument, bytes) in arguments.iter_mut().zip(record[1..].chunks_exact(8)) {
            *argument = u64::from_le_bytes(bytes.try_into().expect("chunks of 8"));
        }
        let outcome = serve(&mut cvm, number, arguments);
        cvm.check_outcome(outcome);
        if matches!(outcome, HostcallOutcome::Exit(_) | HostcallOutcome::OverLimit(_)) {
            return;
        }
    }
}

/// Calls that reach deep: a console write, a file copied to an output, a thread.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let data = BASE + 8 * PAGE;
    let call = |number: u8, arguments: [u64; 5]| {
        let mut record = vec![number];
        arguments.iter().for_each(|argument| record.extend(argument.to_le_bytes()));
        record
    };
    // The names opened are bytes `FuzzedCvm::new` placed at the start of the data.
    vec![
        [call(1, [1, data, 16, 0, 0]), call(2, [0; 5])].concat(),
        [
            call(5, [data, GRANTED.len() as u64, 0, 0, 0]),
            call(6, [3, data + 0x100, 64, 0, 0]),
            call(5, [data + 0x40, 3, 1, 0, 0]),
            call(1, [4, data + 0x100, 64, 0, 0]),
            call(9, [3, 0, 2, 0, 0]),
            call(10, [3, 0, 0, 0, 0]),
            call(7, [3, 0, 0, 0, 0]),
        ]
        .concat(),
        [
            call(12, [BASE, data + 0x2000, 0, data + 0x3000, data + 0x3010]),
            call(14, [data, 0, 1000, 0, 0]),
            call(15, [data, 1, 0, 0, 0]),
            call(8, [data + 0x800, 0, 0, 0, 0]),
            call(18, [data + 0x804, 0, 0, 0, 0]),
            call(19, [data + PAGE, PAGE, 0, 0, 0]),
            call(11, [data + 0x200, 32, 0, 0, 0]),
            call(3, [0; 5]),
            call(17, [0; 5]),
        ]
        .concat(),
    ]
}

/// The fuzzed cVM: its memory, budget and files.
struct FuzzedCvm {
    memory: GuestMemory,
    bytes: Vec<u8>,
    budget: WriteBudget,
    files: MemoryFiles,
    console_bytes: u64,
}

impl FuzzedCvm {
    fn new() -> Self {
        let permissions = Permissions::LOAD | Permissions::STORE;
        let data = Cap::root()
            .set_value(BASE)
            .set_bounds_exact(SIZE)
            .clear_permissions(Permissions::ALL.difference(permissions));
        let mapping = |pages: std::ops::Range<u64>, protection| Mapping {
            start: BASE + pages.start * PAGE,
            end: BASE + pages.end * PAGE,
            protection,
        };
        let mappings = vec![
            mapping(0..4, Protection::ReadExecute),
            mapping(4..8, Protection::Read),
            mapping(8..16, Protection::ReadWrite),
        ];
        let mut bytes = vec![0u8; SIZE as usize];
        // The names the seeds open: the granted file's, and an output's.
        let data_start = (8 * PAGE) as usize;
        bytes[data_start..data_start + GRANTED.len()].copy_from_slice(GRANTED.as_bytes());
        bytes[data_start + 0x40..data_start + 0x43].copy_from_slice(b"out");
        Self {
            memory: GuestMemory::new(data, Vec::new(), mappings),
            bytes,
            budget: WriteBudget::new(CONSOLE_LIMIT, OUTPUT_LIMIT),
            files: MemoryFiles::default(),
            console_bytes: 0,
        }
    }

    /// The cVM's bytes at `[address, address + length)`: reached only after a check
    /// passed, so an address outside the region is the decoder's bug (a panic here). A
    /// check passes an empty range wherever it is: it names no byte.
    fn offset(&self, address: u64, length: usize) -> std::ops::Range<usize> {
        if length == 0 {
            return 0..0;
        }
        let start = (address - BASE) as usize;
        start..start + length
    }

    /// What the decoder hands the platform to carry out must be the cVM's own memory.
    fn check_outcome(&self, outcome: HostcallOutcome) {
        let own = |address: u64, length: u64, access| self.memory.check(address, length, access).is_ok();
        match outcome {
            HostcallOutcome::StartThread(start) => {
                assert!(
                    own(start.entry, 4, Access::Execute),
                    "a thread starts outside the cVM's code: {start:x?}"
                );
                assert!(start.stack_top % 16 == 0, "a thread's stack is misaligned: {start:x?}");
                assert!(
                    own(start.stack_top - 1024, 1024, Access::Write),
                    "a thread's stack is not the cVM's: {start:x?}"
                );
                assert!(
                    start.thread_pointer == 0 || own(start.thread_pointer, 16, Access::Read),
                    "{start:x?}"
                );
                assert!(start.clear_address == 0 || own(start.clear_address, 4, Access::Write), "{start:x?}");
            }
            HostcallOutcome::FutexWait { address, .. } | HostcallOutcome::FutexWake { address, .. } => {
                assert!(address % 4 == 0 && own(address, 4, Access::Read), "a futex word at {address:#x}");
            }
            HostcallOutcome::SetClearAddress(address) => {
                assert!(address == 0 || (address % 4 == 0 && own(address, 4, Access::Write)), "{address:#x}");
            }
            HostcallOutcome::SetThreadPointer(address) => {
                assert!(address == 0 || own(address, 16, Access::Read), "a thread pointer at {address:#x}");
            }
            _ => {}
        }
        assert!(self.console_bytes <= CONSOLE_LIMIT, "the console took more than its limit");
        assert!(self.files.written <= OUTPUT_LIMIT, "the outputs took more than their limit");
    }
}

impl Environment for FuzzedCvm {
    fn memory(&self) -> &GuestMemory {
        &self.memory
    }

    fn copy_from_cvm(&self, address: u64, buffer: &mut [u8]) -> Result<(), Errno> {
        self.memory.check(address, buffer.len() as u64, Access::Read).map_err(|_| Errno::Fault)?;
        buffer.copy_from_slice(&self.bytes[self.offset(address, buffer.len())]);
        Ok(())
    }

    fn copy_to_cvm(&self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.memory.check(address, bytes.len() as u64, Access::Write).map_err(|_| Errno::Fault)?;
        // Checked in bounds; the copy itself needs `&mut`, which the trait does not give,
        // and nothing reads what the harness would have written.
        let _ = &self.bytes[self.offset(address, bytes.len())];
        Ok(())
    }

    fn console(&mut self, _error: bool, bytes: &[u8]) {
        self.console_bytes += bytes.len() as u64;
    }

    fn spend_write_budget(&mut self, console: bool, bytes: u64) -> Result<(), OverLimit> {
        self.budget.spend(console, bytes)
    }

    fn files<R>(&mut self, operation: impl FnOnce(&mut dyn Files) -> R) -> R {
        operation(&mut self.files)
    }

    fn random(&mut self, buffer: &mut [u8]) -> Result<(), Errno> {
        buffer.fill(0x5a);
        Ok(())
    }

    fn monotonic_nanoseconds(&self) -> u64 {
        1_000_000_000
    }

    fn wall_nanoseconds(&self) -> u64 {
        1_800_000_000_000_000_000
    }

    fn processor_count(&self) -> u64 {
        2
    }

    fn note(&mut self, message: fmt::Arguments<'_>) {
        assert!(!message.to_string().is_empty(), "a note with no words");
    }
}

/// The granted file and the output directory, in memory.
#[derive(Default)]
struct MemoryFiles {
    open: BTreeMap<u64, (Option<String>, u64)>,
    outputs: BTreeMap<String, Vec<u8>>,
    written: u64,
}

impl MemoryFiles {
    fn file(&mut self, handle: u64) -> Result<&mut (Option<String>, u64), Errno> {
        self.open.get_mut(&handle).ok_or(Errno::BadHandle)
    }
}

impl Files for MemoryFiles {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<u64, Errno> {
        if self.open.len() >= OPEN_FILES {
            return Err(Errno::TooManyFiles);
        }
        let file = match mode {
            OpenMode::Read if name == GRANTED => None,
            OpenMode::Read => return Err(Errno::NoEntry),
            _ if !intravisor::config::is_plain_file_name(name) => return Err(Errno::Access),
            OpenMode::Write => {
                self.outputs.insert(name.to_string(), Vec::new());
                Some(name.to_string())
            }
            OpenMode::Update => {
                self.outputs.entry(name.to_string()).or_default();
                Some(name.to_string())
            }
            OpenMode::UpdateExisting if self.outputs.contains_key(name) => Some(name.to_string()),
            OpenMode::UpdateExisting => return Err(Errno::NoEntry),
        };
        let handle = (3..).find(|handle| !self.open.contains_key(handle)).expect("a free handle");
        self.open.insert(handle, (file, 0));
        Ok(handle)
    }

    fn is_output(&mut self, handle: u64) -> bool {
        self.open.get(&handle).is_some_and(|(output, _)| output.is_some())
    }

    fn read(&mut self, handle: u64, buffer: &mut [u8]) -> Result<usize, Errno> {
        let (file, position) = self.file(handle)?;
        if file.is_some() {
            return Err(Errno::BadHandle);
        }
        let start = (*position as usize).min(GRANTED_BYTES.len());
        let count = buffer.len().min(GRANTED_BYTES.len() - start);
        buffer[..count].copy_from_slice(&GRANTED_BYTES[start..start + count]);
        *position += count as u64;
        Ok(count)
    }

    fn write(&mut self, handle: u64, bytes: &[u8]) -> Result<(), Errno> {
        let (file, position) = self.file(handle)?;
        let name = file.clone().ok_or(Errno::BadHandle)?;
        // A seek far past the end would make a sparse file; in memory it is refused.
        if *position > OUTPUT_LIMIT {
            return Err(Errno::Invalid);
        }
        let start = *position as usize;
        *position += bytes.len() as u64;
        self.written += bytes.len() as u64;
        let output = self.outputs.get_mut(&name).ok_or(Errno::Io)?;
        if output.len() < start + bytes.len() {
            output.resize(start + bytes.len(), 0);
        }
        output[start..start + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn truncate(&mut self, handle: u64, length: u64) -> Result<(), Errno> {
        let (file, _) = self.file(handle)?;
        let name = file.clone().ok_or(Errno::BadHandle)?;
        let output = self.outputs.get_mut(&name).ok_or(Errno::Io)?;
        if length > output.len() as u64 {
            return Err(Errno::Invalid);
        }
        output.truncate(length as usize);
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<(), Errno> {
        if !intravisor::config::is_plain_file_name(name) {
            return Err(Errno::Access);
        }
        self.outputs.remove(name).map(drop).ok_or(Errno::NoEntry)
    }

    fn seek(&mut self, handle: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
        let size = self.size(handle)?;
        let (_, position) = self.file(handle)?;
        let from = match whence {
            0 => 0,
            1 => *position,
            2 => size,
            _ => return Err(Errno::Invalid),
        };
        *position = from.checked_add_signed(offset).ok_or(Errno::Invalid)?;
        Ok(*position)
    }

    fn size(&mut self, handle: u64) -> Result<u64, Errno> {
        let (file, _) = self.file(handle)?;
        Ok(match file.clone() {
            None => GRANTED_BYTES.len() as u64,
            Some(name) => self.outputs.get(&name).map_or(0, |output| output.len() as u64),
        })
    }

    fn close(&mut self, handle: u64) -> Result<(), Errno> {
        self.open.remove(&handle).map(|_| ()).ok_or(Errno::BadHandle)
    }
}
