//! A subcontractor's relay following a company's hashed feed (`[replica] feed`).
//!
//! The follower pulls `GET /feed?since=APPLIED` with its bearer token, applies each page in
//! one transaction (`Store::apply_feed`), and asks again at once while pages follow; once it
//! holds everything, it asks the company relay to hold the next pull until something changes
//! (a long poll), so that an opt-out reaches it within a second. RCPT probes the recipient's
//! match keys hashed with the feed's salt (`Store::find_feed`): the follower never holds or
//! sees an address of the company's list.
//!
//! Fail closed: until the first complete pull, and whenever the last one is older than
//! `[replica] max_lag`, recipients get `451 4.3.0` (the same gate as a fleet relay's). A
//! changed salt, or a company list behind the follower (restored from a backup), makes the
//! follower start again from 0 with the gate closed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::Gate;
use crate::config::ReplicaConfig;
use crate::http::client::Endpoint;
use crate::model::feed::{FollowState, Page, SCHEME};
use crate::smtp::{Phase, PhaseWatch};
use crate::store::{FeedApplying, Store};

/// The largest page a follower reads.
const MAX_PAGE: usize = 64 * 1024 * 1024;

/// The longest a follower waits before asking again after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Whether `url` may be a feed's address: `https://`, or `http://` on a loopback address
/// only (the token would cross a network in clear), with a path and no query.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("'{url}' has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") => {
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(format!(
                    "'{url}': plain http only on a loopback address (the token would cross the network in clear); use https"
                ));
            }
        }
        _ => return Err(format!("'{url}' is not an http(s) URL")),
    }
    if uri.query().is_some() {
        return Err(format!(
            "'{url}' has a query; give the feed's path alone (…/feed)"
        ));
    }
    Ok(())
}

/// A relay's follower of its company's feed.
pub struct Follower {
    endpoint: Endpoint,
    /// Where the token is read from, before each pull (a new token needs no restart).
    token_file: std::path::PathBuf,
    /// The token last read.
    token: std::sync::Mutex<String>,
    /// Why the last pull failed, and when (cleared by the next that succeeds).
    last_error: std::sync::Mutex<Option<(crate::model::Timestamp, String)>>,
    /// Whether the relay may decide: current with the feed within `max_lag`.
    pub gate: Arc<Gate>,
    store: Store,
    max_lag: Duration,
    /// This relay's `+tag` separator (`[policy] tag_separator`): the company's must be the same.
    tag_separator: String,
    /// The feed's address (shown in status and logs; it holds no secret).
    pub url: String,
}

/// Where a follower stands, for `feed status`, `/metrics` and `/healthz`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FollowStatus {
    /// The feed's address.
    pub url: String,
    /// Whether recipients are decided (current within `max_lag`).
    pub current: bool,
    /// Why not, when not.
    pub not_current: Option<String>,
    /// Why the last pull failed, and when (none once one succeeds again).
    pub last_error: Option<(crate::model::Timestamp, String)>,
    /// Seconds since the follower last held everything the feed had (`None`: not since it
    /// started).
    pub lag_seconds: Option<f64>,
    /// The store's record of the feed.
    pub state: Option<FollowState>,
}

impl Follower {
    /// From `[replica]`: the endpoint with the token read from `token_file`.
    pub fn from_config(
        config: &ReplicaConfig,
        tag_separator: Option<char>,
        store: Store,
    ) -> Result<Follower, String> {
        check_url(&config.feed).map_err(|e| format!("replica.feed: {e}"))?;
        let token = crate::token::read_secret("replica.token_file", &config.token_file)?;
        warn_if_readable(&config.token_file);
        let endpoint = Endpoint::new(
            &config.feed,
            Some(token.clone()),
            config.ca_file.as_deref(),
            "replica.ca_file",
        )
        .map_err(|e| format!("replica.feed: {e}"))?;
        Ok(Follower {
            endpoint,
            token_file: config.token_file.clone(),
            token: std::sync::Mutex::new(token),
            last_error: std::sync::Mutex::new(None),
            gate: Arc::new(Gate::for_feed(config.max_lag)),
            store,
            max_lag: config.max_lag,
            tag_separator: tag_separator.map(String::from).unwrap_or_default(),
            url: config.feed.clone(),
        })
    }

    /// Where it stands now.
    pub fn status(&self) -> Result<FollowStatus, crate::store::StoreError> {
        let mut state = self.store.feed_state()?;
        if let Some(s) = &mut state {
            // The salt is the company's: not shown to whoever may read the status.
            s.salt.clear();
        }
        let current = self.gate.check();
        Ok(FollowStatus {
            url: self.url.clone(),
            current: current.is_ok(),
            not_current: current.err(),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            lag_seconds: self.gate.lag().map(|l| l.as_secs_f64()),
            state,
        })
    }

