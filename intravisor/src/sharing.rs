//! Which objects of a plan can be shared between cVMs, and how to rebase pointers into
//! compartment-local storage.
//!
//! An object is shareable (an ORC object) when one copy of it can serve every cVM
//! unchanged: every writable byte of it outside `PT_GNU_RELRO` lies in its
//! compartment-local storage templates (which each cVM gets its own copy of), and
//! every relocation in it points into shareable objects only (a shared GOT cannot hold
//! the address of one cVM's private copy). Anything else is loaded privately into each
//! cVM's region, as an ordinary program is.

use alloc::vec::Vec;
use core::ops::Range;

use loader::{LoadPlan, PlannedObject};

use crate::region::PAGE_SIZE;

/// The span of an object's templates, as image offsets, or `None` without templates.
pub fn template_span(object: &PlannedObject) -> Option<Range<u64>> {
    let start = object.cls_templates.iter().map(|&(start, _)| start).min()?;
    let end = object.cls_templates.iter().map(|&(start, size)| start.saturating_add(size)).max()?;
    Some(start..end)
}

/// True when every writable byte of `object` outside RELRO lies in its template span.
fn writable_data_is_all_templates(object: &PlannedObject) -> bool {
    let span = template_span(object).unwrap_or(0..0);
    // A shared object is read-only in every page but its code; RELRO is what the program
    // itself promises not to write after relocation.
    let relro = object.relro.map_or(0..0, |(start, size)| start..start.saturating_add(size));
    object.segments.iter().filter(|segment| segment.permissions.write && segment.memory_size > 0).all(
        |segment| {
            let mut start = segment.image_offset;
            let end = segment.image_offset.saturating_add(segment.memory_size);
            // Walk the segment from its start, skipping what RELRO and the templates cover.
            loop {
                if start >= end {
                    return true;
                }
                if relro.contains(&start) {
                    start = relro.end;
                } else if span.contains(&start) {
                    start = span.end;
                } else {
                    return false;
                }
            }
        },
    )
}

/// For each object of `plan`, whether it can be shared between cVMs.
pub fn shareable_objects(plan: &LoadPlan) -> Vec<bool> {
    let mut shareable: Vec<bool> = plan.objects.iter().map(writable_data_is_all_templates).collect();
    // An object that points into an unshareable one cannot be shared either.
    let mut changed = true;
    while changed {
        changed = false;
        for relocation in &plan.relocations {
            if let Some(target) = relocation.value.target_object() {
                let target_shareable = shareable.get(target).copied().unwrap_or(false);
                if shareable[relocation.object] && !target_shareable {
                    shareable[relocation.object] = false;
                    changed = true;
                }
            }
        }
    }
    shareable
}

/// Where one object's templates are, and where the current cVM's copy of them is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Index of the object in the plan.
    pub object: usize,
    /// The templates' address range.
    pub template: Range<u64>,
    /// Address of the cVM's copy: at the templates' offset within a page, so that every
    /// alignment up to a page that a template has holds in the copy too.
    pub address: u64,
    /// How many of the templates' first bytes the object's file holds; the rest (its
    /// NOBITS `.cls.bss`) is zero, as a fresh copy already is.
    pub stored: u64,
}

impl Instance {
    /// The pages the cVM's copy occupies.
    pub fn pages(&self) -> Range<u64> {
        let end = self.address + (self.template.end - self.template.start);
        self.address & !(PAGE_SIZE - 1)..end.next_multiple_of(PAGE_SIZE)
    }
}

/// How many of the first bytes of `object`'s template `span` its file holds: up to the
/// last file-backed byte of any segment inside the span (what lies past it is NOBITS,
/// zero).
pub fn stored_template_bytes(object: &PlannedObject, span: &Range<u64>) -> u64 {
    object
        .segments
        .iter()
        .filter(|segment| segment.image_offset < span.end)
        .map(|segment| segment.image_offset.saturating_add(segment.file_size).min(span.end))
        .filter(|&file_end| file_end > span.start)
        .map(|file_end| file_end - span.start)
        .max()
        .unwrap_or(0)
}

/// Rebases `value` onto the cVM's copies: a pointer into any template becomes the same
/// offset into the copy; anything else is returned unchanged.
pub fn rebase(value: u64, instances: &[Instance]) -> u64 {
    instances
        .iter()
        .find(|instance| instance.template.contains(&value))
        .map_or(value, |instance| value - instance.template.start + instance.address)
}
