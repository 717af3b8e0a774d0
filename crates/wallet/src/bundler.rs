//! The node as its own ERC-4337 bundler: one call from one wallet becomes one UserOperation,
//! checked, simulated and sent in a `handleOps` transaction from the bundler's key, and its
//! receipt read back.
//!
//! Sends are serialized (one operation in flight per bundler) so the wallet's EntryPoint nonce
//! and the bundler's transaction nonce are never raced; a step waits for the one before it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use alloy::sol_types::{SolCall, SolEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::{debug, info_span, Instrument};

use crate::address::{account_init_code, WalletLocator};
use crate::contracts::{IAccountFactory, IEntryPoint, ISessionKeyAccount};
use crate::error::WalletError;
use crate::revert::decode_revert;
use crate::session::{grant_hash, SignedGrant};
use crate::user_op::{UserOperation, ENTRY_POINT_V07_NONCE_KEY};

/// How the bundler builds and sends operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlerConfig {
    /// The EntryPoint (v0.7).
    pub entry_point: Address,
    /// The chain (part of every operation hash and grant).
    pub chain_id: u64,
    /// Gas for validating an operation of a deployed wallet.
    pub verification_gas: u64,
    /// Gas for deploying a wallet and validating its first operation.
    pub deploy_verification_gas: u64,
    /// Gas paid to the bundler beyond execution.
    pub pre_verification_gas: u64,
    /// Gas added to the call's own estimate for the account's `execute` around it.
    pub call_gas_overhead: u64,
    /// How long to wait for the `handleOps` receipt.
    pub receipt_timeout: Duration,
}

impl BundlerConfig {
    /// Defaults that fit the session-key account on an Ethereum-like chain.
    pub fn new(entry_point: Address, chain_id: u64) -> Self {
        Self {
            entry_point,
            chain_id,
            verification_gas: 150_000,
            deploy_verification_gas: 600_000,
            pre_verification_gas: 60_000,
            call_gas_overhead: 50_000,
            receipt_timeout: Duration::from_secs(60),
        }
    }
}

/// One call a step makes from a wallet.
#[derive(Debug, Clone)]
pub struct WalletCall {
    /// The wallet.
    pub wallet: WalletLocator,
    /// The owner's grant for the node's session key on this wallet.
    pub grant: SignedGrant,
    /// Destination.
    pub to: Address,
    /// Wei sent.
    pub value: U256,
    /// Calldata (empty for a plain transfer).
    pub data: Bytes,
}

/// What happened to an operation that reached the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletReceipt {
    /// The operation as sent.
    pub user_op: UserOperation,
    /// Its hash.
    pub user_op_hash: B256,
    /// The `handleOps` transaction.
    pub transaction_hash: B256,
    /// Its block.
    pub block_number: u64,
    /// Whether the account call succeeded (`UserOperationEvent.success`).
    pub success: bool,
    /// The decoded revert reason when it did not.
    pub revert_reason: Option<String>,
    /// Wei the wallet paid for gas.
    pub actual_gas_cost: U256,
    /// Gas the operation used.
    pub actual_gas_used: U256,
    /// Whether this operation deployed the wallet.
    pub deployed: bool,
    /// What the call returned when simulated from the wallet just before sending (the
    /// EntryPoint does not return it).
    pub return_data: Bytes,
}

/// Sends wallet calls as UserOperations. One per node.
pub struct Bundler {
    /// Provider whose wallet signs with the bundler key (`from`).
    provider: DynProvider,
    /// The bundler key's address: sends `handleOps` and is paid the gas.
    beneficiary: Address,
    /// The node's session key.
    session_key: PrivateKeySigner,
    /// Settings.
    config: BundlerConfig,
    /// Account implementations by factory (immutable on chain, so cached for good).
    implementations: std::sync::Mutex<HashMap<Address, Address>>,
    /// Held through a whole send.
    sending: Mutex<()>,
}

impl Bundler {
    /// A bundler sending from `beneficiary` through `provider` (which must be able to sign for
    /// it), signing operations with `session_key`.
    pub fn new(
        provider: DynProvider,
        beneficiary: Address,
        session_key: PrivateKeySigner,
        config: BundlerConfig,
    ) -> Self {
        Self {
            provider,
            beneficiary,
            session_key,
            config,
            implementations: std::sync::Mutex::new(HashMap::new()),
            sending: Mutex::new(()),
        }
    }

