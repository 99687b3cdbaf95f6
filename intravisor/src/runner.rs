//! Running a deployment: each cVM built in its own region, run on its own thread, and
//! torn down, with what became of it collected into the report.
//!
//! A cVM whose objects, plan or region are refused never starts and is reported as
//! `refused` with the reason; the others run. A cVM that faults is ended alone.

use std::ops::Range;
use std::sync::{mpsc, Mutex, PoisonError};
use std::time::Duration;

use crate::capability::Cap;
use crate::config::{CvmConfig, Deployment, Wait};
use crate::cvm::{instantiate, CvmServices, OutputSink};
use crate::layout::lay_out;
use crate::objects::ObjectFiles;
use crate::platform::{run_cvm, Arena, ArenaError, CvmStop};
use crate::region::{region_alignment, RegionAllocator};
use crate::report::{CvmReport, FaultReport, Report, Status};

/// Stack of the intravisor's side of each cVM thread (hostcall handling).
const HOST_THREAD_STACK: usize = 1 << 20;

/// The intravisor: one arena of cVM regions, and where cVM output goes.
#[derive(Debug)]
pub struct Intravisor {
    arena: Arena,
    arena_capability: Cap,
    regions: Mutex<RegionAllocator>,
    sink: OutputSink,
}

impl Intravisor {
    /// An intravisor whose arena holds `size` bytes of regions.
    pub fn new(size: u64, sink: OutputSink) -> Result<Self, ArenaError> {
        let size = crate::capability::representable_length(size.next_multiple_of(crate::region::PAGE_SIZE));
        let arena = Arena::reserve(size, region_alignment(size))?;
        let range = arena.range();
        let arena_capability = Cap::root().set_value(range.start).set_bounds_exact(range.end - range.start);
        assert!(arena_capability.tag(), "the arena was aligned for exact bounds");
        Ok(Self { arena, arena_capability, regions: Mutex::new(RegionAllocator::new(range)), sink })
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
        let mut reports: Vec<Option<CvmReport>> = vec![None; deployment.cvms.len()];
        std::thread::scope(|scope| {
            let mut running = Vec::new();
            for (index, cvm) in deployment.cvms.iter().enumerate() {
                let (done_sender, done) = mpsc::channel();
                let objects = &objects;
                let thread = std::thread::Builder::new()
                    .name(cvm.name.clone())
                    .stack_size(HOST_THREAD_STACK)
                    .spawn_scoped(scope, move || {
                        let report = self.run_cvm(cvm, objects);
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
                        let _ = done.recv();
                    }
                    Wait::Seconds(seconds) => {
                        let _ = done.recv_timeout(Duration::from_secs(seconds));
                    }
                }
            }
            for (index, thread) in running {
                reports[index] = Some(thread.join().unwrap_or_else(|_| {
                    refused(&deployment.cvms[index], "the intravisor failed while running it".to_string())
                }));
            }
        });
        Report { cvms: reports.into_iter().flatten().collect(), objects: objects.report() }
    }

    /// Builds, runs and tears down one cVM on the calling thread.
    pub fn run_cvm(&self, cvm: &CvmConfig, objects: &ObjectFiles) -> CvmReport {
        let program = match objects.get(&cvm.runtime) {
            Ok(program) => program,
            Err(reason) => return refused(cvm, reason),
        };
        let mut libraries = Vec::with_capacity(cvm.objects.len());
        for path in &cvm.objects {
            match objects.get(path) {
                Ok(library) => libraries.push(library),
                Err(reason) => return refused(cvm, reason),
            }
        }
        let inputs: Vec<loader::ObjectInput<'_>> = libraries
            .iter()
            .map(|library| loader::ObjectInput { name: &library.name, bytes: &library.bytes })
            .collect();
        let plan =
            match loader::plan(loader::ObjectInput { name: &program.name, bytes: &program.bytes }, &inputs) {
                Ok(plan) => plan,
                Err(error) => return refused(cvm, format!("the loader refused its objects: {error}")),
            };
        // Files by plan index: the program, then the libraries the plan kept.
        let mut files: Vec<&[u8]> = Vec::with_capacity(plan.objects.len());
        for planned in &plan.objects {
            let file = core::iter::once(&program).chain(&libraries).find(|file| file.name == planned.name);
            match file {
                Some(file) => files.push(&file.bytes),
                None => {
                    return refused(cvm, format!("the plan names `{}`, which was not given", planned.name))
                }
            }
        }
        let region =
            match self.regions.lock().unwrap_or_else(PoisonError::into_inner).allocate(cvm.region_size) {
                Ok(region) => region,
                Err(error) => return refused(cvm, error.to_string()),
            };
        let sizes: Vec<u64> = files.iter().map(|file| file.len() as u64).collect();
        let report = match lay_out(&plan, &sizes, region.clone(), cvm.stack_size) {
            Ok(layout) => match instantiate(
                &self.arena,
                self.arena_capability,
                &layout,
                &files,
                &cvm.name,
                &cvm.arguments,
            ) {
                Ok(instance) => self.enter(cvm, instance),
                Err(error) => refused(cvm, error.to_string()),
            },
            Err(error) => refused(cvm, format!("its plan was refused: {error}")),
        };
        self.tear_down(&cvm.name, region);
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
        // SAFETY: the instance was built from a layout verified for its region: the
        // entry lies in executable code of the program, the stack top is the aligned top
        // of the writable stack, the boot block lies on that stack; every hostcall goes
        // through `services`, which checks it against the cVM's capabilities.
        let stop = unsafe { run_cvm(instance.entry, instance.stack_top, instance.boot_block, &mut services) };
        services.finish();
        let mut report = CvmReport {
            name: cvm.name.clone(),
            tenant: cvm.tenant.clone(),
            status: Status::Exited,
            exit_code: None,
            fault: None,
            reason: None,
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

    /// Scrubs a region and gives it back.
    fn tear_down(&self, name: &str, region: Range<u64>) {
        match self.arena.scrub(region.start, region.end) {
            Ok(()) => self.regions.lock().unwrap_or_else(PoisonError::into_inner).release(region),
            // A region that could not be scrubbed is never handed out again.
            Err(error) => log::error!("cVM `{name}`: its region is kept out of use: {error}"),
        }
    }
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
    }
}
