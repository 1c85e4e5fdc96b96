//! `dnc-relay alerts list`: the alerts on the record, newest first.

use clap::Subcommand;

use super::Cli;
use crate::admin::ops::alerts::AlertsList;
use crate::model::alert::Alert;

/// `alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List the alerts raised, newest first, with where each was delivered.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON (one array).
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `alerts` subcommand.
pub fn run(cli: &Cli, cmd: &AlertsCommand) -> u8 {
    let AlertsCommand::List { limit, json } = cmd;
    match cli.call(AlertsList { limit: *limit }) {
        Ok(page) => super::print_lines(&page.alerts, *json, "no alerts", alert_line),
        Err(code) => code,
    }
}

/// One alert on one line.
pub fn alert_line(a: &Alert) -> String {
    format!(
        "#{:<4} {} {:<18} {:<28} {} [webhook: {}]",
        a.id,
        a.at,
        a.rule.as_str(),
        a.scope,
        a.subject,
        a.webhook.describe()
    )
}
