//! Safe to expose: TLS, AUTH, no open relay, limits against abuse, reload, store faults.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::{Client, Script, TestPki, TestRelay, TestUpstream};
use dnc_relay::address::Target;
use dnc_relay::config::{AuthUser, Config};
use dnc_relay::model::{Actor, Reason, Source, Units};
use dnc_relay::server::Hooks;
use dnc_relay::store::NewEntry;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// A line client over any stream (plain or TLS).
struct Lines<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Lines<S> {
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.io.read_line(&mut line))
                .await
                .expect("a reply within 10 s")
                .unwrap_or(0);
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
        self.io
            .get_mut()
            .write_all(command.as_bytes())
            .await
            .unwrap();
        let reply = self.reply().await;
        assert!(
            reply.starts_with(prefix),
            "after {command:?}: expected {prefix:?}, got {reply:?}"
        );
        reply
    }

    fn into_inner(self) -> S {
        self.io.into_inner()
    }
}

async fn plain(addr: SocketAddr) -> Lines<TcpStream> {
    let mut c = Lines {
        io: BufReader::new(TcpStream::connect(addr).await.unwrap()),
    };
    assert!(c.reply().await.starts_with("220"));
    c
}

/// EHLO, STARTTLS, handshake, EHLO again; returns the TLS client and the second EHLO reply.
async fn starttls(
    addr: SocketAddr,
    pki: &TestPki,
) -> (Lines<tokio_rustls::client::TlsStream<TcpStream>>, String) {
    let mut c = plain(addr).await;
    let ehlo = c.expect("EHLO client.test\r\n", "250").await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    c.expect("STARTTLS\r\n", "220 2.0.0").await;
    let tls = tls_connect(c.into_inner(), pki).await;
    let mut t = Lines {
        io: BufReader::new(tls),
    };
    let ehlo = t.expect("EHLO client.test\r\n", "250").await;
    assert!(
        !ehlo.contains("STARTTLS"),
        "no STARTTLS once encrypted: {ehlo}"
    );
    (t, ehlo)
}

async fn tls_connect(tcp: TcpStream, pki: &TestPki) -> tokio_rustls::client::TlsStream<TcpStream> {
    let connector = tokio_rustls::TlsConnector::from(pki.client.clone());
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the relay")
}

fn plain_auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// The accounts' hashes, computed once (argon2 is slow on purpose, slower in debug builds).
fn hashes() -> &'static (String, String) {
    static HASHES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    HASHES.get_or_init(|| {
        (
            dnc_relay::access::hash_password(b"correct horse").unwrap(),
            dnc_relay::access::hash_password(b"invoices").unwrap(),
        )
    })
}

