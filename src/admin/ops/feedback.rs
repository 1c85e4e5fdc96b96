//! Feedback handed over to the relay (`dnc-relay ingest`) and its review queue. A message is
//! classified by the relay's rules, recorded, and its suppressions made through the one add
//! path, all in one transaction; review items wait for a person (`feedback confirm` is an
//! add, sdr and up; `feedback dismiss` is for managers and up).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::admin::context::{deny, required_text, Cx, Denied};
use crate::admin::proto::ErrorCode;
use crate::model::feedback::{Action, ActionKind, Class, Kind, Record};
use crate::model::{Actor, Units};
use crate::store::Recorded;

/// The largest message `ingest` hands over, in bytes (the relay reads the start of a larger
/// one: what a bounce or a reply says is at its top).
pub const MAX_MESSAGE: usize = 1024 * 1024;

/// Hand over one RFC 5322 message. Answered with [`Ingested`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIngest {
    /// The raw message, base64 (messages are bytes, not always UTF-8).
    pub message: String,
}

/// Answer to [`FeedbackIngest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// The feedback record's id.
    pub id: u64,
    /// False when the same message was handed over before (nothing changed this time).
    pub new: bool,
    /// What the message was (not `kind`: that names the answer on the wire).
    pub message_kind: Kind,
    /// For replies: what it asked.
    pub class: Option<Class>,
    /// What was done about each address.
    pub actions: Vec<Action>,
}

impl Ingested {
    /// Whether the message led to anything: a suppression or a review.
    pub fn actionable(&self) -> bool {
        self.actions.iter().any(|a| a.action != ActionKind::None)
    }
}

/// Feedback records, oldest first. Answered with [`FeedbackPage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackList {
    /// Only records with a review waiting.
    #[serde(default)]
    pub pending: bool,
    /// Records after this id.
    #[serde(default)]
    pub after: u64,
}

/// Answer to [`FeedbackList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackPage {
    /// The records.
    pub records: Vec<Record>,
    /// The id to ask `after` for the next page, if there is one.
    pub next: Option<u64>,
}

/// One feedback record. Answered with [`FeedbackShown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackShow {
    /// The record's id.
    pub id: u64,
}

/// Answer to [`FeedbackShow`], [`FeedbackConfirm`] and [`FeedbackDismiss`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackShown {
    /// The record as it stands.
    pub record: Record,
}

/// Confirm a record's pending reviews: suppress them (sdr and up: it is an add).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackConfirm {
    /// The record's id.
    pub id: u64,
    /// The units whose senders the entries bind (empty: every sender).
    #[serde(default)]
    pub units: Units,
}

/// Dismiss a record's pending reviews (manager and up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackDismiss {
    /// The record's id.
    pub id: u64,
    /// Why.
    pub why: String,
}

/// Page size of [`FeedbackList`].
const PAGE: usize = 500;

/// The actor feedback acts as: the `feedback` system actor, with the user who handed the
/// message over.
fn feedback_actor(by: &Actor) -> Actor {
    Actor {
        user: format!("feedback via {}", by.user),
        uid: by.uid,
        role: None,
    }
}

/// Serves [`FeedbackIngest`].
pub async fn ingest(op: FeedbackIngest, cx: &mut Cx<'_>) -> Result<Ingested, Denied> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(op.message.as_bytes())
        .map_err(|e| deny(ErrorCode::BadRequest, format!("message is not base64: {e}")))?;
    if raw.len() > MAX_MESSAGE {
        return Err(deny(
            ErrorCode::BadRequest,
            format!("message over {MAX_MESSAGE} bytes"),
        ));
    }
    let record =
        cx.h.classifier()?
            .classify(&raw)
            .into_record(&raw, feedback_actor(&cx.actor));
    let (record, new) = match cx.h.store.record_feedback(record, None).await? {
        Recorded::New(record, _) => (record, true),
        Recorded::Seen(record) => (record, false),
    };
    tracing::info!(
        actor = %cx.actor,
        feedback = record.id,
        kind = %record.kind,
        class = record.class.map(|c| c.as_str()),
        suppressed = record.actions.iter().filter(|a| a.action == ActionKind::Suppress).count(),
        review = record.actions.iter().filter(|a| a.action == ActionKind::Review).count(),
        new,
        "feedback recorded"
    );
    Ok(Ingested {
        id: record.id,
        new,
        message_kind: record.kind,
        class: record.class,
        actions: record.actions,
    })
}

/// Serves [`FeedbackList`].
pub fn list(op: FeedbackList, cx: &mut Cx<'_>) -> Result<FeedbackPage, Denied> {
    let records = cx.h.store.feedback_records(op.after, PAGE, op.pending)?;
    let next = (records.len() >= PAGE)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    Ok(FeedbackPage { records, next })
}

/// Serves [`FeedbackShow`].
pub fn show(op: FeedbackShow, cx: &mut Cx<'_>) -> Result<FeedbackShown, Denied> {
    match cx.h.store.feedback(op.id)? {
        Some(record) => Ok(FeedbackShown { record }),
        None => Err(deny(ErrorCode::NotFound, format!("no feedback #{}", op.id))),
    }
}

/// Serves [`FeedbackConfirm`].
pub async fn confirm(op: FeedbackConfirm, cx: &mut Cx<'_>) -> Result<FeedbackShown, Denied> {
    let units = crate::admin::context::clean_units(op.units, &cx.h.known_units())?;
    let record =
        cx.h.store
            .review_feedback(op.id, true, String::new(), units, cx.actor.clone())
            .await??;
    tracing::info!(actor = %cx.actor, feedback = op.id, "feedback review confirmed");
    Ok(FeedbackShown { record })
}

/// Serves [`FeedbackDismiss`].
pub async fn dismiss(op: FeedbackDismiss, cx: &mut Cx<'_>) -> Result<FeedbackShown, Denied> {
    let why = required_text("why", op.why, "a dismissal needs a reason (--why)")?;
    let record =
        cx.h.store
            .review_feedback(op.id, false, why, Units::all(), cx.actor.clone())
            .await??;
    tracing::info!(actor = %cx.actor, feedback = op.id, "feedback review dismissed");
    Ok(FeedbackShown { record })
}
