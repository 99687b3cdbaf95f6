//! Support for the end-to-end tests in `tests/tests/`: building the examples and the
//! intravisor binary once per test run, and running the binary on a deployment.
//!
//! The tests drive the real `intravisor` command on real cVM programs built by
//! `cargo xtask build`, and read what a user reads: its exit status, its output and
//! its JSON report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the workspace").to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

fn must_succeed(command: &mut Command) {
    let description = format!("{command:?}");
    let status = command
        .current_dir(root())
        .status()
        .unwrap_or_else(|error| panic!("cannot run {description}: {error}"));
    assert!(status.success(), "{description} failed with {status}");
}

/// Builds the examples' programs (once per test process).
pub fn build_examples() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| must_succeed(cargo().args(["run", "--quiet", "-p", "xtask", "--", "build"])));
}

/// The intravisor binary, built if needed (once per test process).
pub fn intravisor() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            must_succeed(cargo().args(["build", "--quiet", "-p", "intravisor", "--bin", "intravisor"]));
            root().join("target/debug/intravisor")
        })
        .clone()
}

/// What one run of `intravisor run` gave.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The JSON report, when one was written.
    pub report: Option<serde_json::Value>,
}

impl Run {
    /// The report entry of cVM `name`.
    pub fn cvm(&self, name: &str) -> &serde_json::Value {
        let report = self.report.as_ref().expect("the run wrote a report");
        report["cvms"]
            .as_array()
            .expect("cvms is a list")
            .iter()
            .find(|cvm| cvm["name"] == name)
            .unwrap_or_else(|| panic!("no cVM `{name}` in the report: {report}"))
    }

    /// The console lines cVM `name` printed, without their prefix.
    pub fn lines_of(&self, name: &str) -> Vec<&str> {
        let prefix = format!("[{name}] ");
        self.stdout.lines().filter_map(|line| line.strip_prefix(prefix.as_str())).collect()
    }
}

/// Runs `intravisor run DEPLOYMENT --report <temporary file>`.
pub fn run_deployment(deployment: &Path) -> Run {
    build_examples();
    // Tests run in parallel, some on the same deployment: every run its own report.
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let report_file = std::env::temp_dir().join(format!(
        "intravisor-report-{}-{run}-{}.json",
        std::process::id(),
        deployment.to_string_lossy().replace(['/', '.'], "_")
    ));
    let _ = std::fs::remove_file(&report_file);
    let output: Output = Command::new(intravisor())
        .arg("run")
        .arg(deployment)
        .arg("--report")
        .arg(&report_file)
        .current_dir(root())
        .output()
        .expect("the intravisor runs");
    let report = std::fs::read_to_string(&report_file)
        .ok()
        .map(|text| serde_json::from_str(&text).expect("the report is JSON"));
    let _ = std::fs::remove_file(&report_file);
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report,
    }
}

/// A scratch directory for one test, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let directory = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("the scratch directory can be made");
    directory
}
