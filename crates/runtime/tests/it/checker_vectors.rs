//! `InMemorySubmitter::check` against known answers of the REAL on-chain
//! `BLSSignatureChecker.checkSignatures` (EigenLayer middleware v1.3.1 on the local anvil
//! devnet): an oracle that is not the code under test.
//!
//! Regenerate the vectors (needs npm for anvil; about a minute):
//! `cargo run -p quorate-devnet -- record-checker-vectors`
//! (writes `crates/testkit/vectors/check_signatures.json`; see the README next to it).
//!
//! Each vector's operator state (keys, stakes, totals, quorum apks at its reference block) is
//! rebuilt in an `InMemoryRegistry`; the checker must then accept exactly what the chain
//! accepted, with the same signed stake per quorum, and reject what it rejected (with the same
//! error name where both name it).

use std::collections::BTreeMap;
use std::sync::Arc;

use quorate_bls::Bn254Scheme;
use quorate_domain::{
    AggregatedResponse, CheckSignaturesIndices, OperatorRegistry, QuorumNumber, RegistryError,
    ResponseDigest, SignatureScheme, SubmissionRequest, TaskId,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_testkit::vectors::{self, CheckOutcome, RecordedState, Vector, VectorFile};

/// Revert names the in-memory checker also uses: when the chain reverted with one of these,
/// the in-memory error must name the same one.
const SHARED_ERRORS: [&str; 4] = [
    "InvalidBLSSignature",
    "NonSignerPubkeysNotSorted",
    "InvalidQuorumApkHash",
    "InputArrayLengthMismatch",
];

fn operators(scheme: &Bn254Scheme, st: &RecordedState) -> Vec<InMemoryOperator<Bn254Scheme>> {
    st.operators
        .iter()
        .map(|o| InMemoryOperator {
            pubkey_g1: scheme.decode_g1(&o.pubkey_g1).unwrap(),
            pubkey_g2: scheme.decode_g2(&o.pubkey_g2).unwrap(),
            stakes: o
                .stakes
                .iter()
                .map(|(q, s)| (QuorumNumber(*q), *s))
                .collect(),
            proof_of_possession: scheme.decode_signature(&o.proof_of_possession).unwrap(),
        })
        .collect()
}

/// Every recorded state, each set from its block on (the states are ascending).
fn registry(file: &VectorFile) -> Arc<InMemoryRegistry<Bn254Scheme>> {
    let scheme = Arc::new(Bn254Scheme);
    let registry = Arc::new(InMemoryRegistry::new(
        Arc::clone(&scheme),
        file.source.quorums,
    ));
    for st in &file.states {
        registry
            .set_operators(st.block, operators(&scheme, st))
            .unwrap();
    }
    registry
}

fn request(scheme: &Bn254Scheme, v: &Vector) -> SubmissionRequest {
    let i = &v.input;
    let p = &i.params;
    SubmissionRequest {
        aggregate: AggregatedResponse {
            task_id: TaskId::from(1u32),
            digest: ResponseDigest(i.msg_hash),
            reference_block: i.reference_block,
            quorum_numbers: i.quorum_numbers.iter().map(|&q| QuorumNumber(q)).collect(),
            // Bookkeeping only (the checker reads the pubkeys): ids of the decodable keys.
            signer_ids: Vec::new(),
            non_signer_ids: p
                .non_signer_pubkeys
                .iter()
                .filter_map(|k| scheme.decode_g1(k).ok())
                .map(|k| scheme.operator_id(&k))
                .collect(),
            non_signer_pubkeys_g1: p.non_signer_pubkeys.clone(),
            quorum_apks_g1: p.quorum_apks.clone(),
            signers_apk_g2: p.apk_g2,
            signers_agg_sig_g1: p.sigma,
            indices: CheckSignaturesIndices {
                non_signer_quorum_bitmap_indices: p.non_signer_quorum_bitmap_indices.clone(),
                quorum_apk_indices: p.quorum_apk_indices.clone(),
                total_stake_indices: p.total_stake_indices.clone(),
                non_signer_stake_indices: p.non_signer_stake_indices.clone(),
            },
            signed_stake: Vec::new(),
            total_stake: Vec::new(),
        },
        payload: Vec::new(),
    }
}

#[test]
fn the_vectors_hold_accepts_and_many_kinds_of_reject() {
    let file = vectors::check_signatures();
    let accepted = file
        .vectors
        .iter()
        .filter(|v| v.check_signatures.is_accepted())
        .count();
    let mut errors: Vec<&str> = file
        .vectors
        .iter()
        .filter_map(|v| match &v.check_signatures {
            CheckOutcome::Rejected(r) => Some(r.error.as_str()),
            CheckOutcome::Accepted { .. } => None,
        })
        .collect();
    let rejected = errors.len();
    errors.sort_unstable();
    errors.dedup();
    assert!(accepted >= 5, "only {accepted} accepted vectors");
    assert!(rejected >= 10, "only {rejected} rejected vectors");
    for name in SHARED_ERRORS {
        assert!(errors.contains(&name), "no vector rejected with {name}");
    }
    let mut names: Vec<&str> = file.vectors.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), file.vectors.len(), "vector names repeat");
    for v in &file.vectors {
        assert!(file.state(v.state_block).is_some(), "{}: no state", v.name);
    }
}

