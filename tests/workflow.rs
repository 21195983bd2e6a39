//! The translator's workflow over gRPC: memories, cascades, metadata,
//! context, concordance, maintenance, streams and document analysis, on
//! real news from the corpus (data/corpus).

use dhakira::proto::{
    AddUnitsRequest, AnalyzeRequest, ConcordanceRequest, ConfirmUseRequest, ConflictsRequest, CreateMemoryRequest,
    DeleteMemoryRequest, DeleteUnitsRequest, Freshness, GetUnitRequest, ListMemoriesRequest, LookupRequest, Match,
    MemoryPenalty, MetadataField, MetadataPreference, UnitFilter, UnitInput, UpdateUnitRequest,
};
use tonic::Code;

use crate::common::{corpus_pairs, unit, Client, Server};

async fn add(client: &mut Client, units: Vec<UnitInput>) -> Vec<u64> {
    client.add_units(AddUnitsRequest { units }).await.unwrap().into_inner().unit_ids
}

async fn lookup(client: &mut Client, request: LookupRequest) -> Vec<Match> {
    client.lookup(request).await.unwrap().into_inner().matches
}

fn ar(text: &str) -> LookupRequest {
    LookupRequest { text: text.into(), source_lang: "ar".into(), ..Default::default() }
}

fn kinds(m: &Match) -> Vec<&str> {
    m.penalties.iter().map(|p| p.kind.as_str()).collect()
}

/// The status of a failed call: its code and message.
fn failure<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    let status = result.expect_err("the call must fail");
    (status.code(), status.message().to_owned())
}

#[tokio::test]
async fn memories_are_created_listed_with_counts_and_deleted_with_their_units() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let memory =
        |name: &str, description: &str| CreateMemoryRequest { name: name.into(), description: description.into() };
    let created = client.create_memory(memory("acme-news", "Acme's tech news")).await.unwrap().into_inner();
    assert_eq!((created.name.as_str(), created.units), ("acme-news", 0));
    assert!(created.created_at_ms > 0);
    let (code, message) = failure(client.create_memory(memory("acme-news", "")).await);
    assert_eq!(code, Code::AlreadyExists);
    assert_eq!(message, "name: a memory named \"acme-news\" exists already");
    let (code, message) = failure(client.create_memory(memory("acme news", "")).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.starts_with("name: memory name \"acme news\" contains ' '"), "{message}");

    let pairs = corpus_pairs("ntrex128.tsv", 120);
    add(&mut client, pairs[..100].iter().map(|(a, e)| unit(a, e, "acme-news")).collect()).await;
    add(&mut client, pairs[100..].iter().map(|(a, e)| unit(a, e, "reference")).collect()).await;
    let listed = client.list_memories(ListMemoriesRequest {}).await.unwrap().into_inner().memories;
    let summary: Vec<(&str, &str, u64)> =
        listed.iter().map(|m| (m.name.as_str(), m.description.as_str(), m.units)).collect();
    // "reference" came into being with its first unit: no record, no date.
    assert_eq!(summary, [("acme-news", "Acme's tech news", 100), ("reference", "", 20)]);
    // A memory that exists but was not created explicitly is taken too.
    assert_eq!(failure(client.create_memory(memory("reference", "")).await).0, Code::AlreadyExists);

    let deleted = client.delete_memory(DeleteMemoryRequest { name: "acme-news".into() }).await.unwrap().into_inner();
    assert_eq!(deleted.deleted_units, 100);
    let listed = client.list_memories(ListMemoriesRequest {}).await.unwrap().into_inner().memories;
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["reference"]);
    // Its units are gone from lookups, and the name is unknown.
    let request = LookupRequest { memories: vec!["acme-news".into()], ..ar(&pairs[5].0) };
    let (code, message) = failure(client.lookup(request).await);
    assert_eq!((code, message.as_str()), (Code::NotFound, "memories[0]: no memory is named \"acme-news\""));
    assert!(lookup(&mut client, ar(&pairs[5].0)).await.iter().all(|m| m.score < 100));
    let (code, _) = failure(client.delete_memory(DeleteMemoryRequest { name: "acme-news".into() }).await);
    assert_eq!(code, Code::NotFound);
}

