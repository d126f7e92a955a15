//! The Step Functions activity API on the awsJson1_0 wire: request bytes to an [`ActivityCall`], answers to bytes.
//!
//! Same envelope and order as [`super::aws`]: size, JSON, target, then (after faults and
//! authentication) member types and model validation. Pure functions.

use std::borrow::Cow;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value};

use super::aws::{self as aws_wire, AwsError};
use crate::contract::aws::activity::{self as contract, DEFAULT_PAGE, MAX_PAGE};
use crate::contract::aws::{self, MAX_REQUEST_BYTES, SERIALIZATION};
use crate::contract::ActivityOperation;
use crate::tasks::Handover;

/// An activity request that passed size, JSON and target: its operation and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEnvelope {
    /// The operation `X-Amz-Target` names.
    pub operation: &'static ActivityOperation,
    members: Map<String, Value>,
}

/// A validated activity call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityCall<'a> {
    /// CreateActivity.
    Create {
        /// The name asked for (checked against the naming rule by the adapter).
        name: Cow<'a, str>,
    },
    /// DescribeActivity.
    Describe {
        /// The activity.
        arn: Cow<'a, str>,
    },
    /// ListActivities.
    List {
        /// Page size, 1 to 1000.
        max_results: usize,
        /// Where the previous page ended, as that page's `nextToken` said.
        next_token: Option<Cow<'a, str>>,
    },
    /// DeleteActivity.
    Delete {
        /// The activity.
        arn: Cow<'a, str>,
    },
    /// GetActivityTask.
    Poll {
        /// The activity polled.
        arn: Cow<'a, str>,
        /// The worker's name, if given.
        worker_name: Option<Cow<'a, str>>,
    },
}

/// The activity operation `req` names, if it names one (`X-Amz-Target`).
pub fn operation(req: &Request<Bytes>) -> Option<&'static ActivityOperation> {
    operation_named(req.headers().get(&aws_wire::TARGET)?.to_str().ok()?)
}

/// The activity operation an `X-Amz-Target` value names, if it names one.
pub(crate) fn operation_named(target: &str) -> Option<&'static ActivityOperation> {
    aws::CONTRACT.activities?.operation_by_wire_name(target)
}

/// Size, JSON, then target, as for the callback operations.
pub fn parse_envelope(
    req: &Request<Bytes>,
    operation: &'static ActivityOperation,
) -> Result<ActivityEnvelope, AwsError> {
    if req.body().len() > MAX_REQUEST_BYTES {
        return Err(AwsError::plain(&aws::REQUEST_TOO_LARGE));
    }
    match serde_json::from_slice::<Value>(req.body()) {
        Ok(Value::Object(members)) => Ok(ActivityEnvelope { operation, members }),
        _ => Err(AwsError::plain(&SERIALIZATION)),
    }
}

/// Member types, then model validation.
pub fn parse_call(envelope: &ActivityEnvelope) -> Result<ActivityCall<'_>, AwsError> {
    let members = &envelope.members;
    let text = |name: &str| -> Result<Option<&str>, AwsError> {
        match members.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AwsError::plain(&SERIALIZATION)),
        }
    };
    let op = envelope.operation;
    let values = op.members.iter().map(|m| text(m.name)).collect::<Result<Vec<_>, _>>()?;
    let mut violations = Vec::new();
    let mut max_results = DEFAULT_PAGE;
    if std::ptr::eq(op, &contract::LIST_ACTIVITIES) {
        match members.get("maxResults") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => match n.as_i64() {
                Some(n) if n > MAX_PAGE as i64 => violations.push(format!(
                    "Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {MAX_PAGE}"
                )),
                Some(n) if n < 0 => violations.push(
                    "Value at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0".to_owned(),
                ),
                Some(0) => {}
                Some(n) => max_results = n as usize,
                None => return Err(AwsError::plain(&SERIALIZATION)),
            },
            Some(_) => return Err(AwsError::plain(&SERIALIZATION)),
        }
    }
    violations
        .extend(op.members.iter().zip(&values).filter_map(|(m, v)| aws_wire::violation(m, *v)));
    if let Some(error) = aws_wire::validation_error(&violations) {
        return Err(error);
    }
    let value = |i: usize| values.get(i).copied().flatten().map(Cow::Borrowed);
    let required = |i: usize| value(i).unwrap_or_default();
    Ok(match op.name {
        "CreateActivity" => ActivityCall::Create { name: required(0) },
        "DescribeActivity" => ActivityCall::Describe { arn: required(0) },
        "ListActivities" => ActivityCall::List { max_results, next_token: value(0) },
        "DeleteActivity" => ActivityCall::Delete { arn: required(0) },
        _ => ActivityCall::Poll { arn: required(0), worker_name: value(1) },
    })
}

