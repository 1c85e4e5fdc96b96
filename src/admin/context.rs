//! What every admin operation's handler works with on the server side: the relay's services
//! ([`Handler`]), the caller and its connection ([`Cx`]), and the refusals ([`Denied`]) that
//! become error responses. The checks of input that several operations share live here too.

use std::collections::BTreeMap;

use super::proto::ErrorCode;
use crate::address::{Address, Target};
use crate::model::{Actor, Role, Units};
use crate::policy::Policy;
use crate::store::{Refusal, Store, StoreError};

/// Longest evidence, proof, note or file name accepted, in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

/// What the admin server works with.
pub struct Handler {
    /// The store (writes go through its writer).
    pub store: Store,
    /// The policy the SMTP sessions use, on the real store (replaced on reload).
    pub policy: std::sync::RwLock<Policy>,
    /// `[admin.roles]`: user name or uid -> role (replaced on reload).
    pub roles: std::sync::RwLock<BTreeMap<String, Role>>,
    /// Owners and lock settings (replaced on reload).
    pub locks: std::sync::RwLock<crate::locks::LockSettings>,
    /// The feedback classifier: its rules file and settings (replaced on reload).
    pub classifier: crate::feedback::inbox::SharedClassifier,
    /// A fleet relay's membership: whether its replica is current (answers from a replica
    /// that is not say so).
    pub cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
    /// The decision log (an erasure rewrites its lines about the contact).
    pub decisions: Option<crate::audit::DecisionLog>,
    /// A subcontractor's relay: its follower of the company's hashed feed.
    pub feed: Option<std::sync::Arc<crate::feed::Follower>>,
}

impl Handler {
    /// The policy in force now.
    pub fn policy(&self) -> Result<Policy, Denied> {
        self.policy
            .read()
            .map(|p| p.clone())
            .map_err(|_| deny(ErrorCode::StoreUnavailable, "policy unavailable"))
    }

    /// The lock settings in force now.
    pub fn lock_settings(&self) -> Result<crate::locks::LockSettings, Denied> {
        self.locks
            .read()
            .map(|l| l.clone())
            .map_err(|_| deny(ErrorCode::StoreUnavailable, "lock settings unavailable"))
    }

    /// The feedback classifier in force now.
    pub fn classifier(&self) -> Result<std::sync::Arc<crate::feedback::Classifier>, Denied> {
        self.classifier
            .read()
            .map(|c| c.clone())
            .map_err(|_| deny(ErrorCode::StoreUnavailable, "feedback rules unavailable"))
    }

    /// Why this relay's answers may be out of date: a fleet relay not current with the log,
    /// or a follower not current with its company's feed.
    pub fn not_current(&self) -> Option<String> {
        let fleet = self.cluster.as_ref().and_then(|c| c.gate.check().err());
        fleet.or_else(|| self.feed.as_ref().and_then(|f| f.gate.check().err()))
    }

    /// The units of the configured sender groups.
    pub fn known_units(&self) -> Vec<String> {
        self.policy
            .read()
            .map(|p| p.groups().units())
            .unwrap_or_default()
    }
}

/// An import staged on a connection and not yet committed. Dropped uncommitted (the CLI hit
/// a bad row, or went away), its staged rows are thrown away: nothing of it ever applied.
pub struct PendingImport {
    /// The store it is staged in.
    pub store: Store,
    /// Its id there.
    pub id: u64,
    /// Rows staged so far.
    pub rows: usize,
    /// Set once committed: then dropping it changes nothing.
    pub committed: bool,
}

impl PendingImport {
    /// A new, empty import.
    pub fn new(store: &Store) -> PendingImport {
        PendingImport {
            store: store.clone(),
            id: store.new_import(),
            rows: 0,
            committed: false,
        }
    }
}

impl Drop for PendingImport {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let (store, id) = (self.store.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.abort_import(id).await {
                    tracing::warn!(error = %e, "cannot drop an abandoned import's staged rows");
                }
            });
        }
    }
}

