//! The AWS Lambda durable execution callback contract (SendDurableExecutionCallback{Success,Failure,Heartbeat}) as tables.
//!
//! restJson1: the operation is the path's last segment, the callback id a percent-encoded path
//! label, the Success body the raw `Result` bytes, the Failure body a bare `ErrorObject`, and an
//! error's code travels only in the `x-amzn-ErrorType` header. No real AWS response to these
//! operations was ever captured, so no rule here is observed: each is documented (the service
//! model, the API reference), inferred, or the mock's own decision, and every source cites
//! `docs/sources.md`.

use super::{
    Action, CheckStep, Contract, ErrorSpec, Limit, Member, Operation, Outcomes, Provenance,
    Provider, Rule, TimeoutLabels, Traits, Unit,
};

use Provenance::{Decision, Documented, Inferred};

/// The path every callback operation starts with (`2025-12-01` is only a URI prefix: the model
/// and signing stay at 2015-03-31 / `lambda`).
pub const PATH_PREFIX: &str = "/2025-12-01/durable-execution-callbacks/";
/// SigV4 signing name.
pub const SIGNING_NAME: &str = "lambda";
/// The header that carries an error's code.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";
/// The header that carries the request id.
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";
/// Content type of every answer the mock sends.
pub const CONTENT_TYPE: &str = "application/json";
/// Largest `Result` in botocore 1.44.5 (the default): 1 MiB.
pub const RESULT_MAX: usize = 1_048_576;
/// Largest `Result` from the launch model (December 2025) through botocore 1.43.67.
pub const RESULT_MAX_2025: usize = 262_144;
/// Largest combined size of the `ErrorObject`'s fields, in UTF-8 bytes.
pub const ERROR_OBJECT_MAX: usize = 1_048_576;
/// Longest callback id, in characters.
pub const CALLBACK_ID_MAX: usize = 1024;
/// The callback id's pattern, as the model spells it.
pub const CALLBACK_ID_PATTERN: &str = "[A-Za-z0-9+/]+={0,2}";
/// Largest request body, in bytes on the wire: room for a 1 MiB error object JSON-escaped.
pub const MAX_REQUEST_BYTES: usize = 2 * 1_048_576;
/// Largest `TimeoutSeconds` / `HeartbeatTimeoutSeconds`.
pub const MAX_TIMEOUT_SECONDS: u64 = 99_999_999;
/// `Retry-After` the mock sends with an injected `TooManyRequestsException`.
pub const RETRY_AFTER_SECONDS: u64 = 1;
/// `Reason` the mock sends with an injected `TooManyRequestsException`.
pub const THROTTLE_REASON: &str = "CallerRateLimitExceeded";
/// The members of an `ErrorObject` that are strings; `StackTrace` is a list of strings.
pub const ERROR_OBJECT_STRINGS: [&str; 3] = ["ErrorMessage", "ErrorType", "ErrorData"];
/// The `ErrorObject` member that is a list of strings.
pub const STACK_TRACE: &str = "StackTrace";

/// Where the sources disagree or are silent, the answers a user may need other than the
/// mock's default (`tasktoken serve --lambda-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaOptions {
    /// The `Result` limit in bytes: [`RESULT_MAX`] (1 MiB, the default) or [`RESULT_MAX_2025`].
    pub result_limit: ResultLimit,
    /// The error for an id that breaks its length or pattern, and for other invalid input.
    pub validation: ValidationCode,
    /// The error for a well-formed id that names no callback.
    pub unknown_id: UnknownId,
}

impl LambdaOptions {
    /// `member`'s limit under these options: the tables hold the 1 MiB `Result` limit.
    ///
    /// ```
    /// use tasktoken::contract::lambda::{LambdaOptions, ResultLimit, SEND_CALLBACK_SUCCESS};
    /// let result = SEND_CALLBACK_SUCCESS.member("Result").unwrap();
    /// let launch = LambdaOptions { result_limit: ResultLimit::Launch, ..Default::default() };
    /// assert_eq!(launch.limit(result).max, 262_144);
    /// ```
    pub fn limit(&self, member: &Member) -> Limit {
        if member.name == "Result" {
            Limit { max: self.result_limit.bytes(), ..member.limit }
        } else {
            member.limit
        }
    }
}

