//! Accept loops: one task per listening socket, a global connection limit, TCP_NODELAY, and a
//! tracker so shutdown can wait for every session.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use super::reply::Reply;
use super::{run_session, Context, Phase, PhaseWatch};

/// The bound SMTP sockets.
pub struct ListenerSet {
    listeners: Vec<TcpListener>,
}

impl ListenerSet {
    /// Binds every address; fails on the first that cannot be bound.
    pub async fn bind(addrs: &[SocketAddr]) -> std::io::Result<ListenerSet> {
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
            })?;
            listeners.push(listener);
        }
        Ok(ListenerSet { listeners })
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }
}

/// Accepts connections until the phase leaves `Running`. Sessions are spawned on `tracker`,
/// which the caller closes and waits on.
pub fn serve(
    listeners: ListenerSet,
    ctx: Context,
    max_connections: usize,
    phase: PhaseWatch,
    tracker: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    for listener in listeners.listeners {
        tracker.spawn(accept_loop(
            listener,
            ctx.clone(),
            slots.clone(),
            phase.clone(),
            tracker.clone(),
        ));
    }
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Context,
    slots: Arc<Semaphore>,
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
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let ctx = ctx.clone();
                let phase = phase.clone();
                tracker.spawn(async move {
                    run_session(stream, peer, ctx, phase).await;
                    drop(slot);
                });
            }
            Err(_) => {
                tracing::warn!(client = %peer, "connection limit reached; refusing");
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
