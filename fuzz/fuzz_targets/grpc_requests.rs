//! gRPC request decoding: the first byte picks a `quorate.v1` RPC method, the rest is its
//! request message — as raw protobuf, and (when the bytes are a gRPC length-prefixed frame) as
//! the frame's message. Each decoded message goes through `quorate-api`'s validation, as the
//! node does before touching its state.
//!
//! Invariants: no panic; a decoded message re-encodes and decodes to itself and validates the
//! same way again; whatever validates satisfies its type's rules (ids non-zero and equal to
//! the bytes sent, canonical point encodings, a non-empty response with digest =
//! keccak256(response), 32-byte auth nonces, sizes and expiry
//! within the limits, quorums unique and in range, page sizes in 1..=1000) and re-validates
//! from its own wire form; every refusal naming a task names the task that was sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorate_api::{
    decode_frame, encode_frame, parse_address, pb, ListQuery, Method, NewTask, Request,
    RequestError, RequestLimits, SignatureSubmission, Subscription, TokenExchange, Validated,
    MAX_LIST_LIMIT,
};
use quorate_domain::{QuorumNumber, TaskId};
use sha3::{Digest, Keccak256};

/// Small enough that inputs under libFuzzer's `-max_len=4096` cross them.
const LIMITS: RequestLimits = RequestLimits {
    default_reference_block: 100,
    max_payload_bytes: 256,
    max_response_bytes: 256,
    max_expiry_ms: 3_600_000,
};

/// The id the node would assign to a task created without one.
fn assigned() -> TaskId {
    TaskId::from(0x00A5_516Eu64)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let method = Method::from_selector(selector);
    check(method, body);
    // The same bytes as one gRPC frame (flag, u32 length, message), as they arrive on a stream.
    if let Ok((frame, rest)) = decode_frame(body, LIMITS.max_payload_bytes * 4) {
        let len = frame.message.len();
        assert_eq!(rest.len(), body.len() - 5 - len);
        if !frame.compressed {
            assert_eq!(encode_frame(frame.message).as_deref(), Ok(&body[..5 + len]));
            check(method, frame.message);
        }
    }
});

fn check(method: Method, bytes: &[u8]) {
    let Ok(request) = method.decode(bytes) else {
        return;
    };
    assert_eq!(request.method(), method);
    let again = method
        .decode(&request.encode_to_vec())
        .expect("a decoded message re-encodes to a decodable one");
    assert_eq!(again, request, "protobuf round trip");
    let verdict = request.validate(&LIMITS, assigned);
    let verdict_again = again.validate(&LIMITS, assigned);
    match (&verdict, &verdict_again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("validation is not deterministic: {verdict:?} / {verdict_again:?}"),
    }
    match verdict {
        Ok(valid) => check_valid(&request, valid),
        Err(e) => check_refusal(&request, &e),
    }
}

fn check_valid(request: &Request, valid: Validated<'_>) {
    match (request, valid) {
        (Request::SubmitSignedResponse(m), Validated::Submission(s)) => {
            assert_eq!(s.to_wire(), *m, "a valid submission is its own wire form");
            assert!(s.response.len() <= LIMITS.max_response_bytes);
            assert!(!s.response.is_empty(), "an empty response is refused");
            let digest: [u8; 32] = Keccak256::digest(&s.response).into();
            assert_eq!(s.digest.as_bytes(), &digest);
            assert!(!s.signature.is_identity());
            let again = SignatureSubmission::decode(s.to_wire(), LIMITS.max_response_bytes);
            assert_eq!(again.ok(), Some(s));
        }
        (Request::SubscribeTasks(m), Validated::Subscribe(s)) => {
            check_subscription(
                &s,
                &m.operator_id,
                &m.auth_signature,
                m.cursor,
                &m.nonce,
            );
        }
        (Request::Ack(m), Validated::Ack(s)) => {
            check_subscription(
                &s,
                &m.operator_id,
                &m.auth_signature,
                m.cursor,
                &m.nonce,
            );
        }
        (Request::CreateTask(m), Validated::NewTask(t)) => check_new_task(m, &t),
        (
            Request::GetTask(pb::GetTaskRequest { task_id })
            | Request::WatchTask(pb::GetTaskRequest { task_id })
            | Request::GetAggregate(pb::GetTaskRequest { task_id })
            | Request::CancelTask(pb::CancelTaskRequest { task_id }),
            Validated::Task(id),
        ) => {
            assert_eq!(&id.as_bytes()[..], &task_id[..]);
            assert_ne!(id.as_bytes(), &[0; 32]);
        }
        (Request::ListTasks(m), Validated::List(q)) => check_list(m, &q),
        (Request::GetSigningMessage(m), Validated::SigningMessage(q)) => {
            assert_eq!(q.chain_id, m.chain_id);
            // 0x, 0X or no prefix, then 40 hex digits of any case.
            let digits = (m.address.strip_prefix("0x"))
                .or_else(|| m.address.strip_prefix("0X"))
                .unwrap_or(&m.address);
            assert_eq!(digits.len(), 40, "{:?}", m.address);
            assert!(digits.eq_ignore_ascii_case(&format!("{:x}", q.address)));
            assert_eq!(parse_address(&q.address.to_string()).ok(), Some(q.address));
        }
        (Request::ExchangeToken(m), Validated::TokenExchange(t)) => check_exchange(m, &t),
        (Request::GetOperatorChallenge(m), Validated::Operator(id)) => {
            assert_eq!(&id.as_bytes()[..], &m.operator_id[..]);
            assert_ne!(id.as_bytes(), &[0; 32]);
        }
        (Request::ListEquivocations(m), Validated::Equivocations(q)) => {
            assert!((1..=MAX_LIST_LIMIT).contains(&q.limit));
            if m.page_token.is_empty() {
                assert_eq!(q.after, 0);
            } else {
                assert_eq!(m.page_token.parse::<u64>().ok(), Some(q.after));
            }
        }
        (r, v) => panic!("{:?} validated into {v:?}", r.method()),
    }
}

