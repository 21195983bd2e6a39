use std::collections::HashMap;
use std::process::Command;

use dhakira::proto::{AddUnitsRequest, GetUnitRequest, LookupRequest, StatsRequest};

use crate::common::{corpus_pairs, unit, Reaped, Server};

#[tokio::test]
async fn acknowledged_units_survive_kill_9_and_graceful_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = corpus_pairs("un_v1_testsets.tsv", 2_000);
    let server = Server::start(dir.path());

    // Eight concurrent writers, 250 units each in batches of 50: group commit
    // at work. Record what was acknowledged.
    let mut tasks = Vec::new();
    for (w, chunk) in pairs.chunks(250).enumerate() {
        let mut client = server.client().await;
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for batch in chunk.chunks(50) {
                let units = batch.iter().map(|(ar, en)| unit(ar, en, &format!("w{w}"))).collect();
                let ids = client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner().unit_ids;
                acked.extend(ids.into_iter().zip(batch.iter().cloned()));
            }
            acked
        }));
    }
    let mut acknowledged: HashMap<u64, (String, String)> = HashMap::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    let stored = acknowledged.len() as u64;
    server.kill();

    let server = Server::start(dir.path());
    let mut client = server.client().await;
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, stored);
    for (&id, (arabic, english)) in &acknowledged {
        let unit = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap().into_inner();
        assert_eq!((&unit.arabic, &unit.english), (arabic, english));
    }
    // The index was rebuilt: lookups find the units again.
    let (arabic, _) = &pairs[1234];
    let best = client
        .lookup(LookupRequest { text: arabic.clone(), source_lang: "ar".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .matches
        .remove(0);
    assert_eq!((best.score, &best.source), (100, arabic));

    // Retrying after the crash adds nothing.
    let retry = pairs[..50].iter().map(|(ar, en)| unit(ar, en, "w0")).collect();
    let again = client.add_units(AddUnitsRequest { units: retry }).await.unwrap().into_inner();
    assert_eq!((again.added, again.duplicates), (0, 50));

    drop(client);
    let status = server.terminate().await;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let server = Server::start(dir.path());
    let mut client = server.client().await;
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, stored);
}

#[tokio::test]
async fn a_locked_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _server = Server::start(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_dhakira")).arg("stats").arg("--db").arg(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is in use by another process"), "{stderr}");
}

#[tokio::test]
async fn an_empty_database_gets_the_bundled_sample() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[]);
    let mut client = server.client().await;
    let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.memories.len(), 1);
    assert_eq!(stats.memories[0].name, "sample");
    assert_eq!(stats.total_units, 539);
    let matches = client
        .lookup(LookupRequest { text: "Is that your car?".into(), source_lang: "en".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .matches;
    assert_eq!(matches[0].target, "هل تلك سيارتك؟");
    // The command line asks the running server (the database is locked).
    let output = Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["lookup", "هل تلك سيارتك", "--lang", "ar", "--server", &format!("http://{}", server.addr)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with(" 99  #"), "{stdout}");
    assert!(stdout.contains("→ Is that your car?\n     −1 punctuation: differs in punctuation"), "{stdout}");
    drop(server);
    // Loaded once: a restart on the same database adds nothing.
    let server = Server::start_with(dir.path(), &[]);
    let mut client = server.client().await;
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 539);
}

