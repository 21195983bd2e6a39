//! A [`Store`] in a `BTreeMap`, for tests and benchmarks. Nothing is durable.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::Mutex;

use super::{Store, Write};
use crate::error::Result;
use crate::unit::{Fingerprint, Unit, UnitId};

#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_id: UnitId,
    units: BTreeMap<UnitId, Unit>,
    fingerprints: BTreeSet<(Fingerprint, UnitId)>,
}

impl Store for InMemoryStore {
    fn next_id(&self) -> Result<UnitId> {
        let mut state = self.state.lock();
        state.last_id += 1;
        Ok(state.last_id)
    }

    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        Ok(self.state.lock().units.get(&id).cloned())
    }

    fn ids_with_fingerprint(&self, fingerprint: Fingerprint) -> Result<Vec<UnitId>> {
        let state = self.state.lock();
        Ok(state.fingerprints.range((fingerprint, 0)..=(fingerprint, UnitId::MAX)).map(|&(_, id)| id).collect())
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        let mut state = self.state.lock();
        for write in writes {
            match write {
                Write::Put(unit) => {
                    state.fingerprints.insert((unit.fingerprint(), unit.id));
                    state.units.insert(unit.id, unit.clone());
                }
                Write::Delete(unit) => {
                    state.fingerprints.remove(&(unit.fingerprint(), unit.id));
                    state.units.remove(&unit.id);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        let units: Vec<Unit> = self.state.lock().units.values().cloned().collect();
        units.into_iter().try_for_each(f)
    }
}
