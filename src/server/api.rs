//! The web app's JSON API, under `/app/api/`: what the pages in `web/` call
//! (see `server::web`), on the same port, behind the same layers as every
//! other protocol (the browser guard, admission, authentication).
//!
//! Handlers are thin: they read the request, check the caller's rights
//! (the [`Principal`] the authentication layer put in the request), call
//! the engine on the blocking pool, and shape its answer as JSON. Library
//! errors take their status from [`crate::Error::http_status`] and their
//! body is `{"error": message, "field": the request field}`. Request
//! bodies are bounded: JSON by [`MAX_REQUEST_BYTES`], an import upload by
//! [`MAX_UPLOAD_BYTES`]; a bigger one is refused with `413` before it is
//! read in full.
//!
//! | route | what |
//! |---|---|
//! | `GET session` | the key's name, whether the server has keys, the memories it may read with its rights on each |
//! | `POST memories`, `DELETE memories/{name}` | create (admin), delete (admin) a memory |
//! | `GET memories/{name}/units?before=&limit=` | a memory's units, newest first |
//! | `GET`/`PATCH`/`DELETE units/{id}` | one unit: read, edit fields, delete |
//! | `GET conflicts?memory=` | sources with several translations |
//! | `POST lookup`, `POST concordance` | matches with their explanations; hits with their spans |
//! | `POST import?memory=&format=&policy=&name=` | the body is the file; the answer streams NDJSON progress events, then the summary |
//! | `GET export?memory=…` | TMX |
//! | `POST analyze`, `POST pretranslate` | an article's segments and bands; its pretranslation as TSV |

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, Semaphore};

use super::metrics::Metrics;
use super::{read_scope, readable, MAX_REQUEST_BYTES};
use crate::analysis::{Analysis, AnalyzeRequest};
use crate::auth::{Principal, Role};
use crate::export::{export, ExportFilter};
use crate::import::{import, ImportOptions, ImportSummary, Progress};
use crate::matching::{Edit, UnitFilter};
use crate::memory::{ConcordanceRequest, LookupRequest, Match, TranslationMemory};
use crate::text::{tokens, Lang};
use crate::unit::{memory_name, Unit, UnitEdit, UnitInput};
use crate::{proto, Error};

/// Largest import upload, in bytes. The upload is held in memory while it
/// is imported (so that rejected units can be copied out of it), and at
/// most [`MAX_UPLOADS`] at once.
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;

/// Uploads imported at once; one more is answered `503`.
pub const MAX_UPLOADS: usize = 2;

/// Most units one page of a memory's units holds.
pub const MAX_BROWSE_PAGE: usize = 100;

/// Paths of the API that stream (admission gives them a stream permit and
/// no deadline, as gRPC's Import and Export).
pub(super) const STREAMS: [&str; 2] = ["/app/api/import", "/app/api/export"];

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    tm: TranslationMemory,
    metrics: Metrics,
    uploads: Arc<Semaphore>,
    /// How long an upload or an export waits for its client
    /// (`--stream-idle-timeout`).
    idle: Duration,
}

/// The API's routes, nested under `/app/api` by `server::web`.
/// `idle` bounds each wait of an upload or an export for its client.
pub fn router(tm: TranslationMemory, metrics: Metrics, idle: Duration) -> Router {
    Router::new()
        .route("/session", get(session))
        .route("/memories", post(create_memory))
        .route("/memories/{name}", axum::routing::delete(delete_memory))
        .route("/memories/{name}/units", get(browse))
        .route("/units/{id}", get(get_unit).patch(update_unit).delete(delete_unit))
        .route("/conflicts", get(conflicts))
        .route("/lookup", post(lookup))
        .route("/concordance", post(concordance))
        .route("/import", post(import_upload))
        .route("/export", get(export_tmx))
        .route("/analyze", post(analyze))
        .route("/pretranslate", post(pretranslate))
        .fallback(not_found)
        .with_state(Api { tm, metrics, uploads: Arc::new(Semaphore::new(MAX_UPLOADS)), idle })
}

// ---------------------------------------------------------------------------
// Errors and plumbing.

