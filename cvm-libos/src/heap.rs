//! The cVM's heap: whole pages over the heap range of the boot block, one bit each.
//!
//! Free memory reads as zero when it is handed out: the intravisor hands a cVM its
//! region zeroed, the maps of used and of dirty pages live apart from them (in the
//! heap's last pages), and a page freed with its bytes still in it is *dirty*: zeroed
//! when it is handed out again. A program that gives back large runs keeps up to
//! [`DIRTY_PER_LARGEST_RUN`] times its largest run dirty, resident for the next
//! allocation ([`Heap::dirty_limit`]); past that, pages given back go back to the
//! intravisor, which gives their memory back to the host (zeroed here only where it
//! cannot). musl's malloc maps and unmaps every large block (ffmpeg's packets and
//! frames, each frame): without dirty pages, each was a hostcall to give the pages back
//! and a page fault for each page when the next frame took them again (where glibc's
//! malloc keeps such blocks in its heap). Pages the program never touches stay
//! untouched, not resident, as with the kernel's anonymous memory. Allocation is first
//! fit from the lowest page that may be free.
//!
//! `cvm_malloc` blocks (`allocate`) are whole pages too, with a 16-byte header holding
//! their size, so that `cvm_free` needs only the pointer, as C's `free` does; the C
//! library's `malloc` does not come here.

use abi::Hostcall;
use spin::Mutex;

use crate::cls::local;

/// The page size of every platform here.
const PAGE: usize = 4096;
/// Bytes in front of every `allocate` block, holding its total size.
const HEADER: usize = 16;
/// Pages stay dirty for a program that gives back large blocks: up to this many times
/// its largest run given back, as glibc's malloc, once a mapped block of some size has
/// been freed, serves blocks up to that size from its heap and keeps twice it there.
/// (A floor of 2 MiB kept as much of every small transcoder resident: 0.25 MiB per
/// cVM of 8 at 128x96, for no speed; pages zeroed in place rather than given back were
/// resident too.)
const DIRTY_PER_LARGEST_RUN: usize = 3;
/// ... but never more than this many (32 MiB).
const DIRTY_CEILING: usize = 8192;

/// The heap: its pages and the map of the used ones.
#[derive(Debug)]
struct Heap {
    /// The first page.
    base: usize,
    /// How many pages there are to hand out.
    pages: usize,
    /// The address of the map: one bit per page, set when used; then as many words of
    /// the map of dirty pages: one bit per free page that is not zero.
    map: usize,
    /// No page below this one is free.
    lowest_free: usize,
    /// How many free pages are dirty.
    dirty: usize,
    /// The longest run of pages given back so far.
    largest_run: usize,
}

#[link_section = ".cls.data"]
static HEAP: Mutex<Heap> =
    Mutex::new(Heap { base: 0, pages: 0, map: 0, lowest_free: 0, dirty: 0, largest_run: 0 });

impl Heap {
    /// The maps of used pages and of dirty ones.
    fn maps(&mut self) -> (&mut [u64], &mut [u64]) {
        if self.map == 0 {
            return (&mut [], &mut []);
        }
        let words = self.pages.div_ceil(64);
        // SAFETY: `init` reserved `2 * pages.div_ceil(64)` words at `map`, in the heap's
        // own last pages, which nothing else uses; `&mut self` is the only way to them.
        let both = unsafe { core::slice::from_raw_parts_mut(self.map as *mut u64, 2 * words) };
        both.split_at_mut(words)
    }

    /// Hands out `count` free pages, zeroing those that are dirty.
    fn allocate(&mut self, count: usize) -> Option<usize> {
        let (pages, lowest_free, base) = (self.pages, self.lowest_free, self.base);
        let (used, dirty) = self.maps();
        let start = first_free(used, pages, count, lowest_free)?;
        mark(used, start, count, true);
        let mut cleaned = 0;
        for page in start..start + count {
            if dirty[page / 64] & (1 << (page % 64)) != 0 {
                dirty[page / 64] &= !(1 << (page % 64));
                // SAFETY: the page lies in the heap and was free; it is now this
                // allocation's, and it is zeroed before it is handed out.
                unsafe { core::ptr::write_bytes((base + page * PAGE) as *mut u8, 0, PAGE) };
                cleaned += 1;
            }
        }
        self.dirty -= cleaned;
        if start == self.lowest_free {
            self.lowest_free = start + count;
        }
        Some(self.base + start * PAGE)
    }

    /// The pages `[start, start + count)` of a block being released, or `None` when
    /// they are not the heap's.
    fn pages_of(&self, address: usize, count: usize) -> Option<usize> {
        let start = address.checked_sub(self.base)? / PAGE;
        start.checked_add(count).filter(|&end| end <= self.pages).map(|_| start)
    }

    /// Marks released pages free, `dirty` if their bytes are still in them.
    fn mark_free(&mut self, start: usize, count: usize, dirty: bool) {
        let (used, dirty_map) = self.maps();
        mark(used, start, count, false);
        if dirty {
            mark(dirty_map, start, count, true);
            self.dirty += count;
        }
        self.lowest_free = self.lowest_free.min(start);
    }

