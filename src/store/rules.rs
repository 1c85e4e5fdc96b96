//! The store's rules: every write is a typed operation ([`Work`]) applied to the tables of
//! one write transaction, and its whole effect is the rows and the history events it writes.
//! Re-adding never weakens an entry; a lift needs a second person and fails if the target was
//! added again after the request; a lock is taken, renewed, reviewed, decided, transferred,
//! released and pruned here. Nothing here batches, commits or syncs: that is the writer's.
//! Each rule is unit-tested below against a temporary redb file.

use redb::{
    Database, MultimapTable, ReadableMultimapTable, ReadableTable, Table, WriteTransaction,
};

use super::replica::Replicated;
use super::tables::{self, decode, encode};
use super::{
    AddOutcome, ImportCounts, ImportSummary, Lift, LiftDecision, NewEntry, Refusal, StagedRow,
    StoreError,
};
use crate::address::Target;
use crate::claims::Claim;
use crate::model::{
    Actor, Attempt, AttemptOutcome, Entry, Event, EventKind, Lock, LockKind, Reason, Review,
    Timestamp,
};

/// What a job does.
pub(super) enum Work {
    Add(NewEntry, Actor),
    AddMany(Vec<NewEntry>, Actor),
    LiftRequest {
        target: Target,
        proof: String,
        actor: Actor,
    },
    LiftDecide {
        id: u64,
        approve: bool,
        why: Option<String>,
        actor: Actor,
    },
    Event(EventKind, Actor),
    /// Erases a contact: its records keep only the hashed key.
    Erase {
        contacts: Vec<super::erase::Contact>,
        proof: String,
        /// The salt's fingerprint (kept with the hashed entries).
        salt: u64,
        actor: Actor,
        /// List a contact that is not listed yet (an erasure request), or not (a purge).
        block: bool,
    },
    /// Records consents.
    GiveConsents(Vec<crate::model::consent::Consent>, Actor),
    /// Withdraws the consent in force of a contact (its match key) for a purpose.
    WithdrawConsent {
        key: String,
        purpose: String,
        why: String,
        actor: Actor,
    },
    /// Send records and the locks a relayed message takes or renews; committed without fsync.
    Records {
        attempts: Vec<Attempt>,
        locks: Vec<(String, Lock)>,
        /// Dropped after the commit (the lock claims, which keep other owners out till then).
        claims: Vec<Claim>,
    },
    /// Nothing: answered once everything queued before it is committed (and synced).
    Barrier,
    Prune {
        before: Timestamp,
    },
    LockUpdate {
        key: String,
        op: LockOp,
        actor: Actor,
    },
    LockPrune {
        now: Timestamp,
    },
    GroupAccount {
        account: String,
        domains: Vec<String>,
        actor: Actor,
    },
    /// Rows of an import set aside in its staging table (no fsync: an import cut short is
    /// void anyway).
    StageImport {
        import: u64,
        entries: Vec<NewEntry>,
    },
    /// Adds every staged row of an import, and its event, in one transaction; drops the
    /// staging table.
    FinishImport {
        import: u64,
        summary: ImportSummary,
        actor: Actor,
    },
    /// Drops an import's staging table.
    AbortImport {
        import: u64,
    },
    /// Records a classified feedback message and makes its suppressions; takes the message
    /// out of the feedback inbox when it came from there.
    Feedback {
        record: Box<crate::model::feedback::Record>,
        arrival: Option<u64>,
        forward: Option<Box<crate::model::outbox::Forward>>,
    },
    /// Keeps a message the feedback listener accepted, until it is recorded.
    Arrival(crate::model::feedback::Arrival),
    /// Keeps a return path handed out (committed without fsync, like send records).
    ReturnPath(Box<crate::model::feedback::ReturnPath>),
    /// Notifications: the new state and the mails it makes, queued in the same transaction.
    NotifyStep {
        state: Box<crate::model::outbox::NotifyState>,
        mails: Vec<crate::model::outbox::Notification>,
    },
    /// Alerting: the new state, the alerts raised and their mails, in one transaction.
    AlertStep {
        state: Box<crate::model::alert::AlertState>,
        alerts: Vec<crate::model::alert::Alert>,
        mails: Vec<crate::model::outbox::Outgoing>,
    },
    /// An alert's webhook delivery moved on.
    AlertDelivery {
        id: u64,
        delivery: crate::model::alert::Delivery,
    },
    /// The outbox message was sent (or given up): it leaves the outbox.
    Sent(u64),
    /// The outbox message waits for another attempt.
    Retry {
        id: u64,
        next_try: Timestamp,
        error: String,
    },
    /// Confirms or dismisses a feedback record's pending reviews.
    FeedbackReview {
        id: u64,
        confirm: bool,
        why: String,
        units: crate::model::Units,
        actor: Actor,
    },
    /// A fleet relay: entries of the fleet's log to apply to this replica.
    Replicate(Vec<super::replica::LogEntry>),
    /// A fleet relay: an add made while the log was unreachable, kept locally to be pushed.
    QueueAdd(Vec<NewEntry>, Actor),
    /// A fleet relay: push the adds kept during an outage to the log (the writer does it).
    PushQueued,
    /// A fleet relay: other relays' send records, and the log position they end at.
    Pulled {
        attempts: Vec<(u128, Vec<u8>)>,
        position: u64,
    },
    /// A fleet relay: its own send records now in PostgreSQL.
    Shipped(Vec<u128>),
    /// A fleet relay: the identity of the log it reached (bound at first, then checked).
    BindFleet(u64),
    /// The hashed feed: subscribers, pulls, a follower's pages.
    Feed(super::feed::FeedWork),
}

