//! The Alibaba Cloud CloudFlow / Serverless Workflow task-token contract (`fnf` 2019-03-15: ReportTaskSucceeded, ReportTaskFailed) as tables.
//!
//! Transcribed from the project's contract notes; every rule's source cites the facts it rests
//! on in `docs/sources.md` (or a file in this repository), and a test resolves each citation.

use super::{
    Action, CheckStep, Contract, ErrorSpec, Limit, Member, Operation, Outcomes, Provenance,
    Provider, Rule, TimeoutLabels, Traits, Unit,
};

use Provenance::{Decision, Documented, Inferred, Observed};

/// The only API version.
pub const API_VERSION: &str = "2019-03-15";
/// The parameter that carries a task's output.
pub const OUTPUT: &str = "Output";
/// Largest request, in bytes on the wire.
pub const MAX_REQUEST_BYTES: usize = 1_048_576;
/// Largest `Output` in UTF-8 bytes on CloudFlow (the default flavour).
pub const CLOUDFLOW_OUTPUT_MAX: usize = 65_536;
/// Largest `Output` in UTF-8 bytes on the older Serverless Workflow.
pub const SERVERLESS_WORKFLOW_OUTPUT_MAX: usize = 32_768;
/// Content type of every answer.
pub const CONTENT_TYPE: &str = "application/json;charset=utf-8";
/// Allowed difference between a request's `Timestamp` and the server clock.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 15 * 60;
/// Token bucket of the documented quota for these operations.
pub const QUOTA_BUCKET: u32 = 10;
/// Refill rate of that bucket, per second.
pub const QUOTA_REFILL_PER_SECOND: u32 = 2;

/// Which service's limits the Alibaba mock applies (they share one API).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavour {
    /// CloudFlow: `Output` up to 65536 bytes.
    #[default]
    CloudFlow,
    /// The older Serverless Workflow: `Output` up to 32768 bytes.
    ServerlessWorkflow,
}

impl Flavour {
    /// The `Output` limit in UTF-8 bytes.
    pub fn output_max(self) -> usize {
        match self {
            Flavour::CloudFlow => CLOUDFLOW_OUTPUT_MAX,
            Flavour::ServerlessWorkflow => SERVERLESS_WORKFLOW_OUTPUT_MAX,
        }
    }

    /// `member`'s limit in this flavour: the tables hold CloudFlow's, and the flavours differ
    /// only in `Output`.
    ///
    /// ```
    /// use tasktoken::contract::alibaba::{Flavour, REPORT_TASK_SUCCEEDED};
    /// let output = REPORT_TASK_SUCCEEDED.member("Output").unwrap();
    /// assert_eq!(Flavour::ServerlessWorkflow.limit(output).max, 32_768);
    /// assert_eq!(Flavour::CloudFlow.limit(output), output.limit);
    /// ```
    pub fn limit(self, member: &Member) -> Limit {
        if member.name == OUTPUT {
            Limit { max: self.output_max(), ..member.limit }
        } else {
            member.limit
        }
    }
}

// ---- wire -------------------------------------------------------------------------------

rule!(R_PROTOCOL, "alibaba.wire.rpc", Observed,
    "RPC style: `POST /` (or `GET /`), any Host; the operation is the `Action` parameter; parameters come from the query and a form-urlencoded body merged into one map (`+` is a space in the body).",
    "fixtures/captures/alibaba-ReportTaskSucceeded.txt; Tea, core and Node SDK captures (docs/sources.md#alibaba-sdk-captures)");
rule!(R_COMMON_PARAMS, "alibaba.wire.common-params", Observed,
    "Common parameters `Action`, `Version`, `Format` (`json` or `JSON`), `AccessKeyId`, `SignatureMethod`, `SignatureVersion`, `SignatureNonce`, `Timestamp`, `Signature` are accepted, and `RegionId`, `SecurityToken`, an empty `SignatureType` and an old `RequestId`; answers are always JSON.",
    "three SDKs' captures (docs/sources.md#alibaba-sdk-captures); old docs: XML not supported (docs/sources.md#alibaba-success-response)");
