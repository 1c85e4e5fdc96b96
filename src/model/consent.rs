//! Consent as the store keeps it: who agreed to be mailed for which purpose, on which
//! channel, when, and with what proof; and when that ended.
//!
//! Stored with postcard: new variants go at the end of each enum, new fields at the end.

use serde::{Deserialize, Serialize};

use super::{named_enum, Actor, Timestamp};

named_enum! {
    /// The channel a consent covers.
    pub enum Channel {
        /// E-mail.
        Email = "email",
        /// Phone calls.
        Phone = "phone",
        /// Text messages.
        Sms = "sms",
        /// Post.
        Post = "post",
    }
}

/// One recorded consent of one contact for one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The contact's match key (the normalised address).
    pub key: String,
    /// The purpose (`newsletter`), from `[[purposes]]`.
    pub purpose: String,
    /// The channel.
    pub channel: Channel,
    /// The proof: the form, the double opt-in mail, the call note.
    pub proof: String,
    /// When the contact consented (as given; the recording time is its event's).
    pub given_at: Timestamp,
    /// The contact confirmed by answering a mail (double opt-in).
    pub double_opt_in: bool,
    /// Who recorded it.
    pub actor: Actor,
    /// The event that recorded it.
    pub event_id: u64,
    /// When and why it ended, if it did.
    pub withdrawn: Option<Withdrawal>,
}

/// The end of a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// When.
    pub at: Timestamp,
    /// Who recorded it (the relay itself for an unsubscribe).
    pub by: Actor,
    /// Why.
    pub why: String,
}

impl Consent {
    /// Whether it is in force at `now`, given how long a consent of its purpose lasts.
    pub fn in_force(&self, now: Timestamp, lasts: Option<std::time::Duration>) -> bool {
        self.withdrawn.is_none()
            && self.given_at <= now
            && lasts.is_none_or(|d| self.given_at.plus(d) > now)
    }

    /// The store key of a contact's consent for a purpose: the contact first, so that one
    /// contact's consents are one range.
    pub fn store_key(key: &str, purpose: &str) -> String {
        format!("{key}\u{0}{purpose}")
    }
}
