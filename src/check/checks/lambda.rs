//! Lambda durable callback checks: the restJson1 envelope, id and Result limits, errors by header.
//!
//! Limits, codes and message keys come from [`crate::contract::lambda`] and the target's
//! [`crate::contract::lambda::LambdaOptions`] (`ctx.lambda`); the state, timeout and race
//! bodies are mostly the shared ones, read through the contract's outcome table. Requests are
//! encoded as botocore sends them ([`crate::wire::lambda::encode`]) unless a check sends a
//! path of its own, and answers are read as botocore and the Rust SDK read them
//! ([`crate::wire::lambda::decode_response`]).

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use proptest::prelude::*;

use super::{expect, expect_ok, identity, shared, Check, Want};
use crate::check::call::{observe, request, Call, Seen};
use crate::check::context::{CheckRun, Ctx, Halt, SetupError, SkipReason};
use crate::check::outcome::Group;
use crate::check::strategies::{fill, pattern, text};
use crate::check::target::{Received, TransportError};
use crate::check::tokens::{LiveToken, TaskRequest};
use crate::contract::lambda::{
    self as c, CALLBACK_ID_MAX, ERROR_OBJECT_MAX, ERROR_OBJECT_STRINGS, PATH_PREFIX, STACK_TRACE,
};
use crate::contract::lambda::{
    SEND_CALLBACK_FAILURE, SEND_CALLBACK_HEARTBEAT, SEND_CALLBACK_SUCCESS,
};
use crate::contract::{ErrorSpec, Operation};
use crate::tasks::Status;
use crate::wire::lambda::{self as wire, CodeFrom, Observed};

/// A well-formed id (it matches the pattern) the service never issued.
const NEVER_ISSUED: &str = "AAAAbm90LWEtcmVhbC1jYWxsYmFjaw==";

/// The id alphabet, `[A-Za-z0-9+/]`.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 3986 unreserved characters stay; everything else is escaped (what SDKs send).
const LABEL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub(super) fn checks() -> Vec<Check> {
    use Group::*;
    let limit = c::RESULT_MAX;
    vec![
        // ---- wire ----
        check!("lambda.wire.success-body", Wire, c::R_SUCCESS, success_body,
            "Success, Failure and Heartbeat on a live id answer HTTP 200 with an empty body"),
        check!("lambda.wire.error-header", Wire, c::R_ERROR_HEADER, error_header,
            "a closed callback, an id never issued, an id breaking the pattern and a Result over the limit: the code is in x-amzn-ErrorType"),
        check!("lambda.wire.error-decodable", Wire, c::R_ERROR_DECODABLE, error_decodable,
            "those four errors decode, by botocore's and the Rust SDK's rules, to the contract's code: a JSON object body, never an empty 5xx"),
        check!("lambda.wire.statuses", Wire, c::R_STATUSES, statuses,
            format!("those four errors come with their shape's status: CallbackTimeoutException {}, ResourceNotFoundException {}, InvalidParameterValueException {}",
                c::CALLBACK_TIMEOUT.status, c::RESOURCE_NOT_FOUND.status, c::INVALID_PARAMETER_VALUE.status)),
        check!("lambda.wire.message-key", Wire, c::R_ERROR_BODY, message_key,
            format!("the message key is the shape's: `{}` for InvalidParameterValueException, `{}` for CallbackTimeoutException and ResourceNotFoundException",
                c::message_key(&c::INVALID_PARAMETER_VALUE), c::message_key(&c::CALLBACK_TIMEOUT))),
        check!("lambda.wire.error-type", Wire, c::R_ERROR_BODY, error_type,
            format!("the error body's Type is `{}` for those 4xx errors", c::error_type(&c::CALLBACK_TIMEOUT))),
        check!("lambda.wire.request-id", Wire, c::R_REQUEST_ID, request_id,
            "every answer, successes, those errors and an unknown route, carries x-amzn-RequestId: a lowercase UUID v4"),
        check!("lambda.wire.unknown-route", Wire, c::R_UNKNOWN_ROUTE, unknown_route,
            format!("another action, a GET, no action and a raw `/` inside the id are UnknownOperationException ({})", c::UNKNOWN_OPERATION.status)),
        // ---- validation ----
        check!("lambda.validation.unknown-id", Validation, c::R_UNKNOWN_ID, unknown_id,
            format!("a well-formed id the service never issued is ResourceNotFoundException ({})", c::RESOURCE_NOT_FOUND.status)),
        check!("lambda.validation.id-length", Validation, c::R_ID_LIMIT, id_length,
            format!("well-formed ids of 1 to {CALLBACK_ID_MAX} characters are looked up (never issued), {} and more get the validation error", CALLBACK_ID_MAX + 1)),
        check!("lambda.validation.id-pattern", Validation, c::R_ID_LIMIT, id_pattern,
            format!("random ids: those matching `{}` as a whole are looked up; a character outside the alphabet, three `=` or more, `=` in the middle, padding alone get the validation error", c::CALLBACK_ID_PATTERN)),
        check!("lambda.validation.result-bytes", Validation, c::R_RESULT_LIMIT, result_bytes,
            format!("random Results (UTF-8 of mixed widths, raw bytes) of exactly {limit} bytes are accepted, {} bytes and more get the validation error and the callback stays open", limit + 1)),
        check!("lambda.validation.error-object", Validation, c::R_ERROR_SHAPE, error_object,
            "a Failure body that is not JSON, not an object, or has a member of the wrong type gets the validation error; the callback stays open"),
        check!("lambda.validation.error-object-size", Validation, c::R_ERROR_LIMIT, error_object_size,
            format!("ErrorObject fields of exactly {ERROR_OBJECT_MAX} UTF-8 bytes together are accepted, {} get the validation error and the callback stays open", ERROR_OBJECT_MAX + 1)),
        check!("lambda.validation.empty-result", Validation, c::R_SUCCESS_BODY, empty_result,
            "a Success with an empty body (no Content-Type, application/octet-stream) and a binary Result with application/octet-stream are accepted"),
        // ---- state ----
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
        check!("lambda.state.result-byte-exact", State, c::R_RESULT_AS_SENT, result_byte_exact,
            "random Result bytes (any byte, UTF-8 or not) come back byte for byte as resultBase64"),
        check!("lambda.state.error-object-as-sent", State, c::R_RESULT_AS_SENT, error_object_as_sent,
            "random ErrorObjects (members in any order, unknown members) are kept with ErrorMessage, ErrorType, ErrorData and StackTrace as sent"),
        check!("lambda.state.altered-ids", State, c::R_TOKEN_IDENTITY, identity::altered_tokens,
            format!("a live id changed in one character (first, middle, last, at {}), case-flipped, cut short there, or extended names no callback; the callback is untouched", shared::cuts())),
        check!("lambda.state.altered-id-positions", State, c::R_TOKEN_IDENTITY, identity::altered_token_positions,
            "a live id changed at random positions names no callback (shrinks to the lowest position confused)"),
        check!("lambda.state.heartbeat-without-timer", State, c::R_HEARTBEAT_NO_TIMER, heartbeat_without_timer,
            "Heartbeats on a live callback without a heartbeat timeout are 200 and leave it open"),
        check!("lambda.state.sequences", State, c::R_FIRST_WINS, shared::sequences,
            "random sequences of calls on several ids answer as the model says"),
        // ---- timeouts ----
        check!("lambda.timeouts.callback-timeout", Timeouts, c::R_TIMEOUT, shared::task_timeout,
            "a Success after TimeoutSeconds is CallbackTimeoutException"),
        check!("lambda.timeouts.heartbeat-timeout", Timeouts, c::R_TIMEOUT, shared::heartbeat_timeout,
            "a Heartbeat after a missed HeartbeatTimeoutSeconds is CallbackTimeoutException"),
        check!("lambda.timeouts.timed-out-by", Timeouts, c::R_TIMEOUT, timed_out_by,
            format!("a callback past TimeoutSeconds shows timedOutBy {}, one past its heartbeat timeout {}",
                c::CONTRACT.timed_out_by.task, c::CONTRACT.timed_out_by.heartbeat)),
        check!("lambda.timeouts.heartbeat-keeps-alive", Timeouts, c::R_HEARTBEAT, shared::heartbeat_keeps_alive,
            "heartbeats within HeartbeatTimeoutSeconds keep a callback open"),
        check!("lambda.timeouts.heartbeat-does-not-extend-timeout", Timeouts, c::R_HEARTBEAT, shared::heartbeat_does_not_extend_timeout,
            "heartbeats restart only the heartbeat timer: the overall timeout still closes the callback"),
        // ---- races ----
        check!("lambda.races.one-winner", Races, c::R_ONE_WINNER, shared::races,
            "up to 64 concurrent Success, Failure and Heartbeat calls on one id: one winner, a linearizable history"),
        // ---- robustness ----
        check!("lambda.robustness.random-requests", Robustness, c::R_BAD_INPUT, random_requests,
            "random paths, methods and bodies under the prefix never get a 5xx nor an error without x-amzn-ErrorType and a JSON object body"),
        check!("lambda.robustness.id-encoding", Robustness, c::R_PATH_LABEL, id_encoding,
            "a live id with `+`, `/` and `=` reaches its callback as the SDKs encode it, with `+` and `=` raw, with lowercase escapes and fully escaped; an id with `%` (sent as %25) gets the validation error"),
        check!("lambda.robustness.decode-once", Robustness, c::R_PATH_LABEL, decode_once,
            "a live id with its `+`, `/`, `=` encoded twice (%252B) is decoded once: the validation error, and the callback untouched"),
        check!("lambda.robustness.bad-escape", Robustness, c::R_BAD_ESCAPE, bad_escape,
            "an id segment with `%zz`, a cut escape, a lone `%`, or empty gets the validation error; the callback untouched"),
    ]
}

