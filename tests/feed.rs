//! The hashed feed for subcontractors, through two built binaries: the company's relay serves
//! `GET /feed` to a token it gave; a subcontractor's relay follows it (`[replica] feed`) and
//! refuses, on its own wire and within seconds, a recipient added on the company's relay;
//! `scrub --hashed` cleans its call list (a phone number too); every byte the feed sent
//! (recorded by a proxy between the two) holds the salted hashes and no address, domain,
//! number or name; a revoked token makes the follower fail closed (451) once its copy is
//! older than `max_lag`. Both sides see the lag (`feed list`, `feed status`).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{free_port, text, Relay, Smtp};

fn run(relay: &Relay, args: &[&str]) -> (i32, String, String) {
    let out = relay.cli(args);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn rcpt(relay: &Relay, to: &str) -> String {
    rcpt_from(relay, "agent@subcontractor.example", to)
}

fn rcpt_from(relay: &Relay, from: &str, to: &str) -> String {
    let mut s = Smtp::connect(relay.addr);
    s.cmd("EHLO dialer.example\r\n");
    s.cmd(&format!("MAIL FROM:<{from}>\r\n"));
    let reply = s.cmd(&format!("RCPT TO:<{to}>\r\n"));
    s.cmd("QUIT\r\n");
    reply
}

/// Polls `f` every 100 ms until it is true; how long it took.
fn within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// Whether the company's (first) subscriber has been sent everything the list holds.
fn caught_up(company: &Relay) -> bool {
    let (_, out, _) = run(company, &["feed", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).expect("json");
    list[0]["behind"].as_u64() == Some(0)
}

/// Whether a follower's pulls have failed (it tried, and says why).
fn failing(follower: &Relay) -> bool {
    let (_, out, _) = run(follower, &["feed", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).expect("json");
    !status["following"]["last_error"].is_null()
}

/// A TCP proxy to `upstream` that keeps every byte the upstream sent.
fn recording_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = TcpStream::connect(upstream) else {
                continue;
            };
            let (mut c2, mut s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            kept.lock().expect("lock").extend_from_slice(&buf[..n]);
                            if client.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, seen)
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    bytes
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A relay's config file (`NAME.toml`) and data directory (`NAME/`) under a test directory.
struct Node {
    config: PathBuf,
    data: PathBuf,
}

impl Node {
    /// Writes the config: `data_dir`, then `toml`.
    fn new(dir: &Path, name: &str, toml: &str) -> Node {
        let node = Node {
            config: dir.join(format!("{name}.toml")),
            data: dir.join(name),
        };
        std::fs::create_dir_all(&node.data).expect("mkdir");
        let text = format!("data_dir = {:?}\n{toml}", node.data.display().to_string());
        std::fs::write(&node.config, text).expect("config");
        node
    }

    fn start(&self) -> Relay {
        Relay::start_with_config(&self.config, &self.data)
    }
}

/// `feed add NAME --json` on the company's relay, its token written to `token_file`; the
/// answer.
fn give_token(company: &Relay, name: &str, token_file: &Path) -> serde_json::Value {
    let (code, out, err) = run(company, &["feed", "add", name, "--json"]);
    assert_eq!(code, 0, "{err}");
    let given: serde_json::Value = serde_json::from_str(&out).expect("json");
    std::fs::write(token_file, given["token"].as_str().expect("token")).expect("token");
    given
}

#[test]
fn a_follower_refuses_what_the_company_adds_within_seconds_and_never_sees_an_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The company's relay, its public face on loopback.
    let public = free_port();
    let company_node = Node::new(
        dir.path(),
        "company",
        &format!("[unsubscribe]\nlisten = [\"127.0.0.1:{public}\"]\n[phones]\ndefault_country = \"FR\"\n"),
    );
    let company_data = &company_node.data;
    let company = company_node.start();
    let (code, _, err) = run(
        &company,
        &[
            "suppress",
            "add",
            "early.bird@example.org",
            "--reason",
            "unsubscribe",
            "--evidence",
            "Early Bird said stop",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        &company,
        &[
            "suppress",
            "add",
            "06 12 34 56 78",
            "--reason",
            "unsubscribe",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let token_file = dir.path().join("feed.token");
    let given = give_token(&company, "acme-calls", &token_file);
    let token = given["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("dncf_"), "{given}");
    // A second add while the token is active is refused.
    let (code, _, err) = run(&company, &["feed", "add", "acme-calls"]);
    assert_eq!(code, 1, "{err}");

    // Without a token, or with a wrong one, nothing is served.
    let answer = http_get(public, "/feed?since=0", None);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let answer = http_get(public, "/feed?since=0", Some("dncf_wrong"));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    // The subcontractor's relay follows the feed through a proxy that keeps every byte.
    let (proxy, seen) = recording_proxy(format!("127.0.0.1:{public}").parse().expect("addr"));
    let sub_node = Node::new(
        dir.path(),
        "subcontractor",
        &format!(
            "[phones]\ndefault_country = \"FR\"\n[replica]\nfeed = \"http://{proxy}/feed\"\ntoken_file = {:?}\nmax_lag = \"4s\"\n\
             [[sender_groups]]\nname = \"billing\"\nsenders = [\"@billing.subcontractor.example\"]\nexempt_reasons = [\"unsubscribe\"]\n",
            token_file.display().to_string()
        ),
    );
    let sub_data = &sub_node.data;
    let sub = sub_node.start();
    within(Duration::from_secs(20), "the follower is current", || {
        run(&sub, &["feed", "status"]).0 == 0
    });
    assert!(rcpt(&sub, "early.bird@example.org").starts_with("550 5.7.1"));
    assert!(rcpt(&sub, "someone@example.org").starts_with("250"));
    // Erased on the company's relay: its records keep only the erasure hash, and the feed
    // still carries the block under its own key.
    let (code, _, err) = run(
        &company,
        &["erase", "early.bird@example.org", "--proof", "ticket 4411"],
    );
    assert_eq!(code, 0, "{err}");
    within(
        Duration::from_secs(5),
        "the follower pulled the erasure",
        || caught_up(&company),
    );
    assert!(rcpt(&sub, "early.bird+news@example.org").starts_with("550 5.7.1"));

    // Added on the company's relay: refused on the subcontractor's wire within seconds.
    let (code, _, err) = run(
        &company,
        &[
            "suppress",
            "add",
            "Ann.Lee@Example.NET",
            "--reason",
            "complaint",
            "--evidence",
            "Ann Lee <ann.lee@example.net> complained",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let took = within(
        Duration::from_secs(5),
        "ann.lee refused by the follower",
        || rcpt(&sub, "ann.lee+promo@example.net").starts_with("550 5.7.1"),
    );
    eprintln!("the follower refused a new entry {took:?} after it was added");
    // The subcontractor's own exemptions never set the company's opt-outs aside.
    let billing = "invoices@billing.subcontractor.example";
    assert!(rcpt_from(&sub, billing, "early.bird@example.org").starts_with("550 5.7.1"));
    let (code, _, err) = run(
        &company,
        &[
            "suppress",
            "add",
            "@blocked-corp.example",
            "--reason",
            "manual",
        ],
    );
    assert_eq!(code, 0, "{err}");
    within(Duration::from_secs(5), "a listed domain refused", || {
        rcpt(&sub, "buyer@eu.blocked-corp.example").starts_with("550 5.7.1")
    });

    // The subcontractor cleans its call list against the feed alone.
    let list = dir.path().join("calls.csv");
    std::fs::write(
        &list,
        "name,email,phone\nAnn,ann.lee@example.net,\nBob,bob@fine.example,+33 6 12 34 56 78\nCid,cid@fine.example,01 44 55 66 77\n",
    )
    .expect("csv");
    let (code, out, err) = run(&sub, &["scrub", "--hashed", list.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[1].contains(",suppressed,complaint"), "{out}");
    assert!(rows[2].contains(",suppressed,unsubscribe (phone)"), "{out}");
    assert!(rows[3].ends_with(",ok,"), "{out}");

    // Both sides see where the follower stands.
    let (code, out, err) = run(&sub, &["feed", "status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).expect("json");
    let keys = status["following"]["state"]["keys"].as_u64().expect("keys");
    assert_eq!(keys, 4, "{out}");
    within(
        Duration::from_secs(5),
        "the company sees the follower current",
        || caught_up(&company),
    );
    let (code, out, err) = run(&company, &["feed", "pulls", "--json"]);
    assert_eq!(code, 0, "{err}");
    let pulls: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(pulls
        .as_array()
        .expect("pulls")
        .iter()
        .all(|p| p["subscriber"] == "acme-calls" && p["peer"] == "127.0.0.1"));
    let served: u64 = pulls
        .as_array()
        .expect("pulls")
        .iter()
        .map(|p| p["changes"].as_u64().unwrap_or(0))
        .sum();
    assert!(served >= 4, "{out}");

    // Everything the feed sent: the hashes, never an address, a domain, a number or a name.
    let erasure = dnc_relay::hashing::Salt::load(&company_data.join("erasure.salt")).expect("salt");
    let salt = erasure.feed_salt();
    let bytes = seen.lock().expect("lock").clone();
    assert!(holds(&bytes, &salt.hash("ann.lee@example.net")));
    assert!(holds(&bytes, &salt.hash("@blocked-corp.example")));
    assert!(holds(&bytes, &salt.hash("+33612345678")));
    // The erasure salt never leaves the company: neither it nor a key hashed with it.
    assert!(!holds(&bytes, &erasure.to_hex()));
    assert!(!holds(&bytes, &erasure.hash("ann.lee@example.net")));
    for secret in [
        "ann.lee",
        "example.net",
        "early.bird",
        "example.org",
        "blocked-corp",
        "612345678",
        "Ann Lee",
        "Early Bird",
        "complained",
    ] {
        assert!(!holds(&bytes, secret), "the feed sent {secret:?}");
    }
    // Nor does the subcontractor's store hold them.
    drop(sub);
    let store = std::fs::read(sub_data.join("dnc.redb")).expect("store");
    for secret in [
        "ann.lee",
        "example.net",
        "early.bird",
        "blocked-corp",
        "612345678",
    ] {
        assert!(
            !holds(&store, secret),
            "the follower's store holds {secret:?}"
        );
    }
    let sub = sub_node.start();
    // Restarted within max_lag of its last complete pull: it decides at once.
    assert!(rcpt(&sub, "ann.lee@example.net").starts_with("550 5.7.1"));

    // Revoked: the follower's pulls are refused and, once its copy is older than max_lag,
    // it refuses to decide (451) rather than mail from a stale list.
    let (code, _, err) = run(
        &company,
        &["feed", "revoke", "acme-calls", "--why", "contract ended"],
    );
    assert_eq!(code, 0, "{err}");
    let answer = http_get(public, "/feed?since=0", Some(&token));
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    within(Duration::from_secs(15), "the follower fails closed", || {
        rcpt(&sub, "someone@example.org").starts_with("451 4.3.0")
    });
    assert_eq!(run(&sub, &["feed", "status"]).0, 1);
    let (_, out, _) = run(&company, &["feed", "list"]);
    assert!(
        out.contains("revoked") && out.contains("contract ended"),
        "{out}"
    );
    let (_, out, _) = run(&sub, &["feed", "status"]);
    assert!(out.contains("failing:") && out.contains("403"), "{out}");

    // A new token, written to the token file: the follower takes it without a restart.
    let given = give_token(&company, "ACME-calls", &token_file);
    assert_eq!(given["subscriber"]["name"], "acme-calls");
    within(
        Duration::from_secs(75),
        "the follower is current again",
        || run(&sub, &["feed", "status"]).0 == 0,
    );
    assert!(rcpt(&sub, "someone@example.org").starts_with("250"));
}

/// Copies the regular files of `from` into `to` (a backup of a stopped relay's data).
fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

#[test]
fn a_company_list_restored_from_an_older_backup_is_noticed_and_pulled_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let public = free_port();
    let company_node = Node::new(
        dir.path(),
        "company",
        &format!("[unsubscribe]\nlisten = [\"127.0.0.1:{public}\"]\n"),
    );
    let company_data = &company_node.data;
    let company = company_node.start();
    let token_file = dir.path().join("feed.token");
    give_token(&company, "agency", &token_file);
    let add = |relay: &Relay, who: &str| {
        let (code, _, err) = run(relay, &["suppress", "add", who, "--reason", "manual"]);
        assert_eq!(code, 0, "{err}");
    };
    add(&company, "first@example.com");
    // The backup, taken with the relay stopped.
    assert!(company.sigterm().success());
    copy_files(company_data, &dir.path().join("backup"));
    let company = company_node.start();
    add(&company, "after-backup-1@example.com");
    add(&company, "after-backup-2@example.com");

    let sub_node = Node::new(
        dir.path(),
        "sub",
        &format!(
            "[replica]\nfeed = \"http://127.0.0.1:{public}/feed\"\ntoken_file = {:?}\nmax_lag = \"30s\"\n",
            token_file.display().to_string()
        ),
    );
    let sub = sub_node.start();
    within(
        Duration::from_secs(20),
        "the follower holds the list",
        || rcpt(&sub, "after-backup-2@example.com").starts_with("550 5.7.1"),
    );

    // The company's relay is restored from the backup, and new opt-outs reuse the positions
    // the follower already holds (the follower is stopped meanwhile, so that its first pull
    // finds the list at its own position: only the time of that position tells).
    drop(sub);
    assert!(company.sigterm().success());
    for entry in std::fs::read_dir(company_data).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::remove_file(entry.path()).expect("rm");
        }
    }
    copy_files(&dir.path().join("backup"), company_data);
    let company = company_node.start();
    add(&company, "restored-1@example.com");
    add(&company, "restored-2@example.com");
    let sub = sub_node.start();
    within(
        Duration::from_secs(30),
        "the follower refuses what was added after the restore",
        || {
            rcpt(&sub, "restored-1@example.com").starts_with("550 5.7.1")
                && rcpt(&sub, "restored-2@example.com").starts_with("550 5.7.1")
        },
    );
    // And no longer what the restored list does not hold.
    assert!(rcpt(&sub, "after-backup-1@example.com").starts_with("250"));
    drop(company);
}

/// A plain HTTP/1.1 GET; the whole answer.
fn http_get(port: u16, path: &str, token: Option<&str>) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn the_feed_is_served_over_https_and_a_follower_verifies_the_company_relay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = common::TestPki::new();
    let (cert, key, ca) = (
        dir.path().join("relay.pem"),
        dir.path().join("relay.key"),
        dir.path().join("company-ca.pem"),
    );
    std::fs::write(&cert, &pki.chain_pem).expect("cert");
    std::fs::write(&key, &pki.key_pem).expect("key");
    std::fs::write(&ca, &pki.ca_pem).expect("ca");
    let public = free_port();
    let company = Node::new(
        dir.path(),
        "company",
        &format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n[unsubscribe]\nlisten = [\"127.0.0.1:{public}\"]\ntls = true\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .start();
    run(
        &company,
        &[
            "suppress",
            "add",
            "@competitor.example",
            "--reason",
            "manual",
        ],
    );

    let follower = |ca_line: &str, name: &str| {
        // Each follower its own subscriber: one pull at a time per token and address.
        let token_file = dir.path().join(format!("{name}.token"));
        give_token(&company, name, &token_file);
        let toml = format!(
            "[replica]\nfeed = \"https://localhost:{public}/feed\"\ntoken_file = {:?}\n{ca_line}",
            token_file.display().to_string()
        );
        Node::new(dir.path(), name, &toml).start()
    };
    // A follower that trusts the company's CA is served.
    let sub = follower(
        &format!("ca_file = {:?}\n", ca.display().to_string()),
        "trusting",
    );
    within(
        Duration::from_secs(20),
        "the follower is current over https",
        || run(&sub, &["feed", "status"]).0 == 0,
    );
    assert!(rcpt(&sub, "cto@competitor.example").starts_with("550 5.7.1"));
    // One that does not trust it never decides: its recipients wait (451), never pass.
    let blind = follower("", "blind");
    within(Duration::from_secs(10), "the blind follower tried", || {
        failing(&blind)
    });
    assert!(rcpt(&blind, "cto@competitor.example").starts_with("451 4.3.0"));
    assert!(rcpt(&blind, "anyone@example.org").starts_with("451 4.3.0"));
    assert_eq!(run(&blind, &["feed", "status"]).0, 1);
    // One that strips +tags at another separator than the company would let a tagged
    // spelling through: it never decides either, and says why.
    let ca_line = format!("ca_file = {:?}\n", ca.display().to_string());
    let other = follower(
        &format!("{ca_line}[policy]\ntag_separator = \"-\"\n"),
        "dash",
    );
    within(Duration::from_secs(10), "the dash follower tried", || {
        failing(&other)
    });
    assert!(rcpt(&other, "cto@competitor.example").starts_with("451 4.3.0"));
    let (code, out, _) = run(&other, &["feed", "status"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tag_separator"), "{out}");
}
