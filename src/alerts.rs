//! Alerts: rules over the history and the send records, evaluated every `[alerts] interval`.
//!
//! - every lift approved;
//! - unsubscribes, complaints or hard bounces in the last hour, per sender group and per
//!   sender, at or above `spike_threshold` and above `spike_factor` times their trailing
//!   7-day hourly average (an opt-out counts against the sender that last mailed the contact
//!   within 7 days, and that sender's group);
//! - complaints over `complaint_rate` of the recipients relayed in the last 24 hours;
//! - an import of `import_burst` rows or more; `feedback_burst` feedback messages in an hour;
//! - in a fleet, this relay's replica falling behind (and catching up).
//!
//! An alert is recorded in the store with the state that raised it (the history cursor and
//! when each rule last fired) in one transaction, with its mails queued in the outbox: raised
//! once, never lost, never twice. Webhook deliveries are then retried with backoff for a day.
//! The counts behind the spike rules are kept in memory and rebuilt from the store at start.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::AlertsConfig;
use crate::http::client::Endpoint as Webhook;
use crate::model::alert::{Alert, AlertRule, AlertState, Delivery};
use crate::model::outbox::{Note, Outgoing, OutgoingKind};
use crate::model::{AttemptOutcome, EventKind, Reason, Source, Timestamp};
use crate::outbox::Outbox;
use crate::policy::{Sender, SenderGroups};
use crate::smtp::{Phase, PhaseWatch};
use crate::store::{Store, StoreError};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Recipients remembered for attributing opt-outs to their sender, at most.
const MAX_RECENT: usize = 1_000_000;

/// Relayed send records are read again this far back (microseconds): a record carries its
/// RCPT time and is written once its message went out, which a long DATA delays.
const MARGIN: i64 = 15 * 60 * 1_000_000;

/// Events read per step, at most.
const BATCH: usize = 10_000;

/// A webhook delivery is given up this long after the alert.
const GIVE_UP: i64 = DAY;

/// A webhook delivery (connect, TLS, request, answer) must end within this.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the alerter needs from the relay.
pub struct Alerter {
    store: Store,
    outbox: Arc<Outbox>,
    config: AlertsConfig,
    from: String,
    groups: SenderGroups,
    webhook: Option<Webhook>,
    /// In a fleet: whether this relay is the one that alerts (see [`crate::cluster`]).
    leader: Option<Arc<AtomicBool>>,
    /// In a fleet: this relay's name and gate.
    fleet: Option<(String, Arc<crate::cluster::Gate>)>,
}

/// The kinds of opt-out signal the spike rules count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Signal {
    Unsubscribe,
    Complaint,
    Bounce,
    Feedback,
}

impl Signal {
    fn of(reason: Reason) -> Option<Signal> {
        match reason {
            Reason::Unsubscribe => Some(Signal::Unsubscribe),
            Reason::Complaint => Some(Signal::Complaint),
            Reason::HardBounce => Some(Signal::Bounce),
            _ => None,
        }
    }

    fn rule(self) -> AlertRule {
        match self {
            Signal::Unsubscribe => AlertRule::UnsubscribeSpike,
            Signal::Complaint => AlertRule::ComplaintSpike,
            Signal::Bounce => AlertRule::BounceSpike,
            Signal::Feedback => AlertRule::FeedbackBurst,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Signal::Unsubscribe => "unsubscribes",
            Signal::Complaint => "complaints",
            Signal::Bounce => "hard bounces",
            Signal::Feedback => "feedback messages",
        }
    }
}

/// Counts of one signal for one scope: each occurrence of the last hour, and per hour for
/// the 7 days before.
#[derive(Default)]
struct Series {
    recent: VecDeque<Timestamp>,
    hours: BTreeMap<i64, u64>,
}

impl Series {
    fn add(&mut self, at: Timestamp) {
        self.recent.push_back(at);
        *self.hours.entry(at.0.div_euclid(HOUR)).or_default() += 1;
    }

