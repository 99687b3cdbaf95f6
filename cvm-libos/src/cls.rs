//! Compartment-local storage: `__cls_get_addr`, and the libOS's own per-cVM statics.
//!
//! `__cls_get_addr(template)` maps the address of a writable global's pristine template
//! to the current cVM's copy of it in O(1): one shift picks the slot of the object the
//! address lies in, one compare says whether it is a template address. The table is the
//! cVM's, found through a thread register the intravisor sets (`abi::ClsTable`), so the
//! one shared copy of this code serves every cVM.
//!
//! This library is itself an ORC object, loaded once for all cVMs: each of its statics
//! is placed in `.cls.data` and reached through [`local`], never directly.

use abi::{ClsSlot, ClsTable};

/// The address of the current cVM's table, or zero outside a cVM.
///
/// x86-64: `gs:0`. AArch64: the word at `TPIDR_EL0 + 8`, which is free in a C library's
/// thread control block there (musl leaves 16 bytes above its thread pointer).
#[inline(always)]
pub(crate) fn table_address() -> u64 {
    #[cfg(all(target_arch = "x86_64", target_os = "none"))]
    {
        let table: u64;
        // SAFETY: the intravisor sets the gs base of every cVM thread to its table, whose
        // first word is the table's own address; reading it has no other effect.
        unsafe {
            core::arch::asm!("mov {}, qword ptr gs:[0]", out(reg) table, options(nostack, readonly, preserves_flags, pure));
        }
        table
    }
    #[cfg(all(target_arch = "aarch64", target_os = "none"))]
    {
        let table: u64;
        // SAFETY: whenever cVM code runs, TPIDR_EL0 is a thread pointer whose second
        // word holds the table's address (`abi::ClsTable`: the intravisor starts the cVM
        // with the table's address minus 8, and `__cvm_set_thread_pointer` copies it to
        // the C library's thread pointer); reading it has no other effect.
        unsafe {
            core::arch::asm!(
                "mrs {table}, tpidr_el0",
                "ldr {table}, [{table}, #8]",
                table = out(reg) table,
                options(nostack, readonly, preserves_flags, pure)
            );
        }
        table
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}

/// The current cVM's copy of the writable global whose template is at `template`; an
/// address that is no template is returned unchanged.
#[no_mangle]
pub extern "C" fn __cls_get_addr(template: *const u8) -> *mut u8 {
    let address = template as u64;
    let table = table_address();
    if table != 0 {
        // SAFETY: a non-zero table address is the cVM's table, written by the
        // intravisor inside the cVM's region: a head followed by `slot_count` slots.
        unsafe {
            let head = &*(table as *const ClsTable);
            let slot = address.wrapping_sub(head.slot_base) >> head.slot_shift;
            if slot < head.slot_count {
                let entry = &*((table as *const ClsTable).add(1) as *const ClsSlot).add(slot as usize);
                if address.wrapping_sub(entry.template_start) < entry.template_size {
                    return address.wrapping_add(entry.instance_delta) as *mut u8;
                }
            }
        }
    }
    template as *mut u8
}

/// This cVM's copy of a static of this library placed in `.cls.data`.
#[inline(always)]
pub(crate) fn local<T: Sync>(template: &'static T) -> &'static T {
    // SAFETY: the copy has the template's layout and was filled from it when the cVM
    // was built; it belongs to this cVM and lives as long as the cVM, and `T: Sync`
    // lets the cVM's threads share it as they would the static.
    unsafe { &*(__cls_get_addr((template as *const T).cast()) as *const T) }
}
