//! Ownership locks: one voice per prospect. A relayed message locks the contact (and, if
//! configured, its account) to the sender's owner for a while; another owner's RCPT is then
//! refused or warned, depending on the mode.
//!
//! Claims are taken atomically at RCPT: checking the stored lock and reserving the contact
//! happen under one mutex, so of two owners racing for a new contact exactly one wins. A claim
//! becomes a stored lock only when its message was relayed; a claim whose transaction fails
//! (or whose session ends) is released when it is dropped.

use std::collections::HashSet;
use std::sync::Arc;
#[cfg(test)]
use std::sync::Mutex;
use std::time::Duration;

use crate::address::{Address, Target};
pub use crate::claims::Claim;
use crate::claims::Registry;
use crate::config::{Config, LockMode};
use crate::model::{Lock, LockKind, Timestamp};
use crate::policy::{Sender, SenderPattern};
use crate::store::{account_lock_key, contact_lock_key, LockView, Store, StoreError};

/// Who an owner is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerId {
    /// The owner's name (configured, or the sender's mailbox).
    pub name: String,
    /// The owner's team, if configured.
    pub team: Option<String>,
}

/// The lock settings in force (reloaded with the config).
#[derive(Debug, Clone)]
pub struct LockSettings {
    contact: LockMode,
    account: LockMode,
    ttl: Duration,
    free_mail: HashSet<String>,
    owners: Vec<(OwnerId, Vec<SenderPattern>)>,
}

impl LockSettings {
    /// How locks of `kind` are enforced.
    pub fn mode(&self, kind: LockKind) -> LockMode {
        match kind {
            LockKind::Contact => self.contact,
            LockKind::Account => self.account,
        }
    }

