//! The node side of the watcher: the `SyncTriggers` stream (with reconnects) and the
//! `NotifyTriggers` reports, both carrying the session token the task loop keeps fresh.

use std::sync::Arc;
use std::time::Duration;

use quorate_api::pb;
use quorate_api::pb::operator_service_client::OperatorServiceClient;
use quorate_automation::claim_digest;
use quorate_bls::KeyPair;
use tokio::sync::{mpsc, watch};
use tonic::transport::Channel;
use tonic::Code;
use tracing::{debug, info, warn, Instrument};

use super::engine::Fired;
use super::SessionToken;
use crate::operator_auth::SESSION_HEADER;

/// What the sync stream tells the watch loop.
#[derive(Debug)]
pub enum SyncEvent {
    /// A new stream opened: the node re-sends every live trigger.
    Resync,
    /// The re-sent snapshot is complete (the stream went quiet).
    SnapshotDone,
    /// One trigger update.
    Update(pb::TriggerUpdate),
}

/// The snapshot after (re)connecting is sent as a burst; this much silence ends it.
const SNAPSHOT_QUIET: Duration = Duration::from_secs(2);
/// First and longest wait between reconnects.
const BACKOFF_MIN: Duration = Duration::from_millis(300);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Attempts per report on transient failures (node busy or unreachable).
const REPORT_ATTEMPTS: u32 = 5;
/// How long a report waits for a session token before it is dropped.
const TOKEN_WAIT: Duration = Duration::from_secs(30);

/// Exponential backoff between `BACKOFF_MIN` and `BACKOFF_MAX`.
struct Backoff(Duration);

impl Backoff {
    fn reset(&mut self) {
        self.0 = BACKOFF_MIN;
    }

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        wait
    }
}

/// The current token, waiting at most `limit` for one; `None` if none came (or the task
/// loop is gone).
async fn current_token(
    tokens: &mut watch::Receiver<Option<SessionToken>>,
    limit: Duration,
) -> Option<SessionToken> {
    match tokio::time::timeout(limit, tokens.wait_for(Option::is_some)).await {
        Ok(Ok(token)) => token.clone(),
        _ => None,
    }
}

/// Keeps a `SyncTriggers` stream open, forwarding its updates to `out`; reconnects with
/// backoff when it ends or fails. Returns when `out` is closed.
pub async fn sync_loop(
    mut client: OperatorServiceClient<Channel>,
    operator_id: Vec<u8>,
    mut tokens: watch::Receiver<Option<SessionToken>>,
    out: mpsc::Sender<SyncEvent>,
) {
    let mut backoff = Backoff(BACKOFF_MIN);
    loop {
        if out.is_closed() {
            return;
        }
        let Some(token) = current_token(&mut tokens, BACKOFF_MAX).await else {
            if tokens.has_changed().is_err() {
                return; // the task loop is gone: no token will ever come
            }
            debug!("no session token yet; trigger sync waits");
            continue;
        };
        let mut request = tonic::Request::new(pb::SyncTriggersRequest {
            operator_id: operator_id.clone(),
        });
        request.metadata_mut().insert(SESSION_HEADER, token);
        match client.sync_triggers(request).await {
            Ok(response) => {
                backoff.reset();
                info!("trigger sync opened");
                match forward(response.into_inner(), &out).await {
                    Ok(()) => info!("trigger sync ended; reconnecting"),
                    Err(s) => {
                        warn!(code = ?s.code(), status = %s.message(), "trigger sync failed; reconnecting")
                    }
                }
            }
            Err(s) if s.code() == Code::Unauthenticated => {
                // The token expired: the task loop renews it on its next sign-in.
                warn!(status = %s.message(), "trigger sync refused the session; waiting for a fresh one");
                let _ = tokio::time::timeout(backoff.next(), tokens.changed()).await;
                continue;
            }
            Err(s) => {
                warn!(code = ?s.code(), status = %s.message(), "trigger sync unavailable; retrying")
            }
        }
        tokio::time::sleep(backoff.next()).await;
    }
}

