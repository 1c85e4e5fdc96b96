//! DATA (RFC 5321 section 4.1.1.4): read the message (bounded), hand it to the upstream, and
//! answer with the upstream's verdict. 250 is said only after the upstream said 250.

use std::borrow::Cow;

use tokio::io::{AsyncRead, AsyncWrite};

use super::dot::DotDecoder;
use super::reply::Reply;
use super::session::{Flow, LogLine, Session};
use crate::audit::Decision;
use crate::model::AttemptOutcome;
use crate::relay::Outcome;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn data(&mut self) -> Flow {
        let Some(txn) = &self.txn else {
            self.reply(Reply::bad_sequence("need MAIL before DATA"));
            return Ok(());
        };
        if txn.accepted.is_empty() {
            self.reply(Reply::no_valid_recipients());
            return Ok(());
        }
        self.reply(Reply::start_data());
        self.flush().await?;

        let mut decoder = DotDecoder::new(self.ctx.limits.max_message_size);
        self.body.reset();
        // Once the message cannot be held (over the size limit, or its spool file failed), the
        // rest is read and dropped: the client gets its answer after its final dot.
        let mut spool_error: Option<std::io::Error> = None;
        let started = std::time::Instant::now();
        loop {
            let done = self.decode_pending(&mut decoder);
            if decoder.overflowed() || spool_error.is_some() {
                self.body.discard();
            } else if let Err(e) = self.body.settle().await {
                spool_error = Some(e);
                self.body.discard();
            }
            if done {
                break;
            }
            // A client trickling bytes to hold the connection (slowloris) is cut off once the
            // transfer has had a fair start.
            let elapsed = started.elapsed();
            let floor = self.ctx.limits.data_min_rate;
            if floor > 0
                && elapsed > self.ctx.limits.data_rate_grace
                && (decoder.size() as f64) < floor as f64 * elapsed.as_secs_f64()
            {
                tracing::info!(session = %self.id, client = %self.peer, bytes = decoder.size(), "DATA below the rate floor");
                return self.close_with(Reply::too_slow(&self.ctx.hostname)).await;
            }
            // A timeout or disconnect here drops the transaction: nothing is relayed.
            self.fill(self.ctx.limits.data_timeout, false).await?;
        }

        let Some(mut txn) = self.txn.take() else {
            return Ok(());
        };
        if spool_error.is_none() && !decoder.overflowed() {
            if let Err(e) = self.body.finish().await {
                spool_error = Some(e);
            }
        }
        let message_id = message_id(self.body.head());
        let (reply, decision, reason, upstream) = if decoder.overflowed() {
            txn.upstream.abort().await;
            (
                Reply::message_too_large(),
                Decision::Failed,
                Some("message-too-large"),
                None,
            )
        } else if let Some(e) = spool_error {
            tracing::error!(session = %self.id, error = %e, "cannot spool the message to disk");
            txn.upstream.abort().await;
            (
                Reply::local_error(),
                Decision::Failed,
                Some("spool-unavailable"),
                Some(format!("spooling failed: {e}")),
            )
        } else {
            let outcome = txn.upstream.send(&mut self.body).await;
            let reply = Reply::for_outcome(&outcome, |r| Reply::relayed(&r.text()));
            let (decision, reason) = match &outcome {
                Outcome::Accepted(_) => (Decision::Relayed, None),
                Outcome::Unavailable(failure) => {
                    tracing::warn!(session = %self.id, %failure, "upstream failed during DATA");
                    (Decision::Failed, Some("upstream-unavailable"))
                }
                _ => (Decision::Failed, Some("upstream")),
            };
            (reply, decision, reason, Some(outcome.describe()))
        };
        // Answer first: the client must hear the upstream's verdict as early as possible
        // (the RFC 1047 duplicate window); the log lines follow.
        self.reply(reply.clone());
        let _ = self.flush().await;
        for accepted in &txn.accepted {
            let mut line = LogLine::new(&txn.from, &accepted.rcpt, decision, &reply);
            line.reason = reason.map(Cow::Borrowed);
            line.message_id = message_id.as_deref();
            line.upstream = upstream.clone();
            line.exemption = accepted.exemption.clone();
            self.log_decision(line).await;
        }
        if decision == Decision::Relayed {
            // The message went out: the owner's claims become locks (or renew them), stored
            // with the send records; the claims hold until that commit.
            let claims: Vec<crate::locks::Claim> = txn
                .accepted
                .iter_mut()
                .flat_map(|a| a.claims.drain(..))
                .collect();
            let locks = claims.iter().map(|c| c.to_store()).collect();
            let owner = txn.owner.as_ref().map(|o| o.name.clone());
            let attempts = txn
                .accepted
                .iter()
                .map(|a| {
                    let mut attempt = self.attempt(
                        &txn.from,
                        &a.rcpt,
                        a.at,
                        AttemptOutcome::Relayed {
                            message_id: message_id.clone(),
                            upstream: upstream.clone().unwrap_or_default(),
                            exemption: a.exemption.clone(),
                        },
                    );
                    attempt.owner = owner.clone();
                    attempt
                })
                .collect();
            let hold: Option<Box<dyn std::any::Any + Send>> =
                (!claims.is_empty()).then(|| Box::new(claims) as _);
            if let Err(e) = self.ctx.store.record_relayed(attempts, locks, hold).await {
                tracing::error!(session = %self.id, error = %e, "cannot record the relayed message (send records, locks)");
            }
        }
        tracing::debug!(
            session = %self.id,
            helo = self.helo.as_ref().map(|h| h.name.as_str()).unwrap_or(""),
            from = %txn.from,
            recipients = txn.accepted.len(),
            size = decoder.size(),
            message_id = message_id.as_deref().unwrap_or(""),
            reply = %reply,
            "transaction finished"
        );
        self.body.reset();
        Ok(())
    }
}

/// The Message-ID header, without angle brackets, if the message has one.
fn message_id(message: &[u8]) -> Option<String> {
    // Only Message-ID is parsed; the other headers are skipped, not decoded (address lists
    // and dates cost more than the rest of the per-message work).
    let parsed = mail_parser::MessageParser::new()
        .header_id(mail_parser::HeaderName::MessageId)
        .default_header_ignore()
        .parse_headers(message)?;
    parsed.message_id().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn message_id_is_found_among_other_headers_and_unfolded() {
        let message = b"From: A <a@example.com>\r\nTo: b@example.com,\r\n c@example.com\r\n\
            Message-ID:\r\n <abc.123@mail.example>\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(message_id(message).as_deref(), Some("abc.123@mail.example"));
        assert_eq!(message_id(b"Subject: none\r\n\r\nbody\r\n"), None);
    }
}
