//! The table `__cls_get_addr` reads: where each ORC object's compartment-local storage
//! templates are, and where the current cVM's copy of them is.
//!
//! The address space holding ORC objects is cut into slots of `1 << slot_shift` bytes
//! starting at `slot_base`; the intravisor places each shared object at the start of its
//! own slot(s), so a template address names its slot with one shift. Entry `i` of a
//! cVM's table describes the templates in slot `i`: an address `a` with
//! `a - template_start < template_size` is a template address, and the cVM's copy of it
//! is `a + instance_delta` (wrapping). Everything else is returned unchanged.
//!
//! The table is found through a thread register: on x86-64 `gs:0` holds its address
//! (the intravisor sets the `gs` base of each cVM thread to the table), on AArch64
//! `TPIDR_EL0` does (set whenever cVM code runs), on Morello `CTPIDR_EL0`.

/// The head of a cVM's table; `slot_count` [`ClsSlot`]s follow it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClsTable {
    /// The table's own address, so that `gs:0` yields it.
    pub self_address: u64,
    /// First address of slot 0.
    pub slot_base: u64,
    /// log2 of the slot size.
    pub slot_shift: u64,
    /// Number of slots that follow.
    pub slot_count: u64,
}

/// One slot of a cVM's table.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClsSlot {
    /// First template address in this slot.
    pub template_start: u64,
    /// Bytes of templates from `template_start` (0: no templates here).
    pub template_size: u64,
    /// What to add to a template address to reach this cVM's copy.
    pub instance_delta: u64,
}
