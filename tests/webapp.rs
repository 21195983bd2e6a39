//! The web app for translators, end to end: a real server on a temporary
//! database loaded with corpus units, headless Chromium driven through
//! chromedriver (WebDriver, with `fantoccini`), and what the pages show
//! checked against what the server answers through gRPC. Each screen is
//! saved as a PNG in `target/webapp-screenshots/` for a reviewer.
//!
//! The JSON API the pages call is checked over plain HTTP too: keys,
//! grants, bounds, headers.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dhakira::proto::{
    AddUnitsRequest, AnalyzeRequest, ConcordanceRequest, GetUnitRequest, ListMemoriesRequest, LookupRequest,
    StatsRequest,
};
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::common::{corpus_pairs, read_pairs, unit, Server};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(20);

/// chromedriver on a loopback port, in its own process group (dropping it
/// ends it and the browsers it started), and a WebDriver session in
/// headless Chromium.
struct Browser {
    client: Client,
    driver: std::process::Child,
    _profile: tempfile::TempDir,
}

/// Whether `err` says the element found is no longer in the page: the app
/// drew the view again between the find and the action (a view is drawn,
/// then drawn again once its data arrives), so the element is to be found
/// again, until [`WAIT`] has passed since `started`.
fn redrawn(err: &fantoccini::error::CmdError, started: Instant) -> bool {
    err.is_stale_element_reference() && started.elapsed() < WAIT
}

impl Browser {
    /// A browser session; `None` only when DHAKIRA_SKIP_BROWSER_TESTS=1 says
    /// to skip (a missing browser is a failure: `.ci/browser-deps` installs
    /// both packages).
    async fn open() -> Option<Browser> {
        for path in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(path).exists() {
                if std::env::var("DHAKIRA_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
                    eprintln!("skipped: no {path} and DHAKIRA_SKIP_BROWSER_TESTS=1");
                    return None;
                }
                panic!("{path} is missing: run .ci/browser-deps (or set DHAKIRA_SKIP_BROWSER_TESTS=1)");
            }
        }
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starting chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--lang=en-GB", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(err) if started.elapsed() > WAIT => panic!("no WebDriver session from chromedriver: {err}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Browser { client, driver, _profile: profile })
    }

    /// Opens the app of `server` at `#/fragment`.
    async fn open_app(&self, server: &Server, fragment: &str) {
        self.client.goto(&format!("http://{}/#/{fragment}", server.addr)).await.unwrap();
    }

    /// Waits for an element matching `css`.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no {css} on the page: {err}"))
    }

    /// The text of every element matching `css`.
    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for el in self.client.find_all(Locator::Css(css)).await.unwrap() {
            out.push(el.text().await.unwrap());
        }
        out
    }

    /// Runs `script` in the page and returns its value.
    async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Waits until `script` returns true.
    async fn until(&self, script: &str) {
        let started = Instant::now();
        while self.eval(script).await != Value::Bool(true) {
            if started.elapsed() > WAIT {
                let status = self.eval("return document.getElementById('status').textContent").await;
                panic!("never true: {script}; the status line says {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            let el = self.find(css).await;
            let typed = async {
                el.clear().await?;
                // ChromeDriver types characters outside the BMP poorly: the
                // value is set as a user's paste would, and an input event
                // sent.
                let script = "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));";
                self.client.execute(script, vec![serde_json::to_value(&el).unwrap(), Value::from(text)]).await.map(drop)
            };
            match typed.await {
                Ok(()) => return,
                Err(err) if redrawn(&err, started) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(err) => panic!("cannot type into {css}: {err}"),
            }
        }
    }

    async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            match self.find(css).await.click().await {
                Ok(_) => return,
                Err(err) if redrawn(&err, started) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(err) => panic!("cannot click {css}: {err}"),
            }
        }
    }

    /// Saves the page as `target/webapp-screenshots/<name>.png`.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/webapp-screenshots`, else the
/// repository's `target/`.
fn screenshots_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("webapp-screenshots")
}

/// A server loaded with the first `n` pairs of ntrex128 in memory `news`.
async fn news_server(n: usize, extra: &[&str]) -> (Server, Vec<(String, String)>, Vec<u64>) {
    let server = Server::on_temp_db_with(&[&["--no-sample"], extra].concat());
    let pairs = corpus_pairs("ntrex128.tsv", n);
    let mut client = server.client().await;
    let units = pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect();
    let ids = client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner().unit_ids;
    (server, pairs, ids)
}

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

