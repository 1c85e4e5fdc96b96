//! The command line: one small module per command group. Each admin command talks to the
//! running relay through the admin socket; `serve` and `check-config` work on the config.
//!
//! Exit codes: 0 ok, 1 a negative answer (blocked, refused), 2 usage or config error,
//! 3 cannot reach the socket or the store.

/// Human output on stdout: one line, with every control character in it escaped (see
/// [`escape_controls`]), so that text from the list (evidence, notes, addresses, an upstream's
/// reply) can neither drive the terminal nor fake a line of its own.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", $crate::cli::escape_controls(&format!($($arg)*)))
    };
}

/// [`say!`] for stderr.
macro_rules! tell {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::cli::escape_controls(&format!($($arg)*)))
    };
}

mod alerts;
mod audit;
mod check;
mod cluster;
mod consent;
mod feed;
mod feedback;
mod lift;
mod lists;
mod locks;
mod progress;
mod serve;
mod suppress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin::{AdminClient, ClientError, ErrorCode};
use crate::config::{Config, Overrides};

/// Success.
pub const EXIT_OK: u8 = 0;
/// A negative answer: blocked, refused, not found.
pub const EXIT_NEGATIVE: u8 = 1;
/// Usage or config error.
pub const EXIT_USAGE: u8 = 2;
/// The socket or the store cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;

/// SMTP relay that refuses do-not-contact recipients at RCPT time.
#[derive(Debug, Parser)]
#[command(name = "dnc-relay", version, about, long_about = None)]
pub struct Cli {
    /// Config file (default: $DNC_RELAY_CONFIG, else the shipped config/dnc-relay.toml).
    #[arg(long, global = true, env = "DNC_RELAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Admin socket for admin commands (default: $DNC_RELAY_SOCKET, else the config's).
    #[arg(long, global = true, env = "DNC_RELAY_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Data directory: the store, socket and decision log live under it.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay.
    Serve(serve::ServeArgs),
    /// Validate the config without binding or opening anything.
    CheckConfig,
    /// Add, list and show suppressions.
    #[command(subcommand)]
    Suppress(suppress::SuppressCommand),
    /// Would mail to ADDRESS be relayed now (or --at a past moment)? Exit 0 deliverable,
    /// 1 blocked.
    Check(check::CheckArgs),
    /// Request, approve, deny and list lifts (removing an entry needs two people).
    #[command(subcommand)]
    Lift(lift::LiftCommand),
    /// Audits: a sample of sent mail, the lifts, one contact's timeline, duplicate contacts.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Ownership locks: review, decide, transfer, release, list, show, group accounts.
    #[command(subcommand)]
    Locks(locks::LocksCommand),
    /// Import suppressions from CSV (our export, Amazon SES, SendGrid, or a plain list).
    Import(lists::ImportArgs),
    /// Export the whole list as CSV or JSON lines, optionally hashed.
    Export(lists::ExportArgs),
    /// Check a lead list (CSV) against the list; writes it to stdout with dnc_status and
    /// dnc_reason columns. Changes nothing.
    Scrub(lists::ScrubArgs),
    /// Feedback (bounces, complaints, replies): classify messages (a dry run), list, show,
    /// confirm and dismiss what was recorded.
    #[command(subcommand)]
    Feedback(feedback::FeedbackCommand),
    /// Hand messages (bounces, complaint reports, replies) over to the relay. Exit 0 something
    /// suppressed or put to review, 1 nothing actionable, 2 bad input, 3 relay unavailable.
    Ingest(feedback::IngestArgs),
    /// The fleet (`[cluster]`): migrate the database's schema, show every relay's lag.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// The alerts raised (`[alerts]`): lifts approved, opt-out spikes, complaint rate,
    /// bursts, a replica behind.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// The hashed feed for subcontractors: give and revoke tokens, list subscribers and
    /// their pulls (the company's relay); where this relay stands with the feed it follows
    /// (a subcontractor's, `[replica] feed`).
    #[command(subcommand)]
    Feed(feed::FeedCommand),
    /// Erase a contact (ops and up): its records keep only the salted hash of its address,
    /// the reason, the dates and the actors; the decision log's lines too. It stays refused.
    Erase {
        /// The contact's address.
        address: String,
        /// The request's proof (the ticket, the letter).
        #[arg(long, value_name = "TEXT")]
        proof: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retention: `purge` erases the personal data of contacts past [retention]
    /// inactive_after (their blocks stay, hashed); a dry run unless --apply.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Consent per purpose (`[[purposes]]`): add with proof, withdraw, show, import, export.
    #[command(subcommand)]
    Consent(consent::ConsentCommand),
    /// Who the relay takes you for, and your role.
    Whoami,
    /// Read a password from stdin and print its argon2 hash for `[[auth.users]] password_hash`.
    HashPassword,
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        // A command piped into `head` ends quietly when the reader goes, like other Unix
        // tools, instead of failing to print. The relay itself keeps SIGPIPE ignored.
        // SAFETY: no other thread runs yet, and the default disposition is always valid.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            )
        };
    }
    ExitCode::from(run(cli))
}

