//! The writer in a fleet: writes that change what every replica holds go through the fleet's
//! log (see [`super::replica`]), the rest stay local.
//!
//! A sequenced batch: take the log's lock and its head, apply what this replica lacks, run the
//! rules, publish the events and row images they wrote, commit PostgreSQL, then commit redb
//! with the new applied position. The admin command is answered after both. When the log
//! cannot be reached, an add is kept locally (in force at once, pushed later in order), send
//! records stay local (their locks wait in memory for the next write), and everything else is
//! refused: easy to block, hard to unblock.

use std::time::{Duration, Instant};

use super::replica::{self, LogEntry, QueuedAdd, Sequencer};
use super::rules::{open_tables, Output, Work};
use super::tables::{self, decode};
use super::writer::{Applied, Reply, Writer};
use super::{Shared, StoreError};
use crate::model::{Lock, Timestamp};

/// How long after a failure the log is tried again for queued adds.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Queued adds pushed per transaction.
const PUSH_BATCH: usize = 256;

/// Locks of relayed messages kept while the log is unreachable; beyond this the oldest are
/// dropped (the fleet-wide claim taken at RCPT still holds them for its window).
const MAX_HELD_LOCKS: usize = 100_000;

/// The writer's side of the fleet.
pub(super) struct Fleet {
    sequencer: Box<dyn Sequencer>,
    /// Locks taken by relayed messages while the log was unreachable, for the next write.
    held_locks: Vec<(String, Lock)>,
    /// When the log was last found unreachable.
    last_failure: Option<Instant>,
    /// Operations (queued adds) pushed by the transaction under way.
    pushed: Vec<u64>,
}

impl Fleet {
    pub(super) fn new(sequencer: Box<dyn Sequencer>) -> Fleet {
        Fleet {
            sequencer,
            held_locks: Vec::new(),
            last_failure: None,
            pushed: Vec::new(),
        }
    }

    /// How long until queued adds or held locks should be pushed, if any wait.
    pub(super) fn push_in(&self, shared: &Shared) -> Option<Duration> {
        let waiting = shared.queued() > 0 || !self.held_locks.is_empty();
        waiting.then(|| {
            self.last_failure
                .map(|at| RETRY_AFTER.saturating_sub(at.elapsed()))
                .unwrap_or(Duration::ZERO)
        })
    }
}

/// Whether a job changes what every replica holds (and so goes through the log).
pub(super) fn sequenced(work: &Work) -> bool {
    match work {
        Work::Records { locks, .. } => !locks.is_empty(),
        // Mails come with their `notified` events; the place in the history alone is local.
        Work::NotifyStep { mails, .. } => !mails.is_empty(),
        Work::PushQueued => true,
        Work::Arrival(_)
        | Work::AlertStep { .. }
        | Work::AlertDelivery { .. }
        | Work::ReturnPath(_)
        | Work::Sent(_)
        | Work::Retry { .. }
        | Work::StageImport { .. }
        | Work::AbortImport { .. }
        | Work::Barrier
        | Work::Prune { .. }
        | Work::LockPrune { .. }
        | Work::Replicate(_)
        | Work::QueueAdd(..)
        | Work::Pulled { .. }
        | Work::Shipped(_)
        | Work::BindFleet(_) => false,
        // Subscribers are every relay's; pulls and a follower's pages are this relay's own.
        Work::Feed(feed) => feed.replicated(),
        _ => true,
    }
}

