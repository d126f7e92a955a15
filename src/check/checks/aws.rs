//! AWS-specific checks: the awsJson1_0 envelopes, Coral validation messages, malformed input.
//!
//! Limits and codes come from [`crate::contract::aws`]; the member-limit bodies are shared.

use bytes::Bytes;
use proptest::prelude::*;

use super::shared::{self, aws_violation, cuts};
use super::{expect, expect_ok, Check, Want};
use super::{identity, stored};
use crate::check::call::{observe, request, Call, Seen};
use crate::check::context::{CheckRun, Ctx, Halt};
use crate::check::outcome::Group;
use crate::check::strategies::length_around;
use crate::check::target::{Received, TransportError};
use crate::contract::aws::{self as c, SEND_TASK_FAILURE, SEND_TASK_HEARTBEAT, SEND_TASK_SUCCESS};
use crate::wire::aws::{encode, encode_raw};

pub(super) fn checks() -> Vec<Check> {
    use Group::*;
    let token = shared::limit(&SEND_TASK_HEARTBEAT, "taskToken");
    let output = shared::limit(&SEND_TASK_SUCCESS, "output");
    let error = shared::limit(&SEND_TASK_FAILURE, "error");
    let cause = shared::limit(&SEND_TASK_FAILURE, "cause");
    vec![
        check!("aws.wire.success-body", Wire, c::R_SUCCESS_BODY, success_body,
            "a call on a live token answers 200 with the body exactly {}"),
        check!("aws.wire.success-headers", Wire, c::R_SUCCESS_HEADERS, success_headers,
            "a success carries Content-Type application/x-amz-json-1.0 and a lowercase UUID x-amzn-RequestId"),
        check!("aws.wire.error-envelope", Wire, c::R_ERROR_ENVELOPE, error_envelope,
            "errors are 400, application/x-amz-json-1.0, {\"__type\",\"message\"}, a request id, no X-Amzn-ErrorType"),
        check!("aws.wire.namespaced-type", Wire, c::R_ERROR_ENVELOPE, namespaced_type,
            "__type is namespace#Code (com.amazonaws.swf.service.v2.model, com.amazon.coral.validate)"),
        check!("aws.wire.unknown-operation", Wire, c::R_UNKNOWN_OPERATION, unknown_operation,
            "an unknown X-Amz-Target is exactly {\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}"),
        check!("aws.wire.request-too-large", Wire, c::R_BODY_SIZE, request_too_large,
            format!("a body over {} bytes is the plain-text 413", c::MAX_REQUEST_BYTES)),
        check!("aws.wire.unknown-members", Wire, c::R_UNKNOWN_MEMBERS, unknown_members,
            "unknown members in the body are ignored"),
        check!("aws.wire.token-shape", Wire, c::R_TOKEN_SHAPE, token_shape,
            "issued tokens look like real ones: standard base64 starting AQ or AAAAKgAAAA, 660 to 700 characters"),
        check!("aws.validation.invalid-token", Validation, c::R_INVALID_TOKEN, shared::invalid_token,
            "a token the service never issued is InvalidToken, Invalid Token: 'Invalid token'"),
        check!("aws.validation.token-length", Validation, c::R_TOKEN_LENGTH, token_length,
            format!("taskToken is {} to {} characters; outside that, the Coral ValidationException", token.min, token.max)),
        check!("aws.validation.output-bytes", Validation, c::R_OUTPUT_LENGTH,
            |ctx| shared::member_limit(ctx, &SEND_TASK_SUCCESS, "output"),
            format!("output is at most {} UTF-8 bytes of the decoded string, raw or \\u-escaped", output.max)),
        check!("aws.validation.error-length", Validation, c::R_ERROR_LENGTH,
            |ctx| shared::member_limit(ctx, &SEND_TASK_FAILURE, "error"),
            format!("error is at most {} characters (not bytes)", error.max)),
        check!("aws.validation.cause-length", Validation, c::R_CAUSE_LENGTH,
            |ctx| shared::member_limit(ctx, &SEND_TASK_FAILURE, "cause"),
            format!("cause is at most {} characters (not bytes)", cause.max)),
        check!("aws.validation.missing-member", Validation, c::R_MISSING_MEMBER, missing_member,
            "a missing required member is ValidationException: Member must not be null"),
        check!("aws.validation.several-violations", Validation, c::R_MANY_VIOLATIONS, several_violations,
            "several violations are counted and joined with '; ' in model order"),
        check!("aws.validation.token-before-output", Validation, c::R_ORDER_TOKEN_FIRST, token_before_output,
            "a garbage token with a non-JSON output is InvalidToken"),
        check!("aws.validation.altered-tokens", Validation, c::R_TOKEN_IDENTITY, identity::altered_tokens,
            format!("a live token (asked for at {} characters) changed at first, middle, last and {}: one character, its case, cut there, or extended, is InvalidToken and leaves the task untouched",
                identity::TOKEN_LENGTH, cuts())),
        check!("aws.validation.altered-token-positions", Validation, c::R_TOKEN_IDENTITY, identity::altered_token_positions,
            "a live token changed at a random position (a replacement or a case flip) is InvalidToken; shrinks to the position"),
        check!("aws.validation.invalid-output", Validation, c::R_INVALID_OUTPUT, shared::invalid_output,
            "a non-JSON output on a live token is InvalidOutput and leaves the task open"),
        check!("aws.validation.json-scalars", Validation, c::R_INVALID_OUTPUT, shared::json_scalars,
            "JSON scalars and arrays are valid outputs"),
        check!("aws.state.duplicate-success", State, c::R_TASK_TIMED_OUT, shared::duplicate_success,
            "a second success on a completed task is TaskTimedOut, not InvalidToken or 200"),
        check!("aws.state.failure-after-success", State, c::R_FIRST_WINS, shared::failure_after_success,
            "SendTaskFailure after a success is TaskTimedOut"),
        check!("aws.state.success-after-failure", State, c::R_FIRST_WINS, shared::success_after_failure,
            "SendTaskSuccess after a failure is TaskTimedOut"),
        check!("aws.state.heartbeat-after-completion", State, c::R_FIRST_WINS, shared::heartbeat_after_completion,
            "SendTaskHeartbeat after a completion is TaskTimedOut"),
        check!("aws.state.failure-without-error", State, c::R_FAILURE_EMPTY, failure_without_error,
            "SendTaskFailure with neither error nor cause is accepted"),
        check!("aws.state.result-stored", State, c::R_RESULT_AS_SENT, shared::result_stored,
            "the task stores the winner's output, error and cause byte for byte"),
        check!("aws.state.result-byte-exact", State, c::R_RESULT_AS_SENT, stored::result_byte_exact,
            "outputs with whitespace, escapes, number forms, repeated keys and deep nesting, and errors and causes with spaces, tabs and CR LF, are stored byte for byte"),
        check!("aws.state.sequences", State, c::R_FIRST_WINS, shared::sequences,
            "random sequences of success, failure and heartbeat on several tokens answer as the model says"),
        check!("aws.timeouts.task-timeout", Timeouts, c::R_TIMEOUT, shared::task_timeout,
            "a task past TimeoutSeconds answers TaskTimedOut"),
        check!("aws.timeouts.heartbeat-timeout", Timeouts, c::R_TIMEOUT, shared::heartbeat_timeout,
            "a task past HeartbeatSeconds without a heartbeat answers TaskTimedOut"),
        check!("aws.timeouts.heartbeat-keeps-alive", Timeouts, c::R_HEARTBEAT, shared::heartbeat_keeps_alive,
            "heartbeats restart the heartbeat deadline"),
        check!("aws.timeouts.heartbeat-does-not-extend-timeout", Timeouts, c::R_HEARTBEAT,
            shared::heartbeat_does_not_extend_timeout,
            "a heartbeat does not extend TimeoutSeconds"),
        check!("aws.races.one-winner", Races, c::R_ONE_WINNER, shared::races,
            "up to 64 concurrent calls on one token: one winner, a linearizable history"),
        check!("aws.robustness.malformed-json", Robustness, c::R_SERIALIZATION, malformed_json,
            "bodies that are not a JSON object are SerializationException"),
        check!("aws.robustness.wrong-types", Robustness, c::R_SERIALIZATION, wrong_types,
            "members of the wrong JSON type are SerializationException"),
        check!("aws.robustness.random-bodies", Robustness, c::R_ERROR_ENVELOPE, random_bodies,
            "random bytes get a 400 error envelope, never a 5xx, a hang or a dropped connection"),
    ]
}

