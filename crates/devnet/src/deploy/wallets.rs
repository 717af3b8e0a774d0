//! The ERC-4337 contracts smart-wallet steps use: the EntryPoint and `SimpleAccountFactory`
//! (npm `@account-abstraction/contracts` 0.7.0), our `SessionKeyAccountFactory` and a
//! `WalletTarget` to call, all from the committed artifacts in `contracts/out`. They are
//! deployed by their own anvil account, so their addresses do not move when the AVS deployment
//! changes.

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolValue;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::tx::Chain;

/// Addresses of the wallet contracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletContracts {
    /// EntryPoint v0.7.
    pub entry_point: Address,
    /// eth-infinitism's `SimpleAccountFactory` (owner-signed accounts only).
    pub simple_account_factory: Address,
    /// `SessionKeyAccountFactory`: accounts a node's session key can drive.
    pub session_key_account_factory: Address,
    /// `WalletTarget`: a write with visible state and a call that always reverts.
    pub wallet_target: Address,
}

/// The creation code in `contracts/out/<name>.json`.
fn creation_code(name: &str, artifact: &str) -> Result<Vec<u8>> {
    #[derive(Deserialize)]
    struct Artifact {
        bytecode: Bytes,
    }
    let artifact: Artifact =
        serde_json::from_str(artifact).with_context(|| format!("contracts/out/{name}.json"))?;
    Ok(artifact.bytecode.to_vec())
}

/// Deploys the four from `deployer`.
pub async fn deploy_wallet_contracts(chain: &Chain, deployer: Address) -> Result<WalletContracts> {
    let with_entry_point = |name: &str, artifact: &str, entry_point: Address| -> Result<Bytes> {
        let mut code = creation_code(name, artifact)?;
        code.extend_from_slice(&entry_point.abi_encode());
        Ok(code.into())
    };
    let entry_point = chain
        .deploy(
            deployer,
            creation_code(
                "EntryPoint",
                include_str!("../../../../contracts/out/EntryPoint.json"),
            )?
            .into(),
            "EntryPoint",
        )
        .await?;
    let simple_account_factory = chain
        .deploy(
            deployer,
            with_entry_point(
                "SimpleAccountFactory",
                include_str!("../../../../contracts/out/SimpleAccountFactory.json"),
                entry_point,
            )?,
            "SimpleAccountFactory",
        )
        .await?;
    let session_key_account_factory = chain
        .deploy(
            deployer,
            with_entry_point(
                "SessionKeyAccountFactory",
                include_str!("../../../../contracts/out/SessionKeyAccountFactory.json"),
                entry_point,
            )?,
            "SessionKeyAccountFactory",
        )
        .await?;
    let wallet_target = chain
        .deploy(
            deployer,
            creation_code(
                "WalletTarget",
                include_str!("../../../../contracts/out/WalletTarget.json"),
            )?
            .into(),
            "WalletTarget",
        )
        .await?;
    Ok(WalletContracts {
        entry_point,
        simple_account_factory,
        session_key_account_factory,
        wallet_target,
    })
}
