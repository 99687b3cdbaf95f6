//! Limits the kernel holds for each cVM process and each tenant: a cgroup (v1) per cVM
//! inside one per tenant, in the `pids` hierarchy (no more tasks than a cVM may have
//! threads, so raw `clone`s cannot exhaust the host; a tenant with `limits.cvms` has
//! that many cVMs' worth) and in the `memory` hierarchy (what the processes bring into
//! memory, their regions' pages and kernel objects: a cVM its region's size, a tenant
//! with `limits.memory_total` that much, each with an allowance for kernel objects;
//! beyond it the kernel kills the process).
//!
//! The groups live under `orc-intravisor-PID/tenant-NAME/cvm-N/` in each hierarchy: a
//! tenant's made once, a cVM's made ahead of need (a spare, made while the tenant's
//! previous cVM runs, with its limit written) and removed with the cVM; the tenants'
//! and the intravisor's when the intravisor ends. Where a hierarchy is missing or not writable (not root, cgroup v2
//! only), cVMs run without that limit, and the intravisor says so once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

/// The cgroup v1 hierarchies used, and the limit file of each.
const PIDS: &str = "/sys/fs/cgroup/pids";
const MEMORY: &str = "/sys/fs/cgroup/memory";
/// Room for what the kernel charges a cVM process beyond its region: page tables,
/// kernel stacks, the program it starts from.
const MEMORY_ALLOWANCE: u64 = 16 << 20;

/// A tenant's limits, as its policy gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantLimits<'a> {
    /// The tenant's name (letters, digits, `-`, `_`, `.`: a valid directory name).
    pub name: &'a str,
    /// `limits.cvms`.
    pub cvms: Option<u64>,
    /// `limits.memory_total`.
    pub memory_total: Option<u64>,
}

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

/// Makes a group (or finds it made) and sets its limit, if it has one.
fn make_group(directory: &Path, file: &str, limit: Option<u64>) -> Result<(), String> {
    match std::fs::create_dir(directory) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(format!("{}: {error}", directory.display())),
    }
    match limit {
        Some(limit) => std::fs::write(directory.join(file), limit.to_string())
            .map_err(|error| format!("{}: {error}", directory.join(file).display())),
        None => Ok(()),
    }
}

/// Groups made ahead of need: tenants' groups already made (with the limit they were
/// given), and empty cVM groups in them, waiting for a process (with the limit written).
#[derive(Debug, Default)]
struct Made {
    tenants: HashMap<PathBuf, Option<u64>>,
    spares: HashMap<PathBuf, Vec<(PathBuf, u64)>>,
    next: u64,
}

/// Spares kept per tenant at the most (more wait only after cVMs started at once).
const MOST_SPARES: usize = 2;

fn made() -> MutexGuard<'static, Made> {
    static MADE: LazyLock<Mutex<Made>> = LazyLock::new(Mutex::default);
    MADE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The tenant's group in `parent`, made (and its limit set) once.
fn tenant_group(parent: &Path, tenant: &str, file: &str, limit: Option<u64>) -> Result<PathBuf, String> {
    let group = parent.join(format!("tenant-{tenant}"));
    if made().tenants.get(&group) != Some(&limit) {
        make_group(&group, file, limit)?;
        made().tenants.insert(group.clone(), limit);
    }
    Ok(group)
}

/// An empty cVM group in `tenant` whose `file` says `limit`: a spare if there is one.
fn cvm_group(tenant: &Path, file: &str, limit: u64) -> Result<PathBuf, String> {
    let spare = made().spares.get_mut(tenant).and_then(Vec::pop);
    match spare {
        Some((directory, written)) if written == limit => Ok(directory),
        Some((directory, _)) => {
            make_group(&directory, file, Some(limit))?;
            Ok(directory)
        }
        None => {
            let directory = new_cvm_directory(tenant);
            make_group(&directory, file, Some(limit))?;
            Ok(directory)
        }
    }
}

fn new_cvm_directory(tenant: &Path) -> PathBuf {
    let mut made = made();
    made.next += 1;
    tenant.join(format!("cvm-{}", made.next))
}

fn warn_once(flag: &AtomicBool, message: std::fmt::Arguments<'_>) {
    if !flag.swap(true, Ordering::Relaxed) {
        log::warn!("{message}");
    }
}

