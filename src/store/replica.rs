//! The store as a replica of a fleet's log (see `crate::cluster`).
//!
//! In a fleet, PostgreSQL holds the history; every relay's redb is a replica. A write that
//! changes the list is sequenced: under the log's lock the writer catches up, runs the rules
//! in a redb transaction, then publishes what they wrote as log entries: each event, and the
//! rows it changed as whole row images. A replica applies entries by copying the events and
//! the row images, never by running rules again, so every replica reaches exactly the state of
//! the relay that wrote them. Applying is idempotent: an entry at or below the applied
//! sequence is skipped.

use serde::{Deserialize, Serialize};

use redb::ReadableTable;

use super::rules::Tables;
use super::tables::{self, decode, encode};
use super::{NewEntry, StoreError};
use crate::address::Target;
use crate::model::{Actor, Entry, Reason, Source, Timestamp, Units};

/// A table whose rows every replica holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Replicated {
    /// Suppression entries, by match key.
    Suppressions,
    /// Lift requests, by id (decimal).
    Lifts,
    /// Ownership locks, by lock key.
    Locks,
    /// Account grouping, by domain (the value is the account, UTF-8).
    Accounts,
    /// Consent per contact and purpose.
    Consents,
    /// Each contact's last interaction (the value: microseconds, little-endian).
    Interactions,
    /// Subcontractors allowed to pull the hashed feed, by name.
    FeedSubscribers,
}

/// A row as a write left it: its value, or `None` when it was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowImage {
    /// The table.
    pub table: Replicated,
    /// The row's key.
    pub key: String,
    /// The encoded value, as the store keeps it.
    pub value: Option<Vec<u8>>,
}

impl RowImage {
    /// The lock a [`Replicated::Locks`] row holds (`None`: removed, or another table).
    pub fn lock(&self) -> Option<Result<crate::model::Lock, StoreError>> {
        match (self.table, &self.value) {
            (Replicated::Locks, Some(v)) => Some(decode(v)),
            _ => None,
        }
    }
}

/// One entry of the fleet's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its place in the log: the event id on every replica.
    pub seq: u64,
    /// When it was written.
    pub at: Timestamp,
    /// The event, encoded as the store keeps it; `None` for an entry that carries row images
    /// alone (a lock renewed, with no event).
    pub body: Option<Vec<u8>>,
    /// The history index key the event is filed under, if any.
    pub key: Option<String>,
    /// The rows the write changed, as it left them. A write's images ride on its last entry,
    /// so that a replica never shows them before the events that explain them.
    pub rows: Vec<RowImage>,
}

/// Why the fleet's log could not be written.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SequenceError(pub String);

/// The fleet's log, as the store's writer sees it. Implemented over PostgreSQL by
/// `crate::cluster`; the calls block the writer thread (they are bounded by timeouts).
pub trait Sequencer: Send {
    /// Opens a write: takes the log's lock and returns its head, its identity and the
    /// entries after `applied` (the replica must apply them before it runs any rule).
    fn begin(&mut self, applied: u64) -> Result<(u64, u64, Vec<LogEntry>), SequenceError>;
    /// Which of these outage operations the log already holds (written, and the answer lost).
    fn done_ops(&mut self, ops: &[u64]) -> Result<Vec<u64>, SequenceError>;
    /// Appends the entries (and marks the operations done) and commits. The new head is the
    /// last entry's seq.
    fn publish(&mut self, entries: &[LogEntry], ops: &[u64]) -> Result<(), SequenceError>;
    /// Gives up the write opened by [`Sequencer::begin`].
    fn abort(&mut self);
    /// The replica committed what was published: it is current as of the write's start.
    fn committed(&mut self);
}

/// Row images carried by one log entry at most (unless a write has fewer entries than
/// chunks).
const ROWS_PER_ENTRY: usize = 10_000;

/// What a write transaction changed in replicated tables, noted as it goes.
#[derive(Default)]
pub(super) struct Journal {
    /// Rows written or removed.
    pub(super) rows: Vec<(Replicated, String)>,
    /// Events appended, with their index key.
    pub(super) events: Vec<(u64, Option<String>)>,
}

impl Journal {
    pub(super) fn row(&mut self, table: Replicated, key: &str) {
        self.rows.push((table, key.to_string()));
    }

    pub(super) fn clear(&mut self) {
        self.rows.clear();
        self.events.clear();
    }
}

