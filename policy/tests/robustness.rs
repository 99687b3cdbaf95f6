//! `parse` never panics: thousands of mutated policies (a deterministic xorshift, so a
//! failure reproduces) each give a policy or an error that names the file and a place
//! inside the text, and what parses can be decided on without panicking either.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use policy::{parse, parse_with_notes, Grants, PolicyError, PolicySet, Usage};

const SEEDS: &[&str] = &[
    "tenant: alpha\n\
     publishes:\n\
     \x20 - object: libcounter.so\n\
     \x20   sha256: 3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a\n\
     \x20   to: [beta, gamma]\n\
     \x20 - object: 'lib''s.so'\n\
     \x20   sha256: \"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\"\n\
     \x20   to: public   # everyone\n\
     accepts:\n\
     \x20 publishers: [beta]\n\
     \x20 digests:\n\
     \x20 - cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n\
     limits:\n\
     \x20 cvms: 4\n\
     \x20 memory_per_cvm: 16M\n\
     \x20 memory_total: 0x4000000\n\
     \x20 cls_bytes_per_cvm: 64K\n",
    "---\n\"tenant\": alpha\npublishes: []\naccepts: {}\nlimits: { }\n",
    "tenant: alpha\npublishes:\n- object: \"a\\x41\\u00e9.so\"\n  sha256: dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n  to:\n  - private\n",
];

/// Characters that mean something to YAML, or to the parser's arithmetic.
const ALPHABET: &[char] = &[
    ' ', ' ', ' ', '\n', '\n', '\t', '\r', ':', '-', '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>',
    '\'', '"', '%', '@', '`', '?', '\\', 'x', 'u', '0', '9', 'a', 'f', 'M', 'é', '\u{0}', '\u{feff}', '~',
    '.', '/',
];

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// One random edit of `text`: replace, insert or delete a character, duplicate or drop
/// a line, cut the text short, or indent a line differently.
fn mutate(text: &str, random: &mut XorShift) -> String {
    let mut characters: Vec<char> = text.chars().collect();
    let at = random.below(characters.len() + 1);
    let any = ALPHABET[random.below(ALPHABET.len())];
    match random.below(8) {
        0 if at < characters.len() => characters[at] = any,
        1 => characters.insert(at, any),
        2 if at < characters.len() => {
            characters.remove(at);
        }
        3 => characters.truncate(at),
        4 | 5 => {
            let mut lines: Vec<String> =
                characters.iter().collect::<String>().split('\n').map(String::from).collect();
            let line = random.below(lines.len());
            match random.below(3) {
                0 => lines.insert(line, lines[line].clone()),
                1 => {
                    lines.remove(line);
                }
                _ => lines[line] = format!("{}{}", " ".repeat(random.below(5)), lines[line].trim_start()),
            }
            return lines.join("\n");
        }
        _ => {
            let run: String = std::iter::repeat_n(any, random.below(40) + 1).collect();
            characters.splice(at..at, run.chars());
        }
    }
    characters.into_iter().collect()
}

/// The line and column an error names, if it names one.
fn place(error: &PolicyError) -> Option<(usize, usize)> {
    match *error {
        PolicyError::Syntax { line, column, .. }
        | PolicyError::UnknownField { line, column, .. }
        | PolicyError::MissingField { line, column, .. }
        | PolicyError::WrongType { line, column, .. }
        | PolicyError::BadTenantName { line, column, .. }
        | PolicyError::BadObjectName { line, column, .. }
        | PolicyError::BadDigest { line, column, .. }
        | PolicyError::BadSize { line, column, .. }
        | PolicyError::BadCount { line, column, .. }
        | PolicyError::DuplicateEntry { line, column, .. }
        | PolicyError::PublishesToItself { line, column, .. }
        | PolicyError::MixedAudience { line, column, .. }
        | PolicyError::AcceptsItself { line, column, .. }
        | PolicyError::ConflictingDigests { line, column, .. }
        | PolicyError::ConflictingAudiences { line, column, .. }
        | PolicyError::DuplicatePublication { line, column, .. }
        | PolicyError::ContradictoryLimits { line, column, .. } => Some((line, column)),
        _ => None,
    }
}

