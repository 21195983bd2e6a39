//! Which web pages may call the server, and which host names it answers to.
//!
//! A translator's browser can reach a server on 127.0.0.1: any page it
//! opens could send requests there. So, in front of every protocol on the
//! port (gRPC, gRPC-web, REST):
//!
//! - `Host` (or HTTP/2's `:authority`) must be a name the server answers to:
//!   the loopback names and the bound address, with the server's port, and
//!   the names given with `--allowed-host` (any port, for a proxy in front).
//!   A page that reached the server through DNS rebinding sends its own
//!   domain name there, and is refused. On an unspecified address
//!   (`0.0.0.0`, `[::]`) every IP address is such a name: rebinding needs a
//!   domain name, and the server cannot know which of its addresses a
//!   client used.
//! - A request that carries an `Origin` (browsers send one on cross-origin
//!   requests, and on every POST) is refused unless that origin was allowed
//!   with `--cors-origin` or is the server's own; only allowed origins get
//!   CORS headers. `Origin: null` (sandboxed frames, local files) is never
//!   allowed.
//! - Every response says `X-Content-Type-Options: nosniff`.
//!
//! A refusal is `403 Forbidden` with a message, or for gRPC and gRPC-web
//! `PERMISSION_DENIED` in the protocol's own shape.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tonic::body::Body;
use tower_layer::Layer;
use tower_service::Service;

/// How long a browser may cache a CORS preflight answer, in seconds.
const CORS_MAX_AGE_SECONDS: &str = "86400";

/// The request headers a gRPC-web client sends (`Authorization` among them,
/// for API keys).
const CORS_ALLOW_HEADERS: &str =
    "authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout, grpc-accept-encoding, grpc-encoding";

/// The response headers a gRPC-web client must read: the gRPC status
/// travels in them.
const CORS_EXPOSE_HEADERS: &str =
    "grpc-status, grpc-message, grpc-status-details-bin, grpc-encoding, grpc-accept-encoding";

/// What browsers may do: the web origins whose pages may call the server,
/// the extra host names it answers to, and whether amaGama's JSONP is
/// served. The default allows no origin, no extra name and no JSONP.
#[derive(Debug, Clone, Default)]
pub struct BrowserAccess {
    /// `scheme://host[:port]`, lower case, no trailing slash.
    origins: Vec<String>,
    /// Host names (lower case, without a port); `*` answers to every name.
    hosts: Vec<String>,
    jsonp: bool,
}

impl BrowserAccess {
    /// Checks and normalizes the operator's lists: `origins` as
    /// `--cors-origin` values, `hosts` as `--allowed-host` values.
    pub fn new(origins: &[String], hosts: &[String], jsonp: bool) -> crate::Result<BrowserAccess> {
        let origins = origins.iter().map(|o| normalized_origin(o)).collect::<crate::Result<_>>()?;
        let hosts = hosts
            .iter()
            .map(|h| {
                let h = h.trim().to_ascii_lowercase();
                let (name, port) = split_host(&h);
                if name.is_empty() || port.is_some() || h.contains(['/', ' ']) {
                    return Err(crate::Error::invalid(
                        "--allowed-host",
                        format!("{h:?} is not a host name (give the name alone, e.g. tm.example.org, or *)"),
                    ));
                }
                Ok(name.to_owned())
            })
            .collect::<crate::Result<_>>()?;
        Ok(BrowserAccess { origins, hosts, jsonp })
    }

    /// Whether amaGama's JSONP (`jsoncallback=`) is served (`--jsonp`): a
    /// `<script>` tag sends no `Origin`, so any page could read a memory
    /// through it.
    pub fn jsonp(&self) -> bool {
        self.jsonp
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, lower case.
fn normalized_origin(origin: &str) -> crate::Result<String> {
    let lower = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = |why: &str| crate::Error::invalid("--cors-origin", format!("{origin:?} {why}"));
    if lower == "null" || lower == "*" {
        return Err(bad("cannot be allowed: list the origins of the pages that may call the server"));
    }
    let uri: http::Uri = lower.parse().map_err(|_| bad("is not an origin (scheme://host[:port])"))?;
    match (uri.scheme(), uri.authority(), uri.path()) {
        (Some(_), Some(authority), "/" | "") if uri.query().is_none() && !authority.as_str().contains('@') => Ok(lower),
        _ => Err(bad("is not an origin: give scheme://host[:port], without a path (e.g. https://weblate.example.org)")),
    }
}

/// `name` and `port` of a `Host` value (`[::1]:8080`, `localhost`).
fn split_host(host: &str) -> (&str, Option<&str>) {
    let colon = if host.starts_with('[') { host.find(']').map(|end| end + 1) } else { host.rfind(':') };
    match colon {
        Some(at) if host[at..].starts_with(':') => (&host[..at], Some(&host[at + 1..])),
        _ => (host, None),
    }
}

/// The layer in front of every protocol on the port.
#[derive(Clone)]
pub struct GuardLayer {
    policy: Arc<Policy>,
}

impl GuardLayer {
    /// The guard for a server listening on `local` (TLS or not: the scheme
    /// of its own origin).
    pub fn new(access: BrowserAccess, local: SocketAddr, tls: bool) -> GuardLayer {
        GuardLayer { policy: Arc::new(Policy { access, local, scheme: if tls { "https" } else { "http" } }) }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, policy: Arc::clone(&self.policy) }
    }
}

struct Policy {
    access: BrowserAccess,
    local: SocketAddr,
    scheme: &'static str,
}

/// What to do with a request.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Serve it; with the origin to name in CORS headers when it is an
    /// allowed cross-origin request.
    Pass(Option<HeaderValue>),
    /// Answer an allowed origin's CORS preflight.
    Preflight(HeaderValue),
    /// Refuse it, saying why.
    Refuse(String),
}

