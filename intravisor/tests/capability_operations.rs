//! One test per architectural rule of the capability operations that the vectors do not
//! pin down: the SEAL/UNSEAL conditions (FACTS §1.4), CLRPERM, the sealed-input rule of
//! every modifying instruction, SCOFF, the data-access check order and CHKSS's subset
//! test.

use intravisor::capability::{Cap, CapFault, Permissions, SealForm, MAX_OBJECT_TYPE};

/// A tagged, all-permission data capability `[0x1000, 0x2000)` with value 0x1800.
fn data() -> Cap {
    let cap = Cap::root().set_value(0x1000).set_bounds_exact(0x1000).set_value(0x1800);
    assert!(cap.tag());
    cap
}

/// A sealing authority: CMAX with value `object_type`.
fn sealer(object_type: u64) -> Cap {
    Cap::root().set_value(object_type)
}

#[test]
fn seal_keeps_the_tag_when_every_condition_holds() {
    let sealed = data().seal(&sealer(0x1234));
    assert!(sealed.tag());
    assert_eq!(sealed.object_type(), 0x1234);
    assert!(sealed.is_sealed());
    assert_eq!((sealed.base(), sealed.top(), sealed.value()), (0x1000, 0x2000, 0x1800));
    assert_eq!(sealed.permissions(), Permissions::ALL);
    // The largest object type is allowed; 1..=3 are not excluded.
    assert!(data().seal(&sealer(MAX_OBJECT_TYPE)).tag());
    assert_eq!(data().seal(&sealer(1)).object_type(), 1);
}

#[test]
fn seal_clears_the_tag_when_a_condition_fails() {
    let operand = data();
    let authority = sealer(7);
    let cases = [
        ("untagged operand", operand.clear_tag().seal(&authority)),
        ("untagged authority", operand.seal(&authority.clear_tag())),
        ("sealed operand", operand.seal_entry(SealForm::Rb).seal(&authority)),
        ("sealed authority", operand.seal(&authority.seal_entry(SealForm::Lb))),
        ("authority lacks Seal", operand.seal(&authority.clear_permissions(Permissions::SEAL))),
        ("object type above 0x7FFF", operand.seal(&sealer(0x8000))),
    ];
    for (why, result) in cases {
        assert!(!result.tag(), "{why}");
    }
    // Authority value outside its own bounds.
    let narrow = Cap::root().set_value(0x10).set_bounds_exact(0x10);
    assert!(operand.seal(&narrow).tag());
    let outside = Cap::from_parts(true, narrow.metadata(), 0x20);
    assert!(!operand.seal(&outside).tag());
    // The object type field takes the low 15 bits regardless.
    assert_eq!(operand.seal(&sealer(0x8005)).object_type(), 5);
}

#[test]
fn seal_entry_sets_the_fixed_types() {
    for (form, object_type) in [(SealForm::Rb, 1), (SealForm::Lpb, 2), (SealForm::Lb, 3)] {
        let sealed = data().seal_entry(form);
        assert!(sealed.tag());
        assert_eq!(sealed.object_type(), object_type);
        assert_eq!(form.object_type(), object_type);
        assert!(!data().clear_tag().seal_entry(form).tag());
        assert!(!sealed.seal_entry(form).tag(), "already sealed");
    }
}

#[test]
fn unseal_keeps_the_tag_when_every_condition_holds() {
    let sealed = data().seal(&sealer(42));
    let unsealed = sealed.unseal(&sealer(42));
    assert!(unsealed.tag());
    assert_eq!(unsealed.object_type(), 0);
    assert_eq!(unsealed, data());
}

#[test]
fn unseal_clears_the_tag_when_a_condition_fails() {
    let sealed = data().seal(&sealer(42));
    let authority = sealer(42);
    let cases = [
        ("untagged operand", sealed.clear_tag().unseal(&authority)),
        ("unsealed operand", data().unseal(&authority)),
        ("untagged authority", sealed.unseal(&authority.clear_tag())),
        ("sealed authority", sealed.unseal(&authority.seal_entry(SealForm::Rb))),
        ("authority lacks Unseal", sealed.unseal(&authority.clear_permissions(Permissions::UNSEAL))),
        ("other object type", sealed.unseal(&sealer(43))),
    ];
    for (why, result) in cases {
        assert!(!result.tag(), "{why}");
        assert_eq!(result.object_type(), 0, "{why}");
    }
    let narrow = Cap::root().set_value(0x40).set_bounds_exact(0x10);
    let outside = Cap::from_parts(true, narrow.metadata(), 42);
    assert!(!sealed.unseal(&outside).tag(), "authority value outside its bounds");
}

#[test]
fn unseal_by_a_local_authority_clears_global() {
    let sealed = data().seal(&sealer(42));
    let local = sealer(42).clear_permissions(Permissions::GLOBAL);
    let unsealed = sealed.unseal(&local);
    assert!(unsealed.tag());
    assert_eq!(unsealed.permissions(), Permissions::ALL.difference(Permissions::GLOBAL));
}

#[test]
fn clear_permissions_only_removes() {
    let cap = data().clear_permissions(Permissions::STORE | Permissions::EXECUTE);
    assert!(cap.tag());
    assert_eq!(cap.permissions(), Permissions::ALL.difference(Permissions::STORE | Permissions::EXECUTE));
    assert_eq!((cap.base(), cap.top(), cap.value()), (0x1000, 0x2000, 0x1800));
    let none = cap.clear_permissions(Permissions::ALL);
    assert_eq!(none.permissions(), Permissions::EMPTY);
    assert_eq!(none.metadata() >> 46, 0);
    assert_eq!(none.metadata() & ((1 << 46) - 1), cap.metadata() & ((1 << 46) - 1));
}

