//! The clang command line for an invocation: the SDK's target and the SDK as the only
//! system root (no host library is ever linked), the compile flags of
//! every cVM translation unit (position-independent, the cls-pass, musl's headers, the
//! target's flags), and for a link the start file, lld with the CLS linker script, and
//! `libc.so`, `libcvm.so` and the compiler's runtime library after the user's inputs.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::arguments::{Invocation, Output, Stage};
use crate::sdk::{Sdk, CLS_BSS_SCRIPT, CLS_PASS, RUNTIME_LIBRARY, START_LIBC, START_NOLIBC};

/// The clang command that does what `invocation` asks with `sdk`'s parts.
pub fn clang(sdk: &Sdk, invocation: &Invocation) -> Command {
    let mut command = Command::new(&sdk.description.clang);
    command.args(arguments(sdk, invocation));
    command
}

/// The arguments of [`clang`], in order.
pub fn arguments(sdk: &Sdk, invocation: &Invocation) -> Vec<OsString> {
    let description = &sdk.description;
    let lib = sdk.lib();
    let mut arguments: Vec<OsString> = vec!["-target".into(), description.target.clone().into()];
    // The SDK is the whole system: no library of the host's (`/lib/<triple>`, GCC's
    // directory) is searched.
    arguments.push(joined("--sysroot=", &sdk.root));
    arguments.push(joined("--gcc-toolchain=", &sdk.root));
    if invocation.stage == Stage::Query {
        arguments.extend(invocation.arguments.iter().cloned());
        return arguments;
    }
    if invocation.stage == Stage::Compile || invocation.compiles_source {
        arguments.push("-fPIC".into());
        arguments.extend(description.target_flags.iter().map(OsString::from));
        if invocation.cls_pass {
            arguments.push(joined("-fpass-plugin=", &lib.join(CLS_PASS)));
        }
        if invocation.standard_include {
            arguments.extend(["-nostdinc".into(), "-isystem".into(), sdk.include().into()]);
            arguments.extend(["-isystem".into(), description.clang_include.clone().into()]);
        }
    }
    let Stage::Link(output) = invocation.stage else {
        arguments.extend(invocation.arguments.iter().cloned());
        return arguments;
    };
    arguments.extend(["-fuse-ld=lld".into(), "-nostdlib".into()]);
    if output != Output::Relocatable {
        arguments.extend(["-Wl,-z,now".into(), joined("-Wl,-T,", &lib.join(CLS_BSS_SCRIPT))]);
        arguments.push(joined("-L", &lib));
    }
    match output {
        Output::Program => {
            arguments.extend(["-pie", "-Wl,--no-dynamic-linker", "-Wl,-e,_start"].map(OsString::from));
            if invocation.start_files {
                let start = if invocation.libc { START_LIBC } else { START_NOLIBC };
                arguments.push(lib.join(start).into());
            }
        }
        Output::Shared => arguments.push("-shared".into()),
        Output::Relocatable => {}
    }
    arguments.extend(invocation.arguments.iter().cloned());
    if output != Output::Relocatable && invocation.default_libraries {
        if invocation.libc {
            arguments.push("-lc".into());
        }
        arguments.push("-lcvm".into());
        arguments.push(lib.join(RUNTIME_LIBRARY).into());
        // Its routines stay inside the object that uses them.
        arguments.push(format!("-Wl,--exclude-libs={RUNTIME_LIBRARY}").into());
    }
    arguments
}

fn joined(option: &str, path: &Path) -> OsString {
    let mut joined = OsString::from(option);
    joined.push(path);
    joined
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::sdk::Description;

    fn sdk() -> Sdk {
        Sdk {
            root: PathBuf::from("/sdk"),
            description: Description {
                target: "aarch64-linux-gnu".into(),
                clang: "/usr/bin/clang-14".into(),
                clang_include: "/clang/include".into(),
                archiver: "/usr/bin/llvm-ar-14".into(),
                ranlib: "/usr/bin/llvm-ranlib-14".into(),
                target_flags: vec!["-mno-outline-atomics".into()],
            },
        }
    }

    fn command(arguments: &[&str]) -> String {
        let invocation =
            Invocation::parse(arguments.iter().map(OsString::from).collect(), "aarch64-linux-gnu").unwrap();
        let arguments = super::arguments(&sdk(), &invocation);
        arguments.iter().map(|argument| argument.to_string_lossy()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn compile() {
        assert_eq!(
            command(&["-O2", "-c", "a.c"]),
            "-target aarch64-linux-gnu --sysroot=/sdk --gcc-toolchain=/sdk -fPIC -mno-outline-atomics \
             -fpass-plugin=/sdk/lib/cls-pass.so -nostdinc -isystem /sdk/include -isystem /clang/include -O2 -c a.c"
        );
        assert_eq!(
            command(&["--cvm-no-cls-pass", "-nostdinc", "-c", "a.c"]),
            "-target aarch64-linux-gnu --sysroot=/sdk --gcc-toolchain=/sdk -fPIC -mno-outline-atomics -nostdinc -c a.c"
        );
    }

    #[test]
    fn link_program_and_library() {
        let program = command(&["a.o", "-o", "p"]);
        assert!(
            program.contains("-pie -Wl,--no-dynamic-linker -Wl,-e,_start /sdk/lib/crt1.o a.o -o p -lc -lcvm")
        );
        assert!(!program.contains("-fpass-plugin"), "nothing is compiled: {program}");
        let freestanding = command(&["-nolibc", "a.o", "-o", "p"]);
        assert!(freestanding.contains("/sdk/lib/start-nolibc.o a.o -o p -lcvm /sdk/lib/libgcc.a"));
        let library = command(&["-shared", "a.c", "b.c", "-o", "libx.so"]);
        assert!(library.contains("-fpass-plugin=") && library.contains("-Wl,-T,/sdk/lib/cls-bss.ld"));
        assert!(library.contains("-shared a.c b.c -o libx.so -lc -lcvm"), "{library}");
        let bare = command(&["-nostdlib", "-shared", "a.o"]);
        assert!(!bare.contains("-lc") && !bare.contains("crt1.o"), "{bare}");
    }

    #[test]
    fn query_gets_only_the_target() {
        assert_eq!(
            command(&["-dumpmachine"]),
            "-target aarch64-linux-gnu --sysroot=/sdk --gcc-toolchain=/sdk -dumpmachine"
        );
    }
}
