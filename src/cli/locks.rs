//! `dnc-relay locks review|decide|transfer|release|list|show|group`.

use clap::Subcommand;

use super::{print_json, Cli, EXIT_NEGATIVE, EXIT_OK};
use crate::admin::ops::locks::{
    LockChanged, LockShown, LocksDecide, LocksGroup, LocksList, LocksRelease, LocksReview,
    LocksShow, LocksTransfer,
};
use crate::admin::Body;
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
    Show(super::ShowArgs),
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
    let (target, note) = match cmd {
        LocksCommand::List { owner, json } => {
            return match cli.call(LocksList {
                owner: owner.clone(),
            }) {
                Ok(list) => print_list(&list.locks, *json),
                Err(code) => code,
            }
        }
        LocksCommand::Show(super::ShowArgs { target, json }) => {
            return match cli.call(LocksShow {
                target: target.clone(),
            }) {
                Ok(shown) => print_shown(shown, *json),
                Err(code) => code,
            }
        }
        LocksCommand::Group { account, domains } => {
            return match cli.call(LocksGroup {
                account: account.clone(),
                domains: domains.clone(),
            }) {
                Ok(r) => {
                    say!("grouped; event #{}", r.event_id);
                    EXIT_OK
                }
                Err(code) => code,
            }
        }
        LocksCommand::Review { target, note }
        | LocksCommand::Decide { target, note, .. }
        | LocksCommand::Transfer { target, note, .. }
        | LocksCommand::Release { target, note } => (target.clone(), note.clone()),
    };
    let changed = match cmd {
        LocksCommand::Decide { owner, .. } => cli.call(LocksDecide {
            target,
            owner: owner.clone(),
            note,
        }),
        LocksCommand::Transfer { to, .. } => cli.call(LocksTransfer {
            target,
            to: to.clone(),
            note,
        }),
        LocksCommand::Release { .. } => cli.call(LocksRelease { target, note }),
        _ => cli.call(LocksReview { target, note }),
    };
    match changed {
        Ok(LockChanged { lock: Some(lock) }) => say!("{}", line(&lock)),
        Ok(LockChanged { lock: None }) => say!("released"),
        Err(code) => return code,
    }
    EXIT_OK
}

fn print_list(locks: &[Lock], json: bool) -> u8 {
    super::print_lines(locks, json, "no locks in force", line)
}

fn print_shown(shown: LockShown, json: bool) -> u8 {
    let found = shown.lock.is_some() || shown.account.is_some();
    if json {
        print_json(&Body::LockShown(shown));
    } else {
        match &shown.lock {
            Some(l) => say!("{}", line(l)),
            None => say!("no lock in force on it"),
        }
        if let Some(a) = &shown.account {
            say!("{}", line(a));
        }
        for e in &shown.history {
            say!("  {}", super::suppress::history_line(e));
        }
    }
    if found {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
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