/// `InvalidArn` unless `arn` starts `arn:` (the only malformation AWS was seen answering).
pub fn check_arn(arn: &str) -> Result<(), AwsError> {
    if arn.starts_with("arn:") {
        Ok(())
    } else {
        Err(AwsError::with(&contract::INVALID_ARN, &[arn]))
    }
}

/// The `nextToken` of a page that ended before position `next`.
pub fn page_token(next: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("tasktoken-activities:{next}"))
}

/// The position a `nextToken` of [`page_token`] continues from; `InvalidToken` otherwise.
pub fn page_start(token: &str) -> Result<usize, AwsError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|t| String::from_utf8(t).ok())
        .and_then(|t| t.strip_prefix("tasktoken-activities:")?.parse().ok())
        .ok_or_else(|| AwsError::plain(&aws::INVALID_TOKEN))
}

/// One activity as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityItem<'a> {
    /// Its ARN.
    pub arn: &'a str,
    /// Its name.
    pub name: &'a str,
    /// When it was created, in ms since the Unix epoch.
    pub created_ms: u64,
}

/// CreateActivity's answer.
pub fn created(item: &ActivityItem<'_>, request_id: &str) -> Response<Bytes> {
    let mut body = JsonObject::new();
    body.string("activityArn", item.arn).raw("creationDate", &epoch_seconds(item.created_ms));
    ok(body, request_id)
}

