//! `quorate-devnet record-checker-vectors`: known answers of the REAL on-chain
//! `BLSSignatureChecker` (the Incredible Squaring task manager inherits it), recorded on a fresh
//! devnet, for the unit tests of Quorate's two in-memory re-implementations (the runtime's
//! `InMemorySubmitter::check` and `quorate_bls::check_aggregate`): an oracle that is not the code
//! under test.
//!
//! For each case the recorder builds `checkSignatures` arguments (indices from the on-chain
//! `OperatorStateRetriever.getCheckSignaturesIndices`), possibly tampers with them, and records
//! what `eth_call` answered: the stakes and signatory record hash, or the decoded revert. It
//! also calls the checker's public `trySignatureAndApkVerification` and records its two
//! booleans, and reads γ from `debug_traceCall` traces of both calls (the output of the `MOD`
//! by the scalar field order applied to the 288-byte `KECCAK256`), so γ comes from the EVM, not
//! from our code. The operator state each case needs (keys, stakes, totals, quorum apks) is
//! read from the registries at the reference block; the apks, which the chain only keeps as
//! 24-byte hashes, are summed here and checked against those hashes.
//!
//! Our BLS code is used only to *build inputs* (signatures, aggregates, the apk argument of
//! `trySignatureAndApkVerification`); every answer recorded comes from the chain.

mod calls;
mod cases;
mod inputs;
mod rejected;
mod revert;
mod state;
mod trace;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use anyhow::{anyhow, ensure, Context, Result};
use quorate_bls::KeyPair;

use crate::operators::QuorumKind;
use crate::vector_schema as schema;
use crate::{repo_root, up, Devnet, DevnetArgs};

/// Where the vectors go, relative to the repository root.
pub const DEFAULT_OUT: &str = "crates/testkit/vectors/check_signatures.json";

/// The command that regenerates the committed vectors (from the repository root).
pub const REGENERATE: &str = "cargo run -p quorate-devnet -- record-checker-vectors";

/// The anvil build the devnet runs (see `anvil.rs`).
const ANVIL: &str = "@foundry-rs/anvil@1.7.1 (npm)";

/// What `Source::checker_contract` says.
const CHECKER_CONTRACT: &str =
    "SquaringTask (Incredible Squaring task manager, inherits BLSSignatureChecker)";

/// The file's `notes`.
const NOTES: &[&str] = &[
    "Every answer (accept/revert, stakes, signatory record hash, the two booleans of \
     trySignatureAndApkVerification, gamma) was produced by the EVM on an anvil devnet running \
     EigenLayer middleware v1.3.1 (eigenlayer-contract-deployer 0.4 bytecode); nothing was \
     computed by Quorate's checker code.",
    "Inputs (signatures, aggregates, trySignatureAndApkVerification's apk) were built with \
     quorate-bls; quorum apks were summed from registered keys and checked against \
     BLSApkRegistry's 24-byte apk hashes.",
    "gamma: read from debug_traceCall struct logs: the stack result of the MOD (by r) applied \
     to the output of the only 288-byte KECCAK256 (msgHash, apk, apkG2, sigma); \
     check_signatures_gamma equal to try_verification's gamma shows checkSignatures derived \
     the recorded apk.",
    "proof_of_possession is not on-chain data: InMemoryRegistry requires a Quorate proof of \
     possession for each key, signed by the recorder with the devnet's throwaway secrets.",
    "retriever_indices: what OperatorStateRetriever.getCheckSignaturesIndices answers for the \
     vector's reference block, quorums and listed non-signers (the honest indices).",
];

/// Options of `record-checker-vectors`.
#[derive(clap::Args, Clone, Debug)]
pub struct RecordArgs {
    /// Operators to register.
    #[arg(long, default_value_t = 6)]
    pub operators: usize,
    /// Quorums to create (at least 2; the last one is slashable-stake).
    #[arg(long, default_value_t = 2)]
    pub quorums: u8,
    /// Seed for keys, stakes and memberships.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (default: crates/testkit/vectors/check_signatures.json in the repository).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Brings a devnet up, records the vectors, writes them to `args.out` and stops anvil.
pub async fn run(args: &RecordArgs) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| repo_root().join(DEFAULT_OUT));
    let file = record(args).await?;
    let accepted = file
        .vectors
        .iter()
        .filter(|v| v.check_signatures.is_accepted())
        .count();
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = to_json(&file)?;
    let back = schema::parse(&text).context("the written JSON does not parse back")?;
    ensure!(
        back.vectors.len() == file.vectors.len(),
        "the written JSON lost vectors"
    );
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "record-checker-vectors: {} vectors ({accepted} accepted, {} rejected) written to {}",
        file.vectors.len(),
        file.vectors.len() - accepted,
        out.display()
    );
    Ok(())
}

