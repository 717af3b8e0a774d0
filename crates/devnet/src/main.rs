//! `quorate-devnet` (what `cargo xtask devnet` runs): brings a devnet up, writes its description
//! (RPC URL, addresses, operator keys) to `.devnet/devnet.json` and keeps anvil running until
//! Ctrl-C. A devnet from an earlier run that still answers is reused as is.
//!
//! `quorate-devnet record-checker-vectors` instead brings up a fresh devnet, records known
//! answers of the on-chain `checkSignatures` into `crates/testkit/vectors/check_signatures.json`
//! and stops (see `quorate_devnet::checker_vectors`).

use std::path::Path;

use alloy::providers::Provider;
use anyhow::Result;
use clap::{Parser, Subcommand};
use quorate_devnet::checker_vectors::{self, RecordArgs};
use quorate_devnet::{repo_root, up, DevnetArgs, DevnetInfo};

/// Options of `cargo xtask devnet`.
#[derive(Parser)]
#[command(name = "quorate-devnet", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: DevnetArgs,
}

/// Other things to do than keeping a devnet up.
#[derive(Subcommand)]
enum Command {
    /// Bring up a fresh devnet, record known answers of the on-chain checkSignatures and
    /// trySignatureAndApkVerification into a JSON file, and stop.
    RecordCheckerVectors(RecordArgs),
}

/// Whether the devnet described in `path` still answers and holds its registry.
async fn still_running(path: &Path) -> Option<DevnetInfo> {
    let text = std::fs::read_to_string(path).ok()?;
    let info: DevnetInfo = serde_json::from_str(&text).ok()?;
    let provider =
        alloy::providers::ProviderBuilder::new().connect_http(info.rpc_url.parse().ok()?);
    let code = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        provider.get_code_at(info.contracts.registry_coordinator),
    )
    .await
    .ok()?
    .ok()?;
    (!code.is_empty()).then_some(info)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(Command::RecordCheckerVectors(record)) = cli.command {
        return rt.block_on(checker_vectors::run(&record));
    }
    let args = cli.args;
    rt.block_on(async move {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| repo_root().join(".devnet").join("devnet.json"));
        // Idempotent: a devnet from an earlier run that still answers is reused as is.
        if let Some(info) = still_running(&out).await {
            if info.operators.len() == args.operators
                && info.quorums.len() == usize::from(args.quorums)
                && info.seed == args.seed
            {
                println!(
                    "devnet: already running at {} (pid {:?}); description in {}",
                    info.rpc_url,
                    info.anvil_pid,
                    out.display()
                );
                return Ok(());
            }
        }
        let mut devnet = up(&args).await?;
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&out, serde_json::to_string_pretty(&devnet.info)?)?;
        println!(
            "devnet: RPC {} (chain id {})",
            devnet.info.rpc_url, devnet.info.chain_id
        );
        println!(
            "devnet: addresses, operator keys and RPC URL written to {}",
            out.display()
        );
        println!("devnet: press Ctrl-C to stop anvil");
        tokio::signal::ctrl_c().await?;
        devnet.anvil.stop();
        println!("devnet: anvil stopped");
        Ok(())
    })
}
