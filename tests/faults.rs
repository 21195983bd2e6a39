//! Faults: a full disk (a small tmpfs), a database directory that cannot be
//! written, and damage to what is stored (a unit's bytes, acknowledged
//! writes gone missing). Mounting a tmpfs needs root, which the CI machine
//! has; where it cannot be mounted the disk tests fail, unless
//! `DHAKIRA_SKIP_TMPFS_TESTS=1` says to skip them (CI never sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use dhakira::proto::{AddUnitsRequest, LookupRequest, StatsRequest, UnitInput};
use tonic::Code;

use crate::common::{corpus_pairs, unit, Server};

/// A tmpfs of `mb` MiB mounted in a temporary directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` only when the skip variable is set and no tmpfs could be
    /// mounted; otherwise a mount failure fails the test.
    fn mount(mb: u32, options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m{options}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(status) if status.success() => Some(Tmpfs { dir }),
            failed => {
                if std::env::var("DHAKIRA_SKIP_TMPFS_TESTS").is_ok_and(|v| v == "1") {
                    eprintln!("SKIPPED (DHAKIRA_SKIP_TMPFS_TESTS=1): cannot mount a tmpfs here: {failed:?}");
                    return None;
                }
                panic!(
                    "cannot mount a tmpfs ({failed:?}): the disk tests need root (CI runs as root); \
                     set DHAKIRA_SKIP_TMPFS_TESTS=1 to skip them knowingly"
                )
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Leaves about `mb` MiB free, with a filler file.
    fn fill_until(&self, mb: u64) -> PathBuf {
        self.fill_until_bytes(mb << 20)
    }

    /// Leaves about `bytes` free, with a filler file.
    fn fill_until_bytes(&self, bytes: u64) -> PathBuf {
        let stat = rustix::fs::statvfs(self.path()).unwrap();
        let free = stat.f_bavail * stat.f_frsize;
        let filler = self.path().join("filler");
        let size = free.saturating_sub(bytes);
        std::fs::write(&filler, vec![7u8; size as usize]).unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn units(pairs: &[(String, String)], memory: &str) -> Vec<UnitInput> {
    pairs.iter().map(|(a, e)| unit(a, e, memory)).collect()
}

#[tokio::test]
async fn a_full_disk_refuses_writes_with_resource_exhausted_keeps_reads_and_resumes() {
    let Some(disk) = Tmpfs::mount(48, "") else { return };
    let pairs = corpus_pairs("tico19_test.tsv", 1300);
    let server = Server::start_env(
        &disk.path().join("db"),
        &["--no-sample"],
        &[("DHAKIRA_MIN_FREE_MB", "16"), ("RUST_LOG", "off")],
    );
    let mut client = server.client().await;
    client.add_units(AddUnitsRequest { units: units(&pairs[..400], "before") }).await.unwrap();

    let filler = disk.fill_until(10);
    let status = client.add_units(AddUnitsRequest { units: units(&pairs[400..800], "during") }).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    assert!(status.message().starts_with("the disk is full: "), "{}", status.message());
    assert!(status.message().contains("reads still work"), "{}", status.message());
    // Reads go on.
    let lookup = LookupRequest { text: pairs[7].1.clone(), source_lang: "en".into(), ..Default::default() };
    let best = client.lookup(lookup).await.unwrap().into_inner().matches.remove(0);
    assert_eq!((best.score, best.target.as_str()), (100, pairs[7].0.as_str()));
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 400);

    // Space returns: so do writes.
    std::fs::remove_file(filler).unwrap();
    let added = client.add_units(AddUnitsRequest { units: units(&pairs[400..800], "after") }).await.unwrap();
    assert_eq!(added.into_inner().added, 400);
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 800);
    drop(server);
}

#[tokio::test]
async fn running_out_of_space_inside_the_storage_engine_loses_nothing_acknowledged() {
    // No reserve: sled itself meets the full disk.
    let Some(disk) = Tmpfs::mount(24, "") else { return };
    let db = disk.path().join("db");
    let pairs = corpus_pairs("ntrex128.tsv", 1377);
    let server = Server::start_env(&db, &["--no-sample"], &[("DHAKIRA_MIN_FREE_MB", "0"), ("RUST_LOG", "off")]);
    let mut client = server.client().await;
    let add = |chunk: &[(String, String)]| AddUnitsRequest { units: units(chunk, "news") };
    let mut acknowledged = client.add_units(add(&pairs[..300])).await.unwrap().into_inner().unit_ids;
    let filler = disk.fill_until(0);
    let mut refused = 0;
    for chunk in pairs[300..1300].chunks(100) {
        match client.add_units(add(chunk)).await {
            Ok(added) => acknowledged.extend(added.into_inner().unit_ids),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the disk never filled up");
    // While the disk stays full, reads go on: lookups (which load their
    // matches from the store), GetUnit and Export; and another write is
    // refused the same way without taking them down.
    for round in 0..2 {
        let (arabic, english) = &pairs[7];
        let lookup = LookupRequest { text: english.clone(), source_lang: "en".into(), ..Default::default() };
        let best = client.lookup(lookup).await.unwrap().into_inner().matches.remove(0);
        assert_eq!((best.score, best.target.as_str()), (100, arabic.as_str()), "round {round}");
        let unit = client.get_unit(dhakira::proto::GetUnitRequest { unit_id: acknowledged[5] }).await.unwrap();
        assert_eq!(unit.into_inner().english, pairs[5].1, "round {round}");
        let mut stream = client.export(dhakira::proto::ExportRequest::default()).await.unwrap().into_inner();
        let mut tmx = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            tmx.extend_from_slice(&chunk.data);
        }
        let exported = String::from_utf8(tmx).unwrap().matches("<tu ").count();
        assert_eq!(exported, acknowledged.len(), "round {round}");
        let status = client.add_units(add(&pairs[1300..1310])).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
        assert!(status.message().contains("writes resume once 8 MiB are free"), "{}", status.message());
        assert!(status.message().contains("reads still work"), "{}", status.message());
    }
    std::fs::remove_file(filler).unwrap();
    // Writes resume once there is space, on a reopened database.
    let retried = client.add_units(add(&pairs[1300..])).await.unwrap().into_inner();
    assert_eq!(retried.added, 77);
    acknowledged.extend(retried.unit_ids);
    // The reserve that let the database reopen on the full disk is back.
    assert_eq!(std::fs::metadata(db.join("dhakira-reserve")).unwrap().len(), 8 << 20);
    drop(server);
    // Every acknowledged unit is there after a restart.
    let server = Server::start_env(&db, &["--no-sample"], &[("DHAKIRA_MIN_FREE_MB", "0"), ("RUST_LOG", "off")]);
    let mut client = server.client().await;
    for id in &acknowledged {
        let found = client.get_unit(dhakira::proto::GetUnitRequest { unit_id: *id }).await;
        assert!(found.is_ok(), "acknowledged unit {id} is missing: {found:?}");
    }
    let total = client.stats(StatsRequest {}).await.unwrap().into_inner().total_units as usize;
    assert_eq!(total, acknowledged.len());
}

#[test]
fn a_directory_that_cannot_be_written_is_a_clear_start_up_error() {
    let start = |db: &Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_dhakira"))
            .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--db"])
            .arg(db)
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = start(Path::new("/proc/no-such-place/db"));
    assert!(stderr.contains("cannot open the database at /proc/no-such-place/db"), "{stderr}");
    assert!(stderr.contains("--db must name a directory this process can create and write"), "{stderr}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let stderr = start(file.path());
    assert!(stderr.contains("Not a directory"), "{stderr}");
    if let Some(read_only) = Tmpfs::mount(1, ",ro") {
        let stderr = start(&read_only.path().join("db"));
        assert!(stderr.contains("Read-only file system"), "{stderr}");
    }
}

/// Starts a server that must refuse the database: its error output.
fn refused(db: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(!output.status.success(), "a damaged database was served");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Opens the sled database of a stopped server directly, once its lock is
/// released.
fn raw_sled(db: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(db) {
            Ok(raw) => return raw,
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(err) => panic!("{err}"),
        }
    }
}

#[tokio::test]
async fn a_damaged_unit_is_detected_at_start_up_and_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let server = Server::start(&db);
    let mut client = server.client().await;
    let ids = client
        .add_units(AddUnitsRequest { units: units(&corpus_pairs("flores200_devtest.tsv", 50), "news") })
        .await
        .unwrap()
        .into_inner()
        .unit_ids;
    assert_eq!(server.terminate().await.code(), Some(0));
    // One bit of one unit's text flips on disk, under sled's own checks.
    {
        let raw = raw_sled(&db);
        let tree = raw.open_tree("units").unwrap();
        let mut key = vec![b'u'];
        key.extend_from_slice(&ids[17].to_be_bytes());
        let mut value = tree.get(&key).unwrap().unwrap().to_vec();
        value[10] ^= 0x01;
        tree.insert(&key, value).unwrap();
        raw.flush().unwrap();
    }
    let stderr = refused(&db);
    assert!(stderr.contains(&format!("unit {}", ids[17])), "{stderr}");
    assert!(stderr.contains("checksum does not match"), "{stderr}");
    assert!(stderr.contains("import your last TMX export"), "{stderr}");
}

#[tokio::test]
async fn acknowledged_writes_missing_from_the_store_are_detected_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let server = Server::start(&db);
    let mut client = server.client().await;
    for chunk in corpus_pairs("tico19_test.tsv", 300).chunks(100) {
        client.add_units(AddUnitsRequest { units: units(chunk, "news") }).await.unwrap();
    }
    assert_eq!(server.terminate().await.code(), Some(0));
    // The store loses its last group commit, as a damaged log would make
    // sled recover an older state: the record of acknowledged commits, kept
    // beside it, now says more than the store holds.
    {
        let raw = raw_sled(&db);
        let tree = raw.open_tree("units").unwrap();
        let commits = u64::from_be_bytes(tree.get("meta:commits").unwrap().unwrap().as_ref().try_into().unwrap());
        assert!(commits >= 3, "{commits}");
        tree.insert("meta:commits", &(commits - 1).to_be_bytes()).unwrap();
        raw.flush().unwrap();
    }
    let stderr = refused(&db);
    assert!(stderr.contains("acknowledged writes are missing"), "{stderr}");
    assert!(stderr.contains("Restore the directory from a backup"), "{stderr}");
    // A damaged record is refused too, never taken as zero.
    std::fs::write(db.join("dhakira-acknowledged"), b"garbage").unwrap();
    let stderr = refused(&db);
    assert!(stderr.contains("dhakira-acknowledged is damaged"), "{stderr}");
}

#[tokio::test]
async fn creating_and_deleting_memories_waits_for_free_space_like_every_write() {
    use dhakira::proto::{CreateMemoryRequest, DeleteMemoryRequest, ListMemoriesRequest};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let create = |name: &str| CreateMemoryRequest { name: name.into(), description: "d".into() };
    let server = Server::start(&db);
    let mut client = server.client().await;
    client.create_memory(create("kept")).await.unwrap();
    // Sixteen creations of one name at once: exactly one is made.
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let mut client = client.clone();
        let request = create("raced");
        attempts.spawn(async move { client.create_memory(request).await.map(|_| ()).map_err(|s| s.code()) });
    }
    let results = attempts.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || *r == Err(Code::AlreadyExists)), "{results:?}");
    drop(server);

    // A disk with less free space than writes need (every disk has less
    // than this) refuses memory records as it refuses units.
    let server = Server::start_env(&db, &["--no-sample"], &[("DHAKIRA_MIN_FREE_MB", "100000000")]);
    let mut client = server.client().await;
    let status = client.create_memory(create("new")).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    assert!(status.message().contains("writes need 100000000 MiB"), "{}", status.message());
    let status = client.delete_memory(DeleteMemoryRequest { name: "kept".into() }).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    let names: Vec<String> = client
        .list_memories(ListMemoriesRequest {})
        .await
        .unwrap()
        .into_inner()
        .memories
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["kept", "raced"]);
}

