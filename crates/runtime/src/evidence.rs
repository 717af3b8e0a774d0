//! Equivocation evidence: one operator's two valid signatures over different responses of the
//! same task. Unlike a duplicate, this is attributable misbehaviour (both signatures verify
//! under the operator's registered key), so the runtime keeps the pair for the embedder to
//! store, report or slash on.

use quorate_domain::{G1Point, OperatorId, ResponseDigest, TaskId};

/// Two verified signatures by one operator on conflicting digests of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EquivocationEvidence {
    /// The task both signatures are for.
    pub task_id: TaskId,
    /// The operator that signed both.
    pub operator_id: OperatorId,
    /// The digest whose signature was counted first.
    pub first_digest: ResponseDigest,
    /// The counted signature (contract encoding).
    pub first_signature: G1Point,
    /// The conflicting digest.
    pub second_digest: ResponseDigest,
    /// The refused, but valid, signature over it (contract encoding).
    pub second_signature: G1Point,
}
