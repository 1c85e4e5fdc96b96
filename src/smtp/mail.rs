//! MAIL FROM (RFC 5321 section 4.1.1.2): starts a transaction. Nothing goes upstream yet: the
//! upstream transaction opens at the first recipient the policy lets through.

use std::borrow::Cow;

use smtp_proto::{MailFrom, MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_SMTPUTF8};
use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Session, Transaction};
use crate::address::Address;
use crate::policy::Sender;
use crate::relay::MailParams;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn mail(
        &mut self,
        from: MailFrom<Cow<'_, str>>,
        declared: Option<DeclaredSize>,
    ) {
        if self.helo.is_none() {
            return self.reply(Reply::bad_sequence("send EHLO or HELO first"));
        }
        if self.txn.is_some() {
            return self.reply(Reply::bad_sequence("nested MAIL command"));
        }
        // No open relay: a client relays only from a trusted network or after AUTH. The
        // feedback listener relays nothing and takes bounces from anyone.
        let trusted = self.listener.feedback || self.settings.access.is_trusted(self.peer.ip());
        if self.user.is_none() && !trusted {
            return self.reply(Reply::auth_required());
        }
        if let Some(param) = unsupported_mail_parameter(&from) {
            return self.reply(Reply::unsupported_parameter(param));
        }
        // Our own reading of SIZE: smtp-proto's saturates and then wraps for very long values,
        // and takes `SIZE= 5` for 5.
        let size = match declared {
            Some(DeclaredSize::Bytes(n)) => n,
            Some(DeclaredSize::Invalid) => return self.reply(Reply::bad_parameter("SIZE")),
            None => from.size as u64,
        };
        if size > self.ctx.limits.max_message_size as u64 {
            return self.reply(Reply::message_too_large());
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !smtputf8 && !from.address.is_ascii() {
            return self.reply(Reply::needs_smtputf8());
        }
        let sender = if from.address.is_empty() {
            None
        } else {
            match Address::parse(&from.address) {
                Ok(addr) => Some(addr),
                Err(e) => return self.reply(Reply::bad_sender_syntax(&e.to_string())),
            }
        };
        if let (Some(user), false) = (&self.user, self.listener.feedback) {
            if !self.settings.access.may_send_as(user, sender.as_ref()) {
                return self.reply(Reply::sender_not_allowed(user));
            }
        }
        // Transactional senders and bounces neither take nor respect ownership locks.
        let who = Sender {
            address: sender.as_ref(),
            user: self.user.as_deref(),
        };
        let owner = if self.listener.feedback {
            None
        } else {
            crate::decision::owner_for(&self.settings.policy, &self.settings.locks, &who)
        };
        let params = MailParams {
            from: from.address.to_string(),
            eight_bit: from.flags & MAIL_BODY_8BITMIME != 0,
            smtputf8,
        };
        let marking = match (&self.ctx.marker, self.listener.feedback) {
            (Some(_), false) => self.settings.policy.groups().marking(&who),
            _ => None,
        };
        let group = self
            .settings
            .policy
            .groups()
            .group_of(&who)
            .map(str::to_string);
        self.txn = Some(Transaction {
            from: params.from.clone(),
            sender,
            upstream: self.ctx.relay.transaction(params, self.peer.ip()),
            accepted: Vec::new(),
            smtputf8,
            owner,
            additions: self.ctx.store.additions(),
            marking,
            group,
        });
        self.idle_commands = 0;
        self.reply(Reply::sender_ok());
    }
}

/// The `SIZE=` parameter of a MAIL command line, read by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeclaredSize {
    /// Digits only; saturates at `u64::MAX` (anything that long is over any limit).
    Bytes(u64),
    /// Not a number.
    Invalid,
}

/// Finds `SIZE=` among the parameters of a MAIL line (after the path's closing `>`).
pub(super) fn declared_size(line: &[u8]) -> Option<DeclaredSize> {
    if line.len() < 4 || !line[..4].eq_ignore_ascii_case(b"MAIL") {
        return None;
    }
    let params = &line[line.iter().rposition(|&b| b == b'>')? + 1..];
    let at = params
        .windows(6)
        .position(|w| w.eq_ignore_ascii_case(b" SIZE="))?;
    let value: &[u8] = params[at + 6..]
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Some(DeclaredSize::Invalid);
    }
    let n = value.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(DeclaredSize::Bytes(n))
}

/// The first MAIL parameter we parse but do not advertise (DSN, DELIVERBY, FUTURERELEASE...).
fn unsupported_mail_parameter(from: &MailFrom<Cow<'_, str>>) -> Option<&'static str> {
    let known = MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_SMTPUTF8;
    if from.flags & !known != 0 {
        return Some(
            if from.flags & (smtp_proto::MAIL_RET_FULL | smtp_proto::MAIL_RET_HDRS) != 0 {
                "RET"
            } else {
                "BODY"
            },
        );
    }
    if from.env_id.is_some() {
        return Some("ENVID");
    }
    if from.auth.is_some() {
        return Some("AUTH");
    }
    if from.trans_id.is_some() || from.by != 0 || from.solicit.is_some() || from.mtrk.is_some() {
        return Some("extension");
    }
    if from.hold_for != 0 || from.hold_until != 0 || from.mt_priority != 0 {
        return Some("extension");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_read_whatever_its_length() {
        let cases: &[(&[u8], Option<DeclaredSize>)] = &[
            (
                b"MAIL FROM:<a@b> SIZE=1000\r\n",
                Some(DeclaredSize::Bytes(1000)),
            ),
            (
                b"mail from:<a@b> BODY=8BITMIME size=7\r\n",
                Some(DeclaredSize::Bytes(7)),
            ),
            (
                b"MAIL FROM:<a@b> SIZE=99999999999999999999999\r\n",
                Some(DeclaredSize::Bytes(u64::MAX)),
            ),
            (b"MAIL FROM:<a@b> SIZE=12x\r\n", Some(DeclaredSize::Invalid)),
            (b"MAIL FROM:<a@b> SIZE=\r\n", Some(DeclaredSize::Invalid)),
            (b"MAIL FROM:<a@b>\r\n", None),
            (b"MAIL FROM:<x SIZE=9@b>\r\n", None),
            (b"RCPT TO:<a@b> SIZE=9\r\n", None),
        ];
        for (line, want) in cases {
            assert_eq!(
                declared_size(line),
                *want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