/// Runs a parsed command line and returns its exit code.
pub fn run(cli: Cli) -> u8 {
    match &cli.command {
        Command::Serve(args) => serve::run(&cli, args),
        Command::CheckConfig => serve::check_config(&cli),
        Command::Suppress(cmd) => suppress::run(&cli, cmd),
        Command::Check(args) => check::run(&cli, args),
        Command::Lift(cmd) => lift::run(&cli, cmd),
        Command::Audit(cmd) => audit::run(&cli, cmd),
        Command::Locks(cmd) => locks::run(&cli, cmd),
        Command::Feedback(cmd) => feedback::run(&cli, cmd),
        Command::Ingest(args) => feedback::ingest(&cli, args),
        Command::Import(args) => lists::import(&cli, args),
        Command::Export(args) => lists::export(&cli, args),
        Command::Scrub(args) => lists::scrub(&cli, args),
        Command::Cluster(cmd) => cluster::run(&cli, cmd),
        Command::Alerts(cmd) => alerts::run(&cli, cmd),
        Command::Feed(cmd) => feed::run(&cli, cmd),
        Command::Consent(cmd) => consent::run(&cli, cmd),
        Command::Retention(RetentionCommand::Purge { apply, json }) => purge(&cli, *apply, *json),
        Command::Erase {
            address,
            proof,
            json,
        } => erase(&cli, address, proof, *json),
        Command::Whoami => whoami(&cli),
        Command::HashPassword => hash_password(),
    }
}

fn hash_password() -> u8 {
    use std::io::BufRead;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        tell!("dnc-relay: cannot read the password from stdin");
        return EXIT_USAGE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        tell!(
            "dnc-relay: empty password (give it on stdin: echo 'secret' | dnc-relay hash-password)"
        );
        return EXIT_USAGE;
    }
    match crate::access::hash_password(password.as_bytes()) {
        Ok(hash) => {
            say!("{hash}");
            EXIT_OK
        }
        Err(e) => {
            tell!("dnc-relay: cannot hash: {e}");
            EXIT_UNREACHABLE
        }
    }
}

