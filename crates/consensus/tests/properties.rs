//! Property tests of the consensus: order independence, idempotence, median correctness,
//! strict failure reporting, exactness near 2^255, and digest sensitivity.

// Test code: a failed unwrap is a failed test (helpers are not `#[test]` fns).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use quorate_consensus::{
    digests, normalize, AttestationPaths, CanonicalJson, ConsensusConfig, ConsensusError, Decimal,
    FieldPath, Issue, OperatorResponse, OutlierPolicy, Tolerance,
};
use quorate_domain::{OperatorId, U256};
use serde_json::{json, Value};

fn op(i: usize) -> OperatorId {
    let mut b = [0u8; 32];
    b[0] = 0x80 ^ (i as u8).wrapping_mul(37); // ids not in index order
    b[31] = 1;
    OperatorId::new(b).unwrap()
}

fn config(percent: u32) -> ConsensusConfig {
    ConsensusConfig::new(Tolerance::percent(Decimal::from(u64::from(percent))).unwrap())
}

fn num(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// One operator's response to a price-like task, with small variations and occasional
/// structural differences.
fn response_doc() -> impl Strategy<Value = Value> {
    (
        990i64..=1010,
        0u32..100,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        "[a-c]{1}",
        950u32..1050,
    )
        .prop_map(|(int, cents, drop_field, other_src, att, bps)| {
            let mut doc = json!({
                "round": int,
                "quotes": [
                    {"sym": "ETH", "usd": num(&format!("3000.{cents:02}"))},
                    {"sym": "BTC", "usd": format!("6{bps:04}.5")}
                ],
                "src": if other_src { "other" } else { "main" },
                "attestation": att,
            });
            if drop_field {
                if let Some(m) = doc.as_object_mut() {
                    m.remove("round");
                }
            }
            doc
        })
}

fn responses_of(docs: Vec<Value>) -> Vec<OperatorResponse> {
    docs.into_iter()
        .enumerate()
        .map(|(i, d)| OperatorResponse::new(op(i), d))
        .collect()
}

fn policy() -> impl Strategy<Value = OutlierPolicy> {
    prop_oneof![
        Just(OutlierPolicy::Strict),
        (0u64..=100).prop_map(|p| OutlierPolicy::exclude_by_responders(
            Decimal::new(p.into(), 2).unwrap()
        )
        .unwrap()),
    ]
}

/// The expected median of integers, computed independently (i128, half away from zero).
fn int_median(mut v: Vec<i64>) -> i128 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        i128::from(v[n / 2])
    } else {
        let sum = i128::from(v[n / 2 - 1]) + i128::from(v[n / 2]);
        if sum % 2 == 0 {
            sum / 2
        } else if sum > 0 {
            sum / 2 + 1
        } else {
            sum / 2 - 1
        }
    }
}

/// A random JSON document without any `attestation` key.
fn any_doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "[0-9]{1,40}".prop_map(|s| num(s
            .trim_start_matches('0')
            .chars()
            .next()
            .map_or("0", |_| s.trim_start_matches('0')))),
        (any::<i32>(), 0u32..6)
            .prop_map(|(m, s)| num(&Decimal::new(m.into(), s).unwrap().to_plain_string())),
        "[a-z0-9.]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-e]{1,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON Pointers of the scalar leaves of a document.
