//! An operator registry held in memory, with a history of operator sets by block.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use quorate_domain::sync::{read, write};
use quorate_domain::{
    proof_of_possession_digest, BlockNumber, CheckSignaturesIndices, OperatorId, OperatorInfo,
    OperatorRegistry, OperatorState, QuorumNumber, QuorumState, RegistryError, SchemeOperatorState,
    SignatureScheme, Stake,
};

/// One operator's registration: keys and stake per quorum it is registered in.
#[derive(Debug)]
pub struct InMemoryOperator<S: SignatureScheme> {
    /// G1 key (its hash is the operator id).
    pub pubkey_g1: S::G1PublicKey,
    /// G2 key.
    pub pubkey_g2: S::G2PublicKey,
    /// Stake per registered quorum (an entry with zero stake still counts as registered).
    pub stakes: BTreeMap<QuorumNumber, Stake>,
    /// Signature over `proof_of_possession_digest(pubkey_g1)` with the operator's secret:
    /// checking only aggregates is sound only if every key's holder knows its secret.
    pub proof_of_possession: S::Signature,
}

impl<S: SignatureScheme> Clone for InMemoryOperator<S> {
    fn clone(&self) -> Self {
        Self {
            pubkey_g1: self.pubkey_g1.clone(),
            pubkey_g2: self.pubkey_g2.clone(),
            stakes: self.stakes.clone(),
            proof_of_possession: self.proof_of_possession.clone(),
        }
    }
}

struct Snapshot<S: SignatureScheme> {
    /// Position in the history: plays the role of the contracts' update indices.
    update_index: u32,
    operators: BTreeMap<OperatorId, InMemoryOperator<S>>,
}

/// A registry whose operator set is set per block: a set given for block `b` holds for every
/// block from `b` until the next set. Quorums `0..quorum_count` exist.
pub struct InMemoryRegistry<S: SignatureScheme> {
    scheme: Arc<S>,
    quorum_count: u8,
    history: RwLock<BTreeMap<BlockNumber, Arc<Snapshot<S>>>>,
    state_calls: AtomicU64,
    index_calls: AtomicU64,
}

impl<S: SignatureScheme> InMemoryRegistry<S> {
    /// An empty registry with quorums `0..quorum_count`.
    pub fn new(scheme: Arc<S>, quorum_count: u8) -> Self {
        Self {
            scheme,
            quorum_count,
            history: RwLock::new(BTreeMap::new()),
            state_calls: AtomicU64::new(0),
            index_calls: AtomicU64::new(0),
        }
    }

    /// Sets the operators registered from `block` on; returns their ids in input order.
    ///
    /// Every key must come with its proof of possession (the [`OperatorRegistry`] contract):
    /// a key whose proof fails, such as a rogue key `pk − Σ others`, is refused with
    /// [`RegistryError::InvalidData`] naming the operator, and nothing is registered.
    pub fn set_operators(
        &self,
        block: BlockNumber,
        operators: Vec<InMemoryOperator<S>>,
    ) -> Result<Vec<OperatorId>, RegistryError> {
        for op in &operators {
            let digest = proof_of_possession_digest(&self.scheme.encode_g1(&op.pubkey_g1));
            // The γ-trick check BLSApkRegistry runs on registration: the signature verifies
            // under the G2 key and the G1 key shares its secret.
            if !self.scheme.check_aggregate(
                &digest,
                &op.pubkey_g1,
                &op.pubkey_g2,
                &op.proof_of_possession,
            ) {
                return Err(RegistryError::InvalidData {
                    reason: format!(
                        "operator {}: proof of possession of its BLS key does not verify",
                        self.scheme.operator_id(&op.pubkey_g1)
                    ),
                });
            }
        }
        let mut history = write(&self.history);
        let update_index = u32::try_from(history.range(..block).count()).unwrap_or(u32::MAX);
        let ids: Vec<OperatorId> = operators
            .iter()
            .map(|o| self.scheme.operator_id(&o.pubkey_g1))
            .collect();
        let map = ids.iter().copied().zip(operators).collect();
        history.insert(
            block,
            Arc::new(Snapshot {
                update_index,
                operators: map,
            }),
        );
        Ok(ids)
    }

