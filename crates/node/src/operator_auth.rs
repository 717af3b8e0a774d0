//! Operator authentication. An operator asks for a challenge (a single-use, short-lived nonce),
//! signs [`quorate_api::operator_auth_digest`] over this node's id, the method, its id, the
//! nonce and the cursor with its registered BLS key, and gets a session token (HMAC-bound to its
//! id) that `SubmitSignedResponse` requires. So a captured proof cannot be replayed, used for
//! another call or cursor, or made in advance, and only the real operator can submit under
//! its id.

use crate::metrics::AuthRefusal;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use quorate_api::{operator_auth_digest, OperatorProof, ProofMethod};
use quorate_bls::Bn254Scheme;
use quorate_domain::{OperatorId, QuorumNumber, ResponseDigest, SignatureScheme};
use sha2::Sha256;
use tokio::sync::watch;

use crate::error::NodeError;
use crate::record::now_ms;
use crate::state::Core;
use quorate_domain::sync::lock;

/// The metadata header that carries an operator's session token.
pub const SESSION_HEADER: &str = "x-operator-session";

/// Limits of operator sign-in (all configurable; see `NodeConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorAuthLimits {
    /// How long a challenge nonce may be used, in ms.
    pub challenge_ttl_ms: u64,
    /// Challenges kept node-wide; a new one beyond this evicts the oldest (a flood must
    /// outpace an operator's round trip to cost it a sign-in).
    pub max_challenges: usize,
    /// Unused challenges kept per operator; a new one evicts the oldest, so nobody can lock an
    /// operator out by asking for challenges under its (public) id.
    pub max_challenges_per_operator: usize,
    /// How long a session token is valid, in ms.
    pub session_ttl_ms: u64,
}

/// One unused nonce.
#[derive(Clone, Copy, Debug)]
struct Outstanding {
    nonce: [u8; 32],
    expires_at_ms: u64,
}

/// Issued nonces. `issued` is in issue order, which is expiry order (the TTL is fixed), so
/// pruning pops from its front and never scans the whole set.
#[derive(Default)]
struct Challenges {
    by_operator: HashMap<OperatorId, VecDeque<Outstanding>>,
    issued: VecDeque<(u64, OperatorId, [u8; 32])>,
}

impl Challenges {
    /// Drops expired nonces, then the oldest ones while more than `max` are kept.
    fn prune(&mut self, now: u64, max: usize) {
        while let Some(&(expires, operator, nonce)) = self.issued.front() {
            if expires > now && self.issued.len() <= max {
                break;
            }
            self.issued.pop_front();
            self.forget(&operator, &nonce);
        }
    }

    /// Removes one nonce of `operator`; whether it was there.
    fn forget(&mut self, operator: &OperatorId, nonce: &[u8; 32]) -> Option<Outstanding> {
        let queue = self.by_operator.get_mut(operator)?;
        let found = queue
            .iter()
            .position(|o| &o.nonce == nonce)
            .and_then(|pos| queue.remove(pos));
        if queue.is_empty() {
            self.by_operator.remove(operator);
        }
        found
    }

    /// Removes the nonce if it was issued to `operator` and is unexpired.
    fn take(&mut self, operator: &OperatorId, nonce: &[u8; 32], now: u64) -> bool {
        self.forget(operator, nonce)
            .is_some_and(|o| o.expires_at_ms > now)
    }
}

/// A challenge as handed to an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The single-use nonce.
    pub nonce: [u8; 32],
    /// This node process's id (part of the signed digest).
    pub node_id: [u8; 32],
    /// When the nonce stops being accepted (Unix ms).
    pub expires_at_ms: u64,
}

/// Issues challenges, checks operator proofs against the registry at the sign-in block and
/// issues and checks session tokens.
pub struct OperatorAuth {
    /// The aggregator, whose cached operator sets are read.
    core: Core,
    /// The block sign-ins are checked at: in chain mode it follows the head, so an operator
    /// registered after start can sign in and a deregistered one no longer can.
    block: watch::Receiver<u64>,
    /// Quorums an operator may be in (any of them).
    quorums: Vec<QuorumNumber>,
    /// Challenge and session limits.
    limits: OperatorAuthLimits,
    /// Random per process: proofs and sessions are worthless at another node or after a
    /// restart (operators sign in again when they reconnect).
    node_id: [u8; 32],
    /// HMAC key of session tokens; random per process and never leaves it.
    session_key: [u8; 32],
    challenges: Mutex<Challenges>,
}

