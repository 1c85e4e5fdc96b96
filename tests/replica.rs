//! The fleet's invariant, without PostgreSQL: a replica that applies the log a relay wrote
//! holds exactly what that relay holds (entries, lifts, locks, accounts, history), because
//! every replicated row a write changes is shipped with its events. The log here lives in
//! memory behind the same `Sequencer` the PostgreSQL one implements.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dnc_relay::address::Target;
use dnc_relay::model::{Actor, Lock, LockKind, Reason, Source, Timestamp, Units};
use dnc_relay::store::replica::{LogEntry, SequenceError, Sequencer};
use dnc_relay::store::{contact_lock_key, LockOp, NewEntry, Store, StoreOptions};

/// A log in memory.
#[derive(Clone, Default)]
struct MemoryLog(Arc<Mutex<Vec<LogEntry>>>);

impl Sequencer for MemoryLog {
    fn begin(&mut self, applied: u64) -> Result<(u64, u64, Vec<LogEntry>), SequenceError> {
        let log = self.0.lock().unwrap();
        let head = log.last().map(|e| e.seq).unwrap_or(0);
        let behind = log.iter().filter(|e| e.seq > applied).cloned().collect();
        Ok((head, 42, behind))
    }

    fn done_ops(&mut self, _ops: &[u64]) -> Result<Vec<u64>, SequenceError> {
        Ok(Vec::new())
    }

    fn publish(&mut self, entries: &[LogEntry], _ops: &[u64]) -> Result<(), SequenceError> {
        let mut log = self.0.lock().unwrap();
        for e in entries {
            let next = log.last().map(|l| l.seq).unwrap_or(0) + 1;
            assert_eq!(e.seq, next, "the log has no holes");
            log.push(e.clone());
        }
        Ok(())
    }

    fn abort(&mut self) {}

    fn committed(&mut self) {}
}

fn open(dir: &std::path::Path, name: &str, log: &MemoryLog) -> Store {
    Store::open_replica(
        &dir.join(name),
        &StoreOptions::default(),
        Some(Box::new(log.clone())),
    )
    .unwrap()
}

fn entry(target: &str, reason: Reason, units: Units) -> NewEntry {
    NewEntry {
        target: Target::parse(target).unwrap(),
        reason,
        source: Source::Admin,
        evidence: format!("proof for {target}"),
        units,
    }
}

fn lock(target: &str, owner: &str, now: Timestamp) -> (String, Lock) {
    let key = contact_lock_key(&Target::parse(target).unwrap().match_key());
    let lock = Lock {
        kind: LockKind::Contact,
        target: target.into(),
        owner: owner.into(),
        team: None,
        since: now,
        expires: now.plus(Duration::from_secs(86_400)),
        review: None,
    };
    (key.into(), lock)
}

/// Everything a replica must agree on, as the store's readers show it.
fn state(store: &Store) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.last_interaction("lea@northwind.example").unwrap(),
        store.consents(None, 10_000).unwrap(),
        store.list(None, 10_000).unwrap(),
        store.lifts().unwrap(),
        store.locks().unwrap(),
        store.events(1, 10_000).unwrap(),
        ["globex.example", "globex.fr", "solo.example"].map(|d| store.account_of(d).unwrap()),
    )
}

