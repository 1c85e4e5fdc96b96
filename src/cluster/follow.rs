//! The follower: keeps the local replica current with the fleet's log.
//!
//! LISTEN wakes it on every commit to the log; a poll every second catches up anyway
//! (notifications can be missed, and a quiet log must still be confirmed current). Each round
//! it fetches what the replica lacks, applies it through the store's writer, and confirms the
//! replica current as of the moment it asked when the answer held everything. It also copies
//! this relay's send records to PostgreSQL and the other relays' back (fleet-wide audits), and
//! reports where this node stands for `cluster status`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::pg::{self, Db, PgError};
use super::Gate;
use crate::store::Store;

/// Entries fetched per round; a relay far behind applies the log in rounds of this size.
const BATCH: i64 = 20_000;

/// Send records copied per round, each way.
const RECORDS: usize = 5_000;

/// How often the follower asks even without a notification.
const POLL: Duration = Duration::from_secs(1);

/// This process among the fleet's (two relays given the same node name are told apart).
static INSTANCE: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| fastrand::i64(1..i64::MAX));

/// Reports of a twin node, logged at most once a minute.
static TWINS: crate::panics::Throttle = crate::panics::Throttle::new(60);

/// Failures logged at most this often.
static FAILURES: crate::panics::Throttle = crate::panics::Throttle::new(10);

