//! Valid policies parse into the model they say, in every spelling the subset allows.

use policy::{
    digest_hex, format_size, parse, parse_count, parse_digest, parse_size, parse_with_notes, Acceptance,
    Audience, Consumption, Limits, Note, Policy, PolicyError, Publication, SizeProblem, SyntaxProblem,
};

const COUNTER: &str = "3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a3f5a";
const PUBLIC: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const SECRET: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const ACCEPTED: &str = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

fn digest(text: &str) -> [u8; 32] {
    parse_digest(text).expect("a test digest")
}

fn valid_policy() -> String {
    format!(
        "# alpha's sharing policy\n\
         tenant: alpha                  # the deployment's name for it\n\
         publishes:\n\
         \x20 - object: libcounter.so\n\
         \x20   sha256: {COUNTER}\n\
         \x20   to: [beta, gamma]\n\
         \n\
         \x20 - object: libpublic.so\n\
         \x20   sha256: {PUBLIC}\n\
         \x20   to: public\n\
         \x20 - object: libsecret.so\n\
         \x20   sha256: '{SECRET}'\n\
         \x20   to: private\n\
         accepts:\n\
         \x20 publishers: [beta]\n\
         \x20 digests:\n\
         \x20   - {ACCEPTED}\n\
         limits:\n\
         \x20 cvms: 4\n\
         \x20 memory_per_cvm: 16M\n\
         \x20 memory_total: 0x4000000\n\
         \x20 cls_bytes_per_cvm: 64K\n"
    )
}

#[test]
fn a_valid_policy_parses_into_the_expected_model() {
    let policy = parse(&valid_policy(), "alpha.yaml").expect("the policy is valid");
    let expected = Policy {
        tenant: "alpha".into(),
        publishes: vec![
            Publication {
                object: "libcounter.so".into(),
                sha256: digest(COUNTER),
                to: Audience::Tenants(vec!["beta".into(), "gamma".into()]),
            },
            Publication { object: "libpublic.so".into(), sha256: [0xbb; 32], to: Audience::Public },
            Publication { object: "libsecret.so".into(), sha256: [0xcc; 32], to: Audience::Private },
        ],
        accepts: Acceptance { publishers: vec!["beta".into()], digests: vec![[0xdd; 32]] },
        limits: Limits {
            cvms: Some(4),
            memory_per_cvm: Some(16 << 20),
            memory_total: Some(64 << 20),
            cls_bytes_per_cvm: Some(64 << 10),
            per_cvm: [None; Consumption::COUNT],
        },
        run_time_sharing: None,
    };
    assert_eq!(policy, expected);
}

#[test]
fn per_cvm_limits_of_what_a_cvm_consumes_are_parsed_and_checked() {
    let text = "tenant: alpha\nlimits:\n  cpu_seconds_per_cvm: 60\n  wall_seconds_per_cvm: 600\n  \
                console_bytes_per_cvm: 1M\n  output_bytes_per_cvm: 0x4000\n  open_files_per_cvm: 16\n  \
                threads_per_cvm: 8\n";
    let policy = parse(text, "alpha.yaml").expect("the policy is valid");
    assert_eq!(policy.limits.per_cvm, [Some(60), Some(600), Some(1 << 20), Some(0x4000), Some(16), Some(8)]);
    assert_eq!(policy.limits.per_cvm(Consumption::Threads), Some(8));
    // Counts are whole numbers, sizes are sizes; each error names the field and place.
    let error = parse("tenant: alpha\nlimits:\n  threads_per_cvm: 4K\n", "alpha.yaml").unwrap_err();
    assert!(
        matches!(&error, PolicyError::BadCount { field, line: 3, .. } if field == "limits.threads_per_cvm"),
        "{error:?}"
    );
    let error = parse("tenant: alpha\nlimits:\n  console_bytes_per_cvm: lots\n", "alpha.yaml").unwrap_err();
    assert!(
        matches!(&error, PolicyError::BadSize { field, line: 3, .. } if field == "limits.console_bytes_per_cvm"),
        "{error:?}"
    );
    // No thread at all means no cVM can run: said, not refused. No console bytes is a
    // silent cVM, which may be meant.
    let (_, notes) = parse_with_notes(
        "tenant: alpha\nlimits:\n  threads_per_cvm: 0\n  console_bytes_per_cvm: 0\n",
        "a.yaml",
    )
    .unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0].to_string(),
        "a.yaml:3:20: note: limits.threads_per_cvm is 0: tenant `alpha` can run no cVM, since a deployment \
         grants every cVM at least 1 of it; remove the line if it should have no limit"
    );
}

