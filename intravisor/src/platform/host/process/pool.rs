//! Started cVM processes kept ready, so that a cVM's start does not wait for a process
//! to be spawned, exec'd and given its namespaces (about a millisecond on these
//! machines), nor for its groups to be made.
//!
//! One thread of the intravisor keeps [`READY`] processes waiting. A cVM about to be
//! built asks for one with [`ProcessStart::begin`]: the thread takes a waiting process
//! and puts it into the cVM's groups (`cgroup`) while the intravisor lays the cVM out;
//! [`ProcessStart::wait`] then hands it over, and [`refill`], once the cVM runs, lets
//! the thread start the next one (not earlier: on two processors, starting it would
//! compete with this cVM's own start). The processes the thread starts die with the
//! intravisor (their `PR_SET_PDEATHSIG` is tied to that thread, which lives as long as
//! the intravisor's process).
//!
//! The thread first moves itself into a new, empty network namespace, which every
//! process it starts inherits: making and destroying a network namespace per process
//! costs about 0.65 ms of processor time here, the largest part of a process's start.
//! The namespace has only a loopback device, down, and belongs to the intravisor's own
//! user namespace, so no cVM process (each in a user namespace of its own) can change
//! it. Where the intravisor may not make one (not root), each process takes its own.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use super::cgroup::{make_spares, CvmGroups, Group, TenantLimits};
use super::sandbox::{start_idle, Idle};
use super::SLOTS;

/// Processes kept ready.
const READY: usize = 2;

#[derive(Debug, Default)]
struct Pool {
    state: Mutex<State>,
    /// Signalled when the thread has work: a request, or room for another process.
    wanted: Condvar,
    /// Signalled when a process is ready or placed, or the thread stopped.
    delivered: Condvar,
}

#[derive(Debug, Default)]
struct State {
    ready: VecDeque<Idle>,
    requests: VecDeque<Arc<Placement>>,
    /// Processes handed out whose cVMs have not started yet ([`refill`]).
    starting: usize,
    /// The thread has stopped (cannot start processes): callers start their own.
    stopped: bool,
}

impl Pool {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a cVM's process is placed for, and the outcome.
#[derive(Debug)]
struct Placement {
    region_size: u64,
    tenant: String,
    tenant_cvms: Option<u64>,
    tenant_memory: Option<u64>,
    outcome: Mutex<Option<Result<(Idle, CvmGroups), String>>>,
}

impl Placement {
    /// Takes a process (a ready one, else a new one) and puts it into its groups;
    /// returns the groups, to make spares for the tenant's next cVM
    /// ([`make_spares`]) once the outcome is delivered.
    fn place(&self, ready: Option<Idle>, shared_network: bool) -> Vec<Group> {
        let placed = ready.map_or_else(|| start_idle(shared_network), Ok).map(|idle| {
            let tenant =
                TenantLimits { name: &self.tenant, cvms: self.tenant_cvms, memory_total: self.tenant_memory };
            let groups = CvmGroups::place(idle.child.id(), SLOTS as u64, self.region_size, tenant);
            (idle, groups)
        });
        let directories = placed.as_ref().map(|(_, groups)| groups.groups()).unwrap_or_default();
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(placed);
        directories
    }
}

/// A process being readied for a cVM: started, in the cVM's groups.
#[derive(Debug)]
pub struct ProcessStart {
    placement: Option<Arc<Placement>>,
}

impl ProcessStart {
    /// Asks for a process for a cVM with a region of `region_size` bytes, of `tenant`.
    pub fn begin(region_size: u64, tenant: TenantLimits<'_>) -> Self {
        let placement = Arc::new(Placement {
            region_size,
            tenant: tenant.name.to_string(),
            tenant_cvms: tenant.cvms,
            tenant_memory: tenant.memory_total,
            outcome: Mutex::new(None),
        });
        let pool = pool();
        let mut state = pool.state();
        state.starting += 1;
        if state.stopped {
            drop(state);
            make_spares(&placement.place(None, false));
        } else {
            state.requests.push_back(Arc::clone(&placement));
            pool.wanted.notify_one();
        }
        Self { placement: Some(placement) }
    }

