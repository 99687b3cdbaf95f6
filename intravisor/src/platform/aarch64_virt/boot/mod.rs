//! Boot, exception vectors, and running cVM code at EL0.
//!
//! `_start` sets the stack, turns on FP/SIMD, clears `.bss`, installs the vectors and
//! calls `kernel_main`. [`run_el0`] saves the intravisor's callee-saved registers, and
//! `eret`s into the cVM at EL0 with its stack, its first argument and its CLS table in
//! TPIDR_EL0, every other register it can read cleared: general and SIMD/FP registers,
//! FPCR, FPSR, TPIDRRO_EL0, and on Morello the C registers, CTPIDRRO_EL0, RCTPIDR_EL0,
//! RCSP_EL0 and CID_EL0 (its DDC, RDDC_EL0, PCC and CTPIDR_EL0 are its own). An
//! exception from EL0 (a hostcall, a fault, or the timer's interrupt: `interrupts`) saves the cVM's whole state (general registers, SP_EL0, ELR, SPSR,
//! FP/SIMD registers and controls) in a [`TrapFrame`] on the intravisor's stack, runs
//! the intravisor with FPCR zero, and asks the [`TrapHandler`]: resume the cVM (after a
//! hostcall, every register restored from the frame but the answer in x0), or leave it
//! (exit or fault), returning from `run_el0`. An exception at EL1 is the
//! intravisor's own fault: it is reported and the run ends with exit code 99, except, on
//! Morello, a fault of the loads and stores that move a cVM's hostcall buffers through
//! the cVM's own DDC ([`probe_cvm`], [`copy_from_cvm`], [`copy_to_cvm`]): that becomes
//! the hostcall's `-EFAULT`.

mod entry;
mod vectors;

use core::fmt::Write as _;

use super::console::{exit, Console};

/// The cVM state saved on an exception from EL0 (on Morello, the cVM's PCC follows it,
/// and the exception returns to `exception_link` inside that PCC's bounds).
#[repr(C)]
#[derive(Debug, Clone, Default)]
pub struct TrapFrame {
    /// x0..x30.
    pub registers: [u64; 31],
    /// SP_EL0.
    pub stack_pointer: u64,
    /// ELR_EL1: where the cVM resumes.
    pub exception_link: u64,
    /// SPSR_EL1.
    pub saved_state: u64,
    /// q0..q31.
    vector_registers: [u128; 32],
    /// FPCR and FPSR.
    floating_point_control: [u64; 2],
}

impl TrapFrame {
    /// The state another thread of the same cVM starts in: at `entry` with `argument`
    /// in x0 and its stack pointer `stack`, every other register zero; the processor
    /// state and floating-point control are this frame's.
    pub fn started(&self, entry: u64, stack: u64, argument: u64) -> Self {
        let mut registers = [0; 31];
        registers[0] = argument;
        Self {
            registers,
            stack_pointer: stack,
            exception_link: entry,
            saved_state: self.saved_state & !(0xf << 28),
            vector_registers: [0; 32],
            floating_point_control: [self.floating_point_control[0], 0],
        }
    }
}

/// What to do after an exception from EL0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapOutcome {
    /// Return to the cVM.
    Resume,
    /// Leave it: `run_el0` returns this value.
    Leave(u64),
}

/// Handles exceptions from the cVM running now.
pub trait TrapHandler {
    /// Handles one exception with syndrome `esr` and fault address `far`.
    fn trap(&mut self, frame: &mut TrapFrame, esr: u64, far: u64) -> TrapOutcome;

    /// The running thread's time slice is over (the timer's interrupt).
    fn slice_over(&mut self, frame: &mut TrapFrame) -> TrapOutcome;
}

