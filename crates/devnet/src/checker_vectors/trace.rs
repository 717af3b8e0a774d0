//! Reading γ out of `debug_traceCall` struct logs: the recorder traces a call on the checker,
//! finds the only 288-byte `KECCAK256` (msgHash, apk, apkG2, sigma), optionally checks from the
//! step's memory that the hashed bytes start with msgHash, and takes the result of the `MOD` by
//! the scalar field order `r` applied to that hash. Holds the parsing of the tracer's stack and
//! memory words.

use std::str::FromStr;

use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::Provider;
use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::{json, Value};

use super::Recorder;

/// The BN254 scalar field order `r` (`BN254.FR_MODULUS`): γ is reduced modulo it.
pub(super) const FR_MODULUS: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

/// How many steps after the γ keccak the `MOD` that reduces it is looked for.
const MOD_WINDOW: usize = 200;

impl Recorder<'_> {
    /// γ from a `debug_traceCall` of `data` on the checker: the `MOD` by `r` of the 288-byte
    /// `KECCAK256`. With `msg`, also checks that the hashed bytes start with it (needs memory).
    pub(super) async fn trace_gamma(
        &self,
        data: Vec<u8>,
        msg: Option<B256>,
    ) -> Result<Option<U256>> {
        let trace = self.trace_call(data, msg.is_some()).await?;
        let logs = trace["structLogs"]
            .as_array()
            .ok_or_else(|| anyhow!("debug_traceCall without structLogs"))?;
        gamma_in(logs, msg, self.fr_modulus)
    }

    /// The `debug_traceCall` of `data` on the checker at the latest block (storage off).
    async fn trace_call(&self, data: Vec<u8>, memory: bool) -> Result<Value> {
        self.p
            .raw_request(
                "debug_traceCall".into(),
                (
                    json!({ "to": self.checker(), "data": Bytes::from(data) }),
                    "latest",
                    json!({ "enableMemory": memory, "disableStorage": true }),
                ),
            )
            .await
            .context("debug_traceCall")
    }
}

/// γ in struct logs: the reduction modulo `fr_modulus` of the first 288-byte `KECCAK256`
/// (`None` if the call hashed no 288 bytes). With `msg`, checks the preimage starts with it.
fn gamma_in(logs: &[Value], msg: Option<B256>, fr_modulus: U256) -> Result<Option<U256>> {
    for (i, step) in logs.iter().enumerate() {
        let op = step["op"].as_str().unwrap_or_default();
        if op != "KECCAK256" && op != "SHA3" {
            continue;
        }
        let stack = stack_of(step)?;
        let [.., size, offset] = stack[..] else {
            bail!("KECCAK256 with a short stack");
        };
        if size != U256::from(288u32) {
            continue;
        }
        if let Some(msg) = msg {
            check_preimage_starts_with(step, offset, msg)?;
        }
        let hash = top_after(logs, i, "KECCAK256")?;
        return reduction_of(logs, i, hash, fr_modulus).map(Some);
    }
    Ok(None)
}

/// Checks that the 32 bytes of the step's memory at `offset` (the keccak preimage) are `msg`.
fn check_preimage_starts_with(step: &Value, offset: U256, msg: B256) -> Result<()> {
    let memory = memory_of(step)?;
    let start = usize::try_from(offset)?;
    let first = memory
        .get(start..start + 32)
        .ok_or_else(|| anyhow!("γ preimage outside memory"))?;
    ensure!(
        first == msg.as_slice(),
        "the 288-byte keccak does not hash msgHash first"
    );
    Ok(())
}

/// The result of the `MOD` of `hash` found within [`MOD_WINDOW`] steps after step `keccak`,
/// checked to reduce by `fr_modulus`.
fn reduction_of(logs: &[Value], keccak: usize, hash: U256, fr_modulus: U256) -> Result<U256> {
    for j in keccak + 1..logs.len().min(keccak + MOD_WINDOW) {
        if logs[j]["op"].as_str() != Some("MOD") {
            continue;
        }
        let s = stack_of(&logs[j])?;
        let [.., modulus, value] = s[..] else {
            bail!("MOD with a short stack");
        };
        if value != hash {
            continue;
        }
        ensure!(modulus == fr_modulus, "γ reduced modulo {modulus}, not r");
        return top_after(logs, j, "MOD");
    }
    bail!("no MOD of the γ keccak in the trace");
}

/// The top of the stack at the step after step `i` (what step `i`, an `op`, pushed).
fn top_after(logs: &[Value], i: usize, op: &str) -> Result<U256> {
    logs.get(i + 1)
        .map(stack_of)
        .transpose()?
        .and_then(|s| s.last().copied())
        .ok_or_else(|| anyhow!("no step after {op}"))
}

fn parse_word(v: &Value) -> Result<U256> {
    let s = v
        .as_str()
        .ok_or_else(|| anyhow!("trace word is not a string: {v}"))?;
    U256::from_str(s).map_err(|e| anyhow!("trace word {s}: {e}"))
}

fn stack_of(step: &Value) -> Result<Vec<U256>> {
    step["stack"]
        .as_array()
        .ok_or_else(|| anyhow!("trace step without stack"))?
        .iter()
        .map(parse_word)
        .collect()
}

/// The memory of a trace step as bytes (the tracer prints 32-byte words).
fn memory_of(step: &Value) -> Result<Vec<u8>> {
    let words = step["memory"]
        .as_array()
        .ok_or_else(|| anyhow!("trace step without memory"))?;
    let mut out = Vec::with_capacity(words.len() * 32);
    for w in words {
        let s = w
            .as_str()
            .ok_or_else(|| anyhow!("memory word is not a string"))?;
        let bytes = alloy::hex::decode(s.trim_start_matches("0x"))?;
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}
