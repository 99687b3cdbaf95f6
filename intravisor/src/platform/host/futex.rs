//! Futex waits and wakes on a cVM's words, for both ways of running a cVM on the host.
//!
//! The words are the cVM's own (the handler has checked that they lie in its memory).
//! In the in-process mode, waits and wakes are all made by intravisor threads on the
//! intravisor's mapping, so the kernel's private futexes serve them; a cVM process waits
//! and wakes on its own mapping of the same memory file, so the intravisor's waits and
//! wakes for it are shared ones (`flags` 0), which the kernel keys by file and offset. A
//! wait is made in slices so that a cVM that is ending never keeps an intravisor thread
//! waiting. [`Waiters`] sleeps on many words at once: the one thread serving a cVM
//! process waits on every slot of the cVM's threads with it.

use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use abi::Errno;

/// The longest a futex wait sleeps before it checks whether its cVM is ending.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Sleeps while the word at `address` (checked by the handler) holds `expected`: 0
/// when woken or when `ending()` says the cVM is ending, `-EAGAIN`, `-ETIMEDOUT`.
pub(super) fn wait(
    address: u64,
    expected: u32,
    timeout: Option<Duration>,
    flags: libc::c_int,
    ending: &dyn Fn() -> bool,
) -> i64 {
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    loop {
        if ending() {
            return 0;
        }
        let slice = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(WAIT_SLICE),
                _ => return Errno::TimedOut.as_return(),
            },
            None => WAIT_SLICE,
        };
        match wait_raw(address, expected, flags, slice) {
            Ok(()) => return 0,
            Err(libc::EAGAIN) => return Errno::Again.as_return(),
            Err(libc::ETIMEDOUT | libc::EINTR) => {}
            Err(_) => return Errno::Fault.as_return(),
        }
    }
}

/// One `FUTEX_WAIT` of at most `slice` (`flags`: `FUTEX_PRIVATE_FLAG`, or 0 for a word
/// shared with another process); the kernel's errno on failure.
pub(super) fn wait_raw(address: u64, expected: u32, flags: libc::c_int, slice: Duration) -> Result<(), i32> {
    let time =
        libc::timespec { tv_sec: slice.as_secs() as libc::time_t, tv_nsec: slice.subsec_nanos().into() };
    // SAFETY: FUTEX_WAIT only reads the word at `address`; an address the kernel cannot
    // read is answered with EFAULT, not a fault.
    let answer = unsafe {
        libc::syscall(libc::SYS_futex, address as *const u32, libc::FUTEX_WAIT | flags, expected, &time)
    };
    if answer == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EFAULT))
    }
}

/// Wakes at most `count` threads waiting on the word at `address` (`flags` as for
/// [`wait_raw`]); returns how many, or `-EFAULT`.
pub(super) fn wake(address: u64, count: u32, flags: libc::c_int) -> i64 {
    let count = count.min(i32::MAX as u32) as i32;
    // SAFETY: FUTEX_WAKE touches no memory; the address only names the wait queue.
    let answer =
        unsafe { libc::syscall(libc::SYS_futex, address as *const u32, libc::FUTEX_WAKE | flags, count) };
    if answer < 0 {
        Errno::Fault.as_return()
    } else {
        answer
    }
}

/// The most words one [`Waiters`] sleeps on (the kernel's `FUTEX_WAITV_MAX`).
pub(super) const MOST_WAITERS: usize = 128;
/// `FUTEX2_SIZE_U32`: a waiter's word is 32 bits wide.
const SIZE_U32: u32 = 0x02;
/// `FUTEX2_PRIVATE`: the word is mapped by this process only.
const PRIVATE: u32 = 128;
/// How long a serving thread sleeps between looks where `futex_waitv` fails (no
/// such system call before Linux 5.16).
const POLL_WITHOUT_WAITV: Duration = Duration::from_millis(1);

/// The kernel's `struct futex_waitv`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct WaitEntry {
    value: u64,
    address: u64,
    flags: u32,
    reserved: u32,
}

/// 32-bit words to sleep on at once: [`Waiters::wait`] returns as soon as any one of
/// them is woken or no longer holds the value it was added with.
#[derive(Debug)]
pub(super) struct Waiters<'word> {
    entries: [WaitEntry; MOST_WAITERS],
    count: usize,
    words: core::marker::PhantomData<&'word AtomicU32>,
}

impl<'word> Waiters<'word> {
    /// No words yet.
    pub(super) fn new() -> Self {
        Self { entries: [WaitEntry::default(); MOST_WAITERS], count: 0, words: core::marker::PhantomData }
    }

    /// Forgets every word.
    pub(super) fn clear(&mut self) {
        self.count = 0;
    }

    /// Adds `word`, expected to hold `expected`; `private` for a word no other process
    /// maps (the wakes must then be private ones too). Returns false, adding nothing,
    /// when [`MOST_WAITERS`] words are already there.
    pub(super) fn push(&mut self, word: &'word AtomicU32, expected: u32, private: bool) -> bool {
        let Some(entry) = self.entries.get_mut(self.count) else {
            return false;
        };
        *entry = WaitEntry {
            value: u64::from(expected),
            address: word.as_ptr() as u64,
            flags: SIZE_U32 | if private { PRIVATE } else { 0 },
            reserved: 0,
        };
        self.count += 1;
        true
    }

    /// Sleeps until one of the words is woken or does not hold its value, or for at
    /// most `slice`. Where `futex_waitv` fails otherwise, sleeps a millisecond instead
    /// (the caller looks at its words again either way).
    pub(super) fn wait(&self, slice: Duration) {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes the one timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let nanoseconds = i128::from(now.tv_nsec) + i128::from(slice.subsec_nanos());
        let deadline = libc::timespec {
            tv_sec: now.tv_sec.saturating_add(slice.as_secs().min(i32::MAX as u64) as libc::time_t)
                + (nanoseconds / 1_000_000_000) as libc::time_t,
            tv_nsec: (nanoseconds % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: futex_waitv only reads the `count` entries and the deadline, and the
        // words they name: each is borrowed for 'word, so it is mapped; an address the
        // kernel cannot read would be answered with EFAULT, not a fault.
        let answer = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                self.entries.as_ptr(),
                self.count as libc::c_uint,
                0 as libc::c_uint,
                &deadline as *const libc::timespec,
                libc::CLOCK_MONOTONIC,
            )
        };
        if answer >= 0 {
            return;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            // A word no longer held its value, the slice passed, or a signal came.
            Some(libc::EAGAIN | libc::ETIMEDOUT | libc::EINTR) => {}
            // Anything else must not turn the caller's loop into a spin.
            error => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    log::warn!(
                        "futex_waitv failed ({error:?}; ENOSYS: Linux before 5.16): cVM hostcalls are looked for every millisecond"
                    );
                });
                std::thread::sleep(POLL_WITHOUT_WAITV);
            }
        }
    }
}
