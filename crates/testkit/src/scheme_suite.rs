//! The contract every [`SignatureScheme`] backend must keep, written once and run against each
//! backend (as Lighthouse runs one `test_suite!` against its BLS backends): the fake scheme the
//! fast tests use must behave like BN254 wherever the layers above can tell.
//!
//! ```ignore
//! quorate_testkit::scheme_contract_suite!(fake, quorate_testkit::scheme_suite::Fake);
//! quorate_testkit::scheme_contract_suite!(bn254, quorate_testkit::scheme_suite::Bn254);
//! ```

use quorate_bls::fake::{FakeKeyPair, FakeScheme};
use quorate_bls::{Bn254Scheme, KeyPair};
use quorate_domain::{BatchItem, ResponseDigest, SignatureScheme};

type G1<B> = <<B as SuiteBackend>::Scheme as SignatureScheme>::G1PublicKey;
type G2<B> = <<B as SuiteBackend>::Scheme as SignatureScheme>::G2PublicKey;
type Sig<B> = <<B as SuiteBackend>::Scheme as SignatureScheme>::Signature;

/// A backend under test: its scheme, and how to make keys and sign with them.
pub trait SuiteBackend {
    /// The scheme.
    type Scheme: SignatureScheme;
    /// A key pair.
    type Key;
    /// The scheme value.
    fn scheme() -> Self::Scheme;
    /// A deterministic key pair (distinct seeds, distinct keys).
    fn key(seed: u64) -> Self::Key;
    /// Its G1 key.
    fn g1(key: &Self::Key) -> G1<Self>;
    /// Its G2 key.
    fn g2(key: &Self::Key) -> G2<Self>;
    /// Its signature over `digest`.
    fn sign(key: &Self::Key, digest: &ResponseDigest) -> Sig<Self>;
}

/// The fake backend.
pub struct Fake;

impl SuiteBackend for Fake {
    type Scheme = FakeScheme;
    type Key = FakeKeyPair;
    fn scheme() -> FakeScheme {
        FakeScheme
    }
    fn key(seed: u64) -> FakeKeyPair {
        FakeKeyPair::new(seed.wrapping_mul(0x9e37_79b9).wrapping_add(1))
    }
    fn g1(key: &FakeKeyPair) -> G1<Self> {
        key.public_g1()
    }
    fn g2(key: &FakeKeyPair) -> G2<Self> {
        key.public_g2()
    }
    fn sign(key: &FakeKeyPair, digest: &ResponseDigest) -> Sig<Self> {
        key.sign(digest)
    }
}

/// BN254 on arkworks, the production backend.
pub struct Bn254;

impl SuiteBackend for Bn254 {
    type Scheme = Bn254Scheme;
    type Key = KeyPair;
    fn scheme() -> Bn254Scheme {
        Bn254Scheme
    }
    fn key(seed: u64) -> KeyPair {
        let secret = u128::from(seed) * 1_000_003 + 7;
        KeyPair::from_secret_str(&secret.to_string()).expect("a small non-zero secret")
    }
    fn g1(key: &KeyPair) -> G1<Self> {
        *key.public_g1()
    }
    fn g2(key: &KeyPair) -> G2<Self> {
        key.public_g2().clone()
    }
    fn sign(key: &KeyPair, digest: &ResponseDigest) -> Sig<Self> {
        key.sign_digest(digest)
    }
}

fn digest(b: u8) -> ResponseDigest {
    ResponseDigest::new([b; 32])
}

/// A signature verifies under its key and digest, and under no other.
pub fn sign_and_verify<B: SuiteBackend>() {
    let s = B::scheme();
    let (a, b) = (B::key(1), B::key(2));
    let m = s.hash_to_g1(&digest(1));
    let sig = B::sign(&a, &digest(1));
    assert!(s.verify(&m, &sig, &B::g2(&a)), "own key");
    assert!(!s.verify(&m, &sig, &B::g2(&b)), "another key");
    assert!(
        !s.verify(&s.hash_to_g1(&digest(2)), &sig, &B::g2(&a)),
        "another digest"
    );
}

/// Hashing is deterministic and separates digests.
pub fn hash_to_g1_is_a_function_of_the_digest<B: SuiteBackend>() {
    let s = B::scheme();
    assert_eq!(s.hash_to_g1(&digest(3)), s.hash_to_g1(&digest(3)));
    assert_ne!(s.hash_to_g1(&digest(3)), s.hash_to_g1(&digest(4)));
}

