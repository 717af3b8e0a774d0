//! Two-phase aggregation for responses that carry measured data: **prepare** collects unsigned
//! responses until a count, a stake share or a deadline and computes their consensus (median
//! normalization); **commit** starts the task restricted to the consensus digest, so operators
//! sign the agreed document and ordinary aggregation follows.
//!
//! Library-only: the node does not expose it yet. The runtime knows nothing of it; this crate
//! is where the runtime and the consensus crate meet.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use quorate_consensus::{ConsensusConfig, Decimal, Tolerance};
//! use quorate_testkit::{config, fixture, task};
//! use quorate_two_phase::{PrepareRules, TwoPhaseAggregator};
//!
//! // Three operators with stake 10 each in quorum 0.
//! let f = fixture(&[&[(0, 10)], &[(0, 10)], &[(0, 10)]], config());
//! let two_phase = TwoPhaseAggregator::new(f.core.clone(), 16);
//! let rules = PrepareRules {
//!     min_responses: 3,
//!     min_stake_percent: None,
//!     deadline: Duration::from_secs(1),
//! };
//! let tolerance = ConsensusConfig::new(Tolerance::percent("1".parse::<Decimal>()?)?);
//! two_phase.open(task(1, &[(0, 67)]), rules, tolerance).await?;
//! for (op, price) in [(0, 3001.5), (1, 3000.25), (2, 3002.0)] {
//!     let response = serde_json::json!({ "eth_usd": price });
//!     two_phase.submit_response(1u32.into(), f.ids[op], response).await?;
//! }
//! let agreed = two_phase.wait_for_consensus(1u32.into(), Duration::from_secs(10)).await?;
//! // Operators now sign `agreed.consensus_digest`; the core aggregates as usual.
//! # let _ = agreed;
//! # Ok(())
//! # }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(demo())
//! # }
//! ```

// Every dependency in Cargo.toml is used (CI: clippy -D warnings).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use quorate_consensus::{
    normalize, ConsensusConfig, ConsensusError, ConsensusOutcome, OperatorResponse,
};
use quorate_domain::{
    AggregationError, OperatorId, OperatorRegistry, SignatureScheme, Stake, TaskId, TaskMetadata,
};
use thiserror::Error;
use tokio::sync::watch;
use tracing::{info, warn};

use quorate_domain::sync::lock;
use quorate_runtime::{AggregatorCore, OperatorSet};

/// Metric names of the prepare phase.
pub mod metric_names {
    /// Counter: prepare rounds decided, label `trigger` (`count`, `stake`, `deadline`).
    pub const ROUNDS: &str = "quorate_consensus_rounds_total";
    /// Counter: rounds decided before their deadline.
    pub const EARLY: &str = "quorate_consensus_early_total";
    /// Counter: rounds whose responses were identical (normalization skipped).
    pub const FAST_PATH: &str = "quorate_consensus_fast_path_total";
    /// Counter: numeric fields changed by normalization.
    pub const FIELDS_NORMALIZED: &str = "quorate_consensus_fields_normalized_total";
    /// Counter: rounds without consensus, label `reason`.
    pub const FAILURES: &str = "quorate_consensus_failures_total";
}

/// When the prepare phase stops collecting.
#[derive(Clone, Debug)]
pub struct PrepareRules {
    /// Decide as soon as this many operators responded.
    pub min_responses: usize,
    /// Or as soon as responders hold this share (percent) of the task quorums' total stake
    /// (summed over the quorums).
    pub min_stake_percent: Option<u8>,
    /// Or at this deadline, with whatever arrived (at least one response).
    pub deadline: Duration,
}