#[test]
fn modifying_a_sealed_capability_clears_the_tag() {
    let sealed = data().seal(&sealer(42));
    let results = [
        ("SCVALUE", sealed.set_value(sealed.value())),
        ("ADD", sealed.add(0)),
        ("SCOFF", sealed.set_offset(sealed.offset())),
        ("SCBNDS", sealed.set_bounds_rounded(0x10)),
        ("SCBNDSE", sealed.set_bounds_exact(0x10)),
        ("CLRPERM", sealed.clear_permissions(Permissions::EMPTY)),
    ];
    for (instruction, result) in results {
        assert!(!result.tag(), "{instruction}");
        assert_eq!(result.object_type(), 42, "{instruction}");
    }
}

#[test]
fn set_offset_moves_relative_to_the_base() {
    let cap = data().set_offset(0x20);
    assert!(cap.tag());
    assert_eq!((cap.value(), cap.offset()), (0x1020, 0x20));
    assert_eq!(data().offset(), 0x800);
    // An offset far outside the representable region loses the tag but keeps the bits.
    let far = data().set_offset(1 << 40);
    assert!(!far.tag());
    assert_eq!(far.value(), 0x1000 + (1 << 40));
}

#[test]
fn add_is_modulo_two_to_the_sixty_four() {
    let cap = Cap::root().add(u64::MAX);
    assert!(cap.tag(), "CMAX has E = 50: every value is representable");
    assert_eq!(cap.value(), u64::MAX);
    assert_eq!(cap.add(1).value(), 0);
}

#[test]
fn check_access_reports_the_first_failing_check_in_hardware_order() {
    let cap = data();
    assert_eq!(cap.check_access(0x1000, 0x1000, Permissions::LOAD | Permissions::STORE), Ok(()));
    assert_eq!(cap.check_access(0x1FFF, 1, Permissions::LOAD), Ok(()));
    assert_eq!(cap.check_access(0x2000, 0, Permissions::LOAD), Ok(()));
    assert_eq!(cap.check_access(0x1FFF, 2, Permissions::LOAD), Err(CapFault::Bounds));
    assert_eq!(cap.check_access(0xFFF, 1, Permissions::LOAD), Err(CapFault::Bounds));
    assert_eq!(cap.check_access(u64::MAX, 2, Permissions::LOAD), Err(CapFault::Bounds));
    let read_only = cap.clear_permissions(Permissions::STORE);
    assert_eq!(read_only.check_access(0x1000, 8, Permissions::STORE), Err(CapFault::Permission));
    // Permission is checked before bounds (Sail CheckCapability), seal before both, tag first.
    assert_eq!(read_only.check_access(0, 8, Permissions::STORE), Err(CapFault::Permission));
    let sealed = read_only.seal_entry(SealForm::Rb);
    assert_eq!(sealed.check_access(0, 8, Permissions::STORE), Err(CapFault::Sealed));
    assert_eq!(sealed.clear_tag().check_access(0, 8, Permissions::STORE), Err(CapFault::Tag));
    // Invalid bounds authorise nothing, even though they read as [0, 2^64).
    let invalid = Cap::from_parts(true, 0xFFFF_C000_0000_0004, 0x10);
    assert!(!invalid.bounds().valid);
    assert_eq!(invalid.check_access(0x10, 1, Permissions::LOAD), Err(CapFault::Bounds));
    assert_eq!(Cap::null().check_access(0, 1, Permissions::EMPTY), Err(CapFault::Tag));
}

#[test]
fn fault_messages_name_the_fault() {
    for (fault, word) in [
        (CapFault::Tag, "tag"),
        (CapFault::Sealed, "sealed"),
        (CapFault::Bounds, "bounds"),
        (CapFault::Permission, "permission"),
    ] {
        assert!(fault.to_string().contains(word), "{fault}");
    }
}

#[test]
fn subset_compares_bounds_permissions_and_validity() {
    let parent = data();
    let child = parent.set_value(0x1100).set_bounds_exact(0x100);
    assert!(child.is_subset_of(&parent));
    assert!(!parent.is_subset_of(&child));
    assert!(child.clear_tag().is_subset_of(&parent), "tags are not compared");
    let fewer = parent.clear_permissions(Permissions::STORE);
    assert!(fewer.is_subset_of(&parent));
    assert!(!parent.is_subset_of(&fewer));
    let invalid = Cap::from_parts(true, 0xFFFF_C000_0000_0004, 0);
    assert!(!invalid.is_subset_of(&Cap::root()));
    assert!(!Cap::root().is_subset_of(&invalid));
    assert!(Cap::root().is_subset_of(&Cap::root()));
}

#[test]
fn bytes_round_trip_exactly() {
    let cap = data().seal(&sealer(9));
    let bytes = cap.to_bytes();
    assert_eq!(&bytes[..8], &0x1800u64.to_le_bytes());
    assert_eq!(&bytes[8..], &cap.metadata().to_le_bytes());
    assert_eq!(Cap::from_bytes(bytes, true), cap);
    assert_eq!(Cap::from_bytes(bytes, false), cap.clear_tag());
    let odd = Cap::from_parts(true, 0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210);
    assert_eq!(Cap::from_bytes(odd.to_bytes(), true), odd);
}
