//! Operator authentication: a fresh BLS signature over a challenge, checked against the key
//! the operator registered in the registry.

use std::sync::Arc;

use quorate_api::OperatorProof;
use quorate_bls::Bn254Scheme;
use quorate_domain::{OperatorId, OperatorRegistry, QuorumNumber, ResponseDigest, SignatureScheme};
use sha3::{Digest, Keccak256};

use crate::node::chain::DynRegistry;
use crate::node::error::NodeError;
use crate::node::record::now_ms;

/// How far `issued_at_ms` may be from now.
const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// The digest an operator signs to authenticate at `issued_at_ms`.
pub fn challenge(operator_id: &OperatorId, issued_at_ms: u64) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(b"quorate-operator-auth");
    h.update(operator_id.as_bytes());
    h.update(issued_at_ms.to_be_bytes());
    h.finalize().into()
}

/// Checks operator proofs against the registry at the node's reference block.
pub struct OperatorAuth {
    /// The registry operators are registered in.
    pub registry: Arc<DynRegistry>,
    /// The block whose operator set counts.
    pub block: u64,
    /// The quorums an operator must be in (any of them).
    pub quorums: Vec<QuorumNumber>,
}

impl OperatorAuth {
    /// `Ok` when the proof's signature is the registered operator's fresh signature of the
    /// challenge.
    pub async fn check(&self, proof: &OperatorProof) -> Result<(), NodeError> {
        let OperatorProof {
            operator_id,
            issued_at_ms,
            signature: sig,
        } = proof;
        let (operator_id, issued_at_ms) = (operator_id, *issued_at_ms);
        let now = now_ms();
        if now.abs_diff(issued_at_ms) > MAX_SKEW_MS {
            return Err(NodeError::Unauthenticated(format!(
                "operator {operator_id}: auth proof issued at {issued_at_ms} is stale (now {now})"
            )));
        }
        let state = self
            .registry
            .operator_state(self.block, &self.quorums)
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))?;
        let info = state.operators.get(operator_id).ok_or_else(|| {
            NodeError::PermissionDenied(format!(
                "operator {operator_id} is not registered at block {}",
                self.block
            ))
        })?;
        let scheme = Bn254Scheme;
        let message = scheme.hash_to_g1(&ResponseDigest::new(challenge(operator_id, issued_at_ms)));
        if !scheme.verify(&message, sig, &info.pubkey_g2) {
            return Err(NodeError::Unauthenticated(format!(
                "operator {operator_id}: auth signature does not verify"
            )));
        }
        Ok(())
    }
}
