//! Faulty targets: a wiremock responder that serves the reference mock with one realistic defect, so that each conformance check can be shown to fail.
//!
//! [`FaultyResponder`] wraps a [`ContractResponder`]. Requests the defect does not touch go
//! to it unchanged (the control API under `/_mock/` included, so the checker's `mock` token
//! source works). Otherwise the defect rewrites the request before the engine sees it,
//! rewrites the engine's answer, or answers on its own.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use serde_json::Value;
use tasktoken::contract::alibaba::{self as ali, Flavour};
use tasktoken::contract::aws;
use tasktoken::testing::{is_control_path, route};
use tasktoken::wire::alibaba::{self as ali_wire, AlibabaError};
use tasktoken::wire::aws as aws_wire;
use tasktoken::{ContractResponder, Mock, MockConfig, Provider, TaskSpec};
use wiremock::{Respond, ResponseTemplate};

pub mod activity;
pub mod lambda;
pub mod proxy;
mod wire;

use wire::*;

/// What defect `defect` made check `id` of `report` say: a failure, or information where the
/// check's rule is one of the mock's decisions (a target that chose otherwise is not wrong).
/// Panics when the check passed or is missing.
pub fn caught<'r>(
    report: &'r tasktoken::check::Report,
    defect: &dyn std::fmt::Debug,
    id: &str,
) -> &'r tasktoken::check::Failure {
    use tasktoken::check::Verdict;
    use tasktoken::Provenance;
    let r =
        report.results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no result for {id}"));
    match (&r.verdict, r.provenance) {
        (Verdict::Info(f), Provenance::Decision) => f,
        (Verdict::Fail(f), p) if p != Provenance::Decision => f,
        _ => panic!("{defect:?} should fail {id}, got {:?}", r.verdict),
    }
}

