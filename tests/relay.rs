//! The relay over real sockets: policy at RCPT, bytes upstream, the decision log.

mod common;

use std::collections::HashSet;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::address::Target;
use dnc_relay::audit::Decision;
use dnc_relay::model::{Actor, Reason, Source, Units};
use dnc_relay::store::NewEntry;

async fn suppress(relay: &TestRelay, target: &str, reason: Reason) {
    relay
        .server
        .store()
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

#[tokio::test]
async fn suppressed_recipient_gets_550_at_rcpt_in_every_normalised_variant() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    suppress(&relay, "alice@example.com", Reason::Unsubscribe).await;
    suppress(&relay, "j.doe@gmail.com", Reason::Complaint).await;
    suppress(&relay, "@corp.example", Reason::Legal).await;

    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    let refused = [
        ("alice@example.com", "unsubscribe"),
        ("ALICE@Example.COM", "unsubscribe"),
        (" alice@example.com", "unsubscribe"),
        ("alice+newsletter@example.com", "unsubscribe"),
        ("jdoe@gmail.com", "complaint"),
        ("J.D.O.E@googlemail.com", "complaint"),
        ("j.doe+x@gmail.com", "complaint"),
        ("ceo@corp.example", "legal"),
        ("someone@eu.mail.corp.example", "legal"),
    ];
    for (rcpt, reason) in refused {
        let reply = c
            .expect(&format!("RCPT TO:<{rcpt}>\r\n"), "550 5.7.1")
            .await;
        assert!(reply.contains(reason), "{rcpt}: {reply}");
    }
    for allowed in ["bob@example.com", "alice@example.org", "x@notcorp.example"] {
        c.expect(&format!("RCPT TO:<{allowed}>\r\n"), "250 2.1.5")
            .await;
    }
    c.expect("QUIT\r\n", "221").await;
    let records = relay.decisions(refused.len() + 3).await;
    let rules: Vec<_> = records
        .iter()
        .filter(|r| r.decision == Decision::Reject)
        .map(|r| r.rule.unwrap().as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "address",
            "address",
            "address",
            "plus-tag",
            "gmail-dots",
            "gmail-dots",
            "plus-tag",
            "domain",
            "parent-domain"
        ]
    );
    relay.stop().await;
}

#[tokio::test]
async fn hard_bounced_recipient_gets_550_5_1_1() {
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    suppress(&relay, "gone@example.com", Reason::HardBounce).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    let reply = c
        .expect("RCPT TO:<gone@example.com>\r\n", "550 5.1.1")
        .await;
    assert!(reply.contains("hard-bounce"), "{reply}");
    relay.stop().await;
}

#[tokio::test]
async fn allowed_message_arrives_upstream_byte_identical_through_lettre() {
    use lettre::address::Envelope;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    // 8-bit body, a line that needs dot stuffing, a lone dot line, long header.
    let message = "From: Rep <rep@sales.example>\r\n\
                   To: Bob <bob@example.com>\r\n\
                   Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\
                   Message-ID: <m-1@sales.example>\r\n\
                   Content-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: 8bit\r\n\
                   \r\n\
                   Grüße aus Köln — 8-bit body.\r\n\
                   .a line starting with a dot\r\n\
                   .\r\n\
                   ..two dots\r\n\
                   last line";
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(relay.addr.port())
        .build();
    let envelope = Envelope::new(
        Some("rep@sales.example".parse().unwrap()),
        vec!["bob@example.com".parse().unwrap()],
    )
    .unwrap();
    let response = transport
        .send_raw(&envelope, message.as_bytes())
        .await
        .unwrap();
    assert_eq!(u16::from(response.code()), 250);

    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["bob@example.com"]);
    assert!(
        received[0].mail_from.contains("BODY=8BITMIME"),
        "{}",
        received[0].mail_from
    );
    // lettre ends the data with CRLF . CRLF, so the message as sent is the text plus CRLF.
    assert_eq!(
        String::from_utf8_lossy(&received[0].data),
        format!("{message}\r\n"),
        "the upstream must get the message exactly as sent"
    );
    let records = relay.decisions(2).await;
    assert_eq!(records[0].decision, Decision::Accept);
    assert_eq!(records[1].decision, Decision::Relayed);
    assert_eq!(records[1].message_id.as_deref(), Some("m-1@sales.example"));
    assert!(records[1]
        .upstream
        .as_deref()
        .unwrap()
        .contains("queued as TEST123"));
    relay.stop().await;
}