impl Policy {
    fn judge<B>(&self, request: &Request<B>) -> Verdict {
        let authority = match request.uri().authority() {
            Some(authority) => Some(authority.as_str().to_owned()),
            None => request.headers().get(header::HOST).map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()),
        };
        // Browsers always send a Host: a request without one is no page's.
        if let Some(host) = &authority {
            if !self.answers_to(host) {
                return Verdict::Refuse(format!(
                    "this server does not answer to the host name {host:?} (a web page that reached it through \
                     DNS rebinding would send such a name); to serve clients that use it, start the server with \
                     --allowed-host {}",
                    split_host(host).0
                ));
            }
        }
        let Some(origin) = request.headers().get(header::ORIGIN) else {
            return Verdict::Pass(None);
        };
        let text = String::from_utf8_lossy(origin.as_bytes()).to_ascii_lowercase();
        if self.access.origins.contains(&text) {
            let preflight = request.method() == Method::OPTIONS
                && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
            return if preflight { Verdict::Preflight(origin.clone()) } else { Verdict::Pass(Some(origin.clone())) };
        }
        if authority.is_some_and(|host| text == format!("{}://{}", self.scheme, host.to_ascii_lowercase())) {
            return Verdict::Pass(None);
        }
        if text == "null" {
            return Verdict::Refuse(
                "requests from web pages of the origin \"null\" (sandboxed frames, local files) are refused: \
                 such a page could read and change translation memories through the browser"
                    .to_owned(),
            );
        }
        Verdict::Refuse(format!(
            "requests from web pages of the origin {text:?} are refused: any page a translator opens could \
             otherwise read and change translation memories through the browser. To let a CAT tool's web page \
             call this server, start it with --cors-origin {text}"
        ))
    }

    /// Whether `host` (`name[:port]`) is a name this server answers to.
    fn answers_to(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let (name, port) = split_host(&host);
        if self.access.hosts.iter().any(|allowed| allowed == "*" || allowed == name) {
            return true;
        }
        if port.is_some_and(|port| port.parse() != Ok(self.local.port())) {
            return false;
        }
        let ip = name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        match ip {
            Some(ip) => ip.is_loopback() || ip == self.local.ip() || self.local.ip().is_unspecified(),
            None => name == "localhost",
        }
    }
}

/// The service of [`GuardLayer`].
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S, B> Service<Request<B>> for Guard<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let verdict = self.policy.judge(&request);
        let answered = |mut response: Response<Body>| {
            protect(response.headers_mut());
            Box::pin(std::future::ready(Ok(response)))
        };
        match verdict {
            Verdict::Refuse(message) => {
                tracing::warn!(uri = %super::rest::redacted_uri(request.uri()), "refused: {message}");
                answered(refusal(&request, message))
            }
            Verdict::Preflight(origin) => answered(preflight(&request, origin)),
            Verdict::Pass(cors) => {
                let future = self.inner.call(request);
                Box::pin(async move {
                    let mut response = future.await?;
                    let headers = response.headers_mut();
                    if let Some(origin) = cors {
                        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                        headers.insert(
                            header::ACCESS_CONTROL_EXPOSE_HEADERS,
                            HeaderValue::from_static(CORS_EXPOSE_HEADERS),
                        );
                    }
                    protect(headers);
                    Ok(response)
                })
            }
        }
    }
}

