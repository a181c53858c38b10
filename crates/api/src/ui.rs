//! The dashboard: a web UI served by the API itself at `/`, every file
//! compiled into the binary (no CDN, no build step at run time; it works
//! offline). The sources are plain ES modules and CSS under `crates/api/ui/`,
//! type-checked at development time (`scripts/test`), served as they are.
//!
//! The pages run under a strict Content-Security-Policy: scripts, styles and
//! connections only to this origin, no inline script or style, no framing.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use oee_domain::{ErrorCode, Rejection};

/// One served file: its path under `/ui/`, content type and bytes.
struct File {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! files {
    ($(($path:literal, $type:expr)),* $(,)?) => {
        [$(File { path: $path, content_type: $type, bytes: include_bytes!(concat!("../ui/", $path)) }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the UI (a test checks this lists the whole directory).
const FILES: [File; 11] = files![
    ("index.html", "text/html; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
    ("js/api.js", JS),
    ("js/dom.js", JS),
    ("js/history.js", JS),
    ("js/main.js", JS),
    ("js/ops.js", JS),
    ("js/stream.js", JS),
    ("js/timeline.js", JS),
    ("js/trade.js", JS),
];

/// The policy of every UI response. `connect-src 'self'` covers this origin's
/// WebSockets; styles set from script (a bar's width) are not inline styles.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The paths of every served file, for tests.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|f| f.path)
}

fn serve(path: &str) -> HttpResponse {
    let Some(file) = FILES.iter().find(|f| f.path == path) else {
        return crate::error::error_response(&Rejection::new(
            ErrorCode::NotFound,
            format!("no file {path:?} in the UI"),
        ));
    };
    HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Small files that change with the binary: revalidate rather than go stale.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.bytes)
}

/// `GET /`: the dashboard.
pub async fn index() -> HttpResponse {
    serve("index.html")
}

/// `GET /ui/{file}`: its scripts, styles and images.
pub async fn asset(req: HttpRequest) -> HttpResponse {
    serve(req.match_info().get("file").unwrap_or_default())
}
