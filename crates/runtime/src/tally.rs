//! The pure bookkeeping of one task: signatures and stake per response digest, the threshold
//! decision, and the checker-exact aggregate. No async, no I/O: property-tested directly.

use std::sync::Arc;

use quorate_domain::{
    G1Point, G2Point, OperatorId, QuorumThreshold, ResponseDigest, SignatureScheme,
    SignatureVerificationError, Stake,
};

use crate::operator_set::OperatorSet;

/// A fixed-size set of operator positions.
#[derive(Clone, Debug, Default)]
pub(crate) struct PositionSet {
    words: Vec<u64>,
}

impl PositionSet {
    /// An empty set for positions `0..len`.
    pub(crate) fn with_len(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// Inserts; returns false if it was present (or out of range).
    pub(crate) fn insert(&mut self, pos: usize) -> bool {
        let Some(w) = self.words.get_mut(pos / 64) else {
            return false;
        };
        let bit = 1u64 << (pos % 64);
        let fresh = *w & bit == 0;
        *w |= bit;
        fresh
    }

    /// Removes.
    pub(crate) fn remove(&mut self, pos: usize) {
        if let Some(w) = self.words.get_mut(pos / 64) {
            *w &= !(1u64 << (pos % 64));
        }
    }

    /// Number of positions in the set.
    pub(crate) fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Membership.
    pub(crate) fn contains(&self, pos: usize) -> bool {
        self.words
            .get(pos / 64)
            .is_some_and(|w| w & (1u64 << (pos % 64)) != 0)
    }
}

/// Signatures and stake gathered for one response digest.
#[derive(Debug)]
pub(crate) struct DigestTally<S: SignatureScheme> {
    /// The digest.
    pub digest: ResponseDigest,
    /// `hash_to_g1(digest)`, computed once.
    pub message: S::MessagePoint,
    /// Signed stake per quorum of the task.
    pub signed_stake: Vec<Stake>,
    /// Counted signers: operator position and signature.
    pub signers: Vec<(usize, S::Signature)>,
    /// The aggregate signature and key of the current signers once they passed their pairing
    /// check (optimistic mode), reused for the answer; a new signer clears it.
    pub checked_aggregate: Option<crate::verifier::CheckedAggregate<S>>,
}

/// What the task's signers produced for the winning digest, before index lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AggregateParts {
    /// Signer ids, ascending.
    pub signer_ids: Vec<OperatorId>,
    /// Non-signer ids, ascending.
    pub non_signer_ids: Vec<OperatorId>,
    /// Non-signer G1 keys, in `non_signer_ids` order.
    pub non_signer_pubkeys_g1: Vec<G1Point>,
    /// `apkG2`.
    pub signers_apk_g2: G2Point,
    /// `sigma`.
    pub signers_agg_sig_g1: G1Point,
    /// Signed stake per quorum.
    pub signed_stake: Vec<Stake>,
}

/// The task already tracks the maximum number of digests that hold signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DigestLimit;

/// The task's tally across digests.
///
/// Capacity rules (so that a forgery costs its sender, not an honest operator):
/// an operator holds at most one counted signature per task, a digest slot exists only while
/// it holds a counted signature, and emptied slots are reused. Whether a counted signature was
/// verified on its own is tracked per operator, so the runtime can re-check unverified holders
/// when they stand in an honest signature's way.
#[derive(Debug)]
pub(crate) struct TaskTally<S: SignatureScheme> {
    set: Arc<OperatorSet<S>>,
    thresholds: Vec<QuorumThreshold>,
    /// Per digest; a slot with no signers is free for reuse.
    digests: Vec<DigestTally<S>>,
    /// Operators with a counted signature: one signature per operator per task.
    counted: PositionSet,
    /// Operators whose counted signature passed a check (alone, in a batch, or in an
    /// aggregate that verified).
    verified: PositionSet,
    /// Operators whose counted signature passed a check of its own (alone, or in a batch with
    /// random coefficients), not only a sum: a search can leave these out, since a sum is no
    /// check of its parts (a cancelling pair passes it).
    checked_alone: PositionSet,
    /// Operators already checked once for equivocation: the check costs a pairing, so a
    /// flood of conflicting signatures under one id costs at most one.
    equivocation_checked: PositionSet,
    max_digests: usize,
}

