//! Sub-segment matches, fragment assembly and similar documents on the real
//! corpus, through a real server.

use std::collections::HashMap;

use dhakira::proto::{
    AddUnitsRequest, AnalyzeRequest, FragmentKind, GetUnitRequest, LookupRequest, LookupResponse, UnitInput,
};
use tonic::Code;

use crate::common::{corpus_pairs, unit, Client, Server};

async fn add(client: &mut Client, units: Vec<UnitInput>) -> Vec<u64> {
    let mut ids = Vec::new();
    for chunk in units.chunks(5000) {
        ids.extend(client.add_units(AddUnitsRequest { units: chunk.to_vec() }).await.unwrap().into_inner().unit_ids);
    }
    ids
}

async fn lookup(client: &mut Client, text: &str, lang: &str) -> LookupResponse {
    let request = LookupRequest {
        text: text.into(),
        source_lang: lang.into(),
        subsegments: true,
        max_subsegments: Some(100),
        ..Default::default()
    };
    client.lookup(request).await.unwrap().into_inner()
}

/// A stored unit as the brute force reads it.
fn stored(u: dhakira::proto::Unit) -> dhakira::Unit {
    dhakira::Unit {
        id: u.unit_id,
        memory: u.memory,
        arabic: u.arabic,
        english: u.english,
        created_at_ms: u.created_at_ms,
        changed_at_ms: u.changed_at_ms,
        ..Default::default()
    }
}

/// Short units (Tatoeba sentences, Django's interface strings) and news
/// stored; unseen news sentences (WMT24++, Saudi Arabic) and sentences glued
/// from stored units and unseen text looked up in both languages: the
/// fragments equal a brute force over every stored unit
/// (`dhakira::reference::subsegments`), hit for hit and in order.
#[tokio::test]
async fn subsegment_matches_on_the_corpus_equal_a_brute_force_over_every_unit() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let mut pairs = corpus_pairs("tatoeba.tsv", 8000);
    pairs.extend(corpus_pairs("l10n_django.tsv", 1000));
    pairs.extend(corpus_pairs("ntrex128.tsv", 2000));
    let units: Vec<UnitInput> =
        pairs.iter().enumerate().map(|(i, (a, e))| unit(a, e, if i % 3 == 0 { "two" } else { "one" })).collect();
    let ids = add(&mut client, units).await;
    // Every stored unit, as the brute force reads it (times filled in below
    // for those it finds).
    let mut all: Vec<dhakira::Unit> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (id, (a, e)) in ids.iter().zip(&pairs) {
        if seen.insert(*id) {
            all.push(dhakira::Unit { id: *id, arabic: a.clone(), english: e.clone(), ..Default::default() });
        }
    }
    let unseen = corpus_pairs("wmt24pp_ar_SA.tsv", 250);
    let mut queries: Vec<(String, &str)> = Vec::new();
    for (i, (a, e)) in unseen.iter().enumerate() {
        queries.push((a.clone(), "ar"));
        queries.push((e.clone(), "en"));
        // Stored short sentences around an unseen one.
        let (s1, s2) = (&pairs[(i * 37) % 8000], &pairs[(i * 91 + 5) % 8000]);
        queries.push((format!("{} {} {}", s1.0, a, s2.0), "ar"));
        queries.push((format!("{} {} {}", s1.1, e, s2.1), "en"));
    }
    let mut units_by_id: HashMap<u64, dhakira::Unit> = HashMap::new();
    let (mut with_hits, mut hits_total) = (0, 0);
    for (text, lang) in &queries {
        let lang_code = dhakira::Lang::parse(lang, "lang").unwrap();
        let response = lookup(&mut client, text, lang).await;
        // The brute force's hits, over every unit; their stored records
        // (change times break ties) fetched once.
        let rough = dhakira::reference::subsegments(&all, text, lang_code, &[]);
        for &(id, _, _) in &rough {
            if let std::collections::hash_map::Entry::Vacant(entry) = units_by_id.entry(id) {
                let got = client.get_unit(GetUnitRequest { unit_id: id }).await.unwrap().into_inner();
                entry.insert(stored(got));
            }
        }
        let found: Vec<dhakira::Unit> = rough.iter().map(|&(id, _, _)| units_by_id[&id].clone()).collect();
        let mut found_units = found.clone();
        found_units.sort_by_key(|u| u.id);
        found_units.dedup_by_key(|u| u.id);
        let mut expected = dhakira::reference::subsegments(&found_units, text, lang_code, &[]);
        expected.truncate(100);
        let got: Vec<(u64, usize, usize)> = response
            .fragments
            .iter()
            .map(|f| (f.unit_id, f.query_word_start as usize, (f.query_word_end - f.query_word_start) as usize))
            .collect();
        assert_eq!(got, expected, "{text}");
        for f in &response.fragments {
            assert_eq!(f.kind(), FragmentKind::WholeUnit);
            // The span's characters are the unit's words in the query.
            let q = f.query.unwrap();
            let span: String = text.chars().skip(q.start as usize).take((q.end - q.start) as usize).collect();
            assert_eq!(dhakira::text::words(&span), dhakira::text::words(&f.source), "{text}");
            let t = f.target_range.unwrap();
            assert_eq!((t.start, t.end), (0, f.target.chars().count() as u32));
        }
        with_hits += usize::from(!got.is_empty());
        hits_total += got.len();
    }
    assert!(with_hits >= 200, "only {with_hits} of {} queries had sub-segment matches", queries.len());
    assert!(hits_total >= 400, "{hits_total}");
}

