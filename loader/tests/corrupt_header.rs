//! One corruption per check of the ELF header and the program headers: each test builds a
//! good image, breaks exactly one field, and asserts the exact error and that its message
//! names the object and the offending offset or address.

mod common;

use common::*;
use loader::LoadError;

#[test]
fn bad_magic() {
    let mut image = program().build();
    image.set_u8(3, b'G');
    assert_load_error!(
        link_program(&image),
        LoadError::BadMagic { found: [0x7f, b'E', b'L', b'G'], .. },
        PROGRAM,
        "0x0"
    );
}

#[test]
fn truncated_header() {
    let mut image = program().build();
    image.bytes.truncate(63);
    assert_load_error!(
        link_program(&image),
        LoadError::TruncatedHeader { length: 63, .. },
        PROGRAM,
        "0x0",
        "63 bytes"
    );
}

#[test]
fn not_elf64() {
    let mut image = program().build();
    image.set_u8(4, 1);
    assert_load_error!(link_program(&image), LoadError::NotElf64 { class: 1, .. }, PROGRAM, "0x4");
}

#[test]
fn not_little_endian() {
    let mut image = program().build();
    image.set_u8(5, 2);
    assert_load_error!(link_program(&image), LoadError::NotLittleEndian { encoding: 2, .. }, PROGRAM, "0x5");
}

#[test]
fn bad_version() {
    let mut image = program().build();
    image.set_u8(6, 0);
    assert_load_error!(link_program(&image), LoadError::BadVersion { file_offset: 6, .. }, PROGRAM, "0x6");
    let mut image = program().build();
    image.set_u32(20, 2);
    assert_load_error!(link_program(&image), LoadError::BadVersion { version: 2, .. }, PROGRAM, "0x14");
}

#[test]
fn not_position_independent() {
    let mut image = program().build();
    image.set_u16(16, 2); // ET_EXEC
    assert_load_error!(
        link_program(&image),
        LoadError::NotPositionIndependent { elf_type: 2, .. },
        PROGRAM,
        "0x10",
        "-fPIE -pie or -shared"
    );
}

#[test]
fn unsupported_machine() {
    let mut image = program().build();
    image.set_u16(18, 40); // EM_ARM
    assert_load_error!(
        link_program(&image),
        LoadError::UnsupportedMachine { machine: 40, .. },
        PROGRAM,
        "0x12"
    );
}

#[test]
fn machine_mismatch() {
    // Changing only e_machine would make the relocation types foreign; build it for AArch64.
    let mut builder = library();
    builder.machine = EM_AARCH64;
    let image = builder.build();
    assert_load_error!(
        link_library(&image),
        LoadError::MachineMismatch {
            machine: loader::Machine::Aarch64,
            expected: loader::Machine::X86_64,
            ..
        },
        LIBRARY,
        PROGRAM,
        "0x12"
    );
}

#[test]
fn bad_program_header_size() {
    let mut image = program().build();
    image.set_u16(54, 55);
    assert_load_error!(
        link_program(&image),
        LoadError::BadProgramHeaderSize { size: 55, .. },
        PROGRAM,
        "0x36"
    );
}

#[test]
fn program_headers_out_of_file() {
    let mut image = program().build();
    let offset = image.bytes.len() as u64 - 8;
    image.set_u64(32, offset);
    assert_load_error!(link_program(&image), LoadError::ProgramHeadersOutOfFile { .. }, PROGRAM, hex(offset));
}

#[test]
fn segment_out_of_file() {
    let mut image = program().build();
    let past_end = image.bytes.len() as u64;
    image.set_program_header_u64(LOAD_TEXT, P_OFFSET, past_end);
    assert_load_error!(
        link_program(&image),
        LoadError::SegmentOutOfFile { index: LOAD_TEXT, .. },
        PROGRAM,
        "program header 1",
        hex(past_end)
    );
    let mut image = program().build();
    image.set_program_header_u64(DYNAMIC, P_FILESZ, 0x10_0000);
    assert_load_error!(
        link_program(&image),
        LoadError::SegmentOutOfFile { index: DYNAMIC, .. },
        PROGRAM,
        hex(image.layout.dynamic)
    );
}

