//! The intravisor's checks of a loader's plan: each way an untrusted plan can be wrong
//! is refused before anything is applied; and the boot block a laid-out cVM is built
//! with.

use intravisor::guest::Protection;
use intravisor::layout::{
    self as layout, Layout, LayoutError, LayoutRequest, Placement, SlotGeometry, MINIMUM_HEAP,
};
use intravisor::memory::RegionMemory;
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
            initializers: Default::default(),
        }],
        entry: 0x1010,
        relocations: vec![RelocationWrite {
            object: 0,
            site: 0x2008,
            value: RelocationValue::ImageRelative { object: 0, offset: 0x1010 },
        }],
        tls: Vec::new(),
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

/// Found by the `object` fuzz target: an image that fits the address space from 0 but not
/// from the base it is shared at made `base + offset` overflow (a panic in a debug build).
#[test]
fn a_shared_image_that_would_run_past_the_address_space_is_refused() {
    let mut plan = good_plan();
    plan.objects[0].image_size = u64::MAX - 0xfff;
    plan.objects[0].segments[2] = segment(u64::MAX - 0x2fff, 0x900, 0x2000, 0x100, "rw");
    let placements = [Placement::Shared { base: 0x8000_0000 }];
    assert_eq!(
        layout::lay_out_shared(&plan, 0, 0x3000, &placements),
        Err(LayoutError::ImageOutsideAddressSpace { object: 0, base: 0x8000_0000, size: u64::MAX - 0xfff })
    );
    let message =
        LayoutError::ImageOutsideAddressSpace { object: 0, base: 0x8000_0000, size: 0x1000 }.to_string();
    assert!(message.contains("past the end of the address space"), "{message}");
}

/// A library like `plan`'s program, with `templates`.
fn library(plan: &LoadPlan, templates: Vec<(u64, u64)>) -> PlannedObject {
    let mut library = plan.objects[0].clone();
    library.name = "library".into();
    library.cls_templates = templates;
    library
}

/// Lays out `plan`'s program privately and its library shared at `base`.
fn with_library_shared_at(plan: &LoadPlan, base: u64) -> Result<Layout, LayoutError> {
    layout::lay_out(LayoutRequest {
        plan,
        file_sizes: &[0x3000, 0x3000],
        placements: &[Placement::Private, Placement::Shared { base }],
        region: REGION,
        stack_size: STACK,
        slots: SLOTS,
    })
}

/// Found by the `object` fuzz target: a shared library placed so near the top of the
/// address space that a pointer into it (`base + offset`) overflowed while the program's
/// relocations were resolved.
#[test]
fn a_shared_object_placed_past_the_address_space_is_refused_in_a_cvm_layout() {
    let mut plan = good_plan();
    plan.objects.push(library(&plan, Vec::new()));
    plan.relocations[0].value = RelocationValue::ImageRelative { object: 1, offset: 0x2ff0 };
    let base = u64::MAX - 0x1fff;
    let refused = with_library_shared_at(&plan, base);
    assert_eq!(refused.unwrap_err(), LayoutError::ImageOutsideAddressSpace { object: 1, base, size: 0x3000 });
    // Nor is the program's shared copy laid out against it.
    let placements = [Placement::Shared { base: 0x8000_0000 }, Placement::Shared { base }];
    assert_eq!(
        layout::lay_out_shared(&plan, 0, 0x3000, &placements),
        Err(LayoutError::ImageOutsideAddressSpace { object: 1, base, size: 0x3000 })
    );
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

/// Region memory backed by a vector, for building a cVM without a platform.
struct VectorMemory {
    base: u64,
    bytes: std::cell::RefCell<Vec<u8>>,
}

impl VectorMemory {
    fn range(&self, address: u64, length: usize) -> Result<std::ops::Range<usize>, String> {
        let start = address.checked_sub(self.base).ok_or("below the region")? as usize;
        let end = start + length;
        if end > self.bytes.borrow().len() {
            return Err(format!("{address:#x} + {length} is past the region"));
        }
        Ok(start..end)
    }
}

impl RegionMemory for VectorMemory {
    type Error = String;
    fn protect(&self, _: u64, _: u64, _: Protection) -> Result<(), String> {
        Ok(())
    }
    fn write(&self, address: u64, bytes: &[u8]) -> Result<(), String> {
        let range = self.range(address, bytes.len())?;
        self.bytes.borrow_mut()[range].copy_from_slice(bytes);
        Ok(())
    }
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), String> {
        let range = self.range(address, buffer.len())?;
        buffer.copy_from_slice(&self.bytes.borrow()[range]);
        Ok(())
    }
    fn scrub(&self, start: u64, end: u64) -> Result<(), String> {
        let range = self.range(start, (end - start) as usize)?;
        self.bytes.borrow_mut()[range].fill(0);
        Ok(())
    }
}

