//! The AVS configuration as written (TOML or JSON): contracts, the task-created event and the
//! mapping of its fields, the response type, the respond call and its argument template.
//! [`crate::AvsProfile::compile`] checks every part of it before a node starts.

use std::path::PathBuf;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// One AVS, described by configuration (`docs/avs-integration.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvsSpec {
    /// A name for logs and metrics.
    pub name: String,
    /// The AVS's middleware contracts and its task manager.
    pub contracts: ContractsSpec,
    /// Quorums an operator must be registered in (any of them) to sign in. Default: `[0]`.
    #[serde(default = "default_sign_in_quorums")]
    pub sign_in_quorums: Vec<u8>,
    /// What a task is: the task-created event and where its fields are.
    pub task: TaskSpec,
    /// What operators answer and how it is signed.
    pub response: ResponseSpec,
    /// The call that submits an aggregate.
    pub respond: RespondSpec,
    /// Following the task-created event on chain; absent: tasks arrive only through
    /// `CreateTask`.
    #[serde(default)]
    pub intake: Option<IntakeSpec>,
}

fn default_sign_in_quorums() -> Vec<u8> {
    vec![0]
}

/// Contract addresses.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractsSpec {
    /// The (Slashing)RegistryCoordinator proxy.
    pub registry_coordinator: Address,
    /// The OperatorStateRetriever.
    pub operator_state_retriever: Address,
    /// The BLSApkRegistry proxy.
    pub bls_apk_registry: Address,
    /// The AVS contract that emits the task-created event and receives responses.
    pub task_manager: Address,
}

/// The task: its event, and paths to the fields the aggregator needs. Paths name the event's
/// parameters and, through dots, fields of tuple parameters (`task.quorumNumbers`).
///
/// A task's payload (what operators receive, and what `CreateTask` callers send) is
/// `abi.encode(p1, …, pn)` of the event's parameters in declaration order (an indexed dynamic
/// parameter is its `bytes32` topic).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Solidity event signature with parameter names, e.g. `NewTaskCreated(uint32 indexed
    /// taskIndex, (uint32 taskCreatedBlock, bytes quorumNumbers) task)`.
    pub event: String,
    /// The task's on-chain id (any static type).
    pub id: String,
    /// The reference block (an unsigned integer).
    pub reference_block: String,
    /// The quorum numbers (`bytes`, one quorum per byte).
    pub quorum_numbers: String,
    /// One threshold percentage for every quorum (an unsigned integer). Exactly one of
    /// `threshold` and `thresholds` is given.
    #[serde(default)]
    pub threshold: Option<String>,
    /// One threshold percentage per quorum (`bytes` or an unsigned-integer array).
    #[serde(default)]
    pub thresholds: Option<String>,
}

/// How a response is encoded for signing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DigestSpec {
    /// `keccak256(abi.encode(response))`: the struct as one value (the default).
    #[default]
    #[serde(rename = "keccak256(abi.encode(response))")]
    AbiEncode,
    /// `keccak256(abi.encode(f1, …, fn))`: the response's fields as separate values.
    #[serde(rename = "keccak256(abi.encode(response fields))")]
    AbiEncodeFields,
}

/// The operators' response.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// A tuple type with field names, e.g. `(uint32 referenceTaskIndex, bytes message)`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The digest operators sign; the response bytes they send are the encoding inside it.
    #[serde(default)]
    pub digest: DigestSpec,
    /// Pairs of values that must be equal for a response to be accepted (e.g.
    /// `["response.referenceTaskIndex", "event.taskIndex"]`): a response for another task is
    /// refused when it arrives instead of reverting on chain.
    #[serde(default)]
    pub must_match: Vec<[String; 2]>,
}

/// The respond call.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondSpec {
    /// Solidity function signature; the word `NonSignerStakesAndSignature` stands for that
    /// struct's tuple type.
    pub function: String,
    /// One value per parameter: `event.<path>`, `response`, `response.<path>` or `signature`
    /// (the `NonSignerStakesAndSignature`).
    pub args: Vec<String>,
    /// A view on the task manager that is non-zero once a task is answered (checked before
    /// every send, so a task is never answered twice).
    #[serde(default)]
    pub answered: Option<ViewSpec>,
    /// Custom errors to decode from reverts, as Solidity signatures (`error Foo(uint256 a)`).
    #[serde(default)]
    pub errors: Vec<String>,
    /// A JSON ABI file whose errors are decoded too (relative to the configuration file).
    #[serde(default)]
    pub errors_abi: Option<PathBuf>,
}

/// A view call with an argument template.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// Solidity function signature returning one 32-byte word (`bytes32`, `uint`, `bool`).
    pub function: String,
    /// Arguments, as in [`RespondSpec::args`] (`event.<path>` only).
    pub args: Vec<String>,
}

/// Following the task-created event.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSpec {
    /// Blocks a log must be buried under before its task is created.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// First block to read when there is no stored cursor (default: the confirmed head at
    /// first start, so only new tasks are taken).
    #[serde(default)]
    pub start_block: Option<u64>,
    /// Most blocks per `eth_getLogs` request.
    #[serde(default = "default_max_block_range")]
    pub max_block_range: u64,
    /// Pause between polls when caught up, in ms.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Blocks whose hashes are kept to detect reorgs (and whose tasks can be cancelled).
    #[serde(default = "default_reorg_depth")]
    pub reorg_depth: u64,
    /// Time each task has to reach its thresholds, in ms.
    #[serde(default = "default_task_expiry_ms")]
    pub task_expiry_ms: u64,
    /// Window after the thresholds are met, in ms (0: finish at once).
    #[serde(default)]
    pub window_ms: u64,
    /// Most tasks taken from one `eth_getLogs` answer; a range holding more is split.
    #[serde(default = "default_max_logs")]
    pub max_logs_per_request: usize,
}

fn default_confirmations() -> u64 {
    2
}
fn default_max_block_range() -> u64 {
    500
}
fn default_poll_interval_ms() -> u64 {
    1_000
}
fn default_reorg_depth() -> u64 {
    64
}
fn default_task_expiry_ms() -> u64 {
    60_000
}
fn default_max_logs() -> usize {
    1_000
}

impl Default for IntakeSpec {
    fn default() -> Self {
        Self {
            confirmations: default_confirmations(),
            start_block: None,
            max_block_range: default_max_block_range(),
            poll_interval_ms: default_poll_interval_ms(),
            reorg_depth: default_reorg_depth(),
            task_expiry_ms: default_task_expiry_ms(),
            window_ms: 0,
            max_logs_per_request: default_max_logs(),
        }
    }
}
