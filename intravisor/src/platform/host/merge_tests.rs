//! A cVM's process can write every word of its merge map (cVM code runs in that
//! process). These tests forge them all, as hostile code would, and check what
//! `merge.rs` promises: what the process says decides only what its own cVM sees; the
//! intravisor merges only pages whose bytes are the merged file's, gives back only pages
//! of zeros, keeps its own view of the cVM's memory right, and touches no other member.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{memory_file, word, MergeGroup, RegionMerge, PAGE};

const PAGES: u64 = 4;

fn filled(byte: u8) -> Vec<u8> {
    vec![byte; PAGE as usize]
}

/// A member whose region (the intravisor's mapping of the region's own file) holds
/// `pages`, and that file.
fn member(group: &Arc<MergeGroup>, pages: &[Vec<u8>]) -> (Arc<RegionMerge>, File) {
    let file = memory_file::create(c"test-region", PAGES * PAGE).unwrap();
    let start = memory_file::map_anywhere(&file, PAGES * PAGE, libc::PROT_READ | libc::PROT_WRITE).unwrap();
    let writer = File::from(file.try_clone().unwrap());
    for (index, page) in pages.iter().enumerate() {
        writer.write_all_at(page, index as u64 * PAGE).unwrap();
    }
    let region_file = Arc::new(file);
    let merge = RegionMerge::new(group.clone(), start..start + PAGES * PAGE, region_file).unwrap();
    (Arc::new(merge), writer)
}

/// The region's file, page by page (what the member's process maps).
fn file_pages(file: &File) -> Vec<Vec<u8>> {
    (0..PAGES)
        .map(|index| {
            let mut page = filled(0);
            file.read_exact_at(&mut page, index * PAGE).unwrap();
            page
        })
        .collect()
}

/// The cVM's memory as the intravisor reads it (for a hostcall, a report, a copy).
fn intravisor_view(merge: &RegionMerge, file: &File) -> Vec<Vec<u8>> {
    let start = merge.region().start;
    let mut bytes = vec![0; (PAGES * PAGE) as usize];
    merge.read(start, &mut bytes, |address, chunk| file.read_exact_at(chunk, address - start)).unwrap();
    bytes.chunks(PAGE as usize).map(<[u8]>::to_vec).collect()
}

/// Every word of the map as the hostile process writes it: every page applied, every
/// generation applied, the region and size of some other member's, the lock held.
fn forge(merge: &RegionMerge, other_region_start: u64) {
    for index in 0..merge.map_size as usize / 8 {
        merge.word(index).store(u64::MAX, Ordering::Release);
    }
    merge.word(word::REGION_START).store(other_region_start, Ordering::Release);
    merge.word(word::PAGES).store(1 << 40, Ordering::Release);
}

#[test]
fn a_forged_merge_map_merges_nothing_that_differs_and_touches_no_other_member() {
    let group = MergeGroup::new(PAGES * PAGE).unwrap();
    let table = filled(0x5a);
    // Page 0: the same in both (a lookup table); page 1: proposed for merging, but the
    // forger's bytes are not the merged file's; page 2: zeros; page 3: proposed as zeros
    // but written since.
    let forger_pages = [table.clone(), filled(0x11), filled(0), filled(0x22)];
    let other_pages = [table.clone(), filled(0x33), filled(0), filled(0x44)];
    let (forger, forger_file) = member(&group, &forger_pages);
    let (other, other_file) = member(&group, &other_pages);
    assert!(group.set_page(0, &table));
    assert!(group.set_page(1, &filled(0x77)));
    let generation = forger.propose(&[0, 1], &[2, 3]).unwrap();
    let other_generation = other.propose(&[0], &[2]).unwrap();
    forge(&forger, other.region().start);
    assert!(forger.caught_up(generation), "the forged generation is believed: it decides only when to look");
    assert_eq!(forger.commit(), (1, 1), "only page 0 (the merged file's bytes) and page 2 (zeros)");
    // What the intravisor sees of the forger is what the forger had: its page 1 and 3,
    // the merged file's page 0 (the same bytes) and zeros at page 2.
    assert_eq!(intravisor_view(&forger, &forger_file), forger_pages);
    // Its process, which never mapped the merged page, now reads zeros at page 0: what
    // it alleged decided what it sees, and nothing else.
    assert_eq!(file_pages(&forger_file)[0], filled(0));
    // The other member applied nothing: nothing of it is merged or given back, its
    // file is as it was, and so is the group's.
    assert!(!other.caught_up(other_generation));
    assert_eq!(other.commit(), (0, 0));
    assert_eq!(file_pages(&other_file), other_pages);
    assert_eq!(intravisor_view(&other, &other_file), other_pages);
    assert_eq!(group.page(1), filled(0x77).as_slice(), "nothing the forger does writes the merged file");
    // An intravisor write into the forger's merged page gives the forger (not the
    // member its forged map names) its own copy back, with its bytes.
    forger.with_own_pages(forger.region().start, forger.region().start + PAGE, true, || {});
    assert_eq!(file_pages(&forger_file), forger_pages);
    assert_eq!(file_pages(&other_file), other_pages);
}

#[test]
fn a_process_that_never_applies_merges_nothing() {
    let group = MergeGroup::new(PAGES * PAGE).unwrap();
    let pages = [filled(0x5a), filled(0), filled(0), filled(0)];
    let (merge, file) = member(&group, &pages);
    assert!(group.set_page(0, &pages[0]));
    let generation = merge.propose(&[0], &[1, 2]).unwrap();
    // Its process keeps the applied generation at zero.
    merge.word(word::APPLIED_GENERATION).store(0, Ordering::Release);
    assert!(!merge.caught_up(generation));
    assert_eq!(merge.commit(), (0, 0), "a page the process did not say it applied stays its own");
    assert_eq!(file_pages(&file), pages);
    assert_eq!(intravisor_view(&merge, &file), pages);
}

#[test]
fn a_page_of_the_merged_file_is_written_once() {
    // A member may still map a page proposed in an earlier round: a later round may
    // propose it again only with the bytes it already holds.
    let group = MergeGroup::new(PAGES * PAGE).unwrap();
    assert!(group.set_page(2, &filled(1)));
    assert!(group.set_page(2, &filled(1)), "the same bytes: it may be merged again");
    assert!(!group.set_page(2, &filled(2)), "other bytes are refused");
    assert_eq!(group.page(2), filled(1).as_slice());
}
