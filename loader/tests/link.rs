//! Good objects link into the plan they should: segments, symbols, needed order,
//! symbol binding and relocation values.

mod common;

use common::*;
use loader::{
    parse_object, plan, LoadPlan, Machine, ObjectInput, Permissions, RelocationValue, RelocationWrite,
    Segment, Symbol, SymbolKind,
};

fn input<'a>(name: &'a str, image: &'a Image) -> ObjectInput<'a> {
    ObjectInput { name, bytes: &image.bytes }
}

fn link(program: &Image, libraries: &[(&str, &Image)]) -> LoadPlan {
    let available: Vec<ObjectInput<'_>> = libraries.iter().map(|(name, image)| input(name, image)).collect();
    plan(input(PROGRAM, program), &available).expect("the objects link")
}

fn write(object: usize, site: u64, value: RelocationValue) -> RelocationWrite {
    RelocationWrite { object, site, value }
}

fn relative(object: usize, offset: u64) -> RelocationValue {
    RelocationValue::ImageRelative { object, offset }
}

/// A library named `name` that needs `needed` and defines `symbol`.
fn library_named(name: &str, needed: &[&str], symbol: &str) -> Image {
    let mut builder = library();
    builder.soname = Some(name.into());
    builder.needed = needed.iter().map(|&needed| needed.into()).collect();
    builder.symbols.push(SymbolSpec::new(symbol, Definition::At(Place::Text(0)), STB_GLOBAL, STT_FUNC, 4));
    builder.build()
}

#[test]
fn program_and_library_link_into_the_expected_plan() {
    let program = program().build();
    let library = library().build();
    let plan = link(&program, &[(LIBRARY, &library)]);
    let (p, l) = (&program.layout, &library.layout);

    assert_eq!(plan.machine, Machine::X86_64);
    assert_eq!(plan.entry, p.entry);
    assert_eq!(plan.objects.len(), 2);
    let (planned_program, planned_library) = (&plan.objects[0], &plan.objects[1]);
    assert_eq!(planned_program.name, PROGRAM);
    assert_eq!(planned_program.soname, None);
    assert_eq!(planned_program.needed, vec![1]);
    assert_eq!(planned_program.image_size, p.image_size);
    assert_eq!(planned_library.name, LIBRARY);
    assert_eq!(planned_library.soname.as_deref(), Some(LIBRARY));
    assert!(planned_library.needed.is_empty());

    let read = Permissions { read: true, write: false, execute: false };
    let text = Permissions { read: true, write: false, execute: true };
    let data = Permissions { read: true, write: true, execute: false };
    assert_eq!(
        planned_program.segments,
        vec![
            Segment {
                image_offset: 0,
                memory_size: p.jmprel + 24,
                file_offset: 0,
                file_size: p.jmprel + 24,
                permissions: read,
                alignment: 0x1000
            },
            Segment {
                image_offset: p.text,
                memory_size: 32,
                file_offset: p.text,
                file_size: 32,
                permissions: text,
                alignment: 0x1000
            },
            Segment {
                image_offset: p.data_segment,
                memory_size: p.data_file_size + 16,
                file_offset: p.data_segment,
                file_size: p.data_file_size,
                permissions: data,
                alignment: 0x1000
            },
        ]
    );
    assert_eq!(planned_program.relro, Some((p.data_segment, p.data - p.data_segment)));
    assert_eq!(
        planned_library.symbols,
        vec![
            Symbol {
                name: "local_helper".into(),
                image_offset: l.text + 0x20,
                size: 8,
                kind: SymbolKind::Function
            },
            Symbol {
                name: "shared_function".into(),
                image_offset: l.text + 0x10,
                size: 16,
                kind: SymbolKind::Function
            },
            Symbol {
                name: "shared_variable".into(),
                image_offset: l.data + 8,
                size: 8,
                kind: SymbolKind::Data
            },
        ]
    );
    assert_eq!(
        planned_program.symbols,
        vec![Symbol { name: "main".into(), image_offset: p.text, size: 16, kind: SymbolKind::Function }]
    );

    assert_eq!(
        plan.relocations,
        vec![
            write(0, p.data, relative(0, p.text + 8)),
            write(0, p.got, relative(1, l.data + 8)),
            write(0, p.got + 16, RelocationValue::Absolute(0)),
            write(0, p.got + 8, relative(1, l.text + 0x10)),
            write(1, l.data, relative(1, l.text + 0x10)),
            write(1, l.got, relative(1, l.data + 8)),
            write(1, l.got + 8, RelocationValue::Absolute(0x1234 + 8)),
        ]
    );
}

