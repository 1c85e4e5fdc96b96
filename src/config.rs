//! TOML configuration: typed, every key optional with a documented default, unknown keys
//! refused, and every error reported at once with its key path.
//!
//! Loading never binds a socket or opens a file other than the config itself, so
//! `dnc-relay check-config` is safe to run next to a live relay.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The example config shipped in `config/dnc-relay.toml`, used when no `--config` is given.
pub const SHIPPED: &str = include_str!("../config/dnc-relay.toml");

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for the store (`dnc.redb`), the admin socket (`admin.sock`), the decision log
    /// (`decisions.jsonl`) and a relative `capture:` outbox. Created with mode 0700. A relative
    /// path is resolved against the config file's directory (the working directory for the
    /// shipped config and for `--data-dir`).
    pub data_dir: PathBuf,
    /// The SMTP side: listeners, limits, timeouts.
    pub server: ServerConfig,
    /// Where accepted mail goes.
    pub upstream: UpstreamConfig,
    /// How recipients are matched against the list.
    pub policy: PolicyConfig,
    /// The redb store.
    pub store: StoreConfig,
    /// The admin socket.
    pub admin: AdminConfig,
    /// Operational and decision logs.
    pub log: LogConfig,
    /// Send records and audits.
    pub audit: AuditConfig,
    /// The relay's own TLS certificate (STARTTLS and implicit-TLS listeners).
    pub tls: TlsConfig,
    /// Client authentication.
    pub auth: AuthConfig,
    /// Named sets of senders: their unit (for unit-scoped entries) and operational exemptions.
    pub sender_groups: Vec<SenderGroup>,
    /// What mail is for, and which purposes need the recipient's consent.
    pub purposes: Vec<PurposeConfig>,
    /// How long a contact's consent outlives its last interaction.
    pub retention: RetentionConfig,
    /// Phone numbers on the list.
    pub phones: PhonesConfig,
    /// Erasure: the salt of hashed keys.
    pub erasure: ErasureConfig,
    /// Ownership locks ("one voice per prospect").
    pub locks: LocksConfig,
    /// The people (or teams, or tools) senders belong to, for ownership locks.
    pub owners: Vec<OwnerConfig>,
    /// Reading bounces, complaints and replies.
    pub feedback: FeedbackConfig,
    /// The one-click unsubscribe endpoint and its tokens.
    pub unsubscribe: UnsubscribeConfig,
    /// Who is told when it matters, by mail.
    pub notify: NotifyConfig,
    /// A fleet of relays sharing one list through PostgreSQL. Absent: a single relay on redb.
    pub cluster: Option<ClusterConfig>,
    /// The internal HTTP listener: `/metrics`, `/healthz` and the web console.
    pub http: HttpConfig,
    /// The web console's users and its session rules.
    pub console: ConsoleConfig,
    /// Alerts: which rules, and where they are delivered.
    pub alerts: AlertsConfig,
    /// A subcontractor's relay: follow a company's hashed feed. Absent: no feed is followed.
    pub replica: Option<ReplicaConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            server: ServerConfig::default(),
            upstream: UpstreamConfig::default(),
            policy: PolicyConfig::default(),
            store: StoreConfig::default(),
            admin: AdminConfig::default(),
            log: LogConfig::default(),
            audit: AuditConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            sender_groups: Vec::new(),
            purposes: Vec::new(),
            retention: RetentionConfig::default(),
            phones: PhonesConfig::default(),
            erasure: ErasureConfig::default(),
            locks: LocksConfig::default(),
            owners: Vec::new(),
            feedback: FeedbackConfig::default(),
            unsubscribe: UnsubscribeConfig::default(),
            notify: NotifyConfig::default(),
            http: HttpConfig::default(),
            console: ConsoleConfig::default(),
            alerts: AlertsConfig::default(),
            cluster: None,
            replica: None,
        }
    }
}

/// `[server]`: the SMTP listeners and the limits every session obeys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Addresses to listen on for SMTP, `"ip:port"`.
    pub listen: Vec<SocketAddr>,
    /// The name in the greeting and the EHLO reply. Defaults to the system host name.
    pub hostname: String,
    /// Most SMTP connections open at once; further clients get `421 4.3.2` and are closed.
    pub max_connections: usize,
    /// Most accepted recipients per message; more get `452 4.5.3`.
    pub max_recipients: usize,
    /// Largest message accepted (advertised as SIZE); larger ones get `552 5.3.4`.
    #[serde(with = "byte_size")]
    pub max_message_size: u64,
    /// Longest command line in bytes, CRLF included; longer lines get `500 5.5.2`.
    pub max_line_length: usize,
    /// How long to wait for the next command before `421 4.4.2` and close.
    #[serde(with = "duration")]
    pub command_timeout: Duration,
    /// How long to wait for more message data during DATA before `421 4.4.2` and close.
    #[serde(with = "duration")]
    pub data_timeout: Duration,
    /// On SIGTERM, how long transactions in flight may take to finish before their clients
    /// get `421 4.3.2`.
    #[serde(with = "duration")]
    pub shutdown_grace: Duration,
    /// Threads serving SMTP and admin connections; 0 means one per CPU.
    pub worker_threads: usize,
    /// Addresses to listen on with TLS from the first byte (port 465 style, RFC 8314).
    /// Needs `[tls]`.
    pub tls_listen: Vec<SocketAddr>,
    /// Clients that may relay without authenticating (CIDR). Everyone else must AUTH first,
    /// or gets `530 5.7.0` at MAIL.
    pub trusted_networks: Vec<ipnet::IpNet>,
    /// Most connections open at once from one client address.
    pub max_connections_per_client: usize,
    /// Most commands a session may send without starting a transaction (since its last MAIL);
    /// then `421 4.7.0` and close. Stops clients that cannot or do not send mail from probing.
    pub max_commands_without_mail: usize,
    /// Most errors (syntax, sequence, failed AUTH) in a session; then `421 4.7.0` and close.
    /// A policy refusal (550 for a listed recipient) is never an error.
    pub max_errors: usize,
    /// Slowest acceptable DATA transfer, in bytes per second, measured after its first 10
    /// seconds; slower clients get `421 4.4.2` (slowloris). 0 turns the floor off.
    pub data_min_rate: u64,
    /// Most bytes of message data held in memory by all sessions together. A message larger
    /// than 1 MiB, or one arriving while this budget is used up, continues in an unnamed
    /// private file in `data_dir` (mode 0600, gone when the message is done).
    #[serde(with = "byte_size")]
    pub message_memory: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 2525))],
            hostname: system_hostname(),
            max_connections: 1000,
            max_recipients: 100,
            max_message_size: 10 * 1024 * 1024,
            max_line_length: 2048,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            shutdown_grace: Duration::from_secs(30),
            worker_threads: 0,
            tls_listen: Vec::new(),
            trusted_networks: vec![
                "127.0.0.0/8".parse().expect("valid CIDR"),
                "::1/128".parse().expect("valid CIDR"),
            ],
            max_connections_per_client: 100,
            max_commands_without_mail: 100,
            max_errors: 20,
            data_min_rate: 1024,
            message_memory: 64 * 1024 * 1024,
        }
    }
}

/// `[upstream]`: the MTA that receives everything the policy lets through.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `smtp://host:port`, `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port`
    /// (implicit TLS) or `capture:DIR` (write each message to DIR as an .eml file; a relative
    /// DIR is under `data_dir`).
    pub url: UpstreamUrl,
    /// The name sent in EHLO to the upstream. Defaults to `server.hostname`.
    pub hello_name: Option<String>,
    /// Most upstream connections open at once (in use plus idle in the pool).
    pub max_connections: usize,
    /// Longest wait for a TCP connect (and TLS handshake) to the upstream.
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// Longest wait for the upstream's reply to one command (greeting, EHLO, MAIL, RCPT, DATA).
    #[serde(with = "duration")]
    pub command_timeout: Duration,
    /// Longest wait for the upstream's reply after the message data has been sent.
    #[serde(with = "duration")]
    pub data_timeout: Duration,
    /// How long an idle upstream connection is kept in the pool for reuse.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// A PEM file of extra CA certificates to trust for the upstream's TLS certificate.
    pub ca_file: Option<PathBuf>,
    /// Most upstream connections one client address may hold at once, so that one client
    /// (or one attacker holding transactions open) cannot take the whole pool. A client over
    /// its share waits up to `connect_timeout`, then gets `451 4.4.1`.
    pub max_connections_per_client: usize,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            url: UpstreamUrl::Capture(PathBuf::from("outbox")),
            hello_name: None,
            max_connections: 64,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(30),
            ca_file: None,
            max_connections_per_client: 32,
        }
    }
}

