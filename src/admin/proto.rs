//! The admin protocol. One JSON object per line each way: the CLI sends a [`RequestLine`],
//! the server answers with a [`ResponseLine`]. `v` is the protocol version; a server refuses
//! versions it does not speak instead of guessing.

use serde::{Deserialize, Serialize};

use crate::model::{Entry, Event, Reason, Source};
use crate::policy::Rule;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the server reads.
pub const MAX_REQUEST_LINE: usize = 1024 * 1024;

/// Most entries in one `suppress list` page.
pub const MAX_PAGE: usize = 10_000;

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
    /// Is the relay there? Answered with [`Body::Pong`].
    Ping,
    /// Add a suppression. Answered with [`Body::Added`].
    SuppressAdd {
        /// An address or `@domain`.
        target: String,
        /// Why (required).
        reason: Reason,
        /// Through which channel; `admin` when absent.
        source: Option<Source>,
        /// The proof.
        evidence: Option<String>,
    },
    /// A page of the list in key order. Answered with [`Body::Page`].
    SuppressList {
        /// Start after this key (the `next` of the previous page).
        after: Option<String>,
        /// Page size (capped at [`MAX_PAGE`]).
        limit: usize,
    },
    /// One entry and its history. Answered with [`Body::Shown`].
    SuppressShow {
        /// An address or `@domain`.
        target: String,
    },
    /// What would happen to a recipient now. Answered with [`Body::Checked`].
    Check {
        /// The recipient address.
        address: String,
        /// The sender, if it matters.
        from: Option<String>,
    },
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
        body: Body,
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
    /// Not allowed for this user (CLI exit 1).
    Forbidden,
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
    },
    /// Answer to `suppress-add`.
    Added {
        /// False when the target was already suppressed (the entry is unchanged).
        created: bool,
        /// The entry in force.
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
    },
    /// Answer to `check`.
    Checked(CheckResult),
}

/// The policy's answer for one address, as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The address as given.
    pub address: String,
    /// The normalised address.
    pub normalized: String,
    /// Whether mail to it would be relayed now.
    pub deliverable: bool,
    /// The rule that matched, when blocked.
    pub rule: Option<Rule>,
    /// The entry that matched, when blocked.
    pub entry: Option<Entry>,
    /// The reply a mailer would get at RCPT, when blocked (`550 5.7.1 ...`).
    pub smtp_reply: Option<String>,
}