/// One defect of a faulty target. Each names what it reproduces and cites where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    // ---- both providers: task state ------------------------------------------------------
    /// Every completion on a closed task answers 200, so N concurrent completions all win.
    // Source: anchors §2.1 (LocalStack `CallbackEndpoint.notify` has no lock); aws.md "Where the known emulators differ": several 200s.
    AllCompletionsOk,
    /// A reused or expired token gets the invalid-token error (AWS `InvalidToken`, Alibaba
    /// `InvalidArgument`) instead of the closed error.
    // Source: research §6.1/§6.2 (moto parser backend and LocalStack search only RUNNING executions); aws.md "Where the known emulators differ".
    ReusedTokenInvalid,
    /// A failure on a closed task is accepted with 200.
    // Source: research §6.1 (moto `send_task_failure` scans all executions: failure after completion → 200).
    FailureAcceptedAfterSuccess,
    /// A success on a failed task is accepted: only a second success is guarded against.
    // Source: anchors §2.4 (fakecloud `update_task_token` overwrites without checking the prior status).
    SuccessAcceptedAfterFailure,
    /// A reused completion is applied again and overwrites the stored result (forwarded to a
    /// fresh task, whose state the control API then reports for the original one).
    // Source: anchors §2.4 (fakecloud overwrites status and output on a second SendTaskSuccess).
    SecondCompletionOverwrites,
    /// The failure's cause is dropped before it is stored.
    // Source: research §6.1 and anchors §2.2 (moto `send_task_failure(task_token, error=error)` drops `cause`).
    CauseDropped,
    /// Task deadlines are never enforced (the control API's `timeoutSeconds` and
    /// `heartbeatSeconds` are dropped).
    // Source: anchors §2.4 (floci #2733 "TimeoutSeconds is never enforced").
    TimeoutsIgnored,

    // ---- both providers: output and member validation ------------------------------------
    /// A non-JSON output is accepted (stored as a JSON string) instead of rejected.
    // Source: research §6.1 (moto: non-JSON output → 200) and anchors §2.1 (LocalStack never raises InvalidOutput).
    NonJsonOutputAccepted,
    /// Only JSON objects are accepted as output; scalars and arrays are rejected.
    // Source: aws.md Responses ("scalars such as \"x\" are valid"); research §7.1 (AWS accepted a JSON string scalar).
    ScalarsRejected,
    /// The output limit is counted in characters instead of UTF-8 bytes (an over-limit
    /// multi-byte output is accepted, truncated when stored).
    // Source: research §7.2 (Java string length instead of UTF-8 bytes); aws.md Limits ("UTF-8 bytes of the decoded string").
    OutputCountedInChars,
    /// Error and cause limits are counted in UTF-8 bytes instead of characters.
    // Source: aws.md Limits / alibaba.md Limits (characters, not bytes).
    LengthsCountedInBytes,

    // ---- AWS only ----------------------------------------------------------------------------
    /// No length checks at all: an empty or over-long token is simply unknown
    /// (`InvalidToken`); an over-long output, error or cause is accepted (truncated when stored).
    // Source: research §6.1 ("no length validation and no ValidationException"); aws.md "Where the known emulators differ".
    NoLengthChecks,
    /// The token limit is 1024 characters, as in older service models.
    // Source: aws.md Limits ("older models said 1024"); research §7.3.
    TokenLimit1024,
    /// The output limit is counted on the raw JSON member as sent (escapes included), not on
    /// the decoded string.
    // Source: aws.md Limits ("a client may send \uXXXX escapes; count after decoding").
    OutputCountedOnTheWire,
    /// Errors carry a bare `__type`, `Content-Type: application/json` and an
    /// `X-Amzn-ErrorType` header.
    // Source: research §6.1 (moto parser wire form) and §6.2 (LocalStack `JSONResponseSerializer`).
    BareErrorType,
    /// LocalStack's InvalidToken message `Invalid token` (none on heartbeats), without the
    /// AWS wrapper `Invalid Token: '…'`.
    // Source: research §6.2 (LocalStack `InvalidToken("Invalid token")`); aws.md "Where the known emulators differ".
    LocalStackInvalidTokenMessage,
    /// A closed task's TaskTimedOut names the task's resource instead of AWS's fixed message.
    // Source: anchors §2.3 (Step Functions Local: `Task Timed Out: 'arn:aws:states:…:lambda:invoke.waitForTaskToken'`).
    StepFunctionsLocalTimedOutMessage,
    /// A token the service never issued is `TaskDoesNotExist` instead of `InvalidToken`.
    // Source: research §7.8 and anchors §2.4 (kumo and fakecloud answer unknown tokens with TaskDoesNotExist).
    UnknownTokenTaskDoesNotExist,
    /// A success answers 200 with an empty body instead of `{}`.
    // Source: aws.md Responses ("body exactly {}", observed).
    EmptySuccessBody,
    /// The request id is an uppercase UUID.
    // Source: aws.md Responses ("x-amzn-RequestId: <lowercase uuid v4>").
    UppercaseRequestId,
    /// No request id header at all.
    // Source: aws.md Responses (success and error carry x-amzn-RequestId).
    MissingRequestId,
    /// moto's default backend request id: 52 alphanumeric characters, not a UUID.
    // Source: research §6.1 ("'x-amzn-requestid': '<52-char id>'").
    MotoRequestId,
    /// An unknown `X-Amz-Target` is answered 404, as the generic Common Errors page says.
    // Source: research §3.10 and §7.13 (Common Errors lists UnknownOperation as 404; Step Functions answers 400).
    UnknownOperation404,
    /// An unknown `X-Amz-Target` is answered with a message member.
    // Source: research §3.10 (the real body has no message member).
    UnknownOperationWithMessage,
    /// A body over 1049600 bytes gets a JSON ValidationException instead of the front end's
    /// plain-text 413.
    // Source: research §3.8 (413 plain text from the front end, before JSON parsing).
    TooLargeAsValidation,
    /// Only the first validation violation is reported.
    // Source: research §3.6 ("several violations are joined with '; ' and counted").
    OnlyFirstViolation,
    /// Validation violations are listed in reverse model order.
    // Source: aws.md Responses ("members in model order").
    ViolationsReversed,
    /// A non-JSON output is rejected before the token is looked at.
    // Source: aws.md Responses (order: token, observed: a garbage token wins over a non-JSON output).
    OutputCheckedBeforeToken,
    /// A missing member is reported in the non-sensitive form `Value null at '…'`.
    // Source: research §3.4 (sensitive members read `Value at 'output'`; `Value null at` is the non-sensitive form).
    MissingMemberValueNull,
    /// SendTaskFailure without `error` is rejected as a missing member.
    // Source: aws.md Semantics ("SendTaskFailure with neither error nor cause is valid", observed).
    FailureRequiresError,
    /// Bodies that are not a JSON object crash the handler: HTTP 500 with an HTML page.
    // Source: research §6.1 (moto's `AWSError.__init__` TypeError class of bug, issue #7581) and anchors §2.1 (LocalStack #8246 internal server error).
    MalformedJson500,
    /// Members of the wrong JSON type are coerced to strings instead of rejected.
    // Source: aws.md Responses ("a member has the wrong JSON type: SerializationException"); Python `str(value)` handlers.
    WrongTypesCoerced,
    /// A heartbeat on a closed task answers 200: heartbeats only check that the token exists.
    // Source: aws.md Semantics (every later SendTaskHeartbeat gets TaskTimedOut); the heartbeat twin of research §6.1's failure-after-completion 200.
    HeartbeatAfterCompletionOk,
    /// A heartbeat does not extend the deadline (the heartbeat timeout is made a hard timeout).
    // Source: aws.md Semantics ("SendTaskHeartbeat … restarts the heartbeat deadline"); anchors §2.4 (floci #2733 mixes up heartbeat and task timeouts).
    HeartbeatDoesNotExtend,

    // ---- status codes, unknown members, deadlines, token shapes, body encodings ----
    /// The closed error keeps its body but comes with HTTP 500, which SDKs retry as a
    /// transient server error (AWS `TaskTimedOut`, Alibaba `TaskAlreadyCompleted`).
    // Source: aws.md / alibaba.md Responses (HTTP 400); research §6.1 (moto's message-less `TaskTimedOut()` would surface as a 500).
    ClosedErrorAs500,
    /// Alibaba's `TaskAlreadyCompleted` body with HTTP 200: SDKs that decide by status read it
    /// as a success.
    // Source: alibaba.md Responses (`TaskAlreadyCompleted` is HTTP 400).
    ClosedErrorAs200,
    /// Unknown members in an AWS body are rejected (SerializationException) instead of ignored.
    // Source: aws.md Operations ("Unknown members in the body are ignored (observed, §3.4)").
    UnknownMemberRejected,
    /// A heartbeat also extends the overall timeout (a task with both deadlines never times
    /// out while heartbeats come).
    // Source: aws.md Semantics ("it does not extend the overall timeout (documented)").
    HeartbeatExtendsTimeout,
    /// An empty AWS `error` is rejected as too short (Alibaba's 1..=128 applied to AWS's 0..=256).
    // Source: aws.md Limits (`error` 0..=256).
    EmptyErrorRejected,
    /// The target issues 36-character UUID tokens (the control API answers a UUID; calls with
    /// it are mapped back to the real token).
    // Source: aws.md "Where the known emulators differ" ("36-character UUID tokens"); anchors §2.1, §2.3.
    UuidTokens,
    /// An Alibaba body of content type `application/json` is refused (415).
    // Source: alibaba.md Responses (415 only for a body that is neither form-urlencoded nor JSON).
    JsonBodyRefused,
    /// `+` in an Alibaba form body is kept as a plus instead of decoded as a space.
    // Source: alibaba.md Wire protocol ("In the body `+` is a space").
    PlusKeptInForm,

    // ---- Alibaba only --------------------------------------------------------------------------
    /// Errors are XML `<Error><Code>…</Code>…</Error>` (the RPC APIs' `Format=XML` form).
    // Source: alibaba.md Responses ("always JSON, never XML … a non-JSON error body breaks the SDKs: observed").
    XmlErrors,
    /// The success body carries a `Code` member.
    // Source: alibaba.md Responses ("A success body never has a Code member").
    CodeInSuccessBody,
    /// TaskAlreadyCompleted's message does not name the token.
    // Source: alibaba.md Responses (`Task %s has already completed.`, %s = the token as sent).
    CompletedMessageWithoutToken,
    /// The Serverless Workflow flavour's `Output` limit (32768 bytes) answering for CloudFlow.
    // Source: alibaba.md Limits (65536 on CloudFlow, 32768 on Serverless Workflow).
    ServerlessWorkflowLimits,
    /// Only the query is read; the form body is ignored (pop-core-style requests fail).
    // Source: alibaba.md Wire protocol ("older clients put everything in the body").
    QueryOnly,
    /// `Format=JSON` (uppercase) is refused.
    // Source: alibaba.md Wire protocol (`Format` is `json` or `JSON`).
    FormatJsonRefused,
    /// An unknown Action is the gateway's 404 `InvalidAction.NotFound`.
    // Source: alibaba.md Responses (`ActionNotSupported`, 400, naming the action).
    UnknownActionNotFound,
    /// Any `Version` is accepted.
    // Source: alibaba.md Responses (`APIVersionNotSupported` for a Version other than 2019-03-15).
    AnyVersionAccepted,
    /// A missing parameter is InvalidArgument instead of MissingRequiredParams.
    // Source: alibaba.md Responses (`MissingRequiredParams` naming the parameter).
    MissingParamsAsInvalidArgument,
    /// A body of any content type is parsed as a form (an XML body is accepted).
    // Source: alibaba.md Responses (415 `UnsupportedMediaType`).
    XmlBodyAccepted,
    /// Duplicate parameters are accepted, the last one wins.
    // Source: alibaba.md Wire protocol (query and form merged into one map); contract rule R_PARAM_SYNTAX.
    DuplicateParamsLastWins,
    /// Where InvalidArgument belongs (a garbage token, an undecodable parameter) an exception
    /// escapes: HTTP 500 InternalServerError.
    // Source: alibaba.md Responses (`InvalidArgument` for a token never issued; 500 is fault injection only).
    InvalidArgument500,
    /// An over-size request is the front end's 413 HTML page.
    // Source: alibaba.md Responses (`EntityTooLarge`, 400, JSON, for a request over 1048576 bytes).
    TooLargeAsNginx413,

    // ---- token identity and stored results (both providers) ----------------------------------
    /// Tasks are found by the first 255 characters of the token: a `VARCHAR(255)` key column
    /// that truncates on insert and on lookup.
    // Source: issue 12 ("finds a task by the first few hundred characters of its token"); docs/sources.md#token-identity.
    PrefixIndex255,
    /// Tasks are found by the first 64 characters of the token (a short hash-key prefix).
    // Source: docs/sources.md#token-identity (a prefix index at any width).
    PrefixIndex64,
    /// Tasks are found by a case-insensitive comparison of the token (a default collation).
    // Source: issue 12 ("a case-insensitive comparison (a default database collation)"); docs/sources.md#token-identity.
    CaseFoldingIndex,
    /// The output is stored after a JSON round trip: parsed, then serialised again (whitespace
    /// dropped, escapes decoded, `1.50` made `1.5`, keys sorted, repeated keys merged).
    // Source: issue 12 ("stores the output after a JSON round trip"); docs/sources.md#stored-results.
    JsonRoundTripStore,
    /// `\uXXXX` escapes in the output are decoded before it is stored (a JSON column that
    /// normalises strings), the rest kept as sent.
    // Source: issue 12 (`\u00e9` turned into `é`); docs/sources.md#stored-results.
    EscapeNormalisingStore,
    /// Error and cause are stored trimmed, with CR LF turned into LF (a text column behind a
    /// form library that normalises line ends).
    // Source: docs/sources.md#stored-results (error and cause pass through unchanged on AWS).
    TrimmedTextStore,
}

