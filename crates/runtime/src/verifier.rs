//! The verification pool: checks signatures on blocking threads, off the async executor,
//! merging the jobs queued at the same moment (across tasks and digests) into one batch.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use quorate_domain::{BatchItem, ResponseDigest, SignatureScheme};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::aggregate_odds::AggregateOdds;
use crate::invalid_share::InvalidShare;
use crate::metrics::RuntimeMetrics;
use crate::util::{lock, panic_message};

/// One signature to check.
#[derive(Debug)]
pub(crate) struct VerifyItem<S: SignatureScheme> {
    /// The signed digest.
    pub digest: ResponseDigest,
    /// `hash_to_g1(digest)`.
    pub message: S::MessagePoint,
    /// The signature.
    pub signature: S::Signature,
    /// The signer's G2 key.
    pub key: S::G2PublicKey,
}

// Not derived: a derive would require the scheme type itself to be `Clone`.
impl<S: SignatureScheme> Clone for VerifyItem<S> {
    fn clone(&self) -> Self {
        Self {
            digest: self.digest,
            message: self.message.clone(),
            signature: self.signature.clone(),
            key: self.key.clone(),
        }
    }
}

/// The pool failed to give a verdict (shut down, or the scheme panicked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PoolError {
    /// The pool is shut down.
    Closed,
    /// The scheme panicked while checking; the message is kept for the task's error.
    Panicked(String),
}

type Verdicts = Result<Vec<bool>, PoolError>;
/// A digest's aggregate signature and key, when they passed their check.
pub(crate) type CheckedAggregate<S> = (
    <S as SignatureScheme>::Signature,
    <S as SignatureScheme>::G2PublicKey,
);
type SumReply<S> = oneshot::Sender<Result<Option<CheckedAggregate<S>>, PoolError>>;

/// How the pool checks a job's items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checking {
    /// Merged with the other jobs queued at the time into one batch (fresh signatures).
    Merged,
    /// As one batch of their own, never merged: the search for the invalid signatures of a
    /// digest whose aggregate check failed. Each such job holds a known failure, so merging
    /// several would make every check of the search pay for every merged digest's pairs and
    /// sums, and gain nothing.
    Apart,
    /// Each on its own, never in a batch: quarantined operators' signatures, so a failure
    /// costs no honest peer a search.
    Alone,
}

enum Job<S: SignatureScheme> {
    /// Per-item verdicts (true = valid), checked as `checking` says.
    Items {
        items: Vec<VerifyItem<S>>,
        checking: Checking,
        reply: oneshot::Sender<Verdicts>,
    },
    /// One check of Σkᵢσᵢ against Σkᵢpkᵢ for one message (optimistic mode).
    Sum {
        digest: ResponseDigest,
        message: S::MessagePoint,
        /// The signatures with their multiplicities.
        signatures: Vec<(S::Signature, u64)>,
        /// Terms of the signers' key sum: the signers', or the whole set's minus the
        /// non-signers' (fewer G2 additions when most operators sign).
        keys: Vec<(S::G2PublicKey, i64)>,
        reply: SumReply<S>,
    },
}

/// A bounded pool: a dispatcher task merges the jobs queued at the moment a worker slot frees
/// up and runs them on tokio's blocking threads, at most `threads` batches at once.
///
/// Two lanes: aggregate checks (optimistic mode's one check per task) go through a priority
/// lane the dispatcher always serves first, so a task's answer never waits behind a queue of
/// per-signature work. The pool never waits for a batch to fill: eager mode's linger is the
/// task's (see `crate::hold`), where signatures of one digest share one Miller-loop pair.
pub(crate) struct VerificationPool<S: SignatureScheme> {
    /// Per-signature work (`Items`, `Alone`).
    tx: Mutex<Option<mpsc::Sender<Job<S>>>>,
    /// Aggregate checks (`Sum`), served first.
    priority: Mutex<Option<mpsc::Sender<Job<S>>>>,
    /// One permit per batch checked at once.
    slots: Arc<Semaphore>,
    /// Batches checked at once.
    threads: u32,
    /// How often aggregate checks fail lately (whether a task should skip its own).
    pub(crate) aggregate_odds: AggregateOdds,
}

