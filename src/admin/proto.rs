//! The admin protocol. One JSON object per line each way: the CLI sends a [`RequestLine`],
//! the server answers with a [`ResponseLine`]. `v` is the protocol version; a server refuses
//! versions it does not speak instead of guessing.

use serde::{Deserialize, Serialize};

use crate::model::{Actor, Attempt, Entry, Event, Lock, Reason, Role, Rule, Source, Timestamp};
use crate::store::Lift;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the server reads; a longer one is refused and its connection closed.
/// Bulk requests are cut to fit by the CLI ([`MAX_CHUNK`] items, [`MAX_CHUNK_BYTES`] bytes).
pub const MAX_REQUEST_LINE: usize = 2 * 1024 * 1024;

/// Most bytes of items in one import chunk or one `check-many` (well under
/// [`MAX_REQUEST_LINE`], which also holds the request around them).
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// The size of a value as JSON, without building it.
pub fn json_size<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Most entries in one `suppress list` page.
pub const MAX_PAGE: usize = 10_000;

/// Most rows in one import chunk or one `check-many`.
pub const MAX_CHUNK: usize = 10_000;

/// Gathers items into chunks of at most [`MAX_CHUNK`] items and [`MAX_CHUNK_BYTES`] bytes of
/// JSON, as they come (an item larger than that alone makes a chunk of one).
pub struct Chunker<T> {
    items: Vec<T>,
    bytes: usize,
}

impl<T: Serialize> Default for Chunker<T> {
    fn default() -> Self {
        Chunker::new()
    }
}

