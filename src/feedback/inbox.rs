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
const BATCH: usize = 8;

/// Bounces forwarded per return path at most (a delay notice and a failure, and a spare).
const MAX_FORWARDS: u32 = 3;

/// After a failure to record, wait this long before trying again.
const RETRY: Duration = Duration::from_secs(1);

/// The feedback listener's side of the store, and the task that empties it.
pub struct Inbox {
    /// The domains the listener takes mail for, normalised.
    domains: Vec<String>,
    store: Store,
    classifier: SharedClassifier,
    /// Where forwarded bounces go.
    outbox: Arc<crate::outbox::Outbox>,
    /// Messages that may wait at most.
    max_waiting: u64,
    /// Bounces forwarded per return path since the start.
    forwarded: std::sync::Mutex<std::collections::HashMap<u64, u32>>,
    /// Woken when a message arrives.
    wake: tokio::sync::Notify,
    /// The token key of List-Unsubscribe `mailto:` addresses, and the units they may name.
    unsubscribe: Option<(Arc<crate::unsubscribe::Marker>, Vec<String>)>,
}

impl Inbox {
    /// An inbox taking mail for `domains`.
    pub fn new(
        domains: &[String],
        store: Store,
        classifier: SharedClassifier,
        outbox: Arc<crate::outbox::Outbox>,
        unsubscribe: Option<(Arc<crate::unsubscribe::Marker>, Vec<String>)>,
        max_waiting: u64,
    ) -> Arc<Inbox> {
        let domains = domains
            .iter()
            .map(|d| crate::address::normalize_domain(d).unwrap_or_else(|_| d.to_lowercase()))
            .collect();
        Arc::new(Inbox {
            domains,
            store,
            classifier,
            outbox,
            forwarded: std::sync::Mutex::new(std::collections::HashMap::new()),
            max_waiting,
            wake: tokio::sync::Notify::new(),
            unsubscribe,
        })
    }