    /// The session key owners grant.
    pub fn session_key(&self) -> Address {
        self.session_key.address()
    }

    /// The settings.
    pub fn config(&self) -> &BundlerConfig {
        &self.config
    }

    /// The factory's account implementation (one call per factory, then cached).
    pub async fn implementation(&self, factory: Address) -> Result<Address, WalletError> {
        if let Some(found) = self.cached_implementation(factory) {
            return Ok(found);
        }
        let found = IAccountFactory::new(factory, &self.provider)
            .accountImplementation()
            .call()
            .await
            .map_err(|e| {
                WalletError::Rpc(format!("factory {factory}: accountImplementation: {e}"))
            })?;
        if let Ok(mut cache) = self.implementations.lock() {
            cache.insert(factory, found);
        }
        Ok(found)
    }

    fn cached_implementation(&self, factory: Address) -> Option<Address> {
        self.implementations
            .lock()
            .ok()
            .and_then(|cache| cache.get(&factory).copied())
    }

    /// The wallet's next EntryPoint nonce.
    pub async fn nonce(&self, wallet: Address) -> Result<U256, WalletError> {
        let key = alloy::primitives::aliases::U192::from(ENTRY_POINT_V07_NONCE_KEY);
        IEntryPoint::new(self.config.entry_point, &self.provider)
            .getNonce(wallet, key)
            .call()
            .await
            .map_err(|e| WalletError::Rpc(format!("getNonce({wallet}): {e}")))
    }

    /// Whether the wallet has code (is deployed).
    pub async fn is_deployed(&self, wallet: Address) -> Result<bool, WalletError> {
        let code = self
            .provider
            .get_code_at(wallet)
            .await
            .map_err(|e| WalletError::Rpc(format!("getCode({wallet}): {e}")))?;
        Ok(!code.is_empty())
    }

    /// Wei spent so far under a grant, and whether the owner revoked it on chain (zero and
    /// false for a wallet not deployed yet).
    pub async fn session_state(
        &self,
        wallet: Address,
        grant: &SignedGrant,
    ) -> Result<(U256, bool), WalletError> {
        let deployed = self.is_deployed(wallet).await?;
        self.session_state_at(wallet, grant, deployed).await
    }

    /// [`Self::session_state`] when whether the wallet is deployed is already known.
    async fn session_state_at(
        &self,
        wallet: Address,
        grant: &SignedGrant,
        deployed: bool,
    ) -> Result<(U256, bool), WalletError> {
        if !deployed {
            return Ok((U256::ZERO, false));
        }
        let hash = grant_hash(self.config.chain_id, wallet, &grant.grant);
        let account = ISessionKeyAccount::new(wallet, &self.provider);
        let rpc = |e: alloy::contract::Error| WalletError::Rpc(format!("{wallet}: {e}"));
        let spent = account.sessionSpent(hash).call().await.map_err(rpc)?;
        let revoked = account.sessionRevoked(hash).call().await.map_err(rpc)?;
        Ok((spent, revoked))
    }

    /// Sends one call as a UserOperation and waits for its receipt. Refuses, before anything is
    /// sent: a grant for another key, an expired or revoked session, a call over the spending
    /// limit, a call that reverts in simulation, and an operation the EntryPoint would refuse.
    pub async fn send(&self, call: WalletCall) -> Result<WalletReceipt, WalletError> {
        let wallet = call.wallet.address()?;
        let span = info_span!("user_op", %wallet, to = %call.to);
        async move {
            let _one_at_a_time = self.sending.lock().await;
            // Read once: nothing else sends for this wallet while the lock is held.
            let deployed = self.is_deployed(wallet).await?;
            self.check_session(wallet, &call, deployed).await?;
            let return_data = self.simulate_call(wallet, &call).await?;
            let user_op = self.build(wallet, &call, deployed).await?;
            let user_op_hash = user_op.hash(self.config.entry_point, self.config.chain_id);
            self.simulate_handle_ops(wallet, &user_op).await?;
            let receipt = self.submit(&user_op).await?;
            let operation = SentOperation {
                entry_point: self.config.entry_point,
                wallet,
                user_op,
                user_op_hash,
            };
            read_receipt(operation, &receipt, return_data)
        }
        .instrument(span)
        .await
    }

