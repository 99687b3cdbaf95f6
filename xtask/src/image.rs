//! `cargo xtask image DEPLOY.yaml --platform aarch64-virt [--board B] -o FILE`: a bootable
//! ELF of the bare-metal intravisor with the deployment packed in, linked and configured
//! for board B (`virt`, QEMU's `-M virt`, unless told otherwise; `intravisor::platform::board`).
//!
//! The deployment is validated with the same code and errors as `intravisor run`. Every
//! object it names, and every policy, is taken from the AArch64 build of the same example
//! (a path component `build` becomes `build-aarch64`), hashed, and packed with the cVMs
//! and the tenants' policies into a manifest (`intravisor::manifest`), which the intravisor, built for
//! `aarch64-unknown-none`, includes; at boot it checks every object against its digest.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use intravisor::config::{self, ObjectRef};
use intravisor::manifest::{encode, ImageCvm};
use intravisor::platform::board::{Board, BOARDS, MORELLO_SOC, QEMU_VIRT};
use sha2::{Digest, Sha256};

use super::{cargo, root, run};

/// The platforms an image can be built for.
const PLATFORMS: [&str; 2] = ["aarch64-virt", "morello"];

/// Parses `DEPLOY.yaml --platform P [--board B] -o FILE` and builds the image.
pub fn run_image(arguments: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask image DEPLOY.yaml --platform aarch64-virt|morello [--board virt|morello-fvp|morello-soc] -o FILE";
    let mut deployment = None;
    let mut platform = None;
    let mut board = QEMU_VIRT;
    let mut output = None;
    let mut rest = arguments.iter();
    while let Some(argument) = rest.next() {
        match argument.as_str() {
            "--platform" => platform = rest.next().cloned(),
            "--board" => {
                let name = rest.next().map(String::as_str).unwrap_or_default();
                board = *BOARDS.iter().find(|board| board.name == name).ok_or_else(|| {
                    let names: Vec<&str> = BOARDS.iter().map(|board| board.name).collect();
                    format!("board `{name}` is not one of {}", names.join(", "))
                })?;
            }
            "-o" | "--output" => output = rest.next().map(PathBuf::from),
            _ if deployment.is_none() => deployment = Some(PathBuf::from(argument)),
            other => return Err(format!("unexpected argument `{other}`; {usage}")),
        }
    }
    let (Some(deployment), Some(platform), Some(output)) = (deployment, platform, output) else {
        return Err(usage.to_string());
    };
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(format!("platform `{platform}` is not one of {}", PLATFORMS.join(", ")));
    }
    let deployment = if deployment.is_absolute() {
        deployment
    } else {
        std::env::current_dir().unwrap_or_default().join(deployment)
    };
    build_image(&deployment, &output, &platform, board)
}

/// The AArch64 build of an object: `.../build/NAME` → `.../build-aarch64/NAME`.
fn aarch64_object(path: &Path) -> PathBuf {
    path.components()
        .map(|component| match component {
            Component::Normal(name) if name == "build" => Component::Normal("build-aarch64".as_ref()),
            other => other,
        })
        .collect()
}

