//! Quorate's runtime behind the driver: `AggregatorCore` on the in-memory registry.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use quorate_bls::{Bn254Scheme, Signature};
use quorate_domain::{
    AggregationError, OperatorId, ResponseDigest, SignatureVerificationError, SignedTaskResponse,
    TaskId, TaskMetadata,
};
use quorate_runtime::memory::InMemoryRegistry;
use quorate_runtime::{AggregatorConfig, AggregatorCore, SignatureOutcome, VerificationMode};
use tokio::sync::broadcast::error::RecvError;

use super::audit::Kept;
use super::driver::{Data, Delivery, LocalFut, Target, Verdict};

const BLOCK: u64 = 1;

/// Quorate's runtime on the in-memory registry.
pub struct Quorate {
    /// The aggregator.
    core: AggregatorCore<Bn254Scheme, InMemoryRegistry<Bn254Scheme>>,
    /// The workload.
    data: Rc<Data>,
    /// Operator ids, by operator index.
    ids: Vec<OperatorId>,
    /// Operator index, by id.
    op_index: HashMap<OperatorId, u32>,
    /// Where the consumer copies each delivered aggregate for the check after the run.
    kept: Rc<RefCell<Kept>>,
}

impl Quorate {
    /// Registers the operators and starts an aggregator with `threads` verification threads
    /// and eager mode's `linger` (inside a tokio runtime).
    pub fn start(
        data: Rc<Data>,
        mode: VerificationMode,
        inflight: usize,
        threads: usize,
        linger: Duration,
        kept: Rc<RefCell<Kept>>,
    ) -> Result<Self> {
        let scheme = Arc::new(Bn254Scheme);
        let keys = data
            .keys
            .secrets
            .iter()
            .map(|sk| {
                let secret =
                    quorate_bls::SecretKey::from_scalar(*sk).map_err(|e| anyhow!("{e}"))?;
                Ok(quorate_bls::KeyPair::from_secret_with_rng(
                    secret,
                    &mut rand::thread_rng(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let (registry, ids) = quorate_testkit::bn254_registry(&keys, data.quorums, 1000, BLOCK)?;
        let op_index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let config = AggregatorConfig {
            verification_mode: mode,
            verification_threads: threads.max(1),
            verification_linger: linger,
            max_active_tasks: inflight + 16,
            // Thousands of tasks can finish while the one-thread driver is busy feeding;
            // a lagging subscriber would lose their responses.
            event_buffer: (2 * inflight).max(1_024),
            ..AggregatorConfig::default()
        };
        let core = AggregatorCore::new(config, registry, scheme)?;
        Ok(Self {
            core,
            data,
            ids,
            op_index,
            kept,
        })
    }
}

fn task_id(task: u32) -> TaskId {
    TaskId::from(u64::from(task) + 1)
}

impl Target for Quorate {
    fn init(&self, task: u32) -> LocalFut<Result<()>> {
        let core = self.core.clone();
        let threshold = self
            .data
            .tasks
            .get(task as usize)
            .and_then(Option::as_ref)
            .map(|t| t.threshold);
        let quorums: Vec<(u8, u8)> = (0..self.data.quorums)
            .map(|q| (q, threshold.unwrap_or(100)))
            .collect();
        Box::pin(async move {
            let meta =
                TaskMetadata::from_raw(task_id(task), BLOCK, &quorums, Duration::from_secs(3600))?;
            core.initialize_task(meta).await?;
            Ok(())
        })
    }

    fn submit(&self, task: u32, op: u32) -> LocalFut<Verdict> {
        let core = self.core.clone();
        let sigs = self.data.tasks.get(task as usize).and_then(Option::as_ref);
        let signed = sigs.and_then(|t| {
            let signature = Signature::from_affine(*t.sigs.get(op as usize)?).ok()?;
            Some(SignedTaskResponse {
                task_id: task_id(task),
                digest: ResponseDigest::new(t.digest),
                signature,
                operator_id: *self.ids.get(op as usize)?,
            })
        });
        Box::pin(async move {
            let Some(signed) = signed else {
                return Verdict::Other("no such signature".into());
            };
            match core.process_signed_response(signed).await {
                Ok(SignatureOutcome::Accepted { verified: true, .. }) => Verdict::Verified,
                Ok(SignatureOutcome::Accepted {
                    verified: false, ..
                }) => Verdict::Unverified,
                Ok(SignatureOutcome::Buffered { .. }) => Verdict::Other("buffered".into()),
                Err(AggregationError::SignatureVerification {
                    reason: SignatureVerificationError::IncorrectSignature,
                    ..
                }) => Verdict::RejectedInvalid,
                Err(e) => Verdict::Other(e.to_string()),
            }
        })
    }

    fn collect(&self, deliver: Rc<dyn Fn(Delivery)>) {
        let mut rx = self.core.subscribe();
        let data = Rc::clone(&self.data);
        let op_index = self.op_index.clone();
        let kept = Rc::clone(&self.kept);
        let by_id: HashMap<TaskId, u32> = (0..data.tasks.len() as u32)
            .map(|t| (task_id(t), t))
            .collect();
        tokio::task::spawn_local(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        let Some(&task) = by_id.get(&ev.task_id) else {
                            continue;
                        };
                        let (ok, invalid_included) = match &ev.result {
                            Ok(agg) => (true, kept.borrow_mut().keep(task, agg, &op_index, &data)),
                            Err(_) => (false, 0),
                        };
                        deliver(Delivery {
                            task,
                            ok,
                            invalid_included,
                        });
                    }
                    Err(RecvError::Lagged(n)) => eprintln!("warning: event receiver lagged by {n}"),
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }
}