/// A relay that trusts nobody, with TLS, one account, and the test upstream.
async fn exposed(upstream: &str, pki: &TestPki, tweak: impl FnOnce(&mut Config)) -> TestRelay {
    let certs = tempfile::tempdir().unwrap();
    let cert = certs.path().join("relay.pem");
    let key = certs.path().join("relay.key");
    std::fs::write(&cert, &pki.chain_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let relay = TestRelay::start(upstream, |c| {
        c.server.trusted_networks = vec![];
        c.server.tls_listen = vec!["127.0.0.1:0".parse().unwrap()];
        c.tls.cert_file = Some(cert);
        c.tls.key_file = Some(key);
        let (tool, billing) = hashes();
        c.auth.users.push(AuthUser {
            name: "sales-tool".into(),
            password_hash: tool.clone(),
            senders: vec![],
        });
        c.auth.users.push(AuthUser {
            name: "billing".into(),
            password_hash: billing.clone(),
            senders: vec!["@billing.example".into()],
        });
        tweak(c);
    })
    .await;
    // The certificate files are loaded at start; the directory can go.
    drop(certs);
    relay
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_unauthenticated_client_cannot_relay_to_anyone() {
    let upstream = TestUpstream::start(Script::default()).await;
    let pki = TestPki::new();
    let relay = exposed(&upstream.url(), &pki, |_| {}).await;
    let (mut c, _) = Client::connect(relay.addr).await;
    c.expect("EHLO client.test\r\n", "250").await;
    for from in ["rep@sales.example", "", "postmaster@relay.test"] {
        c.expect(&format!("MAIL FROM:<{from}>\r\n"), "530 5.7.0")
            .await;
    }
    c.expect("RCPT TO:<victim@example.com>\r\n", "503 5.5.1")
        .await;
    c.expect("DATA\r\n", "503 5.5.1").await;
    drop(c);
    assert_eq!(
        *upstream.connections.lock().unwrap(),
        0,
        "nothing reached the upstream"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_offered_only_after_starttls_and_then_relays() {
    let upstream = TestUpstream::start(Script::default()).await;
    let pki = TestPki::new();
    let relay = exposed(&upstream.url(), &pki, |_| {}).await;
    let mut c = plain(relay.addr).await;
    let ehlo = c.expect("EHLO client.test\r\n", "250").await;
    assert!(!ehlo.contains("AUTH"), "no AUTH in cleartext: {ehlo}");
    c.expect(
        &format!(
            "AUTH PLAIN {}\r\n",
            plain_auth("sales-tool", "correct horse")
        ),
        "538 5.7.11",
    )
    .await;

    let (mut t, ehlo) = starttls(relay.addr, &pki).await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    t.expect(
        &format!(
            "AUTH PLAIN {}\r\n",
            plain_auth("sales-tool", "correct horse")
        ),
        "235 2.7.0",
    )
    .await;
    t.expect("MAIL FROM:<rep@sales.example>\r\n", "250 2.1.0")
        .await;
    t.expect("RCPT TO:<prospect@example.com>\r\n", "250 2.1.5")
        .await;
    t.expect("DATA\r\n", "354").await;
    t.expect("Subject: over TLS\r\n\r\nhello\r\n.\r\n", "250 2.0.0")
        .await;
    t.expect("QUIT\r\n", "221").await;
    assert_eq!(upstream.received().len(), 1);
    let records = relay.decisions(2).await;
    assert_eq!(
        records[0].user.as_deref(),
        Some("sales-tool"),
        "the user is on the record"
    );
    drop(c);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_works_and_a_wrong_password_gets_535() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |_| {}).await;
    let (mut t, _) = starttls(relay.addr, &pki).await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    t.expect(
        &format!("AUTH PLAIN {}\r\n", plain_auth("sales-tool", "wrong")),
        "535 5.7.8",
    )
    .await;
    t.expect(
        &format!("AUTH PLAIN {}\r\n", plain_auth("nobody", "correct horse")),
        "535 5.7.8",
    )
    .await;
    t.expect("AUTH LOGIN\r\n", "334 VXNlcm5hbWU6").await;
    t.expect(&format!("{}\r\n", b64("sales-tool")), "334 UGFzc3dvcmQ6")
        .await;
    t.expect(&format!("{}\r\n", b64("correct horse")), "235 2.7.0")
        .await;
    t.expect("AUTH LOGIN\r\n", "503").await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_limited_to_some_senders_gets_553_for_others() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |_| {}).await;
    let (mut t, _) = starttls(relay.addr, &pki).await;
    t.expect(
        &format!("AUTH PLAIN {}\r\n", plain_auth("billing", "invoices")),
        "235",
    )
    .await;
    t.expect("MAIL FROM:<ceo@sales.example>\r\n", "553 5.7.1")
        .await;
    t.expect("MAIL FROM:<invoices@eu.billing.example>\r\n", "250")
        .await;
    t.expect("QUIT\r\n", "221").await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_pipelined_after_starttls_are_discarded() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |c| {
        c.server.trusted_networks = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let mut c = plain(relay.addr).await;
    c.expect("EHLO client.test\r\n", "250").await;
    // The injected MAIL arrives in the same segment as STARTTLS, in clear.
    c.expect("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n", "220")
        .await;
    let mut t = Lines {
        io: BufReader::new(tls_connect(c.into_inner(), &pki).await),
    };
    // Were the MAIL executed, the session would now be in a transaction (or have a reply
    // queued); instead it is a fresh session that needs EHLO.
    t.expect("MAIL FROM:<real@sales.example>\r\n", "503 5.5.1")
        .await;
    t.expect("EHLO client.test\r\n", "250").await;
    t.expect("MAIL FROM:<real@sales.example>\r\n", "250").await;
    t.expect("QUIT\r\n", "221").await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_implicit_tls_listener_speaks_tls_from_the_first_byte() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |_| {}).await;
    let addr = relay.server.tls_addrs()[0];
    let tls = tls_connect(TcpStream::connect(addr).await.unwrap(), &pki).await;
    let mut t = Lines {
        io: BufReader::new(tls),
    };
    assert!(t.reply().await.starts_with("220 relay.test"));
    let ehlo = t.expect("EHLO client.test\r\n", "250").await;
    assert!(
        ehlo.contains("AUTH PLAIN LOGIN") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_auth_is_offered_on_loopback_only_when_allowed() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |c| {
        c.auth.allow_plaintext_on_loopback = true
    })
    .await;
    let mut c = plain(relay.addr).await;
    let ehlo = c.expect("EHLO client.test\r\n", "250").await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    c.expect(
        &format!(
            "AUTH PLAIN {}\r\n",
            plain_auth("sales-tool", "correct horse")
        ),
        "235",
    )
    .await;
    c.expect("MAIL FROM:<rep@sales.example>\r\n", "250").await;
    c.expect("QUIT\r\n", "221").await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_client_limit_get_421() {
    let relay = TestRelay::start("capture:outbox", |c| {
        c.server.max_connections_per_client = 2
    })
    .await;
    let (_a, ga) = Client::connect(relay.addr).await;
    let (_b, gb) = Client::connect(relay.addr).await;
    let (_c, gc) = Client::connect(relay.addr).await;
    assert!(ga.starts_with("220") && gb.starts_with("220"), "{ga} {gb}");
    assert!(gc.starts_with("421 4.3.2"), "{gc}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_without_mail_and_errors_are_limited_but_refusals_are_not_errors() {
    let relay = TestRelay::start("capture:outbox", |c| {
        c.server.max_commands_without_mail = 5;
        c.server.max_errors = 3;
    })
    .await;
    relay
        .server
        .store()
        .add(
            NewEntry {
                target: Target::parse("@listed.example").unwrap(),
                reason: Reason::Unsubscribe,
                source: Source::Admin,
                evidence: String::new(),
                units: Units::all(),
            },
            Actor::system(),
        )
        .await
        .unwrap();
    // Twenty policy refusals in a row: normal traffic, no error, no slowdown.
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    let started = std::time::Instant::now();
    for i in 0..20 {
        c.expect(&format!("RCPT TO:<p{i}@listed.example>\r\n"), "550 5.7.1")
            .await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusals are not tarpitted"
    );
    c.expect("RCPT TO:<ok@fine.example>\r\n", "250").await;
    // Junk commands are errors: the third closes the session.
    c.expect("FOO\r\n", "500").await;
    c.expect("BAR\r\n", "500").await;
    c.expect("BAZ\r\n", "500").await;
    let closing = c.reply().await;
    assert!(closing.starts_with("421 4.7.0"), "{closing}");
    // Commands that never start a transaction are limited too.
    let (mut d, _) = Client::connect(relay.addr).await;
    d.expect("EHLO client.test\r\n", "250").await;
    for _ in 0..4 {
        d.expect("NOOP\r\n", "250").await;
    }
    d.send("NOOP\r\n").await;
    let reply = d.read_to_end().await;
    assert!(reply.contains("421 4.7.0"), "{reply}");
    relay.stop().await;
}

/// Sends one message to `rcpt` through `addr`; the reply after the data.
async fn send_one(addr: SocketAddr, rcpt: &str) -> String {
    let mut c = Client::ready(addr, "rep@sales.example").await;
    let reply = c.expect(&format!("RCPT TO:<{rcpt}>\r\n"), "").await;
    if !reply.starts_with("250") {
        c.expect("QUIT\r\n", "221").await;
        return reply;
    }
    c.expect("DATA\r\n", "354").await;
    let reply = c.expect("Subject: t\r\n\r\nhi\r\n.\r\n", "").await;
    c.expect("QUIT\r\n", "221").await;
    reply
}

async fn admin_add(
    relay: &TestRelay,
    target: &str,
) -> Result<dnc_relay::admin::ops::suppress::Added, dnc_relay::admin::ClientError> {
    let socket = relay.socket();
    let target = target.to_string();
    tokio::task::spawn_blocking(move || {
        dnc_relay::admin::AdminClient::connect(&socket)?.call(
            dnc_relay::admin::ops::suppress::SuppressAdd {
                target,
                reason: Reason::Unsubscribe,
                source: None,
                evidence: None,
                units: Units::all(),
            },
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_defers_every_recipient_until_the_store_writes_again() {
    let upstream = TestUpstream::start(Script::default()).await;
    let fault = Arc::new(AtomicBool::new(false));
    let relay = TestRelay::start_with(
        &upstream.url(),
        |_| {},
        Hooks {
            store_fault: Some(fault.clone()),
            ..Hooks::default()
        },
    )
    .await;
    admin_add(&relay, "kept@example.com").await.unwrap();
    // Relayed just before the disk fills up: its send record is not yet durable.
    assert!(send_one(relay.addr, "before@example.com")
        .await
        .starts_with("250"));
    fault.store(true, Ordering::Relaxed);

    // The disk is full: an add cannot be recorded, and neither can a send.
    let add = admin_add(&relay, "new@example.com").await;
    assert!(
        matches!(
            add,
            Err(dnc_relay::admin::ClientError::Refused {
                code: dnc_relay::admin::ErrorCode::StoreUnavailable,
                ..
            })
        ),
        "{add:?}"
    );
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<anyone@example.com>\r\n", "451 4.3.0")
        .await;
    c.expect("RCPT TO:<kept@example.com>\r\n", "451 4.3.0")
        .await;
    c.expect("DATA\r\n", "554 5.5.1").await;
    c.expect("QUIT\r\n", "221").await;
    assert_eq!(
        upstream.received().len(),
        1,
        "nothing relayed while unwritable"
    );
    // It stays that way while the disk stays full.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<anyone@example.com>\r\n", "451 4.3.0")
        .await;
    c.expect("QUIT\r\n", "221").await;

    // Space comes back: the relay recovers by itself, with nothing acknowledged lost.
    fault.store(false, Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = Client::ready(relay.addr, "rep@sales.example").await;
        let reply = c.expect("RCPT TO:<anyone@example.com>\r\n", "").await;
        c.expect("QUIT\r\n", "221").await;
        if reply.starts_with("250") {
            break;
        }
        assert!(reply.starts_with("451 4.3.0"), "{reply}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<kept@example.com>\r\n", "550 5.7.1")
        .await;
    c.expect("QUIT\r\n", "221").await;
    admin_add(&relay, "new@example.com").await.unwrap();
    assert!(send_one(relay.addr, "new@example.com")
        .await
        .starts_with("550 5.7.1"));
    let store = relay.server.store();
    store.settle().await.unwrap();
    let records = store
        .attempts_to("before@example.com", dnc_relay::model::Timestamp(0))
        .unwrap();
    assert_eq!(
        records.len(),
        1,
        "the send record from before the fault is kept"
    );
    relay.stop().await;
}

/// A lookup that panics, as redb does on some damaged pages.
struct Panicking;

impl dnc_relay::policy::SuppressionLookup for Panicking {
    fn find_all(
        &self,
        _: &[&str],
    ) -> Result<Vec<(usize, dnc_relay::model::Entry)>, dnc_relay::store::StoreError> {
        panic!("simulated damaged page")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_lookup_defers_that_recipient_and_the_session_goes_on() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start_with(
        &upstream.url(),
        |_| {},
        Hooks {
            lookup: Some(Arc::new(Panicking)),
            ..Hooks::default()
        },
    )
    .await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "451 4.3.0").await;
    c.expect("RCPT TO:<b@example.com>\r\n", "451 4.3.0").await;
    c.expect("RSET\r\n", "250").await;
    c.expect("NOOP\r\n", "250").await;
    c.expect("QUIT\r\n", "221").await;
    let lines = relay.decisions(2).await;
    assert!(lines
        .iter()
        .all(|l| l.code == 451 && l.reason.map(|r| r.as_str()) == Some("policy-unavailable")));
    assert_eq!(
        *upstream.connections.lock().unwrap(),
        0,
        "nothing relayed unchecked"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_trickled_byte_by_byte_is_cut_after_command_timeout() {
    let relay = TestRelay::start("capture:outbox", |c| {
        c.server.command_timeout = Duration::from_secs(2)
    })
    .await;
    let (mut c, greeting) = Client::connect(relay.addr).await;
    assert!(greeting.starts_with("220"), "{greeting}");
    let started = std::time::Instant::now();
    let mut closed = false;
    for b in b"NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP" {
        if c.try_send_bytes(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    let rest = c.read_to_end().await;
    assert!(rest.contains("421 4.4.2"), "{rest:?} (closed: {closed})");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "a line may take command_timeout in all, not per byte: {:?}",
        started.elapsed()
    );
    relay.stop().await;
}

/// A client connected from `source` (any 127.x address works on loopback).
async fn client_from(source: &str, relay: SocketAddr) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(relay).await.unwrap();
    let mut c = Client::from_stream(stream);
    assert!(c.reply().await.starts_with("220"));
    c.expect("EHLO client.test\r\n", "250").await;
    c.expect("MAIL FROM:<rep@sales.example>\r\n", "250").await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_upstream_connection() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |c| {
        c.upstream.max_connections = 4;
        c.upstream.max_connections_per_client = 2;
        c.upstream.connect_timeout = Duration::from_secs(1);
        c.server.trusted_networks = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // The greedy client holds two transactions open past an accepted RCPT...
    let mut held = Vec::new();
    for i in 0..2 {
        let mut c = client_from("127.0.0.1", relay.addr).await;
        c.expect(&format!("RCPT TO:<h{i}@example.com>\r\n"), "250")
            .await;
        held.push(c);
    }
    // ...and its third waits for its own share, then is told to come back later.
    let mut third = client_from("127.0.0.1", relay.addr).await;
    third
        .expect("RCPT TO:<h3@example.com>\r\n", "451 4.4.1")
        .await;
    // Everyone else still gets through.
    let mut other = client_from("127.0.0.2", relay.addr).await;
    other.expect("RCPT TO:<o@example.com>\r\n", "250").await;
    other.expect("DATA\r\n", "354").await;
    other.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    drop(held);
    relay.stop().await;
}

#[tokio::test]
async fn any_size_over_the_limit_is_552_and_a_malformed_one_501() {
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    let (mut c, _) = Client::connect(relay.addr).await;
    c.expect("EHLO client.test\r\n", "250").await;
    for size in [
        "99999999999999999999999",
        "99999999999999999999",
        "10485761",
    ] {
        c.expect(
            &format!("MAIL FROM:<a@example.org> SIZE={size}\r\n"),
            "552 5.3.4",
        )
        .await;
    }
    c.expect("MAIL FROM:<a@example.org> SIZE=12ab\r\n", "501 5.5.4")
        .await;
    c.expect("MAIL FROM:<a@example.org> SIZE= 5\r\n", "501 5.5.4")
        .await;
    c.expect("MAIL FROM:<a@example.org> SIZE=1000\r\n", "250")
        .await;
    c.expect("QUIT\r\n", "221").await;
    relay.stop().await;
}

#[tokio::test]
async fn recipients_past_the_limit_count_as_errors_and_end_the_session() {
    let relay = TestRelay::start("capture:outbox", |c| {
        c.server.max_recipients = 2;
        c.server.max_errors = 5;
    })
    .await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "250").await;
    c.expect("RCPT TO:<b@example.com>\r\n", "250").await;
    let mut batch = String::new();
    for i in 0..10_000 {
        batch.push_str(&format!("RCPT TO:<x{i}@example.com>\r\n"));
    }
    let _ = c.try_send_bytes(batch.as_bytes()).await;
    let rest = c.read_to_end().await;
    assert_eq!(rest.matches("452 4.5.3").count(), 5, "{rest}");
    assert!(rest.contains("421 4.7.0"), "{rest}");
    let lines = relay.decisions(6).await;
    assert!(lines.len() < 10, "{} decision lines", lines.len());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_slows_down_then_gets_454_per_address_and_per_user() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |c| {
        c.auth.allow_plaintext_on_loopback = true;
        c.auth.max_failures = 3;
        c.auth.lockout = Duration::from_secs(60);
        c.server.max_errors = 20;
    })
    .await;
    let guess = |n: usize| {
        format!(
            "AUTH PLAIN {}\r\n",
            plain_auth("sales-tool", &format!("guess{n}"))
        )
    };
    let started = std::time::Instant::now();
    // Three guesses, each on a connection of its own, as a parallel guesser would.
    for n in 0..3 {
        let mut c = plain(relay.addr).await;
        c.expect("EHLO client.test\r\n", "250").await;
        c.expect(&guess(n), "535 5.7.8").await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1750),
        "failures are answered ever more slowly: {:?}",
        started.elapsed()
    );
    // Locked out: even the right password is not checked from here...
    let mut c = plain(relay.addr).await;
    c.expect("EHLO client.test\r\n", "250").await;
    let right = format!(
        "AUTH PLAIN {}\r\n",
        plain_auth("sales-tool", "correct horse")
    );
    c.expect(&right, "454 4.7.0").await;
    // ...nor for that user from another address; other users from there are fine.
    let stream = {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        socket.connect(relay.addr).await.unwrap()
    };
    let mut other = Lines {
        io: BufReader::new(stream),
    };
    other.reply().await;
    other.expect("EHLO client.test\r\n", "250").await;
    other.expect(&right, "454 4.7.0").await;
    other
        .expect(
            &format!("AUTH PLAIN {}\r\n", plain_auth("billing", "invoices")),
            "235",
        )
        .await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_connections_are_capped_and_request_lines_bounded() {
    use std::io::{BufRead, Write};
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    let socket = relay.socket();
    let answer = |s: &std::os::unix::net::UnixStream| {
        let mut line = String::new();
        std::io::BufReader::new(s).read_line(&mut line).unwrap();
        line
    };
    // One user cannot take every place: past its own share it is refused.
    let held: Vec<_> = (0..dnc_relay::admin::server::MAX_CONNECTIONS_PER_USER)
        .map(|_| std::os::unix::net::UnixStream::connect(&socket).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let extra = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let refused = answer(&extra);
    assert!(refused.contains("admin connections already"), "{refused}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A line longer than any request needs is refused and the connection closed.
    let mut big = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let line = format!("{{\"v\":1,\"x\":\"{}\"}}\n", "y".repeat(3 << 20));
    let _ = big.write_all(line.as_bytes());
    let refused = answer(&big);
    assert!(refused.contains("too long"), "{refused}");
    // A normal request still works.
    let mut admin = dnc_relay::admin::AdminClient::connect(&socket).unwrap();
    assert!(admin.call(dnc_relay::admin::ops::suppress::Ping).is_ok());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_all_at_once_are_counted_before_they_are_checked() {
    let pki = TestPki::new();
    let relay = exposed("capture:outbox", &pki, |c| {
        c.auth.allow_plaintext_on_loopback = true;
        c.auth.max_failures = 3;
    })
    .await;
    let addr = relay.addr;
    let guesses: Vec<_> = (0..20)
        .map(|n| {
            tokio::spawn(async move {
                let mut c = plain(addr).await;
                c.expect("EHLO client.test\r\n", "250").await;
                let auth = format!(
                    "AUTH PLAIN {}\r\n",
                    plain_auth("sales-tool", &format!("g{n}"))
                );
                c.expect(&auth, "").await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for g in guesses {
        replies.push(g.await.unwrap());
    }
    let checked = replies.iter().filter(|r| r.starts_with("535")).count();
    let refused = replies
        .iter()
        .filter(|r| r.starts_with("454 4.7.0"))
        .count();
    assert_eq!((checked, refused), (3, 17), "{replies:?}");
    relay.stop().await;
}
