//! The contract encodings of points: G1 as `(X, Y)`, G2 as `X = [x.c1, x.c0]`,
//! `Y = [y.c1, y.c0]`, each word a big-endian `uint256`; the point at infinity is all zeros.
//!
//! Decoding validates fully and never panics: lengths, canonical coordinates (< p), the curve
//! equation, G2 subgroup membership (G1 has cofactor 1), and refuses the point at infinity.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField};
use quorate_domain::{G1Point, G2Point, PointDecodingError, U256};

/// Byte length of an encoded G1 point (`X ‖ Y`).
pub const G1_ENCODED_LEN: usize = 64;
/// Byte length of an encoded G2 point (`X[0] ‖ X[1] ‖ Y[0] ‖ Y[1]`).
pub const G2_ENCODED_LEN: usize = 128;

/// A base-field element as a `uint256` word.
pub(crate) fn fq_to_u256(f: &Fq) -> U256 {
    U256::from_limbs(f.into_bigint().0)
}

/// A `uint256` word as a base-field element, refusing non-canonical values (≥ p).
pub(crate) fn u256_to_fq(word: &U256, coordinate: &'static str) -> Result<Fq, PointDecodingError> {
    Fq::from_bigint(BigInt::new(*word.as_limbs()))
        .ok_or(PointDecodingError::NonCanonical { coordinate })
}

/// Encodes a G1 point as the contracts do; infinity is `(0, 0)`.
pub fn encode_g1_affine(p: &G1Affine) -> G1Point {
    match p.xy() {
        Some((x, y)) => G1Point {
            x: fq_to_u256(&x),
            y: fq_to_u256(&y),
        },
        None => G1Point::default(),
    }
}

/// Encodes a G2 point as the contracts do (imaginary parts first); infinity is all zeros.
pub fn encode_g2_affine(p: &G2Affine) -> G2Point {
    match p.xy() {
        Some((x, y)) => G2Point {
            x: [fq_to_u256(&x.c1), fq_to_u256(&x.c0)],
            y: [fq_to_u256(&y.c1), fq_to_u256(&y.c0)],
        },
        None => G2Point::default(),
    }
}

/// Decodes and validates a G1 point: not infinity, canonical, on the curve (hence in G1).
pub fn decode_g1_affine(point: &G1Point) -> Result<G1Affine, PointDecodingError> {
    if point.x.is_zero() && point.y.is_zero() {
        return Err(PointDecodingError::Identity);
    }
    let x = u256_to_fq(&point.x, "x")?;
    let y = u256_to_fq(&point.y, "y")?;
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(PointDecodingError::NotOnCurve);
    }
    // G1 has cofactor 1: every curve point is in the prime-order group.
    Ok(p)
}

/// Decodes and validates a G2 point: not infinity, canonical, on the twist, in the
/// prime-order subgroup. The subgroup check is the expensive part (~0.2 ms); do it once per key.
pub fn decode_g2_affine(point: &G2Point) -> Result<G2Affine, PointDecodingError> {
    if point.x.iter().chain(point.y.iter()).all(|w| w.is_zero()) {
        return Err(PointDecodingError::Identity);
    }
    let x = Fq2::new(
        u256_to_fq(&point.x[1], "x.c0")?,
        u256_to_fq(&point.x[0], "x.c1")?,
    );
    let y = Fq2::new(
        u256_to_fq(&point.y[1], "y.c0")?,
        u256_to_fq(&point.y[0], "y.c1")?,
    );
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(PointDecodingError::NotOnCurve);
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointDecodingError::NotInSubgroup);
    }
    Ok(p)
}

/// Decodes and validates a 64-byte G1 encoding (`WrongLength` for any other size).
pub fn decode_g1_bytes(bytes: &[u8]) -> Result<G1Affine, PointDecodingError> {
    let arr: &[u8; G1_ENCODED_LEN] =
        bytes
            .try_into()
            .map_err(|_| PointDecodingError::WrongLength {
                expected: G1_ENCODED_LEN,
                got: bytes.len(),
            })?;
    decode_g1_affine(&G1Point::from_bytes(arr))
}

/// Decodes and validates a 128-byte G2 encoding (`WrongLength` for any other size).
pub fn decode_g2_bytes(bytes: &[u8]) -> Result<G2Affine, PointDecodingError> {
    let arr: &[u8; G2_ENCODED_LEN] =
        bytes
            .try_into()
            .map_err(|_| PointDecodingError::WrongLength {
                expected: G2_ENCODED_LEN,
                got: bytes.len(),
            })?;
    decode_g2_affine(&G2Point::from_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};

    #[test]
    fn generators_round_trip_and_match_the_contract_constants() {
        let g1 = G1Affine::generator();
        let e = encode_g1_affine(&g1);
        assert_eq!((e.x, e.y), (U256::from(1u8), U256::from(2u8)));
        assert_eq!(decode_g1_affine(&e).unwrap(), g1);

        // BN254.generatorG2() in the contracts: X = [x.c1, x.c0], Y = [y.c1, y.c0].
        let g2 = G2Affine::generator();
        let e = encode_g2_affine(&g2);
        let dec = |s: &str| U256::from_str_radix(s, 10).unwrap();
        assert_eq!(
            e.x,
            [
                dec(
                    "11559732032986387107991004021392285783925812861821192530917403151452391805634"
                ),
                dec(
                    "10857046999023057135944570762232829481370756359578518086990519993285655852781"
                ),
            ]
        );
        assert_eq!(
            e.y,
            [
                dec("4082367875863433681332203403145435568316851327593401208105741076214120093531"),
                dec("8495653923123431417604973247489272438418190587263600148770280649306958101930"),
            ]
        );
        assert_eq!(decode_g2_affine(&e).unwrap(), g2);
        assert_eq!(decode_g2_bytes(&e.to_bytes()).unwrap(), g2);
    }

    #[test]
    fn infinity_encodes_as_zeros() {
        assert_eq!(encode_g1_affine(&G1Affine::zero()), G1Point::default());
        assert_eq!(encode_g2_affine(&G2Affine::zero()), G2Point::default());
        let p = (G1Projective::generator() * Fr::from(7u8)).into_affine();
        assert_eq!(
            decode_g1_bytes(&encode_g1_affine(&p).to_bytes()).unwrap(),
            p
        );
        let q = (G2Projective::generator() * Fr::from(7u8)).into_affine();
        assert_eq!(decode_g2_affine(&encode_g2_affine(&q)).unwrap(), q);
    }
}
