//! The single-invalid locator and the bisection behind it find exactly the corrupted
//! signatures, whatever their number and however they are corrupted.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::LazyLock;

use ark_bn254::{Fr, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use proptest::prelude::*;
use proptest::sample::subsequence;
use quorate_bls::{
    verify_batch, verify_batch_expecting, verify_same_digest, verify_same_digest_expecting,
    verify_same_digest_locating_from, Bn254Scheme, KeyPair, MessagePoint, Signature,
};
use quorate_domain::{BatchItem, ResponseDigest};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const POOL: usize = 16;

static KEYS: LazyLock<Vec<KeyPair>> = LazyLock::new(|| {
    let mut rng = ChaCha20Rng::seed_from_u64(1601);
    (0..POOL).map(|_| KeyPair::random(&mut rng)).collect()
});

fn digest(i: usize) -> ResponseDigest {
    let mut d = [0u8; 32];
    d[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    ResponseDigest::new(d)
}

/// `n` items and the ascending indices to corrupt: none, one, two or any number.
fn corrupted() -> impl Strategy<Value = (usize, Vec<usize>)> {
    (1usize..=64, 0u8..4).prop_flat_map(|(n, how_many)| {
        let all: Vec<usize> = (0..n).collect();
        let size = match how_many {
            0 => 0..=0,
            1 => 1..=1,
            2 => n.min(2)..=n.min(2),
            _ => 0..=n,
        };
        (Just(n), subsequence(all, size))
    })
}

/// Item `i`'s signature over `digests[i]` by `KEYS[i % POOL]`, corrupted when `bad` says so:
/// by another key (`how` 0), over another digest (1), or a random point (2).
fn signature(i: usize, d: &ResponseDigest, bad: bool, how: u8, seed: u64) -> Signature {
    let key = &KEYS[i % POOL];
    if !bad {
        return key.sign_digest(d);
    }
    match how % 3 {
        0 => KEYS[(i + 1) % POOL].sign_digest(d),
        1 => {
            let mut other = *d.as_bytes();
            other[31] ^= 0xa5;
            key.sign_digest(&ResponseDigest::new(other))
        }
        _ => {
            let p = G1Projective::generator() * Fr::from(seed.max(1)) * Fr::from(i as u64 + 7);
            Signature::from_affine(p.into_affine()).unwrap()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// One digest: the default search, the locator on every range of two or more, plain
    /// bisection and a search told to expect some number of invalid items (right or wrong)
    /// each return exactly the corrupted indices, ascending.
    #[test]
    fn same_digest_locates_exactly_the_corrupted(
        (n, bad) in corrupted(),
        hows in proptest::collection::vec(0u8..3, 64),
        expected in 0usize..12,
        seed in any::<u64>(),
    ) {
        let d = digest(0);
        let m = MessagePoint::hash(d.as_bytes());
        let sigs: Vec<Signature> =
            (0..n).map(|i| signature(i, &d, bad.contains(&i), hows[i], seed)).collect();
        let items: Vec<_> = sigs.iter().enumerate().map(|(i, s)| (s, KEYS[i % POOL].public_g2())).collect();
        prop_assert_eq!(verify_same_digest(&m, &items), bad.clone());
        prop_assert_eq!(verify_same_digest_expecting(&m, &items, expected), bad.clone());
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        prop_assert_eq!(verify_same_digest_locating_from(&mut rng, &m, &items, 2), bad.clone());
        prop_assert_eq!(
            verify_same_digest_locating_from(&mut rng, &m, &items, usize::MAX),
            bad
        );
    }

    /// Many digests: exactly the corrupted indices, ascending, with the digests either spread
    /// one per item (key-side pairs) or drawn from two (large groups on the message side).
    #[test]
    fn batch_locates_exactly_the_corrupted(
        (n, bad) in corrupted(),
        hows in proptest::collection::vec(0u8..3, 64),
        groups in proptest::collection::vec(0usize..2, 64),
        spread in any::<bool>(),
        expected in 0usize..12,
        seed in any::<u64>(),
    ) {
        let digests: Vec<ResponseDigest> =
            (0..n).map(|i| digest(if spread { i } else { groups[i] })).collect();
        let messages: Vec<MessagePoint> =
            digests.iter().map(|d| MessagePoint::hash(d.as_bytes())).collect();
        let sigs: Vec<Signature> = (0..n)
            .map(|i| signature(i, &digests[i], bad.contains(&i), hows[i], seed))
            .collect();
        let items: Vec<BatchItem<'_, Bn254Scheme>> = (0..n)
            .map(|i| BatchItem {
                digest: &digests[i],
                message: &messages[i],
                signature: &sigs[i],
                key: KEYS[i % POOL].public_g2(),
            })
            .collect();
        prop_assert_eq!(verify_batch_expecting(&items, expected), bad.clone());
        prop_assert_eq!(verify_batch(&items), bad);
    }
}
