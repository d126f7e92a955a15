//! The Step Functions activity API (CreateActivity … GetActivityTask) as tables: how activity workers get their tokens.
//!
//! Transcribed from the activity research notes; sources cite the facts in `docs/sources.md`.
//! Where AWS's behaviour is not known and the mock chose, the rule is labelled `decision`, so
//! that no third-party target fails on it under any profile.

use super::super::{
    ActivityApi, ActivityOperation, ErrorSpec, Limit, Member, Provenance, Rule, Unit,
};
use super::{INVALID_TOKEN, NS_SERVICE};

use Provenance::{Decision, Documented, Inferred, Observed};

/// Account of every ARN the mock mints.
pub const ACCOUNT: &str = "123456789012";
/// Region of minted ARNs when the request's SigV4 scope names none.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The longest AWS holds an idle `GetActivityTask`, in seconds.
pub const MAX_HOLD_SECONDS: u64 = 60;
/// Largest task input, in UTF-8 bytes (the Step Functions payload quota).
pub const MAX_INPUT_BYTES: usize = 262_144;
/// `ListActivities` page size when `maxResults` is absent or 0.
pub const DEFAULT_PAGE: usize = 100;
/// Largest `maxResults`.
pub const MAX_PAGE: usize = 1000;

rule!(R_OPERATIONS, "aws.activity.operations", Documented,
    "CreateActivity, DescribeActivity, ListActivities, DeleteActivity and GetActivityTask use the same awsJson1_0 envelope, error body and signing name as SendTask*.",
    "botocore 1.44.5 service model (docs/sources.md#aws-activity-model)");
rule!(R_ARN, "aws.activity.arn", Documented,
    "An activity's ARN is `arn:aws:states:<region>:<account>:activity:<name>`; the mock mints account `123456789012` and region `us-east-1` unless the request's SigV4 scope names another region (our decision for the account and region).",
    "AWS tutorial \"Creating an Activity state machine\" (docs/sources.md#aws-activity-model)");
rule!(R_CREATE, "aws.activity.create-idempotent", Observed,
    "CreateActivity is idempotent by name: a second call with the same name answers 200 with the same `activityArn` and `creationDate` (tags and encryption settings of the later call are ignored).",
    "LocalStack snapshot recorded against AWS 2024-11-25; model docs (docs/sources.md#aws-activity-answers-recorded, docs/sources.md#aws-activity-model)");
rule!(R_NAME, "aws.activity.name", Observed,
    "A name is 1 to 80 characters without white space, `< > { } [ ] ? *`, `\" # % \\ ^ | ~ $ & , ; : /`, a backtick or control characters; a forbidden one is `InvalidName`, `Invalid Name: '<name>'`.",
    "26 forbidden names in LocalStack's AWS-validated snapshot (docs/sources.md#aws-activity-answers-recorded); model doc on `name` (docs/sources.md#aws-activity-model)");
rule!(R_DESCRIBE, "aws.activity.describe", Observed,
    "DescribeActivity answers `activityArn`, `name`, `creationDate` (epoch seconds) and `encryptionConfiguration: {\"type\":\"AWS_OWNED_KEY\"}` when none was given.",
    "LocalStack snapshot recorded against AWS 2024-11-25 (docs/sources.md#aws-activity-answers-recorded)");
rule!(R_LIST, "aws.activity.list", Documented,
    "ListActivities pages in creation order: `maxResults` 0 to 1000 (0 or absent: 100), an opaque `nextToken` to continue; a token it did not issue is `InvalidToken` (the message is our decision).",
    "botocore model and paginator (docs/sources.md#aws-activity-model); order as in LocalStack's AWS snapshot (docs/sources.md#aws-activity-answers-recorded)");
rule!(R_DELETE, "aws.activity.delete-idempotent", Observed,
    "DeleteActivity answers 200 `{}` whether or not the activity exists; a malformed ARN is `InvalidArn`.",
    "LocalStack snapshot recorded against AWS 2024-11-25 (docs/sources.md#aws-activity-answers-recorded)");
rule!(R_DOES_NOT_EXIST, "aws.activity.does-not-exist", Observed,
    "DescribeActivity or GetActivityTask on an activity that does not exist (never created, or deleted) is `ActivityDoesNotExist`, `Activity Does Not Exist: '<arn>'`, answered at once.",
    "LocalStack snapshot recorded against AWS 2024-03-17 (docs/sources.md#aws-activity-answers-recorded)");
rule!(R_INVALID_ARN, "aws.activity.invalid-arn", Observed,
    "An `activityArn` that does not start `arn:` is `InvalidArn`, `Invalid Arn: 'Invalid ARN prefix: <arn>'`, answered at once; a well-prefixed ARN that names no activity is `ActivityDoesNotExist` (our decision for other malformed ARNs).",
    "LocalStack snapshot recorded against AWS 2024-03-11 (docs/sources.md#aws-activity-answers-recorded)");
