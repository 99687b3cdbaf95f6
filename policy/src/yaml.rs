//! The YAML subset policies are written in, read into a small tree with positions.
//!
//! Supported: block mappings (`key: value`), block sequences (`- item`), flow sequences
//! on one line (`[a, b]`), the empty flow mapping `{}`, plain, single-quoted and
//! double-quoted scalars on one line, `#` comments, blank lines, and one `---` before
//! the first line of content. Plain `~`, `null`, `Null` and `NULL` are null. Everything
//! else YAML has (anchors, aliases, tags, directives, block scalars, multi-line
//! scalars, multi-line flow collections, complex keys, non-empty flow mappings, more
//! than one document) is refused with a [`SyntaxProblem`] and the line and column where
//! it starts, so a policy never means something other than what its reader thinks.
//!
//! This file reads the block structure, line by line; `scalar.rs` reads what is inside
//! one line. Lines are split on `\n` (a `\r` before it is dropped); columns count
//! characters from 1.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::SyntaxProblem;
use crate::scalar::{is_blank_or_comment, parse_inline_value, split_key};

/// How deeply collections may nest: four times what a policy needs (the policy, its
/// `publishes`, a publication, its `to`), little enough for a small stack.
pub(crate) const MAXIMUM_DEPTH: usize = 16;

/// A place in the text: line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    pub column: usize,
}

/// A value with the position of its first character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub position: Position,
    pub value: Value,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// Nothing: an empty value, or a plain `~`/`null`.
    Null,
    /// A scalar's text, quotes and escapes resolved.
    Scalar(String),
    Sequence(Vec<Node>),
    /// Entries in the order written; keys are unique.
    Mapping(Vec<Entry>),
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_position: Position,
    pub value: Node,
}

/// A syntax error and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub position: Position,
    pub problem: SyntaxProblem,
}

impl SyntaxError {
    pub(crate) fn new(line: usize, column: usize, problem: SyntaxProblem) -> Self {
        Self { position: Position { line, column }, problem }
    }
}

/// One line with content: its number, the column of its first character minus one,
/// and its text from that character on (comments not yet removed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub number: usize,
    pub indent: usize,
    pub text: &'a str,
}

impl Line<'_> {
    /// The position of the character at byte `offset` of the text.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let before = self.text.get(..offset).map_or(0, |before| before.chars().count());
        Position { line: self.number, column: self.indent + before + 1 }
    }

    /// An error at byte `offset` of the text.
    pub(crate) fn error(&self, offset: usize, problem: SyntaxProblem) -> SyntaxError {
        SyntaxError { position: self.position(offset), problem }
    }
}

/// Reads a whole document into a tree; an empty document is a null node at 1:1.
pub(crate) fn parse_document(text: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser { lines: content_lines(text)?, next: 0 };
    let Some(&first) = parser.lines.first() else {
        return Ok(Node { position: Position { line: 1, column: 1 }, value: Value::Null });
    };
    let root = parser.block_node(first, 0, None)?;
    if let Some(line) = parser.peek() {
        let problem = SyntaxProblem::UnexpectedLine { document_line: first.number };
        return Err(line.error(0, problem));
    }
    Ok(root)
}

/// Splits the text into lines with content, refusing tabs in indentation, control
/// characters and document markers other than one leading `---`.
fn content_lines(text: &str) -> Result<Vec<Line<'_>>, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((offset, character)) =
            raw.char_indices().find(|&(_, character)| character.is_control() && character != '\t')
        {
            let column = raw[..offset].chars().count() + 1;
            return Err(SyntaxError::new(number, column, SyntaxProblem::ControlCharacter(character)));
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let text = &raw[indent..];
        if is_blank_or_comment(text) {
            continue;
        }
        if text.starts_with('\t') {
            return Err(SyntaxError::new(number, indent + 1, SyntaxProblem::Tab));
        }
        if indent == 0 && (is_marker(text, "---") || is_marker(text, "...")) {
            let leading = lines.is_empty() && text.starts_with("---") && is_blank_or_comment(&text[3..]);
            if leading {
                continue;
            }
            return Err(SyntaxError::new(number, 1, SyntaxProblem::DocumentMarker));
        }
        lines.push(Line { number, indent, text });
    }
    Ok(lines)
}

