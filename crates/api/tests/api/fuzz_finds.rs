//! What the fuzzer (`scripts/contract fuzz`: schemathesis against the OpenAPI
//! document) found, each pinned down so that it stays fixed: a 5xx, or input
//! the document calls invalid that the server accepted.

use oee_testkit::Engine;
use serde_json::Value;

async fn post_key_request(engine: &Engine, body: &str) -> (u16, Value) {
    let resp = engine
        .http
        .post(engine.url(0, "/api/admin/keys"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn assert_invalid_parameter(status: u16, body: &Value, field: &str, what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], "INVALID_PARAMETER", "{what}: {body}");
    assert_eq!(body["error"]["field"], field, "{what}: {body}");
}

/// A key's account holding a NUL byte is refused with 400 (it reached
/// PostgreSQL, which cannot store one, and answered 500), as is any other
/// control character.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_account_with_control_characters_is_refused_not_a_server_error() {
    let engine = Engine::builder().without_worker().start().await;
    for body in [r#"{"account":"z\u0000Ï","rate":50}"#, r#"{"account":"desk\n1"}"#, r#"{"account":"a\u007f"}"#] {
        let (status, reply) = post_key_request(&engine, body).await;
        assert_invalid_parameter(status, &reply, "account", body);
    }
    let (status, reply) = post_key_request(&engine, &format!(r#"{{"account":"{}"}}"#, "é".repeat(64))).await;
    assert_eq!(status, 201, "64 characters (128 bytes) is within the limit: {reply}");
    engine.stop().await;
}

/// A key's `rate` and `burst` are bounded as the deployment's defaults are
/// (1..=1,000,000 and 0..=1,000,000): 2^31 was accepted although the document
/// gives a maximum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rate_or_burst_beyond_the_documented_maximum_is_refused() {
    let engine = Engine::builder().without_worker().start().await;
    for (body, field) in [
        (r#"{"account":"alice","rate":2147483648}"#, "rate"),
        (r#"{"account":"alice","rate":1000001}"#, "rate"),
        (r#"{"account":"alice","rate":0}"#, "rate"),
        (r#"{"account":"alice","burst":1000001}"#, "burst"),
    ] {
        let (status, reply) = post_key_request(&engine, body).await;
        assert_invalid_parameter(status, &reply, field, body);
    }
    let (status, reply) = post_key_request(&engine, r#"{"account":"alice","rate":1000000,"burst":1000000}"#).await;
    assert_eq!(status, 201, "the maximum itself is allowed: {reply}");
    engine.stop().await;
}

/// The history's `userId` filter is validated as an order's `userId` is: an
/// empty one was answered 200 with nothing, against the documented pattern.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_user_id_filter_is_refused() {
    let engine = Engine::builder().without_worker().start().await;
    for query in ["userId=", "userId=a%20b", "userId=a%00b", &format!("userId={}", "a".repeat(65))] {
        let (status, reply) = engine.get(0, &format!("/api/orders?{query}")).await;
        assert_invalid_parameter(status, &reply, "userId", query);
    }
    let (status, reply) = engine.get(0, "/api/orders?userId=alice.desk-1:x_y").await;
    assert_eq!(status, 200, "{reply}");
    engine.stop().await;
}

/// A `null` field counts as absent, so an alias sent as `null` beside its name
/// (or a name as `null` beside its alias) is accepted; the document said
/// `amount` and `amountIn` could not be `null`, nor present together at all.
/// Now it says "given" means present and not null, as the server reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_alias_is_absent_for_the_server_and_for_the_document() {
    let engine = Engine::builder().without_worker().start().await;
    for body in [
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","amount":null}"#,
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":null,"amount":"1.5"}"#,
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","type":null,"orderType":"market"}"#,
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":null,"slippage":0.01}"#,
    ] {
        let (status, reply) = engine.submit(body).await;
        assert_eq!(status, 202, "{body}: {reply}");
    }
    let (status, reply) = engine.submit(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":null}"#).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (400, Some("MISSING_FIELD")), "{reply}");
    engine.stop().await;

    let doc = oee_api::openapi::document();
    for name in ["OrderRequest", "SocketOrder"] {
        let schema = &doc["components"]["schemas"][name];
        for field in ["amountIn", "amount"] {
            let alternatives = schema["properties"][field]["anyOf"].as_array().map(Vec::as_slice).unwrap_or_default();
            assert!(
                alternatives.contains(&serde_json::json!({"type": "null"})),
                "{name}.{field} may be null: {schema}"
            );
        }
        let given =
            |field: &str| serde_json::json!({"required": [field], "properties": {field: {"not": {"type": "null"}}}});
        let constraints = schema["allOf"].as_array().expect("allOf");
        assert!(
            constraints.contains(&serde_json::json!({"anyOf": [given("amountIn"), given("amount")]})),
            "{name}: an amount is required only when not null: {schema}"
        );
        assert!(
            constraints.contains(&serde_json::json!({"not": {"allOf": [given("amountIn"), given("amount")]}})),
            "{name}: a name and its alias clash only when neither is null: {schema}"
        );
    }
}
