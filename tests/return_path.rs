//! The return path (VERP) as a bounce meets it: a marked sender group's copies go out from
//! `bounces+TOKEN@` the feedback domain; a bounce that names nobody, sent back there, still
//! suppresses the right recipient, and reaches the original sender through the outbox, also
//! across an upstream outage and a restart of the relay.

mod common;

use std::time::Duration;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::config::{Config, SenderGroup};

fn marked(config: &mut Config) {
    config.feedback.listen = vec!["127.0.0.1:0".parse().expect("addr")];
    config.feedback.domains = vec!["fb.example.com".into()];
    config.sender_groups = vec![SenderGroup {
        name: "prospecting".into(),
        senders: vec!["@sales.example".into()],
        return_path: true,
        forward_bounces: true,
        ..SenderGroup::default()
    }];
}

/// [`marked`], with upstream connections never reused (a down upstream is met at once).
fn marked_no_reuse(config: &mut Config) {
    marked(config);
    config.upstream.idle_timeout = Duration::from_millis(1);
}

/// A bounce that names no recipient anywhere: only its return path says whose it is.
const BOUNCE: &str = "From: MAILER-DAEMON@mx.example.net\r\n\
                      To: undisclosed\r\n\
                      Subject: Undelivered Mail Returned to Sender\r\n\
                      Message-ID: <b-1@mx.example.net>\r\n\
                      \r\n\
                      This is the mail system at host mx.example.net.\r\n\
                      \r\n\
                      550 5.1.1 Recipient address rejected: User unknown in local recipient table\r\n";

/// The address in a `MAIL FROM` argument (`<a@b> BODY=8BITMIME`).
fn path_of(mail_from: &str) -> String {
    let path = mail_from.trim_start_matches('<').split('>').next();
    path.expect("a path").to_string()
}

async fn rcpt_reply(addr: std::net::SocketAddr, to: &str) -> String {
    let mut c = Client::ready(addr, "rep@sales.example").await;
    c.send(&format!("RCPT TO:<{to}>\r\n")).await;
    let reply = c.reply().await;
    c.send("QUIT\r\n").await;
    reply
}

async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..250 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_bounce_to_a_rewritten_return_path_suppresses_its_recipient_and_goes_on_to_the_sender() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), marked).await;
    // One recipient per transaction, sent from bounces+TOKEN@fb.example.com.
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<pat@example.com>\r\n", "250").await;
    c.expect("RCPT TO:<lee@example.com>\r\n", "452 4.5.3").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: hi\r\n\r\nhello\r\n.\r\n", "250").await;
    let received = upstream.received();
    let mail_from = received[0].mail_from.clone();
    assert!(
        mail_from.starts_with("<bounces+") && mail_from.contains("@fb.example.com>"),
        "{mail_from}"
    );
    assert!(
        !mail_from.contains("pat") && !mail_from.contains("rep"),
        "opaque: {mail_from}"
    );
    let return_path = path_of(&mail_from);
    let lines = relay.decisions(2).await;
    assert!(
        lines
            .iter()
            .any(|l| l.marked.as_deref() == Some(&format!("return path {return_path}"))),
        "{lines:?}"
    );

    // The bounce comes back to the return path; it names nobody.
    let feedback = relay.server.feedback_addrs()[0];
    let reply = Client::deliver(feedback, "", &return_path, BOUNCE).await;
    assert!(reply.starts_with("250"), "{reply}");
    assert!(
        eventually(async || rcpt_reply(relay.addr, "pat@example.com")
            .await
            .starts_with("550 5.1.1"))
        .await,
        "the return path named the recipient"
    );
    // And it reaches the original sender, unchanged, from <>.
    assert!(eventually(async || upstream.received().len() == 2).await);
    let forwarded = &upstream.received()[1];
    assert_eq!(forwarded.mail_from, "<>");
    assert_eq!(forwarded.rcpts, ["rep@sales.example"]);
    assert_eq!(String::from_utf8_lossy(&forwarded.data), BOUNCE);
    let pat = dnc_relay::address::Target::parse("pat@example.com").expect("target");
    let history = relay.server.store().history(&pat).expect("history");
    let forwarded_event = history.iter().any(|e| {
        matches!(&e.kind, dnc_relay::model::EventKind::BounceForwarded { to, .. } if to == "rep@sales.example")
    });
    assert!(forwarded_event, "{history:?}");
    // A forged return path is just another bounce: nothing named, nothing forwarded.
    let forged = return_path.replacen("bounces+", "bounces+a", 1);
    assert!(Client::deliver(feedback, "", &forged, BOUNCE)
        .await
        .starts_with("250"));
    // Nor does anything from a real sender to a real return path (only bounces come from <>),
    // nor a bounce past a few to one return path.
    let phishing = BOUNCE.replacen("Message-ID: <b-1@", "Message-ID: <p-1@", 1);
    assert!(
        Client::deliver(feedback, "attacker@evil.example", &return_path, &phishing)
            .await
            .starts_with("250")
    );
    for n in 0..4 {
        let again = BOUNCE.replacen("Message-ID: <b-1@", &format!("Message-ID: <r-{n}@"), 1);
        assert!(Client::deliver(feedback, "", &return_path, &again)
            .await
            .starts_with("250"));
    }
    // Every bounce is recorded (its forward, if any, queued with it), and what was forwarded
    // has arrived; then nothing more comes.
    let store = relay.server.store().clone();
    let recorded = async || {
        store
            .feedback_records(0, 100, false)
            .is_ok_and(|r| r.len() == 6)
    };
    assert!(
        eventually(recorded).await,
        "six records (the forged copy of the first bounce is the same message)"
    );
    assert!(eventually(async || upstream.received().len() == 4).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        upstream.received().len(),
        4,
        "the message, then three bounces forwarded: at most three per return path"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_forwarded_bounce_waits_out_an_upstream_outage_and_a_restart() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), marked_no_reuse).await;
    let reply = Client::deliver(
        relay.addr,
        "rep@sales.example",
        "kim@example.com",
        "Subject: hi\r\n\r\nhello\r\n",
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    let mail_from = upstream.received()[0].mail_from.clone();
    let return_path = path_of(&mail_from);
    // The upstream goes down before the bounce comes back.
    upstream.script.lock().expect("script").greet_421 = true;
    let feedback = relay.server.feedback_addrs()[0];
    assert!(Client::deliver(feedback, "", &return_path, BOUNCE)
        .await
        .starts_with("250"));
    assert!(
        eventually(async || rcpt_reply(relay.addr, "kim@example.com")
            .await
            .starts_with("550 5.1.1"))
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        upstream.received().len(),
        1,
        "nothing got through the outage"
    );
    let outbox = relay.server.store().outgoing().expect("outbox");
    assert_eq!(outbox.len(), 1, "the forward waits in the outbox");
    // The relay restarts; the upstream comes back; the forward goes out, once.
    let dir = relay.stop().await;
    upstream.script.lock().expect("script").greet_421 = false;
    let mut config = common::test_config(dir.path(), &upstream.url());
    marked_no_reuse(&mut config);
    let server = dnc_relay::server::Server::start(config, dnc_relay::server::Hooks::default())
        .await
        .expect("restart");
    assert!(
        eventually(async || upstream.received().len() == 2).await,
        "forwarded after the restart"
    );
    assert_eq!(upstream.received()[1].rcpts, ["rep@sales.example"]);
    assert!(eventually(async || server.store().outgoing().is_ok_and(|o| o.is_empty())).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream.received().len(), 2, "not twice");
    server.shutdown().await.expect("shutdown");
    drop(dir);
}
