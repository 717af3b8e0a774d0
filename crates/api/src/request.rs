//! Every request message by RPC method, decoded from protobuf bytes and then validated.

use prost::Message;
use quorate_domain::{OperatorId, TaskId};

use crate::auth::{SigningMessageQuery, TokenExchange};
use crate::error::RequestError;
use crate::ids::parse_task_id;
use crate::operator::{
    decode_challenge_request, EquivocationQuery, SignatureSubmission, Subscription,
};
use crate::pb;
use crate::task::{ListQuery, NewTask, RequestLimits};

/// The RPC methods of `quorate.v1` that take a request message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `OperatorService/SubscribeTasks`.
    SubscribeTasks,
    /// `OperatorService/SubmitSignedResponse`.
    SubmitSignedResponse,
    /// `OperatorService/Ack`.
    Ack,
    /// `ClientService/CreateTask`.
    CreateTask,
    /// `ClientService/GetTask`.
    GetTask,
    /// `ClientService/ListTasks`.
    ListTasks,
    /// `ClientService/CancelTask`.
    CancelTask,
    /// `ClientService/WatchTask`.
    WatchTask,
    /// `ClientService/GetAggregate`.
    GetAggregate,
    /// `AuthService/GetSigningMessage`.
    GetSigningMessage,
    /// `AuthService/ExchangeToken`.
    ExchangeToken,
    /// `OperatorService/GetOperatorChallenge`.
    GetOperatorChallenge,
    /// `ClientService/ListEquivocations`.
    ListEquivocations,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 13] = [
        Method::SubscribeTasks,
        Method::SubmitSignedResponse,
        Method::Ack,
        Method::CreateTask,
        Method::GetTask,
        Method::ListTasks,
        Method::CancelTask,
        Method::WatchTask,
        Method::GetAggregate,
        Method::GetSigningMessage,
        Method::ExchangeToken,
        Method::GetOperatorChallenge,
        Method::ListEquivocations,
    ];

    /// The method a selector byte picks (every byte picks one).
    pub fn from_selector(byte: u8) -> Method {
        Self::ALL[usize::from(byte) % Self::ALL.len()]
    }

    /// The HTTP/2 path gRPC calls it by.
    pub fn path(self) -> &'static str {
        match self {
            Method::SubscribeTasks => "/quorate.v1.OperatorService/SubscribeTasks",
            Method::SubmitSignedResponse => "/quorate.v1.OperatorService/SubmitSignedResponse",
            Method::Ack => "/quorate.v1.OperatorService/Ack",
            Method::CreateTask => "/quorate.v1.ClientService/CreateTask",
            Method::GetTask => "/quorate.v1.ClientService/GetTask",
            Method::ListTasks => "/quorate.v1.ClientService/ListTasks",
            Method::CancelTask => "/quorate.v1.ClientService/CancelTask",
            Method::WatchTask => "/quorate.v1.ClientService/WatchTask",
            Method::GetAggregate => "/quorate.v1.ClientService/GetAggregate",
            Method::GetSigningMessage => "/quorate.v1.AuthService/GetSigningMessage",
            Method::ExchangeToken => "/quorate.v1.AuthService/ExchangeToken",
            Method::GetOperatorChallenge => "/quorate.v1.OperatorService/GetOperatorChallenge",
            Method::ListEquivocations => "/quorate.v1.ClientService/ListEquivocations",
        }
    }

    /// Decodes this method's request message from protobuf bytes.
    pub fn decode(self, bytes: &[u8]) -> Result<Request, prost::DecodeError> {
        Ok(match self {
            Method::SubscribeTasks => Request::SubscribeTasks(Message::decode(bytes)?),
            Method::SubmitSignedResponse => Request::SubmitSignedResponse(Message::decode(bytes)?),
            Method::Ack => Request::Ack(Message::decode(bytes)?),
            Method::CreateTask => Request::CreateTask(Message::decode(bytes)?),
            Method::GetTask => Request::GetTask(Message::decode(bytes)?),
            Method::ListTasks => Request::ListTasks(Message::decode(bytes)?),
            Method::CancelTask => Request::CancelTask(Message::decode(bytes)?),
            Method::WatchTask => Request::WatchTask(Message::decode(bytes)?),
            Method::GetAggregate => Request::GetAggregate(Message::decode(bytes)?),
            Method::GetSigningMessage => Request::GetSigningMessage(Message::decode(bytes)?),
            Method::ExchangeToken => Request::ExchangeToken(Message::decode(bytes)?),
            Method::GetOperatorChallenge => Request::GetOperatorChallenge(Message::decode(bytes)?),
            Method::ListEquivocations => Request::ListEquivocations(Message::decode(bytes)?),
        })
    }
}

/// A request message, by method.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // one variant per `Method`, holding its message
pub enum Request {
    SubscribeTasks(pb::SubscribeTasksRequest),
    SubmitSignedResponse(pb::SignedResponse),
    Ack(pb::AckRequest),
    CreateTask(pb::CreateTaskRequest),
    GetTask(pb::GetTaskRequest),
    ListTasks(pb::ListTasksRequest),
    CancelTask(pb::CancelTaskRequest),
    WatchTask(pb::GetTaskRequest),
    GetAggregate(pb::GetTaskRequest),
    GetSigningMessage(pb::SigningMessageRequest),
    ExchangeToken(pb::ExchangeTokenRequest),
    GetOperatorChallenge(pb::OperatorChallengeRequest),
    ListEquivocations(pb::ListEquivocationsRequest),
}