/// Which `Result` limit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultLimit {
    /// 1,048,576 bytes (botocore 1.44.5).
    #[default]
    OneMebibyte,
    /// 262,144 bytes (the model from launch to August 2026; the API reference pages).
    Launch,
}

impl ResultLimit {
    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        match self {
            ResultLimit::OneMebibyte => RESULT_MAX,
            ResultLimit::Launch => RESULT_MAX_2025,
        }
    }

    /// The limit of `bytes` bytes, if it is one of the two.
    pub fn from_bytes(bytes: usize) -> Option<ResultLimit> {
        [ResultLimit::OneMebibyte, ResultLimit::Launch].into_iter().find(|l| l.bytes() == bytes)
    }
}

/// Which error an invalid callback id (and other invalid input) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationCode {
    /// `InvalidParameterValueException` 400, the model's error (the default).
    #[default]
    InvalidParameterValue,
    /// `ValidationException` 400, Lambda's framework error, which the model does not list.
    ValidationException,
}

impl ValidationCode {
    /// The catalogue entry.
    pub fn spec(self) -> &'static ErrorSpec {
        match self {
            ValidationCode::InvalidParameterValue => &INVALID_PARAMETER_VALUE,
            ValidationCode::ValidationException => &VALIDATION,
        }
    }
}

/// Which error a well-formed id that names no callback gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownId {
    /// `ResourceNotFoundException` 404, as both emulators answer (the default).
    #[default]
    ResourceNotFound,
    /// `CallbackTimeoutException` 400 ("expired or closed").
    CallbackTimeout,
    /// `InvalidParameterValueException` 400.
    InvalidParameterValue,
}

impl UnknownId {
    /// The catalogue entry.
    pub fn spec(self) -> &'static ErrorSpec {
        match self {
            UnknownId::ResourceNotFound => &RESOURCE_NOT_FOUND,
            UnknownId::CallbackTimeout => &CALLBACK_TIMEOUT,
            UnknownId::InvalidParameterValue => &INVALID_PARAMETER_VALUE,
        }
    }
}

/// The message member's key in an error body: `message` for the shapes the model spells so,
/// `Message` for the others.
///
/// ```
/// use tasktoken::contract::lambda;
/// assert_eq!(lambda::message_key(&lambda::INVALID_PARAMETER_VALUE), "message");
/// assert_eq!(lambda::message_key(&lambda::CALLBACK_TIMEOUT), "Message");
/// ```
pub fn message_key(spec: &ErrorSpec) -> &'static str {
    if LOWERCASE_MESSAGE.iter().any(|s| std::ptr::eq(*s, spec)) {
        "message"
    } else {
        "Message"
    }
}

/// The `Type` member of an error body: `User` for a 4xx, `Service` for a 5xx.
pub fn error_type(spec: &ErrorSpec) -> &'static str {
    if spec.status >= 500 {
        "Service"
    } else {
        "User"
    }
}

/// The shapes whose message member is lowercase `message`.
pub static LOWERCASE_MESSAGE: &[&ErrorSpec] = &[
    &INVALID_PARAMETER_VALUE,
    &TOO_MANY_REQUESTS,
    &VALIDATION,
    &UNKNOWN_OPERATION,
    &MISSING_AUTHENTICATION_TOKEN,
    &INCOMPLETE_SIGNATURE,
    &UNRECOGNIZED_CLIENT,
    &INVALID_SIGNATURE,
];

// ---- wire -------------------------------------------------------------------------------

rule!(R_ROUTES, "lambda.wire.routes", Documented,
    "The three operations are `POST /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed`, `…/fail` and `…/heartbeat` (restJson1, SigV4 signing name `lambda`).",
    "botocore 1.44.5 lambda model (docs/sources.md#lambda-service-model)");