#[test]
fn aarch64_objects_link_and_glob_dat_adds_the_addend() {
    let mut program_builder = program();
    program_builder.machine = EM_AARCH64;
    program_builder.relocations[1].addend = Addend::Number(4);
    let mut library_builder = library();
    library_builder.machine = EM_AARCH64;
    let (program, library) = (program_builder.build(), library_builder.build());
    let plan = link(&program, &[(LIBRARY, &library)]);
    assert_eq!(plan.machine, Machine::Aarch64);
    assert_eq!(plan.relocations[1], write(0, program.layout.got, relative(1, library.layout.data + 8 + 4)));
}

#[test]
fn x86_64_glob_dat_ignores_the_addend() {
    let mut program_builder = program();
    program_builder.relocations[1].addend = Addend::Number(4);
    let (program, library) = (program_builder.build(), library().build());
    let plan = link(&program, &[(LIBRARY, &library)]);
    assert_eq!(plan.relocations[1], write(0, program.layout.got, relative(1, library.layout.data + 8)));
}

#[test]
fn gnu_hash_alone_counts_the_symbols() {
    for style in [HashStyle::Gnu, HashStyle::Both] {
        let mut program_builder = program();
        program_builder.hash_style = style;
        let mut library_builder = library();
        library_builder.hash_style = style;
        let (program, library) = (program_builder.build(), library_builder.build());
        let plan = link(&program, &[(LIBRARY, &library)]);
        assert_eq!(plan.relocations.len(), 7);
        assert_eq!(plan.objects[1].symbols.len(), 3);
        let parsed = parse_object(input(LIBRARY, &library)).unwrap();
        assert_eq!(parsed.symbols().len(), 3);
    }
}

#[test]
fn needed_objects_are_ordered_breadth_first_each_once_and_unneeded_ones_left_out() {
    let mut program_builder = program();
    program_builder.needed = vec!["liba.so".into(), "libb.so".into()];
    program_builder.plt_relocations.clear();
    program_builder.relocations.truncate(1);
    let program = program_builder.build();
    let a = library_named("liba.so", &["libc.so"], "a");
    let b = library_named("libb.so", &["libc.so", "libd.so"], "b");
    let c = library_named("libc.so", &[], "c");
    let d = library_named("libd.so", &[], "d");
    let unused = library_named("libunused.so", &[], "unused");
    let plan = link(
        &program,
        &[("libunused.so", &unused), ("libd.so", &d), ("libc.so", &c), ("libb.so", &b), ("liba.so", &a)],
    );
    let names: Vec<&str> = plan.objects.iter().map(|object| object.name.as_str()).collect();
    assert_eq!(names, ["program", "liba.so", "libb.so", "libc.so", "libd.so"]);
    let needed: Vec<&[usize]> = plan.objects.iter().map(|object| object.needed.as_slice()).collect();
    assert_eq!(needed, [&[1, 2][..], &[3], &[3, 4], &[], &[]]);
}

#[test]
fn needed_names_match_soname_then_name_then_last_path_component() {
    let mut program_builder = program();
    program_builder.needed = vec!["libsoname.so".into(), "given-name".into(), "libfile.so".into()];
    let program = program_builder.build();
    let mut by_soname = library();
    by_soname.soname = Some("libsoname.so".into());
    let mut by_name = library();
    by_name.soname = None;
    by_name.symbols.truncate(1);
    by_name.relocations.truncate(1);
    let (by_soname, by_name) = (by_soname.build(), by_name.build());
    let plan =
        link(&program, &[("/objects/libfile.so", &by_name), ("given-name", &by_name), ("x.so", &by_soname)]);
    let names: Vec<&str> = plan.objects.iter().map(|object| object.name.as_str()).collect();
    assert_eq!(names, ["program", "x.so", "given-name", "/objects/libfile.so"]);
}

