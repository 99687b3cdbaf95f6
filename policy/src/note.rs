//! What a policy allows but may not mean: reported beside the parsed policy, never refused.

use alloc::string::String;
use core::fmt;

/// Something in a valid policy worth telling its author.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// A limit is 0 (`field`: `limits.cvms`, `limits.memory_per_cvm`,
    /// `limits.memory_total`, or a per-cVM limit of time, open files or threads): the
    /// tenant can run no cVM at all.
    ZeroLimit { file: String, line: usize, column: usize, tenant: String, field: &'static str },
}

impl fmt::Display for Note {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroLimit { file, line, column, tenant, field } => {
                let effect = if *field == "limits.cvms" {
                    "may not run any cVM"
                } else if field.starts_with("limits.memory") {
                    "can run no cVM, since every cVM needs a region of memory"
                } else {
                    "can run no cVM, since a deployment grants every cVM at least 1 of it"
                };
                write!(
                    formatter,
                    "{file}:{line}:{column}: note: {field} is 0: tenant `{tenant}` {effect}; remove the \
                     line if it should have no limit"
                )
            }
        }
    }
}
