//! Eager mode's linger: a task holds arriving signatures for a bounded time so that they are
//! checked together, as one batch of one digest.
//!
//! A batch check costs a Miller-loop pair per distinct digest (or key) plus the per-signature
//! multi-scalar work. Under load, signatures of many tasks arrive interleaved, so a batch cut
//! at the moment the pool frees up holds about one signature per task: a pair per signature.
//! Held at the task, the signatures of one digest wait for each other and share one pair.
//!
//! Holding never delays a task's answer: a signature that could complete a threshold (with the
//! held and counted stake of its digest) releases the whole hold at once. What waits is the
//! verdict of signatures that could not have completed anything yet, at most `linger`. The
//! hold is adaptive: it starts only while signatures stream in (the previous one arrived less
//! than `linger` ago), so a lone signature on a quiet task is checked at once.

use std::time::Duration;

use quorate_domain::{ResponseDigest, SignatureScheme, Stake};
use tokio::time::Instant;

use crate::actor::SignatureRequest;
use crate::tally::TaskTally;

/// Signatures a task holds before checking them (eager mode with a linger).
pub(crate) struct Hold<S: SignatureScheme> {
    /// Longest a held signature waits; zero turns holding off.
    linger: Duration,
    /// Most signatures held: one more releases them all.
    max: usize,
    /// The held signatures, in arrival order.
    held: Vec<SignatureRequest<S>>,
    /// Stake per quorum of the held signatures, per digest. An upper bound (a duplicate or a
    /// forgery counts too), so the hold errs towards releasing early, never late.
    stake: Vec<(ResponseDigest, Vec<Stake>)>,
    /// When the oldest held signature arrived.
    since: Option<Instant>,
    /// When the latest signature arrived.
    last_arrival: Option<Instant>,
}

impl<S: SignatureScheme> Hold<S> {
    /// A hold of at most `max` signatures for at most `linger` (zero: never hold).
    pub(crate) fn new(linger: Duration, max: usize) -> Self {
        Self {
            linger,
            max: max.max(1),
            held: Vec::new(),
            stake: Vec::new(),
            since: None,
            last_arrival: None,
        }
    }

    /// Takes arriving signatures and returns the ones to check now: none while holding them,
    /// else everything held so far with them.
    pub(crate) fn offer(
        &mut self,
        arriving: Vec<SignatureRequest<S>>,
        now: Instant,
        tally: &TaskTally<S>,
    ) -> Vec<SignatureRequest<S>> {
        if self.linger.is_zero() {
            return arriving;
        }
        let streaming = self
            .last_arrival
            .is_some_and(|at| now.saturating_duration_since(at) < self.linger);
        self.last_arrival = Some(now);
        for request in &arriving {
            self.add_stake(&request.signed.digest, &request.signed.operator_id, tally);
        }
        self.held.extend(arriving);
        if !streaming || self.held.len() >= self.max || self.could_complete(tally) {
            return self.take();
        }
        self.since.get_or_insert(now);
        Vec::new()
    }

    /// When the held signatures must go, if any are held.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.since.map(|at| at + self.linger)
    }

    /// Everything held, emptying the hold.
    pub(crate) fn take(&mut self) -> Vec<SignatureRequest<S>> {
        self.since = None;
        self.stake.clear();
        std::mem::take(&mut self.held)
    }

    fn add_stake(
        &mut self,
        digest: &ResponseDigest,
        operator: &quorate_domain::OperatorId,
        tally: &TaskTally<S>,
    ) {
        // A stranger's signature holds no stake; it is refused when checked.
        let Some(stakes) = tally.stakes_of(operator) else {
            return;
        };
        let i = match self.stake.iter().position(|(d, _)| d == digest) {
            Some(i) => i,
            None => {
                self.stake.push((*digest, vec![Stake::ZERO; stakes.len()]));
                self.stake.len() - 1
            }
        };
        if let Some((_, sums)) = self.stake.get_mut(i) {
            for (sum, stake) in sums.iter_mut().zip(stakes) {
                *sum = sum.saturating_add(*stake);
            }
        }
    }

    /// Whether checking the held signatures could make some digest meet every threshold.
    fn could_complete(&self, tally: &TaskTally<S>) -> bool {
        self.stake
            .iter()
            .any(|(digest, extra)| tally.would_meet(digest, extra))
    }
}
