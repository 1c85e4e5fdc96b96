//! The single writer: one OS thread owns every write transaction. It batches, commits,
//! fsyncs and recovers from write errors; what a write does is in [`super::rules`].
//!
//! Jobs queue on a channel; the thread takes whatever is queued (up to a bound), applies it in
//! one transaction and commits once, with an fsync. A job is answered only after its commit, so
//! "acknowledged" always means "on disk and visible to the next read". One fsync per RCPT or
//! per admin call would cap the relay at a few thousand commits a second; batching does not.

use std::sync::Arc;

use redb::{Database, ReadableTable};
use tokio::sync::{mpsc, oneshot};

use super::rules::{apply, apply_records, attempt_id, open_tables, Ids, Output, RecordBatch, Work};
use super::tables;
use super::{Shared, StoreError};
use crate::claims::Claim;
use crate::model::{Attempt, Lock, Timestamp};

/// Most jobs committed together; bounds the latency a job can add to the others.
const MAX_BATCH: usize = 512;

/// Queue depth before senders wait.
const QUEUE: usize = 4096;

/// Send records alone are committed without fsync, and made durable at least this often (or
/// with the next change that must be acknowledged durably). A crash can lose at most this much
/// of the send records, never an acknowledged add, lift or import: an fsync for each small
/// batch of records would cost more than the rest of the relay's work per message.
const RECORD_SYNC: std::time::Duration = std::time::Duration::from_millis(500);

/// Send records (and the locks relayed messages take) on their way to the writer. Sessions
/// push here without waking the writer: only the first record of a batch sends a wake-up
/// ([`Job::RecordsQueued`]), so the writer wakes once per batch, not once per message (on two
/// busy cores, a context switch per message cost more than the write itself).
#[derive(Default)]
pub(super) struct RecordQueue {
    works: std::sync::Mutex<Vec<Work>>,
}

/// Records queued beyond this go through the job queue instead, where senders wait for room:
/// the relay slows down rather than letting records pile up in memory.
const RECORD_QUEUE: usize = 8192;

/// What [`RecordQueue::push`] did.
pub(super) enum Pushed {
    /// Queued; the writer must be woken (the queue was empty).
    First,
    /// Queued behind others; the writer already knows.
    Behind,
    /// The queue is full: send the work through the job queue.
    Full(Work),
}

impl RecordQueue {
    fn works(&self) -> std::sync::MutexGuard<'_, Vec<Work>> {
        match self.works.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Queues send records.
    pub(super) fn push(&self, work: Work) -> Pushed {
        let mut works = self.works();
        if works.len() >= RECORD_QUEUE {
            return Pushed::Full(work);
        }
        works.push(work);
        if works.len() == 1 {
            Pushed::First
        } else {
            Pushed::Behind
        }
    }

    fn is_empty(&self) -> bool {
        self.works().is_empty()
    }

    fn take(&self) -> Vec<Work> {
        std::mem::take(&mut *self.works())
    }
}

