//! The ORC object store: each shareable object loaded once, shared by every cVM whose
//! plan names it, unmapped when its last user is torn down.
//!
//! Objects are keyed by the SHA-256 of their file, the tenant whose copy it is (its
//! owner: the cVM's own tenant, or a publisher that shares it with that tenant, as the
//! policies decide), and how it and every object its relocations reach are linked (the
//! same bytes linked against different copies are different copies, however deep the
//! difference lies). A new object is placed at the start of its own slot(s) of the
//! arena's shared area (so that `__cls_get_addr` finds its templates with one shift),
//! copied, relocated once, and made read-only (code read+execute) before any cVM that
//! uses it runs. Its compartment-local storage templates stay pristine there; every cVM gets an
//! instance of them in its own region (`layout`).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use loader::{CapabilityTarget, LoadPlan, RelocationValue, RelocationWrite};
use sha2::Digest;
use spin::Mutex;

use crate::capability::{Cap, Permissions};
use crate::guest::{Mapping, Protection};
use crate::layout::{lay_out_shared, object_alignment, Placement};
use crate::memory::RegionMemory;
use crate::region::RegionAllocator;

/// Identity of a shared copy: the object's digest and owner (the tenant whose copy it
/// is), and the digests of how it and every object it reaches through its relocations
/// are linked ([`keys`]).
type StoreKey = (([u8; 32], String), Vec<[u8; 32]>);

/// One shared copy of an object.
#[derive(Debug)]
pub struct SharedObject {
    key: StoreKey,
    /// An identifier unique among the copies this store ever loaded.
    pub id: u64,
    /// The object's file name (the first one it was loaded under).
    pub name: String,
    /// Its image.
    pub image: Range<u64>,
    /// The slots it occupies in the shared area.
    slots: Range<u64>,
    /// Its pages' protections.
    pub mappings: Vec<Mapping>,
    /// A read-only capability for the image, for hostcall checks.
    pub capability: Cap,
}

/// Why a plan's shared objects could not be had.
#[derive(Debug)]
pub enum StoreError {
    /// The plan itself is wrong for sharing.
    Plan {
        /// The object.
        object: String,
        /// What is wrong.
        reason: String,
    },
    /// The shared area is full.
    NoRoom {
        /// The object.
        object: String,
        /// Its image size.
        size: u64,
        /// The allocator's words.
        reason: String,
    },
    /// Mapping the object failed.
    Map {
        /// The object.
        object: String,
        /// What failed.
        reason: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plan { object, reason } => {
                write!(formatter, "object `{object}` cannot be shared: {reason}")
            }
            Self::NoRoom { object, size, reason } => {
                write!(formatter, "no room in the shared area for `{object}` ({size:#x} bytes): {reason}")
            }
            Self::Map { object, reason } => write!(formatter, "cannot map `{object}`: {reason}"),
        }
    }
}

#[derive(Debug)]
struct State {
    area: RegionAllocator,
    objects: BTreeMap<StoreKey, Arc<SharedObject>>,
    loaded: u64,
}

/// A new object's place in the shared area.
#[derive(Debug)]
struct Placed {
    index: usize,
    slots: Range<u64>,
    key: StoreKey,
    id: u64,
}

/// The store.
#[derive(Debug)]
pub struct ObjectStore {
    state: Mutex<State>,
    slot_size: u64,
    area_capability: Cap,
}

/// What one cVM holds of the store.
#[derive(Debug, Default)]
pub struct Acquired {
    /// Where each object of the plan lives.
    pub placements: Vec<Placement>,
    /// The shared copies, by plan index (`None` for private objects).
    pub shared: Vec<Option<Arc<SharedObject>>>,
    /// Plan indices of shared copies this acquisition loaded (the others were reused).
    pub loaded: Vec<usize>,
}

impl Acquired {
    /// What the cVM gets of each shared copy it holds: a read capability and the pages'
    /// protections, for the hostcall checks.
    pub fn views(&self) -> Vec<crate::instance::SharedView<'_>> {
        self.shared
            .iter()
            .flatten()
            .map(|object| crate::instance::SharedView {
                mappings: &object.mappings,
                capability: object.capability,
            })
            .collect()
    }
}

impl ObjectStore {
    /// A store over the shared `area` of the arena, placing objects at multiples of
    /// `slot_size`; `area_capability` bounds the area.
    pub fn new(area: Range<u64>, slot_size: u64, area_capability: Cap) -> Self {
        Self {
            state: Mutex::new(State {
                area: RegionAllocator::new(area),
                objects: BTreeMap::new(),
                loaded: 0,
            }),
            slot_size,
            area_capability,
        }
    }

