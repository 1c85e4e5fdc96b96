//! The built binary, driven as a user would: serve, the admin CLI, exit codes, restarts,
//! kill -9, config errors.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::binary;
use common::process::{cli, free_port, text, Relay, Smtp};

#[test]
fn an_add_over_the_socket_applies_to_the_very_next_rcpt() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    assert!(Smtp::rcpt_reply(relay.addr, "carol@example.com").starts_with("250 2.1.5"));
    let out = relay.cli(&[
        "suppress",
        "add",
        "Carol@Example.com",
        "--reason",
        "unsubscribe",
        "--source",
        "reply",
        "--evidence",
        "please stop emailing me",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("suppressed carol@example.com"),
        "{}",
        text(&out.stdout)
    );
    let reply = Smtp::rcpt_reply(relay.addr, "carol+sales@example.com");
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(reply.contains("unsubscribe"), "{reply}");
}

#[test]
fn check_exits_0_when_deliverable_and_1_when_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let out = relay.cli(&["suppress", "add", "@blocked.example", "--reason", "legal"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let blocked = relay.cli(&["check", "x@sub.blocked.example"]);
    assert_eq!(blocked.status.code(), Some(1));
    let shown = text(&blocked.stdout);
    assert!(
        shown.contains("blocked") && shown.contains("parent-domain") && shown.contains("legal"),
        "{shown}"
    );

    let json = relay.cli(&["check", "x@blocked.example", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["deliverable"], false);
    assert_eq!(v["rule"], "domain");
    assert_eq!(v["entry"]["reason"], "legal");

    let ok = relay.cli(&["check", "x@fine.example"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(text(&ok.stdout).contains("deliverable"));
}

#[test]
fn list_and_show_print_entries_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    assert!(relay
        .cli(&[
            "suppress",
            "add",
            "a@example.com",
            "--reason",
            "unsubscribe"
        ])
        .status
        .success());
    assert!(relay
        .cli(&[
            "suppress",
            "add",
            "A@example.com",
            "--reason",
            "complaint",
            "--evidence",
            "fbl report"
        ])
        .status
        .success());
    assert!(relay
        .cli(&["suppress", "add", "@b.example", "--reason", "legal"])
        .status
        .success());

    let list = relay.cli(&["suppress", "list", "--json"]);
    assert!(list.status.success());
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    let targets: Vec<_> = entries
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["@b.example", "a@example.com"]);

    let show = relay.cli(&["suppress", "show", "a@example.com", "--json"]);
    assert!(show.status.success());
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    // The re-add with a stronger reason upgrades the entry; its first time stays.
    assert_eq!(v["entry"]["reason"], "complaint");
    assert_eq!(v["entry"]["added_at"], v["history"][0]["at"]);
    let kinds: Vec<_> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["suppressed", "readded"]);
    assert_eq!(v["history"][1]["evidence"], "fbl report");

    let missing = relay.cli(&["suppress", "show", "nobody@example.com"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn malformed_targets_and_reasons_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    for args in [
        &[
            "suppress",
            "add",
            "not-an-address",
            "--reason",
            "unsubscribe",
        ][..],
        &["suppress", "add", "@com", "--reason", "unsubscribe"][..],
        &["suppress", "add", "a@example.com", "--reason", "because"][..],
        &["suppress", "add", "a@example.com"][..],
    ] {
        let out = relay.cli(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let list = relay.cli(&["suppress", "list", "--json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert!(entries.is_empty(), "nothing was added");
}

#[test]
fn admin_commands_without_a_relay_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["check", "a@example.com"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("admin.sock"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_cli_finds_the_socket_by_flag_and_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let socket = dir.path().join("admin.sock");
    let by_flag = Command::new(binary())
        .arg("--socket")
        .arg(&socket)
        .args(["check", "a@example.com"])
        .env_remove("DNC_RELAY_SOCKET")
        .output()
        .unwrap();
    assert_eq!(by_flag.status.code(), Some(0), "{}", text(&by_flag.stderr));
    let by_env = Command::new(binary())
        .args(["check", "a@example.com"])
        .env("DNC_RELAY_SOCKET", &socket)
        .output()
        .unwrap();
    assert_eq!(by_env.status.code(), Some(0), "{}", text(&by_env.stderr));
    drop(relay);
}

#[test]
fn acknowledged_adds_survive_a_restart_and_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    assert!(relay
        .cli(&[
            "suppress",
            "add",
            "before-term@example.com",
            "--reason",
            "unsubscribe"
        ])
        .status
        .success());
    let status = relay.sigterm();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    assert!(
        !dir.path().join("admin.sock").exists(),
        "the socket is removed on shutdown"
    );

    let relay = Relay::start(dir.path());
    assert!(Smtp::rcpt_reply(relay.addr, "before-term@example.com").starts_with("550 5.7.1"));
    for i in 0..20 {
        let out = relay.cli(&[
            "suppress",
            "add",
            &format!("k{i}@example.com"),
            "--reason",
            "complaint",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    relay.kill9();

    let relay = Relay::start(dir.path());
    for i in 0..20 {
        let reply = Smtp::rcpt_reply(relay.addr, &format!("k{i}@example.com"));
        assert!(reply.starts_with("550 5.7.1"), "k{i}: {reply}");
    }
    assert!(Smtp::rcpt_reply(relay.addr, "before-term@example.com").starts_with("550 5.7.1"));
    let show = relay.cli(&["suppress", "show", "k19@example.com"]);
    assert!(show.status.success());
}

#[test]
fn a_locked_store_exits_3_with_nothing_listening() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Relay::start(dir.path());
    let port = free_port();
    let second = Command::new(binary())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3));
    assert!(
        text(&second.stderr).contains("in use"),
        "{}",
        text(&second.stderr)
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing may listen"
    );
}

#[test]
fn sigterm_tells_idle_clients_421_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let mut idle = Smtp::connect(relay.addr);
    idle.cmd("EHLO t\r\n");
    let (status, log) = relay.sigterm_with_log();
    assert!(status.success());
    let reply = idle.reply();
    assert!(reply.starts_with("421 4.3.2"), "{reply}");
    // stderr is a pipe here, as under systemd: plain text, no colour codes.
    assert!(log.contains("dnc-relay ready"), "{log}");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a piped log: {log:?}"
    );
}

#[test]
fn config_errors_name_the_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nmax_recipients = \"lots\"\nlisten = [\"nowhere\"]\n[upstream]\nurl = \"ftp://x\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for key in [
        "server.max_recipients",
        "server.listen",
        "upstream.url",
        "upstream.colour",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
    // serve refuses the same file the same way, before binding anything.
    let serve = Command::new(binary())
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(serve.status.code(), Some(2));
}

#[test]
fn check_config_accepts_the_shipped_config_and_a_partial_file() {
    let shipped = Command::new(binary())
        .arg("check-config")
        .env_remove("DNC_RELAY_CONFIG")
        .output()
        .unwrap();
    assert_eq!(shipped.status.code(), Some(0), "{}", text(&shipped.stderr));
    assert!(
        text(&shipped.stdout).contains("/data/outbox"),
        "{}",
        text(&shipped.stdout)
    );
    let file = Command::new(binary())
        .args(["check-config", "--config", "config/dnc-relay.toml"])
        .output()
        .unwrap();
    assert_eq!(file.status.code(), Some(0), "{}", text(&file.stderr));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.toml");
    std::fs::write(&path, "[upstream]\nurl = \"smtp://mx.internal:25\"\n").unwrap();
    let partial = Command::new(binary())
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(0), "{}", text(&partial.stderr));
    assert!(text(&partial.stdout).contains("smtp://mx.internal:25"));
    assert!(
        !dir.path().join("data").exists(),
        "check-config creates nothing"
    );
}

#[test]
fn an_unreadable_store_exits_3_with_nothing_listening() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the store file should be: it cannot be opened as a database.
    std::fs::create_dir_all(dir.path().join("dnc.redb")).unwrap();
    let port = free_port();
    let out = Command::new(binary())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("dnc.redb"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing may listen"
    );
}

#[test]
fn hash_password_prints_an_argon2_hash_that_verifies() {
    let mut child = Command::new(binary())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = text(&out.stdout).trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // The relay accepts it: a config with this hash checks out.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    std::fs::write(
        &path,
        format!("[[auth.users]]\nname = \"tool\"\npassword_hash = \"{hash}\"\n"),
    )
    .unwrap();
    let check = Command::new(binary())
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn sighup_reloads_accounts_and_refuses_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hash = |pw: &str| dnc_relay::access::hash_password(pw.as_bytes()).unwrap();
    let config = dir.path().join("relay.toml");
    let write_config = |users: &[(&str, &str)]| {
        let mut text = format!(
            "data_dir = {:?}\n[server]\nlisten = [\"127.0.0.1:{port}\"]\ntrusted_networks = []\n[auth]\nallow_plaintext_on_loopback = true\n",
            dir.path()
        );
        for (name, pw) in users {
            text.push_str(&format!(
                "[[auth.users]]\nname = \"{name}\"\npassword_hash = \"{}\"\n",
                hash(pw)
            ));
        }
        std::fs::write(&config, text).unwrap();
    };
    write_config(&[("alice", "a-pass")]);
    let child = Command::new(binary())
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut relay = Relay {
        child,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        dir: dir.path().to_path_buf(),
    };
    relay.wait_ready();
    let auth = |user: &str, pw: &str| {
        let token = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("\0{user}\0{pw}"),
        );
        let mut s = Smtp::connect(relay.addr);
        s.cmd("EHLO t\r\n");
        s.cmd(&format!("AUTH PLAIN {token}\r\n"))
    };
    assert!(auth("bob", "b-pass").starts_with("535"));
    // A session opened before the reload keeps working through it.
    let mut before = Smtp::connect(relay.addr);
    before.cmd("EHLO t\r\n");
    write_config(&[("alice", "a-pass"), ("bob", "b-pass")]);
    let pid = nix::unistd::Pid::from_raw(relay.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !auth("bob", "b-pass").starts_with("235") {
        assert!(Instant::now() < deadline, "the reload never took effect");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        before.cmd("NOOP\r\n").starts_with("250"),
        "no connection is dropped"
    );
    // A broken config is refused; the running one stays.
    std::fs::write(&config, "[server]\nmax_recipients = \"lots\"\n").unwrap();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        auth("bob", "b-pass").starts_with("235"),
        "the old config stays in force"
    );
    let status = relay.sigterm();
    assert!(status.success());
}