impl Defect {
    /// The key an index defect files a token under; `None` for the other defects.
    fn index_key(self, token: &str) -> Option<String> {
        match self {
            Defect::PrefixIndex255 => Some(token.chars().take(255).collect()),
            Defect::PrefixIndex64 => Some(token.chars().take(64).collect()),
            Defect::CaseFoldingIndex => Some(token.to_lowercase()),
            _ => None,
        }
    }

    fn config(self) -> MockConfig {
        match self {
            Defect::ServerlessWorkflowLimits => {
                MockConfig::default().alibaba_flavour(Flavour::ServerlessWorkflow)
            }
            _ => MockConfig::default(),
        }
    }
}

/// What a request-side defect does with a request.
enum Step {
    /// Give the engine this (possibly rewritten) request.
    Engine(Req),
    /// Answer this instead; the engine never sees the request.
    Answer(Resp),
}

/// A provider request, summed up before anything rewrites it.
struct Call {
    provider: Provider,
    kind: Kind,
    token: Option<String>,
    host: String,
}

#[derive(Debug, Default)]
struct State {
    /// Tokens whose task was failed (SuccessAcceptedAfterFailure).
    failed: HashSet<String>,
    /// Token → task id, from the control API's answers (SecondCompletionOverwrites).
    ids: HashMap<String, String>,
    /// Original task id → the task that holds its latest (overwriting) completion.
    alias: HashMap<String, String>,
    /// Issued UUID → the engine's real token (UuidTokens).
    uuids: HashMap<String, String>,
    /// Index key → the token filed under it (PrefixIndex255, PrefixIndex64, CaseFoldingIndex).
    index: HashMap<String, String>,
}

