//! Typed errors. Each names the task (and operator, where there is one) and says why.

use thiserror::Error;

use crate::ids::{BlockNumber, OperatorId, QuorumNumber, TaskId};

/// Rejected input to a validating constructor.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// Task ids are never zero.
    #[error("task id must not be zero")]
    ZeroTaskId,
    /// Operator ids are never zero.
    #[error("operator id must not be zero")]
    ZeroOperatorId,
    /// A hex string did not hold 32 bytes.
    #[error("invalid {what} hex: {reason}")]
    BadHex {
        /// What was being parsed.
        what: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// Thresholds are whole percentages from 1 to 100.
    #[error("quorum threshold {percent}% is outside 1..=100")]
    ThresholdOutOfRange {
        /// The rejected value.
        percent: u8,
    },
    /// A task must name at least one quorum.
    #[error("task {task_id}: no quorums given")]
    EmptyQuorums {
        /// The task.
        task_id: TaskId,
    },
    /// One threshold per quorum.
    #[error("task {task_id}: {quorums} quorums but {thresholds} thresholds")]
    ThresholdCountMismatch {
        /// The task.
        task_id: TaskId,
        /// Number of quorums given.
        quorums: usize,
        /// Number of thresholds given.
        thresholds: usize,
    },
    /// A quorum may appear once.
    #[error("task {task_id}: quorum {quorum} listed twice")]
    DuplicateQuorum {
        /// The task.
        task_id: TaskId,
        /// The repeated quorum.
        quorum: QuorumNumber,
    },
    /// Quorum numbers above 191 do not exist on chain.
    #[error("task {task_id}: quorum number {quorum} exceeds 191")]
    QuorumNumberTooLarge {
        /// The task.
        task_id: TaskId,
        /// The rejected quorum.
        quorum: QuorumNumber,
    },
    /// A task that expires at once can never aggregate.
    #[error("task {task_id}: time to expiry must be positive")]
    ZeroExpiry {
        /// The task.
        task_id: TaskId,
    },
}

/// Why an encoded curve point was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PointDecodingError {
    /// The byte string has the wrong size.
    #[error("expected {expected} bytes, got {got}")]
    WrongLength {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// A coordinate is not below the field modulus.
    #[error("coordinate {coordinate} is not a canonical field element (≥ p)")]
    NonCanonical {
        /// Which coordinate word (e.g. "x", "y", "x.c1").
        coordinate: &'static str,
    },
    /// The coordinates do not satisfy the curve equation.
    #[error("point is not on the curve")]
    NotOnCurve,
    /// On the curve but outside the prime-order subgroup.
    #[error("point is not in the prime-order subgroup")]
    NotInSubgroup,
    /// The point at infinity, which no key or signature may be.
    #[error("point is the point at infinity")]
    Identity,
}

/// The operator registry could not answer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RegistryError {
    /// The backing service (RPC, database) failed; worth retrying.
    #[error("registry unavailable: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
    },
    /// The block is not known (in the future, or pruned).
    #[error("block {block} is not available: {reason}")]
    BlockUnavailable {
        /// The block asked for.
        block: BlockNumber,
        /// Why.
        reason: String,
    },
    /// The quorum does not exist at the block.
    #[error("quorum {quorum} does not exist at block {block}")]
    QuorumNotFound {
        /// The quorum.
        quorum: QuorumNumber,
        /// The block.
        block: BlockNumber,
    },
    /// A non-signer id passed for index lookup is not registered at the block.
    #[error("operator {operator_id} is not registered at block {block}")]
    OperatorNotRegistered {
        /// The operator.
        operator_id: OperatorId,
        /// The block.
        block: BlockNumber,
    },
    /// Data from the registry could not be interpreted (e.g. an invalid key on chain).
    #[error("registry returned invalid data: {reason}")]
    InvalidData {
        /// What was wrong.
        reason: String,
    },
}

