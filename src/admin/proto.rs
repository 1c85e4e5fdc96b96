//! The admin protocol. One JSON object per line each way: the CLI sends a [`RequestLine`],
//! the server answers with a [`ResponseLine`]. `v` is the protocol version; a server refuses
//! versions it does not speak instead of guessing.

use serde::{Deserialize, Serialize};

use crate::model::{Attempt, Entry, Event, Lock, Reason, Role, Rule, Source, Timestamp, Units};

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

/// What an admin operation is: a request type that names its response and the role it needs.
/// The client calls [`crate::admin::AdminClient::call`] with one and gets its typed answer; the
/// server checks [`Operation::ROLE`] once, in its dispatch, before the operation's handler runs.
pub trait Operation: Into<Request> {
    /// What the relay answers.
    type Response;
    /// The least role that may ask (an operation may check more in its handler: who may deny
    /// a lift depends on who asked for it).
    const ROLE: Role;
    /// What the operation does, for a refusal ("importing needs the manager role").
    const DOING: &'static str;
    /// The typed answer, out of the answer on the wire (`None`: an answer of another kind).
    fn response(body: Body) -> Option<Self::Response>;
}

/// Declares the wire enums and each operation's place in them. The wire stays as it was:
/// `{"op": "suppress-add", ...fields}` and `{"kind": "added", ...fields}`.
macro_rules! operations {
    ($($op:ident => $body:ident($response:ty), $role:ident, $doing:literal;)*) => {
        /// What the CLI can ask: one variant per operation (see [`Operation`]).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "op", rename_all = "kebab-case")]
        pub enum Request {
            $(
                #[doc = concat!("See [`", stringify!($op), "`].")]
                $op($op),
            )*
        }

        impl Request {
            /// The least role the operation needs.
            pub fn role(&self) -> Role {
                match self {
                    $(Request::$op(_) => <$op as Operation>::ROLE,)*
                }
            }

            /// What the operation does, for messages.
            pub fn doing(&self) -> &'static str {
                match self {
                    $(Request::$op(_) => <$op as Operation>::DOING,)*
                }
            }
        }

        $(
            impl From<$op> for Request {
                fn from(op: $op) -> Request {
                    Request::$op(op)
                }
            }

            impl Operation for $op {
                type Response = $response;
                const ROLE: Role = Role::$role;
                const DOING: &'static str = $doing;
                fn response(body: Body) -> Option<$response> {
                    match body {
                        Body::$body(r) => Some(r),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

use super::ops::alerts::{AlertsList, AlertsPage};
use super::ops::audit::{AuditContact, AuditDormant, AuditDuplicates, AuditSample, DormantReport};
use super::ops::consent::{
    ConsentAdd, ConsentChanged, ConsentImport, ConsentImported, ConsentList, ConsentPage,
    ConsentShow, ConsentShown, ConsentWithdraw,
};
use super::ops::erase::{Erase, ErasedReport, PurgeReport, RetentionPurge};
use super::ops::feed::{
    FeedAdd, FeedFollowing, FeedList, FeedPulls, FeedPullsPage, FeedRevoke, FeedStatus,
    FeedSubscriberShown, FeedSubscribers, FeedTokenGiven,
};
use super::ops::feedback::{
    FeedbackConfirm, FeedbackDismiss, FeedbackIngest, FeedbackList, FeedbackPage, FeedbackShow,
    FeedbackShown, Ingested,
};
use super::ops::lift::{LiftApprove, LiftDeny, LiftList, LiftRequest, LiftState, Lifts};
use super::ops::lists::{
    Check, CheckMany, CheckedMany, ImportChunk, ImportCommit, Imported, RecordScrub, Recorded,
};
use super::ops::locks::{
    LockChanged, LockShown, Locks, LocksDecide, LocksGroup, LocksList, LocksRelease, LocksReview,
    LocksShow, LocksTransfer,
};
use super::ops::suppress::{
    Added, Page, Ping, Pong, Shown, SuppressAdd, SuppressList, SuppressShow,
};

operations! {
    Ping => Pong(Pong), Sdr, "asking who you are";
    SuppressAdd => Added(Added), Sdr, "adding a suppression";
    SuppressList => Page(Page), Sdr, "listing suppressions";
    SuppressShow => Shown(Shown), Sdr, "showing a suppression";
    Check => Checked(CheckResult), Sdr, "checking an address";
    CheckMany => CheckedMany(CheckedMany), Sdr, "scrubbing a list";
    RecordScrub => Recorded(Recorded), Sdr, "recording a scrub";
    ImportChunk => Recorded(Recorded), Manager, "importing";
    ImportCommit => Imported(Imported), Manager, "importing";
    LiftRequest => Lift(LiftState), Manager, "requesting a lift";
    LiftApprove => Lift(LiftState), Ops, "approving a lift";
    LiftDeny => Lift(LiftState), Manager, "denying a lift";
    LiftList => Lifts(Lifts), Sdr, "listing lifts";
    AuditSample => Sample(SampleReport), Sdr, "auditing a sample";
    AuditContact => Contact(ContactReport), Sdr, "auditing a contact";
    AuditDuplicates => Duplicates(DuplicatesReport), Sdr, "auditing duplicates";
    LocksReview => LockChanged(LockChanged), Manager, "reviewing a lock";
    LocksDecide => LockChanged(LockChanged), Manager, "deciding a lock review";
    LocksTransfer => LockChanged(LockChanged), Manager, "transferring a lock";
    LocksRelease => LockChanged(LockChanged), Manager, "releasing a lock";
    LocksList => Locks(Locks), Sdr, "listing locks";
    LocksShow => LockShown(LockShown), Sdr, "showing a lock";
    FeedbackIngest => Ingested(Ingested), Sdr, "handing over feedback";
    FeedbackList => FeedbackPage(FeedbackPage), Sdr, "listing feedback";
    FeedbackShow => FeedbackShown(FeedbackShown), Sdr, "showing feedback";
    FeedbackConfirm => FeedbackShown(FeedbackShown), Sdr, "confirming feedback";
    FeedbackDismiss => FeedbackShown(FeedbackShown), Manager, "dismissing feedback";
    LocksGroup => Recorded(Recorded), Manager, "grouping an account";
    AlertsList => Alerts(AlertsPage), Sdr, "listing alerts";
    ConsentAdd => ConsentChanged(ConsentChanged), Sdr, "recording a consent";
    ConsentWithdraw => ConsentChanged(ConsentChanged), Sdr, "withdrawing a consent";
    ConsentShow => ConsentShown(ConsentShown), Sdr, "showing consent";
    ConsentList => ConsentPage(ConsentPage), Sdr, "listing consents";
    ConsentImport => ConsentImported(ConsentImported), Manager, "importing consents";
    AuditDormant => Dormant(DormantReport), Sdr, "auditing dormant contacts";
    Erase => Erased(ErasedReport), Ops, "erasing a contact";
    RetentionPurge => Purged(PurgeReport), Ops, "purging contacts past the retention bound";
    FeedAdd => FeedTokenGiven(FeedTokenGiven), Ops, "giving a feed token";
    FeedRevoke => FeedSubscriberShown(FeedSubscriberShown), Ops, "revoking a feed token";
    FeedList => FeedSubscribers(FeedSubscribers), Manager, "listing feed subscribers";
    FeedPulls => FeedPullsPage(FeedPullsPage), Manager, "listing feed pulls";
    FeedStatus => FeedFollowing(FeedFollowing), Sdr, "showing the followed feed";
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
    pub units: Units,
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

/// Response bodies, one per kind of answer; an operation names the one it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Body {
    /// Answer to `ping`.
    Pong(Pong),
    /// Answer to `suppress-add`.
    Added(Added),
    /// Answer to `suppress-list`.
    Page(Page),
    /// Answer to `suppress-show`.
    Shown(Shown),
    /// Answer to `check`.
    Checked(CheckResult),
    /// Answer to `check-many`, in request order.
    CheckedMany(CheckedMany),
    /// Answer to `record-scrub`, `import-chunk`, `locks-group`.
    Recorded(Recorded),
    /// Answer to `import-commit`.
    Imported(Imported),
    /// Answer to the lift requests, approvals and denials.
    Lift(LiftState),
    /// Answer to `lift-list`.
    Lifts(Lifts),
    /// Answer to `audit-sample`.
    Sample(SampleReport),
    /// Answer to `audit-contact`.
    Contact(ContactReport),
    /// Answer to `audit-duplicates`.
    Duplicates(DuplicatesReport),
    /// Answer to the lock changes.
    LockChanged(LockChanged),
    /// Answer to `locks-list`.
    Locks(Locks),
    /// Answer to `locks-show`.
    LockShown(LockShown),
    /// Answer to `feedback-ingest`.
    Ingested(Ingested),
    /// Answer to `feedback-list`.
    FeedbackPage(FeedbackPage),
    /// Answer to `feedback-show`, `feedback-confirm` and `feedback-dismiss`.
    FeedbackShown(FeedbackShown),
    /// Answer to `alerts-list`.
    Alerts(AlertsPage),
    /// Answer to `consent-add` and `consent-withdraw`.
    ConsentChanged(ConsentChanged),
    /// Answer to `consent-show`.
    ConsentShown(ConsentShown),
    /// Answer to `consent-list`.
    ConsentPage(ConsentPage),
    /// Answer to `consent-import`.
    ConsentImported(ConsentImported),
    /// Answer to `audit-dormant`.
    Dormant(DormantReport),
    /// Answer to `erase`.
    Erased(ErasedReport),
    /// Answer to `retention-purge`.
    Purged(PurgeReport),
    /// Answer to `feed-add`.
    FeedTokenGiven(FeedTokenGiven),
    /// Answer to `feed-revoke`.
    FeedSubscriberShown(FeedSubscriberShown),
    /// Answer to `feed-list`.
    FeedSubscribers(FeedSubscribers),
    /// Answer to `feed-pulls`.
    FeedPullsPage(FeedPullsPage),
    /// Answer to `feed-status`.
    FeedFollowing(FeedFollowing),
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
    pub lock_effect: Option<crate::decision::LockEffect>,
    /// A fleet relay whose replica is not current: why (the wire answers `451 4.3.0`
    /// meanwhile, and this answer may be out of date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_current: Option<String>,
}

crate::model::named_enum! {
    /// What a lead-list row would meet at RCPT now (the `dnc_status` column of `scrub`).
    pub enum ScrubVerdict {
        /// Deliverable (maybe with a warn-mode lock's warning).
        Ok = "ok",
        /// On the list.
        Suppressed = "suppressed",
        /// Another owner's lock refuses the sender.
        Locked = "locked",
        /// Not an address.
        Invalid = "invalid",
        /// The sender's purpose needs a consent the contact has not given.
        NoConsent = "no-consent",
    }
}

/// A lead-list row's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubStatus {
    /// `ok`, `suppressed`, `locked` or `invalid`.
    pub status: ScrubVerdict,
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
    /// The sends checked, oldest first (violations among them).
    #[serde(default)]
    pub sample: Vec<Attempt>,
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
    /// The wire as the build before typed operations wrote it: an older CLI and a newer
    /// relay (or the reverse) still understand each other.
    #[test]
    fn the_wire_format_is_unchanged() {
        use crate::admin::ops::{audit::*, lift::*, lists::*, locks::*, suppress::*};
        use crate::model::{Reason, Source};
        let requests: Vec<Request> = vec![
            Ping.into(),
            SuppressAdd {
                target: "a@example.com".into(),
                reason: Reason::Unsubscribe,
                source: Some(Source::Reply),
                evidence: Some("e".into()),
                units: Units::parse(["acme"]),
            }
            .into(),
            SuppressList {
                after: Some("k".into()),
                limit: 10,
            }
            .into(),
            SuppressShow {
                target: "a@example.com".into(),
            }
            .into(),
            Check {
                address: "a@example.com".into(),
                from: Some("r@x.example".into()),
                at: None,
            }
            .into(),
            CheckMany {
                addresses: vec!["a@example.com".into()],
                from: None,
                hashed: false,
            }
            .into(),
            RecordScrub {
                file: "f.csv".into(),
                rows: 3,
                blocked: 1,
                invalid: 0,
            }
            .into(),
            ImportChunk {
                rows: vec![ImportRow {
                    line: 2,
                    target: "a@example.com".into(),
                    reason: Reason::Legal,
                    source: Source::Import,
                    evidence: "".into(),
                    units: Units::all(),
                }],
            }
            .into(),
            ImportCommit {
                file: "f.csv".into(),
                format: crate::model::ImportFormat::Plain,
                skipped: 0,
            }
            .into(),
            LiftRequest {
                target: "a@example.com".into(),
                proof: "p".into(),
            }
            .into(),
            LiftApprove { id: 4 }.into(),
            LiftDeny {
                id: 4,
                why: "w".into(),
            }
            .into(),
            LiftList {
                pending: true,
                days: Some(3),
            }
            .into(),
            AuditSample { days: 7, size: 100 }.into(),
            AuditContact {
                address: "a@example.com".into(),
            }
            .into(),
            AuditDuplicates { days: 7 }.into(),
            LocksReview {
                target: "a@example.com".into(),
                note: "n".into(),
            }
            .into(),
            LocksDecide {
                target: "a@example.com".into(),
                owner: "sam".into(),
                note: "n".into(),
            }
            .into(),
            LocksTransfer {
                target: "a@example.com".into(),
                to: "sam".into(),
                note: "n".into(),
            }
            .into(),
            LocksRelease {
                target: "a@example.com".into(),
                note: "n".into(),
            }
            .into(),
            LocksList {
                owner: Some("sam".into()),
            }
            .into(),
            LocksShow {
                target: "a@example.com".into(),
            }
            .into(),
            LocksGroup {
                account: "x.example".into(),
                domains: vec!["@y.example".into()],
            }
            .into(),
        ];
        let wire: &[&str] = &[
            r#"{"op":"ping"}"#,
            r#"{"op":"suppress-add","target":"a@example.com","reason":"unsubscribe","source":"reply","evidence":"e","units":["acme"]}"#,
            r#"{"op":"suppress-list","after":"k","limit":10}"#,
            r#"{"op":"suppress-show","target":"a@example.com"}"#,
            r#"{"op":"check","address":"a@example.com","from":"r@x.example","at":null}"#,
            r#"{"op":"check-many","addresses":["a@example.com"],"from":null}"#,
            r#"{"op":"record-scrub","file":"f.csv","rows":3,"blocked":1,"invalid":0}"#,
            r#"{"op":"import-chunk","rows":[{"line":2,"target":"a@example.com","reason":"legal","source":"import","evidence":"","units":[]}]}"#,
            r#"{"op":"import-commit","file":"f.csv","format":"plain","skipped":0}"#,
            r#"{"op":"lift-request","target":"a@example.com","proof":"p"}"#,
            r#"{"op":"lift-approve","id":4}"#,
            r#"{"op":"lift-deny","id":4,"why":"w"}"#,
            r#"{"op":"lift-list","pending":true,"days":3}"#,
            r#"{"op":"audit-sample","days":7,"size":100}"#,
            r#"{"op":"audit-contact","address":"a@example.com"}"#,
            r#"{"op":"audit-duplicates","days":7}"#,
            r#"{"op":"locks-review","target":"a@example.com","note":"n"}"#,
            r#"{"op":"locks-decide","target":"a@example.com","owner":"sam","note":"n"}"#,
            r#"{"op":"locks-transfer","target":"a@example.com","to":"sam","note":"n"}"#,
            r#"{"op":"locks-release","target":"a@example.com","note":"n"}"#,
            r#"{"op":"locks-list","owner":"sam"}"#,
            r#"{"op":"locks-show","target":"a@example.com"}"#,
            r#"{"op":"locks-group","account":"x.example","domains":["@y.example"]}"#,
        ];
        assert_eq!(requests.len(), wire.len());
        for (request, json) in requests.iter().zip(wire) {
            assert_eq!(&serde_json::to_string(request).unwrap(), json);
            let back: Request = serde_json::from_str(json).unwrap();
            assert_eq!(&back, request);
        }
        let bodies: Vec<Body> = vec![
            Body::Page(Page {
                entries: vec![],
                next: None,
            }),
            Body::CheckedMany(CheckedMany {
                results: vec![ScrubStatus {
                    status: ScrubVerdict::Ok,
                    reason: None,
                }],
            }),
            Body::Recorded(Recorded { event_id: 3 }),
            Body::Imported(Imported {
                rows: 1,
                added: 1,
                already: 0,
                event_id: 5,
            }),
            Body::Lifts(Lifts { lifts: vec![] }),
            Body::LockChanged(LockChanged { lock: None }),
            Body::Locks(Locks { locks: vec![] }),
            Body::LockShown(LockShown {
                lock: None,
                account: None,
                history: vec![],
            }),
            Body::Shown(Shown {
                target: "a@example.com".into(),
                entry: None,
                history: vec![],
                attempts: vec![],
            }),
        ];
        let wire: &[&str] = &[
            r#"{"kind":"page","entries":[],"next":null}"#,
            r#"{"kind":"checked-many","results":[{"status":"ok","reason":null}]}"#,
            r#"{"kind":"recorded","event_id":3}"#,
            r#"{"kind":"imported","rows":1,"added":1,"already":0,"event_id":5}"#,
            r#"{"kind":"lifts","lifts":[]}"#,
            r#"{"kind":"lock-changed","lock":null}"#,
            r#"{"kind":"locks","locks":[]}"#,
            r#"{"kind":"lock-shown","lock":null,"account":null,"history":[]}"#,
            r#"{"kind":"shown","target":"a@example.com","entry":null,"history":[],"attempts":[]}"#,
        ];
        for (body, json) in bodies.iter().zip(wire) {
            assert_eq!(&serde_json::to_string(body).unwrap(), json);
        }
        // Unknown fields are still refused.
        assert!(serde_json::from_str::<Request>(r#"{"op":"lift-approve","id":1,"x":2}"#).is_err());
    }

    #[test]
    fn each_operation_names_its_role() {
        use crate::admin::ops::{lift::*, lists::*, suppress::*};
        assert_eq!(Request::from(Ping).role(), Role::Sdr);
        assert_eq!(
            Request::from(ImportCommit {
                file: String::new(),
                format: crate::model::ImportFormat::Plain,
                skipped: 0
            })
            .role(),
            Role::Manager
        );
        assert_eq!(Request::from(LiftApprove { id: 1 }).role(), Role::Ops);
        assert_eq!(<LiftApprove as Operation>::DOING, "approving a lift");
    }
}
