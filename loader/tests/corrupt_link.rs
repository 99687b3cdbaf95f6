//! One corruption per check of relocations and of linking objects together: each test
//! builds good images, breaks exactly one field (or gives one bad input), and asserts the
//! exact error and that its message names the object and the offending offset.

mod common;

use common::*;
use loader::{plan, LoadError, Machine, ObjectInput};

/// Sets the type of `.rela.dyn` entry `index`, keeping its symbol.
fn set_relocation_type(image: &mut Image, index: usize, relocation_type: u32) {
    let entry = image.layout.rela_entry(index);
    let symbol = image.u64_at(entry + 8) >> 32;
    image.set_u64(entry + 8, (symbol << 32) | u64::from(relocation_type));
}

#[test]
fn unsupported_relocation() {
    let cases = [
        (EM_X86_64, 5, "R_X86_64_COPY", "-fPIC"),
        (EM_X86_64, 37, "R_X86_64_IRELATIVE", "ifunc"),
        (EM_X86_64, 2, "R_X86_64_PC32", "RELATIVE"),
        (EM_X86_64, 999, "unknown (999)", "RELATIVE"),
        (EM_AARCH64, 1024, "R_AARCH64_COPY", "-fPIC"),
        (EM_AARCH64, 1, "unknown (1)", "RELATIVE"),
    ];
    for (machine, relocation_type, name, advice) in cases {
        let mut builder = program();
        builder.machine = machine;
        let mut image = builder.build();
        set_relocation_type(&mut image, 1, relocation_type);
        let (entry, got) = (image.layout.rela_entry(1), image.layout.got);
        assert_load_error!(
            link_program(&image),
            LoadError::UnsupportedRelocation { relocation_type: found, .. } if found == relocation_type,
            PROGRAM,
            name,
            advice,
            hex(entry),
            hex(got)
        );
    }
}

/// Makes `.rela.dyn` entry `index` a relocation of `relocation_type` against symbol
/// `symbol` (0: none).
fn set_relocation(image: &mut Image, index: usize, relocation_type: u32, symbol: u64) {
    let entry = image.layout.rela_entry(index);
    image.set_u64(entry + 8, (symbol << 32) | u64::from(relocation_type));
}

/// Plans `program` with the standard library built for `machine`.
fn link_for(machine: u16, program: &Image) -> Result<loader::LoadPlan, LoadError> {
    let mut builder = library();
    builder.machine = machine;
    let library = builder.build();
    let available = [ObjectInput { name: LIBRARY, bytes: &library.bytes }];
    plan(ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available)
}

#[test]
fn thread_local_relocations_need_a_thread_local_symbol_in_an_object_with_a_block() {
    for (machine, relocation_type) in [(EM_X86_64, 16), (EM_X86_64, 17), (EM_X86_64, 18), (EM_AARCH64, 1030)]
    {
        let mut builder = program();
        builder.machine = machine;
        let mut image = builder.build();
        // Entry 1 binds `shared_variable`, an STT_OBJECT of the library.
        set_relocation_type(&mut image, 1, relocation_type);
        let entry = image.layout.rela_entry(1);
        assert_load_error!(
            link_for(machine, &image),
            LoadError::TlsRelocationToOrdinarySymbol { ref symbol, .. } if symbol == "shared_variable",
            PROGRAM,
            "not a thread-local (STT_TLS) symbol",
            hex(entry)
        );
        // The null symbol names the program's own block, and it has none.
        set_relocation(&mut image, 1, relocation_type, 0);
        assert_load_error!(
            link_for(machine, &image),
            LoadError::TlsSymbolWithoutBlock { .. },
            PROGRAM,
            "has no PT_TLS block",
            hex(entry)
        );
    }
}

#[test]
fn a_tls_descriptor_needs_the_libos_resolver() {
    let machine = EM_AARCH64;
    let mut builder = program();
    builder.machine = machine;
    let mut image = builder.build();
    // A PT_TLS for the program (in place of PT_GNU_STACK), and a descriptor of its own
    // block in GOT slot 0 (slots 0 and 1).
    let header = image.layout.program_header_count - 1;
    let data = image.layout.data;
    image.set_program_header_u32(header, P_TYPE, PT_TLS);
    image.set_program_header_u64(header, P_VADDR, data);
    for field in [P_FILESZ, P_MEMSZ] {
        image.set_program_header_u64(header, field, 8);
    }
    set_relocation(&mut image, 1, 1031, 0);
    assert_load_error!(
        link_for(machine, &image),
        LoadError::TlsDescriptorResolverMissing { .. },
        PROGRAM,
        "__cvm_tlsdesc_static",
        "libcvm.so"
    );
}

#[test]
fn symbol_index_out_of_range() {
    let mut image = program().build();
    let entry = image.layout.rela_entry(1);
    image.set_u64(entry + 8, (99 << 32) | 6);
    assert_load_error!(
        link_program(&image),
        LoadError::SymbolIndexOutOfRange { index: 99, count: 5, .. },
        PROGRAM,
        hex(entry),
        "symbol 99",
        "has 5 symbols"
    );
}

