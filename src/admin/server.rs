//! The admin socket server: a Unix socket (mode 0660) answering JSON-line requests.
//!
//! The peer's uid (SO_PEERCRED) decides the role: root and the relay's own user are admin,
//! everyone else needs an `[admin.roles]` line. Every change goes through the store's writer
//! and is answered only once committed, so an acknowledged add applies to the very next RCPT.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::audit;
use super::proto::{
    Body, CheckResult, ErrorCode, ImportRow, Request, RequestLine, Response, ResponseLine,
    ScrubStatus, MAX_CHUNK, MAX_PAGE, MAX_REQUEST_LINE, PROTOCOL_VERSION,
};
use crate::address::{Address, Target};
use crate::model::{Actor, EventKind, Role, Source, Timestamp};
use crate::policy::{AsOf, Policy, Sender, Verdict};
use crate::smtp::Reply;
use crate::store::{
    account_lock_key, contact_lock_key, AddOutcome, LockOp, NewEntry, Refusal, Store, StoreError,
};

/// Longest evidence or proof text accepted, in bytes.
const MAX_TEXT: usize = 64 * 1024;

/// Most rows one connection may stage for an import.
const MAX_IMPORT_ROWS: usize = 20_000_000;

/// Most admin connections open at once; more are told so and closed. Admins (root, the
/// relay's own user, the `admin` role) are let in past it, so that no one else can lock them
/// out by holding connections open.
pub const MAX_CONNECTIONS: usize = 64;

/// Most admin connections one unix user may hold at once.
pub const MAX_CONNECTIONS_PER_USER: usize = 16;

/// A connection that sends no request for this long is closed.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// What the admin server works with.
pub struct Handler {
    /// The store (writes go through its writer).
    pub store: Store,
    /// The policy the SMTP sessions use, on the real store (replaced on reload).
    pub policy: std::sync::RwLock<Policy>,
    /// `[admin.roles]`: user name or uid -> role (replaced on reload).
    pub roles: std::sync::RwLock<BTreeMap<String, Role>>,
    /// Owners and lock settings (replaced on reload).
    pub locks: std::sync::RwLock<crate::locks::LockSettings>,
}

/// The running admin server.
pub struct AdminServer {
    path: PathBuf,
    task: JoinHandle<()>,
    /// Open connections (each holds the store).
    connections: tokio_util::task::TaskTracker,
    /// Ends connections waiting for their next request (at shutdown).
    draining: tokio_util::sync::CancellationToken,
    /// Cuts the connections still busy when the grace period ends.
    cut: tokio_util::sync::CancellationToken,
}

/// Why the socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another process answers on the socket.
    #[error(
        "the admin socket {0} is in use: another dnc-relay (or another program) is answering on it"
    )]
    InUse(PathBuf),
    /// The file system refused.
    #[error("cannot create the admin socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `[admin] socket_group` names no group.
    #[error("admin.socket_group: no group '{0}'")]
    NoGroup(String),
}

impl AdminServer {
    /// Binds the socket (replacing a stale one), sets mode 0660 and its group, and serves.
    pub fn bind(
        path: &Path,
        group: Option<&str>,
        handler: Arc<Handler>,
    ) -> Result<AdminServer, BindError> {
        let io = |source| BindError::Io {
            path: path.to_path_buf(),
            source,
        };
        let gid = group.map(resolve_group).transpose()?;
        ensure_free(path)?;
        if path.exists() {
            std::fs::remove_file(path).map_err(io)?;
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
        if let Some(gid) = gid {
            nix::unistd::chown(path, None, Some(gid))
                .map_err(|e| io(std::io::Error::from_raw_os_error(e as i32)))?;
        }
        let connections = tokio_util::task::TaskTracker::new();
        let draining = tokio_util::sync::CancellationToken::new();
        let cut = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(accept_loop(
            listener,
            handler,
            connections.clone(),
            (draining.clone(), cut.clone()),
        ));
        Ok(AdminServer {
            path: path.to_path_buf(),
            task,
            connections,
            draining,
            cut,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting, ends idle connections, lets busy ones finish their request (bounded),
    /// and removes the socket file. A connection still busy after that is cut: each holds
    /// the store, which cannot close cleanly while in use.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
        let _ = std::fs::remove_file(&self.path);
        self.draining.cancel();
        self.connections.close();
        let grace = std::time::Duration::from_secs(2);
        if tokio::time::timeout(grace, self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = self.connections.len(),
                "admin connections still open at shutdown; closing them"
            );
            self.cut.cancel();
            self.connections.wait().await;
        }
    }
}

/// Fails when something answers on the socket path already (another relay, or anyone who
/// bound it first); a stale socket file is fine. Checked before the relay creates anything.
pub fn ensure_free(path: &Path) -> Result<(), BindError> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(BindError::InUse(path.to_path_buf()));
    }
    Ok(())
}

