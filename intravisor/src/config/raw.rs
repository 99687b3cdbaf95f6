//! The deployment file as written: what serde reads, before any check.

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error, MapAccess, Visitor};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeployment {
    #[serde(rename = "cVMs")]
    pub(super) cvms: Vec<RawCvm>,
    /// Tenant name → its policy file.
    #[serde(default, deserialize_with = "unique_keys")]
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
    #[serde(default)]
    pub(super) wall_seconds: Option<Value>,
    #[serde(default)]
    pub(super) console_bytes: Option<Value>,
    #[serde(default)]
    pub(super) output_bytes: Option<Value>,
    #[serde(default)]
    pub(super) open_files: Option<Value>,
    #[serde(default)]
    pub(super) threads: Option<Value>,
}

/// A mapping of strings in which no key appears twice (YAML would keep the last).
fn unique_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Unique;
    impl<'de> Visitor<'de> for Unique {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a mapping of tenant names to policy files")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if entries.contains_key(&key) {
                    return Err(A::Error::custom(format!(
                        "tenant `{key}` is listed twice; list each tenant once"
                    )));
                }
                entries.insert(key, value);
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_map(Unique)
}
