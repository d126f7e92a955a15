//! The AWS Step Functions task-token contract (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) as tables.
//!
//! Transcribed from the project's contract notes; every rule's source cites the facts it rests
//! on in `docs/sources.md` (or a file in this repository), and a test resolves each citation.

use super::{
    Action, CheckStep, Contract, ErrorSpec, Limit, Member, Operation, Outcomes, Provenance,
    Provider, Rule, TimeoutLabels, Traits, Unit,
};

use Provenance::{Decision, Documented, Inferred, Observed};

/// `error!(NAME, "Code", status, namespace, message, &RULE)`: one [`ErrorSpec`] as a `pub static`
/// (this module's catalogue and the activity API's).
macro_rules! error {
    ($name:ident, $code:literal, $status:literal, $ns:expr, $msg:expr, $rule:expr) => {
        #[doc = concat!("`", $code, "`.")]
        pub static $name: ErrorSpec =
            ErrorSpec { code: $code, status: $status, namespace: $ns, message: $msg, rule: $rule };
    };
}

pub mod activity;

/// `__type` namespace of Step Functions' own errors.
pub const NS_SERVICE: &str = "com.amazonaws.swf.service.v2.model";
/// `__type` namespace of Coral model-validation errors.
pub const NS_VALIDATE: &str = "com.amazon.coral.validate";
/// `__type` namespace of Coral framework errors.
pub const NS_FRAMEWORK: &str = "com.amazon.coral.service";

/// Content type of every JSON request and response.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Prefix of every `X-Amz-Target` value.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// SigV4 signing name.
pub const SIGNING_NAME: &str = "states";
/// Largest request body, in bytes on the wire; larger bodies get the plain-text 413.
pub const MAX_REQUEST_BYTES: usize = 1_049_600;
/// Exact body of the 413 answer.
pub const TOO_LARGE_BODY: &str = "HTTP content length exceeded 1049600 bytes.";
/// Content type of the 413 answer.
pub const TOO_LARGE_CONTENT_TYPE: &str = "text; charset=utf-8";

// ---- wire rules -------------------------------------------------------------------------

rule!(R_PROTOCOL, "aws.wire.protocol", Documented,
    "Requests are `POST /` with `Content-Type: application/x-amz-json-1.0`, `X-Amz-Target: AWSStepFunctions.<Operation>` and SigV4 signing name `states`.",
    "botocore 1.44.5 service-2.json metadata (docs/sources.md#aws-service-model); fixtures/captures/boto3-send_task_success.txt");
rule!(R_SUCCESS_BODY, "aws.wire.success-body", Observed,
    "Success is HTTP 200 with the body exactly `{}` (2 bytes), although the API reference says the body is empty.",
    "erlcloud PR #531; faasshell real-AWS tests (docs/sources.md#aws-success-response)");
rule!(R_SUCCESS_HEADERS, "aws.wire.success-headers", Inferred,
    "Success carries `Content-Type: application/x-amz-json-1.0` and `x-amzn-RequestId: <lowercase UUID v4>`.",
    "real error header dumps and Coral convention (docs/sources.md#aws-response-headers)");
rule!(R_ERROR_ENVELOPE, "aws.wire.error-envelope", Observed,
    "Errors are HTTP 400 with `Content-Type: application/x-amz-json-1.0`, `x-amzn-RequestId`, no `X-Amzn-ErrorType` header, and body `{\"__type\":\"<namespace>#<Code>\",\"message\":\"<text>\"}`.",
    "API Gateway log of a real Step Functions error (docs/sources.md#aws-response-headers); faasshell (docs/sources.md#aws-invalid-token)");
rule!(
    R_UNKNOWN_MEMBERS,
    "aws.wire.unknown-members",
    Observed,
    "Unknown members in the request body are ignored.",
    "faasshell: `{\"fake\": …}` beside real members reached validation (docs/sources.md#aws-missing-member)"
);
rule!(R_BODY_SIZE, "aws.limit.request-body", Observed,
    "A body larger than 1049600 bytes is answered 413 with `Content-Type: text; charset=utf-8` and the plain body `HTTP content length exceeded 1049600 bytes.`, no JSON and no request id.",
    "aws-sdk-js-v3 issue #4184 (docs/sources.md#aws-request-too-large)");

