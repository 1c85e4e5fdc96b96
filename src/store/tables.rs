//! Every redb table of the store, in one place, with the encoding of its values.
//!
//! Values are a format byte followed by the body: postcard for every table, the history
//! included (events are stored as compact tuples, see `model::Event`). Builds before that
//! wrote events as JSON, format byte 2, which is still read. The byte lets a later version
//! read old rows and refuse rows it does not know.

use redb::{MultimapTableDefinition, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

/// Suppression entries by match key (`alice@example.com`, `jdoe@gmail.com`, `@example.com`).
pub const SUPPRESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("suppressions");

/// The append-only history: event id -> event. Ids are monotonic and never reused.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// Index of the history by match key: key -> ids of the events about it.
pub const EVENTS_BY_KEY: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("events_by_key");

/// Lift requests by id.
pub const LIFTS: TableDefinition<u64, &[u8]> = TableDefinition::new("lifts");

/// Send records (relayed and refused recipients) by time-ordered id.
pub const ATTEMPTS: TableDefinition<u128, &[u8]> = TableDefinition::new("attempts");

/// Index of the send records: recipient match key (and refusing entry key) -> attempt ids.
pub const ATTEMPTS_BY_KEY: MultimapTableDefinition<&str, u128> =
    MultimapTableDefinition::new("attempts_by_key");

/// Ownership locks by key (`c:` + contact match key, `a:` + account).
pub const LOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("locks");

/// Account grouping for account locks: domain -> account.
pub const ACCOUNTS: TableDefinition<&str, &str> = TableDefinition::new("accounts");

/// Feedback records (every message the classifier read) by id.
pub const FEEDBACK: TableDefinition<u64, &[u8]> = TableDefinition::new("feedback");

/// Feedback records by the SHA-256 of their raw message: a message handed over twice is one
/// record.
pub const FEEDBACK_BY_HASH: TableDefinition<&str, u64> = TableDefinition::new("feedback_by_hash");

/// Messages the feedback listener accepted (the `250` said) and not yet recorded, by arrival
/// id: the feedback inbox.
pub const FEEDBACK_INBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("feedback_inbox");

/// Return paths handed out (`bounces+TOKEN@`), by id: what a bounce is about.
pub const RETURN_PATHS: TableDefinition<u64, &[u8]> = TableDefinition::new("return_paths");

/// Where notifications stand (one row, `state`).
pub const NOTIFY: TableDefinition<&str, &[u8]> = TableDefinition::new("notify");

/// Consent per contact and purpose (`KEY\0PURPOSE`), replicated.
pub const CONSENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("consents");

/// Each contact's last interaction (a reply, a click, a consent, something it asked for),
/// by match key: microseconds since the epoch. Mail we sent is not an interaction.
pub const INTERACTIONS: TableDefinition<&str, i64> = TableDefinition::new("interactions");

/// Alerts raised, by id (local to each relay: in a fleet the elected relay raises them).
pub const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");

/// Where alerting stands (one row, `state`).
pub const ALERT_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("alert_state");

/// Subcontractors allowed to pull the hashed feed, by name (replicated).
pub const FEED_SUBSCRIBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("feed_subscribers");

/// Every pull of the hashed feed this relay served, by id (idle polls counted in one row).
pub const FEED_PULLS: TableDefinition<u64, &[u8]> = TableDefinition::new("feed_pulls");

/// Each subscriber's last pull record (its id in [`FEED_PULLS`]).
pub const FEED_LAST_PULL: TableDefinition<&str, u64> = TableDefinition::new("feed_last_pull");

/// An erased contact's key in the hashed feed, by its hashed key (see `hashing::Salt::feed_salt`).
pub const FEED_KEYS: TableDefinition<&str, &str> = TableDefinition::new("feed_keys");

/// A follower: the keys its company's hashed feed lists, by hashed key.
pub const FEED_ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("feed_entries");

/// A follower: where it stands with the feed (one row, `state`).
pub const FEED_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("feed_state");

/// Mail the relay sends on its own, until the upstream took it: the outbox.
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");

/// A fleet relay's adds made while PostgreSQL was unreachable, by match key: in force on this
/// relay (RCPTs read them with the list) until the log holds them.
pub const PENDING_ADDS: TableDefinition<&str, &[u8]> = TableDefinition::new("pending_adds");

/// Those adds, in the order they were made, waiting to be pushed to the fleet's log.
pub const FLEET_OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("fleet_outbox");

/// A fleet relay's own send records not yet copied to PostgreSQL, by attempt id.
pub const SHIP: TableDefinition<u128, &[u8]> = TableDefinition::new("ship");

/// The `META` key set in a fleet replica's store (a single relay refuses it, and a fleet
/// relay refuses a single relay's store with history).
pub const FLEET_KEY: &str = "fleet";

/// The `META` key holding the fingerprint of the salt erased contacts are hashed with.
pub const SALT_KEY: &str = "salt_fingerprint";

/// The `META` key holding the last log entry this replica applied.
pub const FLEET_APPLIED_KEY: &str = "fleet_applied";

/// The `META` key holding the position of the last send record of other relays copied here.
pub const ATTEMPTS_PULLED_KEY: &str = "attempts_pulled";

/// The name prefix of import staging tables (one per import in progress).
pub const STAGING_PREFIX: &str = "import-staging-";

/// The name of import `id`'s staging table.
pub fn staging_name(id: u64) -> String {
    format!("{STAGING_PREFIX}{id}")
}

/// An import's staging table: (match key, file order) -> staged row.
pub fn staging(name: &str) -> TableDefinition<'_, (&'static str, u64), &'static [u8]> {
    TableDefinition::new(name)
}

