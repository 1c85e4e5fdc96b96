//! Lock claims at RCPT, across the fleet, batched.
//!
//! Every claim is one conditional row in `dnc_claims`: inserted, or updated when the same
//! owner holds it or its holder's claim ran out (a review ends with its lock, as on a single
//! relay; while it runs, only its owner gets the key). Claims that
//! arrive together go to PostgreSQL in one statement (a few workers, each taking whatever
//! waits): under load a claim costs a share of one statement instead of a statement and a
//! commit of its own. Keys are sorted within a statement so that two statements never lock
//! rows in opposite orders (no deadlock between workers or relays).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};

use super::pg::PgError;

/// Claims one statement carries at most.
const MAX_BATCH: usize = 256;

/// Who holds a key the claimant did not get.
#[derive(Debug, Clone)]
pub struct Holder {
    /// The owner.
    pub owner: String,
    /// Until when (microseconds since 1970).
    pub until: i64,
    /// Under review: only its owner may send.
    pub review: bool,
}

/// The claims of one RCPT on their way (its contact and account keys, in one statement).
struct Request {
    keys: Vec<(String, i64)>,
    owner: String,
    now: i64,
    reply: oneshot::Sender<Result<Vec<Option<Holder>>, PgError>>,
}

/// The queue the workers take claims from.
#[derive(Clone)]
pub struct Claimer {
    tx: mpsc::Sender<Request>,
}

impl Claimer {
    /// Starts `workers` workers on `pool`.
    pub fn start(pool: deadpool_postgres::Pool, node: String, workers: usize) -> Claimer {
        let (tx, rx) = mpsc::channel(4096);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(work(pool.clone(), node.clone(), rx.clone()));
        }
        Claimer { tx }
    }

    /// Claims each key for `owner` until its time: for each, `None` when the owner has it
    /// now, else who holds it.
    pub async fn claim(
        &self,
        keys: Vec<(String, i64)>,
        owner: &str,
        now: i64,
    ) -> Result<Vec<Option<Holder>>, PgError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request {
                keys,
                owner: owner.to_string(),
                now,
                reply,
            })
            .await
            .map_err(|_| PgError("the claim workers have stopped".into()))?;
        answer
            .await
            .map_err(|_| PgError("a claim worker stopped".into()))?
    }
}

async fn work(
    pool: deadpool_postgres::Pool,
    node: String,
    rx: Arc<Mutex<mpsc::Receiver<Request>>>,
) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(first) => batch.push(first),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.push(more),
                    Err(_) => break,
                }
            }
        }
        match run(&pool, &node, &batch).await {
            Ok(holders) => {
                for req in batch {
                    let answer = req
                        .keys
                        .iter()
                        .map(|(key, _)| match holders.get(key) {
                            Some(h) if h.owner != req.owner => Some(h.clone()),
                            _ => None,
                        })
                        .collect();
                    let _ = req.reply.send(Ok(answer));
                }
            }
            Err(e) => {
                for req in batch {
                    let _ = req.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One statement for the batch: who holds each key afterwards.
async fn run(
    pool: &deadpool_postgres::Pool,
    node: &str,
    batch: &[Request],
) -> Result<BTreeMap<String, Holder>, PgError> {
    // One row per key (the first claimant's); the others learn the holder below.
    let mut first: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
    for req in batch {
        for (key, until) in &req.keys {
            first
                .entry(key.as_str())
                .or_insert((req.owner.as_str(), *until));
        }
    }
    let keys: Vec<&str> = first.keys().copied().collect();
    let owners: Vec<&str> = first.values().map(|(o, _)| *o).collect();
    let untils: Vec<i64> = first.values().map(|(_, u)| *u).collect();
    let now = batch.iter().map(|r| r.now).max().unwrap_or(0);
    let client = pool
        .get()
        .await
        .map_err(|e| PgError(format!("no PostgreSQL connection for a claim: {e}")))?;
    let claim = client
        .prepare_cached(
            "INSERT INTO dnc_claims AS c (key, owner, until, review, node) \
             SELECT k, o, u, false, $4 FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
             AS t(k, o, u) \
             ON CONFLICT (key) DO UPDATE SET \
             until = CASE WHEN c.owner = EXCLUDED.owner \
             THEN GREATEST(c.until, EXCLUDED.until) ELSE EXCLUDED.until END, \
             owner = EXCLUDED.owner, node = EXCLUDED.node \
             WHERE c.owner = EXCLUDED.owner OR c.until <= $5 \
             RETURNING key, owner, until, review",
        )
        .await?;
    let won = client
        .query(&claim, &[&keys, &owners, &untils, &node, &now])
        .await?;
    let mut holders = BTreeMap::new();
    for row in &won {
        holders.insert(row.get::<_, String>(0), holder(row));
    }
    let lost: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !holders.contains_key(*k))
        .collect();
    if !lost.is_empty() {
        let rows = client
            .query(
                "SELECT key, owner, until, review FROM dnc_claims WHERE key = ANY($1)",
                &[&lost],
            )
            .await?;
        for row in &rows {
            holders.insert(row.get::<_, String>(0), holder(row));
        }
        if rows.len() != lost.len() {
            // Released between the two statements: nobody can tell who holds it now.
            return Err(PgError("a claim changed while it was taken".into()));
        }
    }
    Ok(holders)
}

fn holder(row: &tokio_postgres::Row) -> Holder {
    Holder {
        owner: row.get(1),
        until: row.get(2),
        review: row.get(3),
    }
}
