//! Operator sign-in for tests: challenges, proofs over them and session tokens, as
//! `quorate operator run` does.

use quorate_api::{operator_auth_digest, ProofMethod};
use quorate_bls::KeyPair;
use rand::SeedableRng;
use sha3::{Digest, Keccak256};
use tonic::transport::Channel;

use super::pb;

pub type OpClient = pb::operator_service_client::OperatorServiceClient<Channel>;
pub const SESSION_HEADER: &str = "x-operator-session";

/// The node's dev key derivation (see `compute::dev_key`).
pub fn dev_key(seed: u64, index: u32) -> KeyPair {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(
        seed.wrapping_mul(1_000_003).wrapping_add(u64::from(index)),
    );
    KeyPair::random(&mut rng)
}

/// A fresh challenge for `key`'s operator id.
pub async fn challenge(op: &mut OpClient, key: &KeyPair) -> pb::OperatorChallenge {
    op.get_operator_challenge(pb::OperatorChallengeRequest {
        operator_id: key.operator_id().as_bytes().to_vec(),
    })
    .await
    .expect("challenge")
    .into_inner()
}

/// `signer`'s signature of the proof digest of `key`'s operator for a challenge.
pub fn proof(
    key: &KeyPair,
    signer: &KeyPair,
    ch: &pb::OperatorChallenge,
    method: ProofMethod,
    cursor: u64,
) -> Vec<u8> {
    let node_id: [u8; 32] = ch.node_id.as_slice().try_into().expect("node id");
    let nonce: [u8; 32] = ch.nonce.as_slice().try_into().expect("nonce");
    let digest = operator_auth_digest(&node_id, method, &key.operator_id(), &nonce, cursor);
    signer.sign(&digest).to_bytes().to_vec()
}

/// A `SubscribeTasksRequest` naming `key`'s operator at `cursor`, proved by `signer` over
/// `ch` for `proof_cursor` (attacks vary one of them).
pub fn subscribe_with(
    key: &KeyPair,
    signer: &KeyPair,
    ch: &pb::OperatorChallenge,
    cursor: u64,
    proof_cursor: u64,
) -> pb::SubscribeTasksRequest {
    pb::SubscribeTasksRequest {
        operator_id: key.operator_id().as_bytes().to_vec(),
        cursor,
        auth_signature: proof(key, signer, ch, ProofMethod::SubscribeTasks, proof_cursor),
        nonce: ch.nonce.clone(),
    }
}

/// A valid `SubscribeTasksRequest` over a fresh challenge.
pub async fn subscribe_req(
    op: &mut OpClient,
    key: &KeyPair,
    cursor: u64,
) -> pb::SubscribeTasksRequest {
    let ch = challenge(op, key).await;
    subscribe_with(key, key, &ch, cursor, cursor)
}

/// A valid `AckRequest` over a fresh challenge.
pub async fn ack_req(op: &mut OpClient, key: &KeyPair, cursor: u64) -> pb::AckRequest {
    let ch = challenge(op, key).await;
    pb::AckRequest {
        operator_id: key.operator_id().as_bytes().to_vec(),
        cursor,
        auth_signature: proof(key, key, &ch, ProofMethod::Ack, cursor),
        nonce: ch.nonce,
    }
}

/// Signs in (subscribes from `cursor`); returns the session token and the task stream.
pub async fn sign_in(
    op: &mut OpClient,
    key: &KeyPair,
    cursor: u64,
) -> (String, tonic::codec::Streaming<pb::Task>) {
    let req = subscribe_req(op, key, cursor).await;
    let resp = op.subscribe_tasks(req).await.expect("sign in");
    let token = resp
        .metadata()
        .get(SESSION_HEADER)
        .expect("session header")
        .to_str()
        .expect("ascii")
        .to_string();
    (token, resp.into_inner())
}

/// A response of `key`'s operator signed by `signer` (digest = keccak256(response)).
pub fn signed(task: &[u8], key: &KeyPair, signer: &KeyPair, response: &[u8]) -> pb::SignedResponse {
    let digest: [u8; 32] = Keccak256::digest(response).into();
    pb::SignedResponse {
        task_id: task.to_vec(),
        operator_id: key.operator_id().as_bytes().to_vec(),
        digest: digest.to_vec(),
        signature: signer.sign(&digest).to_bytes().to_vec(),
        response: response.to_vec(),
    }
}

/// A request carrying a session token.
pub fn with_session<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert(SESSION_HEADER, token.parse().expect("ascii token"));
    r
}
