//! Locating one invalid signature: the single-invalid locator against plain bisection, in the
//! same run, on one digest (the measurement behind `LOCATE_MIN_ITEMS`).
//!
//! `cargo bench -p quorate-bls --bench locate -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: a panic is a failure
#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use std::hint::black_box;
use std::time::Duration;

use ark_bn254::G1Projective;
use ark_ec::{CurveGroup, PrimeGroup};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use quorate_bls::{verify_same_digest_locating_from, KeyPair, MessagePoint, Signature};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// `n` keys and their signatures of one digest, those at `bad` made invalid (σ + G).
fn signed(
    rng: &mut ChaCha20Rng,
    n: usize,
    bad: &[usize],
) -> (Vec<KeyPair>, MessagePoint, Vec<Signature>) {
    let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::random(rng)).collect();
    let m = MessagePoint::hash(&[9; 32]);
    let sigs = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let s = k.sign_hashed_point(&m);
            if bad.contains(&i) {
                let p = G1Projective::from(*s.as_affine()) + G1Projective::generator();
                Signature::from_affine(p.into_affine()).unwrap()
            } else {
                s
            }
        })
        .collect();
    (keys, m, sigs)
}

fn one_invalid(c: &mut Criterion) {
    let mut g = c.benchmark_group("locate_one_invalid");
    for n in [4usize, 8, 32, 128] {
        let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
        let bad = n / 2 + 1;
        let (keys, m, sigs) = signed(&mut rng, n, &[bad]);
        let items: Vec<_> = sigs
            .iter()
            .zip(keys.iter().map(|k| k.public_g2()))
            .collect();
        for (name, locate_min) in [("bisection", usize::MAX), ("locator", 2)] {
            g.bench_with_input(BenchmarkId::new(name, n), &items, |b, items| {
                b.iter(|| {
                    let found = verify_same_digest_locating_from(
                        &mut rng,
                        &m,
                        black_box(items),
                        locate_min,
                    );
                    assert_eq!(found, vec![bad]);
                })
            });
        }
    }
    g.finish();
}

/// Five invalid signatures at fixed, spread positions among 100 of one digest (the benchmark's
/// "5 % invalid at random" task): the search as the runtime runs it.
fn five_invalid(c: &mut Criterion) {
    let mut g = c.benchmark_group("locate_five_invalid");
    let n = 100;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let bad = [3usize, 27, 28, 61, 90];
    let (keys, m, sigs) = signed(&mut rng, n, &bad);
    let items: Vec<_> = sigs
        .iter()
        .zip(keys.iter().map(|k| k.public_g2()))
        .collect();
    for (name, locate_min) in [("bisection", usize::MAX), ("locator", 8)] {
        g.bench_with_input(BenchmarkId::new(name, n), &items, |b, items| {
            b.iter(|| {
                let found =
                    verify_same_digest_locating_from(&mut rng, &m, black_box(items), locate_min);
                assert_eq!(found, bad.to_vec());
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = one_invalid, five_invalid
}
criterion_main!(benches);
