//! Property test of the capability model: random derivation chains never amplify
//! authority.
//!
//! 200 000 cases (about 2 s in the test profile), each a chain of 1..=8 operations
//! (SCVALUE, ADD, SCOFF, SCBNDS(E), CLRPERM, SEAL, SEAL form, UNSEAL, tag clear) starting
//! from CMAX or from a tagged capability that set_bounds made from CMAX. After every
//! step:
//! - the capability round-trips through its 16-byte image;
//! - a tagged result had a tagged parent, valid bounds inside the parent's bounds and
//!   permissions that are a subset of the parent's (so `is_subset_of` holds), and every
//!   access it allows the parent allowed too;
//! - the object type changes only through SEAL/UNSEAL, and any other change to a sealed
//!   capability leaves it untagged;
//! - a tagged SCBNDS(E) result covers the requested range, exactly when it says exact.
//!
//! Operands are drawn relative to the current capability (in bounds, at the edges, or
//! arbitrary) so that chains go deep instead of losing the tag at once. Failure
//! persistence is off to keep the tree clean; a failing case prints its minimal chain,
//! which belongs in `capability_vectors.rs` as a named regression test.

use intravisor::capability::{Cap, Permissions, SealForm};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// An address chosen relative to the capability it is applied to.
#[derive(Clone, Copy, Debug)]
enum Address {
    /// `base + raw % (length + 1)`: in bounds, or exactly the top; if `canonical`, with
    /// the flags byte then made the sign-extension of bit 55, as set_bounds from a
    /// large (E >= 48) capability needs to keep the tag.
    Inside(u64, bool),
    /// `value + raw`, a small signed step.
    Near(i32),
    /// Just below the base or at/above the top.
    Edge(u16, bool),
    /// Any 64-bit value.
    Anywhere(u64),
}

/// A length chosen relative to the room between the value and the top.
#[derive(Clone, Copy, Debug)]
enum Length {
    /// `(raw % (room + 1)) >> shift`: fits, with sizes spread over all magnitudes.
    Fitting(u64, u8),
    /// `room + small`: the rest of the region or slightly past it.
    Rest(u8),
    /// A small length.
    Small(u16),
    /// Any 64-bit length.
    Anything(u64),
}

/// One architectural operation of a derivation chain.
#[derive(Clone, Copy, Debug)]
enum Op {
    SetValue(Address),
    Add(Address),
    SetOffset(u64),
    SetBounds(Length, bool),
    ClearPermissions(u32),
    Seal { object_type: u64, withheld: u32 },
    SealEntry(SealForm),
    Unseal { matching: bool, other: u64, withheld: u32 },
    ClearTag,
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        6 => (any::<u64>(), any::<bool>()).prop_map(|(raw, canonical)| Address::Inside(raw, canonical)),
        2 => any::<i32>().prop_map(Address::Near),
        1 => (any::<u16>(), any::<bool>()).prop_map(|(delta, above)| Address::Edge(delta, above)),
        1 => any::<u64>().prop_map(Address::Anywhere),
    ]
}

fn length() -> impl Strategy<Value = Length> {
    prop_oneof![
        4 => (any::<u64>(), any::<u8>()).prop_map(|(raw, shift)| Length::Fitting(raw, shift)),
        1 => any::<u8>().prop_map(Length::Rest),
        2 => any::<u16>().prop_map(Length::Small),
        1 => any::<u64>().prop_map(Length::Anything),
    ]
}

fn object_type() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..=0x8000, 1 => any::<u64>()]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => address().prop_map(Op::SetValue),
        2 => address().prop_map(Op::Add),
        1 => any::<u64>().prop_map(|raw| Op::SetOffset(raw >> (raw % 64))),
        // SCBNDSE one time in four: most random lengths are not exactly representable.
        4 => (length(), any::<u8>()).prop_map(|(length, coin)| Op::SetBounds(length, coin % 4 == 0)),
        2 => any::<u32>().prop_map(|mask| Op::ClearPermissions(mask & (mask >> 7))),
        1 => (object_type(), any::<u32>())
            .prop_map(|(object_type, withheld)| Op::Seal { object_type, withheld: withheld & (withheld >> 5) }),
        1 => prop_oneof![Just(SealForm::Rb), Just(SealForm::Lpb), Just(SealForm::Lb)].prop_map(Op::SealEntry),
        1 => (any::<bool>(), object_type(), any::<u32>()).prop_map(|(matching, other, withheld)| Op::Unseal {
            matching,
            other,
            withheld: withheld & (withheld >> 5),
        }),
        1 => Just(Op::ClearTag),
    ]
}

/// The starting capability: CMAX, or a tagged region carved from it.
fn start() -> impl Strategy<Value = Cap> {
    prop_oneof![
        1 => Just(Cap::root()),
        3 => (any::<u64>(), any::<u64>(), any::<bool>()).prop_map(|(base, length, aligned)| {
            // A base whose flags byte is the sign-extension of bit 55, so that the
            // large-to-small flags rule keeps the tag; a length that fits below 2^64.
            let base = ((base << 8) as i64 >> 8) as u64;
            let base = if aligned { base & !0xFFFF } else { base };
            let length = length >> (length % 64);
            let length = if base == 0 { length } else { length.min(base.wrapping_neg()) };
            let carved = Cap::root().set_value(base).set_bounds(length, false).cap;
            if carved.tag() { carved } else { Cap::root() }
        }),
    ]
}