impl<T: Serialize> Chunker<T> {
    /// An empty chunker.
    pub fn new() -> Chunker<T> {
        Chunker {
            items: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds an item; returns the chunk it completed, if it did.
    pub fn push(&mut self, item: T) -> Option<Vec<T>> {
        let size = json_size(&item).saturating_add(1);
        let full = !self.items.is_empty()
            && (self.items.len() >= MAX_CHUNK || self.bytes + size > MAX_CHUNK_BYTES);
        let done = full.then(|| {
            self.bytes = 0;
            std::mem::take(&mut self.items)
        });
        self.bytes += size;
        self.items.push(item);
        done
    }

    /// The last chunk, if anything is left.
    pub fn finish(self) -> Option<Vec<T>> {
        (!self.items.is_empty()).then_some(self.items)
    }
}

/// A request on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLine {
    /// Protocol version.
    pub v: u32,
    /// The request.
    #[serde(flatten)]
    pub request: Request,
}

/// What the CLI can ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Is the relay there, and who am I to it? Answered with [`Body::Pong`].
    Ping,
    /// Add a suppression (any role). Answered with [`Body::Added`].
    SuppressAdd {
        /// An address or `@domain`.
        target: String,
        /// Why (required).
        reason: Reason,
        /// Through which channel; `admin` when absent.
        source: Option<Source>,
        /// The proof.
        evidence: Option<String>,
        /// Units whose senders it binds; absent or empty for every sender.
        #[serde(default)]
        units: Vec<String>,
    },
    /// A page of the list in key order. Answered with [`Body::Page`].
    SuppressList {
        /// Start after this key (the `next` of the previous page).
        after: Option<String>,
        /// Page size (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// One entry, its history and the attempts it refused. Answered with [`Body::Shown`].
    SuppressShow {
        /// An address or `@domain`.
        target: String,
    },
    /// What would happen to a recipient (now, or at a past moment). Answered with
    /// [`Body::Checked`].
    Check {
        /// The recipient address.
        address: String,
        /// The sender, if it matters (sender groups).
        from: Option<String>,
        /// Answer as the list stood at this moment.
        #[serde(default)]
        at: Option<Timestamp>,
    },
    /// Many addresses at once, for scrubbing lead lists. Answered with [`Body::CheckedMany`].
    CheckMany {
        /// The addresses (at most [`MAX_CHUNK`]).
        addresses: Vec<String>,
        /// The sender who means to mail them (sender groups, unit scopes, ownership locks).
        #[serde(default)]
        from: Option<String>,
    },
    /// Record that a lead list was scrubbed (an event; nothing else changes).
    RecordScrub {
        /// The file name.
        file: String,
        /// Rows checked.
        rows: u64,
        /// Rows on the list.
        blocked: u64,
        /// Rows with a malformed address.
        invalid: u64,
    },
    /// Part of an import (manager and above); rows are held until `import-commit`.
    ImportChunk {
        /// The rows.
        rows: Vec<ImportRow>,
    },
    /// Imports the rows sent on this connection in one transaction. Answered with
    /// [`Body::Imported`].
    ImportCommit {
        /// The file name.
        file: String,
        /// The format detected.
        format: String,
        /// Rows skipped as malformed by the CLI (`--skip-invalid`).
        skipped: u64,
    },
    /// Ask for an entry to be lifted (manager and above). Answered with [`Body::Lift`].
    LiftRequest {
        /// The entry's target.
        target: String,
        /// Written proof that the contact wants mail again.
        proof: String,
    },
    /// Approve a lift (ops and above, not the requester). Answered with [`Body::Lift`].
    LiftApprove {
        /// The request's id.
        id: u64,
    },
    /// Deny a lift (ops and above, or the requester withdrawing it). Answered with
    /// [`Body::Lift`].
    LiftDeny {
        /// The request's id.
        id: u64,
        /// Why.
        why: String,
    },
    /// Lift requests. Answered with [`Body::Lifts`].
    LiftList {
        /// Only the pending ones.
        #[serde(default)]
        pending: bool,
        /// Only those requested or decided in the last this many days.
        #[serde(default)]
        days: Option<u32>,
    },
    /// Check a random sample of relayed recipients against the list as it stood when each was
    /// sent. Answered with [`Body::Sample`].
    AuditSample {
        /// The window, in days back from now.
        days: u32,
        /// How many to check.
        size: usize,
    },
    /// A contact's timeline. Answered with [`Body::Contact`].
    AuditContact {
        /// The address.
        address: String,
    },
    /// Contacts and accounts first mailed by more than one owner or mailbox in the window.
    /// Answered with [`Body::Duplicates`].
    AuditDuplicates {
        /// The window, in days back from now.
        days: u32,
    },
    /// Put a contact's or account's lock under review (manager and above). Answered with
    /// [`Body::LockChanged`].
    LocksReview {
        /// A contact address or `@domain` (its account).
        target: String,
        /// Why.
        note: String,
    },
    /// Decide a review: the lock belongs to `owner` (manager and above).
    LocksDecide {
        /// A contact address or `@domain`.
        target: String,
        /// The owner decided on.
        owner: String,
        /// Why.
        note: String,
    },
    /// Give a lock to another owner (manager and above).
    LocksTransfer {
        /// A contact address or `@domain`.
        target: String,
        /// The new owner.
        to: String,
        /// Why.
        note: String,
    },
    /// End a lock now (manager and above).
    LocksRelease {
        /// A contact address or `@domain`.
        target: String,
        /// Why.
        note: String,
    },
    /// Locks in force. Answered with [`Body::Locks`].
    LocksList {
        /// Only this owner's.
        owner: Option<String>,
    },
    /// One target's locks and their history. Answered with [`Body::LockShown`].
    LocksShow {
        /// A contact address or `@domain`.
        target: String,
    },
    /// Group domains into one account for account locks (manager and above). Answered with
    /// [`Body::Recorded`].
    LocksGroup {
        /// The account's name (usually the parent's domain).
        account: String,
        /// The domains (`@subsidiary.example` or `subsidiary.example`).
        domains: Vec<String>,
    },
}

/// One row of an import, already parsed and validated by the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    /// Its line in the file, for messages.
    pub line: u64,
    /// An address or `@domain`.
    pub target: String,
    /// Why.
    pub reason: Reason,
    /// Through which channel.
    pub source: Source,
    /// The proof.
    pub evidence: String,
    /// Units (empty: every sender).
    #[serde(default)]
    pub units: Vec<String>,
}

