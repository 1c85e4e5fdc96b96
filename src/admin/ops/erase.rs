//! `erase`: a person's data leaves the store and the decision log, their block stays.

use serde::{Deserialize, Serialize};

use crate::address::Target;
use crate::admin::context::{deny, parse_address, required_text, Cx, Denied};
use crate::admin::proto::ErrorCode;
use crate::store::Erased;

/// Erase a contact (ops and up): its records keep only the salted hash of its match key,
/// the reason, the dates and the actors; it stays refused. Answered with [`ErasedReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Erase {
    /// The contact's address.
    pub address: String,
    /// The request's proof (the ticket, the letter).
    pub proof: String,
}

/// Answer to [`Erase`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasedReport {
    /// What the store rewrote.
    pub erased: Erased,
    /// Decision log lines rewritten.
    pub log_lines: u64,
}

fn salt_fingerprint(policy: &crate::policy::Policy) -> Result<u64, Denied> {
    policy
        .salt_fingerprint()
        .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "no erasure salt"))
}

/// Serves [`Erase`].
pub async fn erase(op: Erase, cx: &mut Cx<'_>) -> Result<ErasedReport, Denied> {
    if cx.h.cluster.is_some() {
        return Err(deny(
            ErrorCode::Conflict,
            "erasure is not available on a fleet relay yet: the fleet's log in PostgreSQL keeps the history; nothing was changed",
        ));
    }
    let address = parse_address(&op.address)?;
    let proof = required_text(
        "proof",
        op.proof,
        "an erasure needs its proof (--proof TEXT)",
    )?;
    if proof.contains('@') {
        return Err(deny(
            ErrorCode::BadRequest,
            "the proof is kept after the erasure: give the request's reference (a ticket), not an address; nothing was changed",
        ));
    }
    let policy = cx.h.policy()?;
    let key = Target::Address(address.clone()).match_key();
    let salt = policy
        .salt()
        .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "no erasure salt"))?;
    let contact = crate::store::ErasedContact::new(key.clone(), address.as_str().to_string(), salt);
    let hashed = contact.hashed.clone();
    let erased =
        cx.h.store
            .erase(
                vec![contact],
                proof,
                salt_fingerprint(&policy)?,
                cx.actor.clone(),
                true,
            )
            .await??
            .pop()
            .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "nothing was erased"))?;
    let log_lines = match &cx.h.decisions {
        Some(log) => log
            .redact([(key.clone(), hashed.clone())].into())
            .await
            .map_err(|e| {
                deny(
                    ErrorCode::StoreUnavailable,
                    format!(
                    "the store is erased, but the decision log could not be: {e}; run erase again"
                ),
                )
            })?,
        None => 0,
    };
    tracing::info!(actor = %cx.actor, hashed = %erased.hashed, events = erased.events, attempts = erased.attempts, log_lines, "contact erased");
    Ok(ErasedReport { erased, log_lines })
}

/// Erase the personal data of contacts past `[retention] inactive_after` (ops and up): the
/// listed ones keep their block under the hashed key; those with only a lapsed consent keep
/// nothing but hashed records. A dry run unless `apply`. Answered with [`PurgeReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPurge {
    /// Erase them (else only list them).
    pub apply: bool,
}

/// Answer to [`RetentionPurge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Whether they were erased.
    pub applied: bool,
    /// The bound, in days.
    pub inactive_after_days: u64,
    /// The contacts: their address in a dry run, their hashed key once erased.
    pub contacts: Vec<PurgeRow>,
    /// Decision log lines rewritten.
    pub log_lines: u64,
}

/// One contact past the bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgeRow {
    /// The address (dry run) or the hashed key (applied).
    pub contact: String,
    /// Its last activity: the entry's time, its last interaction or consent.
    pub last_activity: crate::model::Timestamp,
    /// Whether it is on the list (its block stays).
    pub listed: bool,
}

