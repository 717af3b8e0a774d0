//! `--dev`: a dev block source and clock stand in for the chain and the operators' watchers,
//! so a sample workflow runs out of the box: fired triggers are reported by one simulated
//! operator and attested by the others through the same aggregation as on a real network.

use std::time::Duration;

use quorate_api::pb;
use quorate_automation::trigger_claim;
use quorate_bls::KeyPair;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{Automation, AutomationConfig};
use crate::cli::trigger_watch::{Fired, Watchers};
use crate::compute::sign_response;
use crate::record::now_ms;

/// The sample workflow `--dev` creates for the anonymous `dev` owner.
const SAMPLE: &str = include_str!("../../../../docs/examples/workflows/dev-sample.json");
/// The owner name of `--dev`'s anonymous admin.
const DEV_OWNER: &str = "dev";
/// Most triggers the dev watcher follows.
const DEV_CAPACITY: usize = 10_000;

/// Creates the sample workflow (once per database) and starts the dev block source and
/// trigger watcher, which reports with `key`; the other simulated operators attest.
pub(crate) async fn spawn_dev_triggers(
    automation: Automation,
    key: KeyPair,
    config: &AutomationConfig,
    stop: CancellationToken,
) {
    if config.dev_sample_workflow {
        if let Err(e) = ensure_sample(&automation).await {
            warn!(error = %e, "could not create the dev sample workflow");
        }
    }
    let block_time = Duration::from_millis(config.dev_block_time_ms);
    tokio::spawn(watch(automation, key, block_time, stop));
}

async fn ensure_sample(automation: &Automation) -> Result<(), crate::error::NodeError> {
    let store = automation.inner.store.clone();
    let existing = crate::state::off_async(move || store.workflows_of(DEV_OWNER, None, usize::MAX))
        .await?
        .0;
    let name = serde_json::from_str::<serde_json::Value>(SAMPLE)
        .ok()
        .and_then(|v| v["name"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if existing.iter().any(|w| w.spec.name == name) {
        return Ok(());
    }
    let workflow = automation.create_workflow(DEV_OWNER, None, SAMPLE).await?;
    info!(workflow_id = %workflow.id, "dev sample workflow created (a block trigger every 5 blocks)");
    Ok(())
}

/// The dev chain: one block per `block_time`; time and block triggers fire from it.
async fn watch(
    automation: Automation,
    key: KeyPair,
    block_time: Duration,
    stop: CancellationToken,
) {
    let mut watchers = Watchers::new(DEV_CAPACITY);
    let (mut updates, snapshot) = automation.inner.hub.subscribe();
    for update in snapshot {
        watchers.apply(
            &update.workflow_id,
            &update.trigger_json,
            update.removed,
            now_ms() / 1000,
        );
    }
    let mut block = 0u64;
    let mut tick = tokio::time::interval(block_time);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            update = updates.recv() => match update {
                Ok(u) => { watchers.apply(&u.workflow_id, &u.trigger_json, u.removed, now_ms() / 1000); }
                Err(RecvError::Lagged(_)) => {
                    // Start again from a snapshot, which replaces what was missed.
                    let (fresh, snapshot) = automation.inner.hub.subscribe();
                    updates = fresh;
                    watchers.begin_resync();
                    for u in snapshot {
                        watchers.apply(&u.workflow_id, &u.trigger_json, u.removed, now_ms() / 1000);
                    }
                    watchers.finish_resync();
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                block += 1;
                let mut fired = watchers.on_blocks(block..=block);
                fired.extend(watchers.due(now_ms() / 1000));
                for f in fired {
                    report(&automation, &key, f).await;
                }
            }
        }
    }
}

/// Reports one fired trigger as the simulated operator `key`, through the same checks as an
/// operator's `NotifyTriggers`.
async fn report(automation: &Automation, key: &KeyPair, fired: Fired) {
    let Ok(reason_json) = serde_json::to_string(&fired.reason) else {
        return;
    };
    let (_, signature) = sign_response(key, &trigger_claim(&fired.workflow_id, &fired.reason));
    let report = pb::TriggerReport {
        operator_id: key.operator_id().as_bytes().to_vec(),
        workflow_id: fired.workflow_id.clone(),
        reason_json,
        signature: signature.to_vec(),
    };
    if let Err(e) = automation.report(key.operator_id(), report).await {
        debug!(workflow_id = %fired.workflow_id, error = %e, "dev trigger report refused");
    }
}
