//! `manifest`: an image's manifest through the decoder a bare-metal image runs at boot;
//! what it accepts must encode back to the bytes it read.

use intravisor::manifest::{decode, encode, ImageCvm};

pub(crate) fn run(data: &[u8]) {
    let Ok(manifest) = decode(data) else { return };
    let objects: Vec<(String, [u8; 32], Vec<u8>)> = manifest
        .objects
        .iter()
        .map(|object| (object.name.clone(), object.sha256, object.bytes.to_vec()))
        .collect();
    let encoded = encode(&objects, &manifest.cvms, &manifest.policies);
    assert!(data.starts_with(&encoded), "the manifest does not encode back to what was decoded");
}

/// A manifest of two objects, two cVMs and a policy.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let objects = vec![
        ("hello".to_string(), [1; 32], b"\x7fELF program".to_vec()),
        ("libcvm.so".to_string(), [2; 32], b"\x7fELF library".to_vec()),
        ("input.txt".to_string(), [3; 32], b"granted bytes\n".to_vec()),
    ];
    let cvm = |name: &str, cpu_seconds| ImageCvm {
        name: name.to_string(),
        tenant: "alpha".to_string(),
        region_size: 16 << 20,
        stack_size: 1 << 20,
        cpu_seconds,
        program: 0,
        objects: vec![1],
        arguments: vec!["hello".to_string(), "one".to_string()],
        files: vec![("input.txt".to_string(), 2)],
        output: Some("out/hello".to_string()),
    };
    let policies = vec![("alpha".to_string(), "alpha.yaml".to_string(), "tenant: alpha\n".to_string())];
    vec![encode(&objects, &[cvm("one", None), cvm("two", Some(5))], &policies)]
}
