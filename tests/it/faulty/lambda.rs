//! Faulty Lambda targets: an HTTP proxy in front of a real `MockServer` (default config) that injects one defect modelled on a real peer.
//!
//! Requests the defect does not touch are forwarded unchanged, the control API included, so
//! the checker's `mock` token source works through the proxy. A defect rewrites a request
//! before the mock sees it, rewrites the mock's answer, or answers on its own; the peers are
//! those of research `lambda-durable-callbacks.md` §5 (the AWS Python emulator, SAM CLI, the
//! JS test runner, MiniStack) and the rules of §2.3 and §6.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full};

use super::proxy::{self, respond, Answer, ProxyTarget};
use hyper::body::Incoming;
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use tasktoken::contract::lambda::{self as lam, LambdaOptions};
use tasktoken::contract::{Action, ErrorSpec};
use tasktoken::wire::lambda::{self as wire, LambdaError};
use tasktoken::{Mock, MockConfig, MockServer};

/// One defect of a Lambda durable callback implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaDefect {
    /// None: the proxy forwards everything (the reference run).
    Faithful,
    // ---- the error envelope ----
    /// Errors carry no `x-amzn-ErrorType` (boto3 sees a bare status code).
    // Source: research §5 (the AWS Python emulator, `web/models.py`; OBS-RUN).
    NoErrorTypeHeader,
    /// The code is only in the body's `__type`, no header.
    // Source: research §2.3 (botocore and smithy-rs fall back to `__type`; the contract sends the header).
    CodeInBodyOnly,
    /// Every error is a 500 `ServiceException` with an empty body.
    // Source: research §2.3 matrix (botocore: an empty 5xx is a generic error, code `'500'`).
    ErrorsAs500EmptyBody,
    /// Every error is SAM's 500 `{"Type":"Service","Message":"ServiceException"}`.
    // Source: research §5 (SAM CLI `start-lambda` proxy, `lambda_error_responses.py`).
    SamProxyErrors,
    /// Error bodies are plain text (the header kept).
    // Source: research §6 E7 (the Rust SDK fails to deserialize a non-JSON error body).
    TextErrorBody,
    /// `Type` holds the exception name instead of `User`.
    // Source: research §5 (the Python emulator's `{"Type":"<ExceptionName>",…}`).
    TypeIsExceptionName,
    /// Every error spells its message `message` (CallbackTimeoutException included).
    // Source: research §5 (MiniStack `ministack/core/responses.py`: always lowercase).
    LowercaseMessage,
    /// No `x-amzn-RequestId` on any answer.
    // Source: research §5 (the Python emulator sends none; OBS-RUN).
    NoRequestId,
    /// A success answers `{}` instead of an empty body.
    // Source: research §2.2 (the API reference: "an empty HTTP body"; botocore accepts `{}`).
    NonEmptySuccessBody,
    /// CallbackTimeoutException comes with HTTP 408.
    // Source: research §5 (the Python emulator's `docs/error-responses.md`: 408).
    CallbackTimeout408,
    /// An unknown route is a 500 ServiceException.
    // Source: research §5 (the Python emulator: "Unknown route → 500 ServiceException").
    UnknownRouteAs500,
    // ---- the callback's state ----
    /// A closed callback answers 404 ResourceNotFoundException.
    // Source: research §5 and S4 (the Python emulator: "Callback operation [id] is not in STARTED state"; OBS-RUN).
    ClosedIsResourceNotFound,
    /// A second completion is accepted with 200.
    // Source: research §5 (JS test runner `callback-manager.ts completeCallback`: no STARTED check).
    SecondCompletionAccepted,
    /// Check-then-act without a lock: a completion that overlaps another one on the same id
    /// is answered 200 as well (a 25 ms window).
    // Source: research §7 item 5 (linearizable single winner); the AWS defect of LocalStack's unlocked `CallbackEndpoint.notify`.
    TwoWinners,
    /// A Heartbeat on a callback without a heartbeat timeout is refused.
    // Source: research §5 and S9 (the JS runner throws "Could not find callback that requires heartbeat").
    HeartbeatNeedsTimer,
    /// An unknown id is `InvalidParameterValueException` instead of ResourceNotFound.
    // Source: research S14 (AWS unknown; IPVE is one candidate).
    UnknownIdAsInvalidParameter,
    /// Callbacks are looked up by the first 128 characters of the id.
    // Source: research S17 (opaque ids); the AWS suite's prefix-index defects (a VARCHAR prefix key).
    PrefixIndex128,
    /// Callbacks are looked up case-insensitively.
    // Source: the AWS suite's case-folding defect (a default collation).
    CaseFoldingIndex,
    // ---- the id on the wire ----
    /// The whole path is percent-decoded before it is split on `/`.
    // Source: research §2.1 (aws/aws-sam-cli#9039; the Python emulator's PR #117 / #223; MiniStack `try_route`).
    DecodeBeforeSplit,
    /// A literal `+` in the path is decoded as a space (form decoding).
    // Source: research §2.1 ("Do not turn `+` into a space") and L2.
    PlusAsSpace,
    /// The label is decoded twice (`%252B` becomes `+`).
    // Source: research L2 ("decode the id segment once").
    DoubleDecode,
    /// No id length check: a well-formed id over 1024 characters is simply unknown.
    // Source: research §4 (the Python emulator: no check; a garbage id → 404 RNF).
    NoIdLengthCheck,
    /// The pattern is searched, not matched as a whole (Smithy `@pattern` is unanchored).
    // Source: research S15 (smithy `constraint-traits.rst`).
    UnanchoredPattern,
    /// A bad percent escape crashes the handler: 500 with an empty body.
    // Source: issue 11 ("bad percent escapes … never a panic or a 5xx without a body").
    BadEscapeCrash,
    // ---- the Result and the ErrorObject ----
    /// The launch model's 262144-byte Result limit.
    // Source: research §1.4 (botocore through 1.43.67; MiniStack "Result exceeds the 256 KB maximum size").
    LaunchResultLimit,
    /// The Result limit counted in characters (the Result stored cut to the limit in bytes).
    // Source: research §4 ("bytes (blob)"); the AWS suite's OutputCountedInChars.
    ResultCountedInChars,
    /// The Result is stored as lossy UTF-8.
    // Source: research §4 (the JS runner decodes non-UTF-8 Results lossily).
    ResultStoredLossily,
    /// A raw Result is dropped: only `{"Result": …}` JSON is read.
    // Source: research §5 (SAM `start-lambda`: `request.get_json(silent=True).get("Result")`).
    SamResultDropped,
    /// A Success with an empty body is refused.
    // Source: research S10 (Result optional, min 0); a JSON-only handler.
    EmptyResultRefused,
    /// The ErrorObject is re-serialised as ErrorType and ErrorMessage only.
    // Source: research §3 (History `Error.Payload` is the whole ErrorObject); a store with error/cause columns only.
    ErrorObjectReduced,
    /// A Failure body that is no ErrorObject is stored as `{}`.
    // Source: research §1.2 (the ErrorObject's member types); a lenient `from_dict`.
    ErrorObjectUnvalidated,
    /// No combined-size check on the ErrorObject's fields.
    // Source: research §1.2 ("combined size of all error fields is limited to 1 MB"); the Python emulator has no size check.
    ErrorObjectSizeUnchecked,
    // ---- timers ----
    /// Timeouts are never enforced.
    // Source: the AWS suite's TimeoutsIgnored (floci #2733).
    TimeoutsIgnored,
    /// A heartbeat extends the overall timeout (modelled: a callback with a heartbeat
    /// timeout loses its overall timeout).
    // Source: research S7 (the API doc's "extend the callback timeout period" read literally).
    HeartbeatExtendsTimeout,
    /// A heartbeat is answered 200 and dropped: the heartbeat timer is never reset.
    // Source: research S7 / T4 (heartbeats reset the heartbeat deadline).
    HeartbeatDoesNotReset,
    /// A heartbeat expiry is labelled `Callback.Timeout`.
    // Source: research S5 (conformance 4-3, 4-4: `Callback.Heartbeat` is distinct).
    TimedOutByOverall,
}

