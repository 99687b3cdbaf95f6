//! The loader's output: a proposed plan for loading a program and the objects it needs.
//!
//! A plan holds no addresses. Every location is an offset inside one object's image
//! (the span of its loadable segments, starting at virtual address 0), and every value a
//! relocation writes is either "the load address of object N plus an offset" or an
//! absolute number. The intravisor picks where each image goes, verifies every offset
//! against the image and the region, and only then applies the plan.

use alloc::string::String;
use alloc::vec::Vec;

/// The instruction set of every object in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// `EM_X86_64`.
    X86_64,
    /// `EM_AARCH64`.
    Aarch64,
}

/// Memory permissions of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// `PF_R`.
    pub read: bool,
    /// `PF_W`.
    pub write: bool,
    /// `PF_X`.
    pub execute: bool,
}

/// One loadable segment of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the segment's first byte inside the object's image (`p_vaddr`).
    pub image_offset: u64,
    /// Size in memory (`p_memsz`); bytes past `file_size` are zero.
    pub memory_size: u64,
    /// Offset of the bytes to copy inside the object's file (`p_offset`).
    pub file_offset: u64,
    /// Number of bytes to copy from the file (`p_filesz`).
    pub file_size: u64,
    /// Final permissions, applied after relocation.
    pub permissions: Permissions,
    /// `p_align`.
    pub alignment: u64,
}

/// What kind of thing a symbol names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    /// `STT_FUNC`.
    Function,
    /// `STT_OBJECT`.
    Data,
    /// Anything else (`STT_NOTYPE`, `STT_SECTION`, ...).
    Other,
}

/// A symbol an object defines, for later lookups (entry points, CLS templates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The symbol's name, without version.
    pub name: String,
    /// Offset of the symbol inside its object's image (`st_value`).
    pub image_offset: u64,
    /// `st_size`.
    pub size: u64,
    /// `STT_*`.
    pub kind: SymbolKind,
}

/// One object of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject {
    /// The name the deployment gave the object (its file name).
    pub name: String,
    /// `DT_SONAME`, when it has one.
    pub soname: Option<String>,
    /// Size of the image: the end of the highest segment, rounded up to the page size.
    pub image_size: u64,
    /// Loadable segments, sorted by `image_offset`, disjoint.
    pub segments: Vec<Segment>,
    /// `PT_GNU_RELRO` as (image offset, size): made read-only after relocation.
    pub relro: Option<(u64, u64)>,
    /// Compartment-local storage templates (`.cls.data`, `.cls.bss`) as (image offset,
    /// size), sorted, each inside one writable segment: every cVM gets its own copy.
    pub cls_templates: Vec<(u64, u64)>,
    /// Symbols the object defines in its dynamic symbol table.
    pub symbols: Vec<Symbol>,
    /// Indices (into [`LoadPlan::objects`]) of the objects named by its `DT_NEEDED`.
    pub needed: Vec<usize>,
}

/// The value a relocation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocationValue {
    /// The load address of object `object` plus `offset`.
    ImageRelative {
        /// Index into [`LoadPlan::objects`].
        object: usize,
        /// Offset inside that object's image; at most its `image_size`.
        offset: u64,
    },
    /// A number that does not depend on where anything is loaded (an `SHN_ABS` symbol,
    /// or zero for an undefined weak symbol).
    Absolute(u64),
}

/// One 64-bit little-endian write the plan asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelocationWrite {
    /// Index of the object whose image holds the site.
    pub object: usize,
    /// Offset of the 8-byte site inside that object's image.
    pub site: u64,
    /// What to write there.
    pub value: RelocationValue,
}

/// A proposed load of a program and the objects it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    /// The machine all objects are built for.
    pub machine: Machine,
    /// The objects in load order: index 0 is the program, then its `DT_NEEDED`
    /// objects breadth-first, each once.
    pub objects: Vec<PlannedObject>,
    /// The program's entry point, as an offset inside object 0's image (`e_entry`).
    pub entry: u64,
    /// Every relocation write, for every object.
    pub relocations: Vec<RelocationWrite>,
}

/// The page size plans are laid out for.
pub const PAGE_SIZE: u64 = 4096;
