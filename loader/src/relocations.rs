//! The RELA relocation tables (`DT_RELA`, `DT_JMPREL`) and the relocation types.
//!
//! Each entry is read, its type sorted into what it computes, its symbol index checked
//! against the symbol table, and its 8-byte site checked to lie inside a writable
//! `PT_LOAD` segment. Binding symbols to definitions happens later, in [`crate::link`],
//! once every object of the plan is known. Types the loader does not implement (COPY,
//! IRELATIVE, Morello TLS, anything else) are refused with
//! their name.
//!
//! Morello capability relocations (FACTS §3.2) write 16 bytes: their site must be
//! 16-byte aligned and all 16 bytes inside one writable segment. The static linker left
//! a fragment there (FACTS §3.3: address, then 56 bits of length and a permission kind
//! byte), read here from the file (zero past `p_filesz`). `R_MORELLO_RELATIVE` is made
//! from its fragment alone, so its symbol must be the null symbol and its kind valid.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{i64_at, slice_at, u64_at};
use crate::dynamic::{Dynamic, FileMap, TABLE_ENTRY_SIZE};
use crate::{CapabilityKind, LoadError, Machine, Segment};

const MORELLO_CAPINIT: u32 = 0xe800;
const MORELLO_GLOB_DAT: u32 = 0xe801;
const MORELLO_JUMP_SLOT: u32 = 0xe802;
const MORELLO_RELATIVE: u32 = 0xe803;

/// Size and alignment of a capability in memory (FACTS §1.1).
const CAPABILITY_SIZE: u64 = 16;
/// Size of an ordinary relocation's site.
const WORD_SIZE: u64 = 8;

/// What a supported relocation computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// The object's load address plus the addend.
    Relative,
    /// The symbol's address plus the addend.
    SymbolPlusAddend,
    /// The symbol's address (x86-64 `GLOB_DAT` and `JUMP_SLOT` ignore the addend).
    Symbol,
    /// `R_MORELLO_RELATIVE`: a capability made from the fragment, plus the addend.
    CapabilityRelative,
    /// `R_MORELLO_CAPINIT`, `R_MORELLO_GLOB_DAT`: a capability to the symbol, plus the
    /// addend; code or data by the symbol's type.
    CapabilitySymbol,
    /// `R_MORELLO_JUMP_SLOT`: a code capability to the symbol, plus the addend.
    CapabilityFunction,
    /// `DTPMOD`: the module id of the symbol's object (of the object itself for the null
    /// symbol).
    TlsModule,
    /// `DTPOFF`/`DTPREL`: the symbol's offset in its TLS block, plus the addend.
    TlsBlockOffset,
    /// `TPOFF`/`TPREL`: the symbol's offset from the thread pointer, plus the addend.
    TlsThreadOffset,
    /// `TLSDESC`: 16 bytes, the resolver's address and the offset from the thread
    /// pointer it returns.
    TlsDescriptor,
}

impl Operation {
    /// Whether the relocation binds a symbol (and so must name one in the table).
    pub(crate) fn uses_symbol(self) -> bool {
        !matches!(self, Self::Relative | Self::CapabilityRelative)
    }

    /// Whether it writes a Morello capability.
    fn is_capability(self) -> bool {
        matches!(self, Self::CapabilityRelative | Self::CapabilitySymbol | Self::CapabilityFunction)
    }

    /// Whether it computes a thread-local storage value (`tls.rs`).
    pub(crate) fn is_thread_local(self) -> bool {
        matches!(self, Self::TlsModule | Self::TlsBlockOffset | Self::TlsThreadOffset | Self::TlsDescriptor)
    }

    /// How many bytes the relocation writes at its site.
    fn site_size(self) -> u64 {
        match self {
            Self::Relative
            | Self::SymbolPlusAddend
            | Self::Symbol
            | Self::TlsModule
            | Self::TlsBlockOffset
            | Self::TlsThreadOffset => WORD_SIZE,
            Self::CapabilityRelative | Self::CapabilitySymbol | Self::CapabilityFunction => CAPABILITY_SIZE,
            Self::TlsDescriptor => 2 * WORD_SIZE,
        }
    }
}

