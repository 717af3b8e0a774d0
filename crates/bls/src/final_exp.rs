//! BN254's final exponentiation, `f^((p¹² − 1)/r)`, with a shorter chain for its three powers
//! of the curve parameter.
//!
//! Every pairing check ends with one final exponentiation, about half of the check's time.
//! This one is arkworks' (`BnConfig::final_exponentiation`, arkworks 0.5): the easy part
//! `f^((p⁶ − 1)(p² + 1))`, then the hard part of Fuentes-Castañeda, Knapp and
//! Rodríguez-Henríquez ("Faster hashing to G2", 2011), three powers `f^(−x)` and a dozen
//! multiplications and Frobenius maps. arkworks raises to `x = 4 965 661 367 192 848 881` with
//! its signed-digit (NAF) form: 62 cyclotomic squarings and 23 multiplications. [`pow_x`] uses
//! an addition chain with the same 62 squarings and 17 multiplications, 18 fewer
//! multiplications (of about 80) per final exponentiation.
//!
//! Tested against arkworks' final exponentiation (the oracle) on random inputs; the inputs are
//! public (batch checks of signatures), so nothing here needs to run in constant time.

use ark_bn254::{Bn254, Fq12};
use ark_ec::pairing::{MillerLoopOutput, PairingOutput};
use ark_ff::{CyclotomicMultSubgroup, Field};

/// `f` squared `n` times in the cyclotomic subgroup.
fn square_times(mut f: Fq12, n: usize) -> Fq12 {
    for _ in 0..n {
        f.cyclotomic_square_in_place();
    }
    f
}

/// `f^x` for BN254's `x = 0x44e992b44a6909f1`, `f` in the cyclotomic subgroup. The chain, in
/// binary exponents (`«k`: k squarings):
///
/// ```text
/// _10 = 2·1, _100 = 2·_10, _1000 = 2·_100, _10000 = 2·_1000, _10001 = _10000 + 1,
/// _10011 = _10001 + _10, _10100 = _10011 + 1, _11001 = _10001 + _1000,
/// _100010 = 2·_10001, _100111 = _10011 + _10100, _101001 = _100111 + _10,
/// i27 = ((_100010 «6) + _100 + _11001) «7 + _11001,
/// i44 = ((i27 «8) + _101001 + _10) «6 + _10001,
/// i70 = (((i44 «8) + _101001) «6 + _101001) «10,
/// x   = ((i70 + _100111) «6) + _101001 + _1000.
/// ```
///
/// 62 squarings and 17 multiplications (`the_chain_is_x` checks the exponent).
pub(crate) fn pow_x(f: &Fq12) -> Fq12 {
    let f1 = *f;
    let f10 = f1.cyclotomic_square();
    let f100 = f10.cyclotomic_square();
    let f1000 = f100.cyclotomic_square();
    let f10000 = f1000.cyclotomic_square();
    let f10001 = f10000 * f1;
    let f10011 = f10001 * f10;
    let f10100 = f10011 * f1;
    let f11001 = f10001 * f1000;
    let f100010 = f10001.cyclotomic_square();
    let f100111 = f10011 * f10100;
    let f101001 = f100111 * f10;
    let i27 = square_times(square_times(f100010, 6) * f100 * f11001, 7) * f11001;
    let i44 = square_times(square_times(i27, 8) * f101001 * f10, 6) * f10001;
    let i70 = square_times(
        square_times(square_times(i44, 8) * f101001, 6) * f101001,
        10,
    );
    square_times(i70 * f100111, 6) * f101001 * f1000
}

/// `f^(−x)`: BN254's `x` is positive, and inversion in the cyclotomic subgroup is conjugation.
fn exp_by_neg_x(f: &Fq12) -> Fq12 {
    let mut y = pow_x(f);
    y.cyclotomic_inverse_in_place();
    y
}

