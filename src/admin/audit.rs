//! The audit queries behind `audit sample`, `audit contact` and `audit duplicates`: every
//! answer is rebuilt from the history and the send records, as the list stood at the moment
//! each message was sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::proto::{ContactReport, SampleReport, TimelineItem, Violation};
use crate::address::{Address, Target};
use crate::model::{Attempt, AttemptOutcome, Event, Timestamp};
use crate::policy::{AsOf, Policy, Sender, Verdict};
use crate::store::{Store, StoreError};

/// Checks a random sample of the recipients relayed in the last `days` days against the list
/// as it stood when each was sent.
pub fn sample(
    store: &Store,
    policy: &Policy,
    days: u32,
    size: usize,
) -> Result<SampleReport, StoreError> {
    let since = Timestamp::now().minus(Duration::from_secs(u64::from(days) * 86_400));
    // Reservoir sampling: one pass, uniform, bounded memory.
    let mut reservoir: Vec<Attempt> = Vec::with_capacity(size.min(100_000));
    let mut relayed = 0u64;
    store.for_each_attempt(since, |attempt| {
        if matches!(attempt.outcome, AttemptOutcome::Relayed { .. }) {
            relayed += 1;
            if reservoir.len() < size {
                reservoir.push(attempt);
            } else {
                let j = fastrand::u64(0..relayed) as usize;
                if j < size {
                    reservoir[j] = attempt;
                }
            }
        }
    })?;
    let mut violations = Vec::new();
    for attempt in &reservoir {
        if let Some(v) = violation(store, policy, attempt)? {
            violations.push(v);
        }
    }
    violations.sort_by_key(|v| v.attempt.at);
    reservoir.sort_by_key(|a| a.at);
    Ok(SampleReport {
        since,
        relayed,
        checked: reservoir.len() as u64,
        violations,
        sample: reservoir,
    })
}

/// Whether a relayed attempt was sent while an entry bound its sender and recipient.
fn violation(
    store: &Store,
    policy: &Policy,
    attempt: &Attempt,
) -> Result<Option<Violation>, StoreError> {
    let Ok(rcpt) = Address::parse(&attempt.rcpt) else {
        return Ok(None);
    };
    let from = Address::parse(&attempt.from).ok();
    let sender = Sender {
        address: from.as_ref(),
        user: attempt.user.as_deref(),
    };
    let then = policy.with_lookup(Arc::new(AsOf {
        store: store.clone(),
        at: attempt.at,
    }));
    match then.check_rcpt(&sender, &rcpt) {
        Ok(Verdict::Block(block)) => {
            let key = Target::parse(&block.entry.target)
                .map(|t| t.match_key())
                .unwrap_or_default();
            Ok(Some(Violation {
                attempt: attempt.clone(),
                rule: block.rule,
                history: store.events_by_key(&key)?,
                entry: block.entry,
            }))
        }
        Ok(_) => Ok(None),
        Err(crate::policy::PolicyError::Store(e)) => Err(e),
    }
}

/// Everything about one contact: changes to every entry that covers it, every attempt to it,
/// and the relayed ones that went out while an entry was in force, flagged.
pub fn contact(
    store: &Store,
    policy: &Policy,
    addr: &Address,
) -> Result<ContactReport, StoreError> {
    let mut events: BTreeMap<u64, Event> = BTreeMap::new();
    for key in policy.match_keys(addr) {
        for event in store.events_by_key(&key)? {
            events.insert(event.id, event);
        }
    }
    let own_key = Target::Address(addr.clone()).match_key();
    let mut timeline: Vec<(Timestamp, TimelineItem)> = events
        .into_values()
        .map(|event| (event.at, TimelineItem::Event { event }))
        .collect();
    let mut flagged = 0;
    for attempt in store.attempts_to(&own_key, Timestamp(0))? {
        let is_violation = matches!(attempt.outcome, AttemptOutcome::Relayed { .. })
            && violation(store, policy, &attempt)?.is_some();
        flagged += u64::from(is_violation);
        timeline.push((
            attempt.at,
            TimelineItem::Attempt {
                attempt,
                flagged: is_violation,
            },
        ));
    }
    timeline.sort_by_key(|(at, _)| *at);
    Ok(ContactReport {
        address: addr.to_string(),
        timeline: timeline.into_iter().map(|(_, item)| item).collect(),
        flagged,
    })
}

/// Contacts first mailed by more than one owner or mailbox in the last `days` days, and
/// accounts (free-mail domains left out) mailed by more than one owner.
pub fn duplicates(
    store: &Store,
    settings: &crate::locks::LockSettings,
    days: u32,
) -> Result<super::proto::DuplicatesReport, StoreError> {
    use super::proto::{Duplicate, FirstContact};
    let since = Timestamp::now().minus(Duration::from_secs(u64::from(days) * 86_400));
    // contact key -> (shown target, first message per (owner, mailbox))
    type Firsts = BTreeMap<(String, String), FirstContact>;
    let mut contacts: BTreeMap<String, (String, Firsts)> = BTreeMap::new();
    // account -> first message per owner
    let mut accounts: BTreeMap<String, BTreeMap<String, FirstContact>> = BTreeMap::new();
    let mut relayed = Vec::new();
    store.for_each_attempt(since, |a| {
        if matches!(a.outcome, AttemptOutcome::Relayed { .. }) {
            relayed.push(a);
        }
    })?;
    let view = store.lock_view()?;
    for a in relayed {
        let Ok(rcpt) = Address::parse(&a.rcpt) else {
            continue;
        };
        let owner = a.owner.clone().unwrap_or_else(|| a.from.clone());
        let first = FirstContact {
            owner: owner.clone(),
            from: a.from.clone(),
            at: a.at,
            rcpt: rcpt.to_string(),
        };
        let key = Target::Address(rcpt.clone()).match_key();
        contacts
            .entry(key)
            .or_insert_with(|| (rcpt.to_string(), BTreeMap::new()))
            .1
            .entry((owner.clone(), mailbox(&a.from)))
            .or_insert_with(|| first.clone());
        if !settings.is_free_mail(rcpt.domain()) {
            let account = crate::locks::account_for(&view, rcpt.domain())?;
            accounts
                .entry(account)
                .or_default()
                .entry(owner)
                .or_insert(first);
        }
    }
    let sorted = |mut v: Vec<FirstContact>| {
        v.sort_by_key(|f| f.at);
        v
    };
    Ok(super::proto::DuplicatesReport {
        since,
        contacts: contacts
            .into_values()
            .filter(|(_, firsts)| firsts.len() > 1)
            .map(|(target, firsts)| Duplicate {
                target,
                first: sorted(firsts.into_values().collect()),
            })
            .collect(),
        accounts: accounts
            .into_iter()
            .filter(|(_, owners)| owners.len() > 1)
            .map(|(account, owners)| Duplicate {
                target: format!("@{account}"),
                first: sorted(owners.into_values().collect()),
            })
            .collect(),
    })
}

/// A sender's mailbox as the normaliser writes it (the address module alone lowercases);
/// text that is not an address stays as it is.
fn mailbox(from: &str) -> String {
    Address::parse(from)
        .map(|a| a.to_string())
        .unwrap_or_else(|_| from.to_string())
}
