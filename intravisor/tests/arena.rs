//! The host arena: reserved, inaccessible until protected, scrubbed on teardown.

use intravisor::guest::Protection;
use intravisor::platform::{Arena, ArenaError};

#[test]
fn scrubbed_pages_read_back_as_zero() {
    let arena = Arena::reserve(0x10_0000, 0x10_0000).unwrap();
    let range = arena.range();
    assert_eq!(range.start % 0x10_0000, 0);
    assert_eq!(range.end - range.start, 0x10_0000);
    arena.protect(range.start, range.start + 0x2000, Protection::ReadWrite).unwrap();
    arena.write(range.start + 0x10, b"a secret of one cVM").unwrap();
    let mut buffer = [0u8; 19];
    arena.read(range.start + 0x10, &mut buffer).unwrap();
    assert_eq!(&buffer, b"a secret of one cVM");
    arena.scrub(range.start, range.start + 0x2000).unwrap();
    arena.protect(range.start, range.start + 0x2000, Protection::ReadWrite).unwrap();
    arena.read(range.start + 0x10, &mut buffer).unwrap();
    assert_eq!(buffer, [0; 19], "the next cVM in this region sees nothing of the last");
}

#[test]
fn ranges_outside_the_arena_are_refused() {
    let arena = Arena::reserve(0x4000, 0x1000).unwrap();
    let range = arena.range();
    assert!(matches!(
        arena.protect(range.start, range.end + 0x1000, Protection::Read),
        Err(ArenaError::OutOfArena { .. })
    ));
    assert!(matches!(
        arena.protect(range.start + 1, range.end, Protection::Read),
        Err(ArenaError::OutOfArena { .. })
    ));
    assert!(matches!(arena.write(range.end - 2, b"four"), Err(ArenaError::OutOfArena { .. })));
    assert!(matches!(arena.write(u64::MAX - 1, b"four"), Err(ArenaError::OutOfArena { .. })));
    let mut buffer = [0; 4];
    assert!(matches!(arena.read(range.start - 4, &mut buffer), Err(ArenaError::OutOfArena { .. })));
}
