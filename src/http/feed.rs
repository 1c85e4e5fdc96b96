//! The hashed feed for subcontractors, on the public face: `GET /feed?since=SEQ[&wait=S]`
//! with `Authorization: Bearer TOKEN`.
//!
//! A page carries the list's changes after position `since` as salted SHA-256 hashes of the
//! match keys, with reasons, scopes and dates: never an address, a domain, a phone number, a
//! name or evidence. The salt comes with it, so that the subscriber can hash its own
//! recipients and compare. A subscriber that is current may ask to `wait` (at most
//! [`MAX_WAIT`]) for the next change: a change reaches it within a second. Every pull is
//! recorded (who, from where, which positions, how many changes) before it is answered, and
//! logged; a revoked token gets `403`, an unknown one `401`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::hashing::Salt;
use crate::model::feed::Pull;
use crate::model::Timestamp;
use crate::store::Store;

/// The longest a pull waits for a change.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// Keys at most per page (a first pull of a large list comes in pages, asked at once).
const PAGE_KEYS: usize = 5_000;

/// How often a waiting pull looks for a change.
const WAIT_STEP: Duration = Duration::from_millis(200);

/// Refused pulls (no or an unknown token) logged at most every few seconds.
static REFUSED: crate::panics::Throttle = crate::panics::Throttle::new(10);

/// What the handler needs.
struct Feed {
    store: Store,
    salt: Arc<Salt>,
    /// A fleet relay: it serves only while current with the fleet's log.
    cluster: Option<Arc<crate::cluster::Cluster>>,
    /// The `+tag` separator matching uses now (reloadable), said in every page.
    tag_separator: TagSeparator,
    /// Pulls in progress, by subscriber and client address (one at a time each: a
    /// subcontractor's relays may share a token).
    busy: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The query of a pull.
#[derive(Debug, Default, PartialEq)]
struct PullQuery {
    /// The position the subscriber holds (0: from the start).
    since: u64,
    /// Seconds to wait for a change when there is none yet.
    wait: u64,
    /// When the event at `since` was written, as the subscriber was told (microseconds).
    at: Option<i64>,
}

impl PullQuery {
    /// `since=N&wait=S&at=T`, each optional; anything else is refused.
    fn parse(query: Option<&str>) -> Option<PullQuery> {
        let mut q = PullQuery::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=')?;
            match name {
                "since" => q.since = value.parse().ok()?,
                "wait" => q.wait = value.parse().ok()?,
                "at" => q.at = Some(value.parse().ok()?),
                _ => return None,
            }
        }
        Some(q)
    }
}

/// The `+tag` separator in force, read at each pull.
pub type TagSeparator = Arc<dyn Fn() -> Option<char> + Send + Sync>;

/// The feed's routes, to be merged into the public face.
pub fn router(
    store: Store,
    salt: Arc<Salt>,
    cluster: Option<Arc<crate::cluster::Cluster>>,
    tag_separator: TagSeparator,
) -> Router {
    let feed = Feed {
        store,
        salt,
        cluster,
        tag_separator,
        busy: std::sync::Mutex::new(std::collections::HashSet::new()),
    };
    Router::new()
        .route("/feed", get(pull))
        .with_state(Arc::new(feed))
}

/// The SHA-256 (hex) of a token: what the store keeps.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token: `dncf_` and 32 random bytes in hex.
pub fn new_token() -> Option<String> {
    crate::token::os_random::<32>().map(|b| format!("dncf_{}", hex::encode(b)))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn answer(status: StatusCode, text: &str) -> Response {
    let mut r = (status, format!("{text}\n")).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dnc-relay feed\""),
        );
    }
    r
}

/// Where a pull came from: the client, and what a proxy in front says it forwarded for.
fn peer(client: SocketAddr, headers: &HeaderMap) -> String {
    // Said only by a proxy on this host or a private network, and kept to address characters.
    let proxy = match client.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback() || ip.is_private(),
        std::net::IpAddr::V6(ip) => ip.is_loopback(),
    };
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .filter(|_| proxy)
        .map(|v| {
            v.chars()
                .filter(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | ',' | ' '))
                .take(200)
                .collect::<String>()
        });
    match forwarded {
        Some(f) if !f.trim().is_empty() => format!("{} (for {})", client.ip(), f.trim()),
        _ => client.ip().to_string(),
    }
}

