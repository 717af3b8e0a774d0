//! The verification pool: checks signatures on blocking threads, off the async executor,
//! merging the jobs queued at the same moment (across tasks and digests) into one batch.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use quorate_domain::{BatchItem, ResponseDigest, SignatureScheme};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::metrics as m;
use crate::util::{lock, panic_message};

/// One signature to check.
#[derive(Clone, Debug)]
pub struct VerifyItem<S: SignatureScheme> {
    /// The signed digest.
    pub digest: ResponseDigest,
    /// `hash_to_g1(digest)`.
    pub message: S::MessagePoint,
    /// The signature.
    pub signature: S::Signature,
    /// The signer's G2 key.
    pub key: S::G2PublicKey,
}

/// The pool failed to give a verdict (shut down, or the scheme panicked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// The pool is shut down.
    Closed,
    /// The scheme panicked while checking; the message is kept for the task's error.
    Panicked(String),
}

type Verdicts = Result<Vec<bool>, PoolError>;

enum Job<S: SignatureScheme> {
    /// Per-item verdicts (true = valid).
    Items {
        items: Vec<VerifyItem<S>>,
        reply: oneshot::Sender<Verdicts>,
    },
    /// One check of Σkᵢσᵢ against Σkᵢpkᵢ for one message (optimistic mode).
    Sum {
        message: S::MessagePoint,
        items: Vec<(S::Signature, S::G2PublicKey, u64)>,
        reply: oneshot::Sender<Result<bool, PoolError>>,
    },
}

/// A bounded pool: a dispatcher task merges the jobs queued at the moment a worker slot frees
/// up and runs them on tokio's blocking threads, at most `threads` batches at once.
pub struct VerificationPool<S: SignatureScheme> {
    tx: Mutex<Option<mpsc::Sender<Job<S>>>>,
    slots: Arc<Semaphore>,
    threads: u32,
}

impl<S: SignatureScheme> VerificationPool<S> {
    /// Starts the dispatcher (inside a tokio runtime) with `threads` concurrent batches, a
    /// queue of `queue_capacity` jobs, and at most `max_batch` signatures merged per check.
    pub fn start(scheme: Arc<S>, threads: usize, queue_capacity: usize, max_batch: usize) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job<S>>(queue_capacity.max(1));
        let threads = u32::try_from(threads.max(1)).unwrap_or(u32::MAX);
        let slots = Arc::new(Semaphore::new(threads as usize));
        let dispatcher_slots = Arc::clone(&slots);
        let max_batch = max_batch.max(1);
        tokio::spawn(async move {
            loop {
                // Take a slot first: while every slot is busy, jobs pile up and merge.
                let Ok(permit) = Arc::clone(&dispatcher_slots).acquire_owned().await else {
                    break;
                };
                let Some(first) = rx.recv().await else { break };
                let mut size = first.len();
                let mut jobs = vec![first];
                while size < max_batch {
                    match rx.try_recv() {
                        Ok(job) => {
                            size += job.len();
                            jobs.push(job);
                        }
                        Err(_) => break,
                    }
                }
                let scheme = Arc::clone(&scheme);
                tokio::task::spawn_blocking(move || {
                    run_jobs(&*scheme, jobs);
                    drop(permit);
                });
            }
        });
        Self {
            tx: Mutex::new(Some(tx)),
            slots,
            threads,
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<Job<S>>> {
        lock(&self.tx).clone()
    }

    /// Checks each item; `Ok(v)` has one verdict per item, in order.
    pub async fn verify(&self, items: Vec<VerifyItem<S>>) -> Verdicts {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        let tx = self.sender().ok_or(PoolError::Closed)?;
        tx.send(Job::Items { items, reply })
            .await
            .map_err(|_| PoolError::Closed)?;
        rx.await.map_err(|_| PoolError::Closed)?
    }

    /// One check of the multiplicity-weighted aggregate of a digest's signatures.
    pub async fn verify_sum(
        &self,
        message: S::MessagePoint,
        items: Vec<(S::Signature, S::G2PublicKey, u64)>,
    ) -> Result<bool, PoolError> {
        let (reply, rx) = oneshot::channel();
        let tx = self.sender().ok_or(PoolError::Closed)?;
        tx.send(Job::Sum {
            message,
            items,
            reply,
        })
        .await
        .map_err(|_| PoolError::Closed)?;
        rx.await.map_err(|_| PoolError::Closed)?
    }

    /// Stops accepting jobs and waits until the running batches are done.
    pub async fn shutdown(&self) {
        lock(&self.tx).take();
        if let Ok(all) = self.slots.acquire_many(self.threads).await {
            all.forget();
        }
        self.slots.close();
    }
}

impl<S: SignatureScheme> Job<S> {
    fn len(&self) -> usize {
        match self {
            Job::Items { items, .. } => items.len(),
            Job::Sum { .. } => 1,
        }
    }
}

fn run_jobs<S: SignatureScheme>(scheme: &S, jobs: Vec<Job<S>>) {
    let mut batch = Vec::with_capacity(jobs.len());
    for job in jobs {
        match job {
            Job::Items { items, reply } => batch.push((items, reply)),
            Job::Sum {
                message,
                items,
                reply,
            } => {
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let sigs: Vec<_> = items.iter().map(|(s, _, k)| (s, *k)).collect();
                    let keys: Vec<_> = items.iter().map(|(_, pk, k)| (pk, *k)).collect();
                    let sigma = scheme.aggregate_signatures(&sigs);
                    let apk = scheme.aggregate_g2(&keys);
                    scheme.verify(&message, &sigma, &apk)
                }))
                .map_err(|p| PoolError::Panicked(panic_message(&*p)));
                let _ = reply.send(result);
            }
        }
    }
    if !batch.is_empty() {
        run_batch(scheme, batch);
    }
}

