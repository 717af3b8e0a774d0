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
///
/// **Contract: every key returned has a proof of possession.** The runtime checks aggregates
/// (optimistic mode) and batches with random coefficients; both are sound only if no key is a
/// rogue key `pk − Σ others` chosen to cancel honest keys. An implementation may return only
/// keys whose holder proved knowledge of the secret when registering: on chain,
/// `BLSApkRegistry.registerBLSPublicKey` checks a signature over
/// `pubkeyRegistrationMessageHash(operator)` with the γ-trick pairing (which also proves the
/// G1 and G2 keys match); the in-memory registry checks a signature over
/// [`crate::proof_of_possession_digest`] the same way.
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

/// A shared registry is a registry: `Arc<dyn OperatorRegistry<S>>` (or `Arc` of any
/// implementation) plugs in wherever one is expected, so adapters never write forwarding code.
/// (Written out once here rather than with `auto_impl`, which cannot see through the
/// `async_trait` and `automock` expansions of this trait.)
#[async_trait]
impl<S: SignatureScheme, T: OperatorRegistry<S> + ?Sized> OperatorRegistry<S> for Arc<T> {
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<SchemeOperatorState<S>>, RegistryError> {
        (**self).operator_state(block, quorums).await
    }

    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        (**self)
            .check_signatures_indices(block, quorums, non_signer_ids)
            .await
    }
}
