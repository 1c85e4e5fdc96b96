//! The records the relay keeps: suppression entries, history events, who did what and when.
//!
//! These types are shared by the store (which persists them), the policy (which reads entries),
//! the admin protocol (which shows them) and the audit log. They hold no I/O.

pub mod alert;
pub mod consent;
pub mod describe;
pub mod feed;
pub mod feedback;
pub mod outbox;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, microseconds since the Unix epoch, UTC.
///
/// Shown and written to JSON as RFC 3339 (`2026-11-23T10:05:00.123456Z`); stored as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// Parses RFC 3339 (`2026-11-23T10:05:00Z`, fractional seconds allowed).
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
        humantime::parse_rfc3339_weak(s.trim())
            .map(Timestamp::from)
            .map_err(|e| format!("'{s}' is not an RFC 3339 time: {e}"))
    }

    /// This time plus a duration (saturating).
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(d.as_micros().min(i64::MAX as u128) as i64),
        )
    }

    /// This time minus a duration (saturating).
    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_sub(d.as_micros().min(i64::MAX as u128) as i64),
        )
    }

    fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_micros(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_micros(self.0.unsigned_abs())
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(d.as_micros().min(i64::MAX as u128) as i64),
            Err(e) => Timestamp(-(e.duration().as_micros().min(i64::MAX as u128) as i64)),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_micros(self.to_system_time()).fmt(f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
        } else {
            i64::deserialize(d).map(Timestamp)
        }
    }
}

/// Declares a closed set of kebab-case names with `FromStr`, `Display`, serde and a list of all
/// names for error messages, so the CLI, config, CSV and JSON agree on one spelling.
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The kebab-case name used on the wire, in config and in files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let s = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s) || v.as_str().replace('-', "_").eq_ignore_ascii_case(s))
                    .ok_or_else(|| {
                        let names: Vec<_> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} '{}' (expected one of: {})", stringify!($name).to_lowercase(), s, names.join(", "))
                    })
            }
        }
    };
}

pub(crate) use named_enum;

