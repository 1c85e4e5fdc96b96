//! The redb store: suppression entries and their append-only history.
//!
//! Reads are inline and short (one read transaction per lookup or page). Every write goes
//! through one writer thread ([`writer`]) that commits batches with an fsync each, so an
//! acknowledged change is durable and visible to the very next read. Nothing here knows SMTP.

mod consent;
mod erase;
mod fault;
mod feed;
mod feedback;
mod fleet;
mod guard;
mod outbox;
pub mod replica;
mod rules;
mod tables;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};
use tokio::sync::{mpsc, oneshot};

use crate::address::Target;
use crate::claims::Claim;
use crate::model::{
    Actor, Attempt, Entry, Event, EventKind, ImportFormat, Lock, Reason, Source, Timestamp, Units,
};
pub use erase::{Contact as ErasedContact, Erased};
pub use feed::{Applied as FeedApplied, Applying as FeedApplying};
pub use feedback::Recorded;
pub use rules::LockOp;
use rules::{Output, Work};
use writer::Job;

pub use writer::WriterStats;

/// A failure of the store. Every one of these makes the relay fail closed (451 at RCPT).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database file.
    #[error("the store {0} is in use by another process")]
    Locked(PathBuf),
    /// The file could not be opened or created.
    #[error(
        "cannot open the store {path}: {message}. If it was damaged, replaced or moved, \
         restore it from a backup (stop the relay, copy the file back, start it)"
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A read or write failed in redb or the file system.
    #[error("store I/O failed: {0}")]
    Io(String),
    /// A value could not be decoded.
    #[error("store holds a value this version cannot read: {0}")]
    Corrupt(String),
    /// The writer has stopped (shutdown or a fatal error).
    #[error("the store is closed")]
    Closed,
    /// A write failed (a full or failing disk); until a reopened store takes a write again,
    /// nothing can be recorded, so nothing may be decided.
    #[error("the store cannot write ({0}); retrying every second")]
    Unwritable(String),
    /// A fleet relay could not write to the fleet's log (PostgreSQL); nothing was changed.
    #[error("{0}")]
    Fleet(String),
}

impl StoreError {
    /// Whether the error comes from the disk or the file (a write that failed, a damaged page)
    /// rather than from one request's data: after such an error the store is reopened.
    pub fn is_storage_failure(&self) -> bool {
        match self {
            StoreError::Io(_) | StoreError::Unwritable(_) => true,
            StoreError::Corrupt(detail) => detail.contains("damaged"),
            _ => false,
        }
    }
}

macro_rules! io_error_from {
    ($($t:ty),+) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Io(e.to_string())
            }
        }
    )+};
}
io_error_from!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

/// What a user asks to suppress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// What to block.
    pub target: Target,
    /// Why.
    pub reason: Reason,
    /// Through which channel the opt-out came.
    pub source: Source,
    /// The proof, free text (may be empty).
    pub evidence: String,
    /// The units whose senders it binds.
    pub units: Units,
}

/// What an add did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new entry was created.
    Added(Entry),
    /// The target was already suppressed: the entry keeps its first time and takes the
    /// stronger reason and the wider scope; the add is recorded as a `readded` event.
    AlreadySuppressed {
        /// The entry in force after the add.
        entry: Entry,
        /// The id of the event that recorded this add.
        event_id: u64,
    },
    /// A fleet relay could not reach PostgreSQL: the entry is in force on this relay now and
    /// goes to the fleet's log (and to every other relay) once the database is back.
    Queued(Entry),
}

/// What an import says about itself, for its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The file name.
    pub file: String,
    /// The format detected.
    pub format: ImportFormat,
    /// Rows skipped as invalid.
    pub skipped: u64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportCounts {
    /// Rows imported.
    pub rows: u64,
    /// New entries.
    pub added: u64,
    /// Rows whose target was already listed.
    pub already: u64,
    /// The `imported` event.
    pub event_id: u64,
}

/// One row of an import waiting in its staging table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StagedRow {
    seq: u64,
    target: String,
    reason: Reason,
    source: Source,
    evidence: String,
    units: Units,
}

/// A request to lift an entry, and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lift {
    /// The request's id.
    pub id: u64,
    /// The entry's target.
    pub target: String,
    /// The entry's match key.
    pub key: String,
    /// The written proof.
    pub proof: String,
    /// Who asked.
    pub requested_by: Actor,
    /// When.
    pub requested_at: Timestamp,
    /// The event that recorded the request.
    pub request_event: u64,
    /// The decision, once made.
    pub decision: Option<LiftDecision>,
}

/// The approval or denial of a lift.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiftDecision {
    /// Approved (the entry was removed) or denied.
    pub approved: bool,
    /// Who decided.
    pub by: Actor,
    /// When.
    pub at: Timestamp,
    /// Why (for a denial).
    pub why: Option<String>,
}

/// A request the store refused on its merits; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The target or request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The actor may not do this (the requester approving their own lift).
    #[error("{0}")]
    Forbidden(String),
}

/// The suppression list and its history. Cheap to clone; all clones share one database and
/// one writer.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    records: Arc<writer::RecordQueue>,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// Settings for opening the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// redb page cache, in bytes.
    pub cache_size: usize,
    /// Fault injection for tests: while set, every write to the file fails with `ENOSPC`, as
    /// on a full disk (redb then refuses everything until the store is reopened), so the
    /// relay's behaviour under store failure can be proven. Never set in production.
    pub fault: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Create the file when it does not exist. The relay sets this only for a new data
    /// directory (see [`crate::datadir`]); otherwise a missing file is an error.
    pub create: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_size: 64 * 1024 * 1024,
            fault: None,
            create: true,
        }
    }
}

