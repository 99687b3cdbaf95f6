//! Run-time sharing: pages that cVMs of one tenant, running the same program on the same
//! objects, filled identically (lookup tables computed from the same parameters, tables
//! initialised at first use) become one physical copy, copy-on-write, without page
//! scanning by the kernel. The tenant's policy opts in (`run_time_sharing`), because
//! shared writable pages are a timing side channel between the cVMs that share them.
//!
//! A *group* is those cVMs; it has one memory file (its *merged file*) as large as one
//! region, whose pages (*slots*) each hold, once written, a content that every member
//! held at the time, at any offset of its region (one cVM's heap may lay a table out a
//! page or two from where another's does). Only contents every member holds are merged:
//! each member can read the whole merged file, so a content some member never held would
//! be shown to it. A slot is written once and never reused. Each member has a
//! [`RegionMerge`]: the state of each of its pages (its own, being merged into a slot,
//! merged, given back), and a *merge map* shared with its process:
//!
//! - words `WANTED_GENERATION`, `APPLIED_GENERATION`, `REGION_START`, `PAGES`, `LOCK`;
//! - at `WAITING`, one word per hostcall slot: the page a thread is futex-waiting on;
//! - at `BITS`, the pages the intravisor wants mapped from the merged file, then the
//!   pages the process says it has so mapped, then the wanted pages that are *zero
//!   pages*: given back rather than merged (below); then, a 32-bit word per page, the
//!   slot each wanted page is mapped from.
//!
//! Merging a page is: (1) the intravisor writes the contents into a slot of the merged
//! file and wants the page merged from it; (2) the process (`shim.c`, at its next
//! hostcall, futex wait or fault) first freezes its page (maps its own file's page
//! read-only: from then on a write by any of its threads faults and unshares it), checks
//! that the frozen page still holds the slot's bytes (a thread may have written since
//! the intravisor compared), and only then maps the slot over it read-only, unless a
//! thread waits on a futex there; (3) the intravisor, under the page states' lock,
//! checks that the process says so and that the region's page still holds the slot's
//! bytes, then frees the region's page. The intravisor's own view of
//! the region is never remapped (what a cVM does cannot fragment the intravisor's
//! address space): it reads a merged page from the group's file (`read`), and gives the
//! cVM its own copy back before it writes one (`with_own_pages`). A write by the cVM to
//! a merged page faults in its process, which asks the intravisor to unshare it: the
//! contents go back into the region's file, which the process maps again (as it does,
//! before the cVM runs on, after any write of the intravisor). Futex waits are made on
//! the region's file only: a thread that would wait on a merged page unshares it first.
//!
//! A page of zeros that is not merged (a freed heap page, a buffer never written) is
//! given back: the process freezes it and checks it holds zeros, then the intravisor
//! punches it out of the region's file. Reading it again costs a page again; writing it
//! faults and unshares it like a merged page.
//!
//! The process can write every word of the map: what it says is an allegation that only
//! decides what the cVM itself sees (at worst a slot, a content every member held). The
//! intravisor never merges a page whose bytes differ from its slot's, and never maps
//! another cVM's page.

use core::ops::Range;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::memory_file;

mod compare;
pub use compare::identical_pages;

/// Page size.
const PAGE: u64 = 4096;
/// The most pages of a region run-time sharing covers (1 GiB; pages beyond stay the
/// cVM's own).
const MOST_PAGES: u64 = 1 << 18;

/// Words of the merge map (`shim.c` agrees).
mod word {
    pub(super) const WANTED_GENERATION: usize = 0;
    pub(super) const APPLIED_GENERATION: usize = 1;
    pub(super) const REGION_START: usize = 2;
    pub(super) const PAGES: usize = 3;
    // 4: the process's lock while it applies the map; 16..80: the waiting words.
    pub(super) const BITS: usize = 128;
}

/// The state of one page of a member's region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageState {
    Own,
    /// Proposed for merging from a slot of the merged file (`States::slots`).
    Merging,
    /// Merged: the process maps a slot of the merged file there (`States::slots`).
    Merged,
    /// A page of zeros being given back.
    Emptying,
    /// A page of zeros given back: the region's file has a hole there.
    Emptied,
}

/// One group's merged file: each slot (page) holds a content every member held.
#[derive(Debug)]
pub struct MergeGroup {
    read_only: OwnedFd,
    /// The intravisor's read-write mapping of the whole file.
    view: u64,
    size: u64,
    slots: Mutex<Slots>,
}

