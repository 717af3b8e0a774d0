//! Smart wallets on the devnet (#15): a chain-mode node with a `[wallets]` table (EntryPoint,
//! session-key factory, session and bundler keys) and two owners, alice and bob, each an API
//! key with an address. Alice's fresh wallet is funded at its counterfactual address, she
//! signs a grant for the node's session key, and a workflow's run writes to `WalletTarget`
//! and sends ETH from it: the first operation deploys the account. Then every refusal: bob
//! naming alice's wallet, a grant not signed by the owner, a reverting call (later steps do
//! not run), the spending limit, a revoked and an expired session. The oracles are the chain
//! (code, balances, contract state, the factory's `getAddress`, the EntryPoint's nonce).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{anyhow, bail, ensure, Context, Result};
use quorate_api::pb;
use quorate_api::pb::wallet_service_client::WalletServiceClient;
use quorate_api::pb::workflow_service_client::WorkflowServiceClient;
use quorate_wallet::{sign_grant, IAccountFactory, SessionGrant};
use serde_json::{json, Value};
use tonic::transport::Channel;

use super::env::Env;
use super::node::{self, Avs, Children};

alloy::sol! {
    #[sol(rpc)]
    interface IWalletTarget {
        function value() external view returns (uint256);
        function writer() external view returns (address);
        function writes() external view returns (uint256);
    }
}

const ETHER: u64 = 1_000_000_000_000_000_000;
/// Alice's spending limit: 0.05 ether.
const LIMIT: u64 = ETHER / 20;
/// What the first workflow sends: 0.01 ether.
const SENT: u64 = ETHER / 100;

/// One owner's clients.
struct Owner {
    key: String,
    signer: PrivateKeySigner,
    wallets: WalletServiceClient<Channel>,
    workflows: WorkflowServiceClient<Channel>,
}

impl Owner {
    async fn connect(grpc: &str, key: &str, signer: PrivateKeySigner) -> Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(grpc.to_owned())?
            .connect()
            .await?;
        Ok(Self {
            key: key.to_owned(),
            signer,
            wallets: WalletServiceClient::new(channel.clone()),
            workflows: WorkflowServiceClient::new(channel),
        })
    }

    fn req<T>(&self, msg: T) -> Result<tonic::Request<T>> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("x-api-key", self.key.parse()?);
        Ok(r)
    }

    async fn wallet(&mut self) -> Result<pb::WalletInfo> {
        let r = self.req(pb::GetWalletRequest::default())?;
        Ok(self.wallets.get_wallet(r).await?.into_inner())
    }

    async fn nonce(&mut self) -> Result<String> {
        let r = self.req(pb::GetWalletRequest::default())?;
        Ok(self.wallets.get_nonce(r).await?.into_inner().nonce)
    }

    /// Signs and stores a grant for `key` on the wallet at `account`.
    async fn authorize(
        &mut self,
        chain_id: u64,
        account: Address,
        key: Address,
        valid_until: u64,
        signer: &PrivateKeySigner,
    ) -> Result<pb::SessionInfo, tonic::Status> {
        let grant = SessionGrant {
            key,
            valid_until,
            spend_limit: U256::from(LIMIT),
        };
        let signed = sign_grant(signer, chain_id, account, grant)
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
        let r = self
            .req(pb::AuthorizeSessionRequest {
                salt: String::new(),
                factory: String::new(),
                session_key: key.to_string(),
                valid_until,
                spend_limit: LIMIT.to_string(),
                owner_signature: signed.owner_signature.to_string(),
            })
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
        Ok(self.wallets.authorize_session(r).await?.into_inner())
    }

    async fn create(&mut self, spec: &Value) -> Result<String, tonic::Status> {
        let r = self
            .req(pb::CreateWorkflowRequest {
                spec_json: spec.to_string(),
            })
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
        Ok(self.workflows.create_workflow(r).await?.into_inner().id)
    }

    /// Runs a workflow by hand and waits for the execution to finish.
    async fn run(&mut self, id: &str, data: Value) -> Result<pb::Execution> {
        let r = self.req(pb::TriggerWorkflowRequest {
            id: id.to_owned(),
            blocking: false,
            trigger_data_json: data.to_string(),
        })?;
        let execution_id = self
            .workflows
            .trigger_workflow(r)
            .await?
            .into_inner()
            .execution_id;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.req(pb::ExecutionIdRequest {
                workflow_id: id.to_owned(),
                execution_id: execution_id.clone(),
            })?;
            let e = self.workflows.get_execution(r).await?.into_inner();
            if e.status == "finished" {
                return Ok(e);
            }
            ensure!(
                Instant::now() < deadline,
                "execution {execution_id} did not finish in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn status(&mut self, id: &str) -> Result<String> {
        let r = self.req(pb::WorkflowIdRequest { id: id.to_owned() })?;
        Ok(self.workflows.get_workflow(r).await?.into_inner().status)
    }
}

