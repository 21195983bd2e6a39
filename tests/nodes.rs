//! Several `dhakira serve` nodes on one PostgreSQL database (a throw-away
//! cluster on loopback): each follows the others' changes through the
//! change log. No timing is asserted: propagation is polled with a
//! generous deadline (the machine may be loaded); read-your-writes with
//! `min_sequence` must answer at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use dhakira::proto::{AddUnitsRequest, DeleteUnitRequest, LookupRequest, StatsRequest, UnitInput, UpdateUnitRequest};
use http_body_util::BodyExt;
use hyper::body::Bytes;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use crate::common::{corpus_pairs, unit, Client, Server};
use crate::postgres::pg_cluster::Cluster;

/// How long propagation may take before a test fails (far above the
/// follower's 250 ms poll: a loaded 2-core machine).
const DEADLINE: Duration = Duration::from_secs(30);

/// The English side as a lookup; whether the best match is exactly
/// (english → arabic).
async fn finds(client: &mut Client, english: &str, arabic: &str, min_sequence: u64) -> Result<bool, tonic::Status> {
    let request = LookupRequest { text: english.into(), source_lang: "en".into(), min_sequence, ..Default::default() };
    let matches = client.lookup(request).await?.into_inner().matches;
    Ok(matches.iter().any(|m| m.score == 100 && m.source == english && m.target == arabic))
}

/// Polls `check` until it holds, at most [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {DEADLINE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn total(client: &mut Client) -> u64 {
    client.stats(StatsRequest {}).await.map(|s| s.into_inner().total_units).unwrap_or(u64::MAX)
}

async fn health(addr: &str) -> i32 {
    let Ok(channel) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await else {
        return -1;
    };
    let request = HealthCheckRequest { service: String::new() };
    HealthClient::new(channel).check(request).await.map_or(-1, |r| r.into_inner().status)
}

