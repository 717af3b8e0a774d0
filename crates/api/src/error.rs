//! Why a request was refused: one variant per rule, each naming the field, and the task and
//! operator where the request has them.

use std::fmt;

use quorate_domain::{OperatorId, PointDecodingError, TaskId, ValidationError};

/// A request field, as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `task_id`.
    TaskId,
    /// `operator_id`.
    OperatorId,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::TaskId => "task id",
            Field::OperatorId => "operator id",
        })
    }
}

/// Why a request does not decode into valid domain values. Each message already includes the
/// underlying reason (kept typed in the `reason` fields), so `source()` is `None` and error
/// chains do not repeat it.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// An id field does not hold 32 bytes.
    #[error("{field} must be 32 bytes, got {got}")]
    IdLength {
        /// The field.
        field: Field,
        /// Its length.
        got: usize,
    },
    /// An id is all zeros (the contracts never produce one).
    #[error("{reason}")]
    ZeroId {
        /// The field.
        field: Field,
        /// The domain's refusal.
        reason: ValidationError,
    },
    /// A signed response's digest is not 32 bytes.
    #[error("task {task_id}: digest of operator {operator_id} must be 32 bytes, got {got}")]
    DigestLength {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
        /// The digest's length.
        got: usize,
    },
    /// A signed response is larger than the node accepts.
    #[error("task {task_id}: response of operator {operator_id} has {got} bytes, more than {max}")]
    ResponseTooLarge {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
        /// The response's length.
        got: usize,
        /// The node's limit.
        max: usize,
    },
    /// The digest is not keccak256 of the (non-empty) response.
    #[error("task {task_id}: digest of operator {operator_id} is not keccak256(response)")]
    DigestMismatch {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
    },
    /// A signed response carries no response: the payload submitted with the aggregate would
    /// be empty.
    #[error("task {task_id}: response of operator {operator_id} is empty")]
    EmptyResponse {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
    },
    /// An operator's authentication nonce is not the 32 bytes `GetOperatorChallenge` issues.
    #[error("operator {operator_id}: auth nonce must be 32 bytes, got {got}")]
    BadAuthNonce {
        /// The operator.
        operator_id: OperatorId,
        /// The nonce's length.
        got: usize,
    },
    /// A signed response's BLS signature is not a valid G1 point encoding.
    #[error("task {task_id}: signature of operator {operator_id} is malformed: {reason}")]
    BadSignature {
        /// The task.
        task_id: TaskId,
        /// The signer.
        operator_id: OperatorId,
        /// Why the point was refused.
        reason: PointDecodingError,
    },
    /// An operator's authentication signature is not a valid G1 point encoding.
    #[error("operator {operator_id}: auth signature: {reason}")]
    BadAuthSignature {
        /// The operator.
        operator_id: OperatorId,
        /// Why the point was refused.
        reason: PointDecodingError,
    },
    /// A task payload is larger than the node accepts.
    #[error("task {task_id}: payload of {got} bytes exceeds {max}")]
    PayloadTooLarge {
        /// The task.
        task_id: TaskId,
        /// The payload's length.
        got: usize,
        /// The node's limit.
        max: usize,
    },
    /// `expiry_ms` is zero or above the node's maximum.
    #[error("task {task_id}: expiry_ms must be 1..={max}, got {got}")]
    ExpiryOutOfRange {
        /// The task.
        task_id: TaskId,
        /// The requested expiry.
        got: u64,
        /// The node's limit.
        max: u64,
    },
    /// A quorum number or threshold does not fit a byte.
    #[error("task {task_id}: quorum {quorum} / threshold {threshold} out of range")]
    QuorumOutOfRange {
        /// The task.
        task_id: TaskId,
        /// The quorum number as sent.
        quorum: u32,
        /// The threshold as sent.
        threshold: u32,
    },
    /// The task's quorums and thresholds break a domain rule (none, duplicate, above 191,
    /// threshold outside 1..=100).
    #[error("task {task_id}: {reason}")]
    InvalidTask {
        /// The task.
        task_id: TaskId,
        /// The rule broken.
        reason: ValidationError,
    },
    /// A list page token is not one the node issued (a decimal sequence number).
    #[error("bad page token {token:?}")]
    BadPageToken {
        /// The token as sent.
        token: String,
    },
    /// A task status filter is not a known `TaskStatus`.
    #[error("unknown status {status}")]
    UnknownStatus {
        /// The value as sent.
        status: i32,
    },
    /// A sign-in address is not a 20-byte hex address.
    #[error("address {address:?}: {reason}")]
    BadAddress {
        /// The address as sent.
        address: String,
        /// The parser's complaint.
        reason: alloy_primitives::hex::FromHexError,
    },
    /// A sign-in message has no `Nonce: ` line.
    #[error("message has no nonce")]
    MissingNonce,
    /// A sign-in signature is not 65 bytes `r ‖ s ‖ v` with a valid `v`.
    #[error("signature: {reason}")]
    BadWalletSignature {
        /// The parser's complaint.
        reason: alloy_primitives::SignatureError,
    },
}

impl RequestError {
    /// Whether the error concerns the caller's credentials (an operator's proof of key) rather
    /// than the request's content; the node answers `UNAUTHENTICATED` for these and
    /// `INVALID_ARGUMENT` for the rest.
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            RequestError::BadAuthSignature { .. } | RequestError::BadAuthNonce { .. }
        )
    }
}