#[test]
fn a_program_definition_interposes_on_the_library_one() {
    let mut program_builder = program();
    program_builder.symbols[2] =
        SymbolSpec::new("shared_variable", Definition::At(Place::Data(8)), STB_GLOBAL, STT_OBJECT, 8);
    let (program, library) = (program_builder.build(), library().build());
    let plan = link(&program, &[(LIBRARY, &library)]);
    let expected = relative(0, program.layout.data + 8);
    assert_eq!(plan.relocations[1], write(0, program.layout.got, expected));
    assert_eq!(plan.relocations[5], write(1, library.layout.got, expected));
}

#[test]
fn local_and_protected_definitions_bind_inside_their_object() {
    let mut library_builder = library();
    library_builder.symbols[2].visibility = STV_PROTECTED;
    library_builder.got_slots = 3;
    library_builder.relocations.push(RelaSpec::new(
        Place::Got(2),
        Kind::Absolute64,
        Some("local_helper"),
        Addend::Number(0),
    ));
    let mut program_builder = program();
    program_builder.symbols.push(SymbolSpec::new(
        "local_helper",
        Definition::At(Place::Text(4)),
        STB_GLOBAL,
        STT_FUNC,
        4,
    ));
    program_builder.symbols[2] =
        SymbolSpec::new("shared_variable", Definition::At(Place::Data(8)), STB_GLOBAL, STT_OBJECT, 8);
    let (program, library) = (program_builder.build(), library_builder.build());
    let plan = link(&program, &[(LIBRARY, &library)]);
    let l = &library.layout;
    assert_eq!(plan.relocations[5], write(1, l.got, relative(1, l.data + 8)));
    assert_eq!(plan.relocations[7], write(1, l.got + 16, relative(1, l.text + 0x20)));
}

#[test]
fn the_first_definition_in_load_order_wins() {
    let mut program_builder = program();
    program_builder.needed = vec!["liba.so".into(), "libb.so".into()];
    program_builder.symbols[1].name = "twice".into();
    program_builder.plt_relocations[0].symbol = Some("twice".into());
    let program = program_builder.build();
    let a = library_named("liba.so", &[], "twice");
    let b = library_named("libb.so", &[], "twice");
    let plan = link(&program, &[("libb.so", &b), ("liba.so", &a)]);
    assert_eq!(plan.objects[1].name, "liba.so");
    assert_eq!(plan.relocations[3], write(0, program.layout.got + 8, relative(1, a.layout.text)));
}

#[test]
fn parse_object_reports_the_object_on_its_own() {
    let library = library().build();
    let parsed = parse_object(input(LIBRARY, &library)).unwrap();
    assert_eq!(parsed.name(), LIBRARY);
    assert_eq!(parsed.machine(), Machine::X86_64);
    assert_eq!(parsed.soname(), Some(LIBRARY));
    assert!(parsed.needed().is_empty());
    assert_eq!(parsed.image_size(), library.layout.image_size);
    assert_eq!(parsed.segments().len(), 3);
    assert_eq!(
        parsed.relro(),
        Some((library.layout.data_segment, library.layout.data - library.layout.data_segment))
    );
    let program = program().build();
    let parsed = parse_object(input(PROGRAM, &program)).unwrap();
    assert_eq!(parsed.needed(), [LIBRARY]);
    assert_eq!(parsed.entry(), program.layout.entry);
}

#[test]
fn load_errors_are_standard_errors() {
    let error = parse_object(ObjectInput { name: "empty", bytes: &[] }).unwrap_err();
    let error: &dyn std::error::Error = &error;
    assert!(error.to_string().starts_with("empty: "));
}

#[test]
fn gnu_hash_that_hashes_nothing_still_lets_relocations_name_undefined_symbols() {
    // GNU ld writes symoffset 1 when no symbol is hashed, although the undefined ones
    // come first; relocations then name symbols past what the table covers.
    let mut builder = program();
    builder.hash_style = HashStyle::Gnu;
    builder.symbols.remove(0);
    let mut program = builder.build();
    let gnu_hash = program.layout.gnu_hash.unwrap();
    program.set_u32(gnu_hash + 4, 1);
    let library = library().build();
    let plan = link(&program, &[(LIBRARY, &library)]);
    assert_eq!(plan.relocations.len(), 7);
    assert!(plan.objects[0].symbols.is_empty());
    assert_eq!(plan.relocations[1], write(0, program.layout.got, relative(1, library.layout.data + 8)));
}
