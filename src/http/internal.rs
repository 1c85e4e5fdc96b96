//! The internal HTTP face: `/metrics` (Prometheus text), `/healthz` (ready or not, and why)
//! and the web console under `/`. Bound only by `[http] listen`, never on the public
//! unsubscribe listener.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::audit::DecisionLog;
use crate::store::Store;

/// What `/metrics` and `/healthz` read.
pub struct Probe {
    /// The store.
    pub store: Store,
    /// The decision log (a relay that cannot write it decides nothing).
    pub log: DecisionLog,
    /// A fleet relay's membership.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// A subcontractor's relay: its follower of the company's hashed feed.
    pub feed: Option<Arc<crate::feed::Follower>>,
}

impl Probe {
    /// A probe of these.
    pub fn new(
        store: &Store,
        log: &DecisionLog,
        cluster: &Option<Arc<crate::cluster::Cluster>>,
        feed: &Option<Arc<crate::feed::Follower>>,
    ) -> Arc<Probe> {
        Arc::new(Probe {
            store: store.clone(),
            log: log.clone(),
            cluster: cluster.clone(),
            feed: feed.clone(),
        })
    }
}

struct Internal {
    probe: Arc<Probe>,
    registry: Registry,
}

/// The internal face's router: `/metrics`, `/healthz` and the console, answering only for
/// IP addresses, `localhost` and `hosts`.
pub fn router(probe: Arc<Probe>, console: Router, hosts: Vec<String>) -> Router {
    let mut registry = crate::metrics::registry();
    registry.register_collector(Box::new(Gauges {
        probe: probe.clone(),
        cache: Mutex::new(None),
    }));
    let internal = Arc::new(Internal { probe, registry });
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(internal)
        .merge(console)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(hosts),
            known_host,
        ))
}

/// Refuses a request whose `Host` is a name this listener was not told of: a page on
/// another site whose name was made to resolve to this address (DNS rebinding) cannot read
/// the metrics or try logins from an operator's browser.
async fn known_host(
    State(hosts): State<Arc<Vec<String>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if host_allowed(host, &hosts) {
        return next.run(request).await;
    }
    tracing::warn!(
        host,
        "internal http: a request for an unknown host name was refused"
    );
    (
        StatusCode::MISDIRECTED_REQUEST,
        "unknown host name; add it to [http] hosts\n",
    )
        .into_response()
}

/// Whether `host` (a `Host` header: name or address, maybe with a port) may be served.
fn host_allowed(host: &str, hosts: &[String]) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6] or [v6]:port
        return rest
            .split(']')
            .next()
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || hosts.iter().any(|h| h.eq_ignore_ascii_case(&name))
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_localhost_and_named_hosts_are_served() {
        let hosts = vec!["relay.acme.internal".to_string()];
        for ok in [
            "127.0.0.1:8025",
            "10.0.0.5",
            "[::1]:8025",
            "localhost:8025",
            "Relay.Acme.Internal:8025",
            "relay.acme.internal.",
        ] {
            assert!(host_allowed(ok, &hosts), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8025",
            "",
            "127.0.0.1.evil.example",
            "[evil]:80",
        ] {
            assert!(!host_allowed(bad, &hosts), "{bad}");
        }
    }
}

async fn metrics(State(internal): State<Arc<Internal>>) -> Response {
    // Scrape-time gauges read the store: off the runtime's threads.
    let encoded = tokio::task::spawn_blocking(move || {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &internal.registry)
            .map(|()| text)
    })
    .await;
    match encoded {
        Ok(Ok(text)) => {
            let mut response = (StatusCode::OK, text).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics\n",
        )
            .into_response(),
    }
}

/// `200 ready` when the relay can decide (store writable, decision log writable, in a fleet
/// the replica current, and a subcontractor's relay current with its feed); otherwise `503` with what is wrong, one line each.
async fn healthz(State(internal): State<Arc<Internal>>) -> Response {
    let probe = &internal.probe;
    let mut problems = Vec::new();
    if let Err(e) = probe.store.writable() {
        problems.push(format!("store: {e}"));
    }
    if !probe.log.writable() {
        problems.push("decision log: cannot be written".to_string());
    }
    if let Some(c) = &probe.cluster {
        if let Err(why) = c.gate.check() {
            problems.push(format!("replica: {why}"));
        }
    }
    if let Some(f) = &probe.feed {
        if let Err(why) = f.gate.check() {
            problems.push(format!("feed: {why}"));
        }
    }
    let (status, body) = if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{}\n", problems.join("\n")),
        )
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Gauges read from the store at scrape time (cached for a few seconds: a scrape every
/// second by several Prometheus servers reads the store once).
struct Gauges {
    probe: Arc<Probe>,
    cache: Mutex<Option<(Instant, Vec<Reading>)>>,
}

impl std::fmt::Debug for Gauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gauges")
    }
}

/// One gauge's value.
#[derive(Clone)]
struct Reading {
    name: &'static str,
    help: &'static str,
    value: f64,
}

const CACHE_FOR: Duration = Duration::from_secs(5);

