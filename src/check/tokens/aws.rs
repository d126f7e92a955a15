//! The AWS token sources: a state machine whose one Task state waits for its token, read back
//! through SQS (`aws-sqs-callback`) or an activity poll (`aws-activity`).
//!
//! Everything the source creates (queue or activity, state machines, executions) is named
//! `tasktoken-<12 hex>` and removed again by [`AwsSource::cleanup`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use super::aws_api::{ApiError, AwsApi, Service};
use super::{LiveToken, TaskRequest};

/// Why an AWS source could not do its job; the token source reports it as a [`super::SourceError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsSourceError {
    /// A call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A call answered 200 without the member the source needs.
    #[error("{operation} answered without {member}: {answer}")]
    Missing {
        /// The operation.
        operation: &'static str,
        /// The member.
        member: &'static str,
        /// The answer.
        answer: String,
    },
    /// No token arrived in time (the text says where it was awaited and what to try).
    #[error("{0}")]
    NoToken(String),
    /// Some of what the source created could not be removed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Cleanup(Vec<ApiError>),
}

fn missing(
    operation: &'static str,
    member: &'static str,
    answer: &serde_json::Value,
) -> AwsSourceError {
    AwsSourceError::Missing { operation, member, answer: answer.to_string() }
}

/// How long minting one token from an AWS source may take, from `StartExecution` to the token.
pub const AWS_MINT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long [`TokenSource::cleanup`] may take.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);

/// `WaitTimeSeconds` of each SQS `ReceiveMessage` long poll.
pub const RECEIVE_WAIT_SECONDS: u64 = 5;

/// The role the AWS sources' state machines name (emulators do not check it; on real AWS it
/// must exist in the account and may send to the queue).
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/tasktoken";

/// The Task resource of the SQS callback route.
pub const SQS_CALLBACK_RESOURCE: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

/// Which AWS route a source takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AwsKind {
    /// `aws-sqs-callback`.
    SqsCallback,
    /// `aws-activity`.
    Activity,
}

/// The state machine definition an AWS source runs: one Task state that waits for its token,
/// with the deadlines asked for. The execution input carries a `nonce` that comes back with the
/// token (in the SQS message, or as the activity task's input), so concurrent mints each get
/// their own token.
fn definition(
    kind: AwsKind,
    endpoint: &str,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
) -> serde_json::Value {
    let mut task = match kind {
        AwsKind::SqsCallback => json!({
            "Type": "Task",
            "Resource": SQS_CALLBACK_RESOURCE,
            "Parameters": {
                "QueueUrl": endpoint,
                "MessageBody": {"token.$": "$$.Task.Token", "nonce.$": "$.nonce"}
            },
            "End": true
        }),
        AwsKind::Activity => json!({"Type": "Task", "Resource": endpoint, "End": true}),
    };
    if let Some(t) = timeout_seconds {
        task["TimeoutSeconds"] = json!(t);
    }
    if let Some(h) = heartbeat_seconds {
        task["HeartbeatSeconds"] = json!(h);
    }
    json!({
        "Comment": "tasktoken check: one task that waits for its token",
        "StartAt": "Wait",
        "States": {"Wait": task}
    })
}

/// The deadlines a state machine gets for `request`.
///
/// The States Language requires `HeartbeatSeconds` to be smaller than `TimeoutSeconds`, and
/// Step Functions and the emulators refuse the definition otherwise. A heartbeat deadline that
/// is not before the overall one can never fire first, so such a request gets the task it
/// describes without `HeartbeatSeconds` (it still accepts heartbeats on AWS).
fn deadlines(request: &TaskRequest) -> DeadlinePair {
    match (request.timeout_seconds, request.heartbeat_seconds) {
        (Some(t), Some(h)) if h >= t => (Some(t), None),
        pair => pair,
    }
}

/// The name of the state machine for one pair of deadlines (at most 80 characters).
fn machine_name(
    stem: &str,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
) -> String {
    let part =
        |prefix: char, v: Option<u64>| v.map(|v| format!("-{prefix}{v}")).unwrap_or_default();
    format!("{stem}{}{}", part('t', timeout_seconds), part('h', heartbeat_seconds))
}