/// Same-digest batches name exactly the invalid signatures.
pub fn same_digest_batches_find_exactly_the_invalid<B: SuiteBackend>() {
    let s = B::scheme();
    let keys: Vec<_> = (0..8).map(B::key).collect();
    let m = s.hash_to_g1(&digest(5));
    let mut sigs: Vec<_> = keys.iter().map(|k| B::sign(k, &digest(5))).collect();
    let g2: Vec<_> = keys.iter().map(B::g2).collect();
    let items = |sigs: &[Sig<B>]| -> Vec<usize> {
        let pairs: Vec<_> = sigs.iter().zip(&g2).collect();
        s.verify_same_digest(&m, &pairs)
    };
    assert!(items(&sigs).is_empty(), "all valid");
    // Two bad ones: a signature over another digest, and another signer's signature.
    sigs[2] = B::sign(&keys[2], &digest(6));
    sigs[5] = B::sign(&keys[0], &digest(5));
    assert_eq!(items(&sigs), vec![2, 5]);
}

/// Cross-digest batches name exactly the invalid items.
pub fn cross_digest_batches_find_exactly_the_invalid<B: SuiteBackend>() {
    let s = B::scheme();
    let keys: Vec<_> = (10..16).map(B::key).collect();
    let digests: Vec<_> = (0..keys.len())
        .map(|i| digest(20 + (i % 3) as u8))
        .collect();
    let messages: Vec<_> = digests.iter().map(|d| s.hash_to_g1(d)).collect();
    let g2: Vec<_> = keys.iter().map(B::g2).collect();
    let mut sigs: Vec<_> = keys
        .iter()
        .zip(&digests)
        .map(|(k, d)| B::sign(k, d))
        .collect();
    let check = |sigs: &[Sig<B>]| {
        let items: Vec<BatchItem<'_, B::Scheme>> = (0..sigs.len())
            .map(|i| BatchItem {
                digest: &digests[i],
                message: &messages[i],
                signature: &sigs[i],
                key: &g2[i],
            })
            .collect();
        s.verify_batch(&items)
    };
    assert!(check(&sigs).is_empty(), "all valid");
    sigs[4] = B::sign(&keys[4], &digest(99));
    assert_eq!(check(&sigs), vec![4]);
}

/// An aggregate with multiplicities passes the γ-check against the matching apks, and fails
/// when sigma, the G2 apk or the G1 apk is off.
pub fn aggregates_with_multiplicities_pass_the_checker<B: SuiteBackend>() {
    let s = B::scheme();
    let keys: Vec<_> = (20..24).map(B::key).collect();
    let d = digest(7);
    let sigs: Vec<_> = keys.iter().map(|k| B::sign(k, &d)).collect();
    let g1: Vec<_> = keys.iter().map(B::g1).collect();
    let g2: Vec<_> = keys.iter().map(B::g2).collect();
    let mult = [1u64, 2, 1, 3];
    let sigma = s.aggregate_signatures(&sigs.iter().zip(mult).collect::<Vec<_>>());
    let apk_g2 = s.aggregate_g2(
        &g2.iter()
            .zip(mult)
            .map(|(k, m)| (k, m as i64))
            .collect::<Vec<_>>(),
    );
    let apk_g1 = s.aggregate_g1(
        &g1.iter()
            .zip(mult)
            .map(|(k, m)| (k, m as i64))
            .collect::<Vec<_>>(),
    );
    assert!(
        s.check_aggregate(&d, &apk_g1, &apk_g2, &sigma),
        "matching aggregate"
    );
    let one = s.aggregate_signatures(&[(&sigs[0], 1)]);
    let short_sigma = s.aggregate_signatures(&[(&sigma, 1), (&one, 1)]);
    assert!(
        !s.check_aggregate(&d, &apk_g1, &apk_g2, &short_sigma),
        "sigma off"
    );
    let other_g2 = s.aggregate_g2(&g2.iter().zip([1i64, 1, 1, 3]).collect::<Vec<_>>());
    assert!(
        !s.check_aggregate(&d, &apk_g1, &other_g2, &sigma),
        "apk G2 off"
    );
    let other_g1 = s.aggregate_g1(&[(&apk_g1, 1), (&g1[0], 1)]);
    assert!(
        !s.check_aggregate(&d, &other_g1, &apk_g2, &sigma),
        "apk G1 off"
    );
    assert!(
        !s.check_aggregate(&digest(8), &apk_g1, &apk_g2, &sigma),
        "digest off"
    );
}

