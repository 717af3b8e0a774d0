//! The pool's merging, lanes and panic isolation.
#![allow(clippy::unwrap_used)]

use super::*;
use quorate_bls::{Bn254Scheme, KeyPair};
use rand::SeedableRng;

type SumAnswer = oneshot::Receiver<Result<Option<CheckedAggregate<Bn254Scheme>>, PoolError>>;

/// A Sum job for `n` signers of `digest`; `forge` adds a wrong signature.
fn sum_job(keys: &[KeyPair], digest: [u8; 32], forge: bool) -> (Job<Bn254Scheme>, SumAnswer) {
    let d = ResponseDigest::new(digest);
    let message = quorate_bls::MessagePoint::hash(&digest);
    let mut signatures: Vec<_> = keys.iter().map(|k| (k.sign(&digest), 1)).collect();
    if forge {
        signatures[0].0 = keys[1].sign(&digest);
    }
    let keys = keys.iter().map(|k| (k.public_g2().clone(), 1)).collect();
    let (reply, rx) = oneshot::channel();
    let job = Job::Sum {
        digest: d,
        message,
        signatures,
        keys,
        reply,
    };
    (job, rx)
}

#[test]
fn merged_aggregate_checks_answer_each_task() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let keys: Vec<KeyPair> = (0..5).map(|_| KeyPair::random(&mut rng)).collect();
    let mut jobs = Vec::new();
    let mut replies = Vec::new();
    for (t, forge) in [(1u8, false), (2, true), (3, false), (4, true)] {
        let (job, rx) = sum_job(&keys, [t; 32], forge);
        jobs.push(job);
        replies.push(rx);
    }
    run_jobs(&Bn254Scheme, &InvalidShare::default(), jobs);
    let verdicts: Vec<bool> = replies
        .into_iter()
        .map(|mut rx| rx.try_recv().unwrap().unwrap().is_some())
        .collect();
    assert_eq!(verdicts, vec![true, false, true, false]);
    // Alone, each job gets the same answer.
    let (job, mut rx) = sum_job(&keys, [2; 32], true);
    run_jobs(&Bn254Scheme, &InvalidShare::default(), vec![job]);
    assert!(rx.try_recv().unwrap().unwrap().is_none());
}

#[test]
fn a_search_runs_as_its_own_batch_and_fresh_signatures_merge() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
    let keys: Vec<KeyPair> = (0..4).map(|_| KeyPair::random(&mut rng)).collect();
    let (a, mut a_rx) = oneshot::channel();
    let (b, mut b_rx) = oneshot::channel();
    let (c, mut c_rx) = oneshot::channel();
    let jobs = vec![
        Job::Items {
            items: items(&keys[..2], 10, false),
            checking: Checking::Merged,
            reply: a,
        },
        Job::Items {
            items: items(&keys, 20, true),
            checking: Checking::Apart,
            reply: b,
        },
        Job::Items {
            items: items(&keys[..3], 30, true),
            checking: Checking::Merged,
            reply: c,
        },
    ];
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        run_jobs(&Bn254Scheme, &InvalidShare::default(), jobs)
    });
    let mut sizes: Vec<f64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == crate::metrics::VERIFICATION_BATCH_SIZE)
        .flat_map(|(.., value)| match value {
            DebugValue::Histogram(h) => h.into_iter().map(|v| v.into_inner()).collect(),
            _ => Vec::new(),
        })
        .collect();
    sizes.sort_by(f64::total_cmp);
    // The two fresh jobs merged (2 + 3 items); the search ran apart (4 items).
    assert_eq!(sizes, vec![4.0, 5.0]);
    assert_eq!(a_rx.try_recv().unwrap().unwrap(), vec![true, true]);
    assert_eq!(
        b_rx.try_recv().unwrap().unwrap(),
        vec![false, true, true, true]
    );
    assert_eq!(c_rx.try_recv().unwrap().unwrap(), vec![false, true, true]);
}

fn items(keys: &[KeyPair], tag: u8, forge: bool) -> Vec<VerifyItem<Bn254Scheme>> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let digest = [tag.wrapping_add(i as u8); 32];
            let signer = if forge && i == 0 { &keys[1] } else { k };
            VerifyItem {
                digest: ResponseDigest::new(digest),
                message: quorate_bls::MessagePoint::hash(&digest),
                signature: signer.sign(&digest),
                key: k.public_g2().clone(),
            }
        })
        .collect()
}

#[tokio::test]
async fn aggregate_checks_overtake_queued_per_signature_work() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let keys: Vec<KeyPair> = (0..4).map(|_| KeyPair::random(&mut rng)).collect();
    let (normal_tx, normal) = mpsc::channel(16);
    let (priority_tx, priority) = mpsc::channel(16);
    let mut lanes = Lanes::<Bn254Scheme> { priority, normal };
    // Five per-signature jobs are queued before the aggregate check.
    for job in 0..5u8 {
        let (reply, _rx) = oneshot::channel();
        let items = items(&keys, job * 10, false);
        let checking = Checking::Merged;
        let job = Job::Items {
            items,
            checking,
            reply,
        };
        normal_tx.send(job).await.unwrap();
    }
    let (sum, _rx) = sum_job(&keys, [200; 32], false);
    priority_tx.send(sum).await.unwrap();
    // The dispatcher takes the aggregate check first...
    assert!(matches!(lanes.next().await, Some(Job::Sum { .. })));
    // ...and an aggregate check queued while a batch fills is merged into it first.
    let first = lanes.next().await.unwrap();
    let mut jobs = vec![first];
    let (sum, _rx) = sum_job(&keys, [201; 32], false);
    priority_tx.send(sum).await.unwrap();
    lanes.fill(&mut jobs, 4, 1_000);
    assert_eq!(
        jobs.len(),
        6,
        "four queued jobs and the aggregate check merged"
    );
    assert!(matches!(jobs.get(1), Some(Job::Sum { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_and_lone_checks_give_the_same_verdicts() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    let keys: Vec<KeyPair> = (0..6).map(|_| KeyPair::random(&mut rng)).collect();
    let pool = Arc::new(VerificationPool::start_with(
        Arc::new(Bn254Scheme),
        PoolSizing {
            threads: 1,
            queue_capacity: 64,
            max_batch: 64,
        },
    ));
    let mut handles = Vec::new();
    for job in 0..8u8 {
        let pool = Arc::clone(&pool);
        let items = items(&keys, job * 10, job % 3 == 0);
        handles.push(tokio::spawn(async move {
            (job, pool.verify(items, Checking::Merged).await.unwrap())
        }));
    }
    for h in handles {
        let (job, verdicts) = h.await.unwrap();
        let forged = job % 3 == 0;
        assert_eq!(verdicts[0], !forged, "job {job}");
        assert!(verdicts[1..].iter().all(|ok| *ok), "job {job}");
    }
    // Alone, each item is checked on its own with the same verdicts.
    let alone = pool
        .verify(items(&keys, 0, true), Checking::Alone)
        .await
        .unwrap();
    assert_eq!(alone, vec![false, true, true, true, true, true]);
}
