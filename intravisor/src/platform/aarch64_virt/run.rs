//! Running the image's cVMs bare metal: each planned, its shared objects acquired from
//! the same object store as on the host, its region laid out and built by the same code,
//! then run at EL0 one after another; hostcalls arrive as `svc #0` and are checked
//! against the cVM's capabilities exactly as on the host.
//!
//! Every cVM is prepared before the first runs, so an object several cVMs name is loaded
//! once and stays loaded until its last user is torn down. The tenants' sharing policies
//! decide, with the same `policy` crate as on the host: whose copy of each object a cVM
//! uses, whether a published object still has its policy's digest, and the limits.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use policy::{Domain, PolicySet, Usage};

use super::boot::run_el0;
use super::files::FileTable;
use super::mmu::Arena;
use super::services::{Services, LEFT_EXITED};
use crate::capability::Cap;
use crate::instance::{entered_functions, instantiate, Build, EnteredFunction};
use crate::layout::{lay_out, Layout, LayoutRequest, SlotGeometry};
use crate::manifest::{ImageCvm, ImageObject, Manifest};
use crate::region::RegionAllocator;
use crate::sharing::shareable_objects;
use crate::store::{Acquired, ObjectStore};

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

#[derive(Debug)]
struct Prepared {
    acquired: Acquired,
    region: Range<u64>,
    layout: Layout,
    files: Vec<usize>,
    /// Functions of the purecap objects it enters (Morello).
    entered: Vec<EnteredFunction>,
}

