//! One SMTP connection: the input loop, framing, and the dispatch to one handler per command.
//!
//! Position in the protocol lives in the data (`helo`, `txn`); handlers answer 503 when it is
//! wrong. Replies are queued and written in one go whenever the session needs more input, so a
//! pipelined batch gets its replies in order and in one segment.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::conn::MaybeTls;
use super::reply::Reply;
use super::{Context, ListenerKind, Phase, PhaseWatch, Reloadable};
use crate::address::Address;
use crate::audit::{Decision, DecisionRecord, DecisionRule, Why};
use crate::model::Timestamp;
use crate::relay;

/// What the client said in HELO or EHLO.
pub(super) struct Helo {
    /// The name the client gave.
    pub name: String,
}

/// One mail transaction, from MAIL to the end of DATA (or RSET).
pub(super) struct Transaction {
    /// The reverse-path as sent (empty for `<>`).
    pub from: String,
    /// The normalised sender, `None` for the null sender.
    pub sender: Option<Address>,
    /// The upstream side of the transaction.
    pub upstream: relay::Transaction,
    /// Recipients accepted so far.
    pub accepted: Vec<Accepted>,
    /// MAIL FROM carried `SMTPUTF8`.
    pub smtputf8: bool,
    /// The owner the sender counts as for ownership locks (`None`: locks do not apply).
    pub owner: Option<crate::locks::OwnerId>,
    /// The store's count of adding commits when the transaction began: if it moved by the end
    /// of DATA, the recipients are checked again before the message goes out.
    pub additions: u64,
    /// The sender's group, by name (for the decision log and metrics).
    pub group: Option<String>,
    /// The sender's group adds List-Unsubscribe: one recipient per transaction, marked.
    pub marking: Option<crate::policy::Marking>,
}

/// A recipient accepted at RCPT.
pub(super) struct Accepted {
    /// As sent.
    pub rcpt: String,
    /// When the policy let it through (the moment audits check against).
    pub at: Timestamp,
    /// The exemption that let it through, if one did.
    pub exemption: Option<String>,
    /// Lock reservations for it, stored when the message is relayed.
    pub claims: Vec<crate::locks::Claim>,
}

/// Why the session ends.
#[derive(Debug)]
pub(super) enum Closed {
    /// The client said QUIT, or we said 421.
    Done,
    /// The client went away or the socket failed.
    Gone,
}

/// A result that ends the session with `Err`.
pub(super) type Flow = Result<(), Closed>;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(0);

/// The state of one connection.
pub(super) struct Session<S> {
    pub(super) io: MaybeTls<S>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    /// The command being handled, copied out of `rbuf`.
    line: Vec<u8>,
    /// Inside an over-long line: discard until its end, then answer 500.
    discarding: bool,
    /// When the client started on the command line not yet complete: `command_timeout` runs
    /// from here, however the bytes trickle in.
    line_started: Option<std::time::Instant>,
    pub(super) ctx: Context,
    /// The reloadable settings this session started with.
    pub(super) settings: std::sync::Arc<Reloadable>,
    pub(super) listener: ListenerKind,
    /// The authenticated user, after a successful AUTH.
    pub(super) user: Option<String>,
    /// Errors so far (see `Limits::max_errors`).
    errors: usize,
    /// Commands since the last successful MAIL.
    pub(super) idle_commands: usize,
    pub(super) phase: PhaseWatch,
    pub(super) peer: SocketAddr,
    /// `peer` as text, formatted once for the log lines and send records of every message.
    peer_text: String,
    pub(super) id: String,
    pub(super) helo: Option<Helo>,
    pub(super) txn: Option<Transaction>,
    /// Each message's data, in memory or spooled (reused from message to message).
    pub(super) body: crate::spool::Body,
}

