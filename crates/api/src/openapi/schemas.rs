//! JSON Schemas of the bodies that have no Rust type of their own to derive
//! from: responses the API writes field by field (orders, events, queue
//! statistics) and requests it validates field by field (an order body).
//!
//! Each schema says exactly what the server accepts or sends — fuzzing holds
//! the server to them (`scripts/test`: schemathesis sends schema-invalid input
//! and expects a 4xx, and checks every response against its schema).

use oee_domain::{ErrorCode, ErrorInfo, OrderStatus, RouteRecord};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

/// A type whose schema is written as JSON Schema (2020-12, as OpenAPI 3.1
/// uses), for shapes the derive cannot say (`oneOf` by status, mutually
/// exclusive aliases, `const`, `not`). utoipa's own model cannot hold every
/// keyword, so its components get a placeholder here, and
/// [`super::document`] puts the JSON in its place.
macro_rules! written {
    ($name:ident, $json:expr) => {
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                utoipa::openapi::schema::ObjectBuilder::new().into()
            }
        }
        impl ToSchema for $name {}
        impl Written for $name {
            fn json() -> Value {
                $json
            }
        }
    };
}

/// A schema written as JSON; see [`written!`].
pub trait Written: ToSchema {
    fn json() -> Value;
}

/// Every written schema by its component name.
pub fn written() -> Vec<(String, Value)> {
    fn entry<T: Written>() -> (String, Value) {
        (T::name().into_owned(), T::json())
    }
    vec![
        entry::<Amount>(),
        entry::<OrderRequest>(),
        entry::<SocketOrder>(),
        entry::<StatusEvent>(),
        entry::<Readiness>(),
        entry::<SocketAccepted>(),
        entry::<SocketRejected>(),
    ]
}

/// A positive decimal amount in token units, exactly as the parser reads one: a
/// JSON string of digits with an optional fraction and exponent, or a JSON
/// number (its literal text is read, never through a float).
const DECIMAL_PATTERN: &str = "^[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$";

/// A decimal amount of a token, in whole units: `"1.5"` SOL.
#[derive(Debug, Serialize)]
pub struct Amount;

written!(Amount, {
    json!({
        "description": "A positive amount in token units: a decimal string (exact) or a JSON number (its literal text is parsed exactly, never through a float). At most the token's decimals.",
        "oneOf": [
            {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 64, "examples": ["1.5"]},
            {"type": "number", "exclusiveMinimum": 0}
        ]
    })
});

/// The body of `POST /api/orders/execute`.
#[derive(Debug, Serialize)]
pub struct OrderRequest;

/// An optional positive decimal field: its text (exact), a JSON number, or null.
fn positive_decimal(description: &str, example: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 64, "examples": [example]},
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "null"}
        ]
    })
}

/// The fields an order body may carry, shared by the HTTP and socket forms.
fn order_properties() -> Value {
    json!({
        "type": {
            "description": "The order type (case-insensitive): `market` executes at once, `limit` rests `open` until the market returns its minimum, `sniper` rests `open` until a pool for its token exists, is open, deep enough and cheap enough (docs/ORDER_TYPES.md). Any other string is refused with 422 UNSUPPORTED_ORDER_TYPE.",
            "type": ["string", "null"], "enum": ["market", "limit", "sniper", null], "default": "market"
        },
        "orderType": {
            "description": "Alias of `type`, for clients of earlier implementations; not together with `type`.",
            "type": ["string", "null"], "enum": ["market", "limit", "sniper", null], "deprecated": true
        },
        "limitPrice": positive_decimal(
            "Limit orders: the least tokenOut per one tokenIn, as decimal text (at most 18 decimals). The order's minimum is ⌈amountIn × limitPrice⌉ in tokenOut's smallest unit. Exactly one of limitPrice and minAmountOut.",
            "150.5"
        ),
        "minAmountOut": {
            "anyOf": [{"$ref": "#/components/schemas/Amount"}, {"type": "null"}],
            "description": "Limit orders: the least tokenOut for the whole amountIn, in tokenOut units. Exactly one of limitPrice and minAmountOut."
        },
        "expiresAt": {
            "type": ["string", "null"], "format": "date-time",
            "description": "Limit and sniper orders: when the order expires if it has not fired (RFC 3339; after now, at most 30 days ahead; default 24 hours). Refused with 400 INVALID_EXPIRY otherwise."
        },
        "maxPrice": positive_decimal(
            "Sniper orders: the most tokenIn per one tokenOut the order pays, as decimal text (at most 18 decimals); once the token is known, its minimum is ⌈amountIn ÷ maxPrice⌉ in tokenOut's smallest unit. Absent: any price.",
            "0.000001"
        ),
        "minLiquidity": positive_decimal(
            "Sniper orders: the least tokenIn (in its units) a pool must hold for the order to buy from it. Absent: any pool.",
            "100"
        ),
        "tokenIn": {"type": "string", "minLength": 1, "maxLength": 64, "description": "A token symbol (case-insensitive) or mint; see GET /api/tokens.", "examples": ["SOL"]},
        "tokenOut": {"type": "string", "minLength": 1, "maxLength": 64, "description": "A token symbol (case-insensitive) or mint. A sniper's may name a token not listed yet: a symbol of 1–16 letters or digits, or a base58 mint.", "examples": ["USDC"]},
        "amountIn": {"anyOf": [{"$ref": "#/components/schemas/Amount"}, {"type": "null"}]},
        "amount": {"anyOf": [{"$ref": "#/components/schemas/Amount"}, {"type": "null"}], "description": "Alias of `amountIn`; not together with it.", "deprecated": true},
        "slippageBps": {
            "description": "Market and sniper orders: the slippage tolerance in basis points, 1..=5000 (default 50): an integer, or its decimal text. Refused on a limit order (400 FIELD_NOT_ALLOWED): its minimum is its bound.",
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 5000},
                {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 32},
                {"type": "null"}
            ],
            "default": 50
        },
        "slippage": {
            "description": "Alias of `slippageBps` as a fraction (0.005 = 50 bps), 0.0001..=0.5; not together with it.",
            "oneOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
                {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 32},
                {"type": "null"}
            ],
            "deprecated": true
        },
        "userId": {
            "type": ["string", "null"], "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
            "description": "A label within the account (default: the account's name), and a history filter."
        }
    })
}

