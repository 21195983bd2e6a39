//! A [`Store`] in a `BTreeMap`, for tests and benchmarks. It keeps the
//! contract's durability rules without a disk: [`Store::flush`] marks what
//! is durable (and counts it, as the acknowledgment record does),
//! [`Store::recover`] and [`InMemoryStore::reopened`] roll back to it, and
//! [`InMemoryStore::with_room`] gives it a "disk" that can fill up. So the
//! conformance suite holds it to the same rules as the real store.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::Mutex;

use super::{MemoryRecord, Store, Write};
use crate::error::{Error, Result};
use crate::text::Lang;
use crate::unit::{Packed, SideKey, Unit, UnitId};

#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone)]
struct State {
    /// Never rolled back: an id is not handed out twice, even when the
    /// write that used it was lost.
    last_id: UnitId,
    /// Units as their protobuf encoding: a third of the memory a `Unit`
    /// takes with its dozen strings (benchmarks keep a million of them).
    units: BTreeMap<UnitId, Packed>,
    sides: BTreeSet<(Lang, SideKey, UnitId)>,
    memories: BTreeMap<String, MemoryRecord>,
    /// How to undo the writes applied since the last flush, oldest first.
    unflushed: Vec<Undo>,
    /// Flushes that completed, and those acknowledged (the record a real
    /// store keeps beside its data).
    commits: u64,
    acknowledged: u64,
    /// Units the store may hold before it reports a full disk.
    room: Option<usize>,
}

#[derive(Debug, Clone)]
enum Undo {
    Remove(Unit),
    Restore(Unit),
}

impl State {
    fn put(&mut self, unit: &Unit) {
        for lang in [Lang::Arabic, Lang::English] {
            self.sides.insert((lang, unit.side_key(lang), unit.id));
        }
        self.units.insert(unit.id, Packed::of(unit));
    }

    fn delete(&mut self, unit: &Unit) {
        for lang in [Lang::Arabic, Lang::English] {
            self.sides.remove(&(lang, unit.side_key(lang), unit.id));
        }
        self.units.remove(&unit.id);
    }

    /// Back to what the last flush made durable.
    fn roll_back(&mut self) {
        while let Some(undo) = self.unflushed.pop() {
            match undo {
                Undo::Remove(unit) => self.delete(&unit),
                Undo::Restore(unit) => self.put(&unit),
            }
        }
    }
}

impl InMemoryStore {
    /// A store whose "disk" holds `units` units: [`Store::check_space`]
    /// reports it full once it holds that many.
    pub fn with_room(units: usize) -> InMemoryStore {
        InMemoryStore { state: Mutex::new(State { room: Some(units), ..State::default() }) }
    }

    /// The store as a crash and a restart would leave it: what was flushed,
    /// nothing more. Refused, as a real store is at start-up, when it holds
    /// fewer commits than were acknowledged.
    pub fn reopened(&self) -> Result<InMemoryStore> {
        let mut state = self.state.lock().clone();
        state.roll_back();
        if state.commits < state.acknowledged {
            return Err(Error::Corrupt {
                key: "commits".into(),
                reason: format!(
                    "the store holds {} group commits but {} were acknowledged: acknowledged writes are missing",
                    state.commits, state.acknowledged
                ),
            });
        }
        Ok(InMemoryStore { state: Mutex::new(state) })
    }

    /// Loses the last flushed commit, as a damaged log would (for tests of
    /// the acknowledgment check).
    #[cfg(test)]
    pub(crate) fn lose_last_commit(&self) {
        let mut state = self.state.lock();
        state.commits = state.commits.saturating_sub(1);
    }
}

impl Store for InMemoryStore {
    fn next_id(&self) -> Result<UnitId> {
        let mut state = self.state.lock();
        state.last_id += 1;
        Ok(state.last_id)
    }

    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        let state = self.state.lock();
        state.units.get(&id).map(|packed| packed.unpack(id)).transpose()
    }

    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>> {
        let state = self.state.lock();
        Ok(state.sides.range((lang, key, 0)..=(lang, key, UnitId::MAX)).map(|&(_, _, id)| id).collect())
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        let mut state = self.state.lock();
        for write in writes {
            match write {
                Write::Put(unit) => {
                    state.put(unit);
                    state.unflushed.push(Undo::Remove(unit.clone()));
                }
                Write::Replace { old, new } => {
                    state.delete(old);
                    state.put(new);
                    state.unflushed.extend([Undo::Restore(old.clone()), Undo::Remove(new.clone())]);
                }
                Write::Delete(unit) => {
                    state.delete(unit);
                    state.unflushed.push(Undo::Restore(unit.clone()));
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let mut state = self.state.lock();
        state.unflushed.clear();
        state.commits += 1;
        state.acknowledged = state.commits;
        Ok(())
    }

    fn check_space(&self) -> Result<()> {
        let state = self.state.lock();
        match state.room {
            Some(room) if state.units.len() >= room => {
                Err(Error::DiskFull(format!("the in-memory store holds {room} units, its room")))
            }
            _ => Ok(()),
        }
    }

    fn recover(&self) -> Result<()> {
        self.state.lock().roll_back();
        Ok(())
    }

    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        // In chunks, without the lock while `f` runs (it may use the store).
        const CHUNK: usize = 4_096;
        let mut after = None;
        loop {
            let chunk: Vec<Unit> = {
                let state = self.state.lock();
                let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
                let range = state.units.range((from, std::ops::Bound::Unbounded));
                range.take(CHUNK).map(|(&id, packed)| packed.unpack(id)).collect::<Result<_>>()?
            };
            let Some(last) = chunk.last() else { return Ok(()) };
            after = Some(last.id);
            chunk.into_iter().try_for_each(&mut *f)?;
        }
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
