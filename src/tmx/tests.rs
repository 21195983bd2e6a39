//! Tests of the TMX reader and writer: the fixtures of `tests/data/tmx/`
//! (made by `make_fixtures.py` from real news pairs), hostile input, limits,
//! and round trips (hand-made, proptest, and 20,000 units of the corpus).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use proptest::prelude::*;

use super::*;
use crate::unit::{MAX_METADATA_CHARS, MAX_SEGMENT_CHARS};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tmx").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// The news corpus, `(arabic, english)` per line, read once.
static CORPUS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let path = crate::test_corpus::corpus_dir().join("ntrex128.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    text.lines().filter_map(|line| line.split_once('\t')).map(|(a, e)| (a.to_owned(), e.to_owned())).collect()
});

fn corpus() -> &'static [(String, String)] {
    &CORPUS
}

/// Corpus line `line` (1-based).
fn pair(line: usize) -> (String, String) {
    corpus()[line - 1].clone()
}

/// Everything a reader yields: header, entries, and the error that ended
/// it, if any.
struct Outcome {
    header: Header,
    encoding: &'static str,
    entries: Vec<Entry>,
    error: Option<TmxError>,
}

fn read(input: impl Read) -> Result<Outcome, TmxError> {
    let mut reader = TmxReader::new(input)?;
    let (header, encoding) = (reader.header().clone(), reader.encoding());
    let mut entries = Vec::new();
    let mut error = None;
    for entry in reader.by_ref() {
        match entry {
            Ok(entry) => entries.push(entry),
            Err(err) => error = Some(err),
        }
    }
    assert!(reader.next().is_none(), "the reader yields nothing after its end");
    Ok(Outcome { header, encoding, entries, error })
}

fn read_ok(input: impl Read) -> Outcome {
    let read = read(input).unwrap();
    if let Some(err) = &read.error {
        panic!("unexpected error: {err}");
    }
    read
}

fn units(entries: &[Entry]) -> Vec<&ReadUnit> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Unit(unit) => Some(unit),
            Entry::Rejected(_) => None,
        })
        .collect()
}

fn rejected(entries: &[Entry]) -> Vec<&Rejected> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Rejected(rejected) => Some(rejected),
            Entry::Unit(_) => None,
        })
        .collect()
}

fn texts(unit: &TmxUnit) -> (&str, &str) {
    (&unit.arabic.segment.text, &unit.english.segment.text)
}

/// The 1-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|line| line.contains(needle)).expect(needle) as u64 + 1
}

#[test]
fn reads_every_encoding_to_the_same_units() {
    let expected: Vec<(String, String)> = [26, 53, 78].into_iter().map(pair).collect();
    for (name, encoding) in [
        ("utf16le_bom.tmx", "UTF-16LE"),
        ("utf16be_nobom.tmx", "UTF-16BE"),
        ("utf8_bom.tmx", "UTF-8"),
        ("windows1256.tmx", "windows-1256"),
    ] {
        let read = read_ok(fixture_bytes(name).as_slice());
        assert_eq!(read.encoding, encoding, "{name}");
        let units = units(&read.entries);
        let got: Vec<(String, String)> =
            units.iter().map(|u| (texts(&u.unit).0.to_owned(), texts(&u.unit).1.to_owned())).collect();
        assert_eq!(got, expected, "{name}");
        let tuids: Vec<_> = units.iter().map(|u| u.unit.tuid().unwrap()).collect();
        assert_eq!(tuids, ["u5", "u11", "u14"], "{name}");
        // Lines count the same in every encoding, CRLF included.
        let lines: Vec<_> = units.iter().map(|u| u.position.line).collect();
        assert_eq!(lines, [6, 10, 14], "{name}");
        assert_eq!(units[0].position.column, 5, "{name}");
        assert_eq!(read.header.get("creationtool"), Some("fixture"), "{name}");
    }
}

#[test]
fn reads_utf16_without_bom_or_declaration() {
    let text = "<tmx version=\"1.4\"><body><tu><tuv xml:lang=\"ar\"><seg>مرحبا</seg></tuv>\
                <tuv xml:lang=\"en\"><seg>Hello</seg></tuv></tu></body></tmx>";
    for (bytes, encoding) in [
        (text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>(), "UTF-16LE"),
        (text.encode_utf16().flat_map(u16::to_be_bytes).collect(), "UTF-16BE"),
    ] {
        let read = read_ok(bytes.as_slice());
        assert_eq!(read.encoding, encoding);
        assert_eq!(texts(&units(&read.entries)[0].unit), ("مرحبا", "Hello"));
    }
}