/// An answer that is not a success: a status and `{"error", "field"}`.
struct Failure {
    status: StatusCode,
    message: String,
    field: String,
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        let field = match &err {
            Error::InvalidArgument { field, .. }
            | Error::NotFound { field, .. }
            | Error::AlreadyExists { field, .. }
            | Error::PermissionDenied { field, .. } => field.clone(),
            _ => String::new(),
        };
        Failure { status: err.http_status(), message: err.to_string(), field }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"error": self.message, "field": self.field}))).into_response()
    }
}

fn failure(status: StatusCode, field: &str, message: String) -> Failure {
    Failure { status, message, field: field.to_owned() }
}

type Answer = Result<Response, Failure>;

async fn not_found() -> Response {
    failure(StatusCode::NOT_FOUND, "path", "no such API route".into()).into_response()
}

/// Runs engine work on the blocking pool with the request's cancel flag.
async fn blocking<T: Send + 'static>(
    api: &Api,
    work: impl FnOnce(&TranslationMemory, crate::Cancel) -> crate::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    let tm = api.tm.clone();
    let cancel = super::admission::current_cancel();
    tokio::task::spawn_blocking(move || work(&tm, cancel))
        .await
        .unwrap_or_else(|err| Err(Error::storage_caused(format!("request task failed: {err}"), err)))
        .map_err(Failure::from)
}

/// Counts, times and logs a request (`web_<route>`).
fn observed(api: &Api, method: &str, started: Instant, answer: Answer) -> Response {
    let response = answer.unwrap_or_else(IntoResponse::into_response);
    api.metrics.observe(method, response.status().as_str(), started);
    response
}

/// A JSON request body, read up to [`MAX_REQUEST_BYTES`].
async fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, Failure> {
    let bytes = bounded(headers, body, MAX_REQUEST_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|err| failure(StatusCode::BAD_REQUEST, "body", format!("body: {err}")))
}

/// `413` naming `length` when a body is longer than `limit` bytes.
fn too_large(length: impl std::fmt::Display, limit: usize) -> Failure {
    failure(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body",
        format!("body: the request is {length} bytes; the limit of this route is {limit} bytes"),
    )
}

/// `413` when the request's `content-length` says it is longer than
/// `limit` bytes: before any of it is read.
fn declared_length(headers: &HeaderMap, limit: usize) -> Result<Option<usize>, Failure> {
    match headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) {
        Some(length) if length > limit as u64 => Err(too_large(length, limit)),
        declared => Ok(declared.map(|l| l as usize)),
    }
}

/// A request body, refused with `413` when its `content-length` says it
/// is longer than `limit` bytes (before any of it is read), or once it
/// passes `limit`. (A unary request's deadline bounds how long it takes.)
async fn bounded(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Failure> {
    declared_length(headers, limit)?;
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let is_too_large = std::error::Error::source(&err)
            .is_some_and(|source| source.to_string().contains("length limit exceeded"))
            || err.to_string().contains("length limit exceeded");
        if is_too_large {
            too_large(format!("more than {limit}"), limit)
        } else {
            failure(StatusCode::BAD_REQUEST, "body", format!("body: cannot read it: {err}"))
        }
    })
}

/// An upload's body, bounded like [`bounded`], each wait for its next
/// bytes bounded by `idle` (`408` after that): an upload is a stream, with
/// no deadline, and holds one of [`MAX_UPLOADS`] places while it is read.
async fn uploaded(headers: &HeaderMap, body: Body, limit: usize, idle: Duration) -> Result<Bytes, Failure> {
    use futures_util::StreamExt;
    let declared = declared_length(headers, limit)?;
    let mut stream = body.into_data_stream();
    let mut file = Vec::with_capacity(declared.unwrap_or(0));
    loop {
        match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => {
                return Err(failure(
                    StatusCode::REQUEST_TIMEOUT,
                    "body",
                    format!(
                        "body: the client sent nothing for {} s (--stream-idle-timeout): the upload was dropped",
                        idle.as_secs_f64()
                    ),
                ))
            }
            Ok(None) => return Ok(Bytes::from(file)),
            Ok(Some(Err(err))) => {
                return Err(failure(StatusCode::BAD_REQUEST, "body", format!("body: cannot read it: {err}")))
            }
            Ok(Some(Ok(chunk))) if file.len() + chunk.len() > limit => {
                return Err(too_large(format!("more than {limit}"), limit))
            }
            Ok(Some(Ok(chunk))) => file.extend_from_slice(&chunk),
        }
    }
}