// ---- member limits ----------------------------------------------------------------------

rule!(
    R_TOKEN_LENGTH,
    "aws.limit.task-token",
    Documented,
    "`taskToken` is 1 to 2048 characters (older models said 1024).",
    "API reference; botocore 1.44.5 TaskToken shape (docs/sources.md#aws-service-model)"
);
rule!(R_OUTPUT_LENGTH, "aws.limit.output", Documented,
    "`output` is at most 262144 bytes of the decoded string encoded as UTF-8 (after JSON unescaping, `\\uXXXX` and surrogate pairs included).",
    "API reference: \"expressed as bytes in UTF-8 encoding\" (docs/sources.md#aws-service-model)");
rule!(
    R_ERROR_LENGTH,
    "aws.limit.error",
    Documented,
    "`error` is 0 to 256 characters.",
    "botocore 1.44.5 SensitiveError shape (docs/sources.md#aws-service-model)"
);
rule!(
    R_CAUSE_LENGTH,
    "aws.limit.cause",
    Observed,
    "`cause` is 0 to 32768 characters: 32768 passes, 32769 fails.",
    "irothschild/stefuna PR #8 (docs/sources.md#aws-member-too-long)"
);

// ---- errors -----------------------------------------------------------------------------

rule!(R_SERIALIZATION, "aws.error.serialization", Inferred,
    "A body that is not a JSON object, or a member of the wrong JSON type, is `com.amazon.coral.service#SerializationException` with no message member.",
    "Coral behaviour seen on DynamoDB, mhart/dynalite (docs/sources.md#aws-coral-framework)");
rule!(R_UNKNOWN_OPERATION, "aws.error.unknown-operation", Observed,
    "An unknown or missing `X-Amz-Target` is `{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}` with no message member, HTTP 400.",
    "API Gateway log against states.us-east-1 (docs/sources.md#aws-unknown-operation)");
rule!(R_MISSING_MEMBER, "aws.error.missing-member", Observed,
    "A missing required member is `com.amazon.coral.validate#ValidationException`, `1 validation error detected: Value at '<member>' failed to satisfy constraint: Member must not be null` (sensitive members: no value echoed).",
    "faasshell real-AWS test (docs/sources.md#aws-missing-member)");
rule!(R_TOO_LONG, "aws.error.member-too-long", Inferred,
    "A member over its limit is a ValidationException `Value at '<member>' failed to satisfy constraint: Member must have length less than or equal to <max>` (format observed for `cause`, inferred for the others).",
    "stefuna PR #8: observed for `cause` only (docs/sources.md#aws-member-too-long)");
rule!(R_TOO_SHORT, "aws.error.member-too-short", Inferred,
    "A member under its minimum is a ValidationException `… Member must have length greater than or equal to <min>`.",
    "Coral format (docs/sources.md#aws-member-too-long)");
rule!(R_MANY_VIOLATIONS, "aws.error.several-violations", Inferred,
    "Several violations are counted and joined: `2 validation errors detected: <first>; <second>`, members in model order.",
    "LocalStack snapshots validated against AWS and dynalite show the count and the `; `; the order is not recorded (docs/sources.md#aws-member-too-long)");
rule!(R_INVALID_TOKEN, "aws.error.invalid-token", Observed,
    "A token the service never issued (garbage, forged, truncated, altered) is `InvalidToken`, `Invalid Token: 'Invalid token'`.",
    "faasshell 2017; moto aws_verified test; LocalStack AWS snapshot 2025 (docs/sources.md#aws-invalid-token)");
rule!(R_TASK_TIMED_OUT, "aws.error.task-timed-out", Observed,
    "A token whose task is closed (succeeded, failed or timed out) is `TaskTimedOut`, `Task Timed Out: 'Provided task does not exist anymore'`, for every operation.",
    "andybalham blog; amazon-mwaa-examples #61; boto3 #4044 (docs/sources.md#aws-closed-task)");
