//! What each kind of step does. A step renders its templates, acts, and returns its output;
//! the runner records it.

mod abi_json;
mod contract_read;
mod http;
mod script;
mod wallet;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::NodeKind;
use crate::ports::{
    ContractReader, HttpClient, HttpError, ReadError, WalletSendError, WalletSender,
};
use crate::runner::RunnerLimits;
use crate::sandbox::{Sandbox, SandboxError};
use crate::secrets::SecretSet;
use crate::template::{self, Rendered, TemplateContext, TemplateError};

/// Why a step failed. Shown to the workflow's owner (after secrets are replaced by `***`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// A `{{…}}` reference could not be rendered.
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    /// A rendered URL is not an absolute http(s) URL.
    #[error("bad url: {reason}")]
    BadUrl {
        /// What is wrong.
        reason: String,
    },
    /// The HTTP request failed.
    #[error("http: {0}")]
    Http(#[from] HttpError),
    /// The server answered with an error status.
    #[error("http status {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The body's start.
        body: String,
    },
    /// The GraphQL server answered with errors.
    #[error("graphql errors: {errors}")]
    Graphql {
        /// The `errors` array (cut).
        errors: String,
    },
    /// The response is not what the step needs (e.g. GraphQL without JSON).
    #[error("bad response: {reason}")]
    BadResponse {
        /// What is wrong.
        reason: String,
    },
    /// Contract reads need a chain, and the node has none configured.
    #[error("no chain is configured for contract reads")]
    NoChain,
    /// The contract call failed.
    #[error("contract read: {0}")]
    Read(#[from] ReadError),
    /// Arguments or the result did not fit the ABI.
    #[error("abi: {reason}")]
    Abi {
        /// What is wrong.
        reason: String,
    },
    /// JavaScript failed or broke a limit.
    #[error("code: {0}")]
    Sandbox(#[from] SandboxError),
    /// A filter's input did not render to a JSON array.
    #[error("filter input is not a JSON array: {reason}")]
    NotArray {
        /// What it was.
        reason: String,
    },
    /// The step took longer than the step timeout.
    #[error("timed out after {millis} ms")]
    Timeout {
        /// The limit.
        millis: u64,
    },
    /// The smart wallet refused the call, or the call reverted.
    #[error("wallet: {0}")]
    Wallet(WalletSendError),
    /// The output is larger than allowed.
    #[error("output is {bytes} bytes, the limit is {limit}")]
    OutputTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

/// What a step needs from the runner.
pub(crate) struct StepContext<'a> {
    /// `trigger` and each earlier step's name → `{ "data": … }`.
    pub(crate) values: &'a Map<String, Value>,
    /// The secrets opened for this execution.
    pub(crate) secrets: &'a SecretSet,
    /// HTTP port.
    pub(crate) http: &'a dyn HttpClient,
    /// Chain port, if configured.
    pub(crate) chain: Option<&'a dyn ContractReader>,
    /// The execution's smart wallet, if the node has wallets.
    pub(crate) wallet: Option<&'a dyn WalletSender>,
    /// JavaScript sandbox (shared, so blocking work can hold a clone).
    pub(crate) sandbox: &'a Arc<Sandbox>,
    /// Limits.
    pub(crate) limits: &'a RunnerLimits,
}

impl StepContext<'_> {
    /// Renders a template against the trigger, earlier outputs and secrets.
    pub(crate) fn render(&self, text: &str) -> Result<Rendered, TemplateError> {
        let context = TemplateContext {
            values: self.values,
            secrets: self.secrets,
        };
        template::render(text, &context, self.limits.max_rendered_bytes)
    }
}

/// A step's result.
pub(crate) struct StepOutput {
    /// The rendered inputs with secrets as `***`, for the record.
    pub(crate) inputs: Value,
    /// What later steps see as `<name>.data`.
    pub(crate) data: Value,
    /// What the step logged.
    pub(crate) log: String,
    /// For a branch: the condition it chose (None when none was true).
    pub(crate) chosen_condition: Option<String>,
}

impl StepOutput {
    /// The output of a failed step: its inputs, nothing else.
    pub(crate) fn failed(inputs: Value) -> Self {
        Self {
            inputs,
            data: Value::Null,
            log: String::new(),
            chosen_condition: None,
        }
    }
}

/// A failed step: the inputs it had rendered so far, what it produced before failing (a
/// reverted UserOperation's record), and why.
pub(crate) struct StepFailure {
    /// Rendered inputs, secrets as `***` (Null if it failed before rendering).
    pub(crate) inputs: Value,
    /// Output recorded despite the failure (Null for most).
    pub(crate) data: Value,
    /// Why.
    pub(crate) error: StepError,
}

impl StepFailure {
    /// A failure after rendering `inputs`.
    pub(crate) fn new(inputs: Value, error: StepError) -> Self {
        Self {
            inputs,
            data: Value::Null,
            error,
        }
    }

    /// The same failure with `inputs` (when it was raised before they were attached).
    pub(crate) fn with_inputs(mut self, inputs: &Value) -> Self {
        self.inputs = inputs.clone();
        self
    }
}

impl<E: Into<StepError>> From<E> for StepFailure {
    fn from(error: E) -> Self {
        Self::new(Value::Null, error.into())
    }
}

/// Runs one step.
pub(crate) async fn run(
    node: &crate::model::Node,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    match &node.kind {
        NodeKind::RestApi(kind) => http::rest(kind, context).await,
        NodeKind::Graphql(kind) => http::graphql(kind, context).await,
        NodeKind::ContractRead(kind) => contract_read::run(kind, context).await,
        NodeKind::Branch(kind) => script::branch(kind, context).await,
        NodeKind::Filter(kind) => script::filter(kind, context).await,
        NodeKind::CustomCode(kind) => script::custom_code(kind, context).await,
        NodeKind::ContractWrite(kind) => wallet::contract_write(kind, &node.id, context).await,
        NodeKind::EthTransfer(kind) => wallet::eth_transfer(kind, &node.id, context).await,
    }
}
