//! The command line as a new user meets it: every example in README.md run
//! as written, with the output README shows; `stats --server`; a closed
//! pipe; what a refused connection says; log lines written to a pipe.
//!
//! README's examples are run by these rules (README's "Development" says so
//! too):
//! - Every ```sh block is run, in order, in one scratch folder in which
//!   `data` is the repository's `data/`, with `dhakira` on the `PATH` (the
//!   binary under test). Lines ending in `\` continue; `#` lines and a
//!   trailing `   # comment` are not part of a command. Every command must
//!   exit 0.
//! - The first block is the set-up block: `cargo run --release -- serve` and
//!   `cargo test`. It is not run (this test is part of `cargo test`); the
//!   server it starts is what blocks marked `<!-- readme: server -->` talk
//!   to: the harness runs `dhakira serve` in the scratch folder (the default
//!   database `dhakira-data`, with the bundled sample), and
//!   `127.0.0.1:50051` in those blocks means its address.
//! - A block marked `<!-- readme: skip (why) -->` is not run.
//! - A ```text block is the output of the ```sh block before it: each of its
//!   lines must appear in that output (stdout, then stderr, of each command
//!   in turn), in order. Durations (`0.0 s`) may differ.
//! - `grpcurl` is not installed here: its `Lookup` example is sent with the
//!   generated client instead (same JSON fields) and must find a match; its
//!   `list` line is checked by asking the server's reflection service
//!   through the same channel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dhakira::proto::LookupRequest;

use crate::common::Server;

#[derive(Debug)]
struct Block {
    /// The fence's info string: `sh`, `text`, `toml`…
    lang: String,
    /// `<!-- readme: … -->` on the line before the fence.
    directive: Option<String>,
    lines: Vec<String>,
    /// README's line number of the fence.
    line: usize,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    let mut previous = "";
    for (n, line) in readme.lines().enumerate() {
        if let Some(block) = current.as_mut() {
            if line.starts_with("```") {
                blocks.push(current.take().unwrap());
            } else {
                block.lines.push(line.to_owned());
            }
        } else if let Some(lang) = line.strip_prefix("```") {
            let directive = previous
                .trim()
                .strip_prefix("<!-- readme:")
                .and_then(|rest| rest.strip_suffix("-->"))
                .map(|d| d.trim().to_owned());
            current = Some(Block { lang: lang.trim().to_owned(), directive, lines: Vec::new(), line: n + 1 });
        }
        previous = line;
    }
    assert!(current.is_none(), "README.md ends inside a fenced block");
    blocks
}

/// The commands of an sh block: continuations joined, comments dropped.
fn commands(block: &Block) -> Vec<String> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in &block.lines {
        let line = line.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let command = match pending.find("   # ") {
            Some(at) => pending[..at].trim_end().to_owned(),
            None => pending.trim_end().to_owned(),
        };
        commands.push(command);
        pending.clear();
    }
    assert!(pending.is_empty(), "README.md line {}: a command ends with `\\`", block.line);
    commands
}

/// `in 0.0 s` and `in 12.3 s` compare equal.
fn mask_durations(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let is_number = !word.is_empty() && word.chars().all(|c| c.is_ascii_digit() || c == '.');
        let seconds = words.get(i + 1).is_some_and(|next| *next == "s" || next.starts_with("s,"));
        out.push(if is_number && seconds { "<t>" } else { word });
    }
    out.join(" ").trim_end().to_owned()
}

/// The JSON after `-d '` in a grpcurl command.
fn grpcurl_body(command: &str) -> serde_json::Value {
    let start = command.find("-d '").expect("a grpcurl Lookup with -d") + 4;
    let end = start + command[start..].find('\'').expect("the closing quote of -d");
    serde_json::from_str(&command[start..end]).expect("grpcurl's -d is JSON")
}

struct Harness {
    scratch: tempfile::TempDir,
    bin: PathBuf,
    server: Server,
}

impl Harness {
    fn run(&self, command: &str, at: usize) -> String {
        let command = command.replace("127.0.0.1:50051", &self.server.addr);
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap_or_default());
        let output = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(self.scratch.path())
            .env("PATH", path)
            .env_remove("DHAKIRA_DB")
            .env_remove("DHAKIRA_API_KEY")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            output.status.success(),
            "README.md line {at}: `{command}` exited with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        stdout + &stderr
    }

    async fn grpcurl(&self, command: &str, at: usize) {
        let mut client = self.server.client().await;
        if command.ends_with(" list") {
            let services = reflection_services(&self.server.addr).await;
            assert!(
                services.iter().any(|s| s == "dhakira.v1.TranslationMemory"),
                "README.md line {at}: reflection lists {services:?}"
            );
            return;
        }
        assert!(command.ends_with("dhakira.v1.TranslationMemory/Lookup"), "README.md line {at}: {command}");
        let body = grpcurl_body(command);
        let request = LookupRequest {
            text: body["text"].as_str().unwrap().to_owned(),
            source_lang: body["source_lang"].as_str().unwrap().to_owned(),
            min_score: body["min_score"].as_u64().map(|s| s as u32),
            ..Default::default()
        };
        let matches = client.lookup(request).await.unwrap().into_inner().matches;
        assert!(!matches.is_empty(), "README.md line {at}: the grpcurl Lookup finds nothing on the sample");
    }
}

