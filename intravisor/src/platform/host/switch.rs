//! Entering a cVM, the hostcall trampoline, and coming back.
//!
//! `run_thread` saves the intravisor's callee-saved registers and floating-point
//! control state on its own stack, records that stack pointer in a [`SwitchContext`],
//! and jumps to the thread's entry point on the cVM's stack. The thread comes back in
//! one of three ways:
//!
//! - a hostcall: the trampoline saves the cVM's callee-saved state on the cVM stack,
//!   switches to the intravisor stack below `run_thread`'s frame, and calls the
//!   handler; unless the thread must leave, it switches back and returns to the cVM;
//! - its entry function returns;
//! - a fault, or a stop of its cVM: the signal handler (`signals`) rewrites the
//!   interrupted context so that the thread resumes in `resume_host` on the intravisor
//!   stack.
//!
//! The context is found by thread id (`threads`), registered only while `run_thread`
//! runs: no thread-local can be read while the thread pointer may be the cVM's. On
//! x86-64 a cVM may set its C library's thread pointer (`SetThreadPointer`, or when it
//! starts a thread); from then on the `fs` base is switched on every entry and hostcall
//! and when the thread leaves. A cVM's threads make a [`Group`] (`group`).

use core::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use super::group::Group;
use super::signals::{self, Fault};

/// What a hostcall handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostcallOutcome {
    /// Return this value to the cVM.
    Return(i64),
    /// End the whole cVM with this status; do not return to it.
    Exit(i32),
    /// End the calling thread only; do not return to it.
    ExitThread,
    /// Start another thread of the cVM (checked by the handler); return its id.
    StartThread(ThreadStart),
    /// Wait on a futex word (checked by the handler: aligned, inside the cVM).
    FutexWait {
        /// The word's address.
        address: u64,
        /// The value it must hold for the thread to sleep.
        expected: u32,
        /// How long at most; `None`: until woken.
        timeout: Option<Duration>,
    },
    /// The word to clear and wake when the calling thread ends (checked by the handler:
    /// 0, or aligned and writable by the cVM); return the thread's id.
    SetClearAddress(u64),
    /// Set the calling thread's C library thread pointer (checked by the handler: an
    /// address of the cVM's own memory); return 0.
    SetThreadPointer(u64),
    /// Wake threads waiting on a futex word (checked by the handler).
    FutexWake {
        /// The word's address.
        address: u64,
        /// How many at most.
        count: u32,
    },
}

/// A thread a cVM asked for, its addresses checked against the cVM's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadStart {
    /// Executable code of the cVM where the thread starts.
    pub entry: u64,
    /// The 16-byte-aligned top of its stack, writable by the cVM.
    pub stack_top: u64,
    /// The entry function's first argument.
    pub argument: u64,
    /// The C library's thread pointer for it (0: none).
    pub thread_pointer: u64,
    /// A writable, aligned 32-bit word cleared and woken when the thread ends (0: none).
    pub clear_address: u64,
}

/// The intravisor side of one cVM's hostcalls, shared by all its threads.
pub trait HostcallHandler: Sync {
    /// Handles hostcall `number` with its five raw arguments.
    fn hostcall(&self, number: u64, arguments: [u64; 5]) -> HostcallOutcome;
}

/// Why a cVM stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvmStop {
    /// A thread made the exit hostcall with this status, or the last thread ended (0).
    Exited(i32),
    /// Its first thread's entry function returned this value instead of exiting.
    Returned(u64),
    /// One of its threads faulted.
    Faulted(Fault),
    /// The hostcall handler panicked: a bug in the intravisor, reported as such.
    HandlerPanicked,
    /// The kernel ended its process at a limit it holds.
    Killed(Limit),
}

/// A limit the kernel holds for a cVM's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Its processor time, in seconds.
    CpuSeconds(u64),
    /// Its memory cgroup's limit, in bytes.
    Memory(u64),
    /// Another kill by the kernel, with this signal.
    Signal(i32),
}

