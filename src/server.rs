//! Wiring: builds the store, policy, relay, decision log, SMTP listeners and admin socket from
//! the config, and takes them down in order on shutdown.
//!
//! Start order makes failures clean: everything that can be checked without creating a file
//! (certificates, the upstream's CA file, whether the data directory may get a new store, the
//! listen addresses) is checked first, so a failed start leaves nothing behind; then the data
//! directory, store, decision log, outbox and admin socket are created. Shutdown order keeps
//! the promise of no loss: stop accepting, let transactions finish, then close the log and the
//! store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::access::{tls_acceptor, Access};
use crate::admin::server::{BindError, Handler};
use crate::admin::AdminServer;
use crate::audit::DecisionLog;
use crate::config::Config;
use crate::feedback::inbox::{Inbox, SharedClassifier};
use crate::feedback::Classifier;
use crate::locks::{LockManager, LockSettings};
use crate::model::Timestamp;
use crate::policy::{MatchOptions, Policy, SenderGroups, SuppressionLookup};
use crate::relay::{Relay, SetupError};
use crate::smtp::{self, ConnectionLimits, Limits, ListenerSet, Phase, Reloadable, SessionContext};
use crate::store::{Store, StoreError, StoreOptions};

/// Test seams; production passes `Hooks::default()`.
#[derive(Default, Clone)]
pub struct Hooks {
    /// Where the SMTP policy reads entries instead of the store (to prove failing closed).
    pub lookup: Option<Arc<dyn SuppressionLookup>>,
    /// Store fault injection: while set, writes to the store file fail as on a full disk
    /// (see `StoreOptions::fault`).
    pub store_fault: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The clock ownership locks use (to drive expiry in tests without sleeping).
    pub clock: Option<crate::locks::Clock>,
}

/// Why the relay could not start. Each maps to the CLI's exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened (exit 3).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The decision log could not be opened (exit 3).
    #[error("cannot open the decision log {path}: {source}")]
    Log {
        /// The log file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The upstream could not be set up (exit 3).
    #[error(transparent)]
    Upstream(#[from] SetupError),
    /// An SMTP address could not be bound (exit 3).
    #[error("{0}")]
    Listen(std::io::Error),
    /// The data directory holds no usable store where it must (exit 3).
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    /// The admin socket could not be bound (exit 3).
    #[error(transparent)]
    Admin(#[from] BindError),
    /// The TLS certificate or key could not be loaded (exit 2).
    #[error("{0}")]
    Tls(String),
    /// The feedback rules file could not be loaded (exit 2).
    #[error("feedback.rules: {0}")]
    FeedbackRules(String),
    /// The unsubscribe token key could not be loaded or created (exit 2).
    #[error("unsubscribe.key_file: {0}")]
    TokenKey(String),
    /// `[cluster]` could not be set up (a password file, a CA file) (exit 2).
    #[error("cluster: {0}")]
    Cluster(String),
    /// `[alerts]` could not be set up (the webhook's token file) (exit 2).
    #[error("{0}")]
    Alerts(String),
    /// The erasure salt could not be read or created (exit 2).
    #[error("erasure.salt_file: {0}")]
    Salt(String),
    /// `[replica]` could not be set up (the feed's URL, its token file, its CA) (exit 2).
    #[error("{0}")]
    Feed(String),
}

impl StartError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Tls(_)
            | StartError::FeedbackRules(_)
            | StartError::Alerts(_)
            | StartError::Feed(_)
            | StartError::Salt(_)
            | StartError::TokenKey(_)
            | StartError::Cluster(_) => 2,
            _ => 3,
        }
    }
}

/// A running relay.
pub struct Server {
    smtp_addrs: Vec<SocketAddr>,
    tls_addrs: Vec<SocketAddr>,
    feedback_addrs: Vec<SocketAddr>,
    unsubscribe_addrs: Vec<SocketAddr>,
    http_addrs: Vec<SocketAddr>,
    /// The web console (its accounts reload on SIGHUP).
    console: Arc<crate::http::console::Console>,
    ctx: Arc<SessionContext>,
    handler: Arc<Handler>,
    hooks: Hooks,
    config: Config,
    phase: watch::Sender<Phase>,
    tracker: TaskTracker,
    admin: AdminServer,
    store: Store,
    log: DecisionLog,
    relay: Relay,
    pruner: tokio::task::JoinHandle<()>,
    /// A fleet relay: the follower of the log and the lag watch.
    follower: FleetTasks,
}

