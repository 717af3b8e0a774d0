//! `AuthService` requests: wallet sign-in.

use alloy_primitives::{Address, Signature};

use crate::error::RequestError;
use crate::pb;

/// A 20-byte address, `0x`-prefixed or bare hex (any case).
pub fn parse_address(address: &str) -> Result<Address, RequestError> {
    address.parse().map_err(|reason| RequestError::BadAddress {
        address: address.to_string(),
        reason,
    })
}

/// The nonce of a sign-in message: the text after the first `Nonce: ` line prefix.
pub fn sign_in_nonce(message: &str) -> Result<&str, RequestError> {
    message
        .lines()
        .find_map(|l| l.strip_prefix("Nonce: "))
        .ok_or(RequestError::MissingNonce)
}

/// An EIP-191 signature: 65 bytes `r ‖ s ‖ v`, `v` in {0, 1, 27, 28} or EIP-155 form.
pub fn sign_in_signature(bytes: &[u8]) -> Result<Signature, RequestError> {
    Signature::from_raw(bytes).map_err(|reason| RequestError::BadWalletSignature { reason })
}

/// A `SigningMessageRequest` with its address parsed. Whether the chain id is the node's is
/// the node's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningMessageQuery {
    /// The wallet.
    pub address: Address,
    /// The chain the token is for.
    pub chain_id: u64,
}

impl SigningMessageQuery {
    /// Validates a `SigningMessageRequest`.
    pub fn decode(req: &pb::SigningMessageRequest) -> Result<Self, RequestError> {
        Ok(Self {
            address: parse_address(&req.address)?,
            chain_id: req.chain_id,
        })
    }
}

/// An `ExchangeTokenRequest` with its nonce found and signature parsed (recovery and the nonce
/// check are the node's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenExchange<'a> {
    /// The signed message.
    pub message: &'a str,
    /// Its nonce.
    pub nonce: &'a str,
    /// The wallet's signature.
    pub signature: Signature,
}

impl<'a> TokenExchange<'a> {
    /// Validates an `ExchangeTokenRequest`.
    pub fn decode(req: &'a pb::ExchangeTokenRequest) -> Result<Self, RequestError> {
        Ok(Self {
            message: &req.message,
            nonce: sign_in_nonce(&req.message)?,
            signature: sign_in_signature(&req.signature)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::SignatureError;

    #[test]
    fn addresses_parse_with_or_without_prefix() {
        let a = parse_address("0x00000000000000000000000000000000000000aB").unwrap();
        assert_eq!(
            a,
            parse_address("00000000000000000000000000000000000000ab").unwrap()
        );
        assert_eq!(parse_address(&a.to_string()).unwrap(), a);
        for bad in [
            "",
            "0x",
            "0x1234",
            &format!("0x{}", "a".repeat(42)),
            "0xzz00000000000000000000000000000000000000",
        ] {
            let e = parse_address(bad).unwrap_err();
            assert!(matches!(&e, RequestError::BadAddress { address, .. } if address == bad));
            assert!(e.to_string().starts_with(&format!("address {bad:?}: ")));
        }
        let q = SigningMessageQuery::decode(&pb::SigningMessageRequest {
            address: a.to_string(),
            chain_id: 7,
        })
        .unwrap();
        assert_eq!((q.address, q.chain_id), (a, 7));
    }

    /// Fuzz regression (grpc_requests, crash-921dc00f): `0X` is accepted as a prefix like
    /// `0x`, so a valid address is 40 hex digits after `0x`, `0X` or nothing.
    #[test]
    fn an_upper_case_prefix_is_accepted() {
        let lower = parse_address("0x70997970c51812dc3a010c7d01b50e0d17dc79c8").unwrap();
        assert_eq!(
            parse_address("0X70997970C51812dc3A010C7d01b50e0d17dc79C8").unwrap(),
            lower
        );
        assert!(matches!(
            parse_address("0X70997970C51812dc3A010C7d01d01b50e0d17dC8"),
            Ok(a) if a != lower
        ));
        assert!(parse_address("0x0X70997970C51812dc3A010C7d01b50e0d17dc79").is_err());
    }

    #[test]
    fn nonces_and_signatures() {
        assert_eq!(sign_in_nonce("a\nNonce: abc\nNonce: def").unwrap(), "abc");
        assert_eq!(sign_in_nonce("Nonce: ").unwrap(), "");
        assert!(matches!(
            sign_in_nonce("nonce: x"),
            Err(RequestError::MissingNonce)
        ));
        let mut raw = [1u8; 65];
        raw[64] = 28;
        let sig = sign_in_signature(&raw).unwrap();
        assert_eq!(sig.as_bytes(), raw);
        assert!(matches!(
            sign_in_signature(&raw[..64]),
            Err(RequestError::BadWalletSignature {
                reason: SignatureError::FromBytes(_)
            })
        ));
        raw[64] = 29;
        assert!(matches!(
            sign_in_signature(&raw),
            Err(RequestError::BadWalletSignature {
                reason: SignatureError::InvalidParity(29)
            })
        ));
        raw[64] = 27;
        let req = pb::ExchangeTokenRequest {
            message: "hello\nNonce: n1".into(),
            signature: raw.to_vec(),
        };
        let t = TokenExchange::decode(&req).unwrap();
        assert_eq!((t.message, t.nonce), (req.message.as_str(), "n1"));
        assert_eq!(t.signature.as_bytes(), raw);
    }
}