rule!(R_INVALID_OUTPUT, "aws.error.invalid-output", Documented,
    "On a live token, an `output` that is not valid JSON (RFC 8259; scalars such as `\"x\"` are valid) is `InvalidOutput`; the message `Invalid Output: '<parser detail>'` is inferred.",
    "service model (code, 400); message by analogy with StartExecution (docs/sources.md#aws-invalid-output)");
rule!(R_TASK_DOES_NOT_EXIST, "aws.error.task-does-not-exist", Decision,
    "A token whose task was deleted (through the control API only) is `TaskDoesNotExist`; the trigger and the message are the mock's choice.",
    "the service model lists the code; no real trigger found (docs/sources.md#aws-task-does-not-exist)");
rule!(R_KMS, "aws.error.kms", Documented,
    "KMS failures (`KmsAccessDeniedException`, `KmsInvalidStateException` with `kmsKeyState`, `KmsThrottlingException`) are HTTP 400; reachable only through fault injection.",
    "API reference error lists (docs/sources.md#aws-service-model)");
rule!(R_THROTTLING, "aws.error.throttling", Inferred,
    "Throttling is `com.amazon.coral.availability#ThrottlingException`, `Rate exceeded`, HTTP 400; reachable only through fault injection.",
    "Coral framework; Common Errors lists ThrottlingException 400 (docs/sources.md#aws-common-errors)");
rule!(R_AUTH_MISSING, "aws.auth.missing", Inferred,
    "With strict authentication, a request with no `Authorization` header is `MissingAuthenticationTokenException`, `Request is missing Authentication Token`.",
    "Coral framework, DynamoDB captures (docs/sources.md#aws-coral-framework)");
rule!(R_AUTH_INCOMPLETE, "aws.auth.incomplete", Inferred,
    "With strict authentication, a malformed `Authorization` header is `IncompleteSignatureException`.",
    "Coral framework, DynamoDB captures (docs/sources.md#aws-coral-framework)");
rule!(R_AUTH_UNKNOWN_KEY, "aws.auth.unknown-key", Inferred,
    "With strict authentication, an unknown access key is `UnrecognizedClientException`, `The security token included in the request is invalid.`",
    "Coral framework, DynamoDB captures (docs/sources.md#aws-coral-framework)");
rule!(R_AUTH_SIGNATURE, "aws.auth.signature", Inferred,
    "With strict authentication, a wrong signature is `InvalidSignatureException` with the standard SigV4 mismatch message.",
    "Coral framework, DynamoDB captures (docs/sources.md#aws-coral-framework)");

// ---- order ------------------------------------------------------------------------------

rule!(R_ORDER_SIZE_FIRST, "aws.order.body-size-first", Observed,
    "The body size is checked before anything else: the 413 comes from the front end, before JSON parsing.",
    "aws-sdk-js-v3 #4184: no request id on the 413 (docs/sources.md#aws-request-too-large)");
rule!(R_ORDER_FRAMEWORK, "aws.order.framework", Inferred,
    "Then, as Coral does: JSON parse, then the target, then authentication, then member types, then model validation.",
    "Coral order encoded in mhart/dynalite (docs/sources.md#aws-coral-framework)");
rule!(R_ORDER_TOKEN_FIRST, "aws.order.token-before-output", Observed,
    "The token is checked before the output: a garbage token with a non-JSON output is `InvalidToken`.",
    "moto aws_verified test; LocalStack AWS snapshot with non-JSON output (docs/sources.md#aws-invalid-token)");
rule!(
    R_ORDER_STATE,
    "aws.order.state-before-output",
    Decision,
    "The task state is checked after the token and before the output's JSON validity.",
    "our decision: a closed task has no output to validate; no source orders the two (docs/sources.md#aws-uncertain)"
);

// ---- semantics --------------------------------------------------------------------------

rule!(R_FIRST_WINS, "aws.task.first-completion-wins", Observed,
    "A task is PENDING until its first completion (success or failure); every later SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat on the token gets `TaskTimedOut`, even with an identical output.",
    "boto3 #4044: a retry after an applied success got TaskTimedOut; mwaa #61: a failure after close (docs/sources.md#aws-closed-task)");
