//! Authentication, in one layer for every protocol on the port (gRPC,
//! gRPC-web, the REST facades, `/metrics`), inside admission: the caller's
//! key (`authorization: Bearer <key>`, or HTTP Basic with the key as the
//! password; else a path `/k/<key>/…`, which is then taken out of the URI;
//! else amaGama's or MyMemory's `key=` parameter) is checked before any
//! handler runs or any request body is read, and the
//! caller's [`Principal`] goes to the handlers in the request's extensions.
//! A missing or unknown key is refused here, in the protocol's shape:
//! `UNAUTHENTICATED` for gRPC and gRPC-web, `401` with `{"error": …}` for
//! amaGama (and `/metrics`, as text), MyMemory's own error shape for
//! MyMemory. What a principal may do on which memory is decided where the
//! operation is known (the handlers). Health checks and reflection stay
//! open.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{header, Request, Response};
use tonic::body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::admission::OPEN;
use super::metrics::{code_name, Metrics};
use crate::auth::{Keys, Principal};

/// MyMemory's paths, where the key may come as a `key=` parameter.
const MYMEMORY: [&str; 2] = ["/get", "/api/get"];
/// amaGama's path prefixes, where it may too.
const AMAGAMA: [&str; 2] = ["/tmserver/", "/api/v1/"];

/// The layer: see the module.
#[derive(Clone)]
pub struct AuthLayer {
    keys: Arc<Keys>,
    metrics: Metrics,
}

impl AuthLayer {
    pub fn new(keys: Arc<Keys>, metrics: Metrics) -> AuthLayer {
        AuthLayer { keys, metrics }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate { inner, keys: Arc::clone(&self.keys), metrics: self.metrics.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    keys: Arc<Keys>,
    metrics: Metrics,
}

impl<S> Service<Request<Body>> for Authenticate<S>
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
        let path = request.uri().path();
        // The web app's files: a page must load before it can ask for a key.
        if OPEN.iter().any(|open| path.starts_with(open)) || super::web::is_public(path) {
            return Box::pin(self.inner.call(request));
        }
        match authenticate(&self.keys, &request) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                // `/k/KEY/tmserver/…` is served as `/tmserver/…`: the key
                // has done its part.
                if let Some(uri) = without_path_key(request.uri()) {
                    *request.uri_mut() = uri;
                }
                Box::pin(self.inner.call(request))
            }
            Err(err) => {
                let started = std::time::Instant::now();
                let response = refusal(&request, err);
                let status = response.status();
                let (method, code) = match super::grpc_content_type(&request) {
                    Some(_) => (
                        request.uri().path().rsplit('/').next().unwrap_or_default(),
                        code_name(tonic::Code::Unauthenticated),
                    ),
                    None => ("rest", status.as_str()),
                };
                self.metrics.observe(method, code, started);
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

/// The caller: the key its `authorization` header bears (`Bearer KEY`, or
/// `Basic` with the key as the password, whatever the user name: what a
/// client sends for a URL `http://user:KEY@host/tmserver`), else the key in
/// the path (`/k/KEY/tmserver/…`), else (MyMemory and amaGama) its `key`
/// parameter; anyone when the server has no keys. The last two are for
/// clients whose setting is a URL and nothing more (Weblate's tmserver);
/// logs show such URLs with the key taken out (`rest::redacted_uri`).
fn authenticate<B>(keys: &Keys, request: &Request<B>) -> crate::Result<Principal> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        return match basic_password(value.as_bytes()) {
            Some(password) => keys.principal_of(&password),
            None => keys.authenticate(Some(value.as_bytes())),
        };
    }
    let path = request.uri().path();
    if let Some(key) = path.strip_prefix("/k/").and_then(|rest| rest.split('/').next()).filter(|k| !k.is_empty()) {
        return keys.principal_of(&super::rest::percent_decoded(key));
    }
    let takes_parameter = MYMEMORY.contains(&path) || AMAGAMA.iter().any(|prefix| path.starts_with(prefix));
    let key = takes_parameter.then(|| request.uri().query()).flatten().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name == "key" && !value.is_empty()).then(|| super::rest::percent_decoded(value))
        })
    });
    match key {
        Some(key) => keys.principal_of(&key),
        None => keys.authenticate(None),
    }
}

/// `/k/KEY/rest?query` as `/rest?query`; `None` for a path without a key.
fn without_path_key(uri: &http::Uri) -> Option<http::Uri> {
    let rest = uri.path().strip_prefix("/k/")?;
    let after = &rest[rest.find('/')?..];
    let path_and_query = match uri.query() {
        Some(query) => format!("{after}?{query}"),
        None => after.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    http::Uri::from_parts(parts).ok()
}

/// The password of `Basic base64(user:password)` credentials.
fn basic_password(value: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(value[6..].trim_ascii()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// A missing or unknown key, refused in the request's protocol.
fn refusal<B>(request: &Request<B>, err: crate::Error) -> Response<Body> {
    if let Some(content_type) = super::grpc_content_type(request) {
        return super::grpc_status_response(tonic::Status::from(err), content_type);
    }
    let path = request.uri().path();
    if MYMEMORY.contains(&path) {
        return super::rest::mymemory_failure(&err).map(Body::new);
    }
    let message = err.to_string();
    let (content_type, body) = if path == "/metrics" {
        ("text/plain; charset=utf-8", message)
    } else {
        ("application/json", serde_json::json!({ "error": message }).to_string())
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = err.http_status();
    response.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_in_the_path_is_taken_out_of_it() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert_eq!(
            without_path_key(&uri("/k/s3cret/tmserver/en/ar/unit/hi?x=1")),
            Some(uri("/tmserver/en/ar/unit/hi?x=1"))
        );
        assert_eq!(without_path_key(&uri("/k/s3cret/tmserver/languages/")), Some(uri("/tmserver/languages/")));
        assert_eq!(without_path_key(&uri("/k/s3cret")), None);
        assert_eq!(without_path_key(&uri("/tmserver/languages/")), None);
    }

    #[test]
    fn basic_credentials_give_their_password() {
        assert_eq!(basic_password(b"Basic d2VibGF0ZTpyZWFkZXI6c2VjcmV0"), Some(b"reader:secret".to_vec()));
        assert_eq!(basic_password(b"basic OnM="), Some(b"s".to_vec()));
        assert_eq!(basic_password(b"Bearer abc"), None);
        assert_eq!(basic_password(b"Basic !!!"), None);
    }
}
