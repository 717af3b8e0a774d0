//! Building honest `checkSignatures` arguments from a recorded state: the chosen signers sign
//! the message (each once per quorum it is in), every other member of the quorums is a
//! non-signer, and the indices come from the on-chain `getCheckSignaturesIndices`. Also holds the
//! small helpers over a recorded state the cases share (members, multiplicities, keys).

use std::collections::BTreeSet;

use alloy::primitives::{Bytes, B256};
use anyhow::{anyhow, ensure, Context, Result};
use quorate_bls::{aggregate_g2, aggregate_signatures, G1PublicKey, G2PublicKey, Signature};
use quorate_chain_adapter::contracts::IBLSSignatureCheckerTypes::NonSignerStakesAndSignature;
use quorate_chain_adapter::contracts::OperatorStateRetrieverTypes as Osr;
use quorate_chain_adapter::contracts::{IOperatorStateRetriever, BN254};
use quorate_chain_adapter::convert::{g1_to_sol, g2_to_sol};
use quorate_domain::{G1Point, G2Point};

use super::Recorder;
use crate::vector_schema as schema;

impl Recorder<'_> {
    /// Honest arguments: `signers` sign `msg`, every other member of `quorums` is a non-signer.
    pub(super) async fn honest(
        &self,
        st: &schema::RecordedState,
        quorums: &[u8],
        signers: &BTreeSet<B256>,
        msg: B256,
        reference: u64,
    ) -> Result<NonSignerStakesAndSignature> {
        let mut sigs: Vec<(Signature, u64)> = Vec::new();
        let mut g2s: Vec<(G2PublicKey, u64)> = Vec::new();
        let mut non_signers: Vec<&schema::RecordedOperator> = Vec::new();
        for op in members(st, quorums) {
            if signers.contains(&op.operator_id) {
                let k = count_in(op, quorums);
                let kp = self.key(&op.operator_id)?;
                sigs.push((kp.sign(&msg.0), k));
                g2s.push((kp.public_g2().clone(), k));
            } else {
                non_signers.push(op);
            }
        }
        ensure!(
            sigs.len() == signers.len(),
            "a signer is not a member of {quorums:?}"
        );
        // Already ascending by id (the state is sorted by id).
        let ids: Vec<B256> = non_signers.iter().map(|o| o.operator_id).collect();
        let indices = self.indices(reference, quorums, ids).await?;
        let sig_terms: Vec<(&Signature, u64)> = sigs.iter().map(|(s, k)| (s, *k)).collect();
        let g2_terms: Vec<(&G2PublicKey, i64)> = g2s.iter().map(|(g, k)| (g, *k as i64)).collect();
        Ok(NonSignerStakesAndSignature {
            nonSignerQuorumBitmapIndices: indices.nonSignerQuorumBitmapIndices,
            nonSignerPubkeys: non_signers
                .iter()
                .map(|o| g1_to_sol(&o.pubkey_g1))
                .collect(),
            quorumApks: quorum_apks(st, quorums)?,
            apkG2: g2_to_sol(&aggregate_g2(&g2_terms).to_point()),
            sigma: g1_to_sol(&aggregate_signatures(&sig_terms).to_point()),
            quorumApkIndices: indices.quorumApkIndices,
            totalStakeIndices: indices.totalStakeIndices,
            nonSignerStakeIndices: indices.nonSignerStakeIndices,
        })
    }

    /// What `getCheckSignaturesIndices` answers for `reference`, `quorums` and `non_signers`.
    pub(super) async fn indices(
        &self,
        reference: u64,
        quorums: &[u8],
        non_signers: Vec<B256>,
    ) -> Result<Osr::CheckSignaturesIndices> {
        let c = &self.devnet.info.contracts;
        IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone())
            .getCheckSignaturesIndices(
                c.registry_coordinator,
                u32::try_from(reference)?,
                Bytes::from(quorums.to_vec()),
                non_signers,
            )
            .call()
            .await
            .context("getCheckSignaturesIndices")
    }
}

/// The recorded apks of `quorums`, in their order.
fn quorum_apks(st: &schema::RecordedState, quorums: &[u8]) -> Result<Vec<BN254::G1Point>> {
    quorums
        .iter()
        .map(|q| {
            st.quorums
                .iter()
                .find(|x| x.quorum == *q)
                .map(|x| g1_to_sol(&x.apk))
                .ok_or_else(|| anyhow!("no quorum {q} in the state"))
        })
        .collect()
}

/// Operators of `st` registered in any of `quorums`.
pub(super) fn members<'s>(
    st: &'s schema::RecordedState,
    quorums: &[u8],
) -> Vec<&'s schema::RecordedOperator> {
    st.operators
        .iter()
        .filter(|o| quorums.iter().any(|q| o.stakes.contains_key(q)))
        .collect()
}

/// How many of `quorums` the operator is registered in.
pub(super) fn count_in(op: &schema::RecordedOperator, quorums: &[u8]) -> u64 {
    quorums.iter().filter(|q| op.stakes.contains_key(q)).count() as u64
}

pub(super) fn g1_key(p: &G1Point) -> Result<G1PublicKey> {
    G1PublicKey::from_point(p).map_err(|e| anyhow!("G1 point {p:?}: {e}"))
}

pub(super) fn g2_key(p: &G2Point) -> Result<G2PublicKey> {
    G2PublicKey::from_point(p).map_err(|e| anyhow!("G2 point {p:?}: {e}"))
}