rule!(R_SUCCESS, "alibaba.wire.success", Documented,
    "Success is HTTP 200 `{\"EventId\": <int64>, \"RequestId\": \"<id>\"}`, never with a `Code` member; request ids are lowercase 8-4-4-4-12 hex.",
    "API reference sample; real request ids (docs/sources.md#alibaba-success-response); pop-core treats any `Code` as an error (docs/sources.md#alibaba-error-response)");
rule!(
    R_EVENT_ID,
    "alibaba.wire.event-id",
    Inferred,
    "`EventId` is the id of the history event the report wrote, increasing within an execution.",
    "doc: \"The ID of the event.\"; GetExecutionHistory model (docs/sources.md#alibaba-event-id)"
);
rule!(R_ERROR_ENVELOPE, "alibaba.wire.error-envelope", Observed,
    "Errors are always JSON `{\"RequestId\",\"HostId\",\"Code\",\"Message\",\"Recommend\"}` with the catalogue's HTTP status; `HostId` is the Host header and `Recommend` `https://api.aliyun.com/troubleshoot?q=<Code>&product=fnf&requestId=<id>` (values inferred).",
    "SDK error parsing observed; a non-JSON error body breaks the Tea and core SDKs (docs/sources.md#alibaba-error-response)");
rule!(
    R_BODY_SIZE,
    "alibaba.limit.request",
    Documented,
    "A request over 1048576 bytes is `EntityTooLarge` with `(1048576 bytes)` in the message.",
    "limits page: maximum request size 1,024 KiB (docs/sources.md#alibaba-limits)"
);
rule!(R_PARAM_SYNTAX, "alibaba.wire.param-syntax", Decision,
    "Bad percent-encoding, parameters that do not decode to UTF-8, and a parameter given twice are `InvalidArgument`.",
    "our decision: the gateway's behaviour is not recorded (docs/sources.md#alibaba-uncertain)");
rule!(R_MEDIA_TYPE, "alibaba.wire.media-type", Inferred,
    "A non-empty body whose content type is neither form-urlencoded nor JSON is `UnsupportedMediaType` (415).",
    "catalogue entry (docs/sources.md#alibaba-error-catalogue); trigger inferred (docs/sources.md#alibaba-uncertain)");

// ---- limits -----------------------------------------------------------------------------

rule!(
    R_TOKEN,
    "alibaba.limit.task-token",
    Documented,
    "`TaskToken` is required; the API reference gives no length limit.",
    "API reference; aliyun-openapi-meta (docs/sources.md#alibaba-endpoint-and-transport)"
);
rule!(R_OUTPUT_LIMIT, "alibaba.limit.output", Documented,
    "`Output` is required and at most 65536 UTF-8 bytes on CloudFlow (32768 on Serverless Workflow); over it is `EntityTooLarge` (applying the event-data limit to `Output` is inferred).",
    "limits page: maximum event data size 32 KiB / 64 KiB (docs/sources.md#alibaba-limits)");
rule!(R_ERROR_LIMIT, "alibaba.limit.error", Documented,
    "`Error` (ReportTaskFailed) is required and 1 to 128 characters; out of range is `InvalidArgument`.",
    "SDK docstrings and meta (docs/sources.md#alibaba-operations)");
rule!(R_CAUSE_LIMIT, "alibaba.limit.cause", Documented,
    "`Cause` (ReportTaskFailed) is optional and 1 to 4096 characters; out of range is `InvalidArgument`.",
    "SDK docstrings and meta (docs/sources.md#alibaba-operations)");

// ---- errors -----------------------------------------------------------------------------