rule!(R_MEMBER_LIMITS, "aws.activity.member-limits", Inferred,
    "`activityArn` is 1 to 256 characters, `workerName` and `name` 1 to 80, `nextToken` 1 to 1024: over a maximum is the Coral ValidationException (botocore sends over-long values; the wording is inferred).",
    "botocore model limits; an 81-character workerName is sent by boto3 (docs/sources.md#aws-activity-model)");
rule!(R_HOLD, "aws.activity.poll-hold", Documented,
    "GetActivityTask is a long poll: held open until a task is available, at most 60 seconds. The mock holds for `--poll-hold` seconds (default 60) measured on its clock: on a virtual clock an idle poll ends when the clock passes the hold, or when that much real time has passed, whichever is first.",
    "botocore GetActivityTask documentation (docs/sources.md#aws-activity-long-poll)");
rule!(R_IDLE, "aws.activity.idle-answer", Inferred,
    "A poll that ends without a task answers 200 with the body `{}`: no `taskToken` member (boto3 and the CLI treat `\"taskToken\":\"\"` as a token).",
    "\"a taskToken with a null string\" in the model docs; workers test key presence; no raw AWS body recorded (docs/sources.md#aws-activity-long-poll)");
rule!(R_TASK_ANSWER, "aws.activity.task-answer", Documented,
    "A poll that gets a task answers 200 `{\"taskToken\":…,\"input\":…}`, the input being the scheduled JSON text byte for byte.",
    "botocore GetActivityTaskOutput (docs/sources.md#aws-activity-model, docs/sources.md#aws-activity-workers)");
rule!(
    R_EXACTLY_ONCE,
    "aws.activity.exactly-once",
    Documented,
    "Each task goes to exactly one poll; a task scheduled while polls wait is handed over at once.",
    "\"designed to provide a taskToken exactly once\" (AWS best practices, docs/sources.md#aws-activity-long-poll)"
);
rule!(R_FIFO, "aws.activity.fifo", Decision,
    "Queued tasks are delivered first scheduled, first delivered, and waiting polls served first come, first served.",
    "our decision: delivery order is not documented (docs/sources.md#aws-activity-open-questions)");
rule!(R_DELIVERED_WHEN_WRITTEN, "aws.activity.delivered-when-written", Decision,
    "A task counts as delivered only once its answer has been handed to the connection; a poll whose client hung up first loses nothing: the task goes back to the head of the queue.",
    "our decision: AWS documents that a dropped answer loses the token (docs/sources.md#aws-activity-long-poll), which a mock for CI must not reproduce");
rule!(R_TIMERS, "aws.activity.timers-start-at-delivery", Documented,
    "A task's TimeoutSeconds and HeartbeatSeconds start when a worker takes it (ActivityStarted), not when it is scheduled; a task nobody takes stays queued.",
    "Task state docs quoted in LocalStack's code; Troubleshooting activities (docs/sources.md#aws-activity-timeouts)");
rule!(R_DELETED, "aws.activity.deleted", Decision,
    "Deleting an activity answers its waiting polls `{}` at once; its queued tasks stay queued but undelivered, and later polls get `ActivityDoesNotExist`.",
    "our decision: AWS's behaviour is not documented (docs/sources.md#aws-activity-open-questions)");
rule!(R_LIVENESS, "aws.activity.liveness", Inferred,
    "With 100 polls held on an activity (AWS advises at least 100 open polls per activity), other requests are still answered at once.",
    "AWS best practices \"Avoid latency when polling for activity tasks\" (docs/sources.md#aws-activity-long-poll); localstack#2815 (docs/sources.md#aws-activity-workers)");
rule!(R_WORKER_LIMIT, "aws.activity.worker-limit", Decision,
    "`ActivityWorkerLimitExceeded` is answered only through fault injection: AWS publishes no threshold, and a limit the mock invented would refuse workers AWS serves.",
    "our decision: the threshold is not found (docs/sources.md#aws-activity-quotas)");

const ARN: Limit = Limit { min: 1, max: 256, unit: Unit::Characters };
const NAME: Limit = Limit { min: 1, max: 80, unit: Unit::Characters };

/// CreateActivity.
pub static CREATE_ACTIVITY: ActivityOperation = ActivityOperation {
    name: "CreateActivity",
    wire_name: "AWSStepFunctions.CreateActivity",
    members: &[Member {
        name: "name",
        required: true,
        limit: NAME,
        too_long: None,
        rule: &R_MEMBER_LIMITS,
    }],
    errors: &[&INVALID_NAME],
    rule: &R_CREATE,
};

/// DescribeActivity.
pub static DESCRIBE_ACTIVITY: ActivityOperation = ActivityOperation {
    name: "DescribeActivity",
    wire_name: "AWSStepFunctions.DescribeActivity",
    members: &[Member {
        name: "activityArn",
        required: true,
        limit: ARN,
        too_long: None,
        rule: &R_MEMBER_LIMITS,
    }],
    errors: &[&ACTIVITY_DOES_NOT_EXIST, &INVALID_ARN],
    rule: &R_DESCRIBE,
};

