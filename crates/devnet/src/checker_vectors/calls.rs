//! Running one case on the chain and turning the answers into a vector: `checkSignatures` by
//! `eth_call` (stakes and signatory record hash, or the decoded revert), what the retriever
//! answers for the case's non-signers, `trySignatureAndApkVerification` on the apk the checker
//! derives from the arguments, and γ traced from both calls (which must agree).

use alloy::primitives::{keccak256, Bytes, B256};
use alloy::sol_types::SolCall;
use anyhow::{anyhow, ensure, Result};
use eigenlayer_contract_deployer::bindings::deploy::squaring_task::{
    SquaringTask, BN254 as TaskBN254,
};
use quorate_bls::{aggregate_g1, G1PublicKey};
use quorate_chain_adapter::contracts::IBLSSignatureChecker;
use quorate_chain_adapter::contracts::IBLSSignatureCheckerTypes::NonSignerStakesAndSignature;
use quorate_chain_adapter::contracts::IOperatorStateRetriever;
use quorate_chain_adapter::convert::{g1_from_sol, g2_from_sol, indices_from_sol, stake_from_u96};
use quorate_domain::{CheckSignaturesIndices, G1Point, G2Point};

use super::cases::Case;
use super::inputs::{count_in, g1_key};
use super::revert::revert_of;
use super::Recorder;
use crate::vector_schema as schema;

impl Recorder<'_> {
    /// Runs one case on the chain.
    pub(super) async fn run_case(
        &self,
        states: &[schema::RecordedState],
        case: Case,
    ) -> Result<schema::Vector> {
        let st = states
            .iter()
            .find(|s| s.block == case.state_block)
            .ok_or_else(|| anyhow!("no state at {}", case.state_block))?;
        let check = self.check_signatures(&case).await?;
        let retriever_indices = self.retriever_indices(&case).await?;
        let check_gamma = self
            .trace_gamma(check_signatures_data(&case)?, None)
            .await?;
        let try_verification = self.try_verification(st, &case).await?;
        if let (Some(g), schema::TryOutcome::Returned { gamma, .. }) =
            (check_gamma, &try_verification.outcome)
        {
            // Same γ, so checkSignatures derived exactly the apk recorded for the try call.
            ensure!(
                g == *gamma,
                "{}: checkSignatures hashed another apk than the recorder derived",
                case.name
            );
        }
        log_outcome(&case.name, &check);
        Ok(vector_of(
            case,
            retriever_indices,
            check,
            check_gamma,
            try_verification,
        ))
    }

    /// What `checkSignatures` answers for the case: the stakes, or the decoded revert.
    async fn check_signatures(&self, case: &Case) -> Result<schema::CheckOutcome> {
        let checker = IBLSSignatureChecker::new(self.checker(), self.p.clone());
        let answer = checker
            .checkSignatures(
                case.msg_hash,
                Bytes::from(case.quorums.clone()),
                u32::try_from(case.reference_block)?,
                case.params.clone(),
            )
            .call()
            .await;
        Ok(match answer {
            Ok(ret) => schema::CheckOutcome::Accepted {
                signed_stake: ret
                    ._0
                    .signedStakeForQuorum
                    .iter()
                    .map(|s| stake_from_u96(*s))
                    .collect(),
                total_stake: ret
                    ._0
                    .totalStakeForQuorum
                    .iter()
                    .map(|s| stake_from_u96(*s))
                    .collect(),
                signatory_record_hash: ret._1,
            },
            Err(e) => schema::CheckOutcome::Rejected(revert_of(&e)?),
        })
    }

    /// What the retriever answers for the case's reference block, quorums and listed
    /// non-signers (`None` if it reverts).
    async fn retriever_indices(&self, case: &Case) -> Result<Option<CheckSignaturesIndices>> {
        let c = &self.devnet.info.contracts;
        let ids: Vec<B256> = case
            .params
            .nonSignerPubkeys
            .iter()
            .map(|p| keccak256(g1_from_sol(p).to_bytes()))
            .collect();
        let answer = IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone())
            .getCheckSignaturesIndices(
                c.registry_coordinator,
                u32::try_from(case.reference_block)?,
                Bytes::from(case.quorums.clone()),
                ids,
            )
            .call()
            .await;
        match answer {
            Ok(i) => Ok(Some(indices_from_sol(&i))),
            Err(e) => {
                revert_of(&e)?;
                Ok(None)
            }
        }
    }

    /// `trySignatureAndApkVerification` on the apk the checker derives from the case's
    /// arguments, with γ traced from the call when it returns.
    async fn try_verification(
        &self,
        st: &schema::RecordedState,
        case: &Case,
    ) -> Result<schema::TryVerification> {
        let apk = derived_apk(st, &case.quorums, &case.params)?;
        let apk_g2 = g2_from_sol(&case.params.apkG2);
        let sigma = g1_from_sol(&case.params.sigma);
        let task = SquaringTask::new(self.checker(), self.p.clone());
        let answer = task
            .trySignatureAndApkVerification(
                case.msg_hash,
                task_g1(&apk),
                task_g2(&apk_g2),
                task_g1(&sigma),
            )
            .call()
            .await;
        let outcome = match answer {
            Ok(ret) => {
                let data = SquaringTask::trySignatureAndApkVerificationCall {
                    msgHash: case.msg_hash,
                    apk: task_g1(&apk),
                    apkG2: task_g2(&apk_g2),
                    sigma: task_g1(&sigma),
                }
                .abi_encode();
                let gamma = self
                    .trace_gamma(data, Some(case.msg_hash))
                    .await?
                    .ok_or_else(|| {
                        anyhow!(
                            "{}: no γ in the trySignatureAndApkVerification trace",
                            case.name
                        )
                    })?;
                schema::TryOutcome::Returned {
                    pairing_successful: ret.pairingSuccessful,
                    signature_is_valid: ret.siganatureIsValid,
                    gamma,
                }
            }
            Err(e) => schema::TryOutcome::Reverted(revert_of(&e)?),
        };
        Ok(schema::TryVerification { apk, outcome })
    }
}

