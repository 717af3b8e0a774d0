//! The per-task aggregator: one tokio task owning one task's tally, fed by its own channel.

use std::sync::{Arc, Mutex};

use quorate_domain::{
    AggregatedResponse, AggregationError, LimitKind, OperatorId, OperatorRegistry, SignatureScheme,
    SignatureVerificationError, SignedTaskResponse, TaskId, TaskMetadata,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::VerificationMode;
use crate::metrics as m;
use crate::outcome::SignatureOutcome;
use crate::results::TaskResult;
use crate::stats::Stats;
use crate::tally::{AdmitError, TaskTally};
use crate::util::lock;
use crate::verifier::{PoolError, VerificationPool, VerifyItem};

/// A caller's answer channel for one signature (absent for replayed buffered signatures).
pub type Reply = Option<oneshot::Sender<Result<SignatureOutcome, AggregationError>>>;

/// A signature on its way to a task's actor.
pub struct SignatureRequest<S: SignatureScheme> {
    /// The signed response.
    pub signed: SignedTaskResponse<S::Signature>,
    /// Where the verdict goes.
    pub reply: Reply,
}

/// A queued signature, boxed: a tokio channel allocates its slots 32 at a time up front, so an
/// idle task's queue costs 32 pointers instead of 32 requests (~5.6 KiB with BN254 signatures).
pub type QueuedRequest<S> = Box<SignatureRequest<S>>;

/// Signature errors seen for a task, shared with `wait_for_aggregation` for its timeout error.
pub type ErrorLog = Arc<Mutex<Vec<(OperatorId, SignatureVerificationError)>>>;

/// Everything an actor needs; it owns its tally and receiver.
pub struct TaskActor<S: SignatureScheme, R> {
    pub(crate) metadata: TaskMetadata,
    pub(crate) scheme: Arc<S>,
    pub(crate) registry: Arc<R>,
    pub(crate) pool: Arc<VerificationPool<S>>,
    pub(crate) tally: TaskTally<S>,
    pub(crate) rx: mpsc::Receiver<QueuedRequest<S>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) errors: ErrorLog,
    pub(crate) max_errors: usize,
    pub(crate) mode: VerificationMode,
    pub(crate) max_drain: usize,
    pub(crate) max_digests: usize,
    pub(crate) stats: Arc<Stats>,
    pub(crate) started: Instant,
}

