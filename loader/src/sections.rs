//! The section headers, read for one thing only: where an object's compartment-local
//! storage templates are.
//!
//! The cls-pass puts every writable global of an ORC object into `.cls.data`
//! (initialised) or `.cls.bss` (zero). Those ranges are the templates every cVM gets its
//! own copy of (ARCHITECTURE §4). Program headers do not name them, so they are found by
//! name in the section header table; an object without section headers, or without those
//! sections, has no templates. Each template must lie inside one writable segment.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{slice_at, u16_at, u32_at, u64_at};
use crate::{LoadError, Segment};

/// The names of the template sections.
pub const CLS_SECTIONS: [&str; 2] = [".cls.data", ".cls.bss"];

/// Size of one ELF64 section header.
const SECTION_HEADER_SIZE: u16 = 64;

/// The templates of one object, as (address, size), sorted by address.
pub(crate) fn parse_cls_templates(
    object: &str,
    bytes: &[u8],
    segments: &[Segment],
) -> Result<Vec<(u64, u64)>, LoadError> {
    let name = || String::from(object);
    let header_field = |offset, width| match width {
        2 => u16_at(bytes, offset).map(u64::from),
        _ => u64_at(bytes, offset),
    };
    let (Some(table), Some(size), Some(count), Some(names_index)) =
        (header_field(40, 8), header_field(58, 2), header_field(60, 2), header_field(62, 2))
    else {
        return Ok(Vec::new());
    };
    if table == 0 || count == 0 {
        return Ok(Vec::new());
    }
    let count = count as u16;
    if size != u64::from(SECTION_HEADER_SIZE) {
        return Err(LoadError::BadSectionHeaderSize { object: name(), size: size as u16 });
    }
    let file_length = bytes.len() as u64;
    let table_length = u64::from(count) * u64::from(SECTION_HEADER_SIZE);
    let Some(headers) = slice_at(bytes, table, table_length) else {
        return Err(LoadError::SectionHeadersOutOfFile { object: name(), offset: table, count, file_length });
    };
    let header = |index: u64| -> Option<&[u8]> {
        let start = usize::try_from(index * u64::from(SECTION_HEADER_SIZE)).ok()?;
        headers.get(start..start + usize::from(SECTION_HEADER_SIZE))
    };
    let names_header = header(names_index).ok_or(LoadError::SectionNameOutOfTable {
        object: name(),
        section: names_index as usize,
        file_offset: 62,
    })?;
    let names_offset = u64_at(names_header, 24).unwrap_or(u64::MAX);
    let names_size = u64_at(names_header, 32).unwrap_or(u64::MAX);
    let names_at = table + names_index * u64::from(SECTION_HEADER_SIZE);
    let names = slice_at(bytes, names_offset, names_size).ok_or(LoadError::SectionNameOutOfTable {
        object: name(),
        section: names_index as usize,
        file_offset: names_at,
    })?;

    let mut templates = Vec::new();
    for index in 0..u64::from(count) {
        let Some(section) = header(index) else { break };
        let at = table + index * u64::from(SECTION_HEADER_SIZE);
        let out_of_table =
            || LoadError::SectionNameOutOfTable { object: name(), section: index as usize, file_offset: at };
        let name_offset = u32_at(section, 0).ok_or_else(out_of_table)? as usize;
        let tail = names.get(name_offset..).ok_or_else(out_of_table)?;
        let end = tail.iter().position(|&byte| byte == 0).ok_or_else(out_of_table)?;
        let Some(section_name) = CLS_SECTIONS.iter().find(|known| known.as_bytes() == &tail[..end]) else {
            continue;
        };
        let address = u64_at(section, 16).unwrap_or(0);
        let size = u64_at(section, 32).unwrap_or(0);
        if size == 0 {
            continue;
        }
        let inside_writable = segments.iter().any(|segment| {
            segment.permissions.write
                && address >= segment.image_offset
                && address
                    .checked_add(size)
                    .is_some_and(|end| end <= segment.image_offset.saturating_add(segment.memory_size))
        });
        if !inside_writable {
            return Err(LoadError::ClsTemplateNotWritable {
                object: name(),
                section: String::from(*section_name),
                address,
                size,
            });
        }
        templates.push((address, size));
    }
    templates.sort_unstable();
    Ok(templates)
}
