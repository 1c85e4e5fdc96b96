//! The console's pages: what a signed-in user reads. Each page asks the admin dispatch (as the
//! user) for what it shows.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;

use super::auth::Session;
use super::pages::{action, csrf_field, esc, notice, select, when};
use super::{field, html, Console, Fields};
use crate::admin::ops::alerts::AlertsList;
use crate::admin::ops::audit::{AuditContact, AuditSample};
use crate::admin::ops::feedback::FeedbackList;
use crate::admin::ops::lift::LiftList;
use crate::admin::ops::lists::Check;
use crate::admin::ops::locks::{LocksList, LocksShow};
use crate::admin::ops::suppress::SuppressShow;
use crate::admin::proto::{Body, TimelineItem};
use crate::model::describe::{attempt_text, event_text};
use crate::model::{Reason, Role, Source, Timestamp};

/// `GET /`: the search box and the figures that need someone.
pub async fn home(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = home_body(&c, &s, "").await;
    c.page(&s, "/", "Search", &body)
}

async fn home_body(c: &Console, s: &Session, before: &str) -> String {
    let store = c.handler.store.clone();
    // Off the runtime's threads: the pending reviews are found by reading the records.
    let read = tokio::task::spawn_blocking(move || {
        let entries = store.count().unwrap_or(0);
        let pending = store
            .lifts()
            .map(|l| l.iter().filter(|l| l.decision.is_none()).count())
            .unwrap_or(0);
        let reviews = store
            .feedback_records(0, 10_000, true)
            .map(|r| r.len())
            .unwrap_or(0);
        let alerts = store.alerts(u64::MAX, 5).unwrap_or_default();
        (entries, pending, reviews, alerts)
    });
    let (entries, pending, reviews, alerts) = read.await.unwrap_or_default();
    let mut out = before.to_string();
    out.push_str(&search_form(s, ""));
    let _ = write!(
        out,
        "<div class=\"tiles\"><div class=\"tile\"><b id=\"entries\">{entries}</b><span>entries on the list</span></div>\
<div class=\"tile\"><b>{pending}</b><span><a href=\"/lifts\">lifts waiting</a></span></div>\
<div class=\"tile\"><b>{reviews}</b><span><a href=\"/reviews\">feedback to review</a></span></div></div>"
    );
    if !alerts.is_empty() {
        out.push_str(
            "<h2>Latest alerts</h2><table><tr><th>When</th><th>Rule</th><th>What</th></tr>",
        );
        for a in &alerts {
            let _ = write!(
                out,
                "<tr>{}<td><span class=\"tag bad\">{}</span></td><td>{}</td></tr>",
                when(a.at),
                a.rule,
                esc(&a.subject)
            );
        }
        out.push_str("</table>");
    }
    out
}

fn search_form(s: &Session, q: &str) -> String {
    format!(
        "<div class=\"card\"><form method=\"post\" action=\"/search\">{}\
<label for=\"q\">Address, domain or company</label>\
<input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" placeholder=\"pat@example.com, example.com or acme\" required>\
<label for=\"at\">Was it blocked at (UTC, optional)</label><input type=\"text\" id=\"at\" name=\"at\" placeholder=\"2026-11-20 or 2026-11-20T09:00:00Z\">\
<p><button type=\"submit\" id=\"search\">Search</button></p></form></div>",
        csrf_field(s),
        esc(q)
    )
}

/// `POST /search`: an address's verdict and timeline, a domain's entry, or the entries of a
/// company.
pub async fn search(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let s = match c.posted(&headers, &form) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = field(&form, "q").to_string();
    let at = match parse_at(field(&form, "at")) {
        Ok(at) => at,
        Err(e) => {
            let body = format!("{}{}", notice(false, &e), search_form(&s, &q));
            return c.page(&s, "/", "Search", &body);
        }
    };
    let body = match classify(&q) {
        Query::Address(a) => address_body(&c, &s, &a, at).await,
        Query::Domain(d) => domain_body(&c, &s, &d).await,
        Query::Company(word) => company_body(&c, &s, &word).await,
    };
    c.page(&s, "/", "Search", &format!("{}{body}", search_form(&s, &q)))
}

