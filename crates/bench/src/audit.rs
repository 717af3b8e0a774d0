//! Checks Quorate's delivered aggregates after the timed part: each one's signature must pass
//! the BLS crate's aggregate check (`BLSSignatureChecker`'s γ-trick equation) against its
//! signers' keys, and its signers must be exactly the workload's valid signers for the task.
//! A throughput figure only counts if every aggregate behind it is right.
//!
//! During the timed part the consumer only copies what the check needs (σ, apkG2 and the
//! signer set as a bitmap) into room reserved before the baseline memory reading, so neither
//! the time nor the peak-memory figure includes the check.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use quorate_domain::{AggregatedResponse, G1Point, G2Point, OperatorId, ResponseDigest};

use super::driver::Data;

/// Problems recorded while copying, at most (the first one is reported).
const MAX_PROBLEMS: usize = 16;

/// What the consumer keeps of every delivered aggregate.
pub struct Kept {
    /// Per task: `sigma` and `apkG2` as delivered; `None` until the task is delivered.
    points: Vec<Option<(G1Point, G2Point)>>,
    /// Per task, `words` words: bit `i` is set when operator `i` is among the signers.
    signers: Vec<u64>,
    /// Words per task in `signers`.
    words: usize,
    /// Operators in the workload.
    ops: usize,
    /// Shape problems seen while copying (wrong digest or quorums, unknown, repeated or
    /// unsorted signer ids, non-signers not the other operators), first ones only.
    problems: Vec<String>,
}

