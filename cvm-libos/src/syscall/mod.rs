//! The system calls of the C library (musl, `cvm-libc/`), served inside the cVM.
//!
//! musl is built so that every system call is a call of [`__cvm_syscall`] with Linux's
//! number for the target and six arguments, and its thread pointer goes through
//! [`__cvm_set_thread_pointer`]. This module answers them from the libOS's own
//! services: the console, and the granted files and outputs through hostcalls
//! (`files`: one flat directory), `/dev/null` and
//! `/dev/urandom` (random bytes from the intravisor), memory from the heap
//! inside the cVM's region, clocks, sleeps, exit. Threads (`clone`) and `futex` go to
//! the intravisor, which runs each thread of the cVM on a thread of its own (the host)
//! and puts waiters to sleep. Signals are accepted and never delivered. A call it does
//! not serve returns `-ENOSYS` and is reported once per number on the cVM's standard
//! error.

mod files;
mod linux;

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use abi::Hostcall;

use crate::cls::local;
use crate::{heap, hostcall, interface};

use linux::number;

const ENOENT: i64 = 2;
const EAGAIN: i64 = 11;
const ETIMEDOUT: i64 = 110;
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
const CLOCK_MONOTONIC: i64 = 1;
const AT_EMPTY_PATH: i64 = 0x1000;
const S_IFCHR: u32 = 0o020_000;
const S_IFREG: u32 = 0o100_000;

/// The first thread's id, as `getpid` answers.
const THREAD_ID: i64 = 1;
/// The user and group ids `getuid` and its kind answer (Linux's overflow id).
const NOBODY: i64 = 65534;

const CLONE_VM: i64 = 0x100;
const CLONE_THREAD: i64 = 0x10000;
const CLONE_SETTLS: i64 = 0x80000;
const CLONE_PARENT_SETTID: i64 = 0x100000;
const CLONE_CHILD_CLEARTID: i64 = 0x200000;

const FUTEX_WAIT: i64 = 0;
const FUTEX_WAKE: i64 = 1;
const FUTEX_REQUEUE: i64 = 3;
const FUTEX_CMP_REQUEUE: i64 = 4;
const FUTEX_PRIVATE_FLAG: i64 = 128;
/// `FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME`.
const FUTEX_FLAGS: i64 = FUTEX_PRIVATE_FLAG | 256;
const TIMER_ABSTIME: i64 = 1;
/// What musl's `pthread_create` asks of `membarrier` before its first thread.
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i64 = 16;

/// Descriptors 0..=2 are the console; from 3 on, `FILES[fd - 3]` is the hostcall
/// handle plus one (0: free), or one of the devices served here.
const FILE_SLOTS: usize = 64;
// `READ_ONLY` has a bit for each.
const _: () = assert!(FILE_SLOTS <= 64);
/// `FILES` entries of `/dev/null` and `/dev/urandom` (no hostcall handle is this large).
const DEVICE_NULL: u64 = u64::MAX - 1;
const DEVICE_RANDOM: u64 = u64::MAX - 2;
#[link_section = ".cls.data"]
static FILES: [AtomicU64; FILE_SLOTS] = [const { AtomicU64::new(0) }; FILE_SLOTS];
/// A file slot taken by an `open` that has not finished (no handle is this large).
const CLAIMED: u64 = u64::MAX;
/// One bit per `FILES` slot: the descriptor was opened read-only, so it is not written
/// nor cut, even where its handle is an output's opened for update.
#[link_section = ".cls.data"]
static READ_ONLY: AtomicU64 = AtomicU64::new(0);

/// System call numbers already reported as unsupported, one bit each.
const REPORTED_BITS: u64 = 1024;
#[link_section = ".cls.data"]
static REPORTED: [AtomicU64; (REPORTED_BITS / 64) as usize] =
    [const { AtomicU64::new(0) }; (REPORTED_BITS / 64) as usize];