fn ok(value: Value) -> Answer {
    Ok(axum::Json(value).into_response())
}

// ---------------------------------------------------------------------------
// JSON shapes.

fn unit_json(unit: &Unit) -> Value {
    json!({
        "id": unit.id.to_string(),
        "memory": unit.memory,
        "arabic": unit.arabic,
        "english": unit.english,
        "created_by": unit.created_by,
        "changed_by": unit.changed_by,
        "created_at_ms": unit.created_at_ms,
        "changed_at_ms": unit.changed_at_ms,
        "domain": unit.domain,
        "client": unit.client,
        "project": unit.project,
        "source_document": unit.source_document,
        "note": unit.note,
        "tuid": unit.tuid,
        "usage_count": unit.usage_count,
        "source_lang": unit.source_lang,
        "properties": unit.properties.iter().map(|p| json!([p.name, p.value])).collect::<Vec<_>>(),
    })
}

fn range_json(range: &Option<Range<usize>>) -> Value {
    range.as_ref().map_or(Value::Null, |r| json!([r.start, r.end]))
}

fn edit_json(edit: &Edit) -> Value {
    json!({"kind": edit.kind.name(), "query": range_json(&edit.query), "source": range_json(&edit.source)})
}

/// The character ranges of `after`'s words that `before` does not have at
/// that place (a longest common subsequence of their words): where a
/// repaired target differs from the stored one.
fn changed_words(before: &str, after: &str, lang: Lang) -> Vec<[usize; 2]> {
    let a = tokens(before, lang);
    let b = tokens(after, lang);
    let word = |text: &str, t: &crate::text::Token| text[t.bytes.clone()].to_owned();
    let a: Vec<String> = a.iter().map(|t| word(before, t)).collect();
    let b_words: Vec<String> = b.iter().map(|t| word(after, t)).collect();
    // lcs[i][j]: the common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b_words.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b_words.len()).rev() {
            lcs[i][j] = if a[i] == b_words[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut changed) = (0, 0, Vec::new());
    while j < b_words.len() {
        if i < a.len() && a[i] == b_words[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            changed.push([b[j].chars.start, b[j].chars.end]);
            j += 1;
        }
    }
    changed
}

fn match_json(m: &Match) -> Value {
    let e = &m.explanation;
    let target_lang = m.lang.other();
    let repaired = e
        .repaired_target
        .as_ref()
        .map(|repaired| json!({"text": repaired, "changed": changed_words(m.target(), repaired, target_lang)}));
    json!({
        "score": m.score,
        "lang": m.lang.code(),
        "source": m.source(),
        "target": m.target(),
        "repaired": repaired.unwrap_or(Value::Null),
        "unit": unit_json(&m.unit),
        "word_score": e.word_score,
        "word_edits": e.word_edits,
        "variants": e.variants,
        "in_context": e.in_context,
        "edits": e.edits.iter().map(edit_json).collect::<Vec<_>>(),
        "penalties": e.penalties.iter().map(|p| json!({"kind": p.kind, "points": p.points, "reason": p.reason})).collect::<Vec<_>>(),
        "warnings": e.warnings.iter().map(|w| json!({"kind": w.kind, "message": w.message})).collect::<Vec<_>>(),
    })
}

/// The language of a request: `code`, or when empty the one `text` is
/// mostly written in.
fn language(code: &str, text: &str, field: &str) -> crate::Result<Lang> {
    if code.trim().is_empty() {
        Lang::guess(text).ok_or_else(|| {
            Error::invalid(field, "cannot tell the text's language (no Arabic or Latin letters): choose one")
        })
    } else {
        Lang::parse(code, field)
    }
}

/// Filters a request may carry: metadata values to keep.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filters {
    domain: String,
    client: String,
    project: String,
    created_by: String,
}

