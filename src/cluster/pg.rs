//! PostgreSQL: the fleet's log, the state rows it describes, lock claims, send records and
//! the nodes' positions. Versioned migrations run at start (and by `cluster migrate`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client};

use crate::config::ClusterConfig;
use crate::store::replica::{LogEntry, Replicated, RowImage};

/// A failure to reach or use the fleet's database.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PgError(pub String);

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's own message (a constraint, a permission) says more than "db error".
        match e.as_db_error() {
            Some(db) => PgError(format!("PostgreSQL: {}", db.message())),
            None => PgError(format!("PostgreSQL: {e}")),
        }
    }
}

/// How every statement is bounded: a database that does not answer counts as unreachable.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `fut` within `limit`.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, PgError>>,
) -> Result<T, PgError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(PgError(format!(
            "PostgreSQL did not answer {what} within {}",
            humantime::format_duration(limit)
        ))),
    }
}

/// The log's notification channel: every commit to the log notifies it.
pub const CHANNEL: &str = "dnc_log";

/// Where and how to connect.
#[derive(Clone)]
pub struct Db {
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Db {
    /// From `[cluster]`: the URL, the password from `password_file` or `PGPASSWORD`, and TLS
    /// unless `sslmode=disable`.
    pub fn new(c: &ClusterConfig) -> Result<Db, PgError> {
        let mut config: tokio_postgres::Config = c
            .postgres
            .parse()
            .map_err(|e| PgError(format!("cluster.postgres: {e}")))?;
        if config.get_password().is_none() {
            if let Some(file) = &c.password_file {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    PgError(format!(
                        "cannot read cluster.password_file {}: {e}",
                        file.display()
                    ))
                })?;
                config.password(text.lines().next().unwrap_or("").trim_end());
            } else if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        if !c.postgres.contains("sslmode=") {
            // Secure unless told otherwise: `prefer` (the client's default) would fall back
            // to plaintext for anyone on the path who refuses TLS.
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(3));
        }
        config.application_name(format!("dnc-relay/{}", c.node));
        config.keepalives_idle(Duration::from_secs(30));
        let tls = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => None,
            _ => {
                let tls = crate::relay::client_tls_config(c.ca_file.as_deref(), "cluster.ca_file")
                    .map_err(|e| PgError(e.0))?;
                Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            }
        };
        Ok(Db { config, tls })
    }

    /// The settings, for a pool.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The TLS connector, if TLS may be used.
    pub fn tls(&self) -> Option<&tokio_postgres_rustls::MakeRustlsConnect> {
        self.tls.as_ref()
    }

    /// Connects; the connection runs on its own task. Notifications (when the connection
    /// listens) arrive on the returned channel.
    pub async fn connect(&self) -> Result<(Client, mpsc::UnboundedReceiver<()>), PgError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = match &self.tls {
            Some(tls) => {
                let (client, conn) = self.config.connect(tls.clone()).await?;
                tokio::spawn(drive(conn, tx));
                client
            }
            None => {
                let (client, conn) = self.config.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(drive(conn, tx));
                client
            }
        };
        Ok((client, rx))
    }
}

/// Drives a connection, passing its notifications on.
async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>, tx: mpsc::UnboundedSender<()>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(_))) => {
                let _ = tx.send(());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::debug!(error = %e, "PostgreSQL connection ended");
                return;
            }
            None => return,
        }
    }
}

