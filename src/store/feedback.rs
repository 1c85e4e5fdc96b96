//! Feedback in the store: every message the classifier read is kept as a record, its
//! suppressions go through the one add path ([`super::rules`]'s `add`) in the same
//! transaction, and each address it names gets an event in its timeline. Review items wait
//! in the record until a person confirms (an add) or dismisses them.

use redb::{ReadableTable, Table};

use super::rules::{add, event, Ids, Tables};
use super::tables::{self, decode, encode};
use super::{AddOutcome, NewEntry, Refusal, StoreError};
use crate::address::Target;
use crate::model::feedback::{ActionKind, Arrival, Record, ReviewState};
use crate::model::{Actor, EventKind, Timestamp, Units};

/// What recording a message did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// A new record, with the outcome of each suppression it made (in action order).
    New(Record, Vec<AddOutcome>),
    /// The same message was recorded before (same SHA-256): nothing changed.
    Seen(Record),
}

/// Records a classified message: the record (its id and time given here), its suppressions
/// through the one add path, an event per address it names. A message recorded before is
/// left as it was.
pub(super) fn record(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    mut record: Record,
    arrival: Option<u64>,
    forward: Option<crate::model::outbox::Forward>,
) -> Result<Recorded, StoreError> {
    if let Some(id) = arrival {
        t.txn.open_table(tables::FEEDBACK_INBOX)?.remove(id)?;
    }
    let mut feedback = t.txn.open_table(tables::FEEDBACK)?;
    let mut by_hash = t.txn.open_table(tables::FEEDBACK_BY_HASH)?;
    if let Some(id) = by_hash.get(record.sha256.as_str())?.map(|v| v.value()) {
        return Ok(Recorded::Seen(load(&feedback, id)?));
    }
    record.id = ids.feedback;
    ids.feedback += 1;
    record.at = now;
    let mut outcomes = Vec::new();
    for (i, action) in record.actions.iter().enumerate() {
        let Ok(target) = Target::parse(&action.target) else {
            continue; // the classifier only names addresses; an odd one is recorded, not added
        };
        let key = target.match_key();
        match (action.action, action.reason) {
            (ActionKind::Suppress, Some(reason)) => {
                let entry = NewEntry {
                    target,
                    reason,
                    source: record.source,
                    evidence: record.evidence.clone(),
                    units: Units::all(),
                };
                outcomes.push(add(t, ids, now, &record.actor, &entry, &key)?);
            }
            (ActionKind::Review, _) => record.reviews.push((i as u32, ReviewState::Pending)),
            _ => {}
        }
        let kind = EventKind::Feedback {
            feedback: record.id,
            target: action.target.clone(),
            message_kind: record.kind,
            class: record.class,
            action: action.action,
            why: action.why.clone(),
        };
        event(t, ids, now, &record.actor, kind, Some(&key))?;
    }
    feedback.insert(record.id, encode(&record)?.as_slice())?;
    by_hash.insert(record.sha256.as_str(), record.id)?;
    if let Some(forward) = forward {
        let to = forward.mail.rcpts.join(", ");
        super::outbox::queue(t, &forward.mail)?;
        let kind = EventKind::BounceForwarded {
            target: forward.target,
            to,
            feedback: record.id,
        };
        super::rules::event_about(t, ids, now, &record.actor, kind)?;
    }
    Ok(Recorded::New(record, outcomes))
}

/// Keeps a message the feedback listener accepted in the inbox; returns its arrival id.
pub(super) fn arrive(t: &mut Tables<'_>, arrival: &Arrival) -> Result<u64, StoreError> {
    let mut inbox = t.txn.open_table(tables::FEEDBACK_INBOX)?;
    let last = inbox.last()?.map(|(k, _)| k.value()).unwrap_or(0);
    let id = super::outbox::next_id(t, "next_arrival", last)?;
    inbox.insert(id, encode(arrival)?.as_slice())?;
    Ok(id)
}

