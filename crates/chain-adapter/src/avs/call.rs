//! The respond call of a configured AVS: its calldata from the argument template, the
//! answered check, and its custom errors decoded from revert data.

use alloy::dyn_abi::{DynSolType, DynSolValue, JsonAbiExt};
use alloy::primitives::{keccak256, Address, Bytes};
use alloy::sol_types::SolValue;
use quorate_domain::SubmissionRequest;

use super::fields::{show, Values};
use super::profile::{AvsProfile, NON_SIGNER_STAKES_AND_SIGNATURE};
use crate::convert::non_signer_stakes_and_signature;
use crate::submitter::AvsResponseCall;

impl AvsProfile {
    /// The `NonSignerStakesAndSignature` of the aggregate as an ABI value.
    fn signature_value(request: &SubmissionRequest) -> Result<DynSolValue, String> {
        let encoded = non_signer_stakes_and_signature(&request.aggregate).abi_encode();
        DynSolType::parse(NON_SIGNER_STAKES_AND_SIGNATURE)
            .and_then(|ty| ty.abi_decode(&encoded))
            .map_err(|e| format!("NonSignerStakesAndSignature: {e}"))
    }

    fn respond_calldata(&self, request: &SubmissionRequest) -> Result<Bytes, String> {
        let agg = &request.aggregate;
        let (event, response, response_bytes) = self
            .submission_values(&request.payload)
            .map_err(|e| e.to_string())?;
        if keccak256(&response_bytes) != agg.digest.0 {
            return Err("aggregate digest is not keccak256 of the signed response".into());
        }
        let task = self.task_of(&event, None).map_err(|e| e.to_string())?;
        let quorums: Vec<u8> = task.quorums.iter().map(|(q, _)| *q).collect();
        if quorums != agg.quorum_numbers_bytes() {
            return Err("task quorums differ from the aggregate's".into());
        }
        if task.reference_block != agg.reference_block {
            return Err(format!(
                "task reference block {} differs from the aggregate's {}",
                task.reference_block, agg.reference_block
            ));
        }
        let signature = Self::signature_value(request)?;
        let values = Values {
            event: &event,
            response: Some(&response),
            signature: Some(&signature),
        };
        let args = self
            .respond_args
            .iter()
            .map(|a| a.get(&values).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        self.respond
            .abi_encode_input(&args)
            .map(Bytes::from)
            .map_err(|e| format!("{}: {e}", self.respond.name))
    }

    /// A readable custom error of this AVS, if the revert data is one.
    pub fn decode_revert(&self, data: &[u8]) -> Option<String> {
        let selector = data.get(..4)?;
        let error = self
            .errors
            .iter()
            .find(|e| e.selector().as_slice() == selector)?;
        match error.abi_decode_input(&data[4..]) {
            Ok(values) => {
                let shown: Vec<String> = values.iter().map(show).collect();
                Some(format!("{}({})", error.name, shown.join(", ")))
            }
            Err(_) => Some(format!("{}(<undecodable arguments>)", error.name)),
        }
    }
}

impl AvsResponseCall for AvsProfile {
    fn target(&self) -> Address {
        self.task_manager()
    }

    fn calldata(&self, request: &SubmissionRequest) -> Result<Bytes, String> {
        self.respond_calldata(request)
    }

    fn answered_check(&self, request: &SubmissionRequest) -> Option<Bytes> {
        let view = self.answered.as_ref()?;
        let (task, _) = Self::split_submission(&request.payload).ok()?;
        let event = self.task_shape.ty().abi_decode_params(&task).ok()?;
        let values = Values {
            event: &event,
            response: None,
            signature: None,
        };
        let args = view
            .args
            .iter()
            .map(|a| a.get(&values).cloned())
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        view.function.abi_encode_input(&args).ok().map(Bytes::from)
    }

    fn decode_revert(&self, data: &[u8]) -> Option<String> {
        AvsProfile::decode_revert(self, data)
    }
}
