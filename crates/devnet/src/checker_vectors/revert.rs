//! Decoding reverts into names: the revert data of a failed `eth_call` is decoded with the ABIs
//! of the checker and every registry it calls (custom errors by variant name, then `Panic` and
//! `Error(string)`), so a vector records both the raw data and a readable error.

use alloy::primitives::Bytes;
use alloy::sol_types::{SolError, SolInterface};
use anyhow::{bail, Result};
use eigenlayer_contract_deployer::bindings::core::{
    bls_apk_registry, operator_state_retriever, quorum_bitmap_history_lib,
    slashing_registry_coordinator, stake_registry,
};
use eigenlayer_contract_deployer::bindings::deploy::squaring_task::SquaringTask;

use crate::vector_schema as schema;

/// The revert of a failed `eth_call`, or an error if the call failed for another reason.
pub(super) fn revert_of(e: &alloy::contract::Error) -> Result<schema::Revert> {
    let data = match e.as_revert_data() {
        Some(d) => d,
        None if e.to_string().to_lowercase().contains("revert") => Bytes::new(),
        None => bail!("eth_call failed without reverting: {e}"),
    };
    Ok(schema::Revert {
        error: decode_revert(&data),
        data: format!("0x{}", alloy::hex::encode(&data)),
    })
}

/// The name of a decoded custom error (`Variant(Inner)` in Debug).
fn variant_name<T: std::fmt::Debug>(e: &T) -> String {
    let s = format!("{e:?}");
    s.split('(').next().unwrap_or(&s).to_string()
}

/// Decodes revert data with the ABIs of the checker and every registry it calls.
fn decode_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "(no revert data)".into();
    }
    use bls_apk_registry::BLSApkRegistry::BLSApkRegistryErrors;
    use operator_state_retriever::OperatorStateRetriever::OperatorStateRetrieverErrors;
    use quorum_bitmap_history_lib::QuorumBitmapHistoryLib::QuorumBitmapHistoryLibErrors;
    use slashing_registry_coordinator::SlashingRegistryCoordinator as Src;
    use stake_registry::StakeRegistry::StakeRegistryErrors;
    use SquaringTask::SquaringTaskErrors;
    if let Ok(e) = SquaringTaskErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = BLSApkRegistryErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = StakeRegistryErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = Src::SlashingRegistryCoordinatorErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = QuorumBitmapHistoryLibErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = OperatorStateRetrieverErrors::abi_decode(data) {
        return variant_name(&e);
    }
    decode_builtin(data)
}

/// Decodes Solidity's built-in `Panic(uint256)` and `Error(string)`, else names the selector.
fn decode_builtin(data: &[u8]) -> String {
    if let Ok(p) = alloy::sol_types::Panic::abi_decode(data) {
        return match p.kind() {
            Some(kind) => format!("Panic({:#x}: {})", p.code, kind.as_str()),
            None => format!("Panic({:#x})", p.code),
        };
    }
    if let Ok(r) = alloy::sol_types::Revert::abi_decode(data) {
        return format!("Error({:?})", r.reason);
    }
    format!(
        "unknown error 0x{}",
        alloy::hex::encode(&data[..data.len().min(4)])
    )
}
