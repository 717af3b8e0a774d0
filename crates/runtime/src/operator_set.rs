//! The operator set of one (block, quorums), indexed for the signature path.

use std::collections::{HashMap, HashSet};

use quorate_domain::{
    BlockNumber, G1Point, OperatorId, QuorumNumber, RegistryError, SchemeOperatorState,
    SignatureScheme, Stake,
};

/// One operator as the signature path needs it.
#[derive(Debug)]
pub struct OperatorEntry<S: SignatureScheme> {
    /// The operator's id.
    pub id: OperatorId,
    /// Its G1 key in contract encoding (for `nonSignerPubkeys`).
    pub pubkey_g1: G1Point,
    /// Its G2 key (signatures are checked against it).
    pub pubkey_g2: S::G2PublicKey,
    /// Stake per quorum of the set, aligned with [`OperatorSet::quorums`]; zero where the
    /// operator is not registered.
    pub stakes: Vec<Stake>,
    /// In how many of the set's quorums the operator is registered: its multiplicity in
    /// `sigma` and `apkG2`.
    pub quorum_count: u32,
}

/// The operators of some quorums at one block, sorted by operator id, with O(1) lookup.
#[derive(Debug)]
pub struct OperatorSet<S: SignatureScheme> {
    /// The block.
    pub block: BlockNumber,
    /// The quorums, ascending.
    pub quorums: Vec<QuorumNumber>,
    /// Total stake per quorum.
    pub total_stakes: Vec<Stake>,
    /// Aggregate G1 key per quorum, contract-encoded.
    pub quorum_apks: Vec<G1Point>,
    /// Operators sorted by id.
    pub operators: Vec<OperatorEntry<S>>,
    /// `Σ quorum_count·pubkey_g2` over every operator: the signers' `apkG2` when all sign.
    /// With few non-signers the signers' apk is this minus theirs, a handful of G2
    /// additions instead of one per signer.
    pub apk_g2: S::G2PublicKey,
    index: HashMap<OperatorId, u32>,
    /// Operators the registry knows at the block that are in none of the quorums.
    outsiders: HashSet<OperatorId>,
}

impl<S: SignatureScheme> OperatorSet<S> {
    /// Indexes a registry answer. Quorums missing from the answer are an error: the registry
    /// must report every quorum asked for.
    pub fn build(
        scheme: &S,
        state: &SchemeOperatorState<S>,
        quorums: &[QuorumNumber],
    ) -> Result<Self, RegistryError> {
        let mut total_stakes = Vec::with_capacity(quorums.len());
        let mut quorum_apks = Vec::with_capacity(quorums.len());
        for &q in quorums {
            let qs = state.quorum(q).ok_or(RegistryError::QuorumNotFound {
                quorum: q,
                block: state.block,
            })?;
            total_stakes.push(qs.total_stake);
            quorum_apks.push(scheme.encode_g1(&qs.apk));
        }
        let mut operators = Vec::with_capacity(state.operators.len());
        let mut outsiders = HashSet::new();
        for (id, info) in &state.operators {
            let stakes: Vec<Stake> = quorums
                .iter()
                .map(|q| info.stakes.get(q).copied().unwrap_or(Stake::ZERO))
                .collect();
            let quorum_count = quorums
                .iter()
                .filter(|q| info.stakes.contains_key(q))
                .count();
            if quorum_count == 0 {
                outsiders.insert(*id);
                continue;
            }
            operators.push(OperatorEntry {
                id: *id,
                pubkey_g1: scheme.encode_g1(&info.pubkey_g1),
                pubkey_g2: info.pubkey_g2.clone(),
                stakes,
                quorum_count: u32::try_from(quorum_count).unwrap_or(u32::MAX),
            });
        }
        // BTreeMap iteration is already sorted by id; keep the invariant explicit.
        operators.sort_by_key(|o| o.id);
        let terms: Vec<(&S::G2PublicKey, i64)> = operators
            .iter()
            .map(|o| (&o.pubkey_g2, i64::from(o.quorum_count)))
            .collect();
        let apk_g2 = scheme.aggregate_g2(&terms);
        let index = operators
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Ok(Self {
            block: state.block,
            quorums: quorums.to_vec(),
            total_stakes,
            quorum_apks,
            operators,
            apk_g2,
            index,
            outsiders,
        })
    }

    /// Whether the registry knows the operator at the block but not in any of the quorums.
    pub fn is_outsider(&self, id: &OperatorId) -> bool {
        self.outsiders.contains(id)
    }

    /// The operator's position in [`Self::operators`].
    pub fn position(&self, id: &OperatorId) -> Option<usize> {
        self.index.get(id).map(|&i| i as usize)
    }
}
