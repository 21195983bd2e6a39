//! Every conversion between the gRPC messages (`proto`) and the library's
//! types, in one place: a new proto field is one edit here (and none when
//! both sides list the same fields: [`same_fields!`] writes both
//! directions). Requests are converted as they come, unchecked; the library
//! validates them (errors name the request's field). The only checked
//! conversion is [`ImportOptions`]' (`options.<field>`), which the importer
//! takes as already valid.
//!
//! The server's handlers (`server::grpc`), the command line's client and
//! the fuzz target (`fuzz/checks/request_validation.rs`) all convert with
//! these, so each of them sees a request as the server does.

use std::ops::Range;

use crate::analysis::{Analysis, AnalyzeRequest, BandCount, SimilarDocument};
use crate::cancel::Cancel;
use crate::export::ExportFilter;
use crate::fragments::{Fragment, FragmentKind};
use crate::import::{Format, ImportOptions, ImportSummary, Rejection};
use crate::matching::{EditKind, MetadataField, UnitFilter};
use crate::memory::{
    Added, Concordance, ConcordanceHit, ConcordanceRequest, Conflict, DuplicatePolicy, LookupRequest, Match,
    MemoryInfo, PreferenceRequest, Stats,
};
use crate::proto;
use crate::text::Lang;
use crate::tmx::Position;
use crate::unit::{check_metadata, memory_name, Property, Tag, Unit, UnitEdit, UnitInput};