#[tokio::test]
async fn smtputf8_recipient_is_relayed_with_smtputf8() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let (mut c, _) = Client::connect(relay.addr).await;
    c.expect("EHLO client.test\r\n", "250").await;
    c.expect(
        "MAIL FROM:<rep@sales.example> SMTPUTF8 BODY=8BITMIME\r\n",
        "250",
    )
    .await;
    c.expect("RCPT TO:<jürgen@münchen.example>\r\n", "250 2.1.5")
        .await;
    c.expect("DATA\r\n", "354").await;
    let body = "Subject: hallo\r\n\r\nGrüß dich, Jürgen\r\n";
    c.send(&format!("{body}.\r\n")).await;
    let reply = c.reply().await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let received = upstream.received();
    assert_eq!(received[0].rcpts, ["jürgen@münchen.example"]);
    assert!(received[0].mail_from.contains("SMTPUTF8"));
    assert_eq!(received[0].data, body.as_bytes());
    relay.stop().await;
}

#[tokio::test]
async fn non_ascii_recipient_without_smtputf8_is_refused() {
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<jürgen@example.com>\r\n", "553 5.6.7")
        .await;
    relay.stop().await;
}

#[tokio::test]
async fn mixed_recipients_only_the_allowed_reach_the_upstream() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    suppress(&relay, "stop@example.com", Reason::Unsubscribe).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<one@example.com>\r\n", "250").await;
    c.expect("RCPT TO:<stop@example.com>\r\n", "550 5.7.1")
        .await;
    c.expect("RCPT TO:<two@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250 2.0.0").await;
    c.expect("QUIT\r\n", "221").await;
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["one@example.com", "two@example.com"]);
    let records = relay.decisions(5).await;
    let relayed: HashSet<_> = records
        .iter()
        .filter(|r| r.decision == Decision::Relayed)
        .map(|r| r.rcpt.as_str())
        .collect();
    assert_eq!(
        relayed,
        HashSet::from(["one@example.com", "two@example.com"])
    );
    let rejected: Vec<_> = records
        .iter()
        .filter(|r| r.decision == Decision::Reject)
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].rcpt, "stop@example.com");
    assert_eq!(rejected[0].code, 550);
    assert_eq!(rejected[0].status.as_deref(), Some("5.7.1"));
    assert_eq!(rejected[0].reason.map(|r| r.as_str()), Some("unsubscribe"));
    assert_eq!(rejected[0].target.as_deref(), Some("stop@example.com"));
    relay.stop().await;
}

#[tokio::test]
async fn all_recipients_suppressed_never_touches_the_upstream() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    suppress(&relay, "@example.com", Reason::Unsubscribe).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "550 5.7.1").await;
    c.expect("DATA\r\n", "554 5.5.1").await;
    c.expect("QUIT\r\n", "221").await;
    assert_eq!(*upstream.connections.lock().unwrap(), 0);
    relay.stop().await;
}

#[tokio::test]
async fn upstream_refusing_one_recipient_passes_its_reply_and_delivers_the_rest() {
    let upstream = TestUpstream::start(Script {
        refuse: HashSet::from(["nobody@example.com".to_string()]),
        defer: HashSet::from(["busy@example.com".to_string()]),
        ..Script::default()
    })
    .await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<ok@example.com>\r\n", "250 2.1.5").await;
    let reply = c
        .expect("RCPT TO:<nobody@example.com>\r\n", "550 5.1.1")
        .await;
    assert!(reply.contains("User unknown"), "{reply}");
    c.expect("RCPT TO:<busy@example.com>\r\n", "450 4.2.0")
        .await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250 2.0.0").await;
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["ok@example.com"]);
    let records = relay.decisions(4).await;
    let nobody = records
        .iter()
        .find(|r| r.rcpt == "nobody@example.com")
        .unwrap();
    assert_eq!(nobody.decision, Decision::Reject);
    assert_eq!(nobody.reason.map(|r| r.as_str()), Some("upstream"));
    let busy = records
        .iter()
        .find(|r| r.rcpt == "busy@example.com")
        .unwrap();
    assert_eq!(busy.decision, Decision::Defer);
    relay.stop().await;
}

