//! Running the image's cVMs bare metal: each planned, its shared objects acquired from
//! the same object store as on the host, its region laid out and built by the same code,
//! then run at EL0 one after another; hostcalls arrive as `svc #0` and are checked
//! against the cVM's capabilities exactly as on the host.
//!
//! Every cVM is prepared before the first runs, so an object several cVMs name is loaded
//! once and stays loaded until its last user is torn down. The tenants' sharing policies
//! decide, with the same `policy` crate as on the host: whose copy of each object a cVM
//! uses, whether a published object still has its policy's digest, and the limits.

use alloc::string::String;
use alloc::vec::Vec;

use policy::PolicySet;

use super::boot::run_el0;
use super::files::FileTable;
use super::mmu::Arena;
use super::services::{Services, LEFT_EXITED};
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

    /// Prepares and runs every cVM of the manifest, in order; returns what became of each.
    pub fn run(&mut self, manifest: &Manifest<'_>) -> Vec<Outcome> {
        let prepared: Vec<Result<Prepared, String>> =
            manifest.cvms.iter().map(|cvm| self.prepare(cvm)).collect();
        let mut outcomes = Vec::with_capacity(prepared.len());
        for (cvm, ready) in manifest.cvms.iter().zip(prepared) {
            outcomes.push(match ready {
                Ok(ready) => self.execute(cvm, ready),
                Err(reason) => Outcome::Refused(reason),
            });
        }
        outcomes
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
        };
        let prepared = self.cvms.prepare(&request, &self.policies)?;
        for ((loaded, _), &file) in prepared.object_uses().zip(&prepared.files) {
            let object = indices[file];
            self.counts[object].0 += u64::from(loaded);
            self.counts[object].1 += 1;
        }
        Ok(prepared)
    }

    fn execute(&mut self, cvm: &ImageCvm, ready: Prepared) -> Outcome {
        let objects = self.objects_of(cvm);
        let ran = self
            .cvms
            .run(ready, &objects, &cvm.name, &cvm.arguments, 0, |instance| self.enter(cvm, instance));
        ran.unwrap_or_else(Outcome::Refused)
    }

    /// Runs a built cVM at EL0 until it exits or faults.
    fn enter(&self, cvm: &ImageCvm, instance: Instance) -> Outcome {
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
        let inputs =
            cvm.files.iter().map(|(name, index)| (name.as_str(), self.objects[*index].bytes)).collect();
        let files = FileTable::new(inputs, cvm.output.as_deref());
        let mut services =
            Services::new(&cvm.name, self.cvms.arena(), instance.memory, instance.code.clone(), files);
        if let Some(seconds) = cvm.cpu_seconds {
            services.limit_processor_time(seconds);
        }
        // SAFETY: the instance was built from a layout verified for its region: the
        // entry is in code mapped executable for EL0 (inside `code`), the stack top is
        // the aligned top of its stack, the boot block and CLS table lie in its region;
        // every hostcall goes through `services`, which checks it against the cVM's
        // capabilities.
        let left = unsafe {
            run_el0(
                instance.entry,
                instance.stack_top,
                instance.boot_block,
                instance.cls_table,
                instance.region.clone(),
                instance.code.clone(),
                &mut services,
            )
        };
        services.finish();
        if services.thread_count() > 1 {
            crate::console_print!("intravisor: cVM `{}` ran {} threads\n", cvm.name, services.thread_count());
        }
        match (left, services.fault) {
            (LEFT_EXITED, _) => Outcome::Exited(services.status),
            (_, Some(cause)) => Outcome::Faulted(cause),
            _ => Outcome::Faulted(String::from("left for an unknown reason")),
        }
    }
}
