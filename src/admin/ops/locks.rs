//! Ownership locks: review, decide, transfer and release (manager and above), list and show,
//! and grouping domains into one account.

use serde::{Deserialize, Serialize};

use crate::address::Target;
use crate::admin::context::{deny, parse_target, required_text, Cx, Denied, Handler};
use crate::admin::proto::ErrorCode;
use crate::model::{Event, EventKind, Lock, Timestamp};
use crate::store::{account_lock_key, contact_lock_key, LockKey, LockOp};

use super::lists::Recorded;

/// Put a contact's or account's lock under review (manager and above). Answered with
/// [`LockChanged`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksReview {
    /// A contact address or `@domain` (its account).
    pub target: String,
    /// Why.
    pub note: String,
}

/// Decide a review: the lock belongs to `owner` (manager and above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksDecide {
    /// A contact address or `@domain`.
    pub target: String,
    /// The owner decided on.
    pub owner: String,
    /// Why.
    pub note: String,
}

/// Give a lock to another owner (manager and above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksTransfer {
    /// A contact address or `@domain`.
    pub target: String,
    /// The new owner.
    pub to: String,
    /// Why.
    pub note: String,
}

/// End a lock now (manager and above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksRelease {
    /// A contact address or `@domain`.
    pub target: String,
    /// Why.
    pub note: String,
}

/// Answer to the lock changes: the lock as it now stands (`None` once released).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockChanged {
    /// The lock.
    pub lock: Option<Lock>,
}

/// Locks in force. Answered with [`Locks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksList {
    /// Only this owner's.
    pub owner: Option<String>,
}

/// Answer to [`LocksList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locks {
    /// The locks in force, in key order.
    pub locks: Vec<Lock>,
}

/// One target's locks and their history. Answered with [`LockShown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksShow {
    /// A contact address or `@domain`.
    pub target: String,
}

/// Answer to [`LocksShow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockShown {
    /// The contact's (or account's) lock in force, if any.
    pub lock: Option<Lock>,
    /// The account lock covering a contact, if any.
    pub account: Option<Lock>,
    /// Every lock event about the target.
    pub history: Vec<Event>,
}

/// Group domains into one account for account locks (manager and above). Answered with
/// [`Recorded`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocksGroup {
    /// The account's name (usually the parent's domain).
    pub account: String,
    /// The domains (`@subsidiary.example` or `subsidiary.example`).
    pub domains: Vec<String>,
}

/// Serves [`LocksReview`].
pub async fn review(op: LocksReview, cx: &mut Cx<'_>) -> Result<LockChanged, Denied> {
    let op_for = |_: &crate::locks::LockSettings| {
        Ok(LockOp::Review {
            note: need_note(op.note)?,
        })
    };
    change(cx, &op.target, op_for).await
}

/// Serves [`LocksDecide`].
pub async fn decide(op: LocksDecide, cx: &mut Cx<'_>) -> Result<LockChanged, Denied> {
    change(cx, &op.target, |settings| {
        let owner = settings.owner_named(op.owner.trim());
        Ok(LockOp::Decide {
            expires: Timestamp::now().plus(settings.ttl()),
            owner: owner.name,
            team: owner.team,
            note: need_note(op.note)?,
        })
    })
    .await
}

/// Serves [`LocksTransfer`].
pub async fn transfer(op: LocksTransfer, cx: &mut Cx<'_>) -> Result<LockChanged, Denied> {
    change(cx, &op.target, |settings| {
        let owner = settings.owner_named(op.to.trim());
        Ok(LockOp::Transfer {
            expires: Timestamp::now().plus(settings.ttl()),
            owner: owner.name,
            team: owner.team,
            note: need_note(op.note)?,
        })
    })
    .await
}

/// Serves [`LocksRelease`].
pub async fn release(op: LocksRelease, cx: &mut Cx<'_>) -> Result<LockChanged, Denied> {
    let op_for = |_: &crate::locks::LockSettings| {
        Ok(LockOp::Release {
            note: need_note(op.note)?,
        })
    };
    change(cx, &op.target, op_for).await
}