/// The entries for what the transaction wrote since `head`: one per event, the row images on
/// the last (or on one entry of their own when no event was written).
pub(super) fn entries_since(
    t: &mut Tables<'_>,
    head: u64,
    at: Timestamp,
) -> Result<Vec<LogEntry>, StoreError> {
    let mut entries = Vec::with_capacity(t.journal.events.len() + 1);
    let events = std::mem::take(&mut t.journal.events);
    for (id, key) in events {
        if id <= head {
            return Err(StoreError::Corrupt(format!(
                "event {id} written at or below the log's head {head}"
            )));
        }
        let body = match t.events.get(id)? {
            Some(v) => v.value().to_vec(),
            None => continue,
        };
        entries.push(LogEntry {
            seq: id,
            at,
            body: Some(body),
            key,
            rows: Vec::new(),
        });
    }
    let mut touched = std::mem::take(&mut t.journal.rows);
    touched.sort();
    touched.dedup();
    let mut rows = Vec::with_capacity(touched.len());
    for (table, key) in touched {
        let value = read_row(t, table, key.as_str())?;
        rows.push(RowImage { table, key, value });
    }
    if rows.is_empty() {
        return Ok(entries);
    }
    if entries.is_empty() {
        entries.push(LogEntry {
            seq: head + 1,
            at,
            body: None,
            key: None,
            rows: Vec::new(),
        });
    }
    // An import's images are spread over its last entries, a bounded number on each (one
    // entry's images are one value in PostgreSQL); they may then show a moment before the
    // last events of the same write, never before the write began.
    let chunks: Vec<Vec<RowImage>> = rows
        .chunks(ROWS_PER_ENTRY)
        .map(<[RowImage]>::to_vec)
        .collect();
    let n = entries.len();
    let first = n.saturating_sub(chunks.len());
    for (entry, chunk) in entries[first..]
        .iter_mut()
        .zip(chunks.iter().rev().take(n).rev())
    {
        entry.rows = chunk.clone();
    }
    if chunks.len() > n {
        // More chunks than entries (many rows, few events): the first entry takes the rest.
        let extra: Vec<RowImage> = chunks[..chunks.len() - n].concat();
        entries[0].rows.splice(0..0, extra);
    }
    Ok(entries)
}

fn read_row(t: &Tables<'_>, table: Replicated, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(match table {
        Replicated::Suppressions => t.suppressions.get(key)?.map(|v| v.value().to_vec()),
        Replicated::Locks => t.locks.get(key)?.map(|v| v.value().to_vec()),
        Replicated::Accounts => t.accounts.get(key)?.map(|v| v.value().as_bytes().to_vec()),
        Replicated::Lifts => t.lifts.get(lift_id(key)?)?.map(|v| v.value().to_vec()),
        Replicated::Consents => t
            .txn
            .open_table(tables::CONSENTS)?
            .get(key)?
            .map(|v| v.value().to_vec()),
        Replicated::Interactions => t
            .txn
            .open_table(tables::INTERACTIONS)?
            .get(key)?
            .map(|v| v.value().to_le_bytes().to_vec()),
        Replicated::FeedSubscribers => t
            .txn
            .open_table(tables::FEED_SUBSCRIBERS)?
            .get(key)?
            .map(|v| v.value().to_vec()),
    })
}

fn lift_id(key: &str) -> Result<u64, StoreError> {
    key.parse()
        .map_err(|_| StoreError::Corrupt(format!("lift key {key:?} in the log")))
}

/// Applies one entry: the event and its index row, then the row images.
pub(super) fn apply_entry(t: &mut Tables<'_>, entry: &LogEntry) -> Result<(), StoreError> {
    if let Some(body) = &entry.body {
        t.events.insert(entry.seq, body.as_slice())?;
        if let Some(key) = &entry.key {
            t.by_key.insert(key.as_str(), entry.seq)?;
        }
    }
    for row in &entry.rows {
        let key = row.key.as_str();
        match (row.table, &row.value) {
            (Replicated::Suppressions, Some(v)) => {
                t.suppressions.insert(key, v.as_slice())?;
            }
            (Replicated::Suppressions, None) => {
                t.suppressions.remove(key)?;
            }
            (Replicated::Locks, Some(v)) => {
                t.locks.insert(key, v.as_slice())?;
            }
            (Replicated::Locks, None) => {
                t.locks.remove(key)?;
            }
            (Replicated::Accounts, Some(v)) => {
                let account = std::str::from_utf8(v).map_err(|_| {
                    StoreError::Corrupt("an account in the log is not UTF-8".into())
                })?;
                t.accounts.insert(key, account)?;
            }
            (Replicated::Accounts, None) => {
                t.accounts.remove(key)?;
            }
            (Replicated::Lifts, Some(v)) => {
                t.lifts.insert(lift_id(key)?, v.as_slice())?;
            }
            (Replicated::Lifts, None) => {
                t.lifts.remove(lift_id(key)?)?;
            }
            (Replicated::Consents, Some(v)) => {
                t.txn
                    .open_table(tables::CONSENTS)?
                    .insert(key, v.as_slice())?;
            }
            (Replicated::Consents, None) => {
                t.txn.open_table(tables::CONSENTS)?.remove(key)?;
            }
            (Replicated::Interactions, Some(v)) => {
                let bytes: [u8; 8] = v.as_slice().try_into().map_err(|_| {
                    StoreError::Corrupt("an interaction time in the log is not 8 bytes".into())
                })?;
                t.txn
                    .open_table(tables::INTERACTIONS)?
                    .insert(key, i64::from_le_bytes(bytes))?;
            }
            (Replicated::Interactions, None) => {
                t.txn.open_table(tables::INTERACTIONS)?.remove(key)?;
            }
            (Replicated::FeedSubscribers, Some(v)) => {
                t.txn
                    .open_table(tables::FEED_SUBSCRIBERS)?
                    .insert(key, v.as_slice())?;
            }
            (Replicated::FeedSubscribers, None) => {
                t.txn.open_table(tables::FEED_SUBSCRIBERS)?.remove(key)?;
            }
        }
    }
    Ok(())
}

