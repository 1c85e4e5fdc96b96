//! The decision log: one JSON object per line, one line per RCPT decision and per recipient
//! of a finished transaction. It is the reject log that ops read with `tail -f` and `jq`.
//!
//! Records are typed ([`DecisionRecord`]); tests read them back as the same type. A dedicated
//! thread serializes and writes them so sessions never block on the file; each burst is
//! flushed to the OS, so a kill -9 of the relay loses no line already handed over.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::model::{by_name, LockKind, Reason, Rule, Timestamp};

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

/// Why a recipient got its decision: the list entry's reason, or what else decided it.
/// Written as one kebab-case word (`unsubscribe`, `locked`, `upstream`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// On the list, for this reason.
    Listed(Reason),
    /// Another owner's lock refused it.
    Locked,
    /// The upstream refused it (or the message).
    Upstream,
    /// The upstream could not be reached or failed mid-transaction.
    UpstreamUnavailable,
    /// The policy (the store) could not decide.
    PolicyUnavailable,
    /// The transaction has as many recipients as it may.
    TooManyRecipients,
    /// It was put on the list while the transaction was open (checked again at end of DATA).
    ListedDuringTransaction,
    /// The message was larger than the limit.
    MessageTooLarge,
    /// The message could not be spooled.
    SpoolUnavailable,
    /// The address is not one a mail system accepts.
    BadAddress,
    /// A non-ASCII address without SMTPUTF8.
    NeedsSmtputf8,
    /// An RCPT parameter the relay does not support.
    BadParameter,
    /// The sender's purpose needs the recipient's consent, and none is in force.
    NoConsent,
}

/// The causes that are not list reasons, with their names.
const CAUSES: &[(Why, &str)] = &[
    (Why::Locked, "locked"),
    (Why::Upstream, "upstream"),
    (Why::UpstreamUnavailable, "upstream-unavailable"),
    (Why::PolicyUnavailable, "policy-unavailable"),
    (Why::TooManyRecipients, "too-many-recipients"),
    (Why::ListedDuringTransaction, "listed-during-transaction"),
    (Why::MessageTooLarge, "message-too-large"),
    (Why::SpoolUnavailable, "spool-unavailable"),
    (Why::BadAddress, "bad-address"),
    (Why::NeedsSmtputf8, "needs-smtputf8"),
    (Why::BadParameter, "bad-parameter"),
    (Why::NoConsent, "no-consent"),
];

impl Why {
    /// The name written to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Listed(reason) => reason.as_str(),
            other => CAUSES
                .iter()
                .find(|(why, _)| *why == other)
                .map_or("", |(_, name)| name),
        }
    }
}

impl std::str::FromStr for Why {
    type Err = String;
    fn from_str(s: &str) -> Result<Why, String> {
        match CAUSES.iter().find(|(_, name)| *name == s) {
            Some((why, _)) => Ok(*why),
            None => s.parse::<Reason>().map(Why::Listed),
        }
    }
}

/// The rule that refused a recipient: the list's matching rule, or the kind of lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionRule {
    /// A list entry matched by this rule (`address`, `plus-tag`, ...).
    List(Rule),
    /// Another owner's lock of this kind (`contact-lock`, `account-lock`).
    Lock(LockKind),
}

impl DecisionRule {
    /// The name written to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionRule::List(rule) => rule.as_str(),
            DecisionRule::Lock(LockKind::Contact) => "contact-lock",
            DecisionRule::Lock(LockKind::Account) => "account-lock",
        }
    }
}

impl std::str::FromStr for DecisionRule {
    type Err = String;
    fn from_str(s: &str) -> Result<DecisionRule, String> {
        Ok(match s {
            "contact-lock" => DecisionRule::Lock(LockKind::Contact),
            "account-lock" => DecisionRule::Lock(LockKind::Account),
            _ => DecisionRule::List(s.parse()?),
        })
    }
}

