//! Parsing and normalisation of e-mail addresses and domains.
//!
//! This is the only module that lowercases or IDNA-encodes anything: every address enters the
//! system (SMTP, admin socket, CSV) through [`Address::parse`] or [`Target::parse`], and everything
//! downstream compares the normalised forms. It never touches the store or the network.

use std::fmt;

/// Why an address or target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing left after trimming whitespace and angle brackets.
    #[error("empty address")]
    Empty,
    /// No `@`, or nothing before it.
    #[error("missing local part or '@'")]
    MissingLocalPart,
    /// Nothing after the `@`.
    #[error("missing domain")]
    MissingDomain,
    /// The local part holds a character that no mail system accepts unquoted (control, space).
    #[error("invalid character in local part")]
    InvalidLocalPart,
    /// The domain is not a valid (IDNA) host name.
    #[error("invalid domain '{0}'")]
    InvalidDomain(String),
    /// A domain target must have at least two labels: `@com` would block a whole TLD.
    #[error("domain target '@{0}' must have at least two labels")]
    DomainTooBroad(String),
    /// Longer than RFC 5321 allows (64 octets local part, 255 octets domain, 256 path).
    #[error("address too long")]
    TooLong,
    /// Written like a phone number, but not a valid one.
    #[error("{0}")]
    Phone(String),
}

/// The domains that Google treats as one mailbox namespace, where dots in the local part are
/// ignored. The first one is the canonical spelling used in store keys.
const GMAIL_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];

/// A normalised e-mail address: trimmed, without `<>`, lowercased, domain in IDNA ASCII form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// `local@domain`, already normalised.
    text: String,
    /// Byte offset of the `@` in `text`.
    at: usize,
}

impl Address {
    /// Parses and normalises an address as typed by a user or sent by a client.
    ///
    /// Accepts surrounding whitespace and one pair of angle brackets. The local part is lowercased
    /// (mailbox names are case-insensitive in practice, and the list must not be evaded by case);
    /// the domain is converted to its IDNA ASCII form and stripped of a trailing dot.
    pub fn parse(input: &str) -> Result<Address, AddressError> {
        let trimmed = strip_brackets(input.trim());
        if trimmed.is_empty() {
            return Err(AddressError::Empty);
        }
        let (local, domain) = trimmed
            .rsplit_once('@')
            .ok_or(AddressError::MissingLocalPart)?;
        let local = unquote_local(local);
        if local.is_empty() {
            return Err(AddressError::MissingLocalPart);
        }
        // Quoting could smuggle '@', '"' or '\\' into a local part; the normalised form would
        // then parse differently the second time (or print like a domain target). No real
        // mailbox needs them, so they are refused rather than guessed at.
        if local
            .chars()
            .any(|c| c.is_control() || matches!(c, '@' | '"' | '\\'))
        {
            return Err(AddressError::InvalidLocalPart);
        }
        if local.len() > 64 {
            return Err(AddressError::TooLong);
        }
        let domain = normalize_domain(domain)?;
        let mut text = String::with_capacity(local.len() + 1 + domain.len());
        push_lowercase(&mut text, &local);
        let at = text.len();
        text.push('@');
        text.push_str(&domain);
        if text.len() > 256 {
            return Err(AddressError::TooLong);
        }
        Ok(Address { text, at })
    }

    /// The whole normalised address, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The normalised local part.
    pub fn local(&self) -> &str {
        &self.text[..self.at]
    }

    /// The normalised (IDNA ASCII, lowercase) domain.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }

