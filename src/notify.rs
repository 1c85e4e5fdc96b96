//! Notifications: people told when it matters, by mail. The notifier reads the history as it
//! grows: an opt-out by reply, complaint or click tells the contact's owner (from its
//! ownership lock and `[[owners]] notify`) and `[notify] ops`; a lift request tells the
//! approvers; a decision tells the requester. Each person gets at most one mail per
//! `[notify] digest` interval, the rest waiting for the next one (a digest). The messages
//! (composed with lettre) go into the outbox in the same transaction that moves the
//! notifier's place in the history, so each event is told once: not lost on a restart, not
//! sent twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::address::Target;
use crate::model::outbox::{Note, Notification, NotifyState, Outgoing, OutgoingKind};
use crate::model::{Event, EventKind, Source, Timestamp};
use crate::outbox::Outbox;
use crate::smtp::{Phase, PhaseWatch};
use crate::store::{Store, StoreError};

/// The most notes one digest carries (the timelines hold the rest).
const MAX_NOTES: usize = 100;

/// How often the history is read.
const POLL: Duration = Duration::from_secs(1);

/// Who is told what.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Told of every opt-out by reply, complaint or click.
    pub ops: Vec<String>,
    /// Told of every lift request.
    pub approvers: Vec<String>,
    /// Unix users' addresses (lift requesters).
    pub users: BTreeMap<String, String>,
    /// Owners' addresses by owner name.
    pub owners: BTreeMap<String, Vec<String>>,
    /// The sender of notifications.
    pub from: String,
    /// At most one mail per person per this interval.
    pub digest: Duration,
}

impl Settings {
    /// The settings of `config`.
    pub fn from_config(config: &crate::config::Config) -> Settings {
        let n = &config.notify;
        Settings {
            ops: n.ops.clone(),
            approvers: n.approvers.clone(),
            users: n.users.clone(),
            owners: config
                .owners
                .iter()
                .map(|o| (o.name.clone(), o.notify.clone()))
                .collect(),
            from: n
                .from
                .clone()
                .unwrap_or_else(|| format!("dnc-relay@{}", config.server.hostname)),
            digest: n.digest,
        }
    }

    /// Whether anyone could ever be told anything.
    fn anyone(&self) -> bool {
        !self.ops.is_empty()
            || !self.approvers.is_empty()
            || !self.users.is_empty()
            || self.owners.values().any(|v| !v.is_empty())
    }
}

