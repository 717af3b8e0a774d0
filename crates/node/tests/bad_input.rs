//! Bad input and faults, each answered with a clear gRPC status while the node keeps working:
//! malformed requests, unknown tasks, wrong owners, missing or unknown API keys, read-only
//! keys, replayed and forged responses, unregistered operators, oversized messages, and a
//! task-creation flood beyond the rate limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use quorate_bls::KeyPair;
use rand::SeedableRng;
use sha3::{Digest, Keccak256};
use tonic::{Code, Request};

fn with_key<T>(msg: T, key: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("x-api-key", key.parse().unwrap());
    r
}

/// The node's dev key derivation (see `compute::dev_key`).
fn dev_key(seed: u64, index: u32) -> KeyPair {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(
        seed.wrapping_mul(1_000_003).wrapping_add(u64::from(index)),
    );
    KeyPair::random(&mut rng)
}

fn signed(task: &[u8], key: &KeyPair, signer: &KeyPair, response: &[u8]) -> pb::SignedResponse {
    let digest: [u8; 32] = Keccak256::digest(response).into();
    pb::SignedResponse {
        task_id: task.to_vec(),
        operator_id: key.operator_id().as_bytes().to_vec(),
        digest: digest.to_vec(),
        signature: signer.sign(&digest).to_bytes().to_vec(),
        response: response.to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_gets_its_own_status_and_disturbs_nothing() {
    let dir = Scratch::new("bad");
    let config = dir.0.join("node.toml");
    std::fs::write(
        &config,
        r#"
[[api_keys]]
name = "alice"
key = "alice-key"
role = "client"
[[api_keys]]
name = "bob"
key = "bob-key"
role = "client"
[[api_keys]]
name = "ops"
key = "ro-key"
role = "readonly"
[[api_keys]]
name = "flood"
key = "flood-key"
role = "client"
"#,
    )
    .unwrap();
    let node = start_node(
        &dir.0.join("node.redb"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--dev-operators",
            "4",
            "--simulated-operators",
            "0",
            "--rate-limit",
            "0.1",
            "--rate-burst",
            "8",
            "--max-message-bytes",
            "4096",
            "--max-payload-bytes",
            "1000",
        ],
    );
    let mut c = client(&node.grpc).await;
    let code =
        |r: Result<tonic::Response<pb::Task>, tonic::Status>| r.map(|_| ()).unwrap_err().code();

    // Authentication and roles.
    assert_eq!(
        code(c.create_task(create_req(1, 100, 60_000)).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code(
            c.create_task(with_key(create_req(1, 100, 60_000), "nope"))
                .await
        ),
        Code::Unauthenticated
    );
    let mut forged_jwt = Request::new(create_req(1, 100, 60_000));
    forged_jwt.metadata_mut().insert(
        "authorization",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"
            .parse()
            .unwrap(),
    );
    assert_eq!(code(c.create_task(forged_jwt).await), Code::Unauthenticated);
    assert_eq!(
        code(
            c.create_task(with_key(create_req(1, 100, 60_000), "ro-key"))
                .await
        ),
        Code::PermissionDenied
    );
    let task = c
        .create_task(with_key(create_req(1, 100, 60_000), "alice-key"))
        .await
        .expect("alice creates")
        .into_inner();
    let get = |id: Vec<u8>| pb::GetTaskRequest { task_id: id };
    // Wrong owner: bob cannot see or cancel alice's task; read-only can see it.
    assert_eq!(
        code(
            c.get_task(with_key(get(task.task_id.clone()), "bob-key"))
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.cancel_task(with_key(
                pb::CancelTaskRequest {
                    task_id: task.task_id.clone()
                },
                "bob-key"
            ))
            .await
        ),
        Code::NotFound
    );
    c.get_task(with_key(get(task.task_id.clone()), "ro-key"))
        .await
        .expect("read-only reads");
    let listed = c
        .list_tasks(with_key(
            pb::ListTasksRequest {
                status: 0,
                creator: String::new(),
                page_token: String::new(),
                limit: 0,
                full: false,
            },
            "bob-key",
        ))
        .await
        .expect("bob lists")
        .into_inner();
    assert!(listed.tasks.is_empty(), "bob sees only his own tasks");

    // Malformed requests and unknown tasks.
    assert_eq!(
        code(c.get_task(with_key(get(vec![1; 5]), "alice-key")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.get_task(with_key(get(vec![9; 32]), "alice-key")).await),
        Code::NotFound
    );
    let mut bad = create_req(2, 0, 60_000);
    assert_eq!(
        code(c.create_task(with_key(bad.clone(), "alice-key")).await),
        Code::InvalidArgument
    );
    bad.quorums[0].threshold_percent = 50;
    bad.expiry_ms = 0;
    assert_eq!(
        code(c.create_task(with_key(bad.clone(), "alice-key")).await),
        Code::InvalidArgument
    );
    bad.expiry_ms = 60_000;
    bad.payload = vec![b'x'; 2000];
    assert_eq!(
        code(c.create_task(with_key(bad.clone(), "alice-key")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.create_task(with_key(create_req(1, 100, 60_000), "alice-key"))
                .await
        ),
        Code::AlreadyExists
    );
    // Oversized message: refused by the transport limit.
    bad.payload = vec![b'x'; 10_000];
    let oversized = code(c.create_task(with_key(bad, "alice-key")).await);
    assert!(
        matches!(oversized, Code::OutOfRange | Code::ResourceExhausted),
        "{oversized:?}"
    );

    // Operator faults.
    let mut op = operator_client(&node.grpc).await;
    let (op0, op1) = (dev_key(1, 0), dev_key(1, 1));
    let stranger = KeyPair::random(&mut rand::thread_rng());
    let submit_code = |r: Result<tonic::Response<pb::SubmitVerdict>, tonic::Status>| {
        r.map(|_| ()).unwrap_err().code()
    };
    let ok = op
        .submit_signed_response(signed(&task.task_id, &op0, &op0, b"r"))
        .await
        .expect("registered operator accepted")
        .into_inner();
    assert_eq!(ok.verdict, pb::Verdict::Accepted as i32);
    // Replayed response.
    assert_eq!(
        submit_code(
            op.submit_signed_response(signed(&task.task_id, &op0, &op0, b"r"))
                .await
        ),
        Code::AlreadyExists
    );
    // Unregistered operator.
    let unreg = submit_code(
        op.submit_signed_response(signed(&task.task_id, &stranger, &stranger, b"r"))
            .await,
    );
    assert_eq!(unreg, Code::PermissionDenied);
    // Forged: operator 1's id, someone else's signature.
    assert_eq!(
        submit_code(
            op.submit_signed_response(signed(&task.task_id, &op1, &stranger, b"r"))
                .await
        ),
        Code::InvalidArgument
    );
    // Malformed signature, digest not matching the response, unknown task.
    let mut m = signed(&task.task_id, &op1, &op1, b"r");
    m.signature.truncate(10);
    assert_eq!(
        submit_code(op.submit_signed_response(m).await),
        Code::InvalidArgument
    );
    let mut m = signed(&task.task_id, &op1, &op1, b"r");
    m.response = b"other".to_vec();
    assert_eq!(
        submit_code(op.submit_signed_response(m).await),
        Code::InvalidArgument
    );
    assert_eq!(
        submit_code(
            op.submit_signed_response(signed(&[5; 32], &op1, &op1, b"r"))
                .await
        ),
        Code::NotFound
    );
    // The refused responses were not stored: operator 1 can still sign.
    op.submit_signed_response(signed(&task.task_id, &op1, &op1, b"r"))
        .await
        .expect("operator 1 accepted after the forgeries");
    let t = c
        .get_task(with_key(get(task.task_id.clone()), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.signatures, 2);

    // A flood beyond the rate limit: refused for the flooder only.
    let mut limited = 0;
    for i in 100..120 {
        match c
            .create_task(with_key(create_req(i, 100, 60_000), "flood-key"))
            .await
        {
            Ok(_) => {}
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted);
                limited += 1;
            }
        }
    }
    assert_eq!(limited, 12);
    c.create_task(with_key(create_req(3, 100, 60_000), "alice-key"))
        .await
        .expect("alice unaffected by the flood");

    // Cancel: owner may, then the task is final.
    let cancelled = c
        .cancel_task(with_key(
            pb::CancelTaskRequest {
                task_id: task.task_id.clone(),
            },
            "alice-key",
        ))
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.status, pb::TaskStatus::Cancelled as i32);
    assert_eq!(
        submit_code(
            op.submit_signed_response(signed(&task.task_id, &dev_key(1, 2), &dev_key(1, 2), b"r"))
                .await
        ),
        Code::FailedPrecondition
    );

    // Operator authentication on SubscribeTasks: missing, forged and unregistered proofs.
    let sub = |key: &KeyPair, signer: &KeyPair| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let mut h = Keccak256::new();
        h.update(b"quorate-operator-auth");
        h.update(key.operator_id().as_bytes());
        h.update(now.to_be_bytes());
        let digest: [u8; 32] = h.finalize().into();
        pb::SubscribeTasksRequest {
            operator_id: key.operator_id().as_bytes().to_vec(),
            cursor: 0,
            issued_at_ms: now,
            auth_signature: signer.sign(&digest).to_bytes().to_vec(),
        }
    };
    let mut no_proof = sub(&op0, &op0);
    no_proof.auth_signature.clear();
    let code_of = |r: Result<tonic::Response<tonic::codec::Streaming<pb::Task>>, tonic::Status>| {
        r.map(|_| ()).unwrap_err().code()
    };
    assert_eq!(
        code_of(op.subscribe_tasks(no_proof).await),
        Code::Unauthenticated
    );
    let mut stale = sub(&op0, &op0);
    stale.issued_at_ms -= 3_600_000;
    assert_eq!(
        code_of(op.subscribe_tasks(stale).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code_of(op.subscribe_tasks(sub(&op0, &op1)).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code_of(op.subscribe_tasks(sub(&stranger, &stranger)).await),
        Code::PermissionDenied
    );
    let mut stream = op
        .subscribe_tasks(sub(&op0, &op0))
        .await
        .expect("registered operator subscribes")
        .into_inner();
    let first = stream.message().await.expect("stream").expect("a task");
    assert!(first.seq > 0);

    let (status, _) = http_get(&node.http, "/health");
    assert!(status.contains("200"), "{status}");
}
