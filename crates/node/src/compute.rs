//! Operators' side: the pluggable response function, dev keys and signing.

use std::collections::BTreeMap;

use quorate_bls::KeyPair;
use quorate_domain::{QuorumNumber, Stake};
use rand::SeedableRng;
use sha3::{Digest, Keccak256};

/// How an operator computes its response from a task's payload.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ComputeFn {
    /// The payload itself.
    #[default]
    Echo,
    /// The payload read as a decimal integer, squared (as decimal text); echo if not a number.
    Square,
    /// keccak256 of the payload.
    Keccak,
    /// Incredible Squaring's operator: the payload is `abi.encode(uint32 taskIndex, Task)`
    /// (its `NewTaskCreated` parameters); the response is `abi.encode(TaskResponse)` with
    /// the square of the task's number (echo if the payload is not such a task).
    SquaringTask,
    /// The attestation AVS's operator (`contracts/src/AttestationTaskManager.sol`): the
    /// payload is `abi.encode(uint64 requestId, bytes32 subject, Request)`; the response is
    /// `abi.encode(Verdict)` scoring the subject (echo if the payload is not such a request).
    AttestationVerdict,
}

alloy::sol! {
    /// Incredible Squaring's task and response, as its operators see them.
    struct SquaringTask { uint32 taskCreatedBlock; uint32 quorumThresholdPercentage; bytes message; bytes quorumNumbers; }
    /// Incredible Squaring's response.
    struct SquaringResponse { uint32 referenceTaskIndex; bytes message; }
    /// The attestation AVS's request.
    struct AttestationRequest { uint64 requestId; bytes32 subject; uint32 referenceBlock; bytes quorumNumbers; bytes thresholds; }
    /// The attestation AVS's response.
    struct AttestationVerdict { uint64 requestId; bytes32 subject; uint256 score; }
}

/// `abi.encode(TaskResponse)` with the square of the task's number.
fn squaring_response(payload: &[u8]) -> Option<Vec<u8>> {
    use alloy::primitives::U256;
    use alloy::sol_types::SolValue;
    let (index, task) = <(u32, SquaringTask)>::abi_decode_params(payload).ok()?;
    let number = U256::abi_decode(&task.message).ok()?;
    let square = number.checked_mul(number)?;
    Some(
        SquaringResponse {
            referenceTaskIndex: index,
            message: square.abi_encode().into(),
        }
        .abi_encode(),
    )
}

/// `abi.encode(Verdict)` for a request: the score is keccak256 of the subject, mod 1000.
fn attestation_verdict(payload: &[u8]) -> Option<Vec<u8>> {
    use alloy::primitives::U256;
    use alloy::sol_types::SolValue;
    let (request_id, subject, _request) =
        <(u64, alloy::primitives::B256, AttestationRequest)>::abi_decode_params(payload).ok()?;
    let score = U256::from_be_bytes(alloy::primitives::keccak256(subject).0) % U256::from(1000u16);
    Some(
        AttestationVerdict {
            requestId: request_id,
            subject,
            score,
        }
        .abi_encode(),
    )
}

impl ComputeFn {
    /// The response to a payload.
    pub fn apply(self, payload: &[u8]) -> Vec<u8> {
        match self {
            ComputeFn::Echo => payload.to_vec(),
            ComputeFn::Keccak => Keccak256::digest(payload).to_vec(),
            ComputeFn::SquaringTask => {
                squaring_response(payload).unwrap_or_else(|| payload.to_vec())
            }
            ComputeFn::AttestationVerdict => {
                attestation_verdict(payload).unwrap_or_else(|| payload.to_vec())
            }
            ComputeFn::Square => std::str::from_utf8(payload)
                .ok()
                .and_then(|s| s.trim().parse::<u128>().ok())
                .and_then(|n| n.checked_mul(n))
                .map_or_else(|| payload.to_vec(), |sq| sq.to_string().into_bytes()),
        }
    }
}

/// `(keccak256(response), BLS signature of it)`, as sent to the node.
pub fn sign_response(key: &KeyPair, response: &[u8]) -> ([u8; 32], [u8; 64]) {
    let digest: [u8; 32] = Keccak256::digest(response).into();
    (digest, key.sign(&digest).to_bytes())
}

/// The `index`-th dev operator key of a seed: the same in the node and in `quorate operator
/// run --dev-index`.
pub fn dev_key(seed: u64, index: u32) -> KeyPair {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(
        seed.wrapping_mul(1_000_003).wrapping_add(u64::from(index)),
    );
    KeyPair::random(&mut rng)
}

/// Every dev operator's stake: each is in quorum 0 with 1 000 + its index.
pub fn dev_stakes(index: u32) -> BTreeMap<QuorumNumber, Stake> {
    BTreeMap::from([(QuorumNumber(0), Stake::from(1_000 + u64::from(index)))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_functions() {
        assert_eq!(ComputeFn::Square.apply(b"12"), b"144".to_vec());
        assert_eq!(ComputeFn::Square.apply(b"x"), b"x".to_vec());
        assert_eq!(ComputeFn::Echo.apply(b"ab"), b"ab".to_vec());
        assert_eq!(ComputeFn::Keccak.apply(b"").len(), 32);
        assert_eq!(dev_key(1, 2).operator_id(), dev_key(1, 2).operator_id());
        assert_eq!(ComputeFn::SquaringTask.apply(b"x"), b"x".to_vec());
        assert_eq!(ComputeFn::AttestationVerdict.apply(b"x"), b"x".to_vec());
        assert_ne!(dev_key(1, 2).operator_id(), dev_key(1, 3).operator_id());
    }

    #[test]
    fn squaring_operators_square_the_tasks_number() {
        use alloy::primitives::U256;
        use alloy::sol_types::SolValue;
        let task = SquaringTask {
            taskCreatedBlock: 10,
            quorumThresholdPercentage: 50,
            message: U256::from(12u64).abi_encode().into(),
            quorumNumbers: vec![0u8, 1].into(),
        };
        let payload = (3u32, task).abi_encode_params();
        let response = ComputeFn::SquaringTask.apply(&payload);
        let decoded = SquaringResponse::abi_decode(&response).unwrap();
        assert_eq!(decoded.referenceTaskIndex, 3);
        assert_eq!(
            U256::abi_decode(&decoded.message).unwrap(),
            U256::from(144u64)
        );
    }

    #[test]
    fn attestation_operators_answer_the_requests_id_and_subject() {
        use alloy::primitives::B256;
        use alloy::sol_types::SolValue;
        let subject = B256::repeat_byte(4);
        let request = AttestationRequest {
            requestId: 9,
            subject,
            referenceBlock: 5,
            quorumNumbers: vec![0u8].into(),
            thresholds: vec![60u8].into(),
        };
        let payload = (9u64, subject, request).abi_encode_params();
        let verdict =
            AttestationVerdict::abi_decode(&ComputeFn::AttestationVerdict.apply(&payload)).unwrap();
        assert_eq!((verdict.requestId, verdict.subject), (9, subject));
        assert!(verdict.score < alloy::primitives::U256::from(1000u16));
    }
}
