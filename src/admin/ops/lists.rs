//! Lead lists and bulk lists: check one address or many (`check`, `scrub`), record a scrub,
//! and import in chunks committed at once.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::address::{Address, Target};
use crate::admin::context::{
    clean_units, deny, parse_address, parse_sender, text_limit, Cx, Denied, Handler, PendingImport,
};
use crate::admin::proto::{CheckResult, ErrorCode, ImportRow, ScrubStatus, MAX_CHUNK};
use crate::model::{EventKind, Lock, Timestamp};
use crate::policy::{AsOf, Policy, Sender, Verdict};
use crate::smtp::Reply;
use crate::store::{ImportSummary, NewEntry};

/// Most rows one connection may stage for an import.
const MAX_IMPORT_ROWS: usize = 20_000_000;

/// What would happen to a recipient (now, or at a past moment). Answered with
/// [`CheckResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The recipient address.
    pub address: String,
    /// The sender, if it matters (sender groups).
    pub from: Option<String>,
    /// Answer as the list stood at this moment.
    #[serde(default)]
    pub at: Option<Timestamp>,
}

/// Many addresses at once, for scrubbing lead lists. Answered with [`CheckedMany`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckMany {
    /// The addresses (at most [`MAX_CHUNK`]).
    pub addresses: Vec<String>,
    /// The sender who means to mail them (sender groups, unit scopes, ownership locks).
    #[serde(default)]
    pub from: Option<String>,
}

/// Answer to [`CheckMany`], in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedMany {
    /// One result per address.
    pub results: Vec<ScrubStatus>,
}

/// Record that a lead list was scrubbed (an event; nothing else changes). Answered with
/// [`Recorded`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordScrub {
    /// The file name.
    pub file: String,
    /// Rows checked.
    pub rows: u64,
    /// Rows on the list.
    pub blocked: u64,
    /// Rows with a malformed address.
    pub invalid: u64,
}

/// An answer that names the event it wrote (0 when nothing was written yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// The event id.
    pub event_id: u64,
}

/// Part of an import (manager and above); rows are staged until [`ImportCommit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportChunk {
    /// The rows.
    pub rows: Vec<ImportRow>,
}

/// Imports the rows staged on this connection in one transaction. Answered with
/// [`Imported`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCommit {
    /// The file name.
    pub file: String,
    /// The format detected.
    pub format: String,
    /// Rows skipped as malformed by the CLI (`--skip-invalid`).
    pub skipped: u64,
}

/// Answer to [`ImportCommit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// Rows imported.
    pub rows: u64,
    /// New entries.
    pub added: u64,
    /// Targets already on the list.
    pub already: u64,
    /// The summary event.
    pub event_id: u64,
}

/// Serves [`Check`].
pub fn check(op: Check, cx: &mut Cx<'_>) -> Result<CheckResult, Denied> {
    let h = cx.h;
    let policy = h.policy()?;
    let addr = parse_address(&op.address)?;
    let from_addr = parse_sender(op.from.as_deref())?;
    let (verdict, lock) = match op.at {
        // Locks have no point-in-time view: `--at` answers for the list alone.
        Some(at) => {
            let sender = Sender {
                address: from_addr.as_ref(),
                user: None,
            };
            let as_of = policy.with_lookup(Arc::new(AsOf {
                store: h.store.clone(),
                at,
            }));
            let verdict = as_of
                .check_rcpt(&sender, &addr)
                .map_err(|e| deny(ErrorCode::StoreUnavailable, e.to_string()))?;
            (verdict, None)
        }
        None => decide(
            h,
            &policy,
            &h.lock_settings()?,
            from_addr.as_ref(),
            &addr,
            Timestamp::now(),
        )?,
    };
    let mut result = CheckResult {
        address: op.address,
        normalized: addr.to_string(),
        deliverable: true,
        at: op.at,
        rule: None,
        entry: None,
        exemption: None,
        smtp_reply: None,
        lock: None,
        lock_effect: None,
    };
    match verdict {
        Verdict::Deliver => {}
        Verdict::Exempt(e) => {
            result.rule = Some(e.rule);
            result.entry = Some(e.entry);
            result.exemption = Some(e.group);
        }
        Verdict::Block(block) => {
            result.deliverable = false;
            result.smtp_reply = Some(Reply::for_block(&result.address, &block).to_string());
            result.rule = Some(block.rule);
            result.entry = Some(block.entry);
        }
    }
    if let Some((lock, refuses)) = lock {
        if refuses {
            result.deliverable = false;
            result.smtp_reply =
                Some(Reply::locked(&result.address, &crate::locks::describe(&lock)).to_string());
        }
        result.lock_effect = Some(if refuses { "refuse" } else { "warn" }.to_string());
        result.lock = Some(lock);
    }
    Ok(result)
}