fn resolve_group(name: &str) -> Result<nix::unistd::Gid, BindError> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(nix::unistd::Gid::from_raw(n));
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid),
        _ => Err(BindError::NoGroup(name.to_string())),
    }
}

/// Admin connections open per unix user.
#[derive(Default)]
struct PerUser(std::sync::Mutex<std::collections::HashMap<u32, usize>>);

/// Counts a connection out when dropped.
struct UserSlot(Arc<PerUser>, u32);

impl Drop for UserSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.0 .0.lock() {
            if let Some(n) = map.get_mut(&self.1) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.1);
                }
            }
        }
    }
}

impl PerUser {
    /// Counts a connection in, unless its user is at its limit or the server is full (an
    /// admin is let in past the total).
    fn enter(self: &Arc<Self>, actor: &Actor, open: usize) -> Result<UserSlot, String> {
        let uid = actor.uid.unwrap_or(u32::MAX);
        let mut map = self
            .0
            .lock()
            .map_err(|_| "admin server broken".to_string())?;
        let n = map.entry(uid).or_insert(0);
        if *n >= MAX_CONNECTIONS_PER_USER {
            return Err(format!(
                "{} holds {MAX_CONNECTIONS_PER_USER} admin connections already; try again",
                actor.user
            ));
        }
        if open >= MAX_CONNECTIONS && actor.role != Some(Role::Admin) {
            return Err(format!(
                "too many admin connections (at most {MAX_CONNECTIONS}); try again"
            ));
        }
        *n += 1;
        Ok(UserSlot(self.clone(), uid))
    }
}

async fn accept_loop(
    listener: UnixListener,
    handler: Arc<Handler>,
    connections: tokio_util::task::TaskTracker,
    (draining, cut): (
        tokio_util::sync::CancellationToken,
        tokio_util::sync::CancellationToken,
    ),
) {
    let per_user = Arc::new(PerUser::default());
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Who is calling is known now (SO_PEERCRED): someone without a role, or one
                // connection too many, is answered and closed before a byte is read.
                let roles = handler.roles.read().map(|r| r.clone()).unwrap_or_default();
                let accepted = match peer_actor(&stream, &roles) {
                    Err(message) => Err((ErrorCode::Forbidden, message)),
                    Ok(actor) => match per_user.enter(&actor, connections.len()) {
                        Ok(slot) => Ok((actor, slot)),
                        Err(message) => Err((ErrorCode::StoreUnavailable, message)),
                    },
                };
                match accepted {
                    Err((code, message)) => {
                        tokio::spawn(refuse_connection(stream, code, message));
                    }
                    Ok((actor, slot)) => {
                        let handler = handler.clone();
                        let (draining, cut) = (draining.clone(), cut.clone());
                        connections.spawn(async move {
                            let _slot = slot;
                            tokio::select! {
                                result = serve_connection(stream, actor, &handler, &draining) => {
                                    if let Err(e) = result {
                                        tracing::debug!(error = %e, "admin connection ended");
                                    }
                                }
                                () = cut.cancelled() => {}
                            }
                        });
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Writes one error response and closes, reading nothing.
async fn refuse_connection(mut stream: UnixStream, code: ErrorCode, message: String) {
    let line = serde_json::to_vec(&ResponseLine {
        v: PROTOCOL_VERSION,
        response: error(code, message),
    });
    if let Ok(mut line) = line {
        line.push(b'\n');
        let write = async {
            stream.write_all(&line).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), write).await;
    }
}

/// An import staged on a connection and not yet committed. Dropped uncommitted (the CLI hit
/// a bad row, or went away), its staged rows are thrown away: nothing of it ever applied.
struct PendingImport {
    store: Store,
    id: u64,
    rows: usize,
    committed: bool,
}

impl Drop for PendingImport {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let (store, id) = (self.store.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.abort_import(id).await {
                    tracing::warn!(error = %e, "cannot drop an abandoned import's staged rows");
                }
            });
        }
    }
}

