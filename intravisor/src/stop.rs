//! The end of a run as the intravisor's background threads (the memory sampler, the
//! run-time sharing merger) see it: a flag they can sleep on, so that they notice it at
//! once instead of at their next poll. A run of one short cVM is over in tens of
//! milliseconds; a background thread that polled every 50 ms kept it going that long
//! again.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Set once, when the run is over; sleepers wake when it is set.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    /// A run that is not over.
    pub fn new() -> Self {
        Self::default()
    }

    /// The run is over: every sleeper wakes now.
    pub fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Whether the run is over.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps for `duration` or until the run is over; true if it is over.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            stopped = self.changed.wait_timeout(stopped, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Stop;

    #[test]
    fn a_sleeper_wakes_when_the_run_stops_not_when_its_sleep_ends() {
        let stop = Stop::new();
        let started = Instant::now();
        std::thread::scope(|scope| {
            let sleeper = scope.spawn(|| stop.sleep(Duration::from_secs(60)));
            std::thread::sleep(Duration::from_millis(20));
            stop.stop();
            assert!(sleeper.join().unwrap(), "the sleeper saw the stop");
        });
        assert!(started.elapsed() < Duration::from_secs(30), "it slept its full minute");
        assert!(stop.is_stopped());
        assert!(stop.sleep(Duration::from_secs(60)), "a sleep after the stop returns at once");
    }

    #[test]
    fn a_sleep_without_a_stop_lasts_its_duration() {
        let stop = Stop::new();
        let started = Instant::now();
        assert!(!stop.sleep(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(!stop.is_stopped());
    }
}