#[test]
fn only_the_tenant_is_required() {
    let policy = parse("tenant: alpha\n", "alpha.yaml").expect("the policy is valid");
    let expected = Policy {
        tenant: "alpha".into(),
        publishes: Vec::new(),
        accepts: Acceptance::default(),
        limits: Limits::default(),
        run_time_sharing: None,
    };
    assert_eq!(policy, expected);
}

#[test]
fn run_time_sharing_is_an_opt_in_with_a_delay() {
    let policy = parse("tenant: alpha\nrun_time_sharing:\n  after_ms: 250\n", "alpha.yaml").expect("valid");
    assert_eq!(policy.run_time_sharing, Some(policy::RunTimeSharing { after_milliseconds: 250 }));
    let policy = parse("tenant: alpha\nrun_time_sharing:\n", "alpha.yaml").expect("valid");
    assert_eq!(policy.run_time_sharing, Some(policy::RunTimeSharing::default()));
    let error = parse("tenant: alpha\nrun_time_sharing:\n  after_ms: soon\n", "alpha.yaml")
        .expect_err("not a number")
        .to_string();
    assert!(error.contains("run_time_sharing.after_ms"), "{error}");
    let error = parse("tenant: alpha\nrun_time_sharing:\n  after: 1\n", "alpha.yaml")
        .expect_err("unknown field")
        .to_string();
    assert!(error.contains("after"), "{error}");
}

#[test]
fn block_and_flow_lists_and_quotes_mean_the_same() {
    let flow = "tenant: alpha\npublishes:\n  - {object: x}\n";
    // A non-empty flow mapping is outside the subset; the block form is the way.
    let refused = parse(flow, "alpha.yaml").expect_err("a flow mapping is refused");
    assert!(matches!(
        refused,
        PolicyError::Syntax { line: 3, column: 5, problem: SyntaxProblem::FlowMapping, .. }
    ));
    let block = format!(
        "---\n\
         \"tenant\": 'alpha'\n\
         publishes:\n\
         - object: \"lib\\x63ounter.so\"\n\
         \x20 sha256: \"{COUNTER}\"\n\
         \x20 to:\n\
         \x20 - 'beta'\n\
         \x20 - gamma   # a comment\n\
         accepts:\n\
         \x20 publishers:\n\
         \x20   - beta\n\
         \x20 digests: [{ACCEPTED},]\n"
    );
    let inline = format!(
        "tenant: alpha\n\
         publishes:\n\
         \x20 - object: libcounter.so\n\
         \x20   sha256: {COUNTER}\n\
         \x20   to: [beta, gamma]\n\
         accepts:\n\
         \x20 publishers: [beta]\n\
         \x20 digests: [{ACCEPTED}]\n"
    );
    let block = parse(&block, "alpha.yaml").expect("the block form is valid");
    let inline = parse(&inline, "alpha.yaml").expect("the flow form is valid");
    assert_eq!(block, inline);
}

#[test]
fn keyword_lists_and_the_empty_list_are_audiences() {
    for (to, expected) in [
        ("[public]", Audience::Public),
        ("['private']", Audience::Private),
        ("[]", Audience::Private),
        ("\"public\"", Audience::Public),
    ] {
        let text =
            format!("tenant: alpha\npublishes:\n  - object: a.so\n    sha256: {COUNTER}\n    to: {to}\n");
        let policy = parse(&text, "alpha.yaml").unwrap_or_else(|error| panic!("`to: {to}`: {error}"));
        assert_eq!(policy.publishes[0].to, expected, "to: {to}");
    }
}

#[test]
fn empty_sections_are_allowed_when_written_as_empty_collections() {
    let text = "tenant: alpha\npublishes: []\naccepts: {}\nlimits: {}\n";
    let policy = parse(text, "alpha.yaml").expect("the policy is valid");
    assert!(policy.publishes.is_empty());
    assert_eq!(policy.accepts, Acceptance::default());
    assert_eq!(policy.limits, Limits::default());
}

#[test]
fn windows_line_endings_a_byte_order_mark_and_hashes_inside_values_are_read() {
    let text = "\u{feff}tenant: alpha\r\npublishes:\r\n  - object: lib#1.so\r\n    sha256: ".to_string()
        + COUNTER
        + "\r\n    to: [beta]\r\n";
    let policy = parse(&text, "alpha.yaml").expect("the policy is valid");
    assert_eq!(policy.publishes[0].object, "lib#1.so");
}

