//! Property: over random operator sets, stakes, thresholds and signer subsets, the tally's
//! threshold decision and aggregate equal a direct computation of the checker's rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::operator_set::OperatorSet;
use crate::tally::TaskTally;
use proptest::prelude::*;
use quorate_bls::fake::{FakeKeyPair, FakeScheme};
use quorate_domain::{
    OperatorInfo, OperatorState, QuorumNumber, QuorumState, QuorumThreshold, ResponseDigest,
    SignatureScheme, Stake, U256,
};

#[derive(Debug, Clone)]
struct Case {
    /// Per operator: per quorum, Some(stake) if registered.
    membership: Vec<Vec<Option<u64>>>,
    thresholds: Vec<u8>,
    signers: Vec<bool>,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..4, 1usize..14).prop_flat_map(|(q, n)| {
        (
            prop::collection::vec(prop::collection::vec(prop::option::of(0u64..1_000), q), n),
            prop::collection::vec(1u8..=100, q),
            prop::collection::vec(any::<bool>(), n),
        )
            .prop_map(|(membership, thresholds, signers)| Case {
                membership,
                thresholds,
                signers,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn threshold_decision_and_aggregate_match_direct_computation(c in case()) {
        let s = FakeScheme;
        let nq = c.thresholds.len();
        let quorums: Vec<QuorumNumber> = (0..nq as u8).map(QuorumNumber).collect();
        let keys: Vec<FakeKeyPair> = (0..c.membership.len()).map(|i| FakeKeyPair::new(77 + i as u64)).collect();
        let mut operators = BTreeMap::new();
        for (k, m) in keys.iter().zip(&c.membership) {
            let stakes = m.iter().enumerate()
                .filter_map(|(q, s)| s.map(|s| (QuorumNumber(q as u8), Stake::from(s))))
                .collect();
            let id = s.operator_id(&k.public_g1());
            operators.insert(id, OperatorInfo { id, pubkey_g1: k.public_g1(), pubkey_g2: k.public_g2(), stakes });
        }
        let totals: Vec<u64> = (0..nq).map(|q| c.membership.iter().filter_map(|m| m[q]).sum()).collect();
        let state = OperatorState {
            block: 1,
            quorums: quorums.iter().zip(&totals).map(|(q, t)| QuorumState {
                quorum: *q, total_stake: Stake::from(*t), apk: s.aggregate_g1(&[]),
            }).collect(),
            operators,
        };
        let set = Arc::new(OperatorSet::build(&s, &state, &quorums).unwrap());
        let thresholds = c.thresholds.iter().map(|t| QuorumThreshold::new(*t).unwrap()).collect();
        let mut tally = TaskTally::new(Arc::clone(&set), thresholds, 4);
        let digest = ResponseDigest::new([3; 32]);
        let mut expected_signed = vec![0u64; nq];
        let mut expected_sigma = Vec::new();
        let mut expected_non_signers = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let id = s.operator_id(&k.public_g1());
            let in_quorums = c.membership[i].iter().filter(|m| m.is_some()).count() as u64;
            let admitted = tally.position(&id);
            if in_quorums == 0 {
                prop_assert!(admitted.is_err());
                continue;
            }
            let pos = admitted.unwrap();
            if c.signers[i] {
                let d = tally.slot_for(&digest, || s.hash_to_g1(&digest)).unwrap();
                prop_assert!(tally.count(pos, d, k.sign(&digest), true));
                for (signed, stake) in expected_signed.iter_mut().zip(&c.membership[i]) { *signed += stake.unwrap_or(0); }
                expected_sigma.push((k.sign(&digest), in_quorums));
            } else {
                expected_non_signers.push(id);
            }
        }
        // A quorum with no stake is never met.
        let direct = (0..nq).all(|q| {
            totals[q] > 0 && U256::from(expected_signed[q]) * U256::from(100u8) >= U256::from(totals[q]) * U256::from(c.thresholds[q])
        });
        let any_signer = !expected_sigma.is_empty();
        if any_signer {
            prop_assert_eq!(tally.thresholds_met(0), direct);
            let parts = tally.aggregate(&s, 0).unwrap();
            expected_non_signers.sort();
            prop_assert_eq!(&parts.non_signer_ids, &expected_non_signers);
            prop_assert_eq!(parts.signed_stake, expected_signed.iter().map(|v| Stake::from(*v)).collect::<Vec<_>>());
            let refs: Vec<_> = expected_sigma.iter().map(|(sig, k)| (sig, *k)).collect();
            prop_assert_eq!(parts.signers_agg_sig_g1, s.encode_signature(&s.aggregate_signatures(&refs)));
        }
    }
}
