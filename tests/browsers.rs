//! What web pages can do to a server: host names, origins, CORS, JSONP,
//! with a real HTTP client, and in a real browser (Chromium, headless).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use dhakira::proto::{CreateMemoryRequest, ListMemoriesRequest, LookupRequest};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;

use crate::common::{corpus_pairs, unit, Server};

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

/// A request to `server` with these headers (`host` among them, or the
/// server's address).
async fn send(server: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: Bytes) -> Reply {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::builder().method(method).uri(format!("http://{}{path}", server.addr));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client.request(request.body(Full::new(body)).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = String::from_utf8_lossy(&body.collect().await.unwrap().to_bytes()).into_owned();
    Reply { status: parts.status.as_u16(), headers: parts.headers, body }
}

/// A gRPC-web request body: one uncompressed message frame.
fn frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed.into()
}

/// `CreateMemory` over gRPC-web, as a page on `origin` sends it.
async fn create_memory_from(server: &Server, origin: &str, name: &str) -> Reply {
    let request = CreateMemoryRequest { name: name.into(), description: String::new() };
    let headers = [("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1"), ("origin", origin)];
    send(server, "POST", "/dhakira.v1.TranslationMemory/CreateMemory", &headers, frame(&request)).await
}

async fn memory_names(server: &Server) -> Vec<String> {
    let mut client = server.client().await;
    let memories = client.list_memories(ListMemoriesRequest {}).await.unwrap().into_inner().memories;
    memories.into_iter().map(|m| m.name).collect()
}

const CORS_HEADERS: [&str; 4] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "access-control-allow-private-network",
];

fn assert_no_cors(reply: &Reply) {
    for name in CORS_HEADERS {
        assert!(!reply.headers.contains_key(name), "{name} in {:?}", reply.headers);
    }
}

#[tokio::test]
async fn pages_of_other_origins_are_refused_and_get_no_cors_headers() {
    let server = Server::on_temp_db();
    let pairs = corpus_pairs("ntrex128.tsv", 20);
    let mut client = server.client().await;
    let units = pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect();
    client.add_units(dhakira::proto::AddUnitsRequest { units }).await.unwrap();

    // gRPC-web: a state-changing call from another origin, and from
    // "null" (a sandboxed frame, a file), is refused in gRPC's shape.
    for origin in ["http://evil.example", "null", "http://localhost:9999"] {
        let reply = create_memory_from(&server, origin, "planted").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers["grpc-status"], "7", "{origin}");
        let message = reply.headers["grpc-message"].to_str().unwrap();
        assert!(message.contains("requests%20from%20web%20pages%20of%20the%20origin"), "{message}");
        assert_eq!(reply.headers["content-type"], "application/grpc-web+proto");
        assert_no_cors(&reply);
    }
    assert!(!memory_names(&server).await.contains(&"planted".to_owned()));

    // A preflight (even asking for private network access) gets nothing.
    let preflight = [
        ("origin", "http://evil.example"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type,x-grpc-web"),
        ("access-control-request-private-network", "true"),
    ];
    let reply = send(&server, "OPTIONS", "/dhakira.v1.TranslationMemory/DeleteMemory", &preflight, Bytes::new()).await;
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains("--cors-origin http://evil.example"), "{}", reply.body);
    assert_no_cors(&reply);

    // The REST facades: a page's fetch is refused with no CORS headers.
    let (arabic, english) = &pairs[3];
    let query = format!("/get?q={}&langpair=en|ar", english.replace(' ', "%20"));
    let reply = send(&server, "GET", &query, &[("origin", "http://evil.example")], Bytes::new()).await;
    assert_eq!(reply.status, 403);
    assert!(!reply.body.contains(arabic.as_str()));
    assert_no_cors(&reply);
    // Tools that are not browsers send no Origin, and are served.
    let reply = send(&server, "GET", &query, &[], Bytes::new()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains(arabic.as_str()), "{}", reply.body);
    assert_no_cors(&reply);
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let server = Server::on_temp_db();
    let get = send(&server, "GET", "/tmserver/languages/", &[], Bytes::new()).await;
    let missing = send(&server, "GET", "/nowhere", &[], Bytes::new()).await;
    let refused =
        send(&server, "GET", "/tmserver/languages/", &[("origin", "http://evil.example")], Bytes::new()).await;
    assert_eq!((get.status, missing.status, refused.status), (200, 404, 403));
    for reply in [get, missing, refused] {
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
    }
    let mut client = server.client().await;
    let response = client.stats(dhakira::proto::StatsRequest {}).await.unwrap();
    assert_eq!(response.metadata().get("x-content-type-options").unwrap(), "nosniff");
    let failed = client.get_unit(dhakira::proto::GetUnitRequest { unit_id: 999 }).await.unwrap_err();
    assert_eq!(failed.metadata().get("x-content-type-options").unwrap(), "nosniff");
}

