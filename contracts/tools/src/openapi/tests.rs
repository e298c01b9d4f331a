use std::path::{Path, PathBuf};

use super::*;
use crate::diff::Compat;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi")
}

fn load(relative: &str) -> OpenApi {
    let path = fixtures().join(relative);
    OpenApi::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes `text` to a fresh file `name` in a scratch directory and loads it.
fn load_text(name: &str, text: &str) -> Result<OpenApi, crate::index::ContractError> {
    let dir = std::env::temp_dir().join(format!(
        "qalens-openapi-{}-{}",
        std::process::id(),
        name.replace('/', "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    OpenApi::load(&path)
}

/// Every committed spec pair (`tests/fixtures/openapi/pairs`) gets the verdict its
/// `expected.tsv` line gives; every disagreement is listed.
#[test]
fn every_committed_spec_pair_gets_its_expected_verdict() {
    let dir = fixtures().join("pairs");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut wrong = Vec::new();
    let mut cases = 0;
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut fields = line.split('\t');
        let (Some(case), Some(verdict)) = (fields.next(), fields.next()) else {
            panic!("expected.tsv: bad line {line:?}");
        };
        cases += 1;
        let old = load(&format!("pairs/{case}/old.yaml"));
        let new = load(&format!("pairs/{case}/new.yaml"));
        let report = diff(&old, &new);
        let seen = if report.breaking().is_empty() {
            "compatible"
        } else {
            "breaking"
        };
        if seen != verdict {
            wrong.push(format!(
                "{case}: expected {verdict}, saw {seen}:\n{}",
                render(&report)
            ));
        }
        if verdict == "compatible" && case == "ref-inlined" {
            assert!(report.changes.is_empty(), "{}", render(&report));
        }
    }
    assert!(cases >= 30, "only {cases} cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn a_change_names_the_operation_the_part_and_the_json_path() {
    let old = load("pairs/response-enum-value-added/old.yaml");
    let new = load("pairs/response-enum-value-added/new.yaml");
    let text = render(&diff(&old, &new));
    assert!(
        text.contains(
            "BREAKING getPet (GET /pets/{id}) response 200 application/json /components/schemas/Pet/properties/status/enum:"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("3 breaking changes: listPets (GET /pets), getPet (GET /pets/{id}), createPet (POST /pets)"),
        "{text}"
    );
    let old = load("pairs/required-query-parameter-added/old.yaml");
    let new = load("pairs/required-query-parameter-added/new.yaml");
    let text = render(&diff(&old, &new));
    assert_eq!(
        text.lines().next(),
        Some(
            "BREAKING listPets (GET /pets) query parameter `owner`: required parameter added (clients that do not send it are refused)"
        ),
        "{text}"
    );
    let report = diff(&old, &old);
    assert!(report.changes.is_empty());
    assert!(render(&report).ends_with("no changes\nno breaking change"));
}

#[test]
fn relative_file_refs_are_bundled_and_30_schemas_converted() {
    let v1 = load("shop/v1.yaml");
    assert_eq!(v1.version, Version::V30);
    assert_eq!(v1.base_path, "/api");
    let op = &v1.operations[0];
    assert_eq!(op.label(), "getItem (GET /items/{sku})");
    // The path-level parameter is inherited, the header's name lower-cased.
    let names: Vec<String> = op
        .parameters
        .keys()
        .map(|(l, n)| format!("{l}:{n}"))
        .collect();
    assert_eq!(names, ["header:x-trace", "path:sku"]);
    let v2 = load("shop/v2.yaml");
    let report = diff(&v1, &v2);
    let text = render(&report);
    // The discount's maximum went up in a response: readers may get values they never saw.
    assert_eq!(report.breaking().len(), 1, "{text}");
    assert!(
        text.contains("getItem (GET /items/{sku}) response 200 application/json /x-qalens-files/schemas~1item-v2.yaml/definitions/Discount/maximum"),
        "{text}"
    );
}

#[test]
fn responses_are_checked_against_their_operation() {
    let shop = load("shop/v1.yaml");
    let ok = r#"{"sku": "ABC-1", "price_cents": 5, "discount": null}"#;
    let url = "http://127.0.0.1:8080/api/items/ABC-1?x=1";
    assert_eq!(
        shop.check_response("GET", url, 200, Some("application/json; charset=utf-8"), ok),
        Ok("getItem (GET /items/{sku}) response 200 application/json".to_owned())
    );
    // price_cents: 0 breaks the converted exclusive minimum; discount 2 its maximum.
    let bad = r#"{"sku": "ABC-1", "price_cents": 0, "discount": 2}"#;
    let err = shop
        .check_response("GET", url, 200, Some("application/json"), bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "getItem (GET /items/{sku}) response 200 application/json does not match its schema:"
        ),
        "{err}"
    );
    assert!(
        err.contains("/price_cents: 0 is less than or equal to the minimum of 0"),
        "{err}"
    );
    assert!(
        err.contains("/discount: 2 is greater than the maximum of 1"),
        "{err}"
    );
    // Statuses without their own entry fall to `default`.
    let problem = shop.check_response(
        "GET",
        url,
        503,
        Some("application/problem+json"),
        r#"{"status": 503}"#,
    );
    assert_eq!(
        problem,
        Ok("getItem (GET /items/{sku}) response default application/problem+json".to_owned())
    );
    let wrong_media = shop
        .check_response("GET", url, 200, Some("text/html"), "<p>")
        .unwrap_err()
        .to_string();
    assert_eq!(
        wrong_media,
        "getItem (GET /items/{sku}): response 200 is documented as application/json, not text/html"
    );
    let nowhere = shop.check_response("POST", url, 200, None, "").unwrap_err();
    assert!(matches!(nowhere, Mismatch::NoOperation { .. }), "{nowhere}");
    assert_eq!(
        nowhere.to_string(),
        "POST /api/items/ABC-1 matches no operation of the document (it has: GET /items/{sku})"
    );
    let not_json = shop
        .check_response("GET", url, 200, Some("application/json"), "nope")
        .unwrap_err()
        .to_string();
    assert!(
        not_json.contains("(root): the body is not JSON"),
        "{not_json}"
    );
}

#[test]
fn an_undocumented_status_is_named() {
    let pets = load("pairs/operation-added/old.yaml");
    let err = pets
        .check_response("GET", "/pets", 500, Some("application/json"), "{}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "listPets (GET /pets): the document lists no response 500 (it lists 200)"
    );
}

#[test]
fn a_document_that_cannot_be_used_says_where() {
    let err = load_text("bad.yaml", "openapi: 3.0.3\npaths:\n  /a: [\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.yaml:4:1: invalid YAML"), "{err}");
    let err = load_text("swagger.yaml", "swagger: '2.0'\npaths: {}\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no top-level `openapi` key"), "{err}");
    let err = load_text("v2.yaml", "openapi: 2.0\npaths: {}\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("only OpenAPI 3.0 and 3.1"), "{err}");
    let dangling = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: { $ref: '#/components/schemas/Nope' }\n";
    let err = load_text("dangling.yaml", dangling)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dangling.yaml: the schema does not compile: /paths/~1a/get/responses/200/content/application~1json:"),
        "{err}"
    );
    let missing_file = dangling.replace("#/components/schemas/Nope", "nope.yaml");
    let err = load_text("missing.yaml", &missing_file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("$ref \"nope.yaml\": no such file"), "{err}");
    let bad_param = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      parameters: [{ $ref: '#/components/parameters/P' }]\n      responses: {}\n";
    let err = load_text("param.yaml", bad_param).unwrap_err().to_string();
    assert!(
        err.contains("param.yaml: /paths/~1a/get/parameters/0: $ref \"#/components/parameters/P\" points to nothing"),
        "{err}"
    );
}

#[test]
fn json_documents_and_31_schemas_are_read_as_written() {
    let doc = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/n": {"get": {"responses": {"2XX": {"description": "n", "content": {
            "application/json": {"schema": {"type": ["integer", "null"], "exclusiveMinimum": 0}}}}}}}}}"#;
    let api = load_text("api.json", doc).unwrap();
    assert_eq!(api.version, Version::V31);
    assert!(
        api.check_response("GET", "/n", 201, Some("application/json"), "null")
            .is_ok()
    );
    let err = api
        .check_response("GET", "/n", 200, Some("application/json"), "0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("GET /n response 2XX application/json does not match its schema:\n  (root): 0 is less than or equal to the minimum of 0"), "{err}");
}

#[test]
fn openapi_documents_are_told_from_contract_directories() {
    assert!(is_openapi(&fixtures().join("shop/v1.yaml")));
    assert!(!is_openapi(&fixtures().join("shop/schemas/item.yaml")));
    assert!(!is_openapi(&fixtures().join("shop")));
    let _ = Compat::Breaking;
}
