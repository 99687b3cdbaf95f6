//! Limits the kernel holds for each cVM process: a cgroup (v1) per cVM in the `pids`
//! hierarchy (no more tasks than a cVM may have threads, so raw `clone`s cannot
//! exhaust the host) and in the `memory` hierarchy (what the process itself brings into
//! memory, its region's pages and its kernel objects, beyond which the kernel kills it).
//!
//! The groups live under `orc-intravisor-PID/` in each hierarchy, made when the first
//! cVM starts and removed with each cVM and when the intravisor ends. Where a hierarchy
//! is missing or not writable (not root, cgroup v2 only), cVMs run without that limit,
//! and the intravisor says so once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The cgroup v1 hierarchies used, and the limit file of each.
const PIDS: &str = "/sys/fs/cgroup/pids";
const MEMORY: &str = "/sys/fs/cgroup/memory";
/// Room for what the kernel charges a cVM process beyond its region: page tables,
/// kernel stacks, the program it starts from.
const MEMORY_ALLOWANCE: u64 = 16 << 20;

/// One cVM process's groups, removed on drop (the process must have ended by then).
#[derive(Debug)]
pub(super) struct CvmGroups {
    directories: Vec<PathBuf>,
}

/// The intravisor's own directory in a hierarchy, made on first use.
fn parent(hierarchy: &str) -> Option<PathBuf> {
    let directory = Path::new(hierarchy).join(format!("orc-intravisor-{}", std::process::id()));
    match std::fs::create_dir(&directory) {
        Ok(()) => Some(directory),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Some(directory),
        Err(_) => None,
    }
}

fn warn_once(flag: &AtomicBool, message: std::fmt::Arguments<'_>) {
    if !flag.swap(true, Ordering::Relaxed) {
        log::warn!("{message}");
    }
}

impl CvmGroups {
    /// Puts process `pid` (the cVM `name`, with a region of `region_size` bytes) into
    /// groups of its own, at most `tasks` tasks.
    pub(super) fn place(pid: u32, tasks: usize, region_size: u64) -> Self {
        static NO_PIDS: AtomicBool = AtomicBool::new(false);
        static NO_MEMORY: AtomicBool = AtomicBool::new(false);
        let mut directories = Vec::new();
        let limits = [
            (
                PIDS,
                "pids.max",
                tasks.to_string(),
                &NO_PIDS,
                "raw clones of a cVM are limited by nothing but the host",
            ),
            (
                MEMORY,
                "memory.limit_in_bytes",
                (region_size + MEMORY_ALLOWANCE).to_string(),
                &NO_MEMORY,
                "the kernel holds no memory limit for cVM processes beyond their region's size",
            ),
        ];
        for (hierarchy, file, limit, flag, consequence) in limits {
            let placed = parent(hierarchy)
                .ok_or_else(|| format!("{hierarchy} is missing or not writable"))
                .and_then(|parent| {
                    let directory = parent.join(pid.to_string());
                    std::fs::create_dir(&directory)
                        .map_err(|error| format!("{}: {error}", directory.display()))?;
                    let done = std::fs::write(directory.join(file), &limit)
                        .and_then(|()| std::fs::write(directory.join("cgroup.procs"), pid.to_string()));
                    match done {
                        Ok(()) => Ok(directory),
                        Err(error) => {
                            let _ = std::fs::remove_dir(&directory);
                            Err(format!("{}: {error}", directory.display()))
                        }
                    }
                });
            match placed {
                Ok(directory) => directories.push(directory),
                Err(reason) => {
                    warn_once(flag, format_args!("no cgroup for cVM processes ({reason}): {consequence}"))
                }
            }
        }
        Self { directories }
    }

    /// Whether the kernel killed the process for reaching its memory limit.
    pub(super) fn memory_limit_reached(&self) -> bool {
        self.directories
            .iter()
            .filter(|directory| directory.starts_with(MEMORY))
            .filter_map(|directory| std::fs::read_to_string(directory.join("memory.failcnt")).ok())
            .any(|count| count.trim() != "0")
    }
}

impl Drop for CvmGroups {
    fn drop(&mut self) {
        for directory in &self.directories {
            if let Err(error) = std::fs::remove_dir(directory) {
                log::warn!("cannot remove the cgroup {}: {error}", directory.display());
            }
        }
    }
}

/// Removes the intravisor's own directories (empty once every cVM has ended).
pub fn remove_parents() {
    for hierarchy in [PIDS, MEMORY] {
        let _ =
            std::fs::remove_dir(Path::new(hierarchy).join(format!("orc-intravisor-{}", std::process::id())));
    }
}
