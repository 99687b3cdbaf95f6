//! The MMU: an identity map of QEMU virt's memory, and the arena of cVM memory whose
//! pages each get the protection the cVM's layout says.
//!
//! Translation uses 4 KiB granules and 39-bit addresses. Nothing is mapped but the
//! board's devices and the RAM the intravisor uses (`board`), so a wild access faults:
//! in the first GiB, the 2 MiB blocks holding the UART, the real-time clock and the
//! GIC's distributor and redistributor (device memory, EL1 only); then the intravisor's part of RAM (image, stack, heap) in 2 MiB
//! blocks, normal memory, EL1 only, and the arena after it, mapped page by page through
//! level-3 tables, every page invalid (a guard) until `Arena::protect` gives it a
//! protection. cVM pages are never executable at EL1.

use core::ops::Range;

use crate::guest::Protection;
use crate::platform::board::BOARD;

/// The cVM arena: 256 MiB of RAM past the intravisor's own 128 MiB.
pub const ARENA: Range<u64> = BOARD.arena();
const PAGE: u64 = 4096;
const BLOCK: u64 = 2 << 20;
const ARENA_TABLES: usize = ((ARENA.end - ARENA.start) / BLOCK) as usize;

/// Descriptor bits.
const VALID: u64 = 1;
const TABLE: u64 = 1 << 1; // a table (levels 1, 2) or a page (level 3)
const ATTRIBUTE_DEVICE: u64 = 0 << 2;
const ATTRIBUTE_NORMAL: u64 = 1 << 2;
const AP_EL0: u64 = 1 << 6; // EL0 may access
const AP_READ_ONLY: u64 = 1 << 7;
const INNER_SHAREABLE: u64 = 3 << 8;
const ACCESSED: u64 = 1 << 10;
const PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
/// Morello: tagged capabilities may be stored (SC) and are loaded with their tags (LC
/// 0b01) in the intravisor's own memory and in cVMs' writable pages (FACTS §4.3).
const CAPABILITIES: u64 = if cfg!(feature = "morello") { (1 << 60) | (1 << 61) } else { 0 };
/// Morello: TCR_EL1.HPD0 and HWU0 (bits 59..62 of descriptors are hardware-used).
const TCR_CAPABILITY_BITS: u64 = if cfg!(feature = "morello") { (1 << 41) | (0xf << 43) } else { 0 };
const UNPRIVILEGED_EXECUTE_NEVER: u64 = 1 << 54;

#[repr(C, align(4096))]
struct Table([u64; 512]);

static mut LEVEL1: Table = Table([0; 512]);
static mut LOW_LEVEL2: Table = Table([0; 512]);
static mut RAM_LEVEL2: Table = Table([0; 512]);
static mut ARENA_LEVEL3: [Table; ARENA_TABLES] = [const { Table([0; 512]) }; ARENA_TABLES];

/// Builds the tables and turns the MMU and caches on.
///
/// # Safety
/// Called once, at boot, on one core, with the MMU off, before anything depends on the
/// memory attributes.
pub unsafe fn enable() {
    // SAFETY: at boot nothing else touches the tables; the raw pointers avoid references
    // to mutable statics.
    unsafe {
        let level1 = &raw mut LEVEL1;
        let low = &raw mut LOW_LEVEL2;
        let ram_table = &raw mut RAM_LEVEL2;
        let arena = &raw mut ARENA_LEVEL3;
        let gic = BOARD.interrupt_controller;
        let devices =
            [Some(BOARD.uart), BOARD.real_time_clock, Some(gic.distributor), Some(gic.redistributor)];
        for device in devices.into_iter().flatten() {
            let block = device & !(BLOCK - 1);
            (*low).0[(block / BLOCK) as usize] = block
                | VALID
                | ATTRIBUTE_DEVICE
                | ACCESSED
                | PRIVILEGED_EXECUTE_NEVER
                | UNPRIVILEGED_EXECUTE_NEVER;
        }
        let ram = BOARD.mapped_ram();
        let gigabyte = ram.start & !((1 << 30) - 1);
        for address in ram.step_by(BLOCK as usize) {
            let index = ((address - gigabyte) / BLOCK) as usize;
            if ARENA.contains(&address) {
                let table = (address - ARENA.start) / BLOCK;
                (*ram_table).0[index] = (&raw const (*arena)[table as usize]) as u64 | VALID | TABLE;
            } else {
                (*ram_table).0[index] = address
                    | VALID
                    | ATTRIBUTE_NORMAL
                    | INNER_SHAREABLE
                    | ACCESSED
                    | UNPRIVILEGED_EXECUTE_NEVER
                    | CAPABILITIES;
            }
        }
        (*level1).0[0] = low as u64 | VALID | TABLE;
        (*level1).0[(gigabyte >> 30) as usize] = ram_table as u64 | VALID | TABLE;
        // MAIR: attribute 0 device-nGnRnE, attribute 1 normal write-back.
        let mair: u64 = 0xff << 8;
        // TCR: T0SZ 25 (39-bit), walks write-back inner shareable, 4 KiB granule, no
        // TTBR1 walks, 40-bit physical addresses.
        let tcr: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32) | TCR_CAPABILITY_BITS;
        core::arch::asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {table}",
            "dsb ish",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "mrs {control}, sctlr_el1",
            "orr {control}, {control}, #1",        // M: translation on
            "orr {control}, {control}, #(1 << 2)", // C: data cache
            "orr {control}, {control}, #(1 << 12)", // I: instruction cache
            "bic {control}, {control}, #(1 << 1)", // A: no alignment checks
            // UMA: EL0 may not mask interrupts (a cVM may not keep the core).
            "bic {control}, {control}, #(1 << 9)",
            // nTWI, nTWE: WFI and WFE at EL0 trap to EL1 (a cVM may not idle the core).
            "bic {control}, {control}, #(1 << 16)",
            "bic {control}, {control}, #(1 << 18)",
            "msr sctlr_el1, {control}",
            "isb",
            mair = in(reg) mair,
            tcr = in(reg) tcr,
            table = in(reg) level1 as u64,
            control = out(reg) _,
            options(nostack),
        );
    }
}

