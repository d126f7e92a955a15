//! Lambda durable callback checks: the restJson1 envelope, id and Result limits, errors by header.
//!
//! Limits, codes and message keys come from [`crate::contract::lambda`]; the state, timeout
//! and race bodies are the shared ones, read through the contract's outcome table.

use bytes::Bytes;

use super::shared;
use super::Check;
use crate::check::call::{request, Call};
use crate::check::context::{CheckRun, Ctx, Halt};
use crate::check::outcome::Group;
use crate::contract::lambda::{self as c, SEND_CALLBACK_SUCCESS};
use crate::wire::lambda::{self as wire, CodeFrom, Observed};

pub(super) fn checks() -> Vec<Check> {
    use Group::*;
    vec![
        check!("lambda.wire.success-body", Wire, c::R_SUCCESS, success_body,
            "Success, Failure and Heartbeat on a live id answer HTTP 200 with an empty body and x-amzn-RequestId"),
        check!("lambda.wire.error-header", Wire, c::R_ERROR_HEADER, error_header,
            "a closed callback's error carries x-amzn-ErrorType: CallbackTimeoutException, {\"Type\":\"User\",\"Message\":…} and x-amzn-RequestId"),
        check!("lambda.validation.unknown-id", Validation, c::R_UNKNOWN_ID, shared::invalid_token,
            "a well-formed id the service never issued is ResourceNotFoundException (404)"),
        check!("lambda.state.duplicate-success", State, c::R_FIRST_WINS, shared::duplicate_success,
            "a second Success on a completed callback is CallbackTimeoutException"),
        check!("lambda.state.failure-after-success", State, c::R_FIRST_WINS, shared::failure_after_success,
            "a Failure after a Success is CallbackTimeoutException"),
        check!("lambda.state.success-after-failure", State, c::R_FIRST_WINS, shared::success_after_failure,
            "a Success after a Failure is CallbackTimeoutException"),
        check!("lambda.state.heartbeat-after-completion", State, c::R_FIRST_WINS, shared::heartbeat_after_completion,
            "a Heartbeat on a completed callback is CallbackTimeoutException"),
        check!("lambda.state.result-stored", State, c::R_RESULT_AS_SENT, shared::result_stored,
            "the callback keeps the winner's Result and ErrorObject as sent"),
        check!("lambda.state.sequences", State, c::R_FIRST_WINS, shared::sequences,
            "random sequences of calls on several ids answer as the model says"),
        check!("lambda.timeouts.callback-timeout", Timeouts, c::R_TIMEOUT, shared::task_timeout,
            "a Success after TimeoutSeconds is CallbackTimeoutException"),
        check!("lambda.timeouts.heartbeat-timeout", Timeouts, c::R_TIMEOUT, shared::heartbeat_timeout,
            "a Heartbeat after a missed HeartbeatTimeoutSeconds is CallbackTimeoutException"),
        check!("lambda.timeouts.heartbeat-keeps-alive", Timeouts, c::R_HEARTBEAT, shared::heartbeat_keeps_alive,
            "heartbeats within HeartbeatTimeoutSeconds keep a callback open"),
        check!("lambda.timeouts.heartbeat-does-not-extend-timeout", Timeouts, c::R_HEARTBEAT, shared::heartbeat_does_not_extend_timeout,
            "heartbeats restart only the heartbeat timer: the overall timeout still closes the callback"),
        check!("lambda.races.one-winner", Races, c::R_ONE_WINNER, shared::races,
            "up to 64 concurrent Success, Failure and Heartbeat calls on one id: one winner, a linearizable history"),
    ]
}

/// Each operation on a live id: 200, an empty body, a request id.
fn success_body(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let calls = [
        Call::Heartbeat { token: &t.token },
        Call::Succeed { token: &t.token, output: "{\"done\":true}" },
    ];
    let t2 = ctx.live()?;
    let fail = Call::Fail { token: &t2.token, error: Some("Check.Error"), cause: Some("why") };
    for call in calls.into_iter().chain([fail]) {
        let (req, res) = ctx.send(request(ctx.provider, call, false))?;
        let problem = match &res {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(r) if r.status != 200 => Some(format!("HTTP {}", r.status)),
            Ok(r) if !r.body.is_empty() => Some(format!("a {}-byte body", r.body.len())),
            Ok(r) if r.header(c::REQUEST_ID_HEADER).is_none_or(str::is_empty) => {
                Some("no x-amzn-RequestId".to_owned())
            }
            Ok(_) => None,
        };
        if let Some(p) = problem {
            let want = "HTTP 200, an empty body, x-amzn-RequestId";
            return Err(Halt::Fail(ctx.failure(p, want, &req, &res)));
        }
    }
    Ok(3)
}

/// The closed error as the contract writes it: the code in the header, `Type` and `Message`.
fn error_header(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let body = Bytes::from_static(b"{}");
    super::expect_ok(ctx, wire::encode(&SEND_CALLBACK_SUCCESS, &t.token, body.clone()))?;
    let again = wire::encode(&SEND_CALLBACK_SUCCESS, &t.token, body);
    let (req, res) = ctx.send(again)?;
    let problem = match &res {
        Err(e) => Some(format!("no answer: {e}")),
        Ok(r) => match wire::decode_response(r.status, &r.headers, &r.body) {
            Observed::Error { code_from: CodeFrom::Header, code, error_type, message, status }
                if code.as_deref() == Some(c::CALLBACK_TIMEOUT.code) =>
            {
                let body: serde_json::Value =
                    serde_json::from_slice(&r.body).unwrap_or_default();
                if status != c::CALLBACK_TIMEOUT.status {
                    Some(format!("HTTP {status}"))
                } else if error_type.as_deref() != Some("User") {
                    Some(format!("Type {error_type:?}"))
                } else if message.is_none() || body.get(c::message_key(&c::CALLBACK_TIMEOUT)).is_none()
                {
                    Some("no Message member".to_owned())
                } else if r.header(c::REQUEST_ID_HEADER).is_none_or(str::is_empty) {
                    Some("no x-amzn-RequestId".to_owned())
                } else {
                    None
                }
            }
            Observed::Error { code_from: CodeFrom::Body, .. } => Some(
                "the code is in the body, not in x-amzn-ErrorType (botocore and the Rust SDK read the header first)".to_owned(),
            ),
            other => Some(format!("got {other:?}")),
        },
    };
    match problem {
        None => Ok(1),
        Some(p) => Err(Halt::Fail(ctx.failure(
            p,
            "HTTP 400, x-amzn-ErrorType: CallbackTimeoutException, {\"Type\":\"User\",\"Message\":…}",
            &req,
            &res,
        ))),
    }
}
