//! Run-time sharing groups of one deployment (a tenant's `run_time_sharing:` policy):
//! which cVMs form a group, when their pages are compared, and the merging itself
//! (`platform::host::merge` holds the mechanism).
//!
//! A group is every cVM of one opted-in tenant with the same program, objects and
//! region size, run as processes, when there are at least two. Once every member has
//! started (or could not), and the tenant's delay has passed since the last start, the
//! pages whose contents every live member holds (at any offset of its region: one heap
//! lays a table out a page from where another does) become one copy-on-write copy;
//! the report gives each cVM's merged bytes. Then again while two
//! members live, [`FIRST_INTERVAL`] later, then twice as long after each round up to
//! [`LONGEST_INTERVAL`]: members that were late to fill their tables (64 transcoders on
//! two cores are not all past their set-up half a second after the last started) and
//! pages that became alike since are merged then. The intervals grow because a round
//! costs: it compares every member's pages under their locks, and the pages of zeros it
//! gives back are often written again soon (a page fault each).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::config::{CvmConfig, Deployment};
use crate::guest::{Mapping, Protection};
use crate::platform::{give_back_free_memory, identical_pages, run_ahead_of_cvms, MergeGroup, RegionMerge};
use crate::stop::Stop;
use policy::PolicySet;

/// How long after the first round of merging the second is.
const FIRST_INTERVAL: Duration = Duration::from_secs(1);
/// The longest interval between rounds.
const LONGEST_INTERVAL: Duration = Duration::from_secs(16);
/// How long the processes of a group get to map what is proposed.
const APPLY_DEADLINE: Duration = Duration::from_secs(2);
/// How often the merger looks whether the processes have.
const APPLY_POLL: Duration = Duration::from_millis(2);
/// How long a merger waiting for members sleeps before it looks again (the end of the
/// run and every arrival wake it sooner).
const WAIT_SLICE: Duration = Duration::from_millis(50);
/// Page size.
const PAGE: u64 = 4096;

/// The groups of a deployment, and which cVM (by index) is in which.
#[derive(Debug, Default)]
pub struct SharingGroups {
    groups: Vec<Group>,
    member_of: BTreeMap<usize, usize>,
}

#[derive(Debug)]
struct Group {
    file: Arc<MergeGroup>,
    after: Duration,
    expected: usize,
    state: Mutex<GroupState>,
    arrived: Condvar,
}

#[derive(Debug, Default)]
struct GroupState {
    arrived: usize,
    last_start: Option<Instant>,
    members: Vec<(Arc<RegionMerge>, Vec<Range<u64>>)>,
}

impl SharingGroups {
    /// The groups of `deployment` under `policies` (none unless cVMs run as processes).
    pub fn plan(deployment: &Deployment, policies: &PolicySet, processes: bool) -> Self {
        let mut groups = Self::default();
        if !processes {
            return groups;
        }
        let mut by_key: BTreeMap<(String, String, Vec<String>, u64), Vec<usize>> = BTreeMap::new();
        for (index, cvm) in deployment.cvms.iter().enumerate() {
            if policies.policy(&cvm.tenant).is_some_and(|policy| policy.run_time_sharing.is_some()) {
                by_key.entry(key(cvm)).or_default().push(index);
            }
        }
        for ((tenant, ..), members) in by_key {
            if members.len() < 2 {
                continue;
            }
            let sharing =
                policies.policy(&tenant).and_then(|policy| policy.run_time_sharing).unwrap_or_default();
            let region_size = deployment.cvms[members[0]].region_size;
            let file = match MergeGroup::new(region_size) {
                Ok(file) => file,
                Err(error) => {
                    log::error!(
                        "tenant `{tenant}`: run-time sharing is off: cannot make its merged file: {error}"
                    );
                    continue;
                }
            };
            let group = groups.groups.len();
            groups.member_of.extend(members.iter().map(|&member| (member, group)));
            groups.groups.push(Group {
                file,
                after: Duration::from_millis(sharing.after_milliseconds),
                expected: members.len(),
                state: Mutex::default(),
                arrived: Condvar::new(),
            });
        }
        groups
    }

    /// The merged file of the group cVM `index` is in, if any.
    pub fn group_file(&self, index: usize) -> Option<Arc<MergeGroup>> {
        self.member_of.get(&index).map(|&group| Arc::clone(&self.groups[group].file))
    }

    /// cVM `index` started with `merge` (its pages with `mappings`), or could not
    /// (`None`): the group's merger waits for every member to arrive.
    pub fn arrived(&self, index: usize, merge: Option<(Arc<RegionMerge>, &[Mapping])>) {
        let Some(&group) = self.member_of.get(&index) else { return };
        let group = &self.groups[group];
        let mut state = group.state();
        state.arrived += 1;
        if let Some((merge, mappings)) = merge {
            let region = merge.region();
            let writable = mappings
                .iter()
                .filter(|mapping| mapping.protection == Protection::ReadWrite)
                .filter(|mapping| mapping.start >= region.start && mapping.end <= region.end)
                .map(|mapping| (mapping.start - region.start) / PAGE..(mapping.end - region.start) / PAGE)
                .collect();
            state.members.push((merge, writable));
            state.last_start = Some(Instant::now());
        }
        group.arrived.notify_all();
    }

