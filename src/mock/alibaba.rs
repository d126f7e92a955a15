//! The Alibaba adapter of the mock: the RPC codec in front of the task store.

use std::borrow::Cow;

use bytes::Bytes;
use http::{Request, Response};

use super::faults::Effect;
use super::Mock;
use crate::contract::alibaba::{self as contract, RESOURCE_THROTTLED, TASK_ALREADY_COMPLETED};
use crate::contract::{Action, Provider};
use crate::tasks::{Completion, Rejection, TaskId};
use crate::wire::alibaba::{self as wire, AlibabaError, Params};

/// Host reported in `HostId` when the request has no Host header.
const DEFAULT_HOST: &str = "cn-hangzhou.fnf.aliyuncs.com";

/// The Alibaba error for a store rejection of a report sent with `token`.
pub fn rejection_error(rejection: Rejection, token: &str) -> AlibabaError {
    match rejection {
        Rejection::Closed => AlibabaError::with(&TASK_ALREADY_COMPLETED, &[token]),
        Rejection::InvalidToken | Rejection::Deleted | Rejection::InvalidOutput(_) => {
            wire::invalid()
        }
    }
}

pub(super) fn handle(mock: &Mock, req: Request<Bytes>) -> Response<Bytes> {
    let request_id = super::request_id();
    let mut effect = Effect::default();
    let mut operation = None;
    let outcome = apply(mock, &req, &mut effect, &mut operation);
    let mut response = match &outcome {
        Ok((_, event_id)) => wire::success(*event_id, &request_id),
        Err(e) => {
            let host = req.headers().get(http::header::HOST).and_then(|v| v.to_str().ok());
            wire::error_response(e, &request_id, host.unwrap_or(DEFAULT_HOST))
        }
    };
    mock.record(
        Provider::Alibaba,
        &req,
        operation.as_deref(),
        response.status().as_u16(),
        outcome.as_ref().err().map(|e| e.spec.code),
        outcome.as_ref().ok().map(|(id, _)| *id),
    );
    if effect != Effect::default() {
        response.extensions_mut().insert(effect);
    }
    response
}

fn apply(
    mock: &Mock,
    req: &Request<Bytes>,
    effect: &mut Effect,
    operation_name: &mut Option<Cow<'static, str>>,
) -> Result<(TaskId, u64), AlibabaError> {
    let params = wire::parse_params(req)?;
    let operation = match wire::parse_operation(&params, req.headers()) {
        Ok(op) => {
            *operation_name = Some(Cow::Borrowed(op.name));
            op
        }
        Err(e) => {
            // An unknown action is journalled as sent.
            *operation_name = params
                .get("Action")
                .or_else(|| req.headers().get("x-acs-action").and_then(|v| v.to_str().ok()))
                .map(|a| Cow::Owned(a.to_owned()));
            return Err(e);
        }
    };
    if let Some(firing) = mock.faults().fire(Provider::Alibaba, operation.name) {
        *effect = firing.effect;
        if let Some(code) = firing.error {
            return Err(injected(&code, &params));
        }
    }
    if !mock.throttle_allows(Provider::Alibaba) {
        return Err(AlibabaError::plain(&RESOURCE_THROTTLED));
    }
    mock.authenticate_alibaba(req, &params)?;
    let call = wire::parse_call(operation, &params, mock.alibaba_flavour().output_max())?;
    let output_error = call.output.and_then(crate::wire::json_error);
    let completion = match operation.action {
        Action::Succeed => Completion::Succeed { output: call.output.unwrap_or("") },
        Action::Fail => Completion::Fail { error: call.error, cause: call.cause },
        Action::Heartbeat => Completion::Heartbeat,
    };
    mock.store()
        .apply(Provider::Alibaba, call.task_token, completion, output_error)
        .map(|a| (a.task_id, a.event_id))
        .map_err(|r| rejection_error(r, call.task_token))
}

/// An injected catalogue error, its `%s` filled from the request where it can be.
fn injected(code: &str, params: &Params) -> AlibabaError {
    let spec = contract::CONTRACT.error(code).unwrap_or(&contract::INTERNAL_SERVER_ERROR);
    let p = |name: &str| params.get(name).unwrap_or("").to_owned();
    let args: Vec<String> = match code {
        "ActionNotSupported" => vec![p("Action")],
        "APIVersionNotSupported" => vec![p("Version")],
        "EntityTooLarge" => vec![contract::MAX_REQUEST_BYTES.to_string()],
        "MissingRequiredHeader" => vec!["x-acs-action".into()],
        "MissingRequiredParams" => vec!["TaskToken".into()],
        "TaskAlreadyCompleted" => vec![p("TaskToken")],
        "InvalidAccessKeyID" => vec![p("AccessKeyId")],
        "RequestTimeTooSkewed" => vec![p("Timestamp"), p("Timestamp")],
        _ => vec![],
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    AlibabaError::with(spec, &args)
}