/// A fleet relay's jobs that stay in this store: outage adds, other relays' send records,
/// shipped send records.
fn apply_fleet_local(t: &mut Tables<'_>, now: Timestamp, work: Work) -> Result<Output, StoreError> {
    match work {
        Work::QueueAdd(entries, actor) => {
            let add = super::replica::QueuedAdd::new(&entries, &actor, now);
            super::replica::queue_add(t, &add)
                .map(|e| Output::AddedMany(e.into_iter().map(AddOutcome::Queued).collect()))
        }
        Work::Pulled { attempts, position } => {
            for (id, body) in &attempts {
                let attempt: Attempt = decode(body)?;
                let ship = std::mem::replace(&mut t.ship, false);
                let recorded = record_attempt(t, *id, &attempt);
                t.ship = ship;
                recorded?;
            }
            t.txn
                .open_table(tables::META)?
                .insert(tables::ATTEMPTS_PULLED_KEY, position)?;
            Ok(Output::Recorded)
        }
        Work::Shipped(shipped) => {
            let mut ship = t.txn.open_table(tables::SHIP)?;
            for id in shipped {
                ship.remove(id)?;
            }
            Ok(Output::Recorded)
        }
        _ => Err(StoreError::Io("not a fleet job".into())),
    }
}

/// An administrative change to a lock.
#[derive(Debug, Clone)]
pub enum LockOp {
    /// Put under review.
    Review {
        /// Why.
        note: String,
    },
    /// End a review: the lock belongs to this owner.
    Decide {
        /// Owner name.
        owner: String,
        /// Owner team.
        team: Option<String>,
        /// Why.
        note: String,
        /// New expiry if the owner changes.
        expires: Timestamp,
    },
    /// Give the lock to another owner.
    Transfer {
        /// Owner name.
        owner: String,
        /// Owner team.
        team: Option<String>,
        /// Why.
        note: String,
        /// New expiry.
        expires: Timestamp,
    },
    /// End the lock now.
    Release {
        /// Why.
        note: String,
    },
}

/// What a job produced.
pub(super) enum Output {
    Added(AddOutcome),
    AddedMany(Vec<AddOutcome>),
    Lift(Result<Lift, Refusal>),
    Event(u64),
    Recorded,
    Pruned(u64),
    /// Log entries applied to a fleet replica (how many were new).
    Replicated(u64),
    Lock(Result<Option<Lock>, Refusal>),
    Imported(ImportCounts),
    Feedback(super::feedback::Recorded),
    FeedbackReviewed(Result<crate::model::feedback::Record, Refusal>),
    /// The id given to a kept row (a feedback arrival, an outbox message, a return path).
    Arrived(u64),
    Consents(Result<Vec<crate::model::consent::Consent>, Refusal>),
    Consent(Result<crate::model::consent::Consent, Refusal>),
    Erased(Result<Vec<super::erase::Erased>, Refusal>),
    Subscriber(Result<crate::model::feed::Subscriber, Refusal>),
    FeedApplied(super::feed::Applied),
}

/// The next ids to hand out.
#[derive(Clone, Copy)]
pub(super) struct Ids {
    /// A fleet relay: the last log entry applied to this replica.
    pub(super) applied: u64,
    /// A fleet relay: the identity of the log this replica follows (0: not yet bound).
    pub(super) fleet: u64,
    pub(super) event: u64,
    pub(super) lift: u64,
    pub(super) attempt_seq: u32,
    pub(super) feedback: u64,
}

impl Ids {
    /// The ids that follow what the database holds.
    pub(super) fn load(db: &Database) -> Result<Ids, StoreError> {
        let txn = redb::ReadableDatabase::begin_read(db)?;
        let events = txn.open_table(tables::EVENTS)?;
        let lifts = txn.open_table(tables::LIFTS)?;
        let last_event = events.last()?.map(|(k, _)| k.value()).unwrap_or(0);
        let last_lift = lifts.last()?.map(|(k, _)| k.value()).unwrap_or(0);
        let meta = txn.open_table(tables::META)?;
        let applied = meta
            .get(tables::FLEET_APPLIED_KEY)?
            .map(|v| v.value())
            .unwrap_or(0);
        let fleet = meta.get(tables::FLEET_KEY)?.map(|v| v.value()).unwrap_or(0);
        Ok(Ids {
            applied,
            fleet,
            event: last_event + 1,
            lift: last_lift + 1,
            attempt_seq: 0,
            feedback: super::feedback::next_id(&txn)?,
        })
    }
}

/// Send records and locks committed without fsync (or not committed at all, while the store
/// cannot write), kept until a durable commit holds them: a write error makes redb drop what
/// was not yet durable, and they are written again after the store is reopened. Applying them
/// twice changes nothing (the send records keep their ids; a lock is renewed, not retaken).
pub(super) struct RecordBatch {
    pub(super) attempts: Vec<(u128, Attempt)>,
    pub(super) locks: Vec<(String, Lock)>,
}

/// The tables a batch writes, opened once per transaction.
pub(super) struct Tables<'t> {
    /// The transaction, for tables opened on demand (an import's staging table, feedback).
    pub(super) txn: &'t WriteTransaction,
    pub(super) suppressions: Table<'t, &'static str, &'static [u8]>,
    pub(super) events: Table<'t, u64, &'static [u8]>,
    pub(super) by_key: MultimapTable<'t, &'static str, u64>,
    pub(super) lifts: Table<'t, u64, &'static [u8]>,
    pub(super) attempts: Table<'t, u128, &'static [u8]>,
    pub(super) attempts_by_key: MultimapTable<'t, &'static str, u128>,
    pub(super) locks: Table<'t, &'static str, &'static [u8]>,
    pub(super) accounts: Table<'t, &'static str, &'static str>,
    /// What the transaction changed in replicated tables (for the fleet's log).
    pub(super) journal: super::replica::Journal,
    /// A fleet relay: its own send records are also queued for PostgreSQL.
    pub(super) ship: bool,
}

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<Tables<'_>, StoreError> {
    Ok(Tables {
        txn,
        suppressions: txn.open_table(tables::SUPPRESSIONS)?,
        events: txn.open_table(tables::EVENTS)?,
        by_key: txn.open_multimap_table(tables::EVENTS_BY_KEY)?,
        lifts: txn.open_table(tables::LIFTS)?,
        attempts: txn.open_table(tables::ATTEMPTS)?,
        attempts_by_key: txn.open_multimap_table(tables::ATTEMPTS_BY_KEY)?,
        locks: txn.open_table(tables::LOCKS)?,
        accounts: txn.open_table(tables::ACCOUNTS)?,
        journal: super::replica::Journal::default(),
        ship: false,
    })
}

