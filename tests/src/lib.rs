//! Support for the end-to-end tests in `tests/tests/`: building the examples and the
//! intravisor binary once per test run, and running the binary on a deployment.
//!
//! The tests drive the real `intravisor` command on real cVM programs built by
//! `cargo xtask build`, and read what a user reads: its exit status, its output and
//! its JSON report. `cargo xtask bench node` runs containerd as they do.

pub mod containerd;
pub mod node;

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

    /// The report entry of object `name`.
    pub fn object(&self, name: &str) -> &serde_json::Value {
        let report = self.report.as_ref().expect("the run wrote a report");
        report["objects"]
            .as_array()
            .expect("objects is a list")
            .iter()
            .find(|object| object["name"] == name)
            .unwrap_or_else(|| panic!("no object `{name}` in the report: {report}"))
    }

    /// The console lines cVM `name` printed, without their prefix.
    pub fn lines_of(&self, name: &str) -> Vec<&str> {
        let prefix = format!("[{name}] ");
        self.stdout.lines().filter_map(|line| line.strip_prefix(prefix.as_str())).collect()
    }
}

/// Runs `intravisor run DEPLOYMENT --report <temporary file>`.
pub fn run_deployment(deployment: &Path) -> Run {
    run_deployment_with(deployment, &[])
}

/// Runs `intravisor run DEPLOYMENT --report <temporary file> OPTIONS...`.
pub fn run_deployment_with(deployment: &Path, options: &[&str]) -> Run {
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
        .args(options)
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

/// Checking transcodes: Debian's ffprobe and ffmpeg as the peer, and the native build of
/// the same ffmpeg (`cargo xtask build`) as the reference.
pub mod transcode {
    use std::path::Path;
    use std::process::Command;

    /// The libraries of the native build, each in its directory of the build tree.
    const LIBRARIES: [&str; 6] =
        ["libavutil", "libswresample", "libswscale", "libavcodec", "libavformat", "libavfilter"];

    /// Runs a command and returns its standard output, failing the test on an error.
    pub fn output_of(command: &mut Command) -> String {
        let description = format!("{command:?}");
        let output = command.output().unwrap_or_else(|error| panic!("cannot run {description}: {error}"));
        assert!(output.status.success(), "{description}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// What Debian's ffprobe says of each stream: codec, size, frames counted, duration.
    pub fn probe(file: &Path) -> String {
        output_of(
            Command::new("ffprobe")
                .args(["-v", "error", "-count_frames", "-show_entries"])
                .arg("stream=codec_name,width,height,pix_fmt,sample_rate,channels,nb_read_frames,duration")
                .args(["-of", "compact"])
                .arg(file),
        )
    }

    /// The MD5 of every decoded video frame, by Debian's ffmpeg.
    pub fn frame_digests(file: &Path) -> String {
        output_of(
            Command::new("ffmpeg")
                .args(["-v", "error", "-nostdin", "-i"])
                .arg(file)
                .args(["-map", "0:v", "-f", "framemd5", "-"]),
        )
    }

    /// The example's transcode of input `input` by the native build of the same ffmpeg,
    /// with `threads` for its encoders, `None` for ffmpeg's choice from the processors it
    /// sees. A cVM's ffmpeg chooses from the processors the intravisor gives it, and the
    /// mpeg4 encoder's slices, so its output, follow the choice.
    pub fn native(input: u32, output: &Path, threads: Option<usize>) {
        let threads: Vec<String> =
            threads.map(|count| vec!["-threads".to_string(), count.to_string()]).unwrap_or_default();
        let build = super::root().join("target/native-ffmpeg/reduced/build");
        let library_path: Vec<String> =
            LIBRARIES.iter().map(|library| build.join(library).display().to_string()).collect();
        let inputs = super::root().join("examples/transcode/build");
        output_of(
            Command::new(build.join("ffmpeg"))
                .env("LD_LIBRARY_PATH", library_path.join(":"))
                .args(["-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p"])
                .args(["-s", "128x96", "-r", "30", "-i"])
                .arg(inputs.join(format!("in{input}.yuv")))
                .args(["-f", "s16le", "-ar", "48000", "-ac", "2", "-i"])
                .arg(inputs.join(format!("in{input}.pcm")))
                .args(["-vf", "hue=s=0", "-c:v", "mpeg4", "-c:a", "ac3"])
                .args(&threads)
                .arg(output),
        );
    }
}

/// Builds of `tests/c/two-file-library` (a Makefile project: a shared library of two
/// source files, one through a static archive, and a program on it), natively and by
/// the SDK's `cvm-cc`.
pub mod two_file_library {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The SDK of a cVM target (`x86_64-unknown-none`, `aarch64-unknown-none`).
    pub fn sdk(rust_target: &str) -> PathBuf {
        super::root().join("target/cvm-sdk").join(rust_target)
    }

    /// Copies the sources into `target/test-scratch/NAME` and runs `make` there with
    /// `variables`; returns the directory.
    pub fn make(name: &str, variables: &[String]) -> PathBuf {
        let directory = super::scratch(name);
        let sources = super::root().join("tests/c/two-file-library");
        for entry in std::fs::read_dir(&sources).expect("the sources are there") {
            let path = entry.expect("a directory entry").path();
            std::fs::copy(&path, directory.join(path.file_name().expect("a file name"))).expect("copied");
        }
        let output = Command::new("make").arg("-s").args(variables).current_dir(&directory).output();
        let output = output.expect("make runs");
        assert!(
            output.status.success(),
            "make {variables:?} in {} failed:\n{}{}",
            directory.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        directory
    }

    /// The build for cVMs of `rust_target`, by `make CC=cvm-cc AR=cvm-ar`, with the
    /// SDK's `libc.so` and `libcvm.so` beside it.
    pub fn for_cvms(rust_target: &str) -> PathBuf {
        // Built once per test process and target: tests run in parallel.
        static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
        let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, directory)) = built.iter().find(|(target, _)| target == rust_target) {
            return directory.clone();
        }
        super::build_examples();
        let bin = sdk(rust_target).join("bin");
        let directory = make(
            &format!("two-file-library-{rust_target}"),
            &[format!("CC={}", bin.join("cvm-cc").display()), format!("AR={}", bin.join("cvm-ar").display())],
        );
        for library in ["libc.so", "libcvm.so"] {
            std::fs::copy(sdk(rust_target).join("lib").join(library), directory.join(library))
                .expect("copied");
        }
        built.push((rust_target.to_string(), directory.clone()));
        directory
    }

    /// What the native build (`make CC=clang-14`) prints for `arguments`.
    pub fn native_output(arguments: &[&str]) -> String {
        static NATIVE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        let directory = NATIVE.get_or_init(|| make("two-file-library-native", &["CC=clang-14".to_string()]));
        let output = Command::new(directory.join("steps"))
            .args(arguments)
            .env("LD_LIBRARY_PATH", directory)
            .output()
            .expect("the native program runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("the program prints text")
    }

    /// A deployment in `directory` of one cVM per argument list, named `c0`, `c1`, ...
    pub fn deployment(directory: &Path, runs: &[[&str; 2]]) -> PathBuf {
        let mut text = String::from("cVMs:\n");
        for (index, [seed, steps]) in runs.iter().enumerate() {
            text.push_str(&format!(
                "  - name: c{index}\n    runtime: steps\n    objects: [libtwo.so, libc.so, libcvm.so]\n    \
                 args: [\"{seed}\", \"{steps}\"]\n    isolation: {{size: 16M}}\n"
            ));
        }
        let path = directory.join("deploy.yaml");
        std::fs::write(&path, text).expect("the deployment is written");
        path
    }
}
