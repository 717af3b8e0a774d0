//! The contract (ABI) forms of points, `BN254.G1Point {X, Y}` and `G2Point {X[2], Y[2]}` as
//! `uint256` words, through both `SignatureScheme` implementations and the JSON form: never
//! panics, decoded values round-trip, and the two schemes agree that identity is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorate_bls::fake::FakeScheme;
use quorate_bls::Bn254Scheme;
use quorate_domain::{G1Point, G2Point, PointDecodingError, SignatureScheme, U256};

fn word(data: &[u8], i: usize) -> U256 {
    let mut w = [0u8; 32];
    let start = (i * 32).min(data.len());
    let end = ((i + 1) * 32).min(data.len());
    w[..end - start].copy_from_slice(&data[start..end]);
    U256::from_be_bytes(w)
}

fn check<S: SignatureScheme>(s: &S, g1: &G1Point, g2: &G2Point) {
    match s.decode_g1(g1) {
        Ok(k) => {
            assert_eq!(&s.encode_g1(&k), g1);
            let _ = s.operator_id(&k);
        }
        Err(e) => {
            if g1.x.is_zero() && g1.y.is_zero() {
                assert_eq!(e, PointDecodingError::Identity);
            }
        }
    }
    if let Ok(sig) = s.decode_signature(g1) {
        assert_eq!(&s.encode_signature(&sig), g1);
    }
    match s.decode_g2(g2) {
        Ok(k) => assert_eq!(&s.encode_g2(&k), g2),
        Err(e) => {
            if g2.x.iter().chain(g2.y.iter()).all(|w| w.is_zero()) {
                assert_eq!(e, PointDecodingError::Identity);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        // JSON form (as configs and APIs carry points).
        if let Ok(p) = serde_json::from_slice::<G1Point>(data) {
            check(&Bn254Scheme, &p, &G2Point::default());
            let back: G1Point = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
            assert_eq!(back, p);
        }
        if let Ok(p) = serde_json::from_slice::<G2Point>(data) {
            check(&Bn254Scheme, &G1Point::default(), &p);
        }
        return;
    }
    // Words 0..2 a G1 point, words 2..6 a G2 point (short inputs zero-padded).
    let g1 = G1Point {
        x: word(data, 0),
        y: word(data, 1),
    };
    let g2 = G2Point {
        x: [word(data, 2), word(data, 3)],
        y: [word(data, 4), word(data, 5)],
    };
    assert_eq!(G1Point::from_bytes(&g1.to_bytes()), g1);
    assert_eq!(G2Point::from_bytes(&g2.to_bytes()), g2);
    check(&Bn254Scheme, &g1, &g2);
    check(&FakeScheme, &g1, &g2);
});
