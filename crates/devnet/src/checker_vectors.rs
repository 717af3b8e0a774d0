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

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::{SolCall, SolError, SolInterface};
use anyhow::{anyhow, bail, ensure, Context, Result};
use eigenlayer_contract_deployer::bindings::core::{
    bls_apk_registry, operator_state_retriever, quorum_bitmap_history_lib,
    slashing_registry_coordinator, stake_registry,
};
use eigenlayer_contract_deployer::bindings::deploy::squaring_task::{
    SquaringTask, BN254 as TaskBN254,
};
use eigenlayer_contract_deployer::bindings::{BLSApkRegistry, StakeRegistry};
use quorate_bls::ark::{Fq, Fq2, G2Affine};
use quorate_bls::{
    aggregate_g1, aggregate_g2, aggregate_signatures, encode_g2_affine, G1PublicKey, G2PublicKey,
    KeyPair, Signature,
};
use quorate_chain_adapter::contracts::IBLSSignatureCheckerTypes::NonSignerStakesAndSignature;
use quorate_chain_adapter::contracts::OperatorStateRetrieverTypes as Osr;
use quorate_chain_adapter::contracts::{
    IBLSApkRegistry, IBLSSignatureChecker, IOperatorStateRetriever,
};
use quorate_chain_adapter::convert::{
    g1_from_sol, g1_to_sol, g2_from_sol, g2_to_sol, indices_from_sol, stake_from_u96,
};
use quorate_domain::{CheckSignaturesIndices, G1Point, G2Point};
use rand::SeedableRng;
use serde_json::{json, Value};

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

/// The BN254 scalar field order `r` (`BN254.FR_MODULUS`): γ is reduced modulo it.
const FR_MODULUS: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

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

/// A signed answer's inputs before the call.
#[derive(Clone)]
struct Case {
    name: String,
    description: String,
    state_block: u64,
    msg_hash: B256,
    quorums: Vec<u8>,
    reference_block: u64,
    params: NonSignerStakesAndSignature,
}

struct Recorder<'a> {
    devnet: &'a Devnet,
    p: DynProvider,
    head: u64,
    quorum_count: u8,
    /// The devnet's BLS keys by operator id (throwaway keys; used to sign case inputs).
    keys: BTreeMap<B256, &'a KeyPair>,
    fr_modulus: U256,
}

/// The message of a case.
fn message(name: &str) -> B256 {
    keccak256(format!("quorate checker vector: {name}").as_bytes())
}

/// Operators of `st` registered in any of `quorums`.
fn members<'s>(st: &'s schema::RecordedState, quorums: &[u8]) -> Vec<&'s schema::RecordedOperator> {
    st.operators
        .iter()
        .filter(|o| quorums.iter().any(|q| o.stakes.contains_key(q)))
        .collect()
}

/// How many of `quorums` the operator is registered in.
fn count_in(op: &schema::RecordedOperator, quorums: &[u8]) -> u64 {
    quorums.iter().filter(|q| op.stakes.contains_key(q)).count() as u64
}

/// The first element (the cases below start from non-empty honest arguments).
fn first_of<T>(items: &[T]) -> Result<&T> {
    items.first().ok_or_else(|| anyhow!("empty argument array"))
}

fn g1_key(p: &G1Point) -> Result<G1PublicKey> {
    G1PublicKey::from_point(p).map_err(|e| anyhow!("G1 point {p:?}: {e}"))
}

fn g2_key(p: &G2Point) -> Result<G2PublicKey> {
    G2PublicKey::from_point(p).map_err(|e| anyhow!("G2 point {p:?}: {e}"))
}

fn parse_word(v: &Value) -> Result<U256> {
    let s = v
        .as_str()
        .ok_or_else(|| anyhow!("trace word is not a string: {v}"))?;
    U256::from_str(s).map_err(|e| anyhow!("trace word {s}: {e}"))
}

fn stack_of(step: &Value) -> Result<Vec<U256>> {
    step["stack"]
        .as_array()
        .ok_or_else(|| anyhow!("trace step without stack"))?
        .iter()
        .map(parse_word)
        .collect()
}

/// The memory of a trace step as bytes (the tracer prints 32-byte words).
fn memory_of(step: &Value) -> Result<Vec<u8>> {
    let words = step["memory"]
        .as_array()
        .ok_or_else(|| anyhow!("trace step without memory"))?;
    let mut out = Vec::with_capacity(words.len() * 32);
    for w in words {
        let s = w
            .as_str()
            .ok_or_else(|| anyhow!("memory word is not a string"))?;
        let bytes = alloy::hex::decode(s.trim_start_matches("0x"))?;
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// The name of a decoded custom error (`Variant(Inner)` in Debug).
fn variant_name<T: std::fmt::Debug>(e: &T) -> String {
    let s = format!("{e:?}");
    s.split('(').next().unwrap_or(&s).to_string()
}

/// Decodes revert data with the ABIs of the checker and every registry it calls.
fn decode_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "(no revert data)".into();
    }
    use bls_apk_registry::BLSApkRegistry::BLSApkRegistryErrors;
    use operator_state_retriever::OperatorStateRetriever::OperatorStateRetrieverErrors;
    use quorum_bitmap_history_lib::QuorumBitmapHistoryLib::QuorumBitmapHistoryLibErrors;
    use slashing_registry_coordinator::SlashingRegistryCoordinator as Src;
    use stake_registry::StakeRegistry::StakeRegistryErrors;
    use SquaringTask::SquaringTaskErrors;
    if let Ok(e) = SquaringTaskErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = BLSApkRegistryErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = StakeRegistryErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = Src::SlashingRegistryCoordinatorErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = QuorumBitmapHistoryLibErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(e) = OperatorStateRetrieverErrors::abi_decode(data) {
        return variant_name(&e);
    }
    if let Ok(p) = alloy::sol_types::Panic::abi_decode(data) {
        return match p.kind() {
            Some(kind) => format!("Panic({:#x}: {})", p.code, kind.as_str()),
            None => format!("Panic({:#x})", p.code),
        };
    }
    if let Ok(r) = alloy::sol_types::Revert::abi_decode(data) {
        return format!("Error({:?})", r.reason);
    }
    format!(
        "unknown error 0x{}",
        alloy::hex::encode(&data[..data.len().min(4)])
    )
}

