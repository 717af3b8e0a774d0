//! Sending devnet transactions: explicit sender, estimated gas with headroom, fast receipts.
//!
//! Why not the bindings' own `deploy()`/`send()`: estimating without a `from` under-counts
//! Ownable constructors, and the registries' "same block" branch makes anvil's estimate for a
//! registration ~8% short (devnet notes §8). Every transaction here sets its sender and gets
//! 30% + 100k gas headroom, and registrations get a fixed limit.

use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{anyhow, bail, Context, Result};
use quorate_chain_adapter::{CallCounter, CountingLayer};

/// A signing provider for every devnet account, with an RPC call counter under it.
#[derive(Clone)]
pub struct Chain {
    /// The provider (wallet holds all devnet keys; the sender picks the key).
    pub provider: DynProvider,
    /// Calls made through `provider`.
    pub counter: CallCounter,
}

impl Chain {
    /// Connects to `url` with `signers` able to sign.
    pub fn connect(url: &str, signers: &[PrivateKeySigner]) -> Result<Self> {
        let mut iter = signers.iter().cloned();
        let first = iter.next().ok_or_else(|| anyhow!("no signer"))?;
        let mut wallet = EthereumWallet::from(first);
        for s in iter {
            wallet.register_signer(s);
        }
        let counter = CallCounter::new();
        let client = ClientBuilder::default()
            .layer(CountingLayer::new(counter.clone()))
            .http(url.parse().context("rpc url")?);
        let provider = ProviderBuilder::new()
            .wallet(wallet)
            .connect_client(client)
            .erased();
        Ok(Self { provider, counter })
    }

    /// Sends `tx` from `from` and waits for a successful receipt.
    pub async fn send(
        &self,
        from: Address,
        mut tx: TransactionRequest,
        gas: Option<u64>,
        what: &str,
    ) -> Result<TransactionReceipt> {
        tx = tx.from(from);
        let gas = match gas {
            Some(g) => g,
            None => {
                let est = self
                    .provider
                    .estimate_gas(tx.clone())
                    .await
                    .map_err(|e| anyhow!("{what}: gas estimation failed (revert?): {e}"))?;
                est.saturating_mul(13) / 10 + 100_000
            }
        };
        tx = tx.with_gas_limit(gas);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| anyhow!("{what}: send failed: {e}"))?;
        let hash = *pending.tx_hash();
        let receipt = self.wait_receipt(hash, what).await?;
        if !receipt.status() {
            bail!(
                "{what}: transaction {hash} reverted (gas used {} of {gas})",
                receipt.gas_used
            );
        }
        Ok(receipt)
    }

    /// Anvil mines on arrival; poll the receipt at 5 ms rather than alloy's 250 ms.
    async fn wait_receipt(
        &self,
        hash: alloy::primitives::B256,
        what: &str,
    ) -> Result<TransactionReceipt> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(r) = self.provider.get_transaction_receipt(hash).await? {
                return Ok(r);
            }
            if Instant::now() > deadline {
                bail!("{what}: no receipt for {hash} after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Calls `to` with `data` from `from`.
    pub async fn call(
        &self,
        from: Address,
        to: Address,
        data: Bytes,
        what: &str,
    ) -> Result<TransactionReceipt> {
        self.send(
            from,
            TransactionRequest::default().to(to).input(data.into()),
            None,
            what,
        )
        .await
    }

    /// Deploys `code` (creation code with constructor arguments) from `from`.
    pub async fn deploy(&self, from: Address, code: Bytes, what: &str) -> Result<Address> {
        let tx = TransactionRequest::default().with_deploy_code(code);
        let receipt = self.send(from, tx, None, what).await?;
        receipt
            .contract_address
            .ok_or_else(|| anyhow!("{what}: receipt without contract address"))
    }

    /// `anvil_mine`: mines `n` empty blocks.
    pub async fn mine(&self, n: u64) -> Result<()> {
        let _: serde_json::Value = self
            .provider
            .raw_request("anvil_mine".into(), (U256::from(n),))
            .await?;
        Ok(())
    }

    /// `anvil_setBalance`.
    pub async fn set_balance(&self, who: Address, wei: U256) -> Result<()> {
        let _: serde_json::Value = self
            .provider
            .raw_request("anvil_setBalance".into(), (who, wei))
            .await?;
        Ok(())
    }
}