#[test]
fn utf16_read_as_something_else_is_an_error_not_an_empty_file() {
    // UTF-16 LE bytes with the first two bytes lost: no sniffing can see it.
    let text = "<?xml version=\"1.0\"?><tmx version=\"1.4\"><body/></tmx>";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).skip(1).collect();
    assert!(read(bytes.as_slice()).is_err_and(|err| matches!(err, TmxError::Malformed { .. })));
    assert!(read(&b""[..]).is_err(), "an empty input is not an empty TMX file");
}

#[test]
fn keeps_odd_language_codes_as_written() {
    let read = read_ok(fixture_bytes("language_codes.tmx").as_slice());
    assert_eq!(read.header.get("srclang"), None);
    let codes: Vec<(&str, &str)> =
        units(&read.entries).iter().map(|u| (&*u.unit.arabic.lang, &*u.unit.english.lang)).collect();
    assert_eq!(codes, [("AR-EG", "EN-GB"), ("ar_EG", "en_US"), ("ara", "eng"), ("arb", "en-us"), ("ar-SA", "EN")]);
    for unit in units(&read.entries) {
        assert!(unit.warnings.is_empty(), "{:?}", unit.warnings);
        assert!(unit.unit.arabic.attributes.is_empty() && unit.unit.english.attributes.is_empty());
    }
    assert_eq!(texts(&units(&read.entries)[4].unit), (&*pair(88).0, &*pair(88).1));
}

#[test]
fn takes_arabic_and_english_and_reports_the_rest() {
    let read = read_ok(fixture_bytes("languages.tmx").as_slice());
    assert_eq!(read.header.get("srclang"), Some("*all*"));
    let units = units(&read.entries);
    let tuids: Vec<_> = units.iter().map(|u| u.unit.tuid().unwrap()).collect();
    assert_eq!(tuids, ["three", "two-english", "last"]);
    assert_eq!(texts(&units[0].unit), (&*pair(26).0, &*pair(26).1));
    assert_eq!(units[0].unit.get("srclang"), Some("en"));
    assert_eq!(units[0].warnings, ["ignored a variant in another language (fr)"]);
    assert_eq!(units[1].unit.english.lang, "en-US");
    assert_eq!(texts(&units[1].unit), (&*pair(133).0, &*pair(133).1));
    assert_eq!(units[1].warnings, ["ignored a second English variant (en-GB); kept the first (en-US)"]);
    let rejected = rejected(&read.entries);
    let reasons: Vec<(Option<&str>, &str)> = rejected.iter().map(|r| (r.tuid.as_deref(), &*r.reason)).collect();
    assert_eq!(
        reasons,
        [
            (Some("french-only"), "no Arabic or English variant (languages found: fr, de)"),
            (Some("no-english"), "no English variant (languages found: ar)"),
        ]
    );
    let text = String::from_utf8(fixture_bytes("languages.tmx")).unwrap();
    assert_eq!(rejected[0].position.line, line_of(&text, "tuid=\"french-only\""));
}

#[test]
fn keeps_inline_markup_apart_from_the_text() {
    let bytes = fixture_bytes("inline_tags.tmx");
    let read = read_ok(bytes.as_slice());
    let units = units(&read.entries);
    let paired = &units[0].unit;
    assert_eq!(paired.props, [Prop::new("x-domain", "news")]);
    assert_eq!(paired.notes, ["bold name"]);
    let english = &paired.english.segment;
    assert_eq!(english.text, "The Bells of St. Martin's Fall Silent as Churches in Harlem Struggle");
    let code = |element, attributes: &[(&str, &str)], content: &str| InlineKind::Code {
        element,
        attributes: attributes.iter().map(|&(n, v)| Attribute::new(n, v)).collect(),
        content: content.into(),
    };
    let expected = [
        InlineTag { offset: 13, kind: code(CodeElement::Bpt, &[("i", "1"), ("type", "bold")], "&lt;b&gt;") },
        InlineTag { offset: 25, kind: code(CodeElement::Ept, &[("i", "1")], "&lt;/b&gt;") },
        InlineTag { offset: 37, kind: code(CodeElement::Ph, &[("x", "2"), ("type", "lb")], "&lt;br/&gt;") },
        InlineTag { offset: 53, kind: InlineKind::HiStart { attributes: vec![Attribute::new("type", "italic")] } },
        InlineTag { offset: 59, kind: InlineKind::HiEnd },
    ];
    assert_eq!(english.markup, expected);
    assert_eq!(paired.arabic.segment.text, pair(23).0);

    let isolated = &units[1].unit.english.segment;
    assert_eq!(isolated.text, pair(58).1);
    assert_eq!(
        isolated.markup[0],
        InlineTag { offset: 0, kind: code(CodeElement::It, &[("pos", "begin"), ("x", "1")], "&lt;i&gt;") }
    );
    assert_eq!(
        isolated.markup[1],
        InlineTag { offset: pair(58).1.chars().count(), kind: code(CodeElement::Ut, &[], "{\\cs6 }") }
    );

    let sub = &units[2].unit;
    assert_eq!(sub.english.segment.text, "Press  now at once");
    assert_eq!(sub.arabic.segment.text, "اضغط  الآن فورا");
    assert_eq!(
        sub.english.segment.markup[0],
        InlineTag {
            offset: 6,
            kind: code(CodeElement::Ph, &[("x", "1")], "&lt;img alt=\"<sub>Save button</sub>\"/&gt;")
        }
    );
    let offsets: Vec<usize> = sub.english.segment.markup.iter().map(|t| t.offset).collect();
    assert_eq!(offsets, [6, 7, 11, 18, 18]);

    // The writer restores every <seg> exactly.
    let written = write(&read.header, units.iter().map(|u| &u.unit));
    let segs = |text: &str| -> Vec<String> {
        text.split("<seg>").skip(1).map(|s| s.split_once("</seg>").unwrap().0.to_owned()).collect()
    };
    assert_eq!(segs(&String::from_utf8(written).unwrap()), segs(&String::from_utf8(bytes).unwrap()));
}

