//! AUTH PLAIN and LOGIN (RFC 4954, RFC 4616). Offered only on encrypted connections, or on
//! loopback listeners when `[auth] allow_plaintext_on_loopback` is set. Passwords are checked
//! against argon2 hashes on a blocking thread; a wrong user name costs as long as a wrong
//! password. Failures are throttled per client address and per user name (see
//! [`super::throttle`]).

use base64::Engine;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};
use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Flow, Session};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// Whether AUTH is offered on this connection.
    pub(super) fn offers_auth(&self) -> bool {
        self.settings
            .access
            .offers_auth(self.io.is_tls(), self.listener.loopback)
    }

    pub(super) async fn auth(&mut self, mechanism: u64, initial: String) -> Flow {
        if self.helo.is_none() {
            self.reply(Reply::bad_sequence("send EHLO first"));
            return Ok(());
        }
        if self.user.is_some() {
            self.reply(Reply::bad_sequence("already authenticated"));
            return Ok(());
        }
        if self.txn.is_some() {
            self.reply(Reply::bad_sequence("AUTH not allowed during a transaction"));
            return Ok(());
        }
        if !self.offers_auth() {
            self.reply(Reply::encryption_required());
            return Ok(());
        }
        let client = self.peer.ip();
        if self.ctx.auth_failures.locked(client, None).is_some() {
            self.auth_throttled(None);
            return Ok(());
        }
        let credentials = match mechanism {
            AUTH_PLAIN => self.plain(initial).await?,
            AUTH_LOGIN => self.login(initial).await?,
            _ => {
                self.reply(Reply::unsupported_mechanism());
                return Ok(());
            }
        };
        let Some((user, password)) = credentials else {
            self.reply(Reply::auth_cancelled());
            return Ok(());
        };
        // One check at a time for this address and this user name: a guesser's parallel
        // connections queue here and are counted one by one.
        let ctx = self.ctx.clone();
        let _turn = ctx.auth_failures.turn(client, &user).await;
        if self.ctx.auth_failures.locked(client, Some(&user)).is_some() {
            self.auth_throttled(Some(&user));
            return Ok(());
        }
        if self
            .settings
            .access
            .verify(&user, password.as_bytes())
            .await
        {
            tracing::info!(session = %self.id, client = %self.peer, user, "authenticated");
            self.ctx.auth_failures.succeeded(client);
            self.user = Some(user);
            self.reply(Reply::auth_ok());
        } else {
            let (delay, locked) = self.ctx.auth_failures.failed(client, &user);
            tracing::warn!(session = %self.id, client = %self.peer, user, "authentication failed");
            if let Some(which) = locked {
                tracing::warn!(
                    client = %self.peer.ip(),
                    user,
                    by = ?which,
                    lockout = %humantime::format_duration(self.ctx.limits.auth_lockout),
                    "too many failed AUTH attempts: AUTH refused with 454 4.7.0 for a while"
                );
            }
            // Guessing gets slower with every failure, whatever the number of connections.
            tokio::time::sleep(delay).await;
            self.reply(Reply::auth_failed());
        }
        Ok(())
    }

    /// `454 4.7.0` without checking the password; counted as an error.
    fn auth_throttled(&mut self, user: Option<&str>) {
        tracing::info!(session = %self.id, client = %self.peer, user, "AUTH refused: too many failures");
        self.count_error();
        self.reply(Reply::auth_throttled());
    }

    /// PLAIN: `authzid NUL authcid NUL password`, base64, in the command or after `334 `.
    async fn plain(
        &mut self,
        initial: String,
    ) -> Result<Option<(String, String)>, super::session::Closed> {
        let encoded = if initial.is_empty() {
            self.reply(Reply::auth_challenge(""));
            self.read_line().await?
        } else {
            initial
        };
        if encoded == "*" {
            return Ok(None);
        }
        let Ok(raw) = B64.decode(encoded.trim()) else {
            return Ok(None);
        };
        let mut parts = raw.split(|&b| b == 0);
        let (Some(authzid), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        // Acting for someone else (a different authzid) is not supported.
        if !authzid.is_empty() && authzid != user {
            return Ok(None);
        }
        match (
            String::from_utf8(user.to_vec()),
            String::from_utf8(password.to_vec()),
        ) {
            (Ok(u), Ok(p)) if !u.is_empty() => Ok(Some((u, p))),
            _ => Ok(None),
        }
    }

    /// LOGIN: user name and password each base64, after `334 VXNlcm5hbWU6` / `334 UGFzc3dvcmQ6`.
    async fn login(
        &mut self,
        initial: String,
    ) -> Result<Option<(String, String)>, super::session::Closed> {
        let user = if initial.is_empty() {
            self.reply(Reply::auth_challenge("VXNlcm5hbWU6"));
            self.read_line().await?
        } else {
            initial
        };
        if user == "*" {
            return Ok(None);
        }
        self.reply(Reply::auth_challenge("UGFzc3dvcmQ6"));
        let password = self.read_line().await?;
        if password == "*" {
            return Ok(None);
        }
        let decode = |s: &str| {
            B64.decode(s.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        };
        match (decode(&user), decode(&password)) {
            (Some(u), Some(p)) if !u.is_empty() => Ok(Some((u, p))),
            _ => Ok(None),
        }
    }
}
