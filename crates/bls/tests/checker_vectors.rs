//! `check_aggregate` / `check_aggregate_gamma` against known answers of the REAL on-chain
//! `BLSSignatureChecker.trySignatureAndApkVerification` (EigenLayer middleware v1.3.1 on the
//! local anvil devnet), γ included (read from the EVM's execution trace): an oracle that is not
//! the code under test.
//!
//! Regenerate the vectors (needs npm for anvil; about a minute):
//! `cargo run -p quorate-devnet -- record-checker-vectors`
//! (writes `crates/testkit/vectors/check_signatures.json`; see the README next to it).
//!
//! The schema is `quorate_testkit::vectors::schema`, included by path: the testkit depends on
//! this crate, so this crate's tests cannot depend on it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

#[allow(dead_code)]
#[path = "../../testkit/src/vectors/schema.rs"]
mod schema;

use ark_ff::{BigInteger, PrimeField};
use quorate_bls::{
    aggregate_g1, aggregate_g2, aggregate_signatures, check_aggregate, check_aggregate_gamma,
    G1PublicKey, G2PublicKey, Signature,
};
use quorate_domain::{G1Point, G2Point, ResponseDigest, U256};
use schema::{TryOutcome, Vector, VectorFile};

fn vectors() -> VectorFile {
    let file = schema::parse(include_str!("../../testkit/vectors/check_signatures.json")).unwrap();
    assert_eq!(file.format, schema::FORMAT);
    file
}

/// The contract encoding decoded; `(0, 0)` is the point at infinity, as the precompiles read it
/// (decoding refuses it, an aggregate may be it).
fn g1(p: &G1Point) -> Option<G1PublicKey> {
    if *p == G1Point::default() {
        return Some(aggregate_g1(&[]));
    }
    G1PublicKey::from_point(p).ok()
}

fn sig(p: &G1Point) -> Option<Signature> {
    if *p == G1Point::default() {
        return Some(aggregate_signatures(&[]));
    }
    Signature::from_point(p).ok()
}

fn g2(p: &G2Point) -> Option<G2PublicKey> {
    if *p == G2Point::default() {
        return Some(aggregate_g2(&[]));
    }
    G2PublicKey::from_point(p).ok()
}

struct Inputs {
    digest: ResponseDigest,
    apk: G1PublicKey,
    apk_g2: G2PublicKey,
    sigma: Signature,
}

/// The arguments of the vector's `trySignatureAndApkVerification`, if all decode.
fn inputs(v: &Vector) -> Option<Inputs> {
    Some(Inputs {
        digest: ResponseDigest(v.input.msg_hash),
        apk: g1(&v.try_verification.apk)?,
        apk_g2: g2(&v.input.params.apk_g2)?,
        sigma: sig(&v.input.params.sigma)?,
    })
}

fn gamma(i: &Inputs) -> U256 {
    let g = check_aggregate_gamma(&i.digest, &i.apk, &i.apk_g2, &i.sigma);
    U256::from_be_slice(&g.into_bigint().to_bytes_be())
}

#[test]
fn check_aggregate_agrees_with_try_signature_and_apk_verification() {
    let file = vectors();
    let (mut valid, mut invalid, mut undecodable) = (0, 0, 0);
    for v in &file.vectors {
        let decoded = inputs(v);
        match (&v.try_verification.outcome, &decoded) {
            (
                TryOutcome::Returned {
                    pairing_successful,
                    signature_is_valid,
                    gamma: chain_gamma,
                },
                Some(i),
            ) => {
                assert_eq!(gamma(i), *chain_gamma, "{}: γ", v.name);
                let chain = *pairing_successful && *signature_is_valid;
                assert_eq!(
                    check_aggregate(&i.digest, &i.apk, &i.apk_g2, &i.sigma),
                    chain,
                    "{}: check_aggregate vs the chain (pairing {pairing_successful}, valid {signature_is_valid})",
                    v.name
                );
                if chain {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
            // An input our decoding refuses (off the curve, outside the G2 subgroup) must be one
            // the chain could not pair either.
            (
                TryOutcome::Returned {
                    pairing_successful,
                    signature_is_valid,
                    ..
                },
                None,
            ) => {
                assert!(
                    !(*pairing_successful && *signature_is_valid),
                    "{}: the chain verified inputs our decoding refuses",
                    v.name
                );
                undecodable += 1;
            }
            (TryOutcome::Reverted(_), None) => undecodable += 1,
            (TryOutcome::Reverted(r), Some(_)) => {
                panic!(
                    "{}: the chain reverted ({}) on inputs that decode",
                    v.name, r.error
                )
            }
        }
    }
    assert!(valid >= 5, "only {valid} valid vectors");
    assert!(invalid >= 5, "only {invalid} invalid vectors");
    assert!(undecodable >= 1, "no vector with an undecodable input");
}

/// The γ that `checkSignatures` itself hashed (present when it reached the pairing) is the one
/// `check_aggregate_gamma` derives from the recorded apk.
#[test]
fn check_aggregate_gamma_matches_the_gamma_check_signatures_used() {
    let file = vectors();
    let mut compared = 0;
    for v in &file.vectors {
        let (Some(chain_gamma), Some(i)) = (v.check_signatures_gamma, inputs(v)) else {
            continue;
        };
        assert_eq!(gamma(&i), chain_gamma, "{}", v.name);
        compared += 1;
    }
    assert!(
        compared >= 10,
        "only {compared} vectors reached the pairing"
    );
}
