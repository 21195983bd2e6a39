//! The REST facades, with the requests the tools send.

use dhakira::proto::{AddUnitsRequest, UnitInput};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::common::{corpus_pairs, unit, Server};

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }
}

async fn get(addr: &str, path_and_query: &str) -> Reply {
    get_from(addr, path_and_query, None).await
}

/// A GET as a browser page on `origin` sends it (Pootle asks amaGama from
/// the browser).
async fn get_from(addr: &str, path_and_query: &str, origin: Option<&str>) -> Reply {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::get(format!("http://{addr}{path_and_query}"));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = client.request(request.body(Empty::new()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Reply { status: parts.status.as_u16(), headers: parts.headers, body }
}

/// Percent-encodes everything but unreserved characters, as Python's
/// `urllib.parse.quote(text, safe="")` does (so `/` becomes `%2F`).
pub(crate) fn quote(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn server_with_news() -> (Server, Vec<(String, String)>) {
    server_with_news_and(&[]).await
}

/// [`server_with_news`], started with these flags too.
async fn server_with_news_and(extra: &[&str]) -> (Server, Vec<(String, String)>) {
    let server = Server::on_temp_db_with(&[&["--no-sample"], extra].concat());
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 300);
    let mut units: Vec<UnitInput> = pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect();
    units.push(unit("تم حفظ %s ملفات في المجلد", "Saved %s files to the folder", "ui"));
    units.push(unit("افتح {0} / أغلق", "Open {0} / close", "ui"));
    client.add_units(AddUnitsRequest { units }).await.unwrap();
    (server, pairs)
}

#[tokio::test]
async fn amagama_answers_as_weblate_virtaal_and_pootle_ask() {
    // Pootle asks from the browser, with JSONP: both must be allowed.
    let (server, pairs) = server_with_news_and(&["--jsonp", "--cors-origin", "https://pootle.example.org"]).await;
    let (arabic, english) = &pairs[10];

    // Weblate: /tmserver/{source}/{target}/unit/{quote(text, safe="")}.
    for prefix in ["/tmserver", "/api/v1"] {
        let reply = get(&server.addr, &format!("{prefix}/en/ar/unit/{}", quote(english))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.headers["cache-control"], "max-age=3600");
        assert!(reply.headers["content-type"].to_str().unwrap().starts_with("application/json"));
        let matches = reply.json();
        let first = &matches[0];
        assert_eq!(
            (first["source"].as_str().unwrap(), first["target"].as_str().unwrap()),
            (english.as_str(), arabic.as_str())
        );
        assert_eq!(first["quality"].as_f64(), Some(100.0));
        let qualities: Vec<f64> = matches.as_array().unwrap().iter().map(|m| m["quality"].as_f64().unwrap()).collect();
        assert!(qualities.windows(2).all(|w| w[0] >= w[1]), "{qualities:?}");
        assert!(qualities.iter().all(|&q| q >= 70.0), "{qualities:?}");
    }

    // Arabic source, region codes in Weblate's form, a text with a slash.
    let reply = get(&server.addr, &format!("/tmserver/ar_eg/en_us/unit/{}", quote("افتح {0} / أغلق"))).await;
    assert_eq!(reply.json()[0]["target"], "Open {0} / close");
    // Weblate's placeholders [X7X] match stored placeholders.
    let reply = get(&server.addr, &format!("/tmserver/en/ar/unit/{}", quote("Saved [X7X] files to the folder"))).await;
    let first = &reply.json()[0];
    assert_eq!(first["target"], "تم حفظ %s ملفات في المجلد");
    assert!(first["quality"].as_f64().unwrap() >= 95.0, "{first}");

    // Older Weblate leaves `/` unquoted; Virtaal doubles the slash after
    // its base URL.
    let reply = get(&server.addr, "/tmserver/en/ar/unit/Open%20%7B0%7D%20/%20close").await;
    assert_eq!(reply.json()[0]["target"], "افتح {0} / أغلق");
    let reply = get(&server.addr, &format!("/api/v1//en/ar/unit/{}", quote(english))).await;
    assert_eq!(reply.json()[0]["source"], english.as_str());

    // Weblate's configuration check: a pair this memory does not hold is
    // 200 with no match, never an error.
    let reply = get(&server.addr, "/tmserver/en/de/unit/test").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "[]"));

    // Virtaal and Pootle: ?source=, max_candidates, min_similarity (floored
    // at 70), and JSONP.
    let (arabic, _) = &pairs[20];
    let path = format!(
        "/api/v1/ar/en/unit/?source={}&max_candidates=2&min_similarity=10&jsoncallback=jQuery123_456",
        quote(arabic)
    );
    let reply = get_from(&server.addr, &path, Some("https://pootle.example.org")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["access-control-allow-origin"], "https://pootle.example.org");
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("application/javascript"));
    let json = reply.body.strip_prefix("jQuery123_456(").and_then(|b| b.strip_suffix(");")).expect("JSONP");
    let matches: Value = serde_json::from_str(json).unwrap();
    assert!(!matches.as_array().unwrap().is_empty() && matches.as_array().unwrap().len() <= 2);
    assert!(matches.as_array().unwrap().iter().all(|m| m["quality"].as_f64().unwrap() >= 70.0));
    let reply = get(&server.addr, "/api/v1/ar/en/unit/x?jsoncallback=alert(1)//").await;
    assert_eq!(reply.status, 400);

    let reply = get(&server.addr, "/tmserver/languages/").await;
    assert_eq!(reply.json()["sourceLanguages"], serde_json::json!(["ar", "en"]));
    let reply = get(&server.addr, "/tmserver/en/ar/unit/x?max_candidates=lots").await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("max_candidates"), "{}", reply.body);
}