rule!(R_PATH_LABEL, "lambda.wire.path-label", Documented,
    "The raw path is split on `/` first, then the id segment is percent-decoded once: `%2B`, `%2F`, `%3D` become `+`, `/`, `=`; a literal `+` stays `+`; `%252B` decodes to the text `%2B`.",
    "RFC 3986 label encoding as botocore and smithy-rs send it; SAM CLI and emulator bugs from decoding first (docs/sources.md#lambda-request-encoding)");
rule!(R_SDK_ENCODING, "lambda.wire.sdk-encoding", Inferred,
    "SDKs percent-encode `+`, `/` and `=` (and a space as `%20`) in the id; botocore sends a 1025-character or pattern-breaking id as it is, so the service's own checks are reachable.",
    "botocore 1.44.5 run against a stub (docs/sources.md#lambda-request-encoding)");
rule!(R_SUCCESS_BODY, "lambda.wire.success-body", Documented,
    "The Success body is the raw `Result` bytes, with no Content-Type (botocore) or `application/octet-stream` (Rust SDK), both accepted; an empty body is no Result.",
    "model `payload: Result` (docs/sources.md#lambda-service-model); SDK requests (docs/sources.md#lambda-request-encoding)");
rule!(R_FAILURE_BODY, "lambda.wire.failure-body", Documented,
    "The Failure body is the bare `ErrorObject` JSON (`{}` when the SDK sends no Error): `ErrorMessage`, `ErrorType`, `ErrorData` (strings) and `StackTrace` (a list of strings), none required, unknown members ignored.",
    "model `payload: Error` (docs/sources.md#lambda-service-model)");
rule!(R_HEARTBEAT_BODY, "lambda.wire.heartbeat-body", Documented,
    "Heartbeat has no body; a body sent anyway is ignored.",
    "model: the input has only the id (docs/sources.md#lambda-service-model); ignoring a body is our decision (docs/sources.md#lambda-uncertain)");
rule!(R_SUCCESS, "lambda.wire.success", Documented,
    "Success is HTTP 200 with an empty body (`Content-Type: application/json`, as both emulators send).",
    "API reference: \"an HTTP 200 response with an empty HTTP body\" (docs/sources.md#lambda-success-response)");
rule!(
    R_REQUEST_ID,
    "lambda.wire.request-id",
    Inferred,
    "Every answer, success or error, carries `x-amzn-RequestId: <lowercase UUID v4>`.",
    "SDK parsers read it; Lambda sends it on Invoke (docs/sources.md#lambda-success-response)"
);
rule!(R_ERROR_HEADER, "lambda.wire.error-header", Documented,
    "Errors carry the code in the `x-amzn-ErrorType` header (the body has no code): without it botocore raises a bare status code.",
    "smithy-rs json_errors test for Lambda; real Lambda errors on other operations (docs/sources.md#lambda-error-envelope)");
rule!(R_ERROR_BODY, "lambda.wire.error-body", Documented,
    "An error body is a JSON object `{\"Type\":\"User\"|\"Service\", <message>}` whose message key is `message` for InvalidParameterValueException and TooManyRequestsException and `Message` for the others; `Type` is `User` for 4xx and `Service` for 5xx.",
    "model error shapes; casing seen on other Lambda operations (docs/sources.md#lambda-error-envelope)");
rule!(R_ERROR_DECODABLE, "lambda.wire.error-decodable", Inferred,
    "Every error is decodable by botocore and the Rust SDK: the code from the header, a JSON object or empty body (a JSON scalar or text breaks the Rust SDK), and a non-empty JSON body on a 5xx (botocore drops the code of an empty 5xx).",
    "botocore parsers.py and smithy-rs json_errors.rs (docs/sources.md#lambda-sdk-error-decoding)");
rule!(R_STATUSES, "lambda.wire.statuses", Documented,
    "Statuses per shape: CallbackTimeoutException 400, InvalidParameterValueException 400, ResourceNotFoundException 404, TooManyRequestsException 429 (with `Retry-After` and `Reason`), ServiceException 500, KMS* 502.",
    "model error shapes (docs/sources.md#lambda-service-model)");
