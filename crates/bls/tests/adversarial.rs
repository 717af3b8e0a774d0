//! Adversarial inputs to the BN254 layer: every malformed point or key is refused with its own
//! error, signatures over another digest fail, and two invalid signatures whose errors cancel
//! in the sum are caught by the randomized batch check but pass a plain aggregate check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{PrimeField, UniformRand};
use quorate_bls::{
    aggregate_g1, aggregate_g2, aggregate_signatures, check_aggregate, decode_g1_affine,
    decode_g1_bytes, decode_g2_affine, decode_g2_bytes, encode_g1_affine, encode_g2_affine, verify,
    verify_same_digest, G1PublicKey, G2PublicKey, KeyError, KeyPair, MessagePoint, SecretKey,
    Signature,
};
use quorate_domain::{G1Point, G2Point, PointDecodingError, ResponseDigest, U256};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0xad7e_25a1)
}

/// The base-field modulus p as a `uint256`.
fn p() -> U256 {
    U256::from_limbs(Fq::MODULUS.0)
}

/// The group order r as a `uint256`.
fn r() -> U256 {
    U256::from_limbs(Fr::MODULUS.0)
}

/// A point on the G2 twist that is not in the prime-order subgroup (the twist's cofactor is
/// ~2^254, so almost every curve point is outside it).
fn g2_outside_subgroup() -> G2Affine {
    let mut rng = rng();
    loop {
        let x = Fq2::rand(&mut rng);
        if let Some(pt) = G2Affine::get_point_from_x_unchecked(x, false) {
            assert!(pt.is_on_curve());
            if !pt.is_in_correct_subgroup_assuming_on_curve() {
                return pt;
            }
        }
    }
}

#[test]
fn identity_points_are_refused() {
    assert_eq!(
        decode_g1_affine(&G1Point::default()),
        Err(PointDecodingError::Identity)
    );
    assert_eq!(
        decode_g2_affine(&G2Point::default()),
        Err(PointDecodingError::Identity)
    );
    assert_eq!(
        decode_g1_bytes(&[0u8; 64]),
        Err(PointDecodingError::Identity)
    );
    assert_eq!(
        decode_g2_bytes(&[0u8; 128]),
        Err(PointDecodingError::Identity)
    );
    assert_eq!(
        Signature::from_point(&G1Point::default()),
        Err(PointDecodingError::Identity)
    );
    assert_eq!(
        G1PublicKey::from_affine(G1Affine::zero()),
        Err(PointDecodingError::Identity)
    );
    assert_eq!(
        G2PublicKey::from_affine(G2Affine::zero()).map(|_| ()),
        Err(PointDecodingError::Identity)
    );
}

#[test]
fn points_off_the_curve_are_refused() {
    // (1, 3): y² = 9 ≠ 1 + 3.
    let off = G1Point {
        x: U256::from(1u8),
        y: U256::from(3u8),
    };
    assert_eq!(decode_g1_affine(&off), Err(PointDecodingError::NotOnCurve));
    assert_eq!(
        Signature::from_point(&off),
        Err(PointDecodingError::NotOnCurve)
    );
    // (0, y) with y ≠ 0 is not on y² = x³ + 3 unless y² = 3, which has no root here.
    let zero_x = G1Point {
        x: U256::ZERO,
        y: U256::from(2u8),
    };
    assert_eq!(
        decode_g1_affine(&zero_x),
        Err(PointDecodingError::NotOnCurve)
    );
    let mut g2 = encode_g2_affine(&G2Affine::generator());
    g2.y[1] ^= U256::from(1u8);
    assert_eq!(decode_g2_affine(&g2), Err(PointDecodingError::NotOnCurve));
    // Swapping the Fq2 halves (c0/c1 order confusion) lands off the twist as well.
    let gen = encode_g2_affine(&G2Affine::generator());
    let swapped = G2Point {
        x: [gen.x[1], gen.x[0]],
        y: [gen.y[1], gen.y[0]],
    };
    assert_eq!(
        decode_g2_affine(&swapped),
        Err(PointDecodingError::NotOnCurve)
    );
}

