//! The single writer: group commit.
//!
//! Every write goes through one thread. It takes whatever requests are
//! queued, checks them against the store (duplicates, missing ids), applies
//! all of their writes in batches, flushes once, updates the index, and only
//! then acknowledges each request. Nothing is acknowledged before the flush
//! that makes it durable has returned.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::Shared;
use crate::error::{Error, Result};
use crate::matching::Analyzed;
use crate::store::Write;
use crate::unit::{Fingerprint, Unit, UnitId};

/// Most requests committed together.
const MAX_GROUP: usize = 256;

/// What an add request did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Added {
    /// The id of each unit, in request order (the existing id for duplicates).
    pub ids: Vec<UnitId>,
    /// How many units were newly stored.
    pub added: usize,
    /// How many were already in their memory.
    pub duplicates: usize,
}

enum Command {
    Add(Vec<Unit>, mpsc::SyncSender<Result<Added>>),
    Delete(UnitId, mpsc::SyncSender<Result<()>>),
}

pub(super) struct Writer {
    queue: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(shared: Arc<Shared>) -> Writer {
        let (queue, commands) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("dhakira-writer".into())
            .spawn(move || run(&shared, &commands))
            .expect("spawning the writer thread");
        Writer { queue: Some(queue), thread: Some(thread) }
    }

    /// Stores units (validated, without ids); blocks until they are durable.
    pub(super) fn add(&self, units: Vec<Unit>) -> Result<Added> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Add(units, reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    /// Deletes a unit; blocks until the deletion is durable.
    pub(super) fn delete(&self, id: UnitId) -> Result<()> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Delete(id, reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    fn send(&self, command: Command) -> Result<()> {
        self.queue.as_ref().ok_or(Error::ShuttingDown)?.send(command).map_err(|_| Error::ShuttingDown)
    }
}

impl Drop for Writer {
    /// Lets the queued requests finish, then stops the thread.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, commands: &mpsc::Receiver<Command>) {
    while let Ok(first) = commands.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match commands.try_recv() {
                Ok(command) => group.push(command),
                Err(_) => break,
            }
        }
        commit(shared, group);
    }
}

/// The outcome of one command before the commit.
enum Planned {
    Add(Added),
    Delete(Result<()>),
}

fn commit(shared: &Shared, group: Vec<Command>) {
    let started = std::time::Instant::now();
    let mut writes = Vec::new();
    let outcome = plan(shared, &group, &mut writes).and_then(|planned| {
        let planned_at = started.elapsed();
        shared.store.apply(&writes)?;
        let applied_at = started.elapsed();
        shared.store.flush()?;
        tracing::debug!(
            requests = group.len(),
            writes = writes.len(),
            plan_ms = planned_at.as_secs_f64() * 1e3,
            apply_ms = (applied_at - planned_at).as_secs_f64() * 1e3,
            flush_ms = (started.elapsed() - applied_at).as_secs_f64() * 1e3,
            "group committed"
        );
        Ok(planned)
    });
    match outcome {
        Ok(planned) => {
            // Analyze the new units before taking the lock: lookups wait on it.
            let mut analyzed = writes
                .iter()
                .filter_map(|w| match w {
                    Write::Put(unit) => Some(Analyzed::of(unit)),
                    Write::Delete(_) => None,
                })
                .collect::<Vec<_>>()
                .into_iter();
            let mut index = shared.index.write();
            for write in &writes {
                match write {
                    Write::Put(unit) => index.insert_analyzed(unit, analyzed.next().expect("one analysis per put")),
                    Write::Delete(unit) => {
                        index.remove(unit.id);
                    }
                }
            }
            drop(index);
            for (command, planned) in group.into_iter().zip(planned) {
                match (command, planned) {
                    (Command::Add(_, reply), Planned::Add(added)) => {
                        let _ = reply.send(Ok(added));
                    }
                    (Command::Delete(_, reply), Planned::Delete(result)) => {
                        let _ = reply.send(result);
                    }
                    _ => unreachable!("plans are made in command order"),
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, requests = group.len(), "write failed; nothing in this group is acknowledged");
            reconcile(shared, &writes);
            let message = err.to_string();
            for command in group {
                match command {
                    Command::Add(_, reply) => {
                        let _ = reply.send(Err(Error::Storage(message.clone())));
                    }
                    Command::Delete(_, reply) => {
                        let _ = reply.send(Err(Error::Storage(message.clone())));
                    }
                }
            }
        }
    }
}

/// Turns the group's commands into writes: new units get ids, pairs already
/// stored (or added earlier in this group) are duplicates, deletions of
/// missing units fail alone.
fn plan(shared: &Shared, group: &[Command], writes: &mut Vec<Write>) -> Result<Vec<Planned>> {
    let mut added_here: HashMap<Fingerprint, Vec<usize>> = HashMap::new();
    let mut deleted_here: HashSet<UnitId> = HashSet::new();
    let now = now_ms();
    let mut planned = Vec::with_capacity(group.len());
    for command in group {
        match command {
            Command::Add(units, _) => {
                let mut added = Added::default();
                for unit in units {
                    let fingerprint = unit.fingerprint();
                    let same = |other: &Unit| {
                        other.memory == unit.memory && other.arabic == unit.arabic && other.english == unit.english
                    };
                    let mut existing = None;
                    for id in shared.store.ids_with_fingerprint(fingerprint)? {
                        if deleted_here.contains(&id) {
                            continue;
                        }
                        if shared.store.get(id)?.is_some_and(|stored| same(&stored)) {
                            existing = Some(id);
                            break;
                        }
                    }
                    let existing = existing.or_else(|| {
                        added_here.get(&fingerprint)?.iter().find_map(|&at| match &writes[at] {
                            Write::Put(stored) if same(stored) => Some(stored.id),
                            _ => None,
                        })
                    });
                    match existing {
                        Some(id) => {
                            added.ids.push(id);
                            added.duplicates += 1;
                        }
                        None => {
                            let id = shared.store.next_id()?;
                            added_here.entry(fingerprint).or_default().push(writes.len());
                            writes.push(Write::Put(Unit { id, created_at_ms: now, ..unit.clone() }));
                            added.ids.push(id);
                            added.added += 1;
                        }
                    }
                }
                planned.push(Planned::Add(added));
            }
            Command::Delete(id, _) => {
                let stored = if deleted_here.contains(id) { None } else { shared.store.get(*id)? };
                planned.push(Planned::Delete(match stored {
                    Some(unit) => {
                        deleted_here.insert(*id);
                        writes.push(Write::Delete(unit));
                        Ok(())
                    }
                    None => Err(Error::not_found("unit_id", format!("no unit has id {id}"))),
                }));
            }
        }
    }
    Ok(planned)
}

/// After a failed commit some writes may have reached the store: make the
/// index agree with what the store now holds, so that a retry (which finds
/// those units as duplicates) sees them in lookups too.
fn reconcile(shared: &Shared, writes: &[Write]) {
    for write in writes {
        let id = match write {
            Write::Put(unit) | Write::Delete(unit) => unit.id,
        };
        match shared.store.get(id) {
            Ok(Some(unit)) => shared.index.write().insert(&unit),
            Ok(None) => {
                shared.index.write().remove(id);
            }
            Err(err) => tracing::error!(error = %err, id, "cannot re-read unit after a failed write"),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
