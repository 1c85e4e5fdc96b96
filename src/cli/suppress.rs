//! `dnc-relay suppress add|list|show`.

use std::io::Write;

use clap::{Args, Subcommand};

use super::{Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE};
use crate::address::Target;
use crate::admin::ops::suppress::{Added, Shown, SuppressAdd, SuppressShow};
use crate::admin::Body;
use crate::model::{Entry, Event, EventKind, Reason, Source, Units};

/// `suppress` subcommands.
#[derive(Debug, Subcommand)]
pub enum SuppressCommand {
    /// Add TARGET (an address or @domain) to the do-not-contact list.
    Add(AddArgs),
    /// List every suppression.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show one suppression and its history. Exit 1 if TARGET is not suppressed.
    Show(super::ShowArgs),
}

/// Arguments of `suppress add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// An address (alice@example.com) or a whole domain (@example.com).
    pub target: String,
    /// Why: unsubscribe, not-interested, complaint, legal, hard-bounce, invalid, manual.
    #[arg(long, value_parser = parse_reason)]
    pub reason: Reason,
    /// Channel: reply, link, form, call, event, partner, support, import, bounce, fbl, admin.
    #[arg(long, value_parser = parse_source)]
    pub source: Option<Source>,
    /// Proof of the opt-out (the reply text, a ticket number).
    #[arg(long, value_name = "TEXT")]
    pub evidence: Option<String>,
    /// Bind only the senders of these units (brands); repeat or comma-separate. Default: all.
    #[arg(long, value_name = "UNIT", value_delimiter = ',')]
    pub scope: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    s.parse()
}

fn parse_source(s: &str) -> Result<Source, String> {
    s.parse()
}

/// Runs a `suppress` subcommand.
pub fn run(cli: &Cli, cmd: &SuppressCommand) -> u8 {
    match cmd {
        SuppressCommand::Add(args) => add(cli, args),
        SuppressCommand::List { json } => list(cli, *json),
        SuppressCommand::Show(super::ShowArgs { target, json }) => show(cli, target, *json),
    }
}

fn add(cli: &Cli, args: &AddArgs) -> u8 {
    // Refuse a malformed target here too, with the same rules as the relay.
    if let Err(e) = Target::parse(&args.target) {
        tell!(
            "dnc-relay: '{}' is not a valid target (an address or @domain): {e}",
            args.target
        );
        return EXIT_USAGE;
    }
    let added = match cli.call(SuppressAdd {
        target: args.target.clone(),
        reason: args.reason,
        source: args.source,
        evidence: args.evidence.clone(),
        units: Units::parse(&args.scope),
    }) {
        Ok(added) => added,
        Err(code) => return code,
    };
    let Added {
        created,
        entry,
        event_id,
        queued,
    } = &added;
    if args.json {
        super::print_json(&Body::Added(added.clone()));
    } else if *queued {
        say!(
            "suppressed {} ({}, source {}, scope {}) on this relay now; the fleet's log cannot \
             be written (its database is unreachable, or this relay is catching up or out of \
             step: see its log), so the other relays get it once it can (cluster status shows \
             what waits)",
            entry.target,
            entry.reason,
            entry.source,
            entry.scope()
        );
    } else if *created {
        say!(
            "suppressed {} ({}, source {}, scope {}), event #{event_id}",
            entry.target,
            entry.reason,
            entry.source,
            entry.scope()
        );
    } else {
        say!(
            "{} was already suppressed since {}; now {} (scope {}); recorded as event #{event_id}",
            entry.target,
            entry.added_at,
            entry.reason,
            entry.scope()
        );
    }
    EXIT_OK
}

fn list(cli: &Cli, json: bool) -> u8 {
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut first = true;
    if json {
        let _ = writeln!(out, "[");
    }
    let listed = super::each_entry(&mut client, |entry| {
        let written = if json {
            let sep = if first { "" } else { ",\n" };
            serde_json::to_string(entry)
                .map_err(std::io::Error::other)
                .and_then(|line| write!(out, "{sep}  {line}"))
        } else {
            writeln!(out, "{}", list_line(entry))
        };
        first = false;
        // stdout closed (a pager quit): stop quietly.
        written.is_ok()
    });
    if let Err(code) = listed {
        return code;
    }
    if json {
        let _ = writeln!(out, "{}]", if first { "" } else { "\n" });
    }
    let _ = out.flush();
    EXIT_OK
}

