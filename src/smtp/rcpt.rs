//! RCPT TO (RFC 5321 section 4.1.1.3): the policy decides, then the upstream.
//!
//! Fail closed: a recipient reaches the upstream only after `check_rcpt` returned
//! `Verdict::Deliver`; a policy error answers 451 4.3.0 and sends nothing.

use std::borrow::Cow;

use smtp_proto::RcptTo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::Session;
use crate::address::Address;
use crate::audit::Decision;
use crate::policy::Verdict;
use crate::relay::Outcome;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn rcpt(&mut self, to: RcptTo<Cow<'_, str>>) {
        let Some(txn) = &self.txn else {
            return self.reply(Reply::bad_sequence("need MAIL before RCPT"));
        };
        if to.flags != 0 || to.orcpt.is_some() || to.rrvs != 0 {
            return self.reply(Reply::unsupported_parameter("NOTIFY/ORCPT"));
        }
        let from = txn.from.clone();
        let rcpt = to.address.as_ref();
        if txn.accepted.len() >= self.ctx.limits.max_recipients {
            let reply = Reply::too_many_recipients();
            self.log_rcpt(&from, rcpt, Decision::Defer, &reply, "too-many-recipients")
                .await;
            return self.reply(reply);
        }
        if !rcpt.is_ascii() && !txn.smtputf8 {
            return self.reply(Reply::needs_smtputf8());
        }
        let addr = match Address::parse(rcpt) {
            Ok(addr) => addr,
            Err(e) => return self.reply(Reply::bad_recipient_syntax(&e.to_string())),
        };
        let verdict = self.ctx.policy.check_rcpt(txn.sender.as_ref(), &addr);
        match verdict {
            Err(e) => {
                tracing::error!(session = %self.id, rcpt, error = %e, "policy failed; deferring the recipient");
                let reply = Reply::policy_unavailable();
                self.log_rcpt(&from, rcpt, Decision::Defer, &reply, "policy-unavailable")
                    .await;
                self.reply(reply);
            }
            Ok(Verdict::Block(block)) => {
                let reply = Reply::for_block(rcpt, &block);
                self.log_decision(
                    &from,
                    rcpt,
                    Decision::Reject,
                    &reply,
                    Some(block.entry.reason.as_str().into()),
                    Some(block.rule.as_str()),
                    Some(&block.entry.target),
                    None,
                    None,
                )
                .await;
                self.reply(reply);
            }
            Ok(Verdict::Deliver) => self.relay_rcpt(&from, rcpt).await,
        }
    }

    /// Mirrors an allowed recipient upstream and answers with the upstream's verdict.
    async fn relay_rcpt(&mut self, from: &str, rcpt: &str) {
        let Some(txn) = &mut self.txn else { return };
        let outcome = txn.upstream.add_recipient(rcpt).await;
        let reply = Reply::for_outcome(&outcome, |_| Reply::recipient_ok());
        let (decision, reason) = match &outcome {
            Outcome::Accepted(_) => {
                txn.accepted.push(rcpt.to_string());
                (Decision::Accept, None)
            }
            Outcome::Unavailable(failure) => {
                tracing::warn!(session = %self.id, rcpt, %failure, "upstream unavailable");
                (Decision::Defer, Some("upstream-unavailable"))
            }
            _ if reply.is_transient() => (Decision::Defer, Some("upstream")),
            _ => (Decision::Reject, Some("upstream")),
        };
        let upstream = Some(outcome.describe());
        self.log_decision(
            from,
            rcpt,
            decision,
            &reply,
            reason.map(Cow::Borrowed),
            None,
            None,
            None,
            upstream,
        )
        .await;
        self.reply(reply);
    }

    async fn log_rcpt(
        &self,
        from: &str,
        rcpt: &str,
        decision: Decision,
        reply: &Reply,
        reason: &'static str,
    ) {
        self.log_decision(
            from,
            rcpt,
            decision,
            reply,
            Some(reason.into()),
            None,
            None,
            None,
            None,
        )
        .await;
    }
}