#[tokio::test]
async fn upstream_down_gives_451_4_4_1_at_rcpt_at_once() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let relay = TestRelay::start(&format!("smtp://127.0.0.1:{port}"), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    let started = std::time::Instant::now();
    c.expect("RCPT TO:<a@example.com>\r\n", "451 4.4.1").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    c.expect("RCPT TO:<b@example.com>\r\n", "451 4.4.1").await;
    c.expect("DATA\r\n", "554 5.5.1").await;
    let records = relay.decisions(2).await;
    assert!(records.iter().all(|r| r.decision == Decision::Defer));
    assert_eq!(
        records[0].reason.map(|r| r.as_str()),
        Some("upstream-unavailable")
    );
    c.expect("QUIT\r\n", "221").await;
    relay.stop().await;
}

#[tokio::test]
async fn upstream_greeting_421_gives_451() {
    let upstream = TestUpstream::start(Script {
        greet_421: true,
        ..Script::default()
    })
    .await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "451 4.4.1").await;
    c.expect("QUIT\r\n", "221").await;
    relay.stop().await;
}

#[tokio::test]
async fn upstream_hanging_after_data_never_gets_a_250_to_the_client() {
    let upstream = TestUpstream::start(Script {
        hang_after_data: true,
        ..Script::default()
    })
    .await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    // The relay's upstream data timeout is 2 s in tests.
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "451 4.4.1").await;
    let records = relay.decisions(2).await;
    assert_eq!(records[1].decision, Decision::Failed);
    relay.stop().await;
}

#[tokio::test]
async fn upstream_dropping_mid_data_gives_451_not_250() {
    let upstream = TestUpstream::start(Script {
        drop_mid_data: Some(10),
        ..Script::default()
    })
    .await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<a@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    let body = format!(
        "Subject: x\r\n\r\n{}\r\n.\r\n",
        "line of text\r\n".repeat(1000)
    );
    c.expect(&body, "451 4.4.1").await;
    assert!(upstream.received().is_empty());
    drop(c);
    relay.stop().await;
}

#[tokio::test]
async fn client_vanishing_mid_data_relays_nothing() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    {
        let mut c = Client::ready(relay.addr, "rep@sales.example").await;
        c.expect("RCPT TO:<a@example.com>\r\n", "250").await;
        c.expect("DATA\r\n", "354").await;
        c.send("Subject: half\r\n\r\nhalf a message\r\n").await;
    }
    // The upstream connection is closed without a final dot; give it a moment to notice.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(upstream.received().is_empty());
    // And the relay still works for the next client.
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<b@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: whole\r\n\r\nwhole\r\n.\r\n", "250")
        .await;
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["b@example.com"]);
    relay.stop().await;
}

#[tokio::test]
async fn upstream_connections_are_reused_across_messages() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    for i in 0..5 {
        if i > 0 {
            c.expect("MAIL FROM:<rep@sales.example>\r\n", "250").await;
        }
        c.expect(&format!("RCPT TO:<r{i}@example.com>\r\n"), "250")
            .await;
        c.expect("DATA\r\n", "354").await;
        c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    }
    assert_eq!(upstream.received().len(), 5);
    assert_eq!(*upstream.connections.lock().unwrap(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn rset_aborts_the_upstream_transaction() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<first@example.com>\r\n", "250").await;
    c.expect("RSET\r\n", "250").await;
    c.expect("MAIL FROM:<rep@sales.example>\r\n", "250").await;
    c.expect("RCPT TO:<second@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["second@example.com"]);
    relay.stop().await;
}

#[tokio::test]
async fn capture_upstream_writes_the_message_as_an_eml_file() {
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<bob@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    let reply = c
        .expect("Subject: staged\r\n\r\n..dot\r\n.\r\n", "250 2.0.0")
        .await;
    assert!(reply.contains("captured as"), "{reply}");
    let outbox = relay.dir.path().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    assert_eq!(
        std::fs::read(&files[0]).unwrap(),
        b"Subject: staged\r\n\r\n.dot\r\n"
    );
    relay.stop().await;
}

async fn relay_one_message_over_tls(mode: common::TlsMode, scheme: &str) {
    let pki = common::TestPki::new();
    let upstream = TestUpstream::start(Script {
        tls: Some(common::TestTls {
            mode,
            config: pki.server.clone(),
        }),
        ..Script::default()
    })
    .await;
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_file = ca_dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let url = format!(
        "{scheme}localhost:{}{}",
        upstream.addr.port(),
        if mode == common::TlsMode::StartTls {
            "?tls=required"
        } else {
            ""
        }
    );
    let relay = TestRelay::start(&url, |c| c.upstream.ca_file = Some(ca_file.clone())).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<bob@example.com>\r\n", "250 2.1.5").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: tls\r\n\r\nover TLS\r\n.\r\n", "250 2.0.0")
        .await;
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].encrypted, "the message must travel encrypted");
    assert_eq!(received[0].data, b"Subject: tls\r\n\r\nover TLS\r\n");
    relay.stop().await;
}

