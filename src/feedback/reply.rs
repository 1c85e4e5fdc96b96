//! The new text of a reply: what its writer wrote this time, without what it quotes. Only the
//! new text is read for requests (a quoted sales mail's "unsubscribe" footer asks nothing).
//!
//! Quoting as mail clients write it, in English and French: `>` lines, Gmail's "On … wrote:"
//! and "Le … a écrit :" (also wrapped over two lines), Outlook's "-----Original Message-----",
//! "From: … Sent: …" and "De : … Envoyé : …" blocks, underscore rules; signatures after `-- `
//! and "Sent from my …" lines.

use std::sync::LazyLock;

use mail_parser::decoders::html::html_to_text;
use mail_parser::Message;
use regex::Regex;

use super::{addresses_in, Settings};
use crate::address::Address;

/// What a reply says: its subject and its new text, and what it quotes.
#[derive(Debug, Clone, Default)]
pub struct Text {
    /// The subject without reply and forward prefixes.
    pub subject: String,
    /// Whether the subject carried a reply or forward prefix (then it is the thread's subject,
    /// not something the writer wrote now).
    pub subject_is_thread: bool,
    /// The text written this time.
    pub new_text: String,
    /// The quoted part (the message replied to), from its header on.
    pub quoted: String,
}

/// A line that starts the quoted message.
static QUOTE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(
            (on|le)\s.{0,300}(wrote|a\s+écrit|écrivait)\s*:
          | -{2,}\s*(original\s+message|message\s+d.origine|forwarded\s+message|message\s+transféré|mensaje\s+original)\s*-{2,}
          | _{8,}
          | (begin\s+forwarded\s+message|début\s+du\s+message\s+réexpédié)\s*:
        )",
    )
    .expect("quote header pattern")
});

/// Where the quoted part of an HTML reply starts: a blockquote, Gmail's and Outlook's reply
/// containers, Outlook's rule above the quoted header, Thunderbird's citation prefix.
static HTML_QUOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)<blockquote|<div[^>]*class="[^"]*(gmail_quote|moz-cite-prefix|yahoo_quoted|OutlookMessageHeader)|<div[^>]*id="(divRplyFwdMsg|appendonsend|mail-editor-reference-message-container)"|<div[^>]*style="[^"]*border-top:\s*solid|<hr[^>]*id="stopSpelling""#,
    )
    .expect("html quote pattern")
});

/// An "On … wrote:" / "Le … a écrit :" attribution (its quote is usually marked with `>`).
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[>\s]*(on|le)\s.{0,300}(wrote|a\s+écrit|écrivait)\s*:")
        .expect("attribution pattern")
});

/// The first line of an Outlook-style quoted header block (`From:` / `De :`).
static BLOCK_FROM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(from|de|von)\s*\*?\s*:").expect("from pattern"));

/// A later line of that block (`Sent:` / `Envoyé :` / `Date:`).
static BLOCK_SENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(sent|envoyé|date|gesendet|to|à|a|subject|objet)\s*\*?\s*:")
        .expect("sent pattern")
});

/// A line that ends the new text: a signature separator or a phone's footer.
static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(--\s*|(sent|envoyé|envoye|get outlook|obtenir outlook)\s.{0,40}(iphone|ipad|android|mobile|outlook|samsung|galaxy|phone|téléphone).*)$")
        .expect("signature pattern")
});

/// A line that ends the writer's own words: a sign-off alone on its line, or the start of a
/// disclaimer block (what follows is the signature and its legal and marketing boilerplate).
static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(
            ((kind|best|warm|warmest)\s+)?regards|best\s+wishes|sincerely|respectfully|yours\s+(truly|sincerely)
          | (bien\s+)?cordialement|bien\s+à\s+vous|sincères\s+salutations|salutations(\s+distinguées)?
        )[\s,.!]*$
        | ^\s*(confidentiality\s+notice|disclaimer\s*:|this\s+(e-?mail|message)(\s+and\s+any\s+attachments?)?\s+(is|are|may\s+be|contains?)\s+(confidential|privileged|intended)
          | ce\s+(message|courriel|mail|e-mail)(\s+et\s+toutes\s+les\s+pièces\s+jointes)?\s+(est|sont)\s+(confidentiel|strictement|établi)
          | please\s+consider\s+the\s+environment|pensez\s+à\s+l.environnement|avis\s+de\s+confidentialité)",
    )
    .expect("sign-off pattern")
});