impl OperatorAuth {
    /// Operators must be registered at the current `block` in any of `quorums` (looked up
    /// through the aggregator's cached operator sets).
    pub fn new(
        core: Core,
        block: watch::Receiver<u64>,
        quorums: Vec<QuorumNumber>,
        limits: OperatorAuthLimits,
    ) -> Self {
        Self {
            core,
            block,
            quorums,
            limits,
            node_id: rand::random(),
            session_key: rand::random(),
            challenges: Mutex::new(Challenges::default()),
        }
    }

    /// The G2 key of a registered operator; `PermissionDenied` for anyone else.
    async fn registered_key(
        &self,
        operator_id: &OperatorId,
    ) -> Result<<Bn254Scheme as SignatureScheme>::G2PublicKey, NodeError> {
        let block = *self.block.borrow();
        let set = self
            .core
            .operator_set(block, &self.quorums)
            .await
            .map_err(|e| {
                // The registry's error text (RPC URLs, contract details) stays in the log: the
                // caller is not authenticated yet.
                tracing::warn!(error = %e, block, "operator set unavailable");
                NodeError::Unavailable("operator registry unavailable; retry".into())
            })?;
        set.position(operator_id)
            .and_then(|i| set.operators.get(i))
            .map(|entry| entry.pubkey_g2.clone())
            .ok_or_else(|| {
                NodeError::PermissionDenied(format!(
                    "operator {operator_id} is not registered at block {block}"
                ))
            })
    }

    /// A fresh nonce for a registered operator.
    pub async fn challenge(&self, operator_id: &OperatorId) -> Result<Challenge, NodeError> {
        self.registered_key(operator_id).await?;
        let now = now_ms();
        let expires_at_ms = now.saturating_add(self.limits.challenge_ttl_ms);
        let nonce: [u8; 32] = rand::random();
        let mut c = lock(&self.challenges);
        // Room for this one: expired and (beyond the bound) oldest nonces go first.
        c.prune(now, self.limits.max_challenges.max(1) - 1);
        c.issued.push_back((expires_at_ms, *operator_id, nonce));
        let queue = c.by_operator.entry(*operator_id).or_default();
        // The operator's oldest unused nonce makes room; its `issued` entry expires in turn.
        while queue.len() >= self.limits.max_challenges_per_operator.max(1) {
            queue.pop_front();
        }
        queue.push_back(Outstanding {
            nonce,
            expires_at_ms,
        });
        crate::metrics::operator_challenges(c.issued.len());
        Ok(Challenge {
            nonce,
            node_id: self.node_id,
            expires_at_ms,
        })
    }

    /// `Ok` when the proof is the registered operator's signature of the digest for this
    /// node, `method`, `cursor` and an unused, unexpired nonce issued to it. The nonce is spent
    /// first, so a replay costs no pairing; the pairing runs off the async workers.
    pub async fn check(
        &self,
        proof: &OperatorProof,
        method: ProofMethod,
        cursor: u64,
    ) -> Result<(), NodeError> {
        let operator_id = proof.operator_id;
        let taken = {
            let now = now_ms();
            let mut c = lock(&self.challenges);
            c.prune(now, self.limits.max_challenges.max(1));
            c.take(&operator_id, &proof.nonce, now)
        };
        if !taken {
            crate::metrics::operator_auth_refused(AuthRefusal::Nonce);
            return Err(NodeError::Unauthenticated(format!(
                "operator {operator_id}: auth nonce was not issued to it, is used or expired"
            )));
        }
        let key = self.registered_key(&operator_id).await?;
        let digest =
            operator_auth_digest(&self.node_id, method, &operator_id, &proof.nonce, cursor);
        let signature = proof.signature;
        let valid = tokio::task::spawn_blocking(move || {
            let scheme = Bn254Scheme;
            let message = scheme.hash_to_g1(&ResponseDigest::new(digest));
            scheme.verify(&message, &signature, &key)
        })
        .await
        .map_err(|e| NodeError::Unavailable(format!("auth check did not finish: {e}")))?;
        if !valid {
            crate::metrics::operator_auth_refused(AuthRefusal::Signature);
            return Err(NodeError::Unauthenticated(format!(
                "operator {operator_id}: auth signature does not verify for this node, method, \
                 nonce and cursor"
            )));
        }
        Ok(())
    }

