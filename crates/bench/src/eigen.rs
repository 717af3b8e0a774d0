//! eigensdk-rs 2.0's `BlsAggregatorService` behind the driver, on its in-memory
//! `FakeAvsRegistryService`, used exactly as its own tests use it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use eigen_crypto_bls::{BlsKeyPair, Signature};
use eigen_services_avsregistry::fake_avs_registry_service::FakeAvsRegistryService;
use eigen_services_blsaggregation::bls_agg::{
    AggregateReceiver, BlsAggregatorService, ServiceHandle, TaskMetadata, TaskSignature,
};
use eigen_services_blsaggregation::bls_aggregation_service_error::BlsAggregationServiceError;
use eigen_types::avs::SignatureVerificationError;
use eigen_types::test::TestOperator;
use quorate_domain::{B256, U256};

use super::driver::{Data, Delivery, LocalFut, Target, Verdict};

const BLOCK: u64 = 1;

/// eigensdk's aggregator service.
pub struct Eigen {
    /// Hands tasks and signatures to the service.
    handle: ServiceHandle,
    /// The service's aggregates, until `collect` takes it.
    receiver: RefCell<Option<AggregateReceiver>>,
    /// The workload.
    data: Rc<Data>,
    /// Operator ids, by operator index.
    ids: Vec<B256>,
}

impl Eigen {
    /// Registers the operators (ids as Quorate computes them) and starts the service.
    pub fn start(data: Rc<Data>, ids: Vec<B256>) -> Result<Self> {
        let mut operators = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let secret = data
                .keys
                .secrets
                .get(i)
                .ok_or_else(|| anyhow!("missing key"))?;
            let bls_keypair =
                BlsKeyPair::new(secret.to_string()).map_err(|e| anyhow!("eigensdk key: {e:?}"))?;
            if bls_keypair.public_key().g1() != data.keys.g1[i] {
                return Err(anyhow!(
                    "eigensdk derived a different public key for operator {i}"
                ));
            }
            let stake_per_quorum = (0..data.quorums)
                .map(|q| (q, U256::from(1000u64)))
                .collect();
            operators.push(TestOperator {
                operator_id: *id,
                stake_per_quorum,
                bls_keypair,
            });
        }
        let registry = FakeAvsRegistryService::new(BLOCK, operators);
        let (handle, receiver) = BlsAggregatorService::new(registry).start();
        Ok(Self {
            handle,
            receiver: RefCell::new(Some(receiver)),
            data,
            ids,
        })
    }
}

impl Target for Eigen {
    fn init(&self, task: u32) -> LocalFut<Result<()>> {
        let handle = self.handle.clone();
        let threshold = self
            .data
            .tasks
            .get(task as usize)
            .and_then(Option::as_ref)
            .map(|t| t.threshold);
        let quorums: Vec<u8> = (0..self.data.quorums).collect();
        let thresholds = vec![threshold.unwrap_or(100); quorums.len()];
        Box::pin(async move {
            let meta =
                TaskMetadata::new(task, BLOCK, quorums, thresholds, Duration::from_secs(3600));
            handle
                .initialize_task(meta)
                .await
                .map_err(|e| anyhow!("initialize_task: {e:?}"))
        })
    }

    fn submit(&self, task: u32, op: u32) -> LocalFut<Verdict> {
        let handle = self.handle.clone();
        let sigs = self.data.tasks.get(task as usize).and_then(Option::as_ref);
        let signature = sigs.and_then(|t| {
            Some(TaskSignature::new(
                task,
                B256::from(t.digest),
                Signature::new(*t.sigs.get(op as usize)?),
                *self.ids.get(op as usize)?,
            ))
        });
        Box::pin(async move {
            let Some(signature) = signature else {
                return Verdict::Other("no such signature".into());
            };
            match handle.process_signature(signature).await {
                Ok(()) => Verdict::Verified,
                Err(BlsAggregationServiceError::SignatureVerificationError(
                    SignatureVerificationError::IncorrectSignature,
                )) => Verdict::RejectedInvalid,
                Err(e) => Verdict::Other(format!("{e:?}")),
            }
        })
    }

    fn collect(&self, deliver: Rc<dyn Fn(Delivery)>) {
        let Some(mut receiver) = self.receiver.borrow_mut().take() else {
            return;
        };
        let data = Rc::clone(&self.data);
        let invalid: HashMap<u32, usize> = data
            .tasks
            .iter()
            .enumerate()
            .filter_map(|(t, s)| {
                Some((t as u32, s.as_ref()?.invalid.iter().filter(|b| **b).count()))
            })
            .collect();
        tokio::task::spawn_local(async move {
            loop {
                match receiver.receive_aggregated_response().await {
                    Ok(resp) => {
                        let task = resp.task_index;
                        let expected = invalid.get(&task).copied().unwrap_or(0);
                        let included = expected.saturating_sub(resp.non_signers_pub_keys_g1.len());
                        deliver(Delivery {
                            task,
                            ok: true,
                            invalid_included: included,
                        });
                    }
                    Err(BlsAggregationServiceError::ReceiverError) => break,
                    Err(e) => eprintln!("eigensdk aggregation error: {e:?}"),
                }
            }
        });
    }
}
