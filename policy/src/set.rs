//! A deployment's policies together: checked against each other and against the
//! deployment's tenants, then asked for decisions.
//!
//! The decisions, for a cVM of tenant `user` that needs the object with digest `d`:
//!
//! - Another tenant `p` *shares* its publication of `d` with `user` when it publishes
//!   `d` to `user` (publicly or by name), has not revoked that publication, and `user`
//!   accepts it (`p` is in `user`'s `accepts.publishers` or `d` in its `accepts.digests`;
//!   a tenant without a policy accepts nothing).
//! - The copy `user` runs is its own ([`Domain::Own`]) when `user` publishes `d` itself
//!   (a publisher runs the copy it publishes), else that of the first sharing publisher
//!   by name ([`Domain::Publisher`]), else its own.
//!
//! Each `Policy` is taken as `parse` checked it; the decisions are defined for any
//! value all the same (a publication listed twice counts if either entry allows).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::digest::Digest;
use crate::error::PolicyError;
use crate::model::{Audience, Consumption, Domain, Policy, Publication, Usage};
use crate::refusal::{Refusal, Rule};

/// A policy and the file it came from.
#[derive(Debug, Clone)]
struct Filed {
    policy: Policy,
    file: String,
}

/// Every policy of a deployment, checked against each other, with the publications
/// revoked since.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// Tenant → its policy, sorted by name (so the first qualifying publisher is the
    /// first in this order).
    policies: BTreeMap<String, Filed>,
    /// Every tenant the deployment has.
    tenants: BTreeSet<String>,
    /// Publisher → the digests whose publication it has revoked.
    revoked: BTreeMap<String, BTreeSet<Digest>>,
}

impl PolicySet {
    /// Checks the policies against each other and the deployment: `policies` holds
    /// (the tenant as the deployment names it, its parsed policy, the policy's file for
    /// messages); `tenants` every tenant the deployment has (those with policies count
    /// whether listed or not). Refuses a policy whose `tenant:` is not the name the
    /// deployment gives it, two policies for one tenant, and a tenant named in `to:` or
    /// `accepts.publishers` that the deployment does not have.
    pub fn new(policies: Vec<(String, Policy, String)>, tenants: &[String]) -> Result<Self, PolicyError> {
        let mut by_tenant: BTreeMap<String, Filed> = BTreeMap::new();
        for (tenant, policy, file) in policies {
            if policy.tenant != tenant {
                return Err(PolicyError::TenantMismatch { file, declared: policy.tenant, expected: tenant });
            }
            if let Some(first) = by_tenant.get(&tenant) {
                let first_file = first.file.clone();
                return Err(PolicyError::DuplicatePolicy { tenant, first_file, second_file: file });
            }
            by_tenant.insert(tenant, Filed { policy, file });
        }
        let mut known: BTreeSet<String> = tenants.iter().cloned().collect();
        known.extend(by_tenant.keys().cloned());
        for filed in by_tenant.values() {
            check_names_known(filed, &known)?;
        }
        Ok(Self { policies: by_tenant, tenants: known, revoked: BTreeMap::new() })
    }

    /// The policy of `tenant`, if it has one.
    pub fn policy(&self, tenant: &str) -> Option<&Policy> {
        self.policies.get(tenant).map(|filed| &filed.policy)
    }

    /// The file the policy of `tenant` came from, if it has one.
    pub fn file(&self, tenant: &str) -> Option<&str> {
        self.policies.get(tenant).map(|filed| filed.file.as_str())
    }

