//! Many relays, one list: fleet mode on PostgreSQL (`[cluster]`).
//!
//! PostgreSQL holds the log (the history events, with the rows they describe) and the lock
//! claims. Each relay keeps its redb store as a replica of the log ([`crate::store::replica`]):
//! RCPT checks read only the replica, so the wire gains no round trip for suppressions. A
//! relay that has not confirmed it is current within `max_lag` answers new recipients
//! `451 4.3.0` ([`Gate`]). Lock claims at RCPT are one conditional write in PostgreSQL, so of
//! two relays racing for a contact exactly one wins.

mod claims;
pub mod follow;
pub mod pg;
mod sequencer;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::claims::Claim;
use crate::config::ClusterConfig;
use crate::model::{Actor, Lock, Review, Timestamp};
pub use pg::{Db, PgError};
pub use sequencer::PgSequencer;

/// How long a claim taken at RCPT holds before its message is relayed (the relayed message's
/// lock then runs for the full ttl). A message that fails keeps others out for this long.
const CLAIM_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Whether this relay may decide: current with the fleet's log within `max_lag`.
pub struct Gate {
    origin: Instant,
    /// Milliseconds since `origin` (plus one) when the replica was last known current; 0:
    /// never since start.
    confirmed: AtomicU64,
    max_lag: Duration,
    /// Whether the lag is over the bound (for logging the crossing once).
    behind: AtomicBool,
    /// The replica and the log disagree (see `follow::check_anchor`): closed for good.
    diverged: AtomicBool,
    /// What the relay must be current with, and the setting that bounds the lag (for
    /// messages).
    source: (&'static str, &'static str),
}

impl Gate {
    /// A gate that is closed until the first confirmation.
    pub fn new(max_lag: Duration) -> Gate {
        let now = Instant::now();
        Gate {
            // Before now, so that a confirmation from before the gate was made can be kept.
            origin: now.checked_sub(max_lag).unwrap_or(now),
            confirmed: AtomicU64::new(0),
            max_lag,
            behind: AtomicBool::new(true),
            diverged: AtomicBool::new(false),
            source: ("the fleet's log", "cluster.max_lag"),
        }
    }

    /// A follower's gate on its company's hashed feed, closed until the first confirmation.
    pub fn for_feed(max_lag: Duration) -> Gate {
        Gate {
            source: ("the company's hashed feed", "replica.max_lag"),
            ..Gate::new(max_lag)
        }
    }

    /// The replica and the fleet's log disagree: nothing is decided or written until the
    /// relay is rebuilt.
    pub fn diverge(&self) {
        self.diverged.store(true, Ordering::Release);
    }

    /// Whether [`Gate::diverge`] was called.
    pub fn diverged(&self) -> bool {
        self.diverged.load(Ordering::Acquire)
    }

    /// The replica held everything the log had when `asked` (the time the question was sent).
    pub fn confirm(&self, asked: Instant) {
        let ms = asked.saturating_duration_since(self.origin).as_millis() as u64 + 1;
        self.confirmed.fetch_max(ms, Ordering::AcqRel);
    }

    /// The replica held everything `age` ago (a follower's record from before a restart).
    pub fn confirm_age(&self, age: Duration) {
        // The origin lies max_lag before the gate was made: a confirmation that old fits.
        if let Some(at) = self.origin.elapsed().checked_sub(age) {
            self.confirmed
                .fetch_max(at.as_millis() as u64 + 1, Ordering::AcqRel);
        }
    }

    /// Forgets every confirmation: closed until the next one (a follower starting again).
    pub fn reset(&self) {
        self.confirmed.store(0, Ordering::Release);
    }

