//! Verifying a loader's plan against a cVM's region, and laying the region out.
//!
//! The loader is untrusted, so nothing in its [`LoadPlan`] is used before it is checked
//! here: every segment lies inside its object's image and its bytes inside its file;
//! no page ends up both writable and executable; every relocation site lies in a
//! writable segment of its object and every value it writes points into an object of
//! the plan; the entry point lies in executable code. The result is a [`Layout`] of
//! absolute addresses inside the region, which the platform applies as it is.
//!
//! A region holds, from its base: the object images (each at an address aligned as
//! its segments ask), a guard page, the heap, a guard page, and the stack at the top.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use loader::{LoadPlan, RelocationValue};

use crate::guest::{Mapping, Protection};
use crate::region::PAGE_SIZE;

/// The smallest heap a cVM is given.
pub const MINIMUM_HEAP: u64 = 64 * 1024;

/// Why a plan was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// The plan has no objects.
    Empty,
    /// The plan's object list and the object files given do not match.
    ObjectCount {
        /// Objects in the plan.
        planned: usize,
        /// Files given.
        given: usize,
    },
    /// A segment reaches past its object's image.
    SegmentOutsideImage {
        /// The object.
        object: usize,
        /// The segment's offset in the image.
        offset: u64,
    },
    /// A segment's bytes reach past the end of its file, or are more than its memory.
    SegmentOutsideFile {
        /// The object.
        object: usize,
        /// The segment's offset in the image.
        offset: u64,
    },
    /// A page would be both writable and executable.
    WritableAndExecutable {
        /// The object.
        object: usize,
        /// The page's offset in the image.
        offset: u64,
    },
    /// A relocation site is not inside a writable segment of its object.
    RelocationSite {
        /// The object.
        object: usize,
        /// The site's offset in the image.
        site: u64,
    },
    /// A relocation would write a pointer to outside every object of the plan.
    RelocationTarget {
        /// The object holding the site.
        object: usize,
        /// The site's offset in the image.
        site: u64,
    },
    /// The `PT_GNU_RELRO` range is not inside its object's image.
    Relro {
        /// The object.
        object: usize,
    },
    /// The entry point is not inside an executable segment of the program.
    Entry {
        /// The entry point's offset in the program's image.
        offset: u64,
    },
    /// The images, the minimum heap and the stack do not fit the region.
    RegionTooSmall {
        /// Bytes needed at least.
        needed: u64,
        /// The region's size.
        available: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(formatter, "the loader proposed a plan with no objects"),
            Self::ObjectCount { planned, given } => {
                write!(formatter, "the plan names {planned} objects but {given} object files were given")
            }
            Self::SegmentOutsideImage { object, offset } => {
                write!(formatter, "object {object}: the segment at image offset {offset:#x} reaches past the image")
            }
            Self::SegmentOutsideFile { object, offset } => write!(
                formatter,
                "object {object}: the bytes of the segment at image offset {offset:#x} are not inside the file"
            ),
            Self::WritableAndExecutable { object, offset } => {
                write!(formatter, "object {object}: the page at image offset {offset:#x} would be writable and executable")
            }
            Self::RelocationSite { object, site } => write!(
                formatter,
                "object {object}: relocation site at image offset {site:#x} is not inside a writable segment"
            ),
            Self::RelocationTarget { object, site } => write!(
                formatter,
                "object {object}: relocation at image offset {site:#x} points outside every object of the plan"
            ),
            Self::Relro { object } => write!(formatter, "object {object}: the RELRO range is not inside the image"),
            Self::Entry { offset } => {
                write!(formatter, "the entry point at image offset {offset:#x} is not in executable code")
            }
            Self::RegionTooSmall { needed, available } => write!(
                formatter,
                "the region of {available:#x} bytes is too small: the program, a {MINIMUM_HEAP:#x}-byte heap and the stack need {needed:#x}; raise `isolation.size`"
            ),
        }
    }
}

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

/// The verified plan, in absolute addresses inside the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The region.
    pub region: Range<u64>,
    /// Where each object's image starts, by plan index.
    pub object_bases: Vec<u64>,
    /// Page ranges of the images, writable while the plan is applied.
    pub images: Vec<Range<u64>>,
    /// Bytes to copy.
    pub copies: Vec<Copy>,
    /// 64-bit little-endian writes: (address, value).
    pub relocations: Vec<(u64, u64)>,
    /// Final page protections of the whole region (the rest is inaccessible).
    pub mappings: Vec<Mapping>,
    /// The heap.
    pub heap: Range<u64>,
    /// The stack.
    pub stack: Range<u64>,
    /// The program's entry point.
    pub entry: u64,
}

fn page_down(value: u64) -> u64 {
    value & !(PAGE_SIZE - 1)
}

fn page_up(value: u64) -> Option<u64> {
    value.checked_next_multiple_of(PAGE_SIZE)
}

