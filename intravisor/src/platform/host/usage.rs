//! The kernel's view of the memory of this process and of its cVM processes: Rss and
//! Pss from `smaps_rollup`, summed over the intravisor and every process it started
//! (cVM processes share their regions and objects with it, and Pss splits each shared
//! page among those that map it, so the sum counts every page once), sampled while cVMs
//! run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What the kernel counts of one process's memory, in bytes (`smaps_rollup`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessMemory {
    /// Resident pages.
    pub rss: u64,
    /// Proportional set size: each resident page divided by the processes that map it.
    pub pss: u64,
    /// Resident pages no other process maps.
    pub private: u64,
}

/// The memory of one process (a pid, or `self`), or `None` where the kernel does not
/// provide it (or the process is gone).
fn read_process_memory(process: &str) -> Option<ProcessMemory> {
    let text = std::fs::read_to_string(format!("/proc/{process}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kilobytes| kilobytes * 1024)
    };
    Some(ProcessMemory {
        rss: field("Rss:")?,
        pss: field("Pss:")?,
        private: field("Private_Clean:")? + field("Private_Dirty:")?,
    })
}

/// The memory of process `pid` (a cVM's), or `None` where the kernel does not provide it.
pub fn process_memory(pid: u32) -> Option<ProcessMemory> {
    read_process_memory(&pid.to_string())
}

/// The processes `process` started (an intravisor's cVM processes), from every one of
/// its threads' children.
fn children(process: &str) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{process}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Rss and Pss in bytes of `process` (a pid, or `self`) and of every process it started,
/// or `None` where the kernel does not provide them (or the process is gone).
pub fn process_tree_memory(process: &str) -> Option<(u64, u64)> {
    let ProcessMemory { mut rss, mut pss, .. } = read_process_memory(process)?;
    for child in children(process) {
        // A process that ended meanwhile counts no more.
        if let Some((child_rss, child_pss)) = process_tree_memory(&child) {
            rss += child_rss;
            pss += child_pss;
        }
    }
    Some((rss, pss))
}

/// Rss and Pss in bytes of the intravisor and its cVM processes, or `None` where the
/// kernel does not provide them.
pub fn kernel_memory() -> Option<(u64, u64)> {
    process_tree_memory("self")
}

/// Samples Rss and Pss every `interval` until `done` is set; returns the peaks. A sample
/// reads every cVM process's `smaps_rollup`: where that takes longer than a twentieth of
/// `interval` (a thousand cVMs), the samples are spaced so that sampling takes no more
/// than 5 % of a processor.
pub fn sample_peaks(done: &AtomicBool, interval: Duration) -> (u64, u64) {
    let mut peak = (0, 0);
    loop {
        let started = std::time::Instant::now();
        if let Some((rss, pss)) = kernel_memory() {
            peak = (peak.0.max(rss), peak.1.max(pss));
        }
        if done.load(Ordering::Acquire) {
            return peak;
        }
        std::thread::sleep(interval.max(started.elapsed() * 20));
    }
}

/// Gives the pages the allocator holds free back to the kernel (glibc keeps freed memory
/// of its per-thread arenas resident until it next trims them).
pub fn give_back_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free pages of the allocator's own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}