#[test]
fn broken_xml_stops_with_its_line_after_the_units_before_it() {
    let bytes = fixture_bytes("broken_mismatched.tmx");
    let read = read(bytes.as_slice()).unwrap();
    let tuids: Vec<_> = units(&read.entries).iter().map(|u| u.unit.tuid().unwrap().to_owned()).collect();
    assert_eq!(tuids, ["b1", "b2", "b3"]);
    let err = read.error.expect("a fatal error");
    let text = String::from_utf8(bytes).unwrap();
    assert!(matches!(err, TmxError::Malformed { .. }), "{err}");
    assert_eq!(err.position().line, line_of(&text, "<seg>text</tuv>"), "{err}");
    assert!(err.to_string().contains("</tuv>"), "{err}");
}

#[test]
fn broken_xml_of_every_kind_is_an_error_with_a_line() {
    let unit = "<tu><tuv xml:lang=\"ar\"><seg>نص</seg></tuv><tuv xml:lang=\"en\"><seg>text</seg></tuv></tu>";
    let cases = [
        format!("<tmx>\n<body>\n{unit}\n<tu>\n<tuv xml:lang=\"ar\"><seg>نص"),
        format!("<tmx>\n<body>\n{unit}\n</tmx>"),
        format!("<tmx>\n<body>\n{unit}\n<tu><tuv xml:lang=\"ar\"><seg>a & b</seg></tuv></tu></body></tmx>"),
        format!("<tmx>\n<body>\n{unit}\n<tu <<<>>> garbage"),
        format!("<tmx>\n<body>\n{unit}\n</body></tmx>\n<tmx/>"),
    ];
    for case in cases {
        let read = read(case.as_bytes()).unwrap();
        assert_eq!(units(&read.entries).len(), 1, "{case}");
        let err = read.error.unwrap_or_else(|| panic!("no error for {case}"));
        assert!(err.position().line >= 4, "{err} for {case}");
    }
    let err = read("<html><body/></html>".as_bytes()).err().unwrap();
    assert_eq!(err.to_string(), "line 1, column 1: not a TMX file: the root element is <html>, not <tmx>");
}

#[test]
fn refuses_a_dtd_internal_subset_and_expands_nothing() {
    for name in ["billion_laughs.tmx", "xxe.tmx"] {
        let err = read(fixture_bytes(name).as_slice()).err().unwrap_or_else(|| panic!("{name} was read"));
        assert!(matches!(err, TmxError::Refused { .. }), "{name}: {err}");
        assert!(err.to_string().contains("DOCTYPE with an internal subset"), "{err}");
        assert_eq!(err.position().line, 2, "{name}: {err}");
    }
    // Without a DOCTYPE, an undefined entity rejects its unit alone.
    let read = read_ok(fixture_bytes("undefined_entity.tmx").as_slice());
    let tuids: Vec<_> = units(&read.entries).iter().map(|u| u.unit.tuid().unwrap().to_owned()).collect();
    assert_eq!(tuids, ["before", "after"]);
    let rejected = rejected(&read.entries);
    assert_eq!(rejected[0].tuid.as_deref(), Some("xxe"));
    assert_eq!(rejected[0].reason, "the Arabic segment uses the undefined entity &xxe; (entities are never expanded)");
}

