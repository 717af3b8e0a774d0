//! The submission port: hand a finished aggregate to the AVS contract.

use alloy_primitives::B256;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::SubmitError;
use crate::ids::{BlockNumber, TaskId};
use crate::response::AggregatedResponse;

/// What gets submitted: the aggregate plus the AVS-specific response it attests.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SubmissionRequest {
    /// The aggregate (`NonSignerStakesAndSignature` and its context).
    pub aggregate: AggregatedResponse,
    /// The AVS's own encoding of the response whose digest was signed.
    pub payload: Vec<u8>,
}

/// Proof that a submission landed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SubmissionReceipt {
    /// The task.
    pub task_id: TaskId,
    /// Transaction hash, where there is a chain.
    pub tx_hash: Option<B256>,
    /// Block the transaction was included in.
    pub block: Option<BlockNumber>,
    /// Gas used.
    pub gas_used: Option<u64>,
}

/// Sends aggregates to the AVS contract.
#[async_trait]
#[auto_impl::auto_impl(&, Arc, Box)]
pub trait ResponseSubmitter: Send + Sync + 'static {
    /// Submits one aggregate and waits for its receipt.
    async fn submit(&self, request: &SubmissionRequest) -> Result<SubmissionReceipt, SubmitError>;

    /// Whether `request`'s task is already answered at its destination (a submission sent
    /// before a crash may have landed): `Some` with what is known of it, `None` if not. A
    /// caller that may have sent before asks this first so a task is never answered twice.
    /// The default knows nothing (`None`); submitters that can tell override it.
    async fn already_responded(
        &self,
        request: &SubmissionRequest,
    ) -> Result<Option<SubmissionReceipt>, SubmitError> {
        let _ = request;
        Ok(None)
    }
}

// A mocked submitter (`MockResponseSubmitter`); see `MockOperatorRegistry` for why `mock!`.
#[cfg(any(test, feature = "mock"))]
mockall::mock! {
    pub ResponseSubmitter {}

    #[async_trait]
    impl ResponseSubmitter for ResponseSubmitter {
        async fn submit(
            &self,
            request: &SubmissionRequest,
        ) -> Result<SubmissionReceipt, SubmitError>;

        async fn already_responded(
            &self,
            request: &SubmissionRequest,
        ) -> Result<Option<SubmissionReceipt>, SubmitError>;
    }
}