impl<S: SignatureScheme> TaskTally<S> {
    /// An empty tally; `thresholds` align with the set's quorums.
    pub(crate) fn new(
        set: Arc<OperatorSet<S>>,
        thresholds: Vec<QuorumThreshold>,
        max_digests: usize,
    ) -> Self {
        let n = set.operators.len();
        Self {
            set,
            thresholds,
            digests: Vec::new(),
            counted: PositionSet::with_len(n),
            verified: PositionSet::with_len(n),
            checked_alone: PositionSet::with_len(n),
            equivocation_checked: PositionSet::with_len(n),
            max_digests,
        }
    }

    /// The operator set.
    pub(crate) fn set(&self) -> &Arc<OperatorSet<S>> {
        &self.set
    }

    /// The operator's position, or why it may not sign this task.
    pub(crate) fn position(
        &self,
        operator_id: &OperatorId,
    ) -> Result<usize, SignatureVerificationError> {
        match self.set.position(operator_id) {
            Some(pos) => Ok(pos),
            None if self.set.is_outsider(operator_id) => {
                Err(SignatureVerificationError::OperatorNotInQuorums)
            }
            None => Err(SignatureVerificationError::OperatorNotFound),
        }
    }

    /// The digest slot holding the operator's counted signature, if any.
    pub(crate) fn counted_digest(&self, pos: usize) -> Option<usize> {
        if !self.counted.contains(pos) {
            return None;
        }
        self.digests
            .iter()
            .position(|d| d.signers.iter().any(|(p, _)| *p == pos))
    }

    /// Whether the operator's counted signature passed a check.
    pub(crate) fn is_verified(&self, pos: usize) -> bool {
        self.verified.contains(pos)
    }

    /// Whether the operator's counted signature passed a check of its own (not only a sum).
    pub(crate) fn is_checked_alone(&self, pos: usize) -> bool {
        self.checked_alone.contains(pos)
    }

    /// Marks a counted signature as checked on its own (alone, or in a batch with random
    /// coefficients).
    pub(crate) fn mark_verified(&mut self, pos: usize) {
        self.verified.insert(pos);
        self.checked_alone.insert(pos);
    }

    /// Forgets that an operator's signature was checked (a new one replaces it, or it is gone).
    fn forget_checks(&mut self, pos: usize) {
        self.verified.remove(pos);
        self.checked_alone.remove(pos);
    }

    /// True the first time it is asked for an operator: whether an equivocation check may
    /// still be spent on it.
    pub(crate) fn take_equivocation_check(&mut self, pos: usize) -> bool {
        self.equivocation_checked.insert(pos)
    }

    /// The slot of a digest that holds signatures.
    pub(crate) fn index_of(&self, digest: &ResponseDigest) -> Option<usize> {
        self.digests
            .iter()
            .position(|d| &d.digest == digest && !d.signers.is_empty())
    }

    /// Whether every operator of the task's quorums has a counted signature: nothing that
    /// arrives later can count, so the task may finish without waiting out its window.
    pub(crate) fn all_counted(&self) -> bool {
        self.counted.count() == self.set.operators.len()
    }

    /// Digests holding at least one counted signature.
    pub(crate) fn live_digests(&self) -> usize {
        self.digests
            .iter()
            .filter(|d| !d.signers.is_empty())
            .count()
    }

    /// Whether a new digest would be refused.
    pub(crate) fn digests_full(&self) -> bool {
        self.live_digests() >= self.max_digests
    }

    /// The slot for `digest`: its live slot, or a new one (reusing an emptied slot) with the
    /// given `hash_to_g1(digest)`.
    pub(crate) fn slot_for(
        &mut self,
        digest: &ResponseDigest,
        message: impl FnOnce() -> S::MessagePoint,
    ) -> Result<usize, DigestLimit> {
        if let Some(d) = self.index_of(digest) {
            return Ok(d);
        }
        if self.digests_full() {
            return Err(DigestLimit);
        }
        let fresh = DigestTally {
            digest: *digest,
            message: message(),
            signed_stake: vec![Stake::ZERO; self.set.quorums.len()],
            signers: Vec::new(),
            checked_aggregate: None,
        };
        match self.digests.iter().position(|d| d.signers.is_empty()) {
            Some(free) => {
                if let Some(slot) = self.digests.get_mut(free) {
                    *slot = fresh;
                }
                Ok(free)
            }
            None => {
                self.digests.push(fresh);
                Ok(self.digests.len() - 1)
            }
        }
    }

