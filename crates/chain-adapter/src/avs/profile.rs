//! An [`AvsSpec`] checked and compiled: parsed signatures, resolved field paths and argument
//! templates, so nothing is parsed per task and every mistake is reported at start-up.

use alloy::dyn_abi::{DynSolType, Specifier};
use alloy::json_abi::{Error as AbiError, Event, Function, JsonAbi};
use alloy::primitives::{Address, B256};

use super::fields::{Field, Scope, Shape, ValueRef};
use super::signature;
use super::spec::{AvsSpec, DigestSpec, IntakeSpec};

/// The tuple type of `IBLSSignatureChecker.NonSignerStakesAndSignature`, which a respond
/// function's signature may name by its struct name.
pub(crate) const NON_SIGNER_STAKES_AND_SIGNATURE: &str = "(uint32[],(uint256,uint256)[],(uint256,uint256)[],(uint256[2],uint256[2]),(uint256,uint256),uint32[],uint32[],uint32[][])";

/// Why a configuration was refused, or a task or response does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// A part of the configuration is wrong.
    #[error("avs configuration `{key}`: {reason}")]
    Config {
        /// The key (`task.event`, `respond.args[1]`, …).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A log or payload is not a task of this AVS.
    #[error("not a task of this AVS: {reason}")]
    Task {
        /// Why.
        reason: String,
    },
    /// A response is not this AVS's response to the task.
    #[error("response refused: {reason}")]
    Response {
        /// Why.
        reason: String,
    },
}

pub(crate) fn config_err(key: &str, reason: impl std::fmt::Display) -> ProfileError {
    ProfileError::Config {
        key: key.to_owned(),
        reason: reason.to_string(),
    }
}

/// The thresholds of a task: one for all quorums, or one per quorum.
#[derive(Clone, Debug)]
pub(crate) enum Thresholds {
    /// One percentage for every quorum.
    One(ValueRef),
    /// One percentage per quorum.
    PerQuorum(ValueRef),
}

/// A view call and its arguments.
#[derive(Clone, Debug)]
pub(crate) struct View {
    /// The function.
    pub(crate) function: Function,
    /// Its arguments.
    pub(crate) args: Vec<ValueRef>,
}

/// A compiled AVS configuration.
#[derive(Clone, Debug)]
pub struct AvsProfile {
    /// As written.
    pub(crate) spec: AvsSpec,
    /// The task-created event.
    pub(crate) event: Event,
    /// The event's parameters as a tuple (indexed dynamic ones as `bytes32`).
    pub(crate) task_shape: Shape,
    /// The task's on-chain id.
    pub(crate) id: ValueRef,
    /// The reference block.
    pub(crate) reference_block: ValueRef,
    /// The quorum numbers.
    pub(crate) quorum_numbers: ValueRef,
    /// The thresholds.
    pub(crate) thresholds: Thresholds,
    /// The response tuple.
    pub(crate) response_shape: Shape,
    /// Values a response must agree with.
    pub(crate) must_match: Vec<(ValueRef, ValueRef)>,
    /// The respond function.
    pub(crate) respond: Function,
    /// Its arguments.
    pub(crate) respond_args: Vec<ValueRef>,
    /// The answered-check view.
    pub(crate) answered: Option<View>,
    /// Custom errors decoded from reverts.
    pub(crate) errors: Vec<AbiError>,
}

fn parse_event(text: &str) -> Result<(Event, Shape), ProfileError> {
    let event = signature::parse_event(text).map_err(|e| config_err("task.event", e))?;
    let fields = event
        .inputs
        .iter()
        .map(|p| {
            let param = alloy::json_abi::Param {
                ty: p.ty.clone(),
                name: p.name.clone(),
                components: p.components.clone(),
                internal_type: p.internal_type.clone(),
            };
            let field = Field::from_param(&param).map_err(|e| config_err("task.event", e))?;
            // An indexed dynamic value is only its hash in the topic.
            let ty = param.resolve().map_err(|e| config_err("task.event", e))?;
            Ok(if p.indexed && ty.is_dynamic() {
                Field::plain(&p.name, DynSolType::FixedBytes(32))
            } else {
                field
            })
        })
        .collect::<Result<Vec<_>, ProfileError>>()?;
    Ok((event, Shape::new(fields)))
}

