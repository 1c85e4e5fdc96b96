//! Mail the relay sends on its own (forwarded bounces, notifications), as the store keeps it
//! in the outbox until the upstream took it.
//!
//! Stored with postcard: new variants go at the end of each enum, new fields at the end.

use serde::{Deserialize, Serialize};

use super::{named_enum, Timestamp};

named_enum! {
    /// Why the relay sends it.
    pub enum OutgoingKind {
        /// A bounce that came back through the return path, on its way to the original sender.
        ForwardedBounce = "forwarded-bounce",
        /// A notification to an owner, an approver or ops.
        Notification = "notification",
        /// An alert, to `[alerts] email`.
        Alert = "alert",
    }
}

/// A bounce to forward to its original sender once it is recorded (queued in the same
/// transaction as the record, with its event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// The mail (the bounce, unchanged, from `<>`).
    pub mail: Outgoing,
    /// The recipient the bounce is about.
    pub target: String,
}

/// A mail queued by the notifier, with what it tells (for the targets' timelines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The mail.
    pub mail: Outgoing,
    /// The targets it is about, and the one-line subject of each note.
    pub about: Vec<(String, String)>,
}

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Why it is sent.
    pub kind: OutgoingKind,
    /// The envelope sender (empty for `<>`, as forwarded bounces have).
    pub mail_from: String,
    /// The envelope recipients.
    pub rcpts: Vec<String>,
    /// The message, CRLF lines.
    pub message: Vec<u8>,
    /// When it was queued.
    pub queued: Timestamp,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before this moment.
    pub next_try: Timestamp,
    /// What the last attempt met.
    pub last_error: Option<String>,
}

/// One thing a person is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// When it happened.
    pub at: Timestamp,
    /// One line: what happened.
    pub subject: String,
    /// The details: who, what, why, the evidence, the command to see more.
    pub text: String,
    /// The target it is about (its timeline records the mail).
    pub target: String,
}

/// Where notifications stand: the last history event read, what waits for each person's
/// next mail, and when each was last mailed (at most one mail per digest interval).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyState {
    /// The id of the last event read.
    pub cursor: u64,
    /// Notes waiting, per address.
    pub pending: Vec<(String, Vec<Note>)>,
    /// When each address was last mailed.
    pub last_sent: Vec<(String, Timestamp)>,
}
