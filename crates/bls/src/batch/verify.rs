//! The batch checks' entry points: one message's signatures, or many messages' at once.

use std::collections::HashMap;

use quorate_domain::BatchItem;
use rand_core::{CryptoRng, RngCore};

use super::{Batch, LOCATE_MIN_ITEMS};
use crate::points::{G2PublicKey, MessagePoint, Signature};
use crate::scheme::Bn254Scheme;

/// The parts a search starts from when `expected` invalid items are expected among `n`: one
/// (check the whole batch, read one invalid item out of it) unless three or more are
/// expected, then about one part per 1.25 expected invalid items, each of at least
/// [`LOCATE_MIN_ITEMS`]: with two invalid items read out of one range ([`super::pair`]), a part
/// holding two is cheap, so slightly fewer, longer parts save checks.
///
/// Counted by a throwaway test over `crates/bls` (120 draws of 100 signatures, 5 % invalid,
/// the same draws for each count): 3, 4 and 5 parts take 11.5, 11.8 and 12.5 final
/// exponentiations per draw and 252, 212 and 200 items summed; without the pair walk 12.5,
/// 12.8 and 13.5. Starting from parts rather than the whole batch saves the whole batch's two
/// sums (`starting_from_parts_halves_the_sums_when_several_are_invalid`).
fn top_parts(n: usize, expected: usize) -> usize {
    (expected.saturating_mul(4) / 5)
        .min(n / LOCATE_MIN_ITEMS)
        .max(1)
}

/// Checks `n` signatures of one message; returns the indices of the invalid ones, ascending
/// (empty when all are valid). Coefficients come from `rand::thread_rng` (a CSPRNG).
pub fn verify_same_digest(
    message: &MessagePoint,
    items: &[(&Signature, &G2PublicKey)],
) -> Vec<usize> {
    verify_same_digest_with_rng(&mut rand::thread_rng(), message, items)
}

/// [`verify_same_digest`] with the coefficients drawn from `rng`.
pub fn verify_same_digest_with_rng<R: CryptoRng + RngCore>(
    rng: &mut R,
    message: &MessagePoint,
    items: &[(&Signature, &G2PublicKey)],
) -> Vec<usize> {
    verify_same_digest_locating_from(rng, message, items, LOCATE_MIN_ITEMS)
}

/// [`verify_same_digest_with_rng`] trying the single-invalid locator on failing ranges of at
/// least `locate_min` items (`usize::MAX`: bisection only). For the benchmark that sets the
/// threshold; not part of the API.
#[doc(hidden)]
pub fn verify_same_digest_locating_from<R: CryptoRng + RngCore>(
    rng: &mut R,
    message: &MessagePoint,
    items: &[(&Signature, &G2PublicKey)],
    locate_min: usize,
) -> Vec<usize> {
    let mut batch = same_digest_batch(rng, message, items);
    batch.locate_min = locate_min;
    batch.run(rng)
}

/// [`verify_same_digest`] told how many invalid items to expect (from the caller's recent
/// history): a cost hint for where the search starts (two or more expected: about one part per
/// expected item instead of the whole batch), never a verdict.
pub fn verify_same_digest_expecting(
    message: &MessagePoint,
    items: &[(&Signature, &G2PublicKey)],
    expected_invalid: usize,
) -> Vec<usize> {
    let rng = &mut rand::thread_rng();
    let mut batch = same_digest_batch(rng, message, items);
    batch.top_parts = top_parts(items.len(), expected_invalid);
    batch.run(rng)
}

/// The batch of one message's signatures.
fn same_digest_batch<'a, R: CryptoRng + RngCore>(
    rng: &mut R,
    message: &MessagePoint,
    items: &[(&Signature, &'a G2PublicKey)],
) -> Batch<'a> {
    let sigs = items.iter().map(|(s, _)| s.0).collect();
    let keys = items.iter().map(|(_, k)| *k).collect();
    Batch::new(rng, sigs, keys, vec![0; items.len()], vec![message.0])
}

/// Checks signatures over many messages at once; returns the indices of the invalid items,
/// ascending. Items are grouped by their message point (the digest's hash), one pairing per
/// group plus one for the signatures. Coefficients come from `rand::thread_rng`.
pub fn verify_batch(items: &[BatchItem<'_, Bn254Scheme>]) -> Vec<usize> {
    verify_batch_with_rng(&mut rand::thread_rng(), items)
}

/// [`verify_batch`] with the coefficients drawn from `rng`.
pub fn verify_batch_with_rng<R: CryptoRng + RngCore>(
    rng: &mut R,
    items: &[BatchItem<'_, Bn254Scheme>],
) -> Vec<usize> {
    cross_digest_batch(rng, items).run(rng)
}

/// [`verify_batch`] told how many invalid items to expect, as
/// [`verify_same_digest_expecting`].
pub fn verify_batch_expecting(
    items: &[BatchItem<'_, Bn254Scheme>],
    expected_invalid: usize,
) -> Vec<usize> {
    let rng = &mut rand::thread_rng();
    let mut batch = cross_digest_batch(rng, items);
    batch.top_parts = top_parts(items.len(), expected_invalid);
    batch.run(rng)
}

/// The batch of many messages' signatures, grouped by message point.
fn cross_digest_batch<'a, R: CryptoRng + RngCore>(
    rng: &mut R,
    items: &[BatchItem<'a, Bn254Scheme>],
) -> Batch<'a> {
    let mut index: HashMap<MessagePoint, usize> = HashMap::new();
    let mut messages = Vec::new();
    let groups = items
        .iter()
        .map(|it| {
            *index.entry(*it.message).or_insert_with(|| {
                messages.push(it.message.0);
                messages.len() - 1
            })
        })
        .collect();
    let sigs = items.iter().map(|it| it.signature.0).collect();
    let keys = items.iter().map(|it| it.key).collect();
    Batch::new(rng, sigs, keys, groups, messages)
}