/// How the dispatcher sizes its batches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolSizing {
    /// Batches checked at once.
    pub threads: usize,
    /// Jobs queued per lane before senders wait.
    pub queue_capacity: usize,
    /// Most signatures merged into one batch.
    pub max_batch: usize,
    /// Merged work queued while a batch of it runs waits to join the next batch unless at
    /// least this many checks or signatures are queued (see [`MergedBatches`]).
    pub min_concurrent_merged_batch: usize,
}

/// Running batches made only of merged work (aggregate checks, fresh signatures), and a signal
/// when one ends.
///
/// Merged work shares one final exponentiation and the `−G2` pair per batch: a batch of one
/// aggregate check costs a whole pairing check, each further task about a tenth of one, and a
/// small batch of fresh signatures pays the same fixed part for a few of them. So a little
/// merged work that arrives while a batch of it runs waits for that batch to end and joins the
/// next one, rather than start beside it on a second thread: that thread would spend a fixed
/// part on a few items, CPU the async side (every signature's hand-in and tally) needs when the
/// node is busy. Enough queued work ([`PoolSizing::min_concurrent_merged_batch`], counting
/// an aggregate check as one) starts at once, so a second thread still runs when one cannot
/// keep up; other work (searches, quarantined operators' checks) starts whenever a thread is
/// free.
#[derive(Default)]
struct MergedBatches {
    /// Running batches of merged work only.
    running: std::sync::atomic::AtomicUsize,
    /// Notified when one of them ends.
    ended: tokio::sync::Notify,
}

impl MergedBatches {
    /// Whether `jobs` is merged work only.
    fn all_merged<S: SignatureScheme>(jobs: &[Job<S>]) -> bool {
        jobs.iter().all(|j| {
            matches!(
                j,
                Job::Sum { .. }
                    | Job::Items {
                        checking: Checking::Merged,
                        ..
                    }
            )
        })
    }

    /// Whether `jobs` (merged work only, less than `min`) should wait for the running batch
    /// of merged work to end.
    fn should_wait<S: SignatureScheme>(&self, jobs: &[Job<S>], min: usize) -> bool {
        jobs.iter().map(Job::len).sum::<usize>() < min
            && Self::all_merged(jobs)
            && self.running.load(Ordering::Acquire) > 0
    }

    /// Counts a batch of merged work as running until the guard is dropped.
    fn start(self: &Arc<Self>) -> RunningMerged {
        self.running.fetch_add(1, Ordering::AcqRel);
        RunningMerged(Arc::clone(self))
    }
}

/// A running batch of merged work: dropped when it ends, even by a panic, so the count never
/// stays up and leaves later work waiting for an end that never comes.
struct RunningMerged(Arc<MergedBatches>);

impl Drop for RunningMerged {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
        self.0.ended.notify_one();
    }
}

/// The dispatcher's receiving ends.
struct Lanes<S: SignatureScheme> {
    priority: mpsc::Receiver<Job<S>>,
    normal: mpsc::Receiver<Job<S>>,
}

impl<S: SignatureScheme> Lanes<S> {
    /// The next job, priority lane first; `None` once both lanes are closed and empty.
    async fn next(&mut self) -> Option<Job<S>> {
        tokio::select! {
            biased;
            Some(job) = self.priority.recv() => Some(job),
            Some(job) = self.normal.recv() => Some(job),
            else => None,
        }
    }

    /// A job queued now, priority lane first.
    fn try_next(&mut self) -> Option<Job<S>> {
        self.priority
            .try_recv()
            .ok()
            .or_else(|| self.normal.try_recv().ok())
    }

    /// Merges the jobs queued now into `jobs`, up to `max_batch` signatures.
    fn fill(&mut self, jobs: &mut Vec<Job<S>>, mut size: usize, max_batch: usize) {
        while size < max_batch {
            match self.try_next() {
                Some(job) => {
                    size += job.len();
                    jobs.push(job);
                }
                None => break,
            }
        }
    }
}

