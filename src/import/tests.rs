use super::*;
use crate::unit::TagKind;

fn run(tm: &TranslationMemory, input: &[u8], options: &ImportOptions) -> ImportSummary {
    import(tm, input, options, &mut |_, _| {}).unwrap()
}

fn tsv() -> ImportOptions {
    ImportOptions { format: Some(Format::Tsv), ..ImportOptions::default() }
}

#[test]
fn tsv_rejects_bad_lines_alone_with_their_numbers() {
    let tm = TranslationMemory::in_memory();
    let text = "مرحبا\tHello\n\nبلا ترجمة\nواحد\tone\ttwo\n\tempty arabic\nشكرا\tThanks\r\nمرحبا\tHello\n";
    let summary = run(&tm, text.as_bytes(), &tsv());
    assert_eq!((summary.read, summary.added, summary.duplicates), (6, 2, 1));
    let lines: Vec<u64> = summary.rejections.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert_eq!(summary.rejections[2].reason, "arabic: must not be empty");
    assert_eq!(tm.stats().total_units, 2);
}

#[test]
fn a_tsv_line_that_is_not_utf8_is_rejected_alone() {
    let tm = TranslationMemory::in_memory();
    let mut bytes = "مرحبا\tHello\n".as_bytes().to_vec();
    bytes.extend_from_slice(b"caf\xe9\tcafe\n");
    bytes.extend_from_slice("شكرا\tThanks\n".as_bytes());
    let summary = run(&tm, &bytes, &tsv());
    assert_eq!(summary.added, 2);
    assert_eq!(summary.rejected, 1);
    assert_eq!((summary.rejections[0].line, summary.rejections[0].reason.as_str()), (2, "not valid UTF-8"));
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tmx").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Every stored unit, in id order, without its id.
fn units(tm: &TranslationMemory) -> Vec<Unit> {
    let mut units = Vec::new();
    tm.for_each_unit(&mut |unit| {
        units.push(Unit { id: 0, ..unit });
        Ok(())
    })
    .unwrap();
    units
}

fn ids(tm: &TranslationMemory) -> Vec<u64> {
    let mut ids = Vec::new();
    tm.for_each_unit(&mut |unit| {
        ids.push(unit.id);
        Ok(())
    })
    .unwrap();
    ids
}

fn export_to_vec(tm: &TranslationMemory) -> Vec<u8> {
    let mut out = Vec::new();
    crate::export::export(tm, &mut out, &crate::export::ExportFilter::default()).unwrap();
    out
}

/// Imports `input`, exports, imports the export into a new memory: the
/// same units come back, and exporting again gives the same bytes.
fn assert_round_trip(input: &[u8], options: &ImportOptions) -> (TranslationMemory, ImportSummary) {
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, input, options);
    assert_eq!(summary.stopped, None);
    let exported = export_to_vec(&tm);
    let again = TranslationMemory::in_memory();
    let second = run(&again, &exported, &ImportOptions::default());
    assert_eq!((second.added, second.rejected, second.warnings.len()), (summary.added, 0, 0));
    // A unit the file gave no creationdate is dated by its import (and
    // exported without one), so its date is the only thing a second import
    // may change.
    let undated = |mut units: Vec<Unit>| {
        for unit in &mut units {
            if unit.tmx.as_ref().is_some_and(|tmx| tmx.no_creation_date) {
                unit.created_at_ms = 0;
            }
        }
        units
    };
    assert_eq!(undated(units(&again)), undated(units(&tm)));
    assert_eq!(export_to_vec(&again), exported);
    (tm, summary)
}

