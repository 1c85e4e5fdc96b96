//! The hashed feed: subcontractors' tokens (given, revoked), their pulls and how far behind
//! each is (the company's side), and where a follower stands (the subcontractor's side).

use serde::{Deserialize, Serialize};

use crate::admin::context::{deny, text_limit, Cx, Denied};
use crate::admin::proto::ErrorCode;
use crate::feed::FollowStatus;
use crate::model::feed::{Pull, Subscriber};
use crate::model::Timestamp;

/// Gives a subcontractor a token for the feed (ops and up). Answered with [`FeedTokenGiven`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedAdd {
    /// The subcontractor's name.
    pub name: String,
}

/// Answer to [`FeedAdd`]: the token, shown this once (only its SHA-256 is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedTokenGiven {
    /// The subscriber as recorded.
    pub subscriber: Subscriber,
    /// The bearer token.
    pub token: String,
}

/// Revokes a subcontractor's token (ops and up): its next pull gets `403`. Answered with
/// [`FeedSubscriberShown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedRevoke {
    /// The subcontractor's name.
    pub name: String,
    /// Why.
    pub why: String,
}

/// A subscriber as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSubscriberShown {
    /// The subscriber.
    pub subscriber: Subscriber,
}

/// The subscribers and how far behind each is. Answered with [`FeedSubscribers`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedList {}

/// One subscriber and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriberStatus {
    /// The subscriber.
    pub subscriber: Subscriber,
    /// Its last pull, if it pulled.
    pub last_pull: Option<Pull>,
    /// Positions of the list it has not been sent yet (the head now minus its last pull's
    /// `next`); `None` before its first pull.
    pub behind: Option<u64>,
    /// Seconds since its last pull.
    pub last_pull_age_seconds: Option<f64>,
}

/// Answer to [`FeedList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedSubscribers {
    /// The list's head now.
    pub head: u64,
    /// Erased contacts the feed cannot carry (erased before the feed existed).
    #[serde(default)]
    pub erased_outside_feed: u64,
    /// The subscribers, by name.
    pub subscribers: Vec<SubscriberStatus>,
}

/// The pulls served, newest first. Answered with [`FeedPullsPage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedPulls {
    /// One subscriber's only.
    #[serde(default)]
    pub subscriber: Option<String>,
    /// At most this many.
    pub limit: usize,
}

/// Answer to [`FeedPulls`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPullsPage {
    /// The pull records, newest first.
    pub pulls: Vec<Pull>,
}

/// Where this relay stands with the feed it follows. Answered with [`FeedFollowing`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedStatus {}

/// Answer to [`FeedStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedFollowing {
    /// `None`: this relay follows no feed (`[replica]` is not set).
    pub following: Option<FollowStatus>,
    /// Why this relay's answers may be out of date now (behind its fleet's log or its
    /// company's feed); `None`: they are not.
    #[serde(default)]
    pub not_current: Option<String>,
}

/// A subscriber's name as kept: lower case (`ACME` and `acme` are one subscriber).
fn clean_name(name: &str) -> Result<String, Denied> {
    let name = name.trim().to_ascii_lowercase();
    check_name(&name)?;
    Ok(name)
}

fn check_name(name: &str) -> Result<(), Denied> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(deny(
            ErrorCode::BadRequest,
            format!("'{name}' is not a subscriber name: 1 to 64 letters, digits, '-', '_' or '.'"),
        ))
    }
}

/// Serves [`FeedAdd`].
pub async fn add(op: FeedAdd, cx: &mut Cx<'_>) -> Result<FeedTokenGiven, Denied> {
    let name = clean_name(&op.name)?;
    let token = crate::http::feed::new_token()
        .ok_or_else(|| deny(ErrorCode::StoreUnavailable, "no randomness from the OS"))?;
    let hashed = crate::http::feed::token_sha256(&token);
    let subscriber =
        cx.h.store
            .feed_subscribe(name, hashed, cx.actor.clone())
            .await??;
    Ok(FeedTokenGiven { subscriber, token })
}

/// Serves [`FeedRevoke`].
pub async fn revoke(op: FeedRevoke, cx: &mut Cx<'_>) -> Result<FeedSubscriberShown, Denied> {
    let name = clean_name(&op.name)?;
    text_limit("why", &op.why)?;
    if op.why.trim().is_empty() {
        return Err(deny(ErrorCode::BadRequest, "say why (--why)"));
    }
    let subscriber =
        cx.h.store
            .feed_revoke(name, op.why, cx.actor.clone())
            .await??;
    Ok(FeedSubscriberShown { subscriber })
}

/// Serves [`FeedList`].
pub fn list(_: FeedList, cx: &mut Cx<'_>) -> Result<FeedSubscribers, Denied> {
    let store = &cx.h.store;
    let head = store.last_event()?;
    let mut last = store.feed_last_pulls()?;
    let now = Timestamp::now();
    let subscribers = store
        .feed_subscribers()?
        .into_iter()
        .map(|subscriber| {
            let last_pull = last.remove(&subscriber.name);
            SubscriberStatus {
                behind: last_pull.as_ref().map(|p| head.saturating_sub(p.next)),
                last_pull_age_seconds: last_pull
                    .as_ref()
                    .map(|p| now.0.saturating_sub(p.last_at.0).max(0) as f64 / 1e6),
                last_pull,
                subscriber,
            }
        })
        .collect();
    Ok(FeedSubscribers {
        head,
        erased_outside_feed: store.erased_outside_feed()?,
        subscribers,
    })
}

/// Serves [`FeedPulls`].
pub fn pulls(op: FeedPulls, cx: &mut Cx<'_>) -> Result<FeedPullsPage, Denied> {
    let limit = op.limit.clamp(1, 100_000);
    let subscriber = op.subscriber.as_deref().map(clean_name).transpose()?;
    if let Some(name) = &subscriber {
        if !cx
            .h
            .store
            .feed_subscribers()?
            .iter()
            .any(|s| &s.name == name)
        {
            return Err(deny(
                ErrorCode::NotFound,
                format!("no feed subscriber {name}"),
            ));
        }
    }
    Ok(FeedPullsPage {
        pulls: cx.h.store.feed_pulls(subscriber.as_deref(), limit)?,
    })
}

/// Serves [`FeedStatus`].
pub fn status(_: FeedStatus, cx: &mut Cx<'_>) -> Result<FeedFollowing, Denied> {
    let following = cx.h.feed.as_ref().map(|f| f.status()).transpose()?;
    Ok(FeedFollowing {
        following,
        not_current: cx.h.not_current(),
    })
}
