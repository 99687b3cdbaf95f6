//! Entering a cVM, the hostcall trampoline, and coming back.
//!
//! `run_cvm` saves the intravisor's callee-saved registers and floating-point control
//! state on its own stack, records that stack pointer in a [`SwitchContext`], and jumps
//! to the cVM's entry point on the cVM's stack. The cVM comes back in one of three ways:
//!
//! - a hostcall: the trampoline saves the cVM's callee-saved state on the cVM stack,
//!   switches to the intravisor stack below `run_cvm`'s frame, and calls the handler;
//!   unless the handler says the cVM exits, it switches back and returns to the cVM;
//! - its entry function returns: treated as an exit with the returned value;
//! - a fault: the signal handler (`signals`) rewrites the interrupted context so that
//!   the thread resumes in `resume_host` on the intravisor stack.
//!
//! The context is found by thread id (`threads`), registered only while `run_cvm` runs:
//! no thread-local can be read while the thread pointer may be the cVM's. On x86-64 a
//! cVM may set its C library's thread pointer (`SetThreadPointer`); from then on the
//! `fs` base is switched on every hostcall entry and return and when the cVM ends.

use core::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::signals::{self, Fault};

/// Why a hostcall handler was called and what it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostcallOutcome {
    /// Return this value to the cVM.
    Return(i64),
    /// End the cVM with this status; do not return to it.
    Exit(i32),
}

/// The intravisor side of one cVM's hostcalls.
pub trait HostcallHandler {
    /// Handles hostcall `number` with its five raw arguments.
    fn hostcall(&mut self, number: u64, arguments: [u64; 5]) -> HostcallOutcome;
}

/// Why a cVM stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvmStop {
    /// It made the exit hostcall with this status.
    Exited(i32),
    /// Its entry function returned this value instead of exiting.
    Returned(u64),
    /// It faulted.
    Faulted(Fault),
    /// The hostcall handler panicked: a bug in the intravisor, reported as such.
    HandlerPanicked,
}

const REASON_EXITED: u64 = 1;
const REASON_RETURNED: u64 = 2;
const REASON_FAULTED: u64 = 3;

/// State shared between `run_cvm`, the assembly, the signal handler and the hostcall
/// dispatcher. The first fields are read and written by the assembly at fixed offsets.
#[repr(C)]
pub(super) struct SwitchContext {
    /// The intravisor's stack pointer inside `intravisor_cvm_enter`'s frame.
    host_stack: u64,
    /// The cVM's stack pointer while a hostcall is handled.
    cvm_stack: u64,
    /// 1 while the thread runs cVM code (a fault then belongs to the cVM).
    pub(super) in_cvm: u64,
    /// Set by the dispatcher when the cVM must not be resumed.
    leaving: u64,
    /// The value the entry function returned, or the exit status.
    exit_value: u64,
    /// AArch64: the cVM's TPIDR_EL0 while its code runs. At first its CLS table's
    /// address minus 8 (the table's first word is its own address, so the word at
    /// TPIDR_EL0 + 8 is the table's, as cvm-libos reads it); then its C library's thread
    /// pointer, whose second word cvm-libos points at the table.
    cls_table: u64,
    /// The intravisor's own thread pointer: glibc's TPIDR_EL0 on AArch64, its `fs`
    /// base on x86-64.
    host_thread_pointer: u64,
    /// x86-64: the `fs` base the cVM's C library asked for (`SetThreadPointer`), or 0
    /// while it has asked for none (then `fs` is never switched).
    cvm_thread_pointer: u64,
    /// What ended the cVM, written by the signal handler.
    pub(super) fault: Option<Fault>,
    /// Set when the handler panicked.
    handler_panicked: bool,
    handler: *mut (dyn HostcallHandler + 'static),
}

/// The context of the cVM this thread runs, or null. Called from the assembly (on the
/// cVM's stack, possibly with the cVM's thread pointer) and from the signal handler, so
/// it reads no thread-local: the context is found by thread id (`threads`).
pub(super) extern "C" fn current_context() -> *mut SwitchContext {
    threads::context_by_thread()
}

/// The address of `resume_host`, where the signal handler sends a faulting cVM thread.
pub(super) fn resume_host_address() -> u64 {
    intravisor_cvm_resume_host as *const () as usize as u64
}

/// The value `resume_host` returns for a fault.
pub(super) const FAULT_REASON: u64 = REASON_FAULTED;

extern "C" fn hostcall_dispatch(
    context: *mut SwitchContext,
    number: u64,
    a0: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
) -> i64 {
    // SAFETY: the trampoline passes the context `current_context` returned, which
    // `run_cvm` keeps alive and exclusively ours for the whole run; the handler pointer
    // in it is the `&mut` `run_cvm` was given.
    let context = unsafe { &mut *context };
    if number == abi::Hostcall::SetThreadPointer as u64 {
        // Only ever loaded into this thread's `fs` (x86-64) or TPIDR_EL0 (AArch64) while
        // the cVM's code runs; the intravisor never reads through it.
        if cfg!(target_arch = "x86_64") {
            context.cvm_thread_pointer = a0;
        } else {
            context.cls_table = a0;
        }
        return 0;
    }
    // SAFETY: as above: the handler outlives the run and nothing else borrows it now.
    let handler = unsafe { &mut *context.handler };
    match catch_unwind(AssertUnwindSafe(|| handler.hostcall(number, [a0, a1, a2, a3, a4]))) {
        Ok(HostcallOutcome::Return(value)) => value,
        Ok(HostcallOutcome::Exit(status)) => {
            context.leaving = 1;
            context.exit_value = status as u32 as u64;
            0
        }
        Err(_) => {
            context.leaving = 1;
            context.handler_panicked = true;
            0
        }
    }
}

// The assembly reads and writes only the leading `u64` fields of the context.
#[expect(improper_ctypes, reason = "the assembly touches only the leading u64 fields of SwitchContext")]
extern "C" {
    fn intravisor_cvm_enter(context: *mut SwitchContext, entry: u64, stack_top: u64, argument: u64) -> u64;
    fn intravisor_cvm_resume_host(context: *mut SwitchContext, reason: u64) -> u64;
    fn intravisor_hostcall_entry();
}

/// The address a cVM calls to make a hostcall (written into its boot block).
pub fn hostcall_entry_address() -> u64 {
    intravisor_hostcall_entry as *const () as usize as u64
}

/// Where a cVM starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CvmEntry {
    /// The program's entry point.
    pub entry: u64,
    /// The initial stack pointer.
    pub stack_top: u64,
    /// The first argument: the boot block's address.
    pub argument: u64,
    /// The cVM's CLS table, installed in the thread register.
    pub cls_table: u64,
}