/// The revert of a failed `eth_call`, or an error if the call failed for another reason.
fn revert_of(e: &alloy::contract::Error) -> Result<schema::Revert> {
    let data = match e.as_revert_data() {
        Some(d) => d,
        None if e.to_string().to_lowercase().contains("revert") => Bytes::new(),
        None => bail!("eth_call failed without reverting: {e}"),
    };
    Ok(schema::Revert {
        error: decode_revert(&data),
        data: format!("0x{}", alloy::hex::encode(&data)),
    })
}

/// A point on BN254's G2 twist that is not in the prime-order subgroup (the twist's cofactor
/// is large, so the first point found almost surely qualifies).
fn twist_point_outside_subgroup() -> Result<G2Point> {
    for i in 1u64..1000 {
        let x = Fq2::new(Fq::from(i), Fq::from(1u64));
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            if p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve() {
                return Ok(encode_g2_affine(&p));
            }
        }
    }
    bail!("no twist point outside the subgroup found")
}

fn task_g1(p: &G1Point) -> TaskBN254::G1Point {
    TaskBN254::G1Point { X: p.x, Y: p.y }
}

fn task_g2(p: &G2Point) -> TaskBN254::G2Point {
    TaskBN254::G2Point { X: p.x, Y: p.y }
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
            fr_modulus: U256::from_str(FR_MODULUS).unwrap_or_default(),
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

    /// The registry state at `block`, read from the chain.
    async fn read_state(&self, block: u64) -> Result<schema::RecordedState> {
        let c = &self.devnet.info.contracts;
        let b32 = u32::try_from(block)?;
        let all = self.all_quorums();
        let retriever = IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone());
        let apk_registry = BLSApkRegistry::new(c.bls_apk_registry, self.p.clone());
        let stake_registry = StakeRegistry::new(c.stake_registry, self.p.clone());
        let by_quorum = retriever
            .getOperatorState(c.registry_coordinator, Bytes::from(all.clone()), b32)
            .call()
            .await
            .context("getOperatorState")?;
        let mut ops: BTreeMap<B256, (Address, BTreeMap<u8, U256>)> = BTreeMap::new();
        for (q, list) in all.iter().zip(&by_quorum) {
            for o in list {
                let entry = ops
                    .entry(o.operatorId)
                    .or_insert_with(|| (o.operator, BTreeMap::new()));
                entry.1.insert(*q, stake_from_u96(o.stake));
            }
        }
        let mut operators = Vec::with_capacity(ops.len());
        for (id, (address, stakes)) in ops {
            let reg = apk_registry
                .getRegisteredPubkey(address)
                .call()
                .await
                .context("getRegisteredPubkey")?;
            ensure!(
                reg._1 == id,
                "registered pubkey hash of {address} is not its id"
            );
            let g2 = apk_registry
                .getOperatorPubkeyG2(address)
                .call()
                .await
                .context("getOperatorPubkeyG2")?;
            let pubkey_g1 = G1Point {
                x: reg._0.X,
                y: reg._0.Y,
            };
            let pubkey_g2 = G2Point { x: g2.X, y: g2.Y };
            let kp = self.key(&id)?;
            ensure!(
                kp.public_g1().to_point() == pubkey_g1 && kp.public_g2().to_point() == pubkey_g2,
                "the chain's keys of {address} are not the devnet's"
            );
            operators.push(schema::RecordedOperator {
                address: address.to_string(),
                operator_id: id,
                pubkey_g1,
                pubkey_g2,
                proof_of_possession: kp.proof_of_possession().to_point(),
                stakes,
            });
        }
        let idx = retriever
            .getCheckSignaturesIndices(
                c.registry_coordinator,
                b32,
                Bytes::from(all.clone()),
                Vec::new(),
            )
            .call()
            .await
            .context("getCheckSignaturesIndices")?;
        let mut quorums = Vec::with_capacity(all.len());
        for (i, &q) in all.iter().enumerate() {
            let total_index = *idx
                .totalStakeIndices
                .get(i)
                .ok_or_else(|| anyhow!("no total stake index"))?;
            let apk_index = *idx
                .quorumApkIndices
                .get(i)
                .ok_or_else(|| anyhow!("no apk index"))?;
            let total = stake_registry
                .getTotalStakeAtBlockNumberFromIndex(q, b32, U256::from(total_index))
                .call()
                .await
                .context("getTotalStakeAtBlockNumberFromIndex")?;
            let hash = apk_registry
                .getApkHashAtBlockNumberAndIndex(q, b32, U256::from(apk_index))
                .call()
                .await
                .context("getApkHashAtBlockNumberAndIndex")?;
            let keys: Vec<G1PublicKey> = operators
                .iter()
                .filter(|o| o.stakes.contains_key(&q))
                .map(|o| g1_key(&o.pubkey_g1))
                .collect::<Result<_>>()?;
            let terms: Vec<(&G1PublicKey, i64)> = keys.iter().map(|k| (k, 1)).collect();
            let apk = aggregate_g1(&terms).to_point();
            let ours = keccak256(apk.to_bytes());
            ensure!(
                ours[..24] == hash[..],
                "quorum {q} at block {block}: the member keys do not sum to the chain's apk"
            );
            quorums.push(schema::RecordedQuorum {
                quorum: q,
                total_stake: stake_from_u96(total),
                apk,
                apk_hash24: format!("0x{}", alloy::hex::encode(hash)),
            });
        }
        if block == self.head - 1 {
            // At the latest state the registry also gives the apk itself.
            let reg = IBLSApkRegistry::new(c.bls_apk_registry, self.p.clone());
            for q in &quorums {
                let apk = reg.getApk(q.quorum).call().await.context("getApk")?;
                ensure!(
                    g1_from_sol(&apk) == q.apk,
                    "quorum {} apk differs from getApk",
                    q.quorum
                );
            }
        }
        Ok(schema::RecordedState {
            block,
            quorums,
            operators,
        })
    }

    /// Honest arguments: `signers` sign `msg`, every other member of `quorums` is a non-signer.
    async fn honest(
        &self,
        st: &schema::RecordedState,
        quorums: &[u8],
        signers: &BTreeSet<B256>,
        msg: B256,
        reference: u64,
    ) -> Result<NonSignerStakesAndSignature> {
        let mut sigs: Vec<(Signature, u64)> = Vec::new();
        let mut g2s: Vec<(G2PublicKey, u64)> = Vec::new();
        let mut non_signers: Vec<&schema::RecordedOperator> = Vec::new();
        for op in members(st, quorums) {
            if signers.contains(&op.operator_id) {
                let k = count_in(op, quorums);
                let kp = self.key(&op.operator_id)?;
                sigs.push((kp.sign(&msg.0), k));
                g2s.push((kp.public_g2().clone(), k));
            } else {
                non_signers.push(op);
            }
        }
        ensure!(
            sigs.len() == signers.len(),
            "a signer is not a member of {quorums:?}"
        );
        // Already ascending by id (the state is sorted by id).
        let ids: Vec<B256> = non_signers.iter().map(|o| o.operator_id).collect();
        let indices = self.indices(reference, quorums, ids).await?;
        let sig_terms: Vec<(&Signature, u64)> = sigs.iter().map(|(s, k)| (s, *k)).collect();
        let g2_terms: Vec<(&G2PublicKey, u64)> = g2s.iter().map(|(g, k)| (g, *k)).collect();
        let quorum_apks = quorums
            .iter()
            .map(|q| {
                st.quorums
                    .iter()
                    .find(|x| x.quorum == *q)
                    .map(|x| g1_to_sol(&x.apk))
                    .ok_or_else(|| anyhow!("no quorum {q} in the state"))
            })
            .collect::<Result<_>>()?;
        Ok(NonSignerStakesAndSignature {
            nonSignerQuorumBitmapIndices: indices.nonSignerQuorumBitmapIndices,
            nonSignerPubkeys: non_signers
                .iter()
                .map(|o| g1_to_sol(&o.pubkey_g1))
                .collect(),
            quorumApks: quorum_apks,
            apkG2: g2_to_sol(&aggregate_g2(&g2_terms).to_point()),
            sigma: g1_to_sol(&aggregate_signatures(&sig_terms).to_point()),
            quorumApkIndices: indices.quorumApkIndices,
            totalStakeIndices: indices.totalStakeIndices,
            nonSignerStakeIndices: indices.nonSignerStakeIndices,
        })
    }

    async fn indices(
        &self,
        reference: u64,
        quorums: &[u8],
        non_signers: Vec<B256>,
    ) -> Result<Osr::CheckSignaturesIndices> {
        let c = &self.devnet.info.contracts;
        IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone())
            .getCheckSignaturesIndices(
                c.registry_coordinator,
                u32::try_from(reference)?,
                Bytes::from(quorums.to_vec()),
                non_signers,
            )
            .call()
            .await
            .context("getCheckSignaturesIndices")
    }

    /// What the retriever answers for the case's reference block, quorums and listed
    /// non-signers (`None` if it reverts).
    async fn retriever_indices(&self, case: &Case) -> Result<Option<CheckSignaturesIndices>> {
        let c = &self.devnet.info.contracts;
        let ids: Vec<B256> = case
            .params
            .nonSignerPubkeys
            .iter()
            .map(|p| keccak256(g1_from_sol(p).to_bytes()))
            .collect();
        let answer = IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone())
            .getCheckSignaturesIndices(
                c.registry_coordinator,
                u32::try_from(case.reference_block)?,
                Bytes::from(case.quorums.clone()),
                ids,
            )
            .call()
            .await;
        match answer {
            Ok(i) => Ok(Some(indices_from_sol(&i))),
            Err(e) => {
                revert_of(&e)?;
                Ok(None)
            }
        }
    }

    /// The apk the checker derives from `params`: Σ quorum apks − Σ kᵢ·non-signerᵢ.
    fn derived_apk(
        st: &schema::RecordedState,
        quorums: &[u8],
        params: &NonSignerStakesAndSignature,
    ) -> Result<G1Point> {
        let mut terms: Vec<(G1PublicKey, i64)> = Vec::new();
        for p in &params.quorumApks {
            let p = g1_from_sol(p);
            if p != G1Point::default() {
                terms.push((g1_key(&p)?, 1));
            }
        }
        for p in &params.nonSignerPubkeys {
            let p = g1_from_sol(p);
            if let Some(op) = st.operators.iter().find(|o| o.pubkey_g1 == p) {
                let k = count_in(op, quorums);
                if k > 0 {
                    terms.push((g1_key(&p)?, -i64::try_from(k)?));
                }
            }
        }
        let refs: Vec<(&G1PublicKey, i64)> = terms.iter().map(|(k, c)| (k, *c)).collect();
        Ok(aggregate_g1(&refs).to_point())
    }

    /// γ from a `debug_traceCall` of `data` on the checker: the `MOD` by `r` of the 288-byte
    /// `KECCAK256`. With `msg`, also checks that the hashed bytes start with it (needs memory).
    async fn trace_gamma(&self, data: Vec<u8>, msg: Option<B256>) -> Result<Option<U256>> {
        let trace: Value = self
            .p
            .raw_request(
                "debug_traceCall".into(),
                (
                    json!({ "to": self.checker(), "data": Bytes::from(data) }),
                    "latest",
                    json!({ "enableMemory": msg.is_some(), "disableStorage": true }),
                ),
            )
            .await
            .context("debug_traceCall")?;
        let logs = trace["structLogs"]
            .as_array()
            .ok_or_else(|| anyhow!("debug_traceCall without structLogs"))?;
        for (i, step) in logs.iter().enumerate() {
            let op = step["op"].as_str().unwrap_or_default();
            if op != "KECCAK256" && op != "SHA3" {
                continue;
            }
            let stack = stack_of(step)?;
            let [.., size, offset] = stack[..] else {
                bail!("KECCAK256 with a short stack");
            };
            if size != U256::from(288u32) {
                continue;
            }
            if let Some(msg) = msg {
                let memory = memory_of(step)?;
                let start = usize::try_from(offset)?;
                let first = memory
                    .get(start..start + 32)
                    .ok_or_else(|| anyhow!("γ preimage outside memory"))?;
                ensure!(
                    first == msg.as_slice(),
                    "the 288-byte keccak does not hash msgHash first"
                );
            }
            let hash = logs
                .get(i + 1)
                .map(stack_of)
                .transpose()?
                .and_then(|s| s.last().copied())
                .ok_or_else(|| anyhow!("no step after KECCAK256"))?;
            for j in i + 1..logs.len().min(i + 200) {
                if logs[j]["op"].as_str() != Some("MOD") {
                    continue;
                }
                let s = stack_of(&logs[j])?;
                let [.., modulus, value] = s[..] else {
                    bail!("MOD with a short stack");
                };
                if value != hash {
                    continue;
                }
                ensure!(
                    modulus == self.fr_modulus,
                    "γ reduced modulo {modulus}, not r"
                );
                let gamma = logs
                    .get(j + 1)
                    .map(stack_of)
                    .transpose()?
                    .and_then(|s| s.last().copied())
                    .ok_or_else(|| anyhow!("no step after MOD"))?;
                return Ok(Some(gamma));
            }
            bail!("no MOD of the γ keccak in the trace");
        }
        Ok(None)
    }

    /// Runs one case on the chain.
    async fn run_case(
        &self,
        states: &[schema::RecordedState],
        case: Case,
    ) -> Result<schema::Vector> {
        let st = states
            .iter()
            .find(|s| s.block == case.state_block)
            .ok_or_else(|| anyhow!("no state at {}", case.state_block))?;
        let checker = IBLSSignatureChecker::new(self.checker(), self.p.clone());
        let reference = u32::try_from(case.reference_block)?;
        let quorums = Bytes::from(case.quorums.clone());
        let check = match checker
            .checkSignatures(
                case.msg_hash,
                quorums.clone(),
                reference,
                case.params.clone(),
            )
            .call()
            .await
        {
            Ok(ret) => schema::CheckOutcome::Accepted {
                signed_stake: ret
                    ._0
                    .signedStakeForQuorum
                    .iter()
                    .map(|s| stake_from_u96(*s))
                    .collect(),
                total_stake: ret
                    ._0
                    .totalStakeForQuorum
                    .iter()
                    .map(|s| stake_from_u96(*s))
                    .collect(),
                signatory_record_hash: ret._1,
            },
            Err(e) => schema::CheckOutcome::Rejected(revert_of(&e)?),
        };
        let retriever_indices = self.retriever_indices(&case).await?;
        let check_data = IBLSSignatureChecker::checkSignaturesCall {
            msgHash: case.msg_hash,
            quorumNumbers: quorums,
            referenceBlockNumber: reference,
            params: case.params.clone(),
        }
        .abi_encode();
        let check_gamma = self.trace_gamma(check_data, None).await?;

        let apk = Self::derived_apk(st, &case.quorums, &case.params)?;
        let apk_g2 = g2_from_sol(&case.params.apkG2);
        let sigma = g1_from_sol(&case.params.sigma);
        let task = SquaringTask::new(self.checker(), self.p.clone());
        let try_outcome = match task
            .trySignatureAndApkVerification(
                case.msg_hash,
                task_g1(&apk),
                task_g2(&apk_g2),
                task_g1(&sigma),
            )
            .call()
            .await
        {
            Ok(ret) => {
                let data = SquaringTask::trySignatureAndApkVerificationCall {
                    msgHash: case.msg_hash,
                    apk: task_g1(&apk),
                    apkG2: task_g2(&apk_g2),
                    sigma: task_g1(&sigma),
                }
                .abi_encode();
                let gamma = self
                    .trace_gamma(data, Some(case.msg_hash))
                    .await?
                    .ok_or_else(|| {
                        anyhow!(
                            "{}: no γ in the trySignatureAndApkVerification trace",
                            case.name
                        )
                    })?;
                schema::TryOutcome::Returned {
                    pairing_successful: ret.pairingSuccessful,
                    signature_is_valid: ret.siganatureIsValid,
                    gamma,
                }
            }
            Err(e) => schema::TryOutcome::Reverted(revert_of(&e)?),
        };
        if let (Some(g), schema::TryOutcome::Returned { gamma, .. }) = (check_gamma, &try_outcome) {
            // Same γ, so checkSignatures derived exactly the apk recorded for the try call.
            ensure!(
                g == *gamma,
                "{}: checkSignatures hashed another apk than the recorder derived",
                case.name
            );
        }
        let outcome = match &check {
            schema::CheckOutcome::Accepted { signed_stake, .. } => {
                format!("accepted {signed_stake:?}")
            }
            schema::CheckOutcome::Rejected(r) => format!("rejected {}", r.error),
        };
        eprintln!("record-checker-vectors: {:<36} {outcome}", case.name);
        Ok(schema::Vector {
            name: case.name,
            description: case.description,
            state_block: case.state_block,
            input: schema::CheckSignaturesInput {
                msg_hash: case.msg_hash,
                quorum_numbers: case.quorums,
                reference_block: case.reference_block,
                params: schema::NonSignerStakesAndSignature {
                    non_signer_quorum_bitmap_indices: case.params.nonSignerQuorumBitmapIndices,
                    non_signer_pubkeys: case
                        .params
                        .nonSignerPubkeys
                        .iter()
                        .map(g1_from_sol)
                        .collect(),
                    quorum_apks: case.params.quorumApks.iter().map(g1_from_sol).collect(),
                    apk_g2,
                    sigma,
                    quorum_apk_indices: case.params.quorumApkIndices,
                    total_stake_indices: case.params.totalStakeIndices,
                    non_signer_stake_indices: case.params.nonSignerStakeIndices,
                },
            },
            retriever_indices,
            check_signatures: check,
            check_signatures_gamma: check_gamma,
            try_verification: schema::TryVerification {
                apk,
                outcome: try_outcome,
            },
        })
    }

    /// Every case.
    async fn record_all(&self) -> Result<schema::VectorFile> {
        // R: the reference block (a block after the last change, before the head).
        let r = self.head - 1;
        let st_r = self.read_state(r).await?;
        // E: an earlier block, after the registration that first puts someone in every quorum
        // but before the last one, so the operator set at E is a strict subset.
        let all = self.all_quorums();
        let mut regs: Vec<u64> = self
            .devnet
            .info
            .operators
            .iter()
            .map(|o| o.registered_block)
            .collect();
        regs.sort_unstable();
        let mut early = None;
        for &b in &regs {
            let covered = all.iter().all(|q| {
                self.devnet
                    .info
                    .operators
                    .iter()
                    .any(|o| o.registered_block <= b && o.quorums.contains(q))
            });
            if covered && regs.iter().any(|&x| x > b) {
                early = Some(b);
                break;
            }
        }
        let e = early.ok_or_else(|| {
            anyhow!("no block with every quorum covered before the last registration")
        })?;
        let st_e = self.read_state(e).await?;
        let mut cases = self.cases(&st_r, &st_e).await?;
        cases.sort_by_key(|c| c.state_block);
        let states = vec![st_e, st_r];
        let mut vectors = Vec::with_capacity(cases.len());
        for case in cases {
            vectors.push(self.run_case(&states, case).await?);
        }
        let chain_id = self.devnet.info.chain_id;
        Ok(schema::VectorFile {
            format: schema::FORMAT,
            regenerate: REGENERATE.into(),
            notes: NOTES.iter().map(|n| n.to_string()).collect(),
            source: schema::Source {
                anvil: ANVIL.into(),
                chain_id,
                checker_contract: CHECKER_CONTRACT.into(),
                checker_address: self.checker().to_string(),
                operators: 0,
                quorums: self.quorum_count,
                seed: 0,
                quorum_kinds: self
                    .devnet
                    .info
                    .quorums
                    .iter()
                    .map(|k| match k {
                        crate::operators::QuorumKind::TotalDelegated => {
                            "total_delegated".to_string()
                        }
                        crate::operators::QuorumKind::Slashable => "slashable".to_string(),
                    })
                    .collect(),
                head_block: self.head,
            },
            states,
            vectors,
        })
    }

    /// Builds every case's inputs.
    async fn cases(
        &self,
        st_r: &schema::RecordedState,
        st_e: &schema::RecordedState,
    ) -> Result<Vec<Case>> {
        let r = st_r.block;
        let e = st_e.block;
        let ids = |ops: Vec<&schema::RecordedOperator>| -> BTreeSet<B256> {
            ops.iter().map(|o| o.operator_id).collect()
        };
        let q0 = ids(members(st_r, &[0]));
        let q1 = ids(members(st_r, &[1]));
        let q01 = ids(members(st_r, &[0, 1]));
        let only_one: Vec<B256> = q01
            .iter()
            .filter(|&id| q0.contains(id) != q1.contains(id))
            .copied()
            .collect();
        let both: Vec<B256> = q01
            .iter()
            .filter(|&id| q0.contains(id) && q1.contains(id))
            .copied()
            .collect();
        let q1_not_q0: Vec<B256> = q1.difference(&q0).copied().collect();
        let (Some(&lone), Some(&double), Some(&outsider)) =
            (only_one.first(), both.first(), q1_not_q0.first())
        else {
            bail!(
                "this seed lacks an operator in exactly one quorum, one in both, or one in \
                 quorum 1 only: try another --seed"
            );
        };
        let second_lone = only_one.get(1).copied().unwrap_or(lone);
        let mut stranger_rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5157);
        let stranger = KeyPair::random(&mut stranger_rng);
        let without = |set: &BTreeSet<B256>, out: &[B256]| -> BTreeSet<B256> {
            set.iter().filter(|id| !out.contains(id)).copied().collect()
        };

        let mut cases = Vec::new();
        let mut add = |name: &str,
                       description: &str,
                       state_block: u64,
                       msg_hash: B256,
                       quorums: Vec<u8>,
                       reference_block: u64,
                       params: NonSignerStakesAndSignature| {
            cases.push(Case {
                name: name.into(),
                description: description.into(),
                state_block,
                msg_hash,
                quorums,
                reference_block,
                params,
            });
        };

        // --- accepted shapes ---
        let m = message("all_sign_q0");
        let all_q0 = self.honest(st_r, &[0], &q0, m, r).await?;
        add(
            "all_sign_q0",
            "every member of quorum 0 signs; quorum 0",
            r,
            m,
            vec![0],
            r,
            all_q0.clone(),
        );

        let m = message("all_sign_q1");
        let p = self.honest(st_r, &[1], &q1, m, r).await?;
        add(
            "all_sign_q1",
            "every member of quorum 1 (slashable stake) signs; quorum 1",
            r,
            m,
            vec![1],
            r,
            p,
        );

        let m = message("all_sign_q01");
        let all_q01 = self.honest(st_r, &[0, 1], &q01, m, r).await?;
        add(
            "all_sign_q01",
            "every member signs; quorums 0 and 1 (members of both count twice in sigma and apkG2)",
            r,
            m,
            vec![0, 1],
            r,
            all_q01.clone(),
        );

        let m = message("non_signer_in_one_quorum");
        let one_ns = self
            .honest(st_r, &[0, 1], &without(&q01, &[lone]), m, r)
            .await?;
        add(
            "non_signer_in_one_quorum",
            "quorums 0 and 1; one non-signer registered in only one of them",
            r,
            m,
            vec![0, 1],
            r,
            one_ns.clone(),
        );

        let m = message("non_signers_in_both_quorums");
        let two_ns_set = without(&q01, &[double, second_lone]);
        let two_ns = self.honest(st_r, &[0, 1], &two_ns_set, m, r).await?;
        add(
            "non_signers_in_both_quorums",
            "quorums 0 and 1; a non-signer in both quorums and one in a single quorum",
            r,
            m,
            vec![0, 1],
            r,
            two_ns.clone(),
        );

        let m = message("single_signer_q0");
        let first: BTreeSet<B256> = q0.iter().take(1).copied().collect();
        let p = self.honest(st_r, &[0], &first, m, r).await?;
        add(
            "single_signer_q0",
            "quorum 0; one signer, every other member a non-signer",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("non_signer_outside_quorums");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        let out_op = st_r
            .operators
            .iter()
            .find(|o| o.operator_id == outsider)
            .ok_or_else(|| anyhow!("outsider"))?;
        let idx = self.indices(r, &[0], vec![outsider]).await?;
        p.nonSignerPubkeys = vec![g1_to_sol(&out_op.pubkey_g1)];
        p.nonSignerQuorumBitmapIndices = idx.nonSignerQuorumBitmapIndices;
        p.nonSignerStakeIndices = idx.nonSignerStakeIndices;
        add(
            "non_signer_outside_quorums",
            "quorum 0; every member signs and a quorum-1-only operator is \
             listed as non-signer (subtracts nothing)",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("early_block_all_sign");
        let e_q01 = ids(members(st_e, &[0, 1]));
        let p = self.honest(st_e, &[0, 1], &e_q01, m, e).await?;
        add(
            "early_block_all_sign",
            "reference block before the last registrations; every member then \
             signs; quorums 0 and 1",
            e,
            m,
            vec![0, 1],
            e,
            p,
        );

        let m = message("no_signers_points_at_infinity");
        let p = self.honest(st_r, &[0], &BTreeSet::new(), m, r).await?;
        add(
            "no_signers_points_at_infinity",
            "quorum 0; every member a non-signer, so sigma and apkG2 are the \
             points at infinity (0s)",
            r,
            m,
            vec![0],
            r,
            p,
        );

        // --- bad signatures ---
        let m = message("sigma_over_other_message");
        let mut p = one_ns.clone();
        p.sigma = self
            .honest(
                st_r,
                &[0, 1],
                &without(&q01, &[lone]),
                message("another message"),
                r,
            )
            .await?
            .sigma;
        add(
            "sigma_over_other_message",
            "as non_signer_in_one_quorum, but the signers signed another message",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("sigma_by_unregistered_key");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        p.sigma = g1_to_sol(&stranger.sign(&m.0).to_point());
        add(
            "sigma_by_unregistered_key",
            "quorum 0, every member signs, sigma replaced by an unregistered \
             key's signature of the message",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("apk_g2_includes_non_signer");
        let mut p = self
            .honest(st_r, &[0, 1], &without(&q01, &[lone]), m, r)
            .await?;
        let lone_kp = self.key(&lone)?;
        let lone_op = st_r
            .operators
            .iter()
            .find(|o| o.operator_id == lone)
            .ok_or_else(|| anyhow!("lone"))?;
        let g2 = g2_key(&g2_from_sol(&p.apkG2))?;
        p.apkG2 = g2_to_sol(
            &aggregate_g2(&[(&g2, 1), (lone_kp.public_g2(), count_in(lone_op, &[0, 1]))])
                .to_point(),
        );
        add(
            "apk_g2_includes_non_signer",
            "as non_signer_in_one_quorum, but apkG2 also holds the non-signer's G2 key",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("multiplicity_ignored");
        let mut p = self.honest(st_r, &[0, 1], &q01, m, r).await?;
        let mut sigs = Vec::new();
        let mut g2s = Vec::new();
        for id in &q01 {
            let kp = self.key(id)?;
            sigs.push(kp.sign(&m.0));
            g2s.push(kp.public_g2().clone());
        }
        let st: Vec<(&Signature, u64)> = sigs.iter().map(|s| (s, 1)).collect();
        let gt: Vec<(&G2PublicKey, u64)> = g2s.iter().map(|g| (g, 1)).collect();
        p.sigma = g1_to_sol(&aggregate_signatures(&st).to_point());
        p.apkG2 = g2_to_sol(&aggregate_g2(&gt).to_point());
        add(
            "multiplicity_ignored",
            "quorums 0 and 1, every member signs, but sigma and apkG2 count \
             members of both quorums once",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("non_signer_omitted");
        let mut p = self.honest(st_r, &[0, 1], &two_ns_set, m, r).await?;
        let keep: Vec<B256> = vec![second_lone];
        let idx = self.indices(r, &[0, 1], keep.clone()).await?;
        let keep_op = st_r
            .operators
            .iter()
            .find(|o| o.operator_id == second_lone)
            .ok_or_else(|| anyhow!("keep"))?;
        p.nonSignerPubkeys = vec![g1_to_sol(&keep_op.pubkey_g1)];
        p.nonSignerQuorumBitmapIndices = idx.nonSignerQuorumBitmapIndices;
        p.nonSignerStakeIndices = idx.nonSignerStakeIndices;
        add(
            "non_signer_omitted",
            "as non_signers_in_both_quorums, but the non-signer in both \
             quorums is left out of the list",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        // --- malformed non-signer lists ---
        let m = message("non_signers_unsorted");
        let mut p = self.honest(st_r, &[0, 1], &two_ns_set, m, r).await?;
        ensure!(p.nonSignerPubkeys.len() == 2, "expected two non-signers");
        p.nonSignerPubkeys.swap(0, 1);
        p.nonSignerQuorumBitmapIndices.swap(0, 1);
        add(
            "non_signers_unsorted",
            "as non_signers_in_both_quorums, but the two non-signers in descending id order",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("non_signer_duplicated");
        let mut p = self
            .honest(st_r, &[0, 1], &without(&q01, &[lone]), m, r)
            .await?;
        let dup = first_of(&p.nonSignerPubkeys)?.clone();
        p.nonSignerPubkeys.push(dup);
        let bi = *first_of(&p.nonSignerQuorumBitmapIndices)?;
        p.nonSignerQuorumBitmapIndices.push(bi);
        for per_quorum in &mut p.nonSignerStakeIndices {
            if let Some(&x) = per_quorum.first() {
                per_quorum.push(x);
            }
        }
        add(
            "non_signer_duplicated",
            "as non_signer_in_one_quorum, but the non-signer listed twice",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("unregistered_non_signer");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        p.nonSignerPubkeys = vec![g1_to_sol(&stranger.public_g1().to_point())];
        p.nonSignerQuorumBitmapIndices = vec![0];
        add(
            "unregistered_non_signer",
            "quorum 0, every member signs, and a key never registered is \
             listed as non-signer (bitmap index 0)",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("non_signer_bitmap_indices_short");
        let mut p = self
            .honest(st_r, &[0, 1], &without(&q01, &[lone]), m, r)
            .await?;
        p.nonSignerQuorumBitmapIndices.clear();
        add(
            "non_signer_bitmap_indices_short",
            "as non_signer_in_one_quorum, but nonSignerQuorumBitmapIndices is empty",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        // --- quorum arguments ---
        let m = message("quorum_apk_wrong_point");
        let mut p = self.honest(st_r, &[0, 1], &q01, m, r).await?;
        p.quorumApks.swap(0, 1);
        add(
            "quorum_apk_wrong_point",
            "quorums 0 and 1, every member signs, but the two quorum apks swapped",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("quorums_not_ascending");
        let p = self.honest(st_r, &[0, 1], &q01, m, r).await?;
        add(
            "quorums_not_ascending",
            "arguments of all_sign_q01 with quorumNumbers 0x0100",
            r,
            m,
            vec![1, 0],
            r,
            p,
        );

        let m = message("quorum_not_created");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        let apk0 = first_of(&p.quorumApks)?.clone();
        p.quorumApks.push(apk0);
        p.quorumApkIndices.push(0);
        p.totalStakeIndices.push(0);
        p.nonSignerStakeIndices.push(Vec::new());
        add(
            "quorum_not_created",
            "quorum 0 and a quorum number that was never created (array lengths consistent)",
            r,
            m,
            vec![0, self.quorum_count],
            r,
            p,
        );

        let m = message("no_quorums");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        p.quorumApks.clear();
        p.quorumApkIndices.clear();
        p.totalStakeIndices.clear();
        p.nonSignerStakeIndices.clear();
        add(
            "no_quorums",
            "empty quorumNumbers and empty per-quorum arrays",
            r,
            m,
            Vec::new(),
            r,
            p,
        );

        let m = message("quorum_apks_short");
        let mut p = self.honest(st_r, &[0, 1], &q01, m, r).await?;
        p.quorumApks.pop();
        add(
            "quorum_apks_short",
            "quorums 0 and 1 with a single quorum apk",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("sigma_not_on_curve");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        p.sigma = g1_to_sol(&G1Point {
            x: U256::from(1u8),
            y: U256::from(3u8),
        });
        add(
            "sigma_not_on_curve",
            "quorum 0, every member signs, sigma replaced by (1, 3), not on the curve",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("apk_g2_not_in_subgroup");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        p.apkG2 = g2_to_sol(&twist_point_outside_subgroup()?);
        add(
            "apk_g2_not_in_subgroup",
            "quorum 0, every member signs, apkG2 replaced by a point on the \
             G2 twist outside the prime-order subgroup",
            r,
            m,
            vec![0],
            r,
            p,
        );

        // --- indices and reference blocks ---
        let m = message("quorum_apk_index_wrong");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        for i in p.quorumApkIndices.iter_mut().take(1) {
            *i = i.saturating_sub(1);
        }
        add(
            "quorum_apk_index_wrong",
            "as all_sign_q0, but quorumApkIndices[0] points at the previous apk update",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("total_stake_index_wrong");
        let mut p = self.honest(st_r, &[0], &q0, m, r).await?;
        for i in p.totalStakeIndices.iter_mut().take(1) {
            *i = i.saturating_sub(1);
        }
        add(
            "total_stake_index_wrong",
            "as all_sign_q0, but totalStakeIndices[0] points at the previous total stake update",
            r,
            m,
            vec![0],
            r,
            p,
        );

        let m = message("non_signer_stake_index_wrong");
        let mut p = self
            .honest(st_r, &[0, 1], &without(&q01, &[lone]), m, r)
            .await?;
        for per_quorum in &mut p.nonSignerStakeIndices {
            if let Some(x) = per_quorum.first_mut() {
                *x += 1;
            }
        }
        add(
            "non_signer_stake_index_wrong",
            "as non_signer_in_one_quorum, but the non-signer's stake index is \
             one past its last update",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("non_signer_bitmap_index_wrong");
        let mut p = self
            .honest(st_r, &[0, 1], &without(&q01, &[lone]), m, r)
            .await?;
        for i in p.nonSignerQuorumBitmapIndices.iter_mut().take(1) {
            *i += 1;
        }
        add(
            "non_signer_bitmap_index_wrong",
            "as non_signer_in_one_quorum, but the non-signer's quorum bitmap \
             index is one past its last update",
            r,
            m,
            vec![0, 1],
            r,
            p,
        );

        let m = message("reference_block_not_in_past");
        let p = self.honest(st_r, &[0], &q0, m, r).await?;
        add(
            "reference_block_not_in_past",
            "as all_sign_q0 (indices for the reference block R), submitted \
             with referenceBlockNumber = head + 10",
            r,
            m,
            vec![0],
            self.head + 10,
            p,
        );

        let m = message("stale_reference_block");
        let p = self.honest(st_r, &[0], &q0, m, r).await?;
        add(
            "stale_reference_block",
            "an aggregate built at block R (apks, indices, signers) submitted \
             with the earlier reference block E",
            e,
            m,
            vec![0],
            e,
            p,
        );

        Ok(cases)
    }
}