/// `Display` and serde by name (`as_str` and `FromStr`) for a type whose values are written
/// as one word in every format, binary ones included: unlike a derived enum, whose variant
/// index a binary format would store, the word stays readable when variants are added or
/// reordered.
macro_rules! by_name {
    ($($name:ty),+) => {$(
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}

pub(crate) use by_name;

named_enum! {
    /// The suppression file formats `import` understands, detected from the header. The
    /// name is what the import's event records.
    pub enum ImportFormat {
        /// Our own `export` (target, reason, source, evidence, ...).
        DncRelay = "dnc-relay",
        /// Amazon SES account suppression list (EmailAddress, Reason BOUNCE|COMPLAINT,
        /// LastUpdateTime).
        Ses = "ses",
        /// SendGrid bounces (email, created, reason, status): hard bounces.
        SendGridBounces = "sendgrid-bounces",
        /// SendGrid spam reports (email, created, ip): complaints.
        SendGridSpamReports = "sendgrid-spam-reports",
        /// SendGrid invalid emails (email, created, reason).
        SendGridInvalid = "sendgrid-invalid-emails",
        /// SendGrid unsubscribes, global or group (email, created).
        SendGridUnsubscribes = "sendgrid-unsubscribes",
        /// Any file with an address column; each row's own reason, source, evidence and scope
        /// columns when present, else `--reason` and `--source`.
        Plain = "plain",
    }
}

named_enum! {
    /// Why a contact must not be mailed. See [`Reason::strength`] for which one wins when a
    /// target is added twice.
    pub enum Reason {
        /// The contact's mail hard-bounced: the mailbox does not exist. Answered with 5.1.1.
        HardBounce = "hard-bounce",
        /// A legal demand (GDPR erasure request, lawyer's letter).
        Legal = "legal",
        /// A spam complaint (feedback loop, abuse desk).
        Complaint = "complaint",
        /// The contact asked to stop (reply, link, call).
        Unsubscribe = "unsubscribe",
        /// The contact said they are not interested.
        NotInterested = "not-interested",
        /// The address is known to be wrong or not a person.
        Invalid = "invalid",
        /// Added by hand for another reason (see the evidence).
        Manual = "manual",
    }
}

impl Reason {
    /// How strong a reason is; a re-add with a stronger reason upgrades the entry, a weaker one
    /// never downgrades it. Legal demands and complaints outrank a hard bounce, which outranks
    /// an opt-out.
    pub fn strength(self) -> u8 {
        match self {
            Reason::Legal => 7,
            Reason::Complaint => 6,
            Reason::HardBounce => 5,
            Reason::Unsubscribe => 4,
            Reason::NotInterested => 3,
            Reason::Manual => 2,
            Reason::Invalid => 1,
        }
    }

    /// Whether a sender group may be exempted from this reason. Hard bounces, complaints and
    /// legal demands bind every sender, operational mail included.
    pub fn is_exemptable(self) -> bool {
        !matches!(self, Reason::HardBounce | Reason::Complaint | Reason::Legal)
    }
}

named_enum! {
    /// What a unix user may do through the admin socket; each role includes the ones before it.
    pub enum Role {
        /// Add suppressions, check, scrub, read.
        Sdr = "sdr",
        /// Also request lifts and import lists.
        Manager = "manager",
        /// Also approve or deny lifts.
        Ops = "ops",
        /// Everything (root always has it).
        Admin = "admin",
    }
}

named_enum! {
    /// Through which channel the opt-out reached us.
    pub enum Source {
        /// A reply to one of our messages.
        Reply = "reply",
        /// An unsubscribe link.
        Link = "link",
        /// A web form.
        Form = "form",
        /// A phone call.
        Call = "call",
        /// In person at an event.
        Event = "event",
        /// A partner or data provider.
        Partner = "partner",
        /// The support desk.
        Support = "support",
        /// A bulk import.
        Import = "import",
        /// A bounce message (DSN).
        Bounce = "bounce",
        /// A feedback-loop complaint report.
        Fbl = "fbl",
        /// An operator with the admin CLI.
        Admin = "admin",
    }
}

/// Who did something: the unix user behind the admin socket, or the relay itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Unix user name (or `uid:N` when the uid has no name), or `dnc-relay` for the relay.
    pub user: String,
    /// Numeric uid, when the actor is a unix user.
    pub uid: Option<u32>,
    /// The role the user acted in; `None` for the relay itself.
    pub role: Option<Role>,
}

impl Actor {
    /// The relay acting on its own (bounces, expiry).
    pub fn system() -> Actor {
        Actor {
            user: "dnc-relay".into(),
            uid: None,
            role: None,
        }
    }

    /// Whether two actors are the same person: same uid, or else the same name, a console
    /// user `console:NAME` being the unix user `NAME` (so a lift requested on the socket
    /// cannot be approved by the same person on the console, nor the other way round).
    pub fn same_person(&self, other: &Actor) -> bool {
        match (self.uid, other.uid) {
            (Some(a), Some(b)) => a == b,
            _ => self.person() == other.person(),
        }
    }

    /// The name of the person behind the actor (`console:` taken off).
    fn person(&self) -> &str {
        self.user.strip_prefix("console:").unwrap_or(&self.user)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.role {
            Some(role) => write!(f, "{} ({role})", self.user),
            None => f.write_str(&self.user),
        }
    }
}

named_enum! {
    /// Which matching rule found an entry for a recipient.
    pub enum Rule {
        /// The normalised address itself is on the list.
        Address = "address",
        /// The address without its `+tag` is on the list.
        PlusTag = "plus-tag",
        /// A Google address that differs only in dots (or gmail/googlemail) is on the list.
        GmailDots = "gmail-dots",
        /// The recipient's domain is on the list.
        Domain = "domain",
        /// A parent of the recipient's domain is on the list.
        ParentDomain = "parent-domain",
        /// The phone number is on the list.
        Phone = "phone",
    }
}

/// The units (brands, business units) whose senders an entry binds; none means every
/// sender. Text is read in one place ([`Units::parse`]); stored and sent as a list of names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Units(Vec<String>);

impl Units {
    /// Every sender.
    pub fn all() -> Units {
        Units(Vec::new())
    }

    /// The units written as `all`, nothing, or names separated by commas, in one or more
    /// parts (`--scope a --scope b,c`). `all` anywhere means every sender; names are trimmed
    /// and each kept once, in order.
    pub fn parse<S: AsRef<str>>(parts: impl IntoIterator<Item = S>) -> Units {
        let mut names: Vec<String> = Vec::new();
        for part in parts {
            for name in part.as_ref().split(',').map(str::trim) {
                if name.eq_ignore_ascii_case("all") {
                    return Units::all();
                }
                if !name.is_empty() && !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        Units(names)
    }

    /// Whether it binds every sender.
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    /// The unit names (empty for every sender).
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether it binds senders of `unit` (`None`: a sender in no unit).
    pub fn binds(&self, unit: Option<&str>) -> bool {
        self.is_all() || unit.is_some_and(|u| self.0.iter().any(|e| e == u))
    }

    /// Takes in `other`: the wider of the two (every sender wins; names are joined).
    pub fn widen(&mut self, other: &Units) {
        if self.is_all() {
            return;
        }
        if other.is_all() {
            self.0.clear();
            return;
        }
        for u in &other.0 {
            if !self.0.contains(u) {
                self.0.push(u.clone());
            }
        }
    }
}

impl fmt::Display for Units {
    /// `all`, or the names joined with commas (what [`Units::parse`] reads back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            f.write_str("all")
        } else {
            f.write_str(&self.0.join(","))
        }
    }
}

/// One suppression: a target that must not be mailed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The target as added, normalised (`alice@example.com` or `@example.com`).
    pub target: String,
    /// Why the target is suppressed.
    pub reason: Reason,
    /// Through which channel the opt-out came.
    pub source: Source,
    /// Free text proving the opt-out (the reply, the ticket, the file name).
    pub evidence: String,
    /// Who added it.
    pub actor: Actor,
    /// When it was added.
    pub added_at: Timestamp,
    /// The id of the event that added it.
    pub event_id: u64,
    /// The units (brands, business units) whose senders it binds.
    pub units: Units,
}

