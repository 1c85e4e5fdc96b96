//! Automatic replies: out-of-office notices, autoresponders, "I have left the company". They
//! never suppress anything, whatever words they contain ("do not reply", a quoted footer's
//! "unsubscribe"). Recognised from RFC 3834's `Auto-Submitted` and the headers common
//! autoresponders add, else from the rules file's subjects and opening texts.

use mail_parser::Message;

use super::reply::Text;
use super::rules::Rules;

/// How much of the new text an out-of-office notice is recognised from: such notices say so
/// at once, while a person's reply may mention an absence further down.
const OPENING: usize = 400;

/// Why `message` is an automatic reply, or `None` when it is not one.
pub fn detect(message: &Message<'_>, text: &Text, rules: &Rules) -> Option<String> {
    if let Some(why) = by_headers(message) {
        return Some(why);
    }
    if let Some(found) = rules.auto_subject.found(&text.subject) {
        return Some(format!("auto-reply subject: \"{found}\""));
    }
    let raw_subject = message.subject().unwrap_or("");
    if let Some(found) = rules.auto_subject.found(raw_subject) {
        return Some(format!("auto-reply subject: \"{found}\""));
    }
    let opening = super::clip(&text.new_text, OPENING);
    rules
        .auto_text
        .found(opening)
        .map(|found| format!("auto-reply text: \"{found}\""))
}

/// RFC 3834 and the headers autoresponders add.
fn by_headers(message: &Message<'_>) -> Option<String> {
    let header = |name: &str| message.header_raw(name.to_string()).map(str::trim);
    if let Some(value) = header("Auto-Submitted") {
        if !value.eq_ignore_ascii_case("no") && !value.is_empty() {
            return Some(format!("Auto-Submitted: {value}"));
        }
    }
    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autoresponder",
        "X-Auto-Reply",
    ] {
        if header(name).is_some() {
            return Some(format!("{name} header"));
        }
    }
    if let Some(value) = header("Precedence") {
        let v = value.to_ascii_lowercase();
        if ["auto_reply", "bulk", "junk"].contains(&v.as_str()) {
            return Some(format!("Precedence: {value}"));
        }
    }
    None
}
