//! No client, with or without a key, can stall the server: silent
//! connections, deadlines that stop the engine's work, one admission for
//! gRPC, gRPC-web and REST, idle streams, huge repeated fields, long
//! pipelined streams and oversized writes.
//!
//! Nothing here depends on timing: the engine's test gate (feature
//! `test-hooks`, see `dhakira::cancel`) holds a request inside an engine
//! loop until the test lets it go, and reports when it saw its
//! cancellation.

use std::path::PathBuf;
use std::time::Duration;

use dhakira::proto::{AddUnitsRequest, ImportOptions, ImportRequest, LookupRequest, StatsRequest};
use prost::Message;
use tokio::io::AsyncReadExt;
use tonic::Code;

use crate::common::{corpus_pairs, unit, Client, Server};

/// The engine's test gate: a directory the server watches.
pub(crate) struct Gate {
    dir: tempfile::TempDir,
}

impl Gate {
    pub(crate) fn new() -> Gate {
        Gate { dir: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn env(&self) -> (&'static str, &str) {
        ("DHAKIRA_TEST_GATE", self.dir.path().to_str().unwrap())
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The next request to reach an engine loop is held there.
    pub(crate) fn hold(&self) {
        for name in ["entered", "cancelled"] {
            let _ = std::fs::remove_file(self.file(name));
        }
        std::fs::write(self.file("hold"), b"").unwrap();
    }

    /// The next request to reach the engine loop named `site` (see
    /// `dhakira::cancel`) is held there.
    pub(crate) fn hold_at(&self, site: &str) {
        self.hold();
        std::fs::write(self.file("hold"), site).unwrap();
    }

    /// Waits until a loop is held, and names it.
    pub(crate) async fn held_loop(&self) -> String {
        self.reached("entered").await;
        let mut name = String::new();
        wait_for("the held loop's name", || {
            name = std::fs::read_to_string(self.file("entered")).unwrap_or_default();
            !name.is_empty()
        })
        .await;
        name
    }

    /// The held request goes on.
    pub(crate) fn release(&self) {
        std::fs::remove_file(self.file("hold")).unwrap();
    }

    /// Waits until the held request has reported `event` (`entered`,
    /// `cancelled`).
    pub(crate) async fn reached(&self, event: &str) {
        wait_for(event, || self.file(event).exists()).await;
    }
}

/// Polls `done` until it holds (a minute at most: a hang is a failure, not
/// a timing assertion).
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

/// A started server, its database, a client, and the pairs it holds.
struct Loaded {
    server: Server,
    _db: tempfile::TempDir,
    client: Client,
    pairs: Vec<(String, String)>,
}

/// A server with `extra` flags and `env`, holding `count` news units.
async fn server_with_units(extra: &[&str], env: &[(&str, &str)], count: usize) -> Loaded {
    let db = tempfile::tempdir().unwrap();
    let server = Server::start_env(db.path(), extra, env);
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", count);
    let units = pairs.iter().map(|(a, e)| unit(a, e, "news")).collect();
    client.add_units(AddUnitsRequest { units }).await.unwrap();
    Loaded { server, _db: db, client, pairs }
}

fn lookup(text: &str) -> LookupRequest {
    LookupRequest { text: text.into(), source_lang: "ar".into(), ..Default::default() }
}

fn code<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

/// A plain HTTP/1.1 GET: (status, Retry-After, body).
async fn get(addr: &str, path: &str) -> (u16, Option<String>, String) {
    use http_body_util::BodyExt;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    let response = http.get(format!("http://{addr}{path}").parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, retry, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn silent_connections_do_not_lock_clients_out() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start_with(dir.path(), &["--no-sample", "--max-connections", "4", "--first-request-timeout", "2"]);
    // Twenty connections that never send a byte: five times the cap.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(&server.addr).await.unwrap());
    }
    // A real client still gets in, and is served.
    let mut client = server.client().await;
    let pairs = corpus_pairs("tico19_test.tsv", 20);
    let units = pairs.iter().map(|(a, e)| unit(a, e, "news")).collect();
    client.add_units(AddUnitsRequest { units }).await.unwrap();
    // More silent connections take the places of silent ones, not of the
    // client's (it has been served).
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(&server.addr).await.unwrap());
    }
    let best = client.lookup(lookup(&pairs[4].0)).await.unwrap().into_inner().matches.remove(0);
    assert_eq!(best.target, pairs[4].1);
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 20);
    // A silent connection that kept its place is closed once its first
    // request is overdue.
    let mut last = silent.pop().unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(60), last.read(&mut buf)).await.expect("closed, not held");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn a_deadline_stops_the_work_and_holds_its_permit_until_then() {
    let gate = Gate::new();
    let Loaded { server, _db, mut client, pairs } =
        server_with_units(&["--no-sample", "--max-in-flight", "1"], &[gate.env()], 200).await;
    gate.hold();
    let mut held = server.client().await;
    let mut request = tonic::Request::new(lookup(&pairs[9].0));
    request.set_timeout(Duration::from_millis(1500));
    let answer = tokio::spawn(async move { held.lookup(request).await });
    gate.reached("entered").await;
    // The client's deadline passes, and the engine sees the cancellation
    // inside its loop. (tonic's client keeps the deadline too, and says
    // CANCELLED when its own timer fires before the server's answer.)
    let status = answer.await.unwrap().unwrap_err();
    assert!(matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled), "{status:?}");
    gate.reached("cancelled").await;
    // Until the work has stopped it still holds the one permit.
    let status = client.lookup(lookup(&pairs[3].0)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    assert!(status.message().contains("--max-in-flight"), "{}", status.message());
    // Once it has, the server serves again.
    gate.release();
    served_again(&mut client, &pairs[3]).await;
}

