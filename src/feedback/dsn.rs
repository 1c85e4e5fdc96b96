//! Bounces: RFC 3464 delivery status notifications, and the plain-text bounces of MTAs that do
//! not write them (qmail, older Exim, provider notices).
//!
//! Only "this address does not exist" suppresses (reason `hard-bounce`): a specific status
//! (5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10), or a generic one (x.0.0, none) whose diagnostic says
//! so in words the rules file lists and says nothing else. A full mailbox, a temporary
//! failure, a policy or spam block, a message too big, network and DNS trouble never do.

use std::sync::LazyLock;

use mail_parser::{Message, MimeHeaders};
use regex::Regex;

use super::rules::Rules;
use super::{addresses_in, clip, Action, ActionKind};
use crate::address::Address;
use crate::model::Reason;

/// Statuses that mean the address does not exist (RFC 3463: bad destination mailbox address,
/// bad destination system address, bad destination mailbox address syntax, destination
/// mailbox has moved; RFC 7505/Exchange: 5.1.10 recipient not found).
const NO_SUCH_ADDRESS: &[&str] = &["5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10"];

/// An enhanced status code in a text (`550 5.1.1 ...`, `(#5.1.1)`).
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})(?:[^\d.]|$)").expect("status pattern")
});

/// Where a plain-text bounce starts quoting the returned message.
static RETURNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[\s>-]*(below this line is a copy|this is a copy of the message|original message (follows|headers)|-+ ?original message|the (original|returned) message( follows| below| is (attached|below|enclosed)| headers|:)|--- the header of the original message|------ this is a copy|received: |return-path: |content-type: message/)",
    )
    .expect("returned-message pattern")
});

/// A bounce: what to do about each failed recipient, and the evidence.
pub struct Bounce {
    /// One action per failed recipient (suppress or none).
    pub actions: Vec<Action>,
    /// Status and diagnostic of each.
    pub evidence: String,
}

/// One failed recipient as a report states it.
struct Failure {
    recipient: Address,
    status: Option<String>,
    diagnostic: String,
    delayed: bool,
}