#[tokio::test]
async fn the_rebuilt_registry_reports_the_recorded_chain_state() {
    let file = vectors::check_signatures();
    let registry = registry(&file);
    let scheme = Bn254Scheme;
    let quorums: Vec<QuorumNumber> = (0..file.source.quorums).map(QuorumNumber).collect();
    for st in &file.states {
        let state = registry.operator_state(st.block, &quorums).await.unwrap();
        for q in &st.quorums {
            let ours = state.quorum(QuorumNumber(q.quorum)).unwrap();
            assert_eq!(
                ours.total_stake, q.total_stake,
                "block {} quorum {}",
                st.block, q.quorum
            );
            assert_eq!(
                scheme.encode_g1(&ours.apk),
                q.apk,
                "block {} quorum {}",
                st.block,
                q.quorum
            );
        }
        let ids: Vec<_> = st.operators.iter().map(|o| o.operator_id).collect();
        let ours: Vec<_> = state.operators.keys().map(|id| id.to_b256()).collect();
        assert_eq!(ours, ids, "block {}", st.block);
        for o in &st.operators {
            let info = state
                .operators
                .values()
                .find(|i| i.id.to_b256() == o.operator_id)
                .unwrap();
            let stakes: BTreeMap<u8, _> = info.stakes.iter().map(|(q, s)| (q.0, *s)).collect();
            assert_eq!(
                stakes, o.stakes,
                "block {} operator {}",
                st.block, o.address
            );
        }
    }
    // The chain's totalStakeForQuorum of every accepted vector is the recorded total.
    for v in &file.vectors {
        if let CheckOutcome::Accepted { total_stake, .. } = &v.check_signatures {
            let st = file.state(v.state_block).unwrap();
            let recorded: Vec<_> = v
                .input
                .quorum_numbers
                .iter()
                .map(|q| st.quorums[usize::from(*q)].total_stake)
                .collect();
            assert_eq!(total_stake, &recorded, "{}", v.name);
        }
    }
}

/// The rebuilt registry, answering `getCheckSignaturesIndices` as the chain did for one
/// vector (the in-memory registry's own indices are not the chain's).
struct RecordedIndices {
    inner: Arc<InMemoryRegistry<Bn254Scheme>>,
    indices: Option<CheckSignaturesIndices>,
}

#[async_trait::async_trait]
impl OperatorRegistry<Bn254Scheme> for RecordedIndices {
    async fn operator_state(
        &self,
        block: u64,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<quorate_domain::SchemeOperatorState<Bn254Scheme>>, RegistryError> {
        self.inner.operator_state(block, quorums).await
    }

    async fn check_signatures_indices(
        &self,
        _block: u64,
        _quorums: &[QuorumNumber],
        _non_signer_ids: &[quorate_domain::OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        self.indices
            .clone()
            .ok_or_else(|| RegistryError::InvalidData {
                reason: "getCheckSignaturesIndices reverted for this input".into(),
            })
    }
}

#[tokio::test]
async fn in_memory_check_agrees_with_the_on_chain_checker_on_every_vector() {
    let file = vectors::check_signatures();
    let scheme = Arc::new(Bn254Scheme);
    let rebuilt = registry(&file);
    let mut disagreements = Vec::new();
    for v in &file.vectors {
        let submitter = InMemorySubmitter::new(
            Arc::clone(&scheme),
            Arc::new(RecordedIndices {
                inner: Arc::clone(&rebuilt),
                indices: v.retriever_indices.clone(),
            }),
        );
        // `eth_call` at `latest`: the contract saw `block.number` = the recorded head.
        submitter.set_head(file.source.head_block);
        let ours = submitter.check(&request(&scheme, v)).await;
        let problem = match (&v.check_signatures, &ours) {
            (CheckOutcome::Accepted { signed_stake, .. }, Ok(signed)) => (signed != signed_stake)
                .then(|| format!("signed stake {signed:?}, chain {signed_stake:?}")),
            (CheckOutcome::Rejected(r), Err(e)) => SHARED_ERRORS
                .iter()
                .find(|name| r.error == **name && !e.contains(**name))
                .map(|name| format!("rejected with {e:?}, chain with {name}")),
            (CheckOutcome::Accepted { signed_stake, .. }, Err(e)) => Some(format!(
                "rejected ({e}), chain accepted with signed stake {signed_stake:?}"
            )),
            (CheckOutcome::Rejected(r), Ok(signed)) => Some(format!(
                "accepted with signed stake {signed:?}, chain reverted with {}",
                r.error
            )),
        };
        if let Some(p) = problem {
            disagreements.push(format!("  {}: {p}\n    ({})", v.name, v.description));
        }
    }
    assert!(
        disagreements.is_empty(),
        "InMemorySubmitter::check disagrees with the on-chain checkSignatures on {} of {} vectors:\n{}",
        disagreements.len(),
        file.vectors.len(),
        disagreements.join("\n")
    );
}
