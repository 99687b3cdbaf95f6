//! Running a deployment: every cVM prepared (planned, its shared objects acquired from
//! the store, its region carved and laid out), then each run on its own thread and torn
//! down, with what became of it collected into the report.
//!
//! All cVMs are prepared before the first one starts, so an object that several cVMs
//! name is loaded once and stays loaded until its last user is torn down. A cVM whose
//! objects, plan or region are refused never starts and is reported as `refused` with
//! the reason; the others run. A cVM that faults is ended alone.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use loader::LoadPlan;

use crate::capability::Cap;
use crate::config::{CvmConfig, Deployment, ObjectRef, Wait};
use crate::cvm::{instantiate, CvmServices, OutputSink};
use crate::layout::{lay_out, Layout, LayoutRequest, Placement, SlotGeometry};
use crate::objects::{ObjectFile, ObjectFiles, ObjectUsage};
use crate::platform::{kernel_memory, run_cvm, sample_peaks, Arena, ArenaError, CvmEntry, CvmStop};
use crate::region::{region_alignment, RegionAllocator};
use crate::report::{CvmReport, FaultReport, KernelMemory, ObjectUse, Report, Status};
use crate::sharing::shareable_objects;
use crate::store::{Acquired, ObjectStore};

/// Stack of the intravisor's side of each cVM thread (hostcall handling).
const HOST_THREAD_STACK: usize = 1 << 20;
/// log2 of the size of a slot of the shared area: each shared object starts a slot.
const SLOT_SHIFT: u32 = 26;
/// Slots in the shared area (64 MiB each: 4 GiB of address space, no memory).
const SHARED_SLOTS: u64 = 64;

/// The intravisor: one arena of cVM regions and shared objects, and where cVM output goes.
#[derive(Debug)]
pub struct Intravisor {
    arena: Arena,
    arena_capability: Cap,
    regions: Mutex<RegionAllocator>,
    store: ObjectStore,
    slots: SlotGeometry,
    sink: OutputSink,
}

/// A cVM ready to be built and entered.
#[derive(Debug)]
struct Prepared {
    files: Vec<Arc<ObjectFile>>,
    acquired: Acquired,
    region: Range<u64>,
    layout: Layout,
    uses: Vec<ObjectUse>,
}

impl Intravisor {
    /// An intravisor whose arena holds `regions_size` bytes of cVM regions, then the
    /// shared area.
    pub fn new(regions_size: u64, sink: OutputSink) -> Result<Self, ArenaError> {
        let slot_size = 1u64 << SLOT_SHIFT;
        let regions_size = regions_size.next_multiple_of(slot_size);
        let size = crate::capability::representable_length(regions_size + SHARED_SLOTS * slot_size);
        let arena = Arena::reserve(size, region_alignment(size).max(slot_size))?;
        let range = arena.range();
        let arena_capability = Cap::root().set_value(range.start).set_bounds_exact(range.end - range.start);
        assert!(arena_capability.tag(), "the arena was aligned for exact bounds");
        let shared = range.start + regions_size..range.end;
        let slots = SlotGeometry { base: range.start, shift: SLOT_SHIFT, count: size >> SLOT_SHIFT };
        Ok(Self {
            regions: Mutex::new(RegionAllocator::new(range.start..shared.start)),
            store: ObjectStore::new(shared, slot_size, arena_capability),
            arena,
            arena_capability,
            slots,
            sink,
        })
    }

    /// An intravisor with room for every region of `deployment` at once.
    pub fn for_deployment(deployment: &Deployment, sink: OutputSink) -> Result<Self, ArenaError> {
        let size =
            deployment.cvms.iter().map(|cvm| cvm.region_size + region_alignment(cvm.region_size)).sum();
        Self::new(size, sink)
    }

