//! History events and send records in words: one line each, the same in the CLI and the
//! console.

use super::{Event, EventKind, Units};

/// What an event did, in words (without its time, id and actor).
pub fn event_text(kind: &EventKind) -> String {
    match kind {
        EventKind::Suppressed {
            target,
            reason,
            source,
            evidence,
            units,
        }
        | EventKind::Readded {
            target,
            reason,
            source,
            evidence,
            units,
        } => {
            let verb = match kind {
                EventKind::Suppressed { .. } => "added",
                _ => "re-added",
            };
            let scope = scope(units);
            format!(
                "{verb} {target} ({reason}, {source}{scope}){}",
                quoted(evidence)
            )
        }
        EventKind::LiftRequested {
            lift,
            target,
            proof,
        } => {
            format!("lift #{lift} requested for {target}{}", quoted(proof))
        }
        EventKind::LiftApproved { lift, target } => {
            format!("lift #{lift} approved: {target} removed")
        }
        EventKind::LiftDenied { lift, target, why } => {
            format!("lift #{lift} denied for {target}{}", quoted(why))
        }
        EventKind::Scrubbed { .. }
        | EventKind::Imported { .. }
        | EventKind::AccountGrouped { .. } => list_text(kind),
        EventKind::Feedback {
            feedback,
            target,
            message_kind,
            class,
            action,
            why,
        } => {
            let class = class.map(|c| format!(" ({c})")).unwrap_or_default();
            format!("feedback #{feedback}: {message_kind}{class} about {target}: {action} ({why})")
        }
        EventKind::FeedbackReviewed {
            feedback,
            target,
            confirmed,
            why,
        } => match confirmed {
            true => format!("feedback #{feedback} confirmed: {target} suppressed"),
            false => format!("feedback #{feedback} dismissed for {target}{}", quoted(why)),
        },
        EventKind::Notified {
            target,
            to,
            subject,
        } => format!("{to} told about {target}{}", quoted(subject)),
        EventKind::BounceForwarded {
            target,
            to,
            feedback,
        } => format!("bounce about {target} (feedback #{feedback}) forwarded to {to}"),
        EventKind::LockTaken { .. }
        | EventKind::LockReviewed { .. }
        | EventKind::LockDecided { .. }
        | EventKind::LockTransferred { .. }
        | EventKind::LockReleased { .. } => lock_text(kind),
        EventKind::ConsentGiven { .. }
        | EventKind::ConsentWithdrawn { .. }
        | EventKind::Erased { .. }
        | EventKind::FeedSubscriberAdded { .. }
        | EventKind::FeedSubscriberRevoked { .. } => privacy_text(kind),
    }
}

/// What a lock event did, in words.
fn lock_text(kind: &EventKind) -> String {
    match kind {
        EventKind::LockTaken { target, owner } => format!("lock on {target} taken by {owner}"),
        EventKind::LockReviewed {
            target,
            owner,
            note,
        } => {
            format!(
                "lock on {target} (owner {owner}) put under review{}",
                quoted(note)
            )
        }
        EventKind::LockDecided {
            target,
            owner,
            note,
        } => {
            format!("review of {target} decided: owner {owner}{}", quoted(note))
        }
        EventKind::LockTransferred {
            target,
            from,
            to,
            note,
        } => format!(
            "lock on {target} transferred from {from} to {to}{}",
            quoted(note)
        ),
        EventKind::LockReleased {
            target,
            owner,
            note,
        } => {
            format!("lock on {target} (owner {owner}) released{}", quoted(note))
        }
        _ => String::new(),
    }
}

/// What a scrub, an import or an account grouping did, in words.
fn list_text(kind: &EventKind) -> String {
    match kind {
        EventKind::Scrubbed {
            file,
            rows,
            blocked,
            invalid,
        } => format!("list {file} of {rows} rows scrubbed, {blocked} blocked, {invalid} invalid"),
        EventKind::AccountGrouped { account, domains } => {
            format!("account {account} groups {}", domains.join(", "))
        }
        EventKind::Imported {
            file,
            format,
            rows,
            added,
            already,
            skipped,
        } => format!(
            "imported {file} ({format}): {rows} rows, {added} new, {already} already listed, {skipped} skipped"
        ),
        _ => String::new(),
    }
}

/// What a consent, erasure or feed event did, in words.
fn privacy_text(kind: &EventKind) -> String {
    match kind {
        EventKind::Erased { target, proof } => {
            format!(
                "erased: the contact's records keep only {target}{}",
                quoted(proof)
            )
        }
        EventKind::ConsentGiven {
            target,
            purpose,
            channel,
            proof,
            double_opt_in,
            given_at,
        } => format!(
            "consent of {target} for {purpose} by {channel} given {given_at}{}{}",
            if *double_opt_in {
                " (double opt-in)"
            } else {
                ""
            },
            quoted(proof)
        ),
        EventKind::ConsentWithdrawn {
            target,
            purpose,
            why,
        } => format!("consent of {target} for {purpose} withdrawn{}", quoted(why)),
        EventKind::FeedSubscriberAdded { name } => {
            format!("subcontractor {name} given a token for the hashed feed")
        }
        EventKind::FeedSubscriberRevoked { name, why } => {
            format!("hashed feed token of {name} revoked{}", quoted(why))
        }
        _ => String::new(),
    }
}

/// One line of a timeline for an event: time, id, actor, what.
pub fn history_line(e: &Event) -> String {
    format!(
        "{} #{:<6} {:<16} {}",
        e.at,
        e.id,
        e.actor.to_string(),
        event_text(&e.kind)
    )
}

/// What a send record says, in words (without its time).
pub fn attempt_text(a: &super::Attempt) -> String {
    use super::AttemptOutcome;
    match &a.outcome {
        AttemptOutcome::Locked { target, owner } => format!(
            "refused send to {} from {} (lock on {target} held by {owner})",
            a.rcpt, a.from
        ),
        AttemptOutcome::Refused { target, rule, .. } => format!(
            "refused send to {} from {} (matched {target}, rule {rule})",
            a.rcpt, a.from
        ),
        AttemptOutcome::Rejected { reply } => {
            format!("refused send to {} from {} ({reply})", a.rcpt, a.from)
        }
        AttemptOutcome::Relayed {
            message_id,
            exemption,
            ..
        } => format!(
            "relayed to {} from {}{}{}",
            a.rcpt,
            a.from,
            message_id
                .as_deref()
                .map(|m| format!(" <{m}>"))
                .unwrap_or_default(),
            exemption
                .as_deref()
                .map(|x| format!(" [exempt: {x}]"))
                .unwrap_or_default()
        ),
    }
}

/// One line of a timeline for a send record: time, what.
pub fn attempt_line(a: &super::Attempt) -> String {
    format!("{} {:<24} {}", a.at, "", attempt_text(a))
}

fn scope(units: &Units) -> String {
    if units.is_all() {
        String::new()
    } else {
        format!(", scope {units}")
    }
}

fn quoted(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": \"{text}\"")
    }
}