    /// Notes a run of `count` pages given back: the longest such run raises how many
    /// free pages may stay dirty.
    fn note_run(&mut self, count: usize) {
        self.largest_run = self.largest_run.max(count);
    }

    /// How many free pages may stay dirty: [`DIRTY_PER_LARGEST_RUN`] times the longest
    /// run given back so far, up to [`DIRTY_CEILING`]. At 1280x720,
    /// where ffmpeg gives back 1.4 MB packets and frames several times a frame, 2 MiB
    /// kept one of them: 8 transcodes took twice the page faults of native processes and
    /// 15 % more processor time.
    fn dirty_limit(&self) -> usize {
        (self.largest_run * DIRTY_PER_LARGEST_RUN).min(DIRTY_CEILING)
    }

    /// Whether `count` more pages may stay dirty.
    fn may_keep_dirty(&self, count: usize) -> bool {
        self.dirty + count <= self.dirty_limit()
    }
}

/// Gives back `count` pages at `address` that the heap handed out: they stay dirty while
/// [`Heap::may_keep_dirty`], else they go back to the intravisor (`discard_pages`),
/// which gives their memory back to the host, before they are marked free, outside the
/// heap's lock; where that fails, they are zeroed here.
fn give_back(address: usize, count: usize) {
    let start = {
        let mut heap = local(&HEAP).lock();
        let Some(start) = heap.pages_of(address, count) else { return };
        heap.note_run(count);
        if heap.may_keep_dirty(count) {
            heap.mark_free(start, count, true);
            return;
        }
        start
    };
    let discarded =
        crate::hostcall::call(Hostcall::DiscardPages, [address as u64, (count * PAGE) as u64, 0, 0, 0])
            .is_ok();
    if !discarded {
        // SAFETY: the pages lie in the heap (checked) and were handed out; their user
        // gave them back, so they are ours to zero.
        unsafe { core::ptr::write_bytes(address as *mut u8, 0, count * PAGE) };
    }
    local(&HEAP).lock().mark_free(start, count, false);
}

/// The first run of `count` free pages at or above `from`, among `pages`.
fn first_free(map: &[u64], pages: usize, count: usize, from: usize) -> Option<usize> {
    if count == 0 {
        return None;
    }
    let used = |page: usize| map[page / 64] & (1 << (page % 64)) != 0;
    let mut start = from;
    while start.checked_add(count)? <= pages {
        // Skip whole used words quickly.
        if start.is_multiple_of(64) && map[start / 64] == u64::MAX {
            start += 64;
            continue;
        }
        match (start..start + count).find(|&page| used(page)) {
            None => return Some(start),
            Some(taken) => start = taken + 1,
        }
    }
    None
}

/// Marks `count` pages from `start` used or free.
fn mark(map: &mut [u64], start: usize, count: usize, used: bool) {
    for page in start..start + count {
        if used {
            map[page / 64] |= 1 << (page % 64);
        } else {
            map[page / 64] &= !(1 << (page % 64));
        }
    }
}

/// Hands the heap range to the allocator.
///
/// # Safety
/// `[base, base + size)` is zeroed writable memory of this cVM that nothing else uses,
/// and `init` is called once.
#[cfg_attr(
    not(target_os = "none"),
    expect(dead_code, reason = "called by `_start`, which only cVM builds have")
)]
pub(crate) unsafe fn init(base: *mut u8, size: usize) {
    let start = (base as usize).next_multiple_of(PAGE);
    let end = (base as usize + size) & !(PAGE - 1);
    let total = end.saturating_sub(start) / PAGE;
    // The two maps cover every page; they take the last pages.
    let map_pages = (2 * total.div_ceil(64) * 8).div_ceil(PAGE);
    let pages = total.saturating_sub(map_pages);
    let mut heap = local(&HEAP).lock();
    *heap = Heap {
        base: start,
        pages,
        map: if pages == 0 { 0 } else { start + pages * PAGE },
        lowest_free: 0,
        dirty: 0,
        largest_run: 0,
    };
}

