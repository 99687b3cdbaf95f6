//! The dynamic symbol table (`DT_SYMTAB`) and its size.
//!
//! ELF does not store the number of dynamic symbols. With `DT_HASH` it is `nchain`. With
//! only `DT_GNU_HASH` the table tells only where the hashed (defined, exported) symbols
//! end: one past the last symbol of the chain that the highest bucket starts. The
//! unhashed symbols before them (undefined and local ones) may be more than the table's
//! `symoffset` says (GNU ld writes 1 when nothing is hashed), so relocations may name any
//! symbol whose entry lies in the file contents of the segment holding `DT_SYMTAB`, and
//! the table is read up to the highest symbol they name. Every symbol read has its name
//! looked up, and a defined one is checked to lie inside the object's image. Symbol
//! versions (`DT_VERSYM`, ...) are ignored.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{slice_at, u16_at, u32_at, u64_at, u8_at};
use crate::dynamic::{Dynamic, FileMap, TABLE_ENTRY_SIZE};
use crate::strings::StringTable;
use crate::{LoadError, SymbolKind};

const SECTION_UNDEFINED: u16 = 0;
const SECTION_ABSOLUTE: u16 = 0xfff1;
const SECTION_COMMON: u16 = 0xfff2;
const BINDING_LOCAL: u8 = 0;
const BINDING_GLOBAL: u8 = 1;
const BINDING_WEAK: u8 = 2;
/// `STB_GNU_UNIQUE`: resolved like a global symbol.
const BINDING_GNU_UNIQUE: u8 = 10;
const TYPE_OBJECT: u8 = 1;
const TYPE_FUNCTION: u8 = 2;
/// `STT_GNU_IFUNC`: the value is a resolver to call, not the function.
pub(crate) const TYPE_INDIRECT_FUNCTION: u8 = 10;
const VISIBILITY_PROTECTED: u8 = 3;

/// Where a symbol is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Definition {
    /// `SHN_UNDEF` (and `SHN_COMMON`, which a linked object should not have).
    Undefined,
    /// `SHN_ABS`: the value is a number, not an offset in the image.
    Absolute,
    /// Any section: the value is an offset in the image.
    InImage,
}

/// `STB_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    Local,
    /// `STB_GLOBAL` and `STB_GNU_UNIQUE`.
    Global,
    Weak,
    /// The reserved values: never used to resolve a reference.
    Other,
}

/// One entry of the dynamic symbol table.
#[derive(Debug, Clone)]
pub(crate) struct DynamicSymbol {
    pub(crate) name: String,
    pub(crate) value: u64,
    pub(crate) size: u64,
    pub(crate) symbol_type: u8,
    pub(crate) binding: Binding,
    pub(crate) definition: Definition,
    /// `STV_PROTECTED`: references from its own object bind to it, whatever else defines it.
    pub(crate) protected: bool,
}

impl DynamicSymbol {
    /// `STT_*` as a [`SymbolKind`].
    pub(crate) fn kind(&self) -> SymbolKind {
        match self.symbol_type {
            TYPE_OBJECT => SymbolKind::Data,
            TYPE_FUNCTION => SymbolKind::Function,
            _ => SymbolKind::Other,
        }
    }

    /// Whether the global scope may resolve a reference to this symbol.
    pub(crate) fn is_global_definition(&self) -> bool {
        self.definition != Definition::Undefined && matches!(self.binding, Binding::Global | Binding::Weak)
    }
}

/// How many dynamic symbols there are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SymbolCount {
    /// Symbols known to exist: they are read whatever the relocations name.
    pub(crate) known: u64,
    /// Relocations may name symbols below this index.
    pub(crate) limit: u64,
}

/// The number of dynamic symbols, from `DT_HASH` or else `DT_GNU_HASH`.
pub(crate) fn symbol_count(map: &FileMap<'_>, dynamic: &Dynamic) -> Result<SymbolCount, LoadError> {
    if let Some(hash) = dynamic.hash {
        let table = map.table("DT_HASH", hash.value, hash.file_offset, Some(8))?;
        let count = u32_at(table.bytes, 4).map(u64::from).unwrap_or_default();
        return Ok(SymbolCount { known: count, limit: count });
    }
    let known = gnu_hash_count(map, dynamic)?;
    let entry = dynamic.symbol_table;
    let table = map.table("DT_SYMTAB", entry.value, entry.file_offset, None)?;
    let limit = (table.bytes.len() as u64 / TABLE_ENTRY_SIZE).min(u64::from(u32::MAX));
    Ok(SymbolCount { known, limit })
}