/// A wiremock responder serving the reference mock with one [`Defect`].
#[derive(Debug, Clone)]
pub struct FaultyResponder {
    inner: ContractResponder,
    defect: Defect,
    state: Arc<Mutex<State>>,
    events: Arc<AtomicU64>,
}

impl FaultyResponder {
    /// A fresh mock (default config, except where the defect is a config) with `defect`.
    pub fn new(defect: Defect) -> FaultyResponder {
        let mock = Mock::new(defect.config()).expect("a valid mock config");
        FaultyResponder {
            inner: mock.responder(),
            defect,
            state: Arc::default(),
            events: Arc::new(AtomicU64::new(1_000_000)),
        }
    }

    fn mock(&self) -> &Mock {
        self.inner.mock()
    }

    fn engine(&self, req: Req) -> Resp {
        self.mock().handle(req)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn out<'a>(&'a self, call: &'a Call) -> Out<'a> {
        Out { provider: call.provider, host: &call.host, events: &self.events }
    }

    /// Whether the defect needs to see this request; others go to the contract responder as is.
    fn touches(&self, path: &str) -> bool {
        if !is_control_path(path) {
            return true;
        }
        matches!(
            self.defect,
            Defect::TimeoutsIgnored
                | Defect::HeartbeatDoesNotExtend
                | Defect::HeartbeatExtendsTimeout
                | Defect::SecondCompletionOverwrites
                | Defect::UuidTokens
                | Defect::PrefixIndex255
                | Defect::PrefixIndex64
                | Defect::CaseFoldingIndex
        )
    }

    /// A provider request: rewritten (or answered) before the engine, the engine's answer
    /// rewritten after.
    fn answer(&self, req: Req) -> Resp {
        if is_control_path(req.uri().path()) {
            return self.control(req);
        }
        let provider = route(req.uri(), req.headers());
        let call = Call {
            provider,
            kind: kind(provider, &req),
            token: token(provider, &req),
            host: header(req.headers(), "host").unwrap_or("").to_owned(),
        };
        let original = clone(&req);
        match self.before(&call, req) {
            Step::Engine(req) => {
                let resp = self.engine(req);
                self.after(&call, original, resp)
            }
            Step::Answer(answer) => answer,
        }
    }

    /// Request-side defects: the request to give the engine, or an answer of their own.
    fn before(&self, call: &Call, req: Req) -> Step {
        use Defect::*;
        let (provider, kind) = (call.provider, call.kind);
        let out = self.out(call);
        let p = params(provider, &req);
        let output = p.get(member(provider, "output"));
        match self.defect {
            CauseDropped if kind == Kind::Fail => {
                let name = member(provider, "cause");
                Step::Engine(edit(provider, req, |m| m.remove(name)))
            }
            NonJsonOutputAccepted if kind == Kind::Succeed => {
                let name = member(provider, "output");
                Step::Engine(edit(provider, req, |m| {
                    if let Some(o) = m.get(name).filter(|o| !is_json(o)) {
                        m.set(name, &Value::String(o).to_string());
                    }
                }))
            }
            ScalarsRejected if kind == Kind::Succeed => match output {
                Some(o) if is_json(&o) && !o.trim_start().starts_with('{') => {
                    Step::Answer(out.invalid_output("output must be a JSON object"))
                }
                _ => Step::Engine(req),
            },
            OutputCountedInChars if kind == Kind::Succeed => {
                let (max, name) = (output_max(provider), member(provider, "output"));
                match output {
                    Some(o) if o.len() > max && o.chars().count() <= max => {
                        Step::Engine(edit(provider, req, |m| {
                            m.set(name, &truncate_output(&o, max))
                        }))
                    }
                    _ => Step::Engine(req),
                }
            }
            LengthsCountedInBytes if kind == Kind::Fail => {
                let (error_max, cause_max) = (max(provider, "error"), max(provider, "cause"));
                let over = |name: &str, max: usize| p.get(name).is_some_and(|v| v.len() > max);
                let (error, cause) = (member(provider, "error"), member(provider, "cause"));
                if over(error, error_max) {
                    Step::Answer(out.too_long(error, error_max))
                } else if over(cause, cause_max) {
                    Step::Answer(out.too_long(cause, cause_max))
                } else {
                    Step::Engine(req)
                }
            }

            PrefixIndex255 | PrefixIndex64 | CaseFoldingIndex => {
                let filed = call.token.as_ref().and_then(|t| {
                    let key = self.defect.index_key(t)?;
                    self.state().index.get(&key).filter(|real| *real != t).cloned()
                });
                let name = member(provider, "token");
                Step::Engine(match filed {
                    Some(real) => edit(provider, req, |m| m.set(name, &real)),
                    None => req,
                })
            }
            JsonRoundTripStore | EscapeNormalisingStore if kind == Kind::Succeed => {
                let name = member(provider, "output");
                let Some(o) = output else { return Step::Engine(req) };
                let stored = match self.defect {
                    JsonRoundTripStore => {
                        serde_json::from_str::<Value>(&o).map(|v| v.to_string()).ok()
                    }
                    _ => Some(decode_unicode_escapes(&o)),
                };
                match stored {
                    Some(stored) => Step::Engine(edit(provider, req, |m| m.set(name, &stored))),
                    None => Step::Engine(req),
                }
            }
            TrimmedTextStore if kind == Kind::Fail => {
                let names = [member(provider, "error"), member(provider, "cause")];
                Step::Engine(edit(provider, req, |m| {
                    for name in names {
                        if let Some(v) = m.get(name) {
                            m.set(name, &v.trim().replace("\r\n", "\n"));
                        }
                    }
                }))
            }

            // ---- AWS ----
            NoLengthChecks if kind != Kind::Other => {
                if call
                    .token
                    .as_ref()
                    .is_some_and(|t| t.is_empty() || t.chars().count() > max(provider, "token"))
                {
                    return Step::Answer(out.invalid_token());
                }
                Step::Engine(edit(provider, req, |m| {
                    let output_max = output_max(provider);
                    if let Some(o) = m.get("output").filter(|o| o.len() > output_max) {
                        m.set("output", &truncate_output(&o, output_max));
                    }
                    for (name, max) in
                        [("error", max(provider, "error")), ("cause", max(provider, "cause"))]
                    {
                        if let Some(v) = m.get(name).filter(|v| v.chars().count() > max) {
                            m.set(name, &v.chars().take(max).collect::<String>());
                        }
                    }
                }))
            }
            TokenLimit1024 if call.token.as_ref().is_some_and(|t| t.chars().count() > 1024) => {
                Step::Answer(out.too_long("taskToken", 1024))
            }
            OutputCountedOnTheWire if kind == Kind::Succeed => {
                match raw_string_member_len(req.body(), "output") {
                    Some(n) if n > output_max(provider) => {
                        Step::Answer(out.too_long("output", output_max(provider)))
                    }
                    _ => Step::Engine(req),
                }
            }
            OutputCheckedBeforeToken if kind == Kind::Succeed => {
                match output.as_deref().and_then(tasktoken::wire::json_error) {
                    Some(detail) => Step::Answer(out.invalid_output(&detail)),
                    None => Step::Engine(req),
                }
            }
            FailureRequiresError if kind == Kind::Fail && p.get("error").is_none() => {
                Step::Answer(out.validation(
                    "1 validation error detected: Value at 'error' failed to satisfy \
                     constraint: Member must not be null",
                ))
            }
            EmptyErrorRejected if kind == Kind::Fail && p.get("error").as_deref() == Some("") => {
                Step::Answer(out.validation(
                    "1 validation error detected: Value at 'error' failed to satisfy \
                     constraint: Member must have length greater than or equal to 1",
                ))
            }
            UnknownMemberRejected => match &p {
                Members::Json(m) if m.keys().any(|k| !AWS_MEMBERS.contains(&k.as_str())) => {
                    Step::Answer(aws_error(&aws::SERIALIZATION, None))
                }
                _ => Step::Engine(req),
            },
            WrongTypesCoerced => Step::Engine(edit_json(req, |m| {
                for name in AWS_MEMBERS {
                    if let Some(v) = m.get_mut(name).filter(|v| !(v.is_string() || v.is_null())) {
                        *v = Value::String(v.to_string());
                    }
                }
            })),
            UuidTokens => {
                let real = call.token.as_ref().and_then(|t| self.state().uuids.get(t).cloned());
                let name = member(provider, "token");
                Step::Engine(match real {
                    Some(real) => edit(provider, req, |m| m.set(name, &real)),
                    None => req,
                })
            }

            // ---- Alibaba ----
            QueryOnly => {
                let (mut parts, _) = req.into_parts();
                parts.headers.remove(http::header::CONTENT_TYPE);
                Step::Engine(Request::from_parts(parts, Bytes::new()))
            }
            FormatJsonRefused if p.get("Format").as_deref() == Some("JSON") => {
                Step::Answer(out.alibaba(&ali::INVALID_ARGUMENT, &[]))
            }
            AnyVersionAccepted if p.get("Version").is_some() => {
                Step::Engine(edit(provider, req, |m| m.set("Version", ali::API_VERSION)))
            }
            XmlBodyAccepted | JsonBodyRefused => {
                let (mut parts, body) = req.into_parts();
                let content_type = header(&parts.headers, "content-type").unwrap_or("");
                let json = content_type.starts_with("application/json");
                let form = content_type.starts_with("application/x-www-form-urlencoded");
                if self.defect == JsonBodyRefused && json {
                    return Step::Answer(out.alibaba(&ali::UNSUPPORTED_MEDIA_TYPE, &[]));
                }
                if self.defect == XmlBodyAccepted && !body.is_empty() && !(json || form) {
                    parts.headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    );
                }
                Step::Engine(Request::from_parts(parts, body))
            }
            DuplicateParamsLastWins => Step::Engine(last_wins(req)),
            TooLargeAsNginx413 if req.body().len() > ali::MAX_REQUEST_BYTES => {
                Step::Answer(html(StatusCode::PAYLOAD_TOO_LARGE, "413 Request Entity Too Large"))
            }
            PlusKeptInForm => {
                let (parts, body) = req.into_parts();
                let body = Bytes::from(String::from_utf8_lossy(&body).replace('+', "%2B"));
                Step::Engine(Request::from_parts(parts, body))
            }
            _ => Step::Engine(req),
        }
    }