/// The slots written so far (each is, once), by the fingerprint of their contents.
#[derive(Debug, Default)]
struct Slots {
    by_fingerprint: HashMap<u64, Vec<u32>>,
    used: u32,
}

// SAFETY: the view is a shared mapping owned by the group, only read and written through
// raw copies whose ranges are checked against `size`.
unsafe impl Send for MergeGroup {}
// SAFETY: as above.
unsafe impl Sync for MergeGroup {}

impl MergeGroup {
    /// A group for regions of `region_size` bytes.
    pub fn new(region_size: u64) -> io::Result<Arc<Self>> {
        let size = region_size.min(MOST_PAGES * PAGE).next_multiple_of(PAGE);
        let file = memory_file::create(c"cvm-merged", size)?;
        let read_only = memory_file::read_only(&file)?;
        let view = memory_file::map_anywhere(&file, size, libc::PROT_READ | libc::PROT_WRITE)?;
        // The view keeps the file; the read-write descriptor is not needed any more.
        Ok(Arc::new(Self { read_only, view, size, slots: Mutex::default() }))
    }

    fn page(&self, slot: u32) -> &[u8] {
        let slot = u64::from(slot);
        assert!((slot + 1) * PAGE <= self.size, "slot {slot} is outside the merged file");
        // SAFETY: the page lies inside the view (checked above), which lives as long as
        // `self`; its bytes change only in `slot_for`, before any member maps them.
        unsafe { core::slice::from_raw_parts((self.view + slot * PAGE) as *const u8, PAGE as usize) }
    }

    /// The slot that holds `bytes` (a page, of fingerprint `fingerprint`): the one
    /// written with them before, else a new one written now; `None` once the file is
    /// full. A slot is written once: a member may map it from the round that proposed
    /// it on, whatever became of that round.
    fn slot_for(&self, fingerprint: u64, bytes: &[u8]) -> Option<u32> {
        assert!(bytes.len() == PAGE as usize, "a whole page of the file");
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let candidates = slots.by_fingerprint.get(&fingerprint).map_or(&[][..], Vec::as_slice);
        if let Some(&slot) = candidates.iter().find(|&&slot| self.page(slot) == bytes) {
            return Some(slot);
        }
        let slot = slots.used;
        if u64::from(slot + 1) * PAGE > self.size {
            return None;
        }
        slots.used += 1;
        slots.by_fingerprint.entry(fingerprint).or_default().push(slot);
        // SAFETY: the destination lies inside the view (checked above); no member has
        // ever mapped this slot (it was never written, so never proposed), and it is
        // written once (counted above).
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (self.view + u64::from(slot) * PAGE) as *mut u8,
                bytes.len(),
            )
        };
        Some(slot)
    }
}

impl Drop for MergeGroup {
    fn drop(&mut self) {
        // SAFETY: the group owns this mapping.
        unsafe { libc::munmap(self.view as *mut libc::c_void, self.size as usize) };
    }
}

/// The page states of one member.
#[derive(Debug)]
struct States {
    /// One byte a page (a region of 64 MiB has 16,384 pages).
    pages: Vec<PageState>,
    /// The slot of each page merging or merged.
    slots: HashMap<usize, u32>,
    /// Pages not the cVM's own.
    not_own: u64,
    merged: u64,
    peak_merged: u64,
    emptied: u64,
    peak_emptied: u64,
    /// The region was torn down: nothing may be mapped in it any more.
    closed: bool,
    /// The last generation of wanted pages published.
    generation: u64,
}

/// One member cVM's side of run-time sharing.
#[derive(Debug)]
pub struct RegionMerge {
    group: Arc<MergeGroup>,
    region: Range<u64>,
    region_file: Arc<OwnedFd>,
    map_file: OwnedFd,
    map: u64,
    map_size: u64,
    bit_words: usize,
    states: Mutex<States>,
}

// SAFETY: the map is a shared mapping owned by `self`, reached only through atomics.
unsafe impl Send for RegionMerge {}
// SAFETY: as above.
unsafe impl Sync for RegionMerge {}

/// What a member's process needs: the merged file (read-only) and the merge map.
#[derive(Debug, Clone, Copy)]
pub struct MergeFiles<'a> {
    pub merged: BorrowedFd<'a>,
    pub map: BorrowedFd<'a>,
}

