//! Every limit reached, panic isolation, shutdown with tasks in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use quorate_bls::fake::FakeScheme;
use quorate_domain::{
    AggregationError, BlockNumber, CheckSignaturesIndices, LimitKind, OperatorId, OperatorRegistry,
    QuorumNumber, RegistryError, SchemeOperatorState, TaskId,
};
use quorate_runtime::{AggregatorConfig, AggregatorCore};
use quorate_testkit::*;

const WAIT: Duration = Duration::from_secs(60);

fn id(t: u32) -> TaskId {
    TaskId::from(t)
}

#[tokio::test(start_paused = true)]
async fn active_task_limit_rejects_with_a_typed_error() {
    let f = fixture(
        &[&[(0, 100)]],
        AggregatorConfig {
            max_active_tasks: 2,
            ..config()
        },
    );
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    f.core.initialize_task(task(2, &[(0, 100)])).await.unwrap();
    let err = f
        .core
        .initialize_task(task(3, &[(0, 100)]))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AggregationError::LimitReached {
            task_id: id(3),
            limit: LimitKind::ActiveTasks,
            max: 2
        }
    );
    // Once a task finishes, there is room again.
    f.send(0, 1, digest(1)).await.unwrap();
    f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
    f.core.initialize_task(task(3, &[(0, 100)])).await.unwrap();
    assert_eq!(f.core.stats().limits_reached, 1);
}

#[tokio::test(start_paused = true)]
async fn pending_limits_evict_the_oldest_task_and_cap_per_task() {
    let cfg = AggregatorConfig {
        max_pending_tasks: 2,
        max_pending_signatures_per_task: 1,
        ..config()
    };
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], cfg);
    f.send(0, 1, digest(1)).await.unwrap();
    let err = f.send(1, 1, digest(1)).await.unwrap_err();
    assert_eq!(
        err,
        AggregationError::LimitReached {
            task_id: id(1),
            limit: LimitKind::PendingSignaturesPerTask,
            max: 1
        }
    );
    f.send(0, 2, digest(1)).await.unwrap();
    f.send(0, 3, digest(1)).await.unwrap();
    assert_eq!(f.core.pending_sizes(), (2, 2));
    assert_eq!(f.core.stats().pending_dropped, 1);
}