fn heartbeat(token: &str) -> http::Request<Bytes> {
    request(crate::contract::Provider::Aws, Call::Heartbeat { token }, false)
}

/// SendTaskSuccess on a live token: the one call every implementation must accept.
#[allow(clippy::type_complexity)]
fn succeed(
    ctx: &Ctx<'_>,
) -> Result<(http::Request<Bytes>, Result<Received, TransportError>), Halt> {
    let t = ctx.live()?;
    let call = Call::Succeed { token: &t.token, output: "{\"ok\":true}" };
    ctx.send(request(crate::contract::Provider::Aws, call, false))
}

/// What came back, in a few words, for failure messages.
fn described(res: &Result<Received, TransportError>) -> String {
    match res {
        Ok(r) => format!("HTTP {} with {} body bytes", r.status, r.body.len()),
        Err(e) => format!("no answer ({e})"),
    }
}

fn success_body(ctx: &Ctx<'_>) -> CheckRun {
    let (req, res) = succeed(ctx)?;
    match &res {
        Ok(r) if r.status == 200 && r.body.as_ref() == b"{}" => Ok(1),
        _ => Err(Halt::Fail(ctx.failure(
            format!("SendTaskSuccess on a live token got {}", described(&res)),
            "HTTP 200, body {}",
            &req,
            &res,
        ))),
    }
}