#[tokio::test]
async fn a_cascade_ranks_the_same_match_from_a_lower_priority_memory_lower_and_names_the_penalty() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("flores200_devtest.tsv", 50);
    let (arabic, english) = &pairs[17];
    add(&mut client, pairs.iter().map(|(a, e)| unit(a, e, "reference")).collect()).await;
    let client_ids = add(&mut client, vec![unit(arabic, english, "client")]).await;
    let request = LookupRequest {
        memories: vec!["client".into(), "reference".into()],
        memory_penalties: vec![MemoryPenalty { memory: "reference".into(), points: 4 }],
        ..ar(arabic)
    };
    let matches = lookup(&mut client, request.clone()).await;
    assert_eq!(matches.len(), 2);
    assert_eq!((matches[0].memory.as_str(), matches[0].score, matches[0].unit_id), ("client", 100, client_ids[0]));
    assert_eq!((matches[1].memory.as_str(), matches[1].score), ("reference", 96));
    assert_eq!(kinds(&matches[1]), ["memory_penalty"]);
    assert_eq!(matches[1].explanation.as_ref().unwrap().penalty_points, 4);
    // The index and the scan agree with penalties too.
    let exhaustive = lookup(&mut client, LookupRequest { exhaustive: true, ..request.clone() }).await;
    assert_eq!(matches, exhaustive);
    // A penalty for a memory not searched, and bad points, name the field.
    let stray = LookupRequest {
        memories: vec!["client".into()],
        memory_penalties: vec![MemoryPenalty { memory: "reference".into(), points: 4 }],
        ..ar(arabic)
    };
    assert_eq!(
        failure(client.lookup(stray).await),
        (Code::InvalidArgument, "memory_penalties[0].memory: \"reference\" is not among the memories searched".into())
    );
    let zero =
        LookupRequest { memory_penalties: vec![MemoryPenalty { memory: "client".into(), points: 0 }], ..ar(arabic) };
    assert_eq!(
        failure(client.lookup(zero).await),
        (Code::InvalidArgument, "memory_penalties[0].points: is 0; it must be between 1 and 100".into())
    );
}

#[tokio::test]
async fn metadata_filters_and_preferences_select_and_penalize_by_name() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("tico19_test.tsv", 40);
    let (arabic, english) = &pairs[3];
    let with = |domain: &str, client_name: &str, project: &str| UnitInput {
        domain: domain.into(),
        client: client_name.into(),
        project: project.into(),
        ..unit(arabic, english, domain)
    };
    let ids = add(&mut client, vec![with("health", "who", "covid"), with("tech", "acme", "launch")]).await;
    // Filter: only tech units.
    let request =
        LookupRequest { filter: Some(UnitFilter { domains: vec!["tech".into()], ..Default::default() }), ..ar(arabic) };
    let matches = lookup(&mut client, request).await;
    assert_eq!(matches.iter().map(|m| m.unit_id).collect::<Vec<_>>(), [ids[1]]);
    assert_eq!(matches[0].unit.as_ref().unwrap().client, "acme");
    // Preferences: the health unit for WHO ranks first; the other loses
    // points for each field that differs, each named.
    let request = LookupRequest {
        preferences: vec![
            MetadataPreference { field: MetadataField::Client as i32, value: "who".into(), points: 3 },
            MetadataPreference { field: MetadataField::Project as i32, value: "covid".into(), points: 2 },
        ],
        ..ar(arabic)
    };
    let matches = lookup(&mut client, request).await;
    assert_eq!((matches[0].unit_id, matches[0].score), (ids[0], 100));
    assert_eq!((matches[1].unit_id, matches[1].score), (ids[1], 95));
    assert_eq!(kinds(&matches[1]), ["client_mismatch", "project_mismatch"]);
    assert_eq!(matches[1].penalties[0].reason, "client is \"acme\", not the preferred \"who\"");
    // An unset field is an error naming it.
    let request = LookupRequest {
        preferences: vec![MetadataPreference { field: 0, value: "x".into(), points: 3 }],
        ..ar(arabic)
    };
    assert_eq!(
        failure(client.lookup(request).await),
        (Code::InvalidArgument, "preferences[0].field: must be domain, client, project or created_by".into())
    );
    let request =
        LookupRequest { filter: Some(UnitFilter { changed_after_ms: -1, ..Default::default() }), ..ar(arabic) };
    assert_eq!(failure(client.lookup(request).await).0, Code::InvalidArgument);
}