rule!(R_ONE_WINNER, "aws.task.one-winner", Inferred,
    "N concurrent completions on one token give exactly one 200, every other completion `TaskTimedOut`; the stored result is the winner's.",
    "inferred from the single-use rule; no race was ever recorded (docs/sources.md#concurrent-completions)");
rule!(R_HEARTBEAT, "aws.task.heartbeat", Documented,
    "SendTaskHeartbeat on a pending task returns 200 `{}` and restarts the heartbeat deadline; it does not extend the overall timeout and writes no history event.",
    "API reference (docs/sources.md#aws-semantics)");
rule!(R_TIMEOUT, "aws.task.timeout", Observed,
    "A task past its `TimeoutSeconds` or `HeartbeatSeconds` deadline is TIMED_OUT; calls after that get `TaskTimedOut`.",
    "andybalham blog-task-tokens-part-2 NOTES.md (docs/sources.md#aws-closed-task)");
rule!(
    R_FAILURE_EMPTY,
    "aws.task.failure-without-error",
    Observed,
    "SendTaskFailure with neither `error` nor `cause` is valid.",
    "LocalStack callback snapshots recorded against AWS (docs/sources.md#aws-semantics)"
);
rule!(R_TOKEN_IDENTITY, "aws.task.token-identity", Inferred,
    "A task is found by its whole token, compared exactly: a live token changed in one character (a case flip included), cut short or extended is a token the service never issued, `InvalidToken`, and the task is untouched.",
    "garbage tokens are InvalidToken (docs/sources.md#aws-invalid-token); tokens are opaque base64 of 660 to 700 characters (docs/sources.md#aws-token-shape); altered live tokens were never recorded (docs/sources.md#token-identity)");
rule!(R_RESULT_AS_SENT, "aws.task.result-as-sent", Inferred,
    "The task keeps the winner's `output`, `error` and `cause` exactly as decoded from the request, byte for byte: no reformatting, no escape or number normalisation, no key reordering or merging, no whitespace or line-end changes.",
    "error and cause pass through to the history unchanged (docs/sources.md#aws-semantics); output byte-exactness is not recorded (docs/sources.md#stored-results)");
rule!(R_TOKEN_SHAPE, "aws.task.token-shape", Observed,
    "Tokens are opaque standard base64 (`+`, `/`, `=`, an `=` can sit inside), start with `AQ` (callback) or `AAAAKgAAAA` (activities), 660 to 700 characters long.",
    "DataDog fixtures, aws-samples README, Lambda script (docs/sources.md#aws-token-shape)");

/// SendTaskSuccess.
pub static SEND_TASK_SUCCESS: Operation = Operation {
    name: "SendTaskSuccess",
    wire_name: "AWSStepFunctions.SendTaskSuccess",
    action: Action::Succeed,
    members: &[
        Member {
            name: "taskToken",
            required: true,
            limit: TOKEN_LIMIT,
            too_long: None,
            rule: &R_TOKEN_LENGTH,
        },
        Member {
            name: "output",
            required: true,
            limit: Limit { min: 0, max: 262_144, unit: Unit::Utf8Bytes },
            too_long: None,
            rule: &R_OUTPUT_LENGTH,
        },
    ],
    errors: &[
        &TASK_DOES_NOT_EXIST,
        &INVALID_OUTPUT,
        &INVALID_TOKEN,
        &TASK_TIMED_OUT,
        &KMS_ACCESS_DENIED,
        &KMS_INVALID_STATE,
        &KMS_THROTTLING,
    ],
};