enum Query {
    Address(String),
    Domain(String),
    Company(String),
}

fn classify(q: &str) -> Query {
    let q = q.trim();
    match q.find('@') {
        Some(0) => Query::Domain(q.to_string()),
        Some(_) => Query::Address(q.to_string()),
        None if q.contains('.') => Query::Domain(format!("@{q}")),
        None => Query::Company(q.to_lowercase()),
    }
}

/// A moment typed in the search form: a day (its end, UTC) or an RFC 3339 time.
fn parse_at(text: &str) -> Result<Option<Timestamp>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let full = match t.len() {
        10 => format!("{t}T23:59:59Z"),
        16 => format!("{t}:00Z"),
        19 => format!("{t}Z"),
        _ => t.to_string(),
    };
    Timestamp::parse_rfc3339(&full)
        .map(Some)
        .map_err(|_| format!("'{t}' is not a date (2026-11-20) or a time (2026-11-20T09:00:00Z)"))
}

async fn address_body(c: &Console, s: &Session, address: &str, at: Option<Timestamp>) -> String {
    let check = |at| Check {
        address: address.to_string(),
        from: None,
        at,
    };
    let now = match c.call(s, check(None).into()).await {
        Ok(Body::Checked(r)) => r,
        Ok(_) => return notice(false, "unexpected answer"),
        Err((_, e)) => return notice(false, &e),
    };
    let mut out = String::from("<div class=\"card\">");
    verdict(
        &mut out,
        "Now",
        now.deliverable,
        now.entry.as_ref(),
        now.smtp_reply.as_deref(),
    );
    if let Some(at) = at {
        if let Ok(Body::Checked(then)) = c.call(s, check(Some(at)).into()).await {
            verdict(
                &mut out,
                &format!("On {at}"),
                then.deliverable,
                then.entry.as_ref(),
                None,
            );
        }
    }
    if let Some(entry) = &now.entry {
        if s.role >= Role::Manager {
            let _ = write!(
                out,
                "<h2>Request a lift of {}</h2><p class=\"muted\">The block stays until an ops user other than you approves.</p>{}",
                esc(&entry.target),
                action(s, "/lifts/request", &[("target", &entry.target)], Some(("proof", "written proof the contact wants mail again")), "Request lift", "plain")
            );
        }
    } else {
        let _ = write!(
            out,
            "<p><a href=\"/add\">Add a suppression</a> for {}.</p>",
            esc(&now.normalized)
        );
    }
    out.push_str("</div>");
    if let Ok(Body::LockShown(l)) = c
        .call(
            s,
            LocksShow {
                target: address.to_string(),
            }
            .into(),
        )
        .await
    {
        if let Some(lock) = l.lock.as_ref().or(l.account.as_ref()) {
            let _ = write!(
                out,
                "<div class=\"card\"><b>Lock:</b> {}</div>",
                esc(&crate::locks::describe(lock))
            );
        }
    }
    match c
        .call(
            s,
            AuditContact {
                address: address.to_string(),
            }
            .into(),
        )
        .await
    {
        Ok(Body::Contact(report)) => timeline(&mut out, &report.timeline, report.flagged),
        Ok(_) => {}
        Err((_, e)) => out.push_str(&notice(false, &e)),
    }
    out
}

fn verdict(
    out: &mut String,
    label: &str,
    open: bool,
    entry: Option<&crate::model::Entry>,
    reply: Option<&str>,
) {
    let (class, word) = if open {
        ("open", "deliverable")
    } else {
        ("blocked", "blocked")
    };
    let _ = write!(
        out,
        "<p>{}: <span class=\"verdict {class}\" id=\"verdict\">{word}</span></p>",
        esc(label)
    );
    if let Some(e) = entry {
        let _ = write!(
            out,
            "<p>Entry <b>{}</b>: {} via {}, added {} by {}, scope {}<br><span class=\"muted\">{}</span></p>",
            esc(&e.target), e.reason, e.source, e.added_at, esc(&e.actor.user), esc(&e.scope()), esc(&e.evidence)
        );
    }
    if let Some(r) = reply {
        let _ = write!(
            out,
            "<p class=\"muted\">At RCPT: <code>{}</code></p>",
            esc(r)
        );
    }
}

