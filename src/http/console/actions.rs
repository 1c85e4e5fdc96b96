//! The console's forms: each is one admin operation run as the signed-in user, answered with
//! the page it came from and what happened.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;

use super::auth::Session;
use super::pages::notice;
use super::views::{add_form, lifts_body, reviews_body};
use super::{field, html, pages, Console, Fields};
use crate::admin::ops::feedback::{FeedbackConfirm, FeedbackDismiss};
use crate::admin::ops::lift::{LiftApprove, LiftDeny, LiftRequest};
use crate::admin::ops::locks::{LocksDecide, LocksRelease, LocksTransfer};
use crate::admin::ops::suppress::SuppressAdd;
use crate::admin::proto::{Body, Request};
use crate::model::{Reason, Source, Units};

/// What an action did: a notice and the status of the page that shows it.
struct Outcome {
    status: StatusCode,
    notice: String,
}

impl Outcome {
    fn of(result: Result<String, (StatusCode, String)>) -> Outcome {
        match result {
            Ok(text) => Outcome {
                status: StatusCode::OK,
                notice: notice(true, &text),
            },
            Err((status, text)) => Outcome {
                status,
                notice: notice(false, &text),
            },
        }
    }

    fn page(self, s: &Session, here: &str, title: &str, body: &str) -> Response {
        html(self.status, pages::layout(s, here, title, body))
    }
}

fn bad(text: impl Into<String>) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, text.into())
}

async fn run(c: &Console, s: &Session, request: Request) -> Result<Body, (StatusCode, String)> {
    c.call(s, request).await
}

/// `POST /add`: reason, source and evidence required, as on the CLI.
pub async fn add(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = Outcome::of(add_one(&c, &s, &form).await);
    let body = add_form(&c, &s, &outcome.notice);
    outcome.page(&s, "/add", "Add a suppression", &body)
}

async fn add_one(c: &Console, s: &Session, form: &Fields) -> Result<String, (StatusCode, String)> {
    let reason: Reason = field(form, "reason").parse().map_err(bad)?;
    let source: Source = field(form, "source").parse().map_err(bad)?;
    let evidence = field(form, "evidence");
    if evidence.is_empty() {
        return Err(bad(
            "evidence is required: the reply, the ticket or the call note",
        ));
    }
    let scope = field(form, "scope");
    let units = if scope.is_empty() || scope == "all" {
        Units::default()
    } else {
        Units::parse(vec![scope.to_string()])
    };
    let op = SuppressAdd {
        target: field(form, "target").to_string(),
        reason,
        source: Some(source),
        evidence: Some(evidence.to_string()),
        units,
    };
    match run(c, s, op.into()).await? {
        Body::Added(a) if a.created => Ok(format!(
            "{} is on the list ({}, {}); the next RCPT is refused",
            a.entry.target, a.entry.reason, a.entry.source
        )),
        Body::Added(a) => Ok(format!(
            "{} was already on the list; it now stands as {} (never weaker)",
            a.entry.target, a.entry.reason
        )),
        _ => Err(bad("unexpected answer")),
    }
}

/// `POST /lifts/request` (manager and up; proof required).
pub async fn lift_request(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let op = LiftRequest {
        target: field(&form, "target").to_string(),
        proof: field(&form, "proof").to_string(),
    };
    let result = run(&c, &s, op.into()).await.and_then(|b| match b {
        Body::Lift(l) => Ok(format!(
            "lift #{} for {} requested; the entry stays until an ops user other than you approves",
            l.lift.id, l.lift.target
        )),
        _ => Err(bad("unexpected answer")),
    });
    lifts_page(&c, &s, Outcome::of(result)).await
}

/// `POST /lifts/approve` (ops and up, never the requester).
pub async fn lift_approve(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = match field(&form, "id").parse::<u64>() {
        Ok(id) => run(&c, &s, LiftApprove { id }.into())
            .await
            .and_then(|b| match b {
                Body::Lift(l) => Ok(format!(
                    "lift #{} approved: {} may be mailed again",
                    l.lift.id, l.lift.target
                )),
                _ => Err(bad("unexpected answer")),
            }),
        Err(_) => Err(bad("no lift id")),
    };
    lifts_page(&c, &s, Outcome::of(result)).await
}

/// `POST /lifts/deny` (a reason required).
pub async fn lift_deny(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = match field(&form, "id").parse::<u64>() {
        Ok(id) => {
            let op = LiftDeny {
                id,
                why: field(&form, "why").to_string(),
            };
            run(&c, &s, op.into()).await.and_then(|b| match b {
                Body::Lift(l) => Ok(format!("lift #{} denied; the entry stays", l.lift.id)),
                _ => Err(bad("unexpected answer")),
            })
        }
        Err(_) => Err(bad("no lift id")),
    };
    lifts_page(&c, &s, Outcome::of(result)).await
}

async fn lifts_page(c: &Console, s: &Session, outcome: Outcome) -> Response {
    let body = lifts_body(c, s, &outcome.notice).await;
    outcome.page(s, "/lifts", "Lifts", &body)
}

/// `POST /reviews/feedback`: confirm (suppress) or dismiss with a reason.
pub async fn feedback_review(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = match (field(&form, "id").parse::<u64>(), field(&form, "decision")) {
        (Ok(id), "confirm") => run(
            &c,
            &s,
            FeedbackConfirm {
                id,
                units: Units::default(),
            }
            .into(),
        )
        .await
        .map(|_| format!("feedback #{id} confirmed: its addresses are suppressed")),
        (Ok(id), "dismiss") => run(
            &c,
            &s,
            FeedbackDismiss {
                id,
                why: field(&form, "why").to_string(),
            }
            .into(),
        )
        .await
        .map(|_| format!("feedback #{id} dismissed")),
        _ => Err(bad("no feedback id or decision")),
    };
    let outcome = Outcome::of(result);
    let body = reviews_body(&c, &s, &outcome.notice).await;
    outcome.page(&s, "/reviews", "Reviews", &body)
}

/// `POST /reviews/lock`: decide, transfer or release a lock under review.
pub async fn lock_review(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let target = field(&form, "target").to_string();
    let note = field(&form, "note").to_string();
    let request: Result<Request, _> = match field(&form, "op") {
        "decide" => Ok(LocksDecide {
            target,
            owner: field(&form, "owner").to_string(),
            note,
        }
        .into()),
        "transfer" => Ok(LocksTransfer {
            target,
            to: field(&form, "to").to_string(),
            note,
        }
        .into()),
        "release" => Ok(LocksRelease { target, note }.into()),
        _ => Err(bad("no lock operation")),
    };
    let result = match request {
        Ok(r) => run(&c, &s, r)
            .await
            .map(|_| "the lock was changed".to_string()),
        Err(e) => Err(e),
    };
    let outcome = Outcome::of(result);
    let body = reviews_body(&c, &s, &outcome.notice).await;
    outcome.page(&s, "/reviews", "Reviews", &body)
}