impl Gauges {
    /// The hashed feed's gauges: a follower's lag and position; the company side's slowest
    /// subscriber.
    fn feed_readings(&self, push: &mut dyn FnMut(&'static str, &'static str, Option<f64>)) {
        let store = &self.probe.store;
        if let Some(f) = &self.probe.feed {
            push(
                "feed_lag_seconds",
                "Time since this relay last held everything its company's hashed feed had (-1: never since start)",
                Some(f.gate.lag().map_or(-1.0, |l| l.as_secs_f64())),
            );
            push(
                "feed_current",
                "1 when this relay is current with its company's hashed feed within replica.max_lag",
                Some(if f.gate.check().is_ok() { 1.0 } else { 0.0 }),
            );
            let state = store.feed_state().ok().flatten();
            push(
                "feed_applied",
                "The feed position applied here",
                state.as_ref().map(|s| s.applied as f64),
            );
            push(
                "feed_keys",
                "Hashed keys held from the company's feed",
                state.as_ref().map(|s| s.keys as f64),
            );
        }
        // The company's side: how far behind its slowest subscriber is.
        if let Ok(last) = store.feed_last_pulls() {
            let head = store.last_event().unwrap_or(0);
            let now = crate::model::Timestamp::now();
            let active: Vec<_> = store
                .feed_subscribers()
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.revoked.is_none())
                .collect();
            if !active.is_empty() {
                let behind = active.iter().map(|s| {
                    last.get(&s.name)
                        .map_or(head, |p| head.saturating_sub(p.next))
                });
                push(
                    "feed_subscribers_max_behind",
                    "Positions of the list the furthest-behind active feed subscriber was not sent yet",
                    behind.max().map(|b| b as f64),
                );
                // -1 when one never pulled: the oldest of all.
                let oldest = active
                    .iter()
                    .map(|s| {
                        last.get(&s.name)
                            .map(|p| (now.0 - p.last_at.0) as f64 / 1e6)
                    })
                    .try_fold(0.0_f64, |m, age| age.map(|a| m.max(a)))
                    .unwrap_or(-1.0);
                push(
                    "feed_subscribers_oldest_pull_age_seconds",
                    "Seconds since the active feed subscriber that pulled least recently last pulled (-1: one never pulled)",
                    Some(oldest),
                );
            }
        }
    }

    fn read(&self) -> Vec<Reading> {
        let store = &self.probe.store;
        let mut out = Vec::new();
        let mut push = |name, help, value: Option<f64>| {
            if let Some(value) = value {
                out.push(Reading { name, help, value });
            }
        };
        push(
            "store_entries",
            "Suppression entries in the store",
            store.count().ok().map(|n| n as f64),
        );
        push(
            "lifts_pending",
            "Lift requests waiting for a decision",
            store
                .lifts()
                .ok()
                .map(|l| l.iter().filter(|l| l.decision.is_none()).count() as f64),
        );
        push(
            "feedback_reviews_pending",
            "Feedback records with a review waiting",
            store
                .feedback_records(0, usize::MAX, true)
                .ok()
                .map(|r| r.len() as f64),
        );
        push(
            "lock_reviews_pending",
            "Ownership locks under review",
            store
                .locks()
                .ok()
                .map(|l| l.iter().filter(|l| l.review.is_some()).count() as f64),
        );
        push(
            "outbox_depth",
            "Mails the relay sends on its own (notifications, alerts, forwarded bounces) waiting",
            store.outgoing().ok().map(|o| o.len() as f64),
        );
        push(
            "alerts_undelivered",
            "Alerts the webhook has not taken yet (pending) or never took (given up)",
            store.alerts(u64::MAX, usize::MAX).ok().map(|a| {
                a.iter()
                    .filter(|a| {
                        matches!(
                            a.webhook,
                            crate::model::alert::Delivery::Pending { .. }
                                | crate::model::alert::Delivery::GaveUp { .. }
                        )
                    })
                    .count() as f64
            }),
        );
        if let Some(c) = &self.probe.cluster {
            let lag = c.gate.lag();
            push(
                "replica_lag_seconds",
                "Time since this relay last confirmed it is current with the fleet's log (-1: never)",
                Some(lag.map_or(-1.0, |l| l.as_secs_f64())),
            );
            push(
                "replica_current",
                "1 when this relay's replica is current within cluster.max_lag",
                Some(if c.gate.check().is_ok() { 1.0 } else { 0.0 }),
            );
            push(
                "replica_applied",
                "The last entry of the fleet's log applied here",
                Some(store.applied() as f64),
            );
        }
        self.feed_readings(&mut push);
        out
    }
}

impl Collector for Gauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let readings = {
            let mut cache = self.cache.lock().map_err(|_| std::fmt::Error)?;
            match &*cache {
                Some((at, r)) if at.elapsed() < CACHE_FOR => r.clone(),
                _ => {
                    let r = self.read();
                    *cache = Some((Instant::now(), r.clone()));
                    r
                }
            }
        };
        for r in readings {
            let gauge = ConstGauge::new(r.value);
            let metric = encoder.encode_descriptor(r.name, r.help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}
