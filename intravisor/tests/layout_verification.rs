//! The intravisor's checks of a loader's plan: each way an untrusted plan can be wrong
//! is refused before anything is applied.

use intravisor::guest::Protection;
use intravisor::layout::{
    self as layout, Layout, LayoutError, LayoutRequest, Placement, SlotGeometry, MINIMUM_HEAP,
};
use loader::{LoadPlan, Machine, Permissions, PlannedObject, RelocationValue, RelocationWrite, Segment};

const REGION: std::ops::Range<u64> = 0x4000_0000..0x4080_0000;
const STACK: u64 = 0x10_0000;

fn segment(image_offset: u64, memory_size: u64, file_offset: u64, file_size: u64, rwx: &str) -> Segment {
    Segment {
        image_offset,
        memory_size,
        file_offset,
        file_size,
        permissions: Permissions {
            read: rwx.contains('r'),
            write: rwx.contains('w'),
            execute: rwx.contains('x'),
        },
        alignment: 0x1000,
    }
}

/// A program with code at 0x1000 and data at 0x2000, relocating one pointer.
fn good_plan() -> LoadPlan {
    LoadPlan {
        machine: Machine::X86_64,
        objects: vec![PlannedObject {
            name: "program".into(),
            purecap: false,
            soname: None,
            image_size: 0x3000,
            segments: vec![
                segment(0, 0x800, 0, 0x800, "r"),
                segment(0x1000, 0x500, 0x1000, 0x500, "rx"),
                segment(0x2000, 0x900, 0x2000, 0x100, "rw"),
            ],
            relro: None,
            cls_templates: vec![],
            symbols: vec![],
            needed: vec![],
        }],
        entry: 0x1010,
        relocations: vec![RelocationWrite {
            object: 0,
            site: 0x2008,
            value: RelocationValue::ImageRelative { object: 0, offset: 0x1010 },
        }],
    }
}

const SLOTS: SlotGeometry = SlotGeometry { base: 0, shift: 30, count: 4 };

/// Lays `plan` out with every object private.
fn lay_out(
    plan: &LoadPlan,
    file_sizes: &[u64],
    region: std::ops::Range<u64>,
    stack_size: u64,
) -> Result<Layout, LayoutError> {
    let placements = vec![Placement::Private; plan.objects.len()];
    layout::lay_out(LayoutRequest {
        plan,
        file_sizes,
        placements: &placements,
        region,
        stack_size,
        slots: SLOTS,
    })
}

fn refused(plan: &LoadPlan) -> LayoutError {
    lay_out(plan, &[0x3000], REGION, STACK).unwrap_err()
}

#[test]
fn a_good_plan_is_laid_out_in_the_region() {
    let layout = lay_out(&good_plan(), &[0x3000], REGION, STACK).unwrap();
    let base = layout.object_bases[0];
    assert_eq!(base, REGION.start);
    assert_eq!(layout.entry, base + 0x1010);
    assert_eq!(layout.relocations, [(base + 0x2008, base + 0x1010)]);
    assert_eq!(layout.stack, REGION.end - STACK..REGION.end);
    assert_eq!(layout.cls_table, base + 0x3000, "the CLS table follows the images");
    assert_eq!(layout.heap, base + 0x5000..REGION.end - STACK - 0x1000, "guard pages around the heap");
    let protections: Vec<_> =
        layout.mappings.iter().map(|mapping| (mapping.start - base, mapping.protection)).collect();
    assert_eq!(
        protections[..3],
        [(0, Protection::Read), (0x1000, Protection::ReadExecute), (0x2000, Protection::ReadWrite)]
    );
    assert_eq!(layout.copies.len(), 3);
    assert_eq!(layout.code_span(), base + 0x1000..base + 0x2000, "the PCC covers the code page alone");
}

#[test]
fn the_code_span_covers_every_private_object_and_nothing_after() {
    let mut plan = good_plan();
    let mut library = plan.objects[0].clone();
    library.name = "library".into();
    plan.objects.push(library);
    let layout = lay_out(&plan, &[0x3000, 0x3000], REGION, STACK).unwrap();
    let [first, second] = [layout.object_bases[0], layout.object_bases[1]];
    assert!(second > first);
    assert_eq!(layout.code_span(), first + 0x1000..second + 0x2000);
    assert!(layout.code_span().end <= layout.cls_table, "no table, heap or stack in the span");
}