rule!(R_UNKNOWN_ROUTE, "lambda.wire.unknown-route", Decision,
    "A path under the prefix that is not `{id}/succeed|fail|heartbeat` with POST (another action, another method, a raw `/` inside the id) is `UnknownOperationException` 404.",
    "our decision: the service's answer is not recorded (docs/sources.md#lambda-uncertain)");
rule!(R_BAD_INPUT, "lambda.error.bad-input", Inferred,
    "Any request under the prefix, whatever its path, method or body, gets a success or a 4xx error with `x-amzn-ErrorType` and a JSON object body: never a 5xx (which the model keeps for the service's own faults) nor an error the SDKs cannot decode.",
    "model: ServiceException and KMS* are the only 5xx shapes (docs/sources.md#lambda-service-model); SDK decoding (docs/sources.md#lambda-sdk-error-decoding)");
rule!(R_BODY_SIZE, "lambda.limit.request", Decision,
    "A body over 2097152 bytes is the validation error, answered from its head, and the connection closes.",
    "our decision: room for the 1 MB error object escaped; no source gives a request limit (docs/sources.md#lambda-uncertain)");

// ---- limits and validation --------------------------------------------------------------

rule!(R_ID_LIMIT, "lambda.limit.callback-id", Documented,
    "`CallbackId` is 1 to 1024 characters and must match `[A-Za-z0-9+/]+={0,2}` as a whole; the mock answers a violation with `InvalidParameterValueException` (or `ValidationException` with `--lambda-validation validation-exception`).",
    "model CallbackId shape (docs/sources.md#lambda-service-model); the code and the anchoring are inferred (docs/sources.md#lambda-uncertain)");
rule!(R_RESULT_LIMIT, "lambda.limit.result", Documented,
    "`Result` is at most 1048576 bytes (262144 with `--lambda-result-limit 262144`, the launch model's); over it is the validation error.",
    "botocore 1.44.5 and its history (docs/sources.md#lambda-limits)");
rule!(R_ERROR_LIMIT, "lambda.limit.error-object", Documented,
    "The `ErrorObject`'s fields together are at most 1048576 UTF-8 bytes; over it is the validation error.",
    "model doc string \"combined size of all error fields is limited to 1 MB\" (docs/sources.md#lambda-limits); bytes inferred");
rule!(R_ERROR_SHAPE, "lambda.error.error-object", Decision,
    "A Failure body that is not JSON, not an object, or has a member of the wrong type is the validation error.",
    "our decision: the framework's answer is not recorded (docs/sources.md#lambda-uncertain)");
rule!(R_BAD_ESCAPE, "lambda.error.bad-escape", Decision,
    "An id segment with a bad percent escape (`%zz`, a lone `%`) or an empty id segment is the validation error.",
    "our decision (docs/sources.md#lambda-uncertain)");
rule!(R_TIMEOUTS, "lambda.limit.timeouts", Documented,
    "`TimeoutSeconds` and `HeartbeatTimeoutSeconds` are integer seconds 0 to 99999999; 0 or absent disables the timer.",
    "API_CallbackOptions (docs/sources.md#lambda-timeouts)");

// ---- errors -----------------------------------------------------------------------------

rule!(R_CALLBACK_TIMEOUT, "lambda.error.callback-timeout", Documented,
    "Any Success, Failure or Heartbeat on a closed callback (succeeded, failed, timed out) is `CallbackTimeoutException` 400; the message is the model's doc string (the real text is unknown).",
    "model shape CallbackTimeoutException (docs/sources.md#lambda-callback-semantics)");
rule!(R_INVALID_PARAMETER, "lambda.error.invalid-parameter-value", Documented,
    "`InvalidParameterValueException` 400, `One of the parameters in the request is not valid.` followed by what is wrong (the detail is ours).",
    "model shape (docs/sources.md#lambda-service-model); detail our decision (docs/sources.md#lambda-uncertain)");
