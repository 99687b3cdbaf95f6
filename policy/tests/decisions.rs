//! What a set of policies decides: with whom a loaded copy is shared, explicit requests
//! by digest, the digests of a tenant's own objects, and limits. Every refusal names
//! the tenant, the object, the digest and the rule.

use core::fmt::Display;

use policy::{digest_hex, parse, Consumption, Digest, Domain, Grants, PolicySet, Refusal, Rule, Usage};

const COUNTER: Digest = [0x11; 32];
const PUBLIC: Digest = [0x22; 32];
const SECRET: Digest = [0x33; 32];
const FOR_GAMMA: Digest = [0x44; 32];
const UNPUBLISHED: Digest = [0x99; 32];

fn hex(digest: &Digest) -> String {
    digest_hex(digest)
}

/// alpha publishes libcounter.so to beta and gamma, libpublic.so to everyone,
/// libsecret.so to nobody and libgamma.so to gamma; beta accepts alpha; gamma accepts
/// two digests only; delta publishes libpublic.so too, and libcounter.so to beta;
/// epsilon has no policy.
fn deployment() -> PolicySet {
    let alpha = format!(
        "tenant: alpha\n\
         publishes:\n\
         \x20 - object: libcounter.so\n    sha256: {}\n    to: [beta, gamma]\n\
         \x20 - object: libpublic.so\n    sha256: {}\n    to: public\n\
         \x20 - object: libsecret.so\n    sha256: {}\n    to: private\n\
         \x20 - object: libgamma.so\n    sha256: {}\n    to: [gamma]\n\
         limits:\n  cvms: 2\n  memory_per_cvm: 16M\n  memory_total: 32M\n  cls_bytes_per_cvm: 64K\n",
        hex(&COUNTER),
        hex(&PUBLIC),
        hex(&SECRET),
        hex(&FOR_GAMMA)
    );
    let beta = "tenant: beta\naccepts:\n  publishers: [alpha]\nlimits:\n  cvms: 0\n".to_string();
    let gamma = format!("tenant: gamma\naccepts:\n  digests: [{}, {}]\n", hex(&PUBLIC), hex(&FOR_GAMMA));
    let delta = format!(
        "tenant: delta\n\
         publishes:\n\
         \x20 - object: libpublic.so\n    sha256: {}\n    to: public\n\
         \x20 - object: libcounter.so\n    sha256: {}\n    to: [beta]\n\
         accepts:\n  publishers: [alpha]\n",
        hex(&PUBLIC),
        hex(&COUNTER)
    );
    // Not in name order: the decisions must not depend on the order given.
    let policies = [("delta", delta), ("gamma", gamma), ("beta", beta), ("alpha", alpha)]
        .into_iter()
        .map(|(tenant, text)| {
            let file = format!("{tenant}.yaml");
            let policy = parse(&text, &file).unwrap_or_else(|error| panic!("{error}"));
            (tenant.to_string(), policy, file)
        })
        .collect();
    let tenants: Vec<String> = ["alpha", "beta", "gamma", "delta", "epsilon"].map(String::from).to_vec();
    PolicySet::new(policies, &tenants).unwrap_or_else(|error| panic!("{error}"))
}

fn publisher(name: &str) -> Domain {
    Domain::Publisher(name.to_string())
}

#[track_caller]
fn assert_mentions(refusal: &dyn Display, parts: &[&str]) {
    let message = refusal.to_string();
    for part in parts {
        assert!(message.contains(part), "the refusal should mention `{part}`:\n{message}");
    }
}

#[test]
fn a_tenant_runs_its_own_copy_of_what_it_publishes() {
    let set = deployment();
    assert_eq!(set.sharing_domain("alpha", &COUNTER), Domain::Own);
    assert_eq!(set.sharing_domain("alpha", &SECRET), Domain::Own);
    // delta publishes libpublic.so itself, so it runs its own copy even though it
    // accepts alpha, who publishes the same file to everyone.
    assert_eq!(set.sharing_domain("delta", &PUBLIC), Domain::Own);
}

#[test]
fn a_publication_to_the_user_accepted_by_publisher_is_shared() {
    let set = deployment();
    assert_eq!(set.sharing_domain("beta", &COUNTER), publisher("alpha"));
    let (name, publication) = set.check_request("beta", &COUNTER).expect("alpha shares it with beta");
    assert_eq!((name.as_str(), publication.object.as_str()), ("alpha", "libcounter.so"));
}