/// A GET: (status, body).
async fn get(addr: &str, path: &str) -> (u16, String) {
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let response = http.get(format!("http://{addr}{path}").parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    (status, String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned())
}

async fn metrics(addr: &str) -> String {
    get(addr, "/metrics").await.1
}

use crate::rest::quote;

/// The value of a gauge in Prometheus' text.
fn gauge(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// Three nodes on one database: writes spread over them are found on the
/// others (and on a node started afterwards); a lookup with the write's
/// `change_sequence` finds it at once on another node; a deletion
/// disappears everywhere; kill -9 of a node loses nothing acknowledged
/// while the others serve; through a PostgreSQL restart writes answer
/// UNAVAILABLE while lookups are answered, health says NOT_SERVING, and
/// the nodes reconnect and catch up by themselves. The acknowledged units (the reference) are
/// checked against the table with psql too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres_follow_each_other() {
    let cluster = Cluster::start();
    let url = cluster.url("dhakira");
    let db = Path::new(&url);
    let pairs = corpus_pairs("un_v1_testsets.tsv", 900);
    let flags = ["--no-sample", "--max-lag", "2"];
    let nodes: Vec<Server> = (0..3).map(|_| Server::start_with(db, &flags)).collect();
    let mut clients = Vec::new();
    for node in &nodes {
        clients.push(node.client().await);
    }

    // Writes spread over the nodes; each batch read at once on the next
    // node with its change sequence.
    let mut acknowledged: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut last_sequence = 0;
    for (b, batch) in pairs[..300].chunks(10).enumerate() {
        let units = batch.iter().map(|(ar, en)| unit(ar, en, "m")).collect();
        let answer = clients[b % 3].add_units(AddUnitsRequest { units }).await.unwrap().into_inner();
        assert!(answer.change_sequence > last_sequence, "{} after {last_sequence}", answer.change_sequence);
        last_sequence = answer.change_sequence;
        acknowledged.extend(answer.unit_ids.iter().copied().zip(batch.iter().cloned()));
        let (arabic, english) = &batch[b % batch.len()];
        let reader = &mut clients[(b + 1) % 3];
        assert!(
            finds(reader, english, arabic, answer.change_sequence).await.unwrap(),
            "batch {b}: node {} does not find {english:?} with min_sequence {}",
            (b + 1) % 3,
            answer.change_sequence
        );
    }
    // The REST facades take the sequence too (a write on node 0, read on
    // node 2 through amaGama and MyMemory), and check it.
    let (arabic, english) = pairs[850].clone();
    let answer = clients[0].add_units(AddUnitsRequest { units: vec![unit(&arabic, &english, "m")] }).await.unwrap();
    let answer = answer.into_inner();
    acknowledged.insert(answer.unit_ids[0], (arabic.clone(), english.clone()));
    let path = format!("/tmserver/en/ar/unit/{}?min_sequence={}", quote(&english), answer.change_sequence);
    let (status, body) = get(&nodes[2].addr, &path).await;
    assert_eq!(status, 200, "{body}");
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found[0]["target"], arabic.as_str(), "{body}");
    let path = format!("/get?q={}&langpair=en|ar&min_sequence={}", quote(&english), answer.change_sequence);
    let (status, body) = get(&nodes[1].addr, &path).await;
    assert_eq!(status, 200, "{body}");
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["matches"][0]["translation"], arabic.as_str(), "{body}");
    let (status, body) = get(&nodes[2].addr, "/tmserver/en/ar/unit/Hello?min_sequence=-1").await;
    assert_eq!((status, body.as_str()), (400, r#"{"error":"min_sequence: \"-1\" is not a whole number"}"#));

    // Without a sequence: every node ends up with every unit, each found.
    for client in clients.iter_mut() {
        let want = acknowledged.len() as u64;
        eventually("every node holds every unit", || {
            let mut client = client.clone();
            async move { total(&mut client).await == want }
        })
        .await;
        for (arabic, english) in acknowledged.values().step_by(29) {
            assert!(finds(client, english, arabic, 0).await.unwrap(), "{english:?}");
        }
    }

    // A deletion on node 0 disappears on the others: at once with its
    // sequence on node 1, by itself on node 2.
    let (&gone, (gone_ar, gone_en)) = acknowledged.iter().nth(17).unwrap();
    let (gone_ar, gone_en) = (gone_ar.clone(), gone_en.clone());
    let deleted = clients[0].delete_unit(DeleteUnitRequest { unit_id: gone }).await.unwrap().into_inner();
    assert!(deleted.change_sequence > last_sequence);
    acknowledged.remove(&gone);
    assert!(!finds(&mut clients[1], &gone_en, &gone_ar, deleted.change_sequence).await.unwrap());
    eventually("the deletion reaches node 2", || {
        let mut client = clients[2].clone();
        let (ar, en) = (gone_ar.clone(), gone_en.clone());
        async move { !finds(&mut client, &en, &ar, 0).await.unwrap() }
    })
    .await;

    // A write whose answer has no change_sequence field (UpdateUnit) says
    // it in the dhakira-change-sequence header: with it, node 1 finds the
    // new English at once.
    let (&changed, (changed_ar, _)) = acknowledged.iter().nth(23).unwrap();
    let changed_ar = changed_ar.clone();
    let new_english = "An edited sentence that only this update wrote, on node zero".to_owned();
    let update = UpdateUnitRequest {
        unit_id: changed,
        unit: Some(UnitInput { english: new_english.clone(), ..Default::default() }),
        update_mask: vec!["english".into()],
        changed_by: "nodes test".into(),
    };
    let updated = clients[0].update_unit(update).await.unwrap();
    let header = updated.metadata().get("dhakira-change-sequence").expect("a change sequence header");
    let sequence: u64 = header.to_str().unwrap().parse().unwrap();
    assert!(sequence > deleted.change_sequence, "{sequence} after {}", deleted.change_sequence);
    assert_eq!(updated.into_inner().english, new_english);
    assert!(finds(&mut clients[1], &new_english, &changed_ar, sequence).await.unwrap());
    acknowledged.insert(changed, (changed_ar, new_english));

    // kill -9 of node 2 in the middle of writes on nodes 0 and 1: nothing
    // acknowledged is lost, and the others keep serving.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut client = clients[w].clone();
            let batch: Vec<(String, String)> = pairs[300 + w * 150..450 + w * 150].to_vec();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for chunk in batch.chunks(5) {
                    let units = chunk.iter().map(|(ar, en)| unit(ar, en, "k")).collect();
                    let answer = client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner();
                    acked.extend(answer.unit_ids.into_iter().zip(chunk.iter().cloned()));
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut nodes = nodes;
    nodes.pop().unwrap().kill();
    clients.pop();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    let want = acknowledged.len() as u64;
    for client in clients.iter_mut() {
        eventually("the two nodes left hold every acknowledged unit", || {
            let mut client = client.clone();
            async move { total(&mut client).await == want }
        })
        .await;
    }
    assert_eq!(cluster.psql("dhakira", "SELECT count(*) FROM dhakira_units"), want.to_string());
    let stored_ids = cluster.psql("dhakira", "SELECT string_agg(id::text, ',' ORDER BY id) FROM dhakira_units");
    let expected_ids = acknowledged.keys().map(u64::to_string).collect::<Vec<_>>().join(",");
    assert_eq!(stored_ids, expected_ids);
    let m = metrics(&nodes[1].addr).await;
    assert!(gauge(&m, "dhakira_replication_applied_sequence") >= last_sequence as f64, "{m}");

    // PostgreSQL restarts: writes answer UNAVAILABLE, lookups are answered
    // from the index, health says NOT_SERVING; then the nodes reconnect and
    // catch up by themselves.
    cluster.kill();
    let (arabic, english) = acknowledged.values().next().unwrap().clone();
    let refused = clients[0].add_units(AddUnitsRequest { units: vec![unit(&pairs[800].0, &pairs[800].1, "m")] }).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unavailable);
    // Lookups are answered from the node's own RAM (index and units).
    assert!(finds(&mut clients[1], &english, &arabic, 0).await.unwrap());
    assert_eq!(total(&mut clients[1]).await, want);
    for node in &nodes {
        eventually("health says NOT_SERVING while PostgreSQL is down", || {
            let addr = node.addr.clone();
            async move { health(&addr).await == ServingStatus::NotServing as i32 }
        })
        .await;
    }
    let (other_ar, other_en) = acknowledged.values().nth(5).unwrap().clone();
    assert!(finds(&mut clients[0], &other_en, &other_ar, 0).await.unwrap());
    cluster.restart();
    let (arabic, english) = pairs[801].clone();
    let deadline = Instant::now() + DEADLINE;
    let added = loop {
        let units = vec![unit(&arabic, &english, "m")];
        match clients[0].add_units(AddUnitsRequest { units }).await {
            Ok(answer) => break answer.into_inner(),
            Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        }
        assert!(Instant::now() < deadline, "no write went through within {DEADLINE:?} of PostgreSQL's restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    acknowledged.insert(added.unit_ids[0], (arabic.clone(), english.clone()));
    for node in &nodes {
        eventually("health says SERVING again", || {
            let addr = node.addr.clone();
            async move { health(&addr).await == ServingStatus::Serving as i32 }
        })
        .await;
    }
    eventually("node 1 finds the write made after the restart", || {
        let mut client = clients[1].clone();
        let (ar, en) = (arabic.clone(), english.clone());
        async move { finds(&mut client, &en, &ar, 0).await.unwrap_or(false) }
    })
    .await;

    // A node started after all this holds every unit, and reads the last
    // write with its sequence.
    let late = Server::start_with(db, &flags);
    let mut client = late.client().await;
    assert_eq!(total(&mut client).await, acknowledged.len() as u64);
    assert!(finds(&mut client, &english, &arabic, added.change_sequence).await.unwrap());
    assert!(!finds(&mut client, &gone_en, &gone_ar, 0).await.unwrap());
}

/// `min_sequence` is checked: on sled (no change log) anything but 0 is
/// INVALID_ARGUMENT naming it; on PostgreSQL a sequence never committed
/// is UNAVAILABLE naming it after the (configured) wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_sequence_is_checked() {
    let sled = Server::on_temp_db();
    let mut client = sled.client().await;
    let request =
        LookupRequest { text: "Hello".into(), source_lang: "en".into(), min_sequence: 3, ..Default::default() };
    let status = client.lookup(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("min_sequence: 3: this server's database keeps no change log"), "{status:?}");
    let added = client.add_units(AddUnitsRequest { units: vec![unit("مرحبا", "Hello", "m")] }).await.unwrap();
    assert_eq!(added.into_inner().change_sequence, 0);

    let cluster = Cluster::start();
    let url = cluster.url("dhakira");
    let node = Server::start_with(Path::new(&url), &["--no-sample", "--min-sequence-wait", "0.3"]);
    let mut client = node.client().await;
    let added = client.add_units(AddUnitsRequest { units: vec![unit("مرحبا", "Hello", "m")] }).await.unwrap();
    let sequence = added.into_inner().change_sequence;
    assert!(sequence >= 1);
    assert!(finds(&mut client, "Hello", "مرحبا", sequence).await.unwrap());
    let status = client.lookup(LookupRequest { min_sequence: sequence + 1000, ..request }).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status
            .message()
            .contains(&format!("min_sequence {} is not applied on this node after waiting 0.3 s", sequence + 1000)),
        "{status:?}"
    );
}

/// Figures (README, "Several nodes"): replication lag under a steady write
/// load. Node A takes one add every 20 ms (node C another stream of adds
/// meanwhile); right after each add is acknowledged, a lookup on node B
/// passes its `change_sequence`: the lookup's time is the time until B
/// applied the write (plus one lookup, well under a millisecond). Prints
/// p50/p99/max. Run with
/// `cargo test --test integration nodes::replication_lag -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints figures"]
async fn replication_lag_under_a_steady_write_load() {
    let cluster = Cluster::start();
    let url = cluster.url("dhakira");
    let db = Path::new(&url);
    let pairs = corpus_pairs("flores200_devtest.tsv", 1_012);
    let nodes: Vec<Server> = (0..3).map(|_| Server::start_with(db, &["--no-sample"])).collect();
    let (mut a, mut b, c) = (nodes[0].client().await, nodes[1].client().await, nodes[2].client().await);
    let background = {
        let mut c = c.clone();
        let pairs = pairs[500..].to_vec();
        tokio::spawn(async move {
            for (ar, en) in pairs {
                let _ = c.add_units(AddUnitsRequest { units: vec![unit(&ar, &en, "background")] }).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut lags = Vec::new();
    for (ar, en) in &pairs[..500] {
        let added = a.add_units(AddUnitsRequest { units: vec![unit(ar, en, "steady")] }).await.unwrap().into_inner();
        let started = Instant::now();
        assert!(finds(&mut b, en, ar, added.change_sequence).await.unwrap(), "{en:?}");
        lags.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    background.abort();
    lags.sort_unstable();
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "replication lag (write acknowledged on A -> applied on B), {} writes at ~50/s on A plus ~50/s on C: \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lags.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// A node stalled (SIGSTOP) while the log it has not read is trimmed away
/// rebuilds its index from the units table when it resumes: it finds the
/// unit added meanwhile and no longer finds the one deleted meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_a_trimmed_log_rebuilds_its_index() {
    let cluster = Cluster::start();
    let url = cluster.url("dhakira");
    let db = Path::new(&url);
    let pairs = corpus_pairs("un_v1_testsets.tsv", 3);
    let (a, b) = (Server::start(db), Server::start(db));
    let (mut ca, mut cb) = (a.client().await, b.client().await);
    let kept = ca.add_units(AddUnitsRequest { units: vec![unit(&pairs[0].0, &pairs[0].1, "m")] }).await.unwrap();
    let kept = kept.into_inner();
    assert!(finds(&mut cb, &pairs[0].1, &pairs[0].0, kept.change_sequence).await.unwrap());

    let stop = |signal: &str| {
        let status = std::process::Command::new("kill").args([signal, &b.pid().to_string()]).status().unwrap();
        assert!(status.success());
    };
    stop("-STOP");
    let added = ca.add_units(AddUnitsRequest { units: vec![unit(&pairs[1].0, &pairs[1].1, "m")] }).await.unwrap();
    let added = added.into_inner();
    let deleted = ca.delete_unit(DeleteUnitRequest { unit_id: kept.unit_ids[0] }).await.unwrap().into_inner();
    // What the followers' trim does, without waiting a day: every entry
    // but the newest goes, and the trimmed point records it.
    cluster.psql(
        "dhakira",
        "WITH gone AS (DELETE FROM dhakira_changes WHERE seq < (SELECT max(seq) FROM dhakira_changes) RETURNING seq)
         UPDATE dhakira_changes_trimmed SET seq = (SELECT max(seq) FROM gone)",
    );
    stop("-CONT");
    assert!(finds(&mut cb, &pairs[1].1, &pairs[1].0, added.change_sequence).await.unwrap());
    assert!(!finds(&mut cb, &pairs[0].1, &pairs[0].0, deleted.change_sequence).await.unwrap());
    assert_eq!(total(&mut cb).await, 1);
}