#[tokio::test]
async fn an_allowed_origin_gets_cors_and_private_network_access_and_no_other_does() {
    let server = Server::on_temp_db_with(&["--no-sample", "--cors-origin", "https://tool.example:8443"]);
    let ask = |origin| {
        [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization,content-type,x-grpc-web"),
            ("access-control-request-private-network", "true"),
        ]
    };
    let path = "/dhakira.v1.TranslationMemory/CreateMemory";
    let reply = send(&server, "OPTIONS", path, &ask("https://tool.example:8443"), Bytes::new()).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.headers["access-control-allow-origin"], "https://tool.example:8443");
    assert_eq!(reply.headers["access-control-allow-private-network"], "true");
    let allowed = reply.headers["access-control-allow-headers"].to_str().unwrap();
    for header in ["authorization", "content-type", "x-grpc-web"] {
        assert!(allowed.contains(header), "{allowed}");
    }
    let reply = send(&server, "OPTIONS", path, &ask("https://tool.example"), Bytes::new()).await;
    assert_eq!(reply.status, 403);
    assert_no_cors(&reply);

    let reply = create_memory_from(&server, "https://tool.example:8443", "from-the-tool").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["access-control-allow-origin"], "https://tool.example:8443");
    assert!(reply.headers["access-control-expose-headers"].to_str().unwrap().contains("grpc-status"));
    assert!(reply.body.contains("grpc-status:0"), "{}", reply.body);
    assert!(!reply.headers.contains_key("access-control-allow-private-network"));
    let reply = create_memory_from(&server, "https://other.example", "from-another").await;
    assert_eq!(reply.headers["grpc-status"], "7");
    let names = memory_names(&server).await;
    assert!(names.contains(&"from-the-tool".to_owned()) && !names.contains(&"from-another".to_owned()), "{names:?}");
}

#[tokio::test]
async fn host_names_the_server_does_not_answer_to_are_refused() {
    let server = Server::on_temp_db();
    let port = server.addr.rsplit_once(':').unwrap().1.to_owned();
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let reply = send(&server, "GET", "/tmserver/languages/", &[("host", &host)], Bytes::new()).await;
        assert_eq!(reply.status, 200, "{host}");
    }
    // DNS rebinding: a page of evil.example whose name now points at
    // 127.0.0.1 sends its own name.
    for host in [format!("evil.example:{port}"), "localhost:1".to_owned()] {
        let reply = send(&server, "GET", "/tmserver/languages/", &[("host", &host)], Bytes::new()).await;
        assert_eq!(reply.status, 403, "{host}");
        assert!(reply.body.contains("does not answer to the host name"), "{}", reply.body);
    }
    // gRPC over HTTP/2 (`:authority`), refused the same way.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .origin(format!("http://evil.example:{port}").parse().unwrap())
        .connect()
        .await
        .unwrap();
    let mut rebound = dhakira::proto::translation_memory_client::TranslationMemoryClient::new(channel);
    let lookup = LookupRequest { text: "hello".into(), source_lang: "en".into(), ..Default::default() };
    let status = rebound.lookup(lookup).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(status.message().contains("--allowed-host evil.example"), "{}", status.message());

    let named = Server::on_temp_db_with(&["--no-sample", "--allowed-host", "tm.example.org"]);
    let reply = send(&named, "GET", "/tmserver/languages/", &[("host", "tm.example.org")], Bytes::new()).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn jsonp_is_served_only_with_the_jsonp_flag() {
    let path = "/tmserver/en/ar/unit/hello?jsoncallback=steal";
    let server = Server::on_temp_db();
    let reply = send(&server, "GET", path, &[], Bytes::new()).await;
    assert_eq!(reply.status, 400);
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(reply.body.contains("jsoncallback: JSONP is off") && reply.body.contains("--jsonp"), "{}", reply.body);
    let reply = send(&server, "GET", "/tmserver/languages/?jsoncallback=steal", &[], Bytes::new()).await;
    assert_eq!(reply.status, 400);

    let server = Server::on_temp_db_with(&["--jsonp"]);
    let reply = send(&server, "GET", path, &[], Bytes::new()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("steal("), "{}", reply.body);
}

