//! Running the image's cVMs bare metal: each planned, its shared objects acquired from
//! the same object store as on the host, its region laid out and built by the same code,
//! then all run at EL0 at once, taking turns on the core; hostcalls arrive as `svc #0`
//! and are checked against the cVM's capabilities exactly as on the host.
//!
//! Every cVM is prepared and built before the first runs, so an object several cVMs
//! name is loaded once and stays loaded until its last user is torn down. The cVMs then
//! take turns, round robin, in deployment order: each holds the core until its slice
//! ends (`interrupts`), none of its threads can run before a deadline, or it ends (then
//! it is torn down). Only the region of the cVM on the core is reachable from EL0
//! (`Arena::set_reachable`): the others' pages are hidden while they wait. When every
//! cVM left waits for a deadline, the core idles until the earliest. The tenants' sharing policies
//! decide, with the same `policy` crate as on the host: whose copy of each object a cVM
//! uses, whether a published object still has its policy's digest, and the limits.

use alloc::string::String;
use alloc::vec::Vec;

use policy::PolicySet;

use super::boot::{resume_el0, run_el0};
use super::clock;
use super::files::FileTable;
use super::mmu::Arena;
use super::services::{Paused, Services, LEFT_EXITED, LEFT_PAUSED};
use super::threads::MOST_THREADS;
use crate::handles::DEFAULT_OPEN;
use crate::hostcall::WriteBudget;
use crate::instance::Instance;
use crate::lifecycle::{CodeModel, CvmObject, CvmRequest, Cvms, Prepared};
use crate::manifest::{ImageCvm, ImageObject, Manifest};

/// log2 of a shared-area slot: 4 MiB.
const SLOT_SHIFT: u32 = 22;
/// The shared area: the top 64 MiB of the arena.
const SHARED_SIZE: u64 = 64 << 20;

/// What became of one cVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exited(i32),
    /// It faulted: the cause in words.
    Faulted(String),
    /// It was ended at a limit: which, in words (`at its ... limit (...)`).
    Killed(String),
    /// It never ran: why.
    Refused(String),
}

/// The intravisor's state for running an image.
#[derive(Debug)]
pub struct Runner<'a> {
    cvms: Cvms<Arena>,
    objects: &'a [ImageObject<'a>],
    /// Objects whose digest did not match the manifest.
    corrupt: Vec<bool>,
    /// Per object: copies loaded, and cVMs that used it.
    counts: Vec<(u64, u64)>,
    policies: PolicySet,
}

