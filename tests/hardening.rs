//! Never failing open, tried from outside on the built binary as a careless operator or an
//! attacker would: emptied, moved and damaged stores, relative paths, file modes, and what a
//! failed start leaves behind.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::binary;
use common::process::{free_port, text, text as text_of, Relay, Smtp};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `serve --data-dir DIR` on a free port, for starts that must fail: its output once it has
/// exited. A relay that starts instead is stopped and the test fails.
fn serve_fails(dir: &Path) -> std::process::Output {
    let mut child = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DNC_RELAY_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the relay started: {}", text(&out.stderr));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A config file in `dir` that keeps the data in `dir/data` (an absolute path, so that the
/// test does not depend on how relative paths are resolved), followed by `rest`.
fn config_in(dir: &Path, rest: &str) -> std::path::PathBuf {
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n{rest}",
            dir.join("data").display().to_string()
        ),
    )
    .unwrap();
    config
}

/// A relay in `dir` that has suppressed `gone@example.com`, then stopped.
fn relay_that_suppressed(dir: &Path) {
    let relay = Relay::start(dir);
    let add = relay.cli(&[
        "suppress",
        "add",
        "gone@example.com",
        "--reason",
        "unsubscribe",
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert!(Smtp::rcpt_reply(relay.addr, "gone@example.com").starts_with("550 5.7.1"));
    assert!(relay.sigterm().success());
}

#[test]
fn an_emptied_store_refuses_to_start_instead_of_starting_empty() {
    let dir = tempfile::tempdir().unwrap();
    relay_that_suppressed(dir.path());
    std::fs::write(dir.path().join("dnc.redb"), b"").unwrap();
    let out = serve_fails(dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("dnc.redb") && err.contains("empty"), "{err}");
    assert!(err.contains("backup"), "says how to restore: {err}");
}

#[test]
fn a_store_moved_away_refuses_to_start_and_comes_back_when_restored() {
    let dir = tempfile::tempdir().unwrap();
    relay_that_suppressed(dir.path());
    let store = dir.path().join("dnc.redb");
    let aside = dir.path().join("aside.redb");
    std::fs::rename(&store, &aside).unwrap();
    let out = serve_fails(dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("missing") && err.contains("decisions.jsonl"),
        "{err}"
    );
    assert!(!store.exists(), "no new store was created");
    // Put back, the list is as it was.
    std::fs::rename(&aside, &store).unwrap();
    let relay = Relay::start(dir.path());
    assert!(Smtp::rcpt_reply(relay.addr, "gone@example.com").starts_with("550 5.7.1"));
}

#[test]
fn a_damaged_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let rows: String = (0..20_000)
        .map(|i| format!("person{i}@example.com\n"))
        .collect();
    let csv = dir.path().join("list.csv");
    std::fs::write(&csv, format!("email\n{rows}")).unwrap();
    let import = relay.cli(&["import", csv.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert!(relay.sigterm().success());
    // Overwrite everything but the header page with garbage.
    let store = dir.path().join("dnc.redb");
    let len = std::fs::metadata(&store).unwrap().len() as usize;
    let mut bytes = std::fs::read(&store).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().take(len).skip(8192) {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(&store, bytes).unwrap();
    let out = serve_fails(dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("dnc.redb"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_new_data_directory_gets_a_store_announced_with_its_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let relay = Relay::start(&data);
    let (status, log) = relay.sigterm_with_log();
    assert!(status.success());
    let store = data.join("dnc.redb");
    assert!(
        log.contains("EMPTY store") && log.contains(store.to_str().unwrap()),
        "{log}"
    );
    // The second start opens it quietly.
    let relay = Relay::start(&data);
    let (_, log) = relay.sigterm_with_log();
    assert!(!log.contains("EMPTY store"), "{log}");
}

#[test]
fn a_relative_data_dir_is_found_from_the_config_files_directory() {
    let etc = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = etc.path().join("relay.toml");
    std::fs::write(
        &config,
        format!("data_dir = \"state\"\n[server]\nlisten = [\"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let check = Command::new(binary())
        .args(["check-config", "--config"])
        .arg(&config)
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let shown = text(&check.stdout);
    assert!(
        shown.contains(etc.path().join("state/dnc.redb").to_str().unwrap()),
        "{shown}"
    );
    let mut child = Command::new(binary())
        .args(["serve", "--config"])
        .arg(&config)
        .current_dir(elsewhere.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let socket = etc.path().join("state/admin.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(std::time::Instant::now() < deadline, "relay never ready");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(etc.path().join("state/dnc.redb").exists());
    assert!(!elsewhere.path().join("state").exists());
    // An admin command run from a third place finds the same socket through the config.
    let whoami = Command::new(binary())
        .args(["whoami", "--config"])
        .arg(&config)
        .current_dir("/")
        .env_remove("DNC_RELAY_SOCKET")
        .output()
        .unwrap();
    assert!(whoami.status.success(), "{}", text(&whoami.stderr));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_data_directory_and_every_file_in_it_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let relay = Relay::start(&data);
    let mut s = Smtp::connect(relay.addr);
    s.cmd("EHLO t\r\n");
    s.cmd("MAIL FROM:<rep@sales.example>\r\n");
    assert!(s.cmd("RCPT TO:<x@example.com>\r\n").starts_with("250"));
    assert!(s.cmd("DATA\r\n").starts_with("354"));
    assert!(s
        .cmd("Subject: hi\r\n\r\nhello\r\n.\r\n")
        .starts_with("250"));
    s.cmd("QUIT\r\n");
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("dnc.redb")), 0o600, "store");
    assert_eq!(mode(&data.join("decisions.jsonl")), 0o600, "decision log");
    let outbox = data.join("outbox");
    assert_eq!(mode(&outbox), 0o700, "outbox");
    let mail: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mail.len(), 1);
    assert_eq!(mode(&mail[0]), 0o600, "captured mail");
    assert_eq!(mode(&data.join("admin.sock")) & 0o777, 0o660, "socket");
    let (_, log) = relay.sigterm_with_log();
    assert!(!log.contains("other local users"), "{log}");
    // Widened by hand, the start says so.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("dnc.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let relay = Relay::start(&data);
    let (_, log) = relay.sigterm_with_log();
    assert!(
        log.contains("other local users") && log.contains("0644") && log.contains("0755"),
        "{log}"
    );
}

#[test]
fn a_listen_address_in_use_exits_3_and_creates_nothing() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(binary())
        .args(["serve", "--listen", &busy.local_addr().unwrap().to_string()])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot listen"));
    assert!(!data.exists(), "a failed start leaves nothing behind");
}

#[test]
fn a_missing_certificate_exits_2_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(
        dir.path(),
        &format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            dir.path().join("missing.pem").display().to_string(),
            dir.path().join("missing.key").display().to_string()
        ),
    );
    let out = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("missing.pem"));
    assert!(!dir.path().join("data").exists(), "nothing created");
}

#[test]
fn a_trusted_network_open_to_the_world_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(
        dir.path(),
        "[server]\ntrusted_networks = [\"127.0.0.0/8\", \"0.0.0.0/0\", \"::/0\", \"128.0.0.0/1\", \"::ffff:0:0/96\"]\n",
    );
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    let (_, log) = relay.sigterm_with_log();
    assert!(
        log.contains("0.0.0.0/0")
            && log.contains("::/0")
            && log.contains("128.0.0.0/1")
            && log.contains("::ffff:0.0.0.0/96")
            && log.contains("open to the world")
            && !log.contains("127.0.0.0/8: "),
        "{log}"
    );
}

#[test]
fn a_negative_size_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, "[server]\nmax_message_size = -1\n").unwrap();
    let out = Command::new(binary())
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("server.max_message_size") && err.contains("must be a positive size"),
        "{err}"
    );
    assert!(!err.contains("untagged"), "{err}");
}

