//! The redb store: suppression entries and their append-only history.
//!
//! Reads are inline and short (one read transaction per lookup or page). Every write goes
//! through one writer thread ([`writer`]) that commits batches with an fsync each, so an
//! acknowledged change is durable and visible to the very next read. Nothing here knows SMTP.

mod tables;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};
use tokio::sync::{mpsc, oneshot};

use crate::address::Target;
use crate::model::{Actor, Entry, Event, Reason, Source};

pub use writer::WriterStats;

/// A failure of the store. Every one of these makes the relay fail closed (451 at RCPT).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database file.
    #[error("the store {0} is in use by another process")]
    Locked(PathBuf),
    /// The file could not be opened or created.
    #[error("cannot open the store {path}: {message}")]
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
}

/// What an add did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new entry was created.
    Added(Entry),
    /// The target was already suppressed: the entry is unchanged and the new evidence was
    /// recorded as a `readded` event with this id.
    AlreadySuppressed {
        /// The entry in force, unchanged.
        entry: Entry,
        /// The id of the event that recorded this add.
        event_id: u64,
    },
}

/// The suppression list and its history. Cheap to clone; all clones share one database and
/// one writer.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    jobs: mpsc::Sender<writer::Job>,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
    path: PathBuf,
}

/// Settings for opening the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// redb page cache, in bytes.
    pub cache_size: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_size: 64 * 1024 * 1024,
        }
    }
}

impl Store {
    /// Opens (or creates) the database file and starts the writer thread.
    ///
    /// Fails with [`StoreError::Locked`] when another process has the file open. A file left by
    /// a killed process is repaired by redb on open; every commit acknowledged before the kill
    /// is kept.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                message: format!("cannot create {}: {e}", parent.display()),
            })?;
        }
        let db = Database::builder()
            .set_cache_size(options.cache_size)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.to_path_buf()),
                other => StoreError::Open {
                    path: path.to_path_buf(),
                    message: other.to_string(),
                },
            })?;
        let db = Arc::new(db);
        writer::init_schema(&db).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let (jobs, handle) = writer::spawn(db.clone())?;
        Ok(Store {
            db,
            jobs,
            writer: Arc::new(std::sync::Mutex::new(Some(handle))),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Looks up match keys in order and returns the first entry found, with the index of the
    /// key that found it. One short read transaction; no allocation unless an entry is found.
    pub fn find_first(&self, keys: &[&str]) -> Result<Option<(usize, Entry)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::SUPPRESSIONS)?;
        for (i, key) in keys.iter().enumerate() {
            if let Some(value) = table.get(*key)? {
                return Ok(Some((i, tables::decode(value.value())?)));
            }
        }
        Ok(None)
    }

    /// The entry stored under a target, if any.
    pub fn get(&self, target: &Target) -> Result<Option<Entry>, StoreError> {
        let key = target.match_key();
        Ok(self.find_first(&[key.as_str()])?.map(|(_, e)| e))
    }

    /// A page of entries in key order, starting after `after` (exclusive).
    pub fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::SUPPRESSIONS)?;
        let mut out = Vec::with_capacity(limit.min(4096));
        let range = match after {
            Some(after) => table
                .range::<&str>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))?,
            None => table.iter()?,
        };
        for row in range.take(limit) {
            let (_, value) = row?;
            out.push(tables::decode(value.value())?);
        }
        Ok(out)
    }

    /// The number of suppression entries.
    pub fn count(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(tables::SUPPRESSIONS)?.len()?)
    }

    /// Every event about a target, oldest first.
    pub fn history(&self, target: &Target) -> Result<Vec<Event>, StoreError> {
        let key = target.match_key();
        let txn = self.db.begin_read()?;
        let index = txn.open_multimap_table(tables::EVENTS_BY_KEY)?;
        let events = txn.open_table(tables::EVENTS)?;
        let mut out = Vec::new();
        for id in index.get(key.as_str())? {
            let id = id?.value();
            if let Some(value) = events.get(id)? {
                out.push(tables::decode(value.value())?);
            }
        }
        out.sort_by_key(|e: &Event| e.id);
        Ok(out)
    }

    /// Adds a suppression and returns once it is committed to disk.
    pub async fn add(&self, entry: NewEntry, actor: Actor) -> Result<AddOutcome, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(writer::Job::Add {
                entry,
                actor,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Adds many suppressions in one transaction (all or nothing), returning the outcome of each.
    pub async fn add_many(
        &self,
        entries: Vec<NewEntry>,
        actor: Actor,
    ) -> Result<Vec<AddOutcome>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(writer::Job::AddMany {
                entries,
                actor,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Counters of the writer (batches, jobs), for tests and benchmarks.
    pub async fn writer_stats(&self) -> Result<WriterStats, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(writer::Job::Stats { reply })
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
            db, jobs, writer, ..
        } = self;
        let (reply, rx) = oneshot::channel();
        if jobs.send(writer::Job::Shutdown { reply }).await.is_ok() {
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
        match Arc::try_unwrap(db) {
            Ok(db) => db.close().map_err(|e| StoreError::Io(e.to_string())),
            Err(_) => Ok(()),
        }
    }
}