pub(super) fn apply(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    work: Work,
) -> Result<Output, StoreError> {
    match work {
        Work::Add(entry, actor) => {
            let key = entry.target.match_key();
            add(t, ids, now, &actor, &entry, &key).map(Output::Added)
        }
        Work::AddMany(entries, actor) => {
            // Insert in key order: B-tree inserts then touch each page once instead of at
            // random. The sort is stable, so a target listed twice keeps file order.
            let keys: Vec<String> = entries.iter().map(|e| e.target.match_key()).collect();
            let mut order: Vec<usize> = (0..entries.len()).collect();
            order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
            let mut outcomes: Vec<Option<AddOutcome>> = vec![None; entries.len()];
            for i in order {
                outcomes[i] = Some(add(t, ids, now, &actor, &entries[i], &keys[i])?);
            }
            Ok(Output::AddedMany(outcomes.into_iter().flatten().collect()))
        }
        Work::LiftRequest {
            target,
            proof,
            actor,
        } => lift_request(t, ids, now, &target, proof, actor).map(Output::Lift),
        Work::LiftDecide {
            id,
            approve,
            why,
            actor,
        } => lift_decide(t, ids, now, id, approve, why, actor).map(Output::Lift),
        Work::Event(kind, actor) => event_about(t, ids, now, &actor, kind).map(Output::Event),
        work @ Work::Erase { .. } => super::erase::apply(t, ids, now, work),
        Work::Feed(work) => super::feed::apply(t, ids, now, work),
        work @ (Work::GiveConsents(..) | Work::WithdrawConsent { .. }) => {
            super::consent::apply(t, ids, now, work)
        }
        // Records carry ids given by the writer; see `Writer::commit` and `apply_records`.
        Work::Records { .. } => Err(StoreError::Io(
            "send records must be applied as a batch".into(),
        )),
        Work::Barrier => Ok(Output::Recorded),
        Work::Prune { before } => prune(t, before).map(Output::Pruned),
        Work::LockUpdate { key, op, actor } => {
            lock_update(t, ids, now, &key, op, &actor).map(Output::Lock)
        }
        Work::LockPrune { now } => lock_prune(t, now).map(Output::Pruned),
        Work::StageImport { import, entries } => {
            stage_import(t, import, &entries).map(|()| Output::Recorded)
        }
        Work::FinishImport {
            import,
            summary,
            actor,
        } => finish_import(t, ids, now, import, summary, &actor).map(Output::Imported),
        Work::AbortImport { import } => {
            t.txn
                .delete_table(tables::staging(&tables::staging_name(import)))?;
            Ok(Output::Recorded)
        }
        Work::Feedback {
            record,
            arrival,
            forward,
        } => super::feedback::record(t, ids, now, *record, arrival, forward.map(|f| *f))
            .map(Output::Feedback),
        Work::Arrival(arrival) => super::feedback::arrive(t, &arrival).map(Output::Arrived),
        work @ (Work::QueueAdd(..) | Work::Pulled { .. } | Work::Shipped(_)) => {
            apply_fleet_local(t, now, work)
        }
        // The writer applies these itself: they need the fleet's log.
        Work::Replicate(_) | Work::PushQueued | Work::BindFleet(_) => Err(StoreError::Io(
            "log entries must be applied by the writer".into(),
        )),
        work @ (Work::NotifyStep { .. }
        | Work::AlertStep { .. }
        | Work::AlertDelivery { .. }
        | Work::ReturnPath(_)
        | Work::Sent(_)
        | Work::Retry { .. }) => super::outbox::apply(t, ids, now, work),
        Work::FeedbackReview {
            id,
            confirm,
            why,
            units,
            actor,
        } => super::feedback::review(t, ids, now, id, confirm, why, units, &actor)
            .map(Output::FeedbackReviewed),
        Work::GroupAccount {
            account,
            domains,
            actor,
        } => group_account(t, ids, now, account, domains, &actor).map(Output::Event),
    }
}

/// The key under which a lock's events are indexed: the contact's match key, or `@account`.
fn event_key_of(key: &str, lock: &Lock) -> String {
    match lock.kind {
        LockKind::Contact => super::LockKey(key.to_string())
            .contact()
            .unwrap_or(key)
            .to_string(),
        LockKind::Account => lock.target.clone(),
    }
}

/// Takes or renews a lock after a relayed message. A lock that another owner holds (given by
/// an admin between the RCPT and now) is left alone.
fn lock_take(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    key: &str,
    new: &Lock,
) -> Result<Option<Lock>, StoreError> {
    let existing: Option<Lock> = match t.locks.get(key)? {
        Some(v) => Some(decode(v.value())?),
        None => None,
    };
    // Expiry is judged by the claim's own clock (`new.since`), the one the RCPT was checked
    // with; a lock another owner holds (given by an admin since the RCPT) is left alone.
    let lock = match existing {
        Some(mut held) if held.owner == new.owner && held.expires > new.since => {
            held.expires = held.expires.max(new.expires);
            held
        }
        Some(held) if held.owner != new.owner && held.expires > new.since => return Ok(Some(held)),
        _ => {
            event(
                t,
                ids,
                now,
                &Actor::system(),
                EventKind::LockTaken {
                    target: new.target.clone(),
                    owner: new.owner.clone(),
                },
                Some(&event_key_of(key, new)),
            )?;
            new.clone()
        }
    };
    t.locks.insert(key, encode(&lock)?.as_slice())?;
    t.journal.row(Replicated::Locks, key);
    Ok(Some(lock))
}

