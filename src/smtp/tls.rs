//! STARTTLS (RFC 3207) and the stream that can be upgraded in place.
//!
//! Anything the client sent after STARTTLS and before the handshake is thrown away: those
//! bytes were not protected, and executing them after the upgrade is the classic command
//! injection (CVE-2011-0411 and its many cousins).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

use super::reply::Reply;
use super::session::{Flow, Session};

/// A connection that may be upgraded to TLS.
pub(super) enum MaybeTls<S> {
    /// Cleartext.
    Plain(S),
    /// Encrypted.
    Tls(Box<TlsStream<S>>),
    /// Only during the handshake.
    Upgrading,
}

impl<S> MaybeTls<S> {
    pub(super) fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection is being upgraded")
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Upgrading => Poll::Ready(Err(gone())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Upgrading => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Upgrading => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Upgrading => Poll::Ready(Ok(())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn starttls(&mut self) -> Flow {
        let Some(acceptor) = self.settings.tls.clone() else {
            self.reply(Reply::not_implemented("STARTTLS"));
            return Ok(());
        };
        if self.io.is_tls() {
            self.reply(Reply::bad_sequence("TLS already active"));
            return Ok(());
        }
        self.reply(Reply::ready_for_tls());
        self.flush().await?;
        self.discard_pending();
        let MaybeTls::Plain(plain) = std::mem::replace(&mut self.io, MaybeTls::Upgrading) else {
            return Err(super::session::Closed::Gone);
        };
        let handshake =
            tokio::time::timeout(self.ctx.limits.command_timeout, acceptor.accept(plain)).await;
        match handshake {
            Ok(Ok(tls)) => {
                self.io = MaybeTls::Tls(Box::new(tls));
                // RFC 3207 section 4.2: forget everything learned before the handshake.
                self.reset_transaction().await;
                self.helo = None;
                self.user = None;
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::info!(session = %self.id, client = %self.peer, error = %e, "TLS handshake failed");
                Err(super::session::Closed::Gone)
            }
            Err(_) => Err(super::session::Closed::Gone),
        }
    }
}
