//! The API's machine-readable description: an OpenAPI 3.1 document generated
//! from the handlers' `#[utoipa::path]` annotations and the wire types'
//! schemas, served at `/api/openapi.json`, with interactive docs (Swagger UI,
//! its assets compiled into the binary) at `/docs`.
//!
//! `docs/openapi.json` is this document as committed; a test fails when the
//! two differ (`oee-api openapi > docs/openapi.json` brings it up to date).
//! The WebSockets are described by `docs/asyncapi.yaml`, whose messages refer to
//! the schemas here.

pub mod schemas;

use crate::routes;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use std::sync::{Arc, LazyLock};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "oee — order execution engine",
        description = "Submit market orders for Solana token swaps, routed to the better of Raydium and Meteora, \
and follow each order's status live. Amounts are exact decimal strings in token units; every error has a stable \
`code`. Authenticate with `Authorization: Bearer <key>` (keys are made by `oee-api keys create` or \
`POST /api/admin/keys`). The WebSockets (`GET /api/orders/execute` with `Upgrade: websocket`, and \
`GET /api/orders/{orderId}/ws`) are described in the AsyncAPI document, docs/asyncapi.yaml.",
        license(name = "MIT"),
    ),
    paths(
        routes::orders::submit,
        routes::orders::get,
        routes::orders::cancel,
        routes::orders::list,
        routes::orders::active,
        routes::quotes::tokens,
        routes::quotes::quote,
        crate::ws::follow::follow,
        routes::tickets::issue,
        routes::sim::trade,
        routes::sim::launch,
        routes::sim::launches,
        routes::admin::create_key,
        routes::admin::list_keys,
        routes::admin::revoke_key,
        routes::ops::queue_stats,
        routes::ops::activity,
        routes::ops::health,
        routes::ops::ready,
        routes::ops::metrics,
        document_json,
    ),
    components(schemas(
        schemas::Amount,
        schemas::OrderRequest,
        schemas::SocketOrder,
        schemas::SocketAccepted,
        schemas::SocketRejected,
        schemas::StatusEvent,
        schemas::ErrorBody,
        schemas::ErrorDetail,
        oee_domain::ErrorCode,
        oee_domain::ErrorInfo,
        oee_domain::FailureCode,
        oee_domain::RouteRecord,
        oee_domain::LegRecord,
        oee_domain::QuoteRecord,
        oee_domain::Instruction,
        oee_domain::Dex,
        oee_domain::OrderStatus,
    )),
    modifiers(&BearerKey),
    tags(
        (name = "orders", description = "Submit orders and read them."),
        (name = "quotes", description = "What can be traded, and at what price right now."),
        (name = "keys", description = "API keys (scope `admin`)."),
        (name = "sockets", description = "WebSocket tickets and upgrades; the messages are in docs/asyncapi.yaml."),
        (name = "simulator", description = "Control of the simulated market (scope `admin`)."),
        (name = "operations", description = "Health, readiness, metrics, the queue, this document."),
    )
)]
struct ApiDoc;

/// Adds the bearer key scheme, required by every operation that does not say otherwise.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("oee_ + 34 base62 + checksum".to_owned());
        scheme.description = Some(
            "An API key: `Authorization: Bearer oee_…`. 401 UNAUTHENTICATED (with `WWW-Authenticate: Bearer`) \
             for a missing, malformed, unknown or revoked key; 403 FORBIDDEN for one without the scope."
                .to_owned(),
        );
        components.add_security_scheme(SECURITY_SCHEME, SecurityScheme::Http(scheme));
        doc.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new(SECURITY_SCHEME, Vec::<String>::new())]);
    }
}

/// The name of the bearer scheme in the document.
pub const SECURITY_SCHEME: &str = "apiKey";

/// The document, with the schemas written as JSON in their places.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(doc).expect("the document serializes");
    let components = doc.pointer_mut("/components/schemas").and_then(serde_json::Value::as_object_mut);
    let components = components.expect("the document has schemas");
    for (name, schema) in schemas::written() {
        components.insert(name, schema);
    }
    add_links(&mut doc);
    add_examples(&mut doc);
    doc
}

