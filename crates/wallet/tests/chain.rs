//! The wallet against the real contracts on anvil: the EntryPoint v0.7, both factories and the
//! session-key account, deployed from the committed artifacts. The oracles are the contracts:
//! `getAddress`, `getUserOpHash`, `grantHash`, the EntryPoint's verdicts and the state the calls
//! leave. One anvil for the whole file (one test), each part a function.

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::SolCall;
use anyhow::{bail, ensure, Context, Result};
use quorate_devnet::anvil::{ensure_installed, Anvil};
use quorate_devnet::tx::Chain;
use quorate_devnet::{deploy_wallets, repo_root, wallet_signers, WalletInfo};
use quorate_wallet::{
    decode_revert, grant_hash, sign_grant, Bundler, BundlerConfig, IAccountFactory, IEntryPoint,
    ISessionKeyAccount, SessionGrant, SignedGrant, UserOperation, WalletCall, WalletError,
    WalletLocator,
};

alloy::sol! {
    #[sol(rpc)]
    interface IWalletTarget {
        function value() external view returns (uint256);
        function writer() external view returns (address);
        function write(uint256 newValue) external payable returns (uint256 previous);
        function refuse(uint256 code) external pure;
    }
}

const ETHER: u64 = 1_000_000_000_000_000_000;

struct Env {
    _anvil: Anvil,
    chain: Chain,
    info: WalletInfo,
    chain_id: u64,
    bundler: Bundler,
    owner: PrivateKeySigner,
    implementation: Address,
}

impl Env {
    fn provider(&self) -> &DynProvider {
        &self.chain.provider
    }

    fn locator(&self, salt: u64) -> WalletLocator {
        WalletLocator {
            factory: self.info.contracts.session_key_account_factory,
            implementation: self.implementation,
            owner: self.owner.address(),
            salt: U256::from(salt),
        }
    }

    fn grant(&self, wallet: Address, valid_for: i64, limit: U256) -> Result<SignedGrant> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
        let grant = SessionGrant {
            key: self.bundler.session_key(),
            valid_until: u64::try_from(now + valid_for).unwrap_or(1),
            spend_limit: limit,
        };
        Ok(sign_grant(&self.owner, self.chain_id, wallet, grant)?)
    }

    async fn fund(&self, to: Address, wei: U256) -> Result<()> {
        let tx = TransactionRequest::default().with_to(to).with_value(wei);
        self.chain
            .send(self.owner.address(), tx, Some(21_000), "fund")
            .await?;
        Ok(())
    }
}