/// ListActivities.
pub static LIST_ACTIVITIES: ActivityOperation = ActivityOperation {
    name: "ListActivities",
    wire_name: "AWSStepFunctions.ListActivities",
    members: &[Member {
        name: "nextToken",
        required: false,
        limit: Limit { min: 1, max: 1024, unit: Unit::Characters },
        too_long: None,
        rule: &R_MEMBER_LIMITS,
    }],
    errors: &[&INVALID_TOKEN],
    rule: &R_LIST,
};

/// DeleteActivity.
pub static DELETE_ACTIVITY: ActivityOperation = ActivityOperation {
    name: "DeleteActivity",
    wire_name: "AWSStepFunctions.DeleteActivity",
    members: &[Member {
        name: "activityArn",
        required: true,
        limit: ARN,
        too_long: None,
        rule: &R_MEMBER_LIMITS,
    }],
    errors: &[&INVALID_ARN],
    rule: &R_DELETE,
};

/// GetActivityTask.
pub static GET_ACTIVITY_TASK: ActivityOperation = ActivityOperation {
    name: "GetActivityTask",
    wire_name: "AWSStepFunctions.GetActivityTask",
    members: &[
        Member {
            name: "activityArn",
            required: true,
            limit: ARN,
            too_long: None,
            rule: &R_MEMBER_LIMITS,
        },
        Member {
            name: "workerName",
            required: false,
            limit: NAME,
            too_long: None,
            rule: &R_MEMBER_LIMITS,
        },
    ],
    errors: &[&ACTIVITY_DOES_NOT_EXIST, &ACTIVITY_WORKER_LIMIT_EXCEEDED, &INVALID_ARN],
    rule: &R_HOLD,
};

error!(
    ACTIVITY_DOES_NOT_EXIST,
    "ActivityDoesNotExist",
    400,
    NS_SERVICE,
    Some("Activity Does Not Exist: '%s'"),
    &R_DOES_NOT_EXIST
);

error!(
    INVALID_ARN,
    "InvalidArn",
    400,
    NS_SERVICE,
    Some("Invalid Arn: 'Invalid ARN prefix: %s'"),
    &R_INVALID_ARN
);

error!(INVALID_NAME, "InvalidName", 400, NS_SERVICE, Some("Invalid Name: '%s'"), &R_NAME);

error!(
    ACTIVITY_WORKER_LIMIT_EXCEEDED,
    "ActivityWorkerLimitExceeded",
    400,
    NS_SERVICE,
    Some("The maximum number of workers concurrently polling for activity tasks has been reached."),
    &R_WORKER_LIMIT
);

/// The activity API.
pub static API: ActivityApi = ActivityApi {
    operations: &[
        &CREATE_ACTIVITY,
        &DESCRIBE_ACTIVITY,
        &LIST_ACTIVITIES,
        &DELETE_ACTIVITY,
        &GET_ACTIVITY_TASK,
    ],
    errors: &[
        &ACTIVITY_DOES_NOT_EXIST,
        &INVALID_ARN,
        &INVALID_NAME,
        &ACTIVITY_WORKER_LIMIT_EXCEEDED,
    ],
    rules: &[
        &R_OPERATIONS,
        &R_ARN,
        &R_IDLE,
        &R_TASK_ANSWER,
        &R_EXACTLY_ONCE,
        &R_FIFO,
        &R_DELIVERED_WHEN_WRITTEN,
        &R_TIMERS,
        &R_DELETED,
        &R_LIVENESS,
    ],
    max_hold_seconds: MAX_HOLD_SECONDS,
    max_input_bytes: MAX_INPUT_BYTES,
};

/// Whether `name` is a valid activity name (the model's rule, 1 to 80 characters).
///
/// ```
/// use tasktoken::contract::aws::activity::valid_name;
/// assert!(valid_name("get-greeting"));
/// assert!(!valid_name("a b") && !valid_name("a/b") && !valid_name("\u{7f}"));
/// ```
pub fn valid_name(name: &str) -> bool {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let n = name.chars().count();
    (1..=80).contains(&n)
        && name.chars().all(|c| {
            !c.is_whitespace()
                && !FORBIDDEN.contains(c)
                && !matches!(c as u32, 0x00..=0x1f | 0x7f..=0x9f | 0xfffe | 0xffff)
        })
}

/// The ARN of activity `name` in `region`.
pub fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{ACCOUNT}:activity:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_forbidden_name_of_the_aws_snapshot_is_refused() {
        for c in [
            " ", "\n", "\t", "<", ">", "{", "}", "[", "]", "?", "*", "\"", "#", "%", "\\", "^",
            "|", "~", "`", "$", "&", ",", ";", ":", "/", "\u{0}", "\u{1f}", "\u{7f}",
        ] {
            assert!(!valid_name(&format!("a{c}b")), "{c:?}");
        }
        assert!(valid_name(&"a".repeat(80)) && !valid_name(&"a".repeat(81)) && !valid_name(""));
        assert!(valid_name("naïve-é"));
    }
}
