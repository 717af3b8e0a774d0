//! `AttestationTaskManager`, our own task manager (inherits the middleware's
//! `BLSSignatureChecker`), deployed from the committed artifact after everything else, so the
//! addresses of the contracts deployed before it do not depend on it.

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolValue;
use anyhow::{Context, Result};

use crate::tx::Chain;

/// The artifact `node contracts/build.mjs` writes (ABI, creation bytecode, compiler).
const ARTIFACT: &str = include_str!("../../../../contracts/out/AttestationTaskManager.json");

/// The creation bytecode of the artifact.
pub fn creation_bytecode() -> Result<Bytes> {
    #[derive(serde::Deserialize)]
    struct Artifact {
        bytecode: Bytes,
    }
    let artifact: Artifact =
        serde_json::from_str(ARTIFACT).context("contracts/out/AttestationTaskManager.json")?;
    Ok(artifact.bytecode)
}

/// Deploys `AttestationTaskManager(registry_coordinator, aggregator)` from `owner`.
pub(super) async fn deploy_attestation_task_manager(
    chain: &Chain,
    owner: Address,
    registry_coordinator: Address,
    aggregator: Address,
) -> Result<Address> {
    let mut code = creation_bytecode()?.to_vec();
    code.extend_from_slice(&(registry_coordinator, aggregator).abi_encode_params());
    chain
        .deploy(owner, code.into(), "AttestationTaskManager")
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_has_creation_code() -> Result<()> {
        let code = creation_bytecode()?;
        // PUSH<n> <free memory start> PUSH1 0x40 MSTORE: solc's creation code prologue (the
        // start is above 0x80, a PUSH2, when the contract has immutables, as this one has).
        let prologue = code.get(..6).unwrap_or_default();
        assert!(
            prologue.windows(3).any(|w| w == [0x60, 0x40, 0x52]),
            "{prologue:?}"
        );
        assert!(code.len() > 1_000, "{} bytes", code.len());
        Ok(())
    }
}
