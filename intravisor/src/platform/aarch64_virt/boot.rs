//! Boot, exception vectors, and running cVM code at EL0.
//!
//! `_start` sets the stack, turns on FP/SIMD, clears `.bss`, installs the vectors and
//! calls `kernel_main`. [`run_el0`] saves the intravisor's callee-saved registers, and
//! `eret`s into the cVM at EL0 with its stack, its first argument and its CLS table in
//! TPIDR_EL0, every other register it can read cleared: general and SIMD/FP registers,
//! FPCR, FPSR, TPIDRRO_EL0, and on Morello the C registers, CTPIDRRO_EL0, RCTPIDR_EL0,
//! RCSP_EL0 and CID_EL0 (its DDC, RDDC_EL0, PCC and CTPIDR_EL0 are its own). An
//! exception from EL0 saves the cVM's whole state (general registers, SP_EL0, ELR, SPSR,
//! FP/SIMD registers and controls) in a [`TrapFrame`] on the intravisor's stack, runs
//! the intravisor with FPCR zero, and asks the [`TrapHandler`]: resume the cVM (after a
//! hostcall, every register restored from the frame but the answer in x0), or leave it
//! (exit or fault), returning from `run_el0`. An exception at EL1 is the
//! intravisor's own fault: it is reported and the run ends with exit code 99, except, on
//! Morello, a fault of the loads and stores that move a cVM's hostcall buffers through
//! the cVM's own DDC ([`probe_cvm`], [`copy_from_cvm`], [`copy_to_cvm`]): that becomes
//! the hostcall's `-EFAULT`.

use core::fmt::Write as _;

use super::console::{exit, Console};
use crate::platform::morello::encoding::{self, CapabilityRegister, SealForm, C, X};

/// The cVM state saved on an exception from EL0 (on Morello, the cVM's PCC follows it,
/// and the exception returns to `exception_link` inside that PCC's bounds).
#[repr(C)]
#[derive(Debug, Clone)]
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
    // SAFETY: the handler outlives this call; the pointer is cleared before returning.
    let handler: *mut (dyn TrapHandler + 'static) = unsafe { core::mem::transmute(handler) };
    // SAFETY: single core, and no exception from EL0 can happen before the eret below.
    unsafe { core::ptr::write(&raw mut HANDLER, Some(handler)) };
    // SAFETY: the caller's guarantees; the assembly saves and restores every register the
    // ABI asks callee-saved.
    let reason = unsafe {
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
    };
    // SAFETY: as above.
    unsafe { core::ptr::write(&raw mut HANDLER, None) };
    reason
}