#[tokio::test]
async fn origins_hosts_and_jsonp_come_from_flags_variables_and_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dhakira.toml");
    std::fs::write(
        &config,
        "cors_origin = [\"https://from-file.example\"]\nallowed_host = [\"tm.example.org\"]\njsonp = true\n",
    )
    .unwrap();
    let from_file = Server::start_with(&dir.path().join("a"), &["--no-sample", "--config", config.to_str().unwrap()]);
    let reply = create_memory_from(&from_file, "https://from-file.example", "filed").await;
    assert_eq!(reply.headers["access-control-allow-origin"], "https://from-file.example");
    let reply =
        send(&from_file, "GET", "/tmserver/languages/?jsoncallback=f", &[("host", "tm.example.org")], Bytes::new())
            .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("f("), "{}", reply.body);

    // The variable takes a comma-separated list, and wins over the file.
    let from_env = Server::start_env(
        &dir.path().join("b"),
        &["--no-sample", "--config", config.to_str().unwrap()],
        &[("DHAKIRA_CORS_ORIGIN", "https://one.example,https://two.example")],
    );
    for (origin, allowed) in [("https://two.example", true), ("https://from-file.example", false)] {
        let reply = create_memory_from(&from_env, origin, "x").await;
        assert_eq!(reply.headers.contains_key("access-control-allow-origin"), allowed, "{origin}");
    }

    // An origin that is not one is a start-up error naming the flag.
    let output = Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--cors-origin", "null", "--db"])
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--cors-origin: \"null\" cannot be allowed"), "{stderr}");
}

/// Chromium, headless, in its own process group: dropping it ends the
/// browser and every process it started.
struct Browser {
    child: std::process::Child,
    log: tempfile::NamedTempFile,
    _profile: tempfile::TempDir,
}

impl Browser {
    const PATH: &str = "/usr/bin/chromium";

    /// Chromium opening `url`; `None` only when DHAKIRA_SKIP_BROWSER_TESTS=1
    /// says to skip (a missing browser is a failure: `.ci/browser-deps`
    /// installs it).
    fn open(url: &str) -> Option<Browser> {
        if !std::path::Path::new(Browser::PATH).exists() {
            if std::env::var("DHAKIRA_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
                eprintln!("skipped: no {} and DHAKIRA_SKIP_BROWSER_TESTS=1", Browser::PATH);
                return None;
            }
            panic!("{} is missing: run .ci/browser-deps (or set DHAKIRA_SKIP_BROWSER_TESTS=1)", Browser::PATH);
        }
        use std::os::unix::process::CommandExt;
        let profile = tempfile::tempdir().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(Browser::PATH)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .process_group(0)
            .spawn()
            .expect("starting chromium");
        Some(Browser { child, log, _profile: profile })
    }

