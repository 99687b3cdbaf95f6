//! Which objects may be shared, and how a cVM's layout refers to shared copies: CLS
//! instances, rebased pointers, and the slot table `__cls_get_addr` reads.

use intravisor::layout::{lay_out, lay_out_shared, LayoutError, LayoutRequest, Placement, SlotGeometry};
use intravisor::sharing::{rebase, shareable_objects, Instance};
use loader::{LoadPlan, Machine, Permissions, PlannedObject, RelocationValue, RelocationWrite, Segment};

fn segment(image_offset: u64, memory_size: u64, rwx: &str) -> Segment {
    Segment {
        image_offset,
        memory_size,
        file_offset: image_offset,
        file_size: memory_size,
        permissions: Permissions { read: true, write: rwx.contains('w'), execute: rwx.contains('x') },
        alignment: 0x1000,
    }
}

/// An object with code at 0x1000, RELRO data at 0x2000 and templates at 0x3000..0x3100.
fn object(name: &str) -> PlannedObject {
    PlannedObject {
        name: name.into(),
        purecap: false,
        soname: None,
        image_size: 0x4000,
        segments: vec![segment(0, 0x100, "r"), segment(0x1000, 0x100, "rx"), segment(0x2000, 0x1100, "rw")],
        relro: Some((0x2000, 0x1000)),
        cls_templates: vec![(0x3000, 0x80), (0x3080, 0x80)],
        symbols: vec![],
        needed: vec![],
        initializers: Default::default(),
    }
}

fn plan(objects: Vec<PlannedObject>, relocations: Vec<RelocationWrite>) -> LoadPlan {
    LoadPlan { machine: Machine::X86_64, objects, entry: 0x1000, relocations, tls: Vec::new() }
}

fn relocation(object: usize, site: u64, target: usize, offset: u64) -> RelocationWrite {
    RelocationWrite { object, site, value: RelocationValue::ImageRelative { object: target, offset } }
}

#[test]
fn writable_data_outside_relro_and_templates_makes_an_object_private() {
    let shared = object("shared");
    let mut private = object("private");
    private.segments[2].memory_size = 0x1200; // 0x3100..0x3200 is neither RELRO nor template
    let mut no_templates = object("plain");
    no_templates.cls_templates.clear();
    let result = shareable_objects(&plan(vec![shared, private, no_templates], vec![]));
    assert_eq!(result, [true, false, false]);
}

#[test]
fn pointing_into_a_private_object_makes_an_object_private_too() {
    let mut private = object("private");
    private.segments[2].memory_size = 0x1200;
    // 0 points into 1 (shareable), 1 points into 2 (private): neither can be shared.
    let relocations = vec![relocation(0, 0x2000, 1, 0x1000), relocation(1, 0x2008, 2, 0x1000)];
    let result = shareable_objects(&plan(vec![object("a"), object("b"), private], relocations));
    assert_eq!(result, [false, false, false]);
}

#[test]
fn rebase_moves_only_template_addresses() {
    let instances = [Instance { object: 1, template: 0x9000..0x9100, address: 0x5000, stored: 0x100 }];
    assert_eq!(rebase(0x9010, &instances), 0x5010);
    assert_eq!(rebase(0x9100, &instances), 0x9100, "one past the end is no template address");
    assert_eq!(rebase(0x8fff, &instances), 0x8fff);
}

const SLOTS: SlotGeometry = SlotGeometry { base: 0, shift: 26, count: 8 };
const REGION: std::ops::Range<u64> = 0x1000_0000..0x1080_0000;

