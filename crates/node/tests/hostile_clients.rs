//! Hostile clients against a real `quorate node` process: key guessing, sign-in floods,
//! altered EIP-4361 messages, watcher floods and one client taking every task slot. Each
//! attack is refused with its exact gRPC status while an honest client keeps working.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use alloy_primitives::Address;
use common::*;
use k256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};
use tonic::{Code, Request};

type AuthClient = pb::auth_service_client::AuthServiceClient<tonic::transport::Channel>;

fn with_key<T>(msg: T, key: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("x-api-key", key.parse().unwrap());
    r
}

fn personal_sign(key: &SigningKey, message: &str) -> Vec<u8> {
    let hash = alloy_primitives::eip191_hash_message(message.as_bytes());
    let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
    let mut out = sig.to_bytes().to_vec();
    out.push(27 + recid.to_byte());
    out
}

/// alice's key in plain text, bob's only as its SHA-256: both must authenticate.
fn keys_config(dir: &Scratch) -> std::path::PathBuf {
    let path = dir.0.join("node.toml");
    let bob_hash = hex::encode(Sha256::digest(b"bob-key"));
    std::fs::write(
        &path,
        format!(
            "[[api_keys]]\nname = \"alice\"\nkey = \"alice-key\"\nrole = \"client\"\n\
             [[api_keys]]\nname = \"bob\"\nkey_sha256 = \"{bob_hash}\"\nrole = \"client\"\n"
        ),
    )
    .unwrap();
    path
}

fn start(dir: &Scratch, extra: &[&str]) -> Node {
    let config = keys_config(dir);
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--simulated-operators",
        "0",
    ];
    args.extend_from_slice(extra);
    start_node(&dir.0.join("node.redb"), &args)
}

async fn auth_client(grpc: &str) -> AuthClient {
    AuthClient::connect(grpc.to_string()).await.unwrap()
}