    fn trim(&mut self, now: Timestamp) {
        while self.recent.front().is_some_and(|t| t.0 < now.0 - HOUR) {
            self.recent.pop_front();
        }
        let oldest = (now.0 - WEEK - HOUR).div_euclid(HOUR);
        self.hours = self.hours.split_off(&oldest);
    }

    /// Occurrences in the last hour.
    fn last_hour(&self) -> u64 {
        self.recent.len() as u64
    }

    /// The hourly average of the 7 days before the last hour.
    fn baseline(&self, now: Timestamp) -> f64 {
        let end = (now.0 - HOUR).div_euclid(HOUR);
        let start = end - 7 * 24;
        let sum: u64 = self.hours.range(start..end).map(|(_, n)| n).sum();
        sum as f64 / (7.0 * 24.0)
    }

    /// Occurrences in the hours that cover the last `span` microseconds.
    fn within(&self, now: Timestamp, span: i64) -> u64 {
        let start = (now.0 - span).div_euclid(HOUR);
        self.hours.range(start..).map(|(_, n)| n).sum()
    }
}

/// What the alerter keeps in memory between steps.
struct Counts {
    /// (signal, scope) -> series; scope is `all`, `group:NAME` or `sender:ADDRESS`.
    series: HashMap<(Signal, String), Series>,
    /// Recipients relayed per hour.
    relayed: BTreeMap<i64, u64>,
    /// Recipient (normalised) -> the sender and group that last mailed it, and when.
    recent: HashMap<String, (String, Option<String>, Timestamp)>,
    /// The recipients of `recent` in the order they were mailed (for eviction).
    order: VecDeque<(String, i64)>,
    /// Relayed records of the last margin already counted (a hash of each, and its time).
    seen: HashMap<u64, i64>,
    /// The send records read so far: up to this moment.
    attempts_until: Timestamp,
    /// The events read so far into the counts.
    events_until: u64,
}

impl Alerter {
    /// The alerter of `config`, or `None` when no alert could go anywhere.
    pub fn from_config(
        config: &crate::config::Config,
        store: Store,
        outbox: Arc<Outbox>,
        cluster: Option<&Arc<crate::cluster::Cluster>>,
    ) -> Result<Arc<Alerter>, String> {
        let a = &config.alerts;
        let webhook = webhook(config)?;
        Ok(Arc::new(Alerter {
            store,
            outbox,
            config: a.clone(),
            from: config
                .notify
                .from
                .clone()
                .unwrap_or_else(|| format!("dnc-relay@{}", config.server.hostname)),
            groups: SenderGroups::from_config(&config.sender_groups),
            webhook,
            leader: cluster.map(|c| c.leader.clone()),
            fleet: cluster.map(|c| (c.node.clone(), c.gate.clone())),
        }))
    }

    /// Evaluates the rules every interval, and delivers to the webhook apart (a webhook that
    /// hangs never holds up the rules), until the relay stops.
    pub async fn run(self: Arc<Self>, phase: PhaseWatch) {
        tokio::join!(self.clone().evaluate(phase.clone()), self.deliveries(phase));
    }

