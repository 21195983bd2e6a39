//! One layer in front of every protocol on the port (gRPC, gRPC-web, REST):
//! what a request may cost the server before any handler runs.
//!
//! - A call (a unary gRPC or gRPC-web call, a REST request) takes one of
//!   `--max-in-flight` permits, or is shed at once: `RESOURCE_EXHAUSTED`
//!   (REST: `503` with `Retry-After`). It gets a deadline, the client's
//!   `grpc-timeout` or `--request-timeout`, whichever is sooner: when it
//!   passes, the client is answered `DEADLINE_EXCEEDED` (REST: `504`) and
//!   the request's [`Cancel`] is raised, so the engine stops within a few
//!   units of work. The permit stays taken until the handler has returned:
//!   work that has not stopped still counts.
//! - A stream (`LookupStream`, `Import`, `Export`) takes one of
//!   `--max-streams` permits instead, held until its response ends; its
//!   handler bounds the wait for each message (`--stream-idle-timeout`).
//! - Health checks and reflection pass: they are cheap, and must answer
//!   under load.
//! - Every request tells its connection that it is busy until its response
//!   has been sent ([`super::connections`]).
//!
//! A request whose client goes away is cancelled too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::connections::{Activity, ConnectionInfo};
use super::metrics::{code_name, Metrics};
use super::{Limits, MAX_HEADER_LIST_BYTES, MAX_REQUEST_BYTES};
use crate::Cancel;

/// The gRPC methods that stream (their own budget, no deadline here).
const STREAMS: [&str; 3] = [
    "/dhakira.v1.TranslationMemory/LookupStream",
    "/dhakira.v1.TranslationMemory/Import",
    "/dhakira.v1.TranslationMemory/Export",
];

/// Services that always pass: health (probes must answer under load) and
/// reflection.
pub(super) const OPEN: [&str; 3] = ["/grpc.health.v1.Health/", "/grpc.reflection.v1.", "/grpc.reflection.v1alpha."];

/// The layer: see the module.
#[derive(Clone)]
pub struct AdmissionLayer {
    budget: Arc<Budget>,
}

struct Budget {
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    streams: Arc<Semaphore>,
    max_streams: usize,
    timeout: Duration,
    metrics: Metrics,
}