/// A request to the server over HTTP/1.1 (`key` as a bearer token).
async fn send(server: &Server, method: &str, path: &str, key: Option<&str>, body: &str) -> Reply {
    let client: HttpClient<_, Full<Bytes>> = HttpClient::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::builder().method(method).uri(format!("http://{}{path}", server.addr));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    let response = client.request(request.body(Full::new(Bytes::from(body.to_owned()))).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = String::from_utf8_lossy(&body.collect().await.unwrap().to_bytes()).into_owned();
    Reply { status: parts.status.as_u16(), headers: parts.headers, body }
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|err| panic!("{err}: {} {}", reply.status, reply.body))
}

/// The first ntrex pair whose Arabic and English hold the same number
/// (2 to 4 digits, once in each), with that number.
fn pair_with_a_number(pairs: &[(String, String)]) -> (usize, String) {
    let numbers = |text: &str| -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_ascii_digit() {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let near = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_digit() || *c == ',' || *c == '.');
                let glued = start > 0 && near(chars.get(start - 1))
                    || near(chars.get(i)) && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if (2..=4).contains(&(i - start)) && !glued {
                    out.push(chars[start..i].iter().collect());
                }
            } else {
                i += 1;
            }
        }
        out
    };
    pairs
        .iter()
        .enumerate()
        .find_map(|(i, (ar, en))| {
            let (a, e) = (numbers(ar), numbers(en));
            (a.len() == 1 && a == e && ar.split_whitespace().count() >= 8).then(|| (i, a[0].clone()))
        })
        .expect("ntrex128 has a sentence with a number in both languages")
}