impl core::fmt::Display for Limit {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::CpuSeconds(seconds) => {
                write!(formatter, "its processor time limit ({seconds} s, isolation.cpu_seconds)")
            }
            Self::Memory(bytes) => write!(formatter, "its memory limit ({bytes:#x} bytes)"),
            Self::Signal(signal) => write!(formatter, "a kill by the kernel (signal {signal})"),
        }
    }
}

/// How one thread of a cVM ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ThreadEnd {
    /// It ended the whole cVM: exit, fault, handler panic, or (first thread) a return.
    Cvm(CvmStop),
    /// It ended only itself (`ExitThread`, or a later thread's entry returned).
    Thread,
    /// Its cVM was stopped by another thread.
    Stopped,
}

const REASON_EXITED: u64 = 1;
const REASON_RETURNED: u64 = 2;
const REASON_FAULTED: u64 = 3;

/// State shared between `run_thread`, the assembly, the signal handler and the
/// hostcall dispatcher. The first fields are read and written by the assembly at fixed
/// offsets.
#[repr(C)]
pub(super) struct SwitchContext {
    /// The intravisor's stack pointer inside `intravisor_cvm_enter`'s frame.
    host_stack: u64,
    /// The cVM's stack pointer while a hostcall is handled.
    cvm_stack: u64,
    /// 1 while the thread runs cVM code (a fault or a stop then belongs to the cVM).
    pub(super) in_cvm: u64,
    /// Set by the dispatcher when the thread must not be resumed.
    leaving: u64,
    /// The value the entry function returned, or the exit status.
    exit_value: u64,
    /// AArch64: the cVM's TPIDR_EL0 while its code runs. For the first thread at first
    /// its CLS table's address minus 8 (the table's first word is its own address, so
    /// the word at TPIDR_EL0 + 8 is the table's, as cvm-libos reads it); then its C
    /// library's thread pointer, whose second word cvm-libos points at the table.
    cls_table: u64,
    /// The intravisor's own thread pointer: glibc's TPIDR_EL0 on AArch64, its `fs`
    /// base on x86-64.
    host_thread_pointer: u64,
    /// x86-64: the `fs` base the cVM's C library asked for, or 0 while it has asked for
    /// none (then `fs` is never switched).
    cvm_thread_pointer: u64,
    /// What ended the thread, written by the signal handler: a fault, or a stop.
    pub(super) fault: Option<Fault>,
    /// Set by the signal handler when the cVM's stop sent the thread back.
    pub(super) stopped: bool,
    /// Set when the handler panicked.
    handler_panicked: bool,
    /// Set when the thread asked to end only itself.
    thread_exited: bool,
    /// The thread's id inside its cVM.
    thread_id: u64,
    /// The word cleared and woken when the thread ends (0: none).
    clear_address: u64,
    group: *const Group,
}

/// Where a thread of a cVM starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ThreadSeed {
    pub(super) entry: u64,
    pub(super) stack_top: u64,
    pub(super) argument: u64,
    /// The C library's thread pointer (0: none yet).
    pub(super) thread_pointer: u64,
    pub(super) thread_id: u64,
    /// Checked by the handler: 0, or an aligned word the cVM may write.
    pub(super) clear_address: u64,
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