    /// Response-side defects: the engine's answer rewritten, given the call and the request
    /// as it came.
    fn after(&self, call: &Call, req: Req, resp: Resp) -> Resp {
        use Defect::*;
        let (provider, kind) = (call.provider, call.kind);
        let out = self.out(call);
        let code = code(provider, &resp);
        let is = |c: &str| code.as_deref() == Some(c);
        let closed = is(provider.contract().outcomes.closed.code);
        match self.defect {
            AllCompletionsOk if kind.completes() && closed => out.ok(),
            ReusedTokenInvalid if closed => out.invalid_token(),
            FailureAcceptedAfterSuccess if kind == Kind::Fail && closed => out.ok(),
            HeartbeatAfterCompletionOk if kind == Kind::Heartbeat && closed => out.ok(),
            SuccessAcceptedAfterFailure => match &call.token {
                Some(t) if kind == Kind::Fail && resp.status() == StatusCode::OK => {
                    self.state().failed.insert(t.clone());
                    resp
                }
                Some(t) if kind == Kind::Succeed && closed && self.state().failed.contains(t) => {
                    out.ok()
                }
                _ => resp,
            },
            SecondCompletionOverwrites if kind.completes() && closed => {
                let Some(token) = &call.token else { return resp };
                let Ok(fresh) = self.mock().create_task(TaskSpec::new(provider)) else {
                    return resp;
                };
                {
                    let mut state = self.state();
                    if let Some(id) = state.ids.get(token).cloned() {
                        state.alias.insert(id, fresh.task_id.to_string());
                    }
                }
                let name = member(provider, "token");
                self.engine(edit(provider, req, |m| m.set(name, &fresh.task_token)))
            }
            ClosedErrorAs500 | ClosedErrorAs200 if closed => {
                let (mut parts, body) = resp.into_parts();
                parts.status = match self.defect {
                    ClosedErrorAs500 => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::OK,
                };
                Response::from_parts(parts, body)
            }

            // ---- AWS ----
            StepFunctionsLocalTimedOutMessage if closed => {
                let arn = "arn:aws:states:us-east-1:123456789012:lambda:invoke.waitForTaskToken";
                aws_error(&aws::TASK_TIMED_OUT, Some(format!("Task Timed Out: '{arn}'")))
            }
            UnknownTokenTaskDoesNotExist if is(aws::INVALID_TOKEN.code) => aws_error(
                &aws::TASK_DOES_NOT_EXIST,
                aws::TASK_DOES_NOT_EXIST.message.map(Into::into),
            ),
            LocalStackInvalidTokenMessage if is(aws::INVALID_TOKEN.code) => {
                let message = (kind != Kind::Heartbeat).then(|| "Invalid token".to_owned());
                aws_error(&aws::INVALID_TOKEN, message)
            }
            BareErrorType => bare_error_type(resp),
            EmptySuccessBody if resp.status() == StatusCode::OK => {
                let (parts, _) = resp.into_parts();
                Response::from_parts(parts, Bytes::new())
            }
            UppercaseRequestId | MissingRequestId | MotoRequestId => {
                let mut resp = resp;
                let headers = resp.headers_mut();
                let id = match (self.defect, headers.remove(aws_wire::REQUEST_ID_HEADER)) {
                    (UppercaseRequestId, Some(id)) => {
                        Some(id.to_str().unwrap_or_default().to_uppercase())
                    }
                    (MotoRequestId, Some(_)) => Some(moto_request_id()),
                    _ => None,
                };
                if let Some(id) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                    headers.insert(aws_wire::REQUEST_ID_HEADER, id);
                }
                resp
            }
            UnknownOperation404 if is(aws::UNKNOWN_OPERATION.code) => {
                let (mut parts, body) = resp.into_parts();
                parts.status = StatusCode::NOT_FOUND;
                Response::from_parts(parts, body)
            }
            UnknownOperationWithMessage if is(aws::UNKNOWN_OPERATION.code) => {
                let target = header(req.headers(), aws_wire::TARGET_HEADER).unwrap_or("");
                let message = format!("Operation {target} is not supported by this service.");
                aws_error(&aws::UNKNOWN_OPERATION, Some(message))
            }
            TooLargeAsValidation if resp.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                out.validation("1 validation error detected: Request body is too large")
            }
            OnlyFirstViolation | ViolationsReversed if is(aws::VALIDATION.code) => {
                let message = aws_message(&resp).unwrap_or_default();
                let Some((head, list)) = message.split_once(" detected: ") else { return resp };
                if head.starts_with("1 ") {
                    return resp;
                }
                let mut items: Vec<&str> = list.split("; ").collect();
                if self.defect == OnlyFirstViolation {
                    out.validation(&format!("1 validation error detected: {}", items[0]))
                } else {
                    items.reverse();
                    out.validation(&format!("{head} detected: {}", items.join("; ")))
                }
            }
            MissingMemberValueNull if is(aws::VALIDATION.code) => {
                let message = aws_message(&resp).unwrap_or_default();
                let rewritten: Vec<String> = message
                    .split("; ")
                    .map(|item| {
                        if item.ends_with("Member must not be null") {
                            item.replace("Value at '", "Value null at '")
                        } else {
                            item.to_owned()
                        }
                    })
                    .collect();
                out.validation(&rewritten.join("; "))
            }
            MalformedJson500 if is(aws::SERIALIZATION.code) => {
                html(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error")
            }

            // ---- Alibaba ----
            XmlErrors if !resp.status().is_success() => xml_error(resp),
            CodeInSuccessBody if resp.status().is_success() => {
                let mut v: Value = serde_json::from_slice(resp.body()).unwrap_or_default();
                if let Some(map) = v.as_object_mut() {
                    map.insert("Code".into(), Value::from("200"));
                }
                let (parts, _) = resp.into_parts();
                Response::from_parts(parts, Bytes::from(v.to_string()))
            }
            CompletedMessageWithoutToken if closed => {
                let error = AlibabaError {
                    spec: &ali::TASK_ALREADY_COMPLETED,
                    message: "Task has already completed.".into(),
                };
                ali_wire::error_response(&error, &request_id(), &call.host)
            }
            UnknownActionNotFound if is(ali::ACTION_NOT_SUPPORTED.code) => {
                let id = request_id();
                let code = "InvalidAction.NotFound";
                let body = serde_json::json!({
                    "RequestId": id,
                    "HostId": call.host,
                    "Code": code,
                    "Message": "Specified api is not found, please check your url and method.",
                    "Recommend": format!(
                        "https://api.aliyun.com/troubleshoot?q={code}&product=fnf&requestId={id}"
                    ),
                });
                json(StatusCode::NOT_FOUND, ali::CONTENT_TYPE, body.to_string())
            }
            MissingParamsAsInvalidArgument if is(ali::MISSING_REQUIRED_PARAMS.code) => {
                out.alibaba(&ali::INVALID_ARGUMENT, &[])
            }
            InvalidArgument500 if is(ali::INVALID_ARGUMENT.code) => {
                out.alibaba(&ali::INTERNAL_SERVER_ERROR, &[])
            }
            _ => resp,
        }
    }

    /// The control API, where a few defects live (deadlines, issued tokens, stored results).
    fn control(&self, mut req: Req) -> Resp {
        let creates = req.method() == http::Method::POST
            && req.uri().path().trim_end_matches('/') == "/_mock/tasks";
        match self.defect {
            Defect::TimeoutsIgnored if creates => self.engine(edit_json(req, |m| {
                m.remove("timeoutSeconds");
                m.remove("heartbeatSeconds");
            })),
            Defect::HeartbeatDoesNotExtend if creates => self.engine(edit_json(req, |m| {
                if let Some(h) = m.remove("heartbeatSeconds").and_then(|v| v.as_u64()) {
                    let t = m.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(h);
                    m.insert("timeoutSeconds".into(), Value::from(t.min(h)));
                }
            })),
            Defect::HeartbeatExtendsTimeout if creates => self.engine(edit_json(req, |m| {
                if m.contains_key("heartbeatSeconds") {
                    m.remove("timeoutSeconds");
                }
            })),
            Defect::SecondCompletionOverwrites if creates => {
                let resp = self.engine(req);
                if let Ok(v) = serde_json::from_slice::<Value>(resp.body()) {
                    if let (Some(t), Some(id)) = (v["taskToken"].as_str(), v["taskId"].as_str()) {
                        self.state().ids.insert(t.to_owned(), id.to_owned());
                    }
                }
                resp
            }
            Defect::SecondCompletionOverwrites if req.method() == http::Method::GET => {
                let path = req.uri().path().to_owned();
                if let Some(id) = path.strip_prefix("/_mock/tasks/") {
                    let alias = self.state().alias.get(id).cloned();
                    if let Some(alias) = alias {
                        *req.uri_mut() = format!("/_mock/tasks/{alias}").parse().expect("a path");
                    }
                }
                self.engine(req)
            }
            Defect::PrefixIndex255 | Defect::PrefixIndex64 | Defect::CaseFoldingIndex
                if creates =>
            {
                let resp = self.engine(req);
                if let Ok(v) = serde_json::from_slice::<Value>(resp.body()) {
                    if let Some(token) = v["taskToken"].as_str() {
                        if let Some(key) = self.defect.index_key(token) {
                            self.state().index.insert(key, token.to_owned());
                        }
                    }
                }
                resp
            }
            Defect::UuidTokens if creates => {
                let resp = self.engine(req);
                let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(resp.body()) else {
                    return resp;
                };
                let Some(real) = v.get("taskToken").and_then(Value::as_str).map(str::to_owned)
                else {
                    return resp;
                };
                let uuid = uuid::Uuid::new_v4().to_string();
                self.state().uuids.insert(uuid.clone(), real);
                v.insert("taskToken".into(), Value::from(uuid));
                let (parts, _) = resp.into_parts();
                Response::from_parts(parts, Bytes::from(Value::Object(v).to_string()))
            }
            _ => self.engine(req),
        }
    }
}