/// The bounce `message` is, or `None` when it is not a bounce.
pub fn report(message: &Message<'_>, rules: &Rules) -> Option<Bounce> {
    let failures = match delivery_status(message) {
        Some(text) => rfc3464(&text),
        None => match plain_bounce(message, rules)? {
            // A bounce-like subject from an ordinary sender, naming no failed address, is an
            // automatic notice ("Undeliverable mailbox: no longer monitored"), not a bounce.
            (By::Subject, failures) if failures.is_empty() => return None,
            (_, failures) => failures,
        },
    };
    let actions: Vec<Action> = failures.iter().map(|f| judge(f, rules)).collect();
    let evidence = failures
        .iter()
        .map(|f| {
            format!(
                "{} {}: {}",
                f.recipient,
                f.status.as_deref().unwrap_or("no status"),
                clip(f.diagnostic.trim(), 300)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(Bounce {
        actions,
        evidence: format!("bounce: {evidence}"),
    })
}

/// What a bounce means for `recipient` when its report or text does not name it (the return
/// path did): the first status and the diagnostic the bounce gives, judged as for a named
/// recipient.
pub fn judge_for(message: &Message<'_>, recipient: &Address, rules: &Rules) -> Action {
    let text = delivery_status(message).unwrap_or_else(|| {
        let body = message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        before_returned(&body).to_string()
    });
    let lower = text.to_lowercase();
    let failure = Failure {
        recipient: recipient.clone(),
        status: find_status(&text),
        diagnostic: lower.split_whitespace().collect::<Vec<_>>().join(" "),
        delayed: lower.contains("action: delayed"),
    };
    judge(&failure, rules)
}

/// What one failure means for its recipient.
fn judge(f: &Failure, rules: &Rules) -> Action {
    let target = f.recipient.to_string();
    let status = f.status.clone();
    let none = |why: String| Action {
        target: target.clone(),
        action: ActionKind::None,
        reason: None,
        status: status.clone(),
        why,
    };
    let diagnostic = clip(f.diagnostic.trim(), 200);
    let code = status.as_deref().unwrap_or("");
    if f.delayed || code.starts_with('4') {
        return none(
            format!("temporary failure {code} {diagnostic}")
                .trim()
                .to_string(),
        );
    }
    let hard = |why: String| Action {
        target: target.clone(),
        action: ActionKind::Suppress,
        reason: Some(Reason::HardBounce),
        status: status.clone(),
        why,
    };
    if NO_SUCH_ADDRESS.contains(&code) {
        return hard(format!("{code}: the address does not exist ({diagnostic})"));
    }
    let generic = code.is_empty() || code.ends_with(".0.0") || code == "5.1.0";
    if !generic {
        return none(format!("{code} is not \"no such address\" ({diagnostic})"));
    }
    if let Some(other) = rules.not_hard.found(&f.diagnostic) {
        return none(format!(
            "\"{other}\": not \"no such address\" ({diagnostic})"
        ));
    }
    match rules.hard.found(&f.diagnostic) {
        Some(words) => hard(format!(
            "\"{words}\": the address does not exist ({diagnostic})"
        )),
        None => none(format!(
            "no words saying the address does not exist ({diagnostic})"
        )),
    }
}

/// The text of the `message/delivery-status` part, if the message has one.
fn delivery_status(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let subtype = ct.subtype()?;
        (ct.ctype().eq_ignore_ascii_case("message")
            && (subtype.eq_ignore_ascii_case("delivery-status")
                || subtype.eq_ignore_ascii_case("global-delivery-status")))
        .then(|| String::from_utf8_lossy(part.contents()).into_owned())
    })
}

/// The failed recipients of an RFC 3464 report.
fn rfc3464(text: &str) -> Vec<Failure> {
    let mut out: Vec<Failure> = Vec::new();
    // The first group is about the message; the others are one per recipient.
    for group in field_groups(text).into_iter().skip(1) {
        let get = |name: &str| {
            group
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let action = get("Action").unwrap_or("failed").to_ascii_lowercase();
        if !(action.starts_with("failed") || action.starts_with("delayed")) {
            continue; // delivered, relayed, expanded
        }
        // The address we sent to: an alias expanded on the way is not the one to suppress.
        let first = |name| get(name).and_then(|v| addresses_in(v).into_iter().next());
        let Some(recipient) = first("Original-Recipient").or_else(|| first("Final-Recipient"))
        else {
            continue;
        };
        let diagnostic = get("Diagnostic-Code").unwrap_or("").to_string();
        let mut status = get("Status").and_then(find_status);
        // A generic status with a specific code in the diagnostic (Gmail: 5.0.0 / 550-5.1.1).
        if status.as_deref().is_none_or(|s| s.ends_with(".0.0")) {
            if let Some(specific) = find_status(&diagnostic) {
                status = Some(specific);
            }
        }
        if out.len() > super::MAX_ACTIONS {
            break; // see `MAX_ACTIONS`: the rest is not read
        }
        if out.iter().any(|f| f.recipient == recipient) {
            continue;
        }
        out.push(Failure {
            recipient,
            status,
            diagnostic,
            delayed: action.starts_with("delayed"),
        });
    }
    out
}

/// What marks a plain-text bounce.
enum By {
    /// A bounce sender (MAILER-DAEMON, postmaster, Mail Delivery System).
    Sender,
    /// Only a bounce subject.
    Subject,
}

/// A message without a delivery-status part that is a bounce, by its sender or subject, with
/// its failed recipients.
fn plain_bounce(message: &Message<'_>, rules: &Rules) -> Option<(By, Vec<Failure>)> {
    let from = message.from().and_then(|f| f.first());
    let who = [
        from.and_then(|a| a.address()).unwrap_or(""),
        from.and_then(|a| a.name()).unwrap_or(""),
    ];
    let by = if who.iter().any(|w| rules.bounce_sender.any(w)) {
        By::Sender
    } else if rules.bounce_subject.any(message.subject().unwrap_or("")) {
        By::Subject
    } else {
        return None;
    };
    Some((by, plain(message)))
}

/// The failed recipients of a plain-text bounce: `X-Failed-Recipients`, else each address in
/// the text before the returned message, with the text that follows it (up to the next one).
fn plain(message: &Message<'_>) -> Vec<Failure> {
    let body = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let body = body.replace("\r\n", "\n");
    let text = before_returned(&body);
    let bouncer: Vec<Address> = message
        .from()
        .into_iter()
        .chain(message.to())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address().and_then(|a| Address::parse(a).ok()))
        .collect();
    let named: Vec<Address> = message
        .header_raw("X-Failed-Recipients")
        .map(addresses_in)
        .unwrap_or_default();
    let mut candidates: Vec<Address> = addresses_in(text)
        .into_iter()
        .filter(|a| !bouncer.contains(a))
        .collect();
    if !named.is_empty() {
        candidates.retain(|a| named.contains(a));
        for a in named {
            if !candidates.contains(&a) {
                candidates.push(a);
            }
        }
    }
    let lower = text.to_lowercase();
    let starts: Vec<usize> = candidates
        .iter()
        .map(|a| lower.find(&a.to_string()).unwrap_or(lower.len()))
        .collect();
    candidates
        .into_iter()
        .zip(starts.iter().copied())
        .map(|(recipient, start)| {
            let end = starts
                .iter()
                .copied()
                .filter(|&s| s > start)
                .min()
                .unwrap_or(lower.len());
            // Where the address is not in the text (named by the header only): all of it.
            let segment = match start < lower.len() {
                true => &lower[start..end],
                false => &lower[..],
            };
            Failure {
                recipient,
                status: find_status(segment),
                diagnostic: segment.split_whitespace().collect::<Vec<_>>().join(" "),
                delayed: false,
            }
        })
        .collect()
}

/// A bounce's own text: what comes before the returned message.
fn before_returned(body: &str) -> &str {
    match RETURNED.find(body) {
        Some(m) => &body[..m.start()],
        None => body,
    }
}

/// The first enhanced status code in `text`.
fn find_status(text: &str) -> Option<String> {
    let c = STATUS.captures(text)?;
    Some(format!("{}.{}.{}", &c[1], &c[2], &c[3]))
}

/// Header-like field groups separated by blank lines (RFC 3464 and RFC 5965 bodies), with
/// folded lines unfolded.
pub(crate) fn field_groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups = Vec::new();
    let mut group: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            group.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_found_but_not_inside_numbers() {
        assert_eq!(
            find_status("550-5.1.1 The email account"),
            Some("5.1.1".into())
        );
        assert_eq!(find_status("(#5.1.1)"), Some("5.1.1".into()));
        assert_eq!(
            find_status("smtp; 552 5.2.2 over quota"),
            Some("5.2.2".into())
        );
        assert_eq!(find_status("version 1.5.1.12"), None);
        assert_eq!(find_status("no code"), None);
    }

    #[test]
    fn field_groups_unfold_and_split_on_blank_lines() {
        let g = field_groups("Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nDiagnostic-Code: smtp; 550\r\n  user unknown\r\n");
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[1][1],
            ("Diagnostic-Code".into(), "smtp; 550 user unknown".into())
        );
    }
}
