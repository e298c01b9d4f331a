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
        r#"within 10 seconds the queue "jobs.dlq" has 3 messages ready"#,
    );
    let types: Vec<&Value> = a
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["parameterTypeName"])
        .collect();
    assert_eq!(types, [&json!("int"), &json!("string"), &json!("int")]);
    assert_eq!(a[2]["group"], json!({"start": 43, "value": "3"}));
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

/// The text as the HTML formatter (`@cucumber/html-formatter` 24, its step-text function)
/// puts it together from the arguments, in UTF-16 code units as JavaScript does: for each
/// argument, the text from where it stands to the argument's start (to the end when the
/// argument has no start), then the argument's value, moving on by both only when the
/// value is not empty; then the rest of the text.
fn as_shown(text: &str, args: &Value) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    // JavaScript's `slice`: clamped, empty when the end comes before the start.
    let slice = |from: usize, to: usize| {
        let to = to.min(units.len());
        String::from_utf16_lossy(units.get(from..to.max(from)).unwrap_or(&[]))
    };
    let mut out = String::new();
    let mut offset = 0;
    for arg in args.as_array().unwrap() {
        let group = &arg["group"];
        let start = group["start"].as_u64().map_or(units.len(), |s| s as usize);
        let before = slice(offset, start);
        out.push_str(&before);
        if let Some(value) = group["value"].as_str().filter(|v| !v.is_empty()) {
            out.push_str(value);
            offset += before.encode_utf16().count() + value.encode_utf16().count();
        }
    }
    out.push_str(&slice(offset, units.len()));
    out
}

#[test]
fn every_catalog_example_is_shown_as_its_text() {
    let definitions = crate::messages::Definition::all();
    let matchers: Vec<_> = definitions
        .iter()
        .map(|d| {
            (
                d,
                Matcher::new(&d.pattern).expect("every definition compiles"),
            )
        })
        .collect();
    let mut checked = 0;
    for doc in qalens_steps::catalog::all_docs() {
        let (keyword, text) = qalens_steps::catalog::split_keyword(doc.example).unwrap();
        for (d, m) in matchers.iter().filter(|(d, _)| d.keyword == keyword) {
            if let Some(args) = m.arguments(text) {
                assert_eq!(as_shown(text, &args), text, "{} with {args}", d.pattern);
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 50,
        "only {checked} examples matched a definition"
    );
    // The model garbles what the real formatter garbled: an argument per regex group, the
    // old way, doubles the closing quote.
    let pattern = compiled("a {word} client {string}");
    let text = r#"a free client "alice""#;
    let caps = Regex::new(&pattern).unwrap().captures(text).unwrap();
    let per_group: Vec<Value> = caps
        .iter()
        .skip(1)
        .map(|g| match g {
            Some(m) => json!({"group": {"start": m.start(), "value": m.as_str()}}),
            None => json!({"group": {}}),
        })
        .collect();
    assert_eq!(
        as_shown(text, &Value::Array(per_group)),
        r#"a free client "alice"""#
    );
}

#[test]
fn positions_count_utf16_units_as_the_formatter_does() {
    let pattern = compiled("the note {string} is sent to {word}");
    let text = r#"the note "café ☕ 𝄞" is sent to zoë"#;
    let a = args(&pattern, text);
    // 37 in bytes.
    assert_eq!(a[1]["group"]["start"], json!(32));
    assert_eq!(as_shown(text, &a), text);
}

/// Each step definition is described as it is written: the `expr = "..."` of its
/// attribute as a Cucumber Expression, a `regex = "..."` as a regular expression.
#[test]
fn every_definition_is_described_as_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (mut expressions, mut regexes) = (0, 0);
    for d in crate::messages::Definition::all() {
        let (file, line) = d.defined_at.rsplit_once(':').unwrap();
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        let line: usize = line.parse().unwrap();
        // The attribute starts at its line and ends at the first `)]`.
        let rest: String = source.lines().skip(line - 1).collect::<Vec<_>>().join("\n");
        let end = rest.find(")]").unwrap() + 2;
        let attr = syn::parse::Parser::parse_str(syn::Attribute::parse_outer, &rest[..end])
            .unwrap_or_else(|e| panic!("{}: {e}", d.defined_at));
        let arg: syn::MetaNameValue = attr[0].parse_args().unwrap();
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(written),
            ..
        }) = arg.value
        else {
            panic!("{}: not a string literal", d.defined_at);
        };
        let kind = if arg.path.is_ident("expr") {
            expressions += 1;
            "CUCUMBER_EXPRESSION"
        } else {
            regexes += 1;
            "REGULAR_EXPRESSION"
        };
        assert_eq!(
            Matcher::new(&d.pattern).unwrap().pattern(),
            json!({"source": written.value(), "type": kind}),
            "{}",
            d.defined_at
        );
    }
    assert!(expressions > 20 && regexes > 5, "{expressions} {regexes}");
}