#[tokio::test]
async fn webapp_looks_up_an_arabic_sentence_showing_the_differences_and_the_repaired_number() {
    let (server, pairs, ids) = news_server(400, &[]).await;
    let Some(browser) = Browser::open().await else { return };
    let (i, number) = pair_with_a_number(&pairs);
    let (arabic, english) = &pairs[i];
    // The query: the stored sentence without its first word, and another number.
    let other = (number.parse::<u64>().unwrap() + 3).to_string();
    let first_word = arabic.split_whitespace().next().unwrap().to_owned();
    let query = arabic.split_once(' ').unwrap().1.replacen(&number, &other, 1);

    browser.open_app(&server, "lookup").await;
    browser.type_into("#lookup-text", &query).await;
    browser.click("#lookup-go").await;
    let card = browser.find(&format!("#matches .match[data-unit='{}']", ids[i])).await;
    browser.screenshot("lookup").await;

    // The server's own answer, through gRPC.
    let mut client = server.client().await;
    let best = client
        .lookup(LookupRequest {
            text: query.clone(),
            source_lang: "ar".into(),
            max_results: Some(10),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .matches
        .into_iter()
        .find(|m| m.unit_id == ids[i])
        .expect("gRPC finds the unit too");
    let score = card.find(Locator::Css(".score")).await.unwrap().text().await.unwrap();
    assert_eq!(score, best.score.to_string());
    assert!(best.score < 100, "the query differs from the stored source");

    // The stored source: its number marked as another placeable, its first
    // word as missing from the query.
    let texts = |css: &'static str| {
        let card = card.clone();
        async move {
            let mut out = Vec::new();
            for el in card.find_all(Locator::Css(css)).await.unwrap() {
                out.push(el.prop("textContent").await.unwrap().unwrap_or_default());
            }
            out
        }
    };
    assert_eq!(texts(".source mark.edit-placeable").await, [number.as_str()]);
    assert_eq!(texts(".source mark.edit-delete").await, [first_word]);
    assert_eq!(texts(".query mark.edit-placeable").await, [other.as_str()]);
    // The target: the stored English with the query's number put in, marked.
    let target = card.find(Locator::Css(".target")).await.unwrap().prop("textContent").await.unwrap().unwrap();
    assert_eq!(target, english.replacen(&number, &other, 1));
    assert_eq!(Some(target.clone()), best.repaired_target);
    assert_eq!(texts(".target mark.repaired").await, [other.as_str()]);
    // Arabic is laid out right to left, each text isolated.
    assert_eq!(card.find(Locator::Css(".source")).await.unwrap().attr("dir").await.unwrap().as_deref(), Some("rtl"));
    // The detected language, from the server's answer.
    assert!(browser.find("#detected").await.text().await.unwrap().contains("Arabic"));
    let penalties = texts(".penalties li").await;
    assert_eq!(penalties.len(), best.penalties.len(), "{penalties:?}");

    // The keyboard: "/" focuses the box, arrows move through the matches,
    // "c" copies the chosen one's target.
    browser.eval("document.activeElement.blur(); return true").await;
    browser.client.active_element().await.unwrap().send_keys("/").await.unwrap();
    assert_eq!(browser.eval("return document.activeElement.id").await, "lookup-text");
    browser.eval("document.activeElement.blur(); return true").await;
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(fantoccini::key::Key::Down).to_string())
        .await
        .unwrap();
    let chosen = browser.eval("return document.querySelector('#matches .match.selected').dataset.unit").await;
    let second = browser.eval("return document.querySelectorAll('#matches .match')[1]?.dataset.unit ?? null").await;
    let first = browser.eval("return document.querySelectorAll('#matches .match')[0].dataset.unit").await;
    assert_eq!(chosen, if second.is_null() { first } else { second });
    browser.client.active_element().await.unwrap().send_keys("c").await.unwrap();
    browser.until("return document.getElementById('status').textContent.startsWith('Copied')").await;

    // A filter the unit does not pass: no match.
    browser.type_into("#lookup-domain", "sports").await;
    browser.click("#lookup-go").await;
    browser.find("#no-match").await;
    browser.type_into("#lookup-domain", "").await;

    // The Arabic interface: right to left, its strings, remembered.
    browser.click("#ui-lang").await;
    browser.until("return document.documentElement.dir === 'rtl'").await;
    browser.client.refresh().await.unwrap();
    browser.until("return document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar'").await;
    browser.type_into("#lookup-text", &query).await;
    browser.click("#lookup-go").await;
    browser.find(&format!("#matches .match[data-unit='{}'] mark.repaired", ids[i])).await;
    browser.screenshot("lookup-arabic-interface").await;
    browser.click("#ui-lang").await;
    // From a match to its unit, to correct it where it was seen.
    browser.click(&format!("#matches .match[data-unit='{}'] a.open", ids[i])).await;
    let stored = browser.find("#unit-english").await;
    assert_eq!(stored.prop("value").await.unwrap().as_deref(), Some(english.as_str()));
}

#[tokio::test]
async fn webapp_concordance_highlights_every_occurrence_newest_first_and_pages() {
    let (server, _, _) = news_server(1377, &[]).await;
    let Some(browser) = Browser::open().await else { return };
    let word = "said";
    browser.open_app(&server, "concordance").await;
    browser.type_into("#concordance-text", word).await;
    browser.click("#concordance-go").await;
    browser.find("#hits .hit").await;
    browser.screenshot("concordance").await;

    let mut client = server.client().await;
    let page = client
        .concordance(ConcordanceRequest { text: word.into(), page_size: 20, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty(), "more than a page of hits");
    let shown: Vec<u64> = browser
        .eval("return Array.from(document.querySelectorAll('#hits .hit')).map(h => Number(h.dataset.unit))")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = page.hits.iter().map(|h| h.unit.as_ref().unwrap().unit_id).collect();
    assert_eq!(shown, expected);
    assert!(shown.windows(2).all(|w| w[0] > w[1]), "newest first: {shown:?}");
    // Every occurrence, and only the word.
    let spans: usize = page.hits.iter().map(|h| h.spans.len()).sum();
    let marks = browser.texts("#hits mark.hit-span").await;
    assert_eq!(marks.len(), spans);
    assert!(marks.iter().all(|m| m.eq_ignore_ascii_case(word)), "{marks:?}");
    // The next page is added below.
    browser.click("#concordance-more").await;
    browser.until("return document.querySelectorAll('#hits .hit').length > 20").await;
}

/// A TMX document of `pairs` (tuid `t<i>`), with one broken unit (one
/// language only) after the first.
fn tmx_with_one_bad_unit(pairs: &[(String, String)]) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut tmx = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\"><header creationtool=\"test\" \
         creationtoolversion=\"1\" segtype=\"sentence\" o-tmf=\"none\" adminlang=\"en\" srclang=\"ar\" \
         datatype=\"plaintext\"/><body>\n",
    );
    for (i, (ar, en)) in pairs.iter().enumerate() {
        tmx.push_str(&format!(
            "<tu tuid=\"t{i}\"><tuv xml:lang=\"ar\"><seg>{}</seg></tuv><tuv xml:lang=\"en\"><seg>{}</seg></tuv></tu>\n",
            escape(ar),
            escape(en)
        ));
        if i == 0 {
            tmx.push_str("<tu tuid=\"broken\"><tuv xml:lang=\"ar\"><seg>نص بلا ترجمة</seg></tuv></tu>\n");
        }
    }
    tmx.push_str("</body></tmx>\n");
    tmx
}

