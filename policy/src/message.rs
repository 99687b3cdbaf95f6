//! The messages of [`PolicyError`] and [`SyntaxProblem`]: what is wrong, where, and how
//! to fix the policy.
//!
//! A location is `file:line:column` as compilers write it; checks across policies name
//! the file and the clause (`publishes[0].to[1]`). Digests are written in full.

use alloc::string::String;
use core::fmt;

use crate::digest::{digest_hex, digest_problem};
use crate::error::{NameProblem, PolicyError, SyntaxProblem};
use crate::size::format_size;
use crate::yaml::MAXIMUM_DEPTH;

/// What is wrong with a tenant name, in words (the deployment's checks use it too, so a
/// tenant name means the same everywhere).
pub fn explain_tenant_name_problem(problem: NameProblem) -> String {
    match problem {
        NameProblem::Empty => String::from("it is empty"),
        NameProblem::Reserved => {
            String::from("`public` and `private` are keywords of `to:`, not tenant names")
        }
        NameProblem::BadCharacter(character) => alloc::format!(
            "`{}` is not allowed: use letters, digits, `-`, `_` or `.`, as the deployment's tenant names",
            character.escape_debug()
        ),
        NameProblem::TooLong | NameProblem::Dots | NameProblem::Slash => {
            String::from("use letters, digits, `-`, `_` or `.`, as the deployment's tenant names")
        }
    }
}

/// What is wrong with an object name, in words.
fn object_name_problem(problem: NameProblem) -> String {
    match problem {
        NameProblem::Empty => String::from("it is empty"),
        NameProblem::TooLong => String::from("it is longer than 255 bytes"),
        NameProblem::Dots => String::from("`.` and `..` name directories"),
        NameProblem::Slash => String::from("it has a `/`"),
        NameProblem::BadCharacter(character) => {
            alloc::format!("it has the control character {:?}", character)
        }
        NameProblem::Reserved => String::from("the name is reserved"),
    }
}