    fn log(&self) -> String {
        let mut text = String::new();
        self.log.reopen().unwrap().read_to_string(&mut text).unwrap();
        text
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// What the page reports: the outcome of its fetch of the MyMemory facade
/// and of its gRPC-web `CreateMemory` call.
#[derive(Debug, serde::Deserialize)]
struct PageReport {
    rest: String,
    grpc_web: String,
}

/// The page a site on another origin would serve: it calls Dhakira with
/// fetch (REST) and gRPC-web, then posts what happened to its own server.
/// Dhakira's address is in the page's query string (`?dhakira=host:port`).
fn attacking_page(query: &str, create: &[u8]) -> String {
    let frame: String = create.iter().map(|b| format!("{b},")).collect();
    format!(
        r#"<!doctype html><html><body><script>
const dhakira = "http://" + new URLSearchParams(location.search).get("dhakira");
async function rest() {{
  try {{
    const response = await fetch(dhakira + "/get?q=" + encodeURIComponent({query:?}) + "&langpair=en|ar");
    const body = await response.json();
    return "read:" + body.responseData.translatedText;
  }} catch (e) {{ return "failed:" + e.name; }}
}}
async function grpcWeb() {{
  try {{
    const response = await fetch(dhakira + "/dhakira.v1.TranslationMemory/CreateMemory", {{
      method: "POST",
      headers: {{"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}},
      body: new Uint8Array([{frame}]),
    }});
    const bytes = new Uint8Array(await response.arrayBuffer());
    let trailers = "";
    for (let at = 0; at + 5 <= bytes.length;) {{
      const length = (bytes[at + 1] << 24) | (bytes[at + 2] << 16) | (bytes[at + 3] << 8) | bytes[at + 4];
      if (bytes[at] & 0x80) trailers += new TextDecoder().decode(bytes.slice(at + 5, at + 5 + length));
      at += 5 + length;
    }}
    const status = response.headers.get("grpc-status") ?? (trailers.match(/grpc-status:\s*(\d+)/) || [])[1];
    return "grpc-status:" + status;
  }} catch (e) {{ return "failed:" + e.name; }}
}}
(async () => {{
  const report = {{rest: await rest(), grpc_web: await grpcWeb()}};
  await fetch("/report", {{method: "POST", body: JSON.stringify(report)}});
}})();
</script></body></html>"#
    )
}

/// Serves `page` at `/` on a new port of 127.0.0.1 (another origin than
/// Dhakira's) and hands over the body of the first `POST /report`.
async fn serve_page(page: String) -> (String, tokio::sync::mpsc::Receiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (reports, received) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (page, reports) = (page.clone(), reports.clone());
            let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let (page, reports) = (page.clone(), reports.clone());
                async move {
                    let body = match request.uri().path() {
                        "/report" => {
                            let bytes = request.into_body().collect().await?.to_bytes();
                            let _ = reports.send(String::from_utf8_lossy(&bytes).into_owned()).await;
                            String::new()
                        }
                        "/" => page,
                        _ => String::new(),
                    };
                    let response = http::Response::builder()
                        .header("content-type", "text/html; charset=utf-8")
                        .body(Full::new(Bytes::from(body)))
                        .unwrap();
                    Ok::<_, hyper::Error>(response)
                }
            });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (origin, received)
}

/// What a page of another origin on 127.0.0.1 sees when Chromium opens it
/// against a server with these flags (`{page}` stands for the page's
/// origin), and the server's memories afterwards; `None` when browser tests
/// are skipped.
async fn visit(flags: &[&str]) -> Option<(PageReport, Vec<String>, (String, String))> {
    let (arabic, english) = corpus_pairs("ntrex128.tsv", 10)[4].clone();
    let create = frame(&CreateMemoryRequest { name: "from-the-page".into(), description: String::new() });
    let (origin, mut reports) = serve_page(attacking_page(&english, &create)).await;
    let flags: Vec<String> = flags.iter().map(|f| f.replace("{page}", &origin)).collect();
    let flags: Vec<&str> = [&["--no-sample"][..], &flags.iter().map(String::as_str).collect::<Vec<_>>()].concat();
    let server = Server::on_temp_db_with(&flags);
    let mut client = server.client().await;
    let units = vec![unit(&arabic, &english, "news")];
    client.add_units(dhakira::proto::AddUnitsRequest { units }).await.unwrap();

    let browser = Browser::open(&format!("{origin}/?dhakira={}", server.addr))?;
    // Bounds a hung browser only: the page reports as soon as it is done.
    let report = tokio::time::timeout(Duration::from_secs(120), reports.recv()).await;
    let report = match report {
        Ok(Some(report)) => report,
        _ => panic!("the page reported nothing; Chromium said:\n{}", browser.log()),
    };
    drop(browser);
    let report: PageReport = serde_json::from_str(&report).unwrap_or_else(|err| panic!("{err}: {report}"));
    Some((report, memory_names(&server).await, (arabic, english)))
}

#[tokio::test]
async fn in_chromium_a_page_of_another_origin_can_neither_read_nor_write_unless_allowed() {
    // No --cors-origin: both calls fail in the browser, and nothing changed.
    let Some((report, memories, _)) = visit(&[]).await else { return };
    assert_eq!(report.rest, "failed:TypeError");
    assert_eq!(report.grpc_web, "failed:TypeError");
    assert_eq!(memories, ["news"]);

    // The page's origin allowed: it reads a match and creates a memory.
    let Some((report, memories, (arabic, _))) = visit(&["--cors-origin", "{page}"]).await else { return };
    assert_eq!(report.rest, format!("read:{arabic}"));
    assert_eq!(report.grpc_web, "grpc-status:0");
    assert_eq!(memories, ["from-the-page", "news"]);
}
