use dhakira::proto::{
    AddUnitsRequest, DeleteUnitRequest, EditKind, GetUnitRequest, LookupRequest, StatsRequest, UnitInput,
};
use tonic::Code;

use crate::common::{corpus_pairs, unit, Client, Server};

fn lookup(text: &str, lang: &str) -> LookupRequest {
    LookupRequest { text: text.into(), source_lang: lang.into(), ..Default::default() }
}

async fn add(client: &mut Client, units: Vec<UnitInput>) -> Vec<u64> {
    client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner().unit_ids
}

#[tokio::test]
async fn lookup_finds_real_news_in_both_directions() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 300);
    let ids = add(&mut client, pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect()).await;
    assert_eq!(ids.len(), pairs.len());

    // ar → en, exact.
    let (arabic, english) = &pairs[42];
    let matches = client.lookup(lookup(arabic, "ar")).await.unwrap().into_inner().matches;
    assert_eq!(matches[0].score, 100);
    assert_eq!(matches[0].unit_id, ids[42]);
    assert_eq!(&matches[0].source, arabic);
    assert_eq!(&matches[0].target, english);
    assert_eq!(matches[0].memory, "news");

    // en → ar, with the last word dropped: d = 1, score = 100·(n−1)/n, at
    // most 94 (a word edit; this long sentence scored 96 before the cap).
    let (arabic, english) = &pairs[7];
    let shorter = english.rsplit_once(' ').unwrap().0;
    let n = dhakira::text::words(english).len() as u32;
    let matches = client.lookup(lookup(shorter, "en_US")).await.unwrap().into_inner().matches;
    assert_eq!(&matches[0].target, arabic);
    assert!(100 * (n - 1) / n >= 95);
    assert_eq!(matches[0].score, (100 * (n - 1) / n).min(94));
    assert!(matches[0].score < 100 && matches[0].score >= 70);
    assert_eq!(matches[0].word_distance, 1);
}

#[tokio::test]
async fn arabic_spelling_variants_score_below_100_with_named_penalties() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let stored = "كشفت شركة Tencent عن نموذج Hunyuan في عام 2023";
    add(&mut client, vec![unit(stored, "Tencent unveiled its Hunyuan model in 2023", "")]).await;
    let variant = "كَشَفَتْ شركه Tencent عن نموذج Hunyuan في عام ٢٠٢٣";
    let best = client.lookup(lookup(variant, "AR")).await.unwrap().into_inner().matches.remove(0);
    assert_eq!(best.source, stored);
    assert_eq!(best.score, 97);
    let kinds: Vec<&str> = best.penalties.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["diacritics", "ta_marbuta", "digit_script"]);
    assert_eq!(best.memory, "default");
    let explanation = best.explanation.unwrap();
    assert_eq!(explanation.penalty_points, 3);
    let normalized: Vec<String> = explanation
        .edits
        .iter()
        .filter(|e| e.kind() == EditKind::Normalized)
        .map(|e| {
            let r = e.query.unwrap();
            variant.chars().skip(r.start as usize).take((r.end - r.start) as usize).collect()
        })
        .collect();
    assert_eq!(normalized, ["كَشَفَتْ", "شركه", "٢٠٢٣"]);
    assert_eq!(best.repaired_target, None);

    // Another company, model and year: the target is repaired, each
    // substitution named; a clitic costs half a word.
    let query = "كشفت شركة Alibaba عن نموذج Qwen في عام 2024";
    let best = client.lookup(lookup(query, "ar")).await.unwrap().into_inner().matches.remove(0);
    assert_eq!(best.score, 94);
    assert_eq!(best.repaired_target.as_deref(), Some("Alibaba unveiled its Qwen model in 2024"));
    let kinds: Vec<&str> = best.penalties.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["placeable_latin_name", "placeable_latin_name", "placeable_number"]);
    let query = "كشفت الشركة Tencent عن نموذج Hunyuan في عام 2023";
    let best = client.lookup(lookup(query, "ar")).await.unwrap().into_inner().matches.remove(0);
    let explanation = best.explanation.unwrap();
    assert_eq!((explanation.variants, explanation.edit_cost, best.score), (1, 0.5, 94));
    // ⌊100 × (9 − ½) / 9⌋
}