/// The schema, one migration per version, applied in order and recorded in `dnc_schema`.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    r#"
CREATE TABLE dnc_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,        -- the log's last entry
    attempts bigint NOT NULL,   -- the last send record's position
    fleet bigint NOT NULL       -- this log's identity: a replica of another log refuses it
);
INSERT INTO dnc_head VALUES (1, 0, 0, 1 + (random() * 9e18)::bigint);
-- The history: one row per event, in order. A replica copies the event (body, key) and the
-- row images (rows, on a write's last entry) and never runs rules again.
CREATE TABLE dnc_log (
    seq bigint PRIMARY KEY,
    at bigint NOT NULL,         -- microseconds since 1970 (the writing relay's clock)
    node text NOT NULL,
    body bytea,                 -- the event as a relay's store keeps it; NULL: rows alone
    key text,                   -- the history index key
    rows bytea                  -- the rows the write left (postcard)
);
-- The rows the log describes, as of its head: what a new relay starts from.
CREATE TABLE dnc_state (
    tbl smallint NOT NULL,
    key text NOT NULL,
    value bytea NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (tbl, key)
);
-- Adds a relay kept during an outage, once in the log: pushed exactly once.
CREATE TABLE dnc_ops (
    node text NOT NULL,
    op bigint NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (node, op)
);
-- Ownership: one row per lock key, claimed at RCPT by one conditional write.
CREATE TABLE dnc_claims (
    key text PRIMARY KEY,
    owner text NOT NULL,
    until bigint NOT NULL,      -- microseconds since 1970
    review boolean NOT NULL DEFAULT false,
    node text NOT NULL
);
-- Send records of every relay, for fleet-wide audits.
CREATE TABLE dnc_attempts (
    pos bigint PRIMARY KEY,
    node text NOT NULL,
    id bytea NOT NULL,
    body bytea NOT NULL,
    UNIQUE (node, id)
);
-- Where each relay stands.
CREATE TABLE dnc_nodes (
    node text PRIMARY KEY,
    applied bigint NOT NULL,
    confirmed_at timestamptz,
    contact_at timestamptz NOT NULL,
    queued bigint NOT NULL DEFAULT 0,
    version text NOT NULL,
    instance bigint NOT NULL DEFAULT 0  -- random per process start: tells twins apart
);
"#,
)];

/// The schema version this build needs.
pub const SCHEMA_VERSION: i32 = 1;

/// Serialises migrations of concurrent relays (an arbitrary, fixed advisory lock key).
const MIGRATION_LOCK: i64 = 0x646e_6372_656c_6179;

/// Applies the migrations the database lacks; returns those applied. A database newer than
/// this build is refused.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, PgError> {
    let txn = client.transaction().await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS dnc_schema (version integer PRIMARY KEY, \
         applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let done: Vec<i32> = txn
        .query("SELECT version FROM dnc_schema", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(newer) = done.iter().find(|v| **v > SCHEMA_VERSION) {
        return Err(PgError(format!(
            "the fleet's database has schema version {newer}, newer than this build's \
             {SCHEMA_VERSION}: upgrade this relay"
        )));
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        txn.batch_execute(sql).await?;
        txn.execute("INSERT INTO dnc_schema (version) VALUES ($1)", &[version])
            .await?;
        applied.push(*version);
    }
    txn.commit().await?;
    Ok(applied)
}

/// Entries after `after`, at most `limit`, in order; and through `upto` when given.
pub async fn fetch(
    client: &Client,
    after: u64,
    upto: Option<u64>,
    limit: i64,
) -> Result<Vec<LogEntry>, PgError> {
    let upto = upto.map(|u| u as i64).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT seq, at, body, key, rows FROM dnc_log WHERE seq > $1 AND seq <= $2 \
             ORDER BY seq LIMIT $3",
            &[&(after as i64), &upto, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let rows: Option<Vec<u8>> = r.get(4);
            let rows: Vec<RowImage> = match rows {
                Some(bytes) => postcard::from_bytes(&bytes)
                    .map_err(|e| PgError(format!("a log entry's rows cannot be read: {e}")))?,
                None => Vec::new(),
            };
            Ok(LogEntry {
                seq: r.get::<_, i64>(0) as u64,
                at: crate::model::Timestamp(r.get(1)),
                body: r.get(2),
                key: r.get(3),
                rows,
            })
        })
        .collect()
}

