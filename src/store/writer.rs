//! The single writer: one OS thread owns every write transaction.
//!
//! Jobs queue on a channel; the thread takes whatever is queued (up to a bound), applies it in
//! one transaction and commits once, with an fsync. A job is answered only after its commit, so
//! "acknowledged" always means "on disk and visible to the next read". One fsync per RCPT or
//! per admin call would cap the relay at a few thousand commits a second; batching does not.

use std::sync::Arc;

use redb::{Database, MultimapTable, ReadableTable, Table, WriteTransaction};
use tokio::sync::{mpsc, oneshot};

use super::tables::{self, decode, encode};
use super::{AddOutcome, NewEntry, StoreError};
use crate::model::{Actor, Entry, Event, EventKind, Timestamp};

/// Most jobs committed together; bounds the latency a job can add to the others.
const MAX_BATCH: usize = 512;

/// Queue depth before senders wait.
const QUEUE: usize = 4096;

/// Work for the writer thread.
pub(super) enum Job {
    Add {
        entry: NewEntry,
        actor: Actor,
        reply: oneshot::Sender<Result<AddOutcome, StoreError>>,
    },
    AddMany {
        entries: Vec<NewEntry>,
        actor: Actor,
        reply: oneshot::Sender<Result<Vec<AddOutcome>, StoreError>>,
    },
    Stats {
        reply: oneshot::Sender<WriterStats>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Counters kept by the writer thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: u64,
    /// Write jobs applied (an `add_many` counts once).
    pub jobs: u64,
}

/// Creates the tables on a new file and checks the schema version of an existing one.
pub(super) fn init_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(tables::META)?;
        let version = meta.get(tables::SCHEMA_VERSION_KEY)?.map(|v| v.value());
        match version {
            None => {
                meta.insert(tables::SCHEMA_VERSION_KEY, tables::SCHEMA_VERSION)?;
            }
            Some(v) if v == tables::SCHEMA_VERSION => {}
            Some(v) => {
                return Err(StoreError::Corrupt(format!(
                    "schema version {v}, this build reads {}",
                    tables::SCHEMA_VERSION
                )))
            }
        }
        txn.open_table(tables::SUPPRESSIONS)?;
        txn.open_table(tables::EVENTS)?;
        txn.open_multimap_table(tables::EVENTS_BY_KEY)?;
    }
    txn.commit()?;
    Ok(())
}

/// Starts the writer thread.
pub(super) fn spawn(
    db: Arc<Database>,
) -> Result<(mpsc::Sender<Job>, std::thread::JoinHandle<()>), StoreError> {
    let next_event = {
        let txn = redb::ReadableDatabase::begin_read(&*db)?;
        let events = txn.open_table(tables::EVENTS)?;
        let last = events.last()?.map(|(k, _)| k.value());
        last.unwrap_or(0) + 1
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let handle = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            Writer {
                db,
                next_event,
                stats: WriterStats::default(),
            }
            .run(rx)
        })
        .map_err(|e| StoreError::Io(format!("cannot start the store writer: {e}")))?;
    Ok((tx, handle))
}

struct Writer {
    db: Arc<Database>,
    next_event: u64,
    stats: WriterStats,
}

/// The tables a batch writes, opened once per transaction.
struct Tables<'t> {
    suppressions: Table<'t, &'static str, &'static [u8]>,
    events: Table<'t, u64, &'static [u8]>,
    by_key: MultimapTable<'t, &'static str, u64>,
}

