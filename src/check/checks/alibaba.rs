//! Alibaba-specific checks: RPC envelopes, parameter and operation errors, parameter placement.
//!
//! Limits and codes come from [`crate::contract::alibaba`]; the member-limit bodies are shared.

use bytes::Bytes;
use proptest::prelude::*;

use super::shared;
use super::{expect, expect_ok, expect_unsigned, Check, Want};
use super::{identity, stored};
use crate::check::call::{observe, request, Call, Seen};
use crate::check::context::{CheckRun, Ctx, Halt};
use crate::check::outcome::Group;
use crate::contract::alibaba::{self as c, REPORT_TASK_FAILED, REPORT_TASK_SUCCEEDED};
use crate::contract::Provider;
use crate::wire::alibaba::{encode, encode_params};

pub(super) fn checks() -> Vec<Check> {
    use Group::*;
    let output = shared::limit(&REPORT_TASK_SUCCEEDED, "Output");
    let error = shared::limit(&REPORT_TASK_FAILED, "Error");
    let cause = shared::limit(&REPORT_TASK_FAILED, "Cause");
    vec![
        check!("alibaba.wire.success-body", Wire, c::R_SUCCESS, success_body,
            "a report on a live token answers 200 {\"EventId\": <int64>, \"RequestId\"} and never a Code"),
        check!("alibaba.wire.error-envelope", Wire, c::R_ERROR_ENVELOPE, error_envelope,
            "errors are JSON {RequestId, HostId, Code, Message, Recommend} with the catalogue's status, never XML"),
        check!("alibaba.wire.request-too-large", Wire, c::R_BODY_SIZE, request_too_large,
            format!("a request over {} bytes is EntityTooLarge", c::MAX_REQUEST_BYTES)),
        check!("alibaba.wire.parameter-placement", Wire, c::R_PROTOCOL, parameter_placement,
            "parameters are read from the query and the form body alike (Tea, pop-core, GET)"),
        check!("alibaba.wire.format-case", Wire, c::R_COMMON_PARAMS, format_case,
            "Format=JSON and Format=json both work, with RegionId and an empty SignatureType"),
        check!("alibaba.wire.json-body", Wire, c::R_MEDIA_TYPE, json_body,
            "a JSON body carries parameters like a form body"),
        check!("alibaba.wire.token-shape", Wire, c::R_TOKEN_SHAPE, token_shape,
            "issued tokens look like real ones: base64 of v1#<flow>#<execution>#<event id>#<mac>"),
        check!("alibaba.validation.action-not-supported", Validation, c::R_ACTION, action_not_supported,
            "an unknown Action is ActionNotSupported naming it"),
        check!("alibaba.validation.api-version", Validation, c::R_VERSION, api_version,
            "a Version other than 2019-03-15 is APIVersionNotSupported naming it"),
        check!("alibaba.validation.missing-params", Validation, c::R_MISSING_PARAMS, missing_params,
            "a missing TaskToken, Output or Error is MissingRequiredParams naming it"),
        check!("alibaba.validation.invalid-token", Validation, c::R_INVALID_ARGUMENT, shared::invalid_token,
            "a token the service never issued is InvalidArgument"),
        check!("alibaba.validation.altered-tokens", Validation, c::R_TOKEN_IDENTITY, identity::altered_tokens,
            format!("a live token (asked for as long as the source can make it) changed at first, middle, last and {}: one character, its case, cut there, or extended, is InvalidArgument and leaves the task untouched",
                shared::cuts())),
        check!("alibaba.validation.altered-token-positions", Validation, c::R_TOKEN_IDENTITY, identity::altered_token_positions,
            "a live token changed at a random position (a replacement or a case flip) is InvalidArgument; shrinks to the position"),
        check!("alibaba.validation.output-bytes", Validation, c::R_OUTPUT_LIMIT,
            |ctx| shared::member_limit(ctx, &REPORT_TASK_SUCCEEDED, "Output"),
            format!("Output is at most {} UTF-8 bytes (CloudFlow; {} on Serverless Workflow); one more is EntityTooLarge",
                output.max, c::SERVERLESS_WORKFLOW_OUTPUT_MAX)),
        check!("alibaba.validation.error-length", Validation, c::R_ERROR_LIMIT,
            |ctx| shared::member_limit(ctx, &REPORT_TASK_FAILED, "Error"),
            format!("Error is {} to {} characters (not bytes); outside that, InvalidArgument", error.min, error.max)),
        check!("alibaba.validation.cause-length", Validation, c::R_CAUSE_LIMIT,
            |ctx| shared::member_limit(ctx, &REPORT_TASK_FAILED, "Cause"),
            format!("Cause is {} to {} characters (not bytes); outside that, InvalidArgument", cause.min, cause.max)),
        check!("alibaba.validation.invalid-output", Validation, c::R_INVALID_ARGUMENT, shared::invalid_output,
            "a non-JSON Output on a live token is InvalidArgument and leaves the task open"),
        check!("alibaba.validation.json-scalars", Validation, c::R_INVALID_ARGUMENT, shared::json_scalars,
            "JSON scalars and arrays are valid outputs"),
        check!("alibaba.validation.media-type", Validation, c::R_MEDIA_TYPE, media_type,
            "a body that is neither form-urlencoded nor JSON is UnsupportedMediaType (415)"),
        check!("alibaba.validation.parameter-syntax", Validation, c::R_PARAM_SYNTAX, parameter_syntax,
            "bad percent-encoding and duplicate parameters are InvalidArgument"),
        check!("alibaba.state.duplicate-report", State, c::R_FIRST_WINS, shared::duplicate_success,
            "a second report on a completed task is TaskAlreadyCompleted"),
        check!("alibaba.state.failure-after-success", State, c::R_FIRST_WINS, shared::failure_after_success,
            "ReportTaskFailed after a success is TaskAlreadyCompleted"),
        check!("alibaba.state.success-after-failure", State, c::R_FIRST_WINS, shared::success_after_failure,
            "ReportTaskSucceeded after a failure is TaskAlreadyCompleted"),
        check!("alibaba.state.already-completed-message", State, c::R_ALREADY_COMPLETED, shared::closed_message_names_token,
            "TaskAlreadyCompleted's message is Task <token> has already completed."),
        check!("alibaba.state.result-stored", State, c::R_RESULT_AS_SENT, shared::result_stored,
            "the task stores the winner's Output, Error and Cause byte for byte"),
        check!("alibaba.state.result-byte-exact", State, c::R_RESULT_AS_SENT, stored::result_byte_exact,
            "Outputs with whitespace, escapes, number forms, repeated keys and deep nesting, and Errors and Causes with spaces, tabs and CR LF, are stored byte for byte"),
        check!("alibaba.state.sequences", State, c::R_FIRST_WINS, shared::sequences,
            "random sequences of reports on several tokens answer as the model says"),
        check!("alibaba.timeouts.task-timeout", Timeouts, c::R_ALREADY_COMPLETED, shared::task_timeout,
            "a report on a timed-out task is TaskAlreadyCompleted"),
        check!("alibaba.races.one-winner", Races, c::R_ONE_WINNER, shared::races,
            "up to 64 concurrent reports on one token: one winner, a linearizable history"),
        check!("alibaba.robustness.random-parameters", Robustness, c::R_ERROR_ENVELOPE, random_parameters,
            "random parameter bytes get a 4xx JSON error, never a 5xx, XML, or a hang"),
    ]
}

