//! API keys and roles (the whole matrix of roles × operations), TLS, the
//! refusal to serve a non-loopback address without keys, and the server's
//! bound on request time.

use dhakira::proto::import_request::Item;
use dhakira::proto::{
    AddUnitsRequest, AnalyzeRequest, ConcordanceRequest, ConfirmUseRequest, ConflictsRequest, CreateMemoryRequest,
    DeleteMemoryRequest, DeleteUnitRequest, DeleteUnitsRequest, ExportRequest, GetUnitRequest, ImportOptions,
    ImportRequest, ListMemoriesRequest, LookupRequest, StatsRequest, UnitBatch, UnitInput, UpdateUnitRequest,
};
use tonic::{Code, Request};

use crate::common::{corpus_pairs, unit, Client, Server};

const KEYS: &str = r#"
[keys.reader]
secret = "reader-secret-0123456789"
grants = ["read"]

[keys.acme]
secret = "acme-secret-0123456789"
grants = ["write@acme"]

[keys.other]
secret = "other-secret-0123456789"
grants = ["read@other"]

[keys.admin]
secret = "admin-secret-0123456789"
grants = ["admin"]
"#;

/// The keys of the matrix, in order, with their secrets.
const CALLERS: [(&str, &str); 4] = [
    ("reader", "reader-secret-0123456789"),
    ("acme", "acme-secret-0123456789"),
    ("other", "other-secret-0123456789"),
    ("admin", "admin-secret-0123456789"),
];

fn with_key<T>(message: T, secret: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(secret) = secret {
        request.metadata_mut().insert("authorization", format!("Bearer {secret}").parse().unwrap());
    }
    request
}

/// A server with the keys above, and a temporary directory for its files.
fn keyed_server(extra: &[&str]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, KEYS).unwrap();
    let db = dir.path().join("db");
    let mut args = vec!["--no-sample", "--keys", keys.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Server::start_with(&db, &args), dir)
}

fn code<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

