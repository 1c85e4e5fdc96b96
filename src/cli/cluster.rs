//! `dnc-relay cluster`: the fleet's database, straight from the config (no relay needed):
//! `migrate` brings its schema up to date, `status` shows every relay and its lag.

use clap::Subcommand;

use super::{Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use crate::cluster::pg::{self, Db, NodeStatus, PgError};
use crate::config::{ClusterConfig, Overrides};

/// `dnc-relay cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Apply the schema migrations the fleet's database lacks (relays also do it at start).
    Migrate,
    /// Every relay of the fleet: the log entry it applied, how far behind it is, its lag and
    /// its last contact. Exit 1 when a relay is behind by more than `cluster.max_lag`.
    Status {
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `cluster` command.
pub fn run(cli: &Cli, cmd: &ClusterCommand) -> u8 {
    let config = match cli.load_config(Overrides::default()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Some(cluster) = config.cluster.clone() else {
        tell!("dnc-relay: the config has no [cluster] section: this relay is not part of a fleet");
        return EXIT_USAGE;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tell!("dnc-relay: cannot start: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    let result = runtime.block_on(async {
        let db = Db::new(&cluster).map_err(|e| (EXIT_USAGE, e))?;
        let unreachable = |e: PgError| (EXIT_UNREACHABLE, e);
        let (mut client, _notes) =
            pg::within(pg::STATEMENT_TIMEOUT, "the connection", db.connect())
                .await
                .map_err(unreachable)?;
        match cmd {
            ClusterCommand::Migrate => {
                let applied = pg::migrate(&mut client).await.map_err(unreachable)?;
                if applied.is_empty() {
                    say!(
                        "the fleet's database is at schema version {}: nothing to do",
                        pg::SCHEMA_VERSION
                    );
                } else {
                    let versions: Vec<String> = applied.iter().map(|v| v.to_string()).collect();
                    say!(
                        "the fleet's database is at schema version {} (applied: {})",
                        pg::SCHEMA_VERSION,
                        versions.join(", ")
                    );
                }
                Ok(EXIT_OK)
            }
            ClusterCommand::Status { json } => {
                let (head, nodes) = pg::status(&client).await.map_err(|e| {
                    if e.0.contains("dnc_head") {
                        let hint = "the fleet's database has no schema yet: run `dnc-relay cluster migrate` (relays also do at start)";
                        (EXIT_UNREACHABLE, PgError(format!("{e}; {hint}")))
                    } else {
                        unreachable(e)
                    }
                })?;
                Ok(print_status(&cluster, head, &nodes, *json))
            }
        }
    });
    match result {
        Ok(code) => code,
        Err((code, e)) => {
            tell!("dnc-relay: {e}");
            code
        }
    }
}

/// Whether a node has confirmed it is current within the bound.
fn is_current(node: &NodeStatus, config: &ClusterConfig) -> bool {
    node.lag_seconds
        .is_some_and(|lag| lag <= config.max_lag.as_secs_f64())
}

fn print_status(config: &ClusterConfig, head: u64, nodes: &[NodeStatus], json: bool) -> u8 {
    let all_current = nodes.iter().all(|n| is_current(n, config));
    if json {
        let nodes: Vec<serde_json::Value> = nodes
            .iter()
            .map(|n| {
                let mut v = serde_json::to_value(n).unwrap_or_default();
                v["current"] = is_current(n, config).into();
                v
            })
            .collect();
        super::print_json(&serde_json::json!({
            "head": head,
            "max_lag_seconds": config.max_lag.as_secs_f64(),
            "nodes": nodes,
        }));
    } else {
        say!(
            "log head: entry {head}; max_lag {}",
            humantime::format_duration(config.max_lag)
        );
        say!(
            "{:<20} {:>10} {:>8} {:>10} {:>13} {:>7}  {}",
            "node",
            "applied",
            "behind",
            "lag",
            "last contact",
            "queued",
            "state"
        );
        for n in nodes {
            let lag = n
                .lag_seconds
                .map_or("never".to_string(), |s| format!("{s:.1}s"));
            let state = if is_current(n, config) {
                "current"
            } else {
                "BEHIND (451 to new recipients)"
            };
            say!(
                "{:<20} {:>10} {:>8} {:>10} {:>12.1}s {:>7}  {}",
                n.node,
                n.applied,
                n.behind,
                lag,
                n.last_contact_seconds,
                n.queued,
                state
            );
        }
        if nodes.is_empty() {
            say!("no relay has joined yet");
        }
    }
    if all_current {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    }
}