impl Writer {
    /// Commits a batch through the fleet's log.
    pub(super) fn commit_fleet(&mut self, mut writes: Vec<(Work, Reply)>) {
        let Some(fleet) = self.fleet.as_mut() else {
            return self.commit_local(writes);
        };
        let held = std::mem::take(&mut fleet.held_locks);
        if !held.is_empty() {
            writes.insert(
                0,
                (
                    Work::Records {
                        attempts: Vec::new(),
                        locks: held,
                        claims: Vec::new(),
                    },
                    None,
                ),
            );
        }
        let (head, log, behind) = match fleet.sequencer.begin(self.ids.applied) {
            Ok(begun) => begun,
            Err(e) => {
                fleet.last_failure = Some(Instant::now());
                return self.fleet_unreachable(writes, &e.0);
            }
        };
        let saved = self.ids;
        let mut batch = Applied::default();
        let mut pending = writes.into_iter();
        match self.apply_fleet(&mut pending, (head, log), &behind, &mut batch) {
            Ok(()) => {
                if let Some(fleet) = self.fleet.as_mut() {
                    fleet.last_failure = None;
                    fleet.sequencer.committed();
                }
                self.committed(batch, true);
            }
            Err(e) => {
                if let Some(fleet) = self.fleet.as_mut() {
                    fleet.sequencer.abort();
                    fleet.last_failure = Some(Instant::now());
                    fleet.pushed.clear();
                }
                self.ids = super::rules::Ids {
                    attempt_seq: self.ids.attempt_seq,
                    ..saved
                };
                // Send records of the batch are kept locally all the same; their locks wait.
                let records: Vec<(Work, Reply)> = std::mem::take(&mut batch.records)
                    .into_iter()
                    .map(|r| {
                        self.hold_locks(r.locks);
                        let attempts = r.attempts.into_iter().map(|(_, a)| a).collect();
                        let work = Work::Records {
                            attempts,
                            locks: Vec::new(),
                            claims: Vec::new(),
                        };
                        (work, None)
                    })
                    .collect();
                if !records.is_empty() {
                    self.commit_local(records);
                }
                self.rolled_back(&e, batch, pending.collect());
            }
        }
    }

    fn hold_locks(&mut self, locks: Vec<(String, Lock)>) {
        if let Some(fleet) = self.fleet.as_mut() {
            fleet.held_locks.extend(locks);
            let over = fleet.held_locks.len().saturating_sub(MAX_HELD_LOCKS);
            if over > 0 {
                fleet.held_locks.drain(..over);
            }
        }
    }

