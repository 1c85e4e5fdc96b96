//! `dnc-relay feedback` and `dnc-relay ingest`: what the feedback classifier makes of
//! messages (`classify`, a dry run that needs no relay and changes nothing), handing messages
//! over to the relay (`ingest`), and the review queue (`list`, `show`, `confirm`, `dismiss`).

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use crate::admin::ops::feedback::{
    FeedbackConfirm, FeedbackDismiss, FeedbackIngest, FeedbackList, FeedbackShow, Ingested,
    MAX_MESSAGE,
};
use crate::admin::AdminClient;
use crate::config::Overrides;
use crate::feedback::{Action, ActionKind, Class, Classified, Classifier, Kind};
use crate::model::feedback::{Record, ReviewState};
use crate::model::Units;

/// `dnc-relay feedback ...`.
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Classify messages (bounces, complaint reports, auto-replies, replies) and print what
    /// would happen, one line per message. Needs no running relay; changes nothing.
    Classify(ClassifyArgs),
    /// Score the classifier against a labelled corpus (JSON lines: file, kind, class,
    /// actions): precision and recall per decision. Exit 1 if a target is missed.
    Score {
        /// The labels file; message paths in it are relative to it.
        labels: PathBuf,
        /// List every disagreement.
        #[arg(long)]
        misses: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Feedback records, oldest first (one line each, or JSON).
    List {
        /// Only those with a review waiting.
        #[arg(long)]
        pending: bool,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One feedback record: the message's text and why. Exit 1 if there is none.
    Show {
        /// The record's id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Confirm a record's review: suppress what it names (sdr and up; it is an add).
    Confirm {
        /// The record's id.
        id: u64,
        /// Bind only the senders of these units (brands); repeat or comma-separate.
        #[arg(long, value_name = "UNIT", value_delimiter = ',')]
        scope: Vec<String>,
    },
    /// Dismiss a record's review: suppress nothing (manager and up).
    Dismiss {
        /// The record's id.
        id: u64,
        /// Why (kept in the record and the history).
        #[arg(long)]
        why: String,
    },
}

/// `dnc-relay ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// RFC 5322 message files; `-` or none for one message on stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Process every message in DIR/new/ and move each to DIR/cur/ once it is recorded.
    #[arg(long, value_name = "DIR", conflicts_with = "files")]
    pub maildir: Option<PathBuf>,
    /// Exit with sysexits codes for MTA pipes (Postfix `pipe`, procmail): 0 when recorded
    /// (actionable or not), 65 bad input, 75 relay unavailable (the MTA retries later).
    #[arg(long)]
    pub sysexits: bool,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// `feedback classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// RFC 5322 message files (`-` for one message on stdin).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// One line of `classify --json`.
#[derive(Serialize)]
struct Line<'a> {
    file: String,
    kind: Kind,
    class: Option<Class>,
    actions: &'a [Action],
}

/// Runs a feedback command.
pub fn run(cli: &Cli, cmd: &FeedbackCommand) -> u8 {
    match cmd {
        FeedbackCommand::Classify(args) => classify(cli, args),
        FeedbackCommand::Score {
            labels,
            misses,
            json,
        } => score(cli, labels, *misses, *json),
        FeedbackCommand::List { pending, json } => list(cli, *pending, *json),
        FeedbackCommand::Show { id, json } => match cli.call(FeedbackShow { id: *id }) {
            Ok(shown) if *json => {
                super::print_json(&shown.record);
                EXIT_OK
            }
            Ok(shown) => {
                print_record(&shown.record);
                EXIT_OK
            }
            Err(code) => code,
        },
        FeedbackCommand::Confirm { id, scope } => {
            let op = FeedbackConfirm {
                id: *id,
                units: Units::parse(scope),
            };
            match cli.call(op) {
                Ok(shown) => {
                    say!("feedback #{id} confirmed");
                    print_record(&shown.record);
                    EXIT_OK
                }
                Err(code) => code,
            }
        }
        FeedbackCommand::Dismiss { id, why } => {
            let op = FeedbackDismiss {
                id: *id,
                why: why.clone(),
            };
            match cli.call(op) {
                Ok(_) => {
                    say!("feedback #{id} dismissed");
                    EXIT_OK
                }
                Err(code) => code,
            }
        }
    }
}

/// Runs `dnc-relay ingest`: 0 when something was suppressed or put to review, 1 when every
/// message was recorded but none was actionable, 2 bad input, 3 relay unavailable.
pub fn ingest(cli: &Cli, args: &IngestArgs) -> u8 {
    let code = ingest_all(cli, args);
    if !args.sysexits {
        return code;
    }
    match code {
        EXIT_OK | EXIT_NEGATIVE => 0,
        EXIT_UNREACHABLE => 75,
        _ => 65,
    }
}

fn ingest_all(cli: &Cli, args: &IngestArgs) -> u8 {
    let mut client = match cli.connect() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let mut outcome = Outcome::default();
    if let Some(dir) = &args.maildir {
        let files = match maildir_new(dir) {
            Ok(files) => files,
            Err(e) => {
                tell!("dnc-relay: {}: {e}", dir.display());
                return EXIT_USAGE;
            }
        };
        for file in files {
            let done = ingest_one(&mut client, &file, args.json, &mut outcome);
            if done {
                if let Err(e) = to_cur(dir, &file) {
                    tell!(
                        "dnc-relay: {}: recorded, but cannot move it to cur/: {e}",
                        file.display()
                    );
                    outcome.bad = true;
                }
            }
            if outcome.unreachable {
                break;
            }
        }
    } else {
        let stdin = [PathBuf::from("-")];
        let files = match args.files.is_empty() {
            true => &stdin[..],
            false => &args.files[..],
        };
        for file in files {
            ingest_one(&mut client, file, args.json, &mut outcome);
            if outcome.unreachable {
                break;
            }
        }
    }
    outcome.code()
}

/// What a run of `ingest` met.
#[derive(Default)]
struct Outcome {
    actionable: bool,
    bad: bool,
    unreachable: bool,
}

impl Outcome {
    fn code(&self) -> u8 {
        if self.unreachable {
            EXIT_UNREACHABLE
        } else if self.bad {
            EXIT_USAGE
        } else if self.actionable {
            EXIT_OK
        } else {
            EXIT_NEGATIVE
        }
    }
}

/// Hands one message over; true once it is recorded.
fn ingest_one(client: &mut AdminClient, file: &Path, json: bool, outcome: &mut Outcome) -> bool {
    let mut raw = match read(file) {
        Ok(raw) if raw.iter().all(u8::is_ascii_whitespace) => {
            tell!("dnc-relay: {}: empty message", file.display());
            outcome.bad = true;
            return false;
        }
        Ok(raw) => raw,
        Err(e) => {
            tell!("dnc-relay: {}: {e}", file.display());
            outcome.bad = true;
            return false;
        }
    };
    if raw.len() > MAX_MESSAGE {
        // What a bounce or a reply says is at its top; the rest is attachments and quotes.
        raw.truncate(MAX_MESSAGE);
    }
    let op = FeedbackIngest {
        message: base64::engine::general_purpose::STANDARD.encode(&raw),
    };
    match client.call(op) {
        Ok(ingested) => {
            outcome.actionable |= ingested.actionable();
            print_ingested(&file.display().to_string(), &ingested, json);
            true
        }
        Err(e) => {
            match super::report(&e) {
                EXIT_UNREACHABLE => outcome.unreachable = true,
                _ => outcome.bad = true,
            }
            false
        }
    }
}

/// The messages waiting in a maildir's `new/`, in name order (delivery order).
fn maildir_new(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// Moves a message from `new/` to `cur/`, marked seen (maildir's `:2,S`).
fn to_cur(dir: &Path, file: &Path) -> std::io::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name);
    std::fs::rename(file, dir.join("cur").join(format!("{base}:2,S")))
}

