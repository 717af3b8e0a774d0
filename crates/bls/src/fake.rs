//! A fake, insecure signature scheme for fast tests of the layers above (like Lighthouse's
//! fake crypto): "points" are integers modulo the Mersenne prime 2^61 − 1, so signing,
//! aggregation and verification are a few multiplications, while keeping BLS's algebra
//! (linear aggregation, the γ-trick identity) so aggregation logic behaves the same.

use quorate_domain::{
    BatchItem, G1Point, G2Point, OperatorId, PointDecodingError, ResponseDigest, SignatureScheme,
    U256,
};
use sha3::{Digest, Keccak256};

const MODULUS: u64 = (1 << 61) - 1;

/// An element of the fake group (stands for a G1 or G2 point).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct FakePoint(pub u64);

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(MODULUS)) as u64
}

fn add(a: u64, b: u64) -> u64 {
    ((u128::from(a) + u128::from(b)) % u128::from(MODULUS)) as u64
}

fn scale(a: u64, k: i64) -> u64 {
    let m = mul(a, k.unsigned_abs() % MODULUS);
    if k < 0 {
        (MODULUS - m) % MODULUS
    } else {
        m
    }
}

fn reduce_bytes(bytes: &[u8]) -> u64 {
    let h = Keccak256::digest(bytes);
    let mut w = [0u8; 8];
    w.copy_from_slice(&h[..8]);
    // Never zero: zero plays the point at infinity.
    (u64::from_be_bytes(w) % (MODULUS - 1)) + 1
}

/// A fake key pair: the secret is also both public keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeKeyPair {
    secret: u64,
}

impl FakeKeyPair {
    /// A key pair from any non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self {
            secret: (seed % (MODULUS - 1)) + 1,
        }
    }

    /// The G1 public key.
    pub fn public_g1(&self) -> FakePoint {
        FakePoint(self.secret)
    }

    /// The G2 public key.
    pub fn public_g2(&self) -> FakePoint {
        FakePoint(self.secret)
    }

    /// Signs a digest.
    pub fn sign(&self, digest: &ResponseDigest) -> FakePoint {
        FakePoint(mul(self.secret, FakeScheme.hash_to_g1(digest).0))
    }

    /// The proof of possession of this key (see `quorate_domain::proof_of_possession_digest`).
    pub fn proof_of_possession(&self) -> FakePoint {
        self.sign(&quorate_domain::proof_of_possession_digest(
            &FakeScheme.encode_g1(&self.public_g1()),
        ))
    }
}

/// The fake scheme. Verification is exact for honest and dishonest signatures alike, so tests
/// of invalid-signature handling stay meaningful.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FakeScheme;

impl SignatureScheme for FakeScheme {
    type G1PublicKey = FakePoint;
    type G2PublicKey = FakePoint;
    type Signature = FakePoint;
    type MessagePoint = FakePoint;

    fn hash_to_g1(&self, digest: &ResponseDigest) -> FakePoint {
        FakePoint(reduce_bytes(digest.as_bytes()))
    }

    fn verify(&self, message: &FakePoint, signature: &FakePoint, key: &FakePoint) -> bool {
        signature.0 != 0 && mul(key.0, message.0) == signature.0
    }

    fn verify_same_digest(
        &self,
        message: &FakePoint,
        items: &[(&FakePoint, &FakePoint)],
    ) -> Vec<usize> {
        items
            .iter()
            .enumerate()
            .filter(|(_, (sig, key))| !self.verify(message, sig, key))
            .map(|(i, _)| i)
            .collect()
    }