/// Negative multiplicities subtract in G1 (the checker's `apk − Σ non-signers`) and in G2.
pub fn aggregation_subtracts_in_g1_and_g2<B: SuiteBackend>() {
    let s = B::scheme();
    let (a, b) = (B::g1(&B::key(30)), B::g1(&B::key(31)));
    let sum = s.aggregate_g1(&[(&a, 1), (&b, 1)]);
    assert_eq!(s.aggregate_g1(&[(&sum, 1), (&b, -1)]), a);
    assert_eq!(s.aggregate_g1(&[(&a, 3), (&a, -2)]), a);
    // And in G2 (the signers' apk as the whole set's minus the non-signers').
    let (a2, b2) = (B::g2(&B::key(30)), B::g2(&B::key(31)));
    let sum2 = s.aggregate_g2(&[(&a2, 2), (&b2, 1)]);
    assert_eq!(
        s.aggregate_g2(&[(&sum2, 1), (&b2, -1)]),
        s.aggregate_g2(&[(&a2, 2)])
    );
    assert_eq!(
        s.aggregate_g2(&[(&sum2, 1), (&a2, -2), (&b2, -1)]),
        s.aggregate_g2(&[])
    );
}

/// Keys and signatures survive the contract encoding, and ids are a function of the G1 key.
pub fn encodings_round_trip_and_ids_separate_keys<B: SuiteBackend>() {
    let s = B::scheme();
    let (a, b) = (B::key(40), B::key(41));
    assert_eq!(
        s.decode_g1(&s.encode_g1(&B::g1(&a))).as_ref(),
        Ok(&B::g1(&a))
    );
    assert_eq!(
        s.decode_g2(&s.encode_g2(&B::g2(&a))).as_ref(),
        Ok(&B::g2(&a))
    );
    let sig = B::sign(&a, &digest(9));
    assert_eq!(
        s.decode_signature(&s.encode_signature(&sig)).as_ref(),
        Ok(&sig)
    );
    assert_eq!(s.operator_id(&B::g1(&a)), s.operator_id(&B::g1(&a)));
    assert_ne!(s.operator_id(&B::g1(&a)), s.operator_id(&B::g1(&b)));
}

/// The zero encoding (the point at infinity) is refused as a key and as a signature.
pub fn the_point_at_infinity_is_refused<B: SuiteBackend>() {
    let s = B::scheme();
    assert!(s.decode_g1(&Default::default()).is_err(), "G1");
    assert!(s.decode_g2(&Default::default()).is_err(), "G2");
    assert!(
        s.decode_signature(&Default::default()).is_err(),
        "signature"
    );
}

/// Runs the contract against one backend: `scheme_contract_suite!(module, Backend)` makes a
/// test module with one test per property.
#[macro_export]
macro_rules! scheme_contract_suite {
    ($module:ident, $backend:ty) => {
        mod $module {
            use $crate::scheme_suite as suite;

            #[test]
            fn sign_and_verify() {
                suite::sign_and_verify::<$backend>();
            }
            #[test]
            fn hash_to_g1_is_a_function_of_the_digest() {
                suite::hash_to_g1_is_a_function_of_the_digest::<$backend>();
            }
            #[test]
            fn same_digest_batches_find_exactly_the_invalid() {
                suite::same_digest_batches_find_exactly_the_invalid::<$backend>();
            }
            #[test]
            fn cross_digest_batches_find_exactly_the_invalid() {
                suite::cross_digest_batches_find_exactly_the_invalid::<$backend>();
            }
            #[test]
            fn aggregates_with_multiplicities_pass_the_checker() {
                suite::aggregates_with_multiplicities_pass_the_checker::<$backend>();
            }
            #[test]
            fn aggregation_subtracts_in_g1_and_g2() {
                suite::aggregation_subtracts_in_g1_and_g2::<$backend>();
            }
            #[test]
            fn encodings_round_trip_and_ids_separate_keys() {
                suite::encodings_round_trip_and_ids_separate_keys::<$backend>();
            }
            #[test]
            fn the_point_at_infinity_is_refused() {
                suite::the_point_at_infinity_is_refused::<$backend>();
            }
        }
    };
}