#[test]
fn rejects_control_characters_and_empty_segments_unit_by_unit() {
    let bytes = fixture_bytes("rejected_units.tmx");
    let read = read_ok(bytes.as_slice());
    let tuids: Vec<_> = units(&read.entries).iter().map(|u| u.unit.tuid().unwrap().to_owned()).collect();
    assert_eq!(tuids, ["ok1", "ok2"]);
    let text = String::from_utf8(bytes).unwrap();
    let got: Vec<(String, u64, String)> =
        rejected(&read.entries).iter().map(|r| (r.tuid.clone().unwrap(), r.position.line, r.reason.clone())).collect();
    let expected = [
        ("nul-ref", "the English segment has an invalid character reference &#0;"),
        (
            "soh-ref",
            &*format!(
                "the Arabic segment contains the control character U+0001 at character {}",
                pair(40).0.chars().count()
            ),
        ),
        ("bell", "the English segment contains the control character U+0007 at character 3"),
        ("empty", "the English segment is empty"),
    ];
    let expected: Vec<(String, u64, String)> = expected
        .iter()
        .map(|&(tuid, reason)| (tuid.to_owned(), line_of(&text, &format!("tuid=\"{tuid}\"")), reason.to_owned()))
        .collect();
    assert_eq!(got, expected);
}

/// A document of `units` (raw `<tu>` elements) around one good unit on
/// each side.
fn document(units: &[String]) -> String {
    let good = |tuid: &str| {
        format!("<tu tuid=\"{tuid}\"><tuv xml:lang=\"ar\"><seg>نص</seg></tuv><tuv xml:lang=\"en\"><seg>text</seg></tuv></tu>\n")
    };
    format!("<tmx version=\"1.4\"><header/><body>\n{}{}{}</body></tmx>", good("first"), units.concat(), good("last"))
}

fn tu(tuid: &str, arabic_seg: &str, english_seg: &str) -> String {
    format!(
        "<tu tuid=\"{tuid}\"><tuv xml:lang=\"ar\"><seg>{arabic_seg}</seg></tuv><tuv xml:lang=\"en\"><seg>{english_seg}</seg></tuv></tu>\n"
    )
}

#[test]
fn limits_reject_the_unit_not_the_file() {
    let long = "ب".repeat(MAX_SEGMENT_CHARS + 1);
    let long_value = "v".repeat(MAX_METADATA_CHARS + 1);
    let deep = format!("{}x{}", "<hi>".repeat(MAX_INLINE_DEPTH + 1), "</hi>".repeat(MAX_INLINE_DEPTH + 1));
    let many_tags = "<ph/>x".repeat(MAX_TAGS_PER_SEGMENT + 1);
    let many_props = "<prop type=\"a\">b</prop>".repeat(MAX_METADATA_ITEMS + 1);
    let many_attributes: String = (0..=MAX_ATTRIBUTES).map(|i| format!(" a{i}=\"v\"")).collect();
    let cases = [
        (tu("long", &long, "text"), format!("the Arabic segment is longer than {MAX_SEGMENT_CHARS} characters")),
        (
            format!("<tu tuid=\"attr\" creationid=\"{long_value}\"><tuv xml:lang=\"ar\"><seg>نص</seg></tuv></tu>\n"),
            format!("<tu> attribute creationid is longer than {MAX_METADATA_CHARS} characters"),
        ),
        (tu("deep", "نص", &deep), format!("<hi> nested deeper than {MAX_INLINE_DEPTH}")),
        (tu("tags", "نص", &many_tags), format!("the English segment has more than {MAX_TAGS_PER_SEGMENT} inline tags")),
        (
            format!("<tu tuid=\"props\">{many_props}<tuv xml:lang=\"ar\"><seg>نص</seg></tuv></tu>\n"),
            format!("more than {MAX_METADATA_ITEMS} <prop> and <note> elements in one element"),
        ),
        (
            format!("<tu tuid=\"attrs\"{many_attributes}><tuv xml:lang=\"ar\"><seg>نص</seg></tuv></tu>\n"),
            format!("<tu> has more than {MAX_ATTRIBUTES} attributes"),
        ),
        (tu("element", "نص <b>bold</b>", "text"), "unexpected <b> in the Arabic <seg>".into()),
        (tu("nolang", "نص", "x").replacen("xml:lang=\"ar\"", "", 1), "a <tuv> has no xml:lang attribute".into()),
        (
            tu("code", "نص", "<ph>&#2;</ph>x"),
            "the content of <ph> contains the control character U+0002 at character 0".into(),
        ),
        ("<tu tuid=\"empty\"/>\n".into(), "empty <tu/>: no Arabic or English variant".into()),
    ];
    for (unit, reason) in cases {
        let read = read_ok(document(&[unit]).as_bytes());
        let tuids: Vec<_> = units(&read.entries).iter().map(|u| u.unit.tuid().unwrap().to_owned()).collect();
        assert_eq!(tuids, ["first", "last"], "{reason}");
        let rejected = rejected(&read.entries);
        assert_eq!(rejected.len(), 1, "{reason}");
        assert_eq!(rejected[0].reason, reason);
        assert_eq!(rejected[0].position.line, 3);
    }
}

