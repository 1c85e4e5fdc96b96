//! `dnc-relay audit sample|lifts|contact|duplicates`.

use clap::Subcommand;

use super::{print_as, Cli, EXIT_NEGATIVE, EXIT_OK};
use crate::admin::ops::audit::{AuditContact, AuditDuplicates, AuditSample};
use crate::admin::ops::lift::LiftList;
use crate::admin::proto::{ContactReport, DuplicatesReport, SampleReport, TimelineItem};

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
    /// Contacts whose consent lapsed ([retention] inactive_after since their last
    /// interaction) or will within --months: reach them before, or drop them. Exit 1 if any
    /// has lapsed.
    Dormant {
        /// How far ahead to look, in months.
        #[arg(long, default_value_t = 3)]
        months: u32,
        /// Only this purpose.
        #[arg(long)]
        purpose: Option<String>,
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
    let outcome = match cmd {
        AuditCommand::Sample { days, size, json } => cli
            .call(AuditSample {
                days: *days,
                size: *size,
            })
            .map(|r| sample(&r, *json)),
        AuditCommand::Lifts { days, json } => cli
            .call(LiftList {
                pending: false,
                days: Some(*days),
            })
            .map(|r| super::lift::print_lifts(&r.lifts, *json, "no lifts in the window")),
        AuditCommand::Duplicates { days, json } => cli
            .call(AuditDuplicates { days: *days })
            .map(|r| duplicates(&r, *json)),
        AuditCommand::Dormant {
            months,
            purpose,
            json,
        } => cli
            .call(crate::admin::ops::audit::AuditDormant {
                months: *months,
                purpose: purpose.clone(),
            })
            .map(|r| dormant(&r, *json)),
        AuditCommand::Contact { address, json } => cli
            .call(AuditContact {
                address: address.clone(),
            })
            .map(|r| contact(&r, *json)),
    };
    outcome.unwrap_or_else(|code| code)
}

fn dormant(r: &crate::admin::ops::audit::DormantReport, json: bool) -> u8 {
    if json {
        super::print_json(r);
    } else if r.contacts.is_empty() {
        say!(
            "no consent lapsed or lapsing (bound: {} days without interaction)",
            r.inactive_after_days
        );
    } else {
        for d in &r.contacts {
            say!(
                "{:<32} {:<14} last interaction {}  {} {}",
                d.address,
                d.purpose,
                d.last_interaction,
                if d.lapsed { "LAPSED" } else { "lapses" },
                d.lapses_at
            );
        }
    }
    negative_if(r.contacts.iter().any(|d| d.lapsed))
}

/// Exit 1 when `found` (a violation, a flagged message, a duplicate), else 0.
fn negative_if(found: bool) -> u8 {
    if found {
        EXIT_NEGATIVE
    } else {
        EXIT_OK
    }
}

fn sample(r: &SampleReport, json: bool) -> u8 {
    print_as(r, json, |r| {
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
    });
    negative_if(!r.violations.is_empty())
}

fn contact(r: &ContactReport, json: bool) -> u8 {
    print_as(r, json, |r| {
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
    });
    negative_if(r.flagged > 0)
}

fn duplicates(r: &DuplicatesReport, json: bool) -> u8 {
    print_as(r, json, |r| {
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
    });
    negative_if(!r.contacts.is_empty() || !r.accounts.is_empty())
}