/// The services the server's reflection (v1) lists.
async fn reflection_services(addr: &str) -> Vec<String> {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let answer = answers.message().await.unwrap().expect("one reflection answer");
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("reflection answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_example_runs_and_prints_what_readme_shows() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let blocks = blocks(&readme);

    // The set-up block: README starts with it, exactly.
    let setup = &blocks[0];
    assert_eq!(setup.lang, "sh");
    assert_eq!(
        setup.lines,
        ["cargo run --release -- serve", "cargo test"],
        "README.md must start with the two set-up commands"
    );
    assert!(readme.trim_start().starts_with("# Dhakira") && readme.find("```sh") < readme.find("\n## "));

    let scratch = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo.join("data"), scratch.path().join("data")).unwrap();
    let bin = scratch.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_dhakira"), bin.join("dhakira")).unwrap();
    // What the set-up command starts: `serve` in the folder, on its default
    // database (with the sample), on a free port instead of 50051.
    let server = Server::start_with(&scratch.path().join("dhakira-data"), &[]);
    let harness = Harness { scratch, bin, server };

    let mut ran = 0;
    let mut output: Option<(usize, String)> = None;
    for block in &blocks[1..] {
        match block.lang.as_str() {
            "sh" => {
                if let Some(why) = block.directive.as_deref().and_then(|d| d.strip_prefix("skip")) {
                    assert!(why.trim().len() > 3, "README.md line {}: a skipped block says why", block.line);
                    output = None;
                    continue;
                }
                let server = block.directive.as_deref() == Some("server");
                let mut printed = String::new();
                for command in commands(block) {
                    let uses_server = command.contains("127.0.0.1:50051");
                    assert!(
                        !uses_server || server,
                        "README.md line {}: `{command}` talks to the server: mark the block <!-- readme: server -->",
                        block.line
                    );
                    if command.starts_with("grpcurl ") {
                        harness.grpcurl(&command, block.line).await;
                    } else {
                        assert!(command.starts_with("dhakira "), "README.md line {}: `{command}`", block.line);
                        printed += &harness.run(&command, block.line);
                    }
                    ran += 1;
                }
                output = Some((block.line, printed));
            }
            "text" => {
                let (at, printed) = output.take().unwrap_or_else(|| {
                    panic!("README.md line {}: a text block follows no example it could be the output of", block.line)
                });
                let printed: Vec<String> = printed.lines().map(mask_durations).collect();
                let mut rest = printed.iter();
                for expected in block.lines.iter().map(|l| mask_durations(l)) {
                    assert!(
                        rest.any(|line| *line == expected),
                        "README.md line {}: the example at line {at} does not print\n  {expected}\n(in this order); it printed:\n{}",
                        block.line,
                        printed.join("\n")
                    );
                }
            }
            _ => {}
        }
    }
    assert!(ran >= 12, "only {ran} README commands ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_over_the_server_counts_what_the_database_holds() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = crate::common::corpus_pairs("flores200_devtest.tsv", 30);
    let units = pairs
        .iter()
        .enumerate()
        .map(|(i, (ar, en))| crate::common::unit(ar, en, if i % 3 == 0 { "a" } else { "b" }))
        .collect();
    client.add_units(dhakira::proto::AddUnitsRequest { units }).await.unwrap();
    let output =
        Command::new(env!("CARGO_BIN_EXE_dhakira")).args(["stats", "--server", &server.addr]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "a\t10\nb\t20\ntotal\t30\n");
}

#[test]
fn a_refused_connection_is_said_once_with_what_to_check() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = format!("127.0.0.1:{port}");
    for args in [vec!["stats", "--server", &server], vec!["lookup", "نص", "--lang", "ar", "--server", &server]] {
        let output = Command::new(env!("CARGO_BIN_EXE_dhakira")).args(&args).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("dhakira: error: cannot connect to http://{server}: ")), "{stderr}");
        assert_eq!(stderr.matches("onnection refused").count(), 1, "{stderr}");
        assert!(stderr.contains("check that `dhakira serve` runs there"), "{stderr}");
    }
}

#[test]
fn a_reader_that_stops_reading_ends_lookup_quietly() {
    let db = tempfile::tempdir().unwrap();
    let tsv = crate::common::corpus_dir().join("tatoeba.tsv");
    let import = Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .arg("import")
        .arg(&tsv)
        .arg("--db")
        .arg(db.path())
        .output()
        .unwrap();
    assert!(import.status.success());
    for args in
        [vec!["lookup", "Is that your car?", "--lang", "en", "--min-score", "0", "--max-results", "100"], vec!["stats"]]
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dhakira"))
            .args(&args)
            .arg("--db")
            .arg(db.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written (as `head -1`
        // does once it has its line): every write fails with EPIPE.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(output.status.success(), "{args:?}: {:?} {stderr}", output.status);
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_pipe_are_plain_text_with_milliseconds_to_the_microsecond() {
    use std::io::{BufRead, BufReader};
    let db = tempfile::tempdir().unwrap();
    let mut child = crate::common::Reaped(
        Command::new(env!("CARGO_BIN_EXE_dhakira"))
            .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--db"])
            .arg(db.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("dhakira listening on ").unwrap().to_owned();
    let mut client = dhakira::server::connect(&format!("http://{addr}")).await.unwrap();
    client.stats(dhakira::proto::StatsRequest {}).await.unwrap();
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut request_line = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        assert!(!line.contains('\u{1b}'), "an escape code in a log line written to a pipe: {line:?}");
        if line.contains("request") && line.contains("method=\"Stats\"") || line.contains("method=Stats") {
            request_line = Some(line);
            break;
        }
    }
    let line = request_line.expect("the request's log line");
    let ms = line.split(' ').find_map(|field| field.strip_prefix("ms=")).unwrap_or_else(|| panic!("{line}"));
    let decimals = ms.split_once('.').map_or(0, |(_, d)| d.len());
    assert!(ms.parse::<f64>().is_ok() && decimals <= 3, "ms={ms} in {line}");
}
