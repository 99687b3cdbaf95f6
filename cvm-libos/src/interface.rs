//! The C interface of the library OS, declared in `include/cvm.h`.
//!
//! Every function is a thin wrapper over one hostcall, or over the heap. None of them
//! checks the pointers it passes on: the intravisor checks each one against the cVM's
//! capabilities and answers `-EFAULT` for any that does not hold.

use core::ffi::c_char;

use abi::Hostcall;

use crate::{entry, heap, hostcall};

/// Longest name `cvm_open` measures before giving up.
const NAME_LIMIT: usize = 4096;

/// Writes `length` bytes to a console or file handle.
#[no_mangle]
pub extern "C" fn cvm_write(handle: u64, buffer: *const u8, length: u64) -> i64 {
    hostcall::raw(Hostcall::Write, [handle, buffer as u64, length, 0, 0])
}

/// Ends the cVM with `status`.
#[no_mangle]
pub extern "C" fn cvm_exit(status: i32) -> ! {
    hostcall::raw(Hostcall::Exit, [status as u32 as u64, 0, 0, 0, 0]);
    // The intravisor does not return from an exit; if it ever did, stay put.
    loop {
        core::hint::spin_loop();
    }
}

/// Nanoseconds on the monotonic clock.
#[no_mangle]
pub extern "C" fn cvm_clock_monotonic() -> u64 {
    hostcall::raw(Hostcall::ClockMonotonic, [0; 5]) as u64
}

/// Nanoseconds since the Unix epoch.
#[no_mangle]
pub extern "C" fn cvm_clock_wall() -> u64 {
    hostcall::raw(Hostcall::ClockWall, [0; 5]) as u64
}

/// Opens a granted file (`mode` 0) or creates one in the output directory (`mode` 1).
///
/// # Safety
/// `name` points to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn cvm_open(name: *const c_char, mode: i32) -> i64 {
    // SAFETY: forwarded from this function's contract.
    let length = unsafe { string_length(name) };
    hostcall::raw(Hostcall::Open, [name as u64, length as u64, mode as u64, 0, 0])
}

/// Reads up to `length` bytes from a file handle.
#[no_mangle]
pub extern "C" fn cvm_read(handle: u64, buffer: *mut u8, length: u64) -> i64 {
    hostcall::raw(Hostcall::Read, [handle, buffer as u64, length, 0, 0])
}

/// Closes a file handle.
#[no_mangle]
pub extern "C" fn cvm_close(handle: u64) -> i64 {
    hostcall::raw(Hostcall::Close, [handle, 0, 0, 0, 0])
}

/// Sets the C library's thread pointer of this cVM's code (the `fs` base on x86-64,
/// TPIDR_EL0 on AArch64), which the intravisor keeps across hostcalls; 0, or `-ENOSYS`
/// where it is not switched.
///
/// # Safety
/// On AArch64, `address` is followed by 16 writable bytes: the second word becomes the
/// address of this cVM's CLS table, which `__cls_get_addr` reads through the thread
/// pointer there (`cls`).
#[no_mangle]
pub unsafe extern "C" fn cvm_set_thread_pointer(address: u64) -> i64 {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: forwarded from this function's contract.
    unsafe {
        (address as *mut u64).add(1).write(crate::cls::table_address())
    };
    hostcall::raw(Hostcall::SetThreadPointer, [address, 0, 0, 0, 0])
}

/// Makes any hostcall with raw arguments, for programs that test the intravisor.
#[no_mangle]
pub extern "C" fn cvm_hostcall(number: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> i64 {
    match Hostcall::from_number(number) {
        Some(call) => hostcall::raw(call, [a0, a1, a2, a3, a4]),
        None => abi::Errno::NoSys.as_return(),
    }
}

/// Allocates `size` bytes from the cVM's heap; null when it is exhausted.
#[no_mangle]
pub extern "C" fn cvm_malloc(size: usize) -> *mut u8 {
    heap::allocate(size)
}

/// Frees memory `cvm_malloc` returned.
///
/// # Safety
/// `pointer` is null or came from `cvm_malloc` and was not freed since.
#[no_mangle]
pub unsafe extern "C" fn cvm_free(pointer: *mut u8) {
    // SAFETY: forwarded from this function's contract.
    unsafe { heap::release(pointer) }
}

/// The cVM's region: its first byte and its size.
///
/// # Safety
/// `base` and `size` point to writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn cvm_region(base: *mut u64, size: *mut u64) {
    let (region_base, region_size) = entry::region();
    // SAFETY: forwarded from this function's contract.
    unsafe {
        base.write(region_base);
        size.write(region_size);
    }
}

/// The cVM's name, as the deployment gave it.
#[no_mangle]
pub extern "C" fn cvm_name() -> *const c_char {
    entry::name_address() as *const c_char
}

/// The sealed entry capability of function `name` of a purecap object this cVM enters:
/// the address of its 16-byte slot (give it to `cvm_call_entry`), or null when there is
/// no such function. On platforms without hardware capabilities the slot is untagged.
///
/// # Safety
/// `name` points to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn cvm_entry(name: *const c_char) -> *const u8 {
    // SAFETY: forwarded from this function's contract.
    let length = unsafe { string_length(name) };
    // SAFETY: as above; `string_length` read exactly these bytes.
    let wanted = unsafe { core::slice::from_raw_parts(name.cast::<u8>(), length) };
    let (address, count) = entry::entries();
    let points = address as *const abi::EntryPoint;
    for index in 0..count as usize {
        // SAFETY: the intravisor wrote `count` entry points at `address`, each naming a
        // string of `name_length` bytes in the boot block.
        let point = unsafe { &*points.add(index) };
        // SAFETY: as above.
        let own = unsafe { core::slice::from_raw_parts(point.name as *const u8, point.name_length as usize) };
        if own == wanted {
            return point.capability.as_ptr().cast();
        }
    }
    core::ptr::null()
}

/// Length of a NUL-terminated string, at most [`NAME_LIMIT`].
///
/// # Safety
/// `text` points to a NUL-terminated string or to at least `NAME_LIMIT` readable bytes.
unsafe fn string_length(text: *const c_char) -> usize {
    if text.is_null() {
        return 0;
    }
    let mut length = 0;
    // SAFETY: guaranteed readable up to the terminator or the limit by the contract.
    while length < NAME_LIMIT && unsafe { *text.add(length) } != 0 {
        length += 1;
    }
    length
}