impl CvmGroups {
    /// Puts process `pid` (with a region of `region_size` bytes, at most `tasks` tasks)
    /// into groups of its own inside its tenant's.
    pub(super) fn place(pid: u32, tasks: u64, region_size: u64, tenant: TenantLimits<'_>) -> Self {
        static NO_PIDS: AtomicBool = AtomicBool::new(false);
        static NO_MEMORY: AtomicBool = AtomicBool::new(false);
        let memory = |bytes: u64, cvms: u64| bytes.saturating_add(cvms.saturating_mul(MEMORY_ALLOWANCE));
        let limits = [
            (
                PIDS,
                "pids.max",
                tasks,
                tenant.cvms.map(|cvms| cvms.saturating_mul(tasks)),
                &NO_PIDS,
                "raw clones of a cVM are limited by nothing but the host",
            ),
            (
                MEMORY,
                "memory.limit_in_bytes",
                memory(region_size, 1),
                tenant.memory_total.map(|total| memory(total, tenant.cvms.unwrap_or(tasks))),
                &NO_MEMORY,
                "the kernel holds no memory limit for cVM processes beyond their regions' sizes",
            ),
        ];
        let mut directories = Vec::new();
        for (hierarchy, file, own, tenant_limit, flag, consequence) in limits {
            let placed = parent(hierarchy)
                .ok_or_else(|| format!("{hierarchy} is missing or not writable"))
                .and_then(|parent| {
                    let group = tenant_group(&parent, tenant.name, file, tenant_limit)?;
                    let directory = cvm_group(&group, file, own)?;
                    match std::fs::write(directory.join("cgroup.procs"), pid.to_string()) {
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

    /// The groups, for [`make_spares`] once the process is handed over.
    pub(super) fn directories(&self) -> Vec<PathBuf> {
        self.directories.clone()
    }

    /// The memory limit, when the process reached it (the kernel refused it memory).
    pub(super) fn memory_limit_reached(&self) -> Option<u64> {
        let directory = self.directories.iter().find(|directory| directory.starts_with(MEMORY))?;
        let read = |file: &str| std::fs::read_to_string(directory.join(file)).ok();
        let failures: u64 = read("memory.failcnt")?.trim().parse().ok()?;
        if failures == 0 {
            return None;
        }
        read("memory.limit_in_bytes")?.trim().parse().ok()
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

/// Makes a spare group beside each of `directories` (a cVM's groups), with the same
/// limit, for the next cVM of the tenant: done while that cVM runs.
pub(super) fn make_spares(directories: &[PathBuf]) {
    for directory in directories {
        let (Some(tenant), Some(hierarchy)) = (directory.parent(), directory.ancestors().nth(3)) else {
            continue;
        };
        if made().spares.get(tenant).is_some_and(|spares| spares.len() >= MOST_SPARES) {
            continue;
        }
        let file = if hierarchy == Path::new(PIDS) { "pids.max" } else { "memory.limit_in_bytes" };
        let Some(limit) =
            std::fs::read_to_string(directory.join(file)).ok().and_then(|text| text.trim().parse().ok())
        else {
            continue;
        };
        let spare = new_cvm_directory(tenant);
        if make_group(&spare, file, Some(limit)).is_ok() {
            made().spares.entry(tenant.to_path_buf()).or_default().push((spare, limit));
        }
    }
}

/// Removes the intravisor's own directories and its tenants' (empty once every cVM has
/// ended and its process is reaped, which it waits for).
pub fn remove_parents() {
    super::reaper::flush();
    *made() = Made::default();
    for hierarchy in [PIDS, MEMORY] {
        let parent = Path::new(hierarchy).join(format!("orc-intravisor-{}", std::process::id()));
        let Ok(entries) = std::fs::read_dir(&parent) else { continue };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("tenant-") {
                // The spare groups, then the tenant's.
                for group in std::fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                    if group.file_name().to_string_lossy().starts_with("cvm-") {
                        let _ = std::fs::remove_dir(group.path());
                    }
                }
                let _ = std::fs::remove_dir(entry.path());
            }
        }
        let _ = std::fs::remove_dir(&parent);
    }
}
