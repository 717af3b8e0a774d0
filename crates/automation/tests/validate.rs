//! Workflows refused at creation: each refusal names what is wrong, and a good workflow
//! compiles into a plan whose order respects every edge.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use proptest::prelude::*;
use quorate_automation::{Plan, WorkflowError, WorkflowLimits, WorkflowSpec};
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000;

fn spec(value: Value) -> WorkflowSpec {
    serde_json::from_value(value).unwrap()
}

fn code(id: &str) -> Value {
    json!({ "id": id, "name": id, "type": "custom_code", "source": "return 1;" })
}

fn base() -> Value {
    json!({
        "name": "price alert",
        "trigger": { "type": "block", "interval": 5 },
        "nodes": [code("a"), code("b"), code("c")],
        "edges": [{ "source": "a", "target": "b" }, { "source": "b", "target": "c" }],
    })
}

fn refuse(value: Value) -> WorkflowError {
    match Plan::new(&spec(value), &WorkflowLimits::default(), NOW) {
        Ok(_) => panic!("workflow accepted"),
        Err(e) => e,
    }
}

#[test]
fn a_good_workflow_compiles() {
    Plan::new(&spec(base()), &WorkflowLimits::default(), NOW).unwrap();
}

#[test]
fn a_cycle_is_refused_and_named() {
    let mut w = base();
    w["edges"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "source": "c", "target": "a" }));
    let e = refuse(w);
    assert!(matches!(e, WorkflowError::Cycle { .. }), "{e}");
}

#[test]
fn a_dangling_edge_names_the_missing_node() {
    let mut w = base();
    w["edges"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "source": "c", "target": "ghost" }));
    match refuse(w) {
        WorkflowError::DanglingEdge { missing, .. } => assert_eq!(missing, "ghost"),
        e => panic!("{e}"),
    }
}

#[test]
fn self_loops_duplicates_and_misplaced_conditions_are_refused() {
    for edge in [
        json!({ "source": "a", "target": "a" }),
        json!({ "source": "a", "target": "b" }),
        json!({ "source": "a", "target": "c", "condition": "yes" }),
    ] {
        let mut w = base();
        w["edges"].as_array_mut().unwrap().push(edge.clone());
        assert!(matches!(refuse(w), WorkflowError::BadEdge { .. }), "{edge}");
    }
}

#[test]
fn branch_edges_name_an_existing_condition() {
    let branch = json!({ "id": "br", "name": "br", "type": "branch", "conditions": [
        { "id": "high", "expression": "trigger.data.number > 10" }, { "id": "else" } ] });
    let mut w = base();
    w["nodes"].as_array_mut().unwrap().push(branch);
    let mut ok = w.clone();
    ok["edges"] = json!([{ "source": "br", "target": "a", "condition": "high" },
                         { "source": "br", "target": "b", "condition": "else" }]);
    Plan::new(&spec(ok), &WorkflowLimits::default(), NOW).unwrap();
    for edge in [
        json!({ "source": "br", "target": "a" }),
        json!({ "source": "br", "target": "a", "condition": "low" }),
    ] {
        let mut bad = w.clone();
        bad["edges"] = json!([edge]);
        assert!(matches!(refuse(bad), WorkflowError::BadEdge { .. }));
    }
}

#[test]
fn an_else_must_be_last() {
    let mut w = base();
    w["nodes"][0] = json!({ "id": "a", "name": "a", "type": "branch", "conditions": [
        { "id": "else" }, { "id": "x", "expression": "true" } ] });
    w["edges"] = json!([]);
    assert!(matches!(refuse(w), WorkflowError::BadNode { .. }));
}

#[test]
fn names_ids_and_sizes_are_checked() {
    let limits = WorkflowLimits::default();
    let mut long_name = base();
    long_name["name"] = json!("x".repeat(256));
    assert!(matches!(
        refuse(long_name),
        WorkflowError::Name { got: 256, .. }
    ));
    let mut empty = base();
    empty["nodes"] = json!([]);
    empty["edges"] = json!([]);
    assert!(matches!(refuse(empty), WorkflowError::NodeCount { .. }));
    for (id, name) in [
        ("a b", "ok"),
        ("ok", "not-ident"),
        ("ok", "trigger"),
        ("ok", "1x"),
    ] {
        let mut w = base();
        w["nodes"][0] =
            json!({ "id": id, "name": name, "type": "custom_code", "source": "return 1" });
        w["edges"] = json!([]);
        assert!(
            matches!(refuse(w), WorkflowError::NodeName { .. }),
            "{id}/{name}"
        );
    }
    let mut twice = base();
    twice["nodes"][1]["name"] = json!("a");
    assert!(matches!(refuse(twice), WorkflowError::NodeName { .. }));
    let mut big = base();
    big["nodes"][0]["source"] = json!("x".repeat(limits.max_code_bytes + 1));
    assert!(matches!(refuse(big), WorkflowError::BadNode { .. }));
}