fn timeline(out: &mut String, items: &[TimelineItem], flagged: u64) {
    let _ = write!(out, "<h2>Timeline</h2>");
    if flagged > 0 {
        out.push_str(&notice(
            false,
            &format!("{flagged} message(s) relayed while an opt-out was in force"),
        ));
    }
    out.push_str("<table id=\"timeline\"><tr><th>When</th><th>Who</th><th>What</th></tr>");
    for item in items {
        match item {
            TimelineItem::Event { event } => {
                let _ = write!(
                    out,
                    "<tr>{}<td>{}</td><td>{}</td></tr>",
                    when(event.at),
                    esc(&event.actor.user),
                    esc(&event_text(&event.kind))
                );
            }
            TimelineItem::Attempt { attempt, flagged } => {
                let tag = if *flagged {
                    " <span class=\"tag bad\">sent while blocked</span>"
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "<tr>{}<td>{}</td><td>{}{tag}</td></tr>",
                    when(attempt.at),
                    esc(attempt.user.as_deref().unwrap_or("")),
                    esc(&attempt_text(attempt))
                );
            }
        }
    }
    if items.is_empty() {
        out.push_str("<tr><td colspan=\"3\" class=\"muted\">Nothing on record.</td></tr>");
    }
    out.push_str("</table>");
}

async fn domain_body(c: &Console, s: &Session, target: &str) -> String {
    let shown = match c
        .call(
            s,
            SuppressShow {
                target: target.to_string(),
            }
            .into(),
        )
        .await
    {
        Ok(Body::Shown(shown)) => shown,
        Ok(_) => return notice(false, "unexpected answer"),
        Err((_, e)) => return notice(false, &e),
    };
    let mut out = String::from("<div class=\"card\">");
    verdict(
        &mut out,
        &shown.target,
        shown.entry.is_none(),
        shown.entry.as_ref(),
        None,
    );
    out.push_str("</div>");
    let items: Vec<TimelineItem> = shown
        .history
        .into_iter()
        .map(|event| TimelineItem::Event { event })
        .chain(
            shown
                .attempts
                .into_iter()
                .map(|attempt| TimelineItem::Attempt {
                    attempt,
                    flagged: false,
                }),
        )
        .collect();
    let mut items = items;
    items.sort_by_key(|i| match i {
        TimelineItem::Event { event } => event.at,
        TimelineItem::Attempt { attempt, .. } => attempt.at,
    });
    timeline(&mut out, &items, 0);
    out
}

/// Entries whose domain's name holds the word (a company), at most 200.
async fn company_body(c: &Console, s: &Session, word: &str) -> String {
    let store = c.handler.store.clone();
    let needle = word.to_string();
    let found = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        while let Ok(page) = store.list(after.as_deref(), 5000) {
            let Some(last) = page.last().map(|e| e.target.clone()) else {
                break;
            };
            for e in page {
                let domain = e.target.rsplit('@').next().unwrap_or("");
                if domain
                    .split('.')
                    .any(|label| label.contains(needle.as_str()))
                {
                    out.push(e);
                    if out.len() >= 200 {
                        return out;
                    }
                }
            }
            after = Some(last);
        }
        out
    })
    .await
    .unwrap_or_default();
    let mut out = format!("<h2>Entries for \u{201c}{}\u{201d}</h2><table><tr><th>Entry</th><th>Reason</th><th>Added</th><th></th></tr>", esc(word));
    for e in &found {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
            esc(&e.target),
            e.reason,
            when(e.added_at),
            action(s, "/search", &[("q", &e.target)], None, "Timeline", "plain")
        );
    }
    if found.is_empty() {
        out.push_str(
            "<tr><td colspan=\"4\" class=\"muted\">No entry's domain holds that name.</td></tr>",
        );
    }
    out.push_str("</table>");
    out
}