fn lock_update(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    key: &str,
    op: LockOp,
    actor: &Actor,
) -> Result<Result<Option<Lock>, Refusal>, StoreError> {
    let existing: Option<Lock> = match t.locks.get(key)? {
        Some(v) => Some(decode(v.value())?),
        None => None,
    };
    let Some(mut lock) = existing.filter(|l| l.expires > now) else {
        return Ok(Err(Refusal::NotFound(
            "no lock in force on that target".into(),
        )));
    };
    let ekey = event_key_of(key, &lock);
    let target = lock.target.clone();
    let kind = match op {
        LockOp::Review { note } => {
            lock.review = Some(Review {
                by: actor.clone(),
                at: now,
                note: note.clone(),
            });
            EventKind::LockReviewed {
                target,
                owner: lock.owner.clone(),
                note,
            }
        }
        LockOp::Decide {
            owner,
            team,
            note,
            expires,
        } => {
            if lock.owner != owner {
                hand_over(&mut lock, owner.clone(), team, now, expires);
            }
            lock.review = None;
            EventKind::LockDecided {
                target,
                owner,
                note,
            }
        }
        LockOp::Transfer {
            owner,
            team,
            note,
            expires,
        } => {
            let from = hand_over(&mut lock, owner.clone(), team, now, expires);
            lock.review = None;
            EventKind::LockTransferred {
                target,
                from,
                to: owner,
                note,
            }
        }
        LockOp::Release { note } => {
            t.locks.remove(key)?;
            t.journal.row(Replicated::Locks, key);
            event(
                t,
                ids,
                now,
                actor,
                EventKind::LockReleased {
                    target,
                    owner: lock.owner.clone(),
                    note,
                },
                Some(&ekey),
            )?;
            return Ok(Ok(None));
        }
    };
    event(t, ids, now, actor, kind, Some(&ekey))?;
    t.locks.insert(key, encode(&lock)?.as_slice())?;
    t.journal.row(Replicated::Locks, key);
    Ok(Ok(Some(lock)))
}

/// Gives a lock to another owner from `now` until `expires`; returns the previous owner.
fn hand_over(
    lock: &mut Lock,
    owner: String,
    team: Option<String>,
    now: Timestamp,
    expires: Timestamp,
) -> String {
    lock.team = team;
    lock.since = now;
    lock.expires = expires;
    std::mem::replace(&mut lock.owner, owner)
}

/// Removes expired locks, a bounded number per call.
fn lock_prune(t: &mut Tables<'_>, now: Timestamp) -> Result<u64, StoreError> {
    let mut expired = Vec::new();
    for row in t.locks.iter()? {
        let (key, value) = row?;
        let lock: Lock = decode(value.value())?;
        if lock.expires <= now {
            expired.push(key.value().to_string());
            if expired.len() >= 50_000 {
                break;
            }
        }
    }
    for key in &expired {
        t.locks.remove(key.as_str())?;
    }
    Ok(expired.len() as u64)
}

/// Groups domains into one account (for account locks).
fn group_account(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    account: String,
    domains: Vec<String>,
    actor: &Actor,
) -> Result<u64, StoreError> {
    for d in &domains {
        t.accounts.insert(d.as_str(), account.as_str())?;
        t.journal.row(Replicated::Accounts, d);
    }
    let key = format!("@{account}");
    event(
        t,
        ids,
        now,
        actor,
        EventKind::AccountGrouped { account, domains },
        Some(&key),
    )
}

/// A suppression or hard bounce of a contact ends its lock.
fn release_contact_lock(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    actor: &Actor,
    match_key: &str,
    reason: Reason,
) -> Result<(), StoreError> {
    let key = super::contact_lock_key(match_key);
    let Some(value) = t.locks.remove(key.as_str())? else {
        return Ok(());
    };
    let lock: Lock = decode(value.value())?;
    drop(value);
    t.journal.row(Replicated::Locks, &key);
    event(
        t,
        ids,
        now,
        actor,
        EventKind::LockReleased {
            target: lock.target,
            owner: lock.owner,
            note: format!("the contact was suppressed ({reason})"),
        },
        Some(match_key),
    )?;
    Ok(())
}

/// Appends an event, indexed under its target when it has one (its timeline shows it).
pub(super) fn event_about(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    actor: &Actor,
    kind: EventKind,
) -> Result<u64, StoreError> {
    let key = kind
        .target()
        .and_then(|t| Target::parse(t).ok())
        .map(|t| t.match_key());
    event(t, ids, now, actor, kind, key.as_deref())
}

/// Appends an event (indexed under `key` when given).
pub(super) fn event(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    actor: &Actor,
    kind: EventKind,
    key: Option<&str>,
) -> Result<u64, StoreError> {
    let id = ids.event;
    ids.event += 1;
    let event = Event {
        id,
        at: now,
        actor: actor.clone(),
        kind,
    };
    t.events.insert(id, encode(&event)?.as_slice())?;
    if let Some(key) = key {
        t.by_key.insert(key, id)?;
        if let Some(at) = interaction_at(&event.kind, now) {
            let mut table = t.txn.open_table(tables::INTERACTIONS)?;
            let last = table.get(key)?.map(|v| v.value());
            if last.is_none_or(|last| last < at.0) {
                table.insert(key, at.0)?;
                drop(table);
                t.journal.row(Replicated::Interactions, key);
            }
        }
    }
    t.journal.events.push((id, key.map(str::to_string)));
    Ok(id)
}

