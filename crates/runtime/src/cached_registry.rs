//! The one cache of operator sets: a wrapper that is itself an [`OperatorRegistry`], so any
//! registry (on-chain, in-memory, an embedder's own) is read once per (block, quorums)
//! however many tasks share that reference block, and the aggregator gets the set already
//! indexed for its signature path.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dashmap::DashMap;
use quorate_domain::{
    BlockNumber, CheckSignaturesIndices, OperatorId, OperatorRegistry, QuorumNumber, RegistryError,
    SchemeOperatorState, SignatureScheme,
};
use tokio::sync::OnceCell;

use crate::operator_set::OperatorSet;
use crate::util::lock;

type CacheKey = (BlockNumber, Vec<QuorumNumber>);

/// One cached answer: the registry's state and the same set indexed.
struct Entry<S: SignatureScheme> {
    /// As the registry returned it.
    state: Arc<SchemeOperatorState<S>>,
    /// Indexed for the signature path.
    set: Arc<OperatorSet<S>>,
}

type Slot<S> = Arc<OnceCell<Entry<S>>>;

/// Caches `inner`'s operator sets per (block, quorums): the first caller reads the registry,
/// callers arriving meanwhile wait for that same read, and later ones are answered from
/// memory. Bounded: beyond `capacity` sets the oldest is evicted. Failed reads are not cached.
/// `check_signatures_indices` is passed through (its answer depends on the non-signers).
///
/// [`crate::AggregatorCore`] wraps the registry it is given in one of these; wrapping a
/// registry twice only adds a second copy of each set.
pub struct CachedRegistry<S: SignatureScheme, R> {
    /// The registry read on a miss.
    inner: R,
    /// Encodes keys while indexing.
    scheme: Arc<S>,
    /// The cached sets.
    entries: DashMap<CacheKey, Slot<S>>,
    /// Keys in insertion order, for eviction.
    order: Mutex<VecDeque<CacheKey>>,
    /// At most this many sets (≥ 1).
    capacity: usize,
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> CachedRegistry<S, R> {
    /// A cache of at most `capacity` (≥ 1) operator sets of `inner`.
    pub fn new(inner: R, scheme: Arc<S>, capacity: usize) -> Self {
        Self {
            inner,
            scheme,
            entries: DashMap::new(),
            order: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }

    /// The wrapped registry.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// How many sets are cached (including reads still in flight).
    pub fn cached(&self) -> usize {
        self.entries.len()
    }

    /// The indexed set of `quorums` at `block`, from the cache or the registry.
    pub async fn operator_set(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<OperatorSet<S>>, RegistryError> {
        Ok(self.entry(block, quorums).await?.1)
    }

    /// The cached (state, indexed set), read from `inner` on a miss.
    async fn entry(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<(Arc<SchemeOperatorState<S>>, Arc<OperatorSet<S>>), RegistryError> {
        let slot = self.slot(&(block, quorums.to_vec()));
        let entry = slot
            .get_or_try_init(|| async {
                let state = self.inner.operator_state(block, quorums).await?;
                let set = Arc::new(OperatorSet::build(&*self.scheme, &state, quorums)?);
                Ok::<_, RegistryError>(Entry { state, set })
            })
            .await?;
        Ok((Arc::clone(&entry.state), Arc::clone(&entry.set)))
    }

    fn slot(&self, key: &CacheKey) -> Slot<S> {
        if let Some(slot) = self.entries.get(key) {
            return Arc::clone(slot.value());
        }
        let slot = Arc::clone(self.entries.entry(key.clone()).or_default().value());
        let mut order = lock(&self.order);
        if !order.contains(key) {
            order.push_back(key.clone());
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                self.entries.remove(&old);
            }
        }
        slot
    }
}

#[async_trait]
impl<S: SignatureScheme, R: OperatorRegistry<S>> OperatorRegistry<S> for CachedRegistry<S, R> {
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<SchemeOperatorState<S>>, RegistryError> {
        Ok(self.entry(block, quorums).await?.0)
    }

    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        self.inner
            .check_signatures_indices(block, quorums, non_signer_ids)
            .await
    }
}
