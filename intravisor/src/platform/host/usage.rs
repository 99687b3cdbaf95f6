//! The kernel's view of the memory of this process and of its cVM processes: Rss and
//! Pss from `smaps_rollup`, summed over the intravisor and every process it started
//! (cVM processes share their regions and objects with it, and Pss splits each shared
//! page among those that map it, so the sum counts every page once), sampled while cVMs
//! run.

use std::time::Duration;

use crate::stop::Stop;

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
/// its threads' children. A child that has not exec'd its program yet (still running
/// `process`'s own, in the moment between `vfork` and `exec`) shares `process`'s memory
/// and is left out, or that memory would count twice.
fn children(process: &str) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{process}/task")) else { return Vec::new() };
    let program = |process: &str| std::fs::read_link(format!("/proc/{process}/exe")).ok();
    let own = program(process);
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|child| own.is_none() || program(child) != own)
        .collect()
}

/// The memory of a process and of every process it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeMemory {
    /// Rss and Pss in bytes, summed.
    pub rss: u64,
    pub pss: u64,
    /// How many processes were counted.
    pub processes: usize,
}

/// The memory of `process` (a pid, or `self`) and of every process it started, or
/// `None` where the kernel does not provide it (or the process is gone).
pub fn process_tree_memory(process: &str) -> Option<TreeMemory> {
    let ProcessMemory { rss, pss, .. } = read_process_memory(process)?;
    let mut tree = TreeMemory { rss, pss, processes: 1 };
    for child in children(process) {
        // A process that ended meanwhile counts no more.
        if let Some(child) = process_tree_memory(&child) {
            tree.rss += child.rss;
            tree.pss += child.pss;
            tree.processes += child.processes;
        }
    }
    Some(tree)
}

/// Rss and Pss in bytes of the intravisor and its cVM processes, or `None` where the
/// kernel does not provide them.
pub fn kernel_memory() -> Option<(u64, u64)> {
    process_tree_memory("self").map(|tree| (tree.rss, tree.pss))
}

/// Samples Rss and Pss every `interval` until the run stops; returns the peaks. A sample
/// reads every cVM process's `smaps_rollup`, which walks its page tables: where that
/// takes longer than a hundredth of `interval` (a thousand cVMs), the samples are spaced
/// so that sampling takes no more than 1 % of a processor from the cVMs.
pub fn sample_peaks(stop: &Stop, interval: Duration) -> (u64, u64) {
    let mut peak = (0, 0);
    loop {
        let started = std::time::Instant::now();
        if let Some((rss, pss)) = kernel_memory() {
            peak = (peak.0.max(rss), peak.1.max(pss));
        }
        let took = started.elapsed();
        let pause = interval.max(took * 100).saturating_sub(took);
        if stop.sleep(pause) {
            return peak;
        }
    }
}

/// Keeps the intravisor's allocator to `most` arenas. glibc gives every thread that
/// allocates an arena of its own, up to eight per core, and each serving thread of a cVM
/// allocates: with 8 transcoding cVMs the intravisor held 14 arenas, 1.2 MB of its 9.2 MB
/// of Pss; with two, 8.5 MB. Serving threads allocate little (a buffer per file
/// hostcall), so they seldom wait for an arena. A node, which must give back what its
/// containers used, keeps one: glibc trims the free top of its main arena only.
pub fn limit_allocator_arenas(most: u8) {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a parameter of glibc's allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, i32::from(most.max(1)));
    }
    #[cfg(not(target_env = "gnu"))]
    let _ = most;
}

/// The glibc tunable that keeps no stacks of ended threads.
const NO_STACK_CACHE: &str = "glibc.pthread.stack_cache_size=0";

/// Runs this program again, with the same arguments, with glibc's cache of ended threads'
/// stacks turned off, unless it already is; returns only if it is (or exec failed: the
/// error). A node's threads come and go with its containers, and glibc keeps up to 40 MiB
/// of their stacks for new threads, each with its top pages still resident: after 10
/// containers, 1 MB that deleting them did not give back. The tunable is read at start
/// only, hence the exec, done before any thread is started.
pub fn without_thread_stack_cache() -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    if !cfg!(target_env = "gnu") {
        return Ok(());
    }
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if tunables.split(':').any(|tunable| tunable == NO_STACK_CACHE) {
        return Ok(());
    }
    let tunables =
        if tunables.is_empty() { NO_STACK_CACHE.to_string() } else { format!("{tunables}:{NO_STACK_CACHE}") };
    let mut arguments = std::env::args_os();
    let program = arguments.next().unwrap_or_default();
    let executable = std::env::current_exe().unwrap_or_else(|_| program.clone().into());
    Err(std::process::Command::new(executable)
        .arg0(program)
        .args(arguments)
        .env("GLIBC_TUNABLES", tunables)
        .exec())
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::sample_peaks;
    use crate::stop::Stop;

    #[test]
    fn the_sampler_ends_with_the_run_not_at_its_next_sample() {
        let stop = Stop::new();
        let started = Instant::now();
        let peaks = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| sample_peaks(&stop, Duration::from_secs(30)));
            std::thread::sleep(Duration::from_millis(50));
            stop.stop();
            sampler.join().unwrap()
        });
        assert!(started.elapsed() < Duration::from_secs(10), "it waited for its next sample");
        assert!(peaks.0 >= peaks.1 && peaks.1 > 0, "{peaks:?}");
    }
}
