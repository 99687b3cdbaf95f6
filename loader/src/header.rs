//! The ELF file header and the program headers.
//!
//! [`parse_file_header`] checks the identification bytes and the fields the loader relies
//! on, in file order. [`parse_segments`] reads the program header table and checks every
//! `PT_LOAD` segment on its own (inside the file, `p_filesz <= p_memsz`, no overflow, W^X,
//! alignment) and then against the others (disjoint pages). `PT_DYNAMIC` and
//! `PT_GNU_RELRO` are kept, `PT_TLS` is checked against the loadable segments
//! (`tls.rs`); every other type is ignored.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{page_ceil, page_floor, slice_at, u16_at, u32_at, u64_at, u8_at};
use crate::tls::{check_segment, TlsSegment};
use crate::{LoadError, Machine, Permissions, Segment, PAGE_SIZE};

const ELF_MAGIC: [u8; 4] = *b"\x7fELF";
const ELF_CLASS_64: u8 = 2;
const ELF_DATA_LITTLE_ENDIAN: u8 = 1;
const ELF_VERSION_CURRENT: u8 = 1;
const ELF_TYPE_DYNAMIC: u16 = 3;
const MACHINE_X86_64: u16 = 62;
const MACHINE_AARCH64: u16 = 183;
/// `EF_AARCH64_CHERI_PURECAP` in `e_flags`: an Arm Morello pure-capability object.
const FLAG_AARCH64_CHERI_PURECAP: u32 = 0x0001_0000;
const FILE_HEADER_SIZE: u64 = 64;
const PROGRAM_HEADER_SIZE: u16 = 56;

const SEGMENT_LOAD: u32 = 1;
const SEGMENT_DYNAMIC: u32 = 2;
const SEGMENT_TLS: u32 = 7;
const SEGMENT_GNU_RELRO: u32 = 0x6474_e552;

const FLAG_EXECUTE: u32 = 1;
const FLAG_WRITE: u32 = 2;
const FLAG_READ: u32 = 4;

/// The fields of the ELF header the loader uses.
#[derive(Debug, Clone)]
pub(crate) struct FileHeader {
    pub(crate) machine: Machine,
    pub(crate) entry: u64,
    /// `EF_AARCH64_CHERI_PURECAP` on an AArch64 object.
    pub(crate) purecap: bool,
    pub(crate) program_header_offset: u64,
    pub(crate) program_header_count: u16,
}

/// One program header, as read from the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgramHeader {
    pub(crate) index: usize,
    pub(crate) kind: u32,
    pub(crate) flags: u32,
    pub(crate) file_offset: u64,
    pub(crate) address: u64,
    pub(crate) file_size: u64,
    pub(crate) memory_size: u64,
    pub(crate) alignment: u64,
}

/// The program headers the loader acts on, checked.
#[derive(Debug, Clone)]
pub(crate) struct Segments {
    /// `PT_LOAD` segments with a non-zero `p_memsz`, sorted by address, on disjoint pages.
    pub(crate) loads: Vec<Segment>,
    /// `PT_DYNAMIC`, inside the file.
    pub(crate) dynamic: Option<ProgramHeader>,
    /// `PT_GNU_RELRO` as (address, size), inside the pages of one `PT_LOAD` segment.
    pub(crate) relro: Option<(u64, u64)>,
    /// The end of the highest segment, rounded up to the page size.
    pub(crate) image_size: u64,
    /// `PT_TLS`, checked.
    pub(crate) tls: Option<TlsSegment>,
}

