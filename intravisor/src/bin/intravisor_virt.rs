//! The bare-metal intravisor (platform `aarch64-virt`, or `morello`), for the board the
//! image is built for (`board`: QEMU `-M virt`, the Morello FVP or the Morello board).
//!
//! Built by `cargo xtask image` for `aarch64-unknown-none` with the image's manifest
//! (the validated deployment and its objects) included. At boot it turns on the MMU,
//! checks every object against the SHA-256 the manifest names, runs the cVMs at EL0,
//! reports each one that did not exit, and ends the run through semihosting: exit code 0
//! when every cVM exited, 1 otherwise.
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use intravisor::console_print;
use intravisor::manifest;
use intravisor::platform::aarch64_virt::console::exit;
use intravisor::platform::aarch64_virt::interrupts;
use intravisor::platform::aarch64_virt::mmu::{self, Arena, ARENA};
use intravisor::platform::aarch64_virt::run::{Outcome, Runner};
use intravisor::platform::board::BOARD;
use linked_list_allocator::Heap;
use sha2::{Digest, Sha256};
use spin::Mutex;

/// The image's manifest, written by `cargo xtask image`.
static MANIFEST: &[u8] = include_bytes!(env!("ORC_MANIFEST"));

struct Allocator(Mutex<Heap>);

// SAFETY: every allocation goes through the locked first-fit heap, which hands out
// disjoint blocks of the memory given to it at boot.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if let Some(pointer) = NonNull::new(pointer) {
            // SAFETY: the pointer and layout are those `alloc` handed out.
            unsafe { self.0.lock().deallocate(pointer, layout) };
        }
    }
}

#[global_allocator]
static ALLOCATOR: Allocator = Allocator(Mutex::new(Heap::empty()));

extern "C" {
    /// The end of the image and its stack (from the linker script).
    static __heap_start: u8;
}

/// Called by `_start` at EL1 with the exception level the image was entered at.
#[no_mangle]
extern "C" fn kernel_main(entry_level: u64) -> ! {
    // SAFETY: the heap runs from the end of the image to the cVM arena, memory nothing
    // else uses; this is the only initialisation.
    unsafe {
        let start = &raw const __heap_start as usize;
        ALLOCATOR.0.lock().init(start as *mut u8, ARENA.start as usize - start);
    }
    // SAFETY: once, at boot, on the only core, before anything relies on the MMU.
    unsafe { mmu::enable() };
    // SAFETY: once, at boot, on the only core; the MMU maps the board's GIC.
    let preemption = unsafe { interrupts::enable() };
    let manifest = match manifest::decode(MANIFEST) {
        Ok(manifest) => manifest,
        Err(error) => {
            console_print!("intravisor: {error}\n");
            exit(2)
        }
    };
    let corrupt: alloc::vec::Vec<bool> = manifest
        .objects
        .iter()
        .map(|object| Sha256::digest(object.bytes).as_slice() != object.sha256)
        .collect();
    console_print!(
        "intravisor: {} on board {}, entered at EL{entry_level}, running at EL1; {} cVMs, {} objects ({} with the wrong SHA-256)\n",
        if cfg!(feature = "morello") { "morello" } else { "aarch64-virt" },
        BOARD.name,
        manifest.cvms.len(),
        manifest.objects.len(),
        corrupt.iter().filter(|&&corrupt| corrupt).count()
    );
    match preemption {
        Ok(()) => console_print!("intravisor: time slices of {} ms\n", interrupts::SLICE_NANOSECONDS / 1_000_000),
        Err(reason) => console_print!(
            "intravisor: no preemption ({reason}): a thread keeps the core until it blocks; processor time limits are not enforced\n"
        ),
    }
    let policies = match policies(&manifest) {
        Ok(policies) => policies,
        Err(error) => {
            console_print!("intravisor: {error}\n");
            exit(2)
        }
    };
    // SAFETY: the MMU is on and this is the only arena.
    let arena = unsafe { Arena::take() };
    let mut runner = Runner::new(arena, &manifest.objects, corrupt, policies);
    let outcomes = runner.run(&manifest);
    let mut all_exited = true;
    for (cvm, outcome) in manifest.cvms.iter().zip(&outcomes) {
        match outcome {
            Outcome::Exited(status) => {
                console_print!("intravisor: cVM `{}` exited with status {status}\n", cvm.name)
            }
            Outcome::Faulted(cause) => {
                all_exited = false;
                console_print!("intravisor: cVM `{}` faulted: {cause}\n", cvm.name);
            }
            Outcome::Killed(limit) => {
                all_exited = false;
                console_print!("intravisor: cVM `{}` killed {limit}\n", cvm.name);
            }
            Outcome::Refused(reason) => {
                all_exited = false;
                console_print!("intravisor: cVM `{}` refused: {reason}\n", cvm.name);
            }
        }
    }
    // Objects only granted as files are data, not loaded.
    let code =
        |index: usize| manifest.cvms.iter().any(|cvm| cvm.program == index || cvm.objects.contains(&index));
    for (index, (object, (loads, users))) in manifest.objects.iter().zip(runner.object_counts()).enumerate() {
        if code(index) {
            console_print!("intravisor: object {}: loads {loads}, users {users}\n", object.name);
        }
    }
    exit(if all_exited { 0 } else { 1 })
}

/// The tenants' policies from the manifest, checked as on the host.
fn policies(
    manifest: &manifest::Manifest<'_>,
) -> Result<policy::PolicySet, alloc::boxed::Box<policy::PolicyError>> {
    let mut parsed = alloc::vec::Vec::with_capacity(manifest.policies.len());
    for (tenant, file, text) in &manifest.policies {
        parsed.push((
            tenant.clone(),
            policy::parse(text, file).map_err(alloc::boxed::Box::new)?,
            file.clone(),
        ));
    }
    let mut tenants: alloc::vec::Vec<alloc::string::String> =
        manifest.cvms.iter().map(|cvm| cvm.tenant.clone()).collect();
    tenants.extend(manifest.policies.iter().map(|(tenant, _, _)| tenant.clone()));
    tenants.sort();
    tenants.dedup();
    policy::PolicySet::new(parsed, &tenants).map_err(alloc::boxed::Box::new)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    console_print!("intravisor: panic: {info}\n");
    exit(98)
}
