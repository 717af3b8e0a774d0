//! Every decoding rejection, produced by a crafted input; secrets never show in `Debug`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use ark_bn254::{Fq, Fq2, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{Field, PrimeField, UniformRand};
use proptest::prelude::*;
use quorate_bls::{
    decode_g1_bytes, decode_g2_bytes, Bn254Scheme, G1PublicKey, G2PublicKey, KeyPair, Signature,
};
use quorate_domain::{G1Point, G2Point, PointDecodingError as E, SignatureScheme, U256};
use rand::SeedableRng;

fn p() -> U256 {
    U256::from_limbs(Fq::MODULUS.0)
}

fn key() -> KeyPair {
    KeyPair::from_secret_str("0x1234567890abcdef").unwrap()
}

#[test]
fn g1_rejections() {
    let s = Bn254Scheme;
    let good = key().public_g1().to_point();
    assert_eq!(s.decode_g1(&G1Point::default()), Err(E::Identity));
    assert_eq!(s.decode_signature(&G1Point::default()), Err(E::Identity));
    // x = p: non-canonical.
    let x_is_p = G1Point {
        x: p(),
        y: U256::from(2u8),
    };
    assert_eq!(
        s.decode_g1(&x_is_p),
        Err(E::NonCanonical { coordinate: "x" })
    );
    // (p + 1, 2) would be the generator if reduced: still refused.
    let gen_alias = G1Point {
        x: p() + U256::from(1u8),
        y: U256::from(2u8),
    };
    assert_eq!(
        s.decode_g1(&gen_alias),
        Err(E::NonCanonical { coordinate: "x" })
    );
    let y_big = G1Point {
        x: good.x,
        y: good.y + p(),
    };
    assert_eq!(
        s.decode_signature(&y_big),
        Err(E::NonCanonical { coordinate: "y" })
    );
    let max = G1Point {
        x: U256::MAX,
        y: U256::MAX,
    };
    assert!(matches!(s.decode_g1(&max), Err(E::NonCanonical { .. })));
    // Off the curve.
    let off = G1Point {
        x: U256::from(1u8),
        y: U256::from(3u8),
    };
    assert_eq!(s.decode_g1(&off), Err(E::NotOnCurve));
    let off2 = G1Point {
        x: good.x,
        y: good.y ^ U256::from(1u8),
    };
    assert_eq!(s.decode_signature(&off2), Err(E::NotOnCurve));
    // (0, y ≠ 0) is not infinity and not on the curve unless y² = 3.
    let zero_x = G1Point {
        x: U256::ZERO,
        y: U256::from(5u8),
    };
    assert_eq!(s.decode_g1(&zero_x), Err(E::NotOnCurve));
    // Wrong lengths.
    for len in [0usize, 32, 63, 65, 128] {
        let bytes = vec![1u8; len];
        assert_eq!(
            decode_g1_bytes(&bytes),
            Err(E::WrongLength {
                expected: 64,
                got: len
            })
        );
        assert_eq!(
            G1PublicKey::from_bytes(&bytes),
            Err(E::WrongLength {
                expected: 64,
                got: len
            })
        );
        assert_eq!(
            Signature::from_bytes(&bytes),
            Err(E::WrongLength {
                expected: 64,
                got: len
            })
        );
    }
    // The good one round-trips through bytes.
    assert_eq!(
        &G1PublicKey::from_bytes(&good.to_bytes()).unwrap(),
        key().public_g1()
    );
}

