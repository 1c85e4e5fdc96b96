//! The outbox in the store: mail the relay sends on its own, kept until the upstream took it
//! (or it was given up), so that a restart or an upstream outage loses none and a sent one is
//! not sent again.

use redb::ReadableTable;

use super::rules::{event_about, Ids, Output, Tables, Work};
use super::tables::{self, decode, encode};
use super::StoreError;
use crate::model::outbox::Outgoing;
use crate::model::Timestamp;
use crate::model::{Actor, EventKind};

/// Applies the writes of mail the relay sends on its own (the outbox, return paths,
/// notifications).
pub(super) fn apply(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    work: Work,
) -> Result<Output, StoreError> {
    match work {
        Work::NotifyStep { state, mails } => {
            for n in mails {
                queue(t, &n.mail)?;
                let to = n.mail.rcpts.join(", ");
                for (target, subject) in n.about {
                    let kind = EventKind::Notified {
                        target,
                        to: to.clone(),
                        subject,
                    };
                    event_about(t, ids, now, &Actor::system(), kind)?;
                }
            }
            let mut table = t.txn.open_table(tables::NOTIFY)?;
            table.insert("state", encode(&*state)?.as_slice())?;
            Ok(Output::Recorded)
        }
        Work::AlertStep {
            state,
            alerts,
            mails,
        } => {
            for mail in &mails {
                queue(t, mail)?;
            }
            let mut table = t.txn.open_table(tables::ALERTS)?;
            let mut last = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
            for mut alert in alerts {
                last += 1;
                alert.id = last;
                table.insert(last, encode(&alert)?.as_slice())?;
            }
            let mut table = t.txn.open_table(tables::ALERT_STATE)?;
            table.insert("state", encode(&*state)?.as_slice())?;
            Ok(Output::Recorded)
        }
        Work::AlertDelivery { id, delivery } => {
            let mut table = t.txn.open_table(tables::ALERTS)?;
            let found = table
                .get(id)?
                .map(|v| decode::<crate::model::alert::Alert>(v.value()));
            if let Some(alert) = found {
                let mut alert = alert?;
                alert.webhook = delivery;
                table.insert(id, encode(&alert)?.as_slice())?;
            }
            Ok(Output::Recorded)
        }
        Work::ReturnPath(rp) => keep_return_path(t, &rp).map(Output::Arrived),
        Work::Sent(id) => sent(t, id).map(|()| Output::Recorded),
        Work::Retry {
            id,
            next_try,
            error,
        } => retry(t, id, next_try, error).map(|()| Output::Recorded),
        _ => Err(StoreError::Io("not an outbox write".into())),
    }
}

/// Queues `item`; returns its id.
pub(super) fn queue(t: &mut Tables<'_>, item: &Outgoing) -> Result<u64, StoreError> {
    let mut outbox = t.txn.open_table(tables::OUTBOX)?;
    let last = outbox.last()?.map(|(k, _)| k.value()).unwrap_or(0);
    let id = next_id(t, "next_outgoing", last)?;
    outbox.insert(id, encode(item)?.as_slice())?;
    Ok(id)
}

/// The next id of a table whose rows leave it (the inbox, the outbox): counted in `META`
/// under `key`, so that an id is never given twice, even once the table is empty again.
pub(super) fn next_id(t: &mut Tables<'_>, key: &str, last: u64) -> Result<u64, StoreError> {
    let mut meta = t.txn.open_table(tables::META)?;
    let stored = meta.get(key)?.map(|v| v.value()).unwrap_or(0);
    let id = stored.max(last + 1).max(1);
    meta.insert(key, id + 1)?;
    Ok(id)
}

/// Keeps a return path; returns its id.
pub(super) fn keep_return_path(
    t: &mut Tables<'_>,
    rp: &crate::model::feedback::ReturnPath,
) -> Result<u64, StoreError> {
    let mut table = t.txn.open_table(tables::RETURN_PATHS)?;
    let last = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
    let id = next_id(t, "next_return_path", last)?;
    table.insert(id, encode(rp)?.as_slice())?;
    Ok(id)
}

/// Takes `id` out of the outbox.
pub(super) fn sent(t: &mut Tables<'_>, id: u64) -> Result<(), StoreError> {
    t.txn.open_table(tables::OUTBOX)?.remove(id)?;
    Ok(())
}

/// Counts an attempt of `id` and sets its next one.
pub(super) fn retry(
    t: &mut Tables<'_>,
    id: u64,
    next_try: Timestamp,
    error: String,
) -> Result<(), StoreError> {
    let mut outbox = t.txn.open_table(tables::OUTBOX)?;
    let Some(mut item) = outbox
        .get(id)?
        .map(|v| decode::<Outgoing>(v.value()))
        .transpose()?
    else {
        return Ok(());
    };
    item.attempts += 1;
    item.next_try = next_try;
    item.last_error = Some(error);
    outbox.insert(id, encode(&item)?.as_slice())?;
    Ok(())
}