    /// The node-side session rules: the grant names this node's key, has not expired, is not
    /// revoked on chain, and leaves room for the call's value.
    async fn check_session(
        &self,
        wallet: Address,
        call: &WalletCall,
        deployed: bool,
    ) -> Result<(), WalletError> {
        let grant = &call.grant.grant;
        if grant.key != self.session_key.address() {
            return Err(WalletError::BadGrant {
                reason: format!("the grant is for key {}, not this node's", grant.key),
            });
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now >= grant.valid_until {
            return Err(WalletError::SessionExpired {
                wallet,
                valid_until: grant.valid_until,
            });
        }
        let (spent, revoked) = self.session_state_at(wallet, &call.grant, deployed).await?;
        if revoked {
            return Err(WalletError::SessionRevoked { wallet });
        }
        if spent.saturating_add(call.value) > grant.spend_limit {
            return Err(WalletError::SpendingLimitExceeded {
                wallet,
                value: call.value,
                spent,
                limit: grant.spend_limit,
            });
        }
        Ok(())
    }

    /// The call from the wallet as an `eth_call`: its return data, or its decoded revert.
    async fn simulate_call(
        &self,
        wallet: Address,
        call: &WalletCall,
    ) -> Result<Bytes, WalletError> {
        self.eth_call(inner_call(wallet, call), "simulating the call")
            .await?
            .map_err(|reason| WalletError::CallReverted { wallet, reason })
    }

    /// An `eth_call`: its return data, or the decoded reason it reverted with (an RPC failure
    /// is an error, `what` saying which call).
    async fn eth_call(
        &self,
        tx: TransactionRequest,
        what: &str,
    ) -> Result<Result<Bytes, String>, WalletError> {
        match self.provider.call(tx).await {
            Ok(data) => Ok(Ok(data)),
            Err(e) => match e.as_error_resp().and_then(|r| r.as_revert_data()) {
                Some(data) => Ok(Err(decode_revert(&data))),
                None => Err(WalletError::Rpc(format!("{what}: {e}"))),
            },
        }
    }

    /// Builds and signs the operation: initCode when the wallet is not deployed, gas from the
    /// call's estimate and fixed validation budgets, fees from the chain.
    async fn build(
        &self,
        wallet: Address,
        call: &WalletCall,
        deployed: bool,
    ) -> Result<UserOperation, WalletError> {
        let rpc = |what: &str, e: &dyn std::fmt::Display| WalletError::Rpc(format!("{what}: {e}"));
        let nonce = self.nonce(wallet).await?;
        let call_gas = self
            .provider
            .estimate_gas(inner_call(wallet, call))
            .await
            .map_err(|e| rpc("estimating the call", &e))?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| rpc("fees", &e))?;
        let (factory, factory_data, verification) = if deployed {
            (None, None, self.config.verification_gas)
        } else {
            let init = account_init_code(call.wallet.factory, call.wallet.owner, call.wallet.salt);
            let data = Bytes::copy_from_slice(init.get(20..).unwrap_or_default());
            (
                Some(call.wallet.factory),
                Some(data),
                self.config.deploy_verification_gas,
            )
        };
        let mut op = UserOperation {
            sender: wallet,
            nonce,
            factory,
            factory_data,
            call_data: ISessionKeyAccount::executeCall {
                dest: call.to,
                value: call.value,
                func: call.data.clone(),
            }
            .abi_encode()
            .into(),
            call_gas_limit: u128::from(
                call_gas.saturating_mul(13) / 10 + self.config.call_gas_overhead,
            ),
            verification_gas_limit: u128::from(verification),
            pre_verification_gas: U256::from(self.config.pre_verification_gas),
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            signature: Bytes::new(),
        };
        let balance = self
            .provider
            .get_balance(wallet)
            .await
            .map_err(|e| rpc("balance", &e))?;
        let needed = call.value.saturating_add(op.max_gas_cost());
        if balance < needed {
            return Err(WalletError::InsufficientFunds {
                wallet,
                needed,
                balance,
            });
        }
        let hash = op.hash(self.config.entry_point, self.config.chain_id);
        let key_signature = self
            .session_key
            .sign_message_sync(hash.as_slice())
            .map_err(|e| WalletError::Build(format!("session signature: {e}")))?;
        op.signature = call.grant.user_op_signature(&key_signature);
        Ok(op)
    }

