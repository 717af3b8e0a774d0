//! Hostile operators against a real `quorate node` process, while honest `quorate operator run`
//! processes keep completing tasks: replayed, redirected, self-made and expired sign-in proofs,
//! acks past the highest task, too many task streams, submissions under another operator's id,
//! payloads that do not match their digest, and equivocation (stored as evidence that only an
//! admin can list).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::operator::*;
use common::*;
use quorate_api::ProofMethod;
use quorate_bls::KeyPair;
use tonic::{Code, Request};

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

fn with_key<T>(msg: T, key: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("x-api-key", key.parse().unwrap());
    r
}

const KEYS: &str = r#"
[[api_keys]]
name = "root"
key = "admin-key"
role = "admin"
[[api_keys]]
name = "alice"
key = "alice-key"
role = "client"
"#;

fn start(dir: &Scratch, extra: &[&str]) -> Node {
    let config = dir.0.join("node.toml");
    std::fs::write(&config, KEYS).unwrap();
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--dev-operators",
        "4",
        "--simulated-operators",
        "0",
        // Attacks below come from the same loopback address as the honest operators: the
        // per-address budget of failed calls is not what these tests are about.
        "--peer-rate-limit",
        "0",
    ];
    args.extend_from_slice(extra);
    let db = dir.0.join("node.redb");
    start_node(&db, &args)
}

async fn task(c: &mut ClientServiceClient, i: u64, threshold: u32) -> pb::Task {
    c.create_task(with_key(create_req(i, threshold, 60_000), "alice-key"))
        .await
        .expect("create")
        .into_inner()
}

type ClientServiceClient =
    pb::client_service_client::ClientServiceClient<tonic::transport::Channel>;

async fn get(c: &mut ClientServiceClient, task_id: &[u8]) -> pb::Task {
    c.get_task(with_key(
        pb::GetTaskRequest {
            task_id: task_id.to_vec(),
        },
        "admin-key",
    ))
    .await
    .expect("get")
    .into_inner()
}

