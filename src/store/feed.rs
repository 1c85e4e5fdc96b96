//! The hashed feed in the store.
//!
//! Serving side: subcontractors and their tokens (`FEED_SUBSCRIBERS`, replicated, each change
//! an event), every pull served (`FEED_PULLS`, local), and the pages themselves, built from
//! the history: the events after `since` that change the list name the keys, and each key is
//! sent as the list holds it now, hashed. Following side: the keys a company's feed lists
//! (`FEED_ENTRIES`) and where the follower stands (`FEED_STATE`); a page is applied in one
//! transaction.

use std::collections::BTreeMap;

use redb::{ReadableTable, ReadableTableMetadata};

use super::replica::Replicated;
use super::rules::{event, Ids, Output, Tables, Work};
use super::tables::{self, decode, encode};
use super::{Refusal, Store, StoreError};
use crate::address::Target;
use crate::hashing::{is_hashed, Salt};
use crate::model::feed::{Change, FollowState, Held, Op, Page, Pull, Revocation, Subscriber};
use crate::model::{Actor, Entry, EventKind, Source, Timestamp};

/// Pull records older than this are dropped as new ones come (about 13 months).
const KEEP_PULLS: std::time::Duration = std::time::Duration::from_secs(400 * 24 * 3600);

/// A page of the feed applied by a follower.
pub struct Applying {
    /// The page.
    pub page: Page,
    /// The feed's salt changed (or this is the first page): what the follower held goes.
    pub reset: bool,
    /// When the follower asked for it (the copy is current as of then, at best).
    pub asked_at: Timestamp,
}

/// What applying a page did.
pub struct Applied {
    /// Keys newly listed or changed.
    pub blocked: u64,
    /// The feed's salt, when it is new to this store.
    pub new_salt: Option<std::sync::Arc<Salt>>,
}

/// A feed write.
pub(super) enum FeedWork {
    /// Gives a subcontractor a token.
    Subscribe {
        name: String,
        token_sha256: String,
        actor: Actor,
    },
    /// Revokes a subcontractor's token.
    Revoke {
        name: String,
        why: String,
        actor: Actor,
    },
    /// Records a pull served.
    Pull(Box<Pull>),
    /// A follower: applies a page of its company's feed.
    Apply(Box<Applying>),
    /// A follower: its copy is not to be trusted until it is whole again.
    Distrust,
}

impl FeedWork {
    /// Whether it changes what every relay of a fleet holds.
    pub(super) fn replicated(&self) -> bool {
        matches!(self, FeedWork::Subscribe { .. } | FeedWork::Revoke { .. })
    }
}

/// Applies a feed write.
pub(super) fn apply(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    work: FeedWork,
) -> Result<Output, StoreError> {
    match work {
        FeedWork::Subscribe {
            name,
            token_sha256,
            actor,
        } => subscribe(t, ids, now, name, token_sha256, &actor).map(Output::Subscriber),
        FeedWork::Revoke { name, why, actor } => {
            revoke(t, ids, now, &name, why, &actor).map(Output::Subscriber)
        }
        FeedWork::Pull(pull) => record_pull(t, *pull).map(Output::Arrived),
        FeedWork::Apply(applying) => follow(t, now, *applying).map(Output::FeedApplied),
        FeedWork::Distrust => {
            let mut table = t.txn.open_table(tables::FEED_STATE)?;
            let held: Option<FollowState> =
                table.get("state")?.map(|v| decode(v.value())).transpose()?;
            if let Some(mut state) = held {
                state.caught_up_at = None;
                table.insert("state", encode(&state)?.as_slice())?;
            }
            Ok(Output::Recorded)
        }
    }
}

fn subscriber(t: &Tables<'_>, name: &str) -> Result<Option<Subscriber>, StoreError> {
    let table = t.txn.open_table(tables::FEED_SUBSCRIBERS)?;
    let value = table.get(name)?;
    value.map(|v| decode(v.value())).transpose()
}