/// Allocates `size` bytes aligned to 16, or returns null.
pub(crate) fn allocate(size: usize) -> *mut u8 {
    let Some(total) = size.checked_add(HEADER).and_then(|total| total.checked_next_multiple_of(PAGE)) else {
        return core::ptr::null_mut();
    };
    match local(&HEAP).lock().allocate(total / PAGE) {
        Some(block) => {
            let block = block as *mut u8;
            // SAFETY: the block has room for the header and is page aligned.
            unsafe {
                block.cast::<usize>().write(total);
                block.add(HEADER)
            }
        }
        None => core::ptr::null_mut(),
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
    give_back(block as usize, total / PAGE);
}

/// Allocates `length` bytes (a multiple of the page size) aligned to a page, zero, for
/// the C library's anonymous mappings; null when the heap is exhausted.
pub(crate) fn allocate_pages(length: usize) -> *mut u8 {
    local(&HEAP).lock().allocate(length / PAGE).map_or(core::ptr::null_mut(), |block| block as *mut u8)
}

/// Gives back `length` bytes at `pointer` that [`allocate_pages`] handed out (all of a
/// mapping or page-aligned part of one).
///
/// # Safety
/// The range lies in mappings `allocate_pages` returned and was not released since.
pub(crate) unsafe fn release_pages(pointer: *mut u8, length: usize) {
    give_back(pointer as usize, length / PAGE);
}

#[cfg(test)]
mod tests {
    use super::{first_free, mark, Heap, DIRTY_CEILING, DIRTY_PER_LARGEST_RUN, PAGE};

    /// A heap of `pages` pages over `memory`, its maps in the last page.
    fn heap_over(memory: &mut [u8], pages: usize) -> Heap {
        let base = (memory.as_mut_ptr() as usize).next_multiple_of(PAGE);
        Heap { base, pages, map: base + pages * PAGE, lowest_free: 0, dirty: 0, largest_run: 0 }
    }

    #[test]
    fn dirty_pages_are_zero_when_handed_out_again_and_counted_until_then() {
        let mut memory = [0u8; 12 * PAGE];
        let mut heap = heap_over(&mut memory, 8);
        let block = heap.allocate(4).expect("room for four pages");
        // SAFETY: the four pages lie in `memory`, handed out by the heap.
        unsafe { core::ptr::write_bytes(block as *mut u8, 0xa5, 4 * PAGE) };
        let start = heap.pages_of(block, 4).expect("the block is the heap's");
        assert!(!heap.may_keep_dirty(1), "nothing stays dirty before a run is given back");
        heap.note_run(4);
        assert!(heap.may_keep_dirty(4));
        heap.mark_free(start, 4, true);
        assert_eq!(heap.dirty, 4);
        let again = heap.allocate(2).expect("the freed pages");
        assert_eq!(again, block, "first fit takes the dirty pages again");
        // SAFETY: as above.
        let bytes = unsafe { core::slice::from_raw_parts(again as *const u8, 2 * PAGE) };
        assert!(bytes.iter().all(|&byte| byte == 0), "handed out zeroed");
        assert_eq!(heap.dirty, 2, "the two pages not handed out stay dirty");
        // SAFETY: as above: the third page is free and still dirty.
        let left = unsafe { core::slice::from_raw_parts((block + 2 * PAGE) as *const u8, PAGE) };
        assert!(left.iter().all(|&byte| byte == 0xa5), "dirty pages keep their bytes until handed out");
        assert!(heap.may_keep_dirty(4 * DIRTY_PER_LARGEST_RUN - 2));
        assert!(!heap.may_keep_dirty(4 * DIRTY_PER_LARGEST_RUN - 1), "no more than the limit stay dirty");
    }

    #[test]
    fn a_program_that_gives_back_large_runs_keeps_more_pages_dirty_up_to_a_ceiling() {
        let mut memory = [0u8; 2 * PAGE];
        let mut heap = heap_over(&mut memory, 1);
        assert_eq!(heap.dirty_limit(), 0, "no floor: nothing given back, nothing kept");
        heap.note_run(16);
        assert_eq!(heap.dirty_limit(), 16 * DIRTY_PER_LARGEST_RUN);
        heap.note_run(338);
        assert_eq!(heap.dirty_limit(), 338 * DIRTY_PER_LARGEST_RUN, "a 1280x720 frame's run");
        heap.note_run(20);
        assert_eq!(heap.dirty_limit(), 338 * DIRTY_PER_LARGEST_RUN, "the longest run counts");
        heap.dirty = 338 * DIRTY_PER_LARGEST_RUN - 10;
        assert!(heap.may_keep_dirty(10) && !heap.may_keep_dirty(11));
        heap.note_run(1 << 20);
        assert_eq!(heap.dirty_limit(), DIRTY_CEILING, "never past the ceiling");
    }

    #[test]
    fn first_fit_finds_the_lowest_run_and_skips_used_pages() {
        let mut map = [0u64; 3];
        assert_eq!(first_free(&map, 150, 10, 0), Some(0));
        mark(&mut map, 0, 70, true);
        assert_eq!(first_free(&map, 150, 10, 0), Some(70));
        mark(&mut map, 75, 1, true);
        assert_eq!(first_free(&map, 150, 5, 0), Some(70), "a run that fits before a used page");
        assert_eq!(first_free(&map, 150, 6, 0), Some(76), "a run that does not");
        assert_eq!(first_free(&map, 150, 74, 0), Some(76), "up to the last page");
        assert_eq!(first_free(&map, 150, 75, 0), None, "past the last page");
        mark(&mut map, 0, 70, false);
        assert_eq!(first_free(&map, 150, 70, 0), Some(0), "freed pages are found again");
        assert_eq!(first_free(&map, 150, 0, 0), None);
    }
}
