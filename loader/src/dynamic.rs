//! The dynamic section, and the translation of its addresses into file offsets.
//!
//! [`parse_dynamic`] walks the `PT_DYNAMIC` entries up to `DT_NULL` and keeps the ones
//! the loader needs, each remembered with the file offset of its entry so errors can
//! point at it. Tags that may appear once are refused when repeated; REL and RELR
//! relocation tables are refused; everything else (`DT_FLAGS`, `DT_VERSYM`, ...) is
//! ignored. [`FileMap::table`] turns an address from a dynamic entry into the
//! bytes of the file that a `PT_LOAD` segment maps there.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{slice_at, u64_at};
use crate::header::ProgramHeader;
use crate::{LoadError, Segment};

const TAG_NULL: u64 = 0;
const TAG_NEEDED: u64 = 1;
const TAG_PLT_RELOCATIONS_SIZE: u64 = 2;
const TAG_HASH: u64 = 4;
const TAG_STRING_TABLE: u64 = 5;
const TAG_SYMBOL_TABLE: u64 = 6;
const TAG_RELA: u64 = 7;
const TAG_RELA_SIZE: u64 = 8;
const TAG_RELA_ENTRY_SIZE: u64 = 9;
const TAG_STRING_TABLE_SIZE: u64 = 10;
const TAG_SYMBOL_ENTRY_SIZE: u64 = 11;
const TAG_INIT: u64 = 12;
const TAG_FINI: u64 = 13;
const TAG_SONAME: u64 = 14;
const TAG_REL: u64 = 17;
const TAG_REL_SIZE: u64 = 18;
const TAG_REL_ENTRY_SIZE: u64 = 19;
const TAG_PLT_RELOCATION_KIND: u64 = 20;
const TAG_PLT_RELOCATIONS: u64 = 23;
const TAG_INIT_ARRAY: u64 = 25;
const TAG_FINI_ARRAY: u64 = 26;
const TAG_INIT_ARRAY_SIZE: u64 = 27;
const TAG_FINI_ARRAY_SIZE: u64 = 28;
const TAG_PREINIT_ARRAY: u64 = 32;
const TAG_PREINIT_ARRAY_SIZE: u64 = 33;
const TAG_RELR_SIZE: u64 = 35;
const TAG_RELR: u64 = 36;
const TAG_RELR_ENTRY_SIZE: u64 = 37;
const TAG_GNU_HASH: u64 = 0x6fff_fef5;

/// Size of one dynamic entry (`Elf64_Dyn`).
const ENTRY_SIZE: u64 = 16;
/// Size of one symbol (`Elf64_Sym`) and of one relocation (`Elf64_Rela`).
pub(crate) const TABLE_ENTRY_SIZE: u64 = 24;

/// A dynamic entry's value, with the file offset of the entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) value: u64,
    pub(crate) file_offset: u64,
}

/// A relocation table: where it starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableEntries {
    pub(crate) tag: &'static str,
    pub(crate) address: Entry,
    pub(crate) size: Entry,
}

/// The dynamic entries the loader uses.
#[derive(Debug, Clone)]
pub(crate) struct Dynamic {
    pub(crate) needed: Vec<Entry>,
    pub(crate) soname: Option<Entry>,
    pub(crate) string_table: Entry,
    pub(crate) string_table_size: Entry,
    pub(crate) symbol_table: Entry,
    pub(crate) hash: Option<Entry>,
    pub(crate) gnu_hash: Option<Entry>,
    pub(crate) relocation_tables: Vec<TableEntries>,
    pub(crate) routines: Routines,
}

/// The initializer and finalizer entries: single functions, and arrays with their size
/// (checked to be whole 8-byte entries; an empty array is none).
#[derive(Debug, Clone, Default)]
pub(crate) struct Routines {
    pub(crate) init: Option<Entry>,
    pub(crate) fini: Option<Entry>,
    pub(crate) preinit_array: Option<(Entry, u64)>,
    pub(crate) init_array: Option<(Entry, u64)>,
    pub(crate) fini_array: Option<(Entry, u64)>,
}