/// One past the last symbol `DT_GNU_HASH` covers.
fn gnu_hash_count(map: &FileMap<'_>, dynamic: &Dynamic) -> Result<u64, LoadError> {
    let Some(gnu_hash) = dynamic.gnu_hash else {
        return Ok(0);
    };
    let table = map.table("DT_GNU_HASH", gnu_hash.value, gnu_hash.file_offset, None)?;
    let out_of_file = |size: u64| LoadError::TableOutOfFile {
        object: String::from(map.object),
        tag: "DT_GNU_HASH",
        address: gnu_hash.value,
        file_offset: table.file_offset,
        size,
    };
    let field = |index: u64| u32_at(table.bytes, index * 4).map(u64::from).ok_or_else(|| out_of_file(16));
    let (bucket_count, symbol_offset, bloom_count) = (field(0)?, field(1)?, field(2)?);
    // The header is 16 bytes, then 8-byte bloom words, then 4-byte buckets, then chains.
    let buckets_start = 16 + bloom_count * 8;
    let chains_start = buckets_start + bucket_count * 4;
    let buckets =
        slice_at(table.bytes, buckets_start, bucket_count * 4).ok_or_else(|| out_of_file(chains_start))?;
    let highest =
        buckets.chunks_exact(4).filter_map(|bucket| u32_at(bucket, 0)).map(u64::from).max().unwrap_or(0);
    if highest == 0 {
        return Ok(symbol_offset);
    }
    if highest < symbol_offset {
        return Err(LoadError::BadGnuHashBucket {
            object: String::from(map.object),
            file_offset: table.file_offset,
            bucket: highest as u32,
            symbol_offset: symbol_offset as u32,
        });
    }
    // Walk the highest bucket's chain to its end, marked by the low bit of the hash.
    let mut index = highest;
    loop {
        let chain_offset = chains_start + (index - symbol_offset) * 4;
        let chain =
            u32_at(table.bytes, chain_offset).ok_or_else(|| out_of_file(chain_offset.saturating_add(4)))?;
        if chain & 1 == 1 {
            return Ok(index + 1);
        }
        index += 1;
    }
}

/// Reads the first `count` symbols of the dynamic symbol table and checks the defined
/// ones against `image_size`.
pub(crate) fn parse_symbols(
    map: &FileMap<'_>,
    dynamic: &Dynamic,
    strings: &StringTable<'_>,
    count: u64,
    image_size: u64,
) -> Result<Vec<DynamicSymbol>, LoadError> {
    let entry = dynamic.symbol_table;
    let size = count.saturating_mul(TABLE_ENTRY_SIZE);
    let table = map.table("DT_SYMTAB", entry.value, entry.file_offset, Some(size))?;
    let mut symbols = Vec::new();
    for (position, bytes) in table.bytes.chunks_exact(TABLE_ENTRY_SIZE as usize).enumerate() {
        let file_offset =
            table.file_offset.saturating_add((position as u64).saturating_mul(TABLE_ENTRY_SIZE));
        let info = u8_at(bytes, 4).unwrap_or_default();
        let section = u16_at(bytes, 6).unwrap_or_default();
        let symbol = DynamicSymbol {
            name: strings.get(u32_at(bytes, 0).map(u64::from).unwrap_or_default())?,
            value: u64_at(bytes, 8).unwrap_or_default(),
            size: u64_at(bytes, 16).unwrap_or_default(),
            symbol_type: info & 0xf,
            binding: match info >> 4 {
                BINDING_LOCAL => Binding::Local,
                BINDING_GLOBAL | BINDING_GNU_UNIQUE => Binding::Global,
                BINDING_WEAK => Binding::Weak,
                _ => Binding::Other,
            },
            definition: match section {
                SECTION_UNDEFINED | SECTION_COMMON => Definition::Undefined,
                SECTION_ABSOLUTE => Definition::Absolute,
                _ => Definition::InImage,
            },
            protected: u8_at(bytes, 5).unwrap_or_default() & 3 == VISIBILITY_PROTECTED,
        };
        let inside = symbol.value.checked_add(symbol.size).is_some_and(|end| end <= image_size);
        if symbol.definition == Definition::InImage && !inside {
            return Err(LoadError::SymbolOutOfImage {
                object: String::from(map.object),
                symbol: symbol.name,
                file_offset,
                value: symbol.value,
                size: symbol.size,
                image_size,
            });
        }
        symbols.push(symbol);
    }
    Ok(symbols)
}
