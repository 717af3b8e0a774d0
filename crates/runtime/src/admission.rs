//! Admission of signatures into a task's tally, per verification mode.
//!
//! The capacity rules make a forgery cost its sender, not an honest operator (operator ids
//! are public, so anyone can sign under any id):
//! - eager mode counts, and gives a digest slot to, verified signatures only; a second
//!   signature from an operator whose first is still being checked in the same round waits
//!   for that verdict instead of being refused;
//! - optimistic mode counts unverified signatures, but when one stands in the way of another
//!   (a second signature from the same operator, or a new digest at the digest limit) the
//!   unverified holders are checked on their own and the invalid ones release what they held;
//! - a second, different digest from an operator whose first signature verified is checked
//!   once: if both verify, the pair is equivocation evidence;
//! - a quarantined operator (one whose signature recently failed a check) is checked on its
//!   own before anything of it counts, in both modes: its faults never fail an honest batch
//!   or an optimistic aggregate.
//!
//! Every verdict travels inside the candidate it was computed for, so it cannot land on
//! another operator's signature.

use std::collections::HashMap;

use quorate_domain::{
    AggregationError, LimitKind, ResponseDigest, SignatureScheme, SignatureVerificationError,
};
use tracing::warn;

use crate::actor::{SignatureRequest, TaskActor};
use crate::config::VerificationMode;
use crate::evidence::EquivocationEvidence;
use crate::metrics::Rejection;
use crate::tally::{DigestLimit, PositionSet};
use crate::verifier::{Checking, VerifyItem};

/// What a candidate's verdicts decide.
enum CandidateKind {
    /// The operator's first signature: `items` is `[signature]`.
    Fresh,
    /// A different digest from an operator with a counted signature: `items` is
    /// `[new signature, counted signature]`, both checked on their own.
    Conflict {
        /// The counted signature's digest slot.
        holder_slot: usize,
    },
}

/// A signature waiting for its verdicts, with exactly the items they are computed over.
struct Candidate<S: SignatureScheme> {
    /// The caller's request.
    request: SignatureRequest<S>,
    /// The operator's position in the set.
    pos: usize,
    /// What is checked; see [`CandidateKind`].
    items: Vec<VerifyItem<S>>,
    /// How the verdicts are applied.
    kind: CandidateKind,
}

impl<S: SignatureScheme, R: quorate_domain::OperatorRegistry<S>> TaskActor<S, R> {
    /// Admits a drained batch of signatures.
    pub(crate) async fn handle_batch(
        &mut self,
        batch: Vec<SignatureRequest<S>>,
    ) -> Result<(), AggregationError> {
        match self.mode {
            VerificationMode::Eager => {
                let mut queue = batch;
                // Each round admits at least one signature per operator, so this ends.
                while !queue.is_empty() {
                    queue = self.eager_round(queue).await?;
                }
            }
            VerificationMode::Optimistic => {
                for request in batch {
                    self.admit_optimistic(request).await?;
                }
            }
        }
        Ok(())
    }

    /// The checks every signature passes first: the task's expected digest and the
    /// operator's membership. Returns the operator's position, or rejects.
    fn screen(&self, request: SignatureRequest<S>) -> Option<(SignatureRequest<S>, usize)> {
        let digest = request.signed.digest;
        if self.metadata.expected_digest().is_some_and(|d| d != digest) {
            self.reject(request, SignatureVerificationError::UnexpectedDigest);
            return None;
        }
        match self.tally.position(&request.signed.operator_id) {
            Ok(pos) => Some((request, pos)),
            Err(reason) => {
                self.reject(request, reason);
                None
            }
        }
    }