/// Polls (as the admin) until `want` tasks are submitted or `within` passes; the count.
async fn wait_submitted(c: &mut ClientServiceClient, want: usize, within: Duration) -> usize {
    let deadline = std::time::Instant::now() + within;
    loop {
        let listed = c
            .list_tasks(with_key(
                pb::ListTasksRequest {
                    status: pb::TaskStatus::Submitted as i32,
                    creator: String::new(),
                    page_token: String::new(),
                    limit: 1000,
                    full: false,
                },
                "admin-key",
            ))
            .await
            .expect("list")
            .into_inner()
            .tasks
            .len();
        if listed >= want || std::time::Instant::now() > deadline {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_proofs_cannot_be_replayed_redirected_or_made_in_advance() {
    let dir = Scratch::new("hostile-proofs");
    let node = start(
        &dir,
        &[
            "--operator-challenge-ttl-ms",
            "1500",
            "--max-streams-per-operator",
            "2",
        ],
    );
    // Honest traffic in parallel: operators 0-2 hold 75% of the stake; tasks need 70%.
    let _honest: Vec<Proc> = (0..3).map(|i| start_operator(&node.grpc, i)).collect();
    let mut c = client(&node.grpc).await;
    for i in 1..=10 {
        task(&mut c, i, 70).await;
    }

    let mut op = operator_client(&node.grpc).await;
    let (me, other) = (dev_key(1, 3), dev_key(1, 1));
    let stranger = KeyPair::random(&mut rand::thread_rng());

    // Challenges only for registered, well-formed ids.
    assert_eq!(
        code(
            op.get_operator_challenge(pb::OperatorChallengeRequest {
                operator_id: stranger.operator_id().as_bytes().to_vec(),
            })
            .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code(
            op.get_operator_challenge(pb::OperatorChallengeRequest {
                operator_id: vec![7; 31],
            })
            .await
        ),
        Code::InvalidArgument
    );

    // A valid proof works once; the same request again is a replay.
    let valid = subscribe_req(&mut op, &me, 0).await;
    let stream = op.subscribe_tasks(valid.clone()).await.expect("first use");
    assert!(stream.metadata().get(SESSION_HEADER).is_some());
    assert_eq!(code(op.subscribe_tasks(valid).await), Code::Unauthenticated);

    // A proof made for SubscribeTasks, sent to Ack (same nonce, same cursor).
    let ch = challenge(&mut op, &me).await;
    let for_subscribe = proof(&me, &me, &ch, ProofMethod::SubscribeTasks, 0);
    let redirected = pb::AckRequest {
        operator_id: me.operator_id().as_bytes().to_vec(),
        cursor: 0,
        nonce: ch.nonce.clone(),
        auth_signature: for_subscribe,
    };
    assert_eq!(code(op.ack(redirected).await), Code::Unauthenticated);
    // A proof for cursor 0, sent with cursor 5.
    let ch = challenge(&mut op, &me).await;
    let for_zero = subscribe_with(&me, &me, &ch, 5, 0);
    assert_eq!(
        code(op.subscribe_tasks(for_zero).await),
        Code::Unauthenticated
    );
    // Made in advance: a nonce the node never issued, properly signed.
    let made_up = pb::OperatorChallenge {
        nonce: vec![0x42; 32],
        ..ch.clone()
    };
    let advance = subscribe_with(&me, &me, &made_up, 0, 0);
    assert_eq!(
        code(op.subscribe_tasks(advance).await),
        Code::Unauthenticated
    );
    // Another operator's nonce, or signed with another operator's key.
    let theirs = challenge(&mut op, &other).await;
    let stolen_nonce = subscribe_with(&me, &me, &theirs, 0, 0);
    assert_eq!(
        code(op.subscribe_tasks(stolen_nonce).await),
        Code::Unauthenticated
    );
    let ch = challenge(&mut op, &other).await;
    let wrong_key = subscribe_with(&other, &me, &ch, 0, 0);
    assert_eq!(
        code(op.subscribe_tasks(wrong_key).await),
        Code::Unauthenticated
    );
    // Expired: signed correctly, sent after the challenge's TTL.
    let late = subscribe_req(&mut op, &me, 0).await;
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert_eq!(code(op.subscribe_tasks(late).await), Code::Unauthenticated);

    // Acks are capped at the highest task sequence number issued.
    let highest = 10;
    let past = ack_req(&mut op, &me, highest + 1).await;
    assert_eq!(code(op.ack(past).await), Code::OutOfRange);
    let at = ack_req(&mut op, &me, highest).await;
    let acked = op.ack(at).await.expect("ack at the highest").into_inner();
    assert_eq!(acked.cursor, highest);

    // At most 2 task streams per operator (one is open above); a closed one frees its slot.
    let (_token, second) = sign_in(&mut op, &me, 0).await;
    let third = subscribe_req(&mut op, &me, 0).await;
    assert_eq!(
        code(op.subscribe_tasks(third).await),
        Code::ResourceExhausted
    );
    drop(second);
    drop(stream);
    let mut reopened = Code::ResourceExhausted;
    for _ in 0..50 {
        let again = subscribe_req(&mut op, &me, 0).await;
        reopened = code(op.subscribe_tasks(again).await);
        if reopened == Code::Ok {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(reopened, Code::Ok, "a closed stream gives its slot back");
    // Another operator is not affected by this one's streams.
    sign_in(&mut op, &other, 0).await;

    // The honest operators were never disturbed.
    let submitted = wait_submitted(&mut c, 10, Duration::from_secs(60)).await;
    assert_eq!(submitted, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_mismatched_submissions_are_refused_and_never_stored() {
    let dir = Scratch::new("hostile-submit");
    let node = start(&dir, &[]);
    let mut c = client(&node.grpc).await;
    // Needs all four operators: one forged signature counted or stored would show.
    let t = task(&mut c, 1, 100).await;
    let mut op = operator_client(&node.grpc).await;
    let keys: Vec<KeyPair> = (0..4).map(|i| dev_key(1, i)).collect();
    let stranger = KeyPair::random(&mut rand::thread_rng());
    let victim = &keys[0];

    // A forgery under the victim's id: without a session, with a garbage one, and with the
    // attacker's own (registered operator 3's) valid session.
    let forged = signed(&t.task_id, victim, &stranger, b"forged");
    assert_eq!(
        code(op.submit_signed_response(forged.clone()).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code(
            op.submit_signed_response(with_session(forged.clone(), "00ff"))
                .await
        ),
        Code::Unauthenticated
    );
    let (attacker_token, _attacker_stream) = sign_in(&mut op, &keys[3], 0).await;
    assert_eq!(
        code(
            op.submit_signed_response(with_session(forged.clone(), &attacker_token))
                .await
        ),
        Code::PermissionDenied
    );
    // A token whose tag was tampered with to name the victim.
    let tampered = format!(
        "{}{}",
        hex::encode(victim.operator_id().as_bytes()),
        &attacker_token[64..]
    );
    assert_eq!(
        code(
            op.submit_signed_response(with_session(forged, &tampered))
                .await
        ),
        Code::Unauthenticated
    );
    assert_eq!(
        get(&mut c, &t.task_id).await.signatures,
        0,
        "nothing stored"
    );

    // The victim's own session: an empty response and one whose digest is not its keccak256.
    let (token, _stream) = sign_in(&mut op, victim, 0).await;
    let mut empty = signed(&t.task_id, victim, victim, b"payload 1");
    empty.response.clear();
    assert_eq!(
        code(op.submit_signed_response(with_session(empty, &token)).await),
        Code::InvalidArgument
    );
    let mut mismatched = signed(&t.task_id, victim, victim, b"payload 1");
    mismatched.response = b"payload 2".to_vec();
    assert_eq!(
        code(
            op.submit_signed_response(with_session(mismatched, &token))
                .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        get(&mut c, &t.task_id).await.signatures,
        0,
        "nothing stored"
    );

    // The honest operators, after all that: every one is accepted and the task aggregates.
    let mut tokens = vec![token, String::new(), String::new(), attacker_token];
    for i in 1..3 {
        tokens[i] = sign_in(&mut op, &keys[i], 0).await.0;
    }
    // Equivocation first: operator 0 signs its response, then a different one.
    let verdict = op
        .submit_signed_response(with_session(
            signed(&t.task_id, victim, victim, b"payload 1"),
            &tokens[0],
        ))
        .await
        .expect("honest response accepted")
        .into_inner();
    assert_eq!(verdict.verdict, pb::Verdict::Accepted as i32);
    assert_eq!(
        code(
            op.submit_signed_response(with_session(
                signed(&t.task_id, victim, victim, b"payload 1 changed"),
                &tokens[0],
            ))
            .await
        ),
        Code::AlreadyExists
    );
    for (key, token) in keys.iter().zip(&tokens).skip(1) {
        op.submit_signed_response(with_session(
            signed(&t.task_id, key, key, b"payload 1"),
            token,
        ))
        .await
        .expect("honest response accepted");
    }
    let submitted = wait_submitted(&mut c, 1, Duration::from_secs(30)).await;
    assert_eq!(submitted, 1);
    assert_eq!(get(&mut c, &t.task_id).await.signatures, 4);

    // The equivocation is evidence: stored, listed to admins only.
    let list = pb::ListEquivocationsRequest {
        page_token: String::new(),
        limit: 10,
    };
    assert_eq!(
        code(
            c.list_equivocations(with_key(list.clone(), "alice-key"))
                .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code(c.list_equivocations(list.clone()).await),
        Code::Unauthenticated
    );
    let mut found = Vec::new();
    for _ in 0..50 {
        found = c
            .list_equivocations(with_key(list.clone(), "admin-key"))
            .await
            .expect("admin lists")
            .into_inner()
            .equivocations;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1);
    let e = &found[0];
    assert_eq!(e.task_id, t.task_id);
    assert_eq!(e.operator_id, victim.operator_id().as_bytes().to_vec());
    assert_ne!(e.first_digest, e.second_digest);
    let (_, metrics) = http_get(&node.http, "/metrics");
    assert!(
        metrics.contains("quorate_node_equivocations_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_spend_the_peer_budget_but_honest_ones_pass() {
    let dir = Scratch::new("hostile-peer");
    let config = dir.0.join("node.toml");
    std::fs::write(&config, KEYS).unwrap();
    let node = start_node(
        &dir.0.join("node.redb"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--dev-operators",
            "4",
            "--simulated-operators",
            "0",
            "--peer-rate-limit",
            "0.01",
            "--peer-rate-burst",
            "3",
        ],
    );
    let mut op = operator_client(&node.grpc).await;
    let me = dev_key(1, 0);
    let stranger = KeyPair::random(&mut rand::thread_rng());
    let guess = || pb::OperatorChallengeRequest {
        operator_id: stranger.operator_id().as_bytes().to_vec(),
    };
    // Three failures fit the burst; the fourth is throttled.
    for _ in 0..3 {
        assert_eq!(
            code(op.get_operator_challenge(guess()).await),
            Code::PermissionDenied
        );
    }
    assert_eq!(
        code(op.get_operator_challenge(guess()).await),
        Code::ResourceExhausted
    );
    let mut forged = subscribe_req(&mut op, &me, 0).await;
    forged.auth_signature = proof(
        &me,
        &stranger,
        &challenge(&mut op, &me).await,
        ProofMethod::SubscribeTasks,
        0,
    );
    assert_eq!(
        code(op.subscribe_tasks(forged).await),
        Code::ResourceExhausted
    );
    // Successful calls cost nothing: the real operator still signs in from the same address.
    let (token, _stream) = sign_in(&mut op, &me, 0).await;
    assert!(!token.is_empty());
}