/// Work for the writer thread.
pub(super) enum Job {
    /// Records are waiting in the [`RecordQueue`].
    RecordsQueued,
    Write {
        work: Work,
        reply: Option<oneshot::Sender<Result<Output, StoreError>>>,
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

/// How long a batch of send records alone may wait for more before it is committed.
const RECORD_GATHER: std::time::Duration = std::time::Duration::from_millis(20);

/// A timer for the writer thread: waits on the queue with a deadline.
struct Clock(tokio::runtime::Runtime);

enum Received {
    Job(Box<Job>),
    Closed,
    Timeout,
}

impl Clock {
    fn new() -> std::io::Result<Clock> {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map(Clock)
    }

    fn recv_within(&self, rx: &mut mpsc::Receiver<Job>, limit: std::time::Duration) -> Received {
        // The timeout must be built inside the runtime: it needs the runtime's timer.
        match self
            .0
            .block_on(async { tokio::time::timeout(limit, rx.recv()).await })
        {
            Ok(Some(job)) => Received::Job(Box::new(job)),
            Ok(None) => Received::Closed,
            Err(_) => Received::Timeout,
        }
    }
}

fn is_record(job: &Job) -> bool {
    matches!(
        job,
        Job::RecordsQueued
            | Job::Write {
                work: Work::Records { .. },
                ..
            }
    )
}

/// Moves whatever is queued into the batch, up to its bound.
fn drain(rx: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

/// Creates the tables on a new file and checks the schema version of an existing one; and
/// that a fleet replica is opened as one (`fleet`) and a single relay's store is not.
pub(super) fn init_schema(db: &Database, fleet: bool) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(tables::META)?;
        let replica = meta.get(tables::FLEET_KEY)?.is_some();
        let has_history = txn.open_table(tables::EVENTS)?.last()?.is_some();
        match (fleet, replica) {
            (true, false) if has_history => {
                return Err(StoreError::Fleet(
                    "this store is a single relay's list, not a replica of the fleet's log: \
                     export it (dnc-relay export) and import it on a relay of the fleet, then \
                     start this relay in a new data directory"
                        .into(),
                ))
            }
            (true, false) => {
                // Bound to its log's identity at the first contact (see `Writer::bind_fleet`).
                meta.insert(tables::FLEET_KEY, 0)?;
            }
            (false, true) => {
                return Err(StoreError::Fleet(
                    "this store is a replica of a fleet's log: start the relay with its \
                     [cluster] section, or move the data directory away to start a single relay"
                        .into(),
                ))
            }
            _ => {}
        }
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
        open_tables(&txn)?;
        // Opened on demand by their operations; created here so that readers find them.
        txn.open_table(tables::FEEDBACK)?;
        txn.open_table(tables::FEEDBACK_BY_HASH)?;
        txn.open_table(tables::FEEDBACK_INBOX)?;
        txn.open_table(tables::OUTBOX)?;
        txn.open_table(tables::RETURN_PATHS)?;
        txn.open_table(tables::NOTIFY)?;
        txn.open_table(tables::ALERTS)?;
        txn.open_table(tables::CONSENTS)?;
        txn.open_table(tables::INTERACTIONS)?;
        txn.open_table(tables::ALERT_STATE)?;
        txn.open_table(tables::PENDING_ADDS)?;
        txn.open_table(tables::FLEET_OUTBOX)?;
        txn.open_table(tables::SHIP)?;
        txn.open_table(tables::FEED_SUBSCRIBERS)?;
        txn.open_table(tables::FEED_PULLS)?;
        txn.open_table(tables::FEED_LAST_PULL)?;
        txn.open_table(tables::FEED_ENTRIES)?;
        txn.open_table(tables::FEED_KEYS)?;
        txn.open_table(tables::FEED_STATE)?;
    }
    // Staging tables of imports cut short by a crash: void.
    let leftovers: Vec<String> = txn
        .list_tables()?
        .map(|h| redb::TableHandle::name(&h).to_string())
        .filter(|n| n.starts_with(tables::STAGING_PREFIX))
        .collect();
    for name in &leftovers {
        txn.delete_table(tables::staging(name))?;
    }
    txn.commit()?;
    Ok(())
}

/// Starts the writer thread.
pub(super) fn spawn(
    shared: Arc<Shared>,
    records: Arc<RecordQueue>,
    sequencer: Option<Box<dyn super::replica::Sequencer>>,
) -> Result<(mpsc::Sender<Job>, std::thread::JoinHandle<()>), StoreError> {
    let ids = Ids::load(&*shared.db()?)?;
    shared
        .applied
        .store(ids.applied, std::sync::atomic::Ordering::Release);
    let (tx, rx) = mpsc::channel(QUEUE);
    let handle = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            Writer {
                shared,
                records,
                ids,
                stats: WriterStats::default(),
                unsynced: None,
                pending: Pending::default(),
                last_reopen: None,
                fleet: sequencer.map(super::fleet::Fleet::new),
                recount_queued: false,
            }
            .run(rx)
        })
        .map_err(|e| StoreError::Io(format!("cannot start the store writer: {e}")))?;
    Ok((tx, handle))
}

/// Record batches not yet durable, and how many send records they hold (counted as they
/// come: under load there are thousands of batches between two syncs).
#[derive(Default)]
struct Pending {
    batches: std::collections::VecDeque<RecordBatch>,
    records: usize,
}

