//! Every YAML construct outside the subset, and every malformed line, is refused with
//! its own `SyntaxProblem` at the line and column where it starts.

use policy::{parse, PolicyError, SyntaxProblem};

/// Parses `text` as `t.yaml`, expecting a syntax error; returns its line, column and
/// problem after checking that the message names the file and place.
fn syntax_error(text: &str) -> (usize, usize, SyntaxProblem) {
    let error = match parse(text, "t.yaml") {
        Ok(policy) => panic!("{text:?} should be refused, but parsed as {policy:?}"),
        Err(error) => error,
    };
    let message = error.to_string();
    let PolicyError::Syntax { file, line, column, problem } = error else {
        panic!("{text:?}: expected a syntax error, got {message}");
    };
    assert_eq!(file, "t.yaml");
    let location = format!("t.yaml:{line}:{column}: ");
    assert!(message.starts_with(&location), "{message}");
    assert_eq!(message[location.len()..], problem.to_string());
    (line, column, problem)
}

#[track_caller]
fn assert_refused(text: &str, line: usize, column: usize, problem: SyntaxProblem, words: &str) {
    let (found_line, found_column, found_problem) = syntax_error(text);
    assert_eq!((found_line, found_column, &found_problem), (line, column, &problem), "{text:?}");
    let message = found_problem.to_string();
    assert!(message.contains(words), "{text:?}: `{message}` should mention `{words}`");
}

#[test]
fn control_characters() {
    assert_refused("tenant: al\u{7}pha\n", 1, 11, SyntaxProblem::ControlCharacter('\u{7}'), "U+0007");
    assert_refused("tenant: alpha\rx\n", 1, 14, SyntaxProblem::ControlCharacter('\r'), "control character");
}

#[test]
fn tabs_in_indentation() {
    assert_refused("tenant: alpha\nlimits:\n\tcvms: 4\n", 3, 1, SyntaxProblem::Tab, "spaces");
    assert_refused("tenant: alpha\npublishes:\n  -\tobject: a\n", 3, 4, SyntaxProblem::Tab, "tab");
}

#[test]
fn document_markers_after_the_start() {
    assert_refused("tenant: alpha\n---\ntenant: beta\n", 2, 1, SyntaxProblem::DocumentMarker, "one document");
    assert_refused("tenant: alpha\n...\n", 2, 1, SyntaxProblem::DocumentMarker, "one document");
    assert_refused("--- tenant: alpha\n", 1, 1, SyntaxProblem::DocumentMarker, "one document");
}

#[test]
fn directives() {
    assert_refused("%YAML 1.2\ntenant: alpha\n", 1, 1, SyntaxProblem::Directive, "directive");
}

#[test]
fn anchors_aliases_and_tags() {
    assert_refused("tenant: &name alpha\n", 1, 9, SyntaxProblem::Anchor, "anchor");
    assert_refused("tenant: *name\n", 1, 9, SyntaxProblem::Alias, "alias");
    assert_refused("tenant: !!str alpha\n", 1, 9, SyntaxProblem::Tag, "tag");
    assert_refused("publishes: [&a x]\n", 1, 13, SyntaxProblem::Anchor, "anchor");
}

#[test]
fn block_scalars() {
    assert_refused("tenant: |\n  alpha\n", 1, 9, SyntaxProblem::BlockScalar, "one line");
    assert_refused("tenant: >-\n  alpha\n", 1, 9, SyntaxProblem::BlockScalar, "one line");
}

#[test]
fn reserved_indicators() {
    assert_refused("tenant: @alpha\n", 1, 9, SyntaxProblem::ReservedIndicator('@'), "quote");
    assert_refused("tenant: `alpha`\n", 1, 9, SyntaxProblem::ReservedIndicator('`'), "quote");
}

#[test]
fn indicators_where_a_value_starts() {
    assert_refused("tenant: - alpha\n", 1, 9, SyntaxProblem::UnexpectedIndicator('-'), "own line");
    assert_refused("tenant: ]alpha\n", 1, 9, SyntaxProblem::UnexpectedIndicator(']'), "`]`");
    assert_refused("to: [a, b[c]]\n", 1, 10, SyntaxProblem::UnexpectedIndicator('['), "`[`");
}

#[test]
fn complex_keys() {
    assert_refused("? tenant\n: alpha\n", 1, 1, SyntaxProblem::ComplexKey, "`? `");
}

#[test]
fn empty_keys() {
    assert_refused("tenant: alpha\n: beta\n", 2, 1, SyntaxProblem::EmptyKey, "no key");
}

#[test]
fn flow_mappings() {
    assert_refused("accepts: {publishers: [beta]}\n", 1, 10, SyntaxProblem::FlowMapping, "`{}`");
}

#[test]
fn unclosed_quotes() {
    assert_refused("tenant: 'alpha\n", 1, 9, SyntaxProblem::UnclosedQuote('\''), "one line");
    assert_refused("tenant: \"alpha\n  beta\"\n", 1, 9, SyntaxProblem::UnclosedQuote('"'), "one line");
}

#[test]
fn bad_escapes() {
    assert_refused("tenant: \"al\\qpha\"\n", 1, 12, SyntaxProblem::BadEscape("\\q".into()), "`\\q`");
    assert_refused("tenant: \"a\\x4\"\n", 1, 11, SyntaxProblem::BadEscape("\\x4\"".into()), "escape");
    assert_refused("tenant: \"a\\uD800\"\n", 1, 11, SyntaxProblem::BadEscape("\\uD800".into()), "escape");
    assert_refused("tenant: \"alpha\\", 1, 15, SyntaxProblem::BadEscape("\\".into()), "end of the line");
}

