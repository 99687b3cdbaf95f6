//! The cVM lifecycle, written once for every platform: prepare (plan, decide with the
//! tenants' policies, acquire shared objects, carve and lay out a region) → build (apply
//! the layout, write the boot block) → run (the platform's part: [`Cvms::run`] hands the
//! built instance to it) → tear down (scrub the region, release the shared objects).
//!
//! The host (a process or threads per cVM), `aarch64-virt` and `morello` each own one
//! [`Cvms`] over their arena and differ only in how they enter a built cVM and serve its
//! hostcalls (`crate::hostcall`). Before anything is mapped for a cVM, the policies
//! decide whose copy of each object it uses (its tenant's own, or a publisher's that
//! shares it), whether its tenant may use each object, and whether its tenant's limits
//! hold, counting the cVMs prepared and not yet torn down. A cVM refused at any step
//! keeps nothing mapped.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use loader::ObjectInput;
use policy::{Domain, PolicySet, Usage};
use spin::Mutex;

use crate::capability::Cap;
use crate::instance::{entered_functions, instantiate, Build, EnteredFunction, Instance};
use crate::layout::{lay_out, Layout, LayoutRequest, Placement, SlotGeometry};
use crate::memory::RegionMemory;
use crate::region::RegionAllocator;
use crate::sharing::shareable_objects;
use crate::store::{Acquired, ObjectStore};

/// One object a cVM asks for: its file's name, bytes and SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct CvmObject<'r> {
    /// The name it is known by (its file name).
    pub name: &'r str,
    /// The whole ELF file.
    pub bytes: &'r [u8],
    /// The SHA-256 of `bytes`.
    pub sha256: [u8; 32],
}

/// What a cVM is prepared from.
#[derive(Debug, Clone)]
pub struct CvmRequest<'r> {
    /// Its tenant.
    pub tenant: &'r str,
    /// The program, then the libraries it may link (in the deployment's order).
    pub objects: Vec<CvmObject<'r>>,
    /// The size of its region.
    pub region_size: u64,
    /// The size of its stack.
    pub stack_size: u64,
    /// Objects requested by digest, and the tenant that publishes each: their copy is
    /// the publisher's.
    pub publishers: BTreeMap<[u8; 32], String>,
    /// What its deployment grants it of what it consumes as it runs (checked against
    /// its tenant's per-cVM limits).
    pub grants: policy::Grants,
}

/// How a platform runs objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeModel {
    /// Every object is ordinary (hybrid-free) code; purecap objects are refused.
    Plain,
    /// Morello: hybrid cVMs bounded to their region run private copies of their hybrid
    /// objects and enter shared purecap objects through sealed entry capabilities
    /// (ARCHITECTURE §5).
    MorelloHybrid,
}

/// A cVM ready to be built: its plan's verdicts, its shared objects held, its region
/// carved and laid out.
#[derive(Debug)]
pub struct Prepared {
    /// For each object of the plan, its index in the request's `objects`.
    pub files: Vec<usize>,
    /// For each object of the plan, the tenant whose copy it uses.
    pub owners: Vec<String>,
    /// For each object of the plan, its image size.
    pub image_sizes: Vec<u64>,
    /// Its shared objects, held until it is torn down.
    pub acquired: Acquired,
    /// Its region.
    pub region: Range<u64>,
    /// Its verified layout.
    pub layout: Layout,
    /// Functions of the purecap objects it enters (Morello).
    pub entered: Vec<EnteredFunction>,
    tenant: String,
}

impl Prepared {
    /// For each object of the plan: whether this cVM loaded it (a private copy, or the
    /// first user of a shared copy), and the shared copy it uses.
    pub fn object_uses(&self) -> impl Iterator<Item = (bool, Option<&crate::store::SharedObject>)> + '_ {
        (0..self.files.len()).map(|index| {
            match (&self.acquired.placements[index], &self.acquired.shared[index]) {
                (Placement::Shared { .. }, Some(object)) => {
                    (self.acquired.loaded.contains(&index), Some(&**object))
                }
                _ => (true, None),
            }
        })
    }
}

