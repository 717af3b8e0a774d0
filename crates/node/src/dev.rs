//! `--dev`: an in-memory registry of generated operators and simulated operators inside the
//! node, so tasks complete with nothing else running.

use std::collections::HashSet;
use std::sync::Arc;

use quorate_api::{pb, SignatureSubmission};
use quorate_bls::{Bn254Scheme, KeyPair};
use quorate_domain::OperatorId;
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::compute::{dev_key, dev_stakes, sign_response, ComputeFn};
use crate::record::{Status, TaskRecord};
use crate::state::NodeState;

/// Registers `count` dev operators (keys from `seed`) at `block`; returns their keys.
pub fn register_dev_operators(
    registry: &InMemoryRegistry<Bn254Scheme>,
    block: u64,
    seed: u64,
    count: u32,
) -> Result<Vec<KeyPair>, quorate_domain::RegistryError> {
    let keys: Vec<KeyPair> = (0..count).map(|i| dev_key(seed, i)).collect();
    let operators = keys
        .iter()
        .zip(0u32..)
        .map(|(k, i)| InMemoryOperator {
            pubkey_g1: *k.public_g1(),
            pubkey_g2: k.public_g2().clone(),
            stakes: dev_stakes(i),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    registry.set_operators(block, operators)?;
    Ok(keys)
}

/// Runs simulated operators with `keys` until `stop`: each signs every open task once.
pub fn spawn_simulated(state: NodeState, keys: Vec<KeyPair>, stop: CancellationToken) {
    let keys: Vec<(Arc<KeyPair>, OperatorId)> = keys
        .into_iter()
        .map(|k| {
            let id = k.operator_id();
            (Arc::new(k), id)
        })
        .collect();
    tokio::spawn(async move {
        let mut updates = state.subscribe();
        let mut seen = HashSet::new();
        if let Ok(open) = state.store.tasks_after(0, usize::MAX, |r: &TaskRecord| {
            r.status == Status::Collecting
        }) {
            for record in open {
                sign_all(&state, &keys, &record, &mut seen).await;
            }
        }
        loop {
            let record = tokio::select! {
                _ = stop.cancelled() => return,
                r = updates.recv() => match r {
                    Ok(r) => r,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            // Collecting, not pending: the node refuses (retryably) responses for tasks it
            // has not handed to the aggregator yet.
            if record.status == Status::Collecting {
                sign_all(&state, &keys, &record, &mut seen).await;
            } else if record.status.is_final() {
                // Never signed again: keeps `seen` as small as the set of open tasks.
                seen.remove(&record.task_id);
            }
        }
    });
}

async fn sign_all(
    state: &NodeState,
    keys: &[(Arc<KeyPair>, OperatorId)],
    record: &TaskRecord,
    seen: &mut HashSet<quorate_domain::TaskId>,
) {
    if !seen.insert(record.task_id) {
        return;
    }
    let response = ComputeFn::Echo.apply(&record.payload);
    for (key, id) in keys {
        let (digest, sig) = sign_response(key, &response);
        let (state, task_id, id) = (state.clone(), record.task_id, *id);
        // The same checks as an operator's request over gRPC.
        let wire = pb::SignedResponse {
            task_id: task_id.as_bytes().to_vec(),
            operator_id: id.as_bytes().to_vec(),
            digest: digest.to_vec(),
            signature: sig.to_vec(),
            response: response.clone(),
        };
        tokio::spawn(async move {
            let submitted = match SignatureSubmission::decode(wire, state.limits.max_response_bytes)
            {
                Ok(s) => state.submit_signature(s).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = submitted {
                debug!(%task_id, operator_id = %id, error = %e, "simulated operator refused");
            }
        });
    }
}