impl Filters {
    fn unit_filter(&self) -> UnitFilter {
        let one = |value: &str| if value.trim().is_empty() { Vec::new() } else { vec![value.trim().to_owned()] };
        UnitFilter {
            domains: one(&self.domain),
            clients: one(&self.client),
            projects: one(&self.project),
            created_by: one(&self.created_by),
            ..UnitFilter::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Session and memories.

async fn session(State(api): State<Api>, Extension(principal): Extension<Principal>) -> Response {
    let started = Instant::now();
    let who = principal.clone();
    let answer = blocking(&api, move |tm, _| {
        let memories: Vec<Value> = tm
            .list_memories()?
            .into_iter()
            .filter(|m| who.can(Role::Read, &m.name))
            .map(|m| {
                json!({
                    "name": m.name,
                    "description": m.description,
                    "units": m.units,
                    "created_at_ms": m.created_at_ms,
                    "write": who.can(Role::Write, &m.name),
                    "admin": who.can(Role::Admin, &m.name),
                })
            })
            .collect();
        Ok(json!({
            "key": who.name,
            "memories": memories,
            "write_everywhere": who.can_everywhere(Role::Write),
            "admin_everywhere": who.can_everywhere(Role::Admin),
            "limits": {"upload_bytes": MAX_UPLOAD_BYTES, "request_bytes": MAX_REQUEST_BYTES},
        }))
    })
    .await
    .and_then(ok);
    observed(&api, "web_session", started, answer)
}

#[derive(Deserialize)]
struct NewMemory {
    name: String,
    #[serde(default)]
    description: String,
}

async fn create_memory(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let new: NewMemory = json_body(&headers, body).await?;
        let memory = blocking(&api, move |tm, _| {
            principal.require(Role::Admin, &new.name, "name")?;
            tm.create_memory(&new.name, &new.description)
        })
        .await?;
        ok(json!({"name": memory.name, "description": memory.description, "units": memory.units}))
    }
    .await;
    observed(&api, "web_create_memory", started, answer)
}

async fn delete_memory(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Response {
    let started = Instant::now();
    let answer = blocking(&api, move |tm, _| {
        principal.require(Role::Admin, &name, "name")?;
        tm.delete_memory(&name)
    })
    .await
    .and_then(|deleted| ok(json!({"deleted_units": deleted})));
    observed(&api, "web_delete_memory", started, answer)
}

#[derive(Deserialize)]
struct BrowseParams {
    before: Option<String>,
    limit: Option<String>,
}

async fn browse(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Query(params): Query<BrowseParams>,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let before =
            match params.before.as_deref().filter(|b| !b.is_empty()) {
                None => None,
                Some(b) => Some(b.parse::<u64>().map_err(|_| {
                    failure(StatusCode::BAD_REQUEST, "before", format!("before: {b:?} is not a unit id"))
                })?),
            };
        let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
            None => 20,
            Some(l) => l.parse::<usize>().ok().filter(|l| (1..=MAX_BROWSE_PAGE).contains(l)).ok_or_else(|| {
                failure(
                    StatusCode::BAD_REQUEST,
                    "limit",
                    format!("limit: {l:?} is not a number from 1 to {MAX_BROWSE_PAGE}"),
                )
            })?,
        };
        let (units, more) = blocking(&api, move |tm, cancel| {
            let name = memory_name(&name, "name")?;
            principal.require(Role::Read, &name, "name")?;
            tm.browse_units(&name, before, limit, &cancel)
        })
        .await?;
        let next = if more { units.last().map(|u| u.id.to_string()) } else { None };
        ok(json!({"units": units.iter().map(unit_json).collect::<Vec<_>>(), "next_before": next}))
    }
    .await;
    observed(&api, "web_browse", started, answer)
}

// ---------------------------------------------------------------------------
// Units.

/// A unit id from the path.
fn unit_id(text: &str) -> Result<u64, Failure> {
    text.parse::<u64>()
        .map_err(|_| failure(StatusCode::BAD_REQUEST, "unit_id", format!("unit_id: {text:?} is not a unit id")))
}

async fn get_unit(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let id = unit_id(&id)?;
        let unit = blocking(&api, move |tm, _| {
            super::grpc::check_unit(tm, &principal, id, Role::Read)?;
            tm.get_unit(id)
        })
        .await?;
        ok(unit_json(&unit))
    }
    .await;
    observed(&api, "web_get_unit", started, answer)
}