rule!(
    R_ACTION,
    "alibaba.error.action-not-supported",
    Inferred,
    "An unknown `Action` is `ActionNotSupported` with the action in the message.",
    "catalogue (docs/sources.md#alibaba-error-catalogue); trigger inferred"
);
rule!(R_VERSION, "alibaba.error.api-version", Inferred,
    "A `Version` other than `2019-03-15` is `APIVersionNotSupported` with the version in the message.",
    "catalogue (docs/sources.md#alibaba-error-catalogue); trigger inferred");
rule!(R_MISSING_PARAMS, "alibaba.error.missing-params", Inferred,
    "A missing `Action`, `Version`, `TaskToken`, `Output` or `Error` is `MissingRequiredParams` naming it.",
    "catalogue (docs/sources.md#alibaba-error-catalogue); trigger inferred (docs/sources.md#alibaba-uncertain)");
rule!(R_MISSING_HEADER, "alibaba.error.missing-header", Documented,
    "`MissingRequiredHeader` is in the catalogue but not reachable by RPC clients; only through fault injection.",
    "catalogue (docs/sources.md#alibaba-error-catalogue)");
rule!(R_INVALID_ARGUMENT, "alibaba.error.invalid-argument", Inferred,
    "A token the service never issued, an `Output` that is not valid JSON, and `Error`/`Cause` out of range are `InvalidArgument`, `Parameter error.`",
    "catalogue (docs/sources.md#alibaba-error-catalogue); triggers inferred (docs/sources.md#alibaba-uncertain)");
rule!(R_ALREADY_COMPLETED, "alibaba.error.task-already-completed", Inferred,
    "Any report on a closed task (succeeded, failed, or timed out) is `TaskAlreadyCompleted`, `Task <token as sent> has already completed.`",
    "catalogue (docs/sources.md#alibaba-error-catalogue); `%s` and the timed-out case inferred (docs/sources.md#alibaba-duplicate-reports)");
rule!(R_ENTITY_TOO_LARGE, "alibaba.error.entity-too-large", Inferred,
    "`EntityTooLarge`, `The payload size exceeds maximum allowed size (<limit> bytes).`, for the request and for `Output`.",
    "catalogue (docs/sources.md#alibaba-error-catalogue); triggers inferred (docs/sources.md#alibaba-uncertain)");
rule!(
    R_AUTH_KEY,
    "alibaba.auth.access-key",
    Documented,
    "With strict authentication, an unknown `AccessKeyId` is `InvalidAccessKeyID` (403) naming it.",
    "catalogue (docs/sources.md#alibaba-error-catalogue)"
);
rule!(R_AUTH_SKEW, "alibaba.auth.time-skew", Inferred,
    "With strict authentication, a `Timestamp` more than 15 minutes from the server clock is `RequestTimeTooSkewed` (403).",
    "catalogue (docs/sources.md#alibaba-error-catalogue); the 15-minute threshold is inferred (docs/sources.md#alibaba-uncertain)");
rule!(R_AUTH_NONCE, "alibaba.auth.nonce", Inferred,
    "With strict authentication, a validly signed request whose `SignatureNonce` (ACS3: `x-acs-signature-nonce`) was already used with the same `AccessKeyId` while that earlier request could still verify (its `Timestamp` plus 15 minutes) is `SignatureNonceUsed` (400), `Specified signature nonce was used already.`; only a request that verifies uses up its nonce.",
    "docs/sources.md#alibaba-signaturenonce: the gateway's common client errors and a real 400 from another product; not in the fnf catalogue, so applying it to fnf, the window and the order are inferred");
rule!(R_AUTH_SIGNATURE, "alibaba.auth.signature", Observed,
    "With strict authentication, a wrong RPC v1 (HMAC-SHA1 over query and form parameters) or ACS3 signature is `SignatureNotMatch` (403); a check accepts `Check your key and signing method.` as well.",
    "captures verify with their credentials (docs/sources.md#alibaba-signature); message from the catalogue (docs/sources.md#alibaba-error-catalogue)");