struct Admitted<S: SignatureScheme> {
    pos: usize,
    digest_index: usize,
    request: SignatureRequest<S>,
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> TaskActor<S, R> {
    fn task_id(&self) -> TaskId {
        self.metadata.task_id()
    }

    /// Runs until the task has a final result.
    pub async fn run(mut self) -> TaskResult {
        let expiry = self.started + self.metadata.time_to_expiry();
        let mut window_end: Option<Instant> = None;
        let mut winner: Option<usize> = None;
        // Created once, not per wake-up: with thousands of open tasks each signature would
        // otherwise register and cancel a timer and a cancellation waiter.
        let token = self.cancel.clone();
        let cancelled = token.cancelled();
        let expired = tokio::time::sleep_until(expiry);
        tokio::pin!(cancelled, expired);
        loop {
            let window = async {
                match window_end {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = &mut cancelled => {
                    return Err(AggregationError::Cancelled { task_id: self.task_id() });
                }
                _ = &mut expired => {
                    return match winner {
                        Some(d) => self.finalize(d).await,
                        None => Err(AggregationError::TaskExpired { task_id: self.task_id() }),
                    };
                }
                _ = window => {
                    if let Some(d) = winner {
                        return self.finalize(d).await;
                    }
                }
                first = self.rx.recv() => {
                    let Some(first) = first else {
                        return Err(AggregationError::ChannelClosed { task_id: self.task_id() });
                    };
                    let mut batch = vec![*first];
                    while batch.len() < self.max_drain {
                        match self.rx.try_recv() {
                            Ok(r) => batch.push(*r),
                            Err(_) => break,
                        }
                    }
                    self.handle_batch(batch).await?;
                    if winner.is_none() {
                        winner = self.find_winner().await?;
                        if let Some(d) = winner {
                            let window_len = self.metadata.window();
                            if window_len.is_zero() {
                                return self.finalize(d).await;
                            }
                            debug!(digest = %self.digest_label(d), "thresholds met; window open");
                            window_end = Some((Instant::now() + window_len).min(expiry));
                        }
                    }
                }
            }
        }
    }

    fn digest_label(&self, d: usize) -> String {
        self.tally
            .digest(d)
            .map(|t| t.digest.to_string())
            .unwrap_or_default()
    }

    fn record_error(&self, operator_id: OperatorId, reason: &SignatureVerificationError) {
        metrics::counter!(m::SIGNATURES_REJECTED, "reason" => reason_label(reason)).increment(1);
        Stats::bump(&self.stats.signatures_rejected);
        let mut log = lock(&self.errors);
        if log.len() < self.max_errors {
            log.push((operator_id, reason.clone()));
        }
    }

    fn reject(&self, request: SignatureRequest<S>, reason: SignatureVerificationError) {
        let operator_id = request.signed.operator_id;
        debug!(%operator_id, %reason, "signature rejected");
        self.record_error(operator_id, &reason);
        if let Some(reply) = request.reply {
            let _ = reply.send(Err(AggregationError::SignatureVerification {
                task_id: self.task_id(),
                operator_id,
                reason,
            }));
        }
    }

    fn accept(&self, request: SignatureRequest<S>, verified: bool) {
        metrics::counter!(m::SIGNATURES_ACCEPTED).increment(1);
        Stats::bump(&self.stats.signatures_accepted);
        if let Some(reply) = request.reply {
            let _ = reply.send(Ok(SignatureOutcome::Accepted {
                task_id: self.task_id(),
                operator_id: request.signed.operator_id,
                digest: request.signed.digest,
                verified,
            }));
        }
    }

    fn pool_error(&self, e: PoolError) -> AggregationError {
        match e {
            PoolError::Closed => AggregationError::Cancelled {
                task_id: self.task_id(),
            },
            PoolError::Panicked(message) => AggregationError::Panicked {
                task_id: self.task_id(),
                message,
            },
        }
    }

    async fn handle_batch(
        &mut self,
        batch: Vec<SignatureRequest<S>>,
    ) -> Result<(), AggregationError> {
        let mut admitted = Vec::with_capacity(batch.len());
        for request in batch {
            let signed = &request.signed;
            if self
                .metadata
                .expected_digest()
                .is_some_and(|d| d != signed.digest)
            {
                self.reject(request, SignatureVerificationError::UnexpectedDigest);
                continue;
            }
            match self
                .tally
                .admit(&*self.scheme, &signed.operator_id, &signed.digest)
            {
                Ok((pos, digest_index)) => admitted.push(Admitted {
                    pos,
                    digest_index,
                    request,
                }),
                Err(AdmitError::Signature(reason)) => self.reject(request, reason),
                Err(AdmitError::DigestLimit) => {
                    warn!(operator_id = %signed.operator_id, "digest limit reached");
                    metrics::counter!(m::LIMITS_REACHED, "limit" => "digests_per_task")
                        .increment(1);
                    Stats::bump(&self.stats.limits_reached);
                    Stats::bump(&self.stats.signatures_rejected);
                    if let Some(reply) = request.reply {
                        let _ = reply.send(Err(AggregationError::LimitReached {
                            task_id: self.task_id(),
                            limit: LimitKind::DigestsPerTask,
                            max: self.max_digests,
                        }));
                    }
                }
            }
        }
        if admitted.is_empty() {
            return Ok(());
        }
        match self.mode {
            VerificationMode::Optimistic => {
                for a in admitted {
                    self.tally
                        .count(a.pos, a.digest_index, a.request.signed.signature.clone());
                    self.accept(a.request, false);
                }
            }
            VerificationMode::Eager => {
                let items = admitted
                    .iter()
                    .filter_map(|a| self.verify_item(a))
                    .collect::<Vec<_>>();
                let verdicts = self
                    .pool
                    .verify(items)
                    .await
                    .map_err(|e| self.pool_error(e))?;
                for (a, ok) in admitted
                    .into_iter()
                    .zip(verdicts.into_iter().chain(std::iter::repeat(false)))
                {
                    if ok {
                        self.tally
                            .count(a.pos, a.digest_index, a.request.signed.signature.clone());
                        self.accept(a.request, true);
                    } else {
                        self.tally.release(a.pos);
                        self.reject(a.request, SignatureVerificationError::IncorrectSignature);
                    }
                }
            }
        }
        Ok(())
    }

    fn verify_item(&self, a: &Admitted<S>) -> Option<VerifyItem<S>> {
        let d = self.tally.digest(a.digest_index)?;
        let op = self.tally.set().operators.get(a.pos)?;
        Some(VerifyItem {
            digest: d.digest,
            message: d.message.clone(),
            signature: a.request.signed.signature.clone(),
            key: op.pubkey_g2.clone(),
        })
    }

    /// The first digest (in arrival order) whose signers meet every threshold. In optimistic
    /// mode its aggregate is checked first, and invalid signers are found and dropped.
    async fn find_winner(&mut self) -> Result<Option<usize>, AggregationError> {
        for d in 0..self.tally.digest_count() {
            while self.tally.thresholds_met(d) {
                if self.mode == VerificationMode::Eager || self.check_optimistic(d).await? {
                    return Ok(Some(d));
                }
            }
        }
        Ok(None)
    }

    /// Returns true if the digest's aggregate verifies; otherwise removes the invalid
    /// signatures (found by bisection) and returns false.
    async fn check_optimistic(&mut self, d: usize) -> Result<bool, AggregationError> {
        let Some(tally) = self.tally.digest(d) else {
            return Ok(false);
        };
        if tally.checked_aggregate.is_some() {
            return Ok(true);
        }
        let ops = &self.tally.set().operators;
        let mut sums = Vec::with_capacity(tally.signers.len());
        for (pos, sig) in &tally.signers {
            let Some(op) = ops.get(*pos) else { continue };
            sums.push((
                sig.clone(),
                op.pubkey_g2.clone(),
                u64::from(op.quorum_count),
            ));
        }
        let (digest, message) = (tally.digest, tally.message.clone());
        let checked = self
            .pool
            .verify_sum(digest, message, sums)
            .await
            .map_err(|e| self.pool_error(e))?;
        if let Some(aggregate) = checked {
            if let Some(t) = self.tally.digest_mut(d) {
                t.checked_aggregate = Some(aggregate);
            }
            return Ok(true);
        }
        // The aggregate failed: check each signature to find the invalid ones.
        let Some(tally) = self.tally.digest(d) else {
            return Ok(false);
        };
        let mut items = Vec::with_capacity(tally.signers.len());
        let mut positions = Vec::with_capacity(tally.signers.len());
        for (pos, sig) in &tally.signers {
            let Some(op) = ops.get(*pos) else { continue };
            items.push(VerifyItem {
                digest: tally.digest,
                message: tally.message.clone(),
                signature: sig.clone(),
                key: op.pubkey_g2.clone(),
            });
            positions.push(*pos);
        }
        let verdicts = self
            .pool
            .verify(items)
            .await
            .map_err(|e| self.pool_error(e))?;
        let mut removed = 0;
        for (pos, ok) in positions.into_iter().zip(verdicts) {
            if !ok {
                let id = self.tally.set().operators.get(pos).map(|o| o.id);
                self.tally.uncount(pos, d);
                if let Some(id) = id {
                    warn!(operator_id = %id, "optimistic check: invalid signature dropped");
                    self.record_error(id, &SignatureVerificationError::IncorrectSignature);
                }
                removed += 1;
            }
        }
        if removed == 0 {
            // The sum failed but every signature verifies alone: impossible for a sound
            // scheme; refuse to loop forever on it.
            return Err(AggregationError::Panicked {
                task_id: self.task_id(),
                message: "aggregate check failed with no invalid signature found".into(),
            });
        }
        Ok(false)
    }

    async fn finalize(&mut self, d: usize) -> TaskResult {
        // Optimistic mode: signatures counted during the window are not in the checked
        // aggregate yet; check again (and drop any invalid ones) before answering. Only new,
        // invalid signers can be dropped, so the thresholds stay met.
        if self.mode == VerificationMode::Optimistic {
            while !self.check_optimistic(d).await? {}
        }
        let task_id = self.task_id();
        let digest = self.tally.digest(d).map(|t| t.digest);
        let (Some(parts), Some(digest)) = (self.tally.aggregate(&*self.scheme, d), digest) else {
            return Err(AggregationError::TaskExpired { task_id });
        };
        let set = self.tally.set();
        let indices = self
            .registry
            .check_signatures_indices(set.block, &set.quorums, &parts.non_signer_ids)
            .await
            .map_err(|source| AggregationError::Registry { task_id, source })?;
        metrics::histogram!(m::AGGREGATION_LATENCY).record(self.started.elapsed().as_secs_f64());
        Ok(Arc::new(AggregatedResponse {
            task_id,
            digest,
            reference_block: set.block,
            quorum_numbers: set.quorums.clone(),
            signer_ids: parts.signer_ids,
            non_signer_ids: parts.non_signer_ids,
            non_signer_pubkeys_g1: parts.non_signer_pubkeys_g1,
            quorum_apks_g1: set.quorum_apks.clone(),
            signers_apk_g2: parts.signers_apk_g2,
            signers_agg_sig_g1: parts.signers_agg_sig_g1,
            indices,
            signed_stake: parts.signed_stake,
            total_stake: set.total_stakes.clone(),
        }))
    }
}

/// A metric label for a rejection reason.
pub fn reason_label(reason: &SignatureVerificationError) -> &'static str {
    match reason {
        SignatureVerificationError::IncorrectSignature => "incorrect_signature",
        SignatureVerificationError::DuplicateSignature => "duplicate_signature",
        SignatureVerificationError::OperatorNotFound => "operator_not_found",
        SignatureVerificationError::OperatorNotInQuorums => "operator_not_in_quorums",
        SignatureVerificationError::UnexpectedDigest => "unexpected_digest",
    }
}