#[test]
fn inline_markup_and_metadata_survive_export_and_import() {
    let (tm, summary) = assert_round_trip(&fixture("inline_tags.tmx"), &ImportOptions::default());
    assert_eq!(summary.added, 3);
    let stored = units(&tm);
    let paired = &stored[0];
    assert_eq!(paired.tuid, "paired");
    assert_eq!(paired.english, "The Bells of St. Martin's Fall Silent as Churches in Harlem Struggle");
    assert_eq!(paired.note, "bold name");
    assert_eq!(paired.properties, [Property::new("x-domain", "news")]);
    let kinds: Vec<(u32, TagKind)> =
        paired.english_markup.iter().map(|t| (t.offset, TagKind::try_from(t.kind).unwrap())).collect();
    assert_eq!(
        kinds,
        [(13, TagKind::Bpt), (25, TagKind::Ept), (37, TagKind::Ph), (53, TagKind::HiStart), (59, TagKind::HiEnd)]
    );
    assert_eq!(paired.english_markup[0].content, "&lt;b&gt;");
    // The source side is English (the header's srclang).
    let exported = String::from_utf8(export_to_vec(&tm)).unwrap();
    assert!(
        exported.contains(r#"<bpt i="1" type="bold">&lt;b&gt;</bpt>St. Martin's<ept i="1">&lt;/b&gt;</ept>"#),
        "{exported}"
    );
}

#[test]
fn utf16_files_and_odd_language_codes_import_and_keep_their_codes() {
    for name in ["utf16le_bom.tmx", "utf16be_nobom.tmx", "utf8_bom.tmx", "windows1256.tmx"] {
        let (tm, summary) = assert_round_trip(&fixture(name), &ImportOptions::default());
        assert!(summary.added >= 1, "{name}: {summary:?}");
        assert!(!summary.encoding.is_empty());
        assert!(units(&tm).iter().all(|u| u.arabic.chars().any(|c| ('\u{600}'..='\u{6ff}').contains(&c))), "{name}");
    }
    let (tm, summary) = assert_round_trip(&fixture("language_codes.tmx"), &ImportOptions::default());
    assert_eq!((summary.added, summary.rejected), (5, 0));
    let codes: Vec<(String, String)> = units(&tm)
        .into_iter()
        .map(|u| {
            let tmx = u.tmx.unwrap_or_default();
            let code = |side: Option<crate::unit::SideDetails>| side.map(|s| s.lang).unwrap_or_default();
            (code(tmx.arabic), code(tmx.english))
        })
        .collect();
    let expected = [("AR-EG", "EN-GB"), ("ar_EG", "en_US"), ("ara", "eng"), ("arb", "en-us"), ("ar-SA", "EN")];
    assert_eq!(codes, expected.map(|(a, e)| (a.to_owned(), e.to_owned())));
}

#[test]
fn three_languages_take_arabic_and_english_and_report_the_rest() {
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &fixture("languages.tmx"), &ImportOptions::default());
    assert_eq!((summary.read, summary.added, summary.rejected), (5, 3, 2));
    let rejected: Vec<(&str, &str)> = summary.rejections.iter().map(|r| (r.tuid.as_str(), r.reason.as_str())).collect();
    assert_eq!(rejected[0].0, "french-only");
    assert!(rejected[0].1.contains("no Arabic or English variant"), "{}", rejected[0].1);
    assert_eq!(rejected[1].0, "no-english");
    let warnings: Vec<&str> = summary.warnings.iter().map(|w| w.reason.as_str()).collect();
    assert!(warnings.iter().any(|w| w.contains("another language (fr)")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("second English variant (en-GB)")), "{warnings:?}");
    let english: Vec<String> = units(&tm).into_iter().map(|u| u.english).collect();
    assert_eq!(english[1], "His body was found about an hour later.");
}

#[test]
fn broken_xml_stops_with_its_position_and_keeps_what_came_before() {
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &fixture("broken_mismatched.tmx"), &ImportOptions::default());
    let stopped = summary.stopped.clone().expect("the import stops");
    assert!(stopped.starts_with("line 20, column 35: "), "{stopped}");
    assert_eq!(summary.added, 3, "{summary:?}");
    assert_eq!(tm.stats().total_units, 3);
}

#[test]
fn xml_bombs_and_external_entities_are_refused_and_store_nothing() {
    for name in ["billion_laughs.tmx", "xxe.tmx"] {
        let tm = TranslationMemory::in_memory();
        let summary = run(&tm, &fixture(name), &ImportOptions::default());
        let stopped = summary.stopped.unwrap_or_default();
        assert!(!stopped.is_empty(), "{name}");
        assert!(units(&tm).is_empty(), "{name}");
    }
    // An entity used without a DTD rejects its unit alone.
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &fixture("undefined_entity.tmx"), &ImportOptions::default());
    assert_eq!((summary.added, summary.rejected, summary.stopped), (2, 1, None));
    assert_eq!(summary.rejections[0].tuid, "xxe");
    assert!(summary.rejections[0].reason.contains("xxe"), "{}", summary.rejections[0].reason);
}