impl<S: SignatureScheme> VerificationPool<S> {
    /// Starts the dispatcher (inside a tokio runtime) with `sizing.threads` concurrent batches,
    /// a queue of `sizing.queue_capacity` jobs and at most `sizing.max_batch` signatures merged
    /// per check.
    pub(crate) fn start_with(scheme: Arc<S>, sizing: PoolSizing) -> Self {
        let (tx, normal) = mpsc::channel::<Job<S>>(sizing.queue_capacity.max(1));
        let (priority_tx, priority) = mpsc::channel::<Job<S>>(sizing.queue_capacity.max(1));
        let threads = u32::try_from(sizing.threads.max(1)).unwrap_or(u32::MAX);
        let slots = Arc::new(Semaphore::new(threads as usize));
        let dispatcher_slots = Arc::clone(&slots);
        let max_batch = sizing.max_batch.max(1);
        let mut lanes = Lanes { priority, normal };
        // The share of invalid signatures in recent batches: where a failing batch's search
        // starts.
        let share = Arc::new(InvalidShare::default());
        let merged = Arc::new(MergedBatches::default());
        let min_concurrent = sizing.min_concurrent_merged_batch.max(1);
        tokio::spawn(async move {
            loop {
                // Take a slot first: while every slot is busy, jobs pile up and merge.
                let Ok(permit) = Arc::clone(&dispatcher_slots).acquire_owned().await else {
                    break;
                };
                let Some(first) = lanes.next().await else {
                    break;
                };
                let size = first.len();
                let mut jobs = vec![first];
                lanes.fill(&mut jobs, size, max_batch);
                while merged.should_wait(&jobs, min_concurrent) {
                    // An end since the check above left a permit (`notify_one`): not missed.
                    let ended = merged.ended.notified();
                    tokio::select! {
                        biased;
                        () = ended => {}
                        job = lanes.next() => match job {
                            Some(job) => {
                                let size = jobs.iter().map(Job::len).sum::<usize>() + job.len();
                                jobs.push(job);
                                lanes.fill(&mut jobs, size, max_batch);
                            }
                            // Closed: run what is queued.
                            None => break,
                        },
                    }
                }
                let running = MergedBatches::all_merged(&jobs).then(|| merged.start());
                let scheme = Arc::clone(&scheme);
                let share = Arc::clone(&share);
                tokio::task::spawn_blocking(move || {
                    run_jobs(&*scheme, &share, jobs);
                    drop(running);
                    drop(permit);
                });
            }
        });
        Self {
            tx: Mutex::new(Some(tx)),
            priority: Mutex::new(Some(priority_tx)),
            slots,
            threads,
            aggregate_odds: AggregateOdds::default(),
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<Job<S>>> {
        lock(&self.tx).clone()
    }

    fn priority_sender(&self) -> Option<mpsc::Sender<Job<S>>> {
        lock(&self.priority).clone()
    }

    /// Checks each item as `checking` says; `Ok(v)` has one verdict per item, in order.
    pub(crate) async fn verify(&self, items: Vec<VerifyItem<S>>, checking: Checking) -> Verdicts {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        let tx = self.sender().ok_or(PoolError::Closed)?;
        tx.send(Job::Items {
            items,
            checking,
            reply,
        })
        .await
        .map_err(|_| PoolError::Closed)?;
        rx.await.map_err(|_| PoolError::Closed)?
    }

    /// One check of the multiplicity-weighted aggregate of a digest's signatures against the
    /// sum of `keys`; the aggregate when it verifies (the answer reuses it), `None` when it
    /// does not.
    pub(crate) async fn verify_sum(
        &self,
        digest: ResponseDigest,
        message: S::MessagePoint,
        signatures: Vec<(S::Signature, u64)>,
        keys: Vec<(S::G2PublicKey, i64)>,
    ) -> Result<Option<CheckedAggregate<S>>, PoolError> {
        let (reply, rx) = oneshot::channel();
        let tx = self.priority_sender().ok_or(PoolError::Closed)?;
        tx.send(Job::Sum {
            digest,
            message,
            signatures,
            keys,
            reply,
        })
        .await
        .map_err(|_| PoolError::Closed)?;
        rx.await.map_err(|_| PoolError::Closed)?
    }

    /// Stops accepting jobs and waits until the running batches are done.
    pub(crate) async fn shutdown(&self) {
        lock(&self.tx).take();
        lock(&self.priority).take();
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

fn run_jobs<S: SignatureScheme>(scheme: &S, share: &InvalidShare, jobs: Vec<Job<S>>) {
    let mut batch = Vec::with_capacity(jobs.len());
    let mut sums = Vec::new();
    for job in jobs {
        match job {
            Job::Items {
                items,
                checking,
                reply,
            } => match checking {
                Checking::Merged => batch.push((items, reply)),
                Checking::Apart => run_batch(scheme, share, vec![(items, reply)]),
                Checking::Alone => run_alone(scheme, items, reply),
            },
            Job::Sum {
                digest,
                message,
                signatures,
                keys,
                reply,
            } => {
                // Aggregate each task's signatures and keys apart, so a panic fails one job.
                let aggregate = catch_unwind(AssertUnwindSafe(|| {
                    let sigs: Vec<_> = signatures.iter().map(|(s, k)| (s, *k)).collect();
                    let keys: Vec<_> = keys.iter().map(|(pk, k)| (pk, *k)).collect();
                    VerifyItem {
                        digest,
                        message,
                        signature: scheme.aggregate_signatures(&sigs),
                        key: scheme.aggregate_g2(&keys),
                    }
                }));
                match aggregate {
                    Ok(item) => sums.push((item, reply)),
                    Err(p) => {
                        let _ = reply.send(Err(PoolError::Panicked(panic_message(&*p))));
                    }
                }
            }
        }
    }
    if !sums.is_empty() {
        run_sums(scheme, sums);
    }
    if !batch.is_empty() {
        run_batch(scheme, share, batch);
    }
}

fn run_alone<S: SignatureScheme>(
    scheme: &S,
    items: Vec<VerifyItem<S>>,
    reply: oneshot::Sender<Verdicts>,
) {
    let check = || {
        items
            .iter()
            .map(|i| scheme.verify(&i.message, &i.signature, &i.key))
            .collect()
    };
    let verdicts =
        catch_unwind(AssertUnwindSafe(check)).map_err(|p| PoolError::Panicked(panic_message(&*p)));
    let _ = reply.send(verdicts);
}

/// Aggregate checks of tasks that completed together share one batched check (one final
/// exponentiation for all of them, random coefficients per task), so a burst of completions
/// does not queue one full pairing check behind another.
fn run_sums<S: SignatureScheme>(scheme: &S, sums: Vec<(VerifyItem<S>, SumReply<S>)>) {
    let all: Vec<&VerifyItem<S>> = sums.iter().map(|(item, _)| item).collect();
    let check = || match all.as_slice() {
        [one] => vec![scheme.verify(&one.message, &one.signature, &one.key)],
        _ => check_items(scheme, &all, 0),
    };
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(verdicts) => {
            for ((item, reply), ok) in sums.into_iter().zip(verdicts) {
                let _ = reply.send(Ok(ok.then_some((item.signature, item.key))));
            }
        }
        Err(_) if sums.len() > 1 => {
            for sum in sums {
                run_sums(scheme, vec![sum]);
            }
        }
        Err(p) => {
            let msg = panic_message(&*p);
            for (_, reply) in sums {
                let _ = reply.send(Err(PoolError::Panicked(msg.clone())));
            }
        }
    }
}

fn run_batch<S: SignatureScheme>(
    scheme: &S,
    share: &InvalidShare,
    batch: Vec<(Vec<VerifyItem<S>>, oneshot::Sender<Verdicts>)>,
) {
    let total: usize = batch.iter().map(|(items, _)| items.len()).sum();
    RuntimeMetrics::verification_batch(total);
    let all: Vec<&VerifyItem<S>> = batch.iter().flat_map(|(items, _)| items.iter()).collect();
    let expected = share.expected(total);
    match catch_unwind(AssertUnwindSafe(|| check_items(scheme, &all, expected))) {
        Ok(verdicts) => {
            share.record(total, verdicts.iter().filter(|ok| !**ok).count());
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
                run_batch(scheme, share, vec![job]);
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
/// batch; both search internally to name exactly the invalid items, starting as suits
/// `expected` invalid ones.
fn check_items<S: SignatureScheme>(
    scheme: &S,
    all: &[&VerifyItem<S>],
    expected: usize,
) -> Vec<bool> {
    let Some(first) = all.first() else {
        return Vec::new();
    };
    let invalid = if all.iter().all(|i| i.digest == first.digest) {
        let pairs: Vec<_> = all.iter().map(|i| (&i.signature, &i.key)).collect();
        scheme.verify_same_digest_expecting(&first.message, &pairs, expected)
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
        scheme.verify_batch_expecting(&items, expected)
    };
    let mut verdicts = vec![true; all.len()];
    for i in invalid {
        if let Some(v) = verdicts.get_mut(i) {
            *v = false;
        }
    }
    verdicts
}

#[cfg(test)]
mod tests;