    /// How long since the replica was last known current (`None`: never since start).
    pub fn lag(&self) -> Option<Duration> {
        match self.confirmed.load(Ordering::Acquire) {
            0 => None,
            ms => Some(
                self.origin
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms - 1)),
            ),
        }
    }

    /// `Ok` when current within `max_lag`; otherwise why not, for the log and the reply.
    pub fn check(&self) -> Result<(), String> {
        if self.diverged() {
            return Err("this relay's replica and the fleet's log disagree".into());
        }
        match self.lag() {
            Some(lag) if lag <= self.max_lag => Ok(()),
            Some(lag) => Err(format!(
                "this relay has not confirmed it is current with {} for {} ({} {})",
                self.source.0,
                humantime::format_duration(Duration::from_millis(lag.as_millis() as u64)),
                self.source.1,
                humantime::format_duration(self.max_lag)
            )),
            None => Err(format!(
                "this relay has not caught up with {} yet",
                self.source.0
            )),
        }
    }

    /// Whether the lag crossed the bound since the last call: `Err(why)` when it went over,
    /// `Ok` when it came back under, `None` when nothing changed.
    pub fn crossing(&self) -> Option<Result<(), String>> {
        let over = self.check();
        let was = self.behind.swap(over.is_err(), Ordering::AcqRel);
        (over.is_err() != was).then_some(over)
    }

    /// Logs when the lag crosses the bound, either way.
    pub fn watch(&self, node: &str) {
        match self.crossing() {
            Some(Err(why)) => tracing::error!(
                node,
                why = why.as_str(),
                "BEHIND THE FLEET: new recipients get 451 4.3.0 until this relay is current again"
            ),
            Some(Ok(())) => tracing::info!(
                node,
                lag_ms = self.lag().map(|l| l.as_millis() as u64),
                "current with the fleet's log; recipients are decided again"
            ),
            None => {}
        }
    }
}

/// This relay's membership in a fleet.
pub struct Cluster {
    /// This relay's name.
    pub node: String,
    /// Whether it may decide.
    pub gate: Arc<Gate>,
    /// Whether this relay is the fleet's notifier (one relay tells, elected in PostgreSQL by
    /// a session lock its follower holds; another takes over when its connection goes).
    pub leader: Arc<AtomicBool>,
    db: Db,
    /// Lock claims at RCPT, batched over a pool of connections.
    claimer: claims::Claimer,
    claim_timeout: Duration,
}

/// What a claim at RCPT found.
pub enum ClaimOutcome {
    /// Every key is the owner's now (for the claim window, until the message is relayed).
    Claimed,
    /// Another owner holds this one (the rest of the claims may have been taken).
    Held(Lock),
}

