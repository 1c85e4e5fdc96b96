//! Feedback as the store keeps it: what a message was (a bounce, a complaint report, an
//! auto-reply, a reply and what it asked) and what was done about each address. The
//! classifier ([`crate::feedback`]) produces these; the store records them.
//!
//! Stored with postcard: new variants go at the end of each enum.

use serde::{Deserialize, Serialize};

use super::{named_enum, Actor, Reason, Source, Timestamp};

named_enum! {
    /// What a message is.
    pub enum Kind {
        /// A delivery status notification (RFC 3464, or a plain-text bounce).
        Dsn = "dsn",
        /// A complaint report (RFC 5965).
        Arf = "arf",
        /// An automatic reply (out of office, RFC 3834).
        AutoReply = "auto-reply",
        /// A person's reply.
        Reply = "reply",
        /// Nothing the classifier recognises (or not a message).
        Unknown = "unknown",
    }
}

named_enum! {
    /// What a person's reply asks.
    pub enum Class {
        /// Stop mailing me.
        Unsubscribe = "unsubscribe",
        /// Stop mailing anyone at our company.
        UnsubscribeCompany = "unsubscribe-company",
        /// A formal privacy, erasure or regulator request.
        Legal = "legal",
        /// Not interested, without asking to stop.
        NotInterested = "not-interested",
        /// Interested.
        Positive = "positive",
        /// Try someone else.
        Redirect = "redirect",
        /// None of the above.
        Unclear = "unclear",
    }
}

named_enum! {
    /// What to do about one address.
    pub enum ActionKind {
        /// Add it to the list.
        Suppress = "suppress",
        /// Put it in the review queue: a person confirms or dismisses it.
        Review = "review",
        /// Nothing (logged and counted).
        None = "none",
    }
}

/// What to do about one address, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The address, or `@domain` for a whole company.
    pub target: String,
    /// What to do.
    pub action: ActionKind,
    /// The reason the entry would get.
    pub reason: Option<Reason>,
    /// The delivery status (`5.1.1`) for bounces.
    pub status: Option<String>,
    /// Why, in words.
    pub why: String,
}

impl Action {
    pub(crate) fn new(
        target: impl Into<String>,
        action: ActionKind,
        reason: Option<Reason>,
    ) -> Action {
        Action {
            target: target.into(),
            action,
            reason,
            status: None,
            why: String::new(),
        }
    }

    pub(crate) fn why(mut self, why: impl Into<String>) -> Action {
        self.why = why.into();
        self
    }
}

/// Where a review item stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewState {
    /// Waiting for a person.
    Pending,
    /// Confirmed: suppressed (the event that added it).
    Confirmed {
        /// Who confirmed it.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// Dismissed: nothing suppressed.
    Dismissed {
        /// Who dismissed it.
        by: String,
        /// When.
        at: Timestamp,
        /// Why.
        why: String,
    },
}

/// One message's feedback, as recorded: every message is kept, actionable or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Monotonic id (what `feedback show`, `confirm` and `dismiss` take).
    pub id: u64,
    /// When it was recorded.
    pub at: Timestamp,
    /// Who ingested it (the `feedback` system actor, with the user who handed it over).
    pub actor: Actor,
    /// What the message was.
    pub kind: Kind,
    /// For replies: what it asked.
    pub class: Option<Class>,
    /// What was done about each address.
    pub actions: Vec<Action>,
    /// For review actions, by index into `actions`: where each stands.
    pub reviews: Vec<(u32, ReviewState)>,
    /// The channel (`bounce`, `fbl`, `reply`).
    pub source: Source,
    /// The evidence recorded with the suppressions.
    pub evidence: String,
    /// SHA-256 of the raw message, hex: the same message handed over twice is one record.
    pub sha256: String,
    /// The message's Message-ID, if any.
    pub message_id: Option<String>,
}

impl Record {
    /// Whether a review action is still waiting.
    pub fn is_pending(&self) -> bool {
        self.reviews.iter().any(|(_, s)| *s == ReviewState::Pending)
    }
}

/// A message the feedback listener accepted: kept in the store before the `250`, until it is
/// classified and recorded (a crash in between loses nothing: it is processed at the next
/// start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// When the `250` was said.
    pub at: Timestamp,
    /// The client's address and port.
    pub client: String,
    /// The envelope sender (empty for `<>`, as bounces have).
    pub mail_from: String,
    /// The envelope recipients (all in the feedback domains).
    pub rcpts: Vec<String>,
    /// The message, as received (dot-unstuffed, CRLF lines).
    pub message: Vec<u8>,
}

/// What a return-path token (`bounces+TOKEN@`) stands for: the copy a bounce is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnPath {
    /// The recipient of the copy.
    pub recipient: String,
    /// The original envelope sender (where the bounce is forwarded).
    pub sender: String,
    /// The sender group.
    pub group: String,
    /// Whether its bounces are forwarded to `sender`.
    pub forward: bool,
    /// When the copy went out.
    pub at: Timestamp,
    /// Random, in the token's MAC too: a token opens only the row it was made for, even if
    /// a crash lost that row and its id was given again.
    pub salt: u32,
}