#[tokio::test]
async fn duplicates_get_delete_and_stats() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("tico19_test.tsv", 20);
    let units: Vec<UnitInput> = pairs.iter().map(|(ar, en)| unit(ar, en, "tico")).collect();
    let first = client.add_units(AddUnitsRequest { units: units.clone() }).await.unwrap().into_inner();
    assert_eq!((first.added, first.duplicates), (20, 0));
    let again = client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner();
    assert_eq!((again.added, again.duplicates), (0, 20));
    assert_eq!(again.unit_ids, first.unit_ids);

    let mut with_metadata = unit(&pairs[0].0, &pairs[0].1, "other");
    with_metadata.created_by = "translator-7".into();
    with_metadata.domain = "health".into();
    let id = add(&mut client, vec![with_metadata]).await[0];
    let got = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap().into_inner();
    assert_eq!((got.arabic.as_str(), got.english.as_str()), (pairs[0].0.as_str(), pairs[0].1.as_str()));
    assert_eq!(
        (got.memory.as_str(), got.created_by.as_str(), got.domain.as_str()),
        ("other", "translator-7", "health")
    );
    assert!(got.created_at_ms > 1_700_000_000_000);

    let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.total_units, 21);
    let per_memory: Vec<(&str, u64)> = stats.memories.iter().map(|m| (m.name.as_str(), m.units)).collect();
    assert_eq!(per_memory, [("other", 1), ("tico", 20)]);

    client.delete_unit(DeleteUnitRequest { unit_id: id }).await.unwrap();
    let gone = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let twice = client.delete_unit(DeleteUnitRequest { unit_id: id }).await.unwrap_err();
    assert_eq!(twice.code(), Code::NotFound);
    let matches = client.lookup(lookup(&pairs[0].0, "ar")).await.unwrap().into_inner().matches;
    assert!(matches.iter().all(|m| m.unit_id != id));
    assert_eq!(matches[0].memory, "tico");

    // Memory filter.
    let only = LookupRequest { memories: vec!["tico".into()], ..lookup(&pairs[3].1, "en") };
    let matches = client.lookup(only).await.unwrap().into_inner().matches;
    assert!(!matches.is_empty() && matches.iter().all(|m| m.memory == "tico"));
}

#[tokio::test]
async fn bad_requests_get_clear_statuses_naming_the_field() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    add(&mut client, vec![unit("مرحبا بالعالم", "Hello world", "")]).await;

    let cases: Vec<(LookupRequest, Code, &str)> = vec![
        (lookup("", "ar"), Code::InvalidArgument, "text: must not be empty"),
        (lookup("hello", ""), Code::InvalidArgument, "source_lang: is required"),
        (lookup("hello", "fr-FR"), Code::InvalidArgument, "source_lang: unknown language \"fr-FR\""),
        (LookupRequest { min_score: Some(500), ..lookup("hello", "en") }, Code::InvalidArgument, "min_score:"),
        (LookupRequest { max_results: Some(0), ..lookup("hello", "en") }, Code::InvalidArgument, "max_results:"),
        (LookupRequest { memories: vec!["typo".into()], ..lookup("hello", "en") }, Code::NotFound, "memories[0]:"),
        (lookup("hello\u{0}", "en"), Code::InvalidArgument, "text: contains the control character U+0000"),
    ];
    for (request, code, message) in cases {
        let status = client.lookup(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), code, "{request:?}: {}", status.message());
        assert!(status.message().starts_with(message), "{request:?}: {}", status.message());
    }

    // One bad unit rejects the whole request, and nothing is stored.
    let units = vec![unit("نص", "text", ""), unit("نص آخر", "  ", "")];
    let status = client.add_units(AddUnitsRequest { units }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "units[1].english: must not be empty");
    let status = client.add_units(AddUnitsRequest { units: vec![] }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 1);

    let status = client.get_unit(GetUnitRequest { unit_id: 0 }).await.unwrap_err();
    assert_eq!((status.code(), status.message()), (Code::InvalidArgument, "unit_id: is required (ids start at 1)"));
    let status = client.get_unit(GetUnitRequest { unit_id: 999_999 }).await.unwrap_err();
    assert_eq!((status.code(), status.message()), (Code::NotFound, "unit_id: no unit has id 999999"));
}

#[tokio::test]
async fn health_and_reflection_answer_without_a_proto_file() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let server = Server::on_temp_db();
    let url = format!("http://{}", server.addr);
    server.client().await; // waits until the server answers

    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    let request = HealthCheckRequest { service: "dhakira.v1.TranslationMemory".into() };
    let status = health.check(request).await.unwrap().into_inner().status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"dhakira.v1.TranslationMemory"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn a_flood_beyond_the_in_flight_limit_is_shed_with_resource_exhausted() {
    // No timing involved: one lookup is held inside the engine (the test
    // gate) while it holds the only place; 47 more, released at once by a
    // barrier, are all shed; once it goes on, the server serves again.
    let gate = crate::load::Gate::new();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_env(dir.path(), &["--no-sample", "--max-in-flight", "1"], &[gate.env()]);
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 2_000);
    add(&mut client, pairs.iter().map(|(ar, en)| unit(ar, en, "news")).collect()).await;

    gate.hold();
    let mut held = server.client().await;
    let held_request = lookup(&pairs[5].0, "ar");
    let held_call = tokio::spawn(async move { held.lookup(held_request).await });
    gate.reached("entered").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(47));
    let mut calls = Vec::new();
    for (arabic, _) in pairs.iter().take(47) {
        let mut client = server.client().await;
        let (barrier, request) = (std::sync::Arc::clone(&barrier), lookup(arabic, "ar"));
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            client.lookup(request).await
        }));
    }
    for call in calls {
        let status = call.await.unwrap().expect_err("served while the only place was taken");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().starts_with("the server is busy: 1 calls are being served"), "{status:?}");
    }
    gate.release();
    let matches = held_call.await.unwrap().unwrap().into_inner().matches;
    assert_eq!(matches[0].target, pairs[5].1);
    // The flood is over: the next call is served.
    let (arabic, english) = &pairs[0];
    let matches = client.lookup(lookup(arabic, "ar")).await.unwrap().into_inner().matches;
    assert_eq!(&matches[0].target, english);
}