fn put_subscriber(t: &mut Tables<'_>, s: &Subscriber) -> Result<(), StoreError> {
    let mut table = t.txn.open_table(tables::FEED_SUBSCRIBERS)?;
    table.insert(s.name.as_str(), encode(s)?.as_slice())?;
    drop(table);
    t.journal.row(Replicated::FeedSubscribers, &s.name);
    Ok(())
}

fn subscribe(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    name: String,
    token_sha256: String,
    actor: &Actor,
) -> Result<Result<Subscriber, Refusal>, StoreError> {
    if let Some(held) = subscriber(t, &name)? {
        if held.revoked.is_none() {
            return Ok(Err(Refusal::Conflict(format!(
                "{name} already has a feed token (given {}); revoke it first to give a new one",
                held.added_at
            ))));
        }
    }
    let s = Subscriber {
        name: name.clone(),
        token_sha256,
        added_at: now,
        added_by: actor.clone(),
        revoked: None,
    };
    put_subscriber(t, &s)?;
    event(
        t,
        ids,
        now,
        actor,
        EventKind::FeedSubscriberAdded { name },
        None,
    )?;
    Ok(Ok(s))
}

fn revoke(
    t: &mut Tables<'_>,
    ids: &mut Ids,
    now: Timestamp,
    name: &str,
    why: String,
    actor: &Actor,
) -> Result<Result<Subscriber, Refusal>, StoreError> {
    let Some(mut s) = subscriber(t, name)? else {
        return Ok(Err(Refusal::NotFound(format!("no feed subscriber {name}"))));
    };
    if let Some(r) = &s.revoked {
        return Ok(Err(Refusal::Conflict(format!(
            "{name}'s feed token was already revoked {} by {}",
            r.at, r.by
        ))));
    }
    s.revoked = Some(Revocation {
        at: now,
        by: actor.clone(),
        why: why.clone(),
    });
    put_subscriber(t, &s)?;
    let kind = EventKind::FeedSubscriberRevoked {
        name: name.to_string(),
        why,
    };
    event(t, ids, now, actor, kind, None)?;
    Ok(Ok(s))
}

/// Records a pull: an idle poll (nothing served) from the same place as the subscriber's last
/// record, itself idle, adds to that record's count.
fn record_pull(t: &mut Tables<'_>, pull: Pull) -> Result<u64, StoreError> {
    let mut pulls = t.txn.open_table(tables::FEED_PULLS)?;
    let mut last = t.txn.open_table(tables::FEED_LAST_PULL)?;
    let previous = last.get(pull.subscriber.as_str())?.map(|v| v.value());
    if let Some(id) = previous {
        let held: Option<Pull> = pulls.get(id)?.map(|v| decode(v.value())).transpose()?;
        if let Some(mut held) = held {
            // Idle polls from one place are one record, whatever positions they moved by
            // (events that do not change the list move them).
            if held.changes == 0 && pull.changes == 0 && held.peer == pull.peer {
                held.count += 1;
                held.last_at = pull.last_at;
                held.next = pull.next;
                held.head = pull.head;
                pulls.insert(id, encode(&held)?.as_slice())?;
                return Ok(id);
            }
        }
    }
    let id = pulls.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
    let pull = Pull { id, ..pull };
    pulls.insert(id, encode(&pull)?.as_slice())?;
    last.insert(pull.subscriber.as_str(), id)?;
    // Bounded: the oldest records go once they are past the keeping time (a few per pull).
    let horizon = pull.last_at.minus(KEEP_PULLS);
    for _ in 0..4 {
        let (key, old): (u64, Pull) = match pulls.first()? {
            Some((key, value)) => (key.value(), decode(value.value())?),
            None => break,
        };
        if old.last_at >= horizon || key == id {
            break;
        }
        pulls.remove(key)?;
    }
    Ok(id)
}