/// `[policy]`: matching rules that can be tuned.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// The sub-address separator: `bob+news@x` is also checked as `bob@x`. An empty string turns
    /// tag stripping off.
    pub tag_separator: String,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            tag_separator: "+".into(),
        }
    }
}

/// `[store]`: the redb database.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The database file. Defaults to `data_dir/dnc.redb`.
    pub path: Option<PathBuf>,
    /// Memory for redb's page cache; lookups beyond it read from the page cache of the OS.
    #[serde(with = "byte_size")]
    pub cache_size: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: None,
            cache_size: 64 * 1024 * 1024,
        }
    }
}

/// `[admin]`: the Unix socket the CLI talks to, and who may do what through it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The socket path (created with mode 0660). Defaults to `data_dir/admin.sock`.
    pub socket: Option<PathBuf>,
    /// The unix group (name or number) that owns the socket, so its members can reach it.
    pub socket_group: Option<String>,
    /// Unix user name or numeric uid -> role (`sdr`, `manager`, `ops`, `admin`). Root is
    /// always `admin`; a user not listed here is refused.
    pub roles: std::collections::BTreeMap<String, crate::model::Role>,
}

/// `[tls]`: the relay's own certificate.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first). With `key_file`, enables STARTTLS on every plain
    /// listener and the `tls_listen` listeners.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

/// `[auth]`: who may authenticate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Offer AUTH without TLS on listeners bound to a loopback address (local tools that cannot
    /// do TLS). Elsewhere AUTH is offered only after STARTTLS or on `tls_listen`.
    pub allow_plaintext_on_loopback: bool,
    /// The accounts (`[[auth.users]]`).
    pub users: Vec<AuthUser>,
    /// Failed AUTH attempts allowed from one client address, or for one user name, within
    /// `lockout`; each failure is answered after a growing delay, and past this number AUTH
    /// gets `454 4.7.0` until `lockout` has passed since the last failure.
    pub max_failures: u32,
    /// How long a client address or user name stays throttled after too many failures.
    #[serde(with = "duration")]
    pub lockout: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            allow_plaintext_on_loopback: false,
            users: Vec::new(),
            max_failures: 10,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// `[[auth.users]]`: one account for AUTH PLAIN and LOGIN.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthUser {
    /// The user name clients authenticate as.
    pub name: String,
    /// An argon2 PHC string from `dnc-relay hash-password`.
    pub password_hash: String,
    /// If not empty, the MAIL FROM addresses this user may use (addresses or `@domains`);
    /// others get `553 5.7.1`.
    pub senders: Vec<String>,
}

/// `[audit]`: send records.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// How long each relayed or refused recipient is kept in the store for audits; older
    /// records are pruned in the background.
    #[serde(with = "duration")]
    pub send_retention: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            send_retention: Duration::from_secs(400 * 86_400),
        }
    }
}

/// `[[sender_groups]]`: senders that belong together.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SenderGroup {
    /// A name for logs and the decision log.
    pub name: String,
    /// The unit (brand, business unit) of these senders: entries scoped to this unit bind
    /// them, entries scoped to other units do not.
    pub unit: Option<String>,
    /// Who is in the group: addresses (`billing@acme.example`), domains with their
    /// subdomains (`@invoices.acme.example`), authenticated users (`user:billing-bot`).
    pub senders: Vec<String>,
    /// Reasons these senders may ignore (operational mail: invoices still reach a customer who
    /// unsubscribed from prospecting). `hard-bounce`, `complaint` and `legal` are refused.
    pub exempt_reasons: Vec<crate::model::Reason>,
    /// Transactional mail (invoices, password resets): these senders neither take nor respect
    /// ownership locks.
    pub transactional: bool,
    /// Add `List-Unsubscribe` (a one-click link and a `mailto:`) and `List-Unsubscribe-Post`
    /// (RFC 8058) to each relayed message, one token per recipient: these senders then send
    /// one recipient per transaction (a second RCPT gets `452 4.5.3`). Needs
    /// `[unsubscribe] base_url`.
    pub list_unsubscribe: bool,
    /// What an unsubscribe from these senders' mail suppresses: `all` (every sender) or
    /// `unit` (this group's unit only).
    pub unsubscribe_scope: UnsubscribeScope,
    /// Rewrite `MAIL FROM` to `bounces+TOKEN@` the first feedback domain (VERP), TOKEN
    /// naming the recipient, the sender and the time: bounces then come back to the feedback
    /// listener and name their recipient even when their text does not. One recipient per
    /// transaction, as with `list_unsubscribe`. Needs `[feedback] domains`.
    pub return_path: bool,
    /// With `return_path`: forward each bounce, once recorded, to the original sender (the
    /// sending tool still sees its bounces). `false` keeps them.
    #[serde(default = "yes")]
    pub forward_bounces: bool,
    /// The purpose of these senders' mail (`[[purposes]] name`). A purpose that requires
    /// consent makes the relay refuse every recipient without a consent in force for it.
    pub purpose: Option<String>,
}

/// `[erasure]`: what erased contacts' records keep.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ErasureConfig {
    /// The per-installation salt of hashed keys (64 hex digits, created mode 0600 when
    /// missing), kept outside the store. Default: `data_dir/erasure.salt`. Keep it with the
    /// store's backups: erased contacts are refused through it.
    pub salt_file: Option<PathBuf>,
}

/// `[replica]`: a subcontractor's relay follows a company's hashed feed and refuses, on its
/// own wire, the recipients the company's list holds, without ever receiving an address.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaConfig {
    /// The company relay's feed, `https://dnc.example.com/feed` (plain `http://` only on a
    /// loopback address: the token must not cross a network in clear).
    pub feed: String,
    /// The file holding the bearer token the company gave this subcontractor
    /// (`dnc-relay feed add NAME` on the company's relay). Keep it mode 0600.
    pub token_file: PathBuf,
    /// Extra CA certificates (PEM) to verify the company relay with, besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Recipients get `451 4.3.0` when the relay has not held everything the feed had for
    /// longer than this (and until its first full pull): it never mails from a stale copy.
    #[serde(default = "default_feed_max_lag", with = "duration")]
    pub max_lag: Duration,
}

fn default_feed_max_lag() -> Duration {
    Duration::from_secs(120)
}

/// `[phones]`: phone numbers on the list (for the dialers that share it).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhonesConfig {
    /// The country (`FR`, `US`) a number written without `+CC` is read in; absent: numbers
    /// must be written with their country code.
    pub default_country: Option<String>,
}

/// `[retention]`: contacts inactive for long are dropped from mail that needs consent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// A consent lapses once the contact's last interaction (a reply, a click, a form, a
    /// call, a consent, a lift it asked for; never a mail we sent) is this old. `"36 months"`
    /// is the French regulator's rule of thumb for prospects.
    #[serde(with = "duration")]
    pub inactive_after: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            // 36 months of 30.44 days, as humantime reads "36 months".
            inactive_after: Duration::from_secs(36 * 2_630_016),
        }
    }
}

/// `[[purposes]]`: what mail is for (prospecting, a newsletter, transactional), and whether
/// its recipients must have consented.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PurposeConfig {
    /// The name (`newsletter`), used by sender groups and `consent add --purpose`.
    pub name: String,
    /// Relay only to recipients with a recorded consent in force for this purpose; others
    /// get `550 5.7.1 <rcpt>: no consent recorded for NAME`.
    pub requires_consent: bool,
    /// A consent lasts this long after it was given (absent: until withdrawn).
    #[serde(default, with = "duration_opt")]
    pub consent_lasts: Option<Duration>,
    /// What it is, for people reading the config and `consent show`.
    pub description: String,
}

fn yes() -> bool {
    true
}