#[test]
fn relocation_site_not_writable() {
    let mut image = program().build();
    let (entry, text) = (image.layout.rela_entry(0), image.layout.text);
    image.set_u64(entry, text);
    assert_load_error!(
        link_program(&image),
        LoadError::RelocationSiteNotWritable { site, .. } if site == text,
        PROGRAM,
        hex(entry),
        hex(text)
    );
    // The last 8 bytes of the writable segment are fine, one byte further is not.
    let mut image = program().build();
    let end = image.layout.data_segment + image.layout.data_file_size + 16;
    image.set_u64(entry, end - 7);
    assert_load_error!(
        link_program(&image),
        LoadError::RelocationSiteNotWritable { .. },
        PROGRAM,
        hex(end - 7)
    );
    image.set_u64(entry, end - 8);
    link_program(&image).expect("a site that ends the segment is fine");
}

#[test]
fn relocation_target_out_of_image() {
    for addend in [0x10_0000, -8] {
        let mut image = program().build();
        let entry = image.layout.rela_entry(0);
        image.set_u64(entry + 16, addend as u64);
        assert_load_error!(
            link_program(&image),
            LoadError::RelocationTargetOutOfImage { addend: found, .. } if found == addend,
            PROGRAM,
            hex(entry),
            hex(image.layout.image_size)
        );
    }
}

#[test]
fn relocation_overflow() {
    let mut image = library().build();
    let symbol = image.layout.symbol_entry("absolute_value");
    image.set_u64(symbol + 8, u64::MAX);
    assert_load_error!(
        link_library(&image),
        LoadError::RelocationOverflow { value: u64::MAX, addend: 8, .. },
        LIBRARY,
        "absolute_value",
        hex(image.layout.rela_entry(2))
    );
}

#[test]
fn indirect_function() {
    let mut image = library().build();
    let symbol = image.layout.symbol_entry("shared_function");
    image.set_u8(symbol + 4, (STB_GLOBAL << 4) | STT_GNU_IFUNC);
    let program = program().build();
    assert_load_error!(
        plan(
            ObjectInput { name: PROGRAM, bytes: &program.bytes },
            &[ObjectInput { name: LIBRARY, bytes: &image.bytes }]
        ),
        LoadError::IndirectFunction { .. },
        PROGRAM,
        LIBRARY,
        "shared_function",
        hex(program.layout.jmprel_entry(0))
    );
}

#[test]
fn undefined_symbol() {
    let mut image = program().build();
    let name = image.layout.string("shared_variable");
    image.set_u8(name, b'x');
    assert_load_error!(
        link_program(&image),
        LoadError::UndefinedSymbol { .. },
        PROGRAM,
        "xhared_variable",
        hex(image.layout.rela_entry(1))
    );
}

#[test]
fn missing_needed() {
    let mut image = program().build();
    let name = image.layout.string(LIBRARY);
    image.set_u8(name, b'x');
    assert_load_error!(link_program(&image), LoadError::MissingNeeded { .. }, PROGRAM, "xibshared.so");
}

#[test]
fn ambiguous_needed() {
    let (program, library) = (program().build(), library().build());
    let available = [
        ObjectInput { name: "first.so", bytes: &library.bytes },
        ObjectInput { name: "second.so", bytes: &library.bytes },
    ];
    assert_load_error!(
        plan(ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available),
        LoadError::AmbiguousNeeded { .. },
        PROGRAM,
        LIBRARY,
        "first.so",
        "second.so"
    );
}

#[test]
fn needed_cycle() {
    let mut program_builder = program();
    program_builder.needed = vec!["liba.so".into()];
    let program = program_builder.build();
    let mut a = library();
    a.soname = Some("liba.so".into());
    a.needed = vec!["libb.so".into()];
    let mut b = library();
    b.soname = Some("libb.so".into());
    b.needed = vec!["liba.so".into()];
    let (a, b) = (a.build(), b.build());
    let available =
        [ObjectInput { name: "liba.so", bytes: &a.bytes }, ObjectInput { name: "libb.so", bytes: &b.bytes }];
    assert_load_error!(
        plan(ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available),
        LoadError::NeededCycle { .. },
        "liba.so -> libb.so -> liba.so"
    );
}

#[test]
fn duplicate_object_name() {
    let (program, library) = (program().build(), library().build());
    let available = [
        ObjectInput { name: LIBRARY, bytes: &library.bytes },
        ObjectInput { name: LIBRARY, bytes: &library.bytes },
    ];
    assert_load_error!(
        plan(ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available),
        LoadError::DuplicateObjectName { .. },
        LIBRARY
    );
    let available = [ObjectInput { name: PROGRAM, bytes: &library.bytes }];
    assert_load_error!(
        plan(ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available),
        LoadError::DuplicateObjectName { .. },
        PROGRAM
    );
}

#[test]
fn machines_are_named_in_messages() {
    let mut builder = library();
    builder.machine = EM_AARCH64;
    let image = builder.build();
    let error = link_library(&image).unwrap_err();
    assert!(matches!(error, LoadError::MachineMismatch { machine: Machine::Aarch64, .. }));
    assert!(error.to_string().contains("AArch64") && error.to_string().contains("x86-64"));
}

#[test]
fn symbol_index_out_of_range_with_only_gnu_hash() {
    // Without DT_HASH, relocations may name any symbol whose entry is in the file.
    let mut builder = program();
    builder.hash_style = HashStyle::Gnu;
    let mut image = builder.build();
    let entry = image.layout.rela_entry(1);
    image.set_u64(entry + 8, (0xffff << 32) | 6);
    let limit = (image.layout.jmprel + 24 - image.layout.dynsym) / 24;
    assert_load_error!(
        link_program(&image),
        LoadError::SymbolIndexOutOfRange { index: 0xffff, count, .. } if count == limit,
        PROGRAM,
        hex(entry),
        "symbol 65535"
    );
}
