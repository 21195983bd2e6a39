//! Fuzzes the gRPC requests: arbitrary bytes decoded as the protobuf
//! messages of `dhakira.v1`, converted as the server converts them, then
//! validated and run by the engine on an in-memory `TranslationMemory`, no
//! server involved.
//!
//! The first byte picks the message (modulo 7): `LookupRequest`,
//! `AddUnitsRequest`, `UpdateUnitRequest`, `ConcordanceRequest`,
//! `AnalyzeRequest`, `DeleteUnitsRequest`, `ImportRequest`; the rest is the
//! encoded message. Malformed protobuf must be a decoding error, never a
//! panic. For a decoded message, the target panics (a finding) if:
//!
//! - validation or the engine panics;
//! - an error is not a request error naming a field of that request:
//!   `InvalidArgument`, `NotFound` or `AlreadyExists` whose field is a path
//!   (`text`, `units[3].arabic`, `filter.domains[0]`, `text (sentence 2)`)
//!   rooted at a field of the message, and whose message is
//!   `"{field}: {reason}"`. No other error may come from an in-memory store;
//! - validation and the engine disagree: `LookupRequest::validate` fails iff
//!   `lookup` fails with the same error (or `lookup` fails only with
//!   `NOT_FOUND` for an unknown memory); `add_units` fails with the first
//!   unit's `UnitInput::validate` error;
//! - a lookup's matches are not sorted by score (descending), score above
//!   101 or below `min_score`, more than `max_results`, outside the memories
//!   or the filter asked for, or differ (ids and scores) from the same lookup
//!   with `exhaustive` flipped (the index is lossless; not compared with
//!   `freshness`, which reads the clock);
//! - units just added cannot be read back, or the first one's English is not
//!   found by a lookup at 99 or more;
//! - a concordance page holds more units than its size, spans outside the
//!   text, hits outside the memories or side asked for, or the next page
//!   repeats a unit; an analysis' band counts do not add up to its totals,
//!   or a segment is in the wrong band; a dry-run deletion counts more units
//!   than stored (or, unfiltered, not all of them);
//! - `UnitEdit::apply` on a stored unit changes a field not in the mask;
//! - an import's counts do not add up (`read` = added, updated, duplicates,
//!   kept_newer and rejected together), or a unit batch's rejection reason
//!   does not start with a field path; import options that pass the
//!   server's checks (`ImportOptions::try_from`) do not import one valid
//!   unit into the memory, domain and source document they name.
//!
//! One memory is shared by all inputs (a `static OnceLock`), seeded with 20
//! Arabic–English pairs; `AddUnitsRequest`s grow it until it holds 5,000
//! units. Deletions are always dry runs; updates are checked with
//! `UnitEdit::check` / `apply`, not stored. Imports go to a fresh memory
//! each time. Because adds persist between inputs, a finding in a lookup may
//! depend on units added by earlier inputs: replay with the same corpus order,
//! or add the units to the crashing input.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use dhakira::analysis::{AnalyzeRequest, BANDS, MAX_SEGMENTS};
use dhakira::import::{import, import_units, Format, ImportOptions};
use dhakira::matching::{Facet, UnitFilter};
use dhakira::proto;
use dhakira::proto::import_request::Item;
use dhakira::text::words;
use dhakira::unit::MAX_SEGMENT_CHARS;
use dhakira::{
    ConcordanceRequest, Error, Lang, LookupRequest, TranslationMemory, UnitEdit, UnitInput, MAX_SCORE,
    MAX_UNITS_PER_REQUEST,
};
use prost::Message;

/// Inputs longer than this are skipped.
const MAX_INPUT: usize = 64 << 10;

/// Texts longer than this (in chars) are too slow to look up at fuzzing
/// speed; texts over the library's limit are still tried (validation
/// rejects them at once).
const MAX_TEXT: usize = 2_000;

/// The shared memory stops growing at this many units.
const MAX_UNITS: u64 = 5_000;

/// Most units of one add request that is stored.
const MAX_ADDED_PER_INPUT: usize = 100;

