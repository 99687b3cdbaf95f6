//! Which names a policy may use for tenants and objects.
//!
//! Tenant names are those the deployment file allows (letters, digits, `-`, `_`, `.`),
//! except `public` and `private`, which `to:` uses as keywords. Object names are plain
//! file names, as the deployment file's objects are named: not empty, at most 255
//! bytes, not `.` or `..`, no `/`, no control character.

use crate::error::NameProblem;

/// The longest object name, in bytes (a file name on common file systems).
pub const MAXIMUM_OBJECT_NAME: usize = 255;

/// What is wrong with `name` as a tenant name, or `None` if it is one.
pub fn tenant_name_problem(name: &str) -> Option<NameProblem> {
    if name.is_empty() {
        return Some(NameProblem::Empty);
    }
    if name == "public" || name == "private" {
        return Some(NameProblem::Reserved);
    }
    name.chars()
        .find(|&character| !(character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.')))
        .map(NameProblem::BadCharacter)
}

/// What is wrong with `name` as an object name, or `None` if it is one.
pub fn object_name_problem(name: &str) -> Option<NameProblem> {
    if name.is_empty() {
        return Some(NameProblem::Empty);
    }
    if name.len() > MAXIMUM_OBJECT_NAME {
        return Some(NameProblem::TooLong);
    }
    if name == "." || name == ".." {
        return Some(NameProblem::Dots);
    }
    if name.contains('/') {
        return Some(NameProblem::Slash);
    }
    name.chars().find(|character| character.is_control()).map(NameProblem::BadCharacter)
}
