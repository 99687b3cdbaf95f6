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
//! and when the thread leaves. A cVM's threads make a [`Group`] (`group`). The assembly
//! is in `x86_64` and `aarch64`; the registry of contexts by thread id in `threads`.

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub(super) mod threads;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::group::Group;
use super::signals::{self, Fault};

pub use crate::hostcall::{HostcallOutcome, ThreadStart};

/// The intravisor side of one cVM's hostcalls, shared by all its threads.
pub trait HostcallHandler: Sync {
    /// Handles hostcall `number` with its five raw arguments.
    fn hostcall(&self, number: u64, arguments: [u64; 5]) -> HostcallOutcome;

    /// Runs `write` (the platform's own write into the cVM's pages `[start, start +
    /// length)`) once those pages are the cVM's own again where run-time sharing merged
    /// them.
    fn with_own_pages(&self, _start: u64, _length: u64, write: &mut dyn FnMut()) {
        write();
    }

    /// The most threads the cVM may have at once, its first included (the platform's
    /// own limit, 64, caps it).
    fn thread_limit(&self) -> usize {
        64
    }

    /// Read-only descriptors of the cVM's granted regular files, each with its index
    /// among the grants, at most `most`: a platform that runs the cVM in a process of its
    /// own hands them to it, to read them without a round trip (none by default).
    fn regular_grants(&self, _most: usize) -> Vec<(usize, std::os::fd::OwnedFd)> {
        Vec::new()
    }

    /// The index among the cVM's grants of the file it has open as `handle`, if that is
    /// a granted input.
    fn grant_read_by(&self, _handle: u64) -> Option<usize> {
        None
    }
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
    /// The time it may run, in seconds.
    WallSeconds(u64),
    /// Its operator asked for it to end (a node's `kill`), with this signal.
    Operator(i32),
}

impl core::fmt::Display for Limit {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::CpuSeconds(seconds) => {
                write!(formatter, "its processor time limit ({seconds} s, isolation.cpu_seconds)")
            }
            Self::Memory(bytes) => write!(formatter, "its memory limit ({bytes:#x} bytes)"),
            Self::Signal(signal) => write!(formatter, "a kill by the kernel (signal {signal})"),
            Self::WallSeconds(seconds) => {
                write!(formatter, "its wall time limit ({seconds} s, isolation.wall_seconds)")
            }
            Self::Operator(signal) => write!(formatter, "its operator's request (signal {signal})"),
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
                // The services turn a write past a limit into an exit, and report it.
                Ok(HostcallOutcome::OverLimit(_)) => {
                    context.leaving = 1;
                    context.exit_value = u64::from(u32::MAX);
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
                Ok(HostcallOutcome::ThreadId) => context.thread_id as i64,
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

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("the host platform switches into cVMs on x86-64 and AArch64 only");
