//! Wallet sign-in over gRPC: server-built EIP-191 message → JWT → the caller's own tasks.
//! Replayed messages and forged tokens are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use alloy_primitives::Address;
use common::*;
use k256::ecdsa::SigningKey;
use tonic::{Code, Request};

fn personal_sign(key: &SigningKey, message: &str) -> Vec<u8> {
    let hash = alloy_primitives::eip191_hash_message(message.as_bytes());
    let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
    let mut out = sig.to_bytes().to_vec();
    out.push(27 + recid.to_byte());
    out
}

fn bearer<T>(msg: T, jwt: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {jwt}").parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_jwt_scopes_tasks_and_refuses_replays() {
    let dir = Scratch::new("wallet");
    let node = start_node(&dir.0.join("node.redb"), &["--simulated-operators", "0"]);
    let mut auth = pb::auth_service_client::AuthServiceClient::connect(node.grpc.clone())
        .await
        .unwrap();
    let sign_in = |key: SigningKey| {
        let address = Address::from_public_key(key.verifying_key());
        let mut auth = auth.clone();
        async move {
            let m = auth
                .get_signing_message(pb::SigningMessageRequest {
                    address: address.to_string(),
                    chain_id: 31337,
                })
                .await
                .unwrap()
                .into_inner();
            assert!(m.message.contains(&address.to_string()));
            assert!(m.expires_at_ms > m.issued_at_ms);
            let req = pb::ExchangeTokenRequest {
                message: m.message.clone(),
                signature: personal_sign(&key, &m.message),
            };
            let jwt = auth
                .exchange_token(req.clone())
                .await
                .unwrap()
                .into_inner()
                .jwt;
            let replay = auth.exchange_token(req).await.unwrap_err();
            assert_eq!(replay.code(), Code::Unauthenticated);
            jwt
        }
    };
    let alice = sign_in(SigningKey::from_slice(&[1u8; 32]).unwrap()).await;
    let bob = sign_in(SigningKey::from_slice(&[2u8; 32]).unwrap()).await;
    let mut c = client(&node.grpc).await;
    let task = c
        .create_task(bearer(create_req(1, 67, 60_000), &alice))
        .await
        .unwrap()
        .into_inner();
    let get = pb::GetTaskRequest {
        task_id: task.task_id.clone(),
    };
    c.get_task(bearer(get.clone(), &alice)).await.unwrap();
    assert_eq!(
        c.get_task(bearer(get.clone(), &bob))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let mut tampered = alice.clone();
    tampered.push('x');
    assert_eq!(
        c.get_task(bearer(get, &tampered)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    // A message signed by another key is refused.
    let m = auth
        .get_signing_message(pb::SigningMessageRequest {
            address: Address::from_public_key(
                SigningKey::from_slice(&[3u8; 32]).unwrap().verifying_key(),
            )
            .to_string(),
            chain_id: 31337,
        })
        .await
        .unwrap()
        .into_inner();
    let forged = auth
        .exchange_token(pb::ExchangeTokenRequest {
            signature: personal_sign(&SigningKey::from_slice(&[4u8; 32]).unwrap(), &m.message),
            message: m.message,
        })
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
}