#[test]
fn refuses_documents_beyond_the_structural_limits() {
    let deep = format!("<tmx><body>{}{}</body></tmx>", "<x>".repeat(MAX_DEPTH), "</x>".repeat(MAX_DEPTH));
    let err = read(deep.as_bytes()).unwrap().error.unwrap();
    assert!(err.to_string().contains(&format!("nested deeper than {MAX_DEPTH}")), "{err}");

    let mut huge = b"<tmx><body><tu><tuv xml:lang=\"ar\"><seg>".to_vec();
    huge.resize(huge.len() + MAX_TOKEN_BYTES + 10, b'a');
    let err = read(huge.as_slice()).unwrap().error.unwrap();
    assert!(matches!(err, TmxError::Refused { .. }), "{err}");
}

#[test]
fn refuses_an_overlong_event_without_buffering_it() {
    // quick-xml buffers a CDATA section, a comment or a quoted attribute
    // whole, `<` included: the limit is on the event, not on runs without `<`.
    let head = "<tmx><body><tu tuid=\"x\"><tuv xml:lang=\"ar\"><seg>";
    for (prefix, start) in [
        (format!("{head}<![CDATA["), head.len()),
        (format!("{head}<!--"), head.len()),
        ("<tmx><body><tu tuid=\"".to_owned(), "<tmx><body>".len()),
    ] {
        let input = prefix.as_bytes().chain(std::io::repeat(b'<').take(4 * MAX_TOKEN_BYTES as u64));
        let err = read(input).unwrap().error.unwrap_or_else(|| panic!("{prefix}: no error"));
        assert!(matches!(err, TmxError::Refused { .. }), "{prefix}: {err}");
        assert!(err.to_string().contains("in one XML event"), "{err}");
        // Reported at the start of the event.
        assert_eq!((err.position().line, err.position().column), (1, start as u64 + 1), "{prefix}: {err}");
    }
}

#[test]
fn a_reference_outside_the_root_element_is_text() {
    let err = read("&amp;<tmx/>".as_bytes()).err().unwrap();
    assert!(err.to_string().contains("text before the root element"), "{err}");
    let read = read("<tmx><body/></tmx>\n&#65;".as_bytes()).unwrap();
    let err = read.error.unwrap();
    assert!(matches!(err, TmxError::Malformed { .. }), "{err}");
    assert!(err.to_string().starts_with("line 2, "), "{err}");
    assert!(err.to_string().ends_with(": text after the root element"), "{err}");
}

#[test]
fn control_characters_in_inline_code_count_from_its_start() {
    let reason = |code: &str| {
        let read = read_ok(document(&[tu("code", "نص", &format!("x{code}"))]).as_bytes());
        rejected(&read.entries)[0].reason.clone()
    };
    assert_eq!(reason("<ph>ab&#2;</ph>"), "the content of <ph> contains the control character U+0002 at character 2");
    assert_eq!(
        reason("<bpt i=\"1\">{<b>\u{7}</b>}</bpt>"),
        "the content of <bpt> contains the control character U+0007 at character 4"
    );
}

#[test]
fn refuses_unknown_and_utf32_encodings() {
    let err = read(&b"<?xml version=\"1.0\" encoding=\"klingon\"?><tmx/>"[..]).err().unwrap();
    assert_eq!(err.to_string(), "line 1, column 1: unknown encoding \"klingon\" in the XML declaration");
    let utf32: Vec<u8> = "<tmx/>".chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
    assert!(read(utf32.as_slice()).is_err());
    // ISO-8859-1 is read as its superset windows-1252.
    let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><tmx><body><tu><tuv lang='ar'><seg>\xe9</seg></tuv><tuv lang='en'><seg>caf\xe9</seg></tuv></tu></body></tmx>";
    let read = read_ok(&latin1[..]);
    assert_eq!(units(&read.entries)[0].unit.english.segment.text, "café");
}

fn write<'a>(header: &Header, units: impl IntoIterator<Item = &'a TmxUnit>) -> Vec<u8> {
    let mut writer = TmxWriter::new(Vec::new(), header).unwrap();
    for unit in units {
        writer.write_unit(unit).unwrap();
    }
    writer.finish().unwrap()
}