fn scalar_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                scalar_pointers(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                scalar_pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// Changes a scalar so that its canonical form changes.
fn mutate(v: &mut Value) {
    *v = match v.take() {
        Value::Null => json!(0),
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) => {
            let d: Decimal = n.to_string().parse().unwrap();
            num(&d.add(&Decimal::from(1u64)).to_plain_string())
        }
        Value::String(s) => Value::String(format!("{s}x")),
        other => other,
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn permutation_of_responders_never_changes_the_result(
        docs in prop::collection::vec(response_doc(), 1..7),
        policy in policy(),
        tolerance in 0u32..3,
        seed in any::<u64>(),
    ) {
        let cfg = config(tolerance).with_policy(policy);
        let rs = responses_of(docs);
        let mut shuffled = rs.clone();
        // Deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(normalize(&rs, &cfg), normalize(&shuffled, &cfg));
    }

    #[test]
    fn normalizing_a_normalized_set_is_the_identity(
        docs in prop::collection::vec(response_doc(), 1..7),
        policy in policy(),
    ) {
        let cfg = config(2).with_policy(policy);
        if let Ok(first) = normalize(&responses_of(docs.clone()), &cfg) {
            let again: Vec<Value> = docs.iter().map(|_| first.normalized.clone()).collect();
            let second = normalize(&responses_of(again), &cfg).unwrap();
            prop_assert!(second.stats.fast_path);
            prop_assert_eq!(&second.normalized, &first.normalized);
            prop_assert_eq!(second.consensus_digest, first.consensus_digest);
            prop_assert_eq!(second.full_digest, first.full_digest);
            // Through the slow path as well (attestations differ per operator, data does not).
            let varied: Vec<Value> = (0..docs.len()).map(|i| {
                let mut d = first.normalized.clone();
                if let Some(m) = d.as_object_mut() { m.insert("attestation".into(), json!(i)); }
                d
            }).collect();
            let third = normalize(&responses_of(varied), &cfg).unwrap();
            prop_assert_eq!(third.consensus_digest, first.consensus_digest);
            prop_assert_eq!(third.stats.fields_normalized, 0);
        }
    }

    #[test]
    fn values_within_tolerance_reach_consensus_at_the_median(
        values in prop::collection::vec(1000i64..=1100, 1..9),
        strings in any::<bool>(),
    ) {
        // Every value is within 100 of the median, and the median is ≥ 1000: 10 % covers it.
        let docs: Vec<Value> = values.iter().map(|v| if strings {
            json!({"x": {"y": [v.to_string()]}})
        } else {
            json!({"x": {"y": [v]}})
        }).collect();
        let out = normalize(&responses_of(docs), &config(10)).unwrap();
        let want = int_median(values).to_string();
        let got = &out.normalized["x"]["y"][0];
        if strings {
            prop_assert_eq!(got, &json!(want));
        } else {
            prop_assert_eq!(got.to_string(), want);
        }
        prop_assert!(out.excluded.is_empty());
    }

    #[test]
    fn one_value_outside_fails_strict_naming_field_and_operator(
        values in prop::collection::vec(1000i64..=1010, 3..9),
        outlier in any::<prop::sample::Index>(),
        far in 2000i64..1_000_000,
    ) {
        let bad = outlier.index(values.len());
        let docs: Vec<Value> = values.iter().enumerate().map(|(i, v)| {
            json!({"feed": "ETH", "p": {"v": if i == bad { far } else { *v }}})
        }).collect();
        let err = normalize(&responses_of(docs), &config(5)).unwrap_err();
        let msg = err.to_string();
        let ConsensusError::NoConsensus { disagreements } = err else {
            return Err(TestCaseError::fail(format!("unexpected {msg}")));
        };
        prop_assert_eq!(disagreements.len(), 1);
        prop_assert_eq!(&disagreements[0].path, &FieldPath::root().key("p").key("v"));
        prop_assert_eq!(disagreements[0].operators.len(), 1);
        prop_assert_eq!(disagreements[0].operators[0].operator, op(bad));
        let is_out_of_tolerance = matches!(disagreements[0].operators[0].issue, Issue::OutOfTolerance { .. });
        prop_assert!(is_out_of_tolerance);
        prop_assert!(msg.contains("/p/v") && msg.contains(&op(bad).to_string()));
    }

    #[test]
    fn integers_near_2_pow_255_stay_exact(offsets in prop::collection::vec(0u64..1_000_000, 1..8)) {
        let base = U256::from(1u8) << 255;
        let values: Vec<U256> = offsets.iter().map(|o| base - U256::from(*o)).collect();
        let docs: Vec<Value> = values.iter().map(|v| json!({"n": num(&v.to_string()), "s": v.to_string()})).collect();
        let out = normalize(&responses_of(docs), &config(1)).unwrap();
        let mut sorted = values.clone();
        sorted.sort();
        let n = sorted.len();
        let want = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            let sum = sorted[n / 2 - 1] + sorted[n / 2]; // < 2^256
            (sum >> 1) + (sum & U256::from(1u8)) // positive: half away from zero rounds up
        };
        prop_assert_eq!(out.normalized["n"].to_string(), want.to_string());
        prop_assert_eq!(&out.normalized["s"], &json!(want.to_string()));
    }

    #[test]
    fn digests_are_deterministic_and_track_non_attestation_leaves(
        doc in any_doc(),
        att in any_doc(),
        pick in any::<prop::sample::Index>(),
    ) {
        let paths = AttestationPaths::default();
        let mut with_att = json!({"data": doc, "attestation": att});
        let a = digests(&with_att, &paths, &CanonicalJson).unwrap();
        prop_assert_eq!(a, digests(&with_att.clone(), &paths, &CanonicalJson).unwrap());

        // Changing an attestation leaf changes only the full digest.
        let mut att_leaves = Vec::new();
        scalar_pointers(&with_att["attestation"], "/attestation".into(), &mut att_leaves);
        if !att_leaves.is_empty() {
            let mut changed = with_att.clone();
            let p = &att_leaves[pick.index(att_leaves.len())];
            mutate(changed.pointer_mut(p).unwrap());
            let b = digests(&changed, &paths, &CanonicalJson).unwrap();
            prop_assert_eq!(a.consensus, b.consensus);
            prop_assert_ne!(a.full, b.full);
        }

        // Changing any other leaf changes both.
        let mut data_leaves = Vec::new();
        scalar_pointers(&with_att["data"], "/data".into(), &mut data_leaves);
        if !data_leaves.is_empty() {
            let p = data_leaves[pick.index(data_leaves.len())].clone();
            mutate(with_att.pointer_mut(&p).unwrap());
            let c = digests(&with_att, &paths, &CanonicalJson).unwrap();
            prop_assert_ne!(a.consensus, c.consensus);
            prop_assert_ne!(a.full, c.full);
        }
    }
}
