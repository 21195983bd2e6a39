//! The web app for translators: its files (`web/` in the repository, built
//! into the binary: no build step, nothing fetched from elsewhere) at `/`
//! and `/app/…`, and its JSON API (`server::api`) at `/app/api/…`, on the
//! same port and behind the same layers as every other protocol. The files
//! are public (a page must load before it can ask for a key); the API is
//! not.
//!
//! Every file is sent with a Content-Security-Policy that allows only this
//! origin's scripts, styles and connections (no inline script, no eval, no
//! framing), so that stored text can never run as code even if a page
//! inserted it as HTML (the pages insert text only as text).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::metrics::Metrics;
use crate::memory::TranslationMemory;

/// The policy every file of the app is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The app's files: path under `/app/`, content type, content.
const FILES: [(&str, &str, &str); 12] = [
    ("index.html", "text/html; charset=utf-8", include_str!("../../web/index.html")),
    ("app.css", "text/css; charset=utf-8", include_str!("../../web/app.css")),
    ("icon.svg", "image/svg+xml", include_str!("../../web/icon.svg")),
    ("js/main.js", "text/javascript; charset=utf-8", include_str!("../../web/js/main.js")),
    ("js/api.js", "text/javascript; charset=utf-8", include_str!("../../web/js/api.js")),
    ("js/dom.js", "text/javascript; charset=utf-8", include_str!("../../web/js/dom.js")),
    ("js/i18n.js", "text/javascript; charset=utf-8", include_str!("../../web/js/i18n.js")),
    ("js/lookup.js", "text/javascript; charset=utf-8", include_str!("../../web/js/lookup.js")),
    ("js/concordance.js", "text/javascript; charset=utf-8", include_str!("../../web/js/concordance.js")),
    ("js/memories.js", "text/javascript; charset=utf-8", include_str!("../../web/js/memories.js")),
    ("js/import.js", "text/javascript; charset=utf-8", include_str!("../../web/js/import.js")),
    ("js/analyze.js", "text/javascript; charset=utf-8", include_str!("../../web/js/analyze.js")),
];

/// Whether `path` is one of the app's files, which anyone may fetch.
pub fn is_public(path: &str) -> bool {
    path == "/"
        || path == "/app"
        || path == "/app/"
        || path.strip_prefix("/app/").is_some_and(|f| FILES.iter().any(|(name, ..)| *name == f))
}

/// The app's files and its API.
/// `idle`: `--stream-idle-timeout`, for uploads and exports.
pub fn router(tm: TranslationMemory, metrics: Metrics, idle: std::time::Duration) -> Router {
    let mut router = Router::new()
        .route("/", get(|| async { file(&FILES[0]) }))
        .route("/app", get(|| async { file(&FILES[0]) }))
        .route("/app/", get(|| async { file(&FILES[0]) }));
    for entry in &FILES {
        router = router.route(&format!("/app/{}", entry.0), get(move || async move { file(entry) }));
    }
    router.nest("/app/api", super::api::router(tm, metrics, idle))
}

fn file(&(_, content_type, body): &(&str, &'static str, &'static str)) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The files change with the binary: a browser asks again each time.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
