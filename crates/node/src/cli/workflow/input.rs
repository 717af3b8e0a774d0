//! What the commands read before any network call: workflow files (checked with the engine's
//! own validation, so a bad file fails with the node's message), trigger data and secret
//! values.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use quorate_automation::secrets::{SecretName, SecretValue};
use quorate_automation::{Plan, WorkflowLimits, WorkflowSpec};
use zeroize::Zeroizing;

/// Reads a workflow file and, when `check` is set, validates it as the node would (default
/// limits, the local clock). Returns the text as written: the node stores what was submitted.
pub(super) fn load_spec(path: &Path, check: bool) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading workflow file {}", path.display()))?;
    if check {
        validate_spec(&text, unix_now()?)
            .with_context(|| format!("workflow file {}", path.display()))?;
    }
    Ok(text)
}

/// Parses and validates a workflow's JSON at `now` (unix seconds) with the default limits.
/// The error is the engine's own message, which is what the node answers for the same file.
pub(super) fn validate_spec(text: &str, now: u64) -> anyhow::Result<WorkflowSpec> {
    let spec: WorkflowSpec = serde_json::from_str(text).context("not a valid workflow")?;
    Plan::new(&spec, &WorkflowLimits::default(), now).context("invalid workflow")?;
    Ok(spec)
}

fn unix_now() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}

/// `--data` must be a JSON object: it becomes `trigger.data`.
pub(super) fn check_trigger_data(data: &str) -> anyhow::Result<String> {
    let value: serde_json::Value = serde_json::from_str(data).context("--data is not JSON")?;
    anyhow::ensure!(value.is_object(), "--data must be a JSON object");
    Ok(data.to_owned())
}

/// Checks a secret's name locally, with the node's rule.
pub(super) fn check_secret_name(name: &str) -> anyhow::Result<()> {
    SecretName::parse(name)?;
    Ok(())
}

/// Reads a secret's value from `file`, or else from stdin, stripping one trailing newline.
/// Errors name the source, never the content.
pub(super) fn read_secret_value(file: Option<&Path>) -> anyhow::Result<SecretValue> {
    // Zeroizing: the plaintext is wiped once it has been copied into the value.
    let mut text = Zeroizing::new(String::new());
    match file {
        Some(path) => {
            std::fs::File::open(path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .with_context(|| format!("reading secret value file {}", path.display()))?;
        }
        None => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                // A prompt on stderr keeps stdout pure JSON.
                eprintln!("Enter the secret value, then Ctrl-D:");
            }
            stdin
                .read_to_string(&mut text)
                .context("reading the secret value from stdin")?;
        }
    }
    let value = strip_trailing_newline(&text);
    anyhow::ensure!(!value.is_empty(), "the secret value is empty");
    Ok(SecretValue::new(value.to_owned())?)
}

/// `text` without one trailing `\n` or `\r\n` (what `echo` and editors add); other whitespace
/// may be part of the secret and is kept.
pub(super) fn strip_trailing_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}