fn success_body(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let (req, res) = ctx.send(request(
        Provider::Alibaba,
        Call::Succeed { token: &t.token, output: "{}" },
        false,
    ))?;
    let body: Option<serde_json::Value> =
        res.as_ref().ok().and_then(|r| serde_json::from_slice(&r.body).ok());
    let ok = res.as_ref().is_ok_and(|r| r.status == 200)
        && body.as_ref().is_some_and(|b| {
            b["EventId"].is_i64() && b["RequestId"].is_string() && b.get("Code").is_none()
        });
    if ok {
        Ok(1)
    } else {
        Err(Halt::Fail(ctx.failure(
            "the success body is not {\"EventId\": <int64>, \"RequestId\": …} without Code",
            "HTTP 200 {\"EventId\": 1, \"RequestId\": \"…\"}",
            &req,
            &res,
        )))
    }
}

fn error_envelope(ctx: &Ctx<'_>) -> CheckRun {
    let garbage = Call::Succeed { token: "djEjbm90LWEtcmVhbC10b2tlbg==", output: "{}" };
    let (req, res) = ctx.send(request(Provider::Alibaba, garbage, false))?;
    let problem = match &res {
        Err(e) => Some(format!("no answer: {e}")),
        Ok(r) => {
            match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&r.body) {
                Err(_) => Some("the error body is not a JSON object".to_owned()),
                Ok(map) => {
                    let missing: Vec<&str> =
                        ["RequestId", "HostId", "Code", "Message", "Recommend"]
                            .into_iter()
                            .filter(|k| !map.get(*k).is_some_and(|v| v.is_string()))
                            .collect();
                    let status = c::CONTRACT
                        .error(map.get("Code").and_then(|v| v.as_str()).unwrap_or(""))
                        .map(|e| e.status);
                    if !missing.is_empty() {
                        Some(format!("missing {missing:?}"))
                    } else if status != Some(r.status) {
                        Some(format!("HTTP {} for that Code (catalogue: {status:?})", r.status))
                    } else {
                        None
                    }
                }
            }
        }
    };
    match problem {
        None => Ok(1),
        Some(p) => Err(Halt::Fail(ctx.failure(
            p,
            "JSON {\"RequestId\",\"HostId\",\"Code\",\"Message\",\"Recommend\"} with the catalogue's HTTP status",
            &req,
            &res,
        ))),
    }
}