#[tokio::test]
async fn a_deadline_stops_an_exhaustive_lookup_inside_the_reference_scan() {
    // The reference compares every unit with the query: the loop that
    // takes the time of an exhaustive lookup, which must see the deadline
    // too (not only the reading of the store before it).
    let gate = Gate::new();
    let Loaded { server, _db, mut client, pairs } =
        server_with_units(&["--no-sample", "--max-in-flight", "1"], &[gate.env()], 200).await;
    gate.hold_at("reference-scan");
    let mut held = server.client().await;
    let mut request = tonic::Request::new(LookupRequest { exhaustive: true, ..lookup(&pairs[9].0) });
    request.set_timeout(Duration::from_millis(1500));
    let answer = tokio::spawn(async move { held.lookup(request).await });
    assert_eq!(gate.held_loop().await, "reference-scan");
    let status = answer.await.unwrap().unwrap_err();
    assert!(matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled), "{status:?}");
    // The scan sees the cancellation, and keeps the one permit until it
    // has stopped.
    gate.reached("cancelled").await;
    let status = client.lookup(lookup(&pairs[3].0)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    gate.release();
    served_again(&mut client, &pairs[3]).await;
    // Without a deadline the same exhaustive lookup answers in full.
    let exhaustive = LookupRequest { exhaustive: true, ..lookup(&pairs[9].0) };
    assert_eq!(client.lookup(exhaustive).await.unwrap().into_inner().matches[0].target, pairs[9].1);
}