fn is_lowercase_uuid(s: &str) -> bool {
    let groups: Vec<usize> = s.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn success_headers(ctx: &Ctx<'_>) -> CheckRun {
    let (req, res) = succeed(ctx)?;
    let ok = res.as_ref().is_ok_and(|r| {
        r.status == 200
            && r.header("content-type") == Some(c::CONTENT_TYPE)
            && r.header("x-amzn-requestid").is_some_and(is_lowercase_uuid)
    });
    if ok {
        Ok(1)
    } else {
        Err(Halt::Fail(ctx.failure(
            format!(
                "SendTaskSuccess got {}, Content-Type {:?}, x-amzn-RequestId {:?}",
                described(&res),
                res.as_ref().ok().and_then(|r| r.header("content-type")),
                res.as_ref().ok().and_then(|r| r.header("x-amzn-requestid"))
            ),
            "Content-Type: application/x-amz-json-1.0 and x-amzn-RequestId: <lowercase uuid>",
            &req,
            &res,
        )))
    }
}

fn error_envelope(ctx: &Ctx<'_>) -> CheckRun {
    let (req, res) = ctx.send(heartbeat("AQCDnot-a-real-token"))?;
    let problem = match &res {
        Err(e) => Some(format!("no answer: {e}")),
        Ok(r) => {
            let body: Option<serde_json::Map<String, serde_json::Value>> =
                serde_json::from_slice(&r.body).ok();
            if r.status != 400 {
                Some(format!("status {}", r.status))
            } else if r.header("content-type") != Some(c::CONTENT_TYPE) {
                Some(format!("Content-Type {:?}", r.header("content-type")))
            } else if r.headers.contains_key("x-amzn-errortype") {
                Some("an X-Amzn-ErrorType header".into())
            } else if r.header("x-amzn-requestid").is_none() {
                Some("no x-amzn-RequestId header".into())
            } else {
                match body {
                    None => Some("the body is not a JSON object".into()),
                    Some(map) => {
                        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                        let strings = map.values().all(|v| v.is_string());
                        (keys != ["__type", "message"] || !strings)
                            .then(|| format!("the body members are {keys:?}"))
                    }
                }
            }
        }
    };
    match problem {
        None => Ok(1),
        Some(p) => Err(Halt::Fail(ctx.failure(
            p,
            "HTTP 400, Content-Type: application/x-amz-json-1.0, x-amzn-RequestId, no X-Amzn-ErrorType, body {\"__type\":…,\"message\":…}",
            &req,
            &res,
        ))),
    }
}

fn raw_type(
    res: &Result<crate::check::target::Received, crate::check::target::TransportError>,
) -> Option<String> {
    let r = res.as_ref().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    v["__type"].as_str().map(str::to_owned)
}

fn namespaced_type(ctx: &Ctx<'_>) -> CheckRun {
    let cases = [
        (heartbeat("AQCDnot-a-real-token"), c::INVALID_TOKEN.qualified_code()),
        (encode(&SEND_TASK_SUCCESS, &[("taskToken", "x")], false), c::VALIDATION.qualified_code()),
    ];
    for (request, want) in cases {
        let (req, res) = ctx.send(request)?;
        if raw_type(&res).as_deref() != Some(want.as_str()) {
            return Err(Halt::Fail(ctx.failure(
                format!("__type is {:?}", raw_type(&res)),
                format!("__type {want}"),
                &req,
                &res,
            )));
        }
    }
    Ok(2)
}

fn unknown_operation(ctx: &Ctx<'_>) -> CheckRun {
    let (req, res) =
        ctx.send(encode_raw("AWSStepFunctions.SendTaskSucess", Bytes::from_static(b"{}")))?;
    let want = br#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#;
    match &res {
        Ok(r) if r.status == 400 && r.body.as_ref() == want => Ok(1),
        _ => Err(Halt::Fail(ctx.failure(
            "not the UnknownOperationException body",
            String::from_utf8_lossy(want),
            &req,
            &res,
        ))),
    }
}

fn request_too_large(ctx: &Ctx<'_>) -> CheckRun {
    let mut body = br#"{"taskToken":"x","output":"1"}"#.to_vec();
    body.resize(c::MAX_REQUEST_BYTES + 1, b' ');
    let (req, res) = ctx.send(encode_raw(SEND_TASK_SUCCESS.wire_name, Bytes::from(body)))?;
    match &res {
        Ok(r) if r.status == 413 && r.body.as_ref() == c::TOO_LARGE_BODY.as_bytes() => Ok(1),
        _ => Err(Halt::Fail(ctx.failure(
            "not the front end's 413",
            format!("HTTP 413, text body {:?}", c::TOO_LARGE_BODY),
            &req,
            &res,
        ))),
    }
}

fn token_length(ctx: &Ctx<'_>) -> CheckRun {
    let limit = shared::member(&SEND_TASK_HEARTBEAT, "taskToken")?.limit;
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".chars().collect();
    let strategy = (length_around(limit.max), any::<u64>());
    ctx.property(strategy, |(len, salt)| {
        let token: String =
            (0..*len).map(|i| alphabet[((*salt as usize) + i * 7) % alphabet.len()]).collect();
        let constraint = if *len < limit.min {
            Some(format!("Member must have length greater than or equal to {}", limit.min))
        } else if *len > limit.max {
            Some(format!("Member must have length less than or equal to {}", limit.max))
        } else {
            None
        };
        let message = match &constraint {
            Some(constraint) => Some(aws_violation("taskToken", constraint)),
            None => c::INVALID_TOKEN.message.map(str::to_owned),
        };
        let spec = if constraint.is_some() { &c::VALIDATION } else { &c::INVALID_TOKEN };
        expect(ctx, heartbeat(&token), Want::Error { spec, message: message.as_deref() })
            .map(|_| ())
    })
}

fn missing_member(ctx: &Ctx<'_>) -> CheckRun {
    let not_null = "Member must not be null";
    let no_output = encode(&SEND_TASK_SUCCESS, &[("taskToken", "AQCDnot-a-real-token")], false);
    let message = aws_violation("output", not_null);
    expect(ctx, no_output, Want::Error { spec: &c::VALIDATION, message: Some(&message) })?;
    let no_token = encode(&SEND_TASK_HEARTBEAT, &[], false);
    let message = aws_violation("taskToken", not_null);
    expect(ctx, no_token, Want::Error { spec: &c::VALIDATION, message: Some(&message) })?;
    Ok(2)
}

fn several_violations(ctx: &Ctx<'_>) -> CheckRun {
    let req = encode(&SEND_TASK_SUCCESS, &[("taskToken", "")], false);
    let want = "2 validation errors detected: Value at 'taskToken' failed to satisfy constraint: \
                Member must have length greater than or equal to 1; Value at 'output' failed to \
                satisfy constraint: Member must not be null";
    expect(ctx, req, Want::Error { spec: &c::VALIDATION, message: Some(want) })?;
    Ok(1)
}

fn token_before_output(ctx: &Ctx<'_>) -> CheckRun {
    let req =
        encode(&SEND_TASK_SUCCESS, &[("taskToken", "bad_token"), ("output", "output")], false);
    expect(ctx, req, Want::error(&c::INVALID_TOKEN))?;
    Ok(1)
}

fn failure_without_error(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let call = Call::Fail { token: &t.token, error: None, cause: None };
    expect_ok(ctx, request(crate::contract::Provider::Aws, call, false))?;
    Ok(1)
}

fn unknown_members(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let body = serde_json::json!({"taskToken": t.token, "fake": [1, {"x": null}], "Output": "x", "output2": 5});
    expect_ok(ctx, encode_raw(SEND_TASK_HEARTBEAT.wire_name, Bytes::from(body.to_string())))?;
    Ok(1)
}

fn token_shape(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let token = t.token.as_str();
    let base64 = !token.is_empty()
        && token.len() % 4 == 0
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    let prefix = token.starts_with("AQ") || token.starts_with("AAAAKgAAAA");
    // The token also has to work: the exchange shows it in use.
    let (req, res) = ctx.send(heartbeat(token))?;
    if base64 && prefix && (660..=700).contains(&token.len()) {
        return Ok(1);
    }
    let mut failure = ctx.failure(
        format!(
            "the target issued a {}-character token starting {:?}",
            token.len(),
            &token[..token.len().min(12)]
        ),
        "standard base64 starting AQ (callback) or AAAAKgAAAA (activity), 660 to 700 characters",
        &req,
        &res,
    );
    failure.transport_error = false;
    Err(Halt::Fail(failure))
}

fn malformed_json(ctx: &Ctx<'_>) -> CheckRun {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"not json".to_vec(),
        b"{\"taskToken\":\"\xff\xfe\",\"output\":\"1\"}".to_vec(),
        deep.into_bytes(),
    ];
    for body in &bodies {
        let req = encode_raw(SEND_TASK_SUCCESS.wire_name, Bytes::from(body.clone()));
        expect(ctx, req, Want::error(&c::SERIALIZATION))?;
    }
    Ok(bodies.len() as u32)
}