/// The calldata of the case's `checkSignatures` call (what is traced for γ).
fn check_signatures_data(case: &Case) -> Result<Vec<u8>> {
    Ok(IBLSSignatureChecker::checkSignaturesCall {
        msgHash: case.msg_hash,
        quorumNumbers: Bytes::from(case.quorums.clone()),
        referenceBlockNumber: u32::try_from(case.reference_block)?,
        params: case.params.clone(),
    }
    .abi_encode())
}

/// The apk the checker derives from `params`: Σ quorum apks − Σ kᵢ·non-signerᵢ.
fn derived_apk(
    st: &schema::RecordedState,
    quorums: &[u8],
    params: &NonSignerStakesAndSignature,
) -> Result<G1Point> {
    let mut terms: Vec<(G1PublicKey, i64)> = Vec::new();
    for p in &params.quorumApks {
        let p = g1_from_sol(p);
        if p != G1Point::default() {
            terms.push((g1_key(&p)?, 1));
        }
    }
    for p in &params.nonSignerPubkeys {
        let p = g1_from_sol(p);
        if let Some(op) = st.operators.iter().find(|o| o.pubkey_g1 == p) {
            let k = count_in(op, quorums);
            if k > 0 {
                terms.push((g1_key(&p)?, -i64::try_from(k)?));
            }
        }
    }
    let refs: Vec<(&G1PublicKey, i64)> = terms.iter().map(|(k, c)| (k, *c)).collect();
    Ok(aggregate_g1(&refs).to_point())
}

/// The recorded vector of a case and its answers.
fn vector_of(
    case: Case,
    retriever_indices: Option<CheckSignaturesIndices>,
    check: schema::CheckOutcome,
    check_gamma: Option<alloy::primitives::U256>,
    try_verification: schema::TryVerification,
) -> schema::Vector {
    let params = case.params;
    schema::Vector {
        name: case.name,
        description: case.description,
        state_block: case.state_block,
        input: schema::CheckSignaturesInput {
            msg_hash: case.msg_hash,
            quorum_numbers: case.quorums,
            reference_block: case.reference_block,
            params: schema::NonSignerStakesAndSignature {
                non_signer_quorum_bitmap_indices: params.nonSignerQuorumBitmapIndices,
                non_signer_pubkeys: params.nonSignerPubkeys.iter().map(g1_from_sol).collect(),
                quorum_apks: params.quorumApks.iter().map(g1_from_sol).collect(),
                apk_g2: g2_from_sol(&params.apkG2),
                sigma: g1_from_sol(&params.sigma),
                quorum_apk_indices: params.quorumApkIndices,
                total_stake_indices: params.totalStakeIndices,
                non_signer_stake_indices: params.nonSignerStakeIndices,
            },
        },
        retriever_indices,
        check_signatures: check,
        check_signatures_gamma: check_gamma,
        try_verification,
    }
}

/// Prints one line per case to stderr: its name and whether the checker accepted it.
fn log_outcome(name: &str, check: &schema::CheckOutcome) {
    let outcome = match check {
        schema::CheckOutcome::Accepted { signed_stake, .. } => {
            format!("accepted {signed_stake:?}")
        }
        schema::CheckOutcome::Rejected(r) => format!("rejected {}", r.error),
    };
    eprintln!("record-checker-vectors: {name:<36} {outcome}");
}

fn task_g1(p: &G1Point) -> TaskBN254::G1Point {
    TaskBN254::G1Point { X: p.x, Y: p.y }
}

fn task_g2(p: &G2Point) -> TaskBN254::G2Point {
    TaskBN254::G2Point { X: p.x, Y: p.y }
}
