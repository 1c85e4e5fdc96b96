//! The SMTP session driven in memory (and over sockets where the listener matters): sequencing,
//! pipelining, limits, timeouts, failing closed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::address::Target;
use dnc_relay::audit::{Decision, DecisionLog};
use dnc_relay::config::Config;
use dnc_relay::model::{Actor, Entry, Reason, Source, Units};
use dnc_relay::policy::{MatchOptions, Policy, SuppressionLookup};
use dnc_relay::relay::Relay;
use dnc_relay::server::Hooks;
use dnc_relay::smtp::{run_session, Limits, ListenerKind, Phase, Reloadable, SessionContext};
use dnc_relay::store::{NewEntry, Store, StoreError, StoreOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

/// A lookup that always fails, as a broken disk would.
struct Broken;

impl SuppressionLookup for Broken {
    fn find_all(&self, _: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        Err(StoreError::Io("simulated disk failure".into()))
    }
}

/// A session over an in-memory pipe, with a capture upstream and a real store.
struct Mem {
    reader: BufReader<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
    dir: tempfile::TempDir,
    _phase: tokio::sync::watch::Sender<Phase>,
}

impl Mem {
    async fn start(tweak: impl FnOnce(&mut Config), broken: bool) -> Mem {
        Mem::start_with_limits(tweak, |_| {}, broken).await
    }

    async fn start_with_limits(
        tweak: impl FnOnce(&mut Config),
        tweak_limits: impl FnOnce(&mut Limits),
        broken: bool,
    ) -> Mem {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::test_config(dir.path(), "capture:outbox");
        // The in-memory peer is 192.0.2.7: trust it, as loopback is trusted over sockets.
        config
            .server
            .trusted_networks
            .push("192.0.2.0/24".parse().unwrap());
        tweak(&mut config);
        let store = Store::open(&config.store_path(), &StoreOptions::default()).unwrap();
        for (target, reason) in [
            ("stop@example.com", Reason::Unsubscribe),
            ("gone@example.com", Reason::HardBounce),
        ] {
            store
                .add(
                    NewEntry {
                        target: Target::parse(target).unwrap(),
                        reason,
                        source: Source::Admin,
                        evidence: String::new(),
                        units: Units::all(),
                    },
                    Actor::system(),
                )
                .await
                .unwrap();
        }
        let lookup: Arc<dyn SuppressionLookup> = if broken {
            Arc::new(Broken)
        } else {
            Arc::new(store.clone())
        };
        let mut limits = Limits::from_config(&config);
        tweak_limits(&mut limits);
        let ctx = Arc::new(SessionContext {
            hostname: "relay.test".into(),
            limits,
            relay: {
                let relay = Relay::from_config(&config).unwrap();
                relay.prepare().unwrap();
                relay
            },
            log: DecisionLog::open(&config.decisions_path()).unwrap(),
            locks: dnc_relay::locks::LockManager::new(
                store.clone(),
                dnc_relay::locks::system_clock(),
            ),
            store,
            reloadable: std::sync::RwLock::new(Arc::new(Reloadable {
                policy: Policy::new(lookup, MatchOptions::default(), Arc::default()),
                access: dnc_relay::access::Access::from_config(&config),
                tls: dnc_relay::access::tls_acceptor(&config).unwrap(),
                locks: dnc_relay::locks::LockSettings::from_config(&config),
            })),
            spool: dnc_relay::spool::SpoolBudget::new(64 << 20, config.data_dir.clone()),
            auth_failures: dnc_relay::smtp::throttle::AuthThrottle::new(
                10,
                std::time::Duration::from_secs(900),
            ),
            inbox: None,
            marker: None,
            cluster: None,
            feed: None,
        });
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (phase, phase_rx) = tokio::sync::watch::channel(Phase::Running);
        let peer = "192.0.2.7:40000".parse().unwrap();
        let kind = ListenerKind {
            implicit_tls: false,
            loopback: false,
            feedback: false,
        };
        tokio::spawn(run_session(server, peer, ctx, phase_rx, kind));
        let (r, w) = tokio::io::split(client);
        let mut mem = Mem {
            reader: BufReader::new(r),
            writer: w,
            dir,
            _phase: phase,
        };
        let greeting = mem.reply().await;
        assert!(greeting.starts_with("220 relay.test ESMTP"), "{greeting}");
        mem
    }

    async fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).await.unwrap();
    }

    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("a reply within 10 s")
                .unwrap();
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn expect(&mut self, command: &str, prefix: &str) -> String {
        self.send(command).await;
        let reply = self.reply().await;
        assert!(
            reply.starts_with(prefix),
            "after {command:?}: expected {prefix:?}, got {reply:?}"
        );
        reply
    }

    fn outbox(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("outbox"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let mut s = Mem::start(|_| {}, false).await;
    s.send(
        "EHLO client.test\r\nMAIL FROM:<rep@sales.example>\r\nRCPT TO:<ok@example.com>\r\n\
         RCPT TO:<stop@example.com>\r\nRCPT TO:<gone@example.com>\r\nRCPT TO:<ok2@example.com>\r\nDATA\r\n",
    )
    .await;
    let expected = [
        "250-relay.test",
        "250 2.1.0",
        "250 2.1.5",
        "550 5.7.1",
        "550 5.1.1",
        "250 2.1.5",
        "354",
    ];
    for prefix in expected {
        let reply = s.reply().await;
        assert!(reply.starts_with(prefix), "expected {prefix}, got {reply}");
    }
    s.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        .await;
    for prefix in ["250 2.0.0", "250 2.0.0", "250 2.0.0", "221 2.0.0"] {
        let reply = s.reply().await;
        assert!(reply.starts_with(prefix), "expected {prefix}, got {reply}");
    }
    assert_eq!(s.outbox(), [b"Subject: pipelined\r\n\r\nbody\r\n".to_vec()]);
}

#[tokio::test]
async fn bare_lf_commands_are_understood() {
    let mut s = Mem::start(|_| {}, false).await;
    s.expect("EHLO client.test\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\n", "250 2.1.0").await;
    s.expect("RCPT TO:<b@example.org>\n", "250 2.1.5").await;
    s.expect("DATA\n", "354").await;
    s.expect("x\r\n.\r\n", "250").await;
}

#[tokio::test]
async fn commands_out_of_sequence_get_503() {
    let mut s = Mem::start(|_| {}, false).await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "503 5.5.1").await;
    s.expect("RCPT TO:<b@example.org>\r\n", "503 5.5.1").await;
    s.expect("DATA\r\n", "503 5.5.1").await;
    s.expect("HELO client.test\r\n", "250 relay.test").await;
    s.expect("RCPT TO:<b@example.org>\r\n", "503 5.5.1").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "503 5.5.1").await;
    s.expect("DATA\r\n", "554 5.5.1").await;
    s.expect("RSET\r\n", "250").await;
    s.expect("DATA\r\n", "503 5.5.1").await;
}

