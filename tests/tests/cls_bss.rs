//! Zero-initialised compartment-local storage costs no file bytes: every ORC object the
//! build makes (the examples, musl's `libc.so`, ffmpeg's libraries, for the host and for
//! AArch64) has its `.cls.bss` as NOBITS, in the writable segment that holds its
//! `.cls.data`, and a library with megabytes of zero templates stays small.

use std::path::{Path, PathBuf};

use tests::{build_examples, root};

const SHT_NOBITS: u32 = 8;
const PT_LOAD: u32 = 1;

fn word(bytes: &[u8], offset: usize, width: usize) -> u64 {
    let mut value = [0u8; 8];
    value[..width].copy_from_slice(&bytes[offset..offset + width]);
    u64::from_le_bytes(value)
}

/// A section: its type, address and size.
struct Section {
    kind: u32,
    address: u64,
    size: u64,
}

/// The section named `wanted` of the ELF64 file `bytes`, if it has one.
fn section(bytes: &[u8], wanted: &str) -> Option<Section> {
    let (table, count, names_index) = (word(bytes, 40, 8) as usize, word(bytes, 60, 2), word(bytes, 62, 2));
    let header = |index: u64| &bytes[table + index as usize * 64..][..64];
    let names = word(header(names_index), 24, 8) as usize;
    (0..count).map(header).find_map(|header| {
        let name = &bytes[names + word(header, 0, 4) as usize..];
        let name = &name[..name.iter().position(|&byte| byte == 0)?];
        (name == wanted.as_bytes()).then(|| Section {
            kind: word(header, 4, 4) as u32,
            address: word(header, 16, 8),
            size: word(header, 32, 8),
        })
    })
}

/// The `PT_LOAD` segments: (address, file size, memory size).
fn loads(bytes: &[u8]) -> Vec<(u64, u64, u64)> {
    let (table, count) = (word(bytes, 32, 8) as usize, word(bytes, 56, 2) as usize);
    (0..count)
        .map(|index| &bytes[table + index * 56..][..56])
        .filter(|header| word(header, 0, 4) as u32 == PT_LOAD)
        .map(|header| (word(header, 16, 8), word(header, 32, 8), word(header, 40, 8)))
        .collect()
}

/// The ELF files under `directory` (not recursively).
fn elf_files(directory: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(directory) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x7fELF")))
        .filter(|path| path.extension().is_none_or(|extension| extension != "o"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_orc_objects_zero_templates_take_no_file_bytes() {
    build_examples();
    let mut directories: Vec<PathBuf> = Vec::new();
    for example in std::fs::read_dir(root().join("examples")).unwrap().flatten() {
        for build in ["build", "build-O0", "build-aarch64"] {
            directories.push(example.path().join(build));
        }
    }
    for target in ["x86_64-unknown-none", "aarch64-unknown-none"] {
        directories.push(root().join("target/cvm-libc").join(target));
        directories.push(root().join("target/cvm-ffmpeg").join(target).join("reduced/objects"));
    }
    let mut checked = Vec::new();
    for file in directories.iter().flat_map(|directory| elf_files(directory)) {
        let bytes = std::fs::read(&file).unwrap();
        let Some(bss) = section(&bytes, ".cls.bss") else { continue };
        assert_eq!(bss.kind, SHT_NOBITS, "{}: .cls.bss is not NOBITS", file.display());
        // It ends the memory of a writable segment, beyond that segment's file bytes.
        let segment = loads(&bytes).into_iter().find(|&(address, _, memory)| {
            bss.address >= address && bss.address + bss.size <= address + memory
        });
        let (address, file_size, _) =
            segment.unwrap_or_else(|| panic!("{}: .cls.bss in no segment", file.display()));
        assert!(address + file_size <= bss.address, "{}: .cls.bss has file bytes", file.display());
        if let Some(data) = section(&bytes, ".cls.data") {
            assert!(data.address + data.size <= bss.address, "{}", file.display());
        }
        checked.push((file, bytes.len() as u64, bss.size));
    }
    let names: Vec<String> = checked.iter().map(|(file, ..)| file.display().to_string()).collect();
    for wanted in ["orc-counter/build/libcounter.so", "cvm-libc/x86_64-unknown-none/libc.so", "libavcodec.so"]
    {
        assert!(names.iter().any(|name| name.contains(wanted)), "{wanted} not among {names:?}");
    }
    // libavcodec's and libavutil's templates are over a mebibyte of zeros each.
    let (file, length, zeros) = checked
        .iter()
        .find(|(file, ..)| file.to_string_lossy().contains("x86_64-unknown-none/reduced/objects/libavutil"))
        .expect("ffmpeg's libavutil was built");
    assert!(*zeros > 1 << 20, "{}: {zeros} bytes of .cls.bss", file.display());
    assert!(*length < 1 << 20, "{}: {length} bytes", file.display());
}
