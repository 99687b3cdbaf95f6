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

/// The program with its `PT_GNU_STACK` header turned into a `PT_TLS` of `file_size` and
/// `memory_size` bytes at the start of its data, aligned to `alignment`.
fn with_tls(file_size: u64, memory_size: u64, alignment: u64) -> Image {
    let mut image = program().build();
    let header = image.layout.program_header_count - 1;
    let data = image.layout.data;
    image.set_program_header_u32(header, P_TYPE, PT_TLS);
    image.set_program_header_u64(header, P_VADDR, data);
    image.set_program_header_u64(header, P_FILESZ, file_size);
    image.set_program_header_u64(header, P_MEMSZ, memory_size);
    image.set_program_header_u64(header, P_ALIGN, alignment);
    image
}

#[test]
fn a_program_block_ends_at_the_thread_pointer_on_x86_64() {
    let image = with_tls(8, 24, 16);
    let plan = link_program(&image).expect("the TLS block is good");
    let data = image.layout.data;
    // lld's and musl's variant II: the block ends at the thread pointer, its address
    // congruent to p_vaddr modulo its alignment.
    let offset = 24 + (0u64.wrapping_sub(data).wrapping_sub(24) & 15);
    assert_eq!(
        plan.tls,
        [loader::TlsModule {
            object: 0,
            image_offset: data,
            file_size: 8,
            memory_size: 24,
            alignment: 16,
            offset
        }]
    );
    assert_eq!(offset.wrapping_neg() % 16, data % 16);
}

#[test]
fn thread_local_storage_headers_are_checked() {
    assert_load_error!(
        link_program(&with_tls(8, 24, 3)),
        LoadError::TlsAlignment { index: 5, alignment: 3, .. },
        PROGRAM,
        "program header 5",
        "alignment 0x3"
    );
    assert_load_error!(
        link_program(&with_tls(8, 24, 0x2000)),
        LoadError::TlsAlignment { alignment: 0x2000, .. },
        PROGRAM,
        "at most 0x1000"
    );
    assert_load_error!(
        link_program(&with_tls(32, 16, 8)),
        LoadError::FileSizeExceedsMemorySize { index: 5, file_size: 32, memory_size: 16, .. },
        PROGRAM,
        "program header 5"
    );
    assert_load_error!(
        link_program(&with_tls(8, (1 << 20) + 1, 8)),
        LoadError::TlsTooLarge { size: 1_048_577, .. },
        PROGRAM,
        "1048576 bytes"
    );
    let past_file = with_tls(0, 0, 8).layout.data_file_size + 1;
    assert_load_error!(
        link_program(&with_tls(past_file, past_file, 8)),
        LoadError::TlsOutsideSegments { index: 5, .. },
        PROGRAM,
        "program header 5",
        "initialisation image"
    );
    // Morello purecap code's TLS relocations are not implemented: refused by name.
    let mut purecap = with_tls(8, 24, 8);
    purecap.set_u16(18, EM_AARCH64);
    purecap.set_u32(48, 0x1_0000); // e_flags: EF_AARCH64_CHERI_PURECAP
    let data = purecap.layout.data;
    assert_load_error!(
        loader::parse_object(loader::ObjectInput { name: PROGRAM, bytes: &purecap.bytes }),
        LoadError::ThreadLocalStorage { address, .. } if address == data,
        PROGRAM,
        "Morello purecap"
    );
    let mut twice = with_tls(8, 24, 8);
    let stack = twice.layout.program_header_count - 1;
    let relro = RELRO;
    for field in [P_VADDR, P_FILESZ, P_MEMSZ, P_ALIGN] {
        let value = twice.u64_at(twice.layout.program_header(stack) + field);
        twice.set_program_header_u64(relro, field, value);
    }
    twice.set_program_header_u32(relro, P_TYPE, PT_TLS);
    assert_load_error!(
        link_program(&twice),
        LoadError::DuplicateProgramHeader { kind: "PT_TLS", index: 5, .. },
        PROGRAM,
        "second PT_TLS"
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
