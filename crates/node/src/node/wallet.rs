//! Wallet sign-in: a server-built EIP-191 message with a single-use nonce, exchanged for an
//! HS256 JWT whose audience is the chain id. Replayed, expired or forged messages and tokens
//! are refused with `UNAUTHENTICATED`.

use std::collections::HashMap;
use std::sync::Mutex;

use alloy_primitives::Address;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::node::error::NodeError;
use crate::node::record::now_ms;

/// Claims of the node's JWTs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The signed-in address (lowercase 0x-hex).
    pub sub: String,
    /// The chain id, as a decimal string.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
}

struct Challenge {
    message: String,
    address: Address,
    chain_id: u64,
    expires_at_ms: u64,
}

/// Issues sign-in messages and JWTs, and checks JWTs.
pub struct WalletAuth {
    secret: Vec<u8>,
    chain_id: u64,
    message_ttl_ms: u64,
    token_ttl_ms: u64,
    challenges: Mutex<HashMap<String, Challenge>>,
    max_challenges: usize,
}

fn unauth(why: impl Into<String>) -> NodeError {
    NodeError::Unauthenticated(why.into())
}

impl WalletAuth {
    /// With an HMAC secret, the chain id tokens are for, and lifetimes.
    pub fn new(secret: Vec<u8>, chain_id: u64, message_ttl_ms: u64, token_ttl_ms: u64) -> Self {
        Self {
            secret,
            chain_id,
            message_ttl_ms,
            token_ttl_ms,
            challenges: Mutex::new(HashMap::new()),
            max_challenges: 100_000,
        }
    }

    /// A fresh message for `address` to sign: `(message, nonce, issued_ms, expires_ms)`.
    pub fn signing_message(
        &self,
        address: &str,
        chain_id: u64,
    ) -> Result<(String, String, u64, u64), NodeError> {
        let address: Address = quorate_api::parse_address(address)?;
        if chain_id != self.chain_id {
            return Err(NodeError::InvalidArgument(format!(
                "chain id {chain_id} is not this node's ({})",
                self.chain_id
            )));
        }
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let issued = now_ms();
        let expires = issued + self.message_ttl_ms;
        let message = format!(
            "quorate wants you to sign in with your Ethereum account:\n{address}\n\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {issued}\nExpiration Time: {expires}"
        );
        let mut challenges = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        challenges.retain(|_, c| c.expires_at_ms > issued);
        if challenges.len() >= self.max_challenges {
            return Err(NodeError::ResourceExhausted(
                "too many outstanding sign-in messages".into(),
            ));
        }
        challenges.insert(
            nonce.clone(),
            Challenge {
                message: message.clone(),
                address,
                chain_id,
                expires_at_ms: expires,
            },
        );
        Ok((message, nonce, issued, expires))
    }

    /// Checks a signed message (once: its nonce is consumed) and returns `(jwt, expires_ms)`.
    pub fn exchange(&self, message: &str, signature: &[u8]) -> Result<(String, u64), NodeError> {
        let nonce = quorate_api::sign_in_nonce(message)?;
        let challenge = self
            .challenges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(nonce)
            .ok_or_else(|| unauth(format!("nonce {nonce} unknown or already used")))?;
        let now = now_ms();
        if challenge.message != message {
            return Err(unauth(format!("message for nonce {nonce} was altered")));
        }
        if now >= challenge.expires_at_ms {
            return Err(unauth(format!("sign-in message {nonce} expired")));
        }
        let sig = quorate_api::sign_in_signature(signature)?;
        let signer = sig
            .recover_address_from_msg(message.as_bytes())
            .map_err(|e| unauth(format!("signature does not recover: {e}")))?;
        if signer != challenge.address {
            return Err(unauth(format!(
                "message signed by {signer}, not {}",
                challenge.address
            )));
        }
        let exp_ms = now + self.token_ttl_ms;
        let claims = Claims {
            sub: format!("{:#x}", challenge.address),
            aud: challenge.chain_id.to_string(),
            iat: now / 1000,
            exp: exp_ms / 1000,
        };
        Ok((self.encode(&claims)?, exp_ms))
    }

    fn mac(&self, data: &[u8]) -> Result<Vec<u8>, NodeError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// Signs claims as an HS256 JWT.
    pub fn encode(&self, claims: &Claims) -> Result<String, NodeError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body =
            serde_json::to_vec(claims).map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(body));
        let sig = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes())?);
        Ok(format!("{signing_input}.{sig}"))
    }

    /// Checks a JWT's signature, algorithm, audience and expiry; returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, NodeError> {
        let mut parts = token.split('.');
        let (Some(h), Some(b), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unauth("malformed token"));
        };
        let header = URL_SAFE_NO_PAD
            .decode(h)
            .map_err(|_| unauth("malformed token header"))?;
        let header: serde_json::Value =
            serde_json::from_slice(&header).map_err(|_| unauth("malformed token header"))?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(unauth("token algorithm must be HS256"));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| unauth("malformed token signature"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        mac.update(format!("{h}.{b}").as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| unauth("token signature is invalid"))?;
        let body = URL_SAFE_NO_PAD
            .decode(b)
            .map_err(|_| unauth("malformed token body"))?;
        let claims: Claims =
            serde_json::from_slice(&body).map_err(|_| unauth("malformed token claims"))?;
        if claims.aud != self.chain_id.to_string() {
            return Err(unauth(format!(
                "token audience {} is not chain {}",
                claims.aud, self.chain_id
            )));
        }
        if now_ms() / 1000 >= claims.exp {
            return Err(unauth(format!("token of {} expired", claims.sub)));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::SigningKey;

    fn personal_sign(key: &SigningKey, message: &str) -> Vec<u8> {
        let hash = alloy_primitives::eip191_hash_message(message.as_bytes());
        let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
        let mut out = sig.to_bytes().to_vec();
        out.push(27 + recid.to_byte());
        out
    }

    #[test]
    fn sign_in_once_then_replay_forgery_and_expiry_are_refused() {
        let auth = WalletAuth::new(b"secret".to_vec(), 31337, 60_000, 60_000);
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let address = Address::from_public_key(key.verifying_key());
        let (message, ..) = auth.signing_message(&address.to_string(), 31337).unwrap();
        let sig = personal_sign(&key, &message);
        let (jwt, _) = auth.exchange(&message, &sig).unwrap();
        let claims = auth.verify(&jwt).unwrap();
        assert_eq!(claims.sub, format!("{address:#x}"));
        assert_eq!(claims.aud, "31337");
        // Replay of the same signed message.
        assert!(matches!(
            auth.exchange(&message, &sig),
            Err(NodeError::Unauthenticated(_))
        ));
        // Signed by someone else.
        let (message, ..) = auth.signing_message(&address.to_string(), 31337).unwrap();
        let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
        assert!(matches!(
            auth.exchange(&message, &personal_sign(&other, &message)),
            Err(NodeError::Unauthenticated(_))
        ));
        // Forged token (other secret), wrong audience, expired.
        let forged = WalletAuth::new(b"other".to_vec(), 31337, 1, 60_000);
        assert!(auth.verify(&forged.encode(&claims).unwrap()).is_err());
        let wrong_aud = WalletAuth::new(b"secret".to_vec(), 1, 1, 60_000);
        assert!(wrong_aud.verify(&jwt).is_err());
        let expired = Claims { exp: 1, ..claims };
        assert!(auth.verify(&auth.encode(&expired).unwrap()).is_err());
        assert!(auth.signing_message(&address.to_string(), 5).is_err());
    }
}