#[test]
fn file_size_exceeds_memory_size() {
    let mut image = program().build();
    image.set_program_header_u64(LOAD_TEXT, P_MEMSZ, 31);
    assert_load_error!(
        link_program(&image),
        LoadError::FileSizeExceedsMemorySize { index: LOAD_TEXT, file_size: 32, memory_size: 31, .. },
        PROGRAM,
        hex(image.layout.text)
    );
}

#[test]
fn segment_address_overflow() {
    let mut image = program().build();
    let address = !0xfff_u64;
    image.set_program_header_u64(LOAD_DATA, P_VADDR, address);
    assert_load_error!(
        link_program(&image),
        LoadError::SegmentAddressOverflow { index: LOAD_DATA, .. },
        PROGRAM,
        hex(address)
    );
}

#[test]
fn writable_and_executable() {
    let mut image = program().build();
    image.set_program_header_u32(LOAD_TEXT, P_FLAGS, PF_R | PF_W | PF_X);
    assert_load_error!(
        link_program(&image),
        LoadError::WritableAndExecutable { index: LOAD_TEXT, .. },
        PROGRAM,
        hex(image.layout.text)
    );
}

#[test]
fn misaligned_segment() {
    for (field, value) in [(P_ALIGN, 0x1001), (P_ALIGN, 0x800), (P_ALIGN, 0), (P_VADDR, 0x1010)] {
        let mut image = program().build();
        image.set_program_header_u64(LOAD_TEXT, field, value);
        assert_load_error!(
            link_program(&image),
            LoadError::MisalignedSegment { index: LOAD_TEXT, .. },
            PROGRAM,
            hex(image.layout.text)
        );
    }
}

#[test]
fn overlapping_segments() {
    let mut image = program().build();
    let text = image.layout.text;
    image.set_program_header_u64(LOAD_DATA, P_VADDR, text);
    assert_load_error!(
        link_program(&image),
        LoadError::OverlappingSegments { first: LOAD_TEXT, second: LOAD_DATA, .. },
        PROGRAM,
        hex(text)
    );
}

#[test]
fn no_loadable_segment() {
    let mut image = program().build();
    for index in [LOAD_READ, LOAD_TEXT, LOAD_DATA] {
        image.set_program_header_u32(index, P_TYPE, PT_NOTE);
    }
    assert_load_error!(link_program(&image), LoadError::NoLoadableSegment { .. }, PROGRAM, "PT_LOAD");
}

#[test]
fn thread_local_storage() {
    let mut image = program().build();
    let stack = image.layout.program_header_count - 1;
    image.set_program_header_u32(stack, P_TYPE, PT_TLS);
    assert_load_error!(
        link_program(&image),
        LoadError::ThreadLocalStorage { .. },
        PROGRAM,
        "program header 5",
        "thread-local storage is not supported yet"
    );
}

#[test]
fn duplicate_program_header() {
    let mut image = program().build();
    let stack = image.layout.program_header_count - 1;
    image.set_program_header_u32(stack, P_TYPE, PT_DYNAMIC);
    assert_load_error!(
        link_program(&image),
        LoadError::DuplicateProgramHeader { kind: "PT_DYNAMIC", index: 5, .. },
        PROGRAM,
        "program header 5"
    );
}

#[test]
fn relro_outside_segments() {
    let mut image = program().build();
    image.set_program_header_u64(RELRO, P_MEMSZ, 0x10_0000);
    assert_load_error!(
        link_program(&image),
        LoadError::RelroOutsideSegments { index: RELRO, .. },
        PROGRAM,
        hex(image.layout.data_segment)
    );
}

#[test]
fn missing_dynamic_section() {
    let mut image = program().build();
    image.set_program_header_u32(DYNAMIC, P_TYPE, PT_NOTE);
    assert_load_error!(link_program(&image), LoadError::MissingDynamicSection { .. }, PROGRAM, "PT_DYNAMIC");
}

#[test]
fn entry_not_executable() {
    let mut image = program().build();
    let data = image.layout.data;
    image.set_u64(24, data);
    assert_load_error!(
        link_program(&image),
        LoadError::EntryNotExecutable { .. },
        PROGRAM,
        hex(data),
        "0x18"
    );
}
