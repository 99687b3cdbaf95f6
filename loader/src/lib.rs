//! The untrusted ELF loader.
//!
//! It parses ELF64 little-endian `ET_DYN` objects (PIE programs and shared objects) for
//! x86-64 and AArch64 (Arm Morello purecap included) from byte slices, resolves
//! `DT_NEEDED` among the objects it is given (never the host's files), binds dynamic
//! symbols, computes relocations, and proposes a [`LoadPlan`]. It never touches memory:
//! the plan names offsets, and the intravisor verifies every one of them before applying
//! it. A malformed object gets an [`LoadError`] naming the object and the offending
//! offset, never a panic.
//!
//! What a plan promises, and what the caller still has to check (the loader is
//! untrusted, so the intravisor verifies all of it again):
//!
//! - Each object's image spans `[0, image_size)`; `image_size` is the end of the highest
//!   `PT_LOAD` segment rounded up to [`PAGE_SIZE`]. The image is placed at a
//!   page-aligned (better: `max(alignment)`-aligned) base.
//! - Segments are reported as in the file, not rounded. Rounded out to whole pages they
//!   are disjoint and inside the image, none is writable and executable, and their file
//!   ranges are inside the file. Bytes past `file_size` up to `memory_size` are zero;
//!   gaps between segments are not part of any segment and should stay unmapped.
//! - `relro` lies within the pages of one segment; make it read-only after relocating.
//! - Every relocation site but a capability's is 8 bytes inside a writable segment of
//!   its object, and every `ImageRelative` offset is at most that object's `image_size`.
//!   Writes are listed object by object in table order (`DT_RELA`, then `DT_JMPREL`);
//!   apply them in order.
//! - Objects are all Morello purecap (`EF_AARCH64_CHERI_PURECAP`) or all not
//!   ([`PlannedObject::purecap`]); lld refuses to link the two kinds, and so does a plan.
//!   One exception: a program that is not purecap may be given purecap objects it does
//!   not need. They are *entered*, not linked: planned after the linked objects, with
//!   no `DT_NEEDED` and no binding to or from the others; the platform hands the cVM
//!   sealed entry capabilities for their functions.
//! - A [`RelocationValue::Capability`] (`R_MORELLO_RELATIVE`, `R_MORELLO_CAPINIT`,
//!   `R_MORELLO_GLOB_DAT`, `R_MORELLO_JUMP_SLOT`, in purecap and hybrid objects alike)
//!   has a 16-byte, 16-byte-aligned site inside one writable segment, and bounds
//!   `[offset, offset + length)` inside the target object's image; an executable one has
//!   its addend (the entry, C64 bit 0 included) in `[0, length]`. A plan never holds a
//!   tag: the platform mints each capability from its own authority over the images (see
//!   [`CapabilityRelocation`]) and must check bounds and kind again. Data bounds are the
//!   symbol's or fragment's exact length, which the platform rounds outwards if it is not
//!   representable. A code capability to a function symbol covers the whole image of
//!   the defining object (C64 code reaches its GOT through PCC); an `R_MORELLO_RELATIVE`
//!   one takes the fragment's range, LLD's PCC range.
//!   `R_MORELLO_IRELATIVE`, `R_MORELLO_TLSDESC`, `R_MORELLO_TLS_TPREL128` and the other
//!   Morello types are refused by name.
//! - `entry` is inside an executable segment of object 0.
//! - `cls_templates` are the `.cls.data`/`.cls.bss` sections (found by name in the
//!   section headers), each inside one writable segment.
//! - `initializers`: `DT_INIT`/`DT_FINI` inside an executable segment, the
//!   `DT_INIT_ARRAY`/`DT_FINI_ARRAY`/`DT_PREINIT_ARRAY` arrays of whole 8-byte entries
//!   inside the image, a preinit array in the program only, none in an entered object.
//! - `tls`: the static thread-local storage layout (`tls.rs`): each `PT_TLS` block's
//!   offset from the thread pointer, its initialisation image inside a segment's file
//!   bytes, [`MAX_TLS_SIZE`] bytes in all at most. TLS relocations are resolved to
//!   numbers (module ids, offsets), but an AArch64 descriptor's first word, the libOS's
//!   resolver; the platform hands the layout to the cVM's C library, which sets up every
//!   thread's blocks by it.
//! - Not in a plan: symbol versions.
//!
//! Reading order: [`plan()`] (in `link.rs`) drives [`parse_object`] (`object.rs`), which
//! reads the header and segments (`header.rs`), the dynamic section (`dynamic.rs`), the
//! strings (`strings.rs`), symbols (`symbols.rs`) and relocations (`relocations.rs`),
//! all through the bounds-checked reads of `bytes.rs`. Errors are in `error.rs`, their
//! messages in `message.rs`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod bytes;
mod dynamic;
mod error;
mod header;
mod link;
mod message;
mod object;
mod plan;
mod relocations;
mod sections;
mod strings;
mod symbols;
mod tls;

pub use error::LoadError;
pub use link::plan;
pub use object::{parse_object, ObjectInput, ParsedObject};
pub use plan::{
    CapabilityKind, CapabilityRelocation, CapabilityTarget, Initializers, LoadPlan, Machine, Permissions,
    PlannedObject, RelocationValue, RelocationWrite, Segment, Symbol, SymbolKind, TlsModule, PAGE_SIZE,
};
pub use sections::CLS_SECTIONS;
pub use tls::{DESCRIPTOR_RESOLVER, MAX_TLS_ALIGNMENT, MAX_TLS_MODULES, MAX_TLS_SIZE, PROGRAM_RESERVE};
