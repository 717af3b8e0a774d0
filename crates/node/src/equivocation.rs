//! Equivocation evidence in the node: every pair the aggregator reports (one operator, two
//! valid signatures on different responses of one task) is stored in a bounded log, counted in
//! a metric, and listed to admins by `ClientService/ListEquivocations`.

use quorate_api::{pb, EquivocationQuery};
use quorate_runtime::EquivocationEvidence;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tracing::warn;

use crate::auth::{Caller, Role};
use crate::error::NodeError;
use crate::record::now_ms;
use crate::state::{off_async, NodeState};

/// One stored piece of evidence (JSON value of the `equivocations` table). Byte fields are
/// hex: digests 32 bytes, signatures 64 (contract G1 encoding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationRecord {
    /// The task both signatures are for.
    pub task_id: String,
    /// The operator that signed both.
    pub operator_id: String,
    /// The digest whose signature was counted.
    pub first_digest: String,
    /// The counted signature.
    pub first_signature: String,
    /// The conflicting digest.
    pub second_digest: String,
    /// The valid signature over it, refused as a second response.
    pub second_signature: String,
    /// When the node stored it (Unix ms).
    pub recorded_at_ms: u64,
}

impl EquivocationRecord {
    /// The record of runtime evidence received at `now`.
    pub fn new(e: &EquivocationEvidence, now: u64) -> Self {
        Self {
            task_id: hex::encode(e.task_id.as_bytes()),
            operator_id: hex::encode(e.operator_id.as_bytes()),
            first_digest: hex::encode(e.first_digest.as_bytes()),
            first_signature: hex::encode(e.first_signature.to_bytes()),
            second_digest: hex::encode(e.second_digest.as_bytes()),
            second_signature: hex::encode(e.second_signature.to_bytes()),
            recorded_at_ms: now,
        }
    }

    /// The wire form; a field that is not hex (never written so) comes out empty.
    pub fn to_wire(&self, seq: u64) -> pb::Equivocation {
        let bytes = |s: &str| hex::decode(s).unwrap_or_default();
        pb::Equivocation {
            seq,
            task_id: bytes(&self.task_id),
            operator_id: bytes(&self.operator_id),
            first_digest: bytes(&self.first_digest),
            first_signature: bytes(&self.first_signature),
            second_digest: bytes(&self.second_digest),
            second_signature: bytes(&self.second_signature),
            recorded_at_ms: self.recorded_at_ms,
        }
    }
}

/// Stores the aggregator's evidence as it comes, keeping at most `max` records. Started
/// before recovery replays stored signatures, so nothing reported at start is missed.
pub fn spawn_recorder(state: NodeState, max: u64) {
    let mut evidence = state.core.subscribe_evidence();
    tokio::spawn(async move {
        loop {
            let e = match evidence.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(lost)) => {
                    crate::metrics::equivocations_lost(lost);
                    warn!(
                        lost,
                        "equivocation evidence arrived faster than it was stored"
                    );
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let (task_id, operator_id) = (e.task_id, e.operator_id);
            warn!(%task_id, %operator_id, "operator signed two different responses of one task");
            let stored = serde_json::to_vec(&EquivocationRecord::new(&e, now_ms()))
                .map_err(|e| NodeError::InvalidArgument(e.to_string()));
            let store = state.store.clone();
            let result = match stored {
                Ok(json) => off_async(move || store.put_equivocation(&json, max)).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(_) => crate::metrics::equivocation_stored(),
                Err(err) => {
                    warn!(%task_id, %operator_id, error = %err, "could not store equivocation evidence")
                }
            }
        }
    });
}

/// `ListEquivocations`: admins only, checked before anything is read.
pub async fn list(
    state: &NodeState,
    caller: &Caller,
    request: &pb::ListEquivocationsRequest,
) -> Result<pb::ListEquivocationsResponse, NodeError> {
    if caller.role != Role::Admin {
        return Err(NodeError::PermissionDenied(format!(
            "{} may not list equivocation evidence (admins only)",
            caller.name
        )));
    }
    let query = EquivocationQuery::decode(request)?;
    let store = state.store.clone();
    let limit = query.limit as usize;
    let page = off_async(move || store.equivocations_after(query.after, limit)).await?;
    let next_page_token = match page.last() {
        Some((seq, _)) if page.len() == limit => seq.to_string(),
        _ => String::new(),
    };
    let equivocations = page
        .into_iter()
        .filter_map(|(seq, json)| {
            serde_json::from_slice::<EquivocationRecord>(&json)
                .ok()
                .map(|r| r.to_wire(seq))
        })
        .collect();
    Ok(pb::ListEquivocationsResponse {
        equivocations,
        next_page_token,
    })
}
