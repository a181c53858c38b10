//! The machine-readable contract: the OpenAPI document is the one committed
//! under docs/, names every JSON route with exactly the methods the route table
//! serves, is served at `/api/openapi.json` with the interactive docs at
//! `/docs`; and what goes wrong before a handler runs (a wrong method, a bad
//! query string) still answers with the contract's error body.

use oee_testkit::Engine;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = oee_api::openapi::to_json();
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the document the code generates; run\n  \
         cargo run -p oee-api -- openapi > docs/openapi.json\nand commit it (and update docs/asyncapi.yaml, \
         the Postman collection, the client crate and the dashboard if the interface changed)"
    );
}

/// Every schema's examples (taken from real responses) carry exactly the fields
/// the schema names, its required ones included, one level down as well.
#[test]
fn the_examples_have_the_fields_their_schemas_name() {
    let doc = oee_api::openapi::document();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let resolve = |schema: &Value| -> Option<Value> {
        let name = schema["$ref"].as_str()?.strip_prefix("#/components/schemas/")?;
        schemas.get(name).cloned()
    };
    fn check(name: &str, schema: &Value, example: &Value, resolve: &dyn Fn(&Value) -> Option<Value>, depth: u8) {
        let (Some(properties), Some(fields)) = (schema["properties"].as_object(), example.as_object()) else { return };
        for field in fields.keys() {
            assert!(properties.contains_key(field), "{name}: the example has {field:?}, the schema does not");
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().expect("a name");
            assert!(fields.contains_key(required), "{name}: the example lacks the required {required:?}");
        }
        if depth == 0 {
            return;
        }
        for (field, value) in fields {
            let property = &properties[field];
            let inner = resolve(property).or_else(|| resolve(&property["items"]));
            let values: Vec<&Value> = value.as_array().map_or_else(|| vec![value], |items| items.iter().collect());
            if let Some(inner) = inner {
                for value in values {
                    check(&format!("{name}.{field}"), &inner, value, resolve, depth - 1);
                }
            }
        }
    }
    let mut checked = 0;
    for (name, schema) in schemas {
        for example in schema["examples"].as_array().into_iter().flatten() {
            check(name, schema, example, &resolve, 2);
            checked += 1;
        }
    }
    assert!(checked >= 4, "the real responses' examples are in the document");
}

/// The methods the document gives a path, upper case.
fn documented(doc: &Value, path: &str) -> BTreeSet<String> {
    doc["paths"][path]
        .as_object()
        .map(|ops| ops.keys().filter(|k| *k != "parameters").map(|k| k.to_ascii_uppercase()).collect())
        .unwrap_or_default()
}

#[test]
fn the_document_and_the_route_table_name_the_same_routes_and_methods() {
    let doc = oee_api::openapi::document();
    let mut served = BTreeSet::new();
    for (pattern, allow) in oee_api::routes::allowed_methods() {
        let allowed: BTreeSet<String> = allow.split(", ").map(str::to_owned).collect();
        assert_eq!(documented(&doc, pattern), allowed, "{pattern}: the document's methods vs the Allow header");
        served.insert(pattern.to_owned());
    }
    let paths: BTreeSet<String> = doc["paths"].as_object().expect("paths").keys().cloned().collect();
    let operational: BTreeSet<String> = ["/health", "/ready", "/metrics"].map(str::to_owned).into();
    let undocumented: Vec<_> = served.difference(&paths).collect();
    let unserved: Vec<_> = paths.difference(&served).filter(|p| !operational.contains(*p)).collect();
    assert!(undocumented.is_empty(), "served but not in the document: {undocumented:?}");
    assert!(unserved.is_empty(), "in the document but not served: {unserved:?}");
    // Every operation that can refuse a request documents the error body.
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let responses = op["responses"].as_object().expect("responses");
            for (status, response) in responses {
                if status.starts_with('4') || (status.starts_with('5') && path.starts_with("/api")) {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_docs_are_served_without_a_key() {
    let engine =
        Engine::builder().without_worker().configure(|s| s.auth = oee_runtime::AuthMode::Required).start().await;
    let response = engine.http.get(engine.url(0, "/api/openapi.json")).send().await.expect("send");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.expect("text"), oee_api::openapi::to_json());

    let root = engine.http.get(engine.url(0, "/docs")).send().await.expect("send");
    assert_eq!(root.url().path(), "/docs/", "/docs redirects to /docs/");
    assert_eq!(root.status().as_u16(), 200);
    let csp = root.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let page = root.text().await.expect("html");
    assert!(page.contains("swagger-initializer.js"), "{page}");
    assert!(!page.contains("<script>"), "no inline script, or the CSP would block it");
    let init = engine.http.get(engine.url(0, "/docs/swagger-initializer.js")).send().await.expect("send");
    assert!(init.text().await.expect("js").contains("/api/openapi.json"), "the UI loads this document");
    let missing = engine.http.get(engine.url(0, "/docs/no-such-file.js")).send().await.expect("send");
    assert_eq!(missing.status().as_u16(), 404);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_gets_405_with_allow_and_bad_queries_get_the_error_body() {
    let engine = Engine::builder().without_worker().start().await;
    for (method, path, allow) in [
        ("PUT", "/api/orders", "GET"),
        ("DELETE", "/api/orders/execute", "POST"),
        ("PATCH", "/api/admin/keys", "GET, POST"),
        ("GET", "/api/ws-tickets", "POST"),
        ("POST", "/api/openapi.json", "GET"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = engine.http.request(method.clone(), engine.url(0, path)).send().await.expect("send");
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED", "{method} {path}: {body}");
    }
    for (path, field) in [
        ("/api/orders?limit=abc", Some("limit")),
        ("/api/orders?limit=0", Some("limit")),
        ("/api/orders?status=nope", Some("status")),
        ("/api/orders?before=nope", Some("before")),
        ("/api/orders?limit=%FF", None),
    ] {
        let (status, body) = engine.get(0, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(["INVALID_PARAMETER"].contains(&body["error"]["code"].as_str().unwrap_or_default()), "{path}: {body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{path}: {body}");
        }
    }
    engine.stop().await;
}