/// When an event is the contact's own interaction (a reply, a click or form, a call, a
/// consent, a lift it asked for): its time. Mail we sent, bounces and imports are not.
fn interaction_at(kind: &EventKind, now: Timestamp) -> Option<Timestamp> {
    use crate::model::feedback::Kind;
    use crate::model::Source;
    match kind {
        EventKind::ConsentGiven { given_at, .. } => Some(*given_at),
        EventKind::Suppressed { source, .. } | EventKind::Readded { source, .. } => matches!(
            source,
            Source::Reply
                | Source::Link
                | Source::Form
                | Source::Call
                | Source::Event
                | Source::Support
        )
        .then_some(now),
        EventKind::Feedback { message_kind, .. } => (*message_kind == Kind::Reply).then_some(now),
        _ => None,
    }
}

/// Adds one entry, or merges a re-add into the existing one (stronger reason and wider scope
/// win; the first time stays). Never weakens or removes anything.
pub(super) fn add(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    actor: &Actor,
    new: &NewEntry,
    key: &str,
) -> Result<AddOutcome, StoreError> {
    let existing: Option<Entry> = match t.suppressions.get(key)? {
        Some(value) => Some(decode(value.value())?),
        None => None,
    };
    let (target, reason, source) = (new.target.to_string(), new.reason, new.source);
    let (evidence, units) = (new.evidence.clone(), new.units.clone());
    let kind = match &existing {
        Some(_) => EventKind::Readded {
            target: target.clone(),
            reason,
            source,
            evidence,
            units,
        },
        None => EventKind::Suppressed {
            target: target.clone(),
            reason,
            source,
            evidence,
            units,
        },
    };
    let event_id = event(t, ids, now, actor, kind, Some(key))?;
    let outcome = match existing {
        Some(mut entry) => {
            let before = entry.clone();
            entry.absorb(new.reason, new.source, &new.evidence, &new.units);
            if entry != before {
                t.suppressions.insert(key, encode(&entry)?.as_slice())?;
                t.journal.row(Replicated::Suppressions, key);
            }
            AddOutcome::AlreadySuppressed { entry, event_id }
        }
        None => {
            let entry = Entry {
                target,
                reason: new.reason,
                source: new.source,
                evidence: new.evidence.clone(),
                actor: actor.clone(),
                added_at: now,
                event_id,
                units: new.units.clone(),
            };
            t.suppressions.insert(key, encode(&entry)?.as_slice())?;
            t.journal.row(Replicated::Suppressions, key);
            AddOutcome::Added(entry)
        }
    };
    // A contact who opted out is nobody's prospect any more.
    if matches!(new.target, Target::Address(_)) {
        release_contact_lock(t, ids, now, actor, key, new.reason)?;
    }
    Ok(outcome)
}

fn lift_request(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    target: &Target,
    proof: String,
    actor: Actor,
) -> Result<Result<Lift, Refusal>, StoreError> {
    let key = target.match_key();
    let Some(value) = t.suppressions.get(key.as_str())? else {
        return Ok(Err(Refusal::NotFound(format!(
            "{target} is not suppressed"
        ))));
    };
    let entry: Entry = decode(value.value())?;
    drop(value);
    for row in t.lifts.iter()? {
        let (_, value) = row?;
        let lift: Lift = decode(value.value())?;
        if lift.key == key && lift.decision.is_none() {
            return Ok(Err(Refusal::Conflict(format!(
                "lift request #{} for {} is already pending",
                lift.id, lift.target
            ))));
        }
    }
    let id = ids.lift;
    ids.lift += 1;
    let request_event = event(
        t,
        ids,
        now,
        &actor,
        EventKind::LiftRequested {
            lift: id,
            target: entry.target.clone(),
            proof: proof.clone(),
        },
        Some(&key),
    )?;
    let lift = Lift {
        id,
        target: entry.target,
        key,
        proof,
        requested_by: actor,
        requested_at: now,
        request_event,
        decision: None,
    };
    t.lifts.insert(id, encode(&lift)?.as_slice())?;
    t.journal.row(Replicated::Lifts, &id.to_string());
    Ok(Ok(lift))
}

#[allow(clippy::too_many_arguments)]
fn lift_decide(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    id: u64,
    approve: bool,
    why: Option<String>,
    actor: Actor,
) -> Result<Result<Lift, Refusal>, StoreError> {
    let Some(value) = t.lifts.get(id)? else {
        return Ok(Err(Refusal::NotFound(format!(
            "there is no lift request #{id}"
        ))));
    };
    let mut lift: Lift = decode(value.value())?;
    drop(value);
    if let Some(decision) = &lift.decision {
        let what = if decision.approved {
            "approved"
        } else {
            "denied"
        };
        return Ok(Err(Refusal::Conflict(format!(
            "lift request #{id} was already {what} by {} at {}",
            decision.by.user, decision.at
        ))));
    }
    if approve {
        if actor.same_person(&lift.requested_by) {
            return Ok(Err(Refusal::Forbidden(format!(
                "{} requested lift #{id} and cannot approve it: a second person must",
                actor.user
            ))));
        }
        // A new opt-out after the request must not be lifted by it.
        let mut readded = false;
        for event_id in t.by_key.get(lift.key.as_str())? {
            let event_id = event_id?.value();
            if event_id > lift.request_event {
                if let Some(value) = t.events.get(event_id)? {
                    let e: Event = decode(value.value())?;
                    readded |= matches!(
                        e.kind,
                        EventKind::Suppressed { .. } | EventKind::Readded { .. }
                    );
                }
            }
        }
        if readded {
            return Ok(Err(Refusal::Conflict(format!(
                "{} was added again after lift request #{id}; request a new lift with new proof",
                lift.target
            ))));
        }
        t.suppressions.remove(lift.key.as_str())?;
        t.journal.row(Replicated::Suppressions, &lift.key);
        event(
            t,
            ids,
            now,
            &actor,
            EventKind::LiftApproved {
                lift: id,
                target: lift.target.clone(),
            },
            Some(&lift.key.clone()),
        )?;
    } else {
        event(
            t,
            ids,
            now,
            &actor,
            EventKind::LiftDenied {
                lift: id,
                target: lift.target.clone(),
                why: why.clone().unwrap_or_default(),
            },
            Some(&lift.key.clone()),
        )?;
    }
    lift.decision = Some(LiftDecision {
        approved: approve,
        by: actor,
        at: now,
        why,
    });
    t.lifts.insert(id, encode(&lift)?.as_slice())?;
    t.journal.row(Replicated::Lifts, &id.to_string());
    Ok(Ok(lift))
}