#[test]
fn urls_methods_and_abis_are_checked() {
    let node = |kind: Value| {
        let mut w = base();
        let mut n = kind;
        n["id"] = json!("n");
        n["name"] = json!("n");
        w["nodes"] = json!([n]);
        w["edges"] = json!([]);
        w
    };
    assert!(matches!(
        refuse(node(
            json!({ "type": "rest_api", "method": "GET", "url": "file:///etc/passwd" })
        )),
        WorkflowError::BadNode { .. }
    ));
    assert!(matches!(
        refuse(node(
            json!({ "type": "rest_api", "method": "TRACE", "url": "https://x.test" })
        )),
        WorkflowError::BadNode { .. }
    ));
    let address = "0x0000000000000000000000000000000000000001";
    assert!(matches!(
        refuse(node(
            json!({ "type": "contract_read", "address": address, "method": "function f(uint256 x", "args": ["1"] })
        )),
        WorkflowError::BadAbi { .. }
    ));
    assert!(matches!(
        refuse(node(
            json!({ "type": "contract_read", "address": address, "method": "function f(uint256 x) view returns (uint256)", "args": [] })
        )),
        WorkflowError::BadAbi { .. }
    ));
    Plan::new(
        &spec(node(json!({ "type": "contract_read", "address": address,
            "method": "function balanceOf(address owner) view returns (uint256)", "args": ["{{trigger.data.owner}}"] }))),
        &WorkflowLimits::default(),
        NOW,
    )
    .unwrap();
}

#[test]
fn bad_triggers_and_windows_are_refused() {
    let mut cron = base();
    cron["trigger"] = json!({ "type": "cron", "schedules": ["61 * * * *"] });
    assert!(matches!(refuse(cron), WorkflowError::Trigger(_)));
    let mut expired = base();
    expired["expired_at"] = json!(NOW - 1);
    assert!(matches!(refuse(expired), WorkflowError::Window { .. }));
    let mut inverted = base();
    inverted["start_at"] = json!(NOW + 100);
    inverted["expired_at"] = json!(NOW + 50);
    assert!(matches!(refuse(inverted), WorkflowError::Window { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random edge sets over 6 nodes: the plan exists exactly when the graph (oracle: repeated
    /// removal of sources, written independently here) has no cycle, and then every edge goes
    /// forward in the plan's order.
    #[test]
    fn plans_exist_exactly_for_acyclic_graphs(edges in proptest::collection::btree_set((0usize..6, 0usize..6), 0..12)) {
        let edges: Vec<(usize, usize)> = edges.into_iter().filter(|(a, b)| a != b).collect();
        let mut w = base();
        w["nodes"] = Value::Array((0..6).map(|i| code(&format!("n{i}"))).collect());
        w["edges"] = Value::Array(edges.iter().map(|(a, b)| json!({ "source": format!("n{a}"), "target": format!("n{b}") })).collect());
        let mut remaining: Vec<(usize, usize)> = edges.clone();
        let mut alive: Vec<usize> = (0..6).collect();
        loop {
            let source = alive.iter().copied().find(|n| !remaining.iter().any(|(_, b)| b == n));
            match source {
                Some(n) => { alive.retain(|m| *m != n); remaining.retain(|(a, _)| *a != n); }
                None => break,
            }
        }
        let acyclic = alive.is_empty();
        match Plan::new(&spec(w), &WorkflowLimits::default(), NOW) {
            Ok(plan) => {
                prop_assert!(acyclic);
                let position = |n: usize| plan.order().iter().position(|&m| m == n);
                for (a, b) in &edges {
                    prop_assert!(position(*a) < position(*b), "edge {a}->{b} goes backwards");
                }
                prop_assert_eq!(plan.order().len(), 6);
            }
            Err(WorkflowError::Cycle { .. }) => prop_assert!(!acyclic),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Arbitrary JSON never panics the decoder or the validator.
    #[test]
    fn arbitrary_workflow_text_never_panics(text in ".{0,300}") {
        if let Ok(spec) = serde_json::from_str::<WorkflowSpec>(&text) {
            let _ = Plan::new(&spec, &WorkflowLimits::default(), NOW);
        }
    }
}

#[test]
fn references_to_unknown_steps_are_refused_at_creation() {
    let mut unknown = base();
    unknown["nodes"][1]["source"] = json!("return {{ghost.data.x}};");
    match refuse(unknown) {
        WorkflowError::Reference { node, reason } => {
            assert_eq!(node, "b");
            assert!(reason.contains("ghost"), "{reason}");
        }
        e => panic!("{e}"),
    }
    let mut unterminated = base();
    unterminated["nodes"][0]["source"] = json!("return '{{trigger.data';");
    assert!(matches!(
        refuse(unterminated),
        WorkflowError::Reference { .. }
    ));
    let mut fine = base();
    fine["nodes"][2]["source"] =
        json!("return '{{a.data}} {{trigger.data.number}} {{secrets.KEY}}';");
    Plan::new(&spec(fine), &WorkflowLimits::default(), NOW).unwrap();
}