rule!(R_FAULT_ONLY, "alibaba.error.fault-injection-only", Documented,
    "`AccessDenied`, `TaskInvalidState` and `InternalServerError` are in the catalogue; the mock returns them only through fault injection.",
    "catalogue (docs/sources.md#alibaba-error-catalogue); meaning of TaskInvalidState unknown (docs/sources.md#alibaba-duplicate-reports)");
rule!(R_THROTTLED, "alibaba.error.throttled", Documented,
    "In throttling mode, requests beyond the quota (bucket of 10, refilled at 2 per second) are `ResourceThrottled` (429).",
    "limits page, \"Other operations\" quota (docs/sources.md#alibaba-limits)");

// ---- order and semantics ----------------------------------------------------------------

rule!(R_ORDER, "alibaba.order", Decision,
    "Checks apply in this order: request size, parameter syntax and media type, `Action` then `Version`, authentication, required parameters and ranges, token, task state, `Output` JSON.",
    "our decision, mirroring the AWS order; no source orders the checks (docs/sources.md#alibaba-uncertain)");
rule!(R_FIRST_WINS, "alibaba.task.first-report-wins", Inferred,
    "The first report wins; every later ReportTaskSucceeded or ReportTaskFailed on the token gets `TaskAlreadyCompleted`.",
    "catalogue entry TaskAlreadyCompleted; no source says when it is returned (docs/sources.md#alibaba-duplicate-reports)");
rule!(R_ONE_WINNER, "alibaba.task.one-winner", Inferred,
    "N concurrent reports on one token give exactly one 200, every other report `TaskAlreadyCompleted`; the stored result is the winner's.",
    "inferred from the single-use rule; no race was ever recorded (docs/sources.md#concurrent-completions)");
rule!(R_TOKEN_IDENTITY, "alibaba.task.token-identity", Inferred,
    "A task is found by its whole token, compared exactly: a live token changed in one character (a case flip included), cut short or extended is a token the service never issued, `InvalidArgument`, and the task is untouched.",
    "a token never issued is InvalidArgument, inferred (docs/sources.md#alibaba-uncertain); tokens are base64 with a MAC (docs/sources.md#alibaba-task-token); altered live tokens were never recorded (docs/sources.md#token-identity)");
rule!(R_RESULT_AS_SENT, "alibaba.task.result-as-sent", Inferred,
    "The task keeps the winner's `Output`, `Error` and `Cause` exactly as decoded from the request, byte for byte: no reformatting, no escape or number normalisation, no key reordering or merging, no whitespace or line-end changes.",
    "nothing recorded either way (docs/sources.md#stored-results)");
rule!(
    R_NO_HEARTBEAT,
    "alibaba.task.no-heartbeat",
    Documented,
    "There is no heartbeat operation: none among the API's 29 actions.",
    "aliyun/alibabacloud-sdk api-info.json (docs/sources.md#alibaba-operations)"
);
rule!(R_TOKEN_SHAPE, "alibaba.task.token-shape", Observed,
    "Tokens are standard base64 of `v1#<flow>#<execution>#<event id>#<base64 MAC>`, about 128 characters.",
    "two real samples (docs/sources.md#alibaba-task-token)");

const TOKEN_LIMIT: Limit = Limit { min: 0, max: usize::MAX, unit: Unit::Characters };

/// The catalogue: every operation may answer any of these (the API reference lists one
/// error table for the whole API).
macro_rules! catalogue {
    () => {
        &[
            &ACTION_NOT_SUPPORTED,
            &API_VERSION_NOT_SUPPORTED,
            &ENTITY_TOO_LARGE,
            &INVALID_ARGUMENT,
            &MISSING_REQUIRED_HEADER,
            &MISSING_REQUIRED_PARAMS,
            &TASK_ALREADY_COMPLETED,
            &ACCESS_DENIED,
            &INVALID_ACCESS_KEY_ID,
            &REQUEST_TIME_TOO_SKEWED,
            &SIGNATURE_NOT_MATCH,
            &SIGNATURE_NONCE_USED,
            &TASK_INVALID_STATE,
            &UNSUPPORTED_MEDIA_TYPE,
            &RESOURCE_THROTTLED,
            &INTERNAL_SERVER_ERROR,
        ]
    };
}

