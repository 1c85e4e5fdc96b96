//! Failed AUTH, counted per client address and per user name, so that password guessing is
//! slow and then stops for a while, however many connections it uses.
//!
//! Each failure is answered after a delay that doubles (250 ms, 500 ms, ... up to 8 s); past
//! `[auth] max_failures` within `lockout`, AUTH from that address or for that user name gets
//! `454 4.7.0` without its password being checked, until `lockout` has passed since the last
//! failure. A success clears its address (not its user name: guesses from elsewhere go on
//! counting). Checks for one address, and for one user name, take turns ([`AuthThrottle::turn`]):
//! a hundred guesses sent at once are counted one after another, not all checked before the
//! first failure is counted; and at most [`MAX_CHECKS`] passwords are checked at once in all
//! (each argon2 check takes about 19 MiB).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest delay before a `535`.
const MAX_DELAY: Duration = Duration::from_secs(8);

/// Records kept at most; beyond it, expired ones are dropped first and then the oldest.
const MAX_RECORDS: usize = 100_000;

/// Longest user name kept as a key.
const MAX_NAME: usize = 256;

/// Passwords checked at the same time, across all clients.
pub const MAX_CHECKS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
}

/// Who is throttled now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lockout {
    /// Too many failures from this client address.
    Client,
    /// Too many failures for this user name.
    User,
}

/// The failed-AUTH counters of the whole relay.
#[derive(Debug)]
pub struct AuthThrottle {
    max_failures: u32,
    lockout: Duration,
    records: Mutex<HashMap<Key, Record>>,
    /// One check at a time per address and per user name.
    turns: Mutex<HashMap<Key, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Password checks under way.
    checks: std::sync::Arc<tokio::sync::Semaphore>,
}

/// The right to check one password: held across the check and its counting.
pub struct Turn {
    _client: tokio::sync::OwnedMutexGuard<()>,
    _user: tokio::sync::OwnedMutexGuard<()>,
    _check: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl AuthThrottle {
    /// Counters with the `[auth]` limits.
    pub fn new(max_failures: u32, lockout: Duration) -> AuthThrottle {
        AuthThrottle {
            max_failures,
            lockout,
            records: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
            checks: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CHECKS)),
        }
    }

    fn turn_lock(&self, key: Key) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut turns = match self.turns.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        if turns.len() >= MAX_RECORDS {
            // Only locks nobody holds or waits for are dropped.
            turns.retain(|_, lock| std::sync::Arc::strong_count(lock) > 1);
        }
        turns.entry(key).or_default().clone()
    }

    /// Waits for this address's and this user name's turn, and for a free check. Call
    /// [`AuthThrottle::locked`] again once it is your turn: the attempts before may have
    /// locked them out.
    pub async fn turn(&self, client: IpAddr, user: &str) -> Turn {
        let client = self.turn_lock(Key::Client(client)).lock_owned().await;
        let user = self.turn_lock(Self::user_key(user)).lock_owned().await;
        let check = self.checks.clone().acquire_owned().await.ok();
        Turn {
            _client: client,
            _user: user,
            _check: check,
        }
    }

    fn user_key(user: &str) -> Key {
        let mut end = user.len().min(MAX_NAME);
        while !user.is_char_boundary(end) {
            end -= 1;
        }
        Key::User(user[..end].to_string())
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Record>> {
        match self.records.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Whether AUTH from `client` (for `user`, once known) is refused now.
    pub fn locked(&self, client: IpAddr, user: Option<&str>) -> Option<Lockout> {
        let records = self.records();
        let locked = |key: &Key| {
            records
                .get(key)
                .is_some_and(|r| r.failures >= self.max_failures && r.last.elapsed() < self.lockout)
        };
        if locked(&Key::Client(client)) {
            return Some(Lockout::Client);
        }
        match user {
            Some(user) if locked(&Self::user_key(user)) => Some(Lockout::User),
            _ => None,
        }
    }

    /// Counts a failure; returns how long to wait before answering it and whether this
    /// failure started a lockout.
    pub fn failed(&self, client: IpAddr, user: &str) -> (Duration, Option<Lockout>) {
        let mut records = self.records();
        if records.len() >= MAX_RECORDS {
            let lockout = self.lockout;
            records.retain(|_, r| r.last.elapsed() < lockout);
            if records.len() >= MAX_RECORDS {
                records.clear();
            }
        }
        let now = Instant::now();
        let mut count = |key: Key| {
            let r = records.entry(key).or_insert(Record {
                failures: 0,
                last: now,
            });
            if r.last.elapsed() >= self.lockout {
                r.failures = 0;
            }
            r.failures = r.failures.saturating_add(1);
            r.last = now;
            r.failures
        };
        let by_client = count(Key::Client(client));
        let by_user = count(Self::user_key(user));
        let worst = by_client.max(by_user);
        let delay = Duration::from_millis(250)
            .saturating_mul(1u32 << (worst - 1).min(6))
            .min(MAX_DELAY);
        let started = if by_client == self.max_failures {
            Some(Lockout::Client)
        } else if by_user == self.max_failures {
            Some(Lockout::User)
        } else {
            None
        };
        (delay, started)
    }

    /// Clears the address after a success.
    pub fn succeeded(&self, client: IpAddr) {
        self.records().remove(&Key::Client(client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn delays_double_then_the_address_and_the_user_are_locked_out() {
        let t = AuthThrottle::new(3, Duration::from_secs(60));
        assert_eq!(t.failed(ip(1), "tool"), (Duration::from_millis(250), None));
        assert_eq!(t.failed(ip(1), "tool"), (Duration::from_millis(500), None));
        assert_eq!(t.locked(ip(1), Some("tool")), None);
        assert_eq!(
            t.failed(ip(1), "tool"),
            (Duration::from_millis(1000), Some(Lockout::Client))
        );
        assert_eq!(t.locked(ip(1), None), Some(Lockout::Client));
        // From elsewhere, the user name is locked too; other names are not.
        assert_eq!(t.locked(ip(2), Some("tool")), Some(Lockout::User));
        assert_eq!(t.locked(ip(2), Some("billing")), None);
    }

    #[test]
    fn a_lockout_ends_after_its_time_and_a_success_clears_the_address() {
        let t = AuthThrottle::new(2, Duration::from_millis(50));
        t.failed(ip(1), "a");
        t.failed(ip(1), "b");
        assert_eq!(t.locked(ip(1), None), Some(Lockout::Client));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(t.locked(ip(1), Some("a")), None);
        t.failed(ip(3), "c");
        t.succeeded(ip(3));
        assert_eq!(t.failed(ip(3), "d").0, Duration::from_millis(250));
    }

    #[tokio::test]
    async fn attempts_sent_at_once_take_turns_and_are_all_counted() {
        let t = std::sync::Arc::new(AuthThrottle::new(3, Duration::from_secs(60)));
        let checked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (t, checked) = (t.clone(), checked.clone());
                tokio::spawn(async move {
                    let _turn = t.turn(ip(9), "tool").await;
                    if t.locked(ip(9), Some("tool")).is_none() {
                        checked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        t.failed(ip(9), "tool");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(checked.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn the_delay_stops_growing() {
        let t = AuthThrottle::new(100, Duration::from_secs(60));
        let mut last = Duration::ZERO;
        for _ in 0..20 {
            last = t.failed(ip(1), "x").0;
        }
        assert_eq!(last, MAX_DELAY);
    }
}