#[test]
fn rejected_units_are_copied_out_as_a_tmx_that_reads_back() {
    let input = fixture("rejected_units.tmx");
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &input, &ImportOptions::default());
    assert_eq!((summary.added, summary.rejected), (2, 4));
    let spans: Vec<_> =
        summary.rejections.iter().map(|r| (r.span.unwrap().0, r.span.unwrap().1, r.reason.clone())).collect();
    let mut out = Vec::new();
    tmx::copy_units(input.as_slice(), &spans, &mut out).unwrap();
    let copy = String::from_utf8(out.clone()).unwrap();
    assert!(copy.contains(r#"<tu tuid="nul-ref">"#), "{copy}");
    assert!(!copy.contains(r#"tuid="ok1""#), "{copy}");
    // Read again, the copy rejects the same units for the same reasons.
    let again = run(&TranslationMemory::in_memory(), &out, &ImportOptions::default());
    let reasons =
        |s: &ImportSummary| s.rejections.iter().map(|r| (r.tuid.clone(), r.reason.clone())).collect::<Vec<_>>();
    assert_eq!(reasons(&again), reasons(&summary));
    assert_eq!(again.added, 0);
}

fn dated(tuid: &str, arabic: &str, english: &str, date: &str) -> String {
    format!(
        r#"<tu tuid="{tuid}" changedate="{date}"><tuv xml:lang="ar"><seg>{arabic}</seg></tuv><tuv xml:lang="en"><seg>{english}</seg></tuv></tu>"#
    )
}

fn tmx_doc(units: &[String]) -> Vec<u8> {
    format!(r#"<?xml version="1.0"?><tmx version="1.4"><header srclang="en"/><body>{}</body></tmx>"#, units.concat())
        .into_bytes()
}

/// The policies apply to units that are the same unit: one tuid (a unit
/// with another tuid is another unit, see
/// `look_alike_units_are_kept_and_only_true_duplicates_reported`).
#[test]
fn duplicate_policies_add_overwrite_keep_newest() {
    let old = tmx_doc(&[dated("1", "وقال سبب اختفاء البارات أمر مفهوم.", "He said it was clear.", "20200101T000000Z")]);
    let newer = tmx_doc(&[dated("1", "قال إن سبب اختفاء البارات مفهوم.", "He said it was clear.", "20230101T000000Z")]);
    let older = tmx_doc(&[dated("1", "قال إن الأمر واضح.", "He said it was clear.", "20100101T000000Z")]);
    let with = |policy| ImportOptions { policy, ..ImportOptions::default() };

    // Add: both translations of the English source stay.
    let tm = TranslationMemory::in_memory();
    run(&tm, &old, &with(DuplicatePolicy::Add));
    let summary = run(&tm, &newer, &with(DuplicatePolicy::Add));
    assert_eq!((summary.added, summary.updated), (1, 0));
    assert_eq!(units(&tm).len(), 2);

    // Overwrite: the stored unit takes the new translation, same id.
    let tm = TranslationMemory::in_memory();
    run(&tm, &old, &with(DuplicatePolicy::Overwrite));
    let id = ids(&tm);
    let summary = run(&tm, &older, &with(DuplicatePolicy::Overwrite));
    assert_eq!((summary.added, summary.updated), (0, 1));
    let stored = units(&tm);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].arabic, "قال إن الأمر واضح.");
    assert_eq!(stored[0].changed_at_ms, parse_ms("20100101T000000Z"));
    assert_eq!(ids(&tm), id);

    // Keep newest: an older translation is skipped, a newer one wins.
    let tm = TranslationMemory::in_memory();
    run(&tm, &old, &with(DuplicatePolicy::KeepNewest));
    let summary = run(&tm, &older, &with(DuplicatePolicy::KeepNewest));
    assert_eq!((summary.added, summary.updated, summary.kept_newer), (0, 0, 1));
    assert_eq!(units(&tm)[0].arabic, "وقال سبب اختفاء البارات أمر مفهوم.");
    let summary = run(&tm, &newer, &with(DuplicatePolicy::KeepNewest));
    assert_eq!((summary.added, summary.updated, summary.kept_newer), (0, 1, 0));
    assert_eq!(units(&tm)[0].arabic, "قال إن سبب اختفاء البارات مفهوم.");
    assert_eq!(units(&tm)[0].changed_at_ms, parse_ms("20230101T000000Z"));

    // Overwrite leaves one translation per source: others are removed.
    let tm = TranslationMemory::in_memory();
    run(&tm, &old, &with(DuplicatePolicy::Add));
    run(&tm, &newer, &with(DuplicatePolicy::Add));
    let summary = run(&tm, &older, &with(DuplicatePolicy::Overwrite));
    assert_eq!((summary.updated, summary.removed), (1, 1));
    assert_eq!(units(&tm).len(), 1);
    assert_eq!(tm.stats().total_units, 1);
}

fn parse_ms(date: &str) -> i64 {
    tmx::parse_date(date).unwrap()
}

#[test]
fn reimporting_a_file_changes_nothing_under_every_policy() {
    let corpus = crate::test_corpus::corpus_dir();
    let ntrex = std::fs::read(corpus.join("ntrex128.tsv")).expect("the corpus (data/corpus)");
    let input: Vec<u8> =
        ntrex.split(|&b| b == b'\n').take(600).flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
    for policy in [DuplicatePolicy::Add, DuplicatePolicy::Overwrite, DuplicatePolicy::KeepNewest] {
        let options = ImportOptions { policy, ..tsv() };
        let tm = TranslationMemory::in_memory();
        let first = run(&tm, &input, &options);
        assert!(first.added > 500, "{policy:?}: {first:?}");
        let before = units(&tm);
        let exported = export_to_vec(&tm);
        let second = run(&tm, &input, &options);
        assert_eq!((second.added, second.updated, second.removed), (0, 0, 0), "{policy:?}");
        assert_eq!(units(&tm), before, "{policy:?}");
        let third = run(&tm, &exported, &ImportOptions { policy, ..ImportOptions::default() });
        assert_eq!((third.added, third.updated, third.removed), (0, 0, 0), "{policy:?}");
        assert_eq!(units(&tm), before, "{policy:?}");
    }
}

#[test]
fn real_news_round_trips_through_tmx() {
    let corpus = crate::test_corpus::corpus_dir();
    for file in ["ntrex128.tsv", "flores200_devtest.tsv", "l10n_django.tsv"] {
        let input = std::fs::read(corpus.join(file)).expect("the corpus (data/corpus)");
        let options = ImportOptions {
            domain: "news".into(),
            source_document: file.into(),
            memory: Some(file.replace('.', "-")),
            ..tsv()
        };
        let (tm, summary) = assert_round_trip(&input, &options);
        assert!(summary.added > 700, "{file}: {summary:?}");
        assert!(units(&tm).iter().all(|u| u.domain == "news" && u.source_document == file));
    }
}

#[test]
fn csv_with_a_header_maps_columns_and_rejects_bad_records_alone() {
    let input = "English,Arabic,domain,note,client,reviewer\n\
                 \"He said, \"\"bars\"\" close.\",وقال إن البارات تغلق.,news,checked,acme,Huda\n\
                 only one field\n\
                 Hello,,x,y,z,w\n\
                 Why?,لماذا؟,news,,,\n";
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, input.as_bytes(), &ImportOptions { format: Some(Format::Csv), ..ImportOptions::default() });
    assert_eq!((summary.read, summary.added, summary.rejected), (4, 2, 2), "{summary:?}");
    let lines: Vec<u64> = summary.rejections.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4]);
    assert_eq!(summary.rejections[1].reason, "arabic: must not be empty");
    let stored = units(&tm);
    assert_eq!(stored[0].english, "He said, \"bars\" close.");
    assert_eq!(stored[0].note, "checked");
    assert_eq!(stored[0].client, "acme");
    assert_eq!(stored[0].properties, [Property::new("reviewer", "Huda")]);
    assert!(stored[1].properties.is_empty());
    // A header without an Arabic column stops the import, naming it.
    let summary = run(
        &tm,
        b"english,french\nHi,Salut\n",
        &ImportOptions { format: Some(Format::Csv), ..ImportOptions::default() },
    );
    assert!(summary.stopped.unwrap().contains("names no Arabic column"));
}

