//! The engine: a [`TranslationMemory`] ties the store, the index and the
//! score function together. Every edge (gRPC, CLI, tests) goes through it.
//!
//! All methods block: call them from a blocking context (the gRPC layer uses
//! `spawn_blocking`).

mod lookup;
mod writer;

use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;

pub use lookup::{Lookup, LookupRequest, Match, DEFAULT_MAX_RESULTS, DEFAULT_MIN_SCORE, MAX_RESULTS_LIMIT, MAX_SCORE};
pub use writer::Added;

use crate::error::{Error, Result};
use crate::matching::Index;
use crate::store::{InMemoryStore, SledStore, Store};
use crate::unit::{Unit, UnitId, UnitInput};

/// Most units in one add request.
pub const MAX_UNITS_PER_REQUEST: usize = 10_000;

/// State shared by readers and the writer thread.
pub(crate) struct Shared {
    store: Arc<dyn Store>,
    index: RwLock<Index>,
}

/// Units per memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// (memory name, units), sorted by name; only memories holding units.
    pub memories: Vec<(String, u64)>,
    pub total_units: u64,
}

/// A translation memory database: every named memory in one store.
#[derive(Clone)]
pub struct TranslationMemory {
    shared: Arc<Shared>,
    writer: Arc<writer::Writer>,
}

impl TranslationMemory {
    /// Opens (or creates) the sled database in `path` and builds the index.
    pub fn open(path: &Path) -> Result<TranslationMemory> {
        TranslationMemory::with_store(Arc::new(SledStore::open(path)?))
    }

    /// A memory that lives only in RAM (tests, benchmarks).
    pub fn in_memory() -> TranslationMemory {
        TranslationMemory::with_store(Arc::new(InMemoryStore::default()))
            .expect("an empty in-memory store always opens")
    }

    /// Wraps a store, building the index from every unit in it.
    pub fn with_store(store: Arc<dyn Store>) -> Result<TranslationMemory> {
        let mut index = Index::default();
        store.for_each_unit(&mut |unit| {
            index.insert(&unit);
            Ok(())
        })?;
        let shared = Arc::new(Shared { store, index: RwLock::new(index) });
        let writer = Arc::new(writer::Writer::start(Arc::clone(&shared)));
        Ok(TranslationMemory { shared, writer })
    }

    /// Validates and stores units; returns once they are durable. One invalid
    /// unit rejects the whole request (nothing is stored).
    pub fn add_units(&self, units: Vec<UnitInput>) -> Result<Added> {
        if units.is_empty() {
            return Err(Error::invalid("units", "must not be empty"));
        }
        if units.len() > MAX_UNITS_PER_REQUEST {
            return Err(Error::invalid(
                "units",
                format!("{} units in one request; the limit is {MAX_UNITS_PER_REQUEST}", units.len()),
            ));
        }
        let units = units
            .into_iter()
            .enumerate()
            .map(|(i, unit)| unit.validate(&format!("units[{i}]")))
            .collect::<Result<Vec<Unit>>>()?;
        self.writer.add(units)
    }

    /// The best matches for a lookup.
    pub fn lookup(&self, request: LookupRequest) -> Result<Vec<Match>> {
        lookup::find(&self.shared, &request.validate()?)
    }

    /// One unit by id.
    pub fn get_unit(&self, id: UnitId) -> Result<Unit> {
        let id = lookup::check_id(id)?;
        self.shared.store.get(id)?.ok_or_else(|| Error::not_found("unit_id", format!("no unit has id {id}")))
    }

    /// Deletes one unit; returns once the deletion is durable.
    pub fn delete_unit(&self, id: UnitId) -> Result<()> {
        self.writer.delete(lookup::check_id(id)?)
    }

    /// Units per memory.
    pub fn stats(&self) -> Stats {
        let index = self.shared.index.read();
        Stats { memories: index.memory_counts(), total_units: index.len() as u64 }
    }

    /// True when no unit is stored.
    pub fn is_empty(&self) -> bool {
        self.shared.index.read().is_empty()
    }
}

#[cfg(test)]
mod tests;
