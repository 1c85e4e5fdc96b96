//! The relay's counters and histograms, served as Prometheus text on the internal HTTP
//! listener (`/metrics`).
//!
//! Counters of decisions are taken from the decision log's records on its own thread, off the
//! RCPT path; the RCPT path itself only observes its latency (one uncontended lock). Every
//! label value comes from a closed set (outcomes, reasons, rules, feedback kinds) or from the
//! config (sender group names): no address, domain or free text ever becomes a label.
//!
//! The metrics are one set per process, like the process itself: tests that run several
//! relays in one process share them.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::audit::{Decision, DecisionRecord, Why};

/// One RCPT decision's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `accept`, `reject` or `defer`.
    pub outcome: &'static str,
    /// The entry's reason or the cause (`unsubscribe`, `locked`, ...), `none` for a pass.
    pub reason: &'static str,
    /// The matching rule or lock kind, `none` when no rule matched.
    pub rule: &'static str,
    /// The sender's group (from the config), `none` when it has none.
    pub group: String,
}

/// A recipient's fate after DATA.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `relayed` or `failed`.
    pub outcome: &'static str,
    /// The sender's group, `none` when it has none.
    pub group: String,
}

/// An upstream failure's class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// `unreachable` (connect, TLS, timeout, dropped), `temporary` (its 4xx), `permanent`
    /// (its 5xx).
    pub class: &'static str,
}

/// A feedback message's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedbackLabels {
    /// `dsn`, `arf`, `auto-reply`, `reply`, `unknown`.
    pub kind: &'static str,
    /// For replies, what it asked (`unsubscribe`, `positive`, ...); `none` otherwise.
    pub class: &'static str,
}

/// The relay's metrics.
pub struct Metrics {
    /// RCPT decisions.
    pub decisions: Family<DecisionLabels, Counter>,
    /// Recipients relayed or failed after DATA.
    pub deliveries: Family<DeliveryLabels, Counter>,
    /// Messages the upstream accepted for at least one recipient.
    pub messages_relayed: Counter,
    /// Upstream failures, by class, per recipient.
    pub upstream_failures: Family<UpstreamLabels, Counter>,
    /// Time to decide one RCPT (policy, locks), in seconds.
    pub rcpt_seconds: Histogram,
    /// Time from the end of DATA to the upstream's answer, in seconds.
    pub upstream_seconds: Histogram,
    /// Feedback messages recorded.
    pub feedback: Family<FeedbackLabels, Counter>,
    /// Recipients refused by another owner's lock.
    pub lock_refusals: Counter,
    /// Recipients let through with a warning about another owner's lock.
    pub lock_warnings: Counter,
    /// Alerts raised.
    pub alerts: Family<AlertLabels, Counter>,
}

/// An alert's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    /// The rule that raised it (`lift-approved`, `spike`, ...).
    pub rule: &'static str,
}

/// The one set of metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    decisions: Family::default(),
    deliveries: Family::default(),
    messages_relayed: Counter::default(),
    upstream_failures: Family::default(),
    // 50 µs .. ~1.6 s: a RCPT decision is microseconds, a fleet claim milliseconds.
    rcpt_seconds: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        50e-6, 2.0, 16,
    )),
    // 1 ms .. ~65 s.
    upstream_seconds: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        1e-3, 2.0, 17,
    )),
    feedback: Family::default(),
    lock_refusals: Counter::default(),
    lock_warnings: Counter::default(),
    alerts: Family::default(),
});

/// Counts one decision log record (on the log's own thread).
pub fn count_decision(record: &DecisionRecord) {
    let m = &*METRICS;
    let group = record.group.clone().unwrap_or_else(|| "none".into());
    match record.decision {
        Decision::Accept | Decision::Reject | Decision::Defer => {
            m.decisions
                .get_or_create(&DecisionLabels {
                    outcome: decision_name(record.decision),
                    reason: record.reason.map_or("none", Why::as_str),
                    rule: record.rule.map_or("none", |r| r.as_str()),
                    group,
                })
                .inc();
        }
        Decision::Relayed | Decision::Failed => {
            m.deliveries
                .get_or_create(&DeliveryLabels {
                    outcome: decision_name(record.decision),
                    group,
                })
                .inc();
        }
    }
    match record.reason {
        Some(Why::Locked) => {
            m.lock_refusals.inc();
        }
        Some(Why::UpstreamUnavailable) => {
            m.upstream_failures
                .get_or_create(&UpstreamLabels {
                    class: "unreachable",
                })
                .inc();
        }
        Some(Why::Upstream) => {
            let class = if record.code >= 500 {
                "permanent"
            } else {
                "temporary"
            };
            m.upstream_failures
                .get_or_create(&UpstreamLabels { class })
                .inc();
        }
        _ => {}
    }
    if record.decision == Decision::Accept && record.lock.is_some() {
        m.lock_warnings.inc();
    }
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Accept => "accept",
        Decision::Reject => "reject",
        Decision::Defer => "defer",
        Decision::Relayed => "relayed",
        Decision::Failed => "failed",
    }
}

/// Counts one feedback message recorded.
pub fn count_feedback(record: &crate::model::feedback::Record) {
    METRICS
        .feedback
        .get_or_create(&FeedbackLabels {
            kind: record.kind.as_str(),
            class: record.class.map_or("none", |c| c.as_str()),
        })
        .inc();
}

/// Observes one RCPT decision's duration.
pub fn observe_rcpt(took: Duration) {
    METRICS.rcpt_seconds.observe(took.as_secs_f64());
}

/// Observes one upstream transaction's end (from the end of DATA to its answer).
pub fn observe_upstream(took: Duration) {
    METRICS.upstream_seconds.observe(took.as_secs_f64());
}

/// A registry holding the process's metrics under `dnc_relay_`; the caller adds its
/// scrape-time collectors (store gauges).
pub fn registry() -> Registry {
    let m = &*METRICS;
    let mut r = Registry::with_prefix("dnc_relay");
    r.register(
        "rcpt_decisions",
        "RCPT decisions by outcome, reason, rule and sender group",
        m.decisions.clone(),
    );
    r.register(
        "deliveries",
        "Recipients relayed or failed after DATA, by sender group",
        m.deliveries.clone(),
    );
    r.register(
        "messages_relayed",
        "Messages the upstream accepted for at least one recipient",
        m.messages_relayed.clone(),
    );
    r.register(
        "upstream_failures",
        "Upstream failures per recipient, by class (unreachable, temporary, permanent)",
        m.upstream_failures.clone(),
    );
    r.register_with_unit(
        "rcpt_decision",
        "Time to decide one RCPT (list, locks)",
        prometheus_client::registry::Unit::Seconds,
        m.rcpt_seconds.clone(),
    );
    r.register_with_unit(
        "upstream_transaction",
        "Time from the end of DATA to the upstream's answer",
        prometheus_client::registry::Unit::Seconds,
        m.upstream_seconds.clone(),
    );
    r.register(
        "feedback_messages",
        "Feedback messages recorded, by kind and class",
        m.feedback.clone(),
    );
    r.register(
        "lock_refusals",
        "Recipients refused by another owner's lock",
        m.lock_refusals.clone(),
    );
    r.register(
        "lock_warnings",
        "Recipients relayed with a warning about another owner's lock",
        m.lock_warnings.clone(),
    );
    r.register("alerts", "Alerts raised, by rule", m.alerts.clone());
    r
}