#[test]
fn a_publication_to_the_user_accepted_by_digest_only_is_shared() {
    let set = deployment();
    assert_eq!(set.sharing_domain("gamma", &FOR_GAMMA), publisher("alpha"));
}

#[test]
fn a_publication_to_the_user_that_it_does_not_accept_is_not_shared() {
    let set = deployment();
    assert_eq!(set.sharing_domain("gamma", &COUNTER), Domain::Own);
    let refusal = set.check_request("gamma", &COUNTER).expect_err("gamma does not accept libcounter.so");
    let expected_rule = Rule::NotAccepted {
        publisher: "alpha".into(),
        index: 0,
        user: "gamma".into(),
        user_has_policy: true,
    };
    assert_eq!(
        refusal,
        Refusal {
            tenant: "gamma".into(),
            object: Some("libcounter.so".into()),
            digest: Some(COUNTER),
            rule: expected_rule
        }
    );
    assert_mentions(
        &refusal,
        &[
            "tenant `gamma`",
            "`libcounter.so`",
            &hex(&COUNTER),
            "does not accept",
            "accepts.publishers",
            "accepts.digests",
            "publishes[0].to",
        ],
    );
}

#[test]
fn a_tenant_without_a_policy_accepts_nothing() {
    let set = deployment();
    assert_eq!(set.sharing_domain("epsilon", &PUBLIC), Domain::Own);
    let refusal = set.check_request("epsilon", &PUBLIC).expect_err("epsilon has no policy");
    assert_eq!(
        refusal.rule,
        Rule::NotAccepted {
            publisher: "alpha".into(),
            index: 1,
            user: "epsilon".into(),
            user_has_policy: false
        }
    );
    assert_mentions(
        &refusal,
        &["tenant `epsilon`", "`libpublic.so`", &hex(&PUBLIC), "has no policy", "accepts nothing"],
    );
}

#[test]
fn an_accepted_publisher_that_does_not_publish_to_the_user_is_not_shared() {
    let set = deployment();
    assert_eq!(set.sharing_domain("beta", &FOR_GAMMA), Domain::Own);
    let refusal = set.check_request("beta", &FOR_GAMMA).expect_err("libgamma.so is for gamma only");
    assert_eq!(
        refusal.rule,
        Rule::NotInAudience { publisher: "alpha".into(), index: 3, audience: vec!["gamma".into()] }
    );
    assert_eq!((refusal.object.as_deref(), refusal.digest), (Some("libgamma.so"), Some(FOR_GAMMA)));
    assert_mentions(
        &refusal,
        &[
            "tenant `beta` may not use `libgamma.so`",
            &hex(&FOR_GAMMA),
            "`alpha` publishes it only to [gamma] (alpha's policy, publishes[3].to)",
        ],
    );
}

#[test]
fn a_public_publication_is_shared_with_whoever_accepts_it() {
    let set = deployment();
    assert_eq!(set.sharing_domain("beta", &PUBLIC), publisher("alpha"));
    assert_eq!(set.sharing_domain("gamma", &PUBLIC), publisher("alpha"));
}

#[test]
fn a_private_publication_is_shared_with_nobody() {
    let set = deployment();
    assert_eq!(set.sharing_domain("beta", &SECRET), Domain::Own);
    let refusal = set.check_request("beta", &SECRET).expect_err("libsecret.so is private");
    assert_eq!(refusal.rule, Rule::Private { publisher: "alpha".into(), index: 2 });
    assert_mentions(
        &refusal,
        &[
            "tenant `beta` may not use `libsecret.so`",
            &hex(&SECRET),
            "as private",
            "alpha's policy, publishes[2].to",
        ],
    );
    // Its publisher may always ask for its own publication.
    let (name, publication) = set.check_request("alpha", &SECRET).expect("alpha's own object");
    assert_eq!((name.as_str(), publication.object.as_str()), ("alpha", "libsecret.so"));
}