/// Runs the real binary to its end: (exit code, stdout, stderr).
fn dhakira(args: &[&str], db: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(args)
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// The units `dhakira stats` counts in a database (which it opens as a
/// server does: the index is built from every unit, each checked).
fn total_units(db: &Path) -> u64 {
    let (code, stdout, stderr) = dhakira(&["stats"], db, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let total = stdout.lines().find_map(|line| line.strip_prefix("total\t")).expect("a total line");
    total.parse().unwrap()
}

/// Copies a closed database directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn a_database_with_flipped_bits_is_refused_at_start_up_and_never_panics() {
    // A real database: four corpus files imported by the real binary.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let files = ["flores200_devtest.tsv", "ntrex128.tsv", "tico19_test.tsv", "tatoeba.tsv"];
    let mut import = Command::new(env!("CARGO_BIN_EXE_dhakira"));
    import.arg("import").args(files.map(|f| crate::common::corpus_dir().join(f))).arg("--db").arg(&db);
    let output = import.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected = total_units(&db);
    assert!(expected > 30_000, "{expected}");
    let mut refusals = 0;
    for seed in 1..=8u64 {
        // 16 bits flip in sled's file (splitmix64: deterministic).
        let damaged = dir.path().join(format!("damaged-{seed}"));
        copy_dir(&db, &damaged);
        let file = damaged.join("db");
        let mut bytes = std::fs::read(&file).unwrap();
        let mut state = seed;
        for _ in 0..16 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let bit = (z ^ (z >> 31)) % (bytes.len() as u64 * 8);
            bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
        }
        std::fs::write(&file, bytes).unwrap();
        // The server starts, or refuses with what to do; it never panics,
        // and what it serves has every unit.
        let mut child = crate::common::Reaped(
            Command::new(env!("CARGO_BIN_EXE_dhakira"))
                .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--db"])
                .arg(&damaged)
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        if let Some(addr) = line.trim().strip_prefix("dhakira listening on ") {
            let mut client = dhakira::server::connect(&format!("http://{addr}")).await.unwrap();
            let total = client.stats(StatsRequest {}).await.unwrap().into_inner().total_units;
            assert_eq!(total, expected, "seed {seed}: a damaged database was served without some of its units");
            continue;
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        let status = child.wait().unwrap();
        // No panic reaches stderr as a crash (the default hook's "thread
        // 'main' panicked at …" and its backtrace note).
        assert!(!stderr.contains("thread '") && !stderr.contains("RUST_BACKTRACE"), "seed {seed}: {stderr}");
        assert_eq!(status.code(), Some(1), "seed {seed}: {stderr}");
        assert!(stderr.contains("dhakira: error: "), "seed {seed}: {stderr}");
        assert!(stderr.contains("It is not served"), "seed {seed}: {stderr}");
        assert!(stderr.contains("estore the directory from a backup"), "seed {seed}: {stderr}");
        refusals += 1;
    }
    assert!(refusals > 0, "no flipped bit was ever noticed");
}

#[tokio::test]
async fn a_store_without_its_commit_record_is_refused_unless_the_operator_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let tsv = crate::common::corpus_dir().join("flores200_devtest.tsv");
    let (code, _, stderr) = dhakira(&["import", tsv.to_str().unwrap()], &db, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let expected = total_units(&db);
    let record = db.join("dhakira-acknowledged");
    for emptied in [false, true] {
        // A restore that left the record out (or an empty one).
        if emptied {
            std::fs::write(&record, b"").unwrap();
        } else {
            std::fs::remove_file(&record).unwrap();
        }
        let out = dir.path().join("out.tmx");
        for args in [
            vec!["stats"],
            vec!["export", "--out", out.to_str().unwrap()],
            vec!["import", tsv.to_str().unwrap()],
            vec!["lookup", "test", "--lang", "en"],
        ] {
            let (code, _, stderr) = dhakira(&args, &db, &[]);
            assert_eq!(code, Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains("dhakira-acknowledged) is missing or empty"), "{args:?}: {stderr}");
            assert!(stderr.contains("--accept-missing-commit-record"), "{args:?}: {stderr}");
        }
        let stderr = refused(&db);
        assert!(stderr.contains("--accept-missing-commit-record"), "{stderr}");
        assert!(!record.exists() || std::fs::metadata(&record).unwrap().len() == 0, "refusing changed the record");
    }
    // The operator says so: the store opens, with a warning, and the record
    // is back, so the next start needs no flag.
    let (code, stdout, stderr) = dhakira(&["stats", "--accept-missing-commit-record"], &db, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("total\t{expected}")), "{stdout}");
    assert!(stderr.contains("it is recreated from the"), "{stderr}");
    assert_eq!(std::fs::metadata(&record).unwrap().len(), 12);
    assert_eq!(total_units(&db), expected);
    // The variable and the configuration key say the same.
    std::fs::remove_file(&record).unwrap();
    let (code, _, stderr) = dhakira(&["stats"], &db, &[("DHAKIRA_ACCEPT_MISSING_COMMIT_RECORD", "true")]);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::remove_file(&record).unwrap();
    let config = dir.path().join("dhakira.toml");
    std::fs::write(&config, "accept_missing_commit_record = true\n").unwrap();
    let server = Server::start_with(&db, &["--no-sample", "--config", config.to_str().unwrap()]);
    let mut client = server.client().await;
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, expected);
}