impl Respond for FaultyResponder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        if !self.touches(request.url.path()) {
            return self.inner.respond(request);
        }
        let mut builder =
            Request::builder().method(request.method.clone()).uri(request.url.as_str());
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers.clone();
        }
        let Ok(req) = builder.body(Bytes::from(request.body.clone())) else {
            return ResponseTemplate::new(400);
        };
        let resp = self.answer(req);
        let mut template = ResponseTemplate::new(resp.status().as_u16());
        for (name, value) in resp.headers() {
            template = template.append_header(name.clone(), value.clone());
        }
        template.set_body_bytes(resp.into_body().to_vec())
    }
}

/// `text` with each `\uXXXX` escape (and escaped surrogate pair) decoded to its character,
/// except those that must stay escaped in JSON (`"`, `\`, control characters); other escapes
/// are kept as they are.
fn decode_unicode_escapes(text: &str) -> String {
    let unit = |hex: &str| u32::from_str_radix(hex, 16).ok();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let escape = rest.get(..6).filter(|e| e.starts_with("\\u")).and_then(|e| unit(&e[2..]));
        let decoded = match escape {
            Some(high @ 0xd800..=0xdbff) => {
                let low =
                    rest.get(6..12).filter(|e| e.starts_with("\\u")).and_then(|e| unit(&e[2..]));
                match low {
                    Some(low @ 0xdc00..=0xdfff) => {
                        char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
                            .map(|c| (c, 12))
                    }
                    _ => None,
                }
            }
            Some(u) => char::from_u32(u).map(|c| (c, 6)),
            None => None,
        };
        match decoded.filter(|(c, _)| *c != '"' && *c != '\\' && !c.is_control()) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                // Keep this escape (two characters) as it is.
                let len = rest.chars().take(2).map(char::len_utf8).sum();
                out.push_str(&rest[..len]);
                rest = &rest[len..];
            }
        }
    }
    out.push_str(rest);
    out
}