fn wrong_types(ctx: &Ctx<'_>) -> CheckRun {
    let bodies = [
        r#"{"taskToken":5,"output":"1"}"#,
        r#"{"taskToken":"t","output":{"a":1}}"#,
        r#"{"taskToken":["t"],"output":"1"}"#,
        r#"{"taskToken":true,"output":"1"}"#,
    ];
    for body in bodies {
        expect(
            ctx,
            encode_raw(SEND_TASK_SUCCESS.wire_name, Bytes::from_static(body.as_bytes())),
            Want::error(&c::SERIALIZATION),
        )?;
    }
    Ok(bodies.len() as u32)
}

fn random_bodies(ctx: &Ctx<'_>) -> CheckRun {
    let targets = [
        SEND_TASK_SUCCESS.wire_name,
        SEND_TASK_FAILURE.wire_name,
        SEND_TASK_HEARTBEAT.wire_name,
        "Nope",
    ];
    let strategy = (proptest::collection::vec(any::<u8>(), 0..512), 0usize..4);
    ctx.property(strategy, |(bytes, target)| {
        let (req, res) = ctx.send(encode_raw(targets[*target], Bytes::from(bytes.clone())))?;
        match observe(ctx.provider, &res) {
            Seen::Error { status: 400, code: Some(_), .. } => Ok(()),
            other => Err(Halt::Fail(ctx.failure(
                format!("got {}", other.describe()),
                "HTTP 400 with a JSON error envelope",
                &req,
                &res,
            ))),
        }
    })
}