impl Pending {
    fn clear(&mut self) {
        self.batches.clear();
        self.records = 0;
    }
}

/// Most send records kept for rewriting while the store cannot write; beyond it the oldest
/// are dropped (and the loss logged). New recipients are refused meanwhile, so only what was
/// in flight when the disk filled up arrives here.
const MAX_PENDING_RECORDS: usize = 200_000;

/// Free space the file system must have before a store that failed to write is used again.
const ROOM_FOR_GROWTH: i64 = 8 * 1024 * 1024;

/// Whether the store's file system has [`ROOM_FOR_GROWTH`] free: reserved (not written) in an
/// unnamed file next to the store, then released.
fn room_for_growth(store: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsFd;
    let dir = store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let probe = tempfile::tempfile_in(dir)?;
    nix::fcntl::posix_fallocate(probe.as_fd(), 0, ROOM_FOR_GROWTH)
        .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
}

/// Failed reopens, logged once a minute.
static REOPEN_FAILURES: crate::panics::Throttle = crate::panics::Throttle::new(60);

/// How often a store that cannot write is reopened.
const REOPEN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub(super) struct Writer {
    pub(super) shared: Arc<Shared>,
    records: Arc<RecordQueue>,
    pub(super) ids: Ids,
    stats: WriterStats,
    /// Since when send records have been committed without fsync, if they have.
    unsynced: Option<std::time::Instant>,
    /// Records not yet durable (see [`RecordBatch`]).
    pending: Pending,
    /// When the store was last reopened after a write error.
    last_reopen: Option<std::time::Instant>,
    /// A fleet relay: the fleet's log and what waits for it.
    pub(super) fleet: Option<super::fleet::Fleet>,
    /// The transaction under way queued or pushed outage adds: count them after its commit.
    recount_queued: bool,
}

pub(super) type Reply = Option<oneshot::Sender<Result<Output, StoreError>>>;

impl Writer {
    /// The next job. While send records are committed but not yet synced, waits at most until
    /// they must be, and then syncs them; while the store cannot write, wakes up to reopen it.
    fn next_job(&mut self, rx: &mut mpsc::Receiver<Job>, clock: &Clock) -> Option<Job> {
        loop {
            let sync_in = self
                .unsynced
                .map(|since| RECORD_SYNC.saturating_sub(since.elapsed()));
            let reopen_in = (!self.shared.is_writable()).then_some(REOPEN_EVERY);
            let push_in = self.fleet.as_ref().and_then(|f| f.push_in(&self.shared));
            let wait = match (sync_in, reopen_in, push_in) {
                (None, None, None) => return rx.blocking_recv(),
                (a, b, c) => a
                    .into_iter()
                    .chain(b)
                    .chain(c)
                    .min()
                    .unwrap_or(REOPEN_EVERY),
            };
            match clock.recv_within(rx, wait) {
                Received::Job(job) => return Some(*job),
                Received::Closed => {
                    if self.unsynced.is_some() {
                        self.sync();
                    }
                    return None;
                }
                Received::Timeout => {
                    if !self.shared.is_writable() {
                        self.reopen();
                    } else if self.unsynced.is_some() {
                        self.sync();
                    }
                    if self
                        .fleet
                        .as_ref()
                        .and_then(|f| f.push_in(&self.shared))
                        .is_some_and(|d| d.is_zero())
                    {
                        return Some(Job::Write {
                            work: Work::PushQueued,
                            reply: None,
                        });
                    }
                }
            }
        }
    }

    /// Makes every earlier commit durable (an empty commit with fsync).
    fn sync(&mut self) {
        let result = super::guard::guarded(|| {
            let db = self.shared.db()?;
            let mut txn = db.begin_write()?;
            txn.set_durability(redb::Durability::Immediate)
                .map_err(|e| StoreError::Io(e.to_string()))?;
            txn.commit()?;
            Ok(())
        });
        match result {
            Ok(()) => {
                self.unsynced = None;
                self.pending.clear();
            }
            Err(e) => self.failed(&e),
        }
    }

