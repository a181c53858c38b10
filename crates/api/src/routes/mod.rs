//! The route table: every path the API serves, with its handlers. The same
//! table configures the app and names the `route` label of the request metrics,
//! so a route cannot be served without being counted under its own name.

pub mod admin;
pub mod ops;
pub mod orders;
pub mod quotes;
pub mod tickets;

use crate::error::{ApiError, error_response};
use crate::ws;
use actix_web::{HttpRequest, HttpResponse, Resource, guard, web};
use oee_domain::{ErrorCode, Rejection};

/// The path of order submission (POST, and the submit socket's upgrade).
pub const SUBMIT: &str = "/api/orders/execute";

/// One served path: its pattern and the methods it answers.
struct Route {
    pattern: &'static str,
    /// Adds the path's handlers to its resource.
    handlers: fn(Resource) -> Resource,
    /// Whether other methods get the contract's JSON 405 (the `/api` routes) or
    /// actix's plain one (the operational endpoints).
    json_errors: bool,
}

const ROUTES: [Route; 14] = [
    Route { pattern: SUBMIT, handlers: submit, json_errors: true },
    Route { pattern: "/api/orders/active", handlers: |r| r.route(web::get().to(orders::active)), json_errors: true },
    Route { pattern: "/api/orders", handlers: |r| r.route(web::get().to(orders::list)), json_errors: true },
    Route {
        pattern: "/api/orders/{id}/ws",
        handlers: |r| r.route(web::get().to(ws::follow::follow)),
        json_errors: true,
    },
    Route { pattern: "/api/orders/{id}", handlers: |r| r.route(web::get().to(orders::get)), json_errors: true },
    Route {
        pattern: "/api/admin/keys",
        handlers: |r| r.route(web::post().to(admin::create_key)).route(web::get().to(admin::list_keys)),
        json_errors: true,
    },
    Route {
        pattern: "/api/admin/keys/{keyId}",
        handlers: |r| r.route(web::delete().to(admin::revoke_key)),
        json_errors: true,
    },
    Route { pattern: "/api/tokens", handlers: |r| r.route(web::get().to(quotes::tokens)), json_errors: true },
    Route { pattern: "/api/quote", handlers: |r| r.route(web::get().to(quotes::quote)), json_errors: true },
    Route { pattern: "/api/ws-tickets", handlers: |r| r.route(web::post().to(tickets::issue)), json_errors: true },
    Route { pattern: "/api/queue/stats", handlers: |r| r.route(web::get().to(ops::queue_stats)), json_errors: true },
    Route { pattern: "/health", handlers: |r| r.route(web::get().to(ops::health)), json_errors: false },
    Route { pattern: "/ready", handlers: |r| r.route(web::get().to(ops::ready)), json_errors: false },
    Route { pattern: "/metrics", handlers: |r| r.route(web::get().to(ops::metrics)), json_errors: false },
];

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
    for route in &ROUTES {
        let resource = web::resource(route.pattern);
        let resource = if route.json_errors { resource.default_service(web::to(method_not_allowed)) } else { resource };
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

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    error_response(&Rejection::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed on {}", req.method(), req.path()),
    ))
}