/// `GET /add`: the add form.
pub async fn add_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = add_form(&c, &s, "");
    c.page(&s, "/add", "Add a suppression", &body)
}

/// The add form, after `before` (a notice).
pub fn add_form(c: &Console, s: &Session, before: &str) -> String {
    let reasons: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    let sources: Vec<&str> = Source::ALL.iter().map(|r| r.as_str()).collect();
    let mut units = vec!["all".to_string()];
    units.extend(c.handler.known_units());
    let units: Vec<&str> = units.iter().map(String::as_str).collect();
    format!(
        "{before}<div class=\"card\"><form method=\"post\" action=\"/add\">{}\
<label for=\"target\">Address or @domain</label><input type=\"text\" id=\"target\" name=\"target\" required>\
<label for=\"reason\">Reason</label>{}\
<label for=\"source\">Source</label>{}\
<label for=\"scope\">Scope</label>{}\
<label for=\"evidence\">Evidence (required: the reply, the ticket, the call note)</label><textarea id=\"evidence\" name=\"evidence\" required></textarea>\
<p><button type=\"submit\" id=\"add\">Add to the list</button></p></form></div>",
        csrf_field(s),
        select("reason", &reasons, Some("unsubscribe")),
        select("source", &sources, Some("support")),
        select("scope", &units, Some("all")),
    )
}

/// `GET /lifts`: pending lifts with their proof, to approve or deny; the last 90 days.
pub async fn lifts(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = lifts_body(&c, &s, "").await;
    c.page(&s, "/lifts", "Lifts", &body)
}

/// The lifts page's body, after `before` (a notice).
pub async fn lifts_body(c: &Console, s: &Session, before: &str) -> String {
    let lifts = match c
        .call(
            s,
            LiftList {
                pending: false,
                days: Some(90),
            }
            .into(),
        )
        .await
    {
        Ok(Body::Lifts(l)) => l.lifts,
        Ok(_) => Vec::new(),
        Err((_, e)) => return format!("{before}{}", notice(false, &e)),
    };
    let mut out = before.to_string();
    out.push_str("<h2>Waiting for a decision</h2><table id=\"pending\"><tr><th>#</th><th>Entry</th><th>Requested</th><th>Proof</th><th>Decide</th></tr>");
    let mut any = false;
    for l in lifts.iter().filter(|l| l.decision.is_none()) {
        any = true;
        let id = l.id.to_string();
        let _ = write!(
            out,
            "<tr><td>{id}</td><td>{}</td><td>{} by {}</td><td>{}</td><td>{} {}</td></tr>",
            esc(&l.target),
            l.requested_at,
            esc(&l.requested_by.user),
            esc(&l.proof),
            action(s, "/lifts/approve", &[("id", &id)], None, "Approve", ""),
            action(
                s,
                "/lifts/deny",
                &[("id", &id)],
                Some(("why", "why denied")),
                "Deny",
                "danger"
            ),
        );
    }
    if !any {
        out.push_str("<tr><td colspan=\"5\" class=\"muted\">No lift is waiting.</td></tr>");
    }
    out.push_str("</table><h2>Decided in the last 90 days</h2><table><tr><th>#</th><th>Entry</th><th>Requested</th><th>Decision</th></tr>");
    for l in lifts.iter().rev() {
        if let Some(d) = &l.decision {
            let word = if d.approved {
                "<span class=\"tag bad\">approved</span>"
            } else {
                "<span class=\"tag good\">denied</span>"
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{} by {}</td><td>{word} by {} at {} {}</td></tr>",
                l.id,
                esc(&l.target),
                l.requested_at,
                esc(&l.requested_by.user),
                esc(&d.by.user),
                d.at,
                esc(d.why.as_deref().unwrap_or(""))
            );
        }
    }
    out.push_str("</table>");
    out
}

