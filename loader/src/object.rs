//! One object, parsed and checked on its own.
//!
//! [`parse_object`] runs every check that needs only the object itself: header, segments,
//! dynamic section, string and symbol tables, relocation tables. What needs the other
//! objects (needed objects, symbol binding, machine agreement, the program's entry point)
//! is checked by [`crate::plan()`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::dynamic::{parse_dynamic, Entry, FileMap, Routines};
use crate::header::{parse_file_header, parse_segments};
use crate::relocations::{parse_relocations, Relocation};
use crate::sections::parse_cls_templates;
use crate::strings::StringTable;
use crate::symbols::{parse_symbols, symbol_count, Definition, DynamicSymbol};
use crate::tls::TlsSegment;
use crate::{Initializers, LoadError, Machine, Segment, Symbol};

/// An object to load: the name the deployment gave it and its file's bytes.
#[derive(Debug, Clone, Copy)]
pub struct ObjectInput<'a> {
    /// The object's name, usually its file name; errors use it to name the object.
    pub name: &'a str,
    /// The whole ELF file.
    pub bytes: &'a [u8],
}

/// An object that passed every check that needs only itself.
#[derive(Debug, Clone)]
pub struct ParsedObject {
    pub(crate) name: String,
    pub(crate) machine: Machine,
    pub(crate) purecap: bool,
    pub(crate) entry: u64,
    pub(crate) soname: Option<String>,
    pub(crate) needed: Vec<String>,
    pub(crate) image_size: u64,
    pub(crate) segments: Vec<Segment>,
    pub(crate) relro: Option<(u64, u64)>,
    pub(crate) cls_templates: Vec<(u64, u64)>,
    pub(crate) dynamic_symbols: Vec<DynamicSymbol>,
    pub(crate) relocations: Vec<Relocation>,
    pub(crate) initializers: Initializers,
    pub(crate) tls: Option<TlsSegment>,
}

impl ParsedObject {
    /// The name the caller gave the object.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The machine it is built for.
    pub fn machine(&self) -> Machine {
        self.machine
    }

    /// Whether it is an Arm Morello pure-capability object (`EF_AARCH64_CHERI_PURECAP`).
    pub fn purecap(&self) -> bool {
        self.purecap
    }

    /// `e_entry`, unchecked (only a program's entry point is checked, by [`crate::plan()`]).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// `DT_SONAME`, when it has one.
    pub fn soname(&self) -> Option<&str> {
        self.soname.as_deref()
    }

    /// The `DT_NEEDED` names, in file order.
    pub fn needed(&self) -> &[String] {
        &self.needed
    }

    /// The image size: the end of the highest segment, rounded up to [`crate::PAGE_SIZE`].
    pub fn image_size(&self) -> u64 {
        self.image_size
    }

    /// The loadable segments, sorted by image offset, on disjoint pages.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// `PT_GNU_RELRO` as (image offset, size).
    pub fn relro(&self) -> Option<(u64, u64)> {
        self.relro
    }

    /// The compartment-local storage templates, as (address, size).
    pub fn cls_templates(&self) -> &[(u64, u64)] {
        &self.cls_templates
    }

    /// The symbols the object defines in its image, in symbol table order.
    pub fn symbols(&self) -> Vec<Symbol> {
        self.dynamic_symbols
            .iter()
            .filter(|symbol| symbol.definition == Definition::InImage && !symbol.name.is_empty())
            .map(|symbol| Symbol {
                name: symbol.name.clone(),
                image_offset: symbol.value,
                size: symbol.size,
                kind: symbol.kind(),
            })
            .collect()
    }
}

/// Parses and checks one object on its own.
pub fn parse_object(input: ObjectInput<'_>) -> Result<ParsedObject, LoadError> {
    let object = input.name;
    let header = parse_file_header(object, input.bytes)?;
    let segments = parse_segments(object, input.bytes, &header)?;
    if let (true, Some(tls)) = (header.purecap, segments.tls) {
        let object = String::from(object);
        return Err(LoadError::ThreadLocalStorage { object, address: tls.image_offset });
    }
    let Some(dynamic_header) = segments.dynamic else {
        return Err(LoadError::MissingDynamicSection { object: String::from(object) });
    };
    let dynamic = parse_dynamic(object, input.bytes, &dynamic_header)?;
    let cls_templates = parse_cls_templates(object, input.bytes, &segments.loads)?;
    let map = FileMap { object, bytes: input.bytes, segments: &segments.loads };
    let strings = StringTable::new(
        object,
        map.table(
            "DT_STRTAB",
            dynamic.string_table.value,
            dynamic.string_table.file_offset,
            Some(dynamic.string_table_size.value),
        )?,
    );
    let soname = dynamic.soname.map(|entry| strings.get(entry.value)).transpose()?;
    let needed =
        dynamic.needed.iter().map(|entry| strings.get(entry.value)).collect::<Result<Vec<_>, _>>()?;
    let count = symbol_count(&map, &dynamic)?;
    let relocations = parse_relocations(&map, header.machine, &dynamic, count.limit)?;
    let named = relocations
        .iter()
        .filter(|relocation| relocation.operation.uses_symbol())
        .map(|relocation| u64::from(relocation.symbol) + 1)
        .max()
        .unwrap_or(0);
    let dynamic_symbols =
        parse_symbols(&map, &dynamic, &strings, count.known.max(named), segments.image_size)?;
    let initializers = check_initializers(object, &dynamic.routines, &segments.loads)?;
    Ok(ParsedObject {
        name: String::from(object),
        machine: header.machine,
        purecap: header.purecap,
        entry: header.entry,
        soname,
        needed,
        image_size: segments.image_size,
        segments: segments.loads,
        relro: segments.relro,
        cls_templates,
        dynamic_symbols,
        relocations,
        initializers,
        tls: segments.tls,
    })
}

/// Checks the initializers and finalizers: each function in an executable segment, each
/// array (of 8-byte entries) in the image.
fn check_initializers(
    object: &str,
    routines: &Routines,
    segments: &[Segment],
) -> Result<Initializers, LoadError> {
    let outside = |tag: &'static str, entry: Entry| LoadError::InitializerOutsideImage {
        object: String::from(object),
        tag,
        file_offset: entry.file_offset,
        address: entry.value,
    };
    let function = |entry: Option<Entry>, tag: &'static str| {
        let Some(entry) = entry else { return Ok(None) };
        let in_code = segments.iter().any(|segment| {
            segment.permissions.execute
                && entry.value >= segment.image_offset
                && entry.value < segment.image_offset.saturating_add(segment.memory_size)
        });
        if in_code {
            Ok(Some(entry.value))
        } else {
            Err(outside(tag, entry))
        }
    };
    let array = |array: Option<(Entry, u64)>, tag: &'static str| {
        let Some((entry, count)) = array else { return Ok(None) };
        let end = count.checked_mul(8).and_then(|size| entry.value.checked_add(size));
        let in_image = end.is_some_and(|end| {
            segments.iter().any(|segment| {
                entry.value >= segment.image_offset
                    && end <= segment.image_offset.saturating_add(segment.memory_size)
            })
        });
        if in_image {
            Ok(Some((entry.value, count)))
        } else {
            Err(outside(tag, entry))
        }
    };
    Ok(Initializers {
        preinit_array: array(routines.preinit_array, "DT_PREINIT_ARRAY")?,
        init: function(routines.init, "DT_INIT")?,
        init_array: array(routines.init_array, "DT_INIT_ARRAY")?,
        fini_array: array(routines.fini_array, "DT_FINI_ARRAY")?,
        fini: function(routines.fini, "DT_FINI")?,
    })
}
