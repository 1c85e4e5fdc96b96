//! Lead lists and bulk lists: check one address or many (`check`, `scrub`), record a scrub,
//! and import in chunks committed at once.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::address::{Address, Target};
use crate::admin::context::{
    clean_units, deny, parse_address, parse_sender, text_limit, Cx, Denied, Handler, PendingImport,
};
use crate::admin::proto::{
    CheckResult, ErrorCode, ImportRow, ScrubStatus, ScrubVerdict, MAX_CHUNK,
};
use crate::decision::{decide, owner_for, LockEffect, Mode, RcptDecision};
use crate::locks::OwnerId;
use crate::model::{EventKind, Timestamp};
use crate::policy::{AsOf, Policy, Sender};
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
    /// Against the followed hashed feed alone (a subcontractor's relay).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hashed: bool,
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
    pub format: crate::model::ImportFormat,
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

/// The entry a phone number meets (now, or as the list stood `at`), if it is one.
fn phone_entry(
    h: &crate::admin::context::Handler,
    text: &str,
    at: Option<crate::model::Timestamp>,
) -> Result<Option<(String, Option<crate::model::Entry>)>, Denied> {
    if !crate::phone::looks_like_phone(text) {
        return Ok(None);
    }
    let number = crate::phone::normalise(text).map_err(|e| deny(ErrorCode::BadRequest, e))?;
    let entry = match at {
        Some(at) => h.store.entry_at(&number, at)?,
        None => match h.store.get(&Target::Phone(number.clone()))? {
            Some(entry) => Some(entry),
            // A subcontractor's relay: the company's list, hashed.
            None => h
                .store
                .find_feed(&[number.as_str()])?
                .into_iter()
                .next()
                .map(|(_, e)| e),
        },
    };
    Ok(Some((number, entry)))
}

/// Serves [`Check`].
pub fn check(op: Check, cx: &mut Cx<'_>) -> Result<CheckResult, Denied> {
    let h = cx.h;
    let policy = h.policy()?;
    if let Some((number, entry)) = phone_entry(h, &op.address, op.at)? {
        return Ok(CheckResult {
            address: op.address,
            normalized: number,
            deliverable: entry.is_none(),
            at: op.at,
            rule: entry.as_ref().map(|_| crate::model::Rule::Phone),
            entry,
            exemption: None,
            smtp_reply: None,
            lock: None,
            lock_effect: None,
            not_current: h.not_current(),
        });
    }
    let addr = parse_address(&op.address)?;
    let from_addr = parse_sender(op.from.as_deref())?;
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
        not_current: h.not_current(),
    };
    let decision = match op.at {
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
            preview(h, &as_of, None, &sender, &addr)?
        }
        None => {
            let sender = Sender {
                address: from_addr.as_ref(),
                user: None,
            };
            let owner = owner_for(&policy, &h.lock_settings()?, &sender);
            preview(h, &policy, owner.as_ref(), &sender, &addr)?
        }
    };
    if let Some((lock, effect)) = decision.lock_effect() {
        if effect == LockEffect::Refuse {
            result.deliverable = false;
            result.smtp_reply =
                Some(Reply::locked(&result.address, &crate::locks::describe(lock)).to_string());
        }
        result.lock_effect = Some(effect);
        result.lock = Some(lock.clone());
    }
    match decision {
        RcptDecision::Deliver {
            exemption: Some(e), ..
        } => {
            result.rule = Some(e.rule);
            result.entry = Some(e.entry);
            result.exemption = Some(e.group);
        }
        RcptDecision::Suppressed(block) => {
            result.deliverable = false;
            result.smtp_reply = Some(Reply::for_block(&result.address, &block).to_string());
            result.rule = Some(block.rule);
            result.entry = Some(block.entry);
        }
        RcptDecision::NoConsent(purpose) => {
            result.deliverable = false;
            result.smtp_reply = Some(Reply::no_consent(&result.address, &purpose).to_string());
        }
        RcptDecision::Deliver { .. } | RcptDecision::Locked(_) => {}
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
    if let Some(why) = h.not_current() {
        // The wire defers these recipients (451): a scrub does not pass them from a stale copy.
        return Err(deny(
            ErrorCode::StoreUnavailable,
            format!("{why}; nothing scrubbed"),
        ));
    }
    let policy = h.policy()?;
    let from = parse_sender(op.from.as_deref())?;
    let sender = Sender {
        address: from.as_ref(),
        user: None,
    };
    if op.hashed {
        return check_hashed(h, &policy, &sender, op.addresses);
    }
    let owner = owner_for(&policy, &h.lock_settings()?, &sender);
    let mut results = Vec::with_capacity(op.addresses.len());
    for address in op.addresses {
        if crate::phone::looks_like_phone(&address) {
            results.push(match phone_entry(h, &address, None) {
                Ok(Some((_, Some(entry)))) => ScrubStatus {
                    status: ScrubVerdict::Suppressed,
                    reason: Some(entry.reason.to_string()),
                },
                Ok(_) => ScrubStatus {
                    status: ScrubVerdict::Ok,
                    reason: None,
                },
                Err(d) => ScrubStatus {
                    status: ScrubVerdict::Invalid,
                    reason: Some(d.message),
                },
            });
            continue;
        }
        let addr = match Address::parse(&address) {
            Ok(addr) => addr,
            Err(e) => {
                results.push(ScrubStatus {
                    status: ScrubVerdict::Invalid,
                    reason: Some(e.to_string()),
                });
                continue;
            }
        };
        let decision = preview(h, &policy, owner.as_ref(), &sender, &addr)?;
        results.push(match decision {
            RcptDecision::Suppressed(b) => ScrubStatus {
                status: ScrubVerdict::Suppressed,
                reason: Some(b.entry.reason.to_string()),
            },
            RcptDecision::Locked(lock) => ScrubStatus {
                status: ScrubVerdict::Locked,
                reason: Some(crate::locks::describe(&lock)),
            },
            RcptDecision::NoConsent(purpose) => ScrubStatus {
                status: ScrubVerdict::NoConsent,
                reason: Some(format!("no consent recorded for {purpose}")),
            },
            RcptDecision::Deliver {
                warning: Some(lock),
                ..
            } => ScrubStatus {
                status: ScrubVerdict::Ok,
                reason: Some(format!("warning: {}", crate::locks::describe(&lock))),
            },
            RcptDecision::Deliver { .. } => ScrubStatus {
                status: ScrubVerdict::Ok,
                reason: None,
            },
        });
    }
    Ok(CheckedMany { results })
}

