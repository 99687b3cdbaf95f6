//! SHA-256 digests as policies write them: 64 hexadecimal digits.

use alloc::string::String;

/// The SHA-256 of an object file.
pub type Digest = [u8; 32];

/// Reads a digest written as exactly 64 hexadecimal digits (either case), or `None`.
pub fn parse_digest(text: &str) -> Option<Digest> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = hex_value(pair[0])? << 4 | hex_value(pair[1])?;
    }
    Some(digest)
}

/// Writes a digest as 64 lowercase hexadecimal digits.
pub fn digest_hex(digest: &Digest) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(64);
    for byte in digest {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Why a text is not a digest, for messages: its length or its first non-hex character.
pub(crate) fn digest_problem(text: &str) -> String {
    let length = text.chars().count();
    if let Some((index, character)) =
        text.char_indices().find(|(_, character)| !character.is_ascii_hexdigit())
    {
        let position = text[..index].chars().count() + 1;
        alloc::format!("character {position} (`{}`) is not a hexadecimal digit", character.escape_debug())
    } else if length != 64 {
        alloc::format!("it has {length} hexadecimal digits, not 64")
    } else {
        String::from("it is not a digest")
    }
}

/// The value of one hexadecimal digit.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}