#[tokio::test]
async fn small_commands_answer_as_documented() {
    let mut s = Mem::start(|_| {}, false).await;
    let ehlo = s.expect("EHLO client.test\r\n", "250-relay.test").await;
    for ext in [
        "PIPELINING",
        "SIZE 10485760",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
    ] {
        assert!(ehlo.contains(ext), "{ext} missing from {ehlo}");
    }
    s.expect("NOOP\r\n", "250 2.0.0").await;
    // VRFY must not reveal whether an address is on the list.
    s.expect("VRFY stop@example.com\r\n", "252 2.5.0").await;
    s.expect("HELP\r\n", "214").await;
    s.expect("EXPN staff\r\n", "502 5.5.1").await;
    s.expect("FOO bar\r\n", "500 5.5.1").await;
    s.expect("MAIL FROM:<a@example.org> RET=FULL\r\n", "555 5.5.4")
        .await;
    s.expect("MAIL FROM:<not an address>\r\n", "501").await;
    s.expect("MAIL FROM:<>\r\n", "250 2.1.0").await;
    s.expect("RCPT TO:<no-at-sign>\r\n", "501 5.1.3").await;
    s.expect("RCPT TO:<b@example.org> NOTIFY=NEVER\r\n", "555 5.5.4")
        .await;
    s.expect("QUIT\r\n", "221 2.0.0").await;
}

#[tokio::test]
async fn an_overlong_line_gets_500_5_5_2_and_the_session_goes_on() {
    let mut s = Mem::start(|c| c.server.max_line_length = 512, false).await;
    s.expect(&format!("EHLO {}\r\n", "a".repeat(5000)), "500 5.5.2")
        .await;
    s.expect("EHLO client.test\r\n", "250").await;
}