#[test]
fn offline_import_and_lookup_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let tsv = crate::common::corpus_dir().join("flores200_devtest.tsv");
    let dhakira = env!("CARGO_BIN_EXE_dhakira");
    let output = Command::new(dhakira)
        .arg("import")
        .arg(&tsv)
        .arg("--db")
        .arg(&db)
        .args(["--memory", "flores"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("707 read: 707 added, 0 updated, 0 duplicates skipped, 0 rejected"), "{stdout}");

    let (arabic, english) = corpus_pairs("flores200_devtest.tsv", 1).remove(0);
    let output = Command::new(dhakira).args(["lookup", &arabic, "--lang", "ar", "--db"]).arg(&db).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.starts_with("100  #"), "{stdout}");
    assert!(stdout.contains(&english), "{stdout}");

    let output = Command::new(dhakira).args(["stats", "--db"]).arg(&db).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "flores\t707\ntotal\t707\n");

    let output = Command::new(dhakira).args(["lookup", "x", "--lang", "xx", "--db"]).arg(&db).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("dhakira: error: --lang: unknown language \"xx\""));

    // A mistyped --db is an error, not an empty memory.
    let missing = dir.path().join("typo");
    let output = Command::new(dhakira).args(["stats", "--db"]).arg(&missing).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no database at"));
    assert!(!missing.exists());
}

#[tokio::test]
async fn import_and_export_from_the_command_line_offline_and_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let dhakira = env!("CARGO_BIN_EXE_dhakira");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tmx");
    let db = dir.path().join("db");
    let rejected = dir.path().join("rejected.tmx");
    let run = |args: &[&std::ffi::OsStr]| {
        let output = Command::new(dhakira).args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let (code, stdout) = run(&[
        &os("import"),
        data.join("rejected_units.tmx").as_os_str(),
        &os("--db"),
        db.as_os_str(),
        &os("--rejected"),
        rejected.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("6 read: 2 added, 0 updated, 0 duplicates skipped, 4 rejected"), "{stdout}");
    assert!(stdout.contains("rejected: line 10 (tuid nul-ref): "), "{stdout}");
    let copy = std::fs::read_to_string(&rejected).unwrap();
    assert_eq!(copy.matches("<tu ").count(), 4, "{copy}");

    // A CSV: its rejected records, after the header, quoted as they need.
    let csv = dir.path().join("pairs.csv");
    std::fs::write(&csv, "english,arabic,client\nHello,مرحبا,acme\n\"Bad, \"\"empty\"\"\",,acme\n").unwrap();
    let rejected_csv = dir.path().join("rejected.csv");
    let (code, stdout) = run(&[
        &os("import"),
        csv.as_os_str(),
        &os("--db"),
        db.as_os_str(),
        &os("--memory"),
        &os("csv"),
        &os("--rejected"),
        rejected_csv.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("rejected: line 3: arabic: must not be empty"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&rejected_csv).unwrap(),
        "english,arabic,client\n\"Bad, \"\"empty\"\"\",,acme\n"
    );

    // Broken XML: what came before is stored, the exit code says it stopped.
    let (code, stdout) =
        run(&[&os("import"), data.join("broken_mismatched.tmx").as_os_str(), &os("--db"), db.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("stopped: line 20, column 35: "), "{stdout}");

    let exported = dir.path().join("out.tmx");
    let (code, stdout) = run(&[&os("export"), &os("--out"), exported.as_os_str(), &os("--db"), db.as_os_str()]);
    // 6: the broken file's b1 and b2 hold the texts of ok1 and ok2 under
    // other tuids, so they are other units (issue 21, finding 2).
    assert_eq!((code, stdout.trim()), (Some(0), format!("6 units written to {}", exported.display()).as_str()));

    // The same file into a running server, then exported from it.
    let server = Server::on_temp_db();
    let url = format!("http://{}", server.addr);
    let (code, stdout) =
        run(&[&os("import"), exported.as_os_str(), &os("--server"), &os(&url), &os("--policy"), &os("keep-newest")]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("6 read: 6 added, 0 updated, 0 duplicates skipped, 0 rejected"), "{stdout}");
    let again = dir.path().join("again.tmx");
    let (code, _) = run(&[&os("export"), &os("--out"), again.as_os_str(), &os("--server"), &os(&url)]);
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&exported).unwrap());
    let mut client = server.client().await;
    let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
    let memories: Vec<(&str, u64)> = stats.memories.iter().map(|m| (m.name.as_str(), m.units)).collect();
    assert_eq!(memories, [("csv", 1), ("default", 5)]);
}

#[test]
fn json_logs_have_one_line_per_request_with_its_status_and_latency() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let dhakira = env!("CARGO_BIN_EXE_dhakira");
    let mut child = Reaped(
        Command::new(dhakira)
            .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--db"])
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("dhakira listening on ").unwrap().to_owned();
    for min_score in ["70", "500"] {
        let args = ["lookup", "هل تلك سيارتك", "--lang", "ar", "--min-score", min_score, "--server", &addr];
        Command::new(dhakira).args(args).output().unwrap();
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(child.wait().unwrap().success());
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|err| panic!("{err}: {l}"))).collect();
    let requests: Vec<&serde_json::Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(requests.len(), 2, "{stderr}");
    assert_eq!((requests[0]["method"].as_str(), requests[0]["code"].as_str()), (Some("Lookup"), Some("OK")));
    assert_eq!(requests[1]["code"], "INVALID_ARGUMENT");
    assert!(requests[0]["ms"].as_f64().unwrap() > 0.0);
    assert!(lines.iter().any(|l| l["message"] == "database open"), "{stderr}");
}