fn run_batch<S: SignatureScheme>(
    scheme: &S,
    batch: Vec<(Vec<VerifyItem<S>>, oneshot::Sender<Verdicts>)>,
) {
    let total: usize = batch.iter().map(|(items, _)| items.len()).sum();
    metrics::histogram!(m::VERIFICATION_BATCH_SIZE).record(total as f64);
    let all: Vec<&VerifyItem<S>> = batch.iter().flat_map(|(items, _)| items.iter()).collect();
    match catch_unwind(AssertUnwindSafe(|| check_items(scheme, &all))) {
        Ok(verdicts) => {
            let mut offset = 0;
            for (items, reply) in batch {
                let end = offset + items.len();
                let mine = verdicts
                    .get(offset..end)
                    .map(<[bool]>::to_vec)
                    .unwrap_or_default();
                let _ = reply.send(Ok(mine));
                offset = end;
            }
        }
        // Several jobs were merged: re-run each alone so only the job that panics fails.
        Err(_) if batch.len() > 1 => {
            for job in batch {
                run_batch(scheme, vec![job]);
            }
        }
        Err(p) => {
            let msg = panic_message(&*p);
            for (_, reply) in batch {
                let _ = reply.send(Err(PoolError::Panicked(msg.clone())));
            }
        }
    }
}

/// One verdict per item: one same-digest check when they share a digest, else a cross-digest
/// batch; both bisect internally to name exactly the invalid items.
fn check_items<S: SignatureScheme>(scheme: &S, all: &[&VerifyItem<S>]) -> Vec<bool> {
    let Some(first) = all.first() else {
        return Vec::new();
    };
    let invalid = if all.iter().all(|i| i.digest == first.digest) {
        let pairs: Vec<_> = all.iter().map(|i| (&i.signature, &i.key)).collect();
        scheme.verify_same_digest(&first.message, &pairs)
    } else {
        let items: Vec<BatchItem<'_, S>> = all
            .iter()
            .map(|i| BatchItem {
                digest: &i.digest,
                message: &i.message,
                signature: &i.signature,
                key: &i.key,
            })
            .collect();
        scheme.verify_batch(&items)
    };
    let mut verdicts = vec![true; all.len()];
    for i in invalid {
        if let Some(v) = verdicts.get_mut(i) {
            *v = false;
        }
    }
    verdicts
}
