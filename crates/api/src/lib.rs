//! Quorate's gRPC wire layer: the `quorate.v1` messages and services, and the pure, validated
//! decoding of requests into domain values.
//!
//! Nothing here touches the node's state, storage or the chain: every function takes a request
//! (and the node's limits) and returns either validated values or a typed [`RequestError`]
//! naming the field, the task and the operator involved. The node maps those errors to gRPC
//! statuses; the `grpc_requests` fuzz target drives the same functions with arbitrary bytes.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![warn(missing_docs)]

mod auth;
mod error;
mod frame;
mod ids;
mod operator;
mod proto;
mod request;
mod task;

pub use auth::{
    parse_address, sign_in_nonce, sign_in_signature, SigningMessageQuery, TokenExchange,
};
pub use error::{Field, RequestError};
pub use frame::{decode_frame, encode_frame, Frame, FrameError, FRAME_HEADER_LEN};
pub use ids::{parse_operator_id, parse_task_id};
pub use operator::{
    decode_challenge_request, operator_auth_digest, EquivocationQuery, OperatorProof, ProofMethod,
    SignatureSubmission, Subscription, OPERATOR_AUTH_TAG,
};
pub use proto::{pb, FILE_DESCRIPTOR_SET};
pub use request::{Method, Request, Validated};
pub use task::{ListQuery, NewTask, RequestLimits, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