impl Kept {
    /// Room for `tasks` tasks of `ops` operators, written once now so that its pages are
    /// resident before the baseline memory reading (not counted as the aggregator's growth).
    pub fn new(tasks: usize, ops: usize) -> Self {
        let words = ops.div_ceil(64).max(1);
        Self {
            // Cloning `None` writes every element's tag: every page is touched.
            points: vec![None; tasks],
            // Non-zero so the allocation is written (a zeroed one is mapped lazily).
            signers: vec![u64::MAX; tasks * words],
            words,
            ops,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    /// Copies task `task`'s aggregate; returns how many of its signers signed invalidly
    /// (the driver's running count, which must stay 0).
    pub fn keep(
        &mut self,
        task: u32,
        agg: &AggregatedResponse,
        op_index: &HashMap<OperatorId, u32>,
        data: &Data,
    ) -> usize {
        let t = task as usize;
        let (w, ops) = (self.words, self.ops);
        let Some(sigs) = data.tasks.get(t).and_then(Option::as_ref) else {
            self.problem(format!("task {task}: delivered but not in the workload"));
            return 0;
        };
        if agg.digest != ResponseDigest::new(sigs.digest) {
            self.problem(format!("task {task}: aggregate of another digest"));
        }
        if agg.quorum_numbers.len() != usize::from(data.quorums) {
            self.problem(format!(
                "task {task}: {} quorums in the aggregate, {} in the task",
                agg.quorum_numbers.len(),
                data.quorums
            ));
        }
        let (mut invalid, mut problems) = (0, Vec::new());
        let Some(bits) = self.signers.get_mut(t * w..(t + 1) * w) else {
            self.problem(format!("task {task}: beyond the reserved room"));
            return 0;
        };
        bits.fill(0);
        let mut prev: Option<&OperatorId> = None;
        for id in &agg.signer_ids {
            if prev.is_some_and(|p| p >= id) {
                problems.push(format!("task {task}: signer ids not strictly ascending"));
            }
            prev = Some(id);
            let Some(&i) = op_index.get(id) else {
                problems.push(format!(
                    "task {task}: signer {id} is not a workload operator"
                ));
                continue;
            };
            let i = i as usize;
            bits[i / 64] |= 1 << (i % 64);
            invalid += usize::from(sigs.invalid.get(i).copied().unwrap_or(true));
        }
        let non_signers_ok = agg.signer_ids.len() + agg.non_signer_ids.len() == ops
            && agg.non_signer_ids.iter().all(|id| {
                op_index
                    .get(id)
                    .is_some_and(|&i| bits[i as usize / 64] & (1 << (i % 64)) == 0)
            });
        if !non_signers_ok {
            problems.push(format!(
                "task {task}: non-signers are not the other operators"
            ));
        }
        for p in problems {
            self.problem(p);
        }
        if let Some(slot) = self.points.get_mut(t) {
            *slot = Some((agg.signers_agg_sig_g1, agg.signers_apk_g2));
        }
        invalid
    }

    /// Checks every kept aggregate; returns how many were checked, or an error naming the
    /// first task whose aggregate is wrong.
    pub fn check(&self, data: &Data) -> Result<u64> {
        if let Some(first) = self.problems.first() {
            bail!(
                "{} malformed aggregate(s) delivered; first: {first}",
                self.problems.len()
            );
        }
        let keys = data
            .keys
            .g1
            .iter()
            .map(|g| quorate_bls::G1PublicKey::from_affine(*g))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("workload key: {e}"))?;
        let scheme = quorate_bls::Bn254Scheme;
        let quorums = i64::from(data.quorums);
        let mut checked = 0;
        for (t, slot) in self.points.iter().enumerate() {
            let Some((sigma, apk_g2)) = slot else {
                continue;
            };
            let Some(sigs) = data.tasks.get(t).and_then(Option::as_ref) else {
                bail!("task {t}: delivered but not in the workload");
            };
            let bits = self.signers.get(t * self.words..(t + 1) * self.words);
            let signer = |i: usize| bits.is_some_and(|b| b[i / 64] & (1 << (i % 64)) != 0);
            let (mut missing, mut extra, mut terms) = (Vec::new(), Vec::new(), Vec::new());
            for (i, key) in keys.iter().enumerate() {
                let valid = !sigs.invalid.get(i).copied().unwrap_or(true);
                match (signer(i), valid) {
                    (true, true) => terms.push((key, quorums)),
                    (true, false) => extra.push(i),
                    (false, true) => missing.push(i),
                    (false, false) => {}
                }
            }
            if !missing.is_empty() || !extra.is_empty() {
                let mut e =
                    format!("task {t}: the aggregate's signers are not the task's valid signers");
                if !missing.is_empty() {
                    let _ = write!(e, "; valid operators left out: {missing:?}");
                }
                if !extra.is_empty() {
                    let _ = write!(e, "; invalid operators included: {extra:?}");
                }
                bail!(e);
            }
            // Every operator is in every quorum with the same stake: the contract's apk
            // (quorum apks minus non-signers) is each signer's key once per quorum.
            let apk_g1 = quorate_bls::aggregate_g1(&terms);
            let apk_g2 = scheme_decode_g2(&scheme, apk_g2, t)?;
            let sigma = scheme_decode_sig(&scheme, sigma, t)?;
            if !quorate_bls::check_aggregate(
                &ResponseDigest::new(sigs.digest),
                &apk_g1,
                &apk_g2,
                &sigma,
            ) {
                bail!(
                    "task {t}: the aggregate signature fails the aggregate check against its {} signers' keys",
                    terms.len()
                );
            }
            checked += 1;
        }
        Ok(checked)
    }
}

fn scheme_decode_g2(
    scheme: &quorate_bls::Bn254Scheme,
    p: &G2Point,
    t: usize,
) -> Result<quorate_bls::G2PublicKey> {
    quorate_domain::SignatureScheme::decode_g2(scheme, p)
        .map_err(|e| anyhow!("task {t}: apkG2 does not decode: {e}"))
}

fn scheme_decode_sig(
    scheme: &quorate_bls::Bn254Scheme,
    p: &G1Point,
    t: usize,
) -> Result<quorate_bls::Signature> {
    quorate_domain::SignatureScheme::decode_signature(scheme, p)
        .map_err(|e| anyhow!("task {t}: sigma does not decode: {e}"))
}
