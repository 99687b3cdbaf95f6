//! What can go wrong before the driver hands over to clang or the archiver.

use std::path::PathBuf;

/// Why the driver did not run the compiler.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot find the SDK this driver belongs to ({reason}): run it from SDK/bin/, or set CVM_SDK")]
    NoSdk { reason: String },
    #[error("cannot read the SDK description {path}: {reason}; rebuild the SDK with `cargo xtask build`")]
    Description { path: PathBuf, reason: String },
    #[error("`{argument}` is not supported for cVM objects: {why}")]
    Unsupported { argument: String, why: &'static str },
    #[error(
        "`{argument}` names the target {given}, but this SDK builds for {sdk}: use the SDK of that target"
    )]
    OtherTarget { argument: String, given: String, sdk: String },
    #[error("`{option}` needs a value after it")]
    MissingValue { option: String },
    #[error("an argument is not valid UTF-8: {argument:?}")]
    NotUtf8 { argument: std::ffi::OsString },
    #[error("cannot run {program}: {reason}")]
    Exec { program: PathBuf, reason: String },
}