#[test]
fn g2_points_outside_the_subgroup_are_refused() {
    let pt = g2_outside_subgroup();
    let enc = encode_g2_affine(&pt);
    assert_eq!(
        decode_g2_affine(&enc),
        Err(PointDecodingError::NotInSubgroup)
    );
    assert_eq!(
        decode_g2_bytes(&enc.to_bytes()),
        Err(PointDecodingError::NotInSubgroup)
    );
    assert_eq!(
        G2PublicKey::from_point(&enc).map(|_| ()),
        Err(PointDecodingError::NotInSubgroup)
    );
    assert_eq!(
        G2PublicKey::from_affine(pt).map(|_| ()),
        Err(PointDecodingError::NotInSubgroup)
    );
}

#[test]
fn non_canonical_encodings_are_refused() {
    let g = encode_g1_affine(&G1Affine::generator());
    // x + p names the same field element as x; accepting it would give one point two encodings
    // (and two operator ids).
    let x_plus_p = G1Point {
        x: g.x + p(),
        y: g.y,
    };
    assert_eq!(
        decode_g1_affine(&x_plus_p),
        Err(PointDecodingError::NonCanonical { coordinate: "x" })
    );
    let y_plus_p = G1Point {
        x: g.x,
        y: g.y + p(),
    };
    assert_eq!(
        decode_g1_affine(&y_plus_p),
        Err(PointDecodingError::NonCanonical { coordinate: "y" })
    );
    // (p, p) ≡ (0, 0) is not treated as the identity either: it is simply non-canonical.
    assert_eq!(
        decode_g1_affine(&G1Point { x: p(), y: p() }),
        Err(PointDecodingError::NonCanonical { coordinate: "x" })
    );
    let max = G1Point {
        x: U256::MAX,
        y: U256::MAX,
    };
    assert!(matches!(
        decode_g1_affine(&max),
        Err(PointDecodingError::NonCanonical { .. })
    ));
    let h = encode_g2_affine(&G2Affine::generator());
    for (word, name) in [(0usize, "x.c1"), (1, "x.c0")] {
        let mut bad = h;
        bad.x[word] += p();
        assert_eq!(
            decode_g2_affine(&bad),
            Err(PointDecodingError::NonCanonical { coordinate: name })
        );
    }
    for (word, name) in [(0usize, "y.c1"), (1, "y.c0")] {
        let mut bad = h;
        bad.y[word] += p();
        assert_eq!(
            decode_g2_affine(&bad),
            Err(PointDecodingError::NonCanonical { coordinate: name })
        );
    }
}

#[test]
fn wrong_lengths_are_refused() {
    for len in [0usize, 1, 63, 65, 128] {
        assert_eq!(
            decode_g1_bytes(&vec![1u8; len]),
            Err(PointDecodingError::WrongLength {
                expected: 64,
                got: len
            })
        );
    }
    for len in [0usize, 64, 127, 129] {
        assert_eq!(
            decode_g2_bytes(&vec![1u8; len]),
            Err(PointDecodingError::WrongLength {
                expected: 128,
                got: len
            })
        );
    }
}

#[test]
fn bad_secret_keys_are_refused_each_with_its_own_error() {
    assert_eq!(SecretKey::parse("").unwrap_err(), KeyError::Empty);
    assert_eq!(SecretKey::parse("  0x ").unwrap_err(), KeyError::Empty);
    assert_eq!(
        SecretKey::parse("12a").unwrap_err(),
        KeyError::NotANumber { position: 2 }
    );
    assert_eq!(
        SecretKey::parse(" 0xzz").unwrap_err(),
        KeyError::NotANumber { position: 3 }
    );
    assert_eq!(
        SecretKey::parse("-1").unwrap_err(),
        KeyError::NotANumber { position: 0 }
    );
    assert_eq!(
        SecretKey::parse("１").unwrap_err(),
        KeyError::NotANumber { position: 0 }
    );
    assert_eq!(SecretKey::parse("0").unwrap_err(), KeyError::Zero);
    assert_eq!(SecretKey::parse("0x000").unwrap_err(), KeyError::Zero);
    // r itself, r + 1, 2^256 and a 400-digit number are all out of range (never reduced mod r,
    // which would make two strings the same key).
    let r = r();
    for s in [
        r.to_string(),
        (r + U256::from(1u8)).to_string(),
        format!("{r:#x}"),
        "115792089237316195423570985008687907853269984665640564039457584007913129639936".into(),
        "9".repeat(400),
    ] {
        assert_eq!(
            SecretKey::parse(&s).unwrap_err(),
            KeyError::OutOfRange,
            "{s}"
        );
    }
    assert!(SecretKey::parse(&(r - U256::from(1u8)).to_string()).is_ok());
}