    /// Follows the feed until the relay stops.
    pub async fn run(self: Arc<Self>, mut phase: PhaseWatch) {
        self.resume();
        let mut backoff = Duration::from_secs(1);
        let mut reset = false;
        loop {
            if *phase.borrow() != Phase::Running {
                return;
            }
            let pulled = tokio::select! {
                pulled = self.pull_once(reset) => pulled,
                _ = phase.wait_for(|p| *p != Phase::Running) => return,
            };
            match pulled {
                Ok(Pulled::Applied { more }) => {
                    reset = false;
                    backoff = Duration::from_secs(1);
                    self.note_error(None);
                    if !more && self.wait_secs() == 0 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
                Ok(Pulled::StartAgain(why)) => {
                    tracing::warn!(feed = self.url.as_str(), why, "starting the hashed feed again from 0; recipients get 451 4.3.0 until it is whole");
                    self.gate.reset();
                    // Kept: a restart before the new copy is whole must not trust the old one.
                    if let Err(e) = self.store.distrust_feed().await {
                        tracing::error!(error = %e, "cannot record that the feed's copy is not to be trusted");
                    }
                    reset = true;
                }
                Err(why) => {
                    self.note_error(Some(why.clone()));
                    tracing::error!(
                        feed = self.url.as_str(),
                        error = why.as_str(),
                        retry_in_s = backoff.as_secs(),
                        "cannot pull the hashed feed"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = phase.wait_for(|p| *p != Phase::Running) => return,
                    }
                    // Never so long that a short outage outlasts max_lag by much.
                    let cap = (self.max_lag / 4).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    backoff = (backoff * 2).min(cap);
                }
            }
            self.watch();
        }
    }

    /// A follower that held the whole feed within `max_lag` before a restart is current at
    /// once (its store says when).
    fn resume(&self) {
        let Ok(Some(state)) = self.store.feed_state() else {
            return;
        };
        let Some(at) = state.caught_up_at else {
            return;
        };
        let age = crate::model::Timestamp::now().0.saturating_sub(at.0);
        if age < 0 {
            // Recorded in the future: the clock moved back; the copy's age is unknown.
            return;
        }
        let age = Duration::from_micros(age as u64);
        if age < self.max_lag {
            self.gate.confirm_age(age);
        }
    }

    /// Notes why pulls fail (the time of the first failure of a run is kept), or that they
    /// succeed again.
    fn note_error(&self, why: Option<String>) {
        if let Ok(mut e) = self.last_error.lock() {
            let since = e.as_ref().map(|(at, _)| *at);
            *e = why.map(|w| (since.unwrap_or_else(crate::model::Timestamp::now), w));
        }
    }

    /// The token to pull with: `token_file` read again (a token replaced there is used at
    /// once), else the one last read.
    async fn token(&self) -> String {
        let path = self.token_file.clone();
        let read = tokio::task::spawn_blocking(move || {
            crate::token::read_secret("replica.token_file", &path)
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        let Ok(mut held) = self.token.lock() else {
            return String::new();
        };
        match read {
            Ok(t) if t != *held => {
                tracing::info!(
                    feed = self.url.as_str(),
                    "the feed token in replica.token_file changed: using the new one"
                );
                *held = t;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = e.as_str(),
                "cannot read the feed token again; using the last one read"
            ),
        }
        held.clone()
    }

    /// Logs when the lag crosses `max_lag`, either way.
    fn watch(&self) {
        match self.gate.crossing() {
            Some(Err(why)) => tracing::error!(
                feed = self.url.as_str(),
                why = why.as_str(),
                "BEHIND THE HASHED FEED: new recipients get 451 4.3.0 until this relay is current again"
            ),
            Some(Ok(())) => tracing::info!(
                feed = self.url.as_str(),
                "current with the hashed feed; recipients are decided again"
            ),
            None => {}
        }
    }

    /// How long a current follower asks the company relay to hold a pull.
    fn wait_secs(&self) -> u64 {
        (self.max_lag / 3)
            .min(crate::http::feed::MAX_WAIT)
            .as_secs()
    }

    /// One pull, applied.
    async fn pull_once(&self, reset: bool) -> Result<Pulled, String> {
        let store = self.store.clone();
        let state = tokio::task::spawn_blocking(move || store.feed_state())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let reset = reset || state.is_none();
        let since = match (&state, reset) {
            (Some(s), false) => s.applied,
            _ => 0,
        };
        // Hold the pull only when this relay holds everything it was last told of.
        let wait = match &state {
            Some(s) if !reset && s.applied >= s.head => self.wait_secs(),
            _ => 0,
        };
        // The time of the event at `since`, said back: a list restored from an older backup
        // answers 409 instead of positions written anew.
        let at = match (&state, reset) {
            (Some(s), false) => s.applied_at.map(|t| format!("&at={}", t.0)),
            _ => None,
        };
        let path = format!(
            "{}?since={since}&wait={wait}{}",
            self.endpoint.path(),
            at.unwrap_or_default()
        );
        let timeout = Duration::from_secs(wait + 30);
        let asked = Instant::now();
        let endpoint = self.endpoint.with_token(self.token().await);
        let asked_at = crate::model::Timestamp::now();
        let answer = endpoint.get(&path, MAX_PAGE, timeout).await?;
        let page = match read_page(answer, since)? {
            Ok(page) => page,
            Err(again) => return Ok(again),
        };
        if !reset && state.as_ref().is_some_and(|s| s.salt != page.salt) {
            return Ok(Pulled::StartAgain("the feed's salt changed"));
        }
        check_page(&page)?;
        if page.tag_separator != self.tag_separator {
            // A tagged spelling the company refuses would pass here: never current.
            return Err(format!(
                "the company's relay strips +tags at {:?} and this relay at {:?}: set [policy] tag_separator = {:?} here; until then recipients get 451",
                page.tag_separator, self.tag_separator, page.tag_separator
            ));
        }
        let more = page.more;
        let changes = page.changes.len();
        let next = page.next;
        self.store
            .apply_feed(FeedApplying {
                page,
                reset,
                asked_at,
            })
            .await
            .map_err(|e| format!("cannot apply the feed's page: {e}"))?;
        if changes > 0 {
            tracing::info!(
                feed = self.url.as_str(),
                changes,
                next,
                "hashed feed applied"
            );
        }
        if !more {
            // Current as of the question: the answer may have waited, and travelled.
            self.gate.confirm(asked);
        }
        Ok(Pulled::Applied { more })
    }
}

/// The page an answer holds, or that the follower must start again (`409`), or why it
/// cannot be used.
fn read_page(
    answer: crate::http::client::Answer,
    since: u64,
) -> Result<Result<Page, Pulled>, String> {
    match answer.status {
        200 => {}
        409 => {
            return Ok(Err(Pulled::StartAgain(
                "the company's list is behind this relay (restored from a backup?)",
            )))
        }
        401 | 403 => {
            return Err(format!(
                "the token was refused ({}): {}",
                answer.status,
                String::from_utf8_lossy(&answer.body).trim()
            ))
        }
        status => {
            let said = &answer.body[..answer.body.len().min(300)];
            let said = String::from_utf8_lossy(said);
            return Err(format!("the feed answered {status}: {}", said.trim()));
        }
    }
    let page: Page = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("the feed's answer is not a page: {e}"))?;
    if page.scheme != SCHEME {
        return Err(format!(
            "the feed hashes with {:?}, this relay with {SCHEME:?}",
            page.scheme
        ));
    }
    if page.since != since || page.next < since || page.head < page.next {
        return Err(format!(
            "the feed answered positions {}..{} (head {}) to a pull since {since}",
            page.since, page.next, page.head
        ));
    }
    Ok(Ok(page))
}

/// Warns when the token file may be read by others than its owner.
fn warn_if_readable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "replica.token_file may be read by others: chmod 600 it (the token gives the company's hashed list)");
        }
    }
}

