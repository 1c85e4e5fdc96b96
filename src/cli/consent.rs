//! `dnc-relay consent add|withdraw|show|import|export`: consent per purpose, with its proof.

use std::path::PathBuf;

use clap::Subcommand;

use super::{print_json, Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE};
use crate::admin::ops::consent::{
    ConsentAdd, ConsentImport, ConsentList, ConsentShow, ConsentWithdraw, MAX_IMPORT,
};
use crate::model::consent::{Channel, Consent};
use crate::model::Timestamp;

/// `consent` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record ADDRESS's consent for a purpose, with its proof.
    Add {
        /// The contact's address.
        address: String,
        /// The purpose (`[[purposes]] name`).
        #[arg(long)]
        purpose: String,
        /// The channel.
        #[arg(long, default_value = "email", value_parser = |s: &str| s.parse::<Channel>())]
        channel: Channel,
        /// The proof: the form and its page, the confirmation mail, the call note.
        #[arg(long, value_name = "TEXT")]
        proof: String,
        /// When the contact consented (RFC 3339); default now.
        #[arg(long, value_name = "TIMESTAMP", value_parser = Timestamp::parse_rfc3339)]
        at: Option<Timestamp>,
        /// The contact confirmed by answering a mail.
        #[arg(long)]
        double_opt_in: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Withdraw ADDRESS's consent for a purpose: its mail is refused from now on.
    Withdraw {
        /// The contact's address.
        address: String,
        /// The purpose.
        #[arg(long)]
        purpose: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        why: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// ADDRESS's consents and their history. Exit 1 when it has none in force.
    Show {
        /// The contact's address.
        address: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record consents from a CSV with the columns address, purpose, channel, proof, at,
    /// double_opt_in (the last three optional). Every row is checked before any is recorded.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Every consent as CSV (the import's columns, plus recorded_by, event, withdrawn_at,
    /// withdrawn_why).
    Export,
}

/// Runs a `consent` subcommand.
pub fn run(cli: &Cli, cmd: &ConsentCommand) -> u8 {
    match cmd {
        ConsentCommand::Add {
            address,
            purpose,
            channel,
            proof,
            at,
            double_opt_in,
            json,
        } => {
            let op = ConsentAdd {
                address: address.clone(),
                purpose: purpose.clone(),
                channel: *channel,
                proof: proof.clone(),
                at: *at,
                double_opt_in: *double_opt_in,
            };
            changed(cli.call(op).map(|c| c.consent), *json, "recorded")
        }
        ConsentCommand::Withdraw {
            address,
            purpose,
            why,
            json,
        } => {
            let op = ConsentWithdraw {
                address: address.clone(),
                purpose: purpose.clone(),
                why: why.clone(),
            };
            changed(cli.call(op).map(|c| c.consent), *json, "withdrawn")
        }
        ConsentCommand::Show { address, json } => show(cli, address, *json),
        ConsentCommand::Import { file } => import(cli, file),
        ConsentCommand::Export => export(cli),
    }
}

fn changed(result: Result<Consent, u8>, json: bool, verb: &str) -> u8 {
    match result {
        Ok(c) if json => print_json(&c),
        Ok(c) => say!(
            "consent of {} for {} {verb} (event #{})",
            c.key,
            c.purpose,
            c.event_id
        ),
        Err(code) => return code,
    }
    EXIT_OK
}

/// One consent on one line.
pub fn consent_line(c: &Consent) -> String {
    let state = match &c.withdrawn {
        None => "in force".to_string(),
        Some(w) => format!("withdrawn {} by {}: \"{}\"", w.at, w.by.user, w.why),
    };
    format!(
        "{:<14} {:<6} given {}{} by {}: \"{}\"; {state}",
        c.purpose,
        c.channel,
        c.given_at,
        if c.double_opt_in {
            " (double opt-in)"
        } else {
            ""
        },
        c.actor.user,
        c.proof
    )
}

fn show(cli: &Cli, address: &str, json: bool) -> u8 {
    let shown = match cli.call(ConsentShow {
        address: address.to_string(),
    }) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let any = !shown.in_force.is_empty();
    if json {
        print_json(&shown);
    } else if shown.consents.is_empty() {
        say!("{}: no consent recorded", shown.key);
    } else {
        say!("{}:", shown.key);
        for c in &shown.consents {
            let lapsed = c.withdrawn.is_none() && !shown.in_force.contains(&c.purpose);
            let line = consent_line(c);
            if lapsed {
                say!("  {} (lapsed: no interaction within [retention] inactive_after, or past its lifetime)", line.replace("; in force", ""));
            } else {
                say!("  {line}");
            }
        }
        say!("history:");
        for e in &shown.history {
            say!("  {}", crate::model::describe::history_line(e));
        }
    }
    if any {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    }
}

/// Reads and checks every row of the file; the rows, or the exit code after saying what is
/// wrong and where.
fn read_rows(file: &PathBuf) -> Result<Vec<ConsentAdd>, u8> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .map_err(|e| {
            tell!("dnc-relay: cannot read {}: {e}", file.display());
            EXIT_USAGE
        })?;
    let headers = reader.headers().cloned().map_err(|e| {
        tell!("dnc-relay: {}: no header row: {e}", file.display());
        EXIT_USAGE
    })?;
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(address), Some(purpose), Some(proof)) =
        (col("address"), col("purpose"), col("proof"))
    else {
        tell!(
            "dnc-relay: {}: the header needs address, purpose and proof columns (channel, at, double_opt_in optional)",
            file.display()
        );
        return Err(EXIT_USAGE);
    };
    let (channel, at, doi) = (col("channel"), col("at"), col("double_opt_in"));
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let bad = |what: String| {
            tell!(
                "dnc-relay: {}:{line}: {what}; nothing was recorded",
                file.display()
            );
            EXIT_USAGE
        };
        let record = record.map_err(|e| bad(e.to_string()))?;
        let cell = |i: Option<usize>| {
            crate::lists::restore(i.and_then(|i| record.get(i)).unwrap_or("").trim())
        };
        let channel = match cell(channel) {
            "" => Channel::Email,
            c => c.parse().map_err(bad)?,
        };
        let at = match cell(at) {
            "" => None,
            t => Some(Timestamp::parse_rfc3339(t).map_err(bad)?),
        };
        let double_opt_in = matches!(
            cell(doi).to_ascii_lowercase().as_str(),
            "true" | "yes" | "1"
        );
        if crate::address::Address::parse(cell(Some(address))).is_err() {
            return Err(bad(format!("'{}' is not an address", cell(Some(address)))));
        }
        if cell(Some(proof)).is_empty() {
            return Err(bad("the proof is empty".into()));
        }
        rows.push(ConsentAdd {
            address: cell(Some(address)).to_string(),
            purpose: cell(Some(purpose)).to_string(),
            channel,
            proof: cell(Some(proof)).to_string(),
            at,
            double_opt_in,
        });
    }
    Ok(rows)
}

