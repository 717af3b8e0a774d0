//! Property test of the DAG runner: random DAGs of code steps behind a branch run exactly the
//! steps an independent oracle predicts, each after all of its predecessors that ran.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use proptest::prelude::*;
use quorate_automation::sandbox::{Sandbox, SandboxLimits};
use quorate_automation::secrets::SecretSet;
use quorate_automation::{
    HttpClient, HttpError, HttpRequest, HttpResponse, Plan, Runner, RunnerLimits, WorkflowLimits,
    WorkflowSpec,
};
use serde_json::{json, Value};

/// No step here makes a request.
struct NoHttp;

#[async_trait]
impl HttpClient for NoHttp {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Refused {
            reason: "no network in this test".into(),
        })
    }
}

/// Node 0 is a branch (`a` when `trigger.data.pick` is "a", else `b`); nodes 1..n are code
/// steps. `edges` are (source, target) with source < target; an edge from node 0 follows
/// condition `a` or `b` by `labels`.
fn workflow(n: usize, edges: &[(usize, usize)], labels: &[bool]) -> Value {
    let mut nodes = vec![
        json!({ "id": "n0", "name": "n0", "type": "branch", "conditions": [
        { "id": "a", "expression": "trigger.data.pick === 'a'" }, { "id": "b" } ] }),
    ];
    for i in 1..n {
        // Each step checks that every predecessor that ran is visible, and says which ran.
        let preds: Vec<String> = edges
            .iter()
            .filter(|(_, t)| *t == i)
            .map(|(s, _)| format!("n{s}"))
            .collect();
        let seen = preds
            .iter()
            .map(|p| format!("(typeof {p} !== 'undefined' ? '{p}' : '')"))
            .collect::<Vec<_>>()
            .join(", ");
        nodes.push(
            json!({ "id": format!("n{i}"), "name": format!("n{i}"), "type": "custom_code",
            "source": format!("return [{seen}].filter(x => x);") }),
        );
    }
    let edges: Vec<Value> = edges
        .iter()
        .zip(labels.iter().cycle())
        .map(|((s, t), a)| match s {
            0 => json!({ "source": "n0", "target": format!("n{t}"), "condition": if *a { "a" } else { "b" } }),
            _ => json!({ "source": format!("n{s}"), "target": format!("n{t}") }),
        })
        .collect();
    json!({ "name": "dag", "trigger": { "type": "manual" }, "nodes": nodes, "edges": edges })
}

/// The oracle: in index order (a topological order, since edges go up), a node runs when it
/// has no incoming edge, or an incoming edge comes from a node that ran and, from the branch,
/// carries the chosen label.
fn expected(n: usize, edges: &[(usize, usize)], labels: &[bool], pick_a: bool) -> BTreeSet<usize> {
    let label = |k: usize| labels.get(k % labels.len().max(1)).copied().unwrap_or(true);
    let mut ran = BTreeSet::new();
    for i in 0..n {
        let incoming: Vec<(usize, usize)> = edges
            .iter()
            .enumerate()
            .filter(|(_, (_, t))| *t == i)
            .map(|(k, (s, _))| (k, *s))
            .collect();
        let active = incoming.is_empty()
            || incoming
                .iter()
                .any(|&(k, s)| ran.contains(&s) && (s != 0 || label(k) == pick_a));
        if active {
            ran.insert(i);
        }
    }
    ran
}

fn dag_strategy() -> impl Strategy<Value = (usize, Vec<(usize, usize)>, Vec<bool>, bool)> {
    (2usize..7).prop_flat_map(|n| {
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|s| (s + 1..n).map(move |t| (s, t)))
            .collect();
        (
            Just(n),
            proptest::sample::subsequence(pairs.clone(), 0..=pairs.len()),
            proptest::collection::vec(any::<bool>(), 1..8),
            any::<bool>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_runner_runs_exactly_the_active_steps_in_order((n, edges, labels, pick_a) in dag_strategy()) {
        let spec: WorkflowSpec = serde_json::from_value(workflow(n, &edges, &labels)).unwrap();
        let plan = Plan::new(&spec, &WorkflowLimits::default(), 0).unwrap();
        let sandbox = Sandbox::new(SandboxLimits::default()).unwrap();
        let runner = Runner::new(Arc::new(NoHttp), None, Arc::new(sandbox), RunnerLimits::default());
        let trigger = json!({ "pick": if pick_a { "a" } else { "b" } });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let outcome = runtime.block_on(runner.run(&spec, &plan, trigger, &SecretSet::new(), None));
        prop_assert!(outcome.success, "{:?}", outcome.error);
        let ran: BTreeSet<usize> = outcome.steps.iter().map(|s| s.name[1..].parse().unwrap()).collect();
        let want = expected(n, &edges, &labels, pick_a);
        prop_assert_eq!(&ran, &want);
        // Every step saw exactly its predecessors that ran, so each ran after them.
        for step in outcome.steps.iter().filter(|s| s.name != "n0") {
            let i: usize = step.name[1..].parse().unwrap();
            let saw: BTreeSet<String> = step.output.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            let preds: BTreeSet<String> = edges.iter().filter(|(s, t)| *t == i && want.contains(s)).map(|(s, _)| format!("n{s}")).collect();
            prop_assert_eq!(saw, preds, "step {}", i);
        }
    }
}