/// Software bits of a page entry (bits 55..58 are the software's): the page is hidden
/// from EL0, and it was executable at EL0 before.
const HIDDEN: u64 = 1 << 55;
const HIDDEN_EXECUTABLE: u64 = 1 << 56;

/// A valid page entry hidden from EL0 (no access, never executable) or shown again as
/// it was; an invalid one stays as it is.
const fn reach(entry: u64, reachable: bool) -> u64 {
    if entry & VALID == 0 {
        return entry;
    }
    match (reachable, entry & HIDDEN != 0) {
        (false, false) => {
            let executable = if entry & UNPRIVILEGED_EXECUTE_NEVER == 0 { HIDDEN_EXECUTABLE } else { 0 };
            (entry & !AP_EL0) | UNPRIVILEGED_EXECUTE_NEVER | HIDDEN | executable
        }
        (true, true) => {
            let shown = (entry | AP_EL0) & !(HIDDEN | HIDDEN_EXECUTABLE);
            if entry & HIDDEN_EXECUTABLE != 0 {
                shown & !UNPRIVILEGED_EXECUTE_NEVER
            } else {
                shown
            }
        }
        _ => entry,
    }
}

/// Why an arena operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfArena {
    /// Start of the range.
    pub start: u64,
    /// End of the range.
    pub end: u64,
}

impl core::fmt::Display for OutOfArena {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            formatter,
            "range {:#x}..{:#x} is not a page-aligned range of the cVM arena",
            self.start, self.end
        )
    }
}

/// The cVM arena: the only memory of cVMs, and every access the intravisor makes to it.
#[derive(Debug)]
pub struct Arena(());

impl Arena {
    /// The arena, zeroed (memory at boot holds whatever it held; a cVM's region must
    /// start out zero, as its heap's free pages are taken to be) and inaccessible. There
    /// is one; the tables it edits were built by [`enable`].
    ///
    /// # Safety
    /// Called once, after [`enable`].
    pub unsafe fn take() -> Self {
        let arena = Self(());
        if arena.scrub(ARENA.start, ARENA.end).is_err() {
            // The range is the arena's own: scrubbing it cannot be refused.
            unreachable!("the arena refused its own range");
        }
        arena
    }

    /// Its address range.
    pub fn range(&self) -> Range<u64> {
        ARENA
    }

    fn check(start: u64, end: u64) -> Result<(), OutOfArena> {
        let inside = start <= end && start >= ARENA.start && end <= ARENA.end;
        if inside && start.is_multiple_of(PAGE) && end.is_multiple_of(PAGE) {
            Ok(())
        } else {
            Err(OutOfArena { start, end })
        }
    }

    fn check_bytes(start: u64, length: u64) -> Result<(), OutOfArena> {
        match start.checked_add(length) {
            Some(end) if start >= ARENA.start && end <= ARENA.end => Ok(()),
            _ => Err(OutOfArena { start, end: start.saturating_add(length) }),
        }
    }