/// The index kept beside the database is a cache: when a write finds too
/// little room, the kept index is deleted to make it, and the write goes in.
#[tokio::test]
async fn a_kept_index_gives_its_room_to_writes() {
    let Some(disk) = Tmpfs::mount(48, "") else { return };
    let pairs = corpus_pairs("tico19_test.tsv", 1300);
    let db = disk.path().join("db");
    let env = [("DHAKIRA_MIN_FREE_MB", "16"), ("DHAKIRA_INDEX_IDLE_MS", "200"), ("RUST_LOG", "off")];
    let server = Server::start_env(&db, &["--no-sample"], &env);
    let mut client = server.client().await;
    client.add_units(AddUnitsRequest { units: units(&pairs[..1200], "before") }).await.unwrap();
    let kept = db.join(dhakira::store::INDEX_FILE);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !kept.exists() {
        assert!(std::time::Instant::now() < deadline, "the idle writer never kept the index");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // It takes its name once whole (written under another, then renamed).
    let size = std::fs::metadata(&kept).unwrap().len();
    assert!(size > 64 << 10, "{size} bytes");
    // Less room than writes need, unless the kept index goes.
    disk.fill_until_bytes((16 << 20) - size / 2);
    let added = client.add_units(AddUnitsRequest { units: units(&pairs[1200..], "after") }).await.unwrap();
    assert_eq!(added.into_inner().added, 100);
    assert!(!kept.exists());
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 1300);
}
