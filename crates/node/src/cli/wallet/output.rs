//! The JSON the commands print: the proto's fields under their own (snake_case) names.

use std::collections::BTreeMap;

use quorate_api::pb;
use serde_json::{json, Value};

/// A wallet; `session` is `null` when no grant is stored, and `workflows_by_status` an object
/// sorted by status.
pub(super) fn wallet_info(w: &pb::WalletInfo) -> Value {
    let by_status: BTreeMap<_, _> = w.workflows_by_status.iter().collect();
    json!({
        "address": w.address,
        "salt": w.salt,
        "factory": w.factory,
        "owner": w.owner,
        "deployed": w.deployed,
        "workflows_by_status": by_status,
        "session": w.session.as_ref().map(session),
    })
}

/// A stored grant; `revoked_at_ms` is 0 while it is in force.
pub(super) fn session(s: &pb::SessionInfo) -> Value {
    json!({
        "wallet": s.wallet,
        "session_key": s.session_key,
        "valid_until": s.valid_until,
        "spend_limit": s.spend_limit,
        "authorized_at_ms": s.authorized_at_ms,
        "revoked_at_ms": s.revoked_at_ms,
    })
}

/// What a grant must name.
pub(super) fn session_key(k: &pb::SessionKeyResponse) -> Value {
    json!({
        "session_key": k.session_key,
        "chain_id": k.chain_id,
        "entry_point": k.entry_point,
        "default_factory": k.default_factory,
        "max_session_secs": k.max_session_secs,
    })
}