rule!(R_VALIDATION, "lambda.error.validation", Decision,
    "With `--lambda-validation validation-exception`: `ValidationException` 400 in Lambda's framework wording, which the model does not list.",
    "framework error seen on other Lambda operations (docs/sources.md#lambda-uncertain)");
rule!(R_UNKNOWN_ID, "lambda.error.unknown-id", Decision,
    "A well-formed id that names no callback (never issued, from before a reset, altered) is `ResourceNotFoundException` 404, as both emulators answer (`--lambda-unknown-id` picks `callback-timeout` or `invalid-parameter-value` instead).",
    "AWS's answer is unknown (docs/sources.md#lambda-uncertain)");
rule!(
    R_NOT_FOUND,
    "lambda.error.resource-not-found",
    Inferred,
    "A callback whose execution was deleted is `ResourceNotFoundException` 404.",
    "model: added June 2026, \"does not exist\" (docs/sources.md#lambda-callback-semantics)"
);
rule!(R_FAULT_ONLY, "lambda.error.fault-injection-only", Documented,
    "`TooManyRequestsException`, `ServiceException` and the KMS errors are in the model; the mock answers them only through fault injection, never KMS on Heartbeat.",
    "model error lists (docs/sources.md#lambda-service-model)");
rule!(R_AUTH, "lambda.auth.sigv4", Inferred,
    "With strict authentication, SigV4 with signing name `lambda` over the double-encoded path (`%2B` signed as `%252B`); failures are the AWS framework's 403s (400 for an incomplete signature) with the code in `x-amzn-ErrorType`.",
    "botocore canonical request and aws-sdk-rust settings (docs/sources.md#lambda-request-encoding); framework errors (docs/sources.md#lambda-error-envelope)");

// ---- order and semantics ----------------------------------------------------------------

rule!(R_ORDER, "lambda.order", Decision,
    "Checks apply in this order: request size, route, authentication, id length and pattern, body (Result size, error object), callback known, callback open.",
    "our decision, mirroring the other providers (docs/sources.md#lambda-uncertain)");
rule!(R_FIRST_WINS, "lambda.task.first-wins", Inferred,
    "A callback has one terminal transition: the first Success or Failure (or a timer) wins; every later call, Heartbeat included, gets `CallbackTimeoutException`.",
    "CallbackTimeoutException doc string \"already been closed\" (docs/sources.md#lambda-callback-semantics)");
rule!(R_ONE_WINNER, "lambda.task.one-winner", Inferred,
    "N concurrent completions on one id give exactly one 200 and `CallbackTimeoutException` for every other; the stored result is the winner's.",
    "single-use rule; a retry after a commit gets the same error (docs/sources.md#lambda-callback-semantics)");
rule!(R_TIMEOUT, "lambda.task.timeout", Documented,
    "After `TimeoutSeconds` the callback times out with ErrorType `Callback.Timeout`, after a missed heartbeat with `Callback.Heartbeat`; then every call gets `CallbackTimeoutException`.",
    "AWS conformance requirements callback/4-3, 4-4 (docs/sources.md#lambda-timeouts)");
rule!(R_HEARTBEAT, "lambda.task.heartbeat", Documented,
    "A Heartbeat on a live callback is 200 and restarts only the heartbeat timer; the overall timeout keeps running.",
    "durable docs: heartbeats prevent the heartbeatTimeout from expiring (docs/sources.md#lambda-timeouts); the overall timer not extended is inferred");
rule!(R_HEARTBEAT_NO_TIMER, "lambda.task.heartbeat-without-timer", Decision,
    "A Heartbeat on a live callback without a heartbeat timeout is 200 and changes nothing but the count.",
    "the Python emulator answers 200; AWS unknown (docs/sources.md#lambda-uncertain)");
rule!(R_RESULT_AS_SENT, "lambda.task.result-as-sent", Inferred,
    "The callback keeps the winner's Result bytes exactly as sent (any bytes, UTF-8 or not: the mock shows them as `resultBase64`) and its ErrorObject as sent.",
    "Result is a blob (docs/sources.md#lambda-service-model); non-UTF-8 handling is our decision (docs/sources.md#lambda-uncertain)");
