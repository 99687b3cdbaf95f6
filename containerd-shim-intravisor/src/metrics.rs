//! A container's memory as containerd's metrics carry it (the cgroup v1 `Metrics` message
//! `ctr task metrics` and the CRI read), from the node's accounting of its cVM.
//!
//! - `memory.usage.usage`: its process's proportional set size, shared pages divided
//!   among the processes that map them: what this container adds to the node;
//! - `memory.rss` / `memory.total_rss`: its resident bytes that no other process maps;
//! - `memory.mapped_file` / `memory.total_mapped_file`: its resident bytes shared with
//!   other processes (the objects' copies every container maps);
//! - `pids.current`: 1 while its cVM runs.

use containerd_shim::protos::cgroups::metrics::{MemoryEntry, MemoryStat, Metrics, PidsStat};
use containerd_shim::protos::protobuf::MessageField;
use intravisor::node::{ContainerStats, Phase};

/// The metrics of a container whose cVM the node counted as `stats`.
pub fn metrics_of(stats: &ContainerStats) -> Metrics {
    let private = stats.private.unwrap_or(0);
    let shared = stats.shared.unwrap_or(0);
    let memory = MemoryStat {
        usage: MessageField::some(MemoryEntry { usage: stats.pss.unwrap_or(0), ..Default::default() }),
        rss: private,
        total_rss: private,
        mapped_file: shared,
        total_mapped_file: shared,
        ..Default::default()
    };
    let running = u64::from(stats.phase == Phase::Running);
    Metrics {
        memory: MessageField::some(memory),
        pids: MessageField::some(PidsStat { current: running, ..Default::default() }),
        ..Default::default()
    }
}