/// Applies a page of a company's feed.
fn follow(t: &mut Tables<'_>, now: Timestamp, applying: Applying) -> Result<Applied, StoreError> {
    let Applying {
        page,
        reset,
        asked_at,
    } = applying;
    let mut state_table = t.txn.open_table(tables::FEED_STATE)?;
    let held: Option<FollowState> = state_table
        .get("state")?
        .map(|v| decode(v.value()))
        .transpose()?;
    let new_salt = match &held {
        Some(s) if s.salt == page.salt && !reset => None,
        _ => Some(std::sync::Arc::new(Salt::from_hex(&page.salt).map_err(
            |e| StoreError::Corrupt(format!("the feed's salt: {e}")),
        )?)),
    };
    if reset {
        t.txn.delete_table(tables::FEED_ENTRIES)?;
    } else if held.as_ref().is_some_and(|s| s.salt != page.salt) {
        return Err(StoreError::Corrupt(
            "the feed's salt changed without a reset".into(),
        ));
    }
    let mut entries = t.txn.open_table(tables::FEED_ENTRIES)?;
    let mut blocked = 0;
    for change in &page.changes {
        if !is_hashed(&change.key) {
            return Err(StoreError::Corrupt(format!(
                "the feed sent a key that is not hashed: {} characters",
                change.key.len()
            )));
        }
        match (change.op, change.reason) {
            (Op::Block, Some(reason)) => {
                let h = Held {
                    reason,
                    units: change
                        .scope
                        .clone()
                        .unwrap_or_else(crate::model::Units::all),
                    since: change.since.unwrap_or(page.served_at),
                    seq: change.seq,
                };
                entries.insert(change.key.as_str(), encode(&h)?.as_slice())?;
                blocked += 1;
            }
            (Op::Block, None) => {
                return Err(StoreError::Corrupt(
                    "the feed sent a block without a reason".into(),
                ))
            }
            (Op::Remove, _) => {
                entries.remove(change.key.as_str())?;
            }
        }
    }
    let state = FollowState {
        salt: page.salt.clone(),
        applied: page.next,
        head: page.head,
        pulled_at: now,
        caught_up_at: if page.more {
            held.as_ref()
                .filter(|_| !reset)
                .and_then(|s| s.caught_up_at)
        } else {
            Some(asked_at.min(now))
        },
        keys: entries.len()?,
        applied_at: page.next_at,
    };
    state_table.insert("state", encode(&state)?.as_slice())?;
    Ok(Applied { blocked, new_salt })
}

/// The keys of one contact in the list: its match key in clear (unless only its erased,
/// hashed key is left), its hashed key (the erasure salt's), and its key in the feed (the
/// feed salt's).
struct ListedKey {
    plain: Option<String>,
    hashed: String,
    feed: String,
}

/// What an event names in the list.
enum Listed {
    /// Not a change of the list.
    Nothing,
    /// A contact's keys.
    Key(ListedKey),
    /// An erased contact (its hashed key) whose feed key was never kept: never listed (a
    /// purge of consents alone), or erased before the feed existed (it cannot be sent).
    NoFeedKey(String),
}

/// The list key an event changes. A target that cannot be read again stops the page (fail
/// closed: a key silently left out would never reach the subscribers).
fn listed_key(
    id: u64,
    kind: &EventKind,
    salts: (&Salt, &Salt),
    feed_keys: &impl ReadableTable<&'static str, &'static str>,
) -> Result<Listed, StoreError> {
    let target = match kind {
        EventKind::Suppressed { target, .. }
        | EventKind::Readded { target, .. }
        | EventKind::LiftApproved { target, .. }
        | EventKind::Erased { target, .. } => target,
        _ => return Ok(Listed::Nothing),
    };
    if is_hashed(target) {
        let sealed = feed_keys
            .get(target.as_str())?
            .map(|v| v.value().to_string());
        let Some(feed) = sealed.and_then(|s| salts.0.open_feed_key(target, &s)) else {
            return Ok(Listed::NoFeedKey(target.clone()));
        };
        return Ok(Listed::Key(ListedKey {
            plain: None,
            hashed: target.clone(),
            feed,
        }));
    }
    let key = Target::parse(target)
        .map_err(|_| StoreError::Corrupt(format!("event {id}: its target cannot be read again")))?
        .match_key();
    Ok(Listed::Key(ListedKey {
        hashed: salts.0.hash(&key),
        feed: salts.1.hash(&key),
        plain: Some(key),
    }))
}

/// Events read at most for one page (most events may not change the list).
const MAX_SCAN: usize = 200_000;

