//! The automation tables: schema versions, paging, retention, deletion and secret scopes.

use quorate_automation::trigger::TriggerReason;
use quorate_automation::{Execution, ExecutionStatus, Workflow, WorkflowSpec, WorkflowStatus};

use super::*;
use crate::store::{Store, SCHEMA_VERSION};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-auto-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("db.redb")
}

fn workflow(id: &str, owner: &str, created_at: u64) -> Workflow {
    let spec: WorkflowSpec = serde_json::from_value(serde_json::json!({
        "name": id, "trigger": { "type": "manual" },
        "nodes": [{ "id": "a", "name": "a", "type": "custom_code", "source": "return 1" }]
    }))
    .unwrap();
    Workflow {
        id: id.into(),
        owner: owner.into(),
        owner_address: None,
        spec,
        status: WorkflowStatus::Active,
        total_execution: 0,
        last_ran_at: 0,
        created_at,
    }
}

fn execution(workflow_id: &str, id: &str, status: ExecutionStatus) -> Execution {
    Execution {
        id: id.into(),
        workflow_id: workflow_id.into(),
        reason: TriggerReason::Manual { at: 1 },
        status,
        started_at_ms: 0,
        ended_at_ms: 0,
        success: false,
        error: None,
        steps: Vec::new(),
        proof: None,
        input: None,
    }
}

#[test]
fn a_version_1_database_is_migrated_and_a_newer_one_refused() {
    let path = scratch("migrate");
    {
        // A database as a node before schema versions left it: tasks and meta only.
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(super::super::TASKS).unwrap();
        tx.open_table(META).unwrap().insert("next_seq", 7).unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(store
        .create_workflow(&workflow("w1", "alice", 1), 100)
        .unwrap());
    {
        let tx = store.db.begin_read().unwrap();
        let meta = tx.open_table(META).unwrap();
        assert_eq!(
            meta.get("schema_version").unwrap().unwrap().value(),
            SCHEMA_VERSION
        );
        assert_eq!(
            meta.get("next_seq").unwrap().unwrap().value(),
            7,
            "old rows untouched"
        );
    }
    {
        let tx = store.db.begin_write().unwrap();
        tx.open_table(META)
            .unwrap()
            .insert("schema_version", SCHEMA_VERSION + 1)
            .unwrap();
        tx.commit().unwrap();
    }
    drop(store);
    let refused = Store::open(&path)
        .err()
        .expect("a newer schema must be refused");
    assert!(refused.0.contains("newer than this node"), "{}", refused.0);
}

#[test]
fn workflows_page_newest_first_per_owner() {
    let store = Store::open(&scratch("pages")).unwrap();
    for i in 0..5u64 {
        assert!(store
            .create_workflow(&workflow(&format!("a{i}"), "alice", 100 + i), 100)
            .unwrap());
    }
    assert!(store
        .create_workflow(&workflow("b0", "bob", 50), 100)
        .unwrap());
    assert!(
        !store
            .create_workflow(&workflow("a0", "alice", 1), 100)
            .unwrap(),
        "ids are unique"
    );
    let (first, cursor) = store.workflows_of("alice", None, 2).unwrap();
    assert_eq!(
        first.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["a4", "a3"]
    );
    let (second, cursor) = store.workflows_of("alice", cursor.as_deref(), 2).unwrap();
    assert_eq!(
        second.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["a2", "a1"]
    );
    let (last, end) = store.workflows_of("alice", cursor.as_deref(), 2).unwrap();
    assert_eq!(
        last.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["a0"]
    );
    assert!(end.is_none());
    assert_eq!(store.workflow_count("alice").unwrap(), 5);
    assert_eq!(store.workflow_count("bob").unwrap(), 1);
    // A cursor from another owner's range does not reach into it.
    let (bobs, _) = store.workflows_of("bob", cursor.as_deref(), 10).unwrap();
    assert_eq!(bobs.len(), 1);
}

#[test]
fn executions_are_unique_kept_to_the_retention_and_reopened() {
    let path = scratch("executions");
    {
        let store = Store::open(&path).unwrap();
        store
            .create_workflow(&workflow("w", "alice", 1), 100)
            .unwrap();
        for i in 0..5 {
            assert!(store
                .create_execution(
                    &execution("w", &format!("e{i}"), ExecutionStatus::Finished),
                    3
                )
                .unwrap());
        }
        assert!(!store
            .create_execution(&execution("w", "e4", ExecutionStatus::Queued), 3)
            .unwrap());
        let (kept, _) = store.executions_of("w", None, 10).unwrap();
        assert_eq!(
            kept.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e4", "e3", "e2"]
        );
        // Open executions are never pruned, even past the retention.
        for i in 5..8 {
            store
                .create_execution(
                    &execution("w", &format!("e{i}"), ExecutionStatus::Queued),
                    1,
                )
                .unwrap();
        }
        assert_eq!(store.open_executions().unwrap().len(), 3);
    }
    let store = Store::open(&path).unwrap();
    let open = store.open_executions().unwrap();
    assert_eq!(open.len(), 3, "queued executions survive a restart");
    let mut done = open[0].clone();
    done.status = ExecutionStatus::Finished;
    store.put_execution(&done).unwrap();
    assert_eq!(store.open_executions().unwrap().len(), 2);
}

#[test]
fn deleting_a_workflow_removes_its_executions_and_scoped_secrets_only() {
    let store = Store::open(&scratch("delete")).unwrap();
    let (w, other) = (workflow("w", "alice", 1), workflow("w2", "alice", 2));
    store.create_workflow(&w, 100).unwrap();
    store.create_workflow(&other, 100).unwrap();
    store
        .create_execution(&execution("w", "e", ExecutionStatus::Queued), 10)
        .unwrap();
    store
        .create_execution(&execution("w2", "e", ExecutionStatus::Finished), 10)
        .unwrap();
    let sealed = StoredSecret {
        sealed: "00".into(),
        updated_at: 1,
    };
    for (scope, name) in [(Some("w"), "A"), (None, "B"), (Some("w2"), "C")] {
        let key = SecretKey {
            owner: "alice",
            workflow_id: scope,
            name,
        };
        assert!(store.put_secret(&key, &sealed, Some(false), 10).unwrap());
    }
    assert!(store.delete_workflow(&w).unwrap());
    assert!(store.workflow("w").unwrap().is_none());
    assert!(store.execution("w", "e").unwrap().is_none());
    assert!(store.open_executions().unwrap().is_empty());
    assert!(store.execution("w2", "e").unwrap().is_some());
    let names: Vec<String> = store
        .secrets_of("alice")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["B", "C"]);
}