/// The cVMs of one platform: its arena, the regions carved from it, the shared objects
/// loaded in it, and what each tenant holds.
#[derive(Debug)]
pub struct Cvms<A> {
    arena: A,
    arena_capability: Cap,
    regions: Mutex<RegionAllocator>,
    store: ObjectStore,
    slots: SlotGeometry,
    code_model: CodeModel,
    /// Per tenant: cVMs prepared and not yet torn down, and the bytes of their regions.
    tenants: Mutex<BTreeMap<String, (u64, u64)>>,
    /// The last plan made, and the objects it was made of: a fleet of cVMs of the same
    /// objects is planned once (symbol resolution over every object is most of what
    /// preparing a cVM costs). Kept until [`Cvms::forget_plan`].
    last_plan: Mutex<Option<(Vec<PlanKey>, Arc<loader::LoadPlan>)>>,
    /// Plans made (not taken from `last_plan`).
    plans_made: AtomicU64,
}

/// What a plan is made of, per object: its name, where its bytes are, how many there
/// are, and their SHA-256.
type PlanKey = (String, usize, usize, [u8; 32]);

impl<A: RegionMemory> Cvms<A> {
    /// cVMs in `arena`, which spans `range`: regions are carved below `shared_start`,
    /// shared objects placed above it in slots of `1 << slot_shift` bytes. `range` must
    /// be exactly representable as capability bounds.
    pub fn new(
        arena: A,
        range: Range<u64>,
        shared_start: u64,
        slot_shift: u32,
        code_model: CodeModel,
    ) -> Self {
        let arena_capability = Cap::root().set_value(range.start).set_bounds_exact(range.end - range.start);
        assert!(arena_capability.tag(), "the arena was aligned for exact bounds");
        let slots = SlotGeometry {
            base: range.start,
            shift: slot_shift,
            count: (range.end - range.start) >> slot_shift,
        };
        Self {
            regions: Mutex::new(RegionAllocator::new(range.start..shared_start)),
            store: ObjectStore::new(shared_start..range.end, 1 << slot_shift, arena_capability),
            arena,
            arena_capability,
            slots,
            code_model,
            tenants: Mutex::new(BTreeMap::new()),
            last_plan: Mutex::new(None),
            plans_made: AtomicU64::new(0),
        }
    }

    /// How many plans were made (for tests: once per run of cVMs of the same objects).
    pub fn plans_made(&self) -> u64 {
        self.plans_made.load(Ordering::Relaxed)
    }

    /// Drops the plan kept for the next cVM of the same objects (its memory counts
    /// against the intravisor while cVMs run).
    pub fn forget_plan(&self) {
        *self.last_plan.lock() = None;
    }