    /// One eager round: every signature from an operator not yet seen this round is checked
    /// (one batched job); later ones from the same operator are returned for the next round.
    async fn eager_round(
        &mut self,
        batch: Vec<SignatureRequest<S>>,
    ) -> Result<Vec<SignatureRequest<S>>, AggregationError> {
        let mut in_round = PositionSet::with_len(self.tally.set().operators.len());
        let mut messages: HashMap<ResponseDigest, S::MessagePoint> = HashMap::new();
        let mut deferred = Vec::new();
        let mut candidates = Vec::new();
        let mut quarantined = Vec::new();
        for request in batch {
            let Some((request, pos)) = self.screen(request) else {
                continue;
            };
            if in_round.contains(pos) {
                deferred.push(request);
                continue;
            }
            let candidate = match self.tally.counted_digest(pos) {
                Some(slot) => self.conflict_candidate(request, pos, slot)?,
                None => {
                    let digest = request.signed.digest;
                    let live = self.tally.index_of(&digest);
                    if live.is_none() && self.tally.digests_full() {
                        self.reject_digest_limit(request);
                        continue;
                    }
                    let message = match live.and_then(|d| self.tally.digest(d)) {
                        Some(t) => t.message.clone(),
                        None => messages
                            .entry(digest)
                            .or_insert_with(|| self.scheme.hash_to_g1(&digest))
                            .clone(),
                    };
                    Some(self.fresh_candidate(request, pos, message)?)
                }
            };
            if let Some(c) = candidate {
                in_round.insert(pos);
                if self.quarantine.contains(&c.request.signed.operator_id) {
                    quarantined.push(c);
                } else {
                    candidates.push(c);
                }
            }
        }
        self.decide(candidates, false).await?;
        self.decide(quarantined, true).await?;
        Ok(deferred)
    }

    /// Optimistic admission of one signature.
    async fn admit_optimistic(
        &mut self,
        request: SignatureRequest<S>,
    ) -> Result<(), AggregationError> {
        let Some((request, pos)) = self.screen(request) else {
            return Ok(());
        };
        if let Some(slot) = self.tally.counted_digest(pos) {
            if !self.tally.is_verified(pos) {
                // The holder stands in the way of this signature: check it on its own.
                self.check_signers(&[(pos, slot)]).await?;
            }
        }
        if let Some(slot) = self.tally.counted_digest(pos) {
            if let Some(c) = self.conflict_candidate(request, pos, slot)? {
                self.decide(vec![c], false).await?;
            }
            return Ok(());
        }
        if self.quarantine.contains(&request.signed.operator_id) {
            // Checked alone before it counts, like an eager signature.
            let digest = request.signed.digest;
            let message = self.message_of(&digest);
            self.make_room_for(&digest).await?;
            let c = self.fresh_candidate(request, pos, message)?;
            return self.decide(vec![c], true).await;
        }
        let digest = request.signed.digest;
        self.make_room_for(&digest).await?;
        let scheme = &self.scheme;
        match self.tally.slot_for(&digest, || scheme.hash_to_g1(&digest)) {
            Ok(slot) => {
                if self
                    .tally
                    .count(pos, slot, request.signed.signature.clone(), false)
                {
                    self.accept(request, false);
                } else {
                    return Err(self.internal(format!("position {pos} could not be counted")));
                }
            }
            Err(DigestLimit) => self.reject_digest_limit(request),
        }
        Ok(())
    }

    /// `hash_to_g1(digest)`: the live slot's, or computed.
    fn message_of(&self, digest: &ResponseDigest) -> S::MessagePoint {
        match self
            .tally
            .index_of(digest)
            .and_then(|d| self.tally.digest(d))
        {
            Some(t) => t.message.clone(),
            None => self.scheme.hash_to_g1(digest),
        }
    }

    /// A new digest at the digest limit: unverified holders of digest slots must not keep an
    /// honest digest out, so they are checked and the invalid ones release their slots.
    async fn make_room_for(&mut self, digest: &ResponseDigest) -> Result<(), AggregationError> {
        if self.tally.index_of(digest).is_none() && self.tally.digests_full() {
            let unverified = self.tally.unverified();
            self.check_signers(&unverified).await?;
        }
        Ok(())
    }

    fn fresh_candidate(
        &self,
        request: SignatureRequest<S>,
        pos: usize,
        message: S::MessagePoint,
    ) -> Result<Candidate<S>, AggregationError> {
        let Some(op) = self.tally.set().operators.get(pos) else {
            return Err(self.internal(format!("position {pos} outside the set")));
        };
        let item = VerifyItem {
            digest: request.signed.digest,
            message,
            signature: request.signed.signature.clone(),
            key: op.pubkey_g2.clone(),
        };
        Ok(Candidate {
            request,
            pos,
            items: vec![item],
            kind: CandidateKind::Fresh,
        })
    }