#[tokio::test]
async fn smtps_upstream_gets_the_message_over_implicit_tls() {
    relay_one_message_over_tls(common::TlsMode::Implicit, "smtps://").await;
}

#[tokio::test]
async fn starttls_upstream_gets_the_message_over_tls() {
    relay_one_message_over_tls(common::TlsMode::StartTls, "smtp://").await;
}

#[tokio::test]
async fn tls_required_refuses_an_upstream_without_starttls() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&format!("smtp://{}?tls=required", upstream.addr), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<bob@example.com>\r\n", "451 4.4.1").await;
    assert!(upstream.received().is_empty());
    drop(c);
    relay.stop().await;
}

#[tokio::test]
async fn an_untrusted_upstream_certificate_is_refused() {
    let pki = common::TestPki::new();
    let upstream = TestUpstream::start(Script {
        tls: Some(common::TestTls {
            mode: common::TlsMode::Implicit,
            config: pki.server.clone(),
        }),
        ..Script::default()
    })
    .await;
    // No ca_file: the test CA is not trusted.
    let relay = TestRelay::start(
        &format!("smtps://localhost:{}", upstream.addr.port()),
        |_| {},
    )
    .await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<bob@example.com>\r\n", "451 4.4.1").await;
    assert!(upstream.received().is_empty());
    drop(c);
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_transaction_in_flight_finish_then_says_421() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut busy = Client::ready(relay.addr, "rep@sales.example").await;
    busy.expect("RCPT TO:<bob@example.com>\r\n", "250").await;
    let (mut idle, _) = Client::connect(relay.addr).await;
    idle.expect("EHLO idle.test\r\n", "250").await;

    let TestRelay { server, dir, .. } = relay;
    let stopping = tokio::spawn(server.shutdown());
    // The idle session is told at once; the busy one may finish its message.
    let reply = idle.reply().await;
    assert!(reply.starts_with("421 4.3.2"), "{reply}");
    busy.expect("DATA\r\n", "354").await;
    busy.expect("Subject: last\r\n\r\nlast one\r\n.\r\n", "250 2.0.0")
        .await;
    let after = busy.reply().await;
    assert!(after.starts_with("421 4.3.2"), "{after}");
    stopping.await.unwrap().unwrap();
    assert_eq!(upstream.received().len(), 1);
    drop(dir);
}

#[tokio::test]
async fn the_admin_socket_is_created_with_mode_0660() {
    use std::os::unix::fs::PermissionsExt;
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    let mode = std::fs::metadata(relay.socket())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    relay.stop().await;
}

async fn relay_through(script: Script) -> Vec<common::Received> {
    let upstream = TestUpstream::start(script).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<one@example.com>\r\n", "250 2.1.5").await;
    c.expect("RCPT TO:<two@example.com>\r\n", "250 2.1.5").await;
    c.expect("DATA\r\n", "354").await;
    c.expect(
        "Subject: x\r\n\r\n..dot line\r\n..\r\nend\r\n.\r\n",
        "250 2.0.0",
    )
    .await;
    c.expect("QUIT\r\n", "221").await;
    relay.stop().await;
    upstream.received()
}

