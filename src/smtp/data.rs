//! DATA (RFC 5321 section 4.1.1.4): read the message (bounded), hand it to the upstream, and
//! answer with the upstream's verdict. 250 is said only after the upstream said 250.

use tokio::io::{AsyncRead, AsyncWrite};

use super::dot::DotDecoder;
use super::reply::Reply;
use super::session::{Flow, LogLine, Session, Transaction};
use crate::audit::{Decision, Why};
use crate::model::AttemptOutcome;
use crate::relay::Outcome;

/// How the message data ended.
enum Received {
    /// Whole, in the session's body.
    Complete,
    /// Over `max_message_size`: read to its end and dropped.
    TooLarge,
    /// Its spool file failed: read to its end and dropped.
    Unspooled(std::io::Error),
}

/// What became of a message: the reply, the decision for each recipient, the reason for the
/// log, and the upstream's answer.
struct Delivery {
    reply: Reply,
    decision: Decision,
    reason: Option<Why>,
    upstream: Option<String>,
    marked: Option<crate::unsubscribe::Marked>,
}

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
        let received = self.receive(&mut decoder).await?;
        let Some(mut txn) = self.txn.take() else {
            return Ok(());
        };
        if self.listener.feedback {
            let reply = match received {
                Received::Complete => self.keep_feedback(txn).await,
                Received::TooLarge => Reply::message_too_large(),
                Received::Unspooled(e) => {
                    tracing::error!(session = %self.id, error = %e, "cannot spool a feedback message");
                    Reply::local_error()
                }
            };
            self.reply(reply);
            self.body.reset();
            return Ok(());
        }
        let message_id = message_id(self.body.head());
        let delivery = self.deliver(&mut txn, received).await;
        // Answer first: the client must hear the upstream's verdict as early as possible
        // (the RFC 1047 duplicate window); the log lines follow.
        self.reply(delivery.reply.clone());
        let _ = self.flush().await;
        for accepted in &txn.accepted {
            let mut line = LogLine::new(
                &txn.from,
                &accepted.rcpt,
                delivery.decision,
                &delivery.reply,
            );
            line.reason = delivery.reason;
            line.message_id = message_id.as_deref();
            line.upstream = delivery.upstream.clone();
            line.exemption = accepted.exemption.clone();
            line.marked = delivery.marked.map(|m| m.as_str().to_string());
            line.group = txn.group.as_deref();
            self.log_decision(line).await;
        }
        if delivery.decision == Decision::Relayed {
            crate::metrics::METRICS.messages_relayed.inc();
            self.record_relayed(&mut txn, &message_id, &delivery).await;
        }
        tracing::debug!(
            session = %self.id,
            helo = self.helo.as_ref().map(|h| h.name.as_str()).unwrap_or(""),
            from = %txn.from,
            recipients = txn.accepted.len(),
            size = decoder.size(),
            message_id = message_id.as_deref().unwrap_or(""),
            reply = %delivery.reply,
            "transaction finished"
        );
        self.body.reset();
        Ok(())
    }

    /// Reads the message data to its end marker into the session's body (in memory or
    /// spooled). A timeout, a disconnect or a client below the rate floor ends the session.
    async fn receive(
        &mut self,
        decoder: &mut DotDecoder,
    ) -> Result<Received, super::session::Closed> {
        self.body.begin();
        // Once the message cannot be held (over the size limit, or its spool file failed), the
        // rest is read and dropped: the client gets its answer after its final dot.
        let mut spool_error: Option<std::io::Error> = None;
        let started = std::time::Instant::now();
        loop {
            let done = self.decode_pending(decoder);
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
                self.close_with(Reply::too_slow(&self.ctx.hostname)).await?;
            }
            // A timeout or disconnect here drops the transaction: nothing is relayed.
            self.fill(self.ctx.limits.data_timeout, false).await?;
        }
        if decoder.overflowed() {
            return Ok(Received::TooLarge);
        }
        if let Some(e) = spool_error {
            return Ok(Received::Unspooled(e));
        }
        Ok(match self.body.finish().await {
            Ok(()) => Received::Complete,
            Err(e) => Received::Unspooled(e),
        })
    }

    /// Hands a complete message to the upstream; anything else ends the upstream transaction.
    async fn deliver(&mut self, txn: &mut Transaction, received: Received) -> Delivery {
        let failed = |reply, reason, upstream| Delivery {
            reply,
            decision: Decision::Failed,
            reason: Some(reason),
            upstream,
            marked: None,
        };
        match received {
            Received::TooLarge => {
                txn.upstream.abort().await;
                failed(Reply::message_too_large(), Why::MessageTooLarge, None)
            }
            Received::Unspooled(e) => {
                tracing::error!(session = %self.id, error = %e, "cannot spool the message to disk");
                txn.upstream.abort().await;
                failed(
                    Reply::local_error(),
                    Why::SpoolUnavailable,
                    Some(format!("spooling failed: {e}")),
                )
            }
            Received::Complete => {
                if let Some(refused) = self.check_again(txn) {
                    txn.upstream.abort().await;
                    return refused;
                }
                let marked = match self.mark(txn).await {
                    Ok(marked) => marked,
                    Err(e) => {
                        tracing::error!(session = %self.id, error = %e, "cannot add List-Unsubscribe to the message");
                        txn.upstream.abort().await;
                        return failed(
                            Reply::local_error(),
                            Why::SpoolUnavailable,
                            Some(format!("marking failed: {e}")),
                        );
                    }
                };
                let started = std::time::Instant::now();
                let outcome = txn.upstream.send(&mut self.body).await;
                crate::metrics::observe_upstream(started.elapsed());
                let reply = Reply::for_outcome(&outcome, |r| Reply::relayed(&r.text()));
                let (decision, reason) = match &outcome {
                    Outcome::Accepted(_) => (Decision::Relayed, None),
                    Outcome::Unavailable(failure) => {
                        tracing::warn!(session = %self.id, %failure, "upstream failed during DATA");
                        (Decision::Failed, Some(Why::UpstreamUnavailable))
                    }
                    _ => (Decision::Failed, Some(Why::Upstream)),
                };
                Delivery {
                    reply,
                    decision,
                    reason,
                    upstream: Some(outcome.describe()),
                    marked,
                }
            }
        }
    }

    /// When an opt-out was acknowledged while this transaction was open, checks every
    /// recipient again before the message goes out: one now listed defers the whole message
    /// (the client sends it again, and that recipient is refused at RCPT). Passing, the
    /// recipients are stamped with this moment, the one audits check against.
    fn check_again(&self, txn: &mut Transaction) -> Option<Delivery> {
        if self.ctx.store.additions() == txn.additions {
            return None;
        }
        let sender = crate::policy::Sender {
            address: txn.sender.as_ref(),
            user: self.user.as_deref(),
        };
        let now = crate::model::Timestamp::now();
        for accepted in &txn.accepted {
            let verdict = crate::address::Address::parse(&accepted.rcpt)
                .map_err(|e| e.to_string())
                .and_then(|addr| {
                    crate::panics::catch(|| self.settings.policy.check_rcpt(&sender, &addr))
                        .and_then(|v| v.map_err(|e| e.to_string()))
                });
            let reply = match verdict {
                Ok(crate::policy::Verdict::Block(_)) => {
                    Reply::listed_during_transaction(&accepted.rcpt)
                }
                // Its consent was withdrawn while the transaction was open: the client sends
                // again, and that recipient is refused at RCPT.
                Ok(crate::policy::Verdict::NoConsent { .. }) => {
                    Reply::listed_during_transaction(&accepted.rcpt)
                }
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!(session = %self.id, error = %e, "cannot check the recipients again");
                    Reply::policy_unavailable()
                }
            };
            return Some(Delivery {
                reply,
                decision: Decision::Failed,
                reason: Some(Why::ListedDuringTransaction),
                upstream: None,
                marked: None,
            });
        }
        for accepted in &mut txn.accepted {
            accepted.at = now;
        }
        None
    }

    /// For a sender group that adds List-Unsubscribe: the headers for this transaction's one
    /// recipient at the top of the message, unless it has a List-Unsubscribe of its own.
    async fn mark(
        &mut self,
        txn: &Transaction,
    ) -> std::io::Result<Option<crate::unsubscribe::Marked>> {
        use crate::unsubscribe::{has_list_unsubscribe, Marked};
        let (Some(marking), Some(marker), [accepted]) =
            (&txn.marking, &self.ctx.marker, txn.accepted.as_slice())
        else {
            return Ok(None);
        };
        if !marking.list_unsubscribe || !marker.has_links() {
            return Ok(None);
        }
        if has_list_unsubscribe(self.body.head()) {
            return Ok(Some(Marked::Kept));
        }
        let Ok(rcpt) = crate::address::Address::parse(&accepted.rcpt) else {
            return Ok(None);
        };
        let headers = marker.headers(&rcpt, &txn.from, marking);
        self.body.prepend(&headers).await?;
        Ok(Some(Marked::Added))
    }

    /// The message went out: its send records, and the owner's claims that become locks (or
    /// renew them), stored together; the claims hold until that commit.
    async fn record_relayed(
        &mut self,
        txn: &mut Transaction,
        message_id: &Option<String>,
        delivery: &Delivery,
    ) {
        let claims: Vec<crate::locks::Claim> = txn
            .accepted
            .iter_mut()
            .flat_map(|a| a.claims.drain(..))
            .collect();
        let now = self.ctx.locks.now();
        let locks = claims.iter().map(|c| c.to_store(now)).collect();
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
                        upstream: delivery.upstream.clone().unwrap_or_default(),
                        exemption: a.exemption.clone(),
                    },
                );
                attempt.owner = owner.clone();
                attempt
            })
            .collect();
        if let Err(e) = self.ctx.store.record_relayed(attempts, locks, claims).await {
            tracing::error!(session = %self.id, error = %e, "cannot record the relayed message (send records, locks)");
        }
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
