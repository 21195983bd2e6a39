//! The sled store's duplicate-check index, in RAM: the ids of the units
//! with each [`SideKey`].
//!
//! sled keeps only the units (one key each, appended at the right edge of
//! its tree as ids grow). Side keys stored beside them would land at random
//! places in the tree, two per unit, and an import would spend most of its
//! time paging sled's nodes in and out for them. This index is rebuilt from
//! the units instead: along the first full scan after the database opens
//! (the index build at start-up reads every unit anyway), or by a scan of
//! its own when it is first asked and no such scan ran (an offline import).
//!
//! **It never misses a stored unit.** A write adds the new sides before sled
//! applies it and removes the old ones after, so the index holds at least
//! what sled holds at every moment; an id it holds for a unit that is gone,
//! or whose side changed, is dropped by the callers, who check every unit's
//! text. Writes that land while a scan builds it are replayed on the scan's
//! result. After a failed write ([`super::Store::recover`]) it is rebuilt,
//! since sled may have rolled back a removal it saw.

use std::collections::HashMap;

use parking_lot::{Mutex, RwLock};

use super::Write;
use crate::error::Result;
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

type Map<V> = HashMap<u64, V, foldhash::fast::FixedState>;

/// Ids by side key, for one language: the first id of a key beside the
/// others (most keys have one unit), so that a million units take about
/// 36 MiB per language.
#[derive(Default)]
struct Ids {
    first: Map<UnitId>,
    more: Map<Vec<UnitId>>,
}

impl Ids {
    fn add(&mut self, key: SideKey, id: UnitId) {
        match self.first.entry(key.0) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(first) => {
                if *first.get() != id {
                    let more = self.more.entry(key.0).or_default();
                    if !more.contains(&id) {
                        more.push(id);
                    }
                }
            }
        }
    }

    fn remove(&mut self, key: SideKey, id: UnitId) {
        let Some(first) = self.first.get_mut(&key.0) else { return };
        if *first == id {
            match self.more.get_mut(&key.0) {
                Some(more) => {
                    *first = more.pop().expect("a key in `more` has ids");
                    if more.is_empty() {
                        self.more.remove(&key.0);
                    }
                }
                None => {
                    self.first.remove(&key.0);
                }
            }
        } else if let Some(more) = self.more.get_mut(&key.0) {
            more.retain(|&other| other != id);
            if more.is_empty() {
                self.more.remove(&key.0);
            }
        }
    }

    fn get(&self, key: SideKey) -> Vec<UnitId> {
        let Some(&first) = self.first.get(&key.0) else { return Vec::new() };
        let mut ids = vec![first];
        if let Some(more) = self.more.get(&key.0) {
            ids.extend(more);
        }
        ids.sort_unstable();
        ids
    }
}

/// Both languages' [`Ids`].
#[derive(Default)]
pub(super) struct SideMap {
    langs: [Ids; 2],
}

/// The place of `lang`'s [`Ids`] in [`SideMap::langs`].
fn at(lang: Lang) -> usize {
    usize::from(lang == Lang::English)
}

impl SideMap {
    fn of(&mut self, lang: Lang) -> &mut Ids {
        &mut self.langs[at(lang)]
    }

    /// Adds a stored unit's two sides.
    pub(super) fn add_unit(&mut self, unit: &Unit) {
        self.add_sides(std::iter::once(Sides::of(unit)));
    }

    /// Adds stored units' sides, in any order.
    pub(super) fn add_sides(&mut self, sides: impl Iterator<Item = Sides>) {
        for sides in sides {
            self.of(Lang::Arabic).add(sides.arabic, sides.id);
            self.of(Lang::English).add(sides.english, sides.id);
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Add(lang, key, id) => self.of(lang).add(key, id),
            Op::Remove(lang, key, id) => self.of(lang).remove(key, id),
        }
    }

    pub(super) fn get(&self, lang: Lang, key: SideKey) -> Vec<UnitId> {
        self.langs[at(lang)].get(key)
    }
}

/// A unit's two side keys, hashed away from the map's lock.
pub(super) struct Sides {
    id: UnitId,
    arabic: SideKey,
    english: SideKey,
}

impl Sides {
    pub(super) fn of(unit: &Unit) -> Sides {
        Sides { id: unit.id, arabic: unit.side_key(Lang::Arabic), english: unit.side_key(Lang::English) }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add(Lang, SideKey, UnitId),
    Remove(Lang, SideKey, UnitId),
}

enum State {
    /// Not built: writes leave no trace (the build reads what they wrote).
    Unbuilt,
    /// A scan is building it: writes are kept, to be replayed on its result.
    Building(Vec<Op>),
    Built(SideMap),
}

/// The index and its state (see the module's documentation).
pub(super) struct SideIndex {
    state: RwLock<State>,
    /// Held by the scan that builds it.
    building: Mutex<()>,
    /// The first full scan has not yet started.
    first_scan: std::sync::atomic::AtomicBool,
}

/// A build along a scan that [`SideIndex::along`] started.
pub(super) struct Along<'a> {
    index: &'a SideIndex,
    _building: parking_lot::MutexGuard<'a, ()>,
    map: SideMap,
}