fn resolve_address(cap: &Cap, address: Address) -> u64 {
    let base = cap.base();
    match address {
        Address::Inside(raw, canonical) => {
            let span = cap.length() + 1;
            let address = base.wrapping_add((u128::from(raw) % span) as u64);
            if canonical {
                ((address << 8) as i64 >> 8) as u64
            } else {
                address
            }
        }
        Address::Near(step) => cap.value().wrapping_add_signed(i64::from(step)),
        Address::Edge(delta, false) => base.wrapping_sub(u64::from(delta) + 1),
        Address::Edge(delta, true) => (cap.top() as u64).wrapping_add(u64::from(delta)),
        Address::Anywhere(raw) => raw,
    }
}

fn resolve_length(cap: &Cap, length: Length) -> u64 {
    let room = cap.top().saturating_sub(u128::from(cap.value()));
    let room = room.min(u128::from(u64::MAX)) as u64;
    match length {
        Length::Fitting(raw, shift) => ((u128::from(raw) % (u128::from(room) + 1)) as u64) >> (shift % 48),
        Length::Rest(extra) => room.saturating_add(u64::from(extra % 4)),
        Length::Small(raw) => u64::from(raw),
        Length::Anything(raw) => raw,
    }
}

/// An authority derived from CMAX with `value`, minus the `withheld` permissions.
fn authority(value: u64, withheld: u32) -> Cap {
    Cap::root().set_value(value).clear_permissions(Permissions::from_bits_truncate(withheld))
}

/// Applies one operation; returns the result and whether the op may change the seal.
fn apply(cap: &Cap, op: Op) -> (Cap, bool) {
    match op {
        Op::SetValue(address) => (cap.set_value(resolve_address(cap, address)), false),
        Op::Add(address) => (cap.add(resolve_address(cap, address).wrapping_sub(cap.value())), false),
        Op::SetOffset(offset) => (cap.set_offset(offset), false),
        Op::SetBounds(length, exact) => (cap.set_bounds(resolve_length(cap, length), exact).cap, false),
        Op::ClearPermissions(mask) => (cap.clear_permissions(Permissions::from_bits_truncate(mask)), false),
        Op::Seal { object_type, withheld } => (cap.seal(&authority(object_type, withheld)), true),
        Op::SealEntry(form) => (cap.seal_entry(form), true),
        Op::Unseal { matching, other, withheld } => {
            let value = if matching { u64::from(cap.object_type()) } else { other };
            (cap.unseal(&authority(value, withheld)), true)
        }
        Op::ClearTag => (cap.clear_tag(), false),
    }
}

/// SCBNDS(E) rounds outwards: a tagged result covers the requested range
/// `[value, value + length)` (the value read as a bounds address when the parent's
/// exponent is below 48), equals it when exact, and SCBNDSE keeps a tag only when exact.
fn check_set_bounds(parent: &Cap, length: u64, exact: bool) -> Result<(), TestCaseError> {
    let result = parent.set_bounds(length, exact);
    if !result.cap.tag() {
        return Ok(());
    }
    let value = parent.value();
    let requested_base = if parent.exponent() < 48 { ((value << 8) as i64 >> 8) as u64 } else { value };
    let requested_top = u128::from(requested_base) + u128::from(length);
    let (base, top) = (result.cap.base(), result.cap.top());
    prop_assert!(base <= requested_base && top >= requested_top, "{:?}", result);
    if result.exact {
        prop_assert_eq!((base, top), (requested_base, requested_top));
    }
    prop_assert!(result.exact || !exact);
    Ok(())
}

fn check_step(parent: &Cap, child: &Cap, may_change_seal: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(Cap::from_bytes(child.to_bytes(), child.tag()), *child);
    if !may_change_seal {
        prop_assert_eq!(child.object_type(), parent.object_type());
        if parent.is_sealed() {
            prop_assert!(!child.tag(), "a sealed capability was modified and kept its tag");
        }
    }
    if !child.tag() {
        return Ok(());
    }
    prop_assert!(parent.tag(), "a tag appeared from an untagged parent");
    let (mine, theirs) = (child.bounds(), parent.bounds());
    prop_assert!(mine.valid, "tagged result with invalid bounds: {:?}", child);
    prop_assert!(mine.base >= theirs.base, "base below the parent's: {:?} from {:?}", child, parent);
    prop_assert!(mine.top <= theirs.top, "top above the parent's: {:?} from {:?}", child, parent);
    prop_assert!(parent.permissions().contains(child.permissions()));
    prop_assert!(child.is_subset_of(parent));
    // Every access the child allows, its unsealed parent allows too.
    if !child.is_sealed() && !parent.is_sealed() && mine.top > u128::from(mine.base) {
        let length = (mine.top - u128::from(mine.base)).min(16) as u64;
        let needed = child.permissions();
        prop_assert_eq!(child.check_access(mine.base, length, needed), Ok(()));
        prop_assert_eq!(parent.check_access(mine.base, length, needed), Ok(()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn derivation_chains_never_amplify(start in start(), ops in prop::collection::vec(op(), 1..=8)) {
        prop_assert_eq!(Cap::from_bytes(start.to_bytes(), true), start);
        let mut cap = start;
        for op in ops {
            if let Op::SetBounds(length, exact) = op {
                check_set_bounds(&cap, resolve_length(&cap, length), exact)?;
            }
            let (next, may_change_seal) = apply(&cap, op);
            check_step(&cap, &next, may_change_seal)?;
            cap = next;
        }
    }
}