    /// A write failed: from now on nothing is decided until the store is reopened and takes a
    /// write again (see [`Writer::reopen`]).
    fn failed(&mut self, e: &StoreError) {
        if self.shared.is_writable() {
            tracing::error!(
                error = %e,
                store = %self.shared.path.display(),
                "store write failed: new recipients get 451 4.3.0 and admin changes are refused until the store can write again; reopening it every second"
            );
        }
        self.shared.set_writable(false, &e.to_string());
        self.unsynced = None;
        // The first reopen waits like the others: a disk that just filled up is still full.
        self.last_reopen = Some(std::time::Instant::now());
    }

    /// Closes the failed database, opens it again (redb repairs and checks it) and writes the
    /// records that were not yet durable; the store is writable again only once that write
    /// went through. Nothing acknowledged is lost: adds, lifts and imports were fsynced before
    /// they were acknowledged, and records are rewritten from [`Writer::pending`].
    fn reopen(&mut self) {
        if self
            .last_reopen
            .is_some_and(|at| at.elapsed() < REOPEN_EVERY)
        {
            return;
        }
        self.last_reopen = Some(std::time::Instant::now());
        // redb can often commit a little into free pages of its file while the disk is full,
        // and then fail at the next batch that needs the file to grow: first make sure the
        // file system has room for growth.
        if let Err(e) = room_for_growth(&self.shared.path) {
            self.still_unwritable(&format!("no room to write: {e}"));
            return;
        }
        if let Some(old) = self.shared.replace(None) {
            // Readers hold the old handle only for one lookup; the file lock goes with the
            // last of them.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while Arc::strong_count(&old) > 1 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            drop(old);
        }
        let reopened = super::guard::guarded(|| {
            let db = Arc::new(super::open_database(
                &self.shared.path,
                &self.shared.options,
            )?);
            let mut ids = Ids::load(&db)?;
            let txn = db.begin_write()?;
            {
                let mut t = open_tables(&txn)?;
                t.ship = self.fleet.is_some();
                let now = Timestamp::now();
                for batch in &self.pending.batches {
                    apply_records(&mut t, &mut ids, now, batch)?;
                }
                // A write of our own, so that "writable" means a commit went through.
                let mut meta = txn.open_table(tables::META)?;
                meta.insert(tables::REOPENED_KEY, now.0.max(0) as u64)?;
            }
            txn.commit()?;
            Ok((db, ids))
        });
        match reopened {
            Ok((db, ids)) => {
                let rewritten = self.pending.records;
                self.pending.clear();
                self.ids = ids;
                self.shared.replace(Some(db));
                self.shared.set_writable(true, "");
                tracing::warn!(
                    store = %self.shared.path.display(),
                    rewritten_records = rewritten,
                    "the store can write again; recipients are decided again"
                );
            }
            Err(e) => self.still_unwritable(&e.to_string()),
        }
    }

