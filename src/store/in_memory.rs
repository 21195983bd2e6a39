//! A [`Store`] in a `BTreeMap`, for tests and benchmarks. Nothing is durable.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::Mutex;

use super::{MemoryRecord, Store, Write};
use crate::error::Result;
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_id: UnitId,
    units: BTreeMap<UnitId, Unit>,
    sides: BTreeSet<(Lang, SideKey, UnitId)>,
    memories: BTreeMap<String, MemoryRecord>,
}

impl State {
    fn put(&mut self, unit: &Unit) {
        for lang in [Lang::Arabic, Lang::English] {
            self.sides.insert((lang, unit.side_key(lang), unit.id));
        }
        self.units.insert(unit.id, unit.clone());
    }

    fn delete(&mut self, unit: &Unit) {
        for lang in [Lang::Arabic, Lang::English] {
            self.sides.remove(&(lang, unit.side_key(lang), unit.id));
        }
        self.units.remove(&unit.id);
    }
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

    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>> {
        let state = self.state.lock();
        Ok(state.sides.range((lang, key, 0)..=(lang, key, UnitId::MAX)).map(|&(_, _, id)| id).collect())
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        let mut state = self.state.lock();
        for write in writes {
            match write {
                Write::Put(unit) => state.put(unit),
                Write::Replace { old, new } => {
                    state.delete(old);
                    state.put(new);
                }
                Write::Delete(unit) => state.delete(unit),
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

    fn memories(&self) -> Result<Vec<MemoryRecord>> {
        Ok(self.state.lock().memories.values().cloned().collect())
    }

    fn put_memory(&self, record: &MemoryRecord) -> Result<()> {
        self.state.lock().memories.insert(record.name.clone(), record.clone());
        Ok(())
    }

    fn remove_memory(&self, name: &str) -> Result<()> {
        self.state.lock().memories.remove(name);
        Ok(())
    }
}