    async fn evaluate(self: Arc<Self>, mut phase: PhaseWatch) {
        let mut counts: Option<Counts> = None;
        loop {
            if *phase.borrow() != Phase::Running {
                return;
            }
            // Behind (a big import): more rounds now, bounded, rather than one per interval.
            for _ in 0..50 {
                if !self.evaluate_once(&mut counts).await {
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                changed = phase.changed() => if changed.is_err() { return },
            }
        }
    }

    /// One round of the rules, recorded; whether more history waits to be read.
    async fn evaluate_once(self: &Arc<Self>, counts: &mut Option<Counts>) -> bool {
        let this = self.clone();
        let taken = counts.take();
        let stepped = tokio::task::spawn_blocking(move || {
            let mut c = match taken {
                Some(c) => c,
                None => this.rebuild()?,
            };
            let raised = this.step(&mut c)?;
            Ok::<_, StoreError>((c, raised))
        })
        .await;
        match stepped {
            Ok(Ok((c, (state, alerts, mails, more)))) => {
                *counts = Some(c);
                let any_mail = !mails.is_empty();
                let n = alerts.len();
                match self.store.alert_step(state, alerts, mails).await {
                    Ok(()) => {
                        if n > 0 {
                            tracing::warn!(alerts = n, "alerts raised (dnc-relay alerts list)");
                        }
                        if any_mail {
                            self.outbox.wake();
                        }
                        return more;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "alerts: cannot record; evaluating again");
                        *counts = None;
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "alerts: cannot read the store"),
            Err(e) => tracing::error!(error = %e, "alerts: evaluation failed"),
        }
        false
    }

    async fn deliveries(self: Arc<Self>, mut phase: PhaseWatch) {
        if self.webhook.is_none() {
            return;
        }
        loop {
            if *phase.borrow() != Phase::Running {
                return;
            }
            self.deliver().await;
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                changed = phase.changed() => if changed.is_err() { return },
            }
        }
    }

    /// The counts as of now, from the store: send records of the last 8 days and events of
    /// the last 7 days and an hour (counted, not alerted on).
    fn rebuild(&self) -> Result<Counts, StoreError> {
        let now = Timestamp::now();
        let mut c = Counts {
            series: HashMap::new(),
            relayed: BTreeMap::new(),
            recent: HashMap::new(),
            order: VecDeque::new(),
            seen: HashMap::new(),
            attempts_until: Timestamp(now.0 - WEEK - DAY),
            events_until: 0,
        };
        self.read_attempts(&mut c, now)?;
        let state = self.store.alert_state()?;
        let cursor = state.map_or(u64::MAX, |s| s.cursor);
        let last = self.store.last_event()?;
        let from = self
            .store
            .first_event_since(Timestamp(now.0 - WEEK - HOUR))?;
        let upto = cursor.min(last);
        let mut next = from;
        while next <= upto {
            let events = self.store.events(next, BATCH)?;
            let Some(end) = events.last().map(|e| e.id) else {
                break;
            };
            for e in events.iter().filter(|e| e.id <= upto) {
                self.count_event(&mut c, e, now);
            }
            next = end + 1;
        }
        c.events_until = upto;
        Ok(c)
    }

    /// Reads the send records since the last read into the relayed counts and the recent
    /// recipients. A relayed record carries its RCPT time but is written after DATA, so the
    /// last [`MARGIN`] is read again, each record counted once.
    fn read_attempts(&self, c: &mut Counts, now: Timestamp) -> Result<(), StoreError> {
        let since = Timestamp(c.attempts_until.0 - MARGIN);
        let groups = &self.groups;
        let mut fresh = Vec::new();
        let seen = &mut c.seen;
        self.store.for_each_attempt(since, |a| {
            if !matches!(a.outcome, AttemptOutcome::Relayed { .. }) {
                return;
            }
            let key = {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (a.at.0, &a.session, &a.rcpt).hash(&mut h);
                h.finish()
            };
            if seen.insert(key, a.at.0).is_none() {
                fresh.push(a);
            }
        })?;
        for a in fresh {
            *c.relayed.entry(a.at.0.div_euclid(HOUR)).or_default() += 1;
            let sender = crate::address::Address::parse(&a.from).ok();
            let group = groups
                .group_of(&Sender {
                    address: sender.as_ref(),
                    user: a.user.as_deref(),
                })
                .map(str::to_string);
            if let Ok(rcpt) = crate::address::Address::parse(&a.rcpt) {
                let rcpt = rcpt.as_str().to_string();
                c.order.push_back((rcpt.clone(), a.at.0));
                c.recent.insert(rcpt, (a.from, group, a.at));
            }
        }
        // The oldest go first when the memory bound is reached (a new campaign is the one
        // whose opt-outs matter).
        while c.order.len() > MAX_RECENT {
            if let Some((rcpt, at)) = c.order.pop_front() {
                if c.recent.get(&rcpt).is_some_and(|(_, _, t)| t.0 == at) {
                    c.recent.remove(&rcpt);
                }
            }
        }
        c.attempts_until = now;
        c.seen.retain(|_, at| *at >= now.0 - 2 * MARGIN);
        let oldest = (now.0 - DAY - HOUR).div_euclid(HOUR);
        c.relayed = c.relayed.split_off(&oldest);
        while c.order.front().is_some_and(|(_, at)| *at < now.0 - WEEK) {
            if let Some((rcpt, at)) = c.order.pop_front() {
                if c.recent.get(&rcpt).is_some_and(|(_, _, t)| t.0 == at) {
                    c.recent.remove(&rcpt);
                }
            }
        }
        Ok(())
    }

    /// Counts one event's signals; returns them (signal, scopes) for the rules.
    fn count_event(
        &self,
        c: &mut Counts,
        e: &crate::model::Event,
        now: Timestamp,
    ) -> Vec<(Signal, String)> {
        if e.at.0 < now.0 - WEEK - HOUR {
            return Vec::new();
        }
        let mut scopes = Vec::new();
        match &e.kind {
            EventKind::Suppressed {
                target,
                reason,
                source,
                ..
            }
            | EventKind::Readded {
                target,
                reason,
                source,
                ..
            } if *source != Source::Import => {
                let Some(signal) = Signal::of(*reason) else {
                    return scopes;
                };
                scopes.push((signal, "all".to_string()));
                if let Some((sender, group, _)) = c.recent.get(target.as_str()) {
                    let group = group.as_deref().unwrap_or("none");
                    scopes.push((signal, format!("group:{group}")));
                    scopes.push((signal, format!("sender:{sender}")));
                }
            }
            EventKind::Feedback { .. } => scopes.push((Signal::Feedback, "all".to_string())),
            _ => {}
        }
        // A feedback message names one or more targets with one record: count it once.
        if let EventKind::Feedback { feedback, .. } = &e.kind {
            let key = (Signal::Feedback, format!("record:{feedback}"));
            if c.series.contains_key(&key) {
                return Vec::new();
            }
            c.series.entry(key).or_default().add(e.at);
        }
        for key in &scopes {
            c.series.entry(key.clone()).or_default().add(e.at);
        }
        scopes
    }

    /// Reads what is new, applies the rules; the state, alerts and mails to record.
    #[allow(clippy::type_complexity)]
    fn step(
        &self,
        c: &mut Counts,
    ) -> Result<(AlertState, Vec<Alert>, Vec<Outgoing>, bool), StoreError> {
        let now = Timestamp::now();
        let mut state = match self.store.alert_state()? {
            Some(s) => s,
            // First start: the history so far is not alerted on.
            None => AlertState {
                cursor: self.store.last_event()?,
                ..AlertState::default()
            },
        };
        self.read_attempts(c, now)?;
        let alerting = self
            .leader
            .as_ref()
            .is_none_or(|l| l.load(Ordering::Acquire));
        let mut alerts = Vec::new();
        let mut touched = Vec::new();
        let events = self.store.events(state.cursor + 1, BATCH)?;
        for e in &events {
            if e.id > c.events_until {
                touched.extend(self.count_event(c, e, now));
                c.events_until = e.id;
            }
            state.cursor = e.id;
            if alerting {
                alerts.extend(self.event_alert(e)?);
            }
        }
        for series in c.series.values_mut() {
            series.trim(now);
        }
        c.series
            .retain(|_, s| !s.recent.is_empty() || !s.hours.is_empty());
        if alerting {
            touched.sort();
            touched.dedup();
            for (signal, scope) in touched {
                alerts.extend(self.spike(c, &mut state, now, signal, &scope));
            }
            alerts.extend(self.complaint_rate(c, &mut state, now));
        }
        alerts.extend(self.replica(&mut state));
        state.fired.retain(|(_, at)| at.0 >= now.0 - DAY);
        let mails = self.mails(&alerts);
        for a in &mut alerts {
            a.at = now;
            a.emailed = self.config.email.clone();
            a.webhook = match self.webhook {
                Some(_) => Delivery::Pending {
                    attempts: 0,
                    next_try: now,
                    last_error: None,
                },
                None => Delivery::None,
            };
            crate::metrics::METRICS
                .alerts
                .get_or_create(&crate::metrics::AlertLabels {
                    rule: a.rule.as_str(),
                })
                .inc();
        }
        Ok((state, alerts, mails, events.len() >= BATCH))
    }

    /// The alert an event raises by itself: a lift approved, a big import.
    fn event_alert(&self, e: &crate::model::Event) -> Result<Option<Alert>, StoreError> {
        Ok(match &e.kind {
            EventKind::LiftApproved { lift, target } if self.config.lift_approved => {
                let request = self.store.lifts()?.into_iter().find(|l| l.id == *lift);
                let (by, proof) = request
                    .map(|l| (l.requested_by.user, l.proof))
                    .unwrap_or_default();
                Some(alert(
                    AlertRule::LiftApproved,
                    target.clone(),
                    format!("lift {lift} approved: {target} may be mailed again"),
                    format!(
                        "Lift {lift} of {target} was approved by {} at {}.\nRequested by {by} with the proof:\n{proof}\n\nSee: dnc-relay suppress show {target}",
                        e.actor.user, e.at
                    ),
                    vec![
                        ("lift".into(), lift.to_string()),
                        ("approved_by".into(), e.actor.user.clone()),
                        ("requested_by".into(), by),
                    ],
                ))
            }
            EventKind::Imported {
                file, rows, added, ..
            } if self.config.import_burst > 0 && *rows >= self.config.import_burst => Some(alert(
                AlertRule::ImportBurst,
                "all".into(),
                format!("import of {rows} rows by {}", e.actor.user),
                format!(
                    "{} imported {file}: {rows} rows, {added} new entries, at {} (event {}).",
                    e.actor.user, e.at, e.id
                ),
                vec![
                    ("rows".into(), rows.to_string()),
                    ("added".into(), added.to_string()),
                    ("threshold".into(), self.config.import_burst.to_string()),
                ],
            )),
            _ => None,
        })
    }

    /// A spike of `signal` for `scope`, unless it fired within the hour.
    fn spike(
        &self,
        c: &Counts,
        state: &mut AlertState,
        now: Timestamp,
        signal: Signal,
        scope: &str,
    ) -> Option<Alert> {
        let series = c.series.get(&(signal, scope.to_string()))?;
        let count = series.last_hour();
        let baseline = series.baseline(now);
        let (threshold, over) = match signal {
            Signal::Feedback => {
                let t = self.config.feedback_burst;
                (t, t > 0 && count >= t)
            }
            _ => {
                let t = self.config.spike_threshold;
                (
                    t,
                    count >= t && count as f64 > self.config.spike_factor * baseline,
                )
            }
        };
        if !over || !fire(state, &format!("{}:{scope}", signal.rule()), now, HOUR) {
            return None;
        }
        let whose = match scope.split_once(':') {
            Some(("group", g)) => format!(" for sender group {g}"),
            Some(("sender", s)) => format!(" for sender {s}"),
            _ => String::new(),
        };
        Some(alert(
            signal.rule(),
            scope.to_string(),
            format!("{count} {} in the last hour{whose}", signal.words()),
            format!(
                "{count} {} in the last hour{whose} (threshold {threshold}; 7-day hourly average {baseline:.2}, factor {}).\nSee: dnc-relay audit and the console's charts.",
                signal.words(),
                self.config.spike_factor
            ),
            vec![
                ("count".into(), count.to_string()),
                ("baseline".into(), format!("{baseline:.2}")),
                ("threshold".into(), threshold.to_string()),
            ],
        ))
    }

    /// Complaints over the configured share of the last 24 hours' relayed recipients.
    fn complaint_rate(&self, c: &Counts, state: &mut AlertState, now: Timestamp) -> Option<Alert> {
        let start = (now.0 - DAY).div_euclid(HOUR);
        let relayed: u64 = c.relayed.range(start..).map(|(_, n)| n).sum();
        let complaints = c
            .series
            .get(&(Signal::Complaint, "all".to_string()))
            .map_or(0, |s| s.within(now, DAY));
        if relayed < self.config.complaint_rate_min_relayed || relayed == 0 {
            return None;
        }
        let rate = complaints as f64 / relayed as f64;
        if rate <= self.config.complaint_rate || !fire(state, "complaint-rate", now, DAY) {
            return None;
        }
        Some(alert(
            AlertRule::ComplaintRate,
            "all".into(),
            format!(
                "complaint rate {:.3}% in 24 hours (over {:.3}%)",
                rate * 100.0,
                self.config.complaint_rate * 100.0
            ),
            format!("{complaints} complaints against {relayed} recipients relayed in the last 24 hours."),
            vec![
                ("complaints".into(), complaints.to_string()),
                ("relayed".into(), relayed.to_string()),
                ("rate".into(), format!("{rate:.6}")),
            ],
        ))
    }

    /// This fleet relay's replica falling behind, or current again.
    fn replica(&self, state: &mut AlertState) -> Option<Alert> {
        let (node, gate) = self.fleet.as_ref()?;
        if !self.config.replica_behind {
            return None;
        }
        let check = gate.check();
        let behind = check.is_err();
        if behind == state.replica_behind {
            return None;
        }
        state.replica_behind = behind;
        let lag = gate
            .lag()
            .map_or("never current".into(), |l| format!("{}ms", l.as_millis()));
        Some(match check {
            Err(why) => alert(
                AlertRule::ReplicaBehind,
                format!("node:{node}"),
                format!("relay {node} is behind the fleet: recipients get 451"),
                format!("{why}.\nSee: dnc-relay cluster status"),
                vec![("lag".into(), lag)],
            ),
            Ok(()) => alert(
                AlertRule::ReplicaBehind,
                format!("node:{node}"),
                format!("relay {node} is current with the fleet again"),
                "Recipients are decided again.".into(),
                vec![("lag".into(), lag)],
            ),
        })
    }

    /// One mail per alert to `[alerts] email`.
    fn mails(&self, alerts: &[Alert]) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for a in alerts {
            let note = Note {
                at: a.at,
                subject: format!("ALERT {}: {}", a.rule, a.subject),
                text: a.text.clone(),
                target: a.scope.clone(),
            };
            for to in &self.config.email {
                let Some(message) =
                    crate::notify::compose(&self.from, to, std::slice::from_ref(&note))
                else {
                    tracing::warn!(to, "alerts: cannot compose a mail to this address");
                    continue;
                };
                let now = Timestamp::now();
                out.push(Outgoing {
                    kind: OutgoingKind::Alert,
                    mail_from: self.from.clone(),
                    rcpts: vec![to.clone()],
                    message,
                    queued: now,
                    attempts: 0,
                    next_try: now,
                    last_error: None,
                });
            }
        }
        out
    }