    /// The domain and each parent domain with at least two labels, most specific first:
    /// `a.b.example.com` yields `a.b.example.com`, `b.example.com`, `example.com`.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        let domain = self.domain();
        std::iter::successors(Some(domain), |d| d.split_once('.').map(|(_, rest)| rest))
            .filter(|d| d.contains('.'))
    }

    /// Whether the domain is one of Google's, where dots in the local part do not matter.
    pub fn is_gmail(&self) -> bool {
        GMAIL_DOMAINS.contains(&self.domain())
    }

    /// The local part without its `+tag`, if it has one and the separator is enabled.
    ///
    /// A separator at the very start (`+foo@x`) is not a tag: the mailbox would be empty.
    pub fn untagged_local(&self, separator: Option<char>) -> Option<&str> {
        let sep = separator?;
        let local = self.local();
        match local.find(sep) {
            Some(pos) if pos > 0 => Some(&local[..pos]),
            _ => None,
        }
    }

    /// Appends the store key under which this address (or the given local part of it) is
    /// matched to `out`. Keys are the normalised address, except that for Google's domains the
    /// dots are removed and the domain spelled `gmail.com`, so `J.Doe@googlemail.com` and
    /// `jdoe@gmail.com` share one key.
    pub fn push_match_key(&self, local: &str, out: &mut String) {
        if self.is_gmail() {
            out.extend(local.chars().filter(|&c| c != '.'));
            out.push('@');
            out.push_str(GMAIL_DOMAINS[0]);
        } else {
            out.push_str(local);
            out.push('@');
            out.push_str(self.domain());
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a suppression entry covers: one address, a domain with all its subdomains, or a
/// phone number (for the dialers that share the list; never met at RCPT).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// One mailbox (after normalisation).
    Address(Address),
    /// A domain and every subdomain of it, written `@example.com`.
    Domain(String),
    /// A phone number in E.164 (`+33612345678`).
    Phone(String),
}

impl Target {
    /// Parses a target as typed by a user: an address, or `@domain` for a whole domain.
    pub fn parse(input: &str) -> Result<Target, AddressError> {
        let trimmed = strip_brackets(input.trim());
        if crate::phone::looks_like_phone(trimmed) {
            return crate::phone::normalise(trimmed)
                .map(Target::Phone)
                .map_err(AddressError::Phone);
        }
        match trimmed.strip_prefix('@') {
            Some(domain) => {
                let domain = normalize_domain(domain)?;
                if !domain.contains('.') {
                    return Err(AddressError::DomainTooBroad(domain));
                }
                Ok(Target::Domain(domain))
            }
            None => Address::parse(trimmed).map(Target::Address),
        }
    }

    /// The key under which the entry is stored and matched (see [`Address::push_match_key`]);
    /// for a domain, `@domain`.
    pub fn match_key(&self) -> String {
        match self {
            Target::Address(addr) => {
                let mut key = String::with_capacity(addr.as_str().len());
                addr.push_match_key(addr.local(), &mut key);
                key
            }
            Target::Domain(domain) => format!("@{domain}"),
            Target::Phone(number) => number.clone(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Address(addr) => addr.fmt(f),
            Target::Domain(domain) => write!(f, "@{domain}"),
            Target::Phone(number) => f.write_str(number),
        }
    }
}

/// Normalises a domain: trailing dot removed, IDNA ASCII (which lowercases), syntax checked.
/// Address literals (`[192.0.2.1]`) are kept as they are.
pub fn normalize_domain(domain: &str) -> Result<String, AddressError> {
    let domain = domain.trim();
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err(AddressError::MissingDomain);
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        return Ok(domain.to_ascii_lowercase());
    }
    // Fast path for the common case: plain ASCII labels need no IDNA mapping, only
    // lowercasing. Punycode labels (xn--) still go through IDNA to be validated.
    if domain.len() <= 255
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !domain
            .split('.')
            .any(|label| label.len() >= 4 && label[..4].eq_ignore_ascii_case("xn--"))
        && domain.split('.').all(valid_label)
    {
        return Ok(domain.to_ascii_lowercase());
    }
    let ascii = idna::domain_to_ascii(domain)
        .map_err(|_| AddressError::InvalidDomain(domain.to_string()))?;
    // The result must be its own normal form, or one spelling could be stored and another
    // matched (the fuzzer found uppercase punycode that converts once but not twice).
    let stable = idna::domain_to_ascii(&ascii).is_ok_and(|again| again == ascii);
    if !stable || ascii.is_empty() || ascii.len() > 255 || !ascii.split('.').all(valid_label) {
        return Err(AddressError::InvalidDomain(domain.to_string()));
    }
    Ok(ascii)
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .map(str::trim)
        .unwrap_or(s)
}

/// `"john doe"` -> `john doe`, `"a\"b"` -> `a"b`; an unquoted local part is returned as is.
fn unquote_local(local: &str) -> std::borrow::Cow<'_, str> {
    match local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(inner) if inner.contains('\\') => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out.into()
        }
        Some(inner) => inner.into(),
        None => local.into(),
    }
}

fn push_lowercase(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// Formats a mailbox for an SMTP path (`MAIL FROM:<...>`, `RCPT TO:<...>`), quoting the local
/// part when it is not a dot-atom (RFC 5321 section 4.1.2). The input is the address as the
/// client sent it, not the normalised form: the upstream gets the recipient's own spelling.
pub fn smtp_path(address: &str) -> std::borrow::Cow<'_, str> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return address.into();
    };
    if is_dot_atom(local) || (local.starts_with('"') && local.ends_with('"') && local.len() > 1) {
        return address.into();
    }
    let mut out = String::with_capacity(address.len() + 4);
    out.push('"');
    for c in local.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\"@");
    out.push_str(domain);
    out.into()
}