fn steps(e: &pb::Execution) -> Result<Vec<Value>> {
    Ok(serde_json::from_str(&e.steps_json)?)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A write to `WalletTarget` and an ETH transfer after it.
fn write_then_send(target: Address, recipient: Address, amount: u64) -> Value {
    json!({
        "name": "write then send",
        "trigger": { "type": "manual" },
        "nodes": [
            { "id": "write", "name": "write", "type": "contract_write", "address": target,
              "method": "function write(uint256 newValue) payable returns (uint256 previous)",
              "args": ["{{trigger.data.input.value}}"] },
            { "id": "send", "name": "send", "type": "eth_transfer",
              "destination": recipient.to_string(), "amount": amount.to_string() }
        ],
        "edges": [ { "source": "write", "target": "send" } ]
    })
}

/// Writes the node's TOML: two client keys with addresses, automation, and the wallets table
/// with key files.
fn write_config(
    dir: &std::path::Path,
    env: &Env,
    session_key: &PrivateKeySigner,
) -> Result<(std::path::PathBuf, [String; 4])> {
    let wallets = env
        .devnet
        .info
        .wallets
        .as_ref()
        .context("the devnet has no wallet contracts")?;
    let keys =
        [0, 1, 2, 3].map(|_| format!("e2e-{}", alloy::hex::encode(rand::random::<[u8; 16]>())));
    let file = |name: &str, text: &str| -> Result<std::path::PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(path)
    };
    let session_file = file(
        "session.key",
        &format!("0x{}", alloy::hex::encode(session_key.to_bytes())),
    )?;
    let bundler_file = file("bundler.key", &wallets.bundler.private_key)?;
    let toml = format!(
        "[[api_keys]]\nname = \"alice\"\nkey = \"{}\"\nrole = \"client\"\naddress = \"{}\"\n\n\
         [[api_keys]]\nname = \"bob\"\nkey = \"{}\"\nrole = \"client\"\naddress = \"{}\"\n\n\
         [[api_keys]]\nname = \"carol\"\nkey = \"{}\"\nrole = \"client\"\n\n\
         [[api_keys]]\nname = \"auditor\"\nkey = \"{}\"\nrole = \"readonly\"\naddress = \"{}\"\n\n\
         [wallets]\nenabled = true\nentry_point = \"{}\"\ndefault_factory = \"{}\"\n\
         session_key_file = {:?}\nbundler_key_file = {:?}\n",
        keys[0],
        wallets.owners[0].address,
        keys[1],
        wallets.owners[1].address,
        keys[2],
        keys[3],
        wallets.owners[0].address,
        wallets.contracts.entry_point,
        wallets.contracts.session_key_account_factory,
        session_file.display().to_string(),
        bundler_file.display().to_string(),
    );
    let path = file("node.toml", &toml)?;
    Ok((path, keys))
}

