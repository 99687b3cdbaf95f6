//! `cargo xtask oci`: the transcoder as an OCI image, for containerd (`ctr image import`)
//! and the intravisor's shim, with no registry.
//!
//! One layer holds the ORC objects as `cargo xtask build` made them: the program at
//! `/orc/bin/ffmpeg`, musl, the libOS and ffmpeg's libraries under `/orc/lib`. The image's
//! configuration says how the shim makes a cVM of them: the entry point is the program,
//! `ORC_OBJECTS` lists the objects it links against in load order, `ORC_REGION_SIZE` the
//! region each container gets unless it says otherwise. The archive is an OCI image
//! layout (`oci-layout`, `index.json`, `blobs/sha256/…`), its layer uncompressed, every
//! timestamp zero: the same objects make the same bytes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
// The name `ctr image import` gives the image, which the tests and the benchmark run.
use tests::containerd::IMAGE;

/// The region of a transcoding cVM (as the example's deployment gives it).
const REGION_SIZE: &str = "64M";
/// The objects of the transcoder, in load order: musl, the libOS, then ffmpeg's libraries.
fn libraries() -> impl Iterator<Item = &'static str> {
    ["libc.so", "libcvm.so"].into_iter().chain(super::ffmpeg::LIBRARIES)
}

/// `cargo xtask oci [-o FILE]`: writes the image archive (by default
/// `target/oci/orc-transcode.tar`) and prints where.
pub fn run_command(arguments: &[String]) -> Result<(), String> {
    let output = match arguments {
        [] => crate::root().join("target/oci/orc-transcode.tar"),
        [flag, file] if flag == "-o" => PathBuf::from(file),
        _ => return Err("usage: cargo xtask oci [-o FILE]".to_string()),
    };
    write_image(&crate::root().join("examples/transcode/build"), &output)?;
    println!("xtask: {IMAGE} written to {}", output.display());
    Ok(())
}

/// Writes the transcoder's image from the objects in `build` to `output`.
pub fn write_image(build: &Path, output: &Path) -> Result<(), String> {
    let mut files = vec![("orc/bin/ffmpeg".to_string(), read(&build.join("ffmpeg"))?)];
    for library in libraries() {
        files.push((format!("orc/lib/{library}"), read(&build.join(library))?));
    }
    let layer = tar_of(&files, &["orc", "orc/bin", "orc/lib"])?;
    let layer_digest = digest(&layer);
    let objects: Vec<String> = libraries().map(|library| format!("/orc/lib/{library}")).collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": ["/orc/bin/ffmpeg"],
            "Env": [format!("ORC_OBJECTS={}", objects.join(":")), format!("ORC_REGION_SIZE={REGION_SIZE}")],
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.title": "ffmpeg as ORC objects for the intravisor"},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.clone()]},
        "history": [{"created_by": "cargo xtask oci"}],
    });
    let config = serde_json::to_vec(&config).map_err(|error| error.to_string())?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|error| error.to_string())?;
    let mut manifest_descriptor = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
    manifest_descriptor["annotations"] = serde_json::json!({
        "io.containerd.image.name": IMAGE,
        "org.opencontainers.image.ref.name": "latest",
    });
    manifest_descriptor["platform"] = serde_json::json!({"architecture": "amd64", "os": "linux"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [manifest_descriptor]});
    let index = serde_json::to_vec(&index).map_err(|error| error.to_string())?;
    let mut entries = vec![
        ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ("index.json".to_string(), index),
    ];
    for blob in [layer, config, manifest] {
        entries.push((format!("blobs/sha256/{}", hex(&Sha256::digest(&blob))), blob));
    }
    let archive = tar_of(&entries, &["blobs", "blobs/sha256"])?;
    if let Some(directory) = output.parent() {
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("cannot make {}: {error}", directory.display()))?;
    }
    std::fs::write(output, archive).map_err(|error| format!("cannot write {}: {error}", output.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path)
        .map_err(|error| format!("cannot read {} (run `cargo xtask build`): {error}", path.display()))
}

/// A tar archive of `directories`, then `files` (path, bytes), owned by root, every
/// time zero.
fn tar_of(files: &[(String, Vec<u8>)], directories: &[&str]) -> Result<Vec<u8>, String> {
    let mut builder = tar::Builder::new(Vec::new());
    let failed = |error: std::io::Error| format!("cannot make a tar archive: {error}");
    for directory in directories {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(0);
        builder.append_data(&mut header, format!("{directory}/"), std::io::empty()).map_err(failed)?;
    }
    for (path, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if path.starts_with("orc/bin/") { 0o755 } else { 0o644 });
        header.set_size(bytes.len() as u64);
        header.set_mtime(0);
        builder.append_data(&mut header, path, bytes.as_slice()).map_err(failed)?;
    }
    builder.into_inner().map_err(failed)
}

fn descriptor(media_type: &str, blob: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": digest(blob), "size": blob.len()})
}

fn digest(blob: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(blob)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
