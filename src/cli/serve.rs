//! `dnc-relay serve` and `dnc-relay check-config`.

use std::net::SocketAddr;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::{Cli, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use crate::config::{Config, LogFormat, Overrides};
use crate::server::{Hooks, Server};

/// Flags of `serve`; they replace what the config file says.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// SMTP address to listen on, repeatable (replaces server.listen).
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
    /// Upstream URL (replaces upstream.url): smtp://host:port[?tls=required], smtps://host:port,
    /// capture:DIR.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
}

/// Runs the relay until SIGTERM or SIGINT.
pub fn run(cli: &Cli, args: &ServeArgs) -> u8 {
    // Everything the relay creates is its own: the list, the log and the mail are nobody
    // else's to read, and a store another user can write is a store they can roll back.
    // Files are also created with explicit modes; this covers anything else.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let config = match cli.load_config(Overrides {
        listen: args.listen.clone(),
        upstream: args.upstream.clone(),
        data_dir: None,
    }) {
        Ok(config) => config,
        Err(code) => return code,
    };
    init_tracing(&config);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if config.server.worker_threads > 0 {
        builder.worker_threads(config.server.worker_threads);
    }
    let runtime = match builder.enable_all().thread_name("dnc-relay").build() {
        Ok(rt) => rt,
        Err(e) => {
            tell!("dnc-relay: cannot start the runtime: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    let reload = || {
        cli.load_config(Overrides {
            listen: args.listen.clone(),
            upstream: args.upstream.clone(),
            data_dir: None,
        })
    };
    runtime.block_on(serve(config, reload))
}

async fn serve(config: Config, reload: impl Fn() -> Result<Config, u8>) -> u8 {
    // Signal handlers first, so a SIGTERM during start is not lost.
    let (mut term, mut int, mut hup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(t), Ok(i), Ok(h)) => (t, i, h),
        _ => {
            tell!("dnc-relay: cannot install signal handlers");
            return EXIT_NEGATIVE;
        }
    };
    let mut server = match Server::start(config, Hooks::default()).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            tell!("dnc-relay: {e}");
            return u8::try_from(e.exit_code()).unwrap_or(EXIT_NEGATIVE);
        }
    };
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let which = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = hup.recv() => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
                // An unusable new config is refused and logged; the running one stays.
                match reload().map(|c| server.reload(c)) {
                    Ok(Ok(ignored)) if ignored.is_empty() => tracing::info!("config reloaded"),
                    Ok(Ok(ignored)) => tracing::warn!(
                        keys = ?ignored,
                        "config reloaded; these keys changed but need a restart"
                    ),
                    Ok(Err(e)) => tracing::error!(error = %e, "config reload refused; the running config stays"),
                    Err(_) => tracing::error!("config reload refused (see the errors above); the running config stays"),
                }
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            }
        }
    };
    tracing::info!(signal = which, "shutting down");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    match server.shutdown().await {
        Ok(()) => EXIT_OK,
        Err(e) => {
            tracing::error!(error = %e, "the store did not close cleanly");
            EXIT_UNREACHABLE
        }
    }
}

/// Validates the config and prints what it resolves to; binds and opens nothing.
pub fn check_config(cli: &Cli) -> u8 {
    let config = match cli.load_config(Overrides::default()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let origin = cli
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "shipped config".into());
    if let Err(e) = crate::feedback::Classifier::from_config(&config) {
        tell!("dnc-relay: {origin}: feedback.rules: {e}");
        return EXIT_USAGE;
    }
    if let Some(cluster) = &config.cluster {
        // The password file and the CA file are read now, as the relay would at start.
        if let Err(e) = crate::cluster::Db::new(cluster) {
            tell!("dnc-relay: {origin}: cluster: {e}");
            return EXIT_USAGE;
        }
    }
    if let Err(e) = crate::alerts::webhook(&config) {
        tell!("dnc-relay: {origin}: {e}");
        return EXIT_USAGE;
    }
    if let Some(r) = &config.replica {
        // The token file is read now, as the relay would at start.
        if let Err(e) = crate::token::read_secret("replica.token_file", &r.token_file) {
            tell!("dnc-relay: {origin}: {e}");
            return EXIT_USAGE;
        }
    }
    say!("{origin}: OK");
    print_summary(&config);
    EXIT_OK
}

/// What `check-config` found: where everything is, and what is on.
fn print_summary(config: &crate::config::Config) {
    let listen = joined(&config.server.listen);
    say!("  listen      {}", listen);
    say!("  upstream    {}", config.upstream_url());
    say!("  store       {}", config.store_path().display());
    say!("  socket      {}", config.socket_path().display());
    say!("  decisions   {}", config.decisions_path().display());
    let rules = config.feedback.rules.as_ref();
    let rules = rules.map_or("built in (config/feedback-rules.toml)".into(), |p| {
        p.display().to_string()
    });
    say!("  feedback    rules {rules}");
    if let Some(base) = &config.unsubscribe.base_url {
        let listen = joined(&config.unsubscribe.listen);
        say!(
            "  unsubscribe {base}/u/TOKEN, listen {}, key {}",
            if listen.is_empty() { "none" } else { &listen },
            config.token_key_path().display()
        );
    }
    if !config.unsubscribe.listen.is_empty() {
        let listen = joined(&config.unsubscribe.listen);
        say!(
            "  feed        {}{}/feed (for subscribers of `dnc-relay feed add`)",
            if config.unsubscribe.tls { "https " } else { "" },
            listen
        );
    }
    if let Some(r) = &config.replica {
        say!(
            "  replica     follows {} (token {}, max_lag {})",
            r.feed,
            r.token_file.display(),
            humantime::format_duration(r.max_lag)
        );
    }
    let n = &config.notify;
    if !n.ops.is_empty() || !n.approvers.is_empty() {
        say!(
            "  notify      ops {}; approvers {}; digest {}s",
            n.ops.join(", "),
            n.approvers.join(", "),
            n.digest.as_secs()
        );
    }
    if !config.feedback.listen.is_empty() {
        let listen = joined(&config.feedback.listen);
        say!(
            "  feedback    listen {} for {}",
            listen,
            config.feedback.domains.join(", ")
        );
    }
    if !config.http.listen.is_empty() {
        let listen = joined(&config.http.listen);
        say!(
            "  http        {}{} (/metrics, /healthz, console: {} users)",
            if config.http.tls { "https " } else { "" },
            listen,
            config.console.users.len()
        );
    }
    let a = &config.alerts;
    say!(
        "  alerts      webhook {}; email {}",
        if a.webhook.is_some() { "set" } else { "none" },
        if a.email.is_empty() {
            "none".to_string()
        } else {
            a.email.join(", ")
        }
    );
}

/// Addresses, comma-separated.
fn joined(addrs: &[std::net::SocketAddr]) -> String {
    let shown: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    shown.join(", ")
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour only for a person at a terminal: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
