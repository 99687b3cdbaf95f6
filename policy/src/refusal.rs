//! Why the intravisor refuses what a cVM would do: the tenant, the object, and the
//! rule of which policy refused it.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::digest::{digest_hex, Digest};
use crate::model::{Audience, Consumption};
use crate::size::format_size;

/// A decision against a tenant: what it may not do, and the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The tenant refused (the user of the object, or the owner of the cVM).
    pub tenant: String,
    /// The object's file name, when the refusal is about one that has a name.
    pub object: Option<String>,
    /// The object's digest (for a digest mismatch: the file's), when the refusal is
    /// about an object.
    pub digest: Option<Digest>,
    /// The rule that refused.
    pub rule: Rule,
}

impl core::error::Error for Refusal {}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenant = &self.tenant;
        match (&self.object, &self.digest) {
            (Some(object), Some(digest)) => {
                write!(
                    formatter,
                    "tenant `{tenant}` may not use `{object}` (sha256 {})",
                    digest_hex(digest)
                )?;
            }
            (Some(object), None) => write!(formatter, "tenant `{tenant}` may not use `{object}`")?,
            (None, Some(digest)) => {
                write!(
                    formatter,
                    "tenant `{tenant}` may not use the object with sha256 {}",
                    digest_hex(digest)
                )?;
            }
            (None, None) => write!(formatter, "tenant `{tenant}` may not start this cVM")?,
        }
        write!(formatter, ": {}", self.rule)
    }
}

/// The rule that refused, with the policy clause it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// No policy publishes an object with the digest asked for.
    NotPublished,
    /// The only publication of the digest is private (`publishes[index].to`).
    Private { publisher: String, index: usize },
    /// The publication names other tenants only (`publishes[index].to`).
    NotInAudience { publisher: String, index: usize, audience: Vec<String> },
    /// The publisher has revoked the publication.
    Revoked { publisher: String, index: usize },
    /// The publication is for `user`, but `user` accepts neither its publisher nor its digest.
    NotAccepted { publisher: String, index: usize, user: String, user_has_policy: bool },
    /// The file of an object the publisher publishes has another digest than the policy says.
    DigestMismatch { publisher: String, index: usize, object: String, published: Digest, found: Digest },
    /// The tenant already runs `limits.cvms` cVMs (`cvms`: with this one).
    CvmLimit { tenant: String, limit: u64, cvms: u64 },
    /// The cVM's region is larger than `limits.memory_per_cvm`.
    MemoryPerCvmLimit { tenant: String, limit: u64, region: u64 },
    /// The tenant's regions together, with this cVM's, exceed `limits.memory_total`.
    MemoryTotalLimit { tenant: String, limit: u64, total: u64 },
    /// The cVM's compartment-local storage exceeds `limits.cls_bytes_per_cvm`.
    ClsLimit { tenant: String, limit: u64, bytes: u64 },
    /// The deployment grants the cVM more of `consumption` than the tenant's per-cVM
    /// limit (`granted`: `None` is no limit).
    GrantLimit { tenant: String, consumption: Consumption, limit: u64, granted: Option<u64> },
}

impl Rule {
    /// The rule's name in a few words, for logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotPublished => "not published",
            Self::Private { .. } => "private",
            Self::NotInAudience { .. } => "not published to this tenant",
            Self::Revoked { .. } => "revoked",
            Self::NotAccepted { .. } => "not accepted",
            Self::DigestMismatch { .. } => "digest mismatch",
            Self::CvmLimit { .. } => "cVM limit",
            Self::MemoryPerCvmLimit { .. } => "memory per cVM limit",
            Self::MemoryTotalLimit { .. } => "total memory limit",
            Self::ClsLimit { .. } => "compartment-local storage limit",
            Self::GrantLimit { .. } => "per-cVM resource limit",
        }
    }
}

