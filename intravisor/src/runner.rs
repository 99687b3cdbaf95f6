//! Running a deployment: every cVM prepared (planned, its shared objects acquired from
//! the store, its region carved and laid out), then each run on its own thread and torn
//! down, with what became of it collected into the report.
//!
//! cVMs are prepared in batches: every cVM up to the next one that makes the deployment
//! wait, before the first of them starts, so an object that several cVMs name is loaded
//! once and stays loaded until its last user is torn down. Revocations written to the
//! control directory are read before each batch: they stop later cVMs from sharing,
//! while running ones keep what they have.
//!
//! Before anything is mapped for a cVM, the tenants' policies decide: whose copy of each
//! object it uses (its tenant's own, or a publisher's that shares it), whether an object
//! it requests by digest is published to it and accepted, whether a published object
//! still has the digest its policy names, and whether its tenant's limits hold. A cVM
//! refused by a policy, or whose objects, plan or region are refused, never starts and is
//! reported as `refused` with the reason; nothing of it stays mapped, and the others
//! run. A cVM that faults is ended alone.

use std::ops::Range;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use std::collections::HashMap;

use loader::LoadPlan;
use policy::{Domain, PolicySet, Usage};

use crate::capability::Cap;
use crate::config::{CvmConfig, Deployment, ObjectRef, Wait};
use crate::cvm::{CvmServices, OutputSink};
use crate::instance::{instantiate, Build, Instance};
use crate::layout::{lay_out, Layout, LayoutRequest, Placement, SlotGeometry};
use crate::objects::{ObjectFile, ObjectFiles, ObjectUsage};
use crate::platform::{
    kernel_memory, run_cvm, run_cvm_process, sample_peaks, Arena, ArenaError, CvmEntry, CvmProcess, CvmStop,
    TenantLimits,
};
use crate::region::{region_alignment, RegionAllocator};
use crate::report::{CvmReport, FaultReport, KernelMemory, ObjectUse, Report, Status};
use crate::sharing::shareable_objects;
use crate::store::{Acquired, ObjectStore};

/// Stack of the intravisor's side of each cVM thread (hostcall handling).
const HOST_THREAD_STACK: usize = 1 << 20;
/// log2 of the size of a slot of the shared area: each shared object starts a slot.
const SLOT_SHIFT: u32 = 26;
/// Slots in the shared area (64 MiB each: 16 GiB of address space, no memory): room
/// for 256 shared copies, e.g. 28 tenants' private copies of ffmpeg's 9 objects.
const SHARED_SLOTS: u64 = 256;

/// How cVMs are run on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Each cVM a sandboxed process of its own (ARCHITECTURE §5).
    #[default]
    Process,
    /// Every cVM on threads of the intravisor's own process. This does not isolate: a
    /// cVM's code can reach the intravisor and the other cVMs. For trusted code and
    /// benchmarks only.
    InProcess,
}

/// The intravisor: one arena of cVM regions and shared objects, and where cVM output goes.
#[derive(Debug)]
pub struct Intravisor {
    isolation: Isolation,
    arena: Arena,
    arena_capability: Cap,
    regions: Mutex<RegionAllocator>,
    store: ObjectStore,
    slots: SlotGeometry,
    sink: OutputSink,
    /// Per tenant: cVMs prepared and not yet torn down, and the bytes of their regions.
    tenant_usage: Mutex<HashMap<String, (u64, u64)>>,
}

/// What a cVM's process maps, where its boot block is, and its tenant's limits.
#[derive(Debug)]
struct ProcessPlan {
    region: Range<u64>,
    boot_block: u64,
    mappings: Vec<crate::guest::Mapping>,
    cpu_seconds: Option<u64>,
    limits: policy::Limits,
}

/// A cVM ready to be built and entered.
#[derive(Debug)]
struct Prepared {
    files: Vec<Arc<ObjectFile>>,
    acquired: Acquired,
    region: Range<u64>,
    layout: Layout,
    uses: Vec<ObjectUse>,
    /// Its tenant's limits, for the kernel to hold.
    limits: policy::Limits,
}

impl Intravisor {
    /// An intravisor whose arena holds `regions_size` bytes of cVM regions, then the
    /// shared area; each cVM runs as a process.
    pub fn new(regions_size: u64, sink: OutputSink) -> Result<Self, ArenaError> {
        Self::with_isolation(regions_size, sink, Isolation::Process)
    }

