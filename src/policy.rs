//! The per-recipient decision: may this sender mail this recipient?
//!
//! "The policy said no" is a value ([`Verdict::Block`]); "the policy could not answer" is an
//! error ([`PolicyError`]) that the session turns into `451 4.3.0`. Nothing here writes, and
//! nothing here may turn an error into a pass.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::model::Entry;
use crate::store::{Store, StoreError};

pub use crate::model::Rule;
pub use crate::sender::{Sender, SenderPattern};

/// Why a recipient may not be mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The rule that matched.
    pub rule: Rule,
    /// The entry that matched.
    pub entry: Entry,
}

/// A list entry that would have blocked the recipient, set aside because the sender's group
/// is exempt from its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    /// The sender group whose exemption applied.
    pub group: String,
    /// The rule that matched.
    pub rule: Rule,
    /// The entry that was set aside.
    pub entry: Entry,
}

/// The policy's answer for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing on the list binds this sender: relay it.
    Deliver,
    /// An entry matched but the sender's group is exempt from its reason: relay it, and say so.
    Exempt(Exemption),
    /// On the list: refuse it.
    Block(Block),
    /// Not on the list, but the sender's purpose needs a consent the recipient has not given
    /// (or withdrew, or that lapsed): refuse it.
    NoConsent {
        /// The purpose.
        purpose: String,
    },
}

/// A compiled `[[purposes]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// Its name.
    pub name: String,
    /// Whether its mail needs the recipient's consent.
    pub requires_consent: bool,
    /// How long a consent lasts after it was given.
    pub consent_lasts: Option<std::time::Duration>,
    /// A consent lapses once the contact's last interaction is this old (`[retention]`).
    pub inactive_after: std::time::Duration,
}

impl Purpose {
    /// Whether `consent` is in force at `now` for this purpose, given the contact's last
    /// interaction (the consent itself counts as one).
    pub fn allows(
        &self,
        consent: &crate::model::consent::Consent,
        last_interaction: Option<crate::model::Timestamp>,
        now: crate::model::Timestamp,
    ) -> bool {
        let last = last_interaction.map_or(consent.given_at, |l| l.max(consent.given_at));
        consent.in_force(now, self.consent_lasts) && last.plus(self.inactive_after) > now
    }
}

/// A compiled `[[sender_groups]]` entry.
#[derive(Debug, Clone)]
struct SenderGroup {
    name: String,
    unit: Option<String>,
    patterns: Vec<SenderPattern>,
    exempt: Vec<crate::model::Reason>,
    transactional: bool,
    list_unsubscribe: bool,
    unsubscribe_scope: crate::config::UnsubscribeScope,
    return_path: bool,
    forward_bounces: bool,
    purpose: Option<String>,
}

/// How a sender group marks what it sends, one copy per recipient: a List-Unsubscribe, a
/// return path that brings bounces home, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marking {
    /// The group's name.
    pub group: String,
    /// The group's unit.
    pub unit: Option<String>,
    /// What an unsubscribe suppresses.
    pub scope: crate::config::UnsubscribeScope,
    /// Add List-Unsubscribe.
    pub list_unsubscribe: bool,
    /// Rewrite the return path.
    pub return_path: bool,
    /// Forward bounces to the original sender.
    pub forward_bounces: bool,
}

/// The sender groups, in config order: the first group a sender matches is its group.
#[derive(Debug, Clone, Default)]
pub struct SenderGroups {
    groups: Vec<SenderGroup>,
    purposes: Vec<Purpose>,
    /// `[retention] inactive_after`.
    inactive_after: Option<std::time::Duration>,
}