impl Store {
    /// A page of the hashed feed: the keys the events after `since` changed (at most
    /// `limit` keys, from at most [`MAX_SCAN`] events), each as the list holds it now, hashed
    /// with the feed salt derived from `salt` (the erasure salt). A contact listed both in
    /// clear and under its hashed key (erased, then added again) is one key, blocked while
    /// either entry stands.
    pub fn feed_page(&self, since: u64, limit: usize, salt: &Salt) -> Result<Page, StoreError> {
        let feed_salt = salt.feed_salt();
        self.read(|txn| {
            let events = txn.open_table(tables::EVENTS)?;
            let suppressions = txn.open_table(tables::SUPPRESSIONS)?;
            let feed_keys = txn.open_table(tables::FEED_KEYS)?;
            let head = events.last()?.map(|(k, _)| k.value()).unwrap_or(0);
            // By feed key: the contact's keys in clear and hashed, and its last change.
            let mut keys: BTreeMap<String, (Option<String>, String, u64)> = BTreeMap::new();
            let mut next = head.max(since);
            let mut unsendable = 0u64;
            for (scanned, row) in events.range(since.saturating_add(1)..)?.enumerate() {
                let (id, value) = row?;
                let id = id.value();
                if keys.len() >= limit || scanned >= MAX_SCAN {
                    next = id - 1;
                    break;
                }
                let event: crate::model::Event = decode(value.value())?;
                match listed_key(id, &event.kind, (salt, &feed_salt), &feed_keys)? {
                    Listed::Key(k) => {
                        let slot = keys.entry(k.feed).or_insert((None, k.hashed, id));
                        slot.0 = k.plain.or(slot.0.take());
                        slot.2 = id;
                    }
                    Listed::NoFeedKey(hashed) => {
                        if suppressions.get(hashed.as_str())?.is_some() {
                            unsendable += 1;
                        }
                    }
                    Listed::Nothing => {}
                }
            }
            let read = |key: &str| -> Result<Option<Entry>, StoreError> {
                suppressions
                    .get(key)?
                    .map(|v| decode(v.value()))
                    .transpose()
            };
            let mut changes = Vec::with_capacity(keys.len());
            for (feed_key, (plain, hashed, seq)) in keys {
                let mut held = read(&hashed)?;
                if let Some(e) = plain.as_deref().map(read).transpose()?.flatten() {
                    held = Some(match held {
                        Some(mut h) => {
                            h.absorb(e.reason, e.source, "", &e.units);
                            h.added_at = h.added_at.min(e.added_at);
                            h
                        }
                        None => e,
                    });
                }
                if held.is_none() && plain.is_none() {
                    // Known only by its hash and not listed (never was): an erasure lifts
                    // nothing, and a `remove` would say it was a contact.
                    continue;
                }
                changes.push(change(feed_key, held, seq));
            }
            if unsendable > 0 {
                tracing::warn!(
                    events = unsendable,
                    "erased contacts without a feed key (erased before the feed existed) are not in the hashed feed"
                );
            }
            let next_at = time_at_or_before(&events, next)?;
            Ok(Page {
                scheme: crate::model::feed::SCHEME.to_string(),
                salt: feed_salt.to_hex(),
                since,
                next,
                next_at,
                head,
                more: next < head,
                tag_separator: String::new(),
                served_at: Timestamp::now(),
                changes,
            })
        })
    }

    /// When the last history event at or before position `id` was written (`None`: there
    /// is none; a fleet's log may hold positions without an event).
    pub fn event_time(&self, id: u64) -> Result<Option<Timestamp>, StoreError> {
        self.read(|txn| time_at_or_before(&txn.open_table(tables::EVENTS)?, id))
    }