impl Server {
    /// Opens everything and starts serving. Must run inside a Tokio runtime.
    pub async fn start(config: Config, hooks: Hooks) -> Result<Server, StartError> {
        // Checks that create nothing.
        warn_if_open_to_the_world(&config);
        if let Some(country) = &config.phones.default_country {
            // Checked with the config: a code it accepted.
            let _ = crate::phone::set_default_country(country);
        }
        tls_acceptor(&config).map_err(StartError::Tls)?;
        let classifier = Classifier::from_config(&config).map_err(StartError::FeedbackRules)?;
        let cluster = join_fleet(&config)?;
        let relay = Relay::from_config(&config)?;
        let store_start = crate::datadir::inspect(&config)?;
        crate::admin::server::ensure_free(&config.socket_path())?;
        let listeners = ListenerSet::bind(
            &config.server.listen,
            &config.server.tls_listen,
            &config.feedback.listen,
        )
        .await
        .map_err(StartError::Listen)?;
        crate::alerts::webhook(&config).map_err(StartError::Alerts)?;
        let (unsubscribe, internal) = bind_http(&config).await?;
        // From here on, files are created.
        let store = open_store(&config, store_start, &hooks, cluster.as_deref()).await?;
        let follower = FleetTasks::start(cluster.as_ref(), &store);
        let log_path = config.decisions_path();
        let log = DecisionLog::open(&log_path).map_err(|source| StartError::Log {
            path: log_path,
            source,
        })?;
        relay.prepare()?;
        let (reloadable, admin_policy) = build_reloadable(&config, &store, &hooks)?;
        let classifier: SharedClassifier = Arc::new(std::sync::RwLock::new(Arc::new(classifier)));
        let mut services = Services::new(&config, &store, &relay, classifier.clone())?;
        services.cluster = cluster.clone();
        let ctx = session_context(
            &config,
            &relay,
            &log,
            &store,
            &hooks,
            reloadable,
            services.clone(),
        );
        let smtp_addrs = listeners.local_addrs();
        let tls_addrs = listeners.tls_addrs();
        let feedback_addrs = listeners.feedback_addrs();
        let handler = admin_handler(&config, &store, admin_policy, classifier, &services, &log);
        let admin = AdminServer::bind(
            &config.socket_path(),
            config.admin.socket_group.as_deref(),
            handler.clone(),
        )?;
        let pruner = tokio::spawn(prune(store.clone(), config.audit.send_retention));
        let (phase, phase_rx) = watch::channel(Phase::Running);
        let tracker = TaskTracker::new();
        let unsubscribe_addrs = services.run(
            unsubscribe,
            &config,
            &store,
            &handler,
            phase_rx.clone(),
            &tracker,
        )?;
        let probe = crate::http::internal::Probe::new(&store, &log, &cluster, &services.feed);
        let console = crate::http::console::Console::new(&config, handler.clone());
        let http_addrs = serve_internal(internal, &config, probe, &console, &phase_rx, &tracker)?;
        let (smtp_limits, feedback_limits) = connection_limits(&config);
        smtp::serve(
            listeners,
            ctx.clone(),
            smtp_limits,
            feedback_limits,
            phase_rx,
            tracker.clone(),
        );
        let server = Server {
            smtp_addrs,
            tls_addrs,
            feedback_addrs,
            unsubscribe_addrs,
            http_addrs,
            console,
            ctx,
            handler,
            hooks,
            config,
            phase,
            tracker,
            admin,
            store,
            log,
            relay,
            pruner,
            follower,
        };
        server.announce();
        Ok(server)
    }

    /// Says in the log that the relay is ready, and where everything is.
    fn announce(&self) {
        tracing::info!(
            listen = ?self.smtp_addrs,
            feedback = ?self.feedback_addrs,
            unsubscribe = ?self.unsubscribe_addrs,
            http = ?self.http_addrs,
            upstream = self.relay.url(),
            store = %self.store.path().display(),
            cluster_node = self.ctx.cluster.as_ref().map(|c| c.node.as_str()),
            feed = self.ctx.feed.as_ref().map(|f| f.url.as_str()),
            socket = %self.admin.path().display(),
            decisions = %self.log.path().display(),
            "dnc-relay ready"
        );
    }

