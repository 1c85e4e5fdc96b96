//! Consent per purpose: record it (with its proof), withdraw it, show a contact's, list all
//! (for export) and import many.

use serde::{Deserialize, Serialize};

use crate::address::Target;
use crate::admin::context::{deny, parse_address, required_text, text_limit, Cx, Denied};
use crate::admin::proto::ErrorCode;
use crate::model::consent::{Channel, Consent};
use crate::model::{Event, Timestamp};

/// Record a contact's consent for a purpose. Answered with [`ConsentChanged`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentAdd {
    /// The contact's address.
    pub address: String,
    /// The purpose, from `[[purposes]]`.
    pub purpose: String,
    /// The channel.
    pub channel: Channel,
    /// The proof (required).
    pub proof: String,
    /// When the contact consented; now when absent.
    #[serde(default)]
    pub at: Option<Timestamp>,
    /// Confirmed by answering a mail.
    #[serde(default)]
    pub double_opt_in: bool,
}

/// Withdraw a contact's consent for a purpose. Answered with [`ConsentChanged`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentWithdraw {
    /// The contact's address.
    pub address: String,
    /// The purpose.
    pub purpose: String,
    /// Why (required).
    pub why: String,
}

/// The consent as it now stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentChanged {
    /// The consent.
    pub consent: Consent,
}

/// A contact's consents and their history. Answered with [`ConsentShown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentShow {
    /// The contact's address.
    pub address: String,
}

/// Answer to [`ConsentShow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentShown {
    /// The contact's match key.
    pub key: String,
    /// Every consent recorded for it, one per purpose (withdrawn ones too).
    pub consents: Vec<Consent>,
    /// The consent events about it, oldest first.
    pub history: Vec<Event>,
    /// The purposes whose consent is in force now (not withdrawn, not lapsed, not expired).
    #[serde(default)]
    pub in_force: Vec<String>,
}

/// A page of every consent, in key order (for `consent export`). Answered with
/// [`ConsentPage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentList {
    /// After this store key (from the previous page's `next`).
    #[serde(default)]
    pub after: Option<String>,
}

/// Answer to [`ConsentList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentPage {
    /// The consents.
    pub consents: Vec<Consent>,
    /// What to ask `after` for the next page, if there is one.
    pub next: Option<String>,
}

/// Record many consents in one transaction (a CSV the CLI has checked row by row).
/// Answered with [`ConsentImported`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentImport {
    /// The rows.
    pub rows: Vec<ConsentAdd>,
}

/// Answer to [`ConsentImport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentImported {
    /// Rows recorded.
    pub rows: u64,
}

/// Consents per page of [`ConsentList`].
const PAGE: usize = 1000;

/// Rows per [`ConsentImport`], at most.
pub const MAX_IMPORT: usize = 5000;

/// A consent as given, checked: the address, a purpose the config knows, the proof.
fn checked(op: ConsentAdd, cx: &Cx<'_>) -> Result<Consent, Denied> {
    let address = parse_address(&op.address)?;
    let policy = cx.h.policy()?;
    if policy.groups().purpose(&op.purpose).is_none() {
        let known = policy.groups().purpose_names().join(", ");
        return Err(deny(
            ErrorCode::BadRequest,
            format!(
                "'{}' is not a purpose of this relay (known: {}); nothing was changed",
                op.purpose,
                if known.is_empty() {
                    "none: see [[purposes]]".into()
                } else {
                    known
                }
            ),
        ));
    }
    let proof = required_text(
        "proof",
        op.proof,
        "a consent needs its proof (--proof TEXT)",
    )?;
    let now = Timestamp::now();
    let given_at = op.at.unwrap_or(now);
    if given_at > now.plus(std::time::Duration::from_secs(300)) {
        return Err(deny(
            ErrorCode::BadRequest,
            format!("--at {given_at} is in the future; nothing was changed"),
        ));
    }
    Ok(Consent {
        key: Target::Address(address).match_key(),
        purpose: op.purpose,
        channel: op.channel,
        proof,
        given_at,
        double_opt_in: op.double_opt_in,
        actor: cx.actor.clone(),
        event_id: 0,
        withdrawn: None,
    })
}

