//! The list of targets, by name, with their seed inputs.

use std::path::{Path, PathBuf};

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name: the libFuzzer binary's and its corpus directory's.
    pub name: &'static str,
    /// Runs one input; panics when something that must hold does not.
    pub run: fn(&[u8]),
    /// Inputs that reach deep into it, to start the fuzzer from.
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target.
pub const TARGETS: [Target; 5] = [
    Target { name: "object", run: crate::object::run, seeds: crate::object::seeds },
    Target { name: "deployment", run: crate::deployment::run, seeds: crate::deployment::seeds },
    Target { name: "policy", run: crate::policy_set::run, seeds: crate::policy_set::seeds },
    Target { name: "manifest", run: crate::manifest::run, seeds: crate::manifest::seeds },
    Target { name: "hostcall", run: crate::hostcall::run, seeds: crate::hostcall::seeds },
];

impl Target {
    /// The target named `name`.
    pub fn named(name: &str) -> Option<Self> {
        TARGETS.into_iter().find(|target| target.name == name)
    }

    /// The directory of the inputs that once broke this target.
    pub fn regressions(&self) -> PathBuf {
        repository().join("fuzz-targets/regressions").join(self.name)
    }
}

/// Runs one input through the target named `name` (the libFuzzer binaries' entry).
pub fn run(name: &str, data: &[u8]) {
    let target = Target::named(name).unwrap_or_else(|| panic!("no fuzz target is named `{name}`"));
    (target.run)(data);
}

/// The repository's root.
pub(crate) fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The contents of the files under `directory` (recursively) whose names pass `keep`,
/// in name order.
pub(crate) fn files_under(directory: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if keep(&path) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths.iter().filter_map(|path| std::fs::read(path).ok()).collect()
}