/// Serves system call `number` with its six arguments: the value the kernel would
/// return, a negated errno on failure.
#[no_mangle]
pub extern "C" fn __cvm_syscall(number: i64, a1: i64, a2: i64, a3: i64, a4: i64, a5: i64, a6: i64) -> i64 {
    match number {
        number::WRITE => write(a1, a2 as *const u8, a3 as usize),
        number::WRITEV => vectored(a1, a2, a3, write),
        number::READ => read(a1, a2 as *mut u8, a3 as usize),
        number::READV => vectored(a1, a2, a3, |fd, buffer, length| read(fd, buffer as *mut u8, length)),
        #[cfg(target_arch = "x86_64")]
        number::OPEN => files::open(a1, a2),
        number::OPENAT => files::open(a2, a3),
        number::CLOSE => files::close(a1),
        number::LSEEK => files::seek(a1, a2, a3),
        number::PREAD64 => files::positioned(a1, a4, || read(a1, a2 as *mut u8, a3 as usize)),
        number::PWRITE64 => files::positioned(a1, a4, || write(a1, a2 as *const u8, a3 as usize)),
        number::FSTAT => files::file_status(a1, a2 as *mut u8),
        number::NEWFSTATAT if a4 & AT_EMPTY_PATH != 0 && files::empty(a2) => {
            files::file_status(a1, a3 as *mut u8)
        }
        number::NEWFSTATAT => files::path_status(a2, a3 as *mut u8),
        #[cfg(target_arch = "x86_64")]
        number::STAT | number::LSTAT => files::path_status(a1, a2 as *mut u8),
        #[cfg(target_arch = "x86_64")]
        number::ACCESS => files::accessible(a1),
        number::FACCESSAT => files::accessible(a2),
        number::FTRUNCATE => files::truncate(a1, a2),
        number::FSYNC | number::FDATASYNC => files::sync(a1),
        #[cfg(target_arch = "x86_64")]
        number::UNLINK => files::remove(a1, 0),
        number::UNLINKAT => files::remove(a2, a3),
        number::GETCWD => files::current_directory(a1 as *mut u8, a2 as usize),
        number::IOCTL => -ENOTTY,
        number::FCNTL => 0,
        number::MMAP => map(a1, a2 as usize, a4, a5),
        number::MUNMAP => unmap(a1 as *mut u8, a2 as usize),
        number::MREMAP => -ENOMEM,
        number::MPROTECT => 0,
        number::MADVISE => advise(a1 as u64, a2 as u64, a3),
        // No break to grow: musl's malloc then maps its metadata instead.
        number::BRK => 0,
        number::CLOCK_GETTIME => clock(a1, a2 as *mut i64),
        number::RT_SIGACTION => zero_out(a3 as *mut u8, 32),
        number::RT_SIGPROCMASK => zero_out(a3 as *mut u8, a4 as usize),
        number::GETRUSAGE => zero_out(a2 as *mut u8, 144),
        number::GETPID => THREAD_ID,
        // The cVM has no identity on the host: it is nobody, never root.
        number::GETUID | number::GETEUID | number::GETGID | number::GETEGID => NOBODY,
        number::SET_TID_ADDRESS => hostcall::raw(Hostcall::SetClearAddress, [a1 as u64, 0, 0, 0, 0]),
        number::GETTID => hostcall::raw(Hostcall::ThreadId, [0; 5]),
        number::GETRANDOM => random(a1 as *mut u8, a2 as usize),
        number::TKILL => interface::cvm_exit(128 + a2 as i32),
        // Linux's argument order: flags, stack, parent_tid, then child_tid and the thread
        // pointer on x86-64, the thread pointer and child_tid on AArch64.
        #[cfg(target_arch = "x86_64")]
        number::CLONE => clone(a1, a2, a3, a5, a4),
        #[cfg(target_arch = "aarch64")]
        number::CLONE => clone(a1, a2, a3, a4, a5),
        number::FUTEX => futex(a1, a2, a3, a4, a6),
        number::SCHED_YIELD => 0,
        // Registering costs nothing; a barrier itself is not served.
        number::MEMBARRIER if a1 == MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED => 0,
        number::SCHED_GETAFFINITY => processors(a2 as usize, a3 as *mut u8),
        number::NANOSLEEP => sleep(CLOCK_MONOTONIC, 0, a1 as *const i64),
        number::CLOCK_NANOSLEEP => -sleep(a1, a2, a3 as *const i64),
        number::EXIT => exit_thread(),
        number::EXIT_GROUP => interface::cvm_exit(a1 as i32),
        _ => unsupported(number),
    }
}

/// Sets musl's thread pointer. Returns 0 when it is set (musl may then create threads),
/// -1 when the platform cannot switch it (musl stops).
#[no_mangle]
pub extern "C" fn __cvm_set_thread_pointer(pointer: u64) -> i32 {
    // musl's thread control block has the 16 bytes above the pointer that
    // `cvm_set_thread_pointer` asks for on AArch64.
    // SAFETY: musl passes its thread pointer, with those 16 writable bytes.
    match unsafe { interface::cvm_set_thread_pointer(pointer) } {
        0 => 0,
        _ => -1,
    }
}

