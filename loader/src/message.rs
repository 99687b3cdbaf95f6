//! The messages of [`LoadError`]: what is wrong, where, and how to fix the build.
//!
//! Offsets and addresses are printed in hexadecimal (`0x1f0`), sizes and counts in
//! decimal unless they are memory sizes that read better next to an address.

use core::fmt;

use crate::relocations::relocation_type_name;
use crate::strings::{BUDGET_FACTOR, BUDGET_SLACK};
use crate::tls::{DESCRIPTOR_RESOLVER, MAX_TLS_ALIGNMENT};
use crate::{LoadError, Machine, PAGE_SIZE};

/// The name of a machine, as a person writes it.
fn machine_name(machine: Machine) -> &'static str {
    match machine {
        Machine::X86_64 => "x86-64",
        Machine::Aarch64 => "AArch64",
    }
}

/// Whether an object is purecap, as a person says it.
fn abi_name(purecap: bool) -> &'static str {
    if purecap {
        "Morello purecap (EF_AARCH64_CHERI_PURECAP set)"
    } else {
        "not purecap (EF_AARCH64_CHERI_PURECAP clear)"
    }
}

/// Advice for a relocation type the loader does not implement.
fn relocation_advice(name: &str) -> &'static str {
    if name.contains("TLS") {
        "thread-local storage is supported for x86-64 and AArch64 (hybrid) objects only"
    } else if name.contains("COPY") {
        "copy relocations are not supported; build the program with -fPIC"
    } else if name.contains("IRELATIVE") {
        "indirect functions (ifunc) are not supported"
    } else if name.contains("FUNC_RELATIVE") || name.contains("CODE_CAPINIT") {
        "compartmentalisation (c18n) relocations are not supported; link without c18n"
    } else {
        "build with -fPIC/-fPIE so that only RELATIVE, 64/ABS64, GLOB_DAT and JUMP_SLOT relocations remain"
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic { object, found } => write!(
                formatter,
                "{object}: not an ELF file: the bytes at file offset 0x0 are {found:02x?}, an ELF file \
                 starts with [7f, 45, 4c, 46] (\"\\x7fELF\"); give the compiled program or shared object"
            ),
            Self::TruncatedHeader { object, length } => write!(
                formatter,
                "{object}: the file is {length} bytes long, too short for the 64-byte ELF64 header at \
                 file offset 0x0; the file is truncated"
            ),
            Self::NotElf64 { object, class } => write!(
                formatter,
                "{object}: ELF class {class} at file offset 0x4 is not ELFCLASS64 (2); only 64-bit \
                 objects are supported: build for x86-64 or AArch64"
            ),
            Self::NotLittleEndian { object, encoding } => write!(
                formatter,
                "{object}: data encoding {encoding} at file offset 0x5 is not ELFDATA2LSB (1); only \
                 little-endian objects are supported"
            ),
            Self::BadVersion { object, file_offset, version } => write!(
                formatter,
                "{object}: ELF version {version} at file offset {file_offset:#x} is not EV_CURRENT (1); \
                 the file is corrupt"
            ),
            Self::NotPositionIndependent { object, elf_type } => write!(
                formatter,
                "{object}: ELF type {elf_type} at file offset 0x10 is not ET_DYN (3): the loader only \
                 loads position-independent objects; build it with -fPIE -pie or -shared"
            ),
            Self::UnsupportedMachine { object, machine } => write!(
                formatter,
                "{object}: machine {machine} at file offset 0x12 is not supported; build for x86-64 \
                 (EM_X86_64, 62) or AArch64 (EM_AARCH64, 183)"
            ),
            Self::MachineMismatch { object, machine, program, expected } => write!(
                formatter,
                "{object}: built for {} (e_machine at file offset 0x12) but the program {program} is \
                 built for {}; build every object of a program for the same machine",
                machine_name(*machine),
                machine_name(*expected)
            ),
            Self::PurecapMismatch { object, purecap, program } => write!(
                formatter,
                "{object}: is {} (e_flags at file offset 0x30) but the program {program} is {}; purecap \
                 and hybrid objects cannot be linked together: build every object with the same \
                 -mabi (purecap or not)",
                abi_name(*purecap),
                abi_name(!*purecap)
            ),
            Self::EnteredObjectNeeds { object, needed } => write!(
                formatter,
                "{object}: is a Morello purecap object entered by a hybrid program, so it is loaded \
                 on its own, but it needs {needed} (DT_NEEDED); link what it needs into it"
            ),
            Self::EnteredObjectInitializers { object } => write!(
                formatter,
                "{object}: is a Morello purecap object entered by a hybrid program, which cannot run its \
                 initializers or finalizers (DT_INIT, DT_INIT_ARRAY, DT_FINI, DT_FINI_ARRAY); build it \
                 without constructors and destructors"
            ),
            Self::PreinitArrayInLibrary { object } => write!(
                formatter,
                "{object}: is a library with a DT_PREINIT_ARRAY, which only a program may have; the file \
                 is corrupt or was linked as a program"
            ),
            Self::InitializerOutsideImage { object, tag, file_offset, address } => write!(
                formatter,
                "{object}: {tag} at file offset {file_offset:#x} is {address:#x}, outside the object's {}; \
                 the file is corrupt",
                if tag.ends_with("ARRAY") { "image" } else { "code" }
            ),
            Self::BadProgramHeaderSize { object, size } => write!(
                formatter,
                "{object}: e_phentsize at file offset 0x36 is {size}, but ELF64 program headers are 56 \
                 bytes; the file is corrupt"
            ),
            Self::ProgramHeadersOutOfFile { object, offset, count, file_length } => write!(
                formatter,
                "{object}: the {count} program headers at file offset {offset:#x} (e_phoff, e_phnum) \
                 run past the end of the {file_length}-byte file; the file is truncated or corrupt"
            ),
            Self::SegmentOutOfFile { object, index, file_offset, file_size, file_length } => write!(
                formatter,
                "{object}: program header {index}: the segment's {file_size:#x} bytes at file offset \
                 {file_offset:#x} (p_offset, p_filesz) run past the end of the {file_length}-byte file; \
                 the file is truncated or corrupt"
            ),
            Self::FileSizeExceedsMemorySize { object, index, address, file_size, memory_size } => write!(
                formatter,
                "{object}: program header {index}: the segment at address {address:#x} has p_filesz \
                 {file_size:#x} larger than p_memsz {memory_size:#x}; the file is corrupt"
            ),
            Self::SegmentAddressOverflow { object, index, address, memory_size } => write!(
                formatter,
                "{object}: program header {index}: the segment at address {address:#x} with p_memsz \
                 {memory_size:#x} ends past the top of the 64-bit address space"
            ),
            Self::WritableAndExecutable { object, index, address } => write!(
                formatter,
                "{object}: program header {index}: the segment at address {address:#x} is both writable \
                 and executable; keep code and writable data in separate segments (do not link with \
                 -N/--omagic)"
            ),
            Self::MisalignedSegment { object, index, address, file_offset, alignment } => write!(
                formatter,
                "{object}: program header {index}: the segment at address {address:#x}, file offset \
                 {file_offset:#x}, has alignment {alignment:#x}; a loadable segment needs a power-of-two \
                 alignment of at least {PAGE_SIZE:#x}, with p_vaddr and p_offset equal modulo it \
                 (link with -z max-page-size=4096 or larger)"
            ),
            Self::OverlappingSegments { object, first, second, address } => write!(
                formatter,
                "{object}: program headers {first} and {second}: the loadable segments share the \
                 {PAGE_SIZE}-byte page at address {address:#x}; segments must occupy disjoint pages"
            ),
            Self::NoLoadableSegment { object } => {
                write!(formatter, "{object}: there is no PT_LOAD program header, so nothing to load")
            }
            Self::ThreadLocalStorage { object, address } => write!(
                formatter,
                "{object}: PT_TLS at address {address:#x} in a Morello purecap object: thread-local \
                 storage is supported for x86-64 and AArch64 (hybrid) objects only; remove the \
                 __thread/_Thread_local variables of purecap code"
            ),
            Self::TlsAlignment { object, index, alignment } => write!(
                formatter,
                "{object}: program header {index} (PT_TLS) has alignment {alignment:#x}; a TLS block \
                 needs a power-of-two alignment of at most {MAX_TLS_ALIGNMENT:#x}"
            ),
            Self::TlsTooLarge { object, size, limit } => write!(
                formatter,
                "{object}: its thread-local storage block ({size} bytes) does not fit in the {limit} bytes \
                 of static TLS every thread of a cVM may have, with the blocks of the objects before it; \
                 make the __thread/_Thread_local variables smaller (allocate large ones per thread instead)"
            ),
            Self::TlsOutsideSegments { object, index, address, file_size } => write!(
                formatter,
                "{object}: program header {index}: the PT_TLS initialisation image at address {address:#x} \
                 ({file_size:#x} bytes) does not lie in the file bytes of one loadable segment; the file \
                 is corrupt"
            ),
            Self::TooManyTlsModules { object, limit } => write!(
                formatter,
                "{object}: more than {limit} objects of this cVM have thread-local storage (PT_TLS); \
                 merge some of them"
            ),
            Self::TlsRelocationToOrdinarySymbol { object, symbol, file_offset, site } => write!(
                formatter,
                "{object}: the TLS relocation at file offset {file_offset:#x} (site {site:#x}) names \
                 `{symbol}`, which is not a thread-local (STT_TLS) symbol; the objects disagree on \
                 whether `{symbol}` is __thread/_Thread_local: rebuild them from the same headers"
            ),
            Self::TlsSymbolWithoutBlock { object, symbol, defined_in, file_offset, site } => write!(
                formatter,
                "{object}: the TLS relocation at file offset {file_offset:#x} (site {site:#x}) binds \
                 `{symbol}` in {defined_in}, which has no PT_TLS block; the file is corrupt"
            ),
            Self::TlsOffsetOutsideBlock { object, symbol, defined_in, offset, size, file_offset } => write!(
                formatter,
                "{object}: the TLS relocation at file offset {file_offset:#x} reaches offset {offset:#x} \
                 of `{symbol}`'s block in {defined_in}, past its {size:#x} bytes; the file is corrupt"
            ),
            Self::TlsDescriptorResolverMissing { object, file_offset, site } => write!(
                formatter,
                "{object}: the TLS descriptor at file offset {file_offset:#x} (site {site:#x}) needs \
                 {DESCRIPTOR_RESOLVER}, which libcvm.so defines: add libcvm.so to the cVM's objects"
            ),
            Self::DuplicateProgramHeader { object, kind, index } => write!(
                formatter,
                "{object}: program header {index} is a second {kind}; an object may have only one"
            ),
            Self::BadSectionHeaderSize { object, size } => write!(
                formatter,
                "{object}: e_shentsize at file offset 0x3a is {size}, but ELF64 section headers are 64 \
                 bytes; the file is corrupt"
            ),
            Self::SectionHeadersOutOfFile { object, offset, count, file_length } => write!(
                formatter,
                "{object}: the {count} section headers at file offset {offset:#x} (e_shoff, e_shnum) \
                 run past the end of the {file_length}-byte file; the file is truncated or corrupt"
            ),
            Self::SectionNameOutOfTable { object, section, file_offset } => write!(
                formatter,
                "{object}: the name of section {section} (header at file offset {file_offset:#x}) is \
                 not inside the section name table; the file is corrupt"
            ),
            Self::ClsTemplateNotWritable { object, section, address, size } => write!(
                formatter,
                "{object}: the compartment-local storage template {section} at address {address:#x} \
                 ({size:#x} bytes) is not inside one writable segment; link it with the default \
                 linker script so that it lands in the read-write segment"
            ),
            Self::RelroOutsideSegments { object, index, address, size } => write!(
                formatter,
                "{object}: program header {index}: PT_GNU_RELRO at address {address:#x}, {size:#x} bytes, \
                 does not lie within the pages of one loadable segment; the file is corrupt"
            ),
            Self::MissingDynamicSection { object } => write!(
                formatter,
                "{object}: there is no PT_DYNAMIC program header, so the object is statically linked; \
                 build it with -fPIE -pie or -shared"
            ),
            Self::UnterminatedDynamicSection { object, file_offset, size } => write!(
                formatter,
                "{object}: the dynamic section at file offset {file_offset:#x} ({size} bytes) has no \
                 DT_NULL entry ending it; the file is corrupt"
            ),
            Self::DuplicateDynamicEntry { object, tag, file_offset } => write!(
                formatter,
                "{object}: the dynamic entry at file offset {file_offset:#x} is a second {tag}; it may \
                 appear only once"
            ),
            Self::MissingDynamicEntry { object, tag, file_offset } => write!(
                formatter,
                "{object}: the dynamic section at file offset {file_offset:#x} has no {tag} entry, which \
                 the loader needs; the object was not made by a standard linker or is corrupt"
            ),
            Self::BadEntrySize { object, tag, file_offset, size, expected } => write!(
                formatter,
                "{object}: {tag} at file offset {file_offset:#x} says entries are {size} bytes, but ELF64 \
                 ones are {expected}; the file is corrupt"
            ),
            Self::BadTableSize { object, tag, file_offset, size, entry_size } => write!(
                formatter,
                "{object}: {tag} at file offset {file_offset:#x} is {size}, not a multiple of the \
                 {entry_size}-byte entry size; the file is corrupt"
            ),
            Self::RelRelocations { object, tag, file_offset } => write!(
                formatter,
                "{object}: {tag} at file offset {file_offset:#x}: relocations without addends (REL) are \
                 not supported, only RELA; link with a standard x86-64 or AArch64 linker"
            ),
            Self::PackedRelocations { object, tag, file_offset } => write!(
                formatter,
                "{object}: {tag} at file offset {file_offset:#x}: packed relative relocations (RELR) are \
                 not supported; link without -z pack-relative-relocs"
            ),
            Self::UnmappedAddress { object, tag, file_offset, address } => write!(
                formatter,
                "{object}: {tag} at file offset {file_offset:#x} points at address {address:#x}, which \
                 is in no loadable segment's file contents; the file is corrupt"
            ),
            Self::TableOutOfFile { object, tag, address, file_offset, size } => write!(
                formatter,
                "{object}: the {tag} table at address {address:#x} (file offset {file_offset:#x}), \
                 {size} bytes, runs past the file contents of its loadable segment; the file is \
                 truncated or corrupt"
            ),
            Self::BadGnuHashBucket { object, file_offset, bucket, symbol_offset } => write!(
                formatter,
                "{object}: the DT_GNU_HASH table at file offset {file_offset:#x} has a bucket naming \
                 symbol {bucket}, below its first hashed symbol {symbol_offset}; the file is corrupt"
            ),
            Self::StringOutOfTable { object, offset, table_file_offset, table_size } => write!(
                formatter,
                "{object}: string offset {offset:#x} is past the end of the string table at file offset \
                 {table_file_offset:#x} ({table_size} bytes, DT_STRSZ); the file is corrupt"
            ),
            Self::UnterminatedString { object, file_offset } => write!(
                formatter,
                "{object}: the string at file offset {file_offset:#x} has no NUL byte before the end of \
                 the string table (DT_STRSZ); the file is corrupt"
            ),
            Self::InvalidString { object, file_offset } => {
                write!(formatter, "{object}: the string at file offset {file_offset:#x} is not valid UTF-8")
            }
            Self::NamesTooLong { object, table_file_offset, table_size } => write!(
                formatter,
                "{object}: the names that symbols take from the string table at file offset \
                 {table_file_offset:#x} ({table_size} bytes) add up to more than {BUDGET_FACTOR} times \
                 its size plus {BUDGET_SLACK} bytes: many symbols share long names; the file is malformed"
            ),
            Self::SymbolOutOfImage { object, symbol, file_offset, value, size, image_size } => write!(
                formatter,
                "{object}: symbol `{symbol}` (symbol table entry at file offset {file_offset:#x}) at \
                 {value:#x}, {size:#x} bytes, is not inside the object's {image_size:#x}-byte image"
            ),
            Self::UnsupportedRelocation { object, machine, relocation_type, file_offset, site } => {
                let name = relocation_type_name(*machine, *relocation_type).unwrap_or("unknown");
                write!(
                    formatter,
                    "{object}: the relocation at file offset {file_offset:#x} (site {site:#x}) has type \
                     {name} ({relocation_type}), which the loader does not support on {}: {}",
                    machine_name(*machine),
                    relocation_advice(name)
                )
            }
            Self::SymbolIndexOutOfRange { object, file_offset, site, index, count } => write!(
                formatter,
                "{object}: the relocation at file offset {file_offset:#x} (site {site:#x}) names symbol \
                 {index}, but the dynamic symbol table has {count} symbols; the file is corrupt"
            ),
            Self::RelocationSiteNotWritable { object, file_offset, site, size } => write!(
                formatter,
                "{object}: the relocation at file offset {file_offset:#x} writes {size} bytes at address \
                 {site:#x}, which are not all inside a writable loadable segment; if the site is in code, \
                 the object has text relocations, which are not supported: build with -fPIC or -fPIE"
            ),
            Self::MisalignedCapabilitySite { object, file_offset, site } => write!(
                formatter,
                "{object}: the capability relocation at file offset {file_offset:#x} writes at address \
                 {site:#x}, which is not 16-byte aligned; a capability takes 16 aligned bytes: the file \
                 is corrupt"
            ),
            Self::RelativeCapabilityWithSymbol { object, file_offset, site, index } => write!(
                formatter,
                "{object}: the R_MORELLO_RELATIVE relocation at file offset {file_offset:#x} (site \
                 {site:#x}) names symbol {index}; it must name the null symbol 0, since its capability \
                 comes from the fragment at the site: the file is corrupt"
            ),
            Self::BadCapabilityFragment { object, file_offset, site, kind } => write!(
                formatter,
                "{object}: the R_MORELLO_RELATIVE relocation at file offset {file_offset:#x} has a \
                 fragment at address {site:#x} whose permission kind (byte 15) is {kind}, not 4 \
                 (executable), 2 (read-write data) or 1 (read-only data); the file is corrupt"
            ),
            Self::CapabilityOutOfImage {
                object,
                file_offset,
                site,
                symbol,
                target_object,
                base,
                length,
                image_size,
            } => {
                write!(
                    formatter,
                    "{object}: the capability relocation at file offset {file_offset:#x} (site {site:#x}) \
                     covers {length:#x} bytes from {base:#x} in {target_object}"
                )?;
                if let Some(symbol) = symbol {
                    write!(formatter, " (symbol `{symbol}`)")?;
                }
                write!(formatter, ", not all inside its {image_size:#x}-byte image; the file is corrupt")
            }
            Self::EntryOutsideCapability { object, file_offset, site, base, length, addend } => write!(
                formatter,
                "{object}: the R_MORELLO_RELATIVE relocation at file offset {file_offset:#x} (site \
                 {site:#x}) enters its executable capability of {length:#x} bytes from {base:#x} at \
                 offset {addend} (the addend), outside its bounds; the file is corrupt"
            ),
            Self::FunctionEntryOutOfImage {
                object,
                file_offset,
                site,
                symbol,
                target_object,
                value,
                addend,
                image_size,
            } => write!(
                formatter,
                "{object}: the capability relocation at file offset {file_offset:#x} (site {site:#x}) \
                 enters the function `{symbol}` = {value:#x} in {target_object} at {value:#x} + \
                 ({addend}), outside its {image_size:#x}-byte image; the file is corrupt"
            ),
            Self::AbsoluteCapability { object, symbol, file_offset, site } => write!(
                formatter,
                "{object}: the capability relocation at file offset {file_offset:#x} (site {site:#x}) \
                 binds to the absolute symbol `{symbol}` (SHN_ABS), which is in no object's image, so no \
                 capability can be made for it; define it in a section"
            ),
            Self::RelocationTargetOutOfImage {
                object,
                file_offset,
                site,
                symbol,
                target_object,
                base,
                addend,
                image_size,
            } => {
                write!(
                    formatter,
                    "{object}: the relocation at file offset {file_offset:#x} (site {site:#x}) points at \
                     {base:#x} + ({addend}) in {target_object}"
                )?;
                if let Some(symbol) = symbol {
                    write!(formatter, " (symbol `{symbol}`)")?;
                }
                write!(formatter, ", outside its {image_size:#x}-byte image; the file is corrupt")
            }
            Self::RelocationOverflow { object, file_offset, site, symbol, value, addend } => write!(
                formatter,
                "{object}: the relocation at file offset {file_offset:#x} (site {site:#x}) adds {addend} \
                 to the absolute symbol `{symbol}` = {value:#x}, which overflows 64 bits"
            ),
            Self::IndirectFunction { object, symbol, file_offset, site, defined_in } => write!(
                formatter,
                "{object}: the relocation at file offset {file_offset:#x} (site {site:#x}) binds to \
                 `{symbol}` in {defined_in}, an indirect function (STT_GNU_IFUNC); ifuncs are not \
                 supported: build the library without them"
            ),
            Self::UndefinedSymbol { object, symbol, file_offset, site } => write!(
                formatter,
                "{object}: undefined symbol `{symbol}`, needed by the relocation at file offset \
                 {file_offset:#x} (site {site:#x}): no object of the program defines it; add the object \
                 that defines it, or declare it weak"
            ),
            Self::MissingNeeded { object, needed } => write!(
                formatter,
                "{object}: needs `{needed}` (DT_NEEDED), which is not among the objects given; add it to \
                 the program's objects"
            ),
            Self::AmbiguousNeeded { object, needed, first, second } => write!(
                formatter,
                "{object}: needs `{needed}` (DT_NEEDED), which matches both {first} and {second}; give \
                 the objects distinct names and sonames"
            ),
            Self::NeededCycle { object, chain } => write!(
                formatter,
                "{object}: the objects need each other in a loop (DT_NEEDED): {chain}; break the loop"
            ),
            Self::DuplicateObjectName { object } => {
                write!(formatter, "{object}: two objects are given this name; object names must be unique")
            }
            Self::EntryNotExecutable { object, entry } => write!(
                formatter,
                "{object}: the entry point {entry:#x} (e_entry at file offset 0x18) is not inside an \
                 executable segment; link the program with a valid entry symbol (-e)"
            ),
        }
    }
}
