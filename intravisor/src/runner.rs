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

use std::collections::BTreeMap;
use std::ops::Range;
use std::os::fd::AsFd;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use policy::PolicySet;

use crate::config::{CvmConfig, Deployment, ObjectRef, Wait};
use crate::cvm::{CvmServices, OutputSink};
use crate::hostcall::WriteBudget;
use crate::instance::Instance;
use crate::lifecycle::{CodeModel, CvmObject, CvmRequest, Cvms};
use crate::objects::{ObjectFile, ObjectFiles, ObjectUsage};
use crate::outcome::{ended, refused};
use crate::platform::{
    give_back_free_memory, kernel_memory, limit_allocator_arenas, run_cvm, run_cvm_process, sample_peaks,
    Arena, ArenaError, CvmEntry, CvmProcess, ProcessControl, ProcessEnd, ProcessStart, RegionMerge,
    TenantLimits,
};
use crate::region::region_alignment;
use crate::report::{CvmReport, KernelMemory, ObjectUse, Report};
use crate::run_time_sharing::SharingGroups;
use crate::stop::Stop;

/// Stack of the intravisor's side of each cVM thread (hostcall handling).
const HOST_THREAD_STACK: usize = 1 << 20;
/// log2 of the size of a slot of the shared area: each shared object starts a slot.
const SLOT_SHIFT: u32 = 26;
/// Slots in the shared area at the least (64 MiB each: 16 GiB of address space, no
/// memory): room for 256 shared copies, e.g. 28 tenants' private copies of ffmpeg's 9
/// objects. A deployment gets room for a copy of every object of every cVM.
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
    cvms: Cvms<Arena>,
    sink: OutputSink,
}

/// What a cVM's process maps, where its boot block is, and its tenant's limits.
#[derive(Debug)]
struct ProcessPlan {
    region: Range<u64>,
    boot_block: u64,
    mappings: Vec<crate::guest::Mapping>,
    cpu_seconds: Option<u64>,
    wall_seconds: Option<u64>,
}

/// What a cVM is attached to while it runs: where its console lines go, and (a node's
/// containers) the handle that ends it from outside.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attached<'a> {
    pub(crate) sink: &'a OutputSink,
    pub(crate) control: Option<&'a ProcessControl>,
}

/// A cVM ready to be built and entered.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The program, then its libraries, as the lifecycle's request named them.
    files: Vec<Arc<ObjectFile>>,
    prepared: crate::lifecycle::Prepared,
    uses: Vec<ObjectUse>,
    /// Its process (cVM processes only), readied while the cVM is prepared and built.
    placed: Option<ProcessStart>,
}