/// Retries a lookup of `pair` while the server sheds it, until it is
/// answered with the pair.
async fn served_again(client: &mut Client, pair: &(String, String)) {
    for _ in 0..6000 {
        match client.lookup(lookup(&pair.0)).await {
            Ok(answer) => {
                assert_eq!(answer.into_inner().matches[0].target, pair.1);
                return;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    panic!("never served again");
}

#[tokio::test]
async fn full_scans_have_a_budget_of_their_own() {
    let gate = Gate::new();
    let Loaded { server, _db, mut client, pairs } =
        server_with_units(&["--no-sample", "--max-scans", "1"], &[gate.env()], 200).await;
    let scan = |min_score: u32, exhaustive: bool| LookupRequest {
        min_score: Some(min_score),
        exhaustive,
        max_results: Some(3),
        ..lookup(&pairs[5].0)
    };
    gate.hold();
    let mut held = server.client().await;
    let first_scan = scan(70, true);
    let first = tokio::spawn(async move { held.lookup(first_scan).await });
    gate.reached("entered").await;
    // One full scan is running: another is refused, whichever way it asks.
    for request in [scan(70, true), scan(0, false)] {
        let status = client.lookup(request).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
        assert!(status.message().contains("--max-scans"), "{}", status.message());
    }
    // Indexed lookups go on meanwhile.
    let best = client.lookup(lookup(&pairs[8].0)).await.unwrap().into_inner().matches.remove(0);
    assert_eq!(best.target, pairs[8].1);
    // The held scan finishes with its answer, and frees its place.
    gate.release();
    let found = first.await.unwrap().unwrap().into_inner().matches;
    assert_eq!(found[0].target, pairs[5].1);
    assert_eq!(client.lookup(scan(0, false)).await.unwrap().into_inner().matches[0].target, pairs[5].1);
}

#[tokio::test]
async fn rest_and_grpc_web_are_shed_and_time_out_like_grpc() {
    let gate = Gate::new();
    let Loaded { server, _db, mut client, pairs } =
        server_with_units(&["--no-sample", "--max-in-flight", "1", "--request-timeout", "1"], &[gate.env()], 200).await;
    let english = pairs[3].1.replace(' ', "%20");
    let amagama = format!("/tmserver/en/ar/unit/{english}");
    let web_lookup = LookupRequest { text: pairs[3].1.clone(), source_lang: "en".into(), ..Default::default() };

    // A gRPC lookup held in the engine holds the one permit; past its
    // deadline it is answered, and it holds the permit until it stops.
    gate.hold();
    let mut held = server.client().await;
    let request = lookup(&pairs[9].0);
    let answer = tokio::spawn(async move { held.lookup(request).await });
    gate.reached("entered").await;
    let status = answer.await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{}", status.message());
    assert!(status.message().contains("--request-timeout"), "{}", status.message());
    gate.reached("cancelled").await;
    // Every protocol is shed alike meanwhile.
    let (status, retry, body) = get(&server.addr, &amagama).await;
    assert_eq!((status, retry.as_deref()), (503, Some("1")), "{body}");
    assert!(body.contains("--max-in-flight"), "{body}");
    let (status, _, body) = get(&server.addr, &format!("/get?q={english}&langpair=en|ar")).await;
    assert_eq!(status, 503, "{body}");
    let (grpc_status, message) = crate::errors::raw_call(&server.addr, "Lookup", &web_lookup.encode_to_vec()).await;
    assert_eq!(grpc_status, "8", "{message}");
    assert_eq!(code(client.lookup(lookup(&pairs[3].0)).await), Code::ResourceExhausted);
    gate.release();
    served_again(&mut client, &pairs[3]).await;

    // A REST lookup held in the engine: 504 at the server's deadline, and
    // its work is cancelled too.
    gate.hold();
    let addr = server.addr.clone();
    let path = amagama.clone();
    let answer = tokio::spawn(async move { get(&addr, &path).await });
    gate.reached("entered").await;
    let (status, _, body) = answer.await.unwrap();
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("--request-timeout"), "{body}");
    gate.reached("cancelled").await;
    gate.release();
    served_again(&mut client, &pairs[3]).await;

    // A gRPC-web lookup alike: DEADLINE_EXCEEDED.
    gate.hold();
    let addr = server.addr.clone();
    let message = web_lookup.encode_to_vec();
    let answer = tokio::spawn(async move { crate::errors::raw_call(&addr, "Lookup", &message).await });
    gate.reached("entered").await;
    let (code, message) = answer.await.unwrap();
    assert_eq!(code, "4", "{message}");
    gate.reached("cancelled").await;
    gate.release();
    served_again(&mut client, &pairs[3]).await;
    let (status, _, body) = get(&server.addr, &amagama).await;
    assert_eq!(status, 200);
    assert!(body.contains(&pairs[3].0), "{body}");
}

/// A LookupStream whose client sends nothing until `sender` is used.
async fn idle_stream(
    client: &mut Client,
) -> (tokio::sync::mpsc::Sender<LookupRequest>, Result<tonic::Streaming<dhakira::proto::LookupResponse>, tonic::Status>)
{
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let stream = client.lookup_stream(tokio_stream::wrappers::ReceiverStream::new(receiver)).await;
    (sender, stream.map(tonic::Response::into_inner))
}

#[tokio::test]
async fn idle_streams_have_a_budget_of_their_own_and_are_closed() {
    let Loaded { server: _server, _db, mut client, pairs } = server_with_units(
        &["--no-sample", "--max-in-flight", "2", "--max-streams", "4", "--stream-idle-timeout", "2"],
        &[],
        200,
    )
    .await;
    // Four idle streams, twice --max-in-flight.
    let mut idle = Vec::new();
    for _ in 0..4 {
        let (sender, stream) = idle_stream(&mut client).await;
        idle.push((sender, stream.unwrap()));
    }
    // A fifth is shed, naming its own bound.
    let status = idle_stream(&mut client).await.1.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    assert!(status.message().contains("--max-streams"), "{}", status.message());
    // Unary calls are served meanwhile.
    for pair in &pairs[..20] {
        let best = client.lookup(lookup(&pair.0)).await.unwrap().into_inner().matches.remove(0);
        assert_eq!(best.target, pair.1);
    }
    // An idle import holds no stream for longer than the idle timeout either.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let options = ImportOptions { memory: "news".into(), ..Default::default() };
    sender.send(ImportRequest { item: Some(dhakira::proto::import_request::Item::Options(options)) }).await.unwrap();
    // Each idle stream is closed with a status that says why.
    for (_sender, mut stream) in idle {
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{}", status.message());
        assert!(status.message().contains("--stream-idle-timeout"), "{}", status.message());
    }
    let status = client.import(tokio_stream::wrappers::ReceiverStream::new(receiver)).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{}", status.message());
    assert!(status.message().contains("--stream-idle-timeout"), "{}", status.message());
    drop(sender);
    // Their places are free again: a stream that talks is answered.
    let (sender, stream) = idle_stream(&mut client).await;
    let mut stream = stream.unwrap();
    sender.send(lookup(&pairs[7].0)).await.unwrap();
    let best = stream.message().await.unwrap().unwrap().matches.remove(0);
    assert_eq!(best.target, pairs[7].1);
}

#[tokio::test]
async fn repeated_fields_are_bounded_and_named() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    client.add_units(AddUnitsRequest { units: vec![unit("مرحبا بالعالم", "Hello world", "news")] }).await.unwrap();
    let names: Vec<String> = (0..40_000).map(|i| format!("memory-{i}")).collect();
    let request = LookupRequest { memories: names.clone(), ..lookup("مرحبا بالعالم") };
    let status = client.lookup(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "memories: 40000 values; the limit is 1000");
    let penalties = names.iter().map(|m| dhakira::proto::MemoryPenalty { memory: m.clone(), points: 1 }).collect();
    let request = LookupRequest { memory_penalties: penalties, ..lookup("مرحبا بالعالم") };
    let status = client.lookup(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "memory_penalties: 40000 values; the limit is 1000");
    // At the bound, a lookup naming every memory it may is answered.
    let request = LookupRequest { memories: vec!["news".into(); 1000], ..lookup("مرحبا بالعالم") };
    assert_eq!(client.lookup(request).await.unwrap().into_inner().matches[0].target, "Hello world");
    let request = dhakira::proto::ExportRequest { memories: names, domain: String::new() };
    let status = client.export(request).await.unwrap_err();
    assert_eq!(status.message(), "memories: 40000 values; the limit is 1000");
}

#[tokio::test]
async fn an_oversized_write_is_refused_before_it_is_read() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    // 10,000 units of 1,000 characters: about 20 MB, within the unit
    // count and text limits.
    let pairs = corpus_pairs("ntrex128.tsv", 100);
    let long = |text: &str| text.repeat(1000 / text.chars().count() + 1).chars().take(1000).collect::<String>();
    let units: Vec<_> = (0..10_000)
        .map(|i| {
            let (arabic, english) = &pairs[i % pairs.len()];
            unit(&format!("{i} {}", long(arabic)), &long(english), "news")
        })
        .collect();
    let status = client.add_units(AddUnitsRequest { units: units.clone() }).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    assert!(status.message().starts_with("AddUnits: the request is "), "{}", status.message());
    assert!(status.message().contains("the limit is 8388608 bytes"), "{}", status.message());
    // Nothing of it was stored; the same units in smaller requests are.
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 0);
    for batch in units.chunks(2_500) {
        client.add_units(AddUnitsRequest { units: batch.to_vec() }).await.unwrap();
    }
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 10_000);
}

