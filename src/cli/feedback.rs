//! `dnc-relay feedback`: what the feedback classifier makes of messages. `classify` is a dry
//! run: it needs no running relay and changes nothing.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Cli, EXIT_OK, EXIT_USAGE};
use crate::config::Overrides;
use crate::feedback::{Action, ActionKind, Class, Classified, Classifier, Kind};

/// `dnc-relay feedback ...`.
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Classify messages (bounces, complaint reports, auto-replies, replies) and print what
    /// would happen, one line per message. Needs no running relay; changes nothing.
    Classify(ClassifyArgs),
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
    }
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

fn read(file: &PathBuf) -> std::io::Result<Vec<u8>> {
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
        let mut what = a.action.to_string();
        if a.action == ActionKind::None {
            what = "no action".into();
        }
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
        say!("  {what} {}{detail}: {}", a.target, a.why);
    }
}