#[tokio::test]
async fn a_chunking_upstream_gets_the_message_as_one_bdat_chunk_byte_identical() {
    let received = relay_through(Script {
        chunking: true,
        ..Script::default()
    })
    .await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["one@example.com", "two@example.com"]);
    assert_eq!(
        received[0].data,
        b"Subject: x\r\n\r\n.dot line\r\n.\r\nend\r\n"
    );
}

#[tokio::test]
async fn an_upstream_without_pipelining_gets_one_command_at_a_time() {
    let received = relay_through(Script {
        no_pipelining: true,
        ..Script::default()
    })
    .await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpts, ["one@example.com", "two@example.com"]);
    assert_eq!(
        received[0].data,
        b"Subject: x\r\n\r\n.dot line\r\n.\r\nend\r\n"
    );
}

#[tokio::test]
async fn an_upstream_refusing_the_sender_refuses_every_recipient_with_its_reply() {
    let upstream = TestUpstream::start(Script {
        refuse_mail: true,
        ..Script::default()
    })
    .await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    let reply = c.expect("RCPT TO:<one@example.com>\r\n", "550 5.7.1").await;
    assert!(reply.contains("sender rejected"), "{reply}");
    c.expect("RCPT TO:<two@example.com>\r\n", "550 5.7.1").await;
    c.expect("DATA\r\n", "554 5.5.1").await;
    c.expect("QUIT\r\n", "221").await;
    assert!(upstream.received().is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn bare_cr_sequences_reach_the_upstream_as_crlf_lines_inside_one_message() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<bob@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    // An upstream that takes a lone CR for a line ending would see `.` alone on a line here,
    // end the message, and run the rest as commands (SMTP smuggling).
    c.send(
        "Subject: x\r\n\r\nbefore\r.\r\nMAIL FROM:<evil@example.org>\r\n\
         middle\r.\rRCPT TO:<stop@example.com>\r\nend\r\n.\r\n",
    )
    .await;
    let reply = c.reply().await;
    assert!(reply.starts_with("250"), "{reply}");
    c.expect("QUIT\r\n", "221").await;
    let received = upstream.received();
    assert_eq!(
        received.len(),
        1,
        "exactly one message reached the upstream"
    );
    assert_eq!(received[0].rcpts, ["bob@example.com"]);
    let data = &received[0].data;
    assert_eq!(
        String::from_utf8_lossy(data),
        "Subject: x\r\n\r\nbefore\r\n.\r\nMAIL FROM:<evil@example.org>\r\n\
         middle\r\n.\r\nRCPT TO:<stop@example.com>\r\nend\r\n"
    );
    assert!(
        data.windows(2)
            .enumerate()
            .all(|(i, w)| w[0] != b'\r' || w[1] == b'\n' || i + 1 == data.len()),
        "no bare CR reaches the upstream"
    );
    relay.stop().await;
}

/// A message of about `size` bytes whose lines often start with a dot (stuffing must survive
/// being cut into pieces), ending with CRLF.
fn big_message(size: usize, seed: u8) -> String {
    let mut m = format!("Subject: big {seed}\r\nMessage-ID: <big-{seed}@sales.example>\r\n\r\n");
    let mut i = 0usize;
    while m.len() < size {
        let dots = ".".repeat(i % 3);
        m.push_str(&format!(
            "{dots}line {i} of message {seed} {}\r\n",
            "x".repeat(i % 70)
        ));
        i += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_reach_the_upstream_byte_for_byte_through_the_spool() {
    for chunking in [false, true] {
        let upstream = TestUpstream::start(Script {
            chunking,
            ..Script::default()
        })
        .await;
        let relay = TestRelay::start(&upstream.url(), |c| {
            c.server.message_memory = 1024 * 1024;
            c.server.max_message_size = 8 * 1024 * 1024;
        })
        .await;
        let mut sent = Vec::new();
        for (seed, size) in [(1u8, 3 * 1024 * 1024 + 5), (2, 700 * 1024), (3, 5 * 1024)] {
            let message = big_message(size, seed);
            let mut c = Client::ready(relay.addr, "rep@sales.example").await;
            c.expect("RCPT TO:<bob@example.com>\r\n", "250").await;
            c.expect("DATA\r\n", "354").await;
            // Stuffed on the wire as a client must.
            let stuffed = message.replace("\r\n.", "\r\n..");
            c.send(&stuffed).await;
            c.expect(".\r\n", "250").await;
            c.expect("QUIT\r\n", "221").await;
            sent.push(message);
        }
        let received = upstream.received();
        assert_eq!(received.len(), 3, "chunking {chunking}");
        for (got, want) in received.iter().zip(&sent) {
            assert_eq!(got.data.len(), want.len(), "chunking {chunking}");
            assert!(
                got.data == want.as_bytes(),
                "chunking {chunking}: bytes differ"
            );
        }
        assert!(
            relay.server.spool().peak() <= 1024 * 1024,
            "message memory over its budget: {}",
            relay.server.spool().peak()
        );
        let records = relay.decisions(6).await;
        assert_eq!(
            records[1].message_id.as_deref(),
            Some("big-1@sales.example")
        );
        relay.stop().await;
    }
}

#[tokio::test]
async fn every_rcpt_refusal_is_on_the_record_whatever_its_cause() {
    let relay = TestRelay::start("capture:outbox", |_| {}).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    // A non-ASCII address without SMTPUTF8 in MAIL FROM.
    c.expect("RCPT TO:<jösé@example.com>\r\n", "553 5.6.7")
        .await;
    c.expect("RCPT TO:<not an address>\r\n", "501").await;
    c.expect("RCPT TO:<ann@example.com> NOTIFY=NEVER\r\n", "555")
        .await;
    c.expect("QUIT\r\n", "221").await;
    let lines = relay.decisions(3).await;
    let shown: Vec<(u16, &str, Option<&str>)> = lines
        .iter()
        .map(|l| (l.code, l.rcpt.as_str(), l.reason.map(|r| r.as_str())))
        .collect();
    assert_eq!(
        shown,
        [
            (553, "jösé@example.com", Some("needs-smtputf8")),
            (501, "not an address", Some("bad-address")),
            (555, "ann@example.com", Some("bad-parameter")),
        ]
    );
    assert!(lines.iter().all(|l| l.decision == Decision::Reject));
    // And in the contact's timeline.
    let store = relay.server.store();
    store.settle().await.unwrap();
    let key = dnc_relay::address::Target::parse("jösé@example.com")
        .unwrap()
        .match_key();
    let records = store.attempts_by_key(&key).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(matches!(
        &records[0].outcome,
        dnc_relay::model::AttemptOutcome::Rejected { reply } if reply.starts_with("553 5.6.7")
    ));
    relay.stop().await;
}

#[tokio::test]
async fn an_opt_out_acknowledged_during_a_transaction_stops_its_message() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |_| {}).await;
    let add = |target: &str| NewEntry {
        target: Target::parse(target).unwrap(),
        reason: Reason::Complaint,
        source: Source::Reply,
        evidence: String::new(),
        units: Units::all(),
    };
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<late@example.com>\r\n", "250").await;
    c.expect("RCPT TO:<fine@example.com>\r\n", "250").await;
    relay
        .server
        .store()
        .add(add("late@example.com"), Actor::system())
        .await
        .unwrap();
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "451 4.7.1").await;
    assert!(upstream.received().is_empty(), "nothing went out");
    // Sent again, the listed recipient is refused at RCPT and the other goes out.
    c.expect("MAIL FROM:<rep@sales.example>\r\n", "250").await;
    c.expect("RCPT TO:<late@example.com>\r\n", "550 5.7.1")
        .await;
    c.expect("RCPT TO:<fine@example.com>\r\n", "250").await;
    // An opt-out of someone else in the meantime changes nothing for this message, and the
    // send is stamped after it (audits compare against the moment the message went out).
    relay
        .server
        .store()
        .add(add("other@example.com"), Actor::system())
        .await
        .unwrap();
    let added_at = dnc_relay::model::Timestamp::now();
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    c.expect("QUIT\r\n", "221").await;
    assert_eq!(upstream.received().len(), 1);
    assert_eq!(upstream.received()[0].rcpts, ["fine@example.com"]);
    let store = relay.server.store();
    store.settle().await.unwrap();
    let sent = store
        .attempts_to("fine@example.com", dnc_relay::model::Timestamp(0))
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].at >= added_at, "stamped when it went out");
    relay.stop().await;
}