/// Why the prepare phase failed.
#[derive(Debug, Error, Clone)]
pub enum PrepareError {
    /// No prepare round for the task.
    #[error("task {task_id}: no prepare round")]
    UnknownTask {
        /// The task.
        task_id: TaskId,
    },
    /// A round for the task already exists.
    #[error("task {task_id}: prepare round already open")]
    DuplicateTask {
        /// The task.
        task_id: TaskId,
    },
    /// Too many rounds open at once.
    #[error("task {task_id}: {max} prepare rounds already open")]
    TooManyRounds {
        /// The task.
        task_id: TaskId,
        /// The configured maximum.
        max: usize,
    },
    /// The operator may not respond to this task.
    #[error("task {task_id}: operator {operator_id} is not in the task's quorums")]
    OperatorNotFound {
        /// The task.
        task_id: TaskId,
        /// The operator.
        operator_id: OperatorId,
    },
    /// The operator already responded.
    #[error("task {task_id}: operator {operator_id} already responded")]
    DuplicateResponse {
        /// The task.
        task_id: TaskId,
        /// The operator.
        operator_id: OperatorId,
    },
    /// The round is decided; the response came too late.
    #[error("task {task_id}: prepare phase already decided")]
    Closed {
        /// The task.
        task_id: TaskId,
    },
    /// The deadline passed with no response at all.
    #[error("task {task_id}: no responses before the deadline")]
    NoResponses {
        /// The task.
        task_id: TaskId,
    },
    /// The responses did not agree.
    #[error("task {task_id}: {source}")]
    Consensus {
        /// The task.
        task_id: TaskId,
        /// What disagreed.
        source: ConsensusError,
    },
    /// Waiting took longer than allowed.
    #[error("task {task_id}: timed out waiting for consensus")]
    Timeout {
        /// The task.
        task_id: TaskId,
    },
    /// Starting the commit phase failed.
    #[error(transparent)]
    Aggregation(#[from] AggregationError),
}

/// What a caller learns about one unsigned response.
#[derive(Clone, Debug)]
pub enum PrepareOutcome {
    /// Collected; the round is still open.
    Collected {
        /// Responses so far.
        responses: usize,
    },
    /// This response completed the round; consensus (if any) is available.
    Decided,
}

type Decision = Option<Result<Arc<ConsensusOutcome>, PrepareError>>;

struct Round<S: SignatureScheme> {
    metadata: TaskMetadata,
    rules: PrepareRules,
    config: ConsensusConfig,
    set: Arc<OperatorSet<S>>,
    responses: Vec<OperatorResponse>,
    seen: HashSet<OperatorId>,
    stake_sum: Stake,
    decided: bool,
    decision: watch::Sender<Decision>,
}

/// Runs prepare rounds in front of an [`AggregatorCore`].
pub struct TwoPhaseAggregator<S: SignatureScheme, R> {
    core: AggregatorCore<S, R>,
    rounds: Arc<DashMap<TaskId, Arc<Mutex<Round<S>>>>>,
    max_rounds: usize,
}

fn total_stake(set: &OperatorSet<impl SignatureScheme>) -> Stake {
    set.total_stakes
        .iter()
        .fold(Stake::ZERO, |a, s| a.saturating_add(*s))
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> TwoPhaseAggregator<S, R> {
    /// Wraps a core; at most `max_rounds` prepare rounds are kept (open or decided).
    pub fn new(core: AggregatorCore<S, R>, max_rounds: usize) -> Self {
        Self {
            core,
            rounds: Arc::new(DashMap::new()),
            max_rounds: max_rounds.max(1),
        }
    }

    /// The wrapped core (for the commit phase: signatures, waiting, submission).
    pub fn core(&self) -> &AggregatorCore<S, R> {
        &self.core
    }

    /// Opens the prepare phase of a task.
    pub async fn open(
        &self,
        metadata: TaskMetadata,
        rules: PrepareRules,
        config: ConsensusConfig,
    ) -> Result<(), PrepareError> {
        let task_id = metadata.task_id();
        if self.rounds.contains_key(&task_id) {
            return Err(PrepareError::DuplicateTask { task_id });
        }
        if self.rounds.len() >= self.max_rounds {
            // Forget decided rounds first; open ones are never evicted.
            self.rounds.retain(|_, r| !lock(r).decided);
            if self.rounds.len() >= self.max_rounds {
                return Err(PrepareError::TooManyRounds {
                    task_id,
                    max: self.max_rounds,
                });
            }
        }
        let set = self
            .core
            .operator_set(metadata.reference_block(), &metadata.quorum_numbers())
            .await
            .map_err(|source| AggregationError::Registry { task_id, source })?;
        let deadline = rules.deadline;
        let (decision, _) = watch::channel(None);
        let round = Arc::new(Mutex::new(Round {
            metadata,
            rules,
            config,
            set,
            responses: Vec::new(),
            seen: HashSet::new(),
            stake_sum: Stake::ZERO,
            decided: false,
            decision,
        }));
        match self.rounds.entry(task_id) {
            dashmap::Entry::Occupied(_) => return Err(PrepareError::DuplicateTask { task_id }),
            dashmap::Entry::Vacant(v) => {
                v.insert(Arc::clone(&round));
            }
        }
        let core = self.core.clone();
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            decide(&core, &round, "deadline").await;
        });
        Ok(())
    }