    /// The plan of `program` and `libraries`: the last one if it was made of the same
    /// objects (the same names, bytes at the same place, the same SHA-256), else a new
    /// one, kept in its place.
    fn plan(
        &self,
        program: &CvmObject<'_>,
        libraries: &[CvmObject<'_>],
    ) -> Result<Arc<loader::LoadPlan>, loader::LoadError> {
        let key: Vec<PlanKey> = core::iter::once(program)
            .chain(libraries)
            .map(|object| {
                (object.name.to_string(), object.bytes.as_ptr() as usize, object.bytes.len(), object.sha256)
            })
            .collect();
        if let Some((known, plan)) = &*self.last_plan.lock() {
            if *known == key {
                return Ok(Arc::clone(plan));
            }
        }
        let inputs: Vec<ObjectInput<'_>> =
            libraries.iter().map(|object| ObjectInput { name: object.name, bytes: object.bytes }).collect();
        let plan = Arc::new(loader::plan(ObjectInput { name: program.name, bytes: program.bytes }, &inputs)?);
        self.plans_made.fetch_add(1, Ordering::Relaxed);
        *self.last_plan.lock() = Some((key, Arc::clone(&plan)));
        Ok(plan)
    }

    /// The arena.
    pub fn arena(&self) -> &A {
        &self.arena
    }

    /// Shared objects loaded now (zero once every cVM is torn down).
    pub fn shared_objects_loaded(&self) -> usize {
        self.store.loaded_count()
    }

    /// The plan of a cVM's objects, or why the loader refuses them (kept for the next cVM
    /// of the same objects, so a caller may check a cVM's objects before it prepares it,
    /// at no extra cost).
    pub fn checked_plan(&self, request: &CvmRequest<'_>) -> Result<Arc<loader::LoadPlan>, String> {
        let (program, libraries) = request.objects.split_first().ok_or("it names no program")?;
        let plan = self
            .plan(program, libraries)
            .map_err(|error| format!("the loader refused its objects: {error}"))?;
        if self.code_model == CodeModel::Plain {
            crate::instance::refuse_purecap(&plan)?;
        }
        Ok(plan)
    }

    /// Plans a cVM, checks it against `policies`, acquires its shared objects, carves
    /// and lays out its region. On refusal (the reason in words) nothing of it stays
    /// mapped.
    pub fn prepare(&self, request: &CvmRequest<'_>, policies: &PolicySet) -> Result<Prepared, String> {
        let refusal = |refusal: policy::Refusal| format!("refused by a sharing policy: {refusal}");
        let plan = self.checked_plan(request)?;
        let files = plan
            .objects
            .iter()
            .map(|planned| {
                request
                    .objects
                    .iter()
                    .position(|object| object.name == planned.name)
                    .ok_or_else(|| format!("the plan names `{}`, which was not given", planned.name))
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let mut owners = Vec::with_capacity(files.len());
        for &index in &files {
            let object = &request.objects[index];
            policies.check_own_object(request.tenant, object.name, &object.sha256).map_err(refusal)?;
            owners.push(match request.publishers.get(&object.sha256) {
                Some(publisher) => publisher.clone(),
                None => match policies.sharing_domain(request.tenant, &object.sha256) {
                    Domain::Own => request.tenant.to_string(),
                    Domain::Publisher(publisher) => publisher,
                },
            });
        }
        self.check_limits(request, policies, 0).map_err(|error| refusal(*error))?;
        let identities: Vec<([u8; 32], String)> = files
            .iter()
            .zip(&owners)
            .map(|(&index, owner)| (request.objects[index].sha256, owner.clone()))
            .collect();
        let bytes: Vec<&[u8]> = files.iter().map(|&index| request.objects[index].bytes).collect();
        let acquired = self
            .store
            .acquire(&self.arena, &plan, &bytes, &identities, &self.shareable(&plan))
            .map_err(|error| format!("its shared objects were refused: {error}"))?;
        let region = match self.regions.lock().allocate(request.region_size) {
            Ok(region) => region,
            Err(error) => {
                self.store.release(&self.arena, acquired);
                return Err(error.to_string());
            }
        };
        if let Err(error) = self.arena.back_region(region.start, region.end) {
            self.release(region, acquired);
            return Err(format!("its region could not be backed for its process: {error}"));
        }
        let sizes: Vec<u64> = bytes.iter().map(|file| file.len() as u64).collect();
        let layout = lay_out(LayoutRequest {
            plan: &plan,
            file_sizes: &sizes,
            placements: &acquired.placements,
            region: region.clone(),
            stack_size: request.stack_size,
            slots: self.slots,
        });
        let layout = match layout {
            Ok(layout) => layout,
            Err(error) => {
                self.release(region, acquired);
                return Err(format!("its plan was refused: {error}"));
            }
        };
        if let Err(error) = self.check_limits(request, policies, layout.cls_bytes()) {
            self.release(region, acquired);
            return Err(refusal(*error));
        }
        let mut tenants = self.tenants.lock();
        let held = tenants.entry(request.tenant.to_string()).or_default();
        *held = (held.0 + 1, held.1 + request.region_size);
        drop(tenants);
        let entered = entered_functions(&plan, &layout);
        let image_sizes = plan.objects.iter().map(|object| object.image_size).collect();
        Ok(Prepared {
            files,
            owners,
            image_sizes,
            acquired,
            region,
            layout,
            entered,
            tenant: request.tenant.to_string(),
        })
    }

    /// Builds a prepared cVM in its region, hands the instance to `run`, and tears the
    /// cVM down when `run` returns; `objects` are the request's. A cVM that cannot be
    /// built is torn down and why is returned in words.
    pub fn run<R>(
        &self,
        prepared: Prepared,
        objects: &[CvmObject<'_>],
        name: &str,
        arguments: &[String],
        hostcall_entry: u64,
        run: impl FnOnce(Instance) -> R,
    ) -> Result<R, String> {
        let built = self.build(&prepared, objects, name, arguments, hostcall_entry);
        let ran = built.map(run);
        self.tear_down(prepared);
        ran
    }

    /// Builds a prepared cVM in its region (its CLS instances, private copies, stack and
    /// boot block); `objects` are the request's, not needed once it is built. A cVM
    /// that cannot be built must still be torn down ([`Cvms::tear_down`]).
    pub fn build(
        &self,
        prepared: &Prepared,
        objects: &[CvmObject<'_>],
        name: &str,
        arguments: &[String],
        hostcall_entry: u64,
    ) -> Result<Instance, String> {
        let bytes: Vec<&[u8]> = prepared.files.iter().map(|&index| objects[index].bytes).collect();
        let shared = prepared.acquired.views();
        let build = Build {
            arena_capability: self.arena_capability,
            layout: &prepared.layout,
            files: &bytes,
            shared: &shared,
            name,
            arguments,
            hostcall_entry,
            entered: &prepared.entered,
        };
        instantiate(&self.arena, build).map_err(|error| error.to_string())
    }

    /// Scrubs a prepared cVM's region and gives it back, releases its shared objects,
    /// and takes it off its tenant's count.
    pub fn tear_down(&self, prepared: Prepared) {
        let Prepared { acquired, region, tenant, .. } = prepared;
        let size = region.end - region.start;
        self.release(region, acquired);
        if let Some(held) = self.tenants.lock().get_mut(&tenant) {
            *held = (held.0.saturating_sub(1), held.1.saturating_sub(size));
        }
    }

    fn release(&self, region: Range<u64>, acquired: Acquired) {
        match self.arena.scrub(region.start, region.end) {
            Ok(()) => self.regions.lock().release(region),
            // A region that could not be scrubbed is never handed out again.
            Err(error) => log::error!("the region {region:#x?} is kept out of use: {error}"),
        }
        self.store.release(&self.arena, acquired);
    }

    /// Checks a cVM against its tenant's limits, counting the cVMs prepared and not yet
    /// torn down.
    fn check_limits(
        &self,
        request: &CvmRequest<'_>,
        policies: &PolicySet,
        cls_bytes: u64,
    ) -> Result<(), alloc::boxed::Box<policy::Refusal>> {
        let (cvms, memory) = self.tenants.lock().get(request.tenant).copied().unwrap_or_default();
        let usage = Usage {
            cvms: cvms + 1,
            memory_per_cvm: request.region_size,
            memory_total: memory + request.region_size,
            cls_bytes,
            grants: request.grants,
        };
        policies.check_limits(request.tenant, &usage).map_err(alloc::boxed::Box::new)
    }

    /// Which objects of a plan are shared. On Morello, hybrid cVMs' loads and branches
    /// are checked against a DDC and PCC bounded to their own region, so everything they
    /// run must be inside it: only the purecap objects they enter are shared.
    fn shareable(&self, plan: &loader::LoadPlan) -> Vec<bool> {
        let shareable = shareable_objects(plan);
        match self.code_model {
            CodeModel::Plain => shareable,
            CodeModel::MorelloHybrid => plan
                .objects
                .iter()
                .zip(shareable)
                .map(|(object, shareable)| object.purecap && shareable)
                .collect(),
        }
    }
}