fn is_dot_atom(local: &str) -> bool {
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_space_brackets_and_trailing_dot() {
        let cases = [
            ("alice@example.com", "alice@example.com"),
            ("  Alice@Example.COM  ", "alice@example.com"),
            ("<alice@example.com>", "alice@example.com"),
            (" < Alice@example.com. > ", "alice@example.com"),
            ("ÄLICE@Bücher.example", "älice@xn--bcher-kva.example"),
            ("\"john doe\"@example.com", "john doe@example.com"),
            ("user@[192.0.2.1]", "user@[192.0.2.1]"),
        ];
        for (input, want) in cases {
            assert_eq!(Address::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        let cases = [
            ("", AddressError::Empty),
            ("<>", AddressError::Empty),
            ("alice", AddressError::MissingLocalPart),
            ("@example.com", AddressError::MissingLocalPart),
            ("alice@", AddressError::MissingDomain),
            (
                "alice@exa mple.com",
                AddressError::InvalidDomain("exa mple.com".into()),
            ),
            (
                "alice@-bad.com",
                AddressError::InvalidDomain("-bad.com".into()),
            ),
            ("alice@a..com", AddressError::InvalidDomain("a..com".into())),
            ("al\u{7}ice@example.com", AddressError::InvalidLocalPart),
        ];
        for (input, want) in cases {
            assert_eq!(Address::parse(input).unwrap_err(), want, "{input}");
        }
        assert_eq!(
            Address::parse(&format!("{}@example.com", "a".repeat(65))).unwrap_err(),
            AddressError::TooLong
        );
    }

    #[test]
    fn fuzz_regressions_normalise_idempotently() {
        // Found by `cargo fuzz run normalise`: a mixed-case "xN--" label skipped the IDNA
        // check, so the normalised form did not parse again.
        for input in [
            "@@@@xN--A--XNJJMJD",
            "a@Xn--bcher-kva.example",
            "a@xN--A--XN.example",
            "z@oV--zD77tD@xN--AXNJat47777777777R",
        ] {
            if let Ok(addr) = Address::parse(input) {
                assert_eq!(Address::parse(addr.as_str()), Ok(addr.clone()), "{input}");
            }
        }
    }

    #[test]
    fn a_quoted_local_part_starting_with_at_is_refused() {
        // Found by the fuzzer: it printed as "@@1...@h1tb", which reads as a domain target.
        for input in [
            "\"@@1\u{5ac}\\\"@H1tb",
            "\"\\\"@\"\\\"@b",
            "\"a@b\"@x.example",
        ] {
            assert_eq!(
                Address::parse(input).unwrap_err(),
                AddressError::InvalidLocalPart,
                "{input}"
            );
        }
    }

    #[test]
    fn parent_domains_stop_before_the_tld() {
        let addr = Address::parse("x@a.b.example.co.uk").unwrap();
        let all: Vec<_> = addr.domains().collect();
        assert_eq!(
            all,
            [
                "a.b.example.co.uk",
                "b.example.co.uk",
                "example.co.uk",
                "co.uk"
            ]
        );
    }

    #[test]
    fn plus_tag_is_removed_only_after_a_non_empty_mailbox() {
        let tagged = Address::parse("bob+news@example.com").unwrap();
        assert_eq!(tagged.untagged_local(Some('+')), Some("bob"));
        assert_eq!(tagged.untagged_local(None), None);
        let leading = Address::parse("+bob@example.com").unwrap();
        assert_eq!(leading.untagged_local(Some('+')), None);
        let dash = Address::parse("bob-news@example.com").unwrap();
        assert_eq!(dash.untagged_local(Some('-')), Some("bob"));
    }

    #[test]
    fn gmail_keys_ignore_dots_and_googlemail() {
        let a = Target::parse("J.Doe@googlemail.com").unwrap();
        let b = Target::parse("jdoe@gmail.com").unwrap();
        assert_eq!(a.match_key(), "jdoe@gmail.com");
        assert_eq!(b.match_key(), "jdoe@gmail.com");
        assert_eq!(a.to_string(), "j.doe@googlemail.com");
        let other = Target::parse("j.doe@example.com").unwrap();
        assert_eq!(other.match_key(), "j.doe@example.com");
    }

    #[test]
    fn domain_targets_need_two_labels() {
        assert_eq!(
            Target::parse("@Example.COM").unwrap(),
            Target::Domain("example.com".into())
        );
        assert_eq!(
            Target::parse("@com").unwrap_err(),
            AddressError::DomainTooBroad("com".into())
        );
        assert_eq!(Target::parse("@").unwrap_err(), AddressError::MissingDomain);
        assert_eq!(
            Target::parse("@example.com").unwrap().to_string(),
            "@example.com"
        );
    }

    #[test]
    fn smtp_path_quotes_only_when_needed() {
        assert_eq!(smtp_path("bob@example.com"), "bob@example.com");
        assert_eq!(
            smtp_path("john doe@example.com"),
            "\"john doe\"@example.com"
        );
        assert_eq!(smtp_path("\"x y\"@example.com"), "\"x y\"@example.com");
        assert_eq!(smtp_path("ünï@example.com"), "ünï@example.com");
    }
}
