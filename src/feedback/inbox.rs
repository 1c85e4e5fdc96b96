//! The feedback inbox: what the feedback SMTP listener accepted, kept in the store before the
//! `250`, then classified and recorded by one task, oldest first. The record and the
//! message's removal from the inbox are one transaction, so a message is recorded once even
//! across a crash; a message the store cannot record yet waits and is tried again.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::model::feedback::{ActionKind, Arrival};
use crate::model::Actor;
use crate::smtp::{Phase, PhaseWatch};
use crate::store::{Recorded, Store, StoreError};

use super::Classifier;

/// The classifier in force, shared with the admin socket and replaced on reload.
pub type SharedClassifier = Arc<RwLock<Arc<Classifier>>>;

/// How many inbox messages one pass reads.
const BATCH: usize = 64;

/// After a failure to record, wait this long before trying again.
const RETRY: Duration = Duration::from_secs(1);

/// The feedback listener's side of the store, and the task that empties it.
pub struct Inbox {
    /// The domains the listener takes mail for, normalised.
    domains: Vec<String>,
    store: Store,
    classifier: SharedClassifier,
    /// Woken when a message arrives.
    wake: tokio::sync::Notify,
}

impl Inbox {
    /// An inbox taking mail for `domains`.
    pub fn new(domains: &[String], store: Store, classifier: SharedClassifier) -> Arc<Inbox> {
        let domains = domains
            .iter()
            .map(|d| crate::address::normalize_domain(d).unwrap_or_else(|_| d.to_lowercase()))
            .collect();
        Arc::new(Inbox {
            domains,
            store,
            classifier,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// Whether the listener takes mail for `domain` (normalised, as in [`crate::address`]).
    pub fn takes(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d == domain)
    }

    /// The domains the listener takes mail for.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Keeps `arrival` in the store (committed to disk when this returns) and wakes the task
    /// that records it. Returns its arrival id.
    pub async fn accept(&self, arrival: Arrival) -> Result<u64, StoreError> {
        let id = self.store.accept_arrival(arrival).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Records what waits in the inbox, then what arrives, until the relay stops. Messages
    /// left when it stops (or from before a crash) are recorded at the next start.
    pub async fn run(self: Arc<Self>, mut phase: PhaseWatch) {
        loop {
            if *phase.borrow() != Phase::Running {
                return;
            }
            let pause = match self.store.arrivals(BATCH) {
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => self.process(batch, &phase).await.err().map(|()| RETRY),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the feedback inbox; trying again");
                    Some(RETRY)
                }
            };
            let changed = match pause {
                Some(pause) => tokio::select! {
                    _ = tokio::time::sleep(pause) => Ok(()),
                    changed = phase.changed() => changed,
                },
                // A message accepted since the read left a permit: no arrival is missed.
                None => tokio::select! {
                    _ = self.wake.notified() => Ok(()),
                    changed = phase.changed() => changed,
                },
            };
            if changed.is_err() {
                return; // the server is gone
            }
        }
    }

    /// Classifies and records one batch; `Err` when the store refused a record (the message
    /// stays in the inbox).
    async fn process(&self, batch: Vec<(u64, Arrival)>, phase: &PhaseWatch) -> Result<(), ()> {
        for (id, arrival) in batch {
            if *phase.borrow() != Phase::Running {
                return Ok(());
            }
            self.record(id, arrival).await.map_err(|e| {
                tracing::error!(arrival = id, error = %e, "cannot record feedback; it waits in the inbox");
            })?;
        }
        Ok(())
    }

    /// Classifies one message (off the async threads: a large message takes a while) and
    /// records it, taking it out of the inbox in the same transaction.
    async fn record(&self, id: u64, arrival: Arrival) -> Result<(), StoreError> {
        let classifier = match self.classifier.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Arrival {
            at,
            client,
            mail_from,
            message,
            ..
        } = arrival;
        let record = tokio::task::spawn_blocking(move || {
            classifier
                .classify(&message)
                .into_record(&message, listener_actor())
        })
        .await
        .map_err(|e| StoreError::Io(format!("the classifier failed: {e}")))?;
        let (record, new) = match self.store.record_feedback(record, Some(id)).await? {
            Recorded::New(record, _) => (record, true),
            Recorded::Seen(record) => (record, false),
        };
        let count = |kind| record.actions.iter().filter(|a| a.action == kind).count();
        tracing::info!(
            feedback = record.id,
            arrival = id,
            client = %client,
            from = %mail_from,
            kind = %record.kind,
            class = record.class.map(|c| c.as_str()),
            suppressed = count(ActionKind::Suppress),
            review = count(ActionKind::Review),
            new,
            waited_ms = crate::model::Timestamp::now().0.saturating_sub(at.0) / 1000,
            "feedback recorded"
        );
        Ok(())
    }
}

/// The actor of what the listener records: the `feedback` system actor.
fn listener_actor() -> Actor {
    Actor {
        user: "feedback".into(),
        uid: None,
        role: None,
    }
}
