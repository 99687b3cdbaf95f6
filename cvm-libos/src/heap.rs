//! The cVM's heap: a first-fit allocator over the heap range of the boot block.
//!
//! Each block carries a 16-byte header holding its size, so that `cvm_free` needs only
//! the pointer, as C's `free` does.

use core::alloc::Layout;
use core::ptr::NonNull;

use linked_list_allocator::Heap;
use spin::Mutex;

use crate::cls::local;

#[link_section = ".cls.data"]
static HEAP: Mutex<Heap> = Mutex::new(Heap::empty());

/// Bytes in front of every block, holding its total size.
const HEADER: usize = 16;

/// Hands the heap range to the allocator.
///
/// # Safety
/// `[base, base + size)` is writable memory of this cVM that nothing else uses, and
/// `init` is called once.
#[cfg_attr(
    not(target_os = "none"),
    expect(dead_code, reason = "called by `_start`, which only cVM builds have")
)]
pub(crate) unsafe fn init(base: *mut u8, size: usize) {
    // SAFETY: forwarded from this function's contract.
    unsafe { local(&HEAP).lock().init(base, size) };
}

/// Allocates `size` bytes aligned to 16, or returns null.
pub(crate) fn allocate(size: usize) -> *mut u8 {
    let Some(total) = size.checked_add(HEADER) else {
        return core::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, HEADER) else {
        return core::ptr::null_mut();
    };
    match local(&HEAP).lock().allocate_first_fit(layout) {
        Ok(block) => {
            let block = block.as_ptr();
            // SAFETY: the block has room for the header and is 16-byte aligned.
            unsafe {
                block.cast::<usize>().write(total);
                block.add(HEADER)
            }
        }
        Err(()) => core::ptr::null_mut(),
    }
}

/// Frees a block `allocate` returned; null is ignored.
///
/// # Safety
/// `pointer` is null or came from [`allocate`] and was not freed since.
pub(crate) unsafe fn release(pointer: *mut u8) {
    if pointer.is_null() {
        return;
    }
    // SAFETY: `allocate` put the header 16 bytes before the pointer it returned.
    let (block, total) = unsafe {
        let block = pointer.sub(HEADER);
        (block, block.cast::<usize>().read())
    };
    if let (Some(block), Ok(layout)) = (NonNull::new(block), Layout::from_size_align(total, HEADER)) {
        // SAFETY: the block and layout are those `allocate` handed out.
        unsafe { local(&HEAP).lock().deallocate(block, layout) };
    }
}

/// Allocates `length` bytes (a multiple of the page size) aligned to a page, without a
/// header, for the C library's anonymous mappings; null when the heap is exhausted.
pub(crate) fn allocate_pages(length: usize) -> *mut u8 {
    match Layout::from_size_align(length, 4096) {
        Ok(layout) => {
            local(&HEAP).lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), NonNull::as_ptr)
        }
        Err(_) => core::ptr::null_mut(),
    }
}

/// Gives back `length` bytes at `pointer` that [`allocate_pages`] handed out (all of a
/// mapping or page-aligned part of one).
///
/// # Safety
/// The range lies in one mapping `allocate_pages` returned and was not released since.
pub(crate) unsafe fn release_pages(pointer: *mut u8, length: usize) {
    if let (Some(block), Ok(layout)) = (NonNull::new(pointer), Layout::from_size_align(length, 4096)) {
        // SAFETY: forwarded from this function's contract; the allocator takes back any
        // range it handed out as free memory.
        unsafe { local(&HEAP).lock().deallocate(block, layout) };
    }
}
