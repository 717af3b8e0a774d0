//! The seed corpus of the `grpc_requests` fuzz target (`fuzz/corpus/grpc_requests/`): one
//! valid request of every method, raw and as a gRPC frame, plus near-misses at each limit.
//! A seed is the method's selector byte (its index in `Method::ALL`) followed by the message.
//!
//! This test checks the committed files are exactly these seeds and that the valid ones
//! validate; `QUORATE_WRITE_FUZZ_SEEDS=1 cargo test -p quorate-api --test fuzz_seeds`
//! rewrites them.
#![allow(missing_docs, clippy::unwrap_used)] // fixtures: a failed unwrap is a failed test

use std::path::PathBuf;

use quorate_api::{encode_frame, pb, Method, Request, RequestLimits};
use quorate_bls::KeyPair;
use quorate_domain::TaskId;
use sha3::{Digest, Keccak256};

/// The fuzz target's limits.
const LIMITS: RequestLimits = RequestLimits {
    default_reference_block: 100,
    max_payload_bytes: 256,
    max_response_bytes: 256,
    max_expiry_ms: 3_600_000,
};

fn selector(method: Method) -> u8 {
    Method::ALL
        .iter()
        .position(|m| *m == method)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap()
}

fn key() -> KeyPair {
    KeyPair::from_secret_str("1234567890123456789").unwrap()
}

fn signed(response: &[u8]) -> pb::SignedResponse {
    let digest: [u8; 32] = Keccak256::digest(response).into();
    pb::SignedResponse {
        task_id: vec![0x11; 32],
        operator_id: vec![0x22; 32],
        digest: digest.to_vec(),
        signature: key().sign(&digest).to_bytes().to_vec(),
        response: response.to_vec(),
    }
}

fn create() -> pb::CreateTaskRequest {
    pb::CreateTaskRequest {
        task_id: vec![0x33; 32],
        reference_block: 0,
        quorums: vec![
            pb::QuorumThreshold {
                quorum: 0,
                threshold_percent: 67,
            },
            pb::QuorumThreshold {
                quorum: 1,
                threshold_percent: 100,
            },
        ],
        expiry_ms: 60_000,
        window_ms: 500,
        payload: b"price of ETH".to_vec(),
    }
}

fn get() -> pb::GetTaskRequest {
    pb::GetTaskRequest {
        task_id: vec![0x33; 32],
    }
}

/// `(file name, request, whether it validates)`.
fn seeds() -> Vec<(&'static str, Request, bool)> {
    let auth = key().sign(&[0x44; 32]).to_bytes().to_vec();
    let mut oversized_payload = create();
    oversized_payload.payload = vec![b'x'; LIMITS.max_payload_bytes + 1];
    let mut at_payload_limit = create();
    at_payload_limit.payload = vec![b'x'; LIMITS.max_payload_bytes];
    at_payload_limit.task_id.clear();
    let mut bad_quorum = create();
    bad_quorum.quorums[1].quorum = 192;
    let mut zero_id = signed(b"r");
    zero_id.task_id = vec![0; 32];
    let mut bad_point = signed(b"r");
    bad_point.signature = vec![0xff; 64];
    vec![
        (
            "subscribe",
            Request::SubscribeTasks(pb::SubscribeTasksRequest {
                operator_id: vec![0x22; 32],
                cursor: 7,
                nonce: vec![0x66; 32],
                auth_signature: auth.clone(),
            }),
            true,
        ),
        ("submit", Request::SubmitSignedResponse(signed(b"42")), true),
        (
            "submit_digest_only",
            Request::SubmitSignedResponse(pb::SignedResponse {
                response: Vec::new(),
                ..signed(b"42")
            }),
            false,
        ),
        (
            "ack",
            Request::Ack(pb::AckRequest {
                operator_id: vec![0x22; 32],
                cursor: 9,
                nonce: vec![0x66; 32],
                auth_signature: auth.clone(),
            }),
            true,
        ),
        (
            "ack_short_nonce",
            Request::Ack(pb::AckRequest {
                operator_id: vec![0x22; 32],
                cursor: 9,
                nonce: vec![0x66; 31],
                auth_signature: auth,
            }),
            false,
        ),
        (
            "operator_challenge",
            Request::GetOperatorChallenge(pb::OperatorChallengeRequest {
                operator_id: vec![0x22; 32],
            }),
            true,
        ),
        (
            "list_equivocations",
            Request::ListEquivocations(pb::ListEquivocationsRequest {
                page_token: "12".into(),
                limit: 50,
            }),
            true,
        ),
        ("create", Request::CreateTask(create()), true),
        ("create_at_limit", Request::CreateTask(at_payload_limit), true),
        ("get", Request::GetTask(get()), true),
        (
            "list",
            Request::ListTasks(pb::ListTasksRequest {
                status: pb::TaskStatus::Collecting as i32,
                creator: "alice".into(),
                page_token: "100".into(),
                limit: 1000,
                full: true,
            }),
            true,
        ),
        (
            "cancel",
            Request::CancelTask(pb::CancelTaskRequest {
                task_id: vec![0x33; 32],
            }),
            true,
        ),
        ("watch", Request::WatchTask(get()), true),
        ("aggregate", Request::GetAggregate(get()), true),
        (
            "signing_message",
            Request::GetSigningMessage(pb::SigningMessageRequest {
                address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
                chain_id: 31337,
            }),
            true,
        ),
        (
            "exchange",
            Request::ExchangeToken(pb::ExchangeTokenRequest {
                message: "quorate wants you to sign in with your Ethereum account:\n0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n\nChain ID: 31337\nNonce: 0123456789abcdef\nIssued At: 1\nExpiration Time: 2".into(),
                signature: [[0x55; 64].as_slice(), &[27]].concat(),
            }),
            true,
        ),
        ("create_oversized", Request::CreateTask(oversized_payload), false),
        ("create_quorum_192", Request::CreateTask(bad_quorum), false),
        ("submit_zero_task", Request::SubmitSignedResponse(zero_id), false),
        ("submit_bad_point", Request::SubmitSignedResponse(bad_point), false),
    ]
}

/// Every seed's file name and bytes: raw, and each valid one also framed.
fn files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, request, valid) in seeds() {
        let s = selector(request.method());
        let message = request.encode_to_vec();
        out.push((name.to_string(), [&[s][..], &message].concat()));
        if valid {
            let framed = encode_frame(&message).unwrap();
            out.push((format!("{name}_framed"), [&[s][..], &framed].concat()));
        }
    }
    out
}

#[test]
fn seeds_decode_as_intended_and_match_the_committed_corpus() {
    for (name, request, valid) in seeds() {
        let decoded = request.method().decode(&request.encode_to_vec()).unwrap();
        assert_eq!(decoded, request, "{name}");
        let verdict = request.validate(&LIMITS, || TaskId::from(1u64));
        assert_eq!(verdict.is_ok(), valid, "{name}: {verdict:?}");
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/grpc_requests");
    let files = files();
    if std::env::var_os("QUORATE_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        return;
    }
    if !dir.exists() {
        return; // Packaged without the fuzz directory.
    }
    for (name, bytes) in &files {
        let committed = std::fs::read(dir.join(name)).unwrap_or_else(|e| {
            panic!("seed {name}: {e}; rewrite with QUORATE_WRITE_FUZZ_SEEDS=1")
        });
        assert_eq!(&committed, bytes, "seed {name} is stale");
    }
}
