//! A submitter that applies `BLSSignatureChecker.checkSignatures` in memory and records what
//! it accepts: the on-chain oracle for tests without a chain.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::util::lock;
use quorate_domain::{
    OperatorRegistry, ResponseSubmitter, SignatureScheme, Stake, SubmissionReceipt,
    SubmissionRequest, SubmitError,
};

/// Checks each aggregate against a registry as the contract would, then records it.
pub struct InMemorySubmitter<S: SignatureScheme, R> {
    scheme: Arc<S>,
    registry: Arc<R>,
    accepted: Mutex<Vec<SubmissionRequest>>,
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> InMemorySubmitter<S, R> {
    /// A submitter checking against `registry`.
    pub fn new(scheme: Arc<S>, registry: Arc<R>) -> Self {
        Self {
            scheme,
            registry,
            accepted: Mutex::new(Vec::new()),
        }
    }

    /// Every accepted submission, in order.
    pub fn accepted(&self) -> Vec<SubmissionRequest> {
        lock(&self.accepted).clone()
    }

    /// The checker's logic. Returns the signed stake per quorum, or why it would revert.
    pub async fn check(&self, request: &SubmissionRequest) -> Result<Vec<Stake>, String> {
        let a = &request.aggregate;
        let scheme = &*self.scheme;
        let quorums = &a.quorum_numbers;
        if quorums.is_empty() || quorums.windows(2).any(|w| w[0] >= w[1]) {
            return Err("quorum numbers must be non-empty and ascending".into());
        }
        let n = a.non_signer_pubkeys_g1.len();
        let idx = &a.indices;
        if a.quorum_apks_g1.len() != quorums.len()
            || idx.quorum_apk_indices.len() != quorums.len()
            || idx.total_stake_indices.len() != quorums.len()
            || idx.non_signer_stake_indices.len() != quorums.len()
            || idx.non_signer_quorum_bitmap_indices.len() != n
        {
            return Err("InputArrayLengthMismatch".into());
        }
        let state = self
            .registry
            .operator_state(a.reference_block, quorums)
            .await
            .map_err(|e| format!("registry: {e}"))?;
        let mut apk_terms = Vec::with_capacity(quorums.len() + n);
        let mut signed = Vec::with_capacity(quorums.len());
        for (i, q) in quorums.iter().enumerate() {
            let qs = state
                .quorum(*q)
                .ok_or_else(|| format!("quorum {q} missing"))?;
            if a.quorum_apks_g1.get(i) != Some(&scheme.encode_g1(&qs.apk)) {
                return Err(format!("InvalidQuorumApkHash (quorum {q})"));
            }
            apk_terms.push((qs.apk.clone(), 1i64));
            signed.push(qs.total_stake);
        }
        let mut previous = None;
        for (i, encoded) in a.non_signer_pubkeys_g1.iter().enumerate() {
            let pk = scheme
                .decode_g1(encoded)
                .map_err(|e| format!("non-signer {i}: {e}"))?;
            let id = scheme.operator_id(&pk);
            if previous.is_some_and(|p| p >= id) {
                return Err("NonSignerPubkeysNotSorted".into());
            }
            previous = Some(id);
            let Some(info) = state.operators.get(&id) else {
                continue;
            };
            let mut count = 0i64;
            for (qi, q) in quorums.iter().enumerate() {
                if let Some(stake) = info.stakes.get(q) {
                    count += 1;
                    if let Some(s) = signed.get_mut(qi) {
                        *s = s.saturating_sub(*stake);
                    }
                }
            }
            if count > 0 {
                apk_terms.push((pk, -count));
            }
        }
        let terms: Vec<(&S::G1PublicKey, i64)> = apk_terms.iter().map(|(k, c)| (k, *c)).collect();
        let apk = scheme.aggregate_g1(&terms);
        let apk_g2 = scheme
            .decode_g2(&a.signers_apk_g2)
            .map_err(|e| format!("apkG2: {e}"))?;
        let sigma = scheme
            .decode_signature(&a.signers_agg_sig_g1)
            .map_err(|e| format!("sigma: {e}"))?;
        if !scheme.check_aggregate(&a.digest, &apk, &apk_g2, &sigma) {
            return Err("InvalidBLSSignature".into());
        }
        Ok(signed)
    }
}

#[async_trait]
impl<S: SignatureScheme, R: OperatorRegistry<S>> ResponseSubmitter for InMemorySubmitter<S, R> {
    async fn submit(&self, request: &SubmissionRequest) -> Result<SubmissionReceipt, SubmitError> {
        let task_id = request.aggregate.task_id;
        let signed = self
            .check(request)
            .await
            .map_err(|reason| SubmitError::Rejected { task_id, reason })?;
        if signed != request.aggregate.signed_stake {
            return Err(SubmitError::Rejected {
                task_id,
                reason: format!(
                    "signed stake on chain {signed:?} differs from the aggregate's {:?}",
                    request.aggregate.signed_stake
                ),
            });
        }
        let mut accepted = lock(&self.accepted);
        accepted.push(request.clone());
        Ok(SubmissionReceipt {
            task_id,
            tx_hash: None,
            block: None,
            gas_used: None,
        })
    }

    /// `Some` once a submission for the request's task was accepted (what the contract's
    /// per-task response record would show).
    async fn already_responded(
        &self,
        request: &SubmissionRequest,
    ) -> Result<Option<SubmissionReceipt>, SubmitError> {
        let task_id = request.aggregate.task_id;
        let answered = lock(&self.accepted)
            .iter()
            .any(|r| r.aggregate.task_id == task_id);
        Ok(answered.then_some(SubmissionReceipt {
            task_id,
            tx_hash: None,
            block: None,
            gas_used: None,
        }))
    }
}