#[tokio::test(start_paused = true)]
async fn digest_limit_rejects_new_digests_only() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 4];
    let f = fixture(
        &ops,
        AggregatorConfig {
            max_digests_per_task: 2,
            ..config()
        },
    );
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send(1, 1, digest(2)).await.unwrap();
    let err = f.send(2, 1, digest(3)).await.unwrap_err();
    assert_eq!(
        err,
        AggregationError::LimitReached {
            task_id: id(1),
            limit: LimitKind::DigestsPerTask,
            max: 2
        }
    );
    // A known digest is still fine.
    f.send(3, 1, digest(2)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stored_responses_are_evicted_fifo() {
    let f = fixture(
        &[&[(0, 100)]],
        AggregatorConfig {
            max_stored_responses: 2,
            ..config()
        },
    );
    for t in 1..=3u32 {
        f.core.initialize_task(task(t, &[(0, 100)])).await.unwrap();
        f.send(0, t, digest(1)).await.unwrap();
        f.core.wait_for_aggregation(id(t), WAIT).await.unwrap();
    }
    assert_eq!(f.core.stored_results(), 2);
    assert_eq!(
        f.core.wait_for_aggregation(id(1), WAIT).await.unwrap_err(),
        AggregationError::TaskNotFound { task_id: id(1) }
    );
    assert!(f.core.wait_for_aggregation(id(3), WAIT).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn task_queue_limit_rejects_floods() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 64];
    let f = fixture(
        &ops,
        AggregatorConfig {
            task_queue_capacity: 1,
            ..config()
        },
    );
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    let mut joins = Vec::new();
    for op in 0..64 {
        let core = f.core.clone();
        let signed = f.signed(op, 1, digest(1));
        joins.push(tokio::spawn(async move {
            core.process_signed_response(signed).await
        }));
    }
    let mut limited = 0;
    for j in joins {
        if let Err(AggregationError::LimitReached {
            limit: LimitKind::TaskQueue,
            ..
        }) = j.await.unwrap()
        {
            limited += 1;
        }
    }
    assert!(
        limited > 0,
        "a queue of one must overflow under 64 concurrent senders"
    );
}

/// Delegates to the in-memory registry, but panics when asked for quorum 1's indices.
struct PanickingRegistry(Arc<quorate_runtime::memory::InMemoryRegistry<FakeScheme>>);

#[async_trait::async_trait]
impl OperatorRegistry<FakeScheme> for PanickingRegistry {
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<SchemeOperatorState<FakeScheme>>, RegistryError> {
        self.0.operator_state(block, quorums).await
    }

    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        if quorums.contains(&QuorumNumber(1)) {
            panic!("registry bug");
        }
        self.0
            .check_signatures_indices(block, quorums, non_signer_ids)
            .await
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_one_task_is_reported_to_it_and_spares_the_others() {
    let f = fixture(&[&[(0, 100), (1, 100)]], config());
    let core = AggregatorCore::new(
        config(),
        Arc::new(PanickingRegistry(Arc::clone(&f.registry))),
        Arc::new(FakeScheme),
    )
    .unwrap();
    core.initialize_task(task(1, &[(1, 100)])).await.unwrap();
    core.initialize_task(task(2, &[(0, 100)])).await.unwrap();
    core.process_signed_response(f.signed(0, 1, digest(1)))
        .await
        .unwrap();
    core.process_signed_response(f.signed(0, 2, digest(1)))
        .await
        .unwrap();
    match core.wait_for_aggregation(id(1), WAIT).await {
        Err(AggregationError::Panicked { task_id, message }) => {
            assert_eq!(task_id, id(1));
            assert!(message.contains("registry bug"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(core.wait_for_aggregation(id(2), WAIT).await.is_ok());
    // The core still takes new work.
    core.initialize_task(task(3, &[(0, 100)])).await.unwrap();
    core.process_signed_response(f.signed(0, 3, digest(1)))
        .await
        .unwrap();
    assert!(core.wait_for_aggregation(id(3), WAIT).await.is_ok());
    assert_eq!(core.stats().tasks_failed, 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_tasks_in_flight_and_tells_their_waiters() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    for t in 1..=5u32 {
        f.core.initialize_task(task(t, &[(0, 100)])).await.unwrap();
    }
    let waiters: Vec<_> = (1..=5u32)
        .map(|t| {
            let core = f.core.clone();
            tokio::spawn(async move { core.wait_for_aggregation(TaskId::from(t), WAIT).await })
        })
        .collect();
    tokio::task::yield_now().await;
    f.core.shutdown().await;
    for (i, w) in waiters.into_iter().enumerate() {
        let t = TaskId::from(i as u32 + 1);
        assert_eq!(
            w.await.unwrap().unwrap_err(),
            AggregationError::Cancelled { task_id: t }
        );
    }
    assert_eq!(f.core.active_tasks(), 0);
    assert!(matches!(
        f.core.initialize_task(task(9, &[(0, 100)])).await,
        Err(AggregationError::Cancelled { .. })
    ));
    assert!(matches!(
        f.send(0, 1, digest(1)).await,
        Err(AggregationError::Cancelled { .. })
    ));
    let s = f.core.stats();
    assert_eq!((s.tasks_initialized, s.tasks_failed), (5, 5));
}

#[tokio::test(start_paused = true)]
async fn cancelling_one_task_ends_it_and_frees_its_slot() {
    let f = fixture(
        &[&[(0, 100)]],
        AggregatorConfig {
            max_active_tasks: 1,
            ..config()
        },
    );
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    f.core.cancel_task(id(1)).unwrap();
    assert_eq!(
        f.core.wait_for_aggregation(id(1), WAIT).await.unwrap_err(),
        AggregationError::Cancelled { task_id: id(1) }
    );
    assert_eq!(
        f.core.cancel_task(id(1)).unwrap_err(),
        AggregationError::TaskFinished { task_id: id(1) }
    );
    assert_eq!(
        f.core.cancel_task(id(7)).unwrap_err(),
        AggregationError::TaskNotFound { task_id: id(7) }
    );
    // The slot is free again, and the core still works.
    f.core.initialize_task(task(2, &[(0, 100)])).await.unwrap();
    f.send(0, 2, digest(1)).await.unwrap();
    assert!(f.core.wait_for_aggregation(id(2), WAIT).await.is_ok());
}
