//! The content-sharing oracle of the density benchmark: what perfect page sharing would
//! reach, computed from the cVMs' own pages. Taken from outside while an intravisor runs
//! its cVMs as processes: every page of each cVM process's region that is in its page
//! tables (`/proc/PID/pagemap`) is read (`/proc/PID/mem`, as root) and hashed, then
//! counted as zero, as content that another cVM also holds (at any offset), or as unique.
//! The distinct non-zero contents are the floor: what the regions would cost if every
//! identical page were one copy and zero pages cost nothing.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

const PAGE: u64 = 4096;

/// The pages of every cVM's region at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Census {
    /// cVM processes looked at.
    pub cvms: u32,
    /// Pages in their regions' page tables.
    pub resident_pages: u64,
    /// Of those, pages of zeros.
    pub zero_pages: u64,
    /// Non-zero pages whose content another cVM also holds (anywhere in its region).
    pub shared_content_pages: u64,
    /// Non-zero pages whose content no other cVM holds.
    pub unique_pages: u64,
    /// Distinct non-zero contents over all regions (one copy of each).
    pub distinct_contents: u64,
    /// Distinct non-zero contents at each offset of the regions, summed over offsets:
    /// the floor of merging that keeps a page at its offset (run-time sharing's) but
    /// may merge it among some of the cVMs and keep several contents at one offset.
    pub distinct_at_each_offset: u64,
    /// Pages left if only pages that every cVM holds alike at one offset become one
    /// copy (run-time sharing as it merges), zero pages free.
    pub alike_in_all_floor: u64,
    /// Pages left if only contents that every cVM holds (at any offsets) become one
    /// copy, zero pages free: merging that shows no cVM a content it does not hold.
    pub held_by_all_floor: u64,
    /// How long it waited for every cVM to be under way (seconds).
    pub waited_seconds: f64,
}

impl Census {
    pub fn resident_bytes(&self) -> u64 {
        self.resident_pages * PAGE
    }
}

