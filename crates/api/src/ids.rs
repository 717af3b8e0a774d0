//! 32-byte ids from the wire.

use quorate_domain::{OperatorId, TaskId};

use crate::error::{Field, RequestError};

fn bytes32(field: Field, bytes: &[u8]) -> Result<[u8; 32], RequestError> {
    bytes.try_into().map_err(|_| RequestError::IdLength {
        field,
        got: bytes.len(),
    })
}

/// A task id: exactly 32 bytes, not all zero.
pub fn parse_task_id(bytes: &[u8]) -> Result<TaskId, RequestError> {
    TaskId::new(bytes32(Field::TaskId, bytes)?).map_err(|reason| RequestError::ZeroId {
        field: Field::TaskId,
        reason,
    })
}

/// An operator id: exactly 32 bytes, not all zero.
pub fn parse_operator_id(bytes: &[u8]) -> Result<OperatorId, RequestError> {
    OperatorId::new(bytes32(Field::OperatorId, bytes)?).map_err(|reason| RequestError::ZeroId {
        field: Field::OperatorId,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorate_domain::ValidationError;

    #[test]
    fn ids_are_exactly_32_non_zero_bytes() {
        let mut raw = [0u8; 32];
        raw[31] = 7;
        assert_eq!(parse_task_id(&raw).map(|t| *t.as_bytes()).ok(), Some(raw));
        assert_eq!(
            parse_operator_id(&raw).map(|o| *o.as_bytes()).ok(),
            Some(raw)
        );
        for len in [0usize, 1, 31, 33, 64] {
            let e = parse_task_id(&vec![1; len]).unwrap_err();
            assert!(
                matches!(e, RequestError::IdLength { field: Field::TaskId, got } if got == len),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("task id must be 32 bytes, got {len}")
            );
            let e = parse_operator_id(&vec![1; len]).unwrap_err();
            assert!(
                matches!(e, RequestError::IdLength { field: Field::OperatorId, got } if got == len)
            );
        }
        assert!(matches!(
            parse_task_id(&[0; 32]),
            Err(RequestError::ZeroId {
                field: Field::TaskId,
                reason: ValidationError::ZeroTaskId
            })
        ));
        let e = parse_operator_id(&[0; 32]).unwrap_err();
        assert!(matches!(
            e,
            RequestError::ZeroId {
                field: Field::OperatorId,
                reason: ValidationError::ZeroOperatorId
            }
        ));
        assert_eq!(e.to_string(), "operator id must not be zero");
    }
}
