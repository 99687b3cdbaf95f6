//! A software model of Morello capabilities, bit-exact with the Sail specification
//! (`/work/shared/morello/FACTS.md` §1).
//!
//! A [`Cap`] holds the tag and the 128 encoded bits; nothing else. Decoding (bounds,
//! exponent, permissions, object type) and every derivation (set bounds, set value, add,
//! clear permissions, seal, unseal) compute what the hardware computes, including when
//! the tag is cleared. The invariant the intravisor relies on: a tagged result of any
//! operation here never has more bounds or permissions than its tagged input.
//!
//! `no_std`, `core` only, no `unsafe`. Files, in reading order:
//! - `permissions`: the 18 permission bits;
//! - `encoding`: the `Cap` type, field accessors, bounds decoding;
//! - `representable`: the precise and fast representability checks;
//! - `bounds`: SCBNDS/SCBNDSE, RRMASK/RRLEN and the required alignment;
//! - `derive`: value, permission and seal changes;
//! - `access`: the data-access check and the subset test.

mod access;
mod bounds;
mod derive;
mod encoding;
mod permissions;
mod representable;

pub use access::CapFault;
pub use bounds::{representable_length, representable_mask, required_alignment, SetBoundsResult};
pub use derive::SealForm;
pub use encoding::{Bounds, Cap, MAX_OBJECT_TYPE};
pub use permissions::Permissions;