/// Runs a cVM on the calling thread until it exits or faults.
///
/// # Safety
/// `start.entry` is the entry point of a program the intravisor loaded, with every page
/// the cVM uses mapped with its final protections; `start.stack_top` is the
/// 16-byte-aligned top of a writable stack inside its region; `start.argument` is the
/// address of its boot block and `start.cls_table` that of its CLS table. The isolation
/// obligation is the caller's: everything the cVM can reach through the hostcall
/// handler is checked there against the cVM's capabilities.
pub unsafe fn run_cvm(start: CvmEntry, handler: &mut dyn HostcallHandler) -> CvmStop {
    let CvmEntry { entry, stack_top, argument, cls_table } = start;
    // SAFETY: the handler outlives this call, and the context holding this pointer is
    // dropped before we return; the lifetime is erased only to store it.
    let handler: *mut (dyn HostcallHandler + 'static) = unsafe { core::mem::transmute(handler) };
    let mut context = SwitchContext {
        host_stack: 0,
        cvm_stack: 0,
        in_cvm: 0,
        leaving: 0,
        exit_value: 0,
        cls_table: cls_table.wrapping_sub(8),
        host_thread_pointer: host_thread_pointer(),
        cvm_thread_pointer: 0,
        fault: None,
        handler_panicked: false,
        handler,
    };
    signals::install();
    let alternate_stack = signals::AlternateStack::install();
    set_thread_register(cls_table);
    let registration = threads::register(&mut context);
    // SAFETY: the caller guarantees entry, stack and argument; the context lives on
    // this frame for the whole run and is reachable by the trampoline and the signal
    // handler only through this thread's registration.
    let reason = unsafe { intravisor_cvm_enter(&mut context, entry, stack_top, argument) };
    threads::unregister(registration);
    set_thread_register(0);
    drop(alternate_stack);
    match reason {
        REASON_EXITED if context.handler_panicked => CvmStop::HandlerPanicked,
        REASON_EXITED => CvmStop::Exited(context.exit_value as u32 as i32),
        REASON_RETURNED => CvmStop::Returned(context.exit_value),
        _ => match context.fault {
            Some(fault) => CvmStop::Faulted(fault),
            None => CvmStop::HandlerPanicked,
        },
    }
}

/// Points the cVM thread register at the CLS table. On x86-64 that is the `gs` base,
/// which neither the intravisor nor the C library uses; on AArch64 x18 is loaded by the
/// assembly on every entry into cVM code.
#[cfg(target_arch = "x86_64")]
fn set_thread_register(table: u64) {
    const ARCH_SET_GS: libc::c_long = 0x1001;
    // SAFETY: arch_prctl(ARCH_SET_GS) changes only this thread's gs base, which no code
    // of this process but cVM code reads.
    let status = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, table) };
    if status != 0 {
        log::error!("cannot set the gs base for a cVM thread: {}", std::io::Error::last_os_error());
    }
}

