//! The cVM's start and its panic handler.
//!
//! The intravisor enters the program's `_start` (`c/start.c`) with the address of the
//! boot block as the first argument, on a stack inside the cVM's region; `_start` calls
//! [`__cvm_start`] with the program's `main`. It checks the block, sets up the heap and
//! the hostcall entry, runs its objects' initializers, calls `main`, runs their
//! finalizers, and exits with its status. Both items exist only
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
    /// Its objects' initializers and finalizers: the address and count of each list.
    #[link_section = ".cls.data"]
    static ROUTINES: [AtomicU64; 4] =
        [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

    /// Checks the boot block and sets the libOS up from it: hostcalls, name, region,
    /// entry points, heap. Spins forever on a block that is not one (without it there is
    /// no hostcall entry to report through).
    ///
    /// # Safety
    /// As [`__cvm_start`].
    unsafe fn set_up(boot: *const BootInfo) -> &'static BootInfo {
        // SAFETY: the intravisor passes the address of a readable, aligned BootInfo
        // that lives as long as the cVM.
        let boot = unsafe { &*boot };
        if boot.magic != BOOT_MAGIC || boot.version != VERSION {
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
        let routines = [boot.initializers, boot.initializer_count, boot.finalizers, boot.finalizer_count];
        for (slot, value) in local(&ROUTINES).iter().zip(routines) {
            slot.store(value, Ordering::Relaxed);
        }
        crate::tls::set(boot);
        // SAFETY: the boot block's heap range is this cVM's, writable, and unused.
        unsafe { heap::init(boot.heap_base as *mut u8, boot.heap_size as usize) };
        boot
    }

    /// Starts the cVM: called by the program's `_start`.
    ///
    /// # Safety
    /// `boot` is the address of a [`BootInfo`] the intravisor wrote inside this cVM's
    /// region; its heap range is memory this cVM owns and nothing else uses.
    #[no_mangle]
    pub unsafe extern "C" fn __cvm_start(boot: *const BootInfo, main: Main) -> ! {
        // SAFETY: forwarded from this function's contract.
        let boot = unsafe { set_up(boot) };
        crate::tls::refuse_without_libc();
        __cvm_initialize();
        // argv is an array of `argc` C strings followed by a null, written by the
        // intravisor; `main` is the program's own.
        let status = main(boot.argc as i32, boot.argv as *const *const c_char);
        __cvm_finalize();
        interface::cvm_exit(status)
    }

    /// Runs the initializers of the cVM's objects, in order (`abi::BootInfo::initializers`):
    /// before `main`, once (`_start`, or for a program on the C library its `main`
    /// wrapper, once musl is set up).
    #[no_mangle]
    pub extern "C" fn __cvm_initialize() {
        let routines = local(&ROUTINES);
        run(routines[0].swap(0, Ordering::Relaxed), routines[1].load(Ordering::Relaxed), false);
    }

    /// Runs the finalizers of the cVM's objects, in order: when `main` returns (for a
    /// program on the C library, as musl's first `atexit` handler), once.
    #[no_mangle]
    pub extern "C" fn __cvm_finalize() {
        let routines = local(&ROUTINES);
        run(routines[2].swap(0, Ordering::Relaxed), routines[3].load(Ordering::Relaxed), true);
    }

    /// Calls the `count` routines listed at `list` (each a function, or an array of
    /// function addresses, run backwards for finalizers); nothing when `list` is 0.
    fn run(list: u64, count: u64, backwards: bool) {
        if list == 0 {
            return;
        }
        for index in 0..count {
            // SAFETY: the intravisor wrote `count` Initializers at `list`, in the boot
            // block, which lives as long as the cVM.
            let routine = unsafe { (list as *const abi::Initializer).add(index as usize).read() };
            if routine.count == 0 {
                call(routine.address);
                continue;
            }
            for entry in 0..routine.count {
                let entry = if backwards { routine.count - 1 - entry } else { entry };
                // SAFETY: the array lies in an object's image (the loader checked it),
                // mapped readable, with `count` relocated entries.
                let address = unsafe { (routine.address as *const u64).add(entry as usize).read() };
                // Entries left 0 or all ones are skipped, as glibc does.
                if address != 0 && address != u64::MAX {
                    call(address);
                }
            }
        }
    }

    /// Calls the function of no arguments at `address`.
    fn call(address: u64) {
        // SAFETY: `address` is an initializer or finalizer of one of the cVM's objects:
        // the loader checked a DT_INIT or DT_FINI to be in its code; an array's entries
        // are what its own relocations put there. Anything else faults in the cVM,
        // which ends it alone.
        let function: extern "C" fn() = unsafe { core::mem::transmute(address as usize) };
        function();
    }

    /// Sets the cVM up for a program on the C library (`c/start_libc.c`): returns the
    /// vector `__libc_start_main` expects after `argc`: argv, a null, an empty
    /// environment's null, then the auxiliary vector (`AT_PAGESZ`, `AT_RANDOM`).
    ///
    /// # Safety
    /// As [`__cvm_start`]; `argc` points to a writable `int`.
    #[no_mangle]
    pub unsafe extern "C" fn __cvm_libc_arguments(boot: *const BootInfo, argc: *mut i32) -> *mut u64 {
        const AT_NULL: u64 = 0;
        const AT_PAGESZ: u64 = 6;
        const AT_RANDOM: u64 = 25;
        // SAFETY: forwarded from this function's contract.
        let boot = unsafe { set_up(boot) };
        let count = boot.argc as usize;
        let words = count + 2 + 6 + 2;
        let vector = heap::allocate(words * 8 + 16) as *mut u64;
        if vector.is_null() {
            interface::cvm_exit(127)
        }
        // SAFETY: `vector` has room for `words` words and 16 bytes of entropy after
        // them; argv holds `count` pointers written by the intravisor.
        unsafe {
            let random = vector.add(words);
            let seed = interface::cvm_clock_monotonic() ^ boot.region_base.rotate_left(17);
            random.write(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            random.add(1).write(seed.rotate_left(29) ^ interface::cvm_clock_wall());
            for index in 0..count {
                vector.add(index).write((boot.argv as *const u64).add(index).read());
            }
            let tail = [0, 0, AT_PAGESZ, 4096, AT_RANDOM, random as u64, AT_NULL, 0];
            for (offset, word) in tail.into_iter().enumerate() {
                vector.add(count + offset).write(word);
            }
            argc.write(count as i32);
        }
        vector
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
