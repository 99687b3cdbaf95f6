//! The arena: one reserved range of address space that every cVM region lies in.
//!
//! The arena is mapped `PROT_NONE` and `MAP_NORESERVE` at start, so it costs no memory
//! until a region's pages are made accessible. This module is the only one that reads or
//! writes cVM memory: every method checks that the range it is given lies inside the
//! arena before it touches anything, so a wrong range from the layer above is an error,
//! never a write into the intravisor's own memory.
//!
//! For cVMs that run as processes, the arena is backed by files
//! ([`Arena::share_with_processes`]): the shared area by one (on disk where it can be),
//! each region by a memory file of its own
//! ([`Arena::back_region`]), so a cVM's process maps the very same pages at the same
//! addresses. The arena is reserved at a fixed, otherwise unused address where the
//! kernel allows it, so that range is free in every cVM process too.

use core::ops::Range;
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::memory_file;
use super::merge::{MergeGroup, RegionMerge};

use crate::guest::Protection;

fn native_protection(protection: Protection) -> libc::c_int {
    match protection {
        Protection::None => libc::PROT_NONE,
        Protection::Read => libc::PROT_READ,
        Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
    }
}

/// Why an arena operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ArenaError {
    /// The kernel refused to reserve the arena.
    #[error("cannot reserve {size} bytes of address space for the arena: {source}")]
    Reserve {
        /// Requested size.
        size: u64,
        /// The kernel's answer.
        source: io::Error,
    },
    /// A range handed to the arena is not inside it, or not page-aligned.
    #[error("range {start:#x}..{end:#x} is not a page-aligned range inside the arena {arena_start:#x}..{arena_end:#x}")]
    OutOfArena {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
        /// Start of the arena.
        arena_start: u64,
        /// End of the arena.
        arena_end: u64,
    },
    /// Pages to give back are not inside one region.
    #[error("pages {start:#x}..{end:#x} are not inside one cVM region")]
    NotInRegion {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// `mprotect` or `madvise` failed.
    #[error("cannot change pages {start:#x}..{end:#x}: {source}")]
    Protect {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
        /// The kernel's answer.
        source: io::Error,
    },
    /// Writing an object's bytes into the shared area's file failed (a full disk).
    #[error("cannot write {length} bytes at {start:#x} into the shared objects' file: {source}")]
    Write {
        /// Where the bytes go.
        start: u64,
        /// How many.
        length: u64,
        /// The kernel's answer.
        source: io::Error,
    },
}

/// The reserved address range.
#[derive(Debug)]
pub struct Arena {
    base: u64,
    size: u64,
    files: Option<MemoryFiles>,
}

/// The memory files behind the arena, when cVMs run as processes.
#[derive(Debug)]
struct MemoryFiles {
    shared: Range<u64>,
    shared_file: OwnedFd,
    /// Whether `shared_file` is on disk (room is taken before pages are written), not a
    /// memory file (where taking room would make zero pages resident).
    shared_on_disk: bool,
    shared_read_only: OwnedFd,
    /// By region start: the region's end, its file, and its run-time sharing.
    regions: Mutex<BTreeMap<u64, BackedRegion>>,
}

impl MemoryFiles {
    /// Where `[start, end)` (not empty) lies in the shared area's file, if inside it.
    fn shared_offset(&self, start: u64, end: u64) -> Option<u64> {
        (start < end && start >= self.shared.start && end <= self.shared.end)
            .then(|| start - self.shared.start)
    }
}

/// One region's memory file and, when its tenant opted in, its run-time sharing.
#[derive(Debug)]
struct BackedRegion {
    end: u64,
    file: Arc<OwnedFd>,
    merge: Option<Arc<RegionMerge>>,
}

/// The files a cVM's process maps: its region's and a read-only one of the shared area.
#[derive(Debug)]
pub struct RegionFiles<'a> {
    /// The region's memory file (offset 0 at its start).
    pub region: Arc<OwnedFd>,
    /// The shared area's memory file, read-only.
    pub shared: BorrowedFd<'a>,
    /// The shared area.
    pub shared_range: Range<u64>,
    /// Its run-time sharing, when its tenant opted in.
    pub merge: Option<Arc<RegionMerge>>,
}

