//! Who sends: the envelope sender with the authenticated user, and the sender identities
//! (`alice@x`, `@x`, `user:NAME`) that config lists of sender groups and owners are made of.
//! Ground level: the config and the policy both use it, and it uses only `address`.

use crate::address::Address;

/// Who is sending: the envelope sender and the authenticated user, as far as known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sender<'a> {
    /// The normalised MAIL FROM address (`None` for `<>`).
    pub address: Option<&'a Address>,
    /// The authenticated user, if the client authenticated.
    pub user: Option<&'a str>,
}

/// One sender identity in a `[[sender_groups]]` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderPattern {
    /// One mailbox (normalised).
    Address(String),
    /// A domain and its subdomains.
    Domain(String),
    /// An authenticated user name (`user:NAME`).
    User(String),
}

impl SenderPattern {
    /// `alice@x`, `@x`, or `user:NAME`.
    pub fn parse(s: &str) -> Result<SenderPattern, String> {
        let s = s.trim();
        if let Some(user) = s.strip_prefix("user:") {
            return if user.trim().is_empty() {
                Err("user: needs a name".into())
            } else {
                Ok(SenderPattern::User(user.trim().to_string()))
            };
        }
        match crate::address::Target::parse(s).map_err(|e| e.to_string())? {
            crate::address::Target::Address(a) => Ok(SenderPattern::Address(a.to_string())),
            crate::address::Target::Domain(d) => Ok(SenderPattern::Domain(d)),
            crate::address::Target::Phone(p) => {
                Err(format!("'{p}' is a phone number, not a sender"))
            }
        }
    }

    /// Whether the sender is this identity.
    pub fn matches(&self, sender: &Sender<'_>) -> bool {
        match self {
            SenderPattern::Address(a) => sender.address.is_some_and(|s| s.as_str() == a),
            SenderPattern::Domain(d) => sender.address.is_some_and(|s| s.domains().any(|x| x == d)),
            SenderPattern::User(u) => sender.user == Some(u.as_str()),
        }
    }
}
