//! The file system calls: `open`, `close`, `lseek`, `fstat` and `stat` by name,
//! `pread`/`pwrite`, `ftruncate`, `unlink`, `fsync`, `getcwd`.
//!
//! A cVM sees one flat directory, `/` (its working directory): the files its deployment
//! granted (read only) and the files of its output directory, which it may create,
//! read, write, cut and delete; `/name` and `name` are the same file, and any other
//! path is no file. `/dev/null` and `/dev/urandom` are served here. A read-only open
//! finds a granted file first, else an output; any other open is of an output, made
//! when `O_CREAT` asks (`O_EXCL` refuses one that exists) and emptied when `O_TRUNC`
//! does (write-only and emptied, it is opened for writing alone, which bare metal
//! serves too; every other output open is for update, which only the host serves). `pread` and `pwrite` move the file's position and put it back, so threads that
//! share a descriptor must not use it for other reads meanwhile (SQLite does not).
//! `fsync` has nothing to flush: every write went to the host's file already. A
//! descriptor opened read-only is never written nor cut, though an output's handle
//! behind it is opened for update.

use core::sync::atomic::Ordering;

use abi::{Hostcall, OpenMode};

use super::linux::stat;
use super::{
    handle, CLAIMED, DEVICE_NULL, DEVICE_RANDOM, EBADF, EINVAL, ENOENT, ENOMEM, ESPIPE, FILES, FILE_SLOTS,
    O_ACCMODE, READ_ONLY, S_IFCHR, S_IFREG,
};
use crate::cls::local;
use crate::{hostcall, interface};

const O_WRONLY: i64 = 1;
const O_CREAT: i64 = 0o100;
const O_EXCL: i64 = 0o200;
const O_TRUNC: i64 = 0o1000;
const AT_REMOVEDIR: i64 = 0x200;
const EEXIST: i64 = 17;
const EPERM: i64 = 1;
const ERANGE: i64 = 34;
const SEEK_SET: i64 = 0;
const SEEK_CUR: i64 = 1;

/// The NUL-terminated path at `path`, as the cVM's flat directory names it: `/name` is
/// `name`.
fn file_name<'a>(path: i64) -> &'a [u8] {
    // SAFETY: musl passes a NUL-terminated path.
    let bytes = unsafe { core::ffi::CStr::from_ptr(path as *const core::ffi::c_char) }.to_bytes();
    match bytes.strip_prefix(b"/") {
        Some(name) if !name.is_empty() && !name.contains(&b'/') => name,
        _ => bytes,
    }
}

/// The device a path names, if it is one served here.
fn device(path: i64) -> Option<u64> {
    // SAFETY: musl passes a NUL-terminated path.
    match unsafe { core::ffi::CStr::from_ptr(path as *const core::ffi::c_char) }.to_bytes() {
        b"/dev/null" => Some(DEVICE_NULL),
        b"/dev/urandom" | b"/dev/random" => Some(DEVICE_RANDOM),
        _ => None,
    }
}

/// Opens `name` with the intravisor: its handle, or a negated errno.
fn open_handle(name: &[u8], mode: OpenMode) -> i64 {
    hostcall::raw(Hostcall::Open, [name.as_ptr() as u64, name.len() as u64, mode as u64, 0, 0])
}

/// A granted file called `name`, else an output that exists; the first error when
/// there is neither (`-ENOENT`, even where the cVM has no output directory).
fn input_or_output(name: &[u8]) -> i64 {
    let input = open_handle(name, OpenMode::Read);
    if input >= 0 {
        return input;
    }
    match open_handle(name, OpenMode::UpdateExisting) {
        output if output >= 0 => output,
        _ => input,
    }
}