/// Headers every response carries: no content sniffing, and (answers
/// depend on the origin, and amaGama's are cacheable) `Vary: Origin`.
fn protect(headers: &mut http::HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// A refusal in the request's protocol: gRPC and gRPC-web get
/// `PERMISSION_DENIED` (HTTP 200, the status in the headers, with the
/// request's content type), anything else `403 Forbidden`.
fn refusal<B>(request: &Request<B>, message: String) -> Response<Body> {
    match super::grpc_content_type(request) {
        Some(grpc) => super::grpc_status_response(tonic::Status::permission_denied(message), grpc),
        None => {
            let mut response = Response::new(Body::new(message));
            *response.status_mut() = StatusCode::FORBIDDEN;
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            response
        }
    }
}

/// The answer to an allowed origin's CORS preflight. A page on a public
/// origin asking for a server on a private address is let through only
/// here (Private Network Access).
fn preflight<B>(request: &Request<B>, origin: HeaderValue) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(CORS_ALLOW_HEADERS));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(CORS_MAX_AGE_SECONDS));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("access-control-request-method, access-control-request-headers"),
    );
    let private_network = HeaderName::from_static("access-control-request-private-network");
    if request.headers().get(private_network).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true")) {
        headers
            .insert(HeaderName::from_static("access-control-allow-private-network"), HeaderValue::from_static("true"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], hosts: &[&str], local: &str) -> Policy {
        let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let access = BrowserAccess::new(&owned(origins), &owned(hosts), false).unwrap();
        Policy { access, local: local.parse().unwrap(), scheme: "http" }
    }

    fn request(method: &str, host: &str, origin: Option<&str>) -> Request<()> {
        let mut request = Request::builder().method(method).uri("/get").header("host", host);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.body(()).unwrap()
    }

    #[test]
    fn loopback_names_and_the_bound_address_with_its_port_are_answered_to() {
        let local = policy(&[], &[], "127.0.0.1:5000");
        for host in ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "LOCALHOST:5000", "localhost"] {
            assert_eq!(local.judge(&request("GET", host, None)), Verdict::Pass(None), "{host}");
        }
        for host in ["localhost:5001", "evil.example:5000", "10.0.0.1:5000", "localhost.evil.example:5000"] {
            assert!(matches!(local.judge(&request("GET", host, None)), Verdict::Refuse(_)), "{host}");
        }
        let lan = policy(&[], &[], "192.168.1.7:5000");
        assert_eq!(lan.judge(&request("GET", "192.168.1.7:5000", None)), Verdict::Pass(None));
        assert!(matches!(lan.judge(&request("GET", "192.168.1.8:5000", None)), Verdict::Refuse(_)));
        // An unspecified address answers to every IP address, never to an
        // unlisted domain name.
        let any = policy(&[], &[], "0.0.0.0:5000");
        assert_eq!(any.judge(&request("GET", "203.0.113.9:5000", None)), Verdict::Pass(None));
        assert!(matches!(any.judge(&request("GET", "tm.example.org:5000", None)), Verdict::Refuse(_)));
        let named = policy(&[], &["TM.example.org"], "0.0.0.0:5000");
        assert_eq!(named.judge(&request("GET", "tm.example.org", None)), Verdict::Pass(None));
        assert_eq!(named.judge(&request("GET", "tm.example.org:443", None)), Verdict::Pass(None));
        let every = policy(&[], &["*"], "127.0.0.1:5000");
        assert_eq!(every.judge(&request("GET", "whatever.example:1", None)), Verdict::Pass(None));
    }

    #[test]
    fn only_allowed_and_same_origins_pass() {
        let p = policy(&["https://Weblate.example.org/"], &[], "127.0.0.1:5000");
        let allowed = HeaderValue::from_static("https://weblate.example.org");
        let from = |method, origin| p.judge(&request(method, "127.0.0.1:5000", Some(origin)));
        assert_eq!(from("POST", "https://weblate.example.org"), Verdict::Pass(Some(allowed.clone())));
        assert_eq!(from("GET", "https://weblate.example.org"), Verdict::Pass(Some(allowed.clone())));
        assert_eq!(from("POST", "http://127.0.0.1:5000"), Verdict::Pass(None));
        for origin in ["http://weblate.example.org", "https://weblate.example.org:8443", "null", "https://evil.example"]
        {
            assert!(matches!(from("POST", origin), Verdict::Refuse(_)), "{origin}");
            assert!(matches!(from("GET", origin), Verdict::Refuse(_)), "{origin}");
        }
        let mut ask = request("OPTIONS", "127.0.0.1:5000", Some("https://weblate.example.org"));
        ask.headers_mut().insert("access-control-request-method", HeaderValue::from_static("POST"));
        assert_eq!(p.judge(&ask), Verdict::Preflight(allowed));
    }

    #[test]
    fn bad_origins_and_host_names_are_refused_at_start_up() {
        for origin in ["null", "*", "weblate.example.org", "https://weblate.example.org/tm", "https://a@b.example"] {
            let err = BrowserAccess::new(&[origin.to_owned()], &[], false).unwrap_err();
            assert!(err.to_string().starts_with("--cors-origin: "), "{err}");
        }
        for host in ["tm.example.org:80", "", "http://tm.example.org"] {
            let err = BrowserAccess::new(&[], &[host.to_owned()], false).unwrap_err();
            assert!(err.to_string().starts_with("--allowed-host: "), "{err}");
        }
        let ok = BrowserAccess::new(&["moz-extension://1f2e3d".to_owned()], &["tm.example.org".to_owned()], true);
        assert!(ok.unwrap().jsonp());
    }
}