/// README's bounds table, "response message": an answer larger than
/// 64 MiB is refused as a whole, not cut, and the server goes on serving.
/// Units carry their inline markup (up to 256 tags of 10,000 bytes a side),
/// so 14 such units make a `Lookup` answer of about 71 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_response_limit_is_refused_whole() {
    // Markup comes in through TMX: 14 units, each side with 256 `<ph>` of
    // 9,900 bytes, imported offline.
    let dir = tempfile::tempdir().unwrap();
    let ph = |side: char| -> String {
        (0..256).map(|i| format!("<ph x=\"{i}\">{i:03}{}</ph>", side.to_string().repeat(9_900))).collect()
    };
    let units: String = (1..=14)
        .map(|n| {
            format!(
                "<tu><tuv xml:lang=\"ar\"><seg>الجواب الكبير يحمل الوحدة {n}{}</seg></tuv>\
                 <tuv xml:lang=\"en\"><seg>The large answer holds unit {n}{}</seg></tuv></tu>\n",
                ph('a'),
                ph('e')
            )
        })
        .collect();
    let tmx = dir.path().join("big.tmx");
    std::fs::write(&tmx, format!("<tmx version=\"1.4\"><header srclang=\"en\"/><body>\n{units}</body></tmx>\n"))
        .unwrap();
    let db = dir.path().join("db");
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .arg("import")
        .arg(&tmx)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stdout));
    let server = Server::start(&db);
    let mut client = server.client().await;
    let lookup = |max_results: u32| LookupRequest {
        text: "The large answer holds unit 15".into(),
        source_lang: "en".into(),
        min_score: Some(50),
        max_results: Some(max_results),
        ..Default::default()
    };
    let status = client.lookup(lookup(100)).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{}", status.message());
    assert!(status.message().contains("the limit is: 67108864 bytes"), "{}", status.message());
    // Fewer matches fit, on the same connection.
    let matches = client.lookup(lookup(5)).await.unwrap().into_inner().matches;
    assert_eq!(matches.len(), 5);
    assert!(matches.iter().all(|m| m.unit.as_ref().unwrap().english_markup.len() == 256));
}