impl SenderGroups {
    /// Compiles the config's groups (already validated by the config loader).
    pub fn from_config(groups: &[crate::config::SenderGroup]) -> SenderGroups {
        SenderGroups {
            groups: groups
                .iter()
                .map(|g| SenderGroup {
                    name: g.name.clone(),
                    unit: g.unit.clone(),
                    patterns: g
                        .senders
                        .iter()
                        .filter_map(|p| SenderPattern::parse(p).ok())
                        .collect(),
                    exempt: g
                        .exempt_reasons
                        .iter()
                        .copied()
                        .filter(|r| r.is_exemptable())
                        .collect(),
                    transactional: g.transactional,
                    list_unsubscribe: g.list_unsubscribe,
                    unsubscribe_scope: g.unsubscribe_scope,
                    return_path: g.return_path,
                    forward_bounces: g.forward_bounces,
                    purpose: g.purpose.clone(),
                })
                .collect(),
            purposes: Vec::new(),
            inactive_after: None,
        }
    }

    /// `[retention] inactive_after` (the default when the groups were made without a config).
    pub fn inactive_after(&self) -> std::time::Duration {
        self.inactive_after
            .unwrap_or_else(|| crate::config::RetentionConfig::default().inactive_after)
    }

    /// The groups of `config` with its purposes (what the RCPT decision needs).
    pub fn of(config: &crate::config::Config) -> SenderGroups {
        let mut groups = SenderGroups::from_config(&config.sender_groups);
        groups.purposes = config
            .purposes
            .iter()
            .map(|p| Purpose {
                name: p.name.clone(),
                requires_consent: p.requires_consent,
                consent_lasts: p.consent_lasts,
                inactive_after: config.retention.inactive_after,
            })
            .collect();
        groups.inactive_after = Some(config.retention.inactive_after);
        groups
    }

    /// A purpose by name.
    pub fn purpose(&self, name: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.name == name)
    }

    /// The purposes' names, in config order.
    pub fn purpose_names(&self) -> Vec<String> {
        self.purposes.iter().map(|p| p.name.clone()).collect()
    }

    /// The purpose of the sender's group when it requires consent.
    fn consent_needed(&self, sender: &Sender<'_>) -> Option<&Purpose> {
        // Most relays have no such purpose: no walk through the groups for them.
        if !self.purposes.iter().any(|p| p.requires_consent) {
            return None;
        }
        let name = self.classify(sender)?.purpose.as_deref()?;
        self.purpose(name).filter(|p| p.requires_consent)
    }

    /// The purpose of a group (by name), if it has one.
    pub fn purpose_of_group(&self, group: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.name == group)
            .and_then(|g| g.purpose.as_deref())
    }

    fn classify(&self, sender: &Sender<'_>) -> Option<&SenderGroup> {
        self.groups
            .iter()
            .find(|g| g.patterns.iter().any(|p| p.matches(sender)))
    }

    /// The units of the configured sender groups, sorted.
    pub fn units(&self) -> Vec<String> {
        let mut units: Vec<String> = self.groups.iter().filter_map(|g| g.unit.clone()).collect();
        units.sort();
        units.dedup();
        units
    }

    /// Whether the sender's group sends transactional mail (exempt from ownership locks).
    pub fn is_transactional(&self, sender: &Sender<'_>) -> bool {
        self.classify(sender).is_some_and(|g| g.transactional)
    }

    /// How the sender's group marks its mail, if it does.
    pub fn marking(&self, sender: &Sender<'_>) -> Option<Marking> {
        self.classify(sender)
            .filter(|g| g.list_unsubscribe || g.return_path)
            .map(|g| Marking {
                group: g.name.clone(),
                unit: g.unit.clone(),
                scope: g.unsubscribe_scope,
                list_unsubscribe: g.list_unsubscribe,
                return_path: g.return_path,
                forward_bounces: g.forward_bounces,
            })
    }

    /// The name of the sender's group, if it belongs to one.
    pub fn group_of(&self, sender: &Sender<'_>) -> Option<&str> {
        self.classify(sender).map(|g| g.name.as_str())
    }

    /// The names of the configured groups, in config order.
    pub fn names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }

    /// The unit of a sender, if its group has one.
    pub fn unit_of(&self, sender: &Sender<'_>) -> Option<&str> {
        self.classify(sender).and_then(|g| g.unit.as_deref())
    }
}

