//! End-to-end tests on the host: small C programs and a shared object built with
//! `clang -fpass-plugin=libcls_pass.so` at `-O0` and `-O2`, with GNU ld and with lld,
//! linked with the test runtime `tests/native/cls_runtime.c` (built without the plugin),
//! which keeps four instances of every `.cls*` template and switches between them.
//!
//! - `counters.c`, driven by `driver.c` (built without the plugin, since an
//!   instrumented function looks its globals up on entry and so must not switch
//!   instances itself), checks separate counters per instance, pointers stored in CLS data
//!   (by relocation and at run time), function pointers in CLS structs, constants that
//!   point at CLS data, and (with `libshared.so`) an extern global defined in a shared
//!   object; it prints `ok`.
//! - `program.c` knows nothing of CLS: its output with the plugin and the runtime
//!   (instance 0) must equal its output without them.
//! - the linked binaries carry no copy relocation, and the CLS sections lie in a
//!   read-write `PT_LOAD` segment.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `-O` levels the programs are built at.
const LEVELS: [&str; 2] = ["-O0", "-O2"];
/// Linkers: clang's default (GNU ld on Debian) and LLVM's lld (package `lld-NN`; the
/// LLVM 14 one serves the LLVM 16 build too, since it links plain ELF objects).
fn linkers() -> Vec<Option<String>> {
    let lld = [support::llvm_tool("ld.lld"), "/usr/lib/llvm-14/bin/ld.lld".into(), "/usr/bin/ld.lld".into()]
        .into_iter()
        .find(|path| path.is_file());
    match lld {
        Some(path) => vec![None, Some(format!("--ld-path={}", path.display()))],
        None => {
            eprintln!("ld.lld not found (apt-get install lld-{}): testing GNU ld only", support::LLVM_MAJOR);
            vec![None]
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    support::crate_dir().join("tests").join("native").join(name)
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `clang-NN` with the plugin loaded and position-independent code.
fn clang_with_plugin(level: &str, linker: Option<&str>) -> Command {
    let mut command = Command::new(support::llvm_tool("clang"));
    command.arg(level).arg("-fPIC").arg(format!("-fpass-plugin={}", support::plugin().display()));
    command.arg("-I").arg(fixture(""));
    command.args(linker);
    command
}

/// A fixture compiled without the plugin.
fn uninstrumented_object(directory: &Path, source: &str) -> PathBuf {
    let object = directory.join(source.replace(".c", ".o"));
    run(Command::new(support::llvm_tool("clang"))
        .args(["-O2", "-fPIC", "-c"])
        .arg("-I")
        .arg(fixture(""))
        .arg(fixture(source))
        .arg("-o")
        .arg(&object));
    object
}

/// The test runtime, compiled without the plugin.
fn runtime_object(directory: &Path) -> PathBuf {
    uninstrumented_object(directory, "cls_runtime.c")
}

/// Dynamic relocations of `binary`, as `readelf -rW` prints them.
fn relocations(binary: &Path) -> String {
    String::from_utf8_lossy(&run(Command::new("readelf").arg("-rW").arg(binary)).stdout).into_owned()
}

/// Asserts that every `.cls*` section of `binary` lies in a read-write, non-executable
/// `PT_LOAD` segment, using `readelf -lW`'s section-to-segment mapping.
fn assert_cls_sections_in_rw_load(binary: &Path) {
    let text =
        String::from_utf8_lossy(&run(Command::new("readelf").arg("-lW").arg(binary)).stdout).into_owned();
    let headers: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("Type"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| !line.trim_start().starts_with('['))
        .collect();
    let mapping: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.contains("Section to Segment mapping"))
        .skip(2)
        .take_while(|line| !line.trim().is_empty())
        .collect();
    let mut found = false;
    for line in mapping {
        let mut fields = line.split_whitespace();
        let Some(index) = fields.next().and_then(|index| index.parse::<usize>().ok()) else { continue };
        if !fields.any(|section| section.starts_with(".cls")) {
            continue;
        }
        found = true;
        let header = headers[index];
        assert!(
            header.trim_start().starts_with("LOAD"),
            "{}: .cls in non-LOAD segment: {header}",
            binary.display()
        );
        assert!(header.contains(" RW "), "{}: .cls in a segment that is not RW: {header}", binary.display());
    }
    assert!(found, "{}: no .cls section in any segment\n{text}", binary.display());
}

/// Builds and runs `counters.c` (alone, or with `libshared.so`) for every level and
/// linker; it must print `ok`.
fn counters(with_library: bool) {
    let name = if with_library { "counters_with_library" } else { "counters" };
    let directory = support::scratch_dir(name);
    let runtime = runtime_object(&directory);
    let driver = uninstrumented_object(&directory, "driver.c");
    for level in LEVELS {
        for linker in linkers() {
            let linker = linker.as_deref();
            let tag = format!(
                "{}{}",
                level.trim_start_matches('-'),
                if linker.is_some() { "-lld" } else { "-bfd" }
            );
            let program = directory.join(format!("{name}{tag}"));
            let mut command = clang_with_plugin(level, linker);
            command.arg("-fPIE").arg("-pie");
            if with_library {
                let library_dir = directory.join(&tag);
                std::fs::create_dir_all(&library_dir).expect("library directory");
                run(clang_with_plugin(level, linker)
                    .arg("-shared")
                    .arg(fixture("libshared.c"))
                    .arg("-o")
                    .arg(library_dir.join("libshared.so")));
                assert_cls_sections_in_rw_load(&library_dir.join("libshared.so"));
                command.arg("-DWITH_LIBRARY").arg("-rdynamic").arg("-L").arg(&library_dir).arg("-lshared");
                command.arg(format!("-Wl,-rpath,{}", library_dir.display()));
            }
            run(command.arg(fixture("counters.c")).arg(&driver).arg(&runtime).arg("-o").arg(&program));
            let relocations = relocations(&program);
            assert!(!relocations.contains("R_X86_64_COPY"), "{tag}: copy relocation:\n{relocations}");
            assert_cls_sections_in_rw_load(&program);
            let output = run(&mut Command::new(&program));
            assert_eq!(String::from_utf8_lossy(&output.stdout), "ok\n", "{tag}: {}", program.display());
        }
    }
}

#[test]
fn two_instances_keep_separate_state_in_a_pie_program() {
    counters(false);
}

#[test]
fn an_extern_global_defined_in_a_shared_object_is_per_instance() {
    counters(true);
}

#[test]
fn one_instance_prints_what_the_uninstrumented_program_prints() {
    let directory = support::scratch_dir("program");
    let runtime = runtime_object(&directory);
    for level in LEVELS {
        let plain = directory.join(format!("plain{level}"));
        run(Command::new(support::llvm_tool("clang"))
            .arg(level)
            .arg("-fPIE")
            .arg("-pie")
            .arg(fixture("program.c"))
            .arg("-o")
            .arg(&plain));
        let instrumented = directory.join(format!("instrumented{level}"));
        run(clang_with_plugin(level, None)
            .arg("-fPIE")
            .arg("-pie")
            .arg(fixture("program.c"))
            .arg(&runtime)
            .arg("-o")
            .arg(&instrumented));
        // The instrumented build really is instrumented: it has templates and calls.
        let sections =
            String::from_utf8_lossy(&run(Command::new("readelf").arg("-SW").arg(&instrumented)).stdout)
                .into_owned();
        assert!(sections.contains(".cls.data") && sections.contains(".cls.bss"), "{level}: no templates");
        let disassembly = run(Command::new(support::llvm_tool("llvm-objdump")).arg("-d").arg(&instrumented));
        assert!(String::from_utf8_lossy(&disassembly.stdout).contains("call"), "{level}: no code");
        assert!(
            String::from_utf8_lossy(&disassembly.stdout).contains("<__cls_get_addr>"),
            "{level}: main never calls __cls_get_addr"
        );
        let expected = run(Command::new(&plain).arg("x"));
        let actual = run(Command::new(&instrumented).arg("x"));
        assert_eq!(
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout),
            "{level}"
        );
        assert!(String::from_utf8_lossy(&expected.stdout).contains("sorted: alpha bravo charlie delta"));
    }
}

#[test]
fn clang_runs_the_pass_at_every_optimisation_level() {
    for level in ["-O0", "-O1", "-O2", "-O3", "-Os"] {
        let output = run(clang_with_plugin(level, None)
            .args(["-S", "-emit-llvm", "-o", "-"])
            .arg(fixture("libshared.c")));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("section \".cls.data\""), "{level}: no .cls.data\n{text}");
        assert!(
            text.contains("call i8* @__cls_get_addr(") || text.contains("call ptr @__cls_get_addr("),
            "{level}"
        );
        assert!(!text.contains("load i32, i32* @shared_counter"), "{level}: direct load left\n{text}");
    }
}

#[test]
fn a_refused_module_fails_the_clang_build_with_the_message_and_no_output_file() {
    let directory = support::scratch_dir("refused");
    let source = directory.join("refused.c");
    std::fs::write(
        &source,
        "int in_section __attribute__((section(\".mine\"))) = 1;\nint get(void) { return in_section; }\n",
    )
    .expect("write source");
    let object = directory.join("refused.o");
    let output =
        clang_with_plugin("-O2", None).arg("-c").arg(&source).arg("-o").arg(&object).output().expect("clang");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr
        .contains("cls-pass: error: global `in_section` is writable but has the explicit section `.mine`"));
    assert!(!stderr.contains("PLEASE submit") && !stderr.contains("Stack dump"), "{stderr}");
    assert!(!object.exists(), "a refused build must not leave an object file");
    let leftovers: Vec<_> = std::fs::read_dir(&directory)
        .expect("scratch directory")
        .map(|entry| entry.expect("entry").file_name())
        .filter(|name| name != "refused.c")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
