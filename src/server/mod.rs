//! The network edge: wires the gRPC service, health (`grpc.health.v1`) and
//! reflection (v1 and v1alpha, so `grpcurl list` needs no proto file) onto a
//! listener, with gRPC-web (HTTP/1.1, for browsers) on the same port behind
//! the browser guard (`origin`: host names, origins, CORS), and gzip
//! accepted and offered; the REST facades and `/metrics` (`rest`) are the
//! fallback of the gRPC routes. Every protocol passes the same
//! layers: the browser guard, admission (`admission`: calls in flight,
//! deadlines, streams, sizes) and authentication (`authn`). Handlers hold
//! no logic of their own: `grpc` and `rest` convert (`conversions`) and
//! call the engine.

mod admission;
mod api;
mod authn;
mod connections;
mod conversions;
mod grpc;
mod metrics;
mod origin;
mod rest;
mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Identity, ServerTlsConfig};
use tower_layer::Layer;

pub use api::{MAX_UPLOADS, MAX_UPLOAD_BYTES};
pub use grpc::Service;
pub use metrics::Metrics;
pub use origin::BrowserAccess;
pub use web::CONTENT_SECURITY_POLICY;

use crate::auth::{Keys, Principal, Role};
use crate::memory::TranslationMemory;
use crate::proto::translation_memory_client::TranslationMemoryClient;
use crate::proto::translation_memory_server::TranslationMemoryServer;

/// Largest response, in bytes: bounded, and well above tonic's 4 MiB
/// default so that 100 matches with their units, or a big export chunk,
/// fit. Clients made by [`connect`] send and take up to this much.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Largest request message the server takes, in bytes: twice an
/// `AddUnits` of 10,000 news-length units (about 3.5 MB), and a bound on
/// what one request may cost in memory (decoded, checked and analyzed, a
/// request takes several times its size).
pub const MAX_REQUEST_BYTES: usize = 8 << 20;

/// The request's content type when it is gRPC or gRPC-web.
fn grpc_content_type<B>(request: &http::Request<B>) -> Option<http::HeaderValue> {
    request.headers().get(http::header::CONTENT_TYPE).filter(|v| v.as_bytes().starts_with(b"application/grpc")).cloned()
}

/// `status` answered in gRPC's shape by a layer in front of the service
/// (HTTP 200, the status in the headers), with the request's gRPC or
/// gRPC-web content type, so either client reads it.
fn grpc_status_response(status: tonic::Status, content_type: http::HeaderValue) -> http::Response<tonic::body::Body> {
    let mut response = status.into_http::<tonic::body::Body>();
    response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
    response
}

/// A client for the server at `url` (`http://host:port`), with the same
/// message bound as the server. It does not ask for gzip: on loopback and
/// fast links compressing costs more CPU than it saves (callers that move
/// much data over slow links add `accept_compressed`).
pub async fn connect(url: &str) -> Result<TranslationMemoryClient<tonic::transport::Channel>, tonic::transport::Error> {
    let client = TranslationMemoryClient::connect(url.to_owned()).await?;
    Ok(client.max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES))
}

/// Bounds on what clients may ask of the server at once (see
/// [`admission`] and [`connections`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls (unary gRPC and gRPC-web, REST) being served at once, all
    /// connections together; one more is shed at once with
    /// `RESOURCE_EXHAUSTED` (REST: 503) instead of queueing.
    pub max_in_flight: usize,
    /// How long a call may run before it is answered `DEADLINE_EXCEEDED`
    /// (REST: 504) and its work stopped; a client's shorter `grpc-timeout`
    /// wins. Streams are bounded per message instead.
    pub request_timeout: Duration,
    /// Streams (`LookupStream`, `Import`, `Export`) open at once; one more
    /// is shed with `RESOURCE_EXHAUSTED`. They do not count against
    /// `max_in_flight`.
    pub max_streams: usize,
    /// How long a stream may wait for its client's next message (or, for
    /// an export, for its client to read) before it is closed with
    /// `DEADLINE_EXCEEDED`.
    pub stream_idle_timeout: Duration,
    /// Full scans (`exhaustive`, or `min_score` 0) running at once; one
    /// more is refused with `RESOURCE_EXHAUSTED`.
    pub max_scans: usize,
    /// Connections open at once; when all are taken, a new one takes the
    /// place of one with no request in flight, else it is closed.
    pub max_connections: usize,
    /// How long a new connection may take to send its first request's
    /// headers before it is closed.
    pub first_request_timeout: Duration,
    /// Several nodes on PostgreSQL: the longest a lookup waits for its
    /// `min_sequence` to be applied.
    pub min_sequence_wait: Duration,
    /// Several nodes on PostgreSQL: health says NOT_SERVING while the node
    /// has been behind the change log for longer, or has not read it for
    /// longer.
    pub max_lag: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_streams: DEFAULT_MAX_STREAMS,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
            max_scans: crate::DEFAULT_MAX_SCANS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            first_request_timeout: DEFAULT_FIRST_REQUEST_TIMEOUT,
            min_sequence_wait: crate::DEFAULT_MAX_WAIT,
            max_lag: DEFAULT_MAX_LAG,
        }
    }
}

