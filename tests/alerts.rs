//! Metrics, health and alerts as the people who run the relay meet them: Prometheus scrapes
//! `/metrics`, a load balancer asks `/healthz`, and a webhook receives a lift approval and an
//! unsubscribe spike (retried after a failure), each also on the record (`alerts list`).

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::admin::ops::alerts::AlertsList;
use dnc_relay::admin::ops::lift::{LiftApprove, LiftRequest};
use dnc_relay::admin::ops::suppress::SuppressAdd;
use dnc_relay::admin::AdminClient;
use dnc_relay::config::{Config, SenderGroup};
use dnc_relay::model::alert::Delivery;
use dnc_relay::model::{Actor, Reason, Role, Source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A webhook receiver: answers each POST with the next status of its script (then 200), and
/// keeps what it got.
struct Hook {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Hook {
    async fn start(statuses: &[u16]) -> Hook {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(
            statuses.iter().copied().collect::<VecDeque<_>>(),
        ));
        let (g, s) = (got.clone(), script.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (g, s) = (g.clone(), s.clone());
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut stream).await else {
                        return;
                    };
                    let status = s.lock().unwrap().pop_front().unwrap_or(200);
                    if status == 200 {
                        let json = serde_json::from_slice(&body).unwrap_or_default();
                        g.lock().unwrap().push((head, json));
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        Hook { addr, got }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/dnc?team=ops", self.addr)
    }

    /// Waits (bounded) for an alert whose rule and scope are given.
    async fn wait_for(&self, rule: &str, scope: &str) -> (String, serde_json::Value) {
        for _ in 0..200 {
            let found = self
                .got
                .lock()
                .unwrap()
                .iter()
                .find(|(_, j)| j["rule"] == rule && j["scope"] == scope)
                .cloned();
            if let Some(f) = found {
                return f;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no {rule} alert for {scope} reached the webhook; got {:?}",
            self.got.lock().unwrap()
        );
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buf[end + 4..end + 4 + len].to_vec()));
        }
    }
}

/// One plain HTTP/1.1 GET; the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn group(name: &str, senders: &[&str]) -> SenderGroup {
    SenderGroup {
        name: name.into(),
        senders: senders.iter().map(|s| s.to_string()).collect(),
        ..SenderGroup::default()
    }
}

