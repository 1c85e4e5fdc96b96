//! The upstream side: hands accepted recipients and messages to the real MTA (or a capture
//! directory) and reports typed outcomes.
//!
//! Transaction model: a before-queue proxy. The upstream transaction is opened at the first
//! recipient the policy lets through; each such RCPT is mirrored upstream as it arrives, so the
//! client gets the upstream's own per-recipient answer; the message is sent once, after the
//! client's final dot, and the client hears 250 only after the upstream said 250. Nothing is
//! retried after the message data has started, so no recipient is delivered twice by us.
//! This module knows nothing of the client side: the session maps [`Outcome`]s to replies.

mod capture;
mod client;
mod pool;
pub use pool::client_tls_config;

use std::fmt;
use std::sync::Arc;

use crate::config::{Config, UpstreamUrl};

pub use pool::UpstreamSettings;

/// A reply the upstream sent: code and text lines (enhanced status included in the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamReply {
    /// The three-digit code.
    pub code: u16,
    /// The text of each line, without the code.
    pub lines: Vec<String>,
}

impl UpstreamReply {
    /// A reply from its code and lines.
    pub fn new(code: u16, lines: Vec<String>) -> UpstreamReply {
        UpstreamReply { code, lines }
    }

    /// The text on one line: lines joined with spaces.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl fmt::Display for UpstreamReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for line in &self.lines {
            write!(f, " {line}")?;
        }
        Ok(())
    }
}

/// Which step of the upstream conversation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// TCP connect or TLS handshake.
    Connect,
    /// Greeting, EHLO or STARTTLS.
    Hello,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA and the message.
    Data,
    /// Writing a capture file.
    Capture,
}

impl Stage {
    /// Lowercase name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Hello => "hello",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
            Stage::Capture => "capture",
        }
    }
}

/// The upstream could not be used: unreachable, timed out, broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where it failed.
    pub stage: Stage,
    /// What happened, for the log.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.stage.as_str(), self.detail)
    }
}

/// What the upstream did with one step of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It accepted (2xx).
    Accepted(UpstreamReply),
    /// It refused with its own 4xx or 5xx reply.
    Refused(UpstreamReply),
    /// It could not be reached or did not answer in time.
    Unavailable(Failure),
    /// The message needs an extension the upstream lacks (`SMTPUTF8`, `8BITMIME`).
    Unsupported(&'static str),
}

impl Outcome {
    /// Whether the upstream took it.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Accepted(_))
    }

    /// A one-line description for the decision log.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Accepted(r) | Outcome::Refused(r) => r.to_string(),
            Outcome::Unavailable(f) => f.to_string(),
            Outcome::Unsupported(ext) => format!("upstream lacks {ext}"),
        }
    }
}

/// What the client declared in MAIL FROM that the upstream must hear too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// The reverse-path as the client sent it (empty for `<>`).
    pub from: String,
    /// `BODY=8BITMIME` was given.
    pub eight_bit: bool,
    /// `SMTPUTF8` was given.
    pub smtputf8: bool,
}

/// A failure to set up the upstream side at start.
#[derive(Debug, thiserror::Error)]
#[error("upstream: {0}")]
pub struct SetupError(pub String);

#[derive(Debug)]
enum Kind {
    Smtp(Arc<pool::Pool>),
    Capture(capture::Capture),
}

/// The upstream. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Relay {
    kind: Arc<Kind>,
    url: Arc<str>,
}

impl Relay {
    /// Builds the upstream from the config: a connection pool, or a capture directory.
    /// Creates nothing (see [`Relay::prepare`]). Must run inside the Tokio runtime.
    pub fn from_config(config: &Config) -> Result<Relay, SetupError> {
        let url = config.upstream_url();
        let kind = match &url {
            UpstreamUrl::Capture(dir) => Kind::Capture(capture::Capture::new(dir)),
            UpstreamUrl::Smtp { host, port, tls } => {
                let settings = UpstreamSettings::from_config(config, host, *port, *tls)?;
                Kind::Smtp(pool::Pool::start(settings))
            }
        };
        Ok(Relay {
            kind: Arc::new(kind),
            url: url.to_string().into(),
        })
    }

    /// Creates what the upstream needs on disk (the capture directory, mode 0700).
    pub fn prepare(&self) -> Result<(), SetupError> {
        match &*self.kind {
            Kind::Capture(c) => c.prepare(),
            Kind::Smtp(_) => Ok(()),
        }
    }

