//! The RELA relocation tables (`DT_RELA`, `DT_JMPREL`) and the relocation types.
//!
//! Each entry is read, its type sorted into what it computes, its symbol index checked
//! against the symbol table, and its 8-byte site checked to lie inside a writable
//! `PT_LOAD` segment. Binding symbols to definitions happens later, in [`crate::link`],
//! once every object of the plan is known. Types the loader does not implement (TLS,
//! COPY, IRELATIVE, anything else) are refused with their name.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{i64_at, u64_at};
use crate::dynamic::{Dynamic, FileMap, TABLE_ENTRY_SIZE};
use crate::{LoadError, Machine, Segment};

/// What a supported relocation computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// The object's load address plus the addend.
    Relative,
    /// The symbol's address plus the addend.
    SymbolPlusAddend,
    /// The symbol's address (x86-64 `GLOB_DAT` and `JUMP_SLOT` ignore the addend).
    Symbol,
}

/// One relocation the plan has to carry out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relocation {
    pub(crate) operation: Operation,
    /// Offset of the 8-byte site in the image (`r_offset`).
    pub(crate) site: u64,
    /// Index into the dynamic symbol table; 0 means "no symbol" (value 0).
    pub(crate) symbol: u32,
    pub(crate) addend: i64,
    /// File offset of the `Elf64_Rela`.
    pub(crate) file_offset: u64,
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
            if operation != Operation::Relative && u64::from(symbol) >= symbol_limit.max(1) {
                return Err(LoadError::SymbolIndexOutOfRange {
                    object: object(),
                    file_offset,
                    site,
                    index: symbol,
                    count: symbol_limit,
                });
            }
            if !is_writable_site(map.segments, site) {
                return Err(LoadError::RelocationSiteNotWritable { object: object(), file_offset, site });
            }
            relocations.push(Relocation { operation, site, symbol, addend, file_offset });
        }
    }
    Ok(relocations)
}

/// Whether the 8 bytes at `site` lie inside one writable segment's memory.
fn is_writable_site(segments: &[Segment], site: u64) -> bool {
    let Some(end) = site.checked_add(8) else {
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