/// Forwards one stream: `Resync`, the snapshot, `SnapshotDone` once it goes quiet, then
/// every change until the stream ends.
async fn forward(
    mut stream: tonic::Streaming<pb::TriggerUpdate>,
    out: &mpsc::Sender<SyncEvent>,
) -> Result<(), tonic::Status> {
    if out.send(SyncEvent::Resync).await.is_err() {
        return Ok(());
    }
    let mut in_snapshot = true;
    loop {
        let message = match in_snapshot {
            true => match tokio::time::timeout(SNAPSHOT_QUIET, stream.message()).await {
                Ok(message) => message?,
                Err(_) => {
                    in_snapshot = false;
                    if out.send(SyncEvent::SnapshotDone).await.is_err() {
                        return Ok(());
                    }
                    continue;
                }
            },
            false => stream.message().await?,
        };
        let Some(update) = message else {
            return Ok(());
        };
        if out.send(SyncEvent::Update(update)).await.is_err() {
            return Ok(());
        }
    }
}

/// Signs and reports each fired trigger in turn. Returns when `fired` is closed.
pub async fn report_loop(
    mut client: OperatorServiceClient<Channel>,
    key: Arc<KeyPair>,
    mut tokens: watch::Receiver<Option<SessionToken>>,
    mut fired: mpsc::Receiver<Fired>,
) {
    let operator_id = key.operator_id().as_bytes().to_vec();
    while let Some(f) = fired.recv().await {
        let span = tracing::info_span!(
            "trigger_report",
            workflow_id = %f.workflow_id,
            reason = %f.reason.key()
        );
        report(&mut client, &key, &operator_id, &mut tokens, &f)
            .instrument(span)
            .await;
    }
}

/// One report, retried a few times on transient failures; the outcome is logged.
async fn report(
    client: &mut OperatorServiceClient<Channel>,
    key: &KeyPair,
    operator_id: &[u8],
    tokens: &mut watch::Receiver<Option<SessionToken>>,
    f: &Fired,
) {
    let reason_json = match serde_json::to_string(&f.reason) {
        Ok(json) => json,
        Err(e) => {
            warn!(error = %e, "reason not serializable; not reported");
            return;
        }
    };
    // Signed exactly like a task response: the BLS signature of the 32-byte digest.
    let digest = claim_digest(&f.workflow_id, &f.reason);
    let report = pb::TriggerReport {
        operator_id: operator_id.to_vec(),
        workflow_id: f.workflow_id.clone(),
        reason_json,
        signature: key.sign(&digest.0).to_bytes().to_vec(),
    };
    let mut backoff = Backoff(BACKOFF_MIN);
    for attempt in 1..=REPORT_ATTEMPTS {
        let Some(token) = current_token(tokens, TOKEN_WAIT).await else {
            warn!("no session token; trigger not reported");
            return;
        };
        let mut request = tonic::Request::new(report.clone());
        request.metadata_mut().insert(SESSION_HEADER, token);
        match client.notify_triggers(request).await {
            Ok(response) => {
                let verdict = response.into_inner();
                let name = pb::Verdict::try_from(verdict.verdict)
                    .map(|v| v.as_str_name())
                    .unwrap_or("unknown");
                info!(
                    verdict = name,
                    verified = verdict.verified,
                    "trigger reported"
                );
                return;
            }
            Err(s) if attempt < REPORT_ATTEMPTS && transient(s.code()) => {
                debug!(code = ?s.code(), status = %s.message(), attempt, "report retried");
                if s.code() == Code::Unauthenticated {
                    let _ = tokio::time::timeout(backoff.next(), tokens.changed()).await;
                } else {
                    tokio::time::sleep(backoff.next()).await;
                }
            }
            Err(s) => {
                warn!(code = ?s.code(), status = %s.message(), "trigger report refused");
                return;
            }
        }
    }
}

/// Failures worth another attempt: the node busy or unreachable, or the token renewed.
fn transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Unknown
            | Code::Unauthenticated
    )
}
