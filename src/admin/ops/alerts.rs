//! Alerts on the record: what the rules raised and where each was delivered.

use serde::{Deserialize, Serialize};

use crate::admin::context::{Cx, Denied};
use crate::model::alert::Alert;

/// The alerts, newest first. Answered with [`AlertsPage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsList {
    /// At most this many.
    pub limit: usize,
}

/// Alerts, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsPage {
    /// The alerts.
    pub alerts: Vec<Alert>,
}

/// Serves [`AlertsList`].
pub fn list(op: AlertsList, cx: &mut Cx<'_>) -> Result<AlertsPage, Denied> {
    let limit = op.limit.clamp(1, 10_000);
    Ok(AlertsPage {
        alerts: cx.h.store.alerts(u64::MAX, limit)?,
    })
}
