//! The outbox: mail the relay sends on its own (bounces forwarded to their original sender,
//! notifications), handed to the upstream by one task. A message is in the store before it
//! counts as queued and leaves it only once the upstream took it (or refused it for good, or
//! it waited five days), so a restart or an upstream outage loses none and none goes twice.
//! Attempts back off from 30 seconds to an hour.

use std::sync::Arc;
use std::time::Duration;

use crate::model::outbox::Outgoing;
use crate::model::Timestamp;
use crate::relay::{MailParams, Outcome, Relay};
use crate::smtp::{Phase, PhaseWatch};
use crate::spool::{Body, SpoolBudget};
use crate::store::{Store, StoreError};

/// How long a message may wait before it is given up.
const GIVE_UP: Duration = Duration::from_secs(5 * 86_400);

/// The outbox and its task.
pub struct Outbox {
    store: Store,
    relay: Relay,
    budget: Arc<SpoolBudget>,
    wake: tokio::sync::Notify,
    /// Sent, but the store has not yet taken them out (it could not write): never sent again.
    sent: std::sync::Mutex<std::collections::HashSet<u64>>,
}

/// What became of one attempt.
enum Attempt {
    /// The upstream took it.
    Sent(String),
    /// Refused for good: given up.
    Refused(String),
    /// Try again later.
    Later(String),
}

impl Outbox {
    /// An outbox sending through `relay`.
    pub fn new(store: Store, relay: Relay, budget: Arc<SpoolBudget>) -> Arc<Outbox> {
        Arc::new(Outbox {
            store,
            relay,
            budget,
            wake: tokio::sync::Notify::new(),
            sent: std::sync::Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// Wakes the task: something was queued through the store directly.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A message to queue, due now.
    pub fn outgoing(
        kind: crate::model::outbox::OutgoingKind,
        mail_from: &str,
        rcpts: Vec<String>,
        message: Vec<u8>,
    ) -> Outgoing {
        let now = Timestamp::now();
        Outgoing {
            kind,
            mail_from: mail_from.to_string(),
            rcpts,
            message,
            queued: now,
            attempts: 0,
            next_try: now,
            last_error: None,
        }
    }

    /// Sends what is due, then waits for the next due message or a new one, until the relay
    /// stops. At start everything waiting is tried at once (a restart often follows the fix
    /// of what held it, like `postqueue -f`).
    pub async fn run(self: Arc<Self>, mut phase: PhaseWatch) {
        let mut all = true;
        loop {
            if *phase.borrow() != Phase::Running {
                return;
            }
            let wait = self.send_due(std::mem::take(&mut all)).await;
            let changed = tokio::select! {
                _ = self.wake.notified() => Ok(()),
                _ = tokio::time::sleep(wait) => Ok(()),
                changed = phase.changed() => changed,
            };
            if changed.is_err() {
                return;
            }
        }
    }

    /// Sends every due message (every message with `all`); how long until the next one is
    /// due.
    async fn send_due(&self, all: bool) -> Duration {
        let items = match self.store.outgoing() {
            Ok(items) => items,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox; trying again");
                return Duration::from_secs(1);
            }
        };
        let now = Timestamp::now();
        let mut next = Duration::from_secs(3600);
        for (id, item) in items {
            if self.was_sent(id) {
                // Only its removal is owed.
                if let Err(e) = self.store.outgoing_sent(id).await {
                    tracing::error!(outgoing = id, error = %e, "cannot update the outbox; trying again");
                    return Duration::from_secs(1);
                }
                self.forget_sent(id);
                continue;
            }
            if item.next_try > now && !all {
                let micros = u64::try_from(item.next_try.0 - now.0).unwrap_or(0);
                next = next.min(Duration::from_micros(micros));
                continue;
            }
            if let Err(e) = self.attempt(id, item).await {
                tracing::error!(outgoing = id, error = %e, "cannot update the outbox; trying again");
                return Duration::from_secs(1);
            }
        }
        next
    }

    /// One attempt at `item`, and what the outbox keeps of it.
    async fn attempt(&self, id: u64, item: Outgoing) -> Result<(), StoreError> {
        let outcome = self.send(&item).await;
        let (kind, to) = (item.kind, item.rcpts.join(", "));
        match outcome {
            Attempt::Sent(reply) => {
                tracing::info!(outgoing = id, %kind, to = %to, upstream = %reply, "sent");
                self.mark_sent(id);
                self.store.outgoing_sent(id).await?;
                self.forget_sent(id);
                Ok(())
            }
            Attempt::Refused(reply) => {
                tracing::error!(outgoing = id, %kind, to = %to, upstream = %reply, "refused by the upstream; given up");
                self.store.outgoing_sent(id).await
            }
            Attempt::Later(why) => {
                let waited = Timestamp::now().0.saturating_sub(item.queued.0);
                if u64::try_from(waited).unwrap_or(0) > GIVE_UP.as_micros() as u64 {
                    tracing::error!(outgoing = id, %kind, to = %to, error = %why, "not sent for five days; given up");
                    return self.store.outgoing_sent(id).await;
                }
                let backoff =
                    Duration::from_secs(30 << item.attempts.min(7)).min(Duration::from_secs(3600));
                tracing::warn!(outgoing = id, %kind, to = %to, error = %why, retry_in = ?backoff, "not sent yet");
                let next = Timestamp(Timestamp::now().0 + backoff.as_micros() as i64);
                self.store.outgoing_retry(id, next, why).await
            }
        }
    }

    fn mark_sent(&self, id: u64) {
        if let Ok(mut sent) = self.sent.lock() {
            sent.insert(id);
        }
    }

    fn forget_sent(&self, id: u64) {
        if let Ok(mut sent) = self.sent.lock() {
            sent.remove(&id);
        }
    }

    fn was_sent(&self, id: u64) -> bool {
        self.sent.lock().is_ok_and(|sent| sent.contains(&id))
    }

    /// Hands `item` to the upstream.
    async fn send(&self, item: &Outgoing) -> Attempt {
        let params = MailParams {
            from: item.mail_from.clone(),
            eight_bit: !item.message.is_ascii(),
            smtputf8: false,
        };
        let local = std::net::IpAddr::from([127, 0, 0, 1]);
        let mut txn = self.relay.transaction(params, local);
        let mut refused = Vec::new();
        for rcpt in &item.rcpts {
            match txn.add_recipient(rcpt).await {
                Outcome::Accepted(_) => {}
                Outcome::Refused(r) if r.code >= 500 => refused.push(format!("{rcpt}: {r}")),
                other => {
                    txn.abort().await;
                    return Attempt::Later(other.describe());
                }
            }
        }
        if txn.accepted_recipients() == 0 {
            txn.abort().await;
            return Attempt::Refused(refused.join("; "));
        }
        let mut body = Body::new(self.budget.clone());
        body.begin();
        for piece in item.message.chunks(32 * 1024) {
            body.buffer().extend_from_slice(piece);
            if let Err(e) = body.settle().await {
                return Attempt::Later(format!("cannot hold the message: {e}"));
            }
        }
        if let Err(e) = body.finish().await {
            return Attempt::Later(format!("cannot hold the message: {e}"));
        }
        match txn.send(&mut body).await {
            Outcome::Accepted(r) => Attempt::Sent(r.text()),
            Outcome::Refused(r) if r.code >= 500 => Attempt::Refused(r.text()),
            Outcome::Unsupported(what) => Attempt::Refused(format!("the upstream lacks {what}")),
            other => Attempt::Later(other.describe()),
        }
    }
}