    /// Posts the alerts waiting for the webhook, each retried with backoff for a day.
    async fn deliver(&self) {
        let Some(webhook) = &self.webhook else {
            return;
        };
        let waiting = match self.store.alerts(u64::MAX, usize::MAX) {
            Ok(alerts) => alerts,
            Err(e) => {
                tracing::error!(error = %e, "alerts: cannot read the alerts to deliver");
                return;
            }
        };
        let now = Timestamp::now();
        for a in waiting.into_iter().rev() {
            let Delivery::Pending {
                attempts, next_try, ..
            } = &a.webhook
            else {
                continue;
            };
            if *next_try > now {
                continue;
            }
            let attempts = attempts + 1;
            let body = match serde_json::to_vec(&webhook_body(&a)) {
                Ok(body) => body,
                Err(_) => continue,
            };
            let delivery = match webhook.post_json(body, WEBHOOK_TIMEOUT).await {
                Ok(status) if (200..300).contains(&status) => {
                    tracing::info!(alert = a.id, status, "alert delivered to the webhook");
                    Delivery::Delivered {
                        at: Timestamp::now(),
                        status,
                        attempts,
                    }
                }
                outcome => {
                    let error = match outcome {
                        Ok(status) => format!("the webhook answered {status}"),
                        Err(e) => e,
                    };
                    if now.0 - a.at.0 > GIVE_UP {
                        tracing::error!(
                            alert = a.id,
                            error,
                            "alert not delivered to the webhook for a day; given up"
                        );
                        Delivery::GaveUp {
                            at: now,
                            attempts,
                            last_error: error,
                        }
                    } else {
                        // Backoff in evaluation intervals: 2, 4, 8, ... of them, 1 s to an hour.
                        let wait = self
                            .config
                            .interval
                            .saturating_mul(1 << attempts.min(12))
                            .clamp(Duration::from_secs(1), Duration::from_secs(3600));
                        tracing::warn!(
                            alert = a.id,
                            error,
                            retry_in_s = wait.as_secs(),
                            "alert webhook failed; retrying"
                        );
                        Delivery::Pending {
                            attempts,
                            next_try: Timestamp(now.0 + wait.as_micros() as i64),
                            last_error: Some(error),
                        }
                    }
                }
            };
            let failed = !matches!(delivery, Delivery::Delivered { .. });
            if let Err(e) = self.store.alert_delivery(a.id, delivery).await {
                tracing::error!(error = %e, "alerts: cannot record a delivery");
            }
            if failed {
                // A webhook that is down is tried once per pass, not once per alert.
                break;
            }
        }
    }
}