/// `f^((p¹² − 1)/r)`, or `None` for `f = 0` (never a Miller loop's output), exactly as
/// arkworks' `Bn254::final_exponentiation`. Public (hidden) for the benchmark that compares the
/// two; not part of the API.
pub fn final_exponentiation(f: MillerLoopOutput<Bn254>) -> Option<PairingOutput<Bn254>> {
    let f = f.0;
    // Easy part: f^((p⁶ − 1)(p² + 1)) = (conj(f)·f⁻¹)^(p² + 1).
    let inverse = f.inverse()?;
    let mut conjugate = f;
    conjugate.cyclotomic_inverse_in_place();
    let p6 = conjugate * inverse;
    let mut r = p6;
    r.frobenius_map_in_place(2);
    r *= p6;
    // Hard part: r^(2x(6x² + 3x + 1)(p⁴ − p² + 1)/r), Fuentes-Castañeda et al.
    let y0 = exp_by_neg_x(&r);
    let y1 = y0.cyclotomic_square();
    let y2 = y1.cyclotomic_square();
    let mut y3 = y2 * y1;
    let y4 = exp_by_neg_x(&y3);
    let y5 = y4.cyclotomic_square();
    let mut y6 = exp_by_neg_x(&y5);
    y3.cyclotomic_inverse_in_place();
    y6.cyclotomic_inverse_in_place();
    let y7 = y6 * y4;
    let mut y8 = y7 * y3;
    let y9 = y8 * y1;
    let y10 = y8 * y4;
    let y11 = y10 * r;
    let mut y12 = y9;
    y12.frobenius_map_in_place(1);
    let y13 = y12 * y11;
    y8.frobenius_map_in_place(2);
    let y14 = y8 * y13;
    r.cyclotomic_inverse_in_place();
    let mut y15 = r * y9;
    y15.frobenius_map_in_place(3);
    Some(PairingOutput(y15 * y14))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Projective, G2Projective};
    use ark_ec::bn::BnConfig;
    use ark_ec::pairing::Pairing;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::{UniformRand, Zero};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn the_chain_is_x() {
        // The chain's exponent, computed on integers the way `pow_x` computes on Fq12.
        let shl = |v: u128, k: u32| v << k;
        let i27 = shl(shl(34, 6) + 4 + 25, 7) + 25;
        let i44 = shl(shl(i27, 8) + 41 + 2, 6) + 17;
        let i70 = shl(shl(shl(i44, 8) + 41, 6) + 41, 10);
        let x = shl(i70 + 39, 6) + 41 + 8;
        assert_eq!(x, u128::from(ark_bn254::Config::X[0]));
        assert_eq!(ark_bn254::Config::X.len(), 1);
        const { assert!(!ark_bn254::Config::X_IS_NEGATIVE) };
    }

    #[test]
    fn pow_x_is_arkworks_cyclotomic_power() {
        let mut rng = ChaCha20Rng::seed_from_u64(31);
        for _ in 0..8 {
            // A pairing output is in the cyclotomic subgroup, as the hard part's inputs are.
            let g = Bn254::pairing(G1Projective::rand(&mut rng), G2Projective::rand(&mut rng)).0;
            assert_eq!(pow_x(&g), g.cyclotomic_exp(ark_bn254::Config::X));
        }
    }

    #[test]
    fn agrees_with_arkworks_on_miller_loop_outputs_and_random_elements() {
        let mut rng = ChaCha20Rng::seed_from_u64(32);
        for _ in 0..8 {
            let p = G1Projective::rand(&mut rng).into_affine();
            let q = G2Projective::rand(&mut rng).into_affine();
            let ml = Bn254::multi_miller_loop([p, G1Projective::generator().into_affine()], [q, q]);
            assert_eq!(final_exponentiation(ml), Bn254::final_exponentiation(ml));
            let any = MillerLoopOutput(Fq12::rand(&mut rng));
            assert_eq!(final_exponentiation(any), Bn254::final_exponentiation(any));
        }
        let zero = MillerLoopOutput(Fq12::zero());
        assert_eq!(final_exponentiation(zero), None);
        assert_eq!(Bn254::final_exponentiation(zero), None);
    }
}