#[tokio::test]
async fn text_that_is_not_utf8_is_refused_in_each_facades_shape() {
    let (server, _) = server_with_news().await;
    // "café" in Latin-1 (%E9) rather than UTF-8 (%C3%A9): refused, never
    // looked up with U+FFFD in its place.
    for path in [
        "/api/v1/en/ar/unit/?source=caf%E9",
        "/tmserver/en/ar/unit/caf%E9",
        "/tmserver/en/ar/unit/x?min_similarity=%FF",
    ] {
        let reply = get(&server.addr, path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains("UTF-8"), "{path}: {error}");
    }
    let reply = get(&server.addr, "/api/v1/en/ar/unit/?source=caf%E9").await;
    assert!(reply.json()["error"].as_str().unwrap().starts_with("source: is not UTF-8"), "{}", reply.body);
    // MyMemory answers its own error shape (HTTP 200, responseStatus "403").
    let reply = get(&server.addr, "/get?q=caf%E9&langpair=en|ar").await;
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["responseStatus"], "403", "{json}");
    assert!(json["responseDetails"].as_str().unwrap().starts_with("Q: IS NOT UTF-8"), "{json}");
    assert_eq!(json["matches"], "");
    // The same text in UTF-8 is answered.
    let reply = get(&server.addr, "/get?q=caf%C3%A9&langpair=en|ar").await;
    assert_eq!(reply.json()["responseStatus"], 200, "{}", reply.body);
    let reply = get(&server.addr, "/api/v1/en/ar/unit/?source=caf%C3%A9").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn mymemory_get_answers_in_mymemorys_shape() {
    let (server, pairs) = server_with_news().await;
    let (arabic, english) = &pairs[30];
    let reply = get(&server.addr, &format!("/get?q={}&langpair=ar|en-GB&numres=2", quote(arabic))).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["responseStatus"], 200);
    assert_eq!(body["responseData"]["translatedText"], english.as_str());
    assert_eq!(body["responseData"]["match"], 1.0);
    let matches = body["matches"].as_array().unwrap();
    assert!(!matches.is_empty() && matches.len() <= 2);
    let first = &matches[0];
    assert_eq!(first["segment"], arabic.as_str());
    assert_eq!(first["translation"], english.as_str());
    assert_eq!((first["source"].as_str(), first["target"].as_str()), (Some("ar"), Some("en-GB")));
    assert_eq!((first["quality"].as_str(), first["match"].as_f64()), (Some("100"), Some(1.0)));
    let scores: Vec<f64> = matches.iter().map(|m| m["match"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores.iter().all(|&s| s >= 0.5), "{scores:?}");
    for field in ["id", "usage-count", "created-by", "last-update-date", "subject"] {
        assert!(first.get(field).is_some(), "{field}: {first}");
    }

    // Weblate's MyMemory client asks /api/get, with de= and no numres.
    let reply =
        get(&server.addr, &format!("/api/get?q={}&langpair=en|ar&de=translator%40example.org", quote(english))).await;
    let body = reply.json();
    assert_eq!(
        (body["responseStatus"].as_i64(), body["responseData"]["translatedText"].as_str()),
        (Some(200), Some(arabic.as_str()))
    );
    assert!(body["matches"].as_array().unwrap().len() <= 3);
    assert!(body["matches"][0]["reference"].is_null() && body["matches"][0]["last-updated-by"].is_string());

    // Errors come in MyMemory's shape, with HTTP 200 (a 403 would make
    // Weblate stop asking for 30 minutes).
    let reply = get(&server.addr, "/get?q=hello&langpair=en|en").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!((body["responseStatus"].as_str(), body["matches"].as_str()), (Some("403"), Some("")));
    assert!(body["responseDetails"].as_str().unwrap().contains("TWO DISTINCT LANGUAGES"), "{body}");
    // A pair the memory does not hold has no match, as amaGama's facade
    // answers (Weblate's `en|de` probe; issue 21, finding 7).
    let body = get(&server.addr, "/get?q=hello&langpair=en|fr").await.json();
    assert_eq!((body["responseStatus"].as_i64(), body["matches"].as_array().map(Vec::len)), (Some(200), Some(0)));
    assert!(body["responseDetails"].as_str().unwrap().contains("'FR'"), "{body}");
    let reply = get(&server.addr, "/get?langpair=en|ar").await;
    assert!(reply.json()["responseDetails"].as_str().unwrap().starts_with("NO QUERY SPECIFIED"));
}

