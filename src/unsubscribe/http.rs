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
use crate::store::Store;
use crate::token::TokenError;

/// What the handlers share.
struct Endpoint {
    marker: Arc<Marker>,
    store: Store,
    limiter: Limiter,
}

/// Requests per minute per key: the recipient a valid token names (a proxy in front makes
/// every client one address, and mailbox providers post for many recipients), else the
/// client's address.
struct Limiter {
    per_minute: u32,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    /// Counts a request; false when the key is over its share this minute.
    fn allow(&self, key: String) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() > 100_000 {
            // Bounded: a flood of keys forgets every count at once rather than growing.
            seen.clear();
        }
        let (start, count) = seen.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        *count += 1;
        *count <= self.per_minute
    }
}

/// The endpoint's routes (with the public face's fallbacks), to be served on the public
/// face with the hashed feed.
pub fn router(marker: Arc<Marker>, store: Store, per_minute: u32) -> Router {
    let endpoint = Arc::new(Endpoint {
        marker,
        store,
        limiter: Limiter {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        },
    });
    Router::new()
        .route("/u/{token}", get(show).post(unsubscribe))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .with_state(endpoint)
}

/// `GET /u/TOKEN`: the confirm page; nothing changes.
async fn show(
    State(ep): State<Arc<Endpoint>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&headers);
    let opened = ep.marker.sealer().open(&token);
    if !ep.limiter.allow(limit_key(&opened, client.ip())) {
        tracing::info!(%client, method = "GET", outcome = "rate-limited", "unsubscribe request");
        return too_many(lang);
    }
    match opened {
        Ok(claims) => {
            tracing::info!(%client, method = "GET", outcome = "shown", "unsubscribe request");
            let page = pages::confirm(lang, &pages::mask(&claims.recipient));
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
    let opened = ep.marker.sealer().open(&token);
    if !ep.limiter.allow(limit_key(&opened, client.ip())) {
        tracing::info!(%client, method = "POST", outcome = "rate-limited", "unsubscribe request");
        return too_many(lang);
    }
    let claims = match opened {
        Ok(claims) => claims,
        Err(e) => return refused(client, "POST", e, lang),
    };
    // RFC 8058: the body is the field List-Unsubscribe=One-Click (form-urlencoded or
    // multipart); anything else is not an unsubscribe request.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !one_click(content_type, &body) {
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
        Ok(None) => {
            tracing::error!(%client, recipient = %claims.recipient, "a token names no address that can be listed; nothing added");
            html(StatusCode::BAD_REQUEST, pages::invalid(lang))
        }
        Ok(Some(_)) => {
            let purposes = ep.marker.purposes_for(claims.unit.as_deref());
            let why = format!(
                "one-click unsubscribe from the mail of group {}",
                claims.group
            );
            if let Err(e) = super::withdraw_consents(
                &ep.store,
                &claims.recipient,
                &purposes,
                &why,
                &super::actor("link"),
            )
            .await
            {
                tracing::error!(%client, error = %e, "cannot withdraw the consents of an unsubscribe; the client is told to retry");
                return html(StatusCode::SERVICE_UNAVAILABLE, pages::later(lang));
            }
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

/// What a request counts against: the recipient of a valid token, else the client.
fn limit_key(opened: &Result<crate::token::Claims, TokenError>, ip: IpAddr) -> String {
    match opened {
        Ok(claims) => format!("to {}", claims.recipient),
        Err(_) => format!("from {ip}"),
    }
}

/// `429` with the page and when to come back.
fn too_many(lang: Lang) -> Response {
    let mut response = html(StatusCode::TOO_MANY_REQUESTS, pages::later(lang));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

/// Whether `body` is the one-click form: the field `List-Unsubscribe` with the value
/// `One-Click`, form-urlencoded or in a multipart/form-data part.
fn one_click(content_type: &str, body: &[u8]) -> bool {
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let text = String::from_utf8_lossy(body);
        return text.split("\r\n--").any(|part| {
            let Some((head, value)) = part.split_once("\r\n\r\n") else {
                return false;
            };
            head.contains("name=\"List-Unsubscribe\"") && value.trim_end() == "One-Click"
        });
    }
    form_urlencoded::parse(body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

async fn not_allowed(
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    tracing::info!(%client, %method, outcome = "method not allowed", "unsubscribe request");
    let mut response = html(
        StatusCode::METHOD_NOT_ALLOWED,
        pages::invalid(lang(&headers)),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
    response
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
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

#[cfg(test)]
mod tests {
    use super::one_click;

    #[test]
    fn only_the_one_click_field_is_an_unsubscribe() {
        let form = "application/x-www-form-urlencoded";
        assert!(one_click(form, b"List-Unsubscribe=One-Click"));
        assert!(one_click(form, b"List-Unsubscribe=One%2DClick"));
        assert!(one_click("", b"a=b&List-Unsubscribe=One-Click"));
        for body in [
            &b"{\"List-Unsubscribe\":\"One-Click\"}"[..],
            b"xList-Unsubscribe=One-Click",
            b"List-Unsubscribe=One-Clickx",
            b"a=List-Unsubscribe%3DOne-Click",
            b"",
        ] {
            assert!(!one_click(form, body), "{}", String::from_utf8_lossy(body));
        }
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert!(one_click(
            "multipart/form-data; boundary=b",
            multipart.as_bytes()
        ));
        let other = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nList-Unsubscribe One-Click\r\n--b--\r\n";
        assert!(!one_click(
            "multipart/form-data; boundary=b",
            other.as_bytes()
        ));
    }
}