impl AdmissionLayer {
    pub fn new(limits: &Limits, metrics: Metrics) -> AdmissionLayer {
        let max_in_flight = limits.max_in_flight.max(1);
        let max_streams = limits.max_streams.max(1);
        AdmissionLayer {
            budget: Arc::new(Budget {
                in_flight: Arc::new(Semaphore::new(max_in_flight)),
                max_in_flight,
                streams: Arc::new(Semaphore::new(max_streams)),
                max_streams,
                timeout: limits.request_timeout,
                metrics,
            }),
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Admission<S> {
        Admission { inner, budget: Arc::clone(&self.budget) }
    }
}

/// The service of [`AdmissionLayer`].
#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    budget: Arc<Budget>,
}

/// What the layer holds for a request until its response has been sent.
struct Held {
    _activity: Option<Activity>,
    _stream: Option<OwnedSemaphorePermit>,
}

impl<S> Service<Request<Body>> for Admission<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let started = Instant::now();
        if let Some(refused) = self.budget.headers_too_large(&request, started) {
            return answered(refused);
        }
        let activity = connection_of(&request).map(|c| c.connection.begin());
        let path = request.uri().path();
        let budget = Arc::clone(&self.budget);
        if OPEN.iter().any(|open| path.starts_with(open)) {
            return held(self.inner.call(request), Held { _activity: activity, _stream: None });
        }
        if STREAMS.contains(&path) || super::api::STREAMS.contains(&path) {
            let Ok(permit) = Arc::clone(&budget.streams).try_acquire_owned() else {
                let message = format!(
                    "the server is busy: {} streams are open, the most it serves at once (--max-streams); retry \
                     after a short backoff",
                    budget.max_streams
                );
                return answered(budget.shed(&request, started, message));
            };
            return held(self.inner.call(request), Held { _activity: activity, _stream: Some(permit) });
        }
        let Ok(permit) = Arc::clone(&budget.in_flight).try_acquire_owned() else {
            let message = format!(
                "the server is busy: {} calls are being served, the most it serves at once (--max-in-flight); \
                 retry after a short backoff",
                budget.max_in_flight
            );
            return answered(budget.shed(&request, started, message));
        };
        let timeout = match client_timeout(&request) {
            Some(client) => client.min(budget.timeout),
            None => budget.timeout,
        };
        let method = path.rsplit('/').next().unwrap_or_default().to_owned();
        let cancel = Cancel::new();
        request.extensions_mut().insert(cancel.clone());
        let grpc = super::grpc_content_type(&request);
        if grpc.as_ref().is_some_and(|c| !c.as_bytes().ends_with(b"-text")) {
            request = request.map(|body| Body::new(LimitedBody { body, method, header: Vec::with_capacity(5) }));
        }
        // The handler runs as a task of its own holding the permit, so that
        // it keeps the permit until it has returned even when nobody waits
        // for its answer any more.
        let work = CURRENT.scope(cancel.clone(), self.inner.call(request));
        let task = tokio::spawn(async move {
            let response = work.await;
            drop(permit);
            response
        });
        Box::pin(async move {
            // Dropped (the client went away) or done: nobody needs the work.
            let _cancel = CancelOnDrop(cancel.clone());
            let response = tokio::select! {
                finished = task => match finished {
                    Ok(response) => response?,
                    Err(failed) => error_response(
                        grpc.as_ref(),
                        tonic::Status::internal(format!("the request failed: {failed}")),
                        StatusCode::INTERNAL_SERVER_ERROR,
                    ),
                },
                _ = tokio::time::sleep(timeout) => {
                    cancel.cancel();
                    error_response(grpc.as_ref(), deadline_exceeded(timeout), StatusCode::GATEWAY_TIMEOUT)
                }
            };
            Ok(with_held(response, Held { _activity: activity, _stream: None }))
        })
    }
}

tokio::task_local! {
    /// The [`Cancel`] of the call being handled, for handlers that do not
    /// see the request's extensions (the REST facades read it through
    /// [`current_cancel`]).
    static CURRENT: Cancel;
}

/// The [`Cancel`] of the call this task is handling (never cancelled
/// outside one).
pub fn current_cancel() -> Cancel {
    CURRENT.try_with(Cancel::clone).unwrap_or_default()
}

impl Budget {
    /// A request whose headers are over [`MAX_HEADER_LIST_BYTES`], counted
    /// as HTTP/2 counts them (name, value and 32 bytes per field), answered
    /// `431` as h2 answers one over its limit: one bound for HTTP/1.1 (whose
    /// parser buffers about 400 KB) and HTTP/2.
    fn headers_too_large(&self, request: &Request<Body>, started: Instant) -> Option<Response<Body>> {
        let bytes: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 32).sum();
        if bytes <= MAX_HEADER_LIST_BYTES as usize {
            return None;
        }
        self.metrics.observe("rest", StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.as_str(), started);
        let message = format!(
            "the request's headers are {bytes} bytes (names and values, and 32 per field); the limit is \
             {MAX_HEADER_LIST_BYTES} bytes"
        );
        Some(error_response(
            None,
            tonic::Status::resource_exhausted(message),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ))
    }

    /// A request shed at once, counted by its method.
    fn shed(&self, request: &Request<Body>, started: Instant, message: String) -> Response<Body> {
        let grpc = super::grpc_content_type(request);
        let method = match &grpc {
            Some(_) => request.uri().path().rsplit('/').next().unwrap_or_default(),
            None => "rest",
        };
        let code = match &grpc {
            Some(_) => code_name(tonic::Code::ResourceExhausted),
            None => StatusCode::SERVICE_UNAVAILABLE.as_str(),
        };
        self.metrics.observe(method, code, started);
        let mut response =
            error_response(grpc.as_ref(), tonic::Status::resource_exhausted(message), StatusCode::SERVICE_UNAVAILABLE);
        if grpc.is_none() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn connection_of<B>(request: &Request<B>) -> Option<&ConnectionInfo> {
    let extensions = request.extensions();
    extensions.get::<ConnectionInfo>().or_else(|| {
        extensions.get::<tonic::transport::server::TlsConnectInfo<ConnectionInfo>>().map(|tls| tls.get_ref())
    })
}

/// The client's `grpc-timeout` (`<digits><unit>`, units H M S m u n).
///
/// tonic's own deadline, outside this layer, fires at the same instant
/// and answers `CANCELLED`; a millisecond less makes this layer's answer,
/// which names the deadline and stops the work, come first.
fn client_timeout<B>(request: &Request<B>) -> Option<Duration> {
    let value = request.headers().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    };
    Some(timeout.saturating_sub(Duration::from_millis(1)))
}

