//! `ClientService` requests: task creation parameters and list queries.

use std::time::Duration;

use quorate_domain::{TaskId, TaskMetadata};

use crate::error::RequestError;
use crate::ids::parse_task_id;
use crate::pb;

/// Page size when a `ListTasksRequest` gives 0.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// Largest page a `ListTasksRequest` gets.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// The node's request limits and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Reference block used when a request gives 0.
    pub default_reference_block: u64,
    /// Largest task payload accepted.
    pub max_payload_bytes: usize,
    /// Largest operator response accepted.
    pub max_response_bytes: usize,
    /// Longest expiry a task may ask for, in ms.
    pub max_expiry_ms: u64,
}

/// A `CreateTaskRequest` that passed every rule the aggregator would apply, so nothing invalid
/// is ever stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTask {
    /// The requested id, or the one assigned.
    pub task_id: TaskId,
    /// The reference block (the node's default when the request gave 0).
    pub reference_block: u64,
    /// `(quorum, threshold %)` pairs as requested (order kept).
    pub quorums: Vec<(u8, u8)>,
    /// Time to expiry, in ms: `1..=max_expiry_ms`.
    pub expiry_ms: u64,
    /// Window after the thresholds are met, in ms: at most `expiry_ms`.
    pub window_ms: u64,
    /// The operators' input: at most `max_payload_bytes`.
    pub payload: Vec<u8>,
    /// The aggregator's view of the task, as if created now.
    pub metadata: TaskMetadata,
}