/// A footer line of the writer's own mail: a link to unsubscribe from their company's mail.
static FOOTER_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(https?://\S+.*(unsubscrib|opt.?out|preferences|désinscri|désabonn)|(unsubscrib|opt.?out|preferences|désinscri|désabonn).*https?://)")
        .expect("footer link pattern")
});

/// Words of the writer about themselves.
static FIRST_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(me|my|i|i'm|moi|mon|ma|mes|je|j'|m'|nous|notre|us|our)\b")
        .expect("first person pattern")
});

/// Reply and forward prefixes of a subject.
static SUBJECT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*((re|aw|sv|tr|fw|fwd|wg|réf|rép|ref)\s*(\[\d+\])?\s*:\s*)+")
        .expect("subject prefix pattern")
});

/// The `To:` line of a quoted header block.
static QUOTED_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*>?\s*\*?(to|à|a|an)\s*\*?\s*:(.*)$").expect("to pattern")
});

impl Text {
    /// The subject and text of `message`, split into new and quoted. An HTML-only message is
    /// cut at its quoting markup (blockquote, Gmail's and Outlook's reply containers) before
    /// it is turned into text: the quoted part carries no `>` there.
    pub fn of(message: &Message<'_>) -> Text {
        let subject = message.subject().unwrap_or("");
        let html = message.text_part(0).is_some_and(|p| p.is_text_html());
        let body = match (html, message.body_html(0)) {
            (true, Some(html)) => {
                let (new, quoted) = match HTML_QUOTE.find(&html) {
                    Some(m) => (&html[..m.start()], &html[m.start()..]),
                    None => (&html[..], ""),
                };
                let mut text = html_to_text(new);
                if !quoted.is_empty() {
                    // Kept after a quote header, so that the original recipient is found.
                    text.push_str("\n-----Original Message-----\n");
                    text.push_str(&html_to_text(quoted));
                }
                text
            }
            _ => message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        };
        Text::split(subject, &body)
    }

    /// Splits a body into the new text and the quoted part. After an "On … wrote:" whose
    /// quote is marked with `>`, unmarked lines are the writer's too (answers below or
    /// between the quoted lines); after any other quote header, everything is quoted.
    pub fn split(subject: &str, body: &str) -> Text {
        let body = body.replace("\r\n", "\n").replace('\r', "\n");
        let lines: Vec<&str> = body.lines().collect();
        let cut = quote_start(&lines);
        let header = header_lines(&lines, cut);
        let inline = cut < lines.len()
            && ATTRIBUTION.is_match(&lines[cut..cut + header].join(" "))
            && lines[cut + header..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_start().starts_with('>'));
        let mut new_lines = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if i == cut {
                if !inline {
                    break;
                }
                i += header;
                continue;
            }
            let line = lines[i].trim_end();
            if SIGNATURE.is_match(line) || (!new_lines.is_empty() && SIGN_OFF.is_match(line)) {
                break;
            }
            // A footer's unsubscribe link is not the writer's words; a line of theirs that
            // mentions one ("your unsubscribe link doesn't work, remove me") is.
            let footer = FOOTER_LINK.is_match(line) && !FIRST_PERSON.is_match(line);
            if !line.trim_start().starts_with('>') && !footer {
                new_lines.push(line.trim());
            }
            i += 1;
        }
        let prefix = SUBJECT_PREFIX.find(subject).map_or(0, |m| m.end());
        Text {
            subject: subject[prefix..].trim().to_string(),
            subject_is_thread: prefix > 0,
            new_text: fold(&new_lines.join("\n")),
            quoted: lines[cut.min(lines.len())..].join("\n"),
        }
    }

    /// The text the reply rules read: the new text, and the subject when the writer wrote it
    /// (no reply prefix) or wrote nothing else.
    pub fn for_rules(&self) -> String {
        if self.new_text.is_empty() {
            self.subject.clone()
        } else if self.subject_is_thread || self.subject.is_empty() {
            self.new_text.clone()
        } else {
            format!("{}\n{}", self.subject, self.new_text)
        }
    }

    /// The address the quoted message was sent to, when it names exactly one that is not ours
    /// and not `from` (the writer replying from another address of theirs).
    pub fn original_recipient(&self, from: &Address, settings: &Settings) -> Option<Address> {
        let to = QUOTED_TO.captures_iter(&self.quoted).next()?;
        let theirs: Vec<Address> = addresses_in(to.get(2)?.as_str())
            .into_iter()
            .filter(|a| !settings.is_internal(a.domain()))
            .collect();
        match theirs.as_slice() {
            [one] if one != from => Some(one.clone()),
            _ => None,
        }
    }
}