fn list_line(e: &Entry) -> String {
    format!(
        "{:<40} {:<15} {:<8} {} {} scope={}",
        e.target,
        e.reason,
        e.source,
        e.added_at,
        e.actor.user,
        e.scope()
    )
}

fn show(cli: &Cli, target: &str, json: bool) -> u8 {
    let shown = match cli.call(SuppressShow {
        target: target.to_string(),
    }) {
        Ok(shown) => shown,
        Err(code) => return code,
    };
    let Shown {
        target,
        entry,
        history,
        attempts,
    } = &shown;
    if json {
        super::print_json(&Body::Shown(shown.clone()));
    } else {
        match entry {
            Some(e) => {
                say!("{target}: suppressed");
                say!("  reason    {}", e.reason);
                say!("  source    {}", e.source);
                say!("  scope     {}", e.scope());
                say!("  added     {} by {}", e.added_at, e.actor);
                if !e.evidence.is_empty() {
                    say!("  evidence  {}", e.evidence);
                }
            }
            None => say!("{target}: not suppressed"),
        }
        if !history.is_empty() || !attempts.is_empty() {
            say!("timeline:");
            let mut lines: Vec<(crate::model::Timestamp, String)> = history
                .iter()
                .map(|e| (e.at, history_line(e)))
                .chain(attempts.iter().map(|a| (a.at, attempt_line(a))))
                .collect();
            lines.sort_by_key(|(at, _)| *at);
            for (_, line) in lines {
                say!("  {line}");
            }
        }
    }
    if entry.is_some() {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    }
}

/// One line of a timeline for an event.
pub fn history_line(e: &Event) -> String {
    let what = match &e.kind {
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
            let verb = match e.kind {
                EventKind::Suppressed { .. } => "added",
                _ => "re-added",
            };
            let scope = scope(units);
            format!("{verb} {target} ({reason}, {source}{scope}){}", quoted(evidence))
        }
        EventKind::LiftRequested { lift, target, proof } => {
            format!("lift #{lift} requested for {target}{}", quoted(proof))
        }
        EventKind::LiftApproved { lift, target } => format!("lift #{lift} approved: {target} removed"),
        EventKind::LiftDenied { lift, target, why } => {
            format!("lift #{lift} denied for {target}{}", quoted(why))
        }
        EventKind::Scrubbed {
            file,
            rows,
            blocked,
            invalid,
        } => format!("list {file} of {rows} rows scrubbed, {blocked} blocked, {invalid} invalid"),
        EventKind::LockTaken { target, owner } => format!("lock on {target} taken by {owner}"),
        EventKind::LockReviewed { target, owner, note } => {
            format!("lock on {target} (owner {owner}) put under review{}", quoted(note))
        }
        EventKind::LockDecided { target, owner, note } => {
            format!("review of {target} decided: owner {owner}{}", quoted(note))
        }
        EventKind::LockTransferred {
            target,
            from,
            to,
            note,
        } => format!("lock on {target} transferred from {from} to {to}{}", quoted(note)),
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
        EventKind::LockReleased { target, owner, note } => {
            format!("lock on {target} (owner {owner}) released{}", quoted(note))
        }
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
    };
    format!("{} #{:<6} {:<16} {what}", e.at, e.id, e.actor.to_string())
}

/// One line of a timeline for a send attempt.
pub fn attempt_line(a: &crate::model::Attempt) -> String {
    use crate::model::AttemptOutcome;
    match &a.outcome {
        AttemptOutcome::Locked { target, owner } => format!(
            "{} {:<24} refused send to {} from {} (lock on {target} held by {owner})",
            a.at, "", a.rcpt, a.from
        ),
        AttemptOutcome::Refused { target, rule, .. } => format!(
            "{} {:<24} refused send to {} from {} (matched {target}, rule {rule})",
            a.at, "", a.rcpt, a.from
        ),
        AttemptOutcome::Rejected { reply } => format!(
            "{} {:<24} refused send to {} from {} ({reply})",
            a.at, "", a.rcpt, a.from
        ),
        AttemptOutcome::Relayed {
            message_id,
            exemption,
            ..
        } => format!(
            "{} {:<24} relayed to {} from {}{}{}",
            a.at,
            "",
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
