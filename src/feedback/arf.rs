//! Complaint reports (RFC 5965, the Abuse Reporting Format): a mailbox provider telling us that
//! a recipient marked our mail as spam. `abuse`, `fraud` and `virus` reports suppress the
//! original recipient (reason `complaint`); `not-spam` and the other types change nothing.

use mail_parser::{Message, MessageParser, MimeHeaders};

use super::dsn::field_groups;
use super::{addresses_in, Action, ActionKind};
use crate::address::Address;
use crate::model::Reason;

/// Feedback types that are complaints.
const COMPLAINTS: &[&str] = &["abuse", "fraud", "virus"];

/// The actions of the complaint report `message` is, or `None` when it is not one.
pub fn report(message: &Message<'_>) -> Option<Vec<Action>> {
    let fields = feedback_report(message)?;
    let named = |name: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let kind = named("Feedback-Type")
        .first()
        .map(|k| k.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let mut recipients: Vec<Address> = named("Original-Rcpt-To")
        .into_iter()
        .flat_map(addresses_in)
        .filter(|a| !redacted(a))
        .collect();
    if recipients.is_empty() {
        recipients = enclosed_recipients(message);
        recipients.retain(|a| !redacted(a));
    }
    let complaint = COMPLAINTS.contains(&kind.as_str());
    let actions = recipients
        .into_iter()
        .map(|r| match complaint {
            true => Action::new(r.to_string(), ActionKind::Suppress, Some(Reason::Complaint))
                .why(format!("complaint report ({kind})")),
            false => Action::new(r.to_string(), ActionKind::None, None)
                .why(format!("feedback report of type '{kind}': not a complaint")),
        })
        .collect();
    Some(actions)
}

/// Whether a mailbox provider hid the address (RFC 6590 redaction): such an address names
/// nobody and is never suppressed.
fn redacted(address: &Address) -> bool {
    let local = address.to_string();
    let local = local.split('@').next().unwrap_or("").to_ascii_lowercase();
    // The whole local part is a redaction word, or only x and * (a real `maxxx@` is not).
    [
        "redacted",
        "undisclosed",
        "removed",
        "hidden",
        "anonymous",
        "anonymized",
        "anonymised",
    ]
    .contains(&local.as_str())
        || (local.len() >= 3 && local.chars().all(|c| c == 'x' || c == '*'))
}

/// The fields of the `message/feedback-report` part, if the message has one.
fn feedback_report(message: &Message<'_>) -> Option<Vec<(String, String)>> {
    message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let is_report = ct.ctype().eq_ignore_ascii_case("message")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("feedback-report"));
        is_report.then(|| {
            let text = String::from_utf8_lossy(part.contents());
            field_groups(&text).into_iter().flatten().collect()
        })
    })
}

/// The `To` addresses of the enclosed original message (`message/rfc822`, or its headers
/// alone as `text/rfc822-headers`).
fn enclosed_recipients(message: &Message<'_>) -> Vec<Address> {
    for part in message.parts.iter() {
        if let Some(original) = part.message() {
            return to_of(original);
        }
        let headers_only = part.content_type().is_some_and(|ct| {
            ct.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
        });
        if headers_only {
            let raw = part.contents();
            if let Some(original) = MessageParser::default().parse_headers(raw) {
                return to_of(&original);
            }
        }
    }
    Vec::new()
}

fn to_of(message: &Message<'_>) -> Vec<Address> {
    message
        .to()
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address().and_then(|a| Address::parse(a).ok()))
        .collect()
}
