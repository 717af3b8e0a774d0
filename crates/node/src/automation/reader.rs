//! The chain port of contract-read steps over the node's alloy provider (chain mode).

use alloy::network::TransactionBuilder;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy_primitives::{Address, Bytes};
use quorate_automation::{ContractReader, ReadError};

/// `eth_call` at the latest block through the node's provider.
pub(crate) struct ProviderReader {
    /// The node's provider (with its retry and timeout layers).
    pub(crate) provider: DynProvider,
}

#[async_trait::async_trait]
impl ContractReader for ProviderReader {
    async fn call(&self, to: Address, calldata: Bytes) -> Result<Bytes, ReadError> {
        let request = TransactionRequest::default()
            .with_to(to)
            .with_input(calldata);
        self.provider.call(request).await.map_err(|e| {
            match e.as_error_resp().and_then(|r| r.as_revert_data()) {
                Some(data) => ReadError::Reverted { data },
                None => ReadError::Rpc {
                    reason: e.to_string(),
                },
            }
        })
    }
}
