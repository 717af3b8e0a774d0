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
    /// Incredible Squaring (chain mode): the payload is `0x` + hex of `abi.encode(Task,
    /// uint32 taskIndex)`; the response is `abi.encode(TaskResponse)` with the square of the
    /// task's number (echo if the payload is not such a task).
    SquaringTask,
}

impl ComputeFn {
    /// The response to a payload.
    pub fn apply(self, payload: &[u8]) -> Vec<u8> {
        match self {
            ComputeFn::Echo => payload.to_vec(),
            ComputeFn::Keccak => Keccak256::digest(payload).to_vec(),
            ComputeFn::SquaringTask => {
                crate::chain::squaring_response(payload).unwrap_or_else(|| payload.to_vec())
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
        assert_ne!(dev_key(1, 2).operator_id(), dev_key(1, 3).operator_id());
    }
}
