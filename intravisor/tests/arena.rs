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

/// Whether the page at `address` is mapped in this process (`/proc/self/pagemap`).
fn mapped_here(address: u64) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut pagemap = std::fs::File::open("/proc/self/pagemap").unwrap();
    pagemap.seek(SeekFrom::Start(address / 4096 * 8)).unwrap();
    let mut entry = [0u8; 8];
    pagemap.read_exact(&mut entry).unwrap();
    u64::from_le_bytes(entry) >> 63 == 1
}

/// An arena whose last 1 MiB is a shared area backed by a file in `directory`.
fn arena_sharing_with_processes(directory: &std::path::Path) -> (Arena, std::ops::Range<u64>) {
    let mut arena = Arena::reserve(0x20_0000, 0x10_0000).unwrap();
    let range = arena.range();
    let shared = range.start + 0x10_0000..range.end;
    arena.share_with_processes(shared.clone(), directory).unwrap();
    (arena, shared)
}

/// The name of the file that maps `address` in this process, from `/proc/self/maps`.
fn file_mapping(address: u64) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .find(|line| {
            let range = line.split(' ').next().unwrap();
            let (start, end) = range.split_once('-').unwrap();
            let (start, end) =
                (u64::from_str_radix(start, 16).unwrap(), u64::from_str_radix(end, 16).unwrap());
            (start..end).contains(&address)
        })
        .map(|line| line.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[test]
fn loaded_objects_live_in_a_file_on_disk_that_the_intravisor_no_longer_maps_once_loaded() {
    let directory = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (arena, shared) = arena_sharing_with_processes(directory);
    let object = shared.start..shared.start + 0x3000;
    arena.protect(object.start, object.end, Protection::ReadWrite).unwrap();
    arena.write(object.start + 0x1ff0, b"an object's text, relocated").unwrap();
    arena.protect(object.start, object.end, Protection::ReadExecute).unwrap();
    assert!(!mapped_here(object.start + 0x1000), "written into the file, not through the intravisor's view");
    let name = file_mapping(object.start);
    assert!(name.starts_with(&format!("{}/#", directory.display())), "a file without a name there: {name}");

    arena.drop_shared_view(object.start, object.end).unwrap();
    for page in (object.start..object.end).step_by(0x1000) {
        assert!(!mapped_here(page), "the intravisor keeps no page of a loaded object mapped");
    }
    let mut text = [0u8; 27];
    arena.read(object.start + 0x1ff0, &mut text).unwrap();
    assert_eq!(&text, b"an object's text, relocated", "the file kept every byte");
    assert!(mapped_here(object.start + 0x1000), "read again, mapped again");
}

#[test]
fn regions_are_never_dropped_from_view_and_an_arena_without_files_drops_nothing() {
    let directory = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (arena, shared) = arena_sharing_with_processes(directory);
    let region = arena.range().start..arena.range().start + 0x1000;
    arena.back_region(region.clone()).unwrap();
    arena.protect(region.start, region.end, Protection::ReadWrite).unwrap();
    arena.write(region.start, b"a cVM's own page").unwrap();
    arena.drop_shared_view(region.start, region.end).unwrap();
    assert!(mapped_here(region.start), "a region is outside the shared area: left alone");
    arena.drop_shared_view(region.start, shared.start + 0x1000).unwrap();
    assert!(mapped_here(region.start), "nor a range that reaches past the shared area");

    let private = Arena::reserve(0x10_0000, 0x10_0000).unwrap();
    let page = private.range().start;
    private.protect(page, page + 0x1000, Protection::ReadWrite).unwrap();
    private.write(page, b"in-process memory").unwrap();
    private.drop_shared_view(page, page + 0x1000).unwrap();
    let mut buffer = [0u8; 17];
    private.read(page, &mut buffer).unwrap();
    assert_eq!(&buffer, b"in-process memory", "anonymous memory would lose its bytes: never dropped");
}

#[test]
fn where_no_file_can_be_made_the_shared_area_is_a_memory_file() {
    let (arena, shared) = arena_sharing_with_processes(std::path::Path::new("/no/such/directory"));
    arena.protect(shared.start, shared.start + 0x1000, Protection::ReadWrite).unwrap();
    arena.write(shared.start, b"still loaded").unwrap();
    assert!(file_mapping(shared.start).starts_with("/memfd:cvm-shared"));
    arena.drop_shared_view(shared.start, shared.start + 0x1000).unwrap();
    let mut buffer = [0u8; 12];
    arena.read(shared.start, &mut buffer).unwrap();
    assert_eq!(&buffer, b"still loaded");
}

#[test]
fn a_directory_in_memory_gets_a_memory_file_not_a_file_there() {
    let in_memory = std::path::Path::new("/dev/shm");
    assert!(in_memory.is_dir(), "/dev/shm is the memory file system this test needs");
    let (arena, shared) = arena_sharing_with_processes(in_memory);
    arena.protect(shared.start, shared.start + 0x1000, Protection::ReadWrite).unwrap();
    assert!(file_mapping(shared.start).starts_with("/memfd:cvm-shared"), "{}", file_mapping(shared.start));
}

#[test]
fn room_on_disk_is_taken_only_for_the_pages_an_object_writes() {
    use std::os::unix::fs::MetadataExt;
    // A directory of this test's own: the file is found among this process's descriptors.
    let directory = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("room");
    std::fs::create_dir_all(&directory).unwrap();
    let (arena, shared) = arena_sharing_with_processes(&directory);
    let file = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| std::fs::read_link(path).is_ok_and(|target| target.starts_with(&directory)))
        .expect("the shared area's file is open");
    // An object of 256 pages, most of them zero fill: only the 2 it writes take room.
    arena.protect(shared.start, shared.start + 0x10_0000, Protection::ReadWrite).unwrap();
    arena.take_room(shared.start, shared.start + 0x2000).unwrap();
    arena.write(shared.start, &[0xa5; 0x2000]).unwrap();
    let bytes = std::fs::metadata(&file).unwrap().blocks() * 512;
    assert!((0x2000..=0x4000).contains(&bytes), "{bytes} bytes on disk for 2 pages written");
    arena.take_room(shared.start - 0x1000, shared.start).unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().blocks() * 512, bytes, "outside the shared area: nothing");
}