/// `[notify]`: notifications by mail, through the upstream, from the store's outbox.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Told of every opt-out by reply, complaint or click.
    pub ops: Vec<String>,
    /// Told of every lift request (the people who may approve: ops and up).
    pub approvers: Vec<String>,
    /// Unix users' addresses (`alice = "alice@acme.example"`): a lift's requester is told of
    /// its decision there.
    pub users: std::collections::BTreeMap<String, String>,
    /// The sender of notifications. Default: `dnc-relay@` the server's host name.
    pub from: Option<String>,
    /// At most one mail per person per interval; what comes in between goes in one digest.
    #[serde(with = "duration")]
    pub digest: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            ops: Vec::new(),
            approvers: Vec::new(),
            users: std::collections::BTreeMap::new(),
            from: None,
            digest: Duration::from_secs(600),
        }
    }
}

/// `[http]`: the internal HTTP listener (`/metrics`, `/healthz`, the console). Never the
/// same listener as the public unsubscribe endpoint.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Addresses to listen on (keep them internal). Empty (the default): no listener.
    pub listen: Vec<SocketAddr>,
    /// Serve HTTPS with the relay's `[tls]` certificate (the console's cookies are then
    /// `Secure`). Without it, put the listener on loopback or behind a TLS proxy.
    pub tls: bool,
    /// The host names the listener answers to besides IP addresses and `localhost` (a
    /// request for any other `Host` gets `421`: no DNS rebinding from an operator's browser).
    pub hosts: Vec<String>,
}

/// `[console]`: who may log in to the web console, and its session rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The console's accounts (`[[console.users]]`); none: the console answers only its
    /// login page, and nobody can log in.
    pub users: Vec<ConsoleUser>,
    /// A session unused for this long is ended (the user logs in again).
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// Failed logins allowed for one user name, or from one client address, within
    /// `login_lockout`; past it, logins are refused until `login_lockout` has passed.
    pub max_login_failures: u32,
    /// How long a user name or client address stays locked out.
    #[serde(with = "duration")]
    pub login_lockout: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            users: Vec::new(),
            idle_timeout: Duration::from_secs(30 * 60),
            max_login_failures: 5,
            login_lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// One console account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleUser {
    /// The login name: the person's unix login name when they have one (the two-person
    /// rule of lifts takes `console:NAME` and the unix user `NAME` for one person). The
    /// console records actions as `console:NAME`.
    pub name: String,
    /// An argon2 hash from `dnc-relay hash-password`.
    pub password_hash: String,
    /// The role, as on the admin socket: `sdr` (the default), `manager`, `ops`, `admin`.
    pub role: crate::model::Role,
}

impl Default for ConsoleUser {
    fn default() -> Self {
        ConsoleUser {
            name: String::new(),
            password_hash: String::new(),
            role: crate::model::Role::Sdr,
        }
    }
}

/// `[alerts]`: the rules that raise alerts, and where alerts go. Every alert is recorded in
/// the store (`dnc-relay alerts list`), then posted to `webhook` and mailed to `email`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// An `https://` (or `http://`) URL that gets each alert as a JSON POST, retried with
    /// backoff until it answers 2xx.
    pub webhook: Option<String>,
    /// A file whose first line is sent as `Authorization: Bearer ...` to the webhook.
    pub webhook_token_file: Option<PathBuf>,
    /// Addresses mailed each alert (through the outbox and the upstream).
    pub email: Vec<String>,
    /// How often the rules are evaluated.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Alert on every lift approved.
    pub lift_approved: bool,
    /// Unsubscribes, complaints or hard bounces in the last hour, per sender group and per
    /// sender, at or above this many...
    pub spike_threshold: u64,
    /// ...and above this many times their trailing 7-day hourly average, raise an alert.
    pub spike_factor: f64,
    /// Complaints over this share of the recipients relayed in the last 24 hours (0.001 is
    /// 0.1%) raise an alert...
    pub complaint_rate: f64,
    /// ...once at least this many recipients were relayed in those 24 hours.
    pub complaint_rate_min_relayed: u64,
    /// An import of at least this many rows raises an alert (0: never).
    pub import_burst: u64,
    /// At least this many feedback messages in one hour raise an alert (0: never).
    pub feedback_burst: u64,
    /// Alert when this fleet relay's replica stops being current (and again when it is).
    pub replica_behind: bool,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            webhook: None,
            webhook_token_file: None,
            email: Vec::new(),
            interval: Duration::from_secs(60),
            lift_approved: true,
            spike_threshold: 20,
            spike_factor: 3.0,
            complaint_rate: 0.001,
            complaint_rate_min_relayed: 1000,
            import_burst: 10_000,
            feedback_burst: 500,
            replica_behind: true,
        }
    }
}

/// What an unsubscribe click or mail suppresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnsubscribeScope {
    /// The recipient, for every sender.
    #[default]
    All,
    /// The recipient, for the senders of the group's unit.
    Unit,
}

/// `[unsubscribe]`: the one-click unsubscribe endpoint (RFC 8058) and its tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnsubscribeConfig {
    /// Addresses of the HTTP listener for `/u/TOKEN` (behind a TLS-terminating proxy, or
    /// reached through `base_url`). Empty (the default): no listener.
    pub listen: Vec<SocketAddr>,
    /// The public base of the links, e.g. `https://unsubscribe.acme.example` (the link is
    /// `BASE/u/TOKEN`). Needed by sender groups with `list_unsubscribe`.
    pub base_url: Option<String>,
    /// The token key (64 hex digits), created (mode 0600) if missing. Default:
    /// `data_dir/token.key`. Keep it: links in mail already sent stop working without it.
    pub key_file: Option<PathBuf>,
    /// How long a link keeps working after its message was sent.
    #[serde(with = "duration")]
    pub token_lifetime: Duration,
    /// Requests per minute one client address may make; more get `429`.
    pub max_requests_per_minute: u32,
    /// Serve HTTPS with the relay's certificate (`[tls] cert_file`, `key_file`) instead of
    /// plain HTTP behind a TLS-terminating proxy. The hashed feed's subscribers need HTTPS.
    pub tls: bool,
}

impl Default for UnsubscribeConfig {
    fn default() -> Self {
        UnsubscribeConfig {
            listen: Vec::new(),
            base_url: None,
            key_file: None,
            token_lifetime: Duration::from_secs(400 * 86_400),
            max_requests_per_minute: 30,
            tls: false,
        }
    }
}

/// `[cluster]`: many relays, one list. PostgreSQL holds the history (the log) and the lock
/// claims; each relay's redb is a replica it applies the log to, and RCPTs read only that.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The database, as a URL: `postgres://USER@HOST:PORT/DB` (TLS with verification unless
    /// `sslmode=prefer` or `disable` says otherwise). Keep the
    /// password out of it: `password_file` or the `PGPASSWORD` environment variable.
    pub postgres: String,
    /// A file holding the password (its first line), read at start.
    pub password_file: Option<PathBuf>,
    /// This relay's name in the fleet, unique (`cluster status` lists nodes by it).
    pub node: String,
    /// A relay that has not confirmed it is current within this long answers new recipients
    /// `451 4.3.0` until it is current again.
    #[serde(with = "duration")]
    pub max_lag: Duration,
    /// How long a lock claim at RCPT may take in PostgreSQL before the recipient gets
    /// `451 4.3.0`.
    #[serde(with = "duration")]
    pub claim_timeout: Duration,
    /// Connections to PostgreSQL for lock claims at RCPT (the log and the follower have one
    /// each besides).
    pub pool_size: usize,
    /// CA certificates (PEM) for the database's TLS certificate, besides the system roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            postgres: String::new(),
            password_file: None,
            node: String::new(),
            max_lag: Duration::from_secs(5),
            claim_timeout: Duration::from_secs(2),
            pool_size: 8,
            ca_file: None,
        }
    }
}

/// How a kind of ownership lock is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Another owner's RCPT gets `550 5.7.1` naming the owner and the expiry.
    Block,
    /// Another owner's RCPT is accepted with the warning in the reply and the decision log.
    Warn,
    /// Not enforced, not taken.
    Off,
}

