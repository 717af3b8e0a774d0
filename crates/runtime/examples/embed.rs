//! Embedding the runtime in your own gateway: the README's example as a program
//! (`cargo run -p quorate-runtime --example embed`). CI builds it and runs it as part of the
//! runtime's tests (`tests/it/main.rs` includes this file).
//!
//! Four operators with real BN254 keys in an in-memory registry (an AVS would use
//! `quorate-chain-adapter`'s `ChainOperatorRegistry`), one task needing 67 % of quorum 0, three
//! honest signatures and one forgery; the aggregate goes to the in-memory submitter, which runs
//! the same checks as EigenLayer's `BLSSignatureChecker.checkSignatures` (an AVS would use
//! `ChainSubmitter`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quorate_bls::{Bn254Scheme, KeyPair};
use quorate_domain::{
    QuorumNumber, ResponseDigest, SignedTaskResponse, Stake, TaskId, TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore};

const REFERENCE_BLOCK: u64 = 1;

/// Runs the example; `pub` so the runtime's tests can run it too.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scheme = Arc::new(Bn254Scheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 1));
    let keys: Vec<KeyPair> = (0..4)
        .map(|_| KeyPair::random(&mut rand::thread_rng()))
        .collect();
    let operators = keys
        .iter()
        .map(|k| InMemoryOperator {
            pubkey_g1: *k.public_g1(),
            pubkey_g2: k.public_g2().clone(),
            stakes: BTreeMap::from([(QuorumNumber(0), Stake::from(100u64))]),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    let ids = registry.set_operators(REFERENCE_BLOCK, operators)?;

    let core = AggregatorCore::new(
        AggregatorConfig::default(),
        Arc::clone(&registry),
        Arc::clone(&scheme),
    )?;
    let task_id = TaskId::from(1u32);
    let task = TaskMetadata::from_raw(
        task_id,
        REFERENCE_BLOCK,
        &[(0, 67)],
        Duration::from_secs(30),
    )?;
    core.initialize_task(task).await?;

    // What each operator signs: keccak256 of the AVS's encoded response.
    let digest = ResponseDigest::new([7; 32]);
    for (i, key) in keys.iter().enumerate() {
        // Operator 3 forges: it signs with operator 0's key.
        let signer = if i == 3 { &keys[0] } else { key };
        let signed = SignedTaskResponse {
            task_id,
            digest,
            signature: signer.sign_digest(&digest),
            operator_id: ids[i],
        };
        match core.process_signed_response(signed).await {
            Ok(outcome) => println!("operator {i}: {outcome:?}"),
            Err(e) => println!("operator {i}: refused: {e}"),
        }
    }

    let aggregate = core
        .wait_for_aggregation(task_id, Duration::from_secs(30))
        .await?;
    println!(
        "task {task_id}: {} signers, {} non-signers",
        aggregate.signer_ids.len(),
        aggregate.non_signer_ids.len()
    );
    let submitter = InMemorySubmitter::new(Arc::clone(&scheme), Arc::clone(&registry));
    let receipt = core
        .submit_aggregated_response(&submitter, &aggregate, b"response".to_vec())
        .await?;
    println!("accepted by the checker: {receipt:?}");
    if aggregate.non_signer_ids != vec![ids[3]] {
        return Err("the forger should be the only non-signer".into());
    }
    core.shutdown().await;
    Ok(())
}