impl Entry {
    /// Whether the entry binds senders of `unit` (`None`: a sender in no unit).
    pub fn applies_to(&self, unit: Option<&str>) -> bool {
        self.units.binds(unit)
    }

    /// Takes in a re-add: the stronger reason (with its source and evidence) and the wider
    /// scope win; the first time and actor stay. Never weakens the entry.
    pub fn absorb(&mut self, reason: Reason, source: Source, evidence: &str, units: &Units) {
        if reason.strength() > self.reason.strength() {
            self.reason = reason;
            self.source = source;
            self.evidence = evidence.to_string();
        }
        self.units.widen(units);
    }

    /// `all`, or the units joined with commas.
    pub fn scope(&self) -> String {
        self.units.to_string()
    }
}

/// Whose contact or account a lock reserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockKind {
    /// One contact (a recipient address).
    Contact,
    /// A whole account (a recipient domain or a group of domains).
    Account,
}

/// An ownership lock: while it holds, only its owner's senders may mail the contact (or the
/// account, as configured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Contact or account.
    pub kind: LockKind,
    /// The contact's normalised address, or `@account`.
    pub target: String,
    /// The owner's name (a configured owner, or the sender's mailbox).
    pub owner: String,
    /// The owner's team, if configured.
    pub team: Option<String>,
    /// When the owner first took it (or was given it).
    pub since: Timestamp,
    /// When it ends unless renewed by another send from the owner.
    pub expires: Timestamp,
    /// Under review: until a decision, only the owner may send, whatever the mode.
    pub review: Option<Review>,
}

/// A review of a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Who opened it.
    pub by: Actor,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub note: String,
}

