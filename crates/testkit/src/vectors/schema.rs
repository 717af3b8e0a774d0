//! The JSON format of `crates/testkit/vectors/check_signatures.json`: known answers of the
//! on-chain `BLSSignatureChecker` (EigenLayer middleware), recorded on the local devnet by
//! `quorate-devnet record-checker-vectors`.
//!
//! One file, three users: the recorder in `crates/devnet` writes it, `quorate_testkit::vectors`
//! reads it for the runtime's tests, and `crates/bls/tests/checker_vectors.rs` reads it too (the
//! bls crate cannot depend on the testkit, which depends on it). The two outside users include
//! this file with `#[path]`, so it may only use `serde`, `serde_json` and `quorate_domain`.
//!
//! Points use the contracts' encodings ([`G1Point`], [`G2Point`] with the imaginary parts first,
//! `(0, 0)` for infinity) and every `uint256` / `uint96` is a `0x` hex string.

use std::collections::BTreeMap;

use quorate_domain::{CheckSignaturesIndices, G1Point, G2Point, B256, U256};
use serde::{Deserialize, Serialize};

/// The format version this schema describes.
pub const FORMAT: u32 = 1;

/// The whole file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VectorFile {
    /// [`FORMAT`].
    pub format: u32,
    /// The command that regenerates the file (from the repository root).
    pub regenerate: String,
    /// Free-form notes on how the answers were obtained.
    pub notes: Vec<String>,
    /// The devnet the answers come from.
    pub source: Source,
    /// The operator state at each block a vector refers to, ascending by block.
    pub states: Vec<RecordedState>,
    /// The vectors.
    pub vectors: Vec<Vector>,
}

/// Where the answers come from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Source {
    /// The anvil build (npm package) that executed the calls.
    pub anvil: String,
    /// Chain id of the devnet.
    pub chain_id: u64,
    /// The contract whose `checkSignatures` / `trySignatureAndApkVerification` were called
    /// (the Incredible Squaring task manager, which inherits `BLSSignatureChecker`).
    pub checker_contract: String,
    /// Its address.
    pub checker_address: String,
    /// `quorate-devnet` options: operators, quorums and seed.
    pub operators: usize,
    /// Number of quorums (quorums `0..quorums` exist).
    pub quorums: u8,
    /// Seed of the devnet's keys and stakes.
    pub seed: u64,
    /// Quorum kinds by number (`total_delegated` / `slashable`).
    pub quorum_kinds: Vec<String>,
    /// The chain head when the calls were made (`eth_call` at `latest`).
    pub head_block: u64,
}

/// The registry state at one block, read from the chain (`OperatorStateRetriever`,
/// `BLSApkRegistry`, `StakeRegistry`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedState {
    /// The block.
    pub block: u64,
    /// Every quorum `0..quorums`.
    pub quorums: Vec<RecordedQuorum>,
    /// Every operator registered in at least one quorum at the block, ascending by id.
    pub operators: Vec<RecordedOperator>,
}

/// One quorum at a block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedQuorum {
    /// The quorum number.
    pub quorum: u8,
    /// `StakeRegistry.getTotalStakeAtBlockNumberFromIndex` at the block.
    pub total_stake: U256,
    /// The quorum's aggregate G1 key: the sum of its members' registered keys, checked
    /// against `apk_hash24`.
    pub apk: G1Point,
    /// `BLSApkRegistry.getApkHashAtBlockNumberAndIndex` at the block (bytes24, hex).
    pub apk_hash24: String,
}

/// One registered operator at a block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedOperator {
    /// ECDSA address.
    pub address: String,
    /// `operatorId` (keccak256 of the G1 key) as the registry reports it.
    pub operator_id: B256,
    /// `BLSApkRegistry.getRegisteredPubkey`.
    pub pubkey_g1: G1Point,
    /// `BLSApkRegistry.getOperatorPubkeyG2`.
    pub pubkey_g2: G2Point,
    /// NOT from the chain: Quorate's own proof of possession (a signature over
    /// `quorate_domain::proof_of_possession_digest(pubkey_g1)`, made by the recorder with the
    /// devnet's throwaway secret), which `InMemoryRegistry` requires for every key.
    pub proof_of_possession: G1Point,
    /// Stake per quorum the operator is registered in (`OperatorStateRetriever.getOperatorState`).
    pub stakes: BTreeMap<u8, U256>,
}