#[test]
fn formats_are_sniffed() {
    assert_eq!(Format::sniff(b"  <?xml version"), Format::Tmx);
    assert_eq!(Format::sniff(&[0xFF, 0xFE, b'<', 0]), Format::Tmx);
    assert_eq!(Format::sniff("arabic,english\nا,b".as_bytes()), Format::Csv);
    assert_eq!(Format::sniff("مرحبا\tHello, world\n".as_bytes()), Format::Tsv);
    assert_eq!(Format::from_file_name("memory.TMX"), Some(Format::Tmx));
    assert_eq!(Format::from_file_name("pairs.csv"), Some(Format::Csv));
}

mod round_trip_properties {
    use proptest::prelude::*;

    use super::*;
    use crate::export::{export, ExportFilter};
    use crate::unit::{Property, UnitInput};

    /// Text as translators store it: Arabic and Latin words, digits in both
    /// scripts, punctuation, XML's special characters, a tab, diacritics.
    fn text() -> impl Strategy<Value = String> {
        "[ابتثجحخدذرزسشصضطظعغفقكلمنهويىةءأإآؤئ َُِّ٠-٩a-zA-Z0-9 .,:;!?؟،<>&\"'%{}()\t-]{1,40}"
            .prop_filter("not blank", |s| !s.trim().is_empty())
    }