/// The webhook of `[alerts]`, its token read from `webhook_token_file` (checked at start and
/// by `check-config`).
pub fn webhook(config: &crate::config::Config) -> Result<Option<Webhook>, String> {
    let a = &config.alerts;
    let token = a
        .webhook_token_file
        .as_deref()
        .map(|path| crate::token::read_secret("alerts.webhook_token_file", path))
        .transpose()?;
    a.webhook
        .as_deref()
        .map(|url| Webhook::new(url, token, None, "alerts.webhook"))
        .transpose()
        .map_err(|e| format!("alerts.webhook: {e}"))
}

/// Whether `key` may fire now (not within `window`); marks it fired.
fn fire(state: &mut AlertState, key: &str, now: Timestamp, window: i64) -> bool {
    match state.fired.iter_mut().find(|(k, _)| k == key) {
        Some((_, at)) if now.0 - at.0 < window => false,
        Some((_, at)) => {
            *at = now;
            true
        }
        None => {
            state.fired.push((key.to_string(), now));
            true
        }
    }
}

fn alert(
    rule: AlertRule,
    scope: String,
    subject: String,
    text: String,
    figures: Vec<(String, String)>,
) -> Alert {
    Alert {
        id: 0,
        at: Timestamp(0),
        rule,
        scope,
        subject,
        text,
        figures,
        webhook: Delivery::None,
        emailed: Vec::new(),
    }
}