/// One recipient the relay relayed or refused, kept for audits (the send records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When.
    pub at: Timestamp,
    /// The SMTP session.
    pub session: String,
    /// The client address.
    pub client: String,
    /// The envelope sender as sent.
    pub from: String,
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The recipient as sent.
    pub rcpt: String,
    /// The owner the sender counts as (locks), if locks applied.
    pub owner: Option<String>,
    /// What happened.
    pub outcome: AttemptOutcome,
}

/// What happened to an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// The upstream accepted the message for this recipient.
    Relayed {
        /// The Message-ID header.
        message_id: Option<String>,
        /// The upstream's reply.
        upstream: String,
        /// The sender group whose exemption let it through, if one did.
        exemption: Option<String>,
    },
    /// Another owner's lock refused the recipient at RCPT.
    Locked {
        /// The contact or `@account` locked.
        target: String,
        /// Its owner.
        owner: String,
    },
    /// The policy refused the recipient at RCPT.
    Refused {
        /// The entry that matched.
        target: String,
        /// How it matched.
        rule: Rule,
        /// The entry's reason.
        reason: Reason,
    },
    /// The relay refused the recipient at RCPT before the policy could look at it (its
    /// syntax, a parameter, a non-ASCII address without SMTPUTF8).
    Rejected {
        /// The reply the client got, e.g. `553 5.6.7 non-ASCII address needs ...`.
        reply: String,
    },
}

