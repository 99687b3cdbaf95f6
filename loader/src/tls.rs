//! Thread-local storage: each object's `PT_TLS` block, the static TLS layout every
//! thread of a cVM gets (where each block lies relative to the thread pointer), and the
//! values of the TLS relocations, which depend on that layout and on no load address.
//!
//! A program's own block goes where its architecture's ABI puts it, since the program's
//! local-exec code has those offsets built in: on x86-64 (TLS variant II) it ends at the
//! thread pointer, on AArch64 (variant I) it starts 16 bytes past it, each placed so the
//! block's address is congruent to its `p_vaddr` modulo its alignment (as lld and musl
//! compute it). The libraries' blocks follow in load order, from [`PROGRAM_RESERVE`]
//! bytes past the thread pointer, or past the program's block when that is larger: so a
//! library lands at the same offset under every program with little TLS of its own, and
//! its relocated copy can be shared. Module ids count from 1: the program is module 1
//! (with an empty block when it has no TLS), the libraries with TLS 2, 3, ...
//!
//! Relocation values are numbers: `DTPMOD` is the module id, `DTPOFF`/`DTPREL` the
//! symbol's offset in its block, `TPOFF`/`TPREL` its offset from the thread pointer,
//! and a `TLSDESC` (AArch64's default, x86-64's `-mtls-dialect=gnu2`) is a pair: the
//! libOS's static resolver
//! [`DESCRIPTOR_RESOLVER`] (which returns the pair's second word) and that offset. Two
//! cVMs whose objects get the same layout share their copies; different layouts make
//! different copies, since the intravisor's store keys cover every relocation value.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use alloc::vec;

use crate::header::ProgramHeader;
use crate::link::{image_relative, lookup};
use crate::object::ParsedObject;
use crate::relocations::{Operation, Relocation};
use crate::symbols::Definition;
use crate::{LoadError, Machine, RelocationValue, RelocationWrite, Segment, TlsModule};

/// Bytes past the thread pointer where the libraries' blocks start when the program's
/// block is smaller.
pub const PROGRAM_RESERVE: u64 = 512;
/// The most static TLS a cVM's threads may have: every block of every object, with
/// alignment. Each thread of the cVM gets this much.
pub const MAX_TLS_SIZE: u64 = 1 << 20;
/// The most objects with TLS a plan may have (musl's table in `cvm-libc` has this many).
pub const MAX_TLS_MODULES: usize = 64;
/// The largest `PT_TLS` alignment accepted.
pub const MAX_TLS_ALIGNMENT: u64 = 4096;
/// The libOS function (in `libcvm.so`) a TLS descriptor calls.
pub const DESCRIPTOR_RESOLVER: &str = "__cvm_tlsdesc_static";
/// `STT_TLS`.
pub(crate) const TYPE_TLS: u8 = 6;
/// The gap between the thread pointer and the first block on AArch64.
const AARCH64_GAP: u64 = 16;

/// An object's checked `PT_TLS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TlsSegment {
    /// `p_vaddr`: the initialisation image's offset in the object's image.
    pub(crate) image_offset: u64,
    /// `p_filesz`: bytes copied from the image into every thread's block.
    pub(crate) file_size: u64,
    /// `p_memsz`: the block's size (the rest is zero).
    pub(crate) memory_size: u64,
    /// `p_align`, at least 1.
    pub(crate) alignment: u64,
}

/// Checks a `PT_TLS` program header of `object` against its loadable segments.
pub(crate) fn check_segment(
    object: &str,
    header: &ProgramHeader,
    loads: &[Segment],
) -> Result<TlsSegment, LoadError> {
    let (index, address) = (header.index, header.address);
    let alignment = header.alignment.max(1);
    if !alignment.is_power_of_two() || alignment > MAX_TLS_ALIGNMENT {
        return Err(LoadError::TlsAlignment { object: String::from(object), index, alignment });
    }
    if header.file_size > header.memory_size {
        return Err(LoadError::FileSizeExceedsMemorySize {
            object: String::from(object),
            index,
            address,
            file_size: header.file_size,
            memory_size: header.memory_size,
        });
    }
    if header.memory_size > MAX_TLS_SIZE {
        return Err(LoadError::TlsTooLarge {
            object: String::from(object),
            size: header.memory_size,
            limit: MAX_TLS_SIZE,
        });
    }
    // The initialisation image is read from the loaded image: it lies in one segment's
    // bytes from the file.
    let inside = address.checked_add(header.file_size).is_some_and(|end| {
        loads.iter().any(|segment| {
            segment.image_offset <= address
                && segment.image_offset.checked_add(segment.file_size).is_some_and(|file_end| end <= file_end)
        })
    });
    if !inside {
        return Err(LoadError::TlsOutsideSegments {
            object: String::from(object),
            index,
            address,
            file_size: header.file_size,
        });
    }
    Ok(TlsSegment {
        image_offset: address,
        file_size: header.file_size,
        memory_size: header.memory_size,
        alignment,
    })
}