/// Opens `path` as `open(2)` does with `flags` (see the module's header): a handle.
fn open_file(path: i64, flags: i64) -> i64 {
    let name = file_name(path);
    if flags & O_ACCMODE == 0 {
        return input_or_output(name);
    }
    // Written only and emptied: as every platform's outputs can be (bare metal, whose
    // outputs are the host's files through semihosting, has no update).
    if flags & O_ACCMODE == O_WRONLY && flags & (O_TRUNC | O_EXCL) == O_TRUNC {
        return open_handle(name, OpenMode::Write);
    }
    if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
        let existing = open_handle(name, OpenMode::UpdateExisting);
        if existing >= 0 {
            interface::cvm_close(existing as u64);
            return -EEXIST;
        }
    }
    let mode = if flags & O_CREAT != 0 { OpenMode::Update } else { OpenMode::UpdateExisting };
    let handle = open_handle(name, mode);
    if handle >= 0 && flags & O_TRUNC != 0 {
        let cut = hostcall::raw(Hostcall::Truncate, [handle as u64, 0, 0, 0, 0]);
        if cut < 0 {
            interface::cvm_close(handle as u64);
            return cut;
        }
    }
    handle
}

pub(super) fn open(path: i64, flags: i64) -> i64 {
    // Claimed first, so that threads opening at once never share a slot.
    let files = local(&FILES);
    let Some(slot) = files
        .iter()
        .position(|slot| slot.compare_exchange(0, CLAIMED, Ordering::AcqRel, Ordering::Relaxed).is_ok())
    else {
        return -ENOMEM;
    };
    // Before the slot is filled, so no write through it sees the last owner's mode.
    let bit = 1u64 << slot;
    if flags & O_ACCMODE == 0 {
        local(&READ_ONLY).fetch_or(bit, Ordering::AcqRel);
    } else {
        local(&READ_ONLY).fetch_and(!bit, Ordering::AcqRel);
    }
    if let Some(device) = device(path) {
        files[slot].store(device + 1, Ordering::Release);
        return slot as i64 + 3;
    }
    let handle = open_file(path, flags);
    if handle < 0 {
        files[slot].store(0, Ordering::Release);
        return if handle == -EBADF { -ENOENT } else { handle };
    }
    files[slot].store(handle as u64 + 1, Ordering::Release);
    slot as i64 + 3
}

/// Whether `fd` was opened read-only (`READ_ONLY`).
pub(super) fn read_only(fd: i64) -> bool {
    match u32::try_from(fd - 3) {
        Ok(slot) if (slot as usize) < FILE_SLOTS => {
            local(&READ_ONLY).load(Ordering::Acquire) & (1 << slot) != 0
        }
        _ => false,
    }
}

pub(super) fn close(fd: i64) -> i64 {
    let Some(slot) = usize::try_from(fd - 3).ok().and_then(|index| local(&FILES).get(index)) else {
        return if (0..=2).contains(&fd) { 0 } else { -EBADF };
    };
    let entry = slot.load(Ordering::Acquire);
    if entry == 0
        || entry == CLAIMED
        || slot.compare_exchange(entry, 0, Ordering::AcqRel, Ordering::Relaxed).is_err()
    {
        return -EBADF;
    }
    match entry - 1 {
        DEVICE_NULL | DEVICE_RANDOM => 0,
        handle => interface::cvm_close(handle),
    }
}

pub(super) fn seek(fd: i64, offset: i64, whence: i64) -> i64 {
    match handle(fd) {
        Some(0..=2 | DEVICE_RANDOM) => -ESPIPE,
        Some(DEVICE_NULL) => 0,
        Some(handle) => hostcall::raw(Hostcall::Seek, [handle, offset as u64, whence as u64, 0, 0]),
        None => -EBADF,
    }
}

/// `pread`/`pwrite`: `transfer` at `offset`, the file's position kept.
pub(super) fn positioned(fd: i64, offset: i64, transfer: impl FnOnce() -> i64) -> i64 {
    match handle(fd) {
        Some(0..=2) => return -ESPIPE,
        Some(DEVICE_NULL | DEVICE_RANDOM) => return transfer(),
        Some(_) => {}
        None => return -EBADF,
    }
    if offset < 0 {
        return -EINVAL;
    }
    let position = seek(fd, 0, SEEK_CUR);
    if position < 0 {
        return position;
    }
    let moved = seek(fd, offset, SEEK_SET);
    if moved < 0 {
        return moved;
    }
    let done = transfer();
    seek(fd, position, SEEK_SET);
    done
}