/// Addresses tried for the arena before the kernel picks one: far from where the kernel
/// puts anything of a process by itself (program, heap, stack, libraries).
const PREFERRED_BASES: [u64; 2] = [0x1000_0000_0000, 0x40_0000_0000];

/// Page size the arena works in.
const PAGE: u64 = 4096;

impl Arena {
    /// Reserves `size` bytes of address space (rounded up to a page), inaccessible.
    /// `alignment` (a power of two) is the alignment of the arena's base.
    pub fn reserve(size: u64, alignment: u64) -> Result<Self, ArenaError> {
        let size = size.div_ceil(PAGE) * PAGE;
        let alignment = alignment.max(PAGE);
        let padded = size + alignment;
        let reserve = |hint: u64, flags: libc::c_int| {
            // SAFETY: an anonymous PROT_NONE mapping at an address the kernel picks, or
            // at `hint` only where nothing is mapped (MAP_FIXED_NOREPLACE), touches no
            // existing mapping.
            unsafe {
                libc::mmap(
                    hint as *mut libc::c_void,
                    padded as usize,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | flags,
                    -1,
                    0,
                )
            }
        };
        let raw = PREFERRED_BASES
            .iter()
            .map(|&hint| reserve(hint, libc::MAP_FIXED_NOREPLACE))
            .find(|&raw| raw != libc::MAP_FAILED)
            .unwrap_or_else(|| reserve(0, 0));
        if raw == libc::MAP_FAILED {
            return Err(ArenaError::Reserve { size, source: io::Error::last_os_error() });
        }
        let start = raw as u64;
        let base = start.next_multiple_of(alignment);
        // Give back the padding on both sides so the arena is exactly [base, base+size).
        // SAFETY: both ranges lie inside the mapping just made and outside the arena.
        unsafe {
            if base > start {
                libc::munmap(raw, (base - start) as usize);
            }
            let end = base + size;
            let padded_end = start + padded;
            if padded_end > end {
                libc::munmap(end as *mut libc::c_void, (padded_end - end) as usize);
            }
        }
        Ok(Self { base, size, files: None })
    }

    /// Backs the shared area `shared` (inside the arena) with one file, so that cVM
    /// processes can map the objects loaded there: a file without a name in
    /// `objects_directory` ([`objects_directory`]), or a memory file where that
    /// directory cannot hold one. From then on every region handed out is backed by a
    /// memory file of its own ([`Arena::back_region`]).
    pub fn share_with_processes(
        &mut self,
        shared: Range<u64>,
        objects_directory: &Path,
    ) -> Result<(), ArenaError> {
        self.check(shared.start, shared.end)?;
        let error = |source| ArenaError::Protect { start: shared.start, end: shared.end, source };
        let length = shared.end - shared.start;
        let (shared_file, shared_on_disk) = match memory_file::create_unnamed(objects_directory, length) {
            Ok(file) => (file, true),
            Err(reason) => {
                log::info!(
                    "the shared objects stay in memory: no file without a name in {} ({reason})",
                    objects_directory.display()
                );
                (memory_file::create(c"cvm-shared", length).map_err(error)?, false)
            }
        };
        let shared_read_only = memory_file::read_only(&shared_file).map_err(error)?;
        // SAFETY: the range lies in the arena (checked above), and nothing is loaded in
        // the shared area yet.
        unsafe { memory_file::map_over(shared.start, length, &shared_file) }.map_err(error)?;
        self.files = Some(MemoryFiles {
            shared,
            shared_file,
            shared_on_disk,
            shared_read_only,
            regions: Mutex::default(),
        });
        Ok(())
    }

