//! What a deployment may hand its cVMs: granted files and outputs resolve, symlinks
//! followed, under the deployment's directory or a root the operator allows
//! (`--allow-root`); outputs are neither shared, nested, nor over what the deployment
//! reads; no symlink is followed when a cVM's file is opened. Each refusal is checked
//! with `check` and `run` (exit 2, the same message), and that nothing was written.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::{build_examples, intravisor, root, run_deployment_with, scratch};

/// A deployment in a fresh scratch directory: one cVM `shouter` per `(files, output)`
/// (`examples/files`: it reads `input.txt` and writes `shout.txt`), and `input.txt` in
/// the directory.
fn deployment(name: &str, cvms: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    build_examples();
    let directory = scratch(name);
    std::fs::write(directory.join("input.txt"), "confined\n").unwrap();
    let program = root().join("examples/files/build/files");
    let libcvm = root().join("examples/files/build/libcvm.so");
    let mut text = String::from("cVMs:\n");
    for (index, (files, output)) in cvms.iter().enumerate() {
        text.push_str(&format!(
            "  - name: shouter{index}\n    runtime: {}\n    objects: [{}]\n    isolation: {{size: 8M}}\n    \
             files: [{files}]\n    output: {output}\n",
            program.display(),
            libcvm.display()
        ));
    }
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    (directory, file)
}

/// `intravisor check` and `intravisor run` both refuse `file` with exit 2 and a message
/// containing every one of `expected`; returns the message.
fn refused(file: &Path, options: &[&str], expected: &[&str]) -> String {
    let check = Command::new(intravisor()).arg("check").arg(file).args(options).output().unwrap();
    let message = String::from_utf8_lossy(&check.stderr).into_owned();
    assert_eq!(check.status.code(), Some(2), "check: {message}");
    for part in expected {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
    let run = run_deployment_with(file, options);
    assert_eq!(run.code, Some(2), "run: {}", run.stderr);
    assert_eq!(run.stderr.trim(), message.trim(), "run and check say the same");
    message
}

#[test]
fn outputs_outside_the_deployment_directory_are_refused() {
    let outside = scratch("confinement-outside-target");
    let absolute = outside.join("cvm-out");
    let (directory, file) =
        deployment("confinement-absolute", &[("input.txt", &absolute.display().to_string())]);
    refused(
        &file,
        &[],
        &["cVM `shouter0`, field `output`", &format!("resolves to `{}`", absolute.display()), "--allow-root"],
    );
    assert!(!absolute.exists(), "nothing was created outside");
    // `..` out of the directory.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap().replace(&absolute.display().to_string(), "../../.."),
    )
    .unwrap();
    refused(&file, &[], &["field `output`", "outside the deployment's directory"]);
    // A symlinked directory inside that points outside.
    symlink(&outside, directory.join("link")).unwrap();
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("../../..", "link/out")).unwrap();
    refused(&file, &[], &["field `output`", &format!("resolves to `{}`", outside.join("out").display())]);
    assert!(!outside.join("out").exists());
    // `..` after a directory that does not exist yet.
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("link/out", "new/../../x"))
        .unwrap();
    refused(
        &file,
        &[],
        &["field `output`", &format!("resolves to `{}`", directory.with_file_name("x").display())],
    );
    // The operator allows the outside directory: the cVM writes there.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap().replace("new/../../x", &absolute.display().to_string()),
    )
    .unwrap();
    let allowed = outside.display().to_string();
    let run = run_deployment_with(&file, &["--allow-root", &allowed]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(absolute.join("shout.txt")).unwrap(), "CONFINED\n");
}

#[test]
fn granted_files_that_resolve_outside_are_refused() {
    let (directory, file) = deployment("confinement-files", &[("secret", "out/a")]);
    symlink("/etc/shadow", directory.join("secret")).unwrap();
    refused(&file, &[], &["cVM `shouter0`, field `files[0].path`", "resolves to `/etc/shadow`"]);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("files: [secret]", "files: [../../../../../../../../etc/hostname]"))
        .unwrap();
    refused(&file, &[], &["field `files[0].path`", "resolves to `/etc/hostname`"]);
    assert!(!directory.join("out").exists(), "nothing was written");
}

#[test]
fn outputs_that_are_shared_nested_or_over_what_the_deployment_reads_are_refused() {
    let (_, file) = deployment("confinement-same", &[("input.txt", "out/x"), ("input.txt", "out/../out/x")]);
    refused(
        &file,
        &[],
        &["cVM `shouter1`, field `output`", "is, or is nested with, cVM `shouter0`'s output"],
    );
    let (_, file) = deployment("confinement-nested", &[("input.txt", "out"), ("input.txt", "out/inner")]);
    refused(&file, &[], &["cVM `shouter1`, field `output`", "nested with"]);
    let (directory, file) = deployment("confinement-over", &[("input.txt", ".")]);
    refused(
        &file,
        &[],
        &["cVM `shouter0`, field `output`", &format!("would hold `{}`, the deployment file", file.display())],
    );
    let _ = directory;
    let (_, file) = deployment("confinement-over-input", &[("input.txt", "./")]);
    refused(&file, &[], &["a cVM may not write where the deployment reads from"]);
    // Under a file the deployment does not read: the directory could never be made.
    let (directory, file) = deployment("confinement-under-file", &[("input.txt", "notes.txt/out")]);
    std::fs::write(directory.join("notes.txt"), "a file\n").unwrap();
    refused(
        &file,
        &[],
        &[
            "cVM `shouter0`, field `output`",
            &format!("cannot be made: `{}` is not a directory", directory.join("notes.txt").display()),
        ],
    );
}

#[test]
fn a_symlink_in_an_output_directory_is_not_followed() {
    let (directory, file) = deployment("confinement-planted", &[("input.txt", "out")]);
    let victim = directory.join("victim.txt");
    std::fs::write(&victim, "untouched\n").unwrap();
    std::fs::create_dir_all(directory.join("out")).unwrap();
    symlink(&victim, directory.join("out/shout.txt")).unwrap();
    let run = run_deployment_with(&file, &[]);
    assert!(run.lines_of("shouter0").contains(&"create shout.txt -> -5"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
}
