//! The node's typed errors and the gRPC status each maps to. Every message names the task
//! (and operator, where there is one).

use quorate_domain::{AggregationError, SignatureVerificationError};
use tonic::{Code, Status};

use crate::store::StoreError;

/// Why a node request failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The request is malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No such task.
    #[error("task {0} not found")]
    TaskNotFound(String),
    /// No such workflow, execution or secret (or it belongs to someone else).
    #[error("{0} not found")]
    NotFound(String),
    /// A stored record the node cannot use (e.g. a secret that no longer opens).
    #[error("internal: {0}")]
    Internal(String),
    /// Already exists (task id, or this operator's response).
    #[error("{0}")]
    AlreadyExists(String),
    /// The task is in a state that does not allow this.
    #[error("{0}")]
    FailedPrecondition(String),
    /// No credentials, or unknown ones.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller may not do this (wrong owner, read-only key, unregistered operator).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A rate or size limit was reached.
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// Past the range that exists now (an ack cursor beyond the highest task issued).
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// The node is shutting down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The aggregator refused or failed.
    #[error(transparent)]
    Aggregation(#[from] AggregationError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NodeError {
    /// The gRPC code for this error.
    pub fn code(&self) -> Code {
        match self {
            NodeError::InvalidArgument(_) => Code::InvalidArgument,
            NodeError::TaskNotFound(_) | NodeError::NotFound(_) => Code::NotFound,
            NodeError::Internal(_) => Code::Internal,
            NodeError::AlreadyExists(_) => Code::AlreadyExists,
            NodeError::FailedPrecondition(_) => Code::FailedPrecondition,
            NodeError::Unauthenticated(_) => Code::Unauthenticated,
            NodeError::PermissionDenied(_) => Code::PermissionDenied,
            NodeError::ResourceExhausted(_) => Code::ResourceExhausted,
            NodeError::OutOfRange(_) => Code::OutOfRange,
            NodeError::Unavailable(_) => Code::Unavailable,
            NodeError::Store(_) => Code::Internal,
            NodeError::Aggregation(e) => aggregation_code(e),
        }
    }
}

fn aggregation_code(e: &AggregationError) -> Code {
    use SignatureVerificationError as V;
    match e {
        AggregationError::TaskNotFound { .. } => Code::NotFound,
        AggregationError::DuplicateTaskId { .. } => Code::AlreadyExists,
        AggregationError::TaskCompleted { .. }
        | AggregationError::TaskFinished { .. }
        | AggregationError::TaskExpired { .. } => Code::FailedPrecondition,
        AggregationError::SignatureVerification { reason, .. } => match reason {
            V::IncorrectSignature => Code::InvalidArgument,
            V::DuplicateSignature | V::Equivocation => Code::AlreadyExists,
            V::OperatorNotFound | V::OperatorNotInQuorums => Code::PermissionDenied,
            V::UnexpectedDigest => Code::InvalidArgument,
        },
        AggregationError::LimitReached { .. } => Code::ResourceExhausted,
        AggregationError::Validation(_) => Code::InvalidArgument,
        AggregationError::Cancelled { .. } | AggregationError::ChannelClosed { .. } => {
            Code::Unavailable
        }
        AggregationError::Timeout { .. } => Code::DeadlineExceeded,
        AggregationError::QuorumWithoutStake { .. } => Code::FailedPrecondition,
        AggregationError::Registry { .. }
        | AggregationError::Internal { .. }
        | AggregationError::Panicked { .. }
        | AggregationError::Submit(_) => Code::Internal,
    }
}

/// A request that does not decode (see `quorate_api`): an operator's malformed proof of key is
/// `Unauthenticated`, anything else `InvalidArgument`, with the api's message (field, task,
/// operator).
impl From<quorate_api::RequestError> for NodeError {
    fn from(e: quorate_api::RequestError) -> Self {
        if e.is_authentication() {
            NodeError::Unauthenticated(e.to_string())
        } else {
            NodeError::InvalidArgument(e.to_string())
        }
    }
}

/// Storage, registry and submission failures carry paths, RPC URLs and database text: the
/// caller (possibly unauthenticated) gets a generic message, the log gets the detail.
impl From<NodeError> for Status {
    fn from(e: NodeError) -> Self {
        let code = e.code();
        if code == Code::Internal {
            tracing::error!(error = %e, "internal error answered to a caller");
            return Status::new(code, "internal error (details are in the node's log)");
        }
        Status::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorate_domain::{OperatorId, TaskId};

    #[test]
    fn signature_errors_map_to_distinct_codes() {
        let task_id = TaskId::from(1u32);
        let operator_id = OperatorId::from_key_hash([3; 32]);
        let status = Status::from(NodeError::from(AggregationError::SignatureVerification {
            task_id,
            operator_id,
            reason: SignatureVerificationError::OperatorNotFound,
        }));
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().contains(&task_id.to_string()));
        assert!(status.message().contains(&operator_id.to_string()));
        let forged = NodeError::from(AggregationError::SignatureVerification {
            task_id,
            operator_id,
            reason: SignatureVerificationError::IncorrectSignature,
        });
        assert_eq!(forged.code(), Code::InvalidArgument);
    }

    #[test]
    fn internal_errors_do_not_reach_callers() {
        let status = Status::from(NodeError::Store(StoreError(
            "/var/lib/quorate/node.redb: disk full".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("redb"), "{}", status.message());
    }

    #[test]
    fn request_errors_keep_their_message_and_map_by_kind() {
        let bad_id = NodeError::from(quorate_api::parse_task_id(&[1; 5]).unwrap_err());
        assert_eq!(bad_id.code(), Code::InvalidArgument);
        assert_eq!(
            Status::from(bad_id).message(),
            "invalid argument: task id must be 32 bytes, got 5"
        );
        let proof = quorate_api::OperatorProof::decode(&[3; 32], &[0; 32], &[0; 64]).unwrap_err();
        assert_eq!(NodeError::from(proof).code(), Code::Unauthenticated);
    }
}
