//! `quorate consensus`: run median normalization over a file of operator responses.
//!
//! Input: a JSON array `[{"operator": "0x<64 hex>", "data": {...}, "stake": "<decimal>"}, ...]`
//! (`stake` optional, required by `--policy exclude-stake:…`). Output on success: the
//! [`ConsensusOutcome`] as pretty JSON on stdout (normalized document, both digests,
//! adjustments, excluded operators, stats), exit 0. No consensus: the reasons on stderr, exit 3.
//! Bad input: a message on stderr, exit 1 (bad arguments: clap's usage error, exit 2).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use quorate_consensus::{
    normalize, AttestationPaths, ConsensusConfig, ConsensusError, ConsensusOutcome, Decimal,
    OperatorResponse, OutlierPolicy, Tolerance,
};
use quorate_domain::{OperatorId, Stake};
use serde_json::Value;

/// Exit code when the responses are valid but do not agree.
const NO_CONSENSUS: u8 = 3;

/// Arguments of `quorate consensus`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 consensus reached, 1 bad input, 2 bad arguments, 3 no consensus."
)]
pub struct ConsensusArgs {
    /// Allowed deviation of each numeric value from its field's median, in percent (an exact
    /// decimal: `10`, `0.5`).
    #[arg(long, value_parser = parse_decimal)]
    pub tolerance: Decimal,
    /// `strict` (any disagreement fails), `exclude:<fraction>` (drop disagreeing operators;
    /// the rest must be at least that fraction of responders) or `exclude-stake:<fraction>`
    /// (same, as a fraction of the responders' stake).
    #[arg(long, default_value = "strict", value_parser = parse_policy)]
    pub policy: OutlierPolicy,
    /// Allowed absolute deviation for fields whose median is zero.
    #[arg(long, default_value = "0", value_parser = parse_decimal)]
    pub abs_tolerance: Decimal,
    /// Key name marking an attestation subtree (not compared, left out of the consensus
    /// digest). Repeatable; default `attestation`.
    #[arg(long = "attestation-key", value_name = "KEY")]
    pub attestation_keys: Vec<String>,
    /// JSON file: `[{"operator": "<id>", "data": {...}, "stake": "<optional decimal>"}, ...]`.
    pub file: PathBuf,
}

fn parse_decimal(s: &str) -> Result<Decimal, String> {
    let d: Decimal = s.parse().map_err(|e| format!("{e}"))?;
    if d.is_negative() {
        return Err(format!("`{s}` is negative"));
    }
    Ok(d)
}

fn parse_policy(s: &str) -> Result<OutlierPolicy, String> {
    let fraction = |f: &str| -> Result<Decimal, String> {
        f.parse::<Decimal>()
            .map_err(|e| format!("bad fraction: {e}"))
    };
    let policy = if s == "strict" {
        Ok(OutlierPolicy::Strict)
    } else if let Some(f) = s.strip_prefix("exclude:") {
        OutlierPolicy::exclude_by_responders(fraction(f)?)
    } else if let Some(f) = s.strip_prefix("exclude-stake:") {
        OutlierPolicy::exclude_by_stake(fraction(f)?)
    } else {
        return Err(format!(
            "`{s}`: expected `strict`, `exclude:<fraction>` or `exclude-stake:<fraction>`"
        ));
    };
    policy.map_err(|e| e.to_string())
}

/// Runs the command; the exit code says whether consensus was reached.
pub fn run(args: ConsensusArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let responses =
        parse_responses(&text).with_context(|| format!("invalid input {}", args.file.display()))?;
    let tolerance = Tolerance::percent(args.tolerance)?.with_absolute(args.abs_tolerance)?;
    let attestations = if args.attestation_keys.is_empty() {
        AttestationPaths::default()
    } else {
        args.attestation_keys
            .into_iter()
            .fold(AttestationPaths::none(), AttestationPaths::with_key)
    };
    let config = ConsensusConfig::new(tolerance)
        .with_policy(args.policy)
        .with_attestations(attestations);
    match normalize(&responses, &config) {
        Ok(outcome) => {
            print_outcome(&outcome)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (ConsensusError::NoConsensus { .. } | ConsensusError::BelowMinimum(_))) => {
            eprintln!("{e}");
            Ok(ExitCode::from(NO_CONSENSUS))
        }
        Err(e) => Err(e.into()),
    }
}

fn print_outcome(outcome: &ConsensusOutcome) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(outcome).context("cannot serialize the outcome")?;
    println!("{text}");
    Ok(())
}

/// Parses and checks the input file's array of responses.
fn parse_responses(text: &str) -> anyhow::Result<Vec<OperatorResponse>> {
    let value: Value = serde_json::from_str(text).context("not valid JSON")?;
    let Value::Array(entries) = value else {
        bail!("expected a JSON array of {{\"operator\", \"data\", \"stake\"}} objects");
    };
    if entries.is_empty() {
        bail!("the array of responses is empty");
    }
    let mut seen: BTreeMap<OperatorId, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let response = parse_entry(entry).with_context(|| format!("entry {i}"))?;
        if let Some(first) = seen.insert(response.operator, i) {
            bail!(
                "entry {i}: operator {} already responded in entry {first}",
                response.operator
            );
        }
        out.push(response);
    }
    Ok(out)
}

fn parse_entry(entry: Value) -> anyhow::Result<OperatorResponse> {
    let Value::Object(mut map) = entry else {
        bail!("expected an object with \"operator\" and \"data\"");
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "operator" | "data" | "stake"))
    {
        bail!("unknown key {k:?} (expected \"operator\", \"data\", \"stake\")");
    }
    let operator = match map.get("operator") {
        Some(Value::String(s)) => {
            OperatorId::from_hex(s).with_context(|| format!("bad operator id {s:?}"))?
        }
        Some(_) => bail!("\"operator\" must be a 0x-prefixed 64-digit hex string"),
        None => bail!("missing \"operator\""),
    };
    let Some(data) = map.remove("data") else {
        bail!("missing \"data\" for operator {operator}");
    };
    let mut response = OperatorResponse::new(operator, data);
    match map.get("stake") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => bail!("\"stake\" of operator {operator} must be a decimal integer"),
            };
            let stake = Stake::from_str_radix(&text, 10)
                .map_err(|e| anyhow::anyhow!("bad stake {text:?} of operator {operator}: {e}"))?;
            response = response.with_stake(stake);
        }
    }
    Ok(response)
}
