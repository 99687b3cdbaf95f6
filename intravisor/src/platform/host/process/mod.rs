//! A cVM as a sandboxed process of its own (ARCHITECTURE §5): the host platform's way of
//! running cVMs unless the operator asks for the in-process mode.
//!
//! The intravisor lays a cVM out exactly as for the in-process mode, in memory files it
//! maps at the same addresses: the cVM's region (one memory file per region) and the
//! shared area (one memory file, relocated objects written once). The cVM's process maps
//! only its region and the objects it uses, at the same addresses, the objects from a
//! read-only descriptor, so their pages are physically one copy for every cVM and no
//! cVM can make them writable. Hostcalls cross through the gate (`gate`); the kernel
//! holds the rest (`sandbox`); one intravisor thread serves every thread of the cVM
//! (`serve`).
//!
//! - `gate`: the memory file shared with the process, its layout;
//! - `sandbox`: the program the process starts from, its descriptors, namespaces and
//!   seccomp filter;
//! - `serve`: answering hostcalls, threads, and ending the cVM;
//! - `cgroup`: the limits the kernel holds for each cVM process;
//! - `control`: ending a running cVM process from outside its run;
//! - `pool`: started processes kept ready for the next cVMs;
//! - `reaper`: waiting for the processes of cVMs the intravisor ended.

mod cgroup;
mod control;
mod gate;
mod pool;
mod reaper;
mod sandbox;
mod serve;

pub use cgroup::{remove_parents as remove_cgroups, TenantLimits};
pub use control::ProcessControl;
pub use pool::ProcessStart;

use std::ops::Range;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::merge::MergeFiles;
use super::signals::Fault;
use super::switch::{CvmEntry, CvmStop, HostcallHandler, Limit};
use super::usage::{process_memory, ProcessMemory};
use crate::guest::{Mapping, Protection};
use gate::{header, state, Gate, ProcessMapping, MOST_MAPPINGS, SLOTS};
use serve::Served;

/// The intravisor's stack for the thread serving a cVM's process.
const SERVER_STACK: usize = 256 * 1024;
/// When a cVM process's memory is first sampled; each wait for the next sample is twice
/// the last, up to [`LONGEST_SAMPLE_INTERVAL`]; from then on, long enough that the samples
/// of all running cVM processes together take at most 1 % of a processor (a sample's
/// time, times 100, times the processes running). A sample walks the process's page tables,
/// and takes its memory map's lock from its page faults: from 2 ms on, the samples of 8
/// short transcodes were 5 % of all the processor time they took; once a second, those
/// of 64 transcoders were 0.8 %.
const FIRST_SAMPLE: Duration = Duration::from_millis(10);
const LONGEST_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// cVM processes whose memory is being sampled.
static SAMPLED_PROCESSES: AtomicUsize = AtomicUsize::new(0);
/// Descriptor numbers of the region and the shared objects in the process.
const REGION_FILE: u64 = 1;
const SHARED_FILE: u64 = 2;

/// What a cVM's process is made of: where its memory comes from, and its limits.
#[derive(Debug, Clone)]
pub struct CvmProcess<'a> {
    /// The cVM's region and the memory file behind it (offset 0 at the region's start).
    pub region: Range<u64>,
    pub region_file: BorrowedFd<'a>,
    /// The shared area and a read-only descriptor of the memory file behind it.
    pub shared: Range<u64>,
    pub shared_file: BorrowedFd<'a>,
    /// Every page the cVM may reach, with its protection (the region's and the shared
    /// objects' it uses).
    pub mappings: &'a [Mapping],
    /// Where the boot block's hostcall entry is, for the process to fill.
    pub hostcall_field: u64,
    /// The processor time the process may use, in seconds (none: no limit).
    pub cpu_seconds: Option<u64>,
    /// The time the cVM may run, in seconds from now (none: no limit).
    pub wall_seconds: Option<u64>,
    /// The files of its run-time sharing, when its tenant opted in.
    pub merge: Option<MergeFiles<'a>>,
    /// A handle that ends it from outside and names its process (a node's containers).
    pub control: Option<&'a ProcessControl>,
}

fn native(protection: Protection) -> u64 {
    (match protection {
        Protection::None => libc::PROT_NONE,
        Protection::Read => libc::PROT_READ,
        Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
    }) as u64
}

