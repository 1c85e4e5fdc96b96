//! One voice per prospect: ownership locks at the wire.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::address::Target;
use dnc_relay::admin::ops::audit::AuditDuplicates;
use dnc_relay::admin::ops::locks::{
    LocksDecide, LocksGroup, LocksRelease, LocksReview, LocksShow, LocksTransfer,
};
use dnc_relay::admin::AdminClient;
use dnc_relay::audit::Decision;
use dnc_relay::config::{Config, LockMode, OwnerConfig, SenderGroup};
use dnc_relay::model::{Actor, Reason, Source, Timestamp, Units};
use dnc_relay::server::Hooks;
use dnc_relay::store::{contact_lock_key, NewEntry};

fn owners(c: &mut Config) {
    c.owners = vec![
        OwnerConfig {
            name: "sam".into(),
            team: Some("emea".into()),
            senders: vec!["sam@sales.example".into(), "@sam-outreach.example".into()],
            ..OwnerConfig::default()
        },
        OwnerConfig {
            name: "priya".into(),
            team: Some("na".into()),
            senders: vec!["priya@sales.example".into()],
            ..OwnerConfig::default()
        },
    ];
    c.sender_groups = vec![SenderGroup {
        name: "billing".into(),
        senders: vec!["billing@sales.example".into()],
        transactional: true,
        ..SenderGroup::default()
    }];
    c.locks.account = LockMode::Off;
}

/// Sends one message; returns the RCPT reply and, if it was accepted, the final reply.
async fn send(relay: &TestRelay, from: &str, rcpt: &str) -> (String, Option<String>) {
    let mut c = Client::ready(relay.addr, from).await;
    let reply = c.expect(&format!("RCPT TO:<{rcpt}>\r\n"), "").await;
    let done = if reply.starts_with("250") {
        c.expect("DATA\r\n", "354").await;
        Some(c.expect("Subject: hi\r\n\r\nhello\r\n.\r\n", "").await)
    } else {
        None
    };
    c.expect("QUIT\r\n", "221").await;
    (reply, done)
}

fn admin(relay: &TestRelay) -> AdminClient {
    AdminClient::connect(&relay.socket()).unwrap()
}

