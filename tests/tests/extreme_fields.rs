//! Every size, address, offset and count a file states, set to the extremes of its type
//! (0, 1, the largest signed and unsigned values, one page and one word below the top):
//! each field of the ELF header, of every program and section header, of the dynamic
//! entries, symbols and relocations of real objects (through the `object` fuzz target:
//! parsed, planned and laid out, private and shared, with its invariants); each numeric
//! field of a deployment (refused with an error naming the field, or taken as said); and
//! each word of an image manifest (decoded or refused). Nothing overflows or panics.

use std::panic::{catch_unwind, AssertUnwindSafe};

use loader::{LoadError, ObjectInput};
use tests::{build_examples, root};

/// The values a field of `width` bytes is set to.
fn extremes(width: usize) -> Vec<u64> {
    let max = if width == 8 { u64::MAX } else { (1u64 << (8 * width)) - 1 };
    let sign = 1u64 << (8 * width - 1);
    let mut values = vec![0, 1, 2, sign - 1, sign, max - 7, max];
    if width == 8 {
        values.extend([max - 0xfff, u64::from(u32::MAX), u64::from(u32::MAX) + 1]);
    }
    values.sort_unstable();
    values.dedup();
    values
}

/// A field of a file: where it is, how wide, and what it is called.
struct Field {
    name: String,
    offset: usize,
    width: usize,
}

fn read(bytes: &[u8], offset: usize, width: usize) -> u64 {
    let mut word = [0u8; 8];
    word[..width].copy_from_slice(&bytes[offset..offset + width]);
    u64::from_le_bytes(word)
}

