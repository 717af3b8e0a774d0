//! Confirming the walks' guesses, all with one final exponentiation.
//!
//! A walk's match says "the candidates (item `j`, or the pair `x`, `y`) are the only invalid
//! items of their range", but only as a guess steered by public weights. It is confirmed by
//! the candidates' own errors: `Σⱼ rⱼ·eⱼ = A` over the candidates. Then `Σ rᵢeᵢ = 0` over the
//! range's other items, which is the random-coefficient batch check of those, so they are
//! valid. Every candidate is then certainly invalid: a single one because `A ≠ 0`; each of a
//! pair because, the rest being valid, a valid partner would leave exactly one invalid item,
//! whose values the single walk (run first, exactly) would have matched.
//!
//! Several guesses `t` are confirmed at once with fresh CSPRNG weights `uₜ` (64-bit,
//! non-zero): `Σ uₜ·Aₜ = Σ uₜ·Σⱼ rⱼeⱼ`, the right side one multi-Miller loop (one pair for the
//! signatures; one per candidate on its key's cached line coefficients, or, for three or more
//! candidates of one message, one for the message with their keys' products `rⱼ·pkⱼ` summed)
//! and one final exponentiation, the left side a GT multi-exponentiation. If any guess is wrong, the two
//! sides differ except with probability ≤ 2⁻⁶⁴ over the `uₜ`, which are drawn after every
//! `Aₜ` is fixed. A single guess needs no weight.
//!
//! Soundness of the steering: the positions `k` are public, but they only steer; the `rᵢ`
//! stay secret CSPRNG output, and every accepting decision (a passing range, a confirmed
//! guess) rests on the plain `rᵢ`. A wrong guess costs a bisection, never a wrong answer.

use ark_bn254::{G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{CyclotomicMultSubgroup, Zero};
use rand_core::{CryptoRng, RngCore};

use super::search::{Found, Gt, Located, Reading, Value};
use super::Batch;
use crate::msm::msm_u128;
use crate::pairing::{neg_g2_prepared, pairing_product};
use crate::points::G2Prepared;

/// Candidates of one message from which they share one pair on the message's side: below it,
/// their own pairs on their keys' cached lines cost less than a fresh G2 preparation and the
/// weighted G2 sum.
pub(super) const MESSAGE_SIDE_CANDIDATES: usize = 3;

/// Terms per subset table in [`multi_exp`]: 16 products each, built with 11 multiplications.
const TABLE_TERMS: usize = 4;

/// `Σ uₜ·aₜ` in GT, the squarings shared and the terms taken four at a time: for each group
/// of four, the products of all its subsets are tabulated once, so each bit costs one
/// multiplication per group instead of one per term whose bit is set (about half of them).
/// The squarings are cyclotomic (GT is in the cyclotomic subgroup), a third of a general
/// squaring's cost.
fn multi_exp(terms: &[(u64, Gt)]) -> Gt {
    // Each group of terms with the sums of all its subsets, indexed by the subset's bits.
    type Tabulated<'a> = (&'a [(u64, Gt)], Vec<Gt>);
    let tables: Vec<Tabulated<'_>> = terms
        .chunks(TABLE_TERMS)
        .map(|group| {
            let mut table = vec![Gt::zero(); 1 << group.len()];
            for (i, (_, a)) in group.iter().enumerate() {
                let bit = 1 << i;
                for subset in 0..bit {
                    table[bit | subset] = table[subset] + a;
                }
            }
            (group, table)
        })
        .collect();
    let mut acc = Gt::zero();
    for bit in (0..u64::BITS).rev() {
        acc.0.cyclotomic_square_in_place();
        for (group, table) in &tables {
            let subset = group
                .iter()
                .enumerate()
                .fold(0, |s, (i, (u, _))| s | ((((u >> bit) & 1) as usize) << i));
            if subset != 0 {
                acc += table[subset];
            }
        }
    }
    acc
}

