//! Fleet benchmark: three relays on one PostgreSQL (a private one started here, as the tests
//! do, unless `--postgres URL` names one). Measures, in one run:
//!
//! - propagation: adds committed on relay a (the moment the admin call would return) until
//!   they are applied (and so enforced at RCPT) on relays b and c, p50 and p99, at each rate;
//! - catch-up: a new relay joining a log of `--entries` entries, from start to current.
//!
//!     cargo run --release --example fleet -- --rates 100,1000 --seconds 10 --entries 1000000

#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::time::{Duration, Instant};

use clap::Parser;
use dnc_relay::address::Target;
use dnc_relay::config::{ClusterConfig, Config};
use dnc_relay::model::{Actor, Reason, Source, Units};
use dnc_relay::server::{Hooks, Server};
use dnc_relay::store::{AddOutcome, NewEntry};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Three relays on one PostgreSQL: propagation of adds, and catch-up")]
struct Args {
    /// Use this database instead of starting a private PostgreSQL.
    #[arg(long)]
    postgres: Option<String>,
    /// Add rates to measure, adds per second.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    rates: Vec<u64>,
    /// Seconds at each rate.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Entries in the log before a new relay joins (0: skip the catch-up measurement).
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

fn config(root: &std::path::Path, node: &str, url: &str) -> Config {
    let mut config = Config {
        data_dir: root.join(node),
        ..Config::default()
    };
    config.server.listen = vec!["127.0.0.1:0".parse().expect("addr")];
    config.upstream.url = "capture:outbox".parse().expect("url");
    config.log.level = "warn".into();
    config.cluster = Some(ClusterConfig {
        postgres: url.into(),
        node: node.into(),
        ..ClusterConfig::default()
    });
    config
}

async fn start(root: &std::path::Path, node: &str, url: &str) -> Server {
    Server::start(config(root, node, url), Hooks::default())
        .await
        .expect("relay starts")
}

async fn wait_current(server: &Server) -> Duration {
    let started = Instant::now();
    let cluster = server.cluster().expect("a fleet relay");
    while cluster.gate.check().is_err() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

fn entry(i: u64, tag: &str) -> NewEntry {
    NewEntry {
        target: Target::parse(&format!("{tag}{i}@fleet.example")).expect("target"),
        reason: Reason::Unsubscribe,
        source: Source::Admin,
        evidence: String::new(),
        units: Units::all(),
    }
}

async fn run(args: Args) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .try_init();
    let pg = match &args.postgres {
        Some(_) => None,
        None => {
            let pg = postgres::Postgres::start().expect("PostgreSQL installed");
            pg.create_db("fleet");
            Some(pg)
        }
    };
    let url = args
        .postgres
        .clone()
        .unwrap_or_else(|| pg.as_ref().map(|p| p.url("fleet")).unwrap_or_default());
    let root = tempfile::tempdir().expect("tempdir");
    let a = start(root.path(), "a", &url).await;
    let b = start(root.path(), "b", &url).await;
    let c = start(root.path(), "c", &url).await;
    for s in [&a, &b, &c] {
        wait_current(s).await;
    }
    println!("three relays current on {url}");
    for rate in &args.rates {
        propagation(&a, &[&b, &c], *rate, args.seconds).await;
    }
    if args.entries > 0 {
        catch_up(root.path(), &url, &a, args.entries).await;
        if let Some(pg) = &pg {
            let sizes = pg.psql(
                "fleet",
                "SELECT pg_size_pretty(pg_database_size('fleet')) || ' in all; log ' || \
                 pg_size_pretty(pg_total_relation_size('dnc_log')) || ', state ' || \
                 pg_size_pretty(pg_total_relation_size('dnc_state'))",
            );
            println!("PostgreSQL: {sizes}");
        }
    }
    for s in [a, b, c] {
        s.shutdown().await.expect("shutdown");
    }
}

/// Adds at `rate` per second on `a` (open loop: each add on its schedule, not after the
/// previous answer); for each, the time from its commit until every other relay applied it.
async fn propagation(a: &Server, others: &[&Server], rate: u64, seconds: u64) {
    let total = rate * seconds;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let started = Instant::now();
    let tag = format!("r{rate}x");
    for i in 0..total {
        let at = started + Duration::from_secs_f64(i as f64 / rate as f64);
        let store = a.store().clone();
        let tx = tx.clone();
        let e = entry(i, &tag);
        tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            match store.add(e, Actor::system()).await {
                Ok(AddOutcome::Added(entry)) => {
                    let _ = tx.send((entry.event_id, Instant::now()));
                }
                other => eprintln!("add failed: {other:?}"),
            }
        });
    }
    drop(tx);
    let mut pending: Vec<(u64, Instant)> = Vec::new();
    let mut latencies = Vec::with_capacity(total as usize);
    let mut open = true;
    while open || !pending.is_empty() {
        while let Ok(item) = rx.try_recv() {
            pending.push(item);
        }
        if rx.is_closed() && rx.is_empty() {
            open = false;
        }
        let applied = others
            .iter()
            .map(|s| s.store().applied())
            .min()
            .unwrap_or(0);
        let now = Instant::now();
        pending.retain(|(seq, committed)| {
            if *seq <= applied {
                latencies.push(now.saturating_duration_since(*committed));
                false
            } else {
                true
            }
        });
        tokio::time::sleep(Duration::from_micros(200)).await;
        if started.elapsed() > Duration::from_secs(seconds * 3 + 30) {
            eprintln!("gave up waiting for {} adds", pending.len());
            break;
        }
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "propagation at {rate} adds/s ({} adds over {seconds}s): commit on a -> applied on every other relay: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// Fills the log to `entries` through relay a, then times a new relay from start to current.
async fn catch_up(root: &std::path::Path, url: &str, a: &Server, entries: u64) {
    let store = a.store();
    let started = Instant::now();
    let mut n = 0;
    while n < entries {
        let end = (n + 50_000).min(entries);
        let batch: Vec<NewEntry> = (n..end).map(|i| entry(i, "bulk")).collect();
        store
            .add_many(batch, Actor::system())
            .await
            .expect("add_many");
        n = end;
    }
    println!(
        "filled the log with {entries} entries through relay a in {:.1}s ({:.0} entries/s, log head {})",
        started.elapsed().as_secs_f64(),
        entries as f64 / started.elapsed().as_secs_f64(),
        store.applied()
    );
    let started = Instant::now();
    let d = start(root, "d", url).await;
    let took = wait_current(&d).await;
    println!(
        "a new relay {} entries behind: current {:.1}s after it started ({:.0} entries/s); RCPTs got 451 4.3.0 until then",
        store.applied(),
        started.elapsed().as_secs_f64().max(took.as_secs_f64()),
        store.applied() as f64 / started.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(root.join("d").join("dnc.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("its store: {:.0} MiB", size as f64 / (1 << 20) as f64);
    d.shutdown().await.expect("shutdown");
}