/// Reviews, decides, transfers or releases `target`'s lock.
async fn change(
    cx: &mut Cx<'_>,
    target: &str,
    op: impl FnOnce(&crate::locks::LockSettings) -> Result<LockOp, Denied>,
) -> Result<LockChanged, Denied> {
    let key = lock_key(cx.h, target)?;
    let op = op(&cx.h.lock_settings()?)?;
    let lock =
        cx.h.store
            .update_lock(key.into(), op, cx.actor.clone())
            .await??;
    Ok(LockChanged { lock })
}

fn need_note(note: String) -> Result<String, Denied> {
    required_text("note", note, "a lock change needs a note (--note)")
}

/// The store key of the lock a target names: a contact's, or the account of `@domain`.
fn lock_key(h: &Handler, target: &str) -> Result<LockKey, Denied> {
    Ok(match parse_target(target)? {
        t @ Target::Address(_) => contact_lock_key(&t.match_key()),
        Target::Domain(domain) => {
            account_lock_key(&crate::locks::account_for(&h.store.lock_view()?, &domain)?)
        }
        Target::Phone(_) => {
            return Err(crate::admin::context::deny(
                ErrorCode::BadRequest,
                format!("'{target}' is a phone number: locks are held on addresses and accounts"),
            ))
        }
    })
}

/// Serves [`LocksList`].
pub fn list(op: LocksList, cx: &mut Cx<'_>) -> Result<Locks, Denied> {
    let now = Timestamp::now();
    let locks =
        cx.h.store
            .locks()?
            .into_iter()
            .filter(|l| l.expires > now)
            .filter(|l| op.owner.as_deref().is_none_or(|o| l.owner == o))
            .collect();
    Ok(Locks { locks })
}

/// Serves [`LocksShow`].
pub fn show(op: LocksShow, cx: &mut Cx<'_>) -> Result<LockShown, Denied> {
    let h = cx.h;
    let parsed = parse_target(&op.target)?;
    let now = Timestamp::now();
    let key = lock_key(h, &op.target)?;
    let lock = h.store.get_lock(&key)?.filter(|l| l.expires > now);
    let (account, history_key) = match &parsed {
        Target::Address(addr) => {
            let account = crate::locks::account_for(&h.store.lock_view()?, addr.domain())?;
            let account = h
                .store
                .get_lock(&account_lock_key(&account))?
                .filter(|l| l.expires > now);
            (account, parsed.match_key())
        }
        Target::Domain(_) | Target::Phone(_) => {
            (None, format!("@{}", key.account().unwrap_or_default()))
        }
    };
    let history = h
        .store
        .events_by_key(&history_key)?
        .into_iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::LockTaken { .. }
                    | EventKind::LockReviewed { .. }
                    | EventKind::LockDecided { .. }
                    | EventKind::LockTransferred { .. }
                    | EventKind::LockReleased { .. }
                    | EventKind::AccountGrouped { .. }
            )
        })
        .collect();
    Ok(LockShown {
        lock,
        account,
        history,
    })
}

/// Serves [`LocksGroup`].
pub async fn group(op: LocksGroup, cx: &mut Cx<'_>) -> Result<Recorded, Denied> {
    let account =
        crate::address::normalize_domain(op.account.trim_start_matches('@')).map_err(|e| {
            deny(
                ErrorCode::BadRequest,
                format!("account '{}': {e}", op.account),
            )
        })?;
    let mut normalized = Vec::with_capacity(op.domains.len());
    for d in &op.domains {
        normalized.push(
            crate::address::normalize_domain(d.trim().trim_start_matches('@'))
                .map_err(|e| deny(ErrorCode::BadRequest, format!("domain '{d}': {e}")))?,
        );
    }
    if normalized.is_empty() {
        return Err(deny(ErrorCode::BadRequest, "name at least one domain"));
    }
    let event_id =
        cx.h.store
            .group_account(account, normalized, cx.actor.clone())
            .await?;
    Ok(Recorded { event_id })
}