impl Cluster {
    /// From `[cluster]`; connects lazily (a database that is down at start only keeps the
    /// relay from deciding until it is back).
    pub fn new(config: &ClusterConfig) -> Result<Cluster, PgError> {
        let db = Db::new(config)?;
        let manager_config = deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        };
        // A claim that cannot finish within its timeout is cancelled by the server too: it
        // must not land after its RCPT was answered 451.
        let mut claims_config = db.config().clone();
        claims_config.options(format!(
            "-c statement_timeout={}",
            config.claim_timeout.as_millis().max(1)
        ));
        let manager = match db.tls() {
            Some(tls) => deadpool_postgres::Manager::from_config(
                claims_config.clone(),
                tls.clone(),
                manager_config,
            ),
            None => deadpool_postgres::Manager::from_config(
                claims_config,
                tokio_postgres::NoTls,
                manager_config,
            ),
        };
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(config.pool_size)
            .build()
            .map_err(|e| PgError(format!("cannot set up the PostgreSQL pool: {e}")))?;
        Ok(Cluster {
            node: config.node.clone(),
            gate: Arc::new(Gate::new(config.max_lag)),
            leader: Arc::new(AtomicBool::new(false)),
            claimer: claims::Claimer::start(pool, config.node.clone(), config.pool_size),
            db,
            claim_timeout: config.claim_timeout,
        })
    }

    /// The writer's way to the log (it runs on the writer thread and calls into `runtime`).
    pub fn sequencer(&self, runtime: tokio::runtime::Handle) -> PgSequencer {
        PgSequencer::new(
            self.db.clone(),
            self.node.clone(),
            runtime,
            self.gate.clone(),
        )
    }

    /// Brings the database's schema up to date (at start; the follower checks again on each
    /// connection).
    pub async fn migrate(&self) -> Result<Vec<i32>, PgError> {
        let (mut client, _notes) =
            pg::within(pg::STATEMENT_TIMEOUT, "the connection", self.db.connect()).await?;
        pg::within(
            pg::STATEMENT_TIMEOUT,
            "the migrations",
            pg::migrate(&mut client),
        )
        .await
    }

    /// The connection settings.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Claims the keys for their owner across the fleet: one conditional write per key,
    /// all within `claim_timeout`. An error means nobody can tell: the caller answers 451.
    /// A key the replica shows the owner holding for longer than a claim would is not asked
    /// again: the fleet holds it for them already (an owner's follow-ups cost no round trip).
    pub async fn claim(
        &self,
        claims: &[Claim],
        replica: &crate::store::Store,
        now: Timestamp,
    ) -> Result<ClaimOutcome, PgError> {
        let horizon = now.plus(CLAIM_WINDOW);
        let mut wanted = Vec::with_capacity(claims.len());
        for claim in claims {
            let held = replica
                .get_lock(claim.key())
                .map_err(|e| PgError(format!("cannot read the replica: {e}")))?;
            let ours = held.is_some_and(|l| {
                l.owner == claim.lock().owner && l.review.is_none() && l.expires > horizon
            });
            if !ours {
                wanted.push(claim);
            }
        }
        if wanted.is_empty() {
            return Ok(ClaimOutcome::Claimed);
        }
        let owner = wanted[0].lock().owner.clone();
        let keys = wanted
            .iter()
            .map(|c| {
                let lock = c.lock();
                let until = lock.expires.min(lock.since.plus(CLAIM_WINDOW));
                (c.key().to_string(), until.0)
            })
            .collect();
        let held = pg::within(
            self.claim_timeout,
            "a lock claim",
            self.claimer.claim(keys, &owner, now.0),
        )
        .await?;
        for (claim, holder) in wanted.iter().zip(held) {
            if let Some(holder) = holder {
                return Ok(ClaimOutcome::Held(Lock {
                    owner: holder.owner,
                    team: None,
                    expires: Timestamp(holder.until),
                    review: holder.review.then(|| Review {
                        by: Actor::system(),
                        at: now,
                        note: "under review".into(),
                    }),
                    ..claim.lock().clone()
                }));
            }
        }
        Ok(ClaimOutcome::Claimed)
    }

    /// Starts following the log: the follower (which also copies send records both ways and
    /// reports this node) and the lag watch. They stop with `stop`.
    pub fn start(
        self: &Arc<Self>,
        store: crate::store::Store,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let follower = tokio::spawn(follow::run(
            self.db.clone(),
            store,
            self.gate.clone(),
            self.leader.clone(),
            self.node.clone(),
            stop.clone(),
        ));
        let gate = self.gate.clone();
        let node = self.node.clone();
        let mut stop_watch = stop;
        let watch = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = tick.tick() => gate.watch(&node),
                    _ = stop_watch.changed() => return,
                }
            }
        });
        vec![follower, watch]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_is_closed_until_confirmed_and_a_confirmation_from_before_it_keeps_its_age() {
        let gate = Gate::for_feed(Duration::from_secs(10));
        assert!(gate.check().is_err() && gate.lag().is_none());
        // 4 s old at a restart: current, with 4 s of lag already.
        gate.confirm_age(Duration::from_secs(4));
        let lag = gate.lag().expect("confirmed");
        assert!(
            lag >= Duration::from_secs(4) && lag < Duration::from_secs(5),
            "{lag:?}"
        );
        assert!(gate.check().is_ok());
        // Too old: nothing changes for a fresh gate.
        let stale = Gate::for_feed(Duration::from_secs(10));
        stale.confirm_age(Duration::from_secs(11));
        assert!(stale.check().is_err());
        // A confirmation now, then a reset: closed again.
        gate.confirm(Instant::now());
        assert!(gate.lag().expect("lag") < Duration::from_secs(1));
        gate.reset();
        assert!(gate.check().is_err());
        assert!(gate.check().unwrap_err().contains("hashed feed"));
    }
}