#[tokio::test]
async fn a_toml_file_configures_serve_and_flags_and_variables_win_over_it() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config");
    let config = dir.path().join("dhakira.toml");
    std::fs::write(
        &config,
        format!("addr = \"127.0.0.1:0\"\ndb = {:?}\nno_sample = true\ndrain_seconds = 3\nlog_format = \"json\"\n", db),
    )
    .unwrap();
    let dhakira = env!("CARGO_BIN_EXE_dhakira");
    let start = |extra: &[&str], env: &[(&str, &str)]| {
        let mut child = Reaped(
            Command::new(dhakira)
                .args(["serve", "--config"])
                .arg(&config)
                .args(extra)
                .envs(env.iter().copied())
                .env("RUST_LOG", "info")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("dhakira listening on ").unwrap_or_else(|| panic!("{line:?}")).to_owned();
        let mut first_log = String::new();
        BufReader::new(child.stderr.take().unwrap()).read_line(&mut first_log).unwrap();
        (child, addr, first_log)
    };

    // The file's values: a JSON log, its database, no sample. (Its stderr
    // is closed after one line: the server must go on serving.)
    let (child, addr, first_log) = start(&[], &[]);
    assert!(serde_json::from_str::<serde_json::Value>(&first_log).is_ok(), "{first_log}");
    let mut client = dhakira::server::connect(&format!("http://{addr}")).await.unwrap();
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 0);
    assert!(db.exists());
    drop(child);

    // A variable and a flag win over the file.
    let other = dir.path().join("from-flag");
    let (child, _, first_log) = start(&["--db", other.to_str().unwrap()], &[("DHAKIRA_LOG_FORMAT", "text")]);
    assert!(serde_json::from_str::<serde_json::Value>(&first_log).is_err(), "{first_log}");
    drop(child);
    assert!(other.exists());

    // A key the file may not hold is an error that names it.
    std::fs::write(&config, "adress = \"127.0.0.1:0\"\n").unwrap();
    let output = Command::new(dhakira).args(["serve", "--config"]).arg(&config).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown field `adress`"), "{stderr}");
}

/// Issue 21, finding 5: a TMX with no Arabic–English pair (Arabic and
/// French) is one file-level error, the import exits 1, and no database is
/// left behind; importing a file again (all duplicates) still succeeds.
#[test]
fn a_file_without_an_arabic_english_pair_fails_once_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tmx/arabic_french_only.tmx");
    let output =
        Command::new(env!("CARGO_BIN_EXE_dhakira")).arg("import").arg(&fixture).arg("--db").arg(&db).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("stopped: no unit holds both Arabic and English; the file has ar, fr, fr-fr (3 units)"),
        "{stdout}"
    );
    assert!(!stdout.contains("rejected: line"), "rejections listed one by one: {stdout}");
    assert!(stdout.contains("no database was created"), "{stdout}");
    assert!(!db.exists(), "an empty database was left at {}", db.display());

    let tsv = crate::common::corpus_dir().join("flores200_devtest.tsv");
    for round in 0..2 {
        let output =
            Command::new(env!("CARGO_BIN_EXE_dhakira")).arg("import").arg(&tsv).arg("--db").arg(&db).output().unwrap();
        assert!(output.status.success(), "round {round}: {}", String::from_utf8_lossy(&output.stdout));
    }
}

