//! Alerts as the store keeps them: what a rule saw, when, and where each was delivered.
//!
//! Stored with postcard: new variants go at the end of each enum, new fields at the end.

use serde::{Deserialize, Serialize};

use super::{named_enum, Timestamp};

named_enum! {
    /// The rule that raised an alert.
    pub enum AlertRule {
        /// A lift was approved: mail to the contact is allowed again.
        LiftApproved = "lift-approved",
        /// Unsubscribes in the last hour above the threshold and the 7-day baseline.
        UnsubscribeSpike = "unsubscribe-spike",
        /// Complaints in the last hour above the threshold and the 7-day baseline.
        ComplaintSpike = "complaint-spike",
        /// Hard bounces in the last hour above the threshold and the 7-day baseline.
        BounceSpike = "bounce-spike",
        /// Complaints over the configured share of relayed mail in 24 hours.
        ComplaintRate = "complaint-rate",
        /// An import of many rows.
        ImportBurst = "import-burst",
        /// Many feedback messages in one hour.
        FeedbackBurst = "feedback-burst",
        /// The replica is not current (or is current again).
        ReplicaBehind = "replica-behind",
    }
}

/// Where an alert's webhook delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// No webhook is configured.
    None,
    /// Waiting for (another) attempt.
    Pending {
        /// Attempts so far.
        attempts: u32,
        /// Not before this moment.
        next_try: Timestamp,
        /// What the last attempt met.
        last_error: Option<String>,
    },
    /// The webhook answered 2xx.
    Delivered {
        /// When.
        at: Timestamp,
        /// Its status code.
        status: u16,
        /// Attempts it took.
        attempts: u32,
    },
    /// Given up after a day of attempts.
    GaveUp {
        /// When.
        at: Timestamp,
        /// Attempts made.
        attempts: u32,
        /// What the last attempt met.
        last_error: String,
    },
}

impl Delivery {
    /// Where the delivery stands, in words.
    pub fn describe(&self) -> String {
        match self {
            Delivery::None => "none configured".into(),
            Delivery::Pending {
                attempts,
                last_error,
                ..
            } => match last_error {
                Some(e) => format!("pending after {attempts} attempts: {e}"),
                None => "pending".into(),
            },
            Delivery::Delivered {
                status, attempts, ..
            } => {
                format!("delivered ({status}, attempt {attempts})")
            }
            Delivery::GaveUp {
                attempts,
                last_error,
                ..
            } => format!("given up after {attempts} attempts: {last_error}"),
        }
    }
}

/// One alert, on the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Monotonic id.
    pub id: u64,
    /// When it was raised.
    pub at: Timestamp,
    /// The rule.
    pub rule: AlertRule,
    /// What it is about: `all`, `group:NAME`, `sender:ADDRESS`, `node:NAME`, a lift's target.
    pub scope: String,
    /// One line.
    pub subject: String,
    /// The details, in words.
    pub text: String,
    /// The figures behind it (`count`, `baseline`, `threshold`, ...), as name and value.
    pub figures: Vec<(String, String)>,
    /// The webhook delivery.
    pub webhook: Delivery,
    /// The addresses it was mailed to (queued in the outbox with it).
    pub emailed: Vec<String>,
}

/// Where alerting stands: the last history event read, and when each alert key last fired
/// (a rule fires once per key and window, not at every evaluation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The id of the last event read.
    pub cursor: u64,
    /// Alert key -> when it last fired.
    pub fired: Vec<(String, Timestamp)>,
    /// Whether the replica was last seen behind.
    pub replica_behind: bool,
}
