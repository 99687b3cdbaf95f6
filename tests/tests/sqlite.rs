//! SQLite, the second real workload: Debian's `sqlite3` 3.40.1 built from its source
//! package by `cvm-cc` (`xtask/src/sqlite.rs`), run by two tenants' cVMs that share one
//! copy of the shell, `libsqlite3.so.0`, `libc.so` and `libcvm.so`; each cVM's output
//! and the database dump it writes into its output directory are compared with Debian's
//! own `sqlite3` of the same version running the same script.

use std::path::Path;
use std::process::Command;

use tests::{root, run_deployment, scratch};

/// What Debian's sqlite3 prints for `script`, and the dump it writes, run in a scratch
/// directory.
fn native(tenant: &str, script: &Path) -> (String, Vec<u8>) {
    let directory = scratch(&format!("sqlite-native-{tenant}"));
    let output = Command::new("sqlite3")
        .args(["-batch", "-init"])
        .arg(script)
        .args([":memory:", ".quit"])
        .current_dir(&directory)
        .output()
        .expect("Debian's sqlite3 runs (cargo xtask setup installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dump = std::fs::read(directory.join("dump.sql")).expect("the native run dumps its database");
    (String::from_utf8(output.stdout).expect("text"), dump)
}

#[test]
fn two_tenants_run_sqlite_sharing_its_objects_and_match_debians_sqlite3() {
    let version = Command::new("sqlite3").arg("--version").output().expect("Debian's sqlite3 runs");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("3.40.1 "), "the same version natively");
    let example = root().join("examples/sqlite");
    for tenant in ["alpha", "beta"] {
        let _ = std::fs::remove_dir_all(example.join("out").join(tenant));
    }
    let run = run_deployment(&example.join("deploy.yaml"));
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    for tenant in ["alpha", "beta"] {
        let (printed, dump) = native(tenant, &example.join(format!("{tenant}.sql")));
        // The console shows a carriage return (CSV's line ends) as `\x0d`.
        let expected: Vec<String> =
            printed.split_terminator('\n').map(|line| line.replace('\r', "\\x0d")).collect();
        assert!(expected.len() > 10, "{printed}");
        assert_eq!(run.lines_of(&format!("{tenant}-sql")), expected, "{tenant}'s output");
        let written =
            std::fs::read(example.join("out").join(tenant).join("dump.sql")).expect("the cVM's dump");
        assert!(written == dump, "{tenant}'s dump differs from the native one");
        assert_eq!(run.cvm(&format!("{tenant}-sql"))["tenant"], tenant);
    }
    // One copy of each object for both tenants, as their policies allow.
    for object in ["sqlite3", "libsqlite3.so.0", "libc.so", "libcvm.so"] {
        let entry = run.object(object);
        assert_eq!((entry["loads"].as_u64(), entry["users"].as_u64()), (Some(1), Some(2)), "{entry}");
    }
}
