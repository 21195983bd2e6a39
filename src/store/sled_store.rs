//! The sled [`Store`].
//!
//! Key layout, all in one tree so that a unit and its side keys go in one
//! atomic batch:
//!
//! | key                                        | value                       |
//! |--------------------------------------------|-----------------------------|
//! | `u` + id (u64 BE)                          | the [`Unit`], prost-encoded |
//! | `a` + Arabic side key (u64 BE) + id (BE)   | empty                       |
//! | `e` + English side key (u64 BE) + id (BE)  | empty                       |
//! | `meta:schema`                              | schema version (u32 BE)     |
//!
//! Memory records live in a second tree, `memories`: name → [`MemoryRecord`].
//!
//! Big-endian ids make a prefix scan return units in id order. Batches hold
//! at most [`MAX_BATCH_KEYS`] keys: larger batches make sled 0.34 use a lot
//! of memory.
//!
//! Schema 1 had one `f` + fingerprint(memory, arabic, english) + id key per
//! unit instead of the side keys; a schema 1 database is migrated when it is
//! opened (in batches, the schema version written last, so an interrupted
//! migration starts again).

use std::path::Path;

use prost::Message;

use super::{MemoryRecord, Store, Write};
use crate::error::{Error, Result};
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

/// Most keys in one sled batch.
pub const MAX_BATCH_KEYS: usize = 1_000;

const UNIT: u8 = b'u';
const SCHEMA_KEY: &[u8] = b"meta:schema";
const SCHEMA_VERSION: u32 = 2;
/// The schema 1 fingerprint keys.
const FINGERPRINT_V1: u8 = b'f';

/// Keys per stored unit: the record and two side keys.
const KEYS_PER_UNIT: usize = 3;

/// sled's page cache, in bytes (`DHAKIRA_CACHE_MB` overrides it). Its real
/// footprint is several times this (nodes in memory are larger than on disk):
/// with 32 MiB a 1M-unit TMX import peaks at about 330 MiB RSS, with 64 MiB
/// at 440 MiB, for 5 % more speed. Lookups read few units (their matches),
/// which the OS page cache holds anyway.
const CACHE_BYTES: u64 = 32 << 20;

pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// Memory records: name → [`MemoryRecord`], prost-encoded.
    memories: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<SledStore> {
        let cache = std::env::var("DHAKIRA_CACHE_MB")
            .ok()
            .and_then(|mb| mb.parse::<u64>().ok())
            .map_or(CACHE_BYTES, |mb| mb << 20);
        let db = sled::Config::new().path(path).cache_capacity(cache).open().map_err(|err| match err {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || is_lock_error(&io) => {
                Error::Locked { path: path.to_owned() }
            }
            other => Error::Storage(format!("cannot open the database at {}: {other}", path.display())),
        })?;
        let tree = db.open_tree("units")?;
        match tree.get(SCHEMA_KEY)? {
            None => {
                tree.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            }
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_be_bytes() => {}
            Some(v) if v.as_ref() == 1u32.to_be_bytes() => {
                migrate_from_v1(&tree)?;
                db.flush()?;
            }
            Some(v) => {
                return Err(Error::Corrupt {
                    key: "meta:schema".into(),
                    reason: format!("unknown schema version {v:?}; this build reads version {SCHEMA_VERSION}"),
                })
            }
        }
        let memories = db.open_tree("memories")?;
        Ok(SledStore { db, tree, memories })
    }
}

/// Schema 1 to 2: side keys for every unit, then the fingerprint keys go,
/// then the version changes. Every step may be repeated after a crash.
fn migrate_from_v1(tree: &sled::Tree) -> Result<()> {
    tracing::info!("migrating the database from schema 1 to 2 (side keys)");
    let mut batch = sled::Batch::default();
    let mut keys = 0;
    for item in tree.scan_prefix([UNIT]) {
        let (key, value) = item?;
        let unit = decode(&key, &value)?;
        for lang in [Lang::Arabic, Lang::English] {
            batch.insert(&side_key(lang, unit.side_key(lang), unit.id), &[]);
        }
        keys += 2;
        if keys >= MAX_BATCH_KEYS {
            tree.apply_batch(std::mem::take(&mut batch))?;
            keys = 0;
        }
    }
    for key in tree.scan_prefix([FINGERPRINT_V1]).keys() {
        batch.remove(key?);
        keys += 1;
        if keys >= MAX_BATCH_KEYS {
            tree.apply_batch(std::mem::take(&mut batch))?;
            keys = 0;
        }
    }
    tree.apply_batch(batch)?;
    tree.flush()?;
    tree.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
    Ok(())
}

fn is_lock_error(io: &std::io::Error) -> bool {
    io.to_string().contains("lock")
}

fn unit_key(id: UnitId) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = UNIT;
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

fn side_tag(lang: Lang) -> u8 {
    match lang {
        Lang::Arabic => b'a',
        Lang::English => b'e',
    }
}

fn side_prefix(lang: Lang, key: SideKey) -> [u8; 9] {
    let mut prefix = [0; 9];
    prefix[0] = side_tag(lang);
    prefix[1..].copy_from_slice(&key.0.to_be_bytes());
    prefix
}

fn side_key(lang: Lang, key: SideKey, id: UnitId) -> [u8; 17] {
    let mut full = [0; 17];
    full[..9].copy_from_slice(&side_prefix(lang, key));
    full[9..].copy_from_slice(&id.to_be_bytes());
    full
}

