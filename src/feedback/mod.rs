//! Feedback: what inbound mail (bounces, complaint reports, auto-replies and people's replies)
//! says about whom to stop mailing. This module knows MIME and mail formats, never SMTP
//! sessions: it reads one RFC 5322 message and says what it is and what should happen.
//!
//! The structure lives in code: RFC 3464 delivery reports ([`dsn`]), RFC 5965 complaint
//! reports ([`arf`]), RFC 3834 auto-replies ([`autoreply`]), quoted text in replies ([`reply`]).
//! The words live in the rules file ([`rules`], `config/feedback-rules.toml`).
//!
//! Biased towards doing nothing: only an unambiguous "this address does not exist", a
//! complaint, or a clear request to stop suppresses. An out-of-office, a full mailbox, a policy
//! block or a polite "not now" never does.

pub mod arf;
pub mod autoreply;
pub mod dsn;
pub mod inbox;
pub mod reply;
pub mod rules;
pub mod score;

use std::sync::Arc;

use mail_parser::{Message, MessageParser};
use serde::Serialize;

use crate::address::Address;
use crate::model::{Reason, Source};
use rules::Rules;

pub use crate::model::feedback::{Action, ActionKind, Class, Kind};

/// What one message is and what should happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classified {
    /// What it is.
    pub kind: Kind,
    /// For replies: what it asks.
    pub class: Option<Class>,
    /// What to do, per address.
    pub actions: Vec<Action>,
    /// The channel the suppressions come through.
    #[serde(skip)]
    pub source: Source,
    /// The proof to record: the reply's new text, or the bounce's status and diagnostic, with
    /// the message's Message-ID, From and Date.
    #[serde(skip)]
    pub evidence: String,
    /// The message's Message-ID, if it has one.
    #[serde(skip)]
    pub message_id: Option<String>,
}

impl Classified {
    /// A message that is nothing the classifier knows, with why.
    pub fn unknown(why: &str) -> Classified {
        unknown(why)
    }

    /// The feedback record of this message (`raw`), acting as `actor`; the store gives it its
    /// id and time.
    pub fn into_record(
        self,
        raw: &[u8],
        actor: crate::model::Actor,
    ) -> crate::model::feedback::Record {
        use sha2::Digest as _;
        crate::model::feedback::Record {
            id: 0,
            at: crate::model::Timestamp::now(),
            actor,
            kind: self.kind,
            class: self.class,
            actions: self.actions,
            reviews: Vec::new(),
            source: self.source,
            evidence: self.evidence,
            sha256: hex::encode(sha2::Sha256::digest(raw)),
            message_id: self.message_id,
        }
    }
}

/// How the classifier treats addresses: whose are ours, which domains are shared by strangers.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Our own domains (and their subdomains): never suppressed.
    pub internal_domains: Vec<String>,
    /// Free-mail domains: a company-wide request from one of them goes to review.
    pub free_mail: Vec<String>,
    /// Whether "not interested" suppresses (else it is only logged).
    pub not_interested_suppresses: bool,
}

impl Settings {
    /// Whether `domain` is ours (or a subdomain of ours).
    pub fn is_internal(&self, domain: &str) -> bool {
        self.internal_domains.iter().any(|d| within(domain, d))
    }