/// The open database, shared by the readers and the writer. After a write error redb refuses
/// everything until it is reopened, so the writer takes the database out, reopens it and puts
/// it back (see `writer`); meanwhile readers get an error and the relay fails closed.
pub(super) struct Shared {
    db: std::sync::RwLock<Option<Arc<Database>>>,
    /// Whether writes succeed; read on every RCPT, so an atomic.
    writable: std::sync::atomic::AtomicBool,
    /// Why writes fail, while they do.
    why: std::sync::Mutex<String>,
    path: PathBuf,
    options: StoreOptions,
    /// The next import id.
    imports: std::sync::atomic::AtomicU64,
    /// Commits that added entries so far (see [`Store::additions`]).
    additions: std::sync::atomic::AtomicU64,
    /// A fleet relay: the last log entry applied to this replica.
    applied: std::sync::atomic::AtomicU64,
    /// A fleet relay: adds kept during an outage, waiting for the log.
    queued: std::sync::atomic::AtomicU64,
    /// Whether the list holds hashed entries (erased contacts): RCPT then probes hashed
    /// keys too. Read on every RCPT, so an atomic.
    hashed: std::sync::atomic::AtomicBool,
    /// Commits so far (a waiting feed pull reads the history again only after one).
    commits: std::sync::atomic::AtomicU64,
    /// A follower of a hashed feed: the feed's salt, once a page was applied.
    feed_salt: std::sync::RwLock<Option<Arc<crate::hashing::Salt>>>,
}

