//! The quorate binary: standalone aggregator service, demo and command-line tools.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod access;
mod auth;
mod auth_svc;
mod automation;
mod chain;
mod cli;
mod client_svc;
mod compute;
mod config;
mod dev;
mod dev_ledger;
mod equivocation;
mod error;
mod faults;
mod http;
mod intake;
mod lifecycle;
mod metrics;
mod operator_auth;
mod operator_config;
mod operator_pool;
mod operator_svc;
mod quota;
mod ratelimit;
mod record;
mod runtime_config;
mod secret;
mod serve;
mod siwe;
mod smart_wallet;
mod state;
mod store;
mod transport;
mod wallet;

/// mimalloc instead of glibc's malloc: a signature's request is allocated by the thread that
/// decodes it and freed by the thread running its task's actor, which glibc serialises on arena
/// locks (measured with `quorate-bench`: about a quarter of optimistic mode's time per
/// signature).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process. mimalloc asks the kernel for huge pages
/// on the memory it maps, and the kernel zeroes a whole 2 MiB page on its first touch: with a
/// node's churn of task state, that stalled the process for tens of milliseconds at a time
/// (p99 latency 45 ms instead of 3.3 ms at half load in `quorate-bench`) and cost more CPU
/// than the huge pages saved (optimistic throughput 10–38 % higher without them). Best effort:
/// a kernel without the call keeps its default.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

use std::process::ExitCode;

use clap::Parser;

/// Quorate: fast BLS signature aggregation for EigenLayer AVSs.
#[derive(Parser)]
#[command(name = "quorate", version, about)]
// Parsed once at start and consumed right away: the size of the `node` flags does not matter.
#[allow(clippy::large_enum_variant)]
enum Cli {
    /// Run the whole aggregation pipeline in memory on real BN254 keys and print a summary.
    Demo(cli::demo::DemoArgs),
    /// Normalize operators' numeric responses to one consensus document (median + tolerance).
    Consensus(cli::consensus::ConsensusArgs),
    /// Run the aggregator as a gRPC service with durable state (`--dev` for embedded defaults).
    Node(config::NodeArgs),
    /// Client of a running node: create, get, list, watch and cancel tasks.
    Task(cli::task::TaskArgs),
    /// Operator processes for a running node.
    Operator(cli::operator::OperatorArgs),
    /// Client of a running node: create, list, trigger and cancel automation workflows.
    Workflow(cli::workflow::WorkflowArgs),
    /// Client of a running node: a workflow's executions, their steps, proofs and statistics.
    Execution(cli::workflow::ExecutionArgs),
    /// Client of a running node: write-only secrets that workflow steps read.
    Secret(cli::workflow::SecretArgs),
    /// Client of a running node: smart wallets, their nonces and session-key grants.
    Wallet(cli::wallet::WalletArgs),
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let result = match Cli::parse() {
        Cli::Demo(args) => cli::demo::run(args),
        Cli::Consensus(args) => cli::consensus::run(args),
        Cli::Node(args) => serve::run(args),
        Cli::Task(args) => cli::task::run(args),
        Cli::Operator(args) => cli::operator::run(args),
        Cli::Workflow(args) => cli::workflow::run_workflow(args),
        Cli::Execution(args) => cli::workflow::run_execution(args),
        Cli::Secret(args) => cli::workflow::run_secret(args),
        Cli::Wallet(args) => cli::wallet::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