    /// Runs every cVM of `deployment` and reports what became of each.
    pub fn run(&self, deployment: &Deployment) -> Report {
        let objects = ObjectFiles::load(deployment);
        let usage = ObjectUsage::default();
        let (baseline_rss, baseline_pss) = kernel_memory().unwrap_or_default();
        let mut reports: Vec<Option<CvmReport>> = vec![None; deployment.cvms.len()];
        let mut prepared: Vec<Option<Prepared>> = Vec::with_capacity(deployment.cvms.len());
        for (index, cvm) in deployment.cvms.iter().enumerate() {
            match self.prepare(cvm, &objects, &usage) {
                Ok(ready) => prepared.push(Some(ready)),
                Err(reason) => {
                    reports[index] = Some(refused(cvm, reason));
                    prepared.push(None);
                }
            }
        }
        let done = AtomicBool::new(false);
        let (peak_rss, peak_pss) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| sample_peaks(&done, Duration::from_millis(5)));
            let mut running = Vec::new();
            for (index, (cvm, ready)) in deployment.cvms.iter().zip(prepared).enumerate() {
                let Some(ready) = ready else { continue };
                let (done_sender, finished) = mpsc::channel();
                let thread = std::thread::Builder::new()
                    .name(cvm.name.clone())
                    .stack_size(HOST_THREAD_STACK)
                    .spawn_scoped(scope, move || {
                        let report = self.execute(cvm, ready);
                        let _ = done_sender.send(());
                        report
                    });
                match thread {
                    Ok(thread) => running.push((index, thread)),
                    Err(error) => {
                        reports[index] = Some(refused(cvm, format!("cannot start its thread: {error}")))
                    }
                }
                match cvm.wait {
                    Wait::No => {}
                    Wait::UntilEnd => {
                        let _ = finished.recv();
                    }
                    Wait::Seconds(seconds) => {
                        let _ = finished.recv_timeout(Duration::from_secs(seconds));
                    }
                }
            }
            for (index, thread) in running {
                reports[index] = Some(thread.join().unwrap_or_else(|_| {
                    refused(&deployment.cvms[index], "the intravisor failed while running it".to_string())
                }));
            }
            done.store(true, Ordering::Release);
            sampler.join().unwrap_or_default()
        });
        let cvms: Vec<CvmReport> = reports.into_iter().flatten().collect();
        Report {
            tenants: crate::tenants::tenant_reports(&cvms),
            cvms,
            objects: objects.report(&usage),
            kernel: KernelMemory { baseline_rss, baseline_pss, peak_rss, peak_pss },
        }
    }

    /// Prepares, runs and tears down one cVM on the calling thread.
    pub fn run_cvm(&self, cvm: &CvmConfig, objects: &ObjectFiles) -> CvmReport {
        match self.prepare(cvm, objects, &ObjectUsage::default()) {
            Ok(ready) => self.execute(cvm, ready),
            Err(reason) => refused(cvm, reason),
        }
    }

    /// Plans a cVM, acquires its shared objects, carves and lays out its region.
    fn prepare(
        &self,
        cvm: &CvmConfig,
        objects: &ObjectFiles,
        usage: &ObjectUsage,
    ) -> Result<Prepared, String> {
        let program = objects.get(&cvm.runtime)?;
        let libraries = cvm
            .objects
            .iter()
            .map(|object| match object {
                ObjectRef::Path(path) => objects.get(path),
                ObjectRef::Digest(digest) => objects
                    .by_digest(digest)
                    .ok_or_else(|| format!("no object of the deployment has sha256 {}", hex(digest))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let inputs: Vec<loader::ObjectInput<'_>> = libraries
            .iter()
            .map(|library| loader::ObjectInput { name: &library.name, bytes: &library.bytes })
            .collect();
        let plan = loader::plan(loader::ObjectInput { name: &program.name, bytes: &program.bytes }, &inputs)
            .map_err(|error| format!("the loader refused its objects: {error}"))?;
        let files = plan_files(&plan, &program, &libraries)?;
        let bytes: Vec<&[u8]> = files.iter().map(|file| file.bytes.as_slice()).collect();
        let owners: Vec<String> = files.iter().map(|_| cvm.tenant.clone()).collect();
        let identities: Vec<([u8; 32], String)> =
            files.iter().zip(&owners).map(|(file, owner)| (file.sha256, owner.clone())).collect();
        let shareable = shareable_objects(&plan);
        let acquired = self
            .store
            .acquire(&self.arena, &plan, &bytes, &identities, &shareable)
            .map_err(|error| format!("its shared objects were refused: {error}"))?;
        let region =
            match self.regions.lock().unwrap_or_else(PoisonError::into_inner).allocate(cvm.region_size) {
                Ok(region) => region,
                Err(error) => {
                    self.store.release(&self.arena, acquired);
                    return Err(error.to_string());
                }
            };
        let sizes: Vec<u64> = bytes.iter().map(|file| file.len() as u64).collect();
        let request = LayoutRequest {
            plan: &plan,
            file_sizes: &sizes,
            placements: &acquired.placements,
            region: region.clone(),
            stack_size: cvm.stack_size,
            slots: self.slots,
        };
        let layout = match lay_out(request) {
            Ok(layout) => layout,
            Err(error) => {
                self.tear_down(&cvm.name, region, acquired);
                return Err(format!("its plan was refused: {error}"));
            }
        };
        let mut uses = Vec::with_capacity(files.len());
        for (index, file) in files.iter().enumerate() {
            let (loaded, shared_bytes, copy) = match (&acquired.placements[index], &acquired.shared[index]) {
                (Placement::Shared { .. }, Some(object)) => {
                    (acquired.loaded.contains(&index), object.image.end - object.image.start, Some(object.id))
                }
                _ => (true, 0, None),
            };
            usage.record(file.sha256, loaded, shared_bytes);
            let bytes = if copy.is_some() { shared_bytes } else { plan.objects[index].image_size };
            uses.push(ObjectUse {
                name: file.name.clone(),
                sha256: file.digest_hex(),
                copy,
                owner: owners[index].clone(),
                bytes,
            });
        }
        Ok(Prepared { files, acquired, region, layout, uses })
    }

    /// Builds a prepared cVM in its region, runs it, and tears it down.
    fn execute(&self, cvm: &CvmConfig, ready: Prepared) -> CvmReport {
        let Prepared { files, acquired, region, layout, uses } = ready;
        let bytes: Vec<&[u8]> = files.iter().map(|file| file.bytes.as_slice()).collect();
        let shared: Vec<_> = acquired.shared.iter().flatten().map(|object| object.as_ref()).collect();
        let built = instantiate(
            &self.arena,
            self.arena_capability,
            &layout,
            &bytes,
            &shared,
            &cvm.name,
            &cvm.arguments,
        );
        let mut report = match built {
            Ok(instance) => self.enter(cvm, instance),
            Err(error) => refused(cvm, error.to_string()),
        };
        report.cls_bytes = layout.cls_bytes();
        report.objects = uses;
        report.private_bytes = layout.private_image_bytes() + layout.cls_bytes() + crate::region::PAGE_SIZE;
        self.tear_down(&cvm.name, region, acquired);
        report
    }

    fn enter(&self, cvm: &CvmConfig, instance: crate::cvm::Instance) -> CvmReport {
        let mut services = CvmServices::new(
            &cvm.name,
            &self.arena,
            instance.memory,
            &self.sink,
            cvm.files.clone(),
            cvm.output.clone(),
        );
        let start = CvmEntry {
            entry: instance.entry,
            stack_top: instance.stack_top,
            argument: instance.boot_block,
            cls_table: instance.cls_table,
        };
        // SAFETY: the instance was built from a layout verified for its region: the
        // entry lies in executable code of the program, the stack top is the aligned top
        // of the writable stack, the boot block lies on that stack and the CLS table in
        // the region; every hostcall goes through `services`, which checks it against
        // the cVM's capabilities.
        let stop = unsafe { run_cvm(start, &mut services) };
        services.finish();
        let mut report = CvmReport {
            name: cvm.name.clone(),
            tenant: cvm.tenant.clone(),
            status: Status::Exited,
            exit_code: None,
            fault: None,
            reason: None,
            private_bytes: 0,
            cls_bytes: 0,
            objects: Vec::new(),
        };
        match stop {
            CvmStop::Exited(status) => report.exit_code = Some(status),
            CvmStop::Returned(value) => report.exit_code = Some(value as i32),
            CvmStop::Faulted(fault) => {
                log::warn!(
                    "cVM `{}` faulted: {} at {:#x} (instruction at {:#x})",
                    cvm.name,
                    fault.cause(),
                    fault.address,
                    fault.program_counter
                );
                report.status = Status::Faulted;
                report.fault = Some(FaultReport {
                    cause: fault.cause().to_string(),
                    address: fault.address,
                    pc: fault.program_counter,
                    signal: fault.signal,
                });
            }
            CvmStop::HandlerPanicked => {
                report.status = Status::Faulted;
                report.reason = Some("the intravisor failed while serving one of its hostcalls".to_string());
            }
        }
        report
    }

    /// Scrubs a region and gives it back, then the cVM's hold on shared objects.
    fn tear_down(&self, name: &str, region: Range<u64>, acquired: Acquired) {
        match self.arena.scrub(region.start, region.end) {
            Ok(()) => self.regions.lock().unwrap_or_else(PoisonError::into_inner).release(region),
            // A region that could not be scrubbed is never handed out again.
            Err(error) => log::error!("cVM `{name}`: its region is kept out of use: {error}"),
        }
        self.store.release(&self.arena, acquired);
    }

    /// Shared objects loaded now (for tests: zero once every cVM is torn down).
    pub fn shared_objects_loaded(&self) -> usize {
        self.store.loaded_count()
    }
}

/// The files of a plan's objects, by plan index: the program, then the libraries the
/// plan kept.
fn plan_files(
    plan: &LoadPlan,
    program: &Arc<ObjectFile>,
    libraries: &[Arc<ObjectFile>],
) -> Result<Vec<Arc<ObjectFile>>, String> {
    plan.objects
        .iter()
        .map(|planned| {
            core::iter::once(program)
                .chain(libraries)
                .find(|file| file.name == planned.name)
                .cloned()
                .ok_or_else(|| format!("the plan names `{}`, which was not given", planned.name))
        })
        .collect()
}

fn refused(cvm: &CvmConfig, reason: String) -> CvmReport {
    log::warn!("cVM `{}` refused: {reason}", cvm.name);
    CvmReport {
        name: cvm.name.clone(),
        tenant: cvm.tenant.clone(),
        status: Status::Refused,
        exit_code: None,
        fault: None,
        reason: Some(reason),
        private_bytes: 0,
        cls_bytes: 0,
        objects: Vec::new(),
    }
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