/// The schema of an order body, with the socket's envelope fields when `socket`.
fn order_schema(socket: bool) -> Value {
    let mut properties = order_properties();
    let map = properties.as_object_mut().expect("an object");
    if socket {
        map.insert(
            "idempotencyKey".into(),
            json!({"type": ["string", "null"], "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$",
                   "description": "As the Idempotency-Key header of POST /api/orders/execute."}),
        );
        map.insert("clientRef".into(), json!({"description": "Any JSON value, echoed in the reply to this message."}));
    }
    // A field whose value is `null` counts as absent (the server reads it so):
    // "given" means present and not null, for the required amount and for a name
    // given together with its alias.
    let given = |a: &str| json!({"required": [a], "properties": {a: {"not": {"type": "null"}}}});
    let both = |a: &str, b: &str| json!({"not": {"allOf": [given(a), given(b)]}});
    let absent = |a: &str| json!({"not": given(a)});
    let of_type = |name: &str| {
        json!({"anyOf": [
            {"required": ["type"], "properties": {"type": {"const": name}}},
            {"required": ["orderType"], "properties": {"orderType": {"const": name}}}
        ]})
    };
    let (limit, sniper) = (of_type("limit"), of_type("sniper"));
    json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
        "allOf": [
            {"anyOf": [given("amountIn"), given("amount")]},
            both("type", "orderType"), both("amountIn", "amount"), both("slippageBps", "slippage"),
            {
                "if": limit,
                "then": {"allOf": [absent("slippageBps"), absent("slippage"),
                    {"oneOf": [given("limitPrice"), given("minAmountOut")]}]},
                "else": {"allOf": [absent("limitPrice"), absent("minAmountOut")]}
            },
            {
                "if": sniper,
                "else": {"allOf": [absent("maxPrice"), absent("minLiquidity")]}
            },
            {
                "if": {"anyOf": [limit, sniper]},
                "else": absent("expiresAt")
            }
        ],
        "required": ["tokenIn", "tokenOut"],
        "examples": [
            {"type": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "slippageBps": 50, "userId": "alice"},
            {"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "limitPrice": "150.5", "expiresAt": "2026-12-01T12:00:00Z"},
            {"type": "sniper", "tokenIn": "SOL", "tokenOut": "PEPE", "amountIn": "1", "maxPrice": "0.000001", "minLiquidity": "100", "slippageBps": 300}
        ]
    })
}

written!(OrderRequest, order_schema(false));

/// One message of the submit socket: an order body plus its envelope.
#[derive(Debug, Serialize)]
pub struct SocketOrder;

written!(SocketOrder, order_schema(true));

/// The error body of every refused request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "INVALID_AMOUNT", "message": "amountIn must be greater than 0", "field": "amountIn"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Why a request was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// For people; may change between versions (match on `code`).
    pub message: String,
    /// The one field at fault, where there is one.
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// On a rate-limited submit socket message: how long to wait.
    #[schema(nullable = false)]
    #[serde(rename = "retryAfterMs")]
    pub retry_after_ms: Option<u64>,
}

