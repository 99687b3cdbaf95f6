//! The gate: one small memory file shared by the intravisor and a cVM's process.
//!
//! It carries what the process must set up (the mappings, where to enter, the seccomp
//! filter), one hostcall slot per thread of the cVM, and the record of the fault that
//! ended the process. Its layout is also written out in `shim.c`, which must agree
//! ([`VERSION`] is checked there).
//!
//! The cVM's process can write every word of it at any time: each word the intravisor
//! reads is read once, atomically, and taken as an allegation (a hostcall number and its
//! arguments are checked by the handler like any other; a fault record only describes
//! the cVM's own end).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `"0RCGATE1"`, the first word.
const MAGIC: u64 = 0x3145_5441_4743_5230;
/// The layout's version, checked by the process.
const VERSION: u64 = 5;

/// Header words.
pub(super) mod header {
    pub(in super::super) const MAGIC: usize = 0;
    pub(in super::super) const VERSION: usize = 1;
    pub(in super::super) const STATE: usize = 2;
    pub(in super::super) const FAILED_STAGE: usize = 3;
    pub(in super::super) const FAILED_ERRNO: usize = 4;
    pub(in super::super) const ENTRY: usize = 5;
    pub(in super::super) const STACK_TOP: usize = 6;
    pub(in super::super) const ARGUMENT: usize = 7;
    pub(in super::super) const CLS_TABLE: usize = 8;
    pub(in super::super) const BOOT_HOSTCALL_FIELD: usize = 9;
    pub(in super::super) const MAPPING_COUNT: usize = 10;
    pub(in super::super) const FILTER_LENGTH: usize = 11;
    pub(in super::super) const LANDLOCK: usize = 12;
    pub(in super::super) const FAULT_SIGNAL: usize = 13;
    pub(in super::super) const FAULT_CODE: usize = 14;
    pub(in super::super) const FAULT_ADDRESS: usize = 15;
    pub(in super::super) const FAULT_PC: usize = 16;
    pub(in super::super) const FAULT_SYSCALL: usize = 17;
    pub(in super::super) const NAMESPACES: usize = 18;
    pub(in super::super) const FUTEX_WAIT: usize = 19;
    pub(in super::super) const FUTEX_WAKE: usize = 20;
    pub(in super::super) const CPU_SECONDS: usize = 21;
    pub(in super::super) const NAMESPACE_FLAGS: usize = 22;
    pub(in super::super) const CLOCK_MONOTONIC: usize = 23;
    pub(in super::super) const CLOCK_WALL: usize = 24;
    pub(in super::super) const CLOCK_BASE: usize = 25;
    /// Why the process has no time namespace of its own (an errno), or 0.
    pub(in super::super) const TIME_NAMESPACE: usize = 26;
    /// How many granted files the process is handed to read itself (`direct`).
    pub(in super::super) const DIRECT_FILES: usize = 27;
    /// The numbers of the file hostcalls the process serves itself for those files.
    pub(in super::super) const OPEN: usize = 28;
    pub(in super::super) const READ: usize = 29;
    pub(in super::super) const SEEK: usize = 30;
    pub(in super::super) const CLOSE: usize = 31;
    pub(in super::super) const FILE_SIZE: usize = 32;
}

/// Gate states (the low half of the `STATE` word): the intravisor hands a gate over
/// that says GO; the process says FAILED if it cannot set up.
pub(super) mod state {
    pub(in super::super) const GO: u32 = 2;
    pub(in super::super) const FAILED: u32 = 3;
}

