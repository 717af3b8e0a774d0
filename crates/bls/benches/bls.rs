//! Quorate's BLS against eigensdk-rs 2.0 on the same inputs, in the same run.
//!
//! `cargo bench -p quorate-bls -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: a panic is a failure
#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use eigen_crypto_bls::BlsKeyPair;
use eigen_crypto_bn254::utils::{map_to_curve, verify_message};
use quorate_bls::{
    aggregate_g2, hash_to_g1, verify, verify_batch, verify_same_digest, KeyPair, MessagePoint,
    Signature,
};
use quorate_domain::{BatchItem, ResponseDigest};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

struct Fixture {
    keys: Vec<KeyPair>,
    digest: [u8; 32],
    message: MessagePoint,
    sigs: Vec<Signature>,
}

fn fixture(n: usize) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
    let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::random(&mut rng)).collect();
    let mut digest = [0u8; 32];
    rng.fill_bytes(&mut digest);
    let message = MessagePoint::hash(&digest);
    let sigs = keys.iter().map(|k| k.sign_hashed_point(&message)).collect();
    Fixture {
        keys,
        digest,
        message,
        sigs,
    }
}

fn eigen_pair(k: &KeyPair) -> BlsKeyPair {
    use ark_ff::{BigInteger, PrimeField};
    let s = k.secret().expose_scalar().into_bigint().to_bytes_le();
    BlsKeyPair::new(num_bigint::BigUint::from_bytes_le(&s).to_string()).unwrap()
}

fn hashing(c: &mut Criterion) {
    let f = fixture(1);
    let mut g = c.benchmark_group("hash_to_g1");
    g.bench_function("quorate", |b| b.iter(|| hash_to_g1(black_box(&f.digest))));
    g.bench_function("eigensdk map_to_curve", |b| {
        b.iter(|| map_to_curve(black_box(&f.digest)))
    });
    g.finish();
}

fn single(c: &mut Criterion) {
    let f = fixture(1);
    let (k, sig) = (&f.keys[0], &f.sigs[0]);
    let theirs = eigen_pair(k);
    let their_pk = theirs.public_key_g2().g2();
    let their_sig = theirs.sign_message(&f.digest).g1_point().g1();
    let mut g = c.benchmark_group("verify_single");
    g.bench_function("quorate verify (cached key)", |b| {
        b.iter(|| assert!(verify(black_box(&f.message), black_box(sig), k.public_g2())))
    });
    g.bench_function("quorate hash + verify (cached key)", |b| {
        b.iter(|| {
            let m = MessagePoint::hash(black_box(&f.digest));
            assert!(verify(&m, black_box(sig), k.public_g2()))
        })
    });
    g.bench_function("quorate verify (cold key)", |b| {
        // A fresh key object each time: its Miller-loop coefficients are not cached yet.
        b.iter_batched(
            || aggregate_g2(&[(k.public_g2(), 1)]),
            |key| assert!(verify(black_box(&f.message), black_box(sig), &key)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("eigensdk verify_message", |b| {
        b.iter(|| {
            assert!(verify_message(
                black_box(their_pk),
                black_box(&f.digest),
                their_sig
            ))
        })
    });
    g.finish();
}

/// The final exponentiation alone, arkworks' against Quorate's (a shorter chain for the
/// three powers of x), on the same Miller-loop outputs.
fn final_exponentiation(c: &mut Criterion) {
    use ark_ec::pairing::Pairing;
    use ark_ec::CurveGroup;
    use ark_ff::UniformRand;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let p = ark_bn254::G1Projective::rand(&mut rng).into_affine();
    let q = ark_bn254::G2Projective::rand(&mut rng).into_affine();
    let ml = ark_bn254::Bn254::multi_miller_loop([p], [q]);
    let mut g = c.benchmark_group("final_exponentiation");
    g.bench_function("arkworks", |b| {
        b.iter(|| ark_bn254::Bn254::final_exponentiation(black_box(ml)))
    });
    g.bench_function("quorate (x by addition chain)", |b| {
        b.iter(|| quorate_bls::final_exponentiation(black_box(ml)))
    });
    g.finish();
}

/// Filling an MSM's buckets: one projective mixed addition per point against affine additions
/// with shared inversions, on the entries of a fixed-base MSM of `keys` 64-bit coefficients
/// (about eleven per key, into 32 buckets).
fn msm_buckets(c: &mut Criterion) {
    use ark_ec::CurveGroup;
    use ark_ff::UniformRand;
    use rand::Rng;
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut g = c.benchmark_group("msm_buckets");
    for keys in [25usize, 100] {
        let entries: Vec<(usize, ark_bn254::G2Affine)> = (0..keys * 11)
            .map(|_| {
                let p = ark_bn254::G2Projective::rand(&mut rng).into_affine();
                (rng.gen_range(0..32), p)
            })
            .collect();
        g.bench_with_input(BenchmarkId::new("projective", keys), &entries, |b, e| {
            b.iter(|| quorate_bls::g2_projective_bucket_sums(black_box(e), 32))
        });
        g.bench_with_input(BenchmarkId::new("affine", keys), &entries, |b, e| {
            b.iter(|| quorate_bls::g2_bucket_sums(black_box(e), 32))
        });
    }
    g.finish();
}

fn same_digest(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify_same_digest");
    for n in [10usize, 100, 1000] {
        let f = fixture(n);
        let items: Vec<_> = f
            .sigs
            .iter()
            .zip(f.keys.iter().map(|k| k.public_g2()))
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        if n == 1000 {
            g.sample_size(10);
        }
        g.bench_with_input(BenchmarkId::from_parameter(n), &items, |b, items| {
            b.iter(|| assert!(verify_same_digest(black_box(&f.message), items).is_empty()))
        });
        // One invalid signature: the bisection's cost on top.
        if n == 100 {
            let mut bad = items.clone();
            bad[37].0 = &f.sigs[38];
            g.bench_with_input(BenchmarkId::new("one invalid", n), &bad, |b, items| {
                b.iter(|| assert_eq!(verify_same_digest(black_box(&f.message), items), vec![37]))
            });
        }
    }
    g.finish();
}

fn batch(c: &mut Criterion) {
    let n = 100;
    let f = fixture(n);
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    // One task in flight's worth of distinct digests (nothing to share), then many tasks in
    // flight: 1000 distinct digests signed by the same 100 operators, grouped by key.
    for (tasks, name) in [
        (1, "100 distinct digests"),
        (10, "1000 distinct digests, 100 operators"),
    ] {
        let digests: Vec<ResponseDigest> = (0..n * tasks)
            .map(|_| {
                let mut d = [0u8; 32];
                rng.fill_bytes(&mut d);
                ResponseDigest::new(d)
            })
            .collect();
        let messages: Vec<MessagePoint> = digests
            .iter()
            .map(|d| MessagePoint::hash(d.as_bytes()))
            .collect();
        let sigs: Vec<Signature> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| f.keys[i % n].sign_hashed_point(m))
            .collect();
        let items: Vec<BatchItem<'_, quorate_bls::Bn254Scheme>> = (0..n * tasks)
            .map(|i| BatchItem {
                digest: &digests[i],
                message: &messages[i],
                signature: &sigs[i],
                key: f.keys[i % n].public_g2(),
            })
            .collect();
        let mut g = c.benchmark_group("verify_batch");
        g.throughput(Throughput::Elements((n * tasks) as u64));
        g.sample_size(10);
        g.bench_function(name, |b| {
            b.iter(|| assert!(verify_batch(black_box(&items)).is_empty()))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = hashing, single, final_exponentiation, msm_buckets, same_digest, batch
}
criterion_main!(benches);