/// The file as JSON with one line per state and per vector (small, and diffs by vector).
pub fn to_json(file: &schema::VectorFile) -> Result<String> {
    fn lines<T: serde::Serialize>(items: &[T]) -> Result<String> {
        let rows = items
            .iter()
            .map(|x| serde_json::to_string(x).map(|s| format!("    {s}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.join(",\n"))
    }
    let notes = file
        .notes
        .iter()
        .map(|n| serde_json::to_string(n).map(|s| format!("    {s}")))
        .collect::<Result<Vec<_>, _>>()?
        .join(",\n");
    let mut out = String::from("{\n");
    out += &format!("  \"format\": {},\n", file.format);
    out += &format!(
        "  \"regenerate\": {},\n",
        serde_json::to_string(&file.regenerate)?
    );
    out += &format!("  \"notes\": [\n{notes}\n  ],\n");
    out += &format!("  \"source\": {},\n", serde_json::to_string(&file.source)?);
    out += &format!("  \"states\": [\n{}\n  ],\n", lines(&file.states)?);
    out += &format!("  \"vectors\": [\n{}\n  ]\n}}\n", lines(&file.vectors)?);
    Ok(out)
}

/// Brings a devnet up and records every case (anvil stops when the devnet is dropped).
pub async fn record(args: &RecordArgs) -> Result<schema::VectorFile> {
    ensure!(
        args.quorums >= 2,
        "record-checker-vectors needs at least 2 quorums"
    );
    let devnet = up(&DevnetArgs {
        operators: args.operators,
        quorums: args.quorums,
        seed: args.seed,
        out: None,
    })
    .await?;
    devnet.chain.mine(3).await?;
    let head = devnet.chain.provider.get_block_number().await?;
    let rec = Recorder::new(&devnet, head);
    let mut file = rec.record_all().await?;
    file.source.operators = args.operators;
    file.source.seed = args.seed;
    Ok(file)
}

/// Reads the chain of one devnet and runs the cases on it.
struct Recorder<'a> {
    devnet: &'a Devnet,
    p: DynProvider,
    head: u64,
    quorum_count: u8,
    /// The devnet's BLS keys by operator id (throwaway keys; used to sign case inputs).
    keys: BTreeMap<B256, &'a KeyPair>,
    fr_modulus: U256,
}

impl<'a> Recorder<'a> {
    fn new(devnet: &'a Devnet, head: u64) -> Self {
        let keys = devnet
            .plans
            .iter()
            .map(|p| (p.bls.operator_id().to_b256(), &p.bls))
            .collect();
        Self {
            devnet,
            p: devnet.chain.provider.clone(),
            head,
            quorum_count: devnet.info.quorums.len() as u8,
            keys,
            fr_modulus: U256::from_str(trace::FR_MODULUS).unwrap_or_default(),
        }
    }

    fn checker(&self) -> Address {
        self.devnet.info.contracts.task_manager
    }

    fn all_quorums(&self) -> Vec<u8> {
        (0..self.quorum_count).collect()
    }

    fn key(&self, id: &B256) -> Result<&'a KeyPair> {
        self.keys
            .get(id)
            .copied()
            .ok_or_else(|| anyhow!("no devnet key for operator {id}"))
    }

    /// Every case.
    async fn record_all(&self) -> Result<schema::VectorFile> {
        // R: the reference block (a block after the last change, before the head).
        let r = self.head - 1;
        let st_r = self.read_state(r).await?;
        let e = self.early_block()?;
        let st_e = self.read_state(e).await?;
        let mut cases = self.cases(&st_r, &st_e).await?;
        cases.sort_by_key(|c| c.state_block);
        let states = vec![st_e, st_r];
        let mut vectors = Vec::with_capacity(cases.len());
        for case in cases {
            vectors.push(self.run_case(&states, case).await?);
        }
        Ok(self.vector_file(states, vectors))
    }

    /// E: an earlier block, after the registration that first puts someone in every quorum
    /// but before the last one, so the operator set at E is a strict subset.
    fn early_block(&self) -> Result<u64> {
        let all = self.all_quorums();
        let operators = &self.devnet.info.operators;
        let mut regs: Vec<u64> = operators.iter().map(|o| o.registered_block).collect();
        regs.sort_unstable();
        let mut early = None;
        for &b in &regs {
            let covered = all.iter().all(|q| {
                operators
                    .iter()
                    .any(|o| o.registered_block <= b && o.quorums.contains(q))
            });
            if covered && regs.iter().any(|&x| x > b) {
                early = Some(b);
                break;
            }
        }
        early.ok_or_else(|| {
            anyhow!("no block with every quorum covered before the last registration")
        })
    }

    /// The file around the recorded states and vectors (`operators` and `seed` of the source
    /// are left 0 for [`record`] to fill in).
    fn vector_file(
        &self,
        states: Vec<schema::RecordedState>,
        vectors: Vec<schema::Vector>,
    ) -> schema::VectorFile {
        schema::VectorFile {
            format: schema::FORMAT,
            regenerate: REGENERATE.into(),
            notes: NOTES.iter().map(|n| n.to_string()).collect(),
            source: schema::Source {
                anvil: ANVIL.into(),
                chain_id: self.devnet.info.chain_id,
                checker_contract: CHECKER_CONTRACT.into(),
                checker_address: self.checker().to_string(),
                operators: 0,
                quorums: self.quorum_count,
                seed: 0,
                quorum_kinds: self.devnet.info.quorums.iter().map(kind_name).collect(),
                head_block: self.head,
            },
            states,
            vectors,
        }
    }
}

/// How `Source::quorum_kinds` names a quorum kind.
fn kind_name(kind: &QuorumKind) -> String {
    match kind {
        QuorumKind::TotalDelegated => "total_delegated".to_string(),
        QuorumKind::Slashable => "slashable".to_string(),
    }
}