    /// Starts the pool's thread now, if it has not started: the first cVM's process is
    /// then started while the intravisor reads and loads the objects, not after.
    pub fn prepare_pool() {
        pool();
    }

    /// How many cVM processes this intravisor has started (for tests: a cVM refused
    /// before it is prepared costs none).
    pub fn processes_started() -> u64 {
        super::sandbox::STARTED.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The process and its groups, once placed.
    pub(super) fn wait(mut self) -> Result<(Idle, CvmGroups), String> {
        let placement = self.placement.take().expect("a process start is waited for once");
        let pool = pool();
        let mut state = pool.state();
        loop {
            if let Some(outcome) = placement.outcome.lock().unwrap_or_else(PoisonError::into_inner).take() {
                return outcome;
            }
            if state.stopped && state.requests.iter().any(|request| Arc::ptr_eq(request, &placement)) {
                // The thread stopped before it came to this one.
                state.requests.retain(|request| !Arc::ptr_eq(request, &placement));
                drop(state);
                make_spares(&placement.place(None, false));
                state = pool.state();
                continue;
            }
            state = pool.delivered.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for ProcessStart {
    /// A start never waited for (the cVM was not built): its process is killed.
    fn drop(&mut self) {
        if self.placement.is_some() {
            let placement = Self { placement: self.placement.take() };
            if let Ok((idle, groups)) = placement.wait() {
                let mut child = idle.into_child();
                let _ = child.kill();
                let _ = child.wait();
                drop(groups);
            }
            refill();
        }
    }
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::default());
        let started =
            std::thread::Builder::new().name("cvm-process-pool".to_string()).spawn(move || keep_ready(pool));
        if let Err(error) = started {
            log::warn!("no pool of started cVM processes (each cVM starts its own): {error}");
            pool.state().stopped = true;
        }
        pool
    })
}

/// Moves the calling thread into a new network namespace; whether it did.
fn enter_shared_network() -> bool {
    // SAFETY: unshare(CLONE_NEWNET) changes the network namespace of the calling thread
    // only (the pool's, which opens no sockets); it touches no memory.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        return true;
    }
    log::info!(
        "cVM processes each take a network namespace of their own (slower to start): {}",
        std::io::Error::last_os_error()
    );
    false
}

/// What the pool's thread does next.
enum Work {
    Place(Arc<Placement>, Option<Idle>),
    Start,
}

/// The pool's thread: places processes for the cVMs that ask, and starts processes
/// while fewer than [`READY`] wait and no cVM is starting (or none waits at all).
fn keep_ready(pool: &'static Pool) {
    let shared_network = enter_shared_network();
    loop {
        let mut state = pool.state();
        let work = loop {
            if let Some(request) = state.requests.pop_front() {
                let mut ready = None;
                while let Some(mut idle) = state.ready.pop_front() {
                    // One that died while it waited (killed from outside) is not used.
                    if let Ok(None) = idle.child.try_wait() {
                        ready = Some(idle);
                        break;
                    }
                }
                break Work::Place(request, ready);
            }
            if state.ready.len() < READY && (state.starting == 0 || state.ready.is_empty()) {
                break Work::Start;
            }
            state = pool.wanted.wait(state).unwrap_or_else(PoisonError::into_inner);
        };
        drop(state);
        match work {
            Work::Place(request, ready) => {
                let groups = request.place(ready, shared_network);
                // Under the lock, so that a waiter between its look and its wait hears it.
                drop(pool.state());
                pool.delivered.notify_all();
                make_spares(&groups);
            }
            Work::Start => {
                let started = start_idle(shared_network);
                let mut state = pool.state();
                match started {
                    Ok(idle) => state.ready.push_back(idle),
                    Err(reason) => {
                        log::warn!("the pool of cVM processes stops: {reason}");
                        state.stopped = true;
                    }
                }
            }
        }
        let stopped = pool.state().stopped;
        pool.delivered.notify_all();
        if stopped {
            return;
        }
    }
}

/// A cVM handed a process has started (or failed to): the thread may start the next
/// process.
pub(super) fn refill() {
    let pool = pool();
    let mut state = pool.state();
    state.starting = state.starting.saturating_sub(1);
    pool.wanted.notify_one();
}