/// `clone` as musl's `__clone` makes it for `pthread_create` (`cvm-libc/musl-cvm.patch`):
/// `stack` is the 16-byte aligned top of the new thread's stack, where musl left the
/// thread's function and its argument. Below them go the parent-tid address and a pad,
/// and the intravisor starts the thread at [`thread_start`] on that record. Only threads
/// sharing the cVM's memory exist; any other `clone` (a `fork`) is `-ENOSYS`.
fn clone(flags: i64, stack: i64, parent_tid: i64, thread_pointer: i64, child_tid: i64) -> i64 {
    if flags & (CLONE_VM | CLONE_THREAD) != CLONE_VM | CLONE_THREAD || stack == 0 || stack % 16 != 0 {
        return -ENOSYS;
    }
    let parent_tid = if flags & CLONE_PARENT_SETTID != 0 { parent_tid as u64 } else { 0 };
    let thread_pointer = if flags & CLONE_SETTLS != 0 { thread_pointer as u64 } else { 0 };
    let clear_address = if flags & CLONE_CHILD_CLEARTID != 0 { child_tid as u64 } else { 0 };
    let record = (stack as *mut u64).wrapping_sub(2);
    // SAFETY: musl's `__clone` hands over the top of a stack it mapped for the thread,
    // which nothing uses yet; the 16 bytes below its top are free.
    unsafe {
        record.write(parent_tid);
        record.add(1).write(0);
    }
    #[cfg(target_arch = "aarch64")]
    if thread_pointer != 0 {
        // SAFETY: musl's new thread control block, with 16 bytes above the pointer (as
        // for `cvm_set_thread_pointer`): the second word leads `__cls_get_addr` to this
        // cVM's table in the new thread.
        unsafe { (thread_pointer as *mut u64).add(1).write(crate::cls::table_address()) };
    }
    let start = thread_start as extern "C" fn(*const u64) -> ! as usize as u64;
    let id = hostcall::raw(
        Hostcall::ThreadCreate,
        [start, record as u64, record as u64, thread_pointer, clear_address],
    );
    if id > 0 && parent_tid != 0 {
        // SAFETY: musl passes the address of the new thread's `tid` field.
        unsafe { (parent_tid as *mut i32).write_volatile(id as i32) };
    }
    // A failure is passed on: musl's `pthread_create` turns any into EAGAIN.
    id
}

/// Where a thread [`clone`] made starts: `record` holds the parent-tid address, a pad,
/// the thread's function and its argument.
extern "C" fn thread_start(record: *const u64) -> ! {
    // SAFETY: `clone` wrote the first two words and musl's `__clone` the last two, on
    // this thread's own stack, above the stack pointer it started with.
    let [parent_tid, _, function, argument] = unsafe { record.cast::<[u64; 4]>().read() };
    if parent_tid != 0 {
        let id = hostcall::raw(Hostcall::ThreadId, [0; 5]);
        // SAFETY: as in `clone`; the parent writes the same value.
        unsafe { (parent_tid as *mut i32).write_volatile(id as i32) };
    }
    // SAFETY: musl's `__clone` stored its thread function, `int (*)(void *)`.
    let function: extern "C" fn(u64) -> i32 = unsafe { core::mem::transmute(function as usize) };
    function(argument);
    exit_thread()
}

/// Ends the calling thread (the cVM ends with its last thread).
fn exit_thread() -> ! {
    hostcall::raw(Hostcall::ThreadExit, [0; 5]);
    // The intravisor does not return from a thread's exit; if it ever did, end the cVM.
    interface::cvm_exit(0)
}

/// `futex`: wait and wake go to the intravisor, with musl's private flag (musl waits
/// shared only where the kernel wakes: the word a thread's end clears); a requeue wakes
/// the threads it would have moved instead (they retry, as after any wakeup).
fn futex(address: i64, operation: i64, value: i64, timeout_or_count: i64, expected: i64) -> i64 {
    let private = u64::from(operation & FUTEX_PRIVATE_FLAG != 0);
    match operation & !FUTEX_FLAGS {
        FUTEX_WAIT => {
            let nanoseconds = match timeout_or_count {
                0 => u64::MAX,
                // SAFETY: musl passes a `struct timespec` it owns, relative for FUTEX_WAIT.
                time => match unsafe { nanoseconds_of(time as *const i64) } {
                    Some(nanoseconds) => nanoseconds,
                    None => return -EINVAL,
                },
            };
            hostcall::raw(Hostcall::FutexWait, [address as u64, value as u32 as u64, nanoseconds, private, 0])
        }
        FUTEX_WAKE => hostcall::raw(Hostcall::FutexWake, [address as u64, value as u32 as u64, private, 0, 0]),
        FUTEX_CMP_REQUEUE
            // SAFETY: the futex word the caller names, in its own memory.
            if unsafe { (address as *const i32).read_volatile() } != expected as i32 =>
        {
            -EAGAIN
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let count = (value as u32).saturating_add(timeout_or_count as u32);
            hostcall::raw(Hostcall::FutexWake, [address as u64, u64::from(count), private, 0, 0])
        }
        _ => unsupported(number::FUTEX),
    }
}

