//! Preemption: the generic timer's virtual timer interrupts the cVM running now every
//! [`SLICE_NANOSECONDS`], through the board's GICv3.
//!
//! At boot [`enable`] wakes this core's redistributor, makes the virtual timer's PPI a
//! Group 1 interrupt, enabled, turns on the CPU interface through its system registers,
//! and denies EL0 the timers (`CNTKCTL_EL1` zero), so a cVM can neither stop nor delay
//! its own preemption. cVMs run with interrupts unmasked (their SPSR's DAIF bits are
//! clear, and `SCTLR_EL1.UMA` is clear, so they cannot mask them; `mmu`); the intravisor
//! runs with them masked, so it is never interrupted itself. A core without a GICv3 CPU
//! interface (QEMU's default GICv2) runs without preemption: [`enable`] says so.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::platform::board::BOARD;

/// The time a thread runs before another of its cVM may take the core: 10 ms.
pub const SLICE_NANOSECONDS: u64 = 10_000_000;
/// The virtual timer's PPI.
const VIRTUAL_TIMER: u64 = 27;
/// What the acknowledge register reads when no interrupt is pending.
const SPURIOUS: u64 = 1023;

/// Whether the timer interrupts cVMs.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The counter ticks in a slice.
static SLICE_TICKS: AtomicU64 = AtomicU64::new(0);

/// Why preemption is not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPreemption {
    /// The core has no GICv3 system register interface.
    NoCpuInterface,
    /// The counter's frequency is zero.
    NoCounterFrequency,
}

impl core::fmt::Display for NoPreemption {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(match self {
            Self::NoCpuInterface => "the core has no GICv3 CPU interface (QEMU: -M virt,gic-version=3)",
            Self::NoCounterFrequency => "the generic timer's frequency (CNTFRQ_EL0) is zero",
        })
    }
}

fn write_register(address: u64, value: u32) {
    // SAFETY: `address` is a register of the board's GIC, which `mmu` maps as device
    // memory for EL1; the writes below only configure this core's timer interrupt.
    unsafe { core::ptr::write_volatile(address as *mut u32, value) }
}

fn read_register(address: u64) -> u32 {
    // SAFETY: as for `write_register`; reading these registers has no side effect.
    unsafe { core::ptr::read_volatile(address as *const u32) }
}

/// Sets up the GIC and the timer's interrupt.
///
/// # Safety
/// Called once at boot, on the only core, after the MMU maps the GIC.
pub unsafe fn enable() -> Result<(), NoPreemption> {
    let (features, frequency): (u64, u64);
    // SAFETY: reading identification and timer registers has no side effect.
    unsafe {
        core::arch::asm!("mrs {}, id_aa64pfr0_el1", out(reg) features, options(nomem, nostack));
        core::arch::asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack));
    }
    if (features >> 24) & 0xf == 0 {
        return Err(NoPreemption::NoCpuInterface);
    }
    if frequency == 0 {
        return Err(NoPreemption::NoCounterFrequency);
    }
    let system_register_enable: u64;
    // SAFETY: ICC_SRE_EL1.SRE selects the system register interface (the core has one,
    // checked above); the levels above allowed it when the image dropped to EL1.
    unsafe {
        core::arch::asm!(
            "mrs {value}, S3_0_C12_C12_5",
            "orr {value}, {value}, #1",
            "msr S3_0_C12_C12_5, {value}",
            "isb",
            "mrs {value}, S3_0_C12_C12_5",
            value = out(reg) system_register_enable,
            options(nomem, nostack),
        );
    }
    if system_register_enable & 1 == 0 {
        return Err(NoPreemption::NoCpuInterface);
    }
    let controller = BOARD.interrupt_controller;
    // The redistributor: awake (GICR_WAKER.ProcessorSleep clear, then wait for
    // ChildrenAsleep to clear).
    let waker = controller.redistributor + 0x14;
    write_register(waker, read_register(waker) & !(1 << 1));
    while read_register(waker) & (1 << 2) != 0 {
        core::hint::spin_loop();
    }
    // Its SGI/PPI frame: the timer's PPI in Group 1, middle priority, enabled.
    let frame = controller.redistributor + 0x1_0000;
    write_register(frame + 0x80, read_register(frame + 0x80) | 1 << VIRTUAL_TIMER);
    let priority = frame + 0x400 + (VIRTUAL_TIMER & !3);
    let shift = (VIRTUAL_TIMER & 3) * 8;
    write_register(priority, (read_register(priority) & !(0xff << shift)) | (0x80 << shift));
    write_register(frame + 0x100, 1 << VIRTUAL_TIMER);
    // The distributor: affinity routing and Group 1 on (GICD_CTLR.ARE, EnableGrp1),
    // then wait for the write to take effect (RWP).
    let control = controller.distributor;
    write_register(control, read_register(control) | (1 << 4) | (1 << 1));
    while read_register(control) & (1 << 31) != 0 {
        core::hint::spin_loop();
    }
    // SAFETY: the CPU interface's priority mask, binary point and Group 1 enable, and
    // the EL0 timer controls: none touches memory.
    unsafe {
        core::arch::asm!(
            "mov {value}, #0xf0",
            "msr S3_0_C4_C6_0, {value}",  // ICC_PMR_EL1
            "msr S3_0_C12_C12_3, xzr",    // ICC_BPR1_EL1
            "mov {value}, #1",
            "msr S3_0_C12_C12_7, {value}", // ICC_IGRPEN1_EL1
            "msr cntkctl_el1, xzr",       // EL0: no timer, no counter
            "msr cntv_ctl_el0, xzr",
            "isb",
            value = out(reg) _,
            options(nomem, nostack),
        );
    }
    let ticks = (u128::from(frequency) * u128::from(SLICE_NANOSECONDS) / 1_000_000_000) as u64;
    SLICE_TICKS.store(ticks.max(1), Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(())
}

/// Starts a new slice: the timer fires [`SLICE_NANOSECONDS`] from now.
pub fn start_slice() {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let ticks = SLICE_TICKS.load(Ordering::Relaxed);
    // SAFETY: the virtual timer is the intravisor's (EL0 may not touch it); setting its
    // countdown and enabling it has no other effect.
    unsafe {
        core::arch::asm!(
            "msr cntv_tval_el0, {ticks}",
            "mov {control}, #1",
            "msr cntv_ctl_el0, {control}",
            "isb",
            ticks = in(reg) ticks,
            control = out(reg) _,
            options(nomem, nostack),
        );
    }
}

/// Stops the timer (between cVMs).
pub fn stop() {
    if ENABLED.load(Ordering::Relaxed) {
        // SAFETY: disabling the intravisor's own timer has no other effect.
        unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", "isb", options(nomem, nostack)) };
    }
}

/// Acknowledges the interrupt taken from EL0 and signals its end; whether it was the
/// timer's (anything else is not the cVM's concern, and is only acknowledged).
pub fn acknowledge() -> bool {
    let interrupt: u64;
    // SAFETY: ICC_IAR1_EL1 acknowledges the highest-priority pending Group 1 interrupt;
    // ICC_EOIR1_EL1 ends it. Neither touches memory.
    unsafe { core::arch::asm!("mrs {}, S3_0_C12_C12_0", out(reg) interrupt, options(nomem, nostack)) };
    if interrupt == SPURIOUS {
        return false;
    }
    // SAFETY: as above.
    unsafe { core::arch::asm!("msr S3_0_C12_C12_1, {}", in(reg) interrupt, options(nomem, nostack)) };
    interrupt == VIRTUAL_TIMER
}