    /// Merges each group once its members have arrived and its delay has passed, then
    /// in rounds further and further apart while two of its members live; returns when
    /// no group has two live members or the run stops.
    pub fn run(&self, stop: &Stop) {
        if self.groups.is_empty() {
            return;
        }
        // A round's own work is a tenth of a second of processor time at 64 transcoders,
        // but on two cores shared with their 576 threads it took 4 s of wall time, and
        // the cVMs wait that long for their pages to be freed.
        if let Err(error) = run_ahead_of_cvms() {
            log::debug!("run-time sharing runs at the cVMs' priority: {error}");
        }
        for group in &self.groups {
            if !group.merge_when_ready(stop) {
                return;
            }
        }
        let mut interval = FIRST_INTERVAL;
        while !self.groups.is_empty() {
            if stop.sleep(interval) {
                return;
            }
            interval = (interval * 2).min(LONGEST_INTERVAL);
            let mut any = false;
            for group in &self.groups {
                any |= group.merge_live_members();
            }
            if !any {
                return;
            }
        }
    }

    /// The run is over: wakes the merger if it waits for members.
    pub fn wake(&self) {
        for group in &self.groups {
            let _state = group.state();
            group.arrived.notify_all();
        }
    }
}

impl Group {
    fn state(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the members and the delay, then merges; false if the run ended first.
    fn merge_when_ready(&self, stop: &Stop) -> bool {
        let mut state = self.state();
        loop {
            if stop.is_stopped() {
                return false;
            }
            let due = state.last_start.map(|start| start + self.after);
            match due {
                Some(due) if state.arrived >= self.expected && Instant::now() >= due => break,
                _ => {
                    let wait = due.map_or(WAIT_SLICE, |due| due.saturating_duration_since(Instant::now()));
                    state = self
                        .arrived
                        .wait_timeout(state, wait.clamp(Duration::from_millis(1), WAIT_SLICE))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        drop(state);
        self.merge_live_members();
        true
    }

    /// A round of merging among the members still running; false if fewer than two are.
    fn merge_live_members(&self) -> bool {
        let members: Vec<(Arc<RegionMerge>, Vec<Range<u64>>)> =
            self.state().members.iter().filter(|(merge, _)| !merge.closed()).cloned().collect();
        if members.len() < 2 {
            return false;
        }
        self.merge(&members);
        true
    }

    fn merge(&self, members: &[(Arc<RegionMerge>, Vec<Range<u64>>)]) {
        let writable = common_ranges(members.iter().map(|(_, writable)| writable.as_slice()));
        let regions: Vec<Arc<RegionMerge>> = members.iter().map(|(merge, _)| Arc::clone(merge)).collect();
        let started = Instant::now();
        let found = identical_pages(&self.file, &regions, &writable);
        let compared = started.elapsed();
        let proposals: Vec<(&Arc<RegionMerge>, u64)> = regions
            .iter()
            .zip(found.identical.iter().zip(&found.zero))
            .filter_map(|(merge, (identical, zero))| {
                merge.propose(identical, zero).map(|generation| (merge, generation))
            })
            .collect();
        if proposals.is_empty() {
            log::debug!("run-time sharing: nothing to merge among {} cVMs ({compared:?})", regions.len());
            return;
        }
        let deadline = Instant::now() + APPLY_DEADLINE;
        while Instant::now() < deadline
            && proposals.iter().any(|(merge, generation)| !merge.caught_up(*generation) && !merge.closed())
        {
            std::thread::sleep(APPLY_POLL);
        }
        let applied = started.elapsed();
        let (merged, emptied) = proposals
            .iter()
            .map(|(merge, _)| merge.commit())
            .fold((0, 0), |(merged, emptied), (more_merged, more_emptied)| {
                (merged + more_merged, emptied + more_emptied)
            });
        // The comparison's vectors are freed: the allocator gives their pages back.
        give_back_free_memory();
        log::info!(
            "run-time sharing: {} pages of contents all {} cVMs hold, {merged} of them merged, {emptied} pages of zeros given back (compared in {compared:?}, mapped by {} of {} processes in {:?}, freed in {:?})",
            found.identical.iter().map(Vec::len).sum::<usize>(),
            regions.len(),
            proposals.iter().filter(|(merge, generation)| merge.caught_up(*generation)).count(),
            proposals.len(),
            applied - compared,
            started.elapsed() - applied,
        );
    }
}

/// The cVMs of one group share these: tenant, program, objects, region size.
fn key(cvm: &CvmConfig) -> (String, String, Vec<String>, u64) {
    let objects = cvm
        .objects
        .iter()
        .map(|object| match object {
            crate::config::ObjectRef::Path(path) => path.display().to_string(),
            crate::config::ObjectRef::Digest(digest) => policy::digest_hex(digest),
        })
        .collect();
    (cvm.tenant.clone(), cvm.runtime.display().to_string(), objects, cvm.region_size)
}

/// The page ranges in every one of `lists`.
fn common_ranges<'a>(mut lists: impl Iterator<Item = &'a [Range<u64>]>) -> Vec<Range<u64>> {
    let Some(first) = lists.next() else { return Vec::new() };
    let mut common = first.to_vec();
    for list in lists {
        let mut next = Vec::new();
        for range in &common {
            for other in list {
                let (start, end) = (range.start.max(other.start), range.end.min(other.end));
                if start < end {
                    next.push(start..end);
                }
            }
        }
        common = next;
    }
    common
}
