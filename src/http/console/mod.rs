//! The web console, on the internal listener: look a person up and see the whole story, add
//! a suppression, request, approve or deny a lift, work the review queues, run the weekly
//! audit and the monthly lift review, and read the charts.
//!
//! Every action goes through the admin dispatch ([`crate::admin::server::call`]) as the actor
//! `console:NAME` with the user's configured role: the console enforces exactly the rules of
//! the CLI, on the server. Searches are posted, never put in URLs; the operational log names
//! the console user and the action, not the people looked up.

mod actions;
pub mod auth;
pub mod charts;
pub mod pages;
mod views;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use self::auth::{Auth, LoginRefused, Session};
use crate::admin::proto::{Body, ErrorCode, Request};
use crate::admin::server::Handler;

/// What the console's handlers share.
pub struct Console {
    handler: Arc<Handler>,
    auth: Auth,
    /// Served over TLS: cookies are `Secure` (and `__Host-` prefixed).
    secure: bool,
    /// The charts' data, computed at most once a minute.
    charts: charts::Cache,
}

/// A submitted form's fields.
type Fields = HashMap<String, String>;

impl Console {
    /// The console of `config` over the relay's admin handler.
    pub fn new(config: &crate::config::Config, handler: Arc<Handler>) -> Arc<Console> {
        Arc::new(Console {
            handler,
            auth: Auth::from_config(&config.console),
            secure: config.http.tls,
            charts: charts::Cache::default(),
        })
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-dnc_console"
        } else {
            "dnc_console"
        }
    }

    fn login_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-dnc_login"
        } else {
            "dnc_login"
        }
    }

    fn set_cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let age = max_age
            .map(|a| format!("; Max-Age={a}"))
            .unwrap_or_default();
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
    }

    /// The signed-in session of a request, or the redirect to the login page.
    // The refusal is the response itself, as axum handlers return it.
    #[allow(clippy::result_large_err)]
    fn signed_in(&self, headers: &HeaderMap) -> Result<Session, Response> {
        cookie(headers, self.cookie_name())
            .and_then(|id| self.auth.session(id))
            .ok_or_else(|| redirect("/login"))
    }

    /// The session of a form post whose CSRF token matches; otherwise the answer.
    #[allow(clippy::result_large_err)]
    fn posted(&self, headers: &HeaderMap, form: &Fields) -> Result<Session, Response> {
        let session = self.signed_in(headers)?;
        let token = form.get("csrf").map(String::as_str).unwrap_or("");
        if !auth::same_token(token, &session.csrf) {
            tracing::warn!(user = %session.user, "console: a form without a valid CSRF token was refused");
            return Err(plain(
                StatusCode::FORBIDDEN,
                "this form has expired; reload the page",
            ));
        }
        Ok(session)
    }

    /// Runs an admin operation as the session's user.
    async fn call(
        &self,
        session: &Session,
        request: Request,
    ) -> Result<Body, (StatusCode, String)> {
        let doing = request.doing();
        let result = crate::admin::server::call(&self.handler, session.actor(), request).await;
        match &result {
            Ok(_) => tracing::info!(user = %session.user, action = doing, "console action"),
            Err(d) => {
                tracing::info!(user = %session.user, action = doing, refused = ?d.code, "console action refused")
            }
        }
        result.map_err(|d| (status_of(d.code), d.message))
    }

    /// Puts a new config's console accounts in force (see [`Auth::reload`]).
    pub fn reload(&self, config: &crate::config::ConsoleConfig) {
        self.auth.reload(config);
    }

    /// A page for a signed-in user, with the console's headers.
    fn page(&self, session: &Session, here: &str, title: &str, body: &str) -> Response {
        html(StatusCode::OK, pages::layout(session, here, title, body))
    }
}

