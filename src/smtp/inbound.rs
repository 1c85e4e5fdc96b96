//! The feedback listener's side of a transaction: recipients in the feedback domains only
//! (anything else `550 5.7.1`, never relayed), and a message kept in the store before the
//! `250`; the inbox task classifies and records it afterwards (see
//! [`crate::feedback::inbox`]). MAIL is shared with the relay listener: it only skips the
//! AUTH requirement, as bounces come from strangers and from `<>`.

use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Accepted, Session, Transaction};
use crate::address::Address;
use crate::model::feedback::Arrival;
use crate::model::Timestamp;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// RCPT on the feedback listener (`addr` is `None` for `<postmaster>`, which RFC 5321
    /// says every SMTP server takes).
    pub(super) fn feedback_rcpt(&mut self, rcpt: &str, addr: Option<&Address>) {
        let takes = addr.is_none_or(|addr| {
            self.ctx
                .inbox
                .as_ref()
                .is_some_and(|inbox| inbox.takes(addr.domain()))
        });
        let full = takes && self.ctx.inbox.as_ref().is_some_and(|inbox| inbox.is_full());
        let Some(txn) = &mut self.txn else { return };
        if full {
            tracing::warn!(session = %self.id, client = %self.peer, "feedback inbox full ([feedback] max_waiting): 452");
            return self.reply(Reply::feedback_inbox_full());
        }
        if !takes {
            tracing::info!(
                session = %self.id,
                client = %self.peer,
                from = %txn.from,
                rcpt,
                "feedback listener: recipient outside the feedback domains refused"
            );
            return self.reply(Reply::not_a_feedback_domain(rcpt));
        }
        txn.accepted.push(Accepted {
            rcpt: rcpt.to_string(),
            at: Timestamp::now(),
            exemption: None,
            claims: Vec::new(),
        });
        self.reply(Reply::recipient_ok());
    }

    /// The end of DATA on the feedback listener: the message goes to the store (committed to
    /// disk) before the `250`; a store that cannot take it gets `451 4.3.0`, so the sending
    /// MTA keeps it and tries again.
    pub(super) async fn keep_feedback(&mut self, txn: Transaction) -> Reply {
        let Some(inbox) = self.ctx.inbox.clone() else {
            return Reply::local_error();
        };
        let message = match self.body_bytes().await {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(session = %self.id, error = %e, "cannot read the spooled feedback message");
                return Reply::local_error();
            }
        };
        let arrival = Arrival {
            at: Timestamp::now(),
            client: self.peer.to_string(),
            mail_from: txn.from,
            rcpts: txn.accepted.into_iter().map(|a| a.rcpt).collect(),
            message,
        };
        let size = arrival.message.len();
        match inbox.accept(arrival).await {
            Ok(id) => {
                tracing::info!(session = %self.id, client = %self.peer, arrival = id, size, "feedback message kept");
                Reply::feedback_kept(id)
            }
            Err(e) => {
                tracing::error!(session = %self.id, error = %e, "cannot keep a feedback message; the sender will retry");
                Reply::local_error()
            }
        }
    }

    /// The whole message just received, from memory or its spool file.
    async fn body_bytes(&mut self) -> std::io::Result<Vec<u8>> {
        match self.body.content() {
            crate::spool::Content::Memory(bytes) => Ok(bytes.to_vec()),
            crate::spool::Content::File { file, len } => {
                let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                let mut reader = crate::spool::FileReader::new(file, len);
                while let Some(piece) = reader.next().await? {
                    out.extend_from_slice(piece);
                }
                Ok(out)
            }
        }
    }
}
