//! Console sign-in: accounts from `[[console.users]]` (argon2), sessions held in memory
//! (a random id in an `HttpOnly`, `SameSite=Strict` cookie, `Secure` over TLS) that end after
//! `idle_timeout` without use, a CSRF token per session checked on every form, and login
//! throttling per user name and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::access::DECOY_HASH;
use crate::config::ConsoleConfig;
use crate::model::{Actor, Role};

/// Sessions open at once, at most (the oldest idle ones go first).
const MAX_SESSIONS: usize = 10_000;

/// Password checks running at once, at most: each takes argon2's 19 MiB and a core for a
/// moment, so a flood of logins is told to wait instead of exhausting the relay.
const MAX_VERIFYING: usize = 2;

/// Longest user name looked at.
const MAX_NAME: usize = 128;

/// One signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The console user's name.
    pub user: String,
    /// Its role.
    pub role: Role,
    /// The token every form of this session carries.
    pub csrf: String,
    last_seen: Instant,
}

impl Session {
    /// The actor the console acts as for this user: `console:NAME`, with the user's role.
    pub fn actor(&self) -> Actor {
        Actor {
            user: format!("console:{}", self.user),
            uid: None,
            role: Some(self.role),
        }
    }
}

/// Accounts, sessions and the login throttle.
pub struct Auth {
    /// Name -> (argon2 hash, role); replaced on reload.
    users: std::sync::RwLock<HashMap<String, (String, Role)>>,
    idle: Duration,
    max_failures: u32,
    lockout: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    verifying: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Why a login was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    /// Wrong name or password (the same answer for both).
    Wrong,
    /// Too many failures for this name or address: try again after this long.
    Throttled(Duration),
    /// Too many logins being checked at once, or no randomness for a session: try again.
    Busy,
}

impl Auth {
    /// From `[console]`.
    pub fn from_config(config: &ConsoleConfig) -> Auth {
        Auth {
            users: std::sync::RwLock::new(accounts(config)),
            idle: config.idle_timeout,
            max_failures: config.max_login_failures,
            lockout: config.login_lockout,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            verifying: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_VERIFYING)),
        }
    }

    /// Checks a name and password (argon2 on a blocking thread, throttled); the new session's
    /// id and the session.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<(String, Session), LoginRefused> {
        let known = self
            .users
            .read()
            .ok()
            .and_then(|u| u.get(name).cloned())
            .filter(|_| name.len() <= MAX_NAME);
        // A name that is no account is not counted under its own key (an attacker's
        // invented names would fill memory); its address is.
        let mut keys = vec![format!("ip:{client}")];
        if known.is_some() {
            keys.push(format!("user:{name}"));
        }
        if let Some(wait) = self.throttled(&keys) {
            return Err(LoginRefused::Throttled(wait));
        }
        let Ok(_permit) = self.verifying.clone().try_acquire_owned() else {
            return Err(LoginRefused::Busy);
        };
        // Counted before the check, taken back on success: parallel guesses all count.
        self.fail(&keys);
        let (hash, role) = match known {
            Some((hash, role)) => (hash, Some(role)),
            None => (DECOY_HASH.to_string(), None),
        };
        let password = password.as_bytes().to_vec();
        let ok = tokio::task::spawn_blocking(move || crate::access::verify_hash(&hash, &password))
            .await
            .unwrap_or(false);
        let Some(role) = role.filter(|_| ok) else {
            return Err(LoginRefused::Wrong);
        };
        self.succeeded(&keys);
        let (Some(csrf), Some(id)) = (random_token(), random_token()) else {
            return Err(LoginRefused::Busy);
        };
        let session = Session {
            user: name.to_string(),
            role,
            csrf,
            last_seen: Instant::now(),
        };
        if let Ok(mut sessions) = self.sessions.lock() {
            let idle = self.idle;
            sessions.retain(|_, s| s.last_seen.elapsed() < idle);
            if sessions.len() >= MAX_SESSIONS {
                if let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone())
                {
                    sessions.remove(&oldest);
                }
            }
            sessions.insert(id.clone(), session.clone());
        }
        Ok((id, session))
    }

    /// The session with this id, if it is open and was used within `idle_timeout`; using it
    /// keeps it open.
    pub fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = self.sessions.lock().ok()?;
        let fresh = sessions
            .get(id)
            .is_some_and(|s| s.last_seen.elapsed() < self.idle);
        if !fresh {
            sessions.remove(id);
            return None;
        }
        let s = sessions.get_mut(id)?;
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    /// Puts new accounts in force (SIGHUP): the sessions of a user removed, given another
    /// role or another password end at once.
    pub fn reload(&self, config: &ConsoleConfig) {
        let new = accounts(config);
        if let (Ok(mut users), Ok(mut sessions)) = (self.users.write(), self.sessions.lock()) {
            sessions
                .retain(|_, s| new.get(&s.user) == users.get(&s.user) && new.contains_key(&s.user));
            *users = new;
        }
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }

    fn throttled(&self, keys: &[String]) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|k| failures.get(k))
            .filter(|(n, last)| *n >= self.max_failures && last.elapsed() < self.lockout)
            .map(|(_, last)| self.lockout.saturating_sub(last.elapsed()))
            .max()
    }

    /// Takes back the failure counted before a check that succeeded; the name's count starts
    /// again.
    fn succeeded(&self, keys: &[String]) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        for k in keys {
            if k.starts_with("user:") {
                failures.remove(k);
            } else if let Some(entry) = failures.get_mut(k) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }

    fn fail(&self, keys: &[String]) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() > 100_000 {
            let lockout = self.lockout;
            failures.retain(|_, (_, last)| last.elapsed() < lockout);
        }
        for k in keys {
            let entry = failures.entry(k.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= self.lockout {
                entry.0 = 0;
            }
            entry.0 += 1;
            entry.1 = Instant::now();
        }
    }
}