#[test]
fn flow_sequences_must_close_on_their_line() {
    let text = "tenant: alpha\npublishes:\n  - object: a\n    to: [beta,\n      gamma]\n";
    assert_refused(text, 4, 9, SyntaxProblem::UnclosedFlowSequence, "one line");
    assert_refused("publishes: [a, b # c]\n", 1, 12, SyntaxProblem::UnclosedFlowSequence, "one line");
}

#[test]
fn empty_flow_entries() {
    assert_refused("publishes: [beta,,gamma]\n", 1, 18, SyntaxProblem::EmptyFlowEntry, "empty entry");
    assert_refused("publishes: [,]\n", 1, 13, SyntaxProblem::EmptyFlowEntry, "empty entry");
}

#[test]
fn text_after_a_value() {
    assert_refused("tenant: 'alpha' beta\n", 1, 17, SyntaxProblem::TextAfterValue("beta".into()), "`beta`");
    assert_refused("to: [a] b\n", 1, 9, SyntaxProblem::TextAfterValue("b".into()), "`b`");
    assert_refused("to: ['a' b]\n", 1, 10, SyntaxProblem::TextAfterValue("b]".into()), "`,`");
    assert_refused(
        "tenant: 'alpha'# comment\n",
        1,
        16,
        SyntaxProblem::TextAfterValue("# comment".into()),
        " #",
    );
}

#[test]
fn mappings_inside_values() {
    assert_refused("tenant: alpha: beta\n", 1, 14, SyntaxProblem::MappingInScalar, "quoted");
    assert_refused("to: [beta: gamma]\n", 1, 10, SyntaxProblem::MappingInScalar, "quoted");
}

#[test]
fn multi_line_scalars() {
    assert_refused("tenant: alpha\n  beta\n", 2, 3, SyntaxProblem::MultiLineScalar, "multi-line");
    assert_refused("publishes:\n  - a\n     b\n", 3, 6, SyntaxProblem::MultiLineScalar, "multi-line");
}

#[test]
fn indentation_that_matches_no_block() {
    let text = "tenant: alpha\nlimits:\n    cvms: 4\n  memory_total: 1M\n";
    assert_refused(text, 4, 3, SyntaxProblem::BadIndentation { expected: 1 }, "column 1");
    let text = "publishes:\n  - object: a\n   sha256: b\n";
    assert_refused(text, 3, 4, SyntaxProblem::BadIndentation { expected: 3 }, "column 3");
}

#[test]
fn lines_in_a_mapping_that_are_not_entries() {
    assert_refused("tenant: alpha\njust text\n", 2, 1, SyntaxProblem::ExpectedMappingEntry, "`key: value`");
    assert_refused("tenant: alpha\n- beta\n", 2, 1, SyntaxProblem::ExpectedMappingEntry, "`key: value`");
}

#[test]
fn lines_after_the_document() {
    assert_refused("- a\ntenant: b\n", 2, 1, SyntaxProblem::UnexpectedLine { document_line: 1 }, "line 1");
    assert_refused(
        "  tenant: alpha\nlimits: {}\n",
        2,
        1,
        SyntaxProblem::UnexpectedLine { document_line: 1 },
        "line 1",
    );
}

#[test]
fn duplicate_keys() {
    let problem = SyntaxProblem::DuplicateKey { key: "tenant".into(), first_line: 1 };
    assert_refused("tenant: alpha\ntenant: beta\n", 2, 1, problem, "first on line 1");
    let problem = SyntaxProblem::DuplicateKey { key: "to".into(), first_line: 3 };
    assert_refused("publishes:\n  - object: a\n    to: [b]\n    to: [c]\n", 4, 5, problem, "`to`");
}

#[test]
fn nesting_too_deep() {
    let flow = format!("tenant: {}{}\n", "[".repeat(40), "]".repeat(40));
    let (line, _, problem) = syntax_error(&flow);
    assert_eq!((line, problem), (1, SyntaxProblem::TooDeep));
    let block = format!("tenant: {}x\n", "- ".repeat(40));
    // `- ` after `tenant: ` is refused first; as a document of its own it nests too deep.
    let (_, _, problem) = syntax_error(&block);
    assert_eq!(problem, SyntaxProblem::UnexpectedIndicator('-'));
    let (line, _, problem) = syntax_error(&format!("{}x\n", "- ".repeat(40)));
    assert_eq!((line, problem), (1, SyntaxProblem::TooDeep));
    let indented: String = (0..40).map(|depth| format!("{}k{depth}:\n", " ".repeat(depth))).collect();
    let (line, _, problem) = syntax_error(&indented);
    assert_eq!(problem, SyntaxProblem::TooDeep);
    assert!(line > 10, "{line}");
}

#[test]
fn what_the_subset_allows_parses() {
    // A leading `---`, comments everywhere, a list at its key's indentation, quoted
    // keys, and a trailing comma in a flow list.
    let text = "--- # a policy\n\
                # comment\n\
                'tenant': alpha # trailing comment\n\
                accepts:\n\
                \x20 publishers:\n\
                \x20 - beta    \n\
                \x20 - \"gamma\"\n\
                \x20 # between entries\n\
                limits: {  }\n";
    let policy = parse(text, "t.yaml").unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(policy.accepts.publishers, ["beta", "gamma"]);
}