/// The 16 bytes a static linker leaves at a capability relocation's site (FACTS §3.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fragment {
    /// Bytes 0..7: the image offset of the capability's base.
    pub(crate) address: u64,
    /// Bits 55:0 of bytes 8..15: the capability's length.
    pub(crate) length: u64,
    /// Bits 63:56 of bytes 8..15: 4 executable, 2 read-write data, 1 read-only data.
    pub(crate) kind: u8,
}

impl Fragment {
    /// The fragment's permission kind, if it is one of the three defined ones.
    pub(crate) fn capability_kind(&self) -> Option<CapabilityKind> {
        match self.kind {
            4 => Some(CapabilityKind::Executable),
            2 => Some(CapabilityKind::ReadWriteData),
            1 => Some(CapabilityKind::ReadOnlyData),
            _ => None,
        }
    }
}

/// One relocation the plan has to carry out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relocation {
    pub(crate) operation: Operation,
    /// Offset of the site in the image (`r_offset`): 8 bytes, or 16 for a capability.
    pub(crate) site: u64,
    /// Index into the dynamic symbol table; 0 means "no symbol" (value 0).
    pub(crate) symbol: u32,
    pub(crate) addend: i64,
    /// File offset of the `Elf64_Rela`.
    pub(crate) file_offset: u64,
    /// The bytes at a capability relocation's site (all zero for other relocations).
    pub(crate) fragment: Fragment,
}

/// The name of an x86-64 or AArch64 relocation type, where it has one worth telling.
pub(crate) fn relocation_type_name(machine: Machine, relocation_type: u32) -> Option<&'static str> {
    let name = match (machine, relocation_type) {
        (Machine::X86_64, 0) => "R_X86_64_NONE",
        (Machine::X86_64, 1) => "R_X86_64_64",
        (Machine::X86_64, 2) => "R_X86_64_PC32",
        (Machine::X86_64, 5) => "R_X86_64_COPY",
        (Machine::X86_64, 6) => "R_X86_64_GLOB_DAT",
        (Machine::X86_64, 7) => "R_X86_64_JUMP_SLOT",
        (Machine::X86_64, 8) => "R_X86_64_RELATIVE",
        (Machine::X86_64, 10) => "R_X86_64_32",
        (Machine::X86_64, 16) => "R_X86_64_DTPMOD64",
        (Machine::X86_64, 17) => "R_X86_64_DTPOFF64",
        (Machine::X86_64, 18) => "R_X86_64_TPOFF64",
        (Machine::X86_64, 24) => "R_X86_64_PC64",
        (Machine::X86_64, 36) => "R_X86_64_TLSDESC",
        (Machine::X86_64, 37) => "R_X86_64_IRELATIVE",
        (Machine::X86_64, 38) => "R_X86_64_RELATIVE64",
        (Machine::Aarch64, 0) => "R_AARCH64_NONE",
        (Machine::Aarch64, 257) => "R_AARCH64_ABS64",
        (Machine::Aarch64, 258) => "R_AARCH64_ABS32",
        (Machine::Aarch64, 260) => "R_AARCH64_PREL64",
        (Machine::Aarch64, 1024) => "R_AARCH64_COPY",
        (Machine::Aarch64, 1025) => "R_AARCH64_GLOB_DAT",
        (Machine::Aarch64, 1026) => "R_AARCH64_JUMP_SLOT",
        (Machine::Aarch64, 1027) => "R_AARCH64_RELATIVE",
        (Machine::Aarch64, 1028) => "R_AARCH64_TLS_DTPMOD",
        (Machine::Aarch64, 1029) => "R_AARCH64_TLS_DTPREL",
        (Machine::Aarch64, 1030) => "R_AARCH64_TLS_TPREL",
        (Machine::Aarch64, 1031) => "R_AARCH64_TLSDESC",
        (Machine::Aarch64, 1032) => "R_AARCH64_IRELATIVE",
        (Machine::Aarch64, MORELLO_CAPINIT) => "R_MORELLO_CAPINIT",
        (Machine::Aarch64, MORELLO_GLOB_DAT) => "R_MORELLO_GLOB_DAT",
        (Machine::Aarch64, MORELLO_JUMP_SLOT) => "R_MORELLO_JUMP_SLOT",
        (Machine::Aarch64, MORELLO_RELATIVE) => "R_MORELLO_RELATIVE",
        (Machine::Aarch64, 0xe804) => "R_MORELLO_IRELATIVE",
        (Machine::Aarch64, 0xe805) => "R_MORELLO_TLSDESC",
        (Machine::Aarch64, 0xe806) => "R_MORELLO_TLS_TPREL128",
        (Machine::Aarch64, 0xe807) => "R_MORELLO_CODE_CAPINIT",
        (Machine::Aarch64, 0xe808) => "R_MORELLO_FUNC_RELATIVE",
        (Machine::Aarch64, 0xe809) => "R_AARCH64_FUNC_RELATIVE",
        (Machine::Aarch64, 0xe80a) => "R_MORELLO_TLS_TGOT_SLOT",
        (Machine::Aarch64, 0xe80b) => "R_MORELLO_TLS_TGOTREL64",
        (Machine::Aarch64, 0xe80c) => "R_MORELLO_TGOT_TLSDESC",
        _ => return None,
    };
    Some(name)
}