rule!(R_TOKEN_IDENTITY, "lambda.task.token-identity", Inferred,
    "A callback is found by its whole id, compared exactly: an id changed in one character, cut short or extended names no callback, and the callback is untouched.",
    "ids are opaque, service-minted text (docs/sources.md#lambda-callback-semantics); see docs/sources.md#token-identity");
rule!(R_ID_SHAPE, "lambda.task.id-shape", Decision,
    "The mock mints 212-character ids of standard base64 ending in `==`, with at least one `+` and one `/`, so that SDK path encoding is exercised on every call.",
    "the real id format is not public; the emulators use base64 (docs/sources.md#lambda-callback-semantics)");

// ---- operations -------------------------------------------------------------------------

const ID_MEMBER: Member = Member {
    name: "CallbackId",
    required: true,
    limit: Limit { min: 1, max: CALLBACK_ID_MAX, unit: Unit::Characters },
    too_long: None,
    rule: &R_ID_LIMIT,
};

const ERROR_FIELDS: Limit = Limit { min: 0, max: ERROR_OBJECT_MAX, unit: Unit::Utf8Bytes };

/// The errors Success and Failure list (botocore 1.44.5 order).
macro_rules! completion_errors {
    () => {
        &[
            &INVALID_PARAMETER_VALUE,
            &KMS_INVALID_STATE,
            &SERVICE,
            &TOO_MANY_REQUESTS,
            &KMS_NOT_FOUND,
            &RESOURCE_NOT_FOUND,
            &CALLBACK_TIMEOUT,
            &KMS_ACCESS_DENIED,
            &KMS_DISABLED,
        ]
    };
}

/// SendDurableExecutionCallbackSuccess.
pub static SEND_CALLBACK_SUCCESS: Operation = Operation {
    name: "SendDurableExecutionCallbackSuccess",
    wire_name: "succeed",
    action: Action::Succeed,
    members: &[
        ID_MEMBER,
        Member {
            name: "Result",
            required: false,
            limit: Limit { min: 0, max: RESULT_MAX, unit: Unit::WireBytes },
            too_long: None,
            rule: &R_RESULT_LIMIT,
        },
    ],
    errors: completion_errors!(),
};

/// SendDurableExecutionCallbackFailure.
pub static SEND_CALLBACK_FAILURE: Operation = Operation {
    name: "SendDurableExecutionCallbackFailure",
    wire_name: "fail",
    action: Action::Fail,
    members: &[
        ID_MEMBER,
        Member {
            name: "ErrorMessage",
            required: false,
            limit: ERROR_FIELDS,
            too_long: None,
            rule: &R_ERROR_LIMIT,
        },
        Member {
            name: "ErrorType",
            required: false,
            limit: ERROR_FIELDS,
            too_long: None,
            rule: &R_ERROR_LIMIT,
        },
        Member {
            name: "ErrorData",
            required: false,
            limit: ERROR_FIELDS,
            too_long: None,
            rule: &R_ERROR_LIMIT,
        },
    ],
    errors: completion_errors!(),
};

/// SendDurableExecutionCallbackHeartbeat.
pub static SEND_CALLBACK_HEARTBEAT: Operation = Operation {
    name: "SendDurableExecutionCallbackHeartbeat",
    wire_name: "heartbeat",
    action: Action::Heartbeat,
    members: &[ID_MEMBER],
    errors: &[
        &INVALID_PARAMETER_VALUE,
        &SERVICE,
        &TOO_MANY_REQUESTS,
        &RESOURCE_NOT_FOUND,
        &CALLBACK_TIMEOUT,
    ],
};

/// `error!(NAME, "Code", status, message, &RULE)`: one [`ErrorSpec`] as a `pub static`.
macro_rules! error {
    ($name:ident, $code:literal, $status:literal, $msg:literal, $rule:expr) => {
        #[doc = concat!("`", $code, "`.")]
        pub static $name: ErrorSpec = ErrorSpec {
            code: $code,
            status: $status,
            namespace: "",
            message: Some($msg),
            rule: $rule,
        };
    };
}