#[test]
fn a_revoked_publication_is_shared_no_more() {
    let mut set = deployment();
    assert!(!set.is_revoked("alpha", &FOR_GAMMA));
    assert!(set.revoke("alpha", &FOR_GAMMA));
    assert!(set.is_revoked("alpha", &FOR_GAMMA));
    assert!(!set.is_revoked("delta", &FOR_GAMMA));
    assert_eq!(set.sharing_domain("gamma", &FOR_GAMMA), Domain::Own);
    let refusal = set.check_request("gamma", &FOR_GAMMA).expect_err("revoked");
    assert_eq!(refusal.rule, Rule::Revoked { publisher: "alpha".into(), index: 3 });
    assert_mentions(
        &refusal,
        &["tenant `gamma` may not use `libgamma.so`", &hex(&FOR_GAMMA), "revoked", "publishes[3]"],
    );
    // The publisher still uses its own object.
    assert_eq!(set.check_request("alpha", &FOR_GAMMA).map(|(name, _)| name), Ok("alpha".to_string()));
    // Only a published digest can be revoked.
    assert!(!set.revoke("alpha", &UNPUBLISHED));
    assert!(!set.revoke("beta", &COUNTER));
    assert!(!set.revoke("epsilon", &COUNTER));
    assert!(!set.is_revoked("beta", &COUNTER));
}

#[test]
fn of_several_publishers_the_first_by_name_that_qualifies_wins() {
    let mut set = deployment();
    // alpha and delta both publish libpublic.so to everyone and gamma accepts it by digest.
    assert_eq!(set.sharing_domain("gamma", &PUBLIC), publisher("alpha"));
    assert_eq!(set.check_request("gamma", &PUBLIC).map(|(name, _)| name), Ok("alpha".to_string()));
    set.revoke("alpha", &PUBLIC);
    assert_eq!(set.sharing_domain("gamma", &PUBLIC), publisher("delta"));
    assert_eq!(set.check_request("gamma", &PUBLIC).map(|(name, _)| name), Ok("delta".to_string()));
    // beta accepts alpha only: delta's publication of libcounter.so to beta does not qualify.
    assert_eq!(set.sharing_domain("beta", &COUNTER), publisher("alpha"));
    set.revoke("alpha", &COUNTER);
    assert_eq!(set.sharing_domain("beta", &COUNTER), Domain::Own);
    // Of the refusals, the nearest to allowing it is reported: delta's (not accepted)
    // rather than alpha's (revoked).
    let refusal = set.check_request("beta", &COUNTER).expect_err("nobody shares it with beta now");
    assert_eq!(
        refusal.rule,
        Rule::NotAccepted { publisher: "delta".into(), index: 1, user: "beta".into(), user_has_policy: true }
    );
}

#[test]
fn a_digest_nobody_publishes_is_refused() {
    let set = deployment();
    assert_eq!(set.sharing_domain("beta", &UNPUBLISHED), Domain::Own);
    let refusal = set.check_request("beta", &UNPUBLISHED).expect_err("nobody publishes it");
    assert_eq!(
        refusal,
        Refusal { tenant: "beta".into(), object: None, digest: Some(UNPUBLISHED), rule: Rule::NotPublished }
    );
    assert_mentions(
        &refusal,
        &[
            "tenant `beta` may not use the object with sha256",
            &hex(&UNPUBLISHED),
            "no tenant's policy publishes",
            "publishes[].sha256",
        ],
    );
}

#[test]
fn requests_and_sharing_domains_agree() {
    let mut set = deployment();
    set.revoke("alpha", &FOR_GAMMA);
    for user in ["alpha", "beta", "gamma", "delta", "epsilon"] {
        for digest in [COUNTER, PUBLIC, SECRET, FOR_GAMMA, UNPUBLISHED] {
            let domain = set.sharing_domain(user, &digest);
            match set.check_request(user, &digest) {
                Ok((name, publication)) if name == user => {
                    assert_eq!(domain, Domain::Own, "{user}");
                    assert_eq!(publication.sha256, digest);
                }
                Ok((name, publication)) => {
                    assert_eq!(domain, Domain::Publisher(name), "{user}");
                    assert_eq!(publication.sha256, digest);
                }
                Err(refusal) => {
                    assert_eq!(domain, Domain::Own, "{user}: {refusal}");
                    assert_eq!((refusal.tenant.as_str(), refusal.digest), (user, Some(digest)));
                }
            }
        }
    }
}

