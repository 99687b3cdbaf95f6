//! Verifying a loader's plan against a cVM's region, and laying the region out.
//!
//! The loader is untrusted, so nothing in its [`LoadPlan`] is used before it is checked
//! here: every segment lies inside its object's image and its bytes inside its file;
//! no page ends up both writable and executable; every relocation site lies in a
//! writable segment of its object and every value it writes points into an object of
//! the plan; the entry point lies in executable code. The result is a [`Layout`] of
//! absolute addresses, which the platform applies as it is.
//!
//! Each object is either private (its image is copied into the region) or shared (one
//! copy, already loaded by the object store, see [`lay_out_shared`]). A shared object
//! with compartment-local storage gets an instance of its templates in the region,
//! and the region's table says where (`abi::ClsTable`).
//!
//! A region holds, from its base: the private images (each at an address aligned as
//! its segments ask), the CLS instances, the CLS table, a guard page, the heap, a guard
//! page, and the stack at the top.

mod error;
mod initializers;
mod thread_local;

use alloc::vec::Vec;
use core::ops::Range;

use abi::{ClsSlot, ClsTable};
use loader::{LoadPlan, RelocationValue};

use crate::guest::{Mapping, Protection};
use crate::region::PAGE_SIZE;
use crate::sharing::{rebase, stored_template_bytes, template_span, Instance};

pub use error::LayoutError;

/// The smallest heap a cVM is given.
pub const MINIMUM_HEAP: u64 = 64 * 1024;

/// A 64-bit little-endian write: (address, value).
pub type Write = (u64, u64);

/// Bytes of one object's file to copy into the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copy {
    /// Index of the object (and of its file).
    pub object: usize,
    /// Offset in the file.
    pub file_offset: u64,
    /// Number of bytes.
    pub length: u64,
    /// Destination address.
    pub address: u64,
}

/// Where an object of a plan lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Copied into this cVM's region.
    Private,
    /// Shared: one copy, loaded by the object store at `base`.
    Shared {
        /// The address of its image.
        base: u64,
    },
}

/// How template addresses map to slots of the CLS table (`abi::ClsTable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotGeometry {
    /// First address of slot 0.
    pub base: u64,
    /// log2 of the slot size.
    pub shift: u32,
    /// Number of slots.
    pub count: u64,
}

/// What to lay out.
#[derive(Debug, Clone)]
pub struct LayoutRequest<'a> {
    /// The loader's plan.
    pub plan: &'a LoadPlan,
    /// The size of each object's file, by plan index.
    pub file_sizes: &'a [u64],
    /// Where each object lives, by plan index.
    pub placements: &'a [Placement],
    /// The cVM's region.
    pub region: Range<u64>,
    /// The stack size.
    pub stack_size: u64,
    /// The CLS slots.
    pub slots: SlotGeometry,
}

/// The verified plan, in absolute addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The region.
    pub region: Range<u64>,
    /// Where each object's image starts, by plan index.
    pub object_bases: Vec<u64>,
    /// Page ranges of the private images, writable while the plan is applied.
    pub images: Vec<Range<u64>>,
    /// Bytes of private objects' files to copy.
    pub copies: Vec<Copy>,
    /// 64-bit little-endian writes into private images: (address, value).
    pub relocations: Vec<(u64, u64)>,
    /// The CLS instances of shared objects.
    pub instances: Vec<Instance>,
    /// 64-bit writes into the instances after they are filled from their templates:
    /// pointers into templates, rebased onto this cVM's instances.
    pub instance_writes: Vec<(u64, u64)>,
    /// Where the CLS table is.
    pub cls_table: u64,
    /// The table's head and slots.
    pub cls_table_contents: (ClsTable, Vec<ClsSlot>),
    /// Final page protections of the region (the rest is inaccessible).
    pub mappings: Vec<Mapping>,
    /// The heap.
    pub heap: Range<u64>,
    /// The stack.
    pub stack: Range<u64>,
    /// The program's entry point.
    pub entry: u64,
    /// What the libOS runs before `main`, in order (`initializers`).
    pub initializers: Vec<abi::Initializer>,
    /// What the libOS runs when `main` returns, in order.
    pub finalizers: Vec<abi::Initializer>,
    /// The static thread-local storage of every thread, in module-id order.
    pub tls_modules: Vec<abi::TlsModule>,
}

