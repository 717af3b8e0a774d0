//! Signed responses from operators and the aggregate that `checkSignatures` takes.

use serde::{Deserialize, Serialize};

use crate::ids::{BlockNumber, OperatorId, QuorumNumber, ResponseDigest, Stake, TaskId};
use crate::points::{G1Point, G2Point};

/// One operator's signed answer to a task: a BLS signature over the response digest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedTaskResponse<Sig> {
    /// The task answered.
    pub task_id: TaskId,
    /// Digest of the operator's response; what was signed.
    pub digest: ResponseDigest,
    /// The signature, already decoded into the scheme's type.
    pub signature: Sig,
    /// Who signed.
    pub operator_id: OperatorId,
}

/// The index arrays `OperatorStateRetriever.getCheckSignaturesIndices` returns for a
/// reference block, quorums and sorted non-signers.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct CheckSignaturesIndices {
    /// Per non-signer: index of its quorum bitmap update at the reference block.
    pub non_signer_quorum_bitmap_indices: Vec<u32>,
    /// Per quorum: index of the quorum apk update at the reference block.
    pub quorum_apk_indices: Vec<u32>,
    /// Per quorum: index of the total stake update at the reference block.
    pub total_stake_indices: Vec<u32>,
    /// Per quorum, per non-signer in that quorum: index of its stake update.
    pub non_signer_stake_indices: Vec<Vec<u32>>,
}

/// A finished aggregate: every field of `NonSignerStakesAndSignature` plus the bookkeeping
/// needed to re-derive indices, audit stake and submit.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AggregatedResponse {
    /// The task.
    pub task_id: TaskId,
    /// The digest the signers agreed on (`msgHash`).
    pub digest: ResponseDigest,
    /// The block the operator state was read at (`referenceBlockNumber`).
    pub reference_block: BlockNumber,
    /// Ascending quorum numbers (`quorumNumbers`).
    pub quorum_numbers: Vec<QuorumNumber>,
    /// Operator ids of the signers, ascending.
    pub signer_ids: Vec<OperatorId>,
    /// Operator ids of the non-signers, ascending (the order of `nonSignerPubkeys`).
    pub non_signer_ids: Vec<OperatorId>,
    /// `nonSignerPubkeys`: G1 keys of the non-signers, in `non_signer_ids` order.
    pub non_signer_pubkeys_g1: Vec<G1Point>,
    /// `quorumApks`: each quorum's aggregate G1 key at the reference block.
    pub quorum_apks_g1: Vec<G1Point>,
    /// `apkG2`: Σ over signers of (quorums they are in) × G2 key.
    pub signers_apk_g2: G2Point,
    /// `sigma`: Σ over signers of (quorums they are in) × signature.
    pub signers_agg_sig_g1: G1Point,
    /// The index arrays for the reference block.
    pub indices: CheckSignaturesIndices,
    /// Signed stake per quorum, in `quorum_numbers` order (what the contract will return).
    pub signed_stake: Vec<Stake>,
    /// Total stake per quorum, in `quorum_numbers` order.
    pub total_stake: Vec<Stake>,
}

impl AggregatedResponse {
    /// The quorum numbers as the on-chain `bytes quorumNumbers`.
    pub fn quorum_numbers_bytes(&self) -> Vec<u8> {
        self.quorum_numbers.iter().map(|q| q.0).collect()
    }
}
