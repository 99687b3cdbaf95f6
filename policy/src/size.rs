//! Sizes and counts as people write them in `limits:`.
//!
//! A size is a decimal number (`16777216`), a `0x` hexadecimal number (`0x1000000`), or
//! a decimal number with a binary suffix `K`, `M` or `G` in either case (`64K`, `16M`,
//! `1G`), the same spellings as the deployment file's sizes. A count (`limits.cvms`) is
//! a plain decimal number.

use alloc::string::String;
use core::fmt;

/// Why a text is not a size or a count.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SizeProblem {
    /// The text is empty.
    Empty,
    /// The text does not start with a digit, or has a non-digit before its suffix.
    NotANumber,
    /// The text ends in something other than `K`, `M` or `G` (counts take no suffix).
    UnknownSuffix(String),
    /// The value does not fit in 64 bits.
    TooLarge,
}

impl fmt::Display for SizeProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => formatter.write_str("it is empty"),
            Self::NotANumber => formatter.write_str("it is not a number"),
            Self::UnknownSuffix(suffix) => write!(formatter, "`{suffix}` is not a size suffix"),
            Self::TooLarge => formatter.write_str("it does not fit in 64 bits"),
        }
    }
}

/// Reads a size: `16777216`, `0x1000000`, `16M`, `64K`, `1G`.
pub fn parse_size(text: &str) -> Result<u64, SizeProblem> {
    if text.is_empty() {
        return Err(SizeProblem::Empty);
    }
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return digits_value(hex, 16);
    }
    let digits_end = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let multiplier: u64 = match suffix {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ if digits.is_empty() => return Err(SizeProblem::NotANumber),
        _ => return Err(SizeProblem::UnknownSuffix(String::from(suffix))),
    };
    digits_value(digits, 10)?.checked_mul(multiplier).ok_or(SizeProblem::TooLarge)
}

/// Reads a count: a plain decimal number.
pub fn parse_count(text: &str) -> Result<u64, SizeProblem> {
    if text.is_empty() {
        return Err(SizeProblem::Empty);
    }
    let digits_end = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(SizeProblem::NotANumber);
    }
    if !suffix.is_empty() {
        return Err(SizeProblem::UnknownSuffix(String::from(suffix)));
    }
    digits_value(digits, 10)
}

/// Writes a size the way a person reads it: `16M`, `64K`, `1G`, or plain bytes.
pub fn format_size(size: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (unit, suffix) in UNITS {
        // Units are powers of two.
        if size != 0 && size & (unit - 1) == 0 {
            return alloc::format!("{}{suffix}", size / unit);
        }
    }
    alloc::format!("{size}")
}

/// The value of a non-empty run of digits in `radix`, checked for overflow.
fn digits_value(digits: &str, radix: u32) -> Result<u64, SizeProblem> {
    if digits.is_empty() {
        return Err(SizeProblem::NotANumber);
    }
    let mut value: u64 = 0;
    for character in digits.chars() {
        let digit = character.to_digit(radix).ok_or(SizeProblem::NotANumber)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|value| value.checked_add(u64::from(digit)))
            .ok_or(SizeProblem::TooLarge)?;
    }
    Ok(value)
}