/// `[locks]`: ownership locks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocksConfig {
    /// Contact locks: `block`, `warn` or `off`. Unset: `block` once `[[owners]]` are
    /// defined, `warn` before (without owners every mailbox is its own owner, and refusing a
    /// colleague's first message for 30 days is not what someone who came for the
    /// do-not-contact list expects).
    pub contact: Option<LockMode>,
    /// Account (recipient domain) locks: `block`, `warn` or `off`.
    pub account: LockMode,
    /// How long a lock lasts after its owner's last relayed message.
    #[serde(with = "duration")]
    pub ttl: Duration,
    /// Domains never account-locked (many unrelated people share them).
    pub free_mail_domains: Vec<String>,
}

impl Config {
    /// The contact-lock mode in force: the one set, else `block` with owners, `warn` without.
    pub fn contact_lock_mode(&self) -> LockMode {
        self.locks.contact.unwrap_or(if self.owners.is_empty() {
            LockMode::Warn
        } else {
            LockMode::Block
        })
    }
}

/// The free-mail domains never account-locked by default.
pub const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "t-online.de",
    "orange.fr",
    "free.fr",
    "libero.it",
    "wanadoo.fr",
    "laposte.net",
    "sfr.fr",
    "hotmail.fr",
    "yahoo.fr",
    "live.fr",
    "outlook.fr",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "btinternet.com",
];

impl Default for LocksConfig {
    fn default() -> Self {
        LocksConfig {
            contact: None,
            account: LockMode::Warn,
            ttl: Duration::from_secs(30 * 86_400),
            free_mail_domains: FREE_MAIL_DOMAINS.iter().map(|d| d.to_string()).collect(),
        }
    }
}

/// `[feedback]`: reading bounces, complaints and replies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackConfig {
    /// Addresses of the feedback SMTP listener (what a bounce or feedback subdomain's MX points
    /// at, or where a shared replies mailbox is forwarded). Empty (the default): no listener.
    /// Same limits and TLS (STARTTLS) as `[server]`; no AUTH needed, mail only for `domains`.
    pub listen: Vec<SocketAddr>,
    /// The domains the feedback listener takes mail for (e.g. `fb.example.com`); a recipient
    /// in any other domain is refused `550 5.7.1` and nothing is ever relayed from there.
    /// They count as our own domains: feedback never suppresses them.
    pub domains: Vec<String>,
    /// Connections the feedback listener serves at once (its own share, apart from
    /// `[server] max_connections`); more get `421 4.3.2`.
    pub max_connections: usize,
    /// Connections from one address to the feedback listener.
    pub max_connections_per_client: usize,
    /// Messages waiting in the feedback inbox beyond which the listener answers
    /// `452 4.3.1` (the sending MTA keeps them): a flood cannot fill the store's disk.
    pub max_waiting: u64,
    /// Our own domains (and their subdomains), besides those of `[[sender_groups]]` and
    /// `[[owners]]`: feedback never suppresses them, whatever a message says.
    pub internal_domains: Vec<String>,
    /// "Not interested" replies: `log` (counted, nothing suppressed) or `suppress`.
    pub not_interested: NotInterested,
    /// The rules file: the phrases and patterns the classifier looks for. Unset: the shipped
    /// `config/feedback-rules.toml` (built in).
    pub rules: Option<PathBuf>,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            listen: Vec::new(),
            domains: Vec::new(),
            max_connections: 100,
            max_connections_per_client: 10,
            max_waiting: 10_000,
            internal_domains: Vec::new(),
            not_interested: NotInterested::default(),
            rules: None,
        }
    }
}

/// What a "not interested" reply does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotInterested {
    /// Logged and counted; nothing suppressed.
    #[default]
    Log,
    /// Suppressed with reason `not-interested`.
    Suppress,
}

impl Config {
    /// Our own domains: `[feedback] internal_domains` and the domains of the sender identities
    /// of sender groups and owners.
    pub fn internal_domains(&self) -> Vec<String> {
        let identities = self
            .sender_groups
            .iter()
            .flat_map(|g| g.senders.iter())
            .chain(self.owners.iter().flat_map(|o| o.senders.iter()));
        let mut out: Vec<String> = self.feedback.internal_domains.clone();
        out.extend(self.feedback.domains.iter().cloned());
        for s in identities {
            let domain = match crate::sender::SenderPattern::parse(s) {
                Ok(crate::sender::SenderPattern::Address(a)) => {
                    a.rsplit('@').next().unwrap_or("").to_string()
                }
                Ok(crate::sender::SenderPattern::Domain(d)) => d,
                _ => continue,
            };
            if !domain.is_empty() && !out.contains(&domain) {
                out.push(domain);
            }
        }
        out
    }
}

/// `[[owners]]`: one owner and the sender identities that are them.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OwnerConfig {
    /// The owner's name, shown in refusals (`owned by sam`).
    pub name: String,
    /// The owner's team.
    pub team: Option<String>,
    /// Addresses, `@domains` (every mailbox of a sending domain) and `user:NAME`
    /// (authenticated users) that are this owner: a rep who switches mailbox or domain stays
    /// the same owner.
    pub senders: Vec<String>,
    /// Where the owner is told when a contact of theirs opts out (by reply, complaint or
    /// click). Unset: an owner that is a mailbox is told there.
    pub notify: Vec<String>,
}

/// `[log]`: where logs go.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// The decision log, one JSON object per line. Defaults to `data_dir/decisions.jsonl`.
    pub decisions: Option<PathBuf>,
    /// Operational log format on stderr: `text` or `json`.
    pub format: LogFormat,
    /// Operational log level (`error`, `warn`, `info`, `debug`, `trace`, or a tracing filter).
    /// `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            decisions: None,
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// The operational log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// How to reach the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum UpstreamUrl {
    /// An SMTP server.
    Smtp {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
        /// How TLS is used.
        tls: UpstreamTls,
    },
    /// Write each message to this directory (relative: under `data_dir`).
    Capture(PathBuf),
}

/// TLS towards the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamTls {
    /// Plain SMTP (`smtp://`).
    None,
    /// STARTTLS, refusing to send if the upstream does not offer it (`smtp://...?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

impl TryFrom<String> for UpstreamUrl {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl std::str::FromStr for UpstreamUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(dir) = s.strip_prefix("capture:") {
            if dir.is_empty() {
                return Err("capture: needs a directory, as in capture:outbox".into());
            }
            return Ok(UpstreamUrl::Capture(PathBuf::from(dir)));
        }
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            format!("'{s}' is not an upstream URL (smtp://, smtps:// or capture:DIR)")
        })?;
        let (mut tls, default_port) = match scheme {
            "smtp" => (UpstreamTls::None, 25),
            "smtps" => (UpstreamTls::Implicit, 465),
            other => return Err(format!("unknown upstream scheme '{other}'")),
        };
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a.trim_end_matches('/'), Some(q)),
            None => (rest.trim_end_matches('/'), None),
        };
        if let Some(query) = query {
            for pair in query.split('&') {
                match pair {
                    "tls=required" if scheme == "smtp" => tls = UpstreamTls::StartTls,
                    "tls=none" if scheme == "smtp" => tls = UpstreamTls::None,
                    other => return Err(format!("unknown upstream URL option '{other}'")),
                }
            }
        }
        let (host, port) = split_host_port(authority, default_port)?;
        Ok(UpstreamUrl::Smtp { host, port, tls })
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("unclosed '[' in '{authority}'"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in '{authority}'"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("bad port '{p}'"))?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamUrl::Capture(dir) => write!(f, "capture:{}", dir.display()),
            UpstreamUrl::Smtp { host, port, tls } => {
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                match tls {
                    UpstreamTls::None => write!(f, "smtp://{host}:{port}"),
                    UpstreamTls::StartTls => write!(f, "smtp://{host}:{port}?tls=required"),
                    UpstreamTls::Implicit => write!(f, "smtps://{host}:{port}"),
                }
            }
        }
    }
}