/// Sub-segment matches come when asked for, and without asking when no
/// match reaches min_score; the new fields are validated.
#[tokio::test]
async fn subsegments_come_when_asked_or_when_nothing_matches_and_bad_fields_are_named() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    add(
        &mut client,
        vec![
            unit("شركة تينسنت الصينية", "the Chinese company Tencent", "news"),
            unit("على وحدات معالجة الرسومات من إنفيديا", "on Nvidia GPUs", "news"),
        ],
    )
    .await;
    let text = "Shares rose after the Chinese company Tencent said its model runs on Nvidia GPUs";
    let plain = LookupRequest { text: text.into(), source_lang: "en".into(), ..Default::default() };
    let response = client.lookup(plain.clone()).await.unwrap().into_inner();
    assert!(response.matches.is_empty());
    let spans: Vec<(u32, u32, &str)> =
        response.fragments.iter().map(|f| (f.query_word_start, f.query_word_end, f.target.as_str())).collect();
    assert_eq!(spans, [(3, 7, "شركة تينسنت الصينية"), (11, 14, "على وحدات معالجة الرسومات من إنفيديا")]);
    assert!(response.fragments.iter().all(|f| f.in_cover));
    // A match at min_score: fragments only when asked for.
    let matched = LookupRequest { min_score: Some(0), ..plain.clone() };
    let response = client.lookup(matched.clone()).await.unwrap().into_inner();
    assert!(!response.matches.is_empty());
    assert!(response.fragments.is_empty());
    let asked = LookupRequest { subsegments: true, max_subsegments: Some(1), ..matched };
    let response = client.lookup(asked).await.unwrap().into_inner();
    assert_eq!(response.fragments.len(), 1);
    assert_eq!(response.fragments[0].query_word_start, 3, "the longest first");

    // LookupStream answers with the same fragments.
    let stream =
        tokio_stream::iter(vec![plain.clone(), LookupRequest { text: "the Chinese company".into(), ..plain.clone() }]);
    let mut answers = client.lookup_stream(stream).await.unwrap().into_inner();
    let first = answers.message().await.unwrap().unwrap();
    assert_eq!(first.fragments.len(), 2);
    let second = answers.message().await.unwrap().unwrap();
    assert!(second.fragments.is_empty(), "{second:?}");
    assert!(answers.message().await.unwrap().is_none());

    for (request, field) in [
        (LookupRequest { max_subsegments: Some(0), ..plain.clone() }, "max_subsegments"),
        (LookupRequest { max_subsegments: Some(101), ..plain.clone() }, "max_subsegments"),
    ] {
        let status = client.lookup(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{}", status.message());
    }
    let analyze = AnalyzeRequest {
        segments: vec![text.into()],
        source_lang: "en".into(),
        similar_documents: true,
        max_documents: Some(0),
        ..Default::default()
    };
    let status = client.analyze(analyze).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("max_documents"), "{}", status.message());

    // Analyze counts the words fragments cover; pretranslate pastes them.
    let analyze = AnalyzeRequest {
        segments: vec![text.into()],
        source_lang: "en".into(),
        include_segments: true,
        ..Default::default()
    };
    let analysis = client.analyze(analyze).await.unwrap().into_inner();
    assert_eq!(analysis.fragment_words, 7);
    assert_eq!(analysis.segments[0].fragment_words, 7);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("article.txt");
    std::fs::write(&file, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
        .args(["pretranslate", "--server", &server.addr])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tsv = String::from_utf8(output.stdout).unwrap();
    let row: Vec<&str> = tsv.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(
        row[4],
        "Shares rose after شركة تينسنت الصينية said its model runs على وحدات معالجة الرسومات من إنفيديا"
    );
    assert_eq!(row[5], "fragments");
}

