//! Thread-local storage, the cVM's side: the static TLS layout from the boot block
//! (`abi::TlsModule`s, as the loader laid them out), handed to the C library, which sets
//! every thread's blocks up by it (`__cvm_tls_modules`, called by musl's patched
//! `__init_tls`); and the resolver every TLS descriptor calls (`__cvm_tlsdesc_static`),
//! which returns the offset from the thread pointer that the loader stored in the
//! descriptor's second word. A program on the libOS alone has no C library to set its
//! threads' blocks up, so it is refused at its start if any of its objects has TLS.

#[cfg(target_os = "none")]
mod cvm {
    use core::sync::atomic::{AtomicU64, Ordering};

    use abi::{BootInfo, TlsModule};

    use crate::cls::local;
    use crate::interface;

    /// The boot block's TLS modules: their address and count.
    #[link_section = ".cls.data"]
    static MODULES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

    /// Keeps the boot block's TLS layout (`entry::set_up`).
    pub(crate) fn set(boot: &BootInfo) {
        local(&MODULES)[0].store(boot.tls_modules, Ordering::Relaxed);
        local(&MODULES)[1].store(boot.tls_module_count, Ordering::Relaxed);
    }

    /// Ends a program on the libOS alone whose objects have TLS (`__cvm_start`).
    pub(crate) fn refuse_without_libc() {
        if local(&MODULES)[1].load(Ordering::Relaxed) == 0 {
            return;
        }
        const MESSAGE: &[u8] = b"cvm-libos: the program's objects have thread-local storage, which the C \
library sets up: link the program on libc.so (cvm-cc without -nolibc)\n";
        interface::cvm_write(abi::STDERR, MESSAGE.as_ptr(), MESSAGE.len() as u64);
        interface::cvm_exit(127)
    }

    /// Writes the address of the cVM's TLS modules (in module-id order) to `modules`
    /// and returns their number.
    ///
    /// # Safety
    /// `modules` points to a writable pointer.
    #[no_mangle]
    pub unsafe extern "C" fn __cvm_tls_modules(modules: *mut *const TlsModule) -> usize {
        let modules_of_cvm = local(&MODULES);
        // SAFETY: the caller passes a writable pointer (musl's `static_init_tls`).
        unsafe { modules.write(modules_of_cvm[0].load(Ordering::Relaxed) as *const TlsModule) };
        modules_of_cvm[1].load(Ordering::Relaxed) as usize
    }

    // The static TLS descriptor resolver: called with the descriptor's address (x0 on
    // AArch64, rax on x86-64), it returns the descriptor's second word, the variable's
    // offset from the thread pointer, and keeps every other register.
    #[cfg(target_arch = "aarch64")]
    core::arch::global_asm!(
        ".globl __cvm_tlsdesc_static",
        ".type __cvm_tlsdesc_static, %function",
        "__cvm_tlsdesc_static:",
        "ldr x0, [x0, #8]",
        "ret",
        ".size __cvm_tlsdesc_static, . - __cvm_tlsdesc_static",
    );
    #[cfg(target_arch = "x86_64")]
    core::arch::global_asm!(
        ".globl __cvm_tlsdesc_static",
        ".type __cvm_tlsdesc_static, @function",
        "__cvm_tlsdesc_static:",
        "mov rax, [rax + 8]",
        "ret",
        ".size __cvm_tlsdesc_static, . - __cvm_tlsdesc_static",
    );
}

#[cfg(target_os = "none")]
pub(crate) use cvm::{refuse_without_libc, set};