/// The error's variant, and the syntax problem's for a syntax error.
fn kind(error: &PolicyError) -> String {
    let debug = format!("{error:?}");
    let variant = debug.split([' ', '{', '(']).next().unwrap_or_default().to_string();
    match error {
        PolicyError::Syntax { problem, .. } => {
            format!("{variant}::{}", format!("{problem:?}").split([' ', '{', '(']).next().unwrap_or_default())
        }
        _ => variant,
    }
}

/// Parses `text` and checks what comes out; a panic fails with the text that caused it.
fn check(text: &str, kinds: &mut BTreeSet<String>) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let parsed = parse_with_notes(text, "fuzz.yaml");
        assert_eq!(
            parse(text, "fuzz.yaml"),
            parsed.clone().map(|(policy, _)| policy),
            "parsing is deterministic"
        );
        match parsed {
            Err(error) => {
                let message = error.to_string();
                kinds.insert(kind(&error));
                assert!(message.starts_with("fuzz.yaml"), "{message}");
                if let Some((line, column)) = place(&error) {
                    let lines: Vec<&str> = text.split('\n').collect();
                    assert!(
                        line >= 1 && line <= lines.len().max(1),
                        "line {line} of {}: {message}",
                        lines.len()
                    );
                    let width = lines.get(line - 1).map_or(0, |line| line.chars().count());
                    assert!(column >= 1 && column <= width + 1, "column {column} of {width}: {message}");
                    assert!(message.starts_with(&format!("fuzz.yaml:{line}:{column}: ")), "{message}");
                }
                false
            }
            Ok((policy, _)) => {
                let tenant = policy.tenant.clone();
                let digests: Vec<_> = policy.publishes.iter().map(|publication| publication.sha256).collect();
                let mut tenants = vec![tenant.clone(), "beta".to_string(), "gamma".to_string()];
                tenants.extend(policy.accepts.publishers.iter().cloned());
                if let Ok(mut set) =
                    PolicySet::new(vec![(tenant.clone(), policy, "fuzz.yaml".into())], &tenants)
                {
                    for digest in &digests {
                        for user in &tenants {
                            let _ = set.sharing_domain(user, digest);
                            let _ = set.check_request(user, digest).map_err(|refusal| refusal.to_string());
                        }
                        set.revoke(&tenant, digest);
                    }
                    let usage = Usage {
                        cvms: 5,
                        memory_per_cvm: 1 << 30,
                        memory_total: 1 << 31,
                        cls_bytes: 1 << 20,
                        grants: Grants::UNLIMITED,
                    };
                    let _ = set.check_limits(&tenant, &usage).map_err(|refusal| refusal.to_string());
                }
                true
            }
        }
    }));
    match outcome {
        Ok(parsed) => parsed,
        Err(_) => panic!("the policy made the crate panic:\n{text:?}"),
    }
}

#[test]
fn parse_never_panics_on_mutated_policies() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut parsed, mut refused) = (0, 0);
    let mut kinds = BTreeSet::new();
    for round in 0..6000 {
        let seed = SEEDS[round % SEEDS.len()];
        let mut text = seed.to_string();
        for _ in 0..=random.below(4) {
            text = mutate(&text, &mut random);
        }
        if check(&text, &mut kinds) {
            parsed += 1;
        } else {
            refused += 1;
        }
    }
    // Both outcomes are exercised, and many different checks refuse.
    assert!(parsed > 100 && refused > 3000, "parsed {parsed}, refused {refused}");
    assert!(kinds.len() > 25, "only {} kinds of error: {kinds:?}", kinds.len());
}

#[test]
fn parse_never_panics_on_random_text() {
    let mut random = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..3000 {
        let length = random.below(80);
        let text: String = (0..length).map(|_| ALPHABET[random.below(ALPHABET.len())]).collect();
        check(&text, &mut BTreeSet::new());
        check(&format!("tenant: {text}"), &mut BTreeSet::new());
    }
}