    /// The same, with cVMs run as `isolation` says.
    pub fn with_isolation(
        regions_size: u64,
        sink: OutputSink,
        isolation: Isolation,
    ) -> Result<Self, ArenaError> {
        let slot_size = 1u64 << SLOT_SHIFT;
        let regions_size = regions_size.next_multiple_of(slot_size);
        let size = crate::capability::representable_length(regions_size + SHARED_SLOTS * slot_size);
        let mut arena = Arena::reserve(size, region_alignment(size).max(slot_size))?;
        let range = arena.range();
        let arena_capability = Cap::root().set_value(range.start).set_bounds_exact(range.end - range.start);
        assert!(arena_capability.tag(), "the arena was aligned for exact bounds");
        let shared = range.start + regions_size..range.end;
        if isolation == Isolation::Process {
            arena.share_with_processes(shared.clone())?;
        }
        let slots = SlotGeometry { base: range.start, shift: SLOT_SHIFT, count: size >> SLOT_SHIFT };
        Ok(Self {
            isolation,
            regions: Mutex::new(RegionAllocator::new(range.start..shared.start)),
            store: ObjectStore::new(shared, slot_size, arena_capability),
            arena,
            arena_capability,
            slots,
            sink,
            tenant_usage: Mutex::new(HashMap::new()),
        })
    }

    /// An intravisor with room for every region of `deployment` at once; each cVM runs
    /// as a process.
    pub fn for_deployment(deployment: &Deployment, sink: OutputSink) -> Result<Self, ArenaError> {
        Self::for_deployment_with(deployment, sink, Isolation::Process)
    }

    /// The same, with cVMs run as `isolation` says.
    pub fn for_deployment_with(
        deployment: &Deployment,
        sink: OutputSink,
        isolation: Isolation,
    ) -> Result<Self, ArenaError> {
        let size =
            deployment.cvms.iter().map(|cvm| cvm.region_size + region_alignment(cvm.region_size)).sum();
        Self::with_isolation(size, sink, isolation)
    }

    /// Lets Linux's KSM merge identical pages of every cVM's memory (see
    /// [`Arena::make_mergeable`]); for comparing KSM with ORC's sharing. KSM merges only
    /// private anonymous memory, which the intravisor's arena is only in the in-process
    /// mode.
    pub fn make_mergeable(&self) -> Result<(), String> {
        if self.arena.shares_with_processes() {
            return Err("KSM merges only private anonymous memory, and cVM processes share theirs with the intravisor through memory files: run with --in-process to compare with KSM".to_string());
        }
        self.arena.make_mergeable().map_err(|error| error.to_string())
    }