/// Whether `path` is the empty string (`fstatat(fd, "", ..., AT_EMPTY_PATH)`).
pub(super) fn empty(path: i64) -> bool {
    // SAFETY: musl passes a NUL-terminated path.
    path != 0 && unsafe { (path as *const u8).read() } == 0
}

/// `fstat`: a character device for the console, a regular file of its size otherwise.
pub(super) fn file_status(fd: i64, status: *mut u8) -> i64 {
    match handle(fd) {
        Some(handle) => handle_status(handle, status),
        None => -EBADF,
    }
}

/// `stat`, `lstat`, `fstatat` by name: as `fstat` of the file opened read-only (so
/// nothing is made), `-ENOENT` when there is none.
pub(super) fn path_status(path: i64, status: *mut u8) -> i64 {
    if let Some(device) = device(path) {
        return handle_status(device, status);
    }
    let handle = input_or_output(file_name(path));
    if handle < 0 {
        return if handle == -EBADF { -ENOENT } else { handle };
    }
    let answer = handle_status(handle as u64, status);
    interface::cvm_close(handle as u64);
    answer
}

/// `access`, `faccessat`: whether the file exists, as `stat` finds it.
pub(super) fn accessible(path: i64) -> i64 {
    let mut status = [0u8; stat::BYTES];
    path_status(path, status.as_mut_ptr()).min(0)
}

fn handle_status(handle: u64, status: *mut u8) -> i64 {
    let (mode, size) = match handle {
        0..=2 | DEVICE_NULL | DEVICE_RANDOM => (S_IFCHR | 0o666, 0),
        handle => match hostcall::raw(Hostcall::FileSize, [handle, 0, 0, 0, 0]) {
            size if size >= 0 => (S_IFREG | 0o644, size),
            error => return error,
        },
    };
    // SAFETY: musl passes a `struct stat` it owns, of the target's layout (`stat`).
    unsafe {
        core::ptr::write_bytes(status, 0, stat::BYTES);
        status.add(stat::LINKS).cast::<u32>().write_unaligned(1);
        status.add(stat::MODE).cast::<u32>().write_unaligned(mode);
        status.add(stat::SIZE).cast::<i64>().write_unaligned(size);
        status.add(stat::BLOCK_SIZE).cast::<u32>().write_unaligned(4096);
    }
    0
}

/// `ftruncate`: cuts an output (never grows one: see `Hostcall::Truncate`).
pub(super) fn truncate(fd: i64, length: i64) -> i64 {
    if read_only(fd) {
        return -EINVAL;
    }
    match (handle(fd), u64::try_from(length)) {
        (Some(0..=2 | DEVICE_NULL | DEVICE_RANDOM), _) => -EINVAL,
        (Some(handle), Ok(length)) => hostcall::raw(Hostcall::Truncate, [handle, length, 0, 0, 0]),
        (Some(_), Err(_)) => -EINVAL,
        (None, _) => -EBADF,
    }
}

/// `unlink`, `unlinkat`: deletes an output; there are no directories to remove.
pub(super) fn remove(path: i64, flags: i64) -> i64 {
    if flags & AT_REMOVEDIR != 0 || device(path).is_some() {
        return -EPERM;
    }
    let name = file_name(path);
    hostcall::raw(Hostcall::Remove, [name.as_ptr() as u64, name.len() as u64, 0, 0, 0])
}

/// `fsync`, `fdatasync`: nothing to flush; an open descriptor succeeds.
pub(super) fn sync(fd: i64) -> i64 {
    if handle(fd).is_some() {
        0
    } else {
        -EBADF
    }
}

/// `getcwd`: `/`, the cVM's one directory. Returns the length with the NUL, as Linux.
pub(super) fn current_directory(buffer: *mut u8, size: usize) -> i64 {
    if size < 2 {
        return -ERANGE;
    }
    // SAFETY: musl passes a buffer of `size` bytes it owns.
    unsafe {
        buffer.write(b'/');
        buffer.add(1).write(0);
    }
    2
}