#[tokio::test]
async fn every_role_may_do_exactly_what_its_grants_allow() {
    let (server, _dir) = keyed_server(&[]);
    let mut client = server.client().await;
    let admin = Some(CALLERS[3].1);
    let pairs = corpus_pairs("flores200_devtest.tsv", 40);
    for name in ["acme", "other", "doomed"] {
        client
            .create_memory(with_key(CreateMemoryRequest { name: name.into(), description: String::new() }, admin))
            .await
            .unwrap();
    }
    let units = |memory: &str, range: std::ops::Range<usize>| -> Vec<UnitInput> {
        pairs[range].iter().map(|(a, e)| unit(a, e, memory)).collect()
    };
    let acme_ids = client
        .add_units(with_key(AddUnitsRequest { units: units("acme", 0..20) }, admin))
        .await
        .unwrap()
        .into_inner()
        .unit_ids;
    client.add_units(with_key(AddUnitsRequest { units: units("other", 20..40) }, admin)).await.unwrap();

    use Code::{Ok as OK, PermissionDenied as PD};
    let read = [OK, OK, PD, OK];
    let write = [PD, OK, PD, OK];
    let admin_only = [PD, PD, PD, OK];
    let lookup = |memories: Vec<String>| LookupRequest {
        text: pairs[3].0.clone(),
        source_lang: "ar".into(),
        memories,
        ..Default::default()
    };
    let acme = || vec!["acme".to_owned()];
    for (k, (name, secret)) in CALLERS.iter().enumerate() {
        let key = Some(*secret);
        let mut got = Vec::new();
        got.push(("Lookup", code(client.lookup(with_key(lookup(acme()), key)).await), read[k]));
        got.push(("Lookup all", code(client.lookup(with_key(lookup(vec![]), key)).await), OK));
        got.push((
            "GetUnit",
            code(client.get_unit(with_key(GetUnitRequest { unit_id: acme_ids[1] }, key)).await),
            read[k],
        ));
        got.push((
            "ConfirmUse",
            code(client.confirm_use(with_key(ConfirmUseRequest { unit_id: acme_ids[1] }, key)).await),
            read[k],
        ));
        got.push(("Stats", code(client.stats(with_key(StatsRequest {}, key)).await), OK));
        got.push(("ListMemories", code(client.list_memories(with_key(ListMemoriesRequest {}, key)).await), OK));
        let concordance = ConcordanceRequest { text: "في".into(), memories: acme(), ..Default::default() };
        got.push(("Concordance", code(client.concordance(with_key(concordance, key)).await), read[k]));
        let analyze = AnalyzeRequest {
            text: pairs[3].0.clone(),
            source_lang: "ar".into(),
            memories: acme(),
            ..Default::default()
        };
        got.push(("Analyze", code(client.analyze(with_key(analyze, key)).await), read[k]));
        got.push((
            "Conflicts",
            code(client.conflicts(with_key(ConflictsRequest { memories: acme(), max_groups: 0 }, key)).await),
            read[k],
        ));
        let export = client.export(with_key(ExportRequest { memories: acme(), domain: String::new() }, key)).await;
        let export = match export {
            Ok(response) => code(response.into_inner().message().await.map(tonic::Response::new)),
            Err(status) => status.code(),
        };
        got.push(("Export", export, read[k]));
        let stream = client.lookup_stream(with_key(tokio_stream::iter(vec![lookup(acme())]), key)).await.unwrap();
        got.push(("LookupStream", code(stream.into_inner().message().await.map(tonic::Response::new)), read[k]));

        let add = AddUnitsRequest { units: vec![unit(&format!("{} {name}", pairs[5].0), &pairs[5].1, "acme")] };
        got.push(("AddUnits", code(client.add_units(with_key(add, key)).await), write[k]));
        let update = UpdateUnitRequest {
            unit_id: acme_ids[2],
            unit: Some(UnitInput { note: format!("checked by {name}"), ..Default::default() }),
            update_mask: vec!["note".into()],
            changed_by: (*name).into(),
        };
        got.push(("UpdateUnit", code(client.update_unit(with_key(update, key)).await), write[k]));
        let delete = DeleteUnitsRequest { memories: acme(), filter: None, dry_run: true };
        got.push(("DeleteUnits", code(client.delete_units(with_key(delete, key)).await), write[k]));
        got.push((
            "DeleteUnit",
            code(client.delete_unit(with_key(DeleteUnitRequest { unit_id: acme_ids[10 + k] }, key)).await),
            write[k],
        ));
        let import = vec![
            ImportRequest { item: Some(Item::Options(ImportOptions { memory: "acme".into(), ..Default::default() })) },
            ImportRequest {
                item: Some(Item::Units(UnitBatch {
                    units: vec![unit(&format!("{} {name}", pairs[6].0), &pairs[6].1, "")],
                })),
            },
        ];
        got.push(("Import", code(client.import(with_key(tokio_stream::iter(import), key)).await), write[k]));

        let create = CreateMemoryRequest { name: format!("new-{name}"), description: String::new() };
        got.push(("CreateMemory", code(client.create_memory(with_key(create, key)).await), admin_only[k]));
        let drop = DeleteMemoryRequest { name: "doomed".into() };
        got.push(("DeleteMemory", code(client.delete_memory(with_key(drop, key)).await), admin_only[k]));

        let wrong: Vec<_> = got.iter().filter(|(_, got, want)| got != want).collect();
        assert!(wrong.is_empty(), "key {name}: (operation, got, expected) {wrong:?}");
    }

    // A key that may read one memory sees only that one.
    let other = Some(CALLERS[2].1);
    let listed = client.list_memories(with_key(ListMemoriesRequest {}, other)).await.unwrap().into_inner().memories;
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["other"]);
    let matches = client.lookup(with_key(lookup(vec![]), other)).await.unwrap().into_inner().matches;
    assert!(matches.iter().all(|m| m.memory == "other"));
    let stats = client.stats(with_key(StatsRequest {}, other)).await.unwrap().into_inner();
    assert_eq!((stats.memories.len(), stats.total_units), (1, 20));
    // The denial names the field and the key, never the secret.
    let status = client.lookup(with_key(lookup(acme()), other)).await.unwrap_err();
    assert_eq!(status.message(), "memories[0]: the key \"other\" lacks read on memory \"acme\"");

    // No key, or a bad one: UNAUTHENTICATED, for every operation.
    for key in [None, Some("not-a-key-0123456789")] {
        let status = client.lookup(with_key(lookup(acme()), key)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{}", status.message());
        assert!(!status.message().contains("secret-0123456789"));
        assert_eq!(code(client.stats(with_key(StatsRequest {}, key)).await), Code::Unauthenticated);
        assert_eq!(
            code(client.add_units(with_key(AddUnitsRequest { units: units("acme", 0..1) }, key)).await),
            Code::Unauthenticated
        );
    }
    let mut wrong_scheme = Request::new(StatsRequest {});
    wrong_scheme.metadata_mut().insert("authorization", "Basic YWRtaW4=".parse().unwrap());
    assert_eq!(code(client.stats(wrong_scheme).await), Code::Unauthenticated);

    // Health stays open.
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", server.addr)).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
    assert_eq!(answer.into_inner().status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}

#[tokio::test]
async fn denials_reveal_no_memory_the_key_may_not_read() {
    let (server, _dir) = keyed_server(&[]);
    let mut client = server.client().await;
    let admin = Some(CALLERS[3].1);
    let pairs = corpus_pairs("ntrex128.tsv", 4);
    let units = pairs.iter().map(|(ar, en)| unit(ar, en, "acme")).collect();
    let ids = client.add_units(with_key(AddUnitsRequest { units }, admin)).await.unwrap().into_inner().unit_ids;

    // A unit of a memory the key may not read, and a unit that does not
    // exist: one answer, which names no memory.
    let other = Some(CALLERS[2].1);
    let missing = ids.iter().max().unwrap() + 1000;
    let mut answers = Vec::new();
    for id in [ids[1], missing] {
        let status = client.get_unit(with_key(GetUnitRequest { unit_id: id }, other)).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{}", status.message());
        assert!(!status.message().contains("acme"), "{}", status.message());
        answers.push(status.message().replace(&id.to_string(), "ID"));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0],
        "unit_id: the key \"other\" lacks read on unit ID (it is in no memory the key may read, or there is no such unit)"
    );
    let status = client.delete_unit(with_key(DeleteUnitRequest { unit_id: ids[1] }, other)).await.unwrap_err();
    assert!(status.message().contains("lacks write on unit") && !status.message().contains("acme"));

    // Export of a memory it may not read: refused the same way whether or
    // not the memory exists.
    for name in ["acme", "nowhere"] {
        let request = ExportRequest { memories: vec![name.into()], ..Default::default() };
        let status = client.export(with_key(request, other)).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{name}: {}", status.message());
        assert_eq!(status.message(), format!("memories[0]: the key \"other\" lacks read on memory \"{name}\""));
    }
    // A key that may read a missing memory learns that it is missing.
    let request = ExportRequest { memories: vec!["nowhere".into()], ..Default::default() };
    let status = client.export(with_key(request, Some(CALLERS[0].1))).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{}", status.message());
}

