//! `OperatorService` requests: signed responses and operators' proofs of key.

use quorate_bls::Signature;
use quorate_domain::{OperatorId, ResponseDigest, TaskId};
use sha3::{Digest, Keccak256};

use crate::error::RequestError;
use crate::ids::{parse_operator_id, parse_task_id};
use crate::pb;

/// A `SignedResponse` that passed every check that needs no node state: ids, digest length,
/// response size, `digest == keccak256(response)` (when a response is given) and a canonical,
/// on-curve, non-identity G1 signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureSubmission {
    /// The task signed.
    pub task_id: TaskId,
    /// The signer.
    pub operator_id: OperatorId,
    /// The message signed.
    pub digest: ResponseDigest,
    /// The BLS signature.
    pub signature: Signature,
    /// The operator's response (may be empty: then only the digest is known).
    pub response: Vec<u8>,
}

impl SignatureSubmission {
    /// Validates a `SignedResponse` whose response may be at most `max_response_bytes` long.
    pub fn decode(
        req: pb::SignedResponse,
        max_response_bytes: usize,
    ) -> Result<Self, RequestError> {
        let task_id = parse_task_id(&req.task_id)?;
        let operator_id = parse_operator_id(&req.operator_id)?;
        let digest: [u8; 32] =
            req.digest
                .as_slice()
                .try_into()
                .map_err(|_| RequestError::DigestLength {
                    task_id,
                    operator_id,
                    got: req.digest.len(),
                })?;
        if req.response.len() > max_response_bytes {
            return Err(RequestError::ResponseTooLarge {
                task_id,
                operator_id,
                got: req.response.len(),
                max: max_response_bytes,
            });
        }
        if !req.response.is_empty() && <[u8; 32]>::from(Keccak256::digest(&req.response)) != digest
        {
            return Err(RequestError::DigestMismatch {
                task_id,
                operator_id,
            });
        }
        let signature =
            Signature::from_bytes(&req.signature).map_err(|reason| RequestError::BadSignature {
                task_id,
                operator_id,
                reason,
            })?;
        Ok(Self {
            task_id,
            operator_id,
            digest: ResponseDigest::new(digest),
            signature,
            response: req.response,
        })
    }

    /// The wire form (the signature in its 64-byte encoding).
    pub fn to_wire(&self) -> pb::SignedResponse {
        pb::SignedResponse {
            task_id: self.task_id.as_bytes().to_vec(),
            operator_id: self.operator_id.as_bytes().to_vec(),
            digest: self.digest.as_bytes().to_vec(),
            signature: self.signature.to_bytes().to_vec(),
            response: self.response.clone(),
        }
    }
}

/// An operator's claim to its registered key: a BLS signature over the challenge for
/// `issued_at_ms` (checked against the registry by the node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorProof {
    /// The operator.
    pub operator_id: OperatorId,
    /// When the proof was made (Unix ms).
    pub issued_at_ms: u64,
    /// The signature over the challenge.
    pub signature: Signature,
}

impl OperatorProof {
    /// Decodes the id and signature fields shared by `SubscribeTasksRequest` and `AckRequest`.
    pub fn decode(
        operator_id: &[u8],
        issued_at_ms: u64,
        auth_signature: &[u8],
    ) -> Result<Self, RequestError> {
        let operator_id = parse_operator_id(operator_id)?;
        let signature = Signature::from_bytes(auth_signature).map_err(|reason| {
            RequestError::BadAuthSignature {
                operator_id,
                reason,
            }
        })?;
        Ok(Self {
            operator_id,
            issued_at_ms,
            signature,
        })
    }
}

/// A `SubscribeTasksRequest` or an `AckRequest`: a proof of key and a cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Who asks.
    pub proof: OperatorProof,
    /// Subscribe: tasks after this sequence number (0: the stored cursor). Ack: handled up to it.
    pub cursor: u64,
}

impl Subscription {
    /// Validates a `SubscribeTasksRequest`.
    pub fn decode_subscribe(req: &pb::SubscribeTasksRequest) -> Result<Self, RequestError> {
        Ok(Self {
            proof: OperatorProof::decode(&req.operator_id, req.issued_at_ms, &req.auth_signature)?,
            cursor: req.cursor,
        })
    }