impl Layout {
    /// Bytes of the region given over to CLS instances.
    pub fn cls_bytes(&self) -> u64 {
        self.instances
            .iter()
            .map(|instance| {
                let pages = instance.pages();
                pages.end - pages.start
            })
            .sum()
    }

    /// The smallest range of the region that holds every page the cVM may execute:
    /// what a hardware PCC for its code is bounded to. Empty when nothing is executable.
    pub fn code_span(&self) -> Range<u64> {
        let executable = self
            .mappings
            .iter()
            .filter(|mapping| mapping.protection == Protection::ReadExecute)
            .filter(|mapping| mapping.start >= self.region.start && mapping.end <= self.region.end);
        executable.fold(self.region.start..self.region.start, |span, mapping| {
            if span.is_empty() {
                mapping.start..mapping.end
            } else {
                span.start.min(mapping.start)..span.end.max(mapping.end)
            }
        })
    }

    /// Bytes of private images.
    pub fn private_image_bytes(&self) -> u64 {
        self.images.iter().map(|image| image.end - image.start).sum()
    }
}

/// Checks that every shared object's image lies inside the address space from its base:
/// pointers into it (relocations, templates) are its base plus an offset in the image.
fn check_shared_images(plan: &LoadPlan, placements: &[Placement]) -> Result<(), LayoutError> {
    for (object, (planned, placement)) in plan.objects.iter().zip(placements).enumerate() {
        let Placement::Shared { base } = *placement else { continue };
        let size = page_up(planned.image_size).unwrap_or(u64::MAX);
        if base.checked_add(size).is_none() {
            return Err(LayoutError::ImageOutsideAddressSpace { object, base, size });
        }
    }
    Ok(())
}

fn page_down(value: u64) -> u64 {
    value & !(PAGE_SIZE - 1)
}

fn page_up(value: u64) -> Option<u64> {
    value.checked_next_multiple_of(PAGE_SIZE)
}

/// Verifies a plan and lays a cVM's region out for it.
pub fn lay_out(request: LayoutRequest<'_>) -> Result<Layout, LayoutError> {
    let LayoutRequest { plan, file_sizes, placements, region, stack_size, slots } = request;
    if plan.objects.is_empty() {
        return Err(LayoutError::Empty);
    }
    if plan.objects.len() != file_sizes.len() || plan.objects.len() != placements.len() {
        return Err(LayoutError::ObjectCount { planned: plan.objects.len(), given: file_sizes.len() });
    }
    check_shared_images(plan, placements)?;
    let available = region.end - region.start;
    let too_small = || LayoutError::RegionTooSmall { needed: u64::MAX, available };
    let mut cursor = region.start;
    let mut object_bases = Vec::with_capacity(plan.objects.len());
    let mut images = Vec::new();
    let mut copies = Vec::new();
    let mut mappings = Vec::new();
    for (index, object) in plan.objects.iter().enumerate() {
        if let Placement::Shared { base } = placements[index] {
            object_bases.push(base);
            continue;
        }
        let alignment = object_alignment(object);
        let base = cursor.checked_next_multiple_of(alignment).ok_or_else(too_small)?;
        let image_end =
            page_up(object.image_size).and_then(|size| base.checked_add(size)).ok_or_else(too_small)?;
        if image_end > region.end {
            return Err(LayoutError::RegionTooSmall { needed: image_end - region.start, available });
        }
        object_bases.push(base);
        images.push(base..image_end);
        mappings.extend(object_mappings(index, object, file_sizes[index], base, &mut copies)?);
        cursor = image_end;
    }
    let entry = entry_address(plan, object_bases[0])?;

    // Instances of shared objects' templates, then the table.
    let mut instances = Vec::new();
    for (index, object) in plan.objects.iter().enumerate() {
        let (Placement::Shared { base }, Some(span)) = (placements[index], template_span(object)) else {
            continue;
        };
        if span.end > object.image_size {
            return Err(LayoutError::SegmentOutsideImage { object: index, offset: span.start });
        }
        // The copy keeps the templates' offset within a page, and so their alignment.
        let offset = (base + span.start) % PAGE_SIZE;
        let size = page_up(offset + (span.end - span.start)).ok_or_else(too_small)?;
        let end = cursor.checked_add(size).ok_or_else(too_small)?;
        instances.push(Instance {
            object: index,
            template: base + span.start..base + span.end,
            address: cursor + offset,
            stored: stored_template_bytes(object, &span),
        });
        mappings.push(Mapping { start: cursor, end, protection: Protection::ReadWrite });
        cursor = end;
    }
    let (relocations, instance_writes) = relocation_writes(plan, placements, &object_bases, &instances)?;
    let cls_table = cursor;
    let cls_table_contents = table_contents(cls_table, slots, &instances)?;
    let table_bytes = (core::mem::size_of::<ClsTable>()
        + cls_table_contents.1.len() * core::mem::size_of::<ClsSlot>()) as u64;
    let table_end = page_up(table_bytes).and_then(|size| cursor.checked_add(size)).ok_or_else(too_small)?;
    mappings.push(Mapping { start: cls_table, end: table_end, protection: Protection::Read });

    // Guard page, heap, guard page, stack.
    let stack_size = page_up(stack_size).unwrap_or(u64::MAX);
    let needed = (table_end - region.start)
        .saturating_add(MINIMUM_HEAP)
        .saturating_add(2 * PAGE_SIZE)
        .saturating_add(stack_size);
    if needed > available {
        return Err(LayoutError::RegionTooSmall { needed, available });
    }
    let stack = region.end - stack_size..region.end;
    let heap = table_end + PAGE_SIZE..stack.start - PAGE_SIZE;
    mappings.push(Mapping { start: heap.start, end: heap.end, protection: Protection::ReadWrite });
    mappings.push(Mapping { start: stack.start, end: stack.end, protection: Protection::ReadWrite });
    mappings.sort_by_key(|mapping| mapping.start);
    let (initializers, finalizers) = initializers::routines(plan, &object_bases);
    let tls_modules = thread_local::modules(plan, &object_bases)?;
    Ok(Layout {
        region,
        object_bases,
        images,
        copies,
        relocations,
        instances,
        instance_writes,
        cls_table,
        cls_table_contents,
        mappings,
        heap,
        stack,
        entry,
        initializers,
        finalizers,
        tls_modules,
    })
}

