//! `quorate.v1.OperatorService`: sign-in challenges, tasks to sign (resumable by cursor),
//! signed responses and acks.
//!
//! Who may call what: `GetOperatorChallenge` anyone, for a registered operator id (nonces are
//! bounded; failed calls spend the remote IP's budget of unauthenticated calls); `SubscribeTasks`
//! and `Ack` only with a proof of the registered key over a fresh challenge (see
//! [`crate::operator_auth`]); `SubmitSignedResponse` only with the session token of the
//! operator it names.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use quorate_api::{decode_challenge_request, ProofMethod, SignatureSubmission, Subscription};

use crate::error::NodeError;
use crate::operator_auth::{OperatorAuth, SESSION_HEADER};
use crate::quota::{WatchSlot, WatcherLimit};
use crate::ratelimit::RateLimiter;
use crate::record::TaskRecord;
use crate::state::{off_async, NodeState};
use crate::transport::peer_key;
use quorate_api::pb;
use quorate_api::pb::operator_service_server::OperatorService;

/// The operator service over the node state.
pub struct OperatorApi {
    /// The node.
    pub state: NodeState,
    /// Challenges, operators' proofs of their registered key and session tokens.
    pub auth: Arc<OperatorAuth>,
    /// Open `SubscribeTasks` streams per operator.
    pub streams: Arc<WatcherLimit>,
    /// Unauthenticated calls (challenges, failed proofs) per remote IP.
    pub peers: Arc<RateLimiter>,
    /// Workflow automation (trigger streams and reports), when enabled.
    pub automation: Option<crate::automation::Automation>,
    /// Operators seen, with their last authenticated call.
    pub pool: Arc<crate::operator_pool::OperatorPool>,
}

type TaskStream = Pin<Box<dyn Stream<Item = Result<pb::Task, Status>> + Send>>;

const PAGE: usize = 256;

/// What operators are streamed: open tasks, except trigger attestations, which operators
/// report from their own trigger watchers (NotifyTriggers) rather than compute.
fn is_work(record: &TaskRecord) -> bool {
    record.status.is_open() && record.trigger.is_none()
}

/// Sends open tasks with `seq > *cursor` from the store; false when the receiver is gone.
async fn catch_up(
    state: &NodeState,
    cursor: &mut u64,
    tx: &mpsc::Sender<Result<pb::Task, Status>>,
) -> Result<bool, NodeError> {
    loop {
        let (store, after) = (state.store.clone(), *cursor);
        let page = off_async(move || store.tasks_after(after, PAGE, is_work)).await?;
        let Some(last) = page.last().map(|r| r.seq) else {
            return Ok(true);
        };
        for record in page {
            if tx.send(Ok(record.to_wire(true))).await.is_err() {
                return Ok(false);
            }
        }
        *cursor = last;
    }
}