/// Serves [`CheckMany`].
pub fn check_many(op: CheckMany, cx: &mut Cx<'_>) -> Result<CheckedMany, Denied> {
    if op.addresses.len() > MAX_CHUNK {
        return Err(deny(
            ErrorCode::BadRequest,
            format!("at most {MAX_CHUNK} addresses at once"),
        ));
    }
    let h = cx.h;
    let policy = h.policy()?;
    let from = parse_sender(op.from.as_deref())?;
    let settings = h.lock_settings()?;
    let now = Timestamp::now();
    let mut results = Vec::with_capacity(op.addresses.len());
    for address in op.addresses {
        let addr = match Address::parse(&address) {
            Ok(addr) => addr,
            Err(e) => {
                results.push(ScrubStatus {
                    status: "invalid".into(),
                    reason: Some(e.to_string()),
                });
                continue;
            }
        };
        let (verdict, lock) = decide(h, &policy, &settings, from.as_ref(), &addr, now)?;
        results.push(match (verdict, lock) {
            (Verdict::Block(b), _) => ScrubStatus {
                status: "suppressed".into(),
                reason: Some(b.entry.reason.to_string()),
            },
            (_, Some((lock, true))) => ScrubStatus {
                status: "locked".into(),
                reason: Some(crate::locks::describe(&lock)),
            },
            (_, Some((lock, false))) => ScrubStatus {
                status: "ok".into(),
                reason: Some(format!("warning: {}", crate::locks::describe(&lock))),
            },
            (Verdict::Deliver | Verdict::Exempt(_), None) => ScrubStatus {
                status: "ok".into(),
                reason: None,
            },
        });
    }
    Ok(CheckedMany { results })
}

/// What RCPT would decide now for `rcpt` from `from`: the list's verdict and, when the list
/// lets it through, another owner's lock the sender would meet (`true`: it refuses). Locks are
/// judged as at RCPT: transactional senders and the null sender are exempt.
fn decide(
    h: &Handler,
    policy: &Policy,
    settings: &crate::locks::LockSettings,
    from: Option<&Address>,
    rcpt: &Address,
    now: Timestamp,
) -> Result<(Verdict, Option<(Lock, bool)>), Denied> {
    let sender = Sender {
        address: from,
        user: None,
    };
    let verdict = policy
        .check_rcpt(&sender, rcpt)
        .map_err(|e| deny(ErrorCode::StoreUnavailable, e.to_string()))?;
    if matches!(verdict, Verdict::Block(_))
        || from.is_none()
        || !settings.enabled()
        || policy.groups().is_transactional(&sender)
    {
        return Ok((verdict, None));
    }
    let Some(owner) = settings.owner_of(&sender) else {
        return Ok((verdict, None));
    };
    let lock = crate::locks::standing(&h.store, settings, &owner, rcpt, now)?;
    Ok((verdict, lock))
}

/// Serves [`RecordScrub`].
pub async fn record_scrub(op: RecordScrub, cx: &mut Cx<'_>) -> Result<Recorded, Denied> {
    text_limit("file name", &op.file)?;
    let kind = EventKind::Scrubbed {
        file: op.file,
        rows: op.rows,
        blocked: op.blocked,
        invalid: op.invalid,
    };
    let event_id = cx.h.store.record_event(kind, cx.actor.clone()).await?;
    Ok(Recorded { event_id })
}

/// Serves [`ImportChunk`]: checks the rows and stages them (nothing is in force yet).
pub async fn import_chunk(op: ImportChunk, cx: &mut Cx<'_>) -> Result<Recorded, Denied> {
    let staged = cx.conn.import.as_ref().map_or(0, |i| i.rows);
    if op.rows.len() > MAX_CHUNK || staged + op.rows.len() > MAX_IMPORT_ROWS {
        return Err(deny(ErrorCode::BadRequest, "import chunk too large"));
    }
    let entries = import_entries(op.rows, &cx.h.known_units())?;
    let store = &cx.h.store;
    let pending = cx
        .conn
        .import
        .get_or_insert_with(|| PendingImport::new(store));
    pending.rows += entries.len();
    store.stage_import(pending.id, entries).await?;
    Ok(Recorded { event_id: 0 })
}

/// Serves [`ImportCommit`]: every staged row and the import's event, in one transaction.
pub async fn import_commit(op: ImportCommit, cx: &mut Cx<'_>) -> Result<Imported, Denied> {
    let mut pending = match cx.conn.import.take() {
        Some(pending) => pending,
        None => PendingImport::new(&cx.h.store),
    };
    let summary = ImportSummary {
        file: op.file,
        format: op.format,
        skipped: op.skipped,
    };
    let counts =
        cx.h.store
            .finish_import(pending.id, summary, cx.actor.clone())
            .await?;
    pending.committed = true;
    tracing::info!(actor = %cx.actor, rows = counts.rows, added = counts.added, "import committed");
    Ok(Imported {
        rows: counts.rows,
        added: counts.added,
        already: counts.already,
        event_id: counts.event_id,
    })
}

/// Import rows checked and made entries; a bad row refuses the chunk, naming its line.
fn import_entries(rows: Vec<ImportRow>, known: &[String]) -> Result<Vec<NewEntry>, Denied> {
    rows.into_iter()
        .map(|row| {
            let target = Target::parse(&row.target).map_err(|e| {
                deny(
                    ErrorCode::BadRequest,
                    format!(
                        "line {}: '{}' is not a valid target: {e}",
                        row.line, row.target
                    ),
                )
            })?;
            text_limit("evidence", &row.evidence)?;
            Ok(NewEntry {
                target,
                reason: row.reason,
                source: row.source,
                evidence: row.evidence,
                units: clean_units(row.units, known)?,
            })
        })
        .collect()
}
