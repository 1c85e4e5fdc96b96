//! A fleet of relays on one PostgreSQL: the built binary as child processes, a private
//! PostgreSQL started for each test (see `common::postgres`), real SMTP on loopback.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::process::{text, Relay, Smtp};

/// One test's fleet: its database and the relays' directories.
struct Fleet {
    pg: Postgres,
    db: String,
    root: tempfile::TempDir,
}

impl Fleet {
    /// A private PostgreSQL with a database of its own, or `None` (skipped) without one.
    fn new() -> Option<Fleet> {
        let pg = Postgres::start()?;
        let db = "fleet".to_string();
        pg.create_db(&db);
        Some(Fleet {
            pg,
            db,
            root: tempfile::tempdir().unwrap(),
        })
    }

    fn dir(&self, node: &str) -> PathBuf {
        self.root.path().join(node)
    }

    /// Writes `node`'s config (capture upstream, `[cluster]`, plus `extra`) and starts it.
    fn start(&self, node: &str, extra: &str) -> Relay {
        let dir = self.dir(node);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("relay.toml");
        let data = dir.join("data");
        std::fs::write(
            &config,
            format!(
                r#"data_dir = "{data}"

[upstream]
url = "capture:{captured}"

[cluster]
postgres = "{url}"
node = "{node}"
max_lag = "2s"

{extra}
"#,
                data = data.display(),
                captured = dir.join("captured").display(),
                url = self.pg.url(&self.db),
            ),
        )
        .unwrap();
        Relay::start_with_config(&config, &data)
    }

    /// `dnc-relay --config <node's> ARGS`.
    fn cli(&self, node: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new(common::binary())
            .arg("--config")
            .arg(self.dir(node).join("relay.toml"))
            .args(args)
            .env_remove("DNC_RELAY_SOCKET")
            .env_remove("DNC_RELAY_CONFIG")
            .output()
            .unwrap()
    }
}

/// Waits (bounded) until the relay decides recipients: current with the fleet.
fn wait_current(relay: &Relay, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let reply = Smtp::rcpt_reply(relay.addr, "probe@fresh.example");
        if reply.starts_with("250") {
            return started.elapsed();
        }
        assert!(
            reply.starts_with("451 4.3.0"),
            "while catching up, recipients get 451 4.3.0, not {reply}"
        );
        assert!(
            started.elapsed() < within,
            "the relay did not become current within {within:?}: {reply}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) until a RCPT to `rcpt` is answered with `prefix`; how long it took.
fn wait_reply(relay: &Relay, rcpt: &str, prefix: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let reply = Smtp::rcpt_reply(relay.addr, rcpt);
        if reply.starts_with(prefix) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{rcpt} still answered {reply} after {within:?}, expected {prefix}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn suppress(fleet: &Fleet, node: &str, target: &str) -> String {
    let out = fleet.cli(
        node,
        &[
            "suppress",
            "add",
            target,
            "--reason",
            "unsubscribe",
            "--evidence",
            "asked to stop",
        ],
    );
    assert!(
        out.status.success(),
        "suppress add failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn an_add_on_one_relay_is_refused_on_the_two_others_within_a_second() {
    let Some(fleet) = Fleet::new() else { return };
    let relays: Vec<Relay> = ["a", "b", "c"].iter().map(|n| fleet.start(n, "")).collect();
    for relay in &relays {
        wait_current(relay, Duration::from_secs(20));
    }
    for (i, target) in ["stop1@prospect.example", "stop2@prospect.example"]
        .iter()
        .enumerate()
    {
        suppress(&fleet, "a", target);
        // The add returned once committed in PostgreSQL and applied on a: refused there now.
        assert!(Smtp::rcpt_reply(relays[0].addr, target).starts_with("550 5.7.1"));
        for relay in &relays[1..] {
            let took = wait_reply(relay, target, "550 5.7.1", Duration::from_secs(5));
            assert!(
                took < Duration::from_secs(1),
                "add {i} reached a relay after {took:?}, not within a second"
            );
        }
    }
    // Everyone holds the same history: the add's event on another relay.
    let out = fleet.cli(
        "b",
        &["suppress", "show", "stop1@prospect.example", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("asked to stop"));
    // cluster status lists the three nodes, current, at the head.
    let status = wait_status(&fleet, |s| {
        let nodes = s["nodes"].as_array().unwrap();
        nodes.len() == 3
            && nodes
                .iter()
                .all(|n| n["current"] == true && n["behind"] == 0)
    });
    assert_eq!(status["head"], status["nodes"][0]["applied"]);
    assert!(status["head"].as_u64().unwrap() >= 2, "{status}");
}

/// `cluster status --json`, polled (bounded) until `ok` holds of it.
fn wait_status(fleet: &Fleet, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let out = fleet.cli("a", &["cluster", "status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
        if ok(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