/// ReportTaskSucceeded.
pub static REPORT_TASK_SUCCEEDED: Operation = Operation {
    name: "ReportTaskSucceeded",
    wire_name: "ReportTaskSucceeded",
    action: Action::Succeed,
    members: &[
        Member {
            name: "TaskToken",
            required: true,
            limit: TOKEN_LIMIT,
            too_long: None,
            rule: &R_TOKEN,
        },
        Member {
            name: OUTPUT,
            required: true,
            limit: Limit { min: 0, max: CLOUDFLOW_OUTPUT_MAX, unit: Unit::Utf8Bytes },
            too_long: Some(&ENTITY_TOO_LARGE),
            rule: &R_OUTPUT_LIMIT,
        },
    ],
    errors: catalogue!(),
};

/// ReportTaskFailed.
pub static REPORT_TASK_FAILED: Operation = Operation {
    name: "ReportTaskFailed",
    wire_name: "ReportTaskFailed",
    action: Action::Fail,
    members: &[
        Member {
            name: "TaskToken",
            required: true,
            limit: TOKEN_LIMIT,
            too_long: None,
            rule: &R_TOKEN,
        },
        Member {
            name: "Error",
            required: true,
            limit: Limit { min: 1, max: 128, unit: Unit::Characters },
            too_long: None,
            rule: &R_ERROR_LIMIT,
        },
        Member {
            name: "Cause",
            required: false,
            limit: Limit { min: 1, max: 4096, unit: Unit::Characters },
            too_long: None,
            rule: &R_CAUSE_LIMIT,
        },
    ],
    errors: catalogue!(),
};

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

error!(
    ACTION_NOT_SUPPORTED,
    "ActionNotSupported",
    400,
    "The requested API operation '%s' is incorrect. Please check.",
    &R_ACTION
);
error!(
    API_VERSION_NOT_SUPPORTED,
    "APIVersionNotSupported",
    400,
    "The requested API version '%s' is not supported yet. Please check.",
    &R_VERSION
);
error!(
    ENTITY_TOO_LARGE,
    "EntityTooLarge",
    400,
    "The payload size exceeds maximum allowed size (%s bytes).",
    &R_ENTITY_TOO_LARGE
);
error!(INVALID_ARGUMENT, "InvalidArgument", 400, "Parameter error.", &R_INVALID_ARGUMENT);
error!(
    MISSING_REQUIRED_HEADER,
    "MissingRequiredHeader", 400, "The HTTP header '%s' must be specified.", &R_MISSING_HEADER
);
error!(
    MISSING_REQUIRED_PARAMS,
    "MissingRequiredParams", 400, "The HTTP query '%s' must be specified.", &R_MISSING_PARAMS
);
error!(
    TASK_ALREADY_COMPLETED,
    "TaskAlreadyCompleted", 400, "Task %s has already completed.", &R_ALREADY_COMPLETED
);
error!(ACCESS_DENIED, "AccessDenied", 403, "The resources doesn't belong to you.", &R_FAULT_ONLY);
error!(
    INVALID_ACCESS_KEY_ID,
    "InvalidAccessKeyID", 403, "The AccessKey ID %s is invalid.", &R_AUTH_KEY
);
error!(
    REQUEST_TIME_TOO_SKEWED,
    "RequestTimeTooSkewed",
    403,
    "The difference between the request time %s and the current time %s is too large.",
    &R_AUTH_SKEW
);
error!(SIGNATURE_NOT_MATCH, "SignatureNotMatch", 403,
    "The request signature we calculated does not match the signature you provided. Check your access key and signing method.",
    &R_AUTH_SIGNATURE);
