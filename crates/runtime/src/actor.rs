//! The per-task aggregator: one tokio task owning one task's tally, fed by its own channel.

use std::sync::{Arc, Mutex};

use quorate_domain::{
    AggregatedResponse, AggregationError, OperatorId, OperatorRegistry, ResponseDigest,
    SignatureScheme, SignatureVerificationError, SignedTaskResponse, TaskId, TaskMetadata,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::VerificationMode;
use crate::evidence::EquivocationEvidence;
use crate::metrics::{signature_error_label, Rejection, RuntimeMetrics};
use crate::outcome::SignatureOutcome;
use crate::results::TaskResult;
use crate::tally::TaskTally;
use crate::util::lock;
use crate::verifier::{Checking, PoolError, VerificationPool, VerifyItem};

/// Sleeps until `at`, or forever when there is no deadline.
async fn sleep_until_or_never(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A caller's answer channel for one signature (absent for replayed buffered signatures).
pub(crate) type Reply = Option<oneshot::Sender<Result<SignatureOutcome, AggregationError>>>;

/// A signature on its way to a task's actor.
pub(crate) struct SignatureRequest<S: SignatureScheme> {
    /// The signed response.
    pub signed: SignedTaskResponse<S::Signature>,
    /// Where the verdict goes.
    pub reply: Reply,
}

/// A queued signature, boxed: a tokio channel allocates its slots 32 at a time up front, so an
/// idle task's queue costs 32 pointers instead of 32 requests (~5.6 KiB with BN254 signatures).
pub(crate) type QueuedRequest<S> = Box<SignatureRequest<S>>;

/// Signature errors seen for a task, shared with `wait_for_aggregation` for its timeout error.
pub(crate) type ErrorLog = Arc<Mutex<Vec<(OperatorId, SignatureVerificationError)>>>;

/// Everything an actor needs; it owns its tally and receiver.
pub(crate) struct TaskActor<S: SignatureScheme, R> {
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
    /// The runtime's counters (shared with the core).
    pub(crate) metrics: Arc<RuntimeMetrics>,
    pub(crate) started: Instant,
    /// Where equivocation evidence goes (see [`crate::AggregatorCore::subscribe_evidence`]).
    pub(crate) evidence: tokio::sync::broadcast::Sender<EquivocationEvidence>,
    /// Operators whose signatures are checked alone (shared by every task).
    pub(crate) quarantine: Arc<crate::quarantine::Quarantine>,
    /// Eager mode's linger: signatures held to be checked together.
    pub(crate) hold: crate::hold::Hold<S>,
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> TaskActor<S, R> {
    fn task_id(&self) -> TaskId {
        self.metadata.task_id()
    }

    /// Runs until the task has a final result, then counts a missed task for each operator
    /// of its quorums whose signature is not counted (cancelled tasks count for nobody).
    pub(crate) async fn run(mut self) -> TaskResult {
        let result = self.run_to_result().await;
        if !matches!(result, Err(AggregationError::Cancelled { .. })) {
            let set = Arc::clone(self.tally.set());
            for (pos, op) in set.operators.iter().enumerate() {
                if self.tally.counted_digest(pos).is_none() {
                    self.metrics.operators.missed(&op.id);
                }
            }
        }
        result
    }

    async fn run_to_result(&mut self) -> TaskResult {
        let expiry = self.started + self.metadata.time_to_expiry();
        let mut window_end: Option<Instant> = None;
        // The winning digest by value: slots of emptied digests are reused.
        let mut winner: Option<ResponseDigest> = None;
        // Created once, not per wake-up: with thousands of open tasks each signature would
        // otherwise register and cancel a timer and a cancellation waiter.
        let token = self.cancel.clone();
        let cancelled = token.cancelled();
        let expired = tokio::time::sleep_until(expiry);
        tokio::pin!(cancelled, expired);
        loop {
            let window = sleep_until_or_never(window_end);
            let held = sleep_until_or_never(self.hold.deadline());
            tokio::select! {
                biased;
                _ = &mut cancelled => {
                    return Err(AggregationError::Cancelled { task_id: self.task_id() });
                }
                _ = &mut expired => {
                    // No more time for a window: answer with a digest that holds now, if any.
                    self.release_hold().await?;
                    if let Some(w) = winner {
                        if self.settle(&w).await? {
                            return self.finalize(&w).await;
                        }
                    }
                    return match self.find_winner().await? {
                        Some(w) => self.finalize(&w).await,
                        None => Err(AggregationError::TaskExpired { task_id: self.task_id() }),
                    };
                }
                _ = window => {
                    self.release_hold().await?;
                    if let Some(w) = winner {
                        if self.settle(&w).await? {
                            return self.finalize(&w).await;
                        }
                        // Dropping invalid signatures left the winner short: collect again.
                        debug!(digest = %w, "winner fell below its thresholds; collecting again");
                        winner = None;
                        window_end = None;
                    }
                }
                _ = held => {
                    self.release_hold().await?;
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
                    let batch = self.hold.offer(batch, Instant::now(), &self.tally);
                    if !batch.is_empty() {
                        self.handle_batch(batch).await?;
                    }
                }
            }
            // Invalid holders dropped while admitting may have taken the winner's stake away.
            if winner.is_some_and(|w| !self.holds(&w)) {
                winner = None;
                window_end = None;
            }
            if winner.is_none() {
                winner = self.find_winner().await?;
                if let Some(w) = winner {
                    let window_len = self.metadata.window();
                    if window_len.is_zero() {
                        return self.finalize(&w).await;
                    }
                    debug!(digest = %w, "thresholds met; window open");
                    window_end = Some((Instant::now() + window_len).min(expiry));
                }
            }
            // Early finish: every operator of the task's quorums has signed (one signature
            // each), so nothing can change the answer; the window would only add latency.
            if let Some(w) = winner.filter(|_| window_end.is_some() && self.tally.all_counted()) {
                if self.settle(&w).await? {
                    debug!(digest = %w, "every operator signed; finishing early");
                    return self.finalize(&w).await;
                }
                winner = None;
                window_end = None;
            }
        }
    }

    /// Checks the signatures the hold kept back, if any.
    async fn release_hold(&mut self) -> Result<(), AggregationError> {
        let held = self.hold.take();
        if held.is_empty() {
            return Ok(());
        }
        self.handle_batch(held).await
    }

    /// Whether the digest's counted signers meet every threshold.
    fn holds(&self, digest: &ResponseDigest) -> bool {
        self.tally
            .index_of(digest)
            .is_some_and(|d| self.tally.thresholds_met(d))
    }

    /// Before answering: in optimistic mode, signatures counted during the window are not in
    /// the checked aggregate yet, so check again and drop the invalid ones. True when the
    /// digest still meets every threshold with a checked aggregate; false when dropping left
    /// it short (the caller reopens collection).
    async fn settle(&mut self, digest: &ResponseDigest) -> Result<bool, AggregationError> {
        loop {
            let Some(d) = self.tally.index_of(digest) else {
                return Ok(false);
            };
            if !self.tally.thresholds_met(d) {
                return Ok(false);
            }
            if self.mode == VerificationMode::Eager || self.check_optimistic(d).await? {
                return Ok(true);
            }
        }
    }

    pub(crate) fn record_error(
        &self,
        operator_id: OperatorId,
        reason: &SignatureVerificationError,
    ) {
        self.metrics
            .signature_rejected(Rejection::Signature(reason));
        if *reason == SignatureVerificationError::IncorrectSignature {
            self.metrics.operators.invalid(&operator_id);
            // A failed check: this operator's next signatures are checked alone.
            let label = signature_error_label(reason);
            if let Some(listed) = self.quarantine.strike(operator_id, label) {
                self.metrics.quarantine_strike(label, listed);
            }
        }
        let mut log = lock(&self.errors);
        if log.len() < self.max_errors {
            log.push((operator_id, reason.clone()));
        }
    }

    pub(crate) fn reject(&self, request: SignatureRequest<S>, reason: SignatureVerificationError) {
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

    pub(crate) fn accept(&self, request: SignatureRequest<S>, verified: bool) {
        if verified {
            self.quarantine.clean(&request.signed.operator_id);
        }
        self.metrics.signature_accepted();
        self.metrics
            .operators
            .signed(&request.signed.operator_id, self.started.elapsed());
        if let Some(reply) = request.reply {
            let _ = reply.send(Ok(SignatureOutcome::Accepted {
                task_id: self.task_id(),
                operator_id: request.signed.operator_id,
                digest: request.signed.digest,
                verified,
            }));
        }
    }

    pub(crate) fn pool_error(&self, e: PoolError) -> AggregationError {
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

    /// The first digest (in slot order) whose signers meet every threshold. In optimistic
    /// mode its aggregate is checked first, and invalid signers are found and dropped.
    pub(crate) async fn find_winner(&mut self) -> Result<Option<ResponseDigest>, AggregationError> {
        for d in 0..self.tally.digest_count() {
            while self.tally.thresholds_met(d) {
                if self.mode == VerificationMode::Eager || self.check_optimistic(d).await? {
                    return Ok(self.tally.digest(d).map(|t| t.digest));
                }
            }
        }
        Ok(None)
    }

    /// Checks every listed signer, naming the invalid ones: one batch of their own (these
    /// are searches for a known or likely failure, which merging would only make dearer).
    async fn check_each(&self, signers: &[(usize, usize)]) -> Result<Vec<bool>, AggregationError> {
        let mut items = Vec::with_capacity(signers.len());
        for &(pos, d) in signers {
            items.push(self.counted_item(pos, d)?);
        }
        self.verify_items(items, Checking::Apart).await
    }

    /// The verify item of an operator's counted signature.
    pub(crate) fn counted_item(
        &self,
        pos: usize,
        d: usize,
    ) -> Result<VerifyItem<S>, AggregationError> {
        let (Some(tally), Some(op)) = (self.tally.digest(d), self.tally.set().operators.get(pos))
        else {
            return Err(self.internal(format!("no signer at position {pos} of digest slot {d}")));
        };
        let Some((_, sig)) = tally.signers.iter().find(|(p, _)| *p == pos) else {
            return Err(self.internal(format!("position {pos} has no signature in slot {d}")));
        };
        Ok(VerifyItem {
            digest: tally.digest,
            message: tally.message.clone(),
            signature: sig.clone(),
            key: op.pubkey_g2.clone(),
        })
    }

    /// Per-item verdicts from the pool; a verdict count that does not match is a bug, never
    /// a verdict landing on the wrong signature.
    pub(crate) async fn verify_items(
        &self,
        items: Vec<VerifyItem<S>>,
        checking: Checking,
    ) -> Result<Vec<bool>, AggregationError> {
        let n = items.len();
        let verdicts = self
            .pool
            .verify(items, checking)
            .await
            .map_err(|e| self.pool_error(e))?;
        if verdicts.len() != n {
            return Err(self.internal(format!(
                "verification pool answered {} verdicts for {n} signatures",
                verdicts.len()
            )));
        }
        Ok(verdicts)
    }

    /// An `Internal` error for this task.
    pub(crate) fn internal(&self, reason: String) -> AggregationError {
        AggregationError::Internal {
            task_id: self.task_id(),
            reason,
        }
    }

    /// Marks a counted signature as checked (it passed); the pass counts toward its
    /// operator's clean run in the quarantine.
    pub(crate) fn mark_verified(&mut self, pos: usize) {
        self.tally.mark_verified(pos);
        if let Some(op) = self.tally.set().operators.get(pos) {
            self.quarantine.clean(&op.id);
        }
    }

    /// Drops a counted signature found invalid, recording the error against its operator.
    pub(crate) fn drop_invalid(&mut self, pos: usize, d: usize) {
        let id = self.tally.set().operators.get(pos).map(|o| o.id);
        self.tally.uncount(pos, d);
        if let Some(id) = id {
            warn!(operator_id = %id, "invalid signature dropped");
            self.record_error(id, &SignatureVerificationError::IncorrectSignature);
        }
    }

    /// Returns true if the digest's signers are checked and still meet every threshold: its
    /// aggregate verifies, or a search checked each signer and dropped the invalid ones.
    async fn check_optimistic(&mut self, d: usize) -> Result<bool, AggregationError> {
        let Some(tally) = self.tally.digest(d) else {
            return Ok(false);
        };
        if tally.checked_aggregate.is_some() {
            return Ok(true);
        }
        let (signers, unchecked) = self.unchecked_signers(d);
        if unchecked.is_empty() {
            // Every signer passed a check of its own: their aggregate needs none.
            return Ok(true);
        }
        // Whether this check says how fresh aggregates fare: a re-check after a search holds
        // mostly signers already checked, and passes far more often.
        let telling = unchecked.len() * 2 >= signers;
        if self.pool.aggregate_odds.likely_to_fail() {
            // Most aggregates fail lately: this one's check would only precede the search,
            // whose first step checks the same signatures with random coefficients.
            self.metrics.aggregate_check_skipped();
            let removed = self.check_signers(&unchecked).await?;
            if telling {
                self.pool.aggregate_odds.record(removed == 0);
            }
            return Ok(self.tally.thresholds_met(d));
        }
        let signatures = match self.tally.signer_signature_terms(d) {
            Ok(terms) => terms.into_iter().map(|(s, k)| (s.clone(), k)).collect(),
            Err(pos) => {
                return Err(self.internal(format!("signer position {pos} outside the set")));
            }
        };
        let keys = self
            .tally
            .signer_key_terms(d)
            .into_iter()
            .map(|(k, w)| (k.clone(), w))
            .collect();
        let (digest, message) = (tally.digest, tally.message.clone());
        let checked = self
            .pool
            .verify_sum(digest, message, signatures, keys)
            .await
            .map_err(|e| self.pool_error(e))?;
        if telling {
            self.pool.aggregate_odds.record(checked.is_some());
        }
        if let Some(aggregate) = checked {
            if let Some(t) = self.tally.digest_mut(d) {
                t.checked_aggregate = Some(aggregate);
            }
            // A passing sum counts as a clean check of each signer new to it, for the
            // quarantine: only a cancelling forgery could pass without being clean, and that
            // costs the node no search.
            if let Some(t) = self.tally.digest(d) {
                for (pos, _) in &t.signers {
                    if let (false, Some(op)) = (
                        self.tally.is_verified(*pos),
                        self.tally.set().operators.get(*pos),
                    ) {
                        self.quarantine.clean(&op.id);
                    }
                }
            }
            self.tally.mark_digest_verified(d);
            return Ok(true);
        }
        self.metrics.aggregate_check_failed();
        if self.check_signers(&unchecked).await? == 0 {
            // The sum failed but every signature verifies alone: impossible for a sound
            // scheme; refuse to loop forever on it.
            return Err(
                self.internal("aggregate check failed with no invalid signature found".into())
            );
        }
        // Every signer left was just checked: no second aggregate check is needed.
        Ok(self.tally.thresholds_met(d))
    }

    /// How many signers digest slot `d` has, and those (with their slot) whose signature has
    /// not passed a check of its own: the ones a search must cover. Those an earlier sum
    /// covered are among them: a sum is no check of its parts (a cancelling pair, σ₀ + δ and
    /// σ₁ − δ, passes it).
    fn unchecked_signers(&self, d: usize) -> (usize, Vec<(usize, usize)>) {
        let Some(t) = self.tally.digest(d) else {
            return (0, Vec::new());
        };
        let unchecked = t
            .signers
            .iter()
            .filter(|(pos, _)| !self.tally.is_checked_alone(*pos))
            .map(|(pos, _)| (*pos, d))
            .collect();
        (t.signers.len(), unchecked)
    }

    /// Checks counted signatures (with their digest slots) as a batch of their own; the valid
    /// ones are marked checked, the invalid ones dropped (freeing their operator's slot and,
    /// when last, their digest's). Returns how many were dropped.
    pub(crate) async fn check_signers(
        &mut self,
        signers: &[(usize, usize)],
    ) -> Result<usize, AggregationError> {
        let verdicts = self.check_each(signers).await?;
        let mut removed = 0;
        for (&(pos, d), ok) in signers.iter().zip(verdicts) {
            if ok {
                self.mark_verified(pos);
            } else {
                self.drop_invalid(pos, d);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Builds the answer for a digest that [`Self::settle`]d (or, in eager mode, holds).
    async fn finalize(&mut self, digest: &ResponseDigest) -> TaskResult {
        let task_id = self.task_id();
        let digest = *digest;
        let Some(d) = self.tally.index_of(&digest) else {
            return Err(self.internal(format!("winning digest {digest} has no slot")));
        };
        // The last line of defence: never deliver an aggregate short of a threshold.
        if !self.tally.thresholds_met(d) {
            return Err(self.internal(format!("digest {digest} is below its thresholds")));
        }
        let Some(parts) = self.tally.aggregate(&*self.scheme, d) else {
            return Err(self.internal(format!("digest {digest} could not be aggregated")));
        };
        let set = self.tally.set();
        let indices = self
            .registry
            .check_signatures_indices(set.block, &set.quorums, &parts.non_signer_ids)
            .await
            .map_err(|source| AggregationError::Registry { task_id, source })?;
        self.metrics
            .aggregation_latency(self.started.elapsed().as_secs_f64());
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
