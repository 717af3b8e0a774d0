//! Test fixtures for Quorate's crates (a dev-dependency only): operators with fake-scheme keys
//! and chosen stakes in an in-memory registry, around an [`AggregatorCore`], and the helpers the
//! tests repeat (sign, forge, send, the expected aggregate).
//!
//! ```
//! # async fn demo() {
//! use quorate_testkit::{config, digest, fixture, task};
//! // Two operators with stake 10 in quorum 0; a task needing 60 % of it.
//! let f = fixture(&[&[(0, 10)], &[(0, 10)]], config());
//! f.core.initialize_task(task(1, &[(0, 60)])).await.unwrap();
//! f.send(0, 1, digest(7)).await.unwrap();
//! f.send(1, 1, digest(7)).await.unwrap();
//! # }
//! ```

// Every dependency in Cargo.toml is used (CI: clippy -D warnings).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]
// Fixtures panic on a broken setup by design: a test that cannot build its world should stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bn254;
pub mod scheme_suite;
pub mod vectors;

pub use bn254::bn254_registry;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quorate_bls::fake::{FakeKeyPair, FakePoint, FakeScheme};
use quorate_domain::{
    AggregationError, OperatorId, QuorumNumber, ResponseDigest, SignedTaskResponse, Stake, TaskId,
    TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore, SignatureOutcome};

/// The core every fixture builds: fake scheme, in-memory registry.
pub type Core = AggregatorCore<FakeScheme, InMemoryRegistry<FakeScheme>>;

/// The reference block the fixture registers its operators at.
pub const BLOCK: u64 = 10;

/// Operators, their keys and a core over them.
pub struct Fixture {
    /// The signature scheme (shared with registry and core).
    pub scheme: Arc<FakeScheme>,
    /// The registry the operators are registered in, at [`BLOCK`].
    pub registry: Arc<InMemoryRegistry<FakeScheme>>,
    /// Operator `i`'s key pair.
    pub keys: Vec<FakeKeyPair>,
    /// Operator `i`'s id.
    pub ids: Vec<OperatorId>,
    /// The core under test.
    pub core: Core,
}