fn build_image(deployment_file: &Path, output: &Path, platform: &str, board: Board) -> Result<(), String> {
    let deployment = config::load(deployment_file).map_err(|error| error.to_string())?;
    intravisor::policies::load(&deployment).map_err(|error| error.to_string())?;
    let mut objects: Vec<(String, [u8; 32], Vec<u8>)> = Vec::new();
    let mut indices: BTreeMap<PathBuf, usize> = BTreeMap::new();
    let mut index_of = |path: &Path| -> Result<usize, String> {
        let path = aarch64_object(path);
        if let Some(&index) = indices.get(&path) {
            return Ok(index);
        }
        let bytes = std::fs::read(&path)
            .map_err(|error| format!("cannot read {} (run `cargo xtask build`): {error}", path.display()))?;
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        objects.push((name, Sha256::digest(&bytes).into(), bytes));
        indices.insert(path, objects.len() - 1);
        Ok(objects.len() - 1)
    };
    let mut cvms = Vec::with_capacity(deployment.cvms.len());
    for cvm in &deployment.cvms {
        let program = index_of(&cvm.runtime)?;
        let mut libraries = Vec::new();
        for object in &cvm.objects {
            match object {
                ObjectRef::Path(path) => libraries.push(index_of(path)?),
                ObjectRef::Digest(_) => {
                    return Err(format!(
                        "cVM `{}`: objects named by digest are not supported in images yet",
                        cvm.name
                    ))
                }
            }
        }
        let mut files = Vec::with_capacity(cvm.files.len());
        for grant in &cvm.files {
            files.push((grant.name.clone(), index_of(&grant.path)?));
        }
        // Semihosting writes outputs on the host running QEMU, which cannot create
        // directories: make each now.
        let output = match &cvm.output {
            Some(directory) => {
                std::fs::create_dir_all(directory)
                    .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
                Some(directory.display().to_string())
            }
            None => None,
        };
        cvms.push(ImageCvm {
            name: cvm.name.clone(),
            tenant: cvm.tenant.clone(),
            region_size: cvm.region_size,
            stack_size: cvm.stack_size,
            cpu_seconds: cvm.cpu_seconds,
            program,
            objects: libraries,
            arguments: cvm.arguments.clone(),
            files,
            output,
        });
    }
    let mut policies = Vec::new();
    for (tenant, path) in &deployment.tenants {
        // A policy names the digests of one build: the AArch64 build's, for an image.
        let path = aarch64_object(path);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        policies.push((tenant.clone(), path.display().to_string(), text));
    }
    let manifest = encode(&objects, &cvms, &policies);
    let directory = root().join("target/images");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let stem = output.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    let manifest_file = directory.join(format!("{stem}.manifest"));
    std::fs::write(&manifest_file, manifest)
        .map_err(|error| format!("cannot write the manifest: {error}"))?;
    let linker_script = root().join("intravisor/src/platform/aarch64_virt/link.ld");
    // Each board is a build of its own (its own target directory, so switching boards
    // does not rebuild the others).
    run(cargo()
        .args(["build", "--quiet", "--release", "-p", "intravisor", "--bin", "intravisor-virt"])
        .args([
            "--no-default-features",
            "--features",
            &features(platform, board),
            "--target",
            "aarch64-unknown-none",
        ])
        .args(["--target-dir", &target_directory(board)])
        .args(super::NOT_LINKED_WHOLE)
        .env("ORC_MANIFEST", &manifest_file)
        .env(
            "CARGO_TARGET_AARCH64_UNKNOWN_NONE_RUSTFLAGS",
            format!(
                "-C link-arg=-T{} -C link-arg=--defsym=IMAGE_START={:#x}",
                linker_script.display(),
                board.image_start
            ),
        ))?;
    let built = root().join(target_directory(board)).join("aarch64-unknown-none/release/intravisor-virt");
    println!("platform: {platform}, board: {}", board.name);
    std::fs::copy(&built, output).map_err(|error| format!("cannot write {}: {error}", output.display()))?;
    println!("image: {} ({} cVMs, {} objects)", output.display(), cvms.len(), objects.len());
    Ok(())
}

/// The cargo features of an image for `platform` on `board`.
fn features(platform: &str, board: Board) -> String {
    if board == QEMU_VIRT {
        platform.to_string()
    } else {
        format!("{platform},board-{}", board.name)
    }
}

/// Where an image for `board` is built (relative to the workspace).
fn target_directory(board: Board) -> String {
    if board == QEMU_VIRT {
        "target/image".to_string()
    } else {
        format!("target/image-{}", board.name)
    }
}

/// `cargo xtask qemu IMAGE`: boots an image on Debian's QEMU through the CI script.
pub fn run_qemu(arguments: &[String]) -> Result<(), String> {
    let image = arguments.first().ok_or("usage: cargo xtask qemu IMAGE")?;
    run(Command::new("bash").arg(root().join("morello-ci/run-qemu.sh")).arg(image))
}

/// Runs clippy over the bare-metal intravisor for every platform on QEMU virt, and for the
/// Morello board (whose console ends a run differently), with the manifest of
/// `examples/hello` packed in (the binary includes a manifest at compile time).
pub fn lint_bare_metal() -> Result<(), String> {
    let deployment = root().join("examples/hello/deploy.yaml");
    let mut manifest = PathBuf::new();
    for platform in PLATFORMS {
        let image = root().join(format!("target/images/lint-{platform}.elf"));
        build_image(&deployment, &image, platform, QEMU_VIRT)?;
        manifest = image.with_extension("manifest");
        clippy_bare_metal(&features(platform, QEMU_VIRT), &manifest)?;
    }
    clippy_bare_metal(&features("morello", MORELLO_SOC), &manifest)
}

fn clippy_bare_metal(features: &str, manifest: &Path) -> Result<(), String> {
    run(cargo()
        .args(["clippy", "--quiet", "-p", "intravisor", "--bin", "intravisor-virt"])
        .args(["--no-default-features", "--features", features, "--target", "aarch64-unknown-none"])
        .args(["--target-dir", "target/image", "--", "-D", "warnings"])
        .env("ORC_MANIFEST", manifest))
}
