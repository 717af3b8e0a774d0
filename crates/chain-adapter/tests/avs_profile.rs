//! The configured (dynamic-ABI) path against alloy's static `sol!` encoding of the same
//! Incredible Squaring calls: the committed example configuration must produce exactly the
//! calldata the typed bindings produce, decode the same event, and refuse what the contract
//! would reject.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy::primitives::{keccak256, Address, Bytes, LogData, B256, U256};
use alloy::sol_types::{SolCall, SolError, SolEvent, SolValue};
use quorate_chain_adapter::contracts::{ISquaringTask, TaskManager};
use quorate_chain_adapter::convert::non_signer_stakes_and_signature;
use quorate_chain_adapter::{AvsProfile, AvsResponseCall, AvsSpec, ProfileError};
use quorate_domain::{AggregatedResponse, QuorumNumber, ResponseDigest, SubmissionRequest, TaskId};

fn example_spec() -> AvsSpec {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/avs/incredible-squaring.toml"
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn profile() -> AvsProfile {
    AvsProfile::compile(example_spec(), None).unwrap()
}

fn task() -> TaskManager::Task {
    TaskManager::Task {
        taskCreatedBlock: 77,
        quorumThresholdPercentage: 60,
        message: U256::from(12u64).abi_encode().into(),
        quorumNumbers: vec![0u8, 2].into(),
    }
}

fn created_log(index: u32, task: &TaskManager::Task) -> LogData {
    ISquaringTask::NewTaskCreated {
        taskIndex: index,
        task: task.clone(),
    }
    .encode_log_data()
}

fn aggregate(digest: B256, block: u64, quorums: &[u8]) -> AggregatedResponse {
    AggregatedResponse {
        task_id: TaskId::from(1u64),
        digest: ResponseDigest::new(digest.0),
        reference_block: block,
        quorum_numbers: quorums.iter().map(|q| QuorumNumber(*q)).collect(),
        signer_ids: Vec::new(),
        non_signer_ids: Vec::new(),
        non_signer_pubkeys_g1: Vec::new(),
        quorum_apks_g1: vec![Default::default(); quorums.len()],
        signers_apk_g2: Default::default(),
        signers_agg_sig_g1: Default::default(),
        indices: quorate_domain::CheckSignaturesIndices {
            non_signer_quorum_bitmap_indices: vec![],
            quorum_apk_indices: vec![3, 4],
            total_stake_indices: vec![5, 6],
            non_signer_stake_indices: vec![vec![], vec![]],
        },
        signed_stake: Vec::new(),
        total_stake: Vec::new(),
    }
}

#[test]
fn a_task_created_log_becomes_the_task_and_its_payload() {
    let p = profile();
    let t = task();
    let hash = B256::repeat_byte(9);
    let chain_task = p.task_from_log(&created_log(5, &t), hash).unwrap();
    assert_eq!(chain_task.chain_id, "5");
    assert_eq!(chain_task.reference_block, 77);
    assert_eq!(chain_task.quorums, vec![(0, 60), (2, 60)]);
    assert_eq!(chain_task.payload, (5u32, t.clone()).abi_encode_params());
    // The same log in another block is another task; the payload alone names the same one.
    let moved = p
        .task_from_log(&created_log(5, &t), B256::repeat_byte(8))
        .unwrap();
    assert_ne!(moved.task_id, chain_task.task_id);
    let from_payload = p.task_from_payload(&chain_task.payload).unwrap();
    assert_eq!(from_payload.quorums, chain_task.quorums);
    assert_eq!(
        p.event_topic(),
        ISquaringTask::NewTaskCreated::SIGNATURE_HASH
    );
    // Another event's log is refused.
    let other = ISquaringTask::TaskResponded {
        taskResponse: TaskManager::TaskResponse {
            referenceTaskIndex: 1,
            message: Bytes::new(),
        },
        taskResponseMetadata: TaskManager::TaskResponseMetadata {
            taskResponsedBlock: 1,
            hashOfNonSigners: B256::ZERO,
        },
    }
    .encode_log_data();
    assert!(matches!(
        p.task_from_log(&other, hash),
        Err(ProfileError::Task { .. })
    ));
}

#[test]
fn the_configured_respond_call_is_the_typed_bindings_call() {
    let p = profile();
    let t = task();
    let response = TaskManager::TaskResponse {
        referenceTaskIndex: 5,
        message: U256::from(144u64).abi_encode().into(),
    };
    let task_payload = (5u32, t.clone()).abi_encode_params();
    let response_bytes = response.abi_encode();
    p.check_response(&task_payload, &response_bytes).unwrap();
    let agg = aggregate(keccak256(&response_bytes), 77, &[0, 2]);
    let request = SubmissionRequest {
        aggregate: agg.clone(),
        payload: AvsProfile::submission_payload(&task_payload, &response_bytes),
    };
    let expected = ISquaringTask::respondToSquaringTaskCall {
        task: t.clone(),
        taskResponse: response.clone(),
        nonSignerStakesAndSignature: non_signer_stakes_and_signature(&agg),
    }
    .abi_encode();
    assert_eq!(p.calldata(&request).unwrap().to_vec(), expected);
    assert_eq!(p.target(), p.spec().contracts.task_manager);
    let answered = p.answered_check(&request).unwrap();
    assert_eq!(
        answered.to_vec(),
        ISquaringTask::allTaskResponsesCall(5).abi_encode()
    );

    // The aggregate must be of this response, at the task's block and quorums.
    let wrong_digest = SubmissionRequest {
        aggregate: aggregate(B256::repeat_byte(1), 77, &[0, 2]),
        ..request.clone()
    };
    assert!(p.calldata(&wrong_digest).unwrap_err().contains("digest"));
    let wrong_block = SubmissionRequest {
        aggregate: aggregate(keccak256(&response_bytes), 78, &[0, 2]),
        ..request.clone()
    };
    assert!(p
        .calldata(&wrong_block)
        .unwrap_err()
        .contains("reference block"));
    let wrong_quorums = SubmissionRequest {
        aggregate: aggregate(keccak256(&response_bytes), 77, &[0]),
        ..request
    };
    assert!(p.calldata(&wrong_quorums).unwrap_err().contains("quorums"));
}

#[test]
fn responses_for_another_task_or_with_extra_bytes_are_refused() {
    let p = profile();
    let task_payload = (5u32, task()).abi_encode_params();
    let other_task = TaskManager::TaskResponse {
        referenceTaskIndex: 6,
        message: Bytes::from(vec![1]),
    }
    .abi_encode();
    let err = p.check_response(&task_payload, &other_task).unwrap_err();
    assert!(err.to_string().contains("referenceTaskIndex"), "{err}");
    let mut trailing = TaskManager::TaskResponse {
        referenceTaskIndex: 5,
        message: Bytes::from(vec![1]),
    }
    .abi_encode();
    trailing.push(0);
    assert!(p.check_response(&task_payload, &trailing).is_err());
    assert!(p.check_response(b"not a task", &trailing).is_err());
}

#[test]
fn the_avs_errors_are_decoded_from_revert_data() {
    let p = profile();
    let data = ISquaringTask::IncorrectSquareResult {
        number: U256::from(3u8),
        submittedResult: U256::from(10u8),
        expectedResult: U256::from(9u8),
    }
    .abi_encode();
    assert_eq!(
        p.decode_revert(&data).as_deref(),
        Some("IncorrectSquareResult(3, 10, 9)")
    );
    assert_eq!(p.decode_revert(&[1, 2, 3, 4]), None);
}

fn refused(edit: impl FnOnce(&mut AvsSpec)) -> String {
    let mut spec = example_spec();
    edit(&mut spec);
    match AvsProfile::compile(spec, None) {
        Err(e @ ProfileError::Config { .. }) => e.to_string(),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn configuration_mistakes_are_named_at_compile_time() {
    let e = refused(|s| s.task.quorum_numbers = "task.nothing".into());
    assert!(
        e.contains("task.quorum_numbers") && e.contains("nothing"),
        "{e}"
    );
    let e = refused(|s| s.task.reference_block = "task.message".into());
    assert!(e.contains("expected uint"), "{e}");
    let e = refused(|s| s.task.thresholds = Some("task.quorumNumbers".into()));
    assert!(e.contains("exactly one"), "{e}");
    let e = refused(|s| s.respond.args.pop().map(|_| ()).unwrap_or(()));
    assert!(e.contains("takes 3 arguments, 2 given"), "{e}");
    let e = refused(|s| s.respond.args.swap(0, 1));
    assert!(e.contains("respond.args[0]"), "{e}");
    let e = refused(|s| s.response.ty = "uint256".into());
    assert!(e.contains("response.type"), "{e}");
    let e = refused(|s| s.task.event = "NewTaskCreated(uint32 indexed".into());
    assert!(e.contains("task.event"), "{e}");
    let e = refused(|s| {
        s.response.must_match = vec![["response.message".into(), "event.taskIndex".into()]]
    });
    assert!(e.contains("must_match[0]"), "{e}");
    let e = refused(|s| s.respond.errors = vec!["error (".into()]);
    assert!(e.contains("respond.errors[0]"), "{e}");
    let e = refused(|s| s.respond.args[2] = "event.task".into());
    assert!(e.contains("respond.args[2]"), "{e}");
    let e = refused(|s| {
        if let Some(i) = s.intake.as_mut() {
            i.max_block_range = 0;
        }
    });
    assert!(
        e.contains("intake.max_block_range") && e.contains("1..=100000"),
        "{e}"
    );
    let e = refused(|s| s.sign_in_quorums = vec![]);
    assert!(e.contains("sign_in_quorums"), "{e}");
}

#[test]
fn a_revert_selector_collision_with_another_abi_is_not_misread() {
    // The checker's errors are not in this AVS's list: the submitter decodes them itself.
    let p = profile();
    let data =
        quorate_chain_adapter::contracts::IBLSSignatureChecker::InvalidBLSSignature {}.abi_encode();
    assert_eq!(p.decode_revert(&data), None);
    let _ = Address::ZERO;
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Operators and `CreateTask` callers control these bytes: any of them gets a typed
    /// refusal or a value, never a panic.
    #[test]
    fn hostile_bytes_are_refused_not_panicked_on(
        task in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        response in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
    ) {
        let p = profile();
        let _ = p.task_from_payload(&task);
        let _ = p.check_response(&task, &response);
        let _ = p.decode_revert(&response);
        let request = SubmissionRequest {
            aggregate: aggregate(keccak256(&response), 77, &[0]),
            payload: AvsProfile::submission_payload(&task, &response),
        };
        let _ = p.calldata(&request);
        let _ = p.answered_check(&request);
        let garbled = SubmissionRequest { payload: response.clone(), ..request };
        let _ = p.calldata(&garbled);
    }

    /// A valid task payload with a response built from random fields either passes and
    /// encodes, or is refused for a mismatch: the configured checks agree with the encoder.
    #[test]
    fn random_responses_to_a_real_task_are_checked_consistently(
        index in 0u32..10,
        message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
    ) {
        let p = profile();
        let task_payload = (5u32, task()).abi_encode_params();
        let response = TaskManager::TaskResponse {
            referenceTaskIndex: index,
            message: message.into(),
        }
        .abi_encode();
        let checked = p.check_response(&task_payload, &response);
        proptest::prop_assert_eq!(checked.is_ok(), index == 5);
    }
}
