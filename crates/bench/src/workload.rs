//! The workload both aggregators get: operator keys, per-task signatures (some invalid) and the
//! order in which signatures arrive. Generated before the timed part: signing is the
//! operators' cost, not the aggregator's.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

/// Which signatures of a task are invalid. The variants' order is the report's: the fixed
/// faulty operators right after the all-valid row, random invalid signatures after them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Invalid {
    /// Every signature is valid.
    #[default]
    None,
    /// The same `k` operators sign invalidly in every task (a faulty or malicious key: the
    /// case the runtime's quarantine targets).
    FixedOperators(u32),
    /// This many per mille of all signatures, from operators drawn at random per task.
    RandomPermille(u32),
}

impl Invalid {
    /// How the report names the pattern (empty for all valid).
    pub fn describe(self) -> String {
        match self {
            Invalid::None => String::new(),
            Invalid::FixedOperators(1) => "1 faulty operator in every task".into(),
            Invalid::FixedOperators(k) => format!("{k} fixed faulty operators"),
            Invalid::RandomPermille(p) => format!("{}% invalid at random", f64::from(p) / 10.0),
        }
    }
}

/// Operator keys. Secrets form an arithmetic progression `sk_i = s0 + i·d` (random `s0`, `d`)
/// so that keys and signatures are made with one group addition each instead of one scalar
/// multiplication; neither aggregator can see or exploit this structure (every signature is
/// checked against its own key with fresh random batching coefficients).
pub struct Keys {
    /// Secret scalars, for eigensdk's `BlsKeyPair` (which derives its own public keys).
    pub secrets: Vec<Fr>,
    /// G1 public keys.
    pub g1: Vec<G1Affine>,
    /// G2 public keys.
    pub g2: Vec<G2Affine>,
    s0: Fr,
    d: Fr,
}

/// What one operator sent for one task.
pub struct TaskSigs {
    /// The signed digest.
    pub digest: [u8; 32],
    /// Signature of each operator (index = operator), invalid ones included.
    pub sigs: Vec<G1Affine>,
    /// Which operators' signatures are invalid.
    pub invalid: Vec<bool>,
    /// Arrival order of the operators' signatures for this task; the last one is always valid
    /// (it is the threshold-completing signature).
    pub order: Vec<u32>,
    /// Threshold percentage for every quorum: exactly the valid signers' share.
    pub threshold: u8,
}

impl Keys {
    /// `n` operator keys from `seed`.
    pub fn generate(n: usize, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let s0 = Fr::rand(&mut rng);
        let d = Fr::rand(&mut rng);
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let (p1, d1) = (
            g1.mul_bigint(s0.into_bigint()),
            g1.mul_bigint(d.into_bigint()),
        );
        let (p2, d2) = (
            g2.mul_bigint(s0.into_bigint()),
            g2.mul_bigint(d.into_bigint()),
        );
        let mut secrets = Vec::with_capacity(n);
        let mut a1: Vec<G1Projective> = Vec::with_capacity(n);
        let mut a2: Vec<G2Projective> = Vec::with_capacity(n);
        let (mut s, mut q1, mut q2) = (s0, p1, p2);
        for _ in 0..n {
            secrets.push(s);
            a1.push(q1);
            a2.push(q2);
            s += d;
            q1 += d1;
            q2 += d2;
        }
        Self {
            secrets,
            g1: G1Projective::normalize_batch(&a1),
            g2: G2Projective::normalize_batch(&a2),
            s0,
            d,
        }
    }

    /// Number of operators.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Every operator's signature on task `t`'s digest; the ones `pattern` picks are replaced
    /// by an on-curve point that does not verify.
    pub fn sign_task(&self, t: usize, pattern: Invalid, seed: u64) -> TaskSigs {
        let n = self.len();
        let digest = digest(t, seed);
        let h = quorate_bls::hash_to_g1(&digest);
        let step = h.mul_bigint(self.d.into_bigint());
        let mut acc = h.mul_bigint(self.s0.into_bigint());
        let mut proj = Vec::with_capacity(n);
        let mut rng =
            ChaCha20Rng::seed_from_u64(seed ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut ops: Vec<u32> = (0..n as u32).collect();
        ops.shuffle(&mut rng);
        let mut invalid = vec![false; n];
        // Every task keeps at least one valid signature (the threshold-completing one).
        let cap = n.saturating_sub(1);
        match pattern {
            Invalid::None => {}
            Invalid::RandomPermille(p) => {
                // floor((t+1)·n·p) − floor(t·n·p) random operators, so the average is exactly
                // p while the operators change from task to task.
                let per = |t: usize| (t as u64 * n as u64 * u64::from(p)) / 1000;
                let k = usize::try_from(per(t + 1) - per(t)).unwrap_or(0).min(cap);
                for &o in ops.iter().take(k) {
                    invalid[o as usize] = true;
                }
            }
            Invalid::FixedOperators(k) => {
                // Operators 0..k in every task. Their index says nothing about their place in
                // the aggregators' (operator id) order, which is a hash of the key.
                for slot in invalid.iter_mut().take((k as usize).min(cap)) {
                    *slot = true;
                }
            }
        }
        for inv in &invalid {
            let mut s = acc;
            if *inv {
                s += G1Affine::generator();
            }
            proj.push(s);
            acc += step;
        }
        // Arrival order: random, but the last signature is a valid one.
        ops.shuffle(&mut rng);
        if let Some(pos) = ops.iter().rposition(|&o| !invalid[o as usize]) {
            let last = ops.len() - 1;
            ops.swap(pos, last);
        }
        let valid = invalid.iter().filter(|b| !**b).count() as u64;
        let threshold = u8::try_from((valid * 100) / n as u64).unwrap_or(100).max(1);
        TaskSigs {
            digest,
            sigs: G1Projective::normalize_batch(&proj),
            invalid,
            order: ops,
            threshold,
        }
    }
}

/// Task `t`'s response digest (distinct per task, never zero).
pub fn digest(t: usize, seed: u64) -> [u8; 32] {
    let mut d = [0xA5u8; 32];
    d[..8].copy_from_slice(&(t as u64).to_be_bytes());
    d[8..16].copy_from_slice(&seed.to_be_bytes());
    d
}

/// One signature in the arrival stream.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// Task index.
    pub task: u32,
    /// Position in the task's `order` (0 = first to arrive).
    pub nth: u32,
}

