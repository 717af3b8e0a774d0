//! Raw byte decoding of G1 (64 bytes) and G2 (128 bytes) points, keys and signatures: never
//! panics, and whatever decodes re-encodes to the same bytes (canonical encodings only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorate_bls::{decode_g1_bytes, decode_g2_bytes, encode_g1_affine, encode_g2_affine};
use quorate_bls::{G1PublicKey, G2PublicKey, Signature};

fuzz_target!(|data: &[u8]| {
    // Any length: only exact sizes may decode.
    let g1 = decode_g1_bytes(data);
    let g2 = decode_g2_bytes(data);
    if data.len() != 64 {
        assert!(g1.is_err());
    }
    if data.len() != 128 {
        assert!(g2.is_err());
    }
    if let Ok(p) = g1 {
        assert_eq!(&encode_g1_affine(&p).to_bytes()[..], data);
        let key = G1PublicKey::from_bytes(data).unwrap();
        assert_eq!(&key.to_bytes()[..], data);
        let sig = Signature::from_bytes(data).unwrap();
        assert!(!sig.is_identity());
    }
    if let Ok(p) = g2 {
        assert_eq!(&encode_g2_affine(&p).to_bytes()[..], data);
        let key = G2PublicKey::from_bytes(data).unwrap();
        assert_eq!(&key.to_bytes()[..], data);
    }
    // Prefixes of the input at both sizes, so short inputs still reach the curve checks.
    if data.len() >= 64 {
        if let Ok(p) = decode_g1_bytes(&data[..64]) {
            assert_eq!(&encode_g1_affine(&p).to_bytes()[..], &data[..64]);
        }
    }
    if data.len() >= 128 {
        if let Ok(p) = decode_g2_bytes(&data[..128]) {
            assert_eq!(&encode_g2_affine(&p).to_bytes()[..], &data[..128]);
        }
    }
});