/// Serves [`ConsentAdd`].
pub async fn add(op: ConsentAdd, cx: &mut Cx<'_>) -> Result<ConsentChanged, Denied> {
    let consent = checked(op, cx)?;
    let mut stored =
        cx.h.store
            .give_consents(vec![consent], cx.actor.clone())
            .await??;
    let consent = stored
        .pop()
        .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "the consent was not recorded"))?;
    tracing::info!(actor = %cx.actor, purpose = %consent.purpose, event = consent.event_id, "consent recorded");
    Ok(ConsentChanged { consent })
}

/// Serves [`ConsentWithdraw`].
pub async fn withdraw(op: ConsentWithdraw, cx: &mut Cx<'_>) -> Result<ConsentChanged, Denied> {
    let address = parse_address(&op.address)?;
    let why = required_text("why", op.why, "a withdrawal needs a reason (--why TEXT)")?;
    // Along the keys RCPT checks: the address, then without its +tag.
    let keys = cx.h.policy()?.consent_keys(&address);
    let mut withdrawn = None;
    let mut refused = None;
    for key in keys {
        match cx
            .h
            .store
            .withdraw_consent(&key, &op.purpose, why.clone(), cx.actor.clone())
            .await?
        {
            Ok(c) => withdrawn = withdrawn.or(Some(c)),
            Err(r) => refused = refused.or(Some(r)),
        }
    }
    let consent = match (withdrawn, refused) {
        (Some(c), _) => c,
        (None, Some(r)) => return Err(r.into()),
        (None, None) => return Err(deny(ErrorCode::NotFound, "no consent to withdraw")),
    };
    tracing::info!(actor = %cx.actor, purpose = %consent.purpose, "consent withdrawn");
    Ok(ConsentChanged { consent })
}

/// Serves [`ConsentShow`].
pub fn show(op: ConsentShow, cx: &mut Cx<'_>) -> Result<ConsentShown, Denied> {
    let address = parse_address(&op.address)?;
    let key = Target::Address(address).match_key();
    let consents = cx.h.store.consents_of(&key)?;
    let history =
        cx.h.store
            .events_by_key(&key)?
            .into_iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    crate::model::EventKind::ConsentGiven { .. }
                        | crate::model::EventKind::ConsentWithdrawn { .. }
                )
            })
            .collect();
    let policy = cx.h.policy()?;
    let last = cx.h.store.last_interaction(&key)?;
    let now = Timestamp::now();
    let in_force = consents
        .iter()
        .filter(|c| {
            policy
                .groups()
                .purpose(&c.purpose)
                .is_some_and(|p| p.allows(c, last, now))
        })
        .map(|c| c.purpose.clone())
        .collect();
    Ok(ConsentShown {
        key,
        consents,
        history,
        in_force,
    })
}

/// Serves [`ConsentList`].
pub fn list(op: ConsentList, cx: &mut Cx<'_>) -> Result<ConsentPage, Denied> {
    let consents = cx.h.store.consents(op.after.as_deref(), PAGE)?;
    let next = (consents.len() == PAGE)
        .then(|| {
            consents
                .last()
                .map(|c| Consent::store_key(&c.key, &c.purpose))
        })
        .flatten();
    Ok(ConsentPage { consents, next })
}

/// Serves [`ConsentImport`]: every row checked first; then all in one transaction.
pub async fn import(op: ConsentImport, cx: &mut Cx<'_>) -> Result<ConsentImported, Denied> {
    if op.rows.len() > MAX_IMPORT {
        return Err(deny(
            ErrorCode::BadRequest,
            format!("at most {MAX_IMPORT} consents per request"),
        ));
    }
    let mut consents = Vec::with_capacity(op.rows.len());
    for (i, row) in op.rows.into_iter().enumerate() {
        text_limit("proof", &row.proof)?;
        let consent = checked(row, cx).map_err(|d| Denied {
            code: d.code,
            message: format!("row {}: {}", i + 1, d.message),
        })?;
        consents.push(consent);
    }
    let stored =
        cx.h.store
            .give_consents(consents, cx.actor.clone())
            .await??;
    tracing::info!(actor = %cx.actor, rows = stored.len(), "consents imported");
    Ok(ConsentImported {
        rows: stored.len() as u64,
    })
}