    fn session_mac(
        &self,
        operator_id: &OperatorId,
        expires_at_ms: u64,
    ) -> Result<Hmac<Sha256>, NodeError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.session_key)
            .map_err(|e| NodeError::Unavailable(format!("session key: {e}")))?;
        mac.update(b"quorate-operator-session");
        mac.update(&self.node_id);
        mac.update(operator_id.as_bytes());
        mac.update(&expires_at_ms.to_be_bytes());
        Ok(mac)
    }

    /// A session token for an operator that just proved its key: hex of `operator id ‖
    /// expiry (u64 BE) ‖ HMAC-SHA256`.
    pub fn issue_session(&self, operator_id: &OperatorId) -> Result<String, NodeError> {
        let expires_at_ms = now_ms().saturating_add(self.limits.session_ttl_ms);
        let tag = self
            .session_mac(operator_id, expires_at_ms)?
            .finalize()
            .into_bytes();
        let mut raw = Vec::with_capacity(72);
        raw.extend_from_slice(operator_id.as_bytes());
        raw.extend_from_slice(&expires_at_ms.to_be_bytes());
        raw.extend_from_slice(&tag);
        Ok(hex::encode(raw))
    }

    /// `Ok` when `token` is an unexpired session this node issued to `operator_id`. The tag
    /// is compared in constant time.
    pub fn check_session(
        &self,
        token: Option<&str>,
        operator_id: &OperatorId,
    ) -> Result<(), NodeError> {
        let refuse = |why: &str| {
            crate::metrics::operator_auth_refused(AuthRefusal::Session);
            Err(NodeError::Unauthenticated(format!(
                "operator {operator_id}: {why}; sign in with SubscribeTasks or Ack and send the \
                 `{SESSION_HEADER}` header"
            )))
        };
        let Some(token) = token else {
            return refuse("no session token");
        };
        let raw = match hex::decode(token) {
            Ok(raw) if raw.len() == 72 => raw,
            _ => return refuse("malformed session token"),
        };
        let (id, rest) = raw.split_at(32);
        let (expiry, tag) = rest.split_at(8);
        let mut expiry_be = [0u8; 8];
        expiry_be.copy_from_slice(expiry);
        let expires_at_ms = u64::from_be_bytes(expiry_be);
        if id != operator_id.as_bytes() {
            return Err(NodeError::PermissionDenied(format!(
                "operator {operator_id}: the session token belongs to another operator"
            )));
        }
        if self
            .session_mac(operator_id, expires_at_ms)?
            .verify_slice(tag)
            .is_err()
        {
            return refuse("session token not issued by this node");
        }
        if expires_at_ms <= now_ms() {
            return refuse("session token expired");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> OperatorId {
        OperatorId::new([b; 32]).unwrap()
    }

    #[test]
    fn nonces_are_single_use_pruned_in_order_and_bounded_per_operator() {
        let mut c = Challenges::default();
        let n = |b: u8, expires: u64| Outstanding {
            nonce: [b; 32],
            expires_at_ms: expires,
        };
        for (b, e) in [(1u8, 10u64), (2, 20), (3, 30)] {
            c.issued.push_back((e, id(7), [b; 32]));
            c.by_operator.entry(id(7)).or_default().push_back(n(b, e));
        }
        assert!(!c.take(&id(8), &[1; 32], 0), "issued to another operator");
        assert!(c.take(&id(7), &[1; 32], 5));
        assert!(!c.take(&id(7), &[1; 32], 5), "single use");
        assert!(!c.take(&id(7), &[2; 32], 20), "expired");
        c.prune(0, 1);
        assert_eq!(c.issued.len(), 1, "bounded: the oldest go first");
        assert!(c.take(&id(7), &[3; 32], 25), "the newest is kept");
        c.prune(35, 10);
        assert!(c.issued.is_empty() && c.by_operator.is_empty());
    }
}