/// Checks the ELF header of `bytes`.
pub(crate) fn parse_file_header(object: &str, bytes: &[u8]) -> Result<FileHeader, LoadError> {
    let object = || String::from(object);
    let length = bytes.len() as u64;
    if let Some(magic) = slice_at(bytes, 0, 4) {
        if magic != ELF_MAGIC {
            let mut found = [0; 4];
            found.copy_from_slice(magic);
            return Err(LoadError::BadMagic { object: object(), found });
        }
    }
    if length < FILE_HEADER_SIZE {
        return Err(LoadError::TruncatedHeader { object: object(), length });
    }
    let truncated = || LoadError::TruncatedHeader { object: object(), length };
    let byte = |offset| u8_at(bytes, offset).ok_or_else(truncated);
    let half = |offset| u16_at(bytes, offset).ok_or_else(truncated);
    let word = |offset| u32_at(bytes, offset).ok_or_else(truncated);
    let double = |offset| u64_at(bytes, offset).ok_or_else(truncated);

    let class = byte(4)?;
    if class != ELF_CLASS_64 {
        return Err(LoadError::NotElf64 { object: object(), class });
    }
    let encoding = byte(5)?;
    if encoding != ELF_DATA_LITTLE_ENDIAN {
        return Err(LoadError::NotLittleEndian { object: object(), encoding });
    }
    let identification_version = byte(6)?;
    if identification_version != ELF_VERSION_CURRENT {
        let version = u32::from(identification_version);
        return Err(LoadError::BadVersion { object: object(), file_offset: 6, version });
    }
    let elf_type = half(16)?;
    if elf_type != ELF_TYPE_DYNAMIC {
        return Err(LoadError::NotPositionIndependent { object: object(), elf_type });
    }
    let machine = match half(18)? {
        MACHINE_X86_64 => Machine::X86_64,
        MACHINE_AARCH64 => Machine::Aarch64,
        machine => return Err(LoadError::UnsupportedMachine { object: object(), machine }),
    };
    let version = word(20)?;
    if version != u32::from(ELF_VERSION_CURRENT) {
        return Err(LoadError::BadVersion { object: object(), file_offset: 20, version });
    }
    let entry = double(24)?;
    let program_header_offset = double(32)?;
    let purecap = machine == Machine::Aarch64 && word(48)? & FLAG_AARCH64_CHERI_PURECAP != 0;
    let size = half(54)?;
    if size != PROGRAM_HEADER_SIZE {
        return Err(LoadError::BadProgramHeaderSize { object: object(), size });
    }
    let program_header_count = half(56)?;
    Ok(FileHeader { machine, entry, purecap, program_header_offset, program_header_count })
}

/// Reads the program header table that `header` describes.
fn read_program_headers(
    object: &str,
    bytes: &[u8],
    header: &FileHeader,
) -> Result<Vec<ProgramHeader>, LoadError> {
    let table_size = u64::from(header.program_header_count) * u64::from(PROGRAM_HEADER_SIZE);
    let table = slice_at(bytes, header.program_header_offset, table_size).ok_or_else(|| {
        LoadError::ProgramHeadersOutOfFile {
            object: String::from(object),
            offset: header.program_header_offset,
            count: header.program_header_count,
            file_length: bytes.len() as u64,
        }
    })?;
    let headers = table
        .chunks_exact(usize::from(PROGRAM_HEADER_SIZE))
        .enumerate()
        .map(|(index, entry)| ProgramHeader {
            index,
            kind: u32_at(entry, 0).unwrap_or_default(),
            flags: u32_at(entry, 4).unwrap_or_default(),
            file_offset: u64_at(entry, 8).unwrap_or_default(),
            address: u64_at(entry, 16).unwrap_or_default(),
            file_size: u64_at(entry, 32).unwrap_or_default(),
            memory_size: u64_at(entry, 40).unwrap_or_default(),
            alignment: u64_at(entry, 48).unwrap_or_default(),
        })
        .collect();
    Ok(headers)
}

/// Checks that the file range of `header` lies inside the file.
fn check_in_file(object: &str, bytes: &[u8], header: &ProgramHeader) -> Result<(), LoadError> {
    match slice_at(bytes, header.file_offset, header.file_size) {
        Some(_) => Ok(()),
        None => Err(LoadError::SegmentOutOfFile {
            object: String::from(object),
            index: header.index,
            file_offset: header.file_offset,
            file_size: header.file_size,
            file_length: bytes.len() as u64,
        }),
    }
}

/// Checks one `PT_LOAD` header on its own and turns it into a [`Segment`].
fn check_load(object: &str, bytes: &[u8], header: &ProgramHeader) -> Result<Segment, LoadError> {
    let object_name = || String::from(object);
    let (index, address) = (header.index, header.address);
    check_in_file(object, bytes, header)?;
    if header.file_size > header.memory_size {
        return Err(LoadError::FileSizeExceedsMemorySize {
            object: object_name(),
            index,
            address,
            file_size: header.file_size,
            memory_size: header.memory_size,
        });
    }
    if address.checked_add(header.memory_size).and_then(page_ceil).is_none() {
        let memory_size = header.memory_size;
        return Err(LoadError::SegmentAddressOverflow { object: object_name(), index, address, memory_size });
    }
    let permissions = Permissions {
        read: header.flags & FLAG_READ != 0,
        write: header.flags & FLAG_WRITE != 0,
        execute: header.flags & FLAG_EXECUTE != 0,
    };
    if permissions.write && permissions.execute {
        return Err(LoadError::WritableAndExecutable { object: object_name(), index, address });
    }
    let alignment = header.alignment;
    let aligned = alignment.is_power_of_two()
        && alignment >= PAGE_SIZE
        && address % alignment == header.file_offset % alignment;
    if !aligned {
        let file_offset = header.file_offset;
        return Err(LoadError::MisalignedSegment {
            object: object_name(),
            index,
            address,
            file_offset,
            alignment,
        });
    }
    Ok(Segment {
        image_offset: address,
        memory_size: header.memory_size,
        file_offset: header.file_offset,
        file_size: header.file_size,
        permissions,
        alignment,
    })
}