/// The policy could not decide. Always answered with a temporary failure, never a pass.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the policy reads suppression entries; the store in production (now, or as it stood
/// at a past moment), a stand-in in tests that prove the relay fails closed.
pub trait SuppressionLookup: Send + Sync {
    /// Looks up match keys; returns every entry found, with the index of its key, in key
    /// order. Allocates only when something is found.
    fn find_all(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError>;

    /// The consent of a contact (match key) for a purpose in force at the lookup's moment
    /// (now, or the past moment it stands for). A stand-in knows of none: fail closed.
    fn consent_in_force(
        &self,
        _key: &str,
        _purpose: &Purpose,
    ) -> Result<Option<crate::model::consent::Consent>, StoreError> {
        Ok(None)
    }

    /// Whether the list holds hashed entries (erased contacts), so that RCPT probes hashed
    /// keys too.
    fn has_hashed(&self) -> bool {
        false
    }

    /// A follower of a company's hashed feed: the feed's entries for these match keys
    /// (hashed with the feed's salt), with the index of each key. None elsewhere.
    fn find_feed(&self, _keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        Ok(Vec::new())
    }
}

impl SuppressionLookup for Store {
    fn find_all(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        Store::find_all(self, keys)
    }

    fn has_hashed(&self) -> bool {
        Store::has_hashed(self)
    }

    fn find_feed(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        Store::find_feed(self, keys)
    }

    fn consent_in_force(
        &self,
        key: &str,
        purpose: &Purpose,
    ) -> Result<Option<crate::model::consent::Consent>, StoreError> {
        let now = crate::model::Timestamp::now();
        let Some(consent) = self.consent(key, &purpose.name)? else {
            return Ok(None);
        };
        let last = self.last_interaction(key)?;
        Ok(purpose.allows(&consent, last, now).then_some(consent))
    }
}

/// The list as it stood at a moment, rebuilt from the history (for `check --at` and audits).
pub struct AsOf {
    /// The store.
    pub store: Store,
    /// The moment.
    pub at: crate::model::Timestamp,
}

impl SuppressionLookup for AsOf {
    fn has_hashed(&self) -> bool {
        self.store.has_hashed()
    }

    fn find_all(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
        let mut out = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some(entry) = self.store.entry_at(key, self.at)? {
                out.push((i, entry));
            }
        }
        Ok(out)
    }

    /// The consent as it stood at the moment: given by then, not withdrawn by then, not
    /// lapsed (a consent replaced since is judged by its latest record).
    fn consent_in_force(
        &self,
        key: &str,
        purpose: &Purpose,
    ) -> Result<Option<crate::model::consent::Consent>, StoreError> {
        let last = self.store.last_interaction(key)?.filter(|l| *l <= self.at);
        Ok(self.store.consent(key, &purpose.name)?.filter(|c| {
            let withdrawn_later = c.withdrawn.as_ref().is_none_or(|w| w.at > self.at);
            let mut then = c.clone();
            then.withdrawn = None;
            withdrawn_later && purpose.allows(&then, last, self.at)
        }))
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
    groups: Arc<SenderGroups>,
    /// The salt of hashed keys (erased contacts are listed under them).
    salt: Option<Arc<crate::hashing::Salt>>,
}

impl Policy {
    /// A policy reading from `lookup`.
    pub fn new(
        lookup: Arc<dyn SuppressionLookup>,
        options: MatchOptions,
        groups: Arc<SenderGroups>,
    ) -> Policy {
        Policy {
            lookup,
            options,
            groups,
            salt: None,
        }
    }

    /// The same policy, probing hashed keys with `salt` while the list holds any.
    pub fn with_salt(mut self, salt: Arc<crate::hashing::Salt>) -> Policy {
        self.salt = Some(salt);
        self
    }

    /// The fingerprint of the salt, when the policy knows it.
    pub fn salt_fingerprint(&self) -> Option<u64> {
        self.salt.as_ref().map(|s| s.fingerprint())
    }

    /// How addresses are matched.
    pub fn options(&self) -> &MatchOptions {
        &self.options
    }