#[tokio::test]
async fn several_translations_are_all_returned_newest_first_with_a_named_penalty_and_freshness_weighs_age() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let arabic = "أعلنت شركة تويتر عن تحديث جديد للتطبيق";
    let day = 86_400_000i64;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let old = UnitInput {
        created_at_ms: (now - 3 * 365 * day) / 1000 * 1000,
        ..unit(arabic, "Twitter announced a new update to the app", "news")
    };
    let new = UnitInput {
        created_at_ms: (now - 10 * day) / 1000 * 1000,
        ..unit(arabic, "X announced a new update to the app", "news")
    };
    // The older one is added last: ids do not decide, dates do.
    let ids = add(&mut client, vec![new, old]).await;
    let matches = lookup(&mut client, ar(arabic)).await;
    assert_eq!(matches.iter().map(|m| m.unit_id).collect::<Vec<_>>(), ids);
    for m in &matches {
        assert_eq!(m.score, 99);
        assert_eq!(kinds(m), ["several_translations"]);
    }
    // Freshness: half-life one year, at most 6 points.
    let request = LookupRequest { freshness: Some(Freshness { half_life_days: 365, max_points: 6 }), ..ar(arabic) };
    let matches = lookup(&mut client, request.clone()).await;
    assert_eq!(matches[0].unit_id, ids[0]);
    // 3 years: 6 × (1 − 2^−3) = 5.25 → 5; 10 days: 6 × (1 − 2^(−10/365)) = 0.11 → 0.
    assert_eq!(kinds(&matches[1]), ["age", "several_translations"]);
    assert_eq!((matches[0].score, matches[1].score), (99, 94));
    assert_eq!(matches, lookup(&mut client, LookupRequest { exhaustive: true, ..request }).await);
    let request = LookupRequest { freshness: Some(Freshness { half_life_days: 0, max_points: 6 }), ..ar(arabic) };
    assert_eq!(
        failure(client.lookup(request).await),
        (Code::InvalidArgument, "freshness.half_life_days: is 0; it must be between 1 and 36500".into())
    );
}

#[tokio::test]
async fn an_exact_match_stored_with_the_same_context_scores_101() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 12);
    // Sentence 5 of the article, stored with its neighbours.
    let stored = UnitInput {
        context_before: pairs[4].0.clone(),
        context_after: pairs[6].0.clone(),
        ..unit(&pairs[5].0, &pairs[5].1, "news")
    };
    add(&mut client, vec![stored]).await;
    let in_context =
        LookupRequest { context_before: pairs[4].0.clone(), context_after: pairs[6].0.clone(), ..ar(&pairs[5].0) };
    let best = lookup(&mut client, in_context.clone()).await.remove(0);
    assert_eq!(best.score, 101);
    assert!(best.explanation.as_ref().unwrap().in_context);
    assert_eq!(best.unit.as_ref().unwrap().context_before, pairs[4].0);
    // Only the previous segment given: it must match.
    let before_only = LookupRequest { context_before: pairs[4].0.clone(), ..ar(&pairs[5].0) };
    assert_eq!(lookup(&mut client, before_only).await[0].score, 101);
    // Another context, or none: an exact match, 100.
    let elsewhere = LookupRequest { context_before: pairs[9].0.clone(), ..ar(&pairs[5].0) };
    assert_eq!(lookup(&mut client, elsewhere).await[0].score, 100);
    assert_eq!(lookup(&mut client, ar(&pairs[5].0)).await[0].score, 100);
    // min_score 101 keeps only in-context matches.
    let strict = LookupRequest { min_score: Some(101), ..in_context };
    assert_eq!(lookup(&mut client, strict.clone()).await.len(), 1);
    assert!(lookup(&mut client, LookupRequest { context_before: pairs[9].0.clone(), ..strict }).await.is_empty());
}

