//! SQLite, the second real workload: Debian's `sqlite3` 3.40.1 built from its source
//! package by `cvm-cc` (`xtask/src/sqlite.rs`), run by two tenants' cVMs that share one
//! copy of the shell, `libsqlite3.so.0`, `libc.so` and `libcvm.so`; each cVM's output,
//! its database file (in its output directory, with SQLite's rollback journal) and the
//! dump it writes there are compared with Debian's own `sqlite3` of the same version
//! running the same script.

use std::path::Path;
use std::process::Command;

use tests::{root, run_deployment, scratch};

/// What Debian's sqlite3 prints for `script` on `TENANT.db`, and the database and dump
/// it writes, run in a scratch directory: a fresh one, or `again` in the one of the run
/// before, on its database.
fn native(tenant: &str, script: &Path, again: bool) -> (String, Vec<u8>, Vec<u8>) {
    let name = format!("sqlite-native-{tenant}");
    let directory = if again { root().join("target/test-scratch").join(name) } else { scratch(&name) };
    let output = Command::new("sqlite3")
        .args(["-batch", "-init"])
        .arg(script)
        .args([format!("{tenant}.db").as_str(), ".quit"])
        .current_dir(&directory)
        .output()
        .expect("Debian's sqlite3 runs (cargo xtask setup installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |name: &str| std::fs::read(directory.join(name)).expect("the native run writes it");
    (String::from_utf8(output.stdout).expect("text"), read(&format!("{tenant}.db")), read("dump.sql"))
}

#[test]
fn two_tenants_run_sqlite_sharing_its_objects_and_match_debians_sqlite3() {
    let version = Command::new("sqlite3").arg("--version").output().expect("Debian's sqlite3 runs");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("3.40.1 "), "the same version natively");
    let example = root().join("examples/sqlite");
    for tenant in ["alpha", "beta"] {
        let _ = std::fs::remove_dir_all(example.join("out").join(tenant));
    }
    // Twice: the second run opens the databases the first one left (its script then
    // fails where it creates what exists, as natively).
    let mut run = None;
    for again in [false, true] {
        let this = run_deployment(&example.join("deploy.yaml"));
        check_run(&example, &this, again);
        run = Some(this);
    }
    let run = run.expect("it ran");
    // One copy of each object for both tenants, as their policies allow.
    for object in ["sqlite3", "libsqlite3.so.0", "libc.so", "libcvm.so"] {
        let entry = run.object(object);
        assert_eq!((entry["loads"].as_u64(), entry["users"].as_u64()), (Some(1), Some(2)), "{entry}");
    }
}

/// Each tenant's cVM printed, wrote and dumped what Debian's sqlite3 does.
fn check_run(example: &Path, run: &tests::Run, again: bool) {
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    for tenant in ["alpha", "beta"] {
        let (printed, database, dump) = native(tenant, &example.join(format!("{tenant}.sql")), again);
        // The console shows a carriage return (CSV's line ends) as `\x0d`.
        let expected: Vec<String> =
            printed.split_terminator('\n').map(|line| line.replace('\r', "\\x0d")).collect();
        assert!(expected.len() > 10, "{printed}");
        assert_eq!(run.lines_of(&format!("{tenant}-sql")), expected, "{tenant}'s output");
        let outputs = example.join("out").join(tenant);
        let written = std::fs::read(outputs.join("dump.sql")).expect("the cVM's dump");
        assert!(written == dump, "{tenant}'s dump differs from the native one");
        let file = std::fs::read(outputs.join(format!("{tenant}.db"))).expect("the cVM's database");
        assert!(file == database, "{tenant}'s database file differs from the native one");
        // The journal was made and removed as natively: only the two files are left.
        assert_eq!(std::fs::read_dir(&outputs).unwrap().count(), 2, "{tenant}: {outputs:?}");
        assert_eq!(run.cvm(&format!("{tenant}-sql"))["tenant"], tenant);
    }
}