/// An add made while the fleet's database was unreachable: in force on this relay at once,
/// and pushed to the log, in order, once the database is back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedAdd {
    /// A random id, recorded in the log with the add: a push whose answer was lost is not
    /// pushed twice.
    pub op: u64,
    /// The targets, normalised, with what was given for each.
    pub entries: Vec<(String, Reason, Source, String, Units)>,
    /// Who added them.
    pub actor: Actor,
    /// When.
    pub at: Timestamp,
}

impl QueuedAdd {
    /// From an add as asked.
    pub(super) fn new(entries: &[NewEntry], actor: &Actor, at: Timestamp) -> QueuedAdd {
        QueuedAdd {
            op: fastrand::u64(1..),
            entries: entries
                .iter()
                .map(|e| {
                    (
                        e.target.to_string(),
                        e.reason,
                        e.source,
                        e.evidence.clone(),
                        e.units.clone(),
                    )
                })
                .collect(),
            actor: actor.clone(),
            at,
        }
    }

    /// The add, as asked again.
    pub(super) fn to_entries(&self) -> Result<Vec<NewEntry>, StoreError> {
        self.entries
            .iter()
            .map(|(target, reason, source, evidence, units)| {
                Ok(NewEntry {
                    target: Target::parse(target)
                        .map_err(|e| StoreError::Corrupt(format!("queued add {target}: {e}")))?,
                    reason: *reason,
                    source: *source,
                    evidence: evidence.clone(),
                    units: units.clone(),
                })
            })
            .collect()
    }

    /// The entries as they stand on this relay until the push.
    pub(super) fn local_entries(&self) -> Result<Vec<(String, Entry)>, StoreError> {
        self.to_entries()?
            .into_iter()
            .map(|e| {
                Ok((
                    e.target.match_key(),
                    Entry {
                        target: e.target.to_string(),
                        reason: e.reason,
                        source: e.source,
                        evidence: e.evidence,
                        actor: self.actor.clone(),
                        added_at: self.at,
                        event_id: 0,
                        units: e.units,
                    },
                ))
            })
            .collect()
    }
}

/// Writes an outage add: its entries into [`tables::PENDING_ADDS`] (where RCPTs see them)
/// and the add into [`tables::FLEET_OUTBOX`], in order.
pub(super) fn queue_add(t: &mut Tables<'_>, add: &QueuedAdd) -> Result<Vec<Entry>, StoreError> {
    let mut pending = t.txn.open_table(tables::PENDING_ADDS)?;
    let mut entries = Vec::new();
    for (key, entry) in add.local_entries()? {
        let merged = match pending.get(key.as_str())? {
            Some(v) => {
                let mut held: Entry = decode(v.value())?;
                held.absorb(entry.reason, entry.source, &entry.evidence, &entry.units);
                held
            }
            None => entry,
        };
        pending.insert(key.as_str(), encode(&merged)?.as_slice())?;
        entries.push(merged);
    }
    let mut outbox = t.txn.open_table(tables::FLEET_OUTBOX)?;
    let next = redb::ReadableTable::last(&outbox)?
        .map(|(k, _)| k.value() + 1)
        .unwrap_or(1);
    outbox.insert(next, encode(add)?.as_slice())?;
    Ok(entries)
}

/// Removes a pushed add from the outbox, and its entries from the pending table (the log
/// holds them now) unless an add still waiting names them too: those are rebuilt from the
/// adds that wait.
pub(super) fn unqueue_add(
    t: &mut Tables<'_>,
    slot: u64,
    add: &QueuedAdd,
) -> Result<(), StoreError> {
    let mut outbox = t.txn.open_table(tables::FLEET_OUTBOX)?;
    outbox.remove(slot)?;
    let keys: Vec<String> = add.local_entries()?.into_iter().map(|(k, _)| k).collect();
    let mut still: std::collections::HashMap<String, Entry> = std::collections::HashMap::new();
    for row in outbox.iter()? {
        let (_, value) = row?;
        let waiting: QueuedAdd = decode(value.value())?;
        for (key, entry) in waiting.local_entries()? {
            if !keys.contains(&key) {
                continue;
            }
            match still.get_mut(&key) {
                Some(held) => {
                    held.absorb(entry.reason, entry.source, &entry.evidence, &entry.units)
                }
                None => {
                    still.insert(key, entry);
                }
            }
        }
    }
    let mut pending = t.txn.open_table(tables::PENDING_ADDS)?;
    for key in &keys {
        match still.get(key) {
            Some(entry) => pending.insert(key.as_str(), encode(entry)?.as_slice())?,
            None => pending.remove(key.as_str())?,
        };
    }
    Ok(())
}