impl<'a> Runner<'a> {
    /// A runner over the arena for the image's `objects`; `corrupt` marks the objects
    /// whose bytes do not have their manifest digest.
    pub fn new(
        arena: Arena,
        objects: &'a [ImageObject<'a>],
        corrupt: Vec<bool>,
        policies: PolicySet,
    ) -> Self {
        let range = arena.range();
        let code_model = if cfg!(feature = "morello") { CodeModel::MorelloHybrid } else { CodeModel::Plain };
        Self {
            cvms: Cvms::new(arena, range.clone(), range.end - SHARED_SIZE, SLOT_SHIFT, code_model),
            counts: alloc::vec![(0, 0); objects.len()],
            objects,
            corrupt,
            policies,
        }
    }

    /// Per object of the image: copies loaded, and cVMs that used it.
    pub fn object_counts(&self) -> &[(u64, u64)] {
        &self.counts
    }

    /// Prepares, builds and runs every cVM of the manifest, taking turns on the core;
    /// returns what became of each.
    pub fn run(&mut self, manifest: &Manifest<'_>) -> Vec<Outcome> {
        let prepared: Vec<Result<Prepared, String>> =
            manifest.cvms.iter().map(|cvm| self.prepare(cvm)).collect();
        let mut outcomes: Vec<Option<Outcome>> = alloc::vec![None; prepared.len()];
        let mut live = Vec::new();
        for ((index, cvm), ready) in manifest.cvms.iter().enumerate().zip(prepared) {
            match ready.and_then(|ready| self.build(cvm, ready)) {
                Ok(built) => live.push((index, built)),
                Err(reason) => outcomes[index] = Some(Outcome::Refused(reason)),
            }
        }
        let mut next = 0;
        while !live.is_empty() {
            next %= live.len();
            let shared = live.len() > 1;
            match self.turn(&manifest.cvms[live[next].0], &mut live[next].1, shared) {
                Some(outcome) => {
                    let (index, ended) = live.remove(next);
                    self.end(ended);
                    outcomes[index] = Some(outcome);
                }
                None => next += 1,
            }
            if next >= live.len() {
                self.idle_while_all_wait(&live);
            }
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Outcome::Refused(String::new())))
            .collect()
    }

    /// Builds a prepared cVM in its region, hidden from EL0 until its turn.
    fn build<'r>(&'r self, cvm: &'r ImageCvm, ready: Prepared) -> Result<Live<'r>, String> {
        let objects = self.objects_of(cvm);
        let instance = match self.cvms.build(&ready, &objects, &cvm.name, &cvm.arguments, 0) {
            Ok(instance) => instance,
            Err(reason) => {
                self.cvms.tear_down(ready);
                return Err(reason);
            }
        };
        #[cfg(feature = "morello")]
        for entry in &instance.entries {
            // SAFETY: the slot was laid out in the boot block, in the cVM's writable
            // stack (its pages keep tags on Morello); the function and its object's
            // image are in the shared area, mapped for EL0.
            unsafe {
                super::boot::store_entry_capability(
                    entry.slot,
                    entry.function.object.clone(),
                    entry.function.address,
                )
            };
        }
        let region = instance.region.clone();
        self.cvms.arena().set_reachable(region.start, region.end, false).map_err(|error| {
            alloc::format!("its region {:#x}..{:#x} is not the arena's", error.start, error.end)
        })?;
        let inputs =
            cvm.files.iter().map(|(name, index)| (name.as_str(), self.objects[*index].bytes)).collect();
        let files = FileTable::new(inputs, cvm.output.as_deref());
        let mut services = Services::new(
            &cvm.name,
            self.cvms.arena(),
            instance.memory.clone(),
            instance.code.clone(),
            files,
        );
        if let Some(seconds) = cvm.cpu_seconds {
            services.limit_processor_time(seconds);
        }
        Ok(Live { prepared: ready, instance, services, started: false })
    }

    /// Gives the core to a built cVM until it gives it up (`None`) or ends.
    fn turn(&self, cvm: &ImageCvm, live: &mut Live<'_>, shared: bool) -> Option<Outcome> {
        let region = live.instance.region.clone();
        let code = live.instance.code.clone();
        let mut frame = super::boot::TrapFrame::default();
        let thread_pointer = if live.started {
            match live.services.resume(&mut frame) {
                Ok(thread_pointer) => Some(thread_pointer),
                Err(Paused::WaitsUntil(_)) => return None,
                Err(Paused::Left(reason)) => return Some(self.outcome(cvm, &mut live.services, reason)),
            }
        } else {
            None
        };
        let arena = self.cvms.arena();
        // The region was checked to be the arena's when it was hidden.
        let _ = arena.set_reachable(region.start, region.end, true);
        live.services.take_core(shared);
        let reason = match thread_pointer {
            // SAFETY: the frame is the state this cVM's thread had when it left the core,
            // saved by the vectors; its thread pointer is its own.
            Some(thread_pointer) => unsafe {
                resume_el0(&frame, thread_pointer, region.clone(), code, &mut live.services)
            },
            // SAFETY: the instance was built from a layout verified for its region: the
            // entry is in code mapped executable for EL0 (inside `code`), the stack top is
            // the aligned top of its stack, the boot block and CLS table lie in its
            // region; every hostcall goes through `services`, which checks it against the
            // cVM's capabilities.
            None => unsafe {
                live.started = true;
                run_el0(
                    live.instance.entry,
                    live.instance.stack_top,
                    live.instance.boot_block,
                    live.instance.cls_table,
                    region.clone(),
                    code,
                    &mut live.services,
                )
            },
        };
        live.services.leave_core();
        let _ = arena.set_reachable(region.start, region.end, false);
        (reason != LEFT_PAUSED).then(|| self.outcome(cvm, &mut live.services, reason))
    }

    /// What became of a cVM that left the core for good with `reason`.
    fn outcome(&self, cvm: &ImageCvm, services: &mut Services<'_>, reason: u64) -> Outcome {
        services.finish();
        if services.thread_count() > 1 {
            crate::console_print!("intravisor: cVM `{}` ran {} threads\n", cvm.name, services.thread_count());
        }
        if let Some(limit) = services.killed.take() {
            return Outcome::Killed(limit);
        }
        match (reason, services.fault.take()) {
            (LEFT_EXITED, _) => Outcome::Exited(services.status),
            (_, Some(cause)) => Outcome::Faulted(cause),
            _ => Outcome::Faulted(String::from("left for an unknown reason")),
        }
    }

    /// Tears an ended cVM down: its region is scrubbed, its shared objects released.
    fn end(&self, ended: Live<'_>) {
        let Live { prepared, services, .. } = ended;
        drop(services);
        self.cvms.tear_down(prepared);
    }

    /// Idles the core until the earliest deadline when every live cVM waits for one.
    fn idle_while_all_wait(&self, live: &[(usize, Live<'_>)]) {
        let deadlines: Option<Vec<u64>> = live.iter().map(|(_, live)| live.services.waits_until()).collect();
        if let Some(earliest) = deadlines.and_then(|deadlines| deadlines.into_iter().min()) {
            while clock::monotonic_nanoseconds() < earliest {
                core::hint::spin_loop();
            }
        }
    }

    /// The image's objects a cVM names: its program, then its libraries.
    fn objects_of(&self, cvm: &ImageCvm) -> Vec<CvmObject<'a>> {
        core::iter::once(cvm.program)
            .chain(cvm.objects.iter().copied())
            .map(|index| {
                let object = &self.objects[index];
                CvmObject { name: &object.name, bytes: object.bytes, sha256: object.sha256 }
            })
            .collect()
    }

    fn prepare(&mut self, cvm: &ImageCvm) -> Result<Prepared, String> {
        let indices: Vec<usize> = core::iter::once(cvm.program).chain(cvm.objects.iter().copied()).collect();
        if let Some(&bad) = indices.iter().find(|&&index| self.corrupt[index]) {
            return Err(alloc::format!(
                "`{}` does not have the SHA-256 the image names",
                self.objects[bad].name
            ));
        }
        let request = CvmRequest {
            tenant: &cvm.tenant,
            objects: self.objects_of(cvm),
            region_size: cvm.region_size,
            stack_size: cvm.stack_size,
            publishers: alloc::collections::BTreeMap::new(),
            grants: grants(cvm),
        };
        let prepared = self.cvms.prepare(&request, &self.policies)?;
        for ((loaded, _), &file) in prepared.object_uses().zip(&prepared.files) {
            let object = indices[file];
            self.counts[object].0 += u64::from(loaded);
            self.counts[object].1 += 1;
        }
        Ok(prepared)
    }
}

/// A built cVM taking turns on the core.
#[derive(Debug)]
struct Live<'r> {
    prepared: Prepared,
    instance: Instance,
    services: Services<'r>,
    /// Whether it has run (then it resumes; else it is entered).
    started: bool,
}

/// What a cVM of the image is granted of each resource it consumes: its processor time
/// from the manifest; the image carries no other grant, so the rest are the defaults
/// its services hold it to (no wall-time limit on the board).
fn grants(cvm: &ImageCvm) -> policy::Grants {
    let mut grants = policy::Grants::UNLIMITED;
    for consumption in policy::Consumption::ALL {
        grants.0[consumption as usize] = match consumption {
            policy::Consumption::CpuSeconds => cvm.cpu_seconds,
            policy::Consumption::WallSeconds => None,
            policy::Consumption::ConsoleBytes => Some(WriteBudget::DEFAULT_CONSOLE_BYTES),
            policy::Consumption::OutputBytes => Some(WriteBudget::DEFAULT_OUTPUT_BYTES),
            policy::Consumption::OpenFiles => Some(DEFAULT_OPEN as u64),
            policy::Consumption::Threads => Some(MOST_THREADS as u64),
        };
    }
    grants
}
