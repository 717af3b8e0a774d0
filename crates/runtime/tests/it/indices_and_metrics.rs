//! `update_response_indices` and the metrics the runtime reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use quorate_domain::{QuorumNumber, Stake, TaskId};
use quorate_runtime::memory::InMemoryOperator;
use quorate_testkit::*;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn update_response_indices_rereads_only_the_indices_for_the_new_block() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 60)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send(1, 1, digest(1)).await.unwrap();
    let agg = f
        .core
        .wait_for_aggregation(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert_eq!(agg.indices.non_signer_quorum_bitmap_indices, vec![0]);
    // A later registry update (same operators) moves the update indices.
    let same: Vec<_> = f
        .keys
        .iter()
        .map(|k| InMemoryOperator {
            pubkey_g1: k.public_g1(),
            pubkey_g2: k.public_g2(),
            stakes: BTreeMap::from([(QuorumNumber(0), Stake::from(100u8))]),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    f.registry.set_operators(BLOCK + 5, same).unwrap();
    let calls = f.registry.index_calls();
    let updated = f
        .core
        .update_response_indices(&agg, BLOCK + 7)
        .await
        .unwrap();
    assert_eq!(f.registry.index_calls(), calls + 1);
    assert_eq!(updated.reference_block, BLOCK + 7);
    assert_eq!(updated.indices.non_signer_quorum_bitmap_indices, vec![1]);
    assert_eq!(updated.indices.quorum_apk_indices, vec![1]);
    // Everything but the indices and the block is untouched.
    assert_eq!(updated.signers_agg_sig_g1, agg.signers_agg_sig_g1);
    assert_eq!(updated.non_signer_ids, agg.non_signer_ids);
    // A block before any operator set is a registry error naming the task.
    assert!(matches!(
        f.core.update_response_indices(&agg, 1).await,
        Err(quorate_domain::AggregationError::Registry { task_id, .. }) if task_id == TaskId::from(1u32)
    ));
}

#[test]
fn metrics_count_tasks_and_rejections_by_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
            f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
            let _ = f.send_forged(0, 1, digest(1)).await;
            f.send(0, 1, digest(1)).await.unwrap();
            let _ = f.send(0, 1, digest(1)).await;
            f.send(1, 1, digest(1)).await.unwrap();
            f.core
                .wait_for_aggregation(TaskId::from(1u32), WAIT)
                .await
                .unwrap();
        });
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let counter = |name: &str, label: Option<(&str, &str)>| -> u64 {
        snapshot
            .iter()
            .filter(|(key, _, _, _)| key.key().name() == name)
            .filter(|(key, _, _, _)| {
                label
                    .is_none_or(|(k, v)| key.key().labels().any(|l| l.key() == k && l.value() == v))
            })
            .map(|(_, _, _, value)| match value {
                DebugValue::Counter(c) => *c,
                _ => 0,
            })
            .sum()
    };
    use quorate_runtime::metrics as m;
    assert_eq!(counter(m::TASKS_INITIALIZED, None), 1);
    assert_eq!(counter(m::TASKS_AGGREGATED, None), 1);
    assert_eq!(counter(m::SIGNATURES_ACCEPTED, None), 2);
    assert_eq!(
        counter(
            m::SIGNATURES_REJECTED,
            Some(("reason", "incorrect_signature"))
        ),
        1
    );
    assert_eq!(
        counter(
            m::SIGNATURES_REJECTED,
            Some(("reason", "duplicate_signature"))
        ),
        1
    );
}