by_name!(Why, DecisionRule);

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
    /// Why: the entry's reason (`unsubscribe`, `hard-bounce`, ...), or another cause
    /// (`locked`, `upstream`, `policy-unavailable`, ...; see [`Why`]).
    pub reason: Option<Why>,
    /// The matching rule for a list hit (`address`, `plus-tag`, `gmail-dots`, `domain`,
    /// `parent-domain`), or the lock that refused it (`contact-lock`, `account-lock`).
    pub rule: Option<DecisionRule>,
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
    /// What the relay did to the message's headers (`list-unsubscribe added`, or kept when
    /// the message had one), on relayed and failed lines of marked sender groups.
    #[serde(default)]
    pub marked: Option<String>,
    /// The sender's group (from `[[sender_groups]]`), when it belongs to one.
    #[serde(default)]
    pub group: Option<String>,
}

enum Msg {
    Record(Box<DecisionRecord>),
    Close(oneshot::Sender<()>),
    /// Rewrites the lines about a contact (its match key) with its hashed key (an erasure).
    Redact {
        keys: std::collections::HashMap<String, String>,
        done: oneshot::Sender<Result<u64, String>>,
    },
}

/// Handle to the decision log writer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DecisionLog {
    tx: mpsc::Sender<Msg>,
    path: PathBuf,
    /// Whether the last write went through; the relay decides nothing while it does not.
    writable: Arc<AtomicBool>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl DecisionLog {
    /// Opens (appending) the log file, creating it (0600) and its directory (0700), and starts
    /// the writer thread. A line left half-written by a crash is cut off first, so every line
    /// of the file stays one JSON object.
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
            .read(true)
            .append(true)
            .mode(crate::datadir::FILE_MODE)
            .open(path)?;
        let good_len = cut_torn_line(&file)?;
        let (tx, rx) = mpsc::channel(8192);
        let writable = Arc::new(AtomicBool::new(true));
        let writer = Writer {
            file,
            good_len,
            buf: Vec::with_capacity(64 * 1024),
            writable: writable.clone(),
            path: path.to_path_buf(),
            dropped: 0,
        };
        std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || writer.run(rx))?;
        Ok(DecisionLog {
            tx,
            path: path.to_path_buf(),
            writable,
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the log can be written now. A decision that cannot be recorded is not made:
    /// while this is false, new recipients get `451 4.3.0`.
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
    }

    /// Queues a record. Waits only when the writer is 8192 records behind.
    pub async fn record(&self, record: DecisionRecord) {
        let _ = self.tx.send(Msg::Record(Box::new(record))).await;
    }

    /// Rewrites every line about the contacts (match key -> hashed key; their recipient in
    /// any spelling, or the entry that matched) with the hashed key in place of the address
    /// (an erasure). Returns the number of lines rewritten.
    pub async fn redact(
        &self,
        keys: std::collections::HashMap<String, String>,
    ) -> Result<u64, String> {
        let (done, wait) = oneshot::channel();
        let msg = Msg::Redact { keys, done };
        if self.tx.send(msg).await.is_err() {
            return Err("the decision log is closed".into());
        }
        wait.await
            .unwrap_or_else(|_| Err("the decision log writer stopped".into()))
    }

    /// Writes what is queued, flushes and stops the writer.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The match keys of a recipient as sent: the address's, and without its `+tag`.
fn recipient_key(rcpt: &str) -> Option<Vec<String>> {
    let crate::address::Target::Address(addr) = crate::address::Target::parse(rcpt).ok()? else {
        return None;
    };
    let mut keys = vec![crate::address::Target::Address(addr.clone()).match_key()];
    if let Some(base) = addr.untagged_local(Some('+')) {
        let mut key = String::new();
        addr.push_match_key(base, &mut key);
        keys.push(key);
    }
    Some(keys)
}

/// Truncates the file after its last complete line; returns its length.
fn cut_torn_line(file: &std::fs::File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let tail_len = len.min(1 << 20);
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact_at(&mut tail, len - tail_len)?;
    if tail.last() == Some(&b'\n') {
        return Ok(len);
    }
    let keep = match memchr::memrchr(b'\n', &tail) {
        Some(i) => len - tail_len + i as u64 + 1,
        None if tail_len == len => 0,
        None => return Ok(len),
    };
    tracing::warn!(
        cut = len - keep,
        "the decision log ended in a half-written line; it was cut off"
    );
    file.set_len(keep)?;
    Ok(keep)
}

/// Bytes of lines kept in memory while the file cannot be written, at most (then the oldest
/// lines go, and are counted).
const MAX_PENDING: usize = 16 * 1024 * 1024;

/// How long to wait before writing again after a failure.
const RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// The writer thread's state.
struct Writer {
    file: std::fs::File,
    /// The file's length after the last complete write: a failed write is cut back to it.
    good_len: u64,
    /// Lines not yet written.
    buf: Vec<u8>,
    writable: Arc<AtomicBool>,
    path: PathBuf,
    /// Lines dropped because the file could not be written for too long.
    dropped: u64,
}

impl Writer {
    /// See [`DecisionLog::redact`]: the file is rewritten beside itself and renamed over.
    fn redact(&mut self, keys: &std::collections::HashMap<String, String>) -> Result<u64, String> {
        let tmp = self.path.with_extension("jsonl.redact");
        let written = self.rewrite(&tmp, keys);
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    fn rewrite(
        &mut self,
        tmp: &Path,
        keys: &std::collections::HashMap<String, String>,
    ) -> Result<u64, String> {
        use std::io::BufRead;
        use std::os::unix::fs::OpenOptionsExt;
        let fail = |e: std::io::Error| format!("{}: {e}", self.path.display());
        let mut out = std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(crate::datadir::FILE_MODE)
                .open(tmp)
                .map_err(fail)?,
        );
        let reader = std::io::BufReader::new(std::fs::File::open(&self.path).map_err(fail)?);
        let mut n = 0u64;
        for line in reader.lines() {
            let line = line.map_err(fail)?;
            let mut record: Option<DecisionRecord> = serde_json::from_str(&line).ok();
            let hashed = record.as_ref().and_then(|r| {
                r.target
                    .as_deref()
                    .and_then(|t| keys.get(t))
                    .or_else(|| recipient_key(&r.rcpt)?.iter().find_map(|k| keys.get(k)))
                    .cloned()
            });
            match (record.as_mut(), hashed) {
                (Some(r), Some(hashed)) => {
                    r.rcpt = hashed.clone();
                    // The entry that matched is its own only when it was the contact's (not
                    // its domain's); the free text that may quote it goes.
                    if r.target.as_deref().is_some_and(|t| keys.contains_key(t)) {
                        r.target = Some(hashed);
                    }
                    r.upstream = None;
                    r.exemption = None;
                    r.lock = None;
                    serde_json::to_writer(&mut out, r).map_err(|e| e.to_string())?;
                    n += 1;
                }
                _ => out.write_all(line.as_bytes()).map_err(fail)?,
            }
            out.write_all(b"\n").map_err(fail)?;
        }
        let file = out.into_inner().map_err(|e| e.to_string())?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(tmp, &self.path).map_err(fail)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .mode(crate::datadir::FILE_MODE)
            .open(&self.path)
            .map_err(fail)?;
        self.good_len = self.file.metadata().map_err(fail)?.len();
        Ok(n)
    }

    fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        loop {
            // Wait for lines; while some wait to be written again, only look.
            let mut next = if self.buf.is_empty() {
                match rx.blocking_recv() {
                    Some(msg) => Some(msg),
                    None => break,
                }
            } else {
                rx.try_recv().ok()
            };
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Record(record) => self.push(&record),
                    Msg::Close(done) => {
                        self.write();
                        rx.close();
                        let _ = done.send(());
                        return;
                    }
                    Msg::Redact { keys, done } => {
                        self.write();
                        let _ = done.send(self.redact(&keys));
                    }
                }
                next = rx.try_recv().ok();
            }
            if !self.write() {
                std::thread::sleep(RETRY);
                continue;
            }
            // Let records gather instead of waking this thread for every one of them: under
            // load each wake-up is a futex call and a context switch on the sessions' hot path.
            std::thread::sleep(GATHER);
        }
        self.write();
    }

    fn push(&mut self, record: &DecisionRecord) {
        crate::metrics::count_decision(record);
        let start = self.buf.len();
        if serde_json::to_writer(&mut self.buf, record).is_err() {
            self.buf.truncate(start);
            return;
        }
        self.buf.push(b'\n');
        if self.buf.len() > MAX_PENDING {
            let from = self.buf.len() - MAX_PENDING;
            let cut = memchr::memchr(b'\n', &self.buf[from..]).map_or(0, |i| from + i + 1);
            self.dropped += memchr::memchr_iter(b'\n', &self.buf[..cut]).count() as u64;
            self.buf.drain(..cut);
        }
    }

    /// Writes the waiting lines; on failure cuts the file back to its last complete line,
    /// keeps the lines, and marks the log unwritable. Returns whether it went through.
    fn write(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => {
                self.good_len += self.buf.len() as u64;
                self.buf.clear();
                if self.buf.capacity() > 1 << 20 {
                    self.buf = Vec::with_capacity(64 * 1024);
                }
                if !self.writable.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        path = %self.path.display(),
                        dropped_lines = self.dropped,
                        "the decision log can be written again; recipients are decided again"
                    );
                    self.dropped = 0;
                }
                true
            }
            Err(e) => {
                let _ = self.file.set_len(self.good_len);
                if self.writable.swap(false, Ordering::AcqRel) {
                    tracing::error!(
                        path = %self.path.display(),
                        error = %e,
                        "cannot write the decision log: new recipients get 451 4.3.0 until it can be written (retrying every second)"
                    );
                }
                false
            }
        }
    }
}

