//! Erasure that keeps the block: every record of one contact keeps only the hashed key (see
//! [`crate::hashing`]), the reason, the dates and the actors; the address, names and free text
//! go. The entry stays in force under the hashed key, which RCPT probes too. One transaction;
//! the writer then compacts the file so that no old page still holds the address.

use redb::{ReadableMultimapTable, ReadableTable};

use super::rules::{event, recipient_keys, Ids, Output, Tables, Work};
use super::tables::{self, decode, encode};
use super::{Refusal, StoreError};
use crate::model::consent::Consent;
use crate::model::feedback::{Record, ReturnPath};
use crate::model::{
    Actor, Attempt, AttemptOutcome, Entry, Event, EventKind, Reason, Source, Timestamp,
};

/// What an erasure rewrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Erased {
    /// The hashed key the contact's records now carry.
    pub hashed: String,
    /// Whether an entry was already on the list (else one was made: reason `legal`).
    pub was_listed: bool,
    /// History events rewritten.
    pub events: u64,
    /// Send records rewritten.
    pub attempts: u64,
    /// Feedback records rewritten.
    pub feedback: u64,
    /// Consents rewritten.
    pub consents: u64,
    /// The event that recorded the erasure.
    pub event_id: u64,
}

/// Applies an erasure.
pub(super) fn apply(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    work: Work,
) -> Result<Output, StoreError> {
    let Work::Erase {
        key,
        address,
        hashed,
        proof,
        actor,
    } = work
    else {
        return Err(StoreError::Io("not an erasure".into()));
    };
    if crate::hashing::is_hashed(&key) {
        return Ok(Output::Erased(Err(Refusal::Conflict(
            "that key is already a hashed one".into(),
        ))));
    }
    let mut done = Erased {
        hashed: hashed.clone(),
        ..Erased::default()
    };
    done.was_listed = entry(t, now, &key, &hashed, &actor)?;
    done.events = history(t, &key, &hashed)?;
    done.attempts = attempts(t, &key, &hashed)?;
    done.feedback = feedback(t, &key, &address, &hashed)?;
    done.consents = consents(t, &key, &hashed)?;
    others(t, &key, &hashed)?;
    let proof = proof.replace(&address, &hashed).replace(&key, &hashed);
    let kind = EventKind::Erased {
        target: hashed.clone(),
        proof,
    };
    done.event_id = event(t, ids, now, &actor, kind, Some(&hashed))?;
    Ok(Output::Erased(Ok(done)))
}

/// The entry moves to the hashed key, its evidence emptied; a contact that was not listed
/// is listed now (reason `legal`): an erased contact is never mailed again.
fn entry(
    t: &mut Tables<'_>,
    now: Timestamp,
    key: &str,
    hashed: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let found: Option<Entry> = match t.suppressions.remove(key)? {
        Some(v) => Some(decode(v.value())?),
        None => None,
    };
    let was_listed = found.is_some();
    let mut entry = found.unwrap_or_else(|| Entry {
        target: String::new(),
        reason: Reason::Legal,
        source: Source::Admin,
        evidence: String::new(),
        actor: actor.clone(),
        added_at: now,
        event_id: 0,
        units: crate::model::Units::all(),
    });
    entry.target = hashed.to_string();
    entry.evidence.clear();
    t.suppressions.insert(hashed, encode(&entry)?.as_slice())?;
    Ok(was_listed)
}

/// The history filed under the key, rewritten in place and filed under the hashed key.
fn history(t: &mut Tables<'_>, key: &str, hashed: &str) -> Result<u64, StoreError> {
    let ids: Vec<u64> = t
        .by_key
        .get(key)?
        .map(|id| id.map(|v| v.value()))
        .collect::<Result<_, _>>()?;
    for id in &ids {
        let found: Option<Event> = match t.events.get(*id)? {
            Some(v) => Some(decode(v.value())?),
            None => None,
        };
        if let Some(mut event) = found {
            event.kind.redact(hashed);
            t.events.insert(*id, encode(&event)?.as_slice())?;
        }
        t.by_key.insert(hashed, *id)?;
    }
    t.by_key.remove_all(key)?;
    Ok(ids.len() as u64)
}

