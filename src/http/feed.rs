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

/// What the handler needs.
struct Feed {
    store: Store,
    salt: Arc<Salt>,
}

/// The query of a pull.
#[derive(Debug, Default, PartialEq)]
struct PullQuery {
    /// The position the subscriber holds (0: from the start).
    since: u64,
    /// Seconds to wait for a change when there is none yet.
    wait: u64,
}

impl PullQuery {
    /// `since=N&wait=S`, both optional; anything else is refused.
    fn parse(query: Option<&str>) -> Option<PullQuery> {
        let mut q = PullQuery::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=')?;
            let value: u64 = value.parse().ok()?;
            match name {
                "since" => q.since = value,
                "wait" => q.wait = value,
                _ => return None,
            }
        }
        Some(q)
    }
}

/// The feed's routes, to be merged into the public face.
pub fn router(store: Store, salt: Arc<Salt>) -> Router {
    Router::new()
        .route("/feed", get(pull))
        .with_state(Arc::new(Feed { store, salt }))
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

/// `GET /feed`.
async fn pull(
    State(feed): State<Arc<Feed>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        tracing::warn!(%client, outcome = "no token", "feed pull refused");
        return answer(StatusCode::UNAUTHORIZED, "a bearer token is needed");
    };
    let hashed = token_sha256(token);
    let store = feed.store.clone();
    let found = tokio::task::spawn_blocking(move || store.feed_subscriber_by_token(&hashed)).await;
    let subscriber = match found {
        Ok(Ok(Some(s))) => s,
        Ok(Ok(None)) => {
            tracing::warn!(%client, outcome = "unknown token", "feed pull refused");
            return answer(StatusCode::UNAUTHORIZED, "unknown token");
        }
        Ok(Err(e)) => return unavailable(&e.to_string()),
        Err(e) => return unavailable(&e.to_string()),
    };
    if let Some(r) = &subscriber.revoked {
        tracing::warn!(%client, subscriber = subscriber.name.as_str(), outcome = "revoked", "feed pull refused");
        return answer(
            StatusCode::FORBIDDEN,
            &format!("this token was revoked {}", r.at),
        );
    }
    let Some(q) = PullQuery::parse(query.as_deref()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "since must be a position (a whole number) and wait a number of seconds",
        );
    };
    serve(&feed, &subscriber.name, client, q).await
}

async fn serve(feed: &Feed, name: &str, client: SocketAddr, q: PullQuery) -> Response {
    let wait = Duration::from_secs(q.wait).min(MAX_WAIT);
    let head = match wait_for_change(&feed.store, q.since, wait).await {
        Ok(head) => head,
        Err(e) => return unavailable(&e),
    };
    if q.since > head {
        // The subscriber holds more than this list has: the list was restored from an older
        // backup. It must start again from 0, or it would skip the positions written anew.
        tracing::warn!(%client, subscriber = name, since = q.since, head, "feed pull ahead of the list");
        let mut r = answer(
            StatusCode::CONFLICT,
            &format!(
                "position {} is past this list's head {head}: start again from 0",
                q.since
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&head.to_string()) {
            r.headers_mut().insert("x-dnc-feed-head", v);
        }
        return r;
    }
    let (store, salt, since) = (feed.store.clone(), feed.salt.clone(), q.since);
    let page =
        match tokio::task::spawn_blocking(move || store.feed_page(since, PAGE_KEYS, &salt)).await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => return unavailable(&e.to_string()),
            Err(e) => return unavailable(&e.to_string()),
        };
    let now = Timestamp::now();
    let record = Pull {
        id: 0,
        subscriber: name.to_string(),
        peer: client.ip().to_string(),
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
    tracing::info!(
        %client,
        subscriber = name,
        since = page.since,
        next = page.next,
        head = page.head,
        changes = page.changes.len(),
        "feed pulled"
    );
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
        let q = PullQuery::parse(Some("since=42&wait=20"));
        assert_eq!(
            q,
            Some(PullQuery {
                since: 42,
                wait: 20
            })
        );
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