impl NewTask {
    /// Validates a `CreateTaskRequest`; `assign_id` is called for a request without an id.
    pub fn decode(
        req: pb::CreateTaskRequest,
        limits: &RequestLimits,
        assign_id: impl FnOnce() -> TaskId,
    ) -> Result<Self, RequestError> {
        let task_id = if req.task_id.is_empty() {
            assign_id()
        } else {
            parse_task_id(&req.task_id)?
        };
        if req.payload.len() > limits.max_payload_bytes {
            return Err(RequestError::PayloadTooLarge {
                task_id,
                got: req.payload.len(),
                max: limits.max_payload_bytes,
            });
        }
        if req.expiry_ms == 0 || req.expiry_ms > limits.max_expiry_ms {
            return Err(RequestError::ExpiryOutOfRange {
                task_id,
                got: req.expiry_ms,
                max: limits.max_expiry_ms,
            });
        }
        let quorums = req
            .quorums
            .iter()
            .map(|q| {
                let quorum = u8::try_from(q.quorum).ok();
                let threshold = u8::try_from(q.threshold_percent).ok();
                quorum.zip(threshold).ok_or(RequestError::QuorumOutOfRange {
                    task_id,
                    quorum: q.quorum,
                    threshold: q.threshold_percent,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reference_block = if req.reference_block == 0 {
            limits.default_reference_block
        } else {
            req.reference_block
        };
        let window_ms = req.window_ms.min(req.expiry_ms);
        // The same checks the aggregator makes (quorums present, unique, ≤ 191, thresholds
        // 1..=100), before anything is stored.
        let metadata = TaskMetadata::from_raw(
            task_id,
            reference_block,
            &quorums,
            Duration::from_millis(req.expiry_ms),
        )
        .map_err(|reason| RequestError::InvalidTask { task_id, reason })?
        .with_window(Duration::from_millis(window_ms));
        Ok(Self {
            task_id,
            reference_block,
            quorums,
            expiry_ms: req.expiry_ms,
            window_ms,
            payload: req.payload,
            metadata,
        })
    }
}

/// A `ListTasksRequest` with its page token, status and limit decoded. Who may list whose
/// tasks (`creator`) is the node's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Only tasks in this status (`None`: any).
    pub status: Option<pb::TaskStatus>,
    /// Only this creator's tasks, as asked (`None`: the request left it empty).
    pub creator: Option<String>,
    /// Tasks with a sequence number above this.
    pub after: u64,
    /// Page size: `1..=MAX_LIST_LIMIT`.
    pub limit: u32,
    /// Include payloads.
    pub full: bool,
}

impl ListQuery {
    /// Validates a `ListTasksRequest`.
    pub fn decode(req: pb::ListTasksRequest) -> Result<Self, RequestError> {
        let after = if req.page_token.is_empty() {
            0
        } else {
            req.page_token
                .parse::<u64>()
                .map_err(|_| RequestError::BadPageToken {
                    token: req.page_token.clone(),
                })?
        };
        let status = match pb::TaskStatus::try_from(req.status) {
            Ok(pb::TaskStatus::Unspecified) => None,
            Ok(s) => Some(s),
            Err(_) => return Err(RequestError::UnknownStatus { status: req.status }),
        };
        let limit = match req.limit {
            0 => DEFAULT_LIST_LIMIT,
            n => n.min(MAX_LIST_LIMIT),
        };
        Ok(Self {
            status,
            creator: (!req.creator.is_empty()).then_some(req.creator),
            after,
            limit,
            full: req.full,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorate_domain::ValidationError;

    const LIMITS: RequestLimits = RequestLimits {
        default_reference_block: 100,
        max_payload_bytes: 8,
        max_response_bytes: 8,
        max_expiry_ms: 60_000,
    };

    fn create(quorums: &[(u32, u32)]) -> pb::CreateTaskRequest {
        pb::CreateTaskRequest {
            task_id: vec![4; 32],
            reference_block: 0,
            quorums: quorums
                .iter()
                .map(|&(quorum, threshold_percent)| pb::QuorumThreshold {
                    quorum,
                    threshold_percent,
                })
                .collect(),
            expiry_ms: 60_000,
            window_ms: 90_000,
            payload: b"12345678".to_vec(),
        }
    }

    fn no_id() -> TaskId {
        TaskId::from(77u64)
    }

    #[test]
    fn a_valid_task_is_decoded_with_defaults_applied() {
        let t = NewTask::decode(create(&[(0, 67), (191, 100)]), &LIMITS, no_id).unwrap();
        assert_eq!(t.task_id.as_bytes(), &[4; 32]);
        assert_eq!(t.reference_block, 100, "0 means the node's default");
        assert_eq!(t.quorums, vec![(0, 67), (191, 100)]);
        assert_eq!(t.window_ms, 60_000, "window clamped to the expiry");
        assert_eq!(t.metadata.task_id(), t.task_id);
        assert_eq!(t.metadata.time_to_expiry(), Duration::from_millis(60_000));
        let mut req = create(&[(1, 1)]);
        req.task_id.clear();
        req.reference_block = 5;
        req.expiry_ms = 1;
        let t = NewTask::decode(req, &LIMITS, no_id).unwrap();
        assert_eq!((t.task_id, t.reference_block, t.window_ms), (no_id(), 5, 1));
    }

    #[test]
    fn each_task_rule_has_its_own_error() {
        let mut req = create(&[(0, 50)]);
        req.task_id = vec![4; 5];
        assert!(matches!(
            NewTask::decode(req, &LIMITS, no_id),
            Err(RequestError::IdLength { got: 5, .. })
        ));
        let mut req = create(&[(0, 50)]);
        req.payload.push(b'9');
        let e = NewTask::decode(req, &LIMITS, no_id).unwrap_err();
        assert!(
            matches!(e, RequestError::PayloadTooLarge { got: 9, max: 8, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("task 0x{}: payload of 9 bytes exceeds 8", "04".repeat(32))
        );
        for expiry in [0, 60_001, u64::MAX] {
            let mut req = create(&[(0, 50)]);
            req.expiry_ms = expiry;
            assert!(matches!(
                NewTask::decode(req, &LIMITS, no_id),
                Err(RequestError::ExpiryOutOfRange { got, max: 60_000, .. }) if got == expiry
            ));
        }
        for (q, t) in [(256, 50), (0, 256), (u32::MAX, u32::MAX)] {
            assert!(matches!(
                NewTask::decode(create(&[(q, t)]), &LIMITS, no_id),
                Err(RequestError::QuorumOutOfRange { quorum, threshold, .. })
                    if (quorum, threshold) == (q, t)
            ));
        }
        let invalid =
            |quorums: &[(u32, u32)]| match NewTask::decode(create(quorums), &LIMITS, no_id) {
                Err(RequestError::InvalidTask { reason, .. }) => reason,
                other => panic!("{other:?}"),
            };
        assert!(matches!(invalid(&[]), ValidationError::EmptyQuorums { .. }));
        assert!(matches!(
            invalid(&[(0, 0)]),
            ValidationError::ThresholdOutOfRange { percent: 0 }
        ));
        assert!(matches!(
            invalid(&[(0, 101)]),
            ValidationError::ThresholdOutOfRange { percent: 101 }
        ));
        assert!(matches!(
            invalid(&[(192, 50)]),
            ValidationError::QuorumNumberTooLarge { .. }
        ));
        assert!(matches!(
            invalid(&[(3, 50), (3, 60)]),
            ValidationError::DuplicateQuorum { .. }
        ));
    }

    #[test]
    fn list_queries_decode_tokens_statuses_and_limits() {
        let q = ListQuery::decode(pb::ListTasksRequest::default()).unwrap();
        assert_eq!(
            q,
            ListQuery {
                status: None,
                creator: None,
                after: 0,
                limit: DEFAULT_LIST_LIMIT,
                full: false
            }
        );
        let q = ListQuery::decode(pb::ListTasksRequest {
            status: pb::TaskStatus::Cancelled as i32,
            creator: "alice".into(),
            page_token: u64::MAX.to_string(),
            limit: u32::MAX,
            full: true,
        })
        .unwrap();
        assert_eq!(q.status, Some(pb::TaskStatus::Cancelled));
        assert_eq!(q.creator.as_deref(), Some("alice"));
        assert_eq!((q.after, q.limit, q.full), (u64::MAX, MAX_LIST_LIMIT, true));
        assert_eq!(
            ListQuery::decode(pb::ListTasksRequest {
                limit: 1,
                ..Default::default()
            })
            .map(|q| q.limit)
            .ok(),
            Some(1)
        );
        for token in ["x", "-1", "18446744073709551616", " 1"] {
            let e = ListQuery::decode(pb::ListTasksRequest {
                page_token: token.into(),
                ..Default::default()
            })
            .unwrap_err();
            assert!(matches!(&e, RequestError::BadPageToken { token: t } if t == token));
        }
        for status in [8, -1, i32::MAX] {
            assert!(matches!(
                ListQuery::decode(pb::ListTasksRequest { status, ..Default::default() }),
                Err(RequestError::UnknownStatus { status: s }) if s == status
            ));
        }
    }
}
