//! REST facades on the gRPC port, for tools that already speak them:
//!
//! - amaGama / translate-toolkit `tmserver` (Weblate's "tmserver" and
//!   "amaGama" machinery, Virtaal, Pootle), under both `/tmserver` and
//!   `/api/v1`;
//! - MyMemory's `GET /get` (MateCat-style tools and scripts).
//!
//! Each handler turns the request into a [`LookupRequest`], runs it on the
//! blocking pool, and shapes the matches as the protocol does. Language
//! codes come in any of the forms those tools send (`ar`, `ar_eg`, `AR-EG`,
//! `en_us`); a pair that is not Arabic–English is answered with no matches,
//! not an error (Weblate checks a new service with `en/de`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, Query, RawQuery, State};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::metrics::Metrics;
use super::read_scope;
use crate::auth::{Principal, Role};
use crate::memory::{LookupRequest, Match, TranslationMemory};
use crate::text::Lang;
use crate::unit::MAX_SEGMENT_CHARS;

/// amaGama's floor: lower `min_similarity` values are raised to it.
const AMAGAMA_MIN_SIMILARITY: u32 = 70;
/// amaGama's default and largest `max_candidates`.
const AMAGAMA_DEFAULT_CANDIDATES: u32 = 5;
const AMAGAMA_MAX_CANDIDATES: u32 = 30;
/// MyMemory's default number of matches, and the most we return.
const MYMEMORY_DEFAULT_MATCHES: u32 = 3;
const MYMEMORY_MAX_MATCHES: u32 = 30;
/// MyMemory's match floor: its matches go down to 50 %.
const MYMEMORY_MIN_SCORE: u32 = 50;

/// What the REST handlers share.
#[derive(Clone)]
pub struct Rest {
    tm: TranslationMemory,
    metrics: Metrics,
    /// Whether amaGama's JSONP is served (`--jsonp`).
    jsonp: bool,
}

/// The REST routes, over `tm`, and `GET /metrics`; amaGama answers JSONP
/// only when `jsonp` says so.
/// The caller comes from the authentication layer (`server::authn`), in
/// the request's extensions.
pub fn router(tm: TranslationMemory, metrics: Metrics, jsonp: bool) -> Router {
    let amagama = Router::new()
        .route("/languages/", get(amagama_languages))
        .route("/languages", get(amagama_languages))
        .route("/{src}/{tgt}/unit/", get(amagama_unit_query))
        .route("/{src}/{tgt}/unit", get(amagama_unit_query))
        .route("/{src}/{tgt}/unit/{*text}", get(amagama_unit));
    let mut router = Router::new().nest("/tmserver", amagama.clone()).nest("/api/v1", amagama);
    // `/k/KEY/tmserver/…` (the key in the path, for clients whose setting
    // is a URL and nothing more: Weblate's tmserver) arrives here as
    // `/tmserver/…`: the authentication layer takes the key out.
    // Virtaal's default URL ends in `/` and it adds another: `/api/v1//en/ar/unit/…`.
    for prefix in ["/tmserver/", "/api/v1/"] {
        router = router
            .route(&format!("{prefix}/{{src}}/{{tgt}}/unit/"), get(amagama_unit_query))
            .route(&format!("{prefix}/{{src}}/{{tgt}}/unit/{{*text}}"), get(amagama_unit));
    }
    // MyMemory's path, and the one Weblate's MyMemory client uses.
    router
        .route("/get", get(mymemory_get))
        .route("/api/get", get(mymemory_get))
        .route("/metrics", get(prometheus))
        .with_state(Rest { tm, metrics, jsonp })
}

