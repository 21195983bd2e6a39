//! Durable storage of units behind a small trait, with a sled implementation
//! for real use and an in-memory one for tests.
//!
//! The store knows nothing of matching: the in-memory index is rebuilt from
//! [`Store::for_each_unit`] at start-up.

mod in_memory;
mod sled_store;

pub use in_memory::InMemoryStore;
pub(crate) use sled_store::unsafe_no_flush;
pub use sled_store::SledStore;

use crate::error::Result;
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

/// One change to the store.
#[derive(Debug, Clone, PartialEq)]
// Replacements are rare; boxing would cost every put an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Write {
    /// Stores a new unit (its record and its side keys).
    Put(Unit),
    /// Replaces a stored unit by a new version with the same id.
    Replace { old: Unit, new: Unit },
    /// Removes a unit (its record and its side keys).
    Delete(Unit),
}

impl Write {
    /// The id of the unit it writes.
    pub fn id(&self) -> UnitId {
        match self {
            Write::Put(unit) | Write::Delete(unit) | Write::Replace { new: unit, .. } => unit.id,
        }
    }
}

/// A memory created by name (a memory also exists, without a record, once
/// it holds units).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MemoryRecord {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(int64, tag = "3")]
    pub created_at_ms: i64,
}

/// Where units live.
///
/// Contract: after [`Store::apply`] returns, reads see the writes; after
/// [`Store::flush`] returns, they survive a crash. Each [`Write`] is atomic
/// (a unit and its side keys appear, change or vanish together).
pub trait Store: Send + Sync + 'static {
    /// A fresh id, larger than every id handed out before (gaps are allowed).
    fn next_id(&self) -> Result<UnitId>;

    /// The unit with this id.
    fn get(&self, id: UnitId) -> Result<Option<Unit>>;

    /// Ids of the units whose [`SideKey`] in `lang` is `key`, in id order
    /// (usually none or one; a hash collision may add others: check the text).
    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>>;

    /// Applies the writes in order.
    fn apply(&self, writes: &[Write]) -> Result<()>;

    /// Makes every applied write durable.
    fn flush(&self) -> Result<()>;

    /// `DiskFull` when a write now could fill the disk: refused before it
    /// starts, so that the storage engine never meets a full disk.
    fn check_space(&self) -> Result<()> {
        Ok(())
    }

    /// After a failed [`Store::apply`] or [`Store::flush`]: gets the store
    /// back to what is durable, ready for writes again (writes that were
    /// not flushed are gone; none was acknowledged), and readable even on
    /// a full disk. [`Store::check_space`] may refuse writes until there is
    /// room again.
    fn recover(&self) -> Result<()> {
        Ok(())
    }

    /// Calls `f` for every unit, in id order.
    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()>;

    /// The memory records, by name.
    fn memories(&self) -> Result<Vec<MemoryRecord>>;

    /// Stores a memory record (replacing one of that name); durable after
    /// [`Store::flush`].
    fn put_memory(&self, record: &MemoryRecord) -> Result<()>;

    /// Removes a memory record, if there is one; durable after
    /// [`Store::flush`].
    fn remove_memory(&self, name: &str) -> Result<()>;
}

/// The conformance suite every [`Store`] implementation passes.
#[cfg(test)]
mod conformance {
    use super::*;

    fn unit(store: &dyn Store, memory: &str, arabic: &str, english: &str) -> Unit {
        Unit {
            id: store.next_id().unwrap(),
            memory: memory.into(),
            arabic: arabic.into(),
            english: english.into(),
            created_at_ms: 1,
            ..Default::default()
        }
    }

    fn all(store: &dyn Store) -> Vec<Unit> {
        let mut units = Vec::new();
        store
            .for_each_unit(&mut |u| {
                units.push(u);
                Ok(())
            })
            .unwrap();
        units
    }

    pub fn ids_grow(store: &dyn Store) {
        let a = store.next_id().unwrap();
        let b = store.next_id().unwrap();
        assert!(a >= 1 && b > a);
    }

    pub fn put_get_delete(store: &dyn Store) {
        let u = unit(store, "news", "مرحبا", "Hello");
        assert_eq!(store.get(u.id).unwrap(), None);
        store.apply(&[Write::Put(u.clone())]).unwrap();
        store.flush().unwrap();
        assert_eq!(store.get(u.id).unwrap(), Some(u.clone()));
        for lang in [Lang::Arabic, Lang::English] {
            assert_eq!(store.ids_with_side(lang, u.side_key(lang)).unwrap(), vec![u.id]);
        }
        let new = Unit { english: "Hi".into(), ..u.clone() };
        store.apply(&[Write::Replace { old: u.clone(), new: new.clone() }]).unwrap();
        assert_eq!(store.get(u.id).unwrap(), Some(new.clone()));
        assert_eq!(store.ids_with_side(Lang::Arabic, u.side_key(Lang::Arabic)).unwrap(), vec![u.id]);
        assert!(store.ids_with_side(Lang::English, u.side_key(Lang::English)).unwrap().is_empty());
        assert_eq!(store.ids_with_side(Lang::English, new.side_key(Lang::English)).unwrap(), vec![u.id]);
        store.apply(&[Write::Delete(new.clone())]).unwrap();
        assert_eq!(store.get(u.id).unwrap(), None);
        for lang in [Lang::Arabic, Lang::English] {
            assert!(store.ids_with_side(lang, new.side_key(lang)).unwrap().is_empty());
        }
    }

    pub fn scans_in_id_order(store: &dyn Store) {
        let units: Vec<Unit> =
            (0..300).map(|i| unit(store, "m", &format!("جملة {i}"), &format!("sentence {i}"))).collect();
        let mut writes: Vec<Write> = units.iter().rev().cloned().map(Write::Put).collect();
        writes.push(Write::Delete(units[7].clone()));
        store.apply(&writes).unwrap();
        let mut expected = units.clone();
        expected.remove(7);
        assert_eq!(all(store), expected);
    }

    pub fn same_side_keeps_both_ids(store: &dyn Store) {
        let a = unit(store, "m", "نص", "text");
        let b = Unit { id: store.next_id().unwrap(), english: "a text".into(), ..a.clone() };
        store.apply(&[Write::Put(a.clone()), Write::Put(b.clone())]).unwrap();
        assert_eq!(store.ids_with_side(Lang::Arabic, a.side_key(Lang::Arabic)).unwrap(), vec![a.id, b.id]);
        assert_eq!(store.ids_with_side(Lang::English, b.side_key(Lang::English)).unwrap(), vec![b.id]);
        let other_memory = Unit { memory: "n".into(), ..a.clone() };
        assert!(store.ids_with_side(Lang::Arabic, other_memory.side_key(Lang::Arabic)).unwrap().is_empty());
    }

    macro_rules! suite {
        ($name:ident, $make:expr) => {
            mod $name {
                use super::*;
                #[test]
                fn ids_grow() {
                    let (_guard, store) = $make;
                    super::ids_grow(&store);
                }
                #[test]
                fn put_get_delete() {
                    let (_guard, store) = $make;
                    super::put_get_delete(&store);
                }
                #[test]
                fn scans_in_id_order() {
                    let (_guard, store) = $make;
                    super::scans_in_id_order(&store);
                }
                #[test]
                fn same_side_keeps_both_ids() {
                    let (_guard, store) = $make;
                    super::same_side_keeps_both_ids(&store);
                }
            }
        };
    }

    suite!(in_memory, ((), InMemoryStore::default()));
    suite!(sled, {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        (dir, store)
    });
}