    /// Calls of `operator_state` so far (to show caching upstream).
    pub fn operator_state_calls(&self) -> u64 {
        self.state_calls.load(Ordering::Relaxed)
    }

    /// Calls of `check_signatures_indices` so far.
    pub fn index_calls(&self) -> u64 {
        self.index_calls.load(Ordering::Relaxed)
    }

    fn snapshot_at(&self, block: BlockNumber) -> Result<Arc<Snapshot<S>>, RegistryError> {
        let history = read(&self.history);
        history
            .range(..=block)
            .next_back()
            .map(|(_, s)| Arc::clone(s))
            .ok_or_else(|| RegistryError::BlockUnavailable {
                block,
                reason: "no operator set at or before it".into(),
            })
    }

    fn check_quorums(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<(), RegistryError> {
        match quorums.iter().find(|q| q.0 >= self.quorum_count) {
            Some(&quorum) => Err(RegistryError::QuorumNotFound { quorum, block }),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl<S: SignatureScheme> OperatorRegistry<S> for InMemoryRegistry<S> {
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<SchemeOperatorState<S>>, RegistryError> {
        self.state_calls.fetch_add(1, Ordering::Relaxed);
        self.check_quorums(block, quorums)?;
        let snapshot = self.snapshot_at(block)?;
        let mut members: HashMap<QuorumNumber, Vec<&S::G1PublicKey>> = HashMap::new();
        let mut totals: HashMap<QuorumNumber, Stake> = HashMap::new();
        let mut operators = BTreeMap::new();
        for (id, op) in &snapshot.operators {
            let stakes: BTreeMap<QuorumNumber, Stake> = op
                .stakes
                .iter()
                .filter(|(q, _)| quorums.contains(q))
                .map(|(q, s)| (*q, *s))
                .collect();
            for (q, s) in &stakes {
                members.entry(*q).or_default().push(&op.pubkey_g1);
                let total = totals.entry(*q).or_default();
                *total = total.saturating_add(*s);
            }
            operators.insert(
                *id,
                OperatorInfo {
                    id: *id,
                    pubkey_g1: op.pubkey_g1.clone(),
                    pubkey_g2: op.pubkey_g2.clone(),
                    stakes,
                },
            );
        }
        let quorums = quorums
            .iter()
            .map(|q| {
                let keys: Vec<(&S::G1PublicKey, i64)> = members
                    .get(q)
                    .map(|v| v.iter().map(|k| (*k, 1)).collect())
                    .unwrap_or_default();
                QuorumState {
                    quorum: *q,
                    total_stake: totals.get(q).copied().unwrap_or(Stake::ZERO),
                    apk: self.scheme.aggregate_g1(&keys),
                }
            })
            .collect();
        Ok(Arc::new(OperatorState {
            block,
            quorums,
            operators,
        }))
    }

    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        self.index_calls.fetch_add(1, Ordering::Relaxed);
        self.check_quorums(block, quorums)?;
        let snapshot = self.snapshot_at(block)?;
        let idx = snapshot.update_index;
        let mut non_signers = Vec::with_capacity(non_signer_ids.len());
        for id in non_signer_ids {
            let op = snapshot
                .operators
                .get(id)
                .ok_or(RegistryError::OperatorNotRegistered {
                    operator_id: *id,
                    block,
                })?;
            non_signers.push(op);
        }
        Ok(CheckSignaturesIndices {
            non_signer_quorum_bitmap_indices: vec![idx; non_signer_ids.len()],
            quorum_apk_indices: vec![idx; quorums.len()],
            total_stake_indices: vec![idx; quorums.len()],
            non_signer_stake_indices: quorums
                .iter()
                .map(|q| {
                    non_signers
                        .iter()
                        .filter(|op| op.stakes.contains_key(q))
                        .map(|_| idx)
                        .collect()
                })
                .collect(),
        })
    }
}
