//! EHLO and HELO (RFC 5321 section 4.1.1.1): greet, advertise extensions, reset the transaction.

use std::borrow::Cow;

use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Helo, Session};

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn ehlo(&mut self, host: Cow<'_, str>, extended: bool) {
        // A new greeting aborts any transaction in progress (RFC 5321 section 4.1.4).
        self.reset_transaction().await;
        self.helo = Some(Helo {
            name: host.to_string(),
        });
        let reply = if extended {
            let mut extensions = vec![
                "PIPELINING".to_string(),
                format!("SIZE {}", self.ctx.limits.max_message_size),
                "8BITMIME".to_string(),
                "SMTPUTF8".to_string(),
                "ENHANCEDSTATUSCODES".to_string(),
            ];
            if self.settings.tls.is_some() && !self.io.is_tls() {
                extensions.push("STARTTLS".to_string());
            }
            if self.offers_auth() && self.user.is_none() {
                extensions.push("AUTH PLAIN LOGIN".to_string());
            }
            Reply::ehlo(&self.ctx.hostname, &host, &extensions)
        } else {
            Reply::helo(&self.ctx.hostname)
        };
        self.reply(reply);
    }
}