/// Byte offset of the mappings, two pages.
const MAPPING_OFFSET: usize = 4096;
/// Words of one mapping: start, length, protection, file descriptor, offset, kind.
const MAPPING_WORDS: usize = 6;
/// Mappings the two pages have room for.
pub(super) const MOST_MAPPINGS: usize = 8192 / (MAPPING_WORDS * 8);
/// Byte offset of the seccomp filter; at most [`MOST_FILTER`] instructions.
const FILTER_OFFSET: usize = 12288;
/// Instructions the filter page has room for.
pub(super) const MOST_FILTER: usize = 512;
/// Byte offset of the first hostcall slot.
const SLOT_OFFSET: usize = 16384;
/// Hostcall slots: the most threads a cVM may have at once.
pub(super) const SLOTS: usize = 64;
/// Words of one slot.
const SLOT_WORDS: usize = 16;
/// The gate's size in bytes.
const SIZE: usize = SLOT_OFFSET + SLOTS * SLOT_WORDS * 8;

/// Slot words.
pub(super) mod slot {
    pub(in super::super) const STATE: usize = 0;
    pub(in super::super) const NUMBER: usize = 1;
    pub(in super::super) const ARGUMENTS: usize = 2;
    pub(in super::super) const RESULT: usize = 7;
    pub(in super::super) const ACTION: usize = 8;
    pub(in super::super) const VALUE: usize = 9;
    pub(in super::super) const THREAD_ENTRY: usize = 10;
    pub(in super::super) const THREAD_STACK: usize = 11;
    pub(in super::super) const THREAD_ARGUMENT: usize = 12;
    pub(in super::super) const THREAD_POINTER: usize = 13;
    pub(in super::super) const TID: usize = 14;
}

/// Slot states.
pub(super) mod slot_state {
    pub(in super::super) const IDLE: u32 = 0;
    pub(in super::super) const REQUEST: u32 = 1;
    pub(in super::super) const RESPONSE: u32 = 2;
    pub(in super::super) const ABANDONED: u32 = 3;
}

/// What the process does with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(super) enum Action {
    /// Return the result to the cVM.
    Return = 0,
    /// Set the thread pointer to the value (checked by the handler), return 0.
    SetThreadPointer = 1,
    /// Start a thread in the slot the value names, return the result (its id).
    StartThread = 2,
    /// End the calling thread.
    ExitThread = 3,
    /// An open of a granted file: return the result (its handle), and read the file from
    /// the descriptor the value names (`direct`).
    ReadDirectly = 4,
}

/// Not a hostcall: the thread's entry function returned the first argument.
pub(super) const RETURNED: u64 = 0xffff_ffff_0000_0001;
/// Not a hostcall: a write of the cVM faulted on the merged page at the first argument
/// (run-time sharing, `merge`).
pub(super) const UNSHARE: u64 = 0xffff_ffff_0000_0002;

/// One region of the process's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcessMapping {
    pub(super) start: u64,
    pub(super) length: u64,
    /// `PROT_*` bits.
    pub(super) protection: u64,
    /// The file descriptor in the process (1: the region, 2: the shared objects).
    pub(super) file: u64,
    pub(super) offset: u64,
    /// false: a new mapping (never over an existing one); true: new protections for
    /// part of an earlier mapping.
    pub(super) protect_only: bool,
}

/// The intravisor's mapping of a gate.
#[derive(Debug)]
pub(super) struct Gate {
    file: OwnedFd,
    words: *mut AtomicU64,
}

// SAFETY: the mapping is only reached through atomics; it lives as long as the gate.
unsafe impl Send for Gate {}
// SAFETY: as above.
unsafe impl Sync for Gate {}

