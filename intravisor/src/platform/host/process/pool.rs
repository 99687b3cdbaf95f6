//! Started cVM processes kept ready, so that a cVM's start does not wait for a process
//! to be spawned, exec'd and given its namespaces (about a millisecond on these
//! machines).
//!
//! One thread of the intravisor keeps [`READY`] processes waiting; [`take`] hands one
//! out (or starts one at once if none is ready) and wakes the thread to start another.
//! The processes the thread starts die with the intravisor (their `PR_SET_PDEATHSIG` is
//! tied to that thread, which lives as long as the intravisor's process).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use super::sandbox::{start_idle, Idle};

/// Processes kept ready.
const READY: usize = 2;

#[derive(Debug, Default)]
struct Pool {
    ready: Mutex<VecDeque<Idle>>,
    wanted: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::default());
        let started =
            std::thread::Builder::new().name("cvm-process-pool".to_string()).spawn(move || keep_ready(pool));
        if let Err(error) = started {
            log::warn!("no pool of started cVM processes (each cVM starts its own): {error}");
        }
        pool
    })
}

/// The pool's thread: starts processes while fewer than [`READY`] wait.
fn keep_ready(pool: &'static Pool) {
    loop {
        let mut ready = pool.ready.lock().unwrap_or_else(PoisonError::into_inner);
        while ready.len() >= READY {
            ready = pool.wanted.wait(ready).unwrap_or_else(PoisonError::into_inner);
        }
        drop(ready);
        match start_idle() {
            Ok(idle) => pool.ready.lock().unwrap_or_else(PoisonError::into_inner).push_back(idle),
            Err(reason) => {
                log::warn!("the pool of cVM processes stops: {reason}");
                return;
            }
        }
    }
}

/// A started process waiting for a cVM.
pub(super) fn take() -> Result<Idle, String> {
    let pool = pool();
    let idle = pool.ready.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
    pool.wanted.notify_one();
    match idle {
        // One that died while it waited (killed from outside) is not handed out.
        Some(mut idle) => match idle.child.try_wait() {
            Ok(None) => Ok(idle),
            _ => start_idle(),
        },
        None => start_idle(),
    }
}