/// Serves one SMTP connection until QUIT, 421, timeout or disconnect.
pub async fn run_session<S>(
    io: S,
    peer: SocketAddr,
    ctx: Context,
    phase: PhaseWatch,
    listener: ListenerKind,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let n = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    let id = format!("{:x}{n:06x}", Timestamp::now().0 / 1_000_000);
    let settings = ctx.snapshot();
    let ctx_spool = ctx.spool.clone();
    let io = if listener.implicit_tls {
        let Some(acceptor) = settings.tls.clone() else {
            return;
        };
        match tokio::time::timeout(ctx.limits.command_timeout, acceptor.accept(io)).await {
            Ok(Ok(tls)) => MaybeTls::Tls(Box::new(tls)),
            Ok(Err(e)) => {
                tracing::info!(client = %peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => return,
        }
    } else {
        MaybeTls::Plain(io)
    };
    let mut session = Session {
        io,
        rbuf: Vec::with_capacity(4096),
        rpos: 0,
        wbuf: Vec::with_capacity(1024),
        line: Vec::with_capacity(256),
        discarding: false,
        line_started: None,
        ctx,
        settings,
        listener,
        user: None,
        errors: 0,
        idle_commands: 0,
        phase,
        peer,
        peer_text: peer.to_string(),
        id,
        helo: None,
        txn: None,
        body: crate::spool::Body::new(ctx_spool),
    };
    tracing::debug!(session = %session.id, client = %peer, "connected");
    let end = session.serve().await;
    if let Some(txn) = session.txn.take() {
        // The client left mid-transaction: nothing was sent, and nothing will be.
        drop(txn);
    }
    tracing::debug!(session = %session.id, client = %peer, end = ?end, "disconnected");
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    async fn serve(&mut self) -> Flow {
        let greeting = if *self.phase.borrow() == Phase::Running {
            Reply::greeting(&self.ctx.hostname)
        } else {
            Reply::shutting_down(&self.ctx.hostname)
        };
        self.reply(greeting.clone());
        if !greeting.is_positive() {
            self.flush().await?;
            return Err(Closed::Done);
        }
        loop {
            while let Some(line) = self.next_line() {
                match line {
                    Line::Command(range) => self.command(range).await?,
                    Line::TooLong => self.reply(Reply::line_too_long()),
                }
                if self.errors >= self.ctx.limits.max_errors {
                    return self
                        .close_with(Reply::too_many_errors(&self.ctx.hostname))
                        .await;
                }
                if self.idle_commands > self.ctx.limits.max_commands_without_mail {
                    return self
                        .close_with(Reply::too_many_commands(&self.ctx.hostname))
                        .await;
                }
            }
            self.flush().await?;
            self.fill_command().await?;
        }
    }

    /// Reads more of the next command line. `command_timeout` bounds the whole line, not the
    /// wait for each byte: a client sending one byte every few seconds is closed as one that
    /// sends nothing.
    async fn fill_command(&mut self) -> Flow {
        let started = *self
            .line_started
            .get_or_insert_with(std::time::Instant::now);
        let left = self
            .ctx
            .limits
            .command_timeout
            .saturating_sub(started.elapsed());
        self.fill(left, true).await
    }

    /// Counts an error that [`Session::reply`] cannot see from the code alone (a `452` for a
    /// recipient over the limit: repeated, it is a client ignoring the limit).
    pub(super) fn count_error(&mut self) {
        self.errors += 1;
    }

    /// Dispatches one command line, `rbuf[range]`, CRLF included.
    async fn command(&mut self, range: std::ops::Range<usize>) -> Flow {
        // The parser borrows the line; copy it into a reused buffer so handlers may use
        // the session's buffers while the request is alive.
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(&self.rbuf[range]);
        let flow = self.dispatch(&line).await;
        self.line = line;
        flow
    }

    async fn dispatch(&mut self, line: &[u8]) -> Flow {
        // Only commands outside a transaction count: RCPTs and DATA of real mail never do.
        if self.txn.is_none() {
            self.idle_commands += 1;
        }
        let declared = super::mail::declared_size(line);
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request,
            // smtp-proto refuses a SIZE too big for its integer as malformed; it is too large.
            Err(ParseError::InvalidParameter { param: "SIZE" })
                if matches!(declared, Some(super::mail::DeclaredSize::Bytes(_))) =>
            {
                self.reply(Reply::message_too_large());
                return Ok(());
            }
            Err(e) => {
                let reply = parse_error_reply(e);
                match rcpt_argument(line) {
                    // A RCPT the parser cannot read is a refused recipient, on the record.
                    Some(rcpt) if self.txn.is_some() => {
                        let from = self
                            .txn
                            .as_ref()
                            .map(|t| t.from.clone())
                            .unwrap_or_default();
                        self.reject_early(&from, &rcpt, reply, Why::BadAddress)
                            .await;
                    }
                    _ => self.reply(reply),
                }
                return Ok(());
            }
        };
        match request {
            Request::StartTls => return self.starttls().await,
            Request::Auth {
                mechanism,
                initial_response,
            } => return self.auth(mechanism, initial_response.into_owned()).await,
            Request::Ehlo { host } => self.ehlo(host, true).await,
            Request::Helo { host } => self.ehlo(host, false).await,
            Request::Mail { from } => self.mail(from, declared).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data().await?,
            Request::Rset => self.rset().await,
            Request::Noop { .. } => self.reply(Reply::ok()),
            Request::Vrfy { .. } => self.reply(Reply::cannot_verify()),
            Request::Help { .. } => self.reply(Reply::help()),
            Request::Quit => return self.quit().await,
            other => self.reply(Reply::not_implemented(other.name())),
        }
        Ok(())
    }

    /// Queues a reply; it is written at the next flush. Replies that mean the client got
    /// the protocol wrong count as errors; a policy refusal never does.
    pub(super) fn reply(&mut self, reply: Reply) {
        if reply.is_client_error() {
            self.errors += 1;
        }
        reply.write_to(&mut self.wbuf);
    }

    /// Drops input received but not processed (after STARTTLS: it was not protected).
    pub(super) fn discard_pending(&mut self) {
        self.rpos = self.rbuf.len();
    }

    /// Reads the next line (for AUTH exchanges), without its line ending.
    pub(super) async fn read_line(&mut self) -> Result<String, Closed> {
        loop {
            if let Some(line) = self.next_line() {
                return match line {
                    Line::Command(range) => {
                        let text = String::from_utf8_lossy(&self.rbuf[range]);
                        Ok(text.trim_end_matches(['\r', '\n']).to_string())
                    }
                    Line::TooLong => Ok(String::new()),
                };
            }
            self.flush().await?;
            self.fill_command().await?;
        }
    }

    /// Writes every queued reply in one go.
    pub(super) async fn flush(&mut self) -> Flow {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let limit = self.ctx.limits.command_timeout;
        match tokio::time::timeout(limit, self.io.write_all(&self.wbuf)).await {
            Ok(Ok(())) => {}
            _ => return Err(Closed::Gone),
        }
        self.wbuf.clear();
        if self.wbuf.capacity() > 64 * 1024 {
            self.wbuf.shrink_to(1024);
        }
        match tokio::time::timeout(limit, self.io.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed::Gone),
        }
    }

    /// Queues `reply` (a 421), writes it, and ends the session.
    pub(super) async fn close_with(&mut self, reply: Reply) -> Flow {
        self.reply(reply);
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
        Err(Closed::Done)
    }

    /// The next complete line in the buffer, enforcing the line limit.
    fn next_line(&mut self) -> Option<Line> {
        let max = self.ctx.limits.max_line_length;
        loop {
            let pending = &self.rbuf[self.rpos..];
            match memchr::memchr(b'\n', pending) {
                Some(i) => {
                    let start = self.rpos;
                    self.rpos += i + 1;
                    self.line_started = None;
                    if self.discarding {
                        self.discarding = false;
                        return Some(Line::TooLong);
                    }
                    if i + 1 > max {
                        return Some(Line::TooLong);
                    }
                    return Some(Line::Command(start..self.rpos));
                }
                None if pending.len() > max || (self.discarding && !pending.is_empty()) => {
                    // Keep memory bounded: drop the overlong part, answer when it ends.
                    self.discarding = true;
                    self.rpos = self.rbuf.len();
                    continue;
                }
                None => return None,
            }
        }
    }

    /// Reads more input, with a timeout, watching for shutdown (see [`Self::must_stop`]).
    pub(super) async fn fill(&mut self, timeout: Duration, command: bool) -> Flow {
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        if self.rbuf.capacity() > 64 * 1024 && self.rbuf.len() < 4096 {
            self.rbuf.shrink_to(4096);
        }
        self.rbuf.reserve(8192);
        loop {
            let phase = *self.phase.borrow_and_update();
            if self.must_stop(phase, command) {
                return self
                    .close_with(Reply::shutting_down(&self.ctx.hostname))
                    .await;
            }
            // During DATA a read is bounded, so that what one decode appends to the message
            // body stays within the headroom the spool reserved (see `spool::MAX_APPEND`).
            let limit = if command {
                u64::MAX
            } else {
                crate::spool::MAX_APPEND as u64 / 2
            };
            let mut io = (&mut self.io).take(limit);
            tokio::select! {
                read = tokio::time::timeout(timeout, io.read_buf(&mut self.rbuf)) => {
                    return match read {
                        Err(_) => self.close_with(Reply::timeout(&self.ctx.hostname)).await,
                        Ok(Ok(0)) | Ok(Err(_)) => Err(Closed::Gone),
                        Ok(Ok(_)) => Ok(()),
                    };
                }
                changed = self.phase.changed() => {
                    if changed.is_err() {
                        // The server is gone; treat as the end of the grace period.
                        return self.close_with(Reply::shutting_down(&self.ctx.hostname)).await;
                    }
                }
            }
        }
    }

    /// Whether a shutdown ends this session now: between transactions as soon as draining
    /// starts; inside one (including its DATA) only when the grace period is over.
    fn must_stop(&self, phase: Phase, waiting_for_command: bool) -> bool {
        match phase {
            Phase::Running => false,
            Phase::Draining => waiting_for_command && self.txn.is_none(),
            Phase::Closing => true,
        }
    }

    /// Feeds the received bytes to the DATA decoder; true once the end marker was seen.
    /// Bytes after the marker stay in the buffer as the next commands.
    pub(super) fn decode_pending(&mut self, decoder: &mut super::dot::DotDecoder) -> bool {
        let (n, done) = decoder.feed(&self.rbuf[self.rpos..], self.body.buffer());
        self.rpos += n;
        done
    }

    /// Ends the transaction, if any, and lets the upstream forget it.
    pub(super) async fn reset_transaction(&mut self) {
        if let Some(mut txn) = self.txn.take() {
            txn.upstream.abort().await;
        }
    }

    /// Writes one decision log line.
    pub(super) async fn log_decision(&self, line: LogLine<'_>) {
        self.ctx
            .log
            .record(DecisionRecord {
                ts: Timestamp::now(),
                session: self.id.clone(),
                client: self.peer_text.clone(),
                user: self.user.clone(),
                from: line.from.to_string(),
                rcpt: line.rcpt.to_string(),
                decision: line.decision,
                code: line.reply.code(),
                status: line.reply.status(),
                reason: line.reason,
                rule: line.rule,
                target: line.target.map(str::to_string),
                message_id: line.message_id.map(str::to_string),
                upstream: line.upstream,
                exemption: line.exemption,
                lock: line.lock,
                marked: line.marked,
                group: line
                    .group
                    .or_else(|| self.txn.as_ref().and_then(|t| t.group.as_deref()))
                    .map(str::to_string),
            })
            .await;
    }

    /// Queues a send record (group-committed by the store writer).
    pub(super) async fn record_attempts(&self, attempts: Vec<crate::model::Attempt>) {
        if let Err(e) = self.ctx.store.record_attempts(attempts).await {
            tracing::error!(session = %self.id, error = %e, "cannot record send attempts");
        }
    }

    /// A send record for `rcpt` from this session.
    pub(super) fn attempt(
        &self,
        from: &str,
        rcpt: &str,
        at: Timestamp,
        outcome: crate::model::AttemptOutcome,
    ) -> crate::model::Attempt {
        crate::model::Attempt {
            at,
            session: self.id.clone(),
            client: self.peer_text.clone(),
            from: from.to_string(),
            user: self.user.clone(),
            rcpt: rcpt.to_string(),
            owner: self
                .txn
                .as_ref()
                .and_then(|t| t.owner.as_ref())
                .map(|o| o.name.clone()),
            outcome,
        }
    }
}

