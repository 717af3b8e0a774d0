//! `OperatorService` requests: signed responses and operators' proofs of key.

use quorate_bls::Signature;
use quorate_domain::{OperatorId, ResponseDigest, TaskId};
use sha3::{Digest, Keccak256};

use crate::error::RequestError;
use crate::ids::{parse_operator_id, parse_task_id};
use crate::pb;

/// A `SignedResponse` that passed every check that needs no node state: ids, digest length,
/// a non-empty response within the size limit, `digest == keccak256(response)` and a
/// canonical, on-curve, non-identity G1 signature.
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
    /// The operator's response (never empty: it is the payload submitted with the aggregate).
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
        if req.response.is_empty() {
            return Err(RequestError::EmptyResponse {
                task_id,
                operator_id,
            });
        }
        if <[u8; 32]>::from(Keccak256::digest(&req.response)) != digest {
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

/// The operator-service call a proof of key is made for. It is part of what the operator
/// signs, so a proof made for one call cannot be used for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ProofMethod {
    /// `SubscribeTasks`.
    SubscribeTasks = 1,
    /// `Ack`.
    Ack = 2,
}

/// Domain tag of the operator proof digest: keeps it apart from every other message an
/// operator's BLS key signs (task responses are keccak256 of ABI data, never prefixed so).
pub const OPERATOR_AUTH_TAG: &[u8] = b"quorate-operator-auth-v2";

/// The digest an operator signs to prove its key for one call: keccak256(tag ‖ node id ‖
/// method ‖ operator id ‖ nonce ‖ cursor as u64 big-endian). Binding the node, the method, the
/// cursor and a server-issued single-use nonce makes a captured proof worthless elsewhere.
pub fn operator_auth_digest(
    node_id: &[u8; 32],
    method: ProofMethod,
    operator_id: &OperatorId,
    nonce: &[u8; 32],
    cursor: u64,
) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(OPERATOR_AUTH_TAG);
    h.update(node_id);
    h.update([method as u8]);
    h.update(operator_id.as_bytes());
    h.update(nonce);
    h.update(cursor.to_be_bytes());
    h.finalize().into()
}

/// An operator's claim to its registered key: a BLS signature over
/// [`operator_auth_digest`] for a nonce the node issued (checked by the node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorProof {
    /// The operator.
    pub operator_id: OperatorId,
    /// The nonce from `GetOperatorChallenge`.
    pub nonce: [u8; 32],
    /// The signature over the proof digest.
    pub signature: Signature,
}

impl OperatorProof {
    /// Decodes the id, nonce and signature fields shared by `SubscribeTasksRequest` and
    /// `AckRequest`.
    pub fn decode(
        operator_id: &[u8],
        nonce: &[u8],
        auth_signature: &[u8],
    ) -> Result<Self, RequestError> {
        let operator_id = parse_operator_id(operator_id)?;
        let nonce: [u8; 32] = nonce.try_into().map_err(|_| RequestError::BadAuthNonce {
            operator_id,
            got: nonce.len(),
        })?;
        let signature = Signature::from_bytes(auth_signature).map_err(|reason| {
            RequestError::BadAuthSignature {
                operator_id,
                reason,
            }
        })?;
        Ok(Self {
            operator_id,
            nonce,
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
            proof: OperatorProof::decode(&req.operator_id, &req.nonce, &req.auth_signature)?,
            cursor: req.cursor,
        })
    }

    /// Validates an `AckRequest`.
    pub fn decode_ack(req: &pb::AckRequest) -> Result<Self, RequestError> {
        Ok(Self {
            proof: OperatorProof::decode(&req.operator_id, &req.nonce, &req.auth_signature)?,
            cursor: req.cursor,
        })
    }
}

/// Validates an `OperatorChallengeRequest`: the operator a nonce is asked for.
pub fn decode_challenge_request(
    req: &pb::OperatorChallengeRequest,
) -> Result<OperatorId, RequestError> {
    parse_operator_id(&req.operator_id)
}

/// A `ListEquivocationsRequest` with its page token and limit decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EquivocationQuery {
    /// Records with a sequence number above this.
    pub after: u64,
    /// Page size: `1..=MAX_LIST_LIMIT`.
    pub limit: u32,
}

impl EquivocationQuery {
    /// Validates a `ListEquivocationsRequest` (the same page rules as `ListTasks`).
    pub fn decode(req: &pb::ListEquivocationsRequest) -> Result<Self, RequestError> {
        let after = if req.page_token.is_empty() {
            0
        } else {
            req.page_token
                .parse::<u64>()
                .map_err(|_| RequestError::BadPageToken {
                    token: req.page_token.clone(),
                })?
        };
        let limit = match req.limit {
            0 => crate::task::DEFAULT_LIST_LIMIT,
            n => n.min(crate::task::MAX_LIST_LIMIT),
        };
        Ok(Self { after, limit })
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
        // Boundary: exactly the limit is accepted; an empty response never is.
        assert!(SignatureSubmission::decode(req.clone(), 9).is_ok());
        let mut no_response = req;
        no_response.response.clear();
        no_response.digest = Keccak256::digest(b"").to_vec();
        assert!(matches!(
            SignatureSubmission::decode(no_response, 0),
            Err(RequestError::EmptyResponse { .. })
        ));
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
            nonce: vec![6; 32],
            auth_signature: sig.clone(),
        };
        let s = Subscription::decode_subscribe(&req).unwrap();
        assert_eq!(s.cursor, 9);
        assert_eq!(s.proof.nonce, [6; 32]);
        assert_eq!(s.proof.signature.to_bytes().to_vec(), sig);
        let ack = pb::AckRequest {
            operator_id: vec![3; 32],
            cursor: 4,
            nonce: vec![6; 32],
            auth_signature: vec![1; 63],
        };
        let e = Subscription::decode_ack(&ack).unwrap_err();
        assert!(e.is_authentication());
        let short_nonce = pb::AckRequest {
            nonce: vec![6; 31],
            auth_signature: sig.clone(),
            ..ack.clone()
        };
        let e = Subscription::decode_ack(&short_nonce).unwrap_err();
        assert!(matches!(e, RequestError::BadAuthNonce { got: 31, .. }));
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

    #[test]
    fn the_proof_digest_binds_node_method_operator_nonce_and_cursor() {
        let op = OperatorId::new([3; 32]).unwrap();
        let other = OperatorId::new([4; 32]).unwrap();
        let base = operator_auth_digest(&[1; 32], ProofMethod::Ack, &op, &[2; 32], 7);
        let variants = [
            operator_auth_digest(&[9; 32], ProofMethod::Ack, &op, &[2; 32], 7),
            operator_auth_digest(&[1; 32], ProofMethod::SubscribeTasks, &op, &[2; 32], 7),
            operator_auth_digest(&[1; 32], ProofMethod::Ack, &other, &[2; 32], 7),
            operator_auth_digest(&[1; 32], ProofMethod::Ack, &op, &[9; 32], 7),
            operator_auth_digest(&[1; 32], ProofMethod::Ack, &op, &[2; 32], 8),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
        assert_eq!(
            base,
            operator_auth_digest(&[1; 32], ProofMethod::Ack, &op, &[2; 32], 7)
        );
    }
}
