//! `quorate.v1.OperatorService`: tasks to sign (resumable by cursor), signed responses, acks.

use std::pin::Pin;

use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use quorate_api::{SignatureSubmission, Subscription};

use crate::node::error::NodeError;
use crate::node::record::TaskRecord;
use crate::node::state::NodeState;
use quorate_api::pb;
use quorate_api::pb::operator_service_server::OperatorService;

/// The operator service over the node state.
pub struct OperatorApi {
    /// The node.
    pub state: NodeState,
    /// Checks operators' proofs of their registered key.
    pub auth: std::sync::Arc<crate::node::operator_auth::OperatorAuth>,
}

type TaskStream = Pin<Box<dyn Stream<Item = Result<pb::Task, Status>> + Send>>;

const PAGE: usize = 256;

/// Sends open tasks with `seq > *cursor` from the store; false when the receiver is gone.
async fn catch_up(
    state: &NodeState,
    cursor: &mut u64,
    tx: &mpsc::Sender<Result<pb::Task, Status>>,
) -> Result<bool, NodeError> {
    loop {
        let page = state
            .store
            .tasks_after(*cursor, PAGE, |r: &TaskRecord| r.status.is_open())?;
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

async fn feed(state: NodeState, mut cursor: u64, tx: mpsc::Sender<Result<pb::Task, Status>>) {
    let mut updates = state.subscribe();
    match catch_up(&state, &mut cursor, &tx).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            let _ = tx.send(Err(e.into())).await;
            return;
        }
    }
    loop {
        match updates.recv().await {
            Ok(record) => {
                if record.seq > cursor && record.status.is_open() {
                    cursor = record.seq;
                    if tx.send(Ok(record.to_wire(true))).await.is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                match catch_up(&state, &mut cursor, &tx).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[tonic::async_trait]
impl OperatorService for OperatorApi {
    type SubscribeTasksStream = TaskStream;

    async fn subscribe_tasks(
        &self,
        request: Request<pb::SubscribeTasksRequest>,
    ) -> Result<Response<Self::SubscribeTasksStream>, Status> {
        let Subscription { proof, cursor } =
            Subscription::decode_subscribe(request.get_ref()).map_err(NodeError::from)?;
        self.auth.check(&proof).await?;
        let cursor = if cursor == 0 {
            self.state
                .store
                .cursor(proof.operator_id.as_bytes())
                .map_err(NodeError::from)?
        } else {
            cursor
        };
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(feed(self.state.clone(), cursor, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn submit_signed_response(
        &self,
        request: Request<pb::SignedResponse>,
    ) -> Result<Response<pb::SubmitVerdict>, Status> {
        let submission =
            SignatureSubmission::decode(request.into_inner(), self.state.limits.max_response_bytes)
                .map_err(NodeError::from)?;
        let outcome = self.state.submit_signature(submission).await?;
        let verdict = match outcome {
            quorate_runtime::SignatureOutcome::Accepted { verified, .. } => pb::SubmitVerdict {
                verdict: pb::Verdict::Accepted as i32,
                verified,
            },
            quorate_runtime::SignatureOutcome::Buffered { .. } => pb::SubmitVerdict {
                verdict: pb::Verdict::Buffered as i32,
                verified: false,
            },
        };
        Ok(Response::new(verdict))
    }

    async fn ack(
        &self,
        request: Request<pb::AckRequest>,
    ) -> Result<Response<pb::AckResponse>, Status> {
        let Subscription { proof, cursor } =
            Subscription::decode_ack(request.get_ref()).map_err(NodeError::from)?;
        self.auth.check(&proof).await?;
        let cursor = self
            .state
            .store
            .set_cursor(proof.operator_id.as_bytes(), cursor)
            .map_err(NodeError::from)?;
        Ok(Response::new(pb::AckResponse { cursor }))
    }
}