/// The static TLS layout of `objects` (in plan order, the program first): empty when
/// none has TLS.
pub(crate) fn lay_out(machine: Machine, objects: &[&ParsedObject]) -> Result<Vec<TlsModule>, LoadError> {
    if objects.iter().all(|object| object.tls.is_none()) {
        return Ok(Vec::new());
    }
    let empty = TlsSegment { image_offset: 0, file_size: 0, memory_size: 0, alignment: 1 };
    let mut modules = Vec::new();
    // Where a program's block starts, and the end of the blocks so far, as distances
    // from the thread pointer.
    let gap = if machine == Machine::Aarch64 { AARCH64_GAP } else { 0 };
    let mut end = 0;
    for (index, object) in objects.iter().enumerate() {
        let segment = match (index, object.tls) {
            (_, Some(segment)) => segment,
            (0, None) => empty,
            (_, None) => continue,
        };
        if modules.len() == MAX_TLS_MODULES {
            return Err(LoadError::TooManyTlsModules { object: object.name.clone(), limit: MAX_TLS_MODULES });
        }
        let start = if index == 0 { gap } else { end.max(gap + PROGRAM_RESERVE) };
        let too_large = || LoadError::TlsTooLarge {
            object: object.name.clone(),
            size: segment.memory_size,
            limit: MAX_TLS_SIZE,
        };
        let (offset, block_end) = place(machine, start, &segment).ok_or_else(too_large)?;
        if block_end > MAX_TLS_SIZE {
            return Err(too_large());
        }
        end = block_end;
        modules.push(TlsModule {
            object: index,
            image_offset: segment.image_offset,
            file_size: segment.file_size,
            memory_size: segment.memory_size,
            alignment: segment.alignment,
            offset,
        });
    }
    Ok(modules)
}

/// Where a block goes when the blocks before it end `start` bytes from the thread
/// pointer: its offset and the end of it, as distances from the thread pointer; `None`
/// on overflow.
fn place(machine: Machine, start: u64, segment: &TlsSegment) -> Option<(u64, u64)> {
    let mask = segment.alignment - 1;
    match machine {
        // Below the thread pointer: the block is [tp - offset, tp - offset + size), with
        // tp - offset congruent to p_vaddr (tp is aligned to every block's alignment).
        Machine::X86_64 => {
            let bottom = start.checked_add(segment.memory_size)?;
            let offset =
                bottom.checked_add(0u64.wrapping_sub(segment.image_offset).wrapping_sub(bottom) & mask)?;
            Some((offset, offset))
        }
        // Above it: [tp + offset, tp + offset + size), offset congruent to p_vaddr.
        Machine::Aarch64 => {
            let offset = start.checked_add(segment.image_offset.wrapping_sub(start) & mask)?;
            Some((offset, offset.checked_add(segment.memory_size)?))
        }
    }
}

