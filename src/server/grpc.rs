//! The `dhakira.v1.TranslationMemory` service: each handler converts the
//! request, calls the engine off the async reactor, and converts the answer.

use tonic::{Request, Response, Status};

use crate::matching::EditKind;
use crate::memory::{LookupRequest, Match, Stats, TranslationMemory};
use crate::proto;
use crate::unit::{Unit, UnitInput};

/// The gRPC service over one [`TranslationMemory`].
#[derive(Clone)]
pub struct Service {
    tm: TranslationMemory,
}

impl Service {
    pub fn new(tm: TranslationMemory) -> Service {
        Service { tm }
    }

    /// Runs engine work on the blocking pool: it flushes to disk and scores
    /// thousands of units, which must not stall the reactor.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&TranslationMemory) -> crate::Result<T> + Send + 'static,
    ) -> Result<T, Status> {
        let tm = self.tm.clone();
        tokio::task::spawn_blocking(move || work(&tm))
            .await
            .map_err(|err| Status::internal(format!("request task failed: {err}")))?
            .map_err(Status::from)
    }
}

#[tonic::async_trait]
impl proto::translation_memory_server::TranslationMemory for Service {
    async fn add_units(
        &self,
        request: Request<proto::AddUnitsRequest>,
    ) -> Result<Response<proto::AddUnitsResponse>, Status> {
        let units: Vec<UnitInput> = request.into_inner().units.into_iter().map(UnitInput::from).collect();
        let added = self.blocking(move |tm| tm.add_units(units)).await?;
        Ok(Response::new(proto::AddUnitsResponse {
            unit_ids: added.ids,
            added: added.added as u32,
            duplicates: added.duplicates as u32,
        }))
    }

    async fn lookup(&self, request: Request<proto::LookupRequest>) -> Result<Response<proto::LookupResponse>, Status> {
        let request = LookupRequest::from(request.into_inner());
        let matches = self.blocking(move |tm| tm.lookup(request)).await?;
        Ok(Response::new(proto::LookupResponse { matches: matches.into_iter().map(proto::Match::from).collect() }))
    }

    async fn get_unit(&self, request: Request<proto::GetUnitRequest>) -> Result<Response<proto::Unit>, Status> {
        let id = request.into_inner().unit_id;
        let unit = self.blocking(move |tm| tm.get_unit(id)).await?;
        Ok(Response::new(unit.into()))
    }

    async fn delete_unit(
        &self,
        request: Request<proto::DeleteUnitRequest>,
    ) -> Result<Response<proto::DeleteUnitResponse>, Status> {
        let id = request.into_inner().unit_id;
        self.blocking(move |tm| tm.delete_unit(id)).await?;
        Ok(Response::new(proto::DeleteUnitResponse {}))
    }

    async fn stats(&self, _request: Request<proto::StatsRequest>) -> Result<Response<proto::StatsResponse>, Status> {
        let stats = self.blocking(|tm| Ok(tm.stats())).await?;
        Ok(Response::new(stats.into()))
    }
}

impl From<proto::UnitInput> for UnitInput {
    fn from(u: proto::UnitInput) -> UnitInput {
        UnitInput {
            arabic: u.arabic,
            english: u.english,
            memory: u.memory,
            created_by: u.created_by,
            domain: u.domain,
            source_document: u.source_document,
            note: u.note,
        }
    }
}

impl From<UnitInput> for proto::UnitInput {
    fn from(u: UnitInput) -> proto::UnitInput {
        proto::UnitInput {
            arabic: u.arabic,
            english: u.english,
            memory: u.memory,
            created_by: u.created_by,
            domain: u.domain,
            source_document: u.source_document,
            note: u.note,
        }
    }
}

impl From<proto::LookupRequest> for LookupRequest {
    fn from(r: proto::LookupRequest) -> LookupRequest {
        LookupRequest {
            text: r.text,
            source_lang: r.source_lang,
            min_score: r.min_score,
            max_results: r.max_results,
            memories: r.memories,
            exhaustive: r.exhaustive,
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
        }
    }
}

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
        }
    }
}

impl From<Match> for proto::Match {
    fn from(m: Match) -> proto::Match {
        let (source, target) = (m.source().to_owned(), m.target().to_owned());
        let Match { unit, score, explanation: e, .. } = m;
        let range = |r: Option<std::ops::Range<usize>>| {
            r.map(|r| proto::CharRange { start: r.start as u32, end: r.end as u32 })
        };
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
                    query: range(edit.query),
                    source: range(edit.source),
                })
                .collect(),
            warnings: e
                .warnings
                .into_iter()
                .map(|w| proto::Warning { kind: w.kind.into(), message: w.message })
                .collect(),
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

impl From<Stats> for proto::StatsResponse {
    fn from(s: Stats) -> proto::StatsResponse {
        proto::StatsResponse {
            memories: s.memories.into_iter().map(|(name, units)| proto::MemoryStats { name, units }).collect(),
            total_units: s.total_units,
        }
    }
}
