//! Everything that can be wrong with the objects handed to the loader.
//!
//! One variant per check, so a test (or a caller) can tell exactly which rule an object
//! broke. Every variant names the object (the name the caller gave it), and the file
//! offset or virtual address of the offending bytes where there is one. The messages, in
//! `message.rs`, say what is wrong and, where they can, how to fix the build.

use alloc::string::String;

use crate::Machine;

/// Why the loader refused to plan a load.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The file does not start with `\x7fELF`.
    BadMagic { object: String, found: [u8; 4] },
    /// The file is shorter than the 64-byte ELF64 header.
    TruncatedHeader { object: String, length: u64 },
    /// `EI_CLASS` is not `ELFCLASS64`.
    NotElf64 { object: String, class: u8 },
    /// `EI_DATA` is not `ELFDATA2LSB`.
    NotLittleEndian { object: String, encoding: u8 },
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT`.
    BadVersion { object: String, file_offset: u64, version: u32 },
    /// `e_type` is not `ET_DYN`.
    NotPositionIndependent { object: String, elf_type: u16 },
    /// `e_machine` is neither `EM_X86_64` nor `EM_AARCH64`.
    UnsupportedMachine { object: String, machine: u16 },
    /// An object is built for another machine than the program.
    MachineMismatch { object: String, machine: Machine, program: String, expected: Machine },
    /// An object is Morello purecap (`EF_AARCH64_CHERI_PURECAP`) and the program is not,
    /// or the other way round.
    PurecapMismatch { object: String, purecap: bool, program: String },
    /// A purecap object entered by a hybrid program (through sealed entry capabilities)
    /// has a `DT_NEEDED` of its own.
    EnteredObjectNeeds { object: String, needed: String },
    /// A purecap object entered by a hybrid program has initializers or finalizers,
    /// which the hybrid cVM cannot call.
    EnteredObjectInitializers { object: String },
    /// A library has a `DT_PREINIT_ARRAY`, which only a program may have.
    PreinitArrayInLibrary { object: String },
    /// An initializer or finalizer (`DT_INIT`, `DT_INIT_ARRAY`, ...) points outside the
    /// object's code (a function) or image (an array).
    InitializerOutsideImage { object: String, tag: &'static str, file_offset: u64, address: u64 },
    /// `e_phentsize` is not 56.
    BadProgramHeaderSize { object: String, size: u16 },
    /// The program header table (`e_phoff`, `e_phnum`) runs past the end of the file.
    ProgramHeadersOutOfFile { object: String, offset: u64, count: u16, file_length: u64 },
    /// A `PT_LOAD` or `PT_DYNAMIC` file range (`p_offset`, `p_filesz`) runs past the end
    /// of the file.
    SegmentOutOfFile { object: String, index: usize, file_offset: u64, file_size: u64, file_length: u64 },
    /// A segment's `p_filesz` is larger than its `p_memsz`.
    FileSizeExceedsMemorySize { object: String, index: usize, address: u64, file_size: u64, memory_size: u64 },
    /// A segment's `p_vaddr + p_memsz`, rounded up to a page, overflows.
    SegmentAddressOverflow { object: String, index: usize, address: u64, memory_size: u64 },
    /// A segment is both writable and executable.
    WritableAndExecutable { object: String, index: usize, address: u64 },
    /// A `PT_LOAD` alignment is not a power of two of at least [`crate::PAGE_SIZE`], or
    /// `p_vaddr` and `p_offset` differ modulo it.
    MisalignedSegment { object: String, index: usize, address: u64, file_offset: u64, alignment: u64 },
    /// Two `PT_LOAD` segments share a page of memory.
    OverlappingSegments { object: String, first: usize, second: usize, address: u64 },
    /// There is no `PT_LOAD` program header.
    NoLoadableSegment { object: String },
    /// A Morello purecap object has a `PT_TLS` program header (its TLS relocations are
    /// not implemented).
    ThreadLocalStorage { object: String, address: u64 },
    /// `PT_TLS` has an alignment that is not a power of two, or above
    /// [`crate::MAX_TLS_ALIGNMENT`].
    TlsAlignment { object: String, index: usize, alignment: u64 },
    /// An object's TLS block, or the plan's blocks together, exceed [`crate::MAX_TLS_SIZE`].
    TlsTooLarge { object: String, size: u64, limit: u64 },
    /// The `PT_TLS` initialisation image does not lie in one loadable segment's file bytes.
    TlsOutsideSegments { object: String, index: usize, address: u64, file_size: u64 },
    /// More objects with TLS than [`crate::MAX_TLS_MODULES`].
    TooManyTlsModules { object: String, limit: usize },
    /// A TLS relocation names a symbol that is not `STT_TLS`.
    TlsRelocationToOrdinarySymbol { object: String, symbol: String, file_offset: u64, site: u64 },
    /// A TLS relocation binds to an object without a `PT_TLS` block.
    TlsSymbolWithoutBlock { object: String, symbol: String, defined_in: String, file_offset: u64, site: u64 },
    /// A TLS symbol plus addend lies past the end of its block.
    TlsOffsetOutsideBlock {
        object: String,
        symbol: String,
        defined_in: String,
        offset: u64,
        size: u64,
        file_offset: u64,
    },
    /// A TLS descriptor needs the libOS's resolver, which no object defines.
    TlsDescriptorResolverMissing { object: String, file_offset: u64, site: u64 },
    /// A second `PT_DYNAMIC` or `PT_GNU_RELRO` program header.
    DuplicateProgramHeader { object: String, kind: &'static str, index: usize },
    /// `PT_GNU_RELRO` does not lie within the pages of one `PT_LOAD` segment.
    RelroOutsideSegments { object: String, index: usize, address: u64, size: u64 },
    /// `e_shentsize` is not 64 although the file has section headers.
    BadSectionHeaderSize { object: String, size: u16 },
    /// The section header table (`e_shoff`, `e_shnum`) runs past the end of the file.
    SectionHeadersOutOfFile { object: String, offset: u64, count: u16, file_length: u64 },
    /// `e_shstrndx`, or a section's name, points outside the section name table.
    SectionNameOutOfTable { object: String, section: usize, file_offset: u64 },
    /// A compartment-local storage template (`.cls.data`, `.cls.bss`) is not inside one
    /// writable segment.
    ClsTemplateNotWritable { object: String, section: String, address: u64, size: u64 },
    /// There is no `PT_DYNAMIC` program header.
    MissingDynamicSection { object: String },
    /// The dynamic section has no `DT_NULL` entry.
    UnterminatedDynamicSection { object: String, file_offset: u64, size: u64 },
    /// A dynamic entry that may appear once appears twice.
    DuplicateDynamicEntry { object: String, tag: &'static str, file_offset: u64 },
    /// A dynamic entry the loader needs is missing.
    MissingDynamicEntry { object: String, tag: &'static str, file_offset: u64 },
    /// `DT_SYMENT` or `DT_RELAENT` is not 24.
    BadEntrySize { object: String, tag: &'static str, file_offset: u64, size: u64, expected: u64 },
    /// `DT_RELASZ` or `DT_PLTRELSZ` is not a multiple of the entry size.
    BadTableSize { object: String, tag: &'static str, file_offset: u64, size: u64, entry_size: u64 },
    /// `DT_REL`, `DT_RELSZ`, `DT_RELENT`, or a `DT_PLTREL` that is not `DT_RELA`.
    RelRelocations { object: String, tag: &'static str, file_offset: u64 },
    /// `DT_RELR`, `DT_RELRSZ` or `DT_RELRENT`.
    PackedRelocations { object: String, tag: &'static str, file_offset: u64 },
    /// An address in a dynamic entry is in no `PT_LOAD` segment's file contents.
    UnmappedAddress { object: String, tag: &'static str, file_offset: u64, address: u64 },
    /// A table runs past the end of the file contents of the segment it starts in.
    TableOutOfFile { object: String, tag: &'static str, address: u64, file_offset: u64, size: u64 },
    /// A `DT_GNU_HASH` bucket names a symbol below the table's first hashed symbol.
    BadGnuHashBucket { object: String, file_offset: u64, bucket: u32, symbol_offset: u32 },
    /// A string offset is past the end of the string table.
    StringOutOfTable { object: String, offset: u64, table_file_offset: u64, table_size: u64 },
    /// A string has no NUL byte before the end of the string table.
    UnterminatedString { object: String, file_offset: u64 },
    /// A string is not UTF-8.
    InvalidString { object: String, file_offset: u64 },
    /// The names read from the string table add up to far more than its size.
    NamesTooLong { object: String, table_file_offset: u64, table_size: u64 },
    /// A defined symbol lies outside its object's image.
    SymbolOutOfImage {
        object: String,
        symbol: String,
        file_offset: u64,
        value: u64,
        size: u64,
        image_size: u64,
    },
    /// A relocation type the loader does not implement.
    UnsupportedRelocation {
        object: String,
        machine: Machine,
        relocation_type: u32,
        file_offset: u64,
        site: u64,
    },
    /// A relocation names a symbol past the end of the dynamic symbol table.
    SymbolIndexOutOfRange { object: String, file_offset: u64, site: u64, index: u32, count: u64 },
    /// A relocation's site (`size` bytes: 8, or 16 for a capability) is not inside a
    /// writable `PT_LOAD` segment.
    RelocationSiteNotWritable { object: String, file_offset: u64, site: u64, size: u64 },
    /// A capability relocation's site is not 16-byte aligned.
    MisalignedCapabilitySite { object: String, file_offset: u64, site: u64 },
    /// An `R_MORELLO_RELATIVE` relocation names a symbol other than the null symbol.
    RelativeCapabilityWithSymbol { object: String, file_offset: u64, site: u64, index: u32 },
    /// The fragment at an `R_MORELLO_RELATIVE` site has a permission kind other than
    /// 4 (executable), 2 (read-write data) or 1 (read-only data).
    BadCapabilityFragment { object: String, file_offset: u64, site: u64, kind: u8 },
    /// A capability's bounds `[base, base + length)` are not inside the image of the
    /// object it points into.
    CapabilityOutOfImage {
        object: String,
        file_offset: u64,
        site: u64,
        symbol: Option<String>,
        target_object: String,
        base: u64,
        length: u64,
        image_size: u64,
    },
    /// An executable `R_MORELLO_RELATIVE` capability's entry point (its addend) is
    /// outside its bounds `[0, length]`.
    EntryOutsideCapability {
        object: String,
        file_offset: u64,
        site: u64,
        base: u64,
        length: u64,
        addend: i64,
    },
    /// A code capability to a function enters it at `st_value + addend`, outside the
    /// defining object's image (which the capability covers).
    FunctionEntryOutOfImage {
        object: String,
        file_offset: u64,
        site: u64,
        symbol: String,
        target_object: String,
        value: u64,
        addend: i64,
        image_size: u64,
    },
    /// A capability relocation binds to an absolute (`SHN_ABS`) symbol, which no image
    /// holds and so no capability can cover.
    AbsoluteCapability { object: String, symbol: String, file_offset: u64, site: u64 },
    /// A relocation's value points outside the image of the object it points into.
    RelocationTargetOutOfImage {
        object: String,
        file_offset: u64,
        site: u64,
        symbol: Option<String>,
        target_object: String,
        base: u64,
        addend: i64,
        image_size: u64,
    },
    /// An absolute symbol's value plus the addend overflows 64 bits.
    RelocationOverflow {
        object: String,
        file_offset: u64,
        site: u64,
        symbol: String,
        value: u64,
        addend: i64,
    },
    /// A relocation binds to an indirect function (`STT_GNU_IFUNC`).
    IndirectFunction { object: String, symbol: String, file_offset: u64, site: u64, defined_in: String },
    /// A relocation needs a symbol that no object of the plan defines.
    UndefinedSymbol { object: String, symbol: String, file_offset: u64, site: u64 },
    /// A `DT_NEEDED` name matches none of the objects given.
    MissingNeeded { object: String, needed: String },
    /// A `DT_NEEDED` name matches two of the objects given equally well.
    AmbiguousNeeded { object: String, needed: String, first: String, second: String },
    /// Objects need each other in a loop.
    NeededCycle { object: String, chain: String },
    /// Two inputs have the same name.
    DuplicateObjectName { object: String },
    /// The program's entry point is not inside an executable segment.
    EntryNotExecutable { object: String, entry: u64 },
}

impl core::error::Error for LoadError {}