/// A size as `16M (16777216 bytes)`.
fn size(bytes: u64) -> String {
    let short = format_size(bytes);
    if short == alloc::format!("{bytes}") {
        alloc::format!("{bytes} bytes")
    } else {
        alloc::format!("{short} ({bytes} bytes)")
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPublished => formatter.write_str(
                "no tenant's policy publishes an object with this sha256 (publishes[].sha256); name the \
                 object by its path instead, or ask its owner to publish it",
            ),
            Self::Private { publisher, index } => write!(
                formatter,
                "`{publisher}` publishes it as private ({publisher}'s policy, publishes[{index}].to)"
            ),
            Self::NotInAudience { publisher, index, audience } => write!(
                formatter,
                "`{publisher}` publishes it only to {} ({publisher}'s policy, publishes[{index}].to)",
                Audience::Tenants(audience.clone())
            ),
            Self::Revoked { publisher, index } => write!(
                formatter,
                "`{publisher}` has revoked its publication ({publisher}'s policy, publishes[{index}]), so \
                 no other tenant may share it any more"
            ),
            Self::NotAccepted { publisher, index, user, user_has_policy: true } => write!(
                formatter,
                "`{publisher}` publishes it to `{user}` ({publisher}'s policy, publishes[{index}].to), but \
                 `{user}` does not accept it: `{publisher}` is not in its accepts.publishers and this \
                 sha256 is not in its accepts.digests ({user}'s policy); add one of them to share the copy"
            ),
            Self::NotAccepted { publisher, index, user, user_has_policy: false } => write!(
                formatter,
                "`{publisher}` publishes it to `{user}` ({publisher}'s policy, publishes[{index}].to), but \
                 `{user}` has no policy, so it accepts nothing from other tenants; give it a policy whose \
                 accepts.publishers names `{publisher}`"
            ),
            Self::DigestMismatch { publisher, index, object, published, found } => write!(
                formatter,
                "digest mismatch: `{publisher}` publishes {object} with sha256 {} but the file has {} \
                 ({publisher}'s policy, publishes[{index}].sha256); the file changed after the policy was \
                 written: use the published file, or put the new digest in the policy",
                digest_hex(published),
                digest_hex(found)
            ),
            Self::CvmLimit { tenant, limit: 0, .. } => write!(
                formatter,
                "the cVM limit of tenant `{tenant}` (limits.cvms: 0) is reached: it may run no cVM at all \
                 ({tenant}'s policy)"
            ),
            Self::CvmLimit { tenant, limit, cvms } => write!(
                formatter,
                "the cVM limit of tenant `{tenant}` (limits.cvms: {limit}) is reached: this cVM would make \
                 {cvms} at once ({tenant}'s policy); wait for one of its cVMs to end or raise the limit"
            ),
            Self::MemoryPerCvmLimit { tenant, limit, region } => write!(
                formatter,
                "this cVM's region of {} is larger than tenant `{tenant}` allows one cVM \
                 (limits.memory_per_cvm: {}, {tenant}'s policy); give the cVM a smaller isolation.size or \
                 raise the limit",
                size(*region),
                format_size(*limit)
            ),
            Self::MemoryTotalLimit { tenant, limit, total } => write!(
                formatter,
                "with this cVM, the regions of tenant `{tenant}`'s cVMs would total {}, more than its limit \
                 (limits.memory_total: {}, {tenant}'s policy); wait for one of its cVMs to end or raise the \
                 limit",
                size(*total),
                format_size(*limit)
            ),
            Self::ClsLimit { tenant, limit, bytes } => write!(
                formatter,
                "this cVM would have {} of compartment-local storage, more than tenant `{tenant}` allows one \
                 cVM (limits.cls_bytes_per_cvm: {}, {tenant}'s policy); use fewer or smaller objects with \
                 CLS, or raise the limit",
                size(*bytes),
                format_size(*limit)
            ),
            Self::GrantLimit { tenant, consumption, limit, granted } => {
                let (field, cap) = (consumption.deployment_field(), consumption.limit_field());
                let amount = |value: u64| match consumption.is_bytes() {
                    true => size(value),
                    false => alloc::format!("{value}"),
                };
                match granted {
                    Some(granted) => write!(
                        formatter,
                        "the deployment grants this cVM {field}: {}, more than tenant `{tenant}` allows one \
                         cVM ({cap}: {}, {tenant}'s policy); set {field} to at most {limit}",
                        amount(*granted),
                        amount(*limit)
                    ),
                    None => write!(
                        formatter,
                        "the deployment sets no {field} for this cVM (no limit), but tenant `{tenant}` allows \
                         one cVM at most {} ({cap}, {tenant}'s policy); set {field} to at most {limit}",
                        amount(*limit)
                    ),
                }
            }
        }
    }
}