/// Confirms (suppresses, with `units`) or dismisses the pending review items of record `id`.
#[allow(clippy::too_many_arguments)]
pub(super) fn review(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    id: u64,
    confirm: bool,
    why: String,
    units: Units,
    actor: &Actor,
) -> Result<Result<Record, Refusal>, StoreError> {
    let mut feedback = t.txn.open_table(tables::FEEDBACK)?;
    let mut record = match feedback.get(id)? {
        Some(v) => decode::<Record>(v.value())?,
        None => return Ok(Err(Refusal::NotFound(format!("no feedback #{id}")))),
    };
    if !record.is_pending() {
        let what = match record.reviews.is_empty() {
            true => "has nothing to review",
            false => "was reviewed already",
        };
        return Ok(Err(Refusal::Conflict(format!("feedback #{id} {what}"))));
    }
    for (index, state) in record.reviews.iter_mut() {
        if *state != ReviewState::Pending {
            continue;
        }
        let Some(action) = record.actions.get(*index as usize) else {
            continue;
        };
        let target = Target::parse(&action.target)
            .map_err(|e| StoreError::Corrupt(format!("feedback #{id} target: {e}")))?;
        let key = target.match_key();
        if confirm {
            let entry = NewEntry {
                target,
                reason: action.reason.unwrap_or(crate::model::Reason::Unsubscribe),
                source: record.source,
                evidence: record.evidence.clone(),
                units: units.clone(),
            };
            add(t, ids, now, actor, &entry, &key)?;
            *state = ReviewState::Confirmed {
                by: actor.user.clone(),
                at: now,
            };
        } else {
            *state = ReviewState::Dismissed {
                by: actor.user.clone(),
                at: now,
                why: why.clone(),
            };
        }
        let kind = EventKind::FeedbackReviewed {
            feedback: id,
            target: action.target.clone(),
            confirmed: confirm,
            why: why.clone(),
        };
        event(t, ids, now, actor, kind, Some(&key))?;
    }
    feedback.insert(id, encode(&record)?.as_slice())?;
    Ok(Ok(record))
}

fn load(feedback: &Table<'_, u64, &'static [u8]>, id: u64) -> Result<Record, StoreError> {
    match feedback.get(id)? {
        Some(v) => decode(v.value()),
        None => Err(StoreError::Corrupt(format!(
            "feedback #{id} is indexed but missing"
        ))),
    }
}

