//! Futex waits and wakes on a cVM's words, for both ways of running a cVM on the host.
//!
//! The words are the cVM's own (the handler has checked that they lie in its memory).
//! In the in-process mode, waits and wakes are all made by intravisor threads on the
//! intravisor's mapping, so the kernel's private futexes serve them; a cVM process waits
//! and wakes on its own mapping of the same memory file, so the intravisor's waits and
//! wakes for it are shared ones (`flags` 0), which the kernel keys by file and offset. A
//! wait is made in slices so that a cVM that is ending never keeps an intravisor thread
//! waiting.

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
