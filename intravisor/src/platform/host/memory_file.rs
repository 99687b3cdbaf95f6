//! Files behind parts of the arena, so that a cVM's process can map the same pages at
//! the same addresses as the intravisor: memory files (`memfd`) for regions, a file
//! without a name on disk for the shared objects.
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

/// A new file of `size` bytes (sparse) with no name, in `directory`'s file system: its
/// pages live in the page cache, so pages no process maps are clean cache the kernel may
/// reclaim (once written back), as the pages of a program's libraries are; a memory
/// file's are resident until it is closed. `O_EXCL` keeps it from ever being given a
/// name, so only its descriptors reach it.
pub(super) fn create_unnamed(directory: &std::path::Path, size: u64) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(directory.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a directory name holds a NUL byte"))?;
    // SAFETY: open takes a NUL-terminated path, flags and a mode; it returns a new fd.
    let raw = unsafe {
        libc::open(path.as_ptr(), libc::O_TMPFILE | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC, 0o600)
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let file = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut system = core::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs fills the buffer it is given for the descriptor just made.
    if unsafe { libc::fstatfs(file.as_raw_fd(), system.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatfs succeeded, so it filled the buffer.
    if unsafe { system.assume_init() }.f_type == libc::TMPFS_MAGIC {
        // Its pages would be as resident as a memory file's, and its size is limited.
        return Err(io::Error::new(io::ErrorKind::Unsupported, "a file system in memory"));
    }
    // SAFETY: ftruncate on the descriptor just made.
    if unsafe { libc::ftruncate(file.as_raw_fd(), size as libc::off_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// Drops this process's page-table entries for `[start, start + length)` of a shared
/// file mapping: the pages stay in the file, and a later access maps them again.
///
/// # Safety
/// The range lies inside the arena and is mapped shared from a file, so nothing is lost.
pub(super) unsafe fn drop_view(start: u64, length: u64) -> io::Result<()> {
    // SAFETY: the caller guarantees a shared file mapping, where MADV_DONTNEED only
    // unmaps: the file keeps the bytes.
    if unsafe { libc::madvise(start as *mut libc::c_void, length as usize, libc::MADV_DONTNEED) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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

/// Gives `[offset, offset + length)` of the file its room on disk, so that writing
/// those pages through a mapping cannot fail (`SIGBUS`) for want of it.
pub(super) fn allocate(file: &OwnedFd, offset: u64, length: u64) -> io::Result<()> {
    // SAFETY: fallocate on our own file; it reserves blocks, touches no memory.
    let status =
        unsafe { libc::fallocate(file.as_raw_fd(), 0, offset as libc::off_t, length as libc::off_t) };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes `bytes` into `file` at `offset`, through the page cache: a page of a hole is
/// allocated there and filled, where writing it through a mapping would first fault it
/// in, read ahead and zero a whole batch of pages around it.
pub(super) fn write_at(file: &OwnedFd, offset: u64, bytes: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        match rustix::io::pwrite(file, &bytes[written..], offset + written as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(count) => written += count,
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
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
