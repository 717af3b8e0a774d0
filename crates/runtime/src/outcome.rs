//! What a caller learns about one signature it handed in.

use quorate_domain::{OperatorId, ResponseDigest, TaskId};

/// The verdict on one signed response that was not rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureOutcome {
    /// Counted toward its digest.
    Accepted {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
        /// The digest it signed.
        digest: ResponseDigest,
        /// Whether the signature was verified before counting (false in optimistic mode:
        /// it is checked with the aggregate, and dropped then if invalid).
        verified: bool,
    },
    /// The task is not initialized yet; the signature is held and replayed when it is.
    Buffered {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
    },
}