    /// Finds or loads the shared copy of every object `shareable` marks; `owners` names,
    /// by plan index, the tenant whose copy each object must be.
    pub fn acquire(
        &self,
        arena: &impl RegionMemory,
        plan: &LoadPlan,
        files: &[&[u8]],
        identities: &[([u8; 32], String)],
        shareable: &[bool],
    ) -> Result<Acquired, StoreError> {
        let mut state = self.state.lock();
        let keys = keys(plan, identities);
        let mut acquired = Acquired {
            placements: vec![Placement::Private; plan.objects.len()],
            shared: vec![None; plan.objects.len()],
            loaded: Vec::new(),
        };
        // Place every object first, so relocations can point at the new ones too.
        let mut new = Vec::new();
        for index in (0..plan.objects.len()).filter(|&index| shareable[index]) {
            if let Some(object) = state.objects.get(&keys[index]) {
                acquired.placements[index] = Placement::Shared { base: object.image.start };
                acquired.shared[index] = Some(Arc::clone(object));
                continue;
            }
            let object = &plan.objects[index];
            let size = object.image_size.next_multiple_of(self.slot_size).max(self.slot_size);
            let alignment = self.slot_size.max(object_alignment(object));
            match state.area.allocate_aligned(size, alignment) {
                Ok(slots) => {
                    acquired.placements[index] = Placement::Shared { base: slots.start };
                    new.push((index, slots));
                }
                Err(error) => {
                    self.release_slots(&mut state, arena, &new);
                    return Err(StoreError::NoRoom {
                        object: object.name.clone(),
                        size,
                        reason: error.to_string(),
                    });
                }
            }
        }
        for (position, (index, slots)) in new.iter().enumerate() {
            state.loaded += 1;
            let placed =
                Placed { index: *index, slots: slots.clone(), key: keys[*index].clone(), id: state.loaded };
            match self.load(arena, plan, files, &acquired.placements, placed) {
                Ok(object) => {
                    let object = Arc::new(object);
                    state.objects.insert(keys[*index].clone(), Arc::clone(&object));
                    acquired.shared[*index] = Some(object);
                    acquired.loaded.push(*index);
                }
                Err(error) => {
                    for (index, _) in &new[..position] {
                        state.objects.remove(&keys[*index]);
                    }
                    self.release_slots(&mut state, arena, &new);
                    return Err(error);
                }
            }
        }
        Ok(acquired)
    }

    /// Copies, relocates and protects a newly placed object.
    fn load(
        &self,
        arena: &impl RegionMemory,
        plan: &LoadPlan,
        files: &[&[u8]],
        placements: &[Placement],
        placed: Placed,
    ) -> Result<SharedObject, StoreError> {
        let Placed { index, slots, key, id } = placed;
        let name = plan.objects[index].name.clone();
        let image = lay_out_shared(plan, index, files[index].len() as u64, placements)
            .map_err(|error| StoreError::Plan { object: name.clone(), reason: error.to_string() })?;
        let map_error =
            |error: &dyn fmt::Display| StoreError::Map { object: name.clone(), reason: error.to_string() };
        arena
            .protect(image.image.start, image.image.end, Protection::ReadWrite)
            .map_err(|error| map_error(&error))?;
        for pages in written_pages(&image) {
            arena.take_room(pages.start, pages.end).map_err(|error| map_error(&error))?;
        }
        // The image's pages were just handed out (zero): zero pages of the file (a
        // `.cls.bss` template, say) are left out and never become resident.
        for copy in &image.copies {
            let start = copy.file_offset as usize;
            arena
                .write_nonzero(copy.address, &files[index][start..start + copy.length as usize])
                .map_err(|error| map_error(&error))?;
        }
        for &(address, value) in &image.relocations {
            arena.write(address, &value.to_le_bytes()).map_err(|error| map_error(&error))?;
        }
        arena
            .protect(image.image.start, image.image.end, Protection::None)
            .map_err(|error| map_error(&error))?;
        for mapping in &image.mappings {
            arena
                .protect(mapping.start, mapping.end, mapping.protection)
                .map_err(|error| map_error(&error))?;
        }
        arena.drop_view(image.image.start, image.image.end).map_err(|error| map_error(&error))?;
        let capability = self
            .area_capability
            .set_value(image.image.start)
            .set_bounds_rounded(image.image.end - image.image.start)
            .clear_permissions(Permissions::ALL.difference(Permissions::LOAD.union(Permissions::EXECUTE)));
        log::debug!("loaded shared object `{name}` at {:#x}..{:#x}", image.image.start, image.image.end);
        Ok(SharedObject { key, id, name, image: image.image, slots, mappings: image.mappings, capability })
    }

