//! Tasks of a configured AVS: read from its task-created log or from a `CreateTask` payload,
//! and the checks a response gets against its task.

use alloy::dyn_abi::{DynSolValue, EventExt};
use alloy::primitives::{keccak256, LogData, B256};
use alloy::sol_types::SolValue;
use quorate_domain::TaskId;

use super::fields::{as_byte_list, as_u64, show, Values};
use super::profile::{AvsProfile, ProfileError, Thresholds};
use super::spec::DigestSpec;

/// What the aggregator needs of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTask {
    /// The task's on-chain id, as text (for logs).
    pub chain_id: String,
    /// The task's id in the node: keccak256(task manager ‖ abi.encode(on-chain id) ‖ block
    /// hash), the same on every read of the same log and different if a reorg moves it.
    pub task_id: TaskId,
    /// The reference block.
    pub reference_block: u64,
    /// `(quorum, threshold %)` pairs.
    pub quorums: Vec<(u8, u8)>,
    /// What operators receive: `abi.encode` of the event's parameters.
    pub payload: Vec<u8>,
}

fn task_err(reason: impl std::fmt::Display) -> ProfileError {
    ProfileError::Task {
        reason: reason.to_string(),
    }
}

fn response_err(reason: impl std::fmt::Display) -> ProfileError {
    ProfileError::Response {
        reason: reason.to_string(),
    }
}

