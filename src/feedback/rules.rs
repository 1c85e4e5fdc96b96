//! The feedback rules file: the words the classifier looks for (`config/feedback-rules.toml`).
//! The code holds the structure of mail; this file holds the phrases and patterns, so that ops
//! can extend them without a new build. Every pattern is compiled once, case-insensitively.

use std::path::Path;

use regex::{Regex, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use super::{ActionKind, Class};

/// The rules shipped with the relay (used when `[feedback] rules` is not set).
pub const SHIPPED: &str = include_str!("../../config/feedback-rules.toml");

/// The rules file version this build reads.
const VERSION: u32 = 1;

/// A list of patterns, compiled; the first that matches is the one reported.
pub struct Patterns {
    set: RegexSet,
    each: Vec<Regex>,
}

impl Patterns {
    fn compile(list: &[String], what: &str) -> Result<Patterns, String> {
        // A space in a pattern matches any run of white space, line breaks included (mail
        // text is wrapped anywhere), after punctuation too ("Remove. Me. From. Your. List.").
        // Accents are folded on both sides: people write "desabonnement" for "désabonnement".
        let list: Vec<String> = list
            .iter()
            .map(|p| fold(p).replace(' ', r"[.,;:!]*\s+"))
            .collect();
        let build = |p: &String| {
            regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .multi_line(true)
                .build()
                .map_err(|e| format!("{what}: pattern '{}': {e}", p.replace(r"[.,;:!]*\s+", " ")))
        };
        let each = list.iter().map(build).collect::<Result<_, _>>()?;
        let set = RegexSetBuilder::new(&list)
            .case_insensitive(true)
            .multi_line(true)
            .build()
            .map_err(|e| format!("{what}: {e}"))?;
        Ok(Patterns { set, each })
    }

    /// Whether any pattern matches `text`.
    pub fn any(&self, text: &str) -> bool {
        self.set.is_match(&fold(text))
    }

    /// The first match of any pattern in `text`, as found in the text with its accents
    /// folded (for the "why").
    pub fn found(&self, text: &str) -> Option<String> {
        let text = fold(text);
        let i = self.set.matches(&text).iter().next()?;
        self.each
            .get(i)?
            .find(&text)
            .map(|m| m.as_str().to_string())
    }
}

/// `text` with accents taken off Latin letters and typographic quotes made plain, so that a
/// pattern matches however a word was typed.
pub fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => out.push('a'),
            'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => out.push('A'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'É' | 'È' | 'Ê' | 'Ë' => out.push('E'),
            'î' | 'ï' | 'í' | 'ì' => out.push('i'),
            'Î' | 'Ï' | 'Í' | 'Ì' => out.push('I'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => out.push('o'),
            'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' => out.push('O'),
            'ù' | 'û' | 'ü' | 'ú' => out.push('u'),
            'Ù' | 'Û' | 'Ü' | 'Ú' => out.push('U'),
            'ç' => out.push('c'),
            'Ç' => out.push('C'),
            'ñ' => out.push('n'),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            '\u{2019}' | '\u{2018}' | '\u{02bc}' | '`' => out.push('\''),
            '\u{201c}' | '\u{201d}' | '«' | '»' => out.push('"'),
            '\u{a0}' | '\u{202f}' => out.push(' '),
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One reply rule: a class, what it does to the sender, and its patterns.
pub struct ReplyRule {
    /// The class a match gives.
    pub class: Class,
    /// What it does to the sender.
    pub action: ActionKind,
    /// A match of any of these.
    pub patterns: Patterns,
    /// ... unless one of these matches too.
    pub unless: Option<Patterns>,
    /// A match hedged by one of these ("should I unsubscribe?", "maybe take me off") is not
    /// clear: the reply is `unclear`, and a person reviews it.
    pub hedge: Option<Patterns>,
}

/// What a reply's text matched.
pub struct Matched {
    /// Its class.
    pub class: Class,
    /// What it does to the sender.
    pub action: ActionKind,
    /// The words that matched.
    pub words: String,
}

/// The compiled rules.
pub struct Rules {
    /// Senders that mark a plain-text bounce.
    pub bounce_sender: Patterns,
    /// Subjects that mark a plain-text bounce.
    pub bounce_subject: Patterns,
    /// Texts that mean the address does not exist.
    pub hard: Patterns,
    /// Texts that mean anything else (never a suppression).
    pub not_hard: Patterns,
    /// Subjects of auto-replies without RFC 3834 headers.
    pub auto_subject: Patterns,
    /// Texts of auto-replies without RFC 3834 headers.
    pub auto_text: Patterns,
    /// The reply rules, in order.
    pub replies: Vec<ReplyRule>,
    /// Words by which a stop request names addresses of its writer's in its text ("my work
    /// address", "both addresses", "remove x@y"): those addresses are suppressed too.
    pub own_addresses: Patterns,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    bounce: BounceFile,
    auto_reply: AutoFile,
    reply: Vec<ReplyFile>,
    #[serde(default)]
    own_addresses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BounceFile {
    sender: Vec<String>,
    subject: Vec<String>,
    hard: Vec<String>,
    not_hard: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoFile {
    subject: Vec<String>,
    text: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyFile {
    class: Class,
    action: ActionKind,
    patterns: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    hedge: Vec<String>,
}

impl Rules {
    /// The shipped rules.
    pub fn shipped() -> Result<Rules, String> {
        Rules::parse(SHIPPED)
    }

    /// The rules in `path`, or the shipped ones for `None`.
    pub fn load(path: Option<&Path>) -> Result<Rules, String> {
        match path {
            None => Rules::shipped(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                Rules::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    /// Rules from the text of a rules file.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.version != VERSION {
            return Err(format!(
                "version {} (this build reads version {VERSION})",
                file.version
            ));
        }
        let replies = file
            .reply
            .iter()
            .map(|r| {
                let what = format!("reply rule '{}'", r.class);
                Ok(ReplyRule {
                    class: r.class,
                    action: r.action,
                    patterns: Patterns::compile(&r.patterns, &what)?,
                    unless: match r.unless.is_empty() {
                        true => None,
                        false => Some(Patterns::compile(&r.unless, &what)?),
                    },
                    hedge: match r.hedge.is_empty() {
                        true => None,
                        false => Some(Patterns::compile(&r.hedge, &what)?),
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Rules {
            bounce_sender: Patterns::compile(&file.bounce.sender, "bounce.sender")?,
            bounce_subject: Patterns::compile(&file.bounce.subject, "bounce.subject")?,
            hard: Patterns::compile(&file.bounce.hard, "bounce.hard")?,
            not_hard: Patterns::compile(&file.bounce.not_hard, "bounce.not_hard")?,
            auto_subject: Patterns::compile(&file.auto_reply.subject, "auto_reply.subject")?,
            auto_text: Patterns::compile(&file.auto_reply.text, "auto_reply.text")?,
            replies,
            own_addresses: Patterns::compile(&file.own_addresses, "own_addresses")?,
        })
    }

    /// What the first reply rule that matches `text` gives, with the words that matched; a
    /// hedged match is `unclear` and goes to review.
    pub fn reply(&self, text: &str) -> Option<Matched> {
        self.replies.iter().find_map(|rule| {
            let words = rule.patterns.found(text)?;
            if rule.unless.as_ref().is_some_and(|u| u.any(text)) {
                return None;
            }
            let (class, action) = match &rule.hedge {
                Some(hedge) if hedge.any(text) => (Class::Unclear, ActionKind::Review),
                _ => (rule.class, rule.action),
            };
            Some(Matched {
                class,
                action,
                words,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_load() {
        let rules = Rules::shipped().expect("shipped rules");
        assert!(rules.replies.iter().any(|r| r.class == Class::Unsubscribe));
    }

    #[test]
    fn a_bad_file_says_where() {
        let bad = SHIPPED.replace("'user unknown',", "'user (unknown',");
        let err = Rules::parse(&bad).err().expect("refused");
        assert!(
            err.contains("bounce.hard") && err.contains("user (unknown"),
            "{err}"
        );
        let newer = SHIPPED.replace("version = 1", "version = 2");
        assert!(Rules::parse(&newer)
            .err()
            .expect("refused")
            .contains("version 2"));
    }

    #[test]
    fn the_first_rule_in_file_order_wins_and_unless_sets_it_aside() {
        let rules = Rules::shipped().expect("shipped rules");
        let class = |t: &str| rules.reply(t).map(|m| m.class);
        assert_eq!(class("please stop emailing me"), Some(Class::Unsubscribe));
        assert_eq!(
            class("merci de ne plus me contacter"),
            Some(Class::Unsubscribe)
        );
        assert_eq!(
            class("please don't stop, this is great"),
            Some(Class::Positive)
        );
        assert_eq!(
            class("GDPR: delete my data and stop emailing me"),
            Some(Class::Legal)
        );
    }
    #[test]
    fn accents_and_punctuation_do_not_hide_a_request() {
        let rules = Rules::shipped().expect("shipped rules");
        let class = |t: &str| rules.reply(t).map(|m| m.class);
        assert_eq!(class("DESABONNEMENT SVP"), Some(Class::Unsubscribe));
        assert_eq!(
            class("Remove. Me. From. Your. List."),
            Some(Class::Unsubscribe)
        );
        assert_eq!(
            class("merci de ne plus m\u{2019}envoyer de relances"),
            Some(Class::Unsubscribe)
        );
        assert_eq!(fold("Désinscrivez-moi «svp»"), "Desinscrivez-moi \"svp\"");
    }
}
