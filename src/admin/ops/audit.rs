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

/// Contacts with a consent whose last interaction is past the retention bound (their
/// consent has lapsed) or within `months` of it (a reactivation campaign can still reach
/// them). Answered with [`DormantReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditDormant {
    /// How far ahead to look, in months.
    pub months: u32,
    /// Only this purpose.
    #[serde(default)]
    pub purpose: Option<String>,
}

/// Answer to [`AuditDormant`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DormantReport {
    /// `[retention] inactive_after`, in days.
    pub inactive_after_days: u64,
    /// The contacts, soonest to lapse first (lapsed ones first of all).
    pub contacts: Vec<Dormant>,
}

/// One contact's consent nearing or past the bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dormant {
    /// The contact's match key.
    pub address: String,
    /// The purpose of the consent.
    pub purpose: String,
    /// Its last interaction (the consent itself counts).
    pub last_interaction: crate::model::Timestamp,
    /// When the consent lapses (or lapsed): the last interaction plus the bound.
    pub lapses_at: crate::model::Timestamp,
    /// Already lapsed: that purpose's mail to it is refused.
    pub lapsed: bool,
}

/// Serves [`AuditDormant`].
pub fn dormant(op: AuditDormant, cx: &mut Cx<'_>) -> Result<DormantReport, Denied> {
    let policy = cx.h.policy()?;
    let now = crate::model::Timestamp::now();
    let ahead = std::time::Duration::from_secs(u64::from(op.months) * 2_630_016);
    let store = &cx.h.store;
    let mut contacts = Vec::new();
    store.for_each_consent(|c| -> Result<(), Denied> {
        if c.withdrawn.is_some() || op.purpose.as_ref().is_some_and(|p| *p != c.purpose) {
            return Ok(());
        }
        // Only consents that mail depends on: a purpose that requires one.
        let Some(purpose) = policy
            .groups()
            .purpose(&c.purpose)
            .filter(|p| p.requires_consent)
        else {
            return Ok(());
        };
        let seen = store.last_interaction(&c.key)?;
        let last = seen.map_or(c.given_at, |l| l.max(c.given_at));
        // The earlier of the two ends: inactivity, or the consent's own lifetime.
        let mut lapses_at = last.plus(purpose.inactive_after);
        if let Some(lasts) = purpose.consent_lasts {
            lapses_at = lapses_at.min(c.given_at.plus(lasts));
        }
        if lapses_at <= now.plus(ahead) {
            contacts.push(Dormant {
                address: c.key,
                purpose: c.purpose,
                last_interaction: last,
                lapses_at,
                lapsed: lapses_at <= now,
            });
        }
        Ok(())
    })?;
    contacts.sort_by_key(|d| d.lapses_at);
    let days = policy
        .groups()
        .purpose_names()
        .first()
        .and_then(|n| policy.groups().purpose(n).map(|p| p.inactive_after))
        .unwrap_or(crate::config::RetentionConfig::default().inactive_after)
        .as_secs()
        / 86_400;
    Ok(DormantReport {
        inactive_after_days: days,
        contacts,
    })
}