/// How long the writer lets records gather after each burst; bounds how late a line appears.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

#[cfg(test)]
mod tests {
    use super::*;

    /// The log's words are a contract (`jq 'select(.reason == "locked")'`): each enum value
    /// is written as before and read back as itself; an unknown word is an error.
    #[test]
    fn reasons_and_rules_are_written_as_their_words() {
        let text = |v: serde_json::Value| v.as_str().map(str::to_string);
        let mut every: Vec<Why> = Reason::ALL.iter().map(|r| Why::Listed(*r)).collect();
        every.extend(CAUSES.iter().map(|(why, _)| *why));
        for why in every {
            let json = serde_json::to_value(why).expect("serialise");
            assert_eq!(text(json.clone()).as_deref(), Some(why.as_str()));
            assert_eq!(serde_json::from_value::<Why>(json).ok(), Some(why));
        }
        // Today's words, as `jq` filters and the README use them.
        let words = [
            "unsubscribe",
            "locked",
            "upstream",
            "upstream-unavailable",
            "policy-unavailable",
            "too-many-recipients",
            "listed-during-transaction",
            "message-too-large",
            "spool-unavailable",
            "bad-address",
            "needs-smtputf8",
            "bad-parameter",
            "no-consent",
        ];
        for word in words {
            assert_eq!(word.parse::<Why>().map(|w| w.to_string()), Ok(word.into()));
        }
        assert_eq!(
            CAUSES.len() + 1,
            words.len(),
            "every cause has its word here"
        );
        let rules = [
            (DecisionRule::List(Rule::Address), "address"),
            (DecisionRule::List(Rule::PlusTag), "plus-tag"),
            (DecisionRule::List(Rule::GmailDots), "gmail-dots"),
            (DecisionRule::List(Rule::Domain), "domain"),
            (DecisionRule::List(Rule::ParentDomain), "parent-domain"),
            (DecisionRule::Lock(LockKind::Contact), "contact-lock"),
            (DecisionRule::Lock(LockKind::Account), "account-lock"),
        ];
        for (rule, word) in rules {
            let json = serde_json::to_value(rule).expect("serialise");
            assert_eq!(text(json.clone()).as_deref(), Some(word));
            assert_eq!(
                serde_json::from_value::<DecisionRule>(json).ok(),
                Some(rule)
            );
        }
        assert!(serde_json::from_str::<Why>("\"stop\"").is_err());
        assert!(serde_json::from_str::<DecisionRule>("\"fuzzy\"").is_err());
    }

    #[test]
    fn a_half_written_last_line_is_cut_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        assert_eq!(cut_torn_line(&file).unwrap(), 16);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        std::fs::write(&path, "{\"c\":").unwrap();
        assert_eq!(cut_torn_line(&file).unwrap(), 0);
    }
}