#[test]
fn a_changed_object_file_is_a_digest_mismatch() {
    let set = deployment();
    assert_eq!(set.check_own_object("alpha", "libcounter.so", &COUNTER), Ok(()));
    let refusal = set.check_own_object("alpha", "libcounter.so", &UNPUBLISHED).expect_err("the file changed");
    assert_eq!(
        refusal,
        Refusal {
            tenant: "alpha".into(),
            object: Some("libcounter.so".into()),
            digest: Some(UNPUBLISHED),
            rule: Rule::DigestMismatch {
                publisher: "alpha".into(),
                index: 0,
                object: "libcounter.so".into(),
                published: COUNTER,
                found: UNPUBLISHED,
            },
        }
    );
    assert_mentions(
        &refusal,
        &[
            "tenant `alpha` may not use `libcounter.so`",
            &format!(
                "digest mismatch: `alpha` publishes libcounter.so with sha256 {} but the file has {}",
                hex(&COUNTER),
                hex(&UNPUBLISHED)
            ),
            "publishes[0].sha256",
        ],
    );
    // Objects it does not publish, and tenants that publish nothing, are not checked.
    assert_eq!(set.check_own_object("alpha", "libother.so", &UNPUBLISHED), Ok(()));
    assert_eq!(set.check_own_object("beta", "libcounter.so", &UNPUBLISHED), Ok(()));
    assert_eq!(set.check_own_object("epsilon", "libcounter.so", &UNPUBLISHED), Ok(()));
}

fn within_alpha_limits() -> Usage {
    Usage {
        cvms: 2,
        memory_per_cvm: 16 << 20,
        memory_total: 32 << 20,
        cls_bytes: 64 << 10,
        grants: Grants::UNLIMITED,
    }
}

#[test]
fn usage_up_to_the_limits_is_allowed() {
    let set = deployment();
    assert_eq!(set.check_limits("alpha", &within_alpha_limits()), Ok(()));
    let huge = Usage {
        cvms: 1000,
        memory_per_cvm: u64::MAX,
        memory_total: u64::MAX,
        cls_bytes: u64::MAX,
        grants: Grants::UNLIMITED,
    };
    assert_eq!(set.check_limits("gamma", &huge), Ok(()), "gamma has no limits");
    assert_eq!(set.check_limits("epsilon", &huge), Ok(()), "epsilon has no policy");
}

#[test]
fn the_cvm_limit_refuses_one_cvm_too_many() {
    let set = deployment();
    let refusal = set.check_limits("alpha", &Usage { cvms: 3, ..within_alpha_limits() }).expect_err("3 > 2");
    assert_eq!(
        refusal,
        Refusal {
            tenant: "alpha".into(),
            object: None,
            digest: None,
            rule: Rule::CvmLimit { tenant: "alpha".into(), limit: 2, cvms: 3 }
        }
    );
    assert_mentions(
        &refusal,
        &[
            "tenant `alpha` may not start this cVM",
            "the cVM limit of tenant `alpha` (limits.cvms: 2) is reached",
            "3 at once",
        ],
    );
    let refusal =
        set.check_limits("beta", &Usage { cvms: 1, ..within_alpha_limits() }).expect_err("beta may run none");
    assert_eq!(refusal.rule, Rule::CvmLimit { tenant: "beta".into(), limit: 0, cvms: 1 });
    assert_mentions(&refusal, &["tenant `beta`", "(limits.cvms: 0)", "no cVM at all"]);
}

#[test]
fn the_memory_per_cvm_limit_refuses_a_larger_region() {
    let set = deployment();
    let usage = Usage { memory_per_cvm: 32 << 20, ..within_alpha_limits() };
    let refusal = set.check_limits("alpha", &usage).expect_err("32M > 16M");
    assert_eq!(
        refusal.rule,
        Rule::MemoryPerCvmLimit { tenant: "alpha".into(), limit: 16 << 20, region: 32 << 20 }
    );
    assert_mentions(
        &refusal,
        &["tenant `alpha`", "32M (33554432 bytes)", "limits.memory_per_cvm: 16M", "isolation.size"],
    );
}

