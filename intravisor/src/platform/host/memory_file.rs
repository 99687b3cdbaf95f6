//! Memory files (`memfd`) behind parts of the arena, so that a cVM's process can map the
//! same pages at the same addresses as the intravisor.
//!
//! Every function here takes a range the arena has checked to lie inside its own
//! reservation; none touches any other mapping of the intravisor.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A new memory file of `size` bytes (sparse: it costs nothing until written).
pub(super) fn create(name: &std::ffi::CStr, size: u64) -> io::Result<OwnedFd> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new fd.
    let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let file = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ftruncate on the descriptor just made.
    if unsafe { libc::ftruncate(file.as_raw_fd(), size as libc::off_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// A read-only descriptor of the same file: what it maps can never become writable.
pub(super) fn read_only(file: &OwnedFd) -> io::Result<OwnedFd> {
    Ok(OwnedFd::from(std::fs::File::open(format!("/proc/self/fd/{}", file.as_raw_fd()))?))
}

/// Maps `file` (from offset 0) over `[start, start + length)`, shared and inaccessible.
///
/// # Safety
/// The range lies inside the arena's reservation and holds nothing in use.
pub(super) unsafe fn map_over(start: u64, length: u64, file: &OwnedFd) -> io::Result<()> {
    // SAFETY: the caller guarantees the range is the arena's and unused.
    let mapped = unsafe {
        libc::mmap(
            start as *mut libc::c_void,
            length as usize,
            libc::PROT_NONE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            file.as_raw_fd(),
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts fresh inaccessible anonymous memory (the arena's reservation) back over a range.
///
/// # Safety
/// The range lies inside the arena's reservation and nothing reads it any more.
pub(super) unsafe fn unmap_to_reservation(start: u64, length: u64) -> io::Result<()> {
    // SAFETY: the caller guarantees the range is the arena's and unused.
    let mapped = unsafe {
        libc::mmap(
            start as *mut libc::c_void,
            length as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Frees the file's pages `[offset, offset + length)`: they read as zero afterwards.
pub(super) fn punch_hole(file: &OwnedFd, offset: u64, length: u64) -> io::Result<()> {
    // SAFETY: fallocate on our own memory file; it frees pages, touches no memory.
    let status = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            length as libc::off_t,
        )
    };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Maps the whole of `file` (`size` bytes, shared) where the kernel chooses; returns
/// the address.
pub(super) fn map_anywhere(file: &OwnedFd, size: u64, protection: libc::c_int) -> io::Result<u64> {
    // SAFETY: a new shared mapping at an address the kernel picks touches no other.
    let mapped = unsafe {
        libc::mmap(core::ptr::null_mut(), size as usize, protection, libc::MAP_SHARED, file.as_raw_fd(), 0)
    };
    if mapped == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(mapped as u64)
}