#[tokio::test]
async fn concordance_finds_words_with_their_clitics_newest_first_paged_with_spans() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 1400);
    for chunk in pairs.chunks(500) {
        add(&mut client, chunk.iter().map(|(a, e)| unit(a, e, "news")).collect()).await;
    }
    let request = ConcordanceRequest { text: "شركة".into(), lang: "ar".into(), page_size: 7, ..Default::default() };
    let mut seen = Vec::new();
    let mut forms = std::collections::BTreeSet::new();
    let mut page = client.concordance(request.clone()).await.unwrap().into_inner();
    loop {
        for hit in &page.hits {
            let unit = hit.unit.as_ref().unwrap();
            assert_eq!(hit.lang, "ar");
            assert!(!hit.spans.is_empty());
            for span in &hit.spans {
                let word: String =
                    unit.arabic.chars().skip(span.start as usize).take((span.end - span.start) as usize).collect();
                // The word itself, with its clitics and suffixes.
                assert!(dhakira::text::words(&word).len() == 1, "{word}");
                assert!(word.contains("شرك"), "{word}");
                forms.insert(word);
            }
            seen.push(unit.unit_id);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page = client
            .concordance(ConcordanceRequest { page_token: page.next_page_token.clone(), ..request.clone() })
            .await
            .unwrap()
            .into_inner();
    }
    // Newest first, no unit twice, every page full but the last.
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    let expected = pairs
        .iter()
        .filter(|(a, _)| {
            dhakira::text::tokens(a, dhakira::Lang::Arabic)
                .iter()
                .any(|t| t.key == dhakira::text::tokens("شركة", dhakira::Lang::Arabic)[0].key)
        })
        .count();
    assert_eq!(seen.len(), expected);
    assert!(expected > 14, "{expected}");
    // شركة finds الشركة, والشركة, لشركة…: more than one form.
    assert!(forms.iter().any(|f| f.starts_with("ال")) && forms.len() >= 3, "{forms:?}");

    // Either side: a Latin name is found in English and inside Arabic.
    let either = ConcordanceRequest { text: "Twitter".into(), page_size: 100, ..Default::default() };
    let hits = client.concordance(either).await.unwrap().into_inner().hits;
    assert!(hits.iter().any(|h| h.lang == "en"));
    // A bad token and a bad page size name the field.
    let bad = ConcordanceRequest { page_token: "zzz".into(), ..request.clone() };
    assert_eq!(failure(client.concordance(bad).await).0, Code::InvalidArgument);
    let bad = ConcordanceRequest { page_size: 1000, ..request };
    let (code, message) = failure(client.concordance(bad).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.starts_with("page_size: is 1000"), "{message}");
}

