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
    /// Whether it is an Arm Morello pure-capability object (`EM_AARCH64` with
    /// `EF_AARCH64_CHERI_PURECAP` in `e_flags`). Every object of a plan agrees.
    pub purecap: bool,
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
    /// What must run in each cVM before its program's `main` and after it.
    pub initializers: Initializers,
}

/// An object's initializers and finalizers, as image offsets: single functions (checked
/// to lie in executable segments) and arrays as (image offset, entries) (checked to lie
/// in the image; their entries are pointers the object's relocations fill in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Initializers {
    /// `DT_PREINIT_ARRAY`: a program's only.
    pub preinit_array: Option<(u64, u64)>,
    /// `DT_INIT`.
    pub init: Option<u64>,
    /// `DT_INIT_ARRAY`.
    pub init_array: Option<(u64, u64)>,
    /// `DT_FINI_ARRAY` (run last entry first).
    pub fini_array: Option<(u64, u64)>,
    /// `DT_FINI`.
    pub fini: Option<u64>,
}

impl Initializers {
    /// Whether there is anything to run.
    pub fn any(&self) -> bool {
        self.preinit_array.is_some()
            || self.init.is_some()
            || self.init_array.is_some()
            || self.fini_array.is_some()
            || self.fini.is_some()
    }
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
    /// A Morello capability (`R_MORELLO_RELATIVE`, `R_MORELLO_CAPINIT`,
    /// `R_MORELLO_GLOB_DAT`, `R_MORELLO_JUMP_SLOT`): 16 bytes and a tag, minted by
    /// the platform from the authority it holds over the target's image.
    Capability(CapabilityRelocation),
}

impl RelocationValue {
    /// The object whose load address the value depends on, if any.
    pub fn target_object(&self) -> Option<usize> {
        match self {
            Self::ImageRelative { object, .. } => Some(*object),
            Self::Capability(CapabilityRelocation {
                target: CapabilityTarget::ImageRelative { object, .. },
                ..
            }) => Some(*object),
            Self::Absolute(_) | Self::Capability(_) => None,
        }
    }
}

/// A capability to mint at a relocation site, described without addresses.
///
/// Minting follows CheriBSD's `init_cap_from_fragment` (FACTS §3.3): start from a code
/// capability for [`CapabilityKind::Executable`], a data capability otherwise; set the
/// address to the target's load address; set bounds to `length`; remove the permissions
/// the kind does not allow; add `addend` to the address (it may carry the C64 bit 0 of
/// a code pointer); seal executable capabilities as sentries (RB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapabilityRelocation {
    /// The capability's base.
    pub target: CapabilityTarget,
    /// The capability's length: `[base, base + length)` lies inside the target's image
    /// (zero for [`CapabilityTarget::Null`]).
    pub length: u64,
    /// What the capability may be used for.
    pub permissions: CapabilityKind,
    /// Added to the address after the bounds are set. For an executable capability into
    /// an image it is the entry point's offset from the base, C64 bit 0 included, and
    /// lies in `[0, length]`; for data it may point anywhere (C allows one-past-the-end,
    /// and the platform's offset arithmetic clears the tag of what is not representable).
    pub addend: i64,
}

/// Where a capability's base is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityTarget {
    /// The load address of object `object` plus `offset`.
    ImageRelative {
        /// Index into [`LoadPlan::objects`].
        object: usize,
        /// Offset of the base inside that object's image.
        offset: u64,
    },
    /// No object: an undefined weak symbol. The platform writes the NULL capability
    /// plus `addend`, untagged.
    Null,
}

/// The permission kind of a capability (the fragment's byte 15, FACTS §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityKind {
    /// Kind 4: code. Load and Execute, never Store; sealed as a sentry.
    Executable,
    /// Kind 2: read-write data. Load and Store, never Execute.
    ReadWriteData,
    /// Kind 1: read-only data. Load only.
    ReadOnlyData,
}

/// One write the plan asks for: a 64-bit little-endian value into an 8-byte site, or a
/// capability into a 16-byte, 16-byte-aligned site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelocationWrite {
    /// Index of the object whose image holds the site.
    pub object: usize,
    /// Offset of the site inside that object's image: 8 bytes, or 16 bytes aligned to
    /// 16 for [`RelocationValue::Capability`].
    pub site: u64,
    /// What to write there.
    pub value: RelocationValue,
}

/// A thread-local storage block of a plan: where every thread of the cVM has its own
/// copy of an object's `PT_TLS`, relative to the thread pointer. A plan's blocks are
/// listed in module-id order (module ids count from 1); see `tls.rs` for the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsModule {
    /// Index into [`LoadPlan::objects`]: the program (module 1, with an empty block when
    /// it has no TLS of its own), then each object with `PT_TLS` in load order.
    pub object: usize,
    /// Offset of the initialisation image in the object's image (`p_vaddr`), inside a
    /// segment's bytes from the file.
    pub image_offset: u64,
    /// Bytes of the image copied into each thread's block (`p_filesz`).
    pub file_size: u64,
    /// Size of the block (`p_memsz`); the rest is zero.
    pub memory_size: u64,
    /// Alignment of the block (`p_align`, a power of two).
    pub alignment: u64,
    /// Distance from the thread pointer: the block is `[tp - offset, tp - offset +
    /// memory_size)` on x86-64, `[tp + offset, tp + offset + memory_size)` on AArch64.
    pub offset: u64,
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
    /// The static thread-local storage of every thread, in module-id order; empty when
    /// no object has `PT_TLS`.
    pub tls: Vec<TlsModule>,
}

/// The page size plans are laid out for.
pub const PAGE_SIZE: u64 = 4096;
