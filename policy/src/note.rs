//! What a policy allows but may not mean: reported beside the parsed policy, never refused.

use alloc::string::String;
use core::fmt;

/// Something in a valid policy worth telling its author.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// A limit is 0 (`field`: `limits.cvms`, `limits.memory_per_cvm` or
    /// `limits.memory_total`): the tenant can run no cVM at all.
    ZeroLimit { file: String, line: usize, column: usize, tenant: String, field: &'static str },
}

impl fmt::Display for Note {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroLimit { file, line, column, tenant, field } => {
                let effect = if *field == "limits.cvms" {
                    "may not run any cVM"
                } else {
                    "can run no cVM, since every cVM needs a region of memory"
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