    fn metadata() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[a-zA-Zء-ي <>&\"' _-]{1,12}"]
    }

    fn input() -> impl Strategy<Value = UnitInput> {
        (
            (text(), text(), prop::sample::select(vec!["news", "tech", "default"])),
            (metadata(), metadata(), metadata(), metadata(), metadata()),
            (0i64..4_102_444_800_000, 0i64..4_102_444_800_000, 0u64..1000),
            prop::collection::vec(("[a-z][a-z0-9-]{0,8}", metadata()), 0..3),
            (prop::option::of(text()), prop::option::of(text())),
        )
            .prop_map(
                |(
                    (arabic, english, memory),
                    (domain, client, project, note, created_by),
                    (created, changed, uses),
                    props,
                    (before, after),
                )| UnitInput {
                    arabic,
                    english,
                    memory: memory.into(),
                    domain,
                    client,
                    project,
                    note,
                    created_by,
                    created_at_ms: created.max(1000),
                    changed_at_ms: changed,
                    usage_count: uses,
                    properties: props.into_iter().map(|(n, v)| Property::new(n, v)).collect(),
                    context_before: before.unwrap_or_default(),
                    context_after: after.unwrap_or_default(),
                    ..UnitInput::default()
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever is stored comes back from its TMX export exactly (ids
        /// aside; `AddUnits` says no source side, so the import gives its
        /// default, English), and exports of the copy and of a copy of it
        /// are byte-identical.
        #[test]
        fn export_then_import_gives_every_unit_back(units in prop::collection::vec(input(), 1..12)) {
            let tm = TranslationMemory::in_memory();
            tm.add_units(units).unwrap();
            let copy_of = |from: &TranslationMemory| {
                let mut out = Vec::new();
                export(from, &mut out, &ExportFilter::default()).unwrap();
                let copy = TranslationMemory::in_memory();
                let summary = import(&copy, out.as_slice(), &ImportOptions::default(), &mut |_, _| {}).unwrap();
                (copy, summary, String::from_utf8(out).unwrap())
            };
            let (copy, summary, _) = copy_of(&tm);
            prop_assert_eq!(summary.rejected, 0, "{:?}", summary.rejections);
            let sorted = |tm: &TranslationMemory| {
                let mut all = super::units(tm);
                all.sort_by(|a, b| (&a.memory, &a.arabic, &a.english).cmp(&(&b.memory, &b.arabic, &b.english)));
                all
            };
            let mut expected = sorted(&tm);
            for unit in &mut expected {
                prop_assert_eq!(&unit.source_lang, "");
                unit.source_lang = "en".into();
            }
            prop_assert_eq!(sorted(&copy), expected);
            let (again, _, first) = copy_of(&copy);
            let (_, _, second) = copy_of(&again);
            prop_assert_eq!(second, first);
        }
    }
}

/// Issue 21, finding 1: a TRADOS Workbench header holds its RTF font table
/// and style sheet as props of several KB; they are left out with a warning
/// naming them, and every unit is imported, its source taken from the
/// header's `srclang="EN-US"`.
#[test]
fn a_header_prop_over_the_limits_is_left_out_with_a_warning_and_the_units_import() {
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &fixture("trados_header.tmx"), &ImportOptions::default());
    assert_eq!(summary.stopped, None);
    assert_eq!((summary.read, summary.added, summary.rejected), (11, 11, 0), "{summary:?}");
    let reasons: Vec<(u64, &str)> = summary.warnings.iter().map(|w| (w.line, w.reason.as_str())).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    for (line, reason) in &reasons {
        assert!(*line > 3 && reason.starts_with("<header>: a <prop> is longer than 2000 characters"), "{reasons:?}");
        assert!(reason.ends_with("it is left out"), "{reason}");
    }
    let stored = units(&tm);
    assert_eq!(stored.len(), 11);
    assert!(stored.iter().all(|u| u.created_by == "ONO" && !u.arabic.is_empty()));
}

/// Units without a pair are rejected one by one when the file has paired
/// units too, in line order; a file with none is one error at file level.
#[test]
fn units_without_a_pair_are_listed_only_when_the_file_has_pairs() {
    let tm = TranslationMemory::in_memory();
    let only = run(&tm, &fixture("arabic_french_only.tmx"), &ImportOptions::default());
    assert_eq!((only.read, only.added, only.rejected, only.rejections.len()), (3, 0, 3, 0), "{only:?}");
    let stopped = only.stopped.expect("a file-level error");
    assert!(stopped.starts_with("no unit holds both Arabic and English; the file has ar, fr, fr-fr"), "{stopped}");

    let text = String::from_utf8(fixture("arabic_french_only.tmx")).unwrap();
    let mixed = text.replace(
        "  </body>",
        "    <tu tuid=\"4\"><tuv xml:lang=\"ar\"><seg>مرحبا</seg></tuv><tuv xml:lang=\"en\"><seg>Hello</seg></tuv></tu>\n  </body>",
    );
    let summary = run(&tm, mixed.as_bytes(), &ImportOptions::default());
    assert_eq!(summary.stopped, None);
    assert_eq!((summary.read, summary.added, summary.rejected), (4, 1, 3), "{summary:?}");
    let listed: Vec<&str> = summary.rejections.iter().map(|r| r.tuid.as_str()).collect();
    assert_eq!(listed, ["1", "2", "3"]);
    assert!(summary.rejections[1].reason.contains("no English variant (languages found: ar, fr-FR)"));
}

/// The units of a TMX document as the reader gives them, with its header.
fn read_tmx_units(bytes: &[u8]) -> (crate::tmx::Header, Vec<crate::tmx::TmxUnit>) {
    let mut reader = crate::tmx::TmxReader::new(bytes).unwrap();
    let header = reader.header().clone();
    let mut units = Vec::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        match entry {
            crate::tmx::Entry::Unit(read) => units.push(read.unit),
            crate::tmx::Entry::Rejected(rejected) => panic!("{rejected:?}"),
        }
    }
    (header, units)
}

