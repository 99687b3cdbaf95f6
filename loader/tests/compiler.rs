//! Real compiler output loads: a C shared library and a PIE program that uses its function
//! and its global, built by the C compiler on this machine, link into a plan where the
//! program's GOT, PLT and data relocations point at the library's symbols.
//!
//! Without a C compiler on `PATH` the test prints why and passes. Configurations that need
//! more than the host compiler (lld, an AArch64 target) are skipped the same way when
//! they do not build.

use std::path::{Path, PathBuf};
use std::process::Command;

use loader::{plan, LoadError, LoadPlan, Machine, ObjectInput, RelocationValue};

const LIBRARY_SOURCE: &str = "\
int shared_counter = 42;
int shared_add(int a, int b) { return a + b + shared_counter; }
";

const PROGRAM_SOURCE: &str = "\
extern int shared_counter;
int shared_add(int, int);
int *pointer_to_counter = &shared_counter;
int main(void) { return shared_add(1, 2) + shared_counter + *pointer_to_counter; }
";

const TLS_LIBRARY_SOURCE: &str = "\
__thread long library_counter = 3;
long *library_counter_address(void) { return &library_counter; }
";

const TLS_PROGRAM_SOURCE: &str = "\
extern __thread long library_counter;
static __thread int program_counter = 1;
long *library_counter_address(void);
void _start(void) {
    program_counter += (int)library_counter + (int)*library_counter_address();
    for (;;) {
    }
}
";

/// What the C library and the libOS give TLS code, never run here.
const TLS_RUNTIME_SOURCE: &str = "\
void *__tls_get_addr(void *descriptor) { return descriptor; }
void __cvm_tlsdesc_static(void) {}
";

/// The first C compiler found on `PATH`, and whether it is clang.
fn find_compiler() -> Option<(&'static str, bool)> {
    ["clang", "clang-14", "cc", "gcc"].into_iter().find_map(|name| {
        let output = Command::new(name).arg("--version").output().ok()?;
        let clang = String::from_utf8_lossy(&output.stdout).contains("clang");
        output.status.success().then_some((name, clang))
    })
}

fn work_directory(configuration: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loader-compiler").join(configuration);
    std::fs::create_dir_all(&directory).expect("create the work directory");
    directory
}