error!(CALLBACK_TIMEOUT, "CallbackTimeoutException", 400,
    "The callback ID token has either expired or the callback associated with the token has already been closed.",
    &R_CALLBACK_TIMEOUT);
error!(
    INVALID_PARAMETER_VALUE,
    "InvalidParameterValueException",
    400,
    "One of the parameters in the request is not valid. %s",
    &R_INVALID_PARAMETER
);
error!(VALIDATION, "ValidationException", 400, "1 validation error detected: %s", &R_VALIDATION);
error!(
    RESOURCE_NOT_FOUND,
    "ResourceNotFoundException",
    404,
    "The resource specified in the request does not exist.",
    &R_UNKNOWN_ID
);
error!(TOO_MANY_REQUESTS, "TooManyRequestsException", 429, "Rate exceeded", &R_FAULT_ONLY);
error!(
    SERVICE,
    "ServiceException", 500, "The Lambda service encountered an internal error.", &R_FAULT_ONLY
);
error!(
    KMS_ACCESS_DENIED,
    "KMSAccessDeniedException",
    502,
    "Lambda couldn't decrypt the payload because KMS access was denied.",
    &R_FAULT_ONLY
);
error!(
    KMS_DISABLED,
    "KMSDisabledException",
    502,
    "Lambda couldn't decrypt the payload because the KMS key used is disabled.",
    &R_FAULT_ONLY
);
error!(KMS_INVALID_STATE, "KMSInvalidStateException", 502,
    "Lambda couldn't decrypt the payload because the state of the KMS key used is not valid for Decrypt.", &R_FAULT_ONLY);
error!(
    KMS_NOT_FOUND,
    "KMSNotFoundException",
    502,
    "Lambda couldn't decrypt the payload because the KMS key was not found.",
    &R_FAULT_ONLY
);
error!(
    UNKNOWN_OPERATION,
    "UnknownOperationException", 404, "Unknown operation %s", &R_UNKNOWN_ROUTE
);
error!(
    MISSING_AUTHENTICATION_TOKEN,
    "MissingAuthenticationTokenException", 403, "Missing Authentication Token", &R_AUTH
);
error!(INCOMPLETE_SIGNATURE, "IncompleteSignatureException", 400, "%s", &R_AUTH);
error!(
    UNRECOGNIZED_CLIENT,
    "UnrecognizedClientException",
    403,
    "The security token included in the request is invalid.",
    &R_AUTH
);
error!(INVALID_SIGNATURE, "InvalidSignatureException", 403, "%s", &R_AUTH);