/// The id that follows the last record (1 for none).
pub(super) fn next_id(txn: &redb::ReadTransaction) -> Result<u64, StoreError> {
    let feedback = txn.open_table(tables::FEEDBACK)?;
    let last = feedback.last()?.map(|(k, _)| k.value()).unwrap_or(0);
    Ok(last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::feedback::{Action, Class, Kind};
    use crate::model::{Reason, Source};
    use crate::store::{Store, StoreOptions};

    fn action(target: &str, kind: ActionKind, reason: Option<Reason>) -> Action {
        Action {
            target: target.into(),
            action: kind,
            reason,
            status: None,
            why: "test".into(),
        }
    }

    fn message(sha: &str, actions: Vec<Action>) -> Record {
        Record {
            id: 0,
            at: Timestamp(0),
            actor: Actor::system(),
            kind: Kind::Reply,
            class: Some(Class::UnsubscribeCompany),
            actions,
            reviews: Vec::new(),
            source: Source::Reply,
            evidence: "reply: please remove all of us".into(),
            sha256: sha.into(),
            message_id: None,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("dnc.redb"), &StoreOptions::default()).expect("store");
        (dir, store)
    }

    fn listed(store: &Store, target: &str) -> Option<crate::model::Entry> {
        store
            .get(&Target::parse(target).expect("target"))
            .expect("read")
    }

    #[tokio::test]
    async fn a_message_is_recorded_once_its_suppressions_added_and_its_reviews_kept() {
        let (_dir, store) = store();
        let actions = vec![
            action(
                "pat@globex.example",
                ActionKind::Suppress,
                Some(Reason::Unsubscribe),
            ),
            action("@gmail.com", ActionKind::Review, Some(Reason::Unsubscribe)),
            action("lee@globex.example", ActionKind::None, None),
        ];
        let Recorded::New(record, outcomes) = store
            .record_feedback(message("aa", actions.clone()), None)
            .await
            .expect("record")
        else {
            panic!("a new message is a new record");
        };
        assert_eq!(record.id, 1);
        assert_eq!(outcomes.len(), 1);
        let entry = listed(&store, "pat@globex.example").expect("suppressed");
        assert_eq!(
            (entry.reason, entry.source),
            (Reason::Unsubscribe, Source::Reply)
        );
        assert!(entry.evidence.contains("please remove"));
        assert!(
            listed(&store, "@gmail.com").is_none(),
            "a review suppresses nothing yet"
        );
        assert_eq!(record.reviews, vec![(1, ReviewState::Pending)]);
        // The same message again: nothing new.
        let again = store
            .record_feedback(message("aa", actions), None)
            .await
            .expect("record");
        assert!(matches!(again, Recorded::Seen(r) if r.id == 1));
        assert_eq!(store.feedback_records(0, 10, false).expect("list").len(), 1);
        // Each address named has the message in its timeline.
        let history = store
            .history(&Target::parse("lee@globex.example").expect("target"))
            .expect("history");
        assert!(
            matches!(&history[..], [e] if matches!(e.kind, EventKind::Feedback { feedback: 1, .. }))
        );
    }

    #[tokio::test]
    async fn a_review_is_confirmed_or_dismissed_once() {
        let (_dir, store) = store();
        let review = |t: &str| action(t, ActionKind::Review, Some(Reason::Unsubscribe));
        store
            .record_feedback(message("a", vec![review("@gmail.com")]), None)
            .await
            .expect("record");
        store
            .record_feedback(message("b", vec![review("jo@gmail.com")]), None)
            .await
            .expect("record");
        assert_eq!(
            store.feedback_records(0, 10, true).expect("pending").len(),
            2
        );
        let boss = Actor::system();
        let confirmed = store
            .review_feedback(1, true, String::new(), Units::parse(["acme"]), boss.clone())
            .await
            .expect("review")
            .expect("confirmed");
        assert!(matches!(
            confirmed.reviews[0].1,
            ReviewState::Confirmed { .. }
        ));
        let entry = listed(&store, "@gmail.com").expect("suppressed once confirmed");
        assert_eq!(entry.units, Units::parse(["acme"]));
        let dismissed = store
            .review_feedback(2, false, "a joke".into(), Units::all(), boss.clone())
            .await
            .expect("review")
            .expect("dismissed");
        assert!(
            matches!(&dismissed.reviews[0].1, ReviewState::Dismissed { why, .. } if why == "a joke")
        );
        assert!(listed(&store, "jo@gmail.com").is_none());
        assert!(store
            .feedback_records(0, 10, true)
            .expect("pending")
            .is_empty());
        let twice = store
            .review_feedback(2, true, String::new(), Units::all(), boss.clone())
            .await
            .expect("review");
        assert!(matches!(twice, Err(Refusal::Conflict(_))));
        let missing = store
            .review_feedback(9, true, String::new(), Units::all(), boss)
            .await
            .expect("review");
        assert!(matches!(missing, Err(Refusal::NotFound(_))));
    }
    #[tokio::test]
    async fn an_arrival_waits_in_the_inbox_across_a_restart_and_leaves_it_with_its_record() {
        let (dir, store) = store();
        let arrival = |n: u8| crate::model::feedback::Arrival {
            at: Timestamp(1),
            client: "192.0.2.1:25".into(),
            mail_from: String::new(),
            rcpts: vec!["bounces@fb.example.com".into()],
            message: vec![b'x', n],
        };
        assert_eq!(store.accept_arrival(arrival(1)).await.expect("keep"), 1);
        assert_eq!(store.accept_arrival(arrival(2)).await.expect("keep"), 2);
        store.close().await.expect("close");
        let store =
            Store::open(&dir.path().join("dnc.redb"), &StoreOptions::default()).expect("reopen");
        let waiting = store.arrivals(10).expect("inbox");
        assert_eq!(
            waiting.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(waiting[1].1, arrival(2));
        store
            .record_feedback(message("bb", Vec::new()), Some(1))
            .await
            .expect("record");
        let waiting = store.arrivals(10).expect("inbox");
        assert_eq!(waiting.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2]);
        // A message seen before still leaves the inbox.
        store
            .record_feedback(message("bb", Vec::new()), Some(2))
            .await
            .expect("record");
        assert!(store.arrivals(10).expect("inbox").is_empty());
        // Ids are never given twice, even once the inbox is empty again.
        assert_eq!(store.accept_arrival(arrival(3)).await.expect("keep"), 3);
        assert_eq!(store.feedback_records(0, 10, false).expect("list").len(), 1);
    }

    #[tokio::test]
    async fn return_paths_are_pruned_with_the_send_records() {
        let (_dir, store) = store();
        let rp = |at| crate::model::feedback::ReturnPath {
            recipient: "pat@example.com".into(),
            sender: "rep@acme.example".into(),
            group: "prospecting".into(),
            forward: true,
            at,
            salt: 1,
        };
        let old = store
            .keep_return_path(rp(Timestamp(1)))
            .await
            .expect("keep");
        let new = store
            .keep_return_path(rp(Timestamp::now()))
            .await
            .expect("keep");
        store.prune_attempts(Timestamp(1_000)).await.expect("prune");
        assert!(store.return_path(old).expect("read").is_none());
        assert!(store.return_path(new).expect("read").is_some());
    }
}
