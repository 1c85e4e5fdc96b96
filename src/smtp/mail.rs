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
    pub(super) async fn mail(&mut self, from: MailFrom<Cow<'_, str>>) {
        if self.helo.is_none() {
            return self.reply(Reply::bad_sequence("send EHLO or HELO first"));
        }
        if self.txn.is_some() {
            return self.reply(Reply::bad_sequence("nested MAIL command"));
        }
        // No open relay: a client relays only from a trusted network or after AUTH.
        let trusted = self.settings.access.is_trusted(self.peer.ip());
        if self.user.is_none() && !trusted {
            return self.reply(Reply::auth_required());
        }
        if let Some(param) = unsupported_mail_parameter(&from) {
            return self.reply(Reply::unsupported_parameter(param));
        }
        if from.size > self.ctx.limits.max_message_size {
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
        if let Some(user) = &self.user {
            if !self.settings.access.may_send_as(user, sender.as_ref()) {
                return self.reply(Reply::sender_not_allowed(user));
            }
        }
        // Transactional senders and bounces neither take nor respect ownership locks.
        let who = Sender {
            address: sender.as_ref(),
            user: self.user.as_deref(),
        };
        let owner = if self.settings.policy.groups().is_transactional(&who) {
            None
        } else {
            self.settings.locks.owner_of(&who)
        };
        let params = MailParams {
            from: from.address.to_string(),
            eight_bit: from.flags & MAIL_BODY_8BITMIME != 0,
            smtputf8,
        };
        self.txn = Some(Transaction {
            from: params.from.clone(),
            sender,
            upstream: self.ctx.relay.transaction(params),
            accepted: Vec::new(),
            smtputf8,
            owner,
        });
        self.idle_commands = 0;
        self.reply(Reply::sender_ok());
    }
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