/// Arrival stream for `tasks` tasks of `n` signatures with `inflight` tasks open at once:
/// `inflight` slots each run tasks back to back, and rounds visit every busy slot once.
/// Slots start late by different numbers of rounds so that completions are spread evenly
/// (steady state) instead of every task finishing in the same round: with fewer slots than
/// signatures per task, slot `j` starts `⌊j·n/inflight⌋` rounds late (at most one completion
/// per round); with more, slot `j` starts `j mod n` rounds late, so the slots finishing in
/// one round are `n` apart in the round's order rather than adjacent (adjacent completions
/// would arrive as one burst of aggregate checks).
pub fn stream(tasks: usize, n: usize, inflight: usize) -> Vec<Arrival> {
    let k = inflight.clamp(1, tasks.max(1));
    // Tasks per slot: slot j gets tasks j, j+k, j+2k, ...
    let mut next: Vec<(usize, usize)> = (0..k).map(|j| (j, 0)).collect(); // (task, nth)
    let start: Vec<usize> = (0..k)
        .map(|j| if k <= n { j * n / k } else { j % n.max(1) })
        .collect();
    let mut out = Vec::with_capacity(tasks * n);
    let mut round = 0usize;
    let mut done = 0usize;
    while done < k {
        done = 0;
        for (j, slot) in next.iter_mut().enumerate() {
            if slot.0 >= tasks {
                done += 1;
                continue;
            }
            if round < start[j] {
                continue;
            }
            out.push(Arrival {
                task: slot.0 as u32,
                nth: slot.1 as u32,
            });
            slot.1 += 1;
            if slot.1 == n {
                *slot = (slot.0 + k, 0);
            }
        }
        round += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_invalid_ones_do_not() {
        let keys = Keys::generate(20, 1);
        let t = keys.sign_task(3, Invalid::RandomPermille(100), 1);
        let msg = quorate_bls::MessagePoint::hash(&t.digest);
        for i in 0..20 {
            let sig = quorate_bls::Signature::from_affine(t.sigs[i]).unwrap();
            let pk = quorate_bls::G2PublicKey::from_affine(keys.g2[i]).unwrap();
            assert_eq!(quorate_bls::verify(&msg, &sig, &pk), !t.invalid[i]);
        }
        assert_eq!(t.invalid.iter().filter(|b| **b).count(), 2);
        assert!(!t.invalid[*t.order.last().unwrap() as usize]);
        assert_eq!(t.threshold, 90);
    }

    #[test]
    fn fixed_faulty_operators_are_the_same_in_every_task() {
        let keys = Keys::generate(20, 1);
        for t in 0..5 {
            let s = keys.sign_task(t, Invalid::FixedOperators(3), 1);
            let bad: Vec<usize> = (0..20).filter(|&i| s.invalid[i]).collect();
            assert_eq!(bad, vec![0, 1, 2]);
            assert_eq!(s.threshold, 85);
        }
    }

    #[test]
    fn stream_covers_every_signature_once() {
        for (tasks, n, k) in [(5, 3, 1), (10, 4, 3), (7, 10, 100)] {
            let s = stream(tasks, n, k);
            assert_eq!(s.len(), tasks * n);
            let mut seen = vec![0u32; tasks];
            for a in s {
                assert_eq!(seen[a.task as usize], a.nth);
                seen[a.task as usize] += 1;
            }
        }
    }

    #[test]
    fn completions_are_spread_not_bunched() {
        for (n, k) in [(10, 100), (100, 1000), (100, 30)] {
            let s = stream(4 * k, n, k);
            let ends: Vec<usize> = s
                .iter()
                .enumerate()
                .filter(|(_, a)| a.nth as usize == n - 1)
                .map(|(i, _)| i)
                .collect();
            // Steady state (the middle half): no more than two completions within any
            // min(n, k)/2 consecutive arrivals (the old stagger put k/n of them back to back).
            let mid = &ends[ends.len() / 4..3 * ends.len() / 4];
            let window = n.min(k) / 2;
            let bunched = mid.windows(3).filter(|w| w[2] - w[0] < window).count();
            assert_eq!(bunched, 0, "n={n} k={k}");
        }
    }
}
