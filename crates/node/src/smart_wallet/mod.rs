//! Smart wallets on the node: an owner's ERC-4337 wallets (session-key accounts at CREATE2
//! addresses), the grants owners sign for the node's session key, and the [`ExecutionWallet`]
//! each workflow execution gets, through which its `contract_write` and `eth_transfer` steps
//! send UserOperations (the node is its own bundler, `quorate_wallet::Bundler`).
//!
//! Who may do what: a wallet belongs to the owner address of the caller that asks for it (a
//! wallet sign-in, or an API key's `address`); a workflow acts only from a wallet of its own
//! owner, checked when it is created and again at every step; a grant is stored only when its
//! owner signed it for that wallet and this node's key.

mod config;
mod sender;
mod service;

use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use quorate_automation::WalletRef;
use quorate_wallet::{Bundler, BundlerConfig, SignedGrant, WalletLocator};

pub(crate) use config::WalletsConfig;
pub(crate) use sender::ExecutionWallet;
pub(crate) use service::WalletApi;

use crate::error::NodeError;
use crate::record::now_ms;
use crate::secret::Secret;
use crate::state::off_async;
use crate::store::{SessionRecord, Store, WalletRecord};

/// The node's smart-wallet service: the bundler, the store and the settings.
pub(crate) struct SmartWallets {
    /// Sends UserOperations.
    bundler: Bundler,
    /// Wallet and grant rows.
    store: Store,
    /// Settings.
    config: WalletsConfig,
    /// The chain (read from the RPC at start).
    chain_id: u64,
    /// The EntryPoint.
    entry_point: Address,
    /// The factory of wallets that name none.
    default_factory: Address,
}

/// A key from its file, else its environment variable.
fn load_signer(
    file: Option<&std::path::Path>,
    env: &str,
    what: &str,
) -> anyhow::Result<PrivateKeySigner> {
    let secret = match file {
        Some(path) => Secret::from_file(path)?,
        None => Secret::from_env(env)
            .with_context(|| format!("[wallets] needs the {what}: a file, or {env}"))?,
    };
    secret
        .expose()
        .parse()
        .map_err(|_| anyhow::anyhow!("the {what} is not a 0x-hex secp256k1 key"))
}