fn write(bytes: &mut [u8], offset: usize, width: usize, value: u64) {
    bytes[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// The fields of a table of `count` entries of `size` bytes at `offset`, each entry's
/// fields given as (name, offset in the entry, width); at most 16 entries.
fn table(
    fields: &mut Vec<Field>,
    table: &str,
    offset: u64,
    count: u64,
    size: usize,
    layout: &[(&str, usize, usize)],
) {
    for index in 0..count.min(16) as usize {
        for &(name, within, width) in layout {
            let offset = offset as usize + index * size + within;
            fields.push(Field { name: format!("{table}[{index}].{name}"), offset, width });
        }
    }
}

const ELF_HEADER: &[(&str, usize, usize)] = &[
    ("e_type", 16, 2),
    ("e_machine", 18, 2),
    ("e_version", 20, 4),
    ("e_entry", 24, 8),
    ("e_phoff", 32, 8),
    ("e_shoff", 40, 8),
    ("e_flags", 48, 4),
    ("e_ehsize", 52, 2),
    ("e_phentsize", 54, 2),
    ("e_phnum", 56, 2),
    ("e_shentsize", 58, 2),
    ("e_shnum", 60, 2),
    ("e_shstrndx", 62, 2),
];
const PROGRAM_HEADER: &[(&str, usize, usize)] = &[
    ("p_type", 0, 4),
    ("p_flags", 4, 4),
    ("p_offset", 8, 8),
    ("p_vaddr", 16, 8),
    ("p_paddr", 24, 8),
    ("p_filesz", 32, 8),
    ("p_memsz", 40, 8),
    ("p_align", 48, 8),
];
const SECTION_HEADER: &[(&str, usize, usize)] = &[
    ("sh_name", 0, 4),
    ("sh_type", 4, 4),
    ("sh_flags", 8, 8),
    ("sh_addr", 16, 8),
    ("sh_offset", 24, 8),
    ("sh_size", 32, 8),
    ("sh_link", 40, 4),
    ("sh_info", 44, 4),
    ("sh_addralign", 48, 8),
    ("sh_entsize", 56, 8),
];
const DYNAMIC: &[(&str, usize, usize)] = &[("d_tag", 0, 8), ("d_val", 8, 8)];
const SYMBOL: &[(&str, usize, usize)] = &[
    ("st_name", 0, 4),
    ("st_info", 4, 1),
    ("st_other", 5, 1),
    ("st_shndx", 6, 2),
    ("st_value", 8, 8),
    ("st_size", 16, 8),
];
const RELOCATION: &[(&str, usize, usize)] = &[("r_offset", 0, 8), ("r_info", 8, 8), ("r_addend", 16, 8)];

/// Every field of `bytes`, an ELF64 object the loader accepts.
fn elf_fields(bytes: &[u8]) -> Vec<Field> {
    let mut fields = Vec::new();
    table(&mut fields, "header", 0, 1, 64, ELF_HEADER);
    let (program_headers, program_count) = (read(bytes, 32, 8), read(bytes, 56, 2));
    table(&mut fields, "phdr", program_headers, program_count, 56, PROGRAM_HEADER);
    for index in 0..program_count as usize {
        let header = program_headers as usize + index * 56;
        if read(bytes, header, 4) == 2 {
            let (offset, size) = (read(bytes, header + 8, 8), read(bytes, header + 32, 8));
            table(&mut fields, "dynamic", offset, size / 16, 16, DYNAMIC);
        }
    }
    let (section_headers, section_count) = (read(bytes, 40, 8), read(bytes, 60, 2));
    table(&mut fields, "shdr", section_headers, section_count, 64, SECTION_HEADER);
    for index in 0..section_count as usize {
        let header = section_headers as usize + index * 64;
        let (kind, offset, size) =
            (read(bytes, header + 4, 4), read(bytes, header + 24, 8), read(bytes, header + 32, 8));
        match kind {
            // SHT_DYNSYM
            11 => table(&mut fields, &format!("section{index}.symbol"), offset, size / 24, 24, SYMBOL),
            // SHT_RELA
            4 => table(&mut fields, &format!("section{index}.rela"), offset, size / 24, 24, RELOCATION),
            _ => {}
        }
    }
    fields
}

/// The orc-counter program and its libraries: the object target pairs a fuzzed object
/// with them.
fn objects() -> Vec<(&'static str, Vec<u8>)> {
    build_examples();
    let build = root().join("examples/orc-counter/build");
    ["counter", "libcounter.so", "libother.so", "libcvm.so"]
        .into_iter()
        .map(|name| (name, std::fs::read(build.join(name)).unwrap()))
        .collect()
}

#[test]
fn every_field_of_an_object_at_its_extremes_is_refused_or_laid_out_safely() {
    let mut variants = 0;
    let mut refused = 0;
    for (name, original) in objects() {
        let fields = elf_fields(&original);
        assert!(fields.len() > 100, "{name}: only {} fields found", fields.len());
        for field in &fields {
            for value in extremes(field.width) {
                let mut bytes = original.clone();
                write(&mut bytes, field.offset, field.width, value);
                let outcome = catch_unwind(AssertUnwindSafe(|| fuzz_targets::run("object", &bytes)));
                if let Err(panic) = outcome {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                        .unwrap_or_default();
                    panic!("{name}: {} = {value:#x}: {message}", field.name);
                }
                variants += 1;
                refused += usize::from(loader::parse_object(ObjectInput { name, bytes: &bytes }).is_err());
            }
        }
    }
    // The sweep reaches the loader's checks, not just its first one.
    assert!(variants > 5_000, "{variants} variants");
    assert!(refused > variants / 10 && refused < variants, "{refused} of {variants} refused");
}

/// The fields that say where and how large things are get the precise error.
#[test]
fn extreme_sizes_and_offsets_in_an_object_get_the_error_that_names_them() {
    let original = objects().remove(1).1;
    let set = |offset: usize, width: usize, value: u64| {
        let mut bytes = original.clone();
        write(&mut bytes, offset, width, value);
        loader::parse_object(ObjectInput { name: "libcounter.so", bytes: &bytes }).unwrap_err()
    };
    let length = original.len() as u64;
    let phnum = read(&original, 56, 2) as u16;
    assert_eq!(
        set(32, 8, u64::MAX),
        LoadError::ProgramHeadersOutOfFile {
            object: "libcounter.so".into(),
            offset: u64::MAX,
            count: phnum,
            file_length: length
        }
    );
    let shnum = read(&original, 60, 2) as u16;
    assert_eq!(
        set(40, 8, u64::MAX - 0xfff),
        LoadError::SectionHeadersOutOfFile {
            object: "libcounter.so".into(),
            offset: u64::MAX - 0xfff,
            count: shnum,
            file_length: length
        }
    );
    // The first PT_LOAD: its file range, then its memory range.
    let phoff = read(&original, 32, 8) as usize;
    let load = (0..phnum as usize)
        .map(|index| phoff + index * 56)
        .find(|&header| read(&original, header, 4) == 1)
        .unwrap();
    let index = (load - phoff) / 56;
    let vaddr = read(&original, load + 16, 8);
    assert!(matches!(
        set(load + 32, 8, u64::MAX),
        LoadError::SegmentOutOfFile { index: found, file_size: u64::MAX, .. } if found == index
    ));
    assert_eq!(
        set(load + 40, 8, u64::MAX),
        LoadError::SegmentAddressOverflow {
            object: "libcounter.so".into(),
            index,
            address: vaddr,
            memory_size: u64::MAX
        }
    );
    assert_eq!(
        set(54, 2, u64::from(u16::MAX)),
        LoadError::BadProgramHeaderSize { object: "libcounter.so".into(), size: u16::MAX }
    );
}

/// Each numeric field of a deployment, written as the extremes a YAML scalar can say:
/// refused with an error that names the cVM and the field, or taken as said.
#[test]
fn every_numeric_field_of_a_deployment_at_its_extremes_is_refused_by_name_or_bounded() {
    let fields = [
        ("size", "isolation:\n      size: {}"),
        ("stack", "isolation:\n      size: 8M\n    stack: {}"),
        ("cpu_seconds", "isolation:\n      size: 8M\n      cpu_seconds: {}"),
        ("wall_seconds", "isolation:\n      size: 8M\n      wall_seconds: {}"),
        ("console_bytes", "isolation:\n      size: 8M\n      console_bytes: {}"),
        ("output_bytes", "isolation:\n      size: 8M\n      output_bytes: {}"),
        ("open_files", "isolation:\n      size: 8M\n      open_files: {}"),
        ("threads", "isolation:\n      size: 8M\n      threads: {}"),
        ("wait", "isolation:\n      size: 8M\n    wait: {}"),
    ];
    let values = [
        "0",
        "1",
        "-1",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "0xffffffffffffffff",
        "0xfffffffffffff000",
        "0x8000000000000000",
        "16E",
        "17179869184G",
        "1e400",
        "0.5",
    ];
    let file = root().join("examples/files/deploy.yaml");
    let mut refused = 0;
    for (field, line) in fields {
        for value in values {
            let text = format!(
                "cVMs:\n  - name: extreme\n    runtime: build/files\n    objects: [build/libcvm.so]\n    {}\n",
                line.replace("{}", value)
            );
            let parsed = catch_unwind(|| intravisor::config::parse(&text, &file))
                .unwrap_or_else(|_| panic!("{field}: {value} made validation panic"));
            match parsed {
                Err(error) => {
                    let message = error.to_string();
                    // Named by the cVM, or by its place when the YAML itself is refused.
                    let cvm = message.contains("`extreme`") || message.contains("cVMs[0]");
                    assert!(cvm && message.contains(field), "{field}: {value}: {message}");
                    refused += 1;
                }
                Ok(deployment) => {
                    let cvm = &deployment.cvms[0];
                    assert!(cvm.region_size > cvm.stack_size, "{field}: {value}: the stack fills the region");
                    assert!(cvm.open_files <= 1024 && cvm.threads <= 64, "{field}: {value}: {cvm:?}");
                    assert!(
                        cvm.cpu_seconds.unwrap_or(1) <= 86_400 && cvm.wall_seconds.unwrap_or(1) <= 86_400,
                        "{field}: {value}: {cvm:?}"
                    );
                }
            }
        }
    }
    assert!(refused > fields.len() * values.len() / 2, "only {refused} refused");
    let text = "cVMs:\n  - name: extreme\n    runtime: build/files\n    isolation:\n      size: 18446744073709551616\n";
    assert_eq!(
        intravisor::config::parse(text, &file).unwrap_err().to_string(),
        format!(
            "{}: cVMs[0].isolation.size: 18446744073709551616 does not fit in 64 bits; use a smaller number (at \
             line 5 column 13)",
            file.display()
        )
    );
}

/// Every word of an image manifest (the counts, sizes and indices the bare-metal image
/// decodes at boot), at the extremes of 32 and 64 bits: decoded (and encoding back to
/// the same bytes) or refused.
#[test]
fn every_word_of_a_manifest_at_its_extremes_is_decoded_or_refused() {
    let target = fuzz_targets::Target::named("manifest").unwrap();
    let seed = (target.seeds)().remove(0);
    assert!(intravisor::manifest::decode(&seed).is_ok(), "the seed decodes");
    let mut refused = 0;
    let mut variants = 0;
    for width in [4, 8] {
        for offset in 0..=seed.len() - width {
            for value in extremes(width) {
                let mut bytes = seed.clone();
                write(&mut bytes, offset, width, value);
                catch_unwind(|| (target.run)(&bytes)).unwrap_or_else(|_| {
                    panic!("{width}-byte word at {offset} = {value:#x}: the decoder panicked")
                });
                refused += usize::from(intravisor::manifest::decode(&bytes).is_err());
                variants += 1;
            }
        }
    }
    assert!(refused > variants / 4, "{refused} of {variants} refused");
}
