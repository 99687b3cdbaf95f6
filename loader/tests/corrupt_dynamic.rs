//! One corruption per check of the dynamic section, the string table and the symbol
//! table: each test builds a good image, breaks exactly one field, and asserts the exact
//! error and that its message names the object and the offending offset or address.

mod common;

use common::*;
use loader::LoadError;

#[test]
fn unterminated_dynamic_section() {
    let mut image = program().build();
    image.set_program_header_u64(DYNAMIC, P_FILESZ, 16);
    assert_load_error!(
        link_program(&image),
        LoadError::UnterminatedDynamicSection { size: 16, .. },
        PROGRAM,
        hex(image.layout.dynamic),
        "DT_NULL"
    );
}

#[test]
fn duplicate_dynamic_entry() {
    let mut image = program().build();
    let entry = image.layout.dynamic_entry(DT_SYMENT);
    image.set_dynamic_tag(DT_SYMENT, DT_STRSZ);
    assert_load_error!(
        link_program(&image),
        LoadError::DuplicateDynamicEntry { tag: "DT_STRSZ", .. },
        PROGRAM,
        hex(entry),
        "DT_STRSZ"
    );
}

#[test]
fn missing_dynamic_entry() {
    for (tag, name) in [(DT_SYMTAB, "DT_SYMTAB"), (DT_STRTAB, "DT_STRTAB"), (DT_STRSZ, "DT_STRSZ")] {
        let mut image = program().build();
        image.set_dynamic_tag(tag, DT_DEBUG);
        assert_load_error!(
            link_program(&image),
            LoadError::MissingDynamicEntry { tag, .. } if tag == name,
            PROGRAM,
            name,
            hex(image.layout.dynamic)
        );
    }
    let mut image = program().build();
    image.set_dynamic_tag(DT_HASH, DT_DEBUG);
    assert_load_error!(
        link_program(&image),
        LoadError::MissingDynamicEntry { tag: "DT_HASH or DT_GNU_HASH", .. },
        PROGRAM,
        hex(image.layout.dynamic)
    );
    let mut image = program().build();
    image.set_dynamic_tag(DT_RELASZ, DT_DEBUG);
    assert_load_error!(
        link_program(&image),
        LoadError::MissingDynamicEntry { tag: "DT_RELASZ", .. },
        PROGRAM
    );
}

#[test]
fn bad_entry_size() {
    for (tag, name) in [(DT_SYMENT, "DT_SYMENT"), (DT_RELAENT, "DT_RELAENT")] {
        let mut image = program().build();
        image.set_dynamic_value(tag, 16);
        assert_load_error!(
            link_program(&image),
            LoadError::BadEntrySize { tag, size: 16, expected: 24, .. } if tag == name,
            PROGRAM,
            name,
            hex(image.layout.dynamic_entry(tag))
        );
    }
}

#[test]
fn bad_table_size() {
    let mut image = program().build();
    image.set_dynamic_value(DT_RELASZ, 25);
    assert_load_error!(
        link_program(&image),
        LoadError::BadTableSize { tag: "DT_RELASZ", size: 25, .. },
        PROGRAM,
        hex(image.layout.dynamic_entry(DT_RELASZ))
    );
}

#[test]
fn rel_relocations() {
    let mut image = program().build();
    let entry = image.layout.dynamic_entry(DT_RELA);
    image.set_dynamic_tag(DT_RELA, DT_REL);
    assert_load_error!(
        link_program(&image),
        LoadError::RelRelocations { tag: "DT_REL", .. },
        PROGRAM,
        hex(entry),
        "only RELA"
    );
    let mut image = program().build();
    image.set_dynamic_value(DT_PLTREL, DT_REL);
    assert_load_error!(
        link_program(&image),
        LoadError::RelRelocations { tag: "DT_PLTREL", .. },
        PROGRAM,
        hex(image.layout.dynamic_entry(DT_PLTREL))
    );
}

#[test]
fn packed_relocations() {
    let mut image = program().build();
    let entry = image.layout.dynamic_entry(DT_SYMENT);
    image.set_dynamic_tag(DT_SYMENT, DT_RELR);
    assert_load_error!(
        link_program(&image),
        LoadError::PackedRelocations { tag: "DT_RELR", .. },
        PROGRAM,
        hex(entry),
        "pack-relative-relocs"
    );
}

