//! Batch verification with random coefficients and bisection.
//!
//! For items `(Hⱼ, σᵢ, pkᵢ)` grouped by message point `Hⱼ`, draw random non-zero 64-bit `rᵢ`
//! from a CSPRNG and check, with one multi-Miller loop over `#messages + 1` pairs and one final
//! exponentiation,
//!
//! `e(Σ rᵢσᵢ, −G2) · ∏ⱼ e(Hⱼ, Σ_{i∈j} rᵢpkᵢ) = 1`,
//!
//! the sums computed by multi-scalar multiplication. A message with few items ("solo") is
//! paired on the key's side instead, and solo items are grouped by key: `∏ₖ e(Σ_{i∈k} rᵢ·Hᵢ,
//! pkₖ)`, one Miller loop per distinct key using its cached line coefficients. With many tasks
//! in flight most digests have one signature in a batch while the same operators sign all of
//! them, so a batch costs one Miller loop per operator rather than per signature. Random
//! coefficients stop invalid signatures from cancelling each other (probability of a false
//! accept ≤ 2⁻⁶⁴ per check).
//!
//! On failure the search ([`search`]) names the invalid items, checking parts of the batch
//! with the same `rᵢ`: their keys' sums come from the products `rᵢ·pkᵢ`, made once
//! ([`key_sums`]). It walks a tree of ranges carrying two GT values each, the plain check and
//! one weighted by position, most of them derived rather than checked, with an index read out
//! of the two values when a range holds exactly one invalid item (confirmed for all ranges at
//! once, [`confirm`]). Items are reordered so that each
//! message-side group is contiguous and the key-side items follow, sorted by key; a range
//! spanning several groups is split at the group boundary nearest its middle, so a half's
//! check pairs only its own groups.

mod confirm;
mod key_sums;
mod pair;
mod search;
mod verify;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::Range;

use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Zero;
use rand_core::{CryptoRng, RngCore};

use crate::msm::{msm_fixed, msm_u128};
use crate::pairing::{neg_g2_prepared, pairing_product};
use crate::points::{G2Prepared, G2PublicKey};
use key_sums::Weight;
use search::{Found, Gt, Reading, LOCATE_MIN_ITEMS};
pub use verify::{
    verify_batch, verify_batch_expecting, verify_batch_with_rng, verify_same_digest,
    verify_same_digest_expecting, verify_same_digest_locating_from, verify_same_digest_with_rng,
};

/// Message groups with at least this many items are always paired on the message's side
/// (one G2 sum per message); smaller ones may move to the key side (see [`key_side_groups`]).
const MESSAGE_SIDE_MIN_ITEMS: usize = 32;

/// Relative costs, in Miller-loop pairs, behind the choice of side (from the `verify_batch`
/// benches): a fresh G2 preparation, a 64-bit G1 multiplication, a G2 multiplication inside a
/// small multi-scalar multiplication.
const PREPARE_COST: f64 = 0.5;
const G1_MUL_COST: f64 = 0.1;
const G2_MUL_COST: f64 = 0.2;

/// Which message groups to pair on the key side. A message-side group costs a fresh G2
/// preparation, a pair and a G2 multiplication per item; a key-side item costs a G1
/// multiplication, and the key-side items share one pair per distinct key. Single-item groups
/// are always cheaper on the key side; groups of 2–31 move there together only when their keys
/// repeat enough (many tasks signed by the same operators) to beat a pair per group.
fn key_side_groups(sizes: &[usize], groups: &[usize], keys: &[&G2PublicKey]) -> Vec<bool> {
    let single: Vec<bool> = sizes.iter().map(|&n| n == 1).collect();
    let small: Vec<bool> = sizes
        .iter()
        .map(|&n| (2..MESSAGE_SIDE_MIN_ITEMS).contains(&n))
        .collect();
    let distinct = |pick: &dyn Fn(usize) -> bool| {
        let mut seen = std::collections::HashSet::new();
        for (&g, k) in groups.iter().zip(keys) {
            if pick(g) {
                seen.insert(*k.as_affine());
            }
        }
        seen.len() as f64
    };
    let is = |v: &[bool], g: usize| v.get(g).copied().unwrap_or(false);
    let small_groups = small.iter().filter(|&&b| b).count() as f64;
    let small_items: f64 = sizes
        .iter()
        .filter(|&&n| (2..MESSAGE_SIDE_MIN_ITEMS).contains(&n))
        .sum::<usize>() as f64;
    let singles_keys = distinct(&|g| is(&single, g));
    let all_keys = distinct(&|g| is(&single, g) || is(&small, g));
    let message_side =
        singles_keys + small_groups * (1.0 + PREPARE_COST) + small_items * G2_MUL_COST;
    let key_side = all_keys + small_items * G1_MUL_COST;
    if key_side < message_side {
        single.iter().zip(&small).map(|(a, b)| *a || *b).collect()
    } else {
        single
    }
}

