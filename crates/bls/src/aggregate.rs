//! Aggregation: `Σ kᵢ·Pᵢ` with multiplicities, summed in projective form (mixed additions,
//! one inversion at the end), never affine + affine.

use ark_bn254::G1Projective;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};

use crate::points::{G1PublicKey, G2PublicKey, Signature};

/// `k·P` added to `acc`: a mixed addition for `k = 1`, a short double-and-add otherwise.
fn add_multiple<P: SWCurveConfig>(acc: &mut Projective<P>, point: &Affine<P>, k: u64) {
    match k {
        0 => {}
        1 => *acc += point,
        _ => *acc += point.mul_bigint([k]),
    }
}

fn signed_sum<'a, P: SWCurveConfig + 'a>(
    items: impl Iterator<Item = (&'a Affine<P>, i64)>,
) -> Affine<P> {
    let mut pos = Projective::<P>::default();
    let mut neg = Projective::<P>::default();
    for (p, k) in items {
        if k >= 0 {
            add_multiple(&mut pos, p, k.unsigned_abs());
        } else {
            add_multiple(&mut neg, p, k.unsigned_abs());
        }
    }
    (pos - neg).into_affine()
}

/// `Σ kᵢ·σᵢ`: the aggregate signature, each signer counted once per quorum it signs for.
pub fn aggregate_signatures(items: &[(&Signature, u64)]) -> Signature {
    let mut acc = G1Projective::default();
    for (s, k) in items {
        add_multiple(&mut acc, &s.0, *k);
    }
    Signature(acc.into_affine())
}

/// `Σ kᵢ·pkᵢ` in G1; negative multiplicities subtract (the checker's
/// `apk = Σ quorumApk − Σ nonSignerPk × popcount(...)`). May be the point at infinity.
pub fn aggregate_g1(items: &[(&G1PublicKey, i64)]) -> G1PublicKey {
    G1PublicKey(signed_sum(items.iter().map(|(p, k)| (&p.0, *k))))
}

/// `Σ kᵢ·pkᵢ` in G2 (the claimed `apkG2`); negative multiplicities subtract. Stays in the
/// subgroup by closure.
pub fn aggregate_g2(items: &[(&G2PublicKey, i64)]) -> G2PublicKey {
    // One key once (the whole set's apk when every operator signs): the key itself, which
    // keeps its cached Miller-loop coefficients for the check that follows.
    if let [(key, 1)] = items {
        return (*key).clone();
    }
    G2PublicKey::new_unchecked(signed_sum(items.iter().map(|(p, k)| (p.as_affine(), *k))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G2Projective};
    use ark_ec::PrimeGroup;

    #[test]
    fn multiplicities_and_subtraction() {
        let g = G1Projective::generator();
        let a = G1PublicKey((g * Fr::from(3u8)).into_affine());
        let b = G1PublicKey((g * Fr::from(5u8)).into_affine());
        // 2a + 3b − b − 0·a = 6 + 10 = 16
        let sum = aggregate_g1(&[(&a, 2), (&b, 3), (&b, -1), (&a, 0)]);
        assert_eq!(sum.0, (g * Fr::from(16u8)).into_affine());
        assert!(aggregate_g1(&[(&a, 1), (&a, -1)]).is_identity());
        assert!(aggregate_g1(&[]).is_identity());
        let big = aggregate_g1(&[(&a, i64::MIN), (&a, i64::MAX)]);
        assert_eq!(big.0, (-g * Fr::from(3u8)).into_affine());
        let h = G2Projective::generator();
        let c = G2PublicKey::new_unchecked((h * Fr::from(7u8)).into_affine());
        assert_eq!(
            aggregate_g2(&[(&c, 3), (&c, 1)]).as_affine(),
            &(h * Fr::from(28u8)).into_affine()
        );
        let s = Signature(a.0);
        assert_eq!(
            aggregate_signatures(&[(&s, u64::MAX), (&s, 1)]).0,
            (g * (Fr::from(u64::MAX) + Fr::from(1u8)) * Fr::from(3u8)).into_affine()
        );
    }
}