    fn verify_batch(&self, items: &[BatchItem<'_, Self>]) -> Vec<usize> {
        items
            .iter()
            .enumerate()
            .filter(|(_, it)| !self.verify(it.message, it.signature, it.key))
            .map(|(i, _)| i)
            .collect()
    }

    fn aggregate_signatures(&self, items: &[(&FakePoint, u64)]) -> FakePoint {
        FakePoint(
            items
                .iter()
                .fold(0, |acc, (p, k)| add(acc, mul(p.0, k % MODULUS))),
        )
    }

    fn aggregate_g1(&self, items: &[(&FakePoint, i64)]) -> FakePoint {
        FakePoint(items.iter().fold(0, |acc, (p, k)| add(acc, scale(p.0, *k))))
    }

    fn aggregate_g2(&self, items: &[(&FakePoint, i64)]) -> FakePoint {
        self.aggregate_g1(items)
    }

    fn check_aggregate(
        &self,
        digest: &ResponseDigest,
        apk_g1: &FakePoint,
        apk_g2: &FakePoint,
        sigma: &FakePoint,
    ) -> bool {
        // The γ-trick pairing equation holds iff sigma = sk·H(m) and apk_g1, apk_g2 share sk.
        apk_g1 == apk_g2 && mul(apk_g2.0, self.hash_to_g1(digest).0) == sigma.0
    }

    fn operator_id(&self, key: &FakePoint) -> OperatorId {
        let h: [u8; 32] = Keccak256::digest(self.encode_g1(key).to_bytes()).into();
        OperatorId::from_key_hash(h)
    }

    fn encode_g1(&self, key: &FakePoint) -> G1Point {
        G1Point {
            x: U256::from(key.0),
            y: U256::from(u64::from(key.0 != 0)),
        }
    }

    fn encode_g2(&self, key: &FakePoint) -> G2Point {
        G2Point {
            x: [U256::ZERO, U256::from(key.0)],
            y: [U256::ZERO, U256::from(u64::from(key.0 != 0))],
        }
    }

    fn encode_signature(&self, signature: &FakePoint) -> G1Point {
        self.encode_g1(signature)
    }

    fn decode_g1(&self, point: &G1Point) -> Result<FakePoint, PointDecodingError> {
        decode(point.x, point.y, U256::ZERO, U256::ZERO)
    }

    fn decode_g2(&self, point: &G2Point) -> Result<FakePoint, PointDecodingError> {
        decode(point.x[1], point.y[1], point.x[0], point.y[0])
    }

    fn decode_signature(&self, point: &G1Point) -> Result<FakePoint, PointDecodingError> {
        self.decode_g1(point)
    }
}

fn decode(x: U256, y: U256, x_hi: U256, y_hi: U256) -> Result<FakePoint, PointDecodingError> {
    if x.is_zero() && y.is_zero() && x_hi.is_zero() && y_hi.is_zero() {
        return Err(PointDecodingError::Identity);
    }
    if x >= U256::from(MODULUS) {
        return Err(PointDecodingError::NonCanonical { coordinate: "x" });
    }
    if y != U256::from(1u8) || !x_hi.is_zero() || !y_hi.is_zero() || x.is_zero() {
        return Err(PointDecodingError::NotOnCurve);
    }
    Ok(FakePoint(x.to::<u64>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(b: u8) -> ResponseDigest {
        ResponseDigest::new([b; 32])
    }

    #[test]
    fn sign_verify_and_aggregate() {
        let s = FakeScheme;
        let (a, b) = (FakeKeyPair::new(3), FakeKeyPair::new(11));
        let m = s.hash_to_g1(&digest(1));
        let (sa, sb) = (a.sign(&digest(1)), b.sign(&digest(1)));
        assert!(s.verify(&m, &sa, &a.public_g2()));
        assert!(!s.verify(&m, &sa, &b.public_g2()));
        let sigma = s.aggregate_signatures(&[(&sa, 2), (&sb, 1)]);
        let apk2 = s.aggregate_g2(&[(&a.public_g2(), 2), (&b.public_g2(), 1)]);
        let apk1 = s.aggregate_g1(&[
            (&a.public_g1(), 3),
            (&b.public_g1(), 1),
            (&a.public_g1(), -1),
        ]);
        assert!(s.check_aggregate(&digest(1), &apk1, &apk2, &sigma));
        assert!(!s.check_aggregate(&digest(2), &apk1, &apk2, &sigma));
        let bad = FakePoint(sb.0 ^ 1);
        assert_eq!(
            s.verify_same_digest(&m, &[(&sa, &a.public_g2()), (&bad, &b.public_g2())]),
            vec![1]
        );
    }

    #[test]
    fn decoding_round_trips_and_rejects() {
        let s = FakeScheme;
        let k = FakeKeyPair::new(42).public_g1();
        assert_eq!(s.decode_g1(&s.encode_g1(&k)), Ok(k));
        assert_eq!(s.decode_g2(&s.encode_g2(&k)), Ok(k));
        assert_eq!(
            s.decode_g1(&G1Point::default()),
            Err(PointDecodingError::Identity)
        );
        let big = G1Point {
            x: U256::MAX,
            y: U256::from(1u8),
        };
        assert!(matches!(
            s.decode_g1(&big),
            Err(PointDecodingError::NonCanonical { .. })
        ));
    }
}
