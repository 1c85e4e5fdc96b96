//! Easy to block, hard to unblock: roles from peer credentials, two-person lifts, history and
//! point-in-time answers, send records and audits, scrub/import/export, sender groups.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{binary, Client, TestRelay};
use dnc_relay::address::Target;
use dnc_relay::admin::ops::audit::AuditContact;
use dnc_relay::admin::ops::lift::{LiftApprove, LiftDeny, LiftRequest};
use dnc_relay::admin::ops::suppress::Ping;
use dnc_relay::admin::proto::TimelineItem;
use dnc_relay::admin::AdminClient;
use dnc_relay::audit::Decision;
use dnc_relay::config::SenderGroup;
use dnc_relay::model::{Actor, Attempt, AttemptOutcome, Reason, Role, Source, Timestamp, Units};
use dnc_relay::store::NewEntry;

const SDR: u32 = 4242;
const MANAGER: u32 = 4243;
const OPS: u32 = 4244;
const UNMAPPED: u32 = 4245;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A relay whose data directory other uids can reach, with roles for the test uids.
async fn relay() -> TestRelay {
    let relay = TestRelay::start("capture:outbox", |c| {
        c.admin.roles.insert(SDR.to_string(), Role::Sdr);
        c.admin.roles.insert(MANAGER.to_string(), Role::Manager);
        c.admin.roles.insert(OPS.to_string(), Role::Ops);
        c.sender_groups = vec![
            SenderGroup {
                name: "billing".into(),
                unit: Some("acme".into()),
                senders: vec!["billing@acme.example".into()],
                exempt_reasons: vec![Reason::Unsubscribe],
                transactional: false,
                ..Default::default()
            },
            SenderGroup {
                name: "acme-sales".into(),
                unit: Some("acme".into()),
                senders: vec!["@acme.example".into()],
                exempt_reasons: vec![],
                transactional: false,
                ..Default::default()
            },
            SenderGroup {
                name: "globex-sales".into(),
                unit: Some("globex".into()),
                senders: vec!["@globex.example".into()],
                exempt_reasons: vec![],
                transactional: false,
                ..Default::default()
            },
        ];
    })
    .await;
    std::fs::set_permissions(relay.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    relay
}

/// Runs the CLI against `relay`, as `uid` (with group 0, which owns the socket) when given.
fn cli(relay: &TestRelay, uid: Option<u32>, args: &[&str]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("--socket").arg(relay.socket()).args(args);
    cmd.env_remove("DNC_RELAY_SOCKET")
        .env_remove("DNC_RELAY_CONFIG");
    if let Some(uid) = uid {
        cmd.uid(uid).gid(0);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn admin(relay: &TestRelay) -> AdminClient {
    AdminClient::connect(&relay.socket()).unwrap()
}

async fn add(relay: &TestRelay, target: &str, reason: Reason, units: &[&str]) {
    relay
        .server
        .store()
        .add(
            NewEntry {
                target: Target::parse(target).unwrap(),
                reason,
                source: Source::Reply,
                evidence: format!("{target} asked"),
                units: Units::parse(units),
            },
            Actor::system(),
        )
        .await
        .unwrap();
}

async fn rcpt_reply(relay: &TestRelay, from: &str, rcpt: &str) -> String {
    let mut c = Client::ready(relay.addr, from).await;
    let reply = c.expect(&format!("RCPT TO:<{rcpt}>\r\n"), "").await;
    c.expect("QUIT\r\n", "221").await;
    reply
}

macro_rules! require_root {
    () => {
        if !is_root() {
            println!(
                "skipped: running the CLI as other uids needs root (set*id); run the suite as root"
            );
            return;
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_come_from_the_peers_unix_credentials() {
    require_root!();
    let relay = relay().await;
    let unmapped = cli(&relay, Some(UNMAPPED), &["whoami"]);
    assert_eq!(unmapped.status.code(), Some(1));
    assert!(
        text(&unmapped.stderr).contains("has no role"),
        "{}",
        text(&unmapped.stderr)
    );

    assert!(ok(&cli(&relay, Some(SDR), &["whoami"])).contains("(sdr)"));
    assert!(
        ok(&cli(&relay, None, &["whoami"])).contains("(admin)"),
        "root is admin"
    );

    // Anyone may add; the actor and role are on the record.
    ok(&cli(
        &relay,
        Some(SDR),
        &[
            "suppress",
            "add",
            "pat@example.com",
            "--reason",
            "unsubscribe",
        ],
    ));
    let history = relay
        .server
        .store()
        .history(&Target::parse("pat@example.com").unwrap())
        .unwrap();
    assert_eq!(history[0].actor.uid, Some(SDR));
    assert_eq!(history[0].actor.role, Some(Role::Sdr));

    // An sdr may not ask for a lift.
    let refused = cli(
        &relay,
        Some(SDR),
        &["lift", "request", "pat@example.com", "--proof", "she asked"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("manager role"),
        "{}",
        text(&refused.stderr)
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lift_needs_a_second_person_and_then_the_next_rcpt_passes() {
    require_root!();
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    ok(&cli(
        &relay,
        Some(OPS),
        &[
            "lift",
            "request",
            "pat@example.com",
            "--proof",
            "pat wrote: add me back",
        ],
    ));
    // Until approval the block stays in force.
    assert!(rcpt_reply(&relay, "rep@sales.example", "pat@example.com")
        .await
        .starts_with("550 5.7.1"));
    let own = cli(&relay, Some(OPS), &["lift", "approve", "1"]);
    assert_eq!(own.status.code(), Some(1), "the requester cannot approve");
    assert!(
        text(&own.stderr).contains("second person"),
        "{}",
        text(&own.stderr)
    );
    let manager = cli(&relay, Some(MANAGER), &["lift", "approve", "1"]);
    assert_eq!(manager.status.code(), Some(1), "a manager cannot approve");
    ok(&cli(&relay, None, &["lift", "approve", "1"]));
    assert!(rcpt_reply(&relay, "rep@sales.example", "pat@example.com")
        .await
        .starts_with("250"));
    let lifts = ok(&cli(&relay, None, &["lift", "list", "--json"]));
    let lifts: serde_json::Value = serde_json::from_str(&lifts).unwrap();
    assert_eq!(lifts[0]["requested_by"]["uid"], OPS);
    assert_eq!(lifts[0]["decision"]["by"]["user"], "root");
    assert_eq!(lifts[0]["decision"]["approved"], true);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_lift_keeps_the_block() {
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    let mut c = admin(&relay);
    let lift = c
        .call(LiftRequest {
            target: "pat@example.com".into(),
            proof: "a phone call".into(),
        })
        .unwrap()
        .lift;
    c.call(LiftDeny {
        id: lift.id,
        why: "no written proof".into(),
    })
    .unwrap();
    assert!(rcpt_reply(&relay, "rep@sales.example", "pat@example.com")
        .await
        .starts_with("550 5.7.1"));
    let again = c.call(LiftApprove { id: lift.id });
    assert!(
        again.is_err(),
        "a denied lift cannot be approved afterwards"
    );
    let pending = ok(&cli(&relay, None, &["lift", "list", "--pending"]));
    assert!(pending.contains("no lift requests"), "{pending}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readd_after_the_request_stops_the_approval() {
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    let mut c = admin(&relay);
    c.call(LiftRequest {
        target: "pat@example.com".into(),
        proof: "pat asked to be added back".into(),
    })
    .unwrap();
    add(&relay, "pat@example.com", Reason::Complaint, &[]).await;
    let approve = cli(&relay, Some(0), &["lift", "approve", "1"]);
    // Root requested it too (the same person), so use the store directly as another actor.
    assert_eq!(approve.status.code(), Some(1));
    let other = Actor {
        user: "olga".into(),
        uid: Some(5000),
        role: Some(Role::Ops),
    };
    let result = relay
        .server
        .store()
        .decide_lift(1, true, None, other)
        .await
        .unwrap();
    assert!(
        result.is_err(),
        "a new opt-out must not be lifted by an older request"
    );
    assert!(relay
        .server
        .store()
        .get(&Target::parse("pat@example.com").unwrap())
        .unwrap()
        .is_some());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart() {
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    admin(&relay)
        .call(LiftRequest {
            target: "pat@example.com".into(),
            proof: "pat asked".into(),
        })
        .unwrap();
    let dir = relay.stop().await;
    let mut config = common::test_config(dir.path(), "capture:outbox");
    config.server.hostname = "relay.test".into();
    let server = dnc_relay::server::Server::start(config, Default::default())
        .await
        .unwrap();
    let history = server
        .store()
        .history(&Target::parse("pat@example.com").unwrap())
        .unwrap();
    let kinds = common::event_kinds(&history);
    assert_eq!(kinds, ["suppressed", "lift-requested"]);
    assert_eq!(server.store().lifts().unwrap().len(), 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_admin_connection_neither_delays_shutdown_nor_keeps_the_store_locked() {
    let relay = relay().await;
    let mut idle = admin(&relay);
    idle.call(Ping).unwrap();
    let started = std::time::Instant::now();
    let dir = relay.stop().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "shutdown waited {:?} for an idle admin client",
        started.elapsed()
    );
    // The store is closed for real: a relay on the same directory starts at once.
    let server = dnc_relay::server::Server::start(
        common::test_config(dir.path(), "capture:outbox"),
        Default::default(),
    )
    .await
    .unwrap();
    server.shutdown().await.unwrap();
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_at_answers_as_the_list_stood_then() {
    let relay = relay().await;
    let before = Timestamp::now();
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    let during = Timestamp::now();
    let out = cli(
        &relay,
        None,
        &["check", "pat@example.com", "--at", &before.to_string()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "deliverable before the add: {}",
        text(&out.stdout)
    );
    let out = cli(
        &relay,
        None,
        &["check", "pat@example.com", "--at", &during.to_string()],
    );
    assert_eq!(out.status.code(), Some(1), "blocked after the add");
    // After a lift, the past stays as it was.
    maria_requests_a_lift(&relay, "pat@example.com").await;
    ok(&cli(&relay, None, &["lift", "approve", "1"]));
    assert_eq!(
        cli(&relay, None, &["check", "pat@example.com"])
            .status
            .code(),
        Some(0)
    );
    let out = cli(
        &relay,
        None,
        &[
            "check",
            "pat@example.com",
            "--at",
            &during.to_string(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entry"]["reason"], "unsubscribe");
    relay.stop().await;
}

/// Maria (manager) asks for a lift of `target`, straight through the store.
async fn maria_requests_a_lift(relay: &TestRelay, target: &str) {
    let maria = Actor {
        user: "maria".into(),
        uid: Some(5001),
        role: Some(Role::Manager),
    };
    relay
        .server
        .store()
        .request_lift(Target::parse(target).unwrap(), "asked back".into(), maria)
        .await
        .unwrap()
        .unwrap();
}

fn relayed(rcpt: &str, at: Timestamp) -> Attempt {
    Attempt {
        at,
        session: "planted".into(),
        client: "192.0.2.1:1".into(),
        from: "rep@sales.example".into(),
        user: None,
        rcpt: rcpt.into(),
        owner: None,
        outcome: AttemptOutcome::Relayed {
            message_id: Some("m@x".into()),
            upstream: "250 ok".into(),
            exemption: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_sample_finds_a_planted_violation_and_none_in_a_clean_history() {
    let relay = relay().await;
    // Real traffic: one clean message.
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<pat@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: hi\r\n\r\nhello\r\n.\r\n", "250").await;
    c.expect("QUIT\r\n", "221").await;
    // Then pat opts out, is lifted, is mailed legitimately, opts out again.
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    maria_requests_a_lift(&relay, "pat@example.com").await;
    let store = relay.server.store();
    ok(&cli(&relay, None, &["lift", "approve", "1"]));
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<pat@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: again\r\n\r\nhello\r\n.\r\n", "250")
        .await;
    c.expect("QUIT\r\n", "221").await;
    add(&relay, "pat@example.com", Reason::Complaint, &[]).await;

    let clean = cli(
        &relay,
        None,
        &["audit", "sample", "--days", "1", "--size", "100", "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert_eq!(clean.status.code(), Some(0), "{report}");
    assert_eq!(report["checked"], 2);
    assert_eq!(report["violations"].as_array().unwrap().len(), 0);

    // A message "relayed" now, while the complaint is in force: a violation.
    store
        .record_attempts_synced(vec![relayed("Pat+x@Example.com", Timestamp::now())])
        .await
        .unwrap();
    let found = cli(
        &relay,
        None,
        &["audit", "sample", "--days", "1", "--size", "100"],
    );
    assert_eq!(found.status.code(), Some(1));
    let out = text(&found.stdout);
    assert!(
        out.contains("1 violation") && out.contains("Pat+x@Example.com"),
        "{out}"
    );
    assert!(
        out.contains("complaint") && out.contains("lift #1 approved"),
        "the trace shows the history: {out}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_contact_shows_opt_outs_refusals_and_flags_mail_sent_after_them() {
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    assert!(
        rcpt_reply(&relay, "rep@sales.example", "pat+q4@example.com")
            .await
            .starts_with("550")
    );
    relay
        .server
        .store()
        .record_attempts_synced(vec![relayed("pat@example.com", Timestamp::now())])
        .await
        .unwrap();
    let report = admin(&relay)
        .call(AuditContact {
            address: "pat@example.com".into(),
        })
        .unwrap();
    assert_eq!(report.flagged, 1);
    let kinds: Vec<&str> = report
        .timeline
        .iter()
        .map(|item| match item {
            TimelineItem::Event { .. } => "event",
            TimelineItem::Attempt { flagged: true, .. } => "flagged",
            TimelineItem::Attempt { .. } => "attempt",
        })
        .collect();
    assert_eq!(kinds, ["event", "attempt", "flagged"]);
    let out = cli(&relay, None, &["audit", "contact", "pat@example.com"]);
    assert_eq!(out.status.code(), Some(1), "a flagged message exits 1");
    relay.stop().await;
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrub_annotates_every_row_and_drop_keeps_only_the_mailable() {
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::Unsubscribe, &[]).await;
    add(&relay, "@competitor.example", Reason::Legal, &[]).await;
    let file = write(
        relay.dir.path(),
        "leads.csv",
        "First Name,E-mail,Company\nPat,PAT@example.com,Northwind\nKim,kim@contoso.example,Contoso\nBob,bob@eu.competitor.example,Rival\nX,not an address,?\n",
    );
    let out = cli(&relay, None, &["scrub", &file]);
    let csv = ok(&out);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "First Name,E-mail,Company,dnc_status,dnc_reason");
    assert_eq!(
        lines[1],
        "Pat,PAT@example.com,Northwind,suppressed,unsubscribe"
    );
    assert_eq!(lines[2], "Kim,kim@contoso.example,Contoso,ok,");
    assert_eq!(
        lines[3],
        "Bob,bob@eu.competitor.example,Rival,suppressed,legal"
    );
    assert!(
        lines[4].starts_with("X,not an address,?,invalid,"),
        "{}",
        lines[4]
    );
    assert!(
        text(&out.stderr).contains("4 rows, 1 ok, 2 suppressed, 1 invalid"),
        "{}",
        text(&out.stderr)
    );
    let dropped = ok(&cli(&relay, None, &["scrub", &file, "--drop"]));
    assert_eq!(dropped.lines().count(), 2);
    assert!(dropped.contains("kim@contoso.example"));
    // The store is unchanged, but the scrub is on the record.
    assert_eq!(relay.server.store().count().unwrap(), 2);
    let events = relay.server.store().events(1, 100).unwrap();
    assert!(events
        .iter()
        .any(|e| serde_json::to_value(e).unwrap()["kind"] == "scrubbed"));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_with_one_bad_row_changes_nothing() {
    let relay = relay().await;
    let file = write(
        relay.dir.path(),
        "bad.csv",
        "email\na@example.com\nnot-an-address\nb@example.com\n",
    );
    let out = cli(&relay, None, &["import", &file, "--reason", "unsubscribe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(relay.server.store().count().unwrap(), 0);
    let out = cli(
        &relay,
        None,
        &["import", &file, "--reason", "unsubscribe", "--skip-invalid"],
    );
    ok(&out);
    assert!(
        text(&out.stderr).contains("skipped line 3"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(relay.server.store().count().unwrap(), 2);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_and_sendgrid_exports_import_with_their_reasons() {
    let relay = relay().await;
    let ses = write(
        relay.dir.path(),
        "ses.csv",
        "EmailAddress,Reason,LastUpdateTime\nbounced@example.com,BOUNCE,2024-03-01T10:00:00Z\ncomplained@example.com,COMPLAINT,2024-03-02T10:00:00Z\n",
    );
    assert!(ok(&cli(&relay, None, &["import", &ses])).contains("(ses)"));
    let bounces = write(
        relay.dir.path(),
        "sg-bounces.csv",
        "email,created,reason,status\nsg-bounce@example.com,1709287200,550 5.1.1 user unknown,5.1.1\n",
    );
    let spam = write(
        relay.dir.path(),
        "sg-spam.csv",
        "email,created,ip\nsg-spam@example.com,1709287200,192.0.2.4\n",
    );
    let unsub = write(
        relay.dir.path(),
        "sg-unsub.csv",
        "email,created\nsg-unsub@example.com,1709287200\n",
    );
    for f in [&bounces, &spam, &unsub] {
        assert!(ok(&cli(&relay, None, &["import", f])).contains("sendgrid"));
    }
    let store = relay.server.store();
    for (target, reason) in [
        ("bounced@example.com", Reason::HardBounce),
        ("complained@example.com", Reason::Complaint),
        ("sg-bounce@example.com", Reason::HardBounce),
        ("sg-spam@example.com", Reason::Complaint),
        ("sg-unsub@example.com", Reason::Unsubscribe),
    ] {
        let entry = store.get(&Target::parse(target).unwrap()).unwrap().unwrap();
        assert_eq!(entry.reason, reason, "{target}");
        assert_eq!(entry.source, Source::Import);
    }
    // A hard bounce answers 5.1.1 at the wire.
    assert!(
        rcpt_reply(&relay, "rep@sales.example", "sg-bounce@example.com")
            .await
            .starts_with("550 5.1.1")
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_round_trips_and_import_never_weakens() {
    let a = relay().await;
    add(&a, "pat@example.com", Reason::Legal, &[]).await;
    add(&a, "@rival.example", Reason::Manual, &["acme"]).await;
    add(&a, "j.doe@gmail.com", Reason::Complaint, &[]).await;
    let csv = ok(&cli(&a, None, &["export"]));
    let file = write(a.dir.path(), "export.csv", &csv);
    let b = relay().await;
    // b already has pat with a weaker reason: the import upgrades, never downgrades.
    add(&b, "pat@example.com", Reason::Unsubscribe, &[]).await;
    ok(&cli(&b, None, &["import", &file]));
    let list = |r: &TestRelay| -> Vec<(String, String, String)> {
        r.server
            .store()
            .list(None, 100)
            .unwrap()
            .into_iter()
            .map(|e| (e.target.clone(), e.reason.to_string(), e.scope()))
            .collect()
    };
    assert_eq!(list(&a), list(&b));
    // Importing a weaker row over a stronger entry changes nothing.
    let weaker = write(b.dir.path(), "weaker.csv", "email\npat@example.com\n");
    ok(&cli(
        &b,
        None,
        &["import", &weaker, "--reason", "not-interested"],
    ));
    assert_eq!(
        b.server
            .store()
            .get(&Target::parse("pat@example.com").unwrap())
            .unwrap()
            .unwrap()
            .reason,
        Reason::Legal
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_export_matches_the_normalised_hash_of_every_variant() {
    let relay = relay().await;
    add(&relay, "J.Doe@GoogleMail.com", Reason::Unsubscribe, &[]).await;
    let out = ok(&cli(
        &relay,
        None,
        &["export", "--hashed", "--format", "jsonl"],
    ));
    assert!(!out.contains("doe"), "no address in a hashed export: {out}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    for variant in [
        "jdoe@gmail.com",
        " <J.D.O.E@googlemail.com> ",
        "j.doe@GMAIL.com",
    ] {
        let key = Target::parse(variant).unwrap().match_key();
        assert_eq!(
            row["target_sha256"],
            dnc_relay::lists::hash_key(&key),
            "{variant}"
        );
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_scoped_entry_blocks_that_units_senders_only() {
    let relay = relay().await;
    add(&relay, "pat@example.com", Reason::NotInterested, &["acme"]).await;
    assert!(rcpt_reply(&relay, "rep@acme.example", "pat@example.com")
        .await
        .starts_with("550 5.7.1"));
    assert!(rcpt_reply(&relay, "rep@globex.example", "pat@example.com")
        .await
        .starts_with("250"));
    assert!(
        rcpt_reply(&relay, "someone@elsewhere.example", "pat@example.com")
            .await
            .starts_with("250")
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exempt_group_passes_an_unsubscribe_but_never_a_hard_bounce() {
    let relay = relay().await;
    add(&relay, "customer@example.com", Reason::Unsubscribe, &[]).await;
    add(&relay, "gone@example.com", Reason::HardBounce, &[]).await;
    assert!(
        rcpt_reply(&relay, "billing@acme.example", "customer@example.com")
            .await
            .starts_with("250")
    );
    assert!(
        rcpt_reply(&relay, "rep@acme.example", "customer@example.com")
            .await
            .starts_with("550 5.7.1")
    );
    assert!(
        rcpt_reply(&relay, "billing@acme.example", "gone@example.com")
            .await
            .starts_with("550 5.1.1")
    );
    let records = relay.decisions(3).await;
    let exempt = records
        .iter()
        .find(|r| r.decision == Decision::Accept)
        .unwrap();
    assert_eq!(exempt.rcpt, "customer@example.com");
    let exemption = exempt.exemption.as_deref().unwrap();
    assert!(exemption.starts_with("billing: unsubscribe"), "{exemption}");
    relay.stop().await;
}

#[test]
fn exempting_a_hard_bounce_complaint_or_legal_is_a_config_error() {
    let text = r#"
[[sender_groups]]
name = "billing"
senders = ["billing@acme.example"]
exempt_reasons = ["unsubscribe", "hard-bounce"]
[[sender_groups]]
name = "legal-team"
senders = ["user:"]
exempt_reasons = ["legal"]
"#;
    let err = dnc_relay::config::Config::parse(text, "t").unwrap_err();
    let keys: Vec<_> = err.errors.iter().map(|e| e.key.as_str()).collect();
    assert!(keys.contains(&"sender_groups[0].exempt_reasons"), "{err}");
    assert!(keys.contains(&"sender_groups[1].exempt_reasons"), "{err}");
    assert!(keys.contains(&"sender_groups[1].senders"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relayed_and_refused_recipient_is_a_send_record() {
    let relay = relay().await;
    add(&relay, "stop@example.com", Reason::Unsubscribe, &[]).await;
    let mut c = Client::ready(relay.addr, "rep@sales.example").await;
    c.expect("RCPT TO:<stop@example.com>\r\n", "550").await;
    c.expect("RCPT TO:<ok@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Message-ID: <rec@x>\r\n\r\nhi\r\n.\r\n", "250")
        .await;
    c.expect("QUIT\r\n", "221").await;
    let dir = relay.stop().await;
    // Reopen the store: the records were committed.
    let store =
        dnc_relay::store::Store::open(&dir.path().join("dnc.redb"), &Default::default()).unwrap();
    let mut all = Vec::new();
    store
        .for_each_attempt(Timestamp(0), |a| all.push(a))
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(matches!(
        &all[0].outcome,
        AttemptOutcome::Refused {
            reason: Reason::Unsubscribe,
            ..
        }
    ));
    assert!(
        matches!(&all[1].outcome, AttemptOutcome::Relayed { message_id: Some(m), .. } if m == "rec@x")
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_records_past_retention_are_pruned() {
    let relay = relay().await;
    let store = relay.server.store();
    let old = Timestamp::now().minus(std::time::Duration::from_secs(500 * 86_400));
    store
        .record_attempts_synced(vec![
            relayed("old@example.com", old),
            relayed("new@example.com", Timestamp::now()),
        ])
        .await
        .unwrap();
    let cutoff = Timestamp::now().minus(std::time::Duration::from_secs(400 * 86_400));
    // The relay's own hourly pruner runs once at start and may take the old record first.
    assert!(store.prune_attempts(cutoff).await.unwrap() <= 1);
    let mut left = Vec::new();
    store
        .for_each_attempt(Timestamp(0), |a| left.push(a.rcpt))
        .unwrap();
    assert_eq!(left, ["new@example.com"]);
    assert!(store
        .attempts_to("old@example.com", Timestamp(0))
        .unwrap()
        .is_empty());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_a_role_is_refused_before_a_byte_is_read() {
    require_root!();
    let relay = relay().await;
    // A raw client as an unmapped uid: it is told at once, without sending anything, and then
    // cannot send (the relay closed the connection instead of reading megabytes from it).
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
answer = s.makefile("rb").readline().decode()
print("answer:", answer.strip())
try:
    for _ in range(64):
        s.sendall(b"x" * (1 << 20))
    print("sent: all")
except OSError as e:
    print("sent: refused", e.errno)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(relay.socket())
        .uid(UNMAPPED)
        .gid(0)
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(
        shown.contains("has no role"),
        "{shown}{}",
        text(&out.stderr)
    );
    assert!(shown.contains("sent: refused"), "{shown}");
    // The CLI still says why.
    let whoami = cli(&relay, Some(UNMAPPED), &["whoami"]);
    assert_eq!(whoami.status.code(), Some(1));
    assert!(
        text(&whoami.stderr).contains("has no role"),
        "{}",
        text(&whoami.stderr)
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_naming_no_configured_unit_is_refused() {
    let relay = relay().await;
    let out = cli(
        &relay,
        None,
        &[
            "suppress",
            "add",
            "typo@example.com",
            "--reason",
            "unsubscribe",
            "--scope",
            "acmee",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("'acmee'") && err.contains("acme, globex"),
        "{err}"
    );
    let show = cli(&relay, None, &["suppress", "show", "typo@example.com"]);
    assert_eq!(show.status.code(), Some(1), "nothing was added");
    let ok = cli(
        &relay,
        None,
        &[
            "suppress",
            "add",
            "typo@example.com",
            "--reason",
            "unsubscribe",
            "--scope",
            "acme",
        ],
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    relay.stop().await;
}