impl Shared {
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        let guard = match self.db.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard
            .clone()
            .ok_or_else(|| StoreError::Unwritable(self.why()))
    }

    fn replace(&self, db: Option<Arc<Database>>) -> Option<Arc<Database>> {
        let mut guard = match self.db.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *guard, db)
    }

    /// Notes whether the list holds hashed entries (their keys sort together).
    fn find_hashed(&self) {
        let found = self.db().ok().and_then(|db| {
            let txn = redb::ReadableDatabase::begin_read(&*db).ok()?;
            let table = txn.open_table(tables::SUPPRESSIONS).ok()?;
            let prefix = crate::hashing::PREFIX;
            let mut range = table.range(prefix..).ok()?;
            match range.next() {
                // Nothing sorts at or after the prefix: no hashed key.
                None => Some(false),
                Some(Ok(first)) => Some(first.0.value().starts_with(prefix)),
                Some(Err(_)) => None,
            }
        });
        // Unknown (a read failed): probe hashed keys too, rather than risk missing one.
        self.hashed
            .store(found.unwrap_or(true), std::sync::atomic::Ordering::Release);
    }

    /// The salt of the hashed feed this store follows, if it follows one.
    fn feed_salt(&self) -> Option<Arc<crate::hashing::Salt>> {
        match self.feed_salt.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sets the salt of the followed feed (after a commit that applied its first page).
    pub(super) fn set_feed_salt(&self, salt: Arc<crate::hashing::Salt>) {
        match self.feed_salt.write() {
            Ok(mut g) => *g = Some(salt),
            Err(poisoned) => *poisoned.into_inner() = Some(salt),
        }
    }

    /// Loads the followed feed's salt from the store, if it follows one.
    fn load_feed_salt(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        let txn = redb::ReadableDatabase::begin_read(&*db)?;
        let table = txn.open_table(tables::FEED_STATE)?;
        let value = table.get("state")?;
        if let Some(v) = value {
            let state: crate::model::feed::FollowState = tables::decode(v.value())?;
            let salt = crate::hashing::Salt::from_hex(&state.salt)
                .map_err(|e| StoreError::Corrupt(format!("the followed feed's salt: {e}")))?;
            self.set_feed_salt(Arc::new(salt));
        }
        Ok(())
    }

    fn why(&self) -> String {
        match self.why.lock() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_why(&self, why: &str) {
        if let Ok(mut w) = self.why.lock() {
            why.clone_into(&mut w);
        }
    }

    fn set_writable(&self, writable: bool, why: &str) {
        if let Ok(mut w) = self.why.lock() {
            why.clone_into(&mut w);
        }
        self.writable
            .store(writable, std::sync::atomic::Ordering::Release);
    }

    fn is_writable(&self) -> bool {
        self.writable.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Adds kept during an outage and not yet in the fleet's log.
    pub(super) fn queued(&self) -> u64 {
        self.queued.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Counts the queued adds again (after a commit that may have changed them).
    pub(super) fn count_queued(&self) {
        let count = self.db().and_then(|db| {
            let txn = redb::ReadableDatabase::begin_read(&*db)?;
            let outbox = txn.open_table(tables::FLEET_OUTBOX)?;
            Ok(redb::ReadableTableMetadata::len(&outbox)?)
        });
        if let Ok(n) = count {
            self.queued.store(n, std::sync::atomic::Ordering::Release);
        }
    }
}

/// A read snapshot of the lock and account tables; see [`Store::lock_view`].
pub struct LockView {
    locks: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    accounts: redb::ReadOnlyTable<&'static str, &'static str>,
}

impl LockView {
    /// The lock stored under a key, expired or not.
    pub fn lock(&self, key: &str) -> Result<Option<Lock>, StoreError> {
        guard::guarded(|| match self.locks.get(key)? {
            Some(v) => Ok(Some(tables::decode(v.value())?)),
            None => Ok(None),
        })
    }

    /// The account a domain was grouped into, if any.
    pub fn account_of(&self, domain: &str) -> Result<Option<String>, StoreError> {
        guard::guarded(|| Ok(self.accounts.get(domain)?.map(|v| v.value().to_string())))
    }
}

impl Store {
    /// Opens the database file (creating it only when `options.create` says so), checks the
    /// integrity of every page, and starts the writer thread.
    ///
    /// Fails with [`StoreError::Locked`] when another process has the file open, and with
    /// [`StoreError::Open`] when the file is missing (and may not be created), empty, not a
    /// store, or damaged: a damaged file must stop the start, not panic a lookup later. A
    /// file left by a killed process is repaired by redb on open; every commit acknowledged
    /// before the kill is kept.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        Store::open_replica(path, options, None)
    }

    /// Opens the store as a replica of a fleet's log: writes that change the list go through
    /// `sequencer` (see [`replica`]).
    pub fn open_replica(
        path: &Path,
        options: &StoreOptions,
        sequencer: Option<Box<dyn replica::Sequencer>>,
    ) -> Result<Store, StoreError> {
        let db = open_database(path, options)?;
        let db = Arc::new(db);
        writer::init_schema(&db, sequencer.is_some()).map_err(|e| match e {
            StoreError::Fleet(why) => StoreError::Fleet(format!("{}: {why}", path.display())),
            e => StoreError::Open {
                path: path.to_path_buf(),
                message: e.to_string(),
            },
        })?;
        let shared = Arc::new(Shared {
            db: std::sync::RwLock::new(Some(db)),
            writable: std::sync::atomic::AtomicBool::new(true),
            why: std::sync::Mutex::new(String::new()),
            path: path.to_path_buf(),
            options: StoreOptions {
                create: false,
                ..options.clone()
            },
            imports: std::sync::atomic::AtomicU64::new(1),
            additions: std::sync::atomic::AtomicU64::new(0),
            applied: std::sync::atomic::AtomicU64::new(0),
            queued: std::sync::atomic::AtomicU64::new(0),
            hashed: std::sync::atomic::AtomicBool::new(false),
            feed_salt: std::sync::RwLock::new(None),
            commits: std::sync::atomic::AtomicU64::new(0),
        });
        shared.count_queued();
        shared.find_hashed();
        shared.load_feed_salt()?;
        let records = Arc::new(writer::RecordQueue::default());
        let (jobs, handle) = writer::spawn(shared.clone(), records.clone(), sequencer)?;
        Ok(Store {
            shared,
            jobs,
            records,
            writer: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether the store can record what is decided now. A store that cannot write must not
    /// let mail through: the send record (or the add that would have blocked it) is lost.
    pub fn writable(&self) -> Result<(), StoreError> {
        if self.shared.is_writable() {
            Ok(())
        } else {
            Err(StoreError::Unwritable(self.shared.why()))
        }
    }

    /// Runs `f` in one read transaction; a panic inside redb becomes an error.
    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        guard::guarded(|| {
            let db = self.shared.db()?;
            let txn = db.begin_read()?;
            f(&txn)
        })
    }

    /// Looks up match keys and returns every entry found, with the index of its key. One
    /// short read transaction; no allocation unless an entry is found.
    pub fn find_all(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        let queued = self.shared.queued() > 0;
        self.read(|txn| {
            let table = txn.open_table(tables::SUPPRESSIONS)?;
            let mut found: Vec<(usize, Entry)> = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                if let Some(value) = table.get(*key)? {
                    found.push((i, tables::decode(value.value())?));
                }
            }
            // A fleet relay's adds made while the database was unreachable bind here at once.
            if queued {
                let pending = txn.open_table(tables::PENDING_ADDS)?;
                for (i, key) in keys.iter().enumerate() {
                    if let Some(value) = pending.get(*key)? {
                        let add: Entry = tables::decode(value.value())?;
                        // Merged with the entry in force, as the push will merge it: the
                        // stronger reason and the wider scope bind now, never the weaker.
                        match found.iter_mut().find(|(j, _)| *j == i) {
                            Some((_, entry)) => {
                                entry.absorb(add.reason, add.source, &add.evidence, &add.units)
                            }
                            None => found.push((i, add)),
                        }
                    }
                }
            }
            Ok(found)
        })
    }

    /// The entry stored under a target, if any.
    pub fn get(&self, target: &Target) -> Result<Option<Entry>, StoreError> {
        let key = target.match_key();
        Ok(self.find_all(&[key.as_str()])?.pop().map(|(_, e)| e))
    }

    /// The entry under `key` as it stood at `at`, rebuilt from the history: the add, any
    /// re-adds (stronger reason, wider scope), and a lift ending it.
    pub fn entry_at(&self, key: &str, at: Timestamp) -> Result<Option<Entry>, StoreError> {
        let mut entry: Option<Entry> = None;
        for event in self.events_by_key(key)? {
            // In log order; an add kept during a fleet's database outage joins the log after
            // events that happened later, so a later event does not end the walk.
            if event.at > at {
                continue;
            }
            match event.kind {
                EventKind::Readded {
                    reason,
                    source,
                    evidence,
                    units,
                    ..
                } if entry.is_some() => {
                    if let Some(e) = entry.as_mut() {
                        e.absorb(reason, source, &evidence, &units);
                    }
                }
                // A re-add with no entry before it: its first add is later in time (see
                // above), so the entry is in force from this one.
                EventKind::Suppressed {
                    target,
                    reason,
                    source,
                    evidence,
                    units,
                }
                | EventKind::Readded {
                    target,
                    reason,
                    source,
                    evidence,
                    units,
                } => {
                    entry = Some(Entry {
                        target,
                        reason,
                        source,
                        evidence,
                        actor: event.actor,
                        added_at: event.at,
                        event_id: event.id,
                        units,
                    })
                }
                EventKind::LiftApproved { .. } => entry = None,
                _ => {}
            }
        }
        Ok(entry)
    }

    /// A page of entries in key order, starting after `after` (exclusive).
    pub fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::SUPPRESSIONS)?;
            let mut out = Vec::with_capacity(limit.min(4096));
            let range = match after {
                Some(after) => table.range::<&str>((
                    std::ops::Bound::Excluded(after),
                    std::ops::Bound::Unbounded,
                ))?,
                None => table.iter()?,
            };
            for row in range.take(limit) {
                let (_, value) = row?;
                out.push(tables::decode(value.value())?);
            }
            Ok(out)
        })
    }

    /// The number of suppression entries.
    pub fn count(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        self.read(|txn| Ok(txn.open_table(tables::SUPPRESSIONS)?.len()?))
    }

    /// Every event about a target, oldest first.
    pub fn history(&self, target: &Target) -> Result<Vec<Event>, StoreError> {
        self.events_by_key(&target.match_key())
    }

    /// Every event indexed under a match key, oldest first.
    pub fn events_by_key(&self, key: &str) -> Result<Vec<Event>, StoreError> {
        self.read(|txn| {
            let index = txn.open_multimap_table(tables::EVENTS_BY_KEY)?;
            let events = txn.open_table(tables::EVENTS)?;
            let mut out = Vec::new();
            for id in index.get(key)? {
                let id = id?.value();
                if let Some(value) = events.get(id)? {
                    out.push(tables::decode(value.value())?);
                }
            }
            out.sort_by_key(|e: &Event| e.id);
            Ok(out)
        })
    }

    /// Events with ids in `from..`, oldest first, at most `limit`.
    pub fn events(&self, from: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.read(|txn| {
            let events = txn.open_table(tables::EVENTS)?;
            let mut out = Vec::new();
            for row in events.range(from..)?.take(limit) {
                let (_, value) = row?;
                out.push(tables::decode(value.value())?);
            }
            Ok(out)
        })
    }

    /// Every lift request, oldest first.
    pub fn lifts(&self) -> Result<Vec<Lift>, StoreError> {
        self.read(|txn| {
            let lifts = txn.open_table(tables::LIFTS)?;
            let mut out = Vec::new();
            for row in lifts.iter()? {
                let (_, value) = row?;
                out.push(tables::decode(value.value())?);
            }
            Ok(out)
        })
    }

    /// Every send record to the address with match key `key` (any `+tag` of it), relayed or
    /// refused, from `since` on, oldest first. Refusals come from the index; relayed records
    /// are found by scanning the time-ordered table from `since`, which costs about a second
    /// per million records.
    pub fn attempts_to(&self, key: &str, since: Timestamp) -> Result<Vec<Attempt>, StoreError> {
        let mut out: Vec<Attempt> = self
            .attempts_by_key(key)?
            .into_iter()
            .filter(|a| a.at >= since)
            .collect();
        self.for_each_attempt(since, |a| {
            if matches!(a.outcome, crate::model::AttemptOutcome::Relayed { .. })
                && rules::recipient_keys(&a.rcpt).iter().any(|k| k == key)
            {
                out.push(a);
            }
        })?;
        out.sort_by_key(|a| a.at);
        Ok(out)
    }

    /// Refused send records indexed under a match key (the recipient's, or the entry's that
    /// refused it), oldest first.
    pub fn attempts_by_key(&self, key: &str) -> Result<Vec<Attempt>, StoreError> {
        self.read(|txn| {
            let index = txn.open_multimap_table(tables::ATTEMPTS_BY_KEY)?;
            let attempts = txn.open_table(tables::ATTEMPTS)?;
            let mut out = Vec::new();
            for id in index.get(key)? {
                if let Some(value) = attempts.get(id?.value())? {
                    out.push(tables::decode(value.value())?);
                }
            }
            Ok(out)
        })
    }

    /// Calls `f` for every send record from `since` on, oldest first (one read transaction).
    pub fn for_each_attempt(
        &self,
        since: Timestamp,
        mut f: impl FnMut(Attempt),
    ) -> Result<(), StoreError> {
        self.read(|txn| {
            let attempts = txn.open_table(tables::ATTEMPTS)?;
            for row in attempts.range(rules::attempt_id(since, 0)..)? {
                let (_, value) = row?;
                f(tables::decode(value.value())?);
            }
            Ok(())
        })
    }

    /// The lock stored under a key (see [`contact_lock_key`], [`account_lock_key`]), expired
    /// or not.
    pub fn get_lock(&self, key: &str) -> Result<Option<Lock>, StoreError> {
        self.lock_view()?.lock(key)
    }

    /// One consistent snapshot of the locks and account groups. A RCPT reads its account and
    /// both of its locks through one view: one read transaction instead of one per key.
    pub fn lock_view(&self) -> Result<LockView, StoreError> {
        self.read(|txn| {
            Ok(LockView {
                locks: txn.open_table(tables::LOCKS)?,
                accounts: txn.open_table(tables::ACCOUNTS)?,
            })
        })
    }

    /// Every stored lock (expired ones included until pruned), in key order.
    pub fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        self.read(|txn| {
            let locks = txn.open_table(tables::LOCKS)?;
            let mut out = Vec::new();
            for row in locks.iter()? {
                out.push(tables::decode(row?.1.value())?);
            }
            Ok(out)
        })
    }

    /// The account a domain was grouped into, if any.
    pub fn account_of(&self, domain: &str) -> Result<Option<String>, StoreError> {
        self.lock_view()?.account_of(domain)
    }

    /// Reviews, decides, transfers or releases a lock.
    pub async fn update_lock(
        &self,
        key: String,
        op: LockOp,
        actor: Actor,
    ) -> Result<Result<Option<Lock>, Refusal>, StoreError> {
        match self.write(Work::LockUpdate { key, op, actor }).await? {
            Output::Lock(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    /// Removes expired locks; returns how many.
    pub async fn prune_locks(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            match self.write(Work::LockPrune { now }).await? {
                Output::Pruned(0) => return Ok(total),
                Output::Pruned(n) => total += n,
                _ => return Err(unexpected()),
            }
        }
    }

    /// Groups domains into one account for account locks.
    pub async fn group_account(
        &self,
        account: String,
        domains: Vec<String>,
        actor: Actor,
    ) -> Result<u64, StoreError> {
        match self
            .write(Work::GroupAccount {
                account,
                domains,
                actor,
            })
            .await?
        {
            Output::Event(id) => Ok(id),
            _ => Err(unexpected()),
        }
    }

    async fn write(&self, work: Work) -> Result<Output, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Write {
                work,
                reply: Some(reply),
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// A fleet relay: the last log entry applied to this replica.
    pub fn applied(&self) -> u64 {
        self.shared
            .applied
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The stored form of event `id` (for comparing a replica with the fleet's log).
    pub fn event_body(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|txn| {
            let events = txn.open_table(tables::EVENTS)?;
            Ok(events.get(id)?.map(|v| v.value().to_vec()))
        })
    }

    /// A fleet relay: adds kept during a database outage, not yet in the fleet's log.
    pub fn queued_adds(&self) -> u64 {
        self.shared.queued()
    }

    /// A fleet relay: applies entries of the fleet's log (those already applied are
    /// skipped); returns how many were new. Fails on a gap, leaving the replica unchanged.
    pub async fn replicate(&self, entries: Vec<replica::LogEntry>) -> Result<u64, StoreError> {
        match self.write(Work::Replicate(entries)).await? {
            Output::Replicated(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    /// A fleet relay: binds this replica to the log it reached, or refuses another fleet's.
    pub async fn bind_fleet(&self, log: u64) -> Result<(), StoreError> {
        self.write(Work::BindFleet(log)).await.map(|_| ())
    }

    /// A fleet relay: its own send records not yet copied to PostgreSQL, oldest first.
    pub fn to_ship(&self, limit: usize) -> Result<Vec<(u128, Vec<u8>)>, StoreError> {
        self.read(|txn| {
            let ship = txn.open_table(tables::SHIP)?;
            let mut out = Vec::new();
            for row in ship.iter()?.take(limit) {
                let (id, body) = row?;
                out.push((id.value(), body.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// A fleet relay: these send records are in PostgreSQL now.
    pub async fn shipped(&self, ids: Vec<u128>) -> Result<(), StoreError> {
        self.write(Work::Shipped(ids)).await.map(|_| ())
    }

    /// A fleet relay: the position of the last send record of other relays copied here.
    pub fn attempts_pulled(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let meta = txn.open_table(tables::META)?;
            Ok(meta
                .get(tables::ATTEMPTS_PULLED_KEY)?
                .map(|v| v.value())
                .unwrap_or(0))
        })
    }

    /// A fleet relay: keeps other relays' send records (encoded) up to log `position`.
    pub async fn pulled(
        &self,
        attempts: Vec<(u128, Vec<u8>)>,
        position: u64,
    ) -> Result<(), StoreError> {
        self.write(Work::Pulled { attempts, position })
            .await
            .map(|_| ())
    }

    /// Adds a suppression and returns once it is committed to disk.
    pub async fn add(&self, entry: NewEntry, actor: Actor) -> Result<AddOutcome, StoreError> {
        match self.write(Work::Add(entry, actor)).await? {
            Output::Added(outcome) => Ok(outcome),
            // Kept locally while the fleet's database is unreachable.
            Output::AddedMany(mut outcomes) if outcomes.len() == 1 => Ok(outcomes.remove(0)),
            _ => Err(unexpected()),
        }
    }

    /// Adds many suppressions in one transaction (all or nothing), returning the outcome of each.
    pub async fn add_many(
        &self,
        entries: Vec<NewEntry>,
        actor: Actor,
    ) -> Result<Vec<AddOutcome>, StoreError> {
        match self.write(Work::AddMany(entries, actor)).await? {
            Output::AddedMany(outcomes) => Ok(outcomes),
            _ => Err(unexpected()),
        }
    }

    /// Records a classified feedback message and makes its suppressions through the one add
    /// path, in one transaction; returns once it is committed to disk. The same message
    /// recorded again changes nothing.
    /// With `arrival`, the message leaves the feedback inbox in the same transaction.
    pub async fn record_feedback(
        &self,
        record: crate::model::feedback::Record,
        arrival: Option<u64>,
    ) -> Result<Recorded, StoreError> {
        self.record_feedback_and_forward(record, arrival, None)
            .await
    }

    /// [`Store::record_feedback`], and when the record is new, `forward` queued in the outbox
    /// with a `BounceForwarded` event, in the same transaction: forwarded once, never lost.
    pub async fn record_feedback_and_forward(
        &self,
        record: crate::model::feedback::Record,
        arrival: Option<u64>,
        forward: Option<crate::model::outbox::Forward>,
    ) -> Result<Recorded, StoreError> {
        let work = Work::Feedback {
            record: Box::new(record),
            arrival,
            forward: forward.map(Box::new),
        };
        match self.write(work).await? {
            Output::Feedback(recorded) => {
                if let Recorded::New(record, _) = &recorded {
                    crate::metrics::count_feedback(record);
                }
                Ok(recorded)
            }
            _ => Err(unexpected()),
        }
    }

    /// Keeps a message the feedback listener accepted in the feedback inbox; returns its
    /// arrival id once it is committed to disk.
    pub async fn accept_arrival(
        &self,
        arrival: crate::model::feedback::Arrival,
    ) -> Result<u64, StoreError> {
        match self.write(Work::Arrival(arrival)).await? {
            Output::Arrived(id) => Ok(id),
            _ => Err(unexpected()),
        }
    }

    /// The outbox message `id` was sent, or given up: it leaves the outbox (on disk when this
    /// returns, so that it is not sent again after a restart).
    pub async fn outgoing_sent(&self, id: u64) -> Result<(), StoreError> {
        self.write(Work::Sent(id)).await.map(|_| ())
    }

    /// The outbox message `id` waits until `next_try`; `error` is what this attempt met.
    pub async fn outgoing_retry(
        &self,
        id: u64,
        next_try: Timestamp,
        error: String,
    ) -> Result<(), StoreError> {
        let work = Work::Retry {
            id,
            next_try,
            error,
        };
        self.write(work).await.map(|_| ())
    }

    /// Keeps a return path handed out; its id (committed without fsync, like send records: a
    /// crash may lose the last second's, and their bounces are then read from their text).
    pub async fn keep_return_path(
        &self,
        rp: crate::model::feedback::ReturnPath,
    ) -> Result<u64, StoreError> {
        match self.write(Work::ReturnPath(Box::new(rp))).await? {
            Output::Arrived(id) => Ok(id),
            _ => Err(unexpected()),
        }
    }

    /// The return path `id`.
    pub fn return_path(
        &self,
        id: u64,
    ) -> Result<Option<crate::model::feedback::ReturnPath>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::RETURN_PATHS)?;
            let value = table.get(id)?;
            value.map(|v| tables::decode(v.value())).transpose()
        })
    }

    /// Where notifications stand, if they ever started.
    pub fn notify_state(&self) -> Result<Option<crate::model::outbox::NotifyState>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::NOTIFY)?;
            let value = table.get("state")?;
            value.map(|v| tables::decode(v.value())).transpose()
        })
    }

    /// Moves notifications on: `state` and the mails it makes, queued in the outbox, in one
    /// transaction (an event is told once, never twice, never not at all).
    pub async fn notify_step(
        &self,
        state: crate::model::outbox::NotifyState,
        mails: Vec<crate::model::outbox::Notification>,
    ) -> Result<(), StoreError> {
        let work = Work::NotifyStep {
            state: Box::new(state),
            mails,
        };
        self.write(work).await.map(|_| ())
    }

    /// Erases the contact with match key `key` (normalised address `address`): its records
    /// keep only `hashed`; its entry stays in force under it. The file is then compacted.
    pub async fn erase(
        &self,
        contacts: Vec<ErasedContact>,
        proof: String,
        salt: u64,
        actor: Actor,
        block: bool,
    ) -> Result<Result<Vec<Erased>, Refusal>, StoreError> {
        let work = Work::Erase {
            contacts,
            proof,
            salt,
            actor,
            block,
        };
        match self.write(work).await? {
            Output::Erased(e) => Ok(e),
            _ => Err(unexpected()),
        }
    }

    /// The fingerprint of the salt erased contacts were hashed with, if any were.
    pub fn salt_fingerprint(&self) -> Result<Option<u64>, StoreError> {
        self.read(|txn| {
            let meta = txn.open_table(tables::META)?;
            let value = meta.get(tables::SALT_KEY)?;
            Ok(value.map(|v| v.value()))
        })
    }

    /// Whether the list holds hashed entries (see [`Store::erase`]).
    pub fn has_hashed(&self) -> bool {
        self.shared
            .hashed
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records consents (each replacing an earlier one of its contact and purpose); returns
    /// them as stored, with their events.
    pub async fn give_consents(
        &self,
        consents: Vec<crate::model::consent::Consent>,
        actor: Actor,
    ) -> Result<Result<Vec<crate::model::consent::Consent>, Refusal>, StoreError> {
        match self.write(Work::GiveConsents(consents, actor)).await? {
            Output::Consents(c) => Ok(c),
            _ => Err(unexpected()),
        }
    }

    /// Withdraws the consent in force of the contact with match key `key` for `purpose`.
    pub async fn withdraw_consent(
        &self,
        key: &str,
        purpose: &str,
        why: String,
        actor: Actor,
    ) -> Result<Result<crate::model::consent::Consent, Refusal>, StoreError> {
        let work = Work::WithdrawConsent {
            key: key.to_string(),
            purpose: purpose.to_string(),
            why,
            actor,
        };
        match self.write(work).await? {
            Output::Consent(c) => Ok(c),
            _ => Err(unexpected()),
        }
    }

    /// The consent recorded for a contact (match key) and purpose, withdrawn or not.
    pub fn consent(
        &self,
        key: &str,
        purpose: &str,
    ) -> Result<Option<crate::model::consent::Consent>, StoreError> {
        let key = crate::model::consent::Consent::store_key(key, purpose);
        self.read(|txn| {
            let table = txn.open_table(tables::CONSENTS)?;
            let value = table.get(key.as_str())?;
            value.map(|v| tables::decode(v.value())).transpose()
        })
    }

    /// A contact's last interaction (a reply, a click, a consent...), by match key.
    pub fn last_interaction(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::INTERACTIONS)?;
            let value = table.get(key)?;
            Ok(value.map(|v| Timestamp(v.value())))
        })
    }

    /// Every consent recorded for a contact (match key), one per purpose.
    pub fn consents_of(
        &self,
        key: &str,
    ) -> Result<Vec<crate::model::consent::Consent>, StoreError> {
        let start = format!("{key}\u{0}");
        let end = format!("{key}\u{1}");
        self.read(|txn| {
            let table = txn.open_table(tables::CONSENTS)?;
            let mut out = Vec::new();
            for row in table.range(start.as_str()..end.as_str())? {
                let (_, value) = row?;
                out.push(tables::decode(value.value())?);
            }
            Ok(out)
        })
    }

    /// Consents in store-key order after `after`, at most `limit`.
    pub fn consents(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::model::consent::Consent>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::CONSENTS)?;
            let mut out = Vec::new();
            let rows = match after {
                Some(a) => table
                    .range::<&str>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))?,
                None => table.range::<&str>(..)?,
            };
            for row in rows {
                let (_, value) = row?;
                out.push(tables::decode(value.value())?);
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// Calls `f` with every consent, in key order, read a page at a time (no transaction is
    /// held across calls).
    pub fn for_each_consent<E: From<StoreError>>(
        &self,
        mut f: impl FnMut(crate::model::consent::Consent) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut after: Option<String> = None;
        loop {
            let page = self.consents(after.as_deref(), 5000)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(crate::model::consent::Consent::store_key(
                &last.key,
                &last.purpose,
            ));
            page.into_iter().try_for_each(&mut f)?;
        }
    }

    /// Where alerting stands, if it ever started.
    pub fn alert_state(&self) -> Result<Option<crate::model::alert::AlertState>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::ALERT_STATE)?;
            let value = table.get("state")?;
            value.map(|v| tables::decode(v.value())).transpose()
        })
    }

    /// Moves alerting on: its state, the alerts raised (ids given here) and their mails, in
    /// one transaction (an alert is raised once, not lost, not twice).
    pub async fn alert_step(
        &self,
        state: crate::model::alert::AlertState,
        alerts: Vec<crate::model::alert::Alert>,
        mails: Vec<crate::model::outbox::Outgoing>,
    ) -> Result<(), StoreError> {
        let work = Work::AlertStep {
            state: Box::new(state),
            alerts,
            mails,
        };
        self.write(work).await.map(|_| ())
    }

    /// Records where an alert's webhook delivery stands.
    pub async fn alert_delivery(
        &self,
        id: u64,
        delivery: crate::model::alert::Delivery,
    ) -> Result<(), StoreError> {
        self.write(Work::AlertDelivery { id, delivery })
            .await
            .map(|_| ())
    }

    /// The alerts, newest first, at most `limit`, with ids below `before` (all: `u64::MAX`).
    pub fn alerts(
        &self,
        before: u64,
        limit: usize,
    ) -> Result<Vec<crate::model::alert::Alert>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::ALERTS)?;
            let mut out = Vec::new();
            for row in table.range(..before)?.rev() {
                let (_, value) = row?;
                out.push(tables::decode(value.value())?);
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// The id of the first history event at or after `since` (ids follow time: a binary
    /// search); past the last event when there is none.
    pub fn first_event_since(&self, since: Timestamp) -> Result<u64, StoreError> {
        let (mut lo, mut hi) = (1u64, self.last_event()?.saturating_add(1));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.events(mid, 1)?.first() {
                Some(e) if e.at < since => lo = e.id + 1,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// The id of the last history event (0 when there is none).
    pub fn last_event(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let events = txn.open_table(tables::EVENTS)?;
            let last = events.last()?.map(|(k, _)| k.value()).unwrap_or(0);
            Ok(last)
        })
    }

    /// Every message in the outbox, oldest first.
    pub fn outgoing(&self) -> Result<Vec<(u64, crate::model::outbox::Outgoing)>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::OUTBOX)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (id, value) = row?;
                out.push((id.value(), tables::decode(value.value())?));
            }
            Ok(out)
        })
    }

    /// How many messages wait in the feedback inbox.
    pub fn arrivals_waiting(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            use redb::ReadableTableMetadata as _;
            let table = txn.open_table(tables::FEEDBACK_INBOX)?;
            Ok(table.len()?)
        })
    }

    /// The messages waiting in the feedback inbox, oldest first, at most `limit`.
    pub fn arrivals(
        &self,
        limit: usize,
    ) -> Result<Vec<(u64, crate::model::feedback::Arrival)>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::FEEDBACK_INBOX)?;
            let mut out = Vec::new();
            for row in table.iter()?.take(limit) {
                let (id, value) = row?;
                out.push((id.value(), tables::decode(value.value())?));
            }
            Ok(out)
        })
    }

    /// Confirms (suppresses, scoped to `units`) or dismisses the pending reviews of feedback
    /// record `id`.
    pub async fn review_feedback(
        &self,
        id: u64,
        confirm: bool,
        why: String,
        units: crate::model::Units,
        actor: Actor,
    ) -> Result<Result<crate::model::feedback::Record, Refusal>, StoreError> {
        let work = Work::FeedbackReview {
            id,
            confirm,
            why,
            units,
            actor,
        };
        match self.write(work).await? {
            Output::FeedbackReviewed(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    /// Feedback record `id`.
    pub fn feedback(&self, id: u64) -> Result<Option<crate::model::feedback::Record>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::FEEDBACK)?;
            let value = table.get(id)?;
            value.map(|v| tables::decode(v.value())).transpose()
        })
    }

    /// Feedback records after id `after`, oldest first, at most `limit`; with `pending`,
    /// only those with a review waiting.
    pub fn feedback_records(
        &self,
        after: u64,
        limit: usize,
        pending: bool,
    ) -> Result<Vec<crate::model::feedback::Record>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::FEEDBACK)?;
            let mut out = Vec::new();
            for row in table.range(after.saturating_add(1)..)? {
                let (_, value) = row?;
                let record: crate::model::feedback::Record = tables::decode(value.value())?;
                if !pending || record.is_pending() {
                    out.push(record);
                }
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// Opens a lift request for the entry stored under `target`.
    pub async fn request_lift(
        &self,
        target: Target,
        proof: String,
        actor: Actor,
    ) -> Result<Result<Lift, Refusal>, StoreError> {
        match self
            .write(Work::LiftRequest {
                target,
                proof,
                actor,
            })
            .await?
        {
            Output::Lift(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    /// Approves (removing the entry) or denies a pending lift request.
    pub async fn decide_lift(
        &self,
        id: u64,
        approve: bool,
        why: Option<String>,
        actor: Actor,
    ) -> Result<Result<Lift, Refusal>, StoreError> {
        match self
            .write(Work::LiftDecide {
                id,
                approve,
                why,
                actor,
            })
            .await?
        {
            Output::Lift(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    /// How many commits have added entries so far. A transaction notes it at RCPT; if it has
    /// changed by the end of DATA, an opt-out may have arrived in between, and the recipients
    /// are checked again before the message goes out.
    pub fn additions(&self) -> u64 {
        self.shared
            .additions
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// How many commits the writer made since the store was opened (cheap: an atomic).
    pub fn commits(&self) -> u64 {
        self.shared
            .commits
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// A new import id (unique while the relay runs; staging tables do not outlive it).
    pub fn new_import(&self) -> u64 {
        self.shared
            .imports
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets rows of import `import` aside; nothing is in force until [`Store::finish_import`].
    pub async fn stage_import(
        &self,
        import: u64,
        entries: Vec<NewEntry>,
    ) -> Result<(), StoreError> {
        self.write(Work::StageImport { import, entries })
            .await
            .map(|_| ())
    }

    /// Adds every staged row of `import` and its `imported` event in one transaction (all or
    /// nothing), and returns once it is on disk. Memory stays bounded whatever the size: the
    /// rows are read back from the store in key order.
    pub async fn finish_import(
        &self,
        import: u64,
        summary: ImportSummary,
        actor: Actor,
    ) -> Result<ImportCounts, StoreError> {
        match self
            .write(Work::FinishImport {
                import,
                summary,
                actor,
            })
            .await?
        {
            Output::Imported(counts) => Ok(counts),
            _ => Err(unexpected()),
        }
    }

    /// Forgets the staged rows of an import that will not be committed.
    pub async fn abort_import(&self, import: u64) -> Result<(), StoreError> {
        self.write(Work::AbortImport { import }).await.map(|_| ())
    }

    /// Appends an event not about one target (a scrub, an import summary).
    pub async fn record_event(&self, kind: EventKind, actor: Actor) -> Result<u64, StoreError> {
        match self.write(Work::Event(kind, actor)).await? {
            Output::Event(id) => Ok(id),
            _ => Err(unexpected()),
        }
    }

    /// Queues send records; they are committed with the next batch (group commit). Waits only
    /// when the writer is far behind.
    pub async fn record_attempts(&self, attempts: Vec<Attempt>) -> Result<(), StoreError> {
        self.record_relayed(attempts, Vec::new(), Vec::new()).await
    }

    /// Queues what a relayed message leaves behind: its send records and the locks its owner
    /// takes or renews (`(key, lock)` from [`Claim::to_store`]). They are
    /// committed like send records (group commit without fsync, see the writer), so a lock
    /// costs no fsync on the per-message path. The claims are dropped only once that
    /// commit is done or has failed: until then the claims keep other owners out, and after
    /// it the stored locks do.
    pub async fn record_relayed(
        &self,
        attempts: Vec<Attempt>,
        locks: Vec<(String, Lock)>,
        claims: Vec<Claim>,
    ) -> Result<(), StoreError> {
        let work = Work::Records {
            attempts,
            locks,
            claims,
        };
        match self.records.push(work) {
            writer::Pushed::Behind => Ok(()),
            writer::Pushed::First => match self.jobs.try_send(Job::RecordsQueued) {
                // A full queue means the writer is busy and looks at the records next.
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => Err(StoreError::Closed),
            },
            writer::Pushed::Full(work) => self
                .jobs
                .send(Job::Write { work, reply: None })
                .await
                .map_err(|_| StoreError::Closed),
        }
    }

    /// Commits send records and waits for the commit (tests and audits that must see them).
    pub async fn record_attempts_synced(&self, attempts: Vec<Attempt>) -> Result<(), StoreError> {
        self.write(Work::Records {
            attempts,
            locks: Vec::new(),
            claims: Vec::new(),
        })
        .await
        .map(|_| ())
    }

    /// Waits until everything queued before it (send records, locks) is committed and synced.
    pub async fn settle(&self) -> Result<(), StoreError> {
        self.write(Work::Barrier).await.map(|_| ())
    }

    /// Deletes send records older than `before`, in bounded batches; returns how many.
    pub async fn prune_attempts(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            match self.write(Work::Prune { before }).await? {
                Output::Pruned(0) => return Ok(total),
                Output::Pruned(n) => total += n,
                _ => return Err(unexpected()),
            }
        }
    }

    /// Counters of the writer (batches, jobs), for tests and benchmarks.
    pub async fn writer_stats(&self) -> Result<WriterStats, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Stats { reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    /// Stops the writer after the jobs already queued and closes the database cleanly.
    ///
    /// Call it after every other user of the store has finished: later adds through other
    /// clones fail with [`StoreError::Closed`], and the file is closed when the last clone drops.
    pub async fn close(self) -> Result<(), StoreError> {
        let Store {
            shared,
            jobs,
            writer,
            ..
        } = self;
        let (reply, rx) = oneshot::channel();
        if jobs.send(Job::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
        drop(jobs);
        let handle = writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                return Err(StoreError::Io("the store writer panicked".into()));
            }
        }
        let Some(mut db) = shared.replace(None) else {
            return Ok(());
        };
        // Another clone still alive (a task being cancelled) keeps the file open and locked;
        // give it a moment to go, so a restart right after can open the store.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match Arc::try_unwrap(db) {
                Ok(db) => return db.close().map_err(|e| StoreError::Io(e.to_string())),
                Err(shared) if std::time::Instant::now() < deadline => {
                    db = shared;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(_) => {
                    tracing::warn!(
                        "the store is still in use at shutdown; it closes when its last user ends"
                    );
                    return Ok(());
                }
            }
        }
    }
}

/// Opens (or creates) the redb file with every page checked.
pub(super) fn open_database(path: &Path, options: &StoreOptions) -> Result<Database, StoreError> {
    let fail = |message: String| StoreError::Open {
        path: path.to_path_buf(),
        message,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if options.create {
            crate::datadir::create_private_dir(parent).map_err(|e| fail(e.to_string()))?;
        }
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() == 0 && !options.create => {
            return Err(fail("the file is empty (0 bytes)".into()))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && options.create => {
            crate::datadir::create_private_file(path).map_err(|e| fail(e.to_string()))?;
        }
        Err(e) => return Err(fail(e.to_string())),
    }
    let mut builder = Database::builder();
    builder
        .set_cache_size(options.cache_size)
        .set_check_integrity_on_open(true);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let backend = redb::backends::FileBackend::new(file).map_err(|e| fail(e.to_string()))?;
    let opened = match &options.fault {
        None => builder.create_with_backend(backend),
        Some(fault) => builder.create_with_backend(fault::FaultyFile {
            inner: backend,
            fault: fault.clone(),
        }),
    };
    opened.map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.to_path_buf()),
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => fail(format!(
            "the file is damaged ({detail}); restore it from a backup"
        )),
        other => fail(other.to_string()),
    })
}

fn unexpected() -> StoreError {
    StoreError::Io("the store writer answered a different request".into())
}

/// The store key of a lock: `c:` and a contact's match key, or `a:` and an account. Built and
/// read here only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockKey(String);

const CONTACT_PREFIX: &str = "c:";
const ACCOUNT_PREFIX: &str = "a:";

impl LockKey {
    /// The contact's match key, for a contact lock.
    pub fn contact(&self) -> Option<&str> {
        self.0.strip_prefix(CONTACT_PREFIX)
    }

    /// The account, for an account lock.
    pub fn account(&self) -> Option<&str> {
        self.0.strip_prefix(ACCOUNT_PREFIX)
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for LockKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<LockKey> for String {
    fn from(key: LockKey) -> String {
        key.0
    }
}

/// The store key of a contact lock.
pub fn contact_lock_key(match_key: &str) -> LockKey {
    LockKey(format!("{CONTACT_PREFIX}{match_key}"))
}

/// The store key of an account lock.
pub fn account_lock_key(account: &str) -> LockKey {
    LockKey(format!("{ACCOUNT_PREFIX}{account}"))
}