/// What happened, in the append-only history.
///
/// In JSON an event is one flat object, `{"id", "at", "actor", "kind": "suppressed", ...the
/// fields of the kind}`; in the store it is a compact postcard tuple (see [`Event`]'s serde).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A new suppression entry was created.
    Suppressed {
        /// The normalised target.
        target: String,
        /// Why.
        reason: Reason,
        /// Through which channel.
        source: Source,
        /// The proof.
        evidence: String,
        /// The units it binds.
        units: Units,
    },
    /// A target that was already suppressed was added again. The entry keeps its first time;
    /// it takes the stronger reason and the wider scope of the two, never a weaker one.
    Readded {
        /// The normalised target.
        target: String,
        /// The reason given this time.
        reason: Reason,
        /// The channel given this time.
        source: Source,
        /// The proof given this time.
        evidence: String,
        /// The units given this time.
        units: Units,
    },
    /// Someone asked for the entry to be lifted. The block stays in force.
    LiftRequested {
        /// The lift request's id.
        lift: u64,
        /// The normalised target.
        target: String,
        /// The written proof that the contact wants mail again.
        proof: String,
    },
    /// A second person approved the lift: the entry was removed.
    LiftApproved {
        /// The lift request's id.
        lift: u64,
        /// The normalised target.
        target: String,
    },
    /// The lift was denied (or withdrawn by its requester); the entry stays.
    LiftDenied {
        /// The lift request's id.
        lift: u64,
        /// The normalised target.
        target: String,
        /// Why.
        why: String,
    },
    /// A lead list was checked against the list (nothing was changed).
    Scrubbed {
        /// The file name as given.
        file: String,
        /// Rows with an address.
        rows: u64,
        /// Rows that were on the list.
        blocked: u64,
        /// Rows whose address was malformed.
        invalid: u64,
    },
    /// An owner took a lock with a relayed message.
    LockTaken {
        /// The contact or `@account`.
        target: String,
        /// The owner.
        owner: String,
    },
    /// A lock was put under review.
    LockReviewed {
        /// The contact or `@account`.
        target: String,
        /// The owner at the time.
        owner: String,
        /// Why.
        note: String,
    },
    /// A review was decided: the lock belongs to `owner`.
    LockDecided {
        /// The contact or `@account`.
        target: String,
        /// The owner decided on.
        owner: String,
        /// Why.
        note: String,
    },
    /// A lock was given to another owner.
    LockTransferred {
        /// The contact or `@account`.
        target: String,
        /// The previous owner.
        from: String,
        /// The new owner.
        to: String,
        /// Why.
        note: String,
    },
    /// A lock ended before its expiry: released by a manager, or by a suppression or hard
    /// bounce of the contact.
    LockReleased {
        /// The contact or `@account`.
        target: String,
        /// The owner it had.
        owner: String,
        /// Why.
        note: String,
    },
    /// Domains were grouped into one account for account locks.
    AccountGrouped {
        /// The account.
        account: String,
        /// Its domains.
        domains: Vec<String>,
    },
    /// A file of suppressions was imported (each row also has its own event).
    Imported {
        /// The file name as given.
        file: String,
        /// The format detected: an [`ImportFormat`]'s name. Kept as text in history, so that
        /// an event stays readable whatever formats a later version adds or drops.
        format: String,
        /// Rows imported.
        rows: u64,
        /// Rows that created a new entry.
        added: u64,
        /// Rows whose target was already on the list.
        already: u64,
        /// Rows skipped as malformed (`--skip-invalid`).
        skipped: u64,
    },
    /// A feedback message named the target: a bounce, a complaint, a reply.
    Feedback {
        /// The feedback record's id.
        feedback: u64,
        /// The target.
        target: String,
        /// What the message was (not `kind`: that names the event in JSON).
        message_kind: feedback::Kind,
        /// For replies: what it asked.
        class: Option<feedback::Class>,
        /// What was done about the target.
        action: feedback::ActionKind,
        /// Why.
        why: String,
    },
    /// A person confirmed or dismissed a feedback review.
    FeedbackReviewed {
        /// The feedback record's id.
        feedback: u64,
        /// The target.
        target: String,
        /// Confirmed (suppressed) or dismissed.
        confirmed: bool,
        /// Why (for a dismissal).
        why: String,
    },
    /// Someone was told about the target by mail (queued in the outbox).
    Notified {
        /// The target.
        target: String,
        /// The address told.
        to: String,
        /// What the mail said, in one line.
        subject: String,
    },
    /// A bounce about the target came back through its return path and was forwarded to the
    /// original sender (queued in the outbox).
    BounceForwarded {
        /// The recipient the bounce is about.
        target: String,
        /// The original sender.
        to: String,
        /// The bounce's feedback record.
        feedback: u64,
    },
    /// A contact's consent for a purpose was recorded (replacing an earlier one).
    ConsentGiven {
        /// The contact's match key.
        target: String,
        /// The purpose.
        purpose: String,
        /// The channel.
        channel: consent::Channel,
        /// The proof.
        proof: String,
        /// Confirmed by answering a mail.
        double_opt_in: bool,
        /// When the contact consented.
        given_at: Timestamp,
    },
    /// A contact's consent for a purpose was withdrawn.
    ConsentWithdrawn {
        /// The contact's match key.
        target: String,
        /// The purpose.
        purpose: String,
        /// Why.
        why: String,
    },
    /// A contact was erased: its records keep only the hashed key; its block stays.
    Erased {
        /// The hashed key.
        target: String,
        /// The request's proof (the ticket), with the address taken out.
        proof: String,
    },
    /// A subcontractor was given a token for the hashed feed.
    FeedSubscriberAdded {
        /// The subscriber.
        name: String,
    },
    /// A subcontractor's feed token was revoked.
    FeedSubscriberRevoked {
        /// The subscriber.
        name: String,
        /// Why.
        why: String,
    },
}

impl EventKind {
    /// The normalised target the event is about, if it is about one.
    pub fn target(&self) -> Option<&str> {
        match self {
            EventKind::Suppressed { target, .. }
            | EventKind::Readded { target, .. }
            | EventKind::LiftRequested { target, .. }
            | EventKind::LiftApproved { target, .. }
            | EventKind::LiftDenied { target, .. }
            | EventKind::LockTaken { target, .. }
            | EventKind::LockReviewed { target, .. }
            | EventKind::LockDecided { target, .. }
            | EventKind::LockTransferred { target, .. }
            | EventKind::LockReleased { target, .. }
            | EventKind::Feedback { target, .. }
            | EventKind::FeedbackReviewed { target, .. }
            | EventKind::Notified { target, .. }
            | EventKind::BounceForwarded { target, .. }
            | EventKind::ConsentGiven { target, .. }
            | EventKind::ConsentWithdrawn { target, .. }
            | EventKind::Erased { target, .. } => Some(target),
            EventKind::Scrubbed { .. }
            | EventKind::Imported { .. }
            | EventKind::AccountGrouped { .. }
            | EventKind::FeedSubscriberAdded { .. }
            | EventKind::FeedSubscriberRevoked { .. } => None,
        }
    }
}