/// What `relocation_type` computes on `machine`: `Ok(None)` for `NONE`, `Err(())` when
/// the loader does not implement it.
fn operation(machine: Machine, relocation_type: u32) -> Result<Option<Operation>, ()> {
    match (machine, relocation_type) {
        (Machine::X86_64, 0) | (Machine::Aarch64, 0) => Ok(None),
        (Machine::X86_64, 8) | (Machine::Aarch64, 1027) => Ok(Some(Operation::Relative)),
        (Machine::X86_64, 1) | (Machine::Aarch64, 257 | 1025 | 1026) => Ok(Some(Operation::SymbolPlusAddend)),
        (Machine::X86_64, 6 | 7) => Ok(Some(Operation::Symbol)),
        (Machine::Aarch64, MORELLO_RELATIVE) => Ok(Some(Operation::CapabilityRelative)),
        (Machine::Aarch64, MORELLO_CAPINIT | MORELLO_GLOB_DAT) => Ok(Some(Operation::CapabilitySymbol)),
        (Machine::Aarch64, MORELLO_JUMP_SLOT) => Ok(Some(Operation::CapabilityFunction)),
        (Machine::X86_64, 16) | (Machine::Aarch64, 1028) => Ok(Some(Operation::TlsModule)),
        (Machine::X86_64, 17) | (Machine::Aarch64, 1029) => Ok(Some(Operation::TlsBlockOffset)),
        (Machine::X86_64, 18) | (Machine::Aarch64, 1030) => Ok(Some(Operation::TlsThreadOffset)),
        (Machine::X86_64, 36) | (Machine::Aarch64, 1031) => Ok(Some(Operation::TlsDescriptor)),
        _ => Err(()),
    }
}