    /// The erasure salt, when the policy knows it.
    pub fn salt(&self) -> Option<&Arc<crate::hashing::Salt>> {
        self.salt.as_ref()
    }

    /// The hashed form of a match key, when the policy knows the salt.
    pub fn hash_key(&self, key: &str) -> Option<String> {
        self.salt.as_ref().map(|s| s.hash(key))
    }

    /// The same policy reading from another lookup (the list at a past moment).
    pub fn with_lookup(&self, lookup: Arc<dyn SuppressionLookup>) -> Policy {
        Policy {
            lookup,
            options: self.options.clone(),
            groups: self.groups.clone(),
            salt: self.salt.clone(),
        }
    }

    /// The keys a recipient is matched under, most specific first (for audits).
    pub fn match_keys(&self, rcpt: &Address) -> Vec<String> {
        Probes::new(rcpt, &self.options)
            .key_iter()
            .map(str::to_string)
            .collect()
    }

    /// The sender groups.
    pub fn groups(&self) -> &SenderGroups {
        &self.groups
    }

    /// Decides whether `sender` may mail `rcpt`.
    ///
    /// Probes, most specific first: the address; the address without its `+tag`; the domain;
    /// each parent domain. Google addresses are probed in their dotless form (see
    /// [`Address::push_match_key`]), which is how they are stored. An entry scoped to other
    /// units does not bind this sender; an entry whose reason the sender's group is exempt
    /// from is set aside (and reported); the first remaining entry blocks.
    ///
    /// A recipient the list lets through is then checked for consent when the sender's
    /// purpose requires it (under its address, then without its `+tag`): the list always wins
    /// over a consent.
    pub fn check_rcpt(&self, sender: &Sender<'_>, rcpt: &Address) -> Result<Verdict, PolicyError> {
        let verdict = self.check_list(sender, rcpt)?;
        if matches!(verdict, Verdict::Block(_)) {
            return Ok(verdict);
        }
        let Some(purpose) = self.groups.consent_needed(sender) else {
            return Ok(verdict);
        };
        let probes = Probes::new(rcpt, &self.options);
        for (key, rule) in probes.key_iter().zip(probes.ends.iter().map(|e| e.1)) {
            if !matches!(rule, Rule::Address | Rule::PlusTag) {
                break;
            }
            if self.lookup.consent_in_force(key, purpose)?.is_some() {
                return Ok(verdict);
            }
        }
        Ok(Verdict::NoConsent {
            purpose: purpose.name.clone(),
        })
    }