/// The items of one batch, flattened, with their coefficients.
///
/// A message with few items in the whole batch ("solo", see [`key_side_groups`]) is paired on
/// the key's side as
/// `e(rᵢ·Hⱼ, pkᵢ)`: a cheap G1 multiplication and the key's cached Miller-loop coefficients,
/// instead of a G2 multiplication and a fresh G2 preparation; solo items of one key share
/// that key's pair.
struct Batch<'a> {
    sigs: Vec<G1Affine>,
    keys: Vec<&'a G2PublicKey>,
    /// Message group of each item.
    groups: Vec<usize>,
    /// Message point of each group.
    messages: Vec<G1Affine>,
    /// `rᵢ·Hⱼ` for items whose group has no other item.
    solo: Vec<Option<G1Affine>>,
    /// Index into `key_list` of each item's key (used for solo items).
    key_groups: Vec<usize>,
    /// The distinct keys of the solo items.
    key_list: Vec<&'a G2PublicKey>,
    /// The random coefficients `rᵢ`, non-zero.
    coeffs: Vec<u64>,
    /// `rᵢ·pkᵢ` for the message-side items (infinity for the key-side ones), made when the
    /// first sum of a part of the batch needs them ([`key_sums`]).
    products: OnceCell<Vec<G2Affine>>,
    /// Failing ranges at least this long whose weighted value is not known yet pay a check
    /// for it (and are walked); shorter ones are bisected.
    locate_min: usize,
    /// How many parts the search starts from. One: the whole batch is checked first, and one
    /// invalid item is read straight out of it. With several invalid items expected, the
    /// parts are checked straight away instead, which saves the whole batch's sums (see
    /// [`verify_same_digest_expecting`]).
    top_parts: usize,
    /// The caller's index of each item: items are reordered so that every message-side group
    /// is contiguous (then the key-side items, by key), which lets the search split a failing
    /// range between groups, where a half's check costs only its own groups' pairs.
    order: Vec<usize>,
    /// Where a message-side group, or the key-side items, begin (ascending, after 0).
    boundaries: Vec<usize>,
    /// Final exponentiations run so far (for tests of the search's economy).
    checks: std::cell::Cell<usize>,
    /// Items summed by multi-scalar multiplication so far (for the same tests).
    summed: std::cell::Cell<usize>,
}

/// `Σ rᵢσᵢ`, per (non-solo) message group `Σ rᵢpkᵢ`, and per key of the solo items
/// `Σ rᵢHᵢ`, over some range of items.
#[derive(Clone)]
struct Sums {
    sig: G1Projective,
    keys: Vec<G2Projective>,
    by_key: Vec<G1Projective>,
}