error!(
    SIGNATURE_NONCE_USED,
    "SignatureNonceUsed", 400, "Specified signature nonce was used already.", &R_AUTH_NONCE
);
error!(
    TASK_INVALID_STATE,
    "TaskInvalidState", 409, "Task is in an invalid state, please retry.", &R_FAULT_ONLY
);
error!(
    UNSUPPORTED_MEDIA_TYPE,
    "UnsupportedMediaType", 415, "The content type must be \"application/json\".", &R_MEDIA_TYPE
);
error!(
    RESOURCE_THROTTLED,
    "ResourceThrottled", 429, "The request is throttled. Please try again later.", &R_THROTTLED
);
error!(
    INTERNAL_SERVER_ERROR,
    "InternalServerError", 500, "An internal error has occurred. Please retry.", &R_FAULT_ONLY
);

/// The older wording of `SignatureNotMatch`'s message, which a check also accepts.
pub const SIGNATURE_NOT_MATCH_ALTERNATIVE: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

/// The whole Alibaba contract.
pub static CONTRACT: Contract = Contract {
    provider: Provider::Alibaba,
    service: "Alibaba Cloud CloudFlow / Serverless Workflow (fnf 2019-03-15)",
    protocol: "RPC: `POST /` or `GET /`, `Action` and `Version` parameters, query and form-urlencoded body merged, RPC v1 HMAC-SHA1 signature (or ACS3-HMAC-SHA256)",
    operations: &[&REPORT_TASK_SUCCEEDED, &REPORT_TASK_FAILED],
    errors: catalogue!(),
    max_request_bytes: MAX_REQUEST_BYTES,
    request_size_rule: &R_BODY_SIZE,
    check_order: &[
        (CheckStep::BodySize, &R_ORDER),
        (CheckStep::Parse, &R_ORDER),
        (CheckStep::Operation, &R_ORDER),
        (CheckStep::Authentication, &R_ORDER),
        (CheckStep::Validation, &R_ORDER),
        (CheckStep::Token, &R_ORDER),
        (CheckStep::TaskState, &R_ORDER),
        (CheckStep::Output, &R_ORDER),
    ],
    rules: &[
        &R_PROTOCOL,
        &R_COMMON_PARAMS,
        &R_SUCCESS,
        &R_EVENT_ID,
        &R_ERROR_ENVELOPE,
        &R_PARAM_SYNTAX,
        &R_FIRST_WINS,
        &R_ONE_WINNER,
        &R_NO_HEARTBEAT,
        &R_TOKEN_SHAPE,
        &R_TOKEN_IDENTITY,
        &R_RESULT_AS_SENT,
    ],
    outcomes: Outcomes {
        invalid_token: &INVALID_ARGUMENT,
        closed: &TASK_ALREADY_COMPLETED,
        deleted: &INVALID_ARGUMENT,
        invalid_output: &INVALID_ARGUMENT,
        out_of_range: &INVALID_ARGUMENT,
        too_large: &ENTITY_TOO_LARGE,
        missing: &MISSING_REQUIRED_PARAMS,
    },
    output_is_json: true,
    timeout_error: "FnF.TaskTimeout",
    timed_out_by: TimeoutLabels { task: "task", heartbeat: "heartbeat" },
    traits: Traits {
        api_style: "RPC, `Action` parameter (query and form body merged)",
        success_body: "`{\"EventId\": <int64>, \"RequestId\": \"…\"}`",
        error_body: "`{\"RequestId\",\"HostId\",\"Code\",\"Message\",\"Recommend\"}`",
        signature: "RPC v1 HMAC-SHA1 over query and form (or ACS3-HMAC-SHA256)",
        quota: Some(&R_THROTTLED),
    },
    activities: None,
};