    fn release_slots(&self, state: &mut State, arena: &impl RegionMemory, slots: &[(usize, Range<u64>)]) {
        for (_, range) in slots {
            match arena.scrub(range.start, range.end) {
                Ok(()) => state.area.release(range.clone()),
                Err(error) => log::error!("shared slots {range:?} are kept out of use: {error}"),
            }
        }
    }

    /// Gives back what a cVM held; an object whose last user this was is unmapped.
    pub fn release(&self, arena: &impl RegionMemory, acquired: Acquired) {
        let mut state = self.state.lock();
        for object in acquired.shared.into_iter().flatten() {
            // The store holds one reference; ours is the other.
            if Arc::strong_count(&object) == 2 {
                state.objects.remove(&object.key);
                log::debug!("unloading shared object `{}`", object.name);
                let slots = object.slots.clone();
                drop(object);
                self.release_slots(&mut state, arena, &[(0, slots)]);
            }
        }
    }

    /// Shared copies loaded now.
    pub fn loaded_count(&self) -> usize {
        self.state.lock().objects.len()
    }
}

/// The identity of each object's shared copy: its digest and owner, and the bindings
/// (each a digest of its identity and relocations) of itself and of every object its relocations reach, directly or not.
/// Two copies of the same bytes linked differently anywhere below them (a library whose
/// own dependency binds a symbol to another object in another plan) are different
/// copies: a copy's pointers must lead only into copies the cVM also maps.
/// The pages of a shared image that loading writes (its file's bytes and its
/// relocations), as sorted ranges that do not touch: only these take room in the shared
/// area's file, so an object's zero-filled part (`.bss`, however large an object says it
/// is) costs no disk, as it costs no memory.
fn written_pages(image: &crate::layout::SharedImage) -> Vec<Range<u64>> {
    let page = crate::region::PAGE_SIZE;
    let mut pages: Vec<Range<u64>> = image
        .copies
        .iter()
        .map(|copy| copy.address..copy.address + copy.length)
        .chain(image.relocations.iter().map(|&(address, _)| address..address + 8))
        .filter(|range| range.start < range.end)
        .map(|range| range.start / page * page..range.end.next_multiple_of(page))
        .collect();
    pages.sort_unstable_by_key(|range| range.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(pages.len());
    for range in pages {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

fn keys(plan: &LoadPlan, identities: &[([u8; 32], String)]) -> Vec<StoreKey> {
    let count = plan.objects.len();
    // One pass over the relocations: each object's binding, and what it points into.
    let mut bindings: Vec<sha2::Sha256> = (0..count)
        .map(|index| {
            let mut binding = sha2::Sha256::new();
            hash_identity(&mut binding, identities, index);
            binding
        })
        .collect();
    let mut targets = vec![Vec::new(); count];
    for relocation in &plan.relocations {
        let Some(binding) = bindings.get_mut(relocation.object) else { continue };
        hash_relocation(binding, identities, relocation);
        let list = &mut targets[relocation.object];
        if let Some(target) = relocation.value.target_object().filter(|&target| target < count) {
            if !list.contains(&target) {
                list.push(target);
            }
        }
    }
    let bindings: Vec<[u8; 32]> = bindings.into_iter().map(|binding| binding.finalize().into()).collect();
    (0..count)
        .map(|index| {
            let mut reached = vec![false; count];
            let mut pending = vec![index];
            reached[index] = true;
            while let Some(object) = pending.pop() {
                for &target in &targets[object] {
                    if !reached[target] {
                        reached[target] = true;
                        pending.push(target);
                    }
                }
            }
            let mut digests: Vec<[u8; 32]> =
                (0..count).filter(|&object| reached[object]).map(|object| bindings[object]).collect();
            digests.sort_unstable();
            digests.dedup();
            (identities[index].clone(), digests)
        })
        .collect()
}

/// Adds object `object`'s identity (digest and owner) to a binding.
fn hash_identity(binding: &mut sha2::Sha256, identities: &[([u8; 32], String)], object: usize) {
    match identities.get(object) {
        Some((sha256, owner)) => {
            binding.update(sha256);
            binding.update((owner.len() as u64).to_le_bytes());
            binding.update(owner.as_bytes());
        }
        None => binding.update(u64::MAX.to_le_bytes()),
    }
}

/// Adds one relocation to its object's binding, its target named by identity, not by
/// plan index.
fn hash_relocation(
    binding: &mut sha2::Sha256,
    identities: &[([u8; 32], String)],
    relocation: &RelocationWrite,
) {
    binding.update(relocation.site.to_le_bytes());
    match relocation.value {
        RelocationValue::ImageRelative { object, offset } => {
            binding.update([1]);
            hash_identity(binding, identities, object);
            binding.update(offset.to_le_bytes());
        }
        RelocationValue::Absolute(value) => {
            binding.update([2]);
            binding.update(value.to_le_bytes());
        }
        RelocationValue::Capability(capability) => {
            binding.update([3]);
            match capability.target {
                CapabilityTarget::ImageRelative { object, offset } => {
                    hash_identity(binding, identities, object);
                    binding.update(offset.to_le_bytes());
                }
                CapabilityTarget::Null => binding.update([0]),
            }
            binding.update(capability.length.to_le_bytes());
            binding.update([capability.permissions as u8]);
            binding.update(capability.addend.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use loader::{LoadPlan, Machine, PlannedObject, RelocationValue, RelocationWrite};

    use super::{keys, written_pages};
    use crate::layout::{Copy, SharedImage};

    #[test]
    fn only_pages_loading_writes_take_room_and_touching_ones_are_one_range() {
        let copy = |address, length| Copy { object: 0, file_offset: 0, length, address };
        let image = SharedImage {
            // 1 GiB of zero fill after 3 pages of file bytes: none of it is written.
            image: 0x10_0000..0x10_0000 + (1 << 30),
            copies: vec![copy(0x10_0000, 0x1800), copy(0x10_2010, 0x10), copy(0x10_0000, 0)],
            relocations: vec![(0x10_1ffc, 1), (0x20_0008, 2), (0x20_0ff8, 3)],
            mappings: Vec::new(),
        };
        // The relocation at 0x10_1ffc spans two pages, which join the copies' three.
        assert_eq!(written_pages(&image), vec![0x10_0000..0x10_3000, 0x20_0000..0x20_1000]);
    }

    fn object(name: &str) -> PlannedObject {
        PlannedObject {
            name: name.into(),
            purecap: false,
            soname: None,
            image_size: 0x1000,
            segments: Vec::new(),
            relro: None,
            cls_templates: Vec::new(),
            symbols: Vec::new(),
            needed: Vec::new(),
            initializers: Default::default(),
        }
    }

    /// A program, a library pointing into a dependency, and the dependency, which
    /// points at `value` (a symbol another plan may bind elsewhere).
    fn plan(dependency_value: RelocationValue) -> LoadPlan {
        let write = |object, value| RelocationWrite { object, site: 0x800, value };
        LoadPlan {
            machine: Machine::X86_64,
            objects: vec![object("program"), object("library"), object("dependency")],
            entry: 0,
            relocations: vec![
                write(0, RelocationValue::ImageRelative { object: 1, offset: 0x10 }),
                write(1, RelocationValue::ImageRelative { object: 2, offset: 0x20 }),
                write(2, dependency_value),
            ],
            tls: Vec::new(),
        }
    }

    /// Found with a library shared by a program on the libOS and one on the C library,
    /// whose own dependency bound `memset` to a different object in each: the library's
    /// copy, keyed by its direct targets only, pointed into a copy of the dependency the
    /// second cVM did not map.
    #[test]
    fn a_copy_linked_against_a_differently_linked_dependency_is_another_copy() {
        let identities: Vec<([u8; 32], String)> =
            (0u8..3).map(|index| ([index; 32], "tenant".to_string())).collect();
        let first = keys(&plan(RelocationValue::ImageRelative { object: 0, offset: 0x30 }), &identities);
        let second = keys(&plan(RelocationValue::ImageRelative { object: 2, offset: 0x30 }), &identities);
        assert_ne!(first[2], second[2], "the dependency is linked differently");
        assert_ne!(first[1], second[1], "so the library that points into it is another copy");
        let again = keys(&plan(RelocationValue::ImageRelative { object: 0, offset: 0x30 }), &identities);
        assert_eq!(first, again, "the same plan gives the same copies");
    }
}