impl<'a> Batch<'a> {
    fn new<R: CryptoRng + RngCore>(
        rng: &mut R,
        sigs: Vec<G1Affine>,
        keys: Vec<&'a G2PublicKey>,
        groups: Vec<usize>,
        messages: Vec<G1Affine>,
    ) -> Self {
        let mut sizes = vec![0usize; messages.len()];
        for &g in &groups {
            if let Some(n) = sizes.get_mut(g) {
                *n += 1;
            }
        }
        let key_side = key_side_groups(&sizes, &groups, &keys);
        let on_key_side = |i: usize| groups.get(i).and_then(|&g| key_side.get(g)) == Some(&true);
        // Message-side groups first, each contiguous; then the key-side items, by key.
        let mut order: Vec<usize> = (0..sigs.len()).collect();
        order.sort_by_key(|&i| {
            let side = on_key_side(i);
            let within = if side {
                keys.get(i).map(|k| k.as_affine().x)
            } else {
                None
            };
            (side, if side { 0 } else { groups[i] }, within, i)
        });
        let boundaries = order
            .windows(2)
            .enumerate()
            .filter(|(_, w)| {
                let (a, b) = (w[0], w[1]);
                on_key_side(a) != on_key_side(b) || (!on_key_side(b) && groups[a] != groups[b])
            })
            .map(|(pos, _)| pos + 1)
            .collect();
        let sigs: Vec<G1Affine> = order.iter().map(|&i| sigs[i]).collect();
        let keys: Vec<&G2PublicKey> = order.iter().map(|&i| keys[i]).collect();
        let groups: Vec<usize> = order.iter().map(|&i| groups[i]).collect();
        let coeffs: Vec<u64> = (0..sigs.len()).map(|_| rng.next_u64().max(1)).collect();
        let solo_proj: Vec<Option<G1Projective>> = groups
            .iter()
            .zip(&coeffs)
            .map(|(&g, c)| match (key_side.get(g), messages.get(g)) {
                (Some(true), Some(m)) => Some(m.mul_bigint([*c])),
                _ => None,
            })
            .collect();
        let flat: Vec<G1Projective> = solo_proj.iter().flatten().copied().collect();
        let mut affine = G1Projective::normalize_batch(&flat).into_iter();
        let solo = solo_proj
            .iter()
            .map(|p| p.and_then(|_| affine.next()))
            .collect();
        let mut key_index: HashMap<G2Affine, usize> = HashMap::new();
        let mut key_list = Vec::new();
        let key_groups = keys
            .iter()
            .map(|k| {
                *key_index.entry(*k.as_affine()).or_insert_with(|| {
                    key_list.push(*k);
                    key_list.len() - 1
                })
            })
            .collect();
        Self {
            sigs,
            keys,
            groups,
            messages,
            solo,
            key_groups,
            key_list,
            coeffs,
            products: OnceCell::new(),
            locate_min: LOCATE_MIN_ITEMS,
            top_parts: 1,
            order,
            boundaries,
            checks: std::cell::Cell::new(0),
            summed: std::cell::Cell::new(0),
        }
    }

    /// The sums of `range` with coefficients `rᵢ`.
    fn sums(&self, range: Range<usize>) -> Sums {
        self.weighted_sums(range, Weight::One)
    }

    /// The sums of `range` with coefficients `weight·rᵢ`.
    fn weighted_sums(&self, range: Range<usize>, weight: Weight) -> Sums {
        self.summed.set(self.summed.get() + range.len());
        let start = range.start;
        let scalar = |i: usize| u128::from(self.coeffs[i]) * u128::from(weight.at(i, start));
        let scalars: Vec<u128> = range.clone().map(scalar).collect();
        let sig = msm_u128(&self.sigs[range.clone()], &scalars);
        let mut by_key = vec![G1Projective::zero(); self.key_list.len()];
        for i in range.clone() {
            if let Some(p) = self.solo[i] {
                // `solo` already holds `rᵢ·Hⱼ`; the weight is a small multiplier on top.
                let w = weight.at(i, start);
                if let Some(k) = by_key.get_mut(self.key_groups[i]) {
                    *k += if w == 1 { p.into() } else { p.mul_bigint([w]) };
                }
            }
        }
        // The batch's first check, of the whole batch, sums the keys by fixed-base MSM: when it
        // passes (most batches) no other sum follows. Every other sum is of a search's part,
        // which takes the keys' products with their coefficients, made once for the batch.
        let whole = range == (0..self.sigs.len()) && weight == Weight::One;
        let keys = if whole && self.products.get().is_none() {
            self.key_sums_by_msm(range)
        } else {
            self.key_sums(range, weight)
        };
        Sums { sig, keys, by_key }
    }