    /// Erased contacts the feed cannot carry (erased before the feed existed: their feed key
    /// was never kept).
    pub fn erased_outside_feed(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let suppressions = txn.open_table(tables::SUPPRESSIONS)?;
            let feed_keys = txn.open_table(tables::FEED_KEYS)?;
            let mut n = 0;
            for row in suppressions.range(crate::hashing::PREFIX..)? {
                let (key, _) = row?;
                let key = key.value();
                if !is_hashed(key) {
                    break;
                }
                if feed_keys.get(key)?.is_none() {
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// The feed's subscribers, by name.
    pub fn feed_subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::FEED_SUBSCRIBERS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                out.push(decode(row?.1.value())?);
            }
            Ok(out)
        })
    }

    /// The subscriber whose token hashes to `token_sha256`, active or revoked.
    pub fn feed_subscriber_by_token(
        &self,
        token_sha256: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        let mut found = None;
        for s in self.feed_subscribers()? {
            // Every one compared, in constant time each: the answer's timing says nothing.
            if crate::token::same_token(&s.token_sha256, token_sha256) {
                found = Some(s);
            }
        }
        Ok(found)
    }

    /// Pull records, newest first, of one subscriber or all, at most `limit`.
    pub fn feed_pulls(
        &self,
        subscriber: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Pull>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::FEED_PULLS)?;
            let mut out = Vec::new();
            for row in table.iter()?.rev() {
                let pull: Pull = decode(row?.1.value())?;
                if subscriber.is_none_or(|s| s == pull.subscriber) {
                    out.push(pull);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    /// Each subscriber's last pull record.
    pub fn feed_last_pulls(&self) -> Result<BTreeMap<String, Pull>, StoreError> {
        self.read(|txn| {
            let last = txn.open_table(tables::FEED_LAST_PULL)?;
            let pulls = txn.open_table(tables::FEED_PULLS)?;
            let mut out = BTreeMap::new();
            for row in last.iter()? {
                let (name, id) = row?;
                if let Some(v) = pulls.get(id.value())? {
                    out.insert(name.value().to_string(), decode(v.value())?);
                }
            }
            Ok(out)
        })
    }

    /// Records a pull served (see [`Pull`]); its record's id.
    pub async fn record_feed_pull(&self, pull: Pull) -> Result<u64, StoreError> {
        match self
            .write(Work::Feed(FeedWork::Pull(Box::new(pull))))
            .await?
        {
            Output::Arrived(id) => Ok(id),
            _ => Err(super::unexpected()),
        }
    }

    /// Gives a subscriber a token (its SHA-256 is kept).
    pub async fn feed_subscribe(
        &self,
        name: String,
        token_sha256: String,
        actor: Actor,
    ) -> Result<Result<Subscriber, Refusal>, StoreError> {
        let work = Work::Feed(FeedWork::Subscribe {
            name,
            token_sha256,
            actor,
        });
        match self.write(work).await? {
            Output::Subscriber(s) => Ok(s),
            _ => Err(super::unexpected()),
        }
    }

    /// Revokes a subscriber's token.
    pub async fn feed_revoke(
        &self,
        name: String,
        why: String,
        actor: Actor,
    ) -> Result<Result<Subscriber, Refusal>, StoreError> {
        match self
            .write(Work::Feed(FeedWork::Revoke { name, why, actor }))
            .await?
        {
            Output::Subscriber(s) => Ok(s),
            _ => Err(super::unexpected()),
        }
    }

    /// A follower: applies a page of its company's feed.
    pub async fn apply_feed(&self, applying: Applying) -> Result<u64, StoreError> {
        match self
            .write(Work::Feed(FeedWork::Apply(Box::new(applying))))
            .await?
        {
            Output::FeedApplied(a) => Ok(a.blocked),
            _ => Err(super::unexpected()),
        }
    }

    /// A follower: its copy of the feed is not to be trusted after a restart until it is
    /// whole again (it is starting again from 0).
    pub async fn distrust_feed(&self) -> Result<(), StoreError> {
        self.write(Work::Feed(FeedWork::Distrust)).await.map(|_| ())
    }

    /// A follower: where it stands with its feed (`None`: it never applied a page).
    pub fn feed_state(&self) -> Result<Option<FollowState>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::FEED_STATE)?;
            let value = table.get("state")?;
            value.map(|v| decode(v.value())).transpose()
        })
    }

    /// A follower: the feed's entries for these match keys (hashed with the feed's salt),
    /// with the index of each key, as list entries (target: the hashed key; source:
    /// `partner`; actor: `feed`).
    pub fn find_feed(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        let Some(salt) = self.shared.feed_salt() else {
            return Ok(Vec::new());
        };
        self.read(|txn| {
            let table = txn.open_table(tables::FEED_ENTRIES)?;
            let mut found = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                let hashed = salt.hash(key);
                if let Some(v) = table.get(hashed.as_str())? {
                    let held: Held = decode(v.value())?;
                    found.push((i, held_entry(hashed, held)));
                }
            }
            Ok(found)
        })
    }
}

