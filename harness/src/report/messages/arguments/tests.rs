use super::*;

fn compiled(expression: &str) -> String {
    Expression::regex(expression).unwrap().as_str().to_string()
}

fn args(pattern: &str, text: &str) -> Value {
    Matcher::new(pattern)
        .unwrap()
        .arguments(text)
        .unwrap_or_else(|| panic!("{pattern} does not match {text}"))
}

#[test]
fn a_string_parameter_is_one_argument_spanning_its_quotes() {
    let pattern = compiled("a {word} client {string}");
    let m = Matcher::new(&pattern).unwrap();
    assert_eq!(
        m.pattern(),
        json!({"source": "a {word} client {string}", "type": "CUCUMBER_EXPRESSION"})
    );
    assert_eq!(
        args(&pattern, r#"a free client "contract-alice""#),
        json!([
            {"group": {"start": 2, "value": "free"}, "parameterTypeName": "word"},
            {"group": {"start": 14, "value": "\"contract-alice\"", "children": [
                {"start": 15, "value": "contract-alice"}, {}
            ]}, "parameterTypeName": "string"},
        ])
    );
    // Single quotes: the second style matched, the first is the empty child.
    assert_eq!(
        args(&pattern, "a free client 'bob'")[1],
        json!({"group": {"start": 14, "value": "'bob'", "children": [
            {}, {"start": 15, "value": "bob"}
        ]}, "parameterTypeName": "string"})
    );
    // An empty string still spans its two quotes.
    assert_eq!(
        args(&pattern, r#"a free client """#)[1]["group"]["value"],
        "\"\""
    );
}

#[test]
fn expressions_with_optionals_alternations_and_escapes_are_read_back() {
    for expression in [
        "within {int} seconds the queue {string} has at least {int} message(s) ready",
        "the client sends {word} {string} with the header {string} set to {string}",
        "the order is paid/cancelled/shipped",
        "the rate is {float} per second",
        "it logs {}",
        r"a literal \(parenthesis\) and a \/ slash",
        "plain text, no parameter",
    ] {
        let m = Matcher::new(&compiled(expression)).unwrap();
        assert_eq!(
            m.pattern(),
            json!({"source": expression, "type": "CUCUMBER_EXPRESSION"}),
            "{expression}"
        );
    }
    let pattern = compiled("within {int} seconds the queue {string} has {int} message(s) ready");
    let a = args(
        &pattern,
        r#"within 10 seconds the queue "orders.dlq" has 3 messages ready"#,
    );
    let types: Vec<&Value> = a
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["parameterTypeName"])
        .collect();
    assert_eq!(types, [&json!("int"), &json!("string"), &json!("int")]);
    assert_eq!(a[2]["group"], json!({"start": 45, "value": "3"}));
}

#[test]
fn a_regular_expression_has_one_argument_per_outer_group_with_nested_ones_as_children() {
    let pattern = r"^a (.*?)(?: and a (.*?))?$";
    assert_eq!(
        Matcher::new(pattern).unwrap().pattern(),
        json!({"source": pattern, "type": "REGULAR_EXPRESSION"})
    );
    // A group that took no part in the match has neither start nor value.
    assert_eq!(
        args(pattern, "a cucumber"),
        json!([{"group": {"start": 2, "value": "cucumber"}}, {"group": {}}])
    );
    assert_eq!(
        args(
            r"^the (\S+) container is (stopped|(un)?paused)$",
            "the api container is unpaused"
        ),
        json!([
            {"group": {"start": 4, "value": "api"}},
            {"group": {"start": 21, "value": "unpaused", "children": [
                {"start": 21, "value": "un"}
            ]}},
        ])
    );
    // Named groups that merely look like a `{string}` are not read as one.
    let lookalike = r#"^x (?:"(?P<__0_0>[a-z]*)"|'(?P<other>[a-z]*)')$"#;
    assert_eq!(
        args(lookalike, r#"x "y""#),
        json!([{"group": {"start": 3, "value": "y"}}, {"group": {}}])
    );
    assert!(Matcher::new("^(unclosed$").is_none());
}