/// The alignment an object's image needs: its largest segment alignment, at least a page.
pub fn object_alignment(object: &loader::PlannedObject) -> u64 {
    object
        .segments
        .iter()
        .map(|segment| segment.alignment.max(PAGE_SIZE))
        .filter(|alignment| alignment.is_power_of_two())
        .max()
        .unwrap_or(PAGE_SIZE)
}

/// The one copy of a shared object, as the object store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedImage {
    /// The image's pages.
    pub image: Range<u64>,
    /// Bytes of the file to copy.
    pub copies: Vec<Copy>,
    /// 64-bit writes: (address, value).
    pub relocations: Vec<(u64, u64)>,
    /// Final protections: code read+execute, everything else read-only.
    pub mappings: Vec<Mapping>,
}

/// Verifies object `index` of `plan` for sharing at the base `placements` gives it:
/// every pointer it holds must point into a shared object.
pub fn lay_out_shared(
    plan: &LoadPlan,
    index: usize,
    file_size: u64,
    placements: &[Placement],
) -> Result<SharedImage, LayoutError> {
    let object = plan.objects.get(index).ok_or(LayoutError::Empty)?;
    let Some(Placement::Shared { base }) = placements.get(index).copied() else {
        return Err(LayoutError::ObjectCount { planned: plan.objects.len(), given: placements.len() });
    };
    check_shared_images(plan, placements)?;
    let mut copies = Vec::new();
    let mut mappings = object_mappings(index, object, file_size, base, &mut copies)?;
    for mapping in &mut mappings {
        if mapping.protection == Protection::ReadWrite {
            mapping.protection = Protection::Read;
        }
    }
    let bases: Vec<Option<u64>> = placements
        .iter()
        .map(|placement| match placement {
            Placement::Shared { base } => Some(*base),
            Placement::Private => None,
        })
        .collect();
    let mut relocations = Vec::new();
    for relocation in plan.relocations.iter().filter(|relocation| relocation.object == index) {
        let value = match relocation.value {
            RelocationValue::Absolute(value) => value,
            RelocationValue::ImageRelative { object: target, offset } => {
                let target_base = bases
                    .get(target)
                    .copied()
                    .flatten()
                    .ok_or(LayoutError::SharedPointsToPrivate { object: index, site: relocation.site })?;
                check_target(plan, relocation.object, relocation.site, target, offset)?;
                target_base + offset
            }
            // Capability relocations are applied by the Morello platform.
            RelocationValue::Capability(_) => {
                return Err(LayoutError::RelocationTarget { object: index, site: relocation.site })
            }
        };
        check_site(plan, relocation.object, relocation.site)?;
        relocations.push((base + relocation.site, value));
    }
    let image = base..page_up(object.image_size).map_or(base, |size| base + size);
    Ok(SharedImage { image, copies, relocations, mappings })
}

