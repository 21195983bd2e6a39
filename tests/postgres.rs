//! The PostgreSQL store end to end: a real `dhakira serve --db postgres://…`
//! on a throw-away cluster (see `src/store/pg_cluster.rs`; PostgreSQL comes
//! from `.ci/postgres-deps`), and `dhakira import` into it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use dhakira::proto::{AddUnitsRequest, DeleteUnitRequest, GetUnitRequest, LookupRequest, StatsRequest};

use crate::common::{corpus_pairs, unit, Server};

#[path = "../src/store/pg_cluster.rs"]
pub(crate) mod pg_cluster;

/// Units added over gRPC are committed in PostgreSQL: after a graceful
/// restart and after kill -9, a new server finds each by id and by lookup
/// (its index built from the database), a deletion stays deleted, and the
/// tables hold exactly what was acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_postgres_finds_its_units_again_after_restarts() {
    let cluster = pg_cluster::Cluster::start();
    let url = cluster.url("dhakira");
    let db = Path::new(&url);
    let pairs = corpus_pairs("un_v1_testsets.tsv", 600);

    let server = Server::start(db);
    let mut client = server.client().await;
    let mut acknowledged: HashMap<u64, (String, String)> = HashMap::new();
    for (b, batch) in pairs.chunks(100).enumerate() {
        let units = batch.iter().map(|(ar, en)| unit(ar, en, &format!("m{}", b % 2))).collect();
        let ids = client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner().unit_ids;
        acknowledged.extend(ids.into_iter().zip(batch.iter().cloned()));
    }
    let deleted = *acknowledged.keys().min().unwrap();
    client.delete_unit(DeleteUnitRequest { unit_id: deleted }).await.unwrap();
    acknowledged.remove(&deleted);
    drop(client);
    assert!(server.terminate().await.success());

    let rows = cluster.psql("dhakira", "SELECT count(*) FROM dhakira_units");
    assert_eq!(rows, acknowledged.len().to_string());

    for round in ["after a graceful restart", "after kill -9"] {
        let server = Server::start(db);
        let mut client = server.client().await;
        let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
        assert_eq!(stats.total_units, acknowledged.len() as u64, "{round}");
        for (&id, (arabic, english)) in &acknowledged {
            let got = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap().into_inner();
            assert_eq!((&got.arabic, &got.english), (arabic, english), "{round}");
        }
        let gone = client.get_unit(GetUnitRequest { unit_id: deleted }).await.unwrap_err();
        assert_eq!(gone.code(), tonic::Code::NotFound, "{round}");
        let (arabic, english) = &acknowledged[acknowledged.keys().max().unwrap()];
        let best = client
            .lookup(LookupRequest { text: english.clone(), source_lang: "en".into(), ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .matches
            .remove(0);
        assert_eq!((best.score, &best.source, &best.target), (100, english, arabic), "{round}");
        // The same pairs again are duplicates: the server checked the
        // database, not only its index.
        let retry = pairs[300..310].iter().map(|(ar, en)| unit(ar, en, "m1")).collect();
        let again = client.add_units(AddUnitsRequest { units: retry }).await.unwrap().into_inner();
        assert_eq!((again.added, again.duplicates), (0, 10), "{round}");
        drop(client);
        server.kill();
    }

    // PostgreSQL goes away under a running server: a read that needs the
    // database answers UNAVAILABLE; once PostgreSQL is back, the server
    // reconnects by itself.
    let server = Server::start(db);
    let mut client = server.client().await;
    let id = *acknowledged.keys().max().unwrap();
    cluster.kill();
    let refused = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().starts_with("the database is unavailable: "), "{}", refused.message());
    assert!(refused.message().ends_with("; retry"), "{}", refused.message());
    // A write too: nothing is acknowledged, and the status says to retry.
    let write = vec![unit(&pairs[400].0, &pairs[400].1, "m1")];
    let refused = client.add_units(AddUnitsRequest { units: write }).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    cluster.restart();
    let got = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap().into_inner();
    assert_eq!(got.english, acknowledged[&id].1);
}

/// `dhakira import` of a TMX made from the corpus goes into PostgreSQL (in
/// COPY-sized groups); `dhakira lookup` and `stats` on the same URL find a
/// corpus sentence and count every unit.
#[test]
fn import_of_a_corpus_tmx_into_postgres_and_a_lookup() {
    let cluster = pg_cluster::Cluster::start();
    let url = cluster.new_database("imported");
    let dir = tempfile::tempdir().unwrap();
    let pairs = corpus_pairs("flores200_devtest.tsv", 2_000);
    let units: Vec<dhakira::UnitInput> = pairs
        .iter()
        .map(|(ar, en)| dhakira::UnitInput { arabic: ar.clone(), english: en.clone(), ..Default::default() })
        .collect();
    let tmx = dir.path().join("flores.tmx");
    dhakira::bench::write_tmx(&units, std::fs::File::create(&tmx).unwrap()).unwrap();
    let dhakira = env!("CARGO_BIN_EXE_dhakira");

    let output =
        Command::new(dhakira).arg("import").arg(&tmx).args(["--db", &url, "--memory", "flores"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let distinct: std::collections::HashSet<&(String, String)> = pairs.iter().collect();
    assert!(stdout.contains(&format!("{} added", distinct.len())), "{stdout}");

    let rows = cluster.psql("imported", "SELECT count(*) FROM dhakira_units WHERE memory = 'flores'");
    assert_eq!(rows, distinct.len().to_string());

    let (arabic, english) = &pairs[500];
    let output = Command::new(dhakira).args(["lookup", arabic, "--lang", "ar", "--db", &url]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("100  #"), "{stdout}");
    assert!(stdout.contains(english.as_str()), "{stdout}");

    let output = Command::new(dhakira).args(["stats", "--db", &url]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("flores\t{n}\ntotal\t{n}\n", n = distinct.len()));

    // A database that does not exist is an error naming it, without
    // creating anything.
    let missing = cluster.url("no_such_database");
    let output = Command::new(dhakira).args(["stats", "--db", &missing]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no_such_database"), "{stderr}");
}