/// A point on the twist curve that is (with overwhelming probability, and checked) outside the
/// prime-order subgroup: a raw curve point, not multiplied by the cofactor.
fn twist_point_outside_subgroup() -> G2Affine {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    loop {
        let x = Fq2::rand(&mut rng);
        let rhs = x.square() * x
            + <ark_bn254::g2::Config as ark_ec::short_weierstrass::SWCurveConfig>::COEFF_B;
        if let Some(y) = rhs.sqrt() {
            let p = G2Affine::new_unchecked(x, y);
            assert!(p.is_on_curve());
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
    }
}

fn raw_g2(p: &G2Affine) -> G2Point {
    let (x, y) = p.xy().unwrap();
    let w = |f: Fq| U256::from_limbs(f.into_bigint().0);
    G2Point {
        x: [w(x.c1), w(x.c0)],
        y: [w(y.c1), w(y.c0)],
    }
}

#[test]
fn g2_rejections() {
    let s = Bn254Scheme;
    let good = key().public_g2().to_point();
    assert_eq!(s.decode_g2(&G2Point::default()), Err(E::Identity));
    for (i, name) in ["x.c1", "x.c0", "y.c1", "y.c0"].into_iter().enumerate() {
        let mut bad = good;
        let words = if i < 2 { &mut bad.x } else { &mut bad.y };
        words[i % 2] = p();
        assert_eq!(s.decode_g2(&bad), Err(E::NonCanonical { coordinate: name }));
    }
    let mut off = good;
    off.y[1] ^= U256::from(1u8);
    assert_eq!(s.decode_g2(&off), Err(E::NotOnCurve));
    // Swapping the word order (c0 first, as a naive encoder would) lands off the curve.
    let swapped = G2Point {
        x: [good.x[1], good.x[0]],
        y: [good.y[1], good.y[0]],
    };
    assert_eq!(s.decode_g2(&swapped), Err(E::NotOnCurve));

    let outside = twist_point_outside_subgroup();
    let enc = raw_g2(&outside);
    assert_eq!(s.decode_g2(&enc), Err(E::NotInSubgroup));
    assert_eq!(decode_g2_bytes(&enc.to_bytes()), Err(E::NotInSubgroup));
    assert_eq!(G2PublicKey::from_affine(outside), Err(E::NotInSubgroup));
    assert_eq!(G2PublicKey::from_affine(G2Affine::zero()), Err(E::Identity));

    for len in [0usize, 64, 127, 129] {
        assert_eq!(
            G2PublicKey::from_bytes(&vec![0u8; len]),
            Err(E::WrongLength {
                expected: 128,
                got: len
            })
        );
    }
    assert_eq!(
        &G2PublicKey::from_bytes(&good.to_bytes()).unwrap(),
        key().public_g2()
    );
}

#[test]
fn secret_debug_is_redacted() {
    let secret = "98765432109876543210";
    let kp = KeyPair::from_secret_str(secret).unwrap();
    let hex_secret = format!("{:x}", secret.parse::<u128>().unwrap());
    for dbg in [
        format!("{kp:?}"),
        format!("{:?}", kp.secret()),
        format!("{kp:#?}"),
    ] {
        assert!(!dbg.contains(secret) && !dbg.contains(&hex_secret), "{dbg}");
        assert!(!dbg.contains("9876543210"), "{dbg}");
    }
    // Errors do not echo the input either.
    let err = KeyPair::from_secret_str("12345x6789")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("12345"), "{err}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_g1_bytes(&bytes);
        let _ = decode_g2_bytes(&bytes);
        let _ = G1PublicKey::from_bytes(&bytes);
        let _ = G2PublicKey::from_bytes(&bytes);
    }

    #[test]
    fn arbitrary_words_never_panic(w in proptest::array::uniform4(any::<[u64; 4]>())) {
        let u = |l: [u64; 4]| U256::from_limbs(l);
        let s = Bn254Scheme;
        let _ = s.decode_g1(&G1Point { x: u(w[0]), y: u(w[1]) });
        let _ = s.decode_g2(&G2Point { x: [u(w[0]), u(w[1])], y: [u(w[2]), u(w[3])] });
        // Small coordinates hit the field checks more often.
        let _ = s.decode_g1(&G1Point { x: U256::from(w[0][0]), y: U256::from(w[1][0]) });
    }

    #[test]
    fn secret_strings_never_panic(s in ".{0,100}") {
        let _ = KeyPair::from_secret_str(&s);
    }
}
