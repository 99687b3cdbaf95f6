//! Faults on a cVM's thread, turned into values, and the signal that stops a thread.
//!
//! One process-wide handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP. When the
//! faulting thread is running cVM code (its switch context says so), the handler
//! records the fault and rewrites the interrupted register state so that the thread
//! resumes in `resume_host` on the intravisor's stack: the cVM ends, the thread and
//! the intravisor go on. Any other fault is the intravisor's own and goes to the
//! handler that was installed before ours (Rust's stack-overflow reporter) or to the
//! default action.
//!
//! [`stop_signal`] is sent to the other threads of a cVM that is ending (`group`): one
//! running cVM code is sent back to `resume_host` the same way; one in the intravisor
//! is left alone (it leaves when its hostcall returns), and a wait it is in ends early.
//!
//! Each cVM thread runs with its own alternate signal stack, so a cVM that overflows
//! its stack still gets a handler to report it.

use std::sync::OnceLock;

use super::switch::current_context;
use super::switch::{resume_host_address, FAULT_REASON};

/// A fault that ended a cVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// The signal number.
    pub signal: i32,
    /// `si_code`.
    pub code: i32,
    /// The faulting data address (`si_addr`).
    pub address: u64,
    /// The program counter of the faulting instruction.
    pub program_counter: u64,
}

impl Fault {
    /// What happened, in words.
    pub fn cause(&self) -> &'static str {
        match (self.signal, self.code) {
            (libc::SIGSEGV, SEGV_MAPERR) => "segmentation fault: address not mapped",
            (libc::SIGSEGV, SEGV_ACCERR) => "segmentation fault: access not permitted",
            (libc::SIGSEGV, _) => "segmentation fault",
            (libc::SIGBUS, _) => "bus error",
            (libc::SIGILL, _) => "illegal instruction",
            (libc::SIGFPE, _) => "arithmetic exception",
            (libc::SIGTRAP, _) => "breakpoint trap",
            (libc::SIGSYS, _) => "forbidden system call",
            (libc::SIGKILL, _) => "killed by the kernel",
            (libc::SIGXCPU, _) => "CPU time limit reached",
            _ => "fault",
        }
    }
}

/// `si_code` of SIGSEGV: no mapping at the address.
const SEGV_MAPERR: i32 = 1;
/// `si_code` of SIGSEGV: the mapping forbids the access.
const SEGV_ACCERR: i32 = 2;

const SIGNALS: [libc::c_int; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP];

/// The handlers in place before ours, one per entry of `SIGNALS`.
static PREVIOUS: OnceLock<[libc::sigaction; 5]> = OnceLock::new();

/// The real-time signal that stops a thread of an ending cVM.
pub(super) fn stop_signal() -> libc::c_int {
    libc::SIGRTMIN() + 3
}

/// Installs the fault handler and the stop handler once for the process.
pub(super) fn install() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: as below; no SA_RESTART, so a wait the signal interrupts ends.
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = handle_stop as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(stop_signal(), &action, core::ptr::null_mut());
        }
        // SAFETY: sigaction is plain data; all-zero is a valid "no handler" value.
        let mut previous: [libc::sigaction; 5] = unsafe { core::mem::zeroed() };
        for (index, signal) in SIGNALS.iter().enumerate() {
            // SAFETY: as above.
            let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
            action.sa_sigaction = handle as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `action` is a valid handler description and `previous[index]` a
            // valid place for the old one; the handler is async-signal-safe (it finds the
            // context by thread id, writes it and the register state, nothing else).
            // A stop is held back while it runs.
            unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaddset(&mut action.sa_mask, stop_signal());
                libc::sigaction(*signal, &action, &mut previous[index]);
            }
        }
        previous
    });
}

extern "C" fn handle(signal: libc::c_int, info: *mut libc::siginfo_t, user_context: *mut libc::c_void) {
    clear_cvm_flags();
    // The thread pointer may be the cVM's here (its CLS table in TPIDR_EL0 on AArch64,
    // its C library's fs base on x86-64): no thread-local may be read before the context
    // is found by thread id, and `resume_host` gives the intravisor its own back.
    let context = current_context();
    // SAFETY: a non-null context is the live one of the run on this thread.
    if !context.is_null() && unsafe { (*context).in_cvm } == 1 {
        // SAFETY: the kernel passes valid siginfo and ucontext pointers to an
        // SA_SIGINFO handler; the context is this thread's and the run is paused here.
        unsafe {
            let user_context = &mut *(user_context as *mut libc::ucontext_t);
            let (program_counter, _) = registers(user_context);
            (*context).fault = Some(Fault {
                signal,
                code: (*info).si_code,
                address: (*info).si_addr() as u64,
                program_counter,
            });
            (*context).in_cvm = 0;
            redirect(user_context, resume_host_address(), context as u64, FAULT_REASON);
        }
        return;
    }
    chain(signal, info, user_context);
}

extern "C" fn handle_stop(
    _signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    user_context: *mut libc::c_void,
) {
    clear_cvm_flags();
    let context = current_context();
    // SAFETY: a non-null context is the live one of the run on this thread; `in_cvm` is
    // 1 only while the thread runs the cVM's code, which may be abandoned at any
    // instruction (its cVM is ending).
    if !context.is_null() && unsafe { (*context).in_cvm } == 1 {
        // SAFETY: the kernel passes a valid ucontext pointer to an SA_SIGINFO handler.
        unsafe {
            (*context).stopped = true;
            (*context).in_cvm = 0;
            redirect(
                &mut *(user_context as *mut libc::ucontext_t),
                resume_host_address(),
                context as u64,
                FAULT_REASON,
            );
        }
    }
}

