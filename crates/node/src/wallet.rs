//! Wallet sign-in by EIP-4361 (Sign-In with Ethereum): the node builds the message (domain,
//! address, statement, URI, version 1, chain id, single-use nonce, issued-at, expiration),
//! the wallet signs it with EIP-191 `personal_sign`, and the node parses the signed text
//! strictly, checks every field against the nonce it issued, recovers the signer and returns
//! an HS256 JWT whose audience is the chain id. Replayed, expired, altered or forged messages
//! and tokens are refused with `UNAUTHENTICATED`. Sign-in can be off or limited to an
//! allow-list.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use alloy_primitives::Address;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::NodeError;
use crate::record::now_ms;
use crate::siwe::SiweMessage;
use quorate_domain::sync::lock;

/// Shortest HMAC secret accepted for JWTs: HS256 needs a key at least as long as its output.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

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

/// How wallet sign-in is configured.
#[derive(Debug, Clone)]
pub struct WalletSettings {
    /// Whether `GetSigningMessage`/`ExchangeToken` and wallet JWTs are accepted at all.
    pub enabled: bool,
    /// Chain id: in every message and the audience of every token.
    pub chain_id: u64,
    /// EIP-4361 domain (the authority the wallet shows the user).
    pub domain: String,
    /// EIP-4361 URI.
    pub uri: String,
    /// Only these addresses may sign in (empty: anyone).
    pub allowlist: HashSet<Address>,
    /// How long a message may be exchanged, in ms.
    pub message_ttl_ms: u64,
    /// How long a JWT is valid, in ms.
    pub token_ttl_ms: u64,
    /// Most sign-in messages outstanding at once.
    pub max_challenges: usize,
}

impl Default for WalletSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            chain_id: 31337,
            domain: "localhost".into(),
            uri: "http://localhost".into(),
            allowlist: HashSet::new(),
            message_ttl_ms: 5 * 60 * 1000,
            token_ttl_ms: 3600 * 1000,
            max_challenges: 100_000,
        }
    }
}

/// Issued, not yet exchanged messages: a map by nonce and, beside it, the nonces in issue
/// order. Every message lives the same TTL, so issue order is expiry order and expired ones
/// are pruned from the front of the queue without scanning the map.
#[derive(Default)]
struct Challenges {
    by_nonce: HashMap<String, SiweMessage>,
    by_expiry: VecDeque<(u64, String)>,
}

impl Challenges {
    fn prune(&mut self, now: u64) {
        while let Some((expires, _)) = self.by_expiry.front() {
            if *expires > now {
                break;
            }
            if let Some((_, nonce)) = self.by_expiry.pop_front() {
                self.by_nonce.remove(&nonce);
            }
        }
    }
}

/// Issues sign-in messages and JWTs, and checks JWTs.
pub struct WalletAuth {
    secret: Vec<u8>,
    settings: WalletSettings,
    challenges: Mutex<Challenges>,
}

fn unauth(why: impl Into<String>) -> NodeError {
    NodeError::Unauthenticated(why.into())
}

const STATEMENT: &str = "Sign in to the quorate aggregator node.";