#[tokio::test]
async fn webapp_imports_a_tmx_with_live_progress_and_the_rejection_and_exports_it() {
    let server = Server::on_temp_db();
    let Some(browser) = Browser::open().await else { return };
    // Distinct pairs, enough for several batches of progress.
    let mut pairs = read_pairs("un_v1_testsets.tsv");
    for file in ["flores200_devtest.tsv", "ntrex128.tsv", "tico19_test.tsv"] {
        pairs.extend(read_pairs(file));
    }
    pairs.sort();
    pairs.dedup();
    pairs.truncate(9_000);
    assert_eq!(pairs.len(), 9_000, "three batches of the importer (4,000 units each)");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.tmx");
    std::fs::write(&path, tmx_with_one_bad_unit(&pairs)).unwrap();

    browser.open_app(&server, "import").await;
    browser.type_into("#import-memory", "imported").await;
    browser.find("#import-file").await.send_keys(path.to_str().unwrap()).await.unwrap();
    browser.until("return document.getElementById('drop-zone').textContent.startsWith('upload.tmx')").await;
    browser.click("#import-go").await;
    browser.find("#import-summary").await;
    browser.screenshot("import").await;

    let count =
        |name: &str| format!("document.querySelector(\"#import-summary [data-count='{name}'] td\").textContent");
    let stats = server.client().await.stats(StatsRequest {}).await.unwrap().into_inner();
    let stored = stats.memories.iter().find(|m| m.name == "imported").map_or(0, |m| m.units);
    assert_eq!(browser.eval(&format!("return {}", count("added"))).await, stored.to_string());
    assert_eq!(browser.eval(&format!("return {}", count("rejected"))).await, "1");
    assert_eq!(browser.eval(&format!("return {}", count("read"))).await, (pairs.len() + 1).to_string());
    let rejections = browser.texts("#rejections li").await;
    assert_eq!(rejections.len(), 1);
    assert!(rejections[0].contains("broken"), "{rejections:?}");
    // Progress came in as the import went: one event per batch of 4,000.
    let events = browser.eval("return Number(document.getElementById('import-progress').dataset.events)").await;
    assert!(events.as_u64().unwrap() >= 3, "{events}");
    assert_eq!(browser.eval("return document.getElementById('import-progress').value === document.getElementById('import-progress').max").await, true);
    browser.find("#download-rejected").await;

    // Export: the file the page downloads is the API's export.
    browser.open_app(&server, "import").await;
    browser.click("#export-form input[value='imported']").await;
    browser.click("#export-go").await;
    browser.until("return document.getElementById('status').textContent.startsWith('Exported')").await;
    let exported = send(&server, "GET", "/app/api/export?memory=imported", None, "").await;
    assert_eq!(exported.status, 200);
    assert_eq!(exported.body.matches("<tu ").count() as u64, stored);
    let status = browser.eval("return document.getElementById('status').textContent").await;
    assert!(status.as_str().unwrap().contains(&format!(" {} bytes", exported.body.len())), "{status}");

    // A TSV file dropped on the page.
    let dropped = corpus_pairs("tico19_test.tsv", 3);
    let tsv: String = dropped.iter().map(|(ar, en)| format!("{ar}\t{en}\n")).collect();
    browser.type_into("#import-memory", "dropped").await;
    browser
        .client
        .execute(
            "const data = new DataTransfer();
             data.items.add(new File([arguments[0]], 'dropped.tsv', {type: 'text/tab-separated-values'}));
             document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));",
            vec![Value::from(tsv)],
        )
        .await
        .unwrap();
    browser.until("return document.getElementById('drop-zone').textContent.startsWith('dropped.tsv')").await;
    browser.click("#import-go").await;
    browser.find("#import-summary").await;
    assert_eq!(browser.eval(&format!("return {}", count("added"))).await, "3");
    let stats = server.client().await.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.memories.iter().find(|m| m.name == "dropped").map(|m| m.units), Some(3));
}

