//! `policy`: two tenants' policies (the input split at its first `\n---\n`) through the
//! policy parser, the set's cross-tenant checks, and every question the intravisor asks
//! a set, for every digest the policies name.

use policy::{Digest, Grants, PolicySet, Usage};

use crate::target::{files_under, repository};

const TENANTS: [&str; 2] = ["alpha", "beta"];

pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (first, second) = text.split_once("\n---\n").unwrap_or((text, ""));
    let mut policies = Vec::new();
    for (tenant, text) in TENANTS.into_iter().zip([first, second]) {
        let file = format!("{tenant}.yaml");
        match policy::parse(text, &file) {
            Ok(parsed) => policies.push((tenant.to_string(), parsed, file)),
            Err(error) => assert!(!error.to_string().is_empty(), "an error with no words"),
        }
    }
    let mut digests: Vec<Digest> = policies
        .iter()
        .flat_map(|(_, policy, _)| {
            policy
                .publishes
                .iter()
                .map(|publication| publication.sha256)
                .chain(policy.accepts.digests.clone())
        })
        .collect();
    digests.push([0; 32]);
    let tenants: Vec<String> = TENANTS.iter().map(|tenant| tenant.to_string()).collect();
    let Ok(mut set) = PolicySet::new(policies, &tenants) else { return };
    let extreme = Usage {
        cvms: u64::MAX,
        memory_per_cvm: u64::MAX,
        memory_total: u64::MAX,
        cls_bytes: u64::MAX,
        grants: Grants::UNLIMITED,
    };
    for tenant in TENANTS {
        for digest in &digests {
            let _ = set.sharing_domain(tenant, digest);
            if let Ok((publisher, publication)) = set.check_request(tenant, digest) {
                assert_eq!(
                    &publication.sha256, digest,
                    "{tenant} was granted another object than it asked for"
                );
                assert!(
                    publication.to.includes(tenant) || publisher == tenant,
                    "{tenant} was granted {publisher}'s object"
                );
            }
            let _ = set.check_own_object(tenant, "libfuzzed.so", digest);
        }
        // Nothing at all is within every limit.
        let nothing =
            Usage { cvms: 0, memory_per_cvm: 0, memory_total: 0, cls_bytes: 0, grants: Grants([Some(0); 6]) };
        if let Err(refusal) = set.check_limits(tenant, &nothing) {
            panic!("{tenant} was refused a cVM that uses nothing: {refusal}");
        }
        let _ = set.check_limits(tenant, &extreme);
    }
    // Once revoked, a publication is granted to nobody else.
    for digest in &digests {
        if set.revoke(TENANTS[0], digest) {
            assert!(set.is_revoked(TENANTS[0], digest), "a revocation did not hold");
            if let Ok((publisher, _)) = set.check_request(TENANTS[1], digest) {
                assert_ne!(publisher, TENANTS[0], "a revoked publication was granted");
            }
        }
    }
}

/// The examples' policies, in pairs, and alone.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let policies = files_under(&repository().join("examples"), &|path| {
        std::fs::read_to_string(path)
            .is_ok_and(|text| text.starts_with("tenant:") || text.contains("\ntenant:"))
    });
    let mut seeds = policies.clone();
    for pair in policies.windows(2) {
        seeds.push([pair[0].as_slice(), b"\n---\n", pair[1].as_slice()].concat());
    }
    seeds
}