fn alerting(config: &mut Config, hook: &Hook, token_dir: &std::path::Path) {
    config.http.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.alerts.webhook = Some(hook.url());
    let token = token_dir.join("hook.token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    config.alerts.webhook_token_file = Some(token);
    config.alerts.interval = Duration::from_millis(300);
    config.alerts.spike_threshold = 3;
    config.alerts.email = vec!["oncall@acme.example".into()];
    config.notify.from = Some("dnc-relay@acme.example".into());
}

fn add(c: &mut AdminClient, target: &str, reason: Reason, source: Source) {
    c.call(SuppressAdd {
        target: target.into(),
        reason,
        source: Some(source),
        evidence: Some("test".into()),
        units: Default::default(),
    })
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_reads_decisions_by_sender_group_and_healthz_says_ready() {
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), |c| {
        c.http.listen = vec!["127.0.0.1:0".parse().unwrap()];
        c.sender_groups = vec![group("metricsgrp", &["@metrics.example"])];
    })
    .await;
    let mut admin = AdminClient::connect(&relay.socket()).unwrap();
    add(
        &mut admin,
        "gone@example.com",
        Reason::Unsubscribe,
        Source::Admin,
    );
    let mut c = Client::ready(relay.addr, "ann@metrics.example").await;
    c.expect("RCPT TO:<gone@example.com>\r\n", "550 5.7.1")
        .await;
    c.expect("RCPT TO:<ok@example.com>\r\n", "250").await;
    c.expect("DATA\r\n", "354").await;
    c.expect("Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    relay.decisions(3).await;
    let http = relay.server.http_addrs()[0];
    let (status, text) = get(http, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "dnc_relay_rcpt_decisions_total{outcome=\"reject\",reason=\"unsubscribe\",rule=\"address\",group=\"metricsgrp\"} 1",
        "dnc_relay_rcpt_decisions_total{outcome=\"accept\",reason=\"none\",rule=\"none\",group=\"metricsgrp\"} 1",
        "dnc_relay_deliveries_total{outcome=\"relayed\",group=\"metricsgrp\"} 1",
        "dnc_relay_store_entries 1",
        "dnc_relay_lifts_pending 0",
    ] {
        assert!(
            text.lines().any(|l| l == line || l == format!("{line}.0")),
            "{line} not in:\n{text}"
        );
    }
    assert!(text.contains("# TYPE dnc_relay_rcpt_decision_seconds histogram"));
    assert!(!text.contains("gone@example.com"), "no address in a label");
    assert_eq!(get(http, "/healthz").await, (200, "ready\n".to_string()));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lift_approval_reaches_the_webhook_after_a_failed_attempt_and_is_on_the_record() {
    let upstream = TestUpstream::start(Script::default()).await;
    let hook = Hook::start(&[503]).await;
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&upstream.url(), |c| alerting(c, &hook, dir.path())).await;
    let mut admin = AdminClient::connect(&relay.socket()).unwrap();
    add(
        &mut admin,
        "pat@example.com",
        Reason::NotInterested,
        Source::Call,
    );
    let lift = admin
        .call(LiftRequest {
            target: "pat@example.com".into(),
            proof: "Pat asked to hear from us again, ticket 4411".into(),
        })
        .unwrap()
        .lift;
    let ops = Actor {
        user: "console:olga".into(),
        uid: None,
        role: Some(Role::Ops),
    };
    dnc_relay::admin::server::call(
        relay.server.handler(),
        ops,
        LiftApprove { id: lift.id }.into(),
    )
    .await
    .unwrap();
    let (head, alert) = hook.wait_for("lift-approved", "pat@example.com").await;
    assert!(
        head.starts_with("POST /hooks/dnc?team=ops HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer s3cret-token"),
        "{head}"
    );
    assert_eq!(alert["figures"]["approved_by"], "console:olga");
    assert!(alert["text"].as_str().unwrap().contains("ticket 4411"));
    // On the record, delivered on the second attempt; and mailed through the upstream.
    let mut delivered = None;
    for _ in 0..100 {
        let page = admin.call(AlertsList { limit: 10 }).unwrap();
        if let Some(a) = page.alerts.iter().find(|a| a.scope == "pat@example.com") {
            if let Delivery::Delivered { attempts, .. } = a.webhook {
                delivered = Some(attempts);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered.is_some(), "the alert was never marked delivered");
    let mut mailed = false;
    for _ in 0..100 {
        mailed = upstream.received().iter().any(|m| {
            m.rcpts.iter().any(|r| r == "oncall@acme.example")
                && String::from_utf8_lossy(&m.data).contains("lift-approved")
        });
        if mailed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mailed, "the alert was not mailed to [alerts] email");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribe_spike_from_one_sender_group_alerts_once() {
    let upstream = TestUpstream::start(Script::default()).await;
    let hook = Hook::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&upstream.url(), |c| {
        alerting(c, &hook, dir.path());
        c.sender_groups = vec![group("outbound", &["@sales.example"])];
    })
    .await;
    let recipients: Vec<String> = (1..=4)
        .map(|i| format!("lead{i}@prospect.example"))
        .collect();
    for r in &recipients {
        let reply = Client::deliver(
            relay.addr,
            "sam@sales.example",
            r,
            "Subject: hi\r\n\r\nhello\r\n",
        )
        .await;
        assert!(reply.starts_with("250"), "{reply}");
    }
    relay.decisions(8).await;
    relay.server.handler().store.settle().await.unwrap();
    let mut admin = AdminClient::connect(&relay.socket()).unwrap();
    for r in &recipients {
        add(&mut admin, r, Reason::Unsubscribe, Source::Link);
    }
    let (_, alert) = hook.wait_for("unsubscribe-spike", "group:outbound").await;
    assert_eq!(alert["figures"]["count"], "4");
    hook.wait_for("unsubscribe-spike", "sender:sam@sales.example")
        .await;
    hook.wait_for("unsubscribe-spike", "all").await;
    // Evaluated again and again, it does not fire twice within the hour.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let page = admin.call(AlertsList { limit: 100 }).unwrap();
    let spikes = page
        .alerts
        .iter()
        .filter(|a| a.scope == "group:outbound")
        .count();
    assert_eq!(spikes, 1);
    relay.stop().await;
}
