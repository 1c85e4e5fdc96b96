//! `dnc-relay lift request|approve|deny|list`: removing an entry takes two people.

use clap::Subcommand;

use super::{print_json, Cli, EXIT_OK};
use crate::admin::ops::lift::{LiftApprove, LiftDeny, LiftList, LiftRequest};
use crate::store::Lift;

/// `lift` subcommands.
#[derive(Debug, Subcommand)]
pub enum LiftCommand {
    /// Ask for TARGET's entry to be lifted (manager and above). The block stays until an ops
    /// or admin user other than you approves.
    Request {
        /// The entry's target (address or @domain).
        target: String,
        /// Written proof that the contact wants mail again.
        #[arg(long, value_name = "TEXT")]
        proof: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve lift ID (ops or admin, not the requester): the entry is removed.
    Approve {
        /// The request's id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deny lift ID (ops or admin, or the requester withdrawing it): the entry stays.
    Deny {
        /// The request's id.
        id: u64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        why: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List lift requests.
    List {
        /// Only the pending ones.
        #[arg(long)]
        pending: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `lift` subcommand.
pub fn run(cli: &Cli, cmd: &LiftCommand) -> u8 {
    let decided = match cmd {
        LiftCommand::Request {
            target,
            proof,
            json,
        } => cli
            .call(LiftRequest {
                target: target.clone(),
                proof: proof.clone(),
            })
            .map(|r| {
                (
                    r.lift,
                    *json,
                    "requested; the entry stays until a second person (ops or admin) approves",
                )
            }),
        LiftCommand::Approve { id, json } => cli
            .call(LiftApprove { id: *id })
            .map(|r| (r.lift, *json, "approved; the entry is removed")),
        LiftCommand::Deny { id, why, json } => cli
            .call(LiftDeny {
                id: *id,
                why: why.clone(),
            })
            .map(|r| (r.lift, *json, "denied; the entry stays")),
        LiftCommand::List { pending, json } => {
            return match cli.call(LiftList {
                pending: *pending,
                days: None,
            }) {
                Ok(list) => print_lifts(&list.lifts, *json, "no lift requests"),
                Err(code) => code,
            }
        }
    };
    match decided {
        Ok((lift, true, _)) => print_json(&lift),
        Ok((lift, false, verb)) => say!("lift #{} for {} {verb}", lift.id, lift.target),
        Err(code) => return code,
    }
    EXIT_OK
}

/// Lift requests, one per line (or JSON); `none` when there are none.
pub fn print_lifts(lifts: &[Lift], json: bool, none: &str) -> u8 {
    super::print_lines(lifts, json, none, lift_line)
}

/// One lift request on one line.
pub fn lift_line(l: &Lift) -> String {
    let state = match &l.decision {
        None => "pending".to_string(),
        Some(d) if d.approved => format!("approved by {} at {}", d.by, d.at),
        Some(d) => format!(
            "denied by {} at {}: {}",
            d.by,
            d.at,
            d.why.as_deref().unwrap_or("")
        ),
    };
    format!(
        "#{:<4} {:<32} requested by {} at {}: \"{}\"; {state}",
        l.id, l.target, l.requested_by, l.requested_at, l.proof
    )
}