impl Prepared {
    /// Its objects, as it will use them.
    pub(crate) fn uses(&self) -> &[ObjectUse] {
        &self.uses
    }
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
        Self::with_room(regions_size, SHARED_SLOTS, sink, isolation)
    }

    /// The same, with room for `shared_slots` shared copies of objects.
    fn with_room(
        regions_size: u64,
        shared_slots: u64,
        sink: OutputSink,
        isolation: Isolation,
    ) -> Result<Self, ArenaError> {
        limit_allocator_arenas(2);
        let slot_size = 1u64 << SLOT_SHIFT;
        let regions_size = regions_size.next_multiple_of(slot_size);
        let size = crate::capability::representable_length(regions_size + shared_slots * slot_size);
        let mut arena = Arena::reserve(size, region_alignment(size).max(slot_size))?;
        let range = arena.range();
        let shared = range.start + regions_size..range.end;
        if isolation == Isolation::Process {
            arena.share_with_processes(shared.clone(), &crate::platform::objects_directory())?;
        }
        let cvms = Cvms::new(arena, range, shared.start, SLOT_SHIFT, CodeModel::Plain);
        Ok(Self { isolation, cvms, sink })
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
        let copies: u64 = deployment.cvms.iter().map(|cvm| 1 + cvm.objects.len() as u64).sum();
        Self::with_room(size, copies.max(SHARED_SLOTS), sink, isolation)
    }

    /// Lets Linux's KSM merge identical pages of every cVM's memory (see
    /// [`Arena::make_mergeable`]); for comparing KSM with ORC's sharing. KSM merges only
    /// private anonymous memory, which the intravisor's arena is only in the in-process
    /// mode.
    pub fn make_mergeable(&self) -> Result<(), String> {
        if self.cvms.arena().shares_with_processes() {
            return Err("KSM merges only private anonymous memory, and cVM processes share theirs with the intravisor through memory files: run with --in-process to compare with KSM".to_string());
        }
        self.cvms.arena().make_mergeable().map_err(|error| error.to_string())
    }

    /// Runs every cVM of `deployment` under `policies` and reports what became of each.
    pub fn run(&self, deployment: &Deployment, mut policies: PolicySet) -> Report {
        if self.isolation == Isolation::InProcess
            && deployment.cvms.iter().any(|cvm| cvm.cpu_seconds.is_some() || cvm.wall_seconds.is_some())
        {
            log::warn!("isolation.cpu_seconds and wall_seconds are not held in the in-process mode: cVMs run without time limits");
        }
        if self.isolation == Isolation::Process {
            ProcessStart::prepare_pool();
        }
        let objects = ObjectFiles::load(deployment);
        let usage = ObjectUsage::default();
        let (baseline_rss, baseline_pss) = kernel_memory().unwrap_or_default();
        let mut reports: Vec<Option<CvmReport>> = vec![None; deployment.cvms.len()];
        let stop = Stop::new();
        let sharing = SharingGroups::plan(deployment, &policies, self.isolation == Isolation::Process);
        let (peak_rss, peak_pss) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| sample_peaks(&stop, Duration::from_millis(50)));
            let merger = scope.spawn(|| sharing.run(&stop));
            let mut running = Vec::new();
            let mut first = 0;
            while first < deployment.cvms.len() {
                let last = batch_end(deployment, first);
                if let Err(error) =
                    crate::policies::apply_revocations(&mut policies, deployment.control.as_deref())
                {
                    log::error!("{error}; revocations are not applied to the next cVMs");
                }
                let mut prepared = Vec::with_capacity(last + 1 - first);
                for (index, cvm) in deployment.cvms.iter().enumerate().take(last + 1).skip(first) {
                    match self.prepare(cvm, &objects, &usage, &policies) {
                        Ok(ready) => prepared.push((index, ready)),
                        Err(reason) => {
                            objects.built(cvm);
                            sharing.arrived(index, None);
                            reports[index] = Some(refused(cvm, reason));
                        }
                    }
                }
                self.cvms.forget_plan();
                for (index, ready) in prepared {
                    let cvm = &deployment.cvms[index];
                    let (done_sender, finished) = mpsc::channel();
                    let objects = &objects;
                    let member = Some((&sharing, index));
                    let thread = std::thread::Builder::new()
                        .name(cvm.name.clone())
                        .stack_size(HOST_THREAD_STACK)
                        .spawn_scoped(scope, move || {
                            let attached = Attached { sink: &self.sink, control: None };
                            let report = self.execute(cvm, ready, member, attached, || objects.built(cvm));
                            let _ = done_sender.send(());
                            report
                        });
                    match thread {
                        Ok(thread) => running.push((index, thread)),
                        Err(error) => {
                            objects.built(cvm);
                            sharing.arrived(index, None);
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
            stop.stop();
            sharing.wake();
            let _ = merger.join();
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

    /// What `run` would refuse before starting any cVM of `deployment`, without running
    /// one: each cVM is prepared as `run` prepares it (objects read, hashed and planned,
    /// the policies with their revocations applied, the tenants' limits held by the
    /// cVMs of its batch, its region laid out), then released. Returns each refused
    /// cVM's name and the reason `run` would give.
    pub fn check(&self, deployment: &Deployment, mut policies: PolicySet) -> Vec<(String, String)> {
        let objects = ObjectFiles::load(deployment);
        let usage = ObjectUsage::default();
        if let Err(error) = crate::policies::apply_revocations(&mut policies, deployment.control.as_deref()) {
            log::error!("{error}; revocations are not applied");
        }
        let mut refusals = Vec::new();
        let mut first = 0;
        while first < deployment.cvms.len() {
            let last = batch_end(deployment, first);
            let mut prepared = Vec::new();
            for cvm in &deployment.cvms[first..=last] {
                match self.prepare(cvm, &objects, &usage, &policies) {
                    Ok(ready) => prepared.push(ready),
                    Err(reason) => refusals.push((cvm.name.clone(), reason)),
                }
            }
            self.cvms.forget_plan();
            for ready in prepared {
                self.cvms.tear_down(ready.prepared);
            }
            first = last + 1;
        }
        refusals
    }

    /// Prepares, runs and tears down one cVM on the calling thread, with no policies.
    pub fn run_cvm(&self, cvm: &CvmConfig, objects: &ObjectFiles) -> CvmReport {
        let policies = match PolicySet::new(Vec::new(), core::slice::from_ref(&cvm.tenant)) {
            Ok(policies) => policies,
            Err(error) => return refused(cvm, error.to_string()),
        };
        match self.prepare(cvm, objects, &ObjectUsage::default(), &policies) {
            Ok(ready) => self.execute(cvm, ready, None, Attached { sink: &self.sink, control: None }, || {}),
            Err(reason) => refused(cvm, reason),
        }
    }

    /// Resolves a cVM's objects (those requested by digest from the tenant that
    /// publishes them) and prepares it (`lifecycle`). On refusal nothing of it stays
    /// mapped.
    pub(crate) fn prepare(
        &self,
        cvm: &CvmConfig,
        objects: &ObjectFiles,
        usage: &ObjectUsage,
        policies: &PolicySet,
    ) -> Result<Prepared, String> {
        let refusal = |refusal: policy::Refusal| format!("refused by a sharing policy: {refusal}");
        let mut files = vec![objects.get(&cvm.runtime)?];
        let mut publishers = BTreeMap::new();
        for object in &cvm.objects {
            match object {
                ObjectRef::Path(path) => files.push(objects.get(path)?),
                ObjectRef::Digest(digest) => {
                    let (publisher, _) = policies.check_request(&cvm.tenant, digest).map_err(refusal)?;
                    let file = objects.by_digest(digest).ok_or_else(|| {
                        format!(
                            "`{publisher}` publishes sha256 {}, but no object of the deployment has it",
                            policy::digest_hex(digest)
                        )
                    })?;
                    publishers.insert(*digest, publisher);
                    files.push(file);
                }
            }
        }
        let bytes = file_bytes(&files)?;
        let request = CvmRequest {
            tenant: &cvm.tenant,
            objects: request_objects(&files, &bytes),
            region_size: cvm.region_size,
            stack_size: cvm.stack_size,
            publishers,
            grants: cvm.grants(),
        };
        // Objects the loader refuses are refused before a process is started for them.
        self.cvms.checked_plan(&request)?;
        let limits = policies.policy(&cvm.tenant).map(|policy| policy.limits.clone()).unwrap_or_default();
        // A cVM process is readied (taken from the pool, put into the cVM's groups, which
        // the kernel takes milliseconds to make) while the cVM is prepared and built; one
        // whose cVM is refused from here on (by a policy, a limit, its layout) is killed.
        let placed = (self.isolation == Isolation::Process).then(|| {
            let tenant =
                TenantLimits { name: &cvm.tenant, cvms: limits.cvms, memory_total: limits.memory_total };
            ProcessStart::begin(cvm.region_size, tenant)
        });
        let prepared = self.cvms.prepare(&request, policies)?;
        let mut uses = Vec::with_capacity(prepared.files.len());
        for ((index, (loaded, shared)), owner) in prepared.object_uses().enumerate().zip(&prepared.owners) {
            let file = &files[prepared.files[index]];
            let shared_bytes = shared.map_or(0, |object| object.image.end - object.image.start);
            usage.record(file.sha256, loaded, shared_bytes);
            uses.push(ObjectUse {
                name: file.name.clone(),
                sha256: file.digest_hex(),
                copy: shared.map(|object| object.id),
                owner: owner.clone(),
                bytes: if shared.is_some() { shared_bytes } else { prepared.image_sizes[index] },
            });
        }
        Ok(Prepared { files, prepared, uses, placed })
    }

    /// Builds a prepared cVM in its region, runs it, and tears it down. `built` is called
    /// once it is built (or could not be): the files' bytes are no longer needed for it.
    /// `member`: the deployment's run-time sharing groups and the cVM's index there;
    /// `attached`: where its console goes, and the handle that ends it from outside.
    pub(crate) fn execute(
        &self,
        cvm: &CvmConfig,
        ready: Prepared,
        member: Option<(&SharingGroups, usize)>,
        attached: Attached<'_>,
        built: impl FnOnce(),
    ) -> CvmReport {
        let Prepared { files, prepared, uses, placed } = ready;
        let layout = &prepared.layout;
        let cls_bytes = layout.cls_bytes();
        let private_bytes = layout.private_image_bytes() + cls_bytes + crate::region::PAGE_SIZE;
        let hostcall_entry = match self.isolation {
            // A cVM process fills in its own entry.
            Isolation::Process => 0,
            Isolation::InProcess => crate::platform::hostcall_entry_address(),
        };
        let instance = file_bytes(&files).and_then(|bytes| {
            let objects = request_objects(&files, &bytes);
            self.cvms.build(&prepared, &objects, &cvm.name, &cvm.arguments, hostcall_entry)
        });
        drop(files);
        built();
        // What building the cVM allocated and freed goes back to the kernel now, not when
        // the allocator next trims.
        give_back_free_memory();
        let merge = member.and_then(|(groups, index)| {
            let instance = instance.as_ref().ok()?;
            let merge = groups.group_file(index).and_then(|file| {
                let shared = self.cvms.arena().share_at_run_time(instance.region.start, file);
                shared
                    .inspect_err(|error| log::error!("cVM `{}`: no run-time sharing: {error}", cvm.name))
                    .ok()
            });
            groups.arrived(index, merge.clone().map(|merge| (merge, instance.memory.mappings())));
            merge
        });
        if let (Some((groups, index)), Err(_)) = (member, &instance) {
            groups.arrived(index, None);
        }
        let ran = instance.map(|instance| self.enter(cvm, instance, placed, merge.clone(), attached));
        self.cvms.tear_down(prepared);
        let mut report = ran.unwrap_or_else(|reason| refused(cvm, reason));
        report.cls_bytes = cls_bytes;
        report.objects = uses;
        report.private_bytes = private_bytes;
        report.run_time_shared_bytes = merge.as_ref().map_or(0, |merge| merge.peak_merged_bytes());
        report.run_time_given_back_bytes = merge.map_or(0, |merge| merge.peak_emptied_bytes());
        report
    }

    fn enter(
        &self,
        cvm: &CvmConfig,
        instance: Instance,
        placed: Option<ProcessStart>,
        merge: Option<Arc<RegionMerge>>,
        attached: Attached<'_>,
    ) -> CvmReport {
        let process = ProcessPlan {
            region: instance.region.clone(),
            boot_block: instance.boot_block,
            mappings: instance.memory.mappings().to_vec(),
            cpu_seconds: cvm.cpu_seconds,
            wall_seconds: cvm.wall_seconds,
        };
        let services = CvmServices::new(
            &cvm.name,
            self.cvms.arena(),
            instance.memory,
            attached.sink,
            cvm.files.clone(),
            cvm.output.clone(),
        )
        .with_run_time_sharing(merge)
        .with_write_budget(WriteBudget::new(cvm.console_bytes, cvm.output_bytes))
        .with_open_files(cvm.open_files)
        .with_threads(cvm.threads);
        let start = CvmEntry {
            entry: instance.entry,
            stack_top: instance.stack_top,
            argument: instance.boot_block,
            cls_table: instance.cls_table,
        };
        let ran = match self.isolation {
            Isolation::InProcess => {
                // SAFETY: the instance was built from a layout verified for its region:
                // the entry lies in executable code of the program, the stack top is the
                // aligned top of the writable stack, the boot block lies on that stack
                // and the CLS table in the region; every hostcall goes through
                // `services`, which checks it against the cVM's capabilities.
                let (stop, threads) = unsafe { run_cvm(start, &services) };
                Ok(ProcessEnd { stop, threads, memory: None })
            }
            Isolation::Process => match placed {
                Some(placed) => self.enter_process(start, &process, placed, &services, attached.control),
                None => Err("no process was readied for it".to_string()),
            },
        };
        services.finish();
        let ProcessEnd { stop, threads, memory } = match ran {
            Ok(ran) => ran,
            Err(reason) => return refused(cvm, format!("its process could not be set up: {reason}")),
        };
        ended(cvm, stop, threads, memory, services.over_limit())
    }

    /// Runs a built cVM in a process of its own.
    fn enter_process(
        &self,
        start: CvmEntry,
        process: &ProcessPlan,
        placed: ProcessStart,
        services: &CvmServices<'_>,
        control: Option<&ProcessControl>,
    ) -> Result<ProcessEnd, String> {
        let files = self
            .cvms
            .arena()
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
            wall_seconds: process.wall_seconds,
            merge: files.merge.as_ref().map(|merge| merge.files()),
            control,
        };
        // SAFETY: the region and the shared area are backed by these files at these
        // addresses until the cVM is torn down, after this returns; the instance was
        // built from a layout verified for its region (entry, stack, boot block and CLS
        // table inside it, pages protected as its mappings say); every hostcall goes
        // through `services`, which checks it against the cVM's capabilities.
        unsafe { run_cvm_process(start, memory, placed, services) }
    }

    /// Releases a prepared cVM that will not run: nothing of it stays mapped, and the
    /// process readied for it is killed.
    pub(crate) fn release(&self, ready: Prepared) {
        let Prepared { prepared, placed, .. } = ready;
        self.cvms.tear_down(prepared);
        drop(placed);
    }

    /// Forgets the plan kept for the next cVMs of the same objects.
    pub(crate) fn forget_plan(&self) {
        self.cvms.forget_plan();
    }

    /// Shared objects loaded now (for tests: zero once every cVM is torn down).
    pub fn shared_objects_loaded(&self) -> usize {
        self.cvms.shared_objects_loaded()
    }

    /// Plans made so far (for tests: cVMs of the same objects in one batch share one).
    pub fn plans_made(&self) -> u64 {
        self.cvms.plans_made()
    }
}

impl Drop for Intravisor {
    fn drop(&mut self) {
        if self.isolation == Isolation::Process {
            crate::platform::remove_cgroups();
        }
    }
}

/// The lifecycle's view of a cVM's object files.
/// The bytes of a cVM's files (kept in memory until it is built).
fn file_bytes(files: &[Arc<ObjectFile>]) -> Result<Vec<Arc<Vec<u8>>>, String> {
    files.iter().map(|file| file.bytes()).collect()
}

fn request_objects<'a>(files: &'a [Arc<ObjectFile>], bytes: &'a [Arc<Vec<u8>>]) -> Vec<CvmObject<'a>> {
    files
        .iter()
        .zip(bytes)
        .map(|(file, bytes)| CvmObject { name: &file.name, bytes, sha256: file.sha256 })
        .collect()
}

/// The last cVM of the batch that starts at `first`: a batch ends with the first cVM
/// that makes the deployment wait.
fn batch_end(deployment: &Deployment, first: usize) -> usize {
    (first..deployment.cvms.len())
        .find(|&index| deployment.cvms[index].wait != Wait::No)
        .unwrap_or(deployment.cvms.len() - 1)
}
