//! Lock claims in flight: the reservations RCPTs take before their message is relayed and
//! its lock stored. The registry sits below the store (it knows only keys, owners and
//! locks), so the store can keep a relayed message's claims, typed, until the commit that
//! stores their locks, and [`crate::locks`] decides over both without a cycle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::model::{Lock, Timestamp};

/// The claims in flight under one lock key.
pub struct Pending {
    /// The owner whose claims these are.
    pub owner: String,
    /// How many claims are in flight.
    count: usize,
    /// When the newest of them would expire.
    pub until: Timestamp,
}

/// The claims in flight of every session, by lock key.
#[derive(Default)]
pub struct Registry {
    pending: Mutex<HashMap<String, Pending>>,
    /// Bumped (under the `pending` mutex) whenever a key's last claim is released, which is
    /// after its lock became visible in the store. A reader loads it before reading the store
    /// and compares under the mutex: a release in between means the store must be read again.
    releases: AtomicU64,
}

/// The registry under its mutex: where claims are looked up and taken.
pub struct Claiming<'a> {
    registry: &'a Arc<Registry>,
    pending: MutexGuard<'a, HashMap<String, Pending>>,
}

/// A reservation taken at RCPT, released when dropped. When its message was relayed, the
/// lock it stands for is stored (or renewed) with the send records, and the claim is dropped
/// only after that commit, when the stored lock speaks for the owner.
pub struct Claim {
    registry: Arc<Registry>,
    key: String,
    lock: Lock,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    /// The release counter: load it before reading the store, and compare with
    /// [`Claiming::released_since`] once the mutex is held.
    pub fn epoch(&self) -> u64 {
        self.releases.load(Ordering::Acquire)
    }

    /// Takes the mutex.
    pub fn claiming(self: &Arc<Self>) -> Claiming<'_> {
        let pending = match self.pending.lock() {
            Ok(p) => p,
            // The map stays consistent: every update is a single insert, count or remove.
            Err(poisoned) => poisoned.into_inner(),
        };
        Claiming {
            registry: self,
            pending,
        }
    }

    fn release(&self, key: &str) {
        let mut pending = match self.pending.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(entry) = pending.get_mut(key) {
            entry.count = entry.count.saturating_sub(1);
            if entry.count == 0 {
                pending.remove(key);
                self.releases.fetch_add(1, Ordering::Release);
            }
        }
    }
}

impl Claiming<'_> {
    /// Whether a claim was released since `epoch` was loaded (its lock is in the store now).
    pub fn released_since(&self, epoch: u64) -> bool {
        self.registry.epoch() != epoch
    }

    /// The claims in flight under `key`.
    pub fn pending(&self, key: &str) -> Option<&Pending> {
        self.pending.get(key)
    }

    /// Reserves `key` for `lock`'s owner. Another owner's claims still counted under the key
    /// are older than the ttl (the caller checked [`Pending::until`]) and are voided.
    pub fn claim(&mut self, key: String, lock: Lock) -> Claim {
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            owner: lock.owner.clone(),
            count: 0,
            until: lock.expires,
        });
        if entry.owner != lock.owner {
            entry.owner.clone_from(&lock.owner);
        }
        entry.count += 1;
        entry.until = entry.until.max(lock.expires);
        Claim {
            registry: self.registry.clone(),
            key,
            lock,
        }
    }
}

impl Claim {
    /// The lock key claimed.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The lock the owner would take.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// The lock to store (or renew) for this claim now that its message was relayed: its store
    /// key and the lock, running for its ttl from `now`. The claim itself must be kept until
    /// the store has committed it (see [`crate::store::Store::record_relayed`]), so that no
    /// other owner slips in between.
    pub fn to_store(&self, now: Timestamp) -> (String, Lock) {
        let ttl = Duration::from_micros((self.lock.expires.0 - self.lock.since.0).max(0) as u64);
        let mut lock = self.lock.clone();
        lock.since = now;
        lock.expires = now.plus(ttl);
        (self.key.clone(), lock)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.registry.release(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LockKind;

    fn lock(owner: &str, since: i64, ttl: i64) -> Lock {
        Lock {
            kind: LockKind::Contact,
            target: "a@example.com".into(),
            owner: owner.into(),
            team: None,
            since: Timestamp(since),
            expires: Timestamp(since + ttl),
            review: None,
        }
    }

    /// `owner` claims `c:a` from `since` for `ttl`.
    fn take(registry: &Arc<Registry>, owner: &str, since: i64, ttl: i64) -> Claim {
        registry
            .claiming()
            .claim("c:a".into(), lock(owner, since, ttl))
    }

    /// Whose claims are pending under `c:a`, and till when.
    fn pending(registry: &Arc<Registry>) -> Option<(String, Timestamp)> {
        let claiming = registry.claiming();
        claiming.pending("c:a").map(|p| (p.owner.clone(), p.until))
    }

    #[test]
    fn a_key_stays_pending_until_its_last_claim_is_dropped() {
        let registry = Registry::new();
        let epoch = registry.epoch();
        let first = take(&registry, "sales", 0, 10);
        let second = take(&registry, "sales", 5, 10);
        assert_eq!(pending(&registry), Some(("sales".into(), Timestamp(15))));
        assert!(!registry.claiming().released_since(epoch));
        drop(first);
        assert!(registry.claiming().pending("c:a").is_some());
        assert!(!registry.claiming().released_since(epoch));
        drop(second);
        assert!(registry.claiming().pending("c:a").is_none());
        assert!(registry.claiming().released_since(epoch));
    }

    #[test]
    fn a_stale_claim_of_another_owner_is_taken_over() {
        let registry = Registry::new();
        let _old = take(&registry, "sales", 0, 10);
        let _new = take(&registry, "support", 20, 10);
        assert_eq!(pending(&registry), Some(("support".into(), Timestamp(30))));
    }

    #[test]
    fn a_stored_lock_runs_its_ttl_from_the_commit() {
        let registry = Registry::new();
        let claim = take(&registry, "sales", 100, 50);
        let (key, stored) = claim.to_store(Timestamp(1_000));
        assert_eq!(key, "c:a");
        assert_eq!(
            (stored.since, stored.expires),
            (Timestamp(1_000), Timestamp(1_050))
        );
    }
}