/// Reads every relocation of the object's RELA tables, in table order (`DT_RELA` first,
/// then `DT_JMPREL`), dropping `NONE` entries. Relocations that use a symbol must name one
/// below `symbol_limit` (or 0, "no symbol").
pub(crate) fn parse_relocations(
    map: &FileMap<'_>,
    machine: Machine,
    dynamic: &Dynamic,
    symbol_limit: u64,
) -> Result<Vec<Relocation>, LoadError> {
    let object = || String::from(map.object);
    let mut relocations = Vec::new();
    for entries in &dynamic.relocation_tables {
        if entries.size.value == 0 {
            continue;
        }
        let table = map.table(
            entries.tag,
            entries.address.value,
            entries.address.file_offset,
            Some(entries.size.value),
        )?;
        for (position, bytes) in table.bytes.chunks_exact(TABLE_ENTRY_SIZE as usize).enumerate() {
            let file_offset =
                table.file_offset.saturating_add((position as u64).saturating_mul(TABLE_ENTRY_SIZE));
            let site = u64_at(bytes, 0).unwrap_or_default();
            let information = u64_at(bytes, 8).unwrap_or_default();
            let addend = i64_at(bytes, 16).unwrap_or_default();
            let relocation_type = (information & 0xffff_ffff) as u32;
            let symbol = (information >> 32) as u32;
            let operation = match operation(machine, relocation_type) {
                Ok(Some(operation)) => operation,
                Ok(None) => continue,
                Err(()) => {
                    return Err(LoadError::UnsupportedRelocation {
                        object: object(),
                        machine,
                        relocation_type,
                        file_offset,
                        site,
                    })
                }
            };
            if operation == Operation::CapabilityRelative && symbol != 0 {
                return Err(LoadError::RelativeCapabilityWithSymbol {
                    object: object(),
                    file_offset,
                    site,
                    index: symbol,
                });
            }
            if operation.uses_symbol() && u64::from(symbol) >= symbol_limit.max(1) {
                return Err(LoadError::SymbolIndexOutOfRange {
                    object: object(),
                    file_offset,
                    site,
                    index: symbol,
                    count: symbol_limit,
                });
            }
            let size = operation.site_size();
            if operation.is_capability() && site & (CAPABILITY_SIZE - 1) != 0 {
                return Err(LoadError::MisalignedCapabilitySite { object: object(), file_offset, site });
            }
            if !is_writable_site(map.segments, site, size) {
                return Err(LoadError::RelocationSiteNotWritable {
                    object: object(),
                    file_offset,
                    site,
                    size,
                });
            }
            let fragment =
                if operation.is_capability() { read_fragment(map, site) } else { Fragment::default() };
            if operation == Operation::CapabilityRelative && fragment.capability_kind().is_none() {
                return Err(LoadError::BadCapabilityFragment {
                    object: object(),
                    file_offset,
                    site,
                    kind: fragment.kind,
                });
            }
            relocations.push(Relocation { operation, site, symbol, addend, file_offset, fragment });
        }
    }
    Ok(relocations)
}

/// The fragment at `site`, which lies inside one segment's memory: bytes of the file up
/// to the segment's `p_filesz`, zero after it.
fn read_fragment(map: &FileMap<'_>, site: u64) -> Fragment {
    let mut bytes = [0u8; CAPABILITY_SIZE as usize];
    let segment = map
        .segments
        .iter()
        .find(|segment| segment.image_offset <= site && site - segment.image_offset < segment.memory_size);
    if let Some(segment) = segment {
        let within = site - segment.image_offset;
        let in_file = segment.file_size.saturating_sub(within).min(CAPABILITY_SIZE);
        let file_bytes = segment
            .file_offset
            .checked_add(within)
            .and_then(|offset| slice_at(map.bytes, offset, in_file))
            .unwrap_or_default();
        if let Some(prefix) = bytes.get_mut(..file_bytes.len()) {
            prefix.copy_from_slice(file_bytes);
        }
    }
    let metadata = u64_at(&bytes, 8).unwrap_or_default();
    Fragment {
        address: u64_at(&bytes, 0).unwrap_or_default(),
        length: metadata & 0x00ff_ffff_ffff_ffff,
        kind: (metadata >> 56) as u8,
    }
}

/// Whether the `size` bytes at `site` lie inside one writable segment's memory.
fn is_writable_site(segments: &[Segment], site: u64, size: u64) -> bool {
    let Some(end) = site.checked_add(size) else {
        return false;
    };
    segments.iter().any(|segment| {
        segment.permissions.write
            && segment.image_offset <= site
            && segment
                .image_offset
                .checked_add(segment.memory_size)
                .is_some_and(|segment_end| end <= segment_end)
    })
}