impl RegistryError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::BlockUnavailable { .. }
        )
    }
}

/// Submitting an aggregate failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SubmitError {
    /// The transaction (or a simulation of it) reverted.
    #[error("task {task_id}: submission reverted: {reason}")]
    Reverted {
        /// The task.
        task_id: TaskId,
        /// Decoded revert reason or selector.
        reason: String,
    },
    /// The fee was too low even after bumping.
    #[error("task {task_id}: transaction underpriced after {attempts} attempts")]
    Underpriced {
        /// The task.
        task_id: TaskId,
        /// How many fee levels were tried.
        attempts: u32,
    },
    /// No receipt within the allowed time.
    #[error("task {task_id}: no receipt after {seconds}s")]
    Timeout {
        /// The task.
        task_id: TaskId,
        /// How long we waited.
        seconds: u64,
    },
    /// The chain endpoint could not be reached.
    #[error("task {task_id}: RPC unavailable: {reason}")]
    RpcUnavailable {
        /// The task.
        task_id: TaskId,
        /// What failed.
        reason: String,
    },
    /// The aggregate was refused before sending (an offline check failed).
    #[error("task {task_id}: aggregate rejected: {reason}")]
    Rejected {
        /// The task.
        task_id: TaskId,
        /// Why.
        reason: String,
    },
}

/// Why one operator's signature was not counted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SignatureVerificationError {
    /// The pairing check failed.
    #[error("incorrect signature")]
    IncorrectSignature,
    /// The operator already signed this task.
    #[error("duplicate signature")]
    DuplicateSignature,
    /// The operator is not registered at the task's reference block.
    #[error("operator not found at the reference block")]
    OperatorNotFound,
    /// The operator is registered, but in none of the task's quorums.
    #[error("operator is in none of the task's quorums")]
    OperatorNotInQuorums,
    /// The task only counts one digest (the agreed response), and this is another.
    #[error("signature is over a digest other than the task's expected one")]
    UnexpectedDigest,
    /// The operator already signed another digest of this task and both signatures verify:
    /// equivocation. Only the first counts; the pair is kept as evidence.
    #[error("operator already signed a different response of this task (equivocation)")]
    Equivocation,
}

/// Which configured limit was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// Tasks being aggregated at once.
    ActiveTasks,
    /// Tasks with buffered signatures that are not initialized yet.
    PendingTasks,
    /// Buffered signatures for one not-yet-initialized task.
    PendingSignaturesPerTask,
    /// Distinct response digests within one task.
    DigestsPerTask,
    /// Finished responses kept for late waiters.
    StoredResponses,
    /// Signatures queued for one task's aggregator.
    TaskQueue,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Self::ActiveTasks => "active tasks",
            Self::PendingTasks => "pending-signature tasks",
            Self::PendingSignaturesPerTask => "pending signatures per task",
            Self::DigestsPerTask => "digests per task",
            Self::StoredResponses => "stored responses",
            Self::TaskQueue => "task queue",
        };
        f.write_str(s)
    }
}