/// What one admin connection carries between requests.
struct Conn {
    /// Who is calling, with a role (checked on accept).
    actor: Actor,
    /// The import being staged on this connection, if any.
    import: Option<PendingImport>,
    /// Whether the send records and locks the relay queued before this connection's first
    /// read are committed (see [`Store::settle`]).
    settled: bool,
}

async fn serve_connection(
    stream: UnixStream,
    actor: Actor,
    handler: &Handler,
    draining: &tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let mut conn = Conn {
        actor,
        import: None,
        settled: false,
    };
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_REQUEST_LINE as u64 + 1);
        let n = tokio::select! {
            n = tokio::time::timeout(IDLE, limited.read_until(b'\n', &mut line)) => match n {
                Ok(n) => n?,
                // An idle connection holds a place others may need.
                Err(_) => return Ok(()),
            },
            // Shutting down: a connection between requests just ends.
            () = draining.cancelled() => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        let too_long = line.len() > MAX_REQUEST_LINE;
        let response = if too_long {
            error(ErrorCode::BadRequest, "request line too long".into())
        } else {
            answer(&line, &mut conn, handler).await
        };
        let mut out = serde_json::to_vec(&ResponseLine {
            v: PROTOCOL_VERSION,
            response,
        })
        .map_err(std::io::Error::other)?;
        out.push(b'\n');
        write.write_all(&out).await?;
        if too_long {
            return Ok(());
        }
        if line.capacity() > 256 * 1024 {
            // A bulk request is over; its buffer is not kept for the rest of the connection.
            line = Vec::with_capacity(1024);
        }
    }
}

/// The unix user on the other end of the socket, with the role the config gives them.
fn peer_actor(stream: &UnixStream, roles: &BTreeMap<String, Role>) -> Result<Actor, String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
    let uid = cred.uid();
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid:{uid}"));
    let own = nix::unistd::geteuid().as_raw();
    let role = if uid == 0 || uid == own {
        Some(Role::Admin)
    } else {
        roles
            .get(&user)
            .or_else(|| roles.get(&uid.to_string()))
            .copied()
    };
    match role {
        Some(role) => Ok(Actor {
            user,
            uid: Some(uid),
            role: Some(role),
        }),
        None => Err(format!(
            "user '{user}' (uid {uid}) has no role on this relay; an admin must add it to [admin.roles] ({})",
            super::proto::role_names()
        )),
    }
}

fn error(code: ErrorCode, message: String) -> Response {
    Response::Error { code, message }
}

/// A refused request, before it becomes a [`Response`].
struct Denied {
    code: ErrorCode,
    message: String,
}

fn deny(code: ErrorCode, message: impl Into<String>) -> Denied {
    Denied {
        code,
        message: message.into(),
    }
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Denied {
        deny(ErrorCode::StoreUnavailable, e.to_string())
    }
}

impl From<Refusal> for Denied {
    fn from(r: Refusal) -> Denied {
        let code = match r {
            Refusal::NotFound(_) => ErrorCode::NotFound,
            Refusal::Conflict(_) => ErrorCode::Conflict,
            Refusal::Forbidden(_) => ErrorCode::Forbidden,
        };
        deny(code, r.to_string())
    }
}

async fn answer(line: &[u8], conn: &mut Conn, handler: &Handler) -> Response {
    // Read the version first, so an old CLI gets "unsupported version", not a parse error.
    // Only `v` is kept: the rest is skipped without building a tree (import chunks are big).
    #[derive(serde::Deserialize)]
    struct Version {
        v: Option<u64>,
    }
    let version = serde_json::from_slice::<Version>(line)
        .ok()
        .and_then(|v| v.v);
    match version {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return error(
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported (this relay speaks {PROTOCOL_VERSION})"
                ),
            )
        }
        None => return error(ErrorCode::BadRequest, "not a versioned JSON request".into()),
    }
    let request: RequestLine = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => return error(ErrorCode::BadRequest, format!("bad request: {e}")),
    };
    let actor = conn.actor.clone();
    match handle(request.request, &actor, conn, handler).await {
        Ok(body) => Response::Ok {
            body: Box::new(body),
        },
        Err(Denied { code, message }) => Response::Error { code, message },
    }
}

