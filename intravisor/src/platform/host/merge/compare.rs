//! The comparison of a round of run-time sharing: which pages of a group's members hold
//! a content every member holds (at any offset), written into slots of the group's file,
//! and which are pages of zeros to give back. `merge.rs` proposes and commits them.

use core::ops::Range;
use std::sync::{Arc, MutexGuard};

use super::{MergeGroup, PageState, RegionMerge, States};

/// What a comparison of a group's regions found.
#[derive(Debug, Default)]
pub struct Candidates {
    /// For each member, its pages that hold a content, not all zeros, that every member
    /// holds (at some offset of its region), each with the slot of the group's file that
    /// now holds it.
    pub identical: Vec<Vec<(u64, u32)>>,
    /// For each member, its resident pages of zeros (to give back).
    pub zero: Vec<Vec<u64>>,
}

/// Finds the pages of `members` (regions of one group) whose contents, not all zeros,
/// every member holds at some offset, resident, and writes each such content into a
/// slot of the group's file; and each member's resident pages of zeros. Only pages in
/// `writable` (page ranges read-write in every member) are looked at.
pub fn identical_pages(
    group: &MergeGroup,
    members: &[Arc<RegionMerge>],
    writable: &[Range<u64>],
) -> Candidates {
    let mut found =
        Candidates { identical: vec![Vec::new(); members.len()], zero: vec![Vec::new(); members.len()] };
    let states: Vec<MutexGuard<'_, States>> = members.iter().map(|member| member.states()).collect();
    if states.iter().any(|states| states.closed) {
        return found;
    }
    // Every page that is not zeros: its fingerprint, member and page (one vector, sorted
    // once: a map of vectors took 1.5 MB of the intravisor's heap at 8 transcoders).
    let mut pages: Vec<(u64, usize, u64)> = Vec::new();
    for (number, (member, states)) in members.iter().zip(&states).enumerate() {
        // (A page not in memory is never read: reading it through a shared mapping would
        // make it so.)
        let resident = writable.iter().flat_map(|range| member.resident_pages(range.clone()));
        for page in resident {
            let index = page as usize;
            if states.pages.get(index) != Some(&PageState::Own) {
                continue;
            }
            let bytes = member.region_page(index);
            // Zeros are given back rather than merged: they then cost no page at all.
            if bytes.iter().all(|&byte| byte == 0) {
                found.zero[number].push(page);
            } else {
                pages.push((fingerprint(bytes), number, page));
            }
        }
    }
    pages.sort_unstable();
    for same_fingerprint in pages.chunk_by(|one, other| one.0 == other.0) {
        // Fewer pages than members: some member does not hold it.
        if same_fingerprint.len() < members.len() {
            continue;
        }
        // A copy, so that what goes into the slot is what every holder was compared with
        // (the first holder's process may write its page meanwhile).
        let (_, first_member, first_page) = same_fingerprint[0];
        let bytes = members[first_member].region_page(first_page as usize).to_vec();
        // Two contents may share a fingerprint: only pages of the first one's bytes.
        let alike: Vec<(usize, u64)> = same_fingerprint
            .iter()
            .filter(|&&(_, number, page)| members[number].region_page(page as usize) == bytes.as_slice())
            .map(|&(_, number, page)| (number, page))
            .collect();
        // Sorted by member: each member that holds it once.
        let mut holders = alike.iter().map(|&(number, _)| number).collect::<Vec<_>>();
        holders.dedup();
        if holders.len() < members.len() {
            continue;
        }
        let Some(slot) = group.slot_for(fingerprint(&bytes), &bytes) else { break };
        for (number, page) in alike {
            found.identical[number].push((page, slot));
        }
    }
    found
}

/// A fingerprint of a page's bytes, to find pages that may be alike (they are then
/// compared byte for byte).
pub(super) fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0u64, |hash, word| {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
    })
}