impl Limits {
    /// Threads the server's blocking pool may start: every call and every
    /// stream in flight may hold one (engine work, an import's reader, an
    /// export's writer), and a few spare.
    pub fn blocking_threads(&self) -> usize {
        self.max_in_flight + self.max_streams + 8
    }
}

/// The default of [`Limits::max_lag`].
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(5);

/// The default of [`Limits::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`Limits::max_streams`].
pub const DEFAULT_MAX_STREAMS: usize = 64;

/// The default of [`Limits::stream_idle_timeout`].
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default of [`Limits::max_connections`]: well under the usual file
/// descriptor limits.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_000;

/// The default of [`Limits::first_request_timeout`].
pub const DEFAULT_FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Who may do what, and TLS.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// API keys; none: anyone may do anything.
    pub keys: Keys,
    /// A certificate chain and its private key, PEM: serve TLS only.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// Which web pages may call the server, the host names it answers to,
    /// JSONP.
    pub browsers: BrowserAccess,
}

/// The default of [`Limits::max_in_flight`]: far more than two cores can
/// serve at once, few enough that a flood is answered fast rather than
/// queued, and that the blocking pool stays small (see
/// [`Limits::blocking_threads`]).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// HTTP/2 streams one connection may have open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 256;

/// HTTP/2 flow-control windows (see `serve`).
const STREAM_WINDOW_BYTES: u32 = 64 << 10;
const CONNECTION_WINDOW_BYTES: u32 = 3 << 20;

/// Largest header block (metadata) of a request, in bytes.
const MAX_HEADER_LIST_BYTES: u32 = 64 << 10;

/// Serves `tm` on `listener` until `shutdown` completes, then stops accepting
/// and lets requests in flight finish for at most `drain` (a client that
/// keeps its connection open cannot hold the server up for longer).
pub async fn serve(
    tm: TranslationMemory,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
    limits: Limits,
    security: Security,
) -> Result<(), tonic::transport::Error> {
    let (fired, signalled) = oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = fired.send(());
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<TranslationMemoryServer<Service>>().await;
    tm.set_max_wait(limits.min_sequence_wait);
    let watching =
        tm.replication().enabled.then(|| tokio::spawn(watch_replication(tm.clone(), health, limits.max_lag)));
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1().expect("the embedded descriptor set is valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("the embedded descriptor set is valid");
    let metrics = Metrics::new();
    let guard = origin::GuardLayer::new(
        security.browsers.clone(),
        listener.local_addr().expect("a bound listener has an address"),
        security.tls.is_some(),
    );
    tm.set_max_scans(limits.max_scans);
    let admission = admission::AdmissionLayer::new(&limits, metrics.clone());
    let authn = authn::AuthLayer::new(Arc::new(security.keys), metrics.clone());
    let grpc = grpc_service(tm.clone(), metrics.clone(), &limits);
    // gRPC-web is translated per gRPC service: the layer refuses every other
    // HTTP/1.1 request, and the REST facades are HTTP/1.1.
    let web = tonic_web::GrpcWebLayer::new();
    // The REST facades are the fallback: gRPC services own their paths.
    let app = web::router(tm.clone(), metrics.clone(), limits.stream_idle_timeout);
    let routes = tonic::service::Routes::from(rest::router(tm, metrics, security.browsers.jsonp()).merge(app))
        .add_service(web.layer(health_service))
        .add_service(web.layer(reflection_v1))
        .add_service(web.layer(reflection_v1alpha))
        .add_service(web.layer(grpc))
        .prepare();
    let server = server_builder(security.tls.as_ref())?
        // Host names and web origins are checked before any protocol, then
        // admission and deadlines, then the caller's key, for every
        // protocol alike.
        .layer(guard)
        .layer(admission)
        .layer(authn)
        .add_routes(routes)
        // Without TCP_NODELAY small responses wait for delayed ACKs (~40 ms each).
        .serve_with_incoming_shutdown(
            connections::accepted(listener, limits.max_connections, limits.first_request_timeout),
            signal,
        );
    tokio::pin!(server);
    let _stop_watching = watching.map(StopOnDrop);
    tokio::select! {
        result = &mut server => return result,
        _ = signalled => {}
    }
    match tokio::time::timeout(drain, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(?drain, "requests still in flight after the drain period; stopping anyway");
            Ok(())
        }
    }
}

