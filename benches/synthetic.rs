//! Synthetic suppression lists for benchmarks and the load generator: the same entries,
//! filled through the same bulk path (`Store::add_many`) that imports use.
//!
//! Entry `n` is `@dnc{n}.example.org` when `n % 20 == 19`, `dnc.{n}.x@gmail.com` when
//! `n % 20 == 7`, and `dnc{n}@example.com` otherwise.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use dnc_relay::address::Target;
use dnc_relay::model::{Actor, Reason, Source};
use dnc_relay::store::{NewEntry, Store, StoreOptions};

/// The target of synthetic entry `n`.
pub fn target(n: u64) -> String {
    match n % 20 {
        19 => format!("@dnc{n}.example.org"),
        7 => format!("dnc.{n}.x@gmail.com"),
        _ => format!("dnc{n}@example.com"),
    }
}

/// An address entry (`n % 20` not 7 or 19) near `k`.
pub fn address_index(k: u64) -> u64 {
    match k % 20 {
        7 | 19 => k - 1,
        _ => k,
    }
}

/// Opens the store at `path` and fills it up to `entries`; returns it and how long the fill
/// took (zero when it was already full).
pub async fn filled_store(path: &Path, entries: u64, cache_size: usize) -> (Store, Duration) {
    filled_replica(path, entries, cache_size, None).await
}

/// [`filled_store`] as a fleet replica: the entries go through the fleet's log.
#[allow(dead_code)]
pub async fn filled_replica(
    path: &Path,
    entries: u64,
    cache_size: usize,
    sequencer: Option<Box<dyn dnc_relay::store::replica::Sequencer>>,
) -> (Store, Duration) {
    let store = Store::open_replica(
        path,
        &StoreOptions {
            cache_size,
            ..StoreOptions::default()
        },
        sequencer,
    )
    .expect("open store");
    let have = store.count().expect("count");
    let started = Instant::now();
    let mut n = have;
    while n < entries {
        let batch: u64 = std::env::var("DNC_FILL_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000);
        let end = (n + batch).min(entries);
        let batch = (n..end)
            .map(|i| NewEntry {
                target: Target::parse(&target(i)).expect("synthetic target"),
                reason: Reason::Unsubscribe,
                source: Source::Import,
                evidence: String::new(),
                units: dnc_relay::model::Units::all(),
            })
            .collect();
        store
            .add_many(batch, Actor::system())
            .await
            .expect("add_many");
        n = end;
    }
    let took = if have >= entries {
        Duration::ZERO
    } else {
        started.elapsed()
    };
    (store, took)
}
