//! The AWS adapter of the mock: the awsJson1_0 codec in front of the task store.

use bytes::Bytes;
use http::{Request, Response};

use super::faults::Effect;
use super::Mock;
use crate::contract::aws::{self as contract, INVALID_TOKEN, TASK_DOES_NOT_EXIST, TASK_TIMED_OUT};
use crate::contract::{Action, Provider};
use crate::tasks::{Completion, Rejection, TaskId};
use crate::wire::aws::{self as wire, AwsError};

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
    let request_id = super::request_id();
    let mut effect = Effect::default();
    let outcome = apply(mock, &req, &mut effect);
    let mut response = match &outcome {
        Ok(_) => wire::success(&request_id),
        Err(e) => wire::error_response(e, &request_id),
    };
    mock.record(
        Provider::Aws,
        &req,
        None,
        response.status().as_u16(),
        outcome.as_ref().err().map(|e| e.spec.code),
        outcome.as_ref().ok().copied(),
    );
    if effect != Effect::default() {
        response.extensions_mut().insert(effect);
    }
    response
}

fn apply(mock: &Mock, req: &Request<Bytes>, effect: &mut Effect) -> Result<TaskId, AwsError> {
    let envelope = wire::parse_envelope(req)?;
    if let Some(firing) = mock.faults().fire(Provider::Aws, envelope.operation.name) {
        *effect = firing.effect;
        if let Some(code) = firing.error {
            return Err(injected(&code));
        }
    }
    mock.authenticate_aws(req)?;
    let call = wire::parse_call(envelope)?;
    let output_error = call.output.as_deref().and_then(wire::output_error);
    let completion = match call.operation.action {
        Action::Succeed => Completion::Succeed { output: call.output.as_deref().unwrap_or("") },
        Action::Fail => {
            Completion::Fail { error: call.error.as_deref(), cause: call.cause.as_deref() }
        }
        Action::Heartbeat => Completion::Heartbeat,
    };
    mock.store()
        .apply(Provider::Aws, &call.task_token, completion, output_error)
        .map(|applied| applied.task_id)
        .map_err(rejection_error)
}

/// An injected catalogue error, `%s` filled with a fixed detail.
fn injected(code: &str) -> AwsError {
    let spec = contract::CONTRACT.error(code).unwrap_or(&contract::THROTTLING);
    let mut error = AwsError::with(spec, &["injected fault"]);
    if code == "KmsInvalidStateException" {
        error.extra.push(("kmsKeyState", "DISABLED".to_owned()));
    }
    error
}
