//! The console (the board's PL011 UART) and the end of a run: its exit code handed out
//! through semihosting, or printed before the board is powered off.

use core::fmt;

use crate::platform::board::{Exit, BOARD};

/// The PL011's data register.
const UART_DATA: *mut u32 = BOARD.uart as *mut u32;
/// Its flag register.
const UART_FLAGS: *const u32 = (BOARD.uart + 0x18) as *const u32;
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

/// Ends the run with `code`: as QEMU's (or the FVP's) exit status through semihosting
/// `SYS_EXIT_EXTENDED`, or, on a board, printed and followed by PSCI `SYSTEM_OFF`.
pub fn exit(code: u32) -> ! {
    match BOARD.exit {
        Exit::Semihosting => {
            const SYS_EXIT_EXTENDED: u64 = 0x20;
            const APPLICATION_EXIT: u64 = 0x20026;
            let block = [APPLICATION_EXIT, u64::from(code)];
            // SAFETY: `hlt #0xf000` is the AArch64 semihosting call; QEMU (run with
            // `-semihosting`) reads the two-word block and exits. Without a semihosting
            // host it would trap, which is why the loop follows.
            unsafe {
                core::arch::asm!("hlt #0xf000", in("x0") SYS_EXIT_EXTENDED, in("x1") block.as_ptr(), options(nostack));
            }
        }
        Exit::PowerOff => {
            const SYSTEM_OFF: u64 = 0x8400_0008;
            crate::console_print!("intravisor: exit code {code}\n");
            // SAFETY: PSCI SYSTEM_OFF through the secure monitor (TF-A on the board) takes
            // no memory and does not return when it succeeds.
            unsafe { core::arch::asm!("smc #0", inout("x0") SYSTEM_OFF => _, options(nomem, nostack)) };
        }
    }
    loop {
        // SAFETY: waiting for an interrupt that never comes has no other effect.
        unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
    }
}