/// One problem in a config, with the key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The dotted key path (`server.max_recipients`), or empty for a syntax error.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Every problem found in a config, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file, or `<shipped>` for the embedded default.
    pub origin: String,
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{}: {n} config error{}",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Command-line values that replace what the file says.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `server.listen` when not empty.
    pub listen: Vec<SocketAddr>,
    /// Replaces `upstream.url`.
    pub upstream: Option<String>,
    /// Replaces `data_dir` and puts the store, socket and decision log under it.
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads a config file, or the shipped default when `path` is `None`, and makes every
    /// relative path in it absolute: against the file's directory, or the working directory
    /// for the shipped config. Where the relay keeps its data must not depend on where it was
    /// started from (a relay started elsewhere would find no store and start empty).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut config = match path {
            None => Config::parse(SHIPPED, "<shipped config>")?,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
                    origin: path.display().to_string(),
                    errors: vec![ConfigError {
                        key: String::new(),
                        message: format!("cannot read the file: {e}"),
                    }],
                })?;
                Config::parse(&text, &path.display().to_string())?
            }
        };
        // Through links to the file itself: two links to one config mean one data directory.
        let real = path.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| cwd.join(p)));
        let base = match real.as_deref().and_then(Path::parent) {
            Some(dir) => dir.to_path_buf(),
            None => cwd,
        };
        config.resolve_paths(&base);
        Ok(config)
    }

    /// Makes every relative path absolute against `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.data_dir);
        for p in [
            &mut self.store.path,
            &mut self.admin.socket,
            &mut self.log.decisions,
            &mut self.tls.cert_file,
            &mut self.tls.key_file,
            &mut self.upstream.ca_file,
            &mut self.feedback.rules,
            &mut self.unsubscribe.key_file,
        ]
        .into_iter()
        .flatten()
        {
            resolve(p);
        }
        if let Some(replica) = &mut self.replica {
            resolve(&mut replica.token_file);
            if let Some(p) = &mut replica.ca_file {
                resolve(p);
            }
        }
        if let Some(cluster) = &mut self.cluster {
            for p in [&mut cluster.password_file, &mut cluster.ca_file]
                .into_iter()
                .flatten()
            {
                resolve(p);
            }
        }
    }

    /// Parses config text, collecting every error with its key path.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        let fail = |errors| ConfigErrors {
            origin: origin.to_string(),
            errors,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            fail(vec![ConfigError {
                key: String::new(),
                message: syntax_error(text, &e),
            }])
        })?;
        let mut errors = Vec::new();
        check_keys::<Config>("", &table, &mut errors, |key, value, errors| {
            if check_arrays(key, value, errors) {
                return true;
            }
            let Some(section) = value.as_table() else {
                return false;
            };
            let prefix = format!("{key}.");
            match key {
                "server" => check_keys::<ServerConfig>(&prefix, section, errors, no_nested),
                "upstream" => check_keys::<UpstreamConfig>(&prefix, section, errors, no_nested),
                "policy" => check_keys::<PolicyConfig>(&prefix, section, errors, no_nested),
                "store" => check_keys::<StoreConfig>(&prefix, section, errors, no_nested),
                "admin" => check_keys::<AdminConfig>(&prefix, section, errors, no_nested),
                "log" => check_keys::<LogConfig>(&prefix, section, errors, no_nested),
                "audit" => check_keys::<AuditConfig>(&prefix, section, errors, no_nested),
                "tls" => check_keys::<TlsConfig>(&prefix, section, errors, no_nested),
                "locks" => check_keys::<LocksConfig>(&prefix, section, errors, no_nested),
                "feedback" => check_keys::<FeedbackConfig>(&prefix, section, errors, no_nested),
                "notify" => check_keys::<NotifyConfig>(&prefix, section, errors, no_nested),
                "http" => check_keys::<HttpConfig>(&prefix, section, errors, no_nested),
                "alerts" => check_keys::<AlertsConfig>(&prefix, section, errors, no_nested),
                "phones" => check_keys::<PhonesConfig>(&prefix, section, errors, no_nested),
                "erasure" => check_keys::<ErasureConfig>(&prefix, section, errors, no_nested),
                "retention" => check_keys::<RetentionConfig>(&prefix, section, errors, no_nested),
                "console" => {
                    check_keys::<ConsoleConfig>(&prefix, section, errors, |key, value, errors| {
                        let (Some(users), "users") = (value.as_array(), key) else {
                            return false;
                        };
                        for (i, user) in users.iter().enumerate() {
                            if let Some(user) = user.as_table() {
                                let prefix = format!("console.users[{i}].");
                                check_keys::<ConsoleUser>(&prefix, user, errors, no_nested);
                            }
                        }
                        true
                    })
                }
                "unsubscribe" => {
                    check_keys::<UnsubscribeConfig>(&prefix, section, errors, no_nested)
                }
                "auth" => {
                    check_keys::<AuthConfig>(&prefix, section, errors, |key, value, errors| {
                        let (Some(users), "users") = (value.as_array(), key) else {
                            return false;
                        };
                        for (i, user) in users.iter().enumerate() {
                            if let Some(user) = user.as_table() {
                                let prefix = format!("auth.users[{i}].");
                                check_keys::<AuthUser>(&prefix, user, errors, no_nested);
                            }
                        }
                        true
                    })
                }
                _ => return false,
            }
            true
        });
        if !errors.is_empty() {
            return Err(fail(errors));
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                fail(vec![ConfigError {
                    key: e.path().to_string(),
                    message: e.inner().to_string(),
                }])
            })?;
        config.validate().map_err(fail)?;
        Ok(config)
    }

    /// Applies command-line overrides, then validates again.
    pub fn apply(&mut self, overrides: &Overrides) -> Result<(), ConfigErrors> {
        let fail = |key: &str, message: String| ConfigErrors {
            origin: "command line".into(),
            errors: vec![ConfigError {
                key: key.into(),
                message,
            }],
        };
        if !overrides.listen.is_empty() {
            self.server.listen = overrides.listen.clone();
        }
        if let Some(url) = &overrides.upstream {
            self.upstream.url = url.parse().map_err(|e| fail("--upstream", e))?;
        }
        if let Some(dir) = &overrides.data_dir {
            // A command-line path is relative to where the command runs.
            self.data_dir = match std::env::current_dir() {
                Ok(cwd) if dir.is_relative() => cwd.join(dir),
                _ => dir.clone(),
            };
            self.store.path = None;
            self.admin.socket = None;
            self.log.decisions = None;
        }
        self.validate().map_err(|errors| ConfigErrors {
            origin: "command line".into(),
            errors,
        })
    }

    /// Checks what serde cannot: values that depend on each other or must be non-zero.
    fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut err = |key: &str, message: &str| {
            errors.push(ConfigError {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.data_dir.as_os_str().is_empty() {
            err("data_dir", "must not be empty");
        }
        let s = &self.server;
        self.validate_server(&mut err);
        self.validate_cluster(&mut err);
        for (key, d) in [
            ("server.command_timeout", s.command_timeout),
            ("server.data_timeout", s.data_timeout),
            ("upstream.connect_timeout", self.upstream.connect_timeout),
            ("upstream.command_timeout", self.upstream.command_timeout),
            ("upstream.data_timeout", self.upstream.data_timeout),
        ] {
            if d.is_zero() {
                err(key, "must be longer than zero");
            }
        }
        if self.upstream.max_connections == 0 {
            err("upstream.max_connections", "must be at least 1");
        }
        if self.upstream.max_connections_per_client == 0 {
            err("upstream.max_connections_per_client", "must be at least 1");
        }
        if s.message_memory < 1024 * 1024 {
            err("server.message_memory", "must be at least 1 MiB");
        }
        if self.auth.max_failures == 0 {
            err("auth.max_failures", "must be at least 1");
        }
        if self.auth.lockout.is_zero() {
            err("auth.lockout", "must be longer than zero");
        }
        if let Some(name) = &self.upstream.hello_name {
            if name.trim().is_empty() || name.contains(char::is_whitespace) {
                err("upstream.hello_name", "must be a host name without spaces");
            }
        }
        if self.policy.tag_separator.chars().count() > 1 {
            err(
                "policy.tag_separator",
                "must be one character, or empty to turn tag stripping off",
            );
        }
        if self.store.cache_size < 1024 * 1024 {
            err("store.cache_size", "must be at least 1 MiB");
        }
        if s.max_connections_per_client == 0 {
            err("server.max_connections_per_client", "must be at least 1");
        }
        if s.max_commands_without_mail == 0 {
            err("server.max_commands_without_mail", "must be at least 1");
        }
        if s.max_errors == 0 {
            err("server.max_errors", "must be at least 1");
        }
        match (&self.tls.cert_file, &self.tls.key_file) {
            (Some(_), None) => err("tls.key_file", "cert_file needs key_file"),
            (None, Some(_)) => err("tls.cert_file", "key_file needs cert_file"),
            (None, None) if !s.tls_listen.is_empty() => {
                err("server.tls_listen", "needs [tls] cert_file and key_file")
            }
            _ => {}
        }
        self.validate_users(&mut err);
        if self.locks.ttl < Duration::from_secs(60) {
            err("locks.ttl", "must be at least a minute");
        }
        if self.audit.send_retention < Duration::from_secs(86_400) {
            err("audit.send_retention", "must be at least one day");
        }
        if let Some(group) = &self.admin.socket_group {
            if group.trim().is_empty() {
                err("admin.socket_group", "must name a group");
            }
        }
        self.validate_senders(&mut err);
        self.validate_feedback(&mut err);
        self.validate_unsubscribe(&mut err);
        self.validate_http(&mut err);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The `[server]` numbers that must be positive or within bounds.
    fn validate_server(&self, err: &mut dyn FnMut(&str, &str)) {
        let s = &self.server;
        if s.listen.is_empty() {
            err("server.listen", "at least one address is needed");
        }
        if s.hostname.trim().is_empty() || s.hostname.contains(char::is_whitespace) {
            err("server.hostname", "must be a host name without spaces");
        }
        if s.max_connections == 0 {
            err("server.max_connections", "must be at least 1");
        }
        if s.max_recipients == 0 {
            err("server.max_recipients", "must be at least 1");
        }
        if s.max_message_size < 1024 {
            err("server.max_message_size", "must be at least 1 KiB");
        }
        if s.max_line_length < 512 {
            err(
                "server.max_line_length",
                "must be at least 512 (RFC 5321 command line)",
            );
        }
    }

    /// `[feedback]`: a listener needs domains to take mail for, and each must be a domain.
    fn validate_feedback(&self, err: &mut dyn FnMut(&str, &str)) {
        let f = &self.feedback;
        if f.max_connections == 0 || f.max_connections_per_client == 0 || f.max_waiting == 0 {
            err(
                "feedback.max_connections",
                "max_connections, max_connections_per_client and max_waiting must be at least 1",
            );
        }
        if !f.listen.is_empty() && f.domains.is_empty() {
            err(
                "feedback.domains",
                "the feedback listener needs the domains it takes mail for",
            );
        }
        for d in &f.domains {
            match crate::address::normalize_domain(d) {
                Ok(n) if n.contains('.') => {}
                _ => err(
                    "feedback.domains",
                    &format!("{d:?} is not a domain name (like fb.example.com)"),
                ),
            }
        }
        let main: Vec<&SocketAddr> = self
            .server
            .listen
            .iter()
            .chain(&self.server.tls_listen)
            .collect();
        if let Some(a) = f.listen.iter().find(|a| main.contains(a)) {
            err(
                "feedback.listen",
                &format!("{a} is also a [server] listener; the feedback listener needs its own"),
            );
        }
    }

    /// `[unsubscribe]` and the sender groups that add List-Unsubscribe.
    fn validate_cluster(&self, err: &mut dyn FnMut(&str, &str)) {
        let Some(c) = &self.cluster else {
            return;
        };
        if !(c.postgres.starts_with("postgres://") || c.postgres.starts_with("postgresql://")) {
            err(
                "cluster.postgres",
                "must be a URL like postgres://dnc@db.example.com/dnc",
            );
        } else if c.postgres.parse::<tokio_postgres::Config>().is_err() {
            err("cluster.postgres", "is not a valid PostgreSQL URL");
        }
        let node_ok = !c.node.is_empty()
            && c.node.len() <= 64
            && c.node
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'));
        if !node_ok {
            err(
                "cluster.node",
                "must be this relay's name: 1 to 64 letters, digits, '-', '_' or '.'",
            );
        }
        if c.max_lag < Duration::from_millis(500) || c.max_lag > Duration::from_secs(600) {
            // Longer would let a relay decide from a list minutes old: not a lag bound.
            err("cluster.max_lag", "must be between 500ms and 10m");
        }
        if c.claim_timeout.is_zero() {
            err("cluster.claim_timeout", "must be positive");
        }
        if !(1..=256).contains(&c.pool_size) {
            err("cluster.pool_size", "must be between 1 and 256");
        }
    }

    fn validate_unsubscribe(&self, err: &mut dyn FnMut(&str, &str)) {
        let u = &self.unsubscribe;
        match &u.base_url {
            Some(base)
                if !(base.starts_with("https://") || base.starts_with("http://"))
                    || base.contains(char::is_whitespace) =>
            {
                err(
                    "unsubscribe.base_url",
                    "must be an http(s) URL like https://unsubscribe.example.com",
                )
            }
            Some(_) => {}
            None => {
                if let Some(g) = self.sender_groups.iter().find(|g| g.list_unsubscribe) {
                    err(
                        "unsubscribe.base_url",
                        &format!(
                            "sender group {:?} adds List-Unsubscribe: its links need a base URL",
                            g.name
                        ),
                    );
                }
            }
        }
        if self.feedback.domains.is_empty() {
            if let Some(g) = self.sender_groups.iter().find(|g| g.return_path) {
                err(
                    "feedback.domains",
                    &format!(
                        "sender group {:?} rewrites its return path: bounces need a feedback domain",
                        g.name
                    ),
                );
            }
        }
        let unitless = self
            .sender_groups
            .iter()
            .find(|g| g.unsubscribe_scope == UnsubscribeScope::Unit && g.unit.is_none());
        if let Some(g) = unitless {
            err(
                "sender_groups.unsubscribe_scope",
                &format!(
                    "sender group {:?} scopes unsubscribes to a unit but has none",
                    g.name
                ),
            );
        }
        if u.max_requests_per_minute == 0 {
            err("unsubscribe.max_requests_per_minute", "must be at least 1");
        }
    }

    /// `[http] listen` never clashes with another listener of this relay (same port on the
    /// same or a wildcard address), and `hosts` are host names.
    fn validate_http_addresses(&self, err: &mut dyn FnMut(&str, &str)) {
        let clash = |a: &SocketAddr, b: &SocketAddr| {
            a.port() == b.port()
                && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
        };
        let others = [
            (
                "unsubscribe.listen",
                &self.unsubscribe.listen,
                "the public unsubscribe listener (the console never shares it)",
            ),
            ("server.listen", &self.server.listen, "an SMTP listener"),
            (
                "server.tls_listen",
                &self.server.tls_listen,
                "an SMTP listener",
            ),
            (
                "feedback.listen",
                &self.feedback.listen,
                "the feedback listener",
            ),
        ];
        for a in &self.http.listen {
            for (key, addrs, what) in &others {
                if let Some(b) = addrs.iter().find(|b| clash(a, b)) {
                    err(
                        "http.listen",
                        &format!("{a} clashes with {key} {b}, {what}"),
                    );
                }
            }
        }
        if let Some(Err(e)) = self
            .phones
            .default_country
            .as_deref()
            .map(crate::phone::country)
        {
            err("phones.default_country", &e);
        }
        if self.alerts.webhook_token_file.is_some() && self.alerts.webhook.is_none() {
            err("alerts.webhook_token_file", "is set without alerts.webhook");
        }
        for (i, h) in self.http.hosts.iter().enumerate() {
            if h.is_empty() || h.contains(|c: char| c.is_whitespace() || "/@:".contains(c)) {
                err(
                    &format!("http.hosts[{i}]"),
                    "must be a host name, like relay.acme.internal",
                );
            }
        }
    }

    /// `[http]`, `[console]` and `[alerts]`.
    fn validate_replica(&self, err: &mut dyn FnMut(&str, &str)) {
        let Some(r) = &self.replica else {
            return;
        };
        if let Err(why) = crate::feed::check_url(&r.feed) {
            err("replica.feed", &why);
        }
        if r.max_lag < Duration::from_secs(2) || r.max_lag > Duration::from_secs(24 * 3600) {
            err("replica.max_lag", "must be between 2s and 24h");
        }
    }

    fn validate_http(&self, err: &mut dyn FnMut(&str, &str)) {
        self.validate_replica(err);
        if self.unsubscribe.tls && (self.tls.cert_file.is_none() || self.tls.key_file.is_none()) {
            err(
                "unsubscribe.tls",
                "needs [tls] cert_file and key_file (the listener uses the relay's certificate)",
            );
        }
        if self.http.tls && (self.tls.cert_file.is_none() || self.tls.key_file.is_none()) {
            err(
                "http.tls",
                "needs [tls] cert_file and key_file (the listener uses the relay's certificate)",
            );
        }
        self.validate_http_addresses(err);
        let mut names = std::collections::HashSet::new();
        for (i, u) in self.console.users.iter().enumerate() {
            let key = |field: &str| format!("console.users[{i}].{field}");
            if u.name.trim().is_empty() || u.name.contains(char::is_whitespace) {
                err(&key("name"), "every user needs a name without spaces");
            } else if !names.insert(u.name.as_str()) {
                err(
                    &key("name"),
                    &format!("'{}' is used by an earlier user", u.name),
                );
            }
            if !u.password_hash.starts_with("$argon2") {
                err(
                    &key("password_hash"),
                    "must be an argon2 hash from `dnc-relay hash-password`",
                );
            }
        }
        if self.console.idle_timeout < Duration::from_secs(60) {
            err("console.idle_timeout", "must be at least 1m");
        }
        if self.console.max_login_failures == 0 {
            err("console.max_login_failures", "must be at least 1");
        }
        let a = &self.alerts;
        if let Some(url) = &a.webhook {
            let uri = url.parse::<axum::http::Uri>().ok();
            let scheme = uri.as_ref().and_then(|u| u.scheme_str());
            if !matches!(scheme, Some("http" | "https"))
                || uri.as_ref().and_then(|u| u.host()).is_none()
            {
                err(
                    "alerts.webhook",
                    "must be an http(s) URL like https://hooks.example.com/dnc",
                );
            }
        }
        for to in &a.email {
            if crate::address::Address::parse(to).is_err() {
                err("alerts.email", &format!("'{to}' is not an address"));
            }
        }
        if a.interval < Duration::from_secs(1) {
            err("alerts.interval", "must be at least 1s");
        }
        if a.spike_factor.is_nan() || a.spike_factor < 1.0 {
            err("alerts.spike_factor", "must be at least 1");
        }
        if a.spike_threshold == 0 {
            err("alerts.spike_threshold", "must be at least 1");
        }
        if !(a.complaint_rate > 0.0 && a.complaint_rate < 1.0) {
            err(
                "alerts.complaint_rate",
                "must be between 0 and 1 (0.001 is 0.1%)",
            );
        }
    }

    /// The AUTH accounts: names unique, argon2 hashes, senders that parse.
    fn validate_users(&self, err: &mut dyn FnMut(&str, &str)) {
        let mut user_names = std::collections::HashSet::new();
        for (i, u) in self.auth.users.iter().enumerate() {
            let key = |field: &str| format!("auth.users[{i}].{field}");
            if u.name.trim().is_empty() || u.name.contains(char::is_whitespace) {
                err(&key("name"), "every user needs a name without spaces");
            } else if !user_names.insert(u.name.as_str()) {
                err(
                    &key("name"),
                    &format!("'{}' is used by an earlier user", u.name),
                );
            }
            if !u.password_hash.starts_with("$argon2") {
                err(
                    &key("password_hash"),
                    "must be an argon2 hash from `dnc-relay hash-password`",
                );
            }
            for sender in &u.senders {
                if crate::address::Target::parse(sender).is_err() {
                    err(
                        &key("senders"),
                        &format!("'{sender}' is not an address or @domain"),
                    );
                }
            }
        }
    }

    /// The owners and sender groups: names unique, senders that parse.
    fn validate_senders(&self, err: &mut dyn FnMut(&str, &str)) {
        let mut owner_names = std::collections::HashSet::new();
        for (i, o) in self.owners.iter().enumerate() {
            let key = |field: &str| format!("owners[{i}].{field}");
            if o.name.trim().is_empty() || o.name.contains(char::is_whitespace) {
                err(&key("name"), "every owner needs a name without spaces");
            } else if !owner_names.insert(o.name.as_str()) {
                err(
                    &key("name"),
                    &format!("'{}' is used by an earlier owner", o.name),
                );
            }
            if o.senders.is_empty() {
                err(&key("senders"), "list at least one sender");
            }
            for sender in &o.senders {
                if let Err(e) = crate::sender::SenderPattern::parse(sender) {
                    err(&key("senders"), &format!("'{sender}': {e}"));
                }
            }
        }
        let mut purposes = std::collections::HashSet::new();
        for (i, p) in self.purposes.iter().enumerate() {
            let name_ok = !p.name.is_empty()
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                err(
                    &format!("purposes[{i}].name"),
                    "every purpose needs a name of letters, digits, - and _",
                );
            } else if !purposes.insert(p.name.as_str()) {
                err(
                    &format!("purposes[{i}].name"),
                    &format!("'{}' is used by an earlier purpose", p.name),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, g) in self.sender_groups.iter().enumerate() {
            let key = |field: &str| format!("sender_groups[{i}].{field}");
            if let Some(p) = g.purpose.as_deref().filter(|p| !purposes.contains(p)) {
                err(
                    &key("purpose"),
                    &format!("'{p}' is not a [[purposes]] name"),
                );
            }
            if g.name.trim().is_empty() {
                err(&key("name"), "every sender group needs a name");
            } else if !names.insert(g.name.as_str()) {
                err(
                    &key("name"),
                    &format!("'{}' is used by an earlier group", g.name),
                );
            }
            if g.senders.is_empty() {
                err(&key("senders"), "list at least one sender");
            }
            for sender in &g.senders {
                if let Err(e) = crate::sender::SenderPattern::parse(sender) {
                    err(&key("senders"), &format!("'{sender}': {e}"));
                }
            }
            if let Some(unit) = &g.unit {
                if unit.trim().is_empty() || unit.contains(',') || unit.eq_ignore_ascii_case("all")
                {
                    err(&key("unit"), "must be a name without commas, and not 'all'");
                }
            }
            for reason in &g.exempt_reasons {
                if !reason.is_exemptable() {
                    err(
                        &key("exempt_reasons"),
                        &format!("'{reason}' can never be exempted (hard-bounce, complaint and legal bind every sender)"),
                    );
                }
            }
        }
    }

    /// The store file.
    pub fn store_path(&self) -> PathBuf {
        self.store
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("dnc.redb"))
    }

    /// The erasure salt file.
    pub fn salt_path(&self) -> PathBuf {
        self.erasure
            .salt_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("erasure.salt"))
    }

    /// The token key file.
    pub fn token_key_path(&self) -> PathBuf {
        self.unsubscribe
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("token.key"))
    }

    /// The admin socket.
    pub fn socket_path(&self) -> PathBuf {
        self.admin
            .socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join("admin.sock"))
    }

    /// The decision log.
    pub fn decisions_path(&self) -> PathBuf {
        self.log
            .decisions
            .clone()
            .unwrap_or_else(|| self.data_dir.join("decisions.jsonl"))
    }

    /// The upstream URL with a relative capture directory resolved under `data_dir`.
    pub fn upstream_url(&self) -> UpstreamUrl {
        match &self.upstream.url {
            UpstreamUrl::Capture(dir) if dir.is_relative() => {
                UpstreamUrl::Capture(self.data_dir.join(dir))
            }
            other => other.clone(),
        }
    }

    /// The name the relay gives itself in EHLO to the upstream.
    pub fn upstream_hello_name(&self) -> &str {
        self.upstream
            .hello_name
            .as_deref()
            .unwrap_or(&self.server.hostname)
    }

    /// The `+tag` separator, if tag stripping is on.
    pub fn tag_separator(&self) -> Option<char> {
        self.policy.tag_separator.chars().next()
    }
}