/// `GET /reviews`: feedback to confirm or dismiss, locks under review.
pub async fn reviews(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = reviews_body(&c, &s, "").await;
    c.page(&s, "/reviews", "Reviews", &body)
}

/// The reviews page's body, after `before` (a notice).
pub async fn reviews_body(c: &Console, s: &Session, before: &str) -> String {
    let mut out = before.to_string();
    out.push_str("<h2>Feedback to review</h2><table id=\"feedback\"><tr><th>#</th><th>Received</th><th>What</th><th>Addresses</th><th>Decide</th></tr>");
    let records = match c
        .call(
            s,
            FeedbackList {
                pending: true,
                after: 0,
            }
            .into(),
        )
        .await
    {
        Ok(Body::FeedbackPage(p)) => p.records,
        _ => Vec::new(),
    };
    for r in &records {
        let id = r.id.to_string();
        let targets: Vec<String> = r
            .actions
            .iter()
            .map(|a| format!("{} ({})", a.target, a.why))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{id}</td>{}<td>{}{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{} {}</td></tr>",
            when(r.at), r.kind, r.class.map(|c| format!(" ({c})")).unwrap_or_default(),
            esc(&r.evidence.chars().take(300).collect::<String>()), esc(&targets.join(", ")),
            action(s, "/reviews/feedback", &[("id", &id), ("decision", "confirm")], None, "Confirm (suppress)", ""),
            action(s, "/reviews/feedback", &[("id", &id), ("decision", "dismiss")], Some(("why", "why dismissed")), "Dismiss", "plain"),
        );
    }
    if records.is_empty() {
        out.push_str("<tr><td colspan=\"5\" class=\"muted\">Nothing to review.</td></tr>");
    }
    out.push_str("</table><h2>Locks under review</h2><table id=\"locks\"><tr><th>Lock</th><th>Review</th><th>Decide, transfer or release</th></tr>");
    let locks = match c.call(s, LocksList { owner: None }.into()).await {
        Ok(Body::Locks(l)) => l.locks,
        _ => Vec::new(),
    };
    let mut any = false;
    for l in locks.iter().filter(|l| l.review.is_some()) {
        any = true;
        let review = l
            .review
            .as_ref()
            .map(|r| format!("{} by {}: {}", r.at, r.by.user, r.note))
            .unwrap_or_default();
        let hidden = [("target", l.target.as_str()), ("op", "decide")];
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}{}{}</td></tr>",
            esc(&crate::locks::describe(l)),
            esc(&review),
            lock_form(s, &hidden, "owner", "owner decided on", "Decide"),
            lock_form(
                s,
                &[("target", &l.target), ("op", "transfer")],
                "to",
                "new owner",
                "Transfer"
            ),
            lock_form(
                s,
                &[("target", &l.target), ("op", "release")],
                "",
                "",
                "Release"
            ),
        );
    }
    if !any {
        out.push_str("<tr><td colspan=\"3\" class=\"muted\">No lock is under review.</td></tr>");
    }
    out.push_str("</table>");
    out
}

fn lock_form(
    s: &Session,
    hidden: &[(&str, &str)],
    name: &str,
    placeholder: &str,
    button: &str,
) -> String {
    let mut out = format!(
        "<form class=\"inline\" method=\"post\" action=\"/reviews/lock\">{}",
        csrf_field(s)
    );
    for (k, v) in hidden {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(v)
        );
    }
    if !name.is_empty() {
        let _ = write!(
            out,
            "<input type=\"text\" name=\"{name}\" placeholder=\"{placeholder}\" required>"
        );
    }
    let _ = write!(out, "<input type=\"text\" name=\"note\" placeholder=\"why\" required><button type=\"submit\" class=\"plain\">{button}</button></form>");
    out
}