#[test]
fn secrets_respect_create_update_and_the_owner_quota() {
    let store = Store::open(&scratch("secrets")).unwrap();
    let sealed = StoredSecret {
        sealed: "00".into(),
        updated_at: 1,
    };
    let key = |name| SecretKey {
        owner: "alice",
        workflow_id: None,
        name,
    };
    assert!(store
        .put_secret(&key("A"), &sealed, Some(false), 2)
        .unwrap());
    assert!(
        !store
            .put_secret(&key("A"), &sealed, Some(false), 2)
            .unwrap(),
        "create refuses an existing name"
    );
    assert!(
        !store.put_secret(&key("Z"), &sealed, Some(true), 2).unwrap(),
        "update refuses a missing name"
    );
    assert!(store.put_secret(&key("A"), &sealed, Some(true), 2).unwrap());
    assert!(store
        .put_secret(&key("B"), &sealed, Some(false), 2)
        .unwrap());
    assert!(
        !store
            .put_secret(&key("C"), &sealed, Some(false), 2)
            .unwrap(),
        "quota of 2"
    );
    let bob = SecretKey {
        owner: "bob",
        workflow_id: None,
        name: "A",
    };
    assert!(
        store.put_secret(&bob, &sealed, Some(false), 2).unwrap(),
        "quotas are per owner"
    );
    assert!(store.delete_secret(&key("A")).unwrap());
    assert!(!store.delete_secret(&key("A")).unwrap());
    assert_eq!(store.secrets_of("alice").unwrap().len(), 1);
}

#[test]
fn the_owner_quota_is_checked_inside_the_write() {
    let store = Store::open(&scratch("quota")).unwrap();
    assert!(store
        .create_workflow(&workflow("a", "alice", 1), 2)
        .unwrap());
    assert!(store
        .create_workflow(&workflow("b", "alice", 2), 2)
        .unwrap());
    assert!(!store
        .create_workflow(&workflow("c", "alice", 3), 2)
        .unwrap());
    assert!(store.create_workflow(&workflow("d", "bob", 3), 2).unwrap());
    assert_eq!(store.workflow_count("alice").unwrap(), 2);
}