fn parse_function(key: &str, text: &str) -> Result<Function, ProfileError> {
    let expanded = text.replace(
        "NonSignerStakesAndSignature",
        NON_SIGNER_STAKES_AND_SIGNATURE,
    );
    signature::parse_function(&expanded).map_err(|e| config_err(key, e))
}

/// Resolves `args` against `function`'s inputs, type by type.
fn bind_args(
    key: &str,
    function: &Function,
    args: &[String],
    scope: &Scope<'_>,
) -> Result<Vec<ValueRef>, ProfileError> {
    if args.len() != function.inputs.len() {
        return Err(config_err(
            key,
            format!(
                "{} takes {} arguments, {} given",
                function.name,
                function.inputs.len(),
                args.len()
            ),
        ));
    }
    args.iter()
        .zip(&function.inputs)
        .enumerate()
        .map(|(i, (arg, param))| {
            let key = format!("{key}[{i}]");
            let value = ValueRef::parse(arg, scope).map_err(|e| config_err(&key, e))?;
            let want = param.resolve().map_err(|e| config_err(&key, e))?;
            if value.ty != want {
                return Err(config_err(
                    &key,
                    format!(
                        "`{arg}` is {} but parameter {i} of {} is {}",
                        value.ty.sol_type_name(),
                        function.name,
                        want.sol_type_name()
                    ),
                ));
            }
            Ok(value)
        })
        .collect()
}

fn require_type(
    key: &str,
    value: &ValueRef,
    ok: impl Fn(&DynSolType) -> bool,
    want: &str,
) -> Result<(), ProfileError> {
    if ok(&value.ty) {
        Ok(())
    } else {
        Err(config_err(
            key,
            format!(
                "`{}` is {}, expected {want}",
                value.text,
                value.ty.sol_type_name()
            ),
        ))
    }
}

/// Every intake limit within its documented range.
fn check_intake(i: &IntakeSpec) -> Result<(), ProfileError> {
    let within = |key: &str, value: u64, lo: u64, hi: u64| {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err(config_err(
                &format!("intake.{key}"),
                format!("must be in {lo}..={hi}, got {value}"),
            ))
        }
    };
    within("confirmations", i.confirmations, 0, 10_000)?;
    within("max_block_range", i.max_block_range, 1, 100_000)?;
    within("poll_interval_ms", i.poll_interval_ms, 10, 3_600_000)?;
    within("reorg_depth", i.reorg_depth, 1, 10_000)?;
    within("task_expiry_ms", i.task_expiry_ms, 1, 86_400_000)?;
    within("window_ms", i.window_ms, 0, 3_600_000)?;
    within(
        "max_logs_per_request",
        i.max_logs_per_request as u64,
        1,
        100_000,
    )
}

fn is_uint(ty: &DynSolType) -> bool {
    matches!(ty, DynSolType::Uint(_))
}