    /// Drops the intravisor's own view of `[start, end)` of the shared area, once an
    /// object is loaded there: its pages stay in the file, and only those some cVM
    /// process touches are mapped (and counted) anywhere. Nothing to do unless the arena
    /// shares with processes, nor outside the shared area.
    pub fn drop_shared_view(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        let Some(files) = &self.files else { return Ok(()) };
        self.check(start, end)?;
        if files.shared_offset(start, end).is_none() {
            return Ok(());
        }
        // SAFETY: the range lies in the shared area, mapped shared from its file
        // (checked above), which keeps every byte.
        unsafe { memory_file::drop_view(start, end - start) }.map_err(|source| ArenaError::Protect {
            start,
            end,
            source,
        })
    }

    /// Whether the arena is backed by memory files for cVM processes.
    pub fn shares_with_processes(&self) -> bool {
        self.files.is_some()
    }

    /// Backs a region that was just handed out (inaccessible, unused) with a memory file
    /// of its own; nothing to do unless the arena shares with processes.
    pub fn back_region(&self, region: Range<u64>) -> Result<(), ArenaError> {
        let Some(files) = &self.files else { return Ok(()) };
        self.check(region.start, region.end)?;
        let error = |source| ArenaError::Protect { start: region.start, end: region.end, source };
        let length = region.end - region.start;
        let file = memory_file::create(c"cvm-region", length).map_err(error)?;
        // SAFETY: the range lies in the arena (checked above); the region was just
        // handed out, so nothing uses it.
        unsafe { memory_file::map_over(region.start, length, &file) }.map_err(error)?;
        files
            .regions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(region.start, BackedRegion { end: region.end, file: Arc::new(file), merge: None });
        Ok(())
    }

    /// Makes the region starting at `region_start` (backed by a file) a member of the
    /// run-time sharing group `group`.
    pub fn share_at_run_time(
        &self,
        region_start: u64,
        group: Arc<MergeGroup>,
    ) -> Result<Arc<RegionMerge>, ArenaError> {
        let not_backed = ArenaError::NotInRegion { start: region_start, end: region_start };
        let Some(files) = &self.files else { return Err(not_backed) };
        let mut regions = files.regions.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(backed) = regions.get_mut(&region_start) else { return Err(not_backed) };
        let region = region_start..backed.end;
        let merge = RegionMerge::new(group, region.clone(), Arc::clone(&backed.file))
            .map_err(|source| ArenaError::Protect { start: region.start, end: region.end, source })?;
        let merge = Arc::new(merge);
        backed.merge = Some(Arc::clone(&merge));
        Ok(merge)
    }