/// Size of one entry of an initializer array.
const ROUTINE_SIZE: u64 = 8;

/// The single-valued entries, as they are collected.
#[derive(Debug, Default)]
struct Collected {
    needed: Vec<Entry>,
    soname: Option<Entry>,
    string_table: Option<Entry>,
    string_table_size: Option<Entry>,
    symbol_table: Option<Entry>,
    symbol_entry_size: Option<Entry>,
    hash: Option<Entry>,
    gnu_hash: Option<Entry>,
    rela: Option<Entry>,
    rela_size: Option<Entry>,
    rela_entry_size: Option<Entry>,
    plt_relocations: Option<Entry>,
    plt_relocations_size: Option<Entry>,
    plt_relocation_kind: Option<Entry>,
    init: Option<Entry>,
    fini: Option<Entry>,
    preinit_array: Option<Entry>,
    preinit_array_size: Option<Entry>,
    init_array: Option<Entry>,
    init_array_size: Option<Entry>,
    fini_array: Option<Entry>,
    fini_array_size: Option<Entry>,
}

/// The name of a tag the loader acts on.
fn tag_name(tag: u64) -> &'static str {
    match tag {
        TAG_NEEDED => "DT_NEEDED",
        TAG_PLT_RELOCATIONS_SIZE => "DT_PLTRELSZ",
        TAG_HASH => "DT_HASH",
        TAG_STRING_TABLE => "DT_STRTAB",
        TAG_SYMBOL_TABLE => "DT_SYMTAB",
        TAG_RELA => "DT_RELA",
        TAG_RELA_SIZE => "DT_RELASZ",
        TAG_RELA_ENTRY_SIZE => "DT_RELAENT",
        TAG_STRING_TABLE_SIZE => "DT_STRSZ",
        TAG_SYMBOL_ENTRY_SIZE => "DT_SYMENT",
        TAG_SONAME => "DT_SONAME",
        TAG_REL => "DT_REL",
        TAG_REL_SIZE => "DT_RELSZ",
        TAG_REL_ENTRY_SIZE => "DT_RELENT",
        TAG_PLT_RELOCATION_KIND => "DT_PLTREL",
        TAG_PLT_RELOCATIONS => "DT_JMPREL",
        TAG_RELR_SIZE => "DT_RELRSZ",
        TAG_RELR => "DT_RELR",
        TAG_RELR_ENTRY_SIZE => "DT_RELRENT",
        TAG_GNU_HASH => "DT_GNU_HASH",
        TAG_INIT => "DT_INIT",
        TAG_FINI => "DT_FINI",
        TAG_INIT_ARRAY => "DT_INIT_ARRAY",
        TAG_INIT_ARRAY_SIZE => "DT_INIT_ARRAYSZ",
        TAG_FINI_ARRAY => "DT_FINI_ARRAY",
        TAG_FINI_ARRAY_SIZE => "DT_FINI_ARRAYSZ",
        TAG_PREINIT_ARRAY => "DT_PREINIT_ARRAY",
        TAG_PREINIT_ARRAY_SIZE => "DT_PREINIT_ARRAYSZ",
        _ => "an unknown tag",
    }
}