#[tokio::test]
async fn a_replica_applying_the_log_holds_what_the_writing_relay_holds() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::default();
    let a = open(dir.path(), "a.redb", &log);
    let admin = Actor::system();
    let now = Timestamp::now();
    // Adds, a stronger re-add with a wider scope, a domain, many at once.
    a.add(
        entry(
            "pat@northwind.example",
            Reason::NotInterested,
            Units::parse(["acme".to_string()]),
        ),
        admin.clone(),
    )
    .await
    .unwrap();
    a.add(
        entry("pat@northwind.example", Reason::Unsubscribe, Units::all()),
        admin.clone(),
    )
    .await
    .unwrap();
    a.add(
        entry("@spam.example", Reason::Complaint, Units::all()),
        admin.clone(),
    )
    .await
    .unwrap();
    let many = (0..50)
        .map(|i| {
            entry(
                &format!("lead{i}@list.example"),
                Reason::Unsubscribe,
                Units::all(),
            )
        })
        .collect();
    a.add_many(many, admin.clone()).await.unwrap();
    // A lift requested and approved, another denied.
    let lift = a
        .request_lift(
            Target::parse("lead1@list.example").unwrap(),
            "asked".into(),
            admin.clone(),
        )
        .await
        .unwrap()
        .unwrap();
    let approver = Actor {
        user: "ops".into(),
        uid: Some(4244),
        role: None,
    };
    a.decide_lift(lift.id, true, None, approver.clone())
        .await
        .unwrap()
        .unwrap();
    let denied = a
        .request_lift(
            Target::parse("lead2@list.example").unwrap(),
            "asked".into(),
            admin.clone(),
        )
        .await
        .unwrap()
        .unwrap();
    a.decide_lift(denied.id, false, Some("no proof".into()), approver)
        .await
        .unwrap()
        .unwrap();
    // Locks taken by relayed messages, reviewed, transferred, released, and one ended by a
    // suppression of its contact; an account grouping.
    let locks = vec![
        lock("sam@prospect.example", "sam", now),
        lock("kim@prospect.example", "sam", now),
        lock("lee@prospect.example", "sam", now),
        lock("max@prospect.example", "sam", now),
    ];
    a.record_relayed(Vec::new(), locks.clone(), Vec::new())
        .await
        .unwrap();
    a.settle().await.unwrap();
    let review = LockOp::Review {
        note: "two reps".into(),
    };
    a.update_lock(locks[0].0.clone(), review, admin.clone())
        .await
        .unwrap()
        .unwrap();
    let transfer = LockOp::Transfer {
        owner: "kim".into(),
        team: Some("east".into()),
        note: "territory".into(),
        expires: now.plus(Duration::from_secs(3600)),
    };
    a.update_lock(locks[1].0.clone(), transfer, admin.clone())
        .await
        .unwrap()
        .unwrap();
    let release = LockOp::Release {
        note: "done".into(),
    };
    a.update_lock(locks[2].0.clone(), release, admin.clone())
        .await
        .unwrap()
        .unwrap();
    a.add(
        entry("max@prospect.example", Reason::HardBounce, Units::all()),
        admin.clone(),
    )
    .await
    .unwrap();
    a.group_account(
        "globex".into(),
        vec!["globex.example".into(), "globex.fr".into()],
        admin.clone(),
    )
    .await
    .unwrap();
    // Consent recorded, replaced and withdrawn.
    let consent = |key: &str, purpose: &str| dnc_relay::model::consent::Consent {
        key: key.into(),
        purpose: purpose.into(),
        channel: dnc_relay::model::consent::Channel::Email,
        proof: "signup form".into(),
        given_at: now,
        double_opt_in: true,
        actor: admin.clone(),
        event_id: 0,
        withdrawn: None,
    };
    a.give_consents(
        vec![
            consent("lea@northwind.example", "newsletter"),
            consent("lea@northwind.example", "events"),
        ],
        admin.clone(),
    )
    .await
    .unwrap()
    .unwrap();
    a.withdraw_consent(
        "lea@northwind.example",
        "events",
        "asked".into(),
        admin.clone(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(a.consents_of("lea@northwind.example").unwrap().len(), 2);
    assert_eq!(
        a.last_interaction("lea@northwind.example").unwrap(),
        Some(now)
    );
    a.settle().await.unwrap();

    // A new replica applies the whole log (in two goes, the second repeating the first's
    // last entries: applying is idempotent).
    let b = open(dir.path(), "b.redb", &log);
    let entries = log.0.lock().unwrap().clone();
    assert!(entries.len() > 60, "{} entries", entries.len());
    let half = entries.len() / 2;
    b.replicate(entries[..half].to_vec()).await.unwrap();
    b.replicate(entries[half - 3..].to_vec()).await.unwrap();
    assert_eq!(b.applied(), a.applied());
    assert_eq!(state(&b), state(&a));
    // The suppression of max ended sam's lock on every replica, not only on a.
    let held: Vec<String> = b.locks().unwrap().into_iter().map(|l| l.target).collect();
    assert!(
        !held.contains(&"max@prospect.example".to_string()),
        "{held:?}"
    );
    assert!(
        held.contains(&"kim@prospect.example".to_string()),
        "{held:?}"
    );
    // A gap is refused and changes nothing.
    let c = open(dir.path(), "c.redb", &log);
    assert!(c.replicate(entries[1..].to_vec()).await.is_err());
    assert_eq!(c.applied(), 0);
    assert!(c.list(None, 10).unwrap().is_empty());
}
