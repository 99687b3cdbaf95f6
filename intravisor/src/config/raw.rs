//! The deployment file as written: what serde reads, before any check.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::Value;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeployment {
    #[serde(rename = "cVMs")]
    pub(super) cvms: Vec<RawCvm>,
    /// Tenant name → its policy file.
    #[serde(default)]
    pub(super) tenants: BTreeMap<String, String>,
    /// The directory revocations are written to (`intravisor revoke`).
    #[serde(default)]
    pub(super) control: Option<String>,
}

/// One entry of `cVMs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCvm {
    pub(super) name: String,
    pub(super) runtime: String,
    #[serde(default)]
    pub(super) args: Option<Value>,
    pub(super) isolation: RawIsolation,
    #[serde(default)]
    pub(super) wait: Option<i64>,
    #[serde(default)]
    pub(super) tenant: Option<String>,
    #[serde(default)]
    pub(super) objects: Vec<Value>,
    #[serde(default)]
    pub(super) files: Vec<Value>,
    #[serde(default)]
    pub(super) output: Option<String>,
    #[serde(default)]
    pub(super) stack: Option<Value>,
}

/// `isolation:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIsolation {
    pub(super) size: Value,
    #[serde(default)]
    pub(super) cpu_seconds: Option<Value>,
}