/// `From` in both directions between a proto message and a library struct
/// that hold the same fields: `plain` fields move as they are, each item of
/// a `lists` field is converted with `Into`. Both struct literals are
/// exhaustive, so a field added on one side only does not compile.
macro_rules! same_fields {
    ($proto:ty, $lib:ty { plain: [$($plain:ident),* $(,)?], lists: [$($list:ident),* $(,)?] $(,)? }) => {
        impl From<$proto> for $lib {
            fn from(x: $proto) -> Self {
                Self { $($plain: x.$plain,)* $($list: x.$list.into_iter().map(Into::into).collect(),)* }
            }
        }

        impl From<$lib> for $proto {
            fn from(x: $lib) -> Self {
                Self { $($plain: x.$plain,)* $($list: x.$list.into_iter().map(Into::into).collect(),)* }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Units and their parts.

same_fields!(
    proto::UnitInput,
    UnitInput {
        plain: [
            arabic,
            english,
            memory,
            created_by,
            domain,
            source_document,
            note,
            created_at_ms,
            changed_at_ms,
            changed_by,
            usage_count,
            last_used_at_ms,
            tuid,
            client,
            project,
            context_before,
            context_after,
        ],
        lists: [properties],
    }
);

/// A unit's property; its TMX attributes (`xml:lang`, `o-encoding`) do not
/// travel.
impl From<proto::Property> for Property {
    fn from(p: proto::Property) -> Property {
        Property::new(p.name, p.value)
    }
}

impl From<Property> for proto::Property {
    fn from(p: Property) -> proto::Property {
        proto::Property { name: p.name, value: p.value }
    }
}

same_fields!(
    proto::UnitFilter,
    UnitFilter { plain: [domains, clients, projects, created_by, changed_after_ms, changed_before_ms], lists: [] }
);

impl From<Unit> for proto::Unit {
    fn from(u: Unit) -> proto::Unit {
        proto::Unit {
            unit_id: u.id,
            memory: u.memory,
            arabic: u.arabic,
            english: u.english,
            created_by: u.created_by,
            domain: u.domain,
            source_document: u.source_document,
            note: u.note,
            created_at_ms: u.created_at_ms,
            changed_at_ms: u.changed_at_ms,
            changed_by: u.changed_by,
            usage_count: u.usage_count,
            last_used_at_ms: u.last_used_at_ms,
            tuid: u.tuid,
            properties: u.properties.into_iter().map(Into::into).collect(),
            arabic_markup: u.arabic_markup.into_iter().map(Into::into).collect(),
            english_markup: u.english_markup.into_iter().map(Into::into).collect(),
            client: u.client,
            project: u.project,
            context_before: u.context_before,
            context_after: u.context_after,
        }
    }
}

impl From<Tag> for proto::InlineTag {
    fn from(t: Tag) -> proto::InlineTag {
        proto::InlineTag {
            offset: t.offset,
            kind: t.kind,
            attributes: t.attributes.into_iter().map(Into::into).collect(),
            content: t.content,
        }
    }
}

/// An `UpdateUnit` request's edit (its `unit_id` is read by the handler).
impl From<proto::UpdateUnitRequest> for UnitEdit {
    fn from(r: proto::UpdateUnitRequest) -> UnitEdit {
        UnitEdit {
            fields: r.update_mask,
            values: r.unit.map(UnitInput::from).unwrap_or_default(),
            changed_by: r.changed_by,
        }
    }
}

impl From<Added> for proto::AddUnitsResponse {
    fn from(added: Added) -> proto::AddUnitsResponse {
        proto::AddUnitsResponse {
            unit_ids: added.ids,
            added: added.added as u32,
            duplicates: added.duplicates as u32,
            // Set by the handler (the engine's sequence after the write).
            change_sequence: 0,
        }
    }
}

fn char_range(r: Range<usize>) -> proto::CharRange {
    proto::CharRange { start: r.start as u32, end: r.end as u32 }
}

// ---------------------------------------------------------------------------
// Lookups and their matches.

impl From<proto::LookupRequest> for LookupRequest {
    fn from(r: proto::LookupRequest) -> LookupRequest {
        LookupRequest {
            text: r.text,
            source_lang: r.source_lang,
            min_score: r.min_score,
            max_results: r.max_results,
            memories: r.memories,
            exhaustive: r.exhaustive,
            memory_penalties: r.memory_penalties.into_iter().map(|p| (p.memory, p.points)).collect(),
            filter: r.filter.map(UnitFilter::from).unwrap_or_default(),
            preferences: r
                .preferences
                .into_iter()
                .map(|p| PreferenceRequest { field: metadata_field(p.field), value: p.value, points: p.points })
                .collect(),
            context_before: r.context_before,
            context_after: r.context_after,
            freshness: r.freshness.map(|f| (f.half_life_days, f.max_points)),
            subsegments: r.subsegments,
            max_subsegments: r.max_subsegments,
            aligned_fragments: r.aligned_fragments,
            min_fragment_confidence: r.min_fragment_confidence,
            cancel: Cancel::default(),
            min_sequence: r.min_sequence,
        }
    }
}

impl From<LookupRequest> for proto::LookupRequest {
    fn from(r: LookupRequest) -> proto::LookupRequest {
        proto::LookupRequest {
            text: r.text,
            source_lang: r.source_lang,
            min_score: r.min_score,
            max_results: r.max_results,
            memories: r.memories,
            exhaustive: r.exhaustive,
            memory_penalties: r
                .memory_penalties
                .into_iter()
                .map(|(memory, points)| proto::MemoryPenalty { memory, points })
                .collect(),
            filter: (!r.filter.is_empty()).then(|| r.filter.into()),
            preferences: r
                .preferences
                .into_iter()
                .map(|p| proto::MetadataPreference {
                    field: proto_metadata_field(p.field) as i32,
                    value: p.value,
                    points: p.points,
                })
                .collect(),
            min_sequence: r.min_sequence,
            context_before: r.context_before,
            context_after: r.context_after,
            freshness: r.freshness.map(|(half_life_days, max_points)| proto::Freshness { half_life_days, max_points }),
            subsegments: r.subsegments,
            max_subsegments: r.max_subsegments,
            aligned_fragments: r.aligned_fragments,
            min_fragment_confidence: r.min_fragment_confidence,
        }
    }
}

/// A preference's field as the library names it (`None`: unspecified or
/// unknown, which validation refuses).
fn metadata_field(field: i32) -> Option<MetadataField> {
    match proto::MetadataField::try_from(field) {
        Ok(proto::MetadataField::Domain) => Some(MetadataField::Domain),
        Ok(proto::MetadataField::Client) => Some(MetadataField::Client),
        Ok(proto::MetadataField::Project) => Some(MetadataField::Project),
        Ok(proto::MetadataField::CreatedBy) => Some(MetadataField::CreatedBy),
        Ok(proto::MetadataField::Unspecified) | Err(_) => None,
    }
}

/// The inverse of [`metadata_field`].
fn proto_metadata_field(field: Option<MetadataField>) -> proto::MetadataField {
    match field {
        Some(MetadataField::Domain) => proto::MetadataField::Domain,
        Some(MetadataField::Client) => proto::MetadataField::Client,
        Some(MetadataField::Project) => proto::MetadataField::Project,
        Some(MetadataField::CreatedBy) => proto::MetadataField::CreatedBy,
        None => proto::MetadataField::Unspecified,
    }
}

impl From<Match> for proto::Match {
    fn from(m: Match) -> proto::Match {
        let (source, target) = (m.source().to_owned(), m.target().to_owned());
        let Match { unit, score, explanation: e, .. } = m;
        let explanation = proto::Explanation {
            word_score: e.word_score.into(),
            edit_cost: e.cost.words(),
            word_edits: e.word_edits as u32,
            variants: e.variants as u32,
            placeables: e.cost.placeables,
            penalty_points: e.penalty_points(),
            edits: e
                .edits
                .into_iter()
                .map(|edit| proto::Edit {
                    kind: proto::EditKind::from(edit.kind).into(),
                    query: edit.query.map(char_range),
                    source: edit.source.map(char_range),
                })
                .collect(),
            warnings: e
                .warnings
                .into_iter()
                .map(|w| proto::Warning { kind: w.kind.into(), message: w.message })
                .collect(),
            in_context: e.in_context,
        };
        proto::Match {
            unit_id: unit.id,
            score: score.into(),
            source,
            target,
            memory: unit.memory.clone(),
            penalties: e
                .penalties
                .into_iter()
                .map(|p| proto::Penalty { kind: p.kind, points: p.points.into(), reason: p.reason })
                .collect(),
            word_distance: e.word_edits as u32,
            query_words: e.query_words as u32,
            source_words: e.source_words as u32,
            unit: Some(unit.into()),
            explanation: Some(explanation),
            repaired_target: e.repaired_target,
        }
    }
}

impl From<Fragment> for proto::Fragment {
    fn from(f: Fragment) -> proto::Fragment {
        let (source, target) = (f.source().to_owned(), f.target().to_owned());
        let kind = match f.kind {
            FragmentKind::WholeUnit => proto::FragmentKind::WholeUnit,
            FragmentKind::Aligned => proto::FragmentKind::Aligned,
        };
        proto::Fragment {
            kind: kind.into(),
            unit_id: f.unit.id,
            memory: f.unit.memory.clone(),
            source,
            target,
            query_word_start: f.query_words.start as u32,
            query_word_end: f.query_words.end as u32,
            query: Some(char_range(f.query_chars)),
            source_range: Some(char_range(f.source_chars)),
            target_range: Some(char_range(f.target_chars)),
            penalty_points: f.points.into(),
            in_cover: f.in_cover,
            source_word_start: f.source_words.start as u32,
            source_word_end: f.source_words.end as u32,
            target_word_start: f.target_words.start as u32,
            target_word_end: f.target_words.end as u32,
            confidence: f.confidence.into(),
            unit: Some(f.unit.into()),
        }
    }
}

impl From<EditKind> for proto::EditKind {
    fn from(kind: EditKind) -> proto::EditKind {
        match kind {
            EditKind::Equal => proto::EditKind::Equal,
            EditKind::Normalized => proto::EditKind::Normalized,
            EditKind::Variant => proto::EditKind::Variant,
            EditKind::Placeable => proto::EditKind::Placeable,
            EditKind::Substitute => proto::EditKind::Substitute,
            EditKind::Insert => proto::EditKind::Insert,
            EditKind::Delete => proto::EditKind::Delete,
        }
    }
}

// ---------------------------------------------------------------------------
// Analysis.

/// The document and scope of an `Analyze` request (`include_segments` is
/// the handler's: it shapes the answer).
impl From<proto::AnalyzeRequest> for AnalyzeRequest {
    fn from(r: proto::AnalyzeRequest) -> AnalyzeRequest {
        AnalyzeRequest {
            segments: r.segments,
            text: r.text,
            source_lang: r.source_lang,
            memories: r.memories,
            filter: r.filter.map(UnitFilter::from).unwrap_or_default(),
            memory_penalties: r.memory_penalties.into_iter().map(|p| (p.memory, p.points)).collect(),
            similar_documents: r.similar_documents,
            max_documents: r.max_documents,
            aligned_fragments: r.aligned_fragments,
            cancel: Cancel::default(),
        }
    }
}

fn proto_band(b: &BandCount) -> proto::Band {
    proto::Band { name: b.name.to_owned(), segments: b.segments as u32, words: b.words as u32 }
}

impl From<SimilarDocument> for proto::SimilarDocument {
    fn from(d: SimilarDocument) -> proto::SimilarDocument {
        proto::SimilarDocument {
            source_document: d.source_document,
            bands: d.bands.iter().map(proto_band).collect(),
            fragment_segments: d.fragment_segments as u32,
            fragment_words: d.fragment_words as u32,
            covered_words: d.covered_words as u32,
            segments: d.segments.into_iter().map(|i| i as u32).collect(),
        }
    }
}

/// Every segment included.
impl From<Analysis> for proto::AnalyzeResponse {
    fn from(analysis: Analysis) -> proto::AnalyzeResponse {
        proto::AnalyzeResponse {
            bands: analysis.bands.iter().map(proto_band).collect(),
            total_segments: analysis.total_segments as u32,
            total_words: analysis.total_words as u32,
            segments: analysis
                .segments
                .into_iter()
                .map(|s| proto::AnalyzedSegment {
                    fragment_words: s.fragment_words() as u32,
                    text: s.text,
                    words: s.words as u32,
                    band: s.band.to_owned(),
                    best: s.best.map(Into::into),
                    fragments: s.fragments.into_iter().map(Into::into).collect(),
                })
                .collect(),
            fragment_words: analysis.fragment_words as u32,
            similar_documents: analysis.similar.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// Concordance, conflicts, memories, statistics.

impl From<proto::ConcordanceRequest> for ConcordanceRequest {
    fn from(r: proto::ConcordanceRequest) -> ConcordanceRequest {
        ConcordanceRequest {
            text: r.text,
            lang: r.lang,
            memories: r.memories,
            filter: r.filter.map(UnitFilter::from).unwrap_or_default(),
            page_size: r.page_size,
            page_token: r.page_token,
            cancel: Cancel::default(),
        }
    }
}

impl From<Concordance> for proto::ConcordanceResponse {
    fn from(page: Concordance) -> proto::ConcordanceResponse {
        proto::ConcordanceResponse {
            hits: page.hits.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }
    }
}

impl From<ConcordanceHit> for proto::ConcordanceHit {
    fn from(h: ConcordanceHit) -> proto::ConcordanceHit {
        proto::ConcordanceHit {
            unit: Some(h.unit.into()),
            lang: h.lang.code().to_owned(),
            spans: h.spans.into_iter().map(char_range).collect(),
        }
    }
}

impl From<Conflict> for proto::Conflict {
    fn from(c: Conflict) -> proto::Conflict {
        proto::Conflict {
            memory: c.memory,
            source_lang: c.lang.code().to_owned(),
            units: c.units.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<MemoryInfo> for proto::Memory {
    fn from(m: MemoryInfo) -> proto::Memory {
        proto::Memory { name: m.name, description: m.description, created_at_ms: m.created_at_ms, units: m.units }
    }
}

impl From<Stats> for proto::StatsResponse {
    fn from(s: Stats) -> proto::StatsResponse {
        proto::StatsResponse {
            memories: s.memories.into_iter().map(|(name, units)| proto::MemoryStats { name, units }).collect(),
            total_units: s.total_units,
            alignment: Some(proto::AlignmentStats {
                memory_units: s.alignment.memory_units as u64,
                trained_units: s.alignment.trained_units as u64,
                model_entries: s.alignment.model_entries as u64,
                aligned_units: s.alignment.aligned_units as u64,
                training_ms: s.alignment.training.as_millis() as u64,
                aligning_ms: s.alignment.aligning.as_millis() as u64,
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// Export and Import: what to export, the options of an import and its
// summary, both ways (the command line is a client of the server's Import).

impl From<proto::ExportRequest> for ExportFilter {
    fn from(r: proto::ExportRequest) -> ExportFilter {
        ExportFilter { memories: r.memories, domain: (!r.domain.is_empty()).then_some(r.domain) }
    }
}

impl From<ExportFilter> for proto::ExportRequest {
    fn from(f: ExportFilter) -> proto::ExportRequest {
        proto::ExportRequest { memories: f.memories, domain: f.domain.unwrap_or_default() }
    }
}

/// The options of an `Import` call, checked (errors name `options.<field>`).
impl TryFrom<proto::ImportOptions> for ImportOptions {
    type Error = crate::Error;

    fn try_from(options: proto::ImportOptions) -> crate::Result<ImportOptions> {
        let memory = match options.memory.as_str() {
            "" => None,
            name => Some(memory_name(name, "options.memory")?),
        };
        let source_lang = match options.source_lang.as_str() {
            "" => Lang::English,
            code => Lang::parse(code, "options.source_lang")?,
        };
        let policy = match proto::DuplicatePolicy::try_from(options.policy) {
            Ok(proto::DuplicatePolicy::Add) => DuplicatePolicy::Add,
            Ok(proto::DuplicatePolicy::Overwrite) => DuplicatePolicy::Overwrite,
            Ok(proto::DuplicatePolicy::KeepNewest) => DuplicatePolicy::KeepNewest,
            Err(_) => {
                return Err(crate::Error::invalid(
                    "options.policy",
                    format!("{} is not a duplicate policy (0 add, 1 overwrite, 2 keep newest)", options.policy),
                ))
            }
        };
        for (name, value) in [
            ("options.domain", &options.domain),
            ("options.source_document", &options.source_document),
            // The name becomes every unit's source document when that is unset.
            ("options.name", &options.name),
        ] {
            check_metadata(value, name)?;
        }
        Ok(ImportOptions {
            format: Format::parse(&options.format, "options.format")?,
            memory,
            policy,
            source_lang,
            domain: options.domain,
            source_document: if options.source_document.is_empty() { options.name } else { options.source_document },
        })
    }
}

/// The options of an Import call, as a client sends them (the inverse of
/// the server's reading of them).
impl From<&ImportOptions> for proto::ImportOptions {
    fn from(o: &ImportOptions) -> proto::ImportOptions {
        let policy = match o.policy {
            DuplicatePolicy::Add => proto::DuplicatePolicy::Add,
            DuplicatePolicy::Overwrite => proto::DuplicatePolicy::Overwrite,
            DuplicatePolicy::KeepNewest => proto::DuplicatePolicy::KeepNewest,
        };
        proto::ImportOptions {
            format: o.format.map_or("", Format::name).into(),
            memory: o.memory.clone().unwrap_or_default(),
            policy: policy as i32,
            source_lang: o.source_lang.code().into(),
            domain: o.domain.clone(),
            source_document: o.source_document.clone(),
            name: o.source_document.clone(),
        }
    }
}

impl From<ImportSummary> for proto::ImportSummary {
    fn from(s: ImportSummary) -> proto::ImportSummary {
        let rejection = |r: Rejection| {
            let (start_byte, end_byte) = r.span.map_or((0, 0), |(start, end)| (start.byte, end.byte));
            proto::Rejection { line: r.line, tuid: r.tuid, reason: r.reason, start_byte, end_byte }
        };
        proto::ImportSummary {
            read: s.read,
            added: s.added,
            updated: s.updated,
            duplicates: s.duplicates,
            kept_newer: s.kept_newer,
            removed: s.removed,
            rejected: s.rejected,
            rejections: s.rejections.into_iter().map(rejection).collect(),
            warnings: s.warnings.into_iter().map(rejection).collect(),
            encoding: s.encoding,
            change_sequence: 0,
        }
    }
}

/// A summary as a client receives it. `stopped` is not in the message: a
/// stopped import is an error status carrying this summary.
impl From<proto::ImportSummary> for ImportSummary {
    fn from(s: proto::ImportSummary) -> ImportSummary {
        let rejection = |r: proto::Rejection| {
            // Only byte offsets travel: enough for `tmx::copy_units`.
            let span = (r.end_byte > 0).then(|| {
                let at = |byte| Position { line: r.line, column: 0, byte };
                (at(r.start_byte), at(r.end_byte))
            });
            Rejection { line: r.line, tuid: r.tuid, reason: r.reason, span }
        };
        ImportSummary {
            read: s.read,
            added: s.added,
            updated: s.updated,
            duplicates: s.duplicates,
            kept_newer: s.kept_newer,
            removed: s.removed,
            rejected: s.rejected,
            rejections: s.rejections.into_iter().map(rejection).collect(),
            warnings: s.warnings.into_iter().map(rejection).collect(),
            encoding: s.encoding,
            stopped: None,
        }
    }
}