fn round_trip(header: &Header, written: &[TmxUnit]) -> (Header, Vec<TmxUnit>) {
    let bytes = write(header, written);
    let read = read_ok(bytes.as_slice());
    for entry in &read.entries {
        if let Entry::Rejected(r) = entry {
            panic!("rejected {r:?}\n{}", String::from_utf8_lossy(&bytes));
        }
    }
    let units = units(&read.entries).into_iter().map(|u| u.unit.clone()).collect();
    (read.header, units)
}

fn metadata_unit() -> TmxUnit {
    let mut unit = TmxUnit::new("قال: \"مرحبا\" & <وداعا>\r\nسطر", "He said:\t\"hello\" & <bye>\r\n  line ");
    unit.attributes = vec![
        Attribute::new("tuid", "42"),
        Attribute::new("creationdate", "20240102T030405Z"),
        Attribute::new("creationid", "o'brien \"quoted\" <x> & y"),
        Attribute::new("changeid", "tab\there\nline\r\nend "),
        Attribute::new("usagecount", "3"),
        Attribute::new("lastusagedate", "20250101T000000Z"),
    ];
    unit.props = vec![Prop::new("x-domain", "news"), Prop::new("x-source", "  a & b  ")];
    unit.notes = vec!["first note".into(), "second\nnote".into()];
    unit.arabic.lang = "ar-EG".into();
    unit.arabic.attributes = vec![Attribute::new("creationid", "translator")];
    unit.arabic.props = vec![Prop::new("x-dialect", "masri")];
    unit.english.notes = vec!["en note".into()];
    unit.english.segment.markup = vec![
        InlineTag { offset: 0, kind: InlineKind::HiStart { attributes: vec![Attribute::new("type", "b")] } },
        InlineTag { offset: 8, kind: InlineKind::HiEnd },
        InlineTag {
            offset: 8,
            kind: InlineKind::Code { element: CodeElement::Ph, attributes: vec![], content: "&lt;br/&gt;".into() },
        },
        InlineTag {
            offset: 10,
            kind: InlineKind::Code {
                element: CodeElement::Bpt,
                attributes: vec![Attribute::new("i", "1")],
                content: "{\\b <sub type=\"x\">sub &amp; flow</sub>}<!--c--><![CDATA[<raw>]]>".into(),
            },
        },
        InlineTag {
            offset: 10,
            kind: InlineKind::Code {
                element: CodeElement::Ept,
                attributes: vec![Attribute::new("i", "1")],
                content: "}".into(),
            },
        },
    ];
    unit
}

#[test]
fn round_trips_metadata_markup_and_awkward_characters() {
    let mut header = Header::dhakira("ar");
    header.props.push(Prop::new("x-memory", "news"));
    header.notes.push("exported & checked".into());
    let units = vec![metadata_unit(), TmxUnit::new("واحد", "one")];
    let (read_header, read_units) = round_trip(&header, &units);
    assert_eq!(read_header, header);
    assert_eq!(read_units, units);
}

#[test]
fn writer_refuses_what_tmx_cannot_hold_and_stays_well_formed() {
    let mut writer = TmxWriter::new(Vec::new(), &Header::dhakira("en")).unwrap();
    let bad_markup = |markup: Vec<InlineTag>| {
        let mut unit = TmxUnit::new("نص", "text");
        unit.english.segment.markup = markup;
        unit
    };
    let ph = |offset, content: &str| InlineTag {
        offset,
        kind: InlineKind::Code { element: CodeElement::Ph, attributes: vec![], content: content.into() },
    };
    let mut bad_attribute = TmxUnit::new("نص", "text");
    bad_attribute.attributes = vec![Attribute::new("bad name", "x")];
    let mut french = TmxUnit::new("نص", "texte");
    french.english.lang = "fr".into();
    let cases = [
        TmxUnit::new("نص\u{1}", "text"),
        TmxUnit::new("نص", " \n"),
        french,
        bad_attribute,
        bad_markup(vec![ph(5, "")]),
        bad_markup(vec![ph(3, ""), ph(1, "")]),
        bad_markup(vec![InlineTag { offset: 0, kind: InlineKind::HiEnd }]),
        bad_markup(vec![InlineTag { offset: 0, kind: InlineKind::HiStart { attributes: vec![] } }]),
        bad_markup(vec![ph(0, "<b>")]),
        bad_markup(vec![ph(0, "</ph><x>")]),
        bad_markup(vec![ph(0, "&xxe;")]),
    ];
    for unit in &cases {
        let err = writer.write_unit(unit).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{unit:?}");
    }
    writer.write_unit(&TmxUnit::new("نص", "text")).unwrap();
    let bytes = writer.finish().unwrap();
    assert_eq!(units(&read_ok(bytes.as_slice()).entries).len(), 1);
}