    /// Per message group, `Σ rᵢ·pkᵢ` over the group's items in `range`, by fixed-base MSM.
    fn key_sums_by_msm(&self, range: Range<usize>) -> Vec<G2Projective> {
        let mut bases: Vec<Vec<&[G2Affine]>> = vec![Vec::new(); self.messages.len()];
        let mut scalars: Vec<Vec<u128>> = vec![Vec::new(); self.messages.len()];
        for i in range {
            if self.solo[i].is_some() {
                // Paired on the key's side: no G2 sum.
                continue;
            }
            if let (Some(b), Some(s)) = (
                bases.get_mut(self.groups[i]),
                scalars.get_mut(self.groups[i]),
            ) {
                b.push(self.keys[i].fixed_base_table());
                s.push(u128::from(self.coeffs[i]));
            }
        }
        bases
            .iter()
            .zip(&scalars)
            .map(|(b, s)| {
                if b.is_empty() {
                    G2Projective::zero()
                } else {
                    msm_fixed(b, s).unwrap_or_else(|| {
                        // Scalars beyond the tables' reach (never with 64-bit coefficients):
                        // sum the keys themselves.
                        let keys: Vec<G2Affine> =
                            b.iter().filter_map(|t| t.first().copied()).collect();
                        msm_u128(&keys, s)
                    })
                }
            })
            .collect()
    }

    /// The batched pairing check of the items whose sums are `sums`: one multi-Miller loop,
    /// one final exponentiation; its GT value (zero: the check passes).
    fn check(&self, sums: &Sums) -> Option<Gt> {
        self.checks.set(self.checks.get() + 1);
        let mut g1 = vec![sums.sig.into_affine()];
        let mut live = Vec::with_capacity(sums.keys.len());
        for (key, msg) in sums.keys.iter().zip(&self.messages) {
            if !key.is_zero() {
                g1.push(*msg);
                live.push(*key);
            }
        }
        // The messages' key sums are fresh and prepared here; `−G2` and the solo items' keys
        // are paired on their cached line coefficients.
        let fresh: Vec<G2Prepared> = G2Projective::normalize_batch(&live)
            .into_iter()
            .map(G2Prepared::from)
            .collect();
        let mut g2: Vec<&G2Prepared> = vec![neg_g2_prepared()];
        g2.extend(&fresh);
        let mut solo_sums = Vec::new();
        for (sum, key) in sums.by_key.iter().zip(&self.key_list) {
            if !sum.is_zero() {
                solo_sums.push(*sum);
                g2.push(key.prepared());
            }
        }
        g1.extend(G1Projective::normalize_batch(&solo_sums));
        pairing_product(&g1, &g2)
    }

    /// Where to split a failing range: at the group boundary nearest its middle when it spans
    /// several groups (a half's check then pairs only its own groups), else at the middle.
    fn split_point(&self, range: &Range<usize>) -> usize {
        let middle = range.start + range.len() / 2;
        let inside = |&&b: &&usize| b > range.start && b < range.end;
        self.boundaries
            .iter()
            .filter(inside)
            .min_by_key(|&&b| b.abs_diff(middle))
            .copied()
            .unwrap_or(middle)
    }

    /// `range` cut into `count` parts of about equal size, at group boundaries where it spans
    /// several groups (as [`Self::split_point`] cuts); no part is empty.
    fn parts(&self, range: Range<usize>, count: usize) -> Vec<Range<usize>> {
        if range.is_empty() {
            return Vec::new();
        }
        if count <= 1 || range.len() < 2 {
            return vec![range];
        }
        let mid = self.split_point(&range);
        let mut parts = self.parts(range.start..mid, count / 2);
        parts.extend(self.parts(mid..range.end, count - count / 2));
        parts
    }