fn import(cli: &Cli, file: &PathBuf) -> u8 {
    let rows = match read_rows(file) {
        Ok(rows) => rows,
        Err(code) => return code,
    };
    if rows.len() > MAX_IMPORT {
        tell!(
            "dnc-relay: {}: {} rows; at most {MAX_IMPORT} per file (split it); nothing was recorded",
            file.display(),
            rows.len()
        );
        return EXIT_USAGE;
    }
    match cli.call(ConsentImport { rows }) {
        Ok(done) => {
            say!("{} consents recorded from {}", done.rows, file.display());
            EXIT_OK
        }
        Err(code) => code,
    }
}

fn export(cli: &Cli) -> u8 {
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut out = crate::lists::SafeCsv::new(std::io::stdout().lock());
    let header = [
        "address",
        "purpose",
        "channel",
        "proof",
        "at",
        "double_opt_in",
        "recorded_by",
        "event",
        "withdrawn_at",
        "withdrawn_why",
    ];
    if out.write_record(header).is_err() {
        return EXIT_OK;
    }
    let mut after = None;
    loop {
        let page = match client.call(ConsentList {
            after: after.clone(),
        }) {
            Ok(p) => p,
            Err(e) => return super::report(&e),
        };
        for c in &page.consents {
            let row = [
                c.key.clone(),
                c.purpose.clone(),
                c.channel.to_string(),
                c.proof.clone(),
                c.given_at.to_string(),
                c.double_opt_in.to_string(),
                c.actor.user.clone(),
                c.event_id.to_string(),
                c.withdrawn
                    .as_ref()
                    .map(|w| w.at.to_string())
                    .unwrap_or_default(),
                c.withdrawn
                    .as_ref()
                    .map(|w| w.why.clone())
                    .unwrap_or_default(),
            ];
            if out.write_record(row).is_err() {
                return EXIT_OK;
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let _ = out.flush();
    EXIT_OK
}
