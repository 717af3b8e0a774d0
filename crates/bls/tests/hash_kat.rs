//! Known answers for `hashToG1`, computed here independently with big integers: the Solidity
//! loop transcribed literally (`x = digest mod p`; `β = x³ + 3`; `y = β^((p+1)/4) mod p`;
//! accept when `y² = β`, else `x += 1`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use num_bigint::BigUint;
use quorate_bls::hash_to_g1;
use quorate_domain::U256;
use sha3::{Digest, Keccak256};

const P: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";

fn reference(digest: &[u8; 32]) -> (BigUint, BigUint, u32) {
    let p: BigUint = P.parse().unwrap();
    let exp = (&p + 1u8) / 4u8;
    let mut x = BigUint::from_bytes_be(digest) % &p;
    let mut tries = 0;
    loop {
        tries += 1;
        let beta = (x.modpow(&BigUint::from(3u8), &p) + 3u8) % &p;
        let y = beta.modpow(&exp, &p);
        if (&y * &y) % &p == beta {
            return (x, y, tries);
        }
        x = (x + 1u8) % &p;
    }
}

fn to_big(u: U256) -> BigUint {
    BigUint::from_bytes_be(&u.to_be_bytes::<32>())
}

#[test]
fn hash_to_g1_known_answers() {
    let p_bytes: [u8; 32] = P
        .parse::<BigUint>()
        .unwrap()
        .to_bytes_be()
        .try_into()
        .unwrap();
    let digests: Vec<[u8; 32]> = vec![
        [0; 32],
        [0xff; 32],
        p_bytes, // reduces to x = 0
        Keccak256::digest(b"hello").into(),
        Keccak256::digest(b"quorate").into(),
        {
            let mut d = [0u8; 32];
            d[31] = 1;
            d
        },
    ];
    let mut saw_retry = false;
    for d in &digests {
        let (x, y, tries) = reference(d);
        saw_retry |= tries > 1;
        let got = quorate_bls::encode_g1_affine(&hash_to_g1(d));
        assert_eq!(
            (to_big(got.x), to_big(got.y)),
            (x, y),
            "digest {}",
            hex::encode(d)
        );
    }
    assert!(
        saw_retry,
        "at least one digest should exercise the x += 1 branch"
    );
}

#[test]
fn hash_to_g1_fixed_vector() {
    // x = 1: β = 4 is a square; the Solidity root is 4^((p+1)/4) = 2^((p+1)/2) = ±2.
    let mut d = [0u8; 32];
    d[31] = 1;
    let (x, y, tries) = reference(&d);
    assert_eq!((x, tries), (BigUint::from(1u8), 1));
    let p: BigUint = P.parse().unwrap();
    assert!(y == BigUint::from(2u8) || y == &p - 2u8);
    let got = quorate_bls::encode_g1_affine(&hash_to_g1(&d));
    assert_eq!(to_big(got.y), y);
}