#[tokio::test]
async fn too_many_recipients_get_452_4_5_3() {
    let mut s = Mem::start(|c| c.server.max_recipients = 2, false).await;
    s.expect("EHLO client.test\r\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<r1@example.org>\r\n", "250").await;
    // A refused recipient does not use up the budget.
    s.expect("RCPT TO:<stop@example.com>\r\n", "550 5.7.1")
        .await;
    s.expect("RCPT TO:<r2@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<r3@example.org>\r\n", "452 4.5.3").await;
    s.expect("DATA\r\n", "354").await;
    s.expect("x\r\n.\r\n", "250").await;
}

#[tokio::test]
async fn oversized_messages_get_552_5_3_4() {
    let mut s = Mem::start(|c| c.server.max_message_size = 2048, false).await;
    s.expect("EHLO client.test\r\n", "250-relay.test").await;
    s.expect("MAIL FROM:<a@example.org> SIZE=100000\r\n", "552 5.3.4")
        .await;
    s.expect("MAIL FROM:<a@example.org> SIZE=100\r\n", "250")
        .await;
    s.expect("RCPT TO:<r1@example.org>\r\n", "250").await;
    s.expect("DATA\r\n", "354").await;
    let big = format!(
        "Subject: big\r\n\r\n{}.\r\n",
        "0123456789abcdef\r\n".repeat(500)
    );
    s.expect(&big, "552 5.3.4").await;
    assert!(s.outbox().is_empty());
    // The session is still usable.
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<r1@example.org>\r\n", "250").await;
    s.expect("DATA\r\n", "354").await;
    s.expect("small\r\n.\r\n", "250").await;
    assert_eq!(s.outbox().len(), 1);
}

#[tokio::test]
async fn an_idle_client_gets_421_4_4_2() {
    let mut s = Mem::start(
        |c| c.server.command_timeout = Duration::from_millis(200),
        false,
    )
    .await;
    let reply = s.reply().await;
    assert!(reply.starts_with("421 4.4.2"), "{reply}");
}

#[tokio::test]
async fn a_stalled_data_transfer_gets_421_and_relays_nothing() {
    let mut s = Mem::start(
        |c| c.server.data_timeout = Duration::from_millis(200),
        false,
    )
    .await;
    s.expect("EHLO client.test\r\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<r1@example.org>\r\n", "250").await;
    s.expect("DATA\r\n", "354").await;
    s.send("Subject: slow\r\n\r\npart").await;
    let reply = s.reply().await;
    assert!(reply.starts_with("421 4.4.2"), "{reply}");
    assert!(s.outbox().is_empty());
}

#[tokio::test]
async fn a_failing_policy_gives_451_4_3_0_and_relays_nothing() {
    let mut s = Mem::start(|_| {}, true).await;
    s.expect("EHLO client.test\r\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<anyone@example.org>\r\n", "451 4.3.0")
        .await;
    s.expect("RCPT TO:<stop@example.com>\r\n", "451 4.3.0")
        .await;
    s.expect("DATA\r\n", "554 5.5.1").await;
    assert!(s.outbox().is_empty());
    let records = common::read_decisions(&s.dir.path().join("decisions.jsonl"), 2).await;
    assert!(records.iter().all(|r| r.decision == Decision::Defer
        && r.reason.map(|r| r.as_str()) == Some("policy-unavailable")));
}

#[tokio::test]
async fn a_failing_policy_over_sockets_never_lets_a_recipient_through() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start_with(
        &upstream.url(),
        |_| {},
        Hooks {
            lookup: Some(Arc::new(Broken)),
            ..Hooks::default()
        },
    )
    .await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "451 4.3.0").await;
    c.expect("DATA\r\n", "554 5.5.1").await;
    c.expect("QUIT\r\n", "221").await;
    assert_eq!(*upstream.connections.lock().unwrap(), 0);
    relay.stop().await;
}