impl Gate {
    /// A new, zeroed gate.
    pub(super) fn create() -> io::Result<Self> {
        // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new fd.
        let raw = unsafe { libc::memfd_create(c"cvm-gate".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let file = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: ftruncate on the descriptor just made.
        if unsafe { libc::ftruncate(file.as_raw_fd(), SIZE as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new shared mapping of the whole file at an address the kernel picks.
        let words = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if words == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let gate = Self { file, words: words.cast() };
        gate.set(header::MAGIC, MAGIC);
        gate.set(header::VERSION, VERSION);
        gate.set(header::FUTEX_WAIT, abi::Hostcall::FutexWait as u64);
        gate.set(header::FUTEX_WAKE, abi::Hostcall::FutexWake as u64);
        // The process reads the clocks itself (`clock`).
        gate.set(header::CLOCK_MONOTONIC, abi::Hostcall::ClockMonotonic as u64);
        gate.set(header::CLOCK_WALL, abi::Hostcall::ClockWall as u64);
        gate.set(header::CLOCK_BASE, crate::platform::clock::monotonic_base());
        // ... and reads the granted files it was handed (`direct`).
        for (word, call) in [
            (header::OPEN, abi::Hostcall::Open),
            (header::READ, abi::Hostcall::Read),
            (header::SEEK, abi::Hostcall::Seek),
            (header::CLOSE, abi::Hostcall::Close),
            (header::FILE_SIZE, abi::Hostcall::FileSize),
        ] {
            gate.set(word, call as u64);
        }
        Ok(gate)
    }

    /// The file the process maps.
    pub(super) fn file(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        assert!(index < SIZE / 8, "gate word {index} is outside the gate");
        // SAFETY: the index is inside the mapping (checked above), which lives as long as
        // `self` and is only ever accessed through atomics.
        unsafe { &*self.words.add(index) }
    }

    /// The low 32 bits of a word, as a futex sees them.
    fn half(&self, index: usize) -> &AtomicU32 {
        // SAFETY: an aligned u64 word holds an aligned u32 at its start (little-endian
        // low half), accessed only through atomics.
        unsafe { &*(self.word(index) as *const AtomicU64).cast::<AtomicU32>() }
    }

    pub(super) fn get(&self, index: usize) -> u64 {
        self.word(index).load(Ordering::Acquire)
    }

    pub(super) fn set(&self, index: usize, value: u64) {
        self.word(index).store(value, Ordering::Release);
    }

    /// Writes the mappings; at most [`MOST_MAPPINGS`].
    pub(super) fn set_mappings(&self, mappings: &[ProcessMapping]) {
        assert!(mappings.len() <= MOST_MAPPINGS, "the caller keeps to MOST_MAPPINGS");
        for (index, mapping) in mappings.iter().enumerate() {
            let base = MAPPING_OFFSET / 8 + index * MAPPING_WORDS;
            let words = [
                mapping.start,
                mapping.length,
                mapping.protection,
                mapping.file,
                mapping.offset,
                u64::from(mapping.protect_only),
            ];
            for (offset, value) in words.into_iter().enumerate() {
                self.set(base + offset, value);
            }
        }
        self.set(header::MAPPING_COUNT, mappings.len() as u64);
    }

    /// Writes the seccomp filter (BPF instructions, 8 bytes each); at most [`MOST_FILTER`].
    pub(super) fn set_filter(&self, instructions: &[u64]) {
        assert!(instructions.len() <= MOST_FILTER, "the filter fits its page");
        for (index, instruction) in instructions.iter().enumerate() {
            self.set(FILTER_OFFSET / 8 + index, *instruction);
        }
        self.set(header::FILTER_LENGTH, instructions.len() as u64);
    }

    /// The futex word of the header's state.
    pub(super) fn state(&self) -> &AtomicU32 {
        self.half(header::STATE)
    }

    fn slot_word(&self, slot: usize, word: usize) -> usize {
        assert!(slot < SLOTS && word < SLOT_WORDS, "slot {slot} word {word} is outside the gate");
        SLOT_OFFSET / 8 + slot * SLOT_WORDS + word
    }

    pub(super) fn slot_get(&self, slot: usize, word: usize) -> u64 {
        self.get(self.slot_word(slot, word))
    }

    pub(super) fn slot_set(&self, slot: usize, word: usize, value: u64) {
        self.set(self.slot_word(slot, word), value);
    }

    /// A slot's futex word: its state, or (with [`slot::TID`]) the thread id the kernel
    /// clears when the thread ends.
    pub(super) fn slot_half(&self, slot: usize, word: usize) -> &AtomicU32 {
        self.half(self.slot_word(slot, word))
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        // SAFETY: the gate owns this mapping; nothing borrows it past the gate's life.
        unsafe { libc::munmap(self.words.cast(), SIZE) };
    }
}
