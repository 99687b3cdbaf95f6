//! What each tenant sees: its cVMs, their private bytes, the shared copies they use,
//! with whom each copy is shared, and the tenant's proportional share of them.
//!
//! A shared copy's bytes are divided equally among the cVMs that used it, as the
//! kernel's Pss divides a page among the processes that map it; a tenant's share is the
//! sum over its cVMs. Beside it stands what the same cVMs would have cost with private
//! copies, so a tenant can see its own saving.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::report::{CvmReport, Status};

/// One shared copy as one tenant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantObject {
    /// The object's file name.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The copy's identifier.
    pub copy: u64,
    /// The tenant whose copy it is.
    pub owner: String,
    /// The other tenants whose cVMs used the same copy.
    pub shared_with: Vec<String>,
    /// Bytes of the copy.
    pub bytes: u64,
    /// cVMs, of every tenant, that used the copy.
    pub users: u64,
    /// cVMs of this tenant that used it.
    pub tenant_users: u64,
    /// This tenant's share: `bytes * tenant_users / users`.
    pub proportional_bytes: u64,
}

/// One of a tenant's cVMs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCvm {
    /// Its name.
    pub name: String,
    /// What became of it.
    pub status: Status,
    /// Bytes it had to itself.
    pub private_bytes: u64,
    /// Its process's peak Pss as the kernel counted it, where it was sampled.
    #[serde(default)]
    pub kernel_pss: Option<u64>,
}

/// One tenant's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantReport {
    /// The tenant.
    pub name: String,
    /// Its cVMs, with what became of each.
    pub cvms: Vec<TenantCvm>,
    /// Bytes its cVMs had to themselves (private images, CLS instances, tables).
    pub private_bytes: u64,
    /// The shared copies its cVMs used.
    pub shared_objects: Vec<TenantObject>,
    /// Its proportional share of those copies.
    pub proportional_shared_bytes: u64,
    /// What its cVMs would have needed with a private copy of each of them.
    pub bytes_if_private: u64,
    /// `bytes_if_private - proportional_shared_bytes`.
    pub saving_bytes: u64,
    /// The sum of its cVMs' peak Pss as the kernel counted it (those sampled).
    #[serde(default)]
    pub kernel_pss_bytes: u64,
}

/// Computes every tenant's view from the cVMs' reports.
pub fn tenant_reports(cvms: &[CvmReport]) -> Vec<TenantReport> {
    // Copy → (its description, users per tenant).
    let mut copies: BTreeMap<u64, (&crate::report::ObjectUse, BTreeMap<&str, u64>)> = BTreeMap::new();
    for cvm in cvms {
        for used in &cvm.objects {
            if let Some(copy) = used.copy {
                *copies
                    .entry(copy)
                    .or_insert((used, BTreeMap::new()))
                    .1
                    .entry(cvm.tenant.as_str())
                    .or_default() += 1;
            }
        }
    }
    let tenants: BTreeSet<&str> = cvms.iter().map(|cvm| cvm.tenant.as_str()).collect();
    tenants
        .into_iter()
        .map(|tenant| {
            let own: Vec<&CvmReport> = cvms.iter().filter(|cvm| cvm.tenant == tenant).collect();
            let shared_objects: Vec<TenantObject> = copies
                .iter()
                .filter_map(|(&copy, (used, users_by_tenant))| {
                    let tenant_users = *users_by_tenant.get(tenant)?;
                    let users: u64 = users_by_tenant.values().sum();
                    Some(TenantObject {
                        name: used.name.clone(),
                        sha256: used.sha256.clone(),
                        copy,
                        owner: used.owner.clone(),
                        shared_with: users_by_tenant
                            .keys()
                            .filter(|other| **other != tenant)
                            .map(|other| other.to_string())
                            .collect(),
                        bytes: used.bytes,
                        users,
                        tenant_users,
                        proportional_bytes: used.bytes * tenant_users / users,
                    })
                })
                .collect();
            let proportional_shared_bytes =
                shared_objects.iter().map(|object| object.proportional_bytes).sum();
            let bytes_if_private =
                shared_objects.iter().map(|object| object.bytes * object.tenant_users).sum::<u64>();
            TenantReport {
                name: tenant.to_string(),
                cvms: own
                    .iter()
                    .map(|cvm| TenantCvm {
                        name: cvm.name.clone(),
                        status: cvm.status,
                        private_bytes: cvm.private_bytes,
                        kernel_pss: cvm.kernel.map(|kernel| kernel.peak_pss),
                    })
                    .collect(),
                kernel_pss_bytes: own.iter().filter_map(|cvm| cvm.kernel).map(|kernel| kernel.peak_pss).sum(),
                private_bytes: own.iter().map(|cvm| cvm.private_bytes).sum(),
                shared_objects,
                proportional_shared_bytes,
                bytes_if_private,
                saving_bytes: bytes_if_private.saturating_sub(proportional_shared_bytes),
            }
        })
        .collect()
}

/// A tenant's view as text, for `intravisor report --tenant`.
pub fn describe(report: &TenantReport) -> String {
    let mut text = format!("tenant {}\n", report.name);
    text.push_str(&format!("  cVMs: {}\n", report.cvms.len()));
    for cvm in &report.cvms {
        let kernel = cvm.kernel_pss.map(|pss| format!(", {pss} bytes Pss (kernel)")).unwrap_or_default();
        text.push_str(&format!(
            "    {}: {:?}, {} private bytes{kernel}\n",
            cvm.name, cvm.status, cvm.private_bytes
        ));
    }
    text.push_str(&format!("  private bytes: {}\n", report.private_bytes));
    text.push_str(&format!(
        "  Pss of its cVM processes, as the kernel counted it: {} bytes\n",
        report.kernel_pss_bytes
    ));
    text.push_str("  shared objects:\n");
    for object in &report.shared_objects {
        let with = if object.shared_with.is_empty() {
            "no other tenant".to_string()
        } else {
            object.shared_with.join(", ")
        };
        text.push_str(&format!(
            "    {} (sha256 {}…, copy {} of {}): {} bytes, used by {} cVMs ({} of this tenant), shared with {}; this tenant's share {} bytes\n",
            object.name,
            &object.sha256[..12],
            object.copy,
            object.owner,
            object.bytes,
            object.users,
            object.tenant_users,
            with,
            object.proportional_bytes
        ));
    }
    text.push_str(&format!(
        "  proportional share of shared memory: {} bytes (private copies would need {} bytes: saving {} bytes)\n",
        report.proportional_shared_bytes, report.bytes_if_private, report.saving_bytes
    ));
    text
}