/// Issue 21, finding 3: each unit keeps its source side (its own
/// `srclang`, else the header's), the export says it on every `<tu>` with
/// the source `<tuv>` first, and in the header when it is one for all.
#[test]
fn the_export_says_which_side_is_the_source() {
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &fixture("paragraph_props.tmx"), &ImportOptions::default());
    assert_eq!((summary.added, summary.rejected), (3, 0), "{summary:?}");
    let sources: Vec<(String, String)> = units(&tm).into_iter().map(|u| (u.tuid, u.source_lang)).collect();
    assert_eq!(
        sources,
        [("undated".into(), "ar".into()), ("dated".into(), "ar".into()), ("english-source".into(), "en".into())]
    );
    let exported = export_to_vec(&tm);
    let (header, read) = read_tmx_units(&exported);
    assert_eq!(header.get("srclang"), Some("*all*"), "two sources: no one source for all");
    for unit in &read {
        let source = if unit.tuid() == Some("english-source") { "en" } else { "ar" };
        assert_eq!(unit.get("srclang"), Some(source), "{unit:?}");
    }
    // The source <tuv> first, in the text itself (the reader sorts them).
    let text = String::from_utf8(exported).unwrap();
    let order: Vec<(bool, bool)> = text
        .split("<tu ")
        .skip(1)
        .map(|tu| {
            (
                tu.contains("srclang=\"en\""),
                tu.find("<tuv xml:lang=\"en\"").unwrap() < tu.find("<tuv xml:lang=\"ar\"").unwrap(),
            )
        })
        .collect();
    assert_eq!(order, [(false, false), (false, false), (true, true)]);

    // One source for all: the header says it (TSV: the import's source side).
    let tm = TranslationMemory::in_memory();
    let arabic = ImportOptions { source_lang: Lang::Arabic, ..tsv() };
    run(&tm, "مرحبا\tHello\nشكرا\tThanks\n".as_bytes(), &arabic);
    let (header, read) = read_tmx_units(&export_to_vec(&tm));
    assert_eq!(header.get("srclang"), Some("ar"));
    assert!(read.iter().all(|u| u.get("srclang") == Some("ar")), "{read:?}");
}