    /// The SMTP addresses bound (with real ports when the config said 0).
    pub fn smtp_addrs(&self) -> &[SocketAddr] {
        &self.smtp_addrs
    }

    /// The implicit-TLS SMTP addresses bound.
    pub fn tls_addrs(&self) -> &[SocketAddr] {
        &self.tls_addrs
    }

    /// The unsubscribe endpoint's addresses bound.
    pub fn unsubscribe_addrs(&self) -> &[SocketAddr] {
        &self.unsubscribe_addrs
    }

    /// The internal HTTP listener's addresses bound (`/metrics`, `/healthz`, the console).
    pub fn http_addrs(&self) -> &[SocketAddr] {
        &self.http_addrs
    }

    /// The admin handler (what the socket and the console serve requests with), for callers
    /// in this process.
    pub fn handler(&self) -> &Arc<Handler> {
        &self.handler
    }

    /// The feedback listener's addresses bound.
    pub fn feedback_addrs(&self) -> &[SocketAddr] {
        &self.feedback_addrs
    }

    /// Puts a new config's reloadable parts in force (certificates, accounts, trusted
    /// networks, sender groups, roles, matching options) without dropping connections: new
    /// sessions use them, sessions in progress finish with what they started with. Nothing
    /// changes if the new config is unusable. Listeners, paths, limits and the upstream need a
    /// restart; a change to them is reported and otherwise ignored.
    pub fn reload(&mut self, config: Config) -> Result<Vec<String>, StartError> {
        let (reloadable, admin_policy) = build_reloadable(&config, &self.store, &self.hooks)?;
        let classifier = Classifier::from_config(&config).map_err(StartError::FeedbackRules)?;
        let mut ignored = Vec::new();
        let old = &self.config;
        let restart_only = [
            ("data_dir", old.data_dir != config.data_dir),
            ("server.listen", old.server.listen != config.server.listen),
            (
                "server.tls_listen",
                old.server.tls_listen != config.server.tls_listen,
            ),
            (
                "server.hostname",
                old.server.hostname != config.server.hostname,
            ),
            ("upstream", old.upstream != config.upstream),
            (
                "feedback.listen",
                old.feedback.listen != config.feedback.listen,
            ),
            ("unsubscribe", old.unsubscribe != config.unsubscribe),
            ("notify", old.notify != config.notify),
            ("http", old.http != config.http),
            ("alerts", old.alerts != config.alerts),
            ("replica", old.replica != config.replica),
            (
                "feedback.domains",
                old.feedback.domains != config.feedback.domains,
            ),
            ("store", old.store != config.store),
            ("admin.socket", old.admin.socket != config.admin.socket),
            ("log", old.log != config.log),
        ];
        for (key, changed) in restart_only {
            if changed {
                ignored.push(key.to_string());
            }
        }
        self.ctx.replace(reloadable);
        if let Ok(mut policy) = self.handler.policy.write() {
            *policy = admin_policy;
        }
        if let Ok(mut roles) = self.handler.roles.write() {
            *roles = config.admin.roles.clone();
        }
        if let Ok(mut locks) = self.handler.locks.write() {
            *locks = LockSettings::from_config(&config);
        }
        if let Ok(mut current) = self.handler.classifier.write() {
            *current = Arc::new(classifier);
        }
        self.console.reload(&config.console);
        self.config = config;
        Ok(ignored)
    }

    /// The admin socket path.
    pub fn socket_path(&self) -> PathBuf {
        self.admin.path().to_path_buf()
    }

    /// The store, for tests and benchmarks that inspect it.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The memory budget of message bodies, for tests that check it held.
    pub fn spool(&self) -> &crate::spool::SpoolBudget {
        &self.ctx.spool
    }

