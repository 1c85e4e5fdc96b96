//! Notifications as their readers meet them: an opt-out by reply tells the contact's owner
//! and ops by mail through the upstream; more opt-outs within the digest interval come as one
//! digest per person.

mod common;

use std::time::Duration;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::config::{Config, OwnerConfig};

fn setup(config: &mut Config) {
    config.feedback.listen = vec!["127.0.0.1:0".parse().expect("addr")];
    config.feedback.domains = vec!["fb.acme.example".into()];
    config.notify.ops = vec!["ops@acme.example".into()];
    config.notify.from = Some("dnc-relay@acme.example".into());
    config.notify.digest = Duration::from_secs(2);
    config.owners = vec![OwnerConfig {
        name: "sam".into(),
        senders: vec!["sam@sales.example".into()],
        notify: vec!["sam@acme.example".into()],
        ..OwnerConfig::default()
    }];
}

/// [`setup`], with upstream connections never reused (a down upstream is met at once).
fn no_reuse(config: &mut Config) {
    setup(config);
    config.upstream.idle_timeout = Duration::from_millis(1);
}

fn stop_reply(who: &str) -> String {
    format!(
        "From: {who}\r\nTo: replies@fb.acme.example\r\nSubject: Re: hello\r\n\
         Message-ID: <{}@example.com>\r\n\r\nPlease stop emailing me.\r\n",
        who.replace('@', ".")
    )
}

/// The notifications the upstream got, as (recipient, message text).
fn notifications(upstream: &TestUpstream) -> Vec<(String, String)> {
    upstream
        .received()
        .into_iter()
        .filter(|r| r.mail_from.contains("dnc-relay@acme.example"))
        .flat_map(|r| {
            let text = String::from_utf8_lossy(&r.data).into_owned();
            r.rcpts.into_iter().map(move |to| (to, text.clone()))
        })
        .collect()
}