/// The `ReceiveMessage` request body.
fn receive_message_body(queue_url: &str) -> serde_json::Value {
    json!({
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": RECEIVE_WAIT_SECONDS,
        "VisibilityTimeout": 60
    })
}

/// `(nonce, token)` from the body of an SQS message the state machine sent.
fn read_message(body: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    // Some engines send a JSON string holding the JSON object.
    let v = match v {
        serde_json::Value::String(inner) => serde_json::from_str(&inner).ok()?,
        other => other,
    };
    let token = v.get("token")?.as_str().filter(|t| !t.is_empty())?;
    let nonce = v.get("nonce")?.as_str()?;
    Some((nonce.to_owned(), token.to_owned()))
}

/// `(nonce, token)` from a `GetActivityTask` answer; `None` when the poll found no task.
fn read_activity_task(answer: &serde_json::Value) -> Option<(String, String)> {
    let token = answer.get("taskToken")?.as_str().filter(|t| !t.is_empty())?;
    let input: serde_json::Value = serde_json::from_str(answer.get("input")?.as_str()?).ok()?;
    let nonce = input.get("nonce")?.as_str()?;
    Some((nonce.to_owned(), token.to_owned()))
}

/// A pair of deadlines: (TimeoutSeconds, HeartbeatSeconds).
type DeadlinePair = (Option<u64>, Option<u64>);

/// The state of an AWS source: what it created, and tokens received for other mints.
pub(super) struct AwsSource {
    pub(super) kind: AwsKind,
    api: AwsApi,
    /// Name stem of everything it creates (`tasktoken-<12 hex>`).
    stem: String,
    /// The queue URL or the activity ARN.
    endpoint: String,
    /// State machine ARNs by (timeout, heartbeat).
    machines: tokio::sync::Mutex<HashMap<DeadlinePair, String>>,
    /// State machines running another activity (a check's own), by its ARN.
    activity_machines: tokio::sync::Mutex<HashMap<String, String>>,
    /// Tokens received but not yet claimed, by nonce. Held while polling, so one mint polls at
    /// a time and the others find their tokens here.
    mailbox: tokio::sync::Mutex<HashMap<String, String>>,
    /// Executions started, for cleanup.
    executions: Mutex<Vec<String>>,
    /// The token minted at connect time, handed to the first mint without deadlines.
    pub(super) spare: Mutex<Option<LiveToken>>,
}