    /// Counts a signature: adds the operator's stake to every quorum it is in. Returns false
    /// (and counts nothing) if the operator already has a counted signature or the slot or
    /// position does not exist.
    pub(crate) fn count(
        &mut self,
        pos: usize,
        digest_index: usize,
        signature: S::Signature,
        verified: bool,
    ) -> bool {
        let (Some(op), Some(d)) = (
            self.set.operators.get(pos),
            self.digests.get_mut(digest_index),
        ) else {
            return false;
        };
        // One counted signature per operator per task.
        if !self.counted.insert(pos) {
            return false;
        }
        for (signed, stake) in d.signed_stake.iter_mut().zip(&op.stakes) {
            *signed = signed.saturating_add(*stake);
        }
        if d.signers.len() == d.signers.capacity() {
            // Grow by doubling but never past the operators that could still sign: with
            // thousands of tasks open, doubling 64 → 128 for 100 operators would waste 2 KiB each.
            let room = self.set.operators.len().saturating_sub(d.signers.len());
            d.signers
                .reserve_exact(d.signers.len().max(4).min(room.max(1)));
        }
        d.signers.push((pos, signature));
        // A new signer is not covered by an earlier aggregate check.
        d.checked_aggregate = None;
        if verified {
            self.mark_verified(pos);
        } else {
            self.forget_checks(pos);
        }
        true
    }

    /// Removes a counted signature (found invalid) and frees the operator's slot; the digest
    /// slot is freed with its last signer.
    pub(crate) fn uncount(&mut self, pos: usize, digest_index: usize) {
        let Some(op) = self.set.operators.get(pos) else {
            return;
        };
        if let Some(d) = self.digests.get_mut(digest_index) {
            if let Some(i) = d.signers.iter().position(|(p, _)| *p == pos) {
                d.signers.swap_remove(i);
                for (signed, stake) in d.signed_stake.iter_mut().zip(&op.stakes) {
                    *signed = signed.saturating_sub(*stake);
                }
                d.checked_aggregate = None;
                self.counted.remove(pos);
                self.forget_checks(pos);
            }
        }
    }

    /// Marks every signer of a digest as covered by its aggregate's passing check.
    pub(crate) fn mark_digest_verified(&mut self, digest_index: usize) {
        if let Some(d) = self.digests.get(digest_index) {
            for (pos, _) in &d.signers {
                self.verified.insert(*pos);
            }
        }
    }

    /// Operators with a counted, not yet checked signature, with their digest slot.
    pub(crate) fn unverified(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (d, tally) in self.digests.iter().enumerate() {
            for (pos, _) in &tally.signers {
                if !self.verified.contains(*pos) {
                    out.push((*pos, d));
                }
            }
        }
        out
    }

    /// Whether every quorum's threshold is met for the digest.
    pub(crate) fn thresholds_met(&self, digest_index: usize) -> bool {
        let Some(d) = self.digests.get(digest_index) else {
            return false;
        };
        self.thresholds
            .iter()
            .zip(&d.signed_stake)
            .zip(&self.set.total_stakes)
            .all(|((t, signed), total)| t.is_met(*signed, *total))
    }

    /// The operator's stake per quorum of the task, if it is in the set.
    pub(crate) fn stakes_of(&self, operator_id: &OperatorId) -> Option<&[Stake]> {
        let pos = self.set.position(operator_id)?;
        self.set.operators.get(pos).map(|op| op.stakes.as_slice())
    }

    /// Whether the digest would meet every threshold with `extra` stake per quorum added to
    /// what its counted signers hold (a digest without a slot holds nothing yet).
    pub(crate) fn would_meet(&self, digest: &ResponseDigest, extra: &[Stake]) -> bool {
        let signed = self
            .index_of(digest)
            .and_then(|d| self.digests.get(d))
            .map(|d| d.signed_stake.as_slice())
            .unwrap_or_default();
        self.thresholds
            .iter()
            .zip(&self.set.total_stakes)
            .enumerate()
            .all(|(q, (t, total))| {
                let have = signed.get(q).copied().unwrap_or(Stake::ZERO);
                let more = extra.get(q).copied().unwrap_or(Stake::ZERO);
                t.is_met(have.saturating_add(more), *total)
            })
    }