fn message_request(key: &SigningKey) -> pb::SigningMessageRequest {
    pb::SigningMessageRequest {
        address: Address::from_public_key(key.verifying_key()).to_string(),
        chain_id: 31337,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_required_hashed_and_guessing_is_throttled_per_peer() {
    let dir = Scratch::new("hostile-keys");
    let node = start(
        &dir,
        &["--peer-rate-limit", "0.001", "--peer-rate-burst", "3"],
    );
    let mut c = client(&node.grpc).await;
    // No implicit admin: with keys configured, no credentials is refused.
    let anonymous = c.create_task(create_req(1, 67, 60_000)).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    // bob's key is configured only as a hash and still authenticates.
    let t = c
        .create_task(with_key(create_req(2, 67, 60_000), "bob-key"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.creator, "bob");
    // Guessing: the remaining budget of failures is Unauthenticated, then ResourceExhausted.
    let mut codes = Vec::new();
    for guess in 0..4 {
        let req = with_key(
            create_req(10 + guess, 67, 60_000),
            &format!("guess-{guess}"),
        );
        codes.push(c.create_task(req).await.unwrap_err().code());
    }
    assert_eq!(
        codes,
        [
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::ResourceExhausted,
            Code::ResourceExhausted
        ]
    );
    // Valid keys from the same address are unaffected by the throttle.
    let t = c
        .create_task(with_key(create_req(3, 67, 60_000), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.creator, "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_floods_are_rate_limited_per_peer_while_clients_work() {
    let dir = Scratch::new("hostile-signin");
    let node = start(
        &dir,
        &["--peer-rate-limit", "0.001", "--peer-rate-burst", "5"],
    );
    let mut auth = auth_client(&node.grpc).await;
    let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
    let flood = {
        let mut auth = auth.clone();
        let req = message_request(&key);
        tokio::spawn(async move {
            let mut codes = Vec::new();
            for _ in 0..20 {
                match auth.get_signing_message(req.clone()).await {
                    Ok(_) => codes.push(Code::Ok),
                    Err(s) => codes.push(s.code()),
                }
            }
            codes
        })
    };
    // Honest, authenticated traffic in parallel.
    let mut c = client(&node.grpc).await;
    for i in 0..5 {
        c.create_task(with_key(create_req(100 + i, 67, 60_000), "alice-key"))
            .await
            .unwrap();
    }
    let codes = flood.await.unwrap();
    assert_eq!(codes.iter().filter(|c| **c == Code::Ok).count(), 5);
    assert!(
        codes[5..].iter().all(|c| *c == Code::ResourceExhausted),
        "{codes:?}"
    );
    // The exchange is budgeted too: no recovery work for a flooding address.
    let refused = auth
        .exchange_token(pb::ExchangeTokenRequest {
            message: "x".into(),
            signature: vec![0; 65],
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_eip4361_and_altered_messages_are_refused() {
    let dir = Scratch::new("hostile-siwe");
    let node = start(
        &dir,
        &[
            "--siwe-domain",
            "node.test",
            "--siwe-uri",
            "https://node.test/app",
        ],
    );
    let mut auth = auth_client(&node.grpc).await;
    let key = SigningKey::from_slice(&[6u8; 32]).unwrap();
    let address = Address::from_public_key(key.verifying_key());
    let m = auth
        .get_signing_message(message_request(&key))
        .await
        .unwrap()
        .into_inner();
    let expected_head = format!(
        "node.test wants you to sign in with your Ethereum account:\n{}\n\n",
        address.to_checksum(None)
    );
    assert!(m.message.starts_with(&expected_head), "{}", m.message);
    for line in [
        "URI: https://node.test/app",
        "Version: 1",
        "Chain ID: 31337",
    ] {
        assert!(
            m.message.contains(&format!("\n{line}\n")),
            "{line}: {}",
            m.message
        );
    }
    assert!(m.message.contains(&format!("\nNonce: {}\n", m.nonce)));
    assert!(m.message.contains("\nIssued At: ") && m.message.contains("\nExpiration Time: "));
    // Another domain (a phishing site relaying the nonce), re-signed by the wallet: refused,
    // and the nonce is spent.
    let phished = m.message.replacen("node.test wants", "evil.test wants", 1);
    let err = auth
        .exchange_token(pb::ExchangeTokenRequest {
            signature: personal_sign(&key, &phished),
            message: phished,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let spent = auth
        .exchange_token(pb::ExchangeTokenRequest {
            signature: personal_sign(&key, &m.message),
            message: m.message.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(spent.code(), Code::Unauthenticated);
    // A fresh, untouched message works once.
    let m = auth
        .get_signing_message(message_request(&key))
        .await
        .unwrap()
        .into_inner();
    let token = auth
        .exchange_token(pb::ExchangeTokenRequest {
            signature: personal_sign(&key, &m.message),
            message: m.message,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(token.jwt.matches('.').count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_or_allow_listed_sign_in_refuses_strangers() {
    let dir = Scratch::new("hostile-allow");
    let friend = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let stranger = SigningKey::from_slice(&[8u8; 32]).unwrap();
    let friend_address = Address::from_public_key(friend.verifying_key()).to_string();
    let node = start(&dir, &["--wallet-allow", &friend_address]);
    let mut auth = auth_client(&node.grpc).await;
    auth.get_signing_message(message_request(&friend))
        .await
        .unwrap();
    let refused = auth
        .get_signing_message(message_request(&stranger))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    let off_dir = Scratch::new("hostile-signin-off");
    let off = start(&off_dir, &["--wallet-sign-in", "false"]);
    let mut auth = auth_client(&off.grpc).await;
    let refused = auth
        .get_signing_message(message_request(&friend))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_take_every_task_slot() {
    let dir = Scratch::new("hostile-quota");
    let node = start(&dir, &["--max-open-tasks-per-client", "3"]);
    let mut c = client(&node.grpc).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let t = c
            .create_task(with_key(create_req(200 + i, 67, 600_000), "alice-key"))
            .await
            .unwrap()
            .into_inner();
        ids.push(t.task_id);
    }
    let full = c
        .create_task(with_key(create_req(210, 67, 600_000), "alice-key"))
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted);
    // Another client is not affected.
    c.create_task(with_key(create_req(220, 67, 600_000), "bob-key"))
        .await
        .unwrap();
    // A finished task gives its slot back.
    c.cancel_task(with_key(
        pb::CancelTaskRequest {
            task_id: ids[0].clone(),
        },
        "alice-key",
    ))
    .await
    .unwrap();
    let mut last = None;
    for _ in 0..50 {
        match c
            .create_task(with_key(create_req(211, 67, 600_000), "alice-key"))
            .await
        {
            Ok(_) => {
                last = None;
                break;
            }
            Err(s) => last = Some(s.code()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, None, "the cancelled task's slot never came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_are_capped_per_caller() {
    let dir = Scratch::new("hostile-watch");
    let node = start(&dir, &["--max-watchers-per-caller", "2"]);
    let mut c = client(&node.grpc).await;
    let task = c
        .create_task(with_key(create_req(300, 67, 600_000), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    let get = || pb::GetTaskRequest {
        task_id: task.task_id.clone(),
    };
    let w1 = c.watch_task(with_key(get(), "alice-key")).await.unwrap();
    let _w2 = c.watch_task(with_key(get(), "alice-key")).await.unwrap();
    let third = c
        .watch_task(with_key(get(), "alice-key"))
        .await
        .unwrap_err();
    assert_eq!(third.code(), Code::ResourceExhausted);
    // bob's own task can still be watched: the cap is per caller.
    let bobs = c
        .create_task(with_key(create_req(301, 67, 600_000), "bob-key"))
        .await
        .unwrap()
        .into_inner();
    let mut bob_stream = c
        .watch_task(with_key(
            pb::GetTaskRequest {
                task_id: bobs.task_id,
            },
            "bob-key",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(bob_stream.message().await.unwrap().is_some());
    // Closing a stream gives its slot back.
    drop(w1);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(w) = c.watch_task(with_key(get(), "alice-key")).await {
            reopened = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reopened.is_some(),
        "a closed watch never gave its slot back"
    );
}
