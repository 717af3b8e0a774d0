//! The pool's merging, lanes and panic isolation.
#![allow(clippy::unwrap_used)]

use super::*;
use quorate_bls::fake::{FakeKeyPair, FakePoint, FakeScheme};
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
            min_concurrent_merged_batch: 8,
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

/// The fake scheme, whose single-signature check (a lone aggregate check) blocks until the
/// test opens the gate, and which records the size of every batched check.
struct Gated {
    /// Each `verify` waits for the next gate, while there is one.
    gates: std::sync::Mutex<Vec<std::sync::mpsc::Receiver<()>>>,
    /// Checks started: single and batched.
    started: std::sync::atomic::AtomicUsize,
    /// Items of each batched check.
    batches: std::sync::Mutex<Vec<usize>>,
}

impl Gated {
    /// A batched check of `items` started.
    fn record(&self, items: usize) {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.batches.lock().unwrap().push(items);
    }
}

impl SignatureScheme for Gated {
    type G1PublicKey = FakePoint;
    type G2PublicKey = FakePoint;
    type Signature = FakePoint;
    type MessagePoint = FakePoint;

    fn hash_to_g1(&self, digest: &ResponseDigest) -> FakePoint {
        FakeScheme.hash_to_g1(digest)
    }
    fn verify(&self, message: &FakePoint, signature: &FakePoint, key: &FakePoint) -> bool {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let gate = self.gates.lock().unwrap().pop();
        if let Some(gate) = gate {
            let _ = gate.recv();
        }
        FakeScheme.verify(message, signature, key)
    }
    fn verify_same_digest(
        &self,
        message: &FakePoint,
        items: &[(&FakePoint, &FakePoint)],
    ) -> Vec<usize> {
        self.record(items.len());
        FakeScheme.verify_same_digest(message, items)
    }
    fn verify_batch(&self, items: &[BatchItem<'_, Self>]) -> Vec<usize> {
        self.record(items.len());
        let items: Vec<BatchItem<'_, FakeScheme>> = items
            .iter()
            .map(|i| BatchItem {
                digest: i.digest,
                message: i.message,
                signature: i.signature,
                key: i.key,
            })
            .collect();
        FakeScheme.verify_batch(&items)
    }
    fn aggregate_signatures(&self, items: &[(&FakePoint, u64)]) -> FakePoint {
        FakeScheme.aggregate_signatures(items)
    }
    fn aggregate_g1(&self, items: &[(&FakePoint, i64)]) -> FakePoint {
        FakeScheme.aggregate_g1(items)
    }
    fn aggregate_g2(&self, items: &[(&FakePoint, i64)]) -> FakePoint {
        FakeScheme.aggregate_g2(items)
    }
    fn check_aggregate(
        &self,
        digest: &ResponseDigest,
        apk_g1: &FakePoint,
        apk_g2: &FakePoint,
        sigma: &FakePoint,
    ) -> bool {
        FakeScheme.check_aggregate(digest, apk_g1, apk_g2, sigma)
    }
    fn operator_id(&self, key: &FakePoint) -> quorate_domain::OperatorId {
        FakeScheme.operator_id(key)
    }
    fn encode_g1(&self, key: &FakePoint) -> quorate_domain::G1Point {
        FakeScheme.encode_g1(key)
    }
    fn encode_g2(&self, key: &FakePoint) -> quorate_domain::G2Point {
        FakeScheme.encode_g2(key)
    }
    fn encode_signature(&self, signature: &FakePoint) -> quorate_domain::G1Point {
        FakeScheme.encode_signature(signature)
    }
    fn decode_g1(
        &self,
        point: &quorate_domain::G1Point,
    ) -> Result<FakePoint, quorate_domain::PointDecodingError> {
        FakeScheme.decode_g1(point)
    }
    fn decode_g2(
        &self,
        point: &quorate_domain::G2Point,
    ) -> Result<FakePoint, quorate_domain::PointDecodingError> {
        FakeScheme.decode_g2(point)
    }
    fn decode_signature(
        &self,
        point: &quorate_domain::G1Point,
    ) -> Result<FakePoint, quorate_domain::PointDecodingError> {
        FakeScheme.decode_signature(point)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_little_merged_work_waits_for_the_running_batch_and_enough_starts_beside_it() {
    let (open, gate) = std::sync::mpsc::channel();
    let (open_again, gate_again) = std::sync::mpsc::channel();
    let scheme = Arc::new(Gated {
        gates: std::sync::Mutex::new(vec![gate_again, gate]),
        started: Default::default(),
        batches: Default::default(),
    });
    let started = || scheme.started.load(std::sync::atomic::Ordering::SeqCst);
    let pool = Arc::new(VerificationPool::start_with(
        Arc::clone(&scheme),
        PoolSizing {
            threads: 2,
            queue_capacity: 64,
            max_batch: 64,
            min_concurrent_merged_batch: 4,
        },
    ));
    let keys: Vec<FakeKeyPair> = (1..=3).map(FakeKeyPair::new).collect();
    let check = |tag: u8| {
        let pool = Arc::clone(&pool);
        let digest = ResponseDigest::new([tag; 32]);
        let signatures = keys.iter().map(|k| (k.sign(&digest), 1)).collect();
        let keys = keys.iter().map(|k| (k.public_g2(), 1)).collect();
        tokio::spawn(async move {
            let message = FakeScheme.hash_to_g1(&digest);
            pool.verify_sum(digest, message, signatures, keys).await
        })
    };
    let wait_until = |n: usize| async move {
        for _ in 0..500 {
            if started() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("{} checks started, expected {n}", started());
    };
    // One aggregate check runs alone, held at the gate.
    let first = check(1);
    wait_until(1).await;
    // Two more and one fresh signature (three, fewer than 4) wait for it although the second
    // thread is free.
    let few: Vec<_> = (2..=3).map(check).collect();
    let fresh = {
        let pool = Arc::clone(&pool);
        let digest = ResponseDigest::new([4; 32]);
        let item = VerifyItem {
            digest,
            message: FakeScheme.hash_to_g1(&digest),
            signature: keys[0].sign(&digest),
            key: keys[0].public_g2(),
        };
        tokio::spawn(async move { pool.verify(vec![item], Checking::Merged).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        started(),
        1,
        "a little merged work started beside the running batch"
    );
    // When the first ends, they run as one batch: the two checks merged, then the signature.
    open.send(()).unwrap();
    assert!(first.await.unwrap().unwrap().is_some());
    for f in few {
        assert!(f.await.unwrap().unwrap().is_some());
    }
    assert_eq!(fresh.await.unwrap().unwrap(), vec![true]);
    assert_eq!(*scheme.batches.lock().unwrap(), vec![2, 1]);
    // Again one held at the gate; four queued (enough) start beside it at once.
    let lone = check(10);
    wait_until(4).await;
    let many: Vec<_> = (11..=14).map(check).collect();
    wait_until(5).await;
    assert_eq!(*scheme.batches.lock().unwrap(), vec![2, 1, 4]);
    for m in many {
        assert!(m.await.unwrap().unwrap().is_some());
    }
    open_again.send(()).unwrap();
    assert!(lone.await.unwrap().unwrap().is_some());
}