    /// Whether the inbox is full (`[feedback] max_waiting`): the listener then answers
    /// `452 4.3.1` and the sending MTA keeps its mail. A store that cannot tell counts as full.
    pub fn is_full(&self) -> bool {
        self.store
            .arrivals_waiting()
            .map_or(true, |n| n >= self.max_waiting)
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
    async fn record(&self, id: u64, mut arrival: Arrival) -> Result<(), StoreError> {
        let classifier = match self.classifier.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let return_path = self.return_path(&arrival)?;
        let record = match self.unsubscribe_mail(&arrival).await? {
            Some(record) => record,
            None => {
                let message = arrival.message.clone();
                let rp = return_path.as_ref().map(|(_, rp)| rp.recipient.clone());
                tokio::task::spawn_blocking(move || {
                    let mut classified = classifier.classify(&message);
                    if let Some(named) =
                        rp.and_then(|r| classifier.bounce_for(&message, &classified, &r))
                    {
                        // The evidence says what the bounce said of it, as for a named one.
                        let e = &classified.evidence;
                        let provenance = e.find(" (Message-ID").map_or("", |i| &e[i..]);
                        classified.evidence = format!(
                            "bounce: {} {}: {}{provenance}",
                            named.target,
                            named.status.as_deref().unwrap_or("no status"),
                            crate::feedback::clip(&named.why, 300),
                        );
                        classified.actions.push(named);
                    }
                    classified.into_record(&message, listener_actor())
                })
                .await
                .unwrap_or_else(|e| {
                    // A message that makes the classifier panic is kept as unknown, not
                    // retried for ever at the head of the inbox.
                    tracing::error!(arrival = id, error = %e, "the classifier failed on a message; recorded as unknown");
                    crate::feedback::Classified::unknown(&format!("the classifier failed: {e}"))
                        .into_record(&arrival.message, listener_actor())
                })
            }
        };
        // Only bounces go on: from the null sender (RFC 3464), and a few per return path at
        // most (its token is in every copy's Return-Path: anyone who saw one must not make
        // the relay mail its sender at will). Queued with the record, in one transaction.
        let forward = match &return_path {
            Some((rp_id, rp))
                if arrival.mail_from.is_empty()
                    && rp.forward
                    && !rp.sender.is_empty()
                    && record.kind == crate::model::feedback::Kind::Dsn
                    && self.may_forward(*rp_id) =>
            {
                Some(crate::model::outbox::Forward {
                    mail: crate::outbox::Outbox::outgoing(
                        crate::model::outbox::OutgoingKind::ForwardedBounce,
                        "",
                        vec![rp.sender.clone()],
                        std::mem::take(&mut arrival.message),
                    ),
                    target: rp.recipient.clone(),
                })
            }
            _ => None,
        };
        let forwarding = forward.is_some();
        let recorded = self
            .store
            .record_feedback_and_forward(record, Some(id), forward)
            .await?;
        let (record, new) = match recorded {
            Recorded::New(record, _) => (record, true),
            Recorded::Seen(record) => (record, false),
        };
        if new && forwarding {
            self.outbox.wake();
            tracing::info!(
                feedback = record.id,
                "bounce forwarded to its original sender (queued)"
            );
        }
        let Arrival {
            at,
            client,
            mail_from,
            ..
        } = arrival;
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

impl Inbox {
    /// The return path a bounce came back to (`bounces+TOKEN@`), when its token holds and the
    /// relay still knows it, with its id.
    fn return_path(
        &self,
        arrival: &Arrival,
    ) -> Result<Option<(u64, crate::model::feedback::ReturnPath)>, StoreError> {
        let Some((marker, _)) = &self.unsubscribe else {
            return Ok(None);
        };
        let Some((id, salt)) = arrival.rcpts.iter().find_map(|r| marker.return_path_id(r)) else {
            return Ok(None);
        };
        let rp = self.store.return_path(id)?.filter(|rp| rp.salt == salt);
        Ok(rp.map(|rp| (id, rp)))
    }

    /// Whether one more bounce may be forwarded for return path `id` (at most
    /// [`MAX_FORWARDS`] since the relay started).
    fn may_forward(&self, id: u64) -> bool {
        let Ok(mut counts) = self.forwarded.lock() else {
            return false;
        };
        if counts.len() > 100_000 {
            counts.clear();
        }
        let n = counts.entry(id).or_insert(0);
        *n += 1;
        *n <= MAX_FORWARDS
    }

    /// A List-Unsubscribe `mailto:` message (to `unsubscribe+TOKEN@` a feedback domain) whose
    /// token holds for the address it comes from: suppressed as a click would be (source
    /// `link`, the group's scope), and its record says so. `None` for anything else, which is
    /// classified like any message (a forged token gets no favour, and no harm).
    async fn unsubscribe_mail(
        &self,
        arrival: &Arrival,
    ) -> Result<Option<crate::model::feedback::Record>, StoreError> {
        use crate::model::feedback::{Action, Class, Kind, Record};
        let Some((marker, units)) = &self.unsubscribe else {
            return Ok(None);
        };
        let Some(token) = arrival
            .rcpts
            .iter()
            .find_map(|r| crate::unsubscribe::mailto::token(r))
        else {
            return Ok(None);
        };
        let parsed = mail_parser::MessageParser::default().parse_headers(&arrival.message);
        let from = parsed
            .as_ref()
            .and_then(|m| m.from())
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .and_then(|a| crate::address::Address::parse(a).ok());
        let Some(from) = from else {
            return Ok(None);
        };
        // The MAC is over the match key: J.Doe@gmail.com and jdoe@googlemail.com are one.
        let key = crate::address::Target::Address(from.clone()).match_key();
        let from = from.to_string();
        let unit = match marker.sealer().check_mailto(token, &key, units) {
            Ok(unit) => unit.map(str::to_string),
            Err(e) => {
                tracing::info!(from = %from, outcome = %e, "unsubscribe mail with a token that does not hold; classified as a reply");
                return Ok(None);
            }
        };
        let evidence = format!(
            "unsubscribe mail (List-Unsubscribe mailto) from {from}, received from {}",
            arrival.client
        );
        // For every sender, the record's suppression is the add (with the inbox removal, one
        // transaction); for one unit, the add is scoped first and the record says so.
        let action = match &unit {
            None => ActionKind::Suppress,
            Some(_) => {
                crate::unsubscribe::suppress(
                    &self.store,
                    &from,
                    unit.as_deref(),
                    evidence.clone(),
                    crate::unsubscribe::actor("mail"),
                )
                .await?;
                ActionKind::None
            }
        };
        crate::unsubscribe::withdraw_consents(
            &self.store,
            &from,
            &marker.purposes_for(unit.as_deref()),
            "unsubscribe mail (List-Unsubscribe mailto)",
            &crate::unsubscribe::actor("mail"),
        )
        .await?;
        tracing::info!(recipient = %from, unit = unit.as_deref().unwrap_or("all"), "unsubscribed by mail");
        let scope = unit.map_or("every sender".to_string(), |u| {
            format!("unit {u} (suppressed)")
        });
        let action = Action {
            target: from,
            action,
            reason: Some(crate::model::Reason::Unsubscribe),
            status: None,
            why: format!("unsubscribe mail with a valid token, for {scope}"),
        };
        let message_id = parsed
            .as_ref()
            .and_then(|m| m.message_id())
            .map(str::to_string);
        Ok(Some(Record {
            id: 0,
            at: crate::model::Timestamp::now(),
            actor: crate::unsubscribe::actor("mail"),
            kind: Kind::Reply,
            class: Some(Class::Unsubscribe),
            actions: vec![action],
            reviews: Vec::new(),
            source: crate::model::Source::Link,
            evidence,
            sha256: {
                use sha2::Digest as _;
                hex::encode(sha2::Sha256::digest(&arrival.message))
            },
            message_id,
        }))
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