/// Refuses a page that could not be applied whole (before anything of it is written).
fn check_page(page: &Page) -> Result<(), String> {
    crate::hashing::Salt::from_hex(&page.salt).map_err(|e| format!("the feed's salt: {e}"))?;
    for c in &page.changes {
        if !crate::hashing::is_hashed(&c.key) || c.key.len() != crate::hashing::PREFIX.len() + 64 {
            return Err(format!(
                "the feed sent a key that is not a hash ({} characters); nothing applied",
                c.key.len()
            ));
        }
        if c.op == crate::model::feed::Op::Block && c.reason.is_none() {
            return Err("the feed sent a block without a reason; nothing applied".into());
        }
    }
    Ok(())
}

/// What one pull did.
enum Pulled {
    /// A page was applied; `more` pages follow at once.
    Applied { more: bool },
    /// The follower must start again from 0 (why).
    StartAgain(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_crosses_a_network_in_clear() {
        assert!(check_url("https://dnc.example.com/feed").is_ok());
        assert!(check_url("http://127.0.0.1:8080/feed").is_ok());
        assert!(check_url("http://[::1]:8080/feed").is_ok());
        assert!(check_url("http://localhost/feed").is_ok());
        assert!(check_url("http://dnc.example.com/feed").is_err());
        assert!(check_url("http://10.0.0.1/feed").is_err());
        assert!(check_url("ftp://dnc.example.com/feed").is_err());
        assert!(check_url("https://dnc.example.com/feed?since=3").is_err());
        assert!(check_url("not a url").is_err());
    }
}
