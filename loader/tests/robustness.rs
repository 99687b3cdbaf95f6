//! The loader never panics: thousands of randomly mutated and truncated copies of good
//! images are planned, and every answer (a plan or an error, whose message is formatted)
//! must come back without a panic. The generator is a fixed-seed xorshift, so a failure
//! names an iteration that reproduces. `LOADER_FUZZ_ITERATIONS=1000000` runs longer.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::*;
use loader::{parse_object, plan, ObjectInput};

/// Iterations per run; `LOADER_FUZZ_ITERATIONS` asks for more (or fewer).
fn iterations() -> usize {
    std::env::var("LOADER_FUZZ_ITERATIONS").ok().and_then(|value| value.parse().ok()).unwrap_or(6000)
}

/// xorshift64: small, deterministic, good enough to pick bytes.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Values that sit on the edges of the loader's checks.
fn interesting(random: &mut Random, image: &Image) -> u64 {
    let layout = &image.layout;
    let values = [
        0,
        1,
        8,
        16,
        24,
        0x1000,
        0xfff,
        u64::MAX,
        u64::MAX - 7,
        !0xfff_u64,
        i64::MAX as u64,
        u32::MAX as u64,
        image.bytes.len() as u64,
        layout.image_size,
        layout.text,
        layout.data_segment,
        layout.dynamic,
        layout.dynsym,
        layout.dynstr,
        layout.got,
    ];
    let value = values[random.below(values.len())];
    match random.below(4) {
        0 => value.wrapping_add(random.next() % 16),
        1 => value.wrapping_sub(random.next() % 16),
        _ => value,
    }
}

/// An offset where a mutation is likely to matter: the headers, the dynamic section, the
/// tables, or anywhere.
fn offset(random: &mut Random, image: &Image) -> usize {
    let length = image.bytes.len();
    let start = match random.below(4) {
        0 => random.below(64 + 56 * image.layout.program_header_count),
        1 => image.layout.dynamic as usize + random.below(16 * image.layout.dynamic_entries.len()),
        2 => image.layout.hash.unwrap_or(image.layout.dynsym) as usize + random.below(0x200),
        _ => random.below(length),
    };
    start.min(length.saturating_sub(1))
}

/// One random mutation of `image`.
fn mutate(random: &mut Random, image: &Image) -> Vec<u8> {
    let mut bytes = image.bytes.clone();
    match random.below(5) {
        0 => {
            for _ in 0..1 + random.below(4) {
                let at = offset(random, image);
                bytes[at] = random.next() as u8;
            }
        }
        1 => bytes.truncate(random.below(bytes.len())),
        2 | 3 => {
            let at = offset(random, image) & !7;
            let value = interesting(random, image).to_le_bytes();
            let width = [8, 4, 2][random.below(3)];
            let end = (at + width).min(bytes.len());
            bytes[at..end].copy_from_slice(&value[..end - at]);
        }
        _ => {
            let at = offset(random, image);
            bytes[at] ^= 1 << random.below(8);
        }
    }
    bytes
}

#[test]
fn mutated_and_truncated_images_never_panic() {
    let mut gnu_program = program();
    gnu_program.hash_style = HashStyle::Gnu;
    let mut both_library = library();
    both_library.hash_style = HashStyle::Both;
    let mut aarch64_library = library();
    aarch64_library.machine = EM_AARCH64;
    let programs = [program().build(), gnu_program.build()];
    let libraries = [library().build(), both_library.build(), aarch64_library.build()];

    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let (mut planned, mut refused) = (0, 0);
    for iteration in 0..iterations() {
        let program = &programs[random.below(programs.len())];
        let library = &libraries[random.below(libraries.len())];
        let mutate_program = random.below(2) == 0;
        let (program_bytes, library_bytes) = if mutate_program {
            (mutate(&mut random, program), library.bytes.clone())
        } else {
            (program.bytes.clone(), mutate(&mut random, library))
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let program = ObjectInput { name: PROGRAM, bytes: &program_bytes };
            let library = ObjectInput { name: LIBRARY, bytes: &library_bytes };
            let _ = parse_object(library).map_err(|error| error.to_string());
            match plan(program, &[library]) {
                Ok(plan) => {
                    assert!(!plan.objects.is_empty());
                    true
                }
                Err(error) => {
                    let message = error.to_string();
                    assert!(!message.is_empty());
                    false
                }
            }
        }));
        match outcome {
            Ok(true) => planned += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!(
                "iteration {iteration} panicked (mutated the {})",
                if mutate_program { "program" } else { "library" }
            ),
        }
    }
    println!("{planned} mutated images planned, {refused} refused");
    assert!(planned > 0 && refused > 0, "the mutations should sometimes matter and sometimes not");
}

#[test]
fn every_prefix_of_a_good_image_is_refused_without_panic() {
    let image = program().build();
    let library = library().build();
    for length in 0..image.bytes.len() {
        let program = ObjectInput { name: PROGRAM, bytes: &image.bytes[..length] };
        let result = plan(program, &[ObjectInput { name: LIBRARY, bytes: &library.bytes }]);
        let error = result.expect_err("a truncated program is refused");
        assert!(error.to_string().starts_with(PROGRAM));
    }
}
