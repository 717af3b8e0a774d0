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
/// Many tasks share a reference block: the runtime's `CachedRegistry` wraps any
/// implementation with one cache per (block, quorums), so implementations need not cache.
/// `&`, `Arc` and `Box` of a registry (`Arc<dyn OperatorRegistry<S>>` too) are registries
/// (`auto_impl`), so adapters never write forwarding code.
///
/// **Contract: every key returned has a proof of possession.** The runtime checks aggregates
/// (optimistic mode) and batches with random coefficients; both are sound only if no key is a
/// rogue key `pk − Σ others` chosen to cancel honest keys. An implementation may return only
/// keys whose holder proved knowledge of the secret when registering: on chain,
/// `BLSApkRegistry.registerBLSPublicKey` checks a signature over
/// `pubkeyRegistrationMessageHash(operator)` with the γ-trick pairing (which also proves the
/// G1 and G2 keys match); the in-memory registry checks a signature over
/// [`crate::proof_of_possession_digest`] the same way.
#[async_trait]
#[auto_impl::auto_impl(&, Arc, Box)]
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

// A mocked registry (`MockOperatorRegistry`) for unit tests of one layer. Declared with
// `mock!` rather than `automock`, which cannot be combined with `auto_impl` on the trait.
#[cfg(any(test, feature = "mock"))]
mockall::mock! {
    pub OperatorRegistry<S: SignatureScheme> {}

    #[async_trait]
    impl<S: SignatureScheme> OperatorRegistry<S> for OperatorRegistry<S> {
        async fn operator_state(
            &self,
            block: BlockNumber,
            quorums: &[QuorumNumber],
        ) -> Result<Arc<SchemeOperatorState<S>>, RegistryError>;

        async fn check_signatures_indices(
            &self,
            block: BlockNumber,
            quorums: &[QuorumNumber],
            non_signer_ids: &[OperatorId],
        ) -> Result<CheckSignaturesIndices, RegistryError>;
    }
}