/// The handler of the cVM running now (single core: set by `run_el0` only).
static mut HANDLER: Option<*mut (dyn TrapHandler + 'static)> = None;
/// The intravisor's stack pointer inside `run_el0`'s frame.
#[no_mangle]
static mut INTRAVISOR_STACK: u64 = 0;

/// Runs cVM code at EL0 from `entry` on `stack` with `argument` in x0 and `cls_table` in
/// TPIDR_EL0, until the handler leaves it; returns the value it left with. On Morello the
/// cVM's DDC is bounded to `region` and its PCC to `code`.
///
/// # Safety
/// `entry` is the entry of code loaded into pages mapped executable for EL0, `stack` the
/// 16-byte-aligned top of a stack mapped writable for EL0; everything the cVM can reach
/// through `handler` is checked there against its capabilities.
pub unsafe fn run_el0(
    entry: u64,
    stack: u64,
    argument: u64,
    cls_table: u64,
    region: core::ops::Range<u64>,
    code: core::ops::Range<u64>,
    handler: &mut dyn TrapHandler,
) -> u64 {
    // SAFETY: the caller's guarantees; the assembly saves and restores every register the
    // ABI asks callee-saved.
    on_core(handler, || unsafe {
        intravisor_enter_el0(
            entry,
            stack,
            argument,
            cls_table,
            region.start,
            region.end - region.start,
            code.start,
            code.end - code.start,
        )
    })
}

/// Runs `enter` (which enters a cVM at EL0 and returns when `handler` leaves it) with
/// `handler` taking the cVM's exceptions and the timer slicing its time.
fn on_core(handler: &mut dyn TrapHandler, enter: impl FnOnce() -> u64) -> u64 {
    // SAFETY: the handler outlives this call; the pointer is cleared before returning.
    let handler: *mut (dyn TrapHandler + 'static) = unsafe { core::mem::transmute(handler) };
    // SAFETY: single core, and no exception from EL0 can happen before `enter` erets.
    unsafe { core::ptr::write(&raw mut HANDLER, Some(handler)) };
    super::interrupts::start_slice();
    let reason = enter();
    super::interrupts::stop();
    // SAFETY: as above.
    unsafe { core::ptr::write(&raw mut HANDLER, None) };
    reason
}

/// Resumes a cVM at EL0 in the state `frame` holds (its thread pointer, which the frame
/// does not hold, is `thread_pointer`), until the handler leaves it; returns the value
/// it left with. On Morello the cVM's DDC is bounded to `region` and its PCC to `code`,
/// as when it was entered; the registers a cVM can write but a frame does not hold
/// (TPIDRRO_EL0; on Morello CID_EL0, RCTPIDR_EL0, RCSP_EL0, CTPIDRRO_EL0) are cleared,
/// so nothing another cVM left there reaches it.
///
/// # Safety
/// `frame` is a state this cVM had when it left the core (its registers, and an
/// exception link inside its code), saved by the vectors; `thread_pointer` its own.
pub unsafe fn resume_el0(
    frame: &TrapFrame,
    thread_pointer: u64,
    region: core::ops::Range<u64>,
    code: core::ops::Range<u64>,
    handler: &mut dyn TrapHandler,
) -> u64 {
    // SAFETY: the caller's guarantees; the assembly copies the frame onto the
    // intravisor's stack and returns through the vectors' exception return.
    on_core(handler, || unsafe {
        intravisor_resume_el0(
            frame,
            thread_pointer,
            0,
            0,
            region.start,
            region.end - region.start,
            code.start,
            code.end - code.start,
        )
    })
}

extern "C" {
    fn intravisor_resume_el0(
        frame: *const TrapFrame,
        thread_pointer: u64,
        unused: u64,
        unused_too: u64,
        base: u64,
        length: u64,
        code_base: u64,
        code_length: u64,
    ) -> u64;
    fn intravisor_enter_el0(
        entry: u64,
        stack: u64,
        argument: u64,
        cls_table: u64,
        base: u64,
        length: u64,
        code_base: u64,
        code_length: u64,
    ) -> u64;
}

/// A cVM's bytes could not be read through its own capability.
#[cfg(feature = "morello")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CvmAccessFault;

/// Checks that the cVM running now may read `[address, address + length)` through its
/// own DDC: the hardware checks tag, bounds, Load permission and the page mappings.
#[cfg(feature = "morello")]
pub fn probe_cvm(address: u64, length: u64) -> Result<(), CvmAccessFault> {
    // SAFETY: the routine only loads through the cVM's DDC_EL0, and every load that
    // can fault is one the EL1 vector turns into the answer 1 (its address is listed
    // in `intravisor_el1_sync`).
    match unsafe { intravisor_probe_cvm(address, length) } {
        0 => Ok(()),
        _ => Err(CvmAccessFault),
    }
}

/// Copies `buffer.len()` bytes from `address` of the cVM running now, each loaded
/// through its own DDC.
#[cfg(feature = "morello")]
pub fn copy_from_cvm(address: u64, buffer: &mut [u8]) -> Result<(), CvmAccessFault> {
    // SAFETY: the destination is the whole of `buffer`; the loads go through the cVM's
    // DDC_EL0 and a faulting one returns 1, as in `probe_cvm`.
    match unsafe { intravisor_copy_from_cvm(buffer.as_mut_ptr(), address, buffer.len() as u64) } {
        0 => Ok(()),
        _ => Err(CvmAccessFault),
    }
}

/// Stores at `slot` (16 bytes, 16-byte aligned, in the cVM's region) a sealed entry
/// capability for the C64 function at `function`, bounded to its object's image
/// `object` and without Store permission.
///
/// # Safety
/// `slot` lies in pages of the cVM the intravisor may write and that keep tags;
/// `object` holds the loaded object, mapped executable for EL0, and `function`.
#[cfg(feature = "morello")]
pub unsafe fn store_entry_capability(slot: u64, object: core::ops::Range<u64>, function: u64) {
    // SAFETY: the caller's guarantees; the routine writes the 16 bytes at `slot` only.
    unsafe { intravisor_store_entry(slot, object.start, object.end - object.start, function) }
}

/// Sets the thread pointer (TPIDR_EL0) the cVM running now resumes with: on Morello
/// the value of its CTPIDR_EL0, whose bounds and permissions stay its own.
pub fn set_cvm_thread_pointer(value: u64) {
    #[cfg(feature = "morello")]
    // SAFETY: the routine changes only the value of the cVM's CTPIDR_EL0 capability,
    // which the cVM could set itself.
    unsafe {
        intravisor_set_cvm_thread_pointer(value)
    };
    #[cfg(not(feature = "morello"))]
    // SAFETY: TPIDR_EL0 is the cVM's own register; the intravisor never reads through
    // it (it sets it again on every entry).
    unsafe {
        core::arch::asm!("msr tpidr_el0, {}", in(reg) value, options(nomem, nostack))
    };
}

/// The thread pointer (TPIDR_EL0; on Morello the value of CTPIDR_EL0) of the cVM running
/// now.
pub fn cvm_thread_pointer() -> u64 {
    let value: u64;
    // SAFETY: reading the cVM's thread pointer register has no effect.
    unsafe { core::arch::asm!("mrs {}, tpidr_el0", out(reg) value, options(nomem, nostack)) };
    value
}

/// Copies `bytes` to `address` of the cVM running now, each stored through its own DDC.
#[cfg(feature = "morello")]
pub fn copy_to_cvm(address: u64, bytes: &[u8]) -> Result<(), CvmAccessFault> {
    // SAFETY: the source is the whole of `bytes`; the stores go through the cVM's
    // DDC_EL0 and a faulting one returns 1, as in `probe_cvm`.
    match unsafe { intravisor_copy_to_cvm(address, bytes.as_ptr(), bytes.len() as u64) } {
        0 => Ok(()),
        _ => Err(CvmAccessFault),
    }
}

#[cfg(feature = "morello")]
extern "C" {
    fn intravisor_copy_to_cvm(address: u64, source: *const u8, length: u64) -> u64;
    fn intravisor_set_cvm_thread_pointer(value: u64);
    fn intravisor_store_entry(slot: u64, base: u64, length: u64, function: u64);
    fn intravisor_probe_cvm(address: u64, length: u64) -> u64;
    fn intravisor_copy_from_cvm(destination: *mut u8, address: u64, length: u64) -> u64;
}

/// SPSR_EL1's bits no cVM resumes with: its mode is EL0t (M[4:0] zero) and its
/// interrupts unmasked (DAIF) whatever a frame says, so no thread can keep the core.
const NEVER_RESUMED: u64 = 0x1f | (0xf << 6);

/// Called by the vectors for every exception from EL0: `kind` 0 for a synchronous one,
/// 1 for an interrupt.
extern "C" fn intravisor_el0_trap(frame: &mut TrapFrame, kind: u64) -> u64 {
    // SAFETY: set by `run_el0` for the duration of the cVM's run.
    let Some(handler) = (unsafe { core::ptr::read(&raw const HANDLER) }) else { return 1 };
    let outcome = if kind == 1 {
        if super::interrupts::acknowledge() {
            // SAFETY: the pointer is the live `&mut` run_el0 was given.
            let outcome = unsafe { (*handler).slice_over(frame) };
            super::interrupts::start_slice();
            outcome
        } else {
            TrapOutcome::Resume
        }
    } else {
        let (esr, far): (u64, u64);
        // SAFETY: reading the syndrome and fault address registers has no side effects.
        unsafe {
            core::arch::asm!("mrs {}, esr_el1", out(reg) esr, options(nomem, nostack));
            core::arch::asm!("mrs {}, far_el1", out(reg) far, options(nomem, nostack));
        }
        // SAFETY: the pointer is the live `&mut` run_el0 was given.
        unsafe { (*handler).trap(frame, esr, far) }
    };
    match outcome {
        TrapOutcome::Resume => {
            frame.saved_state &= !NEVER_RESUMED;
            0
        }
        TrapOutcome::Leave(reason) => reason.max(1),
    }
}

/// Called by the vectors for every exception taken at EL1: the intravisor's own fault.
#[no_mangle]
extern "C" fn intravisor_el1_fault(kind: u64) -> ! {
    let (esr, elr, far): (u64, u64, u64);
    // SAFETY: reading the syndrome registers has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, esr_el1", out(reg) esr, options(nomem, nostack));
        core::arch::asm!("mrs {}, elr_el1", out(reg) elr, options(nomem, nostack));
        core::arch::asm!("mrs {}, far_el1", out(reg) far, options(nomem, nostack));
    }
    let _ = writeln!(
        Console,
        "intravisor: fault in the intravisor itself (vector {kind:#x}): ESR {esr:#x}, ELR {elr:#x}, FAR {far:#x}"
    );
    exit(99)
}