async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..300 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn an_opt_out_by_reply_tells_the_owner_and_ops_and_later_ones_come_as_a_digest() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), setup).await;
    let feedback = relay.server.feedback_addrs()[0];
    // Sam mails Pat, Lee and Kim: Sam's contact locks.
    for to in ["pat@example.com", "lee@example.com", "kim@example.com"] {
        let reply = Client::deliver(
            relay.addr,
            "sam@sales.example",
            to,
            "Subject: hi\r\n\r\nhello\r\n",
        )
        .await;
        assert!(reply.starts_with("250"), "{reply}");
    }
    // Pat writes back "please stop".
    let reply = Client::deliver(
        feedback,
        "pat@example.com",
        "replies@fb.acme.example",
        &stop_reply("pat@example.com"),
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    assert!(
        eventually(|| notifications(&upstream).len() == 2).await,
        "{:?}",
        notifications(&upstream)
    );
    let told = notifications(&upstream);
    let mut to: Vec<&str> = told.iter().map(|(t, _)| t.as_str()).collect();
    to.sort();
    assert_eq!(to, ["ops@acme.example", "sam@acme.example"]);
    let text = &told[0].1;
    assert!(
        text.contains("Subject: dnc-relay: pat@example.com opted out (unsubscribe, by reply)"),
        "{text}"
    );
    assert!(
        text.contains("Please stop emailing me."),
        "the evidence: {text}"
    );
    assert!(
        text.contains("dnc-relay suppress show pat@example.com"),
        "{text}"
    );
    // On the record: Pat's timeline says who was told.
    let pat = dnc_relay::address::Target::parse("pat@example.com").expect("target");
    let history = relay.server.store().history(&pat).expect("history");
    let told = history
        .iter()
        .filter(|e| matches!(e.kind, dnc_relay::model::EventKind::Notified { .. }))
        .count();
    assert_eq!(told, 2, "{history:?}");

    // Lee and Kim opt out right after: within the digest interval, one mail each later.
    for who in ["lee@example.com", "kim@example.com"] {
        let reply =
            Client::deliver(feedback, who, "replies@fb.acme.example", &stop_reply(who)).await;
        assert!(reply.starts_with("250"), "{reply}");
    }
    // Both are recorded (and so in the history the notifier reads) before we look.
    let store = relay.server.store().clone();
    let listed = |who: &str| {
        let target = dnc_relay::address::Target::parse(who).expect("target");
        store.get(&target).is_ok_and(|e| e.is_some())
    };
    assert!(eventually(|| listed("lee@example.com") && listed("kim@example.com")).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        notifications(&upstream).len(),
        2,
        "nobody mailed twice within the interval"
    );
    assert!(eventually(|| notifications(&upstream).len() == 4).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let told = notifications(&upstream);
    assert_eq!(told.len(), 4, "one digest each: {told:?}");
    let digest = &told[3].1;
    assert!(digest.contains("Subject: dnc-relay: 2 changes"), "{digest}");
    assert!(
        digest.contains("lee@example.com") && digest.contains("kim@example.com"),
        "{digest}"
    );
    relay.stop().await;
}

#[test]
fn a_lift_request_tells_the_approvers() {
    use common::process::{text, Relay};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[notify]\napprovers = [\"ops-lead@acme.example\"]\nfrom = \"dnc-relay@acme.example\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .expect("config");
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    let add = relay.cli(&[
        "suppress",
        "add",
        "pat@example.com",
        "--reason",
        "unsubscribe",
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let request = relay.cli(&[
        "lift",
        "request",
        "pat@example.com",
        "--proof",
        "she wrote on 3 March asking to hear from us",
    ]);
    assert!(request.status.success(), "{}", text(&request.stderr));
    // The capture upstream of the shipped config keeps what the outbox sends.
    let outbox = dir.path().join("data/outbox");
    let found = (0..250).find_map(|_| {
        let mails: Vec<String> = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        match mails.into_iter().find(|m| m.contains("lift #1 requested")) {
            Some(m) => Some(m),
            None => {
                std::thread::sleep(Duration::from_millis(20));
                None
            }
        }
    });
    let mail = found.expect("the approvers were told");
    assert!(mail.contains("To: ops-lead@acme.example"), "{mail}");
    assert!(mail.contains("dnc-relay lift approve 1"), "{mail}");
    // An add by a person is not news for anyone: nobody else was mailed.
    let count = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_owners_notification_waits_out_an_upstream_outage_and_a_restart() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), no_reuse).await;
    let feedback = relay.server.feedback_addrs()[0];
    let reply = Client::deliver(
        relay.addr,
        "sam@sales.example",
        "pat@example.com",
        "Subject: hi\r\n\r\nhello\r\n",
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    // The upstream goes down; Pat opts out.
    upstream.script.lock().expect("script").greet_421 = true;
    let stop = stop_reply("pat@example.com");
    let reply = Client::deliver(
        feedback,
        "pat@example.com",
        "replies@fb.acme.example",
        &stop,
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    let store = relay.server.store().clone();
    assert!(
        eventually(|| store.outgoing().is_ok_and(|o| o.len() == 2)).await,
        "the owner's and ops' mails wait in the outbox"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(notifications(&upstream).is_empty());
    drop(store);
    // The relay restarts, the upstream is back: each is sent, once.
    let dir = relay.stop().await;
    upstream.script.lock().expect("script").greet_421 = false;
    let mut config = common::test_config(dir.path(), &upstream.url());
    no_reuse(&mut config);
    let server = dnc_relay::server::Server::start(config, dnc_relay::server::Hooks::default())
        .await
        .expect("restart");
    assert!(eventually(|| notifications(&upstream).len() == 2).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let told = notifications(&upstream);
    let mut to: Vec<&str> = told.iter().map(|(t, _)| t.as_str()).collect();
    to.sort();
    assert_eq!(to, ["ops@acme.example", "sam@acme.example"], "once each");
    server.shutdown().await.expect("shutdown");
    drop(dir);
}