/// How to give a missing field.
fn missing_field_advice(field: &str) -> &'static str {
    match field {
        "tenant" => "write `tenant: NAME` with the name the deployment gives this tenant",
        "object" => "name the published object's file, such as `object: libcounter.so`",
        "sha256" => {
            "give the SHA-256 of the object's file, the 64 hexadecimal digits `sha256sum FILE` prints"
        }
        "to" => "say whom it is published to: `to: [TENANT, ...]`, `to: public` or `to: private`",
        _ => "add it",
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { file, line, column, problem } => write!(formatter, "{file}:{line}:{column}: {problem}"),
            Self::UnknownField { file, line, column, section, field, allowed } => {
                write!(formatter, "{file}:{line}:{column}: unknown field `{field}` in {section}; the fields allowed there are ")?;
                for (index, allowed) in allowed.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(formatter, "{separator}`{allowed}`")?;
                }
                Ok(())
            }
            Self::MissingField { file, line, column, section, field } => write!(
                formatter,
                "{file}:{line}:{column}: {section} has no `{field}` field; {}",
                missing_field_advice(field)
            ),
            Self::WrongType { file, line, column, field, expected, found } => {
                write!(formatter, "{file}:{line}:{column}: {field} must be {expected}, but it is {found}")?;
                let text = found.strip_prefix("the text `").and_then(|text| text.strip_suffix('`'));
                match text {
                    _ if found == "empty" => formatter.write_str("; give it a value, or remove the line"),
                    Some(text) if expected.starts_with("a list of tenant names") || expected.starts_with("a list of SHA") => {
                        write!(formatter, "; write even a single entry as a list: `[{text}]`")
                    }
                    _ => Ok(()),
                }
            }
            Self::BadTenantName { file, line, column, field, name, problem } => write!(
                formatter,
                "{file}:{line}:{column}: {field}: `{name}` is not a tenant name: {}",
                explain_tenant_name_problem(*problem)
            ),
            Self::BadObjectName { file, line, column, field, name, problem } => write!(
                formatter,
                "{file}:{line}:{column}: {field}: `{}` is not an object name: {}; name the object by its file \
                 name alone, without a directory",
                name.escape_debug(),
                object_name_problem(*problem)
            ),
            Self::BadDigest { file, line, column, field, text } => write!(
                formatter,
                "{file}:{line}:{column}: {field}: `{text}` is not a SHA-256 digest: {}; write the 64 \
                 hexadecimal digits `sha256sum FILE` prints",
                digest_problem(text)
            ),
            Self::BadSize { file, line, column, field, text, problem } => write!(
                formatter,
                "{file}:{line}:{column}: {field}: `{text}` is not a size: {problem}; write a number of bytes \
                 such as 16777216, 0x1000000, 64K, 16M or 1G"
            ),
            Self::BadCount { file, line, column, field, text, problem } => write!(
                formatter,
                "{file}:{line}:{column}: {field}: `{text}` is not a count: {problem}; write a whole number \
                 of cVMs such as 4"
            ),
            Self::DuplicateEntry { file, line, column, field, value, first_line, first_column } => write!(
                formatter,
                "{file}:{line}:{column}: {field} lists `{value}` twice (first at {first_line}:{first_column}); \
                 list it once"
            ),
            Self::PublishesToItself { file, line, column, field, tenant } => write!(
                formatter,
                "{file}:{line}:{column}: {field} names `{tenant}`, the policy's own tenant; a tenant always \
                 uses its own objects, so list only other tenants"
            ),
            Self::MixedAudience { file, line, column, field, keyword } => write!(
                formatter,
                "{file}:{line}:{column}: {field} lists `{keyword}` together with other entries; `to:` is \
                 either `public`, `private`, or a list of tenant names"
            ),
            Self::AcceptsItself { file, line, column, field, tenant } => write!(
                formatter,
                "{file}:{line}:{column}: {field} names `{tenant}`, the policy's own tenant; list only the \
                 other tenants whose publications it accepts"
            ),
            Self::ConflictingDigests {
                file,
                line,
                column,
                object,
                first_index,
                first_line,
                second_index,
                first_digest,
                second_digest,
            } => write!(
                formatter,
                "{file}:{line}:{column}: publishes[{second_index}] publishes `{object}` with sha256 {}, but \
                 publishes[{first_index}] (line {first_line}) publishes it with sha256 {}; an object name has \
                 one digest: keep the entry whose digest is the file's",
                digest_hex(second_digest),
                digest_hex(first_digest)
            ),
            Self::ConflictingAudiences {
                file,
                line,
                column,
                object,
                digest,
                first_index,
                first_line,
                second_index,
                first_audience,
                second_audience,
            } => write!(
                formatter,
                "{file}:{line}:{column}: publishes[{second_index}] publishes `{object}` (sha256 {}) to \
                 {second_audience}, but publishes[{first_index}] (line {first_line}) publishes the same file \
                 to {first_audience}; an object has one audience: merge the two entries into one",
                digest_hex(digest)
            ),
            Self::DuplicatePublication {
                file,
                line,
                column,
                object,
                digest,
                first_index,
                first_object,
                first_line,
                second_index,
            } if first_object == object => write!(
                formatter,
                "{file}:{line}:{column}: publishes[{second_index}] repeats publishes[{first_index}] (line \
                 {first_line}): `{object}` with sha256 {} to the same tenants; list each object once",
                digest_hex(digest)
            ),
            Self::DuplicatePublication {
                file,
                line,
                column,
                object,
                digest,
                first_index,
                first_object,
                first_line,
                second_index,
            } => write!(
                formatter,
                "{file}:{line}:{column}: publishes[{second_index}] publishes `{object}` with sha256 {}, the \
                 same file publishes[{first_index}] (line {first_line}) publishes as `{first_object}`; sharing \
                 goes by digest, so one entry covers both names: remove one",
                digest_hex(digest)
            ),
            Self::ContradictoryLimits { file, line, column, memory_per_cvm, memory_total } => write!(
                formatter,
                "{file}:{line}:{column}: limits.memory_per_cvm ({}) is larger than limits.memory_total ({}): \
                 the largest cVM allowed would exceed the total; make memory_per_cvm at most memory_total",
                format_size(*memory_per_cvm),
                format_size(*memory_total)
            ),
            Self::TenantMismatch { file, declared, expected } => write!(
                formatter,
                "{file}: the policy says `tenant: {declared}`, but the deployment gives it to tenant \
                 `{expected}`; make `tenant:` say `{expected}`, or give the file to the right tenant in the \
                 deployment's `tenants:`"
            ),
            Self::DuplicatePolicy { tenant, first_file, second_file } => write!(
                formatter,
                "{second_file}: tenant `{tenant}` already has a policy, {first_file}; give each tenant one \
                 policy file"
            ),
            Self::UnknownTenant { file, field, tenant, known } => {
                write!(
                    formatter,
                    "{file}: {field} names tenant `{tenant}`, which the deployment does not have (its tenants: "
                )?;
                for (index, known) in known.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(formatter, "{separator}{known}")?;
                }
                formatter.write_str("); fix the name, or add a cVM of that tenant to the deployment")
            }
        }
    }
}