/// The process's mappings: the whole region inaccessible, then the protections of its
/// pages; each shared object's pages from the read-only file.
fn process_mappings(memory: &CvmProcess<'_>) -> Result<Vec<ProcessMapping>, String> {
    let region = &memory.region;
    let mut mappings = vec![ProcessMapping {
        start: region.start,
        length: region.end - region.start,
        protection: native(Protection::None),
        file: REGION_FILE,
        offset: 0,
        protect_only: false,
    }];
    for mapping in memory.mappings {
        let inside_region = mapping.start >= region.start && mapping.end <= region.end;
        let inside_shared = mapping.start >= memory.shared.start && mapping.end <= memory.shared.end;
        let (file, offset, protect_only) = match (inside_region, inside_shared) {
            (true, _) => (REGION_FILE, mapping.start - region.start, true),
            (false, true) => (SHARED_FILE, mapping.start - memory.shared.start, false),
            (false, false) => {
                return Err(format!(
                    "its pages {:#x}..{:#x} are neither in its region nor in the shared area",
                    mapping.start, mapping.end
                ))
            }
        };
        let protection = native(mapping.protection);
        // Neighbouring pages of one shared object with one protection become one mapping.
        if let Some(last) = mappings.last_mut() {
            let follows = last.start + last.length == mapping.start && last.offset + last.length == offset;
            if follows
                && last.file == file
                && last.protection == protection
                && last.protect_only == protect_only
            {
                last.length += mapping.end - mapping.start;
                continue;
            }
        }
        mappings.push(ProcessMapping {
            start: mapping.start,
            length: mapping.end - mapping.start,
            protection,
            file,
            offset,
            protect_only,
        });
    }
    if mappings.len() > MOST_MAPPINGS {
        return Err(format!(
            "it needs {} mappings, more than a cVM process takes ({MOST_MAPPINGS})",
            mappings.len()
        ));
    }
    Ok(mappings)
}

