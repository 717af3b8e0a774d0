//! Cross-checks against eigensdk-rs 2.0 (`eigen-crypto-bls`, `eigen-crypto-bn254`): hash-to-G1,
//! key derivation, signatures, encodings, operator ids and mutual verification agree.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use ark_bn254::{Fr, G1Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use eigen_crypto_bls::{convert_to_g1_point, convert_to_g2_point, BlsKeyPair};
use eigen_crypto_bn254::utils::{map_to_curve, verify_message};
use num_bigint::BigUint;
use quorate_bls::{
    hash_to_g1, verify, Bn254Scheme, G1PublicKey, G2PublicKey, KeyPair, MessagePoint, Signature,
};
use quorate_domain::{ResponseDigest, SignatureScheme};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha3::{Digest, Keccak256};

const CASES: usize = 200;

fn decimal(s: &Fr) -> BigUint {
    BigUint::from_bytes_le(&s.into_bigint().to_bytes_le())
}

#[test]
fn hash_to_g1_matches_eigensdk_map_to_curve() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut digests: Vec<[u8; 32]> = vec![[0; 32], [0xff; 32], [1; 32]];
    for _ in 0..CASES {
        let mut d = [0u8; 32];
        rng.fill_bytes(&mut d);
        digests.push(d);
    }
    for d in &digests {
        assert_eq!(hash_to_g1(d), map_to_curve(d), "digest {}", hex::encode(d));
    }
}

#[test]
fn keys_signatures_encodings_and_ids_match_eigensdk() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let scheme = Bn254Scheme;
    for case in 0..CASES {
        let secret = Fr::rand(&mut rng);
        let dec = decimal(&secret);
        let theirs = BlsKeyPair::new(dec.to_string()).unwrap();
        let ours = KeyPair::from_secret_str(&dec.to_string()).unwrap();
        // The hex form parses to the same key.
        let ours_hex = KeyPair::from_secret_str(&format!("0x{dec:x}")).unwrap();
        assert_eq!(ours_hex.public_g1(), ours.public_g1());

        // Public keys.
        let their_g1 = theirs.public_key().g1();
        let their_g2 = theirs.public_key_g2().g2();
        assert_eq!(*ours.public_g1().as_affine(), their_g1, "case {case}");
        assert_eq!(*ours.public_g2().as_affine(), their_g2, "case {case}");

        // Encodings: eigensdk's alloy contract structs versus ours.
        let e1 = convert_to_g1_point(their_g1).unwrap();
        let o1 = ours.public_g1().to_point();
        assert_eq!((o1.x, o1.y), (e1.X, e1.Y));
        let e2 = convert_to_g2_point(their_g2).unwrap();
        let o2 = ours.public_g2().to_point();
        assert_eq!((o2.x, o2.y), (e2.X, e2.Y));
        assert_eq!(scheme.encode_g1(ours.public_g1()), o1);
        assert_eq!(scheme.encode_g2(ours.public_g2()), o2);
        // And they decode back to the same key.
        assert_eq!(&G1PublicKey::from_point(&o1).unwrap(), ours.public_g1());
        assert_eq!(&G2PublicKey::from_point(&o2).unwrap(), ours.public_g2());

        // Operator id = keccak256(abi.encodePacked(X, Y)) over eigensdk's encoding.
        let mut packed = Vec::with_capacity(64);
        packed.extend_from_slice(&e1.X.to_be_bytes::<32>());
        packed.extend_from_slice(&e1.Y.to_be_bytes::<32>());
        let expected: [u8; 32] = Keccak256::digest(&packed).into();
        assert_eq!(ours.operator_id().as_bytes(), &expected);
        assert_eq!(scheme.operator_id(ours.public_g1()), ours.operator_id());

        // Signatures over a random digest.
        let mut digest = [0u8; 32];
        rng.fill_bytes(&mut digest);
        let their_sig = theirs.sign_message(&digest).g1_point().g1();
        let our_sig = ours.sign(&digest);
        assert_eq!(*our_sig.as_affine(), their_sig, "case {case}");
        let e_sig = convert_to_g1_point(their_sig).unwrap();
        let o_sig = scheme.encode_signature(&our_sig);
        assert_eq!((o_sig.x, o_sig.y), (e_sig.X, e_sig.Y));

        // Each side verifies the other's signature (and refuses a wrong digest).
        let their_sig_ours = Signature::from_affine(their_sig).unwrap();
        let their_pk_ours = G2PublicKey::from_affine(their_g2).unwrap();
        let msg = MessagePoint::hash(&digest);
        assert!(verify(&msg, &their_sig_ours, &their_pk_ours));
        assert!(scheme.verify(
            &scheme.hash_to_g1(&ResponseDigest::new(digest)),
            &their_sig_ours,
            ours.public_g2()
        ));
        assert!(verify_message(
            *ours.public_g2().as_affine(),
            &digest,
            *our_sig.as_affine()
        ));
        let mut other = digest;
        other[0] ^= 1;
        assert!(!verify(
            &MessagePoint::hash(&other),
            &their_sig_ours,
            &their_pk_ours
        ));
        assert!(!verify_message(
            *ours.public_g2().as_affine(),
            &other,
            *our_sig.as_affine()
        ));

        // Signing an already-hashed point (key registration).
        let point: G1Affine = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let theirs_reg = theirs.sign_hashed_to_curve_message(point).g1_point().g1();
        let ours_reg = ours.sign_hashed_point(&MessagePoint::from_affine(point).unwrap());
        assert_eq!(*ours_reg.as_affine(), theirs_reg);
    }
}