    /// The files a process of the cVM whose region starts at `region_start` maps.
    pub fn region_files(&self, region_start: u64) -> Option<RegionFiles<'_>> {
        let files = self.files.as_ref()?;
        let regions = files.regions.lock().unwrap_or_else(PoisonError::into_inner);
        let backed = regions.get(&region_start)?;
        Some(RegionFiles {
            region: Arc::clone(&backed.file),
            shared: files.shared_read_only.as_fd(),
            shared_range: files.shared.clone(),
            merge: backed.merge.clone(),
        })
    }

    /// Frees the pages of `[start, end)` where memory files back them: a whole region's
    /// file is dropped (its range becomes reservation again), pages of the shared area
    /// or part of a region are punched out of their file. Returns whether it did.
    fn scrub_files(&self, start: u64, end: u64) -> Result<bool, ArenaError> {
        let Some(files) = &self.files else { return Ok(false) };
        let error = |source| ArenaError::Protect { start, end, source };
        let mut regions = files.regions.lock().unwrap_or_else(PoisonError::into_inner);
        if regions.get(&start).is_some_and(|backed| backed.end == end) {
            if let Some(merge) = regions.get(&start).and_then(|backed| backed.merge.as_ref()) {
                merge.close();
            }
            // SAFETY: the range is a whole region of the arena, being scrubbed: nothing
            // reads it any more (its run-time sharing, closed above, maps nothing more).
            unsafe { memory_file::unmap_to_reservation(start, end - start) }.map_err(error)?;
            regions.remove(&start);
            return Ok(true);
        }
        if let Some(offset) = files.shared_offset(start, end) {
            memory_file::punch_hole(&files.shared_file, offset, end - start).map_err(error)?;
            return Ok(true);
        }
        if let Some((&region_start, backed)) = regions.range(..=start).next_back() {
            if end <= backed.end {
                memory_file::punch_hole(&backed.file, start - region_start, end - start).map_err(error)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Lets Linux's KSM merge identical pages of the arena (`MADV_MERGEABLE`): with KSM
    /// running (`/sys/kernel/mm/ksm/run`), the kernel then scans cVM memory for pages
    /// it can share copy-on-write, the alternative to ORC the density benchmark compares.
    pub fn make_mergeable(&self) -> Result<(), ArenaError> {
        // SAFETY: the range is the arena's own private anonymous mapping; the advice
        // changes how the kernel may back its pages, not their contents.
        let status = unsafe {
            libc::madvise(self.base as *mut libc::c_void, self.size as usize, libc::MADV_MERGEABLE)
        };
        if status != 0 {
            return Err(ArenaError::Protect {
                start: self.base,
                end: self.base + self.size,
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The arena's address range.
    pub fn range(&self) -> Range<u64> {
        self.base..self.base + self.size
    }

    fn check(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        let inside = start <= end && start >= self.base && end <= self.base + self.size;
        if inside && start.is_multiple_of(PAGE) && end.is_multiple_of(PAGE) {
            Ok(())
        } else {
            Err(ArenaError::OutOfArena {
                start,
                end,
                arena_start: self.base,
                arena_end: self.base + self.size,
            })
        }
    }

    fn check_bytes(&self, start: u64, length: u64) -> Result<(), ArenaError> {
        let end = start.checked_add(length);
        match end {
            Some(end) if start >= self.base && end <= self.base + self.size => Ok(()),
            _ => Err(ArenaError::OutOfArena {
                start,
                end: end.unwrap_or(u64::MAX),
                arena_start: self.base,
                arena_end: self.base + self.size,
            }),
        }
    }

    /// Takes room on disk for the pages `[start, end)` of the shared area that an object
    /// is about to be written into, so that a full disk is this error, not a `SIGBUS` of
    /// the intravisor as it writes them. Nothing to do unless the shared area is a file
    /// on disk (room in a memory file would make its zero pages resident).
    pub fn take_room(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        let Some(files) = &self.files else { return Ok(()) };
        self.check(start, end)?;
        match files.shared_offset(start, end) {
            Some(offset) if files.shared_on_disk => {
                memory_file::allocate(&files.shared_file, offset, end - start)
                    .map_err(|source| ArenaError::Protect { start, end, source })
            }
            _ => Ok(()),
        }
    }

    /// Sets the protection of the pages `[start, end)`.
    pub fn protect(&self, start: u64, end: u64, protection: Protection) -> Result<(), ArenaError> {
        self.check(start, end)?;
        if start == end {
            return Ok(());
        }
        // SAFETY: the range lies inside the arena's own mapping (checked above), which
        // holds only cVM memory, never the intravisor's.
        let status = unsafe {
            libc::mprotect(start as *mut libc::c_void, (end - start) as usize, native_protection(protection))
        };
        if status != 0 {
            return Err(ArenaError::Protect { start, end, source: io::Error::last_os_error() });
        }
        Ok(())
    }

    /// Scrubs `[start, end)`: drops its pages (they read as zero afterwards) and makes it
    /// inaccessible again.
    pub fn scrub(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        self.check(start, end)?;
        if start == end {
            return Ok(());
        }
        if self.scrub_files(start, end)? {
            return self.protect(start, end, Protection::None);
        }
        // SAFETY: the range lies inside the arena's private anonymous mapping (checked
        // above); MADV_DONTNEED there frees the pages and later reads give zeros.
        let status =
            unsafe { libc::madvise(start as *mut libc::c_void, (end - start) as usize, libc::MADV_DONTNEED) };
        if status != 0 {
            return Err(ArenaError::Protect { start, end, source: io::Error::last_os_error() });
        }
        self.protect(start, end, Protection::None)
    }

    /// Gives the pages `[start, end)` (inside one region, in use) back to the kernel:
    /// they read as zero afterwards, and keep their protection.
    pub fn discard(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        self.check(start, end)?;
        if start == end {
            return Ok(());
        }
        let error = |source| ArenaError::Protect { start, end, source };
        if let Some(files) = &self.files {
            let regions = files.regions.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((&region_start, backed)) = regions.range(..=start).next_back() {
                if end <= backed.end {
                    return memory_file::punch_hole(&backed.file, start - region_start, end - start)
                        .map_err(error);
                }
            }
            return Err(ArenaError::NotInRegion { start, end });
        }
        // SAFETY: the range lies inside the arena's private anonymous mapping (checked
        // above), which holds only cVM memory; MADV_DONTNEED frees its pages and later
        // reads give zeros.
        let status =
            unsafe { libc::madvise(start as *mut libc::c_void, (end - start) as usize, libc::MADV_DONTNEED) };
        if status != 0 {
            return Err(error(io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Copies `bytes` into the arena at `address`: into the shared area's file where
    /// that is on disk (loading an object: its segments and each relocation, with
    /// `pwrite`), else through the mapping. Through the mapping, each page of the sparse
    /// file would be faulted in, read ahead and zeroed first, and each write fault on it
    /// pays the file system's dirtying: 20 starts of a 60-frame transcode took 1.6-1.8 s
    /// of processor time writing through the mapping, 1.1-1.5 s with `pwrite` only, and
    /// 1.8-2.0 s with segments written by `pwrite` and relocations through the mapping.
    ///
    /// The caller has made the destination pages writable; a write into a page that is
    /// not would fault in the intravisor, which is why every caller checks the cVM's
    /// mapping table first.
    pub fn write(&self, address: u64, bytes: &[u8]) -> Result<(), ArenaError> {
        self.check_bytes(address, bytes.len() as u64)?;
        let length = bytes.len() as u64;
        if let Some(files) = self.files.as_ref().filter(|files| files.shared_on_disk) {
            if let Some(offset) = files.shared_offset(address, address + length) {
                return memory_file::write_at(&files.shared_file, offset, bytes)
                    .map_err(|source| ArenaError::Write { start: address, length, source });
            }
        }
        // SAFETY: the destination lies inside the arena (checked above), so it never
        // overlaps `bytes`, which is intravisor memory; the caller made it writable.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) };
        Ok(())
    }

    /// Copies bytes out of the arena at `address` into `buffer`.
    ///
    /// The caller has checked that the source pages are readable.
    pub fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), ArenaError> {
        self.check_bytes(address, buffer.len() as u64)?;
        // SAFETY: the source lies inside the arena (checked above) and never overlaps
        // `buffer`; the caller checked it is mapped readable.
        unsafe { core::ptr::copy_nonoverlapping(address as *const u8, buffer.as_mut_ptr(), buffer.len()) };
        Ok(())
    }
}

/// Where the file of the shared area is made, unless `ORC_OBJECTS_DIRECTORY` names
/// another directory: one on disk, so that object pages no cVM touches are clean cache
/// the kernel may reclaim, as it does a native program's unused library pages, rather
/// than resident memory (`/tmp` is often a memory file system).
pub fn objects_directory() -> PathBuf {
    std::env::var_os("ORC_OBJECTS_DIRECTORY").map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from)
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: the arena owns this mapping; no cVM runs once the arena is dropped,
        // because every cVM borrows it.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.size as usize) };
    }
}

impl crate::memory::RegionMemory for Arena {
    type Error = ArenaError;

    fn protect(&self, start: u64, end: u64, protection: Protection) -> Result<(), ArenaError> {
        Arena::protect(self, start, end, protection)
    }

    fn write(&self, address: u64, bytes: &[u8]) -> Result<(), ArenaError> {
        Arena::write(self, address, bytes)
    }

    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), ArenaError> {
        Arena::read(self, address, buffer)
    }

    fn scrub(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        Arena::scrub(self, start, end)
    }

    fn back_region(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        Arena::back_region(self, start..end)
    }

    fn drop_view(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        Arena::drop_shared_view(self, start, end)
    }

    fn take_room(&self, start: u64, end: u64) -> Result<(), ArenaError> {
        Arena::take_room(self, start, end)
    }
}