    /// The upstream, for tests that inspect its pool.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// A fleet relay's membership (its gate, its claims), for tests and benchmarks.
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::Cluster>> {
        self.ctx.cluster.as_ref()
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Graceful shutdown: stop accepting; sessions between transactions get 421 at once;
    /// transactions in flight get `shutdown_grace` to finish, then 421; finally the admin
    /// socket, the decision log and the store are closed.
    pub async fn shutdown(self) -> Result<(), StoreError> {
        let grace = self.config.server.shutdown_grace;
        let _ = self.phase.send(Phase::Draining);
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                sessions = self.tracker.len(),
                "grace period over; closing the remaining sessions"
            );
            let _ = self.phase.send(Phase::Closing);
            // Sessions waiting on their client close at once; one in the middle of handing a
            // message upstream finishes that step (bounded by the upstream timeouts).
            let bound = self
                .config
                .upstream
                .data_timeout
                .min(Duration::from_secs(30));
            if tokio::time::timeout(bound, self.tracker.wait())
                .await
                .is_err()
            {
                tracing::error!(
                    sessions = self.tracker.len(),
                    "sessions still busy after the grace period; exiting without them"
                );
            }
        }
        self.admin.shutdown().await;
        self.follower.stop().await;
        self.pruner.abort();
        // Wait for the abort: the pruner holds the store, which must be the last user.
        let _ = self.pruner.await;
        self.log.close().await;
        // Everything else that holds the store goes first, so closing it really closes it.
        drop(self.ctx);
        drop(self.handler);
        drop(self.hooks);
        drop(self.relay);
        let result = self.store.close().await;
        tracing::info!("dnc-relay stopped");
        result
    }
}

/// The services sessions hand mail to besides the upstream.
#[derive(Clone)]
struct Services {
    /// The feedback inbox.
    inbox: Arc<Inbox>,
    /// What marks the mail of `list_unsubscribe` groups.
    marker: Option<Arc<crate::unsubscribe::Marker>>,
    /// Mail the relay sends on its own.
    outbox: Arc<crate::outbox::Outbox>,
    /// A fleet relay's membership.
    cluster: Option<Arc<crate::cluster::Cluster>>,
    /// A subcontractor's relay: its follower of the company's hashed feed.
    feed: Option<Arc<crate::feed::Follower>>,
}

impl Services {
    /// The feedback inbox and the marker (its token key loaded, or created).
    fn new(
        config: &Config,
        store: &Store,
        relay: &Relay,
        classifier: SharedClassifier,
    ) -> Result<Services, StartError> {
        let budget = crate::spool::SpoolBudget::new(16 << 20, config.data_dir.clone());
        let outbox = crate::outbox::Outbox::new(store.clone(), relay.clone(), budget);
        let marker = crate::unsubscribe::Marker::from_config(config)
            .map_err(StartError::TokenKey)?
            .map(Arc::new);
        let units = crate::policy::SenderGroups::from_config(&config.sender_groups).units();
        let inbox = Inbox::new(
            &config.feedback.domains,
            store.clone(),
            classifier,
            outbox.clone(),
            marker.clone().map(|m| (m, units)),
            config.feedback.max_waiting,
        );
        let feed = config
            .replica
            .as_ref()
            .map(|r| {
                crate::feed::Follower::from_config(r, config.tag_separator(), store.clone())
                    .map(Arc::new)
            })
            .transpose()
            .map_err(StartError::Feed)?;
        if feed.is_none() && matches!(store.feed_state(), Ok(Some(_))) {
            tracing::warn!(
                "this store holds a copy of a company's hashed feed but [replica] is not set: the copy still refuses its recipients and is no longer updated; set [replica] back to follow the company's opt-outs"
            );
        }
        Ok(Services {
            inbox,
            marker,
            outbox,
            cluster: None,
            feed,
        })
    }