/// When the last event at or before position `id` was written.
fn time_at_or_before(
    events: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<Timestamp>, StoreError> {
    if id == 0 {
        return Ok(None);
    }
    let last = events.range(..=id)?.next_back().transpose()?;
    last.map(|(_, v)| decode::<crate::model::Event>(v.value()).map(|e| e.at))
        .transpose()
}

/// A key's change: blocked as `held` says, or removed.
fn change(key: String, held: Option<Entry>, seq: u64) -> Change {
    match held {
        Some(e) => Change {
            key,
            op: Op::Block,
            reason: Some(e.reason),
            scope: Some(e.units),
            since: Some(e.added_at),
            seq,
        },
        None => Change {
            key,
            op: Op::Remove,
            reason: None,
            scope: None,
            since: None,
            seq,
        },
    }
}

/// A key held from the feed, as a list entry.
fn held_entry(hashed: String, held: Held) -> Entry {
    Entry {
        target: hashed,
        reason: held.reason,
        source: Source::Partner,
        evidence: String::new(),
        actor: Actor {
            user: "feed".into(),
            uid: None,
            role: None,
        },
        added_at: held.since,
        event_id: held.seq,
        units: held.units,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Reason, Units};
    use crate::store::{NewEntry, StoreOptions};

    fn store(dir: &tempfile::TempDir, name: &str) -> Store {
        Store::open(&dir.path().join(name), &StoreOptions::default()).expect("store")
    }

    fn person(name: &str, uid: u32) -> Actor {
        Actor {
            user: name.into(),
            uid: Some(uid),
            role: Some(crate::model::Role::Ops),
        }
    }

    async fn add(store: &Store, target: &str) {
        let entry = NewEntry {
            target: Target::parse(target).expect("target"),
            reason: Reason::Unsubscribe,
            source: Source::Reply,
            evidence: format!("{target} said stop"),
            units: Units::all(),
        };
        store.add(entry, person("ann", 1)).await.expect("add");
    }

    /// Pulls every page from `since` into `follower`, as the follower task does.
    async fn sync(company: &Store, follower: &Store, salt: &Salt, limit: usize) -> u64 {
        let mut pages = 0;
        loop {
            let since = follower
                .feed_state()
                .expect("state")
                .map_or(0, |s| s.applied);
            let page = company.feed_page(since, limit, salt).expect("page");
            let reset = follower.feed_state().expect("state").is_none();
            let more = page.more;
            follower
                .apply_feed(Applying {
                    page,
                    reset,
                    asked_at: Timestamp::now(),
                })
                .await
                .expect("apply");
            pages += 1;
            if !more {
                return pages;
            }
        }
    }

    /// Lifts `target`: requested by one person, approved by another.
    async fn lift(company: &Store, target: &str) {
        let lift = company
            .request_lift(
                Target::parse(target).expect("target"),
                "asked again in writing".into(),
                person("ann", 1),
            )
            .await
            .expect("request")
            .expect("lift");
        company
            .decide_lift(lift.id, true, None, person("olga", 2))
            .await
            .expect("decide")
            .expect("approved");
    }

    /// Erases `address` (listing it when `block`).
    async fn erase(company: &Store, salt: &Salt, address: &str, block: bool) {
        let contact = crate::store::ErasedContact::new(address.into(), address.into(), salt);
        company
            .erase(
                vec![contact],
                "ticket 8812".into(),
                salt.fingerprint(),
                person("olga", 2),
                block,
            )
            .await
            .expect("write")
            .expect("erased");
    }

    fn listed(follower: &Store, key: &str) -> bool {
        !follower.find_feed(&[key]).expect("find").is_empty()
    }

    #[tokio::test]
    async fn a_follower_holds_what_the_list_holds_in_pages_and_a_lift_reaches_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (company, follower) = (store(&dir, "company.redb"), store(&dir, "follower.redb"));
        let salt = Salt::from_bytes([7; 32]);
        for i in 0..7 {
            add(&company, &format!("p{i}@example.com")).await;
        }
        add(&company, "@blocked.example").await;
        // Pages of 3 keys: 3 pages, every key held, none in clear.
        assert_eq!(sync(&company, &follower, &salt, 3).await, 3);
        for i in 0..7 {
            assert!(listed(&follower, &format!("p{i}@example.com")));
        }
        assert!(listed(&follower, "@blocked.example"));
        assert!(!listed(&follower, "someone@example.com"));
        let state = follower.feed_state().expect("state").expect("some");
        assert_eq!(
            (state.keys, state.applied),
            (8, company.last_event().expect("head"))
        );
        assert!(state.caught_up_at.is_some());
        // A lift approved by a second person: the key leaves the follower.
        lift(&company, "p3@example.com").await;
        let page = company.feed_page(state.applied, 100, &salt).expect("page");
        assert_eq!(page.changes.len(), 1);
        assert_eq!(page.changes[0].op, Op::Remove);
        assert_eq!(page.changes[0].key, salt.feed_salt().hash("p3@example.com"));
        sync(&company, &follower, &salt, 100).await;
        assert!(!listed(&follower, "p3@example.com"));
        assert!(listed(&follower, "p4@example.com"));
        // Nothing new: an empty page at the head.
        let head = company.last_event().expect("head");
        let page = company.feed_page(head, 100, &salt).expect("page");
        assert!(page.changes.is_empty() && !page.more && page.next == head);
    }

    #[tokio::test]
    async fn an_erased_contact_added_again_and_lifted_stays_blocked_under_its_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (company, follower) = (store(&dir, "company.redb"), store(&dir, "follower.redb"));
        let salt = Salt::from_bytes([9; 32]);
        add(&company, "jane@example.com").await;
        erase(&company, &salt, "jane@example.com", true).await;
        sync(&company, &follower, &salt, 100).await;
        assert!(listed(&follower, "jane@example.com"));
        let applied = follower.feed_state().expect("state").expect("some").applied;
        // Added again in clear (an old import), then that entry lifted by two people: the
        // erased block still stands under the hash, so the feed still blocks her.
        add(&company, "jane@example.com").await;
        lift(&company, "jane@example.com").await;
        let page = company.feed_page(applied, 100, &salt).expect("page");
        assert_eq!(page.changes.len(), 1, "one change per hashed key");
        assert_eq!(page.changes[0].op, Op::Block);
        sync(&company, &follower, &salt, 100).await;
        assert!(listed(&follower, "jane@example.com"));
        // The position is checked by its time: the event at `next` is the one the page says.
        let state = follower.feed_state().expect("state").expect("some");
        assert_eq!(
            company.event_time(state.applied).expect("read"),
            state.applied_at
        );
    }

    #[tokio::test]
    async fn a_purged_contact_that_was_never_listed_is_not_in_the_feed_and_a_second_erasure_keeps_the_stronger_block(
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let company = store(&dir, "company.redb");
        let salt = Salt::from_bytes([5; 32]);
        // A purge of someone never listed (a lapsed consent): nothing of them in the feed.
        erase(&company, &salt, "quiet@example.com", false).await;
        let page = company.feed_page(0, 100, &salt).expect("page");
        assert!(page.changes.is_empty(), "{:?}", page.changes);
        // Listed as a complaint, erased, added again as a manual entry, erased again: the
        // complaint stands.
        let entry = |reason| NewEntry {
            target: Target::parse("kim@example.com").expect("target"),
            reason,
            source: Source::Reply,
            evidence: String::new(),
            units: Units::all(),
        };
        company
            .add(entry(Reason::Complaint), person("ann", 1))
            .await
            .expect("add");
        erase(&company, &salt, "kim@example.com", true).await;
        company
            .add(entry(Reason::Manual), person("ann", 1))
            .await
            .expect("add");
        erase(&company, &salt, "kim@example.com", true).await;
        let held = company
            .find_all(&[salt.hash("kim@example.com").as_str()])
            .expect("find");
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].1.reason, Reason::Complaint);
        let page = company.feed_page(0, 100, &salt).expect("page");
        assert_eq!(page.changes.len(), 1);
        assert_eq!(
            page.changes[0].key,
            salt.feed_salt().hash("kim@example.com")
        );
        assert_eq!(page.changes[0].reason, Some(Reason::Complaint));
    }

    #[tokio::test]
    async fn a_reset_drops_what_the_follower_held_and_a_new_salt_is_used_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (company, follower) = (store(&dir, "company.redb"), store(&dir, "follower.redb"));
        add(&company, "old@example.com").await;
        sync(&company, &follower, &Salt::from_bytes([1; 32]), 100).await;
        assert!(listed(&follower, "old@example.com"));
        // The company's salt changed: the follower starts again from 0 with a reset.
        let salt = Salt::from_bytes([2; 32]);
        let page = company.feed_page(0, 100, &salt).expect("page");
        follower
            .apply_feed(Applying {
                page,
                reset: true,
                asked_at: Timestamp::now(),
            })
            .await
            .expect("apply");
        assert!(
            listed(&follower, "old@example.com"),
            "hashed with the new salt"
        );
        let held = follower.feed_state().expect("state").expect("some");
        assert_eq!(
            (held.keys, held.salt.clone()),
            (1, salt.feed_salt().to_hex())
        );
        // A page under another salt without a reset is refused, and nothing of it applied.
        let other = company
            .feed_page(0, 100, &Salt::from_bytes([3; 32]))
            .expect("page");
        assert!(follower
            .apply_feed(Applying {
                page: other,
                reset: false,
                asked_at: Timestamp::now(),
            })
            .await
            .is_err());
        assert_eq!(follower.feed_state().expect("state"), Some(held));
    }

    #[tokio::test]
    async fn idle_polls_are_counted_in_one_record_and_a_revoked_token_is_kept_on_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let company = store(&dir, "company.redb");
        let s = company
            .feed_subscribe("acme".into(), "ab".repeat(32), person("olga", 2))
            .await
            .expect("write")
            .expect("added");
        assert!(company
            .feed_subscribe("acme".into(), "cd".repeat(32), person("olga", 2))
            .await
            .expect("write")
            .is_err());
        let pull = |since, changes| Pull {
            id: 0,
            subscriber: "acme".into(),
            peer: "192.0.2.1".into(),
            first_at: Timestamp::now(),
            last_at: Timestamp::now(),
            count: 1,
            since,
            next: 5,
            head: 5,
            changes,
        };
        let first = company.record_feed_pull(pull(0, 3)).await.expect("pull");
        let idle = company.record_feed_pull(pull(5, 0)).await.expect("pull");
        assert_ne!(first, idle);
        for _ in 0..5 {
            assert_eq!(
                company.record_feed_pull(pull(5, 0)).await.expect("pull"),
                idle
            );
        }
        let pulls = company.feed_pulls(Some("acme"), 10).expect("pulls");
        assert_eq!(pulls.len(), 2);
        assert_eq!((pulls[0].count, pulls[1].count), (6, 1));
        let found = company
            .feed_subscriber_by_token(&s.token_sha256)
            .expect("read")
            .expect("found");
        assert!(found.revoked.is_none());
        company
            .feed_revoke("acme".into(), "contract ended".into(), person("olga", 2))
            .await
            .expect("write")
            .expect("revoked");
        let found = company
            .feed_subscriber_by_token(&s.token_sha256)
            .expect("read")
            .expect("found");
        assert_eq!(found.revoked.map(|r| r.why), Some("contract ended".into()));
        let kinds: Vec<String> = company
            .events(1, 10)
            .expect("events")
            .into_iter()
            .map(|e| crate::model::describe::event_text(&e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                "subcontractor acme given a token for the hashed feed",
                "hashed feed token of acme revoked: \"contract ended\""
            ]
        );
    }
}