#[derive(Deserialize)]
struct UnitChange {
    /// Field name → new value (texts and text metadata).
    fields: Map<String, Value>,
    #[serde(default)]
    changed_by: String,
}

/// The fields an edit names, as a [`UnitEdit`].
fn unit_edit(change: UnitChange) -> crate::Result<UnitEdit> {
    let mut values = UnitInput::default();
    let mut fields = Vec::new();
    for (name, value) in change.fields {
        let field = format!("fields.{name}");
        let Some(text) = value.as_str() else {
            return Err(Error::invalid(field, "must be a string"));
        };
        let slot = match name.as_str() {
            "arabic" => &mut values.arabic,
            "english" => &mut values.english,
            "memory" => &mut values.memory,
            "created_by" => &mut values.created_by,
            "domain" => &mut values.domain,
            "client" => &mut values.client,
            "project" => &mut values.project,
            "source_document" => &mut values.source_document,
            "note" => &mut values.note,
            "changed_by" => &mut values.changed_by,
            "tuid" => &mut values.tuid,
            _ => {
                return Err(Error::invalid(
                    field,
                    "is not a field the web API edits (arabic, english, memory, created_by, domain, client, \
                     project, source_document, note, changed_by, tuid)",
                ))
            }
        };
        *slot = text.to_owned();
        fields.push(name);
    }
    Ok(UnitEdit { fields, values, changed_by: change.changed_by })
}

async fn update_unit(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let id = unit_id(&id)?;
        let change: UnitChange = json_body(&headers, body).await?;
        let unit = blocking(&api, move |tm, _| {
            let edit = unit_edit(change)?;
            super::grpc::check_unit(tm, &principal, id, Role::Write)?;
            if edit.fields.iter().any(|f| f == "memory") {
                let memory = memory_name(&edit.values.memory, "fields.memory")?;
                principal.require(Role::Write, &memory, "fields.memory")?;
            }
            tm.update_unit(id, edit)
        })
        .await?;
        ok(unit_json(&unit))
    }
    .await;
    observed(&api, "web_update_unit", started, answer)
}

async fn delete_unit(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let id = unit_id(&id)?;
        blocking(&api, move |tm, _| {
            super::grpc::check_unit(tm, &principal, id, Role::Write)?;
            tm.delete_unit(id)
        })
        .await?;
        ok(json!({"deleted": id.to_string()}))
    }
    .await;
    observed(&api, "web_delete_unit", started, answer)
}

#[derive(Deserialize)]
struct ConflictParams {
    memory: Option<String>,
}

async fn conflicts(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<ConflictParams>,
) -> Response {
    let started = Instant::now();
    let answer = blocking(&api, move |tm, _| {
        let named: Vec<String> = params.memory.into_iter().filter(|m| !m.is_empty()).collect();
        let Some(memories) = read_scope(tm, &principal, named)? else {
            return Ok((Vec::new(), 0));
        };
        tm.conflicts(&memories, 100)
    })
    .await
    .and_then(|(groups, total)| {
        let groups: Vec<Value> = groups
            .iter()
            .map(|c| {
                json!({"memory": c.memory, "lang": c.lang.code(), "units": c.units.iter().map(unit_json).collect::<Vec<_>>()})
            })
            .collect();
        ok(json!({"conflicts": groups, "total": total}))
    });
    observed(&api, "web_conflicts", started, answer)
}

// ---------------------------------------------------------------------------
// Lookup and concordance.

#[derive(Deserialize)]
struct LookupBody {
    text: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    memories: Vec<String>,
    min_score: Option<u32>,
    max_results: Option<u32>,
    #[serde(default)]
    filters: Filters,
}

async fn lookup(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let body: LookupBody = json_body(&headers, body).await?;
        let (lang, matches) = blocking(&api, move |tm, cancel| {
            let lang = language(&body.lang, &body.text, "lang")?;
            let Some(memories) = read_scope(tm, &principal, body.memories)? else {
                return Ok((lang, Vec::new()));
            };
            let request = LookupRequest {
                text: body.text,
                source_lang: lang.code().to_owned(),
                min_score: body.min_score,
                max_results: body.max_results,
                memories,
                filter: body.filters.unit_filter(),
                cancel,
                ..LookupRequest::default()
            };
            Ok((lang, tm.lookup(request)?))
        })
        .await?;
        ok(json!({"lang": lang.code(), "matches": matches.iter().map(match_json).collect::<Vec<_>>()}))
    }
    .await;
    observed(&api, "web_lookup", started, answer)
}