impl RegionMerge {
    /// The run-time sharing state of the region `region`, backed by `region_file`.
    pub(super) fn new(
        group: Arc<MergeGroup>,
        region: Range<u64>,
        region_file: Arc<OwnedFd>,
    ) -> io::Result<Self> {
        let pages = ((region.end - region.start) / PAGE).min(group.size / PAGE);
        let bit_words = pages.div_ceil(64) as usize;
        let map_size = ((word::BITS + 3 * bit_words) as u64 * 8 + pages * 4).next_multiple_of(PAGE);
        let map_file = memory_file::create(c"cvm-merge-map", map_size)?;
        let map = memory_file::map_anywhere(&map_file, map_size, libc::PROT_READ | libc::PROT_WRITE)?;
        let merge = Self {
            group,
            region: region.clone(),
            region_file,
            map_file,
            map,
            map_size,
            bit_words,
            states: Mutex::new(States {
                pages: vec![PageState::Own; pages as usize],
                slots: HashMap::new(),
                not_own: 0,
                merged: 0,
                peak_merged: 0,
                emptied: 0,
                peak_emptied: 0,
                closed: false,
                generation: 0,
            }),
        };
        merge.word(word::REGION_START).store(region.start, Ordering::Release);
        merge.word(word::PAGES).store(pages, Ordering::Release);
        Ok(merge)
    }

