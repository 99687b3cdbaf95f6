//! The cVM's start and its panic handler.
//!
//! The intravisor enters the program's `_start` (`c/start.c`) with the address of the
//! boot block as the first argument, on a stack inside the cVM's region; `_start` calls
//! [`__cvm_start`] with the program's `main`. It checks the block, sets up the heap and
//! the hostcall entry, calls `main`, and exits with its status. Both items exist only
//! in the bare-metal builds a cVM links (`target_os = "none"`); the host build of this
//! crate, used for its unit tests, has neither.

#[cfg(target_os = "none")]
mod cvm {
    use core::ffi::c_char;
    use core::sync::atomic::{AtomicU64, Ordering};

    use abi::{BootInfo, BOOT_MAGIC, VERSION};

    use crate::cls::local;
    use crate::{heap, hostcall, interface};

    /// A C program's `main`.
    type Main = extern "C" fn(i32, *const *const c_char) -> i32;

    /// Address of the cVM's name, from the boot block.
    #[link_section = ".cls.data"]
    pub(crate) static NAME: AtomicU64 = AtomicU64::new(0);
    /// The cVM's region, from the boot block.
    #[link_section = ".cls.data"]
    pub(crate) static REGION: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
    /// The entry points of the purecap objects it enters: their address and count.
    #[link_section = ".cls.data"]
    pub(crate) static ENTRIES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

    /// Starts the cVM: called by the program's `_start`.
    ///
    /// # Safety
    /// `boot` is the address of a [`BootInfo`] the intravisor wrote inside this cVM's
    /// region; its heap range is memory this cVM owns and nothing else uses.
    #[no_mangle]
    pub unsafe extern "C" fn __cvm_start(boot: *const BootInfo, main: Main) -> ! {
        // SAFETY: the intravisor passes the address of a readable, aligned BootInfo.
        let boot = unsafe { &*boot };
        if boot.magic != BOOT_MAGIC || boot.version != VERSION {
            // Without a valid block there is no hostcall entry to report through.
            loop {
                core::hint::spin_loop();
            }
        }
        hostcall::set_entry(boot.hostcall_entry);
        local(&NAME).store(boot.name, Ordering::Relaxed);
        local(&REGION)[0].store(boot.region_base, Ordering::Relaxed);
        local(&REGION)[1].store(boot.region_size, Ordering::Relaxed);
        local(&ENTRIES)[0].store(boot.entries, Ordering::Relaxed);
        local(&ENTRIES)[1].store(boot.entry_count, Ordering::Relaxed);
        // SAFETY: the boot block's heap range is this cVM's, writable, and unused.
        unsafe { heap::init(boot.heap_base as *mut u8, boot.heap_size as usize) };
        // argv is an array of `argc` C strings followed by a null, written by the
        // intravisor; `main` is the program's own.
        let status = main(boot.argc as i32, boot.argv as *const *const c_char);
        interface::cvm_exit(status)
    }

    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        const MESSAGE: &[u8] = b"cvm-libos: panic\n";
        interface::cvm_write(abi::STDERR, MESSAGE.as_ptr(), MESSAGE.len() as u64);
        interface::cvm_exit(101)
    }
}

/// The cVM's region as (base, size), or zeros before `__cvm_start` ran.
pub(crate) fn region() -> (u64, u64) {
    #[cfg(target_os = "none")]
    {
        let region = crate::cls::local(&cvm::REGION);
        (
            region[0].load(core::sync::atomic::Ordering::Relaxed),
            region[1].load(core::sync::atomic::Ordering::Relaxed),
        )
    }
    #[cfg(not(target_os = "none"))]
    {
        (0, 0)
    }
}

/// The entry points from the boot block: their address and count (zeros when none).
pub(crate) fn entries() -> (u64, u64) {
    #[cfg(target_os = "none")]
    {
        let entries = crate::cls::local(&cvm::ENTRIES);
        (
            entries[0].load(core::sync::atomic::Ordering::Relaxed),
            entries[1].load(core::sync::atomic::Ordering::Relaxed),
        )
    }
    #[cfg(not(target_os = "none"))]
    {
        (0, 0)
    }
}

/// Address of the cVM's NUL-terminated name, or zero before `__cvm_start` ran.
pub(crate) fn name_address() -> u64 {
    #[cfg(target_os = "none")]
    {
        crate::cls::local(&cvm::NAME).load(core::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}