    /// A signature from an operator that already has one counted: a duplicate is refused at
    /// once; a different digest is checked (with the counted one) once per operator per task.
    fn conflict_candidate(
        &mut self,
        request: SignatureRequest<S>,
        pos: usize,
        holder_slot: usize,
    ) -> Result<Option<Candidate<S>>, AggregationError> {
        let same = self
            .tally
            .digest(holder_slot)
            .is_some_and(|t| t.digest == request.signed.digest);
        // A second equivocation check would only cost another pairing: refuse as duplicate.
        if same || !self.tally.take_equivocation_check(pos) {
            self.reject(request, SignatureVerificationError::DuplicateSignature);
            return Ok(None);
        }
        let holder = self.counted_item(pos, holder_slot)?;
        let digest = request.signed.digest;
        let message = self.message_of(&digest);
        let mut c = self.fresh_candidate(request, pos, message)?;
        c.items.push(holder);
        c.kind = CandidateKind::Conflict { holder_slot };
        Ok(Some(c))
    }

    /// Checks every candidate's items in one job and applies each candidate's own verdicts.
    async fn decide(
        &mut self,
        candidates: Vec<Candidate<S>>,
        alone: bool,
    ) -> Result<(), AggregationError> {
        if candidates.is_empty() {
            return Ok(());
        }
        let items = candidates
            .iter()
            .flat_map(|c| c.items.iter().cloned())
            .collect();
        let checking = if alone {
            Checking::Alone
        } else {
            Checking::Merged
        };
        let verdicts = self.verify_items(items, checking).await?;
        let mut verdicts = verdicts.into_iter();
        for c in candidates {
            let mine: Vec<bool> = verdicts.by_ref().take(c.items.len()).collect();
            if mine.len() != c.items.len() {
                return Err(self.internal("fewer verdicts than checked signatures".into()));
            }
            self.apply(c, &mine)?;
        }
        Ok(())
    }

    fn apply(&mut self, c: Candidate<S>, verdicts: &[bool]) -> Result<(), AggregationError> {
        let new_ok = verdicts.first().copied().unwrap_or(false);
        if let CandidateKind::Conflict { holder_slot } = c.kind {
            let holder_ok = verdicts.get(1).copied().unwrap_or(false);
            if holder_ok {
                self.mark_verified(c.pos);
                if new_ok {
                    self.report_equivocation(c);
                } else {
                    self.reject(c.request, SignatureVerificationError::IncorrectSignature);
                }
                return Ok(());
            }
            // The counted signature was a forgery: it gives way to this one.
            self.drop_invalid(c.pos, holder_slot);
        }
        if !new_ok {
            self.reject(c.request, SignatureVerificationError::IncorrectSignature);
            return Ok(());
        }
        let Some(item) = c.items.into_iter().next() else {
            return Err(self.internal("candidate without its signature".into()));
        };
        match self.tally.slot_for(&item.digest, || item.message.clone()) {
            Ok(slot) => {
                if !self.tally.count(c.pos, slot, item.signature, true) {
                    return Err(self.internal(format!("position {} counted twice", c.pos)));
                }
                self.accept(c.request, true);
            }
            Err(DigestLimit) => self.reject_digest_limit(c.request),
        }
        Ok(())
    }

    /// Both signatures verify: keep the pair as evidence and refuse the second.
    fn report_equivocation(&self, c: Candidate<S>) {
        let (Some(second), Some(first)) = (c.items.first(), c.items.get(1)) else {
            return;
        };
        let operator_id = c.request.signed.operator_id;
        warn!(%operator_id, first = %first.digest, second = %second.digest, "equivocation");
        self.metrics.equivocation();
        let _ = self.evidence.send(EquivocationEvidence {
            task_id: self.metadata.task_id(),
            operator_id,
            first_digest: first.digest,
            first_signature: self.scheme.encode_signature(&first.signature),
            second_digest: second.digest,
            second_signature: self.scheme.encode_signature(&second.signature),
        });
        self.reject(c.request, SignatureVerificationError::Equivocation);
    }

    fn reject_digest_limit(&self, request: SignatureRequest<S>) {
        warn!(operator_id = %request.signed.operator_id, "digest limit reached");
        self.metrics.limit_reached(LimitKind::DigestsPerTask);
        self.metrics.signature_rejected(Rejection::LimitReached);
        if let Some(reply) = request.reply {
            let _ = reply.send(Err(AggregationError::LimitReached {
                task_id: self.metadata.task_id(),
                limit: LimitKind::DigestsPerTask,
                max: self.max_digests,
            }));
        }
    }
}