    /// Hands in one operator's unsigned response document.
    pub async fn submit_response(
        &self,
        task_id: TaskId,
        operator_id: OperatorId,
        document: serde_json::Value,
    ) -> Result<PrepareOutcome, PrepareError> {
        let round = self
            .rounds
            .get(&task_id)
            .map(|r| Arc::clone(r.value()))
            .ok_or(PrepareError::UnknownTask { task_id })?;
        let trigger = {
            let mut r = lock(&round);
            if r.decided {
                return Err(PrepareError::Closed { task_id });
            }
            let Some(pos) = r.set.position(&operator_id) else {
                return Err(PrepareError::OperatorNotFound {
                    task_id,
                    operator_id,
                });
            };
            if !r.seen.insert(operator_id) {
                return Err(PrepareError::DuplicateResponse {
                    task_id,
                    operator_id,
                });
            }
            let stake = r.set.operators.get(pos).map_or(Stake::ZERO, |o| {
                o.stakes
                    .iter()
                    .fold(Stake::ZERO, |a, s| a.saturating_add(*s))
            });
            r.stake_sum = r.stake_sum.saturating_add(stake);
            r.responses.push(OperatorResponse {
                operator: operator_id,
                stake: Some(stake),
                document,
            });
            let by_count = r.responses.len() >= r.rules.min_responses.max(1);
            let by_stake = r.rules.min_stake_percent.is_some_and(|p| {
                quorate_domain::QuorumThreshold::new(p)
                    .is_ok_and(|t| t.is_met(r.stake_sum, total_stake(&r.set)))
            });
            match (by_count, by_stake) {
                (true, _) => Some("count"),
                (_, true) => Some("stake"),
                _ => None,
            }
            .ok_or(r.responses.len())
        };
        match trigger {
            Err(responses) => Ok(PrepareOutcome::Collected { responses }),
            Ok(trigger) => {
                decide(&self.core, &round, trigger).await;
                Ok(PrepareOutcome::Decided)
            }
        }
    }

    /// Waits for the round's consensus. Once it is reached the commit phase is already running:
    /// operators sign `consensus_digest` and `core().wait_for_aggregation` gives the aggregate.
    pub async fn wait_for_consensus(
        &self,
        task_id: TaskId,
        timeout: Duration,
    ) -> Result<Arc<ConsensusOutcome>, PrepareError> {
        let mut rx = self
            .rounds
            .get(&task_id)
            .map(|r| lock(r.value()).decision.subscribe())
            .ok_or(PrepareError::UnknownTask { task_id })?;
        let waited = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(d)) => d.clone().unwrap_or(Err(PrepareError::Closed { task_id })),
            Ok(Err(_)) => Err(PrepareError::Closed { task_id }),
            Err(_) => Err(PrepareError::Timeout { task_id }),
        }
    }
}

/// Decides a round once: computes consensus and, on success, starts the commit phase.
async fn decide<S: SignatureScheme, R: OperatorRegistry<S>>(
    core: &AggregatorCore<S, R>,
    round: &Mutex<Round<S>>,
    trigger: &'static str,
) {
    let (metadata, result, sender) = {
        let mut r = lock(round);
        if r.decided {
            return;
        }
        r.decided = true;
        let task_id = r.metadata.task_id();
        let result = if r.responses.is_empty() {
            Err(PrepareError::NoResponses { task_id })
        } else {
            normalize(&r.responses, &r.config)
                .map_err(|source| PrepareError::Consensus { task_id, source })
        };
        (r.metadata.clone(), result, r.decision.clone())
    };
    let task_id = metadata.task_id();
    let decision = match result {
        Ok(outcome) => {
            metrics::counter!(metric_names::ROUNDS, "trigger" => trigger).increment(1);
            if trigger != "deadline" {
                metrics::counter!(metric_names::EARLY).increment(1);
            }
            if outcome.stats.fast_path {
                metrics::counter!(metric_names::FAST_PATH).increment(1);
            }
            metrics::counter!(metric_names::FIELDS_NORMALIZED)
                .increment(outcome.stats.fields_normalized as u64);
            info!(%task_id, trigger, digest = %outcome.consensus_digest, "consensus reached");
            let commit = metadata.with_expected_digest(outcome.consensus_digest);
            match core.initialize_task(commit).await {
                Ok(()) => Ok(Arc::new(outcome)),
                Err(e) => Err(PrepareError::Aggregation(e)),
            }
        }
        Err(e) => {
            let reason = match &e {
                PrepareError::NoResponses { .. } => "no_responses",
                PrepareError::Consensus {
                    source: ConsensusError::NoConsensus { .. },
                    ..
                } => "no_consensus",
                PrepareError::Consensus {
                    source: ConsensusError::BelowMinimum(_),
                    ..
                } => "below_minimum",
                _ => "invalid_input",
            };
            metrics::counter!(metric_names::FAILURES, "reason" => reason).increment(1);
            warn!(%task_id, trigger, error = %e, "no consensus");
            Err(e)
        }
    };
    sender.send_replace(Some(decision));
}