    /// A reopening failed: the store stays unwritable (logged once a minute).
    fn still_unwritable(&self, why: &str) {
        self.shared.set_writable(false, why);
        if let Some(held_back) = REOPEN_FAILURES.should_log() {
            tracing::warn!(
                error = why,
                store = %self.shared.path.display(),
                failed_reopens_since_last = held_back,
                "the store still cannot write; recipients stay deferred"
            );
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let clock = match Clock::new() {
            Ok(clock) => clock,
            Err(e) => {
                tracing::error!(error = %e, "the store writer cannot start its timer");
                return;
            }
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            // Records pushed while the last batch was being committed need no wake-up.
            if self.records.is_empty() {
                match self.next_job(&mut rx, &clock) {
                    Some(job) => batch.push(job),
                    None => break,
                }
            }
            drain(&mut rx, &mut batch);
            // A batch of send records alone waits a little for more: every commit has a fixed
            // cost, and records need not be visible at once. Any other job ends the wait at
            // once, so an add is never held back.
            let started = std::time::Instant::now();
            while batch.len() < MAX_BATCH && batch.iter().all(is_record) {
                let left = RECORD_GATHER.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break;
                }
                match clock.recv_within(&mut rx, left) {
                    Received::Job(job) => {
                        batch.push(*job);
                        drain(&mut rx, &mut batch);
                    }
                    Received::Closed | Received::Timeout => break,
                }
            }
            let mut shutdown = Vec::new();
            // Queued records first: they were relayed before any admin change in this batch
            // was applied, so that change (a release, a suppression) has the last word.
            let mut writes: Vec<(Work, Reply)> =
                self.records.take().into_iter().map(|w| (w, None)).collect();
            for job in batch.drain(..) {
                match job {
                    Job::RecordsQueued => {}
                    Job::Stats { reply } => {
                        let _ = reply.send(self.stats);
                    }
                    Job::Shutdown { reply } => shutdown.push(reply),
                    Job::Write { work, reply } => writes.push((work, reply)),
                }
            }
            if !writes.is_empty() {
                if !self.shared.is_writable() {
                    self.reopen();
                }
                if self.shared.is_writable() {
                    self.commit(writes);
                } else {
                    self.refuse(writes);
                }
            }
            if !shutdown.is_empty() {
                if self.unsynced.is_some() {
                    self.sync();
                }
                if self.pending.records > 0 {
                    let lost = self.pending.records;
                    tracing::error!(
                        records = lost,
                        "shutting down while the store cannot write: these send records are lost"
                    );
                }
                // Jobs queued after the shutdown request are refused, not half-applied.
                rx.close();
                while let Ok(job) = rx.try_recv() {
                    if let Job::Write {
                        reply: Some(reply), ..
                    } = job
                    {
                        let _ = reply.send(Err(StoreError::Closed));
                    }
                }
                for reply in shutdown {
                    let _ = reply.send(());
                }
                return;
            }
        }
    }

    /// Answers every job with the reason the store cannot write; send records are kept to be
    /// written once it can.
    pub(super) fn refuse(&mut self, writes: Vec<(Work, Reply)>) {
        let why = StoreError::Unwritable(self.shared.why());
        for (work, reply) in writes {
            if let Work::Records {
                attempts, locks, ..
            } = work
            {
                let batch = self.batch(attempts, locks);
                self.keep(batch);
            }
            if let Some(reply) = reply {
                let _ = reply.send(Err(why.clone()));
            }
        }
    }

    /// Gives send records their ids.
    pub(super) fn batch(
        &mut self,
        attempts: Vec<Attempt>,
        locks: Vec<(String, Lock)>,
    ) -> RecordBatch {
        let attempts = attempts
            .into_iter()
            .map(|a| {
                self.ids.attempt_seq = self.ids.attempt_seq.wrapping_add(1);
                (attempt_id(a.at, self.ids.attempt_seq), a)
            })
            .collect();
        RecordBatch { attempts, locks }
    }

    /// Keeps records until a durable commit holds them, within [`MAX_PENDING_RECORDS`].
    fn keep(&mut self, batch: RecordBatch) {
        self.pending.records += batch.attempts.len();
        self.pending.batches.push_back(batch);
        while self.pending.records > MAX_PENDING_RECORDS && self.pending.batches.len() > 1 {
            let Some(dropped) = self.pending.batches.pop_front() else {
                break;
            };
            self.pending.records -= dropped.attempts.len();
            tracing::error!(
                records = dropped.attempts.len(),
                "the store cannot write and too many send records wait: dropping the oldest"
            );
        }
    }

    /// Applies the jobs: through the fleet's log when they change what every replica holds,
    /// in this store alone otherwise.
    fn commit(&mut self, writes: Vec<(Work, Reply)>) {
        if self.fleet.is_some() && writes.iter().any(|(w, _)| super::fleet::sequenced(w)) {
            // Local jobs first (send records before admin changes, as below), on their own:
            // the log's trouble must never hold back or fail what only this store keeps.
            let (sequenced, local): (Vec<_>, Vec<_>) = writes
                .into_iter()
                .partition(|(w, _)| super::fleet::sequenced(w));
            if !local.is_empty() {
                self.commit_local(local);
            }
            self.commit_fleet(sequenced);
        } else {
            self.commit_local(writes);
        }
    }

