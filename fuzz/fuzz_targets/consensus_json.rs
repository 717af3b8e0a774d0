//! Consensus input: up to 8 JSON documents (split on 0xFF bytes) from distinct operators,
//! normalized under a tolerance and policy picked by the first byte. Never panics; the
//! outcome is deterministic and independent of the order responses arrive in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorate_consensus::{
    canonical_json_string, normalize, ConsensusConfig, Decimal, OperatorResponse, OutlierPolicy,
    Tolerance,
};
use quorate_domain::{OperatorId, Stake};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut responses = Vec::new();
    for (i, chunk) in rest.split(|b| *b == 0xff).take(8).enumerate() {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(chunk) else {
            return;
        };
        let _ = canonical_json_string(&doc);
        let id = OperatorId::new([i as u8 + 1; 32]).unwrap();
        let mut r = OperatorResponse::new(id, doc);
        if mode & 0x10 != 0 {
            r = r.with_stake(Stake::from(u64::from(mode) * (i as u64 + 1)));
        }
        responses.push(r);
    }
    let percent: Decimal = match mode & 3 {
        0 => "0",
        1 => "0.5",
        2 => "1",
        _ => "25",
    }
    .parse()
    .unwrap();
    let Ok(tolerance) = Tolerance::percent(percent) else {
        return;
    };
    let mut config = ConsensusConfig::new(tolerance);
    if mode & 4 != 0 {
        let fraction: Decimal = "0.5".parse().unwrap();
        let policy = if mode & 8 != 0 {
            OutlierPolicy::exclude_by_stake(fraction)
        } else {
            OutlierPolicy::exclude_by_responders(fraction)
        };
        config = config.with_policy(policy.unwrap());
    }
    let first = normalize(&responses, &config);
    let mut reversed = responses.clone();
    reversed.reverse();
    let second = normalize(&reversed, &config);
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                a.consensus_digest, b.consensus_digest,
                "digest depends on arrival order"
            );
            assert_eq!(a.full_digest, b.full_digest);
            assert_eq!(a.normalized, b.normalized);
        }
        (Err(_), Err(_)) => {}
        _ => panic!("outcome depends on arrival order: {first:?} vs {second:?}"),
    }
});
