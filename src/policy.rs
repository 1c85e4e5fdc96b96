//! The per-recipient decision: may this sender mail this recipient?
//!
//! "The policy said no" is a value ([`Verdict::Block`]); "the policy could not answer" is an
//! error ([`PolicyError`]) that the session turns into `451 4.3.0`. Nothing here writes, and
//! nothing here may turn an error into a pass.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::model::Entry;
use crate::store::{Store, StoreError};

/// Which matching rule found the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The normalised address itself is on the list.
    Address,
    /// The address without its `+tag` is on the list.
    PlusTag,
    /// A Google address that differs only in dots (or gmail/googlemail) is on the list.
    GmailDots,
    /// The recipient's domain is on the list.
    Domain,
    /// A parent of the recipient's domain is on the list.
    ParentDomain,
}

impl Rule {
    /// The kebab-case name used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Address => "address",
            Rule::PlusTag => "plus-tag",
            Rule::GmailDots => "gmail-dots",
            Rule::Domain => "domain",
            Rule::ParentDomain => "parent-domain",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a recipient may not be mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The rule that matched.
    pub rule: Rule,
    /// The entry that matched.
    pub entry: Entry,
}

/// The policy's answer for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing on the list matches: relay it.
    Deliver,
    /// On the list: refuse it.
    Block(Block),
}

/// The policy could not decide. Always answered with a temporary failure, never a pass.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the policy reads suppression entries; the store in production, a stand-in in tests
/// that prove the relay fails closed.
pub trait SuppressionLookup: Send + Sync {
    /// Looks up match keys in order; returns the first entry found and the index of its key.
    fn find_first(&self, keys: &[&str]) -> Result<Option<(usize, Entry)>, StoreError>;
}

impl SuppressionLookup for Store {
    fn find_first(&self, keys: &[&str]) -> Result<Option<(usize, Entry)>, StoreError> {
        Store::find_first(self, keys)
    }
}

/// How addresses are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchOptions {
    /// The `+tag` separator; `None` turns tag stripping off.
    pub tag_separator: Option<char>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            tag_separator: Some('+'),
        }
    }
}

/// The recipient policy.
#[derive(Clone)]
pub struct Policy {
    lookup: Arc<dyn SuppressionLookup>,
    options: MatchOptions,
}

impl Policy {
    /// A policy reading from `lookup`.
    pub fn new(lookup: Arc<dyn SuppressionLookup>, options: MatchOptions) -> Policy {
        Policy { lookup, options }
    }

    /// Decides whether `sender` (None for the null reverse-path) may mail `rcpt`.
    ///
    /// Probes, most specific first: the address; the address without its `+tag`; the domain;
    /// each parent domain. Google addresses are probed in their dotless form (see
    /// [`Address::push_match_key`]), which is how they are stored.
    pub fn check_rcpt(
        &self,
        _sender: Option<&Address>,
        rcpt: &Address,
    ) -> Result<Verdict, PolicyError> {
        let probes = Probes::new(rcpt, &self.options);
        let mut stack = [""; 16];
        let heap: Vec<&str>;
        let keys: &[&str] = if probes.ends.len() <= stack.len() {
            probes.fill(&mut stack)
        } else {
            heap = probes.keys();
            &heap
        };
        match self.lookup.find_first(keys)? {
            None => Ok(Verdict::Deliver),
            Some((index, entry)) => {
                let rule = match probes.ends[index].1 {
                    Rule::Address if entry.target != rcpt.as_str() => Rule::GmailDots,
                    rule => rule,
                };
                Ok(Verdict::Block(Block { rule, entry }))
            }
        }
    }
}

/// The match keys for one recipient, in one buffer, with the rule each one stands for.
struct Probes {
    buf: String,
    ends: Vec<(usize, Rule)>,
}

impl Probes {
    fn new(rcpt: &Address, options: &MatchOptions) -> Probes {
        let mut p = Probes {
            buf: String::with_capacity(rcpt.as_str().len() * 4),
            ends: Vec::with_capacity(6),
        };
        rcpt.push_match_key(rcpt.local(), &mut p.buf);
        p.end(Rule::Address);
        if let Some(base) = rcpt.untagged_local(options.tag_separator) {
            rcpt.push_match_key(base, &mut p.buf);
            p.end(Rule::PlusTag);
        }
        for (i, domain) in rcpt.domains().enumerate() {
            p.buf.push('@');
            p.buf.push_str(domain);
            p.end(if i == 0 {
                Rule::Domain
            } else {
                Rule::ParentDomain
            });
        }
        p
    }