    /// Every tenant of the deployment, sorted by name.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().map(String::as_str)
    }

    /// Withdraws `tenant`'s publication of `digest`: from now on no other tenant may
    /// share it (cVMs already sharing it keep their copy; `tenant` may still use it).
    /// False if `tenant` does not publish `digest`.
    pub fn revoke(&mut self, tenant: &str, digest: &Digest) -> bool {
        if !self.publications(tenant, digest).any(|_| true) {
            return false;
        }
        self.revoked.entry(tenant.to_string()).or_default().insert(*digest);
        true
    }

    /// True when `tenant` has revoked its publication of `digest`.
    pub fn is_revoked(&self, tenant: &str, digest: &Digest) -> bool {
        self.revoked.get(tenant).is_some_and(|digests| digests.contains(digest))
    }

    /// Whose copy of `digest` a cVM of `user` runs: see the module documentation.
    pub fn sharing_domain(&self, user: &str, digest: &Digest) -> Domain {
        if self.publications(user, digest).next().is_some() {
            return Domain::Own;
        }
        for (publisher, filed) in &self.policies {
            if publisher == user {
                continue;
            }
            let mut matching = publications_of(&filed.policy, *digest);
            if matching
                .any(|(index, publication)| self.rule_against(user, publisher, index, publication).is_none())
            {
                return Domain::Publisher(publisher.clone());
            }
        }
        Domain::Own
    }

    /// An explicit request by `user` for the object published with `digest`: the
    /// publisher (the first by name that shares it with `user`, or `user` itself if it
    /// publishes it) and its publication, or the rule that refused. When several
    /// publications refuse, the one that came nearest to allowing it names the rule
    /// (not accepted, then revoked, then not published to `user`).
    pub fn check_request(&self, user: &str, digest: &Digest) -> Result<(String, &Publication), Refusal> {
        if let Some((_, publication)) = self.publications(user, digest).next() {
            return Ok((user.to_string(), publication));
        }
        let mut nearest: Option<(u8, Rule, &Publication)> = None;
        for (publisher, filed) in &self.policies {
            if publisher == user {
                continue;
            }
            for (index, publication) in publications_of(&filed.policy, *digest) {
                match self.rule_against(user, publisher, index, publication) {
                    None => return Ok((publisher.clone(), publication)),
                    Some((rank, rule)) => {
                        if nearest.as_ref().is_none_or(|(nearest_rank, _, _)| rank > *nearest_rank) {
                            nearest = Some((rank, rule, publication));
                        }
                    }
                }
            }
        }
        let (object, rule) = match nearest {
            Some((_, rule, publication)) => (Some(publication.object.clone()), rule),
            None => (None, Rule::NotPublished),
        };
        Err(Refusal { tenant: user.to_string(), object, digest: Some(*digest), rule })
    }

    /// Checks that the file `name` with `digest` that `tenant` uses is the one its
    /// policy publishes under that name, if it publishes one: another digest means the
    /// file changed after the policy was written.
    pub fn check_own_object(&self, tenant: &str, name: &str, digest: &Digest) -> Result<(), Refusal> {
        let Some(policy) = self.policy(tenant) else { return Ok(()) };
        let mut named =
            policy.publishes.iter().enumerate().filter(|(_, publication)| publication.object == name);
        let Some((index, first)) = named.clone().next() else { return Ok(()) };
        if named.any(|(_, publication)| publication.sha256 == *digest) {
            return Ok(());
        }
        Err(Refusal {
            tenant: tenant.to_string(),
            object: Some(name.to_string()),
            digest: Some(*digest),
            rule: Rule::DigestMismatch {
                publisher: tenant.to_string(),
                index,
                object: name.to_string(),
                published: first.sha256,
                found: *digest,
            },
        })
    }

    /// Checks what `tenant` would use with one more cVM against its limits, in the
    /// order cVMs, memory per cVM, total memory, compartment-local storage, then what the
    /// deployment grants the cVM of each [`Consumption`]. A tenant
    /// without a policy has no limits.
    pub fn check_limits(&self, tenant: &str, usage: &Usage) -> Result<(), Refusal> {
        let Some(policy) = self.policy(tenant) else { return Ok(()) };
        let limits = &policy.limits;
        let name = tenant.to_string();
        let exceeded = |limit: Option<u64>, used: u64| limit.filter(|&limit| used > limit);
        let rule = if let Some(limit) = exceeded(limits.cvms, usage.cvms) {
            Rule::CvmLimit { tenant: name, limit, cvms: usage.cvms }
        } else if let Some(limit) = exceeded(limits.memory_per_cvm, usage.memory_per_cvm) {
            Rule::MemoryPerCvmLimit { tenant: name, limit, region: usage.memory_per_cvm }
        } else if let Some(limit) = exceeded(limits.memory_total, usage.memory_total) {
            Rule::MemoryTotalLimit { tenant: name, limit, total: usage.memory_total }
        } else if let Some(limit) = exceeded(limits.cls_bytes_per_cvm, usage.cls_bytes) {
            Rule::ClsLimit { tenant: name, limit, bytes: usage.cls_bytes }
        } else if let Some((consumption, limit, granted)) =
            Consumption::ALL.into_iter().find_map(|consumption| {
                let limit = limits.per_cvm(consumption)?;
                let granted = usage.grants.of(consumption);
                granted.is_none_or(|granted| granted > limit).then_some((consumption, limit, granted))
            })
        {
            Rule::GrantLimit { tenant: name, consumption, limit, granted }
        } else {
            return Ok(());
        };
        Err(Refusal { tenant: tenant.to_string(), object: None, digest: None, rule })
    }

    /// `tenant`'s publications of `digest`, with their indices.
    fn publications<'s>(
        &'s self,
        tenant: &str,
        digest: &Digest,
    ) -> impl Iterator<Item = (usize, &'s Publication)> {
        let digest = *digest;
        self.policy(tenant).into_iter().flat_map(move |policy| publications_of(policy, digest))
    }

    /// Why `publisher`'s publication `index` does not serve `user`, ranked by how near
    /// it came (higher is nearer), or `None` when it does.
    fn rule_against(
        &self,
        user: &str,
        publisher: &str,
        index: usize,
        publication: &Publication,
    ) -> Option<(u8, Rule)> {
        let publisher_name = publisher.to_string();
        match &publication.to {
            Audience::Private => return Some((0, Rule::Private { publisher: publisher_name, index })),
            Audience::Tenants(audience) if !audience.iter().any(|name| name == user) => {
                let audience = audience.clone();
                return Some((0, Rule::NotInAudience { publisher: publisher_name, index, audience }));
            }
            Audience::Public | Audience::Tenants(_) => {}
        }
        if self.is_revoked(publisher, &publication.sha256) {
            return Some((1, Rule::Revoked { publisher: publisher_name, index }));
        }
        let user_policy = self.policy(user);
        if user_policy.is_some_and(|policy| policy.accepts.accepts(publisher, &publication.sha256)) {
            return None;
        }
        let rule = Rule::NotAccepted {
            publisher: publisher_name,
            index,
            user: user.to_string(),
            user_has_policy: user_policy.is_some(),
        };
        Some((2, rule))
    }
}