/// The notifier and its task.
pub struct Notifier {
    store: Store,
    outbox: Arc<Outbox>,
    settings: Settings,
    /// In a fleet, whether this relay is the one that tells (every relay reads the same
    /// history; one mail per event, not one per relay). `None`: a single relay, always.
    leader: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Notifier {
    /// A notifier queueing into `outbox`.
    pub fn new(store: Store, outbox: Arc<Outbox>, settings: Settings) -> Arc<Notifier> {
        Notifier::in_fleet(store, outbox, settings, None)
    }

    /// A notifier that tells only while `leader` is set (see [`crate::cluster`]); the others
    /// move their place in the history along without telling anyone.
    pub fn in_fleet(
        store: Store,
        outbox: Arc<Outbox>,
        settings: Settings,
        leader: Option<Arc<std::sync::atomic::AtomicBool>>,
    ) -> Arc<Notifier> {
        Arc::new(Notifier {
            store,
            outbox,
            settings,
            leader,
        })
    }

    /// Reads the history every second and tells who must be told, until the relay stops.
    pub async fn run(self: Arc<Self>, mut phase: PhaseWatch) {
        let mut state = None;
        loop {
            if *phase.borrow() != Phase::Running {
                return;
            }
            if let Err(e) = self.step(&mut state).await {
                tracing::error!(error = %e, "notifications: cannot read or write the store; trying again");
                state = None; // reloaded from the store: what was not written is redone
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                changed = phase.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Reads the new events, queues the mails that are due, and writes both at once.
    async fn step(&self, state: &mut Option<NotifyState>) -> Result<(), StoreError> {
        let mut fresh = false;
        let mut current = match state.take() {
            Some(s) => s,
            None => match self.store.notify_state()? {
                Some(s) => s,
                // The first start: the history before it is not news (and where it starts is
                // written at once, so that nothing after it is missed).
                None => {
                    fresh = true;
                    NotifyState {
                        cursor: self.store.last_event()?,
                        ..NotifyState::default()
                    }
                }
            },
        };
        let events = self.store.events(current.cursor + 1, 500)?;
        let moved = fresh || !events.is_empty();
        let leading = self
            .leader
            .as_ref()
            .is_none_or(|l| l.load(std::sync::atomic::Ordering::Acquire));
        if !leading {
            // Another relay of the fleet tells; what waited here is its to tell now.
            current.pending.clear();
        }
        for event in &events {
            current.cursor = event.id;
            if !leading || !self.settings.anyone() {
                continue;
            }
            for (to, note) in self.notes_for(event)? {
                match current.pending.iter_mut().find(|(a, _)| *a == to) {
                    // Bounded: past this, a digest says the rest is in the history.
                    Some((_, notes)) if notes.len() >= MAX_NOTES => {}
                    Some((_, notes)) => notes.push(note),
                    None => current.pending.push((to, vec![note])),
                }
            }
        }
        let mails = self.due(&mut current);
        if moved || !mails.is_empty() {
            let count = mails.len();
            self.store.notify_step(current.clone(), mails).await?;
            if count > 0 {
                self.outbox.wake();
            }
        }
        *state = Some(current);
        Ok(())
    }

    /// The mails due now: one per person with notes who was not mailed within the digest
    /// interval.
    fn due(&self, state: &mut NotifyState) -> Vec<Notification> {
        let now = Timestamp::now();
        let interval = self.settings.digest.as_micros() as i64;
        let mut mails = Vec::new();
        let mut waiting = Vec::new();
        for (to, notes) in std::mem::take(&mut state.pending) {
            let last = state
                .last_sent
                .iter()
                .find(|(a, _)| *a == to)
                .map(|(_, t)| *t);
            if last.is_some_and(|t| now.0 - t.0 < interval) {
                waiting.push((to, notes));
                continue;
            }
            match compose(&self.settings.from, &to, &notes) {
                Some(message) => mails.push(Notification {
                    mail: Outgoing {
                        kind: OutgoingKind::Notification,
                        mail_from: self.settings.from.clone(),
                        rcpts: vec![to.clone()],
                        message,
                        queued: now,
                        attempts: 0,
                        next_try: now,
                        last_error: None,
                    },
                    about: notes
                        .iter()
                        .map(|n| (n.target.clone(), n.subject.clone()))
                        .collect(),
                }),
                None => tracing::warn!(to = %to, "notification address not usable; notes dropped"),
            }
            state.last_sent.retain(|(a, _)| *a != to);
            state.last_sent.push((to, now));
        }
        // Forget who was mailed long ago: the list stays small.
        state
            .last_sent
            .retain(|(_, t)| now.0 - t.0 < 2 * interval.max(1));
        state.pending = waiting;
        mails
    }

    /// Who is told of `event`, and what.
    fn notes_for(&self, event: &Event) -> Result<Vec<(String, Note)>, StoreError> {
        let s = &self.settings;
        let mut out = Vec::new();
        match &event.kind {
            // A re-add of an address already listed is not news: it was blocked already.
            EventKind::Suppressed {
                target,
                reason,
                source,
                evidence,
                ..
            } if matches!(source, Source::Reply | Source::Fbl | Source::Link) => {
                let note = Note {
                    at: event.at,
                    target: target.clone(),
                    subject: format!("{target} opted out ({reason}, by {source})"),
                    text: format!(
                        "{target} is on the do-not-contact list now.\n\
                         Why: {reason}, through {source}\nBy: {}\nWhen: {}\nEvidence: {}\n\n\
                         The whole story: dnc-relay suppress show {target}\n",
                        event.actor,
                        event.at,
                        crate::feedback::clip(evidence, 500)
                    ),
                };
                let mut to: Vec<String> = s.ops.clone();
                to.extend(self.owner_addresses(target, event.id)?);
                to.sort();
                to.dedup();
                out.extend(to.into_iter().map(|a| (a, note.clone())));
            }
            EventKind::LiftRequested {
                lift,
                target,
                proof,
            } => {
                let note = Note {
                    at: event.at,
                    target: target.clone(),
                    subject: format!("lift #{lift} requested for {target}"),
                    text: format!(
                        "{} asks that {target} be lifted from the do-not-contact list.\n\
                         Proof: {}\n\nApprove (not the requester): dnc-relay lift approve {lift}\n\
                         Deny: dnc-relay lift deny {lift} --why TEXT\n\
                         The whole story: dnc-relay suppress show {target}\n",
                        event.actor,
                        crate::feedback::clip(proof, 500)
                    ),
                };
                out.extend(s.approvers.iter().map(|a| (a.clone(), note.clone())));
            }
            EventKind::LiftApproved { lift, target }
            | EventKind::LiftDenied { lift, target, .. } => {
                let verdict = match &event.kind {
                    EventKind::LiftDenied { why, .. } => format!("denied: {why}"),
                    _ => "approved: the entry is lifted".to_string(),
                };
                let requester = self
                    .store
                    .lifts()?
                    .into_iter()
                    .find(|l| l.id == *lift)
                    .and_then(|l| s.users.get(&l.requested_by.user).cloned());
                if let Some(to) = requester {
                    let note = Note {
                        at: event.at,
                        target: target.clone(),
                        subject: format!("lift #{lift} for {target} {}", verdict.split(':').next().unwrap_or("")),
                        text: format!(
                            "Your lift request #{lift} for {target} was {verdict}\nBy: {}\nWhen: {}\n\n\
                             The whole story: dnc-relay suppress show {target}\n",
                            event.actor, event.at
                        ),
                    };
                    out.push((to, note));
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// The addresses of the owner of `target`'s contact lock: the lock the suppression
    /// (event `id`) ended in the same transaction, or the lock it has now.
    fn owner_addresses(&self, target: &str, id: u64) -> Result<Vec<String>, StoreError> {
        let Ok(target @ Target::Address(_)) = Target::parse(target) else {
            return Ok(Vec::new());
        };
        let match_key = target.match_key();
        let released = self
            .store
            .events_by_key(&match_key)?
            .into_iter()
            .filter(|e| e.id > id && e.id <= id + 2)
            .find_map(|e| match e.kind {
                EventKind::LockReleased { owner, .. } => Some(owner),
                _ => None,
            });
        let owner = match released {
            Some(owner) => owner,
            None => {
                let key = crate::store::contact_lock_key(&match_key);
                match self.store.get_lock(key.as_str())? {
                    Some(lock) => lock.owner,
                    None => return Ok(Vec::new()),
                }
            }
        };
        Ok(match self.settings.owners.get(&owner) {
            Some(addresses) => addresses.clone(),
            // An owner that is not configured is a mailbox: told there.
            None if owner.contains('@') => vec![owner],
            None => Vec::new(),
        })
    }
}

/// One mail to `to` with `notes` (a digest when there are several).
pub(crate) fn compose(from: &str, to: &str, notes: &[Note]) -> Option<Vec<u8>> {
    use lettre::message::header::{ContentType, HeaderName, HeaderValue};
    let (subject, body) = match notes {
        [one] => (format!("dnc-relay: {}", one.subject), one.text.clone()),
        many => {
            let mut body = format!("{} changes since the last mail:\n\n", many.len());
            for n in many {
                body.push_str(&format!("* {} ({})\n{}\n", n.subject, n.at, n.text));
            }
            (format!("dnc-relay: {} changes", many.len()), body)
        }
    };
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let message = lettre::Message::builder()
        .message_id(Some(format!(
            "<{}.{}@{domain}>",
            Timestamp::now().0,
            fastrand::u64(..)
        )))
        .from(from.parse().ok()?)
        .to(to.parse().ok()?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_string(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("MIME-Version"),
            "1.0".to_string(),
        ))
        .body(body)
        .ok()?;
    Some(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_note_is_a_mail_and_several_are_a_digest() {
        let note = |s: &str| Note {
            at: Timestamp(0),
            target: "pat@example.com".into(),
            subject: s.into(),
            text: format!("{s} text\n"),
        };
        let one = compose(
            "dnc@acme.example",
            "sam@acme.example",
            &[note("pat opted out")],
        )
        .expect("mail");
        let one = String::from_utf8_lossy(&one);
        assert!(one.contains("Subject: dnc-relay: pat opted out"), "{one}");
        assert!(one.contains("Auto-Submitted: auto-generated"), "{one}");
        assert!(one.contains("MIME-Version: 1.0"), "{one}");
        assert!(one.contains("Message-ID: <"), "{one}");
        let two = compose(
            "dnc@acme.example",
            "sam@acme.example",
            &[note("pat opted out"), note("lee opted out")],
        )
        .expect("mail");
        let two = String::from_utf8_lossy(&two);
        assert!(two.contains("Subject: dnc-relay: 2 changes"), "{two}");
        assert!(two.contains("lee opted out text"), "{two}");
        assert!(compose("dnc@acme.example", "not an address", &[note("x")]).is_none());
    }
}