/// The log's identity (see `dnc_head.fleet`).
pub async fn fleet_id(client: &Client) -> Result<u64, PgError> {
    let row = client
        .query_one("SELECT fleet FROM dnc_head WHERE id = 1", &[])
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Entry `seq` as the log holds it: `None` when there is no such entry, `Some(None)` for an
/// entry of row images alone.
pub async fn entry_body(client: &Client, seq: u64) -> Result<Option<Option<Vec<u8>>>, PgError> {
    let row = client
        .query_opt("SELECT body FROM dnc_log WHERE seq = $1", &[&(seq as i64)])
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The log's head.
pub async fn head(client: &Client) -> Result<u64, PgError> {
    let row = client
        .query_one("SELECT seq FROM dnc_head WHERE id = 1", &[])
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Writes entries (their events, the state rows and lock claims they describe), marks the
/// outage operations done, moves the head and notifies: inside the caller's transaction.
pub async fn append(
    client: &Client,
    node: &str,
    entries: &[LogEntry],
    ops: &[u64],
) -> Result<(), PgError> {
    let Some(last) = entries.last().map(|e| e.seq as i64) else {
        return Ok(());
    };
    // In chunks: an import's million entries would otherwise be one huge message.
    for chunk in entries.chunks(10_000) {
        insert_log(client, node, chunk).await?;
    }
    write_state(client, node, entries).await?;
    if !ops.is_empty() {
        let ops: Vec<i64> = ops.iter().map(|o| *o as i64).collect();
        client
            .execute(
                "INSERT INTO dnc_ops (node, op, seq) SELECT $1, o, $3 FROM UNNEST($2::bigint[]) \
                 AS t(o) ON CONFLICT DO NOTHING",
                &[&node, &ops, &last],
            )
            .await?;
    }
    client
        .execute("UPDATE dnc_head SET seq = $1 WHERE id = 1", &[&last])
        .await?;
    client
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &last.to_string()])
        .await?;
    Ok(())
}

/// Inserts log rows.
async fn insert_log(client: &Client, node: &str, entries: &[LogEntry]) -> Result<(), PgError> {
    let mut seqs = Vec::with_capacity(entries.len());
    let mut ats = Vec::with_capacity(entries.len());
    let mut bodies = Vec::with_capacity(entries.len());
    let mut keys = Vec::with_capacity(entries.len());
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        seqs.push(e.seq as i64);
        ats.push(e.at.0);
        bodies.push(e.body.as_deref());
        keys.push(e.key.as_deref());
        rows.push(if e.rows.is_empty() {
            None
        } else {
            Some(
                postcard::to_allocvec(&e.rows)
                    .map_err(|e| PgError(format!("cannot encode row images: {e}")))?,
            )
        });
    }
    client
        .execute(
            "INSERT INTO dnc_log (seq, at, node, body, key, rows) \
             SELECT s, a, $3, b, k, r FROM UNNEST($1::bigint[], $2::bigint[], $4::bytea[], \
             $5::text[], $6::bytea[]) AS t(s, a, b, k, r)",
            &[&seqs, &ats, &node, &bodies, &keys, &rows],
        )
        .await?;
    Ok(())
}

/// How long a write of `entries` may take: an import's is bigger than an add's.
pub fn write_limit(entries: usize) -> Duration {
    STATEMENT_TIMEOUT + Duration::from_millis(entries as u64 / 5)
}

