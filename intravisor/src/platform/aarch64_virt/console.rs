//! The console (QEMU virt's PL011 UART at 0x0900_0000) and semihosting, through which
//! the run's exit code reaches the host.

use core::fmt;

/// The PL011's data register.
const UART_DATA: *mut u32 = 0x0900_0000 as *mut u32;
/// Its flag register.
const UART_FLAGS: *const u32 = 0x0900_0018 as *const u32;
/// Flag: the transmit FIFO is full.
const TRANSMIT_FULL: u32 = 1 << 5;

/// Writes bytes to the UART.
pub fn write_bytes(bytes: &[u8]) {
    for &byte in bytes {
        // SAFETY: the UART's registers are mapped as device memory by `mmu`, and before
        // that the MMU is off, when every access is a device access; nothing else
        // drives the UART.
        unsafe {
            while core::ptr::read_volatile(UART_FLAGS) & TRANSMIT_FULL != 0 {}
            core::ptr::write_volatile(UART_DATA, u32::from(byte));
        }
    }
}

/// The console as a `fmt::Write`.
#[derive(Debug, Clone, Copy)]
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_bytes(text.as_bytes());
        Ok(())
    }
}

/// Prints to the console.
#[macro_export]
macro_rules! console_print {
    ($($argument:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::platform::aarch64_virt::console::Console, $($argument)*);
    }};
}

/// Ends the run: semihosting `SYS_EXIT_EXTENDED` with `code` as QEMU's exit status.
pub fn exit(code: u32) -> ! {
    const SYS_EXIT_EXTENDED: u64 = 0x20;
    const APPLICATION_EXIT: u64 = 0x20026;
    let block = [APPLICATION_EXIT, u64::from(code)];
    // SAFETY: `hlt #0xf000` is the AArch64 semihosting call; QEMU (run with
    // `-semihosting`) reads the two-word block and exits. Without a semihosting host it
    // would trap, which is why the loop follows.
    unsafe {
        core::arch::asm!("hlt #0xf000", in("x0") SYS_EXIT_EXTENDED, in("x1") block.as_ptr(), options(nostack));
    }
    loop {
        // SAFETY: waiting for an interrupt that never comes has no other effect.
        unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
    }
}