/// Streams tasks until the operator goes away; `_slot` is its stream slot, given back when
/// this ends (also when the client disconnects while no task is being sent).
async fn feed(
    state: NodeState,
    mut cursor: u64,
    tx: mpsc::Sender<Result<pb::Task, Status>>,
    _slot: WatchSlot,
) {
    let mut updates = state.subscribe();
    let mut caught_up = catch_up(&state, &mut cursor, &tx).await;
    loop {
        match caught_up {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        }
        let update = tokio::select! {
            _ = tx.closed() => return,
            u = updates.recv() => u,
        };
        caught_up = match update {
            Ok(record) => {
                if record.seq > cursor && is_work(&record) {
                    cursor = record.seq;
                    Ok(tx.send(Ok(record.to_wire(true))).await.is_ok())
                } else {
                    Ok(true)
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => catch_up(&state, &mut cursor, &tx).await,
            Err(broadcast::error::RecvError::Closed) => return,
        };
    }
}

/// The wire verdict of an accepted or buffered signature.
fn verdict(outcome: quorate_runtime::SignatureOutcome) -> pb::SubmitVerdict {
    match outcome {
        quorate_runtime::SignatureOutcome::Accepted { verified, .. } => pb::SubmitVerdict {
            verdict: pb::Verdict::Accepted as i32,
            verified,
        },
        quorate_runtime::SignatureOutcome::Buffered { .. } => pb::SubmitVerdict {
            verdict: pb::Verdict::Buffered as i32,
            verified: false,
        },
    }
}

impl OperatorApi {
    /// The operator named by `operator_id`, if the request carries that operator's session
    /// token; checked before any other work.
    fn session_operator<T>(
        &self,
        request: &Request<T>,
        operator_id: &[u8],
    ) -> Result<quorate_domain::OperatorId, NodeError> {
        let token = request
            .metadata()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok());
        let operator_id = quorate_api::parse_operator_id(operator_id).map_err(NodeError::from)?;
        self.auth.check_session(token, &operator_id)?;
        self.pool.seen(&operator_id);
        Ok(operator_id)
    }

    fn automation(&self) -> Result<&crate::automation::Automation, NodeError> {
        self.automation.as_ref().ok_or_else(|| {
            NodeError::FailedPrecondition("workflow automation is disabled on this node".into())
        })
    }
    /// Refuses an unauthenticated attempt, or any attempt once the remote IP spent its
    /// budget of them, so proof guessing and challenge floods are throttled per peer.
    fn throttle<T>(&self, request: &Request<T>, e: NodeError) -> NodeError {
        if self.peers.allow(&peer_key(request)) {
            e
        } else {
            crate::metrics::peer_rate_limited();
            NodeError::ResourceExhausted("too many unauthenticated calls from this address".into())
        }
    }

    /// A response carrying a fresh session token for `operator_id` in its header.
    fn with_session<T>(
        &self,
        operator_id: &quorate_domain::OperatorId,
        body: T,
    ) -> Result<Response<T>, NodeError> {
        let token = self.auth.issue_session(operator_id)?;
        // Issued only after a proof of the key: a heartbeat.
        self.pool.seen(operator_id);
        let value = MetadataValue::try_from(token.as_str())
            .map_err(|e| NodeError::Unavailable(format!("session token: {e}")))?;
        let mut response = Response::new(body);
        response.metadata_mut().insert(SESSION_HEADER, value);
        Ok(response)
    }
}

#[tonic::async_trait]
impl OperatorService for OperatorApi {
    type SubscribeTasksStream = TaskStream;

    async fn get_operator_challenge(
        &self,
        request: Request<pb::OperatorChallengeRequest>,
    ) -> Result<Response<pb::OperatorChallenge>, Status> {
        let operator_id = decode_challenge_request(request.get_ref())
            .map_err(|e| self.throttle(&request, e.into()))?;
        let challenge = self
            .auth
            .challenge(&operator_id)
            .await
            .map_err(|e| self.throttle(&request, e))?;
        Ok(Response::new(pb::OperatorChallenge {
            nonce: challenge.nonce.to_vec(),
            node_id: challenge.node_id.to_vec(),
            expires_at_ms: challenge.expires_at_ms,
        }))
    }

    async fn subscribe_tasks(
        &self,
        request: Request<pb::SubscribeTasksRequest>,
    ) -> Result<Response<Self::SubscribeTasksStream>, Status> {
        let Subscription { proof, cursor } = Subscription::decode_subscribe(request.get_ref())
            .map_err(|e| self.throttle(&request, e.into()))?;
        self.auth
            .check(&proof, ProofMethod::SubscribeTasks, cursor)
            .await
            .map_err(|e| self.throttle(&request, e))?;
        let operator_id = proof.operator_id;
        let slot = self
            .streams
            .acquire(&operator_id.to_string())
            .map_err(|_| {
                crate::metrics::operator_stream_refused();
                NodeError::ResourceExhausted(format!(
                    "operator {operator_id} already has the most task streams allowed open"
                ))
            })?;
        let cursor = if cursor == 0 {
            let store = self.state.store.clone();
            off_async(move || store.cursor(operator_id.as_bytes())).await?
        } else {
            cursor
        };
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(feed(self.state.clone(), cursor, tx, slot));
        let stream: TaskStream = Box::pin(ReceiverStream::new(rx));
        Ok(self.with_session(&operator_id, stream)?)
    }

    async fn submit_signed_response(
        &self,
        request: Request<pb::SignedResponse>,
    ) -> Result<Response<pb::SubmitVerdict>, Status> {
        let token = request
            .metadata()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let submission =
            SignatureSubmission::decode(request.into_inner(), self.state.limits.max_response_bytes)
                .map_err(NodeError::from)?;
        // Only the operator itself may submit under its id: nothing is looked up, stored or
        // aggregated before this.
        self.auth
            .check_session(token.as_deref(), &submission.operator_id)?;
        self.pool.seen(&submission.operator_id);
        let outcome = self.state.submit_signature(submission).await?;
        Ok(Response::new(verdict(outcome)))
    }

    type SyncTriggersStream = crate::automation::TriggerStream;

    async fn sync_triggers(
        &self,
        request: Request<pb::SyncTriggersRequest>,
    ) -> Result<Response<Self::SyncTriggersStream>, Status> {
        let operator_id = self.session_operator(&request, &request.get_ref().operator_id)?;
        let stream = self.automation()?.trigger_stream(&operator_id)?;
        Ok(Response::new(stream))
    }

    async fn notify_triggers(
        &self,
        request: Request<pb::TriggerReport>,
    ) -> Result<Response<pb::SubmitVerdict>, Status> {
        // Only the operator itself may report under its id: nothing is looked up before this.
        let operator_id = self.session_operator(&request, &request.get_ref().operator_id)?;
        let outcome = self
            .automation()?
            .report(operator_id, request.into_inner())
            .await?;
        Ok(Response::new(verdict(outcome)))
    }

    async fn ack(
        &self,
        request: Request<pb::AckRequest>,
    ) -> Result<Response<pb::AckResponse>, Status> {
        let Subscription { proof, cursor } = Subscription::decode_ack(request.get_ref())
            .map_err(|e| self.throttle(&request, e.into()))?;
        self.auth
            .check(&proof, ProofMethod::Ack, cursor)
            .await
            .map_err(|e| self.throttle(&request, e))?;
        let operator_id = proof.operator_id;
        let store = self.state.store.clone();
        let stored = off_async(move || {
            let highest = store.last_seq()?;
            if cursor > highest {
                return Ok(Err(highest));
            }
            store.set_cursor(operator_id.as_bytes(), cursor).map(Ok)
        })
        .await?;
        let cursor = stored.map_err(|highest| {
            NodeError::OutOfRange(format!(
                "operator {operator_id}: ack cursor {cursor} is past the highest task sequence \
                 number issued ({highest})"
            ))
        })?;
        Ok(self.with_session(&operator_id, pb::AckResponse { cursor })?)
    }
}
