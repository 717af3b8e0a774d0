//! A submitter that applies `BLSSignatureChecker.checkSignatures` in memory and records what
//! it accepts: the on-chain oracle for tests without a chain.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::util::lock;
use quorate_domain::{
    AggregatedResponse, BlockNumber, G1Point, G2Point, OperatorId, OperatorRegistry,
    ResponseSubmitter, SchemeOperatorState, SignatureScheme, Stake, SubmissionReceipt,
    SubmissionRequest, SubmitError,
};

/// Accepted submissions an [`InMemorySubmitter`] keeps unless told otherwise
/// ([`InMemorySubmitter::with_retention`]).
pub const DEFAULT_SUBMISSION_RETENTION: usize = 10_000;

/// Checks each aggregate against a registry as the contract would, then records it.
///
/// It keeps the most recent accepted submissions only (a long-running `--dev` node submits
/// without end, and each request holds a whole aggregate); [`Self::accepted_total`] counts
/// them all.
pub struct InMemorySubmitter<S: SignatureScheme, R> {
    /// Decodes and checks points.
    scheme: Arc<S>,
    /// The operator state and indices the aggregate is checked against.
    registry: Arc<R>,
    /// The chain head the check runs at (`block.number`); 0: unknown, not checked.
    head: AtomicU64,
    /// The most recent accepted submissions, oldest first, at most `retention`.
    accepted: Mutex<VecDeque<SubmissionRequest>>,
    /// How many accepted submissions `accepted` keeps (at least one).
    retention: usize,
    /// Accepted submissions since the start, including those no longer kept.
    accepted_total: AtomicU64,
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> InMemorySubmitter<S, R> {
    /// A submitter checking against `registry`.
    pub fn new(scheme: Arc<S>, registry: Arc<R>) -> Self {
        Self {
            scheme,
            registry,
            head: AtomicU64::new(0),
            accepted: Mutex::new(VecDeque::new()),
            retention: DEFAULT_SUBMISSION_RETENTION,
            accepted_total: AtomicU64::new(0),
        }
    }

    /// Keeps the `retention` most recent accepted submissions (at least one) instead of
    /// [`DEFAULT_SUBMISSION_RETENTION`].
    #[must_use]
    pub fn with_retention(mut self, retention: usize) -> Self {
        self.retention = retention.max(1);
        self
    }

    /// Sets the chain head: the contract requires `referenceBlockNumber < block.number`.
    pub fn set_head(&self, block: BlockNumber) {
        self.head.store(block, Ordering::Relaxed);
    }

    /// The most recent accepted submissions (up to the retention), oldest first.
    pub fn accepted(&self) -> Vec<SubmissionRequest> {
        lock(&self.accepted).iter().cloned().collect()
    }

    /// Accepted submissions since the start, including those no longer kept.
    pub fn accepted_total(&self) -> u64 {
        self.accepted_total.load(Ordering::Relaxed)
    }

    /// The checker's logic. Returns the signed stake per quorum, or why it would revert.
    ///
    /// Checked against the real `checkSignatures` by recorded vectors
    /// (`crates/testkit/vectors/check_signatures.json`). One known difference: a non-signer
    /// that left every quorum before the reference block is refused here (the registry's
    /// state at the block does not know it) but accepted on chain (its bitmap history exists).
    pub async fn check(&self, request: &SubmissionRequest) -> Result<Vec<Stake>, String> {
        let a = &request.aggregate;
        check_shape(a)?;
        let head = self.head.load(Ordering::Relaxed);
        if head != 0 && a.reference_block >= head {
            return Err(format!(
                "InvalidReferenceBlocknumber: reference block {} is not before the head {head}",
                a.reference_block
            ));
        }
        let state = self
            .registry
            .operator_state(a.reference_block, &a.quorum_numbers)
            .await
            .map_err(|e| format!("registry: {e}"))?;
        let (mut apk_terms, mut signed) = self.quorum_terms(a, &state)?;
        let non_signer_ids = self.subtract_non_signers(a, &state, &mut apk_terms, &mut signed)?;
        self.check_indices(a, &non_signer_ids).await?;
        let scheme = &*self.scheme;
        let terms: Vec<(&S::G1PublicKey, i64)> = apk_terms.iter().map(|(k, c)| (k, *c)).collect();
        let apk = scheme.aggregate_g1(&terms);
        // The all-zero encoding is the point at infinity: the contract's arithmetic accepts
        // it (an empty aggregate), while key decoding refuses it.
        let apk_g2 = if a.signers_apk_g2 == G2Point::default() {
            scheme.aggregate_g2(&[])
        } else {
            scheme
                .decode_g2(&a.signers_apk_g2)
                .map_err(|e| format!("apkG2: {e}"))?
        };
        let sigma = if a.signers_agg_sig_g1 == G1Point::default() {
            scheme.aggregate_signatures(&[])
        } else {
            scheme
                .decode_signature(&a.signers_agg_sig_g1)
                .map_err(|e| format!("sigma: {e}"))?
        };
        if !scheme.check_aggregate(&a.digest, &apk, &apk_g2, &sigma) {
            return Err("InvalidBLSSignature".into());
        }
        Ok(signed)
    }

    /// Each quorum's apk (checked against the aggregate's) and total stake.
    #[allow(clippy::type_complexity)]
    fn quorum_terms(
        &self,
        a: &AggregatedResponse,
        state: &SchemeOperatorState<S>,
    ) -> Result<(Vec<(S::G1PublicKey, i64)>, Vec<Stake>), String> {
        let scheme = &*self.scheme;
        let quorums = &a.quorum_numbers;
        let mut apk_terms = Vec::with_capacity(quorums.len() + a.non_signer_pubkeys_g1.len());
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
        Ok((apk_terms, signed))
    }

    /// Subtracts each non-signer's key (once per quorum it is in) and stake; returns their
    /// ids. Keys must be strictly ascending by id and registered at the reference block.
    fn subtract_non_signers(
        &self,
        a: &AggregatedResponse,
        state: &SchemeOperatorState<S>,
        apk_terms: &mut Vec<(S::G1PublicKey, i64)>,
        signed: &mut [Stake],
    ) -> Result<Vec<OperatorId>, String> {
        let scheme = &*self.scheme;
        let mut ids: Vec<OperatorId> = Vec::with_capacity(a.non_signer_pubkeys_g1.len());
        for (i, encoded) in a.non_signer_pubkeys_g1.iter().enumerate() {
            let pk = scheme
                .decode_g1(encoded)
                .map_err(|e| format!("non-signer {i}: {e}"))?;
            let id = scheme.operator_id(&pk);
            if ids.last().is_some_and(|p| *p >= id) {
                return Err("NonSignerPubkeysNotSorted".into());
            }
            ids.push(id);
            // The contract reads the key's quorum bitmap history: a key that never
            // registered has none, and the lookup reverts (Panic 0x32).
            let Some(info) = state.operators.get(&id) else {
                return Err(format!(
                    "non-signer {i} ({id}) is not a registered operator"
                ));
            };
            let mut count = 0i64;
            for (qi, q) in a.quorum_numbers.iter().enumerate() {
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
        Ok(ids)
    }

    /// The contract checks each index against its history at the reference block; the
    /// registry's `getCheckSignaturesIndices` answer is the one that passes.
    async fn check_indices(
        &self,
        a: &AggregatedResponse,
        non_signers: &[OperatorId],
    ) -> Result<(), String> {
        let expected = self
            .registry
            .check_signatures_indices(a.reference_block, &a.quorum_numbers, non_signers)
            .await
            .map_err(|e| format!("registry (indices): {e}"))?;
        let got = &a.indices;
        let wrong = if got.quorum_apk_indices != expected.quorum_apk_indices {
            "quorumApkIndices"
        } else if got.total_stake_indices != expected.total_stake_indices {
            "totalStakeIndices"
        } else if got.non_signer_stake_indices != expected.non_signer_stake_indices {
            "nonSignerStakeIndices"
        } else if got.non_signer_quorum_bitmap_indices != expected.non_signer_quorum_bitmap_indices
        {
            "nonSignerQuorumBitmapIndices"
        } else {
            return Ok(());
        };
        Err(format!(
            "{wrong} do not match the registry's history at block {}",
            a.reference_block
        ))
    }
}

/// Quorums non-empty and ascending; every array as long as the contract requires.
fn check_shape(a: &AggregatedResponse) -> Result<(), String> {
    let quorums = &a.quorum_numbers;
    if quorums.is_empty() || quorums.windows(2).any(|w| w[0] >= w[1]) {
        return Err("quorum numbers must be non-empty and ascending".into());
    }
    let idx = &a.indices;
    if a.quorum_apks_g1.len() != quorums.len()
        || idx.quorum_apk_indices.len() != quorums.len()
        || idx.total_stake_indices.len() != quorums.len()
        || idx.non_signer_stake_indices.len() != quorums.len()
        || idx.non_signer_quorum_bitmap_indices.len() != a.non_signer_pubkeys_g1.len()
    {
        return Err("InputArrayLengthMismatch".into());
    }
    Ok(())
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
        while accepted.len() >= self.retention {
            accepted.pop_front();
        }
        accepted.push_back(request.clone());
        self.accepted_total.fetch_add(1, Ordering::Relaxed);
        Ok(SubmissionReceipt {
            task_id,
            tx_hash: None,
            block: None,
            gas_used: None,
        })
    }

    /// `Some` once a submission for the request's task was accepted (what the contract's
    /// per-task response record would show), among the submissions still kept.
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