/// How long a census waits for every cVM to be under way.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Takes the census of the cVM processes of the intravisor `intravisor` (a pid), once
/// `expected` of them are under way (at 64 cVMs on two cores, only 29 had pages of their
/// regions in their page tables a second after the start, and a census of those set
/// against the Pss of all 64 was no floor), or after [`LONGEST_WAIT`] with those there
/// are.
pub fn take(intravisor: u32, expected: u32) -> Result<Census, String> {
    let started = std::time::Instant::now();
    while started.elapsed() < LONGEST_WAIT {
        let under_way = children(intravisor).into_iter().filter(|&process| under_way(process)).count();
        if under_way >= expected as usize {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Each content: the cVMs that hold it (by their index), and how many pages of it.
    let mut contents: HashMap<[u8; 32], (HashSet<usize>, u64)> = HashMap::new();
    // Each offset of the regions (in pages): the non-zero contents there, one per cVM.
    let mut at_offset: HashMap<u64, Vec<[u8; 32]>> = HashMap::new();
    let mut census = Census { waited_seconds: started.elapsed().as_secs_f64(), ..Census::default() };
    let zero = Sha256::digest([0u8; PAGE as usize]);
    // Every page is read first, hashed after: the processes run on meanwhile, and the
    // census should be of one moment as near as can be.
    let mut regions: Vec<(Vec<u64>, Vec<u8>)> = Vec::new();
    for process in children(intravisor) {
        let (mut offsets, mut bytes) = (Vec::new(), Vec::new());
        let mut keep = |offset: u64, page: &[u8]| {
            offsets.push(offset);
            bytes.extend_from_slice(page);
        };
        // A process without a region (one the intravisor is still starting) or gone.
        if each_region_page(process, &mut keep).is_ok() && !bytes.is_empty() {
            regions.push((offsets, bytes));
        }
    }
    for (index, (offsets, bytes)) in regions.iter().enumerate() {
        census.cvms += 1;
        for (&offset, page) in offsets.iter().zip(bytes.chunks_exact(PAGE as usize)) {
            census.resident_pages += 1;
            let digest = Sha256::digest(page);
            if digest == zero {
                census.zero_pages += 1;
                continue;
            }
            let entry = contents.entry(digest.into()).or_default();
            entry.0.insert(index);
            entry.1 += 1;
            at_offset.entry(offset).or_default().push(digest.into());
        }
    }
    for held in at_offset.values_mut() {
        let alike_in_all = held.len() == regions.len() && held.iter().all(|digest| *digest == held[0]);
        census.alike_in_all_floor += if alike_in_all { 1 } else { held.len() as u64 };
        held.sort_unstable();
        held.dedup();
        census.distinct_at_each_offset += held.len() as u64;
    }
    for (holders, pages) in contents.values() {
        census.distinct_contents += 1;
        census.held_by_all_floor += if holders.len() == regions.len() { 1 } else { *pages };
        if holders.len() > 1 {
            census.shared_content_pages += pages;
        } else {
            census.unique_pages += pages;
        }
    }
    if census.cvms == 0 {
        return Err(format!("intravisor {intravisor} has no cVM process with a region to look at"));
    }
    Ok(census)
}

/// The processes `process` started.
fn children(process: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{process}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().filter_map(|child| child.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

/// Resident region memory of a transcoding cVM's process past its set-up (none before
/// its cVM runs, megabytes once ffmpeg does).
const UNDER_WAY_BYTES: u64 = 1 << 20;

/// Whether `process` holds [`UNDER_WAY_BYTES`] or more of memory-file pages (`RssShmem`
/// of its status: its region's, the shared objects being file pages on disk): its cVM
/// has run, so its region's pages are in its page tables. A process mapping its region
/// has none there before it runs (the intravisor wrote them through its own mapping),
/// and its whole Rss, the objects' pages included, passed 1 MiB before its region did:
/// a census by that counted 47 of 64 cVMs.
fn under_way(process: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{process}/status")) else { return false };
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssShmem:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .is_some_and(|kilobytes| kilobytes * 1024 >= UNDER_WAY_BYTES)
}

/// Hands `each` the offset in its region (in pages) and the bytes of every page of
/// `process`'s region mappings that is in its page tables.
fn each_region_page(process: u32, each: &mut dyn FnMut(u64, &[u8])) -> Result<(), String> {
    let failed =
        |what: &str, error: std::io::Error| format!("cannot read {what} of process {process}: {error}");
    let maps =
        std::fs::read_to_string(format!("/proc/{process}/maps")).map_err(|error| failed("maps", error))?;
    let pagemap = File::open(format!("/proc/{process}/pagemap")).map_err(|error| failed("pagemap", error))?;
    let memory = File::open(format!("/proc/{process}/mem")).map_err(|error| failed("mem", error))?;
    let mut bytes = vec![0u8; PAGE as usize];
    for line in maps.lines().filter(|line| line.contains("cvm-region")) {
        let mut fields = line.split_whitespace();
        let Some((start, end)) = fields.next().and_then(|range| range.split_once('-')) else {
            continue;
        };
        // The mapping's offset in the region's file: the offset in the region.
        let Some(Ok(file_offset)) = fields.nth(1).map(|offset| u64::from_str_radix(offset, 16)) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else {
            continue;
        };
        let count = ((end - start) / PAGE) as usize;
        let mut entries = vec![0u8; count * 8];
        pagemap.read_exact_at(&mut entries, start / PAGE * 8).map_err(|error| failed("pagemap", error))?;
        for (page, entry) in entries.chunks_exact(8).enumerate() {
            let entry = u64::from_le_bytes(entry.try_into().unwrap_or_default());
            if entry >> 63 == 0 {
                continue;
            }
            if memory.read_exact_at(&mut bytes, start + page as u64 * PAGE).is_ok() {
                each(file_offset / PAGE + page as u64, &bytes);
            }
        }
    }
    Ok(())
}
