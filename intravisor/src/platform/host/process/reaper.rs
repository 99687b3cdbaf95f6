//! Waiting for the processes of cVMs the intravisor has ended (and killed), apart from
//! the cVMs' lifecycle: the next cVM need not wait for the kernel to take a process
//! apart. Once a process is reaped, its cgroups are removed.
//!
//! Nothing of a killed process can reach another cVM meanwhile: it no longer runs
//! (SIGKILL), and what it still maps (its own region's memory file, the read-only shared
//! objects) is never handed to anyone else.

use std::process::Child;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock, PoisonError};

use super::cgroup::CvmGroups;

/// What the reaper's thread does, in order.
enum Job {
    /// Wait for a killed process, then remove its groups.
    Reap(Child, CvmGroups),
    /// Say when every earlier job is done.
    Flush(Sender<()>),
}

fn reaper() -> Option<&'static Mutex<Sender<Job>>> {
    static REAPER: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    REAPER
        .get_or_init(|| {
            let (sender, receiver) = channel::<Job>();
            let started = std::thread::Builder::new().name("cvm-reaper".to_string()).spawn(move || {
                for job in receiver {
                    match job {
                        Job::Reap(mut child, groups) => {
                            let _ = child.wait();
                            drop(groups);
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
            started.ok().map(|_| Mutex::new(sender))
        })
        .as_ref()
}

/// Reaps a killed cVM process, then removes its groups.
pub(super) fn reap(child: Child, groups: CvmGroups) {
    let unsent = match reaper() {
        Some(reaper) => reaper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Job::Reap(child, groups))
            .err()
            .map(|error| error.0),
        None => Some(Job::Reap(child, groups)),
    };
    // No reaper thread: reap here.
    if let Some(Job::Reap(mut child, groups)) = unsent {
        let _ = child.wait();
        drop(groups);
    }
}

/// Returns once every process handed to the reaper so far is reaped.
pub(super) fn flush() {
    let Some(reaper) = reaper() else { return };
    let (done, finished) = channel();
    if reaper.lock().unwrap_or_else(PoisonError::into_inner).send(Job::Flush(done)).is_ok() {
        let _ = finished.recv();
    }
}
