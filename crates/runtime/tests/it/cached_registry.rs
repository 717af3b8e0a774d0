//! The one operator-set cache, tested against a mocked registry (the port mocked with
//! mockall): how often the registry is read is exactly what the cache promises.

use std::sync::Arc;

use quorate_bls::fake::FakeScheme;
use quorate_domain::AggregationError;
use quorate_domain::{
    CheckSignaturesIndices, MockOperatorRegistry, MockResponseSubmitter, OperatorRegistry,
    QuorumNumber, RegistryError, SubmitError,
};
use quorate_runtime::CachedRegistry;
use quorate_testkit::{config, fixture, BLOCK};

type State = Arc<quorate_domain::SchemeOperatorState<FakeScheme>>;

/// A real operator state (three operators in quorum 0) to hand out from the mock.
async fn state() -> State {
    let f = fixture(&[&[(0, 10)], &[(0, 20)], &[(0, 30)]], config());
    f.registry
        .operator_state(BLOCK, &[QuorumNumber(0)])
        .await
        .expect("fixture state")
}

fn cached(
    mock: MockOperatorRegistry<FakeScheme>,
    capacity: usize,
) -> Arc<CachedRegistry<FakeScheme, MockOperatorRegistry<FakeScheme>>> {
    Arc::new(CachedRegistry::new(mock, Arc::new(FakeScheme), capacity))
}

#[tokio::test]
async fn concurrent_tasks_at_one_block_read_the_registry_once() {
    let s = state().await;
    let mut mock = MockOperatorRegistry::new();
    mock.expect_operator_state()
        .times(1)
        .returning(move |_, _| Ok(Arc::clone(&s)));
    let registry = cached(mock, 4);
    let q = [QuorumNumber(0)];
    let reads = (0..16).map(|_| {
        let registry = Arc::clone(&registry);
        tokio::spawn(async move { registry.operator_set(BLOCK, &q).await })
    });
    let sets: Vec<_> = futures_join(reads).await;
    assert!(
        sets.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])),
        "one shared set"
    );
    assert_eq!(sets[0].operators.len(), 3);
    // The port itself answers from the same entry.
    let state = registry.operator_state(BLOCK, &q).await.expect("cached");
    assert_eq!(state.operators.len(), 3);
    assert_eq!(registry.cached(), 1);
}

#[tokio::test]
async fn the_oldest_set_is_evicted_beyond_capacity_and_read_again() {
    let s = state().await;
    let mut mock = MockOperatorRegistry::new();
    // Blocks 1 and 3 once each; block 2 twice (evicted by 3, asked again).
    for (block, times) in [(1u64, 1usize), (2, 2), (3, 1)] {
        let s = Arc::clone(&s);
        mock.expect_operator_state()
            .withf(move |b, _| *b == block)
            .times(times)
            .returning(move |_, _| Ok(Arc::clone(&s)));
    }
    let registry = cached(mock, 2);
    let q = [QuorumNumber(0)];
    for block in [2, 3, 3, 1, 2] {
        registry.operator_set(block, &q).await.expect("set");
    }
    assert_eq!(registry.cached(), 2);
}

#[tokio::test]
async fn a_failed_read_is_not_cached() {
    let s = state().await;
    let mut mock = MockOperatorRegistry::new();
    let mut seq = mockall::Sequence::new();
    mock.expect_operator_state()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|block, _| {
            Err(RegistryError::Unavailable {
                reason: format!("node down at block {block}"),
            })
        });
    mock.expect_operator_state()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _| Ok(Arc::clone(&s)));
    let registry = cached(mock, 4);
    let q = [QuorumNumber(0)];
    let err = registry
        .operator_set(BLOCK, &q)
        .await
        .expect_err("first read fails");
    assert!(err.to_string().contains("node down"), "{err}");
    assert_eq!(
        registry
            .operator_set(BLOCK, &q)
            .await
            .expect("retried")
            .operators
            .len(),
        3
    );
}

#[tokio::test]
async fn indices_are_always_asked_of_the_registry() {
    let mut mock = MockOperatorRegistry::<FakeScheme>::new();
    mock.expect_check_signatures_indices()
        .times(2)
        .returning(|_, _, ids| {
            Ok(CheckSignaturesIndices {
                non_signer_quorum_bitmap_indices: vec![7; ids.len()],
                ..CheckSignaturesIndices::default()
            })
        });
    let registry = cached(mock, 4);
    let ids = [quorate_domain::OperatorId::new([1; 32]).expect("non-zero id")];
    for _ in 0..2 {
        let got = registry
            .check_signatures_indices(BLOCK, &[QuorumNumber(0)], &ids)
            .await
            .expect("indices");
        assert_eq!(got.non_signer_quorum_bitmap_indices, vec![7]);
    }
}

#[tokio::test]
async fn a_submitter_error_reaches_the_caller_typed_with_its_task() {
    let f = fixture(&[&[(0, 10)]], config());
    let mut submitter = MockResponseSubmitter::new();
    submitter.expect_submit().times(1).returning(|request| {
        Err(SubmitError::Reverted {
            task_id: request.aggregate.task_id,
            reason: "InvalidBLSSignature".into(),
        })
    });
    let aggregate = quorate_domain::AggregatedResponse {
        task_id: quorate_domain::TaskId::from(9u64),
        digest: quorate_testkit::digest(1),
        reference_block: BLOCK,
        quorum_numbers: vec![QuorumNumber(0)],
        signer_ids: Vec::new(),
        non_signer_ids: Vec::new(),
        non_signer_pubkeys_g1: Vec::new(),
        quorum_apks_g1: Vec::new(),
        signers_apk_g2: Default::default(),
        signers_agg_sig_g1: Default::default(),
        indices: Default::default(),
        signed_stake: Vec::new(),
        total_stake: Vec::new(),
    };
    let err = f
        .core
        .submit_aggregated_response(&submitter, &aggregate, vec![1])
        .await
        .expect_err("reverted");
    match err {
        AggregationError::Submit(SubmitError::Reverted { task_id, reason }) => {
            assert_eq!(task_id, aggregate.task_id);
            assert_eq!(reason, "InvalidBLSSignature");
        }
        other => panic!("expected a typed revert, got {other:?}"),
    }
}

async fn futures_join<T: std::fmt::Debug>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, RegistryError>>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("joined").expect("read"));
    }
    out
}