fn print_ingested(name: &str, i: &Ingested, json: bool) {
    if json {
        let line = serde_json::json!({
            "file": name, "id": i.id, "new": i.new, "kind": i.message_kind,
            "class": i.class, "actions": i.actions,
        });
        println!("{line}");
        return;
    }
    let class = i.class.map(|c| format!(" ({c})")).unwrap_or_default();
    let seen = if i.new { "" } else { ", seen before" };
    say!(
        "{name}: feedback #{}: {}{class}{seen}",
        i.id,
        i.message_kind
    );
    for a in &i.actions {
        say!("  {}", action_line(a));
    }
}

fn list(cli: &Cli, pending: bool, json: bool) -> u8 {
    let mut client = match cli.connect() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let mut records = Vec::new();
    let mut after = 0;
    loop {
        match client.call(FeedbackList { pending, after }) {
            Ok(page) => {
                records.extend(page.records);
                match page.next {
                    Some(next) => after = next,
                    None => break,
                }
            }
            Err(e) => return super::report(&e),
        }
    }
    let none = match pending {
        true => "no feedback waiting for review",
        false => "no feedback recorded",
    };
    super::print_lines(&records, json, none, record_line)
}

fn record_line(r: &Record) -> String {
    let class = r.class.map(|c| format!(" ({c})")).unwrap_or_default();
    let targets: Vec<String> = r
        .actions
        .iter()
        .filter(|a| a.action != ActionKind::None)
        .map(|a| format!("{} {}", a.action, a.target))
        .collect();
    let pending = if r.is_pending() {
        " [review pending]"
    } else {
        ""
    };
    format!(
        "#{:<6} {} {}{class}{pending} {}",
        r.id,
        r.at,
        r.kind,
        if targets.is_empty() {
            "no action".into()
        } else {
            targets.join(", ")
        }
    )
}