/// Store-wide facts such as the schema version.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The `META` key holding the schema version.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// The `META` key written when the store is reopened after a write error: a write of the
/// writer's own that proves the store can write again (microseconds since the epoch).
pub const REOPENED_KEY: &str = "reopened_at";

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Format byte: postcard body.
const FORMAT_POSTCARD: u8 = 1;
/// Format byte: JSON body (events written by earlier builds; read, never written).
const FORMAT_JSON: u8 = 2;

/// Encodes a value as format byte + postcard.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![FORMAT_POSTCARD];
    let body = postcard::to_stdvec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a value written by [`encode`] (or as JSON by an earlier build); an unknown format
/// byte is an error, never a guess.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_POSTCARD, body)) => {
            postcard::from_bytes(body).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        Some((&FORMAT_JSON, body)) => {
            serde_json::from_slice(body).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        Some((other, _)) => Err(StoreError::Corrupt(format!("unknown value format {other}"))),
        None => Err(StoreError::Corrupt("empty value".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Entry, Event, EventKind, Reason, Source, Timestamp};

    #[test]
    fn entries_and_events_round_trip() {
        let entry = Entry {
            target: "a@example.com".into(),
            reason: Reason::Complaint,
            source: Source::Fbl,
            evidence: "x".into(),
            actor: Actor::system(),
            added_at: Timestamp(42),
            event_id: 7,
            units: crate::model::Units::parse(["acme"]),
        };
        assert_eq!(decode::<Entry>(&encode(&entry).unwrap()).unwrap(), entry);
        let event = Event {
            id: 7,
            at: Timestamp(42),
            actor: Actor::system(),
            kind: EventKind::Suppressed {
                target: "a@example.com".into(),
                reason: Reason::Complaint,
                source: Source::Fbl,
                evidence: "x".into(),
                units: crate::model::Units::all(),
            },
        };
        let mut old = vec![FORMAT_JSON];
        serde_json::to_writer(&mut old, &event).unwrap();
        assert_eq!(
            decode::<Event>(&old).unwrap(),
            event,
            "rows of earlier builds"
        );
        assert!(decode::<Entry>(&[9, 1, 2]).is_err());
    }
}