/// Runs `compiler` with `arguments`; `None` (with the compiler's complaint printed) if it fails.
fn compile(compiler: &str, arguments: &[&str], directory: &Path) -> Option<()> {
    let output = Command::new(compiler).args(arguments).current_dir(directory).output().ok()?;
    if output.status.success() {
        Some(())
    } else {
        println!("{compiler} {arguments:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        None
    }
}

/// Builds the library and the program; returns their bytes.
fn build(
    compiler: &str,
    configuration: &str,
    flags: &[&str],
    program_pic: &str,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let directory = work_directory(configuration);
    std::fs::write(directory.join("library.c"), LIBRARY_SOURCE).ok()?;
    std::fs::write(directory.join("program.c"), PROGRAM_SOURCE).ok()?;
    let mut library =
        vec!["-fPIC", "-shared", "-nostdlib", "-O1", "-Wl,-soname,libshared.so", "-o", "libshared.so"];
    library.extend(flags);
    library.push("library.c");
    compile(compiler, &library, &directory)?;
    let mut program = vec![program_pic, "-pie", "-nostdlib", "-O1", "-Wl,-e,main", "-o", "program"];
    program.extend(flags);
    program.extend(["program.c", "-L.", "-lshared"]);
    compile(compiler, &program, &directory)?;
    let library = std::fs::read(directory.join("libshared.so")).ok()?;
    let program = std::fs::read(directory.join("program")).ok()?;
    Some((program, library))
}

fn link(program: &[u8], library: &[u8]) -> Result<LoadPlan, LoadError> {
    plan(
        ObjectInput { name: "program", bytes: program },
        &[ObjectInput { name: "build/libshared.so", bytes: library }],
    )
}

/// Checks that the plan binds the program's uses of the library to the library.
fn check_plan(plan: &LoadPlan, program: &[u8], machine: Machine) {
    assert_eq!(plan.machine, machine);
    let names: Vec<&str> = plan.objects.iter().map(|object| object.name.as_str()).collect();
    assert_eq!(names, ["program", "build/libshared.so"]);
    assert_eq!(plan.objects[0].needed, vec![1]);
    assert_eq!(plan.objects[1].soname.as_deref(), Some("libshared.so"));
    assert_eq!(plan.entry, u64::from_le_bytes(program[24..32].try_into().unwrap()));
    let library = &plan.objects[1];
    let offset_of = |name: &str| {
        library
            .symbols
            .iter()
            .find(|symbol| symbol.name == name)
            .unwrap_or_else(|| panic!("{name} defined"))
            .image_offset
    };
    let function = RelocationValue::ImageRelative { object: 1, offset: offset_of("shared_add") };
    let counter = RelocationValue::ImageRelative { object: 1, offset: offset_of("shared_counter") };
    let writes_of = |object: usize, value: RelocationValue| {
        plan.relocations.iter().filter(|write| write.object == object && write.value == value).count()
    };
    assert_eq!(writes_of(0, function), 1, "the program's PLT slot for shared_add: {plan:#?}");
    assert_eq!(writes_of(0, counter), 2, "the program's GOT slot and pointer_to_counter: {plan:#?}");
    assert!(writes_of(1, counter) >= 1, "the library's own GOT slot for shared_counter: {plan:#?}");
    for object in &plan.objects {
        assert_eq!(object.image_size % loader::PAGE_SIZE, 0);
        assert!(object
            .segments
            .iter()
            .all(|segment| !(segment.permissions.write && segment.permissions.execute)));
    }
}

#[test]
fn compiled_program_and_library_link() {
    let Some((compiler, clang)) = find_compiler() else {
        println!("skipped: no C compiler (clang, clang-14, cc, gcc) on PATH");
        return;
    };
    // GCC's -fPIE assumes copy relocations for extern data on x86-64; -fPIC avoids them.
    let program_pic = if clang { "-fPIE" } else { "-fPIC" };
    let (program, library) =
        build(compiler, "host", &[], program_pic).expect("the host compiler builds the test objects");
    let machine = if cfg!(target_arch = "aarch64") { Machine::Aarch64 } else { Machine::X86_64 };
    check_plan(&link(&program, &library).expect("compiler output links"), &program, machine);

    let gnu_hash_only = ["-Wl,--hash-style=gnu"];
    let (program, library) =
        build(compiler, "gnu-hash", &gnu_hash_only, program_pic).expect("builds with --hash-style=gnu");
    check_plan(&link(&program, &library).expect("GNU-hash-only output links"), &program, machine);

    if !clang {
        println!("skipped: the lld and AArch64 configurations need clang");
        return;
    }
    // GCC too, when it is there beside clang.
    match build("gcc", "gcc", &[], "-fPIC") {
        Some((program, library)) => {
            check_plan(&link(&program, &library).expect("GCC output links"), &program, machine)
        }
        None => println!("skipped the gcc configuration: no gcc here"),
    }
    let configurations: [(&str, &[&str], Machine); 2] = [
        ("lld", &["-fuse-ld=lld", "-Wl,--hash-style=gnu"], machine),
        ("aarch64-lld", &["--target=aarch64-linux-gnu", "-fuse-ld=lld"], Machine::Aarch64),
    ];
    for (configuration, flags, machine) in configurations {
        match build(compiler, configuration, flags, "-fPIE") {
            Some((program, library)) => {
                check_plan(&link(&program, &library).expect("lld output links"), &program, machine)
            }
            None => println!("skipped the {configuration} configuration: it does not build here"),
        }
    }
}

#[test]
fn compiled_thread_local_storage_is_laid_out_and_its_relocations_resolved() {
    let Some((compiler, true)) = find_compiler() else {
        println!("skipped: no clang on PATH");
        return;
    };
    let host = if cfg!(target_arch = "aarch64") { Machine::Aarch64 } else { Machine::X86_64 };
    for (configuration, target, machine) in
        [("tls", None, host), ("tls-aarch64", Some("--target=aarch64-linux-gnu"), Machine::Aarch64)]
    {
        let directory = work_directory(configuration);
        for (file, source) in [
            ("tls.c", TLS_LIBRARY_SOURCE),
            ("program.c", TLS_PROGRAM_SOURCE),
            ("runtime.c", TLS_RUNTIME_SOURCE),
        ] {
            std::fs::write(directory.join(file), source).unwrap();
        }
        let common: Vec<&str> = target.into_iter().chain(["-fuse-ld=lld", "-nostdlib", "-O2"]).collect();
        let steps: [&[&str]; 3] = [
            &["-fPIC", "-shared", "-o", "libruntime.so", "runtime.c"],
            &["-fPIC", "-shared", "-o", "libtls.so", "tls.c"],
            &["-fPIE", "-pie", "-Wl,-e,_start", "-o", "program", "program.c", "libtls.so", "libruntime.so"],
        ];
        let built = steps.iter().all(|step| {
            let arguments: Vec<&str> = common.iter().chain(step.iter()).copied().collect();
            compile(compiler, &arguments, &directory).is_some()
        });
        if !built {
            println!("skipped the {configuration} configuration: it does not build here");
            continue;
        }
        let read = |name: &str| std::fs::read(directory.join(name)).unwrap();
        let (program, library, runtime) = (read("program"), read("libtls.so"), read("libruntime.so"));
        let available = [
            ObjectInput { name: "libtls.so", bytes: &library },
            ObjectInput { name: "libruntime.so", bytes: &runtime },
        ];
        let plan =
            plan(ObjectInput { name: "program", bytes: &program }, &available).expect("TLS objects link");
        check_tls_plan(&plan, machine);
    }
}

/// The program's block where its ABI puts it, the library's after the reserve, and the
/// program's initial-exec reference and the library's general-dynamic (x86-64) or
/// descriptor (AArch64) ones resolved against that layout.
fn check_tls_plan(plan: &LoadPlan, machine: Machine) {
    let index = |name: &str| plan.objects.iter().position(|object| object.name == name).unwrap();
    let (library, runtime) = (index("libtls.so"), index("libruntime.so"));
    let [program_block, library_block] = plan.tls[..] else { panic!("two TLS modules: {:?}", plan.tls) };
    assert_eq!((program_block.object, library_block.object), (0, library));
    assert_eq!((program_block.memory_size, library_block.memory_size), (4, 8));
    let absolute = |object: usize| -> Vec<u64> {
        plan.relocations
            .iter()
            .filter(|write| write.object == object)
            .filter_map(|write| match write.value {
                RelocationValue::Absolute(value) => Some(value),
                _ => None,
            })
            .collect()
    };
    // `library_counter` is at offset 0 of the library's block.
    let library_from_thread_pointer = match machine {
        Machine::X86_64 => {
            let mask = program_block.alignment - 1;
            let expected = 4 + (0u64.wrapping_sub(program_block.image_offset).wrapping_sub(4) & mask);
            assert_eq!(program_block.offset, expected, "lld's variant II offset");
            assert!(library_block.offset >= loader::PROGRAM_RESERVE + 8);
            library_block.offset.wrapping_neg()
        }
        Machine::Aarch64 => {
            assert_eq!(
                program_block.offset,
                16 + ((program_block.image_offset - 16) & (program_block.alignment - 1))
            );
            assert!(library_block.offset >= 16 + loader::PROGRAM_RESERVE);
            library_block.offset
        }
    };
    assert!(absolute(0).contains(&library_from_thread_pointer), "the program's TPOFF/TPREL: {plan:#?}");
    match machine {
        // General-dynamic: the module id (2) and the offset in the block (0).
        Machine::X86_64 => assert!(absolute(library).contains(&2), "DTPMOD64: {plan:#?}"),
        // A descriptor: the libOS's resolver, then the offset from the thread pointer.
        Machine::Aarch64 => {
            assert!(absolute(library).contains(&library_from_thread_pointer), "TLSDESC: {plan:#?}");
            assert!(plan.relocations.iter().any(|write| write.object == library
                && matches!(write.value, RelocationValue::ImageRelative { object, .. } if object == runtime)));
        }
    }
}