fn print_record(r: &Record) {
    say!("{}", record_line(r));
    say!("  recorded  {} by {}", r.at, r.actor);
    if let Some(id) = &r.message_id {
        say!("  message   <{id}>");
    }
    say!("  evidence  {}", r.evidence);
    for (i, a) in r.actions.iter().enumerate() {
        let state = r
            .reviews
            .iter()
            .find(|(j, _)| *j as usize == i)
            .map(|(_, s)| match s {
                ReviewState::Pending => " [pending review]".to_string(),
                ReviewState::Confirmed { by, at } => format!(" [confirmed by {by} at {at}]"),
                ReviewState::Dismissed { by, at, why } => {
                    format!(" [dismissed by {by} at {at}: {why}]")
                }
            });
        say!("  {}{}", action_line(a), state.unwrap_or_default());
    }
}

fn action_line(a: &Action) -> String {
    let what = match a.action {
        ActionKind::None => "no action".to_string(),
        other => other.to_string(),
    };
    let detail: Vec<String> = a
        .reason
        .map(|r| r.to_string())
        .into_iter()
        .chain(a.status.clone())
        .collect();
    let detail = match detail.is_empty() {
        true => String::new(),
        false => format!(" ({})", detail.join(", ")),
    };
    format!("{what} {}{detail}: {}", a.target, a.why)
}

fn classify(cli: &Cli, args: &ClassifyArgs) -> u8 {
    let config = match cli.load_config(Overrides::default()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let classifier = match Classifier::from_config(&config) {
        Ok(c) => c,
        Err(e) => {
            tell!("dnc-relay: feedback rules: {e}");
            return EXIT_USAGE;
        }
    };
    let mut code = EXIT_OK;
    for file in &args.files {
        let raw = match read(file) {
            Ok(raw) => raw,
            Err(e) => {
                tell!("dnc-relay: {}: {e}", file.display());
                code = EXIT_USAGE;
                continue;
            }
        };
        let classified = classifier.classify(&raw);
        let name = file.display().to_string();
        if args.json {
            let line = Line {
                file: name,
                kind: classified.kind,
                class: classified.class,
                actions: &classified.actions,
            };
            match serde_json::to_string(&line) {
                Ok(text) => println!("{text}"),
                Err(e) => tell!("dnc-relay: cannot print JSON: {e}"),
            }
        } else {
            print_text(&name, &classified);
        }
    }
    code
}

fn score(cli: &Cli, labels: &Path, misses: bool, json: bool) -> u8 {
    let config = match cli.load_config(Overrides::default()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let report = match Classifier::from_config(&config)
        .and_then(|c| crate::feedback::score::score(&c, labels))
    {
        Ok(report) => report,
        Err(e) => {
            tell!("dnc-relay: {e}");
            return EXIT_USAGE;
        }
    };
    if json {
        super::print_json(&report);
    } else {
        say!("{} messages", report.messages);
        for line in report.table().lines() {
            say!("{line}");
        }
        for line in &report.wrongly_suppressed {
            say!("must not suppress: {line}");
        }
        if misses {
            for line in &report.misses {
                say!("{line}");
            }
        }
    }
    let missed = report.missed_targets();
    for m in &missed {
        tell!("dnc-relay: target missed: {m}");
    }
    if missed.is_empty() {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    }
}

fn read(file: &Path) -> std::io::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut raw = Vec::new();
        std::io::stdin().read_to_end(&mut raw)?;
        Ok(raw)
    } else {
        std::fs::read(file)
    }
}

fn print_text(name: &str, c: &Classified) {
    match c.class {
        Some(class) => say!("{name}: {} ({class})", c.kind),
        None => say!("{name}: {}", c.kind),
    }
    if c.actions.is_empty() {
        say!("  no action: {}", c.evidence);
    }
    for a in &c.actions {
        say!("  {}", action_line(a));
    }
}