/// Reads the entries of the `PT_DYNAMIC` segment `header` (already checked to be inside
/// the file) up to `DT_NULL`.
pub(crate) fn parse_dynamic(
    object: &str,
    bytes: &[u8],
    header: &ProgramHeader,
) -> Result<Dynamic, LoadError> {
    let object_name = || String::from(object);
    let mut collected = Collected::default();
    let mut terminated = false;
    let mut position = 0;
    while position < header.file_size / ENTRY_SIZE {
        let file_offset = header.file_offset.saturating_add(position.saturating_mul(ENTRY_SIZE));
        position += 1;
        let tag = u64_at(bytes, file_offset);
        let value = file_offset.checked_add(8).and_then(|offset| u64_at(bytes, offset));
        let (Some(tag), Some(value)) = (tag, value) else {
            break;
        };
        let entry = Entry { value, file_offset };
        let slot = match tag {
            TAG_NULL => {
                terminated = true;
                break;
            }
            TAG_NEEDED => {
                collected.needed.push(entry);
                continue;
            }
            TAG_REL | TAG_REL_SIZE | TAG_REL_ENTRY_SIZE => {
                return Err(LoadError::RelRelocations {
                    object: object_name(),
                    tag: tag_name(tag),
                    file_offset,
                });
            }
            TAG_RELR | TAG_RELR_SIZE | TAG_RELR_ENTRY_SIZE => {
                return Err(LoadError::PackedRelocations {
                    object: object_name(),
                    tag: tag_name(tag),
                    file_offset,
                });
            }
            TAG_PLT_RELOCATION_KIND if value != TAG_RELA => {
                return Err(LoadError::RelRelocations {
                    object: object_name(),
                    tag: tag_name(tag),
                    file_offset,
                });
            }
            TAG_SONAME => &mut collected.soname,
            TAG_STRING_TABLE => &mut collected.string_table,
            TAG_STRING_TABLE_SIZE => &mut collected.string_table_size,
            TAG_SYMBOL_TABLE => &mut collected.symbol_table,
            TAG_SYMBOL_ENTRY_SIZE => &mut collected.symbol_entry_size,
            TAG_HASH => &mut collected.hash,
            TAG_GNU_HASH => &mut collected.gnu_hash,
            TAG_RELA => &mut collected.rela,
            TAG_RELA_SIZE => &mut collected.rela_size,
            TAG_RELA_ENTRY_SIZE => &mut collected.rela_entry_size,
            TAG_PLT_RELOCATIONS => &mut collected.plt_relocations,
            TAG_PLT_RELOCATIONS_SIZE => &mut collected.plt_relocations_size,
            TAG_PLT_RELOCATION_KIND => &mut collected.plt_relocation_kind,
            TAG_INIT => &mut collected.init,
            TAG_FINI => &mut collected.fini,
            TAG_PREINIT_ARRAY => &mut collected.preinit_array,
            TAG_PREINIT_ARRAY_SIZE => &mut collected.preinit_array_size,
            TAG_INIT_ARRAY => &mut collected.init_array,
            TAG_INIT_ARRAY_SIZE => &mut collected.init_array_size,
            TAG_FINI_ARRAY => &mut collected.fini_array,
            TAG_FINI_ARRAY_SIZE => &mut collected.fini_array_size,
            _ => continue,
        };
        if slot.is_some() {
            return Err(LoadError::DuplicateDynamicEntry {
                object: object_name(),
                tag: tag_name(tag),
                file_offset,
            });
        }
        *slot = Some(entry);
    }
    if !terminated {
        return Err(LoadError::UnterminatedDynamicSection {
            object: object_name(),
            file_offset: header.file_offset,
            size: header.file_size,
        });
    }
    finish(object, header.file_offset, collected)
}

