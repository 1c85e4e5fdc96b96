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
    let policy = cx.h.policy()?;
    let key = Target::Address(address.clone()).match_key();
    let hashed = policy
        .hash_key(&key)
        .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "no erasure salt"))?;
    let erased =
        cx.h.store
            .erase(&key, address.as_str(), &hashed, proof, cx.actor.clone())
            .await??;
    let log_lines = match &cx.h.decisions {
        Some(log) => log.redact(&key, &hashed).await.map_err(|e| {
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