#[test]
fn round_trips_twenty_thousand_corpus_units() {
    let corpus = corpus();
    let units: Vec<TmxUnit> = (0..20_000)
        .map(|i| {
            let (arabic, english) = &corpus[i % corpus.len()];
            let mut unit = TmxUnit::new(arabic.as_str(), english.as_str());
            unit.attributes = vec![
                Attribute::new("tuid", i.to_string()),
                Attribute::new("creationdate", format!("2024{:02}01T000000Z", i % 12 + 1)),
            ];
            if i % 7 == 0 {
                unit.props.push(Prop::new("x-domain", "news"));
                unit.english.segment.markup.push(InlineTag {
                    offset: 0,
                    kind: InlineKind::Code {
                        element: CodeElement::It,
                        attributes: vec![Attribute::new("pos", "begin")],
                        content: "&lt;i&gt;".into(),
                    },
                });
            }
            unit
        })
        .collect();
    let header = Header::dhakira("en");
    let bytes = write(&header, &units);
    let start = Instant::now();
    let read = read_ok(bytes.as_slice());
    let elapsed = start.elapsed();
    eprintln!(
        "read {} units ({} MB) in {:.3} s: {:.0} units/s, {:.1} MB/s",
        units.len(),
        bytes.len() / 1_000_000,
        elapsed.as_secs_f64(),
        units.len() as f64 / elapsed.as_secs_f64(),
        bytes.len() as f64 / 1e6 / elapsed.as_secs_f64()
    );
    assert_eq!(read.header, header);
    assert_eq!(read.entries.len(), units.len());
    for (i, (entry, unit)) in read.entries.iter().zip(&units).enumerate() {
        let Entry::Unit(read_unit) = entry else { panic!("unit {i} rejected: {entry:?}") };
        assert_eq!(&read_unit.unit, unit);
        assert_eq!(read_unit.position.line, 5 + 8 * i as u64 + (i as u64).div_ceil(7), "unit {i}");
    }
}

fn attribute_strategy() -> impl Strategy<Value = Vec<Attribute>> {
    prop::collection::vec(("[a-z][a-z0-9-]{0,6}", "[^\\p{C}]{0,12}|[\t\r\n a&<>\"']{0,6}"), 0..3).prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(name, _)| seen.insert(name.clone()) && name != "lang")
            .map(|(name, value)| Attribute::new(name, value))
            .collect()
    })
}

fn text_strategy() -> impl Strategy<Value = String> {
    "[^\\p{C}]{0,12}[a-zء-ي][^\\p{C}]{0,12}|[ a-zA-Z&<>\"'\r\n\t]{0,6}x[ &<>\r\n]{0,4}"
}

fn code_content_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("&lt;b&gt;".to_owned()),
        Just("{\\b <sub>x &amp; y</sub>}".to_owned()),
        "[a-z {}\\\\]{1,8}",
    ]
}

fn segment_strategy() -> impl Strategy<Value = Segment> {
    let tag = (0usize..100, 0usize..8, code_content_strategy(), attribute_strategy());
    (text_strategy(), prop::collection::vec(tag, 0..6)).prop_map(|(text, tags)| {
        let chars = text.chars().count();
        let mut tags: Vec<_> = tags
            .into_iter()
            .map(|(at, kind, content, attributes)| (at % (chars + 1), kind, content, attributes))
            .collect();
        tags.sort_by_key(|t| t.0);
        let mut markup = Vec::new();
        let mut open = 0;
        for (offset, kind, content, attributes) in tags {
            let kind = match kind {
                6 => {
                    open += 1;
                    InlineKind::HiStart { attributes }
                }
                7 if open > 0 => {
                    open -= 1;
                    InlineKind::HiEnd
                }
                k => InlineKind::Code { element: CodeElement::ALL[k % 6], attributes, content },
            };
            markup.push(InlineTag { offset, kind });
        }
        for _ in 0..open {
            markup.push(InlineTag { offset: chars, kind: InlineKind::HiEnd });
        }
        Segment { text, markup }
    })
}

fn metadata_strategy() -> impl Strategy<Value = (Vec<Prop>, Vec<String>)> {
    (
        prop::collection::vec(("[a-z-]{0,8}", "[^\\p{C}]{0,10}|[ \r\n\t&<]{0,4}"), 0..3),
        prop::collection::vec("[^\\p{C}]{0,10}", 0..2),
    )
        .prop_map(|(props, notes)| (props.into_iter().map(|(k, v)| Prop::new(k, v)).collect(), notes))
}

