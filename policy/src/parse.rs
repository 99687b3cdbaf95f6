//! From text to a checked [`Policy`]: the YAML tree (`yaml.rs`) is read field by field,
//! refusing unknown fields, missing ones and values of the wrong kind, then the rules
//! that contradict each other within one policy.
//!
//! Scalars are read as text whatever their quoting (`cvms: "4"` is 4); a plain `~` or
//! `null`, or nothing at all, is an empty value and refused where a value is needed.
//! Lists are flow (`[a, b]`) or block (`- a`) sequences alike.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::digest::{digest_hex, parse_digest, Digest};
use crate::error::PolicyError;
use crate::model::{Acceptance, Audience, Consumption, Limits, Policy, Publication, RunTimeSharing};
use crate::names::{object_name_problem, tenant_name_problem};
use crate::note::Note;
use crate::size::{parse_count, parse_size};
use crate::yaml::{parse_document, Entry, Node, Position, Value};

const POLICY_FIELDS: &[&str] = &["tenant", "publishes", "accepts", "limits", "run_time_sharing"];
const RUN_TIME_SHARING_FIELDS: &[&str] = &["after_ms"];
const PUBLICATION_FIELDS: &[&str] = &["object", "sha256", "to"];
const ACCEPTS_FIELDS: &[&str] = &["publishers", "digests"];
const LIMITS_FIELDS: &[&str] = &[
    "cvms",
    "memory_per_cvm",
    "memory_total",
    "cls_bytes_per_cvm",
    "cpu_seconds_per_cvm",
    "wall_seconds_per_cvm",
    "console_bytes_per_cvm",
    "output_bytes_per_cvm",
    "open_files_per_cvm",
    "threads_per_cvm",
];

/// Parses and checks the policy in `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
    parse_with_notes(text, file).map(|(policy, _)| policy)
}

/// Parses and checks the policy in `text`, with what is worth telling its author about
/// it (see [`Note`]).
pub fn parse_with_notes(text: &str, file: &str) -> Result<(Policy, Vec<Note>), PolicyError> {
    let root = parse_document(text).map_err(|error| PolicyError::Syntax {
        file: file.to_string(),
        line: error.position.line,
        column: error.position.column,
        problem: error.problem,
    })?;
    Reader { file }.policy(&root)
}

/// Describes what a node holds, for "found" in messages.
fn found(node: &Node) -> String {
    match &node.value {
        Value::Null => String::from("empty"),
        Value::Scalar(text) => format!("the text `{text}`"),
        Value::Sequence(_) => String::from("a list"),
        Value::Mapping(_) => String::from("a mapping"),
    }
}

/// The value of `key` in a mapping, if it is there.
fn value_of<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    entries.iter().find(|entry| entry.key == key).map(|entry| &entry.value)
}

/// A name or digest already seen in a list, to refuse a second one.
struct Seen<T> {
    entries: Vec<(T, Position)>,
}

impl<T: PartialEq> Seen<T> {
    fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// Where `value` was first seen, or `None` (and it is remembered).
    fn first(&mut self, value: T, position: Position) -> Option<Position> {
        if let Some((_, first)) = self.entries.iter().find(|(seen, _)| *seen == value) {
            return Some(*first);
        }
        self.entries.push((value, position));
        None
    }
}

struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn policy(&self, root: &Node) -> Result<(Policy, Vec<Note>), PolicyError> {
        if root.value == Value::Null {
            let (line, column) = (root.position.line, root.position.column);
            let section = String::from("the policy");
            return Err(PolicyError::MissingField {
                file: self.file.to_string(),
                line,
                column,
                section,
                field: "tenant",
            });
        }
        let entries = self.mapping(root, "the policy", POLICY_FIELDS)?;
        let tenant_node = self.required(root, entries, "the policy", "tenant")?;
        let tenant = self.tenant_name(tenant_node, "tenant")?;
        let publishes = match value_of(entries, "publishes") {
            Some(node) => self.publications(node, &tenant)?,
            None => Vec::new(),
        };
        let accepts = match value_of(entries, "accepts") {
            Some(node) => self.acceptance(node, &tenant)?,
            None => Acceptance::default(),
        };
        let mut notes = Vec::new();
        let limits = match value_of(entries, "limits") {
            Some(node) => self.limits(node, &tenant, &mut notes)?,
            None => Limits::default(),
        };
        let run_time_sharing = match value_of(entries, "run_time_sharing") {
            Some(node) => Some(self.run_time_sharing(node)?),
            None => None,
        };
        Ok((Policy { tenant, publishes, accepts, limits, run_time_sharing }, notes))
    }

    fn run_time_sharing(&self, node: &Node) -> Result<RunTimeSharing, PolicyError> {
        let mut sharing = RunTimeSharing::default();
        if node.value == Value::Null {
            return Ok(sharing);
        }
        let entries = self.mapping(node, "run_time_sharing", RUN_TIME_SHARING_FIELDS)?;
        if let Some(node) = value_of(entries, "after_ms") {
            let field = "run_time_sharing.after_ms";
            let text = self.scalar(node, field, "a number of milliseconds")?;
            sharing.after_milliseconds = parse_count(text).map_err(|problem| PolicyError::BadCount {
                file: self.file.to_string(),
                line: node.position.line,
                column: node.position.column,
                field: field.to_string(),
                text: text.to_string(),
                problem,
            })?;
        }
        Ok(sharing)
    }

    fn wrong_type(&self, node: &Node, field: &str, expected: &'static str) -> PolicyError {
        PolicyError::WrongType {
            file: self.file.to_string(),
            line: node.position.line,
            column: node.position.column,
            field: field.to_string(),
            expected,
            found: found(node),
        }
    }

    /// The entries of a mapping whose keys are all in `allowed`.
    fn mapping<'n>(
        &self,
        node: &'n Node,
        section: &str,
        allowed: &'static [&'static str],
    ) -> Result<&'n [Entry], PolicyError> {
        let Value::Mapping(entries) = &node.value else {
            return Err(self.wrong_type(node, section, "a mapping of fields (`name: value` lines)"));
        };
        if let Some(entry) = entries.iter().find(|entry| !allowed.contains(&entry.key.as_str())) {
            return Err(PolicyError::UnknownField {
                file: self.file.to_string(),
                line: entry.key_position.line,
                column: entry.key_position.column,
                section: section.to_string(),
                field: entry.key.clone(),
                allowed,
            });
        }
        Ok(entries)
    }

    /// The value of a field its mapping (at `mapping`) must have.
    fn required<'n>(
        &self,
        mapping: &Node,
        entries: &'n [Entry],
        section: &str,
        key: &'static str,
    ) -> Result<&'n Node, PolicyError> {
        value_of(entries, key).ok_or_else(|| PolicyError::MissingField {
            file: self.file.to_string(),
            line: mapping.position.line,
            column: mapping.position.column,
            section: section.to_string(),
            field: key,
        })
    }

    fn scalar<'n>(
        &self,
        node: &'n Node,
        field: &str,
        expected: &'static str,
    ) -> Result<&'n str, PolicyError> {
        match &node.value {
            Value::Scalar(text) => Ok(text),
            _ => Err(self.wrong_type(node, field, expected)),
        }
    }

    fn sequence<'n>(
        &self,
        node: &'n Node,
        field: &str,
        expected: &'static str,
    ) -> Result<&'n [Node], PolicyError> {
        match &node.value {
            Value::Sequence(items) => Ok(items),
            _ => Err(self.wrong_type(node, field, expected)),
        }
    }

    fn tenant_name(&self, node: &Node, field: &str) -> Result<String, PolicyError> {
        let name = self.scalar(node, field, "a tenant name")?;
        match tenant_name_problem(name) {
            None => Ok(name.to_string()),
            Some(problem) => Err(PolicyError::BadTenantName {
                file: self.file.to_string(),
                line: node.position.line,
                column: node.position.column,
                field: field.to_string(),
                name: name.to_string(),
                problem,
            }),
        }
    }

    fn digest(&self, node: &Node, field: &str) -> Result<Digest, PolicyError> {
        let text = self.scalar(node, field, "a SHA-256 digest (64 hexadecimal digits)")?;
        parse_digest(text).ok_or_else(|| PolicyError::BadDigest {
            file: self.file.to_string(),
            line: node.position.line,
            column: node.position.column,
            field: field.to_string(),
            text: text.to_string(),
        })
    }

    fn duplicate(&self, node: &Node, field: &str, value: String, first: Position) -> PolicyError {
        PolicyError::DuplicateEntry {
            file: self.file.to_string(),
            line: node.position.line,
            column: node.position.column,
            field: field.to_string(),
            value,
            first_line: first.line,
            first_column: first.column,
        }
    }

    fn publications(&self, node: &Node, tenant: &str) -> Result<Vec<Publication>, PolicyError> {
        let items = self.sequence(node, "publishes", "a list of publications (`- object: ...` entries)")?;
        let mut publications: Vec<(Publication, Position)> = Vec::with_capacity(items.len());
        let mut earliest = Earliest::default();
        for (index, item) in items.iter().enumerate() {
            let section = format!("publishes[{index}]");
            let entries = self.mapping(item, &section, PUBLICATION_FIELDS)?;
            let object_node = self.required(item, entries, &section, "object")?;
            let object_field = format!("{section}.object");
            let object = self.scalar(object_node, &object_field, "an object's file name")?;
            if let Some(problem) = object_name_problem(object) {
                return Err(PolicyError::BadObjectName {
                    file: self.file.to_string(),
                    line: object_node.position.line,
                    column: object_node.position.column,
                    field: object_field,
                    name: object.to_string(),
                    problem,
                });
            }
            let digest_node = self.required(item, entries, &section, "sha256")?;
            let sha256 = self.digest(digest_node, &format!("{section}.sha256"))?;
            let audience_node = self.required(item, entries, &section, "to")?;
            let to = self.audience(audience_node, &format!("{section}.to"), tenant)?;
            let publication = Publication { object: object.to_string(), sha256, to };
            self.check_against_earlier(&publication, index, item.position, &publications, &earliest)?;
            earliest.by_object.entry(publication.object.clone()).or_insert(index);
            earliest.by_digest.entry(publication.sha256).or_insert(index);
            publications.push((publication, item.position));
        }
        Ok(publications.into_iter().map(|(publication, _)| publication).collect())
    }

    /// Refuses a publication that repeats or contradicts an earlier one: one object
    /// name has one digest, and one digest is published once, to one audience. The
    /// earlier one named is the first that does, found through `earliest` (so a policy
    /// of n publications is checked in O(n log n)).
    fn check_against_earlier(
        &self,
        publication: &Publication,
        index: usize,
        position: Position,
        earlier: &[(Publication, Position)],
        earliest: &Earliest,
    ) -> Result<(), PolicyError> {
        let (file, line, column) = (self.file.to_string(), position.line, position.column);
        // Every earlier publication of one object has one digest (or it was refused),
        // so the first of the object is the first with another digest, if any is.
        let other_digest = earliest
            .by_object
            .get(&publication.object)
            .copied()
            .filter(|&first| earlier[first].0.sha256 != publication.sha256);
        let same_digest = earliest.by_digest.get(&publication.sha256).copied();
        let first = match (other_digest, same_digest) {
            (Some(one), Some(other)) => Some(one.min(other)),
            (one, other) => one.or(other),
        };
        if let Some(first_index) = first {
            let (first, first_position) = &earlier[first_index];
            let first_line = first_position.line;
            if first.object == publication.object && first.sha256 != publication.sha256 {
                return Err(PolicyError::ConflictingDigests {
                    file,
                    line,
                    column,
                    object: publication.object.clone(),
                    first_index,
                    first_line,
                    second_index: index,
                    first_digest: first.sha256,
                    second_digest: publication.sha256,
                });
            }
            if !first.to.same_as(&publication.to) {
                return Err(PolicyError::ConflictingAudiences {
                    file,
                    line,
                    column,
                    object: publication.object.clone(),
                    digest: publication.sha256,
                    first_index,
                    first_line,
                    second_index: index,
                    first_audience: first.to.clone(),
                    second_audience: publication.to.clone(),
                });
            }
            return Err(PolicyError::DuplicatePublication {
                file,
                line,
                column,
                object: publication.object.clone(),
                digest: publication.sha256,
                first_index,
                first_object: first.object.clone(),
                first_line,
                second_index: index,
            });
        }
        Ok(())
    }

    /// `to:`: `public`, `private`, or a list of other tenants' names (where `[public]`
    /// and `[private]` are the keywords and `[]` is private).
    fn audience(&self, node: &Node, field: &str, tenant: &str) -> Result<Audience, PolicyError> {
        const EXPECTED: &str = "a list of tenant names, `public` or `private`";
        let items = match &node.value {
            Value::Scalar(text) if text == "public" => return Ok(Audience::Public),
            Value::Scalar(text) if text == "private" => return Ok(Audience::Private),
            Value::Sequence(items) => items,
            _ => return Err(self.wrong_type(node, field, EXPECTED)),
        };
        let mut names = Vec::with_capacity(items.len());
        let mut seen = Seen::new();
        for (index, item) in items.iter().enumerate() {
            let item_field = format!("{field}[{index}]");
            let name = self.scalar(item, &item_field, "a tenant name, `public` or `private`")?;
            let keyword = match name {
                "public" => Some(("public", Audience::Public)),
                "private" => Some(("private", Audience::Private)),
                _ => None,
            };
            if let Some((keyword, audience)) = keyword {
                if items.len() == 1 {
                    return Ok(audience);
                }
                let (line, column) = (item.position.line, item.position.column);
                let (file, field) = (self.file.to_string(), field.to_string());
                return Err(PolicyError::MixedAudience { file, line, column, field, keyword });
            }
            let name = self.tenant_name(item, &item_field)?;
            if name == tenant {
                let (line, column) = (item.position.line, item.position.column);
                let (file, field) = (self.file.to_string(), item_field);
                return Err(PolicyError::PublishesToItself { file, line, column, field, tenant: name });
            }
            if let Some(first) = seen.first(name.clone(), item.position) {
                return Err(self.duplicate(item, field, name, first));
            }
            names.push(name);
        }
        Ok(if names.is_empty() { Audience::Private } else { Audience::Tenants(names) })
    }

    fn acceptance(&self, node: &Node, tenant: &str) -> Result<Acceptance, PolicyError> {
        let entries = self.mapping(node, "accepts", ACCEPTS_FIELDS)?;
        let mut acceptance = Acceptance::default();
        if let Some(list) = value_of(entries, "publishers") {
            let items = self.sequence(list, "accepts.publishers", "a list of tenant names")?;
            let mut seen = Seen::new();
            for (index, item) in items.iter().enumerate() {
                let item_field = format!("accepts.publishers[{index}]");
                let name = self.tenant_name(item, &item_field)?;
                if name == tenant {
                    let (line, column) = (item.position.line, item.position.column);
                    let (file, field) = (self.file.to_string(), item_field);
                    return Err(PolicyError::AcceptsItself { file, line, column, field, tenant: name });
                }
                if let Some(first) = seen.first(name.clone(), item.position) {
                    return Err(self.duplicate(item, "accepts.publishers", name, first));
                }
                acceptance.publishers.push(name);
            }
        }
        if let Some(list) = value_of(entries, "digests") {
            let items = self.sequence(list, "accepts.digests", "a list of SHA-256 digests")?;
            let mut seen = Seen::new();
            for (index, item) in items.iter().enumerate() {
                let digest = self.digest(item, &format!("accepts.digests[{index}]"))?;
                if let Some(first) = seen.first(digest, item.position) {
                    return Err(self.duplicate(item, "accepts.digests", digest_hex(&digest), first));
                }
                acceptance.digests.push(digest);
            }
        }
        Ok(acceptance)
    }

    fn limits(&self, node: &Node, tenant: &str, notes: &mut Vec<Note>) -> Result<Limits, PolicyError> {
        let entries = self.mapping(node, "limits", LIMITS_FIELDS)?;
        let mut limits = Limits::default();
        let mut per_cvm_position = None;
        for entry in entries {
            let field = format!("limits.{}", entry.key);
            let node = &entry.value;
            let (line, column) = (node.position.line, node.position.column);
            let file = self.file.to_string();
            let consumption =
                Consumption::ALL.into_iter().find(|consumption| consumption.limit_field() == field);
            let counted = match consumption {
                Some(consumption) => !consumption.is_bytes(),
                None => entry.key == "cvms",
            };
            let value = if counted {
                let text = self.scalar(node, &field, "a whole number")?;
                parse_count(text).map_err(|problem| {
                    let text = text.to_string();
                    PolicyError::BadCount {
                        file: file.clone(),
                        line,
                        column,
                        field: field.clone(),
                        text,
                        problem,
                    }
                })?
            } else {
                let text = self.scalar(node, &field, "a size such as 16M, 64K, 1G or 0x1000000")?;
                parse_size(text).map_err(|problem| {
                    let text = text.to_string();
                    PolicyError::BadSize {
                        file: file.clone(),
                        line,
                        column,
                        field: field.clone(),
                        text,
                        problem,
                    }
                })?
            };
            let (slot, zero_field) = match (entry.key.as_str(), consumption) {
                // A deployment may grant no console or output bytes, but never no time,
                // no open file or no thread.
                (_, Some(consumption)) => (
                    &mut limits.per_cvm[consumption as usize],
                    (!consumption.is_bytes()).then(|| consumption.limit_field()),
                ),
                ("cvms", _) => (&mut limits.cvms, Some("limits.cvms")),
                ("memory_per_cvm", _) => {
                    per_cvm_position = Some(node.position);
                    (&mut limits.memory_per_cvm, Some("limits.memory_per_cvm"))
                }
                ("memory_total", _) => (&mut limits.memory_total, Some("limits.memory_total")),
                _ => (&mut limits.cls_bytes_per_cvm, None),
            };
            *slot = Some(value);
            if let (0, Some(field)) = (value, zero_field) {
                notes.push(Note::ZeroLimit { file, line, column, tenant: tenant.to_string(), field });
            }
        }
        if let (Some(memory_per_cvm), Some(memory_total), Some(position)) =
            (limits.memory_per_cvm, limits.memory_total, per_cvm_position)
        {
            if memory_per_cvm > memory_total {
                return Err(PolicyError::ContradictoryLimits {
                    file: self.file.to_string(),
                    line: position.line,
                    column: position.column,
                    memory_per_cvm,
                    memory_total,
                });
            }
        }
        Ok(limits)
    }
}

/// The first publication of each object name and of each digest so far.
#[derive(Debug, Default)]
struct Earliest {
    by_object: BTreeMap<String, usize>,
    by_digest: BTreeMap<Digest, usize>,
}
