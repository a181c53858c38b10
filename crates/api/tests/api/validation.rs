//! Every refusal has its status and stable code, and leaves nothing behind.

use oee_testkit::Engine;
use serde_json::Value;

/// (body, expected status, expected code, expected field)
const BAD_BODIES: &[(&str, u16, &str, Option<&str>)] = &[
    ("", 400, "INVALID_JSON", None),
    ("{", 400, "INVALID_JSON", None),
    ("[]", 400, "INVALID_JSON", None),
    (r#"{"tokenIn":"SOL","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, 400, "DUPLICATE_FIELD", None),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","amount":"1"}"#, 400, "DUPLICATE_FIELD", Some("amount")),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","extra":true}"#, 400, "UNKNOWN_FIELD", None),
    (r#"{"tokenOut":"USDC","amountIn":"1"}"#, 400, "MISSING_FIELD", Some("tokenIn")),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC"}"#, 400, "MISSING_FIELD", Some("amountIn")),
    (r#"{"type":7,"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, 400, "INVALID_ORDER_TYPE", Some("type")),
    (
        r#"{"type":"stop","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#,
        422,
        "UNSUPPORTED_ORDER_TYPE",
        Some("type"),
    ),
    (r#"{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, 400, "MISSING_FIELD", Some("limitPrice")),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"abc"}"#, 400, "INVALID_AMOUNT", Some("amountIn")),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":0}"#, 400, "INVALID_AMOUNT", Some("amountIn")),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"-2"}"#, 400, "INVALID_AMOUNT", Some("amountIn")),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.0000000001"}"#, 400, "TOO_MANY_DECIMALS", Some("amountIn")),
    (
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"99999999999999999999"}"#,
        400,
        "AMOUNT_TOO_LARGE",
        Some("amountIn"),
    ),
    (r#"{"tokenIn":"DOGE","tokenOut":"USDC","amountIn":"1"}"#, 400, "UNKNOWN_TOKEN", Some("tokenIn")),
    (r#"{"tokenIn":"SOL","tokenOut":"wsol","amountIn":"1"}"#, 400, "SAME_TOKEN", Some("tokenOut")),
    (
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":0}"#,
        400,
        "INVALID_SLIPPAGE",
        Some("slippageBps"),
    ),
    (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippage":0.9}"#, 400, "INVALID_SLIPPAGE", Some("slippage")),
    (
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","userId":"no spaces"}"#,
        400,
        "INVALID_USER_ID",
        Some("userId"),
    ),
    (r#"{"tokenIn":"BONK","tokenOut":"USDC","amountIn":"1"}"#, 422, "NO_ROUTE", None),
];

async fn assert_nothing_stored(engine: &Engine) {
    let db = engine.env.db().await.expect("db");
    let orders: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    let events: i64 = db.query_one("SELECT count(*) FROM order_events", &[]).await.expect("count").get(0);
    assert_eq!((orders, events), (0, 0), "a refused request left rows behind");
    let (_, stats) = engine.get(0, "/api/queue/stats").await;
    assert_eq!(stats["length"], 0, "a refused request was queued: {stats}");
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert_eq!(active["count"], 0, "a refused request is active: {active}");
}

fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str, field: Option<&str>, what: &str) {
    assert_eq!(status, expected_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    assert_eq!(body["error"]["field"].as_str(), field, "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_body_is_refused_with_its_code_and_nothing_is_stored() {
    let engine = Engine::builder().without_worker().start().await;
    for (body, status, code, field) in BAD_BODIES {
        let (got, reply) = engine.submit(body).await;
        assert_error(got, &reply, *status, code, *field, body);
    }
    assert_nothing_stored(&engine).await;
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_level_refusals() {
    let engine = Engine::builder().without_worker().start().await;
    let url = engine.url(0, "/api/orders/execute");
    let body = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#;

    let plain = engine.http.post(&url).header("content-type", "text/plain").body(body).send().await.expect("send");
    let status = plain.status().as_u16();
    assert_error(status, &plain.json().await.expect("json"), 415, "UNSUPPORTED_MEDIA_TYPE", None, "text/plain");

    let none = engine.http.post(&url).body(body).send().await.expect("send");
    let status = none.status().as_u16();
    assert_error(status, &none.json().await.expect("json"), 415, "UNSUPPORTED_MEDIA_TYPE", None, "no content type");

    let huge = format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","userId":"{}"}}"#, "a".repeat(17 * 1024));
    let (status, reply) = engine.submit(&huge).await;
    assert_error(status, &reply, 413, "PAYLOAD_TOO_LARGE", None, "17 KiB body");

    let charset = engine
        .http
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","type":"stop"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(charset.status().as_u16(), 422, "JSON with a charset is JSON");

    let bad_key = engine
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("idempotency-key", "")
        .body(body)
        .send()
        .await
        .expect("send");
    let status = bad_key.status().as_u16();
    assert_error(status, &bad_key.json().await.expect("json"), 400, "INVALID_IDEMPOTENCY_KEY", None, "empty key");

    assert_nothing_stored(&engine).await;
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things_are_not_found_and_bad_ids_are_refused() {
    let engine = Engine::builder().without_worker().start().await;
    let missing = uuid::Uuid::now_v7();
    let (status, body) = engine.get(0, &format!("/api/orders/{missing}")).await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND", None, "unknown order");
    let (status, body) = engine.get(0, "/api/orders/not-a-uuid").await;
    assert_error(status, &body, 400, "INVALID_ORDER_ID", None, "malformed id");
    let (status, body) = engine.get(0, "/api/nothing/here").await;
    assert_error(status, &body, 404, "NOT_FOUND", None, "unknown route");
    let delete = engine.http.delete(engine.url(0, "/api/orders/execute")).send().await.expect("send");
    let status = delete.status().as_u16();
    assert_error(status, &delete.json().await.expect("json"), 405, "METHOD_NOT_ALLOWED", None, "DELETE");

    // An unknown order's socket is refused before the upgrade.
    let url = engine.ws_url(0, &format!("/api/orders/{missing}/ws"));
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 404)
        }
        other => panic!("expected a 404 before upgrading, got {other:?}"),
    }
    engine.stop().await;
}
