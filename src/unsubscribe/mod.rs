//! One-click unsubscribe (RFC 8058): the headers the relay adds to what marked sender groups
//! send ([`Marker`]), the HTTP endpoint their links point at ([`http`]), and the `mailto:`
//! form that arrives at the feedback listener ([`mailto`]).

pub mod http;
mod pages;

use crate::address::Address;
use crate::config::{Config, UnsubscribeScope};
use crate::model::{Actor, Reason, Source, Units};
use crate::policy::Marking;
use crate::store::{AddOutcome, NewEntry, Store, StoreError};
use crate::token::{now_secs, Claims, Sealer};

/// What the relay needs to mark a message: the token key and where links and mail go.
#[derive(Debug)]
pub struct Marker {
    sealer: Sealer,
    /// `base_url` without a trailing slash (`None`: no links, return paths only).
    base: Option<String>,
    /// The domain of the `mailto:` form and of return paths (the first feedback domain).
    mailto_domain: Option<String>,
    /// The purposes of the sender groups, with each group's unit: an unsubscribe withdraws
    /// the consents of the purposes it covers.
    purposes: Vec<(Option<String>, String)>,
}

/// What marking did to a message, for the decision log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    /// The headers were added.
    Added,
    /// The message had a List-Unsubscribe already: left alone.
    Kept,
}

impl Marked {
    /// The words in the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            Marked::Added => "list-unsubscribe added",
            Marked::Kept => "list-unsubscribe kept: the message had one",
        }
    }
}

impl Marker {
    /// The marker of `config`, when links can be made (`[unsubscribe] base_url`) or a sender
    /// group rewrites its return path; the token key is loaded, or created when missing.
    pub fn from_config(config: &Config) -> Result<Option<Marker>, String> {
        let base = config.unsubscribe.base_url.as_ref();
        if base.is_none() && !config.sender_groups.iter().any(|g| g.return_path) {
            return Ok(None);
        }
        let path = config.token_key_path();
        let (sealer, created) = Sealer::load_or_create(&path, config.unsubscribe.token_lifetime)?;
        if base.is_some_and(|b| b.starts_with("http://")) {
            tracing::warn!("[unsubscribe] base_url is http: mailbox providers honour one-click only over https (RFC 8058)");
        }
        if created {
            tracing::warn!(key = %path.display(), "created a new unsubscribe token key; keep it (links already sent need it)");
        }
        Ok(Some(Marker {
            sealer,
            base: base.map(|b| b.trim_end_matches('/').to_string()),
            mailto_domain: config.feedback.domains.first().map(|d| d.to_lowercase()),
            purposes: config
                .sender_groups
                .iter()
                .filter_map(|g| g.purpose.clone().map(|p| (g.unit.clone(), p)))
                .collect(),
        }))
    }