/// Deserializes each key of `table` on its own into `T`, so that every bad key is reported,
/// not only the first. `nested` handles keys whose value is a section, reporting inside it.
fn check_keys<T: DeserializeOwned>(
    prefix: &str,
    table: &toml::Table,
    errors: &mut Vec<ConfigError>,
    nested: impl Fn(&str, &toml::Value, &mut Vec<ConfigError>) -> bool,
) {
    for (key, value) in table {
        let before = errors.len();
        if nested(key, value, errors) {
            // A section was checked key by key; its own errors are already listed.
            if errors.len() > before {
                continue;
            }
        }
        let mut one = toml::Table::new();
        one.insert(key.clone(), value.clone());
        if let Err(e) = serde_path_to_error::deserialize::<_, T>(toml::Value::Table(one)) {
            let path = e.path().to_string();
            let key_path = if path == "." || path.is_empty() {
                format!("{prefix}{key}")
            } else {
                format!("{prefix}{path}")
            };
            errors.push(ConfigError {
                key: key_path,
                message: e.inner().to_string(),
            });
        }
    }
}

/// The arrays of tables at the top of the config (`[[sender_groups]]`, `[[purposes]]`,
/// `[[owners]]`), checked key by key; whether `key` was one.
fn check_arrays(key: &str, value: &toml::Value, errors: &mut Vec<ConfigError>) -> bool {
    if let (Some(groups), "sender_groups") = (value.as_array(), key) {
        for (i, group) in groups.iter().enumerate() {
            if let Some(group) = group.as_table() {
                let prefix = format!("sender_groups[{i}].");
                check_keys::<SenderGroup>(&prefix, group, errors, no_nested);
            }
        }
        return true;
    }
    if let (Some(purposes), "purposes") = (value.as_array(), key) {
        for (i, purpose) in purposes.iter().enumerate() {
            if let Some(purpose) = purpose.as_table() {
                let prefix = format!("purposes[{i}].");
                check_keys::<PurposeConfig>(&prefix, purpose, errors, no_nested);
            }
        }
        return true;
    }
    if let (Some(owners), "owners") = (value.as_array(), key) {
        for (i, owner) in owners.iter().enumerate() {
            if let Some(owner) = owner.as_table() {
                let prefix = format!("owners[{i}].");
                check_keys::<OwnerConfig>(&prefix, owner, errors, no_nested);
            }
        }
        return true;
    }
    false
}