/// `GET /metrics`: Prometheus' text format.
async fn prometheus(State(rest): State<Rest>, Extension(principal): Extension<Principal>) -> Response {
    // Metrics name every memory: an admin's business when keys are set.
    if let Err(err) = principal.require_everywhere(Role::Admin, "authorization") {
        return metrics_error(&err);
    }
    let text = tokio::task::spawn_blocking(move || rest.metrics.render(&rest.tm)).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Counts, times and logs a REST request by its HTTP status.
fn observed(rest: &Rest, method: &str, started: std::time::Instant, response: Response) -> Response {
    rest.metrics.observe(method, response.status().as_str(), started);
    response
}

/// Runs a lookup on the blocking pool, over the memories the caller may
/// read.
async fn lookup(tm: TranslationMemory, principal: Principal, mut request: LookupRequest) -> crate::Result<Vec<Match>> {
    request.cancel = super::admission::current_cancel();
    tokio::task::spawn_blocking(move || {
        let Some(memories) = read_scope(&tm, &principal, std::mem::take(&mut request.memories))? else {
            return Ok(Vec::new());
        };
        request.memories = memories;
        tm.lookup(request)
    })
    .await
    .unwrap_or_else(|err| Err(crate::Error::storage_caused(format!("lookup task failed: {err}"), err)))
}

/// `uri` with API keys taken out (`/k/KEY/` and `key=` parameters), for
/// logs: a key in a URL must not end up in them.
pub(super) fn redacted_uri(uri: &axum::http::Uri) -> String {
    let mut path = uri.path().to_owned();
    if let Some(rest) = path.strip_prefix("/k/") {
        let after = rest.find('/').map_or("", |i| &rest[i..]);
        path = format!("/k/<key>{after}");
    }
    match uri.query() {
        None => path,
        Some(query) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("key") => format!("{name}=<key>"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
    }
}

/// The side a tool's language code names: `ar`, `ar_EG`, `ar-eg`, `ara`…;
/// `None` for any other language.
fn side(code: &str) -> Option<Lang> {
    Lang::from_code(code.trim())
}

/// Weblate replaces placeholders by `[X7X]` before asking: they become `{7}`,
/// which matching treats as a placeholder like `%s` or `{0}`.
fn weblate_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("[X") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with("X]") {
            out.push('{');
            out.push_str(&after[..digits]);
            out.push('}');
            rest = &after[digits + 2..];
        } else {
            out.push_str("[X");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `Err` naming the first parameter of a query string whose name or value,
/// percent-decoded, is not UTF-8 (`%FF`): refused, rather than read with
/// U+FFFD in its place.
fn query_utf8(query: Option<&str>) -> Result<(), String> {
    for pair in query.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name_bytes = percent_decoded(name);
        let name = String::from_utf8_lossy(&name_bytes);
        if std::str::from_utf8(&name_bytes).is_err() || std::str::from_utf8(&percent_decoded(value)).is_err() {
            return Err(format!(
                "{name}: is not UTF-8 once percent-decoded (encode the text as UTF-8 before escaping it)"
            ));
        }
    }
    Ok(())
}

/// The bytes a percent-encoded string stands for (`+` is a space, which is
/// UTF-8 whichever it is).
pub(super) fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The `min_sequence` query parameter: a whole number (unset or empty: 0).
fn min_sequence(value: Option<&str>) -> Result<u64, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(0),
        Some(v) => v.parse::<u64>().map_err(|_| format!("min_sequence: {v:?} is not a whole number")),
    }
}

#[derive(Debug, Deserialize)]
struct AmagamaParams {
    source: Option<String>,
    min_similarity: Option<String>,
    max_candidates: Option<String>,
    /// Read your writes on several nodes (see the gRPC `min_sequence`).
    min_sequence: Option<String>,
    jsoncallback: Option<String>,
    /// An API key, for clients that can put one only in the URL; read by
    /// the authentication layer.
    #[allow(dead_code)]
    key: Option<String>,
}

/// An error response when a request names a JSONP callback and JSONP is
/// off: a `<script>` tag sends no `Origin`, so with JSONP any web page
/// could read the memory.
fn jsonp_off(rest: &Rest, params: &AmagamaParams) -> Option<Response> {
    let named = params.jsoncallback.as_deref().is_some_and(|c| !c.is_empty());
    (named && !rest.jsonp).then(|| {
        amagama_error(
            "jsoncallback: JSONP is off on this server (any web page could read the memory through it); \
             start the server with --jsonp to serve old amaGama browser clients"
                .to_owned(),
            None,
        )
    })
}

async fn amagama_languages(State(rest): State<Rest>, Query(params): Query<AmagamaParams>) -> Response {
    let started = std::time::Instant::now();
    let body = json!({"sourceLanguages": ["ar", "en"], "targetLanguages": ["ar", "en"]});
    let response = jsonp_off(&rest, &params).unwrap_or_else(|| amagama_reply(body, params.jsoncallback.as_deref()));
    observed(&rest, "amagama_languages", started, response)
}

async fn amagama_unit(
    State(rest): State<Rest>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
    Query(params): Query<AmagamaParams>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let started = std::time::Instant::now();
    let response = match (path, query_utf8(query.as_deref())) {
        (Ok(Path((src, tgt, text))), Ok(())) => {
            let text = if text.is_empty() { params.source.clone().unwrap_or_default() } else { text };
            amagama_unit_answer(&rest, principal, &src, &tgt, text, &params).await
        }
        // The text in the path is not UTF-8 once percent-decoded.
        (Err(rejection), _) => amagama_error(format!("the path: {}", rejection.body_text()), None),
        (_, Err(message)) => amagama_error(message, None),
    };
    observed(&rest, "amagama_unit", started, response)
}