#[test]
fn the_boot_block_lists_the_entered_functions_with_aligned_capability_slots() {
    use intravisor::instance::{instantiate, Build, EnteredFunction};
    let layout = lay_out(&good_plan(), &[0x3000], REGION, STACK).unwrap();
    let memory =
        VectorMemory { base: REGION.start, bytes: vec![0; (REGION.end - REGION.start) as usize].into() };
    let file = vec![0x11; 0x3000];
    let shared = 0x9000_0000..0x9000_4000;
    let entered = [
        EnteredFunction { name: "counter_increment".into(), address: 0x9000_1000, object: shared.clone() },
        EnteredFunction {
            name: "counter_overwrite_code".into(),
            address: 0x9000_1040,
            object: shared.clone(),
        },
    ];
    let capability = intravisor::capability::Cap::root()
        .set_value(REGION.start)
        .set_bounds_exact(REGION.end - REGION.start);
    let build = Build {
        arena_capability: capability,
        layout: &layout,
        files: &[&file],
        shared: &[],
        name: "caller",
        arguments: &["count".into(), "3".into()],
        hostcall_entry: 0,
        entered: &entered,
    };
    let instance = instantiate(&memory, build).map_err(|error| error.to_string()).unwrap();
    let word = |address: u64| {
        let mut bytes = [0; 8];
        memory.read(address, &mut bytes).unwrap();
        u64::from_le_bytes(bytes)
    };
    let string = |address: u64, length: u64| {
        let mut bytes = vec![0; length as usize + 1];
        memory.read(address, &mut bytes).unwrap();
        assert_eq!(bytes.pop(), Some(0), "NUL-terminated");
        String::from_utf8(bytes).unwrap()
    };
    let boot = instance.boot_block;
    let field = |name: usize| word(boot + 8 * name as u64);
    assert_eq!(field(1), abi::VERSION);
    assert_eq!(field(7), 3, "argc: the name and two arguments");
    let (entries, count) = (field(11), field(12));
    assert_eq!(count, 2);
    assert_eq!(instance.entries.len(), 2);
    for (index, function) in entered.iter().enumerate() {
        let point = entries + 32 * index as u64;
        assert_eq!(string(word(point), word(point + 8)), function.name);
        let slot = &instance.entries[index];
        assert_eq!(slot.slot, point + 16);
        assert_eq!(slot.slot % 16, 0, "a capability slot is 16-byte aligned");
        assert_eq!(slot.function, *function);
        assert_eq!((word(slot.slot), word(slot.slot + 8)), (0, 0), "the platform fills the slot");
        assert!(layout.stack.contains(&slot.slot), "in the cVM's stack, above its stack pointer");
        assert!(slot.slot > instance.stack_top);
    }
    let argv = field(8);
    assert_eq!(string(word(argv + 8), 5), "count");
    assert_eq!(word(argv + 24), 0, "argv ends with a null");
}

/// A shared library's CLS copy keeps its templates' offset within a page (so a
/// page-aligned array in `.cls.bss` stays page-aligned in every cVM), and only the
/// templates' bytes the file holds are copied: the NOBITS rest is zero already.
#[test]
fn a_cls_copy_keeps_its_templates_alignment_and_copies_only_stored_bytes() {
    let mut plan = good_plan();
    // `.cls.data` from 0x2010 (the file holds up to 0x2100), then NOBITS to 0x2900.
    plan.objects.push(library(&plan, vec![(0x2010, 0x80), (0x2100, 0x800)]));
    let layout = with_library_shared_at(&plan, 0x8000_0000).unwrap();
    let instance = &layout.instances[0];
    assert_eq!(instance.template, 0x8000_2010..0x8000_2900);
    assert_eq!(instance.address % 0x1000, 0x010, "the template's offset in its page");
    assert_eq!(instance.stored, 0xf0, "file bytes from 0x2010 to 0x2100");
    let pages = instance.pages();
    assert_eq!(pages, instance.address - 0x10..instance.address - 0x10 + 0x1000);
    assert_eq!(layout.cls_bytes(), 0x1000);
    assert!(layout.mappings.iter().any(|mapping| mapping.start == pages.start && mapping.end == pages.end));
}

/// Templates across two writable segments: the file bytes of the second count too, so a
/// copy is never short of initialised template bytes.
#[test]
fn stored_template_bytes_reach_the_last_file_byte_in_the_span() {
    let mut object = good_plan().objects.remove(0);
    // rw at 0x2000 (file 0x100, memory 0x900), then rw at 0x3000 with 0x80 file bytes.
    object.segments.push(segment(0x3000, 0x200, 0x3000, 0x80, "rw"));
    object.image_size = 0x4000;
    assert_eq!(intravisor::sharing::stored_template_bytes(&object, &(0x2010..0x3100)), 0x3080 - 0x2010);
    assert_eq!(intravisor::sharing::stored_template_bytes(&object, &(0x2010..0x2900)), 0xf0);
    assert_eq!(intravisor::sharing::stored_template_bytes(&object, &(0x2200..0x2900)), 0);
}
