//! Initializers and finalizers run in every cVM, on its own compartment-local storage:
//! a shared library's constructors (in priority order) before its user's, the
//! destructors in reverse when `main` returns (or, on the C library, at `exit`); and
//! initializer entries the loader cannot honour are refused with the entry named.

use loader::{LoadError, ObjectInput};
use tests::{build_examples, root, run_deployment};

#[test]
fn constructors_and_destructors_run_per_cvm_in_dependency_order() {
    build_examples();
    let run = run_deployment(&root().join("examples/constructors/deploy.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    // The library's two constructors made 42 in each cVM's own copy before the
    // program's constructor read it; each cVM then added its own amount.
    for (cvm, value) in [("one", 142), ("two", 242)] {
        assert_eq!(
            run.lines_of(cvm),
            [
                format!("constructors: the program's constructor saw 42; now {value}"),
                "constructors: program finalized".to_string(),
                format!("libinit: finalized with {value} after 2 constructors"),
            ],
            "{cvm}"
        );
    }
    // On the C library the program's output is buffered until exit flushes it, after
    // the finalizers ran.
    let mut on_libc = run.lines_of("on-libc");
    on_libc.sort_unstable();
    assert_eq!(
        on_libc,
        [
            "constructors_libc: constructor saw 42",
            "constructors_libc: main sees 45",
            "constructors_libc: program finalized with 45",
            "libinit: finalized with 45 after 2 constructors",
        ]
    );
    // One copy of each object, for the programs on the libOS and on the C library alike.
    let objects = run.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    for object in &objects {
        assert_eq!(object["loads"], 1, "{object}");
    }
}

/// The dynamic entries of `bytes`: (tag, offset of the entry's value).
fn dynamic_entries(bytes: &[u8]) -> Vec<(u64, usize)> {
    let word = |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap());
    let (table, count) = (word(32) as usize, u16::from_le_bytes([bytes[56], bytes[57]]) as usize);
    let dynamic =
        (0..count).map(|index| table + index * 56).find(|&header| word(header) as u32 == 2).unwrap();
    let (offset, size) = (word(dynamic + 8) as usize, word(dynamic + 32) as usize);
    (0..size / 16).map(|index| (word(offset + index * 16), offset + index * 16 + 8)).collect()
}

#[test]
fn initializer_entries_outside_the_object_are_refused_with_the_entry_named() {
    build_examples();
    let original = std::fs::read(root().join("examples/constructors/build/libinit.so")).unwrap();
    let entries = dynamic_entries(&original);
    let value_of =
        |tag: u64| entries.iter().find(|(found, _)| *found == tag).map(|&(_, offset)| offset).unwrap();
    let parse = |tag: u64, value: u64| {
        let mut bytes = original.clone();
        bytes[value_of(tag)..value_of(tag) + 8].copy_from_slice(&value.to_le_bytes());
        loader::parse_object(ObjectInput { name: "libinit.so", bytes: &bytes }).map(|_| ())
    };
    let message = parse(25, 0x10_0000_0000).unwrap_err().to_string();
    assert!(
        message.contains("DT_INIT_ARRAY at file offset") && message.contains("outside the object's image")
    );
    assert!(matches!(
        parse(25, 0x10_0000_0000),
        Err(LoadError::InitializerOutsideImage { tag: "DT_INIT_ARRAY", address: 0x10_0000_0000, .. })
    ));
    assert!(matches!(
        parse(26, u64::MAX - 7),
        Err(LoadError::InitializerOutsideImage { tag: "DT_FINI_ARRAY", .. })
    ));
    // An array size that is not whole entries.
    assert!(matches!(parse(27, 12), Err(LoadError::BadTableSize { tag: "DT_INIT_ARRAYSZ", size: 12, .. })));
    // An array running past the image: two entries more than there are.
    assert!(matches!(
        parse(27, u64::MAX - 7),
        Err(LoadError::InitializerOutsideImage { tag: "DT_INIT_ARRAY", .. })
    ));
    // An empty array is no array.
    assert_eq!(parse(27, 0), Ok(()));
}