/// Refuses unless the actor has at least `role`.
fn require(actor: &Actor, role: Role, what: &str) -> Result<(), Denied> {
    match actor.role {
        Some(r) if r >= role => Ok(()),
        r => Err(deny(
            ErrorCode::Forbidden,
            format!(
                "{what} needs the {role} role or above; {} has {}",
                actor.user,
                r.map(|r| r.as_str()).unwrap_or("none")
            ),
        )),
    }
}

fn text_limit(what: &str, text: &str) -> Result<(), Denied> {
    if text.len() > MAX_TEXT {
        return Err(deny(
            ErrorCode::BadRequest,
            format!("{what} is longer than {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

async fn handle(
    request: Request,
    actor: &Actor,
    conn: &mut Conn,
    h: &Handler,
) -> Result<Body, Denied> {
    let policy = h
        .policy
        .read()
        .map(|p| p.clone())
        .map_err(|_| deny(ErrorCode::StoreUnavailable, "policy unavailable"))?;
    // Send records and locks reach the store in batches shortly after the message; a command
    // that reads them must see everything relayed before it was typed.
    let reads_records = matches!(
        request,
        Request::SuppressShow { .. }
            | Request::Check { .. }
            | Request::CheckMany { .. }
            | Request::AuditSample { .. }
            | Request::AuditContact { .. }
            | Request::AuditDuplicates { .. }
            | Request::LocksList { .. }
            | Request::LocksShow { .. }
    );
    if reads_records && !conn.settled {
        h.store.settle().await?;
        conn.settled = true;
    }
    match request {
        Request::Ping => Ok(Body::Pong {
            version: env!("CARGO_PKG_VERSION").into(),
            entries: h.store.count()?,
            actor: actor.clone(),
        }),
        Request::SuppressAdd {
            target,
            reason,
            source,
            evidence,
            units,
        } => {
            let target = parse_target(&target)?;
            let evidence = evidence.unwrap_or_default();
            text_limit("evidence", &evidence)?;
            let new = NewEntry {
                target,
                reason,
                source: source.unwrap_or(Source::Admin),
                evidence,
                units: clean_units(units, &known_units(h))?,
            };
            let outcome = h.store.add(new, actor.clone()).await?;
            let (entry, created, event_id) = match outcome {
                AddOutcome::Added(entry) => {
                    let id = entry.event_id;
                    (entry, true, id)
                }
                AddOutcome::AlreadySuppressed { entry, event_id } => (entry, false, event_id),
            };
            tracing::info!(actor = %actor, target = %entry.target, reason = %entry.reason, created, "suppression added");
            Ok(Body::Added {
                created,
                entry,
                event_id,
            })
        }
        Request::SuppressList { after, limit } => {
            let limit = limit.clamp(1, MAX_PAGE);
            let entries = h.store.list(after.as_deref(), limit)?;
            let next = (entries.len() == limit)
                .then(|| entries.last().and_then(|e| Target::parse(&e.target).ok()))
                .flatten()
                .map(|t| t.match_key());
            Ok(Body::Page { entries, next })
        }
        Request::SuppressShow { target } => {
            let target = parse_target(&target)?;
            Ok(Body::Shown {
                target: target.to_string(),
                entry: h.store.get(&target)?,
                history: h.store.history(&target)?,
                attempts: h.store.attempts_by_key(&target.match_key())?,
            })
        }
        Request::Check { address, from, at } => {
            Ok(Body::Checked(check(h, &policy, address, from, at)?))
        }
        Request::CheckMany { addresses, from } => {
            if addresses.len() > MAX_CHUNK {
                return Err(deny(
                    ErrorCode::BadRequest,
                    format!("at most {MAX_CHUNK} addresses at once"),
                ));
            }
            let from = parse_sender(from.as_deref())?;
            let settings = lock_settings(h)?;
            let now = Timestamp::now();
            let mut results = Vec::with_capacity(addresses.len());
            for address in addresses {
                let addr = match Address::parse(&address) {
                    Ok(addr) => addr,
                    Err(e) => {
                        results.push(ScrubStatus {
                            status: "invalid".into(),
                            reason: Some(e.to_string()),
                        });
                        continue;
                    }
                };
                let (verdict, lock) = decide(h, &policy, &settings, from.as_ref(), &addr, now)?;
                results.push(match (verdict, lock) {
                    (Verdict::Block(b), _) => ScrubStatus {
                        status: "suppressed".into(),
                        reason: Some(b.entry.reason.to_string()),
                    },
                    (_, Some((lock, true))) => ScrubStatus {
                        status: "locked".into(),
                        reason: Some(crate::locks::describe(&lock)),
                    },
                    (_, Some((lock, false))) => ScrubStatus {
                        status: "ok".into(),
                        reason: Some(format!("warning: {}", crate::locks::describe(&lock))),
                    },
                    (Verdict::Deliver | Verdict::Exempt(_), None) => ScrubStatus {
                        status: "ok".into(),
                        reason: None,
                    },
                });
            }
            Ok(Body::CheckedMany { results })
        }
        Request::RecordScrub {
            file,
            rows,
            blocked,
            invalid,
        } => {
            text_limit("file name", &file)?;
            let event_id = h
                .store
                .record_event(
                    EventKind::Scrubbed {
                        file,
                        rows,
                        blocked,
                        invalid,
                    },
                    actor.clone(),
                )
                .await?;
            Ok(Body::Recorded { event_id })
        }
        Request::ImportChunk { rows } => {
            require(actor, Role::Manager, "importing")?;
            let staged = conn.import.as_ref().map_or(0, |i| i.rows);
            if rows.len() > MAX_CHUNK || staged + rows.len() > MAX_IMPORT_ROWS {
                return Err(deny(ErrorCode::BadRequest, "import chunk too large"));
            }
            let entries = import_entries(rows, &known_units(h))?;
            let pending = conn.import.get_or_insert_with(|| PendingImport {
                store: h.store.clone(),
                id: h.store.new_import(),
                rows: 0,
                committed: false,
            });
            pending.rows += entries.len();
            h.store.stage_import(pending.id, entries).await?;
            Ok(Body::Recorded { event_id: 0 })
        }
        Request::ImportCommit {
            file,
            format,
            skipped,
        } => {
            require(actor, Role::Manager, "importing")?;
            let mut pending = match conn.import.take() {
                Some(pending) => pending,
                None => PendingImport {
                    store: h.store.clone(),
                    id: h.store.new_import(),
                    rows: 0,
                    committed: false,
                },
            };
            let summary = crate::store::ImportSummary {
                file,
                format,
                skipped,
            };
            let counts = h
                .store
                .finish_import(pending.id, summary, actor.clone())
                .await?;
            pending.committed = true;
            tracing::info!(actor = %actor, rows = counts.rows, added = counts.added, "import committed");
            Ok(Body::Imported {
                rows: counts.rows,
                added: counts.added,
                already: counts.already,
                event_id: counts.event_id,
            })
        }
        Request::LiftRequest { target, proof } => {
            require(actor, Role::Manager, "requesting a lift")?;
            if proof.trim().is_empty() {
                return Err(deny(
                    ErrorCode::BadRequest,
                    "a lift needs written proof (--proof)",
                ));
            }
            text_limit("proof", &proof)?;
            let target = parse_target(&target)?;
            let lift = h.store.request_lift(target, proof, actor.clone()).await??;
            tracing::info!(actor = %actor, lift = lift.id, target = %lift.target, "lift requested");
            Ok(Body::Lift { lift })
        }
        Request::LiftApprove { id } => {
            require(actor, Role::Ops, "approving a lift")?;
            let lift = h.store.decide_lift(id, true, None, actor.clone()).await??;
            tracing::warn!(actor = %actor, lift = lift.id, target = %lift.target, "lift approved: entry removed");
            Ok(Body::Lift { lift })
        }
        Request::LiftDeny { id, why } => {
            if why.trim().is_empty() {
                return Err(deny(
                    ErrorCode::BadRequest,
                    "a denial needs a reason (--why)",
                ));
            }
            text_limit("why", &why)?;
            let is_requester = h
                .store
                .lifts()?
                .iter()
                .any(|l| l.id == id && l.requested_by.same_person(actor));
            if !is_requester {
                require(actor, Role::Ops, "denying a lift")?;
            }
            let lift = h
                .store
                .decide_lift(id, false, Some(why), actor.clone())
                .await??;
            Ok(Body::Lift { lift })
        }
        Request::LiftList { pending, days } => {
            let since = days.map(|d| {
                Timestamp::now().minus(std::time::Duration::from_secs(u64::from(d) * 86_400))
            });
            let lifts = h
                .store
                .lifts()?
                .into_iter()
                .filter(|l| !pending || l.decision.is_none())
                .filter(|l| {
                    since.is_none_or(|s| {
                        l.requested_at >= s || l.decision.as_ref().is_some_and(|d| d.at >= s)
                    })
                })
                .collect();
            Ok(Body::Lifts { lifts })
        }
        Request::AuditSample { days, size } => {
            Ok(Body::Sample(audit::sample(&h.store, &policy, days, size)?))
        }
        Request::AuditDuplicates { days } => {
            let settings = lock_settings(h)?;
            Ok(Body::Duplicates(audit::duplicates(
                &h.store, &settings, days,
            )?))
        }
        Request::LocksReview { target, note } => {
            change_lock(h, actor, "reviewing a lock", &target, |_| {
                Ok(LockOp::Review {
                    note: need_note(note)?,
                })
            })
            .await
        }
        Request::LocksDecide {
            target,
            owner,
            note,
        } => {
            change_lock(h, actor, "deciding a lock review", &target, |settings| {
                let owner = settings.owner_named(owner.trim());
                Ok(LockOp::Decide {
                    expires: Timestamp::now().plus(settings.ttl()),
                    owner: owner.name,
                    team: owner.team,
                    note: need_note(note)?,
                })
            })
            .await
        }
        Request::LocksTransfer { target, to, note } => {
            change_lock(h, actor, "transferring a lock", &target, |settings| {
                let owner = settings.owner_named(to.trim());
                Ok(LockOp::Transfer {
                    expires: Timestamp::now().plus(settings.ttl()),
                    owner: owner.name,
                    team: owner.team,
                    note: need_note(note)?,
                })
            })
            .await
        }
        Request::LocksRelease { target, note } => {
            change_lock(h, actor, "releasing a lock", &target, |_| {
                Ok(LockOp::Release {
                    note: need_note(note)?,
                })
            })
            .await
        }
        Request::LocksList { owner } => {
            let now = Timestamp::now();
            let locks = h
                .store
                .locks()?
                .into_iter()
                .filter(|l| l.expires > now)
                .filter(|l| owner.as_deref().is_none_or(|o| l.owner == o))
                .collect();
            Ok(Body::Locks { locks })
        }
        Request::LocksShow { target } => {
            let parsed = parse_target(&target)?;
            let now = Timestamp::now();
            let key = lock_key(h, &target)?;
            let lock = h.store.get_lock(&key)?.filter(|l| l.expires > now);
            let (account, history_key) = match &parsed {
                Target::Address(addr) => {
                    let account = crate::locks::account_for(&h.store.lock_view()?, addr.domain())?;
                    let account = h
                        .store
                        .get_lock(&account_lock_key(&account))?
                        .filter(|l| l.expires > now);
                    (account, parsed.match_key())
                }
                Target::Domain(_) => (None, format!("@{}", key.trim_start_matches("a:"))),
            };
            let history = h
                .store
                .events_by_key(&history_key)?
                .into_iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::LockTaken { .. }
                            | EventKind::LockReviewed { .. }
                            | EventKind::LockDecided { .. }
                            | EventKind::LockTransferred { .. }
                            | EventKind::LockReleased { .. }
                            | EventKind::AccountGrouped { .. }
                    )
                })
                .collect();
            Ok(Body::LockShown {
                lock,
                account,
                history,
            })
        }
        Request::LocksGroup { account, domains } => {
            require(actor, Role::Manager, "grouping an account")?;
            let account = crate::address::normalize_domain(account.trim_start_matches('@'))
                .map_err(|e| deny(ErrorCode::BadRequest, format!("account '{account}': {e}")))?;
            let mut normalized = Vec::with_capacity(domains.len());
            for d in &domains {
                normalized.push(
                    crate::address::normalize_domain(d.trim().trim_start_matches('@'))
                        .map_err(|e| deny(ErrorCode::BadRequest, format!("domain '{d}': {e}")))?,
                );
            }
            if normalized.is_empty() {
                return Err(deny(ErrorCode::BadRequest, "name at least one domain"));
            }
            let event_id = h
                .store
                .group_account(account, normalized, actor.clone())
                .await?;
            Ok(Body::Recorded { event_id })
        }
        Request::AuditContact { address } => {
            let addr = Address::parse(&address).map_err(|e| {
                deny(
                    ErrorCode::BadRequest,
                    format!("'{address}' is not an address: {e}"),
                )
            })?;
            Ok(Body::Contact(audit::contact(&h.store, &policy, &addr)?))
        }
    }
}

fn check(
    h: &Handler,
    policy: &Policy,
    address: String,
    from: Option<String>,
    at: Option<Timestamp>,
) -> Result<CheckResult, Denied> {
    let addr = Address::parse(&address).map_err(|e| {
        deny(
            ErrorCode::BadRequest,
            format!("'{address}' is not an address: {e}"),
        )
    })?;
    let from_addr = parse_sender(from.as_deref())?;
    let (verdict, lock) = match at {
        // Locks have no point-in-time view: `--at` answers for the list alone.
        Some(at) => {
            let sender = Sender {
                address: from_addr.as_ref(),
                user: None,
            };
            let as_of = policy.with_lookup(Arc::new(AsOf {
                store: h.store.clone(),
                at,
            }));
            let verdict = as_of
                .check_rcpt(&sender, &addr)
                .map_err(|e| deny(ErrorCode::StoreUnavailable, e.to_string()))?;
            (verdict, None)
        }
        None => decide(
            h,
            policy,
            &lock_settings(h)?,
            from_addr.as_ref(),
            &addr,
            Timestamp::now(),
        )?,
    };
    let mut result = CheckResult {
        address,
        normalized: addr.to_string(),
        deliverable: true,
        at,
        rule: None,
        entry: None,
        exemption: None,
        smtp_reply: None,
        lock: None,
        lock_effect: None,
    };
    match verdict {
        Verdict::Deliver => {}
        Verdict::Exempt(e) => {
            result.rule = Some(e.rule);
            result.entry = Some(e.entry);
            result.exemption = Some(e.group);
        }
        Verdict::Block(block) => {
            result.deliverable = false;
            result.smtp_reply = Some(Reply::for_block(&result.address, &block).to_string());
            result.rule = Some(block.rule);
            result.entry = Some(block.entry);
        }
    }
    if let Some((lock, refuses)) = lock {
        if refuses {
            result.deliverable = false;
            result.smtp_reply =
                Some(Reply::locked(&result.address, &crate::locks::describe(&lock)).to_string());
        }
        result.lock_effect = Some(if refuses { "refuse" } else { "warn" }.to_string());
        result.lock = Some(lock);
    }
    Ok(result)
}

/// A sender given to `check`/`scrub`: `None` for none, empty or `<>`.
fn parse_sender(from: Option<&str>) -> Result<Option<Address>, Denied> {
    match from.map(str::trim).filter(|f| !f.is_empty() && *f != "<>") {
        Some(f) => Address::parse(f).map(Some).map_err(|e| {
            deny(
                ErrorCode::BadRequest,
                format!("'{f}' is not an address: {e}"),
            )
        }),
        None => Ok(None),
    }
}

/// What RCPT would decide now for `rcpt` from `from`: the list's verdict and, when the list
/// lets it through, another owner's lock the sender would meet (`true`: it refuses). Locks are
/// judged as at RCPT: transactional senders and the null sender are exempt.
fn decide(
    h: &Handler,
    policy: &Policy,
    settings: &crate::locks::LockSettings,
    from: Option<&Address>,
    rcpt: &Address,
    now: Timestamp,
) -> Result<(Verdict, Option<(crate::model::Lock, bool)>), Denied> {
    let sender = Sender {
        address: from,
        user: None,
    };
    let verdict = policy
        .check_rcpt(&sender, rcpt)
        .map_err(|e| deny(ErrorCode::StoreUnavailable, e.to_string()))?;
    if matches!(verdict, Verdict::Block(_))
        || from.is_none()
        || !settings.enabled()
        || policy.groups().is_transactional(&sender)
    {
        return Ok((verdict, None));
    }
    let Some(owner) = settings.owner_of(&sender) else {
        return Ok((verdict, None));
    };
    let lock = crate::locks::standing(&h.store, settings, &owner, rcpt, now)?;
    Ok((verdict, lock))
}

fn parse_target(target: &str) -> Result<Target, Denied> {
    Target::parse(target).map_err(|e| {
        deny(
            ErrorCode::BadRequest,
            format!("'{target}' is not a valid target (an address or @domain): {e}"),
        )
    })
}

/// Trims unit names; `all` (or nothing) means every sender.
/// Import rows checked and made entries; a bad row refuses the chunk, naming its line.
fn import_entries(rows: Vec<ImportRow>, known: &[String]) -> Result<Vec<NewEntry>, Denied> {
    rows.into_iter()
        .map(|row| {
            let target = Target::parse(&row.target).map_err(|e| {
                deny(
                    ErrorCode::BadRequest,
                    format!(
                        "line {}: '{}' is not a valid target: {e}",
                        row.line, row.target
                    ),
                )
            })?;
            text_limit("evidence", &row.evidence)?;
            Ok(NewEntry {
                target,
                reason: row.reason,
                source: row.source,
                evidence: row.evidence,
                units: clean_units(row.units, known)?,
            })
        })
        .collect()
}

/// A scope as given, checked against the units of the configured sender groups: a unit no
/// group has would bind no sender, so a typo in `--scope` would suppress nobody.
fn clean_units(units: Vec<String>, known: &[String]) -> Result<Vec<String>, Denied> {
    let mut out: Vec<String> = Vec::new();
    for u in units {
        let u = u.trim();
        if u.is_empty() || u.eq_ignore_ascii_case("all") {
            return Ok(Vec::new());
        }
        if !known.iter().any(|k| k == u) {
            let known = if known.is_empty() {
                "no sender group has a unit".to_string()
            } else {
                format!("known units: {}", known.join(", "))
            };
            return Err(deny(
                ErrorCode::BadRequest,
                format!("'{u}' is not the unit of any sender group ({known}); nothing was changed"),
            ));
        }
        if !out.iter().any(|x| x == u) {
            out.push(u.to_string());
        }
    }
    Ok(out)
}

/// The units of the configured sender groups.
fn known_units(h: &Handler) -> Vec<String> {
    h.policy
        .read()
        .map(|p| p.groups().units())
        .unwrap_or_default()
}

fn lock_settings(h: &Handler) -> Result<crate::locks::LockSettings, Denied> {
    h.locks
        .read()
        .map(|l| l.clone())
        .map_err(|_| deny(ErrorCode::StoreUnavailable, "lock settings unavailable"))
}

/// A lock change by a manager or above: review, decide, transfer or release `target`'s lock.
async fn change_lock(
    h: &Handler,
    actor: &Actor,
    doing: &str,
    target: &str,
    op: impl FnOnce(&crate::locks::LockSettings) -> Result<LockOp, Denied>,
) -> Result<Body, Denied> {
    require(actor, Role::Manager, doing)?;
    let key = lock_key(h, target)?;
    let op = op(&lock_settings(h)?)?;
    let lock = h.store.update_lock(key, op, actor.clone()).await??;
    Ok(Body::LockChanged { lock })
}

fn need_note(note: String) -> Result<String, Denied> {
    if note.trim().is_empty() {
        return Err(deny(
            ErrorCode::BadRequest,
            "a lock change needs a note (--note)",
        ));
    }
    text_limit("note", &note)?;
    Ok(note)
}

/// The store key of the lock a target names: a contact's, or the account of `@domain`.
fn lock_key(h: &Handler, target: &str) -> Result<String, Denied> {
    Ok(match parse_target(target)? {
        t @ Target::Address(_) => contact_lock_key(&t.match_key()),
        Target::Domain(domain) => {
            account_lock_key(&crate::locks::account_for(&h.store.lock_view()?, &domain)?)
        }
    })
}
