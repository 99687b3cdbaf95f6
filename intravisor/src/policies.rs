//! The deployment's sharing policies, read from their files, and the revocations
//! written into its control directory.
//!
//! Parsing and every rule live in the `policy` crate (`no_std`, no unsafe code, so the
//! bare-metal image enforces the same rules); this module only reads files. A
//! revocation is one line `TENANT SHA256` in `CONTROL/revocations`, appended by
//! `intravisor revoke`; it takes effect for every cVM prepared after it is written.

use std::path::{Path, PathBuf};

use policy::{digest_hex, parse_digest, Digest, PolicySet};

use crate::config::Deployment;

/// The file revocations are appended to, inside the control directory.
const REVOCATIONS: &str = "revocations";

/// Why the policies could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PoliciesError {
    /// A policy file could not be read.
    #[error("cannot read the policy of tenant `{tenant}` at {}: {source}", path.display())]
    Read {
        /// The tenant.
        tenant: String,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A policy is malformed, or the policies contradict the deployment.
    #[error("{0}")]
    Policy(Box<policy::PolicyError>),
    /// The revocations file is malformed.
    #[error("{path}:{line}: expected `TENANT SHA256`", path = path.display())]
    Revocation {
        /// The file.
        path: PathBuf,
        /// The line number.
        line: usize,
    },
    /// A revocation names something nobody publishes.
    #[error("tenant `{tenant}` does not publish `{object}`; nothing to revoke")]
    NotPublished {
        /// The tenant.
        tenant: String,
        /// The object asked for.
        object: String,
    },
    /// The deployment has no control directory.
    #[error("{}: the deployment names no `control` directory to write revocations to", file.display())]
    NoControl {
        /// The deployment file.
        file: PathBuf,
    },
    /// Writing the revocation failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl From<policy::PolicyError> for PoliciesError {
    fn from(error: policy::PolicyError) -> Self {
        Self::Policy(Box::new(error))
    }
}

/// Reads and checks every policy the deployment names, with the revocations so far.
pub fn load(deployment: &Deployment) -> Result<PolicySet, PoliciesError> {
    let mut policies = Vec::with_capacity(deployment.tenants.len());
    for (tenant, path) in &deployment.tenants {
        let text = std::fs::read_to_string(path).map_err(|source| PoliciesError::Read {
            tenant: tenant.clone(),
            path: path.clone(),
            source,
        })?;
        let file = path.display().to_string();
        policies.push((tenant.clone(), policy::parse(&text, &file)?, file));
    }
    let mut tenants: Vec<String> = deployment.cvms.iter().map(|cvm| cvm.tenant.clone()).collect();
    tenants.extend(deployment.tenants.iter().map(|(tenant, _)| tenant.clone()));
    tenants.sort();
    tenants.dedup();
    let mut set = PolicySet::new(policies, &tenants)?;
    apply_revocations(&mut set, deployment.control.as_deref())?;
    Ok(set)
}

/// Applies the revocations in `control` (if any) to `set`.
pub fn apply_revocations(set: &mut PolicySet, control: Option<&Path>) -> Result<(), PoliciesError> {
    let Some(control) = control else { return Ok(()) };
    let path = control.join(REVOCATIONS);
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(()) };
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(tenant), Some(digest), None) =
            (fields.next(), fields.next().and_then(parse_digest), fields.next())
        else {
            return Err(PoliciesError::Revocation { path, line: number + 1 });
        };
        set.revoke(tenant, &digest);
    }
    Ok(())
}

/// Withdraws `tenant`'s publication of `object` (a name or a SHA-256): appends it to the
/// deployment's revocations. Returns the digest revoked.
pub fn revoke(deployment: &Deployment, tenant: &str, object: &str) -> Result<Digest, PoliciesError> {
    let set = load(deployment)?;
    let publication = set.policy(tenant).and_then(|policy| {
        policy.publishes.iter().find(|publication| {
            publication.object == object
                || parse_digest(object).is_some_and(|digest| digest == publication.sha256)
        })
    });
    let Some(publication) = publication else {
        return Err(PoliciesError::NotPublished { tenant: tenant.to_string(), object: object.to_string() });
    };
    let control = deployment
        .control
        .as_ref()
        .ok_or_else(|| PoliciesError::NoControl { file: deployment.file.clone() })?;
    let path = control.join(REVOCATIONS);
    let write = |source| PoliciesError::Write { path: path.clone(), source };
    std::fs::create_dir_all(control).map_err(write)?;
    let mut line = format!("{tenant} {}\n", digest_hex(&publication.sha256));
    if let Ok(existing) = std::fs::read_to_string(&path) {
        line = existing + &line;
    }
    std::fs::write(&path, line).map_err(write)?;
    Ok(publication.sha256)
}
