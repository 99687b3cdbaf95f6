//! Clocks: the generic timer's virtual counter for monotonic time, and the board's PL031
//! real-time clock for wall time (time since boot on a board without one).

use crate::platform::board::BOARD;

/// Nanoseconds since boot, from the generic timer.
pub fn monotonic_nanoseconds() -> u64 {
    let (count, frequency): (u64, u64);
    // SAFETY: reading the virtual counter and its frequency has no side effects; both
    // are readable at EL1.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) count, options(nomem, nostack));
        core::arch::asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack));
    }
    if frequency == 0 {
        return 0;
    }
    (u128::from(count) * 1_000_000_000 / u128::from(frequency)) as u64
}

/// Nanoseconds since the Unix epoch: the PL031's seconds plus the timer's fraction (on a
/// board without a PL031, nanoseconds since boot).
pub fn wall_nanoseconds() -> u64 {
    let Some(clock) = BOARD.real_time_clock else { return monotonic_nanoseconds() };
    // SAFETY: the PL031's data register is mapped as device memory by `mmu`; reading it
    // has no side effects.
    let seconds = u64::from(unsafe { core::ptr::read_volatile(clock as *const u32) });
    seconds * 1_000_000_000 + monotonic_nanoseconds() % 1_000_000_000
}