/// SendTaskFailure.
pub static SEND_TASK_FAILURE: Operation = Operation {
    name: "SendTaskFailure",
    wire_name: "AWSStepFunctions.SendTaskFailure",
    action: Action::Fail,
    members: &[
        Member {
            name: "taskToken",
            required: true,
            limit: TOKEN_LIMIT,
            too_long: None,
            rule: &R_TOKEN_LENGTH,
        },
        Member {
            name: "error",
            required: false,
            limit: Limit { min: 0, max: 256, unit: Unit::Characters },
            too_long: None,
            rule: &R_ERROR_LENGTH,
        },
        Member {
            name: "cause",
            required: false,
            limit: Limit { min: 0, max: 32_768, unit: Unit::Characters },
            too_long: None,
            rule: &R_CAUSE_LENGTH,
        },
    ],
    errors: &[
        &TASK_DOES_NOT_EXIST,
        &INVALID_TOKEN,
        &TASK_TIMED_OUT,
        &KMS_ACCESS_DENIED,
        &KMS_INVALID_STATE,
        &KMS_THROTTLING,
    ],
};

/// SendTaskHeartbeat.
pub static SEND_TASK_HEARTBEAT: Operation = Operation {
    name: "SendTaskHeartbeat",
    wire_name: "AWSStepFunctions.SendTaskHeartbeat",
    action: Action::Heartbeat,
    members: &[Member {
        name: "taskToken",
        required: true,
        limit: TOKEN_LIMIT,
        too_long: None,
        rule: &R_TOKEN_LENGTH,
    }],
    errors: &[&TASK_DOES_NOT_EXIST, &INVALID_TOKEN, &TASK_TIMED_OUT],
};

const TOKEN_LIMIT: Limit = Limit { min: 1, max: 2048, unit: Unit::Characters };

error!(REQUEST_TOO_LARGE, "RequestEntityTooLarge", 413, "", Some(TOO_LARGE_BODY), &R_BODY_SIZE);
error!(SERIALIZATION, "SerializationException", 400, NS_FRAMEWORK, None, &R_SERIALIZATION);
error!(
    UNKNOWN_OPERATION,
    "UnknownOperationException", 400, NS_FRAMEWORK, None, &R_UNKNOWN_OPERATION
);
error!(VALIDATION, "ValidationException", 400, NS_VALIDATE, Some("%s"), &R_MISSING_MEMBER);
error!(
    INVALID_TOKEN,
    "InvalidToken",
    400,
    NS_SERVICE,
    Some("Invalid Token: 'Invalid token'"),
    &R_INVALID_TOKEN
);
error!(
    TASK_TIMED_OUT,
    "TaskTimedOut",
    400,
    NS_SERVICE,
    Some("Task Timed Out: 'Provided task does not exist anymore'"),
    &R_TASK_TIMED_OUT
);
error!(
    INVALID_OUTPUT,
    "InvalidOutput",
    400,
    NS_SERVICE,
    Some("Invalid Output: '%s'"),
    &R_INVALID_OUTPUT
);
error!(
    TASK_DOES_NOT_EXIST,
    "TaskDoesNotExist",
    400,
    NS_SERVICE,
    Some("Task Does Not Exist: 'Provided task does not exist'"),
    &R_TASK_DOES_NOT_EXIST
);
error!(
    KMS_ACCESS_DENIED,
    "KmsAccessDeniedException",
    400,
    NS_SERVICE,
    Some("Either your KMS key policy or API caller does not have the required permissions."),
    &R_KMS
);
error!(
    KMS_INVALID_STATE,
    "KmsInvalidStateException",
    400,
    NS_SERVICE,
    Some("The KMS key is not in valid state, for example: Disabled or Deleted."),
    &R_KMS
);
error!(KMS_THROTTLING, "KmsThrottlingException", 400, NS_SERVICE,
    Some("Received when KMS returns ThrottlingException for a KMS call that Step Functions makes on behalf of the caller."), &R_KMS);
