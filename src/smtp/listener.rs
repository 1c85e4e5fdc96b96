//! Accept loops: one task per listening socket, a global and a per-client connection limit,
//! TCP_NODELAY, and a tracker so shutdown can wait for every session.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use super::reply::Reply;
use super::{run_session, Context, ListenerKind, Phase, PhaseWatch};

/// The bound SMTP sockets.
pub struct ListenerSet {
    listeners: Vec<(TcpListener, ListenerKind)>,
}

impl ListenerSet {
    /// Binds every address (plain ones, implicit-TLS ones, then the feedback listener's);
    /// fails on the first that cannot be bound.
    pub async fn bind(
        plain: &[SocketAddr],
        tls: &[SocketAddr],
        feedback: &[SocketAddr],
    ) -> std::io::Result<ListenerSet> {
        let mut listeners = Vec::with_capacity(plain.len() + tls.len() + feedback.len());
        let all = plain
            .iter()
            .map(|a| (a, false, false))
            .chain(tls.iter().map(|a| (a, true, false)))
            .chain(feedback.iter().map(|a| (a, false, true)));
        for (addr, implicit_tls, feedback) in all {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
            })?;
            let kind = ListenerKind {
                implicit_tls,
                loopback: addr.ip().is_loopback(),
                feedback,
            };
            listeners.push((listener, kind));
        }
        Ok(ListenerSet { listeners })
    }

    /// The relay's addresses actually bound (port 0 resolved), plain ones first.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, k)| !k.feedback)
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// The feedback listener's addresses actually bound.
    pub fn feedback_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, k)| k.feedback)
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// The implicit-TLS addresses actually bound.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, k)| k.implicit_tls)
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

impl PerClient {
    /// Counts a connection in, unless the client is at its limit.
    fn enter(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<ClientSlot> {
        let mut map = self.0.lock().ok()?;
        let n = map.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(ClientSlot(self.clone(), ip))
    }
}

/// Counts a connection out when dropped.
struct ClientSlot(Arc<PerClient>, IpAddr);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = (self.0).0.lock() {
            if let Some(n) = map.get_mut(&self.1) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.1);
                }
            }
        }
    }
}

/// Accepts connections until the phase leaves `Running`. Sessions are spawned on `tracker`,
/// which the caller closes and waits on.
/// The feedback listener has connection limits of its own (`feedback`): strangers on the
/// public MX must not take the slots of the mailers the relay serves.
pub fn serve(
    listeners: ListenerSet,
    ctx: Context,
    limits: ConnectionLimits,
    feedback: ConnectionLimits,
    phase: PhaseWatch,
    tracker: TaskTracker,
) {
    let shared = |limits: ConnectionLimits| {
        Arc::new(Shared {
            slots: Semaphore::new(limits.total),
            per_client: Arc::new(PerClient::default()),
            per_client_limit: limits.per_client,
        })
    };
    let (relay, inbound) = (shared(limits), shared(feedback));
    for (listener, kind) in listeners.listeners {
        let shared = if kind.feedback { &inbound } else { &relay };
        tracker.spawn(accept_loop(
            listener,
            kind,
            ctx.clone(),
            shared.clone(),
            phase.clone(),
            tracker.clone(),
        ));
    }
}

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// In total.
    pub total: usize,
    /// From one client address.
    pub per_client: usize,
}

struct Shared {
    slots: Semaphore,
    per_client: Arc<PerClient>,
    per_client_limit: usize,
}

async fn accept_loop(
    listener: TcpListener,
    kind: ListenerKind,
    ctx: Context,
    shared: Arc<Shared>,
    mut phase: PhaseWatch,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = phase.wait_for(|p| *p != Phase::Running) => return,
        };
        let (mut stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = shared.slots.try_acquire().ok();
        let client = slot
            .as_ref()
            .and_then(|_| shared.per_client.enter(peer.ip(), shared.per_client_limit));
        match (slot, client) {
            (Some(slot), Some(client)) => {
                slot.forget();
                let shared = shared.clone();
                let ctx = ctx.clone();
                let phase = phase.clone();
                tracker.spawn(async move {
                    run_session(stream, peer, ctx, phase, kind).await;
                    drop(client);
                    shared.slots.add_permits(1);
                });
            }
            (slot, _) => {
                let what = if slot.is_some() {
                    "per-client"
                } else {
                    "total"
                };
                tracing::warn!(client = %peer, limit = what, "connection limit reached; refusing");
                let hostname = ctx.hostname.clone();
                tracker.spawn(async move {
                    let mut out = Vec::new();
                    Reply::too_many_connections(&hostname).write_to(&mut out);
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                        let _ = stream.write_all(&out).await;
                        let _ = stream.shutdown().await;
                    })
                    .await;
                });
            }
        }
    }
}