/// The page-rounded memory range `[start, end)` of a checked segment.
pub(crate) fn page_range(segment: &Segment) -> (u64, u64) {
    let end = segment.image_offset.saturating_add(segment.memory_size);
    (page_floor(segment.image_offset), page_ceil(end).unwrap_or(u64::MAX))
}

/// Reads and checks the program headers of `bytes`.
pub(crate) fn parse_segments(object: &str, bytes: &[u8], header: &FileHeader) -> Result<Segments, LoadError> {
    let object_name = || String::from(object);
    let mut loads: Vec<(usize, Segment)> = Vec::new();
    let mut dynamic = None;
    let mut relro_header: Option<ProgramHeader> = None;
    let mut tls_header: Option<ProgramHeader> = None;
    for program_header in read_program_headers(object, bytes, header)? {
        let index = program_header.index;
        match program_header.kind {
            SEGMENT_LOAD => {
                let segment = check_load(object, bytes, &program_header)?;
                if segment.memory_size != 0 {
                    loads.push((index, segment));
                }
            }
            SEGMENT_DYNAMIC => {
                if dynamic.is_some() {
                    return Err(LoadError::DuplicateProgramHeader {
                        object: object_name(),
                        kind: "PT_DYNAMIC",
                        index,
                    });
                }
                check_in_file(object, bytes, &program_header)?;
                dynamic = Some(program_header);
            }
            SEGMENT_GNU_RELRO => {
                if relro_header.is_some() {
                    return Err(LoadError::DuplicateProgramHeader {
                        object: object_name(),
                        kind: "PT_GNU_RELRO",
                        index,
                    });
                }
                relro_header = Some(program_header);
            }
            SEGMENT_TLS => {
                if tls_header.is_some() {
                    return Err(LoadError::DuplicateProgramHeader {
                        object: object_name(),
                        kind: "PT_TLS",
                        index,
                    });
                }
                tls_header = Some(program_header);
            }
            _ => {}
        }
    }
    if loads.is_empty() {
        return Err(LoadError::NoLoadableSegment { object: object_name() });
    }
    loads.sort_by_key(|(_, segment)| segment.image_offset);
    for pair in loads.windows(2) {
        if let [(first, lower), (second, upper)] = pair {
            let (_, lower_end) = page_range(lower);
            let (upper_start, _) = page_range(upper);
            if upper_start < lower_end {
                return Err(LoadError::OverlappingSegments {
                    object: object_name(),
                    first: *first,
                    second: *second,
                    address: upper_start,
                });
            }
        }
    }
    let loads: Vec<Segment> = loads.into_iter().map(|(_, segment)| segment).collect();
    let image_size = loads.iter().map(|segment| page_range(segment).1).max().unwrap_or(0);
    let relro = match relro_header {
        Some(relro) => Some(check_relro(object, &loads, &relro)?),
        None => None,
    };
    let tls = tls_header.map(|tls| check_segment(object, &tls, &loads)).transpose()?;
    Ok(Segments { loads, dynamic, relro, image_size, tls })
}

/// Checks that `PT_GNU_RELRO` lies within the pages of one loadable segment.
fn check_relro(object: &str, loads: &[Segment], relro: &ProgramHeader) -> Result<(u64, u64), LoadError> {
    let inside = relro.address.checked_add(relro.memory_size).is_some_and(|end| {
        loads.iter().any(|segment| {
            let (start, segment_end) = page_range(segment);
            start <= relro.address && end <= segment_end
        })
    });
    if inside {
        Ok((relro.address, relro.memory_size))
    } else {
        Err(LoadError::RelroOutsideSegments {
            object: String::from(object),
            index: relro.index,
            address: relro.address,
            size: relro.memory_size,
        })
    }
}