impl SmartWallets {
    /// Connects to `rpc_url` and loads both keys. Fails (so the node does not start) on a
    /// missing setting or key.
    pub(crate) async fn start(
        config: &WalletsConfig,
        rpc_url: Option<&str>,
        store: Store,
    ) -> anyhow::Result<Arc<Self>> {
        let rpc_url = rpc_url.context("[wallets] needs --rpc-url")?;
        let entry_point = config.entry_point.context("[wallets] needs entry_point")?;
        let default_factory = config
            .default_factory
            .context("[wallets] needs default_factory")?;
        let session_key = load_signer(
            config.session_key_file.as_deref(),
            config::SESSION_KEY_ENV,
            "session key",
        )?;
        let bundler_key = load_signer(
            config.bundler_key_file.as_deref(),
            config::BUNDLER_KEY_ENV,
            "bundler key",
        )?;
        let beneficiary = bundler_key.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(bundler_key))
            .connect_http(rpc_url.parse().context("[wallets] rpc url")?)
            .erased();
        let chain_id = provider
            .get_chain_id()
            .await
            .context("[wallets] the RPC does not answer eth_chainId")?;
        let bundler_config = BundlerConfig {
            verification_gas: config.verification_gas,
            deploy_verification_gas: config.deploy_verification_gas,
            pre_verification_gas: config.pre_verification_gas,
            call_gas_overhead: config.call_gas_overhead,
            receipt_timeout: Duration::from_millis(config.receipt_timeout_ms),
            ..BundlerConfig::new(entry_point, chain_id)
        };
        let bundler = Bundler::new(provider, beneficiary, session_key, bundler_config);
        // One call now, so a wrong factory address stops the node at start.
        bundler
            .implementation(default_factory)
            .await
            .context("[wallets] default_factory has no accountImplementation()")?;
        tracing::info!(
            session_key = %bundler.session_key(),
            bundler = %beneficiary,
            %entry_point,
            %default_factory,
            chain_id,
            "smart wallets enabled"
        );
        Ok(Arc::new(Self {
            bundler,
            store,
            config: config.clone(),
            chain_id,
            entry_point,
            default_factory,
        }))
    }

    /// The factory a request names (the default when none); one the node does not know is
    /// refused, because its accounts may not check session grants.
    fn factory(&self, requested: Option<Address>) -> Result<Address, NodeError> {
        match requested {
            None => Ok(self.default_factory),
            Some(f) if f == self.default_factory || self.config.factories.contains(&f) => Ok(f),
            Some(f) => Err(NodeError::InvalidArgument(format!(
                "factory {f} is not one this node uses"
            ))),
        }
    }

    /// The wallet of (owner, salt, factory).
    pub(crate) async fn locate(
        &self,
        owner: Address,
        salt: U256,
        factory: Option<Address>,
    ) -> Result<WalletLocator, NodeError> {
        let factory = self.factory(factory)?;
        let implementation = self
            .bundler
            .implementation(factory)
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))?;
        Ok(WalletLocator {
            factory,
            implementation,
            owner,
            salt,
        })
    }

    /// The wallet a workflow acts from: its owner's, of the workflow's salt and factory. A
    /// workflow naming an address that is not that wallet is refused: it would act from
    /// someone else's wallet.
    pub(crate) async fn workflow_wallet(
        &self,
        owner: Option<Address>,
        wallet: Option<&WalletRef>,
    ) -> Result<WalletLocator, NodeError> {
        let owner = owner.ok_or_else(|| {
            NodeError::FailedPrecondition(
                "smart wallets need an owner address: sign in with a wallet, or give the API \
                 key an `address`"
                    .into(),
            )
        })?;
        let wallet = wallet.cloned().unwrap_or_default();
        let locator = self.locate(owner, wallet.salt, wallet.factory).await?;
        let address = address_of(&locator)?;
        if let Some(named) = wallet.address {
            if named != address {
                return Err(NodeError::PermissionDenied(format!(
                    "wallet {named} is not the caller's wallet of salt {} (that is {address})",
                    wallet.salt
                )));
            }
        }
        Ok(locator)
    }

    /// Records the wallet for its owner (bounded) and returns it with its state.
    pub(crate) async fn wallet(&self, locator: &WalletLocator) -> Result<WalletState, NodeError> {
        let record = self.record(locator).await?;
        self.state_of(record).await
    }

    /// Records the wallet for its owner if new (at most `max_wallets_per_owner`); returns the
    /// stored row.
    async fn record(&self, locator: &WalletLocator) -> Result<WalletRecord, NodeError> {
        let record = WalletRecord {
            address: address_of(locator)?,
            owner: locator.owner,
            factory: locator.factory,
            salt: locator.salt,
            created_at_ms: now_ms(),
        };
        let (store, max) = (self.store.clone(), self.config.max_wallets_per_owner);
        off_async(move || store.put_wallet(&record, max))
            .await?
            .ok_or_else(|| NodeError::ResourceExhausted(format!("at most {max} wallets per owner")))
    }

    /// Whether `record` is the wallet a workflow of `owner` naming `wallet` acts from (the same
    /// defaults as [`Self::workflow_wallet`]: salt 0, the default factory).
    pub(crate) fn is_workflow_wallet(
        &self,
        owner: Option<Address>,
        wallet: Option<&WalletRef>,
        record: &WalletRecord,
    ) -> bool {
        let salt = wallet.map_or(U256::ZERO, |w| w.salt);
        let factory = wallet
            .and_then(|w| w.factory)
            .unwrap_or(self.default_factory);
        owner == Some(record.owner) && salt == record.salt && factory == record.factory
    }

    /// A recorded wallet with whether it is deployed and its grant.
    pub(crate) async fn state_of(&self, record: WalletRecord) -> Result<WalletState, NodeError> {
        let deployed = self
            .bundler
            .is_deployed(record.address)
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))?;
        let session = self.session(record.address).await?;
        Ok(WalletState {
            record,
            deployed,
            session,
        })
    }

    /// The owner's recorded wallets.
    pub(crate) async fn wallets_of(&self, owner: Address) -> Result<Vec<WalletRecord>, NodeError> {
        let store = self.store.clone();
        off_async(move || store.wallets_of(owner)).await
    }

    /// The stored grant of a wallet.
    pub(crate) async fn session(
        &self,
        wallet: Address,
    ) -> Result<Option<SessionRecord>, NodeError> {
        let store = self.store.clone();
        off_async(move || store.session(wallet)).await
    }

    /// The wallet's EntryPoint nonce.
    pub(crate) async fn nonce(&self, wallet: Address) -> Result<U256, NodeError> {
        self.bundler
            .nonce(wallet)
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))
    }

    /// Checks and stores the owner's grant for its wallet.
    pub(crate) async fn authorize(
        &self,
        locator: &WalletLocator,
        grant: SignedGrant,
    ) -> Result<SessionRecord, NodeError> {
        let wallet = address_of(locator)?;
        grant
            .check(self.chain_id, wallet, locator.owner)
            .map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        if grant.grant.key != self.bundler.session_key() {
            return Err(NodeError::InvalidArgument(format!(
                "the grant names key {}, this node's session key is {}",
                grant.grant.key,
                self.bundler.session_key()
            )));
        }
        let now = now_ms() / 1000;
        if grant.grant.valid_until <= now {
            return Err(NodeError::InvalidArgument(
                "the grant has already expired".into(),
            ));
        }
        if grant.grant.valid_until - now > self.config.max_session_secs {
            return Err(NodeError::InvalidArgument(format!(
                "the grant lasts longer than this node's longest session ({} s)",
                self.config.max_session_secs
            )));
        }
        // The wallet is recorded too, so ListWallets shows every wallet with a grant.
        self.record(locator).await?;
        let session = SessionRecord {
            wallet,
            owner: locator.owner,
            grant,
            authorized_at_ms: now_ms(),
            revoked_at_ms: None,
        };
        let (store, stored) = (self.store.clone(), session.clone());
        off_async(move || store.put_session(&stored)).await?;
        Ok(session)
    }

    /// Revokes the wallet's grant at the node.
    pub(crate) async fn revoke(&self, locator: &WalletLocator) -> Result<SessionRecord, NodeError> {
        let wallet = address_of(locator)?;
        let mut session = self
            .session(wallet)
            .await?
            .filter(|s| s.owner == locator.owner)
            .ok_or_else(|| NodeError::NotFound(format!("no grant for wallet {wallet}")))?;
        session.revoked_at_ms.get_or_insert_with(now_ms);
        let (store, stored) = (self.store.clone(), session.clone());
        off_async(move || store.put_session(&stored)).await?;
        Ok(session)
    }

    /// What a grant must name.
    pub(crate) fn session_key(&self) -> Address {
        self.bundler.session_key()
    }
}

/// A wallet as the API shows it.
pub(crate) struct WalletState {
    /// The stored row.
    pub(crate) record: WalletRecord,
    /// Whether the account has code.
    pub(crate) deployed: bool,
    /// Its grant.
    pub(crate) session: Option<SessionRecord>,
}

fn address_of(locator: &WalletLocator) -> Result<Address, NodeError> {
    locator
        .address()
        .map_err(|e| NodeError::Internal(e.to_string()))
}
