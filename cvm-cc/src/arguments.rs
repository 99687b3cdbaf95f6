//! What a command line asks of the driver: which stage clang stops at, what kind of
//! object it links, and which of the SDK's parts the user turned off. Everything else
//! is handed to clang as it came, in order; what cannot make a cVM object is refused
//! here with the reason.

use std::ffi::OsString;

use crate::error::DriverError;

/// Where clang stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nothing to compile or link: `--version`, `-dumpmachine`, `-print-...`.
    Query,
    /// Preprocess, compile or assemble only (`-E`, `-S`, `-c`, `-M`, ...).
    Compile,
    /// Compile what needs it, then link.
    Link(Output),
}

/// What a link makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A program: a position-independent executable the intravisor enters at `_start`.
    Program,
    /// A shared object (`-shared`).
    Shared,
    /// A relocatable object (`-r`): no start files, libraries or linker script.
    Relocatable,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub stage: Stage,
    /// The user's arguments, less the driver's own options, in their order.
    pub arguments: Vec<OsString>,
    /// Whether a source file is compiled (as opposed to only linking objects).
    pub compiles_source: bool,
    /// False with `-nolibc`: a program or library on the libOS alone.
    pub libc: bool,
    /// False with `-nostartfiles` or `-nostdlib`.
    pub start_files: bool,
    /// False with `-nodefaultlibs` or `-nostdlib`.
    pub default_libraries: bool,
    /// False with `-nostdinc`: the user names every header directory.
    pub standard_include: bool,
    /// False with `--cvm-no-cls-pass`: the code's globals stay ordinary globals, so
    /// the object cannot be shared between cVMs unless it has none that are written.
    pub cls_pass: bool,
}

/// Options whose value is the next argument.
const TAKES_VALUE: [&str; 29] = [
    "-o",
    "-I",
    "-L",
    "-l",
    "-x",
    "-D",
    "-U",
    "-T",
    "-z",
    "-u",
    "-e",
    "-MF",
    "-MT",
    "-MQ",
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-isysroot",
    "--sysroot",
    "-Xlinker",
    "-Xclang",
    "-Xassembler",
    "-Xpreprocessor",
    "-mllvm",
    "-target",
    "-arch",
];

/// Options that stop clang before the link.
const COMPILE_ONLY: [&str; 6] = ["-c", "-S", "-E", "-fsyntax-only", "-M", "-MM"];

/// File name extensions clang compiles or assembles.
const SOURCE_EXTENSIONS: [&str; 9] = ["c", "i", "s", "S", "cc", "cpp", "cxx", "C", "ii"];

/// The driver's own option that compiles without the cls-pass.
pub const NO_CLS_PASS: &str = "--cvm-no-cls-pass";

impl Invocation {
    /// Parses `arguments` (without the program name) for an SDK of clang target
    /// `sdk_target`.
    pub fn parse(arguments: Vec<OsString>, sdk_target: &str) -> Result<Self, DriverError> {
        let mut invocation = Self {
            stage: Stage::Link(Output::Program),
            arguments: Vec::with_capacity(arguments.len()),
            compiles_source: false,
            libc: true,
            start_files: true,
            default_libraries: true,
            standard_include: true,
            cls_pass: true,
        };
        let (mut compile_only, mut shared, mut relocatable, mut inputs, mut language) =
            (false, false, false, 0usize, false);
        let mut arguments = arguments.into_iter();
        while let Some(argument) = arguments.next() {
            let text = argument
                .to_str()
                .ok_or_else(|| DriverError::NotUtf8 { argument: argument.clone() })?
                .to_string();
            if TAKES_VALUE.contains(&text.as_str()) {
                let value =
                    arguments.next().ok_or_else(|| DriverError::MissingValue { option: text.clone() })?;
                match text.as_str() {
                    "-target" => check_target(&text, &value.to_string_lossy(), sdk_target)?,
                    "-l" => inputs += 1,
                    "-x" => language = value != "none",
                    _ => {}
                }
                if text != "-target" {
                    invocation.arguments.extend([argument, value]);
                }
                continue;
            }
            match text.as_str() {
                "-nolibc" => {
                    invocation.libc = false;
                    continue;
                }
                NO_CLS_PASS => {
                    invocation.cls_pass = false;
                    continue;
                }
                "-nostdlib" => (invocation.start_files, invocation.default_libraries) = (false, false),
                "-nostartfiles" => invocation.start_files = false,
                "-nodefaultlibs" => invocation.default_libraries = false,
                "-nostdinc" => invocation.standard_include = false,
                "-shared" => shared = true,
                "-r" => relocatable = true,
                option if COMPILE_ONLY.contains(&option) => compile_only = true,
                option if option.starts_with("--target=") || option.starts_with("-target=") => {
                    let (_, value) = option.split_once('=').unwrap_or_default();
                    check_target(option, value, sdk_target)?;
                    continue;
                }
                option if option.starts_with("-x") => language = option != "-xnone",
                option => refuse(option)?,
            }
            if text == "-" || !text.starts_with('-') {
                inputs += 1;
                let extension = text.rsplit_once('.').map(|(_, extension)| extension);
                invocation.compiles_source |=
                    language || text == "-" || extension.is_some_and(|e| SOURCE_EXTENSIONS.contains(&e));
            } else if text.starts_with("-l") {
                inputs += 1;
            }
            invocation.arguments.push(argument);
        }
        invocation.stage = if inputs == 0 {
            Stage::Query
        } else if compile_only {
            Stage::Compile
        } else if relocatable {
            Stage::Link(Output::Relocatable)
        } else if shared {
            Stage::Link(Output::Shared)
        } else {
            Stage::Link(Output::Program)
        };
        Ok(invocation)
    }
}