impl fmt::Display for SyntaxProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ControlCharacter(character) => write!(
                formatter,
                "control character {:?} (U+{:04X}); a policy is plain text",
                character,
                u32::from(*character)
            ),
            Self::Tab => formatter.write_str("a tab in the indentation; indent with spaces"),
            Self::DocumentMarker => formatter.write_str(
                "a document marker (`...`, or `---` after the first line); a policy file holds one document",
            ),
            Self::Directive => formatter.write_str("a directive (`%`) is not supported; remove it"),
            Self::Anchor => formatter.write_str("an anchor (`&`) is not supported; write the value out"),
            Self::Alias => formatter.write_str("an alias (`*`) is not supported; write the value out"),
            Self::Tag => formatter.write_str("a tag (`!`) is not supported; write the value plainly"),
            Self::BlockScalar => formatter.write_str(
                "a block scalar (`|` or `>`) is not supported; write the value on one line",
            ),
            Self::ReservedIndicator(character) => {
                write!(formatter, "`{character}` cannot start a plain value; quote the value")
            }
            Self::UnexpectedIndicator('-') => formatter.write_str(
                "`- ` starts a list item, which must begin its own line; quote the value if it is text",
            ),
            Self::UnexpectedIndicator(character) => {
                write!(formatter, "unexpected `{character}`; quote the value if it is text")
            }
            Self::ComplexKey => formatter.write_str("a complex key (`? `) is not supported; write `key: value`"),
            Self::EmptyKey => formatter.write_str("a `:` with no key before it"),
            Self::FlowMapping => formatter.write_str(
                "a flow mapping (`{...}`) is not supported, except the empty `{}`; write the fields as \
                 indented `key: value` lines",
            ),
            Self::UnclosedQuote(quote) => write!(
                formatter,
                "the {quote} quote is not closed on this line; a quoted value must fit on one line"
            ),
            Self::BadEscape(escape) if escape == "\\" => formatter.write_str(
                "a `\\` at the end of the line; a quoted value must fit on one line",
            ),
            Self::BadEscape(escape) => write!(
                formatter,
                "`{escape}` is not a supported escape; use \\n \\t \\r \\0 \\\\ \\\" \\/ \\xXX \\uXXXX or \
                 \\UXXXXXXXX"
            ),
            Self::UnclosedFlowSequence => formatter.write_str(
                "the `[` list is not closed on this line; a `[...]` list must fit on one line (or write one \
                 `- item` per line)",
            ),
            Self::EmptyFlowEntry => formatter.write_str("an empty entry in a `[...]` list (a `,` with nothing before it)"),
            Self::TextAfterValue(text) => write!(
                formatter,
                "unexpected `{text}` after the value; give one value per key, separate list items with `,`, and \
                 start comments with ` #`"
            ),
            Self::MappingInScalar => formatter.write_str(
                "`key: value` inside a value; nested fields go on their own indented lines, and text with \
                 `: ` must be quoted",
            ),
            Self::MultiLineScalar => formatter.write_str(
                "this line is indented under a one-line value; multi-line values are not supported",
            ),
            Self::BadIndentation { expected } => write!(
                formatter,
                "this line is indented to a column no block above it uses (the enclosing block's entries \
                 start at column {expected}); indent it exactly like the entries it belongs with"
            ),
            Self::ExpectedMappingEntry => {
                formatter.write_str("expected a `key: value` line here, like the lines above it")
            }
            Self::UnexpectedLine { document_line } => write!(
                formatter,
                "this line is outside the value that starts at line {document_line}; indent it under a key, \
                 or remove it"
            ),
            Self::DuplicateKey { key, first_line } => write!(
                formatter,
                "`{key}` appears twice in one mapping (first on line {first_line}); give each field once"
            ),
            Self::TooDeep => write!(formatter, "lists and mappings nest more than {MAXIMUM_DEPTH} deep"),
        }
    }
}