#[test]
fn the_total_memory_limit_refuses_one_region_too_many() {
    let set = deployment();
    let usage = Usage { memory_total: 48 << 20, ..within_alpha_limits() };
    let refusal = set.check_limits("alpha", &usage).expect_err("48M > 32M");
    assert_eq!(
        refusal.rule,
        Rule::MemoryTotalLimit { tenant: "alpha".into(), limit: 32 << 20, total: 48 << 20 }
    );
    assert_mentions(&refusal, &["tenant `alpha`", "48M (50331648 bytes)", "limits.memory_total: 32M"]);
}

#[test]
fn the_cls_limit_refuses_more_compartment_local_storage() {
    let set = deployment();
    let usage = Usage { cls_bytes: (64 << 10) + 1, ..within_alpha_limits() };
    let refusal = set.check_limits("alpha", &usage).expect_err("one byte too many");
    assert_eq!(
        refusal.rule,
        Rule::ClsLimit { tenant: "alpha".into(), limit: 64 << 10, bytes: (64 << 10) + 1 }
    );
    assert_mentions(
        &refusal,
        &["tenant `alpha`", "65537 bytes", "compartment-local storage", "limits.cls_bytes_per_cvm: 64K"],
    );
}

#[test]
fn rules_have_names() {
    let names: Vec<&str> = [
        Rule::NotPublished,
        Rule::Private { publisher: "a".into(), index: 0 },
        Rule::Revoked { publisher: "a".into(), index: 0 },
        Rule::CvmLimit { tenant: "a".into(), limit: 1, cvms: 2 },
    ]
    .iter()
    .map(Rule::name)
    .collect();
    assert_eq!(names, ["not published", "private", "revoked", "cVM limit"]);
    let refusal: &dyn std::error::Error =
        &Refusal { tenant: "a".into(), object: None, digest: None, rule: Rule::NotPublished };
    assert!(refusal.to_string().starts_with("tenant `a`"));
}

#[test]
fn per_cvm_limits_refuse_a_cvm_granted_more_or_without_a_time_limit() {
    let text = "tenant: capped\nlimits:\n  cpu_seconds_per_cvm: 60\n  console_bytes_per_cvm: 1M\n  threads_per_cvm: 8\n";
    let policy = parse(text, "capped.yaml").unwrap();
    let set = PolicySet::new(vec![("capped".into(), policy, "capped.yaml".into())], &["capped".to_string()])
        .unwrap();
    let mut grants = Grants([Some(60), None, Some(1 << 20), Some(u64::MAX), Some(1024), Some(8)]);
    let usage = |grants: Grants| Usage { cvms: 1, memory_per_cvm: 0, memory_total: 0, cls_bytes: 0, grants };
    // At each cap, and no limit where the tenant sets none (wall time, output, files).
    assert_eq!(set.check_limits("capped", &usage(grants)), Ok(()));
    grants.0[Consumption::Threads as usize] = Some(9);
    let refusal = set.check_limits("capped", &usage(grants)).expect_err("9 threads > 8");
    assert_eq!(
        refusal.rule,
        Rule::GrantLimit {
            tenant: "capped".into(),
            consumption: Consumption::Threads,
            limit: 8,
            granted: Some(9)
        }
    );
    assert_eq!(refusal.rule.name(), "per-cVM resource limit");
    assert_mentions(&refusal, &["isolation.threads: 9", "(limits.threads_per_cvm: 8, capped's policy)"]);
    // Checked in a fixed order: processor time first, and no time limit is past any.
    grants.0[Consumption::CpuSeconds as usize] = None;
    let refusal = set.check_limits("capped", &usage(grants)).expect_err("no time limit");
    assert_eq!(
        refusal.rule,
        Rule::GrantLimit {
            tenant: "capped".into(),
            consumption: Consumption::CpuSeconds,
            limit: 60,
            granted: None
        }
    );
    assert_mentions(&refusal, &["sets no isolation.cpu_seconds", "set isolation.cpu_seconds to at most 60"]);
    let grants = Grants([Some(1), Some(1), Some((1 << 20) + 1), Some(0), Some(1), Some(1)]);
    let refusal = set.check_limits("capped", &usage(grants)).expect_err("one byte too many");
    assert_mentions(
        &refusal,
        &["isolation.console_bytes: 1048577 bytes", "limits.console_bytes_per_cvm: 1M (1048576 bytes)"],
    );
}
