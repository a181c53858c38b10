//! The route table: every path the API serves, with its handlers. The same
//! table configures the app and names the `route` label of the request metrics,
//! so a route cannot be served without being counted under its own name.

pub mod admin;
pub mod ops;
pub mod orders;
pub mod quotes;
pub mod sim;
pub mod tickets;

use crate::error::{ApiError, error_response};
use crate::{openapi, ui, ws};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Resource, guard, web};
use oee_domain::{ErrorCode, Rejection};

/// The path of order submission (POST, and the submit socket's upgrade).
pub const SUBMIT: &str = "/api/orders/execute";

/// One served path: its pattern and the methods it answers.
struct Route {
    pattern: &'static str,
    /// Adds the path's handlers to its resource.
    handlers: fn(Resource) -> Resource,
    /// The methods [`Route::handlers`] answers, as the `Allow` header of a 405
    /// names them; `None` for the operational endpoints and the docs, which
    /// leave other methods to actix's plain 405.
    allow: Option<&'static str>,
}

/// Every path, most specific first where patterns overlap.
const ROUTES: [Route; 23] = [
    // `GET` here is the submit socket (with `Upgrade: websocket`; see docs/asyncapi.yaml).
    Route { pattern: SUBMIT, handlers: submit, allow: Some("POST") },
    Route { pattern: "/api/orders/active", handlers: |r| r.route(web::get().to(orders::active)), allow: Some("GET") },
    Route { pattern: "/api/orders", handlers: |r| r.route(web::get().to(orders::list)), allow: Some("GET") },
    Route {
        pattern: "/api/orders/{orderId}/ws",
        handlers: |r| r.route(web::get().to(ws::follow::follow)),
        allow: Some("GET"),
    },
    Route {
        pattern: "/api/orders/{orderId}",
        handlers: |r| r.route(web::get().to(orders::get)).route(web::delete().to(orders::cancel)),
        allow: Some("GET, DELETE"),
    },
    Route {
        pattern: "/api/admin/keys",
        handlers: |r| r.route(web::post().to(admin::create_key)).route(web::get().to(admin::list_keys)),
        allow: Some("GET, POST"),
    },
    Route {
        pattern: "/api/admin/keys/{keyId}",
        handlers: |r| r.route(web::delete().to(admin::revoke_key)),
        allow: Some("DELETE"),
    },
    Route { pattern: "/api/tokens", handlers: |r| r.route(web::get().to(quotes::tokens)), allow: Some("GET") },
    Route { pattern: "/api/quote", handlers: |r| r.route(web::get().to(quotes::quote)), allow: Some("GET") },
    Route { pattern: "/api/admin/sim/trades", handlers: |r| r.route(web::post().to(sim::trade)), allow: Some("POST") },
    Route {
        pattern: "/api/admin/sim/launches",
        handlers: |r| r.route(web::post().to(sim::launch)),
        allow: Some("POST"),
    },
    Route { pattern: "/api/launches", handlers: |r| r.route(web::get().to(sim::launches)), allow: Some("GET") },
    Route { pattern: "/api/ws-tickets", handlers: |r| r.route(web::post().to(tickets::issue)), allow: Some("POST") },
    Route { pattern: "/api/queue/stats", handlers: |r| r.route(web::get().to(ops::queue_stats)), allow: Some("GET") },
    Route { pattern: "/api/activity", handlers: |r| r.route(web::get().to(ops::activity)), allow: Some("GET") },
    Route {
        pattern: "/api/openapi.json",
        handlers: |r| r.route(web::get().to(openapi::document_json)),
        allow: Some("GET"),
    },
    Route { pattern: "/docs", handlers: |r| r.route(web::get().to(openapi::docs_root)), allow: None },
    Route { pattern: "/docs/{file:.*}", handlers: |r| r.route(web::get().to(openapi::docs)), allow: None },
    Route { pattern: "/", handlers: |r| r.route(web::get().to(ui::index)), allow: None },
    Route { pattern: "/ui/{file:.*}", handlers: |r| r.route(web::get().to(ui::asset)), allow: None },
    Route { pattern: "/health", handlers: |r| r.route(web::get().to(ops::health)), allow: None },
    Route { pattern: "/ready", handlers: |r| r.route(web::get().to(ops::ready)), allow: None },
    Route { pattern: "/metrics", handlers: |r| r.route(web::get().to(ops::metrics)), allow: None },
];

/// Each JSON route's pattern and the methods it answers (for tests that hold
/// the route table and the OpenAPI document to each other).
pub fn allowed_methods() -> impl Iterator<Item = (&'static str, &'static str)> {
    ROUTES.iter().filter_map(|r| r.allow.map(|allow| (r.pattern, allow)))
}

/// `POST` submits over HTTP; `GET` with `Upgrade: websocket` opens the submit socket.
fn submit(r: Resource) -> Resource {
    r.route(web::post().to(orders::submit))
        .route(web::get().guard(guard::fn_guard(is_websocket_upgrade)).to(ws::submit::submit_socket))
}

/// Every route of [`ROUTES`], the JSON error for a bad query string, and the
/// JSON 404 for what matches none.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default().error_handler(|e, _| {
            ApiError::new(ErrorCode::InvalidParameter, format!("invalid query string: {e}")).into()
        }),
    );
    cfg.app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::new(ErrorCode::InvalidParameter, format!("invalid path: {e}")).into()),
    );
    for route in &ROUTES {
        let resource = web::resource(route.pattern);
        let resource = match route.allow {
            Some(allow) => resource.default_service(web::to(move |req: HttpRequest| method_not_allowed(req, allow))),
            None => resource,
        };
        cfg.service((route.handlers)(resource));
    }
    cfg.default_service(web::to(not_found));
}

/// A request's matched pattern as a label of bounded cardinality: the route's
/// own pattern, or `unmatched`.
pub fn label(pattern: Option<&str>) -> &'static str {
    pattern.and_then(|p| ROUTES.iter().find(|r| r.pattern == p)).map_or("unmatched", |r| r.pattern)
}

/// `Upgrade: websocket`, in any case.
fn is_websocket_upgrade(ctx: &guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error_response(&Rejection::new(ErrorCode::NotFound, format!("no route for {} {}", req.method(), req.path())))
}

/// 405 with the contract's body and the `Allow` header HTTP requires.
async fn method_not_allowed(req: HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = error_response(&Rejection::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed on {}; use {allow}", req.method(), req.path()),
    ));
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
