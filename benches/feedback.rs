//! Feedback speed: how many messages `classify` reads per second on one core, and how long a
//! bounce takes from its arrival at the feedback listener to the suppression in force.
//!
//!     cargo bench --bench feedback
//!
//! Before criterion's own statistics, each case prints what the targets are stated in: the
//! classify rate over the labelled corpus (one thread), and arrival-to-effect p50/p99/max for
//! bounces sent one at a time and in a burst over 10 connections.

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dnc_relay::address::Address;
use dnc_relay::config::Config;
use dnc_relay::feedback::Classifier;
use dnc_relay::policy::{MatchOptions, Policy, Sender, Verdict};
use dnc_relay::server::{Hooks, Server};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/feedback/corpus")
}

/// Every message of the labelled corpus, in memory.
fn messages() -> Vec<Vec<u8>> {
    let labels = std::fs::read_to_string(corpus().join("labels.jsonl")).expect("labels");
    labels
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["file"].as_str().map(|f| corpus().join(f)))
        .map(|p| std::fs::read(p).expect("message"))
        .collect()
}

fn classify(c: &mut Criterion) {
    let config = Config::load(Some(&corpus().join("relay.toml"))).expect("config");
    let classifier = Classifier::from_config(&config).expect("rules");
    let messages = messages();
    // A plain timed loop on this one thread: the rate the target is stated in.
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        for m in &messages {
            black_box(classifier.classify(black_box(m)));
        }
    }
    let n = rounds * messages.len();
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "classify: {n} messages of the corpus on one thread: {rate:.0} messages/s ({:.0} us each)",
        1e6 / rate
    );
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(classifier.classify(black_box(m)));
            }
        })
    });
    group.finish();
}

/// A bounce (RFC 3464, 5.1.1) for `rcpt`.
fn bounce(rcpt: &str, n: usize) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
         To: bounces@fb.example.com\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <bench-{n}@mx.example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
         \r\n\
         --B\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         Your message could not be delivered.\r\n\
         \r\n\
         --B\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.net\r\n\
         \r\n\
         Final-Recipient: rfc822; {rcpt}\r\n\
         Action: failed\r\n\
         Status: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown\r\n\
         \r\n\
         --B--\r\n"
    )
}

/// One SMTP connection to the feedback listener.
struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let (r, w) = TcpStream::connect(addr)
            .await
            .expect("connect")
            .into_split();
        let mut c = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        c.reply().await;
        c.cmd("EHLO bench.example\r\n").await;
        c
    }

    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.expect("read");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.writer.write_all(line.as_bytes()).await.expect("write");
        self.reply().await
    }

    /// Sends one bounce; returns when the listener said 250.
    async fn send(&mut self, message: &str) {
        self.cmd("MAIL FROM:<>\r\n").await;
        self.cmd("RCPT TO:<bounces@fb.example.com>\r\n").await;
        self.cmd("DATA\r\n").await;
        let reply = self.cmd(&format!("{message}.\r\n")).await;
        assert!(reply.starts_with("250"), "{reply}");
    }
}

/// Waits until `rcpt` is refused by the policy (polling the store, as the next RCPT would).
async fn until_refused(policy: &Policy, rcpt: &str) {
    let addr = Address::parse(rcpt).expect("address");
    loop {
        if let Ok(Verdict::Block(_)) = policy.check_rcpt(&Sender::default(), &addr) {
            return;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// Sends `count` bounces over `connections` connections at once; the arrival-to-effect time of
/// each (from the moment its data is sent until its recipient is refused).
async fn arrivals(
    listener: SocketAddr,
    policy: Arc<Policy>,
    first: usize,
    count: usize,
    connections: usize,
) -> Vec<Duration> {
    let per = count / connections;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let policy = policy.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(listener).await;
            let mut out = Vec::new();
            for i in 0..per {
                let n = first + c * per + i;
                let rcpt = format!("gone{n}@bench.example");
                let message = bounce(&rcpt, n);
                let t = Instant::now();
                client.send(&message).await;
                until_refused(&policy, &rcpt).await;
                out.push(t.elapsed());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}

fn percentiles(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{what}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
}

fn start(dir: &Path) -> (Server, SocketAddr) {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.server.listen = vec!["127.0.0.1:0".parse().expect("addr")];
    config.feedback.listen = vec!["127.0.0.1:0".parse().expect("addr")];
    config.feedback.domains = vec!["fb.example.com".into()];
    config.upstream.url = format!("capture:{}", dir.join("outbox").display())
        .parse()
        .expect("upstream");
    let server = futures_block(Server::start(config, Hooks::default())).expect("start");
    let listener = server.feedback_addrs()[0];
    (server, listener)
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.block_on(f)
}

static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
});

fn arrival_to_effect(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, listener) = start(dir.path());
    let policy = Arc::new(Policy::new(
        Arc::new(server.store().clone()),
        MatchOptions::default(),
        Arc::default(),
    ));
    let one_by_one = futures_block(arrivals(listener, policy.clone(), 0, 300, 1));
    percentiles(
        "arrival_to_effect, one bounce at a time (data sent -> RCPT refused)",
        one_by_one,
    );
    let burst = futures_block(arrivals(listener, policy.clone(), 1_000, 500, 10));
    percentiles(
        "arrival_to_effect, 500 bounces over 10 connections at once",
        burst,
    );
    let mut next = 10_000;
    c.bench_function("arrival_to_effect", |b| {
        b.iter_custom(|iters| {
            let samples =
                futures_block(arrivals(listener, policy.clone(), next, iters as usize, 1));
            next += iters as usize;
            samples.into_iter().sum()
        })
    });
    futures_block(server.shutdown()).expect("shutdown");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = classify, arrival_to_effect
}
criterion_main!(benches);