error!(
    THROTTLING,
    "ThrottlingException",
    400,
    "com.amazon.coral.availability",
    Some("Rate exceeded"),
    &R_THROTTLING
);
error!(
    MISSING_AUTHENTICATION_TOKEN,
    "MissingAuthenticationTokenException",
    400,
    NS_FRAMEWORK,
    Some("Request is missing Authentication Token"),
    &R_AUTH_MISSING
);
error!(
    INCOMPLETE_SIGNATURE,
    "IncompleteSignatureException",
    400,
    NS_FRAMEWORK,
    Some("%s"),
    &R_AUTH_INCOMPLETE
);
error!(
    UNRECOGNIZED_CLIENT,
    "UnrecognizedClientException",
    400,
    NS_FRAMEWORK,
    Some("The security token included in the request is invalid."),
    &R_AUTH_UNKNOWN_KEY
);
error!(INVALID_SIGNATURE, "InvalidSignatureException", 400, NS_FRAMEWORK,
    Some("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
    &R_AUTH_SIGNATURE);

/// The whole AWS contract.
pub static CONTRACT: Contract = Contract {
    provider: Provider::Aws,
    service: "AWS Step Functions",
    protocol: "awsJson1_0: `POST /`, `Content-Type: application/x-amz-json-1.0`, `X-Amz-Target: AWSStepFunctions.<Operation>`, SigV4 signing name `states`",
    operations: &[&SEND_TASK_SUCCESS, &SEND_TASK_FAILURE, &SEND_TASK_HEARTBEAT],
    errors: &[
        &REQUEST_TOO_LARGE,
        &SERIALIZATION,
        &UNKNOWN_OPERATION,
        &VALIDATION,
        &INVALID_TOKEN,
        &TASK_TIMED_OUT,
        &INVALID_OUTPUT,
        &TASK_DOES_NOT_EXIST,
        &KMS_ACCESS_DENIED,
        &KMS_INVALID_STATE,
        &KMS_THROTTLING,
        &THROTTLING,
        &MISSING_AUTHENTICATION_TOKEN,
        &INCOMPLETE_SIGNATURE,
        &UNRECOGNIZED_CLIENT,
        &INVALID_SIGNATURE,
    ],
    max_request_bytes: MAX_REQUEST_BYTES,
    request_size_rule: &R_BODY_SIZE,
    check_order: &[
        (CheckStep::BodySize, &R_ORDER_SIZE_FIRST),
        (CheckStep::Parse, &R_ORDER_FRAMEWORK),
        (CheckStep::Operation, &R_ORDER_FRAMEWORK),
        (CheckStep::Authentication, &R_ORDER_FRAMEWORK),
        (CheckStep::MemberTypes, &R_ORDER_FRAMEWORK),
        (CheckStep::Validation, &R_ORDER_FRAMEWORK),
        (CheckStep::Token, &R_ORDER_TOKEN_FIRST),
        (CheckStep::TaskState, &R_ORDER_STATE),
        (CheckStep::Output, &R_ORDER_STATE),
    ],
    rules: &[
        &R_PROTOCOL,
        &R_SUCCESS_BODY,
        &R_SUCCESS_HEADERS,
        &R_ERROR_ENVELOPE,
        &R_UNKNOWN_MEMBERS,
        &R_TOO_LONG,
        &R_TOO_SHORT,
        &R_MANY_VIOLATIONS,
        &R_FIRST_WINS,
        &R_ONE_WINNER,
        &R_HEARTBEAT,
        &R_TIMEOUT,
        &R_FAILURE_EMPTY,
        &R_TOKEN_SHAPE,
        &R_TOKEN_IDENTITY,
        &R_RESULT_AS_SENT,
    ],
    outcomes: Outcomes {
        invalid_token: &INVALID_TOKEN,
        closed: &TASK_TIMED_OUT,
        deleted: &TASK_DOES_NOT_EXIST,
        invalid_output: &INVALID_OUTPUT,
        out_of_range: &VALIDATION,
        too_large: &REQUEST_TOO_LARGE,
        missing: &VALIDATION,
    },
    output_is_json: true,
    timeout_error: "States.Timeout",
    timed_out_by: TimeoutLabels { task: "task", heartbeat: "heartbeat" },
    traits: Traits {
        api_style: "awsJson1_0, `X-Amz-Target`",
        success_body: "`{}`",
        error_body: "`{\"__type\":\"<namespace>#<Code>\",\"message\":…}`",
        signature: "SigV4, signing name `states`",
        quota: None,
    },
    activities: Some(&activity::API),
};