extern "C" {
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

/// Called by the vector for every synchronous exception from EL0.
extern "C" fn intravisor_el0_trap(frame: &mut TrapFrame) -> u64 {
    let (esr, far): (u64, u64);
    // SAFETY: reading the syndrome and fault address registers has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, esr_el1", out(reg) esr, options(nomem, nostack));
        core::arch::asm!("mrs {}, far_el1", out(reg) far, options(nomem, nostack));
    }
    // SAFETY: set by `run_el0` for the duration of the cVM's run.
    match unsafe { core::ptr::read(&raw const HANDLER) } {
        // SAFETY: the pointer is the live `&mut` run_el0 was given.
        Some(handler) => match unsafe { (*handler).trap(frame, esr, far) } {
            TrapOutcome::Resume => 0,
            TrapOutcome::Leave(reason) => reason.max(1),
        },
        None => 1,
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

core::arch::global_asm!(
    ".set MORELLO, {morello}",
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "adrp x0, __stack_top",
    "add x0, x0, :lo12:__stack_top",
    "mov sp, x0",
    "mov x0, #(3 << 20)",
    "msr cpacr_el1, x0", // FP/SIMD at EL0 and EL1
    "isb",
    "adrp x0, __bss_start",
    "add x0, x0, :lo12:__bss_start",
    "adrp x1, __bss_end",
    "add x1, x1, :lo12:__bss_end",
    "0:",
    "cmp x0, x1",
    "b.hs 1f",
    "str xzr, [x0], #8",
    "b 0b",
    "1:",
    "adrp x0, intravisor_vectors",
    "add x0, x0, :lo12:intravisor_vectors",
    ".if MORELLO",
    // Capabilities on at EL0 and EL1 (CPACR_EL1.CEN), then the vector base through the
    // capability CVBAR_EL1: PCC (the reset root) with the vectors' address.
    "mov x1, #(3 << 20)",
    "orr x1, x1, #(3 << 18)",
    "msr cpacr_el1, x1",
    "isb",
    ".inst {cvtp_c1_x0}",
    ".inst {msr_cvbar_c1}",
    ".else",
    "msr vbar_el1, x0",
    ".endif",
    "isb",
    "bl kernel_main",
    "2:",
    "wfe",
    "b 2b",
    "",
    ".text",
    // u64 intravisor_enter_el0(entry x0, stack x1, argument x2, cls_table x3,
    //                          region base x4, region length x5,
    //                          code base x6, code length x7)
    ".global intravisor_enter_el0",
    ".p2align 4",
    "intravisor_enter_el0:",
    "sub sp, sp, #160",
    "stp x19, x20, [sp, #0]",
    "stp x21, x22, [sp, #16]",
    "stp x23, x24, [sp, #32]",
    "stp x25, x26, [sp, #48]",
    "stp x27, x28, [sp, #64]",
    "stp x29, x30, [sp, #80]",
    "stp d8, d9, [sp, #96]",
    "stp d10, d11, [sp, #112]",
    "stp d12, d13, [sp, #128]",
    "stp d14, d15, [sp, #144]",
    "adrp x9, INTRAVISOR_STACK",
    "mov x10, sp",
    "str x10, [x9, :lo12:INTRAVISOR_STACK]",
    ".if MORELLO",
    // DDC for the cVM: the intravisor's DDC bounded to the region, data permissions only.
    ".inst {mrs_c9_ddc}",
    ".inst {scvalue_c9_c9_x4}",
    ".inst {scbnds_c9_c9_x5}",
    "mov x10, #{data_clear}",
    ".inst {clrperm_c9_c9_x10}",
    ".inst {msr_ddc_el0_c9}",
    // The same for Restricted mode, so a cVM that gives up Executive gets no more.
    ".inst {msr_rddc_el0_c9}",
    // PCC for the cVM: bounded to its code, no Store, no System; entered by eret.
    ".inst {cvtp_c10_x6}",
    ".inst {scbnds_c10_c10_x7}",
    ".inst {scvalue_c10_c10_x0}",
    "mov x11, #{code_clear_low}",
    "movk x11, #{code_clear_high}, lsl #16",
    ".inst {clrperm_c10_c10_x11}",
    ".inst {msr_celr_c10}",
    ".else",
    "msr elr_el1, x0",
    ".endif",
    "msr sp_el0, x1",
    "msr spsr_el1, xzr", // EL0t
    // Nothing of the intravisor or of the cVM before reaches this one through a register
    // it can read: SIMD/FP registers and their controls, the read-only thread pointer,
    // and (Morello) the compartment ID and the Restricted thread and stack pointers.
    "movi v0.2d, #0", "movi v1.2d, #0", "movi v2.2d, #0", "movi v3.2d, #0",
    "movi v4.2d, #0", "movi v5.2d, #0", "movi v6.2d, #0", "movi v7.2d, #0",
    "movi v8.2d, #0", "movi v9.2d, #0", "movi v10.2d, #0", "movi v11.2d, #0",
    "movi v12.2d, #0", "movi v13.2d, #0", "movi v14.2d, #0", "movi v15.2d, #0",
    "movi v16.2d, #0", "movi v17.2d, #0", "movi v18.2d, #0", "movi v19.2d, #0",
    "movi v20.2d, #0", "movi v21.2d, #0", "movi v22.2d, #0", "movi v23.2d, #0",
    "movi v24.2d, #0", "movi v25.2d, #0", "movi v26.2d, #0", "movi v27.2d, #0",
    "movi v28.2d, #0", "movi v29.2d, #0", "movi v30.2d, #0", "movi v31.2d, #0",
    "msr fpcr, xzr",
    "msr fpsr, xzr",
    ".if MORELLO",
    ".inst {msr_ctpidrro_el0_czr}",
    ".inst {msr_rctpidr_el0_czr}",
    ".inst {msr_rcsp_el0_czr}",
    ".inst {msr_cid_el0_czr}",
    ".else",
    "msr tpidrro_el0, xzr",
    ".endif",
    // The cVM's thread pointer: its CLS table's address minus 8, so that the word at
    // TPIDR_EL0 + 8 is the table's address (the table's first word is its own address).
    "sub x3, x3, #8",
    ".if MORELLO",
    // CTPIDR_EL0: the cVM's DDC with that address, so that hybrid code reads it from
    // TPIDR_EL0 and C64 code reaches the table and its instances through it.
    ".inst {scvalue_c12_c9_x3}",
    ".inst {msr_ctpidr_el0_c12}",
    ".else",
    "msr tpidr_el0, x3",
    ".endif",
    "mov x0, x2",
    "mov x1, xzr", "mov x2, xzr", "mov x3, xzr", "mov x4, xzr", "mov x5, xzr", "mov x6, xzr",
    "mov x7, xzr", "mov x8, xzr", "mov x9, xzr", "mov x10, xzr", "mov x11, xzr", "mov x12, xzr",
    "mov x13, xzr", "mov x14, xzr", "mov x15, xzr", "mov x16, xzr", "mov x17, xzr", "mov x18, xzr",
    "mov x19, xzr",
    "mov x20, xzr", "mov x21, xzr", "mov x22, xzr", "mov x23, xzr", "mov x24, xzr", "mov x25, xzr",
    "mov x26, xzr", "mov x27, xzr", "mov x28, xzr", "mov x29, xzr", "mov x30, xzr",
    "eret",
    "",
    // The exception vectors: 16 entries of 0x80 bytes.
    ".balign 2048",
    "intravisor_vectors:",
    ".rept 4", // current EL with SP0: the intravisor's own faults
    ".balign 128",
    "mov x0, #0",
    "b intravisor_el1_fault",
    ".endr",
    ".balign 128", // current EL with SPx, synchronous: a cVM access that failed, or a fault
    "b intravisor_el1_sync",
    ".rept 3",
    ".balign 128",
    "mov x0, #0",
    "b intravisor_el1_fault",
    ".endr",
    ".balign 128", // lower EL, AArch64, synchronous: the cVM
    "b intravisor_el0_sync",
    ".rept 7",
    ".balign 128",
    "mov x0, #1",
    "b intravisor_el1_fault",
    ".endr",
    "",
    // A synchronous exception at EL1. On Morello, a fault on one of the loads that read
    // cVM memory through the cVM's DDC is that hostcall's answer: the load's routine
    // returns 1. Anything else is the intravisor's own fault.
    "intravisor_el1_sync:",
    ".if MORELLO",
    "mrs x9, elr_el1",
    "adr x10, intravisor_cvm_load_last",
    "cmp x9, x10",
    "b.eq 5f",
    "adr x10, intravisor_cvm_load_page",
    "cmp x9, x10",
    "b.eq 5f",
    "adr x10, intravisor_cvm_load_copy",
    "cmp x9, x10",
    "b.eq 5f",
    "adr x10, intravisor_cvm_store_copy",
    "cmp x9, x10",
    "b.eq 5f",
    ".endif",
    "mov x0, #0",
    "b intravisor_el1_fault",
    ".if MORELLO",
    "5:",
    "adr x10, intravisor_cvm_access_failed",
    ".inst {mrs_c9_celr}",
    ".inst {scvalue_c9_c9_x10}",
    ".inst {msr_celr_c9}",
    "eret",
    "",
    // u64 intravisor_probe_cvm(address x0, length x1): 0 when the cVM running now may
    // read every byte of the range through its own DDC_EL0 (its last byte, then one
    // byte of every page from the first, so bounds, tag, permission and mapping are
    // all checked by the hardware); 1 when a load faulted or the range wraps.
    ".global intravisor_probe_cvm",
    "intravisor_probe_cvm:",
    "cbz x1, 8f",
    "adds x2, x0, x1",
    "b.cs intravisor_cvm_access_failed",
    "sub x2, x2, #1",
    ".inst {mrs_c9_ddc_el0}",
    ".inst {scvalue_c10_c9_x2}",
    "intravisor_cvm_load_last:",
    ".inst {ldrb_w11_c10}",
    "6:",
    ".inst {scvalue_c10_c9_x0}",
    "intravisor_cvm_load_page:",
    ".inst {ldrb_w11_c10}",
    "and x0, x0, #0xfffffffffffff000",
    "add x0, x0, #0x1000",
    "cmp x0, x2",
    "b.ls 6b",
    "8:",
    "mov x0, #0",
    "ret",
    "intravisor_cvm_access_failed:",
    "mov x0, #1",
    "ret",
    "",
    // void intravisor_set_cvm_thread_pointer(value x0): the cVM's CTPIDR_EL0 keeps its
    // bounds and permissions and takes the value (its C library's thread pointer).
    ".global intravisor_set_cvm_thread_pointer",
    "intravisor_set_cvm_thread_pointer:",
    ".inst {mrs_c9_ctpidr_el0}",
    ".inst {scvalue_c9_c9_x0}",
    ".inst {msr_ctpidr_el0_c9}",
    "ret",
    "",
    // void intravisor_store_entry(slot x0, object base x1, object length x2, function
    // x3): stores at `slot` a sealed entry capability (RB) for the C64 function: bounds
    // the object's image, Load and Execute but no Store, no System, no sealing.
    ".global intravisor_store_entry",
    "intravisor_store_entry:",
    ".inst {cvtp_c9_x1}",
    ".inst {scbnds_c9_c9_x2}",
    "orr x3, x3, #1", // enter in C64 state
    ".inst {scvalue_c9_c9_x3}",
    "mov x11, #{code_clear_low}",
    "movk x11, #{code_clear_high}, lsl #16",
    ".inst {clrperm_c9_c9_x11}",
    ".inst {seal_c9_c9_rb}",
    ".inst {str_c9_x0}",
    "ret",
    "",
    // u64 intravisor_copy_from_cvm(destination x0, address x1, length x2): copies the
    // cVM's bytes, each loaded through its DDC_EL0; 0 when done, 1 when a load faulted.
    ".global intravisor_copy_from_cvm",
    "intravisor_copy_from_cvm:",
    ".inst {mrs_c9_ddc_el0}",
    ".inst {scvalue_c9_c9_x1}",
    "cbz x2, 8b",
    "7:",
    "intravisor_cvm_load_copy:",
    ".inst {ldrb_w11_c9}",
    "strb w11, [x0], #1",
    ".inst {add_c9_c9_1}",
    "subs x2, x2, #1",
    "b.ne 7b",
    "mov x0, #0",
    "ret",
    "",
    // u64 intravisor_copy_to_cvm(address x0, source x1, length x2): copies into the
    // cVM's memory, each byte stored through its DDC_EL0; 0 when done, 1 when a store
    // faulted (bytes before it were written).
    ".global intravisor_copy_to_cvm",
    "intravisor_copy_to_cvm:",
    ".inst {mrs_c9_ddc_el0}",
    ".inst {scvalue_c9_c9_x0}",
    "cbz x2, 8b",
    "10:",
    "ldrb w11, [x1], #1",
    "intravisor_cvm_store_copy:",
    ".inst {strb_w11_c9}",
    ".inst {add_c9_c9_1}",
    "subs x2, x2, #1",
    "b.ne 10b",
    "mov x0, #0",
    "ret",
    ".endif",
    "",
    "intravisor_el0_sync:",
    "sub sp, sp, #816",
    "stp x0, x1, [sp, #0]",
    "stp x2, x3, [sp, #16]",
    "stp x4, x5, [sp, #32]",
    "stp x6, x7, [sp, #48]",
    "stp x8, x9, [sp, #64]",
    "stp x10, x11, [sp, #80]",
    "stp x12, x13, [sp, #96]",
    "stp x14, x15, [sp, #112]",
    "stp x16, x17, [sp, #128]",
    "stp x18, x19, [sp, #144]",
    "stp x20, x21, [sp, #160]",
    "stp x22, x23, [sp, #176]",
    "stp x24, x25, [sp, #192]",
    "stp x26, x27, [sp, #208]",
    "stp x28, x29, [sp, #224]",
    "mrs x9, sp_el0",
    "stp x30, x9, [sp, #240]",
    "mrs x9, elr_el1",
    "mrs x10, spsr_el1",
    "stp x9, x10, [sp, #256]",
    "stp q0, q1, [sp, #272]",
    "stp q2, q3, [sp, #304]",
    "stp q4, q5, [sp, #336]",
    "stp q6, q7, [sp, #368]",
    "stp q8, q9, [sp, #400]",
    "stp q10, q11, [sp, #432]",
    "stp q12, q13, [sp, #464]",
    "stp q14, q15, [sp, #496]",
    "stp q16, q17, [sp, #528]",
    "stp q18, q19, [sp, #560]",
    "stp q20, q21, [sp, #592]",
    "stp q22, q23, [sp, #624]",
    "stp q24, q25, [sp, #656]",
    "stp q26, q27, [sp, #688]",
    "stp q28, q29, [sp, #720]",
    "stp q30, q31, [sp, #752]",
    "mrs x9, fpcr",
    "mrs x10, fpsr",
    "add x11, sp, #784",
    "stp x9, x10, [x11]",
    // The intravisor computes with its own floating-point controls, not the cVM's.
    "msr fpcr, xzr",
    ".if MORELLO",
    ".inst {mrs_c9_celr}", // the cVM's PCC, tag and bounds included
    "add x11, sp, #800",
    ".inst {str_c9_x11}",
    ".endif",
    "mov x0, sp",
    "bl {trap}",
    "cbnz x0, 3f",
    "add x11, sp, #784",
    "ldp x9, x10, [x11]",
    "msr fpcr, x9",
    "msr fpsr, x10",
    "ldp q0, q1, [sp, #272]",
    "ldp q2, q3, [sp, #304]",
    "ldp q4, q5, [sp, #336]",
    "ldp q6, q7, [sp, #368]",
    "ldp q8, q9, [sp, #400]",
    "ldp q10, q11, [sp, #432]",
    "ldp q12, q13, [sp, #464]",
    "ldp q14, q15, [sp, #496]",
    "ldp q16, q17, [sp, #528]",
    "ldp q18, q19, [sp, #560]",
    "ldp q20, q21, [sp, #592]",
    "ldp q22, q23, [sp, #624]",
    "ldp q24, q25, [sp, #656]",
    "ldp q26, q27, [sp, #688]",
    "ldp q28, q29, [sp, #720]",
    "ldp q30, q31, [sp, #752]",
    "ldp x9, x10, [sp, #256]",
    ".if MORELLO",
    // The saved PCC, at the frame's resume address (another thread's, after a switch).
    "add x12, sp, #800",
    ".inst {ldr_c12_x12}",
    ".inst {scvalue_c12_c12_x9}",
    ".inst {msr_celr_c12}",
    ".else",
    "msr elr_el1, x9",
    ".endif",
    "msr spsr_el1, x10",
    "ldp x30, x9, [sp, #240]",
    "msr sp_el0, x9",
    "ldp x0, x1, [sp, #0]",
    "ldp x2, x3, [sp, #16]",
    "ldp x4, x5, [sp, #32]",
    "ldp x6, x7, [sp, #48]",
    "ldp x8, x9, [sp, #64]",
    "ldp x10, x11, [sp, #80]",
    "ldp x12, x13, [sp, #96]",
    "ldp x14, x15, [sp, #112]",
    "ldp x16, x17, [sp, #128]",
    "ldp x18, x19, [sp, #144]",
    "ldp x20, x21, [sp, #160]",
    "ldp x22, x23, [sp, #176]",
    "ldp x24, x25, [sp, #192]",
    "ldp x26, x27, [sp, #208]",
    "ldp x28, x29, [sp, #224]",
    "add sp, sp, #816",
    "eret",
    "3:",
    // Leave the cVM: back to run_el0's caller with x0.
    "adrp x9, INTRAVISOR_STACK",
    "ldr x10, [x9, :lo12:INTRAVISOR_STACK]",
    "mov sp, x10",
    "ldp x19, x20, [sp, #0]",
    "ldp x21, x22, [sp, #16]",
    "ldp x23, x24, [sp, #32]",
    "ldp x25, x26, [sp, #48]",
    "ldp x27, x28, [sp, #64]",
    "ldp x29, x30, [sp, #80]",
    "ldp d8, d9, [sp, #96]",
    "ldp d10, d11, [sp, #112]",
    "ldp d12, d13, [sp, #128]",
    "ldp d14, d15, [sp, #144]",
    "add sp, sp, #160",
    "ret",
    trap = sym intravisor_el0_trap,
    morello = const cfg!(feature = "morello") as u32,
    cvtp_c1_x0 = const encoding::cvtp_from_address(C::new(1), X::new(0)),
    msr_cvbar_c1 = const encoding::msr(CapabilityRegister::CvbarEl1, C::new(1)),
    mrs_c9_ddc = const encoding::mrs(C::new(9), CapabilityRegister::Ddc),
    scvalue_c9_c9_x4 = const encoding::scvalue(C::new(9), C::new(9), X::new(4)),
    scbnds_c9_c9_x5 = const encoding::scbnds(C::new(9), C::new(9), X::new(5)),
    data_clear = const DATA_CLEAR,
    clrperm_c9_c9_x10 = const encoding::clrperm(C::new(9), C::new(9), X::new(10)),
    msr_ddc_el0_c9 = const encoding::msr(CapabilityRegister::DdcEl0, C::new(9)),
    msr_rddc_el0_c9 = const encoding::msr(CapabilityRegister::RddcEl0, C::new(9)),
    cvtp_c10_x6 = const encoding::cvtp_from_address(C::new(10), X::new(6)),
    scbnds_c10_c10_x7 = const encoding::scbnds(C::new(10), C::new(10), X::new(7)),
    scvalue_c10_c10_x0 = const encoding::scvalue(C::new(10), C::new(10), X::new(0)),
    code_clear_low = const CODE_CLEAR & 0xffff,
    code_clear_high = const CODE_CLEAR >> 16,
    clrperm_c10_c10_x11 = const encoding::clrperm(C::new(10), C::new(10), X::new(11)),
    msr_celr_c10 = const encoding::msr(CapabilityRegister::CelrEl1, C::new(10)),
    mrs_c9_celr = const encoding::mrs(C::new(9), CapabilityRegister::CelrEl1),
    str_c9_x11 = const encoding::str_capability(C::new(9), X::new(11), 0),
    msr_celr_c9 = const encoding::msr(CapabilityRegister::CelrEl1, C::new(9)),
    ldr_c12_x12 = const encoding::ldr_capability(C::new(12), X::new(12), 0),
    scvalue_c12_c12_x9 = const encoding::scvalue(C::new(12), C::new(12), X::new(9)),
    msr_celr_c12 = const encoding::msr(CapabilityRegister::CelrEl1, C::new(12)),
    scvalue_c9_c9_x10 = const encoding::scvalue(C::new(9), C::new(9), X::new(10)),
    mrs_c9_ddc_el0 = const encoding::mrs(C::new(9), CapabilityRegister::DdcEl0),
    scvalue_c10_c9_x2 = const encoding::scvalue(C::new(10), C::new(9), X::new(2)),
    scvalue_c10_c9_x0 = const encoding::scvalue(C::new(10), C::new(9), X::new(0)),
    ldrb_w11_c10 = const encoding::ldrb_alternate_base(X::new(11), C::new(10), 0),
    scvalue_c9_c9_x1 = const encoding::scvalue(C::new(9), C::new(9), X::new(1)),
    ldrb_w11_c9 = const encoding::ldrb_alternate_base(X::new(11), C::new(9), 0),
    add_c9_c9_1 = const encoding::add_immediate(C::new(9), C::new(9), 1),
    scvalue_c12_c9_x3 = const encoding::scvalue(C::new(12), C::new(9), X::new(3)),
    msr_ctpidr_el0_c12 = const encoding::msr(CapabilityRegister::CtpidrEl0, C::new(12)),
    cvtp_c9_x1 = const encoding::cvtp_from_address(C::new(9), X::new(1)),
    scbnds_c9_c9_x2 = const encoding::scbnds(C::new(9), C::new(9), X::new(2)),
    scvalue_c9_c9_x3 = const encoding::scvalue(C::new(9), C::new(9), X::new(3)),
    seal_c9_c9_rb = const encoding::seal_immediate(C::new(9), C::new(9), SealForm::RestrictedBranch),
    str_c9_x0 = const encoding::str_capability(C::new(9), X::new(0), 0),
    clrperm_c9_c9_x11 = const encoding::clrperm(C::new(9), C::new(9), X::new(11)),
    mrs_c9_ctpidr_el0 = const encoding::mrs(C::new(9), CapabilityRegister::CtpidrEl0),
    scvalue_c9_c9_x0 = const encoding::scvalue(C::new(9), C::new(9), X::new(0)),
    strb_w11_c9 = const encoding::strb_alternate_base(X::new(11), C::new(9), 0),
    msr_ctpidr_el0_c9 = const encoding::msr(CapabilityRegister::CtpidrEl0, C::new(9)),
    msr_ctpidrro_el0_czr = const encoding::msr(CapabilityRegister::CtpidrroEl0, C::CZR),
    msr_rctpidr_el0_czr = const encoding::msr(CapabilityRegister::RctpidrEl0, C::CZR),
    msr_rcsp_el0_czr = const encoding::msr(CapabilityRegister::RcspEl0, C::CZR),
    msr_cid_el0_czr = const encoding::msr(CapabilityRegister::CidEl0, C::CZR),
);

/// Permissions a cVM's DDC loses: Execute, System, Seal, Unseal, CompartmentID,
/// BranchSealedPair, Executive (FACTS §1.3).
const DATA_CLEAR: u32 = 0x8000 | 0x200 | 0x800 | 0x400 | 0x80 | 0x100 | 0x2;
/// Permissions a cVM's PCC loses: Store, StoreCap, StoreLocalCap, System, Seal, Unseal,
/// CompartmentID, BranchSealedPair. It keeps Executive, so the cVM uses DDC_EL0.
const CODE_CLEAR: u32 = 0x10000 | 0x2000 | 0x1000 | 0x200 | 0x800 | 0x400 | 0x80 | 0x100;