#[tokio::test]
async fn smuggled_end_of_data_sequences_stay_inside_one_message() {
    let mut s = Mem::start(|_| {}, false).await;
    s.expect("EHLO client.test\r\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<r1@example.org>\r\n", "250").await;
    s.expect("DATA\r\n", "354").await;
    s.send(
        "Subject: one\r\n\r\nbefore\n.\nMAIL FROM:<evil@example.org>\r\n\
         between\r\n.\nRCPT TO:<stop@example.com>\r\nafter\r\n.\r\n",
    )
    .await;
    let reply = s.reply().await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let outbox = s.outbox();
    assert_eq!(outbox.len(), 1, "exactly one message");
    let text = String::from_utf8(outbox[0].clone()).unwrap();
    assert!(
        text.contains("MAIL FROM:<evil@example.org>") && text.contains("after"),
        "{text}"
    );
    assert!(!text.contains("\n.\n"), "bare LFs are normalised: {text:?}");
}

#[tokio::test]
async fn connections_over_the_limit_get_421_4_3_2() {
    let relay = TestRelay::start("capture:outbox", |c| c.server.max_connections = 1).await;
    let (_first, greeting) = Client::connect(relay.addr).await;
    assert!(greeting.starts_with("220"), "{greeting}");
    let (_second, refused) = Client::connect(relay.addr).await;
    assert!(refused.starts_with("421 4.3.2"), "{refused}");
    relay.stop().await;
}

#[tokio::test]
async fn every_rcpt_decision_is_logged_with_the_schema_fields() {
    let mut s = Mem::start(|_| {}, false).await;
    s.expect("EHLO client.test\r\n", "250").await;
    s.expect("MAIL FROM:<rep@sales.example>\r\n", "250").await;
    s.expect("RCPT TO:<Stop+x@Example.com>\r\n", "550 5.7.1")
        .await;
    s.expect("RCPT TO:<ok@example.org>\r\n", "250").await;
    s.expect("DATA\r\n", "354").await;
    s.expect("Message-ID: <abc@sales.example>\r\n\r\nhi\r\n.\r\n", "250")
        .await;
    let records = common::read_decisions(&s.dir.path().join("decisions.jsonl"), 3).await;
    let reject = &records[0];
    assert_eq!(reject.decision, Decision::Reject);
    assert_eq!(reject.client, "192.0.2.7:40000");
    assert_eq!(reject.from, "rep@sales.example");
    assert_eq!(reject.rcpt, "Stop+x@Example.com");
    assert_eq!(
        (reject.code, reject.status.as_deref()),
        (550, Some("5.7.1"))
    );
    assert_eq!(reject.reason.map(|r| r.as_str()), Some("unsubscribe"));
    assert_eq!(reject.rule.map(|r| r.as_str()), Some("plus-tag"));
    assert_eq!(reject.target.as_deref(), Some("stop@example.com"));
    assert_eq!(records[1].decision, Decision::Accept);
    assert_eq!(records[2].decision, Decision::Relayed);
    assert_eq!(records[2].rcpt, "ok@example.org");
    assert_eq!(records[2].message_id.as_deref(), Some("abc@sales.example"));
    assert_eq!(records[0].session, records[2].session);
    // Every line carries every field, null when unknown.
    let raw = std::fs::read_to_string(s.dir.path().join("decisions.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    for field in [
        "ts",
        "session",
        "client",
        "user",
        "from",
        "rcpt",
        "decision",
        "code",
        "status",
        "reason",
        "rule",
        "message_id",
        "upstream",
    ] {
        assert!(first.get(field).is_some(), "missing {field} in {first}");
    }
}

#[tokio::test]
async fn a_data_transfer_below_the_rate_floor_is_cut_off() {
    let mut s = Mem::start_with_limits(
        |c| c.server.data_min_rate = 100_000,
        |l| l.data_rate_grace = Duration::from_millis(300),
        false,
    )
    .await;
    s.expect("EHLO client.test\r\n", "250").await;
    s.expect("MAIL FROM:<a@example.org>\r\n", "250").await;
    s.expect("RCPT TO:<r1@example.org>\r\n", "250").await;
    s.expect("DATA\r\n", "354").await;
    for _ in 0..8 {
        // The relay may close mid-loop; later writes then fail, which is the point.
        let _ = s.writer.write_all(b"slow\r\n").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = s.reply().await;
    assert!(reply.starts_with("421 4.4.2"), "{reply}");
    assert!(s.outbox().is_empty(), "nothing relayed");
}