impl Batch<'_> {
    /// Adds the confirmed guesses to `found.bad`; if any guess is wrong (a walk matched a range
    /// that holds more than one invalid item: ≤ 2⁻⁶⁴ per range by chance), bisects every
    /// guessed range instead, without guessing.
    pub(super) fn settle<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        located: Vec<Located>,
        found: &mut Found,
    ) {
        if located.is_empty() {
            return;
        }
        if self.confirm(rng, &located) {
            found
                .bad
                .extend(located.iter().flat_map(|l| l.items.iter().copied()));
            return;
        }
        for l in located {
            self.search(l.range, Value::Fail(l.a), None, Reading::Bisect, found);
        }
    }

    /// Whether every guess in `located` is right (see the module documentation).
    pub(super) fn confirm<R: CryptoRng + RngCore>(&self, rng: &mut R, located: &[Located]) -> bool {
        self.checks.set(self.checks.get() + 1);
        let weights: Vec<u64> = match located {
            [_] => vec![1],
            _ => located.iter().map(|_| rng.next_u64().max(1)).collect(),
        };
        // Each candidate with its guess's weight.
        let candidates: Vec<(usize, u64)> = located
            .iter()
            .zip(&weights)
            .flat_map(|(l, &u)| l.items.iter().map(move |&j| (j, u)))
            .collect();
        let on_message_side = self.message_side_candidates(&candidates);
        let mut sigs = Vec::with_capacity(candidates.len());
        let mut scalars = Vec::with_capacity(candidates.len());
        let mut key_side = Vec::with_capacity(candidates.len());
        let mut g2 = vec![neg_g2_prepared()];
        let mut message_side: Vec<Vec<(G2Affine, u128)>> = vec![Vec::new(); self.messages.len()];
        for &(j, u) in &candidates {
            let group = self.groups.get(j).copied();
            let message = group.and_then(|g| self.messages.get(g));
            let (Some(sig), Some(key), Some(message), Some(&r), Some(g)) = (
                self.sigs.get(j),
                self.keys.get(j),
                message,
                self.coeffs.get(j),
                group,
            ) else {
                // No such item: nothing to confirm.
                return false;
            };
            let c = u128::from(u) * u128::from(r);
            sigs.push(*sig);
            scalars.push(c);
            // The batch's products are read only for a message paired on its side.
            let product = (on_message_side.get(g) == Some(&true))
                .then(|| self.products().get(j))
                .flatten();
            match (product, message_side.get_mut(g)) {
                // Its key's product `rⱼ·pkⱼ`, weighted by `u`, joins its message's sum.
                (Some(product), Some(terms)) => terms.push((*product, u128::from(u))),
                // Its own pair, on its key's cached line coefficients.
                _ => {
                    key_side.push(message.mul_bigint([c as u64, (c >> 64) as u64]));
                    g2.push(key.prepared());
                }
            }
        }
        // One pair per message paired on its side: `e(Hₘ, Σ uₜ·rⱼ·pkⱼ)`.
        let mut messages = Vec::new();
        let mut sums = Vec::new();
        for (terms, message) in message_side.iter().zip(&self.messages) {
            if !terms.is_empty() {
                let (bases, weights): (Vec<G2Affine>, Vec<u128>) = terms.iter().copied().unzip();
                sums.push(msm_u128(&bases, &weights));
                messages.push(*message);
            }
        }
        let fresh: Vec<G2Prepared> = G2Projective::normalize_batch(&sums)
            .into_iter()
            .map(G2Prepared::from)
            .collect();
        g2.extend(&fresh);
        // The signatures' pair first, then the candidates' own, in one normalization; then
        // the messages' pairs.
        let mut g1 = vec![msm_u128(&sigs, &scalars)];
        g1.extend(key_side);
        let mut g1 = G1Projective::normalize_batch(&g1);
        g1.extend(messages);
        let expected = match weights.as_slice() {
            [1] => located.first().map(|l| l.a).unwrap_or_default(),
            _ => {
                let terms: Vec<(u64, Gt)> = located
                    .iter()
                    .zip(&weights)
                    .map(|(l, &u)| (u, l.a))
                    .collect();
                multi_exp(&terms)
            }
        };
        pairing_product(&g1, &g2).is_some_and(|e| e == expected)
    }

    /// Which message groups' candidates pair on the message's side: one pair and a fresh G2
    /// preparation (about half a pair) for the group, against one pair per candidate on its
    /// key's cached lines; from [`MESSAGE_SIDE_CANDIDATES`] candidates of one message.
    /// Key-side items (a message alone in the batch) stay on their keys' side.
    fn message_side_candidates(&self, candidates: &[(usize, u64)]) -> Vec<bool> {
        let mut counts = vec![0usize; self.messages.len()];
        for &(j, _) in candidates {
            let message_side = self.solo.get(j).is_some_and(Option::is_none);
            if let (true, Some(count)) = (
                message_side,
                self.groups.get(j).and_then(|&g| counts.get_mut(g)),
            ) {
                *count += 1;
            }
        }
        counts
            .iter()
            .map(|&n| n >= MESSAGE_SIDE_CANDIDATES)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn multi_exp_is_the_sum_of_the_powers() {
        let mut rng = ChaCha20Rng::seed_from_u64(41);
        for count in [1, 2, 4, 5, 9] {
            let terms: Vec<(u64, Gt)> = (0..count)
                .map(|_| {
                    let a = Gt::generator().mul_bigint([rng.next_u64()]);
                    (rng.next_u64().max(1), a)
                })
                .collect();
            // The oracle: arkworks' scalar multiplication of each term, summed. The exponent
            // goes in two limbs: arkworks 0.5 drops the carry of a one-limb exponent's signed
            // digits past 64 bits (`mul_bigint([u64::MAX])` in GT is wrong).
            let expected = terms
                .iter()
                .fold(Gt::zero(), |acc, (u, a)| acc + a.mul_bigint([*u, 0]));
            assert_eq!(multi_exp(&terms), expected, "{count} terms");
        }
        let g = Gt::generator();
        assert_eq!(multi_exp(&[(u64::MAX, g)]), g.mul_bigint([u64::MAX, 0]));
    }
}
