//! The system calls of the C library (musl, `cvm-libc/`), served inside the cVM.
//!
//! musl is built so that every system call is a call of [`__cvm_syscall`] with Linux's
//! number for the target and six arguments, and its thread pointer goes through
//! [`__cvm_set_thread_pointer`]. This module answers them from the libOS's own
//! services: the console and granted files through hostcalls, `/dev/null` and
//! `/dev/urandom` (random bytes from the intravisor), memory from the heap
//! inside the cVM's region, clocks, exit. Signals are accepted and never delivered;
//! there is one thread. A call it does not serve returns `-ENOSYS` and is reported once
//! per number on the cVM's standard error.

use core::sync::atomic::{AtomicU64, Ordering};

use abi::Hostcall;

use crate::cls::local;
use crate::{heap, hostcall, interface};

/// Linux system call numbers of the target architecture.
#[cfg(target_arch = "x86_64")]
mod number {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const OPEN: i64 = 2;
    pub const CLOSE: i64 = 3;
    pub const FSTAT: i64 = 5;
    pub const ACCESS: i64 = 21;
    pub const LSEEK: i64 = 8;
    pub const MMAP: i64 = 9;
    pub const MPROTECT: i64 = 10;
    pub const MUNMAP: i64 = 11;
    pub const BRK: i64 = 12;
    pub const RT_SIGACTION: i64 = 13;
    pub const RT_SIGPROCMASK: i64 = 14;
    pub const IOCTL: i64 = 16;
    pub const READV: i64 = 19;
    pub const WRITEV: i64 = 20;
    pub const MREMAP: i64 = 25;
    pub const MADVISE: i64 = 28;
    pub const GETPID: i64 = 39;
    pub const EXIT: i64 = 60;
    pub const FCNTL: i64 = 72;
    pub const GETRUSAGE: i64 = 98;
    pub const GETTID: i64 = 186;
    pub const TKILL: i64 = 200;
    pub const SET_TID_ADDRESS: i64 = 218;
    pub const CLOCK_GETTIME: i64 = 228;
    pub const EXIT_GROUP: i64 = 231;
    pub const OPENAT: i64 = 257;
    pub const NEWFSTATAT: i64 = 262;
    pub const FACCESSAT: i64 = 269;
    pub const GETRANDOM: i64 = 318;
}

/// `struct stat` on x86-64: where `st_mode`, `st_size` and `st_blksize` are, and its size.
#[cfg(target_arch = "x86_64")]
mod stat {
    pub const MODE: usize = 24;
    pub const SIZE: usize = 48;
    pub const BLOCK_SIZE: usize = 56;
    pub const BYTES: usize = 144;
}

/// Linux system call numbers of the target architecture (the generic table).
#[cfg(target_arch = "aarch64")]
mod number {
    pub const READ: i64 = 63;
    pub const WRITE: i64 = 64;
    pub const CLOSE: i64 = 57;
    pub const FSTAT: i64 = 80;
    pub const FACCESSAT: i64 = 48;
    pub const LSEEK: i64 = 62;
    pub const MMAP: i64 = 222;
    pub const MPROTECT: i64 = 226;
    pub const MUNMAP: i64 = 215;
    pub const BRK: i64 = 214;
    pub const RT_SIGACTION: i64 = 134;
    pub const RT_SIGPROCMASK: i64 = 135;
    pub const IOCTL: i64 = 29;
    pub const READV: i64 = 65;
    pub const WRITEV: i64 = 66;
    pub const MREMAP: i64 = 216;
    pub const MADVISE: i64 = 233;
    pub const GETPID: i64 = 172;
    pub const EXIT: i64 = 93;
    pub const FCNTL: i64 = 25;
    pub const GETRUSAGE: i64 = 165;
    pub const GETTID: i64 = 178;
    pub const TKILL: i64 = 130;
    pub const SET_TID_ADDRESS: i64 = 96;
    pub const CLOCK_GETTIME: i64 = 113;
    pub const EXIT_GROUP: i64 = 94;
    pub const OPENAT: i64 = 56;
    pub const NEWFSTATAT: i64 = 79;
    pub const GETRANDOM: i64 = 278;
}

/// `struct stat` of the generic table (AArch64).
#[cfg(target_arch = "aarch64")]
mod stat {
    pub const MODE: usize = 16;
    pub const SIZE: usize = 48;
    pub const BLOCK_SIZE: usize = 56;
    pub const BYTES: usize = 128;
}