/// News articles stored as documents (NTREX-128 in runs of 12 sentences,
/// one `source_document` each); an article sent again with every sentence
/// edited (a word dropped, two words swapped, a number changed) finds its
/// own document first, in both languages, through the server and through
/// `dhakira similar`.
#[tokio::test]
async fn an_edited_article_finds_its_own_document_first() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let ntrex = corpus_pairs("ntrex128.tsv", 2000);
    let articles: Vec<&[(String, String)]> = ntrex.chunks(12).collect();
    let mut units = Vec::new();
    for (k, article) in articles.iter().enumerate() {
        for (a, e) in article.iter() {
            units.push(UnitInput { source_document: format!("ntrex-{k:03}"), ..unit(a, e, "news") });
        }
    }
    // Other documents too.
    for (i, (a, e)) in corpus_pairs("flores200_devtest.tsv", 2000).iter().enumerate() {
        units.push(UnitInput { source_document: format!("flores-{:03}", i / 12), ..unit(a, e, "news") });
    }
    add(&mut client, units).await;
    let edit = |text: &str, i: usize| -> String {
        let mut words: Vec<&str> = text.split(' ').collect();
        if words.len() > 4 {
            match i % 3 {
                0 => {
                    words.pop();
                }
                1 => words.swap(1, 2),
                _ => words.insert(words.len() / 2, "2024"),
            }
        }
        words.join(" ")
    };
    let mut checked = 0;
    for k in [3usize, 17, 40, 66, 101] {
        for lang in ["ar", "en"] {
            let segments: Vec<String> =
                articles[k].iter().enumerate().map(|(i, (a, e))| edit(if lang == "ar" { a } else { e }, i)).collect();
            let request = AnalyzeRequest {
                segments: segments.clone(),
                source_lang: lang.into(),
                similar_documents: true,
                max_documents: Some(3),
                ..Default::default()
            };
            let analysis = client.analyze(request).await.unwrap().into_inner();
            let first = &analysis.similar_documents[0];
            assert_eq!(first.source_document, format!("ntrex-{k:03}"), "{lang} {:?}", analysis.similar_documents);
            assert!(first.segments.len() >= 10, "{:?}", first);
            assert!(analysis.similar_documents.len() <= 3);
            let banded: u32 = first.bands.iter().map(|b| b.segments).sum();
            assert_eq!(banded + first.fragment_segments, first.segments.len() as u32);
            checked += 1;
            if k == 40 && lang == "en" {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("article.txt");
                std::fs::write(&file, segments.join("\n")).unwrap();
                let output = std::process::Command::new(env!("CARGO_BIN_EXE_dhakira"))
                    .args(["similar", "--tsv", "--server", &server.addr])
                    .arg(&file)
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                let out = String::from_utf8(output.stdout).unwrap();
                assert!(out.lines().nth(1).unwrap().starts_with("ntrex-040\t"), "{out}");
            }
        }
    }
    assert_eq!(checked, 10);
}

/// Whether every word of `fragment` occurs in `reference`: by key, the way
/// matching compares words (placeables by value). Written here from the
/// contract, not taken from the server's code.
fn all_in_reference(fragment: &[dhakira::text::Token], reference: &[dhakira::text::Token]) -> bool {
    fragment.iter().all(|w| {
        reference.iter().any(|r| match (&w.placeable, &r.placeable) {
            (None, None) => r.key == w.key,
            _ => r.surface == w.surface,
        })
    })
}