#[tokio::test]
async fn units_are_updated_used_deleted_by_filter_and_conflicts_reported() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("flores200_devtest.tsv", 30);
    let units: Vec<UnitInput> = pairs
        .iter()
        .enumerate()
        .map(|(i, (a, e))| UnitInput { domain: if i % 3 == 0 { "sport" } else { "tech" }.into(), ..unit(a, e, "news") })
        .collect();
    let ids = add(&mut client, units).await;

    // UpdateUnit: a new English side; lookups return it.
    let update = UpdateUnitRequest {
        unit_id: ids[4],
        unit: Some(UnitInput {
            english: "A corrected translation.".into(),
            note: "ignored".into(),
            ..Default::default()
        }),
        update_mask: vec!["english".into()],
        changed_by: "huda".into(),
    };
    let updated = client.update_unit(update.clone()).await.unwrap().into_inner();
    assert_eq!(
        (updated.english.as_str(), updated.note.as_str(), updated.changed_by.as_str()),
        ("A corrected translation.", "", "huda")
    );
    assert!(updated.changed_at_ms > 0);
    assert_eq!(lookup(&mut client, ar(&pairs[4].0)).await[0].target, "A corrected translation.");
    // A new Arabic side: the index follows.
    let new_arabic = format!("{} اليوم", pairs[4].0);
    let update_arabic = UpdateUnitRequest {
        unit: Some(UnitInput { arabic: new_arabic.clone(), ..Default::default() }),
        update_mask: vec!["arabic".into()],
        ..update.clone()
    };
    client.update_unit(update_arabic).await.unwrap();
    assert_eq!(lookup(&mut client, ar(&new_arabic)).await[0].unit_id, ids[4]);
    assert!(lookup(&mut client, ar(&pairs[4].0)).await[0].score < 100);
    // Errors: no mask, an unknown field, a pair stored already, no unit.
    let cases = [
        (UpdateUnitRequest { update_mask: vec![], ..update.clone() }, Code::InvalidArgument, "update_mask: is empty"),
        (
            UpdateUnitRequest { update_mask: vec!["score".into()], ..update.clone() },
            Code::InvalidArgument,
            "update_mask[0]: \"score\" is not a field that can be changed",
        ),
        (
            UpdateUnitRequest {
                unit: Some(UnitInput { arabic: pairs[5].0.clone(), english: pairs[5].1.clone(), ..Default::default() }),
                update_mask: vec!["arabic".into(), "english".into()],
                ..update.clone()
            },
            Code::AlreadyExists,
            "unit: unit",
        ),
        (UpdateUnitRequest { unit_id: 999_999, ..update.clone() }, Code::NotFound, "unit_id: no unit has id 999999"),
        (
            UpdateUnitRequest {
                unit: Some(UnitInput::default()),
                update_mask: vec!["english".into()],
                ..update.clone()
            },
            Code::InvalidArgument,
            "unit.english: must not be empty",
        ),
    ];
    for (request, code, message) in cases {
        let (got, text) = failure(client.update_unit(request).await);
        assert_eq!(got, code, "{text}");
        assert!(text.starts_with(message), "{text}");
    }

    // ConfirmUse: counted and dated, durably.
    client.confirm_use(ConfirmUseRequest { unit_id: ids[7] }).await.unwrap();
    let used = client.confirm_use(ConfirmUseRequest { unit_id: ids[7] }).await.unwrap().into_inner();
    assert_eq!(used.usage_count, 2);
    assert!(used.last_used_at_ms > 0);
    let stored = client.get_unit(GetUnitRequest { unit_id: ids[7] }).await.unwrap().into_inner();
    assert_eq!(stored.usage_count, 2);
    assert_eq!(failure(client.confirm_use(ConfirmUseRequest { unit_id: 0 }).await).0, Code::InvalidArgument);

    // Conflicts: the same Arabic with two English sides.
    add(&mut client, vec![unit(&pairs[9].0, "Another translation entirely.", "news")]).await;
    let report = client.conflicts(ConflictsRequest::default()).await.unwrap().into_inner();
    assert_eq!(report.total, 1);
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.memory.as_str(), conflict.source_lang.as_str()), ("news", "ar"));
    assert_eq!(conflict.units.len(), 2);
    assert_eq!(conflict.units[1].unit_id, ids[9]);

    // DeleteUnits by filter: a dry run counts, then the sport units go.
    let sport = || Some(UnitFilter { domains: vec!["sport".into()], ..Default::default() });
    let request = DeleteUnitsRequest { memories: vec!["news".into()], filter: sport(), dry_run: true };
    assert_eq!(client.delete_units(request.clone()).await.unwrap().into_inner().deleted, 10);
    assert_eq!(
        client
            .delete_units(DeleteUnitsRequest { dry_run: false, ..request.clone() })
            .await
            .unwrap()
            .into_inner()
            .deleted,
        10
    );
    assert_eq!(client.delete_units(request).await.unwrap().into_inner().deleted, 0);
    let left = lookup(
        &mut client,
        LookupRequest { filter: sport(), min_score: Some(0), max_results: Some(100), ..ar(&pairs[3].0) },
    )
    .await;
    assert!(left.is_empty());
    let unknown = DeleteUnitsRequest { memories: vec!["nope".into()], ..Default::default() };
    assert_eq!(failure(client.delete_units(unknown).await).0, Code::NotFound);
}

