//! The hashed feed: the list as subcontractors receive it (salted hashes of match keys,
//! reasons, scopes and dates, never an address), who may pull it, and every pull.
//!
//! Stored with postcard: new variants go at the end of each enum, new fields at the end.

use serde::{Deserialize, Serialize};

use super::{Actor, Reason, Timestamp, Units};

/// The hashing scheme of feed keys: `sha256:` and the hex SHA-256 of the 32-byte salt
/// followed by the UTF-8 match key (an address, `@domain`, or `+E164`), as
/// [`crate::hashing::Salt::hash`] computes it.
pub const SCHEME: &str = "sha256(salt || match-key)";

/// A subcontractor allowed to pull the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Its name (`acme-calls`).
    pub name: String,
    /// The SHA-256 (hex) of its bearer token; the token itself is shown once and never kept.
    pub token_sha256: String,
    /// When it was added.
    pub added_at: Timestamp,
    /// Who added it.
    pub added_by: Actor,
    /// When, by whom and why its token was revoked.
    pub revoked: Option<Revocation>,
}

/// The end of a subscriber's access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: Actor,
    /// Why.
    pub why: String,
}

/// One pull of the feed, as the serving relay recorded it. Idle long polls of one
/// subscriber at one position are one record, counted (`count`, `first_at`..`last_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    /// The record's id.
    pub id: u64,
    /// The subscriber.
    pub subscriber: String,
    /// The client's address.
    pub peer: String,
    /// When the (first) pull was served.
    pub first_at: Timestamp,
    /// When the last pull of this record was served.
    pub last_at: Timestamp,
    /// Pulls in this record.
    pub count: u64,
    /// The position asked for (`since`).
    pub since: u64,
    /// The position served up to (the subscriber's next `since`).
    pub next: u64,
    /// The list's head when it was served.
    pub head: u64,
    /// Changes served.
    pub changes: u64,
}

/// What a change does to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// The key is listed (or its reason or scope changed).
    Block,
    /// The key is no longer listed (a lift approved by two people).
    Remove,
}

/// One change of the hashed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The salted hash of the match key.
    pub key: String,
    /// Listed, or no longer.
    pub op: Op,
    /// Why it is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The units whose senders it binds (`all`, or names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Units>,
    /// Since when it is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// The position of the last change of this key.
    pub seq: u64,
}

/// One answer of `GET /feed?since=SEQ`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// How keys are hashed ([`SCHEME`]).
    pub scheme: String,
    /// The salt (hex): a follower hashes its recipients with it.
    pub salt: String,
    /// The position this page starts after.
    pub since: u64,
    /// The position it ends at: the next `since`.
    pub next: u64,
    /// When the event at `next` was written: the next pull says it back (`at=`), so that a
    /// list restored from an older backup, whose positions are written anew, is noticed.
    #[serde(default)]
    pub next_at: Option<Timestamp>,
    /// The list's head when served; `more` is false once `next` reached it.
    pub head: u64,
    /// Whether more pages follow at once.
    pub more: bool,
    /// The `+tag` separator the company's relay strips when it matches (`""`: none): a
    /// follower must match the same way, or a tagged spelling would pass it.
    #[serde(default)]
    pub tag_separator: String,
    /// When it was served.
    pub served_at: Timestamp,
    /// The changes, one per key.
    pub changes: Vec<Change>,
}

/// A key a follower holds from the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// Why.
    pub reason: Reason,
    /// The units it binds.
    pub units: Units,
    /// Since when.
    pub since: Timestamp,
    /// The position of its last change.
    pub seq: u64,
}

/// Where a follower stands with its feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowState {
    /// The feed's salt (hex).
    pub salt: String,
    /// The position applied.
    pub applied: u64,
    /// The feed's head at the last pull.
    pub head: u64,
    /// When the last pull was applied.
    pub pulled_at: Timestamp,
    /// When the follower last held everything the feed had (its last page with no more).
    pub caught_up_at: Option<Timestamp>,
    /// Keys held.
    pub keys: u64,
    /// When the event at `applied` was written on the company's relay (see [`Page::next_at`]).
    pub applied_at: Option<Timestamp>,
}