/// DescribeActivity's answer.
pub fn described(item: &ActivityItem<'_>, request_id: &str) -> Response<Bytes> {
    let mut body = JsonObject::new();
    body.string("activityArn", item.arn)
        .string("name", item.name)
        .raw("creationDate", &epoch_seconds(item.created_ms))
        .raw("encryptionConfiguration", r#"{"type":"AWS_OWNED_KEY"}"#);
    ok(body, request_id)
}

/// ListActivities' answer.
pub fn listed(
    items: &[ActivityItem<'_>],
    next_token: Option<&str>,
    request_id: &str,
) -> Response<Bytes> {
    let mut list = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        let mut entry = JsonObject::new();
        entry
            .string("activityArn", item.arn)
            .string("name", item.name)
            .raw("creationDate", &epoch_seconds(item.created_ms));
        list.push_str(&entry.finish());
    }
    list.push(']');
    let mut body = JsonObject::new();
    body.raw("activities", &list);
    if let Some(token) = next_token {
        body.string("nextToken", token);
    }
    ok(body, request_id)
}

/// A poll's answer: the task's token and input, or `{}` when it ended without one.
pub fn polled(task: Option<&Handover>, request_id: &str) -> Response<Bytes> {
    let mut body = JsonObject::new();
    if let Some(task) = task {
        body.string("taskToken", &task.task_token).string("input", &task.input);
    }
    ok(body, request_id)
}

fn ok(body: JsonObject, request_id: &str) -> Response<Bytes> {
    aws_wire::json_response(StatusCode::OK, Bytes::from(body.finish()), request_id)
}

/// `1732540000.123`: awsJson timestamps are epoch seconds.
fn epoch_seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A JSON object written member by member, in the order given.
struct JsonObject(String);

impl JsonObject {
    fn new() -> JsonObject {
        JsonObject(String::from("{"))
    }

    fn raw(&mut self, name: &str, json: &str) -> &mut JsonObject {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&aws_wire::json_string(name, false));
        self.0.push(':');
        self.0.push_str(json);
        self
    }

    fn string(&mut self, name: &str, value: &str) -> &mut JsonObject {
        self.raw(name, &aws_wire::json_string(value, false))
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(target: &str, body: &str) -> Result<ActivityCall<'static>, AwsError> {
        let req = Request::post("/")
            .header("X-Amz-Target", target)
            .body(Bytes::from(body.to_owned()))
            .unwrap();
        let op = operation(&req).expect("an activity operation");
        let envelope = parse_envelope(&req, op)?;
        parse_call(&envelope).map(|c| match c {
            ActivityCall::Poll { arn, worker_name } => ActivityCall::Poll {
                arn: Cow::Owned(arn.into_owned()),
                worker_name: worker_name.map(|w| Cow::Owned(w.into_owned())),
            },
            ActivityCall::List { max_results, next_token } => ActivityCall::List {
                max_results,
                next_token: next_token.map(|t| Cow::Owned(t.into_owned())),
            },
            ActivityCall::Create { name } => {
                ActivityCall::Create { name: Cow::Owned(name.into_owned()) }
            }
            ActivityCall::Describe { arn } => {
                ActivityCall::Describe { arn: Cow::Owned(arn.into_owned()) }
            }
            ActivityCall::Delete { arn } => {
                ActivityCall::Delete { arn: Cow::Owned(arn.into_owned()) }
            }
        })
    }

    const POLL: &str = "AWSStepFunctions.GetActivityTask";

    #[test]
    fn an_81_character_worker_name_is_a_validation_error() {
        let body = format!(r#"{{"activityArn":"arn:x","workerName":"{}"}}"#, "w".repeat(81));
        let e = call(POLL, &body).unwrap_err();
        assert_eq!(e.spec.code, "ValidationException");
        assert_eq!(
            e.message.unwrap(),
            "1 validation error detected: Value at 'workerName' failed to satisfy constraint: \
             Member must have length less than or equal to 80"
        );
        let body = format!(r#"{{"activityArn":"arn:x","workerName":"{}"}}"#, "w".repeat(80));
        assert!(call(POLL, &body).is_ok());
    }

    #[test]
    fn wrong_types_and_missing_members() {
        assert_eq!(
            call(POLL, r#"{"activityArn":1}"#).unwrap_err().spec.code,
            "SerializationException"
        );
        assert_eq!(call(POLL, "[]").unwrap_err().spec.code, "SerializationException");
        assert_eq!(call(POLL, "").unwrap_err().spec.code, "SerializationException");
        let e = call(POLL, "{}").unwrap_err();
        assert!(e.message.unwrap().ends_with(
            "Value at 'activityArn' failed to satisfy constraint: Member must not be null"
        ));
        let list = "AWSStepFunctions.ListActivities";
        assert_eq!(
            call(list, r#"{"maxResults":"1"}"#).unwrap_err().spec.code,
            "SerializationException"
        );
        assert_eq!(
            call(list, r#"{"maxResults":1001}"#).unwrap_err().spec.code,
            "ValidationException"
        );
        assert_eq!(
            call(list, r#"{"maxResults":0}"#).unwrap(),
            ActivityCall::List { max_results: 100, next_token: None }
        );
    }

    #[test]
    fn page_tokens_round_trip_and_strangers_are_invalid() {
        assert_eq!(page_start(&page_token(7)).unwrap(), 7);
        assert_eq!(page_start("nope").unwrap_err().spec.code, "InvalidToken");
    }

    #[test]
    fn the_idle_answer_is_an_empty_object() {
        assert_eq!(polled(None, "r").body().as_ref(), b"{}");
        let task = Handover {
            task_id: crate::TaskId(1),
            task_token: "t".into(),
            input: "{\"a\": 1}".into(),
        };
        assert_eq!(
            polled(Some(&task), "r").body().as_ref(),
            br#"{"taskToken":"t","input":"{\"a\": 1}"}"#
        );
    }
}