async fn amagama_unit_query(
    State(rest): State<Rest>,
    Path((src, tgt)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    Query(params): Query<AmagamaParams>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let started = std::time::Instant::now();
    let response = match query_utf8(query.as_deref()) {
        Ok(()) => {
            let text = params.source.clone().unwrap_or_default();
            amagama_unit_answer(&rest, principal, &src, &tgt, text, &params).await
        }
        Err(message) => amagama_error(message, None),
    };
    observed(&rest, "amagama_unit", started, response)
}

async fn amagama_unit_answer(
    rest: &Rest,
    principal: Principal,
    src: &str,
    tgt: &str,
    text: String,
    params: &AmagamaParams,
) -> Response {
    if let Some(refused) = jsonp_off(rest, params) {
        return refused;
    }
    let callback = params.jsoncallback.as_deref();
    amagama_answer(rest.tm.clone(), principal, src, tgt, text, params, callback).await
}

async fn amagama_answer(
    tm: TranslationMemory,
    principal: Principal,
    src: &str,
    tgt: &str,
    text: String,
    params: &AmagamaParams,
    callback: Option<&str>,
) -> Response {
    let number = |value: &Option<String>, default: u32| -> Result<u32, String> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(|n| n as u32)
                .ok_or_else(|| v.to_owned()),
        }
    };
    let min_similarity = match number(&params.min_similarity, AMAGAMA_MIN_SIMILARITY) {
        Ok(n) => n.clamp(AMAGAMA_MIN_SIMILARITY, 100),
        Err(v) => return amagama_error(format!("min_similarity: {v:?} is not a number"), callback),
    };
    let max_candidates = match number(&params.max_candidates, AMAGAMA_DEFAULT_CANDIDATES) {
        Ok(n) => n.clamp(1, AMAGAMA_MAX_CANDIDATES),
        Err(v) => return amagama_error(format!("max_candidates: {v:?} is not a number"), callback),
    };
    let min_sequence = match min_sequence(params.min_sequence.as_deref()) {
        Ok(n) => n,
        Err(message) => return amagama_error(message, callback),
    };
    let (Some(source), Some(target)) = (side(src), side(tgt)) else {
        return amagama_reply(json!([]), callback);
    };
    if source == target || text.trim().is_empty() {
        return amagama_reply(json!([]), callback);
    }
    let text: String = weblate_placeholders(&text).chars().take(MAX_SEGMENT_CHARS).collect();
    let request = LookupRequest {
        text,
        source_lang: source.code().into(),
        min_score: Some(min_similarity),
        max_results: Some(max_candidates),
        memories: Vec::new(),
        exhaustive: false,
        min_sequence,
        ..Default::default()
    };
    match lookup(tm, principal, request).await {
        Ok(matches) => {
            let body: Vec<Value> = matches
                .iter()
                .map(|m| {
                    json!({
                        "source": m.source(),
                        "target": m.target(),
                        "quality": f64::from(m.score.min(100)),
                        "rank": f64::from(m.score.min(100)),
                    })
                })
                .collect();
            amagama_reply(Value::Array(body), callback)
        }
        // A text the memory cannot take (a control character…) has no
        // match; it is the tool's input, not a fault of the service.
        Err(crate::Error::InvalidArgument { .. }) => amagama_reply(json!([]), callback),
        Err(err) => amagama_failure(&err, callback),
    }
}

/// JSON, or JSONP when `callback` names a function (letters, digits, `_`,
/// `.`, `$` only).
fn amagama_reply(body: Value, callback: Option<&str>) -> Response {
    let mut response = match callback.filter(|c| !c.is_empty()) {
        Some(name) if name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')) => {
            let script = format!("{name}({body});");
            ([(header::CONTENT_TYPE, "application/javascript; charset=utf-8")], script).into_response()
        }
        Some(_) => {
            (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "jsoncallback: not a function name"}))).into_response()
        }
        None => axum::Json(body).into_response(),
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

// ---------------------------------------------------------------------------
// Errors: the status is the library's one map (`Error::http_status`); each
// facade shapes the body as its protocol does.

/// A library error in `/metrics`' shape: the message as plain text.
fn metrics_error(err: &crate::Error) -> Response {
    (err.http_status(), err.to_string()).into_response()
}

