//! The machine an image is built for: where its RAM, UART, real-time clock and interrupt
//! controller are, and how a run ends. Chosen when the image is built (`cargo xtask image
//! --board`, as a cargo feature): the intravisor is linked at the board's image address
//! and maps only the board's devices.
//!
//! - `virt`: QEMU's `-M virt` (the CI's board, and the Morello-capable QEMU's);
//! - `morello-fvp`: Arm's Morello Fixed Virtual Platform;
//! - `morello-soc`: the Morello SoC development board.
//!
//! The two Morello descriptions are the SoC's memory map as Arm's firmware describes it
//! (TF-A's Morello port, EDK2's `MorelloPlatform.h`): DRAM from 0x8000_0000, the image
//! where TF-A loads its non-secure payload (0xE000_0000, below the 16 MiB TF-A keeps at
//! the top of the first 2 GiB), the AP UART0 (a PL011) at 0x2A40_0000, the GIC-600
//! distributor at 0x3000_0000 and its redistributors at 0x300C_0000. Neither has a
//! PL031, so wall time there is time since boot. None of this is tested here: no FVP or
//! board is reachable from these machines.

use core::ops::Range;

/// How a run hands its exit code out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Semihosting `SYS_EXIT_EXTENDED` (QEMU with `-semihosting`, the FVP with
    /// `semihosting-enable=1`).
    Semihosting,
    /// The code is printed on the console, then PSCI `SYSTEM_OFF` through the secure
    /// monitor (a board, whose TF-A implements PSCI).
    PowerOff,
}

/// A GICv3: its distributor and the first redistributor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterruptController {
    /// GICD.
    pub distributor: u64,
    /// GICR of the first core.
    pub redistributor: u64,
}

/// One machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// The name `cargo xtask image --board` takes.
    pub name: &'static str,
    /// Where RAM starts.
    pub ram_start: u64,
    /// Where the image is loaded and entered (inside RAM).
    pub image_start: u64,
    /// The PL011 the console writes to.
    pub uart: u64,
    /// A PL031 real-time clock, if the board has one.
    pub real_time_clock: Option<u64>,
    /// The interrupt controller.
    pub interrupt_controller: InterruptController,
    /// The generic timer's frequency, written to `CNTFRQ_EL0` when the image is entered
    /// at EL3 and finds it zero (firmware sets it otherwise).
    pub counter_frequency: u64,
    /// How a run ends.
    pub exit: Exit,
}

/// QEMU `-M virt` (run with `gic-version=3`).
pub const QEMU_VIRT: Board = Board {
    name: "virt",
    ram_start: 0x4000_0000,
    image_start: 0x4008_0000,
    uart: 0x0900_0000,
    real_time_clock: Some(0x0901_0000),
    interrupt_controller: InterruptController { distributor: 0x0800_0000, redistributor: 0x080A_0000 },
    counter_frequency: 62_500_000,
    exit: Exit::Semihosting,
};

/// The Morello FVP (its CPU's semihosting enabled).
pub const MORELLO_FVP: Board = Board {
    name: "morello-fvp",
    ram_start: 0x8000_0000,
    image_start: 0xE000_0000,
    uart: 0x2A40_0000,
    real_time_clock: None,
    interrupt_controller: InterruptController { distributor: 0x3000_0000, redistributor: 0x300C_0000 },
    counter_frequency: 100_000_000,
    exit: Exit::Semihosting,
};

/// The Morello SoC board, booted by its TF-A.
pub const MORELLO_SOC: Board = Board { name: "morello-soc", exit: Exit::PowerOff, ..MORELLO_FVP };

/// The board this image is built for (QEMU virt in a host build).
pub const BOARD: Board = if cfg!(feature = "board-morello-soc") {
    MORELLO_SOC
} else if cfg!(feature = "board-morello-fvp") {
    MORELLO_FVP
} else {
    QEMU_VIRT
};

/// Every board, for the xtask and the tests.
pub const BOARDS: [Board; 3] = [QEMU_VIRT, MORELLO_FVP, MORELLO_SOC];

/// The intravisor's own part of RAM (image, stack, heap): 128 MiB from the image.
pub const INTRAVISOR_SIZE: u64 = 128 << 20;
/// The cVM arena's size: 256 MiB past the intravisor's part.
pub const ARENA_SIZE: u64 = 256 << 20;

impl Board {
    /// The cVM arena: right after the intravisor's part of RAM.
    pub const fn arena(&self) -> Range<u64> {
        let start = self.intravisor_start() + INTRAVISOR_SIZE;
        start..start + ARENA_SIZE
    }

    /// Where the intravisor's part of RAM starts: the 2 MiB block holding the image.
    pub const fn intravisor_start(&self) -> u64 {
        self.image_start & !((2 << 20) - 1)
    }

    /// The RAM the intravisor maps: its part and the arena, which must lie in one GiB
    /// (one level-2 table).
    pub const fn mapped_ram(&self) -> Range<u64> {
        self.intravisor_start()..self.arena().end
    }
}

const fn fits_one_table(board: Board) -> bool {
    let ram = board.mapped_ram();
    ram.start >> 30 == (ram.end - 1) >> 30
        && board.image_start >= board.ram_start
        && board.uart < 1 << 30
        && board.interrupt_controller.distributor < 1 << 30
        && board.interrupt_controller.redistributor < 1 << 30
}

const _: () =
    assert!(fits_one_table(QEMU_VIRT) && fits_one_table(MORELLO_FVP) && fits_one_table(MORELLO_SOC));