/// Verifies `plan` for the object files of the given sizes (by plan index) and lays it
/// out in `region` with a stack of `stack_size` bytes.
pub fn lay_out(
    plan: &LoadPlan,
    file_sizes: &[u64],
    region: Range<u64>,
    stack_size: u64,
) -> Result<Layout, LayoutError> {
    if plan.objects.is_empty() {
        return Err(LayoutError::Empty);
    }
    if plan.objects.len() != file_sizes.len() {
        return Err(LayoutError::ObjectCount { planned: plan.objects.len(), given: file_sizes.len() });
    }
    let available = region.end - region.start;
    let mut cursor = region.start;
    let mut object_bases = Vec::with_capacity(plan.objects.len());
    let mut images = Vec::with_capacity(plan.objects.len());
    let mut copies = Vec::new();
    let mut mappings = Vec::new();
    for (index, object) in plan.objects.iter().enumerate() {
        let alignment = object
            .segments
            .iter()
            .map(|segment| segment.alignment.max(PAGE_SIZE))
            .filter(|alignment| alignment.is_power_of_two())
            .max()
            .unwrap_or(PAGE_SIZE);
        let too_small = || LayoutError::RegionTooSmall { needed: u64::MAX, available };
        let base = cursor.checked_next_multiple_of(alignment).ok_or_else(too_small)?;
        let image_size = page_up(object.image_size).ok_or_else(too_small)?;
        let image_end = base.checked_add(image_size).ok_or_else(too_small)?;
        object_bases.push(base);
        images.push(base..image_end);
        mappings.extend(object_mappings(index, object, file_sizes[index], base, &mut copies)?);
        cursor = image_end;
    }
    let images_end = cursor;
    let relocations = relocation_writes(plan, &object_bases)?;
    let entry = entry_address(plan, object_bases[0])?;

    // Guard page, heap, guard page, stack.
    let stack_size = page_up(stack_size).unwrap_or(u64::MAX);
    let needed = (images_end - region.start)
        .saturating_add(MINIMUM_HEAP)
        .saturating_add(2 * PAGE_SIZE)
        .saturating_add(stack_size);
    if needed > available {
        return Err(LayoutError::RegionTooSmall { needed, available });
    }
    let stack = region.end - stack_size..region.end;
    let heap = images_end + PAGE_SIZE..stack.start - PAGE_SIZE;
    mappings.push(Mapping { start: heap.start, end: heap.end, protection: Protection::ReadWrite });
    mappings.push(Mapping { start: stack.start, end: stack.end, protection: Protection::ReadWrite });
    mappings.sort_by_key(|mapping| mapping.start);
    Ok(Layout { region, object_bases, images, copies, relocations, mappings, heap, stack, entry })
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
    // One protection per page of the image, from the union of the segments on it.
    let pages = (page_up(object.image_size).unwrap_or(u64::MAX) / PAGE_SIZE) as usize;
    let mut page_flags: Vec<(bool, bool, bool)> = alloc::vec![(false, false, false); pages];
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
        let first = (page_down(segment.image_offset) / PAGE_SIZE) as usize;
        let last = (page_up(end).unwrap_or(u64::MAX) / PAGE_SIZE) as usize;
        for flags in &mut page_flags[first..last.min(pages)] {
            flags.0 |= segment.permissions.read;
            flags.1 |= segment.permissions.write;
            flags.2 |= segment.permissions.execute;
        }
        if segment.file_size > 0 {
            copies.push(Copy {
                object: index,
                file_offset: segment.file_offset,
                length: segment.file_size,
                address: base + segment.image_offset,
            });
        }
    }
    if let Some((offset, size)) = object.relro {
        let end = offset.checked_add(size).filter(|&end| end <= page_up(object.image_size).unwrap_or(0));
        let Some(end) = end else { return Err(LayoutError::Relro { object: index }) };
        // Only whole pages inside the RELRO range become read-only.
        let first = (page_up(offset).unwrap_or(u64::MAX) / PAGE_SIZE) as usize;
        let last = (page_down(end) / PAGE_SIZE) as usize;
        for flags in page_flags.iter_mut().take(last).skip(first) {
            flags.1 = false;
        }
    }
    let mut mappings: Vec<Mapping> = Vec::new();
    for (page, &(read, write, execute)) in page_flags.iter().enumerate() {
        let start = base + page as u64 * PAGE_SIZE;
        let protection = match (read || write || execute, write, execute) {
            (false, _, _) => Protection::None,
            (true, true, true) => {
                return Err(LayoutError::WritableAndExecutable {
                    object: index,
                    offset: page as u64 * PAGE_SIZE,
                })
            }
            (true, true, false) => Protection::ReadWrite,
            (true, false, true) => Protection::ReadExecute,
            (true, false, false) => Protection::Read,
        };
        match mappings.last_mut() {
            Some(last) if last.protection == protection && last.end == start => last.end = start + PAGE_SIZE,
            _ => mappings.push(Mapping { start, end: start + PAGE_SIZE, protection }),
        }
    }
    mappings.retain(|mapping| mapping.protection != Protection::None);
    Ok(mappings)
}

/// Checks every relocation and resolves it to an absolute write.
fn relocation_writes(plan: &LoadPlan, object_bases: &[u64]) -> Result<Vec<(u64, u64)>, LayoutError> {
    let mut writes = Vec::with_capacity(plan.relocations.len());
    for relocation in &plan.relocations {
        let bad_site = LayoutError::RelocationSite { object: relocation.object, site: relocation.site };
        let object = plan.objects.get(relocation.object).ok_or(bad_site.clone())?;
        let site_end = relocation.site.checked_add(8).ok_or(bad_site.clone())?;
        let in_writable_segment = object.segments.iter().any(|segment| {
            segment.permissions.write
                && relocation.site >= segment.image_offset
                && site_end <= segment.image_offset.saturating_add(segment.memory_size)
        });
        if !in_writable_segment {
            return Err(bad_site);
        }
        let value = match relocation.value {
            RelocationValue::Absolute(value) => value,
            RelocationValue::ImageRelative { object: target, offset } => {
                let target_object = plan.objects.get(target);
                match target_object {
                    Some(target_object) if offset <= target_object.image_size => {
                        object_bases[target] + offset
                    }
                    _ => {
                        return Err(LayoutError::RelocationTarget {
                            object: relocation.object,
                            site: relocation.site,
                        })
                    }
                }
            }
        };
        writes.push((object_bases[relocation.object] + relocation.site, value));
    }
    Ok(writes)
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