    /// Applies the jobs in one transaction and answers each after the commit. On any storage
    /// error nothing of the batch is kept, every job gets the error, and the store is reopened.
    pub(super) fn commit_local(&mut self, writes: Vec<(Work, Reply)>) {
        let saved = self.ids;
        // Only a batch of nothing but send records may skip the fsync (see RECORD_SYNC).
        let records_only = writes.iter().all(|(w, _)| {
            matches!(
                w,
                Work::Records { .. }
                    | Work::StageImport { .. }
                    | Work::AbortImport { .. }
                    | Work::ReturnPath(_)
            )
        });
        let durable = !records_only
            || self
                .unsynced
                .is_some_and(|since| since.elapsed() >= RECORD_SYNC);
        let mut batch = Applied::default();
        let mut pending = writes.into_iter();
        let result = self.apply_all(&mut pending, durable, &mut batch);
        match result {
            Ok(()) => self.committed(batch, durable),
            Err(e) => {
                // Attempt ids handed out stay used: the kept records carry them.
                self.ids = Ids {
                    attempt_seq: self.ids.attempt_seq,
                    ..saved
                };
                self.rolled_back(&e, batch, pending.collect());
            }
        }
    }

    /// Applies the writes in one transaction and commits it.
    fn apply_all(
        &mut self,
        pending: &mut std::vec::IntoIter<(Work, Reply)>,
        durable: bool,
        batch: &mut Applied,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let shared = self.shared.clone();
        super::guard::guarded(|| {
            let db = shared.db()?;
            let mut txn = db.begin_write()?;
            if !durable {
                txn.set_durability(redb::Durability::None)
                    .map_err(|e| StoreError::Io(e.to_string()))?;
            }
            {
                let mut t = open_tables(&txn)?;
                t.ship = self.fleet.is_some();
                self.apply_jobs(&mut t, now, pending, batch)?;
            }
            txn.commit()?;
            Ok(())
        })
    }

