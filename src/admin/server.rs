//! The admin socket server: a Unix socket (mode 0660) answering JSON-line requests.
//!
//! Every change goes through the store's writer and is answered only once committed, so an
//! acknowledged add applies to the very next RCPT. The peer's uid (SO_PEERCRED) is the actor
//! recorded in the history.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::proto::{
    Body, CheckResult, ErrorCode, Request, RequestLine, Response, ResponseLine, MAX_PAGE,
    MAX_REQUEST_LINE, PROTOCOL_VERSION,
};
use crate::address::{Address, Target};
use crate::model::{Actor, Source};
use crate::policy::{Policy, Verdict};
use crate::smtp::Reply;
use crate::store::{AddOutcome, NewEntry, Store};

/// Longest evidence text accepted, in bytes.
const MAX_EVIDENCE: usize = 64 * 1024;

/// What the admin server works with.
pub struct Handler {
    /// The store (writes go through its writer).
    pub store: Store,
    /// The same policy the SMTP sessions use.
    pub policy: Policy,
}

/// The running admin server.
pub struct AdminServer {
    path: PathBuf,
    task: JoinHandle<()>,
}

/// Why the socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another process answers on the socket.
    #[error("another dnc-relay is answering on {0}")]
    InUse(PathBuf),
    /// The file system refused.
    #[error("cannot create the admin socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl AdminServer {
    /// Binds the socket (replacing a stale one), sets mode 0660 and starts serving.
    pub fn bind(path: &Path, handler: Arc<Handler>) -> Result<AdminServer, BindError> {
        let io = |source| BindError::Io {
            path: path.to_path_buf(),
            source,
        };
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(BindError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
        let task = tokio::spawn(accept_loop(listener, handler));
        Ok(AdminServer {
            path: path.to_path_buf(),
            task,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting and removes the socket file.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn accept_loop(listener: UnixListener, handler: Arc<Handler>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let handler = handler.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(stream, &handler).await {
                        tracing::debug!(error = %e, "admin connection ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_connection(stream: UnixStream, handler: &Handler) -> std::io::Result<()> {
    let actor = peer_actor(&stream);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_REQUEST_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        let response = if line.len() > MAX_REQUEST_LINE {
            error(ErrorCode::BadRequest, "request line too long".into())
        } else {
            match &actor {
                Ok(actor) => answer(&line, actor, handler).await,
                Err(message) => error(ErrorCode::Forbidden, message.clone()),
            }
        };
        let mut out = serde_json::to_vec(&ResponseLine {
            v: PROTOCOL_VERSION,
            response,
        })
        .map_err(std::io::Error::other)?;
        out.push(b'\n');
        write.write_all(&out).await?;
        if line.len() > MAX_REQUEST_LINE {
            return Ok(());
        }
    }
}

/// The unix user on the other end of the socket.
fn peer_actor(stream: &UnixStream) -> Result<Actor, String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
    let uid = cred.uid();
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid:{uid}"));
    Ok(Actor {
        user,
        uid: Some(uid),
    })
}

fn error(code: ErrorCode, message: String) -> Response {
    Response::Error { code, message }
}

/// A refused request, before it becomes a [`Response`].
struct Refusal {
    code: ErrorCode,
    message: String,
}

fn refuse(code: ErrorCode, message: String) -> Refusal {
    Refusal { code, message }
}

async fn answer(line: &[u8], actor: &Actor, handler: &Handler) -> Response {
    // Read the version first, so an old CLI gets "unsupported version", not a parse error.
    let version = serde_json::from_slice::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("v").and_then(|v| v.as_u64()));
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
    match handle(request.request, actor, handler).await {
        Ok(body) => Response::Ok { body },
        Err(Refusal { code, message }) => Response::Error { code, message },
    }
}

async fn handle(request: Request, actor: &Actor, h: &Handler) -> Result<Body, Refusal> {
    let store_error =
        |e: crate::store::StoreError| refuse(ErrorCode::StoreUnavailable, e.to_string());
    match request {
        Request::Ping => Ok(Body::Pong {
            version: env!("CARGO_PKG_VERSION").into(),
            entries: h.store.count().map_err(store_error)?,
        }),
        Request::SuppressAdd {
            target,
            reason,
            source,
            evidence,
        } => {
            let target = parse_target(&target)?;
            let evidence = evidence.unwrap_or_default();
            if evidence.len() > MAX_EVIDENCE {
                return Err(refuse(
                    ErrorCode::BadRequest,
                    format!("evidence is longer than {MAX_EVIDENCE} bytes"),
                ));
            }
            let new = NewEntry {
                target,
                reason,
                source: source.unwrap_or(Source::Admin),
                evidence,
            };
            let outcome = h.store.add(new, actor.clone()).await.map_err(store_error)?;
            let (entry, created) = match &outcome {
                AddOutcome::Added(entry) => (entry, true),
                AddOutcome::AlreadySuppressed { entry, .. } => (entry, false),
            };
            tracing::info!(actor = %actor, target = %entry.target, reason = %entry.reason, created, "suppression added");
            Ok(match outcome {
                AddOutcome::Added(entry) => Body::Added {
                    created: true,
                    event_id: entry.event_id,
                    entry,
                },
                AddOutcome::AlreadySuppressed { entry, event_id } => Body::Added {
                    created: false,
                    entry,
                    event_id,
                },
            })
        }
        Request::SuppressList { after, limit } => {
            let limit = limit.clamp(1, MAX_PAGE);
            let entries = h.store.list(after.as_deref(), limit).map_err(store_error)?;
            let next = (entries.len() == limit)
                .then(|| entries.last().and_then(|e| Target::parse(&e.target).ok()))
                .flatten()
                .map(|t| t.match_key());
            Ok(Body::Page { entries, next })
        }
        Request::SuppressShow { target } => {
            let target = parse_target(&target)?;
            let entry = h.store.get(&target).map_err(store_error)?;
            let history = h.store.history(&target).map_err(store_error)?;
            Ok(Body::Shown {
                target: target.to_string(),
                entry,
                history,
            })
        }
        Request::Check { address, from } => {
            let addr = Address::parse(&address).map_err(|e| {
                refuse(
                    ErrorCode::BadRequest,
                    format!("'{address}' is not an address: {e}"),
                )
            })?;
            let sender = match from
                .as_deref()
                .map(str::trim)
                .filter(|f| !f.is_empty() && *f != "<>")
            {
                Some(f) => Some(Address::parse(f).map_err(|e| {
                    refuse(
                        ErrorCode::BadRequest,
                        format!("'{f}' is not an address: {e}"),
                    )
                })?),
                None => None,
            };
            let verdict = h
                .policy
                .check_rcpt(sender.as_ref(), &addr)
                .map_err(|e| refuse(ErrorCode::StoreUnavailable, e.to_string()))?;
            Ok(Body::Checked(match verdict {
                Verdict::Deliver => CheckResult {
                    address,
                    normalized: addr.to_string(),
                    deliverable: true,
                    rule: None,
                    entry: None,
                    smtp_reply: None,
                },
                Verdict::Block(block) => CheckResult {
                    smtp_reply: Some(Reply::for_block(&address, &block).to_string()),
                    address,
                    normalized: addr.to_string(),
                    deliverable: false,
                    rule: Some(block.rule),
                    entry: Some(block.entry),
                },
            }))
        }
    }
}

fn parse_target(target: &str) -> Result<Target, Refusal> {
    Target::parse(target).map_err(|e| {
        refuse(
            ErrorCode::BadRequest,
            format!("'{target}' is not a valid target (an address or @domain): {e}"),
        )
    })
}
