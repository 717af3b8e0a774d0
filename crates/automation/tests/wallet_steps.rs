//! Contract-write and ETH-transfer steps against a fake wallet port (the node's real wallet and
//! the contracts are tested in the wallet crate and the devnet e2e): what the step encodes and
//! sends, what it records, and how a refusal or an on-chain revert ends the execution.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{keccak256, Address, Bytes, U256};
use async_trait::async_trait;
use quorate_automation::sandbox::{Sandbox, SandboxLimits};
use quorate_automation::secrets::SecretSet;
use quorate_automation::{
    ContractReader, HttpClientConfig, Plan, ReqwestHttpClient, RunOutcome, Runner, RunnerLimits,
    WalletCallOutcome, WalletCallRequest, WalletRefusal, WalletSendError, WalletSender,
    WorkflowLimits, WorkflowSpec,
};
use serde_json::{json, Value};

/// How the fake answers a call.
type Answer =
    Box<dyn Fn(&WalletCallRequest) -> Result<WalletCallOutcome, WalletSendError> + Send + Sync>;

/// Records every request; answers with `answer`.
struct FakeWallet {
    sent: Mutex<Vec<WalletCallRequest>>,
    answer: Answer,
}

#[async_trait]
impl WalletSender for FakeWallet {
    async fn send(&self, call: WalletCallRequest) -> Result<WalletCallOutcome, WalletSendError> {
        let answer = (self.answer)(&call);
        self.sent.lock().unwrap().push(call);
        answer
    }
}

fn landed(return_data: Vec<u8>) -> Result<WalletCallOutcome, WalletSendError> {
    Ok(WalletCallOutcome {
        success: true,
        record: json!({ "userOp": { "sender": "0x01" }, "receipt": { "transactionHash": "0xabc" } }),
        return_data: return_data.into(),
        revert_reason: None,
    })
}

fn runner() -> Runner {
    let http = ReqwestHttpClient::new(HttpClientConfig::default()).unwrap();
    let sandbox = Sandbox::new(SandboxLimits {
        timeout: Duration::from_millis(300),
        ..SandboxLimits::default()
    })
    .unwrap();
    Runner::new(
        Arc::new(http),
        None::<Arc<dyn ContractReader>>,
        Arc::new(sandbox),
        RunnerLimits::default(),
    )
}

async fn run(workflow: Value, wallet: Option<&FakeWallet>) -> RunOutcome {
    let spec: WorkflowSpec = serde_json::from_value(workflow).unwrap();
    let plan = Plan::new(&spec, &WorkflowLimits::default(), 0).unwrap();
    let trigger = json!({ "to": "0x00000000000000000000000000000000000000cc", "amount": "1000" });
    let wallet = wallet.map(|w| w as &dyn WalletSender);
    runner()
        .run(&spec, &plan, trigger, &SecretSet::new(), wallet)
        .await
}

fn workflow() -> Value {
    json!({
        "name": "wallet steps",
        "trigger": { "type": "manual" },
        "wallet": { "salt": "7" },
        "nodes": [
            { "id": "w", "name": "write", "type": "contract_write",
              "address": "0x00000000000000000000000000000000000000bb",
              "method": "function write(uint256 newValue) payable returns (uint256 previous)",
              "args": ["{{trigger.data.amount}}"], "value": "0x10" },
            { "id": "t", "name": "pay", "type": "eth_transfer",
              "destination": "{{trigger.data.to}}", "amount": "{{trigger.data.amount}}" }
        ],
        "edges": [ { "source": "w", "target": "t" } ]
    })
}