impl EventKind {
    /// Takes the contact out of an event of its history (an erasure): its target becomes the
    /// hashed key, and the free text that may name or quote it (evidence, proof, notes, the
    /// reason given, a mail's subject) is emptied. The kind, reasons, dates and actors stay.
    pub fn redact(&mut self, hashed: &str) {
        let h = || hashed.to_string();
        match self {
            EventKind::Suppressed {
                target, evidence, ..
            }
            | EventKind::Readded {
                target, evidence, ..
            } => {
                *target = h();
                evidence.clear();
            }
            EventKind::LiftRequested { target, proof, .. }
            | EventKind::ConsentGiven { target, proof, .. }
            | EventKind::Erased { target, proof } => {
                *target = h();
                proof.clear();
            }
            EventKind::LiftDenied { target, why, .. }
            | EventKind::Feedback { target, why, .. }
            | EventKind::FeedbackReviewed { target, why, .. }
            | EventKind::ConsentWithdrawn { target, why, .. } => {
                *target = h();
                why.clear();
            }
            EventKind::LockReviewed { target, note, .. }
            | EventKind::LockDecided { target, note, .. }
            | EventKind::LockTransferred { target, note, .. }
            | EventKind::LockReleased { target, note, .. } => {
                *target = h();
                note.clear();
            }
            EventKind::Notified {
                target, subject, ..
            } => {
                *target = h();
                subject.clear();
            }
            EventKind::LiftApproved { target, .. }
            | EventKind::LockTaken { target, .. }
            | EventKind::BounceForwarded { target, .. } => *target = h(),
            EventKind::Scrubbed { .. }
            | EventKind::Imported { .. }
            | EventKind::AccountGrouped { .. }
            | EventKind::FeedSubscriberAdded { .. }
            | EventKind::FeedSubscriberRevoked { .. } => {}
        }
    }
}

/// One entry of the append-only history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Monotonic id, starting at 1; never reused.
    pub id: u64,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return (self.id, self.at, &self.actor, &self.kind).serialize(s);
        }
        use serde::ser::Error;
        let mut map = serde_json::Map::new();
        map.insert("id".into(), self.id.into());
        map.insert(
            "at".into(),
            serde_json::to_value(self.at).map_err(S::Error::custom)?,
        );
        map.insert(
            "actor".into(),
            serde_json::to_value(&self.actor).map_err(S::Error::custom)?,
        );
        // Externally tagged `{"name": {fields}}` becomes `"kind": "name"` plus the fields.
        match serde_json::to_value(&self.kind).map_err(S::Error::custom)? {
            serde_json::Value::Object(tagged) => {
                for (name, fields) in tagged {
                    map.insert("kind".into(), name.into());
                    if let serde_json::Value::Object(fields) = fields {
                        map.extend(fields);
                    }
                }
            }
            name => {
                map.insert("kind".into(), name);
            }
        }
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !d.is_human_readable() {
            let (id, at, actor, kind) = <(u64, Timestamp, Actor, EventKind)>::deserialize(d)?;
            return Ok(Event {
                id,
                at,
                actor,
                kind,
            });
        }
        use serde::de::Error;
        let mut map = serde_json::Map::deserialize(d)?;
        let mut take = |key: &str| {
            map.remove(key)
                .ok_or_else(|| D::Error::missing_field_owned(key))
        };
        let id = serde_json::from_value(take("id")?).map_err(D::Error::custom)?;
        let at = serde_json::from_value(take("at")?).map_err(D::Error::custom)?;
        let actor = serde_json::from_value(take("actor")?).map_err(D::Error::custom)?;
        let name = take("kind")?;
        let tagged = serde_json::json!({ name.as_str().unwrap_or_default(): map });
        let kind = serde_json::from_value(tagged).map_err(D::Error::custom)?;
        Ok(Event {
            id,
            at,
            actor,
            kind,
        })
    }
}