    /// The invalid items, by the caller's index, ascending.
    fn run<R: CryptoRng + RngCore>(&self, rng: &mut R) -> Vec<usize> {
        let n = self.sigs.len();
        let mut found = Found::default();
        for part in self.parts(0..n, self.top_parts) {
            let value = self.value(part.clone());
            self.search(part, value, None, Reading::SinglesAndPairs, &mut found);
        }
        let located = std::mem::take(&mut found.located);
        self.settle(rng, located, &mut found);
        let mut bad: Vec<usize> = found
            .bad
            .into_iter()
            .filter_map(|pos| self.order.get(pos).copied())
            .collect();
        bad.sort_unstable();
        bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;
    use crate::points::{MessagePoint, Signature};
    use crate::scheme::Bn254Scheme;
    use ark_bn254::G1Projective;
    use ark_ec::PrimeGroup;
    use quorate_domain::BatchItem;
    use rand::SeedableRng;

    /// Runs a same-digest batch of `n` with the given bad indices, trying the locator from
    /// `locate_min` items; returns (bad, checks).
    fn run_with(n: usize, bad: &[usize], locate_min: usize) -> (Vec<usize>, usize) {
        run_seeded(3, n, bad, locate_min)
    }

    /// [`run_with`] for `n` fresh keys drawn from `seed`.
    pub(super) fn run_seeded(
        seed: u64,
        n: usize,
        bad: &[usize],
        locate_min: usize,
    ) -> (Vec<usize>, usize) {
        let rng = &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let (keys, sigs, m) = signed(rng, n, bad);
        let batch = same_digest_batch(rng, &keys, sigs, &m, locate_min);
        let found = batch.run(rng);
        (found, batch.checks.get())
    }

    /// `n` fresh keys and their signatures of one message, those at `bad` invalid (σ + G).
    pub(super) fn signed(
        rng: &mut rand_chacha::ChaCha20Rng,
        n: usize,
        bad: &[usize],
    ) -> (Vec<KeyPair>, Vec<G1Affine>, MessagePoint) {
        let m = MessagePoint::hash(&[7; 32]);
        let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::random(rng)).collect();
        let sigs = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let s = G1Projective::from(k.sign_hashed_point(&m).0);
                let s = if bad.contains(&i) {
                    s + G1Projective::generator()
                } else {
                    s
                };
                s.into_affine()
            })
            .collect();
        (keys, sigs, m)
    }

    /// The batch of [`signed`]'s output.
    pub(super) fn same_digest_batch<'k>(
        rng: &mut rand_chacha::ChaCha20Rng,
        keys: &'k [KeyPair],
        sigs: Vec<G1Affine>,
        m: &MessagePoint,
        locate_min: usize,
    ) -> Batch<'k> {
        let g2 = keys.iter().map(|k| k.public_g2()).collect();
        let mut batch = Batch::new(rng, sigs, g2, vec![0; keys.len()], vec![m.0]);
        batch.locate_min = locate_min;
        batch
    }

    /// Bisection only, over 8 items.
    fn run(bad: &[usize]) -> (Vec<usize>, usize) {
        run_with(8, bad, usize::MAX)
    }

    #[test]
    fn bisection_derives_right_halves() {
        // All valid: one check.
        assert_eq!(run(&[]), (vec![], 1));
        // Last bad: top, [0..4] ok, [4..6] ok, [6] ok; [4..8], [6..8] and [7] derived bad.
        assert_eq!(run(&[7]), (vec![7], 4));
        // First bad: top, [0..4] bad, [0..2] bad, [0] bad; [1], [2..4] and [4..8] derived
        // as passing (the parent's value divided by the left half's is 1).
        assert_eq!(run(&[0]), (vec![0], 4));
        // One check per split: top, then [0..4], [0..2], [2], [4..6], [4] (the three others
        // derived).
        assert_eq!(run(&[1, 2, 6]), (vec![1, 2, 6], 7));
        assert_eq!(run(&[0, 1, 2, 3, 4, 5, 6, 7]).0, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn locator_finds_one_invalid_in_three_checks() {
        for j in [0, 1, 31, 62, 63] {
            // Top (A), weighted (B), confirmation.
            assert_eq!(run_with(64, &[j], LOCATE_MIN_ITEMS), (vec![j], 3));
            // Bisection: one check per level below the top.
            assert_eq!(run_with(64, &[j], usize::MAX), (vec![j], 7));
        }
        // Two invalid: the walk finds no match, bisection takes over (using the locator on
        // halves of at least LOCATE_MIN_ITEMS).
        assert_eq!(run_with(64, &[5, 40], LOCATE_MIN_ITEMS).0, vec![5, 40]);
        assert_eq!(run_with(64, &[], LOCATE_MIN_ITEMS), (vec![], 1));
    }

    #[test]
    fn distinct_digests_are_grouped_by_key() {
        // 4 operators sign 6 tasks each: 24 distinct digests, 4 key-side pairs per check.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let keys: Vec<KeyPair> = (0..4).map(|_| KeyPair::random(&mut rng)).collect();
        let bad = [3usize, 17, 18];
        let mut items = Vec::new();
        for t in 0..6u8 {
            for (k, key) in keys.iter().enumerate() {
                let digest = quorate_domain::ResponseDigest::new([t + 1; 32]);
                let m = MessagePoint::hash(digest.as_bytes());
                let mut sig = G1Projective::from(key.sign_hashed_point(&m).0);
                if bad.contains(&items.len()) {
                    sig += G1Projective::generator();
                }
                items.push((digest, m, Signature(sig.into_affine()), k));
            }
        }
        let batch: Vec<BatchItem<'_, Bn254Scheme>> = items
            .iter()
            .map(|(d, m, s, k)| BatchItem {
                digest: d,
                message: m,
                signature: s,
                key: keys[*k].public_g2(),
            })
            .collect();
        assert_eq!(verify_batch_with_rng(&mut rng, &batch), bad.to_vec());
        assert!(verify_batch_with_rng(&mut rng, &batch[..3]).is_empty());
        let flat = Batch::new(
            &mut rng,
            items.iter().map(|(_, _, s, _)| s.0).collect(),
            items
                .iter()
                .map(|(_, _, _, k)| keys[*k].public_g2())
                .collect(),
            (0..items.len()).collect(),
            items.iter().map(|(_, m, _, _)| m.0).collect(),
        );
        assert_eq!(flat.key_list.len(), 4);
    }

    #[test]
    fn a_failing_batch_splits_between_digests() {
        // Three digests signed by 40 operators each, arriving interleaved; one forgery.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let keys: Vec<KeyPair> = (0..40).map(|_| KeyPair::random(&mut rng)).collect();
        let messages: Vec<MessagePoint> = (1..=3u8).map(|t| MessagePoint::hash(&[t; 32])).collect();
        let (mut sigs, mut g2, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for (k, key) in keys.iter().enumerate() {
            for (t, m) in messages.iter().enumerate() {
                let mut sig = G1Projective::from(key.sign_hashed_point(m).0);
                if (k, t) == (17, 1) {
                    sig += G1Projective::generator();
                }
                sigs.push(sig.into_affine());
                g2.push(key.public_g2());
                groups.push(t);
            }
        }
        let batch = Batch::new(
            &mut rng,
            sigs,
            g2,
            groups,
            messages.iter().map(|m| m.0).collect(),
        );
        // Each digest's items are contiguous after reordering, and splits fall between them.
        assert_eq!(batch.boundaries, vec![40, 80]);
        assert!([40, 80].contains(&batch.split_point(&(0..120))));
        assert_eq!(batch.split_point(&(40..80)), 60);
        // Reported by the caller's index: operator 17's signature of the second digest.
        assert_eq!(batch.run(&mut rng), vec![17 * 3 + 1]);
    }

    #[test]
    fn small_groups_move_to_the_key_side_only_when_keys_repeat() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let keys: Vec<KeyPair> = (0..60).map(|_| KeyPair::random(&mut rng)).collect();
        let side = |per_group: usize, n_groups: usize, n_keys: usize| {
            let groups: Vec<usize> = (0..per_group * n_groups).map(|i| i / per_group).collect();
            let ks: Vec<&G2PublicKey> = (0..groups.len())
                .map(|i| keys[i % n_keys].public_g2())
                .collect();
            key_side_groups(&vec![per_group; n_groups], &groups, &ks)
        };
        // One signature per digest: always the key side.
        assert!(side(1, 50, 10).iter().all(|&b| b));
        // 20 digests × 3 signers, all keys distinct: a pair per key would cost more than a
        // pair per digest.
        assert!(side(3, 20, 60).iter().all(|&b| !b));
        // 30 digests × 10 signers out of 10 operators: keys repeat, the key side wins.
        assert!(side(10, 30, 10).iter().all(|&b| b));
        // Large groups stay on the message side.
        assert!(side(40, 3, 40).iter().all(|&b| !b));
    }
}