#[tokio::test]
async fn wallet_steps_encode_send_and_record() {
    let wallet = FakeWallet {
        sent: Mutex::new(Vec::new()),
        answer: Box::new(|call| {
            landed(if call.data.is_empty() {
                vec![]
            } else {
                U256::from(5u8).to_be_bytes::<32>().to_vec()
            })
        }),
    };
    let outcome = run(workflow(), Some(&wallet)).await;
    assert!(outcome.success, "{:?}", outcome.error);
    let sent = wallet.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    // write(1000), with 16 wei: selector by hand, argument as a big-endian word.
    let mut expected = keccak256("write(uint256)")[..4].to_vec();
    expected.extend_from_slice(&U256::from(1000u32).to_be_bytes::<32>());
    assert_eq!(
        sent[0].to,
        "0x00000000000000000000000000000000000000bb"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(sent[0].value, U256::from(16u8));
    assert_eq!(sent[0].data, Bytes::from(expected));
    assert_eq!(sent[0].node_id, "w");
    assert_eq!(
        sent[1].to,
        "0x00000000000000000000000000000000000000cc"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(sent[1].value, U256::from(1000u32));
    assert!(sent[1].data.is_empty());
    let write = &outcome.steps[0];
    assert_eq!(write.kind, "contract_write");
    assert_eq!(write.output["values"], json!(["5"]));
    assert_eq!(write.output["receipt"]["transactionHash"], "0xabc");
    assert!(write.output["userOp"].is_object());
    assert_eq!(
        outcome.steps[1].inputs["destination"],
        "0x00000000000000000000000000000000000000cc"
    );
}

#[tokio::test]
async fn a_refusal_fails_the_step_and_stops_the_run() {
    let wallet = FakeWallet {
        sent: Mutex::new(Vec::new()),
        answer: Box::new(|_| {
            Err(WalletSendError {
                kind: WalletRefusal::SessionExpired,
                message: "the session of wallet 0x01 expired at 5".into(),
            })
        }),
    };
    let outcome = run(workflow(), Some(&wallet)).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.steps.len(),
        1,
        "the transfer after the refused write ran"
    );
    let error = outcome.error.unwrap();
    assert!(
        error.contains("node 'w'") && error.contains("session_expired"),
        "{error}"
    );
}

#[tokio::test]
async fn an_onchain_revert_keeps_the_record_and_stops_the_run() {
    let wallet = FakeWallet {
        sent: Mutex::new(Vec::new()),
        answer: Box::new(|_| {
            Ok(WalletCallOutcome {
                success: false,
                record: json!({ "receipt": { "transactionHash": "0xdef" } }),
                return_data: Bytes::new(),
                revert_reason: Some("WalletTarget: refused".into()),
            })
        }),
    };
    let outcome = run(workflow(), Some(&wallet)).await;
    assert!(!outcome.success);
    assert_eq!(outcome.steps.len(), 1);
    let step = &outcome.steps[0];
    assert!(
        step.error
            .as_deref()
            .unwrap()
            .contains("WalletTarget: refused"),
        "{:?}",
        step.error
    );
    assert_eq!(step.output["receipt"]["transactionHash"], "0xdef");
}

#[tokio::test]
async fn without_a_wallet_the_step_is_unavailable_and_bad_amounts_are_refused() {
    let outcome = run(workflow(), None).await;
    assert!(outcome.error.unwrap().contains("unavailable"));
    let wallet = FakeWallet {
        sent: Mutex::new(Vec::new()),
        answer: Box::new(|_| landed(vec![])),
    };
    let mut bad = workflow();
    bad["nodes"][1]["amount"] = json!("1.5 ether");
    bad["edges"] = json!([]);
    bad["nodes"].as_array_mut().unwrap().remove(0);
    let outcome = run(bad, Some(&wallet)).await;
    assert!(outcome.error.unwrap().contains("not an amount of wei"));
    assert!(
        wallet.sent.lock().unwrap().is_empty(),
        "a bad amount was sent"
    );
}

#[test]
fn wallet_steps_are_validated() {
    let check = |node: Value| {
        let spec: WorkflowSpec = serde_json::from_value(json!({
            "name": "x", "trigger": { "type": "manual" }, "nodes": [node]
        }))
        .unwrap();
        Plan::new(&spec, &WorkflowLimits::default(), 0).map(|_| ())
    };
    assert!(check(json!({ "id": "a", "name": "a", "type": "contract_write",
        "address": "0x00000000000000000000000000000000000000bb", "method": "function f(uint256 x)", "args": [] })).is_err());
    assert!(
        check(json!({ "id": "a", "name": "a", "type": "contract_write",
        "address": "0x0000000000000000000000000000000000000000", "calldata": "0x01" }))
        .is_err()
    );
    assert!(check(
        json!({ "id": "a", "name": "a", "type": "eth_transfer", "destination": "", "amount": "1" })
    )
    .is_err());
    assert!(check(json!({ "id": "a", "name": "a", "type": "eth_transfer", "destination": "{{nope.data}}", "amount": "1" })).is_err());
    assert!(
        check(json!({ "id": "a", "name": "a", "type": "eth_transfer",
        "destination": "0x00000000000000000000000000000000000000cc", "amount": "1" }))
        .is_ok()
    );
}