fn put(batch: &mut sled::Batch, unit: &Unit) {
    batch.insert(&unit_key(unit.id), unit.encode_to_vec());
    for lang in [Lang::Arabic, Lang::English] {
        batch.insert(&side_key(lang, unit.side_key(lang), unit.id), &[]);
    }
}

fn delete(batch: &mut sled::Batch, unit: &Unit) {
    batch.remove(&unit_key(unit.id));
    for lang in [Lang::Arabic, Lang::English] {
        batch.remove(&side_key(lang, unit.side_key(lang), unit.id));
    }
}

fn decode(key: &[u8], value: &[u8]) -> Result<Unit> {
    Unit::decode(value).map_err(|err| Error::Corrupt { key: format!("{key:02x?}"), reason: err.to_string() })
}

impl Store for SledStore {
    fn next_id(&self) -> Result<UnitId> {
        // sled reserves id ranges durably, so ids never repeat after a crash.
        Ok(self.db.generate_id()? + 1)
    }

    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        let key = unit_key(id);
        self.tree.get(key)?.map(|v| decode(&key, &v)).transpose()
    }

    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>> {
        self.tree
            .scan_prefix(side_prefix(lang, key))
            .keys()
            .map(|key| {
                let key = key?;
                let id: [u8; 8] = key[9..].try_into().map_err(|_| Error::Corrupt {
                    key: format!("{:02x?}", key.as_ref()),
                    reason: "side key of the wrong length".into(),
                })?;
                Ok(UnitId::from_be_bytes(id))
            })
            .collect()
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        // A write never straddles two batches (a replacement is one write).
        let mut batch = sled::Batch::default();
        let mut keys = 0;
        for write in writes {
            let size = match write {
                Write::Put(_) | Write::Delete(_) => KEYS_PER_UNIT,
                Write::Replace { .. } => 2 * KEYS_PER_UNIT,
            };
            if keys + size > MAX_BATCH_KEYS {
                self.tree.apply_batch(std::mem::take(&mut batch))?;
                keys = 0;
            }
            keys += size;
            match write {
                Write::Put(unit) => put(&mut batch, unit),
                Write::Replace { old, new } => {
                    // In a sled batch the last write of a key wins.
                    delete(&mut batch, old);
                    put(&mut batch, new);
                }
                Write::Delete(unit) => delete(&mut batch, unit),
            }
        }
        if keys > 0 {
            self.tree.apply_batch(batch)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        for item in self.tree.scan_prefix([UNIT]) {
            let (key, value) = item?;
            f(decode(&key, &value)?)?;
        }
        Ok(())
    }

    fn memories(&self) -> Result<Vec<MemoryRecord>> {
        self.memories
            .iter()
            .map(|item| {
                let (key, value) = item?;
                MemoryRecord::decode(value.as_ref())
                    .map_err(|err| Error::Corrupt { key: format!("memories/{key:02x?}"), reason: err.to_string() })
            })
            .collect()
    }

    fn put_memory(&self, record: &MemoryRecord) -> Result<()> {
        self.memories.insert(record.name.as_bytes(), record.encode_to_vec())?;
        self.memories.flush()?;
        Ok(())
    }

    fn remove_memory(&self, name: &str) -> Result<()> {
        self.memories.remove(name.as_bytes())?;
        self.memories.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens the store once the database dropped before it lets go of its
    /// directory (sled's flusher thread may hold the lock a moment after
    /// the drop).
    fn open_when_released(path: &Path) -> SledStore {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match SledStore::open(path) {
                Err(Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => break other.unwrap(),
            }
        }
    }

    #[test]
    fn a_schema_1_database_is_migrated_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let units: Vec<Unit> = (1..=1_200u64)
            .map(|id| Unit {
                id,
                memory: "news".into(),
                arabic: format!("جملة رقم {id}"),
                english: format!("sentence number {id}"),
                ..Default::default()
            })
            .collect();
        {
            // The schema 1 layout, written by hand.
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let tree = db.open_tree("units").unwrap();
            tree.insert(SCHEMA_KEY, &1u32.to_be_bytes()).unwrap();
            for unit in &units {
                tree.insert(unit_key(unit.id), unit.encode_to_vec()).unwrap();
                let mut key = vec![FINGERPRINT_V1];
                key.extend_from_slice(&[7; 16]);
                key.extend_from_slice(&unit.id.to_be_bytes());
                tree.insert(key, &[]).unwrap();
            }
            db.flush().unwrap();
        }
        let store = open_when_released(dir.path());
        for unit in [&units[0], &units[777], &units[1_199]] {
            assert_eq!(store.get(unit.id).unwrap().as_ref(), Some(unit));
            for lang in [Lang::Arabic, Lang::English] {
                assert_eq!(store.ids_with_side(lang, unit.side_key(lang)).unwrap(), vec![unit.id]);
            }
        }
        assert_eq!(store.tree.scan_prefix([FINGERPRINT_V1]).count(), 0);
        assert_eq!(store.tree.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_be_bytes());
        drop(store);
        // Opening again finds schema 2 and changes nothing.
        let store = open_when_released(dir.path());
        assert_eq!(store.tree.scan_prefix([UNIT]).count(), units.len());
    }
}