/// Most segments of a document that is analyzed (each is a lookup).
const MAX_ANALYZED_SEGMENTS: usize = 32;

/// Checks one input; panics on a finding.
pub fn check(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Some((&selector, bytes)) = data.split_first() else { return };
    match selector % 7 {
        0 => {
            if let Ok(r) = proto::LookupRequest::decode(bytes) {
                lookup(r);
            }
        }
        1 => {
            if let Ok(r) = proto::AddUnitsRequest::decode(bytes) {
                add_units(r);
            }
        }
        2 => {
            if let Ok(r) = proto::UpdateUnitRequest::decode(bytes) {
                update_unit(r);
            }
        }
        3 => {
            if let Ok(r) = proto::ConcordanceRequest::decode(bytes) {
                concordance(r);
            }
        }
        4 => {
            if let Ok(r) = proto::AnalyzeRequest::decode(bytes) {
                analyze(r);
            }
        }
        5 => {
            if let Ok(r) = proto::DeleteUnitsRequest::decode(bytes) {
                delete_units(r);
            }
        }
        _ => {
            if let Ok(r) = proto::ImportRequest::decode(bytes) {
                import_request(r);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The shared memory.

/// (arabic, english, memory, domain, client, context_before)
const SEEDS: [(&str, &str, &str, &str, &str, &str); 20] = [
    ("أعلنت شركة Tencent عن نموذج Hunyuan الجديد.", "Tencent announced its new Hunyuan model.", "", "tech", "acme", ""),
    ("أطلقت علي بابا نموذج Qwen-7B-Chat.", "Alibaba released the Qwen-7B-Chat model.", "", "tech", "acme", ""),
    ("بلغت الإيرادات ٣٫٥ مليار دولار في عام ٢٠٢٣.", "Revenue reached $3.5 billion in 2023.", "news", "finance", "", ""),
    (
        "قال المتحدث إن النموذج يدعم اللغة العربية.",
        "The spokesman said the model supports Arabic.",
        "news",
        "tech",
        "",
        "",
    ),
    ("هل سيصل إلى الأسواق قريبًا؟", "Will it reach the markets soon?", "news", "", "", ""),
    ("زوروا موقعنا www.example.com للمزيد.", "Visit our site www.example.com for more.", "", "web", "", ""),
    ("راسلونا على info@example.org", "Write to us at info@example.org", "", "web", "", ""),
    ("تابعونا على @AIatMeta", "Follow us on @AIatMeta", "", "web", "", ""),
    ("تعذر فتح الملف %s", "Failed to open the file %s", "ui", "software", "gnome", ""),
    ("تم حذف {0} من العناصر", "{0} items were deleted", "ui", "software", "gnome", ""),
    ("انقر <b>هنا</b> للمتابعة", "Click <b>here</b> to continue", "ui", "software", "kde", ""),
    ("حفظ", "Save", "ui", "software", "kde", ""),
    ("حفظ", "Store", "ui", "software", "gnome", ""),
    ("إلغاء", "Cancel", "ui", "software", "", ""),
    ("وقع الزلزال في ١٢ مارس ٢٠١١.", "The earthquake struck on 12 March 2011.", "news", "news", "", ""),
    ("ارتفع عدد المستخدمين إلى 1,000,000 مستخدم.", "The number of users rose to 1,000,000.", "news", "tech", "", ""),
    (
        "وأضاف أن العمل مستمر.",
        "He added that the work continues.",
        "news",
        "news",
        "",
        "قال المتحدث إن النموذج يدعم اللغة العربية.",
    ),
    ("كَشَفَتْ الشركةُ عن نتائجها.", "The company disclosed its results.", "news", "finance", "", ""),
    ("\u{200F}مرحبا بكم\u{200E}", "Welcome", "", "", "", ""),
    ("الذكاء الاصطناعي يغير العالم", "Artificial intelligence is changing the world", "", "tech", "acme", ""),
];

fn tm() -> &'static TranslationMemory {
    static TM: OnceLock<TranslationMemory> = OnceLock::new();
    TM.get_or_init(|| {
        let tm = TranslationMemory::in_memory();
        let units = SEEDS
            .iter()
            .enumerate()
            .map(|(i, &(arabic, english, memory, domain, client, context_before))| UnitInput {
                arabic: arabic.into(),
                english: english.into(),
                memory: memory.into(),
                domain: domain.into(),
                client: client.into(),
                created_by: if i % 2 == 0 { "sara".into() } else { "omar".into() },
                created_at_ms: 1_600_000_000_000 + i as i64 * 86_400_000,
                context_before: context_before.into(),
                ..UnitInput::default()
            })
            .collect();
        tm.add_units(units).expect("the seed units are valid");
        tm
    })
}

fn total_units() -> u64 {
    tm().stats().total_units
}

// ---------------------------------------------------------------------------
// Errors name the field.

/// The field names of a message of `dhakira.v1`, read from the file
/// descriptor the server serves for reflection: the one list of a request's
/// fields, so a new proto field needs no edit here.
fn fields(message: &str) -> &'static [&'static str] {
    static FIELDS: OnceLock<HashMap<String, Vec<&'static str>>> = OnceLock::new();
    let all = FIELDS.get_or_init(|| {
        let set =
            prost_types::FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).expect("the contract's descriptor");
        set.file
            .iter()
            .flat_map(|file| &file.message_type)
            .map(|m| {
                let names = m.field.iter().map(|f| &*f.name().to_owned().leak()).collect();
                (m.name().to_owned(), names)
            })
            .collect()
    });
    all.get(message).unwrap_or_else(|| panic!("dhakira.v1 has no message {message}"))
}

/// Checks that `err` is a request error naming a field path rooted at one
/// of `roots`, displayed as `"{field}: {reason}"`.
fn check_error(err: &Error, roots: &[&str], what: &str) {
    match err {
        Error::InvalidArgument { field, reason }
        | Error::NotFound { field, reason }
        | Error::AlreadyExists { field, reason } => {
            assert!(!reason.is_empty(), "{what}: an error without a reason: {err:?}");
            assert_eq!(err.to_string(), format!("{field}: {reason}"), "{what}: {err:?}");
            assert!(
                is_field_path(field, roots),
                "{what}: the error {:?} does not start with a field path of the request ({roots:?})",
                err.to_string()
            );
        }
        other => panic!("{what}: {other} ({other:?}) is not a request error, from an in-memory store"),
    }
}

/// `name([i])*(.name([i])*)*`, its first name one of `roots`, optionally
/// followed by ` (sentence N)` (analysis of a text).
fn is_field_path(field: &str, roots: &[&str]) -> bool {
    let path = match field.split_once(" (sentence ") {
        Some((path, rest)) => match rest.strip_suffix(')') {
            Some(n) if is_number(n) && n != "0" => path,
            _ => return false,
        },
        None => field,
    };
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    path_part(first).is_some_and(|root| roots.contains(&root)) && parts.all(|p| path_part(p).is_some())
}

/// The name of one part of a field path, `name` or `name[i]…`, if it is one.
fn path_part(part: &str) -> Option<&str> {
    let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
    let name_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    // The indexes after the first `[`: "0]", "0][1]"…
    let indexes_ok =
        indexes.is_empty() || indexes.strip_suffix(']').is_some_and(|inner| inner.split("][").all(is_number));
    (name_ok && indexes_ok).then_some(name)
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Longer than fuzzing can afford, yet within the library's limit (over it,
/// validation rejects the text at once).
fn too_slow(text: &str) -> bool {
    let chars = text.chars().count();
    chars > MAX_TEXT && chars <= MAX_SEGMENT_CHARS
}

// ---------------------------------------------------------------------------
// Lookup.

fn lookup(r: proto::LookupRequest) {
    if [&r.text, &r.context_before, &r.context_after].into_iter().any(|t| too_slow(t)) {
        return;
    }
    let request = LookupRequest::from(r);
    let validated = request.clone().validate();
    let result = tm().lookup(request.clone());
    let lookup = match (validated, &result) {
        (Err(invalid), Err(err)) => {
            check_error(&invalid, fields("LookupRequest"), "lookup validation");
            assert_eq!(invalid.to_string(), err.to_string(), "validate and lookup fail differently");
            return;
        }
        (Err(invalid), Ok(_)) => panic!("validate refused a lookup that lookup accepted: {invalid}"),
        (Ok(_), Err(err)) => {
            check_error(err, fields("LookupRequest"), "lookup");
            assert!(matches!(err, Error::NotFound { .. }), "lookup refused ({err}) a request that validate accepted");
            return;
        }
        (Ok(lookup), Ok(_)) => lookup,
    };
    let matches = result.unwrap();
    assert!(matches.len() <= lookup.max_results, "{} matches, max_results {}", matches.len(), lookup.max_results);
    for pair in matches.windows(2) {
        assert!(
            pair[0].score >= pair[1].score,
            "matches not sorted by score: {} then {}",
            pair[0].score,
            pair[1].score
        );
    }
    for m in &matches {
        assert!(m.score <= MAX_SCORE, "score {} above {MAX_SCORE}", m.score);
        assert!(m.score >= lookup.min_score, "score {} below min_score {}", m.score, lookup.min_score);
        assert_eq!(m.score, m.explanation.score, "match and explanation scores differ");
        assert!(m.score < MAX_SCORE || m.explanation.in_context, "101 without the context");
        assert_eq!(m.lang, lookup.lang);
        assert!(
            lookup.memories.is_empty() || lookup.memories.contains(&m.unit.memory),
            "a match from memory {:?}, not among {:?}",
            m.unit.memory,
            lookup.memories
        );
        assert!(
            lookup.filter.keeps(&Facet::of(&m.unit), m.unit.changed_or_created_ms()),
            "a match the filter leaves out: {:?}",
            m.unit
        );
    }
    // The index is lossless: the exhaustive scan gives the same answer.
    if lookup.freshness.is_none() {
        let flipped = LookupRequest { exhaustive: !request.exhaustive, ..request };
        let other = tm().lookup(flipped).expect("the same lookup, exhaustive flipped, succeeds");
        let ranked = |ms: &[dhakira::Match]| ms.iter().map(|m| (m.unit.id, m.score)).collect::<Vec<_>>();
        let (indexed, scanned) =
            if lookup.exhaustive { (ranked(&other), ranked(&matches)) } else { (ranked(&matches), ranked(&other)) };
        assert_eq!(indexed, scanned, "the index and the exhaustive scan disagree (unit id, score)");
    }
}

// ---------------------------------------------------------------------------
// AddUnits.

fn add_units(r: proto::AddUnitsRequest) {
    let units: Vec<UnitInput> = r.units.into_iter().map(UnitInput::from).collect();
    let long =
        |u: &UnitInput| [&u.arabic, &u.english, &u.context_before, &u.context_after].into_iter().any(|t| too_slow(t));
    // What validation says about the request, as add_units checks it.
    let expected: Result<Vec<_>, Error> = if units.is_empty() {
        Err(Error::invalid("units", "must not be empty"))
    } else if units.len() > MAX_UNITS_PER_REQUEST {
        Err(Error::invalid(
            "units",
            format!("{} units in one request; the limit is {MAX_UNITS_PER_REQUEST}", units.len()),
        ))
    } else {
        units.iter().enumerate().map(|(i, u)| u.clone().validate(&format!("units[{i}]"))).collect()
    };
    match expected {
        Err(invalid) => {
            check_error(&invalid, &["units"], "unit validation");
            // Refused as a whole: nothing is stored, so the shared memory can take it.
            let err = tm().add_units(units).expect_err("add_units accepted units that validate refuses");
            assert_eq!(err.to_string(), invalid.to_string(), "add_units and validate fail differently");
        }
        Ok(validated) => {
            if units.len() > MAX_ADDED_PER_INPUT || total_units() >= MAX_UNITS || units.iter().any(long) {
                return;
            }
            let added =
                tm().add_units(units.clone()).unwrap_or_else(|err| panic!("add_units refused valid units: {err}"));
            assert_eq!(added.ids.len(), units.len(), "one id per unit");
            assert_eq!(added.added + added.duplicates + added.updated, units.len(), "{added:?}");
            for ((id, unit), input) in added.ids.iter().zip(&validated).zip(&units) {
                let stored = tm().get_unit(*id).unwrap_or_else(|err| panic!("unit {id}, just added: {err}"));
                assert_eq!(
                    (&stored.arabic, &stored.english, &stored.memory),
                    (&unit.arabic, &unit.english, &unit.memory),
                    "unit {id} as stored differs from {input:?}"
                );
            }
            // What was just stored is found.
            let first = &validated[0];
            if !words(&first.english).is_empty() {
                let found = tm()
                    .lookup(LookupRequest {
                        text: first.english.clone(),
                        source_lang: "en".into(),
                        max_results: Some(100),
                        ..LookupRequest::default()
                    })
                    .unwrap_or_else(|err| panic!("looking up a stored English side: {err}"));
                let best = found.first().map(|m| m.score);
                assert!(best.is_some_and(|s| s >= 99), "a stored English side is not found (best {best:?}): {first:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// UpdateUnit.

fn update_unit(r: proto::UpdateUnitRequest) {
    // As the server converts it (`server::conversions`).
    let id = r.unit_id;
    let edit = UnitEdit::from(r);
    if let Err(err) = edit.check() {
        check_error(&err, fields("UpdateUnitRequest"), "UnitEdit::check");
    }
    // The edit applied to a stored unit, without storing it.
    let unit = match tm().get_unit(id) {
        Ok(unit) => unit,
        Err(err) => {
            check_error(&err, &["unit_id"], "get_unit");
            return;
        }
    };
    let v = &edit.values;
    if [&v.arabic, &v.english, &v.context_before, &v.context_after].into_iter().any(|t| too_slow(t)) {
        return;
    }
    let now = 1_700_000_000_123;
    match edit.apply(&unit, now) {
        Err(err) => check_error(&err, fields("UpdateUnitRequest"), "UnitEdit::apply"),
        Ok(new) => {
            assert!(edit.check().is_ok(), "apply accepted an edit that check refuses");
            assert_eq!(new.id, unit.id);
            assert_eq!(new.changed_at_ms, now - now % 1000);
            let named = |f: &str| edit.fields.iter().any(|n| n == f);
            for (field, before, after) in [
                ("arabic", &unit.arabic, &new.arabic),
                ("english", &unit.english, &new.english),
                ("memory", &unit.memory, &new.memory),
                ("note", &unit.note, &new.note),
                ("domain", &unit.domain, &new.domain),
                ("tuid", &unit.tuid, &new.tuid),
            ] {
                assert!(named(field) || before == after, "apply changed {field}, not in the mask {:?}", edit.fields);
            }
            new.check("unit").unwrap_or_else(|err| panic!("apply returned a unit that check refuses: {err}"));
        }
    }
}

// ---------------------------------------------------------------------------
// Concordance.

fn concordance(r: proto::ConcordanceRequest) {
    if too_slow(&r.text) {
        return;
    }
    // As the server converts it (`server::conversions`).
    let request = ConcordanceRequest::from(r);
    let page = match tm().concordance(request.clone()) {
        Ok(page) => page,
        Err(err) => {
            check_error(&err, fields("ConcordanceRequest"), "concordance");
            return;
        }
    };
    let limit = if request.page_size == 0 { 20 } else { request.page_size as usize };
    let langs: Vec<Lang> = match Lang::from_code(&request.lang) {
        Some(lang) => vec![lang],
        None => vec![Lang::Arabic, Lang::English],
    };
    let ids: HashSet<u64> = page.hits.iter().map(|h| h.unit.id).collect();
    assert!(ids.len() <= limit, "{} units on a page of {limit}", ids.len());
    for hit in &page.hits {
        assert!(langs.contains(&hit.lang), "a hit in {:?}, asked {:?}", hit.lang, request.lang);
        assert!(
            request.memories.is_empty() || request.memories.contains(&hit.unit.memory),
            "a hit in memory {:?}",
            hit.unit.memory
        );
        assert!(request.filter.keeps(&Facet::of(&hit.unit), hit.unit.changed_or_created_ms()), "{:?}", hit.unit);
        let chars = hit.unit.side(hit.lang).chars().count();
        for span in &hit.spans {
            assert!(span.start < span.end && span.end <= chars, "span {span:?} in a side of {chars} chars");
        }
    }
    let token = &page.next_page_token;
    if token.is_empty() {
        return;
    }
    // A cursor: the last hit's change time and id.
    let cursor = token.strip_prefix('c').and_then(|t| t.split_once('.'));
    assert!(cursor.is_some_and(|(time, id)| time.parse::<i64>().is_ok() && is_number(id)), "next_page_token {token:?}");
    let next = tm()
        .concordance(ConcordanceRequest { page_token: token.clone(), ..request })
        .unwrap_or_else(|err| panic!("the next page ({token:?}): {err}"));
    for hit in &next.hits {
        assert!(!ids.contains(&hit.unit.id), "unit {} on two pages", hit.unit.id);
    }
}

// ---------------------------------------------------------------------------
// Analyze.

fn analyze(r: proto::AnalyzeRequest) {
    let request = AnalyzeRequest::from(r);
    let document = match request.document() {
        Ok(document) => document,
        Err(err) => {
            check_error(&err, fields("AnalyzeRequest"), "AnalyzeRequest::document");
            // analyze checks the language first, then the document.
            let err2 = tm().analyze(request.clone()).expect_err("analyze accepted a document that document() refuses");
            check_error(&err2, fields("AnalyzeRequest"), "analyze");
            return;
        }
    };
    assert!(!document.is_empty() && document.len() <= MAX_SEGMENTS);
    let chars: usize = document.iter().map(|s| s.chars().count()).sum();
    if document.len() > MAX_ANALYZED_SEGMENTS || chars > 2 * MAX_TEXT {
        return;
    }
    let analysis = match tm().analyze(request) {
        Ok(analysis) => analysis,
        Err(err) => {
            check_error(&err, fields("AnalyzeRequest"), "analyze");
            return;
        }
    };
    let names: Vec<&str> = analysis.bands.iter().map(|b| b.name).collect();
    assert_eq!(names, BANDS, "bands");
    assert_eq!(analysis.total_segments, document.len());
    assert_eq!(analysis.bands.iter().map(|b| b.segments).sum::<usize>(), analysis.total_segments);
    assert_eq!(analysis.bands.iter().map(|b| b.words).sum::<usize>(), analysis.total_words);
    assert_eq!(analysis.segments.len(), document.len());
    for (segment, text) in analysis.segments.iter().zip(&document) {
        assert_eq!(&segment.text, text);
        assert_eq!(segment.words, words(text).len());
        if segment.band != "repetitions" {
            let score = segment.best.as_ref().map(|m| m.score);
            assert_eq!(segment.band, dhakira::analysis::band_of(score), "band of a segment whose best is {score:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// DeleteUnits (dry run only).

fn delete_units(r: proto::DeleteUnitsRequest) {
    // As the server converts it (`server::conversions`); dry_run forced.
    let filter = r.filter.map(UnitFilter::from).unwrap_or_default();
    let unfiltered = r.memories.is_empty() && filter.is_empty();
    let total = total_units();
    match tm().delete_units(&r.memories, filter, true) {
        Ok(count) => {
            assert!(count <= total, "a dry run counts {count} of {total} units");
            assert!(!unfiltered || count == total, "an unfiltered dry run counts {count} of {total} units");
        }
        Err(err) => check_error(&err, fields("DeleteUnitsRequest"), "delete_units"),
    }
    assert_eq!(total_units(), total, "a dry run deleted units");
}

// ---------------------------------------------------------------------------
// Import (one message of the stream).

fn import_request(r: proto::ImportRequest) {
    match r.item {
        None => {}
        Some(Item::Options(options)) => import_with_options(options),
        Some(Item::Chunk(chunk)) => {
            let fresh = TranslationMemory::in_memory();
            let summary = import(&fresh, chunk.as_slice(), &ImportOptions::default(), &mut |_, _| {})
                .unwrap_or_else(|err| panic!("importing into an in-memory store failed: {err}"));
            check_summary(&summary, &fresh);
        }
        Some(Item::Units(batch)) => {
            if batch.units.len() > MAX_UNITS_PER_REQUEST {
                return; // the server refuses the message before importing
            }
            let units: Vec<UnitInput> = batch.units.into_iter().map(UnitInput::from).collect();
            if units.iter().any(|u| [&u.arabic, &u.english].into_iter().any(|t| too_slow(t))) {
                return;
            }
            let count = units.len() as u64;
            let fresh = TranslationMemory::in_memory();
            let summary = import_units(&fresh, std::iter::once(Ok(units)), &ImportOptions::default(), &mut |_, _| {})
                .unwrap_or_else(|err| panic!("importing units into an in-memory store failed: {err}"));
            check_summary(&summary, &fresh);
            assert_eq!(summary.read, count);
            for rejection in &summary.rejections {
                let field = rejection.reason.split_once(": ").map_or("", |(field, _)| field);
                assert!(
                    is_field_path(field, fields("UnitInput")),
                    "a rejected unit's reason does not start with a field path: {:?}",
                    rejection.reason
                );
            }
        }
    }
}

fn check_summary(summary: &dhakira::import::ImportSummary, tm: &TranslationMemory) {
    let stored = summary.added + summary.updated + summary.duplicates + summary.kept_newer;
    assert_eq!(summary.read, stored + summary.rejected, "import counts do not add up: {}", summary.counts());
    assert!(summary.rejections.len() as u64 <= summary.rejected);
    assert_eq!(tm.stats().total_units, summary.added - summary.removed, "{}", summary.counts());
}

/// The options of an import, checked as the server checks them
/// (`ImportOptions::try_from`), then used to import one unit.
fn import_with_options(o: proto::ImportOptions) {
    let checked = ImportOptions::try_from(o);
    let options = match checked {
        Ok(options) => options,
        Err(err) => {
            check_error(&err, &["options"], "import options");
            return;
        }
    };
    // One valid unit, in the format the options name.
    let input: &[u8] = match options.format {
        Some(Format::Tmx) => concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\"><header srclang=\"en\"/><body>\n",
            "<tu><tuv xml:lang=\"ar\"><seg>مرحبا</seg></tuv><tuv xml:lang=\"en\"><seg>Hello</seg></tuv></tu>\n",
            "</body></tmx>\n"
        )
        .as_bytes(),
        Some(Format::Csv) => "arabic,english\nمرحبا,Hello\n".as_bytes(),
        Some(Format::Tsv) | None => "مرحبا\tHello\n".as_bytes(),
    };
    let fresh = TranslationMemory::in_memory();
    let summary = import(&fresh, input, &options, &mut |_, _| {})
        .unwrap_or_else(|err| panic!("importing into an in-memory store failed: {err}"));
    check_summary(&summary, &fresh);
    // The server checks `options.name` too (it stands in for the source
    // document): a fuzzing find, fixed. Input 06 0a 03 3a 01 04
    // (Import{options{name="\x04"}}) is now refused as options.name.
    assert_eq!((summary.read, summary.added), (1, 1), "{:?} with {options:?}", summary);
    let mut units = Vec::new();
    fresh
        .for_each_unit(&mut |u| {
            units.push(u);
            Ok(())
        })
        .unwrap();
    let unit = &units[0];
    assert_eq!(unit.memory, options.memory.as_deref().unwrap_or(dhakira::DEFAULT_MEMORY));
    assert_eq!(unit.domain, options.domain);
    assert_eq!(unit.source_document, options.source_document);
}