/// The answer to a write job, held until the batch is committed.
enum Answer {
    Add(oneshot::Sender<Result<AddOutcome, StoreError>>, AddOutcome),
    AddMany(
        oneshot::Sender<Result<Vec<AddOutcome>, StoreError>>,
        Vec<AddOutcome>,
    ),
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let mut shutdown = Vec::new();
            let mut writes = Vec::with_capacity(batch.len());
            for job in batch.drain(..) {
                match job {
                    Job::Stats { reply } => {
                        let _ = reply.send(self.stats);
                    }
                    Job::Shutdown { reply } => shutdown.push(reply),
                    write => writes.push(write),
                }
            }
            if !writes.is_empty() {
                self.commit(writes);
            }
            if !shutdown.is_empty() {
                // Jobs queued after the shutdown request are refused, not half-applied.
                rx.close();
                while let Ok(job) = rx.try_recv() {
                    refuse(job);
                }
                for reply in shutdown {
                    let _ = reply.send(());
                }
                return;
            }
        }
    }

    /// Applies the write jobs in one transaction and answers each after the commit. On any
    /// error nothing of the batch is kept and every job gets the error.
    fn commit(&mut self, writes: Vec<Job>) {
        let first_event = self.next_event;
        let now = Timestamp::now();
        let mut answers = Vec::with_capacity(writes.len());
        let mut failed = Vec::new();
        let mut pending = writes.into_iter();
        let result = (|| -> Result<(), StoreError> {
            let txn = self.db.begin_write()?;
            {
                let mut t = open_tables(&txn)?;
                for job in pending.by_ref() {
                    match job {
                        Job::Add {
                            entry,
                            actor,
                            reply,
                        } => match add(
                            &mut t,
                            &mut self.next_event,
                            now,
                            &actor,
                            &entry,
                            &entry.target.match_key(),
                        ) {
                            Ok(outcome) => answers.push(Answer::Add(reply, outcome)),
                            Err(e) => {
                                failed.push(Job::Add {
                                    entry,
                                    actor,
                                    reply,
                                });
                                return Err(e);
                            }
                        },
                        Job::AddMany {
                            entries,
                            actor,
                            reply,
                        } => {
                            // Insert in key order: B-tree inserts then touch each page once
                            // instead of at random (several times faster for big imports).
                            // The sort is stable, so a target listed twice keeps file order.
                            let keys: Vec<String> =
                                entries.iter().map(|e| e.target.match_key()).collect();
                            let mut order: Vec<usize> = (0..entries.len()).collect();
                            order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
                            let mut outcomes: Vec<Option<AddOutcome>> = vec![None; entries.len()];
                            for i in order {
                                let entry = &entries[i];
                                match add(
                                    &mut t,
                                    &mut self.next_event,
                                    now,
                                    &actor,
                                    entry,
                                    &keys[i],
                                ) {
                                    Ok(outcome) => outcomes[i] = Some(outcome),
                                    Err(e) => {
                                        failed.push(Job::AddMany {
                                            entries,
                                            actor,
                                            reply,
                                        });
                                        return Err(e);
                                    }
                                }
                            }
                            answers.push(Answer::AddMany(
                                reply,
                                outcomes.into_iter().flatten().collect(),
                            ));
                        }
                        other => failed.push(other),
                    }
                }
            }
            txn.commit()?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.stats.commits += 1;
                for answer in answers {
                    self.stats.jobs += 1;
                    match answer {
                        Answer::Add(reply, outcome) => {
                            let _ = reply.send(Ok(outcome));
                        }
                        Answer::AddMany(reply, outcomes) => {
                            let _ = reply.send(Ok(outcomes));
                        }
                    }
                }
            }
            Err(e) => {
                failed.extend(pending);
                tracing::error!(error = %e, "store write failed; the batch was rolled back");
                self.next_event = first_event;
                for answer in answers {
                    match answer {
                        Answer::Add(reply, _) => {
                            let _ = reply.send(Err(e.clone()));
                        }
                        Answer::AddMany(reply, _) => {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
                for job in failed {
                    fail(job, &e);
                }
            }
        }
    }
}

fn open_tables(txn: &WriteTransaction) -> Result<Tables<'_>, StoreError> {
    Ok(Tables {
        suppressions: txn.open_table(tables::SUPPRESSIONS)?,
        events: txn.open_table(tables::EVENTS)?,
        by_key: txn.open_multimap_table(tables::EVENTS_BY_KEY)?,
    })
}

/// Adds one entry, or records a re-add when the target is already suppressed. Never weakens
/// or replaces an existing entry.
fn add(
    t: &mut Tables<'_>,
    next_event: &mut u64,
    now: Timestamp,
    actor: &Actor,
    new: &NewEntry,
    key: &str,
) -> Result<AddOutcome, StoreError> {
    let target = new.target.to_string();
    let existing: Option<Entry> = match t.suppressions.get(key)? {
        Some(value) => Some(decode(value.value())?),
        None => None,
    };
    let id = *next_event;
    *next_event += 1;
    let (kind, outcome) = match existing {
        Some(entry) => (
            EventKind::Readded {
                target,
                reason: new.reason,
                source: new.source,
                evidence: new.evidence.clone(),
            },
            AddOutcome::AlreadySuppressed {
                entry,
                event_id: id,
            },
        ),
        None => {
            let entry = Entry {
                target: target.clone(),
                reason: new.reason,
                source: new.source,
                evidence: new.evidence.clone(),
                actor: actor.clone(),
                added_at: now,
                event_id: id,
            };
            t.suppressions.insert(key, encode(&entry)?.as_slice())?;
            (
                EventKind::Suppressed {
                    target,
                    reason: new.reason,
                    source: new.source,
                    evidence: new.evidence.clone(),
                },
                AddOutcome::Added(entry),
            )
        }
    };
    let event = Event {
        id,
        at: now,
        actor: actor.clone(),
        kind,
    };
    t.events.insert(id, encode(&event)?.as_slice())?;
    t.by_key.insert(key, id)?;
    Ok(outcome)
}

fn fail(job: Job, e: &StoreError) {
    match job {
        Job::Add { reply, .. } => {
            let _ = reply.send(Err(e.clone()));
        }
        Job::AddMany { reply, .. } => {
            let _ = reply.send(Err(e.clone()));
        }
        Job::Stats { .. } | Job::Shutdown { .. } => {}
    }
}

fn refuse(job: Job) {
    fail(job, &StoreError::Closed)
}