/// Passes a fault that is not a cVM's to the handler installed before ours.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, user_context: *mut libc::c_void) {
    let index = SIGNALS.iter().position(|&known| known == signal);
    let previous = PREVIOUS.get().zip(index).map(|(all, index)| all[index]);
    match previous {
        Some(action) if action.sa_sigaction != libc::SIG_DFL && action.sa_sigaction != libc::SIG_IGN => {
            if action.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO, so it has
                // this signature; we pass it the kernel's own arguments.
                let function: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { core::mem::transmute(action.sa_sigaction) };
                function(signal, info, user_context);
            } else {
                // SAFETY: a handler installed without SA_SIGINFO takes the signal only.
                let function: extern "C" fn(libc::c_int) =
                    unsafe { core::mem::transmute(action.sa_sigaction) };
                function(signal);
            }
        }
        _ => {
            // Restore the default action; returning re-runs the faulting instruction,
            // which now ends the process as it would have without us.
            // SAFETY: resetting a signal to SIG_DFL is always valid.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
    }
}

/// x86-64 flags a cVM may set that must never reach intravisor code: AC (alignment
/// checking, bit 18), DF (string direction, bit 10) and TF (single stepping, bit 8).
#[cfg(target_arch = "x86_64")]
pub(super) const CVM_ONLY_FLAGS: u64 = (1 << 18) | (1 << 10) | (1 << 8);

/// Clears the cVM-only flags in the running thread. The kernel clears TF and DF when
/// it enters a signal handler, but not AC: a cVM that set it would make any misaligned
/// access of the handler fault.
#[cfg(target_arch = "x86_64")]
fn clear_cvm_flags() {
    // SAFETY: pushes the flags on the current (alternate signal) stack, clears bits that
    // only affect alignment checks, string direction and single stepping, and pops them.
    unsafe {
        core::arch::asm!(
            "pushfq",
            "and qword ptr [rsp], {mask}",
            "popfq",
            mask = const !CVM_ONLY_FLAGS as i32,
        )
    };
}

#[cfg(target_arch = "aarch64")]
fn clear_cvm_flags() {}

#[cfg(target_arch = "x86_64")]
fn registers(user_context: &libc::ucontext_t) -> (u64, u64) {
    let registers = &user_context.uc_mcontext.gregs;
    (registers[libc::REG_RIP as usize] as u64, registers[libc::REG_RSP as usize] as u64)
}

/// Makes the interrupted thread continue at `function(first, second)` on the stack the
/// context names.
#[cfg(target_arch = "x86_64")]
fn redirect(user_context: &mut libc::ucontext_t, function: u64, first: u64, second: u64) {
    let registers = &mut user_context.uc_mcontext.gregs;
    registers[libc::REG_RIP as usize] = function as i64;
    registers[libc::REG_RDI as usize] = first as i64;
    registers[libc::REG_RSI as usize] = second as i64;
    registers[libc::REG_EFL as usize] &= !(CVM_ONLY_FLAGS as i64);
}

#[cfg(target_arch = "aarch64")]
fn registers(user_context: &libc::ucontext_t) -> (u64, u64) {
    (user_context.uc_mcontext.pc, user_context.uc_mcontext.sp)
}

#[cfg(target_arch = "aarch64")]
fn redirect(user_context: &mut libc::ucontext_t, function: u64, first: u64, second: u64) {
    user_context.uc_mcontext.pc = function;
    user_context.uc_mcontext.regs[0] = first;
    user_context.uc_mcontext.regs[1] = second;
}

/// An alternate signal stack for the current thread, removed again on drop.
pub(super) struct AlternateStack {
    memory: *mut libc::c_void,
    size: usize,
    previous: libc::stack_t,
}

impl AlternateStack {
    /// Size of the alternate stack: room for the kernel's signal frame and our handler.
    const SIZE: usize = 64 * 1024;

    /// Gives the calling thread an alternate signal stack.
    pub(super) fn install() -> Option<Self> {
        // SAFETY: an anonymous read-write mapping at an address the kernel picks.
        let memory = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                Self::SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if memory == libc::MAP_FAILED {
            log::warn!(
                "no alternate signal stack for this cVM thread: a stack overflow will not be reported"
            );
            return None;
        }
        let stack = libc::stack_t { ss_sp: memory, ss_flags: 0, ss_size: Self::SIZE };
        // SAFETY: stack_t is plain data.
        let mut previous: libc::stack_t = unsafe { core::mem::zeroed() };
        // SAFETY: `stack` describes the mapping just made, which lives until drop.
        unsafe { libc::sigaltstack(&stack, &mut previous) };
        Some(Self { memory, size: Self::SIZE, previous })
    }
}

impl Drop for AlternateStack {
    fn drop(&mut self) {
        // SAFETY: put back the thread's previous alternate stack, then unmap ours,
        // which no handler runs on any more (we are not in a handler).
        unsafe {
            libc::sigaltstack(&self.previous, core::ptr::null_mut());
            libc::munmap(self.memory, self.size);
        }
    }
}
