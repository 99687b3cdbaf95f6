//! Hostcall numbers and their arguments.

/// The console handle for a cVM's standard output.
pub const STDOUT: u64 = 1;
/// The console handle for a cVM's standard error.
pub const STDERR: u64 = 2;

/// The hostcalls a cVM may make. The doc comment of each variant lists its arguments
/// in order (`a0`, `a1`, ...) and what it returns on success.
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostcall {
    /// `write(handle, buffer, length)`: writes to the console ([`STDOUT`], [`STDERR`])
    /// or to a file opened for writing. Returns the number of bytes written.
    Write = 1,
    /// `exit(status)`: ends the cVM with `status` (its low 32 bits). Does not return.
    Exit = 2,
    /// `clock_monotonic()`: nanoseconds on a clock that never goes back.
    ClockMonotonic = 3,
    /// `clock_wall()`: nanoseconds since the Unix epoch.
    ClockWall = 4,
    /// `open(name, name_length, mode)`: opens a file the deployment granted
    /// ([`OpenMode::Read`]), or one in the cVM's output directory ([`OpenMode::Write`],
    /// [`OpenMode::Update`], [`OpenMode::UpdateExisting`]). Returns a handle.
    Open = 5,
    /// `read(handle, buffer, length)`: reads from a granted file, or an output opened for
    /// update. Returns the number of bytes read, 0 at the end of the file.
    Read = 6,
    /// `close(handle)`: closes a file handle. Returns 0.
    Close = 7,
    /// `set_thread_pointer(address)`: the value of the C library's thread pointer in this
    /// cVM's code from now on (the `fs` base on x86-64), kept across every hostcall and
    /// switched with the intravisor's own on every entry and exit. Returns 0, or
    /// `-ENOSYS` on platforms that do not switch it yet.
    SetThreadPointer = 8,
    /// `seek(handle, offset, whence)`: moves a file's position to `offset` from its start
    /// (`whence` 0), its current position (1) or its end (2). Returns the new position.
    Seek = 9,
    /// `file_size(handle)`: the size in bytes of an open file.
    FileSize = 10,
    /// `random(buffer, length)`: fills the buffer with random bytes (the host's
    /// `getrandom`; bare metal, a generator seeded from the clocks, not for secrets).
    /// Returns `length`.
    Random = 11,
    /// `thread_create(entry, stack_top, argument, thread_pointer, clear_address)`: starts
    /// another thread of this cVM at `entry(argument)` on the stack below `stack_top`
    /// (16-byte aligned), with the C library's thread pointer `thread_pointer`. When the
    /// thread ends, the intravisor writes 0 to the 32-bit word at `clear_address` (unless
    /// it is 0) and wakes its waiters, as Linux's `CLONE_CHILD_CLEARTID` does. Returns the
    /// new thread's id (the first thread's is 1).
    ThreadCreate = 12,
    /// `thread_exit()`: ends the calling thread only. The cVM ends when its last thread
    /// has ended, with status 0, or earlier when one of them makes [`Hostcall::Exit`] or
    /// faults. Does not return.
    ThreadExit = 13,
    /// `futex_wait(address, expected, timeout, private)`: sleeps while the aligned
    /// 32-bit word at `address` holds `expected`, until [`Hostcall::FutexWake`] on it or
    /// `timeout` nanoseconds (`u64::MAX`: none). Returns 0 when woken (possibly
    /// spuriously), `-EAGAIN` when the word did not hold `expected`, `-ETIMEDOUT`.
    /// `private` 1 (as C's `FUTEX_PRIVATE_FLAG`): only the cVM's own wakes with
    /// `private` 1 end the wait, which may be cheaper (a cVM process uses the kernel's
    /// private futexes); 0: any wake does, the intravisor's too (the word a thread's
    /// end clears, [`Hostcall::SetClearAddress`]).
    FutexWait = 14,
    /// `futex_wake(address, count, private)`: wakes at most `count` threads waiting on
    /// `address` with the same `private`. Returns how many it woke.
    FutexWake = 15,
    /// `thread_id()`: the calling thread's id.
    ThreadId = 16,
    /// `processor_count()`: how many processors this cVM's threads may run on at once.
    ProcessorCount = 17,
    /// `set_clear_address(address)`: the aligned 32-bit word to clear and wake when the
    /// calling thread ends (0: none), as Linux's `set_tid_address`; the first thread's
    /// is 0 until it sets one. Returns the thread's id.
    SetClearAddress = 18,
    /// `discard_pages(address, length)`: the page-aligned range, which this cVM may
    /// write, reads as zero from now on and its memory goes back to the host (as Linux's
    /// `MADV_DONTNEED` on anonymous memory); where the platform cannot give memory back,
    /// the pages are zeroed. Returns 0, or `-EINVAL` for a range not aligned to pages.
    DiscardPages = 19,
    /// `truncate(handle, length)`: cuts an output opened for writing or update to
    /// `length` bytes, at most its size (a file grows only by what is written to it,
    /// which the output limit counts). Returns 0.
    Truncate = 20,
    /// `remove(name, name_length)`: deletes the file `name` (a plain file name) of the
    /// cVM's output directory. Returns 0, or `-ENOENT` when there is none.
    Remove = 21,
}

impl Hostcall {
    /// Decodes a hostcall number, or `None` for a number no hostcall has.
    pub const fn from_number(number: u64) -> Option<Self> {
        Some(match number {
            1 => Self::Write,
            2 => Self::Exit,
            3 => Self::ClockMonotonic,
            4 => Self::ClockWall,
            5 => Self::Open,
            6 => Self::Read,
            7 => Self::Close,
            8 => Self::SetThreadPointer,
            9 => Self::Seek,
            10 => Self::FileSize,
            11 => Self::Random,
            12 => Self::ThreadCreate,
            13 => Self::ThreadExit,
            14 => Self::FutexWait,
            15 => Self::FutexWake,
            16 => Self::ThreadId,
            17 => Self::ProcessorCount,
            18 => Self::SetClearAddress,
            19 => Self::DiscardPages,
            20 => Self::Truncate,
            21 => Self::Remove,
            _ => return None,
        })
    }
}

/// How [`Hostcall::Open`] opens a file.
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read a file the deployment granted to this cVM.
    Read = 0,
    /// Create (or truncate) a file in this cVM's output directory.
    Write = 1,
    /// Read and write a file of this cVM's output directory, keeping what it holds;
    /// create it when there is none.
    Update = 2,
    /// As [`OpenMode::Update`], but only a file that exists (`-ENOENT` otherwise).
    UpdateExisting = 3,
}

impl OpenMode {
    /// Decodes an open mode, or `None` for an unknown one.
    pub const fn from_number(number: u64) -> Option<Self> {
        match number {
            0 => Some(Self::Read),
            1 => Some(Self::Write),
            2 => Some(Self::Update),
            3 => Some(Self::UpdateExisting),
            _ => None,
        }
    }
}
