//! Aggregates verify with the on-chain γ check; batch verification finds exactly the corrupted
//! signatures; random coefficients catch invalid signatures that cancel in a plain sum.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::LazyLock;

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use proptest::prelude::*;
use quorate_bls::{
    aggregate_g1, aggregate_g2, aggregate_signatures, check_aggregate, verify, verify_same_digest,
    Bn254Scheme, G2PublicKey, KeyPair, MessagePoint, Signature,
};
use quorate_domain::{BatchItem, ResponseDigest, SignatureScheme};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const POOL: usize = 16;

static KEYS: LazyLock<Vec<KeyPair>> = LazyLock::new(|| {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    (0..POOL).map(|_| KeyPair::random(&mut rng)).collect()
});

fn digest(i: u8) -> ResponseDigest {
    ResponseDigest::new([i.wrapping_mul(37).wrapping_add(1); 32])
}

/// A wrong signature: valid point, wrong value (the signer's signature plus the generator).
fn corrupt(sig: &Signature) -> Signature {
    Signature::from_affine(
        (G1Projective::from(*sig.as_affine()) + G1Projective::generator()).into_affine(),
    )
    .unwrap()
}

fn shift(sig: &Signature, by: &G1Projective) -> Signature {
    Signature::from_affine((G1Projective::from(*sig.as_affine()) + by).into_affine()).unwrap()
}

#[test]
fn cancelling_errors_pass_a_plain_sum_but_not_random_coefficients() {
    let s = Bn254Scheme;
    let d = digest(1);
    let m = s.hash_to_g1(&d);
    let (a, b) = (&KEYS[0], &KEYS[1]);
    let err = G1Projective::generator() * Fr::from(12345u32);
    let bad_a = shift(&a.sign_digest(&d), &err);
    let bad_b = shift(&b.sign_digest(&d), &-err);
    assert!(!verify(&m, &bad_a, a.public_g2()) && !verify(&m, &bad_b, b.public_g2()));
    // A plain sum is fooled...
    let sum = aggregate_signatures(&[(&bad_a, 1), (&bad_b, 1)]);
    let apk2 = aggregate_g2(&[(a.public_g2(), 1), (b.public_g2(), 1)]);
    assert!(verify(&m, &sum, &apk2));
    let apk1 = aggregate_g1(&[(a.public_g1(), 1), (b.public_g1(), 1)]);
    assert!(check_aggregate(&d, &apk1, &apk2, &sum));
    // ...random coefficients are not.
    let c = KEYS[2].sign_digest(&d);
    let items = [
        (&bad_a, a.public_g2()),
        (&c, KEYS[2].public_g2()),
        (&bad_b, b.public_g2()),
    ];
    assert_eq!(verify_same_digest(&m, &items), vec![0, 2]);
    assert_eq!(s.verify_same_digest(&m, &items), vec![0, 2]);
    // Across digests too: the cancelling pair sits in two different digest groups' batch.
    let d2 = digest(2);
    let m2 = s.hash_to_g1(&d2);
    let ok2 = KEYS[3].sign_digest(&d2);
    let batch = [
        BatchItem::<Bn254Scheme> {
            digest: &d,
            message: &m,
            signature: &bad_a,
            key: a.public_g2(),
        },
        BatchItem {
            digest: &d2,
            message: &m2,
            signature: &ok2,
            key: KEYS[3].public_g2(),
        },
        BatchItem {
            digest: &d,
            message: &m,
            signature: &bad_b,
            key: b.public_g2(),
        },
    ];
    assert_eq!(s.verify_batch(&batch), vec![0, 2]);
}

#[test]
fn empty_and_single_batches() {
    let s = Bn254Scheme;
    let d = digest(3);
    let m = s.hash_to_g1(&d);
    assert!(s.verify_same_digest(&m, &[]).is_empty());
    assert!(s.verify_batch(&[]).is_empty());
    let k = &KEYS[4];
    let good = k.sign_digest(&d);
    assert!(s
        .verify_same_digest(&m, &[(&good, k.public_g2())])
        .is_empty());
    assert_eq!(
        s.verify_same_digest(&m, &[(&corrupt(&good), k.public_g2())]),
        vec![0]
    );
    // A signature by another key is invalid.
    assert_eq!(
        s.verify_same_digest(&m, &[(&good, KEYS[5].public_g2())]),
        vec![0]
    );
}

#[test]
fn registration_signature_checks_like_bls_apk_registry() {
    // BLSApkRegistry checks e(σ + γ·pk1, −G2)·e(H + γ·G1, pk2) = 1 for the registration hash
    // point; check_aggregate is the same equation with H = hashToG1(digest), so sign the
    // hashed digest through sign_hashed_point and check it.
    let s = Bn254Scheme;
    let d = digest(9);
    let k = &KEYS[6];
    let sig = k.sign_hashed_point(&s.hash_to_g1(&d));
    assert_eq!(sig, k.sign_digest(&d));
    assert!(s.check_aggregate(&d, k.public_g1(), k.public_g2(), &sig));
    assert!(!s.check_aggregate(&d, KEYS[7].public_g1(), k.public_g2(), &sig));
    let p: G1Affine = (G1Projective::generator() * Fr::from(99u8)).into_affine();
    let m = MessagePoint::from_affine(p).unwrap();
    assert!(verify(&m, &k.sign_hashed_point(&m), k.public_g2()));
}