/// The index kept with the database (`dhakira-index`): a graceful stop
/// keeps it and the next start reads it; the first write deletes it, so a
/// kill -9 after writes makes the next start build the index from the
/// units; a writer idle for `DHAKIRA_INDEX_IDLE_MS` keeps it by itself, and
/// a start after a kill -9 then reads it. Every start finds every unit.
#[tokio::test]
async fn the_kept_index_is_read_at_start_and_never_outlives_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let file = dir.path().join(dhakira::store::INDEX_FILE);
    let pairs = corpus_pairs("un_v1_testsets.tsv", 2_500);
    let log = |n: usize| logs.path().join(format!("{n}.log"));
    let read_log = |n: usize| std::fs::read_to_string(log(n)).unwrap();
    let no_idle_save = [("DHAKIRA_INDEX_IDLE_MS", "3600000")];
    async fn best(client: &mut crate::common::Client, text: &str) -> u32 {
        let request = LookupRequest { text: text.into(), source_lang: "ar".into(), ..Default::default() };
        client.lookup(request).await.unwrap().into_inner().matches.first().map_or(0, |m| m.score)
    }
    async fn add(client: &mut crate::common::Client, pairs: &[(String, String)]) {
        for batch in pairs.chunks(500) {
            let units = batch.iter().map(|(ar, en)| unit(ar, en, "news")).collect();
            client.add_units(AddUnitsRequest { units }).await.unwrap();
        }
    }

    // 1. A new database: the index is built; a graceful stop keeps it.
    let server = Server::start_logged(dir.path(), &no_idle_save, &log(1));
    let mut client = server.client().await;
    add(&mut client, &pairs[..2_000]).await;
    let stored = client.stats(StatsRequest {}).await.unwrap().into_inner().total_units;
    assert!(stored > 1_900, "{stored} units");
    assert!(!file.exists(), "not kept while the writer is busy or idle for less than the hour");
    drop(client);
    assert!(server.terminate().await.success());
    assert!(file.exists(), "a graceful stop keeps the index: {}", read_log(1));
    assert!(read_log(1).contains("index saved"), "{}", read_log(1));

    // 2. The next start reads it.
    let server = Server::start_logged(dir.path(), &no_idle_save, &log(2));
    let mut client = server.client().await;
    assert!(read_log(2).contains("index read from the saved one"), "{}", read_log(2));
    assert!(!read_log(2).contains("index built"), "{}", read_log(2));
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, stored);
    assert_eq!(best(&mut client, &pairs[1_234].0).await, 100);

    // 3. A write deletes it before it lands; a kill -9 keeps nothing.
    add(&mut client, &pairs[2_000..2_400]).await;
    assert!(!file.exists(), "the first write deletes the kept index");
    let stored = client.stats(StatsRequest {}).await.unwrap().into_inner().total_units;
    drop(client);
    server.kill();

    // 4. So the next start builds the index, with the last units in it;
    // idle for 300 ms, the writer keeps it by itself.
    let server = Server::start_logged(dir.path(), &[("DHAKIRA_INDEX_IDLE_MS", "300")], &log(4));
    let mut client = server.client().await;
    assert!(read_log(4).contains("index built"), "{}", read_log(4));
    assert_eq!(best(&mut client, &pairs[2_345].0).await, 100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !read_log(4).contains("index saved") {
        assert!(std::time::Instant::now() < deadline, "never kept while idle: {}", read_log(4));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(file.exists());
    drop(client);
    server.kill();

    // 5. Kept while idle, it survives a kill -9 and is read.
    let server = Server::start_logged(dir.path(), &no_idle_save, &log(5));
    let mut client = server.client().await;
    assert!(read_log(5).contains("index read from the saved one"), "{}", read_log(5));
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, stored);
    assert_eq!(best(&mut client, &pairs[2_345].0).await, 100);
    // The units beyond it too: a write after the read index goes in.
    add(&mut client, &pairs[2_400..]).await;
    assert_eq!(best(&mut client, &pairs[2_450].0).await, 100);
}

