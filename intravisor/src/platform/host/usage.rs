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
/// allocates an arena of its own, up to eight per core, and the thread serving each cVM
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

/// Unmaps the intravisor's own code and constants (its program's and its libraries',
/// mapped privately from their files, read-only and never written) from its page
/// tables; they stay in the page cache, and a page still used faults back in from there.
/// Code that ran only to start the deployment then costs no memory of the intravisor's,
/// as a library's pages that a program never runs cost it none. Returns the bytes
/// unmapped.
pub fn drop_code_pages() -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return 0 };
    let mut dropped = 0;
    let mut mapping: Option<(u64, u64)> = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            // A mapping's first line: range, permissions, offset, device, inode, path. A
            // file's, private (a shared mapping is a cVM's or the objects'), not
            // writable.
            [range, permissions, _, _, inode, path, ..] if range.contains('-') => {
                let file_read_only = permissions.starts_with("r-")
                    && permissions.ends_with('p')
                    && *inode != "0"
                    && path.starts_with('/');
                mapping = range
                    .split_once('-')
                    .and_then(|(start, end)| {
                        Some((u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?))
                    })
                    .filter(|_| file_read_only);
            }
            // Pages of it that are not the file's (relocated constants, written before
            // they were made read-only) would be lost: only a mapping without any.
            ["Anonymous:", "0", "kB"] => {
                if let Some((start, end)) = mapping.take() {
                    // SAFETY: a private, read-only file mapping of this process with no
                    // page of its own (checked above): its pages are the file's, and
                    // dropping them only makes the next use fault them back in.
                    let status = unsafe {
                        libc::madvise(start as *mut libc::c_void, (end - start) as usize, libc::MADV_DONTNEED)
                    };
                    if status == 0 {
                        dropped += end - start;
                    }
                }
            }
            ["Anonymous:", ..] => mapping = None,
            _ => {}
        }
    }
    dropped
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

    use super::{drop_code_pages, sample_peaks};
    use crate::stop::Stop;

    #[test]
    fn code_pages_are_dropped_and_pages_written_into_a_file_mapping_are_not() {
        // A private mapping of a file, written (its page is now this process's own, not
        // the file's), then made read-only, as relocated constants are.
        let path = std::env::temp_dir().join(format!("drop-code-pages-{}", std::process::id()));
        std::fs::write(&path, vec![1u8; 4096]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: a fresh private mapping of one page of our own file, written and read
        // only here.
        let page = unsafe {
            let page = libc::mmap(
                core::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            );
            assert_ne!(page, libc::MAP_FAILED);
            *(page as *mut u8) = 7;
            assert_eq!(libc::mprotect(page, 4096, libc::PROT_READ), 0);
            page
        };
        std::fs::remove_file(&path).unwrap();
        assert!(drop_code_pages() > 0, "this test's own code is a private read-only file mapping");
        // SAFETY: the page is still mapped, readable.
        let byte = unsafe { *(page as *const u8) };
        assert_eq!(byte, 7, "the written page was dropped and read again from the file");
        // SAFETY: our own mapping.
        unsafe { libc::munmap(page, 4096) };
    }

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