    /// Gives the pages `[start, end)` a protection for cVMs (EL1 may read and write
    /// what the cVM may; it never executes cVM pages).
    pub fn protect(&self, start: u64, end: u64, protection: Protection) -> Result<(), OutOfArena> {
        Self::check(start, end)?;
        let bits = match protection {
            Protection::None => 0,
            Protection::Read => AP_EL0 | AP_READ_ONLY | UNPRIVILEGED_EXECUTE_NEVER,
            // On Morello a cVM may keep capabilities (its entry capabilities, its own
            // derived ones) in its writable memory.
            Protection::ReadWrite => AP_EL0 | UNPRIVILEGED_EXECUTE_NEVER | CAPABILITIES,
            Protection::ReadExecute => AP_EL0 | AP_READ_ONLY,
        };
        let mut page = start;
        while page < end {
            let offset = page - ARENA.start;
            let entry = if protection == Protection::None {
                0
            } else {
                page | VALID
                    | TABLE
                    | ATTRIBUTE_NORMAL
                    | INNER_SHAREABLE
                    | ACCESSED
                    | PRIVILEGED_EXECUTE_NEVER
                    | bits
            };
            // SAFETY: the index is inside the arena's tables (checked above); the
            // intravisor runs on one core and edits them only here.
            unsafe {
                let tables = &raw mut ARENA_LEVEL3;
                (*tables)[(offset / BLOCK) as usize].0[((offset % BLOCK) / PAGE) as usize] = entry;
            }
            page += PAGE;
        }
        // SAFETY: make the new entries visible and drop stale translations; then make
        // freshly written code visible to instruction fetch.
        unsafe {
            core::arch::asm!("dsb ishst", "tlbi vmalle1", "dsb ish", "isb", options(nostack));
            if protection == Protection::ReadExecute {
                core::arch::asm!("ic iallu", "dsb ish", "isb", options(nostack));
            }
        }
        Ok(())
    }

    /// Makes the pages of `[start, end)` (a cVM's region) reachable from EL0 as their
    /// protection says, or not at all (`reachable` false: EL0 may neither access nor
    /// execute them; EL1 keeps its access). The cVM that runs now is the only one whose
    /// region EL0 reaches: the others wait on the same tables.
    pub fn set_reachable(&self, start: u64, end: u64, reachable: bool) -> Result<(), OutOfArena> {
        Self::check(start, end)?;
        let mut page = start;
        while page < end {
            let offset = page - ARENA.start;
            // SAFETY: the index is inside the arena's tables (checked above); the
            // intravisor runs on one core and edits them only here and in `protect`.
            unsafe {
                let tables = &raw mut ARENA_LEVEL3;
                let entry = &mut (*tables)[(offset / BLOCK) as usize].0[((offset % BLOCK) / PAGE) as usize];
                *entry = reach(*entry, reachable);
            }
            page += PAGE;
        }
        // SAFETY: make the changed entries visible and drop stale translations.
        unsafe { core::arch::asm!("dsb ishst", "tlbi vmalle1", "dsb ish", "isb", options(nostack)) };
        Ok(())
    }

    /// Scrubs `[start, end)`: zeroes it and makes it inaccessible.
    pub fn scrub(&self, start: u64, end: u64) -> Result<(), OutOfArena> {
        self.protect(start, end, Protection::ReadWrite)?;
        // SAFETY: the range is arena memory (checked), now writable at EL1.
        unsafe { core::ptr::write_bytes(start as *mut u8, 0, (end - start) as usize) };
        self.protect(start, end, Protection::None)
    }

    /// Copies `bytes` into the arena at `address`; the pages are writable (the caller
    /// made them so, or checked the cVM's mappings).
    pub fn write(&self, address: u64, bytes: &[u8]) -> Result<(), OutOfArena> {
        Self::check_bytes(address, bytes.len() as u64)?;
        // SAFETY: the destination is arena memory (checked), which never overlaps the
        // intravisor's `bytes`; the caller made it writable.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) };
        Ok(())
    }

    /// Copies bytes out of the arena at `address`; the pages are readable.
    pub fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), OutOfArena> {
        Self::check_bytes(address, buffer.len() as u64)?;
        // SAFETY: the source is arena memory (checked), readable, never overlapping.
        unsafe { core::ptr::copy_nonoverlapping(address as *const u8, buffer.as_mut_ptr(), buffer.len()) };
        Ok(())
    }
}

impl crate::memory::RegionMemory for Arena {
    type Error = OutOfArena;

    fn protect(&self, start: u64, end: u64, protection: Protection) -> Result<(), OutOfArena> {
        Arena::protect(self, start, end, protection)
    }

    fn write(&self, address: u64, bytes: &[u8]) -> Result<(), OutOfArena> {
        Arena::write(self, address, bytes)
    }

    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), OutOfArena> {
        Arena::read(self, address, buffer)
    }

    fn scrub(&self, start: u64, end: u64) -> Result<(), OutOfArena> {
        Arena::scrub(self, start, end)
    }
}
