//! Error codes a hostcall returns, negated, with the values Linux gives them so that a
//! libc inside a cVM can pass them through unchanged.

/// A hostcall failure. A hostcall returns `-(errno as i64)`.
#[repr(i64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    /// No such file: the deployment did not grant it.
    NoEntry = 2,
    /// An I/O error on the host side.
    Io = 5,
    /// The handle is not open, or not open in the needed direction.
    BadHandle = 9,
    /// Try again: a futex word did not hold the expected value, or no more threads.
    Again = 11,
    /// Permission denied: the name is not allowed here.
    Access = 13,
    /// A pointer argument lies outside the cVM's capabilities.
    Fault = 14,
    /// An argument has a value the hostcall does not accept.
    Invalid = 22,
    /// Too many open files.
    TooManyFiles = 24,
    /// A name is too long.
    NameTooLong = 36,
    /// No hostcall has this number.
    NoSys = 38,
    /// A wait ran out of time.
    TimedOut = 110,
}

impl Errno {
    /// The value a hostcall returns for this error.
    pub const fn as_return(self) -> i64 {
        -(self as i64)
    }

    /// Decodes a hostcall's negative return value, or `None` if it is not an error.
    pub const fn from_return(value: i64) -> Option<Self> {
        Some(match value {
            -2 => Self::NoEntry,
            -5 => Self::Io,
            -9 => Self::BadHandle,
            -11 => Self::Again,
            -13 => Self::Access,
            -14 => Self::Fault,
            -22 => Self::Invalid,
            -24 => Self::TooManyFiles,
            -36 => Self::NameTooLong,
            -38 => Self::NoSys,
            -110 => Self::TimedOut,
            _ => return None,
        })
    }
}