/// Issue 21, finding 4: an export adds nothing that was never there and
/// drops no attribute: no `creationdate` for a unit that had none, the
/// header's `segtype="paragraph"` kept on its units, `<prop>` attributes.
#[test]
fn the_export_adds_no_date_and_keeps_segtype_and_prop_attributes() {
    let tm = TranslationMemory::in_memory();
    let summary = run(&tm, &fixture("paragraph_props.tmx"), &ImportOptions::default());
    assert_eq!((summary.added, summary.warnings.len()), (3, 0), "{summary:?}");
    let (_, read) = read_tmx_units(&export_to_vec(&tm));
    let by_tuid = |tuid: &str| read.iter().find(|u| u.tuid() == Some(tuid)).unwrap();
    let undated = by_tuid("undated");
    assert_eq!(undated.get("creationdate"), None, "{undated:?}");
    assert_eq!(by_tuid("dated").get("creationdate"), Some("20190301T101500Z"));
    assert_eq!(undated.get("segtype"), Some("paragraph"));
    assert_eq!(by_tuid("dated").get("segtype"), Some("paragraph"));
    assert_eq!(by_tuid("english-source").get("segtype"), Some("sentence"));
    let client = undated.props.iter().find(|p| p.kind == "x-client").unwrap();
    assert_eq!(client.value, "Acme");
    assert_eq!(
        client.attributes,
        [crate::tmx::Attribute::new("xml:lang", "en"), crate::tmx::Attribute::new("o-encoding", "iso-8859-1")]
    );
    let origin = &by_tuid("dated").arabic.props[0];
    assert_eq!(
        (origin.kind.as_str(), origin.attributes.as_slice()),
        ("x-origin", &[crate::tmx::Attribute::new("xml:lang", "ar")][..])
    );

    // Imported again elsewhere, the undated units are still undated.
    let again = TranslationMemory::in_memory();
    run(&again, &export_to_vec(&tm), &ImportOptions::default());
    let (_, read) = read_tmx_units(&export_to_vec(&again));
    let undated: Vec<_> = read.iter().filter(|u| u.get("creationdate").is_none()).map(|u| u.tuid()).collect();
    assert_eq!(undated, [Some("undated"), Some("english-source")]);
}

/// Issue 21, finding 2: units with the same texts are different units when
/// their inline markup differs (the TMX Compliance Kit's two layouts of one
/// sentence), or their context, or their tuid; only a true duplicate (the
/// same unit again) is reported as one, and importing the file again
/// changes nothing, under every policy.
#[test]
fn look_alike_units_are_kept_and_only_true_duplicates_reported() {
    for policy in [DuplicatePolicy::Add, DuplicatePolicy::Overwrite, DuplicatePolicy::KeepNewest] {
        let options = ImportOptions { policy, ..ImportOptions::default() };
        let tm = TranslationMemory::in_memory();
        let first = run(&tm, &fixture("look_alike_units.tmx"), &options);
        assert_eq!((first.read, first.added, first.duplicates, first.updated), (7, 6, 1, 0), "{policy:?}: {first:?}");
        let stored = units(&tm);
        let tuids: Vec<&str> = stored.iter().map(|u| u.tuid.as_str()).collect();
        assert_eq!(tuids, ["layout-1", "layout-2", "context-1", "context-2", "id-1", "id-2"], "{policy:?}");
        // The two layouts have one plain text: only the markup tells them apart.
        assert_eq!(stored[0].english, stored[1].english);
        assert_ne!(stored[0].english_markup, stored[1].english_markup);

        let again = run(&tm, &fixture("look_alike_units.tmx"), &options);
        assert_eq!((again.added, again.duplicates, again.updated, again.removed), (0, 7, 0, 0), "{policy:?}");
        assert_eq!(units(&tm), stored, "{policy:?}");
        // A file without tuids or context (a TSV of the same pair) finds
        // the stored units rather than adding one.
        let plain = format!("{}\t{}\n", stored[4].arabic, stored[4].english);
        let tsv_again = run(&tm, plain.as_bytes(), &ImportOptions { policy, ..tsv() });
        assert_eq!((tsv_again.added, tsv_again.duplicates), (0, 1), "{policy:?}: {tsv_again:?}");
    }
}
