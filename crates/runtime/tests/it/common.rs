//! Shared fixtures for the runtime's tests: fake-scheme operators in an in-memory registry.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quorate_bls::fake::{FakeKeyPair, FakePoint, FakeScheme};
use quorate_domain::{
    OperatorId, QuorumNumber, ResponseDigest, SignedTaskResponse, Stake, TaskId, TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore};

pub type Core = AggregatorCore<FakeScheme, InMemoryRegistry<FakeScheme>>;

pub const BLOCK: u64 = 10;

pub struct Fixture {
    pub scheme: Arc<FakeScheme>,
    pub registry: Arc<InMemoryRegistry<FakeScheme>>,
    pub keys: Vec<FakeKeyPair>,
    pub ids: Vec<OperatorId>,
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
    let core = AggregatorCore::new(config, Arc::clone(&registry), Arc::clone(&scheme));
    Fixture {
        scheme,
        registry,
        keys,
        ids,
        core,
    }
}

pub fn config() -> AggregatorConfig {
    AggregatorConfig {
        verification_threads: 1,
        ..AggregatorConfig::default()
    }
}

pub fn digest(b: u8) -> ResponseDigest {
    ResponseDigest::new([b; 32])
}

pub fn task(id: u32, quorums: &[(u8, u8)]) -> TaskMetadata {
    TaskMetadata::from_raw(TaskId::from(id), BLOCK, quorums, Duration::from_secs(10)).unwrap()
}

impl Fixture {
    pub fn signed(&self, op: usize, task: u32, d: ResponseDigest) -> SignedTaskResponse<FakePoint> {
        SignedTaskResponse {
            task_id: TaskId::from(task),
            digest: d,
            signature: self.keys[op].sign(&d),
            operator_id: self.ids[op],
        }
    }

    pub fn forged(&self, op: usize, task: u32, d: ResponseDigest) -> SignedTaskResponse<FakePoint> {
        let mut s = self.signed(op, task, d);
        s.signature = FakePoint(s.signature.0 ^ 0x5);
        s
    }

    pub fn submitter(&self) -> InMemorySubmitter<FakeScheme, InMemoryRegistry<FakeScheme>> {
        InMemorySubmitter::new(Arc::clone(&self.scheme), Arc::clone(&self.registry))
    }

    /// Sorted ids of the operators at the given positions.
    pub fn sorted_ids(&self, ops: &[usize]) -> Vec<OperatorId> {
        let mut v: Vec<_> = ops.iter().map(|&i| self.ids[i]).collect();
        v.sort();
        v
    }
}

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