#[derive(Deserialize)]
struct ConcordanceBody {
    text: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    memories: Vec<String>,
    #[serde(default)]
    page_size: u32,
    #[serde(default)]
    page_token: String,
}

async fn concordance(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let body: ConcordanceBody = json_body(&headers, body).await?;
        let page = blocking(&api, move |tm, cancel| {
            let Some(memories) = read_scope(tm, &principal, body.memories)? else {
                return Ok(crate::memory::Concordance::default());
            };
            tm.concordance(ConcordanceRequest {
                text: body.text,
                lang: body.lang,
                memories,
                filter: UnitFilter::default(),
                page_size: body.page_size,
                page_token: body.page_token,
                cancel,
            })
        })
        .await?;
        let hits: Vec<Value> = page
            .hits
            .iter()
            .map(|hit| {
                json!({
                    "lang": hit.lang.code(),
                    "spans": hit.spans.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
                    "unit": unit_json(&hit.unit),
                })
            })
            .collect();
        ok(json!({"hits": hits, "next_page_token": page.next_page_token}))
    }
    .await;
    observed(&api, "web_concordance", started, answer)
}

// ---------------------------------------------------------------------------
// Import and export.

#[derive(Deserialize)]
struct ImportParams {
    #[serde(default)]
    memory: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    policy: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    source_lang: String,
}

/// One line of an import's answer.
fn ndjson(value: &Value) -> Bytes {
    let mut line = value.to_string();
    line.push('\n');
    Bytes::from(line)
}

fn summary_json(summary: &ImportSummary) -> Value {
    let listed = |list: &[crate::import::Rejection]| {
        list.iter().map(|r| json!({"line": r.line, "tuid": r.tuid, "reason": r.reason})).collect::<Vec<_>>()
    };
    json!({
        "read": summary.read,
        "added": summary.added,
        "updated": summary.updated,
        "duplicates": summary.duplicates,
        "kept_newer": summary.kept_newer,
        "removed": summary.removed,
        "rejected": summary.rejected,
        "rejections": listed(&summary.rejections),
        "warnings": listed(&summary.warnings),
        "encoding": summary.encoding,
        "stopped": summary.stopped,
    })
}

/// `POST import`: the body is the file. The file is read in full (up to
/// [`MAX_UPLOAD_BYTES`]: `413` past it), then imported while the answer
/// streams one JSON object per line: `{"progress": {bytes, total_bytes,
/// read, stored, rejected}}` after each batch, then `{"summary": …,
/// "rejected_tmx": …}` (the rejected `<tu>`s as a TMX document, when the
/// file was TMX and some were rejected) or `{"error": …, "field": …}`.
async fn import_upload(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let params: ImportParams = serde_urlencoded_params(query.as_deref())?;
        let policy = match params.policy.as_str() {
            "" | "add" => proto::DuplicatePolicy::Add,
            "overwrite" => proto::DuplicatePolicy::Overwrite,
            "keep_newest" => proto::DuplicatePolicy::KeepNewest,
            other => {
                return Err(failure(
                    StatusCode::BAD_REQUEST,
                    "policy",
                    format!("policy: {other:?} is not a duplicate policy (add, overwrite, keep_newest)"),
                ))
            }
        };
        let options = ImportOptions::try_from(proto::ImportOptions {
            format: params.format,
            memory: params.memory,
            policy: policy as i32,
            source_lang: params.source_lang,
            name: params.name,
            ..Default::default()
        })?;
        match &options.memory {
            Some(memory) => principal.require(Role::Write, memory, "options.memory")?,
            None => principal.require_everywhere(Role::Write, "options.memory")?,
        }
        let Ok(permit) = Arc::clone(&api.uploads).try_acquire_owned() else {
            return Err(failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "body",
                format!("the server is importing {MAX_UPLOADS} uploads already; retry when one has finished"),
            ));
        };
        let file = uploaded(&headers, body, MAX_UPLOAD_BYTES, api.idle).await?;
        let (lines, stream) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
        let tm = api.tm.clone();
        let metrics = api.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let total = file.len() as u64;
            let sent = |value: Value| {
                let _ = lines.blocking_send(Ok(ndjson(&value)));
            };
            let mut progress = |summary: &ImportSummary, at: Progress| {
                sent(json!({"progress": {
                    "bytes": at.bytes,
                    "total_bytes": total,
                    "read": summary.read,
                    "stored": summary.added + summary.updated,
                    "rejected": summary.rejected,
                }}));
            };
            match import(&tm, &file[..], &options, &mut progress) {
                Ok(summary) => {
                    metrics.imported(&summary);
                    let ranges: Vec<_> = summary
                        .rejections
                        .iter()
                        .filter_map(|r| r.span.map(|(start, end)| (start, end, r.reason.clone())))
                        .collect();
                    let mut rejected = Vec::new();
                    let rejected_tmx = if ranges.is_empty() {
                        Value::Null
                    } else {
                        match crate::tmx::copy_units(&file[..], &ranges, &mut rejected) {
                            Ok(()) => Value::from(String::from_utf8_lossy(&rejected).into_owned()),
                            Err(_) => Value::Null,
                        }
                    };
                    sent(json!({"summary": summary_json(&summary), "rejected_tmx": rejected_tmx}));
                }
                Err(err) => {
                    let failure = Failure::from(err);
                    sent(json!({"error": failure.message, "field": failure.field}));
                }
            }
        });
        let mut response = Response::new(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(stream)));
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
        Ok(response)
    }
    .await;
    observed(&api, "web_import", started, answer)
}

