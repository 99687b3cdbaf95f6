//! A cVM's process can write every word of its merge map (cVM code runs in that
//! process). These tests forge them all, as hostile code would, and check what
//! `merge.rs` promises: what the process says decides only what its own cVM sees; the
//! intravisor merges only pages whose bytes are the merged file's, gives back only pages
//! of zeros, keeps its own view of the cVM's memory right, and touches no other member.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::compare::fingerprint;
use super::{identical_pages, memory_file, word, MergeGroup, RegionMerge, PAGE};

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

/// The slot of the group's file that holds `bytes` (written now if none does).
fn slot(group: &MergeGroup, bytes: &[u8]) -> u32 {
    group.slot_for(fingerprint(bytes), bytes).unwrap()
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
    let (table_slot, other_slot) = (slot(&group, &table), slot(&group, &filled(0x77)));
    let generation = forger.propose(&[(0, table_slot), (1, other_slot)], &[2, 3]).unwrap();
    let other_generation = other.propose(&[(0, table_slot)], &[2]).unwrap();
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
    assert_eq!(
        group.page(other_slot),
        filled(0x77).as_slice(),
        "nothing the forger does writes the merged file"
    );
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
    let generation = merge.propose(&[(0, slot(&group, &pages[0]))], &[1, 2]).unwrap();
    // Its process keeps the applied generation at zero.
    merge.word(word::APPLIED_GENERATION).store(0, Ordering::Release);
    assert!(!merge.caught_up(generation));
    assert_eq!(merge.commit(), (0, 0), "a page the process did not say it applied stays its own");
    assert_eq!(file_pages(&file), pages);
    assert_eq!(intravisor_view(&merge, &file), pages);
}

#[test]
fn a_slot_is_written_once_and_the_file_fills_up() {
    // A member may still map a slot proposed in an earlier round: the same bytes find
    // the same slot, other bytes a new one, and none once every page of the file is.
    let group = MergeGroup::new(2 * PAGE).unwrap();
    let first = slot(&group, &filled(1));
    assert_eq!(slot(&group, &filled(1)), first, "the same bytes: the same slot");
    let second = slot(&group, &filled(2));
    assert_ne!(second, first);
    assert_eq!(group.page(first), filled(1).as_slice());
    assert_eq!(group.page(second), filled(2).as_slice());
    assert_eq!(group.slot_for(fingerprint(&filled(3)), &filled(3)), None, "the file is full");
    // A fingerprint that lies (two contents may share one) finds no slot of other bytes.
    assert_eq!(group.slot_for(fingerprint(&filled(1)), &filled(4)), None);
}

#[test]
fn contents_every_member_holds_are_merged_wherever_they_lie_and_no_others() {
    let group = MergeGroup::new(PAGES * PAGE).unwrap();
    let (table, secret, zeros) = (filled(0x5a), filled(0x99), filled(0));
    // The table lies at page 1 of one member and page 3 of the other (their heaps laid
    // it out differently); the first holds it twice. Only the second holds `secret`,
    // at the page where the first holds the table.
    let first_pages = [filled(0x11), table.clone(), zeros.clone(), table.clone()];
    let second_pages = [filled(0x22), secret.clone(), zeros.clone(), table.clone()];
    let (first, first_file) = member(&group, &first_pages);
    let (second, second_file) = member(&group, &second_pages);
    let writable = [core::ops::Range { start: 0, end: PAGES }];
    let found = identical_pages(&group, &[first.clone(), second.clone()], &writable);
    let table_slot = slot(&group, &table);
    assert_eq!(found.identical, [vec![(1, table_slot), (3, table_slot)], vec![(3, table_slot)]]);
    assert_eq!(found.zero, [vec![2], vec![2]]);
    // The file holds the table alone: no content one member lacks is in it for that
    // member to read.
    assert_eq!(group.slots.lock().unwrap().used, 1, "one slot written");
    // Both processes map what is proposed; the intravisor frees their pages.
    for (merge, identical, zero) in
        [(&first, &found.identical[0], &found.zero[0]), (&second, &found.identical[1], &found.zero[1])]
    {
        let generation = merge.propose(identical, zero).unwrap();
        merge.word(word::APPLIED_GENERATION).store(generation, Ordering::Release);
        merge.word(word::BITS + merge.bit_words).store(u64::MAX, Ordering::Release);
    }
    assert_eq!(first.commit(), (2, 1));
    assert_eq!(second.commit(), (1, 1));
    assert_eq!(intravisor_view(&first, &first_file), first_pages);
    assert_eq!(intravisor_view(&second, &second_file), second_pages);
    // Each page names its slot for the process to map.
    assert_eq!(first.slot_word(3).load(Ordering::Acquire), table_slot);
    assert_eq!(second.slot_word(3).load(Ordering::Acquire), table_slot);
    // Given back its page 3, the second member holds the table's bytes again.
    second.with_own_pages(second.region().start + 3 * PAGE, second.region().start + 4 * PAGE, true, || {});
    assert_eq!(file_pages(&second_file)[3], table);
}