fn accounts(config: &ConsoleConfig) -> HashMap<String, (String, Role)> {
    config
        .users
        .iter()
        .map(|u| (u.name.clone(), (u.password_hash.clone(), u.role)))
        .collect()
}

/// 128 random bits from the OS, hex; `None` when the OS gives none (no session is made
/// from a guessable token).
pub fn random_token() -> Option<String> {
    crate::token::os_random::<16>().map(hex::encode)
}

pub use crate::token::same_token;

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ConsoleConfig {
        let hash = crate::access::hash_password(b"right").unwrap();
        ConsoleConfig {
            users: vec![crate::config::ConsoleUser {
                name: "ann".into(),
                password_hash: hash,
                role: Role::Ops,
            }],
            idle_timeout: Duration::from_secs(60),
            max_login_failures: 3,
            login_lockout: Duration::from_secs(60),
        }
    }

    fn auth() -> Auth {
        Auth::from_config(&config())
    }

    #[tokio::test]
    async fn a_reload_ends_the_sessions_of_a_user_given_another_role() {
        let mut c = config();
        let a = Auth::from_config(&c);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (id, _) = a.login("ann", "right", ip).await.unwrap();
        a.reload(&c);
        assert!(a.session(&id).is_some(), "unchanged: the session goes on");
        c.users[0].role = Role::Sdr;
        a.reload(&c);
        assert!(a.session(&id).is_none(), "demoted: the session ends");
        let (_, s) = a.login("ann", "right", ip).await.unwrap();
        assert_eq!(s.role, Role::Sdr);
    }

    #[tokio::test]
    async fn a_name_is_locked_out_after_its_failures_even_with_the_right_password() {
        let a = auth();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (id, s) = a.login("ann", "right", ip).await.unwrap();
        assert_eq!(a.session(&id).unwrap().user, s.user);
        for _ in 0..3 {
            assert_eq!(
                a.login("ann", "wrong", ip).await.unwrap_err(),
                LoginRefused::Wrong
            );
        }
        assert!(matches!(
            a.login("ann", "right", "192.0.2.9".parse().unwrap()).await,
            Err(LoginRefused::Throttled(_))
        ));
        assert_eq!(
            a.login("nobody", "right", "192.0.2.7".parse().unwrap())
                .await
                .unwrap_err(),
            LoginRefused::Wrong
        );
        a.logout(&id);
        assert!(a.session(&id).is_none());
        assert!(same_token("abc", "abc") && !same_token("abc", "abd"));
    }
}