/// The value `resume_host` returns for a fault or a stop.
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
    // `run_thread` keeps alive and exclusively this thread's for the whole run; its
    // group outlives every thread of the cVM (`Group::finish` joins them).
    let context = unsafe { &mut *context };
    // SAFETY: as above.
    let group = unsafe { &*context.group };
    let value = match abi::Hostcall::from_number(number) {
        Some(abi::Hostcall::ThreadId) => context.thread_id as i64,
        _ => {
            match catch_unwind(AssertUnwindSafe(|| group.handler().hostcall(number, [a0, a1, a2, a3, a4]))) {
                Ok(HostcallOutcome::Return(value)) => value,
                Ok(HostcallOutcome::SetThreadPointer(value)) => {
                    // Checked by the handler: memory of the cVM. Only ever loaded into
                    // this thread's `fs` (x86-64) or TPIDR_EL0 (AArch64) while the
                    // cVM's code runs; the intravisor never reads through it.
                    if cfg!(target_arch = "x86_64") {
                        context.cvm_thread_pointer = value;
                    } else {
                        context.cls_table = value;
                    }
                    0
                }
                Ok(HostcallOutcome::Exit(status)) => {
                    context.leaving = 1;
                    context.exit_value = status as u32 as u64;
                    0
                }
                Ok(HostcallOutcome::ExitThread) => {
                    context.leaving = 1;
                    context.thread_exited = true;
                    0
                }
                Ok(HostcallOutcome::StartThread(start)) => group.start(start),
                Ok(HostcallOutcome::FutexWait { address, expected, timeout }) => {
                    group.futex_wait(address, expected, timeout)
                }
                Ok(HostcallOutcome::FutexWake { address, count }) => group.futex_wake(address, count),
                Ok(HostcallOutcome::SetClearAddress(address)) => {
                    context.clear_address = address;
                    context.thread_id as i64
                }
                Err(_) => {
                    context.leaving = 1;
                    context.handler_panicked = true;
                    0
                }
            }
        }
    };
    if group.stopping() && context.leaving == 0 {
        context.leaving = 1;
        context.stopped = true;
    }
    value
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