/// A faulty Lambda target: the mock behind, the proxy in front.
pub type LambdaTarget = ProxyTarget;

/// A minted callback, as the proxy saw the control API make it.
#[derive(Debug, Clone)]
struct Minted {
    task_id: String,
    heartbeat_timer: bool,
}

struct Proxy {
    defect: LambdaDefect,
    upstream: String,
    client: reqwest::Client,
    minted: Mutex<HashMap<String, Minted>>,
    in_flight: Mutex<HashMap<String, usize>>,
}

/// Starts the mock (the default config: virtual clock) and the proxy with `defect`.
pub async fn serve(defect: LambdaDefect) -> LambdaTarget {
    let mock = MockServer::start_with(Mock::new(MockConfig::default()).unwrap()).await.unwrap();
    let proxy = Arc::new(Proxy {
        defect,
        upstream: mock.uri(),
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        minted: Mutex::new(HashMap::new()),
        in_flight: Mutex::new(HashMap::new()),
    });
    proxy::listen(mock, move |req| {
        let proxy = proxy.clone();
        async move { proxy.answer(req).await }
    })
    .await
}

impl Answer {
    fn is_error(&self) -> bool {
        !(200..300).contains(&self.status)
    }

    /// The `x-amzn-ErrorType` code.
    fn code(&self) -> Option<&str> {
        self.headers.get(lam::ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok())
    }

