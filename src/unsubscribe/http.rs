//! The unsubscribe endpoint: `GET /u/TOKEN` shows a page with one confirm button and changes
//! nothing (link scanners and previews follow links); `POST /u/TOKEN` with
//! `List-Unsubscribe=One-Click` (RFC 8058; the page's button posts the same) suppresses the
//! recipient and answers `200`, with no redirect and no cookie. A wrong, altered or expired
//! token gets `400` and a page that says nothing of why. Each client address gets
//! `max_requests_per_minute`; every request is logged.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::pages::{self, Lang};
use super::{suppress, Marker};
use crate::smtp::{Phase, PhaseWatch};
use crate::store::Store;
use crate::token::TokenError;

/// What the handlers share.
struct Endpoint {
    marker: Arc<Marker>,
    store: Store,
    limiter: Limiter,
}

/// Requests per client address per minute.
struct Limiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    /// Counts a request; false when the address is over its share this minute.
    fn allow(&self, ip: IpAddr) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        *count += 1;
        *count <= self.per_minute
    }
}

/// The bound listeners of the endpoint.
pub struct Listeners(Vec<tokio::net::TcpListener>);

impl Listeners {
    /// Binds every address.
    pub async fn bind(addrs: &[SocketAddr]) -> std::io::Result<Listeners> {
        let mut out = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
            })?;
            out.push(l);
        }
        Ok(Listeners(out))
    }

    /// The addresses bound.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.0.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Serves until the relay stops, on `tracker`.
    pub fn serve(
        self,
        marker: Arc<Marker>,
        store: Store,
        per_minute: u32,
        phase: PhaseWatch,
        tracker: &tokio_util::task::TaskTracker,
    ) {
        let endpoint = Arc::new(Endpoint {
            marker,
            store,
            limiter: Limiter {
                per_minute,
                seen: Mutex::new(HashMap::new()),
            },
        });
        let app = Router::new()
            .route("/u/{token}", get(show).post(unsubscribe))
            .fallback(not_found)
            .with_state(endpoint);
        for listener in self.0 {
            let app = app.clone();
            let mut phase = phase.clone();
            tracker.spawn(async move {
                let service = app.into_make_service_with_connect_info::<SocketAddr>();
                let stopped = async move {
                    let _ = phase.wait_for(|p| *p != Phase::Running).await;
                };
                if let Err(e) = axum::serve(listener, service)
                    .with_graceful_shutdown(stopped)
                    .await
                {
                    tracing::error!(error = %e, "the unsubscribe endpoint stopped");
                }
            });
        }
    }
}

/// `GET /u/TOKEN`: the confirm page; nothing changes.
async fn show(
    State(ep): State<Arc<Endpoint>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&headers);
    if !ep.limiter.allow(client.ip()) {
        tracing::info!(%client, method = "GET", outcome = "rate-limited", "unsubscribe request");
        return html(StatusCode::TOO_MANY_REQUESTS, pages::later(lang));
    }
    match ep.marker.sealer().open(&token) {
        Ok(claims) => {
            tracing::info!(%client, method = "GET", outcome = "shown", "unsubscribe request");
            let page = pages::confirm(lang, &token, &pages::mask(&claims.recipient));
            html(StatusCode::OK, page)
        }
        Err(e) => refused(client, "GET", e, lang),
    }
}

/// `POST /u/TOKEN` with `List-Unsubscribe=One-Click`: the suppression, then `200`.
async fn unsubscribe(
    State(ep): State<Arc<Endpoint>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = lang(&headers);
    if !ep.limiter.allow(client.ip()) {
        tracing::info!(%client, method = "POST", outcome = "rate-limited", "unsubscribe request");
        return html(StatusCode::TOO_MANY_REQUESTS, pages::later(lang));
    }
    let claims = match ep.marker.sealer().open(&token) {
        Ok(claims) => claims,
        Err(e) => return refused(client, "POST", e, lang),
    };
    // RFC 8058: the body says one-click (form-urlencoded or multipart); anything else is not
    // an unsubscribe request.
    let text = String::from_utf8_lossy(&body);
    if !(text.contains("List-Unsubscribe") && text.contains("One-Click")) {
        tracing::info!(%client, method = "POST", outcome = "no one-click body", "unsubscribe request");
        return html(StatusCode::BAD_REQUEST, pages::invalid(lang));
    }
    let evidence = format!(
        "one-click unsubscribe (RFC 8058) from {} in mail from {} (group {}) sent {}",
        client.ip(),
        claims.sender,
        claims.group,
        crate::model::Timestamp(i64::try_from(claims.issued).unwrap_or(0) * 1_000_000),
    );
    let added = suppress(
        &ep.store,
        &claims.recipient,
        claims.unit.as_deref(),
        evidence,
        super::actor("link"),
    )
    .await;
    match added {
        Ok(_) => {
            tracing::info!(%client, method = "POST", outcome = "unsubscribed", recipient = %claims.recipient, group = %claims.group, "unsubscribe request");
            html(StatusCode::OK, pages::done(lang))
        }
        Err(e) => {
            tracing::error!(%client, error = %e, "cannot record an unsubscribe; the client is told to retry");
            html(StatusCode::SERVICE_UNAVAILABLE, pages::later(lang))
        }
    }
}

async fn not_found(ConnectInfo(client): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    tracing::info!(%client, outcome = "not found", "unsubscribe request");
    html(StatusCode::NOT_FOUND, pages::invalid(lang(&headers)))
}

/// A bad or expired token: `400`, the same page whatever the cause.
fn refused(client: SocketAddr, method: &str, e: TokenError, lang: Lang) -> Response {
    tracing::info!(%client, method, outcome = %e, "unsubscribe request");
    html(StatusCode::BAD_REQUEST, pages::invalid(lang))
}

fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_header(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// An HTML answer that nothing caches, refers on or frames; never a cookie.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}
