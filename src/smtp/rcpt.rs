//! RCPT TO (RFC 5321 section 4.1.1.3): the policy decides, then the upstream.
//!
//! Fail closed: a recipient reaches the upstream only after `check_rcpt` returned
//! `Deliver` or `Exempt`; a policy error answers 451 4.3.0 and sends nothing. So does a store
//! that cannot write (its send record would be lost) and a panic inside the decision (a
//! damaged store page): that recipient gets 451 and the session goes on.

use std::borrow::Cow;

use smtp_proto::RcptTo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Accepted, LogLine, Session};
use crate::address::Address;
use crate::audit::{Decision, DecisionRule, Why};
use crate::cluster::ClaimOutcome;
use crate::config::LockMode;
use crate::decision::{decide, Mode, RcptDecision};
use crate::locks::describe;
use crate::model::{AttemptOutcome, Lock, Timestamp};
use crate::policy::{Block, Exemption, PolicyError, Sender};
use crate::store::StoreError;

/// Policy failures of every session, logged in words at most every 10 seconds.
static POLICY_FAILURES: crate::panics::Throttle = crate::panics::Throttle::new(10);
use crate::relay::Outcome;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn rcpt(&mut self, to: RcptTo<Cow<'_, str>>) {
        let Some(txn) = &self.txn else {
            return self.reply(Reply::bad_sequence("need MAIL before RCPT"));
        };
        let from = txn.from.clone();
        let rcpt = to.address.as_ref();
        if to.flags != 0 || to.orcpt.is_some() || to.rrvs != 0 {
            let reply = Reply::unsupported_parameter("NOTIFY/ORCPT");
            return self
                .reject_early(&from, rcpt, reply, Why::BadParameter)
                .await;
        }
        let (full, marked) = (
            txn.accepted.len() >= self.ctx.limits.max_recipients,
            txn.marking.is_some() && (!txn.accepted.is_empty() || txn.upstream.is_started()),
        );
        if full || marked {
            return self.no_more_recipients(&from, rcpt, full).await;
        }
        if !rcpt.is_ascii() && !txn.smtputf8 {
            let reply = Reply::needs_smtputf8();
            return self
                .reject_early(&from, rcpt, reply, Why::NeedsSmtputf8)
                .await;
        }
        // smtp-proto reads `<postmaster>` as the empty address.
        if self.listener.feedback && (rcpt.is_empty() || rcpt.eq_ignore_ascii_case("postmaster")) {
            return self.feedback_rcpt("postmaster", None);
        }
        let addr = match Address::parse(rcpt) {
            Ok(addr) => addr,
            Err(e) => {
                let reply = Reply::bad_recipient_syntax(&e.to_string());
                return self.reject_early(&from, rcpt, reply, Why::BadAddress).await;
            }
        };
        if self.listener.feedback {
            return self.feedback_rcpt(rcpt, Some(&addr));
        }
        let sender = Sender {
            address: txn.sender.as_ref(),
            user: self.user.as_deref(),
        };
        let owner = txn.owner.clone();
        let now = Timestamp::now();
        let started = std::time::Instant::now();
        // Nothing is decided that could not be recorded: in the decision log and the store.
        let decision = if let Some(behind) = self.ctx.behind() {
            // A relay that cannot prove it is current with the fleet (or with the company's
            // hashed feed) does not decide.
            Err(behind)
        } else if self.ctx.log.writable() {
            self.ctx
                .store
                .writable()
                .map_err(PolicyError::from)
                .and_then(|()| {
                    crate::panics::catch(|| {
                        decide(
                            &self.settings.policy,
                            &self.settings.locks,
                            owner.as_ref(),
                            &sender,
                            &addr,
                            Mode::Claim(&self.ctx.locks),
                        )
                    })
                    .unwrap_or_else(|panic| {
                        Err(PolicyError::Store(StoreError::Corrupt(format!(
                            "the recipient check panicked: {panic}"
                        ))))
                    })
                })
                .map_err(|e| e.to_string())
        } else {
            Err("the decision log cannot be written".to_string())
        };
        crate::metrics::observe_rcpt(started.elapsed());
        match decision {
            Err(e) => self.defer_for_policy(&from, rcpt, &e).await,
            Ok(RcptDecision::Suppressed(block)) => {
                self.refuse_listed(&from, rcpt, now, block).await
            }
            Ok(RcptDecision::Locked(lock)) => self.refuse_locked(&from, rcpt, now, lock).await,
            Ok(RcptDecision::NoConsent(purpose)) => {
                self.refuse_without_consent(&from, rcpt, now, &purpose)
                    .await
            }
            Ok(RcptDecision::Deliver {
                exemption,
                warning,
                claims,
            }) => {
                let warning = warning.as_ref().map(describe);
                self.pass_rcpt(&from, rcpt, now, exemption, claims, warning)
                    .await
            }
        }
    }

    /// A recipient the list lets through: in a fleet, its lock claims are taken across the
    /// fleet first (one conditional write per key decides the owner), then it is relayed.
    async fn pass_rcpt(
        &mut self,
        from: &str,
        rcpt: &str,
        now: Timestamp,
        exemption: Option<Exemption>,
        claims: Vec<crate::locks::Claim>,
        mut warning: Option<String>,
    ) {
        if let Some(cluster) = self.ctx.cluster.clone().filter(|_| !claims.is_empty()) {
            let at = self.ctx.locks.now();
            match cluster.claim(&claims, &self.ctx.store, at).await {
                Ok(ClaimOutcome::Claimed) => {}
                Ok(ClaimOutcome::Held(lock))
                    if lock.review.is_some()
                        || self.settings.locks.mode(lock.kind) == LockMode::Block =>
                {
                    drop(claims);
                    return self.refuse_locked(from, rcpt, now, lock).await;
                }
                Ok(ClaimOutcome::Held(lock)) => warning = Some(describe(&lock)),
                Err(e) => {
                    drop(claims);
                    return self.defer_for_policy(from, rcpt, &e.0).await;
                }
            }
        }
        self.relay_rcpt(from, rcpt, now, exemption, claims, warning)
            .await
    }

    /// `452 4.5.3`: past `max_recipients` (`full`), or a second recipient of a marked copy
    /// (one recipient each: once MAIL went upstream, its return path names the first one,
    /// even one the upstream refused).
    async fn no_more_recipients(&mut self, from: &str, rcpt: &str, full: bool) {
        let reply = match full {
            // A client that keeps going past the limit is counted like any protocol error,
            // so that it is closed after `max_errors` instead of logging without end.
            true => {
                self.count_error();
                Reply::too_many_recipients()
            }
            // Not a client error: RFC 5321 clients send the rest in another transaction.
            false => Reply::one_recipient_per_message(),
        };
        if !self.listener.feedback {
            let mut line = LogLine::new(from, rcpt, Decision::Defer, &reply);
            line.reason = Some(Why::TooManyRecipients);
            self.log_decision(line).await;
        }
        self.reply(reply);
    }

    /// `550` for a listed recipient, on the record.
    async fn refuse_listed(&mut self, from: &str, rcpt: &str, at: Timestamp, block: Block) {
        let reply = Reply::for_block(rcpt, &block);
        // An erased contact stays erased: the record names it by its hashed key only.
        let on_record = if crate::hashing::is_hashed(&block.entry.target) {
            block.entry.target.as_str()
        } else {
            rcpt
        };
        let mut line = LogLine::new(from, on_record, Decision::Reject, &reply);
        line.reason = Some(Why::Listed(block.entry.reason));
        line.rule = Some(DecisionRule::List(block.rule));
        line.target = Some(&block.entry.target);
        let outcome = AttemptOutcome::Refused {
            target: block.entry.target.clone(),
            rule: block.rule,
            reason: block.entry.reason,
        };
        self.refuse(line, at, outcome).await;
    }

    /// `550` for a recipient another owner holds, on the record.
    async fn refuse_locked(&mut self, from: &str, rcpt: &str, at: Timestamp, lock: Lock) {
        let text = describe(&lock);
        let reply = Reply::locked(rcpt, &text);
        let mut line = LogLine::new(from, rcpt, Decision::Reject, &reply);
        line.reason = Some(Why::Locked);
        line.rule = Some(DecisionRule::Lock(lock.kind));
        line.target = Some(&lock.target);
        line.lock = Some(text.clone());
        let outcome = AttemptOutcome::Locked {
            target: lock.target.clone(),
            owner: lock.owner.clone(),
        };
        self.refuse(line, at, outcome).await;
    }

    /// `550 5.7.1`: the sender's purpose needs a consent the recipient has not given.
    async fn refuse_without_consent(
        &mut self,
        from: &str,
        rcpt: &str,
        at: Timestamp,
        purpose: &str,
    ) {
        let reply = Reply::no_consent(rcpt, purpose);
        let mut line = LogLine::new(from, rcpt, Decision::Reject, &reply);
        line.reason = Some(Why::NoConsent);
        let outcome = AttemptOutcome::Rejected {
            reply: reply.to_string(),
        };
        self.refuse(line, at, outcome).await;
    }

    /// A refusal on the record: the decision log line, the send record, then the reply. The
    /// feedback listener's refusals are inbound mail: the operational log has them.
    async fn refuse(&mut self, line: LogLine<'_>, at: Timestamp, outcome: AttemptOutcome) {
        if self.listener.feedback {
            tracing::info!(session = %self.id, client = %self.peer, rcpt = line.rcpt, reply = %line.reply, "feedback listener: recipient refused");
            return self.reply(line.reply.clone());
        }
        let (from, rcpt, reply) = (
            line.from.to_string(),
            line.rcpt.to_string(),
            line.reply.clone(),
        );
        self.log_decision(line).await;
        let attempt = self.attempt(&from, &rcpt, at, outcome);
        self.record_attempts(vec![attempt]).await;
        self.reply(reply);
    }

    /// A recipient refused before the policy looked at it: on the record (decision log and
    /// send record) like every other refusal.
    pub(super) async fn reject_early(&mut self, from: &str, rcpt: &str, reply: Reply, reason: Why) {
        let outcome = AttemptOutcome::Rejected {
            reply: reply.to_string(),
        };
        let mut line = LogLine::new(from, rcpt, Decision::Reject, &reply);
        line.reason = Some(reason);
        self.refuse(line, Timestamp::now(), outcome).await;
    }

    /// `451 4.3.0`: the policy could not decide. Logged (at most every few seconds, with a
    /// count: a broken store fails every RCPT at once) and written to the decision log.
    async fn defer_for_policy(&mut self, from: &str, rcpt: &str, error: &str) {
        if let Some(suppressed) = POLICY_FAILURES.should_log() {
            tracing::error!(
                session = %self.id,
                rcpt,
                error,
                similar_since_last = suppressed,
                "the policy cannot decide; recipients are deferred with 451 4.3.0 until it can"
            );
        }
        let reply = Reply::policy_unavailable();
        let mut line = LogLine::new(from, rcpt, Decision::Defer, &reply);
        line.reason = Some(Why::PolicyUnavailable);
        self.log_decision(line).await;
        self.reply(reply);
    }

    /// Mirrors an allowed recipient upstream and answers with the upstream's verdict.
    #[allow(clippy::too_many_arguments)]
    async fn relay_rcpt(
        &mut self,
        from: &str,
        rcpt: &str,
        at: Timestamp,
        exemption: Option<Exemption>,
        claims: Vec<crate::locks::Claim>,
        warning: Option<String>,
    ) {
        let rewritten = match self.rewrite_return_path(rcpt, at).await {
            Ok(rewritten) => rewritten,
            Err(e) => return self.defer_for_policy(from, rcpt, &e.to_string()).await,
        };
        let Some(txn) = &mut self.txn else { return };
        let outcome = txn.upstream.add_recipient(rcpt).await;
        let reply = Reply::for_outcome(&outcome, |_| match &warning {
            Some(w) => Reply::recipient_ok_with_warning(w),
            None => Reply::recipient_ok(),
        });
        let exemption = exemption.map(|e| {
            format!(
                "{}: {} {} ({})",
                e.group, e.entry.reason, e.entry.target, e.rule
            )
        });
        let (decision, reason) = match &outcome {
            Outcome::Accepted(_) => {
                txn.accepted.push(Accepted {
                    rcpt: rcpt.to_string(),
                    at,
                    exemption: exemption.clone(),
                    claims,
                });
                (Decision::Accept, None)
            }
            Outcome::Unavailable(failure) => {
                tracing::warn!(session = %self.id, rcpt, %failure, "upstream unavailable");
                (Decision::Defer, Some(Why::UpstreamUnavailable))
            }
            _ if reply.is_transient() => (Decision::Defer, Some(Why::Upstream)),
            _ => (Decision::Reject, Some(Why::Upstream)),
        };
        let mut line = LogLine::new(from, rcpt, decision, &reply);
        line.reason = reason;
        line.upstream = Some(outcome.describe());
        line.exemption = exemption;
        line.lock = warning.map(|w| format!("warning: {w}"));
        line.marked = rewritten.map(|path| format!("return path {path}"));
        self.log_decision(line).await;
        self.reply(reply);
    }

    /// For a sender group that rewrites its return path: keeps what this copy's bounces are
    /// about and sends `bounces+TOKEN@` upstream as the reverse-path. The return path, if one.
    async fn rewrite_return_path(
        &mut self,
        rcpt: &str,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        // Checked before anything is cloned: most recipients are not marked.
        let Some(txn) = &self.txn else {
            return Ok(None);
        };
        let Some(marking) = txn.marking.as_ref().filter(|m| m.return_path) else {
            return Ok(None);
        };
        let Some(marker) = self.ctx.marker.clone() else {
            return Ok(None);
        };
        let recipient = Address::parse(rcpt).map_or_else(|_| rcpt.to_string(), |a| a.to_string());
        let rp = crate::model::feedback::ReturnPath {
            recipient,
            sender: txn.from.clone(),
            group: marking.group.clone(),
            forward: marking.forward_bounces,
            at,
            salt: fastrand::u32(..),
        };
        let salt = rp.salt;
        let id = self.ctx.store.keep_return_path(rp).await?;
        let Some(path) = marker.return_path(id, salt) else {
            return Ok(None);
        };
        let set = self
            .txn
            .as_mut()
            .is_some_and(|txn| txn.upstream.set_sender(path.clone()));
        Ok(set.then_some(path))
    }
}