/// The JSON an alert is posted as.
pub fn webhook_body(a: &Alert) -> serde_json::Value {
    let figures: serde_json::Map<String, serde_json::Value> = a
        .figures
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::json!({
        "id": a.id,
        "at": a.at,
        "rule": a.rule.as_str(),
        "scope": a.scope,
        "subject": a.subject,
        "text": a.text,
        "figures": figures,
        "source": "dnc-relay",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_needs_the_threshold_and_the_baseline_factor() {
        let now = Timestamp(1_000 * WEEK);
        let mut s = Series::default();
        // A steady 10 an hour for a week: baseline 10.
        for h in 2..(7 * 24 + 2) {
            for _ in 0..10 {
                s.add(Timestamp(now.0 - h * HOUR));
            }
        }
        for i in 0..25 {
            s.add(Timestamp(now.0 - i * 60_000_000));
        }
        s.trim(now);
        assert_eq!(s.last_hour(), 25);
        assert!((s.baseline(now) - 10.0).abs() < 0.01, "{}", s.baseline(now));
        // 25 >= 20 but not > 3 x 10: no spike.
        assert!(25.0 <= 3.0 * s.baseline(now));
        let mut state = AlertState::default();
        assert!(fire(&mut state, "k", now, HOUR));
        assert!(!fire(&mut state, "k", Timestamp(now.0 + HOUR / 2), HOUR));
        assert!(fire(&mut state, "k", Timestamp(now.0 + HOUR), HOUR));
    }
}
