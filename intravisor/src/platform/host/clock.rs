//! The clocks cVMs read on the host: the kernel's `CLOCK_MONOTONIC`, counted from the
//! intravisor's first reading of it, and the wall clock. A cVM process reads both itself,
//! with the system call its seccomp filter allows for exactly these two clocks, and
//! subtracts [`monotonic_base`] (its gate carries it): a clock read is then no round trip
//! to the intravisor (ffmpeg reads the clock thousands of times a second). The base keeps
//! the cVM's clock the same as in-process. cVM code may make the same allowed system call
//! itself: its process has a time namespace of its own whose monotonic clock starts near
//! zero when the process starts (`shim.c`, `enter_time_namespace`), so what it reads raw
//! is its process's age, not the host's uptime (the shim adds the difference back).

use std::sync::OnceLock;

/// Nanoseconds on the kernel's clock `clock`.
fn read(clock: libc::clockid_t) -> u64 {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, ours, and reads nothing else.
    let status = unsafe { libc::clock_gettime(clock, &mut time) };
    if status != 0 {
        return 0;
    }
    (time.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(time.tv_nsec as u64)
}

/// Where the cVMs' monotonic clock starts on the kernel's `CLOCK_MONOTONIC`.
pub fn monotonic_base() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    *BASE.get_or_init(|| read(libc::CLOCK_MONOTONIC))
}

/// The cVMs' monotonic clock: nanoseconds since [`monotonic_base`].
pub fn monotonic_nanoseconds() -> u64 {
    let base = monotonic_base();
    read(libc::CLOCK_MONOTONIC).saturating_sub(base)
}

/// Nanoseconds since the Unix epoch.
pub fn wall_nanoseconds() -> u64 {
    read(libc::CLOCK_REALTIME)
}