/// On AArch64 the table goes in TPIDR_EL0, swapped with glibc's thread pointer by the
/// assembly on every entry into and exit from cVM code.
#[cfg(target_arch = "aarch64")]
fn set_thread_register(_table: u64) {}

/// Whether the kernel lets this process use `rdfsbase`/`wrfsbase` (x86-64,
/// `AT_HWCAP2` bit 1); read by the assembly.
#[cfg(target_arch = "x86_64")]
static FSGSBASE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The intravisor's `fs` base (glibc's thread pointer) on x86-64; TPIDR_EL0 is saved by
/// the assembly on AArch64. Also notes whether `wrfsbase` is allowed.
#[cfg(target_arch = "x86_64")]
fn host_thread_pointer() -> u64 {
    const HWCAP2_FSGSBASE: libc::c_ulong = 1 << 1;
    // SAFETY: getauxval only reads the auxiliary vector.
    let fsgsbase = unsafe { libc::getauxval(libc::AT_HWCAP2) } & HWCAP2_FSGSBASE != 0;
    FSGSBASE.store(fsgsbase, core::sync::atomic::Ordering::Relaxed);
    const ARCH_GET_FS: libc::c_long = 0x1003;
    let mut base: u64 = 0;
    // SAFETY: arch_prctl(ARCH_GET_FS) writes this thread's fs base to `base`.
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_GET_FS, &mut base as *mut u64) };
    base
}

#[cfg(target_arch = "aarch64")]
fn host_thread_pointer() -> u64 {
    0
}

/// While cVM code runs, the thread pointer may be the cVM's (TPIDR_EL0 holds its CLS
/// table on AArch64; on x86-64 `fs` holds its C library's thread pointer once it set
/// one), so thread-locals cannot be read then: the trampoline and the fault handler
/// find the switch context by thread id in this registry instead.
pub(super) mod threads {
    use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

    use super::SwitchContext;

    const SLOTS: usize = 1024;
    static THREADS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
    static CONTEXTS: [AtomicPtr<SwitchContext>; SLOTS] =
        [const { AtomicPtr::new(core::ptr::null_mut()) }; SLOTS];

    /// This thread's id, by a raw system call (no libc, no thread-local).
    #[cfg(target_arch = "aarch64")]
    fn thread_id() -> u64 {
        let id: u64;
        // SAFETY: gettid (178 on AArch64) has no arguments and no side effects.
        unsafe { core::arch::asm!("svc #0", in("x8") 178u64, lateout("x0") id, options(nostack)) };
        id
    }

    /// This thread's id, by a raw system call (no libc, no thread-local).
    #[cfg(target_arch = "x86_64")]
    fn thread_id() -> u64 {
        let id: u64;
        // SAFETY: gettid (186 on x86-64) has no arguments and no side effects; the
        // instruction clobbers rcx and r11.
        unsafe {
            core::arch::asm!("syscall", inlateout("rax") 186u64 => id, lateout("rcx") _, lateout("r11") _, options(nostack))
        };
        id
    }

    /// Records `context` as this thread's; returns the slot.
    pub(in super::super) fn register(context: *mut SwitchContext) -> usize {
        let id = thread_id();
        for (slot, thread) in THREADS.iter().enumerate() {
            if thread.compare_exchange(0, id, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                CONTEXTS[slot].store(context, Ordering::Release);
                return slot;
            }
        }
        usize::MAX
    }

    /// Forgets a registration.
    pub(in super::super) fn unregister(slot: usize) {
        if slot < SLOTS {
            CONTEXTS[slot].store(core::ptr::null_mut(), Ordering::Release);
            THREADS[slot].store(0, Ordering::Release);
        }
    }

