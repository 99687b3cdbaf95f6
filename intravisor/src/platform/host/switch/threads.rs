//! While cVM code runs, the thread pointer may be the cVM's (TPIDR_EL0 holds its CLS
//! table on AArch64; on x86-64 `fs` holds its C library's thread pointer once it set
//! one), so thread-locals cannot be read then: the trampoline and the fault handler
//! find the switch context by thread id in this registry instead.

use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use super::SwitchContext;

const SLOTS: usize = 1024;
static THREADS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static CONTEXTS: [AtomicPtr<SwitchContext>; SLOTS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; SLOTS];

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