/// Send records to the contact (any `+tag` of it): the recipient becomes the hashed key.
fn attempts(t: &mut Tables<'_>, key: &str, hashed: &str) -> Result<u64, StoreError> {
    let mut found: Vec<(u128, Attempt)> = Vec::new();
    for row in t.attempts.iter()? {
        let (id, value) = row?;
        let a: Attempt = decode(value.value())?;
        if recipient_keys(&a.rcpt).iter().any(|k| k == key) {
            found.push((id.value(), a));
        }
    }
    for (id, mut a) in found.iter().cloned() {
        // Its index rows under the spelling it was sent to (`+tag` and all) go too.
        for k in recipient_keys(&a.rcpt) {
            t.attempts_by_key.remove(k.as_str(), id)?;
        }
        t.attempts_by_key.insert(hashed, id)?;
        a.rcpt = hashed.to_string();
        if let AttemptOutcome::Refused { target, .. } = &mut a.outcome {
            if target == key {
                *target = hashed.to_string();
            }
        }
        t.attempts.insert(id, encode(&a)?.as_slice())?;
    }
    let indexed: Vec<u128> = t
        .attempts_by_key
        .get(key)?
        .map(|id| id.map(|v| v.value()))
        .collect::<Result<_, _>>()?;
    for id in indexed {
        t.attempts_by_key.insert(hashed, id)?;
    }
    t.attempts_by_key.remove_all(key)?;
    Ok(found.len() as u64)
}

/// Feedback records naming the contact: its actions carry the hashed key, and the message's
/// text (the evidence) goes.
fn feedback(t: &mut Tables<'_>, key: &str, address: &str, hashed: &str) -> Result<u64, StoreError> {
    let mut table = t.txn.open_table(tables::FEEDBACK)?;
    let mut found: Vec<(u64, Record)> = Vec::new();
    for row in table.iter()? {
        let (id, value) = row?;
        let r: Record = decode(value.value())?;
        let names = r
            .actions
            .iter()
            .any(|a| a.target == key || recipient_keys(&a.target).iter().any(|k| k == key))
            || r.evidence.to_ascii_lowercase().contains(address);
        if names {
            found.push((id.value(), r));
        }
    }
    for (id, mut r) in found.iter().cloned() {
        for a in &mut r.actions {
            if a.target == key || recipient_keys(&a.target).iter().any(|k| k == key) {
                a.target = hashed.to_string();
                a.why.clear();
            }
        }
        r.evidence.clear();
        table.insert(id, encode(&r)?.as_slice())?;
    }
    Ok(found.len() as u64)
}

/// Consents move to the hashed key, their proof emptied.
fn consents(t: &mut Tables<'_>, key: &str, hashed: &str) -> Result<u64, StoreError> {
    let mut table = t.txn.open_table(tables::CONSENTS)?;
    let start = format!("{key}\u{0}");
    let end = format!("{key}\u{1}");
    let mut found: Vec<(String, Consent)> = Vec::new();
    for row in table.range(start.as_str()..end.as_str())? {
        let (k, value) = row?;
        found.push((k.value().to_string(), decode(value.value())?));
    }
    for (old, mut c) in found.iter().cloned() {
        table.remove(old.as_str())?;
        c.key = hashed.to_string();
        c.proof.clear();
        if let Some(w) = &mut c.withdrawn {
            w.why.clear();
        }
        table.insert(
            Consent::store_key(hashed, &c.purpose).as_str(),
            encode(&c)?.as_slice(),
        )?;
    }
    Ok(found.len() as u64)
}

/// The rest: the last interaction, lift requests, the contact's lock, return paths.
fn others(t: &mut Tables<'_>, key: &str, hashed: &str) -> Result<(), StoreError> {
    {
        let mut table = t.txn.open_table(tables::INTERACTIONS)?;
        let last = table.remove(key)?.map(|v| v.value());
        if let Some(last) = last {
            table.insert(hashed, last)?;
        }
    }
    let mut lifts: Vec<(u64, super::Lift)> = Vec::new();
    for row in t.lifts.iter()? {
        let (id, value) = row?;
        let lift: super::Lift = decode(value.value())?;
        if lift.key == key {
            lifts.push((id.value(), lift));
        }
    }
    for (id, mut lift) in lifts {
        lift.key = hashed.to_string();
        lift.target = hashed.to_string();
        lift.proof.clear();
        if let Some(d) = &mut lift.decision {
            d.why = d.why.as_ref().map(|_| String::new());
        }
        t.lifts.insert(id, encode(&lift)?.as_slice())?;
    }
    t.locks.remove(super::contact_lock_key(key).as_str())?;
    let mut table = t.txn.open_table(tables::RETURN_PATHS)?;
    let mut gone = Vec::new();
    for row in table.iter()? {
        let (id, value) = row?;
        let rp: ReturnPath = decode(value.value())?;
        if recipient_keys(&rp.recipient).iter().any(|k| k == key) {
            gone.push(id.value());
        }
    }
    for id in gone {
        table.remove(id)?;
    }
    Ok(())
}
