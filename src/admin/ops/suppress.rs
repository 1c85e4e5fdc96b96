//! Who am I, and the list itself: add, page through, show one entry with its history.

use serde::{Deserialize, Serialize};

use crate::address::Target;
use crate::admin::context::{clean_units, parse_target, text_limit, Cx, Denied};
use crate::admin::proto::MAX_PAGE;
use crate::model::{Actor, Attempt, Entry, Event, Reason, Source};
use crate::store::{AddOutcome, NewEntry};

/// Is the relay there, and who am I to it? Answered with [`Pong`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ping;

/// Answer to [`Ping`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// The relay's version.
    pub version: String,
    /// Entries on the list.
    pub entries: u64,
    /// Who the relay takes the caller for.
    pub actor: Actor,
    /// `[phones] default_country` of the relay: the CLI reads national numbers in files
    /// (imports, scrubs) as the relay would.
    #[serde(default)]
    pub phone_country: Option<String>,
}

/// Add a suppression (any role). Answered with [`Added`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressAdd {
    /// An address or `@domain`.
    pub target: String,
    /// Why (required).
    pub reason: Reason,
    /// Through which channel; `admin` when absent.
    pub source: Option<Source>,
    /// The proof.
    pub evidence: Option<String>,
    /// Units whose senders it binds; absent or empty for every sender.
    #[serde(default)]
    pub units: crate::model::Units,
}

/// Answer to [`SuppressAdd`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Added {
    /// False when the target was already suppressed.
    pub created: bool,
    /// The entry in force after the add.
    pub entry: Entry,
    /// The event that recorded this add (0 while it is queued).
    pub event_id: u64,
    /// A fleet relay that could not reach PostgreSQL: the entry is in force on this relay
    /// and goes to the fleet's log once the database is back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queued: bool,
}

/// A page of the list in key order. Answered with [`Page`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressList {
    /// Start after this key (the `next` of the previous page).
    pub after: Option<String>,
    /// Page size (capped at [`MAX_PAGE`]).
    pub limit: usize,
}

/// Answer to [`SuppressList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Entries in key order.
    pub entries: Vec<Entry>,
    /// The `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// One entry, its history and the attempts it refused. Answered with [`Shown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressShow {
    /// An address or `@domain`.
    pub target: String,
}

/// Answer to [`SuppressShow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    /// The normalised target asked about.
    pub target: String,
    /// The entry, if the target is suppressed.
    pub entry: Option<Entry>,
    /// Every event about the target, oldest first.
    pub history: Vec<Event>,
    /// Send attempts it refused (and relayed ones to it), oldest first.
    pub attempts: Vec<Attempt>,
}

/// Serves [`Ping`].
pub fn ping(_: Ping, cx: &mut Cx<'_>) -> Result<Pong, Denied> {
    Ok(Pong {
        version: env!("CARGO_PKG_VERSION").into(),
        entries: cx.h.store.count()?,
        actor: cx.actor.clone(),
        phone_country: crate::phone::default_country(),
    })
}

/// Serves [`SuppressAdd`]: the one add path of the socket (see `Store::add`).
pub async fn add(op: SuppressAdd, cx: &mut Cx<'_>) -> Result<Added, Denied> {
    let target = parse_target(&op.target)?;
    let evidence = op.evidence.unwrap_or_default();
    text_limit("evidence", &evidence)?;
    let new = NewEntry {
        target,
        reason: op.reason,
        source: op.source.unwrap_or(Source::Admin),
        evidence,
        units: clean_units(op.units, &cx.h.known_units())?,
    };
    let outcome = cx.h.store.add(new, cx.actor.clone()).await?;
    let (entry, created, event_id) = match outcome {
        AddOutcome::Added(entry) => {
            let id = entry.event_id;
            (entry, true, id)
        }
        AddOutcome::AlreadySuppressed { entry, event_id } => (entry, false, event_id),
        AddOutcome::Queued(entry) => {
            tracing::warn!(actor = %cx.actor, target = %entry.target, reason = %entry.reason, "suppression added on this relay only: the fleet's log cannot be written now; it is pushed to the fleet when it can");
            return Ok(Added {
                created: true,
                entry,
                event_id: 0,
                queued: true,
            });
        }
    };
    tracing::info!(actor = %cx.actor, target = %entry.target, reason = %entry.reason, created, "suppression added");
    Ok(Added {
        created,
        entry,
        event_id,
        queued: false,
    })
}

/// Serves [`SuppressList`].
pub fn list(op: SuppressList, cx: &mut Cx<'_>) -> Result<Page, Denied> {
    let limit = op.limit.clamp(1, MAX_PAGE);
    let entries = cx.h.store.list(op.after.as_deref(), limit)?;
    let next = (entries.len() == limit)
        .then(|| entries.last().and_then(|e| Target::parse(&e.target).ok()))
        .flatten()
        .map(|t| t.match_key());
    Ok(Page { entries, next })
}

/// Serves [`SuppressShow`].
pub fn show(op: SuppressShow, cx: &mut Cx<'_>) -> Result<Shown, Denied> {
    let target = parse_target(&op.target)?;
    let store = &cx.h.store;
    Ok(Shown {
        target: target.to_string(),
        entry: store.get(&target)?,
        history: store.history(&target)?,
        attempts: store.attempts_by_key(&target.match_key())?,
    })
}
