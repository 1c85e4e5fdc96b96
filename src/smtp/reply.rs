//! The one reply type of the SMTP server, and every reply it sends, built in one place.
//!
//! The class of the enhanced status code (RFC 3463) is derived from the reply code, so a
//! `451` can never go out as `451 5.x.x`. Handlers never write bytes themselves.

use std::borrow::Cow;
use std::fmt;

/// The subject and detail of an enhanced status code; the class comes from the reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The subject (`7` in `5.7.1`).
    pub subject: u16,
    /// The detail (`1` in `5.7.1`).
    pub detail: u16,
}

/// One SMTP reply: code, optional enhanced status, text (lines separated by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    status: Option<Status>,
    text: Cow<'static, str>,
}

/// Appends the decimal digits of `n`.
fn push_number(out: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

const fn st(subject: u16, detail: u16) -> Option<Status> {
    Some(Status { subject, detail })
}

impl Reply {
    /// A reply with an enhanced status whose class follows the code.
    pub fn new(code: u16, status: Option<Status>, text: impl Into<Cow<'static, str>>) -> Reply {
        debug_assert!((200..600).contains(&code), "reply code {code}");
        Reply {
            code,
            status,
            text: text.into(),
        }
    }

    /// The three-digit code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status as text (`5.7.1`), if the reply has one.
    pub fn status(&self) -> Option<String> {
        self.status
            .map(|s| format!("{}.{}.{}", self.code / 100, s.subject, s.detail))
    }

    /// The text, lines separated by `\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// 4xx.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// Whether the reply says the client got the protocol wrong (syntax, sequence, unknown
    /// command, missing or failed authentication). Counted against `max_errors`; a policy
    /// refusal (550, 553) or a temporary failure is not.
    pub fn is_client_error(&self) -> bool {
        matches!(self.code, 500..=504 | 530 | 535 | 538 | 555)
    }

    /// Appends the wire form (CRLF-terminated, multi-line as needed) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // Written digit by digit rather than with `write!`: this runs for every reply, and the
        // formatting machinery cost more than the rest of it.
        let mut lines = self.text.split('\n').peekable();
        while let Some(line) = lines.next() {
            push_number(out, self.code);
            out.push(if lines.peek().is_some() { b'-' } else { b' ' });
            if let Some(s) = self.status {
                push_number(out, self.code / 100);
                out.push(b'.');
                push_number(out, s.subject);
                out.push(b'.');
                push_number(out, s.detail);
                out.push(b' ');
            }
            // Text from elsewhere (an upstream reply) must not smuggle line breaks or controls.
            if line.bytes().any(|b| b.is_ascii_control()) {
                out.extend(line.bytes().filter(|b| !b.is_ascii_control()));
            } else {
                out.extend_from_slice(line.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// `220 host ESMTP dnc-relay`
    pub fn greeting(hostname: &str) -> Reply {
        Reply::new(220, None, format!("{hostname} ESMTP dnc-relay"))
    }

    /// The EHLO reply: host name, then one extension per line.
    pub fn ehlo(hostname: &str, client: &str, extensions: &[String]) -> Reply {
        let mut text = format!("{hostname} greets {client}");
        for ext in extensions {
            text.push('\n');
            text.push_str(ext);
        }
        Reply::new(250, None, text)
    }

    /// `250 host` for HELO.
    pub fn helo(hostname: &str) -> Reply {
        Reply::new(250, None, hostname.to_string())
    }

    /// `250 2.0.0 OK`
    pub fn ok() -> Reply {
        Reply::new(250, st(0, 0), "OK")
    }

    /// `250 2.1.0` after MAIL.
    pub fn sender_ok() -> Reply {
        Reply::new(250, st(1, 0), "sender OK")
    }

    /// `250 2.1.5` after RCPT.
    pub fn recipient_ok() -> Reply {
        Reply::new(250, st(1, 5), "recipient OK")
    }

    /// `250 2.0.0` after the message, quoting the upstream's acceptance (its queue id).
    pub fn relayed(upstream_text: &str) -> Reply {
        let (_, rest) = split_enhanced_status(250, upstream_text);
        Reply::new(250, st(0, 0), format!("accepted: {rest}"))
    }

    /// `250 2.0.0` on the feedback listener: the message is in the store, to be classified.
    pub fn feedback_kept(arrival: u64) -> Reply {
        Reply::new(
            250,
            st(0, 0),
            format!("kept for feedback as arrival {arrival}"),
        )
    }

    /// `452 4.3.1` on the feedback listener: too much waits to be read; the sender keeps it.
    pub fn feedback_inbox_full() -> Reply {
        Reply::new(
            452,
            st(3, 1),
            "too much feedback waiting to be read, try again later",
        )
    }

    /// `550 5.7.1` on the feedback listener: a recipient outside the feedback domains. The
    /// listener is no relay.
    pub fn not_a_feedback_domain(rcpt: &str) -> Reply {
        Reply::new(
            550,
            st(7, 1),
            format!("<{rcpt}>: relay access denied, this server takes mail for its feedback domains only"),
        )
    }

    /// `354` after DATA.
    pub fn start_data() -> Reply {
        Reply::new(354, None, "end data with <CR><LF>.<CR><LF>")
    }

    /// `221 2.0.0` after QUIT.
    pub fn bye(hostname: &str) -> Reply {
        Reply::new(221, st(0, 0), format!("{hostname} closing connection"))
    }

    /// `214 2.0.0` after HELP.
    pub fn help() -> Reply {
        Reply::new(
            214,
            st(0, 0),
            "dnc-relay: refuses do-not-contact recipients, relays the rest\n\
             commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
        )
    }

    /// `252 2.5.0`: VRFY never reveals whether an address is on the list.
    pub fn cannot_verify() -> Reply {
        Reply::new(
            252,
            st(5, 0),
            "cannot VRFY user, but will accept message and attempt delivery",
        )
    }

    /// `550 5.7.1`: the recipient is on the do-not-contact list.
    pub fn suppressed(rcpt: &str, reason: &str) -> Reply {
        Reply::new(
            550,
            st(7, 1),
            format!("<{rcpt}>: recipient is on the do-not-contact list ({reason})"),
        )
    }

    /// `550 5.1.1`: mail to the recipient hard-bounced before.
    pub fn hard_bounced(rcpt: &str) -> Reply {
        Reply::new(
            550,
            st(1, 1),
            format!("<{rcpt}>: recipient address hard-bounced before (hard-bounce)"),
        )
    }

    /// `550 5.7.1`: another owner holds the contact or account.
    pub fn locked(rcpt: &str, lock: &str) -> Reply {
        Reply::new(550, st(7, 1), format!("<{rcpt}>: {lock}"))
    }

    /// `550 5.7.1`: the sender's purpose needs a consent the recipient has not given.
    pub fn no_consent(rcpt: &str, purpose: &str) -> Reply {
        Reply::new(
            550,
            st(7, 1),
            format!("<{rcpt}>: no consent recorded for {purpose}"),
        )
    }

    /// `250 2.1.5` with a warning about another owner's lock (warn mode).
    pub fn recipient_ok_with_warning(lock: &str) -> Reply {
        Reply::new(250, st(1, 5), format!("recipient OK; warning: {lock}"))
    }

    /// `451 4.3.0`: the policy could not decide; the client should retry later.
    pub fn policy_unavailable() -> Reply {
        Reply::new(
            451,
            st(3, 0),
            "recipient policy temporarily unavailable, try again later",
        )
    }

    /// `451 4.7.1`: a recipient was put on the list while the transaction was open; the whole
    /// message is deferred so that, sent again, it goes out without that recipient.
    pub fn listed_during_transaction(rcpt: &str) -> Reply {
        Reply::new(
            451,
            st(7, 1),
            format!(
                "<{rcpt}> was put on the do-not-contact list during this transaction; send the message again"
            ),
        )
    }

    /// `454 4.7.0`: too many failed AUTH attempts from this address or for this user.
    pub fn auth_throttled() -> Reply {
        Reply::new(
            454,
            st(7, 0),
            "too many failed authentications, try again later",
        )
    }

    /// `451 4.3.0`: the relay could not hold the message (its spool file failed).
    pub fn local_error() -> Reply {
        Reply::new(
            451,
            st(3, 0),
            "local error: cannot hold the message now, try again later",
        )
    }

    /// `451 4.4.1`: the upstream could not be reached or did not answer in time.
    pub fn upstream_unavailable() -> Reply {
        Reply::new(
            451,
            st(4, 1),
            "upstream temporarily unavailable, try again later",
        )
    }

    /// `501 5.1.3`: the recipient address is malformed.
    pub fn bad_recipient_syntax(detail: &str) -> Reply {
        Reply::new(
            501,
            st(1, 3),
            format!("bad recipient address syntax: {detail}"),
        )
    }

    /// `501 5.1.7`: the sender address is malformed.
    pub fn bad_sender_syntax(detail: &str) -> Reply {
        Reply::new(
            501,
            st(1, 7),
            format!("bad sender address syntax: {detail}"),
        )
    }

    /// `452 4.5.3`: too many recipients for one message.
    pub fn too_many_recipients() -> Reply {
        Reply::new(452, st(5, 3), "too many recipients")
    }

    /// `452 4.5.3`: a sender group that adds List-Unsubscribe sends one recipient per
    /// transaction (each copy carries its own link); the client sends the others in another.
    pub fn one_recipient_per_message() -> Reply {
        Reply::new(
            452,
            st(5, 3),
            "one recipient per message from this sender (each copy has its own unsubscribe link); send the others in another transaction",
        )
    }

    /// `552 5.3.4`: the message is larger than the limit.
    pub fn message_too_large() -> Reply {
        Reply::new(552, st(3, 4), "message exceeds the size limit")
    }

    /// `530 5.7.0`: authentication required.
    pub fn auth_required() -> Reply {
        Reply::new(530, st(7, 0), "authentication required")
    }

    /// `220 2.0.0` after STARTTLS.
    pub fn ready_for_tls() -> Reply {
        Reply::new(220, st(0, 0), "ready to start TLS")
    }

    /// `334` with a base64 challenge (AUTH).
    pub fn auth_challenge(base64: &str) -> Reply {
        Reply::new(334, None, base64.to_string())
    }

    /// `235 2.7.0` after a successful AUTH.
    pub fn auth_ok() -> Reply {
        Reply::new(235, st(7, 0), "authentication successful")
    }

    /// `535 5.7.8`: wrong user name or password.
    pub fn auth_failed() -> Reply {
        Reply::new(535, st(7, 8), "authentication credentials invalid")
    }

    /// `538 5.7.11`: AUTH needs an encrypted connection (RFC 4954).
    pub fn encryption_required() -> Reply {
        Reply::new(
            538,
            st(7, 11),
            "encryption required for requested authentication mechanism",
        )
    }

    /// `504 5.5.4`: an AUTH mechanism we do not offer.
    pub fn unsupported_mechanism() -> Reply {
        Reply::new(
            504,
            st(5, 4),
            "unrecognized authentication type (use PLAIN or LOGIN)",
        )
    }

    /// `501 5.5.2`: a malformed or cancelled AUTH exchange.
    pub fn auth_cancelled() -> Reply {
        Reply::new(
            501,
            st(5, 2),
            "authentication exchange cancelled or malformed",
        )
    }

    /// `553 5.7.1`: the authenticated user may not use this sender.
    pub fn sender_not_allowed(user: &str) -> Reply {
        Reply::new(
            553,
            st(7, 1),
            format!("sender address not allowed for {user}"),
        )
    }

    /// `421 4.7.0`: too many errors in this session.
    pub fn too_many_errors(hostname: &str) -> Reply {
        Reply::new(
            421,
            st(7, 0),
            format!("{hostname} too many errors, closing connection"),
        )
    }

    /// `421 4.7.0`: too many commands without sending mail.
    pub fn too_many_commands(hostname: &str) -> Reply {
        Reply::new(
            421,
            st(7, 0),
            format!("{hostname} too many commands without a transaction, closing connection"),
        )
    }

    /// `421 4.4.2`: the message data arrives too slowly.
    pub fn too_slow(hostname: &str) -> Reply {
        Reply::new(
            421,
            st(4, 2),
            format!("{hostname} data transfer too slow, closing connection"),
        )
    }

    /// `503 5.5.1`: command out of sequence.
    pub fn bad_sequence(what: &'static str) -> Reply {
        Reply::new(503, st(5, 1), what)
    }

    /// `554 5.5.1`: DATA with no accepted recipient.
    pub fn no_valid_recipients() -> Reply {
        Reply::new(554, st(5, 1), "no valid recipients")
    }

    /// `500 5.5.1`: not a command.
    pub fn unrecognized() -> Reply {
        Reply::new(500, st(5, 1), "command not recognized")
    }

    /// `502 5.5.1`: a command this relay does not implement.
    pub fn not_implemented(command: &str) -> Reply {
        Reply::new(502, st(5, 1), format!("{command} not implemented"))
    }

    /// `501 5.5.4`: a command with bad syntax.
    pub fn syntax(usage: &str) -> Reply {
        Reply::new(501, st(5, 4), format!("syntax: {usage}"))
    }

    /// `501 5.5.4`: a bad parameter value.
    pub fn bad_parameter(param: &str) -> Reply {
        Reply::new(501, st(5, 4), format!("bad value for parameter {param}"))
    }

    /// `555 5.5.4`: a MAIL or RCPT parameter that was not advertised.
    pub fn unsupported_parameter(param: &str) -> Reply {
        Reply::new(555, st(5, 4), format!("unsupported parameter {param}"))
    }

    /// `500 5.5.2`: the command line exceeded the limit.
    pub fn line_too_long() -> Reply {
        Reply::new(500, st(5, 2), "line too long")
    }

    /// `421 4.3.2`: the connection limit is reached.
    pub fn too_many_connections(hostname: &str) -> Reply {
        Reply::new(
            421,
            st(3, 2),
            format!("{hostname} too many connections, try again later"),
        )
    }

    /// `421 4.4.2`: the client was idle too long.
    pub fn timeout(hostname: &str) -> Reply {
        Reply::new(
            421,
            st(4, 2),
            format!("{hostname} timeout, closing connection"),
        )
    }

    /// `421 4.3.2`: the relay is shutting down.
    pub fn shutting_down(hostname: &str) -> Reply {
        Reply::new(
            421,
            st(3, 2),
            format!("{hostname} shutting down, try again later"),
        )
    }

    /// `553 5.6.7`: a non-ASCII address without `SMTPUTF8` in MAIL FROM (RFC 6531).
    pub fn needs_smtputf8() -> Reply {
        Reply::new(
            553,
            st(6, 7),
            "non-ASCII address needs the SMTPUTF8 parameter",
        )
    }

    /// `550 5.6.7` or `554 5.6.3`: the message needs an extension the upstream lacks.
    pub fn upstream_lacks(extension: &str) -> Reply {
        match extension {
            "SMTPUTF8" => Reply::new(550, st(6, 7), "upstream does not support SMTPUTF8"),
            other => Reply::new(554, st(6, 3), format!("upstream does not support {other}")),
        }
    }

    /// The refusal for a recipient the policy blocked: 5.1.1 for a hard bounce, 5.7.1 with
    /// the reason for every other entry.
    pub fn for_block(rcpt: &str, block: &crate::policy::Block) -> Reply {
        match block.entry.reason {
            crate::model::Reason::HardBounce => Reply::hard_bounced(rcpt),
            reason => Reply::suppressed(rcpt, reason.as_str()),
        }
    }

    /// The client's reply for an upstream outcome; `accepted` is what a success looks like
    /// at this step (250 2.1.5 after RCPT, the upstream's own 250 after DATA).
    pub fn for_outcome(
        outcome: &crate::relay::Outcome,
        accepted: impl FnOnce(&crate::relay::UpstreamReply) -> Reply,
    ) -> Reply {
        use crate::relay::Outcome;
        match outcome {
            Outcome::Accepted(r) => accepted(r),
            Outcome::Refused(r) => Reply::from_upstream(r.code, &r.text()),
            Outcome::Unavailable(_) => Reply::upstream_unavailable(),
            Outcome::Unsupported(ext) => Reply::upstream_lacks(ext),
        }
    }

    /// The upstream's own reply, passed through. The enhanced status is kept when its class
    /// agrees with the code, otherwise dropped; the text is the upstream's.
    pub fn from_upstream(code: u16, text: &str) -> Reply {
        // 421 tells the client that *we* are closing its connection; an upstream that closes
        // on us is a temporary failure of this command, nothing more.
        let code = match code {
            421 => 451,
            200..=599 => code,
            _ => 451,
        };
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        let (status, rest) = split_enhanced_status(code, &text);
        let text = if rest.is_empty() {
            "upstream reply".to_string()
        } else {
            format!("upstream: {rest}")
        };
        Reply::new(code, status, text)
    }
}

/// Splits `5.1.1 rest` into the status and the rest, if the status class matches `code`.
fn split_enhanced_status(code: u16, text: &str) -> (Option<Status>, &str) {
    let text = text.trim();
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut parts = first.split('.');
    let parsed = (|| {
        let class: u16 = parts.next()?.parse().ok()?;
        let subject: u16 = parts.next()?.parse().ok()?;
        let detail: u16 = parts.next()?.parse().ok()?;
        (parts.next().is_none() && subject < 1000 && detail < 1000)
            .then_some((class, subject, detail))
    })();
    match parsed {
        Some((class, subject, detail)) if class == code / 100 => {
            (Some(Status { subject, detail }), rest.trim())
        }
        Some(_) => (None, rest.trim()),
        None => (None, text),
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        f.write_str(String::from_utf8_lossy(&out).trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Reply) -> String {
        let mut out = Vec::new();
        r.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn wire_form_digits_lines_and_controls() {
        assert_eq!(wire(&Reply::new(550, st(7, 26), "x")), "550 5.7.26 x\r\n");
        assert_eq!(wire(&Reply::new(250, None, "a\nb")), "250-a\r\n250 b\r\n");
        assert_eq!(
            wire(&Reply::new(451, st(0, 0), "up\rstream\u{7}")),
            "451 4.0.0 upstream\r\n"
        );
        assert_eq!(wire(&Reply::new(354, None, "")), "354 \r\n");
    }

    #[test]
    fn status_class_always_follows_the_code() {
        let all = [
            Reply::ok(),
            Reply::sender_ok(),
            Reply::recipient_ok(),
            Reply::bye("h"),
            Reply::help(),
            Reply::cannot_verify(),
            Reply::suppressed("a@b.c", "unsubscribe"),
            Reply::hard_bounced("a@b.c"),
            Reply::policy_unavailable(),
            Reply::upstream_unavailable(),
            Reply::bad_recipient_syntax("x"),
            Reply::bad_sender_syntax("x"),
            Reply::too_many_recipients(),
            Reply::message_too_large(),
            Reply::auth_required(),
            Reply::bad_sequence("x"),
            Reply::no_valid_recipients(),
            Reply::unrecognized(),
            Reply::not_implemented("X"),
            Reply::syntax("x"),
            Reply::unsupported_parameter("X"),
            Reply::line_too_long(),
            Reply::too_many_connections("h"),
            Reply::timeout("h"),
            Reply::shutting_down("h"),
            Reply::from_upstream(451, "5.7.1 mismatched"),
        ];
        for r in all {
            let line = wire(&r);
            if let Some(status) = r.status() {
                assert!(status.starts_with(&(r.code() / 100).to_string()), "{line}");
                for l in line.lines() {
                    assert!(l.starts_with(&r.code().to_string()), "{l}");
                    assert!(l[4..].starts_with(&format!("{status} ")), "{l}");
                }
            }
        }
    }

    #[test]
    fn table_of_user_facing_codes() {
        let cases = [
            (Reply::suppressed("a@b.c", "unsubscribe"), "550 5.7.1"),
            (Reply::hard_bounced("a@b.c"), "550 5.1.1"),
            (Reply::policy_unavailable(), "451 4.3.0"),
            (Reply::upstream_unavailable(), "451 4.4.1"),
            (Reply::bad_recipient_syntax("x"), "501 5.1.3"),
            (Reply::too_many_recipients(), "452 4.5.3"),
            (Reply::message_too_large(), "552 5.3.4"),
            (Reply::auth_required(), "530 5.7.0"),
            (Reply::bad_sequence("x"), "503 5.5.1"),
        ];
        for (reply, prefix) in cases {
            assert!(wire(&reply).starts_with(prefix), "{reply}");
        }
    }

    #[test]
    fn multiline_replies_use_dashes_and_end_with_a_space() {
        let r = Reply::ehlo("relay", "client", &["PIPELINING".into(), "8BITMIME".into()]);
        assert_eq!(
            wire(&r),
            "250-relay greets client\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        );
    }

    #[test]
    fn upstream_replies_keep_a_matching_status_and_drop_a_wrong_one() {
        assert_eq!(
            wire(&Reply::from_upstream(550, "5.1.1 <x@y>: no such user")),
            "550 5.1.1 upstream: <x@y>: no such user\r\n"
        );
        assert_eq!(
            wire(&Reply::from_upstream(451, "5.7.1 odd")),
            "451 upstream: odd\r\n"
        );
        assert_eq!(
            wire(&Reply::from_upstream(554, "no status here")),
            "554 upstream: no status here\r\n"
        );
        assert_eq!(
            wire(&Reply::from_upstream(421, "4.3.2 shutting down")),
            "451 4.3.2 upstream: shutting down\r\n"
        );
        assert_eq!(
            wire(&Reply::from_upstream(550, "bad\r\nINJECT")),
            "550 upstream: badINJECT\r\n"
        );
    }
}
