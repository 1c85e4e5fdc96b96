//! Erasure that keeps the block: every record of one contact keeps only the hashed key (see
//! [`crate::hashing`]), the reason, the dates and the actors; the address, names and free text
//! go. The entry stays in force under the hashed key, which RCPT probes too. One transaction;
//! the writer then compacts the file so that no old page still holds the address.

use std::collections::HashMap;

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
    /// Whether the file was compacted after it (no old page holds the address).
    #[serde(default)]
    pub compacted: bool,
}

/// One contact to erase: its match key, its normalised address, its hashed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The match key.
    pub key: String,
    /// The normalised address (searched for in free text).
    pub address: String,
    /// The hashed key its records will carry.
    pub hashed: String,
    /// Its key in the hashed feed (under the feed's salt), sealed with the erasure salt (see
    /// [`crate::hashing::Salt::seal_feed_key`]) and kept beside the hashed key: the feed
    /// carries erased contacts too, and cannot compute it later.
    pub feed_key: String,
}

impl Contact {
    /// A contact to erase, its keys hashed with the erasure salt and the feed's.
    pub fn new(key: String, address: String, salt: &crate::hashing::Salt) -> Contact {
        let hashed = salt.hash(&key);
        let feed_key = salt
            .seal_feed_key(&hashed, &salt.feed_salt().hash(&key))
            .unwrap_or_default();
        Contact {
            hashed,
            feed_key,
            key,
            address,
        }
    }
}

/// Applies an erasure of one or more contacts, in one transaction.
pub(super) fn apply(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    work: Work,
) -> Result<Output, StoreError> {
    let Work::Erase {
        contacts,
        proof,
        salt,
        actor,
        block,
    } = work
    else {
        return Err(StoreError::Io("not an erasure".into()));
    };
    {
        let mut meta = t.txn.open_table(tables::META)?;
        let known = meta.get(tables::SALT_KEY)?.map(|v| v.value());
        if known.is_some_and(|k| k != salt) {
            return Ok(Output::Erased(Err(Refusal::Conflict(
                "the erasure salt is not the one earlier erasures used; nothing was changed".into(),
            ))));
        }
        meta.insert(tables::SALT_KEY, salt)?;
    }
    if contacts.iter().any(|c| crate::hashing::is_hashed(&c.key)) {
        return Ok(Output::Erased(Err(Refusal::Conflict(
            "that key is already a hashed one".into(),
        ))));
    }
    let by_key: HashMap<&str, &Contact> = contacts.iter().map(|c| (c.key.as_str(), c)).collect();
    let mut done: HashMap<&str, Erased> = contacts
        .iter()
        .map(|c| {
            let e = Erased {
                hashed: c.hashed.clone(),
                ..Erased::default()
            };
            (c.key.as_str(), e)
        })
        .collect();
    for c in &contacts {
        let d = done
            .get_mut(c.key.as_str())
            .ok_or_else(|| StoreError::Io("erase".into()))?;
        d.was_listed = entry(t, now, &c.key, &c.hashed, &actor, block)?;
        if d.was_listed || block {
            // Listed under its hash: the feed must go on carrying it. A contact that was
            // never listed (a purge of consents alone) is not in the feed at all.
            t.txn
                .open_table(tables::FEED_KEYS)?
                .insert(c.hashed.as_str(), c.feed_key.as_str())?;
        }
        d.events = history(t, &c.key, &c.hashed)?;
        d.consents = consents(t, &c.key, &c.hashed)?;
    }
    for (key, n) in attempts(t, &by_key)? {
        if let Some(d) = done.get_mut(key.as_str()) {
            d.attempts = n;
        }
    }
    for (key, n) in feedback(t, &by_key)? {
        if let Some(d) = done.get_mut(key.as_str()) {
            d.feedback = n;
        }
    }
    others(t, &by_key, now, &actor)?;
    let mut out = Vec::with_capacity(contacts.len());
    for c in &contacts {
        let proof = proof
            .replace(&c.address, &c.hashed)
            .replace(&c.key, &c.hashed);
        let kind = EventKind::Erased {
            target: c.hashed.clone(),
            proof,
        };
        let mut d = done.remove(c.key.as_str()).unwrap_or_default();
        d.event_id = event(t, ids, now, &actor, kind, Some(&c.hashed))?;
        out.push(d);
    }
    Ok(Output::Erased(Ok(out)))
}

/// The contact a recipient or target (in any spelling) is, among those erased.
fn which<'a>(by_key: &HashMap<&str, &'a Contact>, text: &str) -> Option<&'a Contact> {
    if let Some(c) = by_key.get(text) {
        return Some(c);
    }
    recipient_keys(text)
        .iter()
        .find_map(|k| by_key.get(k.as_str()).copied())
}

