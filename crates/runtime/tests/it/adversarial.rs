//! Adversarial signatures through the whole pipeline on real BN254 keys: each bad signature
//! gets its own error without disturbing other tasks, and a pair of invalid signatures whose
//! errors cancel in the sum is rejected in eager (batched) mode and harmless in optimistic mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quorate_bls::ark::{Fr, G1Projective};
use quorate_bls::{Bn254Scheme, KeyPair, Signature};
use quorate_domain::{
    AggregationError, OperatorId, QuorumNumber, ResponseDigest, SignatureScheme,
    SignatureVerificationError, SignedTaskResponse, Stake, SubmissionRequest, TaskId, TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore, SignatureOutcome, VerificationMode};
use rand::SeedableRng;

const BLOCK: u64 = 3;
const WAIT: Duration = Duration::from_secs(30);

type Core = AggregatorCore<Bn254Scheme, InMemoryRegistry<Bn254Scheme>>;

struct Setup {
    scheme: Arc<Bn254Scheme>,
    registry: Arc<InMemoryRegistry<Bn254Scheme>>,
    keys: Vec<KeyPair>,
    ids: Vec<OperatorId>,
    core: Core,
}

/// Operators 0..n in quorum 0 (stake 10 each); operator `n` only in quorum 1; and a second
/// registration of operator 0's key (which collapses onto operator 0's id).
fn setup(n: usize, mode: VerificationMode) -> Setup {
    let scheme = Arc::new(Bn254Scheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 2));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
    let keys: Vec<KeyPair> = (0..=n).map(|_| KeyPair::random(&mut rng)).collect();
    let op = |k: &KeyPair, q: u8| InMemoryOperator {
        pubkey_g1: *k.public_g1(),
        pubkey_g2: k.public_g2().clone(),
        stakes: BTreeMap::from([(QuorumNumber(q), Stake::from(10u64))]),
        proof_of_possession: k.proof_of_possession(),
    };
    let mut ops: Vec<_> = keys[..n].iter().map(|k| op(k, 0)).collect();
    ops.push(op(&keys[n], 1));
    ops.push(op(&keys[0], 0)); // duplicate key
    let ids = registry.set_operators(BLOCK, ops).unwrap();
    assert_eq!(ids[n + 1], ids[0], "a duplicate key is the same operator");
    let core = AggregatorCore::new(
        AggregatorConfig {
            verification_mode: mode,
            verification_threads: 1,
            ..AggregatorConfig::default()
        },
        Arc::clone(&registry),
        Arc::clone(&scheme),
    )
    .unwrap();
    Setup {
        scheme,
        registry,
        keys,
        ids,
        core,
    }
}

fn task(id: u32, threshold: u8) -> TaskMetadata {
    TaskMetadata::from_raw(TaskId::from(id), BLOCK, &[(0, threshold)], WAIT).unwrap()
}

fn digest(b: u8) -> ResponseDigest {
    ResponseDigest::new([b; 32])
}

impl Setup {
    fn signed(&self, op: usize, task: u32, d: ResponseDigest) -> SignedTaskResponse<Signature> {
        self.with_sig(op, task, d, self.keys[op].sign_digest(&d))
    }

    fn with_sig(
        &self,
        op: usize,
        task: u32,
        d: ResponseDigest,
        signature: Signature,
    ) -> SignedTaskResponse<Signature> {
        SignedTaskResponse {
            task_id: TaskId::from(task),
            digest: d,
            signature,
            operator_id: self.ids[op],
        }
    }

    /// Operators `a` and `b` sign `d` with errors `+E` and `−E`: each invalid, the sum honest.
    fn cancelling_pair(&self, a: usize, b: usize, d: ResponseDigest) -> (Signature, Signature) {
        let e = G1Projective::from(*self.keys[2].public_g1().as_affine()) * Fr::from(77u64);
        let shift = |s: Signature, e: G1Projective| {
            use quorate_bls::ark::G1Affine;
            let p: G1Affine = (G1Projective::from(*s.as_affine()) + e).into();
            Signature::from_affine(p).unwrap()
        };
        (
            shift(self.keys[a].sign_digest(&d), e),
            shift(self.keys[b].sign_digest(&d), -e),
        )
    }