    /// This thread's switch context, or null; reads no thread-local.
    pub(in super::super) extern "C" fn context_by_thread() -> *mut SwitchContext {
        let id = thread_id();
        THREADS
            .iter()
            .position(|thread| thread.load(Ordering::Acquire) == id)
            .map_or(core::ptr::null_mut(), |slot| CONTEXTS[slot].load(Ordering::Acquire))
    }
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".text",
    // u64 intravisor_cvm_enter(context: rdi, entry: rsi, stack_top: rdx, argument: rcx)
    ".globl intravisor_cvm_enter",
    ".p2align 4",
    "intravisor_cvm_enter:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "stmxcsr [rsp]",
    "fnstcw [rsp + 4]",
    "mov [rdi + {host_stack}], rsp",
    "mov qword ptr [rdi + {in_cvm}], 1",
    "mov rsp, rdx",
    "mov rdi, rcx",
    "xor ebp, ebp",
    "call rsi",
    // The entry function returned instead of exiting.
    "mov rbx, rax",
    "call {current}",
    "mov [rax + {exit_value}], rbx",
    "mov rdi, rax",
    "mov esi, {returned}",
    "jmp intravisor_cvm_resume_host",
    // u64 intravisor_cvm_resume_host(context: rdi, reason: rsi)
    ".globl intravisor_cvm_resume_host",
    ".p2align 4",
    "intravisor_cvm_resume_host:",
    "mov qword ptr [rdi + {in_cvm}], 0",
    "mov rsp, [rdi + {host_stack}]",
    // Give the intravisor its own fs base back if the cVM set one.
    "cmp qword ptr [rdi + {cvm_thread_pointer}], 0",
    "je 9f",
    "mov r12, rsi",
    "mov rsi, [rdi + {host_thread_pointer}]",
    "call intravisor_set_fs",
    "mov rsi, r12",
    "9:",
    "cld",
    "ldmxcsr [rsp]",
    "fldcw [rsp + 4]",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "mov rax, rsi",
    "ret",
    // i64 intravisor_hostcall_entry(number: rdi, a0: rsi, a1: rdx, a2: rcx, a3: r8, a4: r9)
    ".globl intravisor_hostcall_entry",
    ".p2align 4",
    "intravisor_hostcall_entry:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "stmxcsr [rsp]",
    "fnstcw [rsp + 4]",
    "mov rbx, rdi",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov r14, rcx",
    "mov r15, r8",
    "mov rbp, r9",
    "call {current}",
    // The intravisor's fs base back, if the cVM set its own.
    "cmp qword ptr [rax + {cvm_thread_pointer}], 0",
    "je 7f",
    "push rax",
    "mov rsi, [rax + {host_thread_pointer}]",
    "call intravisor_set_fs",
    "pop rax",
    "7:",
    "mov qword ptr [rax + {in_cvm}], 0",
    "mov [rax + {cvm_stack}], rsp",
    "mov rsp, [rax + {host_stack}]",
    "cld",
    "ldmxcsr [rsp]",
    "fldcw [rsp + 4]",
    "mov rdi, rax",
    "mov rsi, rbx",
    "mov rbx, rax",
    "mov rdx, r12",
    "mov rcx, r13",
    "mov r8, r14",
    "mov r9, r15",
    "sub rsp, 8",
    "push rbp",
    "call {dispatch}",
    "add rsp, 16",
    "cmp qword ptr [rbx + {leaving}], 0",
    "jne .Lintravisor_hostcall_leave",
    // The cVM's fs base again, if it set one.
    "cmp qword ptr [rbx + {cvm_thread_pointer}], 0",
    "je 8f",
    "mov r12, rax",
    "mov rsi, [rbx + {cvm_thread_pointer}]",
    "call intravisor_set_fs",
    "mov rax, r12",
    "8:",
    "mov qword ptr [rbx + {in_cvm}], 1",
    "mov rsp, [rbx + {cvm_stack}]",
    "ldmxcsr [rsp]",
    "fldcw [rsp + 4]",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".Lintravisor_hostcall_leave:",
    "mov rdi, rbx",
    "mov esi, {exited}",
    "jmp intravisor_cvm_resume_host",
    // intravisor_set_fs(base: rsi): sets this thread's fs base; clobbers rax, rcx, rdi,
    // r11. wrfsbase where the kernel enables it, else arch_prctl(ARCH_SET_FS).
    ".p2align 4",
    "intravisor_set_fs:",
    "cmp byte ptr [rip + {fsgsbase}], 0",
    "je 1f",
    "wrfsbase rsi",
    "ret",
    "1:",
    "mov eax, 158",
    "mov edi, 0x1002",
    "syscall",
    "ret",
    fsgsbase = sym FSGSBASE,
    cvm_thread_pointer = const offset_of!(SwitchContext, cvm_thread_pointer),
    host_thread_pointer = const offset_of!(SwitchContext, host_thread_pointer),
    host_stack = const offset_of!(SwitchContext, host_stack),
    cvm_stack = const offset_of!(SwitchContext, cvm_stack),
    in_cvm = const offset_of!(SwitchContext, in_cvm),
    leaving = const offset_of!(SwitchContext, leaving),
    exit_value = const offset_of!(SwitchContext, exit_value),
    returned = const REASON_RETURNED,
    exited = const REASON_EXITED,
    current = sym current_context,
    dispatch = sym hostcall_dispatch,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".text",
    // Saves x19..x30, d8..d15 and FPCR in a 176-byte frame at sp.
    ".macro intravisor_save_callee",
    "sub sp, sp, #176",
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
    "mrs x9, fpcr",
    "str x9, [sp, #160]",
    ".endm",
    ".macro intravisor_restore_callee",
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
    "ldr x9, [sp, #160]",
    "msr fpcr, x9",
    "add sp, sp, #176",
    ".endm",
    // u64 intravisor_cvm_enter(context: x0, entry: x1, stack_top: x2, argument: x3)
    ".globl intravisor_cvm_enter",
    ".p2align 4",
    "intravisor_cvm_enter:",
    "intravisor_save_callee",
    "mov x9, sp",
    "str x9, [x0, #{host_stack}]",
    "mov x9, #1",
    "str x9, [x0, #{in_cvm}]",
    "mrs x9, tpidr_el0",
    "str x9, [x0, #{host_thread_pointer}]",
    "ldr x9, [x0, #{cls_table}]",
    "msr tpidr_el0, x9",
    "mov sp, x2",
    "mov x0, x3",
    "mov x29, xzr",
    "mov x30, xzr",
    "blr x1",
    // The entry function returned instead of exiting.
    "mov x19, x0",
    "bl {current_by_thread}",
    "str x19, [x0, #{exit_value}]",
    "mov x1, #{returned}",
    "b intravisor_cvm_resume_host",
    // u64 intravisor_cvm_resume_host(context: x0, reason: x1)
    ".globl intravisor_cvm_resume_host",
    ".p2align 4",
    "intravisor_cvm_resume_host:",
    "str xzr, [x0, #{in_cvm}]",
    "ldr x9, [x0, #{host_thread_pointer}]",
    "msr tpidr_el0, x9",
    "ldr x9, [x0, #{host_stack}]",
    "mov sp, x9",
    "intravisor_restore_callee",
    "mov x0, x1",
    "ret",
    // i64 intravisor_hostcall_entry(number: x0, a0..a4: x1..x5)
    ".globl intravisor_hostcall_entry",
    ".p2align 4",
    "intravisor_hostcall_entry:",
    "intravisor_save_callee",
    "mov x19, x0",
    "mov x20, x1",
    "mov x21, x2",
    "mov x22, x3",
    "mov x23, x4",
    "mov x24, x5",
    "bl {current_by_thread}",
    "mov x25, x0",
    "str xzr, [x25, #{in_cvm}]",
    "ldr x9, [x25, #{host_thread_pointer}]",
    "msr tpidr_el0, x9",
    "mov x9, sp",
    "str x9, [x25, #{cvm_stack}]",
    "ldr x9, [x25, #{host_stack}]",
    "ldr x10, [x9, #160]",
    "msr fpcr, x10",
    "mov sp, x9",
    "mov x0, x25",
    "mov x1, x19",
    "mov x2, x20",
    "mov x3, x21",
    "mov x4, x22",
    "mov x5, x23",
    "mov x6, x24",
    "bl {dispatch}",
    "ldr x9, [x25, #{leaving}]",
    "cbnz x9, .Lintravisor_hostcall_leave",
    "mov x9, #1",
    "str x9, [x25, #{in_cvm}]",
    "ldr x9, [x25, #{cls_table}]",
    "msr tpidr_el0, x9",
    "ldr x9, [x25, #{cvm_stack}]",
    "mov sp, x9",
    "intravisor_restore_callee",
    "ret",
    ".Lintravisor_hostcall_leave:",
    "mov x0, x25",
    "mov x1, #{exited}",
    "b intravisor_cvm_resume_host",
    host_stack = const offset_of!(SwitchContext, host_stack),
    cvm_stack = const offset_of!(SwitchContext, cvm_stack),
    in_cvm = const offset_of!(SwitchContext, in_cvm),
    leaving = const offset_of!(SwitchContext, leaving),
    exit_value = const offset_of!(SwitchContext, exit_value),
    cls_table = const offset_of!(SwitchContext, cls_table),
    host_thread_pointer = const offset_of!(SwitchContext, host_thread_pointer),
    returned = const REASON_RETURNED,
    exited = const REASON_EXITED,
    current_by_thread = sym threads::context_by_thread,
    dispatch = sym hostcall_dispatch,
);

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("the host platform switches into cVMs on x86-64 and AArch64 only");
