//! The live workflows' triggers, for operators: a snapshot for a new `SyncTriggers` stream and
//! a broadcast of every change after it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use quorate_api::pb;
use quorate_automation::trigger::Trigger;
use quorate_automation::Workflow;
use tokio::sync::broadcast;

/// Updates buffered per slow stream before it must resynchronise from the snapshot.
const UPDATE_BUFFER: usize = 1024;

/// Live triggers by workflow id.
pub(crate) struct TriggerHub {
    /// workflow id → trigger JSON, for every live workflow whose trigger operators watch.
    live: Mutex<BTreeMap<String, String>>,
    /// Every change, in order.
    updates: broadcast::Sender<pb::TriggerUpdate>,
}

impl TriggerHub {
    pub(crate) fn new() -> Self {
        Self {
            live: Mutex::default(),
            updates: broadcast::channel(UPDATE_BUFFER).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes `workflow`'s trigger if it is live and operators watch it (manual triggers
    /// need no watching), else withdraws it.
    pub(crate) fn track(&self, workflow: &Workflow) {
        let watched =
            workflow.status.is_live() && !matches!(workflow.spec.trigger, Trigger::Manual { .. });
        let json = serde_json::to_string(&workflow.spec.trigger)
            .ok()
            .filter(|_| watched);
        let update = {
            let mut live = self.lock();
            match json {
                Some(json) => {
                    if live.get(&workflow.id) == Some(&json) {
                        return;
                    }
                    live.insert(workflow.id.clone(), json.clone());
                    pb::TriggerUpdate {
                        workflow_id: workflow.id.clone(),
                        trigger_json: json,
                        removed: false,
                    }
                }
                None => {
                    if live.remove(&workflow.id).is_none() {
                        return;
                    }
                    pb::TriggerUpdate {
                        workflow_id: workflow.id.clone(),
                        trigger_json: String::new(),
                        removed: true,
                    }
                }
            }
        };
        let _ = self.updates.send(update);
    }

    /// Withdraws a deleted workflow's trigger.
    pub(crate) fn forget(&self, workflow_id: &str) {
        if self.lock().remove(workflow_id).is_some() {
            let _ = self.updates.send(pb::TriggerUpdate {
                workflow_id: workflow_id.to_owned(),
                trigger_json: String::new(),
                removed: true,
            });
        }
    }

    /// Subscribes first, then snapshots, so no change between the two is missed (a change
    /// may be seen twice, which applying an update tolerates).
    pub(crate) fn subscribe(
        &self,
    ) -> (
        broadcast::Receiver<pb::TriggerUpdate>,
        Vec<pb::TriggerUpdate>,
    ) {
        let receiver = self.updates.subscribe();
        let snapshot = self
            .lock()
            .iter()
            .map(|(id, json)| pb::TriggerUpdate {
                workflow_id: id.clone(),
                trigger_json: json.clone(),
                removed: false,
            })
            .collect();
        (receiver, snapshot)
    }

    /// How many triggers are live.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Marks an operator's trigger stream closed in the pool when its task ends.
struct StreamGuard {
    /// The pool.
    pool: Arc<crate::operator_pool::OperatorPool>,
    /// Whose stream.
    operator_id: quorate_domain::OperatorId,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.pool.trigger_stream(&self.operator_id, false);
    }
}

/// A `SyncTriggers` stream.
pub(crate) type TriggerStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::TriggerUpdate, tonic::Status>> + Send>>;

impl super::Automation {
    /// The live triggers, then every change, for an authenticated operator. A stream that
    /// falls more than the update buffer behind ends with ABORTED: the operator reconnects
    /// and starts again from a snapshot (which replaces what it had).
    pub(crate) fn trigger_stream(
        &self,
        operator_id: &quorate_domain::OperatorId,
    ) -> Result<TriggerStream, crate::error::NodeError> {
        let slot = self
            .inner
            .trigger_streams
            .acquire(&operator_id.to_string())
            .map_err(|_| {
                crate::error::NodeError::ResourceExhausted(format!(
                    "operator {operator_id} already has the most trigger streams allowed open"
                ))
            })?;
        let (mut updates, snapshot) = self.inner.hub.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let (pool, operator_id) = (Arc::clone(&self.inner.pool), *operator_id);
        pool.trigger_stream(&operator_id, true);
        tokio::spawn(async move {
            let _slot = slot;
            // Closed however the stream ends.
            let _open = StreamGuard {
                pool: Arc::clone(&pool),
                operator_id,
            };
            for update in snapshot {
                if tx.send(Ok(update)).await.is_err() {
                    return;
                }
                pool.watching(&operator_id, true);
            }
            loop {
                let update = tokio::select! {
                    _ = tx.closed() => return,
                    u = updates.recv() => u,
                };
                let item = match update {
                    Ok(update) => {
                        pool.watching(&operator_id, !update.removed);
                        Ok(update)
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => Err(tonic::Status::aborted(
                        format!("{n} trigger updates missed; resubscribe"),
                    )),
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let last = item.is_err();
                if tx.send(item).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}
