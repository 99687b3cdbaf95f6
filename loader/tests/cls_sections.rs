//! Compartment-local storage templates: found by name in the section headers, each
//! inside a writable segment; and one corruption test per section-header check.

mod common;

use common::*;
use loader::LoadError;

/// Appends a section name table and section headers (index 0 null, then `sections`,
/// then the name table) to `image` and points the ELF header at them.
fn with_sections(image: &mut Image, sections: &[(&str, u64, u64)]) -> u64 {
    let mut names = vec![0u8];
    let mut name_offsets = Vec::new();
    for (name, _, _) in sections.iter().copied().chain([(".shstrtab", 0, 0)]) {
        name_offsets.push(names.len() as u32);
        names.extend_from_slice(name.as_bytes());
        names.push(0);
    }
    let names_offset = image.bytes.len() as u64;
    image.bytes.extend_from_slice(&names);
    while !image.bytes.len().is_multiple_of(8) {
        image.bytes.push(0);
    }
    let table = image.bytes.len() as u64;
    image.bytes.extend_from_slice(&[0; 64]);
    for (index, (_, address, size)) in sections.iter().enumerate() {
        let mut header = [0u8; 64];
        header[0..4].copy_from_slice(&name_offsets[index].to_le_bytes());
        header[4..8].copy_from_slice(&1u32.to_le_bytes());
        header[16..24].copy_from_slice(&address.to_le_bytes());
        header[32..40].copy_from_slice(&size.to_le_bytes());
        image.bytes.extend_from_slice(&header);
    }
    let mut names_header = [0u8; 64];
    names_header[0..4].copy_from_slice(&name_offsets[sections.len()].to_le_bytes());
    names_header[4..8].copy_from_slice(&3u32.to_le_bytes());
    names_header[24..32].copy_from_slice(&names_offset.to_le_bytes());
    names_header[32..40].copy_from_slice(&(names.len() as u64).to_le_bytes());
    image.bytes.extend_from_slice(&names_header);
    let count = sections.len() as u16 + 2;
    image.set_u64(40, table);
    image.set_u16(58, 64);
    image.set_u16(60, count);
    image.set_u16(62, count - 1);
    table
}

#[test]
fn templates_are_found_by_section_name() {
    let mut builder = library();
    builder.data_size = 64;
    let mut image = builder.build();
    let (data, text) = (image.layout.data, image.layout.text);
    with_sections(&mut image, &[(".text", text, 16), (".cls.bss", data + 16, 8), (".cls.data", data, 16)]);
    let plan = link_library(&image).unwrap();
    let library = plan.objects.iter().find(|object| object.name == LIBRARY).unwrap();
    assert_eq!(library.cls_templates, [(data, 16), (data + 16, 8)]);
}

#[test]
fn objects_without_section_headers_have_no_templates() {
    let image = library().build();
    let plan = link_library(&image).unwrap();
    assert!(plan.objects.iter().all(|object| object.cls_templates.is_empty()));
}

#[test]
fn a_template_outside_writable_memory_is_refused() {
    let mut image = library().build();
    let text = image.layout.text;
    with_sections(&mut image, &[(".cls.data", text, 16)]);
    assert_load_error!(
        link_library(&image),
        LoadError::ClsTemplateNotWritable { .. },
        LIBRARY,
        ".cls.data",
        hex(text)
    );
}

#[test]
fn bad_section_header_size() {
    let mut image = library().build();
    with_sections(&mut image, &[]);
    image.set_u16(58, 40);
    assert_load_error!(
        link_library(&image),
        LoadError::BadSectionHeaderSize { size: 40, .. },
        LIBRARY,
        "0x3a"
    );
}

#[test]
fn section_headers_out_of_file() {
    let mut image = library().build();
    let table = with_sections(&mut image, &[]);
    image.set_u16(60, 200);
    image.set_u16(62, 1);
    assert_load_error!(
        link_library(&image),
        LoadError::SectionHeadersOutOfFile { count: 200, .. },
        LIBRARY,
        hex(table)
    );
}

#[test]
fn section_name_out_of_table() {
    let mut image = library().build();
    let table = with_sections(&mut image, &[(".cls.data", 0, 0)]);
    // Section 1's name offset points far past the name table.
    image.set_u32(table + 64, 0x10000);
    assert_load_error!(
        link_library(&image),
        LoadError::SectionNameOutOfTable { section: 1, .. },
        LIBRARY,
        hex(table + 64)
    );
    let mut image = library().build();
    with_sections(&mut image, &[]);
    image.set_u16(62, 9);
    assert_load_error!(
        link_library(&image),
        LoadError::SectionNameOutOfTable { section: 9, .. },
        LIBRARY,
        "0x3e"
    );
}
