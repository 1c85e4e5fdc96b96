//! Audits: a sample of relayed mail checked against the list as it stood, one contact's
//! timeline, and contacts or accounts mailed by more than one owner. The queries themselves
//! are in [`crate::admin::audit`].

use serde::{Deserialize, Serialize};

use crate::admin::audit;
use crate::admin::context::{parse_address, Cx, Denied};
use crate::admin::proto::{ContactReport, DuplicatesReport, SampleReport};

/// Check a random sample of relayed recipients against the list as it stood when each was
/// sent. Answered with [`SampleReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSample {
    /// The window, in days back from now.
    pub days: u32,
    /// How many to check.
    pub size: usize,
}

/// A contact's timeline. Answered with [`ContactReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditContact {
    /// The address.
    pub address: String,
}

/// Contacts and accounts first mailed by more than one owner or mailbox in the window.
/// Answered with [`DuplicatesReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditDuplicates {
    /// The window, in days back from now.
    pub days: u32,
}

/// Serves [`AuditSample`].
pub fn sample(op: AuditSample, cx: &mut Cx<'_>) -> Result<SampleReport, Denied> {
    Ok(audit::sample(
        &cx.h.store,
        &cx.h.policy()?,
        op.days,
        op.size,
    )?)
}

/// Serves [`AuditContact`].
pub fn contact(op: AuditContact, cx: &mut Cx<'_>) -> Result<ContactReport, Denied> {
    let addr = parse_address(&op.address)?;
    Ok(audit::contact(&cx.h.store, &cx.h.policy()?, &addr)?)
}

/// Serves [`AuditDuplicates`].
pub fn duplicates(op: AuditDuplicates, cx: &mut Cx<'_>) -> Result<DuplicatesReport, Denied> {
    Ok(audit::duplicates(
        &cx.h.store,
        &cx.h.lock_settings()?,
        op.days,
    )?)
}
