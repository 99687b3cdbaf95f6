//! Run-time sharing (a tenant's `run_time_sharing:`), end to end on the real intravisor:
//! pages that cVMs of one program fill alike become one copy, and each cVM still sees
//! its own writes only, whichever way they are made; what run-time sharing lets a cVM
//! process map stays its own, and what it can read of the group's merged file (`peek`)
//! are contents it holds itself.

use tests::{root, run_deployment};

#[test]
fn merged_pages_stay_each_cvms_own_under_every_kind_of_write() {
    let run = run_deployment(&root().join("examples/run-time-sharing/deploy.yaml"));
    assert_eq!(run.code, Some(1), "`exec` and `write` faulted, nothing else did; stderr: {}", run.stderr);
    for name in ["tables1", "tables2", "tables3", "tables4", "shifted", "peek", "race", "other"] {
        let lines = run.lines_of(name);
        assert_eq!(lines.len(), 1, "{name}: {lines:?}");
        assert!(lines[0].starts_with("ok"), "{name} saw something it did not write: {lines:?}");
        assert_eq!(run.cvm(name)["exit_code"], 0, "{name}");
    }
    for name in ["tables1", "tables2", "tables3", "tables4", "shifted", "peek", "race", "exec", "write"] {
        let merged = run.cvm(name)["run_time_shared_bytes"].as_u64().unwrap();
        let given_back = run.cvm(name)["run_time_given_back_bytes"].as_u64().unwrap();
        // The 64-page table (and the page of its `.cls.data`, alike in every cVM;
        // `shifted` holds the table's pages at other offsets), not the page of its own
        // (its name); its resident pages of zeros given back: the 15 of `spare` it did
        // not write, and at most one more of its writable memory. `race`'s thread writes
        // into pages 40 to 63 of the table and into `spare` while they are merged: those
        // stay its own when a write lands between the comparison and the mapping.
        let (fewest_merged, fewest_given_back) = if name == "race" { (40, 0) } else { (60, 1) };
        assert!((fewest_merged * 4096..=65 * 4096).contains(&merged), "{name}: {merged} bytes merged");
        assert!(
            (fewest_given_back * 4096..=16 * 4096).contains(&given_back),
            "{name}: {given_back} bytes given back"
        );
    }
    assert_eq!(run.cvm("other")["run_time_shared_bytes"], 0, "its tenant did not opt in");
    assert_eq!(run.cvm("other")["run_time_given_back_bytes"], 0, "its tenant did not opt in");
    let race = &run.lines_of("race")[0];
    assert!(!race.ends_with("writes while merging: 0)"), "the racing thread never wrote: {race}");
    for (name, attempt) in
        [("exec", "mapping its region's file executable"), ("write", "mapping the merged file writable")]
    {
        let cvm = run.cvm(name);
        assert_eq!(cvm["status"], "faulted", "{cvm}");
        assert_eq!(cvm["fault"]["cause"], "forbidden system call", "{cvm}");
        assert_eq!(run.lines_of(name), [attempt], "the system call never returned to it");
    }
}