/// A `-target` that is not the SDK's architecture is refused; the SDK's own target is
/// what clang gets either way.
fn check_target(argument: &str, given: &str, sdk_target: &str) -> Result<(), DriverError> {
    let architecture = |target: &str| target.split('-').next().unwrap_or_default().to_string();
    if architecture(given) == architecture(sdk_target) {
        Ok(())
    } else {
        Err(DriverError::OtherTarget {
            argument: argument.to_string(),
            given: given.to_string(),
            sdk: sdk_target.to_string(),
        })
    }
}

/// Refuses an option that cannot make an ORC object.
fn refuse(option: &str) -> Result<(), DriverError> {
    let why = match option {
        "-static" | "-static-pie" => {
            "a cVM program is a position-independent executable on the shared libc.so and libcvm.so, \
             which the intravisor loads once for every cVM"
        }
        "-m32" | "-mx32" | "-m16" => "cVMs run 64-bit code",
        "-fno-pic" | "-fno-PIC" | "-fno-pie" | "-fno-PIE" | "-no-pie" | "-nopie" => {
            "ORC objects are position-independent: the intravisor chooses where each one goes"
        }
        _ if option.starts_with("-flto") => {
            "the cls-pass rewrites each translation unit as it is compiled; link-time optimisation \
             would link code it has not seen"
        }
        _ if option.starts_with("--sysroot") || option.starts_with("--gcc-toolchain") => {
            "the SDK is the cVM's whole system: its headers and libraries are the only ones"
        }
        _ if option.starts_with("-fuse-ld=") && option != "-fuse-ld=lld" => {
            "ORC objects are linked by lld, for which the SDK's CLS linker script is written"
        }
        _ => return Ok(()),
    };
    Err(DriverError::Unsupported { argument: option.to_string(), why })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &[&str]) -> Result<Invocation, DriverError> {
        Invocation::parse(arguments.iter().map(OsString::from).collect(), "x86_64-linux-gnu")
    }

    #[test]
    fn stages() {
        assert_eq!(parse(&["--version"]).unwrap().stage, Stage::Query);
        assert_eq!(parse(&["-dumpmachine"]).unwrap().stage, Stage::Query);
        assert_eq!(parse(&["-c", "a.c", "-o", "a.o"]).unwrap().stage, Stage::Compile);
        assert_eq!(parse(&["-E", "-x", "c", "-"]).unwrap().stage, Stage::Compile);
        assert_eq!(parse(&["a.o", "b.o", "-o", "p"]).unwrap().stage, Stage::Link(Output::Program));
        assert_eq!(parse(&["-shared", "a.c", "-o", "l.so"]).unwrap().stage, Stage::Link(Output::Shared));
        assert_eq!(parse(&["-r", "a.o", "-o", "b.o"]).unwrap().stage, Stage::Link(Output::Relocatable));
    }

    #[test]
    fn sources_and_values() {
        let linking_objects = parse(&["a.o", "-o", "x.c"]).unwrap();
        assert!(!linking_objects.compiles_source, "the output's name is not an input");
        assert!(parse(&["a.o", "b.c"]).unwrap().compiles_source);
        assert!(parse(&["-x", "c", "conftest"]).unwrap().compiles_source);
        assert!(!parse(&["-I", "include.c", "a.o"]).unwrap().compiles_source);
        assert!(matches!(parse(&["-c", "a.c", "-o"]), Err(DriverError::MissingValue { .. })));
    }

    #[test]
    fn own_options_are_taken_out() {
        let invocation = parse(&["-nolibc", NO_CLS_PASS, "-c", "a.c"]).unwrap();
        assert!(!invocation.libc && !invocation.cls_pass);
        assert_eq!(invocation.arguments, ["-c", "a.c"]);
        let invocation = parse(&["-nostdlib", "-nostdinc", "a.c"]).unwrap();
        assert!(!invocation.start_files && !invocation.default_libraries && !invocation.standard_include);
    }

    #[test]
    fn targets() {
        assert!(parse(&["-target", "x86_64-pc-linux-gnu", "-c", "a.c"]).is_ok());
        assert!(parse(&["--target=x86_64-linux-musl", "-c", "a.c"]).unwrap().arguments == ["-c", "a.c"]);
        let error = parse(&["--target=aarch64-linux-gnu", "-c", "a.c"]).unwrap_err().to_string();
        assert!(error.contains("aarch64-linux-gnu") && error.contains("x86_64-linux-gnu"), "{error}");
    }

    #[test]
    fn refusals_say_why() {
        for option in ["-static", "-m32", "-fno-pic", "-no-pie", "-flto=thin", "-fuse-ld=bfd"] {
            let error = parse(&[option, "a.c"]).unwrap_err().to_string();
            assert!(error.contains(option) && error.contains("not supported"), "{error}");
        }
        assert!(parse(&["-fno-lto", "-fuse-ld=lld", "a.c"]).is_ok());
    }
}
