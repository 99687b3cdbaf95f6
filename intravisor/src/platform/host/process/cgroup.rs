//! Limits the kernel holds for each cVM process and each tenant: a cgroup (v1) per cVM
//! inside one per tenant, in the `pids` hierarchy (no more tasks than a cVM may have
//! threads, so raw `clone`s cannot exhaust the host; a tenant with `limits.cvms` has
//! that many cVMs' worth) and in the `memory` hierarchy (what the processes bring into
//! memory, their regions' pages and kernel objects: a cVM its region's size, a tenant
//! with `limits.memory_total` that much, each with an allowance for kernel objects;
//! beyond it the kernel kills the process).
//!
//! The groups live under `orc-intravisor-PID/tenant-NAME/cvm-N/` in each hierarchy: a
//! tenant's made once; a cVM's taken from the tenant's spares (a group made while the
//! tenant's previous cVM ran, or one a cVM of the tenant left, empty, with its failure
//! count reset), its limit written if it differs, and given back as a spare when the
//! cVM ends (removed when the tenant has enough): making and removing memory groups is
//! much of what a cVM process's start costs the kernel. Every group is removed when the
//! intravisor ends. Where a hierarchy is missing or not writable (not root, cgroup v2
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

/// One cVM process's groups, given back on drop (the process must have ended by then):
/// kept as spares for the tenant's next cVMs, or removed.
#[derive(Debug)]
pub(super) struct CvmGroups {
    groups: Vec<Group>,
}

/// A cVM's group in one hierarchy: its directory, and the limit its file holds.
#[derive(Debug, Clone)]
pub(super) struct Group {
    directory: PathBuf,
    file: &'static str,
    limit: u64,
}

/// The intravisor's own directory in a hierarchy, made on first use.
fn parent(hierarchy: &'static str) -> Option<PathBuf> {
    if let Some(directory) = made().parents.get(hierarchy) {
        return Some(directory.clone());
    }
    let directory = Path::new(hierarchy).join(format!("orc-intravisor-{}", std::process::id()));
    match std::fs::create_dir(&directory) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    made().parents.insert(hierarchy, directory.clone());
    Some(directory)
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

/// Groups made ahead of need: the intravisor's own, tenants' groups already made (with the limit they were
/// given), and empty cVM groups in them, waiting for a process (with the limit written).
#[derive(Debug, Default)]
struct Made {
    parents: HashMap<&'static str, PathBuf>,
    tenants: HashMap<PathBuf, Option<u64>>,
    spares: HashMap<PathBuf, Vec<(PathBuf, u64)>>,
    next: u64,
}

/// What a spare memory group may still hold to be used again.
const REUSABLE_USAGE: u64 = 256 << 10;
/// Spares kept per tenant and hierarchy at the most.
const MOST_SPARES: usize = 4;

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

/// An empty cVM group in `tenant` whose `file` says `limit`: a spare if there is one
/// that holds nothing of the cVM that left it ([`left_empty`]; a memory group's pages
/// are uncharged when the intravisor frees that cVM's region, after the process ended).
fn cvm_group(tenant: &Path, file: &str, limit: u64) -> Result<PathBuf, String> {
    loop {
        let spare = made().spares.get_mut(tenant).and_then(Vec::pop);
        let Some((directory, written)) = spare else {
            let directory = new_cvm_directory(tenant);
            make_group(&directory, file, Some(limit))?;
            return Ok(directory);
        };
        if !left_empty(&directory, file) {
            let _ = std::fs::remove_dir(&directory);
            continue;
        }
        if written != limit {
            make_group(&directory, file, Some(limit))?;
        }
        return Ok(directory);
    }
}

/// Whether a spare group holds nothing of the cVM that left it: no task (a pids group:
/// a task still exiting would count against the next cVM's limit), (almost) no charge
/// (a memory group).
fn left_empty(directory: &Path, file: &str) -> bool {
    let (counter, most) =
        if file == "pids.max" { ("pids.current", 0) } else { ("memory.usage_in_bytes", REUSABLE_USAGE) };
    std::fs::read_to_string(directory.join(counter))
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .is_some_and(|used| used <= most)
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
        let mut groups = Vec::new();
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
                Ok(directory) => groups.push(Group { directory, file, limit: own }),
                Err(reason) => {
                    warn_once(flag, format_args!("no cgroup for cVM processes ({reason}): {consequence}"))
                }
            }
        }
        Self { groups }
    }

    /// The groups, for [`make_spares`] once the process is handed over.
    pub(super) fn groups(&self) -> Vec<Group> {
        self.groups.clone()
    }

    /// The memory limit, when the process reached it (the kernel refused it memory).
    pub(super) fn memory_limit_reached(&self) -> Option<u64> {
        let directory = &self.groups.iter().find(|group| group.directory.starts_with(MEMORY))?.directory;
        let read = |file: &str| std::fs::read_to_string(directory.join(file)).ok();
        let failures: u64 = read("memory.failcnt")?.trim().parse().ok()?;
        if failures == 0 {
            return None;
        }
        read("memory.limit_in_bytes")?.trim().parse().ok()
    }
}

impl Drop for CvmGroups {
    /// Keeps each group as a spare for the tenant's next cVM (its failure count reset),
    /// or removes it when the tenant has enough.
    fn drop(&mut self) {
        for group in &self.groups {
            let Some(tenant) = group.directory.parent() else { continue };
            let reset = group.file != "memory.limit_in_bytes"
                || std::fs::write(group.directory.join("memory.failcnt"), "0").is_ok();
            let mut made = made();
            let spares = made.spares.entry(tenant.to_path_buf()).or_default();
            if reset && spares.len() < MOST_SPARES {
                spares.push((group.directory.clone(), group.limit));
                continue;
            }
            drop(made);
            if let Err(error) = std::fs::remove_dir(&group.directory) {
                log::warn!("cannot remove the cgroup {}: {error}", group.directory.display());
            }
        }
    }
}

/// Makes a spare group beside each of `groups` (a cVM's), with the same limit, for the
/// next cVM of the tenant: done while that cVM runs.
pub(super) fn make_spares(groups: &[Group]) {
    for group in groups {
        let Some(tenant) = group.directory.parent() else { continue };
        if made().spares.get(tenant).is_some_and(|spares| !spares.is_empty()) {
            continue;
        }
        let spare = new_cvm_directory(tenant);
        if make_group(&spare, group.file, Some(group.limit)).is_ok() {
            made().spares.entry(tenant.to_path_buf()).or_default().push((spare, group.limit));
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