impl WalletAuth {
    /// With an HMAC secret of at least [`MIN_JWT_SECRET_BYTES`] bytes.
    pub fn new(secret: Vec<u8>, settings: WalletSettings) -> Result<Self, NodeError> {
        if secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(NodeError::InvalidArgument(format!(
                "JWT secret has {} bytes; at least {MIN_JWT_SECRET_BYTES} are needed",
                secret.len()
            )));
        }
        Ok(Self {
            secret,
            settings,
            challenges: Mutex::new(Challenges::default()),
        })
    }

    /// Sign-in messages issued and not yet exchanged or pruned.
    #[cfg(test)]
    pub fn outstanding(&self) -> usize {
        lock(&self.challenges).by_nonce.len()
    }

    fn admit(&self, address: &Address) -> Result<(), NodeError> {
        if !self.settings.enabled {
            return Err(NodeError::PermissionDenied(
                "wallet sign-in is disabled on this node".into(),
            ));
        }
        if !self.settings.allowlist.is_empty() && !self.settings.allowlist.contains(address) {
            return Err(NodeError::PermissionDenied(format!(
                "{address} is not on this node's sign-in allow-list"
            )));
        }
        Ok(())
    }

    /// A fresh EIP-4361 message for `address` to sign: `(message, nonce, issued_ms, expires_ms)`.
    pub fn signing_message(
        &self,
        address: &str,
        chain_id: u64,
    ) -> Result<(String, String, u64, u64), NodeError> {
        let address: Address = quorate_api::parse_address(address)?;
        self.admit(&address)?;
        if chain_id != self.settings.chain_id {
            return Err(NodeError::InvalidArgument(format!(
                "chain id {chain_id} is not this node's ({})",
                self.settings.chain_id
            )));
        }
        let issued = now_ms();
        let message = SiweMessage {
            domain: self.settings.domain.clone(),
            address,
            statement: STATEMENT.into(),
            uri: self.settings.uri.clone(),
            version: 1,
            chain_id,
            nonce: hex::encode(rand::random::<[u8; 16]>()),
            issued_at_ms: issued,
            expiration_ms: issued.saturating_add(self.settings.message_ttl_ms),
        };
        let text = message.to_string();
        let mut challenges = lock(&self.challenges);
        challenges.prune(issued);
        if challenges.by_nonce.len() >= self.settings.max_challenges {
            return Err(NodeError::ResourceExhausted(
                "too many outstanding sign-in messages".into(),
            ));
        }
        let nonce = message.nonce.clone();
        let expires = message.expiration_ms;
        challenges.by_expiry.push_back((expires, nonce.clone()));
        challenges.by_nonce.insert(nonce.clone(), message);
        Ok((text, nonce, issued, expires))
    }

    /// Checks a signed message (once: its nonce is consumed) and returns `(jwt, expires_ms)`.
    pub fn exchange(&self, message: &str, signature: &[u8]) -> Result<(String, u64), NodeError> {
        if !self.settings.enabled {
            return Err(NodeError::PermissionDenied(
                "wallet sign-in is disabled on this node".into(),
            ));
        }
        let signed = SiweMessage::parse(message).map_err(|e| unauth(e.to_string()))?;
        let nonce = &signed.nonce;
        let issued = lock(&self.challenges)
            .by_nonce
            .remove(nonce)
            .ok_or_else(|| unauth(format!("nonce {nonce} unknown, expired or already used")))?;
        let now = now_ms();
        self.check_fields(&signed, &issued, now)?;
        let sig = quorate_api::sign_in_signature(signature)?;
        let signer = sig
            .recover_address_from_msg(message.as_bytes())
            .map_err(|e| unauth(format!("signature does not recover: {e}")))?;
        if signer != issued.address {
            return Err(unauth(format!(
                "message signed by {signer}, not {}",
                issued.address
            )));
        }
        self.admit(&signer)?;
        let exp_ms = now.saturating_add(self.settings.token_ttl_ms);
        let claims = Claims {
            sub: format!("{:#x}", issued.address),
            aud: issued.chain_id.to_string(),
            iat: now / 1000,
            exp: exp_ms / 1000,
        };
        Ok((self.encode(&claims)?, exp_ms))
    }

    /// Every field of the signed message against what the node issued under its nonce and
    /// against this node's settings.
    fn check_fields(
        &self,
        signed: &SiweMessage,
        issued: &SiweMessage,
        now: u64,
    ) -> Result<(), NodeError> {
        let nonce = &signed.nonce;
        let mismatch =
            |field: &str| unauth(format!("sign-in {nonce}: {field} is not the issued one"));
        if signed.domain != self.settings.domain || signed.domain != issued.domain {
            return Err(mismatch("domain"));
        }
        if signed.uri != self.settings.uri || signed.uri != issued.uri {
            return Err(mismatch("URI"));
        }
        if signed.chain_id != self.settings.chain_id || signed.chain_id != issued.chain_id {
            return Err(mismatch("chain id"));
        }
        if signed.address != issued.address {
            return Err(mismatch("address"));
        }
        if signed.statement != issued.statement {
            return Err(mismatch("statement"));
        }
        if signed.issued_at_ms != issued.issued_at_ms
            || signed.expiration_ms != issued.expiration_ms
        {
            return Err(mismatch("issued-at or expiration time"));
        }
        if now >= issued.expiration_ms {
            return Err(unauth(format!("sign-in message {nonce} expired")));
        }
        Ok(())
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
        if claims.aud != self.settings.chain_id.to_string() {
            return Err(unauth(format!(
                "token audience {} is not chain {}",
                claims.aud, self.settings.chain_id
            )));
        }
        // A token outlives a configuration change: re-check that its wallet may still sign in.
        let address = quorate_api::parse_address(&claims.sub)
            .map_err(|_| unauth("malformed token subject"))?;
        self.admit(&address).map_err(|e| unauth(e.to_string()))?;
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

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn personal_sign(key: &SigningKey, message: &str) -> Vec<u8> {
        let hash = alloy_primitives::eip191_hash_message(message.as_bytes());
        let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
        let mut out = sig.to_bytes().to_vec();
        out.push(27 + recid.to_byte());
        out
    }

    fn wallet(settings: WalletSettings) -> WalletAuth {
        WalletAuth::new(SECRET.to_vec(), settings).unwrap()
    }

    fn key_and_address(byte: u8) -> (SigningKey, Address) {
        let key = SigningKey::from_slice(&[byte; 32]).unwrap();
        let address = Address::from_public_key(key.verifying_key());
        (key, address)
    }

    #[test]
    fn sign_in_once_then_replay_forgery_and_expiry_are_refused() {
        let auth = wallet(WalletSettings::default());
        let (key, address) = key_and_address(7);
        let (message, ..) = auth.signing_message(&address.to_string(), 31337).unwrap();
        assert!(message.starts_with("localhost wants you to sign in"));
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
        let (other, _) = key_and_address(9);
        assert!(matches!(
            auth.exchange(&message, &personal_sign(&other, &message)),
            Err(NodeError::Unauthenticated(_))
        ));
        // Forged token (other secret), wrong audience, expired.
        let forged = WalletAuth::new([1u8; 32].to_vec(), WalletSettings::default()).unwrap();
        assert!(auth.verify(&forged.encode(&claims).unwrap()).is_err());
        let wrong_aud = wallet(WalletSettings {
            chain_id: 1,
            ..WalletSettings::default()
        });
        assert!(wrong_aud.verify(&jwt).is_err());
        let expired = Claims { exp: 1, ..claims };
        assert!(auth.verify(&auth.encode(&expired).unwrap()).is_err());
        assert!(auth.signing_message(&address.to_string(), 5).is_err());
    }

    #[test]
    fn short_jwt_secrets_are_refused() {
        let short = WalletAuth::new(b"secret".to_vec(), WalletSettings::default());
        assert!(matches!(short, Err(NodeError::InvalidArgument(m)) if m.contains("32")));
    }

    #[test]
    fn fields_altered_before_signing_are_refused() {
        let auth = wallet(WalletSettings::default());
        let (key, address) = key_and_address(7);
        for (from, to) in [
            ("localhost wants", "evil.example wants"),
            ("URI: http://localhost", "URI: http://evil.example"),
            ("Chain ID: 31337", "Chain ID: 1"),
            ("Expiration Time: 2", "Expiration Time: 3"),
        ] {
            let (message, ..) = auth.signing_message(&address.to_string(), 31337).unwrap();
            let altered = message.replacen(from, to, 1);
            assert_ne!(altered, message);
            let err = auth.exchange(&altered, &personal_sign(&key, &altered));
            assert!(
                matches!(err, Err(NodeError::Unauthenticated(_))),
                "{from}: {err:?}"
            );
        }
    }

    #[test]
    fn disabled_and_allow_listed_sign_in() {
        let (_, address) = key_and_address(7);
        let (key8, other) = key_and_address(8);
        let off = wallet(WalletSettings {
            enabled: false,
            ..WalletSettings::default()
        });
        assert!(matches!(
            off.signing_message(&address.to_string(), 31337),
            Err(NodeError::PermissionDenied(_))
        ));
        let listed = wallet(WalletSettings {
            allowlist: [address].into_iter().collect(),
            ..WalletSettings::default()
        });
        assert!(listed.signing_message(&address.to_string(), 31337).is_ok());
        assert!(matches!(
            listed.signing_message(&other.to_string(), 31337),
            Err(NodeError::PermissionDenied(_))
        ));
        // A token of a wallet not on the list (same secret, other config) is refused.
        let open = wallet(WalletSettings::default());
        let (m, ..) = open.signing_message(&other.to_string(), 31337).unwrap();
        let (jwt, _) = open.exchange(&m, &personal_sign(&key8, &m)).unwrap();
        assert!(matches!(
            listed.verify(&jwt),
            Err(NodeError::Unauthenticated(_))
        ));
    }

    #[test]
    fn expired_messages_are_pruned_from_the_front() {
        let auth = wallet(WalletSettings {
            message_ttl_ms: 0,
            max_challenges: 3,
            ..WalletSettings::default()
        });
        let (_, address) = key_and_address(7);
        // Each message expires at once, so issuing never hits the cap: the old ones are gone.
        for _ in 0..10 {
            auth.signing_message(&address.to_string(), 31337).unwrap();
            assert!(auth.outstanding() <= 1);
        }
        let capped = wallet(WalletSettings {
            max_challenges: 2,
            ..WalletSettings::default()
        });
        for _ in 0..2 {
            capped.signing_message(&address.to_string(), 31337).unwrap();
        }
        assert!(matches!(
            capped.signing_message(&address.to_string(), 31337),
            Err(NodeError::ResourceExhausted(_))
        ));
    }
}