/// The publications of `digest` in `policy`, with their indices.
fn publications_of(policy: &Policy, digest: Digest) -> impl Iterator<Item = (usize, &Publication)> + Clone {
    policy.publishes.iter().enumerate().filter(move |(_, publication)| publication.sha256 == digest)
}

/// Refuses a tenant named in `to:` or `accepts.publishers` that is not in `known`.
fn check_names_known(filed: &Filed, known: &BTreeSet<String>) -> Result<(), PolicyError> {
    let unknown = |field: String, tenant: &String| PolicyError::UnknownTenant {
        file: filed.file.clone(),
        field,
        tenant: tenant.clone(),
        known: known.iter().cloned().collect(),
    };
    for (index, publication) in filed.policy.publishes.iter().enumerate() {
        if let Audience::Tenants(names) = &publication.to {
            if let Some((position, name)) = names.iter().enumerate().find(|(_, name)| !known.contains(*name))
            {
                return Err(unknown(alloc::format!("publishes[{index}].to[{position}]"), name));
            }
        }
    }
    let publishers = &filed.policy.accepts.publishers;
    if let Some((position, name)) = publishers.iter().enumerate().find(|(_, name)| !known.contains(*name)) {
        return Err(unknown(alloc::format!("accepts.publishers[{position}]"), name));
    }
    Ok(())
}