/// The threads of a process, from /proc.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn idle_imports_hold_few_threads() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--no-sample", "--max-streams", "8"]);
    let mut client = server.client().await;
    client.add_units(AddUnitsRequest { units: vec![unit("مرحبا بالعالم", "Hello world", "news")] }).await.unwrap();
    let before = threads(server.pid());
    // Fifty imports that send their options and the start of a file, then
    // nothing.
    let mut senders = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..50 {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let options = ImportOptions { memory: "news".into(), ..Default::default() };
        sender
            .send(ImportRequest { item: Some(dhakira::proto::import_request::Item::Options(options)) })
            .await
            .unwrap();
        let start = b"<?xml version=\"1.0\"?>\n<tmx version=\"1.4\"><header srclang=\"en\"/><body>".to_vec();
        sender.send(ImportRequest { item: Some(dhakira::proto::import_request::Item::Chunk(start)) }).await.unwrap();
        senders.push(sender);
        let mut client = client.clone();
        calls.push(tokio::spawn(
            async move { client.import(tokio_stream::wrappers::ReceiverStream::new(receiver)).await },
        ));
    }
    // Beyond --max-streams they are shed at once.
    let mut shed = 0;
    wait_for("42 imports shed", || {
        calls.retain(|call| {
            let done = call.is_finished();
            shed += usize::from(done);
            !done
        });
        shed >= 42
    })
    .await;
    assert_eq!((shed, calls.len()), (42, 8));
    // The eight admitted ones hold a reader and a parser each at most.
    let during = threads(server.pid());
    assert!(during <= before + 2 * 8, "{before} threads before, {during} with eight idle imports");
    // Each ends when its client does (the file is cut short).
    drop(senders);
    for call in calls {
        let status = call.await.unwrap().unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(status.message().starts_with("the import stopped"), "{}", status.message());
    }
}

