//! `dnc-relay check ADDRESS`: asks the running relay what would happen at RCPT.

use clap::Args;

use super::{print_json, Cli, EXIT_NEGATIVE, EXIT_OK};
use crate::admin::ops::lists::Check;
use crate::admin::proto::CheckResult;

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The recipient address.
    pub address: String,
    /// The sender (MAIL FROM) to check with (sender groups, unit-scoped entries).
    #[arg(long, value_name = "SENDER")]
    pub from: Option<String>,
    /// Answer as the list stood at this moment (RFC 3339, e.g. 2026-11-20T09:00:00Z).
    #[arg(long, value_name = "TIMESTAMP", value_parser = crate::model::Timestamp::parse_rfc3339)]
    pub at: Option<crate::model::Timestamp>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Exit 0 when deliverable, 1 when blocked.
pub fn run(cli: &Cli, args: &CheckArgs) -> u8 {
    let result = match cli.call(Check {
        address: args.address.clone(),
        from: args.from.clone(),
        at: args.at,
    }) {
        Ok(result) => result,
        Err(code) => return code,
    };
    if args.json {
        print_json(&result);
    } else {
        print_text(&result);
    }
    if let Some(why) = &result.not_current {
        tell!(
            "dnc-relay: warning: {why}; this answer comes from a list that may be out of date, \
             and the relay answers 451 4.3.0 on the wire until it is current"
        );
    }
    if result.deliverable {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    }
}

fn print_text(r: &CheckResult) {
    if let Some(at) = r.at {
        say!("as of {at}:");
    }
    match (&r.entry, r.rule) {
        (Some(entry), Some(rule)) if r.deliverable => {
            say!("{}: deliverable (exempt)", r.normalized);
            say!(
                "  exemption {} sets aside {} ({}, rule {rule})",
                r.exemption.as_deref().unwrap_or("?"),
                entry.target,
                entry.reason
            );
        }
        (Some(entry), Some(rule)) => {
            say!("{}: blocked", r.normalized);
            say!("  matched   {} (rule {rule})", entry.target);
            say!("  reason    {} (source {})", entry.reason, entry.source);
            say!("  scope     {}", entry.scope());
            say!("  added     {} by {}", entry.added_at, entry.actor);
            if !entry.evidence.is_empty() {
                say!("  evidence  {}", entry.evidence);
            }
            if let Some(reply) = &r.smtp_reply {
                say!("  at RCPT   {reply}");
            }
        }
        _ if r.deliverable => say!("{}: deliverable", r.normalized),
        _ => {
            say!("{}: blocked", r.normalized);
            if let (Some(reply), None) = (&r.smtp_reply, &r.lock) {
                say!("  at RCPT   {reply}");
            }
        }
    }
    if let Some(lock) = &r.lock {
        let effect = match r.lock_effect {
            Some(crate::decision::LockEffect::Warn) => "warning",
            _ => "locked",
        };
        say!("  {effect:<9} {}", crate::locks::describe(lock));
        if let Some(review) = &lock.review {
            say!(
                "  review    since {} by {}: {}",
                review.at,
                review.by,
                review.note
            );
        }
        if r.entry.is_none() {
            if let Some(reply) = &r.smtp_reply {
                say!("  at RCPT   {reply}");
            }
        }
    }
}
