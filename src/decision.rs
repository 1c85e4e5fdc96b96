//! The one RCPT decision: the list (with the sender group's exemptions) and then ownership
//! locks, for one sender and one recipient. The SMTP session and the admin previews (`check`,
//! `scrub --from`) all call [`decide`], so what the wire does and what a preview says cannot
//! drift apart. Only the session reserves the contact ([`Mode::Claim`]); a preview reads.
//!
//! Fail closed: any failure is an error, which every caller answers as "cannot decide", never
//! as a pass.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::locks::{Claim, LockCheck, LockManager, LockSettings, OwnerId};
use crate::model::{Lock, Timestamp};
use crate::policy::{Block, Exemption, Policy, PolicyError, Sender, Verdict};
use crate::store::Store;

/// What another owner's lock does to a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockEffect {
    /// Block mode, or the lock is under review: the recipient is refused.
    Refuse,
    /// Warn mode: the recipient passes, with the warning in the reply and the log.
    Warn,
}

/// The decision for one recipient.
pub enum RcptDecision {
    /// Relay it.
    Deliver {
        /// The sender group's exemption that set a list entry aside, if one did.
        exemption: Option<Exemption>,
        /// Another owner's lock it was warned about (warn mode), if any.
        warning: Option<Lock>,
        /// The reservations taken for the sender's owner ([`Mode::Claim`] only); they become
        /// locks when the message is relayed.
        claims: Vec<Claim>,
    },
    /// On the list: refuse it.
    Suppressed(Block),
    /// Another owner holds the contact or its account: refuse it.
    Locked(Lock),
    /// The sender's purpose needs a consent the recipient has not given: refuse it.
    NoConsent(String),
}

impl RcptDecision {
    /// The effect of the lock met, if any.
    pub fn lock_effect(&self) -> Option<(&Lock, LockEffect)> {
        match self {
            RcptDecision::Locked(lock) => Some((lock, LockEffect::Refuse)),
            RcptDecision::Deliver {
                warning: Some(lock),
                ..
            } => Some((lock, LockEffect::Warn)),
            _ => None,
        }
    }
}

/// How locks are consulted.
pub enum Mode<'a> {
    /// At RCPT: take the owner's claims, atomically against other owners.
    Claim(&'a Arc<LockManager>),
    /// A preview: read the stored locks as they are at `now`, reserve nothing.
    Preview(&'a Store, Timestamp),
}

/// The owner a sender counts as for ownership locks; `None` when locks do not apply to it
/// (a transactional sender group, or a null sender without a user).
pub fn owner_for(policy: &Policy, settings: &LockSettings, sender: &Sender<'_>) -> Option<OwnerId> {
    if policy.groups().is_transactional(sender) {
        None
    } else {
        settings.owner_of(sender)
    }
}

/// Decides a recipient for a sender (whose owner is `owner`, see [`owner_for`]).
pub fn decide(
    policy: &Policy,
    settings: &LockSettings,
    owner: Option<&OwnerId>,
    sender: &Sender<'_>,
    rcpt: &Address,
    mode: Mode<'_>,
) -> Result<RcptDecision, PolicyError> {
    let exemption = match policy.check_rcpt(sender, rcpt)? {
        Verdict::Block(block) => return Ok(RcptDecision::Suppressed(block)),
        Verdict::NoConsent { purpose } => return Ok(RcptDecision::NoConsent(purpose)),
        Verdict::Exempt(exemption) => Some(exemption),
        Verdict::Deliver => None,
    };
    let deliver = |warning, claims| RcptDecision::Deliver {
        exemption,
        warning,
        claims,
    };
    let Some(owner) = owner.filter(|_| settings.enabled()) else {
        return Ok(deliver(None, Vec::new()));
    };
    Ok(match mode {
        Mode::Claim(locks) => match locks.check(settings, owner, rcpt)? {
            LockCheck::Free(claims) => deliver(None, claims),
            LockCheck::Warn(claims, lock) => deliver(Some(lock), claims),
            LockCheck::Block(lock) => RcptDecision::Locked(lock),
        },
        Mode::Preview(store, now) => {
            match crate::locks::standing(store, settings, owner, rcpt, now)? {
                Some((lock, true)) => RcptDecision::Locked(lock),
                Some((lock, false)) => deliver(Some(lock), Vec::new()),
                None => deliver(None, Vec::new()),
            }
        }
    })
}