/// Operators `i` with stakes `(quorum, stake)`, registered at `BLOCK`.
pub fn fixture(operators: &[&[(u8, u64)]], config: AggregatorConfig) -> Fixture {
    let scheme = Arc::new(FakeScheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 4));
    let keys: Vec<FakeKeyPair> = (0..operators.len())
        .map(|i| FakeKeyPair::new(1000 + i as u64))
        .collect();
    let ops = keys
        .iter()
        .zip(operators)
        .map(|(k, stakes)| InMemoryOperator {
            pubkey_g1: k.public_g1(),
            pubkey_g2: k.public_g2(),
            stakes: stakes
                .iter()
                .map(|&(q, s)| (QuorumNumber(q), Stake::from(s)))
                .collect::<BTreeMap<_, _>>(),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    let ids = registry.set_operators(BLOCK, ops).unwrap();
    let core = AggregatorCore::new(config, Arc::clone(&registry), Arc::clone(&scheme))
        .unwrap_or_else(|e| panic!("fixture outside a tokio runtime: {e}"));
    Fixture {
        scheme,
        registry,
        keys,
        ids,
        core,
    }
}

/// `operators` operators over quorums `0..quorums`, operator `i` having `stake(i, q)` in quorum
/// `q` (`None`: not a member); registered at [`BLOCK`] as [`fixture`] does.
pub fn fixture_by(
    operators: usize,
    quorums: u8,
    stake: impl Fn(usize, u8) -> Option<u64>,
    config: AggregatorConfig,
) -> Fixture {
    let stakes: Vec<Vec<(u8, u64)>> = (0..operators)
        .map(|i| {
            (0..quorums)
                .filter_map(|q| stake(i, q).map(|s| (q, s)))
                .collect()
        })
        .collect();
    let stakes: Vec<&[(u8, u64)]> = stakes.iter().map(Vec::as_slice).collect();
    fixture(&stakes, config)
}

/// The default configuration with one verification thread (deterministic, cheap).
pub fn config() -> AggregatorConfig {
    AggregatorConfig {
        verification_threads: 1,
        ..AggregatorConfig::default()
    }
}

/// A response digest of 32 bytes `b`.
pub fn digest(b: u8) -> ResponseDigest {
    ResponseDigest::new([b; 32])
}

/// Task `id` at [`BLOCK`] with `(quorum, threshold %)` pairs and a 10 s expiry.
pub fn task(id: u32, quorums: &[(u8, u8)]) -> TaskMetadata {
    TaskMetadata::from_raw(TaskId::from(id), BLOCK, quorums, Duration::from_secs(10)).unwrap()
}

impl Fixture {
    /// Operator `op`'s honest signature of `d` for task `task`.
    pub fn signed(&self, op: usize, task: u32, d: ResponseDigest) -> SignedTaskResponse<FakePoint> {
        SignedTaskResponse {
            task_id: TaskId::from(task),
            digest: d,
            signature: self.keys[op].sign(&d),
            operator_id: self.ids[op],
        }
    }

    /// Like [`Fixture::signed`] with a signature that does not verify.
    pub fn forged(&self, op: usize, task: u32, d: ResponseDigest) -> SignedTaskResponse<FakePoint> {
        let mut s = self.signed(op, task, d);
        s.signature = FakePoint(s.signature.0 ^ 0x5);
        s
    }

    /// An in-memory submitter running the in-memory `checkSignatures` over this registry.
    pub fn submitter(&self) -> InMemorySubmitter<FakeScheme, InMemoryRegistry<FakeScheme>> {
        InMemorySubmitter::new(Arc::clone(&self.scheme), Arc::clone(&self.registry))
    }

    /// Task `task`'s aggregate: waits (up to a minute, paused clocks included) and panics
    /// if the task ended otherwise.
    pub async fn aggregated(&self, task: u32) -> Arc<quorate_domain::AggregatedResponse> {
        self.core
            .wait_for_aggregation(TaskId::from(task), Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("task {task} did not aggregate: {e}"))
    }

    /// Sends operator `op`'s honest signature of `d` for task `task` to the core.
    pub async fn send(
        &self,
        op: usize,
        task: u32,
        d: ResponseDigest,
    ) -> Result<SignatureOutcome, AggregationError> {
        self.core
            .process_signed_response(self.signed(op, task, d))
            .await
    }

    /// Sends operator `op`'s forged signature of `d` for task `task` to the core.
    pub async fn send_forged(
        &self,
        op: usize,
        task: u32,
        d: ResponseDigest,
    ) -> Result<SignatureOutcome, AggregationError> {
        self.core
            .process_signed_response(self.forged(op, task, d))
            .await
    }

    /// Sorted ids of the operators at the given positions.
    pub fn sorted_ids(&self, ops: &[usize]) -> Vec<OperatorId> {
        let mut v: Vec<_> = ops.iter().map(|&i| self.ids[i]).collect();
        v.sort();
        v
    }
}

/// A submission request for `agg` with an empty payload.
pub fn req(agg: &quorate_domain::AggregatedResponse) -> quorate_domain::SubmissionRequest {
    quorate_domain::SubmissionRequest {
        aggregate: agg.clone(),
        payload: Vec::new(),
    }
}

impl Fixture {
    /// The encoded Σ k·σ of the given operators over `digest(d)`.
    pub fn expected_sigma(&self, ops: &[(usize, u64)], d: u8) -> quorate_domain::G1Point {
        use quorate_domain::SignatureScheme;
        let sigs: Vec<_> = ops
            .iter()
            .map(|&(op, k)| (self.keys[op].sign(&digest(d)), k))
            .collect();
        let refs: Vec<_> = sigs.iter().map(|(s, k)| (s, *k)).collect();
        self.scheme
            .encode_signature(&self.scheme.aggregate_signatures(&refs))
    }
}