    fn is_free_mail(&self, domain: &str) -> bool {
        self.free_mail
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Whether `domain` is `parent` or below it.
fn within(domain: &str, parent: &str) -> bool {
    let (domain, parent) = (domain.trim_end_matches('.'), parent.trim_end_matches('.'));
    domain.eq_ignore_ascii_case(parent)
        || (domain.len() > parent.len()
            && domain.as_bytes()[domain.len() - parent.len() - 1] == b'.'
            && domain[domain.len() - parent.len()..].eq_ignore_ascii_case(parent))
}

/// Reads messages and says what they are and what should happen.
pub struct Classifier {
    rules: Arc<Rules>,
    settings: Settings,
}

impl Classifier {
    /// A classifier with these rules and settings.
    pub fn new(rules: Arc<Rules>, settings: Settings) -> Classifier {
        Classifier { rules, settings }
    }

    /// The classifier a config describes: its rules file (else the shipped rules), our own
    /// domains, the free-mail domains of `[locks]`, what "not interested" does.
    pub fn from_config(config: &crate::config::Config) -> Result<Classifier, String> {
        let rules = Rules::load(config.feedback.rules.as_deref())?;
        let settings = Settings {
            internal_domains: config.internal_domains(),
            free_mail: config.locks.free_mail_domains.clone(),
            not_interested_suppresses: config.feedback.not_interested
                == crate::config::NotInterested::Suppress,
        };
        Ok(Classifier::new(Arc::new(rules), settings))
    }

    /// What a bounce (`raw`) means for `recipient`, named by the return path it came back to
    /// rather than by the bounce: an action for it, when the bounce does not name it already.
    /// Only for messages that are bounces (an out-of-office sent to a return path is not).
    pub fn bounce_for(
        &self,
        raw: &[u8],
        classified: &Classified,
        recipient: &str,
    ) -> Option<Action> {
        if classified.kind != Kind::Dsn || classified.actions.iter().any(|a| a.target == recipient)
        {
            return None;
        }
        let message = MessageParser::default().parse(raw)?;
        let recipient = Address::parse(recipient).ok()?;
        let mut action = dsn::judge_for(&message, &recipient, &self.rules);
        action.why = format!("{} (named by the return path)", action.why);
        let mut actions = vec![action];
        self.spare_our_own(&mut actions);
        actions.pop()
    }

    /// Classifies one raw RFC 5322 message.
    pub fn classify(&self, raw: &[u8]) -> Classified {
        let Some(message) = MessageParser::default().parse(raw) else {
            return unknown("not a message");
        };
        let mut out = self.by_kind(&message);
        self.spare_our_own(&mut out.actions);
        bound(&mut out.actions);
        out.evidence = format!("{}{}", out.evidence, provenance(&message));
        out.message_id = message.message_id().map(str::to_string);
        out
    }

    fn by_kind(&self, message: &Message<'_>) -> Classified {
        if let Some(actions) = arf::report(message) {
            let evidence = actions.first().map(|a| a.why.clone()).unwrap_or_default();
            return found(Kind::Arf, None, actions, Source::Fbl, evidence);
        }
        if let Some(bounce) = dsn::report(message, &self.rules) {
            return found(
                Kind::Dsn,
                None,
                bounce.actions,
                Source::Bounce,
                bounce.evidence,
            );
        }
        if let Some(what) = not_written(message) {
            return unknown(what);
        }
        let text = reply::Text::of(message);
        if let Some(why) = autoreply::detect(message, &text, &self.rules) {
            return found(Kind::AutoReply, None, Vec::new(), Source::Reply, why);
        }
        match sender(message) {
            Some(from) => self.reply(from, &text),
            None => unknown("no sender address"),
        }
    }

    /// A person's reply: what its new text asks of its sender.
    fn reply(&self, from: Address, text: &reply::Text) -> Classified {
        let words = text.for_rules();
        let (class, action, found_words) = match self.rules.reply(&words) {
            Some(m) => (m.class, m.action, m.words),
            None => (Class::Unclear, ActionKind::None, String::new()),
        };
        let why = match found_words.is_empty() {
            true => format!("{class} reply"),
            false => format!("{class} reply: \"{}\"", clip(&found_words, 80)),
        };
        let mut actions = Vec::new();
        let me = from.to_string();
        match (class, action) {
            (Class::NotInterested, _) if self.settings.not_interested_suppresses => actions
                .push(Action::new(&me, ActionKind::Suppress, Some(Reason::NotInterested)).why(why)),
            (Class::NotInterested, _) => actions
                .push(Action::new(&me, ActionKind::None, Some(Reason::NotInterested)).why(why)),
            (_, ActionKind::Suppress) => {
                let reason = match class {
                    Class::Legal => Reason::Legal,
                    _ => Reason::Unsubscribe,
                };
                actions.push(Action::new(&me, ActionKind::Suppress, Some(reason)).why(why.clone()));
                if class == Class::UnsubscribeCompany {
                    actions.push(self.company(&from, &why));
                }
                let within_company =
                    |a: &Address| class == Class::UnsubscribeCompany && a.domain() == from.domain();
                if let Some(original) = text
                    .original_recipient(&from, &self.settings)
                    .filter(|a| !within_company(a))
                {
                    let why = format!("{why} (the address it was sent to)");
                    actions.push(
                        Action::new(original.to_string(), ActionKind::Suppress, Some(reason))
                            .why(why),
                    );
                }
                if let Some(words) = self.rules.own_addresses.found(&text.new_text) {
                    let why = format!("{why} (named in the reply: \"{}\")", clip(&words, 60));
                    for a in addresses_in(&text.new_text)
                        .into_iter()
                        .filter(|a| !within_company(a))
                    {
                        let target = a.to_string();
                        if !actions.iter().any(|x| x.target == target) {
                            actions.push(
                                Action::new(target, ActionKind::Suppress, Some(reason))
                                    .why(why.clone()),
                            );
                        }
                    }
                }
            }
            (_, ActionKind::Review) => actions
                .push(Action::new(&me, ActionKind::Review, Some(Reason::Unsubscribe)).why(why)),
            (_, ActionKind::None) => {
                actions.push(Action::new(&me, ActionKind::None, None).why(why))
            }
        }
        let evidence = format!("reply: {}", clip(&text.new_text, 500));
        found(Kind::Reply, Some(class), actions, Source::Reply, evidence)
    }

    /// The whole company of a sender who asked that nobody there be mailed: its domain, or a
    /// review when the domain is free mail (strangers share it).
    fn company(&self, from: &Address, why: &str) -> Action {
        let domain = format!("@{}", from.domain());
        match self.settings.is_free_mail(from.domain()) {
            true => Action::new(domain, ActionKind::Review, Some(Reason::Unsubscribe)).why(
                format!("{why}; {} is free mail: a person decides", from.domain()),
            ),
            false => Action::new(domain, ActionKind::Suppress, Some(Reason::Unsubscribe)).why(why),
        }
    }

    /// Our own addresses are never suppressed, whatever a message says.
    fn spare_our_own(&self, actions: &mut [Action]) {
        for a in actions.iter_mut() {
            let domain = a.target.rsplit('@').next().unwrap_or("");
            if a.action != ActionKind::None && self.settings.is_internal(domain) {
                a.action = ActionKind::None;
                a.why = format!("{} (left alone: {domain} is one of ours)", a.why);
            }
        }
    }
}

fn found(
    kind: Kind,
    class: Option<Class>,
    actions: Vec<Action>,
    source: Source,
    evidence: String,
) -> Classified {
    Classified {
        kind,
        class,
        actions,
        source,
        evidence,
        message_id: None,
    }
}

/// What a message is when nobody wrote it and it is no bounce or complaint: a read receipt
/// (RFC 8098, or any other report), or a calendar answer without text.
fn not_written(message: &Message<'_>) -> Option<&'static str> {
    use mail_parser::MimeHeaders as _;
    if message.is_content_type("multipart", "report") {
        return Some("a report that is neither a bounce nor a complaint (a read receipt)");
    }
    let is_calendar = |p: &mail_parser::MessagePart<'_>| p.is_content_type("text", "calendar");
    let has_text = message
        .text_body
        .iter()
        .chain(&message.html_body)
        .any(|&i| {
            message.part(i).is_some_and(|p| {
                !is_calendar(p) && p.text_contents().is_some_and(|t| !t.trim().is_empty())
            })
        });
    let calendar = message.parts.iter().any(is_calendar);
    (calendar && !has_text).then_some("a calendar answer")
}

/// The most addresses one message may suppress by itself. A real bounce or complaint names
/// one address, a few at most; a message naming more is a forgery or a mistake, and goes to
/// a person (review) instead: one message from a stranger must not block thousands.
pub const MAX_SUPPRESSED: usize = 10;

/// The most addresses one message's record keeps (the rest are dropped, and the record says
/// how many).
pub const MAX_ACTIONS: usize = 100;

/// Holds a message to [`MAX_SUPPRESSED`] suppressions and [`MAX_ACTIONS`] actions.
fn bound(actions: &mut Vec<Action>) {
    if actions.len() > MAX_ACTIONS {
        let dropped = actions.len() - MAX_ACTIONS;
        actions.truncate(MAX_ACTIONS);
        if let Some(last) = actions.last_mut() {
            last.why = format!("{} (and {dropped} more addresses, not kept)", last.why);
        }
    }
    let suppressing = actions
        .iter()
        .filter(|a| a.action == ActionKind::Suppress)
        .count();
    if suppressing > MAX_SUPPRESSED {
        for a in actions
            .iter_mut()
            .filter(|a| a.action == ActionKind::Suppress)
        {
            a.action = ActionKind::Review;
            a.why = format!(
                "{} (one message naming {suppressing} addresses suppresses none by itself: a person decides)",
                a.why
            );
        }
    }
}

fn unknown(why: &str) -> Classified {
    found(
        Kind::Unknown,
        None,
        Vec::new(),
        Source::Reply,
        why.to_string(),
    )
}

/// The sender's address (From), if it is one.
fn sender(message: &Message<'_>) -> Option<Address> {
    let from = message.from()?.first()?.address()?;
    Address::parse(from).ok()
}

/// Message-ID, From and Date, for the evidence.
fn provenance(message: &Message<'_>) -> String {
    let from = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .unwrap_or("");
    let date = message.date().map(|d| d.to_rfc3339()).unwrap_or_default();
    format!(
        " (Message-ID <{}>, From {from}, Date {date})",
        message.message_id().unwrap_or("")
    )
}

/// At most `max` characters of `text`.
pub fn clip(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Every address-like word in `text` that parses as an address.
pub(crate) fn addresses_in(text: &str) -> Vec<Address> {
    static EMAIL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[A-Za-z0-9._%+'=-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
            .expect("address pattern")
    });
    let mut out: Vec<Address> = Vec::new();
    // Bounded: no message names more than `MAX_ACTIONS` addresses that matter.
    for m in EMAIL.find_iter(text).take(4 * MAX_ACTIONS) {
        if out.len() > MAX_ACTIONS {
            break;
        }
        if let Ok(a) = Address::parse(m.as_str().trim_matches('.')) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_of_ours_are_ours() {
        assert!(within("fb.acme.example", "acme.example"));
        assert!(within("ACME.example", "acme.example"));
        assert!(!within("notacme.example", "acme.example"));
        assert!(!within("example", "acme.example"));
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("désolé", 3), "dés");
        assert_eq!(clip("ok", 10), "ok");
    }

    #[test]
    fn one_message_naming_many_addresses_suppresses_none_by_itself() {
        let mut report = String::from(
            "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n",
        );
        for n in 0..300 {
            report.push_str(&format!(
                "\r\nFinal-Recipient: rfc822; u{n}@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            ));
        }
        report.push_str("\r\n--B--\r\n");
        let classifier = Classifier::new(
            Arc::new(Rules::shipped().expect("rules")),
            Settings::default(),
        );
        let out = classifier.classify(report.as_bytes());
        assert_eq!(out.kind, Kind::Dsn);
        assert_eq!(out.actions.len(), MAX_ACTIONS);
        assert!(out.actions.iter().all(|a| a.action == ActionKind::Review));
    }
}
