//! Consent in the store: one row per contact and purpose (`CONSENTS`, replicated), each
//! change with its history event filed under the contact's key. A withdrawn consent stays,
//! marked withdrawn: nothing is deleted from history.

use redb::ReadableTable;

use super::replica::Replicated;
use super::rules::{event, Ids, Output, Tables, Work};
use super::tables::{self, decode, encode};
use super::{Refusal, StoreError};
use crate::model::consent::{Consent, Withdrawal};
use crate::model::{Actor, EventKind, Timestamp};

/// Applies a consent write.
pub(super) fn apply(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    work: Work,
) -> Result<Output, StoreError> {
    match work {
        Work::GiveConsents(consents, actor) => {
            give(t, ids, now, consents, &actor).map(Output::Consents)
        }
        Work::WithdrawConsent {
            key,
            purpose,
            why,
            actor,
        } => withdraw(t, ids, now, &key, &purpose, why, &actor).map(Output::Consent),
        _ => Err(StoreError::Io("not a consent write".into())),
    }
}

/// Records consents (a new one replaces an earlier one of the same contact and purpose,
/// withdrawn or not); returns them as stored.
pub(super) fn give(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    consents: Vec<Consent>,
    actor: &Actor,
) -> Result<Result<Vec<Consent>, Refusal>, StoreError> {
    // A consent withdrawn stays withdrawn unless the contact consented again after: a
    // consent dated before the withdrawal (an old form, an old CRM export) is refused.
    for c in &consents {
        let key = Consent::store_key(&c.key, &c.purpose);
        let table = t.txn.open_table(tables::CONSENTS)?;
        let stored: Option<Consent> = table
            .get(key.as_str())?
            .map(|v| decode(v.value()))
            .transpose()?;
        if let Some(w) = stored.and_then(|s| s.withdrawn) {
            if c.given_at <= w.at {
                return Ok(Err(Refusal::Conflict(format!(
                    "{}'s consent for {} was withdrawn {} ({}); a new one must be given after that (--at); nothing was recorded",
                    c.key, c.purpose, w.at, w.why
                ))));
            }
        }
    }
    let mut out = Vec::with_capacity(consents.len());
    for mut c in consents {
        let kind = EventKind::ConsentGiven {
            target: c.key.clone(),
            purpose: c.purpose.clone(),
            channel: c.channel,
            proof: c.proof.clone(),
            double_opt_in: c.double_opt_in,
            given_at: c.given_at,
        };
        c.event_id = event(t, ids, now, actor, kind, Some(&c.key))?;
        c.actor = actor.clone();
        c.withdrawn = None;
        let key = Consent::store_key(&c.key, &c.purpose);
        t.txn
            .open_table(tables::CONSENTS)?
            .insert(key.as_str(), encode(&c)?.as_slice())?;
        t.journal.row(Replicated::Consents, &key);
        out.push(c);
    }
    Ok(Ok(out))
}

/// Withdraws the consent in force of a contact for a purpose.
pub(super) fn withdraw(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    contact: &str,
    purpose: &str,
    why: String,
    actor: &Actor,
) -> Result<Result<Consent, Refusal>, StoreError> {
    let key = Consent::store_key(contact, purpose);
    let found: Option<Consent> = {
        let table = t.txn.open_table(tables::CONSENTS)?;
        let value = table.get(key.as_str())?;
        value.map(|v| decode(v.value())).transpose()?
    };
    let mut consent = match found {
        Some(c) if c.withdrawn.is_none() => c,
        _ => {
            return Ok(Err(Refusal::NotFound(format!(
                "{contact} has no consent in force for {purpose}; nothing was changed"
            ))))
        }
    };
    let kind = EventKind::ConsentWithdrawn {
        target: contact.to_string(),
        purpose: purpose.to_string(),
        why: why.clone(),
    };
    event(t, ids, now, actor, kind, Some(contact))?;
    consent.withdrawn = Some(Withdrawal {
        at: now,
        by: actor.clone(),
        why,
    });
    t.txn
        .open_table(tables::CONSENTS)?
        .insert(key.as_str(), encode(&consent)?.as_slice())?;
    t.journal.row(Replicated::Consents, &key);
    Ok(Ok(consent))
}
