//! Rules that contradict each other within one policy, and the checks across a
//! deployment's policies, refuse with their own variant; the message names the file,
//! the place (line and column, or the clause) and the values in conflict.

mod common;

use common::{assert_mentions, publishing, refused, COUNTER, FILE};
use policy::{parse, parse_digest, PolicyError, PolicySet};

const OTHER: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

#[test]
fn a_list_naming_something_twice_is_refused() {
    let upper = COUNTER.to_uppercase();
    let cases = [
        (
            publishing(&[("a.so", COUNTER, "[beta, gamma, beta]")]),
            5,
            23,
            "publishes[0].to",
            "beta".to_string(),
            (5, 10),
        ),
        (
            String::from("tenant: alpha\naccepts:\n  publishers: [beta, beta]\n"),
            3,
            22,
            "accepts.publishers",
            "beta".to_string(),
            (3, 16),
        ),
        (
            format!("tenant: alpha\naccepts:\n  digests:\n    - {COUNTER}\n    - {upper}\n"),
            5,
            7,
            "accepts.digests",
            COUNTER.to_string(),
            (4, 7),
        ),
    ];
    for (text, expected_line, expected_column, expected_field, expected_value, first) in cases {
        let error = refused(&text);
        let PolicyError::DuplicateEntry { file, line, column, field, value, first_line, first_column } =
            &error
        else {
            panic!("expected DuplicateEntry, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), *line, *column, field.as_str(), value, (*first_line, *first_column)),
            (FILE, expected_line, expected_column, expected_field, &expected_value, first)
        );
        let location = format!("alpha.yaml:{expected_line}:{expected_column}:");
        assert_mentions(
            &error,
            &[&location, expected_field, &expected_value, "twice", &format!("{}:{}", first.0, first.1)],
        );
    }
}

#[test]
fn publishing_to_itself_is_refused() {
    let error = refused(&publishing(&[("a.so", COUNTER, "[beta, alpha]")]));
    assert!(
        matches!(&error, PolicyError::PublishesToItself { line: 5, column: 16, field, tenant, .. }
            if field == "publishes[0].to[1]" && tenant == "alpha"),
        "{error:?}"
    );
    assert_mentions(&error, &["alpha.yaml:5:16:", "publishes[0].to[1]", "`alpha`", "own tenant"]);
}

#[test]
fn mixing_public_or_private_with_names_is_refused() {
    for (to, keyword, column) in [
        ("[private, beta]", "private", 10),
        ("[beta, public]", "public", 16),
        ("[public, private]", "public", 10),
    ] {
        let error = refused(&publishing(&[("a.so", COUNTER, to)]));
        assert!(
            matches!(&error, PolicyError::MixedAudience { line: 5, column: c, field, keyword: k, .. }
                if *c == column && field == "publishes[0].to" && *k == keyword),
            "{to}: {error:?}"
        );
        assert_mentions(
            &error,
            &[&format!("alpha.yaml:5:{column}:"), "publishes[0].to", &format!("`{keyword}`")],
        );
    }
}

#[test]
fn accepting_itself_is_refused() {
    let error = refused("tenant: alpha\naccepts:\n  publishers: [beta, alpha]\n");
    assert!(
        matches!(&error, PolicyError::AcceptsItself { line: 3, column: 22, field, tenant, .. }
            if field == "accepts.publishers[1]" && tenant == "alpha"),
        "{error:?}"
    );
    assert_mentions(&error, &["alpha.yaml:3:22:", "accepts.publishers[1]", "`alpha`", "own tenant"]);
}

#[test]
fn one_object_name_with_two_digests_is_refused() {
    let error =
        refused(&publishing(&[("libcounter.so", COUNTER, "[beta]"), ("libcounter.so", OTHER, "[beta]")]));
    let expected = PolicyError::ConflictingDigests {
        file: FILE.into(),
        line: 6,
        column: 5,
        object: "libcounter.so".into(),
        first_index: 0,
        first_line: 3,
        second_index: 1,
        first_digest: parse_digest(COUNTER).unwrap(),
        second_digest: parse_digest(OTHER).unwrap(),
    };
    assert_eq!(error, expected);
    assert_mentions(
        &error,
        &["alpha.yaml:6:5:", "publishes[1]", "publishes[0] (line 3)", "`libcounter.so`", COUNTER, OTHER],
    );
}

#[test]
fn one_object_for_two_audiences_is_refused() {
    for (second_name, second_to) in [("libcounter.so", "[gamma]"), ("libcopy.so", "public")] {
        let error =
            refused(&publishing(&[("libcounter.so", COUNTER, "[beta]"), (second_name, COUNTER, second_to)]));
        let PolicyError::ConflictingAudiences {
            line: 6,
            column: 5,
            object,
            first_index: 0,
            first_line: 3,
            second_index: 1,
            first_audience,
            second_audience,
            ..
        } = &error
        else {
            panic!("expected ConflictingAudiences at 6:5, got {error:?}");
        };
        assert_eq!(object, second_name);
        assert_eq!(first_audience.to_string(), "[beta]");
        assert_eq!(second_audience.to_string(), second_to);
        assert_mentions(
            &error,
            &[
                "alpha.yaml:6:5:",
                "publishes[1]",
                "publishes[0] (line 3)",
                second_name,
                COUNTER,
                "[beta]",
                second_to,
            ],
        );
    }
}

#[test]
fn one_object_published_twice_is_refused() {
    let repeated = refused(&publishing(&[
        ("libcounter.so", COUNTER, "[beta, gamma]"),
        ("libcounter.so", COUNTER, "[gamma, beta]"),
    ]));
    assert!(
        matches!(&repeated, PolicyError::DuplicatePublication { line: 6, column: 5, object, first_object, first_index: 0, second_index: 1, first_line: 3, .. }
            if object == "libcounter.so" && first_object == "libcounter.so"),
        "{repeated:?}"
    );
    assert_mentions(
        &repeated,
        &["alpha.yaml:6:5:", "publishes[1] repeats publishes[0] (line 3)", "libcounter.so", COUNTER],
    );
    let renamed =
        refused(&publishing(&[("libcounter.so", COUNTER, "public"), ("libcopy.so", COUNTER, "public")]));
    assert!(
        matches!(&renamed, PolicyError::DuplicatePublication { object, first_object, .. }
            if object == "libcopy.so" && first_object == "libcounter.so"),
        "{renamed:?}"
    );
    assert_mentions(&renamed, &["alpha.yaml:6:5:", "`libcopy.so`", "`libcounter.so`", COUNTER, "by digest"]);
}

#[test]
fn a_per_cvm_memory_limit_above_the_total_is_refused() {
    let error = refused("tenant: alpha\nlimits:\n  memory_total: 16M\n  memory_per_cvm: 64M\n");
    assert_eq!(
        error,
        PolicyError::ContradictoryLimits {
            file: FILE.into(),
            line: 4,
            column: 19,
            memory_per_cvm: 64 << 20,
            memory_total: 16 << 20
        }
    );
    assert_mentions(
        &error,
        &["alpha.yaml:4:19:", "limits.memory_per_cvm (64M)", "limits.memory_total (16M)"],
    );
    assert!(parse("tenant: alpha\nlimits:\n  memory_total: 16M\n  memory_per_cvm: 16M\n", FILE).is_ok());
    let one_byte_over = refused("tenant: alpha\nlimits:\n  memory_total: 0xffffff\n  memory_per_cvm: 16M\n");
    assert!(matches!(one_byte_over, PolicyError::ContradictoryLimits { memory_total: 0xff_ffff, .. }));
}

fn parsed(text: &str, file: &str) -> policy::Policy {
    parse(text, file).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn a_policy_for_another_tenant_is_refused() {
    let policies = vec![("alpha".to_string(), parsed("tenant: alfa\n", FILE), FILE.to_string())];
    let error = PolicySet::new(policies, &["alpha".into()]).expect_err("the names differ");
    assert_eq!(
        error,
        PolicyError::TenantMismatch { file: FILE.into(), declared: "alfa".into(), expected: "alpha".into() }
    );
    assert_mentions(&error, &["alpha.yaml:", "`tenant: alfa`", "`alpha`"]);
}

#[test]
fn two_policies_for_one_tenant_are_refused() {
    let policies = vec![
        ("alpha".to_string(), parsed("tenant: alpha\n", "one.yaml"), "one.yaml".to_string()),
        ("alpha".to_string(), parsed("tenant: alpha\n", "two.yaml"), "two.yaml".to_string()),
    ];
    let error = PolicySet::new(policies, &["alpha".into()]).expect_err("one policy per tenant");
    assert_eq!(
        error,
        PolicyError::DuplicatePolicy {
            tenant: "alpha".into(),
            first_file: "one.yaml".into(),
            second_file: "two.yaml".into()
        }
    );
    assert_mentions(&error, &["two.yaml", "one.yaml", "`alpha`"]);
}

#[test]
fn tenants_the_deployment_does_not_have_are_refused() {
    let tenants = ["alpha".to_string(), "beta".to_string()];
    let to_unknown = parsed(&publishing(&[("a.so", COUNTER, "[beta, delta]")]), FILE);
    let error = PolicySet::new(vec![("alpha".into(), to_unknown, FILE.into())], &tenants)
        .expect_err("delta is unknown");
    assert_eq!(
        error,
        PolicyError::UnknownTenant {
            file: FILE.into(),
            field: "publishes[0].to[1]".into(),
            tenant: "delta".into(),
            known: vec!["alpha".into(), "beta".into()],
        }
    );
    assert_mentions(&error, &["alpha.yaml:", "publishes[0].to[1]", "`delta`", "alpha, beta"]);

    let accepts_unknown = parsed("tenant: alpha\naccepts:\n  publishers: [epsilon]\n", FILE);
    let error = PolicySet::new(vec![("alpha".into(), accepts_unknown, FILE.into())], &tenants)
        .expect_err("epsilon is unknown");
    assert!(
        matches!(&error, PolicyError::UnknownTenant { field, tenant, .. } if field == "accepts.publishers[0]" && tenant == "epsilon"),
        "{error:?}"
    );
    assert_mentions(&error, &["alpha.yaml:", "accepts.publishers[0]", "`epsilon`"]);
}

#[test]
fn tenants_with_policies_are_known_without_being_listed() {
    let alpha = parsed(&publishing(&[("a.so", COUNTER, "[beta]")]), FILE);
    let beta = parsed("tenant: beta\naccepts:\n  publishers: [alpha]\n", "beta.yaml");
    let set = PolicySet::new(
        vec![("alpha".into(), alpha, FILE.into()), ("beta".into(), beta, "beta.yaml".into())],
        &[],
    )
    .expect("both tenants have policies");
    assert_eq!(set.tenants().collect::<Vec<_>>(), ["alpha", "beta"]);
    assert_eq!(set.file("beta"), Some("beta.yaml"));
}