async fn start() -> Result<Env> {
    let root = repo_root();
    let dir = root.join(".devnet");
    std::fs::create_dir_all(&dir)?;
    let anvil = Anvil::start(
        &ensure_installed(&root)?,
        &dir.join("anvil-wallet-test.log"),
    )?;
    let chain = Chain::connect(&anvil.url, &wallet_signers()?)?;
    let chain_id = chain.provider.get_chain_id().await?;
    let info = deploy_wallets(&chain).await?;
    let owner: PrivateKeySigner = info.owners[0].private_key.parse()?;
    let session_key = PrivateKeySigner::random();
    let bundler = Bundler::new(
        chain.provider.clone(),
        info.bundler.address,
        session_key,
        BundlerConfig::new(info.contracts.entry_point, chain_id),
    );
    let implementation = bundler
        .implementation(info.contracts.session_key_account_factory)
        .await?;
    Ok(Env {
        _anvil: anvil,
        chain,
        info,
        chain_id,
        bundler,
        owner,
        implementation,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_against_the_real_contracts() -> Result<()> {
    let env = start().await?;
    addresses_match_the_factories(&env).await?;
    let wallet = first_use_deploys_and_lands(&env).await?;
    refusals_before_sending(&env, wallet).await?;
    account_refuses_what_the_node_would(&env, wallet).await?;
    revoked_on_chain(&env, wallet).await?;
    Ok(())
}

/// The local CREATE2 address is the factory's `getAddress`, for both factories.
async fn addresses_match_the_factories(env: &Env) -> Result<()> {
    for factory in [
        env.info.contracts.session_key_account_factory,
        env.info.contracts.simple_account_factory,
    ] {
        let implementation = env.bundler.implementation(factory).await?;
        for (owner, salt) in [
            (env.owner.address(), 0u64),
            (env.owner.address(), 7),
            (Address::repeat_byte(0x42), u64::MAX),
        ] {
            let salt = U256::from(salt);
            let local =
                quorate_wallet::counterfactual_address(factory, implementation, owner, salt)?;
            let onchain = IAccountFactory::new(factory, env.provider())
                .getAddress(owner, salt)
                .call()
                .await?;
            ensure!(
                local == onchain,
                "factory {factory} owner {owner} salt {salt}: {local} vs {onchain}"
            );
        }
    }
    Ok(())
}

/// A fresh wallet: the first operation deploys it and writes; a second sends ETH; the hash the
/// wallet signs is the EntryPoint's.
async fn first_use_deploys_and_lands(env: &Env) -> Result<Address> {
    let wallet = env.locator(0).address()?;
    ensure!(
        !env.bundler.is_deployed(wallet).await?,
        "fresh wallet already has code"
    );
    env.fund(wallet, U256::from(ETHER)).await?;
    let grant = env.grant(wallet, 3600, U256::from(ETHER / 10))?;
    let target = env.info.contracts.wallet_target;
    let write = IWalletTarget::writeCall {
        newValue: U256::from(42u8),
    }
    .abi_encode();
    let receipt = env
        .bundler
        .send(WalletCall {
            wallet: env.locator(0),
            grant: grant.clone(),
            to: target,
            value: U256::ZERO,
            data: write.into(),
        })
        .await?;
    ensure!(receipt.success && receipt.deployed, "{receipt:?}");
    ensure!(env.bundler.is_deployed(wallet).await?, "not deployed");
    let onchain_hash = IEntryPoint::new(env.info.contracts.entry_point, env.provider())
        .getUserOpHash(receipt.user_op.pack())
        .call()
        .await?;
    ensure!(
        onchain_hash == receipt.user_op_hash,
        "userOpHash differs from the EntryPoint's"
    );
    let state = IWalletTarget::new(target, env.provider());
    ensure!(state.value().call().await? == U256::from(42u8));
    ensure!(
        state.writer().call().await? == wallet,
        "the writer is not the wallet"
    );
    // The simulated return is the previous value, 0.
    ensure!(U256::from_be_slice(&receipt.return_data) == U256::ZERO);
    let onchain_grant = ISessionKeyAccount::new(wallet, env.provider())
        .grantHash(ISessionKeyAccount::SessionGrant {
            key: grant.grant.key,
            validUntil: alloy::primitives::aliases::U48::saturating_from(grant.grant.valid_until),
            spendLimit: grant.grant.spend_limit,
        })
        .call()
        .await?;
    ensure!(
        onchain_grant == grant_hash(env.chain_id, wallet, &grant.grant),
        "grant hash differs"
    );

    let recipient = Address::repeat_byte(0x5a);
    let amount = U256::from(ETHER / 100);
    let receipt = env
        .bundler
        .send(WalletCall {
            wallet: env.locator(0),
            grant,
            to: recipient,
            value: amount,
            data: Bytes::new(),
        })
        .await?;
    ensure!(receipt.success && !receipt.deployed, "{receipt:?}");
    ensure!(env.provider().get_balance(recipient).await? == amount);
    Ok(wallet)
}

/// What the bundler refuses before anything is sent (no nonce is used).
async fn refusals_before_sending(env: &Env, wallet: Address) -> Result<()> {
    let nonce = env.bundler.nonce(wallet).await?;
    let call = |grant: SignedGrant, to: Address, value: u64, data: Vec<u8>| WalletCall {
        wallet: env.locator(0),
        grant,
        to,
        value: U256::from(value),
        data: data.into(),
    };
    let limit = U256::from(ETHER / 10);
    let target = env.info.contracts.wallet_target;
    let refuse = IWalletTarget::refuseCall {
        code: U256::from(1u8),
    }
    .abi_encode();
    match env
        .bundler
        .send(call(env.grant(wallet, 3600, limit)?, target, 0, refuse))
        .await
    {
        Err(WalletError::CallReverted { reason, .. })
            if reason == "WalletTarget: refused nonzero" => {}
        other => bail!("reverting call: {other:?}"),
    }
    // More than the whole limit (spending is counted per grant).
    match env
        .bundler
        .send(call(
            env.grant(wallet, 3600, limit)?,
            Address::repeat_byte(1),
            ETHER / 5,
            vec![],
        ))
        .await
    {
        Err(WalletError::SpendingLimitExceeded { .. }) => {}
        other => bail!("over the limit: {other:?}"),
    }
    match env
        .bundler
        .send(call(
            env.grant(wallet, -5, limit)?,
            Address::repeat_byte(1),
            1,
            vec![],
        ))
        .await
    {
        Err(WalletError::SessionExpired { .. }) => {}
        other => bail!("expired: {other:?}"),
    }
    let mut other_key = env.grant(wallet, 3600, limit)?;
    other_key.grant.key = Address::repeat_byte(3);
    match env
        .bundler
        .send(call(other_key, Address::repeat_byte(1), 1, vec![]))
        .await
    {
        Err(WalletError::BadGrant { .. }) => {}
        other => bail!("grant for another key: {other:?}"),
    }
    ensure!(
        env.bundler.nonce(wallet).await? == nonce,
        "a refused call used a nonce"
    );
    Ok(())
}

/// A hand-built, session-signed operation straight to the EntryPoint (an `eth_call` of
/// `handleOps`), skipping every node-side check: the account and the EntryPoint still refuse.
async fn entry_point_verdict(
    env: &Env,
    wallet: Address,
    grant: &SignedGrant,
    to: Address,
    value: U256,
    key: &PrivateKeySigner,
) -> Result<Option<String>> {
    let fees = env.provider().estimate_eip1559_fees().await?;
    let mut op = UserOperation {
        sender: wallet,
        nonce: env.bundler.nonce(wallet).await?,
        factory: None,
        factory_data: None,
        call_data: ISessionKeyAccount::executeCall {
            dest: to,
            value,
            func: Bytes::new(),
        }
        .abi_encode()
        .into(),
        call_gas_limit: 100_000,
        verification_gas_limit: 200_000,
        pre_verification_gas: U256::from(60_000u32),
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        signature: Bytes::new(),
    };
    let hash = op.hash(env.info.contracts.entry_point, env.chain_id);
    op.signature = grant.user_op_signature(&key.sign_message_sync(hash.as_slice())?);
    let data = IEntryPoint::handleOpsCall {
        ops: vec![op.pack()],
        beneficiary: env.info.bundler.address,
    }
    .abi_encode();
    let tx = TransactionRequest::default()
        .with_from(env.info.bundler.address)
        .with_to(env.info.contracts.entry_point)
        .with_input(data);
    match env.provider().call(tx).await {
        Ok(_) => Ok(None),
        Err(e) => {
            let data = e
                .as_error_resp()
                .and_then(|r| r.as_revert_data())
                .context("no revert data")?;
            Ok(Some(decode_revert(&data)))
        }
    }
}

async fn account_refuses_what_the_node_would(env: &Env, wallet: Address) -> Result<()> {
    let session = PrivateKeySigner::random();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let grant = |valid_until: u64, limit: u64, signer: &PrivateKeySigner| {
        sign_grant(
            signer,
            env.chain_id,
            wallet,
            SessionGrant {
                key: session.address(),
                valid_until,
                spend_limit: U256::from(limit),
            },
        )
    };
    let to = Address::repeat_byte(9);
    // Control: a good grant passes.
    let good = grant(now + 3600, 1000, &env.owner)?;
    ensure!(
        entry_point_verdict(env, wallet, &good, to, U256::from(10u8), &session)
            .await?
            .is_none(),
        "a good operation was refused"
    );
    let cases = [
        (
            "over the limit",
            good.clone(),
            U256::from(1001u32),
            &session,
            "AA24 signature error",
        ),
        (
            "grant by a stranger",
            grant(now + 3600, 1000, &PrivateKeySigner::random())?,
            U256::from(1u8),
            &session,
            "AA24 signature error",
        ),
        (
            "expired",
            grant(now - 10, 1000, &env.owner)?,
            U256::from(1u8),
            &session,
            "AA22 expired or not due",
        ),
    ];
    for (what, grant, value, key, expected) in cases {
        let verdict = entry_point_verdict(env, wallet, &grant, to, value, key).await?;
        ensure!(verdict.as_deref() == Some(expected), "{what}: {verdict:?}");
    }
    // Signed by a key the grant does not name.
    let verdict = entry_point_verdict(
        env,
        wallet,
        &good,
        to,
        U256::from(1u8),
        &PrivateKeySigner::random(),
    )
    .await?;
    ensure!(
        verdict.as_deref() == Some("AA24 signature error"),
        "wrong key: {verdict:?}"
    );
    // A session key may not call the account itself (e.g. to revoke or upgrade).
    let verdict = entry_point_verdict(env, wallet, &good, wallet, U256::ZERO, &session).await?;
    ensure!(
        verdict.as_deref() == Some("AA24 signature error"),
        "call to self: {verdict:?}"
    );
    Ok(())
}

/// The owner revokes a grant on chain: the bundler refuses it, and so does the account.
async fn revoked_on_chain(env: &Env, wallet: Address) -> Result<()> {
    let grant = env.grant(wallet, 3600, U256::from(ETHER / 10))?;
    let hash = grant_hash(env.chain_id, wallet, &grant.grant);
    let revoke = ISessionKeyAccount::revokeSessionCall { hash }.abi_encode();
    env.chain
        .call(env.owner.address(), wallet, revoke.into(), "revokeSession")
        .await?;
    // The account refuses a revoked grant even when the node's check is skipped.
    let session = PrivateKeySigner::random();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let other = sign_grant(
        &env.owner,
        env.chain_id,
        wallet,
        SessionGrant {
            key: session.address(),
            valid_until: now + 3600,
            spend_limit: U256::from(1000u32),
        },
    )?;
    let to = Address::repeat_byte(9);
    ensure!(
        entry_point_verdict(env, wallet, &other, to, U256::from(1u8), &session)
            .await?
            .is_none(),
        "control refused"
    );
    let other_hash = grant_hash(env.chain_id, wallet, &other.grant);
    let revoke_other = ISessionKeyAccount::revokeSessionCall { hash: other_hash }.abi_encode();
    env.chain
        .call(
            env.owner.address(),
            wallet,
            revoke_other.into(),
            "revokeSession",
        )
        .await?;
    let verdict = entry_point_verdict(env, wallet, &other, to, U256::from(1u8), &session).await?;
    ensure!(
        verdict.as_deref() == Some("AA24 signature error"),
        "revoked: {verdict:?}"
    );
    match env
        .bundler
        .send(WalletCall {
            wallet: env.locator(0),
            grant,
            to: Address::repeat_byte(1),
            value: U256::from(1u8),
            data: Bytes::new(),
        })
        .await
    {
        Err(WalletError::SessionRevoked { .. }) => Ok(()),
        other => bail!("revoked: {other:?}"),
    }
}
