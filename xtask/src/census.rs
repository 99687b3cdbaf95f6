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
/// it has read the regions of `expected` cVMs under way (at 64 cVMs on two cores, only
/// 29 had pages of their regions in their page tables a second after the start, and a
/// census of those set against the Pss of all 64 was no floor), or after
/// [`LONGEST_WAIT`] with those there are. A cVM is taken as under way by what is read of
/// its region, not by its process's counters: a census that waited for 64 processes to
/// hold 1 MiB of memory-file pages (`RssShmem`) then read the regions of only 41.
pub fn take(intravisor: u32, expected: u32) -> Result<Census, String> {
    // Reading 64 regions among the transcoders' 576 threads on two cores took 22 s at
    // their priority; the census is of one moment only if it is quick.
    if let Err(error) = intravisor::platform::run_ahead_of_cvms() {
        eprintln!("xtask: the census runs at the cVMs' priority ({error}): it may take long");
    }
    let started = std::time::Instant::now();
    // The reading with the most cVMs under way: at 64 transcodes of 1280x720 frames a
    // reading of every region took so long that the transcodes ended before one had all
    // 64, and the last reading, after they ended, had none.
    let mut regions: Vec<(Vec<u64>, Vec<u8>)> = Vec::new();
    loop {
        let read = read_regions(intravisor);
        let over = read.is_empty() && !regions.is_empty();
        if read.len() > regions.len() {
            regions = read;
        }
        if over || regions.len() >= expected as usize || started.elapsed() >= LONGEST_WAIT {
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

/// Pages of its region in a transcoding cVM's page tables past its set-up (none before
/// its cVM runs: the intravisor wrote them through its own mapping; megabytes once
/// ffmpeg does).
const UNDER_WAY_PAGES: usize = 256;

/// The regions of the cVMs of `intravisor` that are under way: for each, the offset (in
/// pages) and the bytes of every page in its page tables. Every page is read first,
/// hashed after: the processes run on meanwhile, and the census should be of one moment
/// as near as can be.
fn read_regions(intravisor: u32) -> Vec<(Vec<u64>, Vec<u8>)> {
    let mut regions = Vec::new();
    for process in children(intravisor) {
        let (mut offsets, mut bytes) = (Vec::new(), Vec::new());
        let mut keep = |offset: u64, page: &[u8]| {
            offsets.push(offset);
            bytes.extend_from_slice(page);
        };
        // A process without a region (the intravisor's own helpers), not under way, or
        // gone.
        if each_region_page(process, &mut keep).is_ok() && offsets.len() >= UNDER_WAY_PAGES {
            regions.push((offsets, bytes));
        }
    }
    regions
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
    let mut bytes = Vec::new();
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
        let present: Vec<bool> = entries
            .chunks_exact(8)
            .map(|entry| u64::from_le_bytes(entry.try_into().unwrap_or_default()) >> 63 != 0)
            .collect();
        // Runs of neighbouring pages in one read each.
        let mut page = 0;
        while page < count {
            if !present[page] {
                page += 1;
                continue;
            }
            let run = present[page..].iter().take_while(|&&present| present).count();
            bytes.resize(run * PAGE as usize, 0);
            if memory.read_exact_at(&mut bytes, start + page as u64 * PAGE).is_ok() {
                for (index, bytes) in bytes.chunks_exact(PAGE as usize).enumerate() {
                    each(file_offset / PAGE + (page + index) as u64, bytes);
                }
            }
            page += run;
        }
    }
    Ok(())
}
