use std::time::Duration;

use dhakira::proto::{AddUnitsRequest, LookupRequest, LookupResponse, StatsResponse};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tonic::codec::CompressionEncoding;

use crate::common::{corpus_pairs, unit, Server};

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn http1() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A gRPC-web request body: one uncompressed message frame.
fn frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed.into()
}

/// Splits a gRPC-web response body into its message and its trailers.
fn unframe(mut body: &[u8]) -> (Vec<u8>, String) {
    let (mut message, mut trailers) = (Vec::new(), String::new());
    while body.len() >= 5 {
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let payload = &body[5..5 + len];
        assert_eq!(body[0] & 1, 0, "a client that did not offer gzip gets uncompressed frames");
        if body[0] & 0x80 != 0 {
            trailers.push_str(std::str::from_utf8(payload).unwrap());
        } else {
            message.extend_from_slice(payload);
        }
        body = &body[5 + len..];
    }
    (message, trailers)
}

async fn grpc_web(
    http: &Http,
    addr: &str,
    method: &str,
    message: &impl Message,
) -> (http::response::Parts, Vec<u8>, String) {
    let request = http::Request::post(format!("http://{addr}/dhakira.v1.TranslationMemory/{method}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", "http://localhost:8080")
        .body(Full::new(frame(message)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), http.request(request)).await.unwrap().unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let (message, trailers) = unframe(&body);
    (parts, message, trailers)
}

#[tokio::test]
async fn a_browser_reaches_the_service_over_grpc_web_with_cors() {
    let server = Server::on_temp_db_with(&["--no-sample", "--cors-origin", "http://localhost:8080"]);
    let mut client = server.client().await;
    let pairs = corpus_pairs("tico19_test.tsv", 50);
    client
        .add_units(AddUnitsRequest { units: pairs.iter().map(|(ar, en)| unit(ar, en, "covid")).collect() })
        .await
        .unwrap();
    let http = http1();

    // The preflight a browser sends before a call with an API key.
    let preflight = http::Request::builder()
        .method("OPTIONS")
        .uri(format!("http://{}/dhakira.v1.TranslationMemory/Lookup", server.addr))
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,x-grpc-web")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = http.request(preflight).await.unwrap();
    assert!(response.status().is_success(), "{:?}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "http://localhost:8080");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    for header in ["authorization", "content-type", "x-grpc-web"] {
        assert!(allowed.contains(header), "{allowed}");
    }

    // A real call, over HTTP/1.1.
    let (parts, message, trailers) = grpc_web(&http, &server.addr, "Stats", &dhakira::proto::StatsRequest {}).await;
    assert_eq!(parts.version, http::Version::HTTP_11);
    assert!(parts.headers["content-type"].to_str().unwrap().starts_with("application/grpc-web"));
    assert!(parts.headers["access-control-expose-headers"].to_str().unwrap().contains("grpc-status"));
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    assert_eq!(StatsResponse::decode(message.as_slice()).unwrap().total_units, pairs.len() as u64);

    let (arabic, english) = &pairs[7];
    let lookup = LookupRequest { text: arabic.clone(), source_lang: "ar".into(), ..Default::default() };
    let (_, message, _) = grpc_web(&http, &server.addr, "Lookup", &lookup).await;
    let matches = LookupResponse::decode(message.as_slice()).unwrap().matches;
    assert_eq!((matches[0].score, &matches[0].target), (100, english));

    // An error is a "trailers-only" response: the status is in the headers,
    // which CORS lets the browser read, with the field named.
    let bad = LookupRequest { text: "x".into(), source_lang: "fr".into(), ..Default::default() };
    let (parts, message, trailers) = grpc_web(&http, &server.addr, "Lookup", &bad).await;
    assert!(message.is_empty() && trailers.is_empty());
    assert_eq!(parts.headers["grpc-status"], "3");
    let reason = parts.headers["grpc-message"].to_str().unwrap();
    assert!(reason.starts_with("source_lang:%20unknown%20language"), "{reason}");
}

#[tokio::test]
async fn gzip_is_accepted_and_offered() {
    let server = Server::on_temp_db();
    let plain = server.client().await;
    let mut gzip =
        plain.clone().send_compressed(CompressionEncoding::Gzip).accept_compressed(CompressionEncoding::Gzip);
    let pairs = corpus_pairs("ntrex128.tsv", 200);
    let added = gzip
        .add_units(AddUnitsRequest { units: pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.added, 200);
    let lookup = LookupRequest {
        text: pairs[3].1.clone(),
        source_lang: "en".into(),
        min_score: Some(10),
        max_results: Some(50),
        ..Default::default()
    };
    let response = gzip.lookup(lookup.clone()).await.unwrap();
    assert_eq!(response.metadata().get("grpc-encoding").unwrap(), "gzip");
    let matches = response.into_inner().matches;
    assert_eq!(matches[0].target, pairs[3].0);
    // A client without gzip gets the same answer (tonic's default client
    // may still negotiate it: the check is the answer, not the encoding).
    let response = plain.clone().lookup(lookup).await.unwrap();
    assert_eq!(response.into_inner().matches, matches);
}
