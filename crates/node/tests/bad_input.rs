//! Bad input and faults, each answered with a clear gRPC status while the node keeps working:
//! malformed requests, unknown tasks, wrong owners, missing or unknown API keys, read-only
//! keys, replayed and forged responses, unregistered operators, oversized messages, and a
//! task-creation flood beyond the rate limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::operator;
use common::*;
use quorate_bls::KeyPair;
use tonic::{Code, Request};

fn with_key<T>(msg: T, key: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("x-api-key", key.parse().unwrap());
    r
}

use common::operator::{dev_key, signed};

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

    // Operator faults. Submissions need the operator's session (hostile_operators.rs tries
    // the attacks on sign-in and sessions in depth).
    let mut op = operator_client(&node.grpc).await;
    let (op0, op1) = (dev_key(1, 0), dev_key(1, 1));
    let stranger = KeyPair::random(&mut rand::thread_rng());
    let (token0, _s0) = operator::sign_in(&mut op, &op0, 0).await;
    let (token1, _s1) = operator::sign_in(&mut op, &op1, 0).await;
    let submit_code = |r: Result<tonic::Response<pb::SubmitVerdict>, tonic::Status>| {
        r.map(|_| ()).unwrap_err().code()
    };
    let ok = op
        .submit_signed_response(operator::with_session(
            signed(&task.task_id, &op0, &op0, b"r"),
            &token0,
        ))
        .await
        .expect("registered operator accepted")
        .into_inner();
    assert_eq!(ok.verdict, pb::Verdict::Accepted as i32);
    // Replayed response.
    assert_eq!(
        submit_code(
            op.submit_signed_response(operator::with_session(
                signed(&task.task_id, &op0, &op0, b"r"),
                &token0
            ))
            .await
        ),
        Code::AlreadyExists
    );
    // Unregistered operator: it cannot sign in, so it has no session.
    let unreg = submit_code(
        op.submit_signed_response(signed(&task.task_id, &stranger, &stranger, b"r"))
            .await,
    );
    assert_eq!(unreg, Code::Unauthenticated);
    // Forged: operator 1's id and session, someone else's signature.
    assert_eq!(
        submit_code(
            op.submit_signed_response(operator::with_session(
                signed(&task.task_id, &op1, &stranger, b"r"),
                &token1
            ))
            .await
        ),
        Code::InvalidArgument
    );
    // Malformed signature, digest not matching the response, unknown task.
    let mut m = signed(&task.task_id, &op1, &op1, b"r");
    m.signature.truncate(10);
    assert_eq!(
        submit_code(
            op.submit_signed_response(operator::with_session(m, &token1))
                .await
        ),
        Code::InvalidArgument
    );
    let mut m = signed(&task.task_id, &op1, &op1, b"r");
    m.response = b"other".to_vec();
    assert_eq!(
        submit_code(
            op.submit_signed_response(operator::with_session(m, &token1))
                .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        submit_code(
            op.submit_signed_response(operator::with_session(
                signed(&[5; 32], &op1, &op1, b"r"),
                &token1
            ))
            .await
        ),
        Code::NotFound
    );
    // The refused responses were not stored: operator 1 can still sign.
    op.submit_signed_response(operator::with_session(
        signed(&task.task_id, &op1, &op1, b"r"),
        &token1,
    ))
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
    let op2 = dev_key(1, 2);
    let (token2, _s2) = operator::sign_in(&mut op, &op2, 0).await;
    assert_eq!(
        submit_code(
            op.submit_signed_response(operator::with_session(
                signed(&task.task_id, &op2, &op2, b"r"),
                &token2
            ))
            .await
        ),
        Code::FailedPrecondition
    );

    // Operator authentication on SubscribeTasks: missing, stale, forged and unregistered
    // proofs (hostile_operators.rs tries replays and redirected proofs).
    let code_of = |r: Result<tonic::Response<tonic::codec::Streaming<pb::Task>>, tonic::Status>| {
        r.map(|_| ()).unwrap_err().code()
    };
    let mut no_proof = operator::subscribe_req(&mut op, &op0, 0).await;
    no_proof.auth_signature.clear();
    assert_eq!(
        code_of(op.subscribe_tasks(no_proof).await),
        Code::Unauthenticated
    );
    let mut no_nonce = operator::subscribe_req(&mut op, &op0, 0).await;
    no_nonce.nonce.clear();
    assert_eq!(
        code_of(op.subscribe_tasks(no_nonce).await),
        Code::Unauthenticated
    );
    let ch = operator::challenge(&mut op, &op0).await;
    let forged = pb::SubscribeTasksRequest {
        operator_id: op0.operator_id().as_bytes().to_vec(),
        cursor: 0,
        auth_signature: operator::proof(
            &op0,
            &op1,
            &ch,
            quorate_api::ProofMethod::SubscribeTasks,
            0,
        ),
        nonce: ch.nonce.clone(),
    };
    assert_eq!(
        code_of(op.subscribe_tasks(forged).await),
        Code::Unauthenticated
    );
    assert_eq!(
        op.get_operator_challenge(pb::OperatorChallengeRequest {
            operator_id: stranger.operator_id().as_bytes().to_vec(),
        })
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
    let (_, mut stream) = operator::sign_in(&mut op, &op0, 0).await;
    let first = stream.message().await.expect("stream").expect("a task");
    assert!(first.seq > 0);

    let (status, _) = http_get(&node.http, "/health");
    assert!(status.contains("200"), "{status}");
}