    /// Starts the inbox task, the feed's follower and the public face (the unsubscribe
    /// endpoint and the hashed feed) on `tracker`; the public face's addresses.
    fn run(
        &self,
        endpoint: crate::http::Listeners,
        config: &Config,
        store: &Store,
        handler: &Arc<Handler>,
        phase: smtp::PhaseWatch,
        tracker: &TaskTracker,
    ) -> Result<Vec<SocketAddr>, StartError> {
        if let Some(feed) = &self.feed {
            tracker.spawn(feed.clone().run(phase.clone()));
        }
        tracker.spawn(self.inbox.clone().run(phase.clone()));
        tracker.spawn(self.outbox.clone().run(phase.clone()));
        let alerter = crate::alerts::Alerter::from_config(
            config,
            store.clone(),
            self.outbox.clone(),
            self.cluster.as_ref(),
        )
        .map_err(StartError::Alerts)?;
        tracker.spawn(alerter.run(phase.clone()));
        let notifier = crate::notify::Notifier::in_fleet(
            store.clone(),
            self.outbox.clone(),
            crate::notify::Settings::from_config(config),
            self.cluster.as_ref().map(|c| c.leader.clone()),
        );
        tracker.spawn(notifier.run(phase.clone()));
        let addrs = endpoint.local_addrs();
        if addrs.is_empty() {
            return Ok(addrs);
        }
        // The salt the policy was built with (loaded and checked once, at start).
        let salt = handler
            .policy()
            .ok()
            .and_then(|p| p.salt().cloned())
            .ok_or_else(|| StartError::Salt("the policy holds no salt".into()))?;
        let h = handler.clone();
        let separator: crate::http::feed::TagSeparator =
            Arc::new(move || h.policy().ok().and_then(|p| p.options().tag_separator));
        let feed = crate::http::feed::router(store.clone(), salt, self.cluster.clone(), separator);
        let app = match &self.marker {
            Some(marker) if marker.has_links() => feed.merge(crate::unsubscribe::http::router(
                marker.clone(),
                store.clone(),
                config.unsubscribe.max_requests_per_minute,
            )),
            _ => {
                tracing::warn!(
                    "[unsubscribe] listen is set without base_url: no links are made, only the hashed feed (/feed) is served"
                );
                feed
            }
        };
        let tls = if config.unsubscribe.tls {
            tls_acceptor(config).map_err(StartError::Tls)?
        } else {
            None
        };
        let limits = crate::http::Limits {
            name: "public http",
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            // A click takes seconds; a feed pull may wait for a change (at most 25 s).
            lifetime: Duration::from_secs(60),
            tls,
        };
        endpoint.serve(app, limits, phase, tracker);
        Ok(addrs)
    }
}

/// Binds the public face (`[unsubscribe] listen`) and the internal one (`[http] listen`).
async fn bind_http(
    config: &Config,
) -> Result<(crate::http::Listeners, crate::http::Listeners), StartError> {
    let public = crate::http::Listeners::bind(&config.unsubscribe.listen)
        .await
        .map_err(StartError::Listen)?;
    let internal = crate::http::Listeners::bind(&config.http.listen)
        .await
        .map_err(StartError::Listen)?;
    Ok((public, internal))
}

/// Serves the internal face (`/metrics`, `/healthz`, the console) on `[http] listen`; its
/// addresses.
fn serve_internal(
    listeners: crate::http::Listeners,
    config: &Config,
    probe: Arc<crate::http::internal::Probe>,
    console: &Arc<crate::http::console::Console>,
    phase: &smtp::PhaseWatch,
    tracker: &TaskTracker,
) -> Result<Vec<SocketAddr>, StartError> {
    let addrs = listeners.local_addrs();
    let tls = if config.http.tls {
        tls_acceptor(config).map_err(StartError::Tls)?
    } else {
        None
    };
    let app = crate::http::internal::router(
        probe,
        crate::http::console::router(console.clone()),
        config.http.hosts.clone(),
    );
    let limits = crate::http::Limits {
        name: "internal http",
        max_connections: 256,
        header_timeout: Duration::from_secs(10),
        lifetime: Duration::from_secs(300),
        tls,
    };
    listeners.serve(app, limits, phase.clone(), tracker);
    Ok(addrs)
}

/// What admin requests are served with.
fn admin_handler(
    config: &Config,
    store: &Store,
    policy: Policy,
    classifier: SharedClassifier,
    services: &Services,
    log: &DecisionLog,
) -> Arc<Handler> {
    Arc::new(Handler {
        store: store.clone(),
        policy: std::sync::RwLock::new(policy),
        roles: std::sync::RwLock::new(config.admin.roles.clone()),
        locks: std::sync::RwLock::new(LockSettings::from_config(config)),
        classifier,
        cluster: services.cluster.clone(),
        decisions: Some(log.clone()),
        feed: services.feed.clone(),
    })
}

