//! The SMTP server side: listeners, the per-connection session, and every reply.
//!
//! The session is generic over `AsyncRead + AsyncWrite`, so tests drive it in memory exactly as
//! a socket would. Commands are parsed by `smtp-proto`; framing, limits, timeouts and the DATA
//! decoder are ours.

mod auth;
mod conn;
mod data;
pub mod dot;
mod ehlo;
mod inbound;
pub mod listener;
mod mail;
mod misc;
mod rcpt;
pub mod reply;
mod session;
pub mod throttle;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use crate::audit::DecisionLog;
use crate::config::Config;
use crate::policy::Policy;
use crate::relay::Relay;

pub use listener::{serve, ConnectionLimits, ListenerSet};
pub use reply::Reply;
pub use session::run_session;

/// The limits every session enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most accepted recipients per message.
    pub max_recipients: usize,
    /// Largest message in bytes (advertised as SIZE).
    pub max_message_size: usize,
    /// Longest command line, CRLF included.
    pub max_line_length: usize,
    /// Wait for a command this long.
    pub command_timeout: Duration,
    /// Wait for more DATA this long.
    pub data_timeout: Duration,
    /// Commands allowed since the last MAIL before the session is closed.
    pub max_commands_without_mail: usize,
    /// Errors allowed before the session is closed.
    pub max_errors: usize,
    /// Slowest DATA transfer in bytes per second (0: no floor).
    pub data_min_rate: u64,
    /// How long a DATA transfer runs before the rate floor applies.
    pub data_rate_grace: Duration,
    /// How long AUTH stays refused after too many failures (for the log).
    pub auth_lockout: Duration,
}

impl Limits {
    /// The limits from `[server]`.
    pub fn from_config(config: &Config) -> Limits {
        let s = &config.server;
        Limits {
            max_recipients: s.max_recipients,
            max_message_size: usize::try_from(s.max_message_size).unwrap_or(usize::MAX),
            max_line_length: s.max_line_length,
            command_timeout: s.command_timeout,
            data_timeout: s.data_timeout,
            max_commands_without_mail: s.max_commands_without_mail,
            max_errors: s.max_errors,
            data_min_rate: s.data_min_rate,
            data_rate_grace: Duration::from_secs(10),
            auth_lockout: config.auth.lockout,
        }
    }
}

/// What every session shares: identity, limits, and the services it calls.
pub struct SessionContext {
    /// The name in the greeting and EHLO reply.
    pub hostname: String,
    /// The limits.
    pub limits: Limits,
    /// The upstream.
    pub relay: Relay,
    /// The decision log.
    pub log: DecisionLog,
    /// The store, for send records.
    pub store: crate::store::Store,
    /// Ownership-lock claims shared by every session.
    pub locks: Arc<crate::locks::LockManager>,
    /// What SIGHUP reloads; each session keeps the snapshot it started with.
    pub reloadable: std::sync::RwLock<Arc<Reloadable>>,
    /// The memory budget for message bodies, shared by every session.
    pub spool: Arc<crate::spool::SpoolBudget>,
    /// Failed AUTH per client address and user name (kept across reloads).
    pub auth_failures: throttle::AuthThrottle,
    /// Where the feedback listener's messages go (`None`: no feedback listener).
    pub inbox: Option<Arc<crate::feedback::inbox::Inbox>>,
    /// What marks the mail of sender groups with `list_unsubscribe` (`None`: no
    /// `[unsubscribe] base_url`).
    pub marker: Option<Arc<crate::unsubscribe::Marker>>,
    /// A fleet relay: whether it is current, and lock claims across the fleet.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// A subcontractor's relay: whether it is current with its company's hashed feed.
    pub feed: Option<Arc<crate::feed::Follower>>,
}

impl SessionContext {
    /// Why this relay may not decide now: a fleet relay not current with the fleet's log, or
    /// a subcontractor's relay not current with its company's hashed feed.
    pub fn behind(&self) -> Option<String> {
        let fleet = self.cluster.as_ref().and_then(|c| c.gate.check().err());
        fleet.or_else(|| self.feed.as_ref().and_then(|f| f.gate.check().err()))
    }

    /// The reloadable settings in force now.
    pub fn snapshot(&self) -> Arc<Reloadable> {
        match self.reloadable.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts new settings in force for sessions that start from now on.
    pub fn replace(&self, new: Reloadable) {
        let new = Arc::new(new);
        match self.reloadable.write() {
            Ok(mut guard) => *guard = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }
}

/// The settings a SIGHUP can change without dropping connections.
pub struct Reloadable {
    /// The recipient policy (with the sender groups).
    pub policy: Policy,
    /// Trusted networks and accounts.
    pub access: crate::access::Access,
    /// The relay's certificate, when TLS is configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Owners and lock modes.
    pub locks: crate::locks::LockSettings,
}

/// What a listener is: how its sessions start and what they may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerKind {
    /// TLS from the first byte.
    pub implicit_tls: bool,
    /// Bound to a loopback address (plaintext AUTH may be allowed there).
    pub loopback: bool,
    /// The feedback listener: mail for the feedback domains only, kept in the store and
    /// classified, never relayed; no AUTH needed.
    pub feedback: bool,
}

/// Where the relay stands in its life; sessions watch it to stop at the right moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Serving.
    Running,
    /// Shutting down: sessions between transactions close with 421; transactions in flight
    /// may finish.
    Draining,
    /// The grace period is over: every session waiting on its client closes with 421.
    Closing,
}

/// A session's view of the phase.
pub type PhaseWatch = tokio::sync::watch::Receiver<Phase>;

/// Shared handle type for the context.
pub type Context = Arc<SessionContext>;