/// Writes rows into an import's staging table, keyed by match key and then file order, so
/// that the final pass reads them in key order (inserts that touch each page once) without
/// sorting in memory.
fn stage_import(t: &mut Tables<'_>, import: u64, entries: &[NewEntry]) -> Result<(), StoreError> {
    let name = tables::staging_name(import);
    let mut staging = t.txn.open_table(tables::staging(&name))?;
    // Rows staged so far are numbered 0.. in file order: the next is their count.
    let first = redb::ReadableTableMetadata::len(&staging)?;
    for (seq, entry) in (first..).zip(entries) {
        let key = entry.target.match_key();
        let row = StagedRow {
            seq,
            target: entry.target.to_string(),
            reason: entry.reason,
            source: entry.source,
            evidence: entry.evidence.clone(),
            units: entry.units.clone(),
        };
        staging.insert((key.as_str(), seq), encode(&row)?.as_slice())?;
    }
    Ok(())
}

/// Adds an import's staged rows in key order and records its event, all in this transaction.
fn finish_import(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    import: u64,
    summary: ImportSummary,
    actor: &Actor,
) -> Result<ImportCounts, StoreError> {
    let name = tables::staging_name(import);
    let definition = tables::staging(&name);
    let (mut rows, mut added) = (0u64, 0u64);
    {
        let staging = t.txn.open_table(definition)?;
        for row in staging.iter()? {
            let (key, value) = row?;
            let staged: StagedRow = decode(value.value())?;
            let entry = NewEntry {
                target: Target::parse(&staged.target)
                    .map_err(|e| StoreError::Corrupt(format!("staged target: {e}")))?,
                reason: staged.reason,
                source: staged.source,
                evidence: staged.evidence,
                units: staged.units,
            };
            if let AddOutcome::Added(_) = add(t, ids, now, actor, &entry, key.value().0)? {
                added += 1;
            }
            rows += 1;
        }
    }
    t.txn.delete_table(definition)?;
    let event_id = event(
        t,
        ids,
        now,
        actor,
        EventKind::Imported {
            file: summary.file,
            format: summary.format.as_str().into(),
            rows,
            added,
            already: rows - added,
            skipped: summary.skipped,
        },
        None,
    )?;
    Ok(ImportCounts {
        rows,
        added,
        already: rows - added,
        event_id,
    })
}

/// Attempt ids sort by time: microseconds in the high bits, a sequence number below.
pub(super) fn attempt_id(at: Timestamp, seq: u32) -> u128 {
    ((at.0.max(0) as u128) << 32) | seq as u128
}

/// Writes a batch of send records and the locks their messages took. Idempotent: written
/// again after a reopen, it leaves the same rows.
pub(super) fn apply_records(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    batch: &RecordBatch,
) -> Result<(), StoreError> {
    for (key, lock) in &batch.locks {
        lock_take(t, ids, now, key, lock)?;
    }
    for (id, attempt) in &batch.attempts {
        record_attempt(t, *id, attempt)?;
    }
    Ok(())
}

pub(super) fn record_attempt(
    t: &mut Tables<'_>,
    id: u128,
    attempt: &Attempt,
) -> Result<(), StoreError> {
    let encoded = encode(attempt)?;
    if t.ship {
        t.txn
            .open_table(tables::SHIP)?
            .insert(id, encoded.as_slice())?;
    }
    t.attempts.insert(id, encoded.as_slice())?;
    for key in attempt_keys(attempt) {
        t.attempts_by_key.insert(key.as_str(), id)?;
    }
    Ok(())
}

