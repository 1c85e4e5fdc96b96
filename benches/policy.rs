//! Criterion benches of the per-recipient decision (at 1M and 10M entries), the address
//! normaliser, and add-to-effect (an acknowledged add until a RCPT sees it).
//!
//!     cargo bench --bench policy                      # 1M and 10M entries
//!     DNC_BENCH_SIZES=1000000 cargo bench --bench policy
//!
//! Stores are built once under target/bench-data/ through the bulk path imports use, and
//! kept for later runs. Before criterion's own statistics, each case prints its p50/p99/max
//! from a plain timed loop, since the targets are percentiles.

#[path = "synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dnc_relay::address::{Address, Target};
use dnc_relay::model::{Actor, Reason, Source};
use dnc_relay::policy::{MatchOptions, Policy, Sender, Verdict};
use dnc_relay::store::NewEntry;

fn sizes() -> Vec<u64> {
    std::env::var("DNC_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000])
}

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    dir
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The recipients of each case, and whether the policy must block them.
fn cases(n: u64) -> Vec<(&'static str, Vec<Address>, bool)> {
    let pick = |i: u64| (i.wrapping_mul(2_654_435_761)) % n;
    let make = |f: &dyn Fn(u64) -> String| -> Vec<Address> {
        // Many distinct recipients, so lookups do not all hit the same cached pages.
        (0..100_000u64)
            .map(|i| Address::parse(&f(pick(i))).expect("bench address"))
            .collect()
    };
    vec![
        (
            "address_hit",
            make(&|k| format!("dnc{}@example.com", synthetic::address_index(k))),
            true,
        ),
        (
            "plus_tag_hit",
            make(&|k| format!("dnc{}+q4@example.com", synthetic::address_index(k))),
            true,
        ),
        (
            "gmail_dots_hit",
            make(&|k| {
                let k = k - k % 20 + 7;
                format!("DNC{k}X@googlemail.com")
            }),
            true,
        ),
        (
            "domain_hit",
            make(&|k| {
                let k = k - k % 20 + 19;
                format!("ceo@mail.dnc{k}.example.org")
            }),
            true,
        ),
        ("miss", make(&|k| format!("prospect{k}@example.net")), false),
    ]
}

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name:<40} p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}  ({} samples)",
        at(0.5),
        at(0.99),
        samples[samples.len() - 1],
        samples.len()
    );
}

fn rcpt_decision(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("rcpt_decision");
    for n in sizes() {
        // The file name carries the store format: a store from an older build is rebuilt.
        let path = data_dir().join(format!("policy-f2-{n}.redb"));
        let (store, took) = rt.block_on(synthetic::filled_store(&path, n, 64 << 20));
        if took > Duration::ZERO {
            println!("filled {n} entries in {took:.2?}");
        }
        let policy = Policy::new(
            Arc::new(store.clone()),
            MatchOptions::default(),
            Arc::default(),
        );
        for (name, rcpts, blocked) in cases(n) {
            // Every case must mean what its name says.
            for r in &rcpts {
                let verdict = policy.check_rcpt(&Sender::default(), r).expect("decision");
                assert_eq!(matches!(verdict, Verdict::Block(_)), blocked, "{name}: {r}");
            }
            let mut samples = Vec::with_capacity(100_000);
            for i in 0..100_000 {
                let r = &rcpts[i % rcpts.len()];
                let t = Instant::now();
                black_box(policy.check_rcpt(&Sender::default(), r).expect("decision"));
                samples.push(t.elapsed());
            }
            percentiles(&format!("rcpt_decision/{n}/{name}"), samples);
            group.bench_with_input(BenchmarkId::new(name, n), &rcpts, |b, rcpts| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % rcpts.len();
                    black_box(
                        policy
                            .check_rcpt(&Sender::default(), &rcpts[i])
                            .expect("decision"),
                    )
                })
            });
        }
        rt.block_on(store.close()).expect("close");
    }
    group.finish();
}

fn normaliser(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalise");
    for (name, input) in [
        ("plain", "alice@example.com"),
        ("mixed_case_brackets", " <Alice.Smith@Example.COM> "),
        ("tagged", "alice+newsletter@example.com"),
        ("idn", "jürgen@bücher.example"),
        ("gmail", "J.Doe+x@googlemail.com"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(Address::parse(black_box(input))))
        });
    }
    group.finish();
}

fn add_to_effect(c: &mut Criterion) {
    let rt = runtime();
    let path = data_dir().join("add-to-effect-f2.redb");
    let (store, _) = rt.block_on(synthetic::filled_store(&path, 100_000, 64 << 20));
    let policy = Policy::new(
        Arc::new(store.clone()),
        MatchOptions::default(),
        Arc::default(),
    );
    let mut next = rt.block_on(async { store.count().expect("count") }) + 1_000_000_000;
    let once = |next: &mut u64| {
        *next += 1;
        let target = format!("new{next}@example.com");
        let t = Instant::now();
        rt.block_on(store.add(
            NewEntry {
                target: Target::parse(&target).expect("target"),
                reason: Reason::Unsubscribe,
                source: Source::Admin,
                evidence: String::new(),
                units: dnc_relay::model::Units::all(),
            },
            Actor::system(),
        ))
        .expect("add");
        let verdict = policy
            .check_rcpt(
                &Sender::default(),
                &Address::parse(&target).expect("address"),
            )
            .expect("decision");
        let took = t.elapsed();
        assert!(
            matches!(verdict, Verdict::Block(_)),
            "the add must apply to the next RCPT"
        );
        took
    };
    let samples: Vec<Duration> = (0..500).map(|_| once(&mut next)).collect();
    percentiles("add_to_effect (add acknowledged -> RCPT blocked)", samples);
    c.bench_function("add_to_effect", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| once(&mut next)).sum())
    });
    rt.block_on(store.close()).expect("close");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = normaliser, rcpt_decision, add_to_effect
}
criterion_main!(benches);