fn check_subscription(s: &Subscription, id: &[u8], sig: &[u8], cursor: u64, nonce: &[u8]) {
    assert_eq!(&s.proof.operator_id.as_bytes()[..], id);
    assert_eq!(
        &s.proof.signature.to_bytes()[..],
        sig,
        "canonical G1 encoding"
    );
    assert_eq!((s.cursor, &s.proof.nonce[..]), (cursor, nonce));
}

fn check_new_task(m: &pb::CreateTaskRequest, t: &NewTask) {
    if m.task_id.is_empty() {
        assert_eq!(t.task_id, assigned());
    } else {
        assert_eq!(&t.task_id.as_bytes()[..], &m.task_id[..]);
    }
    assert!(t.payload.len() <= LIMITS.max_payload_bytes);
    assert!((1..=LIMITS.max_expiry_ms).contains(&t.expiry_ms));
    assert!(t.window_ms <= t.expiry_ms);
    assert_ne!(t.reference_block, 0);
    assert!(!t.quorums.is_empty());
    let mut seen = std::collections::HashSet::new();
    for &(q, threshold) in &t.quorums {
        assert!(q <= QuorumNumber::MAX && (1..=100).contains(&threshold));
        assert!(seen.insert(q), "quorum {q} twice");
    }
    assert_eq!(t.metadata.task_id(), t.task_id);
    assert_eq!(t.metadata.reference_block(), t.reference_block);
    assert_eq!(t.metadata.quorums().len(), t.quorums.len());
    // The validated task, sent again as a request, validates to itself.
    let resent = pb::CreateTaskRequest {
        task_id: t.task_id.as_bytes().to_vec(),
        reference_block: t.reference_block,
        quorums: t
            .quorums
            .iter()
            .map(|&(q, p)| pb::QuorumThreshold {
                quorum: q.into(),
                threshold_percent: p.into(),
            })
            .collect(),
        expiry_ms: t.expiry_ms,
        window_ms: t.window_ms,
        payload: t.payload.clone(),
    };
    let again = NewTask::decode(resent, &LIMITS, || unreachable!("the id is given"));
    assert_eq!(again.ok().as_ref(), Some(t));
}

fn check_list(m: &pb::ListTasksRequest, q: &ListQuery) {
    assert!((1..=MAX_LIST_LIMIT).contains(&q.limit));
    if m.limit != 0 {
        assert_eq!(q.limit, m.limit.min(MAX_LIST_LIMIT));
    }
    match q.status {
        None => assert_eq!(m.status, 0),
        Some(s) => assert_eq!((s as i32, m.status != 0), (m.status, true)),
    }
    assert_eq!(q.creator.as_deref().unwrap_or(""), m.creator);
    if m.page_token.is_empty() {
        assert_eq!(q.after, 0);
    } else {
        assert_eq!(m.page_token.parse::<u64>().ok(), Some(q.after));
    }
    // The token the node would hand out for this position reads back as the same position.
    let next = pb::ListTasksRequest {
        page_token: q.after.to_string(),
        ..m.clone()
    };
    assert_eq!(ListQuery::decode(next).map(|n| n.after).ok(), Some(q.after));
    assert_eq!(q.full, m.full);
}

fn check_exchange(m: &pb::ExchangeTokenRequest, t: &TokenExchange<'_>) {
    assert_eq!(t.message, m.message);
    assert!(m
        .message
        .lines()
        .any(|l| l == format!("Nonce: {}", t.nonce)));
    assert_eq!(&t.signature.as_bytes()[..64], &m.signature[..64]);
    assert_eq!(m.signature.len(), 65);
}

/// Refusals that concern a task or an operator name the ones that were sent.
fn check_refusal(request: &Request, e: &RequestError) {
    let text = e.to_string();
    assert!(!text.is_empty());
    let sent_task = match request {
        Request::SubmitSignedResponse(m) => Some(&m.task_id),
        Request::CreateTask(m) if !m.task_id.is_empty() => Some(&m.task_id),
        _ => None,
    };
    match e {
        RequestError::DigestLength {
            task_id,
            operator_id,
            ..
        }
        | RequestError::ResponseTooLarge {
            task_id,
            operator_id,
            ..
        }
        | RequestError::DigestMismatch {
            task_id,
            operator_id,
        }
        | RequestError::EmptyResponse {
            task_id,
            operator_id,
        }
        | RequestError::BadSignature {
            task_id,
            operator_id,
            ..
        } => {
            assert!(text.contains(&task_id.to_string()) && text.contains(&operator_id.to_string()));
            assert_eq!(sent_task.map(|t| &t[..]), Some(&task_id.as_bytes()[..]));
        }
        RequestError::PayloadTooLarge { task_id, .. }
        | RequestError::ExpiryOutOfRange { task_id, .. }
        | RequestError::QuorumOutOfRange { task_id, .. }
        | RequestError::InvalidTask { task_id, .. } => {
            assert!(text.contains(&task_id.to_string()));
            let expected = sent_task.map_or(assigned(), |t| {
                TaskId::new(t[..].try_into().expect("a valid id was sent")).expect("non-zero")
            });
            assert_eq!(*task_id, expected);
        }
        RequestError::BadAuthSignature { operator_id, .. }
        | RequestError::BadAuthNonce { operator_id, .. } => {
            assert!(e.is_authentication() && text.contains(&operator_id.to_string()));
        }
        _ => assert!(!e.is_authentication()),
    }
}