fn variant_strategy(codes: &'static [&'static str]) -> impl Strategy<Value = Variant> {
    (prop::sample::select(codes), attribute_strategy(), metadata_strategy(), segment_strategy()).prop_map(
        |(lang, attributes, (props, notes), segment)| Variant { lang: lang.into(), attributes, props, notes, segment },
    )
}

fn unit_strategy() -> impl Strategy<Value = TmxUnit> {
    (
        attribute_strategy(),
        metadata_strategy(),
        variant_strategy(&["ar", "AR-EG", "ar_SA", "ara", "arb"]),
        variant_strategy(&["en", "EN-GB", "en_US", "eng"]),
    )
        .prop_map(|(attributes, (props, notes), arabic, english)| TmxUnit {
            attributes,
            props,
            notes,
            arabic,
            english,
        })
}

/// A valid document to mutate.
fn sample_document() -> Vec<u8> {
    let units = [metadata_unit(), TmxUnit::new("واحد", "one")];
    write(&Header::dhakira("ar"), &units)
}

/// Reads `bytes` to the end, whatever they hold.
fn read_anything(bytes: &[u8]) {
    if let Ok(mut reader) = TmxReader::new(bytes) {
        let mut count = 0;
        while let Some(entry) = reader.next() {
            count += 1;
            assert!(count <= bytes.len() + 1, "the reader does not end");
            if entry.is_err() {
                assert!(reader.next().is_none());
                break;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn written_units_read_back_equal(units in prop::collection::vec(unit_strategy(), 1..6)) {
        let (_, read) = round_trip(&Header::dhakira("en"), &units);
        prop_assert_eq!(read, units);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read_anything(&bytes);
        let mut prefixed = b"<tmx><body><tu>".to_vec();
        prefixed.extend(&bytes);
        read_anything(&prefixed);
    }

    #[test]
    fn mutated_documents_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, prop::sample::select(&b"<>&;/\"'=![]?\0\xff\xfe#x-"[..])), 1..8)
    ) {
        let mut bytes = sample_document();
        for (at, op, byte) in edits {
            let at = at.index(bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => { bytes.remove(at); }
                2 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
        }
        read_anything(&bytes);
    }
}

#[test]
fn an_attribute_name_that_is_not_utf8_rejects_its_unit_so_what_is_kept_can_be_written() {
    // Found by the fuzz target: the name used to be decoded lossily (U+FFFD),
    // so a unit was kept that the writer then refused.
    let mut input = b"<tmx><header/><body><tu x".to_vec();
    input.push(0xB0);
    input.extend_from_slice(
        b"=\"1\"><tuv xml:lang=\"ar\"><seg>a</seg></tuv><tuv xml:lang=\"en\"><seg>b</seg></tuv></tu>\
          <tu tuid=\"ok\"><tuv xml:lang=\"ar\"><seg>a</seg></tuv><tuv xml:lang=\"en\"><seg>b</seg></tuv></tu></body></tmx>",
    );
    let outcome = read_ok(input.as_slice());
    let Entry::Rejected(rejected) = &outcome.entries[0] else { panic!("{:?}", outcome.entries[0]) };
    assert_eq!(rejected.reason, "<tu> has an attribute named \"x\u{FFFD}\", which is not an XML name");
    assert_eq!(units(&outcome.entries)[0].unit.tuid(), Some("ok"));
    // In the header it is left out with a warning: header metadata never
    // stops a file (issue 21).
    let mut header = b"<tmx><header a".to_vec();
    header.push(0xB0);
    header.extend_from_slice(b"=\"1\" srclang=\"ar\"/><body/></tmx>");
    let reader = TmxReader::new(header.as_slice()).expect("read");
    let warnings = reader.header_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].1.contains("which is not an XML name"), "{warnings:?}");
    assert!(reader.header().attributes.is_empty(), "{:?}", reader.header());
}

#[test]
fn a_segment_of_markup_alone_is_rejected_as_markup_not_as_empty() {
    let units =
        [tu("tags-only", "نص", "<bpt i=\"1\">&lt;b&gt;</bpt><ept i=\"1\">&lt;/b&gt;</ept>"), tu("blank", "نص", "   ")];
    let read = read_ok(document(&units).as_bytes());
    let reasons: Vec<(&str, &str)> =
        rejected(&read.entries).iter().map(|r| (r.tuid.as_deref().unwrap(), r.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            ("tags-only", "the English segment holds only markup (2 inline tags) and no text to match"),
            ("blank", "the English segment is empty"),
        ]
    );
}