/// Query parameters (`a=1&b=2`) read into `T`; errors name the parameter.
fn serde_urlencoded_params<T: serde::de::DeserializeOwned>(query: Option<&str>) -> Result<T, Failure> {
    let mut map = Map::new();
    for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            String::from_utf8(super::rest::percent_decoded(&text.replace('+', " "))).map_err(|_| {
                failure(StatusCode::BAD_REQUEST, name, format!("{name}: is not UTF-8 once percent-decoded"))
            })
        };
        map.insert(decode(name)?, Value::from(decode(value)?));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|err| failure(StatusCode::BAD_REQUEST, "query", format!("query: {err}")))
}

/// `GET export?memory=a&memory=b`: the memories (or, none named, every
/// memory the key may read) as TMX, streamed.
async fn export_tmx(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let named: Vec<String> = query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.strip_prefix("memory="))
            .map(|value| String::from_utf8_lossy(&super::rest::percent_decoded(&value.replace('+', " "))).into_owned())
            .filter(|name| !name.is_empty())
            .collect();
        let filter = blocking(&api, move |tm, _| {
            let mut filter = ExportFilter { memories: named, domain: None }.validate("memory")?;
            if let Some(readable) = readable(tm, &principal, &filter.memories, "memory")? {
                if readable.is_empty() {
                    return Err(principal.require_everywhere(Role::Read, "memory").unwrap_err());
                }
                filter.memories = readable;
            }
            filter.check_memories(tm)?;
            Ok(filter)
        })
        .await?;
        let file_name = match filter.memories.as_slice() {
            [one] => format!("{one}.tmx"),
            _ => "dhakira.tmx".to_owned(),
        };
        let (chunks, stream) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let tm = api.tm.clone();
        let (runtime, idle) = (tokio::runtime::Handle::current(), api.idle);
        tokio::task::spawn_blocking(move || {
            let mut out = ChunkSender { chunks: chunks.clone(), buffer: Vec::new(), runtime, idle };
            let result =
                export(&tm, &mut out, &filter).and_then(|_| out.flush().map_err(|e| Error::from_io(e, "export")));
            if let Err(err) = result {
                let _ = chunks.blocking_send(Err(std::io::Error::other(err.to_string())));
            }
        });
        let mut response = Response::new(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(stream)));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tmx+xml; charset=utf-8"));
        let ascii: String =
            file_name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        Ok(response)
    }
    .await;
    observed(&api, "web_export", started, answer)
}