    /// The signers' signatures of a digest with their multiplicities (the terms of `sigma`);
    /// `Err(position)` for a signer outside the set, which would be a bookkeeping bug.
    pub(crate) fn signer_signature_terms(
        &self,
        digest_index: usize,
    ) -> Result<Vec<(&S::Signature, u64)>, usize> {
        let Some(d) = self.digests.get(digest_index) else {
            return Ok(Vec::new());
        };
        d.signers
            .iter()
            .map(|(pos, sig)| match self.set.operators.get(*pos) {
                Some(op) => Ok((sig, u64::from(op.quorum_count))),
                None => Err(*pos),
            })
            .collect()
    }

    /// The terms whose sum is the signers' `apkG2` for a digest: each signer's key times its
    /// multiplicity, or, when more than half of the operators sign, the whole set's apk minus
    /// the non-signers' keys (fewer G2 additions).
    pub(crate) fn signer_key_terms(&self, digest_index: usize) -> Vec<(&S::G2PublicKey, i64)> {
        let Some(d) = self.digests.get(digest_index) else {
            return Vec::new();
        };
        let ops = &self.set.operators;
        let weight = |pos: usize| {
            ops.get(pos)
                .map(|o| (&o.pubkey_g2, i64::from(o.quorum_count)))
        };
        if 2 * d.signers.len() <= ops.len() {
            return d
                .signers
                .iter()
                .filter_map(|(pos, _)| weight(*pos))
                .collect();
        }
        let mut signing = PositionSet::with_len(ops.len());
        for (pos, _) in &d.signers {
            signing.insert(*pos);
        }
        let mut terms = vec![(&self.set.apk_g2, 1)];
        terms.extend(
            (0..ops.len())
                .filter(|pos| !signing.contains(*pos))
                .filter_map(|pos| weight(pos).map(|(k, w)| (k, -w))),
        );
        terms
    }

    /// The digest at an index.
    pub(crate) fn digest(&self, digest_index: usize) -> Option<&DigestTally<S>> {
        self.digests.get(digest_index)
    }

    /// Mutable access to a digest's tally.
    pub(crate) fn digest_mut(&mut self, digest_index: usize) -> Option<&mut DigestTally<S>> {
        self.digests.get_mut(digest_index)
    }

    /// Number of digest slots (live or free).
    pub(crate) fn digest_count(&self) -> usize {
        self.digests.len()
    }

    /// The checker-exact aggregate for a digest: every signer counted once per task quorum it
    /// is in, non-signers = every other operator of the quorums, sorted by id.
    pub(crate) fn aggregate(&self, scheme: &S, digest_index: usize) -> Option<AggregateParts> {
        let d = self.digests.get(digest_index)?;
        let ops = &self.set.operators;
        let mut signed = PositionSet::with_len(ops.len());
        for (pos, _) in &d.signers {
            ops.get(*pos)?;
            signed.insert(*pos);
        }
        let mut signer_ids = Vec::with_capacity(d.signers.len());
        let mut non_signer_ids = Vec::new();
        let mut non_signer_pubkeys_g1 = Vec::new();
        for (pos, op) in ops.iter().enumerate() {
            if signed.contains(pos) {
                signer_ids.push(op.id);
            } else {
                non_signer_ids.push(op.id);
                non_signer_pubkeys_g1.push(op.pubkey_g1);
            }
        }
        // The checked aggregate has the same weights (one per quorum the signer is in).
        let (sigma, apk) = match &d.checked_aggregate {
            Some((sigma, apk)) => (scheme.encode_signature(sigma), scheme.encode_g2(apk)),
            None => {
                // Every signer is in the set (checked above).
                let sigs = self.signer_signature_terms(digest_index).ok()?;
                let keys = self.signer_key_terms(digest_index);
                (
                    scheme.encode_signature(&scheme.aggregate_signatures(&sigs)),
                    scheme.encode_g2(&scheme.aggregate_g2(&keys)),
                )
            }
        };
        Some(AggregateParts {
            signer_ids,
            non_signer_ids,
            non_signer_pubkeys_g1,
            signers_apk_g2: apk,
            signers_agg_sig_g1: sigma,
            signed_stake: d.signed_stake.clone(),
        })
    }
}