/// A small tmpfs mounted for one test (root only), unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mounts one as root; without root the test is skipped, saying so. As root, a mount
    /// that fails fails the test under `.ci/run` (`DNC_RELAY_CI` is set), else skips it.
    fn mount(size: &str) -> Option<Tmpfs> {
        if !nix::unistd::geteuid().is_root() {
            println!("skipped: mounting a small tmpfs (a disk that fills up) needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let options = format!("size={size},mode=0700");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs(dir)),
            other => {
                assert!(
                    std::env::var_os("DNC_RELAY_CI").is_none(),
                    "root under DNC_RELAY_CI, but mount -t tmpfs failed: {other:?}"
                );
                println!("skipped: mount -t tmpfs failed: {other:?}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill_up(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_defers_new_recipients_and_the_relay_recovers_when_space_returns() {
    let Some(disk) = Tmpfs::mount("48m") else {
        return;
    };
    let data = disk.path().join("data");
    let relay = Relay::start(&data);
    let add = relay.cli(&["suppress", "add", "kept@example.com", "--reason", "legal"]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let filler = disk.path().join("filler");
    fill_up(&filler);
    // A small add on the full disk: refused.
    let add = relay.cli(&[
        "suppress",
        "add",
        "first@example.com",
        "--reason",
        "unsubscribe",
    ]);
    assert_eq!(add.status.code(), Some(3), "{}", text(&add.stderr));

    // A big import needs room the disk does not have: refused, nothing half-applied.
    let outside = tempfile::tempdir().unwrap();
    let csv = outside.path().join("list.csv");
    let rows: String = (0..60_000).map(|i| format!("p{i}@example.org\n")).collect();
    std::fs::write(&csv, format!("email\n{rows}")).unwrap();
    let import = relay.cli(&["import", csv.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert_eq!(import.status.code(), Some(3), "{}", text(&import.stderr));
    // While it cannot write, no recipient passes: a send could not be recorded. It stays so
    // for as long as the disk stays full (redb can still commit a little into free pages).
    for i in 0..6 {
        let reply = Smtp::rcpt_reply(relay.addr, &format!("new{i}@example.com"));
        assert!(
            reply.starts_with("451 4.3.0"),
            "a store that cannot write must not let mail through: {reply}"
        );
        std::thread::sleep(std::time::Duration::from_millis(600));
    }
    let add = relay.cli(&[
        "suppress",
        "add",
        "late@example.com",
        "--reason",
        "unsubscribe",
    ]);
    assert_eq!(add.status.code(), Some(3), "{}", text(&add.stderr));

    // Space comes back: the relay recovers without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let reply = Smtp::rcpt_reply(relay.addr, "anyone@example.com");
        if reply.starts_with("250") {
            break;
        }
        assert!(reply.starts_with("451 4.3.0"), "{reply}");
        assert!(std::time::Instant::now() < deadline, "never recovered");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(Smtp::rcpt_reply(relay.addr, "kept@example.com").starts_with("550 5.7.1"));
    assert!(Smtp::rcpt_reply(relay.addr, "p1@example.org").starts_with("250"));
    let add = relay.cli(&[
        "suppress",
        "add",
        "late@example.com",
        "--reason",
        "unsubscribe",
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert!(Smtp::rcpt_reply(relay.addr, "late@example.com").starts_with("550 5.7.1"));
    let (status, log) = relay.sigterm_with_log();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("store write failed") && log.contains("can write again"),
        "{log}"
    );
}

#[test]
fn pages_damaged_while_running_defer_recipients_without_dropping_the_session() {
    let dir = tempfile::tempdir().unwrap();
    // A small cache, so lookups read pages from the file.
    let config = config_in(dir.path(), "[store]\ncache_size = \"1MiB\"\n");
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    let csv = dir.path().join("list.csv");
    let rows: String = (0..50_000).map(|i| format!("p{i}@example.com\n")).collect();
    std::fs::write(&csv, format!("email\n{rows}")).unwrap();
    let import = relay.cli(&["import", csv.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert!(import.status.success(), "{}", text(&import.stderr));

    // Garbage over the middle half of the file, under the running relay.
    {
        use std::io::{Seek, SeekFrom, Write};
        let store = relay.dir.join("dnc.redb");
        let len = std::fs::metadata(&store).unwrap().len();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&store)
            .unwrap();
        f.seek(SeekFrom::Start(len / 4)).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let garbage: Vec<u8> = (0..len / 2)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        f.write_all(&garbage).unwrap();
        f.sync_all().unwrap();
    }

    let mut s = Smtp::connect(relay.addr);
    s.cmd("EHLO t\r\n");
    let mut deferred = 0;
    for round in 0..20 {
        assert!(s
            .cmd("MAIL FROM:<rep@sales.example>\r\n")
            .starts_with("250"));
        for i in 0..50 {
            let n = (round * 50 + i) * 37 % 50_000;
            let reply = s.cmd(&format!("RCPT TO:<p{n}@example.com>\r\n"));
            assert!(
                reply.starts_with("250")
                    || reply.starts_with("550")
                    || reply.starts_with("451 4.3.0"),
                "round {round}, p{n}: {reply:?}"
            );
            deferred += usize::from(reply.starts_with("451"));
        }
        assert!(s.cmd("RSET\r\n").starts_with("250"), "the session goes on");
    }
    assert!(s.cmd("QUIT\r\n").starts_with("221"));
    let (_, log) = relay.sigterm_with_log();
    assert!(!log.contains("panicked at"), "no backtrace: {log}");
    assert!(
        deferred > 0,
        "the damage was never met: the test proves nothing"
    );
    assert!(log.contains("cannot decide"), "{log}");
    // Logged in words, not once per recipient.
    assert!(log.matches("cannot decide").count() < 10, "{log}");
}

/// The relay's peak resident memory (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn many_large_messages_at_once_stay_within_the_message_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(
        dir.path(),
        "[server]\nmessage_memory = \"8MiB\"\nmax_message_size = \"12MiB\"\n",
    );
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    let before = peak_rss_kib(relay.child.id());
    const CLIENTS: usize = 30;
    const SIZE: usize = 10 * 1024 * 1024;
    let line = format!("{}\r\n", "y".repeat(998));
    let body: String = line.repeat(SIZE / line.len());
    // Every client sends its whole message before any of them ends it, so all 30 are held
    // by the relay at the same moment.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (addr, body, barrier) = (relay.addr, body.clone(), barrier.clone());
            std::thread::spawn(move || {
                use std::io::Write;
                let mut s = Smtp::connect(addr);
                s.cmd("EHLO t\r\n");
                s.cmd("MAIL FROM:<rep@sales.example>\r\n");
                assert!(s
                    .cmd(&format!("RCPT TO:<r{i}@example.com>\r\n"))
                    .starts_with("250"));
                assert!(s.cmd("DATA\r\n").starts_with("354"));
                s.writer
                    .write_all(format!("Subject: {i}\r\n\r\n").as_bytes())
                    .unwrap();
                s.writer.write_all(body.as_bytes()).unwrap();
                barrier.wait();
                let reply = s.cmd(".\r\n");
                assert!(reply.starts_with("250"), "{reply}");
                s.cmd("QUIT\r\n");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let peak = peak_rss_kib(relay.child.id());
    let outbox: Vec<_> = std::fs::read_dir(relay.dir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    assert_eq!(outbox.len(), CLIENTS);
    assert!(
        outbox.iter().all(|&n| n as usize > SIZE - 2048),
        "{outbox:?}"
    );
    eprintln!("resident memory: {before} KiB before, {peak} KiB at the peak");
    // 30 messages of 10 MiB held at once; the budget keeps 8 MiB of them in memory.
    assert!(
        peak < before + 100 * 1024,
        "resident memory grew from {before} KiB to {peak} KiB"
    );
}

#[test]
fn exported_formulas_are_neutralised_and_import_restores_them() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("a"));
    let evidence = [
        ("calc@example.com", "=cmd|' /C calc'!A0"),
        ("plus@example.com", "+33 1 23 45 67 89"),
        ("at@example.com", "@SUM(1+1)*cmd|' /C calc'!A0"),
        ("tab@example.com", "\tquoted"),
        ("quote@example.com", "'=it was quoted already"),
        ("plain@example.com", "she wrote: stop"),
        ("space@example.com", " =1+1"),
        ("newline@example.com", "\n=1+1 on a second line"),
    ];
    for (target, text) in evidence {
        let add = relay.cli(&[
            "suppress",
            "add",
            target,
            "--reason",
            "unsubscribe",
            "--evidence",
            text,
        ]);
        assert!(add.status.success(), "{}", text_of(&add.stderr));
    }
    let add = relay.cli(&[
        "suppress",
        "add",
        "--reason",
        "legal",
        "--",
        "-dash@example.com",
    ]);
    assert!(add.status.success(), "{}", text_of(&add.stderr));
    let export = relay.cli(&["export"]);
    assert!(export.status.success());
    let csv = text_of(&export.stdout);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a spreadsheet would run {cell:?}"
            );
        }
    }
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &csv).unwrap();
    // Into a new relay: every text comes back as it was written.
    let other = Relay::start(&dir.path().join("b"));
    let import = other.cli(&["import", file.to_str().unwrap()]);
    assert!(import.status.success(), "{}", text_of(&import.stderr));
    for (target, text) in evidence {
        let show = other.cli(&["suppress", "show", target, "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
        assert_eq!(json["entry"]["evidence"], text, "{target}");
    }
    let show = other.cli(&["suppress", "show", "--json", "--", "-dash@example.com"]);
    assert!(show.status.success(), "{}", text_of(&show.stderr));
    // Scrubbing writes the same neutralised cells, and a scrubbed file scrubs the same again.
    let leads = dir.path().join("leads.csv");
    std::fs::write(
        &leads,
        "email,note\ncalc@example.com,=HYPERLINK(\"x\")\nnew@example.com,+1\ntab@example.com,\t=1\n",
    )
    .unwrap();
    let once = other.cli(&["scrub", leads.to_str().unwrap()]);
    let once_text = text_of(&once.stdout);
    assert!(
        once_text.contains("'=HYPERLINK") && once_text.contains("'+1"),
        "{once_text}"
    );
    assert!(
        once_text.contains("'\t=1"),
        "the user's own cell is kept as it was, neutralised: {once_text:?}"
    );
    std::fs::write(&leads, &once_text).unwrap();
    let twice = other.cli(&["scrub", leads.to_str().unwrap()]);
    let twice_text = text_of(&twice.stdout);
    assert!(
        twice_text.contains("'=HYPERLINK") && !twice_text.contains("''="),
        "{twice_text}"
    );
}

#[test]
fn evidence_cannot_drive_the_terminal_of_whoever_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"));
    let evil = "stop\x1b[2J\x1b[H\rentry lifted by ops\nlift #1 approved\u{202e}";
    let add = relay.cli(&[
        "suppress",
        "add",
        "pat@example.com",
        "--reason",
        "unsubscribe",
        "--evidence",
        evil,
    ]);
    assert!(add.status.success(), "{}", text_of(&add.stderr));
    let show = relay.cli(&["suppress", "show", "pat@example.com"]);
    let shown = text_of(&show.stdout);
    assert!(
        !shown.contains('\x1b') && !shown.contains('\r'),
        "{shown:?}"
    );
    assert!(!shown.contains('\u{202e}'), "{shown:?}");
    assert!(shown.contains("\\u{1b}[2J"), "{shown:?}");
    assert!(
        !shown.lines().any(|l| l.starts_with("lift #1 approved")),
        "a fake line: {shown}"
    );
    // JSON keeps the text exact (and escaped by JSON itself).
    let json = relay.cli(&["suppress", "show", "pat@example.com", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["entry"]["evidence"], evil);
    assert!(!text_of(&json.stdout).contains('\x1b'));
}

#[test]
fn a_plain_list_with_reason_and_source_columns_imports_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"));
    let file = dir.path().join("optouts.csv");
    std::fs::write(
        &file,
        "email,reason,source,evidence\n\
         ann@example.com,unsubscribe,form,web form 2026-11-02\n\
         bob@example.com,complaint,,\n",
    )
    .unwrap();
    let import = relay.cli(&["import", file.to_str().unwrap()]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let show = |target: &str| -> serde_json::Value {
        let out = relay.cli(&["suppress", "show", target, "--json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let ann = show("ann@example.com");
    assert_eq!(ann["entry"]["reason"], "unsubscribe");
    assert_eq!(ann["entry"]["source"], "form");
    assert_eq!(ann["entry"]["evidence"], "web form 2026-11-02");
    let bob = show("bob@example.com");
    assert_eq!(bob["entry"]["reason"], "complaint");
    assert_eq!(bob["entry"]["source"], "import");
    // --reason and --source fill in rows without one; a row's own values win.
    std::fs::write(
        &file,
        "email,reason\ncat@example.com,\ndan@example.com,legal\n",
    )
    .unwrap();
    let import = relay.cli(&[
        "import",
        file.to_str().unwrap(),
        "--reason",
        "not-interested",
        "--source",
        "call",
    ]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert_eq!(show("cat@example.com")["entry"]["reason"], "not-interested");
    assert_eq!(show("cat@example.com")["entry"]["source"], "call");
    assert_eq!(show("dan@example.com")["entry"]["reason"], "legal");
    // Without a reason anywhere, the whole file is refused, naming the line.
    std::fs::write(&file, "email,reason\neve@example.com,\n").unwrap();
    let import = relay.cli(&["import", file.to_str().unwrap()]);
    assert_eq!(import.status.code(), Some(2));
    assert!(
        text(&import.stderr).contains("line 2"),
        "{}",
        text(&import.stderr)
    );
}

/// A plain list of `n` addresses `{prefix}{i}@example.com`.
fn address_list(dir: &Path, name: &str, prefix: &str, n: usize) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "email").unwrap();
    for i in 0..n {
        writeln!(f, "{prefix}{i}@example.com").unwrap();
    }
    f.flush().unwrap();
    path
}

/// How many entries the relay has (from `whoami`).
fn entries(relay: &Relay) -> u64 {
    let out = relay.cli(&["whoami"]);
    let shown = text(&out.stdout);
    shown
        .rsplit('(')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("whoami: {shown}"))
}

#[test]
fn a_large_import_streams_in_bounded_memory_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "[store]\ncache_size = \"16MiB\"\n");
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    let list = address_list(dir.path(), "big.csv", "p", 150_000);
    let before = peak_rss_kib(relay.child.id());
    // The CLI's own peak, measured by a parent of its own.
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import resource, subprocess, sys\n\
             r = subprocess.run(sys.argv[1:], capture_output=True)\n\
             sys.stderr.write(r.stderr.decode())\n\
             print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
        )
        .arg(binary())
        .arg("--socket")
        .arg(relay.dir.join("admin.sock"))
        .args(["import", list.to_str().unwrap(), "--reason", "unsubscribe"])
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    let mut fields = shown.split_whitespace();
    assert_eq!(fields.next(), Some("0"), "{shown}{}", text(&out.stderr));
    let cli_kib: u64 = fields.next().unwrap().parse().unwrap();
    let grown = peak_rss_kib(relay.child.id()) - before;
    eprintln!("relay grew by {grown} KiB, the CLI peaked at {cli_kib} KiB");
    assert_eq!(entries(&relay), 150_000);
    assert!(grown < (64 + 16) * 1024, "the relay grew by {grown} KiB");
    assert!(cli_kib < 64 * 1024, "the CLI peaked at {cli_kib} KiB");
}

#[test]
fn an_import_is_all_or_nothing_whenever_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let relay = Relay::start(&data);
    // A bad row after two chunks have been sent: nothing of the file is applied.
    let list = address_list(dir.path(), "bad.csv", "a", 25_000);
    let mut text_of_file = std::fs::read_to_string(&list).unwrap();
    text_of_file.push_str("not an address\n");
    std::fs::write(&list, text_of_file).unwrap();
    let import = relay.cli(&["import", list.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert_eq!(import.status.code(), Some(2), "{}", text(&import.stderr));
    assert!(
        text(&import.stderr).contains("line 25002"),
        "{}",
        text(&import.stderr)
    );
    assert_eq!(entries(&relay), 0, "nothing of a refused file is applied");
    // Killed half way: after the restart, all of it or none of it.
    let list = address_list(dir.path(), "good.csv", "b", 100_000);
    let mut import = Command::new(binary())
        .arg("--data-dir")
        .arg(&data)
        .args(["import", list.to_str().unwrap(), "--reason", "unsubscribe"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    relay.kill9();
    let _ = import.wait();
    let relay = Relay::start(&data);
    let n = entries(&relay);
    assert!(n == 0 || n == 100_000, "a partial import: {n} entries");
    let import = relay.cli(&["import", list.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert_eq!(entries(&relay), 100_000);
}

#[test]
fn long_work_shows_progress_on_a_terminal_and_nothing_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"));
    let list = address_list(dir.path(), "list.csv", "c", 30_000);
    let piped = relay.cli(&["import", list.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert!(piped.status.success());
    let err = text(&piped.stderr);
    assert!(err.is_empty(), "nothing extra on a pipe: {err:?}");
    // The same under a terminal (a pseudo-terminal from Python's pty module).
    let list = address_list(dir.path(), "list2.csv", "d", 30_000);
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import os, pty, sys\n\
             out = bytearray()\n\
             def read(fd):\n\
             \x20   data = os.read(fd, 65536)\n\
             \x20   out.extend(data)\n\
             \x20   return data\n\
             pty.spawn(sys.argv[1:], read)\n\
             sys.stdout.write(out.decode(errors='replace'))",
        )
        .arg(binary())
        .arg("--socket")
        .arg(relay.dir.join("admin.sock"))
        .args(["import", list.to_str().unwrap(), "--reason", "unsubscribe"])
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(shown.contains("imported"), "{shown}");
    assert!(
        shown.contains("importing") || shown.contains("committing"),
        "progress on a terminal: {shown:?}"
    );
}

#[test]
fn a_decision_log_that_cannot_be_written_defers_recipients_and_stays_whole() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = disk.path().join("decisions.jsonl");
    let config = config_in(
        dir.path(),
        &format!("[log]\ndecisions = {:?}\n", log.display().to_string()),
    );
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    assert!(Smtp::rcpt_reply(relay.addr, "a@example.com").starts_with("250"));
    let filler = disk.path().join("filler");
    fill_up(&filler);
    // The next decision cannot be written; from then on nothing is decided.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut i = 0;
    loop {
        i += 1;
        let reply = Smtp::rcpt_reply(relay.addr, &format!("b{i}@example.com"));
        if reply.starts_with("451 4.3.0") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never deferred: {reply}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for j in 0..3 {
        let reply = Smtp::rcpt_reply(relay.addr, &format!("c{j}@example.com"));
        assert!(reply.starts_with("451 4.3.0"), "{reply}");
    }
    std::fs::remove_file(&filler).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !Smtp::rcpt_reply(relay.addr, "d@example.com").starts_with("250") {
        assert!(std::time::Instant::now() < deadline, "never recovered");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (status, _) = relay.sigterm_with_log();
    assert!(status.success());
    // Every line is one whole JSON object: nothing half-written was left behind.
    let text = std::fs::read_to_string(&log).unwrap();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("a torn line {line:?}: {e}"));
    }
    assert!(text.contains("\"rcpt\":\"d@example.com\""));
}

#[test]
fn the_cli_will_not_talk_to_a_socket_someone_else_bound() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: binding a socket as another user needs root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    // A directory anyone may write to, and someone other than the relay's user listening.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let socket = dir.path().join("admin.sock");
    let mut impostor = Command::new("python3")
        .arg("-c")
        .arg(
            "import os, socket, sys, time\n\
             os.setgid(4999); os.setuid(4999)\n\
             s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5)\n\
             print('ready', flush=True)\n\
             c, _ = s.accept(); c.recv(65536); time.sleep(5)",
        )
        .arg(&socket)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(impostor.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "ready");
    let out = Command::new(binary())
        .arg("--socket")
        .arg(&socket)
        .args([
            "suppress",
            "add",
            "victim@example.com",
            "--reason",
            "complaint",
            "--evidence",
            "customer phone 555-1234",
        ])
        .output()
        .unwrap();
    let _ = impostor.kill();
    let _ = impostor.wait();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refusing to talk"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_socket_already_answered_stops_the_start_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Relay::start(&dir.path().join("first"));
    let config = config_in(
        dir.path(),
        &format!(
            "[admin]\nsocket = {:?}\n",
            dir.path().join("first/admin.sock").display().to_string()
        ),
    );
    let out = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("answering"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("data").exists(), "nothing created");
}

#[test]
fn a_command_piped_into_head_ends_quietly() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"));
    let list = address_list(dir.path(), "list.csv", "h", 20_000);
    let import = relay.cli(&["import", list.to_str().unwrap(), "--reason", "unsubscribe"]);
    assert!(import.status.success());
    let mut export = Command::new(binary())
        .arg("--data-dir")
        .arg(&relay.dir)
        .args(["suppress", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(export.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("@example.com"), "{first}");
    // The reader is gone (as `head -1` would be).
    let out = export.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}
