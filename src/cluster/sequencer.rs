//! The store writer's way to the fleet's log: a [`Sequencer`] over one PostgreSQL connection.
//!
//! The writer is a plain thread; each call runs on the relay's runtime and blocks the writer
//! for its duration, bounded by [`pg::STATEMENT_TIMEOUT`]. A write holds the head row's lock
//! from `begin` to `publish`, so writes of the whole fleet are serialised and the log has no
//! holes: a reader that sees entry N has seen every entry before it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::pg::{self, Db, PgError};
use super::Gate;
use crate::store::replica::{LogEntry, SequenceError, Sequencer};

/// A relay further behind than this does not write (it would apply the gap while holding
/// every relay's writes); its follower catches up first.
const MAX_BEHIND: u64 = 20_000;

/// How often a lost connection is tried again.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// The writer's connection to the log.
pub struct PgSequencer {
    db: Db,
    node: String,
    runtime: tokio::runtime::Handle,
    gate: Arc<Gate>,
    client: Option<Client>,
    last_failed_connect: Option<Instant>,
    /// When the open write began (the replica is current as of then once it commits).
    begun: Option<Instant>,
}

impl PgSequencer {
    pub(super) fn new(
        db: Db,
        node: String,
        runtime: tokio::runtime::Handle,
        gate: Arc<Gate>,
    ) -> PgSequencer {
        PgSequencer {
            db,
            node,
            runtime,
            gate,
            client: None,
            last_failed_connect: None,
            begun: None,
        }
    }

    /// The connection, made again if it was lost (at most once a second).
    fn client(&mut self) -> Result<&Client, SequenceError> {
        if self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
        if self.client.is_none() {
            if self
                .last_failed_connect
                .is_some_and(|at| at.elapsed() < RECONNECT_EVERY)
            {
                return Err(SequenceError(
                    "no connection to PostgreSQL (retrying every second)".into(),
                ));
            }
            let db = self.db.clone();
            let (client, _notes) = self
                .runtime
                .block_on(pg::within(
                    Duration::from_secs(3),
                    "the connection",
                    db.connect(),
                ))
                .map_err(|e| {
                    // Only a failed connect waits: a statement's error reconnects at once.
                    self.last_failed_connect = Some(Instant::now());
                    SequenceError(e.0)
                })?;
            self.last_failed_connect = None;
            self.client = Some(client);
        }
        self.client
            .as_ref()
            .ok_or_else(|| SequenceError("no connection to PostgreSQL".into()))
    }

    /// After a call: a failure drops the connection (its transaction goes with it).
    fn finish<T>(&mut self, result: Result<T, PgError>) -> Result<T, SequenceError> {
        result.map_err(|e| {
            self.client = None;
            self.begun = None;
            SequenceError(e.0)
        })
    }
}

impl Sequencer for PgSequencer {
    fn begin(&mut self, applied: u64) -> Result<(u64, u64, Vec<LogEntry>), SequenceError> {
        if self.gate.diverged() {
            return Err(SequenceError(
                "this relay's replica and the fleet's log disagree; it writes nothing until it is rebuilt".into(),
            ));
        }
        let asked = Instant::now();
        let runtime = self.runtime.clone();
        let client = self.client()?;
        let begun = runtime.block_on(pg::within(
            pg::STATEMENT_TIMEOUT * 4,
            "the start of a write",
            async move {
                client
                    .batch_execute("BEGIN; SET LOCAL lock_timeout = '5s'")
                    .await?;
                let row = client
                    .query_one(
                        "SELECT seq, fleet FROM dnc_head WHERE id = 1 FOR UPDATE",
                        &[],
                    )
                    .await?;
                let head = row.get::<_, i64>(0) as u64;
                let fleet = row.get::<_, i64>(1) as u64;
                if head > applied + MAX_BEHIND {
                    // Applying that much here would hold the whole fleet's writes: the
                    // follower catches up first.
                    return Err(PgError(format!(
                        "this relay is {} entries behind the fleet's log and is catching up",
                        head - applied
                    )));
                }
                if head < applied {
                    return Err(PgError(format!(
                        "the fleet's log ends at entry {head} but this replica applied \
                         {applied}: the database lost entries; nothing is written to it"
                    )));
                }
                let behind = if head > applied {
                    pg::fetch(client, applied, Some(head), i64::MAX).await?
                } else {
                    Vec::new()
                };
                Ok((head, fleet, behind))
            },
        ));
        let begun = self.finish(begun)?;
        self.begun = Some(asked);
        Ok(begun)
    }

    fn done_ops(&mut self, ops: &[u64]) -> Result<Vec<u64>, SequenceError> {
        let node = self.node.clone();
        let wanted: Vec<i64> = ops.iter().map(|o| *o as i64).collect();
        let runtime = self.runtime.clone();
        let client = self.client()?;
        let done = runtime.block_on(pg::within(
            pg::STATEMENT_TIMEOUT,
            "a check of queued adds",
            async move {
                let rows = client
                    .query(
                        "SELECT op FROM dnc_ops WHERE node = $1 AND op = ANY($2)",
                        &[&node, &wanted],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
            },
        ));
        self.finish(done)
    }

    fn publish(&mut self, entries: &[LogEntry], ops: &[u64]) -> Result<(), SequenceError> {
        let node = self.node.clone();
        let runtime = self.runtime.clone();
        let client = self.client()?;
        let published = runtime.block_on(pg::within(
            pg::write_limit(entries.len()),
            "a write to the log",
            async move {
                pg::append(client, &node, entries, ops).await?;
                client.batch_execute("COMMIT").await?;
                Ok(())
            },
        ));
        self.finish(published)
    }

    fn committed(&mut self) {
        // Current as of the moment the write began: it caught up under the log's lock, and
        // its own entries are in the replica now.
        if let Some(asked) = self.begun.take() {
            self.gate.confirm(asked);
        }
    }

    fn abort(&mut self) {
        self.begun = None;
        if let Some(client) = self.client.as_ref() {
            let rolled_back = self.runtime.block_on(pg::within(
                pg::STATEMENT_TIMEOUT,
                "a rollback",
                async move {
                    client.batch_execute("ROLLBACK").await?;
                    Ok(())
                },
            ));
            let _ = self.finish(rolled_back);
        }
    }
}
