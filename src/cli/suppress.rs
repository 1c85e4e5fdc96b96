//! `dnc-relay suppress add|list|show`.

use std::io::Write;

use clap::{Args, Subcommand};

use super::{Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE};
use crate::address::Target;
use crate::admin::ops::suppress::{Added, Shown, SuppressAdd, SuppressShow};
use crate::admin::Body;
use crate::model::{Entry, Reason, Source, Units};

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
    // Refuse a malformed target here too, with the same rules as the relay (a national phone
    // number is read by the relay, in its `[phones] default_country`).
    let checked = match crate::phone::looks_like_phone(&args.target) {
        true => Ok(()),
        false => Target::parse(&args.target).map(|_| ()),
    };
    if let Err(e) = checked {
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

pub use crate::model::describe::{attempt_line, history_line};
