//! `dnc-relay audit sample|lifts|contact|duplicates`.

use clap::Subcommand;

use super::{print_json, report, unexpected, Cli, EXIT_NEGATIVE, EXIT_OK};
use crate::admin::proto::TimelineItem;
use crate::admin::{Body, Request};

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check a random sample of recipients relayed in the window against the list as it stood
    /// when each message was sent. Exit 1 if any was on the list.
    Sample {
        /// The window, in days.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// How many recipients to check.
        #[arg(long, default_value_t = 100)]
        size: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every lift requested or decided in the window: requester, approver, proof, times.
    Lifts {
        /// The window, in days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Contacts that received a first message from more than one owner or mailbox in the
    /// window, and accounts contacted by more than one owner. Exit 1 if any.
    Duplicates {
        /// The window, in days.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One contact's timeline: opt-outs, lifts, refused attempts, and any message relayed
    /// while an opt-out was in force (flagged; exit 1 if any).
    Contact {
        /// The contact's address.
        address: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `audit` subcommand.
pub fn run(cli: &Cli, cmd: &AuditCommand) -> u8 {
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (request, json) = match cmd {
        AuditCommand::Sample { days, size, json } => (
            Request::AuditSample {
                days: *days,
                size: *size,
            },
            *json,
        ),
        AuditCommand::Lifts { days, json } => (
            Request::LiftList {
                pending: false,
                days: Some(*days),
            },
            *json,
        ),
        AuditCommand::Duplicates { days, json } => {
            (Request::AuditDuplicates { days: *days }, *json)
        }
        AuditCommand::Contact { address, json } => (
            Request::AuditContact {
                address: address.clone(),
            },
            *json,
        ),
    };
    let body = match client.request(request) {
        Ok(body) => body,
        Err(e) => return report(&e),
    };
    match body {
        Body::Sample(r) => {
            if json {
                print_json(&r);
            } else {
                say!(
                    "since {}: {} recipients relayed, {} checked, {} violation{}",
                    r.since,
                    r.relayed,
                    r.checked,
                    r.violations.len(),
                    if r.violations.len() == 1 { "" } else { "s" }
                );
                for v in &r.violations {
                    say!(
                        "VIOLATION {} relayed to {} from {} while {} was listed ({}, rule {}, added {} by {})",
                        v.attempt.at,
                        v.attempt.rcpt,
                        v.attempt.from,
                        v.entry.target,
                        v.entry.reason,
                        v.rule,
                        v.entry.added_at,
                        v.entry.actor
                    );
                    for e in &v.history {
                        say!("    {}", super::suppress::history_line(e));
                    }
                }
            }
            if r.violations.is_empty() {
                EXIT_OK
            } else {
                EXIT_NEGATIVE
            }
        }
        Body::Lifts { lifts } => {
            if json {
                print_json(&lifts);
            } else if lifts.is_empty() {
                say!("no lifts in the window");
            } else {
                for l in &lifts {
                    say!("{}", super::lift::lift_line(l));
                }
            }
            EXIT_OK
        }
        Body::Contact(r) => {
            if json {
                print_json(&r);
            } else {
                say!(
                    "{}: {} item(s), {} flagged",
                    r.address,
                    r.timeline.len(),
                    r.flagged
                );
                for item in &r.timeline {
                    match item {
                        TimelineItem::Event { event } => {
                            say!("  {}", super::suppress::history_line(event))
                        }
                        TimelineItem::Attempt { attempt, flagged } => say!(
                            "{}{}",
                            if *flagged { "! " } else { "  " },
                            super::suppress::attempt_line(attempt)
                        ),
                    }
                }
            }
            if r.flagged == 0 {
                EXIT_OK
            } else {
                EXIT_NEGATIVE
            }
        }
        Body::Duplicates(r) => {
            if json {
                print_json(&r);
            } else {
                say!(
                    "since {}: {} contact(s) and {} account(s) mailed by more than one owner or mailbox",
                    r.since,
                    r.contacts.len(),
                    r.accounts.len()
                );
                for d in r.contacts.iter().chain(r.accounts.iter()) {
                    say!("{}", d.target);
                    for f in &d.first {
                        say!(
                            "  {} first by {} from {} to {}",
                            f.at,
                            f.owner,
                            f.from,
                            f.rcpt
                        );
                    }
                }
            }
            if r.contacts.is_empty() && r.accounts.is_empty() {
                EXIT_OK
            } else {
                EXIT_NEGATIVE
            }
        }
        other => unexpected(&other),
    }
}