/// The index of the first line of the quoted message (`lines.len()` when nothing is quoted).
fn quote_start(lines: &[&str]) -> usize {
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_start_matches(['>', ' ']);
        if QUOTE_HEADER.is_match(line) {
            return i;
        }
        // "On Mon, 5 Jan 2026 at 10:00, Sam <sam@acme.example>" / "wrote:" on the next line.
        if let Some(next) = lines.get(i + 1) {
            let joined = format!("{} {}", line.trim_end(), next.trim());
            if line.len() < 300 && QUOTE_HEADER.is_match(&joined) && !QUOTE_HEADER.is_match(next) {
                return i;
            }
        }
        // An Outlook block: From/De followed within a few lines by Sent/Envoyé/Date/To.
        if BLOCK_FROM.is_match(line)
            && lines[i + 1..]
                .iter()
                .take(4)
                .filter(|l| BLOCK_SENT.is_match(l))
                .count()
                >= 2
        {
            return i;
        }
    }
    lines.len()
}

/// How many lines the quote header at `cut` takes: two when an attribution is wrapped.
fn header_lines(lines: &[&str], cut: usize) -> usize {
    match lines.get(cut) {
        Some(line) if !QUOTE_HEADER.is_match(line.trim_start_matches(['>', ' '])) => {
            2.min(lines.len() - cut)
        }
        Some(_) => 1,
        None => 0,
    }
}

/// Folds runs of spaces and tabs, drops blank lines.
fn fold(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_quotes_are_cut_even_when_wrapped() {
        let t = Text::split(
            "Re: Quick question",
            "Please remove me.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Sam Lee <sam@acme.example>\nwrote:\n> Hi Pat,\n> To unsubscribe click here\n",
        );
        assert_eq!(t.new_text, "Please remove me.");
        assert!(t.quoted.contains("unsubscribe"));
        assert!(t.subject_is_thread);
        assert_eq!(t.for_rules(), "Please remove me.");
    }

    #[test]
    fn french_and_outlook_quotes_are_cut() {
        let fr = Text::split("RE: Votre projet", "Merci de ne plus me contacter.\n\nLe lun. 5 janv. 2026 à 10:00, Sam <sam@acme.example> a écrit :\n> Bonjour");
        assert_eq!(fr.new_text, "Merci de ne plus me contacter.");
        let outlook = Text::split(
            "RE: Demo",
            "Not interested, thanks.\r\n\r\nFrom: Sam Lee <sam@acme.example>\r\nSent: Monday, January 5, 2026 10:00 AM\r\nTo: Pat Smith <pat.smith@globex.example>\r\nSubject: Demo\r\n\r\nHi Pat, unsubscribe here",
        );
        assert_eq!(outlook.new_text, "Not interested, thanks.");
        let from = Address::parse("psmith@globex.example").expect("address");
        let settings = Settings {
            internal_domains: vec!["acme.example".into()],
            ..Settings::default()
        };
        assert_eq!(
            outlook
                .original_recipient(&from, &settings)
                .map(|a| a.to_string()),
            Some("pat.smith@globex.example".into())
        );
    }

    #[test]
    fn signatures_and_phone_footers_end_the_new_text() {
        let t = Text::split("UNSUBSCRIBE", "\nSent from my iPhone\n");
        assert_eq!(t.new_text, "");
        assert_eq!(t.for_rules(), "UNSUBSCRIBE");
        let t = Text::split("Re: x", "Sounds good\n-- \nPat\nstop by our booth");
        assert_eq!(t.new_text, "Sounds good");
    }
    #[test]
    fn answers_below_or_between_marked_quotes_are_new_text() {
        let t = Text::split(
            "Re: x",
            "On 1/16/25 9:31 AM, Sam Carter wrote:\n> Hi Helen,\n> unsubscribe here\n\nNot my problem.\n\n> Would a call make sense?\n\nNo. Please stop emailing me.\n\n-- \nHelen\n",
        );
        assert_eq!(t.new_text, "Not my problem.\nNo. Please stop emailing me.");
        // An unmarked quote after the attribution (Yahoo) is all quoted.
        let t = Text::split(
            "Re: x",
            "Opt me out please.\n\n On Saturday, Acme <hello@acme.example> wrote:\n Hi Chris,\n Unsubscribe: https://x\n",
        );
        assert_eq!(t.new_text, "Opt me out please.");
    }
}