    /// The files its process maps.
    pub fn files(&self) -> MergeFiles<'_> {
        MergeFiles { merged: self.group.read_only.as_fd(), map: self.map_file.as_fd() }
    }

    /// The region.
    pub fn region(&self) -> Range<u64> {
        self.region.clone()
    }

    /// The most bytes it had merged at once.
    pub fn peak_merged_bytes(&self) -> u64 {
        self.states().peak_merged * PAGE
    }

    /// The most bytes of zero pages it had given back at once.
    pub fn peak_emptied_bytes(&self) -> u64 {
        self.states().peak_emptied * PAGE
    }

    fn states(&self) -> MutexGuard<'_, States> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        assert!(index * 8 < self.map_size as usize, "merge map word {index} is outside the map");
        // SAFETY: the word lies in the map (checked above), which lives as long as `self`
        // and is reached only through atomics.
        unsafe { &*((self.map + index as u64 * 8) as *const AtomicU64) }
    }

    fn wanted_word(&self, page: usize) -> &AtomicU64 {
        self.word(word::BITS + page / 64)
    }

    fn zero_word(&self, page: usize) -> &AtomicU64 {
        self.word(word::BITS + 2 * self.bit_words + page / 64)
    }

    /// The slot page `page` is to be mapped from.
    fn slot_word(&self, page: usize) -> &AtomicU32 {
        let offset = (word::BITS + 3 * self.bit_words) * 8 + page * 4;
        assert!(offset + 4 <= self.map_size as usize, "the slot of page {page} is outside the map");
        // SAFETY: the word lies in the map (checked above), aligned (the slots start at a
        // word), which lives as long as `self` and is reached only through atomics.
        unsafe { &*((self.map + offset as u64) as *const AtomicU32) }
    }

    fn applied(&self, page: usize) -> bool {
        self.word(word::BITS + self.bit_words + page / 64).load(Ordering::Acquire) & (1 << (page % 64)) != 0
    }

    /// Wants page `page` merged from `slot`, or given back if `slot` is `None`.
    fn want(&self, page: usize, slot: Option<u32>) {
        let bit = 1u64 << (page % 64);
        match slot {
            Some(slot) => self.slot_word(page).store(slot, Ordering::Release),
            None => {
                self.zero_word(page).fetch_or(bit, Ordering::AcqRel);
            }
        }
        self.wanted_word(page).fetch_or(bit, Ordering::AcqRel);
    }

    /// Wants page `page` the cVM's own again.
    fn want_own(&self, page: usize) {
        let bit = 1u64 << (page % 64);
        self.wanted_word(page).fetch_and(!bit, Ordering::AcqRel);
        self.zero_word(page).fetch_and(!bit, Ordering::AcqRel);
    }

    /// Tells the process there is a new generation of wanted pages. The count is the
    /// intravisor's own: the map's word is only told it (the process can write it).
    fn publish(&self, states: &mut States) -> u64 {
        states.generation += 1;
        self.word(word::WANTED_GENERATION).store(states.generation, Ordering::Release);
        states.generation
    }

    /// The region's page `page` as the intravisor maps it.
    fn region_page(&self, page: usize) -> &[u8] {
        // SAFETY: the page lies in the region, which the arena maps readable (a page
        // proposed for merging is a read-write page of the cVM) until it is closed,
        // checked by the caller under the states' lock.
        unsafe {
            core::slice::from_raw_parts((self.region.start + page as u64 * PAGE) as *const u8, PAGE as usize)
        }
    }

    /// The pages of `pages` (indexes into the region) that are in memory, in order.
    fn resident_pages(&self, pages: Range<u64>) -> Vec<u64> {
        let last = self.region_pages().min(pages.end);
        if pages.start >= last {
            return Vec::new();
        }
        let mut vector = vec![0u8; (last - pages.start) as usize];
        let start = self.region.start + pages.start * PAGE;
        // SAFETY: mincore of pages of the region (bounded by its size above), which the
        // arena maps, writes one byte a page into `vector`, as long as their count.
        let status = unsafe {
            libc::mincore(start as *mut libc::c_void, vector.len() * PAGE as usize, vector.as_mut_ptr())
        };
        if status != 0 {
            return Vec::new();
        }
        (pages.start..last).zip(vector).filter(|&(_, flags)| flags & 1 != 0).map(|(page, _)| page).collect()
    }

    /// Pages of the region.
    fn region_pages(&self) -> u64 {
        (self.region.end - self.region.start) / PAGE
    }

    /// Whether the process says it has applied generation `generation`.
    pub fn caught_up(&self, generation: u64) -> bool {
        self.word(word::APPLIED_GENERATION).load(Ordering::Acquire) >= generation
    }

    /// Proposes `pages` (each an index into the region and the slot of the group's file
    /// that holds its contents) for merging and `zero_pages` for giving back; returns the
    /// generation the process must apply, if any.
    pub fn propose(&self, pages: &[(u64, u32)], zero_pages: &[u64]) -> Option<u64> {
        let mut states = self.states();
        if states.closed {
            return None;
        }
        let proposals = pages
            .iter()
            .map(|&(page, slot)| (page, Some(slot)))
            .chain(zero_pages.iter().map(|&page| (page, None)));
        let mut proposed = false;
        for (page, slot) in proposals {
            let index = page as usize;
            if states.pages.get(index) == Some(&PageState::Own) {
                match slot {
                    Some(slot) => {
                        states.pages[index] = PageState::Merging;
                        states.slots.insert(index, slot);
                    }
                    None => states.pages[index] = PageState::Emptying,
                }
                states.not_own += 1;
                self.want(index, slot);
                proposed = true;
            }
        }
        proposed.then(|| self.publish(&mut states))
    }

    /// Completes the proposal: a page the process mapped from the merged file and whose
    /// bytes in the region are still the merged file's becomes one copy, a zero page the
    /// process froze and that still holds zeros is given back; any other goes back to
    /// being the cVM's own. Returns the pages merged and the pages given back.
    pub fn commit(&self) -> (u64, u64) {
        let mut states = self.states();
        if states.closed {
            return (0, 0);
        }
        let mut changed = false;
        let (mut merged, mut emptied) = (0, 0);
        // The pages to free, in runs of neighbours: one hole each (a hole a page cost 18
        // s of 64 transcoders' first round, 77,000 pages).
        let mut runs: Vec<Range<usize>> = Vec::new();
        for index in 0..states.pages.len() {
            if !matches!(states.pages[index], PageState::Merging | PageState::Emptying) {
                continue;
            }
            // What the process says first: a page it did not apply is never read. Once
            // it applied, its process no longer maps the region's page: the bytes
            // compared now are the bytes freed.
            let same = self.applied(index)
                && match states.slots.get(&index) {
                    Some(&slot) => self.region_page(index) == self.group.page(slot),
                    None => self.region_page(index).iter().all(|&byte| byte == 0),
                };
            if !same {
                self.make_own(&mut states, index);
                changed = true;
            } else if let Some(run) = runs.last_mut().filter(|run| run.end == index) {
                run.end += 1;
            } else {
                runs.push(index..index + 1);
            }
        }
        for run in runs {
            let (offset, length) = (run.start as u64 * PAGE, run.len() as u64 * PAGE);
            let freed = memory_file::punch_hole(&self.region_file, offset, length).is_ok();
            for index in run {
                if !freed {
                    self.make_own(&mut states, index);
                    changed = true;
                } else if states.pages[index] == PageState::Merging {
                    states.pages[index] = PageState::Merged;
                    states.merged += 1;
                    merged += 1;
                } else {
                    states.pages[index] = PageState::Emptied;
                    states.emptied += 1;
                    emptied += 1;
                }
            }
        }
        states.peak_merged = states.peak_merged.max(states.merged);
        states.peak_emptied = states.peak_emptied.max(states.emptied);
        if changed {
            self.publish(&mut states);
        }
        (merged, emptied)
    }

    /// Makes page `index`, proposed and not merged, the cVM's own again.
    fn make_own(&self, states: &mut States, index: usize) {
        states.pages[index] = PageState::Own;
        states.slots.remove(&index);
        states.not_own -= 1;
        self.want_own(index);
    }

    /// Gives the cVM its own copy of every page of `[start, end)` that is merged or
    /// being merged, with the bytes it holds (`keep`) or as zeros, then runs `write`
    /// (the intravisor's write into those pages) before any page of the range can be
    /// merged again. Its process maps the pages again before the cVM goes on.
    pub fn with_own_pages<R>(&self, start: u64, end: u64, keep: bool, write: impl FnOnce() -> R) -> R {
        let start = start.max(self.region.start);
        let end = end.min(self.region.end);
        let mut states = self.states();
        if start >= end || states.not_own == 0 || states.closed {
            return write();
        }
        let first = ((start - self.region.start) / PAGE) as usize;
        let last = ((end - self.region.start).div_ceil(PAGE) as usize).min(states.pages.len());
        let mut changed = false;
        for index in first..last {
            let page_start = self.region.start + index as u64 * PAGE;
            let offset = index as u64 * PAGE;
            match states.pages[index] {
                PageState::Own => continue,
                PageState::Merging | PageState::Emptying => {}
                // The region's file reads as zeros there already.
                PageState::Emptied => states.emptied -= 1,
                PageState::Merged => {
                    if keep {
                        let bytes = self.group.page(states.slots[&index]);
                        // SAFETY: pwrite of a page of the group's view into the region's
                        // own file at the page's offset.
                        let written = unsafe {
                            libc::pwrite(
                                self.region_file.as_raw_fd(),
                                bytes.as_ptr().cast(),
                                bytes.len(),
                                offset as libc::off_t,
                            )
                        };
                        if written != PAGE as isize {
                            log::error!(
                                "cannot give a cVM back its page {page_start:#x}: {}",
                                io::Error::last_os_error()
                            );
                        }
                    }
                    states.merged -= 1;
                }
            }
            states.pages[index] = PageState::Own;
            states.slots.remove(&index);
            states.not_own -= 1;
            self.want_own(index);
            changed = true;
        }
        if changed {
            self.publish(&mut states);
        }
        let result = write();
        drop(states);
        result
    }

    /// Whether the region was torn down.
    pub fn closed(&self) -> bool {
        self.states().closed
    }

    /// Copies the cVM's bytes at `address` into `buffer`: a merged page's from the
    /// group's file (the region's file no longer holds it), a given-back page's as zeros
    /// (reading the hole would fill it again), any other through `read_own` (the
    /// intravisor's view of the region).
    pub fn read<E>(
        &self,
        address: u64,
        buffer: &mut [u8],
        mut read_own: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let states = self.states();
        if states.not_own == 0 {
            return read_own(address, buffer);
        }
        let mut done = 0;
        while done < buffer.len() {
            let at = address + done as u64;
            let within = (at % PAGE) as usize;
            let length = (PAGE as usize - within).min(buffer.len() - done);
            let chunk = &mut buffer[done..done + length];
            let index = at.checked_sub(self.region.start).map(|offset| (offset / PAGE) as usize);
            match index.and_then(|index| Some((index, *states.pages.get(index)?))) {
                Some((index, PageState::Merged)) => {
                    chunk.copy_from_slice(&self.group.page(states.slots[&index])[within..within + length])
                }
                Some((_, PageState::Emptied)) => chunk.fill(0),
                _ => read_own(at, chunk)?,
            }
            done += length;
        }
        Ok(())
    }

    /// The region is being torn down: nothing of it is touched from now on.
    pub(super) fn close(&self) {
        self.states().closed = true;
    }
}

impl Drop for RegionMerge {
    fn drop(&mut self) {
        // SAFETY: the map is this member's own mapping.
        unsafe { libc::munmap(self.map as *mut libc::c_void, self.map_size as usize) };
    }
}

/// Raises the calling thread's scheduling priority above the cVMs' (nice -10), where the
/// intravisor may (as root, or with `CAP_SYS_NICE`).
pub fn run_ahead_of_cvms() -> io::Result<()> {
    // SAFETY: setpriority of the calling thread (its id) changes only its scheduling.
    let status = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -10) };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
