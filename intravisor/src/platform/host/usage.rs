//! The kernel's view of this process's memory: Rss and Pss from
//! `/proc/self/smaps_rollup`, sampled while cVMs run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Rss and Pss in bytes, or `None` where the kernel does not provide them.
pub fn kernel_memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kilobytes| kilobytes * 1024)
    };
    Some((field("Rss:")?, field("Pss:")?))
}

/// Samples Rss and Pss every `interval` until `done` is set; returns the peaks.
pub fn sample_peaks(done: &AtomicBool, interval: Duration) -> (u64, u64) {
    let mut peak = (0, 0);
    loop {
        if let Some((rss, pss)) = kernel_memory() {
            peak = (peak.0.max(rss), peak.1.max(pss));
        }
        if done.load(Ordering::Acquire) {
            return peak;
        }
        std::thread::sleep(interval);
    }
}