/// The page mappings of one object's segments, with RELRO made read-only, and the
/// copies that fill them.
fn object_mappings(
    index: usize,
    object: &loader::PlannedObject,
    file_size: u64,
    base: u64,
    copies: &mut Vec<Copy>,
) -> Result<Vec<Mapping>, LayoutError> {
    // The image size comes from the object: nothing here is sized by it. Protections
    // are computed per interval between page-aligned segment and RELRO boundaries, so
    // the cost follows the number of segments, never the size an object claims.
    let image_end =
        page_up(object.image_size).ok_or(LayoutError::SegmentOutsideImage { object: index, offset: 0 })?;
    // Every address below is `base` plus an offset inside the image: checked once here.
    if base.checked_add(image_end).is_none() {
        return Err(LayoutError::ImageOutsideAddressSpace { object: index, base, size: image_end });
    }
    let mut spans = Vec::with_capacity(object.segments.len());
    for segment in &object.segments {
        let outside = LayoutError::SegmentOutsideImage { object: index, offset: segment.image_offset };
        let end = segment.image_offset.checked_add(segment.memory_size).ok_or(outside.clone())?;
        if end > object.image_size {
            return Err(outside);
        }
        let file_end = segment.file_offset.checked_add(segment.file_size);
        if file_end.is_none_or(|file_end| file_end > file_size) || segment.file_size > segment.memory_size {
            return Err(LayoutError::SegmentOutsideFile { object: index, offset: segment.image_offset });
        }
        if segment.memory_size == 0 {
            continue;
        }
        let span_end = page_up(end).ok_or(outside)?.min(image_end);
        spans.push((page_down(segment.image_offset), span_end, segment.permissions));
        if segment.file_size > 0 {
            copies.push(Copy {
                object: index,
                file_offset: segment.file_offset,
                length: segment.file_size,
                address: base + segment.image_offset,
            });
        }
    }
    // Only whole pages inside the RELRO range become read-only.
    let read_only = match object.relro {
        Some((offset, size)) => {
            let end = offset.checked_add(size).filter(|&end| end <= image_end);
            let Some(end) = end else { return Err(LayoutError::Relro { object: index }) };
            let first = page_up(offset).ok_or(LayoutError::Relro { object: index })?;
            first..page_down(end).max(first)
        }
        None => 0..0,
    };
    let mut boundaries: Vec<u64> = Vec::with_capacity(spans.len() * 2 + 4);
    boundaries.extend([0, image_end, read_only.start.min(image_end), read_only.end.min(image_end)]);
    for &(start, end, _) in &spans {
        boundaries.extend([start, end]);
    }
    boundaries.sort_unstable();
    boundaries.dedup();
    let mut mappings: Vec<Mapping> = Vec::new();
    for pair in boundaries.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let (mut read, mut write, mut execute) = (false, false, false);
        for &(span_start, span_end, permissions) in &spans {
            if span_start <= start && end <= span_end {
                read |= permissions.read;
                write |= permissions.write;
                execute |= permissions.execute;
            }
        }
        if read_only.start <= start && end <= read_only.end {
            write = false;
        }
        let protection = match (read || write || execute, write, execute) {
            (false, _, _) => Protection::None,
            (true, true, true) => {
                return Err(LayoutError::WritableAndExecutable { object: index, offset: start })
            }
            (true, true, false) => Protection::ReadWrite,
            (true, false, true) => Protection::ReadExecute,
            (true, false, false) => Protection::Read,
        };
        let (start, end) = (base + start, base + end);
        match mappings.last_mut() {
            Some(last) if last.protection == protection && last.end == start => last.end = end,
            _ => mappings.push(Mapping { start, end, protection }),
        }
    }
    mappings.retain(|mapping| mapping.protection != Protection::None);
    Ok(mappings)
}