/// A library error in amaGama's shape: `{"error": message}` (JSONP when
/// `callback` names a function), not cached.
fn amagama_failure(err: &crate::Error, callback: Option<&str>) -> Response {
    amagama_error_with(err.http_status(), err.to_string(), callback)
}

/// A request amaGama cannot take (a parameter that is not a number…): 400.
fn amagama_error(message: String, callback: Option<&str>) -> Response {
    amagama_error_with(StatusCode::BAD_REQUEST, message, callback)
}

fn amagama_error_with(status: StatusCode, message: String, callback: Option<&str>) -> Response {
    let mut response = amagama_reply(json!({"error": message}), callback);
    *response.status_mut() = status;
    response.headers_mut().remove(header::CACHE_CONTROL);
    response
}

/// A library error in MyMemory's shape (see [`mymemory_error`]): the
/// client's errors upper-cased, as MyMemory writes its messages.
pub(super) fn mymemory_failure(err: &crate::Error) -> Response {
    let status = err.http_status();
    let message = if status.is_client_error() { err.to_string().to_uppercase() } else { err.to_string() };
    mymemory_error(status, &message)
}

#[derive(Debug, Deserialize)]
struct MyMemoryParams {
    q: Option<String>,
    langpair: Option<String>,
    numres: Option<String>,
    /// Read your writes on several nodes (see the gRPC `min_sequence`).
    min_sequence: Option<String>,
    /// An API key, as MyMemory takes one (a header is preferred); read by
    /// the authentication layer.
    #[allow(dead_code)]
    key: Option<String>,
}

async fn mymemory_get(
    State(rest): State<Rest>,
    RawQuery(query): RawQuery,
    Query(params): Query<MyMemoryParams>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let started = std::time::Instant::now();
    let response = match query_utf8(query.as_deref()) {
        Ok(()) => mymemory_answer(rest.tm.clone(), principal, params).await,
        Err(message) => mymemory_error(StatusCode::BAD_REQUEST, &message.to_uppercase()),
    };
    observed(&rest, "mymemory_get", started, response)
}

async fn mymemory_answer(tm: TranslationMemory, principal: Principal, params: MyMemoryParams) -> Response {
    let (request, src_code, tgt_code) = match mymemory_request(params) {
        Ok(asked) => asked,
        Err(answer) => return answer,
    };
    let matches = match lookup(tm, principal, request).await {
        Ok(matches) => matches,
        Err(err) => return mymemory_failure(&err),
    };
    let listed = matches.iter().map(|m| mymemory_match(m, &src_code, &tgt_code)).collect();
    mymemory_reply(listed, matches.first(), "")
}

/// The lookup a MyMemory request asks for, with the language codes its
/// answer reports; or the answer itself when there is nothing to look up
/// (an error, or a pair this memory does not hold).
// The `Err` is the answer itself, made once per request and returned at once.
#[allow(clippy::result_large_err)]
fn mymemory_request(params: MyMemoryParams) -> Result<(LookupRequest, String, String), Response> {
    const BAD_PAIR: &str =
        "INVALID LANGUAGE PAIR SPECIFIED. EXAMPLE: LANGPAIR=EN|IT USING 2 LETTER ISO OR RFC3066 LIKE ZH-CN.";
    let q = params.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(mymemory_error(
            StatusCode::BAD_REQUEST,
            "NO QUERY SPECIFIED. EXAMPLE REQUEST: GET?Q=HELLO&LANGPAIR=EN|IT",
        ));
    }
    let langpair = params.langpair.unwrap_or_default();
    let Some((src, tgt)) = langpair.split_once('|') else {
        return Err(mymemory_error(StatusCode::BAD_REQUEST, BAD_PAIR));
    };
    let (Some(source), Some(target)) = (side(src), side(tgt)) else {
        // A pair the memory does not hold has no match, as the amaGama
        // facade answers: Weblate checks a MyMemory service by asking for
        // `en|de`, and an error there would refuse the configuration (and
        // stop Weblate asking for 30 minutes). An empty code is an error.
        let bad = if side(src).is_none() { src } else { tgt };
        if bad.trim().is_empty() {
            return Err(mymemory_error(StatusCode::BAD_REQUEST, BAD_PAIR));
        }
        let details = format!(
            "NO MATCH: THIS MEMORY HOLDS ARABIC AND ENGLISH (AR|EN OR EN|AR), NOT '{}'",
            bad.trim().to_uppercase()
        );
        return Err(mymemory_reply(Vec::new(), None, &details));
    };
    if source == target {
        return Err(mymemory_error(StatusCode::BAD_REQUEST, "PLEASE SELECT TWO DISTINCT LANGUAGES"));
    }
    let min_sequence = min_sequence(params.min_sequence.as_deref())
        .map_err(|message| mymemory_error(StatusCode::BAD_REQUEST, &message.to_uppercase()))?;
    let numres = params
        .numres
        .as_deref()
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(MYMEMORY_DEFAULT_MATCHES)
        .clamp(1, MYMEMORY_MAX_MATCHES);
    let request = LookupRequest {
        text: q,
        source_lang: source.code().into(),
        min_score: Some(MYMEMORY_MIN_SCORE),
        max_results: Some(numres),
        memories: Vec::new(),
        exhaustive: false,
        min_sequence,
        ..Default::default()
    };
    Ok((request, region_code(src, source), region_code(tgt, target)))
}