#[tokio::test]
async fn webapp_browses_edits_and_deletes_a_unit_and_creates_and_deletes_a_memory() {
    let (server, pairs, ids) = news_server(120, &[]).await;
    let Some(browser) = Browser::open().await else { return };
    let mut client = server.client().await;

    // Browse: the newest units first.
    browser.open_app(&server, "memories/news").await;
    browser.find("#unit-table tbody tr").await;
    let rows = browser
        .eval("return Array.from(document.querySelectorAll('#unit-table tbody tr')).map(r => Number(r.dataset.unit))")
        .await;
    let mut newest = ids.clone();
    newest.sort_unstable_by(|a, b| b.cmp(a));
    newest.truncate(50);
    assert_eq!(rows, json!(newest));
    browser.screenshot("memory").await;

    // Edit a unit's English and domain.
    let id = ids[7];
    browser.open_app(&server, &format!("units/{id}")).await;
    let english = browser.find("#unit-english").await;
    assert_eq!(english.prop("value").await.unwrap().as_deref(), Some(pairs[7].1.as_str()));
    let corrected = format!("{} (corrected)", pairs[7].1);
    browser.type_into("#unit-english", &corrected).await;
    browser.type_into("#unit-domain", "politics").await;
    browser.screenshot("unit").await;
    browser.click("#unit-save").await;
    browser.until(&format!("return document.getElementById('status').textContent === 'Unit {id} saved.'")).await;
    let stored = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap().into_inner();
    assert_eq!(stored.english, corrected);
    assert_eq!(stored.domain, "politics");
    assert_eq!(stored.arabic, pairs[7].0);

    // Delete it, after confirming.
    browser.open_app(&server, &format!("units/{id}")).await;
    browser.click("#unit-delete").await;
    browser.client.accept_alert().await.unwrap();
    browser.until("return location.hash === '#/memories/news'").await;
    let gone = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);

    // Conflicts: one source, two translations.
    let twins = client
        .add_units(AddUnitsRequest {
            units: vec![unit("مرحبا بالعالم", "Hello, world", "news"), unit("مرحبا بالعالم", "Hi, world", "news")],
        })
        .await
        .unwrap()
        .into_inner()
        .unit_ids;
    browser.open_app(&server, "memories/news/conflicts").await;
    browser.find(".conflict").await;
    let listed = browser
        .eval("return Array.from(document.querySelectorAll('.conflict li')).map(l => Number(l.dataset.unit)).sort()")
        .await;
    let mut expected = twins.clone();
    expected.sort_unstable();
    assert_eq!(listed, json!(expected));
    browser.screenshot("conflicts").await;

    // A memory created and deleted from the list, the deletion confirmed.
    browser.open_app(&server, "memories").await;
    browser.type_into("#new-memory-name", "drafts").await;
    browser.click("#create-memory button[type=submit]").await;
    browser.find("#memory-table tr[data-memory='drafts']").await;
    let names = || async {
        let mut client = server.client().await;
        let memories = client.list_memories(ListMemoriesRequest {}).await.unwrap().into_inner().memories;
        memories.into_iter().map(|m| m.name).collect::<Vec<_>>()
    };
    assert!(names().await.contains(&"drafts".to_owned()));
    browser.screenshot("memories").await;
    browser.click("#memory-table tr[data-memory='drafts'] .delete-memory").await;
    browser.client.accept_alert().await.unwrap();
    browser.until("return !document.querySelector(\"#memory-table tr[data-memory='drafts']\")").await;
    assert!(!names().await.contains(&"drafts".to_owned()));
}