/// The state rows (and, for locks, the claims) the entries' row images describe: the last
/// image of each row wins, written in a few set-based statements.
async fn write_state(client: &Client, node: &str, entries: &[LogEntry]) -> Result<(), PgError> {
    // Sorted by key: rows are locked in the order claim batches lock them (no deadlock).
    let mut last: std::collections::BTreeMap<(i16, &str), (&RowImage, i64)> =
        std::collections::BTreeMap::new();
    for entry in entries {
        for row in &entry.rows {
            last.insert(
                (table_number(row.table), row.key.as_str()),
                (row, entry.seq as i64),
            );
        }
    }
    if last.is_empty() {
        return Ok(());
    }
    let (mut put_tbl, mut put_key, mut put_value, mut put_seq) = (vec![], vec![], vec![], vec![]);
    let (mut del_tbl, mut del_key) = (vec![], vec![]);
    let (mut claim_key, mut claim_owner, mut claim_until, mut claim_review) =
        (vec![], vec![], vec![], vec![]);
    let mut unclaimed = vec![];
    for ((tbl, key), (row, seq)) in last {
        match &row.value {
            Some(value) => {
                put_tbl.push(tbl);
                put_key.push(key);
                put_value.push(value.as_slice());
                put_seq.push(seq);
            }
            None => {
                del_tbl.push(tbl);
                del_key.push(key);
            }
        }
        if row.table != Replicated::Locks {
            continue;
        }
        match row.lock() {
            Some(Ok(lock)) => {
                claim_key.push(key);
                claim_owner.push(lock.owner);
                claim_until.push(lock.expires.0);
                claim_review.push(lock.review.is_some());
            }
            Some(Err(e)) => return Err(PgError(format!("a lock row cannot be read: {e}"))),
            None => unclaimed.push(key),
        }
    }
    if !put_tbl.is_empty() {
        client
            .execute(
                "INSERT INTO dnc_state (tbl, key, value, seq) \
                 SELECT * FROM UNNEST($1::smallint[], $2::text[], $3::bytea[], $4::bigint[]) \
                 ON CONFLICT (tbl, key) DO UPDATE SET value = EXCLUDED.value, seq = EXCLUDED.seq",
                &[&put_tbl, &put_key, &put_value, &put_seq],
            )
            .await?;
    }
    if !del_tbl.is_empty() {
        client
            .execute(
                "DELETE FROM dnc_state s USING UNNEST($1::smallint[], $2::text[]) AS d(tbl, key) \
                 WHERE s.tbl = d.tbl AND s.key = d.key",
                &[&del_tbl, &del_key],
            )
            .await?;
    }
    if !claim_key.is_empty() {
        client
            .execute(
                "INSERT INTO dnc_claims (key, owner, until, review, node) \
                 SELECT k, o, u, r, $5 FROM UNNEST($1::text[], $2::text[], $3::bigint[], \
                 $4::boolean[]) AS t(k, o, u, r) ON CONFLICT (key) DO UPDATE SET \
                 owner = EXCLUDED.owner, until = EXCLUDED.until, review = EXCLUDED.review, \
                 node = EXCLUDED.node",
                &[&claim_key, &claim_owner, &claim_until, &claim_review, &node],
            )
            .await?;
    }
    if !unclaimed.is_empty() {
        client
            .execute("DELETE FROM dnc_claims WHERE key = ANY($1)", &[&unclaimed])
            .await?;
    }
    Ok(())
}

fn table_number(table: Replicated) -> i16 {
    match table {
        Replicated::Suppressions => 1,
        Replicated::Lifts => 2,
        Replicated::Locks => 3,
        Replicated::Accounts => 4,
        Replicated::Consents => 5,
        Replicated::Interactions => 6,
        Replicated::FeedSubscribers => 7,
    }
}

/// The session lock whose holder sends the fleet's notifications (an arbitrary fixed key).
const NOTIFIER_LOCK: i64 = 0x646e_635f_6e6f_7469;

/// Tries to become the fleet's notifier: held until this connection ends.
pub async fn try_lead(client: &Client) -> Result<bool, PgError> {
    let row = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&NOTIFIER_LOCK])
        .await?;
    Ok(row.get(0))
}

/// Forgets claims that ran out more than a day ago (any relay may; they no longer hold).
pub async fn prune_claims(client: &Client, now: i64) -> Result<u64, PgError> {
    let day = 86_400_000_000_i64;
    Ok(client
        .execute("DELETE FROM dnc_claims WHERE until < $1", &[&(now - day)])
        .await?)
}

/// Records where a node stands; `true` when another live process reported under the same
/// node name just before (a twin, or this relay's own previous process just restarted).
pub async fn report(
    client: &Client,
    node: &str,
    instance: i64,
    applied: u64,
    confirmed: bool,
    queued: u64,
) -> Result<bool, PgError> {
    let row = client
        .query_one(
            "WITH prev AS (SELECT instance, now() - contact_at < interval '5 seconds' AS live \
             FROM dnc_nodes WHERE node = $1) \
             INSERT INTO dnc_nodes (node, applied, confirmed_at, contact_at, queued, version, \
             instance) VALUES ($1, $2, CASE WHEN $3 THEN now() END, now(), $4, $5, $6) \
             ON CONFLICT (node) DO UPDATE SET applied = EXCLUDED.applied, \
             confirmed_at = COALESCE(EXCLUDED.confirmed_at, dnc_nodes.confirmed_at), \
             contact_at = now(), queued = EXCLUDED.queued, version = EXCLUDED.version, \
             instance = EXCLUDED.instance \
             RETURNING (SELECT instance FROM prev), (SELECT live FROM prev)",
            &[
                &node,
                &(applied as i64),
                &confirmed,
                &(queued as i64),
                &env!("CARGO_PKG_VERSION"),
                &instance,
            ],
        )
        .await?;
    let (before, live): (Option<i64>, Option<bool>) = (row.get(0), row.get(1));
    Ok(before.is_some_and(|b| b != instance) && live == Some(true))
}