/// What a request validates into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validated<'a> {
    /// `SubscribeTasks`.
    Subscribe(Subscription),
    /// `SubmitSignedResponse`.
    Submission(SignatureSubmission),
    /// `Ack`.
    Ack(Subscription),
    /// `CreateTask`.
    NewTask(NewTask),
    /// `GetTask`, `CancelTask`, `WatchTask`, `GetAggregate`.
    Task(TaskId),
    /// `ListTasks`.
    List(ListQuery),
    /// `GetSigningMessage`.
    SigningMessage(SigningMessageQuery),
    /// `ExchangeToken`.
    TokenExchange(TokenExchange<'a>),
    /// `GetOperatorChallenge`: the operator a nonce is for.
    Operator(OperatorId),
    /// `ListEquivocations`.
    Equivocations(EquivocationQuery),
}

impl Request {
    /// The method it is for.
    pub fn method(&self) -> Method {
        match self {
            Request::SubscribeTasks(_) => Method::SubscribeTasks,
            Request::SubmitSignedResponse(_) => Method::SubmitSignedResponse,
            Request::Ack(_) => Method::Ack,
            Request::CreateTask(_) => Method::CreateTask,
            Request::GetTask(_) => Method::GetTask,
            Request::ListTasks(_) => Method::ListTasks,
            Request::CancelTask(_) => Method::CancelTask,
            Request::WatchTask(_) => Method::WatchTask,
            Request::GetAggregate(_) => Method::GetAggregate,
            Request::GetSigningMessage(_) => Method::GetSigningMessage,
            Request::ExchangeToken(_) => Method::ExchangeToken,
            Request::GetOperatorChallenge(_) => Method::GetOperatorChallenge,
            Request::ListEquivocations(_) => Method::ListEquivocations,
        }
    }

    /// The protobuf encoding.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        match self {
            Request::SubscribeTasks(m) => m.encode_to_vec(),
            Request::SubmitSignedResponse(m) => m.encode_to_vec(),
            Request::Ack(m) => m.encode_to_vec(),
            Request::CreateTask(m) => m.encode_to_vec(),
            Request::GetTask(m) | Request::WatchTask(m) | Request::GetAggregate(m) => {
                m.encode_to_vec()
            }
            Request::ListTasks(m) => m.encode_to_vec(),
            Request::CancelTask(m) => m.encode_to_vec(),
            Request::GetSigningMessage(m) => m.encode_to_vec(),
            Request::ExchangeToken(m) => m.encode_to_vec(),
            Request::GetOperatorChallenge(m) => m.encode_to_vec(),
            Request::ListEquivocations(m) => m.encode_to_vec(),
        }
    }

    /// Everything the node checks before it looks at its state; `assign_id` names a
    /// `CreateTask` without an id.
    pub fn validate(
        &self,
        limits: &RequestLimits,
        assign_id: impl FnOnce() -> TaskId,
    ) -> Result<Validated<'_>, RequestError> {
        Ok(match self {
            Request::SubscribeTasks(m) => Validated::Subscribe(Subscription::decode_subscribe(m)?),
            Request::SubmitSignedResponse(m) => Validated::Submission(SignatureSubmission::decode(
                m.clone(),
                limits.max_response_bytes,
            )?),
            Request::Ack(m) => Validated::Ack(Subscription::decode_ack(m)?),
            Request::CreateTask(m) => {
                Validated::NewTask(NewTask::decode(m.clone(), limits, assign_id)?)
            }
            Request::GetTask(m) | Request::WatchTask(m) | Request::GetAggregate(m) => {
                Validated::Task(parse_task_id(&m.task_id)?)
            }
            Request::CancelTask(m) => Validated::Task(parse_task_id(&m.task_id)?),
            Request::ListTasks(m) => Validated::List(ListQuery::decode(m.clone())?),
            Request::GetSigningMessage(m) => {
                Validated::SigningMessage(SigningMessageQuery::decode(m)?)
            }
            Request::ExchangeToken(m) => Validated::TokenExchange(TokenExchange::decode(m)?),
            Request::GetOperatorChallenge(m) => Validated::Operator(decode_challenge_request(m)?),
            Request::ListEquivocations(m) => {
                Validated::Equivocations(EquivocationQuery::decode(m)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selector_picks_a_method_and_every_method_decodes_its_own_encoding() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=u8::MAX {
            seen.insert(Method::from_selector(b));
        }
        assert_eq!(seen.len(), Method::ALL.len());
        for m in Method::ALL {
            let empty = m.decode(&[]).unwrap();
            assert_eq!(empty.method(), m);
            assert_eq!(m.decode(&empty.encode_to_vec()).unwrap(), empty);
            assert!(m.path().starts_with("/quorate.v1."));
        }
        // A truncated length-delimited field is a protobuf error, not a panic.
        assert!(Method::GetTask.decode(&[0x0a, 0x20, 1, 2]).is_err());
    }

    #[test]
    fn empty_requests_fail_with_the_first_broken_field() {
        let limits = RequestLimits {
            default_reference_block: 1,
            max_payload_bytes: 1,
            max_response_bytes: 1,
            max_expiry_ms: 1,
        };
        let id = || TaskId::from(1u64);
        let empty = |m: Method| m.decode(&[]).unwrap();
        assert!(matches!(
            empty(Method::GetAggregate).validate(&limits, id),
            Err(RequestError::IdLength { got: 0, .. })
        ));
        assert!(matches!(
            empty(Method::CreateTask).validate(&limits, id),
            Err(RequestError::ExpiryOutOfRange { got: 0, .. })
        ));
        assert!(matches!(
            empty(Method::ListTasks).validate(&limits, id),
            Ok(Validated::List(_))
        ));
        assert!(matches!(
            empty(Method::ExchangeToken).validate(&limits, id),
            Err(RequestError::MissingNonce)
        ));
        assert!(matches!(
            empty(Method::GetSigningMessage).validate(&limits, id),
            Err(RequestError::BadAddress { .. })
        ));
    }
}