#[tokio::test]
async fn a_long_pipelined_lookup_stream_is_answered_in_full() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    // Short segments (small HTTP/2 frames are what the server's HTTP/2
    // library counts against a connection): the first three words of news
    // sentences.
    let short = |text: &str| text.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let mut pairs: Vec<(String, String)> =
        corpus_pairs("ntrex128.tsv", 400).iter().map(|(a, e)| (short(a), short(e))).collect();
    pairs.sort();
    pairs.dedup_by(|a, b| a.0 == b.0);
    let units = pairs.iter().map(|(a, e)| unit(a, e, "news")).collect();
    client.add_units(AddUnitsRequest { units }).await.unwrap();
    // A document of 20,000 segments, sent without waiting for answers, each
    // in a DATA frame of its own (the client yields between them, as a
    // plugin sending segments as it reads them does).
    const SEGMENTS: usize = 20_000;
    let requests: Vec<LookupRequest> = (0..SEGMENTS)
        .map(|i| LookupRequest { max_results: Some(1), min_score: Some(100), ..lookup(&pairs[i % pairs.len()].0) })
        .collect();
    let segments = futures_util::stream::unfold(requests.into_iter(), |mut requests| async move {
        tokio::task::yield_now().await;
        requests.next().map(|request| (request, requests))
    });
    let mut answers = client.lookup_stream(segments).await.unwrap().into_inner();
    let mut answered = 0;
    while let Some(answer) = answers.message().await.unwrap() {
        assert_eq!(answer.matches[0].target, pairs[answered % pairs.len()].1);
        answered += 1;
    }
    assert_eq!(answered, SEGMENTS);
}

#[tokio::test]
async fn headers_have_one_bound_on_http1_and_http2() {
    use http_body_util::BodyExt;
    let server = Server::on_temp_db();
    // HTTP/1.1 (REST, gRPC-web): 64 KiB of headers, as HTTP/2 counts them.
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    for (padding, expected) in [(60_000, 200), (70_000, 431), (200_000, 431)] {
        let request = http::Request::get(format!("http://{}/tmserver/languages/", server.addr))
            .header("x-padding", "a".repeat(padding))
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = http.request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, expected, "{padding}: {}", String::from_utf8_lossy(&body));
        if expected == 431 {
            assert!(String::from_utf8_lossy(&body).contains("the limit is 65536 bytes"), "{body:?}");
        }
    }
    // HTTP/2 (gRPC): the same bound, from h2.
    let mut client = server.client().await;
    for (padding, accepted) in [(60_000, true), (70_000, false), (200_000, false)] {
        let mut request = tonic::Request::new(StatsRequest {});
        request.metadata_mut().insert("x-padding", "a".repeat(padding).parse().unwrap());
        let result = client.stats(request).await;
        assert_eq!(result.is_ok(), accepted, "{padding}: {result:?}");
    }
}
