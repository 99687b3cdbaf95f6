//! Every input a fuzzer ever broke a target with (`fuzz-targets/regressions/TARGET/`),
//! and every target's seeds, replayed through the targets on each test run: a fix that
//! comes undone fails here, not only when someone fuzzes again.

use fuzz_targets::TARGETS;

#[test]
fn every_regression_input_passes_its_target() {
    let mut replayed = 0;
    for target in TARGETS {
        let Ok(entries) = std::fs::read_dir(target.regressions()) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            eprintln!("replaying {}", path.display());
            (target.run)(&input);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no regression inputs were found under fuzz-targets/regressions");
}

#[test]
fn every_target_has_seeds_that_pass_it() {
    tests::build_examples();
    for target in TARGETS {
        let seeds = (target.seeds)();
        assert!(!seeds.is_empty(), "fuzz target `{}` has no seeds", target.name);
        for seed in &seeds {
            (target.run)(seed);
        }
    }
}
