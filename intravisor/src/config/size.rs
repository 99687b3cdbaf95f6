//! Sizes as people write them: `16777216`, `0x1000000`, `16M`, `64K`, `1G`.

/// Parses a size: a number (decimal or `0x` hexadecimal) with an optional binary suffix
/// `K`, `M` or `G`. Returns what was wrong otherwise.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, multiplier) = match text.char_indices().last() {
        Some((index, 'K' | 'k')) => (&text[..index], 1u64 << 10),
        Some((index, 'M' | 'm')) => (&text[..index], 1 << 20),
        Some((index, 'G' | 'g')) => (&text[..index], 1 << 30),
        _ => (text, 1),
    };
    let number = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    };
    let number = number
        .map_err(|_| format!("`{text}` is not a size; write a number like 16777216, 0x1000000 or 16M"))?;
    number.checked_mul(multiplier).ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_every_spelling() {
        assert_eq!(parse_size("16777216"), Ok(16 << 20));
        assert_eq!(parse_size("0x1000000"), Ok(16 << 20));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("sixteen").unwrap_err().contains("not a size"));
        assert!(parse_size("99999999999999G").unwrap_err().contains("too large"));
    }
}