    /// Applies the jobs to the open transaction, noting each answer in `batch`.
    pub(super) fn apply_jobs(
        &mut self,
        t: &mut super::rules::Tables<'_>,
        now: Timestamp,
        pending: &mut std::vec::IntoIter<(Work, Reply)>,
        batch: &mut Applied,
    ) -> Result<(), StoreError> {
        for (work, reply) in pending.by_ref() {
            // Only these change the adds waiting for the fleet's log (counted after commit).
            if matches!(work, Work::QueueAdd(..) | Work::PushQueued) {
                self.recount_queued = true;
            }
            let applied = match work {
                Work::Records {
                    attempts,
                    locks,
                    claims,
                } => {
                    batch.claims.extend(claims);
                    let records = self.batch(attempts, locks);
                    let applied = apply_records(t, &mut self.ids, now, &records);
                    batch.records.push(records);
                    applied.map(|()| Output::Recorded)
                }
                Work::Replicate(entries) => self.replicate(t, &entries),
                Work::PushQueued => self.push_queued(t),
                Work::BindFleet(fleet) => self.bind_fleet(t, fleet).map(|()| Output::Recorded),
                other => apply(t, &mut self.ids, now, other),
            };
            match applied {
                Ok(output) => batch.done.push((reply, output)),
                Err(e) => {
                    batch.done.push((reply, Output::Recorded));
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// After a commit: counts it, notes what is not yet durable, and answers every job.
    /// Compacts the file after an erasure, so that the pages that held the erased records
    /// are overwritten or cut off. Readers wait out the moment (they get an error meanwhile:
    /// RCPTs answer 451); the database is put back whatever happens.
    fn compact(&mut self) -> bool {
        let Some(db) = self.shared.replace(None) else {
            return false;
        };
        self.shared.set_why("compacting the store after an erasure");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while Arc::strong_count(&db) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let done = match Arc::try_unwrap(db) {
            Ok(mut owned) => {
                let started = std::time::Instant::now();
                // A reader's transaction may still be ending: tried again for a while.
                let mut outcome = Err(String::new());
                while std::time::Instant::now() < deadline + std::time::Duration::from_secs(2) {
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut more = owned.compact();
                        while matches!(more, Ok(true)) {
                            more = owned.compact();
                        }
                        more
                    }));
                    outcome = match ran {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err("compaction panicked".into()),
                    };
                    if outcome.is_ok() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                self.shared.replace(Some(Arc::new(owned)));
                match outcome {
                    Ok(()) => {
                        tracing::info!(
                            took_ms = started.elapsed().as_millis() as u64,
                            "store compacted after an erasure"
                        );
                        true
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot compact the store after an erasure; old pages may still hold the erased address until they are reused (erase again to retry)");
                        false
                    }
                }
            }
            Err(db) => {
                tracing::error!("the store is busy; not compacted after an erasure (old pages may still hold the erased address until they are reused; erase again to retry)");
                self.shared.replace(Some(db));
                false
            }
        };
        self.shared.set_why("");
        done
    }

    pub(super) fn committed(&mut self, mut batch: Applied, durable: bool) {
        self.stats.commits += 1;
        self.shared
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.shared
            .applied
            .store(self.ids.applied, std::sync::atomic::Ordering::Release);
        if std::mem::take(&mut self.recount_queued) {
            self.shared.count_queued();
        }
        let added = batch.done.iter().any(|(_, o)| {
            matches!(
                o,
                Output::Added(_)
                    | Output::AddedMany(_)
                    | Output::Imported(_)
                    | Output::FeedbackReviewed(Ok(_))
                    | Output::Consent(Ok(_))
                    | Output::Erased(Ok(_))
            ) || matches!(o, Output::Feedback(super::feedback::Recorded::New(_, added)) if !added.is_empty())
                // Another relay's changes: transactions open here check the list again too.
                || matches!(o, Output::Replicated(n) if *n > 0)
                || matches!(o, Output::FeedApplied(a) if a.blocked > 0)
        });
        for (_, output) in &batch.done {
            if let Output::FeedApplied(a) = output {
                if let Some(salt) = &a.new_salt {
                    self.shared.set_feed_salt(salt.clone());
                }
            }
        }
        if batch
            .done
            .iter()
            .any(|(_, o)| matches!(o, Output::Erased(Ok(_))))
        {
            self.shared
                .hashed
                .store(true, std::sync::atomic::Ordering::Release);
            // Before the answer: no old page of the file may still hold the address.
            let compacted = self.compact();
            for (_, output) in batch.done.iter_mut() {
                if let Output::Erased(Ok(erased)) = output {
                    erased.iter_mut().for_each(|e| e.compacted = compacted);
                }
            }
        }
        if added {
            // Before any answer: once an add is acknowledged, transactions already open see
            // that the list changed (see `Store::additions`).
            self.shared
                .additions
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        if durable {
            self.unsynced = None;
            self.pending.clear();
        } else {
            self.unsynced.get_or_insert_with(std::time::Instant::now);
            for records in batch.records {
                self.keep(records);
            }
        }
        for (reply, output) in batch.done {
            self.stats.jobs += 1;
            if let Some(reply) = reply {
                let _ = reply.send(Ok(output));
            }
        }
    }

    /// After a failed transaction: keeps the send records for later, answers every job with
    /// the error, and on a storage failure starts the reopening.
    pub(super) fn rolled_back(&mut self, e: &StoreError, batch: Applied, rest: Vec<(Work, Reply)>) {
        if e.is_storage_failure() {
            // Records of this batch and those queued behind it are written once the store
            // can write again.
            for records in batch.records {
                self.keep(records);
            }
            self.failed(e);
        } else {
            tracing::error!(error = %e, "store write failed; the batch was rolled back");
        }
        for (reply, _) in batch.done {
            if let Some(reply) = reply {
                let _ = reply.send(Err(e.clone()));
            }
        }
        self.refuse(rest);
    }
}

/// What one transaction applied, for answering once it is committed (or rolled back).
#[derive(Default)]
pub(super) struct Applied {
    /// Each job's answer.
    pub(super) done: Vec<(Reply, Output)>,
    /// The send records written.
    pub(super) records: Vec<RecordBatch>,
    /// Lock claims, released (dropped) with this: after the commit.
    pub(super) claims: Vec<Claim>,
}