#[test]
fn a_shared_object_gets_an_instance_a_slot_and_rebased_pointers() {
    // Object 0 is the private program; object 1 is shared at 0x4000_0000 (slot 16 of a
    // 64 MiB geometry based at 0: use a geometry with enough slots).
    let slots = SlotGeometry { base: 0, shift: 26, count: 32 };
    let base = 0x4000_0000;
    let relocations = vec![
        // The shared object's template points at its own template and at its code.
        relocation(1, 0x3000, 1, 0x3090),
        relocation(1, 0x3008, 1, 0x1010),
        // Its GOT (RELRO) holds a template address: applied to the shared copy only.
        relocation(1, 0x2000, 1, 0x3000),
        // The private program's template points at the shared template.
        relocation(0, 0x3010, 1, 0x3020),
        // The program's GOT holds the shared template's address, unchanged.
        relocation(0, 0x2008, 1, 0x3020),
    ];
    let plan = plan(vec![object("program"), object("libshared.so")], relocations);
    let placements = [Placement::Private, Placement::Shared { base }];
    let layout = lay_out(LayoutRequest {
        plan: &plan,
        file_sizes: &[0x4000, 0x4000],
        placements: &placements,
        region: REGION,
        stack_size: 0x10000,
        slots,
    })
    .unwrap();
    let program = REGION.start;
    let instance = &layout.instances[0];
    assert_eq!(instance.template, base + 0x3000..base + 0x3100);
    assert_eq!(instance.address, program + 0x4000, "the instance follows the private image");
    assert_eq!(
        layout.instance_writes,
        [(instance.address, instance.address + 0x90), (instance.address + 8, base + 0x1010)],
        "template pointers rebased onto the instance, code pointers kept"
    );
    assert_eq!(
        layout.relocations,
        [(program + 0x3010, instance.address + 0x20), (program + 0x2008, base + 0x3020)]
    );
    let (head, entries) = &layout.cls_table_contents;
    assert_eq!(layout.cls_table, instance.address + 0x1000);
    assert_eq!(head.self_address, layout.cls_table);
    assert_eq!((head.slot_shift, head.slot_count), (26, 32));
    let slot = &entries[(base >> 26) as usize];
    assert_eq!((slot.template_start, slot.template_size), (base + 0x3000, 0x100));
    assert_eq!(slot.instance_delta.wrapping_add(base + 0x3040), instance.address + 0x40);
    assert_eq!(entries.iter().filter(|slot| slot.template_size != 0).count(), 1);
    assert_eq!(layout.cls_bytes(), 0x1000);

    let shared = lay_out_shared(&plan, 1, 0x4000, &placements).unwrap();
    assert_eq!(
        shared.relocations,
        [(base + 0x3000, base + 0x3090), (base + 0x3008, base + 0x1010), (base + 0x2000, base + 0x3000)],
        "the shared copy holds template addresses"
    );
    assert!(shared
        .mappings
        .iter()
        .all(|mapping| mapping.protection != intravisor::guest::Protection::ReadWrite));
}

#[test]
fn a_shared_copy_cannot_point_into_a_private_object() {
    let plan = plan(vec![object("program"), object("lib.so")], vec![relocation(1, 0x2000, 0, 0x1000)]);
    let placements = [Placement::Private, Placement::Shared { base: 0x4000_0000 }];
    assert_eq!(
        lay_out_shared(&plan, 1, 0x4000, &placements).unwrap_err(),
        LayoutError::SharedPointsToPrivate { object: 1, site: 0x2000 }
    );
}

#[test]
fn two_objects_in_one_slot_are_refused() {
    let plan = plan(vec![object("program"), object("a.so"), object("b.so")], vec![]);
    let placements = [
        Placement::Private,
        Placement::Shared { base: 0x4000_0000 },
        Placement::Shared { base: 0x4001_0000 },
    ];
    let error = lay_out(LayoutRequest {
        plan: &plan,
        file_sizes: &[0x4000; 3],
        placements: &placements,
        region: REGION,
        stack_size: 0x10000,
        slots: SlotGeometry { count: 32, ..SLOTS },
    })
    .unwrap_err();
    assert_eq!(error, LayoutError::SlotConflict { object: 2 });
}
