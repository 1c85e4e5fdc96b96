//! Lifting an entry takes two people: a request with written proof (manager and above), then
//! an approval by someone else with the ops role or above. A denial is for ops and above, or
//! for the requester withdrawing their own request.

use serde::{Deserialize, Serialize};

use crate::admin::context::{parse_target, require, required_text, Cx, Denied};
use crate::model::{Actor, Role, Timestamp};
use crate::store::Lift;

/// Ask for an entry to be lifted (manager and above). Answered with [`LiftState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    /// The entry's target.
    pub target: String,
    /// Written proof that the contact wants mail again.
    pub proof: String,
}

/// Approve a lift (ops and above, not the requester). Answered with [`LiftState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftApprove {
    /// The request's id.
    pub id: u64,
}

/// Deny a lift (ops and above, or the requester withdrawing it). Answered with [`LiftState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftDeny {
    /// The request's id.
    pub id: u64,
    /// Why.
    pub why: String,
}

/// A lift request as it now stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftState {
    /// The request.
    pub lift: Lift,
}

/// Lift requests. Answered with [`Lifts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftList {
    /// Only the pending ones.
    #[serde(default)]
    pub pending: bool,
    /// Only those requested or decided in the last this many days.
    #[serde(default)]
    pub days: Option<u32>,
}

/// Answer to [`LiftList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifts {
    /// Oldest first.
    pub lifts: Vec<Lift>,
}

/// Serves [`LiftRequest`].
pub async fn request(op: LiftRequest, cx: &mut Cx<'_>) -> Result<LiftState, Denied> {
    let proof = required_text("proof", op.proof, "a lift needs written proof (--proof)")?;
    let target = parse_target(&op.target)?;
    let lift =
        cx.h.store
            .request_lift(target, proof, cx.actor.clone())
            .await??;
    tracing::info!(actor = %cx.actor, lift = lift.id, target = %lift.target, "lift requested");
    Ok(LiftState { lift })
}

/// Serves [`LiftApprove`] (the store refuses the requester approving their own request).
pub async fn approve(op: LiftApprove, cx: &mut Cx<'_>) -> Result<LiftState, Denied> {
    let lift =
        cx.h.store
            .decide_lift(op.id, true, None, cx.actor.clone())
            .await??;
    tracing::warn!(actor = %cx.actor, lift = lift.id, target = %lift.target, "lift approved: entry removed");
    Ok(LiftState { lift })
}

/// Serves [`LiftDeny`].
pub async fn deny_lift(op: LiftDeny, cx: &mut Cx<'_>) -> Result<LiftState, Denied> {
    let why = required_text("why", op.why, "a denial needs a reason (--why)")?;
    let lifts = cx.h.store.lifts()?;
    may_deny(&cx.actor, lifts.iter().find(|l| l.id == op.id))?;
    let lift =
        cx.h.store
            .decide_lift(op.id, false, Some(why), cx.actor.clone())
            .await??;
    Ok(LiftState { lift })
}

/// Who may deny a lift: ops and above, or its requester withdrawing it.
fn may_deny(actor: &Actor, lift: Option<&Lift>) -> Result<(), Denied> {
    if lift.is_some_and(|l| l.requested_by.same_person(actor)) {
        return Ok(());
    }
    require(actor, Role::Ops, "denying someone else's lift")
}

/// Serves [`LiftList`].
pub fn list(op: LiftList, cx: &mut Cx<'_>) -> Result<Lifts, Denied> {
    let since = op
        .days
        .map(|d| Timestamp::now().minus(std::time::Duration::from_secs(u64::from(d) * 86_400)));
    let lifts =
        cx.h.store
            .lifts()?
            .into_iter()
            .filter(|l| !op.pending || l.decision.is_none())
            .filter(|l| {
                since.is_none_or(|s| {
                    l.requested_at >= s || l.decision.as_ref().is_some_and(|d| d.at >= s)
                })
            })
            .collect();
    Ok(Lifts { lifts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Actor;

    fn actor(user: &str, role: Role) -> Actor {
        Actor {
            user: user.into(),
            uid: None,
            role: Some(role),
        }
    }

    fn lift_by(requester: Actor) -> Lift {
        Lift {
            id: 1,
            target: "a@example.com".into(),
            key: "a@example.com".into(),
            proof: "p".into(),
            requested_by: requester,
            requested_at: Timestamp(0),
            request_event: 1,
            decision: None,
        }
    }

    #[test]
    fn the_requester_or_ops_may_deny_and_no_other_manager() {
        let maria = actor("maria", Role::Manager);
        let lift = lift_by(maria.clone());
        assert!(may_deny(&maria, Some(&lift)).is_ok(), "withdrawing");
        assert!(may_deny(&actor("olga", Role::Ops), Some(&lift)).is_ok());
        let other = may_deny(&actor("max", Role::Manager), Some(&lift)).unwrap_err();
        assert_eq!(other.code, crate::admin::ErrorCode::Forbidden);
        assert!(may_deny(&actor("max", Role::Manager), None).is_err());
    }
}