/// The whole Lambda durable callback contract.
pub static CONTRACT: Contract = Contract {
    provider: Provider::Lambda,
    service: "AWS Lambda durable execution callbacks",
    protocol: "restJson1: `POST /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed|fail|heartbeat`, the id a percent-encoded path label, the Result raw bytes, the error code in `x-amzn-ErrorType`, SigV4 signing name `lambda`",
    operations: &[&SEND_CALLBACK_SUCCESS, &SEND_CALLBACK_FAILURE, &SEND_CALLBACK_HEARTBEAT],
    errors: &[
        &CALLBACK_TIMEOUT,
        &INVALID_PARAMETER_VALUE,
        &RESOURCE_NOT_FOUND,
        &TOO_MANY_REQUESTS,
        &SERVICE,
        &KMS_ACCESS_DENIED,
        &KMS_DISABLED,
        &KMS_INVALID_STATE,
        &KMS_NOT_FOUND,
        &VALIDATION,
        &UNKNOWN_OPERATION,
        &MISSING_AUTHENTICATION_TOKEN,
        &INCOMPLETE_SIGNATURE,
        &UNRECOGNIZED_CLIENT,
        &INVALID_SIGNATURE,
    ],
    max_request_bytes: MAX_REQUEST_BYTES,
    request_size_rule: &R_BODY_SIZE,
    check_order: &[
        (CheckStep::BodySize, &R_ORDER),
        (CheckStep::Operation, &R_ORDER),
        (CheckStep::Authentication, &R_ORDER),
        (CheckStep::Validation, &R_ORDER),
        (CheckStep::Parse, &R_ORDER),
        (CheckStep::Token, &R_ORDER),
        (CheckStep::TaskState, &R_ORDER),
    ],
    rules: &[
        &R_ROUTES,
        &R_PATH_LABEL,
        &R_SDK_ENCODING,
        &R_SUCCESS_BODY,
        &R_FAILURE_BODY,
        &R_HEARTBEAT_BODY,
        &R_SUCCESS,
        &R_REQUEST_ID,
        &R_ERROR_HEADER,
        &R_ERROR_BODY,
        &R_ERROR_DECODABLE,
        &R_STATUSES,
        &R_UNKNOWN_ROUTE,
        &R_BAD_INPUT,
        &R_ERROR_SHAPE,
        &R_BAD_ESCAPE,
        &R_TIMEOUTS,
        &R_NOT_FOUND,
        &R_FIRST_WINS,
        &R_ONE_WINNER,
        &R_TIMEOUT,
        &R_HEARTBEAT,
        &R_HEARTBEAT_NO_TIMER,
        &R_RESULT_AS_SENT,
        &R_TOKEN_IDENTITY,
        &R_ID_SHAPE,
    ],
    outcomes: Outcomes {
        invalid_token: &RESOURCE_NOT_FOUND,
        closed: &CALLBACK_TIMEOUT,
        deleted: &RESOURCE_NOT_FOUND,
        invalid_output: &INVALID_PARAMETER_VALUE,
        out_of_range: &INVALID_PARAMETER_VALUE,
        missing: &INVALID_PARAMETER_VALUE,
        too_large: &INVALID_PARAMETER_VALUE,
    },
    output_is_json: false,
    timeout_error: "Callback.Timeout",
    timed_out_by: TimeoutLabels { task: "Callback.Timeout", heartbeat: "Callback.Heartbeat" },
    traits: Traits {
        api_style: "restJson1: the operation is the path's last segment, the callback id a percent-encoded path label",
        success_body: "empty (HTTP 200)",
        error_body: "`{\"Type\":\"User\"|\"Service\",\"message\"|\"Message\":…}`, the code in `x-amzn-ErrorType`; status per shape",
        signature: "SigV4, signing name `lambda`, double-encoded canonical path",
        quota: None,
    },
    activities: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rule_is_observed() {
        assert!(CONTRACT.all_rules().iter().all(|r| r.provenance != Provenance::Observed));
    }

    #[test]
    fn message_keys_follow_the_model() {
        for spec in CONTRACT.errors {
            let key = message_key(spec);
            let lower = ["InvalidParameterValueException", "TooManyRequestsException"];
            if lower.contains(&spec.code) {
                assert_eq!(key, "message", "{}", spec.code);
            }
            if ["CallbackTimeoutException", "ResourceNotFoundException", "ServiceException"]
                .contains(&spec.code)
                || spec.code.starts_with("KMS")
            {
                assert_eq!(key, "Message", "{}", spec.code);
            }
        }
        assert_eq!(error_type(&SERVICE), "Service");
        assert_eq!(error_type(&KMS_DISABLED), "Service");
        assert_eq!(error_type(&CALLBACK_TIMEOUT), "User");
    }

    #[test]
    fn heartbeat_lists_no_kms_error() {
        assert!(SEND_CALLBACK_HEARTBEAT.errors.iter().all(|e| !e.code.starts_with("KMS")));
        assert_eq!(SEND_CALLBACK_SUCCESS.errors.len(), 9);
        assert_eq!(SEND_CALLBACK_HEARTBEAT.errors.len(), 5);
    }

    #[test]
    fn result_limits_round_trip() {
        assert_eq!(ResultLimit::from_bytes(262_144), Some(ResultLimit::Launch));
        assert_eq!(ResultLimit::from_bytes(1_048_576), Some(ResultLimit::OneMebibyte));
        assert_eq!(ResultLimit::from_bytes(5), None);
    }
}