#[test]
fn duplicate_keys_give_the_same_operator_id() {
    // Two registrations of one key cannot be two operators: the id is the hash of the key, so
    // the registry (and BLSApkRegistry on chain) sees one operator, and its second signature is
    // a duplicate (tested end to end in quorate-runtime's adversarial tests).
    let mut rng = rng();
    let a = KeyPair::random(&mut rng);
    let copy = G1PublicKey::from_point(&a.public_g1().to_point()).unwrap();
    assert_eq!(copy.operator_id(), a.operator_id());
    let other = KeyPair::random(&mut rng);
    assert_ne!(other.operator_id(), a.operator_id());
}

#[test]
fn a_signature_on_another_digest_fails() {
    let mut rng = rng();
    let k = KeyPair::random(&mut rng);
    let (d1, d2) = (ResponseDigest::new([1; 32]), ResponseDigest::new([2; 32]));
    let sig = k.sign_digest(&d2);
    assert!(verify(
        &MessagePoint::hash(d2.as_bytes()),
        &sig,
        k.public_g2()
    ));
    assert!(!verify(
        &MessagePoint::hash(d1.as_bytes()),
        &sig,
        k.public_g2()
    ));
    assert_eq!(
        verify_same_digest(
            &MessagePoint::hash(d1.as_bytes()),
            &[(&k.sign_digest(&d1), k.public_g2()), (&sig, k.public_g2())]
        ),
        vec![1]
    );
    // Nor does it pass as someone else's signature.
    let other = KeyPair::random(&mut rng);
    assert!(!verify(
        &MessagePoint::hash(d2.as_bytes()),
        &sig,
        other.public_g2()
    ));
}

/// `σ₁ + E` and `σ₂ − E`: each invalid, their sum the honest aggregate.
fn cancelling_pair(a: &KeyPair, b: &KeyPair, digest: &ResponseDigest) -> (Signature, Signature) {
    let e = G1Projective::generator() * Fr::from(0x1234_5678_9abc_u64);
    let s1 = (G1Projective::from(*a.sign_digest(digest).as_affine()) + e).into_affine();
    let s2 = (G1Projective::from(*b.sign_digest(digest).as_affine()) - e).into_affine();
    (
        Signature::from_affine(s1).unwrap(),
        Signature::from_affine(s2).unwrap(),
    )
}

#[test]
fn cancelling_errors_are_caught_by_the_randomized_batch_but_not_by_the_sum() {
    let mut rng = rng();
    let (a, b) = (KeyPair::random(&mut rng), KeyPair::random(&mut rng));
    let d = ResponseDigest::new([7; 32]);
    let m = MessagePoint::hash(d.as_bytes());
    let (s1, s2) = cancelling_pair(&a, &b, &d);
    assert!(!verify(&m, &s1, a.public_g2()));
    assert!(!verify(&m, &s2, b.public_g2()));
    // Random coefficients r₁(σ₁+E) + r₂(σ₂−E): E survives unless r₁ = r₂.
    let mut bad = verify_same_digest(&m, &[(&s1, a.public_g2()), (&s2, b.public_g2())]);
    bad.sort();
    assert_eq!(bad, vec![0, 1]);
    // The plain sum is the honest aggregate, so the γ-trick aggregate check accepts it.
    let sigma = aggregate_signatures(&[(&s1, 1), (&s2, 1)]);
    let honest = aggregate_signatures(&[(&a.sign_digest(&d), 1), (&b.sign_digest(&d), 1)]);
    assert_eq!(sigma, honest);
    let apk1 = aggregate_g1(&[(a.public_g1(), 1), (b.public_g1(), 1)]);
    let apk2 = aggregate_g2(&[(a.public_g2(), 1), (b.public_g2(), 1)]);
    assert!(check_aggregate(&d, &apk1, &apk2, &sigma));
    // A lone member of the pair is not enough.
    assert!(!check_aggregate(&d, a.public_g1(), a.public_g2(), &s1));
}
