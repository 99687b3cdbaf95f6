//! What one line of the YAML subset holds: a key, a plain or quoted scalar, a flow
//! sequence (`[a, b]`) or the empty flow mapping (`{}`), then perhaps a comment.
//!
//! Offsets are byte offsets into a [`Line`]'s text; errors turn them into columns.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::SyntaxProblem;
use crate::yaml::{Line, Node, Position, SyntaxError, Value, MAXIMUM_DEPTH};

/// How much of an unexpected text an error repeats.
const QUOTED_TEXT: usize = 40;

/// True for the characters YAML separates tokens with on a line.
fn is_space(character: char) -> bool {
    character == ' ' || character == '\t'
}

/// True when `text` holds only spaces, tabs and perhaps a comment.
pub(crate) fn is_blank_or_comment(text: &str) -> bool {
    let rest = text.trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with('#')
}

/// The offset of the first character at or after `offset` that is not a space or tab.
fn skip_spaces(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    offset + (rest.len() - rest.trim_start_matches([' ', '\t']).len())
}

/// True when `offset` is the end of the text or a space or tab (what ends a `:` indicator).
fn ends_indicator(text: &str, offset: usize) -> bool {
    text.get(offset..).is_none_or(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// True when the character before `offset` is a space or tab (so a `#` there starts a comment).
fn after_space(text: &str, offset: usize) -> bool {
    text.get(..offset).is_some_and(|before| before.ends_with([' ', '\t']))
}

/// If the line is a mapping entry (`key: value`, `key:`), its key, the key's position
/// and the offset just past the `:`; `None` if it is not.
pub(crate) fn split_key(line: &Line<'_>) -> Result<Option<(String, Position, usize)>, SyntaxError> {
    let text = line.text;
    match text.chars().next() {
        Some('\'' | '"') => {
            let (key, end) = quoted(line, 0)?;
            let colon = skip_spaces(text, end);
            if text[colon..].starts_with(':') && ends_indicator(text, colon + 1) {
                return Ok(Some((key, line.position(0), colon + 1)));
            }
            Ok(None)
        }
        None | Some('[' | '{') => Ok(None),
        Some(_) => {
            for (offset, character) in text.char_indices() {
                if character == '#' && after_space(text, offset) {
                    return Ok(None);
                }
                if character == ':' && ends_indicator(text, offset + 1) {
                    let key = text[..offset].trim_end_matches([' ', '\t']);
                    if key.is_empty() {
                        return Err(line.error(offset, SyntaxProblem::EmptyKey));
                    }
                    check_plain_start(line, 0, false)?;
                    return Ok(Some((String::from(key), line.position(0), offset + 1)));
                }
            }
            Ok(None)
        }
    }
}

/// Reads the value that starts at or after `offset` and runs to the end of the line
/// (or a comment). Nothing there is a null node.
pub(crate) fn parse_inline_value(line: &Line<'_>, offset: usize, depth: usize) -> Result<Node, SyntaxError> {
    let text = line.text;
    let start = skip_spaces(text, offset);
    let position = line.position(start);
    let (node, end) = match text[start..].chars().next() {
        None | Some('#') => return Ok(Node { position, value: Value::Null }),
        Some('[') => flow_sequence(line, start, depth)?,
        Some('{') => empty_flow_mapping(line, start)?,
        Some('\'' | '"') => {
            let (scalar, end) = quoted(line, start)?;
            (Node { position, value: Value::Scalar(scalar) }, end)
        }
        Some(_) => plain_block_scalar(line, start)?,
    };
    let after = skip_spaces(text, end);
    let rest = &text[after..];
    if rest.is_empty() || (rest.starts_with('#') && after > end) {
        Ok(node)
    } else {
        Err(line.error(after, SyntaxProblem::TextAfterValue(excerpt(rest))))
    }
}

/// The first characters of `text`, for a message.
fn excerpt(text: &str) -> String {
    let mut excerpt: String = text.chars().take(QUOTED_TEXT).collect();
    if text.chars().nth(QUOTED_TEXT).is_some() {
        excerpt.push('…');
    }
    excerpt
}

/// Refuses the indicators that may not start a plain scalar, naming the feature they
/// would start. `in_flow` adds `,` and `]` to what ends an indicator.
fn check_plain_start(line: &Line<'_>, offset: usize, in_flow: bool) -> Result<(), SyntaxError> {
    let mut characters = line.text[offset..].chars();
    let Some(first) = characters.next() else { return Ok(()) };
    let second = characters.next();
    let ends = second.is_none_or(|second| is_space(second) || (in_flow && matches!(second, ',' | ']')));
    let problem = match first {
        '&' => SyntaxProblem::Anchor,
        '*' => SyntaxProblem::Alias,
        '!' => SyntaxProblem::Tag,
        '|' | '>' => SyntaxProblem::BlockScalar,
        '%' => SyntaxProblem::Directive,
        '@' | '`' => SyntaxProblem::ReservedIndicator(first),
        ']' | '}' | ',' | '#' => SyntaxProblem::UnexpectedIndicator(first),
        '?' if ends => SyntaxProblem::ComplexKey,
        '-' | ':' if ends => SyntaxProblem::UnexpectedIndicator(first),
        _ => return Ok(()),
    };
    Err(line.error(offset, problem))
}

/// A plain scalar's text as a value: `~` and `null` are null.
fn plain_value(text: &str) -> Value {
    match text {
        "~" | "null" | "Null" | "NULL" => Value::Null,
        _ => Value::Scalar(String::from(text)),
    }
}

/// Reads a plain scalar outside a flow collection: up to a comment or the end of the line.
fn plain_block_scalar(line: &Line<'_>, start: usize) -> Result<(Node, usize), SyntaxError> {
    check_plain_start(line, start, false)?;
    let text = line.text;
    let mut end = text.len();
    for (relative, character) in text[start..].char_indices() {
        let offset = start + relative;
        if character == '#' && after_space(text, offset) {
            end = offset;
            break;
        }
        if character == ':' && ends_indicator(text, offset + 1) {
            return Err(line.error(offset, SyntaxProblem::MappingInScalar));
        }
    }
    let scalar = text[start..end].trim_end_matches([' ', '\t']);
    Ok((Node { position: line.position(start), value: plain_value(scalar) }, start + scalar.len()))
}

/// Reads a plain scalar inside a flow sequence: up to `,`, `]` or a comment.
fn plain_flow_scalar(line: &Line<'_>, start: usize) -> Result<(Node, usize), SyntaxError> {
    check_plain_start(line, start, true)?;
    let text = line.text;
    let mut end = text.len();
    for (relative, character) in text[start..].char_indices() {
        let offset = start + relative;
        match character {
            ',' | ']' => {
                end = offset;
                break;
            }
            '#' if after_space(text, offset) => {
                end = offset;
                break;
            }
            '[' | '{' | '}' => return Err(line.error(offset, SyntaxProblem::UnexpectedIndicator(character))),
            ':' if ends_indicator(text, offset + 1) || text[offset + 1..].starts_with([',', ']']) => {
                return Err(line.error(offset, SyntaxProblem::MappingInScalar));
            }
            _ => {}
        }
    }
    let scalar = text[start..end].trim_end_matches([' ', '\t']);
    Ok((Node { position: line.position(start), value: plain_value(scalar) }, start + scalar.len()))
}

/// Reads a flow sequence that starts with the `[` at `start` and closes on the same line.
fn flow_sequence(line: &Line<'_>, start: usize, depth: usize) -> Result<(Node, usize), SyntaxError> {
    if depth >= MAXIMUM_DEPTH {
        return Err(line.error(start, SyntaxProblem::TooDeep));
    }
    let text = line.text;
    let unclosed = || line.error(start, SyntaxProblem::UnclosedFlowSequence);
    let mut items = Vec::new();
    let mut at = start + 1;
    loop {
        at = skip_spaces(text, at);
        let item_start = text[at..].chars().next();
        match item_start {
            None => return Err(unclosed()),
            Some('#') if after_space(text, at) => return Err(unclosed()),
            Some(']') => break,
            Some(',') => return Err(line.error(at, SyntaxProblem::EmptyFlowEntry)),
            Some(_) => {}
        }
        let (item, end) = match item_start {
            Some('[') => flow_sequence(line, at, depth + 1)?,
            Some('{') => empty_flow_mapping(line, at)?,
            Some('\'' | '"') => {
                let (scalar, end) = quoted(line, at)?;
                (Node { position: line.position(at), value: Value::Scalar(scalar) }, end)
            }
            _ => plain_flow_scalar(line, at)?,
        };
        items.push(item);
        at = skip_spaces(text, end);
        match text[at..].chars().next() {
            Some(',') => at += 1,
            Some(']') => break,
            None => return Err(unclosed()),
            Some('#') if after_space(text, at) => return Err(unclosed()),
            Some(_) => return Err(line.error(at, SyntaxProblem::TextAfterValue(excerpt(&text[at..])))),
        }
    }
    Ok((Node { position: line.position(start), value: Value::Sequence(items) }, at + 1))
}

/// Reads `{}` at `start`; any other flow mapping is refused.
fn empty_flow_mapping(line: &Line<'_>, start: usize) -> Result<(Node, usize), SyntaxError> {
    let close = skip_spaces(line.text, start + 1);
    if line.text[close..].starts_with('}') {
        Ok((Node { position: line.position(start), value: Value::Mapping(Vec::new()) }, close + 1))
    } else {
        Err(line.error(start, SyntaxProblem::FlowMapping))
    }
}

/// Reads the quoted scalar whose quote is at `start`: its text and the offset just
/// past the closing quote.
pub(crate) fn quoted(line: &Line<'_>, start: usize) -> Result<(String, usize), SyntaxError> {
    let text = line.text;
    let double = text[start..].starts_with('"');
    let quote = if double { '"' } else { '\'' };
    let mut scalar = String::new();
    let mut characters = text[start + 1..]
        .char_indices()
        .map(|(relative, character)| (start + 1 + relative, character))
        .peekable();
    while let Some((offset, character)) = characters.next() {
        match character {
            '\'' if !double => {
                if characters.next_if(|&(_, next)| next == '\'').is_none() {
                    return Ok((scalar, offset + 1));
                }
                scalar.push('\'');
            }
            '"' if double => return Ok((scalar, offset + 1)),
            '\\' if double => scalar.push(escape(line, offset, &mut characters)?),
            _ => scalar.push(character),
        }
    }
    Err(line.error(start, SyntaxProblem::UnclosedQuote(quote)))
}

/// Reads the escape whose `\` is at `offset` in a double-quoted scalar.
fn escape(
    line: &Line<'_>,
    offset: usize,
    characters: &mut impl Iterator<Item = (usize, char)>,
) -> Result<char, SyntaxError> {
    let mut written = String::from("\\");
    let bad = |written: String| line.error(offset, SyntaxProblem::BadEscape(written));
    let Some((_, letter)) = characters.next() else { return Err(bad(written)) };
    written.push(letter);
    let digits = match letter {
        'n' => return Ok('\n'),
        't' => return Ok('\t'),
        'r' => return Ok('\r'),
        '0' => return Ok('\0'),
        '\\' | '"' | '/' | ' ' => return Ok(letter),
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return Err(bad(written)),
    };
    let mut value: u32 = 0;
    for _ in 0..digits {
        let Some((_, digit)) = characters.next() else { return Err(bad(written)) };
        written.push(digit);
        let Some(digit) = digit.to_digit(16) else { return Err(bad(written)) };
        value = value << 4 | digit;
    }
    char::from_u32(value).ok_or_else(|| bad(written))
}