impl AvsProfile {
    /// Checks `spec`; `errors_abi` is the JSON ABI text of `respond.errors_abi`, read by the
    /// caller (paths are relative to the caller's file).
    pub fn compile(spec: AvsSpec, errors_abi: Option<&str>) -> Result<Self, ProfileError> {
        if let Some(intake) = &spec.intake {
            check_intake(intake)?;
        }
        if spec.sign_in_quorums.is_empty() || spec.sign_in_quorums.iter().any(|q| *q > 191) {
            return Err(config_err(
                "sign_in_quorums",
                "give one or more quorum numbers in 0..=191",
            ));
        }
        let (event, task_shape) = parse_event(&spec.task.event)?;
        let task_scope = Scope {
            event: &task_shape,
            response: None,
            signature: None,
        };
        let field = |key: &str, text: &str| {
            ValueRef::parse(&format!("event.{text}"), &task_scope).map_err(|e| config_err(key, e))
        };
        let id = field("task.id", &spec.task.id)?;
        require_type(
            "task.id",
            &id,
            |t| !t.is_dynamic(),
            "a static type (an integer, bytes32, address)",
        )?;
        let reference_block = field("task.reference_block", &spec.task.reference_block)?;
        require_type("task.reference_block", &reference_block, is_uint, "uint")?;
        let quorum_numbers = field("task.quorum_numbers", &spec.task.quorum_numbers)?;
        require_type(
            "task.quorum_numbers",
            &quorum_numbers,
            |t| *t == DynSolType::Bytes,
            "bytes",
        )?;
        let thresholds = match (&spec.task.threshold, &spec.task.thresholds) {
            (Some(one), None) => {
                let v = field("task.threshold", one)?;
                require_type("task.threshold", &v, is_uint, "uint")?;
                Thresholds::One(v)
            }
            (None, Some(per)) => {
                let v = field("task.thresholds", per)?;
                require_type(
                    "task.thresholds",
                    &v,
                    |t| match t {
                        DynSolType::Bytes => true,
                        DynSolType::Array(inner) | DynSolType::FixedArray(inner, _) => {
                            is_uint(inner)
                        }
                        _ => false,
                    },
                    "bytes or uint[]",
                )?;
                Thresholds::PerQuorum(v)
            }
            _ => {
                return Err(config_err(
                    "task.threshold",
                    "give exactly one of `threshold` and `thresholds`",
                ))
            }
        };

        let response_param = signature::parse_param(&format!("{} response", spec.response.ty))
            .map_err(|e| config_err("response.type", e))?;
        let response_shape = match response_param.resolve() {
            Ok(DynSolType::Tuple(_)) => Shape::new(
                response_param
                    .components
                    .iter()
                    .map(Field::from_param)
                    .collect::<Result<_, _>>()
                    .map_err(|e| config_err("response.type", e))?,
            ),
            _ => {
                return Err(config_err(
                    "response.type",
                    "must be a tuple with field names, e.g. `(uint32 taskIndex, bytes result)`",
                ));
            }
        };
        let signature_ty = DynSolType::parse(NON_SIGNER_STAKES_AND_SIGNATURE)
            .map_err(|e| config_err("respond.function", e))?;
        let full_scope = Scope {
            event: &task_shape,
            response: Some(&response_shape),
            signature: Some(&signature_ty),
        };
        let must_match = spec
            .response
            .must_match
            .iter()
            .enumerate()
            .map(|(i, [a, b])| {
                let key = format!("response.must_match[{i}]");
                let scope = Scope {
                    signature: None,
                    ..full_scope
                };
                let a = ValueRef::parse(a, &scope).map_err(|e| config_err(&key, e))?;
                let b = ValueRef::parse(b, &scope).map_err(|e| config_err(&key, e))?;
                if a.ty != b.ty {
                    return Err(config_err(
                        &key,
                        format!(
                            "`{}` is {} and `{}` is {}",
                            a.text,
                            a.ty.sol_type_name(),
                            b.text,
                            b.ty.sol_type_name()
                        ),
                    ));
                }
                Ok((a, b))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let respond = parse_function("respond.function", &spec.respond.function)?;
        let respond_args = bind_args("respond.args", &respond, &spec.respond.args, &full_scope)?;
        if !respond_args.iter().any(|a| a.text == "signature") {
            return Err(config_err(
                "respond.args",
                "the aggregate is never passed: name `signature` in one argument",
            ));
        }
        let answered = match &spec.respond.answered {
            Some(view) => {
                let function = parse_function("respond.answered.function", &view.function)?;
                let args = bind_args("respond.answered.args", &function, &view.args, &task_scope)?;
                Some(View { function, args })
            }
            None => None,
        };
        let mut errors = spec
            .respond
            .errors
            .iter()
            .enumerate()
            .map(|(i, e)| {
                signature::parse_error(e)
                    .map_err(|err| config_err(&format!("respond.errors[{i}]"), err))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(json) = errors_abi {
            let abi: JsonAbi =
                serde_json::from_str(json).map_err(|e| config_err("respond.errors_abi", e))?;
            errors.extend(abi.errors().cloned());
        }
        Ok(Self {
            spec,
            event,
            task_shape,
            id,
            reference_block,
            quorum_numbers,
            thresholds,
            response_shape,
            must_match,
            respond,
            respond_args,
            answered,
            errors,
        })
    }

    /// The configuration it was compiled from.
    pub fn spec(&self) -> &AvsSpec {
        &self.spec
    }

    /// The AVS contract (tasks come from it, responses go to it).
    pub fn task_manager(&self) -> Address {
        self.spec.contracts.task_manager
    }

    /// topic0 of the task-created event.
    pub fn event_topic(&self) -> B256 {
        self.event.selector()
    }

    /// The respond function's signature (`name(types)`), for logs.
    pub fn respond_signature(&self) -> String {
        self.respond.signature()
    }

    /// How responses are encoded for signing.
    pub fn digest(&self) -> DigestSpec {
        self.spec.response.digest
    }
}
