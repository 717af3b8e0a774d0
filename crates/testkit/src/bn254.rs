//! Real-key fixtures: BN254 operators in an in-memory registry, for the benches and soak runs
//! that must pay the real curve costs (the fast tests use the fake scheme instead).

use std::collections::BTreeMap;
use std::sync::Arc;

use quorate_bls::{Bn254Scheme, KeyPair};
use quorate_domain::{OperatorId, QuorumNumber, RegistryError, Stake};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry};

/// Registers `keys` at `block`, each with `stake` in every quorum `0..quorums`, each with its
/// proof of possession; returns the registry and the operator ids in key order.
pub fn bn254_registry(
    keys: &[KeyPair],
    quorums: u8,
    stake: u64,
    block: u64,
) -> Result<(Arc<InMemoryRegistry<Bn254Scheme>>, Vec<OperatorId>), RegistryError> {
    let registry = Arc::new(InMemoryRegistry::new(Arc::new(Bn254Scheme), quorums));
    let operators = keys
        .iter()
        .map(|k| InMemoryOperator {
            pubkey_g1: *k.public_g1(),
            pubkey_g2: k.public_g2().clone(),
            stakes: (0..quorums)
                .map(|q| (QuorumNumber(q), Stake::from(stake)))
                .collect::<BTreeMap<_, _>>(),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    let ids = registry.set_operators(block, operators)?;
    Ok((registry, ids))
}