/// One match as MyMemory lists it.
fn mymemory_match(m: &Match, src_code: &str, tgt_code: &str) -> Value {
    let unit = &m.unit;
    let date = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms).map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
    };
    json!({
        "id": unit.id.to_string(),
        "segment": m.source(),
        "translation": m.explanation.repaired_target.as_deref().unwrap_or(m.target()),
        "source": src_code,
        "target": tgt_code,
        // MyMemory's quality rates the translation, not the match
        // (that is `match`); old Weblate multiplies the two.
        "quality": "100",
        "reference": if unit.note.is_empty() { Value::Null } else { Value::from(unit.note.clone()) },
        "usage-count": unit.usage_count,
        "subject": if unit.domain.is_empty() { "All".to_owned() } else { unit.domain.clone() },
        "created-by": unit.created_by,
        "last-updated-by": if unit.changed_by.is_empty() { &unit.created_by } else { &unit.changed_by },
        "create-date": date(unit.created_at_ms),
        "last-update-date": date(unit.changed_or_created_ms()),
        "match": f64::from(m.score.min(100)) / 100.0,
    })
}

/// MyMemory's answer: the matches, the best one as `responseData`.
fn mymemory_reply(listed: Vec<Value>, best: Option<&Match>, details: &str) -> Response {
    let body = json!({
        "responseData": {
            "translatedText": best.map(|m| m.explanation.repaired_target.clone().unwrap_or_else(|| m.target().to_owned())).unwrap_or_default(),
            "match": best.map_or(0.0, |m| f64::from(m.score.min(100)) / 100.0),
        },
        "quotaFinished": false,
        "mtLangSupported": Value::Null,
        "responseDetails": details,
        "responseStatus": 200,
        "responderId": Value::Null,
        "exception_code": Value::Null,
        "matches": listed,
    });
    axum::Json(body).into_response()
}

/// The language code MyMemory reports for a side: the one asked, upper-cased
/// region (`ar-EG`), or the bare code.
fn region_code(asked: &str, lang: Lang) -> String {
    let asked = asked.trim().replace('_', "-");
    match asked.split_once('-') {
        Some((_, region)) if !region.is_empty() => format!("{}-{}", lang.code(), region.to_uppercase()),
        _ => lang.code().to_owned(),
    }
}

/// MyMemory's error shape, as MyMemory answers: HTTP 200, the message in
/// `responseDetails` and `translatedText`, the code as a string in
/// `responseStatus` ("403" for any request error, as MyMemory does), `matches`
/// an empty string. A 4xx HTTP status would make Weblate stop asking for 30
/// minutes.
pub(super) fn mymemory_error(status: StatusCode, message: &str) -> Response {
    let code = if status.is_client_error() { "403".to_owned() } else { status.as_u16().to_string() };
    let body = json!({
        "responseData": {"translatedText": message},
        "quotaFinished": Value::Null,
        "mtLangSupported": Value::Null,
        "responseDetails": message,
        "responseStatus": code,
        "responderId": Value::Null,
        "exception_code": Value::Null,
        "matches": "",
    });
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_urls_are_taken_out_of_logged_uris() {
        let uri = |s: &str| s.parse::<axum::http::Uri>().unwrap();
        assert_eq!(redacted_uri(&uri("/k/s3cret/tmserver/en/ar/unit/hi")), "/k/<key>/tmserver/en/ar/unit/hi");
        assert_eq!(redacted_uri(&uri("/k/s3cret")), "/k/<key>");
        assert_eq!(
            redacted_uri(&uri("/get?q=hi&key=s3cret&langpair=en|ar&KEY=x")),
            "/get?q=hi&key=<key>&langpair=en|ar&KEY=<key>"
        );
        assert_eq!(redacted_uri(&uri("/tmserver/en/ar/unit/monkey")), "/tmserver/en/ar/unit/monkey");
    }
}