/// The intravisor's state for running an image.
#[derive(Debug)]
pub struct Runner<'a> {
    arena: Arena,
    arena_capability: Cap,
    regions: RegionAllocator,
    store: ObjectStore,
    slots: SlotGeometry,
    objects: &'a [ImageObject<'a>],
    /// Objects whose digest did not match the manifest.
    corrupt: Vec<bool>,
    /// Per object: copies loaded, and cVMs that used it.
    counts: Vec<(u64, u64)>,
    policies: PolicySet,
    /// Per tenant: cVMs prepared and not yet torn down, and their regions' bytes.
    tenants: alloc::collections::BTreeMap<String, (u64, u64)>,
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
        let shared = range.end - SHARED_SIZE..range.end;
        let arena_capability = Cap::root().set_value(range.start).set_bounds_exact(range.end - range.start);
        let slots = SlotGeometry {
            base: range.start,
            shift: SLOT_SHIFT,
            count: (range.end - range.start) >> SLOT_SHIFT,
        };
        Self {
            regions: RegionAllocator::new(range.start..shared.start),
            store: ObjectStore::new(shared, 1 << SLOT_SHIFT, arena_capability),
            arena,
            arena_capability,
            slots,
            counts: alloc::vec![(0, 0); objects.len()],
            objects,
            corrupt,
            policies,
            tenants: alloc::collections::BTreeMap::new(),
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

    fn prepare(&mut self, cvm: &ImageCvm) -> Result<Prepared, String> {
        let indices: Vec<usize> = core::iter::once(cvm.program).chain(cvm.objects.iter().copied()).collect();
        if let Some(&bad) = indices.iter().find(|&&index| self.corrupt[index]) {
            return Err(format!("`{}` does not have the SHA-256 the image names", self.objects[bad].name));
        }
        let program = &self.objects[cvm.program];
        let inputs: Vec<loader::ObjectInput<'_>> = cvm
            .objects
            .iter()
            .map(|&index| loader::ObjectInput {
                name: &self.objects[index].name,
                bytes: self.objects[index].bytes,
            })
            .collect();
        let plan = loader::plan(loader::ObjectInput { name: &program.name, bytes: program.bytes }, &inputs)
            .map_err(|error| format!("the loader refused its objects: {error}"))?;
        if !cfg!(feature = "morello") {
            crate::instance::refuse_purecap(&plan)?;
        }
        let files: Vec<usize> = plan
            .objects
            .iter()
            .map(|planned| indices.iter().copied().find(|&index| self.objects[index].name == planned.name))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| String::from("the plan names an object that was not given"))?;
        let bytes: Vec<&[u8]> = files.iter().map(|&index| self.objects[index].bytes).collect();
        let refusal = |refusal: policy::Refusal| format!("refused by a sharing policy: {refusal}");
        let mut identities: Vec<([u8; 32], String)> = Vec::with_capacity(files.len());
        for &index in &files {
            let object = &self.objects[index];
            self.policies.check_own_object(&cvm.tenant, &object.name, &object.sha256).map_err(refusal)?;
            let owner = match self.policies.sharing_domain(&cvm.tenant, &object.sha256) {
                Domain::Own => cvm.tenant.clone(),
                Domain::Publisher(publisher) => publisher,
            };
            identities.push((object.sha256, owner));
        }
        self.check_limits(cvm, 0).map_err(|error| refusal(*error))?;
        let acquired = self
            .store
            .acquire(&self.arena, &plan, &bytes, &identities, &shareable(&plan))
            .map_err(|error| format!("its shared objects were refused: {error}"))?;
        let region = match self.regions.allocate(cvm.region_size) {
            Ok(region) => region,
            Err(error) => {
                self.store.release(&self.arena, acquired);
                return Err(format!("{error}"));
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
        match lay_out(request) {
            Ok(layout) => {
                if let Err(error) = self.check_limits(cvm, layout.cls_bytes()) {
                    self.tear_down(region, acquired);
                    return Err(refusal(*error));
                }
                let entry = self.tenants.entry(cvm.tenant.clone()).or_default();
                *entry = (entry.0 + 1, entry.1 + cvm.region_size);
                for (plan_index, &object) in files.iter().enumerate() {
                    let shared = acquired.shared[plan_index].is_some();
                    let loaded = !shared || acquired.loaded.contains(&plan_index);
                    self.counts[object].0 += u64::from(loaded);
                    self.counts[object].1 += 1;
                }
                let entered = entered_functions(&plan, &layout);
                Ok(Prepared { acquired, region, layout, files, entered })
            }
            Err(error) => {
                self.tear_down(region, acquired);
                Err(format!("its plan was refused: {error}"))
            }
        }
    }

    /// Checks `cvm` against its tenant's limits, counting the cVMs prepared and not yet
    /// torn down.
    fn check_limits(&self, cvm: &ImageCvm, cls_bytes: u64) -> Result<(), Box<policy::Refusal>> {
        let (cvms, memory) = self.tenants.get(&cvm.tenant).copied().unwrap_or_default();
        let usage = Usage {
            cvms: cvms + 1,
            memory_per_cvm: cvm.region_size,
            memory_total: memory + cvm.region_size,
            cls_bytes,
        };
        self.policies.check_limits(&cvm.tenant, &usage).map_err(Box::new)
    }

    fn execute(&mut self, cvm: &ImageCvm, ready: Prepared) -> Outcome {
        let Prepared { acquired, region, layout, files, entered } = ready;
        let bytes: Vec<&[u8]> = files.iter().map(|&index| self.objects[index].bytes).collect();
        let shared = acquired.views();
        let build = Build {
            arena_capability: self.arena_capability,
            layout: &layout,
            files: &bytes,
            shared: &shared,
            name: &cvm.name,
            arguments: &cvm.arguments,
            hostcall_entry: 0,
            entered: &entered,
        };
        let outcome = match instantiate(&self.arena, build) {
            Ok(instance) => {
                #[cfg(feature = "morello")]
                for entry in &instance.entries {
                    // SAFETY: the slot was laid out in the boot block, in the cVM's
                    // writable stack (its pages keep tags on Morello); the function and
                    // its object's image are in the shared area, mapped for EL0.
                    unsafe {
                        super::boot::store_entry_capability(
                            entry.slot,
                            entry.function.object.clone(),
                            entry.function.address,
                        )
                    };
                }
                let inputs = cvm
                    .files
                    .iter()
                    .map(|(name, index)| (name.as_str(), self.objects[*index].bytes))
                    .collect();
                let files = FileTable::new(inputs, cvm.output.as_deref());
                let mut services = Services::new(&cvm.name, &self.arena, instance.memory, files);
                // SAFETY: the instance was built from a layout verified for its region: the
                // entry is in code mapped executable for EL0 (inside `code`), the stack top is the aligned top
                // of its stack, the boot block and CLS table lie in its region; every hostcall
                // goes through `services`, which checks it against the cVM's capabilities.
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
                    crate::console_print!(
                        "intravisor: cVM `{}` ran {} threads\n",
                        cvm.name,
                        services.thread_count()
                    );
                }
                match (left, services.fault) {
                    (LEFT_EXITED, _) => Outcome::Exited(services.status),
                    (_, Some(cause)) => Outcome::Faulted(cause),
                    _ => Outcome::Faulted(String::from("left for an unknown reason")),
                }
            }
            Err(error) => Outcome::Refused(format!("{error}")),
        };
        self.tear_down(region, acquired);
        if let Some(entry) = self.tenants.get_mut(&cvm.tenant) {
            *entry = (entry.0.saturating_sub(1), entry.1.saturating_sub(cvm.region_size));
        }
        outcome
    }

    fn tear_down(&mut self, region: Range<u64>, acquired: Acquired) {
        if self.arena.scrub(region.start, region.end).is_ok() {
            self.regions.release(region);
        }
        self.store.release(&self.arena, acquired);
    }
}

/// Which objects may be shared. On Morello, cVMs are hybrid: their loads and branches are
/// checked against a DDC and PCC bounded to their own region, so everything they run
/// must be inside it, and every hybrid object is a private copy (ARCHITECTURE §5). The
/// purecap objects they enter through sealed entry capabilities are shared.
fn shareable(plan: &loader::LoadPlan) -> Vec<bool> {
    let shareable = shareable_objects(plan);
    if cfg!(feature = "morello") {
        plan.objects.iter().zip(shareable).map(|(object, shareable)| object.purecap && shareable).collect()
    } else {
        shareable
    }
}