/// True when `text` starts with the document marker `marker` on its own.
fn is_marker(text: &str, marker: &str) -> bool {
    text.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// True when a line's text starts a block sequence item: `-` then a space or nothing.
fn is_sequence_item(text: &str) -> bool {
    text.strip_prefix('-').is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    /// The index of the first line not yet read.
    next: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.next).copied()
    }

    /// Reads the node that starts at `line`, the next line, at its indentation. A
    /// scalar or flow value there must fit on its line: a following line indented more
    /// than `parent` (the indentation of the collection it is in) would continue it.
    fn block_node(
        &mut self,
        line: Line<'a>,
        depth: usize,
        parent: Option<usize>,
    ) -> Result<Node, SyntaxError> {
        if depth >= MAXIMUM_DEPTH {
            return Err(line.error(0, SyntaxProblem::TooDeep));
        }
        if is_sequence_item(line.text) {
            return self.sequence(line.indent, depth);
        }
        if split_key(&line)?.is_some() {
            return self.mapping(line.indent, depth);
        }
        let node = parse_inline_value(&line, 0, depth)?;
        self.next += 1;
        self.refuse_continuation(parent)?;
        Ok(node)
    }

    /// Refuses a next line indented more than `parent`: it would continue a one-line value.
    fn refuse_continuation(&self, parent: Option<usize>) -> Result<(), SyntaxError> {
        match (self.peek(), parent) {
            (Some(line), Some(parent)) if line.indent > parent => {
                Err(line.error(0, SyntaxProblem::MultiLineScalar))
            }
            _ => Ok(()),
        }
    }

    /// Reads the `- item` lines at indentation `indent`.
    fn sequence(&mut self, indent: usize, depth: usize) -> Result<Node, SyntaxError> {
        let mut items = Vec::new();
        let mut position = None;
        while let Some(line) = self.peek().filter(|line| line.indent == indent && is_sequence_item(line.text))
        {
            let dash = line.position(0);
            position.get_or_insert(dash);
            let after_dash = &line.text[1..];
            let rest = after_dash.trim_start_matches(' ');
            if rest.starts_with('\t') {
                return Err(line.error(line.text.len() - rest.len(), SyntaxProblem::Tab));
            }
            let item = if is_blank_or_comment(rest) {
                self.next += 1;
                match self.peek() {
                    Some(next) if next.indent > indent => self.block_node(next, depth + 1, Some(indent))?,
                    _ => Node { position: dash, value: Value::Null },
                }
            } else {
                // The item's content is read as if it were a line of its own, starting
                // where it starts, so that `- key: value` opens a mapping there.
                let column = indent + 1 + (after_dash.len() - rest.len());
                let item = Line { number: line.number, indent: column, text: rest };
                self.lines[self.next] = item;
                self.block_node(item, depth + 1, Some(indent))?
            };
            items.push(item);
        }
        self.refuse_misindented(indent)?;
        let position = position.unwrap_or(Position { line: 1, column: indent + 1 });
        Ok(Node { position, value: Value::Sequence(items) })
    }

    /// Reads the `key: value` lines at indentation `indent`.
    fn mapping(&mut self, indent: usize, depth: usize) -> Result<Node, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        while let Some(line) = self.peek().filter(|line| line.indent == indent) {
            let key = if is_sequence_item(line.text) { None } else { split_key(&line)? };
            let Some((key, key_position, value_offset)) = key else {
                return Err(line.error(0, SyntaxProblem::ExpectedMappingEntry));
            };
            if let Some(first) = entries.iter().find(|entry| entry.key == key) {
                let problem = SyntaxProblem::DuplicateKey { key, first_line: first.key_position.line };
                return Err(SyntaxError { position: key_position, problem });
            }
            let value = if is_blank_or_comment(&line.text[value_offset..]) {
                self.next += 1;
                match self.peek() {
                    Some(next) if next.indent > indent => self.block_node(next, depth + 1, Some(indent))?,
                    Some(next) if next.indent == indent && is_sequence_item(next.text) => {
                        if depth + 1 >= MAXIMUM_DEPTH {
                            return Err(next.error(0, SyntaxProblem::TooDeep));
                        }
                        self.sequence(indent, depth + 1)?
                    }
                    _ => Node { position: key_position, value: Value::Null },
                }
            } else {
                let value = parse_inline_value(&line, value_offset, depth + 1)?;
                self.next += 1;
                self.refuse_continuation(Some(indent))?;
                value
            };
            entries.push(Entry { key, key_position, value });
        }
        self.refuse_misindented(indent)?;
        let position =
            entries.first().map_or(Position { line: 1, column: indent + 1 }, |entry| entry.key_position);
        Ok(Node { position, value: Value::Mapping(entries) })
    }

    /// After a collection at `indent` ends, refuses a next line indented more than it:
    /// that line belongs to no collection.
    fn refuse_misindented(&self, indent: usize) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(line) if line.indent > indent => {
                Err(line.error(0, SyntaxProblem::BadIndentation { expected: indent + 1 }))
            }
            _ => Ok(()),
        }
    }
}