/// A `struct timespec` in nanoseconds; `None` when it is negative or out of range.
///
/// # Safety
/// `time` points to a `struct timespec` (two 64-bit fields).
unsafe fn nanoseconds_of(time: *const i64) -> Option<u64> {
    // SAFETY: forwarded from this function's contract.
    let (seconds, nanoseconds) = unsafe { (time.read(), time.add(1).read()) };
    if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
        return None;
    }
    (seconds as u64).checked_mul(1_000_000_000)?.checked_add(nanoseconds as u64)
}

/// `sched_getaffinity`: the first processors the intravisor lets this cVM use.
fn processors(length: usize, mask: *mut u8) -> i64 {
    const MASK_BYTES: usize = 8;
    if length < MASK_BYTES {
        return -EINVAL;
    }
    let count = hostcall::raw(Hostcall::ProcessorCount, [0; 5]).clamp(1, 64) as u32;
    let bits = if count == 64 { u64::MAX } else { (1u64 << count) - 1 };
    // SAFETY: musl passes a mask of `length` bytes it owns.
    unsafe { mask.cast::<[u8; MASK_BYTES]>().write_unaligned(bits.to_le_bytes()) };
    MASK_BYTES as i64
}

/// `nanosleep` and `clock_nanosleep`: sleeps on a futex word of its own that nothing
/// wakes. Returns 0 or -errno.
fn sleep(clock: i64, flags: i64, request: *const i64) -> i64 {
    // SAFETY: musl passes a `struct timespec` it owns.
    let Some(length) = (unsafe { nanoseconds_of(request) }) else {
        return -EINVAL;
    };
    let now = || {
        if clock == CLOCK_REALTIME {
            interface::cvm_clock_wall()
        } else {
            interface::cvm_clock_monotonic()
        }
    };
    let deadline = if flags & TIMER_ABSTIME != 0 { length } else { now().saturating_add(length) };
    let word = AtomicU32::new(0);
    loop {
        let current = now();
        if current >= deadline {
            return 0;
        }
        let answer = hostcall::raw(Hostcall::FutexWait, [word.as_ptr() as u64, 0, deadline - current, 1, 0]);
        if answer < 0 && answer != -ETIMEDOUT && answer != -EAGAIN {
            return answer;
        }
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
            match slot.load(Ordering::Acquire) {
                0 | CLAIMED => None,
                entry => Some(entry.wrapping_sub(1)),
            }
        }
        _ => None,
    }
}

fn write(fd: i64, buffer: *const u8, length: usize) -> i64 {
    if files::read_only(fd) {
        return -EBADF;
    }
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

/// Anonymous private mappings only, page-aligned and zero, from the heap.
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
    // Zero already: the heap's free memory always is (`heap`), so pages the program
    // never touches stay untouched, as the kernel's would.
    let block = heap::allocate_pages(length);
    if block.is_null() {
        return -ENOMEM;
    }
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

/// `madvise`: `MADV_DONTNEED` (pages the C library no longer needs, to read as zeros)
/// goes to the intravisor, which gives their memory back to the host. `MADV_FREE` is
/// taken and left alone, as Linux leaves such pages until it needs the memory: musl's
/// malloc frees groups so and soon reuses them, and giving each back made every reuse a
/// page fault (13,000 faults where the native ffmpeg takes 2,000; a fifth of a
/// transcode's time). Other advice is taken and ignored, as advice may be.
fn advise(address: u64, length: u64, advice: i64) -> i64 {
    const MADV_DONTNEED: i64 = 4;
    if advice != MADV_DONTNEED {
        return 0;
    }
    let Some(length) = length.checked_next_multiple_of(PAGE as u64) else { return -EINVAL };
    hostcall::raw(Hostcall::DiscardPages, [address, length, 0, 0, 0])
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