/// Checks that a relocation site is 8 bytes inside a writable segment of its object.
fn check_site(plan: &LoadPlan, object: usize, site: u64) -> Result<(), LayoutError> {
    let bad_site = LayoutError::RelocationSite { object, site };
    let planned = plan.objects.get(object).ok_or(bad_site.clone())?;
    let site_end = site.checked_add(8).ok_or(bad_site.clone())?;
    let in_writable_segment = planned.segments.iter().any(|segment| {
        segment.permissions.write
            && site >= segment.image_offset
            && site_end <= segment.image_offset.saturating_add(segment.memory_size)
    });
    if in_writable_segment {
        Ok(())
    } else {
        Err(bad_site)
    }
}

/// Checks that a relocation's target lies inside an object of the plan.
fn check_target(
    plan: &LoadPlan,
    object: usize,
    site: u64,
    target: usize,
    offset: u64,
) -> Result<(), LayoutError> {
    match plan.objects.get(target) {
        Some(target_object) if offset <= target_object.image_size => Ok(()),
        _ => Err(LayoutError::RelocationTarget { object, site }),
    }
}

/// Checks every relocation and resolves it: writes into private images, and writes
/// into the CLS instances of shared objects (pointers into templates rebased).
fn relocation_writes(
    plan: &LoadPlan,
    placements: &[Placement],
    object_bases: &[u64],
    instances: &[Instance],
) -> Result<(Vec<Write>, Vec<Write>), LayoutError> {
    let mut private = Vec::new();
    let mut instance_writes = Vec::new();
    for relocation in &plan.relocations {
        check_site(plan, relocation.object, relocation.site)?;
        let value = match relocation.value {
            RelocationValue::Absolute(value) => value,
            RelocationValue::ImageRelative { object: target, offset } => {
                check_target(plan, relocation.object, relocation.site, target, offset)?;
                object_bases[target] + offset
            }
            // Capability relocations are applied by the Morello platform.
            RelocationValue::Capability(_) => {
                return Err(LayoutError::RelocationTarget {
                    object: relocation.object,
                    site: relocation.site,
                })
            }
        };
        let site = object_bases[relocation.object] + relocation.site;
        let in_templates = template_span(&plan.objects[relocation.object])
            .is_some_and(|span| span.contains(&relocation.site));
        match placements[relocation.object] {
            // A private object's templates are used in place; pointers in them to shared
            // templates go to this cVM's instances.
            Placement::Private if in_templates => private.push((site, rebase(value, instances))),
            Placement::Private => private.push((site, value)),
            Placement::Shared { .. } if in_templates => {
                let instance = instances.iter().find(|instance| instance.object == relocation.object);
                if let Some(instance) = instance {
                    instance_writes
                        .push((site - instance.template.start + instance.address, rebase(value, instances)));
                }
            }
            // Applied once, to the shared copy, by the object store.
            Placement::Shared { .. } => {}
        }
    }
    Ok((private, instance_writes))
}

/// The CLS table: for every slot a shared object's templates overlap, where they are
/// and how far away this cVM's copy is.
fn table_contents(
    address: u64,
    slots: SlotGeometry,
    instances: &[Instance],
) -> Result<(ClsTable, Vec<ClsSlot>), LayoutError> {
    let mut entries = alloc::vec![ClsSlot::default(); slots.count as usize];
    for instance in instances {
        let first = instance.template.start.wrapping_sub(slots.base) >> slots.shift;
        let last = (instance.template.end - 1).wrapping_sub(slots.base) >> slots.shift;
        for slot in first..=last {
            let entry = entries
                .get_mut(slot as usize)
                .ok_or(LayoutError::SlotConflict { object: instance.object })?;
            if entry.template_size != 0 {
                return Err(LayoutError::SlotConflict { object: instance.object });
            }
            *entry = ClsSlot {
                template_start: instance.template.start,
                template_size: instance.template.end - instance.template.start,
                instance_delta: instance.address.wrapping_sub(instance.template.start),
            };
        }
    }
    let head = ClsTable {
        self_address: address,
        slot_base: slots.base,
        slot_shift: u64::from(slots.shift),
        slot_count: slots.count,
    };
    Ok((head, entries))
}

fn entry_address(plan: &LoadPlan, program_base: u64) -> Result<u64, LayoutError> {
    let program = &plan.objects[0];
    let executable = program.segments.iter().any(|segment| {
        segment.permissions.execute
            && plan.entry >= segment.image_offset
            && plan.entry < segment.image_offset.saturating_add(segment.memory_size)
    });
    if executable {
        Ok(program_base + plan.entry)
    } else {
        Err(LayoutError::Entry { offset: plan.entry })
    }
}