    /// The keys a consent for `rcpt` is found under, as RCPT looks: the address, then the
    /// address without its `+tag`.
    pub fn consent_keys(&self, rcpt: &Address) -> Vec<String> {
        let probes = Probes::new(rcpt, &self.options);
        probes
            .key_iter()
            .zip(probes.ends.iter().map(|e| e.1))
            .take_while(|(_, rule)| matches!(rule, Rule::Address | Rule::PlusTag))
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// The list's verdict alone.
    fn check_list(&self, sender: &Sender<'_>, rcpt: &Address) -> Result<Verdict, PolicyError> {
        let probes = Probes::new(rcpt, &self.options);
        let mut stack = [""; 16];
        let heap: Vec<&str>;
        let keys: &[&str] = if probes.ends.len() <= stack.len() {
            probes.fill(&mut stack)
        } else {
            heap = probes.keys();
            &heap
        };
        let mut hits = self.lookup.find_all(keys)?;
        // Erased contacts are listed under hashed keys: probed only while there are any.
        if let Some(salt) = self.salt.as_ref().filter(|_| self.lookup.has_hashed()) {
            let hashed: Vec<String> = keys.iter().map(|k| salt.hash(k)).collect();
            let hashed: Vec<&str> = hashed.iter().map(String::as_str).collect();
            hits.extend(self.lookup.find_all(&hashed)?);
        }
        // A subcontractor's relay: its company's list, as salted hashes (after the rest: no
        // exemption of this relay's groups sets them aside).
        let feed_from = hits.len();
        let feed = self.lookup.find_feed(keys)?;
        if !feed.is_empty() {
            // The company's units bind this relay's senders by name; a sender in no unit is
            // bound by every entry (easy to block).
            let unitless = self.groups.unit_of(sender).is_none();
            hits.extend(feed.into_iter().map(|(i, mut entry)| {
                if unitless {
                    entry.units = crate::model::Units::all();
                }
                (i, entry)
            }));
        }
        if hits.is_empty() {
            return Ok(Verdict::Deliver);
        }
        let group = self.groups.classify(sender);
        let unit = group.and_then(|g| g.unit.as_deref());
        let mut exemption = None;
        for (n, (index, entry)) in hits.into_iter().enumerate() {
            if !entry.applies_to(unit) {
                continue;
            }
            let company_feed = n >= feed_from;
            let rule = match probes.ends[index].1 {
                Rule::Address
                    if entry.target != rcpt.as_str()
                        && !crate::hashing::is_hashed(&entry.target) =>
                {
                    Rule::GmailDots
                }
                rule => rule,
            };
            match group {
                // A subcontractor's exemptions never weaken its company's opt-outs.
                Some(g) if g.exempt.contains(&entry.reason) && !company_feed => {
                    exemption.get_or_insert(Exemption {
                        group: g.name.clone(),
                        rule,
                        entry,
                    });
                }
                _ => return Ok(Verdict::Block(Block { rule, entry })),
            }
        }
        Ok(match exemption {
            Some(e) => Verdict::Exempt(e),
            None => Verdict::Deliver,
        })
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
        fn find_all(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
            Ok(keys
                .iter()
                .enumerate()
                .filter_map(|(i, k)| self.0.get(*k).map(|e| (i, e.clone())))
                .collect())
        }
    }

    struct Broken;

    impl SuppressionLookup for Broken {
        fn find_all(&self, _: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
            Err(StoreError::Io("disk on fire".into()))
        }
    }

    fn entry(target: &str, reason: Reason, units: &[&str]) -> (String, Entry) {
        let target = crate::address::Target::parse(target).unwrap();
        let entry = Entry {
            target: target.to_string(),
            reason,
            source: Source::Admin,
            evidence: String::new(),
            actor: Actor::system(),
            added_at: Timestamp(0),
            event_id: 1,
            units: crate::model::Units::parse(units),
        };
        (target.match_key(), entry)
    }

    fn policy_with(entries: Vec<(String, Entry)>, groups: &[crate::config::SenderGroup]) -> Policy {
        Policy::new(
            Arc::new(MapLookup(entries.into_iter().collect())),
            MatchOptions::default(),
            Arc::new(SenderGroups::from_config(groups)),
        )
    }

    fn policy(targets: &[&str]) -> Policy {
        let entries = targets
            .iter()
            .map(|t| entry(t, Reason::Unsubscribe, &[]))
            .collect();
        policy_with(entries, &[])
    }

    fn rule_for(p: &Policy, rcpt: &str) -> Option<Rule> {
        match p
            .check_rcpt(&Sender::default(), &Address::parse(rcpt).unwrap())
            .unwrap()
        {
            Verdict::Deliver | Verdict::Exempt(_) | Verdict::NoConsent { .. } => None,
            Verdict::Block(b) => Some(b.rule),
        }
    }

    fn verdict_for(p: &Policy, from: &str, rcpt: &str) -> Verdict {
        let from = Address::parse(from).unwrap();
        let sender = Sender {
            address: Some(&from),
            user: None,
        };
        p.check_rcpt(&sender, &Address::parse(rcpt).unwrap())
            .unwrap()
    }

    fn groups() -> Vec<crate::config::SenderGroup> {
        vec![
            crate::config::SenderGroup {
                name: "billing".into(),
                unit: Some("acme".into()),
                senders: vec!["billing@acme.example".into()],
                exempt_reasons: vec![Reason::Unsubscribe, Reason::NotInterested],
                transactional: false,
                ..Default::default()
            },
            crate::config::SenderGroup {
                name: "acme-sales".into(),
                unit: Some("acme".into()),
                senders: vec!["@acme.example".into()],
                exempt_reasons: vec![],
                transactional: false,
                ..Default::default()
            },
            crate::config::SenderGroup {
                name: "globex-sales".into(),
                unit: Some("globex".into()),
                senders: vec!["@globex.example".into()],
                exempt_reasons: vec![],
                transactional: false,
                ..Default::default()
            },
        ]
    }

    /// A subcontractor's relay: nothing of its own, its company's entries from the feed.
    struct FeedLookup(HashMap<String, Entry>);

    impl SuppressionLookup for FeedLookup {
        fn find_all(&self, _: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
            Ok(Vec::new())
        }

        fn find_feed(&self, keys: &[&str]) -> Result<Vec<(usize, Entry)>, StoreError> {
            MapLookup(self.0.clone()).find_all(keys)
        }
    }

    #[test]
    fn a_feed_entry_scoped_to_a_unit_binds_that_unit_and_every_sender_in_none() {
        let entries = vec![entry("pat@example.com", Reason::NotInterested, &["acme"])];
        let p = Policy::new(
            Arc::new(FeedLookup(entries.into_iter().collect())),
            MatchOptions::default(),
            Arc::new(SenderGroups::from_config(&groups())),
        );
        let blocked = |from| matches!(verdict_for(&p, from, "pat@example.com"), Verdict::Block(_));
        assert!(blocked("rep@acme.example"));
        // The billing group is exempt from not-interested on this relay: not from the
        // company's opt-outs.
        assert!(blocked("billing@acme.example"));
        assert!(blocked("agent@nogroup.example"), "a sender in no unit");
        assert!(!blocked("rep@globex.example"), "another unit by name");
    }

    #[test]
    fn a_unit_scoped_entry_binds_that_units_senders_only() {
        let p = policy_with(
            vec![entry("pat@example.com", Reason::NotInterested, &["acme"])],
            &groups(),
        );
        assert!(matches!(
            verdict_for(&p, "rep@acme.example", "pat@example.com"),
            Verdict::Block(_)
        ));
        assert!(matches!(
            verdict_for(&p, "rep@globex.example", "pat@example.com"),
            Verdict::Deliver
        ));
        assert!(matches!(
            verdict_for(&p, "rep@nogroup.example", "pat@example.com"),
            Verdict::Deliver
        ));
    }

    #[test]
    fn an_exempt_group_passes_an_unsubscribe_but_never_a_hard_bounce() {
        let p = policy_with(
            vec![
                entry("cust@example.com", Reason::Unsubscribe, &[]),
                entry("gone@example.com", Reason::HardBounce, &[]),
            ],
            &groups(),
        );
        match verdict_for(&p, "billing@acme.example", "cust@example.com") {
            Verdict::Exempt(e) => {
                assert_eq!(e.group, "billing");
                assert_eq!(e.entry.reason, Reason::Unsubscribe);
            }
            other => panic!("expected an exemption, got {other:?}"),
        }
        assert!(matches!(
            verdict_for(&p, "rep@acme.example", "cust@example.com"),
            Verdict::Block(_)
        ));
        assert!(matches!(
            verdict_for(&p, "billing@acme.example", "gone@example.com"),
            Verdict::Block(_)
        ));
    }

    #[test]
    fn an_exemption_does_not_hide_a_stronger_entry_further_up() {
        let p = policy_with(
            vec![
                entry("cust@corp.example", Reason::Unsubscribe, &[]),
                entry("@corp.example", Reason::Legal, &[]),
            ],
            &groups(),
        );
        match verdict_for(&p, "billing@acme.example", "cust@corp.example") {
            Verdict::Block(b) => assert_eq!(b.entry.reason, Reason::Legal),
            other => panic!("expected the legal domain entry to block, got {other:?}"),
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
        let p = Policy::new(Arc::new(Broken), MatchOptions::default(), Arc::default());
        let result = p.check_rcpt(
            &Sender::default(),
            &Address::parse("a@example.com").unwrap(),
        );
        assert!(matches!(result, Err(PolicyError::Store(_))));
    }
}