/// Follows until `stop` says so, reconnecting after any failure. Send records are copied by
/// a task of their own: waiting for the store's writer (busy with an import, say) must never
/// hold up the confirmations that keep this relay deciding.
pub async fn run(
    db: Db,
    store: Store,
    gate: Arc<Gate>,
    leader: Arc<AtomicBool>,
    node: String,
    mut stop: watch::Receiver<bool>,
) {
    let copier = tokio::spawn(copy(db.clone(), store.clone(), node.clone(), stop.clone()));
    loop {
        let result = follow(&db, &store, &gate, &leader, &node, &mut stop).await;
        // The session lock went with the connection.
        leader.store(false, Ordering::Release);
        if *stop.borrow() {
            let _ = copier.await;
            return;
        }
        if let Err(e) = result {
            if let Some(held_back) = FAILURES.should_log() {
                tracing::warn!(
                    node = node.as_str(),
                    error = %e,
                    failures_since_last = held_back,
                    "cannot follow the fleet's log; retrying every second"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {
                let _ = copier.await;
                return;
            }
        }
    }
}

/// Copies send records both ways every second until `stop`; forgets long-expired claims
/// once an hour.
async fn copy(db: Db, store: Store, node: String, mut stop: watch::Receiver<bool>) {
    let mut client = None;
    let mut pruned: Option<Instant> = None;
    loop {
        if client
            .as_ref()
            .is_none_or(|c: &tokio_postgres::Client| c.is_closed())
        {
            client = pg::within(pg::STATEMENT_TIMEOUT, "the connection", db.connect())
                .await
                .ok()
                .map(|(c, _)| c);
        }
        if let Some(c) = client.as_mut() {
            if let Err(e) = copy_records(c, &store, &node).await {
                tracing::debug!(error = %e, "send records not copied this round");
                client = None;
            } else if pruned.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                let now = crate::model::Timestamp::now().0;
                if let Ok(n) =
                    pg::within(pg::STATEMENT_TIMEOUT, "a prune", pg::prune_claims(c, now)).await
                {
                    tracing::debug!(pruned = n, "expired claims forgotten");
                    pruned = Some(Instant::now());
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection's worth of following.
async fn follow(
    db: &Db,
    store: &Store,
    gate: &Gate,
    leader: &AtomicBool,
    node: &str,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), PgError> {
    let (client, mut notes) = open(db, store).await?;
    let mut last_report: Option<(Instant, u64)> = None;
    let instance = *INSTANCE;
    let mut twin_seen = false;
    loop {
        let asked = Instant::now();
        let complete = catch_up(&client, store, gate).await?;
        if complete {
            gate.confirm(asked);
        }
        if !leader.load(Ordering::Acquire) {
            let won = pg::within(
                pg::STATEMENT_TIMEOUT,
                "the notifier election",
                pg::try_lead(&client),
            )
            .await?;
            if won {
                tracing::info!(node, "this relay sends the fleet's notifications");
                leader.store(true, Ordering::Release);
            }
        }
        // Reported when the position moved, and every second anyway (the lag's clock).
        let applied = store.applied();
        if last_report.is_none_or(|(at, was)| was != applied || at.elapsed() >= POLL) {
            let queued = store.queued_adds();
            let twin = pg::within(
                pg::STATEMENT_TIMEOUT,
                "a status report",
                pg::report(&client, node, instance, applied, complete, queued),
            )
            .await?;
            // Twice in a row: not this relay's own previous process, which reports no more.
            if twin && twin_seen {
                if let Some(held_back) = TWINS.should_log() {
                    tracing::error!(
                        node,
                        reports_since_last = held_back,
                        "ANOTHER RELAY REPORTS AS THIS NODE: give every relay its own cluster.node (cluster status cannot tell them apart)"
                    );
                }
            }
            twin_seen = twin;
            last_report = Some((Instant::now(), applied));
        }
        if !complete {
            continue;
        }
        tokio::select! {
            note = notes.recv() => {
                if note.is_none() {
                    return Err(PgError("the connection to PostgreSQL closed".into()));
                }
                drain(&mut notes);
            }
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Connects, migrates the schema if needed, checks (or binds) the log's identity, listens.
async fn open(
    db: &Db,
    store: &Store,
) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<()>), PgError> {
    let (mut client, notes) =
        pg::within(pg::STATEMENT_TIMEOUT, "the connection", db.connect()).await?;
    let applied = pg::within(
        pg::STATEMENT_TIMEOUT,
        "the migrations",
        pg::migrate(&mut client),
    )
    .await?;
    if !applied.is_empty() {
        tracing::info!(versions = ?applied, "the fleet's database schema was migrated");
    }
    let log = pg::within(
        pg::STATEMENT_TIMEOUT,
        "the log's identity",
        pg::fleet_id(&client),
    )
    .await?;
    store
        .bind_fleet(log)
        .await
        .map_err(|e| PgError(e.to_string()))?;
    client
        .batch_execute(&format!("LISTEN {}", pg::CHANNEL))
        .await?;
    Ok((client, notes))
}

/// One round: fetches what the replica lacks and applies it; whether that was everything.
async fn catch_up(
    client: &tokio_postgres::Client,
    store: &Store,
    gate: &Gate,
) -> Result<bool, PgError> {
    check_anchor(client, store, gate).await?;
    let fetched = pg::within(
        pg::STATEMENT_TIMEOUT,
        "a read of the log",
        pg::fetch(client, store.applied(), None, BATCH),
    )
    .await?;
    let complete = (fetched.len() as i64) < BATCH;
    if fetched.is_empty() {
        return Ok(complete);
    }
    store
        .replicate(fetched)
        .await
        .map_err(|e| PgError(format!("cannot apply the log: {e}")))?;
    Ok(complete)
}

/// Checks that the log still holds, at this replica's position, the entry the replica
/// applied there. A database restored from an older backup and written to since has other
/// entries under the same numbers: following it would skip them (and keep entries the log
/// lost). Such a replica never decides or writes again until it is rebuilt.
async fn check_anchor(
    client: &tokio_postgres::Client,
    store: &Store,
    gate: &Gate,
) -> Result<(), PgError> {
    let applied = store.applied();
    if applied == 0 {
        return Ok(());
    }
    let theirs = pg::within(
        pg::STATEMENT_TIMEOUT,
        "a check of the log",
        pg::entry_body(client, applied),
    )
    .await?;
    let mine = store
        .event_body(applied)
        .map_err(|e| PgError(format!("cannot read the replica: {e}")))?;
    let why = match theirs {
        Some(body) if body == mine => return Ok(()),
        Some(_) => format!("the fleet's log holds another entry {applied} than this replica"),
        None => format!("the fleet's log has no entry {applied}, which this replica applied"),
    };
    gate.diverge();
    Err(PgError(format!(
        "{why}: the database lost entries (restored from an older backup?). This relay no \
         longer decides or writes: export its list (dnc-relay export), stop it, move its data \
         directory away, start it again (it rejoins from the log), and import the export"
    )))
}

/// Takes every notification already queued: one round answers them all.
fn drain(notes: &mut mpsc::UnboundedReceiver<()>) {
    while notes.try_recv().is_ok() {}
}

/// Copies this relay's send records out and the others' in, a bounded number each way.
async fn copy_records(
    client: &mut tokio_postgres::Client,
    store: &Store,
    node: &str,
) -> Result<(), PgError> {
    let mine = store
        .to_ship(RECORDS)
        .map_err(|e| PgError(format!("cannot read send records: {e}")))?;
    if !mine.is_empty() {
        pg::within(
            pg::STATEMENT_TIMEOUT,
            "a copy of send records",
            pg::ship(client, node, &mine),
        )
        .await?;
        store
            .shipped(mine.into_iter().map(|(id, _)| id).collect())
            .await
            .map_err(|e| PgError(format!("cannot note shipped send records: {e}")))?;
    }
    let after = store
        .attempts_pulled()
        .map_err(|e| PgError(format!("cannot read the store: {e}")))?;
    let theirs = pg::within(
        pg::STATEMENT_TIMEOUT,
        "a read of send records",
        pg::pull(client, node, after, RECORDS as i64),
    )
    .await?;
    if let Some(last) = theirs.last().map(|(pos, _, _)| *pos) {
        let attempts = theirs.into_iter().map(|(_, id, body)| (id, body)).collect();
        store
            .pulled(attempts, last)
            .await
            .map_err(|e| PgError(format!("cannot keep send records: {e}")))?;
    }
    Ok(())
}