fn no_nested(_: &str, _: &toml::Value, _: &mut Vec<ConfigError>) -> bool {
    false
}

fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("TOML syntax error on line {line}: {msg}")
        }
        None => format!("TOML syntax error: {msg}"),
    }
}

fn system_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".into())
}

/// Durations written as `"30s"`, `"5m"`, `"30d"`.
pub mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    /// Parses a humane duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(s.trim()).map_err(|e| {
            serde::de::Error::custom(format!(
                "'{s}' is not a duration such as \"30s\", \"5m\" or \"30d\": {e}"
            ))
        })
    }
}

/// An optional duration (absent: none).
pub mod duration_opt {
    use serde::Deserializer;
    use std::time::Duration;

    /// Parses a humane duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }
}

/// Sizes written as `"10MiB"`, `"64 MB"` or a plain number of bytes.
pub mod byte_size {
    use serde::{Deserialize, Deserializer};

    /// Any TOML value, so that every wrong one gets our message rather than serde's.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bytes(i64),
        Text(String),
        Other(toml::Value),
    }

    const EXPECTED: &str = "must be a positive size such as \"10MiB\", \"512KiB\" or 1048576";

    /// Parses a size.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let wrong = |shown: String| serde::de::Error::custom(format!("{shown} {EXPECTED}"));
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => u64::try_from(n).map_err(|_| wrong(n.to_string())),
            Raw::Text(s) => parse(&s).ok_or_else(|| wrong(format!("'{s}'"))),
            Raw::Other(v) => Err(wrong(v.to_string())),
        }
    }

    /// `"10MiB"` -> 10485760. Decimal units (KB, MB, GB) are powers of 1000.
    pub fn parse(s: &str) -> Option<u64> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: u64 = number.parse().ok()?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => return None,
        };
        number.checked_mul(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_is_valid_and_equals_the_defaults() {
        let shipped = Config::parse(SHIPPED, "shipped").unwrap();
        assert_eq!(shipped, Config::default());
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(Config::parse("", "t").unwrap(), Config::default());
    }

    #[test]
    fn a_file_with_one_key_changes_only_that_key() {
        let c = Config::parse("[server]\nmax_recipients = 7\n", "t").unwrap();
        assert_eq!(c.server.max_recipients, 7);
        assert_eq!(c.server.listen, ServerConfig::default().listen);
    }

    #[test]
    fn every_error_is_reported_with_its_key() {
        let text = r#"
data_dri = "x"
[server]
max_recipients = "many"
command_timeout = "soon"
bogus = 1
[upstream]
url = "http://example.com"
[store]
cache_size = "lots"
[nope]
"#;
        let err = Config::parse(text, "t.toml").unwrap_err();
        let keys: Vec<_> = err.errors.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "data_dri",
            "server.max_recipients",
            "server.command_timeout",
            "server.bogus",
            "upstream.url",
            "store.cache_size",
            "nope",
        ] {
            assert!(keys.contains(&want), "missing {want} in {err}");
        }
        assert_eq!(keys.len(), 7, "{err}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let err = Config::parse("[server]\nmax_recipients = 0\nlisten = []\n", "t").unwrap_err();
        let keys: Vec<_> = err.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["server.listen", "server.max_recipients"]);
    }

    #[test]
    fn the_internal_listener_never_shares_an_address_and_console_users_are_checked() {
        let text = r#"
[server]
listen = ["127.0.0.1:2525"]
[unsubscribe]
listen = ["127.0.0.1:8080"]
[http]
listen = ["0.0.0.0:8080", "127.0.0.1:2525", "127.0.0.1:8025"]
hosts = ["relay.acme.internal", "evil/x"]
[alerts]
webhook = "ftp://x"
webhook_token_file = "t"
[[console.users]]
name = "ann"
password_hash = "plain"
role = "boss"
"#;
        let err = Config::parse(text, "t").unwrap_err();
        let keys: Vec<_> = err.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["console.users[0].role"], "{err}");
        let text = text.replace("role = \"boss\"", "role = \"ops\"");
        let err = Config::parse(&text, "t").unwrap_err();
        let keys: Vec<_> = err.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "http.listen",
                "http.listen",
                "http.hosts[1]",
                "console.users[0].password_hash",
                "alerts.webhook"
            ],
            "{err}"
        );
        let ok =
            "[http]\nlisten = [\"127.0.0.1:8025\"]\n[alerts]\nwebhook = \"https://h.example/x\"\n";
        assert!(Config::parse(ok, "t").is_ok());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Config::parse("[server]\nmax_recipients = = 3\n", "t").unwrap_err();
        assert!(err.errors[0].message.contains("line 2"), "{err}");
    }

    #[test]
    fn upstream_urls_parse() {
        let cases = [
            ("smtp://mx.example.com:25", "smtp://mx.example.com:25"),
            ("smtp://mx.example.com", "smtp://mx.example.com:25"),
            (
                "smtp://10.0.0.5:587?tls=required",
                "smtp://10.0.0.5:587?tls=required",
            ),
            ("smtps://mx.example.com", "smtps://mx.example.com:465"),
            ("smtp://[::1]:2526", "smtp://[::1]:2526"),
            ("capture:/var/spool/out", "capture:/var/spool/out"),
        ];
        for (input, shown) in cases {
            let url: UpstreamUrl = input.parse().unwrap();
            assert_eq!(url.to_string(), shown);
        }
        for bad in [
            "http://x",
            "smtp://",
            "smtp://x:0",
            "smtp://x:99999",
            "capture:",
            "smtps://x?tls=required",
        ] {
            assert!(bad.parse::<UpstreamUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn data_dir_override_moves_store_socket_log_and_relative_outbox() {
        let mut c = Config::parse("[store]\npath = \"/elsewhere/x.redb\"\n", "t").unwrap();
        c.apply(&Overrides {
            data_dir: Some("/tmp/d".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(c.store_path(), PathBuf::from("/tmp/d/dnc.redb"));
        assert_eq!(c.socket_path(), PathBuf::from("/tmp/d/admin.sock"));
        assert_eq!(c.decisions_path(), PathBuf::from("/tmp/d/decisions.jsonl"));
        assert_eq!(
            c.upstream_url(),
            UpstreamUrl::Capture("/tmp/d/outbox".into())
        );
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(byte_size::parse("10MiB"), Some(10 << 20));
        assert_eq!(byte_size::parse("64 MB"), Some(64_000_000));
        assert_eq!(byte_size::parse("512"), Some(512));
        assert_eq!(byte_size::parse("ten"), None);
    }
}
