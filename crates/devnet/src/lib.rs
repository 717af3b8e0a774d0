//! A local EigenLayer (slashing era) with a BLS AVS on a bare anvil, from one async call, with no
//! Docker and no state dump: anvil from npm, EigenLayer core and middleware, the Incredible
//! Squaring AVS, quorums and N registered operators with BLS keys, returned as typed handles.
//!
//! `cargo xtask devnet` runs the `quorate-devnet` binary (keeps one up and writes its
//! description to `.devnet/devnet.json`); the e2e suite calls [`up`] directly:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let args = quorate_devnet::DevnetArgs { operators: 10, quorums: 2, seed: 1, out: None };
//! let devnet = quorate_devnet::up(&args).await?;
//! println!("RPC {} with {} operators", devnet.info.rpc_url, devnet.info.operators.len());
//! # Ok(())
//! # }
//! ```

// Every dependency in Cargo.toml is used (CI: clippy -D warnings).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod anvil;
pub mod attestation;
pub use attestation::IAttestationTaskManager;
pub mod checker_vectors;
pub mod deploy;
pub mod fault_proxy;
pub mod operators;
pub mod tx;
/// The format of the checker vectors, shared with their readers (see its module docs).
#[path = "../../testkit/src/vectors/schema.rs"]
pub mod vector_schema;

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use quorate_bls::KeyPair;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use self::anvil::Anvil;
use self::deploy::{Contracts, WalletContracts};
use self::operators::{DevnetOperator, OperatorPlan, QuorumKind};
use self::tx::Chain;

/// Anvil's first two default accounts: the owner/task generator and the aggregator.
const OWNER_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const AGGREGATOR_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Anvil's accounts 2 to 5: the wallet contracts' deployer, a node's bundler, and two wallet
/// owners for tests and examples.
const WALLET_DEPLOYER_KEY: &str =
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const BUNDLER_KEY: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const WALLET_OWNER_KEYS: [&str; 2] = [
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
];

/// What devnet to bring up (the options of `cargo xtask devnet`).
#[derive(clap::Args, Clone, Debug)]
pub struct DevnetArgs {
    /// Operators to register.
    #[arg(long, default_value_t = 10)]
    pub operators: usize,
    /// Quorums to create (the last one is slashable-stake when there are two or more).
    #[arg(long, default_value_t = 2)]
    pub quorums: u8,
    /// Seed for keys, stakes and memberships (same seed, same devnet).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the description (default: .devnet/devnet.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// An account with its key (devnet only).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    /// Address.
    pub address: Address,
    /// 0x-hex secp256k1 key.
    pub private_key: String,
}

/// Everything `cargo xtask devnet` writes to its JSON file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevnetInfo {
    /// `http://127.0.0.1:<port>`.
    pub rpc_url: String,
    /// Chain id.
    pub chain_id: u64,
    /// anvil's pid (to tell whether it still runs).
    pub anvil_pid: Option<u32>,
    /// Seed used.
    pub seed: u64,
    /// Owner of every contract and task generator.
    pub owner: Account,
    /// The account allowed to respond to SquaringTask tasks.
    pub aggregator: Account,
    /// Addresses.
    pub contracts: Contracts,
    /// Quorum kinds by number.
    pub quorums: Vec<QuorumKind>,
    /// Operators.
    pub operators: Vec<DevnetOperator>,
    /// Block after the last registration.
    pub ready_block: u64,
    /// ERC-4337 contracts and accounts for smart-wallet steps (absent in files written before
    /// they were deployed).
    #[serde(default)]
    pub wallets: Option<WalletInfo>,
}

/// The smart-wallet part of a devnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WalletInfo {
    /// Contract addresses.
    pub contracts: WalletContracts,
    /// A funded account for a node's bundler (sends `handleOps`).
    pub bundler: Account,
    /// Funded EOAs to own wallets.
    pub owners: Vec<Account>,
}

fn account(key: &str) -> Result<Account> {
    let signer: PrivateKeySigner = key.parse()?;
    Ok(Account {
        address: signer.address(),
        private_key: key.into(),
    })
}

/// Deploys the wallet contracts on `chain` (which must sign for anvil's account 2) and names
/// the bundler and owner accounts.
pub async fn deploy_wallets(chain: &Chain) -> Result<WalletInfo> {
    let deployer = account(WALLET_DEPLOYER_KEY)?;
    let contracts = deploy::deploy_wallet_contracts(chain, deployer.address).await?;
    Ok(WalletInfo {
        contracts,
        bundler: account(BUNDLER_KEY)?,
        owners: WALLET_OWNER_KEYS
            .iter()
            .map(|k| account(k))
            .collect::<Result<_>>()?,
    })
}

/// Signers of the wallet accounts (deployer, bundler, owners).
pub fn wallet_signers() -> Result<Vec<PrivateKeySigner>> {
    [WALLET_DEPLOYER_KEY, BUNDLER_KEY]
        .iter()
        .chain(WALLET_OWNER_KEYS.iter())
        .map(|k| Ok(k.parse()?))
        .collect()
}

