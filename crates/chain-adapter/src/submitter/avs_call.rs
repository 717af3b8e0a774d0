//! What is sent is AVS-specific: an [`AvsResponseCall`] turns the aggregate and the AVS's
//! payload into calldata for its contract. [`crate::AvsProfile`] does it for any AVS from
//! its configuration.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes};
use quorate_domain::SubmissionRequest;

/// Builds the AVS contract call for one aggregate.
pub trait AvsResponseCall: Send + Sync + 'static {
    /// The contract to call.
    fn target(&self) -> Address;
    /// The calldata, or why this request cannot be submitted.
    fn calldata(&self, request: &SubmissionRequest) -> Result<Bytes, String>;

    /// Calldata of a view call on [`Self::target`] returning a `bytes32` that is non-zero
    /// once the request's task is answered (used after a crash to avoid answering twice);
    /// `None`: the AVS has no such record.
    fn answered_check(&self, request: &SubmissionRequest) -> Option<Bytes> {
        let _ = request;
        None
    }

    /// A readable form of the AVS's own revert data (its custom errors); `None`: not one.
    fn decode_revert(&self, data: &[u8]) -> Option<String> {
        let _ = data;
        None
    }
}

impl<T: AvsResponseCall + ?Sized> AvsResponseCall for Arc<T> {
    fn target(&self) -> Address {
        (**self).target()
    }
    fn calldata(&self, request: &SubmissionRequest) -> Result<Bytes, String> {
        (**self).calldata(request)
    }
    fn answered_check(&self, request: &SubmissionRequest) -> Option<Bytes> {
        (**self).answered_check(request)
    }
    fn decode_revert(&self, data: &[u8]) -> Option<String> {
        (**self).decode_revert(data)
    }
}