/// What one admin connection carries between requests.
pub struct Conn {
    /// Who is calling, with a role (checked on accept).
    pub actor: Actor,
    /// The import being staged on this connection, if any.
    pub import: Option<PendingImport>,
    /// Whether the send records and locks the relay queued before this connection's first
    /// read are committed (see [`Store::settle`]).
    pub settled: bool,
}

/// One request's context: the services, the caller and its connection.
pub struct Cx<'a> {
    /// The services.
    pub h: &'a Handler,
    /// The caller.
    pub actor: Actor,
    /// The connection's state.
    pub conn: &'a mut Conn,
}

/// A refused request, before it becomes an error response.
#[derive(Debug)]
pub struct Denied {
    /// The class of error (and so the CLI's exit code).
    pub code: ErrorCode,
    /// What went wrong, for a human.
    pub message: String,
}

/// A refusal.
pub fn deny(code: ErrorCode, message: impl Into<String>) -> Denied {
    Denied {
        code,
        message: message.into(),
    }
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Denied {
        deny(ErrorCode::StoreUnavailable, e.to_string())
    }
}

impl From<Refusal> for Denied {
    fn from(r: Refusal) -> Denied {
        let code = match r {
            Refusal::NotFound(_) => ErrorCode::NotFound,
            Refusal::Conflict(_) => ErrorCode::Conflict,
            Refusal::Forbidden(_) => ErrorCode::Forbidden,
        };
        deny(code, r.to_string())
    }
}

/// Refuses unless the actor has at least `role`.
pub fn require(actor: &Actor, role: Role, what: &str) -> Result<(), Denied> {
    match actor.role {
        Some(r) if r >= role => Ok(()),
        r => Err(deny(
            ErrorCode::Forbidden,
            format!(
                "{what} needs the {role} role or above; {} has {}",
                actor.user,
                r.map(|r| r.as_str()).unwrap_or("none")
            ),
        )),
    }
}

/// Refuses text longer than [`MAX_TEXT`].
pub fn text_limit(what: &str, text: &str) -> Result<(), Denied> {
    if text.len() > MAX_TEXT {
        return Err(deny(
            ErrorCode::BadRequest,
            format!("{what} is longer than {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

/// Text that must be given (proof, a reason for a denial, a note), within [`MAX_TEXT`].
/// `needs` says what the operation needs it for and which flag gives it.
pub fn required_text(what: &str, text: String, needs: &str) -> Result<String, Denied> {
    if text.trim().is_empty() {
        return Err(deny(ErrorCode::BadRequest, needs.to_string()));
    }
    text_limit(what, &text)?;
    Ok(text)
}

/// An address or `@domain` as given.
pub fn parse_target(target: &str) -> Result<Target, Denied> {
    Target::parse(target).map_err(|e| {
        deny(
            ErrorCode::BadRequest,
            format!("'{target}' is not a valid target (an address or @domain): {e}"),
        )
    })
}

/// An address as given.
pub fn parse_address(address: &str) -> Result<Address, Denied> {
    Address::parse(address).map_err(|e| {
        deny(
            ErrorCode::BadRequest,
            format!("'{address}' is not an address: {e}"),
        )
    })
}

/// A sender given to `check`/`scrub`: `None` for none, empty or `<>`.
pub fn parse_sender(from: Option<&str>) -> Result<Option<Address>, Denied> {
    match from.map(str::trim).filter(|f| !f.is_empty() && *f != "<>") {
        Some(f) => parse_address(f).map(Some),
        None => Ok(None),
    }
}

/// A scope as given, checked against the units of the configured sender groups: a unit no
/// group has would bind no sender, so a typo in `--scope` would suppress nobody. `all` (or
/// nothing) means every sender.
pub fn clean_units(units: Units, known: &[String]) -> Result<Units, Denied> {
    // As sent: normalised here, whoever built the list.
    let units = Units::parse(units.names());
    if let Some(u) = units.names().iter().find(|u| !known.contains(u)) {
        let known = if known.is_empty() {
            "no sender group has a unit".to_string()
        } else {
            format!("known units: {}", known.join(", "))
        };
        return Err(deny(
            ErrorCode::BadRequest,
            format!("'{u}' is not the unit of any sender group ({known}); nothing was changed"),
        ));
    }
    Ok(units)
}