/// Runs a cVM in a process of its own until it exits or faults; serves its hostcalls
/// through `handler`. Returns why it stopped and how many threads it ran, or why its
/// process could not be set up.
///
/// # Safety
/// The memory files back exactly the ranges `memory` names, mapped in the intravisor at
/// the same addresses for the whole call, with the pages laid out and protected as
/// `process.mappings` says; `start` names the cVM's entry point, stack and boot block
/// in them. Everything the cVM can reach through `handler` is checked there against its
/// capabilities.
pub unsafe fn run_cvm_process(
    start: CvmEntry,
    process: CvmProcess<'_>,
    placed: ProcessStart,
    handler: &(dyn HostcallHandler + '_),
) -> Result<ProcessEnd, String> {
    let mappings = process_mappings(&process)?;
    let gate = Gate::create().map_err(|error| format!("cannot make its gate: {error}"))?;
    gate.set_mappings(&mappings);
    gate.set_filter(sandbox::filter()?);
    for (word, value) in [
        (header::ENTRY, start.entry),
        (header::STACK_TOP, start.stack_top),
        (header::ARGUMENT, start.argument),
        (header::CLS_TABLE, start.cls_table),
        (header::BOOT_HOSTCALL_FIELD, process.hostcall_field),
        (header::CPU_SECONDS, process.cpu_seconds.unwrap_or(0)),
        (header::NAMESPACE_FLAGS, sandbox::NAMESPACES as u64),
    ] {
        gate.set(word, value);
    }
    let (idle, groups) = placed.wait().inspect_err(|_| pool::refill())?;
    let pid = idle.child.id();
    // SAFETY: pidfd_open of a child we started and have not reaped.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    if raw < 0 {
        pool::refill();
        return Err(abandon(
            &mut idle.into_child(),
            format!("cannot watch its process: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: eventfd makes a new descriptor.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if raw < 0 {
        pool::refill();
        return Err(abandon(
            &mut idle.into_child(),
            format!("cannot make its end signal: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let ended = unsafe { OwnedFd::from_raw_fd(raw) };
    // The process is in its groups (the pool put it there while the cVM was laid out),
    // so the gate says GO: it enters the cVM as soon as its sandbox is in place, without
    // a round trip here.
    gate.state().store(state::GO, Ordering::Release);
    // Its granted regular files, which it reads without a round trip (`serve`).
    let (direct_grants, direct_files): (Vec<usize>, Vec<OwnedFd>) =
        handler.regular_grants(sandbox::MOST_DIRECT_FILES).into_iter().unzip();
    gate.set(header::DIRECT_FILES, direct_files.len() as u64);
    let child = idle.hand(&gate, process.region_file, process.shared_file, process.merge, &direct_files);
    drop(direct_files);
    pool::refill();
    let mut child = child?;
    let served = Served::new(&gate, handler, pidfd.as_raw_fd(), ended.as_raw_fd(), direct_grants);
    if let Some(control) = process.control {
        control.started(pid);
    }
    let memory = std::thread::scope(|scope| {
        let serving = std::thread::Builder::new()
            .name(format!("cvm-serve-{pid}"))
            .stack_size(SERVER_STACK)
            .spawn_scoped(scope, || served.serve());
        if serving.is_err() {
            served.end(Some(CvmStop::HandlerPanicked));
        }
        let deadline = process.wall_seconds.map(|seconds| Instant::now() + Duration::from_secs(seconds));
        let outside = process.control.map_or(-1, ProcessControl::end_descriptor);
        let (memory, ending) = wait_for_end(pid, [pidfd.as_raw_fd(), ended.as_raw_fd(), outside], deadline);
        let stop = match ending {
            Ending::Watched => None,
            Ending::TimedOut => Some(CvmStop::Killed(Limit::WallSeconds(process.wall_seconds.unwrap_or(0)))),
            Ending::Asked => {
                let signal = process.control.and_then(ProcessControl::killed_by).unwrap_or(libc::SIGKILL);
                Some(CvmStop::Killed(Limit::Operator(signal)))
            }
        };
        served.end(stop);
        memory
    });
    if let Some(control) = process.control {
        control.ended();
    }
    note_weaker_sandbox(&gate);
    let stop = match served.take_stop() {
        // The intravisor ended it and killed its process: the process is reaped, and its
        // groups removed, apart from the next cVM's start.
        Some(stop) => {
            reaper::reap(child, groups);
            return Ok(ProcessEnd { stop, threads: served.thread_count(), memory });
        }
        None => match child.wait() {
            Ok(status) => {
                if let Some(failure) = setup_failure(&gate) {
                    return Err(failure);
                }
                ended_by_itself(&gate, status)
            }
            Err(_) => CvmStop::HandlerPanicked,
        },
    };
    let stop = match stop {
        CvmStop::Faulted(Fault { signal: libc::SIGXCPU, .. }) => {
            CvmStop::Killed(Limit::CpuSeconds(process.cpu_seconds.unwrap_or(0)))
        }
        CvmStop::Faulted(Fault { signal: libc::SIGKILL, .. }) => match groups.memory_limit_reached() {
            Some(limit) => CvmStop::Killed(Limit::Memory(limit)),
            None => CvmStop::Killed(Limit::Signal(libc::SIGKILL)),
        },
        other => other,
    };
    drop(groups);
    Ok(ProcessEnd { stop, threads: served.thread_count(), memory })
}

/// How a cVM's process ended.
#[derive(Debug)]
pub struct ProcessEnd {
    /// Why its cVM stopped.
    pub stop: CvmStop,
    /// How many threads the cVM ran, the first included.
    pub threads: u64,
    /// Its memory at its highest Pss as sampled while it ran (none for a cVM that
    /// ended before the first sample).
    pub memory: Option<ProcessMemory>,
}

/// Kills and reaps a process whose cVM cannot run; returns why.
fn abandon(child: &mut std::process::Child, reason: String) -> String {
    let _ = child.kill();
    let _ = child.wait();
    reason
}

/// Why [`wait_for_end`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The process ended, or the intravisor ended its cVM.
    Watched,
    /// Its wall time ran out.
    TimedOut,
    /// It was asked to end from outside (`ProcessControl::kill`).
    Asked,
}

/// Waits until the process `pidfd` names (`pid`) has ended, the intravisor has ended its
/// cVM (`ended`, an eventfd, is written), or it is asked to end from outside (`asked`,
/// an eventfd, or -1 for none); the three descriptors in that order. Samples its memory
/// meanwhile (at [`FIRST_SAMPLE`], then ever less often) and returns the sample with the
/// highest Pss, if any was taken.
fn wait_for_end(
    pid: u32,
    [pidfd, ended, asked]: [libc::c_int; 3],
    deadline: Option<Instant>,
) -> (Option<ProcessMemory>, Ending) {
    let mut watched = [pidfd, ended, asked].map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
    let mut peak: Option<ProcessMemory> = None;
    let mut timeout = FIRST_SAMPLE;
    let _sampled = SampledProcess::new();
    loop {
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return (peak, Ending::TimedOut);
        }
        let wait = left.map_or(timeout, |left| left.min(timeout));
        // SAFETY: poll reads and writes the three entries of `watched` (a negative
        // descriptor is skipped).
        let ready = unsafe { libc::poll(watched.as_mut_ptr(), 3, wait.as_millis().max(1) as libc::c_int) };
        if ready > 0 {
            let asked = watched[2].revents != 0 && watched[0].revents == 0 && watched[1].revents == 0;
            return (peak, if asked { Ending::Asked } else { Ending::Watched });
        }
        if ready < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return (peak, Ending::Watched);
        }
        if ready == 0 {
            let started = Instant::now();
            if let Some(sample) = process_memory(pid) {
                peak = Some(peak.filter(|peak| peak.pss >= sample.pss).unwrap_or(sample));
            }
            timeout = (timeout * 2).min(LONGEST_SAMPLE_INTERVAL);
            if timeout == LONGEST_SAMPLE_INTERVAL {
                let processes = SAMPLED_PROCESSES.load(Ordering::Relaxed) as u32;
                timeout = timeout.max(started.elapsed().saturating_mul(100).saturating_mul(processes.max(1)));
            }
        }
    }
}

/// Counts a process in [`SAMPLED_PROCESSES`] while it lives.
struct SampledProcess;

impl SampledProcess {
    fn new() -> Self {
        SAMPLED_PROCESSES.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for SampledProcess {
    fn drop(&mut self) {
        SAMPLED_PROCESSES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why the process could not set its sandbox up, if it said so before it exited (it
/// runs no cVM code then).
fn setup_failure(gate: &Gate) -> Option<String> {
    if gate.state().load(Ordering::Acquire) != state::FAILED {
        return None;
    }
    let stage = match gate.get(header::FAILED_STAGE) {
        1 => "opening its gate",
        2 => "mapping its memory",
        3 => "installing its fault handlers",
        4 => "setting no_new_privs",
        5 => "installing its seccomp filter",
        7 => "taking its processor time limit",
        _ => "checking the gate's layout",
    };
    let error = std::io::Error::from_raw_os_error(gate.get(header::FAILED_ERRNO) as i32);
    Some(format!("its process failed {stage}: {error}"))
}

/// Logs once what the kernel did not allow: namespaces, the time namespace, Landlock.
fn note_weaker_sandbox(gate: &Gate) {
    static NOTED: AtomicBool = AtomicBool::new(false);
    let namespaces = gate.get(header::NAMESPACES);
    let time_namespace = gate.get(header::TIME_NAMESPACE);
    let landlock = gate.get(header::LANDLOCK) as i64;
    if (namespaces != 0 || time_namespace != 0 || landlock <= 0) && !NOTED.swap(true, Ordering::Relaxed) {
        if namespaces != 0 {
            log::warn!(
                "cVM processes run without new namespaces: {}",
                std::io::Error::from_raw_os_error(namespaces as i32)
            );
        }
        if time_namespace != 0 {
            log::warn!(
                "cVM processes run without a time namespace of their own (a cVM reads how long the host has been up, not its own process): {}",
                std::io::Error::from_raw_os_error(time_namespace as i32)
            );
        }
        if landlock <= 0 {
            log::warn!(
                "cVM processes run without a Landlock domain (file access is still refused by seccomp): {}",
                std::io::Error::from_raw_os_error(-landlock as i32)
            );
        }
    }
}

/// Why a process ended that the intravisor did not end: the fault its handler recorded,
/// else the signal that killed it, else its own exit status.
fn ended_by_itself(gate: &Gate, status: std::process::ExitStatus) -> CvmStop {
    let signal = gate.get(header::FAULT_SIGNAL) as i32;
    if signal != 0 {
        let fault = Fault {
            signal,
            code: gate.get(header::FAULT_CODE) as i32,
            address: gate.get(header::FAULT_ADDRESS),
            program_counter: gate.get(header::FAULT_PC),
        };
        if signal == libc::SIGSYS {
            log::warn!(
                "system call {} at {:#x} is one a cVM may not make",
                gate.get(header::FAULT_SYSCALL) as i32,
                fault.program_counter
            );
        }
        return CvmStop::Faulted(fault);
    }
    match (status.signal(), status.code()) {
        (Some(signal), _) => CvmStop::Faulted(Fault { signal, code: 0, address: 0, program_counter: 0 }),
        (None, Some(code)) => CvmStop::Exited(code),
        (None, None) => CvmStop::Exited(0),
    }
}