impl AvsProfile {
    /// The task of a task-created log found in block `block_hash`.
    pub fn task_from_log(
        &self,
        log: &LogData,
        block_hash: B256,
    ) -> Result<ChainTask, ProfileError> {
        let decoded = self
            .event
            .decode_log(log)
            .map_err(|e| task_err(format!("{} does not decode: {e}", self.event.name)))?;
        let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
        let values = self
            .event
            .inputs
            .iter()
            .map(|p| {
                if p.indexed {
                    indexed.next()
                } else {
                    body.next()
                }
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| task_err("event parameters missing"))?;
        self.task_of(&DynSolValue::Tuple(values), Some(block_hash))
    }

    /// The task of a payload (`abi.encode` of the event's parameters), without a block hash
    /// (its `task_id` is then derived from the on-chain id alone).
    pub fn task_from_payload(&self, payload: &[u8]) -> Result<ChainTask, ProfileError> {
        let value = self.decode_task(payload)?;
        self.task_of(&value, None)
    }

    /// The event parameters of a payload, which must be their exact encoding.
    fn decode_task(&self, payload: &[u8]) -> Result<DynSolValue, ProfileError> {
        let value = self
            .task_shape
            .ty()
            .abi_decode_params(payload)
            .map_err(|e| {
                task_err(format!(
                    "payload is not abi.encode of {} parameters: {e}",
                    self.event.name
                ))
            })?;
        if value.abi_encode_params() != payload {
            return Err(task_err("payload is not the canonical encoding"));
        }
        Ok(value)
    }

    pub(crate) fn task_of(
        &self,
        event: &DynSolValue,
        block_hash: Option<B256>,
    ) -> Result<ChainTask, ProfileError> {
        let values = Values {
            event,
            response: None,
            signature: None,
        };
        let get = |v: &super::fields::ValueRef| v.get(&values).map_err(task_err);
        let id = get(&self.id)?;
        let reference_block = as_u64(get(&self.reference_block)?)
            .ok_or_else(|| task_err("reference block does not fit 64 bits"))?;
        let quorum_numbers = as_byte_list(get(&self.quorum_numbers)?)
            .ok_or_else(|| task_err("quorum numbers are not bytes"))?;
        let thresholds: Vec<u8> = match &self.thresholds {
            Thresholds::One(v) => {
                let t = as_u64(get(v)?)
                    .and_then(|t| u8::try_from(t).ok())
                    .ok_or_else(|| task_err("threshold is not a percentage"))?;
                vec![t; quorum_numbers.len()]
            }
            Thresholds::PerQuorum(v) => {
                as_byte_list(get(v)?).ok_or_else(|| task_err("thresholds are not percentages"))?
            }
        };
        if thresholds.len() != quorum_numbers.len() {
            return Err(task_err(format!(
                "{} thresholds for {} quorums",
                thresholds.len(),
                quorum_numbers.len()
            )));
        }
        let mut seed = self.task_manager().to_vec();
        seed.extend(id.abi_encode());
        if let Some(hash) = block_hash {
            seed.extend(hash.as_slice());
        }
        let task_id = TaskId::new(keccak256(&seed).0).map_err(task_err)?;
        Ok(ChainTask {
            chain_id: show(id),
            task_id,
            reference_block,
            quorums: quorum_numbers.into_iter().zip(thresholds).collect(),
            payload: event.abi_encode_params(),
        })
    }

    /// The response tuple of `response` (exactly its encoding under the configured digest).
    pub(crate) fn decode_response(&self, response: &[u8]) -> Result<DynSolValue, ProfileError> {
        let ty = self.response_shape.ty();
        let (value, again) = match self.digest() {
            DigestSpec::AbiEncode => {
                let v = ty
                    .abi_decode(response)
                    .map_err(|e| response_err(format!("not abi.encode(response): {e}")))?;
                let again = v.abi_encode();
                (v, again)
            }
            DigestSpec::AbiEncodeFields => {
                let v = ty
                    .abi_decode_params(response)
                    .map_err(|e| response_err(format!("not abi.encode(response fields): {e}")))?;
                let again = v.abi_encode_params();
                (v, again)
            }
        };
        if again != response {
            return Err(response_err(
                "not the canonical encoding (trailing or altered bytes)",
            ));
        }
        Ok(value)
    }

    /// Checks that `response` is a response of this AVS to the task of `task_payload`: its
    /// exact encoding, and every `must_match` pair equal. Operators sign keccak256 of these
    /// bytes, which is then the digest the contract recomputes.
    pub fn check_response(&self, task_payload: &[u8], response: &[u8]) -> Result<(), ProfileError> {
        let event = self.decode_task(task_payload)?;
        let response = self.decode_response(response)?;
        self.check_matches(&event, &response)
    }

    pub(crate) fn check_matches(
        &self,
        event: &DynSolValue,
        response: &DynSolValue,
    ) -> Result<(), ProfileError> {
        let values = Values {
            event,
            response: Some(response),
            signature: None,
        };
        for (a, b) in &self.must_match {
            let (va, vb) = (
                a.get(&values).map_err(response_err)?,
                b.get(&values).map_err(response_err)?,
            );
            if va != vb {
                return Err(response_err(format!(
                    "`{}` is {} but `{}` is {}",
                    a.text,
                    show(va),
                    b.text,
                    show(vb)
                )));
            }
        }
        Ok(())
    }

    /// What the submitter is given for a task and its signed response:
    /// `abi.encode(bytes taskPayload, bytes response)`.
    pub fn submission_payload(task_payload: &[u8], response: &[u8]) -> Vec<u8> {
        (task_payload.to_vec(), response.to_vec()).abi_encode_params()
    }

    /// The inverse of [`Self::submission_payload`].
    pub(crate) fn split_submission(payload: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError> {
        <(alloy::primitives::Bytes, alloy::primitives::Bytes)>::abi_decode_params(payload)
            .map(|(t, r)| (t.to_vec(), r.to_vec()))
            .map_err(|e| {
                task_err(format!(
                    "submission payload is not abi.encode(bytes, bytes): {e}"
                ))
            })
    }

    /// The decoded task and response of a submission payload, checked against each other.
    pub(crate) fn submission_values(
        &self,
        payload: &[u8],
    ) -> Result<(DynSolValue, DynSolValue, Vec<u8>), ProfileError> {
        let (task, response_bytes) = Self::split_submission(payload)?;
        let event = self.decode_task(&task)?;
        let response = self.decode_response(&response_bytes)?;
        self.check_matches(&event, &response)?;
        Ok((event, response, response_bytes))
    }
}