/// The SMTP listeners' and the feedback listener's connection limits.
fn connection_limits(config: &Config) -> (ConnectionLimits, ConnectionLimits) {
    (
        ConnectionLimits {
            total: config.server.max_connections,
            per_client: config.server.max_connections_per_client,
        },
        ConnectionLimits {
            total: config.feedback.max_connections,
            per_client: config.feedback.max_connections_per_client,
        },
    )
}

/// A fleet relay's follower and lag watch, and how to stop them.
struct FleetTasks {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl FleetTasks {
    fn start(cluster: Option<&Arc<crate::cluster::Cluster>>, store: &Store) -> FleetTasks {
        let (stop, stop_rx) = watch::channel(false);
        let tasks = cluster
            .map(|c| c.start(store.clone(), stop_rx))
            .unwrap_or_default();
        FleetTasks { tasks, stop }
    }

    /// Stops them; they hold the store, which must be the last user when it closes.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("the log's follower did not stop in time");
            }
        }
    }
}

/// A fleet relay's membership, from `[cluster]` (nothing is connected yet).
fn join_fleet(config: &Config) -> Result<Option<Arc<crate::cluster::Cluster>>, StartError> {
    config
        .cluster
        .as_ref()
        .map(|c| {
            crate::cluster::Cluster::new(c)
                .map(Arc::new)
                .map_err(|e| StartError::Cluster(e.0))
        })
        .transpose()
}

/// Brings the fleet's schema up to date at start; a database that cannot be reached only
/// keeps this relay from deciding until it has caught up.
async fn migrate_fleet(cluster: &crate::cluster::Cluster) {
    match cluster.migrate().await {
        Ok(applied) if !applied.is_empty() => {
            tracing::info!(versions = ?applied, "the fleet's database schema was migrated")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(
            error = %e,
            "the fleet's database cannot be reached at start: new recipients get 451 4.3.0 until this relay has caught up with the log"
        ),
    }
}

/// What every SMTP session shares.
fn session_context(
    config: &Config,
    relay: &Relay,
    log: &DecisionLog,
    store: &Store,
    hooks: &Hooks,
    reloadable: Reloadable,
    services: Services,
) -> Arc<SessionContext> {
    Arc::new(SessionContext {
        hostname: config.server.hostname.clone(),
        limits: Limits::from_config(config),
        relay: relay.clone(),
        log: log.clone(),
        store: store.clone(),
        locks: LockManager::new(
            store.clone(),
            hooks
                .clock
                .clone()
                .unwrap_or_else(crate::locks::system_clock),
        ),
        reloadable: std::sync::RwLock::new(Arc::new(reloadable)),
        spool: crate::spool::SpoolBudget::new(
            usize::try_from(config.server.message_memory).unwrap_or(usize::MAX),
            config.data_dir.clone(),
        ),
        auth_failures: crate::smtp::throttle::AuthThrottle::new(
            config.auth.max_failures,
            config.auth.lockout,
        ),
        inbox: Some(services.inbox),
        marker: services.marker,
        cluster: services.cluster,
        feed: services.feed,
    })
}

/// Creates the data directory (private), warns about what others can reach, and opens the
/// store, creating it only when the data directory is new.
async fn open_store(
    config: &Config,
    start: crate::datadir::StoreStart,
    hooks: &Hooks,
    cluster: Option<&crate::cluster::Cluster>,
) -> Result<Store, StartError> {
    crate::datadir::prepare(config)?;
    if config.admin.socket_group.is_some() && config.socket_path().starts_with(&config.data_dir) {
        tracing::warn!(
            socket = %config.socket_path().display(),
            "admin.socket_group is set but the socket is inside the private data directory, which the group cannot enter; set admin.socket to a directory of its own (e.g. /run/dnc-relay/admin.sock)"
        );
    }
    for (path, mode) in crate::datadir::too_open(config) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:04o}"),
            "other local users can reach this file of the relay's; make it private (chmod go-rwx)"
        );
    }
    if let Some(cluster) = cluster {
        migrate_fleet(cluster).await;
    }
    let store_path = config.store_path();
    let create = start == crate::datadir::StoreStart::Create;
    if create {
        tracing::warn!(
            store = %store_path.display(),
            "NEW DATA DIRECTORY: creating a new, EMPTY store; no suppression is in force until entries are added or imported"
        );
    }
    let store_options = StoreOptions {
        cache_size: usize::try_from(config.store.cache_size).unwrap_or(usize::MAX),
        fault: hooks.store_fault.clone(),
        create,
    };
    let sequencer: Option<Box<dyn crate::store::replica::Sequencer>> = cluster.map(|c| {
        Box::new(c.sequencer(tokio::runtime::Handle::current()))
            as Box<dyn crate::store::replica::Sequencer>
    });
    let store = tokio::task::spawn_blocking(move || {
        Store::open_replica(&store_path, &store_options, sequencer)
    })
    .await
    .map_err(|e| StoreError::Io(e.to_string()))??;
    Ok(store)
}