    /// The log could not be reached: adds are kept locally, send records stay local, the rest
    /// is refused with the reason.
    fn fleet_unreachable(&mut self, writes: Vec<(Work, Reply)>, why: &str) {
        let mut local = Vec::new();
        for (work, reply) in writes {
            match work {
                Work::Add(entry, actor) => local.push((Work::QueueAdd(vec![entry], actor), reply)),
                Work::AddMany(entries, actor) => {
                    local.push((Work::QueueAdd(entries, actor), reply))
                }
                Work::Records {
                    attempts,
                    locks,
                    claims,
                } => {
                    self.hold_locks(locks);
                    let work = Work::Records {
                        attempts,
                        locks: Vec::new(),
                        claims,
                    };
                    local.push((work, reply));
                }
                Work::PushQueued => {}
                work if !sequenced(&work) => local.push((work, reply)),
                _ => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(StoreError::Fleet(format!(
                            "the fleet's database (PostgreSQL) is unreachable: {why}. Adds are \
                             kept on this relay and pushed when it is back; lifts, lock \
                             decisions and imports are refused until then"
                        ))));
                    }
                }
            }
        }
        if !local.is_empty() {
            // A single add comes back as one outcome, as it would have.
            self.commit_local(local);
        }
    }

    /// The sequenced transaction: catch up, apply, publish, commit.
    fn apply_fleet(
        &mut self,
        pending: &mut std::vec::IntoIter<(Work, Reply)>,
        (head, log): (u64, u64),
        behind: &[LogEntry],
        batch: &mut Applied,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let shared = self.shared.clone();
        super::guard::guarded(|| {
            let db = shared.db()?;
            let txn = db.begin_write()?;
            {
                let mut t = open_tables(&txn)?;
                t.ship = true;
                self.bind_fleet(&mut t, log)?;
                for entry in behind {
                    self.apply_entry(&mut t, entry)?;
                }
                if self.ids.applied != head {
                    return Err(StoreError::Fleet(format!(
                        "the fleet's log has a gap after entry {} (head {head})",
                        self.ids.applied
                    )));
                }
                self.ids.event = head + 1;
                let last_lift = redb::ReadableTable::last(&t.lifts)?
                    .map(|(k, _)| k.value())
                    .unwrap_or(0);
                self.ids.lift = self.ids.lift.max(last_lift + 1);
                t.journal.clear();
                self.apply_jobs(&mut t, now, pending, batch)?;
                let ops = self.pushed_ops();
                let entries = replica::entries_since(&mut t, head, now)?;
                if let Some(fleet) = self.fleet.as_mut() {
                    fleet
                        .sequencer
                        .publish(&entries, &ops)
                        .map_err(|e| StoreError::Fleet(e.0))?;
                }
                if let Some(last) = entries.last() {
                    self.ids.applied = last.seq;
                }
                self.ids.event = self.ids.applied + 1;
                txn.open_table(tables::META)?
                    .insert(tables::FLEET_APPLIED_KEY, self.ids.applied)?;
            }
            txn.commit()?;
            Ok(())
        })
    }

    fn pushed_ops(&mut self) -> Vec<u64> {
        self.fleet
            .as_mut()
            .map(|f| std::mem::take(&mut f.pushed))
            .unwrap_or_default()
    }

    /// Checks that the log reached is the one this replica follows; a new replica is bound
    /// to it. Another fleet's database (a wrong URL, a restored copy) is refused: its entries
    /// would be mixed into a list they do not belong to.
    pub(super) fn bind_fleet(
        &mut self,
        t: &mut super::rules::Tables<'_>,
        log: u64,
    ) -> Result<(), StoreError> {
        if self.ids.fleet == log {
            return Ok(());
        }
        if self.ids.fleet == 0 && self.ids.applied == 0 {
            t.txn
                .open_table(tables::META)?
                .insert(tables::FLEET_KEY, log)?;
            self.ids.fleet = log;
            return Ok(());
        }
        Err(StoreError::Fleet(format!(
            "this store follows another fleet's log (its database identity is {:x}, the \
             database reached has {log:x}): check cluster.postgres, or start this relay in a new \
             data directory",
            self.ids.fleet
        )))
    }

    /// Applies one log entry unless this replica has it already.
    fn apply_entry(
        &mut self,
        t: &mut super::rules::Tables<'_>,
        entry: &LogEntry,
    ) -> Result<bool, StoreError> {
        if entry.seq <= self.ids.applied {
            return Ok(false);
        }
        if entry.seq != self.ids.applied + 1 {
            return Err(StoreError::Fleet(format!(
                "the fleet's log skips from entry {} to {}",
                self.ids.applied, entry.seq
            )));
        }
        replica::apply_entry(t, entry)?;
        self.ids.applied = entry.seq;
        self.ids.event = entry.seq + 1;
        Ok(true)
    }

    /// Applies entries fetched by the follower (those this replica has are skipped).
    pub(super) fn replicate(
        &mut self,
        t: &mut super::rules::Tables<'_>,
        entries: &[LogEntry],
    ) -> Result<Output, StoreError> {
        let mut applied = 0;
        for entry in entries {
            if self.apply_entry(t, entry)? {
                applied += 1;
            }
        }
        if applied > 0 {
            t.txn
                .open_table(tables::META)?
                .insert(tables::FLEET_APPLIED_KEY, self.ids.applied)?;
        }
        Ok(Output::Replicated(applied))
    }

    /// Pushes adds kept during an outage, oldest first: each is run again against the list as
    /// it stands now (a stronger entry made meanwhile elsewhere is never weakened), unless the
    /// log already holds it (pushed before, the answer lost).
    pub(super) fn push_queued(
        &mut self,
        t: &mut super::rules::Tables<'_>,
    ) -> Result<Output, StoreError> {
        let Some(fleet) = self.fleet.as_mut() else {
            return Ok(Output::Recorded);
        };
        let mut queued = Vec::new();
        {
            let outbox = t.txn.open_table(tables::FLEET_OUTBOX)?;
            for row in redb::ReadableTable::iter(&outbox)?.take(PUSH_BATCH) {
                let (slot, value) = row?;
                let add: QueuedAdd = decode(value.value())?;
                queued.push((slot.value(), add));
            }
        }
        let ops: Vec<u64> = queued.iter().map(|(_, a)| a.op).collect();
        let done = fleet
            .sequencer
            .done_ops(&ops)
            .map_err(|e| StoreError::Fleet(e.0))?;
        let mut pushed = Vec::new();
        for (slot, add) in &queued {
            if !done.contains(&add.op) {
                let entries = add.to_entries()?;
                super::rules::apply(
                    t,
                    &mut self.ids,
                    add.at,
                    Work::AddMany(entries, add.actor.clone()),
                )?;
                pushed.push(add.op);
            }
            replica::unqueue_add(t, *slot, add)?;
        }
        if !queued.is_empty() {
            tracing::info!(
                pushed = pushed.len(),
                already_in_the_log = queued.len() - pushed.len(),
                "adds kept during the database outage were pushed to the fleet's log"
            );
        }
        fleet.pushed.extend(pushed);
        Ok(Output::Recorded)
    }
}