/// The stored lock on a contact, once everything the relay queued has been committed.
async fn lock_of(relay: &TestRelay, contact: &str) -> Option<dnc_relay::model::Lock> {
    relay.server.store().settle().await.unwrap();
    let key = contact_lock_key(&Target::parse(contact).unwrap().match_key());
    relay.server.store().get_lock(&key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_message_locks_the_contact_and_another_owner_is_refused() {
    let relay = TestRelay::start("capture:outbox", owners).await;
    let (r, done) = send(&relay, "sam@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("250") && done.unwrap().starts_with("250"));
    let lock = lock_of(&relay, "pat@northwind.example")
        .await
        .expect("a lock");
    assert_eq!(lock.owner, "sam");
    let first_expiry = lock.expires;

    let (r, _) = send(&relay, "priya@sales.example", "Pat@Northwind.example").await;
    assert!(r.starts_with("550 5.7.1"), "{r}");
    assert!(
        r.contains("sam (emea)") && r.contains(&first_expiry.to_string()[..10]),
        "owner and expiry named: {r}"
    );

    // The same owner from another mailbox and another domain passes, and renews the lock.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (r, _) = send(&relay, "sam@sam-outreach.example", "pat@northwind.example").await;
    assert!(r.starts_with("250"), "{r}");
    assert!(
        lock_of(&relay, "pat@northwind.example")
            .await
            .unwrap()
            .expires
            > first_expiry,
        "renewed"
    );

    let records = relay.decisions(5).await;
    let refused = records
        .iter()
        .find(|r| r.decision == Decision::Reject)
        .unwrap();
    assert_eq!(refused.reason.map(|r| r.as_str()), Some("locked"));
    assert_eq!(refused.rule.map(|r| r.as_str()), Some("contact-lock"));
    assert!(refused.lock.as_deref().unwrap().contains("owned by sam"));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_mode_accepts_with_the_warning_in_the_reply_and_the_log() {
    let relay = TestRelay::start("capture:outbox", |c| {
        owners(c);
        c.locks.contact = Some(LockMode::Warn);
    })
    .await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    let (r, done) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(
        r.starts_with("250 2.1.5") && r.contains("warning") && r.contains("owned by sam"),
        "{r}"
    );
    assert!(done.unwrap().starts_with("250"));
    assert_eq!(
        lock_of(&relay, "pat@northwind.example")
            .await
            .unwrap()
            .owner,
        "sam",
        "a warning does not move the lock"
    );
    let records = relay.decisions(4).await;
    assert!(records.iter().any(|r| r.decision == Decision::Accept
        && r.lock.as_deref().is_some_and(|l| l.starts_with("warning"))));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_racing_for_a_new_contact_have_exactly_one_winner() {
    for round in 0..5 {
        let relay = TestRelay::start("capture:outbox", owners).await;
        let contact = format!("new{round}@prospect.example");
        let mut a = Client::ready(relay.addr, "sam@sales.example").await;
        let mut b = Client::ready(relay.addr, "priya@sales.example").await;
        let cmd = format!("RCPT TO:<{contact}>\r\n");
        let (ra, rb) = tokio::join!(
            async {
                a.send(&cmd).await;
                a.reply().await
            },
            async {
                b.send(&cmd).await;
                b.reply().await
            }
        );
        let wins = [&ra, &rb].iter().filter(|r| r.starts_with("250")).count();
        assert_eq!(wins, 1, "round {round}: {ra:?} {rb:?}");
        assert!([&ra, &rb].iter().any(|r| r.starts_with("550 5.7.1")));
        drop((a, b));
        relay.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_transaction_fails_upstream_is_released() {
    let upstream = TestUpstream::start(Script {
        drop_mid_data: Some(5),
        ..Script::default()
    })
    .await;
    let relay = TestRelay::start(&upstream.url(), owners).await;
    let (r, done) = send(&relay, "sam@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("250"));
    assert!(
        done.unwrap().starts_with("451"),
        "the upstream failed the message"
    );
    assert!(
        lock_of(&relay, "pat@northwind.example").await.is_none(),
        "no lock from a failed send"
    );
    // Another owner may claim it now.
    *upstream.script.lock().unwrap() = Script::default();
    let (r, done) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(
        r.starts_with("250") && done.unwrap().starts_with("250"),
        "{r}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_blocks_everyone_but_the_owner_even_in_warn_mode() {
    let relay = TestRelay::start("capture:outbox", |c| {
        owners(c);
        c.locks.contact = Some(LockMode::Warn);
    })
    .await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    admin(&relay)
        .call(LocksReview {
            target: "pat@northwind.example".into(),
            note: "priya says she met Pat at the fair".into(),
        })
        .unwrap();
    let (r, _) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(
        r.starts_with("550 5.7.1") && r.contains("under review"),
        "{r}"
    );
    let (r, _) = send(&relay, "sam@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("250"), "the owner may still send: {r}");
    // The decision keeps sam; the review ends and warn mode applies again.
    admin(&relay)
        .call(LocksDecide {
            target: "pat@northwind.example".into(),
            owner: "sam".into(),
            note: "sam's sequence was first".into(),
        })
        .unwrap();
    let (r, _) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("250") && r.contains("warning"), "{r}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_and_release_take_effect_on_the_next_rcpt() {
    let relay = TestRelay::start("capture:outbox", owners).await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    let mut c = admin(&relay);
    c.call(LocksTransfer {
        target: "pat@northwind.example".into(),
        to: "priya".into(),
        note: "sam moved to another region".into(),
    })
    .unwrap();
    assert!(send(&relay, "sam@sales.example", "pat@northwind.example")
        .await
        .0
        .starts_with("550"));
    assert!(send(&relay, "priya@sales.example", "pat@northwind.example")
        .await
        .0
        .starts_with("250"));
    c.call(LocksRelease {
        target: "pat@northwind.example".into(),
        note: "account closed".into(),
    })
    .unwrap();
    assert!(lock_of(&relay, "pat@northwind.example").await.is_none());
    assert!(send(&relay, "sam@sales.example", "pat@northwind.example")
        .await
        .0
        .starts_with("250"));
    let history = c
        .call(LocksShow {
            target: "pat@northwind.example".into(),
        })
        .unwrap()
        .history;
    let kinds = common::event_kinds(&history);
    assert_eq!(
        kinds,
        [
            "lock-taken",
            "lock-transferred",
            "lock-released",
            "lock-taken"
        ]
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppression_or_hard_bounce_releases_the_lock() {
    let relay = TestRelay::start("capture:outbox", owners).await;
    for (contact, reason) in [
        ("pat@northwind.example", Reason::Unsubscribe),
        ("gone@northwind.example", Reason::HardBounce),
    ] {
        send(&relay, "sam@sales.example", contact).await;
        assert!(lock_of(&relay, contact).await.is_some());
        relay
            .server
            .store()
            .add(
                NewEntry {
                    target: Target::parse(contact).unwrap(),
                    reason,
                    source: Source::Reply,
                    evidence: String::new(),
                    units: Units::all(),
                },
                Actor::system(),
            )
            .await
            .unwrap();
        assert!(
            lock_of(&relay, contact).await.is_none(),
            "{reason} releases the lock"
        );
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_lets_another_owner_in() {
    let now = Arc::new(AtomicI64::new(Timestamp::now().0));
    let clock = now.clone();
    let relay = TestRelay::start_with(
        "capture:outbox",
        owners,
        Hooks {
            clock: Some(Arc::new(move || Timestamp(clock.load(Ordering::Relaxed)))),
            ..Hooks::default()
        },
    )
    .await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    assert!(send(&relay, "priya@sales.example", "pat@northwind.example")
        .await
        .0
        .starts_with("550"));
    // 29 days later the lock still holds; 31 days later it does not.
    now.fetch_add(29 * 86_400 * 1_000_000, Ordering::Relaxed);
    assert!(send(&relay, "priya@sales.example", "pat@northwind.example")
        .await
        .0
        .starts_with("550"));
    now.fetch_add(2 * 86_400 * 1_000_000, Ordering::Relaxed);
    let (r, done) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(
        r.starts_with("250") && done.unwrap().starts_with("250"),
        "{r}"
    );
    assert_eq!(
        lock_of(&relay, "pat@northwind.example")
            .await
            .unwrap()
            .owner,
        "priya"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_locks_cover_a_company_but_never_free_mail() {
    let relay = TestRelay::start("capture:outbox", |c| {
        owners(c);
        c.locks.account = LockMode::Block;
    })
    .await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    let (r, _) = send(&relay, "priya@sales.example", "ceo@northwind.example").await;
    assert!(
        r.starts_with("550 5.7.1") && r.contains("account northwind.example"),
        "{r}"
    );
    // Free mail: two different people, two owners, no account lock.
    send(&relay, "sam@sales.example", "alice@gmail.com").await;
    assert!(send(&relay, "priya@sales.example", "bob@gmail.com")
        .await
        .0
        .starts_with("250"));
    // A grouped subsidiary belongs to the parent's account.
    admin(&relay)
        .call(LocksGroup {
            account: "northwind.example".into(),
            domains: vec!["@northwind-labs.example".into()],
        })
        .unwrap();
    let (r, _) = send(&relay, "priya@sales.example", "cto@northwind-labs.example").await;
    assert!(
        r.starts_with("550") && r.contains("account northwind.example"),
        "{r}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_senders_neither_take_nor_respect_locks() {
    let relay = TestRelay::start("capture:outbox", owners).await;
    send(&relay, "billing@sales.example", "pat@northwind.example").await;
    assert!(
        lock_of(&relay, "pat@northwind.example").await.is_none(),
        "no lock taken"
    );
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    let (r, _) = send(&relay, "billing@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("250"), "invoices still go out: {r}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duplicates_report_finds_a_planted_overlap() {
    let relay = TestRelay::start("capture:outbox", |c| {
        owners(c);
        c.locks.contact = Some(LockMode::Warn);
    })
    .await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    send(&relay, "priya@sales.example", "pat@northwind.example").await;
    send(&relay, "sam@sales.example", "solo@contoso.example").await;
    let report = admin(&relay).call(AuditDuplicates { days: 7 }).unwrap();
    assert_eq!(report.contacts.len(), 1, "{report:?}");
    assert_eq!(report.contacts[0].target, "pat@northwind.example");
    let who: Vec<&str> = report.contacts[0]
        .first
        .iter()
        .map(|f| f.owner.as_str())
        .collect();
    assert_eq!(who, ["sam", "priya"]);
    assert_eq!(report.accounts.len(), 1);
    assert_eq!(report.accounts[0].target, "@northwind.example");
    relay.stop().await;
}

/// Runs the CLI binary against `relay`'s socket.
fn cli(relay: &TestRelay, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::binary())
        .arg("--socket")
        .arg(relay.socket())
        .args(args)
        .env_remove("DNC_RELAY_SOCKET")
        .env_remove("DNC_RELAY_CONFIG")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_scrub_with_a_sender_show_another_owners_lock_before_the_send() {
    let relay = TestRelay::start("capture:outbox", |c| {
        owners(c);
        c.locks.account = LockMode::Warn;
    })
    .await;
    let (r, _) = send(&relay, "sam@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("250"), "{r}");

    // check --from: Priya is refused on the contact and warned on the account; Sam passes.
    let out = cli(
        &relay,
        &[
            "check",
            "pat@northwind.example",
            "--from",
            "priya@sales.example",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("blocked"), "{stdout}");
    assert!(
        stdout.contains("contact pat@northwind.example is owned by sam (emea) until"),
        "{stdout}"
    );
    assert!(stdout.contains("at RCPT   550 5.7.1"), "{stdout}");
    let out = cli(
        &relay,
        &[
            "check",
            "ceo@northwind.example",
            "--from",
            "priya@sales.example",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("warning   account northwind.example is owned by sam"),
        "{stdout}"
    );
    let out = cli(
        &relay,
        &[
            "check",
            "pat@northwind.example",
            "--from",
            "sam@sam-outreach.example",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    // Without a sender nobody owns anything; a transactional sender ignores locks.
    let out = cli(&relay, &["check", "pat@northwind.example"]);
    assert_eq!(out.status.code(), Some(0));
    let out = cli(
        &relay,
        &[
            "check",
            "pat@northwind.example",
            "--from",
            "billing@sales.example",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["lock"].is_null(), "{json}");

    // scrub --from marks the locked row, and the CLI's verdict matches what RCPT then says.
    let list = relay.dir.path().join("priya-import.csv");
    std::fs::write(
        &list,
        "email,company\npat@northwind.example,Northwind\nkim@contoso.example,Contoso\n",
    )
    .unwrap();
    let out = cli(
        &relay,
        &[
            "scrub",
            list.to_str().unwrap(),
            "--from",
            "priya@sales.example",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("pat@northwind.example,Northwind,locked,contact pat@northwind.example is owned by sam (emea) until"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kim@contoso.example,Contoso,ok,"),
        "{stdout}"
    );
    assert!(
        stderr.contains("2 rows, 1 ok, 0 suppressed, 1 locked by another owner, 0 invalid"),
        "{stderr}"
    );
    let (r, _) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(
        r.starts_with("550 5.7.1") && r.contains("owned by sam"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_locks_of_many_messages_share_a_few_commits_and_settle_makes_them_visible() {
    use dnc_relay::model::{Attempt, AttemptOutcome, Lock, LockKind};
    use dnc_relay::store::{Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("dnc.redb"), &StoreOptions::default()).unwrap();
    let before = store.writer_stats().await.unwrap();
    let now = Timestamp::now();
    for i in 0..500 {
        let rcpt = format!("lead{i}@northwind.example");
        let attempt = Attempt {
            at: now,
            session: "s".into(),
            client: "127.0.0.1:1".into(),
            from: "sam@sales.example".into(),
            user: None,
            rcpt: rcpt.clone(),
            owner: Some("sam".into()),
            outcome: AttemptOutcome::Relayed {
                message_id: None,
                upstream: "250 ok".into(),
                exemption: None,
            },
        };
        let lock = Lock {
            kind: LockKind::Contact,
            target: rcpt.clone(),
            owner: "sam".into(),
            team: None,
            since: now,
            expires: now.plus(Duration::from_secs(86_400)),
            review: None,
        };
        let key = contact_lock_key(&Target::parse(&rcpt).unwrap().match_key());
        store
            .record_relayed(vec![attempt], vec![(key.into(), lock)], Vec::new())
            .await
            .unwrap();
    }
    store.settle().await.unwrap();
    let after = store.writer_stats().await.unwrap();
    // 500 messages' records and the barrier: a handful of commits, not one per message.
    assert_eq!(after.jobs - before.jobs, 501);
    assert!(
        after.commits - before.commits <= 10,
        "{} commits for 500 messages",
        after.commits - before.commits
    );
    for i in [0, 250, 499] {
        let key = contact_lock_key(
            &Target::parse(&format!("lead{i}@northwind.example"))
                .unwrap()
                .match_key(),
        );
        assert_eq!(store.get_lock(&key).unwrap().unwrap().owner, "sam");
    }
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_other_owner_slips_in_while_a_claim_turns_into_a_stored_lock() {
    for round in 0..5 {
        let relay = TestRelay::start("capture:outbox", owners).await;
        let contact = format!("lead{round}@prospect.example");
        let mut sam = Client::ready(relay.addr, "sam@sales.example").await;
        sam.expect(&format!("RCPT TO:<{contact}>\r\n"), "250").await;
        let mut priya = Client::ready(relay.addr, "priya@sales.example").await;
        // Sam's message completes (claim -> stored lock -> claim released) while Priya keeps
        // asking: every one of her RCPTs, before, during and after the hand-over, is refused.
        let (_, refusals) = tokio::join!(
            async {
                sam.expect("DATA\r\n", "354").await;
                sam.expect("Subject: hi\r\n\r\nhello\r\n.\r\n", "250").await;
            },
            async {
                let mut replies = Vec::new();
                for _ in 0..60 {
                    replies.push(priya.expect(&format!("RCPT TO:<{contact}>\r\n"), "").await);
                }
                replies
            }
        );
        for r in &refusals {
            assert!(r.starts_with("550 5.7.1"), "round {round}: {r}");
        }
        let after = priya.expect(&format!("RCPT TO:<{contact}>\r\n"), "").await;
        assert!(
            after.starts_with("550 5.7.1") && after.contains("sam"),
            "{after}"
        );
        drop((sam, priya));
        relay.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_owners_a_colleagues_first_message_is_warned_not_refused() {
    // The shipped config: no [[owners]], contact locks left unset.
    let relay = TestRelay::start("capture:outbox", |c| c.locks.account = LockMode::Off).await;
    send(&relay, "sam@sales.example", "pat@northwind.example").await;
    let (r, done) = send(&relay, "priya@sales.example", "pat@northwind.example").await;
    assert!(
        r.starts_with("250 2.1.5") && r.contains("owned by sam@sales.example"),
        "{r}"
    );
    assert!(done.unwrap().starts_with("250"));
    relay.stop().await;
    // Set explicitly, or once owners are defined, it refuses.
    let explicit = TestRelay::start("capture:outbox", |c| {
        c.locks.account = LockMode::Off;
        c.locks.contact = Some(LockMode::Block);
    })
    .await;
    send(&explicit, "sam@sales.example", "pat@northwind.example").await;
    let (r, _) = send(&explicit, "priya@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("550 5.7.1"), "{r}");
    explicit.stop().await;
    let with_owners = TestRelay::start("capture:outbox", owners).await;
    send(&with_owners, "sam@sales.example", "pat@northwind.example").await;
    let (r, _) = send(&with_owners, "priya@sales.example", "pat@northwind.example").await;
    assert!(r.starts_with("550 5.7.1"), "{r}");
    with_owners.stop().await;
}