    /// Validates an `AckRequest`.
    pub fn decode_ack(req: &pb::AckRequest) -> Result<Self, RequestError> {
        Ok(Self {
            proof: OperatorProof::decode(&req.operator_id, req.issued_at_ms, &req.auth_signature)?,
            cursor: req.cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorate_bls::KeyPair;
    use quorate_domain::PointDecodingError;

    fn key() -> KeyPair {
        KeyPair::from_secret_str("123456789").unwrap()
    }

    fn signed(response: &[u8]) -> pb::SignedResponse {
        let digest: [u8; 32] = Keccak256::digest(response).into();
        pb::SignedResponse {
            task_id: [1; 32].to_vec(),
            operator_id: [2; 32].to_vec(),
            digest: digest.to_vec(),
            signature: key().sign(&digest).to_bytes().to_vec(),
            response: response.to_vec(),
        }
    }

    #[test]
    fn a_valid_signed_response_round_trips() {
        let req = signed(b"forty-two");
        let s = SignatureSubmission::decode(req.clone(), 9).unwrap();
        assert_eq!(s.to_wire(), req);
        assert_eq!(s.digest.as_bytes().as_slice(), req.digest.as_slice());
        // Boundary: exactly the limit is accepted; an empty response skips the digest check.
        assert!(SignatureSubmission::decode(req.clone(), 9).is_ok());
        let mut no_response = req;
        no_response.response.clear();
        no_response.digest = vec![9; 32];
        assert!(SignatureSubmission::decode(no_response, 0).is_ok());
    }

    #[test]
    fn each_broken_field_has_its_own_error() {
        let mut m = signed(b"r");
        m.task_id.pop();
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::IdLength { got: 31, .. })
        ));
        let mut m = signed(b"r");
        m.operator_id = vec![0; 32];
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::ZeroId { .. })
        ));
        let mut m = signed(b"r");
        m.digest.push(0);
        let e = SignatureSubmission::decode(m, 100).unwrap_err();
        assert!(
            matches!(e, RequestError::DigestLength { got: 33, .. }),
            "{e:?}"
        );
        assert!(e
            .to_string()
            .starts_with(&format!("task 0x{}", "01".repeat(32))));
        assert!(e
            .to_string()
            .contains(&format!("operator 0x{}", "02".repeat(32))));
        // Oversized: one byte over the limit.
        let m = signed(b"0123456789");
        assert!(matches!(
            SignatureSubmission::decode(m, 9),
            Err(RequestError::ResponseTooLarge {
                got: 10,
                max: 9,
                ..
            })
        ));
        let mut m = signed(b"r");
        m.response = b"other".to_vec();
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::DigestMismatch { .. })
        ));
        let mut m = signed(b"r");
        m.signature.truncate(10);
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::BadSignature {
                reason: PointDecodingError::WrongLength {
                    expected: 64,
                    got: 10
                },
                ..
            })
        ));
        let mut m = signed(b"r");
        m.signature = vec![0; 64];
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::BadSignature {
                reason: PointDecodingError::Identity,
                ..
            })
        ));
        let mut m = signed(b"r");
        m.signature = vec![0xff; 64];
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::BadSignature {
                reason: PointDecodingError::NonCanonical { .. },
                ..
            })
        ));
        let mut m = signed(b"r");
        m.signature[63] ^= 1;
        assert!(matches!(
            SignatureSubmission::decode(m, 100),
            Err(RequestError::BadSignature {
                reason: PointDecodingError::NotOnCurve,
                ..
            })
        ));
    }

    #[test]
    fn operator_proofs_decode_or_name_the_operator() {
        let sig = key().sign(&[5; 32]).to_bytes().to_vec();
        let req = pb::SubscribeTasksRequest {
            operator_id: vec![3; 32],
            cursor: 9,
            issued_at_ms: 1_000,
            auth_signature: sig.clone(),
        };
        let s = Subscription::decode_subscribe(&req).unwrap();
        assert_eq!(s.cursor, 9);
        assert_eq!(s.proof.issued_at_ms, 1_000);
        assert_eq!(s.proof.signature.to_bytes().to_vec(), sig);
        let ack = pb::AckRequest {
            operator_id: vec![3; 32],
            cursor: 4,
            issued_at_ms: 1,
            auth_signature: vec![1; 63],
        };
        let e = Subscription::decode_ack(&ack).unwrap_err();
        assert!(e.is_authentication());
        assert!(e
            .to_string()
            .starts_with(&format!("operator 0x{}", "03".repeat(32))));
        let ack = pb::AckRequest {
            operator_id: vec![3; 2],
            ..ack
        };
        let e = Subscription::decode_ack(&ack).unwrap_err();
        assert!(!e.is_authentication());
        assert!(matches!(e, RequestError::IdLength { got: 2, .. }));
    }
}