/// A response on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseLine {
    /// Protocol version.
    pub v: u32,
    /// The outcome.
    #[serde(flatten)]
    pub response: Response,
}

/// Success with a body, or an error with a code the CLI maps to its exit status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Response {
    /// The request was carried out.
    Ok {
        /// What came back.
        body: Box<Body>,
    },
    /// The request was refused or failed; nothing was changed.
    Error {
        /// The class of error.
        code: ErrorCode,
        /// What went wrong, for a human.
        message: String,
    },
}

/// Classes of admin errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Malformed request, target or address (CLI exit 2).
    BadRequest,
    /// A protocol version the server does not speak (CLI exit 2).
    UnsupportedVersion,
    /// Not allowed for this user or role (CLI exit 1).
    Forbidden,
    /// The target or request does not exist (CLI exit 1).
    NotFound,
    /// The request conflicts with the current state (CLI exit 1).
    Conflict,
    /// The store failed or is closed (CLI exit 3).
    StoreUnavailable,
}

/// Response bodies, one per request kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Body {
    /// Answer to `ping`.
    Pong {
        /// The relay's version.
        version: String,
        /// Entries on the list.
        entries: u64,
        /// Who the relay takes the caller for.
        actor: Actor,
    },
    /// Answer to `suppress-add`.
    Added {
        /// False when the target was already suppressed.
        created: bool,
        /// The entry in force after the add.
        entry: Entry,
        /// The event that recorded this add.
        event_id: u64,
    },
    /// Answer to `suppress-list`.
    Page {
        /// Entries in key order.
        entries: Vec<Entry>,
        /// The `after` for the next page; absent on the last page.
        next: Option<String>,
    },
    /// Answer to `suppress-show`.
    Shown {
        /// The normalised target asked about.
        target: String,
        /// The entry, if the target is suppressed.
        entry: Option<Entry>,
        /// Every event about the target, oldest first.
        history: Vec<Event>,
        /// Send attempts it refused (and relayed ones to it), oldest first.
        attempts: Vec<Attempt>,
    },
    /// Answer to `check`.
    Checked(CheckResult),
    /// Answer to `check-many`, in request order.
    CheckedMany {
        /// One result per address.
        results: Vec<ScrubStatus>,
    },
    /// Answer to `record-scrub`, `import-chunk`.
    Recorded {
        /// The event id (0 when nothing was written yet).
        event_id: u64,
    },
    /// Answer to `import-commit`.
    Imported {
        /// Rows imported.
        rows: u64,
        /// New entries.
        added: u64,
        /// Targets already on the list.
        already: u64,
        /// The summary event.
        event_id: u64,
    },
    /// Answer to the lift requests.
    Lift {
        /// The request as it now stands.
        lift: Lift,
    },
    /// Answer to `lift-list`.
    Lifts {
        /// Oldest first.
        lifts: Vec<Lift>,
    },
    /// Answer to `audit-sample`.
    Sample(SampleReport),
    /// Answer to `audit-contact`.
    Contact(ContactReport),
    /// Answer to `audit-duplicates`.
    Duplicates(DuplicatesReport),
    /// Answer to the lock changes: the lock as it now stands (`None` once released).
    LockChanged {
        /// The lock.
        lock: Option<Lock>,
    },
    /// Answer to `locks-list`.
    Locks {
        /// The locks in force, in key order.
        locks: Vec<Lock>,
    },
    /// Answer to `locks-show`.
    LockShown {
        /// The contact's (or account's) lock in force, if any.
        lock: Option<Lock>,
        /// The account lock covering a contact, if any.
        account: Option<Lock>,
        /// Every lock event about the target.
        history: Vec<Event>,
    },
}

/// The result of `audit duplicates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatesReport {
    /// The window start.
    pub since: Timestamp,
    /// Contacts first mailed by more than one owner or mailbox.
    pub contacts: Vec<Duplicate>,
    /// Accounts mailed by more than one owner.
    pub accounts: Vec<Duplicate>,
}

/// One contact or account and who mailed it first, per owner and mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The contact address or `@account`.
    pub target: String,
    /// Each owner's (and mailbox's) first message in the window.
    pub first: Vec<FirstContact>,
}