#[test]
fn quoted_scalars_resolve_their_escapes() {
    let text = "tenant: alpha\npublishes:\n  - object: 'it''s.so'\n    sha256: ".to_string()
        + COUNTER
        + "\n    to: private\n  - object: \"\\u00e9t\\u00E9.so\"\n    sha256: "
        + SECRET
        + "\n    to: private\n";
    let policy = parse(&text, "alpha.yaml").expect("the policy is valid");
    assert_eq!(policy.publishes[0].object, "it's.so");
    assert_eq!(policy.publishes[1].object, "été.so");
}

#[test]
fn zero_limits_are_allowed_with_a_note() {
    let text = "tenant: alpha\nlimits:\n  cvms: 0\n  memory_total: 0\n  cls_bytes_per_cvm: 0\n";
    let (policy, notes) = parse_with_notes(text, "alpha.yaml").expect("zero limits are allowed");
    assert_eq!(policy.limits.cvms, Some(0));
    assert_eq!(policy.limits.cls_bytes_per_cvm, Some(0));
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(matches!(
        &notes[0],
        Note::ZeroLimit { file, line: 3, column: 9, tenant, field: "limits.cvms" }
            if file == "alpha.yaml" && tenant == "alpha"
    ));
    let message = notes[0].to_string();
    assert!(message.starts_with("alpha.yaml:3:9: note: limits.cvms is 0"), "{message}");
    assert!(message.contains("`alpha` may not run any cVM"), "{message}");
    assert!(matches!(&notes[1], Note::ZeroLimit { line: 4, field: "limits.memory_total", .. }));
    let (_, notes) = parse_with_notes(&valid_policy(), "alpha.yaml").expect("valid");
    assert!(notes.is_empty());
}

#[test]
fn digests_read_either_case_and_write_lowercase() {
    let uppercase = parse_digest(PUBLIC).expect("uppercase hex is a digest");
    assert_eq!(uppercase, [0xbb; 32]);
    assert_eq!(digest_hex(&uppercase), PUBLIC.to_lowercase());
    assert_eq!(parse_digest(&digest_hex(&digest(COUNTER))), Some(digest(COUNTER)));
    assert_eq!(parse_digest(&COUNTER[..62]), None);
    assert_eq!(parse_digest(&format!("{COUNTER}0")), None);
    assert_eq!(parse_digest(&format!("+f{}", &COUNTER[2..])), None);
    assert_eq!(parse_digest(&format!("{}g", &COUNTER[..63])), None);
    assert_eq!(parse_digest(&"é".repeat(32)), None);
}

#[test]
fn sizes_and_counts_read_every_spelling_and_refuse_the_rest() {
    assert_eq!(parse_size("16777216"), Ok(16 << 20));
    assert_eq!(parse_size("0x1000000"), Ok(16 << 20));
    assert_eq!(parse_size("16M"), Ok(16 << 20));
    assert_eq!(parse_size("16m"), Ok(16 << 20));
    assert_eq!(parse_size("64K"), Ok(64 << 10));
    assert_eq!(parse_size("1G"), Ok(1 << 30));
    assert_eq!(parse_size(""), Err(SizeProblem::Empty));
    assert_eq!(parse_size("M"), Err(SizeProblem::NotANumber));
    assert_eq!(parse_size("0x"), Err(SizeProblem::NotANumber));
    assert_eq!(parse_size("0x12G"), Err(SizeProblem::NotANumber));
    assert_eq!(parse_size("16MB"), Err(SizeProblem::UnknownSuffix("MB".into())));
    assert_eq!(parse_size("99999999999999G"), Err(SizeProblem::TooLarge));
    assert_eq!(parse_size("18446744073709551616"), Err(SizeProblem::TooLarge));
    assert_eq!(parse_count("4"), Ok(4));
    assert_eq!(parse_count("4K"), Err(SizeProblem::UnknownSuffix("K".into())));
    assert_eq!(parse_count("-1"), Err(SizeProblem::NotANumber));
    assert_eq!(format_size(16 << 20), "16M");
    assert_eq!(format_size(3 << 30), "3G");
    assert_eq!(format_size(1000), "1000");
    assert_eq!(format_size(0), "0");
}

#[test]
fn audiences_display_as_written() {
    assert_eq!(Audience::Tenants(vec!["beta".into(), "gamma".into()]).to_string(), "[beta, gamma]");
    assert_eq!(Audience::Public.to_string(), "public");
    assert_eq!(Audience::Private.to_string(), "private");
    assert!(Audience::Public.includes("anyone"));
    assert!(!Audience::Private.includes("alpha"));
    let tenants = Audience::Tenants(vec!["beta".into(), "gamma".into()]);
    assert!(tenants.same_as(&Audience::Tenants(vec!["gamma".into(), "beta".into()])));
    assert!(!tenants.same_as(&Audience::Tenants(vec!["beta".into()])));
}