/// An export's output, in chunks of 256 KiB to the response; a chunk
/// waits at most `idle` for the client to read.
struct ChunkSender {
    chunks: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
    runtime: tokio::runtime::Handle,
    idle: Duration,
}

impl Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= 256 << 10 {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.runtime.block_on(self.chunks.send_timeout(Ok(chunk), self.idle)).map_err(|err| match err {
            mpsc::error::SendTimeoutError::Timeout(_) => std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the client read nothing for {} s (--stream-idle-timeout)", self.idle.as_secs_f64()),
            ),
            mpsc::error::SendTimeoutError::Closed(_) => {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
            }
        })
    }
}

// ---------------------------------------------------------------------------
// Analysis.

#[derive(Deserialize)]
struct AnalyzeBody {
    text: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    memories: Vec<String>,
    /// Lowest score whose translation a pretranslation fills in (75).
    min_score: Option<u32>,
}

async fn run_analysis(api: &Api, principal: Principal, body: AnalyzeBody) -> Result<(Lang, Analysis), Failure> {
    blocking(api, move |tm, cancel| {
        let lang = language(&body.lang, &body.text, "lang")?;
        let Some(memories) = read_scope(tm, &principal, body.memories)? else {
            return Err(principal.require_everywhere(Role::Read, "memories").unwrap_err());
        };
        let request = AnalyzeRequest {
            text: body.text,
            source_lang: lang.code().to_owned(),
            memories,
            cancel,
            ..AnalyzeRequest::default()
        };
        Ok((lang, tm.analyze(request)?))
    })
    .await
}

async fn analyze(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let body: AnalyzeBody = json_body(&headers, body).await?;
        let min_score = body.min_score.unwrap_or(crate::analysis::PRETRANSLATION_MIN_SCORE);
        let (lang, analysis) = run_analysis(&api, principal, body).await?;
        let segments: Vec<Value> = analysis
            .segments
            .iter()
            .map(|s| {
                json!({
                    "text": s.text,
                    "words": s.words,
                    "band": s.band,
                    "best": s.best.as_ref().map(match_json),
                    "translation": s.translation(min_score),
                })
            })
            .collect();
        let bands: Vec<Value> =
            analysis.bands.iter().map(|b| json!({"name": b.name, "segments": b.segments, "words": b.words})).collect();
        ok(json!({
            "lang": lang.code(),
            "bands": bands,
            "total_segments": analysis.total_segments,
            "total_words": analysis.total_words,
            "segments": segments,
        }))
    }
    .await;
    observed(&api, "web_analyze", started, answer)
}

async fn pretranslate(
    State(api): State<Api>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let answer = async {
        let body: AnalyzeBody = json_body(&headers, body).await?;
        let min_score = body.min_score.unwrap_or(crate::analysis::PRETRANSLATION_MIN_SCORE);
        let (_, analysis) = run_analysis(&api, principal, body).await?;
        let tsv = analysis.pretranslation_tsv(min_score);
        Ok((
            [
                (header::CONTENT_TYPE, "text/tab-separated-values; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"pretranslation.tsv\""),
            ],
            tsv,
        )
            .into_response())
    }
    .await;
    observed(&api, "web_pretranslate", started, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_the_repaired_ones() {
        let before = "The company hired 25 engineers in 2019.";
        let after = "The company hired 40 engineers in 2021.";
        let changed = changed_words(before, after, Lang::English);
        let words: Vec<String> =
            changed.iter().map(|[s, e]| after.chars().skip(*s).take(e - s).collect::<String>()).collect();
        assert_eq!(words, ["40", "2021"]);
        assert!(changed_words(before, before, Lang::English).is_empty());
    }

    #[test]
    fn edits_name_only_the_fields_they_change() {
        let mut fields = Map::new();
        fields.insert("english".into(), Value::from("new"));
        let edit = unit_edit(UnitChange { fields, changed_by: "me".into() }).unwrap();
        assert_eq!(edit.fields, ["english"]);
        assert_eq!(edit.values.english, "new");
        let mut bad = Map::new();
        bad.insert("id".into(), Value::from("1"));
        let err = unit_edit(UnitChange { fields: bad, changed_by: String::new() }).unwrap_err();
        assert!(err.to_string().starts_with("fields.id:"), "{err}");
    }
}
