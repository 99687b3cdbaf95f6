//! The `cvm-cc`, `cvm-ar` and `cvm-ranlib` commands: which one is run is the name the
//! binary was called by. Each replaces itself with clang or LLVM's archiver.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::ExitCode;

use cvm_cc::arguments::Invocation;
use cvm_cc::error::DriverError;
use cvm_cc::sdk::Sdk;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cvm-cc: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), DriverError> {
    let mut arguments = std::env::args_os();
    let called_as = arguments.next().unwrap_or_default();
    let name = Path::new(&called_as).file_name().map(|name| name.to_string_lossy().into_owned());
    let sdk = Sdk::locate()?;
    let mut command = match name.as_deref() {
        Some(name) if name.ends_with("ranlib") => {
            let mut command = std::process::Command::new(&sdk.description.ranlib);
            command.args(arguments);
            command
        }
        Some(name) if name.ends_with("-ar") || name == "ar" => {
            let mut command = std::process::Command::new(&sdk.description.archiver);
            command.args(arguments);
            command
        }
        _ => {
            let invocation = Invocation::parse(arguments.collect(), &sdk.description.target)?;
            cvm_cc::command::clang(&sdk, &invocation)
        }
    };
    if std::env::var_os("CVM_CC_VERBOSE").is_some() {
        eprintln!("cvm-cc: {command:?}");
    }
    // `exec` returns only when it failed.
    let error = command.exec();
    Err(DriverError::Exec { program: command.get_program().into(), reason: error.to_string() })
}