/// Everything that can go wrong with a task in the aggregator.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AggregationError {
    /// The task expired before every quorum's threshold was met.
    #[error("task {task_id} expired before reaching its thresholds")]
    TaskExpired {
        /// The task.
        task_id: TaskId,
    },
    /// No such task (never initialized, or its record was evicted).
    #[error("task {task_id} not found")]
    TaskNotFound {
        /// The task.
        task_id: TaskId,
    },
    /// A task with this id is already active or finished.
    #[error("task {task_id} already exists")]
    DuplicateTaskId {
        /// The task.
        task_id: TaskId,
    },
    /// The task is finished; the signature came too late to count.
    #[error("task {task_id}: signature from operator {operator_id} arrived after completion")]
    TaskCompleted {
        /// The task.
        task_id: TaskId,
        /// The late operator.
        operator_id: OperatorId,
    },
    /// The task already has its final result (e.g. cancelling a finished task).
    #[error("task {task_id} is already finished")]
    TaskFinished {
        /// The task.
        task_id: TaskId,
    },
    /// One operator's signature was refused.
    #[error("task {task_id}: signature from operator {operator_id} rejected: {reason}")]
    SignatureVerification {
        /// The task.
        task_id: TaskId,
        /// The operator.
        operator_id: OperatorId,
        /// Why.
        reason: SignatureVerificationError,
    },
    /// The operator registry failed for this task.
    #[error("task {task_id}: registry error: {source}")]
    Registry {
        /// The task.
        task_id: TaskId,
        /// The registry's error.
        source: RegistryError,
    },
    /// The task's aggregator is gone (shut down or crashed).
    #[error("task {task_id}: aggregator channel closed")]
    ChannelClosed {
        /// The task.
        task_id: TaskId,
    },
    /// Waiting for the task took longer than allowed.
    #[error("task {task_id}: timed out waiting ({} operator errors seen)", operator_errors.len())]
    Timeout {
        /// The task.
        task_id: TaskId,
        /// Signature errors seen for this task so far.
        operator_errors: Vec<(OperatorId, SignatureVerificationError)>,
    },
    /// The aggregator was shut down or the task cancelled.
    #[error("task {task_id}: cancelled")]
    Cancelled {
        /// The task.
        task_id: TaskId,
    },
    /// A configured limit was reached.
    #[error("task {task_id}: limit reached: {limit} (max {max})")]
    LimitReached {
        /// The task the rejected request was for.
        task_id: TaskId,
        /// Which limit.
        limit: LimitKind,
        /// Its configured value.
        max: usize,
    },
    /// A quorum of the task has no stake at its reference block (no members), so no signer
    /// set can meet its threshold.
    #[error("task {task_id}: quorum {quorum} has no stake at the reference block")]
    QuorumWithoutStake {
        /// The task.
        task_id: TaskId,
        /// The empty quorum.
        quorum: QuorumNumber,
    },
    /// A broken internal invariant (a bug, not bad input); the task ends with this error and
    /// other tasks are unaffected.
    #[error("task {task_id}: internal error: {reason}")]
    Internal {
        /// The task.
        task_id: TaskId,
        /// What went wrong.
        reason: String,
    },
    /// The task's aggregator panicked; other tasks are unaffected.
    #[error("task {task_id}: aggregator panicked: {message}")]
    Panicked {
        /// The task.
        task_id: TaskId,
        /// The panic message.
        message: String,
    },
    /// The submitter failed.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// Invalid task input.
    #[error(transparent)]
    Validation(#[from] ValidationError),
}

impl AggregationError {
    /// The task the error is about, when it names one.
    pub fn task_id(&self) -> Option<TaskId> {
        match self {
            Self::TaskExpired { task_id }
            | Self::TaskNotFound { task_id }
            | Self::DuplicateTaskId { task_id }
            | Self::TaskCompleted { task_id, .. }
            | Self::TaskFinished { task_id }
            | Self::SignatureVerification { task_id, .. }
            | Self::Registry { task_id, .. }
            | Self::ChannelClosed { task_id }
            | Self::Timeout { task_id, .. }
            | Self::Cancelled { task_id }
            | Self::LimitReached { task_id, .. }
            | Self::QuorumWithoutStake { task_id, .. }
            | Self::Internal { task_id, .. }
            | Self::Panicked { task_id, .. } => Some(*task_id),
            Self::Submit(e) => match e {
                SubmitError::Reverted { task_id, .. }
                | SubmitError::Underpriced { task_id, .. }
                | SubmitError::Timeout { task_id, .. }
                | SubmitError::RpcUnavailable { task_id, .. }
                | SubmitError::Rejected { task_id, .. } => Some(*task_id),
            },
            Self::Validation(_) => None,
        }
    }
}