    /// From `[locks]` and `[[owners]]`.
    pub fn from_config(config: &Config) -> LockSettings {
        LockSettings {
            contact: config.contact_lock_mode(),
            account: config.locks.account,
            ttl: config.locks.ttl,
            free_mail: config
                .locks
                .free_mail_domains
                .iter()
                .filter_map(|d| crate::address::normalize_domain(d.trim()).ok())
                .collect(),
            owners: config
                .owners
                .iter()
                .map(|o| {
                    (
                        OwnerId {
                            name: o.name.clone(),
                            team: o.team.clone(),
                        },
                        o.senders
                            .iter()
                            .filter_map(|s| SenderPattern::parse(s).ok())
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    /// How long a lock lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The owner a sender counts as: the first configured owner it matches, else its own
    /// mailbox. `None` for the null sender without an authenticated user (bounces).
    pub fn owner_of(&self, sender: &Sender<'_>) -> Option<OwnerId> {
        if let Some((owner, _)) = self
            .owners
            .iter()
            .find(|(_, patterns)| patterns.iter().any(|p| p.matches(sender)))
        {
            return Some(owner.clone());
        }
        let name = match (sender.address, sender.user) {
            (Some(a), _) => a.to_string(),
            (None, Some(u)) => format!("user:{u}"),
            (None, None) => return None,
        };
        Some(OwnerId { name, team: None })
    }

    /// A configured owner by name, or any other name as an owner of its own.
    pub fn owner_named(&self, name: &str) -> OwnerId {
        self.owners
            .iter()
            .find(|(o, _)| o.name == name)
            .map(|(o, _)| o.clone())
            .unwrap_or_else(|| OwnerId {
                name: name.to_string(),
                team: None,
            })
    }

    /// Whether a domain is free mail (never account-locked).
    pub fn is_free_mail(&self, domain: &str) -> bool {
        self.free_mail.contains(domain)
    }

    /// Whether any lock is taken at all.
    pub fn enabled(&self) -> bool {
        self.contact != LockMode::Off || self.account != LockMode::Off
    }
}

/// A source of time, injectable for tests that drive expiry without sleeping.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Timestamp::now)
}

/// Claims in progress, shared by every session.
pub struct LockManager {
    store: Store,
    clock: Clock,
    /// Lock key -> the claims in flight. A check reads the store before it takes the
    /// registry's mutex, so the mutex is never held across store reads; if a claim was
    /// released in between (its lock committed), it reads the store again under the mutex.
    claims: Arc<Registry>,
    /// Unit tests only: runs once between a read's two loads (the release counter and the
    /// store snapshot), to put a release exactly there.
    #[cfg(test)]
    between_counter_and_snapshot: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// What a RCPT may do as far as locks go.
pub enum LockCheck {
    /// Nobody else holds the contact or account: go ahead (the claims reserve them).
    Free(Vec<Claim>),
    /// Another owner holds it, in warn mode: go ahead, but say so.
    Warn(Vec<Claim>, Lock),
    /// Another owner holds it: refuse.
    Block(Lock),
}

/// What [`LockManager::check`] read before taking the mutex.
struct ReadLocks {
    now: Timestamp,
    /// Lock key, the lock the owner would take, and its mode.
    wanted: Vec<(String, Lock, LockMode)>,
    /// The release counter when the store was read.
    epoch: u64,
    /// What the store held under each key (expired locks left out).
    stored: Vec<Option<Lock>>,
}

impl LockManager {
    /// A manager over the store's locks.
    pub fn new(store: Store, clock: Clock) -> Arc<LockManager> {
        Arc::new(LockManager {
            store,
            clock,
            claims: Registry::new(),
            #[cfg(test)]
            between_counter_and_snapshot: Mutex::new(None),
        })
    }

    /// Now, by the manager's clock.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Checks `owner`'s right to mail `rcpt` and reserves what is free, atomically.
    pub fn check(
        self: &Arc<Self>,
        settings: &LockSettings,
        owner: &OwnerId,
        rcpt: &Address,
    ) -> Result<LockCheck, StoreError> {
        // Read outside the mutex: a session preempted mid-read must not stall every other.
        let read = self.read(settings, owner, rcpt)?;
        self.decide(owner, read)
    }

    /// The first half of [`LockManager::check`]: the locks `rcpt` touches as `owner` would
    /// take them, and what the store holds for them now (no mutex held).
    fn read(
        &self,
        settings: &LockSettings,
        owner: &OwnerId,
        rcpt: &Address,
    ) -> Result<ReadLocks, StoreError> {
        let now = self.now();
        // The counter first, the snapshot second: a claim released after this load is caught
        // by `decide`; one released before it had its lock committed before the snapshot. The
        // other order leaves a window where neither the snapshot nor the counter shows it.
        let epoch = self.claims.epoch();
        #[cfg(test)]
        if let Some(hook) = self
            .between_counter_and_snapshot
            .lock()
            .ok()
            .and_then(|mut h| h.take())
        {
            hook();
        }
        let view = self.store.lock_view()?;
        let wanted: Vec<(String, Lock, LockMode)> = lockable(&view, settings, rcpt)?
            .into_iter()
            .map(|(key, kind, target, mode)| {
                let lock = Lock {
                    kind,
                    target,
                    owner: owner.name.clone(),
                    team: owner.team.clone(),
                    since: now,
                    expires: now.plus(settings.ttl),
                    review: None,
                };
                (key, lock, mode)
            })
            .collect();
        let stored = stored_locks(&view, &wanted, now)?;
        Ok(ReadLocks {
            now,
            wanted,
            epoch,
            stored,
        })
    }

    /// The second half of [`LockManager::check`], under the mutex: decides against the stored
    /// locks and the claims in flight, and reserves what is free.
    fn decide(self: &Arc<Self>, owner: &OwnerId, read: ReadLocks) -> Result<LockCheck, StoreError> {
        let ReadLocks {
            now,
            wanted,
            epoch,
            mut stored,
        } = read;
        let mut claiming = self.claims.claiming();
        if claiming.released_since(epoch) {
            // A claim was released since the read: its lock is in the store now; read again.
            stored = stored_locks(&self.store.lock_view()?, &wanted, now)?;
        }
        let mut claims = Vec::with_capacity(wanted.len());
        let mut warning = None;
        for ((key, mine, mode), held) in wanted.into_iter().zip(stored) {
            let holder = match (&held, claiming.pending(&key)) {
                (Some(lock), _) => Some(lock.clone()),
                (None, Some(other)) if other.owner != owner.name && other.until > now => {
                    Some(Lock {
                        owner: other.owner.clone(),
                        team: None,
                        ..mine.clone()
                    })
                }
                _ => None,
            };
            match holder {
                Some(lock) if lock.owner != owner.name => {
                    if lock.review.is_some() || mode == LockMode::Block {
                        // Claims taken so far are released as `claims` drops.
                        drop(claiming);
                        drop(claims);
                        return Ok(LockCheck::Block(lock));
                    }
                    warning.get_or_insert(lock);
                }
                _ => claims.push(claiming.claim(key, mine)),
            }
        }
        drop(claiming);
        Ok(match warning {
            Some(lock) => LockCheck::Warn(claims, lock),
            None => LockCheck::Free(claims),
        })
    }
}

/// The unexpired locks stored under the wanted keys, in their order.
fn stored_locks(
    view: &LockView,
    wanted: &[(String, Lock, LockMode)],
    now: Timestamp,
) -> Result<Vec<Option<Lock>>, StoreError> {
    wanted
        .iter()
        .map(|(key, _, _)| Ok(view.lock(key)?.filter(|l| l.expires > now)))
        .collect()
}

/// The locks a RCPT to `rcpt` touches, with their modes: the contact's (unless contact locks
/// are off) and its account's (unless account locks are off or the domain is free mail).
fn lockable(
    view: &LockView,
    settings: &LockSettings,
    rcpt: &Address,
) -> Result<Vec<(String, LockKind, String, LockMode)>, StoreError> {
    let mut out = Vec::with_capacity(2);
    if settings.contact != LockMode::Off {
        out.push((
            contact_lock_key(&Target::Address(rcpt.clone()).match_key()).into(),
            LockKind::Contact,
            rcpt.to_string(),
            settings.contact,
        ));
    }
    if settings.account != LockMode::Off && !settings.free_mail.contains(rcpt.domain()) {
        let account = account_for(view, rcpt.domain())?;
        out.push((
            account_lock_key(&account).into(),
            LockKind::Account,
            format!("@{account}"),
            settings.account,
        ));
    }
    Ok(out)
}

/// Another owner's lock that `owner` would meet at RCPT to `rcpt` now, judged by the stored
/// locks alone (nothing is reserved): for `check --from` and `scrub --from`. `true` when it
/// refuses (block mode, or under review), `false` when it only warns.
pub fn standing(
    store: &Store,
    settings: &LockSettings,
    owner: &OwnerId,
    rcpt: &Address,
    now: Timestamp,
) -> Result<Option<(Lock, bool)>, StoreError> {
    let mut warning = None;
    let view = store.lock_view()?;
    for (key, _, _, mode) in lockable(&view, settings, rcpt)? {
        let Some(lock) = view.lock(&key)?.filter(|l| l.expires > now) else {
            continue;
        };
        if lock.owner == owner.name {
            continue;
        }
        if lock.review.is_some() || mode == LockMode::Block {
            return Ok(Some((lock, true)));
        }
        warning.get_or_insert((lock, false));
    }
    Ok(warning)
}

/// The account of a domain: the group it (or a parent domain) was put in, else the domain.
pub fn account_for(view: &LockView, domain: &str) -> Result<String, StoreError> {
    let mut d = domain;
    loop {
        if let Some(account) = view.account_of(d)? {
            return Ok(account);
        }
        match d.split_once('.') {
            Some((_, parent)) if parent.contains('.') => d = parent,
            _ => return Ok(domain.to_string()),
        }
    }
}

/// How a lock reads in a refusal or warning: `contact pat@x owned by sam (emea-sales) until T`.
pub fn describe(lock: &Lock) -> String {
    let what = match lock.kind {
        LockKind::Contact => format!("contact {}", lock.target),
        LockKind::Account => format!("account {}", lock.target.trim_start_matches('@')),
    };
    let team = lock
        .team
        .as_deref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    match &lock.review {
        Some(_) => format!(
            "{what} is under review; only its owner {}{team} may send until a decision",
            lock.owner
        ),
        None => format!(
            "{what} is owned by {}{team} until {}",
            lock.owner, lock.expires
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn owner(name: &str) -> OwnerId {
        OwnerId {
            name: name.into(),
            team: None,
        }
    }

    /// Sam holds a fresh claim on pat@northwind.example (nothing stored yet); Priya is next.
    struct Race {
        _dir: tempfile::TempDir,
        store: Store,
        manager: Arc<LockManager>,
        settings: LockSettings,
        pat: Address,
    }

    impl Race {
        async fn start() -> (Race, Vec<Claim>) {
            let dir = tempfile::tempdir().expect("temp dir");
            let store =
                Store::open(&dir.path().join("dnc.redb"), &StoreOptions::default()).expect("store");
            let manager = LockManager::new(store.clone(), system_clock());
            let mut config = Config::default();
            config.locks.contact = Some(crate::config::LockMode::Block);
            let settings = LockSettings::from_config(&config);
            let pat = Address::parse("pat@northwind.example").expect("address");
            let LockCheck::Free(sams) = manager
                .check(&settings, &owner("sam"), &pat)
                .expect("check")
            else {
                panic!("the contact is free")
            };
            let race = Race {
                _dir: dir,
                store,
                manager,
                settings,
                pat,
            };
            (race, sams)
        }

        fn priyas_read(&self) -> ReadLocks {
            self.manager
                .read(&self.settings, &owner("priya"), &self.pat)
                .expect("read")
        }

        /// Priya's decision on `read` must find Sam's lock, then the store closes.
        async fn priya_is_blocked(self, read: ReadLocks) {
            match self.manager.decide(&owner("priya"), read).expect("decide") {
                LockCheck::Block(lock) => assert_eq!(lock.owner, "sam"),
                LockCheck::Free(_) | LockCheck::Warn(..) => panic!("priya slipped in"),
            }
            drop(self.manager);
            self.store.close().await.expect("close");
        }
    }

    /// Sam's message commits: his lock is stored, then his claims are released.
    async fn commit(store: &Store, sams: Vec<Claim>) {
        let locks = sams.iter().map(|c| c.to_store(Timestamp::now())).collect();
        store
            .record_relayed(Vec::new(), locks, sams)
            .await
            .expect("record");
        store.settle().await.expect("settle");
    }

    /// The window the release counter closes: Priya reads the store before Sam's lock is in
    /// it, Sam's lock is stored and his claim released, then Priya decides. Without a second
    /// read she would find neither a stored lock nor a claim and take the contact too.
    #[tokio::test]
    async fn a_release_between_read_and_decide_is_seen() {
        let (race, sams) = Race::start().await;
        let priyas_read = race.priyas_read();
        assert!(priyas_read.stored.iter().all(Option::is_none));
        commit(&race.store, sams).await;
        race.priya_is_blocked(priyas_read).await;
    }

    /// The other window: Sam's lock is stored and his claim released between the two loads
    /// of Priya's read. The counter must be loaded before the snapshot is taken; taken the
    /// other way round, neither shows the release and Priya takes the contact too.
    #[tokio::test]
    async fn a_release_between_the_counter_and_the_snapshot_is_seen() {
        let (race, sams) = Race::start().await;
        let store = race.store.clone();
        let hook: Box<dyn FnOnce() + Send> = Box::new(move || {
            // `read` is synchronous: commit from a thread with its own runtime, and wait.
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(commit(&store, sams));
            })
            .join()
            .expect("commit thread");
        });
        *race
            .manager
            .between_counter_and_snapshot
            .lock()
            .expect("hook") = Some(hook);
        let priyas_read = race.priyas_read();
        race.priya_is_blocked(priyas_read).await;
    }
}
