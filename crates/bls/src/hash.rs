//! Solidity `BN254.hashToG1`, bit for bit.

use ark_bn254::{Fq, G1Affine};
use ark_ff::{Field, PrimeField};

/// `(p + 1) / 4` for the BN254 base field, little-endian 64-bit limbs; the exponent
/// `BN254.findYFromX` uses (`0x0c19139c…61f3f52`).
const SQRT_EXPONENT: [u64; 4] = [
    0x4f08_2305_b61f_3f52,
    0x65e0_5aa4_5a1c_72a3,
    0x6e14_116d_a060_5617,
    0x0c19_139c_b84c_680a,
];

/// Hashes a 32-byte digest to G1 exactly as Solidity `BN254.hashToG1` does:
/// `x = uint256(digest) mod p`; loop { `β = x³ + 3`; `y = β^((p+1)/4)`; if `y² = β` return
/// `(x, y)`, else `x += 1` }.
///
/// The returned `y` is that specific root (not a "normalised" one), as on chain. This is not the
/// RFC 9380 hash-to-curve and there is no SHA-256 step. Not constant time (nothing secret goes in).
pub fn hash_to_g1(digest: &[u8; 32]) -> G1Affine {
    let three = Fq::from(3u8);
    let mut x = Fq::from_be_bytes_mod_order(digest);
    loop {
        let beta = x.square() * x + three;
        let y = beta.pow(SQRT_EXPONENT);
        if y.square() == beta {
            // (x, y) satisfies y² = x³ + 3 by construction: on the curve, and G1 has cofactor 1.
            return G1Affine::new_unchecked(x, y);
        }
        x += Fq::ONE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::BigInteger;
    use num_bigint::BigUint;

    #[test]
    fn exponent_is_p_plus_one_over_four() {
        let p = BigUint::from_bytes_le(&Fq::MODULUS.to_bytes_le());
        let e: BigUint = (p + 1u8) >> 2;
        let limbs: Vec<u64> = e.to_u64_digits();
        assert_eq!(limbs, SQRT_EXPONENT.to_vec());
    }

    #[test]
    fn outputs_are_on_curve() {
        for b in 0u8..20 {
            let p = hash_to_g1(&[b; 32]);
            assert!(p.is_on_curve());
        }
        // Digests above p reduce mod p first.
        assert_eq!(hash_to_g1(&[0xff; 32]), {
            let x = Fq::from_be_bytes_mod_order(&[0xff; 32]);
            hash_to_g1(&x.into_bigint().to_bytes_be().try_into().unwrap())
        });
    }
}