enum Line {
    Command(std::ops::Range<usize>),
    TooLong,
}

/// The fields of one decision log line that vary; the session fills in the rest.
pub(super) struct LogLine<'a> {
    pub from: &'a str,
    pub rcpt: &'a str,
    pub decision: Decision,
    pub reply: &'a Reply,
    pub reason: Option<Why>,
    pub rule: Option<DecisionRule>,
    pub target: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub upstream: Option<String>,
    pub exemption: Option<String>,
    pub lock: Option<String>,
    pub marked: Option<String>,
    pub group: Option<&'a str>,
}

impl<'a> LogLine<'a> {
    /// A line with only the fields every line has.
    pub fn new(from: &'a str, rcpt: &'a str, decision: Decision, reply: &'a Reply) -> LogLine<'a> {
        LogLine {
            from,
            rcpt,
            decision,
            reply,
            reason: None,
            rule: None,
            target: None,
            message_id: None,
            upstream: None,
            exemption: None,
            lock: None,
            marked: None,
            group: None,
        }
    }
}

/// What follows `RCPT TO:` on a RCPT line the parser refused, as text (bounded), for the record.
fn rcpt_argument(line: &[u8]) -> Option<String> {
    let head = line.get(..8)?;
    if !head.eq_ignore_ascii_case(b"RCPT TO:") {
        return None;
    }
    let rest = String::from_utf8_lossy(&line[8..]);
    let rest = rest.trim_end_matches(['\r', '\n']).trim();
    let rest = rest.strip_prefix('<').unwrap_or(rest);
    let rest = rest.split('>').next().unwrap_or(rest);
    Some(rest.chars().take(320).collect())
}

/// The one mapping from parser errors to replies.
fn parse_error_reply(e: ParseError) -> Reply {
    match e {
        ParseError::UnknownCommand | ParseError::InvalidResponse { .. } => Reply::unrecognized(),
        ParseError::InvalidSenderAddress => Reply::bad_sender_syntax("malformed reverse-path"),
        ParseError::InvalidRecipientAddress => {
            Reply::bad_recipient_syntax("malformed forward-path")
        }
        ParseError::SyntaxError { syntax } => Reply::syntax(syntax),
        ParseError::InvalidParameter { param } => Reply::bad_parameter(param),
        ParseError::UnsupportedParameter { param } => Reply::unsupported_parameter(&param),
        ParseError::ResponseTooLong => Reply::line_too_long(),
        ParseError::NeedsMoreData { .. } => Reply::syntax("incomplete command"),
    }
}
