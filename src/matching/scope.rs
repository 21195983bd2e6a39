//! What a query considers and how it weighs what it finds: memories (with
//! a penalty each), metadata filters, metadata preferences and freshness.
//!
//! The index compiles a [`Scope`] into a per-slot verdict (left out, or the
//! points taken off); the lookup names the same points as [`Penalty`]s from
//! the unit itself, through the same functions here, so the two agree.

use super::score::Penalty;
use crate::unit::Unit;

/// Which units a query or a deletion considers. Empty lists filter nothing;
/// the values of one list are alternatives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFilter {
    pub domains: Vec<String>,
    pub clients: Vec<String>,
    pub projects: Vec<String>,
    pub created_by: Vec<String>,
    /// Changed (else created) at or after this time, in milliseconds since
    /// the Unix epoch; 0: no bound.
    pub changed_after_ms: i64,
    /// Changed (else created) before this time; 0: no bound.
    pub changed_before_ms: i64,
}

impl UnitFilter {
    /// True when the filter keeps every unit.
    pub fn is_empty(&self) -> bool {
        *self == UnitFilter::default()
    }

    /// Whether a unit with these metadata, changed (else created) at
    /// `time_ms`, passes.
    pub fn keeps(&self, facet: &Facet, time_ms: i64) -> bool {
        self.keeps_facet(facet) && self.keeps_time(time_ms)
    }

    /// Whether these metadata pass (the time aside).
    pub fn keeps_facet(&self, facet: &Facet) -> bool {
        let any = |values: &[String], value: &str| values.is_empty() || values.iter().any(|v| v == value);
        any(&self.domains, &facet.domain)
            && any(&self.clients, &facet.client)
            && any(&self.projects, &facet.project)
            && any(&self.created_by, &facet.created_by)
    }

    /// Whether a unit changed (else created) at `time_ms` passes.
    pub fn keeps_time(&self, time_ms: i64) -> bool {
        (self.changed_after_ms == 0 || time_ms >= self.changed_after_ms)
            && (self.changed_before_ms == 0 || time_ms < self.changed_before_ms)
    }

    /// The time bounds alone.
    pub fn time_bounds(&self) -> UnitFilter {
        UnitFilter {
            changed_after_ms: self.changed_after_ms,
            changed_before_ms: self.changed_before_ms,
            ..UnitFilter::default()
        }
    }
}

/// The metadata a filter or a preference reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataField {
    Domain,
    Client,
    Project,
    CreatedBy,
}

impl MetadataField {
    /// The penalty named when a unit's value differs.
    pub fn penalty_kind(self) -> &'static str {
        match self {
            MetadataField::Domain => "domain_mismatch",
            MetadataField::Client => "client_mismatch",
            MetadataField::Project => "project_mismatch",
            MetadataField::CreatedBy => "creator_mismatch",
        }
    }

    fn label(self) -> &'static str {
        match self {
            MetadataField::Domain => "domain",
            MetadataField::Client => "client",
            MetadataField::Project => "project",
            MetadataField::CreatedBy => "translator",
        }
    }

    fn of(self, facet: &Facet) -> &str {
        match self {
            MetadataField::Domain => &facet.domain,
            MetadataField::Client => &facet.client,
            MetadataField::Project => &facet.project,
            MetadataField::CreatedBy => &facet.created_by,
        }
    }
}

/// Prefer units whose `field` is `value`: the others lose `points`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    pub field: MetadataField,
    pub value: String,
    pub points: u8,
}

/// Older units lose up to `max_points`: `round(max × (1 − 2^(−age/half_life)))`,
/// the age in whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub half_life_days: u32,
    pub max_points: u8,
}

impl Freshness {
    /// The points a unit last changed (else created) at `time_ms` loses at
    /// `now_ms`.
    pub fn points(self, time_ms: i64, now_ms: i64) -> u8 {
        // Whole days: the same unit gets the same points all day long.
        let age_days = ((now_ms - time_ms).max(0) / 86_400_000) as f64;
        let kept = (-age_days / f64::from(self.half_life_days)).exp2();
        (f64::from(self.max_points) * (1.0 - kept)).round() as u8
    }
}

/// The metadata of a unit that filters and preferences read; the index
/// keeps one copy per distinct combination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Facet {
    pub domain: String,
    pub client: String,
    pub project: String,
    pub created_by: String,
}

impl Facet {
    pub fn of(unit: &Unit) -> Facet {
        Facet {
            domain: unit.domain.clone(),
            client: unit.client.clone(),
            project: unit.project.clone(),
            created_by: unit.created_by.clone(),
        }
    }
}

/// A query's scope, with memories as index ids.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The memories searched; `None`: all.
    pub memories: Option<Vec<u32>>,
    /// Points off every unit of a memory.
    pub memory_points: Vec<(u32, u8)>,
    pub filter: UnitFilter,
    pub preferences: Vec<Preference>,
    pub freshness: Option<Freshness>,
    /// "Now", for freshness.
    pub now_ms: i64,
    /// Points a match may gain after the index (1 when an in-context
    /// match is possible).
    pub bonus: u8,
    /// Points a match may lose after the index, unknown to it (the
    /// several-translations penalty).
    pub unknown: u8,
    /// Stops the index's loops over units early (see [`crate::Cancel`]).
    pub cancel: crate::Cancel,
}

impl Scope {
    /// The points preferences take off units with these metadata.
    pub fn preference_points(&self, facet: &Facet) -> u32 {
        self.preferences.iter().filter(|p| p.field.of(facet) != p.value).map(|p| u32::from(p.points)).sum()
    }

    /// The penalties a unit gets from its memory (`memory_points`), its
    /// metadata and its age, named.
    pub fn penalties(&self, unit: &Unit, memory_points: u8) -> Vec<Penalty> {
        let mut penalties = Vec::new();
        if memory_points > 0 {
            penalties.push(Penalty {
                kind: "memory_penalty".into(),
                points: memory_points,
                reason: format!("from memory {:?}, which this lookup ranks lower", unit.memory),
            });
        }
        let facet = Facet::of(unit);
        for p in &self.preferences {
            let value = p.field.of(&facet);
            if value != p.value {
                penalties.push(Penalty {
                    kind: p.field.penalty_kind().into(),
                    points: p.points,
                    reason: format!("{} is {value:?}, not the preferred {:?}", p.field.label(), p.value),
                });
            }
        }
        if let Some(freshness) = self.freshness {
            let points = freshness.points(unit.changed_or_created_ms(), self.now_ms);
            if points > 0 {
                let days = (self.now_ms - unit.changed_or_created_ms()).max(0) / 86_400_000;
                penalties.push(Penalty {
                    kind: "age".into(),
                    points,
                    reason: format!("last changed {days} days ago (half-life {} days)", freshness.half_life_days),
                });
            }
        }
        penalties
    }
}