    /// `handleOps` as an `eth_call` from the bundler: the EntryPoint's verdict (signature,
    /// expiry, limit, funds) without spending gas.
    async fn simulate_handle_ops(
        &self,
        wallet: Address,
        op: &UserOperation,
    ) -> Result<(), WalletError> {
        self.eth_call(self.handle_ops_tx(op), "simulating handleOps")
            .await?
            .map(|_| ())
            .map_err(|reason| WalletError::Rejected { wallet, reason })
    }

    fn handle_ops_tx(&self, op: &UserOperation) -> TransactionRequest {
        let data = IEntryPoint::handleOpsCall {
            ops: vec![op.pack()],
            beneficiary: self.beneficiary,
        }
        .abi_encode();
        TransactionRequest::default()
            .with_from(self.beneficiary)
            .with_to(self.config.entry_point)
            .with_input(data)
    }

    /// Sends `handleOps` with a gas limit covering the operation's limits, and waits for the
    /// receipt.
    async fn submit(&self, op: &UserOperation) -> Result<TransactionReceipt, WalletError> {
        let gas = op.call_gas_limit + op.verification_gas_limit + 100_000;
        let gas = u64::try_from(gas)
            .unwrap_or(u64::MAX)
            .saturating_add(self.config.pre_verification_gas);
        let tx = self.handle_ops_tx(op).with_gas_limit(gas);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| WalletError::Rpc(format!("sending handleOps: {e}")))?;
        let hash = *pending.tx_hash();
        debug!(%hash, "handleOps sent");
        pending
            .with_timeout(Some(self.config.receipt_timeout))
            .get_receipt()
            .await
            .map_err(|e| WalletError::Rpc(format!("handleOps {hash}: no receipt: {e}")))
    }
}

/// The call as the wallet makes it.
fn inner_call(wallet: Address, call: &WalletCall) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(wallet)
        .with_to(call.to)
        .with_value(call.value)
        .with_input(call.data.clone())
}

/// An operation `handleOps` carried, to find in the receipt.
struct SentOperation {
    /// The EntryPoint: only its logs count (a called contract can emit look-alikes).
    entry_point: Address,
    /// The wallet.
    wallet: Address,
    /// The operation.
    user_op: UserOperation,
    /// Its hash (the events' first indexed topic).
    user_op_hash: B256,
}

/// The operation's outcome from the `handleOps` receipt's EntryPoint events.
fn read_receipt(
    sent: SentOperation,
    receipt: &TransactionReceipt,
    return_data: Bytes,
) -> Result<WalletReceipt, WalletError> {
    let SentOperation {
        entry_point,
        wallet,
        user_op,
        user_op_hash,
    } = sent;
    let mut event = None;
    let mut revert_reason = None;
    let mut deployed = false;
    for log in receipt.inner.logs() {
        // Another contract's log, or another operation's.
        if log.address() != entry_point || log.topics().get(1) != Some(&user_op_hash) {
            continue;
        }
        if let Ok(found) = IEntryPoint::UserOperationEvent::decode_log_data(log.data()) {
            event = Some(found);
        } else if let Ok(found) =
            IEntryPoint::UserOperationRevertReason::decode_log_data(log.data())
        {
            revert_reason = Some(decode_revert(&found.revertReason));
        } else if IEntryPoint::AccountDeployed::decode_log_data(log.data()).is_ok() {
            deployed = true;
        }
    }
    let event = event.ok_or_else(|| {
        WalletError::Rpc(format!(
            "handleOps {} has no UserOperationEvent for {user_op_hash} (wallet {wallet})",
            receipt.transaction_hash
        ))
    })?;
    let success = event.success;
    Ok(WalletReceipt {
        user_op,
        user_op_hash,
        transaction_hash: receipt.transaction_hash,
        block_number: receipt.block_number.unwrap_or_default(),
        success,
        revert_reason: if success {
            None
        } else {
            revert_reason.or(Some("reverted without data".into()))
        },
        actual_gas_cost: event.actualGasCost,
        actual_gas_used: event.actualGasUsed,
        deployed,
        return_data: if success { return_data } else { Bytes::new() },
    })
}