/// One status change of an order, as the WebSocket sends it and the order's
/// `events` list it. `seq` starts at 1 (`pending`) and rises by exactly one.
#[derive(Debug, Serialize)]
pub struct StatusEvent;

written!(StatusEvent, {
    let head = |status: &str, extra: Value, required: &[&str]| {
        let mut properties = json!({
            "orderId": {"type": "string", "format": "uuid"},
            "seq": {"type": "integer", "minimum": 1},
            "status": {"const": status},
            "at": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC, milliseconds."}
        });
        let map = properties.as_object_mut().expect("an object");
        for (k, v) in extra.as_object().expect("an object") {
            map.insert(k.clone(), v.clone());
        }
        let mut all = vec!["orderId", "seq", "status", "at"];
        all.extend_from_slice(required);
        json!({"type": "object", "title": status, "properties": properties, "required": all, "additionalProperties": false})
    };
    let attempt = json!({"type": "integer", "minimum": 1});
    let error = json!({"$ref": "#/components/schemas/ErrorInfo"});
    let time = json!({"type": "string", "format": "date-time"});
    let trigger = json!({
        "type": "object", "additionalProperties": false, "required": ["slot", "price"],
        "description": "What fired a resting order: the chain slot of the pool state that reached its price (for a sniper, the first usable state of its token's pool: a launch's own slot), and the price its own amount gets there (tokenOut per one tokenIn).",
        "properties": {"slot": {"type": "integer", "minimum": 0}, "price": {"type": "string"}}
    });
    json!({
        "description": "A status event. `status` selects the fields; exactly one terminal event (`confirmed`, `failed`, `cancelled` or `expired`) ends every order, and it is the last.",
        "oneOf": [
            head("pending", json!({}), &[]),
            head("open", json!({"expiresAt": time,
                "minAmountOut": {"type": "string", "description": "The least the order accepts, in tokenOut units; absent on a sniper whose token is not known yet (or that has no maxPrice)."},
                "limitPrice": {"type": "string", "description": "A limit order's price, as given."},
                "maxPrice": {"type": "string", "description": "A sniper order's maxPrice, as given."},
                "lastError": error}), &["expiresAt"]),
            head("cancelled", json!({}), &[]),
            head("expired", json!({"expiresAt": time}), &["expiresAt"]),
            head("routing", json!({"attempt": attempt, "lastError": error, "trigger": trigger}), &["attempt"]),
            head("building", json!({"attempt": attempt, "route": {"$ref": "#/components/schemas/RouteRecord"}}), &["attempt", "route"]),
            head("submitted", json!({"attempt": attempt, "txHash": {"type": "string"},
                "instructions": {"type": "array", "items": {"$ref": "#/components/schemas/Instruction"}}}), &["attempt", "txHash"]),
            head("confirmed", json!({"attempt": attempt, "txHash": {"type": "string"}, "dex": {"type": "string", "enum": ["raydium", "meteora", "split"]},
                "executedPrice": {"type": "string"}, "amountOut": {"type": "string"}}), &["attempt", "txHash", "dex", "executedPrice", "amountOut"]),
            head("failed", json!({"error": error, "attempts": {"type": "integer", "minimum": 0}}), &["error", "attempts"])
        ],
        "discriminator": {"propertyName": "status"},
        "examples": [{"orderId": "019ac5d2-5d0e-7c31-9a4e-3b5f0c2d9e11", "seq": 4, "status": "submitted", "at": "2026-11-29T06:01:02.345Z", "attempt": 1, "txHash": "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"}]
    })
});

/// An order with its whole state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: uuid::Uuid,
    pub user_id: String,
    #[serde(rename = "type")]
    #[schema(example = "market")]
    pub order_type: String,
    /// The input token's symbol.
    pub token_in: String,
    /// The output token's symbol (a sniper's mint, while only its mint is known).
    pub token_out: String,
    /// In token units.
    pub amount_in: String,
    /// Market and sniper orders' slippage tolerance; `null` for a limit order.
    pub slippage_bps: Option<u16>,
    /// Limit orders: the price as given (`null` when given as minAmountOut).
    #[schema(value_type = Option<String>)]
    pub limit_price: Option<Option<String>>,
    /// Limit orders: the least tokenOut for the whole amountIn.
    #[schema(nullable = false)]
    pub min_amount_out: Option<String>,
    /// Limit and sniper orders: when it expires if it has not fired.
    #[schema(nullable = false, format = DateTime)]
    pub expires_at: Option<String>,
    /// Sniper orders: the most tokenIn per one tokenOut, as given (`null`: any price).
    #[schema(value_type = Option<String>)]
    pub max_price: Option<Option<String>>,
    /// Sniper orders: the least tokenIn a pool must hold, in its units.
    #[schema(nullable = false)]
    pub min_liquidity: Option<String>,
    pub status: OrderStatus,
    /// Attempts made so far (a retry is a new attempt).
    pub attempts: u32,
    /// `null` until routed.
    pub route: Option<RouteRecord>,
    pub tx_hash: Option<String>,
    /// Units of tokenOut per unit of tokenIn.
    pub executed_price: Option<String>,
    pub amount_out: Option<String>,
    /// Why it failed, once `failed`.
    pub error: Option<ErrorInfo>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The full status history (on `GET /api/orders/{orderId}` only).
    #[schema(nullable = false)]
    pub events: Option<Vec<StatusEvent>>,
}