/// The entry moves to the hashed key, its evidence emptied; a contact that was not listed
/// is listed now (reason `legal`): an erased contact is never mailed again.
fn entry(
    t: &mut Tables<'_>,
    now: Timestamp,
    key: &str,
    hashed: &str,
    actor: &Actor,
    block: bool,
) -> Result<bool, StoreError> {
    let plain: Option<Entry> = match t.suppressions.remove(key)? {
        Some(v) => Some(decode(v.value())?),
        None => None,
    };
    // Erased before (an erasure run again, maybe after the contact was added again in
    // clear): its entry stands, and takes in the other one without weakening.
    let held: Option<Entry> = match t.suppressions.get(hashed)? {
        Some(v) => Some(decode(v.value())?),
        None => None,
    };
    let found = match (held, plain) {
        (Some(mut h), Some(p)) => {
            h.absorb(p.reason, p.source, "", &p.units);
            h.added_at = h.added_at.min(p.added_at);
            Some(h)
        }
        (h, p) => h.or(p),
    };
    let was_listed = found.is_some();
    if !was_listed && !block {
        return Ok(false);
    }
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

/// Send records to the contacts (any `+tag` of them): the recipient becomes the hashed
/// key, indexed under it only. One pass over the records.
fn attempts(
    t: &mut Tables<'_>,
    by_key: &HashMap<&str, &Contact>,
) -> Result<HashMap<String, u64>, StoreError> {
    let mut found: Vec<(u128, Attempt, &Contact)> = Vec::new();
    for row in t.attempts.iter()? {
        let (id, value) = row?;
        let a: Attempt = decode(value.value())?;
        if let Some(c) = which(by_key, &a.rcpt) {
            found.push((id.value(), a, c));
        }
    }
    let mut counts = HashMap::new();
    for (id, mut a, c) in found {
        // Its index rows under the spelling it was sent to (`+tag` and all) go too.
        for k in recipient_keys(&a.rcpt) {
            t.attempts_by_key.remove(k.as_str(), id)?;
        }
        t.attempts_by_key.insert(c.hashed.as_str(), id)?;
        a.rcpt = c.hashed.clone();
        // Every field that may name it: the entry or lock it met, the replies quoting it.
        match &mut a.outcome {
            AttemptOutcome::Refused { target, .. } | AttemptOutcome::Locked { target, .. } => {
                if which(by_key, target).is_some() {
                    *target = c.hashed.clone();
                }
            }
            AttemptOutcome::Rejected { reply } => reply.clear(),
            AttemptOutcome::Relayed { upstream, .. } => upstream.clear(),
        }
        t.attempts.insert(id, encode(&a)?.as_slice())?;
        *counts.entry(c.key.clone()).or_insert(0) += 1;
    }
    for c in by_key.values() {
        let indexed: Vec<u128> = t
            .attempts_by_key
            .get(c.key.as_str())?
            .map(|id| id.map(|v| v.value()))
            .collect::<Result<_, _>>()?;
        for id in indexed {
            t.attempts_by_key.insert(c.hashed.as_str(), id)?;
        }
        t.attempts_by_key.remove_all(c.key.as_str())?;
    }
    Ok(counts)
}

/// Feedback records naming the contacts: their actions carry the hashed key, and the
/// message's text (the evidence) goes. One pass over the records.
fn feedback(
    t: &mut Tables<'_>,
    by_key: &HashMap<&str, &Contact>,
) -> Result<HashMap<String, u64>, StoreError> {
    let mut table = t.txn.open_table(tables::FEEDBACK)?;
    let mut found: Vec<(u64, Record)> = Vec::new();
    for row in table.iter()? {
        let (id, value) = row?;
        let r: Record = decode(value.value())?;
        let text = r.evidence.to_ascii_lowercase();
        let names = r.actions.iter().any(|a| which(by_key, &a.target).is_some())
            || by_key.values().any(|c| text.contains(c.address.as_str()));
        if names {
            found.push((id.value(), r));
        }
    }
    let mut counts = HashMap::new();
    for (id, mut r) in found {
        for a in &mut r.actions {
            if let Some(c) = which(by_key, &a.target) {
                a.target = c.hashed.clone();
                a.why.clear();
                *counts.entry(c.key.clone()).or_insert(0) += 1;
            }
        }
        r.evidence.clear();
        table.insert(id, encode(&r)?.as_slice())?;
    }
    Ok(counts)
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
fn others(
    t: &mut Tables<'_>,
    by_key: &HashMap<&str, &Contact>,
    now: Timestamp,
    actor: &Actor,
) -> Result<(), StoreError> {
    {
        let mut table = t.txn.open_table(tables::INTERACTIONS)?;
        for c in by_key.values() {
            let last = table.remove(c.key.as_str())?.map(|v| v.value());
            if let Some(last) = last {
                table.insert(c.hashed.as_str(), last)?;
            }
        }
    }
    let mut lifts: Vec<(u64, super::Lift, &Contact)> = Vec::new();
    for row in t.lifts.iter()? {
        let (id, value) = row?;
        let lift: super::Lift = decode(value.value())?;
        if let Some(c) = by_key.get(lift.key.as_str()) {
            lifts.push((id.value(), lift, c));
        }
    }
    for (id, mut lift, c) in lifts {
        lift.key = c.hashed.clone();
        lift.target = c.hashed.clone();
        lift.proof.clear();
        match &mut lift.decision {
            Some(d) => d.why = d.why.as_ref().map(|_| String::new()),
            // A pending lift would unblock the erased contact on no evidence left: denied.
            None => {
                lift.decision = Some(super::LiftDecision {
                    approved: false,
                    by: actor.clone(),
                    at: now,
                    why: Some("the contact was erased".into()),
                })
            }
        }
        t.lifts.insert(id, encode(&lift)?.as_slice())?;
    }
    for c in by_key.values() {
        t.locks.remove(super::contact_lock_key(&c.key).as_str())?;
    }
    let mut table = t.txn.open_table(tables::RETURN_PATHS)?;
    let mut gone = Vec::new();
    for row in table.iter()? {
        let (id, value) = row?;
        let rp: ReturnPath = decode(value.value())?;
        if which(by_key, &rp.recipient).is_some() {
            gone.push(id.value());
        }
    }
    for id in gone {
        table.remove(id)?;
    }
    Ok(())
}