/// Copies this relay's send records to PostgreSQL (each once: `(node, id)` is unique),
/// numbered under the head's lock so that readers never skip one still being written.
pub async fn ship(
    client: &mut Client,
    node: &str,
    attempts: &[(u128, Vec<u8>)],
) -> Result<(), PgError> {
    let txn = client.transaction().await?;
    let start: i64 = txn
        .query_one("SELECT attempts FROM dnc_head WHERE id = 1 FOR UPDATE", &[])
        .await?
        .get(0);
    let ids: Vec<Vec<u8>> = attempts
        .iter()
        .map(|(id, _)| id.to_be_bytes().to_vec())
        .collect();
    let bodies: Vec<&[u8]> = attempts.iter().map(|(_, b)| b.as_slice()).collect();
    let inserted = txn
        .execute(
            "INSERT INTO dnc_attempts (pos, node, id, body) \
             SELECT $1 + n, $2, i, b FROM UNNEST($3::bytea[], $4::bytea[]) \
             WITH ORDINALITY AS t(i, b, n) ON CONFLICT (node, id) DO NOTHING",
            &[&start, &node, &ids, &bodies],
        )
        .await?;
    // Positions skipped by conflicts stay unused; readers only need them increasing.
    txn.execute(
        "UPDATE dnc_head SET attempts = $1 WHERE id = 1",
        &[&(start + attempts.len() as i64)],
    )
    .await?;
    txn.commit().await?;
    tracing::debug!(shipped = inserted, "send records copied to PostgreSQL");
    Ok(())
}

/// Other relays' send records after position `after`: (position, id, body).
pub async fn pull(
    client: &Client,
    node: &str,
    after: u64,
    limit: i64,
) -> Result<Vec<(u64, u128, Vec<u8>)>, PgError> {
    let rows = client
        .query(
            "SELECT pos, id, body FROM dnc_attempts WHERE pos > $1 AND node <> $2 \
             ORDER BY pos LIMIT $3",
            &[&(after as i64), &node, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let id: Vec<u8> = r.get(1);
            let id: [u8; 16] = id
                .try_into()
                .map_err(|_| PgError("a send record id is not 16 bytes".into()))?;
            Ok((r.get::<_, i64>(0) as u64, u128::from_be_bytes(id), r.get(2)))
        })
        .collect()
}

/// The highest send record position (for a relay that is told to start from now).
pub async fn attempts_head(client: &Client) -> Result<u64, PgError> {
    let row = client
        .query_one("SELECT attempts FROM dnc_head WHERE id = 1", &[])
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// One node as `cluster status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeStatus {
    /// The node's name.
    pub node: String,
    /// The last log entry it applied.
    pub applied: u64,
    /// Entries it lacks.
    pub behind: u64,
    /// Seconds since it last confirmed it was current (none: never).
    pub lag_seconds: Option<f64>,
    /// Seconds since it last reported at all.
    pub last_contact_seconds: f64,
    /// Adds it kept during an outage, not yet in the log.
    pub queued: u64,
    /// Its version.
    pub version: String,
}

/// The log's head and every node.
pub async fn status(client: &Client) -> Result<(u64, Vec<NodeStatus>), PgError> {
    let head = head(client).await?;
    let rows = client
        .query(
            "SELECT node, applied, \
             EXTRACT(EPOCH FROM (now() - confirmed_at))::float8, \
             EXTRACT(EPOCH FROM (now() - contact_at))::float8, queued, version \
             FROM dnc_nodes ORDER BY node",
            &[],
        )
        .await?;
    let nodes = rows
        .iter()
        .map(|r| {
            let applied = r.get::<_, i64>(1) as u64;
            NodeStatus {
                node: r.get(0),
                applied,
                behind: head.saturating_sub(applied),
                lag_seconds: r.get(2),
                last_contact_seconds: r.get(3),
                queued: r.get::<_, i64>(4) as u64,
                version: r.get(5),
            }
        })
        .collect();
    Ok((head, nodes))
}

/// Shared handle to a connection factory.
pub type SharedDb = Arc<Db>;