/// Runs a cVM until it exits or faults: its first thread on the calling thread, the
/// threads it starts on threads of their own, all joined before this returns. Returns
/// why it stopped and how many threads it ran.
///
/// # Safety
/// `start.entry` is the entry point of a program the intravisor loaded, with every page
/// the cVM uses mapped with its final protections; `start.stack_top` is the
/// 16-byte-aligned top of a writable stack inside its region; `start.argument` is the
/// address of its boot block and `start.cls_table` that of its CLS table; the region
/// stays mapped until this returns. The isolation obligation is the caller's:
/// everything the cVM can reach through the hostcall handler is checked there against
/// the cVM's capabilities.
pub unsafe fn run_cvm(start: CvmEntry, handler: &(dyn HostcallHandler + '_)) -> (CvmStop, u64) {
    let CvmEntry { entry, stack_top, argument, cls_table } = start;
    signals::install();
    // SAFETY: `finish` joins every thread of the group before this returns, so the
    // handler, borrowed for this call, outlives every use of it.
    let group = unsafe { Group::new(handler, cls_table) };
    let seed = ThreadSeed { entry, stack_top, argument, thread_pointer: 0, thread_id: 1, clear_address: 0 };
    // SAFETY: the caller's guarantees for the first thread; the group lives on this
    // frame until `finish` has joined every other thread.
    let first = unsafe { run_thread(&group, seed, true) };
    (group.finish(first), group.thread_count())
}

/// Runs one thread of a cVM on the calling thread until it leaves. Returns how it
/// ended and the word to clear for it (0: none).
///
/// # Safety
/// `seed` names executable code of the cVM and the top of a writable stack of its
/// region, checked by the hostcall handler for threads the cVM starts; the group is the
/// cVM's and outlives this call.
pub(super) unsafe fn run_thread(group: &Group, seed: ThreadSeed, first: bool) -> (ThreadEnd, u64) {
    let cls_table = group.cls_table();
    let mut context = SwitchContext {
        host_stack: 0,
        cvm_stack: 0,
        in_cvm: 0,
        leaving: 0,
        exit_value: 0,
        cls_table: if seed.thread_pointer != 0 && cfg!(target_arch = "aarch64") {
            seed.thread_pointer
        } else {
            cls_table.wrapping_sub(8)
        },
        host_thread_pointer: host_thread_pointer(),
        cvm_thread_pointer: if cfg!(target_arch = "x86_64") { seed.thread_pointer } else { 0 },
        fault: None,
        stopped: false,
        handler_panicked: false,
        thread_exited: false,
        thread_id: seed.thread_id,
        clear_address: seed.clear_address,
        group,
    };
    let alternate_stack = signals::AlternateStack::install();
    set_thread_register(cls_table);
    let registration = threads::register(&mut context);
    let reason = if group.stopping() {
        REASON_EXITED
    } else {
        // SAFETY: the caller guarantees entry and stack; the context lives on this
        // frame for the whole run and is reachable by the trampoline and the signal
        // handler only through this thread's registration.
        unsafe { intravisor_cvm_enter(&mut context, seed.entry, seed.stack_top, seed.argument) }
    };
    threads::unregister(registration);
    set_thread_register(0);
    drop(alternate_stack);
    let end = match reason {
        _ if context.stopped || (reason == REASON_EXITED && context.leaving == 0) => ThreadEnd::Stopped,
        REASON_EXITED if context.handler_panicked => ThreadEnd::Cvm(CvmStop::HandlerPanicked),
        REASON_EXITED if context.thread_exited => ThreadEnd::Thread,
        REASON_EXITED => ThreadEnd::Cvm(CvmStop::Exited(context.exit_value as u32 as i32)),
        REASON_RETURNED if first => ThreadEnd::Cvm(CvmStop::Returned(context.exit_value)),
        REASON_RETURNED => ThreadEnd::Thread,
        _ => match context.fault {
            Some(fault) => ThreadEnd::Cvm(CvmStop::Faulted(fault)),
            None => ThreadEnd::Stopped,
        },
    };
    (end, context.clear_address)
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
    // A thread the cVM started begins with its C library's fs base.
    "cmp qword ptr [rdi + {cvm_thread_pointer}], 0",
    "je 6f",
    "mov rbx, rdi",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov r14, rcx",
    "mov rsi, [rdi + {cvm_thread_pointer}]",
    "call intravisor_set_fs",
    "mov rdi, rbx",
    "mov rsi, r12",
    "mov rdx, r13",
    "mov rcx, r14",
    "6:",
    "mov qword ptr [rdi + {in_cvm}], 1",
    "mov rsp, rdx",
    "mov rax, rsi",
    "mov rdi, rcx",
    // No intravisor value stays in a register the cVM can read.
    "xor ebp, ebp",
    "xor ebx, ebx",
    "xor esi, esi",
    "xor edx, edx",
    "xor ecx, ecx",
    "xor r8d, r8d",
    "xor r9d, r9d",
    "xor r10d, r10d",
    "xor r11d, r11d",
    "xor r12d, r12d",
    "xor r13d, r13d",
    "xor r14d, r14d",
    "xor r15d, r15d",
    "call rax",
    // The entry function returned instead of exiting, with whatever flags it left.
    "pushfq",
    "and qword ptr [rsp], {clear_flags}",
    "popfq",
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
    // The cVM's flags are not the intravisor's: alignment checking (AC), single
    // stepping (TF) and the string direction (DF) are cleared before anything else.
    "pushfq",
    "and qword ptr [rsp], {clear_flags}",
    "popfq",
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
    clear_flags = const !super::signals::CVM_ONLY_FLAGS as i32,
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
    "mov x16, x1",
    // No intravisor value stays in a register the cVM can read.
    "mov x1, xzr",
    "mov x2, xzr",
    "mov x3, xzr",
    "mov x9, xzr",
    "mov x19, xzr",
    "mov x20, xzr",
    "mov x21, xzr",
    "mov x22, xzr",
    "mov x23, xzr",
    "mov x24, xzr",
    "mov x25, xzr",
    "mov x26, xzr",
    "mov x27, xzr",
    "mov x28, xzr",
    "mov x29, xzr",
    "mov x30, xzr",
    "blr x16",
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
