//! The operator's trigger watcher: next to the task loop of `quorate operator run`, it follows
//! the node's workflow triggers (`SyncTriggers`), watches wall-clock time and, with
//! `--rpc-url`, the chain's blocks and logs, and reports each fired trigger once, BLS-signed
//! (`NotifyTriggers`), with the session token the task loop keeps fresh.
//!
//! Three tasks, joined by bounded channels: the sync stream feeds updates to the watch loop,
//! which owns the [`engine::Engine`] (all decisions, unit-tested without gRPC) and hands
//! fired triggers to the reporter. A slow node back-pressures the watch loop rather than
//! growing a queue; time and block catch-up are bounded by the engine.

mod engine;
// The node's `--dev` trigger source follows triggers with the same watchers.
pub(crate) use engine::{Fired, Watchers};
mod node;
mod source;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quorate_api::pb::operator_service_client::OperatorServiceClient;
use quorate_automation::sandbox::{Sandbox, SandboxLimits};
use quorate_automation::trigger::{Clock, SystemClock};
use quorate_bls::KeyPair;
use tokio::sync::{mpsc, watch};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Endpoint;
use tracing::{debug, info, warn};

use engine::{Applied, Engine, MAX_BLOCKS_PER_POLL, REPORTED_CAPACITY};
use node::SyncEvent;
use source::{BlockSource, RpcSource};

/// An operator session token (`x-operator-session`), as the node issued it.
pub type SessionToken = MetadataValue<Ascii>;

/// Channel depths: updates and fired triggers wait here while the other side is busy.
const SYNC_QUEUE: usize = 1024;
const FIRED_QUEUE: usize = 1024;

/// Flags of the trigger watcher (part of `quorate operator run`).
#[derive(clap::Args, Debug, Clone)]
pub struct TriggerWatchArgs {
    /// JSON-RPC endpoint of the chain whose blocks and logs fire block and event triggers;
    /// without it only time triggers are watched.
    #[arg(long = "rpc-url", env = "QUORATE_OPERATOR_RPC_URL")]
    pub rpc_url: Option<String>,
    /// How often the chain head is polled, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..))]
    pub block_poll_ms: u64,
    /// Most workflow triggers watched at once; more are refused with a warning.
    #[arg(long, default_value_t = 10_000)]
    pub trigger_capacity: usize,
}

/// Starts the watcher's tasks on the current runtime. Fails only on a bad `--rpc-url` or
/// sandbox setup; afterwards problems are logged and retried, never fatal.
pub fn spawn(
    args: &TriggerWatchArgs,
    endpoint: &Endpoint,
    key: Arc<KeyPair>,
    tokens: watch::Receiver<Option<SessionToken>>,
) -> anyhow::Result<()> {
    let source: Option<Box<dyn BlockSource>> = match &args.rpc_url {
        Some(url) => Some(Box::new(RpcSource::new(url)?)),
        None => None,
    };
    let sandbox = Sandbox::new(SandboxLimits::default())?;
    let engine = Engine::new(
        Watchers::new(args.trigger_capacity),
        MAX_BLOCKS_PER_POLL,
        REPORTED_CAPACITY,
        sandbox,
    );
    // A lazy channel reconnects by itself, so neither task has to rebuild its client.
    let client = OperatorServiceClient::new(endpoint.connect_lazy());
    let operator_id = key.operator_id().as_bytes().to_vec();
    let (updates_tx, updates_rx) = mpsc::channel(SYNC_QUEUE);
    let (fired_tx, fired_rx) = mpsc::channel(FIRED_QUEUE);
    tokio::spawn(node::sync_loop(
        client.clone(),
        operator_id,
        tokens.clone(),
        updates_tx,
    ));
    tokio::spawn(node::report_loop(client, key, tokens, fired_rx));
    let poll = Duration::from_millis(args.block_poll_ms);
    info!(
        chain = source.is_some(),
        capacity = args.trigger_capacity,
        "trigger watcher started"
    );
    tokio::spawn(watch_loop(engine, source, updates_rx, fired_tx, poll));
    Ok(())
}

/// Owns the engine: applies updates, fires time triggers every second (or sooner, at the
/// next fire time) and polls the chain; hands everything fired to the reporter.
async fn watch_loop(
    mut engine: Engine,
    source: Option<Box<dyn BlockSource>>,
    mut updates: mpsc::Receiver<SyncEvent>,
    fired: mpsc::Sender<Fired>,
    poll: Duration,
) {
    let clock = SystemClock;
    let mut poll_tick = tokio::time::interval(poll);
    poll_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Checked on every turn, not only on the timer, so a stream of updates cannot
        // starve the time triggers.
        for f in engine.time_fires(clock.now()) {
            if fired.send(f).await.is_err() {
                return;
            }
        }
        let wake = time_wake_delay(engine.watchers.next_wake(), now_ms());
        tokio::select! {
            event = updates.recv() => match event {
                Some(event) => handle(&mut engine, event, clock.now()),
                None => return,
            },
            _ = tokio::time::sleep(wake) => {}
            _ = poll_tick.tick(), if source.is_some() => {
                let Some(source) = &source else { continue };
                match engine.poll_chain(source.as_ref()).await {
                    Ok(fires) => {
                        for f in fires {
                            if fired.send(f).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => warn!(error = %e, "chain poll failed; retrying"),
                }
            }
        }
    }
}

/// Applies one sync event, logging what it did.
fn handle(engine: &mut Engine, event: SyncEvent, now: u64) {
    match event {
        SyncEvent::Resync => engine.watchers.begin_resync(),
        SyncEvent::SnapshotDone => {
            let stale = engine.watchers.finish_resync();
            for workflow_id in &stale {
                info!(%workflow_id, "trigger dropped: not re-sent after reconnect");
            }
            debug!(
                triggers = engine.watchers.len(),
                dropped = stale.len(),
                "trigger snapshot applied"
            );
        }
        SyncEvent::Update(u) => {
            let _span =
                tracing::info_span!("trigger_update", workflow_id = %u.workflow_id).entered();
            match engine
                .watchers
                .apply(&u.workflow_id, &u.trigger_json, u.removed, now)
            {
                Applied::Refused(reason) => warn!(%reason, "trigger update skipped"),
                Applied::Unchanged | Applied::NotPresent => debug!("trigger update: no change"),
                applied => info!(?applied, "trigger update applied"),
            }
        }
    }
}

/// How long to sleep before the time triggers are checked again: until `next_wake` (unix
/// seconds) but at most to the next whole second, so a wall-clock jump is noticed within a
/// second; a little past the boundary so the second has surely turned.
fn time_wake_delay(next_wake: Option<u64>, now_ms: u64) -> Duration {
    let next_second = (now_ms / 1000).saturating_add(1).saturating_mul(1000);
    let target = match next_wake {
        Some(wake) => wake.saturating_mul(1000).min(next_second),
        None => next_second,
    };
    Duration::from_millis(target.saturating_sub(now_ms).saturating_add(5))
}

/// Wall-clock unix milliseconds (0 before 1970, like [`SystemClock`]).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
