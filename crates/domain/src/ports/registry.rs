//! The operator registry port: who may sign, with what keys and stake, at a block.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::RegistryError;
use crate::ids::{BlockNumber, OperatorId, QuorumNumber};
use crate::operators::OperatorState;
use crate::ports::SignatureScheme;
use crate::response::CheckSignaturesIndices;

/// The operator state of a scheme's key types.
pub type SchemeOperatorState<S> =
    OperatorState<<S as SignatureScheme>::G1PublicKey, <S as SignatureScheme>::G2PublicKey>;

/// Reads operator sets as EigenLayer's registries hold them at a given block.
///
/// Implementations should cache per (block, quorums): many tasks share a reference block.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OperatorRegistry<S: SignatureScheme>: Send + Sync + 'static {
    /// The operators of `quorums` at `block`, with keys, per-quorum stake, quorum totals and apks.
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<SchemeOperatorState<S>>, RegistryError>;

    /// `OperatorStateRetriever.getCheckSignaturesIndices` for sorted non-signer ids.
    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError>;
}