    /// The upstream URL, for logs.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts a transaction for a client at `client`. Nothing is sent until the first
    /// recipient.
    pub fn transaction(&self, mail: MailParams, client: std::net::IpAddr) -> Transaction {
        Transaction {
            relay: self.clone(),
            mail,
            client,
            state: State::NotOpened,
            recipients: 0,
        }
    }

    /// Idle upstream connections kept for reuse (0 for capture).
    pub fn idle_connections(&self) -> usize {
        match &*self.kind {
            Kind::Smtp(pool) => pool.idle_count(),
            Kind::Capture(_) => 0,
        }
    }
}

enum State {
    NotOpened,
    Open(Box<pool::Conn>),
    /// MAIL was refused or the upstream failed: every later step gets the same outcome.
    Failed(Outcome),
    Finished,
}

/// One upstream transaction, mirrored from one client transaction.
///
/// Dropping it without [`Transaction::send`] or [`Transaction::abort`] closes the upstream
/// connection, which makes the upstream discard whatever it had of the transaction.
pub struct Transaction {
    relay: Relay,
    mail: MailParams,
    /// Whose share of the upstream connections this transaction takes.
    client: std::net::IpAddr,
    state: State,
    recipients: usize,
}

impl Transaction {
    /// Mirrors one RCPT upstream, opening the connection and sending MAIL first if needed.
    pub async fn add_recipient(&mut self, rcpt: &str) -> Outcome {
        let outcome = match &*self.relay.kind {
            Kind::Capture(c) => c.recipient(),
            Kind::Smtp(pool) => {
                if let State::NotOpened = self.state {
                    // MAIL and this first RCPT go out together.
                    match pool.begin(&self.mail, rcpt, self.client).await {
                        Ok((conn, outcome)) => {
                            self.state = State::Open(Box::new(conn));
                            if outcome.is_accepted() {
                                self.recipients += 1;
                            }
                            return outcome;
                        }
                        Err(outcome) => {
                            self.state = State::Failed(outcome.clone());
                            return outcome;
                        }
                    }
                }
                match &mut self.state {
                    State::Open(conn) => {
                        let outcome = conn.rcpt(rcpt).await;
                        if let Outcome::Unavailable(_) = outcome {
                            // The connection is gone with every recipient it held.
                            self.state = State::Failed(outcome.clone());
                        }
                        outcome
                    }
                    State::Failed(outcome) => outcome.clone(),
                    State::NotOpened | State::Finished => Outcome::Unavailable(Failure {
                        stage: Stage::Rcpt,
                        detail: "transaction already finished".into(),
                    }),
                }
            }
        };
        if outcome.is_accepted() {
            self.recipients += 1;
        }
        outcome
    }

    /// Sends the message to every recipient the upstream accepted and ends the transaction.
    /// The upstream's final reply (or failure) is the outcome for all of them.
    pub async fn send(&mut self, message: &mut crate::spool::Body) -> Outcome {
        if self.recipients == 0 {
            return Outcome::Unavailable(Failure {
                stage: Stage::Data,
                detail: "no recipient was accepted upstream".into(),
            });
        }
        let outcome = match &*self.relay.kind {
            Kind::Capture(c) => c.write(message).await,
            Kind::Smtp(pool) => match std::mem::replace(&mut self.state, State::Finished) {
                State::Open(conn) => pool.finish(*conn, message.content()).await,
                State::Failed(outcome) => outcome,
                State::NotOpened | State::Finished => Outcome::Unavailable(Failure {
                    stage: Stage::Data,
                    detail: "transaction not open".into(),
                }),
            },
        };
        self.state = State::Finished;
        outcome
    }

    /// Ends the transaction without sending (client RSET, QUIT or error): RSET upstream and
    /// keep the connection for reuse when it is still healthy.
    pub async fn abort(&mut self) {
        if let (Kind::Smtp(pool), State::Open(conn)) = (
            &*self.relay.kind,
            std::mem::replace(&mut self.state, State::Finished),
        ) {
            pool.reset(*conn).await;
        }
    }

    /// Sends `from` as the reverse-path instead of the client's (a rewritten return path).
    /// Only before the first recipient opened the transaction upstream; false after.
    pub fn set_sender(&mut self, from: String) -> bool {
        match self.state {
            State::NotOpened => {
                self.mail.from = from;
                true
            }
            _ => false,
        }
    }

    /// Whether MAIL went upstream (the reverse-path can no longer change).
    pub fn is_started(&self) -> bool {
        !matches!(self.state, State::NotOpened)
    }

    /// Recipients the upstream accepted so far.
    pub fn accepted_recipients(&self) -> usize {
        self.recipients
    }
}