/// A plain HTTP/1.1 GET: (status, body).
async fn get(addr: &str, path: &str, authorization: Option<&str>) -> (u16, String) {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut request = http::Request::get(format!("http://{addr}{path}"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = client.request(request.body(Empty::<hyper::body::Bytes>::new()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_rest_facades_and_metrics_take_keys_too() {
    let (server, _dir) = keyed_server(&[]);
    let mut client = server.client().await;
    let pairs = corpus_pairs("tico19_test.tsv", 10);
    let units = pairs.iter().map(|(a, e)| unit(a, e, "acme")).collect();
    client.add_units(with_key(AddUnitsRequest { units }, Some(CALLERS[3].1))).await.unwrap();
    let english = pairs[2].1.replace(' ', "%20");
    let path = format!("/tmserver/en/ar/unit/{english}");
    assert_eq!(get(&server.addr, &path, None).await.0, 401);
    let (status, body) = get(&server.addr, &path, Some("Bearer reader-secret-0123456789")).await;
    assert_eq!(status, 200);
    assert!(body.contains(&pairs[2].0), "{body}");
    // A key that may read another memory only finds nothing here.
    let (status, body) = get(&server.addr, &path, Some("Bearer other-secret-0123456789")).await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    // MyMemory: the key as a parameter.
    let mymemory = format!("/get?q={english}&langpair=en|ar");
    let (_, body) = get(&server.addr, &mymemory, None).await;
    assert!(body.contains("\"responseStatus\":\"403\""), "{body}");
    let (_, body) = get(&server.addr, &format!("{mymemory}&key=acme-secret-0123456789"), None).await;
    assert!(body.contains("\"responseStatus\":200"), "{body}");
    // amaGama/tmserver clients whose setting is only a URL (Weblate's
    // tmserver; issue 21, finding 6): the key in the path, in `key=`, or as
    // the password of HTTP Basic (`http://user:KEY@host/tmserver`).
    let keyed = format!("/k/reader-secret-0123456789/tmserver/en/ar/unit/{english}");
    let (status, body) = get(&server.addr, &keyed, None).await;
    assert_eq!(status, 200);
    assert!(body.contains(&pairs[2].0), "{body}");
    assert_eq!(get(&server.addr, &keyed.replace("reader-secret", "wrong-secret"), None).await.0, 401);
    let (status, body) = get(&server.addr, &format!("{path}?key=reader-secret-0123456789"), None).await;
    assert!(status == 200 && body.contains(&pairs[2].0), "{status} {body}");
    assert_eq!(get(&server.addr, &format!("{path}?key=wrong"), None).await.0, 401);
    // base64("weblate:reader-secret-0123456789"), as an HTTP client sends it.
    let basic = "Basic d2VibGF0ZTpyZWFkZXItc2VjcmV0LTAxMjM0NTY3ODk=";
    let (status, body) = get(&server.addr, &path, Some(basic)).await;
    assert!(status == 200 && body.contains(&pairs[2].0), "{status} {body}");
    // base64("weblate:wrong")
    assert_eq!(get(&server.addr, &path, Some("Basic d2VibGF0ZTp3cm9uZw==")).await.0, 401);
    // Metrics: an admin's.
    assert_eq!(get(&server.addr, "/metrics", None).await.0, 401);
    assert_eq!(get(&server.addr, "/metrics", Some("Bearer reader-secret-0123456789")).await.0, 403);
    assert_eq!(get(&server.addr, "/metrics", Some("Bearer admin-secret-0123456789")).await.0, 200);
}

#[test]
fn a_non_loopback_address_without_keys_is_refused_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["serve", "--addr", "0.0.0.0:0", "--no-sample", "--db"])
        .arg(dir.path().join("db"))
        .env_remove("DHAKIRA_API_KEYS")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0 without API keys"), "{stderr}");
    assert!(stderr.contains("--insecure"), "{stderr}");
    // With --insecure, or with keys, it serves.
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, KEYS).unwrap();
    for extra in [vec!["--insecure"], vec!["--keys", keys.to_str().unwrap()]] {
        let mut child = crate::common::Reaped(
            std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
                .args(["serve", "--addr", "0.0.0.0:0", "--no-sample", "--db"])
                .arg(dir.path().join("db"))
                .args(&extra)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert!(line.starts_with("dhakira listening on 0.0.0.0:"), "{extra:?}: {line:?}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // A bad keys file is a clear start-up error.
    std::fs::write(&keys, "[keys.x]\nsecret = \"short\"\ngrants = [\"read\"]\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--keys", keys.to_str().unwrap(), "--db"])
        .arg(dir.path().join("db"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key \"x\": its secret is shorter than 16 bytes"), "{stderr}");
}

#[tokio::test]
async fn tls_serves_clients_that_trust_the_certificate_and_only_them() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let server = Server::start_with(
        &dir.path().join("db"),
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    let port = server.addr.rsplit_once(':').unwrap().1;
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(certified.cert.pem()))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = dhakira::proto::translation_memory_client::TranslationMemoryClient::new(channel);
    // The bundled sample is there, over TLS.
    let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
    assert!(stats.total_units > 500);
    // A plain-text client gets nowhere.
    let plain = dhakira::server::connect(&format!("http://{}", server.addr)).await;
    let failed = match plain {
        Err(_) => true,
        Ok(mut plain) => plain.stats(StatsRequest {}).await.is_err(),
    };
    assert!(failed);
}

#[tokio::test]
async fn slow_requests_time_out() {
    // A lookup held inside the engine (the test gate: no timing involved)
    // past --request-timeout is answered DEADLINE_EXCEEDED naming the flag,
    // and the server serves again once its work stopped (the connection
    // cap and the permits: tests/load.rs).
    let gate = crate::load::Gate::new();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_env(&dir.path().join("db"), &["--no-sample", "--request-timeout", "0.5"], &[gate.env()]);
    let mut client: Client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 300);
    let units: Vec<UnitInput> = pairs.iter().map(|(a, e)| unit(a, e, "news")).collect();
    client.add_units(AddUnitsRequest { units }).await.unwrap();
    gate.hold();
    let slow = LookupRequest { text: pairs[7].0.clone(), source_lang: "ar".into(), ..Default::default() };
    let status = client.lookup(slow.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(status.message().contains("--request-timeout"), "{}", status.message());
    gate.reached("cancelled").await;
    gate.release();
    let matches = client.lookup(slow).await.unwrap().into_inner().matches;
    assert_eq!(matches[0].target, pairs[7].1);
}

/// A gRPC-web call over HTTP/1.1 whose message is `body` (already framed):
/// (HTTP status, grpc-status, grpc-message) from the headers or, when the
/// call ran, the trailers in the body.
async fn grpc_web_call(addr: &str, method: &str, body: Vec<u8>, key: Option<&str>) -> (u16, String, String) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut request = http::Request::post(format!("http://{addr}/dhakira.v1.TranslationMemory/{method}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = client.request(request.body(Full::new(hyper::body::Bytes::from(body))).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    let field = |name: &str| {
        parts.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_else(|| {
            text.lines()
                .find_map(|line| line.trim_start_matches(|c: char| c.is_control()).strip_prefix(&format!("{name}:")))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        })
    };
    (parts.status.as_u16(), field("grpc-status"), field("grpc-message"))
}

#[tokio::test]
async fn a_bad_key_is_refused_alike_by_every_protocol_before_any_work() {
    let (server, _dir) = keyed_server(&[]);
    let bad = "not-a-key-0123456789";
    let expected = "the API key is not valid";
    // gRPC.
    let mut client = server.client().await;
    let request =
        dhakira::proto::LookupRequest { text: "hello".into(), source_lang: "en".into(), ..Default::default() };
    let status = client.lookup(with_key(request, Some(bad))).await.unwrap_err();
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, expected));
    // gRPC-web, with a message that is not even a LookupRequest: the key
    // is refused before the body is read or decoded.
    let malformed = vec![0, 0, 0, 0, 3, 0xff, 0xff, 0xff];
    let (http, code, message) = grpc_web_call(&server.addr, "Lookup", malformed.clone(), Some(bad)).await;
    // (grpc-message is percent-encoded, as gRPC sends it.)
    assert_eq!((http, code.as_str(), message.replace("%20", " ").as_str()), (200, "16", expected));
    let (_, code, _) = grpc_web_call(&server.addr, "Lookup", malformed.clone(), None).await;
    assert_eq!(code, "16");
    // With a good key the same body is decoded, and fails as malformed.
    let (_, code, message) = grpc_web_call(&server.addr, "Lookup", malformed, Some(CALLERS[0].1)).await;
    assert_eq!(code, "13", "{message}");
    // REST: amaGama's 401 with the same message, MyMemory's own shape.
    let (status, body) = get(&server.addr, "/tmserver/en/ar/unit/hello", Some(&format!("Bearer {bad}"))).await;
    assert_eq!(status, 401);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"], expected);
    let (status, body) = get(&server.addr, &format!("/get?q=hello&langpair=en|ar&key={bad}"), None).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, &json["responseStatus"], &json["responseDetails"]),
        (200, &"403".into(), &expected.to_uppercase().into())
    );
    let (status, body) = get(&server.addr, "/metrics", Some(&format!("Bearer {bad}"))).await;
    assert_eq!((status, body.as_str()), (401, expected));
}
