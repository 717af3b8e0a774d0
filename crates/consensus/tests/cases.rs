//! Hand-written consensus cases: nesting, arrays, numeric strings, zero medians, even counts,
//! structural mismatches, policies, the fast path and input errors.

// Test code: a failed unwrap is a failed test (helpers are not `#[test]` fns).
#![allow(clippy::unwrap_used)]

use quorate_consensus::{
    normalize, normalize_with_codec, AbiCodec, AbiField, AbiType, AttestationPaths, CodecError,
    ConsensusConfig, ConsensusError, Decimal, FieldPath, Issue, OperatorResponse, OutlierPolicy,
    Tolerance,
};
use quorate_domain::{OperatorId, Stake};
use serde_json::{json, Value};

fn op(i: u8) -> OperatorId {
    OperatorId::new([i; 32]).unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn doc(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn responses(docs: &[&str]) -> Vec<OperatorResponse> {
    docs.iter()
        .enumerate()
        .map(|(i, t)| OperatorResponse::new(op(i as u8 + 1), doc(t)))
        .collect()
}

fn config(percent: &str) -> ConsensusConfig {
    ConsensusConfig::new(Tolerance::percent(d(percent)).unwrap())
}

fn exclude(percent: &str, fraction: &str) -> ConsensusConfig {
    config(percent).with_policy(OutlierPolicy::exclude_by_responders(d(fraction)).unwrap())
}

fn path(p: &[&str]) -> FieldPath {
    let mut out = FieldPath::root();
    for s in p {
        out = match s.parse::<usize>() {
            Ok(i) => out.index(i),
            Err(_) => out.key(s),
        };
    }
    out
}

#[test]
fn nested_objects_and_arrays_keep_their_types() {
    let rs = responses(&[
        r#"{"prices": [{"sym": "ETH", "usd": 3000.5}, {"sym": "BTC", "usd": "65000.10"}], "round": 42}"#,
        r#"{"prices": [{"sym": "ETH", "usd": 3001.25}, {"sym": "BTC", "usd": "65010.1"}], "round": 42}"#,
        r#"{"prices": [{"sym": "ETH", "usd": 2999}, {"sym": "BTC", "usd": "64990.00"}], "round": 43}"#,
    ]);
    let out = normalize(&rs, &config("5")).unwrap();
    // ETH: median 3000.5 at the field's scale (2); BTC: numeric string, median 65000.10;
    // round: an integer stays an integer.
    assert_eq!(
        out.normalized.to_string(),
        r#"{"prices":[{"sym":"ETH","usd":3000.50},{"sym":"BTC","usd":"65000.10"}],"round":42}"#
    );
    assert!(!out.stats.fast_path);
    assert_eq!(out.stats.numeric_fields, 3);
    assert_eq!(out.stats.fields_normalized, 3);
    let eth = out
        .adjustments
        .iter()
        .find(|a| a.path == path(&["prices", "0", "usd"]))
        .unwrap();
    assert_eq!(eth.normalized, "3000.50");
    assert_eq!(eth.changed.len(), 3); // "3000.5" is re-written as "3000.50" too
    let round = out
        .adjustments
        .iter()
        .find(|a| a.path == path(&["round"]))
        .unwrap();
    assert_eq!(round.changed.len(), 1);
    assert_eq!(round.changed[0].operator, op(3));
    assert_eq!(round.changed[0].value, "43");
    assert_eq!(out.agreeing, vec![op(1), op(2), op(3)]);
    assert!(out.excluded.is_empty());
}

#[test]
fn numeric_strings_stay_strings() {
    let rs = responses(&[
        r#"{"rate": "100"}"#,
        r#"{"rate": "103"}"#,
        r#"{"rate": "101"}"#,
    ]);
    let out = normalize(&rs, &config("5")).unwrap();
    assert_eq!(out.normalized, json!({"rate": "101"}));
}

#[test]
fn even_counts_round_half_away_from_zero() {
    let cases = [
        (["100", "101"], "101"),
        (["-100", "-101"], "-101"),
        (["1.25", "1.26"], "1.26"),
        (["1.2", "1.25"], "1.23"),
        (["-1.2", "-1.25"], "-1.23"),
        (["7", "9"], "8"),
    ];
    for (vals, want) in cases {
        let docs: Vec<String> = vals.iter().map(|v| format!(r#"{{"x": {v}}}"#)).collect();
        let rs = responses(&docs.iter().map(String::as_str).collect::<Vec<_>>());
        let out = normalize(&rs, &config("30")).unwrap();
        assert_eq!(out.normalized["x"].to_string(), want, "{vals:?}");
    }
}

#[test]
fn zero_median_uses_the_absolute_tolerance() {
    let rs = responses(&[r#"{"x": 0}"#, r#"{"x": 0}"#, r#"{"x": 0.001}"#]);
    let strict = normalize(&rs, &config("50")).unwrap_err();
    let ConsensusError::NoConsensus { disagreements } = strict else {
        panic!("{strict}")
    };
    assert_eq!(disagreements.len(), 1);
    assert_eq!(disagreements[0].path, path(&["x"]));
    assert_eq!(disagreements[0].operators[0].operator, op(3));
    let mut cfg = config("50");
    cfg.tolerance = cfg.tolerance.with_absolute(d("0.01")).unwrap();
    let out = normalize(&rs, &cfg).unwrap();
    // Field scale is 3 (from 0.001); 0 and 0 stay integers in value but the field is decimal.
    assert_eq!(out.normalized["x"].to_string(), "0.000");
}

#[test]
fn strict_names_field_and_operator_of_every_failure() {
    let rs = responses(&[
        r#"{"p": 100, "src": "a", "extra": {"q": 1}}"#,
        r#"{"p": 101, "src": "a", "extra": {"q": 1}}"#,
        r#"{"p": 150, "src": "b"}"#,
    ]);
    let err = normalize(&rs, &config("5")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/p") && msg.contains("/src") && msg.contains("/extra/q"),
        "{msg}"
    );
    assert!(msg.contains(&op(3).to_string()), "{msg}");
    let ConsensusError::NoConsensus { disagreements } = err else {
        panic!()
    };
    let fields: Vec<String> = disagreements.iter().map(|x| x.path.to_string()).collect();
    assert_eq!(fields, ["/extra/q", "/p", "/src"]);
    for x in &disagreements {
        assert_eq!(x.operators.len(), 1);
        assert_eq!(x.operators[0].operator, op(3));
    }
    assert_eq!(disagreements[0].operators[0].issue, Issue::Missing);
    assert_eq!(
        disagreements[1].operators[0].issue,
        Issue::OutOfTolerance {
            value: d("150"),
            median: d("101")
        }
    );
    assert!(
        matches!(&disagreements[2].operators[0].issue, Issue::Differs { found, expected } if found == "\"b\"" && expected == "\"a\"")
    );
}

#[test]
fn strict_reports_numeric_outliers_even_when_nobody_is_structurally_sound() {
    let rs = responses(&[
        r#"{"x": 0, "s": "a"}"#,
        r#"{"x": 0.002, "s": "b"}"#,
        r#"{"x": -0.001, "s": "c"}"#,
    ]);
    let err = normalize(&rs, &config("1")).unwrap_err();
    let ConsensusError::NoConsensus { disagreements } = err else {
        panic!("{err}")
    };
    let fields: Vec<String> = disagreements.iter().map(|x| x.path.to_string()).collect();
    assert_eq!(fields, ["/s", "/x"]);
    let ops: Vec<OperatorId> = disagreements[1]
        .operators
        .iter()
        .map(|o| o.operator)
        .collect();
    assert_eq!(ops, [op(2), op(3)]);
}

#[test]
fn exclude_outliers_drops_and_reports() {
    let rs = responses(&[
        r#"{"p": 100, "src": "a"}"#,
        r#"{"p": 102, "src": "a"}"#,
        r#"{"p": 101, "src": "a"}"#,
        r#"{"p": 500, "src": "a"}"#,
        r#"{"p": 101, "src": "a", "new": true}"#,
    ]);
    let out = normalize(&rs, &exclude("5", "0.6")).unwrap();
    assert_eq!(out.agreeing, vec![op(1), op(2), op(3)]);
    assert_eq!(out.excluded.len(), 2);
    assert_eq!(out.excluded[0].operator, op(4));
    assert!(matches!(
        out.excluded[0].issues[0].issue,
        Issue::OutOfTolerance { .. }
    ));
    assert_eq!(out.excluded[1].operator, op(5));
    assert_eq!(out.excluded[1].issues[0].issue, Issue::Unexpected);
    assert_eq!(out.excluded[1].issues[0].path, path(&["new"]));
    // The median is over every structurally sound response, outliers included: 100,101,102,500.
    assert_eq!(out.normalized, json!({"p": 102, "src": "a"}));
    assert_eq!(out.stats.excluded, 2);

    let err = normalize(&rs, &exclude("5", "0.61")).unwrap_err();
    let ConsensusError::BelowMinimum(shortfall) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (
            shortfall.agreeing,
            shortfall.responders,
            shortfall.excluded.len()
        ),
        (3, 5, 2)
    );
    assert!(err.to_string().contains("/new"), "{err}");
}

#[test]
fn number_versus_string_is_a_mismatch_and_ties_have_no_majority() {
    let rs = responses(&[r#"{"p": 100}"#, r#"{"p": "100"}"#, r#"{"p": 100}"#]);
    let out = normalize(&rs, &exclude("1", "0.5")).unwrap();
    assert_eq!(out.excluded[0].operator, op(2));
    assert!(
        matches!(&out.excluded[0].issues[0].issue, Issue::Differs { found, .. } if found == "a numeric string")
    );

    let rs = responses(&[r#"{"s": "a"}"#, r#"{"s": "b"}"#]);
    let err = normalize(&rs, &exclude("1", "0")).unwrap_err();
    let ConsensusError::BelowMinimum(shortfall) = err else {
        panic!()
    };
    assert!(shortfall
        .excluded
        .iter()
        .all(|e| matches!(e.issues[0].issue, Issue::NoMajority { .. })));
}

#[test]
fn stake_weighs_majorities_and_the_minimum() {
    let rs = vec![
        OperatorResponse::new(op(1), json!({"p": 100, "v": "x"})).with_stake(Stake::from(10u64)),
        OperatorResponse::new(op(2), json!({"p": 100, "v": "y"})).with_stake(Stake::from(10u64)),
        OperatorResponse::new(op(3), json!({"p": 101, "v": "y"})).with_stake(Stake::from(1000u64)),
    ];
    let cfg = config("5").with_policy(OutlierPolicy::exclude_by_stake(d("0.9")).unwrap());
    let out = normalize(&rs, &cfg).unwrap();
    // By stake "y" wins even though by count it is also 2:1; operator 1 is out.
    assert_eq!(out.agreeing, vec![op(2), op(3)]);
    assert_eq!(out.normalized, json!({"p": 101, "v": "y"}));
    let cfg = config("5").with_policy(OutlierPolicy::exclude_by_stake(d("0.995")).unwrap());
    assert!(matches!(
        normalize(&rs, &cfg),
        Err(ConsensusError::BelowMinimum(_))
    ));
    let mut no_stake = rs.clone();
    no_stake[1].stake = None;
    assert_eq!(
        normalize(&no_stake, &cfg).unwrap_err(),
        ConsensusError::MissingStake { operator: op(2) }
    );
}

#[test]
fn fast_path_and_attestations() {
    let rs = responses(&[
        r#"{"p": 1.50, "attestation": "s1"}"#,
        r#"{"p": 1.50, "attestation": "s1"}"#,
    ]);
    let out = normalize(&rs, &config("0")).unwrap();
    assert!(out.stats.fast_path);
    assert_eq!(out.stats.numeric_fields, 0);
    assert_eq!(
        out.normalized.to_string(),
        r#"{"p":1.50,"attestation":"s1"}"#
    );

    // Different attestations are not compared; the reference (lowest id) operator's is kept.
    let rs = responses(&[
        r#"{"p": 2, "attestation": "s1"}"#,
        r#"{"p": 1, "attestation": {"sig": "s2"}}"#,
        r#"{"p": 3}"#,
    ]);
    let out = normalize(&rs, &config("50")).unwrap();
    assert!(!out.stats.fast_path);
    assert_eq!(out.reference_operator, op(1));
    assert_eq!(out.normalized, json!({"p": 2, "attestation": "s1"}));
    let bare = normalize(&responses(&[r#"{"p": 2}"#]), &config("0")).unwrap();
    assert_eq!(out.consensus_digest, bare.consensus_digest);
    assert_ne!(out.full_digest, bare.full_digest);
    assert_eq!(bare.consensus_digest, bare.full_digest);

    // With no attestation paths they are ordinary fields.
    let cfg = config("50").with_attestations(AttestationPaths::none());
    assert!(matches!(
        normalize(&rs, &cfg),
        Err(ConsensusError::NoConsensus { .. })
    ));
}

#[test]
fn input_errors_are_typed() {
    assert_eq!(
        normalize(&[], &config("1")).unwrap_err(),
        ConsensusError::NoResponses
    );
    let mut rs = responses(&[r#"{"p": 1}"#, r#"{"p": 2}"#]);
    rs[1].operator = op(1);
    assert_eq!(
        normalize(&rs, &config("1")).unwrap_err(),
        ConsensusError::DuplicateOperator { operator: op(1) }
    );
    let rs = responses(&[r#"{"p": 1e400}"#, r#"{"p": 2}"#]);
    let err = normalize(&rs, &config("1")).unwrap_err();
    assert!(
        matches!(&err, ConsensusError::InvalidDocument { operator, source: CodecError::Number { path: p, .. } } if *operator == op(1) && p.to_string() == "/p"),
        "{err}"
    );
    assert!(Tolerance::percent(d("-1")).is_err());
    assert!(OutlierPolicy::exclude_by_responders(d("1.5")).is_err());
    let mut cfg = config("1");
    cfg.policy = OutlierPolicy::ExcludeOutliers {
        min_agreeing: quorate_consensus::MinAgreeing::Responders(d("-0.1")),
    };
    assert!(matches!(
        normalize(&responses(&[r#"{}"#]), &cfg),
        Err(ConsensusError::InvalidConfig { .. })
    ));
}

#[test]
fn integers_near_2_pow_255_stay_exact() {
    let base = "57896044618658097711785492504343953926634992332820282019728792003956564819968"; // 2^255
    let vals = [
        "57896044618658097711785492504343953926634992332820282019728792003956564819967",
        "57896044618658097711785492504343953926634992332820282019728792003956564819968",
        "57896044618658097711785492504343953926634992332820282019728792003956564819970",
    ];
    let docs: Vec<String> = vals
        .iter()
        .map(|v| format!(r#"{{"n": {v}, "s": "{v}"}}"#))
        .collect();
    let out = normalize(
        &responses(&docs.iter().map(String::as_str).collect::<Vec<_>>()),
        &config("0.0001"),
    )
    .unwrap();
    assert_eq!(out.normalized["n"].to_string(), base);
    assert_eq!(out.normalized["s"], json!(base));
    // Even count: (2^255 - 1 + 2^255 + 2) / 2 = 2^255 + 0.5 → 2^255 + 1.
    let docs: Vec<String> = [vals[0], vals[2]]
        .iter()
        .map(|v| format!(r#"{{"n": {v}}}"#))
        .collect();
    let out = normalize(
        &responses(&docs.iter().map(String::as_str).collect::<Vec<_>>()),
        &config("0.0001"),
    )
    .unwrap();
    assert_eq!(
        out.normalized["n"].to_string(),
        "57896044618658097711785492504343953926634992332820282019728792003956564819969"
    );
}

#[test]
fn abi_codec_digests_the_normalized_fields() {
    let codec = AbiCodec::new(vec![
        AbiField::required("price", AbiType::Uint256 { decimals: 8 }),
        AbiField::required("feed", AbiType::String),
        AbiField::optional("attestation", AbiType::Bytes32),
    ]);
    let att = format!("0x{}", "11".repeat(32));
    let rs = vec![
        OperatorResponse::new(
            op(1),
            json!({"price": "3000.12", "feed": "ETH/USD", "attestation": att}),
        ),
        OperatorResponse::new(op(2), json!({"price": "3000.14", "feed": "ETH/USD"})),
        OperatorResponse::new(op(3), json!({"price": "3000.13", "feed": "ETH/USD"})),
    ];
    let out = normalize_with_codec(&rs, &config("1"), &codec).unwrap();
    assert_eq!(out.codec, "abi");
    assert_eq!(out.normalized["price"], json!("3000.13"));
    let mut words = Vec::new();
    words.extend_from_slice(&{
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&300_013_000_000u64.to_be_bytes());
        w
    });
    words.extend_from_slice(&{
        let mut w = [0u8; 32];
        w[31] = 64;
        w
    });
    words.extend_from_slice(&{
        let mut w = [0u8; 32];
        w[31] = 7;
        w
    });
    let mut s = [0u8; 32];
    s[..7].copy_from_slice(b"ETH/USD");
    words.extend_from_slice(&s);
    assert_eq!(
        out.consensus_digest.as_bytes(),
        &quorate_consensus::keccak256(&words)
    );
    assert_ne!(out.consensus_digest, out.full_digest);
    // A document the layout cannot hold is refused, not silently truncated.
    let bad = responses(&[r#"{"price": "1.123456789", "feed": "x"}"#]);
    assert!(matches!(
        normalize_with_codec(&bad, &config("1"), &codec),
        Err(ConsensusError::Encode(_))
    ));
}