/// The writes of a TLS relocation of `object` (plan index `index`): one word, or two for
/// a descriptor.
pub(crate) fn bind(
    machine: Machine,
    layout: &[TlsModule],
    objects: &[&ParsedObject],
    scope: &BTreeMap<&str, (usize, usize)>,
    (index, object): (usize, &ParsedObject),
    relocation: &Relocation,
) -> Result<Vec<RelocationWrite>, LoadError> {
    // The null symbol names the object's own block (local-dynamic and local
    // initial-exec code); any other must be a TLS symbol of an object with a block.
    let (defining, symbol) = if relocation.symbol == 0 {
        (index, None)
    } else {
        match lookup(objects, scope, index, object, relocation)? {
            Some((defining, _, symbol)) => (defining, Some(symbol)),
            None => {
                let name =
                    object.dynamic_symbols.get(relocation.symbol as usize).map(|symbol| symbol.name.clone());
                return Err(LoadError::UndefinedSymbol {
                    object: object.name.clone(),
                    symbol: name.unwrap_or_default(),
                    file_offset: relocation.file_offset,
                    site: relocation.site,
                });
            }
        }
    };
    let symbol_name = || symbol.map_or_else(|| String::from("(its own block)"), |symbol| symbol.name.clone());
    if let Some(symbol) = symbol.filter(|symbol| symbol.symbol_type != TYPE_TLS) {
        return Err(LoadError::TlsRelocationToOrdinarySymbol {
            object: object.name.clone(),
            symbol: symbol.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
        });
    }
    let has_block = objects.get(defining).is_some_and(|defining| defining.tls.is_some());
    let module = layout.iter().position(|module| module.object == defining).filter(|_| has_block);
    let (Some(module_index), Some(defining_object)) = (module, objects.get(defining)) else {
        return Err(LoadError::TlsSymbolWithoutBlock {
            object: object.name.clone(),
            symbol: symbol_name(),
            defined_in: objects.get(defining).map(|object| object.name.clone()).unwrap_or_default(),
            file_offset: relocation.file_offset,
            site: relocation.site,
        });
    };
    let module = layout[module_index];
    let value = symbol.map_or(0, |symbol| symbol.value);
    let overflow = || LoadError::RelocationOverflow {
        object: object.name.clone(),
        file_offset: relocation.file_offset,
        site: relocation.site,
        symbol: symbol_name(),
        value,
        addend: relocation.addend,
    };
    let in_block = value.checked_add_signed(relocation.addend).ok_or_else(overflow)?;
    if in_block > module.memory_size {
        return Err(LoadError::TlsOffsetOutsideBlock {
            object: object.name.clone(),
            symbol: symbol_name(),
            defined_in: defining_object.name.clone(),
            offset: in_block,
            size: module.memory_size,
            file_offset: relocation.file_offset,
        });
    }
    // A two's-complement distance below the thread pointer on x86-64.
    let from_thread_pointer = match machine {
        Machine::X86_64 => in_block.wrapping_sub(module.offset),
        Machine::Aarch64 => module.offset + in_block,
    };
    let word = |site: u64, value: u64| RelocationWrite {
        object: index,
        site,
        value: RelocationValue::Absolute(value),
    };
    Ok(match relocation.operation {
        Operation::TlsModule => vec![word(relocation.site, module_index as u64 + 1)],
        Operation::TlsBlockOffset => vec![word(relocation.site, in_block)],
        Operation::TlsThreadOffset => vec![word(relocation.site, from_thread_pointer)],
        _ => {
            let resolver = scope
                .get(DESCRIPTOR_RESOLVER)
                .and_then(|&(defining, symbol)| {
                    Some((
                        defining,
                        *objects.get(defining)?,
                        objects.get(defining)?.dynamic_symbols.get(symbol)?,
                    ))
                })
                .filter(|(_, _, symbol)| symbol.definition == Definition::InImage);
            let Some((resolver_index, resolver_object, resolver)) = resolver else {
                return Err(LoadError::TlsDescriptorResolverMissing {
                    object: object.name.clone(),
                    file_offset: relocation.file_offset,
                    site: relocation.site,
                });
            };
            let address = image_relative(
                object,
                resolver_index,
                resolver_object,
                resolver.value,
                0,
                relocation,
                Some(resolver),
            )?;
            vec![
                RelocationWrite { object: index, site: relocation.site, value: address },
                word(relocation.site + 8, from_thread_pointer),
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(image_offset: u64, memory_size: u64, alignment: u64) -> TlsSegment {
        TlsSegment { image_offset, file_size: 0, memory_size, alignment }
    }

    #[test]
    fn blocks_are_placed_as_lld_and_musl_place_a_programs() {
        // x86-64: lld's -(p_memsz + ((-p_vaddr - p_memsz) & (p_align - 1))).
        assert_eq!(place(Machine::X86_64, 0, &segment(0x2e10, 0x24, 16)), Some((0x30, 0x30)));
        assert_eq!(place(Machine::X86_64, 0, &segment(0x2e08, 0x24, 16)), Some((0x28, 0x28)));
        // AArch64: lld's 16 + ((p_vaddr - 16) & (p_align - 1)).
        assert_eq!(place(Machine::Aarch64, 16, &segment(0x10d48, 0x8, 8)), Some((16, 24)));
        assert_eq!(place(Machine::Aarch64, 16, &segment(0x10d40, 0x8, 64)), Some((64, 72)));
        // A library after the reserve: congruent to its p_vaddr too.
        let (offset, _) = place(Machine::X86_64, PROGRAM_RESERVE, &segment(0x3d04, 0x10, 8)).unwrap();
        assert_eq!((offset, offset.wrapping_neg() % 8), (532, 0x3d04 % 8));
        assert_eq!(place(Machine::X86_64, u64::MAX - 4, &segment(0, 8, 8)), None);
        assert_eq!(place(Machine::Aarch64, u64::MAX - 4, &segment(0, 8, 8)), None);
    }
}