/// `retention` subcommands.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// List (or with --apply erase) the contacts whose last activity is past [retention]
    /// inactive_after: listed ones keep their block under the hashed key.
    Purge {
        /// Erase them (without it: a dry run that only lists them).
        #[arg(long)]
        apply: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn purge(cli: &Cli, apply: bool, json: bool) -> u8 {
    let report = match cli.call(crate::admin::ops::erase::RetentionPurge { apply }) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json {
        print_json(&report);
        return EXIT_OK;
    }
    for r in &report.contacts {
        say!(
            "{:<40} last activity {}{}",
            r.contact,
            r.last_activity,
            if r.listed {
                "  (listed: the block stays)"
            } else {
                ""
            }
        );
    }
    say!(
        "{} contact(s) past {} days without activity{}",
        report.contacts.len(),
        report.inactive_after_days,
        if report.applied {
            format!(
                ": erased ({} decision log lines rewritten)",
                report.log_lines
            )
        } else {
            ": a dry run, nothing changed (--apply to erase them)".to_string()
        }
    );
    EXIT_OK
}

fn erase(cli: &Cli, address: &str, proof: &str, json: bool) -> u8 {
    let op = crate::admin::ops::erase::Erase {
        address: address.to_string(),
        proof: proof.to_string(),
    };
    match cli.call(op) {
        Ok(r) if json => {
            print_json(&r);
            EXIT_OK
        }
        Ok(r) => {
            let e = &r.erased;
            say!(
                "erased: the records now carry {} ({} events, {} send records, {} feedback records, {} consents, {} decision log lines rewritten); {} (event #{})",
                e.hashed,
                e.events,
                e.attempts,
                e.feedback,
                e.consents,
                r.log_lines,
                if e.was_listed {
                    "the block stays in force"
                } else {
                    "it was not listed: it is now (reason legal)"
                },
                e.event_id
            );
            if !e.compacted {
                tell!("dnc-relay: warning: the store file could not be compacted; old pages may still hold the address until reused (run erase again to retry)");
            }
            EXIT_OK
        }
        Err(code) => code,
    }
}

fn whoami(cli: &Cli) -> u8 {
    match cli.call(crate::admin::ops::suppress::Ping) {
        Ok(pong) => {
            say!(
                "{} on dnc-relay {} ({} entries)",
                pong.actor,
                pong.version,
                pong.entries
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// Calls `f` for every entry of the list, in key order, a page at a time; `f` returns false to
/// stop (its output is gone). The one way the CLI pages through the list.
pub fn each_entry(
    client: &mut AdminClient,
    mut f: impl FnMut(&crate::model::Entry) -> bool,
) -> Result<(), u8> {
    let mut after = None;
    loop {
        let page = client
            .call(crate::admin::ops::suppress::SuppressList {
                after: after.take(),
                limit: crate::admin::proto::MAX_PAGE,
            })
            .map_err(|e| report(&e))?;
        for entry in &page.entries {
            if !f(entry) {
                return Ok(());
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

impl Cli {
    /// Loads the config and applies `--data-dir` (and the serve flags when given).
    pub fn load_config(&self, overrides: Overrides) -> Result<Config, u8> {
        let mut config = Config::load(self.config.as_deref()).map_err(|e| {
            report_config_errors(&e);
            EXIT_USAGE
        })?;
        let overrides = Overrides {
            data_dir: overrides.data_dir.or_else(|| self.data_dir.clone()),
            ..overrides
        };
        config.apply(&overrides).map_err(|e| {
            report_config_errors(&e);
            EXIT_USAGE
        })?;
        Ok(config)
    }

    /// The admin socket: `--socket`, `$DNC_RELAY_SOCKET`, else from the config.
    pub fn socket_path(&self) -> Result<PathBuf, u8> {
        match &self.socket {
            Some(path) => Ok(path.clone()),
            None => Ok(self.load_config(Overrides::default())?.socket_path()),
        }
    }

    /// Connects to the admin socket, printing why not.
    pub fn connect(&self) -> Result<AdminClient, u8> {
        let path = self.socket_path()?;
        AdminClient::connect(&path).map_err(|e| report(&e))
    }

    /// Runs one operation on a connection of its own; on failure, says why and gives the
    /// exit code.
    pub fn call<O: crate::admin::Operation>(&self, op: O) -> Result<O::Response, u8> {
        self.connect()?.call(op).map_err(|e| report(&e))
    }
}

/// Prints config errors, one line each.
fn report_config_errors(e: &crate::config::ConfigErrors) {
    let text = e.to_string();
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        tell!("dnc-relay: {first}");
    }
    for line in lines {
        tell!("{line}");
    }
}

/// Prints an admin error and returns its exit code.
pub fn report(e: &ClientError) -> u8 {
    tell!("dnc-relay: {e}");
    match e {
        ClientError::Unreachable { .. }
        | ClientError::Protocol(_)
        | ClientError::Impostor { .. } => {
            if matches!(e, ClientError::Unreachable { .. }) {
                tell!("  is the relay running? (dnc-relay serve), or pass --socket PATH");
            }
            EXIT_UNREACHABLE
        }
        ClientError::Refused { code, .. } => match code {
            ErrorCode::BadRequest | ErrorCode::UnsupportedVersion => EXIT_USAGE,
            ErrorCode::Forbidden | ErrorCode::NotFound | ErrorCode::Conflict => EXIT_NEGATIVE,
            ErrorCode::StoreUnavailable => EXIT_UNREACHABLE,
        },
    }
}

/// `text` with control characters (C0, DEL, C1) and the Unicode controls that reorder text
/// on screen (bidi embeddings, overrides and isolates) written as escapes: `\n`, `\t`, `\r`,
/// `\u{1b}`. Everything else, accents and non-Latin scripts included, is shown as it is.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    // Zero-width and direction marks, line and paragraph separators, embeddings, overrides,
    // isolates, the Arabic letter mark and the byte order mark: invisible, or moving text.
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{061c}'
                    | '\u{200b}'..='\u{200f}'
                    | '\u{2028}'..='\u{202e}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{feff}'
            )
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        // JSON escapes every control character itself; it spans lines on purpose.
        Ok(text) => println!("{text}"),
        Err(e) => tell!("dnc-relay: cannot print JSON: {e}"),
    }
}

/// What the `show` commands take: one target, shown as text or JSON.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// An address or @domain.
    pub target: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints `value` as JSON with `--json`, else as text by `text`.
pub fn print_as<T: serde::Serialize>(value: &T, json: bool, text: impl FnOnce(&T)) {
    if json {
        print_json(value);
    } else {
        text(value);
    }
}

/// Prints `items` one line each by `line` (or as a JSON array with `--json`), and `none`
/// when there are none.
pub fn print_lines<T: serde::Serialize>(
    items: &[T],
    json: bool,
    none: &str,
    line: impl Fn(&T) -> String,
) -> u8 {
    print_as(&items, json, |items| match items {
        [] => say!("{none}"),
        items => items.iter().for_each(|item| say!("{}", line(item))),
    });
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_are_shown_as_escapes() {
        assert_eq!(escape_controls("Grüße, 東京"), "Grüße, 東京");
        assert_eq!(
            escape_controls("a\x1b[2J\rentry lifted\nb\tc\u{7f}\u{9b}\u{202e}x"),
            "a\\u{1b}[2J\\rentry lifted\\nb\\tc\\u{7f}\\u{9b}\\u{202e}x"
        );
        assert_eq!(
            escape_controls("x\u{2028}y\u{2029}z\u{200f}\u{61c}"),
            "x\\u{2028}y\\u{2029}z\\u{200f}\\u{61c}"
        );
    }
}