/// Aborts a task when dropped.
struct StopOnDrop(tokio::task::JoinHandle<()>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often health follows the node's replication state.
const HEALTH_EVERY: Duration = Duration::from_millis(250);

/// Whether a node on a change log may serve: it read the log within
/// `max_lag`, and it has not been behind it for longer.
pub fn replication_healthy(status: &crate::ReplicationStatus, max_lag: Duration) -> bool {
    !status.enabled || (status.since_contact.is_some_and(|since| since <= max_lag) && status.behind <= max_lag)
}

/// Keeps `grpc.health.v1` (the server as a whole, "", and the service)
/// NOT_SERVING while the node cannot read the change log or is behind it
/// (see [`replication_healthy`]), so that a load balancer routes around it.
async fn watch_replication(tm: TranslationMemory, health: tonic_health::server::HealthReporter, max_lag: Duration) {
    let mut serving = true;
    loop {
        tokio::time::sleep(HEALTH_EVERY).await;
        let status = tm.replication();
        let healthy = replication_healthy(&status, max_lag);
        if healthy == serving {
            continue;
        }
        serving = healthy;
        let state =
            if healthy { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
        if healthy {
            tracing::info!(applied = status.applied, "caught up with the change log: serving");
        } else {
            tracing::warn!(
                applied = status.applied,
                head = status.head,
                behind_s = status.behind.as_secs_f64(),
                since_contact_s = status.since_contact.map(|d| d.as_secs_f64()),
                "behind the change log or cut off from the database: health says NOT_SERVING"
            );
        }
        health.set_service_status("", state).await;
        health.set_service_status(<TranslationMemoryServer<Service> as tonic::server::NamedService>::NAME, state).await;
    }
}

/// The gRPC service: message size bounds, and responses gzipped for
/// clients that accept it.
fn grpc_service(tm: TranslationMemory, metrics: Metrics, limits: &Limits) -> TranslationMemoryServer<Service> {
    TranslationMemoryServer::new(Service::new(tm, metrics, limits))
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        // Responses are gzipped for clients that accept it (large match
        // lists and exports shrink several times).
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
}

/// The HTTP server's settings, before its layers and routes: TLS when
/// given, HTTP/1.1 beside HTTP/2, flood bounds, flow control, keepalives.
fn server_builder(tls: Option<&(Vec<u8>, Vec<u8>)>) -> Result<tonic::transport::Server, tonic::transport::Error> {
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = tls {
        builder = builder.tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))?;
    }
    Ok(builder
        // HTTP/1.1 beside HTTP/2 on the one port: gRPC-web clients (browsers)
        // and the REST facades speak it.
        .accept_http1(true)
        // Flood and abuse bounds: streams per connection, header size,
        // streams a client resets before the server accepted them (the
        // "rapid reset" attack), and keepalive pings that drop dead peers.
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_max_pending_accept_reset_streams(Some(64))
        // Flow control that slows a pipelining client instead of cutting it
        // off: h2 closes a connection (GOAWAY too_many_data_frames) once
        // the framing overhead of small DATA frames it holds unread passes
        // half the connection window. A stream holds at most its window
        // unread: 64 KiB of the smallest lookups (13 bytes a frame, 243
        // bytes of overhead counted each) is 1.2 MB, under half of 3 MiB.
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_keepalive(Some(Duration::from_secs(60))))
}

/// The names of every memory (for narrowing a read to the ones a key may
/// read).
fn memory_names(tm: &TranslationMemory) -> crate::Result<Vec<String>> {
    Ok(tm.list_memories()?.into_iter().map(|m| m.name).collect())
}

/// The memories a read covers for this caller: the named ones if it may
/// read them all, else (none named) every memory or the ones it may read.
/// `Ok(None)` means "every memory". A caller that may read none gets an
/// empty list back as `Some(vec![])`.
pub(crate) fn readable(
    tm: &TranslationMemory,
    principal: &Principal,
    named: &[String],
    field: &str,
) -> crate::Result<Option<Vec<String>>> {
    if named.is_empty() && principal.can_everywhere(Role::Read) {
        return Ok(None);
    }
    principal.readable(named, &memory_names(tm)?, field)
}

/// The memories a read covers for this caller, as a request's `memories`
/// field: the named ones (each checked), or when none is named every memory
/// (an empty list) or the ones it may read. `None` when it may read none:
/// the answer is empty.
pub(crate) fn read_scope(
    tm: &TranslationMemory,
    principal: &Principal,
    named: Vec<String>,
) -> crate::Result<Option<Vec<String>>> {
    Ok(match readable(tm, principal, &named, "memories")? {
        Some(readable) if readable.is_empty() => None,
        Some(readable) => Some(readable),
        None => Some(named),
    })
}