/// Many small writes leave many small index segments; once the writes
/// pause (`DHAKIRA_INDEX_IDLE_MS`), the writer merges them on a thread of
/// its own, one run per pause, and every unit is found as before; a later
/// pause keeps the merged index, which the next start reads.
#[tokio::test]
async fn small_segments_are_merged_once_the_writes_pause() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("merge.log");
    let read_log = || std::fs::read_to_string(&log).unwrap();
    let pairs = corpus_pairs("un_v1_testsets.tsv", 600);
    let server = Server::start_logged(dir.path(), &[("DHAKIRA_INDEX_IDLE_MS", "300")], &log);
    let mut client = server.client().await;
    async fn best(client: &mut crate::common::Client, text: &str) -> Vec<(u64, u32)> {
        let request = LookupRequest { text: text.into(), source_lang: "ar".into(), ..Default::default() };
        client.lookup(request).await.unwrap().into_inner().matches.iter().map(|m| (m.unit_id, m.score)).collect()
    }
    // One request (one group, one segment) after another, never 300 ms apart.
    for batch in pairs.chunks(10) {
        let units = batch.iter().map(|(ar, en)| unit(ar, en, "news")).collect();
        client.add_units(AddUnitsRequest { units }).await.unwrap();
    }
    let mut expected = Vec::new();
    for (arabic, _) in pairs.iter().step_by(40) {
        let found = best(&mut client, arabic).await;
        assert_eq!(found.first().map(|&(_, score)| score), Some(100), "{arabic}");
        expected.push(found);
    }
    // The merged line names how many segments it merged: the 60 groups of
    // 10 left more than 5 (tiers of 8: segments of 80 and of 10).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let merged = loop {
        let log = read_log();
        if let Some(line) = log.lines().find(|l| l.contains("segments merged once the writes paused")) {
            break line.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "never merged while idle: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(merged.contains("merged=true"), "{merged}");
    let count: usize =
        merged.split("segments_merged=").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    assert!(count > 5, "{merged}");
    assert!(merged.contains("units=600"), "{merged}");
    for ((arabic, _), want) in pairs.iter().step_by(40).zip(&expected) {
        assert_eq!(&best(&mut client, arabic).await, want, "{arabic}");
    }
    // The next pause keeps the merged index (no save ran before the merge
    // was in place), and a start after a kill -9 reads it in one segment.
    while !read_log().contains("index saved") {
        assert!(std::time::Instant::now() < deadline, "never kept while idle: {}", read_log());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let saved = read_log();
    assert!(saved.find("segments merged once").unwrap() < saved.find("index saved").unwrap(), "{saved}");
    drop(client);
    server.kill();
    let log = logs.path().join("after.log");
    let server = Server::start_logged(dir.path(), &[("DHAKIRA_INDEX_IDLE_MS", "3600000")], &log);
    let mut client = server.client().await;
    let started = std::fs::read_to_string(&log).unwrap();
    let read =
        started.lines().find(|l| l.contains("index read from the saved one")).unwrap_or_else(|| panic!("{started}"));
    assert!(read.contains("segments=1 "), "{read}");
    for ((arabic, _), want) in pairs.iter().step_by(40).zip(&expected) {
        assert_eq!(&best(&mut client, arabic).await, want, "{arabic}");
    }
}
