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
    /// `cluster.max_lag` of the relays started.
    max_lag: Duration,
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
            max_lag: Duration::from_secs(2),
        })
    }

    fn dir(&self, node: &str) -> PathBuf {
        self.root.path().join(node)
    }

    /// Writes `node`'s config (capture upstream, `[cluster]`, plus `extra`) and starts it.
    fn start(&self, node: &str, extra: &str) -> Relay {
        self.start_as(node, node, extra)
    }

    /// [`Fleet::start`] in directory `name` with node name `node`.
    fn start_as(&self, name: &str, node: &str, extra: &str) -> Relay {
        let dir = self.dir(name);
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
max_lag = "{max_lag}ms"

{extra}
"#,
                data = data.display(),
                captured = dir.join("captured").display(),
                url = self.pg.url(&self.db),
                max_lag = self.max_lag.as_millis(),
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

/// The kinds of the events in `target`'s history as `node` holds it.
fn history_kinds(fleet: &Fleet, node: &str, target: &str) -> Vec<String> {
    let out = fleet.cli(node, &["audit", "contact", target, "--json"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut kinds = Vec::new();
    collect_kinds(&report, &mut kinds);
    kinds
}

fn collect_kinds(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            if let (Some(kind), Some(_)) = (map.get("kind"), map.get("id")) {
                if let Some(k) = kind.as_str() {
                    out.push(k.to_string());
                }
            }
            map.values().for_each(|v| collect_kinds(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_kinds(v, out)),
        _ => {}
    }
}

#[test]
fn a_relay_killed_with_kill_9_catches_up_when_restarted() {
    let Some(fleet) = Fleet::new() else { return };
    let a = fleet.start("a", "");
    let b = fleet.start("b", "");
    wait_current(&a, Duration::from_secs(20));
    wait_current(&b, Duration::from_secs(20));
    suppress(&fleet, "a", "before@prospect.example");
    wait_reply(
        &b,
        "before@prospect.example",
        "550 5.7.1",
        Duration::from_secs(5),
    );
    b.kill9();
    let targets: Vec<String> = (0..5)
        .map(|i| format!("while{i}@prospect.example"))
        .collect();
    for t in &targets {
        suppress(&fleet, "a", t);
    }
    let b = fleet.start("b", "");
    wait_current(&b, Duration::from_secs(20));
    for t in &targets {
        assert!(
            Smtp::rcpt_reply(b.addr, t).starts_with("550 5.7.1"),
            "{t} added while b was down is refused by b once it is current"
        );
    }
    // Its history has each add once, as a's has.
    assert!(history_kinds(&fleet, "b", "while3@prospect.example").contains(&"suppressed".into()));
    assert_eq!(
        history_kinds(&fleet, "b", "while3@prospect.example"),
        history_kinds(&fleet, "a", "while3@prospect.example")
    );
    drop(a);
}

#[test]
fn with_postgres_down_adds_still_block_lifts_are_refused_and_the_outbox_arrives_once() {
    let Some(mut fleet) = Fleet::new() else {
        return;
    };
    // Long enough for the checks below to run before the relays stop deciding.
    fleet.max_lag = Duration::from_secs(5);
    let units =
        "[[sender_groups]]\nname = \"acme\"\nunit = \"acme\"\nsenders = [\"@acme.example\"]\n";
    let a = fleet.start("a", units);
    let b = fleet.start("b", units);
    wait_current(&a, Duration::from_secs(20));
    wait_current(&b, Duration::from_secs(20));
    suppress(&fleet, "a", "old@prospect.example");
    wait_reply(
        &b,
        "old@prospect.example",
        "550 5.7.1",
        Duration::from_secs(5),
    );
    // Listed for one unit only: other senders may mail it.
    let scoped = "scoped@prospect.example";
    let out = fleet.cli(
        "a",
        &[
            "suppress",
            "add",
            scoped,
            "--reason",
            "unsubscribe",
            "--scope",
            "acme",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(Smtp::rcpt_reply(a.addr, scoped).starts_with("250"));

    fleet.pg.stop();
    // An add is in force on this relay at once, even without the database.
    let said = suppress(&fleet, "a", "during@prospect.example");
    assert!(said.contains("on this relay now"), "{said}");
    assert!(Smtp::rcpt_reply(a.addr, "during@prospect.example").starts_with("550 5.7.1"));
    // Widened to every unit during the outage: the wider scope binds at once, though the
    // list still holds the narrow entry.
    suppress(&fleet, "a", scoped);
    let reply = Smtp::rcpt_reply(a.addr, scoped);
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    // A lift needs the fleet: refused, in words.
    let out = fleet.cli(
        "a",
        &[
            "lift",
            "request",
            "old@prospect.example",
            "--proof",
            "she wrote back",
        ],
    );
    assert!(!out.status.success());
    let said = text(&out.stderr) + &text(&out.stdout);
    assert!(
        said.contains("PostgreSQL") && said.contains("unreachable"),
        "{said}"
    );
    // Past max_lag neither relay can prove it is current: new recipients get 451.
    std::thread::sleep(fleet.max_lag + Duration::from_millis(500));
    for relay in [&a, &b] {
        let reply = Smtp::rcpt_reply(relay.addr, "anyone@fresh.example");
        assert!(reply.starts_with("451 4.3.0"), "{reply}");
    }
    // `check` answers from the replica, and says it may be out of date.
    let out = fleet.cli("a", &["check", "anyone@fresh.example"]);
    assert!(
        text(&out.stderr).contains("may be out of date"),
        "{}",
        text(&out.stderr)
    );
    // cluster status cannot reach the database: exit 3.
    assert_eq!(
        fleet.cli("a", &["cluster", "status"]).status.code(),
        Some(3)
    );

    fleet.pg.resume();
    wait_current(&a, Duration::from_secs(20));
    wait_current(&b, Duration::from_secs(20));
    wait_reply(
        &b,
        "during@prospect.example",
        "550 5.7.1",
        Duration::from_secs(5),
    );
    wait_reply(&b, scoped, "550 5.7.1", Duration::from_secs(5));
    // Exactly once: one push recorded per add, one add in the history, on both relays.
    assert_eq!(
        fleet.pg.psql(&fleet.db, "SELECT count(*) FROM dnc_ops"),
        "2"
    );
    for node in ["a", "b"] {
        let kinds = history_kinds(&fleet, node, "during@prospect.example");
        assert_eq!(
            kinds
                .iter()
                .filter(|k| *k == "suppressed" || *k == "readded")
                .count(),
            1,
            "{node}: {kinds:?}"
        );
    }
    let status = wait_status(&fleet, |s| {
        s["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["current"] == true && n["queued"] == 0 && n["behind"] == 0)
    });
    assert_eq!(status["nodes"].as_array().unwrap().len(), 2);
}

#[test]
fn two_relays_racing_for_the_same_contacts_each_have_exactly_one_winner() {
    let Some(fleet) = Fleet::new() else { return };
    let owners = r#"
[locks]
contact = "block"
account = "off"

[[owners]]
name = "alice"
senders = ["alice@sales.example"]

[[owners]]
name = "bob"
senders = ["bob@sales.example"]
"#;
    let a = fleet.start("a", owners);
    let b = fleet.start("b", owners);
    wait_current(&a, Duration::from_secs(20));
    wait_current(&b, Duration::from_secs(20));
    let contacts: Vec<String> = (0..20).map(|i| format!("race{i}@target.example")).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let race = |addr: std::net::SocketAddr, from: &'static str| {
        let contacts = contacts.clone();
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            contacts
                .iter()
                .map(|c| {
                    let mut s = Smtp::connect(addr);
                    s.cmd("EHLO t\r\n");
                    s.cmd(&format!("MAIL FROM:<{from}>\r\n"));
                    barrier.wait();
                    let reply = s.cmd(&format!("RCPT TO:<{c}>\r\n"));
                    s.cmd("QUIT\r\n");
                    reply
                })
                .collect::<Vec<String>>()
        })
    };
    let alice = race(a.addr, "alice@sales.example");
    let bob = race(b.addr, "bob@sales.example");
    let (alice, bob) = (alice.join().unwrap(), bob.join().unwrap());
    for (i, (ra, rb)) in alice.iter().zip(&bob).enumerate() {
        let wins = [ra, rb].iter().filter(|r| r.starts_with("250")).count();
        assert_eq!(wins, 1, "contact {i}: alice got {ra}, bob got {rb}");
        for r in [ra, rb] {
            assert!(r.starts_with("250") || r.starts_with("550 5.7.1"), "{r}");
        }
    }
}

/// Entries imported before the new relay joins: `DNC_RELAY_FLEET_ENTRIES`, 1,000,000 by default
/// (the issue's size).
fn join_entries() -> usize {
    std::env::var("DNC_RELAY_FLEET_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

#[test]
fn a_new_relay_joins_a_database_with_many_entries_and_serves_only_once_current() {
    let Some(fleet) = Fleet::new() else { return };
    let a = fleet.start("a", "");
    wait_current(&a, Duration::from_secs(20));
    let n = join_entries();
    let csv = fleet.root.path().join("list.csv");
    let mut body = String::with_capacity(n * 32);
    body.push_str("email\n");
    for i in 0..n {
        body.push_str(&format!("lead{i}@list{}.example\n", i % 997));
    }
    std::fs::write(&csv, body).unwrap();
    let started = Instant::now();
    let out = fleet.cli(
        "a",
        &["import", csv.to_str().unwrap(), "--reason", "unsubscribe"],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!(
        "imported {n} entries through the fleet in {:?}",
        started.elapsed()
    );
    let last = format!("lead{}@list{}.example", n - 1, (n - 1) % 997);
    wait_reply(&a, &last, "550 5.7.1", Duration::from_secs(10));

    // A new relay: 451 until it holds the whole log, then the list in force.
    let started = Instant::now();
    let c = fleet.start("c", "");
    let first = Smtp::rcpt_reply(c.addr, &last);
    assert!(
        first.starts_with("451 4.3.0"),
        "before it is current: {first}"
    );
    wait_current(&c, Duration::from_secs(600));
    eprintln!(
        "a new relay caught up with {n} entries in {:?}",
        started.elapsed()
    );
    for i in [0, n / 2, n - 1] {
        let t = format!("lead{i}@list{}.example", i % 997);
        assert!(Smtp::rcpt_reply(c.addr, &t).starts_with("550 5.7.1"), "{t}");
    }
}

#[test]
fn a_lift_requested_on_one_relay_and_approved_on_another_lets_mail_through_on_every_relay() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: needs root to run the CLI as a second user (the manager)");
        return;
    }
    let Some(fleet) = Fleet::new() else { return };
    let roles = "[admin.roles]\n\"4243\" = \"manager\"\n";
    let relays: Vec<Relay> = ["a", "b", "c"]
        .iter()
        .map(|n| fleet.start(n, roles))
        .collect();
    for relay in &relays {
        wait_current(relay, Duration::from_secs(20));
    }
    let target = "back@prospect.example";
    suppress(&fleet, "a", target);
    wait_reply(&relays[2], target, "550 5.7.1", Duration::from_secs(5));
    // The manager asks on a (through a's socket, as uid 4243).
    use std::os::unix::fs::PermissionsExt;
    let data = fleet.dir("a").join("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(common::binary())
            .arg("--socket")
            .arg(data.join("admin.sock"))
            .args([
                "lift",
                "request",
                target,
                "--proof",
                "she wrote back on 2026-11-30",
            ])
            .env_remove("DNC_RELAY_CONFIG")
            .env_remove("DNC_RELAY_SOCKET")
            .uid(4243)
            .gid(0)
            .output()
            .unwrap()
    };
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let said = text(&out.stdout);
    let id = said
        .split('#')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no lift id in {said}"))
        .to_string();
    // The block stays in force everywhere while the request waits.
    assert!(Smtp::rcpt_reply(relays[2].addr, target).starts_with("550 5.7.1"));
    // Approved on b by someone else (root is admin): mail passes on c within a second.
    let out = fleet.cli("b", &["lift", "approve", &id]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let took = wait_reply(&relays[2], target, "250", Duration::from_secs(5));
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(Smtp::rcpt_reply(relays[0].addr, target).starts_with("250"));
    let kinds = history_kinds(&fleet, "c", target);
    for kind in ["suppressed", "lift-requested", "lift-approved"] {
        assert!(kinds.contains(&kind.to_string()), "{kinds:?}");
    }
}

/// Runs `serve --config` expecting it to refuse to start: its exit code and stderr.
fn refused_start(config: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env_remove("DNC_RELAY_CONFIG")
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_single_relays_store_does_not_join_a_fleet_and_a_replica_does_not_run_alone() {
    let Some(fleet) = Fleet::new() else { return };
    // A single relay with a list of its own.
    let single = fleet.dir("a").join("data");
    std::fs::create_dir_all(&single).unwrap();
    let relay = Relay::start(&single);
    let out = relay.cli(&[
        "suppress",
        "add",
        "x@prospect.example",
        "--reason",
        "unsubscribe",
    ]);
    assert!(out.status.success());
    relay.sigterm();
    // The same data directory with [cluster]: refused, with what to do instead.
    std::fs::write(
        fleet.dir("a").join("relay.toml"),
        format!(
            "data_dir = {:?}\n[cluster]\npostgres = {:?}\nnode = \"a\"\n",
            single,
            fleet.pg.url(&fleet.db)
        ),
    )
    .unwrap();
    let (code, err) = refused_start(&fleet.dir("a").join("relay.toml"));
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("single relay's list") && err.contains("export"),
        "{err}"
    );
    // A fleet replica started without [cluster]: refused too.
    let b = fleet.start("b", "");
    wait_current(&b, Duration::from_secs(20));
    b.sigterm();
    let alone = fleet.dir("b").join("alone.toml");
    std::fs::write(
        &alone,
        format!("data_dir = {:?}\n", fleet.dir("b").join("data")),
    )
    .unwrap();
    let (code, err) = refused_start(&alone);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("replica of a fleet's log"), "{err}");
}

#[test]
fn a_replica_pointed_at_another_fleets_database_never_decides() {
    let Some(fleet) = Fleet::new() else { return };
    let a = fleet.start("a", "");
    wait_current(&a, Duration::from_secs(20));
    suppress(&fleet, "a", "kept@prospect.example");
    a.sigterm();
    // Another database, another log: the same data directory must not follow it.
    fleet.pg.create_db("other");
    let config = fleet.dir("a").join("relay.toml");
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_before.replace(&fleet.pg.url(&fleet.db), &fleet.pg.url("other")),
    )
    .unwrap();
    let a = Relay::start_with_config(&config, &fleet.dir("a").join("data"));
    std::thread::sleep(Duration::from_secs(3));
    let reply = Smtp::rcpt_reply(a.addr, "anyone@fresh.example");
    assert!(reply.starts_with("451 4.3.0"), "{reply}");
    let (status, log) = a.sigterm_with_log();
    assert!(status.success());
    assert!(log.contains("another fleet's log"), "{log}");
}

/// The attempts in `address`'s timeline as `node`'s `audit contact --json` shows them.
fn audited_attempts(fleet: &Fleet, node: &str, address: &str) -> Vec<serde_json::Value> {
    let out = fleet.cli(node, &["audit", "contact", address, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
    report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item.get("attempt").cloned())
        .collect()
}

#[test]
fn audits_on_any_relay_see_the_mail_of_every_relay() {
    let Some(fleet) = Fleet::new() else { return };
    let relays: Vec<Relay> = ["a", "b", "c"].iter().map(|n| fleet.start(n, "")).collect();
    for relay in &relays {
        wait_current(relay, Duration::from_secs(20));
    }
    let contact = "pat@northwind.example";
    // Relayed through a.
    let mut s = Smtp::connect(relays[0].addr);
    s.cmd("EHLO t\r\n");
    s.cmd("MAIL FROM:<rep@sales.example>\r\n");
    assert!(s
        .cmd(&format!("RCPT TO:<{contact}>\r\n"))
        .starts_with("250"));
    assert!(s.cmd("DATA\r\n").starts_with("354"));
    assert!(s
        .cmd("Subject: hello\r\n\r\nHi Pat.\r\n.\r\n")
        .starts_with("250"));
    s.cmd("QUIT\r\n");
    // Pat opts out (on b); the next attempt, through b, is refused.
    suppress(&fleet, "b", contact);
    wait_reply(&relays[1], contact, "550 5.7.1", Duration::from_secs(5));
    // Within a few seconds c's audit holds both: the relayed one from a, the refusal on b.
    let started = Instant::now();
    loop {
        let attempts = audited_attempts(&fleet, "c", contact);
        let text = serde_json::to_string(&attempts).unwrap();
        if text.contains("relayed") && text.contains("refused") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "c's audit of {contact}: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // And PostgreSQL holds every relay's send records.
    let nodes = fleet.pg.psql(
        &fleet.db,
        "SELECT string_agg(DISTINCT node, ',' ORDER BY node) FROM dnc_attempts",
    );
    assert!(nodes.contains('a') && nodes.contains('b'), "{nodes}");
}

/// Mails in the capture directories of every relay of the fleet that mention `needle`.
fn captured_mentioning(fleet: &Fleet, nodes: &[&str], needle: &str) -> usize {
    nodes
        .iter()
        .flat_map(|n| {
            std::fs::read_dir(fleet.dir(n).join("captured"))
                .into_iter()
                .flatten()
        })
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path())
                .map(|t| t.contains(needle))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn a_lift_request_is_told_to_the_approvers_once_not_once_per_relay() {
    let Some(fleet) = Fleet::new() else { return };
    let notify = "[notify]\napprovers = [\"compliance@acme.example\"]\ndigest = \"1s\"\n";
    let nodes = ["a", "b", "c"];
    let relays: Vec<Relay> = nodes.iter().map(|n| fleet.start(n, notify)).collect();
    for relay in &relays {
        wait_current(relay, Duration::from_secs(20));
    }
    let target = "again@prospect.example";
    suppress(&fleet, "a", target);
    let out = fleet.cli(
        "b",
        &[
            "lift",
            "request",
            target,
            "--proof",
            "she asked for the brochure",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let started = Instant::now();
    while captured_mentioning(&fleet, &nodes, "compliance@acme.example") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no relay told the approvers"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every relay has read the request by now (a second of polling, several times over).
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        captured_mentioning(&fleet, &nodes, "compliance@acme.example"),
        1,
        "the approvers are told once by the fleet"
    );
}

#[test]
fn a_replica_ahead_of_a_restored_database_stops_deciding_instead_of_skipping_entries() {
    let Some(fleet) = Fleet::new() else { return };
    let a = fleet.start("a", "");
    wait_current(&a, Duration::from_secs(20));
    suppress(&fleet, "a", "before@prospect.example");
    suppress(&fleet, "a", "after-backup@prospect.example");
    a.sigterm();
    // The database goes back to a backup taken before the last add ...
    fleet.pg.psql(
        &fleet.db,
        "DELETE FROM dnc_log WHERE seq = (SELECT seq FROM dnc_head); \
         UPDATE dnc_head SET seq = seq - 1",
    );
    // ... and another relay writes since, under the same entry number.
    let b = fleet.start("b", "");
    wait_current(&b, Duration::from_secs(20));
    suppress(&fleet, "b", "diverging@prospect.example");
    // a must not skip b's entry (it has one with that number): it stops deciding.
    let a = fleet.start("a", "");
    std::thread::sleep(Duration::from_secs(3));
    for rcpt in ["diverging@prospect.example", "anyone@fresh.example"] {
        let reply = Smtp::rcpt_reply(a.addr, rcpt);
        assert!(reply.starts_with("451 4.3.0"), "{rcpt}: {reply}");
    }
    // An add is still taken (kept locally, for when the relay is rebuilt: export it), and
    // nothing is written to that log.
    let said = suppress(&fleet, "a", "x@prospect.example");
    assert!(said.contains("on this relay now"), "{said}");
    let lift = fleet.cli(
        "a",
        &["lift", "request", "before@prospect.example", "--proof", "p"],
    );
    assert!(!lift.status.success());
    assert!(
        text(&lift.stderr).contains("disagree"),
        "{}",
        text(&lift.stderr)
    );
    let (_, log) = a.sigterm_with_log();
    assert!(log.contains("restored from an older backup"), "{log}");
}

#[test]
fn an_add_on_another_relay_stops_a_transaction_already_open_here() {
    let Some(fleet) = Fleet::new() else { return };
    let a = fleet.start("a", "");
    let b = fleet.start("b", "");
    wait_current(&a, Duration::from_secs(20));
    wait_current(&b, Duration::from_secs(20));
    let contact = "open@prospect.example";
    let mut s = Smtp::connect(b.addr);
    s.cmd("EHLO t\r\n");
    s.cmd("MAIL FROM:<rep@sales.example>\r\n");
    assert!(s
        .cmd(&format!("RCPT TO:<{contact}>\r\n"))
        .starts_with("250"));
    // The contact opts out on a while the message is being written on b.
    suppress(&fleet, "a", contact);
    wait_reply(&b, contact, "550 5.7.1", Duration::from_secs(5));
    assert!(s.cmd("DATA\r\n").starts_with("354"));
    let reply = s.cmd("Subject: hi\r\n\r\nHello.\r\n.\r\n");
    assert!(reply.starts_with("451 4.7.1"), "{reply}");
    let captured = std::fs::read_dir(fleet.dir("b").join("captured"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(captured, 0, "nothing reached the upstream");
}

#[test]
fn two_relays_given_the_same_node_name_are_reported() {
    let Some(fleet) = Fleet::new() else { return };
    let a = fleet.start_as("a", "twin", "");
    let b = fleet.start_as("b", "twin", "");
    wait_current(&a, Duration::from_secs(20));
    wait_current(&b, Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(4));
    let (_, log_a) = a.sigterm_with_log();
    let (_, log_b) = b.sigterm_with_log();
    assert!(
        log_a.contains("ANOTHER RELAY REPORTS AS THIS NODE")
            || log_b.contains("ANOTHER RELAY REPORTS AS THIS NODE"),
        "{log_a}\n{log_b}"
    );
    // A restart under the same name is not a twin.
    let a = fleet.start_as("a", "twin", "");
    wait_current(&a, Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(3));
    let (_, log) = a.sigterm_with_log();
    assert!(!log.contains("ANOTHER RELAY REPORTS AS THIS NODE"), "{log}");
}
