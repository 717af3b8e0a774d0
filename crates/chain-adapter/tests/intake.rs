//! The task intake's stepping over a scripted RPC endpoint (alloy's mock transport answers
//! each call in order): confirmed ranges, bounded `eth_getLogs` spans, block hashes recorded,
//! and reorgs found by walking back to the newest unchanged block.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use alloy::primitives::{Address, LogData, B256, U256, U64};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::{Block, Log};
use alloy::sol_types::{SolEvent, SolValue};
use alloy::transports::mock::Asserter;
use quorate_chain_adapter::contracts::{ISquaringTask, TaskManager};
use quorate_chain_adapter::{
    AvsProfile, AvsSpec, IntakeCursor, IntakeSpec, IntakeStep, TaskIntake,
};

fn profile() -> Arc<AvsProfile> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/avs/incredible-squaring.toml"
    );
    let spec: AvsSpec = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Arc::new(AvsProfile::compile(spec, None).unwrap())
}

fn intake(asserter: &Asserter) -> TaskIntake<impl Provider> {
    let provider = ProviderBuilder::new().connect_mocked_client(asserter.clone());
    let config = IntakeSpec {
        confirmations: 2,
        max_block_range: 5,
        ..IntakeSpec::default()
    };
    TaskIntake::new(provider, profile(), config)
}

fn block(number: u64, hash: B256) -> Block {
    let mut b = Block::<alloy::rpc::types::Transaction>::default();
    b.header.hash = hash;
    b.header.inner.number = number;
    b
}

fn created(task_manager: Address, index: u32, block: u64, hash: B256) -> Log {
    let task = TaskManager::Task {
        taskCreatedBlock: u32::try_from(block).unwrap() - 1,
        quorumThresholdPercentage: 50,
        message: U256::from(3u8).abi_encode().into(),
        quorumNumbers: vec![0u8].into(),
    };
    let data: LogData = ISquaringTask::NewTaskCreated {
        taskIndex: index,
        task,
    }
    .encode_log_data();
    Log {
        inner: alloy::primitives::Log {
            address: task_manager,
            data,
        },
        block_hash: Some(hash),
        block_number: Some(block),
        log_index: Some(0),
        transaction_hash: Some(B256::repeat_byte(0xee)),
        ..Log::default()
    }
}

fn h(b: u8) -> B256 {
    B256::repeat_byte(b)
}

#[tokio::test]
async fn a_confirmed_range_is_read_in_bounded_spans_and_its_blocks_recorded() {
    let asserter = Asserter::new();
    let intake = intake(&asserter);
    let tm = profile().task_manager();
    let mut cursor = IntakeCursor {
        next_block: 10,
        ..IntakeCursor::default()
    };
    asserter.push_success(&U64::from(20)); // head 20: confirmed up to 18
    asserter.push_success(&vec![created(tm, 4, 12, h(12))]);
    asserter.push_success(&block(14, h(14))); // the span ends at 10 + 5 - 1
    let IntakeStep::Read {
        to,
        tasks,
        skipped,
        caught_up,
    } = intake.step(&mut cursor).await.unwrap()
    else {
        panic!("expected a read");
    };
    assert_eq!((to, caught_up), (14, false));
    assert!(skipped.is_empty());
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task.chain_id, "4");
    assert_eq!(tasks[0].block, 12);
    assert_eq!(cursor.next_block, 15);
    assert_eq!(cursor.recent_blocks, vec![(12, h(12)), (14, h(14))]);
    assert_eq!(cursor.recent_tasks, vec![(12, tasks[0].task.task_id)]);

    // Nothing confirmed beyond 14 yet: the newest block is unchanged, then idle.
    asserter.push_success(&block(14, h(14)));
    asserter.push_success(&U64::from(16));
    assert_eq!(intake.step(&mut cursor).await.unwrap(), IntakeStep::Idle);
    assert_eq!(cursor.next_block, 15);
}

#[tokio::test]
async fn a_changed_block_is_a_reorg_back_to_the_newest_unchanged_one() {
    let asserter = Asserter::new();
    let intake = intake(&asserter);
    let task = quorate_domain::TaskId::from(9u64);
    let recorded = IntakeCursor {
        next_block: 15,
        recent_blocks: vec![(10, h(10)), (12, h(12)), (14, h(14))],
        recent_tasks: vec![(12, task)],
    };

    // 14 changed, 12 did not: blocks 13.. are read again, the task at 12 stays.
    let mut cursor = recorded.clone();
    asserter.push_success(&block(14, h(0x41)));
    asserter.push_success(&block(12, h(12)));
    assert_eq!(
        intake.step(&mut cursor).await.unwrap(),
        IntakeStep::Reorg {
            from_block: 13,
            removed: vec![]
        }
    );
    assert_eq!(cursor.next_block, 13);
    assert_eq!(cursor.recent_tasks, vec![(12, task)]);

    // 14 and 12 changed, 10 did not: the task of block 12 is removed.
    let mut cursor = recorded.clone();
    asserter.push_success(&block(14, h(0x41)));
    asserter.push_success(&block(12, h(0x42)));
    asserter.push_success(&block(10, h(10)));
    assert_eq!(
        intake.step(&mut cursor).await.unwrap(),
        IntakeStep::Reorg {
            from_block: 11,
            removed: vec![task]
        }
    );
    assert_eq!(cursor.next_block, 11);
    assert_eq!(cursor.recent_blocks, vec![(10, h(10))]);
    assert!(cursor.recent_tasks.is_empty());

    // A block that no longer exists (the chain is shorter now) counts as changed.
    let mut cursor = recorded;
    asserter.push_success(&Option::<Block>::None);
    asserter.push_success(&Option::<Block>::None);
    asserter.push_success(&Option::<Block>::None);
    assert_eq!(
        intake.step(&mut cursor).await.unwrap(),
        IntakeStep::Reorg {
            from_block: 10,
            removed: vec![task]
        }
    );
}

#[tokio::test]
async fn logs_of_other_shapes_are_skipped_not_fatal() {
    let asserter = Asserter::new();
    let intake = intake(&asserter);
    let tm = profile().task_manager();
    let mut cursor = IntakeCursor {
        next_block: 10,
        ..IntakeCursor::default()
    };
    let mut bad = created(tm, 1, 11, h(11));
    bad.inner.data = LogData::new_unchecked(bad.inner.data.topics().to_vec(), vec![1, 2, 3].into());
    asserter.push_success(&U64::from(13));
    asserter.push_success(&vec![bad, created(tm, 2, 11, h(11))]);
    asserter.push_success(&block(11, h(11)));
    let IntakeStep::Read {
        tasks,
        skipped,
        caught_up,
        ..
    } = intake.step(&mut cursor).await.unwrap()
    else {
        panic!("expected a read");
    };
    assert!(caught_up);
    assert_eq!(tasks.len(), 1);
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].reason.contains("does not decode"),
        "{}",
        skipped[0].reason
    );
}