    fn end(&mut self, rule: Rule) {
        self.ends.push((self.buf.len(), rule));
    }

    fn key_iter(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&(end, _)| {
            let key = &self.buf[start..end];
            start = end;
            key
        })
    }

    /// The keys in a caller's array (no allocation); the array must be long enough.
    fn fill<'a>(&'a self, out: &'a mut [&'a str; 16]) -> &'a [&'a str] {
        let mut n = 0;
        for (slot, key) in out.iter_mut().zip(self.key_iter()) {
            *slot = key;
            n += 1;
        }
        &out[..n]
    }

    fn keys(&self) -> Vec<&str> {
        self.key_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Reason, Source, Timestamp};
    use std::collections::HashMap;

    struct MapLookup(HashMap<String, Entry>);

    impl SuppressionLookup for MapLookup {
        fn find_first(&self, keys: &[&str]) -> Result<Option<(usize, Entry)>, StoreError> {
            Ok(keys
                .iter()
                .enumerate()
                .find_map(|(i, k)| self.0.get(*k).map(|e| (i, e.clone()))))
        }
    }

    struct Broken;

    impl SuppressionLookup for Broken {
        fn find_first(&self, _: &[&str]) -> Result<Option<(usize, Entry)>, StoreError> {
            Err(StoreError::Io("disk on fire".into()))
        }
    }

    fn policy(targets: &[&str]) -> Policy {
        let map = targets
            .iter()
            .map(|t| {
                let target = crate::address::Target::parse(t).unwrap();
                let entry = Entry {
                    target: target.to_string(),
                    reason: Reason::Unsubscribe,
                    source: Source::Admin,
                    evidence: String::new(),
                    actor: Actor::system(),
                    added_at: Timestamp(0),
                    event_id: 1,
                };
                (target.match_key(), entry)
            })
            .collect();
        Policy::new(Arc::new(MapLookup(map)), MatchOptions::default())
    }

    fn rule_for(p: &Policy, rcpt: &str) -> Option<Rule> {
        match p.check_rcpt(None, &Address::parse(rcpt).unwrap()).unwrap() {
            Verdict::Deliver => None,
            Verdict::Block(b) => Some(b.rule),
        }
    }

    #[test]
    fn every_variant_of_a_suppressed_recipient_matches_its_rule() {
        let p = policy(&["alice@example.com", "j.doe@gmail.com", "@corp.example"]);
        let cases = [
            ("alice@example.com", Some(Rule::Address)),
            (" ALICE@Example.com ", Some(Rule::Address)),
            ("alice+news@example.com", Some(Rule::PlusTag)),
            ("jdoe@gmail.com", Some(Rule::GmailDots)),
            ("J.D.O.E@googlemail.com", Some(Rule::GmailDots)),
            ("j.doe+x@gmail.com", Some(Rule::PlusTag)),
            ("j.doe@gmail.com", Some(Rule::Address)),
            ("anyone@corp.example", Some(Rule::Domain)),
            ("anyone@eu.mail.corp.example", Some(Rule::ParentDomain)),
            ("bob@example.com", None),
            ("alice@example.org", None),
            ("alice@notcorp.example", None),
            ("j.doe@example.com", None),
        ];
        for (rcpt, want) in cases {
            assert_eq!(rule_for(&p, rcpt), want, "{rcpt}");
        }
    }

    #[test]
    fn very_deep_subdomains_still_reach_the_parent_entry() {
        let p = policy(&["@corp.example"]);
        let deep = format!("x@{}corp.example", "a.".repeat(30));
        assert_eq!(rule_for(&p, &deep), Some(Rule::ParentDomain));
    }

    #[test]
    fn a_tagged_entry_does_not_block_the_plain_mailbox() {
        let p = policy(&["bob+promo@example.com"]);
        assert_eq!(rule_for(&p, "bob+promo@example.com"), Some(Rule::Address));
        assert_eq!(rule_for(&p, "bob@example.com"), None);
    }

    #[test]
    fn tag_stripping_can_be_turned_off() {
        let mut p = policy(&["alice@example.com"]);
        p.options.tag_separator = None;
        assert_eq!(rule_for(&p, "alice+x@example.com"), None);
    }

    #[test]
    fn a_store_error_is_an_error_never_a_pass() {
        let p = Policy::new(Arc::new(Broken), MatchOptions::default());
        let result = p.check_rcpt(None, &Address::parse("a@example.com").unwrap());
        assert!(matches!(result, Err(PolicyError::Store(_))));
    }
}