fn g2_keys(idx: &[usize]) -> Vec<&G2PublicKey> {
    idx.iter().map(|&i| KEYS[i].public_g2()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// σ = Σ kᵢσᵢ, apkG2 = Σ kᵢpkᵢ, apk = Σ quorumApk − non-signers (negative multiplicities):
    /// the γ check accepts, and refuses another digest or a missing multiplicity.
    #[test]
    fn aggregates_with_multiplicities_verify(
        signers in proptest::collection::vec((0..POOL, 1u64..4), 1..6),
        non_signers in proptest::collection::vec((0..POOL, 1i64..3), 0..3),
        di in any::<u8>(),
    ) {
        let s = Bn254Scheme;
        let d = digest(di);
        let sigs: Vec<Signature> = signers.iter().map(|(i, _)| KEYS[*i].sign_digest(&d)).collect();
        let sigma = s.aggregate_signatures(
            &sigs.iter().zip(&signers).map(|(sig, (_, k))| (sig, *k)).collect::<Vec<_>>(),
        );
        let apk2 = s.aggregate_g2(
            &signers.iter().map(|(i, k)| (KEYS[*i].public_g2(), *k as i64)).collect::<Vec<_>>(),
        );
        // apk = (signers + non-signers) − non-signers, as the checker derives it.
        let mut apk_items: Vec<(&_, i64)> =
            signers.iter().map(|(i, k)| (KEYS[*i].public_g1(), *k as i64)).collect();
        for (i, k) in &non_signers {
            apk_items.push((KEYS[*i].public_g1(), *k));
            apk_items.push((KEYS[*i].public_g1(), -*k));
        }
        let apk1 = s.aggregate_g1(&apk_items);
        prop_assert!(s.check_aggregate(&d, &apk1, &apk2, &sigma));
        prop_assert!(!s.check_aggregate(&digest(di.wrapping_add(1)), &apk1, &apk2, &sigma));
        let short = s.aggregate_signatures(
            &sigs.iter().zip(&signers).map(|(sig, (_, k))| (sig, *k)).skip(1).collect::<Vec<_>>(),
        );
        prop_assert!(!s.check_aggregate(&d, &apk1, &apk2, &short));
    }

    /// Same digest: exactly the corrupted indices come back.
    #[test]
    fn same_digest_finds_exactly_the_corrupted(
        signers in proptest::collection::vec(0..POOL, 1..14),
        bad_mask in any::<u16>(),
        di in any::<u8>(),
    ) {
        let s = Bn254Scheme;
        let d = digest(di);
        let m = s.hash_to_g1(&d);
        let mut expected = Vec::new();
        let sigs: Vec<Signature> = signers.iter().enumerate().map(|(pos, i)| {
            let sig = KEYS[*i].sign_digest(&d);
            if bad_mask >> pos & 1 == 1 { expected.push(pos); corrupt(&sig) } else { sig }
        }).collect();
        let keys = g2_keys(&signers);
        let items: Vec<_> = sigs.iter().zip(keys).collect();
        prop_assert_eq!(s.verify_same_digest(&m, &items), expected);
    }

    /// Many digests: exactly the corrupted indices come back, whatever the mix of corruptions
    /// (wrong value, signature of another digest, signature under another key).
    #[test]
    fn batch_finds_exactly_the_corrupted(
        items in proptest::collection::vec((0..POOL, 0u8..4, 0u8..4), 1..14),
    ) {
        let s = Bn254Scheme;
        let digests: Vec<ResponseDigest> = (0..4).map(digest).collect();
        let messages: Vec<MessagePoint> = digests.iter().map(|d| s.hash_to_g1(d)).collect();
        let mut expected = Vec::new();
        let sigs: Vec<Signature> = items.iter().enumerate().map(|(pos, (k, di, how))| {
            let d = &digests[*di as usize];
            match how {
                0 | 1 => KEYS[*k].sign_digest(d),
                2 => { expected.push(pos); corrupt(&KEYS[*k].sign_digest(d)) }
                _ => { expected.push(pos); KEYS[*k].sign_digest(&digests[(*di as usize + 1) % 4]) }
            }
        }).collect();
        let batch: Vec<BatchItem<'_, Bn254Scheme>> = items.iter().zip(&sigs).map(|((k, di, _), sig)| {
            BatchItem {
                digest: &digests[*di as usize],
                message: &messages[*di as usize],
                signature: sig,
                key: KEYS[*k].public_g2(),
            }
        }).collect();
        prop_assert_eq!(s.verify_batch(&batch), expected);
    }
}