/// A trusted network that covers every address, or a large part of the Internet (an IPv4
/// prefix shorter than /8, also in IPv4-mapped form; an IPv6 one shorter than /16), makes the
/// relay open to the world: anyone who can reach it relays without AUTH. Allowed (a private
/// network may need it), never silently.
fn warn_if_open_to_the_world(config: &Config) {
    for net in &config.server.trusted_networks {
        // An IPv4-mapped IPv6 network is an IPv4 one.
        let v4_prefix = match net {
            ipnet::IpNet::V4(n) => Some(n.prefix_len()),
            ipnet::IpNet::V6(n)
                if n.prefix_len() >= 96 && n.network().to_ipv4_mapped().is_some() =>
            {
                Some(n.prefix_len() - 96)
            }
            ipnet::IpNet::V6(_) => None,
        };
        let broad = match v4_prefix {
            Some(p) => p < 8,
            None => net.prefix_len() < 16,
        };
        if broad {
            tracing::warn!(
                network = %net,
                "server.trusted_networks contains {net}: a large part of the Internet may relay without AUTH; the relay is open to the world if anyone outside can reach it"
            );
        }
    }
}

/// At start and then every hour: deletes send records older than the retention period, and
/// expired ownership locks.
async fn prune(store: Store, retention: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = Timestamp::now();
        let before = now.minus(retention);
        match store.prune_attempts(before).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(records = n, before = %before, "pruned send records past retention")
            }
            Err(e) => tracing::error!(error = %e, "pruning send records failed"),
        }
        match store.prune_locks(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(locks = n, "pruned expired ownership locks"),
            Err(e) => tracing::error!(error = %e, "pruning expired locks failed"),
        }
    }
}

/// The erasure salt: created when the store has no erased contacts yet; otherwise it must be
/// the very salt they were hashed with (a lost or replaced salt would let them through).
fn load_salt(config: &Config, store: &Store) -> Result<crate::hashing::Salt, StartError> {
    let path = config.salt_path();
    let known = store
        .salt_fingerprint()
        .map_err(|e| StartError::Salt(e.to_string()))?;
    let salt = match known {
        None => crate::hashing::Salt::load_or_create(&path),
        Some(_) => crate::hashing::Salt::load(&path),
    }
    .map_err(StartError::Salt)?;
    if known.is_some_and(|k| k != salt.fingerprint()) {
        return Err(StartError::Salt(format!(
            "{} is not the salt this store's erased contacts were hashed with: restore the right one",
            path.display()
        )));
    }
    Ok(salt)
}

/// The settings a reload replaces: the sessions' policy, access and TLS, and the admin
/// server's policy (which always reads the real store).
fn build_reloadable(
    config: &Config,
    store: &Store,
    hooks: &Hooks,
) -> Result<(Reloadable, Policy), StartError> {
    let options = MatchOptions {
        tag_separator: config.tag_separator(),
    };
    let groups = Arc::new(SenderGroups::of(config));
    let salt = Arc::new(load_salt(config, store)?);
    let admin_policy = Policy::new(Arc::new(store.clone()), options.clone(), groups.clone())
        .with_salt(salt.clone());
    let smtp_lookup = hooks
        .lookup
        .clone()
        .unwrap_or_else(|| Arc::new(store.clone()));
    let reloadable = Reloadable {
        policy: Policy::new(smtp_lookup, options, groups).with_salt(salt),
        access: Access::from_config(config),
        tls: tls_acceptor(config).map_err(StartError::Tls)?,
        locks: LockSettings::from_config(config),
    };
    Ok((reloadable, admin_policy))
}
