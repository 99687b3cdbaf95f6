//! How long a policy of many publications takes to parse and check, with the checks
//! across policies (`PolicySet::new`): 1,000 to 100,000 publications, each object its own
//! digest and audience (a list of two of the deployment's tenants). Median of 5 runs.
//! Validation must stay near-linear: a policy of 70,000 publications took 17 s when
//! every publication was compared with every earlier one.
//!
//! Run with `cargo bench -p policy --bench validation`.

use std::time::{Duration, Instant};

/// A policy of tenant `alpha` publishing `count` objects to `beta` and `gamma`.
fn policy_text(count: usize) -> String {
    let mut text = String::from("tenant: alpha\npublishes:\n");
    for index in 0..count {
        text.push_str(&format!(
            "  - object: lib{index}.so\n    sha256: {index:064x}\n    to: [beta, gamma]\n"
        ));
    }
    text
}

fn validate(text: &str) -> Duration {
    let start = Instant::now();
    let parsed = policy::parse(text, "alpha.yaml").expect("the policy is valid");
    let tenants = ["alpha".to_string(), "beta".to_string(), "gamma".to_string()];
    let set = policy::PolicySet::new(vec![("alpha".to_string(), parsed, "alpha.yaml".to_string())], &tenants)
        .expect("the policy set is valid");
    let elapsed = start.elapsed();
    assert!(set.policy("alpha").is_some());
    elapsed
}

fn main() {
    for count in [1_000, 10_000, 100_000] {
        let text = policy_text(count);
        let mut times: Vec<Duration> = (0..5).map(|_| validate(&text)).collect();
        times.sort();
        let median = times[2];
        println!(
            "policy validation: {count} publications ({} KiB of YAML) in {median:?} (median of 5), {:?} per publication",
            text.len() / 1024,
            median / count as u32
        );
    }
}
