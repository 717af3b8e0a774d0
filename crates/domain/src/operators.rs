//! The operator set of one or more quorums at one block, as the registry reports it.

use std::collections::BTreeMap;

use crate::ids::{BlockNumber, OperatorId, QuorumNumber, Stake};

/// One registered operator, with the stake it has in each requested quorum it belongs to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorInfo<G1, G2> {
    /// keccak256 of the G1 key.
    pub id: OperatorId,
    /// The operator's G1 public key.
    pub pubkey_g1: G1,
    /// The operator's G2 public key (the one signatures are checked against).
    pub pubkey_g2: G2,
    /// Stake per quorum, only for the quorums the operator is registered in.
    pub stakes: BTreeMap<QuorumNumber, Stake>,
}

/// One quorum's totals at the block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct QuorumState<G1> {
    /// The quorum.
    pub quorum: QuorumNumber,
    /// Total stake of the quorum at the block (`totalStakeForQuorum`).
    pub total_stake: Stake,
    /// Aggregate G1 key of the quorum's members at the block (`quorumApks`).
    pub apk: G1,
}

/// Everything the aggregator needs about the operators of some quorums at one block. Built once
/// per (block, quorums) and shared by every task at that block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorState<G1, G2> {
    /// The block the state was read at.
    pub block: BlockNumber,
    /// The requested quorums, ascending.
    pub quorums: Vec<QuorumState<G1>>,
    /// Every operator in at least one of the quorums, keyed (so sorted) by id.
    pub operators: BTreeMap<OperatorId, OperatorInfo<G1, G2>>,
}

impl<G1, G2> OperatorState<G1, G2> {
    /// The quorum's totals, if it was requested.
    pub fn quorum(&self, quorum: QuorumNumber) -> Option<&QuorumState<G1>> {
        self.quorums.iter().find(|q| q.quorum == quorum)
    }
}