    /// Runs every cVM of `deployment` under `policies` and reports what became of each.
    pub fn run(&self, deployment: &Deployment, mut policies: PolicySet) -> Report {
        if self.isolation == Isolation::InProcess
            && deployment.cvms.iter().any(|cvm| cvm.cpu_seconds.is_some())
        {
            log::warn!("isolation.cpu_seconds is not held in the in-process mode: cVMs run without a processor time limit");
        }
        let objects = ObjectFiles::load(deployment);
        let usage = ObjectUsage::default();
        let (baseline_rss, baseline_pss) = kernel_memory().unwrap_or_default();
        let mut reports: Vec<Option<CvmReport>> = vec![None; deployment.cvms.len()];
        let done = AtomicBool::new(false);
        let (peak_rss, peak_pss) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| sample_peaks(&done, Duration::from_millis(5)));
            let mut running = Vec::new();
            let mut first = 0;
            while first < deployment.cvms.len() {
                // A batch ends with the first cVM that makes the deployment wait.
                let last = (first..deployment.cvms.len())
                    .find(|&index| deployment.cvms[index].wait != Wait::No)
                    .unwrap_or(deployment.cvms.len() - 1);
                if let Err(error) =
                    crate::policies::apply_revocations(&mut policies, deployment.control.as_deref())
                {
                    log::error!("{error}; revocations are not applied to the next cVMs");
                }
                let mut prepared = Vec::with_capacity(last + 1 - first);
                for (index, cvm) in deployment.cvms.iter().enumerate().take(last + 1).skip(first) {
                    match self.prepare(cvm, &objects, &usage, &policies) {
                        Ok(ready) => prepared.push((index, ready)),
                        Err(reason) => reports[index] = Some(refused(cvm, reason)),
                    }
                }
                for (index, ready) in prepared {
                    let cvm = &deployment.cvms[index];
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
                first = last + 1;
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

    /// Prepares, runs and tears down one cVM on the calling thread, with no policies.
    pub fn run_cvm(&self, cvm: &CvmConfig, objects: &ObjectFiles) -> CvmReport {
        let policies = match PolicySet::new(Vec::new(), core::slice::from_ref(&cvm.tenant)) {
            Ok(policies) => policies,
            Err(error) => return refused(cvm, error.to_string()),
        };
        match self.prepare(cvm, objects, &ObjectUsage::default(), &policies) {
            Ok(ready) => self.execute(cvm, ready),
            Err(reason) => refused(cvm, reason),
        }
    }

    /// Checks a cVM against the policies, plans it, acquires its shared objects, carves
    /// and lays out its region. On refusal nothing of it stays mapped.
    fn prepare(
        &self,
        cvm: &CvmConfig,
        objects: &ObjectFiles,
        usage: &ObjectUsage,
        policies: &PolicySet,
    ) -> Result<Prepared, String> {
        let refusal = |refusal: policy::Refusal| format!("refused by a sharing policy: {refusal}");
        let program = objects.get(&cvm.runtime)?;
        // Objects requested by digest come from the tenant that publishes them.
        let mut publishers: HashMap<[u8; 32], String> = HashMap::new();
        let mut libraries = Vec::with_capacity(cvm.objects.len());
        for object in &cvm.objects {
            match object {
                ObjectRef::Path(path) => libraries.push(objects.get(path)?),
                ObjectRef::Digest(digest) => {
                    let (publisher, _) = policies.check_request(&cvm.tenant, digest).map_err(refusal)?;
                    let file = objects.by_digest(digest).ok_or_else(|| {
                        format!(
                            "`{publisher}` publishes sha256 {}, but no object of the deployment has it",
                            policy::digest_hex(digest)
                        )
                    })?;
                    publishers.insert(*digest, publisher);
                    libraries.push(file);
                }
            }
        }
        let inputs: Vec<loader::ObjectInput<'_>> = libraries
            .iter()
            .map(|library| loader::ObjectInput { name: &library.name, bytes: &library.bytes })
            .collect();
        let plan = loader::plan(loader::ObjectInput { name: &program.name, bytes: &program.bytes }, &inputs)
            .map_err(|error| format!("the loader refused its objects: {error}"))?;
        crate::instance::refuse_purecap(&plan)?;
        let files = plan_files(&plan, &program, &libraries)?;
        let bytes: Vec<&[u8]> = files.iter().map(|file| file.bytes.as_slice()).collect();
        let mut owners = Vec::with_capacity(files.len());
        for file in &files {
            policies.check_own_object(&cvm.tenant, &file.name, &file.sha256).map_err(refusal)?;
            owners.push(match publishers.get(&file.sha256) {
                Some(publisher) => publisher.clone(),
                None => match policies.sharing_domain(&cvm.tenant, &file.sha256) {
                    Domain::Own => cvm.tenant.clone(),
                    Domain::Publisher(publisher) => publisher,
                },
            });
        }
        self.check_limits(cvm, policies, 0).map_err(|error| refusal(*error))?;
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
        if let Err(error) = self.arena.back_region(region.clone()) {
            self.tear_down(&cvm.name, region, acquired);
            return Err(format!("its region could not be backed for its process: {error}"));
        }
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
        if let Err(error) = self.check_limits(cvm, policies, layout.cls_bytes()) {
            self.tear_down(&cvm.name, region, acquired);
            return Err(refusal(*error));
        }
        let mut tenants = self.tenant_usage.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = tenants.entry(cvm.tenant.clone()).or_default();
        *entry = (entry.0 + 1, entry.1 + cvm.region_size);
        drop(tenants);
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
        let limits = policies.policy(&cvm.tenant).map(|policy| policy.limits.clone()).unwrap_or_default();
        Ok(Prepared { files, acquired, region, layout, uses, limits })
    }

    /// Checks `cvm` against its tenant's limits, counting the cVMs prepared and not yet
    /// torn down.
    fn check_limits(
        &self,
        cvm: &CvmConfig,
        policies: &PolicySet,
        cls_bytes: u64,
    ) -> Result<(), Box<policy::Refusal>> {
        let tenants = self.tenant_usage.lock().unwrap_or_else(PoisonError::into_inner);
        let (cvms, memory) = tenants.get(&cvm.tenant).copied().unwrap_or_default();
        let usage = Usage {
            cvms: cvms + 1,
            memory_per_cvm: cvm.region_size,
            memory_total: memory + cvm.region_size,
            cls_bytes,
        };
        policies.check_limits(&cvm.tenant, &usage).map_err(Box::new)
    }

    /// Builds a prepared cVM in its region, runs it, and tears it down.
    fn execute(&self, cvm: &CvmConfig, ready: Prepared) -> CvmReport {
        let Prepared { files, acquired, region, layout, uses, limits } = ready;
        let bytes: Vec<&[u8]> = files.iter().map(|file| file.bytes.as_slice()).collect();
        let shared = acquired.views();
        let build = Build {
            arena_capability: self.arena_capability,
            layout: &layout,
            files: &bytes,
            shared: &shared,
            name: &cvm.name,
            arguments: &cvm.arguments,
            // A cVM process fills in its own entry.
            hostcall_entry: match self.isolation {
                Isolation::Process => 0,
                Isolation::InProcess => crate::platform::hostcall_entry_address(),
            },
            entered: &[],
        };
        let built = instantiate(&self.arena, build);
        let mut report = match built {
            Ok(instance) => self.enter(cvm, instance, limits),
            Err(error) => refused(cvm, error.to_string()),
        };
        report.cls_bytes = layout.cls_bytes();
        report.objects = uses;
        report.private_bytes = layout.private_image_bytes() + layout.cls_bytes() + crate::region::PAGE_SIZE;
        self.tear_down(&cvm.name, region, acquired);
        report
    }

    fn enter(&self, cvm: &CvmConfig, instance: Instance, limits: policy::Limits) -> CvmReport {
        let process = ProcessPlan {
            region: instance.region.clone(),
            boot_block: instance.boot_block,
            mappings: instance.memory.mappings().to_vec(),
            cpu_seconds: cvm.cpu_seconds,
            limits,
        };
        let services = CvmServices::new(
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
        let ran = match self.isolation {
            // SAFETY: the instance was built from a layout verified for its region: the
            // entry lies in executable code of the program, the stack top is the aligned
            // top of the writable stack, the boot block lies on that stack and the CLS
            // table in the region; every hostcall goes through `services`, which checks
            // it against the cVM's capabilities.
            Isolation::InProcess => Ok(unsafe { run_cvm(start, &services) }),
            Isolation::Process => self.enter_process(start, &cvm.tenant, &process, &services),
        };
        services.finish();
        let (stop, threads) = match ran {
            Ok(ran) => ran,
            Err(reason) => return refused(cvm, format!("its process could not be set up: {reason}")),
        };
        let mut report = CvmReport {
            name: cvm.name.clone(),
            tenant: cvm.tenant.clone(),
            status: Status::Exited,
            exit_code: None,
            fault: None,
            reason: None,
            private_bytes: 0,
            cls_bytes: 0,
            threads,
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
            CvmStop::Killed(limit) => {
                log::warn!("cVM `{}` killed at {limit}", cvm.name);
                report.status = Status::Killed;
                report.reason = Some(format!("killed at {limit}"));
            }
        }
        report
    }

    /// Runs a built cVM in a process of its own.
    fn enter_process(
        &self,
        start: CvmEntry,
        tenant: &str,
        process: &ProcessPlan,
        services: &CvmServices<'_>,
    ) -> Result<(CvmStop, u64), String> {
        let files = self
            .arena
            .region_files(process.region.start)
            .ok_or_else(|| "its region has no memory file".to_string())?;
        let memory = CvmProcess {
            region: process.region.clone(),
            region_file: files.region.as_fd(),
            shared: files.shared_range.clone(),
            shared_file: files.shared,
            mappings: &process.mappings,
            hostcall_field: process.boot_block + core::mem::offset_of!(abi::BootInfo, hostcall_entry) as u64,
            cpu_seconds: process.cpu_seconds,
            tenant: TenantLimits {
                name: tenant,
                cvms: process.limits.cvms,
                memory_total: process.limits.memory_total,
            },
        };
        // SAFETY: the region and the shared area are backed by these files at these
        // addresses until the cVM is torn down, after this returns; the instance was
        // built from a layout verified for its region (entry, stack, boot block and CLS
        // table inside it, pages protected as its mappings say); every hostcall goes
        // through `services`, which checks it against the cVM's capabilities.
        unsafe { run_cvm_process(start, memory, services) }
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

impl Drop for Intravisor {
    fn drop(&mut self) {
        if self.isolation == Isolation::Process {
            crate::platform::remove_cgroups();
        }
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
        threads: 0,
        objects: Vec::new(),
    }
}