impl std::fmt::Debug for AwsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: it holds the secret.
        f.debug_struct("AwsSource")
            .field("kind", &self.kind)
            .field("stem", &self.stem)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl AwsSource {
    /// Creates the queue (SQS route) or the activity.
    pub(super) async fn create(kind: AwsKind, api: AwsApi) -> Result<AwsSource, AwsSourceError> {
        let stem = format!("tasktoken-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let endpoint = match kind {
            AwsKind::SqsCallback => {
                let v = api.call(Service::Sqs, "CreateQueue", json!({"QueueName": stem})).await?;
                match v["QueueUrl"].as_str() {
                    Some(url) => url.to_owned(),
                    None => {
                        let v = api
                            .call(Service::Sqs, "GetQueueUrl", json!({"QueueName": stem}))
                            .await?;
                        v["QueueUrl"]
                            .as_str()
                            .ok_or_else(|| missing("GetQueueUrl", "QueueUrl", &v))?
                            .to_owned()
                    }
                }
            }
            AwsKind::Activity => {
                let v = api
                    .call(Service::StepFunctions, "CreateActivity", json!({"name": stem}))
                    .await?;
                v["activityArn"]
                    .as_str()
                    .ok_or_else(|| missing("CreateActivity", "activityArn", &v))?
                    .to_owned()
            }
        };
        Ok(AwsSource {
            kind,
            api,
            stem,
            endpoint,
            machines: Default::default(),
            activity_machines: Default::default(),
            mailbox: Default::default(),
            executions: Mutex::new(Vec::new()),
            spare: Mutex::new(None),
        })
    }

    /// The state machine for these deadlines, created on first use.
    async fn machine(
        &self,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) -> Result<String, AwsSourceError> {
        let mut machines = self.machines.lock().await;
        if let Some(arn) = machines.get(&(timeout, heartbeat)) {
            return Ok(arn.clone());
        }
        let body = json!({
            "name": machine_name(&self.stem, timeout, heartbeat),
            "definition": definition(self.kind, &self.endpoint, timeout, heartbeat).to_string(),
            "roleArn": ROLE_ARN,
            "type": "STANDARD"
        });
        let v = self.api.call(Service::StepFunctions, "CreateStateMachine", body).await?;
        let arn = v["stateMachineArn"]
            .as_str()
            .ok_or_else(|| missing("CreateStateMachine", "stateMachineArn", &v))?
            .to_owned();
        machines.insert((timeout, heartbeat), arn.clone());
        Ok(arn)
    }

    /// Starts an execution whose one Task runs the activity `arn` with `input` as its state
    /// input: a task on that activity for a check's own pollers. The token is not known
    /// until a poll delivers it (`LiveToken::token` is empty); the task id is the execution.
    pub(super) async fn schedule(
        &self,
        arn: &str,
        input: &str,
    ) -> Result<LiveToken, AwsSourceError> {
        let machine = {
            let mut machines = self.activity_machines.lock().await;
            match machines.get(arn) {
                Some(m) => m.clone(),
                None => {
                    let n = machines.len();
                    let body = json!({
                        "name": format!("{}-a{n}", self.stem),
                        "definition": definition(AwsKind::Activity, arn, None, None).to_string(),
                        "roleArn": ROLE_ARN,
                        "type": "STANDARD"
                    });
                    let v =
                        self.api.call(Service::StepFunctions, "CreateStateMachine", body).await?;
                    let m = v["stateMachineArn"]
                        .as_str()
                        .ok_or_else(|| missing("CreateStateMachine", "stateMachineArn", &v))?
                        .to_owned();
                    machines.insert(arn.to_owned(), m.clone());
                    m
                }
            }
        };
        let name = format!("tt-{}", uuid::Uuid::new_v4().simple());
        let body = json!({"stateMachineArn": machine, "name": name, "input": input});
        let v = self.api.call(Service::StepFunctions, "StartExecution", body).await?;
        let execution = v["executionArn"].as_str().map(str::to_owned);
        if let Some(arn) = &execution {
            self.executions.lock().unwrap_or_else(|e| e.into_inner()).push(arn.clone());
        }
        Ok(LiveToken { token: String::new(), task_id: execution })
    }

    /// Starts an execution and waits for its token, all within [`AWS_MINT_TIMEOUT`].
    pub(super) async fn mint(&self, request: &TaskRequest) -> Result<LiveToken, AwsSourceError> {
        let (timeout, heartbeat) = deadlines(request);
        if timeout.is_none() && heartbeat.is_none() {
            if let Some(spare) = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Ok(spare);
            }
        }
        let work = async {
            let machine = self.machine(timeout, heartbeat).await?;
            let nonce = uuid::Uuid::new_v4().simple().to_string();
            let body = json!({
                "stateMachineArn": machine,
                "name": format!("tt-{nonce}"),
                "input": json!({"nonce": nonce}).to_string()
            });
            let v = self.api.call(Service::StepFunctions, "StartExecution", body).await?;
            let execution = v["executionArn"].as_str().map(str::to_owned);
            if let Some(arn) = &execution {
                self.executions.lock().unwrap_or_else(|e| e.into_inner()).push(arn.clone());
            }
            let token = self.await_token(&nonce).await?;
            Ok(LiveToken { token, task_id: execution })
        };
        match tokio::time::timeout(AWS_MINT_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(AwsSourceError::NoToken(match self.kind {
                AwsKind::SqsCallback => format!(
                    "no token arrived on {} within {AWS_MINT_TIMEOUT:?} (does the target run \
                     state machines? moto runs them only after POST /moto-api/config \
                     {{\"stepfunctions\":{{\"execute_state_machine\":true}}}})",
                    self.endpoint
                ),
                AwsKind::Activity => format!(
                    "GetActivityTask on {} gave no task within {AWS_MINT_TIMEOUT:?}",
                    self.endpoint
                ),
            })),
        }
    }

    /// Polls until the token for `nonce` has arrived (the caller bounds the time).
    async fn await_token(&self, nonce: &str) -> Result<String, AwsSourceError> {
        loop {
            let mut mailbox = self.mailbox.lock().await;
            if let Some(token) = mailbox.remove(nonce) {
                return Ok(token);
            }
            let began = Instant::now();
            let received = self.poll_once(&mut mailbox).await?;
            if let Some(token) = mailbox.remove(nonce) {
                return Ok(token);
            }
            drop(mailbox);
            // An emulator that does not hold long polls must not be hammered.
            if received == 0 && began.elapsed() < Duration::from_millis(200) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// One long poll; files what arrived in `mailbox` and returns how many tokens did.
    async fn poll_once(
        &self,
        mailbox: &mut HashMap<String, String>,
    ) -> Result<usize, AwsSourceError> {
        match self.kind {
            AwsKind::SqsCallback => {
                let v = self
                    .api
                    .long_poll(Service::Sqs, "ReceiveMessage", receive_message_body(&self.endpoint))
                    .await?;
                let messages = v["Messages"].as_array().cloned().unwrap_or_default();
                let mut received = 0;
                for m in &messages {
                    if let Some(handle) = m["ReceiptHandle"].as_str() {
                        let body = json!({"QueueUrl": self.endpoint, "ReceiptHandle": handle});
                        if let Err(e) = self.api.call(Service::Sqs, "DeleteMessage", body).await {
                            tracing::warn!("token source: {e}");
                        }
                    }
                    match m["Body"].as_str().and_then(read_message) {
                        Some((nonce, token)) => {
                            mailbox.insert(nonce, token);
                            received += 1;
                        }
                        None => {
                            tracing::warn!("token source: ignoring a message without a token: {m}")
                        }
                    }
                }
                Ok(received)
            }
            AwsKind::Activity => {
                let body = json!({"activityArn": self.endpoint, "workerName": "tasktoken"});
                let v = self.api.long_poll(Service::StepFunctions, "GetActivityTask", body).await?;
                match read_activity_task(&v) {
                    Some((nonce, token)) => {
                        mailbox.insert(nonce, token);
                        Ok(1)
                    }
                    None => {
                        if v.get("taskToken")
                            .and_then(|t| t.as_str())
                            .is_some_and(|t| !t.is_empty())
                        {
                            tracing::warn!(
                                "token source: ignoring an activity task without a nonce: {v}"
                            );
                        }
                        Ok(0)
                    }
                }
            }
        }
    }

    /// Stops the executions started, deletes the state machines and the queue or activity.
    pub(super) async fn cleanup(&self) -> Result<(), AwsSourceError> {
        let executions =
            std::mem::take(&mut *self.executions.lock().unwrap_or_else(|e| e.into_inner()));
        for arn in executions {
            // Most have ended already; their answers do not matter.
            let body = json!({"executionArn": arn, "error": "tasktoken.Cleanup"});
            let _ = self.api.call(Service::StepFunctions, "StopExecution", body).await;
        }
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut machines: Vec<String> =
            self.machines.lock().await.drain().map(|(_, arn)| arn).collect();
        machines.extend(self.activity_machines.lock().await.drain().map(|(_, arn)| arn));
        let mut failures = Vec::new();
        for arn in machines {
            let body = json!({"stateMachineArn": arn});
            if let Err(e) = self.api.call(Service::StepFunctions, "DeleteStateMachine", body).await
            {
                failures.push(e);
            }
        }
        let deleted = match self.kind {
            AwsKind::SqsCallback => {
                self.api.call(Service::Sqs, "DeleteQueue", json!({"QueueUrl": self.endpoint})).await
            }
            AwsKind::Activity => {
                let body = json!({"activityArn": self.endpoint});
                self.api.call(Service::StepFunctions, "DeleteActivity", body).await
            }
        };
        if let Err(e) = deleted {
            failures.push(e);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(AwsSourceError::Cleanup(failures))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_definition_sends_the_token_and_the_nonce() {
        let url = "http://localhost:5000/123456789012/q";
        let d = definition(AwsKind::SqsCallback, url, None, None);
        let task = &d["States"][d["StartAt"].as_str().unwrap()];
        assert_eq!(task["Type"], "Task");
        assert_eq!(task["Resource"], SQS_CALLBACK_RESOURCE);
        assert_eq!(task["Parameters"]["QueueUrl"], url);
        assert_eq!(task["Parameters"]["MessageBody"]["token.$"], "$$.Task.Token");
        assert_eq!(task["Parameters"]["MessageBody"]["nonce.$"], "$.nonce");
        assert_eq!(task["End"], true);
        assert!(task.get("TimeoutSeconds").is_none() && task.get("HeartbeatSeconds").is_none());
    }

    #[test]
    fn definitions_carry_the_deadlines() {
        let arn = "arn:aws:states:us-east-1:123456789012:activity:a";
        let d = definition(AwsKind::Activity, arn, Some(7), Some(3));
        let task = &d["States"]["Wait"];
        assert_eq!(task["Resource"], arn);
        assert_eq!(task["TimeoutSeconds"], 7);
        assert_eq!(task["HeartbeatSeconds"], 3);
        assert!(task.get("Parameters").is_none());
        let d = definition(AwsKind::SqsCallback, "u", None, Some(2));
        assert_eq!(d["States"]["Wait"]["HeartbeatSeconds"], 2);
        assert!(d["States"]["Wait"].get("TimeoutSeconds").is_none());
    }

    #[test]
    fn a_heartbeat_deadline_not_before_the_timeout_is_left_out() {
        let pair = |t, h| {
            deadlines(&TaskRequest { timeout_seconds: t, heartbeat_seconds: h, token_length: None })
        };
        assert_eq!(pair(Some(2), Some(10)), (Some(2), None));
        assert_eq!(pair(Some(2), Some(2)), (Some(2), None));
        assert_eq!(pair(Some(3), Some(2)), (Some(3), Some(2)));
        assert_eq!(pair(None, Some(2)), (None, Some(2)));
        assert_eq!(pair(Some(1), None), (Some(1), None));
    }

    #[test]
    fn machine_names_differ_per_deadline_pair_and_stay_short() {
        let stem = "tasktoken-0123456789ab";
        let names: Vec<_> = [(None, None), (Some(1), None), (None, Some(1)), (Some(1), Some(1))]
            .iter()
            .map(|(t, h)| machine_name(stem, *t, *h))
            .collect();
        assert_eq!(names[0], stem);
        assert_eq!(names[3], "tasktoken-0123456789ab-t1-h1");
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), 4);
        assert!(machine_name(stem, Some(u64::MAX), Some(u64::MAX)).len() <= 80);
    }

    #[test]
    fn receive_requests_are_long_polls() {
        let b = receive_message_body("u");
        assert_eq!(b["QueueUrl"], "u");
        assert_eq!(b["WaitTimeSeconds"], RECEIVE_WAIT_SECONDS);
        assert!(RECEIVE_WAIT_SECONDS < super::super::aws_api::POLL_TIMEOUT.as_secs());
        assert_eq!(b["MaxNumberOfMessages"], 10);
    }

    #[test]
    fn messages_yield_nonce_and_token() {
        assert_eq!(
            read_message(r#"{"token":"AAAA","nonce":"n1"}"#),
            Some(("n1".into(), "AAAA".into()))
        );
        // A body that is a JSON string holding the object.
        assert_eq!(
            read_message(r#""{\"token\":\"t\",\"nonce\":\"n\"}""#),
            Some(("n".into(), "t".into()))
        );
        assert_eq!(read_message(r#"{"token":"","nonce":"n"}"#), None);
        assert_eq!(read_message(r#"{"token":"t"}"#), None);
        assert_eq!(read_message("plain text"), None);
    }

    #[test]
    fn activity_tasks_yield_nonce_and_token() {
        let v = json!({"taskToken": "tok", "input": "{\"nonce\":\"n9\"}"});
        assert_eq!(read_activity_task(&v), Some(("n9".into(), "tok".into())));
        // An empty long poll: AWS answers without a token (or with an empty one).
        assert_eq!(read_activity_task(&json!({})), None);
        assert_eq!(read_activity_task(&json!({"taskToken": "", "input": "{}"})), None);
        assert_eq!(read_activity_task(&json!({"taskToken": "t", "input": "{}"})), None);
    }
}