// ---- helpers ----------------------------------------------------------------------------

/// A request with a path of the check's own (escapes as given).
fn raw(method: Method, path: &str, body: Bytes) -> Result<Request<Bytes>, Halt> {
    Request::builder().method(method).uri(path).body(body).map_err(|e| {
        Halt::Setup(SetupError::Catalogue(format!("cannot build a request for {path:?}: {e}")))
    })
}

/// `PATH_PREFIX{label}/{action}`.
fn path_with(label: &str, operation: &Operation) -> String {
    format!("{PATH_PREFIX}{label}/{}", operation.wire_name)
}

/// The validation error the target gives (`--lambda-validation`).
fn invalid(ctx: &Ctx<'_>) -> &'static ErrorSpec {
    ctx.lambda.validation.spec()
}

/// The unknown-id error the target gives (`--lambda-unknown-id`).
fn unknown(ctx: &Ctx<'_>) -> &'static ErrorSpec {
    ctx.lambda.unknown_id.spec()
}

/// A failure from a problem found in an exchange.
fn fail(
    ctx: &Ctx<'_>,
    problem: impl Into<String>,
    expected: impl Into<String>,
    req: &Request<Bytes>,
    res: &Result<Received, TransportError>,
) -> Halt {
    Halt::Fail(ctx.failure(problem, expected, req, res))
}

/// Sends `req` and demands a 200.
fn send_ok(ctx: &Ctx<'_>, req: Request<Bytes>, what: &str) -> Result<(), Halt> {
    let (req, res) = ctx.send(req)?;
    match observe(ctx.provider, &res) {
        Seen::Ok => Ok(()),
        seen => Err(fail(ctx, format!("{what} got {}", seen.describe()), "200", &req, &res)),
    }
}

/// The callback is still open where the source reads state (PENDING, nothing stored); then
/// a Success as the SDKs send it completes it.
fn still_open(ctx: &Ctx<'_>, t: &LiveToken, after: &str) -> Result<(), Halt> {
    let before = ctx.state(t)?;
    let req = wire::encode(&SEND_CALLBACK_SUCCESS, &t.token, Bytes::from_static(b"\"real\""));
    let (req, res) = ctx.send(req)?;
    if let Some(state) = before {
        if state.status != Status::Pending || state.result_base64.is_some() {
            return Err(fail(
                ctx,
                format!("after {after} the callback shows {:?}", state.status),
                "the callback still PENDING, nothing stored",
                &req,
                &res,
            ));
        }
    }
    let seen = observe(ctx.provider, &res);
    if seen != Seen::Ok {
        return Err(fail(
            ctx,
            format!("a Success after {after} got {}", seen.describe()),
            "200: the refused call left the callback open",
            &req,
            &res,
        ));
    }
    Ok(())
}

/// A callback's Result bytes as the source shows them (`resultBase64`).
fn result_bytes_of(state: &crate::check::tokens::TaskState) -> Option<Vec<u8>> {
    let b64 = state.result_base64.as_deref()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

// ---- wire -------------------------------------------------------------------------------

/// Each operation on a live id: 200 and an empty body.
fn success_body(ctx: &Ctx<'_>) -> CheckRun {
    // The heartbeat goes to a callback with a heartbeat timeout, where the source can make
    // one (a heartbeat without one is a decision of its own).
    let timer = TaskRequest {
        heartbeat_seconds: ctx.can().deadlines.then_some(3600),
        ..TaskRequest::default()
    };
    let t = ctx.mint(timer)?;
    let t2 = ctx.live()?;
    let calls = [
        Call::Heartbeat { token: &t.token },
        Call::Succeed { token: &t.token, output: "{\"done\":true}" },
        Call::Fail { token: &t2.token, error: Some("Check.Error"), cause: Some("why") },
    ];
    for call in calls {
        let (req, res) = ctx.send(request(ctx.provider, call, false))?;
        let problem = match &res {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(r) if r.status != 200 => Some(format!("HTTP {}", r.status)),
            Ok(r) if !r.body.is_empty() => Some(format!("a {}-byte body", r.body.len())),
            Ok(_) => None,
        };
        if let Some(p) = problem {
            return Err(fail(ctx, p, "HTTP 200 with an empty body", &req, &res));
        }
    }
    Ok(3)
}

/// One error the wire checks provoke, and the contract's answer to it.
struct ErrorCase {
    what: &'static str,
    spec: &'static ErrorSpec,
    request: Request<Bytes>,
}

/// A closed callback, an id never issued, an id breaking the pattern, a Result one byte over.
fn error_cases(ctx: &Ctx<'_>) -> Result<Vec<ErrorCase>, Halt> {
    let closed = ctx.live()?;
    expect_ok(ctx, wire::encode(&SEND_CALLBACK_SUCCESS, &closed.token, Bytes::new()))?;
    let open = ctx.live()?;
    let over = vec![b'a'; ctx.lambda.result_limit.bytes() + 1];
    Ok(vec![
        ErrorCase {
            what: "a Success on a closed callback",
            spec: &c::CALLBACK_TIMEOUT,
            request: wire::encode(&SEND_CALLBACK_SUCCESS, &closed.token, Bytes::from_static(b"1")),
        },
        ErrorCase {
            what: "a Heartbeat on an id never issued",
            spec: unknown(ctx),
            request: wire::encode(&SEND_CALLBACK_HEARTBEAT, NEVER_ISSUED, Bytes::new()),
        },
        ErrorCase {
            what: "a Failure on an id breaking the pattern",
            spec: invalid(ctx),
            request: wire::encode(&SEND_CALLBACK_FAILURE, "not-a-callback-id", Bytes::from("{}")),
        },
        ErrorCase {
            what: "a Result one byte over the limit",
            spec: invalid(ctx),
            request: wire::encode(&SEND_CALLBACK_SUCCESS, &open.token, Bytes::from(over)),
        },
    ])
}

/// Sends each error case and demands `judge` find nothing wrong with its answer.
fn each_error(
    ctx: &Ctx<'_>,
    expected: impl Fn(&'static ErrorSpec) -> String,
    judge: impl Fn(&'static ErrorSpec, &Received) -> Option<String>,
) -> CheckRun {
    let cases = error_cases(ctx)?;
    let n = cases.len() as u32;
    for ErrorCase { what, spec, request } in cases {
        let (req, res) = ctx.send(request)?;
        let problem = match &res {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(r) if (200..300).contains(&r.status) => Some(format!("HTTP {}", r.status)),
            Ok(r) => judge(spec, r),
        };
        if let Some(p) = problem {
            return Err(fail(ctx, format!("{what}: {p}"), expected(spec), &req, &res));
        }
    }
    Ok(n)
}

/// The error body as a JSON object, if it is one.
fn body_object(r: &Received) -> Option<serde_json::Map<String, serde_json::Value>> {
    serde_json::from_slice(&r.body).ok()
}

/// The code travels in `x-amzn-ErrorType`.
fn error_header(ctx: &Ctx<'_>) -> CheckRun {
    each_error(
        ctx,
        |spec| format!("x-amzn-ErrorType: {}", spec.code),
        |spec, r| {
            let header = r.header(c::ERROR_TYPE_HEADER);
            let cut = header.map(|h| {
                let h = h.split(':').next().unwrap_or(h);
                h.rsplit('#').next().unwrap_or(h).trim().to_owned()
            });
            match (cut, wire::decode_response(r.status, &r.headers, &r.body)) {
                (Some(code), _) if code == spec.code => None,
                (Some(code), _) => Some(format!("x-amzn-ErrorType: {code}")),
                (None, Observed::Error { code_from: CodeFrom::Body, code, .. }) => Some(format!(
                    "no x-amzn-ErrorType: the code ({}) is only in the body",
                    code.unwrap_or_default()
                )),
                (None, _) => Some(format!(
                    "no x-amzn-ErrorType: botocore raises a bare HTTP {} error",
                    r.status
                )),
            }
        },
    )
}

/// Both SDKs find the code: a JSON object (or, below 500, empty) body, and the right code.
fn error_decodable(ctx: &Ctx<'_>) -> CheckRun {
    each_error(
        ctx,
        |spec| {
            format!("{} as botocore and the Rust SDK read it, from a JSON object body", spec.code)
        },
        |spec, r| {
            let empty = r.body.iter().all(u8::is_ascii_whitespace);
            if r.status >= 500 && empty {
                return Some(format!(
                    "HTTP {} with an empty body: botocore drops the code",
                    r.status
                ));
            }
            if !empty && body_object(r).is_none() {
                return Some("the body is not a JSON object: the Rust SDK cannot decode it".into());
            }
            match wire::decode_response(r.status, &r.headers, &r.body) {
                Observed::Error { code: Some(code), .. } if code == spec.code => None,
                Observed::Error { code: Some(code), .. } => Some(format!("the SDKs read {code}")),
                _ => Some("neither SDK finds a code".into()),
            }
        },
    )
}

/// Each error comes with its shape's status.
fn statuses(ctx: &Ctx<'_>) -> CheckRun {
    each_error(
        ctx,
        |spec| format!("{} with HTTP {}", spec.code, spec.status),
        |spec, r| (r.status != spec.status).then(|| format!("HTTP {}", r.status)),
    )
}

/// The message member is spelled as the shape spells it.
fn message_key(ctx: &Ctx<'_>) -> CheckRun {
    each_error(
        ctx,
        |spec| format!("{} with a `{}` member", spec.code, c::message_key(spec)),
        |spec, r| {
            let key = c::message_key(spec);
            let object = body_object(r).unwrap_or_default();
            match object.get(key) {
                Some(serde_json::Value::String(_)) => None,
                _ => {
                    let keys: Vec<&String> = object.keys().collect();
                    Some(format!("no string `{key}` member (the body has {keys:?})"))
                }
            }
        },
    )
}

/// `Type` is `User` for a 4xx, `Service` for a 5xx.
fn error_type(ctx: &Ctx<'_>) -> CheckRun {
    each_error(
        ctx,
        |spec| format!("{} with \"Type\":\"{}\"", spec.code, c::error_type(spec)),
        |spec, r| {
            let object = body_object(r).unwrap_or_default();
            let got = object.get("Type").and_then(|v| v.as_str());
            (got != Some(c::error_type(spec))).then(|| format!("Type {got:?}"))
        },
    )
}

/// `8-4-4-4-12` lowercase hex with version 4.
fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, ch)| match i {
            8 | 13 | 18 | 23 => *ch == b'-',
            _ => ch.is_ascii_digit() || (b'a'..=b'f').contains(ch),
        })
        && b[14] == b'4'
}

/// Every answer carries `x-amzn-RequestId`.
fn request_id(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let t2 = ctx.live()?;
    let mut requests = vec![
        ("a Heartbeat", request(ctx.provider, Call::Heartbeat { token: &t.token }, false)),
        ("a Success", request(ctx.provider, Call::Succeed { token: &t.token, output: "1" }, false)),
        (
            "a Failure",
            request(ctx.provider, Call::Fail { token: &t2.token, error: None, cause: None }, false),
        ),
        ("an unknown route", raw(Method::POST, &format!("{PATH_PREFIX}x/complete"), Bytes::new())?),
    ];
    requests.extend(error_cases(ctx)?.into_iter().map(|e| (e.what, e.request)));
    let n = requests.len() as u32;
    for (what, req) in requests {
        let (req, res) = ctx.send(req)?;
        let problem = match &res {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(r) => match r.header(c::REQUEST_ID_HEADER) {
                None => Some("no x-amzn-RequestId".to_owned()),
                Some(id) if !is_uuid_v4(id) => Some(format!("x-amzn-RequestId {id:?}")),
                Some(_) => None,
            },
        };
        if let Some(p) = problem {
            let want = "x-amzn-RequestId: a lowercase UUID v4";
            return Err(fail(ctx, format!("{what}: {p}"), want, &req, &res));
        }
    }
    Ok(n)
}

/// Paths under the prefix that name no operation.
fn unknown_route(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let label = utf8_percent_encode(&t.token, LABEL).to_string();
    let succeed = path_with(&label, &SEND_CALLBACK_SUCCESS);
    let routes = [
        (Method::POST, format!("{PATH_PREFIX}{label}/complete")),
        (Method::GET, succeed.clone()),
        (Method::PUT, succeed),
        (Method::POST, format!("{PATH_PREFIX}{label}")),
        (Method::POST, format!("{PATH_PREFIX}ab/cd/succeed")),
    ];
    let n = routes.len() as u32;
    for (method, path) in routes {
        expect(ctx, raw(method, &path, Bytes::new())?, Want::error(&c::UNKNOWN_OPERATION))?;
    }
    still_open(ctx, &t, "the unknown routes")?;
    Ok(n)
}

// ---- validation -------------------------------------------------------------------------

/// Well-formed ids never issued get the unknown-id error on every operation.
fn unknown_id(ctx: &Ctx<'_>) -> CheckRun {
    let calls = [
        Call::Succeed { token: NEVER_ISSUED, output: "{}" },
        Call::Fail { token: NEVER_ISSUED, error: Some("E"), cause: None },
        Call::Heartbeat { token: NEVER_ISSUED },
    ];
    for call in calls {
        expect(ctx, request(ctx.provider, call, false), Want::error(unknown(ctx)))?;
    }
    Ok(3)
}

/// A strategy for a run of `n` characters of the id alphabet.
fn alphabet_run(n: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), n)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

/// A Success on `id` as the SDKs encode it: a `valid` id must pass validation and get the
/// unknown-id error, any other the validation error.
fn expect_id(ctx: &Ctx<'_>, id: &str, valid: bool, what: &str) -> Result<(), Halt> {
    let want = if valid { unknown(ctx) } else { invalid(ctx) };
    let req = wire::encode(&SEND_CALLBACK_SUCCESS, id, Bytes::from_static(b"{}"));
    let (req, res) = ctx.send(req)?;
    let seen = observe(ctx.provider, &res);
    if seen.is(want) {
        return Ok(());
    }
    let expected = if valid {
        format!("{} (the id passes validation and names no callback)", want.code)
    } else {
        format!("{} (the validation error)", want.code)
    };
    Err(fail(ctx, format!("{what} got {}", seen.describe()), expected, &req, &res))
}

/// Lengths on both sides of the limit, shrinking towards short ids: the id is a short random
/// run of the alphabet repeated to the length, then `=` padding.
fn id_length(ctx: &Ctx<'_>) -> CheckRun {
    let near = vec![1, 2, CALLBACK_ID_MAX - 1, CALLBACK_ID_MAX, CALLBACK_ID_MAX + 1, 2048];
    let lengths = prop_oneof![proptest::sample::select(near), 1usize..=CALLBACK_ID_MAX + 100];
    let strategy = (lengths, 0usize..=2, alphabet_run(1..8));
    ctx.property(strategy, |(n, pad, run)| {
        let pad = (*pad).min(n - 1);
        let body: String = run.chars().cycle().take(n - pad).collect();
        let id = format!("{body}{}", "=".repeat(pad));
        expect_id(ctx, &id, *n <= CALLBACK_ID_MAX, &format!("a well-formed {n}-character id"))
    })
}

/// An id and whether it matches the pattern, with what was done to it.
#[derive(Debug, Clone)]
struct IdCase {
    id: String,
    valid: bool,
    what: &'static str,
}

fn id_cases() -> impl Strategy<Value = IdCase> {
    let outside = proptest::sample::select(vec![
        '-', '_', '.', '~', ' ', '!', '*', '%', ':', '@', ',', ';', '#', '?', '&', '"', 'é', '😀',
        '\\', '\u{7f}',
    ]);
    let case = |id: String, valid, what| IdCase { id, valid, what };
    prop_oneof![
        (alphabet_run(1..24), 0usize..=2).prop_map(move |(b, p)| case(
            format!("{b}{}", "=".repeat(p)),
            true,
            "well-formed"
        )),
        (alphabet_run(1..24), outside, any::<proptest::sample::Index>(), 0usize..=2).prop_map(
            move |(b, ch, at, p)| {
                let mut chars: Vec<char> = b.chars().collect();
                chars.insert(at.index(chars.len() + 1), ch);
                let id: String = chars.into_iter().collect();
                case(format!("{id}{}", "=".repeat(p)), false, "a character outside the alphabet")
            }
        ),
        (alphabet_run(1..24), 3usize..=6).prop_map(move |(b, p)| case(
            format!("{b}{}", "=".repeat(p)),
            false,
            "three `=` or more"
        )),
        (alphabet_run(1..12), 1usize..=2, alphabet_run(1..12), 0usize..=2).prop_map(
            move |(a, k, b, p)| {
                let id = format!("{a}{}{b}{}", "=".repeat(k), "=".repeat(p));
                case(id, false, "`=` in the middle")
            }
        ),
        (1usize..=2).prop_map(move |p| case("=".repeat(p), false, "padding alone")),
    ]
}

/// The pattern, as a whole, on random ids.
fn id_pattern(ctx: &Ctx<'_>) -> CheckRun {
    ctx.property(id_cases(), |case| {
        expect_id(ctx, &case.id, case.valid, &format!("the id {:?} ({})", case.id, case.what))
    })
}

/// Content for a Result: UTF-8 of mixed widths, or raw bytes.
#[derive(Debug, Clone)]
enum Content {
    Utf8(Vec<char>),
    Raw(Vec<u8>),
}

impl Content {
    fn strategy() -> impl Strategy<Value = Content> {
        prop_oneof![
            pattern().prop_map(Content::Utf8),
            proptest::collection::vec(any::<u8>(), 1..48).prop_map(Content::Raw),
        ]
    }

    /// Exactly `n` bytes of this content.
    fn bytes(&self, n: usize) -> Vec<u8> {
        match self {
            Content::Utf8(p) => fill(p, n).into_bytes(),
            Content::Raw(r) => r.iter().copied().cycle().take(n).collect(),
        }
    }
}

/// Results of exactly the limit and just over it, in bytes.
fn result_bytes(ctx: &Ctx<'_>) -> CheckRun {
    let limit = ctx.lambda.result_limit.bytes();
    // 2,000,000 bytes: the issue's "2 MB result", still under the 2 MiB request limit.
    let sizes = proptest::sample::select(vec![limit - 1, limit, limit + 1, limit + 2, 2_000_000]);
    let strategy = (Content::strategy(), sizes);
    ctx.property_cases(ctx.cases.clamp(1, 16), strategy, |(content, n)| {
        let body = content.bytes(*n);
        let chars = String::from_utf8_lossy(&body).chars().count();
        let t = ctx.live()?;
        let req = wire::encode(&SEND_CALLBACK_SUCCESS, &t.token, Bytes::from(body));
        let what = format!("a Result of {n} bytes ({chars} characters as lossy UTF-8)");
        if *n <= limit {
            return send_ok(ctx, req, &what);
        }
        expect(ctx, req, Want::error(invalid(ctx)))?;
        still_open(ctx, &t, &format!("{what} was refused"))
    })
}

/// Failure bodies that are no ErrorObject.
fn error_object(ctx: &Ctx<'_>) -> CheckRun {
    let bodies: [&[u8]; 12] = [
        b"[]",
        b"1",
        b"\"x\"",
        b"null",
        b"{",
        b"not json",
        br#"{"ErrorType":1}"#,
        br#"{"ErrorMessage":{}}"#,
        br#"{"ErrorData":["x"]}"#,
        br#"{"StackTrace":"x"}"#,
        br#"{"StackTrace":[1]}"#,
        b"{\"ErrorMessage\":\"\xff\"}",
    ];
    let t = ctx.live()?;
    for body in bodies {
        let req = wire::encode(&SEND_CALLBACK_FAILURE, &t.token, Bytes::copy_from_slice(body));
        expect(ctx, req, Want::error(invalid(ctx)))?;
    }
    still_open(ctx, &t, "the refused Failure bodies")?;
    Ok(bodies.len() as u32)
}

/// ErrorObject fields of `total` bytes together, split by the percentages given.
fn error_fields(p: &[char], total: usize, a: u8, b: u8) -> String {
    let error_type = "Check.Big";
    let rest = total - error_type.len();
    let message = rest * usize::from(a) / 100;
    let data = (rest - message) * usize::from(b) / 100;
    let stack = rest - message - data;
    serde_json::json!({
        "ErrorType": error_type,
        "ErrorMessage": fill(p, message),
        "ErrorData": fill(p, data),
        "StackTrace": [fill(p, stack / 2), fill(p, stack - stack / 2)],
    })
    .to_string()
}

/// The combined size of the ErrorObject's fields, at the limit and one byte over.
fn error_object_size(ctx: &Ctx<'_>) -> CheckRun {
    let strategy = (pattern(), 0u8..=100, 0u8..=100, any::<bool>());
    ctx.property_cases(ctx.cases.clamp(1, 12), strategy, |(p, a, b, over)| {
        let total = ERROR_OBJECT_MAX + usize::from(*over);
        let t = ctx.live()?;
        let req =
            wire::encode(&SEND_CALLBACK_FAILURE, &t.token, error_fields(p, total, *a, *b).into());
        let what = format!("an ErrorObject of {total} bytes in its fields");
        if !over {
            return send_ok(ctx, req, &what);
        }
        expect(ctx, req, Want::error(invalid(ctx)))?;
        still_open(ctx, &t, &format!("{what} was refused"))
    })
}

/// An empty Success, with and without a content type, and a binary Result as the Rust SDK
/// sends it.
fn empty_result(ctx: &Ctx<'_>) -> CheckRun {
    let octet = "application/octet-stream";
    let cases: [(Option<&'static str>, &[u8]); 3] =
        [(None, b""), (Some(octet), b""), (Some(octet), b"\x00\xffbinary\x80")];
    for (content_type, body) in cases {
        let t = ctx.live()?;
        let mut req = wire::encode(&SEND_CALLBACK_SUCCESS, &t.token, Bytes::copy_from_slice(body));
        if let Some(ct) = content_type {
            let value = http::HeaderValue::from_static(ct);
            req.headers_mut().insert(http::header::CONTENT_TYPE, value);
        }
        let what = format!("a Success of {} bytes with Content-Type {content_type:?}", body.len());
        let (req, res) = ctx.send(req)?;
        let seen = observe(ctx.provider, &res);
        if seen != Seen::Ok {
            return Err(fail(ctx, format!("{what} got {}", seen.describe()), "200", &req, &res));
        }
        if let Some(state) = ctx.state(&t)? {
            let stored = result_bytes_of(&state).unwrap_or_default();
            if state.status != Status::Succeeded || stored != body {
                return Err(fail(
                    ctx,
                    format!("after {what} the callback shows {:?} with {stored:?}", state.status),
                    format!("SUCCEEDED with the Result {body:?}"),
                    &req,
                    &res,
                ));
            }
        }
    }
    Ok(3)
}

// ---- state ------------------------------------------------------------------------------

/// Result bytes round-trip exactly through the source's `resultBase64`.
fn result_byte_exact(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().read_state, "read task state")?;
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        text(120).prop_map(String::into_bytes),
    ];
    ctx.property(strategy, |bytes| {
        let t = ctx.live()?;
        let req = wire::encode(&SEND_CALLBACK_SUCCESS, &t.token, Bytes::copy_from_slice(bytes));
        let (req, res) = ctx.send(req)?;
        if observe(ctx.provider, &res) != Seen::Ok {
            return Err(fail(ctx, "the Success was refused", "200", &req, &res));
        }
        let state = ctx.state(&t)?.ok_or(Halt::Skip(SkipReason::NoState))?;
        let stored = match (state.result_base64.as_deref(), bytes.is_empty()) {
            (None, true) => Some(Vec::new()),
            _ => result_bytes_of(&state),
        };
        if state.status != Status::Succeeded || stored.as_deref() != Some(bytes.as_slice()) {
            return Err(fail(
                ctx,
                format!(
                    "the callback shows {:?} with resultBase64 {:?}",
                    state.status, state.result_base64
                ),
                format!(
                    "SUCCEEDED with resultBase64 {}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                ),
                &req,
                &res,
            ));
        }
        Ok(())
    })
}

/// An ErrorObject to send: its members in the order given, as JSON texts.
#[derive(Debug, Clone)]
struct ErrorObjectCase {
    members: Vec<(String, serde_json::Value)>,
}

impl ErrorObjectCase {
    fn strategy() -> impl Strategy<Value = ErrorObjectCase> {
        let string = || proptest::option::of(text(40).prop_map(serde_json::Value::from));
        let stack = proptest::option::of(
            proptest::collection::vec(text(30), 0..4).prop_map(serde_json::Value::from),
        );
        let extra = proptest::option::of(Just(serde_json::json!({"nested": [1, "x"]})));
        let order = Just((0..5usize).collect::<Vec<_>>()).prop_shuffle();
        (string(), string(), string(), stack, extra, order).prop_map(
            |(message, kind, data, stack, extra, order)| {
                let all = [
                    ("ErrorMessage", message),
                    ("ErrorType", kind),
                    ("ErrorData", data),
                    (STACK_TRACE, stack),
                    ("Other", extra),
                ];
                let members = order
                    .into_iter()
                    .filter_map(|i| all[i].1.clone().map(|v| (all[i].0.to_owned(), v)))
                    .collect();
                ErrorObjectCase { members }
            },
        )
    }

    fn body(&self) -> String {
        let members: Vec<String> =
            self.members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        format!("{{{}}}", members.join(", "))
    }

    fn get(&self, name: &str) -> serde_json::Value {
        self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

/// The four ErrorObject members come back as sent.
fn error_object_as_sent(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().read_state, "read task state")?;
    ctx.property(ErrorObjectCase::strategy(), |case| {
        let t = ctx.live()?;
        let req = wire::encode(&SEND_CALLBACK_FAILURE, &t.token, Bytes::from(case.body()));
        let (req, res) = ctx.send(req)?;
        if observe(ctx.provider, &res) != Seen::Ok {
            return Err(fail(ctx, "the Failure was refused", "200", &req, &res));
        }
        let state = ctx.state(&t)?.ok_or(Halt::Skip(SkipReason::NoState))?;
        let kept = state.error_object.clone().unwrap_or_default();
        let names = ERROR_OBJECT_STRINGS.into_iter().chain([STACK_TRACE]);
        let differs: Vec<&str> =
            names.filter(|n| kept.get(*n).cloned().unwrap_or_default() != case.get(n)).collect();
        if state.status != Status::Failed || state.error_object.is_none() || !differs.is_empty() {
            return Err(fail(
                ctx,
                format!(
                    "the callback shows {:?} with errorObject {kept}; differs in {differs:?}",
                    state.status
                ),
                format!("FAILED with errorObject {}", case.body()),
                &req,
                &res,
            ));
        }
        Ok(())
    })
}

/// Heartbeats on a callback without a heartbeat timeout are accepted and change nothing.
fn heartbeat_without_timer(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    for k in 1..=2 {
        let req = request(ctx.provider, Call::Heartbeat { token: &t.token }, false);
        send_ok(ctx, req, &format!("heartbeat {k} on a callback without a heartbeat timeout"))?;
    }
    still_open(ctx, &t, "two heartbeats")?;
    Ok(2)
}

// ---- timeouts ---------------------------------------------------------------------------

/// Which timer closed a callback, as the source shows it.
fn timed_out_by(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().deadlines, "mint tasks with deadlines")?;
    ctx.require(ctx.can().read_state, "read task state")?;
    let labels = &c::CONTRACT.timed_out_by;
    let overall = ctx.mint(TaskRequest { timeout_seconds: Some(1), ..TaskRequest::default() })?;
    let heartbeat =
        ctx.mint(TaskRequest { heartbeat_seconds: Some(1), ..TaskRequest::default() })?;
    ctx.wait(2)?;
    for (t, label) in [(&overall, labels.task), (&heartbeat, labels.heartbeat)] {
        let req = request(ctx.provider, Call::Heartbeat { token: &t.token }, false);
        expect(ctx, req, Want::error(&c::CALLBACK_TIMEOUT))?;
        let state = ctx.state(t)?.ok_or(Halt::Skip(SkipReason::NoState))?;
        if state.status != Status::TimedOut || state.timed_out_by.as_deref() != Some(label) {
            let req = request(ctx.provider, Call::Heartbeat { token: &t.token }, false);
            let (req, res) = ctx.send(req)?;
            return Err(fail(
                ctx,
                format!(
                    "the callback shows {:?}, timedOutBy {:?}",
                    state.status, state.timed_out_by
                ),
                format!("TIMED_OUT, timedOutBy {label}"),
                &req,
                &res,
            ));
        }
    }
    Ok(2)
}

// ---- robustness -------------------------------------------------------------------------

/// A random request under the prefix.
#[derive(Debug, Clone)]
struct RandomRequest {
    method: Method,
    path: String,
    body: Vec<u8>,
}

fn random_requests_strategy() -> impl Strategy<Value = RandomRequest> {
    let raw_chars =
        proptest::collection::vec(proptest::sample::select(b"AZaz09+/=%-_~".to_vec()), 1..16)
            .prop_map(|b| b.into_iter().map(char::from).collect::<String>());
    let segment = prop_oneof![
        Just(String::new()),
        proptest::sample::select(vec!["succeed", "fail", "heartbeat", "complete", "SUCCEED"])
            .prop_map(str::to_owned),
        text(12).prop_map(|t| utf8_percent_encode(&t, LABEL).to_string()),
        raw_chars,
        proptest::sample::select(vec!["%zz", "%2", "%", "%252B", "%2F", "%00", "%C3%28"])
            .prop_map(str::to_owned),
    ];
    let method = proptest::sample::select(vec![
        Method::POST,
        Method::POST,
        Method::POST,
        Method::GET,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ]);
    let body = prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::sample::select(vec![
            "{}",
            "[]",
            "null",
            "{\"ErrorType\":1}",
            "{\"StackTrace\":[{}]}",
            "{\"ErrorMessage\":\"m\"}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    (method, proptest::collection::vec(segment, 0..5), body).prop_map(|(method, segments, body)| {
        // Dot segments would be resolved by the client before sending.
        let segments: Vec<String> = segments
            .into_iter()
            .map(|s| if !s.is_empty() && s.bytes().all(|b| b == b'.') { "dot".into() } else { s })
            .collect();
        RandomRequest { method, path: format!("{PATH_PREFIX}{}", segments.join("/")), body }
    })
}

/// Random requests get a 2xx or a decodable 4xx.
fn random_requests(ctx: &Ctx<'_>) -> CheckRun {
    ctx.property(random_requests_strategy(), |r| {
        let req = raw(r.method.clone(), &r.path, Bytes::from(r.body.clone()))?;
        let (req, res) = ctx.send(req)?;
        let problem = match &res {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(a) if (200..300).contains(&a.status) => None,
            Ok(a) if a.status >= 500 => Some(format!("HTTP {}", a.status)),
            Ok(a) => match (
                a.header(c::ERROR_TYPE_HEADER).filter(|h| !h.is_empty()),
                body_object(a),
                wire::decode_response(a.status, &a.headers, &a.body),
            ) {
                (None, ..) => Some(format!("HTTP {} without x-amzn-ErrorType", a.status)),
                (_, None, _) => Some(format!("HTTP {} whose body is not a JSON object", a.status)),
                (_, _, Observed::Error { code: Some(_), code_from: CodeFrom::Header, .. }) => None,
                _ => Some(format!("HTTP {} that the SDKs cannot decode", a.status)),
            },
        };
        match problem {
            None => Ok(()),
            Some(p) => Err(fail(
                ctx,
                format!("{} {}: {p}", r.method, r.path),
                "a success or a 4xx with x-amzn-ErrorType and a JSON object body",
                &req,
                &res,
            )),
        }
    })
}

/// `id` with each character passed through `encode`.
fn encode_each(id: &str, encode: impl Fn(char) -> String) -> String {
    id.chars().map(encode).collect()
}

/// `%XX` of every UTF-8 byte of `ch`, in upper or lower case hex.
fn escaped(ch: char, lower: bool) -> String {
    let mut buf = [0u8; 4];
    ch.encode_utf8(&mut buf)
        .bytes()
        .map(|b| if lower { format!("%{b:02x}") } else { format!("%{b:02X}") })
        .collect()
}

/// The live id reaches its callback however its label is (validly) encoded.
fn id_encoding(ctx: &Ctx<'_>) -> CheckRun {
    type Encoding = fn(&str) -> String;
    let encodings: [(&str, Encoding); 4] = [
        ("encoded as the SDKs do (%2B, %2F, %3D)", |id| utf8_percent_encode(id, LABEL).to_string()),
        ("with `+` and `=` raw and `/` as %2F", |id| {
            encode_each(id, |ch| if ch == '/' { "%2F".into() } else { ch.to_string() })
        }),
        ("with lowercase escapes (%2b, %2f, %3d)", |id| {
            encode_each(id, |ch| {
                if ch.is_ascii_alphanumeric() {
                    ch.to_string()
                } else {
                    escaped(ch, true)
                }
            })
        }),
        ("with every character escaped", |id| encode_each(id, |ch| escaped(ch, false))),
    ];
    for (k, (what, encode)) in encodings.iter().enumerate() {
        let t = ctx.live()?;
        let result = format!("{{\"encoding\":{k}}}");
        let path = path_with(&encode(&t.token), &SEND_CALLBACK_SUCCESS);
        let req = raw(Method::POST, &path, Bytes::from(result.clone()))?;
        let (req, res) = ctx.send(req)?;
        let seen = observe(ctx.provider, &res);
        if seen != Seen::Ok {
            return Err(fail(
                ctx,
                format!("a Success on the live id {what} got {}", seen.describe()),
                "200: the label decoded once is the live id",
                &req,
                &res,
            ));
        }
        if let Some(state) = ctx.state(&t)? {
            if result_bytes_of(&state).as_deref() != Some(result.as_bytes()) {
                return Err(fail(
                    ctx,
                    format!("the callback shows {:?} with {:?}", state.status, state.result_base64),
                    format!("the Result {result} on the callback named"),
                    &req,
                    &res,
                ));
            }
        }
    }
    // A literal `%` is outside the alphabet: sent as %25 it is the validation error.
    let req = raw(Method::POST, &path_with("ab%25cd", &SEND_CALLBACK_HEARTBEAT), Bytes::new())?;
    expect(ctx, req, Want::error(invalid(ctx)))?;
    Ok(encodings.len() as u32 + 1)
}

/// An id whose escapes are escaped again names no callback: the label is decoded once.
fn decode_once(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let special = t.token.chars().any(|ch| !ch.is_ascii_alphanumeric());
    let label: String = t
        .token
        .chars()
        .enumerate()
        .map(|(i, ch)| {
            if !ch.is_ascii_alphanumeric() || (!special && i == 0) {
                escaped(ch, false).replace('%', "%25")
            } else {
                ch.to_string()
            }
        })
        .collect();
    let req = raw(Method::POST, &path_with(&label, &SEND_CALLBACK_SUCCESS), Bytes::from("1"))?;
    let (req, res) = ctx.send(req)?;
    let seen = observe(ctx.provider, &res);
    if !seen.is(invalid(ctx)) {
        return Err(fail(
            ctx,
            format!("the live id encoded twice got {}", seen.describe()),
            format!("{} (decoded once the label holds `%`)", invalid(ctx).code),
            &req,
            &res,
        ));
    }
    still_open(ctx, &t, "the id encoded twice")?;
    Ok(1)
}

/// Bad escapes and an empty id segment get the validation error.
fn bad_escape(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let label = utf8_percent_encode(&t.token, LABEL).to_string();
    let labels = [format!("{label}%zz"), format!("{label}%2"), format!("{label}%"), String::new()];
    for bad in &labels {
        let req = raw(Method::POST, &path_with(bad, &SEND_CALLBACK_SUCCESS), Bytes::from("1"))?;
        expect(ctx, req, Want::error(invalid(ctx)))?;
    }
    still_open(ctx, &t, "the bad escapes")?;
    Ok(labels.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_lowercase_uuid_v4() {
        assert!(is_uuid_v4("3f8a1c2e-0d4b-4c6e-9a7f-1b2c3d4e5f60"));
        assert!(!is_uuid_v4("3F8A1C2E-0D4B-4C6E-9A7F-1B2C3D4E5F60"));
        assert!(!is_uuid_v4("3f8a1c2e-0d4b-1c6e-9a7f-1b2c3d4e5f60"));
        assert!(!is_uuid_v4("abc"));
    }

    #[test]
    fn error_fields_add_up_to_the_total() {
        let p = vec!['é', 'a', '😀'];
        for (a, b) in [(0, 0), (100, 0), (50, 50), (33, 77)] {
            let body = error_fields(&p, ERROR_OBJECT_MAX + 1, a, b);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let mut size: usize =
                ERROR_OBJECT_STRINGS.iter().map(|n| v[n].as_str().unwrap().len()).sum();
            size += v[STACK_TRACE]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().len())
                .sum::<usize>();
            assert_eq!(size, ERROR_OBJECT_MAX + 1);
            assert!(body.len() < c::MAX_REQUEST_BYTES);
        }
    }

    #[test]
    fn id_cases_agree_with_the_pattern() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..500 {
            let case = id_cases().new_tree(&mut runner).unwrap().current();
            assert_eq!(wire::matches_pattern(&case.id), case.valid, "{case:?}");
        }
    }

    #[test]
    fn random_paths_are_valid_uris() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..500 {
            let r = random_requests_strategy().new_tree(&mut runner).unwrap().current();
            assert!(raw(r.method, &r.path, Bytes::new()).is_ok(), "{}", r.path);
        }
        assert!(raw(Method::POST, &format!("{PATH_PREFIX}a%zz/succeed"), Bytes::new()).is_ok());
    }
}
