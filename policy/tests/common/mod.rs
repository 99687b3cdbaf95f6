//! What the error tests share: the file name, a digest, and helpers that parse a
//! policy expected to be refused and check what its message mentions.

use core::fmt::Display;

use policy::{parse, PolicyError};

pub const FILE: &str = "alpha.yaml";
pub const COUNTER: &str = "3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a";

/// The error `parse` gives for `text` as `alpha.yaml`; fails if the policy parses.
pub fn refused(text: &str) -> PolicyError {
    match parse(text, FILE) {
        Ok(policy) => panic!("the policy should be refused:\n{text}\nbut parsed as {policy:?}"),
        Err(error) => error,
    }
}

/// Fails unless the message of `error` mentions every one of `parts`.
#[track_caller]
pub fn assert_mentions(error: &dyn Display, parts: &[&str]) {
    let message = error.to_string();
    for part in parts {
        assert!(message.contains(part), "the message should mention `{part}`:\n{message}");
    }
}

/// A policy of `alpha` publishing one object per (name, digest, audience).
pub fn publishing(publications: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("tenant: alpha\npublishes:\n");
    for (object, digest, to) in publications {
        text.push_str(&format!("  - object: {object}\n    sha256: {digest}\n    to: {to}\n"));
    }
    text
}
