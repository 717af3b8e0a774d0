//! Operator-path limits of `quorate node`: sign-in challenges and sessions, task streams per
//! operator and stored equivocation evidence. Each flag has a TOML key of the same name
//! (underscores) and a `QUORATE_*` variable; defaults are in `NodeConfig::default`.

use crate::config::NodeConfig;
use crate::operator_auth::OperatorAuthLimits;

/// Flags of the operator path.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OperatorLimitArgs {
    /// How long an operator sign-in nonce may be used, in ms [default: 30000].
    #[arg(long, env = "QUORATE_OPERATOR_CHALLENGE_TTL_MS")]
    pub operator_challenge_ttl_ms: Option<u64>,
    /// Sign-in nonces kept node-wide; beyond it the oldest is dropped [default: 10000].
    #[arg(long, env = "QUORATE_MAX_OPERATOR_CHALLENGES")]
    pub max_operator_challenges: Option<usize>,
    /// Unused sign-in nonces kept per operator; beyond it the oldest is dropped [default: 4].
    #[arg(long, env = "QUORATE_MAX_CHALLENGES_PER_OPERATOR")]
    pub max_challenges_per_operator: Option<usize>,
    /// How long an operator session token (for SubmitSignedResponse) is valid, in ms
    /// [default: 3600000].
    #[arg(long, env = "QUORATE_OPERATOR_SESSION_TTL_MS")]
    pub operator_session_ttl_ms: Option<u64>,
    /// Most SubscribeTasks streams one operator may hold open; 0: no limit [default: 4].
    #[arg(long, env = "QUORATE_MAX_STREAMS_PER_OPERATOR")]
    pub max_streams_per_operator: Option<usize>,
    /// Equivocation records kept; beyond it the oldest is deleted [default: 100000].
    #[arg(long, env = "QUORATE_MAX_EQUIVOCATIONS")]
    pub max_equivocations: Option<u64>,
}

impl OperatorLimitArgs {
    /// Puts the flags given over `c`.
    pub fn apply(&self, c: &mut NodeConfig) {
        macro_rules! over {
            ($($f:ident),*) => {$( if let Some(v) = self.$f { c.$f = v; } )*};
        }
        over!(
            operator_challenge_ttl_ms,
            max_operator_challenges,
            max_challenges_per_operator,
            operator_session_ttl_ms,
            max_streams_per_operator,
            max_equivocations
        );
    }
}

/// The sign-in limits of a configuration.
pub fn auth_limits(c: &NodeConfig) -> OperatorAuthLimits {
    OperatorAuthLimits {
        challenge_ttl_ms: c.operator_challenge_ttl_ms,
        max_challenges: c.max_operator_challenges,
        max_challenges_per_operator: c.max_challenges_per_operator,
        session_ttl_ms: c.operator_session_ttl_ms,
    }
}
