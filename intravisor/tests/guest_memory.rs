//! Hostcall pointer checks: the data capability first, then the page protections.

use intravisor::capability::{Cap, CapFault, Permissions};
use intravisor::guest::{Access, GuestFault, GuestMemory, Mapping, Protection};

const BASE: u64 = 0x4000_0000;
const SIZE: u64 = 0x10_0000;

fn memory() -> GuestMemory {
    let data = Cap::root().set_value(BASE).set_bounds_exact(SIZE);
    assert!(data.tag());
    let data = data.clear_permissions(Permissions::EXECUTE);
    GuestMemory::new(
        data,
        vec![],
        vec![
            Mapping { start: BASE, end: BASE + 0x1000, protection: Protection::ReadExecute },
            Mapping { start: BASE + 0x1000, end: BASE + 0x3000, protection: Protection::ReadWrite },
            // BASE + 0x3000 .. + 0x4000 is a guard page.
            Mapping { start: BASE + 0x4000, end: BASE + 0x5000, protection: Protection::Read },
            Mapping { start: BASE + 0x5000, end: BASE + 0x6000, protection: Protection::ReadWrite },
        ],
    )
}

#[test]
fn ranges_inside_mapped_pages_pass() {
    let memory = memory();
    assert_eq!(memory.check(BASE + 0x10, 0x100, Access::Read), Ok(()));
    assert_eq!(memory.check(BASE + 0x1000, 0x2000, Access::Write), Ok(()));
    assert_eq!(memory.check(BASE + 0xff0, 0x20, Access::Read), Ok(()), "across two readable mappings");
    assert_eq!(memory.check(BASE + 0x4ff0, 0x20, Access::Read), Ok(()));
    assert_eq!(memory.check(0, 0, Access::Write), Ok(()), "an empty range touches nothing");
}

#[test]
fn ranges_outside_the_capability_are_bounds_faults() {
    let memory = memory();
    let outside = memory.check(BASE - 1, 2, Access::Read).unwrap_err();
    assert!(matches!(outside, GuestFault::Capability { fault: CapFault::Bounds, .. }), "{outside:?}");
    let past = memory.check(BASE + SIZE - 4, 8, Access::Read).unwrap_err();
    assert!(matches!(past, GuestFault::Capability { fault: CapFault::Bounds, .. }));
    let wrapping = memory.check(BASE + 0x1000, u64::MAX - 0x10, Access::Read).unwrap_err();
    assert!(matches!(wrapping, GuestFault::Capability { fault: CapFault::Bounds, .. }));
}

#[test]
fn a_capability_without_the_permission_refuses() {
    let data = Cap::root().set_value(BASE).set_bounds_exact(SIZE).clear_permissions(Permissions::STORE);
    let memory = GuestMemory::new(
        data,
        vec![],
        vec![Mapping { start: BASE, end: BASE + SIZE, protection: Protection::ReadWrite }],
    );
    assert_eq!(memory.check(BASE, 8, Access::Read), Ok(()));
    let refused = memory.check(BASE, 8, Access::Write).unwrap_err();
    assert!(matches!(refused, GuestFault::Capability { fault: CapFault::Permission, .. }));
    let untagged =
        GuestMemory::new(Cap::root().set_value(BASE).set_bounds_exact(SIZE).clear_tag(), vec![], vec![]);
    assert!(matches!(
        untagged.check(BASE, 8, Access::Read).unwrap_err(),
        GuestFault::Capability { fault: CapFault::Tag, .. }
    ));
}

#[test]
fn guard_pages_and_read_only_pages_refuse() {
    let memory = memory();
    assert_eq!(
        memory.check(BASE + 0x2ff0, 0x20, Access::Read),
        Err(GuestFault::Page { address: BASE + 0x3000, access: Access::Read }),
        "reaches into the guard page"
    );
    assert_eq!(
        memory.check(BASE + 0x10, 8, Access::Write),
        Err(GuestFault::Page { address: BASE + 0x10, access: Access::Write }),
        "code is not writable"
    );
    assert_eq!(
        memory.check(BASE + 0x4800, 0x1000, Access::Write),
        Err(GuestFault::Page { address: BASE + 0x4800, access: Access::Write })
    );
    assert_eq!(
        memory.check(BASE + 0x6000, 8, Access::Read),
        Err(GuestFault::Page { address: BASE + 0x6000, access: Access::Read }),
        "inside the capability but never mapped"
    );
}

#[test]
fn a_shared_object_capability_lets_hostcalls_read_but_not_write_it() {
    const SHARED: u64 = 0x8000_0000;
    let data = Cap::root().set_value(BASE).set_bounds_exact(SIZE);
    let shared = Cap::root()
        .set_value(SHARED)
        .set_bounds_exact(0x2000)
        .clear_permissions(Permissions::ALL.difference(Permissions::LOAD.union(Permissions::EXECUTE)));
    let memory = GuestMemory::new(
        data,
        vec![shared],
        vec![
            Mapping { start: BASE, end: BASE + SIZE, protection: Protection::ReadWrite },
            Mapping { start: SHARED, end: SHARED + 0x2000, protection: Protection::Read },
        ],
    );
    assert_eq!(memory.check(SHARED + 0x10, 0x20, Access::Read), Ok(()), "a string in a shared object");
    let write = memory.check(SHARED + 0x10, 0x20, Access::Write).unwrap_err();
    assert!(
        matches!(write, GuestFault::Capability { fault: CapFault::Bounds, .. }),
        "the region's fault: {write:?}"
    );
    let across = memory.check(SHARED + 0x1ff0, 0x20, Access::Read).unwrap_err();
    assert!(matches!(across, GuestFault::Capability { .. }), "no capability covers the whole range");
}
