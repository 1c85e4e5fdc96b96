//! HTTP, in two faces that never share a listener: the public one (one-click unsubscribe,
//! in [`crate::unsubscribe::http`]) and the internal one ([`internal`]: `/metrics`,
//! `/healthz` and the web console). Both are served by [`Listeners::serve`]: a bounded number
//! of connections, a deadline for request headers and a lifetime per connection.

pub mod client;
pub mod console;
pub mod feed;
pub mod internal;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;

use crate::smtp::{Phase, PhaseWatch};

/// Connections closed for lack of room, logged at most every few seconds (a flood would
/// otherwise write a line per connection).
static CROWDED: crate::panics::Throttle = crate::panics::Throttle::new(10);

/// The bound listeners of one face.
pub struct Listeners(Vec<tokio::net::TcpListener>);

/// How a face's connections are served.
#[derive(Clone)]
pub struct Limits {
    /// What the logs call this face.
    pub name: &'static str,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
    /// Time for a request's headers to arrive.
    pub header_timeout: Duration,
    /// The longest a connection is kept, whatever it does.
    pub lifetime: Duration,
    /// TLS, when the face serves HTTPS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Listeners {
    /// Binds every address.
    pub async fn bind(addrs: &[SocketAddr]) -> std::io::Result<Listeners> {
        let mut out = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
            })?;
            out.push(l);
        }
        Ok(Listeners(out))
    }

    /// The addresses bound.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.0.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Serves `app` on every listener until the relay stops, on `tracker`. Handlers can read
    /// the client's address as `ConnectInfo<SocketAddr>`.
    pub fn serve(
        self,
        app: Router,
        limits: Limits,
        phase: PhaseWatch,
        tracker: &tokio_util::task::TaskTracker,
    ) {
        let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
        for listener in self.0 {
            tracker.spawn(accept(
                listener,
                app.clone(),
                limits.clone(),
                slots.clone(),
                phase.clone(),
            ));
        }
    }
}

/// Accepts connections until the relay stops; each is served with a header deadline and a
/// lifetime, within the face's connection limit.
async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    slots: Arc<tokio::sync::Semaphore>,
    mut phase: PhaseWatch,
) {
    let name = limits.name;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = phase.wait_for(|p| *p != Phase::Running) => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "{name}: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if let Some(held) = CROWDED.should_log() {
                tracing::warn!(client = %peer, held_back = held, "{name}: too many connections; closed");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, limits) = (app.clone(), limits.clone());
        tokio::spawn(async move {
            let served = async {
                match &limits.tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => serve_connection(tls, peer, app, &limits).await,
                        Err(e) => {
                            tracing::debug!(client = %peer, error = %e, "{name}: TLS handshake failed")
                        }
                    },
                    None => serve_connection(stream, peer, app, &limits).await,
                }
            };
            if tokio::time::timeout(limits.lifetime, served).await.is_err() {
                tracing::debug!(client = %peer, "{name}: connection closed after its lifetime");
            }
            drop(slot);
        });
    }
}

async fn serve_connection<S>(stream: S, peer: SocketAddr, app: Router, limits: &Limits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { tower_service::Service::call(&mut app, request).await }
        },
    );
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    if let Err(e) = connection.await {
        tracing::debug!(client = %peer, error = %e, "{}: connection ended", limits.name);
    }
}