/// The subscriber a token names, if it is active; else the answer that refuses it.
async fn subscriber(
    feed: &Feed,
    token: &str,
    client: SocketAddr,
) -> Result<crate::model::feed::Subscriber, Response> {
    let hashed = token_sha256(token);
    let store = feed.store.clone();
    let found = tokio::task::spawn_blocking(move || store.feed_subscriber_by_token(&hashed)).await;
    match found {
        Ok(Ok(Some(s))) => match &s.revoked {
            Some(r) => {
                tracing::warn!(%client, subscriber = s.name.as_str(), outcome = "revoked", "feed pull refused");
                Err(answer(
                    StatusCode::FORBIDDEN,
                    &format!("this token was revoked {}", r.at),
                ))
            }
            None => Ok(s),
        },
        Ok(Ok(None)) => {
            if let Some(held) = REFUSED.should_log() {
                tracing::warn!(%client, outcome = "unknown token", held_back = held, "feed pull refused");
            }
            Err(answer(StatusCode::UNAUTHORIZED, "unknown token"))
        }
        Ok(Err(e)) => Err(unavailable(&e.to_string())),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

/// A pull in progress; the mark goes when it ends, page building included (a client that
/// hangs up and asks again cannot start builds in parallel).
struct InProgress {
    feed: Arc<Feed>,
    key: String,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut busy = match self.feed.busy.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        busy.remove(&self.key);
    }
}

/// `GET /feed`.
async fn pull(
    State(feed): State<Arc<Feed>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if method != axum::http::Method::GET {
        // HEAD would be served and recorded as a pull that delivered nothing.
        let mut r = answer(StatusCode::METHOD_NOT_ALLOWED, "GET only");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    let Some(token) = bearer(&headers) else {
        if let Some(held) = REFUSED.should_log() {
            tracing::warn!(%client, outcome = "no token", held_back = held, "feed pull refused");
        }
        return answer(StatusCode::UNAUTHORIZED, "a bearer token is needed");
    };
    let subscriber = match subscriber(&feed, token, client).await {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let Some(q) = PullQuery::parse(query.as_deref()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "since and at must be whole numbers, wait a number of seconds; nothing else",
        );
    };
    if let Some(Err(why)) = feed.cluster.as_ref().map(|c| c.gate.check()) {
        // A fleet relay behind its log would hand out a stale list as current.
        tracing::warn!(%client, subscriber = subscriber.name.as_str(), why, "feed pull deferred");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "this relay is not current with its fleet; try again",
        );
    }
    let key = format!("{} {}", subscriber.name, client.ip());
    let fresh = match feed.busy.lock() {
        Ok(mut b) => b.insert(key.clone()),
        Err(poisoned) => poisoned.into_inner().insert(key.clone()),
    };
    if !fresh {
        return answer(
            StatusCode::TOO_MANY_REQUESTS,
            "a pull with this token from this address is in progress; one at a time",
        );
    }
    let mark = InProgress {
        feed: feed.clone(),
        key,
    };
    let from = (peer(client, &headers), client);
    serve(mark, &subscriber.name, token, from, q).await
}

async fn serve(
    mark: InProgress,
    name: &str,
    token: &str,
    (peer, client): (String, SocketAddr),
    q: PullQuery,
) -> Response {
    let feed = mark.feed.clone();
    let feed = feed.as_ref();
    // A restored list whose head is the subscriber's position: said at once, not after the wait.
    if q.at.is_some() && q.since > 0 {
        let store = feed.store.clone();
        let head = match tokio::task::spawn_blocking(move || store.last_event()).await {
            Ok(Ok(head)) => head,
            Ok(Err(e)) => return unavailable(&e.to_string()),
            Err(e) => return unavailable(&e.to_string()),
        };
        if let Some(refused) = behind_check(feed, name, q.since, q.at, head).await {
            return refused;
        }
    }
    let wait = Duration::from_secs(q.wait).min(MAX_WAIT);
    let head = match wait_for_change(&feed.store, q.since, wait).await {
        Ok(head) => head,
        Err(e) => return unavailable(&e),
    };
    // Revoked while it waited: nothing more is handed out.
    let name = match subscriber(feed, token, client).await {
        Ok(s) => s.name,
        Err(refused) => return refused,
    };
    if let Some(refused) = behind_check(feed, &name, q.since, q.at, head).await {
        return refused;
    }
    let (store, salt, since) = (feed.store.clone(), feed.salt.clone(), q.since);
    let built = tokio::task::spawn_blocking(move || {
        let page = store.feed_page(since, PAGE_KEYS, &salt);
        (page, mark)
    })
    .await;
    let mut page = match built {
        Ok((Ok(page), _mark)) => page,
        Ok((Err(e), _)) => return unavailable(&e.to_string()),
        Err(e) => return unavailable(&e.to_string()),
    };
    page.tag_separator = (feed.tag_separator)().map(String::from).unwrap_or_default();
    let now = Timestamp::now();
    let record = Pull {
        id: 0,
        subscriber: name.clone(),
        peer: peer.to_string(),
        first_at: now,
        last_at: now,
        count: 1,
        since: page.since,
        next: page.next,
        head: page.head,
        changes: page.changes.len() as u64,
    };
    // Nothing is handed out that is not on the record.
    if let Err(e) = feed.store.record_feed_pull(record).await {
        return unavailable(&format!("the pull cannot be recorded: {e}"));
    }
    if !page.changes.is_empty() {
        tracing::info!(
            %client,
            subscriber = name.as_str(),
            since = page.since,
            next = page.next,
            head = page.head,
            changes = page.changes.len(),
            "feed pulled"
        );
    }
    let body = match serde_json::to_vec(&page) {
        Ok(b) => b,
        Err(e) => return unavailable(&e.to_string()),
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `409` when the subscriber holds what this list does not: a position past its head, or one
/// whose event was written at another time than it was told (the list was restored from an
/// older backup and its positions written anew). It must start again from 0.
async fn behind_check(
    feed: &Feed,
    name: &str,
    since: u64,
    at: Option<i64>,
    head: u64,
) -> Option<Response> {
    if since > head && feed.cluster.is_some() {
        // A fleet relay a little behind another one: the subscriber may ask again.
        return Some(answer(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("this relay is at position {head}, behind {since}; try again"),
        ));
    }
    let mismatch = if since > head {
        Some(format!("position {since} is past this list's head {head}"))
    } else if let (Some(at), true) = (at, since > 0) {
        let store = feed.store.clone();
        match tokio::task::spawn_blocking(move || store.event_time(since)).await {
            Ok(Ok(Some(t))) if t.0 == at => None,
            Ok(Ok(_)) => Some(format!(
                "position {since} of this list is not the one the subscriber was sent"
            )),
            Ok(Err(e)) => return Some(unavailable(&e.to_string())),
            Err(e) => return Some(unavailable(&e.to_string())),
        }
    } else {
        None
    }?;
    tracing::warn!(
        subscriber = name,
        since,
        head,
        why = mismatch.as_str(),
        "feed pull ahead of the list"
    );
    let mut r = answer(
        StatusCode::CONFLICT,
        &format!("{mismatch}: start again from 0"),
    );
    if let Ok(v) = HeaderValue::from_str(&head.to_string()) {
        r.headers_mut().insert("x-dnc-feed-head", v);
    }
    Some(r)
}

/// The list's head once it is past `since`, or after `wait` (whichever comes first).
async fn wait_for_change(store: &Store, since: u64, wait: Duration) -> Result<u64, String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = None;
    loop {
        // The history is read again only after a commit (many pulls may be waiting).
        let commits = store.commits();
        if seen != Some(commits) {
            seen = Some(commits);
            let s = store.clone();
            let head = tokio::task::spawn_blocking(move || s.last_event())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            if head != since {
                return Ok(head);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(since);
        }
        tokio::time::sleep(WAIT_STEP).await;
    }
}

fn unavailable(why: &str) -> Response {
    tracing::error!(error = why, "feed pull failed");
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "the list cannot be read now; try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_names_a_position_and_a_wait_and_nothing_else() {
        assert_eq!(PullQuery::parse(None), Some(PullQuery::default()));
        let q = PullQuery::parse(Some("since=42&wait=20&at=1764555247120331"));
        let want = PullQuery {
            since: 42,
            wait: 20,
            at: Some(1764555247120331),
        };
        assert_eq!(q, Some(want));
        assert_eq!(PullQuery::parse(Some("since=-1")), None);
        assert_eq!(PullQuery::parse(Some("since=1&email=a@b.c")), None);
        assert_eq!(PullQuery::parse(Some("since")), None);
    }

    #[test]
    fn only_a_bearer_token_is_read() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  t1 "),
        );
        assert_eq!(bearer(&h), Some("t1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn a_token_is_long_random_and_kept_only_as_its_hash() {
        let a = new_token().expect("randomness");
        let b = new_token().expect("randomness");
        assert!(a.starts_with("dncf_") && a.len() == 5 + 64 && a != b);
        assert_eq!(token_sha256(&a).len(), 64);
        assert_ne!(token_sha256(&a), token_sha256(&b));
    }
}
