//! Every redb table of the store, in one place, with the encoding of its values.
//!
//! Values are a format byte followed by postcard: the byte lets a later version read old rows
//! (and refuse rows it does not know) instead of misreading them.

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

/// Store-wide facts such as the schema version.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The `META` key holding the schema version.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// The format byte of every value written by this build.
const FORMAT_V1: u8 = 1;

/// Encodes a value as format byte + postcard.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![FORMAT_V1];
    let body = postcard::to_stdvec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a value written by [`encode`]; an unknown format byte is an error, never a guess.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => {
            postcard::from_bytes(body).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        Some((other, _)) => Err(StoreError::Corrupt(format!(
            "unknown value format {other}"
        ))),
        None => Err(StoreError::Corrupt("empty value".into())),
    }
}
