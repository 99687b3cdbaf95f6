//! Every malformed-policy check on single fields refuses with its own variant, and its
//! message names the file, the line and column and the offending field or value.
//! (Contradictory rules, and the checks across policies, are in `contradictions.rs`.)

mod common;

use common::{assert_mentions, publishing, refused, COUNTER, FILE};
use policy::{NameProblem, PolicyError, SizeProblem, SyntaxProblem};
#[test]
fn yaml_syntax_errors_name_the_file_line_and_column() {
    let error = refused("tenant: alpha\npublishes:\n  - object: &lib a.so\n");
    assert!(matches!(
        &error,
        PolicyError::Syntax { file, line: 3, column: 13, problem: SyntaxProblem::Anchor } if file == FILE
    ));
    assert_mentions(&error, &["alpha.yaml:3:13:", "anchor"]);
}

#[test]
fn unknown_fields_are_named_with_the_fields_allowed_there() {
    let cases: [(&str, usize, usize, &str, &str, &str); 4] = [
        ("tenant: alpha\nlimit:\n  cvms: 4\n", 2, 1, "the policy", "limit", "`limits`"),
        (
            "tenant: alpha\npublishes:\n  - object: a.so\n    sha: x\n",
            4,
            5,
            "publishes[0]",
            "sha",
            "`sha256`",
        ),
        ("tenant: alpha\naccepts:\n  publisher: [beta]\n", 3, 3, "accepts", "publisher", "`publishers`"),
        ("tenant: alpha\nlimits:\n  cpus: 4\n", 3, 3, "limits", "cpus", "`cls_bytes_per_cvm`"),
    ];
    for (text, expected_line, expected_column, expected_section, expected_field, allowed_field) in cases {
        let error = refused(text);
        let PolicyError::UnknownField { file, line, column, section, field, allowed } = &error else {
            panic!("expected UnknownField, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), *line, *column, section.as_str(), field.as_str()),
            (FILE, expected_line, expected_column, expected_section, expected_field)
        );
        assert!(allowed.contains(&allowed_field.trim_matches('`')));
        let location = format!("alpha.yaml:{expected_line}:{expected_column}:");
        assert_mentions(
            &error,
            &[&location, &format!("`{expected_field}`"), expected_section, allowed_field],
        );
    }
}

#[test]
fn a_missing_tenant_is_refused_even_in_an_empty_file() {
    for text in ["publishes: []\n", "", "# nothing but a comment\n\n"] {
        let error = refused(text);
        assert!(
            matches!(&error, PolicyError::MissingField { line: 1, column: 1, section, field: "tenant", .. }
                if section == "the policy"),
            "{text:?}: {error:?}"
        );
        assert_mentions(&error, &["alpha.yaml:1:1:", "`tenant`", "tenant: NAME"]);
    }
}

#[test]
fn a_publication_missing_a_field_is_refused() {
    let cases = [
        ("tenant: alpha\npublishes:\n  - sha256: x\n    to: private\n", "object"),
        ("tenant: alpha\npublishes:\n  - object: a.so\n    to: private\n", "sha256"),
        (&*format!("tenant: alpha\npublishes:\n  - object: a.so\n    sha256: {COUNTER}\n"), "to"),
    ];
    for (text, missing) in cases {
        let error = refused(text);
        assert!(
            matches!(&error, PolicyError::MissingField { line: 3, column: 5, section, field, .. }
                if section == "publishes[0]" && *field == missing),
            "{error:?}"
        );
        assert_mentions(&error, &["alpha.yaml:3:5:", "publishes[0]", &format!("`{missing}`")]);
    }
}

#[test]
fn values_of_the_wrong_kind_are_refused() {
    let to_a_name = publishing(&[("a.so", COUNTER, "beta")]);
    let to_a_mapping = publishing(&[("a.so", COUNTER, "{}")]);
    let cases: [(&str, usize, usize, &str, &str); 10] = [
        ("tenant: [alpha]\n", 1, 9, "tenant", "a list"),
        ("tenant: ~\n", 1, 9, "tenant", "empty"),
        ("- tenant: alpha\n", 1, 1, "the policy", "a list"),
        ("tenant: alpha\npublishes: libcounter.so\n", 2, 12, "publishes", "the text `libcounter.so`"),
        ("tenant: alpha\npublishes:\n", 2, 1, "publishes", "empty"),
        (&to_a_name, 5, 9, "publishes[0].to", "the text `beta`"),
        (&to_a_mapping, 5, 9, "publishes[0].to", "a mapping"),
        ("tenant: alpha\naccepts:\n  publishers: beta\n", 3, 15, "accepts.publishers", "the text `beta`"),
        ("tenant: alpha\nlimits: [4]\n", 2, 9, "limits", "a list"),
        ("tenant: alpha\nlimits:\n  cvms: [4]\n", 3, 9, "limits.cvms", "a list"),
    ];
    for (text, expected_line, expected_column, expected_field, expected_found) in cases {
        let error = refused(text);
        let PolicyError::WrongType { file, line, column, field, found, .. } = &error else {
            panic!("{text:?}: expected WrongType, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), *line, *column, field.as_str(), found.as_str()),
            (FILE, expected_line, expected_column, expected_field, expected_found),
            "{text:?}"
        );
        let location = format!("alpha.yaml:{expected_line}:{expected_column}:");
        assert_mentions(&error, &[&location, expected_field, expected_found, "must be"]);
    }
}

#[test]
fn bad_tenant_names_are_refused() {
    let cases: [(&str, usize, usize, &str, &str, NameProblem); 4] = [
        ("tenant: al pha\n", 1, 9, "tenant", "al pha", NameProblem::BadCharacter(' ')),
        ("tenant: public\n", 1, 9, "tenant", "public", NameProblem::Reserved),
        (
            &publishing(&[("a.so", COUNTER, "[be/ta]")]),
            5,
            10,
            "publishes[0].to[0]",
            "be/ta",
            NameProblem::BadCharacter('/'),
        ),
        (
            "tenant: alpha\naccepts:\n  publishers: ['']\n",
            3,
            16,
            "accepts.publishers[0]",
            "",
            NameProblem::Empty,
        ),
    ];
    for (text, expected_line, expected_column, expected_field, expected_name, expected_problem) in cases {
        let error = refused(text);
        let PolicyError::BadTenantName { file, line, column, field, name, problem } = &error else {
            panic!("{text:?}: expected BadTenantName, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), *line, *column, field.as_str(), name.as_str(), *problem),
            (FILE, expected_line, expected_column, expected_field, expected_name, expected_problem)
        );
        let location = format!("alpha.yaml:{expected_line}:{expected_column}:");
        assert_mentions(
            &error,
            &[&location, expected_field, &format!("`{expected_name}`"), "not a tenant name"],
        );
    }
    assert_mentions(&refused("tenant: public\n"), &["keywords of `to:`"]);
}

#[test]
fn bad_object_names_are_refused() {
    let long = "x".repeat(256);
    let cases = [
        ("lib/counter.so", "lib/counter.so", NameProblem::Slash, "`/`"),
        ("'..'", "..", NameProblem::Dots, "`..`"),
        ("''", "", NameProblem::Empty, "empty"),
        ("\"lib\\x01.so\"", "lib\u{1}.so", NameProblem::BadCharacter('\u{1}'), "control character"),
        (&long, &long, NameProblem::TooLong, "255 bytes"),
    ];
    for (written, expected_name, expected_problem, explanation) in cases {
        let error = refused(&publishing(&[(written, COUNTER, "private")]));
        let PolicyError::BadObjectName { file, line: 3, column: 13, field, name, problem } = &error else {
            panic!("{written}: expected BadObjectName at 3:13, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), field.as_str(), name.as_str(), *problem),
            (FILE, "publishes[0].object", expected_name, expected_problem)
        );
        assert_mentions(
            &error,
            &["alpha.yaml:3:13:", "publishes[0].object", explanation, "not an object name"],
        );
    }
}

#[test]
fn bad_digests_are_refused() {
    let non_hex = format!("{}g", &COUNTER[..63]);
    let cases = [
        (
            publishing(&[("a.so", "3f5a", "private")]),
            4,
            13,
            "publishes[0].sha256",
            "3f5a",
            "4 hexadecimal digits",
        ),
        (
            publishing(&[("a.so", &non_hex, "private")]),
            4,
            13,
            "publishes[0].sha256",
            &non_hex,
            "character 64 (`g`)",
        ),
        (
            String::from("tenant: alpha\naccepts:\n  digests: [xyz]\n"),
            3,
            13,
            "accepts.digests[0]",
            "xyz",
            "character 1 (`x`)",
        ),
    ];
    for (text, expected_line, expected_column, expected_field, expected_text, explanation) in cases {
        let error = refused(&text);
        let PolicyError::BadDigest { file, line, column, field, text } = &error else {
            panic!("expected BadDigest, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), *line, *column, field.as_str(), text.as_str()),
            (FILE, expected_line, expected_column, expected_field, expected_text)
        );
        let location = format!("alpha.yaml:{expected_line}:{expected_column}:");
        assert_mentions(&error, &[&location, expected_field, expected_text, explanation, "64"]);
    }
}

#[test]
fn bad_sizes_are_refused() {
    let cases = [
        ("memory_per_cvm: 16MB", "limits.memory_per_cvm", "16MB", SizeProblem::UnknownSuffix("MB".into())),
        ("memory_total: sixteen", "limits.memory_total", "sixteen", SizeProblem::NotANumber),
        (
            "cls_bytes_per_cvm: 99999999999999G",
            "limits.cls_bytes_per_cvm",
            "99999999999999G",
            SizeProblem::TooLarge,
        ),
    ];
    for (line_text, expected_field, expected_text, expected_problem) in cases {
        let error = refused(&format!("tenant: alpha\nlimits:\n  {line_text}\n"));
        let expected_column = line_text.find(": ").unwrap() + 5;
        let PolicyError::BadSize { file, line: 3, column, field, text, problem } = &error else {
            panic!("expected BadSize on line 3, got {error:?}");
        };
        assert_eq!(
            (file.as_str(), *column, field.as_str(), text.as_str(), problem),
            (FILE, expected_column, expected_field, expected_text, &expected_problem)
        );
        let location = format!("alpha.yaml:3:{expected_column}:");
        assert_mentions(
            &error,
            &[&location, expected_field, &format!("`{expected_text}`"), "not a size", "16M"],
        );
    }
}

#[test]
fn bad_counts_are_refused() {
    for (written, expected_problem) in [
        ("4M", SizeProblem::UnknownSuffix("M".into())),
        ("four", SizeProblem::NotANumber),
        ("-1", SizeProblem::NotANumber),
    ] {
        let error = refused(&format!("tenant: alpha\nlimits:\n  cvms: {written}\n"));
        assert!(
            matches!(&error, PolicyError::BadCount { line: 3, column: 9, field, text, problem, .. }
                if field == "limits.cvms" && text == written && *problem == expected_problem),
            "{error:?}"
        );
        assert_mentions(&error, &["alpha.yaml:3:9:", "limits.cvms", &format!("`{written}`"), "not a count"]);
    }
}