/// Checks that the collected entries are complete and consistent.
fn finish(object: &str, file_offset: u64, collected: Collected) -> Result<Dynamic, LoadError> {
    let object_name = || String::from(object);
    let require = |entry: Option<Entry>, tag: &'static str| {
        entry.ok_or_else(|| LoadError::MissingDynamicEntry { object: object_name(), tag, file_offset })
    };
    let check_entry_size = |entry: Option<Entry>, tag: &'static str| match entry {
        Some(entry) if entry.value != TABLE_ENTRY_SIZE => Err(LoadError::BadEntrySize {
            object: object_name(),
            tag,
            file_offset: entry.file_offset,
            size: entry.value,
            expected: TABLE_ENTRY_SIZE,
        }),
        _ => Ok(()),
    };
    check_entry_size(collected.symbol_entry_size, "DT_SYMENT")?;
    check_entry_size(collected.rela_entry_size, "DT_RELAENT")?;
    let string_table = require(collected.string_table, "DT_STRTAB")?;
    let string_table_size = require(collected.string_table_size, "DT_STRSZ")?;
    let symbol_table = require(collected.symbol_table, "DT_SYMTAB")?;
    if collected.hash.is_none() && collected.gnu_hash.is_none() {
        return Err(LoadError::MissingDynamicEntry {
            object: object_name(),
            tag: "DT_HASH or DT_GNU_HASH",
            file_offset,
        });
    }
    let mut relocation_tables = Vec::new();
    let pairs = [
        ("DT_RELA", collected.rela, "DT_RELASZ", collected.rela_size),
        ("DT_JMPREL", collected.plt_relocations, "DT_PLTRELSZ", collected.plt_relocations_size),
    ];
    // A table's size entry: present, and a whole number of entries.
    let table_size = |size: Option<Entry>, size_tag: &'static str, entry_size: u64| {
        let size = require(size, size_tag)?;
        if size.value % entry_size != 0 {
            return Err(LoadError::BadTableSize {
                object: object_name(),
                tag: size_tag,
                file_offset: size.file_offset,
                size: size.value,
                entry_size,
            });
        }
        Ok(size)
    };
    for (tag, address, size_tag, size) in pairs {
        let Some(address) = address else { continue };
        let size = table_size(size, size_tag, TABLE_ENTRY_SIZE)?;
        relocation_tables.push(TableEntries { tag, address, size });
    }
    let array = |address: Option<Entry>, size: Option<Entry>, size_tag: &'static str| {
        let Some(address) = address else { return Ok(None) };
        let size = table_size(size, size_tag, ROUTINE_SIZE)?;
        Ok((size.value > 0).then_some((address, size.value / ROUTINE_SIZE)))
    };
    let routines = Routines {
        init: collected.init,
        fini: collected.fini,
        preinit_array: array(collected.preinit_array, collected.preinit_array_size, "DT_PREINIT_ARRAYSZ")?,
        init_array: array(collected.init_array, collected.init_array_size, "DT_INIT_ARRAYSZ")?,
        fini_array: array(collected.fini_array, collected.fini_array_size, "DT_FINI_ARRAYSZ")?,
    };
    Ok(Dynamic {
        needed: collected.needed,
        soname: collected.soname,
        string_table,
        string_table_size,
        symbol_table,
        hash: collected.hash,
        gnu_hash: collected.gnu_hash,
        relocation_tables,
        routines,
    })
}

/// Translates addresses into file bytes through an object's `PT_LOAD` segments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileMap<'a> {
    pub(crate) object: &'a str,
    pub(crate) bytes: &'a [u8],
    pub(crate) segments: &'a [Segment],
}

/// Bytes of the file found through [`FileMap::table`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) file_offset: u64,
}

impl<'a> FileMap<'a> {
    /// The `size` file bytes at `address`, where `address` comes from the dynamic entry
    /// `tag` at `entry_offset`. With `size` `None`, everything from `address` to the end of
    /// the segment's file contents.
    pub(crate) fn table(
        &self,
        tag: &'static str,
        address: u64,
        entry_offset: u64,
        size: Option<u64>,
    ) -> Result<Table<'a>, LoadError> {
        let segment = self.segments.iter().find(|segment| {
            address >= segment.image_offset && address - segment.image_offset < segment.file_size
        });
        let Some(segment) = segment else {
            return Err(LoadError::UnmappedAddress {
                object: String::from(self.object),
                tag,
                file_offset: entry_offset,
                address,
            });
        };
        let within = address - segment.image_offset;
        let available = segment.file_size - within;
        let file_offset = segment.file_offset.saturating_add(within);
        let size = size.unwrap_or(available);
        match slice_at(self.bytes, file_offset, size) {
            Some(bytes) if size <= available => Ok(Table { bytes, file_offset }),
            _ => Err(LoadError::TableOutOfFile {
                object: String::from(self.object),
                tag,
                address,
                file_offset,
                size,
            }),
        }
    }
}