#[test]
fn unmapped_address() {
    let mut image = program().build();
    image.set_dynamic_value(DT_SYMTAB, 0x90_0000);
    assert_load_error!(
        link_program(&image),
        LoadError::UnmappedAddress { tag: "DT_SYMTAB", address: 0x90_0000, .. },
        PROGRAM,
        "0x900000",
        hex(image.layout.dynamic_entry(DT_SYMTAB))
    );
    // An address in .bss is mapped in memory but has no file contents.
    let mut image = program().build();
    let bss = image.layout.data_segment + image.layout.data_file_size;
    image.set_dynamic_value(DT_STRTAB, bss);
    assert_load_error!(
        link_program(&image),
        LoadError::UnmappedAddress { tag: "DT_STRTAB", .. },
        PROGRAM,
        hex(bss)
    );
}

#[test]
fn table_out_of_file() {
    let mut image = program().build();
    image.set_dynamic_value(DT_RELASZ, 24 * 1000);
    assert_load_error!(
        link_program(&image),
        LoadError::TableOutOfFile { tag: "DT_RELA", size: 24000, .. },
        PROGRAM,
        hex(image.layout.rela)
    );
    let mut image = program().build();
    image.set_u32(image.layout.hash.unwrap() + 4, 1000);
    assert_load_error!(
        link_program(&image),
        LoadError::TableOutOfFile { tag: "DT_SYMTAB", size: 24000, .. },
        PROGRAM,
        hex(image.layout.dynsym)
    );
}

#[test]
fn bad_gnu_hash_bucket() {
    let mut builder = program();
    builder.hash_style = HashStyle::Gnu;
    let mut image = builder.build();
    let gnu_hash = image.layout.gnu_hash.unwrap();
    image.set_u32(gnu_hash + 4, 100);
    assert_load_error!(
        link_program(&image),
        LoadError::BadGnuHashBucket { symbol_offset: 100, .. },
        PROGRAM,
        hex(gnu_hash)
    );
}

#[test]
fn string_out_of_table() {
    let mut image = library().build();
    let past_end = image.layout.dynstr_size + 5;
    image.set_dynamic_value(DT_SONAME, past_end);
    assert_load_error!(
        link_library(&image),
        LoadError::StringOutOfTable { .. },
        LIBRARY,
        hex(past_end),
        hex(image.layout.dynstr)
    );
}

#[test]
fn unterminated_string() {
    let mut image = program().build();
    let size = image.layout.dynstr_size;
    image.set_dynamic_value(DT_STRSZ, size - 1);
    let last = image.layout.symbol_order.last().unwrap().clone();
    let offset = image.layout.string(&last);
    assert_load_error!(
        link_program(&image),
        LoadError::UnterminatedString { file_offset, .. } if file_offset == offset,
        PROGRAM,
        hex(offset)
    );
}

#[test]
fn invalid_string() {
    let mut image = program().build();
    let offset = image.layout.string("main");
    image.set_u8(offset, 0xff);
    assert_load_error!(link_program(&image), LoadError::InvalidString { file_offset, .. } if file_offset == offset, PROGRAM, hex(offset));
}

#[test]
fn symbol_out_of_image() {
    let mut image = program().build();
    let entry = image.layout.symbol_entry("main");
    let outside = image.layout.image_size + 0x1000;
    image.set_u64(entry + 8, outside);
    assert_load_error!(
        link_program(&image),
        LoadError::SymbolOutOfImage { value, .. } if value == outside,
        PROGRAM,
        "main",
        hex(entry),
        hex(outside)
    );
}

#[test]
fn names_too_long() {
    // A thousand symbols that all name one 2000-byte string: 2 MB of names from a
    // 2 kB table.
    let mut builder = program();
    let long_name = "n".repeat(2000);
    for _ in 0..1000 {
        builder.symbols.push(SymbolSpec::new(&long_name, Definition::Undefined, STB_GLOBAL, STT_NOTYPE, 0));
    }
    let image = builder.build();
    assert_load_error!(
        link_program(&image),
        LoadError::NamesTooLong { table_file_offset, .. } if table_file_offset == image.layout.dynstr,
        PROGRAM,
        hex(image.layout.dynstr)
    );
}