/// `GET /audit`: the weekly audit (a random sample of the week's sends checked against the
/// list as it stood, violations first) and the monthly lift review. Printable.
pub async fn audit(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut out = String::new();
    match c.call(&s, AuditSample { days: 7, size: 100 }.into()).await {
        Ok(Body::Sample(r)) => {
            let _ = write!(
                out,
                "<div class=\"card\"><p>Since {}: {} recipients relayed; {} checked at random against the list as it stood when each was sent: <b id=\"violations\">{}</b> violation(s).</p></div>",
                r.since, r.relayed, r.checked, r.violations.len()
            );
            out.push_str("<h2>Violations</h2><table><tr><th>Sent</th><th>To</th><th>From</th><th>Entry in force</th></tr>");
            for v in &r.violations {
                let _ = write!(out, "<tr>{}<td>{}</td><td>{}</td><td><span class=\"tag bad\">blocked</span> {} ({}, rule {})</td></tr>",
                    when(v.attempt.at), esc(&v.attempt.rcpt), esc(&v.attempt.from), esc(&v.entry.target), v.entry.reason, v.rule);
            }
            if r.violations.is_empty() {
                out.push_str("<tr><td colspan=\"4\" class=\"muted\">None: every sampled send was allowed when it was sent.</td></tr>");
            }
            out.push_str(
                "</table><h2>The sample</h2><table><tr><th>Sent</th><th>To</th><th>From</th></tr>",
            );
            for a in &r.sample {
                let _ = write!(
                    out,
                    "<tr>{}<td>{}</td><td>{}</td></tr>",
                    when(a.at),
                    esc(&a.rcpt),
                    esc(&a.from)
                );
            }
            out.push_str("</table>");
        }
        Ok(_) => {}
        Err((_, e)) => out.push_str(&notice(false, &e)),
    }
    out.push_str("<h2>Lift review: the last 30 days</h2><table><tr><th>#</th><th>Entry</th><th>Requested</th><th>Proof</th><th>Decision</th></tr>");
    if let Ok(Body::Lifts(l)) = c
        .call(
            &s,
            LiftList {
                pending: false,
                days: Some(30),
            }
            .into(),
        )
        .await
    {
        for l in &l.lifts {
            let decision = match &l.decision {
                None => "pending".to_string(),
                Some(d) => format!(
                    "{} by {} at {}",
                    if d.approved { "approved" } else { "denied" },
                    d.by.user,
                    d.at
                ),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{} by {}</td><td>{}</td><td>{}</td></tr>",
                l.id,
                esc(&l.target),
                l.requested_at,
                esc(&l.requested_by.user),
                esc(&l.proof),
                esc(&decision)
            );
        }
    }
    out.push_str("</table>");
    c.page(&s, "/audit", "Weekly audit", &out)
}

/// `GET /charts`.
pub async fn charts(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let policy = match c.handler.policy() {
        Ok(p) => p,
        Err(e) => return html(StatusCode::SERVICE_UNAVAILABLE, e.message),
    };
    let data = c.charts.get(&c.handler.store, policy.groups()).await;
    let body = match data {
        Ok(d) => super::charts::page(&d),
        Err(e) => notice(false, &format!("cannot read the store: {e}")),
    };
    c.page(&s, "/charts", "Charts", &body)
}

/// `GET /alerts`.
pub async fn alerts(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match c.signed_in(&headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut out = String::from("<table id=\"alerts\"><tr><th>When</th><th>Rule</th><th>Scope</th><th>What</th><th>Webhook</th></tr>");
    if let Ok(Body::Alerts(page)) = c.call(&s, AlertsList { limit: 200 }.into()).await {
        for a in &page.alerts {
            let _ = write!(out, "<tr>{}<td>{}</td><td>{}</td><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td></tr>",
                when(a.at), a.rule, esc(&a.scope), esc(&a.subject), esc(&a.text), esc(&a.webhook.describe()));
        }
        if page.alerts.is_empty() {
            out.push_str("<tr><td colspan=\"5\" class=\"muted\">No alert was raised.</td></tr>");
        }
    }
    out.push_str("</table>");
    c.page(&s, "/alerts", "Alerts", &out)
}