fn request_too_large(ctx: &Ctx<'_>) -> CheckRun {
    let output = "a".repeat(c::MAX_REQUEST_BYTES);
    let req = encode(&REPORT_TASK_SUCCEEDED, &[("TaskToken", "x")], &[("Output", &output)]);
    let message = c::ENTITY_TOO_LARGE.render_message(&[&c::MAX_REQUEST_BYTES.to_string()]);
    let want = Want::Error { spec: &c::ENTITY_TOO_LARGE, message: message.as_deref() };
    expect_unsigned(ctx, req, want)?;
    Ok(1)
}

fn form(pairs: &[(&str, &str)]) -> http::Request<Bytes> {
    http::Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(encode_params(pairs.iter().copied())))
        .unwrap_or_default()
}

fn parameter_placement(ctx: &Ctx<'_>) -> CheckRun {
    let common =
        [("Action", "ReportTaskSucceeded"), ("Version", c::API_VERSION), ("Format", "JSON")];
    let t = ctx.live()?;
    let mut all = common.to_vec();
    all.extend([("TaskToken", t.token.as_str()), ("Output", "{\"a\":\"b c\"}")]);
    expect_ok(ctx, form(&all))?;
    let t = ctx.live()?;
    let mut all = common.to_vec();
    all.extend([("TaskToken", t.token.as_str()), ("Output", "{\"a\":\"b c\"}")]);
    let get = http::Request::get(format!("/?{}", encode_params(all)))
        .body(Bytes::new())
        .unwrap_or_default();
    expect_ok(ctx, get)?;
    // In a form body `+` is a space.
    let t = ctx.live()?;
    let query = encode_params([
        ("Action", "ReportTaskSucceeded"),
        ("Version", c::API_VERSION),
        ("TaskToken", t.token.as_str()),
    ]);
    let plus = http::Request::post(format!("/?{query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(b"Output=%7B%22a%22%3A%22b+c%22%7D"))
        .unwrap_or_default();
    let (req, res) = ctx.send(plus)?;
    if observe(ctx.provider, &res) != Seen::Ok {
        return Err(Halt::Fail(ctx.failure(
            "a form body with + for a space was refused",
            "200",
            &req,
            &res,
        )));
    }
    if let Some(state) = ctx.state(&t)? {
        if state.output.as_deref() != Some("{\"a\":\"b c\"}") {
            return Err(Halt::Fail(ctx.failure(
                format!("the form body Output=…b+c… was stored as {:?}", state.output),
                "{\"a\":\"b c\"} (a + in a form body is a space)",
                &req,
                &res,
            )));
        }
    }
    Ok(3)
}

fn json_body(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let body = serde_json::json!({"TaskToken": t.token, "Output": "{\"k\":1}"}).to_string();
    let req =
        http::Request::post(format!("/?Action=ReportTaskSucceeded&Version={}", c::API_VERSION))
            .header("content-type", "application/json")
            .body(Bytes::from(body))
            .unwrap_or_default();
    expect_ok(ctx, req)?;
    Ok(1)
}

fn token_shape(ctx: &Ctx<'_>) -> CheckRun {
    use base64::Engine as _;
    let t = ctx.live()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&t.token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let parts: Vec<&str> = decoded.split('#').collect();
    let ok = parts.len() == 5
        && parts[0] == "v1"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && parts[3].parse::<u64>().is_ok()
        && base64::engine::general_purpose::STANDARD.decode(parts[4]).is_ok();
    // The token also has to work: the exchange shows it in use.
    let (req, res) = ctx.send(request(
        Provider::Alibaba,
        Call::Succeed { token: &t.token, output: "{}" },
        false,
    ))?;
    if ok {
        Ok(1)
    } else {
        Err(Halt::Fail(ctx.failure(
            format!("the target issued {:?}", t.token),
            "base64 of v1#<flow>#<execution>#<event id>#<base64 mac>",
            &req,
            &res,
        )))
    }
}

fn format_case(ctx: &Ctx<'_>) -> CheckRun {
    for format in ["JSON", "json"] {
        let t = ctx.live()?;
        let query = encode_params([
            ("Action", "ReportTaskFailed"),
            ("Version", c::API_VERSION),
            ("Format", format),
            ("RegionId", "cn-hangzhou"),
            ("SignatureType", ""),
            ("TaskToken", t.token.as_str()),
        ]);
        let req = http::Request::post(format!("/?{query}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from(encode_params([("Error", "E")])))
            .unwrap_or_default();
        expect_ok(ctx, req)?;
    }
    Ok(2)
}

fn action_not_supported(ctx: &Ctx<'_>) -> CheckRun {
    let mut req = encode(&REPORT_TASK_SUCCEEDED, &[("TaskToken", "x")], &[("Output", "{}")]);
    *req.uri_mut() = req
        .uri()
        .to_string()
        .replace("ReportTaskSucceeded", "ReportTaskHeartbeat")
        .parse()
        .unwrap_or_default();
    let message = c::ACTION_NOT_SUPPORTED.render_message(&["ReportTaskHeartbeat"]);
    expect(ctx, req, Want::Error { spec: &c::ACTION_NOT_SUPPORTED, message: message.as_deref() })?;
    Ok(1)
}

fn api_version(ctx: &Ctx<'_>) -> CheckRun {
    let mut req = encode(&REPORT_TASK_SUCCEEDED, &[("TaskToken", "x")], &[("Output", "{}")]);
    *req.uri_mut() =
        req.uri().to_string().replace(c::API_VERSION, "2020-01-01").parse().unwrap_or_default();
    let message = c::API_VERSION_NOT_SUPPORTED.render_message(&["2020-01-01"]);
    let spec = &c::API_VERSION_NOT_SUPPORTED;
    expect(ctx, req, Want::Error { spec, message: message.as_deref() })?;
    Ok(1)
}

fn missing_params(ctx: &Ctx<'_>) -> CheckRun {
    let cases = [
        ("TaskToken", encode(&REPORT_TASK_SUCCEEDED, &[], &[("Output", "{}")])),
        ("Output", encode(&REPORT_TASK_SUCCEEDED, &[("TaskToken", "x")], &[])),
        ("Error", encode(&REPORT_TASK_FAILED, &[("TaskToken", "x")], &[("Cause", "c")])),
    ];
    for (name, req) in cases {
        let message = c::MISSING_REQUIRED_PARAMS.render_message(&[name]);
        let spec = &c::MISSING_REQUIRED_PARAMS;
        expect(ctx, req, Want::Error { spec, message: message.as_deref() })?;
    }
    Ok(3)
}

fn media_type(ctx: &Ctx<'_>) -> CheckRun {
    let mut req = encode(&REPORT_TASK_SUCCEEDED, &[("TaskToken", "x")], &[("Output", "{}")]);
    req.headers_mut().insert("content-type", http::HeaderValue::from_static("application/xml"));
    let spec = &c::UNSUPPORTED_MEDIA_TYPE;
    expect_unsigned(ctx, req, Want::Error { spec, message: spec.message })?;
    Ok(1)
}

fn parameter_syntax(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let bad_escape = format!(
        "/?Action=ReportTaskSucceeded&Version={}&TaskToken={}&Output=%zz",
        c::API_VERSION,
        encode_params([("x", t.token.as_str())]).trim_start_matches("x=")
    );
    let req = http::Request::post(bad_escape).body(Bytes::new()).unwrap_or_default();
    expect_unsigned(ctx, req, Want::error(&c::INVALID_ARGUMENT))?;
    let duplicate = encode(
        &REPORT_TASK_SUCCEEDED,
        &[("TaskToken", t.token.as_str()), ("Output", "1")],
        &[("Output", "2")],
    );
    expect_unsigned(ctx, duplicate, Want::error(&c::INVALID_ARGUMENT))?;
    // Neither took effect: the task is still open.
    expect_ok(
        ctx,
        request(Provider::Alibaba, Call::Succeed { token: &t.token, output: "{}" }, false),
    )?;
    Ok(2)
}

fn random_parameters(ctx: &Ctx<'_>) -> CheckRun {
    let strategy = (proptest::collection::vec(any::<u8>(), 0..256), any::<bool>());
    ctx.property(strategy, |(bytes, in_body)| {
        let text: String = bytes.iter().map(|b| char::from(b' ' + b % 95)).collect();
        let req = if *in_body {
            http::Request::post("/?Action=ReportTaskSucceeded&Version=2019-03-15")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from(text.replace(' ', "&")))
                .unwrap_or_default()
        } else {
            let query: String = text.chars().filter(|c| !c.is_whitespace() && *c != '#').collect();
            http::Request::post(format!("/?{query}")).body(Bytes::new()).unwrap_or_default()
        };
        let (req, res) = ctx.send_unsigned(req);
        match observe(ctx.provider, &res) {
            Seen::Error { status, code: Some(_), .. } if (400..500).contains(&status) => Ok(()),
            other => Err(Halt::Fail(ctx.failure(
                format!("got {}", other.describe()),
                "a 4xx JSON error with a Code",
                &req,
                &res,
            ))),
        }
    })
}
