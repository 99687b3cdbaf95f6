//! Every way a deployment file can be wrong, each with the message a user sees.

use std::path::{Path, PathBuf};

use intravisor::config::{load, parse, ConfigError, ObjectRef, Wait};

/// A directory with a program and a library file for the deployments to name.
fn directory() -> PathBuf {
    let directory = std::env::temp_dir().join(format!("intravisor-config-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("program"), b"\x7fELF").unwrap();
    std::fs::write(directory.join("libshared.so"), b"\x7fELF").unwrap();
    std::fs::write(directory.join("input.txt"), b"data").unwrap();
    directory
}

fn deployment_file() -> PathBuf {
    directory().join("deploy.yaml")
}

fn check(text: &str) -> Result<intravisor::config::Deployment, ConfigError> {
    parse(text, &deployment_file())
}

fn error(text: &str) -> String {
    match check(text) {
        Ok(deployment) => panic!("accepted: {deployment:?}"),
        Err(error) => error.to_string(),
    }
}

/// Asserts the message names the file, the cVM and the field, and contains `expected`.
fn assert_field_error(text: &str, cvm: &str, field: &str, expected: &str) {
    let message = error(text);
    assert!(message.starts_with(&format!("{}: ", deployment_file().display())), "{message}");
    assert!(message.contains(&format!("cVM `{cvm}`, field `{field}`:")), "{message}");
    assert!(message.contains(expected), "expected `{expected}` in: {message}");
}

const ONE: &str = "cVMs:\n  - name: one\n    runtime: program\n    isolation: { size: 16M }\n";

#[test]
fn a_valid_deployment_has_every_field_resolved() {
    let text = "cVMs:
  - name: one
    runtime: program
    args: [a, 2]
    isolation: { size: 0x1000000 }
    wait: -1
    tenant: acme
    objects: [libshared.so, {sha256: 00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF}]
    files: [input.txt, {path: input.txt, as: copy.txt}]
    output: out/one
    stack: 256K
  - name: two
    runtime: program
    args: \"x y\"
    isolation: { size: 8M }
    wait: 3
";
    let deployment = check(text).unwrap();
    let one = &deployment.cvms[0];
    assert_eq!(one.arguments, ["a", "2"]);
    assert_eq!(one.region_size, 16 << 20);
    assert_eq!(one.stack_size, 256 << 10);
    assert_eq!(one.wait, Wait::UntilEnd);
    assert_eq!(one.tenant, "acme");
    let mut digest = [0u8; 32];
    for (index, byte) in digest.iter_mut().enumerate() {
        *byte =
            [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
                [index % 16];
    }
    assert_eq!(one.objects, [ObjectRef::Path(directory().join("libshared.so")), ObjectRef::Digest(digest)]);
    assert_eq!(one.files[1].name, "copy.txt");
    assert_eq!(one.output, Some(directory().join("out/one")));
    let two = &deployment.cvms[1];
    assert_eq!(two.arguments, ["x", "y"]);
    assert_eq!(two.tenant, "default");
    assert_eq!(two.wait, Wait::Seconds(3));
    assert_eq!(two.runtime, Path::new(&directory()).join("program"));
}

#[test]
fn unknown_fields_are_refused_with_their_line() {
    let message = error(&format!("{ONE}    colour: blue\n"));
    assert!(message.contains("unknown field `colour`") && message.contains("line 5"), "{message}");
    let message =
        error("cVMs:\n  - name: one\n    runtime: program\n    isolation: { size: 16M, base: 0 }\n");
    assert!(message.contains("unknown field `base`") && message.contains("line 4"), "{message}");
    let message = error(&format!("{ONE}policies: []\n"));
    assert!(message.contains("unknown field `policies`"), "{message}");
}

#[test]
fn missing_fields_and_bad_yaml_are_refused() {
    let message = error("cVMs:\n  - name: one\n    isolation: { size: 16M }\n");
    assert!(message.contains("missing field `runtime`"), "{message}");
    let message = error("cVMs:\n  - name: [one\n");
    assert!(message.contains("line"), "{message}");
    let message = error("cVMs: []\n");
    assert!(message.contains("lists no cVM"), "{message}");
}

#[test]
fn names_must_be_valid_and_unique() {
    assert_field_error(&ONE.replace("name: one", "name: has space"), "#1", "name", "not a valid name");
    let twice = format!("{ONE}{}", &ONE[6..]);
    assert_field_error(&twice, "one", "name", "another cVM already has this name");
    assert_field_error(&format!("{ONE}    tenant: \"a b\"\n"), "one", "tenant", "not a valid tenant name");
    // The deployment and the policies agree on what a tenant name is.
    assert_field_error(&format!("{ONE}    tenant: public\n"), "one", "tenant", "keywords of `to:`");
}

#[test]
fn missing_objects_are_named() {
    assert_field_error(
        &ONE.replace("runtime: program", "runtime: absent"),
        "one",
        "runtime",
        "absent` is not a file",
    );
    assert_field_error(
        &format!("{ONE}    objects: [libshared.so, libabsent.so]\n"),
        "one",
        "objects[1]",
        "libabsent.so` is not a file",
    );
}

#[test]
fn a_deployment_file_is_bounded() {
    // 5 MiB of arguments: the file is refused before it is parsed.
    let file = directory().join("huge.yaml");
    let arguments = vec!["x".repeat(1000); 5 * 1024].join(", ");
    std::fs::write(&file, format!("{ONE}    args: [{arguments}]\n")).unwrap();
    let message = load(&file).unwrap_err().to_string();
    assert!(message.starts_with(&format!("{}: ", file.display())), "{message}");
    assert!(message.contains("larger than a deployment may be (4 MiB)"), "{message}");
}

#[test]
fn a_list_of_objects_is_bounded() {
    // Checked before any of them is looked at: not one of these files exists.
    let objects: Vec<String> = (0..=256).map(|index| format!("lib{index}.so")).collect();
    assert_field_error(
        &format!("{ONE}    objects: [{}]\n", objects.join(", ")),
        "one",
        "objects",
        "257 objects are more than a cVM may link against (256)",
    );
}

#[test]
fn objects_by_digest_and_tenants_are_checked() {
    assert_field_error(
        &format!("{ONE}    objects: [{{sha256: abc}}]\n"),
        "one",
        "objects[0].sha256",
        "`abc` is not 64 hexadecimal digits",
    );
    assert_field_error(
        &format!("{ONE}    objects: [{{digest: abc}}]\n"),
        "one",
        "objects[0]",
        "expected a path, or {sha256:",
    );
    let message = error(&format!("{ONE}tenants:\n  acme: absent.yaml\n"));
    assert!(
        message.contains("tenant `acme` its policy") && message.contains("absent.yaml` is not a file"),
        "{message}"
    );
    let message = error(&format!("{ONE}tenants:\n  \"a b\": input.txt\n"));
    assert!(message.contains("tenant `a b` is not a valid tenant name"), "{message}");
    let message = error(&format!("{ONE}tenants:\n  private: input.txt\n"));
    assert!(message.contains("tenant `private` is not a valid tenant name"), "{message}");
    // YAML keeps the last of two equal keys: a tenant listed twice is refused instead.
    let message = error(&format!("{ONE}tenants:\n  acme: input.txt\n  acme: input.txt\n"));
    assert!(message.contains("tenant `acme` is listed twice; list each tenant once"), "{message}");
    let deployment = check(&format!("{ONE}tenants:\n  acme: input.txt\ncontrol: control\n")).unwrap();
    assert_eq!(deployment.tenants, [("acme".to_string(), directory().join("input.txt"))]);
    assert_eq!(deployment.control, Some(directory().join("control")));
}

#[test]
fn sizes_must_parse_be_representable_and_fit() {
    let with_size = |size: &str| ONE.replace("size: 16M", &format!("size: {size}"));
    assert_field_error(&with_size("lots"), "one", "isolation.size", "`lots` is not a size");
    assert_field_error(
        &with_size("0x1234"),
        "one",
        "isolation.size",
        "not a non-zero multiple of the page size",
    );
    assert_field_error(
        &with_size("0x1001000"),
        "one",
        "isolation.size",
        "cannot be the exact length of a capability; the next size that can is 0x1002000",
    );
    assert_field_error(&with_size("128G"), "one", "isolation.size", "more than the largest region");
    assert_field_error(&with_size("1M"), "one", "isolation.size", "does not fit the stack");
    assert_field_error(&with_size("[1]"), "one", "isolation.size", "expected a size");
    assert_field_error(&format!("{ONE}    stack: 1000\n"), "one", "stack", "must be a multiple of 0x1000");
    // Time limits: whole seconds from 1 to a day.
    for field in ["cpu_seconds", "wall_seconds"] {
        for value in ["0", "86401", "-1", "1.5", "soon"] {
            let message = error(&format!(
                "cVMs:\n  - name: one\n    runtime: program\n    isolation: {{ size: 16M, {field}: {value} }}\n"
            ));
            assert!(
                message.contains(&format!(
                    "`isolation.{field}`: expected a whole number of seconds from 1 to 86400"
                )),
                "{value}: {message}"
            );
        }
    }
    // Open files: 1 to 1024.
    for value in ["0", "1025", "-3", "many"] {
        let message = error(&format!(
            "cVMs:\n  - name: one\n    runtime: program\n    isolation: {{ size: 16M, open_files: {value} }}\n"
        ));
        assert!(
            message.contains("`isolation.open_files`: expected a number of files from 1 to 1024"),
            "{message}"
        );
    }
    // Threads: 1 to 64.
    for value in ["0", "65", "lots"] {
        let message = error(&format!(
            "cVMs:\n  - name: one\n    runtime: program\n    isolation: {{ size: 16M, threads: {value} }}\n"
        ));
        assert!(
            message.contains("`isolation.threads`: expected a number of threads from 1 to 64"),
            "{message}"
        );
    }
    // Write limits are sizes.
    for field in ["console_bytes", "output_bytes"] {
        let message = error(&format!(
            "cVMs:\n  - name: one\n    runtime: program\n    isolation: {{ size: 16M, {field}: lots }}\n"
        ));
        assert!(message.contains(&format!("`isolation.{field}`")), "{message}");
    }
    // The largest stacks: refused for not fitting, never wrapped around (a debug build
    // panicked on this overflow, a release build called it valid).
    for stack in ["0xfffffffffffff000", "18446744073709547520", "0x7ffffffffffff000"] {
        assert_field_error(
            &format!("{ONE}    stack: {stack}\n"),
            "one",
            "isolation.size",
            "does not fit the stack",
        );
    }
}

#[test]
fn wait_args_files_and_outputs_are_checked() {
    assert_field_error(&format!("{ONE}    wait: -5\n"), "one", "wait", "-5 is not a wait");
    assert_field_error(
        &format!("{ONE}    args: {{a: 1}}\n"),
        "one",
        "args",
        "expected a string or a list of strings",
    );
    assert_field_error(&format!("{ONE}    args: [[1]]\n"), "one", "args[0]", "expected a string");
    assert_field_error(
        &format!("{ONE}    files: [absent.txt]\n"),
        "one",
        "files[0].path",
        "absent.txt` is not a file",
    );
    assert_field_error(
        &format!("{ONE}    files: [{{path: input.txt, as: a/b}}]\n"),
        "one",
        "files[0].as",
        "not a plain file name",
    );
    assert_field_error(
        &format!("{ONE}    files: [{{path: input.txt, mode: rw}}]\n"),
        "one",
        "files[0]",
        "unknown field `mode`",
    );
    assert_field_error(&format!("{ONE}    files: [{{as: x}}]\n"), "one", "files[0]", "missing field `path`");
    assert_field_error(
        &format!("{ONE}    files: [input.txt, input.txt]\n"),
        "one",
        "files[1]",
        "granted twice",
    );
    let shared_output = format!("{ONE}    output: out\n  - name: two\n    runtime: program\n    isolation: {{ size: 16M }}\n    output: out\n");
    assert_field_error(&shared_output, "two", "output", "is, or is nested with, cVM `one`'s output");
}