/// The repository root (this crate lives two levels below it): anvil is installed under its
/// `.tools/` and devnet files go to its `.devnet/`.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Deterministic operator plans: keys, deposits and memberships from the seed.
pub fn plan_operators(n: usize, quorums: u8, seed: u64) -> Vec<OperatorPlan> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let signer = loop {
                let bytes: [u8; 32] = rng.gen();
                if let Ok(s) = PrivateKeySigner::from_bytes(&B256::from(bytes)) {
                    break s;
                }
            };
            let bls = KeyPair::random(&mut rng);
            // Different stakes: 1..=100 tokens plus a random fraction.
            let whole = rng.gen_range(1u64..=100);
            let frac = rng.gen_range(0u64..1_000_000_000_000_000_000);
            let deposit =
                U256::from(whole) * U256::from(1_000_000_000_000_000_000u64) + U256::from(frac);
            // Every quorum gets someone (operator i joins quorum i mod Q), and about half of
            // the operators are in several quorums.
            let mut qs: Vec<u8> = (0..quorums).filter(|_| rng.gen_bool(0.5)).collect();
            if quorums > 0 {
                qs.push((i % usize::from(quorums)) as u8);
            }
            qs.sort_unstable();
            qs.dedup();
            let slashable_magnitude =
                rng.gen_range(300_000_000_000_000_000u64..=1_000_000_000_000_000_000);
            OperatorPlan {
                signer,
                bls,
                deposit,
                quorums: qs,
                slashable_magnitude,
            }
        })
        .collect()
}

/// The quorum kinds for `q` quorums: total-delegated ones, then one slashable (if q ≥ 2).
pub fn quorum_kinds(q: u8) -> Vec<QuorumKind> {
    (0..q)
        .map(|i| {
            if q >= 2 && i == q - 1 {
                QuorumKind::Slashable
            } else {
                QuorumKind::TotalDelegated
            }
        })
        .collect()
}

/// A devnet that is up: anvil (stopped on drop), its description and a provider for it.
pub struct Devnet {
    /// The node.
    pub anvil: Anvil,
    /// The description.
    pub info: DevnetInfo,
    /// Signing provider (owner, aggregator, operators) with a call counter.
    pub chain: Chain,
    /// Operator plans (BLS keys included).
    pub plans: Vec<OperatorPlan>,
}

/// Installs anvil if needed, starts it, deploys and registers everything.
pub async fn up(args: &DevnetArgs) -> Result<Devnet> {
    if args.quorums == 0 || args.quorums > 192 {
        bail!("--quorums must be in 1..=192");
    }
    let root = repo_root();
    let dir = root.join(".devnet");
    std::fs::create_dir_all(&dir)?;
    let bin = anvil::ensure_installed(&root)?;
    let started = Instant::now();
    let anvil = Anvil::start(&bin, &dir.join("anvil.log"))?;
    let owner: PrivateKeySigner = OWNER_KEY.parse()?;
    let aggregator: PrivateKeySigner = AGGREGATOR_KEY.parse()?;
    let plans = plan_operators(args.operators, args.quorums, args.seed);
    let mut signers = vec![owner.clone(), aggregator.clone()];
    signers.extend(wallet_signers()?);
    signers.extend(plans.iter().map(|p| p.signer.clone()));
    let chain = Chain::connect(&anvil.url, &signers)?;
    let chain_id = chain
        .provider
        .get_chain_id()
        .await
        .context("anvil not answering")?;

    let contracts = deploy::deploy_all(&chain, owner.address(), aggregator.address()).await?;
    eprintln!("devnet: contracts deployed in {:.1?}", started.elapsed());
    let kinds = quorum_kinds(args.quorums);
    operators::create_quorums(&chain, owner.address(), &contracts, &kinds).await?;
    operators::make_operators(&chain, owner.address(), &contracts, &plans).await?;
    let slashable = kinds
        .iter()
        .position(|k| *k == QuorumKind::Slashable)
        .map(|q| q as u8);
    let registered = operators::register_operators(&chain, &contracts, &plans, slashable).await?;
    let wallets = deploy_wallets(&chain).await?;
    let ready_block = chain.provider.get_block_number().await?;
    eprintln!(
        "devnet: {} operators in {} quorums registered in {:.1?} (block {ready_block}, {} RPC calls)",
        plans.len(),
        kinds.len(),
        started.elapsed(),
        chain.counter.total()
    );
    let operators = plans
        .iter()
        .zip(&registered)
        .map(|(p, &registered_block)| DevnetOperator {
            address: p.signer.address(),
            ecdsa_private_key: format!("0x{}", alloy::hex::encode(p.signer.to_bytes())),
            bls_private_key: p.bls.secret().expose_scalar().to_string(),
            operator_id: p.bls.operator_id().to_string(),
            quorums: p.quorums.clone(),
            deposit: p.deposit,
            slashable_magnitude: if slashable.is_some_and(|q| p.quorums.contains(&q)) {
                p.slashable_magnitude
            } else {
                0
            },
            registered_block,
        })
        .collect();
    let info = DevnetInfo {
        rpc_url: anvil.url.clone(),
        chain_id,
        anvil_pid: anvil.pid(),
        seed: args.seed,
        owner: Account {
            address: owner.address(),
            private_key: OWNER_KEY.into(),
        },
        aggregator: Account {
            address: aggregator.address(),
            private_key: AGGREGATOR_KEY.into(),
        },
        contracts,
        quorums: kinds,
        operators,
        ready_block,
        wallets: Some(wallets),
    };
    Ok(Devnet {
        anvil,
        info,
        chain,
        plans,
    })
}
