//! Everything that can be wrong with a policy file, or with a deployment's set of them.
//!
//! One variant per check, so a test (or a caller) can tell exactly which rule a policy
//! broke. Every variant names the policy's file (the name the caller gave it), and the
//! line and column of the offending text where there is one (the checks across
//! policies, done on parsed policies, name the clause instead, such as
//! `publishes[0].to`). The messages, in `message.rs`, say what is wrong and how to fix
//! the policy.

use alloc::string::String;
use alloc::vec::Vec;

use crate::digest::Digest;
use crate::model::Audience;
use crate::size::SizeProblem;

/// Why a policy, or a deployment's set of policies, was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not in the YAML subset policies are written in.
    Syntax { file: String, line: usize, column: usize, problem: SyntaxProblem },
    /// A mapping has a field that does not belong there (`section` is `the policy` at
    /// the top, else the clause, such as `publishes[0]` or `limits`).
    UnknownField {
        file: String,
        line: usize,
        column: usize,
        section: String,
        field: String,
        allowed: &'static [&'static str],
    },
    /// A required field is missing (`line`, `column`: where its mapping starts).
    MissingField { file: String, line: usize, column: usize, section: String, field: &'static str },
    /// A field holds the wrong kind of value (`found` describes what it holds).
    WrongType {
        file: String,
        line: usize,
        column: usize,
        field: String,
        expected: &'static str,
        found: String,
    },
    /// A tenant name is empty, reserved (`public`, `private`) or has a character other
    /// than letters, digits, `-`, `_`, `.`.
    BadTenantName {
        file: String,
        line: usize,
        column: usize,
        field: String,
        name: String,
        problem: NameProblem,
    },
    /// An object name is not a plain file name.
    BadObjectName {
        file: String,
        line: usize,
        column: usize,
        field: String,
        name: String,
        problem: NameProblem,
    },
    /// A digest is not 64 hexadecimal digits.
    BadDigest { file: String, line: usize, column: usize, field: String, text: String },
    /// A memory limit is not a size.
    BadSize { file: String, line: usize, column: usize, field: String, text: String, problem: SizeProblem },
    /// A count (`limits.cvms`) is not a plain decimal number.
    BadCount { file: String, line: usize, column: usize, field: String, text: String, problem: SizeProblem },
    /// A list (`to`, `accepts.publishers`, `accepts.digests`) names the same thing twice.
    DuplicateEntry {
        file: String,
        line: usize,
        column: usize,
        field: String,
        value: String,
        first_line: usize,
        first_column: usize,
    },
    /// `to:` names the policy's own tenant.
    PublishesToItself { file: String, line: usize, column: usize, field: String, tenant: String },
    /// `to:` lists `public` or `private` together with something else.
    MixedAudience { file: String, line: usize, column: usize, field: String, keyword: &'static str },
    /// `accepts.publishers` names the policy's own tenant.
    AcceptsItself { file: String, line: usize, column: usize, field: String, tenant: String },
    /// One object name is published with two different digests.
    ConflictingDigests {
        file: String,
        line: usize,
        column: usize,
        object: String,
        first_index: usize,
        first_line: usize,
        second_index: usize,
        first_digest: Digest,
        second_digest: Digest,
    },
    /// One object (by name or digest) is published twice to different audiences.
    ConflictingAudiences {
        file: String,
        line: usize,
        column: usize,
        object: String,
        digest: Digest,
        first_index: usize,
        first_line: usize,
        second_index: usize,
        first_audience: Audience,
        second_audience: Audience,
    },
    /// One digest is published twice to the same audience (under the same or another name).
    DuplicatePublication {
        file: String,
        line: usize,
        column: usize,
        object: String,
        digest: Digest,
        first_index: usize,
        first_object: String,
        first_line: usize,
        second_index: usize,
    },
    /// `limits.memory_per_cvm` is larger than `limits.memory_total`.
    ContradictoryLimits { file: String, line: usize, column: usize, memory_per_cvm: u64, memory_total: u64 },
    /// A policy's `tenant:` is not the name the deployment gives it.
    TenantMismatch { file: String, declared: String, expected: String },
    /// The deployment gives two policies to one tenant.
    DuplicatePolicy { tenant: String, first_file: String, second_file: String },
    /// A policy names a tenant the deployment does not have (`field`: the clause).
    UnknownTenant { file: String, field: String, tenant: String, known: Vec<String> },
}

impl core::error::Error for PolicyError {}

/// What is wrong with the YAML at a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxProblem {
    /// A control character other than tab (the character).
    ControlCharacter(char),
    /// A tab where indentation is (YAML indents with spaces only).
    Tab,
    /// `---` after content, or `...`: one document per file.
    DocumentMarker,
    /// A `%` directive.
    Directive,
    /// An anchor (`&name`).
    Anchor,
    /// An alias (`*name`).
    Alias,
    /// A tag (`!name`, `!!str`).
    Tag,
    /// A block scalar (`|` or `>`).
    BlockScalar,
    /// `@` or a backquote, which YAML reserves.
    ReservedIndicator(char),
    /// An indicator where a value should start (`-`, `:`, `]`, `}`, `,`, `#`, `[`, `{`).
    UnexpectedIndicator(char),
    /// A complex key (`? key`).
    ComplexKey,
    /// `: value` with no key.
    EmptyKey,
    /// A flow mapping other than `{}`.
    FlowMapping,
    /// A quoted scalar does not close on its line (the quote).
    UnclosedQuote(char),
    /// A double-quoted scalar has an escape other than `\n \t \r \0 \\ \" \/ \xXX \uXXXX
    /// \UXXXXXXXX` (what was written).
    BadEscape(String),
    /// A flow sequence does not close on its line.
    UnclosedFlowSequence,
    /// A flow sequence has an empty entry (`[a,,b]`, `[,]`).
    EmptyFlowEntry,
    /// Something follows a complete value on its line (the text).
    TextAfterValue(String),
    /// A `key: value` inside a scalar or flow sequence (`a: b: c`, `[a: b]`).
    MappingInScalar,
    /// A line indented under a one-line value, which would continue it.
    MultiLineScalar,
    /// A line indented more than the collection it follows but less than its content
    /// (`expected`: the column that collection's entries start at).
    BadIndentation { expected: usize },
    /// A line in a mapping that is not `key: value`.
    ExpectedMappingEntry,
    /// A line after the document's top-level value ended (`document_line`: where it started).
    UnexpectedLine { document_line: usize },
    /// A key appears twice in one mapping.
    DuplicateKey { key: String, first_line: usize },
    /// Collections nest deeper than any policy needs.
    TooDeep,
}

/// What is wrong with a tenant or object name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// An object name is longer than 255 bytes.
    TooLong,
    /// A tenant name is `public` or `private`, which `to:` uses as keywords.
    Reserved,
    /// An object name is `.` or `..`.
    Dots,
    /// An object name has a `/`: it must be a file name, not a path.
    Slash,
    /// A character no name of this kind may have.
    BadCharacter(char),
}
