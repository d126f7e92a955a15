//! The AWS adapter of the mock: the awsJson1_0 codec in front of the task store.

use bytes::Bytes;
use http::{Request, Response};

use super::journal::{body_prefix, JournalEntry};
use super::Mock;
use crate::contract::aws::{INVALID_TOKEN, TASK_DOES_NOT_EXIST, TASK_TIMED_OUT};
use crate::contract::{Action, Provider};
use crate::tasks::{Completion, Rejection, TaskId};
use crate::wire::aws::{self as wire, AwsError, TARGET_HEADER};

/// The AWS error for a store rejection.
pub fn rejection_error(rejection: Rejection) -> AwsError {
    match rejection {
        Rejection::InvalidToken => AwsError::plain(&INVALID_TOKEN),
        Rejection::Closed => AwsError::plain(&TASK_TIMED_OUT),
        Rejection::Deleted => AwsError::plain(&TASK_DOES_NOT_EXIST),
        Rejection::InvalidOutput(detail) => wire::invalid_output(&detail),
    }
}

pub(super) fn handle(mock: &Mock, req: Request<Bytes>) -> Response<Bytes> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let outcome = apply(mock, &req);
    let response = match &outcome {
        Ok(_) => wire::success(&request_id),
        Err(e) => wire::error_response(e, &request_id),
    };
    let journal = mock.journal();
    if journal.enabled() {
        journal.record(JournalEntry {
            seq: 0,
            at_ms: mock.clock().now_ms(),
            provider: Provider::Aws,
            method: req.method().to_string(),
            path: req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            operation: req
                .headers()
                .get(TARGET_HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            body: body_prefix(req.body()),
            body_bytes: req.body().len(),
            status: response.status().as_u16(),
            error_code: outcome.as_ref().err().map(|e| e.spec.code.to_owned()),
            task_id: outcome.ok(),
        });
    }
    response
}

fn apply(mock: &Mock, req: &Request<Bytes>) -> Result<TaskId, AwsError> {
    let envelope = wire::parse_envelope(req)?;
    let call = wire::parse_call(envelope)?;
    let output_error = call.output.as_deref().and_then(wire::output_error);
    let completion = match call.operation.action {
        Action::Succeed => Completion::Succeed {
            output: call.output.as_deref().unwrap_or(""),
        },
        Action::Fail => Completion::Fail {
            error: call.error.as_deref(),
            cause: call.cause.as_deref(),
        },
        Action::Heartbeat => Completion::Heartbeat,
    };
    mock.store()
        .apply(Provider::Aws, &call.task_token, completion, output_error)
        .map(|applied| applied.task_id)
        .map_err(rejection_error)
}
