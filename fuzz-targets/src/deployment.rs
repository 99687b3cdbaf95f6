//! `deployment`: a deployment file through the YAML parser and every check of
//! validation, as if it were `examples/files/deploy.yaml` (so its relative paths reach
//! real files and directories). Validation reads no file's contents and writes nothing.

use crate::target::{files_under, repository};

pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = repository().join("examples/files/deploy.yaml");
    if let Ok(deployment) = intravisor::config::parse(text, &file) {
        assert!(!deployment.cvms.is_empty(), "a deployment without cVMs was accepted");
        for cvm in &deployment.cvms {
            assert!(cvm.region_size > cvm.stack_size, "cVM `{}`: its stack fills its region", cvm.name);
        }
    }
}

/// The examples' deployment files.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    files_under(&repository().join("examples"), &|path| {
        path.extension().is_some_and(|extension| extension == "yaml")
            && std::fs::read_to_string(path).is_ok_and(|text| text.contains("cVMs:"))
    })
}