const ENOENT: i64 = 2;
const EBADF: i64 = 9;
const ENOMEM: i64 = 12;
const EINVAL: i64 = 22;
const ENOTTY: i64 = 25;
const ESPIPE: i64 = 29;
const ENOSYS: i64 = 38;
const ENODEV: i64 = 19;

const PAGE: usize = 4096;
const MAP_FIXED: i64 = 0x10;
const MAP_ANONYMOUS: i64 = 0x20;
const O_ACCMODE: i64 = 3;
const CLOCK_REALTIME: i64 = 0;
const AT_EMPTY_PATH: i64 = 0x1000;
const S_IFCHR: u32 = 0o020_000;
const S_IFREG: u32 = 0o100_000;

/// The one thread's id, as `gettid` and `set_tid_address` answer.
const THREAD_ID: i64 = 1;

/// Descriptors 0..=2 are the console; from 3 on, `FILES[fd - 3]` is the hostcall
/// handle plus one (0: free), or one of the devices served here.
const FILE_SLOTS: usize = 64;
/// `FILES` entries of `/dev/null` and `/dev/urandom` (no hostcall handle is this large).
const DEVICE_NULL: u64 = u64::MAX - 1;
const DEVICE_RANDOM: u64 = u64::MAX - 2;
#[link_section = ".cls.data"]
static FILES: [AtomicU64; FILE_SLOTS] = [const { AtomicU64::new(0) }; FILE_SLOTS];

/// System call numbers already reported as unsupported, one bit each.
const REPORTED_BITS: u64 = 1024;
#[link_section = ".cls.data"]
static REPORTED: [AtomicU64; (REPORTED_BITS / 64) as usize] =
    [const { AtomicU64::new(0) }; (REPORTED_BITS / 64) as usize];

/// Serves system call `number` with its six arguments: the value the kernel would
/// return, a negated errno on failure.
#[no_mangle]
pub extern "C" fn __cvm_syscall(number: i64, a1: i64, a2: i64, a3: i64, a4: i64, a5: i64, a6: i64) -> i64 {
    let _ = a6;
    match number {
        number::WRITE => write(a1, a2 as *const u8, a3 as usize),
        number::WRITEV => vectored(a1, a2, a3, write),
        number::READ => read(a1, a2 as *mut u8, a3 as usize),
        number::READV => vectored(a1, a2, a3, |fd, buffer, length| read(fd, buffer as *mut u8, length)),
        #[cfg(target_arch = "x86_64")]
        number::OPEN => open(a1, a2),
        number::OPENAT => open(a2, a3),
        number::CLOSE => close(a1),
        number::LSEEK => seek(a1, a2, a3),
        number::FSTAT => file_status(a1, a2 as *mut u8),
        number::NEWFSTATAT if a4 & AT_EMPTY_PATH != 0 && empty(a2) => file_status(a1, a3 as *mut u8),
        number::NEWFSTATAT => -ENOENT,
        // Whether a name exists is not for a cVM to learn: opening it tells.
        #[cfg(target_arch = "x86_64")]
        number::ACCESS => -ENOENT,
        number::FACCESSAT => -ENOENT,
        number::IOCTL => -ENOTTY,
        number::FCNTL => 0,
        number::MMAP => map(a1, a2 as usize, a4, a5),
        number::MUNMAP => unmap(a1 as *mut u8, a2 as usize),
        number::MREMAP => -ENOMEM,
        number::MPROTECT | number::MADVISE => 0,
        // No break to grow: musl's malloc then maps its metadata instead.
        number::BRK => 0,
        number::CLOCK_GETTIME => clock(a1, a2 as *mut i64),
        number::RT_SIGACTION => zero_out(a3 as *mut u8, 32),
        number::RT_SIGPROCMASK => zero_out(a3 as *mut u8, a4 as usize),
        number::GETRUSAGE => zero_out(a2 as *mut u8, 144),
        number::GETPID | number::GETTID | number::SET_TID_ADDRESS => THREAD_ID,
        number::GETRANDOM => random(a1 as *mut u8, a2 as usize),
        number::TKILL => interface::cvm_exit(128 + a2 as i32),
        number::EXIT | number::EXIT_GROUP => interface::cvm_exit(a1 as i32),
        _ => unsupported(number),
    }
}

/// Sets musl's thread pointer. Returns 1 when it is set (musl then knows there are no
/// threads to create), -1 when the platform cannot switch it (musl stops).
#[no_mangle]
pub extern "C" fn __cvm_set_thread_pointer(pointer: u64) -> i32 {
    // musl's thread control block has the 16 bytes above the pointer that
    // `cvm_set_thread_pointer` asks for on AArch64.
    // SAFETY: musl passes its thread pointer, with those 16 writable bytes.
    match unsafe { interface::cvm_set_thread_pointer(pointer) } {
        0 => 1,
        _ => -1,
    }
}