/// Fragments inside units through a real server: the memory is the corpus
/// without a fifth of its news documents (`dhakira::bench::document_split`),
/// the server's own thread trains the word alignment, and sentences of the
/// held-out documents are looked up in both languages at the default
/// confidence. Most returned translations occur in the reference
/// translation, and they cover a good share of the words (README.md,
/// "Fragments inside units", has the figures on every held-out sentence).
#[tokio::test]
async fn aligned_fragments_on_unseen_news_are_mostly_in_the_reference() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let split = dhakira::bench::document_split(&dhakira::bench::corpus_dir()).unwrap();
    let units: Vec<UnitInput> = split.memory.iter().map(|(a, e)| unit(a, e, "news")).collect();
    let stored = add(&mut client, units).await.len() as u64;
    let started = std::time::Instant::now();
    let alignment = loop {
        let stats = client.stats(dhakira::proto::StatsRequest {}).await.unwrap().into_inner();
        let alignment = stats.alignment.unwrap_or_default();
        if alignment.memory_units == stats.total_units && alignment.aligned_units == stats.total_units {
            break alignment;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(300), "no model yet: {alignment:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(alignment.trained_units > stored * 9 / 10 && alignment.model_entries > 100_000, "{alignment:?}");
    for lang in ["en", "ar"] {
        let (mut fragments, mut right, mut words, mut covered) = (0, 0, 0, 0);
        for (ar, en) in split.unseen.iter().step_by(4).take(300) {
            let (text, reference, target_lang) =
                if lang == "en" { (en, ar, dhakira::Lang::Arabic) } else { (ar, en, dhakira::Lang::English) };
            let request = LookupRequest {
                text: text.clone(),
                source_lang: lang.into(),
                aligned_fragments: true,
                ..Default::default()
            };
            let response = client.lookup(request).await.unwrap().into_inner();
            let reference = dhakira::text::tokens(reference, target_lang);
            words += dhakira::text::tokens(text, target_lang.other()).len();
            for f in response.fragments.iter().filter(|f| f.kind() == FragmentKind::Aligned) {
                assert!(
                    f.in_cover && f.confidence >= u32::from(dhakira::DEFAULT_MIN_CONFIDENCE) && f.confidence <= 100
                );
                let target = dhakira::text::tokens(&f.target, target_lang);
                let span = &target[f.target_word_start as usize..f.target_word_end as usize];
                // The character range is the words' range.
                let range = f.target_range.unwrap();
                assert_eq!(
                    (range.start, range.end),
                    (span[0].chars.start as u32, span[span.len() - 1].chars.end as u32)
                );
                fragments += 1;
                right += usize::from(all_in_reference(span, &reference));
                covered += (f.query_word_end - f.query_word_start) as usize;
            }
        }
        let precision = right as f64 / fragments.max(1) as f64;
        let coverage = covered as f64 / words as f64;
        eprintln!("{lang}: {fragments} fragments, precision {precision:.3}, coverage {coverage:.3}");
        assert!(precision >= 0.75 && coverage >= 0.15, "{lang}: precision {precision:.3}, coverage {coverage:.3}");
    }
    // Analyze covers more words of an unseen article with them.
    let article: Vec<String> = split.unseen.iter().take(40).map(|(_, en)| en.clone()).collect();
    let analyze = |aligned_fragments| AnalyzeRequest {
        segments: article.clone(),
        source_lang: "en".into(),
        aligned_fragments,
        ..Default::default()
    };
    let without = client.analyze(analyze(false)).await.unwrap().into_inner().fragment_words;
    let with = client.analyze(analyze(true)).await.unwrap().into_inner().fragment_words;
    assert!(with > without + 100, "{without} → {with}");
    // Bad thresholds are refused, naming the field.
    let bad = LookupRequest {
        text: "the company".into(),
        source_lang: "en".into(),
        aligned_fragments: true,
        min_fragment_confidence: Some(101),
        ..Default::default()
    };
    let status = client.lookup(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("min_fragment_confidence"), "{}", status.message());
}