    /// The purposes an unsubscribe covers: every purpose of the groups of `unit`, or of
    /// every group (`None`).
    pub fn purposes_for(&self, unit: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = self
            .purposes
            .iter()
            .filter(|(u, _)| unit.is_none() || u.as_deref() == unit)
            .map(|(_, p)| p.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether links are made (`[unsubscribe] base_url`).
    pub fn has_links(&self) -> bool {
        self.base.is_some()
    }

    /// The return-path token of `rcpt` (`bounces+TOKEN@…`), if it is one: its id.
    pub fn return_path_id(&self, rcpt: &str) -> Option<(u64, u32)> {
        self.sealer.check_return_token(tagged(rcpt, "bounces")?)
    }

    /// The token key, for the endpoint and the feedback listener.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The return path for the copy stored as return path `id` with `salt`:
    /// `bounces+TOKEN@domain`.
    pub fn return_path(&self, id: u64, salt: u32) -> Option<String> {
        let domain = self.mailto_domain.as_ref()?;
        Some(format!(
            "bounces+{}@{domain}",
            self.sealer.return_token(id, salt)
        ))
    }

    /// The header lines (CRLF-terminated, folded) for a copy to `rcpt` from `sender`; empty
    /// when no links can be made.
    pub fn headers(&self, rcpt: &Address, sender: &str, marking: &Marking) -> Vec<u8> {
        let Some(base) = &self.base else {
            return Vec::new();
        };
        let claims = Claims {
            recipient: rcpt.to_string(),
            sender: sender.to_string(),
            group: marking.group.clone(),
            unit: scoped_unit(marking),
            issued: now_secs(),
        };
        let mut out = format!("List-Unsubscribe: <{base}/u/{}>", self.sealer.seal(&claims));
        if let Some(domain) = &self.mailto_domain {
            let key = crate::address::Target::Address(rcpt.clone()).match_key();
            let token = self.sealer.mailto(&key, claims.unit.as_deref());
            out.push_str(&format!(",\r\n <mailto:unsubscribe+{token}@{domain}>"));
        }
        out.push_str("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
        out.into_bytes()
    }
}

/// The unit an unsubscribe is scoped to: the group's, when it scopes to its unit.
fn scoped_unit(marking: &Marking) -> Option<String> {
    match marking.scope {
        UnsubscribeScope::Unit => marking.unit.clone(),
        UnsubscribeScope::All => None,
    }
}

/// Whether a message's header block (`head`: its start) has a `List-Unsubscribe` or
/// `List-Unsubscribe-Post` field (the obsolete `Name :` form too): the sender marked it.
pub fn has_list_unsubscribe(head: &[u8]) -> bool {
    let end = memchr::memmem::find(head, b"\r\n\r\n").unwrap_or(head.len());
    head[..end].split(|&b| b == b'\n').any(|line| {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = line[..colon].trim_ascii_end();
        name.eq_ignore_ascii_case(b"list-unsubscribe")
            || name.eq_ignore_ascii_case(b"list-unsubscribe-post")
    })
}

/// Suppresses `recipient` (reason unsubscribe, source link), for every sender or for `unit`.
pub async fn suppress(
    store: &Store,
    recipient: &str,
    unit: Option<&str>,
    evidence: String,
    actor: Actor,
) -> Result<Option<AddOutcome>, StoreError> {
    let Ok(target) = crate::address::Target::parse(recipient) else {
        return Ok(None);
    };
    let units = match unit {
        Some(u) => Units::parse([u]),
        None => Units::all(),
    };
    let entry = NewEntry {
        target,
        reason: Reason::Unsubscribe,
        source: Source::Link,
        evidence,
        units,
    };
    store.add(entry, actor).await.map(Some)
}

/// Withdraws the recipient's consents for `purposes` (those in force; the others are left
/// as they are): an unsubscribe from a purpose's mail ends that consent too. The
/// suppression already refuses the recipient; this keeps the consent records true.
pub async fn withdraw_consents(
    store: &Store,
    recipient: &str,
    purposes: &[String],
    why: &str,
    actor: &Actor,
) -> Result<(), StoreError> {
    let Ok(target) = crate::address::Target::parse(recipient) else {
        return Ok(());
    };
    let key = target.match_key();
    for purpose in purposes {
        // Refused when none is in force: nothing to withdraw.
        let _ = store
            .withdraw_consent(&key, purpose, why.to_string(), actor.clone())
            .await?;
    }
    Ok(())
}

/// The unsubscribe mail arriving at the feedback listener (`unsubscribe+TOKEN@domain`).
pub mod mailto {
    /// The token of an `unsubscribe+TOKEN@…` recipient, if it is one.
    pub fn token(rcpt: &str) -> Option<&str> {
        super::tagged(rcpt, "unsubscribe")
    }
}

/// The tag of a `NAME+TAG@domain` recipient whose name is `name` (any case).
fn tagged<'r>(rcpt: &'r str, name: &str) -> Option<&'r str> {
    let local = rcpt.rsplit_once('@')?.0;
    let (head, tag) = local.split_once('+')?;
    head.eq_ignore_ascii_case(name).then_some(tag)
}

/// The actor of link and mailto unsubscribes.
pub fn actor(how: &str) -> Actor {
    Actor {
        user: format!("unsubscribe {how}"),
        uid: None,
        role: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_list_unsubscribe_is_found_in_the_header_block_only() {
        assert!(has_list_unsubscribe(
            b"Subject: x\r\nlist-unsubscribe: <mailto:a@b>\r\n\r\nbody"
        ));
        assert!(!has_list_unsubscribe(
            b"Subject: x\r\n\r\nList-Unsubscribe: in the body\r\n"
        ));
        assert!(has_list_unsubscribe(b"List-Unsubscribe-Post: x\r\n\r\n"));
        assert!(has_list_unsubscribe(
            b"List-Unsubscribe : <mailto:a@b>\r\n\r\n"
        ));
        assert!(!has_list_unsubscribe(
            b"X-List-Unsubscribe-Count: 1\r\n\r\n"
        ));
    }

    #[test]
    fn mailto_tokens_are_found_in_their_recipient() {
        assert_eq!(mailto::token("unsubscribe+abc@fb.example.com"), Some("abc"));
        assert_eq!(mailto::token("Unsubscribe+abc@fb.example.com"), Some("abc"));
        assert_eq!(mailto::token("bounces@fb.example.com"), None);
        assert_eq!(mailto::token("other+abc@fb.example.com"), None);
    }
}