/// An error in the request's protocol: gRPC and gRPC-web get the status in
/// the headers (with the request's content type); anything else `http`
/// with the message as JSON (`{"error": …}`, as amaGama's errors are).
fn error_response(grpc: Option<&HeaderValue>, status: tonic::Status, http: StatusCode) -> Response<Body> {
    match grpc {
        Some(content_type) => super::grpc_status_response(status, content_type.clone()),
        None => {
            let body = serde_json::json!({ "error": status.message() }).to_string();
            let mut response = Response::new(Body::new(body));
            *response.status_mut() = http;
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}

fn answered<E: Send + 'static>(
    response: Response<Body>,
) -> Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>> {
    Box::pin(std::future::ready(Ok(response)))
}

/// The inner service's response, with `held` kept until it has been sent.
fn held<F, E>(future: F, held: Held) -> Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>
where
    F: Future<Output = Result<Response<Body>, E>> + Send + 'static,
{
    Box::pin(async move { Ok(with_held(future.await?, held)) })
}

fn with_held(response: Response<Body>, held: Held) -> Response<Body> {
    response.map(|body| Body::new(HeldBody { body, _held: held }))
}

/// A response body that keeps what the layer holds until it is dropped
/// (sent in full, or its client gone).
struct HeldBody {
    body: Body,
    _held: Held,
}

impl http_body::Body for HeldBody {
    type Data = tonic::codegen::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A unary gRPC request's body, refused with `RESOURCE_EXHAUSTED` as soon
/// as its message says it is longer than [`MAX_REQUEST_BYTES`] (the five
/// bytes before a gRPC message are a flag and its length): before the
/// server has buffered it, and with a message that names the bound. (A
/// stream's messages are bounded by the service's decoding limit, the
/// same number.)
struct LimitedBody {
    body: Body,
    method: String,
    /// The first five bytes seen so far.
    header: Vec<u8>,
}

impl http_body::Body for LimitedBody {
    type Data = tonic::codegen::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = std::task::ready!(Pin::new(&mut this.body).poll_frame(cx));
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(http_body::Frame::data_ref)) {
            let missing = 5 - this.header.len();
            if let Some(data) = data.filter(|_| missing > 0) {
                this.header.extend_from_slice(&data[..missing.min(data.len())]);
                if this.header.len() == 5 {
                    let length = u32::from_be_bytes([this.header[1], this.header[2], this.header[3], this.header[4]]);
                    if length as usize > MAX_REQUEST_BYTES {
                        return Poll::Ready(Some(Err(tonic::Status::resource_exhausted(format!(
                            "{}: the request is {length} bytes; the limit is {MAX_REQUEST_BYTES} bytes (send fewer \
                             units per request, or stream them with Import)",
                            this.method
                        )))));
                    }
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Raises a request's [`Cancel`] when dropped.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The answer to a call that ran past its deadline (`timeout`).
fn deadline_exceeded(timeout: Duration) -> tonic::Status {
    tonic::Status::deadline_exceeded(format!(
        "the request took longer than its {} s deadline (the client's grpc-timeout or the \
         server's --request-timeout); its work was stopped, and whatever it changed was either \
         stored in full or not at all",
        timeout.as_secs_f64()
    ))
}