    fn submitter(&self) -> InMemorySubmitter<Bn254Scheme, InMemoryRegistry<Bn254Scheme>> {
        InMemorySubmitter::new(Arc::clone(&self.scheme), Arc::clone(&self.registry))
    }

    fn honest_sigma(&self, ops: &[usize], d: ResponseDigest) -> quorate_domain::G1Point {
        let sigs: Vec<_> = ops.iter().map(|&i| self.keys[i].sign_digest(&d)).collect();
        let refs: Vec<_> = sigs.iter().map(|s| (s, 1u64)).collect();
        self.scheme
            .encode_signature(&self.scheme.aggregate_signatures(&refs))
    }
}

fn reason(r: Result<SignatureOutcome, AggregationError>) -> SignatureVerificationError {
    match r {
        Err(AggregationError::SignatureVerification { reason, .. }) => reason,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

#[tokio::test]
async fn each_bad_signature_gets_its_own_error_and_leaves_other_tasks_alone() {
    let s = setup(3, VerificationMode::Eager);
    // Early: task 2 is not initialized yet.
    assert!(matches!(
        s.core
            .process_signed_response(s.signed(2, 2, digest(2)))
            .await,
        Ok(SignatureOutcome::Buffered { .. })
    ));
    s.core.initialize_task(task(1, 60)).await.unwrap();
    s.core.initialize_task(task(2, 60)).await.unwrap();
    // Signed another digest than the one claimed.
    let mut wrong = s.signed(0, 1, digest(9));
    wrong.digest = digest(1);
    assert_eq!(
        reason(s.core.process_signed_response(wrong).await),
        SignatureVerificationError::IncorrectSignature
    );
    // Someone else's signature.
    let stolen = s.with_sig(1, 1, digest(1), s.keys[0].sign_digest(&digest(1)));
    assert_eq!(
        reason(s.core.process_signed_response(stolen).await),
        SignatureVerificationError::IncorrectSignature
    );
    // Unknown operator.
    let mut stranger = s.signed(0, 1, digest(1));
    stranger.operator_id = OperatorId::new([0xee; 32]).unwrap();
    assert_eq!(
        reason(s.core.process_signed_response(stranger).await),
        SignatureVerificationError::OperatorNotFound
    );
    // Registered, but only in quorum 1.
    assert_eq!(
        reason(
            s.core
                .process_signed_response(s.signed(3, 1, digest(1)))
                .await
        ),
        SignatureVerificationError::OperatorNotInQuorums
    );
    // Operator 0, then "operator 4" (the same key registered twice): a duplicate.
    assert!(matches!(
        s.core
            .process_signed_response(s.signed(0, 1, digest(1)))
            .await,
        Ok(SignatureOutcome::Accepted { verified: true, .. })
    ));
    assert_eq!(
        reason(
            s.core
                .process_signed_response(s.with_sig(
                    4,
                    1,
                    digest(1),
                    s.keys[0].sign_digest(&digest(1))
                ))
                .await
        ),
        SignatureVerificationError::DuplicateSignature
    );
    // Task 2 was not disturbed: its buffered signature plus one more complete it.
    s.core
        .process_signed_response(s.signed(1, 2, digest(2)))
        .await
        .unwrap();
    let agg2 = s
        .core
        .wait_for_aggregation(TaskId::from(2u32), WAIT)
        .await
        .unwrap();
    assert_eq!(agg2.signers_agg_sig_g1, s.honest_sigma(&[1, 2], digest(2)));
    // Task 1 completes with operator 1; a late signature is told so.
    s.core
        .process_signed_response(s.signed(1, 1, digest(1)))
        .await
        .unwrap();
    let agg1 = s
        .core
        .wait_for_aggregation(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert!(matches!(
        s.core
            .process_signed_response(s.signed(2, 1, digest(1)))
            .await,
        Err(AggregationError::TaskCompleted { .. })
    ));
    let submitter = s.submitter();
    for agg in [agg1, agg2] {
        submitter
            .check(&SubmissionRequest {
                aggregate: (*agg).clone(),
                payload: vec![],
            })
            .await
            .unwrap();
    }
    let st = s.core.stats();
    assert_eq!(st.tasks_aggregated, 2);
    assert_eq!(st.signatures_rejected, 6);
    s.core.shutdown().await;
}

#[tokio::test]
async fn eager_mode_rejects_both_halves_of_a_cancelling_pair() {
    let s = setup(3, VerificationMode::Eager);
    s.core.initialize_task(task(1, 60)).await.unwrap();
    let (s0, s1) = s.cancelling_pair(0, 1, digest(1));
    // Concurrently, so both can land in one verification batch: the random coefficients keep
    // the errors from cancelling there too.
    let (r0, r1) = tokio::join!(
        s.core
            .process_signed_response(s.with_sig(0, 1, digest(1), s0)),
        s.core
            .process_signed_response(s.with_sig(1, 1, digest(1), s1)),
    );
    assert_eq!(reason(r0), SignatureVerificationError::IncorrectSignature);
    assert_eq!(reason(r1), SignatureVerificationError::IncorrectSignature);
    // The rejected operators may still sign honestly.
    for op in [0, 1] {
        s.core
            .process_signed_response(s.signed(op, 1, digest(1)))
            .await
            .unwrap();
    }
    let agg = s
        .core
        .wait_for_aggregation(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert_eq!(agg.signers_agg_sig_g1, s.honest_sigma(&[0, 1], digest(1)));
    s.core.shutdown().await;
}

/// In optimistic mode signatures are counted unverified and only the aggregate is checked, so
/// `σ₀ + E` and `σ₁ − E` pass: their sum is exactly `σ₀ + σ₁`.
///
/// This is harmless. The aggregate is bit-for-bit the one the two honest signatures would have
/// produced, so the on-chain `checkSignatures` (the γ-trick check replicated by
/// `InMemorySubmitter::check`) accepts it for the same signers and the same stake, and it attests
/// to exactly the statement "operators 0 and 1 signed this digest". Producing such a pair needs
/// `σ₀` and `σ₁` (or both secrets) in the first place: it cannot forge a signature from an
/// operator that did not sign (that would be a forgery against the aggregate, which the pairing
/// check refutes), nor add a non-signer's stake. The contract only ever sees the sum, so the
/// individual signatures being malformed changes nothing there. What we lose is attribution of
/// each individual signature, which optimistic mode gives up by design (callers are told
/// `verified: false`).
#[tokio::test]
async fn optimistic_mode_counts_a_cancelling_pair_and_the_checker_accepts_the_honest_sum() {
    let s = setup(3, VerificationMode::Optimistic);
    s.core.initialize_task(task(1, 60)).await.unwrap();
    let (s0, s1) = s.cancelling_pair(0, 1, digest(1));
    for (op, sig) in [(0, s0), (1, s1)] {
        assert!(matches!(
            s.core
                .process_signed_response(s.with_sig(op, 1, digest(1), sig))
                .await,
            Ok(SignatureOutcome::Accepted {
                verified: false,
                ..
            })
        ));
    }
    let agg = s
        .core
        .wait_for_aggregation(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    let mut signers = vec![s.ids[0], s.ids[1]];
    signers.sort();
    assert_eq!(agg.signer_ids, signers);
    assert_eq!(agg.signers_agg_sig_g1, s.honest_sigma(&[0, 1], digest(1)));
    let submitter = s.submitter();
    let request = SubmissionRequest {
        aggregate: (*agg).clone(),
        payload: vec![1],
    };
    let signed = submitter.check(&request).await.unwrap();
    assert_eq!(signed, vec![Stake::from(20u64)]);
    s.core
        .submit_aggregated_response(&submitter, &agg, vec![1])
        .await
        .unwrap();
    s.core.shutdown().await;
}