    fn body_json(&self) -> Option<serde_json::Map<String, Value>> {
        serde_json::from_slice(&self.body).ok()
    }

    fn with_body(mut self, body: impl Into<Bytes>) -> Answer {
        self.body = body.into();
        self
    }
}

/// What the mock itself would send for `spec`.
fn made(spec: &'static ErrorSpec, detail: &str) -> Answer {
    from(wire::error_response(
        &LambdaError::with(spec, &[detail]),
        "0f8a1c2e-0d4b-4c6e-9a7f-1b2c3d4e5f60",
    ))
}

fn from(r: Response<Bytes>) -> Answer {
    Answer { status: r.status().as_u16(), headers: r.headers().clone(), body: r.body().clone() }
}

fn success() -> Answer {
    from(wire::success("1f8a1c2e-0d4b-4c6e-9a7f-1b2c3d4e5f60"))
}

/// RFC 3986 unreserved characters, `/`, `+` and `=` kept when a decoded path is sent on.
const KEEP_DECODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/')
    .remove(b'+')
    .remove(b'=');

impl Proxy {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let answer = if path.starts_with("/_mock/") {
            self.control(&parts, body).await
        } else {
            self.callback(&parts, body).await
        };
        respond(answer)
    }

    /// The control API: mints are recorded (and their timers edited); views edited.
    async fn control(&self, parts: &http::request::Parts, body: Bytes) -> Answer {
        let path = parts.uri.path();
        if parts.method == Method::POST && path == "/_mock/tasks" {
            let mut request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Some(m) = request.as_object_mut() {
                match self.defect {
                    LambdaDefect::TimeoutsIgnored => {
                        m.remove("timeoutSeconds");
                        m.remove("heartbeatSeconds");
                    }
                    LambdaDefect::HeartbeatExtendsTimeout if m.contains_key("heartbeatSeconds") => {
                        m.remove("timeoutSeconds");
                    }
                    _ => {}
                }
            }
            let heartbeat_timer = request["heartbeatSeconds"].as_u64().is_some_and(|h| h > 0);
            let a = self.forward(parts, path, Bytes::from(request.to_string())).await;
            if let Ok(v) = serde_json::from_slice::<Value>(&a.body) {
                if let (Some(id), Some(task)) = (v["callbackId"].as_str(), v["taskId"].as_str()) {
                    let minted = Minted { task_id: task.to_owned(), heartbeat_timer };
                    self.minted.lock().unwrap().insert(id.to_owned(), minted);
                }
            }
            return a;
        }
        let a = self.forward(parts, path, body).await;
        if self.defect == LambdaDefect::TimedOutByOverall && parts.method == Method::GET {
            let text = String::from_utf8_lossy(&a.body).replace(
                &format!("\"{}\"", lam::CONTRACT.timed_out_by.heartbeat),
                &format!("\"{}\"", lam::CONTRACT.timed_out_by.task),
            );
            return a.with_body(text);
        }
        a
    }

    /// The callback id the label names, if the path routes.
    fn live(&self, id: &str) -> Option<Minted> {
        self.minted.lock().unwrap().get(id).cloned()
    }

    async fn callback(&self, parts: &http::request::Parts, mut body: Bytes) -> Answer {
        use LambdaDefect as D;
        let options = LambdaOptions::default();
        let mut path = parts.uri.path().to_owned();
        // Rewrites of the path, before routing.
        match self.defect {
            D::DecodeBeforeSplit => {
                let decoded = percent_decode_str(&path).collect::<Vec<u8>>();
                path = percent_encode(&decoded, KEEP_DECODED).to_string();
            }
            D::PlusAsSpace => path = path.replace('+', "%20"),
            D::DoubleDecode => path = path.replace("%25", "%"),
            _ => {}
        }
        let route = wire::route(&parts.method, &path, &options);
        let route = match route {
            Ok(r) => r,
            Err(e)
                if self.defect == D::UnknownRouteAs500
                    && e.spec.code == lam::UNKNOWN_OPERATION.code =>
            {
                return made(&lam::SERVICE, "Unknown route");
            }
            Err(e)
                if self.defect == D::BadEscapeCrash
                    && e.spec.code != lam::UNKNOWN_OPERATION.code =>
            {
                return Answer { status: 500, headers: http::HeaderMap::new(), body: Bytes::new() };
            }
            Err(_) => return self.edit(self.forward(parts, &path, body).await),
        };
        let action = route.operation.action;
        let id = String::from_utf8_lossy(&route.id).into_owned();
        let well_formed = wire::validate_id(&route.id, &options).is_ok();
        // Answers of the defect's own, and rewrites of the id or the body.
        match self.defect {
            D::NoIdLengthCheck
                if id.chars().count() > lam::CALLBACK_ID_MAX && wire::matches_pattern(&id) =>
            {
                return made(&lam::RESOURCE_NOT_FOUND, "");
            }
            D::UnanchoredPattern
                if !wire::matches_pattern(&id)
                    && id.len() <= lam::CALLBACK_ID_MAX
                    && id.bytes().any(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/') =>
            {
                return made(&lam::RESOURCE_NOT_FOUND, "");
            }
            D::PrefixIndex128 | D::CaseFoldingIndex if well_formed && self.live(&id).is_none() => {
                let known: Vec<String> = self.minted.lock().unwrap().keys().cloned().collect();
                let hit = known.into_iter().find(|k| match self.defect {
                    D::PrefixIndex128 => id.len() >= 128 && k.len() >= 128 && k[..128] == id[..128],
                    _ => k.eq_ignore_ascii_case(&id),
                });
                if let Some(k) = hit {
                    path = wire::path(route.operation, &k);
                }
            }
            D::HeartbeatNeedsTimer
                if action == Action::Heartbeat
                    && self.live(&id).is_some_and(|m| !m.heartbeat_timer) =>
            {
                return made(
                    &lam::INVALID_PARAMETER_VALUE,
                    "Could not find callback that requires heartbeat",
                );
            }
            D::HeartbeatDoesNotReset if action == Action::Heartbeat => {
                if let Some(m) = self.live(&id) {
                    let view = self.view(&m.task_id).await;
                    if view["status"] == "PENDING" {
                        return success();
                    }
                }
            }
            D::LaunchResultLimit
                if action == Action::Succeed && body.len() > lam::RESULT_MAX_2025 =>
            {
                return made(
                    &lam::INVALID_PARAMETER_VALUE,
                    "Result exceeds the 256 KB maximum size",
                );
            }
            D::ResultCountedInChars
                if action == Action::Succeed
                    && body.len() > lam::RESULT_MAX
                    && String::from_utf8_lossy(&body).chars().count() <= lam::RESULT_MAX =>
            {
                body = body.slice(..lam::RESULT_MAX);
            }
            D::ResultStoredLossily if action == Action::Succeed => {
                body = Bytes::from(String::from_utf8_lossy(&body).into_owned());
            }
            D::SamResultDropped if action == Action::Succeed => {
                let json: Option<Value> = serde_json::from_slice(&body).ok();
                let result = json.as_ref().and_then(|v| v["Result"].as_str()).unwrap_or("");
                body = Bytes::from(result.to_owned());
            }
            D::EmptyResultRefused if action == Action::Succeed && body.is_empty() => {
                return made(&lam::INVALID_PARAMETER_VALUE, "Result is required");
            }
            D::ErrorObjectReduced if action == Action::Fail => {
                if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&body) {
                    let mut kept = serde_json::Map::new();
                    for name in ["ErrorType", "ErrorMessage"] {
                        if let Some(v) = m.get(name) {
                            kept.insert(name.to_owned(), v.clone());
                        }
                    }
                    body = Bytes::from(Value::Object(kept).to_string());
                }
            }
            D::ErrorObjectUnvalidated if action == Action::Fail => {
                if let Err(e) = wire::parse_failure(&body, &options) {
                    if !e.message.contains("combined size") {
                        body = Bytes::from_static(b"{}");
                    }
                }
            }
            D::ErrorObjectSizeUnchecked if action == Action::Fail => {
                if let Err(e) = wire::parse_failure(&body, &options) {
                    if e.message.contains("combined size") {
                        body = Bytes::from_static(b"{}");
                    }
                }
            }
            _ => {}
        }
        let completion = matches!(action, Action::Succeed | Action::Fail);
        let raced = if self.defect == D::TwoWinners && completion {
            let mut in_flight = self.in_flight.lock().unwrap();
            let n = in_flight.entry(id.clone()).or_insert(0);
            *n += 1;
            *n > 1
        } else {
            false
        };
        if self.defect == D::TwoWinners && completion {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let a = self.forward(parts, &path, body).await;
        if self.defect == D::TwoWinners && completion {
            if let Some(n) = self.in_flight.lock().unwrap().get_mut(&id) {
                *n -= 1;
            }
        }
        let closed = a.code() == Some(lam::CALLBACK_TIMEOUT.code);
        match self.defect {
            D::TwoWinners if raced && closed => return success(),
            D::SecondCompletionAccepted if completion && closed => return success(),
            D::ClosedIsResourceNotFound if closed => {
                return made(
                    &lam::RESOURCE_NOT_FOUND,
                    &format!("Callback operation [{id}] is not in STARTED state"),
                )
            }
            _ => {}
        }
        self.edit(a)
    }

    /// Rewrites of the answer's envelope.
    fn edit(&self, mut a: Answer) -> Answer {
        use LambdaDefect as D;
        let header = http::HeaderName::from_static("x-amzn-errortype");
        match self.defect {
            D::NoErrorTypeHeader if a.is_error() => {
                a.headers.remove(&header);
            }
            D::CodeInBodyOnly if a.is_error() => {
                let code = a.code().unwrap_or_default().to_owned();
                a.headers.remove(&header);
                let mut m = a.body_json().unwrap_or_default();
                m.insert("__type".into(), Value::from(code));
                a = a.with_body(Value::Object(m).to_string());
            }
            D::ErrorsAs500EmptyBody if a.is_error() => {
                a.status = 500;
                a.headers.insert(&header, HeaderValue::from_static("ServiceException"));
                a = a.with_body(Bytes::new());
            }
            D::SamProxyErrors if a.is_error() => {
                a.status = 500;
                a.headers.insert(&header, HeaderValue::from_static("ServiceException"));
                a = a.with_body(
                    json!({"Type": "Service", "Message": "ServiceException"}).to_string(),
                );
            }
            D::TextErrorBody if a.is_error() => {
                let m = a.body_json().unwrap_or_default();
                let text = m.get("Message").or(m.get("message")).and_then(|v| v.as_str());
                let text = text.unwrap_or("error").to_owned();
                a.headers
                    .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                a = a.with_body(text);
            }
            D::TypeIsExceptionName if a.is_error() => {
                let code = a.code().unwrap_or_default().to_owned();
                let mut m = a.body_json().unwrap_or_default();
                m.insert("Type".into(), Value::from(code));
                a = a.with_body(Value::Object(m).to_string());
            }
            D::LowercaseMessage if a.is_error() => {
                let mut m = a.body_json().unwrap_or_default();
                if let Some(v) = m.remove("Message") {
                    m.insert("message".into(), v);
                }
                a = a.with_body(Value::Object(m).to_string());
            }
            D::NoRequestId => {
                a.headers.remove("x-amzn-requestid");
            }
            D::NonEmptySuccessBody if !a.is_error() => a = a.with_body("{}"),
            D::CallbackTimeout408 if a.code() == Some(lam::CALLBACK_TIMEOUT.code) => a.status = 408,
            D::UnknownIdAsInvalidParameter if a.code() == Some(lam::RESOURCE_NOT_FOUND.code) => {
                a = made(&lam::INVALID_PARAMETER_VALUE, "Invalid CallbackId");
            }
            _ => {}
        }
        a
    }

    /// `GET /_mock/tasks/{id}` upstream.
    async fn view(&self, task_id: &str) -> Value {
        let url = format!("{}/_mock/tasks/{task_id}", self.upstream);
        let Ok(r) = self.client.get(url).send().await else { return Value::Null };
        serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or(Value::Null)
    }

    async fn forward(&self, parts: &http::request::Parts, path: &str, body: Bytes) -> Answer {
        let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        proxy::forward(&self.client, &self.upstream, parts, &format!("{path}{query}"), body).await
    }
}