/// `-ENOSYS`, reported on standard error the first time each number is asked for
/// (numbers from 1023 on, and negative ones, share one report).
fn unsupported(number: i64) -> i64 {
    let bit = (number as u64).min(REPORTED_BITS - 1);
    let word = &local(&REPORTED)[(bit / 64) as usize];
    if word.fetch_or(1 << (bit % 64), Ordering::Relaxed) & (1 << (bit % 64)) == 0 {
        let mut line = [0u8; 64];
        let length = describe_unsupported(number, &mut line);
        hostcall::raw(Hostcall::Write, [abi::STDERR, line.as_ptr() as u64, length as u64, 0, 0]);
    }
    -ENOSYS
}

/// "cvm-libos: system call N is not supported\n" into `line`; returns its length.
fn describe_unsupported(number: i64, line: &mut [u8; 64]) -> usize {
    const HEAD: &[u8] = b"cvm-libos: system call ";
    const TAIL: &[u8] = b" is not supported\n";
    let mut digits = [0u8; 20];
    let mut count = 0;
    let mut value = number.unsigned_abs();
    loop {
        digits[count] = b'0' + (value % 10) as u8;
        count += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    let mut length = 0;
    for &byte in HEAD.iter().chain(digits[..count].iter().rev()).chain(TAIL) {
        line[length] = byte;
        length += 1;
    }
    length
}

/// The hostcall handle behind descriptor `fd`: the console for 0..=2.
fn handle(fd: i64) -> Option<u64> {
    match fd {
        0..=2 => Some(fd as u64),
        3.. => {
            let slot = local(&FILES).get((fd - 3) as usize)?;
            match slot.load(Ordering::Relaxed) {
                0 => None,
                entry => Some(entry.wrapping_sub(1)),
            }
        }
        _ => None,
    }
}

fn write(fd: i64, buffer: *const u8, length: usize) -> i64 {
    match handle(fd) {
        Some(DEVICE_NULL | DEVICE_RANDOM) => length as i64,
        Some(handle) => interface::cvm_write(handle, buffer, length as u64),
        None => -EBADF,
    }
}

fn read(fd: i64, buffer: *mut u8, length: usize) -> i64 {
    match handle(fd) {
        Some(0 | DEVICE_NULL) => 0,
        Some(DEVICE_RANDOM) => random(buffer, length),
        Some(1 | 2) | None => -EBADF,
        Some(handle) => interface::cvm_read(handle, buffer, length as u64),
    }
}

/// `readv`/`writev` over `count` `iovec`s at `vectors`, one call each, stopping at the
/// first short or failed one.
fn vectored(fd: i64, vectors: i64, count: i64, each: impl Fn(i64, *const u8, usize) -> i64) -> i64 {
    if !(0..=1024).contains(&count) {
        return -EINVAL;
    }
    let vectors = vectors as *const [usize; 2];
    let mut total = 0;
    for index in 0..count as usize {
        // SAFETY: musl passes `count` iovecs it owns; a bad pointer is the cVM's own
        // fault, in its own memory.
        let [base, length] = unsafe { vectors.add(index).read() };
        if length == 0 {
            continue;
        }
        let done = each(fd, base as *const u8, length);
        if done < 0 {
            return if total > 0 { total } else { done };
        }
        total += done;
        if (done as usize) < length {
            break;
        }
    }
    total
}

fn open(path: i64, flags: i64) -> i64 {
    let Some(slot) = local(&FILES).iter().position(|slot| slot.load(Ordering::Relaxed) == 0) else {
        return -ENOMEM;
    };
    // SAFETY: musl passes a NUL-terminated path.
    let name = unsafe { core::ffi::CStr::from_ptr(path as *const core::ffi::c_char) }.to_bytes();
    let device = match name {
        b"/dev/null" => Some(DEVICE_NULL),
        b"/dev/urandom" | b"/dev/random" => Some(DEVICE_RANDOM),
        _ => None,
    };
    if let Some(device) = device {
        local(&FILES)[slot].store(device + 1, Ordering::Relaxed);
        return slot as i64 + 3;
    }
    let mode = if flags & O_ACCMODE == 0 { 0 } else { 1 };
    // SAFETY: musl passes a NUL-terminated path.
    let handle = unsafe { interface::cvm_open(path as *const core::ffi::c_char, mode) };
    if handle < 0 {
        return if handle == -EBADF { -ENOENT } else { handle };
    }
    local(&FILES)[slot].store(handle as u64 + 1, Ordering::Relaxed);
    slot as i64 + 3
}

fn close(fd: i64) -> i64 {
    match fd {
        0..=2 => 0,
        3.. => match local(&FILES).get((fd - 3) as usize) {
            Some(slot) => match slot.swap(0, Ordering::Relaxed).wrapping_sub(1) {
                DEVICE_NULL | DEVICE_RANDOM => 0,
                // A free slot (0 - 1).
                u64::MAX => -EBADF,
                handle => interface::cvm_close(handle),
            },
            None => -EBADF,
        },
        _ => -EBADF,
    }
}

/// Anonymous private mappings only, page-aligned and zeroed, from the heap.
fn map(address: i64, length: usize, flags: i64, fd: i64) -> i64 {
    if flags & MAP_ANONYMOUS == 0 || fd != -1 {
        return -ENODEV;
    }
    if flags & MAP_FIXED != 0 && address != 0 {
        return -ENOMEM;
    }
    let Some(length) = length.checked_next_multiple_of(PAGE).filter(|&length| length > 0) else {
        return -EINVAL;
    };
    let block = heap::allocate_pages(length);
    if block.is_null() {
        return -ENOMEM;
    }
    // SAFETY: the heap handed out `length` writable bytes at `block`.
    unsafe { core::ptr::write_bytes(block, 0, length) };
    block as i64
}

fn unmap(address: *mut u8, length: usize) -> i64 {
    match length.checked_next_multiple_of(PAGE) {
        Some(length) if (address as usize).is_multiple_of(PAGE) && length > 0 => {
            // SAFETY: musl unmaps only what it mapped (whole or in page-aligned parts).
            unsafe { heap::release_pages(address, length) };
            0
        }
        _ => -EINVAL,
    }
}

fn seek(fd: i64, offset: i64, whence: i64) -> i64 {
    match handle(fd) {
        Some(0..=2 | DEVICE_RANDOM) => -ESPIPE,
        Some(DEVICE_NULL) => 0,
        Some(handle) => hostcall::raw(Hostcall::Seek, [handle, offset as u64, whence as u64, 0, 0]),
        None => -EBADF,
    }
}

/// Whether `path` is the empty string (`fstatat(fd, "", ..., AT_EMPTY_PATH)`).
fn empty(path: i64) -> bool {
    // SAFETY: musl passes a NUL-terminated path.
    path != 0 && unsafe { (path as *const u8).read() } == 0
}

/// `fstat`: a character device for the console, a regular file of its size otherwise.
fn file_status(fd: i64, status: *mut u8) -> i64 {
    let (mode, size) = match handle(fd) {
        Some(0..=2 | DEVICE_NULL | DEVICE_RANDOM) => (S_IFCHR | 0o666, 0),
        Some(handle) => match hostcall::raw(Hostcall::FileSize, [handle, 0, 0, 0, 0]) {
            size if size >= 0 => (S_IFREG | 0o644, size),
            error => return error,
        },
        None => return -EBADF,
    };
    // SAFETY: musl passes a `struct stat` it owns, of the target's layout (`stat`).
    unsafe {
        core::ptr::write_bytes(status, 0, stat::BYTES);
        status.add(stat::MODE).cast::<u32>().write_unaligned(mode);
        status.add(stat::SIZE).cast::<i64>().write_unaligned(size);
        status.add(stat::BLOCK_SIZE).cast::<u32>().write_unaligned(4096);
    }
    0
}

/// `getrandom` and reads of `/dev/urandom`: the intravisor's random bytes.
fn random(buffer: *mut u8, length: usize) -> i64 {
    hostcall::raw(Hostcall::Random, [buffer as u64, length as u64, 0, 0, 0])
}

fn clock(clock: i64, time: *mut i64) -> i64 {
    let nanoseconds =
        if clock == CLOCK_REALTIME { interface::cvm_clock_wall() } else { interface::cvm_clock_monotonic() };
    // SAFETY: musl passes a `struct timespec` (two 64-bit fields) it owns.
    unsafe {
        time.write((nanoseconds / 1_000_000_000) as i64);
        time.add(1).write((nanoseconds % 1_000_000_000) as i64);
    }
    0
}

fn zero_out(pointer: *mut u8, length: usize) -> i64 {
    if !pointer.is_null() {
        // SAFETY: the caller's buffer of the size the system call defines.
        unsafe { core::ptr::write_bytes(pointer, 0, length.min(1024)) };
    }
    0
}