/// Examples taken from real responses of a running engine (instant venues),
/// each set on its schema: `(component, JSON)`.
const EXAMPLES: [(&str, &str); 4] = [
    ("Order", include_str!("examples/order.json")),
    ("OrderPage", include_str!("examples/order_page.json")),
    ("Accepted", include_str!("examples/accepted.json")),
    ("QueueStats", include_str!("examples/queue_stats.json")),
];

fn add_examples(doc: &mut serde_json::Value) {
    for (component, text) in EXAMPLES {
        let example: serde_json::Value = serde_json::from_str(text).expect("an example is JSON");
        let schema = doc.pointer_mut(&format!("/components/schemas/{component}")).and_then(|s| s.as_object_mut());
        let schema = schema.expect("an example's schema exists");
        schema.remove("example");
        schema.insert("examples".to_owned(), serde_json::Value::Array(vec![example]));
    }
}

/// Links from a response to the operations its values lead to (an accepted
/// order to reading and following it; a page to the next): they document the
/// flow, and fuzzers walk them as a stateful test.
fn add_links(doc: &mut serde_json::Value) {
    let order = |id: &str| {
        serde_json::json!({
            "GetOrder": {"operationId": "getOrder", "parameters": {"orderId": id},
                "description": "Read the order."},
            "FollowOrder": {"operationId": "followOrder", "parameters": {"orderId": id},
                "description": "Follow its status events (WebSocket)."}
        })
    };
    let links = [
        ("/api/orders/execute", "post", "202", order("$response.body#/orderId")),
        ("/api/orders/execute", "post", "200", order("$response.body#/orderId")),
        (
            "/api/orders",
            "get",
            "200",
            serde_json::json!({
                "NextPage": {"operationId": "listOrders", "parameters": {"before": "$response.body#/nextCursor"},
                    "description": "The next page (while nextCursor is not null)."},
                "FirstOrder": {"operationId": "getOrder", "parameters": {"orderId": "$response.body#/orders/0/orderId"},
                    "description": "Read the newest order of the page."}
            }),
        ),
        (
            "/api/admin/keys",
            "post",
            "201",
            serde_json::json!({
                "RevokeKey": {"operationId": "revokeKey", "parameters": {"keyId": "$response.body#/keyId"},
                    "description": "Revoke the new key."}
            }),
        ),
    ];
    for (path, method, status, value) in links {
        let response = doc.pointer_mut(&format!("/paths/{}/{method}/responses/{status}", path.replace('/', "~1")));
        let response = response.and_then(serde_json::Value::as_object_mut).expect("the linked response exists");
        response.insert("links".to_owned(), value);
    }
}

/// The document as served and committed: pretty JSON and a final newline.
pub fn to_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

static JSON: LazyLock<String> = LazyLock::new(to_json);

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses((status = 200, description = "This OpenAPI document.", content_type = "application/json", body = Object))
)]
pub async fn document_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(JSON.as_str())
}

/// Swagger UI's configuration: the document above.
static SWAGGER: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
    LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::from("/api/openapi.json")));

/// The interactive docs' pages stay on this origin: scripts and styles from
/// the binary, requests to the API itself.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// `GET /docs` → `/docs/`, where the UI's relative asset paths resolve.
pub async fn docs_root() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
}

/// `GET /docs/{file}`: Swagger UI, compiled into the binary.
pub async fn docs(req: HttpRequest) -> HttpResponse {
    let tail = req.match_info().get("file").unwrap_or_default();
    match utoipa_swagger_ui::serve(tail, SWAGGER.clone()) {
        Ok(Some(file)) => {
            let mut response = HttpResponse::Ok();
            response
                .content_type(file.content_type)
                .insert_header((header::CONTENT_SECURITY_POLICY, DOCS_CSP))
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
            if file.gzpipped {
                response.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            response.body(file.bytes.into_owned())
        }
        Ok(None) => crate::error::error_response(&oee_domain::Rejection::new(
            oee_domain::ErrorCode::NotFound,
            format!("no such file {tail:?} in the docs"),
        )),
        Err(e) => {
            tracing::error!(error = %e, "could not serve the docs");
            crate::error::error_response(&oee_domain::Rejection::new(oee_domain::ErrorCode::Internal, "internal error"))
        }
    }
}
