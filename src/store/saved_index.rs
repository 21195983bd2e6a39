//! The index kept between runs, as a store keeps it: a file beside the
//! database that holds the index exactly as it was when the store last
//! changed, so that opening the database reads it instead of analyzing
//! every unit again.
//!
//! The store only keeps the bytes; it knows nothing of their form (the
//! engine checks that, see `matching::index::Index::load`). What it vouches
//! for is that they describe the store *as it is*:
//!
//! - a save names the store's state it was taken at ([`SavedIndexFile::stamp`],
//!   a count of writes in this process) and is refused when a write came
//!   since;
//! - the first write after a save deletes the file, durably (the directory
//!   synced), before it writes anything: a file in place means no write
//!   since, even after a crash;
//! - the file records the store's flushed group commits, and is ignored
//!   unless the store holds exactly that many when it opens (a write by
//!   anything that did not delete the file still shows);
//! - its body carries a CRC-32, checked before it is used.
//!
//! Anything else (no file, another count, a bad checksum) and the engine
//! builds the index from the units, as it always could: the file is a
//! cache, never the only copy of anything.
//!
//! ```text
//! file := magic(16) commits(u64 LE) length(u64 LE) crc32(u32 LE) body(length)
//! ```

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// The file, in the database directory.
pub const INDEX_FILE: &str = "dhakira-index";

const MAGIC: &[u8; 16] = b"DHAKIRA-INDEX\0\0\x01";
const HEADER: usize = 16 + 8 + 8 + 4;

/// A saved index's bytes, mapped from its file.
pub struct SavedIndex {
    map: memmap2::Mmap,
}

impl SavedIndex {
    /// The body: what the engine saved.
    pub fn bytes(&self) -> &[u8] {
        &self.map[HEADER..]
    }
}

/// The file and what this process knows of it.
pub(super) struct SavedIndexFile {
    dir: PathBuf,
    state: Mutex<State>,
    /// Held by a save from start to end: one at a time.
    saving: Mutex<()>,
}

struct State {
    /// Writes to the store in this process.
    writes: u64,
    /// The file may be in place: the next write deletes it first.
    in_place: bool,
}

impl SavedIndexFile {
    pub(super) fn new(dir: &Path) -> SavedIndexFile {
        // What a save cut short left behind.
        let _ = std::fs::remove_file(dir.join(format!("{INDEX_FILE}.new")));
        // In place or not, the first write makes sure it is gone.
        SavedIndexFile {
            dir: dir.to_owned(),
            state: Mutex::new(State { writes: 0, in_place: true }),
            saving: Mutex::new(()),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    /// The store's state now: hand it to [`SavedIndexFile::save`] with the
    /// index taken at the same moment.
    pub(super) fn stamp(&self) -> u64 {
        self.state.lock().writes
    }

    /// Called before every write to the store: deletes the file (durably)
    /// if it may be in place, and counts the write.
    pub(super) fn before_write(&self) -> Result<()> {
        let mut state = self.state.lock();
        if state.in_place {
            match std::fs::remove_file(self.path()) {
                Ok(()) => sync_dir(&self.dir)?,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::from_io(err, "cannot delete the saved index before a write")),
            }
            state.in_place = false;
        }
        state.writes += 1;
        Ok(())
    }

    /// Deletes the file, durably, if it is in place (a write needs its
    /// room); whether there was one.
    pub(super) fn discard(&self) -> Result<bool> {
        let mut state = self.state.lock();
        let removed = match std::fs::remove_file(self.path()) {
            Ok(()) => true,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
            Err(err) => return Err(Error::from_io(err, "cannot delete the saved index")),
        };
        if removed {
            sync_dir(&self.dir)?;
            tracing::warn!("the saved index is deleted to make room for writes; the next start builds it");
        }
        state.in_place = false;
        Ok(removed)
    }

    /// The saved index, when the file is whole and was saved with the
    /// store holding `commits` group commits; `None` otherwise (the reason
    /// logged when the file is there but unusable).
    pub(super) fn load(&self, commits: u64) -> Option<SavedIndex> {
        let path = self.path();
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) => {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %err, "cannot read the saved index; building it");
                }
                return None;
            }
        };
        // Safety: the file is this process's (the database is locked);
        // nothing writes to it while it is mapped — a save writes another
        // file and renames it over this name.
        let map = match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => map,
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "cannot map the saved index; building it");
                return None;
            }
        };
        match check(&map, commits) {
            Ok(()) => Some(SavedIndex { map }),
            Err(reason) => {
                tracing::warn!(path = %path.display(), reason, "the saved index is not used; building it");
                None
            }
        }
    }

    /// Writes the index `body` writes as the store's, if the store is
    /// still as it was at `stamp` (holding `commits` group commits): into a
    /// new file, synced, then renamed over the old one. False (nothing
    /// kept) when a write came since `stamp`.
    pub(super) fn save(
        &self,
        stamp: u64,
        commits: impl Fn() -> u64,
        body: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<bool> {
        let _one = self.saving.lock();
        if self.stamp() != stamp {
            return Ok(false);
        }
        let temporary = self.dir.join(format!("{INDEX_FILE}.new"));
        let io = |err: std::io::Error| Error::from_io(err, "cannot save the index");
        let mut file = File::create(&temporary).map_err(io)?;
        let written = (|| {
            file.write_all(&[0; HEADER]).map_err(io)?;
            let mut out = Checked { out: BufWriter::with_capacity(1 << 20, &file), crc: Default::default(), len: 0 };
            body(&mut out)?;
            out.out.flush().map_err(io)?;
            let Checked { out: buffered, crc, len } = out;
            drop(buffered);
            let crc = crc.finalize();
            file.sync_all().map_err(io)?;
            Ok((crc, len))
        })();
        let (crc, len) = match written {
            Ok(written) => written,
            Err(err) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(err);
            }
        };
        let mut state = self.state.lock();
        if state.writes != stamp {
            drop(state);
            let _ = std::fs::remove_file(&temporary);
            return Ok(false);
        }
        // Under the lock: no write comes between reading the commit count
        // and the file taking its name.
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&commits().to_le_bytes());
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&crc.to_le_bytes());
        let kept = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header))
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temporary, self.path()))
            .map_err(io);
        if kept.is_ok() {
            state.in_place = true;
        }
        drop(state);
        if let Err(err) = kept {
            let _ = std::fs::remove_file(&temporary);
            return Err(err);
        }
        sync_dir(&self.dir)?;
        kept.map(|()| true)
    }
}

/// Whether a mapped file is a whole saved index taken at `commits`.
fn check(map: &[u8], commits: u64) -> std::result::Result<(), String> {
    if map.len() < HEADER || &map[..16] != MAGIC {
        return Err("not a saved index of this format".into());
    }
    let number = |at: usize| u64::from_le_bytes(map[at..at + 8].try_into().expect("8 bytes"));
    let saved_commits = number(16);
    if saved_commits != commits {
        return Err(format!("saved after {saved_commits} group commits; the database holds {commits}"));
    }
    let len = number(24);
    if len != (map.len() - HEADER) as u64 {
        return Err(format!("{} bytes of body where the header says {len}", map.len() - HEADER));
    }
    let crc = u32::from_le_bytes(map[32..36].try_into().expect("4 bytes"));
    if crc32fast::hash(&map[HEADER..]) != crc {
        return Err("its checksum does not match".into());
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|err| Error::from_io(err, "cannot sync the database directory"))
}

/// A writer that counts and checksums what goes through.
struct Checked<W> {
    out: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