/// Serves [`RetentionPurge`].
pub async fn purge(op: RetentionPurge, cx: &mut Cx<'_>) -> Result<PurgeReport, Denied> {
    if op.apply && cx.h.cluster.is_some() {
        return Err(deny(
            ErrorCode::Conflict,
            "erasure is not available on a fleet relay yet; nothing was changed",
        ));
    }
    let policy = cx.h.policy()?;
    let bound = policy.groups().inactive_after();
    let store = cx.h.store.clone();
    let due = tokio::task::spawn_blocking(move || past_the_bound(&store, bound))
        .await
        .map_err(|e| deny(ErrorCode::StoreUnavailable, e.to_string()))??;
    let mut report = PurgeReport {
        applied: op.apply,
        inactive_after_days: bound.as_secs() / 86_400,
        contacts: Vec::new(),
        log_lines: 0,
    };
    if !op.apply {
        report.contacts = due;
        return Ok(report);
    }
    let mut contacts = Vec::with_capacity(due.len());
    for row in &due {
        let key = Target::parse(&row.contact)
            .map(|t| t.match_key())
            .unwrap_or_default();
        let salt = policy
            .salt()
            .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "no erasure salt"))?;
        contacts.push(crate::store::ErasedContact::new(
            key,
            row.contact.clone(),
            salt,
        ));
    }
    let keys: std::collections::HashMap<String, String> = contacts
        .iter()
        .map(|c| (c.key.clone(), c.hashed.clone()))
        .collect();
    let proof = format!(
        "retention purge: no activity for {} days",
        report.inactive_after_days
    );
    if !contacts.is_empty() {
        cx.h.store
            .erase(
                contacts.clone(),
                proof,
                salt_fingerprint(&policy)?,
                cx.actor.clone(),
                false,
            )
            .await??;
        if let Some(log) = &cx.h.decisions {
            report.log_lines = log
                .redact(keys)
                .await
                .map_err(|e| deny(ErrorCode::StoreUnavailable, e))?;
        }
    }
    report.contacts = due
        .into_iter()
        .zip(contacts)
        .map(|(row, c)| PurgeRow {
            contact: c.hashed,
            ..row
        })
        .collect();
    tracing::info!(actor = %cx.actor, contacts = report.contacts.len(), "retention purge applied");
    Ok(report)
}

/// The address contacts (listed, or with a consent) whose last activity is past `bound`.
fn past_the_bound(
    store: &crate::store::Store,
    bound: std::time::Duration,
) -> Result<Vec<PurgeRow>, crate::store::StoreError> {
    let now = crate::model::Timestamp::now();
    let mut rows: std::collections::BTreeMap<String, PurgeRow> = Default::default();
    let mut consider = |key: &str,
                        address: &str,
                        at: crate::model::Timestamp,
                        listed: bool|
     -> Result<(), crate::store::StoreError> {
        let last = store.last_interaction(key)?.map_or(at, |l| l.max(at));
        let row = rows.entry(key.to_string()).or_insert(PurgeRow {
            contact: address.to_string(),
            last_activity: last,
            listed,
        });
        row.last_activity = row.last_activity.max(last);
        row.listed |= listed;
        Ok(())
    };
    let mut after: Option<String> = None;
    loop {
        let page = store.list(after.as_deref(), 5000)?;
        let Some(last) = page.last().map(|e| e.target.clone()) else {
            break;
        };
        for e in page {
            if let Ok(t @ Target::Address(_)) = Target::parse(&e.target) {
                consider(&t.match_key(), &e.target, e.added_at, true)?;
            }
        }
        after = Some(last);
    }
    store.for_each_consent(|c| match crate::hashing::is_hashed(&c.key) {
        true => Ok(()),
        false => consider(&c.key, &c.key, c.given_at, false),
    })?;
    Ok(rows
        .into_values()
        .filter(|r| r.last_activity.plus(bound) <= now)
        .collect())
}