/// A page of order history, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    pub orders: Vec<Order>,
    /// Pass as `before` for the next page; `null` on the last.
    pub next_cursor: Option<uuid::Uuid>,
}

/// The caller's orders that are not terminal yet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveOrders {
    pub count: u64,
    pub order_ids: Vec<uuid::Uuid>,
}

/// The job stream's state: totals over its partitions, each consumer over
/// every partition, and each partition.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// The stream's key or, with several partitions, the pattern of their keys.
    pub stream: String,
    pub length: u64,
    /// Delivered to a worker, not yet acknowledged.
    pub pending: u64,
    /// Not yet delivered to any worker.
    pub lag: u64,
    pub dead_letters: u64,
    pub consumers: Vec<ConsumerStats>,
    /// Each partition of the stream (`OEE_JOB_PARTITIONS`), in order.
    pub partitions: Vec<PartitionStats>,
}

/// One partition of the job stream.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStats {
    /// The partition's key.
    pub stream: String,
    pub length: u64,
    /// Delivered to a worker, not yet acknowledged.
    pub pending: u64,
    /// Not yet delivered to any worker.
    pub lag: u64,
}

/// Throughput and latency over a window, in buckets by acceptance time.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    pub bucket_seconds: u32,
    pub buckets: Vec<ActivityBucket>,
}

/// Orders accepted in one bucket, and what became of them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityBucket {
    #[schema(format = DateTime)]
    pub start: String,
    pub accepted: u64,
    pub confirmed: u64,
    pub failed: u64,
    pub in_flight: u64,
    /// Acceptance → terminal status over the bucket's ended orders; `null` when none has ended.
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

/// One worker's consumer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStats {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

/// An API key's record (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub key_id: uuid::Uuid,
    pub account: String,
    #[schema(value_type = Vec<oee_domain::Scope>)]
    pub scopes: Vec<String>,
    /// Orders per second; `null`: the deployment's default.
    pub rate: Option<u32>,
    pub burst: Option<u32>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

/// Every key, revoked ones included.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

/// A new key: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyCreated {
    pub key_id: uuid::Uuid,
    #[schema(example = "oee_3kTMd9QpZr0aLx7Vb2NcYf5Hs8Ue1Wi4Og6Rj0tAl2")]
    pub key: String,
    pub account: String,
    #[schema(value_type = Vec<oee_domain::Scope>)]
    pub scopes: Vec<String>,
}

/// A single-use WebSocket ticket.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// Pass as `?ticket=` on either WebSocket URL, once.
    pub ticket: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /ready`: each store's state.
#[derive(Debug, Serialize)]
pub struct Readiness;

written!(Readiness, {
    json!({
        "type": "object",
        "description": "`status` is `ready`, `unavailable` (naming what is down) or `stopping` (draining before shutdown); the other fields say each store's state.",
        "properties": {"status": {"type": "string"}},
        "required": ["status"],
        "additionalProperties": true
    })
});

/// The submit socket's answer to an accepted order message.
#[derive(Debug, Serialize)]
pub struct SocketAccepted;

written!(SocketAccepted, {
    json!({
        "type": "object",
        "properties": {
            "type": {"const": "accepted"},
            "orderId": {"type": "string", "format": "uuid"},
            "clientRef": {"description": "The message's `clientRef`, if it had one."}
        },
        "required": ["type", "orderId"]
    })
});

/// The submit socket's answer to a refused order message.
#[derive(Debug, Serialize)]
pub struct SocketRejected;

written!(SocketRejected, {
    json!({
        "type": "object",
        "properties": {
            "type": {"const": "rejected"},
            "error": {"$ref": "#/components/schemas/ErrorDetail"},
            "clientRef": {"description": "The message's `clientRef`, if it had one."},
            "retryAfterMs": {
                "type": "integer", "minimum": 1,
                "description": "With `RATE_LIMITED`: how long to wait before sending the order again (the socket stays open)."
            }
        },
        "required": ["type", "error"],
        "additionalProperties": false
    })
});