#[tokio::test]
async fn webapp_analyzes_an_article_with_bands_a_chart_and_the_pretranslation() {
    let (server, pairs, _) = news_server(300, &[]).await;
    let Some(browser) = Browser::open().await else { return };
    // An article: stored sentences, one changed, one the memory lacks.
    let unknown = &read_pairs("tico19_test.tsv")[0].0;
    let changed = pairs[12].0.replacen(' ', " جدا ", 1);
    let article = format!("{} {} {} {}\n{}", pairs[10].0, pairs[11].0, changed, unknown, pairs[10].0);
    browser.open_app(&server, "analyze").await;
    browser.type_into("#article", &article).await;
    browser.click("#analyze-go").await;
    browser.find("#bands tbody tr").await;
    browser.screenshot("analyze").await;

    let analysis = server
        .client()
        .await
        .analyze(AnalyzeRequest {
            text: article.clone(),
            source_lang: "ar".into(),
            include_segments: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(browser.find("#total-words").await.text().await.unwrap(), analysis.total_words.to_string());
    assert_eq!(browser.find("#total-segments").await.text().await.unwrap(), analysis.total_segments.to_string());
    for band in &analysis.bands {
        let row = browser.find(&format!("#bands tr[data-band='{}'] td", band.name)).await;
        assert_eq!(row.text().await.unwrap(), band.segments.to_string(), "band {}", band.name);
        let bar = browser.find(&format!("#band-chart rect[data-words='{}']", band.words)).await;
        assert!(bar.attr("width").await.unwrap().is_some());
    }
    let bands: Vec<Value> = browser
        .eval("return Array.from(document.querySelectorAll('#segments .segment')).map(s => s.dataset.band)")
        .await
        .as_array()
        .unwrap()
        .clone();
    let expected: Vec<Value> = analysis.segments.iter().map(|s| Value::from(s.band.clone())).collect();
    assert_eq!(bands, expected);

    // The pretranslation: a line per segment, the stored translation for
    // the stored sentences.
    let body = json!({"text": article, "lang": "ar"}).to_string();
    let tsv = send(&server, "POST", "/app/api/pretranslate", None, &body).await;
    assert_eq!(tsv.status, 200, "{}", tsv.body);
    let lines: Vec<&str> = tsv.body.lines().collect();
    assert_eq!(lines.len(), analysis.segments.len() + 1);
    assert!(lines[1].ends_with(&format!("\t{}\tmatch", pairs[10].1)), "{}", lines[1]);
    browser.click("#pretranslate").await;
}

#[tokio::test]
async fn webapp_asks_for_a_key_and_offers_a_read_only_key_no_writes() {
    const ADMIN: &str = "admin-secret-0123456789";
    const READER: &str = "reader-secret-0123456789";
    let keys = format!("admin:{ADMIN}:admin reader:{READER}:read@news");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_env(dir.path(), &["--no-sample"], &[("DHAKIRA_API_KEYS", keys.as_str())]);
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 30);
    let units = pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect();
    let mut request = tonic::Request::new(AddUnitsRequest { units });
    request.metadata_mut().insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    let ids = client.add_units(request).await.unwrap().into_inner().unit_ids;

    // The page loads without a key, and asks for one.
    let page = send(&server, "GET", "/", None, "").await;
    assert_eq!(page.status, 200);
    let Some(browser) = Browser::open().await else { return };
    browser.open_app(&server, "memories").await;
    browser.until("return document.getElementById('key-dialog').open").await;
    browser.screenshot("key-prompt").await;
    // A wrong key: asked again, with the server's reason.
    browser.find("#key-input").await.send_keys("not-a-key-at-all-00000").await.unwrap();
    browser.click("#key-submit").await;
    browser.until("return document.getElementById('key-dialog').open && document.getElementById('key-error').textContent.length > 0").await;
    // The reader's key: the memories it may read, nothing it may not do.
    browser.find("#key-input").await.send_keys(READER).await.unwrap();
    browser.click("#key-submit").await;
    browser.find("#memory-table tr[data-memory='news']").await;
    assert_eq!(browser.find("#who").await.text().await.unwrap(), "Key: reader");
    assert_eq!(browser.eval("return document.querySelectorAll('.delete-memory, #create-memory').length").await, 0);
    browser.open_app(&server, "import").await;
    browser.find("#no-import").await;
    browser.open_app(&server, &format!("units/{}", ids[0])).await;
    browser.find("#read-only").await;
    assert_eq!(browser.eval("return document.querySelectorAll('#unit-save, #unit-delete').length").await, 0);
    assert_eq!(browser.eval("return sessionStorage.getItem('dhakira.key')").await, READER);
    // Every string of the interface is in both languages.
    let missing = browser
        .eval(
            "return import('/app/js/i18n.js').then(({KEYS}) => [...KEYS.en.filter(k => !KEYS.ar.includes(k)), \
             ...KEYS.ar.filter(k => !KEYS.en.includes(k))])",
        )
        .await;
    assert_eq!(missing, json!([]));

    // And the API refuses what the page does not offer.
    let patch = json!({"fields": {"english": "x"}}).to_string();
    let refused = send(&server, "PATCH", &format!("/app/api/units/{}", ids[0]), Some(READER), &patch).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(json_of(&refused)["field"], "unit_id");
    let refused = send(&server, "DELETE", &format!("/app/api/units/{}", ids[0]), Some(READER), "").await;
    assert_eq!(refused.status, 403);
    let refused = send(&server, "DELETE", "/app/api/memories/news", Some(READER), "").await;
    assert_eq!(refused.status, 403);
    assert_eq!(json_of(&refused)["field"], "name");
    let refused = send(&server, "POST", "/app/api/import?memory=news", Some(READER), "a\tb\n").await;
    assert_eq!(refused.status, 403);
    assert_eq!(json_of(&refused)["field"], "options.memory");
    let unknown = send(&server, "GET", "/app/api/session", Some("wrong-key-0123456789"), "").await;
    assert_eq!(unknown.status, 401);
    assert!(json_of(&unknown)["error"].as_str().unwrap().len() > 10);
    let missing = send(&server, "POST", "/app/api/lookup", None, r#"{"text":"x"}"#).await;
    assert_eq!(missing.status, 401);
    // The reader's lookups work; a memory it may not read is refused.
    let lookup = json!({"text": pairs[3].0}).to_string();
    let found = send(&server, "POST", "/app/api/lookup", Some(READER), &lookup).await;
    assert_eq!(json_of(&found)["matches"][0]["unit"]["id"], ids[3].to_string());
    let other = json!({"text": pairs[3].0, "memories": ["secret"]}).to_string();
    let refused = send(&server, "POST", "/app/api/lookup", Some(READER), &other).await;
    assert_eq!(refused.status, 403);
    assert_eq!(json_of(&refused)["field"], "memories[0]");
    let stored = client.stats(tonic::Request::new(StatsRequest {})).await;
    assert!(stored.is_err(), "gRPC without a key is refused too");
}

#[tokio::test]
async fn webapp_shows_stored_markup_as_text_and_never_runs_it() {
    let server = Server::on_temp_db();
    let Some(browser) = Browser::open().await else { return };
    let english = r#"<img src=x onerror="window.__pwned=1"> the council met <script>window.__pwned=2</script>"#;
    let arabic = "اجتمع المجلس <b onclick=\"window.__pwned=3\">اليوم</b> في المدينة";
    let mut client = server.client().await;
    client.add_units(AddUnitsRequest { units: vec![unit(arabic, english, "news")] }).await.unwrap();
    browser.open_app(&server, "lookup").await;
    browser.type_into("#lookup-text", arabic).await;
    browser.click("#lookup-go").await;
    let target = browser.find("#matches .match .target").await;
    assert_eq!(target.prop("textContent").await.unwrap().as_deref(), Some(english));
    browser.open_app(&server, "concordance").await;
    browser.type_into("#concordance-text", "council").await;
    browser.click("#concordance-go").await;
    browser.find("#hits .hit").await;
    assert_eq!(browser.eval("return document.querySelectorAll('main img, main script, main b').length").await, 0);
    assert_eq!(browser.eval("return window.__pwned === undefined").await, true);
}

#[tokio::test]
async fn webapp_files_are_public_with_a_content_security_policy_and_the_api_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let keys = "admin:admin-secret-0123456789:admin";
    let server = Server::start_env(dir.path(), &["--no-sample"], &[("DHAKIRA_API_KEYS", keys)]);
    for path in ["/", "/app/", "/app/js/main.js", "/app/app.css"] {
        let reply = send(&server, "GET", path, None, "").await;
        assert_eq!(reply.status, 200, "{path}");
        let csp = reply.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    }
    let page = send(&server, "GET", "/", None, "").await.body;
    assert!(
        !page.contains("<script>")
            && !page.contains("style=")
            && !page.contains("http://")
            && !page.contains("https://")
    );
    // Nothing else is public.
    assert_eq!(send(&server, "GET", "/app/api/session", None, "").await.status, 401);
    assert_eq!(send(&server, "GET", "/app/secret.txt", None, "").await.status, 401);

    // Bodies past the bounds: 413 in JSON, naming the body, before any of
    // it is read.
    let key = "admin-secret-0123456789";
    for (path, bytes) in [
        ("/app/api/lookup", dhakira::server::MAX_REQUEST_BYTES + 1),
        ("/app/api/import?memory=big", dhakira::server::MAX_UPLOAD_BYTES + 1),
    ] {
        let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\n\
             content-length: {bytes}\r\n\r\n",
            server.addr
        )
        .unwrap();
        // The body is not sent: the declared length is enough to refuse it.
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {}", &answer[..answer.len().min(300)]);
        let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
        let body: Value = serde_json::from_str(body.trim()).unwrap_or_else(|err| panic!("{err}: {body}"));
        assert_eq!(body["field"], "body");
        assert!(
            body["error"].as_str().unwrap().contains(&format!("limit of this route is {} bytes", bytes - 1)),
            "{body}"
        );
    }
    // An import through the API: its rejected units come back as TMX.
    let pairs = corpus_pairs("ntrex128.tsv", 5);
    let tmx = tmx_with_one_bad_unit(&pairs);
    let reply = send(&server, "POST", "/app/api/import?memory=small&format=tmx", Some(key), &tmx).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let last: Value = serde_json::from_str(reply.body.lines().last().unwrap()).unwrap();
    assert_eq!(last["summary"]["added"], 5);
    assert_eq!(last["summary"]["rejected"], 1);
    let rejected = last["rejected_tmx"].as_str().unwrap();
    assert!(rejected.contains("tuid=\"broken\"") && rejected.matches("<tu ").count() == 1, "{rejected}");
}

