//! `dnc-relay locks review|decide|transfer|release|list|show|group`.

use clap::Subcommand;

use super::{print_json, report, unexpected, Cli, EXIT_NEGATIVE, EXIT_OK};
use crate::admin::{Body, Request};
use crate::locks::describe;
use crate::model::Lock;

/// `locks` subcommands.
#[derive(Debug, Subcommand)]
pub enum LocksCommand {
    /// Put TARGET (a contact, or @domain for its account) under review: until a decision only
    /// the current owner may send, whatever the mode (manager and above).
    Review {
        /// A contact address or @domain.
        target: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// Decide a review: TARGET belongs to OWNER (manager and above).
    Decide {
        /// A contact address or @domain.
        target: String,
        /// The owner decided on.
        #[arg(long, value_name = "NAME")]
        owner: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// Give TARGET's lock to another owner (manager and above).
    Transfer {
        /// A contact address or @domain.
        target: String,
        /// The new owner.
        #[arg(long, value_name = "NAME")]
        to: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// End TARGET's lock now (manager and above).
    Release {
        /// A contact address or @domain.
        target: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// The locks in force.
    List {
        /// Only this owner's.
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// TARGET's lock (and its account's) and their history. Exit 1 if none is in force.
    Show {
        /// A contact address or @domain.
        target: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Group subsidiary domains into one account for account locks (manager and above).
    Group {
        /// The account (usually the parent's domain).
        account: String,
        /// The domains that belong to it.
        #[arg(required = true)]
        domains: Vec<String>,
    },
}

/// Runs a `locks` subcommand.
pub fn run(cli: &Cli, cmd: &LocksCommand) -> u8 {
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (request, json) = match cmd {
        LocksCommand::Review { target, note } => (
            Request::LocksReview {
                target: target.clone(),
                note: note.clone(),
            },
            false,
        ),
        LocksCommand::Decide {
            target,
            owner,
            note,
        } => (
            Request::LocksDecide {
                target: target.clone(),
                owner: owner.clone(),
                note: note.clone(),
            },
            false,
        ),
        LocksCommand::Transfer { target, to, note } => (
            Request::LocksTransfer {
                target: target.clone(),
                to: to.clone(),
                note: note.clone(),
            },
            false,
        ),
        LocksCommand::Release { target, note } => (
            Request::LocksRelease {
                target: target.clone(),
                note: note.clone(),
            },
            false,
        ),
        LocksCommand::List { owner, json } => (
            Request::LocksList {
                owner: owner.clone(),
            },
            *json,
        ),
        LocksCommand::Show { target, json } => (
            Request::LocksShow {
                target: target.clone(),
            },
            *json,
        ),
        LocksCommand::Group { account, domains } => (
            Request::LocksGroup {
                account: account.clone(),
                domains: domains.clone(),
            },
            false,
        ),
    };
    let body = match client.request(request) {
        Ok(body) => body,
        Err(e) => return report(&e),
    };
    match &body {
        Body::LockChanged { lock } => {
            match lock {
                Some(lock) => say!("{}", line(lock)),
                None => say!("released"),
            }
            EXIT_OK
        }
        Body::Locks { locks } => {
            if json {
                print_json(locks);
            } else if locks.is_empty() {
                say!("no locks in force");
            } else {
                for lock in locks {
                    say!("{}", line(lock));
                }
            }
            EXIT_OK
        }
        Body::LockShown {
            lock,
            account,
            history,
        } => {
            if json {
                print_json(&body);
            } else {
                match lock {
                    Some(l) => say!("{}", line(l)),
                    None => say!("no lock in force on it"),
                }
                if let Some(a) = account {
                    say!("{}", line(a));
                }
                for e in history {
                    say!("  {}", super::suppress::history_line(e));
                }
            }
            if lock.is_some() || account.is_some() {
                EXIT_OK
            } else {
                EXIT_NEGATIVE
            }
        }
        Body::Recorded { event_id } => {
            say!("grouped; event #{event_id}");
            EXIT_OK
        }
        other => unexpected(other),
    }
}

/// A lock on one line.
fn line(lock: &Lock) -> String {
    let since = format!(" (since {})", lock.since);
    match &lock.review {
        Some(r) => format!(
            "{}{since}; review opened by {} at {}: \"{}\"",
            describe(lock),
            r.by,
            r.at,
            r.note
        ),
        None => format!("{}{since}", describe(lock)),
    }
}