/// Serves [`CheckMany`] with `hashed`: each address (its match keys, as RCPT probes them)
/// or number is looked up in the followed feed alone, hashed with the feed's salt.
fn check_hashed(
    h: &Handler,
    policy: &Policy,
    sender: &Sender<'_>,
    addresses: Vec<String>,
) -> Result<CheckedMany, Denied> {
    if h.feed.is_none() {
        return Err(deny(
            ErrorCode::BadRequest,
            "this relay follows no hashed feed ([replica] feed): scrub without --hashed",
        ));
    }
    let unit = policy.groups().unit_of(sender);
    let mut results = Vec::with_capacity(addresses.len());
    for address in addresses {
        let keys = if crate::phone::looks_like_phone(&address) {
            crate::phone::normalise(&address).map(|n| vec![n])
        } else {
            Address::parse(&address)
                .map(|a| policy.match_keys(&a))
                .map_err(|e| e.to_string())
        };
        let keys = match keys {
            Ok(keys) => keys,
            Err(e) => {
                results.push(ScrubStatus {
                    status: ScrubVerdict::Invalid,
                    reason: Some(e),
                });
                continue;
            }
        };
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let hit = h
            .store
            .find_feed(&keys)?
            .into_iter()
            // As at RCPT: a sender in no unit is bound by every entry of the feed.
            .find(|(_, e)| unit.is_none() || e.applies_to(unit));
        results.push(match hit {
            Some((_, entry)) => ScrubStatus {
                status: ScrubVerdict::Suppressed,
                reason: Some(entry.reason.to_string()),
            },
            None => ScrubStatus {
                status: ScrubVerdict::Ok,
                reason: None,
            },
        });
    }
    Ok(CheckedMany { results })
}

/// What RCPT would decide now, by the one decision the session uses, without reserving.
fn preview(
    h: &Handler,
    policy: &Policy,
    owner: Option<&OwnerId>,
    sender: &Sender<'_>,
    rcpt: &Address,
) -> Result<RcptDecision, Denied> {
    decide(
        policy,
        &h.lock_settings()?,
        owner,
        sender,
        rcpt,
        Mode::Preview(&h.store, Timestamp::now()),
    )
    .map_err(|e| deny(ErrorCode::StoreUnavailable, e.to_string()))
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