#[tokio::test]
async fn webapp_silent_uploads_hold_an_upload_place_only_until_the_stream_idle_timeout() {
    // 5 s: on a loaded machine a probe below may take seconds, and the
    // silent uploads must still hold their places then.
    let server = Server::on_temp_db_with(&["--no-sample", "--stream-idle-timeout", "5"]);
    // Two uploads that declare a body and send none.
    let silent_uploads = || -> Vec<std::net::TcpStream> {
        (0..dhakira::server::MAX_UPLOADS)
            .map(|_| {
                let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
                write!(
                    stream,
                    "POST /app/api/import?memory=silent HTTP/1.1\r\nhost: {}\r\ncontent-length: 100\r\n\r\n",
                    server.addr
                )
                .unwrap();
                stream
            })
            .collect()
    };
    // Another upload is refused while they hold both places. The server
    // handles connections concurrently: the probe may reach its handler
    // before a silent upload does and take its place (answered 200, the
    // silent one 503). Then the silent uploads are closed (which frees
    // what they hold) and the scene is set again.
    let started = Instant::now();
    let (silent, busy) = loop {
        let silent = silent_uploads();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reply = send(&server, "POST", "/app/api/import?memory=other&format=tsv", None, "نص\ttext\n").await;
        if reply.status == 503 || started.elapsed() > WAIT {
            break (silent, reply);
        }
        drop(silent);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert!(json_of(&busy)["error"].as_str().unwrap().contains("importing 2 uploads already"), "{}", busy.body);
    // The silent ones are dropped after the idle timeout, with a reason.
    for mut stream in silent {
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("--stream-idle-timeout"), "{answer}");
    }
    // (A text of its own: one of the attempts above may have been taken
    // before the silent uploads held their places.)
    let reply = send(&server, "POST", "/app/api/import?memory=other&format=tsv", None, "نص آخر\tanother text\n").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("\"added\":1"), "{}", reply.body);
    // A page of units is bounded too.
    let page = send(&server, "GET", "/app/api/memories/other/units?limit=500", None, "").await;
    assert_eq!(page.status, 400);
    assert_eq!(json_of(&page)["field"], "limit");
}
