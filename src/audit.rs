//! The decision log: one JSON object per line, one line per RCPT decision and per recipient
//! of a finished transaction. It is the reject log that ops read with `tail -f` and `jq`.
//!
//! Records are typed ([`DecisionRecord`]); tests read them back as the same type. A dedicated
//! thread serializes and writes them so sessions never block on the file; each burst is
//! flushed to the OS, so a kill -9 of the relay loses no line already handed over.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::model::Timestamp;

/// What happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// RCPT accepted (policy and upstream both said yes).
    Accept,
    /// RCPT refused for good (on the list, or the upstream's 5xx).
    Reject,
    /// RCPT refused for now (4xx: policy or upstream unavailable, limits).
    Defer,
    /// The message was accepted by the upstream for this recipient.
    Relayed,
    /// The message was not accepted by the upstream for this recipient.
    Failed,
}

/// One line of the decision log. Every field is always present (`null` when not known), so
/// the schema is the same for every line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// When, RFC 3339 UTC.
    pub ts: Timestamp,
    /// The SMTP session id (also in the operational log).
    pub session: String,
    /// The client's address and port.
    pub client: String,
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The envelope sender as sent (empty for the null sender).
    pub from: String,
    /// The recipient as sent.
    pub rcpt: String,
    /// What happened.
    pub decision: Decision,
    /// The reply code the client got for this recipient.
    pub code: u16,
    /// The enhanced status code the client got, if any.
    pub status: Option<String>,
    /// Why: the entry's reason (`unsubscribe`, `hard-bounce`, ...), or `upstream`,
    /// `policy-unavailable`, `upstream-unavailable`, `too-many-recipients`.
    pub reason: Option<String>,
    /// The matching rule for a list hit (`address`, `plus-tag`, `gmail-dots`, `domain`,
    /// `parent-domain`).
    pub rule: Option<String>,
    /// The list entry that matched (`alice@example.com`, `@example.com`).
    pub target: Option<String>,
    /// The Message-ID header of the message, for relayed and failed lines.
    pub message_id: Option<String>,
    /// The upstream's reply or failure, when the upstream was involved.
    pub upstream: Option<String>,
    /// The sender group whose exemption let a listed recipient through (`billing:
    /// unsubscribe alice@example.com`), when one did.
    pub exemption: Option<String>,
    /// Another owner's lock that refused the recipient, or that it was warned about.
    pub lock: Option<String>,
}

enum Msg {
    Record(Box<DecisionRecord>),
    Close(oneshot::Sender<()>),
}

/// Handle to the decision log writer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DecisionLog {
    tx: mpsc::Sender<Msg>,
    path: PathBuf,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl DecisionLog {
    /// Opens (appending) the log file, creating it (0600) and its directory (0700), and starts
    /// the writer thread.
    pub fn open(path: &Path) -> std::io::Result<DecisionLog> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(crate::datadir::DIR_MODE)
                .create(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(crate::datadir::FILE_MODE)
            .open(path)?;
        let (tx, rx) = mpsc::channel(8192);
        let shown = path.to_path_buf();
        std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_loop(BufWriter::with_capacity(64 * 1024, file), rx, &shown))?;
        Ok(DecisionLog {
            tx,
            path: path.to_path_buf(),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a record. Waits only when the writer is 8192 records behind.
    pub async fn record(&self, record: DecisionRecord) {
        let _ = self.tx.send(Msg::Record(Box::new(record))).await;
    }

    /// Writes what is queued, flushes and stops the writer.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

fn write_loop(mut out: BufWriter<std::fs::File>, mut rx: mpsc::Receiver<Msg>, path: &Path) {
    let mut failures: u64 = 0;
    let mut line = Vec::with_capacity(512);
    while let Some(msg) = rx.blocking_recv() {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(record) => {
                    line.clear();
                    if serde_json::to_writer(&mut line, &record).is_ok() {
                        line.push(b'\n');
                        if let Err(e) = out.write_all(&line) {
                            failures += 1;
                            if failures.is_power_of_two() {
                                tracing::error!(path = %path.display(), error = %e, failures, "cannot write the decision log");
                            }
                        }
                    }
                }
                Msg::Close(done) => {
                    let _ = out.flush();
                    rx.close();
                    let _ = done.send(());
                    return;
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush() {
            tracing::error!(path = %path.display(), error = %e, "cannot flush the decision log");
        }
        // Let records gather instead of waking this thread for every one of them: under load
        // each wake-up is a futex call and a context switch on the sessions' hot path.
        std::thread::sleep(GATHER);
    }
    let _ = out.flush();
}

/// How long the writer lets records gather after each burst; bounds how late a line appears.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);