/// An owner's first message to a contact or account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstContact {
    /// The owner.
    pub owner: String,
    /// The mailbox it came from.
    pub from: String,
    /// When.
    pub at: Timestamp,
    /// To whom (for accounts: which contact).
    pub rcpt: String,
}

/// The policy's answer for one address, as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The address as given.
    pub address: String,
    /// The normalised address.
    pub normalized: String,
    /// Whether mail to it would be relayed.
    pub deliverable: bool,
    /// The moment asked about, when not now.
    pub at: Option<Timestamp>,
    /// The rule that matched, when blocked (or exempted).
    pub rule: Option<Rule>,
    /// The entry that matched, when blocked (or exempted).
    pub entry: Option<Entry>,
    /// The sender group whose exemption lets it through, if any.
    pub exemption: Option<String>,
    /// The reply a mailer would get at RCPT, when blocked (`550 5.7.1 ...`).
    pub smtp_reply: Option<String>,
    /// Another owner's lock the sender would meet (only with a sender, and only now).
    #[serde(default)]
    pub lock: Option<Lock>,
    /// What that lock does at RCPT: `refuse` (block mode or under review) or `warn`.
    #[serde(default)]
    pub lock_effect: Option<String>,
}

/// A lead-list row's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubStatus {
    /// `ok`, `suppressed`, `locked` (another owner's lock refuses the sender) or `invalid`.
    pub status: String,
    /// The entry's reason for `suppressed`, the lock for `locked` (and for `ok` with a
    /// warn-mode lock: `warning: ...`), the parse error for `invalid`.
    pub reason: Option<String>,
}

/// The result of `audit sample`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleReport {
    /// The window start.
    pub since: Timestamp,
    /// Relayed recipients in the window.
    pub relayed: u64,
    /// How many were checked.
    pub checked: u64,
    /// Those that were on the list when they were sent.
    pub violations: Vec<Violation>,
}

/// A recipient relayed while an entry was in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The send record.
    pub attempt: Attempt,
    /// The entry in force at that moment.
    pub entry: Entry,
    /// How it matched.
    pub rule: Rule,
    /// The entry's history (adds, lifts), for the trace.
    pub history: Vec<Event>,
}

/// The result of `audit contact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactReport {
    /// The normalised address.
    pub address: String,
    /// Everything about it, oldest first.
    pub timeline: Vec<TimelineItem>,
    /// Messages relayed to it while an opt-out was in force.
    pub flagged: u64,
}

/// One line of a contact's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TimelineItem {
    /// A change to an entry that covers the contact.
    Event {
        /// The event.
        event: Event,
    },
    /// A send attempt to the contact.
    Attempt {
        /// The record.
        attempt: Attempt,
        /// True when it was relayed while an entry covering the contact was in force.
        flagged: bool,
    },
}

/// The role names in order, for messages.
pub fn role_names() -> String {
    Role::ALL
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked<T: Serialize>(items: Vec<T>) -> Vec<Vec<T>> {
        let mut chunker = Chunker::new();
        let mut out: Vec<Vec<T>> = items.into_iter().filter_map(|i| chunker.push(i)).collect();
        out.extend(chunker.finish());
        out
    }

    #[test]
    fn bulk_items_are_cut_by_count_and_by_bytes() {
        let small: Vec<String> = (0..25_000).map(|i| format!("a{i}@example.com")).collect();
        let chunks = chunked(small.clone());
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [10_000, 10_000, 5_000]
        );
        assert_eq!(chunks.concat(), small);
        let big: Vec<String> = (0..10).map(|_| "x".repeat(300_000)).collect();
        let chunks = chunked(big);
        assert!(
            chunks.iter().all(|c| json_size(c) <= MAX_CHUNK_BYTES + 10),
            "{}",
            chunks.len()
        );
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 10);
        // One item too big for a chunk still goes, alone.
        let huge = chunked(vec!["z".repeat(2 * MAX_CHUNK_BYTES)]);
        assert_eq!(huge.len(), 1);
    }
}