#[tokio::test]
async fn lookup_stream_answers_each_request_in_order_and_ends_on_a_bad_one() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let pairs = corpus_pairs("ntrex128.tsv", 200);
    add(&mut client, pairs.iter().map(|(a, e)| unit(a, e, "news")).collect()).await;
    let requests: Vec<LookupRequest> = (100..140).map(|i| ar(&pairs[i].0)).collect();
    let mut responses = client.lookup_stream(tokio_stream::iter(requests)).await.unwrap().into_inner();
    let mut i = 100;
    while let Some(response) = responses.message().await.unwrap() {
        assert_eq!(response.matches[0].target, pairs[i].1);
        i += 1;
    }
    assert_eq!(i, 140);
    let requests = vec![ar(&pairs[1].0), LookupRequest { source_lang: "fr".into(), ..ar("x") }, ar(&pairs[2].0)];
    let mut responses = client.lookup_stream(tokio_stream::iter(requests)).await.unwrap().into_inner();
    assert_eq!(responses.message().await.unwrap().unwrap().matches[0].target, pairs[1].1);
    let status = responses.message().await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("source_lang: unknown language \"fr\""), "{}", status.message());
}

/// An article from NTREX-128 (consecutive news sentences) against a memory
/// holding the rest of the news corpus, plus an earlier version of the
/// article: some sentences stored in context, some without it, some edited.
#[tokio::test]
async fn a_real_article_is_analyzed_and_pretranslated_against_the_rest_of_the_corpus() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let ntrex = corpus_pairs("ntrex128.tsv", 2000);
    let article: Vec<(String, String)> = ntrex[400..424].to_vec();
    // The rest of the news corpus.
    let mut rest: Vec<(String, String)> = ntrex[..400].iter().chain(&ntrex[424..]).cloned().collect();
    for file in ["flores200_devtest.tsv", "tico19_test.tsv", "wmt24pp_ar_SA.tsv"] {
        rest.extend(corpus_pairs(file, 2000));
    }
    for chunk in rest.chunks(5000) {
        add(&mut client, chunk.iter().map(|(a, e)| unit(a, e, "reference")).collect()).await;
    }
    // The earlier version: sentences 0–7 stored in context, 8–11 without
    // it, 12–15 with their last word missing; 16–23 are new.
    let context =
        |i: usize, side: fn(&(String, String)) -> &String| article.get(i).map(side).cloned().unwrap_or_default();
    let mut earlier = Vec::new();
    for (i, (a, e)) in article.iter().enumerate() {
        match i {
            0..8 => earlier.push(UnitInput {
                context_before: if i == 0 { String::new() } else { context(i - 1, |p| &p.0) },
                context_after: context(i + 1, |p| &p.0),
                ..unit(a, e, "client")
            }),
            8..12 => earlier.push(unit(a, e, "client")),
            12..16 => earlier.push(unit(a.rsplit_once(' ').unwrap().0, e, "client")),
            _ => {}
        }
    }
    add(&mut client, earlier).await;

    // The article as a translator receives it: paragraphs of up to four
    // sentences, one per line (a sentence the corpus gives without final
    // punctuation ends its paragraph), and one sentence repeated at the
    // end.
    let mut text = String::new();
    for (i, (a, _)) in article.iter().enumerate() {
        if i > 0 {
            let previous = article[i - 1].0.trim_end_matches(['"', '»', '\'', ')']);
            let ended = previous.ends_with(['.', '!', '?', '؟', '…']);
            text.push(if ended && i % 4 != 0 { ' ' } else { '\n' });
        }
        text.push_str(a);
    }
    text.push('\n');
    text.push_str(&article[20].0);
    let request = AnalyzeRequest {
        text: text.clone(),
        source_lang: "ar".into(),
        memories: vec!["client".into(), "reference".into()],
        include_segments: true,
        ..Default::default()
    };
    let analysis = client.analyze(request.clone()).await.unwrap().into_inner();
    // The segmenter splits the paragraphs back into the article's sentences.
    let segments: Vec<&str> = analysis.segments.iter().map(|s| s.text.as_str()).collect();
    let mut expected: Vec<&str> = article.iter().map(|(a, _)| a.as_str()).collect();
    expected.push(&article[20].0);
    assert_eq!(segments, expected);
    let bands: Vec<&str> = analysis.segments.iter().map(|s| s.band.as_str()).collect();
    assert_eq!(bands[..8], ["101"; 8]);
    assert_eq!(bands[8..12], ["100"; 4]);
    for (i, segment) in analysis.segments.iter().enumerate().take(16).skip(12) {
        let best = segment.best.as_ref().unwrap();
        let n = dhakira::text::words(&article[i].0).len() as u32;
        // One word missing: ⌊100·(n−1)/n⌋, and at most 94 (a word edit).
        assert_eq!(best.score, (100 * (n - 1) / n).min(94), "{}", segment.text);
        assert_eq!(best.memory, "client");
    }
    assert_eq!(bands[24], "repetitions");
    // New sentences match nothing of the article itself.
    for segment in &analysis.segments[16..24] {
        if let Some(best) = &segment.best {
            assert_ne!(best.memory, "client");
            assert!(best.score < 100);
        }
    }
    // The bands add up, in segments and words.
    let count = |name: &str| analysis.bands.iter().find(|b| b.name == name).unwrap().clone();
    assert_eq!((count("101").segments, count("100").segments, count("repetitions").segments), (8, 4, 1));
    assert_eq!(analysis.bands.iter().map(|b| b.segments).sum::<u32>(), 25);
    assert_eq!(analysis.total_words, analysis.bands.iter().map(|b| b.words).sum::<u32>());
    let words_101: u32 = article[..8].iter().map(|(a, _)| dhakira::text::words(a).len() as u32).sum();
    assert_eq!(count("101").words, words_101);
    // The same document sent as segments gives the same analysis.
    let as_segments =
        AnalyzeRequest { text: String::new(), segments: expected.iter().map(|s| s.to_string()).collect(), ..request };
    assert_eq!(client.analyze(as_segments).await.unwrap().into_inner(), analysis);

    // Pretranslation with the command line, against the running server.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("article.txt");
    std::fs::write(&file, &text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["pretranslate", "--server", &server.addr, "--memory", "client", "--memory", "reference"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tsv = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<Vec<&str>> = tsv.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 25);
    for (i, row) in rows.iter().enumerate().take(12) {
        assert_eq!(row[0], article[i].0);
        assert_eq!(row[4], article[i].1, "segment {i}");
    }
    assert_eq!(rows[0][1..3], ["101", "101"]);
    // And the analysis table, from the command line.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["analyze", "--tsv", "--server", &server.addr, "--memory", "client", "--memory", "reference"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.lines().any(|l| l.starts_with("101\t8\t")), "{table}");
    assert!(table.lines().any(|l| l == format!("total\t25\t{}\t100.0", analysis.total_words)), "{table}");
}

#[tokio::test]
async fn analyze_refuses_a_document_given_twice_or_not_at_all() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let both =
        AnalyzeRequest { segments: vec!["a".into()], text: "b".into(), source_lang: "ar".into(), ..Default::default() };
    assert_eq!(
        failure(client.analyze(both).await),
        (Code::InvalidArgument, "text: give the document as segments or as text, not both".into())
    );
    let none = AnalyzeRequest { source_lang: "ar".into(), ..Default::default() };
    assert_eq!(failure(client.analyze(none).await).0, Code::InvalidArgument);
    let no_lang = AnalyzeRequest { text: "مرحبا".into(), ..Default::default() };
    assert_eq!(
        failure(client.analyze(no_lang).await),
        (Code::InvalidArgument, "source_lang: is required: \"ar\" or \"en\"".into())
    );
}
