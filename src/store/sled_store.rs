//! The sled [`Store`].
//!
//! Key layout, all in one tree so that a unit and its fingerprint entry go in
//! one atomic batch:
//!
//! | key                                   | value                     |
//! |---------------------------------------|---------------------------|
//! | `u` + id (u64 big-endian)             | the [`Unit`], prost-encoded |
//! | `f` + fingerprint (u128 BE) + id (BE) | empty                     |
//! | `meta:schema`                         | schema version (u32 BE)   |
//!
//! Big-endian ids make a prefix scan return units in id order. Batches hold
//! at most [`MAX_BATCH_KEYS`] keys: larger batches make sled 0.34 use a lot
//! of memory.

use std::path::Path;

use prost::Message;

use super::{Store, Write};
use crate::error::{Error, Result};
use crate::unit::{Fingerprint, Unit, UnitId};

/// Most keys in one sled batch.
pub const MAX_BATCH_KEYS: usize = 1_000;

const UNIT: u8 = b'u';
const FINGERPRINT: u8 = b'f';
const SCHEMA_KEY: &[u8] = b"meta:schema";
const SCHEMA_VERSION: u32 = 1;

pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<SledStore> {
        let db = sled::Config::new().path(path).open().map_err(|err| match err {
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
            Some(v) => {
                return Err(Error::Corrupt {
                    key: "meta:schema".into(),
                    reason: format!("unknown schema version {v:?}; this build reads version {SCHEMA_VERSION}"),
                })
            }
        }
        Ok(SledStore { db, tree })
    }
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

fn fingerprint_prefix(fingerprint: Fingerprint) -> [u8; 17] {
    let mut key = [0; 17];
    key[0] = FINGERPRINT;
    key[1..].copy_from_slice(&fingerprint.0.to_be_bytes());
    key
}

fn fingerprint_key(fingerprint: Fingerprint, id: UnitId) -> [u8; 25] {
    let mut key = [0; 25];
    key[..17].copy_from_slice(&fingerprint_prefix(fingerprint));
    key[17..].copy_from_slice(&id.to_be_bytes());
    key
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

    fn ids_with_fingerprint(&self, fingerprint: Fingerprint) -> Result<Vec<UnitId>> {
        self.tree
            .scan_prefix(fingerprint_prefix(fingerprint))
            .keys()
            .map(|key| {
                let key = key?;
                let id: [u8; 8] = key[17..].try_into().map_err(|_| Error::Corrupt {
                    key: format!("{:02x?}", key.as_ref()),
                    reason: "fingerprint key of the wrong length".into(),
                })?;
                Ok(UnitId::from_be_bytes(id))
            })
            .collect()
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        // Two keys per write; a write never straddles two batches.
        for chunk in writes.chunks(MAX_BATCH_KEYS / 2) {
            let mut batch = sled::Batch::default();
            for write in chunk {
                match write {
                    Write::Put(unit) => {
                        batch.insert(&unit_key(unit.id), unit.encode_to_vec());
                        batch.insert(&fingerprint_key(unit.fingerprint(), unit.id), &[]);
                    }
                    Write::Delete(unit) => {
                        batch.remove(&unit_key(unit.id));
                        batch.remove(&fingerprint_key(unit.fingerprint(), unit.id));
                    }
                }
            }
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
}