/// Runs every part; returns how many passed (each prints an `ok` line).
pub async fn run(env: &Env) -> Result<u32> {
    let started = Instant::now();
    let info = &env.devnet.info;
    let wallets = info
        .wallets
        .clone()
        .context("the devnet has no wallet contracts")?;
    let provider = &env.devnet.chain.provider;
    let dir = std::env::temp_dir().join(format!("quorate-e2e-wallets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let session_key = PrivateKeySigner::random();
    let (config, keys) = write_config(&dir, env, &session_key)?;
    let avs_file = super::env::example_avs_path(Avs::IncrediblySquaring.name());
    let mut node_proc = Children::default();
    let (_, grpc) = node::start_node(
        &mut node_proc,
        &node::quorate_bin()?,
        env,
        &avs_file,
        &dir.join("node.redb"),
        &config,
    )?;
    let alice_signer: PrivateKeySigner = wallets.owners[0].private_key.parse()?;
    let bob_signer: PrivateKeySigner = wallets.owners[1].private_key.parse()?;
    let mut alice = Owner::connect(&grpc, &keys[0], alice_signer.clone()).await?;
    let mut bob = Owner::connect(&grpc, &keys[1], bob_signer).await?;
    let mut passed = 0;

    // ---- 1: the wallet before it exists ----
    let r = alice.req(pb::GetSessionKeyRequest {})?;
    let node_key = alice.wallets.get_session_key(r).await?.into_inner();
    ensure!(
        node_key.session_key.parse::<Address>()? == session_key.address(),
        "GetSessionKey: {node_key:?}"
    );
    let chain_id = node_key.chain_id;
    let factory = wallets.contracts.session_key_account_factory;
    let wallet_info = alice.wallet().await?;
    let wallet: Address = wallet_info.address.parse()?;
    let expected = IAccountFactory::new(factory, provider)
        .getAddress(alice.signer.address(), U256::ZERO)
        .call()
        .await?;
    ensure!(
        wallet == expected,
        "GetWallet says {wallet}, the factory's getAddress {expected}"
    );
    ensure!(
        !wallet_info.deployed && provider.get_code_at(wallet).await?.is_empty(),
        "a fresh wallet has code"
    );
    let bob_wallet: Address = bob.wallet().await?.address.parse()?;
    ensure!(bob_wallet != wallet, "bob got alice's wallet");
    let funding = TransactionRequest::default()
        .with_to(wallet)
        .with_value(U256::from(ETHER));
    env.devnet
        .chain
        .send(
            alice.signer.address(),
            funding,
            Some(21_000),
            "fund the wallet",
        )
        .await?;
    println!("ok   wallets: GetWallet = factory.getAddress(alice, 0) = {wallet}, not deployed; bob's is {bob_wallet}");
    passed += 1;

    // ---- 2: grants: a stranger's signature is refused, the owner's stored ----
    let until = now() + 3600;
    match alice
        .authorize(
            chain_id,
            wallet,
            session_key.address(),
            until,
            &PrivateKeySigner::random(),
        )
        .await
    {
        Err(s) if s.code() == tonic::Code::InvalidArgument => {
            println!(
                "ok   wallets: a grant not signed by the owner is refused: {}",
                s.message()
            );
            passed += 1;
        }
        other => bail!("a stranger's grant: {other:?}"),
    }
    // The owner's grant through the CLI (`quorate wallet authorize` signs it locally).
    let owner_key = dir.join("alice.key");
    std::fs::write(&owner_key, &wallets.owners[0].private_key)?;
    let out = std::process::Command::new(node::quorate_bin()?)
        .args([
            "wallet",
            "--node",
            &grpc,
            "authorize",
            "--valid-for",
            "3600",
        ])
        .args(["--spend-limit", &LIMIT.to_string(), "--owner-key-file"])
        .arg(&owner_key)
        .env("QUORATE_API_KEY", &keys[0])
        .output()?;
    ensure!(
        out.status.success(),
        "quorate wallet authorize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let session: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        session["wallet"]
            .as_str()
            .and_then(|w| w.parse::<Address>().ok())
            == Some(wallet)
            && session["spend_limit"] == json!(LIMIT.to_string()),
        "quorate wallet authorize printed {session}"
    );

    // ---- 3: the workflow deploys the wallet, writes and sends ----
    let target = wallets.contracts.wallet_target;
    let recipient = Address::from(rand::random::<[u8; 20]>());
    let main_wf = alice
        .create(&write_then_send(target, recipient, SENT))
        .await
        .map_err(|s| anyhow!("CreateWorkflow: {s}"))?;
    let e = alice.run(&main_wf, json!({ "value": 777 })).await?;
    ensure!(e.success, "the wallet workflow failed: {}", e.error);
    let recorded = steps(&e)?;
    ensure!(recorded.len() == 2, "{} steps", recorded.len());
    let write = &recorded[0]["output"];
    ensure!(
        write["receipt"]["success"] == json!(true)
            && write["receipt"]["deployedWallet"] == json!(true),
        "write step: {write}"
    );
    ensure!(
        write["userOp"]["factory"]
            .as_str()
            .is_some_and(|f| f.eq_ignore_ascii_case(&factory.to_string())),
        "the first operation carries no initCode: {}",
        write["userOp"]
    );
    ensure!(
        write["values"] == json!(["0"]),
        "decoded return: {}",
        write["values"]
    );
    let send = &recorded[1]["output"];
    ensure!(
        send["receipt"]["success"] == json!(true)
            && send["receipt"]["deployedWallet"] == json!(false),
        "send step: {send}"
    );
    ensure!(
        !provider.get_code_at(wallet).await?.is_empty(),
        "the wallet was not deployed"
    );
    let state = IWalletTarget::new(target, provider);
    ensure!(
        state.value().call().await? == U256::from(777u32),
        "WalletTarget.value"
    );
    ensure!(
        state.writer().call().await? == wallet,
        "WalletTarget.writer is not the wallet"
    );
    ensure!(
        provider.get_balance(recipient).await? == U256::from(SENT),
        "recipient balance"
    );
    ensure!(
        alice.nonce().await? == "2",
        "EntryPoint nonce after two operations"
    );
    let listed = alice.wallet().await?;
    ensure!(
        listed.deployed && listed.workflows_by_status.get("active") == Some(&1),
        "GetWallet after: {listed:?}"
    );
    println!(
        "ok   wallets: a workflow run deployed {wallet} through initCode, wrote 777 (userOp {}, tx {}) and sent {SENT} wei (tx {}); nonce 2",
        write["userOpHash"].as_str().unwrap_or_default(),
        write["receipt"]["transactionHash"].as_str().unwrap_or_default(),
        send["receipt"]["transactionHash"].as_str().unwrap_or_default()
    );
    passed += 1;

    // ---- 4: bob cannot act from alice's wallet ----
    let mut theft = write_then_send(target, Address::from(rand::random::<[u8; 20]>()), 1);
    theft["wallet"] = json!({ "address": wallet });
    match bob.create(&theft).await {
        Err(s) if s.code() == tonic::Code::PermissionDenied => {
            let r = bob.req(pb::CountRequest::default())?;
            let count = bob
                .workflows
                .get_workflow_count(r)
                .await?
                .into_inner()
                .count;
            ensure!(count == 0, "a refused workflow was stored");
            println!(
                "ok   wallets: bob naming alice's wallet is refused: {}",
                s.message()
            );
            passed += 1;
        }
        other => bail!("bob's workflow on alice's wallet: {other:?}"),
    }

    // ---- 4b: callers that may not touch wallets ----
    let mut carol = Owner::connect(&grpc, &keys[2], PrivateKeySigner::random()).await?;
    match carol.wallet().await {
        Err(e)
            if e.downcast_ref::<tonic::Status>().map(|s| s.code())
                == Some(tonic::Code::FailedPrecondition) => {}
        other => bail!("a caller without an address got a wallet: {other:?}"),
    }
    match carol
        .create(&write_then_send(target, Address::ZERO, 1))
        .await
    {
        Err(s) if s.code() == tonic::Code::FailedPrecondition => {}
        other => bail!("a caller without an address created a wallet workflow: {other:?}"),
    }
    let mut auditor = Owner::connect(&grpc, &keys[3], alice_signer.clone()).await?;
    match auditor
        .authorize(
            chain_id,
            wallet,
            session_key.address(),
            until,
            &alice_signer,
        )
        .await
    {
        Err(s) if s.code() == tonic::Code::PermissionDenied => {}
        other => bail!("a read-only key authorized a session: {other:?}"),
    }
    let anonymous = tonic::Request::new(pb::GetWalletRequest::default());
    match alice.wallets.get_wallet(anonymous).await {
        Err(s) if s.code() == tonic::Code::Unauthenticated => {}
        other => bail!("no credentials got a wallet: {other:?}"),
    }
    println!("ok   wallets: no address (FAILED_PRECONDITION, also for a wallet workflow), a read-only key (PERMISSION_DENIED) and no credentials (UNAUTHENTICATED) are refused");
    passed += 1;

    // ---- 5: a reverting call fails with its reason; the transfer after it does not run ----
    let nonce_before = alice.nonce().await?;
    let second = Address::from(rand::random::<[u8; 20]>());
    let reverting = json!({
        "name": "refused write",
        "trigger": { "type": "manual" },
        "nodes": [
            { "id": "refuse", "name": "refuse", "type": "contract_write", "address": target,
              "method": "function refuse(uint256 code)", "args": ["1"] },
            { "id": "send", "name": "send", "type": "eth_transfer",
              "destination": second.to_string(), "amount": "1" }
        ],
        "edges": [ { "source": "refuse", "target": "send" } ]
    });
    let id = alice.create(&reverting).await.map_err(|s| anyhow!("{s}"))?;
    let e = alice.run(&id, json!({})).await?;
    ensure!(
        !e.success && e.error.contains("WalletTarget: refused nonzero"),
        "reverting call: {}",
        e.error
    );
    ensure!(steps(&e)?.len() == 1, "a step after the reverting call ran");
    ensure!(
        provider.get_balance(second).await?.is_zero(),
        "the transfer after the revert happened"
    );
    ensure!(
        alice.nonce().await? == nonce_before,
        "a refused call used a nonce"
    );
    println!(
        "ok   wallets: a reverting call fails its step ({}); the transfer after it did not run",
        e.error
    );
    passed += 1;

    // ---- 6: the spending limit (0.01 of 0.05 ether spent) ----
    let third = Address::from(rand::random::<[u8; 20]>());
    let over = json!({
        "name": "too much", "trigger": { "type": "manual" },
        "nodes": [ { "id": "send", "name": "send", "type": "eth_transfer",
                     "destination": third.to_string(), "amount": (LIMIT - SENT + 1).to_string() } ]
    });
    let id = alice.create(&over).await.map_err(|s| anyhow!("{s}"))?;
    let e = alice.run(&id, json!({})).await?;
    ensure!(
        !e.success && e.error.contains("spending_limit_exceeded"),
        "over the limit: {}",
        e.error
    );
    ensure!(
        provider.get_balance(third).await?.is_zero(),
        "ETH over the limit was sent"
    );
    println!(
        "ok   wallets: a transfer over the spending limit is refused: {}",
        e.error
    );
    passed += 1;

    // ---- 7: a revoked session; the workflow keeps its state ----
    let r = alice.req(pb::GetWalletRequest::default())?;
    let revoked = alice.wallets.revoke_session(r).await?.into_inner();
    ensure!(revoked.revoked_at_ms > 0, "RevokeSession: {revoked:?}");
    let writes = state.writes().call().await?;
    let e = alice.run(&main_wf, json!({ "value": 1 })).await?;
    ensure!(
        !e.success && e.error.contains("session_revoked"),
        "revoked: {}",
        e.error
    );
    ensure!(
        state.writes().call().await? == writes,
        "a revoked session wrote"
    );
    let status = alice.status(&main_wf).await?;
    ensure!(
        status == "active",
        "the workflow is {status} after a refused run"
    );
    println!(
        "ok   wallets: a revoked session fails the step ({}); the workflow stays {status}",
        e.error
    );
    passed += 1;

    // ---- 8: an expired session (and one already expired is not stored) ----
    match alice
        .authorize(
            chain_id,
            wallet,
            session_key.address(),
            now() - 1,
            &alice_signer,
        )
        .await
    {
        Err(s) if s.code() == tonic::Code::InvalidArgument => {}
        other => bail!("an expired grant was stored: {other:?}"),
    }
    let short = now() + 3;
    alice
        .authorize(
            chain_id,
            wallet,
            session_key.address(),
            short,
            &alice_signer,
        )
        .await
        .map_err(|s| anyhow!("AuthorizeSession: {s}"))?;
    while now() <= short {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let e = alice.run(&main_wf, json!({ "value": 2 })).await?;
    ensure!(
        !e.success && e.error.contains("session_expired"),
        "expired: {}",
        e.error
    );
    ensure!(
        state.writes().call().await? == writes,
        "an expired session wrote"
    );
    println!(
        "ok   wallets: an expired session fails the step ({})",
        e.error
    );
    passed += 1;

    println!("ok   wallets: {passed} parts in {:.1?}", started.elapsed());
    drop(node_proc);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(passed)
}