impl Along<'_> {
    /// A unit the scan read.
    pub(super) fn unit(&mut self, unit: &Unit) {
        self.map.add_unit(unit);
    }

    /// The scan read every unit into `map` (on threads of its own): the
    /// index is built.
    pub(super) fn finish_with(mut self, map: SideMap) {
        self.map = map;
        self.finish();
    }

    /// The scan read every unit: the index is built.
    pub(super) fn finish(mut self) {
        self.index.install(std::mem::take(&mut self.map));
    }
}

impl Drop for Along<'_> {
    fn drop(&mut self) {
        // A scan that stopped early (an error) leaves it unbuilt.
        let mut state = self.index.state.write();
        if matches!(*state, State::Building(_)) {
            *state = State::Unbuilt;
        }
    }
}

impl SideIndex {
    pub(super) fn new() -> SideIndex {
        SideIndex {
            state: RwLock::new(State::Unbuilt),
            building: Mutex::new(()),
            first_scan: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// A build along the first full scan of the units, if the index is not
    /// built yet and nothing else builds it; `None` otherwise (a later scan,
    /// an export say, never builds it: a slow reader must not hold up the
    /// writes that wait for the index).
    pub(super) fn along(&self) -> Option<Along<'_>> {
        if !self.first_scan.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let building = self.building.try_lock()?;
        let mut state = self.state.write();
        if !matches!(*state, State::Unbuilt) {
            return None;
        }
        *state = State::Building(Vec::new());
        drop(state);
        Some(Along { index: self, _building: building, map: SideMap::default() })
    }

    /// The ids of the units whose side in `lang` is `key`, in id order (and
    /// maybe some that no longer are: see the module's documentation);
    /// `scan` reads every stored unit into a map when it is not built.
    pub(super) fn ids(
        &self,
        lang: Lang,
        key: SideKey,
        scan: impl FnMut(&mut SideMap) -> Result<()>,
    ) -> Result<Vec<UnitId>> {
        self.with(scan, |map| map.get(lang, key))
    }

    /// `read` on the built map, building it first with `scan` if need be.
    pub(super) fn with<T>(
        &self,
        mut scan: impl FnMut(&mut SideMap) -> Result<()>,
        read: impl Fn(&SideMap) -> T,
    ) -> Result<T> {
        loop {
            if let State::Built(map) = &*self.state.read() {
                return Ok(read(map));
            }
            let _building = self.building.lock();
            {
                let mut state = self.state.write();
                match &*state {
                    State::Built(_) => continue,
                    State::Building(_) => unreachable!("only the holder of `building` builds"),
                    State::Unbuilt => *state = State::Building(Vec::new()),
                }
            }
            let mut map = SideMap::default();
            if let Err(err) = scan(&mut map) {
                let mut state = self.state.write();
                if matches!(*state, State::Building(_)) {
                    *state = State::Unbuilt;
                }
                return Err(err);
            }
            // Read once installed, with the writes that landed meanwhile
            // (a build cancelled meanwhile scans again).
            self.install(map);
        }
    }

    /// Installs a scan's map, with the writes that landed meanwhile; a map
    /// whose build was cancelled ([`SideIndex::invalidate`]) is dropped.
    fn install(&self, mut map: SideMap) {
        let mut state = self.state.write();
        if let State::Building(ops) = &mut *state {
            for op in std::mem::take(ops) {
                map.apply(op);
            }
            *state = State::Built(map);
        }
    }

    fn record(&self, ops: impl Iterator<Item = Op>) {
        let mut state = self.state.write();
        match &mut *state {
            State::Unbuilt => {}
            State::Building(pending) => pending.extend(ops),
            State::Built(map) => ops.for_each(|op| map.apply(op)),
        }
    }

    /// Before sled applies `writes`: the sides they bring.
    pub(super) fn before(&self, writes: &[Write]) {
        self.record(writes.iter().flat_map(|write| {
            let (old, new) = sides(write);
            changed(new, old).map(|(lang, key, id)| Op::Add(lang, key, id))
        }));
    }

    /// After sled applied `writes`: the sides they took away.
    pub(super) fn after(&self, writes: &[Write]) {
        self.record(writes.iter().flat_map(|write| {
            let (old, new) = sides(write);
            changed(old, new).map(|(lang, key, id)| Op::Remove(lang, key, id))
        }));
    }

    /// Forgets it, to be built again (after a failed write, which sled may
    /// have partly rolled back).
    pub(super) fn invalidate(&self) {
        *self.state.write() = State::Unbuilt;
    }

    /// Whether it is built (tests of the scans that build it).
    #[cfg(test)]
    pub(super) fn is_built(&self) -> bool {
        matches!(*self.state.read(), State::Built(_))
    }
}

/// A side: its language, key and unit.
type Side = (Lang, SideKey, UnitId);

/// The sides a write takes away and brings.
fn sides(write: &Write) -> ([Option<Side>; 2], [Option<Side>; 2]) {
    let of = |unit: Option<&Unit>| {
        [Lang::Arabic, Lang::English].map(|lang| unit.map(|unit| (lang, unit.side_key(lang), unit.id)))
    };
    match write {
        Write::Put(unit) => (of(None), of(Some(unit))),
        Write::Delete(unit) => (of(Some(unit)), of(None)),
        Write::Replace { old, new } => (of(Some(old)), of(Some(new))),
    }
}

/// The sides of `these` that are not in `others`.
fn changed(these: [Option<Side>; 2], others: [Option<Side>; 2]) -> impl Iterator<Item = Side> {
    these.into_iter().flatten().filter(move |side| !others.contains(&Some(*side)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: UnitId, arabic: &str, english: &str) -> Unit {
        Unit { id, memory: "m".into(), arabic: arabic.into(), english: english.into(), ..Unit::default() }
    }

    fn built(units: &[Unit]) -> SideIndex {
        let index = SideIndex::new();
        index
            .with(
                |map| {
                    units.iter().for_each(|u| map.add_unit(u));
                    Ok(())
                },
                |_| (),
            )
            .unwrap();
        index
    }

    fn ids(index: &SideIndex, lang: Lang, unit: &Unit) -> Vec<UnitId> {
        index.ids(lang, unit.side_key(lang), |_| panic!("built")).unwrap()
    }

    #[test]
    fn keys_with_several_units_keep_them_all_in_id_order_as_they_come_and_go() {
        let (a, b, c) = (unit(3, "س", "x"), unit(1, "س", "y"), unit(2, "س", "z"));
        let index = built(&[a.clone(), b.clone()]);
        assert_eq!(ids(&index, Lang::Arabic, &a), vec![1, 3]);
        index.before(&[Write::Put(c.clone())]);
        index.after(&[Write::Put(c.clone())]);
        assert_eq!(ids(&index, Lang::Arabic, &a), vec![1, 2, 3]);
        // The first id of a key goes: another takes its place.
        index.before(&[Write::Delete(a.clone())]);
        assert_eq!(ids(&index, Lang::Arabic, &a), vec![1, 2, 3], "removed only after sled applied it");
        index.after(&[Write::Delete(a.clone())]);
        assert_eq!(ids(&index, Lang::Arabic, &a), vec![1, 2]);
        assert!(ids(&index, Lang::English, &a).is_empty());
        assert_eq!(ids(&index, Lang::English, &b), vec![1]);
        for u in [&b, &c] {
            index.after(&[Write::Delete(u.clone())]);
        }
        assert!(ids(&index, Lang::Arabic, &a).is_empty());
    }

    #[test]
    fn a_replacement_keeps_the_side_it_does_not_change_and_moves_the_other() {
        let old = unit(7, "نص", "text");
        let new = unit(7, "نص", "another text");
        let index = built(std::slice::from_ref(&old));
        let write = [Write::Replace { old: old.clone(), new: new.clone() }];
        index.before(&write);
        // While sled applies it, both English sides lead to it.
        assert_eq!(ids(&index, Lang::English, &old), vec![7]);
        assert_eq!(ids(&index, Lang::English, &new), vec![7]);
        index.after(&write);
        assert_eq!(ids(&index, Lang::Arabic, &new), vec![7]);
        assert_eq!(ids(&index, Lang::English, &new), vec![7]);
        assert!(ids(&index, Lang::English, &old).is_empty());
    }

    #[test]
    fn writes_during_a_build_are_replayed_on_it_and_a_failed_build_leaves_it_unbuilt() {
        let (a, b) = (unit(1, "أ", "a"), unit(2, "ب", "b"));
        let index = SideIndex::new();
        let mut along = index.along().expect("the first scan builds it");
        assert!(index.along().is_none(), "only the first scan");
        along.unit(&a);
        // Written while the scan runs: b added, a deleted.
        index.before(&[Write::Put(b.clone()), Write::Delete(a.clone())]);
        index.after(&[Write::Put(b.clone()), Write::Delete(a.clone())]);
        along.finish();
        assert!(ids(&index, Lang::Arabic, &a).is_empty());
        assert_eq!(ids(&index, Lang::English, &b), vec![2]);

        index.invalidate();
        let failed = index.ids(Lang::Arabic, a.side_key(Lang::Arabic), |_| Err(crate::error::Error::storage("x")));
        assert!(failed.is_err());
        // Unbuilt again: the next read scans.
        let found = index.ids(Lang::English, b.side_key(Lang::English), |map| {
            map.add_unit(&b);
            Ok(())
        });
        assert_eq!(found.unwrap(), vec![2]);
    }
}
