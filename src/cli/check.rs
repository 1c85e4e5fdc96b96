//! `dnc-relay check ADDRESS`: asks the running relay what would happen at RCPT.

use clap::Args;

use super::{print_json, report, Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE};
use crate::admin::proto::CheckResult;
use crate::admin::{Body, Request};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The recipient address.
    pub address: String,
    /// The sender (MAIL FROM) to check with.
    #[arg(long, value_name = "SENDER")]
    pub from: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Exit 0 when deliverable, 1 when blocked.
pub fn run(cli: &Cli, args: &CheckArgs) -> u8 {
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match client.request(Request::Check {
        address: args.address.clone(),
        from: args.from.clone(),
    }) {
        Ok(Body::Checked(result)) => result,
        Ok(other) => {
            eprintln!("dnc-relay: unexpected answer: {other:?}");
            return EXIT_UNREACHABLE;
        }
        Err(e) => return report(&e),
    };
    if args.json {
        print_json(&result);
    } else {
        print_text(&result);
    }
    if result.deliverable {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    }
}

fn print_text(r: &CheckResult) {
    match (&r.entry, r.rule) {
        (Some(entry), Some(rule)) => {
            println!("{}: blocked", r.normalized);
            println!("  matched   {} (rule {rule})", entry.target);
            println!("  reason    {} (source {})", entry.reason, entry.source);
            println!("  added     {} by {}", entry.added_at, entry.actor);
            if !entry.evidence.is_empty() {
                println!("  evidence  {}", entry.evidence);
            }
            if let Some(reply) = &r.smtp_reply {
                println!("  at RCPT   {reply}");
            }
        }
        _ => println!("{}: deliverable", r.normalized),
    }
}