/// The console's routes.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(views::home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/search", post(views::search))
        .route("/add", get(views::add_page).post(actions::add))
        .route("/lifts", get(views::lifts))
        .route("/lifts/request", post(actions::lift_request))
        .route("/lifts/approve", post(actions::lift_approve))
        .route("/lifts/deny", post(actions::lift_deny))
        .route("/reviews", get(views::reviews))
        .route("/reviews/feedback", post(actions::feedback_review))
        .route("/reviews/lock", post(actions::lock_review))
        .route("/audit", get(views::audit))
        .route("/charts", get(views::charts))
        .route("/alerts", get(views::alerts))
        .route("/static/console.css", get(stylesheet))
        .with_state(console)
}

async fn stylesheet() -> Response {
    let mut r = (StatusCode::OK, include_str!("console.css")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

async fn login_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if c.signed_in(&headers).is_ok() {
        return redirect("/");
    }
    login_form(&c, StatusCode::OK, None)
}

/// The login form with a fresh token, also set as a cookie (double submit: a page elsewhere
/// cannot log a browser in).
fn login_form(c: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let Some(token) = auth::random_token() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "no randomness for a login form; try again",
        );
    };
    let mut r = html(status, pages::login(&token, error));
    r.headers_mut().append(
        header::SET_COOKIE,
        c.set_cookie(c.login_cookie_name(), &token, Some(600)),
    );
    r
}

async fn login(
    State(c): State<Arc<Console>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let expected = cookie(&headers, c.login_cookie_name()).unwrap_or("");
    let token = form.get("csrf").map(String::as_str).unwrap_or("");
    if expected.is_empty() || !auth::same_token(token, expected) {
        return login_form(
            &c,
            StatusCode::FORBIDDEN,
            Some("The form expired; try again."),
        );
    }
    let user = form.get("user").map(|u| u.trim()).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    match c.auth.login(user, password, client.ip()).await {
        Ok((id, session)) => {
            tracing::info!(user = %session.user, role = %session.role, %client, "console login");
            let mut r = redirect("/");
            let h = r.headers_mut();
            h.append(header::SET_COOKIE, c.set_cookie(c.cookie_name(), &id, None));
            h.append(
                header::SET_COOKIE,
                c.set_cookie(c.login_cookie_name(), "", Some(0)),
            );
            r
        }
        Err(LoginRefused::Wrong) => {
            let name: String = user.chars().take(64).collect();
            tracing::warn!(%client, user = ?name, "console login failed");
            login_form(
                &c,
                StatusCode::UNAUTHORIZED,
                Some("Wrong user name or password."),
            )
        }
        Err(LoginRefused::Busy) => {
            let mut r = login_form(
                &c,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too many logins at once; try again in a moment."),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            r
        }
        Err(LoginRefused::Throttled(wait)) => {
            let name: String = user.chars().take(64).collect();
            tracing::warn!(%client, user = ?name, "console login refused: too many failures");
            let minutes = wait.as_secs().div_ceil(60).max(1);
            let mut r = login_form(
                &c,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many failed logins; try again in {minutes} minute(s)."
                )),
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
            r
        }
    }
}

async fn logout(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    // The cookie is SameSite=Strict: another site cannot log the user out, and a stale
    // tab's form (an old token) still ends the session.
    if let Some(id) = cookie(&headers, c.cookie_name()) {
        if let Ok(session) = c.signed_in(&headers) {
            tracing::info!(user = %session.user, "console logout");
        }
        c.auth.logout(id);
    }
    let mut r = redirect("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        c.set_cookie(c.cookie_name(), "", Some(0)),
    );
    r
}

/// A cookie's value.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest | ErrorCode::UnsupportedVersion => StatusCode::BAD_REQUEST,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn redirect(to: &'static str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    secure_headers(&mut r);
    r
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = (status, format!("{text}\n")).into_response();
    secure_headers(&mut r);
    r
}

/// An HTML answer that nothing caches, frames or refers on.
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut r);
    r
}

fn secure_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// A form field, trimmed (empty when absent).
fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}