/// The keys a refused attempt (by the list, a lock, or before the policy) is indexed under:
/// the recipient's match key, the key without its `+tag`, and the entry that refused it. Relayed attempts are not indexed: a random-key
/// insert per relayed recipient would cost a page write each on the hot path; audits find
/// them by scanning the time-ordered table instead (see `Store::attempts_to`).
pub(super) fn attempt_keys(attempt: &Attempt) -> Vec<String> {
    let mut keys = match &attempt.outcome {
        AttemptOutcome::Relayed { .. } => return Vec::new(),
        _ => recipient_keys(&attempt.rcpt),
    };
    if let AttemptOutcome::Refused { target, .. } = &attempt.outcome {
        if let Ok(t) = Target::parse(target) {
            let key = t.match_key();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// A recipient's match key and, when it has a `+tag`, the key without it.
pub(super) fn recipient_keys(rcpt: &str) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Ok(Target::Address(addr)) = Target::parse(rcpt) {
        let mut key = String::new();
        addr.push_match_key(addr.local(), &mut key);
        keys.push(key);
        if let Some(base) = addr.untagged_local(Some('+')) {
            let mut key = String::new();
            addr.push_match_key(base, &mut key);
            keys.push(key);
        }
    }
    keys
}

/// Removes attempts older than `before` (and their index rows), a bounded number per call.
fn prune(t: &mut Tables<'_>, before: Timestamp) -> Result<u64, StoreError> {
    const MAX: usize = 50_000;
    let end = attempt_id(before, 0);
    let mut old = Vec::new();
    for row in t.attempts.range(..end)?.take(MAX) {
        let (id, value) = row?;
        old.push((id.value(), decode::<Attempt>(value.value())?));
    }
    for (id, attempt) in &old {
        for key in attempt_keys(attempt) {
            t.attempts_by_key.remove(key.as_str(), *id)?;
        }
        t.attempts.remove(*id)?;
    }
    // Return paths go with the send records of their copies (ids grow with time).
    let mut paths = t.txn.open_table(tables::RETURN_PATHS)?;
    let mut expired = Vec::new();
    for row in paths.iter()?.take(MAX) {
        let (id, value) = row?;
        let rp: crate::model::feedback::ReturnPath = decode(value.value())?;
        if rp.at >= before {
            break;
        }
        expired.push(id.value());
    }
    for id in &expired {
        paths.remove(*id)?;
    }
    Ok(old.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary store and the ids that follow what it holds.
    struct Fixture {
        _dir: tempfile::TempDir,
        db: Database,
        ids: Ids,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let db = Database::create(dir.path().join("rules.redb")).unwrap();
            super::super::writer::init_schema(&db, false).unwrap();
            let ids = Ids::load(&db).unwrap();
            Fixture { _dir: dir, db, ids }
        }

        /// Runs `f` in one write transaction and commits it.
        fn write<T>(&mut self, f: impl FnOnce(&mut Tables<'_>, &mut Ids) -> T) -> T {
            let txn = self.db.begin_write().unwrap();
            let out = {
                let mut t = open_tables(&txn).unwrap();
                f(&mut t, &mut self.ids)
            };
            txn.commit().unwrap();
            out
        }

        fn entry(&self, target: &str) -> Option<Entry> {
            let txn = redb::ReadableDatabase::begin_read(&self.db).unwrap();
            let table = txn.open_table(tables::SUPPRESSIONS).unwrap();
            let key = Target::parse(target).unwrap().match_key();
            let value = table.get(key.as_str()).unwrap();
            value.map(|v| decode(v.value()).unwrap())
        }

        fn kinds(&self, key: &str) -> Vec<String> {
            let txn = redb::ReadableDatabase::begin_read(&self.db).unwrap();
            let index = txn.open_multimap_table(tables::EVENTS_BY_KEY).unwrap();
            let events = txn.open_table(tables::EVENTS).unwrap();
            let mut out: Vec<Event> = index
                .get(key)
                .unwrap()
                .map(|id| {
                    let id = id.unwrap().value();
                    decode(events.get(id).unwrap().unwrap().value()).unwrap()
                })
                .collect();
            out.sort_by_key(|e| e.id);
            out.iter()
                .map(|e| {
                    serde_json::to_value(e).unwrap()["kind"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        }
    }

    fn person(name: &str, uid: u32) -> Actor {
        Actor {
            user: name.into(),
            uid: Some(uid),
            role: Some(crate::model::Role::Ops),
        }
    }

    fn new_entry(target: &str, reason: Reason, units: &[&str]) -> NewEntry {
        NewEntry {
            target: Target::parse(target).unwrap(),
            reason,
            source: crate::model::Source::Reply,
            evidence: format!("{reason}"),
            units: crate::model::Units::parse(units),
        }
    }

    fn add_at(f: &mut Fixture, at: i64, entry: NewEntry) -> AddOutcome {
        let key = entry.target.match_key();
        f.write(|t, ids| add(t, ids, Timestamp(at), &Actor::system(), &entry, &key))
            .unwrap()
    }

    #[test]
    fn a_readd_never_weakens_an_entry_and_keeps_its_first_time() {
        let mut f = Fixture::new();
        add_at(
            &mut f,
            10,
            new_entry("a@example.com", Reason::NotInterested, &["acme"]),
        );
        add_at(
            &mut f,
            20,
            new_entry("a@example.com", Reason::Complaint, &[]),
        );
        let after = add_at(
            &mut f,
            30,
            new_entry("a@example.com", Reason::Manual, &["globex"]),
        );
        let entry = f.entry("a@example.com").unwrap();
        assert_eq!(entry.reason, Reason::Complaint, "the stronger reason stays");
        assert!(
            entry.units.is_all(),
            "the widest scope (every sender) stays"
        );
        assert_eq!(entry.added_at, Timestamp(10), "the first time stays");
        assert!(matches!(after, AddOutcome::AlreadySuppressed { .. }));
        assert_eq!(
            f.kinds("a@example.com"),
            ["suppressed", "readded", "readded"]
        );
    }

    /// Asks to lift `target` at `at`, as `who`.
    fn request(f: &mut Fixture, at: i64, who: &Actor) -> Result<Lift, Refusal> {
        let target = Target::parse("a@example.com").unwrap();
        f.write(|t, ids| lift_request(t, ids, Timestamp(at), &target, "proof".into(), who.clone()))
            .unwrap()
    }

    /// Approves (or denies) lift `id` at `at`, as `who`.
    fn decide(
        f: &mut Fixture,
        at: i64,
        id: u64,
        approve: bool,
        who: &Actor,
    ) -> Result<Lift, Refusal> {
        let why = (!approve).then(|| "no".to_string());
        f.write(|t, ids| lift_decide(t, ids, Timestamp(at), id, approve, why, who.clone()))
            .unwrap()
    }

    #[test]
    fn a_lift_needs_a_second_person_and_no_readd_after_its_request() {
        let mut f = Fixture::new();
        let entry = |reason| new_entry("a@example.com", reason, &[]);
        add_at(&mut f, 10, entry(Reason::Unsubscribe));
        let (maria, olga) = (person("maria", 1), person("olga", 2));
        let lift = request(&mut f, 20, &maria).unwrap();
        let own = decide(&mut f, 30, lift.id, true, &maria);
        assert!(matches!(own, Err(Refusal::Forbidden(_))), "{own:?}");
        // A new opt-out after the request: that request may no longer lift it.
        add_at(&mut f, 40, entry(Reason::Complaint));
        let stale = decide(&mut f, 50, lift.id, true, &olga);
        assert!(matches!(stale, Err(Refusal::Conflict(_))), "{stale:?}");
        assert!(f.entry("a@example.com").is_some());
        // The first request is still pending: a second one is a conflict.
        assert!(matches!(
            request(&mut f, 60, &maria),
            Err(Refusal::Conflict(_))
        ));
        let denied = decide(&mut f, 70, lift.id, false, &olga).unwrap();
        assert!(!denied.decision.unwrap().approved);
        // A fresh request, approved by someone else, removes the entry; history stays.
        let lift = request(&mut f, 80, &maria).unwrap();
        decide(&mut f, 90, lift.id, true, &olga).unwrap();
        assert!(f.entry("a@example.com").is_none());
        let again = decide(&mut f, 95, lift.id, false, &olga);
        assert!(matches!(again, Err(Refusal::Conflict(_))), "decided once");
        assert_eq!(
            f.kinds("a@example.com"),
            [
                "suppressed",
                "lift-requested",
                "readded",
                "lift-denied",
                "lift-requested",
                "lift-approved"
            ]
        );
    }

    fn lock(owner: &str, since: i64, expires: i64) -> Lock {
        Lock {
            kind: LockKind::Contact,
            target: "pat@example.com".into(),
            owner: owner.into(),
            team: None,
            since: Timestamp(since),
            expires: Timestamp(expires),
            review: None,
        }
    }

    /// `owner`'s message relayed at `at` takes (or renews) Pat's contact lock till
    /// `expires`. Answers another owner's lock that holds, if any.
    fn take(f: &mut Fixture, owner: &str, at: i64, expires: i64) -> Option<Lock> {
        let key = super::super::contact_lock_key("pat@example.com");
        let mine = lock(owner, at, expires);
        f.write(|t, ids| lock_take(t, ids, Timestamp(at), &key, &mine))
            .unwrap()
    }

    fn stored(f: &mut Fixture, key: &str) -> Option<Lock> {
        f.write(|t, _| {
            t.locks
                .get(key)
                .unwrap()
                .map(|v| decode::<Lock>(v.value()).unwrap())
        })
    }

    #[test]
    fn a_lock_is_taken_renewed_by_its_owner_and_left_to_it_until_it_expires() {
        let mut f = Fixture::new();
        let key = super::super::contact_lock_key("pat@example.com");
        take(&mut f, "sam", 1, 100);
        take(&mut f, "sam", 2, 150);
        assert_eq!(
            stored(&mut f, &key).unwrap().expires,
            Timestamp(150),
            "renewed"
        );
        // Another owner while it holds: left alone.
        let held = take(&mut f, "priya", 3, 200).unwrap();
        assert_eq!(held.owner, "sam");
        // Once expired, the next owner takes it.
        take(&mut f, "priya", 160, 300);
        assert_eq!(stored(&mut f, &key).unwrap().owner, "priya");
        assert_eq!(f.kinds("pat@example.com"), ["lock-taken", "lock-taken"]);
        // Pruning removes it once expired.
        assert_eq!(f.write(|t, _| lock_prune(t, Timestamp(299)).unwrap()), 0);
        assert_eq!(f.write(|t, _| lock_prune(t, Timestamp(300)).unwrap()), 1);
        assert!(stored(&mut f, &key).is_none());
    }

    #[test]
    fn reviews_decisions_transfers_and_releases_are_events() {
        let mut f = Fixture::new();
        let key = super::super::contact_lock_key("pat@example.com");
        let boss = person("maria", 1);
        take(&mut f, "sam", 1, 1000);
        let update = |f: &mut Fixture, op: LockOp| {
            f.write(|t, ids| lock_update(t, ids, Timestamp(5), &key, op, &boss))
                .unwrap()
                .unwrap()
        };
        let reviewed = update(
            &mut f,
            LockOp::Review {
                note: "fair".into(),
            },
        )
        .unwrap();
        assert!(reviewed.review.is_some());
        let decided = update(
            &mut f,
            LockOp::Decide {
                owner: "priya".into(),
                team: None,
                note: "first".into(),
                expires: Timestamp(900),
            },
        )
        .unwrap();
        assert_eq!(
            (decided.owner.as_str(), decided.review.is_none()),
            ("priya", true)
        );
        let moved = update(
            &mut f,
            LockOp::Transfer {
                owner: "lee".into(),
                team: None,
                note: "territory".into(),
                expires: Timestamp(800),
            },
        )
        .unwrap();
        assert_eq!(moved.owner, "lee");
        assert!(update(
            &mut f,
            LockOp::Release {
                note: "closed".into()
            }
        )
        .is_none());
        assert!(stored(&mut f, &key).is_none());
        let gone = f
            .write(|t, ids| {
                lock_update(
                    t,
                    ids,
                    Timestamp(6),
                    &key,
                    LockOp::Release { note: "x".into() },
                    &boss,
                )
            })
            .unwrap();
        assert!(matches!(gone, Err(Refusal::NotFound(_))));
        assert_eq!(
            f.kinds("pat@example.com"),
            [
                "lock-taken",
                "lock-reviewed",
                "lock-decided",
                "lock-transferred",
                "lock-released"
            ]
        );
    }

    #[test]
    fn suppressing_a_contact_ends_its_lock() {
        let mut f = Fixture::new();
        let key = super::super::contact_lock_key("pat@example.com");
        take(&mut f, "sam", 1, 1000);
        add_at(
            &mut f,
            5,
            new_entry("pat@example.com", Reason::Unsubscribe, &[]),
        );
        assert!(stored(&mut f, &key).is_none());
        assert_eq!(
            f.kinds("pat@example.com"),
            ["lock-taken", "suppressed", "lock-released"]
        );
    }
}
