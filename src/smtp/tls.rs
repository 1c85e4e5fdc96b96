//! STARTTLS (RFC 3207): the upgrade of the connection in place (see [`super::conn`]).
//!
//! Anything the client sent after STARTTLS and before the handshake is thrown away: those
//! bytes were not protected, and executing them after the upgrade is the classic command
//! injection (CVE-2011-0411 and its many cousins).

use tokio::io::{AsyncRead, AsyncWrite};

use super::conn::MaybeTls;
use super::reply::Reply;
use super::session::{Flow, Session};

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
