//! `object`: an object file through the loader's parser and planner and the intravisor's
//! layout, as `run` takes a cVM's program and objects: as a program (alone, and with a
//! real program's libraries), and in the place of each library of a real program; each
//! plan laid out with every object private, then with every library shared.

use std::sync::OnceLock;

use intravisor::layout::{lay_out, lay_out_shared, Copy, LayoutRequest, Placement, SlotGeometry};
use loader::{Machine, ObjectInput, PAGE_SIZE};

use crate::target::{files_under, repository};

/// The cVM's region: 64 MiB at 1 GiB.
const REGION: std::ops::Range<u64> = 0x4000_0000..0x4400_0000;
/// Where shared objects go: above the region, 64 MiB apart.
const SHARED_BASE: u64 = 0x8000_0000;
const SHARED_STRIDE: u64 = 0x400_0000;

pub(crate) fn run(data: &[u8]) {
    let fuzzed = ObjectInput { name: "fuzzed", bytes: data };
    let Ok(parsed) = loader::parse_object(fuzzed) else { return };
    let companions: Vec<ObjectInput<'_>> =
        companions(parsed.machine()).iter().map(|(name, bytes)| ObjectInput { name, bytes }).collect();
    // As the program: with the companion libraries, and itself under every other name
    // it needs.
    let mut available: Vec<ObjectInput<'_>> = companions.iter().skip(1).copied().collect();
    for name in parsed.needed() {
        if !available.iter().any(|object| object.name == name) {
            available.push(ObjectInput { name, bytes: data });
        }
    }
    plan_and_lay_out(fuzzed, &[]);
    plan_and_lay_out(fuzzed, &available);
    // As a library: in the place of each of the companion program's.
    if let Some((&program, libraries)) = companions.split_first() {
        for replaced in 0..libraries.len() {
            let mut available = libraries.to_vec();
            available[replaced].bytes = data;
            plan_and_lay_out(program, &available);
        }
    }
}

/// Plans `program` against `available` and, if the loader accepts it, lays it out with
/// every object private, then with every library shared.
fn plan_and_lay_out(program: ObjectInput<'_>, available: &[ObjectInput<'_>]) {
    let Ok(plan) = loader::plan(program, available) else { return };
    let bytes = |name: &str| {
        core::iter::once(&program)
            .chain(available)
            .find(|object| object.name == name)
            .map(|object| object.bytes)
    };
    let files: Vec<&[u8]> =
        plan.objects.iter().map(|object| bytes(&object.name).expect("planned objects were given")).collect();
    let file_sizes: Vec<u64> = files.iter().map(|file| file.len() as u64).collect();
    let count = plan.objects.len();
    let slots = SlotGeometry { base: REGION.start, shift: 26, count: 64 };
    let private = vec![Placement::Private; count];
    let shared: Vec<Placement> = (0..count)
        .map(|index| match index {
            0 => Placement::Private,
            _ => Placement::Shared { base: SHARED_BASE + index as u64 * SHARED_STRIDE },
        })
        .collect();
    for placements in [&private, &shared] {
        let request = LayoutRequest {
            plan: &plan,
            file_sizes: &file_sizes,
            placements,
            region: REGION,
            stack_size: 64 * 1024,
            slots,
        };
        if let Ok(layout) = lay_out(request) {
            check_inside_region(&layout, &file_sizes);
            check_tls_images(&layout, &plan);
        }
        for index in 1..count {
            if let Ok(image) = lay_out_shared(&plan, index, file_sizes[index], placements) {
                assert!(image.image.start % PAGE_SIZE == 0, "a shared image starts mid-page");
                for copy in &image.copies {
                    check_copy_from_file(copy, &file_sizes);
                }
            }
        }
    }
}

/// An object's name and bytes.
type NamedFile = (String, Vec<u8>);

/// A program and the libraries it links against, built for `machine` (the orc-counter
/// example's, when built), read once.
fn companions(machine: Machine) -> &'static [NamedFile] {
    static BUILT: OnceLock<Vec<(Machine, Vec<NamedFile>)>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        ["build", "build-aarch64"]
            .iter()
            .filter_map(|directory| {
                let directory = repository().join("examples/orc-counter").join(directory);
                let objects: Vec<NamedFile> = ["counter", "libcounter.so", "libother.so", "libcvm.so"]
                    .iter()
                    .map(|name| std::fs::read(directory.join(name)).map(|bytes| (name.to_string(), bytes)))
                    .collect::<Result<_, _>>()
                    .ok()?;
                let machine = loader::parse_object(ObjectInput { name: "counter", bytes: &objects[0].1 })
                    .ok()?
                    .machine();
                Some((machine, objects))
            })
            .collect()
    });
    built.iter().find(|(built_for, _)| *built_for == machine).map_or(&[], |(_, objects)| objects.as_slice())
}

/// Every TLS block's image, which the cVM's C library copies into each thread's block,
/// lies inside its own object's image (in the region, or in the object's shared slot).
fn check_tls_images(layout: &intravisor::layout::Layout, plan: &loader::LoadPlan) {
    assert_eq!(layout.tls_modules.len(), plan.tls.len());
    for (module, block) in layout.tls_modules.iter().zip(&plan.tls) {
        let base = layout.object_bases[block.object];
        let image_end = base + plan.objects[block.object].image_size;
        let end = module.image.checked_add(module.file_size);
        assert!(
            module.image >= base && end.is_some_and(|end| end <= image_end),
            "a TLS image lies outside its object: {module:x?}, image {base:#x}..{image_end:#x}"
        );
        assert!(module.file_size <= module.memory_size && module.memory_size <= loader::MAX_TLS_SIZE);
    }
}

/// Whatever the object says, a layout writes only inside the cVM's region and copies
/// only bytes of the file.
fn check_inside_region(layout: &intravisor::layout::Layout, file_sizes: &[u64]) {
    let inside = |address: u64, length: u64| {
        address >= REGION.start && address.checked_add(length).is_some_and(|end| end <= REGION.end)
    };
    for copy in &layout.copies {
        assert!(inside(copy.address, copy.length), "a copy lands outside the region: {copy:?}");
        check_copy_from_file(copy, file_sizes);
    }
    for &(address, _) in layout.relocations.iter().chain(&layout.instance_writes) {
        assert!(inside(address, 8), "a relocation lands outside the region at {address:#x}");
    }

    for range in layout.images.iter().chain([&layout.heap, &layout.stack]) {
        assert!(inside(range.start, range.end - range.start), "{range:x?} is outside the region");
    }
}

/// A copy reads only bytes of its object's file.
fn check_copy_from_file(copy: &Copy, file_sizes: &[u64]) {
    let end = copy.file_offset.checked_add(copy.length);
    assert!(
        end.is_some_and(|end| end <= file_sizes[copy.object]),
        "a copy reads past the file's end: {copy:?}"
    );
}

/// The examples' built objects (both architectures), the small ones.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    files_under(&repository().join("examples"), &|path| {
        path.components().any(|part| part.as_os_str().to_str().is_some_and(|name| name.starts_with("build")))
            && std::fs::metadata(path).is_ok_and(|metadata| metadata.len() <= 256 * 1024)
    })
    .into_iter()
    .filter(|bytes| bytes.starts_with(b"\x7fELF"))
    .collect()
}
