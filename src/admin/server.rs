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

pub use super::context::Handler;
use super::context::{require, Conn, Cx, Denied};
use super::ops::{alerts, audit, consent, erase, feed, feedback, lift, lists, locks, suppress};
use super::proto::{
    Body, ErrorCode, Request, RequestLine, Response, ResponseLine, MAX_REQUEST_LINE,
    PROTOCOL_VERSION,
};
use crate::model::{Actor, Role};

/// Most admin connections open at once; more are told so and closed. Admins (root, the
/// relay's own user, the `admin` role) are let in past it, so that no one else can lock them
/// out by holding connections open.
pub const MAX_CONNECTIONS: usize = 64;

/// Most admin connections one unix user may hold at once.
pub const MAX_CONNECTIONS_PER_USER: usize = 16;

/// A connection that sends no request for this long is closed.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

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
    let mut cx = Cx {
        h: handler,
        actor: conn.actor.clone(),
        conn,
    };
    match dispatch(request.request, &mut cx).await {
        Ok(body) => Response::Ok {
            body: Box::new(body),
        },
        Err(Denied { code, message }) => Response::Error { code, message },
    }
}

/// Runs one request for `actor` (a console user) through the same dispatch and role checks
/// as the socket: the console can do nothing the CLI could not.
pub async fn call(handler: &Handler, actor: Actor, request: Request) -> Result<Body, Denied> {
    let mut conn = Conn {
        actor: actor.clone(),
        import: None,
        settled: false,
    };
    let mut cx = Cx {
        h: handler,
        actor,
        conn: &mut conn,
    };
    dispatch(request, &mut cx).await
}

/// The one dispatch: the role the operation needs is checked here, once; then its handler in
/// `ops` runs. Commands that read send records first wait for those the relay has queued.
async fn dispatch(request: Request, cx: &mut Cx<'_>) -> Result<Body, Denied> {
    require(&cx.actor, request.role(), request.doing())?;
    let reads_records = matches!(
        request,
        Request::SuppressShow(_)
            | Request::Check(_)
            | Request::CheckMany(_)
            | Request::AuditSample(_)
            | Request::AuditContact(_)
            | Request::AuditDuplicates(_)
            | Request::LocksList(_)
            | Request::LocksShow(_)
    );
    if reads_records && !cx.conn.settled {
        cx.h.store.settle().await?;
        cx.conn.settled = true;
    }
    Ok(match request {
        Request::Ping(op) => Body::Pong(suppress::ping(op, cx)?),
        Request::SuppressAdd(op) => Body::Added(suppress::add(op, cx).await?),
        Request::SuppressList(op) => Body::Page(suppress::list(op, cx)?),
        Request::SuppressShow(op) => Body::Shown(suppress::show(op, cx)?),
        Request::Check(op) => Body::Checked(lists::check(op, cx)?),
        Request::CheckMany(op) => Body::CheckedMany(lists::check_many(op, cx)?),
        Request::RecordScrub(op) => Body::Recorded(lists::record_scrub(op, cx).await?),
        Request::ImportChunk(op) => Body::Recorded(lists::import_chunk(op, cx).await?),
        Request::ImportCommit(op) => Body::Imported(lists::import_commit(op, cx).await?),
        Request::LiftRequest(op) => Body::Lift(lift::request(op, cx).await?),
        Request::LiftApprove(op) => Body::Lift(lift::approve(op, cx).await?),
        Request::LiftDeny(op) => Body::Lift(lift::deny_lift(op, cx).await?),
        Request::LiftList(op) => Body::Lifts(lift::list(op, cx)?),
        Request::AuditSample(op) => Body::Sample(audit::sample(op, cx)?),
        Request::AuditContact(op) => Body::Contact(audit::contact(op, cx)?),
        Request::AuditDuplicates(op) => Body::Duplicates(audit::duplicates(op, cx)?),
        Request::LocksReview(op) => Body::LockChanged(locks::review(op, cx).await?),
        Request::LocksDecide(op) => Body::LockChanged(locks::decide(op, cx).await?),
        Request::LocksTransfer(op) => Body::LockChanged(locks::transfer(op, cx).await?),
        Request::LocksRelease(op) => Body::LockChanged(locks::release(op, cx).await?),
        Request::LocksList(op) => Body::Locks(locks::list(op, cx)?),
        Request::LocksShow(op) => Body::LockShown(locks::show(op, cx)?),
        Request::LocksGroup(op) => Body::Recorded(locks::group(op, cx).await?),
        Request::FeedbackIngest(op) => Body::Ingested(feedback::ingest(op, cx).await?),
        Request::FeedbackList(op) => Body::FeedbackPage(feedback::list(op, cx)?),
        Request::FeedbackShow(op) => Body::FeedbackShown(feedback::show(op, cx)?),
        Request::FeedbackConfirm(op) => Body::FeedbackShown(feedback::confirm(op, cx).await?),
        Request::FeedbackDismiss(op) => Body::FeedbackShown(feedback::dismiss(op, cx).await?),
        Request::AlertsList(op) => Body::Alerts(alerts::list(op, cx)?),
        Request::ConsentAdd(op) => Body::ConsentChanged(consent::add(op, cx).await?),
        Request::ConsentWithdraw(op) => Body::ConsentChanged(consent::withdraw(op, cx).await?),
        Request::ConsentShow(op) => Body::ConsentShown(consent::show(op, cx)?),
        Request::ConsentList(op) => Body::ConsentPage(consent::list(op, cx)?),
        Request::ConsentImport(op) => Body::ConsentImported(consent::import(op, cx).await?),
        Request::AuditDormant(op) => Body::Dormant(audit::dormant(op, cx)?),
        Request::Erase(op) => Body::Erased(erase::erase(op, cx).await?),
        Request::RetentionPurge(op) => Body::Purged(erase::purge(op, cx).await?),
        Request::FeedAdd(op) => Body::FeedTokenGiven(feed::add(op, cx).await?),
        Request::FeedRevoke(op) => Body::FeedSubscriberShown(feed::revoke(op, cx).await?),
        Request::FeedList(op) => Body::FeedSubscribers(feed::list(op, cx)?),
        Request::FeedPulls(op) => Body::FeedPullsPage(feed::pulls(op, cx)?),
        Request::FeedStatus(op) => Body::FeedFollowing(feed::status(op, cx)?),
    })
}