/// `Error::missing_field` wants a `&'static str`; event keys are known but borrowed.
trait MissingOwned: serde::de::Error {
    fn missing_field_owned(key: &str) -> Self {
        Self::custom(format!("missing field `{key}`"))
    }
}

impl<E: serde::de::Error> MissingOwned for E {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_user_and_the_unix_user_of_the_same_name_are_one_person() {
        let actor = |user: &str, uid| Actor {
            user: user.into(),
            uid,
            role: Some(Role::Ops),
        };
        assert!(actor("ann", Some(1001)).same_person(&actor("console:ann", None)));
        assert!(actor("console:ann", None).same_person(&actor("ann", Some(1001))));
        assert!(!actor("console:ann", None).same_person(&actor("console:olga", None)));
        assert!(!actor("ann", Some(1001)).same_person(&actor("ann", Some(1002))));
    }

    #[test]
    fn units_are_read_from_text_in_one_way() {
        let names = |u: &Units| u.names().to_vec();
        assert!(Units::parse([""]).is_all());
        assert!(Units::parse(["all"]).is_all());
        assert!(Units::parse(["acme", "ALL"]).is_all());
        let u = Units::parse([" acme , globex", "acme", ","]);
        assert_eq!(names(&u), ["acme", "globex"]);
        assert_eq!(u.to_string(), "acme,globex");
        assert_eq!(Units::parse([u.to_string()]), u);
        assert_eq!(Units::all().to_string(), "all");
        assert!(u.binds(Some("globex")) && !u.binds(Some("initech")) && !u.binds(None));
        assert!(Units::all().binds(None));
    }

    #[test]
    fn units_widen_and_never_narrow() {
        let mut u = Units::parse(["acme"]);
        u.widen(&Units::parse(["globex", "acme"]));
        assert_eq!(u.names(), ["acme", "globex"]);
        u.widen(&Units::all());
        assert!(u.is_all());
        u.widen(&Units::parse(["acme"]));
        assert!(u.is_all(), "every sender stays every sender");
    }

    #[test]
    fn timestamp_is_rfc3339_in_json_and_an_integer_in_postcard() {
        let t = Timestamp::parse_rfc3339("2026-11-23T10:05:00Z").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-23T10:05:00.000000Z\""
        );
        let bytes = postcard::to_stdvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Timestamp>(&bytes).unwrap(), t);
        let back: Timestamp = serde_json::from_str("\"2026-11-23T10:05:00.000000Z\"").unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn events_are_flat_in_json_and_round_trip_in_both_encodings() {
        let event = Event {
            id: 7,
            at: Timestamp(42),
            actor: Actor::system(),
            kind: EventKind::Readded {
                target: "a@example.com".into(),
                reason: Reason::Complaint,
                source: Source::Fbl,
                evidence: "report".into(),
                units: Units::all(),
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "readded");
        assert_eq!(json["target"], "a@example.com");
        assert_eq!(json["reason"], "complaint");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
        let bytes = postcard::to_stdvec(&event).unwrap();
        assert!(
            bytes.len() < 48,
            "compact in the store: {} bytes",
            bytes.len()
        );
        assert_eq!(postcard::from_bytes::<Event>(&bytes).unwrap(), event);
    }

    #[test]
    fn reasons_parse_in_any_case_and_with_underscores() {
        assert_eq!("Hard-Bounce".parse::<Reason>().unwrap(), Reason::HardBounce);
        assert_eq!(
            "not_interested".parse::<Reason>().unwrap(),
            Reason::NotInterested
        );
        let err = "stop".parse::<Reason>().unwrap_err();
        assert!(err.contains("unsubscribe"), "{err}");
    }
}