#[test]
fn a_segment_past_its_image_is_refused() {
    let mut plan = good_plan();
    plan.objects[0].segments[2].memory_size = 0x2000;
    assert_eq!(refused(&plan), LayoutError::SegmentOutsideImage { object: 0, offset: 0x2000 });
}

#[test]
fn bytes_past_the_file_are_refused() {
    let mut plan = good_plan();
    plan.objects[0].segments[1].file_offset = 0x2f00;
    assert_eq!(refused(&plan), LayoutError::SegmentOutsideFile { object: 0, offset: 0x1000 });
    let mut plan = good_plan();
    plan.objects[0].segments[2].file_size = 0xa00;
    assert_eq!(refused(&plan), LayoutError::SegmentOutsideFile { object: 0, offset: 0x2000 });
}

#[test]
fn a_page_both_writable_and_executable_is_refused() {
    let mut plan = good_plan();
    plan.objects[0].segments[2].permissions.execute = true;
    assert_eq!(refused(&plan), LayoutError::WritableAndExecutable { object: 0, offset: 0x2000 });
    // Two segments that share a page, one writable and one executable.
    let mut plan = good_plan();
    plan.objects[0].segments[2].image_offset = 0x1800;
    assert_eq!(refused(&plan), LayoutError::WritableAndExecutable { object: 0, offset: 0x1000 });
}

#[test]
fn a_relocation_outside_writable_memory_is_refused() {
    let mut plan = good_plan();
    plan.relocations[0].site = 0x1008;
    assert_eq!(refused(&plan), LayoutError::RelocationSite { object: 0, site: 0x1008 });
    let mut plan = good_plan();
    plan.relocations[0].site = 0x28fc;
    assert_eq!(refused(&plan), LayoutError::RelocationSite { object: 0, site: 0x28fc }, "straddles the end");
    let mut plan = good_plan();
    plan.relocations[0].object = 3;
    assert_eq!(refused(&plan), LayoutError::RelocationSite { object: 3, site: 0x2008 });
}

#[test]
fn a_relocation_pointing_outside_the_objects_is_refused() {
    let mut plan = good_plan();
    plan.relocations[0].value = RelocationValue::ImageRelative { object: 0, offset: 0x3001 };
    assert_eq!(refused(&plan), LayoutError::RelocationTarget { object: 0, site: 0x2008 });
    let mut plan = good_plan();
    plan.relocations[0].value = RelocationValue::ImageRelative { object: 1, offset: 0 };
    assert_eq!(refused(&plan), LayoutError::RelocationTarget { object: 0, site: 0x2008 });
}

#[test]
fn an_entry_outside_code_is_refused() {
    let mut plan = good_plan();
    plan.entry = 0x2000;
    assert_eq!(refused(&plan), LayoutError::Entry { offset: 0x2000 });
}

#[test]
fn relro_must_lie_in_the_image_and_becomes_read_only() {
    let mut plan = good_plan();
    plan.objects[0].relro = Some((0x2000, 0x2000));
    assert_eq!(refused(&plan), LayoutError::Relro { object: 0 });
    let mut plan = good_plan();
    plan.objects[0].relro = Some((0x2000, 0x1000));
    let layout = lay_out(&plan, &[0x3000], REGION, STACK).unwrap();
    let data = layout.mappings.iter().find(|mapping| mapping.start == REGION.start + 0x2000).unwrap();
    assert_eq!(data.protection, Protection::Read);
}

#[test]
fn a_region_too_small_says_what_it_needs() {
    let small = REGION.start..REGION.start + 0x3000 + MINIMUM_HEAP + STACK;
    assert_eq!(
        lay_out(&good_plan(), &[0x3000], small, STACK).unwrap_err(),
        LayoutError::RegionTooSmall {
            needed: 0x3000 + 0x1000 + MINIMUM_HEAP + 0x2000 + STACK,
            available: 0x3000 + MINIMUM_HEAP + STACK
        }
    );
}

#[test]
fn the_plan_and_the_files_must_match() {
    assert_eq!(
        lay_out(&good_plan(), &[0x3000, 0x10], REGION, STACK).unwrap_err(),
        LayoutError::ObjectCount { planned: 1, given: 2 }
    );
}