/// The value of the Prometheus sample `name{labels}` in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_units_and_imports() {
    use dhakira::proto::import_request::Item;
    use dhakira::proto::{ImportOptions, ImportRequest, LookupRequest};

    let (server, pairs) = server_with_news().await;
    let mut client = server.client().await;
    for (arabic, _) in &pairs[..3] {
        client
            .lookup(LookupRequest { text: arabic.clone(), source_lang: "ar".into(), ..Default::default() })
            .await
            .unwrap();
    }
    let bad = LookupRequest { text: "x".into(), source_lang: "fr".into(), ..Default::default() };
    assert!(client.lookup(bad).await.is_err());
    get(&server.addr, "/tmserver/en/ar/unit/Hello").await;
    let tsv = "مرحبا\tHello\nبلا ترجمة\n";
    let requests = vec![
        ImportRequest {
            item: Some(Item::Options(ImportOptions {
                memory: "imported".into(),
                format: "tsv".into(),
                ..Default::default()
            })),
        },
        ImportRequest { item: Some(Item::Chunk(tsv.as_bytes().to_vec())) },
    ];
    client.import(tokio_stream::iter(requests)).await.unwrap();

    let reply = get(&server.addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = reply.body;
    let value = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} missing in:\n{text}"));
    assert_eq!(value(r#"dhakira_requests_total{code="OK",method="Lookup"}"#), 3.0);
    assert_eq!(value(r#"dhakira_requests_total{code="INVALID_ARGUMENT",method="Lookup"}"#), 1.0);
    assert_eq!(value(r#"dhakira_requests_total{code="OK",method="AddUnits"}"#), 1.0);
    assert_eq!(value(r#"dhakira_requests_total{code="OK",method="Import"}"#), 1.0);
    assert_eq!(value(r#"dhakira_requests_total{code="200",method="amagama_unit"}"#), 1.0);
    assert_eq!(value(r#"dhakira_request_duration_seconds_count{method="Lookup"}"#), 4.0);
    assert_eq!(value(r#"dhakira_imported_units_total{outcome="added"}"#), 1.0);
    assert_eq!(value(r#"dhakira_imported_units_total{outcome="rejected"}"#), 1.0);
    assert_eq!(value(r#"dhakira_units{memory="news"}"#), pairs.len() as f64);
    assert_eq!(value(r#"dhakira_units{memory="imported"}"#), 1.0);
}