/// One call of `checkSignatures` and one of `trySignatureAndApkVerification`, and what the
/// chain answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vector {
    /// Short unique name.
    pub name: String,
    /// What the case is about.
    pub description: String,
    /// The block of the [`RecordedState`] that holds the operator state at `reference_block`
    /// (equal to it, except for a reference block after the head, whose state is the head's).
    pub state_block: u64,
    /// `checkSignatures` arguments.
    pub input: CheckSignaturesInput,
    /// `OperatorStateRetriever.getCheckSignaturesIndices(reference_block, quorum_numbers, ids of
    /// non_signer_pubkeys)`: the indices an honest aggregator would send with this input, where
    /// the input's own may be tampered with. Absent when the retriever reverted (an unregistered
    /// non-signer, a future block, a quorum that does not exist...).
    pub retriever_indices: Option<CheckSignaturesIndices>,
    /// What `checkSignatures` did (`eth_call`).
    pub check_signatures: CheckOutcome,
    /// γ as `checkSignatures` computed it, read from its execution trace; absent when it
    /// reverted before the pairing check.
    pub check_signatures_gamma: Option<U256>,
    /// `trySignatureAndApkVerification(msg_hash, apk, params.apk_g2, params.sigma)`.
    pub try_verification: TryVerification,
}

/// The arguments of `checkSignatures`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckSignaturesInput {
    /// `msgHash`.
    pub msg_hash: B256,
    /// `quorumNumbers` (one byte each, possibly not ascending in a rejected case).
    pub quorum_numbers: Vec<u8>,
    /// `referenceBlockNumber`.
    pub reference_block: u64,
    /// `params`.
    pub params: NonSignerStakesAndSignature,
}

/// `IBLSSignatureCheckerTypes.NonSignerStakesAndSignature`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NonSignerStakesAndSignature {
    /// `nonSignerQuorumBitmapIndices`.
    pub non_signer_quorum_bitmap_indices: Vec<u32>,
    /// `nonSignerPubkeys`.
    pub non_signer_pubkeys: Vec<G1Point>,
    /// `quorumApks`.
    pub quorum_apks: Vec<G1Point>,
    /// `apkG2`.
    pub apk_g2: G2Point,
    /// `sigma`.
    pub sigma: G1Point,
    /// `quorumApkIndices`.
    pub quorum_apk_indices: Vec<u32>,
    /// `totalStakeIndices`.
    pub total_stake_indices: Vec<u32>,
    /// `nonSignerStakeIndices`.
    pub non_signer_stake_indices: Vec<Vec<u32>>,
}

/// What `checkSignatures` returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CheckOutcome {
    /// It returned.
    Accepted {
        /// `signedStakeForQuorum`.
        signed_stake: Vec<U256>,
        /// `totalStakeForQuorum`.
        total_stake: Vec<U256>,
        /// The `bytes32` signatory record hash.
        signatory_record_hash: B256,
    },
    /// It reverted.
    Rejected(Revert),
}

impl CheckOutcome {
    /// Whether the chain accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted { .. })
    }
}

/// A revert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revert {
    /// The error decoded with the ABIs of the checker and the registries, e.g.
    /// `InvalidBLSSignature`, `Panic(0x32)`, or `(no revert data)`.
    pub error: String,
    /// The raw revert data, hex.
    pub data: String,
}

/// The call of `trySignatureAndApkVerification`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TryVerification {
    /// The `apk` argument: Σ `quorum_apks` − Σ kᵢ·`non_signer_pubkeys[i]`, with kᵢ the number
    /// of `quorum_numbers` the non-signer is registered in at the reference block (the apk the
    /// checker derives; when `check_signatures_gamma` is present it equals the γ below, which
    /// shows the chain derived this same apk). `msg_hash`, `apkG2` and `sigma` are the input's.
    pub apk: G1Point,
    /// What it did.
    pub outcome: TryOutcome,
}

/// What `trySignatureAndApkVerification` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TryOutcome {
    /// It returned.
    Returned {
        /// `pairingSuccessful`.
        pairing_successful: bool,
        /// `siganatureIsValid` (sic).
        signature_is_valid: bool,
        /// γ, read from the execution trace: the result of the `MOD` by the BN254 scalar
        /// field order applied to the output of the 288-byte `KECCAK256`.
        gamma: U256,
    },
    /// It reverted (e.g. a point not on the curve).
    Reverted(Revert),
}

impl VectorFile {
    /// The recorded state at `block`, if any.
    pub fn state(&self, block: u64) -> Option<&RecordedState> {
        self.states.iter().find(|s| s.block == block)
    }
}

/// Parses the file.
pub fn parse(json: &str) -> Result<VectorFile, serde_json::Error> {
    serde_json::from_str(json)
}
